package io.tokenledger.producer.bench;

import io.tokenledger.infra.Infra;
import io.tokenledger.producer.OverflowPolicy;
import io.tokenledger.producer.TrackerStats;
import io.tokenledger.producer.Usage;
import io.tokenledger.producer.UsageTracker;
import io.tokenledger.schemas.TopicAdmin;
import io.tokenledger.schemas.Topics;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Sustained events per second from one thread through a real local Kafka broker and the real schema
 * registry (started here, on loopback): each run tracks {@code -Devents} events as fast as one thread can,
 * then flushes, and reports the rate Kafka acknowledged them at.
 *
 * <ul>
 *   <li>BLOCK: the caller waits for room, so nothing is dropped: the rate is what the pipeline sustains.
 *   <li>DROP_NEWEST (the default policy) with the default 10000-event buffer, calling flat out for 5 s: the
 *       caller never waits; what Kafka cannot keep up with is dropped and counted.
 * </ul>
 */
public final class SustainedThroughput {

  private SustainedThroughput() {}

  public static void main(String[] args) {
    int events = Integer.getInteger("events", 1_000_000);
    try (Infra infra = new Infra(Infra.Mode.LOCAL)) {
      String bootstrap = infra.kafkaBootstrap();
      String registry = infra.registryUrl();
      Topics topics = Topics.withPrefix("bench" + System.currentTimeMillis() + ".");
      TopicAdmin.ensure(Map.of("bootstrap.servers", bootstrap), List.of(topics.usageEvents()), (short) -1);
      System.out.printf("broker %s, registry %s, %d partitions, %d events per run, %d cores%n", bootstrap, registry,
          topics.usageEvents().partitions(), events, Runtime.getRuntime().availableProcessors());

      run("warm-up (BLOCK)", bootstrap, registry, topics, OverflowPolicy.BLOCK, 100_000, 200_000);
      run("BLOCK, buffer 100000", bootstrap, registry, topics, OverflowPolicy.BLOCK, 100_000, events);
      run("DROP_NEWEST, buffer 10000", bootstrap, registry, topics, OverflowPolicy.DROP_NEWEST,
          UsageTracker.DEFAULT_BUFFER_CAPACITY, Integer.MAX_VALUE, Duration.ofSeconds(5).toNanos());
    }
  }

  private static void run(String name, String bootstrap, String registry, Topics topics, OverflowPolicy policy,
      int buffer, int events) {
    run(name, bootstrap, registry, topics, policy, buffer, events, Long.MAX_VALUE);
  }

  /** Tracks up to {@code events} events, or for {@code forNanos}, from this thread; then flushes. */
  private static void run(String name, String bootstrap, String registry, Topics topics, OverflowPolicy policy,
      int buffer, int events, long forNanos) {
    try (UsageTracker tracker = UsageTracker.builder().bootstrapServers(bootstrap).registryUrl(registry)
        .serviceName("bench").topics(topics).bufferCapacity(buffer)
        .overflowPolicy(policy, Duration.ofSeconds(30)).build()) {
      long t0 = System.nanoTime();
      int calls = 0;
      // the clock is read every 1024 calls only
      while (calls < events && ((calls & 1023) != 0 || System.nanoTime() - t0 < forNanos)) {
        int i = calls++;
        tracker.track(Usage.builder().orgId("org-" + (i & 63)).userId("u-" + (i & 1023)).provider("openai")
            .model("gpt-4o-mini").inputTokens(1200).cachedInputTokens(300).outputTokens(250)
            .endpoint("/api/quiz").requestType("chat").latencyMs(840));
      }
      long offered = System.nanoTime() - t0;
      boolean flushed = tracker.flush(Duration.ofMinutes(5));
      long total = System.nanoTime() - t0;
      TrackerStats s = tracker.stats();
      System.out.printf("%-28s track calls %,11.0f/s | acknowledged %,9.0f/s | tracked %,d sent %,d failed %,d "
              + "dropped %,d | %.2f s, flushed %s%n", name, calls / (offered / 1e9), s.sent() / (total / 1e9),
          s.tracked(), s.sent(), s.failed(), s.dropped(), total / 1e9, flushed);
    }
  }
}
