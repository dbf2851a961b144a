package io.tokenledger.producer;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A real Kafka client pointed at an address where nothing listens. */
class UsageTrackerDeadBrokerTest {

  private static int deadPort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  @Test
  void shouldReturnFromTrackAtOnceAndFromCloseWithinTheTimeoutWhenNoBrokerAnswers() throws IOException {
    int port = deadPort();
    UsageTracker tracker = UsageTracker.builder().bootstrapServers("127.0.0.1:" + port)
        .registryUrl("http://127.0.0.1:" + deadPort()).serviceName("dead-broker-test").build();

    long slowest = 0;
    for (int i = 0; i < 1_000; i++) {
      long t0 = System.nanoTime();
      tracker.track(Usage.builder().orgId("acme").provider("openai").model("gpt-4o").inputTokens(i));
      slowest = Math.max(slowest, System.nanoTime() - t0);
    }
    assertThat(slowest).isLessThan(TimeUnit.MILLISECONDS.toNanos(100));

    Duration timeout = Duration.ofSeconds(3);
    long t0 = System.nanoTime();
    TrackerStats stats = tracker.close(timeout);
    long took = System.nanoTime() - t0;

    assertThat(took).isLessThan(timeout.toNanos());
    assertThat(stats.tracked()).isEqualTo(1_000);
    assertThat(stats.sent()).isZero();
    assertThat(stats.failed()).isEqualTo(1_000);
  }

  @Test
  void shouldStartAndStayHarmlessWhileTheBrokersNameDoesNotResolve() {
    UsageTracker tracker = UsageTracker.builder().bootstrapServers("kafka.tokenledger.invalid:9092")
        .registryUrl("http://registry.tokenledger.invalid:8081").build();

    assertThat(tracker.track(Usage.builder().orgId("acme").provider("openai").model("gpt-4o").inputTokens(1)))
        .isTrue();

    Duration timeout = Duration.ofSeconds(1);
    long t0 = System.nanoTime();
    TrackerStats stats = tracker.close(timeout);
    assertThat(System.nanoTime() - t0).isLessThan(timeout.toNanos());
    assertThat(stats).isEqualTo(new TrackerStats(1, 0, 1, 0));
  }
}
