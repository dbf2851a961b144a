package io.tokenledger.producer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.tokenledger.avro.UsageEvent;
import io.tokenledger.schemas.Topics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.NetworkException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.Serializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** What the tracker does when Kafka is down, slow or failing: the caller never notices. */
class UsageTrackerFailureTest {

  private final List<UsageTracker> trackers = new ArrayList<>();

  private UsageTracker tracker(UsageTracker.Builder b, org.apache.kafka.clients.producer.Producer<String, UsageEvent> p) {
    UsageTracker t = b.producer(p).serviceName("svc").topics(Topics.withPrefix("f.")).build();
    trackers.add(t);
    return t;
  }

  @AfterEach
  void closeAll() {
    trackers.forEach(t -> t.close(Duration.ofSeconds(2)));
  }

  private static Usage call(int seq) {
    return Usage.builder().orgId("acme").provider("openai").model("gpt-4o").inputTokens(seq).build();
  }

  private static long timeNanos(Runnable r) {
    long t0 = System.nanoTime();
    r.run();
    return System.nanoTime() - t0;
  }

  @Test
  void shouldHoldEventsWhileKafkaIsDownAtStartAndDeliverThemInOrderWhenItComesBack() {
    TestProducers.Counting kafka = new TestProducers.Counting(true);
    // What KafkaProducer reports when it cannot get the topic's metadata within max.block.ms.
    kafka.sendException = new TimeoutException("Topic f.usage.events not present in metadata after 1000 ms.");
    UsageTracker tracker = tracker(UsageTracker.builder(), kafka);

    for (int i = 0; i < 5; i++) {
      int seq = i;
      assertThat(timeNanos(() -> assertThat(tracker.track(call(seq))).isTrue()))
          .isLessThan(TimeUnit.MILLISECONDS.toNanos(50));
    }
    await().until(() -> kafka.attempts.get() >= 3);
    assertThat(tracker.stats()).isEqualTo(new TrackerStats(5, 0, 0, 0));
    assertThat(tracker.flush(Duration.ofMillis(200))).isFalse();

    kafka.sendException = null;

    await().untilAsserted(() -> assertThat(tracker.stats()).isEqualTo(new TrackerStats(5, 5, 0, 0)));
    assertThat(kafka.history()).extracting(r -> r.value().getInputTokens()).containsExactly(0L, 1L, 2L, 3L, 4L);
    assertThat(tracker.flush(Duration.ofSeconds(5))).isTrue();
  }

  @Test
  void shouldCountEventsKafkaGivesUpOnAfterTakingThemAsFailed() {
    TestProducers.Counting kafka = new TestProducers.Counting(false);
    UsageTracker tracker = tracker(UsageTracker.builder(), kafka);
    for (int i = 0; i < 3; i++) {
      tracker.track(call(i));
    }
    await().until(() -> kafka.history().size() == 3);

    // the broker acknowledges the first, then is lost: the client expires the rest after delivery.timeout.ms
    kafka.completeNext();
    kafka.errorNext(new TimeoutException("Expiring 2 record(s) for f.usage.events-0: 120003 ms has passed"));
    kafka.errorNext(new NetworkException("Disconnected from node 1"));

    await().untilAsserted(() -> assertThat(tracker.stats()).isEqualTo(new TrackerStats(3, 1, 2, 0)));
    // the caller keeps going as if nothing happened
    assertThat(timeNanos(() -> assertThat(tracker.track(call(3))).isTrue()))
        .isLessThan(TimeUnit.MILLISECONDS.toNanos(50));
  }

  @Test
  void shouldCountAnEventThatCannotBeSerializedAsFailedAndGoOn() {
    Serializer<UsageEvent> avro = TestProducers.avro();
    Serializer<UsageEvent> refusing = (topic, e) -> {
      if (e.getInputTokens() == 1) {
        throw new SerializationException("schema registry refused the schema: HTTP 409 incompatible");
      }
      return avro.serialize(topic, e);
    };
    TestProducers.Counting kafka = new TestProducers.Counting(true, refusing);
    UsageTracker tracker = tracker(UsageTracker.builder(), kafka);

    for (int i = 0; i < 3; i++) {
      tracker.track(call(i));
    }

    await().untilAsserted(() -> assertThat(tracker.stats()).isEqualTo(new TrackerStats(3, 2, 1, 0)));
  }

  @Test
  void shouldDropTheNewestEventsAndCountThemWhenTheBufferIsFull() throws Exception {
    TestProducers.Blocking kafka = new TestProducers.Blocking();
    UsageTracker tracker = tracker(UsageTracker.builder().bufferCapacity(4), kafka);
    tracker.track(call(0));
    assertThat(kafka.entered.await(10, TimeUnit.SECONDS)).isTrue();

    for (int i = 1; i <= 4; i++) {
      assertThat(tracker.track(call(i))).isTrue();
    }
    for (int i = 5; i <= 7; i++) {
      int seq = i;
      assertThat(timeNanos(() -> assertThat(tracker.track(call(seq))).isFalse()))
          .isLessThan(TimeUnit.MILLISECONDS.toNanos(50));
    }
    assertThat(tracker.stats()).isEqualTo(new TrackerStats(5, 0, 0, 3));

    kafka.release.countDown();

    await().untilAsserted(() -> assertThat(tracker.stats()).isEqualTo(new TrackerStats(5, 5, 0, 3)));
    assertThat(kafka.history()).extracting(r -> r.value().getInputTokens()).containsExactly(0L, 1L, 2L, 3L, 4L);
  }

  @Test
  void shouldWaitForRoomUpToTheBlockTimeoutThenDrop() throws Exception {
    TestProducers.Blocking kafka = new TestProducers.Blocking();
    UsageTracker tracker = tracker(UsageTracker.builder().bufferCapacity(2)
        .overflowPolicy(OverflowPolicy.BLOCK, Duration.ofMillis(300)), kafka);
    tracker.track(call(0));
    assertThat(kafka.entered.await(10, TimeUnit.SECONDS)).isTrue();
    tracker.track(call(1));
    tracker.track(call(2));

    long waited = timeNanos(() -> assertThat(tracker.track(call(3))).isFalse());

    assertThat(waited).isBetween(TimeUnit.MILLISECONDS.toNanos(250), TimeUnit.SECONDS.toNanos(5));
    assertThat(tracker.stats().dropped()).isEqualTo(1);
    kafka.release.countDown();
  }

  @Test
  void shouldAcceptAWaitingEventOnceRoomFreesUnderBlockPolicy() throws Exception {
    TestProducers.Blocking kafka = new TestProducers.Blocking();
    UsageTracker tracker = tracker(UsageTracker.builder().bufferCapacity(1)
        .overflowPolicy(OverflowPolicy.BLOCK, Duration.ofSeconds(30)), kafka);
    tracker.track(call(0));
    assertThat(kafka.entered.await(10, TimeUnit.SECONDS)).isTrue();
    tracker.track(call(1));

    CompletableFuture<Boolean> waiting = CompletableFuture.supplyAsync(() -> tracker.track(call(2)));
    assertThat(waiting).isNotDone();
    kafka.release.countDown();

    assertThat(waiting.get(10, TimeUnit.SECONDS)).isTrue();
    await().untilAsserted(() -> assertThat(tracker.stats()).isEqualTo(new TrackerStats(3, 3, 0, 0)));
  }

  @Test
  void shouldDeliverEverythingBufferedOnClose() {
    TestProducers.Counting kafka = new TestProducers.Counting(true);
    UsageTracker tracker = tracker(UsageTracker.builder().bufferCapacity(5_000), kafka);
    for (int i = 0; i < 5_000; i++) {
      tracker.track(call(i));
    }

    TrackerStats stats = tracker.close(Duration.ofSeconds(10));

    assertThat(stats).isEqualTo(new TrackerStats(5_000, 5_000, 0, 0));
    assertThat(kafka.history()).hasSize(5_000);
    assertThat(kafka.closed()).isTrue();
  }

  @Test
  void shouldReturnFromCloseWithinTheTimeoutWhenKafkaNeverTakesTheEvents() {
    TestProducers.Blocking kafka = new TestProducers.Blocking();
    UsageTracker tracker = tracker(UsageTracker.builder(), kafka);
    for (int i = 0; i < 10; i++) {
      tracker.track(call(i));
    }

    long took = timeNanos(() -> tracker.close(Duration.ofSeconds(1)));

    assertThat(took).isLessThan(TimeUnit.SECONDS.toNanos(1));
    await().untilAsserted(() -> assertThat(tracker.stats()).isEqualTo(new TrackerStats(10, 0, 10, 0)));
  }

  @Test
  void shouldCountEventsStillHeldAtCloseAsFailed() {
    TestProducers.Counting kafka = new TestProducers.Counting(true);
    kafka.sendException = new TimeoutException("Topic f.usage.events not present in metadata after 1000 ms.");
    UsageTracker tracker = tracker(UsageTracker.builder(), kafka);
    for (int i = 0; i < 10; i++) {
      tracker.track(call(i));
    }
    await().until(() -> kafka.attempts.get() >= 1);

    long took = timeNanos(() -> assertThat(tracker.close(Duration.ofMillis(800)).failed()).isEqualTo(10));

    assertThat(took).isLessThan(TimeUnit.MILLISECONDS.toNanos(800));
    assertThat(kafka.history()).isEmpty();
  }

  @Test
  void shouldNotRecordAnythingForACallersThreadWhenTheSenderIsBusy() {
    TestProducers.Blocking kafka = new TestProducers.Blocking();
    UsageTracker tracker = tracker(UsageTracker.builder().bufferCapacity(100_000), kafka);

    long took = timeNanos(() -> {
      for (int i = 0; i < 50_000; i++) {
        tracker.track(call(i));
      }
    });

    // 50k events while Kafka takes none: the caller only pays the buffer offer
    assertThat(took).isLessThan(TimeUnit.SECONDS.toNanos(2));
    assertThat(tracker.stats().tracked()).isEqualTo(50_000);
    kafka.release.countDown();
    assertThat(tracker.flush(Duration.ofSeconds(30))).isTrue();
    assertThat(kafka.history()).extracting(ProducerRecord::key).containsOnly("acme");
  }
}
