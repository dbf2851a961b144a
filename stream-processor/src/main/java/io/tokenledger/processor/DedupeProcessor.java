package io.tokenledger.processor;

import io.tokenledger.avro.UsageEvent;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.kstream.Windowed;
import org.apache.kafka.streams.processor.Cancellable;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.Stores;
import org.apache.kafka.streams.state.WindowStore;
import org.apache.kafka.streams.state.WindowStoreIterator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Passes each event id once. Ids are remembered by the time the record reached Kafka, for the configured
 * retention: a producer retry arrives seconds after the original, so arrival time is what matters, not the
 * (possibly much older) event time. Events are keyed, and so partitioned, by org id; a retry carries the same
 * org id and so reaches the same task and stores.
 *
 * <p>Where ids live. Looking an id up needs an index by id; making it survive a crash or a move to another
 * instance needs a changelog. One changelog record per event (a changelogged window store) cost the
 * processor and the broker a produced record per event, as much as the costed record itself. So the two
 * are split:
 * <ul>
 *   <li>{@value #INDEX}: the window store that answers "seen?", local only (no changelog);
 *   <li>{@value #ID_LOG}: the ids in batches of up to {@value #BATCH_IDS}, keyed 1, 2, 3, ... in a changelogged,
 *       cached key-value store. The batch being filled is rewritten in the cache on every event; the cache is
 *       flushed before each commit, inside the transaction, so the changelog gets one record per batch
 *       touched in a commit interval, and every id whose event was committed is in it. Key 0 is kept
 *       for the upgrade from 0.1.0 (below);
 *   <li>{@value #INDEXED_THROUGH}: the last batch whose ids are all in the index (local only).
 * </ul>
 * When the task starts, after its stores are restored, the batches after that one are put into the index:
 * after a clean stop, the partly filled batch; on an instance that never had the task, all of them. The
 * index and the marker are lost or rolled back together: an aborted transaction closes the task dirty,
 * which deletes its whole state directory; after a crash either a store had flushed or had never been
 * closed cleanly, the task is found corrupted and its directory deleted, or every store reopens as at the
 * last clean close (see docs/decisions.md). So the index never keeps an id whose transaction did not commit, and the replay from
 * the marker brings it up to the log restored from its changelog. Batch numbers are never reused (expiry
 * keeps the newest batch), so a marker left on another instance's disk never skips a batch.
 *
 * <p>Upgrading from 0.1.0, whose ids live in {@value #LEGACY}, a single changelogged window store: with
 * {@code upgrade} set, that store is in the topology again, read-only, and until key 0 is in the log each
 * event copies up to {@value #MIGRATED_PER_EVENT} of its ids into the index and the log (a bounded amount per
 * transaction) while lookups also ask it. Like Kafka Streams' own {@code upgrade.from}, the setting is for
 * the upgrade only: a logged store that is never written can leave Kafka Streams without an offset for it
 * (seen with an empty changelog), and it then finds the task corrupted and rebuilds it at every start.
 */
final class DedupeProcessor implements Processor<String, UsageEvent, String, UsageEvent> {

  private static final Logger LOG = LoggerFactory.getLogger(DedupeProcessor.class);

  static final String INDEX = "dedupe-index";
  static final String ID_LOG = "dedupe-log";
  static final String INDEXED_THROUGH = "dedupe-indexed-through";
  static final String LEGACY = "dedupe-store";
  static final int BATCH_IDS = 64;
  static final int BATCH_BYTES = 4096;
  static final int MIGRATED_PER_EVENT = 2_000;
  /** The log's key for "the 0.1.0 store's ids are all in the log"; batches are numbered from 1. */
  static final long MIGRATED = 0;
  private static final String INDEXED_THROUGH_KEY = "batch";
  private static final Duration EXPIRY_INTERVAL = Duration.ofMinutes(1);
  private static final int MAX_EXPIRED_PER_RUN = 100_000;

  private final long retentionMs;
  private final boolean upgrade;
  private final PipelineMetrics metrics;
  private ProcessorContext<String, UsageEvent> context;
  private WindowStore<String, Long> index;
  private KeyValueStore<Long, byte[]> log;
  private KeyValueStore<String, Long> indexedThrough;
  private WindowStore<String, Long> legacy;
  private long batchKey;
  private final IdBatch batch = new IdBatch();
  /** The 0.1.0 store's ids are all in the index and the log (always, unless upgrading). */
  private boolean migrated;
  private KeyValueIterator<Windowed<String>, Long> legacyIds;
  private long legacyCopied;
  private Cancellable expiry;

  DedupeProcessor(Duration retention, boolean upgrade, PipelineMetrics metrics) {
    this.retentionMs = retention.toMillis();
    this.upgrade = upgrade;
    this.metrics = metrics;
  }

  /** Adds the stores to the topology, all named (upgrades keep them); the 0.1.0 store while upgrading from it. */
  static void addStores(StreamsBuilder builder, Duration retention, boolean upgrade) {
    builder.addStateStore(indexStore(retention));
    builder.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(ID_LOG), Serdes.Long(),
        Serdes.ByteArray()).withCachingEnabled());
    builder.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(INDEXED_THROUGH), Serdes.String(),
        Serdes.Long()).withLoggingDisabled());
    if (upgrade) {
      builder.addStateStore(Stores.windowStoreBuilder(Stores.persistentWindowStore(LEGACY, retention, retention, false),
          Serdes.String(), Serdes.Long()));
    }
  }

  /** The index: each id under the timestamp of its record, local only (the log is what survives). */
  static StoreBuilder<WindowStore<String, Long>> indexStore(Duration retention) {
    return Stores.windowStoreBuilder(Stores.persistentWindowStore(INDEX, retention, retention, false),
        Serdes.String(), Serdes.Long()).withLoggingDisabled();
  }

  static String[] storeNames(boolean upgrade) {
    return upgrade ? new String[] {INDEX, ID_LOG, INDEXED_THROUGH, LEGACY}
        : new String[] {INDEX, ID_LOG, INDEXED_THROUGH};
  }

  /** Runs after the task's stores are restored, and again on this object if the task is revived. */
  @Override
  public void init(ProcessorContext<String, UsageEvent> context) {
    close();
    this.context = context;
    this.index = context.getStateStore(INDEX);
    this.log = context.getStateStore(ID_LOG);
    this.indexedThrough = context.getStateStore(INDEXED_THROUGH);
    this.legacy = upgrade ? context.getStateStore(LEGACY) : null;
    batch.clear();
    migrated = !upgrade || log.get(MIGRATED) != null;
    long lastKey = lastKey();
    Long through = indexedThrough.get(INDEXED_THROUGH_KEY);
    long from = through == null || through > lastKey ? MIGRATED + 1 : through + 1;
    long started = System.nanoTime();
    long[] replayed = new long[2];
    if (from <= lastKey) {
      try (KeyValueIterator<Long, byte[]> it = log.range(from, lastKey)) {
        it.forEachRemaining(kv -> {
          replayed[0]++;
          IdBatch.forEach(kv.value, (id, ts) -> {
            replayed[1]++;
            index.put(id, ts, ts);
          });
        });
      }
      indexedThrough.put(INDEXED_THROUGH_KEY, lastKey);
    }
    if (replayed[0] > 1) {
      LOG.info("task {}: {} ids of {} logged batches put into the dedupe index in {} ms", context.taskId(),
          replayed[1], replayed[0], (System.nanoTime() - started) / 1_000_000);
    }
    batchKey = Math.max(lastKey, MIGRATED) + 1;
    expiry = context.schedule(EXPIRY_INTERVAL, PunctuationType.WALL_CLOCK_TIME, now -> expire());
  }

  @Override
  public void process(Record<String, UsageEvent> record) {
    if (!migrated) {
      migrateSome();
    }
    String id = record.value().getEventId();
    long ts = record.timestamp();
    if (seen(index, id, ts, retentionMs) || (!migrated && seen(legacy, id, ts, retentionMs))) {
      metrics.duplicate();
      return;
    }
    remember(id, ts);
    context.forward(record);
  }

  @Override
  public void close() {
    if (legacyIds != null) {
      legacyIds.close();
      legacyIds = null;
    }
    if (expiry != null) {
      expiry.cancel();
      expiry = null;
    }
  }

  /** Whether {@code store} holds {@code id} under a timestamp within the retention of {@code ts}, either side. */
  static boolean seen(WindowStore<String, Long> store, String id, long ts, long retentionMs) {
    try (WindowStoreIterator<Long> it = store.fetch(id, ts - retentionMs, ts + retentionMs)) {
      return it.hasNext();
    }
  }

  private void remember(String id, long ts) {
    index.put(id, ts, ts);
    batch.add(id, ts);
    log.put(batchKey, batch.bytes());
    if (batch.count() >= BATCH_IDS || batch.size() >= BATCH_BYTES) {
      indexedThrough.put(INDEXED_THROUGH_KEY, batchKey);
      batchKey++;
      batch.clear();
    }
  }

  /** The highest key in the log, or -1. */
  private long lastKey() {
    try (KeyValueIterator<Long, byte[]> it = log.reverseAll()) {
      return it.hasNext() ? it.next().key : -1;
    }
  }

  /**
   * Copies the next ids of the 0.1.0 store into the index and the log, at most
   * {@value #MIGRATED_PER_EVENT} per event (here rather than in {@link #init}, because writes to a logged store
   * belong with a record and its transaction, and a transaction must not run past its timeout). If the task
   * moves or restarts before the end, the next owner starts again from the first id: copies are harmless.
   */
  private void migrateSome() {
    if (legacyIds == null) {
      legacyIds = legacy.all();
      legacyCopied = 0;
    }
    for (int i = 0; i < MIGRATED_PER_EVENT && legacyIds.hasNext(); i++) {
      KeyValue<Windowed<String>, Long> kv = legacyIds.next();
      remember(kv.key.key(), kv.value);
      legacyCopied++;
    }
    if (!legacyIds.hasNext()) {
      legacyIds.close();
      legacyIds = null;
      log.put(MIGRATED, new byte[0]);
      migrated = true;
      LOG.info("task {}: all {} ids of the 0.1.0 dedupe store are copied; once every task has said so, restart "
          + "without TOKENLEDGER_PROCESSOR_DEDUPE_UPGRADE_FROM_0_1", context.taskId(), legacyCopied);
    }
  }

  /**
   * Deletes the oldest batches while their newest id is past the retention (by the task's stream time). The
   * newest batch is always kept, so batch numbers only grow.
   */
  private void expire() {
    long cutoff = context.currentStreamTimeMs() - retentionMs;
    long newest = lastKey();
    if (newest <= MIGRATED + 1) {
      return;
    }
    List<Long> expired = new ArrayList<>();
    try (KeyValueIterator<Long, byte[]> it = log.range(MIGRATED + 1, newest - 1)) {
      while (it.hasNext() && expired.size() < MAX_EXPIRED_PER_RUN) {
        KeyValue<Long, byte[]> kv = it.next();
        if (IdBatch.newest(kv.value) >= cutoff) {
          break;
        }
        expired.add(kv.key);
      }
    }
    expired.forEach(log::delete);
  }

  /** Ids with their timestamps, as one byte array: per id the timestamp, the UTF-8 length, the UTF-8 bytes. */
  static final class IdBatch {
    private byte[] buf = new byte[BATCH_BYTES + 1024];
    private int size;
    private int count;

    void add(String id, long ts) {
      byte[] utf8 = id.getBytes(StandardCharsets.UTF_8);
      if (size + 12 + utf8.length > buf.length) {
        buf = Arrays.copyOf(buf, Math.max(buf.length * 2, size + 12 + utf8.length));
      }
      ByteBuffer.wrap(buf, size, 12).putLong(ts).putInt(utf8.length);
      System.arraycopy(utf8, 0, buf, size + 12, utf8.length);
      size += 12 + utf8.length;
      count++;
    }

    /** A copy: the store's cache keeps the array it is given. */
    byte[] bytes() {
      return Arrays.copyOf(buf, size);
    }

    int count() {
      return count;
    }

    int size() {
      return size;
    }

    void clear() {
      size = 0;
      count = 0;
    }

    interface IdConsumer {
      void accept(String id, long ts);
    }

    static void forEach(byte[] bytes, IdConsumer consumer) {
      ByteBuffer b = ByteBuffer.wrap(bytes);
      while (b.hasRemaining()) {
        long ts = b.getLong();
        int length = b.getInt();
        String id = new String(bytes, b.position(), length, StandardCharsets.UTF_8);
        b.position(b.position() + length);
        consumer.accept(id, ts);
      }
    }

    static long newest(byte[] bytes) {
      long newest = Long.MIN_VALUE;
      ByteBuffer b = ByteBuffer.wrap(bytes);
      while (b.hasRemaining()) {
        newest = Math.max(newest, b.getLong());
        int length = b.getInt();
        b.position(b.position() + length);
      }
      return newest;
    }
  }
}
