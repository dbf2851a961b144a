package io.tokenledger.processor;

import io.tokenledger.infra.Infra;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Properties;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.processor.TaskId;
import org.apache.kafka.streams.processor.api.MockProcessorContext;
import org.apache.kafka.streams.state.WindowStore;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The dedupe index's work for one new event, as {@link DedupeProcessor} does it: the "seen?" lookup over the
 * retention either side, then the write. The store is the processor's own (RocksDB, no changelog), filled as the
 * benchmark runs, 50 ids per millisecond of record time; with {@code history}, 2,000,000 ids spread over the
 * 48 h retention go in first, as on a processor that has run for two days (three live segments to look in,
 * where a store filled by the benchmark alone has one). Ids are time-ordered (UUID version 7, what
 * producer-lib makes) or random (version 4): RocksDB keeps keys sorted, and ids that sort by time land
 * next to each other.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 5, time = 3)
@Fork(1)
public class DedupeIndexBenchmark {

  private static final Duration RETENTION = Duration.ofHours(48);
  private static final int IDS_PER_MS = 50;

  @Param({"time-ordered", "random"})
  public String ids;

  @Param({"false", "true"})
  public boolean history;

  private static final int HISTORY_IDS = 2_000_000;

  private Path dir;
  private WindowStore<String, Long> index;
  private final Random random = new Random(7);
  private long ms = 1_800_000_000_000L;
  private int inMs;

  @Setup(Level.Trial)
  public void open() throws Exception {
    dir = Files.createTempDirectory("dedupe-index-bench");
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, "dedupe-index-bench");
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    p.put(StreamsConfig.STATE_DIR_CONFIG, dir.toString());
    MockProcessorContext<Object, Object> context = new MockProcessorContext<>(p, new TaskId(0, 0), dir.toFile());
    index = DedupeProcessor.indexStore(RETENTION).build();
    index.init(context.getStateStoreContext(), index);
    if (history) {
      long now = ms;
      for (int i = 0; i < HISTORY_IDS; i++) {
        ms = now - RETENTION.toMillis() + i * RETENTION.toMillis() / HISTORY_IDS;
        index.put(nextId(), ms, ms);
      }
      ms = now;
    }
  }

  @TearDown(Level.Trial)
  public void close() {
    index.close();
    Infra.deleteTree(dir);
  }

  @Benchmark
  public boolean lookUpAndRemember() {
    if (++inMs == IDS_PER_MS) {
      inMs = 0;
      ms++;
    }
    String id = nextId();
    boolean seen = DedupeProcessor.seen(index, id, ms, RETENTION.toMillis());
    index.put(id, ms, ms);
    return seen;
  }

  private String nextId() {
    long rand = random.nextLong();
    if (ids.equals("random")) {
      return new UUID((rand & ~0xf000L) | 0x4000L, (random.nextLong() & 0x3fffffffffffffffL) | 0x8000000000000000L).toString();
    }
    // RFC 9562 version 7: 48 bits of Unix milliseconds, the version, then random bits
    return new UUID((ms << 16) | 0x7000L | (rand & 0xfffL), (random.nextLong() & 0x3fffffffffffffffL) | 0x8000000000000000L)
        .toString();
  }
}
