package io.tokenledger.sink;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.tokenledger.avro.CostedUsage;
import io.tokenledger.avro.QuotaBreach;
import io.tokenledger.avro.UnpricedUsage;
import io.tokenledger.schemas.RegistryClient;
import io.tokenledger.schemas.SerdeFactory;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.StringJoiner;
import java.util.UUID;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads the processor's output into ClickHouse, exactly once.
 *
 * <p>How: every row carries its Kafka topic, partition and offset. When partitions are assigned, the sink
 * asks ClickHouse for the highest offset it holds for each and resumes after it; Kafka's committed offsets
 * are only for lag. Each INSERT holds rows of one table and one month (one ClickHouse part), fewer than a
 * block: it lands whole or not at all. It holds, of each partition in it, rows contiguous in offsets; the
 * next runs of all partitions go out together (usually one insert per table and batch). Inserts are
 * sequential, so what ClickHouse holds is always a prefix of each partition. A crash at any point (before,
 * during or after an insert, before the commit) therefore neither loses nor repeats a row, and neither do
 * the rollups fed by materialized views on those inserts.
 *
 * <p>Two threads: the polling thread reads and encodes the next batch while one inserter thread sends the
 * previous one, so decoding and ClickHouse's parsing overlap. At most one batch is in flight; while it is,
 * and the next is full, consumption is paused (polling goes on, to stay in the group). Before a partition
 * is given up in a rebalance, its in-flight insert is finished or abandoned, so its new owner reads an
 * offset in ClickHouse that no insert of ours will change afterwards.
 *
 * <p>Failures: a retryable ClickHouse error (down, timeout, overload) is retried with exponential backoff,
 * forever, checking first whether the insert landed after all; a fatal one stops the sink with the server's
 * message. A record that cannot be read becomes a row in {@code sink_dead_letters}.
 */
public final class Sink implements Runnable, AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(Sink.class);

  private final SinkConfig config;
  private final ClickHouse clickhouse;
  private final KafkaConsumer<String, byte[]> consumer;
  private final Map<String, Decoder> decoders = new HashMap<>();
  private final Map<String, List<String>> tablesOfTopic = new HashMap<>();
  private final Map<TopicPartition, List<Pending>> buffers = new LinkedHashMap<>();
  /** Partitions this sink owns; the inserter abandons work for any that leave it. */
  private final Set<TopicPartition> owned = ConcurrentHashMap.newKeySet();
  /** Next offsets ClickHouse acknowledged, for the polling thread to commit (the consumer is single-threaded). */
  private final Queue<Map.Entry<TopicPartition, Long>> acknowledged = new ConcurrentLinkedQueue<>();
  private final ExecutorService inserter = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "tokenledger-sink-insert");
    t.setDaemon(true);
    return t;
  });
  private Future<?> inFlight;
  private final Counter batches;
  private final Counter retries;
  private final Counter deadLetters;
  private final Timer insertLatency;
  private final MeterRegistry metrics;
  private final AtomicLong bufferedRows = new AtomicLong();
  private final AtomicLong inFlightRows = new AtomicLong();
  private final AtomicLong lag = new AtomicLong();
  private volatile boolean running = true;
  /** False until the migrations are applied (a readiness probe then holds traffic and rollouts back), and while retrying. */
  private volatile boolean healthy = false;
  private volatile String lastError = "";
  private boolean paused;
  private long oldestBufferedNanos = 0;

  interface Decoder {
    Rows.Row decode(byte[] value, String topic, int partition, long offset);
  }

  private record Pending(long offset, Rows.Row row) {}

  public Sink(SinkConfig config, SerdeFactory serdes, MeterRegistry metrics) {
    this.config = config;
    this.metrics = metrics;
    this.clickhouse = new ClickHouse(config.clickhouseUrl(), config.clickhouseUser(), config.clickhousePassword(),
        config.database(), config.insertTimeout().toMillis());
    this.consumer = new KafkaConsumer<>(config.consumerConfig(), new StringDeserializer(), new ByteArrayDeserializer());
    Deserializer<CostedUsage> costed = serdes.value(CostedUsage.class).deserializer();
    Deserializer<UnpricedUsage> unpriced = serdes.value(UnpricedUsage.class).deserializer();
    Deserializer<QuotaBreach> breaches = serdes.value(QuotaBreach.class).deserializer();
    String costedTopic = config.topics().usageCosted().name();
    String unpricedTopic = config.topics().usageUnpriced().name();
    String breachTopic = config.topics().quotaBreaches().name();
    decoders.put(costedTopic, (v, t, p, o) -> Rows.costed(costed.deserialize(t, v), t, p, o));
    decoders.put(unpricedTopic, (v, t, p, o) -> Rows.unpriced(unpriced.deserialize(t, v), t, p, o));
    decoders.put(breachTopic, (v, t, p, o) -> Rows.breach(breaches.deserialize(t, v), t, p, o));
    tablesOfTopic.put(costedTopic, List.of("usage_costs", "sink_dead_letters"));
    tablesOfTopic.put(unpricedTopic, List.of("usage_unpriced", "sink_dead_letters"));
    tablesOfTopic.put(breachTopic, List.of("quota_breaches", "sink_dead_letters"));
    this.batches = Counter.builder("tokenledger.sink.batches").description("inserts into ClickHouse").register(metrics);
    this.retries = Counter.builder("tokenledger.sink.retries").description("ClickHouse calls retried").register(metrics);
    this.deadLetters = Counter.builder("tokenledger.sink.dead.letters").description("records that could not be read")
        .register(metrics);
    this.insertLatency = Timer.builder("tokenledger.sink.insert.latency").publishPercentiles(0.5, 0.99).register(metrics);
    metrics.gauge("tokenledger.sink.buffered.rows", bufferedRows);
    Gauge.builder("tokenledger.sink.lag.records", lag, AtomicLong::get)
        .description("records in Kafka not yet acknowledged by ClickHouse").register(metrics);
  }

  public boolean healthy() {
    return healthy;
  }

  public String lastError() {
    return lastError;
  }

  @Override
  public void run() {
    try {
      retrying("apply migrations", () -> {
        try (ClickHouse server = new ClickHouse(config.clickhouseUrl(), config.clickhouseUser(),
            config.clickhousePassword(), null, config.insertTimeout().toMillis())) {
          Migrations.apply(server, clickhouse, config.database());
        }
        return null;
      });
      consumer.subscribe(decoders.keySet(), new Rebalance());
      while (running) {
        commitAcknowledged();
        try {
          for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(100))) {
            buffer(r);
          }
        } catch (WakeupException e) {
          break; // close() asked us to stop: flush what we have, then leave
        }
        updateLag();
        if ((bufferedRows.get() >= config.batchRows()
            || (bufferedRows.get() > 0 && System.nanoTime() - oldestBufferedNanos >= config.batchInterval().toNanos()))
            && insertDone()) {
          submit();
        }
        // read on while the next batch has room; a full one waits for the insert in flight. Decided afresh on
        // every pass: a rebalance may have emptied the buffer while consumption was paused.
        if (bufferedRows.get() >= config.batchRows()) {
          pause();
        } else {
          resume();
        }
      }
      awaitInsert();
      submit();
      awaitInsert();
      commitAcknowledged();
    } catch (WakeupException e) {
      if (running) {
        throw e;
      }
    } catch (ClickHouse.Fatal e) {
      healthy = false;
      lastError = e.getMessage();
      LOG.error("stopping: {}", e.getMessage());
      throw e;
    } finally {
      owned.clear(); // an insert still retrying gives up
      inserter.shutdownNow();
      consumer.close(Duration.ofSeconds(10));
      clickhouse.close();
    }
  }

  private void buffer(ConsumerRecord<String, byte[]> r) {
    TopicPartition tp = new TopicPartition(r.topic(), r.partition());
    Rows.Row row;
    try {
      row = retrying("read a record", () -> decoders.get(r.topic()).decode(r.value(), r.topic(), r.partition(), r.offset()));
    } catch (RuntimeException e) {
      deadLetters.increment();
      LOG.warn("topic [{}] partition [{}] offset [{}] unreadable, kept in sink_dead_letters: {}", r.topic(),
          r.partition(), r.offset(), e.getMessage());
      row = Rows.deadLetter(r.topic(), r.partition(), r.offset(), String.valueOf(e.getMessage()), r.value(), Instant.now());
    }
    if (!owned.contains(tp)) {
      return; // revoked while we waited for the registry
    }
    if (bufferedRows.getAndIncrement() == 0) {
      oldestBufferedNanos = System.nanoTime();
    }
    buffers.computeIfAbsent(tp, k -> new ArrayList<>()).add(new Pending(r.offset(), row));
  }

  /** True when no insert is in flight; rethrows the failure that ended the last one, if any. */
  private boolean insertDone() {
    if (inFlight == null) {
      return true;
    }
    if (!inFlight.isDone()) {
      return false;
    }
    try {
      inFlight.get();
    } catch (ExecutionException e) {
      throw e.getCause() instanceof RuntimeException re ? re : new IllegalStateException(e.getCause());
    } catch (InterruptedException | CancellationException e) {
      // shutting down
    } finally {
      inFlight = null;
      inFlightRows.set(0);
    }
    return true;
  }

  private void awaitInsert() {
    while (!insertDone()) {
      try {
        // keep polling (paused) to stay in the group while ClickHouse takes its time
        pause();
        consumer.poll(Duration.ofMillis(50));
      } catch (WakeupException e) {
        // close() while we wait: finish the insert anyway
      }
      commitAcknowledged();
    }
  }

  /** Hands everything buffered to the inserter. */
  private void submit() {
    if (buffers.isEmpty()) {
      return;
    }
    Map<TopicPartition, List<Pending>> batch = new LinkedHashMap<>(buffers);
    buffers.clear();
    inFlightRows.set(bufferedRows.getAndSet(0));
    inFlight = inserter.submit(() -> insertBatch(batch));
    resume();
  }

  /**
   * Inserts a batch: each partition's rows in offset order, in runs of one table and month. The next runs of
   * all partitions that share a table and month go out together, as one INSERT (one ClickHouse part), so a
   * batch is usually one insert per table: fewer, larger parts are less work for ClickHouse to write and to
   * merge than one per partition.
   */
  private void insertBatch(Map<TopicPartition, List<Pending>> batch) {
    Map<TopicPartition, List<Pending>> left = new LinkedHashMap<>(batch);
    while (!left.isEmpty() && !Thread.currentThread().isInterrupted()) {
      Rows.Row target = left.values().iterator().next().get(0).row();
      Map<TopicPartition, List<Pending>> runs = new LinkedHashMap<>();
      left.forEach((tp, rows) -> {
        int end = 0;
        while (end < rows.size() && rows.get(end).row().table() == target.table()
            && rows.get(end).row().month() == target.month()) {
          end++;
        }
        if (end > 0) {
          runs.put(tp, rows.subList(0, end));
        }
      });
      Set<TopicPartition> landed = insertRuns(target.table(), runs);
      for (Map.Entry<TopicPartition, List<Pending>> run : runs.entrySet()) {
        TopicPartition tp = run.getKey();
        List<Pending> rows = left.remove(tp);
        if (!landed.contains(tp)) {
          continue; // revoked meanwhile, or shutting down: the partition's next owner resumes from ClickHouse
        }
        if (run.getValue().size() < rows.size()) {
          left.put(tp, rows.subList(run.getValue().size(), rows.size()));
        } else {
          acknowledged.add(Map.entry(tp, lastOffset(rows) + 1));
        }
      }
    }
  }

  /**
   * Inserts the runs, one per partition, as one INSERT into {@code table}, and returns the partitions whose
   * run is stored. Retryable failures are retried with backoff until the runs are stored, their partitions
   * are revoked (each is left out of the next attempt; once a failed attempt is over on the server) or the
   * sink shuts down.
   *
   * <p>After a failed attempt nothing is sent again until ClickHouse says what it holds, since the attempt
   * may have landed after all (a timeout after the server wrote the part). First the attempt must be over
   * on the server (its query id no longer running); then each run is cut to its rows after the highest
   * offset ClickHouse holds of its partition. What it holds of a partition is a prefix, so what is left is
   * exactly what is missing, even if an attempt landed in part.
   */
  private Set<TopicPartition> insertRuns(RowBinary.Table table, Map<TopicPartition, List<Pending>> runs) {
    Map<TopicPartition, List<Pending>> unresolved = new LinkedHashMap<>(runs);
    Set<TopicPartition> landed = new HashSet<>();
    String failedAttempt = null; // query id of the last failed insert while its outcome is unknown
    long backoffMs = 200;
    while (true) {
      unresolved.keySet().retainAll(owned);
      String step = "insert into [" + table.name() + "] of "
          + (unresolved.isEmpty() ? "partitions revoked meanwhile" : describe(unresolved));
      try {
        if (failedAttempt != null) {
          // even when every partition was revoked: if it landed after their next owner read where to resume,
          // its rows would be there twice (the rebalance waits for this)
          step = "check of the failed " + step;
          if (clickhouse.isRunning(failedAttempt)) {
            throw new ClickHouse.Retryable("the failed insert " + failedAttempt + " is still running on the server", null);
          }
          healthy = true;
          if (unresolved.isEmpty()) {
            return landed;
          }
          Map<TopicPartition, Long> held = storedOffsets(unresolved.keySet());
          for (Iterator<Map.Entry<TopicPartition, List<Pending>>> it = unresolved.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<TopicPartition, List<Pending>> run = it.next();
            List<Pending> missing = after(run.getValue(), held.get(run.getKey()));
            if (missing.size() < run.getValue().size()) {
              LOG.info("{}: {} row(s) were stored after all", describe(Map.of(run.getKey(), run.getValue())),
                  run.getValue().size() - missing.size());
            }
            if (missing.isEmpty()) {
              landed.add(run.getKey());
              it.remove();
            } else {
              run.setValue(missing);
            }
          }
          failedAttempt = null;
          continue;
        }
        if (unresolved.isEmpty()) {
          return landed;
        }
        List<byte[]> rows = new ArrayList<>();
        unresolved.values().forEach(run -> run.forEach(p -> rows.add(p.row().bytes())));
        String queryId = UUID.randomUUID().toString();
        long t0 = System.nanoTime();
        failedAttempt = queryId;
        clickhouse.insertRowBinary(config.database() + "." + table.name(), table.columns(), rows, queryId);
        failedAttempt = null;
        insertLatency.record(Duration.ofNanos(System.nanoTime() - t0));
        batches.increment();
        metrics.counter("tokenledger.sink.rows.inserted", "table", table.name()).increment(rows.size());
        LOG.debug("{}: {} row(s)", step, rows.size());
        healthy = true;
        landed.addAll(unresolved.keySet());
        return landed;
      } catch (ClickHouse.Retryable e) {
        retries.increment();
        healthy = false;
        lastError = e.getMessage();
        LOG.warn("{} failed, retrying in {} ms: {}", step, backoffMs, e.getMessage());
        try {
          Thread.sleep(backoffMs);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          return landed; // shutting down: what landed is in ClickHouse, the rest is read again on restart
        }
        backoffMs = Math.min(backoffMs * 2, config.maxBackoff().toMillis());
      }
    }
  }

  /** The rows of {@code run} after offset {@code held} (all of them if ClickHouse holds nothing). */
  private static List<Pending> after(List<Pending> run, Long held) {
    int i = 0;
    while (held != null && i < run.size() && run.get(i).offset() <= held) {
      i++;
    }
    return run.subList(i, run.size());
  }

  private static long lastOffset(List<Pending> rows) {
    return rows.get(rows.size() - 1).offset();
  }

  private static String describe(Map<TopicPartition, List<Pending>> runs) {
    StringJoiner out = new StringJoiner(", ");
    runs.forEach((tp, run) -> out.add("topic [" + tp.topic() + "] partition [" + tp.partition() + "] offsets ["
        + run.get(0).offset() + ".." + lastOffset(run) + "]"));
    return out.toString();
  }

  private void commitAcknowledged() {
    Map<TopicPartition, OffsetAndMetadata> commits = new HashMap<>();
    for (Map.Entry<TopicPartition, Long> a; (a = acknowledged.poll()) != null; ) {
      if (owned.contains(a.getKey())) {
        commits.put(a.getKey(), new OffsetAndMetadata(a.getValue()));
      }
    }
    if (!commits.isEmpty()) {
      consumer.commitAsync(commits, (offsets, e) -> {
        if (e != null) {
          // harmless: committed offsets only measure lag; loading resumes from what ClickHouse holds
          LOG.info("offset commit failed, the next one will carry these offsets: {}", e.toString());
        }
      });
    }
  }

  /** Lag: what Kafka holds beyond the consumer's position, plus what is read but not yet in ClickHouse. */
  private void updateLag() {
    long behind = 0;
    for (TopicPartition tp : owned) {
      behind += consumer.currentLag(tp).orElse(0);
    }
    lag.set(behind + bufferedRows.get() + inFlightRows.get());
  }

  private void pause() {
    if (!paused) {
      consumer.pause(consumer.assignment());
      paused = true;
    }
  }

  private void resume() {
    if (paused) {
      consumer.resume(consumer.assignment());
      paused = false;
    }
  }

  /** Where each partition resumes: one past the highest offset ClickHouse holds for it. */
  Map<TopicPartition, Long> storedOffsets(Collection<TopicPartition> partitions) {
    Map<TopicPartition, Long> out = new HashMap<>();
    Map<String, List<TopicPartition>> byTopic = new HashMap<>();
    partitions.forEach(tp -> byTopic.computeIfAbsent(tp.topic(), k -> new ArrayList<>()).add(tp));
    // one query per table (a UNION ALL under GROUP BY is where old servers differ); the max over tables wins
    byTopic.forEach((topic, tps) -> {
      for (String table : tablesOfTopic.get(topic)) {
        for (List<String> row : clickhouse.query("SELECT kafka_partition, max(kafka_offset) FROM " + config.database() + "." + table
            + " WHERE kafka_topic = '" + topic.replace("'", "''") + "' GROUP BY kafka_partition")) {
          out.merge(new TopicPartition(topic, Integer.parseInt(row.get(0))), Long.parseLong(row.get(1)), Math::max);
        }
      }
    });
    return out;
  }

  private final class Rebalance implements ConsumerRebalanceListener {
    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
      // Unflushed rows are dropped, not committed anywhere: whoever gets the partition resumes from ClickHouse.
      // First the in-flight insert ends (done, or abandoned for these partitions), so that nothing of ours
      // lands after the new owner has read where to resume.
      owned.removeAll(partitions);
      waitForInserter();
      for (TopicPartition tp : partitions) {
        List<Pending> dropped = buffers.remove(tp);
        if (dropped != null) {
          bufferedRows.addAndGet(-dropped.size());
        }
      }
    }

    @Override
    public void onPartitionsLost(Collection<TopicPartition> partitions) {
      onPartitionsRevoked(partitions);
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
      if (partitions.isEmpty()) {
        return;
      }
      owned.addAll(partitions);
      if (paused) {
        consumer.pause(partitions);
      }
      Map<TopicPartition, Long> stored = retrying("read stored offsets", () -> storedOffsets(partitions));
      Map<TopicPartition, Long> beginning = consumer.beginningOffsets(partitions);
      for (TopicPartition tp : partitions) {
        Long last = stored.get(tp);
        long next = last == null ? beginning.get(tp) : Math.max(last + 1, beginning.get(tp));
        consumer.seek(tp, next);
        LOG.info("topic [{}] partition [{}] resumes at offset [{}] (ClickHouse holds up to [{}])", tp.topic(),
            tp.partition(), next, last == null ? "nothing" : last);
      }
    }
  }

  /** Waits for the in-flight insert, inside a rebalance callback where polling is not allowed. */
  private void waitForInserter() {
    Future<?> f = inFlight;
    if (f == null) {
      return;
    }
    try {
      f.get();
    } catch (ExecutionException | CancellationException e) {
      // the polling loop reports it
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Runs {@code call}, retrying retryable failures (ClickHouse or registry unreachable) with backoff. */
  private <T> T retrying(String what, java.util.function.Supplier<T> call) {
    long backoffMs = 200;
    while (true) {
      try {
        T result = call.get();
        healthy = true;
        return result;
      } catch (ClickHouse.Retryable | RegistryClient.Unavailable e) {
        if (!running) {
          throw e;
        }
        retries.increment();
        healthy = false;
        lastError = e.getMessage();
        LOG.warn("{} failed, retrying in {} ms: {}", what, backoffMs, e.getMessage());
        try {
          Thread.sleep(backoffMs);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          throw e;
        }
        backoffMs = Math.min(backoffMs * 2, config.maxBackoff().toMillis());
      }
    }
  }

  /** Stops after flushing what is buffered. */
  @Override
  public void close() {
    running = false;
    consumer.wakeup();
  }
}
