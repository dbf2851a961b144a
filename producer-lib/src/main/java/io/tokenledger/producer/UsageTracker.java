package io.tokenledger.producer;

import com.fasterxml.jackson.databind.JsonNode;
import io.tokenledger.avro.UsageEvent;
import io.tokenledger.producer.adapters.Adapters;
import io.tokenledger.producer.adapters.ParsedUsage;
import io.tokenledger.producer.adapters.UsageAdapter;
import io.tokenledger.runtime.EnvConfig;
import io.tokenledger.schemas.RegistrySerdes;
import io.tokenledger.schemas.SerdeFactory;
import io.tokenledger.schemas.Topics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;
import java.util.function.Supplier;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Emits one {@link UsageEvent} per model call to {@code usage.events}, without ever hurting the caller.
 *
 * <p>{@code track} never throws and, by default, never blocks: the calling thread records the usage and the
 * time, and offers it to a bounded in-memory buffer (no I/O, no serialization). One background thread drains
 * the buffer into an idempotent Kafka producer ({@code acks=all}, lz4, 10 ms linger), keyed by org id. When
 * the buffer is full, {@link OverflowPolicy} decides: drop the new event and count it (the default), or
 * wait up to a timeout, then drop.
 *
 * <p>When Kafka cannot be reached, events that the Kafka client cannot take (no metadata yet, its own
 * buffer full) stay in this tracker's buffer, in order, and are retried with backoff; each is counted
 * failed once it has waited longer than {@code delivery.timeout.ms} (2 minutes unless configured). Events
 * the client took are retried by the client up to the same timeout. The counters ({@link #stats()}) say what
 * happened: every accepted event ends up sent or failed.
 *
 * <p>Thread-safe; make one per process and close it on shutdown ({@link #close(Duration)} delivers what is
 * buffered, within the timeout).
 */
public final class UsageTracker implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(UsageTracker.class);

  public static final int DEFAULT_BUFFER_CAPACITY = 10_000;
  public static final Duration DEFAULT_BLOCK_TIMEOUT = Duration.ofMillis(100);
  public static final Duration DEFAULT_CLOSE_TIMEOUT = Duration.ofSeconds(10);

  /** Metadata keys this library writes on events. */
  public static final String META_USAGE_STATUS = Pending.USAGE_STATUS;
  public static final String META_USAGE_NOTES = Pending.USAGE_NOTES;
  public static final String META_USAGE_ADAPTER = "usage_adapter";
  public static final String META_REQUESTED_MODEL = "requested_model";
  public static final String META_CALL_STATUS = "call_status";
  public static final String META_CALL_ERROR = "call_error";

  // Small batches keep the buffer lock short: a caller never waits long behind the sender.
  private static final int DRAIN_BATCH = 64;
  // While recently busy the sender polls the buffer every 1 to 4 ms instead of being woken per event: a
  // steady stream then costs at most about a thousand wake-ups a second, however many events it carries,
  // and an event waits at most a few ms here (the Kafka producer lingers 10 ms anyway). A caller that
  // finds the buffer full wakes it at once.
  private static final int SPIN_ROUNDS = 10;
  private static final long SPIN_PARK_NANOS = 1_000_000;
  private static final int SPIN_PARK_MAX_SHIFT = 2;
  private static final long IDLE_PARK_NANOS = TimeUnit.SECONDS.toNanos(1);
  private static final long MAX_HOLD_BACKOFF_MS = 2_000;
  private static final AtomicInteger INSTANCES = new AtomicInteger();

  private final String topic;
  private final String service;
  private final BoundedBuffer<Pending> buffer;
  private final OverflowPolicy overflow;
  private final long blockTimeoutNanos;
  private final long deliveryTimeoutMs;
  private final Duration closeTimeout;
  private final boolean trackFailedCalls;
  private final Map<String, UsageAdapter> adapters;
  private final Supplier<Producer<String, UsageEvent>> producerFactory;
  private volatile Producer<String, UsageEvent> producer;

  private final LongAdder tracked = new LongAdder();
  private final LongAdder dropped = new LongAdder();
  private final LongAdder sent = new LongAdder();
  private final LongAdder failed = new LongAdder();
  private final LogLimiter dropLog = new LogLimiter(10_000);
  private final LogLimiter failLog = new LogLimiter(10_000);
  private final LogLimiter rejectLog = new LogLimiter(10_000);

  private final Thread sender;
  private volatile boolean sleeping;
  /** The sender is between two polls of the buffer (see {@link #idle}): a full buffer wakes it. */
  private volatile boolean polling;
  private volatile boolean closing;
  private volatile boolean abort;
  private volatile long senderDeadlineNanos;
  /** Elements the sender took from the buffer and handed to Kafka or failed; written by the sender only. */
  private volatile long resolved;
  private boolean holding;
  private long holdingSinceMs;
  private final AtomicInteger waiters = new AtomicInteger();
  private final Object progress = new Object();
  private final Object lifecycle = new Object();
  private boolean closed;
  private ExecutorService flusher;

  private UsageTracker(Builder b, Supplier<Producer<String, UsageEvent>> producerFactory, long deliveryTimeoutMs) {
    this.topic = b.topics.usageEvents().name();
    this.service = b.serviceName;
    this.buffer = new BoundedBuffer<>(b.bufferCapacity);
    this.overflow = b.overflow;
    this.blockTimeoutNanos = BoundedBuffer.nanos(b.blockTimeout);
    this.deliveryTimeoutMs = deliveryTimeoutMs;
    this.closeTimeout = b.closeTimeout;
    this.trackFailedCalls = b.trackFailedCalls;
    this.adapters = Map.copyOf(b.adapters);
    this.producerFactory = producerFactory;
    this.sender = new Thread(this::runSender, "tokenledger-usage-sender-" + INSTANCES.incrementAndGet());
    // A daemon: a service that forgets close() must still be able to exit.
    sender.setDaemon(true);
    sender.start();
    LOG.info("usage tracker started: topic [{}] service [{}] buffer [{}] overflow [{}]", topic, service,
        b.bufferCapacity, overflow);
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * A tracker configured from environment variables:
   *
   * <ul>
   *   <li>{@code KAFKA_BOOTSTRAP} (default {@code localhost:9092}), {@code SCHEMA_REGISTRY_URL} (default
   *       {@code http://localhost:8081}), {@code TOKENLEDGER_TOPIC_PREFIX} (default empty);
   *   <li>{@code TOKENLEDGER_SERVICE}: this service's name, written on every event;
   *   <li>{@code TOKENLEDGER_TRACKER_BUFFER_CAPACITY} (10000), {@code TOKENLEDGER_TRACKER_OVERFLOW}
   *       ({@code drop_newest} or {@code block}), {@code TOKENLEDGER_TRACKER_BLOCK_TIMEOUT} (100ms),
   *       {@code TOKENLEDGER_TRACKER_CLOSE_TIMEOUT} (10s), {@code TOKENLEDGER_TRACKER_TRACK_FAILED_CALLS} (false);
   *   <li>{@code TOKENLEDGER_KAFKA_*}: Kafka client settings, e.g. {@code TOKENLEDGER_KAFKA_SECURITY_PROTOCOL=SASL_SSL}
   *       becomes {@code security.protocol=SASL_SSL}.
   * </ul>
   *
   * An unknown {@code TOKENLEDGER_TRACKER_*} variable or an invalid value fails with a message naming it.
   */
  public static UsageTracker fromEnvironment() {
    return builderFromEnvironment(System.getenv()).build();
  }

  /** A builder preset from {@code env} (see {@link #fromEnvironment()}), to adjust before building. */
  public static Builder builderFromEnvironment(Map<String, String> env) {
    EnvConfig c = new EnvConfig(env, "TOKENLEDGER_TRACKER_");
    Builder b = builder()
        .bootstrapServers(c.string("KAFKA_BOOTSTRAP", "localhost:9092"))
        .registryUrl(c.string("SCHEMA_REGISTRY_URL", "http://localhost:8081"))
        .topics(Topics.withPrefix(c.string("TOKENLEDGER_TOPIC_PREFIX", "")))
        .serviceName(c.string("TOKENLEDGER_SERVICE", null))
        .bufferCapacity(c.integer("TOKENLEDGER_TRACKER_BUFFER_CAPACITY", DEFAULT_BUFFER_CAPACITY, 1, 10_000_000))
        .overflowPolicy(c.choice("TOKENLEDGER_TRACKER_OVERFLOW", OverflowPolicy.class, OverflowPolicy.DROP_NEWEST),
            c.duration("TOKENLEDGER_TRACKER_BLOCK_TIMEOUT", DEFAULT_BLOCK_TIMEOUT))
        .closeTimeout(c.duration("TOKENLEDGER_TRACKER_CLOSE_TIMEOUT", DEFAULT_CLOSE_TIMEOUT))
        .trackFailedCalls(c.bool("TOKENLEDGER_TRACKER_TRACK_FAILED_CALLS", false))
        .kafkaProperties(c.passThrough("TOKENLEDGER_KAFKA_"));
    c.finish();
    return b;
  }

  // ---------------------------------------------------------------------------------------------- tracking

  /**
   * Offers one call's usage for delivery. Returns at once (or within the block timeout under
   * {@link OverflowPolicy#BLOCK}); true when accepted, false when dropped (counted). Never throws.
   */
  public boolean track(Usage usage) {
    if (usage == null) {
      return reject("a null usage", null);
    }
    return offer(new Pending(usage, System.currentTimeMillis()));
  }

  /** Builds and tracks; see {@link #track(Usage)}. */
  public boolean track(Usage.Builder usage) {
    try {
      return track(usage.build());
    } catch (RuntimeException e) {
      return reject("a usage that could not be built", e);
    }
  }

  /** Tracks an Avro event as given (its id and time if set, otherwise new ones). */
  public boolean track(UsageEvent event) {
    try {
      return track(Usage.from(event));
    } catch (RuntimeException e) {
      return reject("an unreadable UsageEvent", e);
    }
  }

  /** Tracks the fields set on an Avro builder; an unset id or time gets the defaults. */
  public boolean track(UsageEvent.Builder event) {
    try {
      return track(Usage.from(event));
    } catch (RuntimeException e) {
      return reject("an unreadable UsageEvent.Builder", e);
    }
  }

  /**
   * Tracks a provider's raw response body: the adapter for {@code usage}'s provider reads the token counts
   * and the model ({@link Adapters}). The model the response reports wins over the one in {@code usage},
   * which is kept as {@code metadata["requested_model"]} when they differ. A body without usage, or with odd
   * fields, is tracked with what could be read and flagged in {@code metadata["usage_status"]}.
   *
   * @param usage org, user, provider and any context; its token counts are replaced. Not modified.
   */
  public boolean trackResponse(Usage.Builder usage, String rawJson) {
    try {
      Usage.Builder b = usage.copy();
      applyResponse(b, adapterFor(b.provider()).read(rawJson));
      return track(b.build());
    } catch (RuntimeException e) {
      return reject("a response that could not be read", e);
    }
  }

  /** As {@link #trackResponse(Usage.Builder, String)}, for a body the caller has already parsed. */
  public boolean trackResponse(Usage.Builder usage, JsonNode response) {
    try {
      Usage.Builder b = usage.copy();
      applyResponse(b, response == null
          ? adapterFor(b.provider()).read((String) null)
          : adapterFor(b.provider()).read(response));
      return track(b.build());
    } catch (RuntimeException e) {
      return reject("a response that could not be read", e);
    }
  }

  /**
   * As {@link #trackResponse(Usage.Builder, String)}.
   *
   * @param model the model requested, used when the response names none; may be null
   * @param context endpoint, request type, latency, metadata...; may be null
   */
  public boolean trackResponse(String provider, String model, String orgId, String userId, String rawJson,
      CallContext context) {
    return trackResponse(Usage.builder().provider(provider).model(model).orgId(orgId).userId(userId)
        .context(context), rawJson);
  }

  /** A call whose result the tracker times; it may throw what it declares. */
  @FunctionalInterface
  public interface Call<T, E extends Exception> {
    T call() throws E;
  }

  /** Fills token counts (and anything else known) from a call's result. */
  @FunctionalInterface
  public interface UsageExtractor<T> {
    void extract(T result, Usage.Builder usage) throws Exception;
  }

  /**
   * Runs {@code call}, measures its wall time, and when it returns tracks {@code usage} with that latency and
   * whatever {@code extractor} reads from the result. The result is returned unchanged. When the call
   * throws, the exception reaches the caller unchanged and nothing is tracked, unless the tracker was built
   * with {@link Builder#trackFailedCalls(boolean)}: then a zero-token event flagged
   * {@code metadata["call_status"]="failed"} is tracked. An extractor that throws still leads to an event,
   * with zero tokens and {@code metadata["usage_status"]="extract_failed"}.
   *
   * @param usage org, user, provider, model and any context; copied, not modified
   */
  public <T, E extends Exception> T timed(Usage.Builder usage, Call<T, E> call, UsageExtractor<? super T> extractor)
      throws E {
    long t0 = System.nanoTime();
    T result;
    try {
      result = call.call();
    } catch (Throwable t) {
      trackFailedCall(usage, t, t0);
      throw t;
    }
    long latencyMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    Usage.Builder b;
    try {
      b = usage.copy();
      if (!b.hasLatency()) {
        b.latencyMs(latencyMs);
      }
    } catch (RuntimeException e) {
      reject("a usage template that could not be copied", e);
      return result;
    }
    try {
      if (extractor != null) {
        extractor.extract(result, b);
      }
    } catch (Exception e) {
      b = usage.copy().latencyMs(latencyMs).metadata(META_USAGE_STATUS, "extract_failed")
          .metadata(META_USAGE_NOTES, String.valueOf(e));
    }
    track(b);
    return result;
  }

  /** {@link #timed(Usage.Builder, Call, UsageExtractor)} for the common case. */
  public <T, E extends Exception> T timed(String orgId, String userId, String provider, String model, Call<T, E> call,
      UsageExtractor<? super T> extractor) throws E {
    return timed(Usage.builder().orgId(orgId).userId(userId).provider(provider).model(model), call, extractor);
  }

  /**
   * Times a call whose result carries the provider's raw JSON (e.g. an {@code HttpResponse<String>} with
   * {@code HttpResponse::body}) and tracks the usage its adapter reads, as
   * {@link #trackResponse(Usage.Builder, String)} does.
   */
  public <T, E extends Exception> T timedResponse(Usage.Builder usage, Call<T, E> call,
      Function<? super T, String> rawJson) throws E {
    return timed(usage, call, (result, b) -> applyResponse(b, adapterFor(b.provider()).read(rawJson.apply(result))));
  }

  /** The adapter this tracker uses for {@code provider}: one given to the builder, else {@link Adapters}. */
  public UsageAdapter adapterFor(String provider) {
    UsageAdapter a = provider == null ? null : adapters.get(provider.toLowerCase(Locale.ROOT));
    return a != null ? a : Adapters.forProvider(provider);
  }

  static void applyResponse(Usage.Builder b, ParsedUsage u) {
    b.inputTokens(u.inputTokens()).cachedInputTokens(u.cachedInputTokens())
        .cacheWrite5mTokens(u.cacheWrite5mTokens()).cacheWrite1hTokens(u.cacheWrite1hTokens())
        .outputTokens(u.outputTokens()).reasoningTokens(u.reasoningTokens());
    if (u.model() != null) {
      if (b.model() != null && !b.model().equals(u.model())) {
        b.metadata(META_REQUESTED_MODEL, b.model());
      }
      b.model(u.model());
    }
    if (u.batch()) {
      b.batch(true);
    }
    b.metadata(META_USAGE_ADAPTER, u.adapter());
    if (u.status() != null) {
      b.metadata(META_USAGE_STATUS, u.status());
      if (!u.notes().isEmpty()) {
        b.metadata(META_USAGE_NOTES, String.join("; ", u.notes()));
      }
    }
  }

  private void trackFailedCall(Usage.Builder usage, Throwable t, long t0) {
    if (!trackFailedCalls) {
      return;
    }
    try {
      track(usage.copy().latencyMs(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0))
          .metadata(META_CALL_STATUS, "failed").metadata(META_CALL_ERROR, t.getClass().getName()));
    } catch (RuntimeException e) {
      reject("a failed call's usage", e);
    }
  }

  private boolean offer(Pending p) {
    tracked.increment();
    boolean accepted = buffer.offer(p);
    if (!accepted) {
      if (polling) {
        wakeSender(); // full while the sender waits between polls: have it drain now, not in a few ms
      }
      if (overflow == OverflowPolicy.BLOCK) {
        try {
          accepted = buffer.offer(p, blockTimeoutNanos);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          accepted = false;
        }
      }
    }
    if (accepted) {
      if (sleeping) {
        wakeSender();
      }
      return true;
    }
    tracked.decrement();
    dropped.increment();
    if (dropLog.ready()) {
      LOG.warn("usage buffer {} ({} events): dropped {} events so far, topic [{}]",
          closing ? "closed" : "full", buffer.capacity(), dropped.sum(), topic);
    }
    return false;
  }

  private boolean reject(String what, RuntimeException e) {
    dropped.increment();
    if (rejectLog.ready()) {
      LOG.warn("usage tracker dropped {} ({} dropped so far): {}", what, dropped.sum(), String.valueOf(e));
    }
    return false;
  }

  private void wakeSender() {
    sleeping = false;
    LockSupport.unpark(sender);
  }

  // ---------------------------------------------------------------------------------------------- counters

  public TrackerStats stats() {
    return new TrackerStats(tracked.sum(), sent.sum(), failed.sum(), dropped.sum());
  }

  /** The topic events go to. */
  public String topic() {
    return topic;
  }

  // ----------------------------------------------------------------------------------------- flush, close

  /**
   * Waits until every event tracked before this call has been acknowledged by Kafka or has failed, at most
   * {@code timeout}. True when that happened in time.
   */
  public boolean flush(Duration timeout) {
    long deadline = System.nanoTime() + BoundedBuffer.nanos(timeout);
    long target = buffer.accepted();
    waiters.incrementAndGet();
    try {
      wakeSender();
      if (!awaitResolved(target, deadline)) {
        return false;
      }
      Producer<String, UsageEvent> p = producer;
      if (p == null) {
        return true;
      }
      ExecutorService ex;
      synchronized (lifecycle) {
        if (closed) {
          return stats().pending() == 0;
        }
        if (flusher == null) {
          // KafkaProducer.flush has no timeout: it runs here, and the caller waits only as long as it said.
          flusher = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, sender.getName().replace("sender", "flush"));
            t.setDaemon(true);
            return t;
          });
        }
        ex = flusher;
      }
      Future<?> f = ex.submit(p::flush);
      f.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      return true;
    } catch (TimeoutException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    } catch (ExecutionException | RuntimeException e) {
      LOG.warn("flushing usage events to topic [{}] failed: {}", topic, e.toString());
      return false;
    } finally {
      waiters.decrementAndGet();
    }
  }

  private boolean awaitResolved(long target, long deadline) throws InterruptedException {
    synchronized (progress) {
      while (resolved < target) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        progress.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
      }
      return true;
    }
  }

  /** {@link #close(Duration)} with the builder's close timeout (10 s by default). */
  @Override
  public void close() {
    close(closeTimeout);
  }

  /**
   * Stops accepting events, delivers what is buffered and in flight, and releases the Kafka client, all
   * within {@code timeout}. What could not be delivered in time is counted failed. Returns the final
   * counters. Safe to call more than once.
   */
  public TrackerStats close(Duration timeout) {
    long start = System.nanoTime();
    synchronized (lifecycle) {
      if (closed) {
        return stats();
      }
      closed = true;
    }
    long total = BoundedBuffer.nanos(timeout);
    long deadline = start + total;
    long margin = Math.min(total / 5, TimeUnit.MILLISECONDS.toNanos(500));
    senderDeadlineNanos = deadline - margin;
    buffer.close();
    closing = true;
    LockSupport.unpark(sender);
    try {
      long joinNanos = deadline - margin / 2 - System.nanoTime();
      if (joinNanos > 0) {
        TimeUnit.NANOSECONDS.timedJoin(sender, joinNanos);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (sender.isAlive()) {
      // Stuck in a blocking Kafka call: interrupt it; what it still holds is counted failed.
      abort = true;
      sender.interrupt();
      try {
        long left = (deadline - System.nanoTime()) / 2;
        if (left > 0) {
          TimeUnit.NANOSECONDS.timedJoin(sender, left);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    Producer<String, UsageEvent> p = producer;
    if (p != null) {
      try {
        p.close(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
      } catch (RuntimeException e) {
        LOG.warn("closing the Kafka producer for topic [{}] failed: {}", topic, e.toString());
      }
    }
    synchronized (lifecycle) {
      if (flusher != null) {
        flusher.shutdownNow();
      }
    }
    TrackerStats s = stats();
    LOG.info("usage tracker closed in {} ms: tracked [{}] sent [{}] failed [{}] dropped [{}]",
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start), s.tracked(), s.sent(), s.failed(), s.dropped());
    return s;
  }

  // ------------------------------------------------------------------------------------------ sender thread

  private void runSender() {
    List<Pending> batch = new ArrayList<>(DRAIN_BATCH);
    int idleRounds = 0;
    try {
      producer();
      while (!abort) {
        batch.clear();
        int n = buffer.drainTo(batch, DRAIN_BATCH);
        if (n == 0) {
          if (closing) {
            break;
          }
          idleRounds = idle(idleRounds);
          continue;
        }
        idleRounds = 0;
        for (int i = 0; i < n; i++) {
          Pending p = batch.get(i);
          if (abort) {
            countFailed(null, "tracker closed before the event could be handed to Kafka");
          } else {
            handOff(p);
          }
          resolved++;
        }
        signalProgress();
      }
    } catch (Throwable t) {
      LOG.error("usage sender for topic [{}] stopped by an unexpected error; undelivered events count as failed",
          topic, t);
    } finally {
      // Whatever is left was accepted and will never be sent. After an unexpected error (not closing), the
      // buffer is closed first so that later events are refused and counted rather than held forever.
      buffer.close();
      batch.clear();
      int n;
      while ((n = buffer.drainTo(batch, DRAIN_BATCH)) > 0) {
        for (int i = 0; i < n; i++) {
          countFailed(null, "tracker closed before the event could be handed to Kafka");
          resolved++;
        }
        batch.clear();
      }
      signalProgress();
    }
  }

  private int idle(int rounds) {
    if (rounds < SPIN_ROUNDS) {
      // Recently busy: poll a few times before sleeping, so a steady stream never makes callers wake us
      // (only a full buffer does).
      polling = true;
      if (buffer.isEmpty()) {
        LockSupport.parkNanos(SPIN_PARK_NANOS << Math.min(rounds, SPIN_PARK_MAX_SHIFT));
      }
      polling = false;
      return rounds + 1;
    }
    sleeping = true;
    if (buffer.isEmpty() && !closing && waiters.get() == 0) {
      LockSupport.parkNanos(IDLE_PARK_NANOS);
    }
    sleeping = false;
    return rounds;
  }

  private void signalProgress() {
    if (waiters.get() > 0) {
      synchronized (progress) {
        progress.notifyAll();
      }
    }
  }

  /** Waits before a retry; close() wakes it, and while closing it never sleeps past the sender's deadline. */
  private void pause(long millis) {
    long nanos = TimeUnit.MILLISECONDS.toNanos(millis);
    if (closing) {
      nanos = Math.min(nanos, senderDeadlineNanos - System.nanoTime());
    }
    if (nanos > 0) {
      LockSupport.parkNanos(nanos);
    }
  }

  private boolean pastSenderDeadline() {
    return closing && System.nanoTime() - senderDeadlineNanos >= 0;
  }

  /** The Kafka client, created on this thread (retrying) so that a missing DNS entry never fails start-up. */
  private Producer<String, UsageEvent> producer() {
    Producer<String, UsageEvent> p = producer;
    long backoffMs = 100;
    boolean warned = false;
    while (p == null && !abort && !pastSenderDeadline()) {
      try {
        p = producerFactory.get();
        if (abort) {
          p.close(Duration.ZERO);
          return null;
        }
        producer = p;
        if (warned) {
          LOG.info("Kafka producer for topic [{}] created", topic);
        }
      } catch (RuntimeException e) {
        if (!warned) {
          warned = true;
          LOG.warn("cannot create the Kafka producer for topic [{}] yet, retrying: {}", topic, e.toString());
        }
        pause(backoffMs);
        backoffMs = Math.min(backoffMs * 2, 5_000);
      }
    }
    return p;
  }

  private void handOff(Pending p) {
    ProducerRecord<String, UsageEvent> rec;
    try {
      rec = p.record(topic, service);
    } catch (RuntimeException e) {
      countFailed(e, "cannot build the event");
      return;
    }
    long backoffMs = 50;
    while (true) {
      if (abort || pastSenderDeadline()) {
        countFailed(null, "tracker closed before the event could be handed to Kafka");
        return;
      }
      if (holding && System.currentTimeMillis() - p.acceptedAtMs >= deliveryTimeoutMs) {
        countFailed(null, "Kafka unreachable for longer than delivery.timeout.ms");
        return;
      }
      Producer<String, UsageEvent> kp = producer();
      if (kp == null) {
        countFailed(null, "tracker closed before a Kafka producer could be created");
        return;
      }
      Throwable err = trySend(kp, rec);
      if (err == null) {
        if (holding) {
          holding = false;
          LOG.info("Kafka takes usage events for topic [{}] again, after {} ms", topic,
              System.currentTimeMillis() - holdingSinceMs);
        }
        return;
      }
      if (!(err instanceof RetriableException) || abort) {
        countFailed(err, null);
        return;
      }
      if (!holding) {
        holding = true;
        holdingSinceMs = System.currentTimeMillis();
        LOG.warn("Kafka does not take usage events for topic [{}]; holding them in the buffer and retrying: {}",
            topic, err.toString());
      }
      pause(backoffMs);
      backoffMs = Math.min(backoffMs * 2, MAX_HOLD_BACKOFF_MS);
    }
  }

  /** Hands one record to the Kafka client: null when it took it, else the error that prevented it. */
  private Throwable trySend(Producer<String, UsageEvent> kp, ProducerRecord<String, UsageEvent> rec) {
    SendCallback cb = new SendCallback();
    try {
      kp.send(rec, cb);
    } catch (InterruptException e) {
      Thread.interrupted();
      return e;
    } catch (RuntimeException e) {
      return e;
    }
    cb.returned = true;
    return cb.handOffError;
  }

  /**
   * Counts the outcome of one record. KafkaProducer reports errors that stop it from taking a record (no
   * metadata within max.block.ms, its buffer full, the registry unreachable) through this callback on the
   * sending thread before send() returns: those are the sender's to retry, not failures yet.
   */
  private final class SendCallback implements Callback {
    boolean returned;
    Exception handOffError;

    @Override
    public void onCompletion(RecordMetadata metadata, Exception e) {
      if (e != null && !returned && Thread.currentThread() == sender) {
        handOffError = e;
        return;
      }
      if (e == null) {
        sent.increment();
      } else {
        countFailed(e, null);
      }
    }
  }

  private void countFailed(Throwable e, String reason) {
    failed.increment();
    if (failLog.ready()) {
      LOG.warn("usage events not delivered to topic [{}] ({} failed so far): {}", topic, failed.sum(),
          reason != null ? reason : String.valueOf(e));
    }
  }

  // ---------------------------------------------------------------------------------------------- builder

  /** Settings of a tracker. Only the bootstrap servers and the registry URL are needed. */
  public static final class Builder {
    private String bootstrapServers;
    private String registryUrl;
    private String serviceName;
    private final Map<String, Object> kafka = new HashMap<>();
    private int bufferCapacity = DEFAULT_BUFFER_CAPACITY;
    private OverflowPolicy overflow = OverflowPolicy.DROP_NEWEST;
    private Duration blockTimeout = DEFAULT_BLOCK_TIMEOUT;
    private Duration closeTimeout = DEFAULT_CLOSE_TIMEOUT;
    private Topics topics = Topics.defaults();
    private SerdeFactory serdes;
    private Producer<String, UsageEvent> producer;
    private boolean trackFailedCalls;
    private final Map<String, UsageAdapter> adapters = new HashMap<>();

    private Builder() {}

    public Builder bootstrapServers(String servers) {
      this.bootstrapServers = servers;
      return this;
    }

    /** The schema registry: its root, or its Confluent-compatible API ({@code …/apis/ccompat/v7}). */
    public Builder registryUrl(String url) {
      this.registryUrl = url;
      return this;
    }

    /** Written as {@code service} on every event that does not set its own. */
    public Builder serviceName(String name) {
      this.serviceName = name;
      return this;
    }

    /** A Kafka producer setting (SASL, TLS, tuning); overrides this library's defaults. */
    public Builder kafkaProperty(String key, Object value) {
      kafka.put(Objects.requireNonNull(key, "key"), value);
      return this;
    }

    public Builder kafkaProperties(Map<String, ?> properties) {
      properties.forEach(this::kafkaProperty);
      return this;
    }

    /** Events held in memory while Kafka is slower than the service or unreachable (default 10000). */
    public Builder bufferCapacity(int capacity) {
      if (capacity < 1) {
        throw new IllegalArgumentException("bufferCapacity must be at least 1, got " + capacity);
      }
      this.bufferCapacity = capacity;
      return this;
    }

    public Builder overflowPolicy(OverflowPolicy policy) {
      this.overflow = Objects.requireNonNull(policy, "policy");
      return this;
    }

    /** {@link OverflowPolicy#BLOCK} waits at most {@code blockTimeout} for room, then drops. */
    public Builder overflowPolicy(OverflowPolicy policy, Duration blockTimeout) {
      overflowPolicy(policy);
      if (blockTimeout.isNegative()) {
        throw new IllegalArgumentException("blockTimeout must not be negative, got " + blockTimeout);
      }
      this.blockTimeout = blockTimeout;
      return this;
    }

    /** How long {@link UsageTracker#close()} waits to deliver what is buffered (default 10 s). */
    public Builder closeTimeout(Duration timeout) {
      this.closeTimeout = Objects.requireNonNull(timeout, "timeout");
      return this;
    }

    /** Topic names (e.g. with a prefix); default {@link Topics#defaults()}. */
    public Builder topics(Topics topics) {
      this.topics = Objects.requireNonNull(topics, "topics");
      return this;
    }

    /** How values are serialized; default {@link RegistrySerdes} on {@link #registryUrl}. */
    public Builder serdes(SerdeFactory serdes) {
      this.serdes = serdes;
      return this;
    }

    /**
     * A ready producer instead of a KafkaProducer built from these settings: for tests (Kafka's
     * {@code MockProducer}) or a producer the service manages. The tracker closes it on close.
     */
    public Builder producer(Producer<String, UsageEvent> producer) {
      this.producer = producer;
      return this;
    }

    /** Also track calls that threw inside {@code timed}, as zero-token events (default false). */
    public Builder trackFailedCalls(boolean track) {
      this.trackFailedCalls = track;
      return this;
    }

    /** Reads responses of {@code provider} with {@code adapter} instead of the built-in choice. */
    public Builder adapter(String provider, UsageAdapter adapter) {
      adapters.put(provider.toLowerCase(Locale.ROOT), Objects.requireNonNull(adapter, "adapter"));
      return this;
    }

    /**
     * Starts the tracker. Invalid settings fail here; an unreachable Kafka or registry does not (the tracker
     * buffers and retries).
     */
    public UsageTracker build() {
      if (producer != null) {
        Producer<String, UsageEvent> p = producer;
        return new UsageTracker(this, () -> p, deliveryTimeoutMs(kafka));
      }
      if (bootstrapServers == null || bootstrapServers.isBlank()) {
        throw new IllegalArgumentException("bootstrapServers is required (KAFKA_BOOTSTRAP)");
      }
      SerdeFactory s = serdes;
      if (s == null) {
        if (registryUrl == null || registryUrl.isBlank()) {
          throw new IllegalArgumentException("registryUrl is required (SCHEMA_REGISTRY_URL)");
        }
        s = new RegistrySerdes(registryUrl);
      }
      Map<String, Object> config = producerConfig();
      Map<String, Object> check = new HashMap<>(config);
      check.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
      check.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
      ProducerConfig.configDef().parse(check);
      Serializer<UsageEvent> values = s.value(UsageEvent.class).serializer();
      return new UsageTracker(this, () -> new KafkaProducer<>(config, new StringSerializer(), values),
          deliveryTimeoutMs(config));
    }

    Map<String, Object> producerConfig() {
      Map<String, Object> c = new HashMap<>();
      c.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
      c.put(ProducerConfig.ACKS_CONFIG, "all");
      c.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
      c.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
      c.put(ProducerConfig.LINGER_MS_CONFIG, 10);
      c.put(ProducerConfig.BATCH_SIZE_CONFIG, 64 * 1024);
      // The sender thread, not a caller, waits on Kafka; a short wait keeps close() and retries prompt.
      c.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 1_000);
      c.put(ProducerConfig.CLIENT_ID_CONFIG, "tokenledger-tracker-"
          + (serviceName == null ? "" : serviceName + "-") + (INSTANCES.get() + 1));
      c.putAll(kafka);
      return c;
    }

    private static long deliveryTimeoutMs(Map<String, Object> config) {
      Object v = config.get(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG);
      if (v == null) {
        return 120_000;
      }
      return v instanceof Number n ? n.longValue() : Long.parseLong(v.toString().trim());
    }
  }
}
