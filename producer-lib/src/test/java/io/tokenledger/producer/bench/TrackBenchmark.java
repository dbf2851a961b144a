package io.tokenledger.producer.bench;

import io.tokenledger.producer.TrackerStats;
import io.tokenledger.producer.Usage;
import io.tokenledger.producer.UsageTracker;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * What {@code track} costs the calling thread (distribution: median, p99), with a Kafka client that
 * acknowledges at once so that only the tracker is measured. Target: median under 1 µs.
 *
 * <p>{@code paced*}: about one call per microsecond (the gap is spent outside the measured call), still far
 * more than any service makes model calls, so the sender keeps up and every measured call is accepted.
 * {@code flatOut*}: calls back to back with the default 10000-event buffer; the sender cannot keep up with
 * tens of millions of calls a second, so many are dropped (printed at the end): a dropped call costs the
 * caller about as much as an accepted one, which is the point of the policy.
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 10, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
public class TrackBenchmark {

  /** One tracker per trial, with a client that acknowledges at once. */
  public abstract static class Tracker {
    UsageTracker tracker;
    Usage prebuilt;
    Usage.Builder responseTemplate;
    String openAiBody;
    long i;

    @Setup(Level.Trial)
    public void setUp() {
      tracker = UsageTracker.builder().producer(new NoopProducer()).serviceName("bench").build();
      prebuilt = Usage.builder().orgId("acme").userId("u-42").provider("openai").model("gpt-4o-mini")
          .inputTokens(1200).cachedInputTokens(300).outputTokens(250).build();
      responseTemplate = Usage.builder().orgId("acme").userId("u-42").provider("openai").endpoint("/api/quiz");
      try (InputStream in = TrackBenchmark.class.getResourceAsStream("/responses/openai-chat-completion.json")) {
        openAiBody = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      TrackerStats s = tracker.close(Duration.ofMinutes(1));
      System.out.printf("%n[%s] tracked %,d, dropped %,d (%.2f%% of calls), sent %,d, failed %d%n",
          getClass().getSimpleName(), s.tracked(), s.dropped(),
          100.0 * s.dropped() / Math.max(1, s.tracked() + s.dropped()), s.sent(), s.failed());
    }

    Usage.Builder fluent() {
      return Usage.builder().orgId("acme").userId("u-42").provider("openai").model("gpt-4o-mini")
          .inputTokens(1200 + (i++ & 255)).cachedInputTokens(300).outputTokens(250).endpoint("/api/quiz")
          .requestType("chat").latencyMs(840);
    }
  }

  @State(Scope.Thread)
  public static class Paced extends Tracker {
    /** Not measured: the caller's own work between two model calls. */
    @Setup(Level.Invocation)
    public void gap() {
      Blackhole.consumeCPU(200);
    }
  }

  @State(Scope.Thread)
  public static class FlatOut extends Tracker {}

  /** The usual call: build the usage fluently and track it. */
  @Benchmark
  public boolean pacedFluentUsage(Paced s) {
    return s.tracker.track(s.fluent());
  }

  /** Only the hand-over of an already built usage. */
  @Benchmark
  public boolean pacedPrebuiltUsage(Paced s) {
    return s.tracker.track(s.prebuilt);
  }

  /** A raw OpenAI response read by its adapter on the caller thread (JSON parsing included). */
  @Benchmark
  public boolean pacedRawOpenAiResponse(Paced s) {
    return s.tracker.trackResponse(s.responseTemplate, s.openAiBody);
  }

  /** Back to back, default buffer: mostly the drop path once the buffer is full. */
  @Benchmark
  public boolean flatOutFluentUsage(FlatOut s) {
    return s.tracker.track(s.fluent());
  }
}
