package io.tokenledger.producer;

import static io.tokenledger.producer.adapters.Responses.body;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.tokenledger.avro.UsageEvent;
import io.tokenledger.schemas.Topics;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class UsageTrackerTest {

  private TestProducers.Counting kafka = new TestProducers.Counting(true);
  private UsageTracker tracker = tracker(UsageTracker.builder());

  private UsageTracker tracker(UsageTracker.Builder b) {
    return b.producer(kafka).serviceName("quiz-api").topics(Topics.withPrefix("test.")).build();
  }

  @AfterEach
  void close() {
    tracker.close(Duration.ofSeconds(5));
  }

  private List<UsageEvent> sentEvents() {
    assertThat(tracker.flush(Duration.ofSeconds(10))).isTrue();
    return kafka.history().stream().map(ProducerRecord::value).toList();
  }

  @Test
  void shouldSendEachEventToUsageEventsKeyedByOrgWithIdTimeAndServiceFilledIn() {
    long before = System.currentTimeMillis();

    boolean accepted = tracker.track(Usage.builder().orgId("acme").userId("u-1").provider("openai")
        .model("gpt-4o").inputTokens(100).cachedInputTokens(20).outputTokens(50).reasoningTokens(5)
        .endpoint("/api/quiz").requestType("quiz-generation").metadata("feature", "quiz").latencyMs(812));

    assertThat(accepted).isTrue();
    List<UsageEvent> events = sentEvents();
    assertThat(kafka.history()).singleElement().satisfies(r -> {
      assertThat(r.topic()).isEqualTo("test.usage.events");
      assertThat(r.key()).isEqualTo("acme");
    });
    UsageEvent e = events.get(0);
    assertThat(UUID.fromString(e.getEventId()).version()).isEqualTo(7);
    assertThat(e.getEventTime().toEpochMilli()).isBetween(before, System.currentTimeMillis());
    assertThat(e.getService()).isEqualTo("quiz-api");
    assertThat(e.getOrgId()).isEqualTo("acme");
    assertThat(e.getUserId()).isEqualTo("u-1");
    assertThat(e.getInputTokens()).isEqualTo(100);
    assertThat(e.getCachedInputTokens()).isEqualTo(20);
    assertThat(e.getOutputTokens()).isEqualTo(50);
    assertThat(e.getReasoningTokens()).isEqualTo(5);
    assertThat(e.getLatencyMs()).isEqualTo(812);
    assertThat(e.getEndpoint()).isEqualTo("/api/quiz");
    assertThat(e.getRequestType()).isEqualTo("quiz-generation");
    assertThat(e.getMetadata()).containsEntry("feature", "quiz");
    assertThat(tracker.stats()).isEqualTo(new TrackerStats(1, 1, 0, 0));
  }

  @Test
  void shouldKeepTheCallersEventIdAndEventTime() {
    Instant t = Instant.parse("2025-03-01T10:15:30Z");

    tracker.track(Usage.builder().eventId("retry-safe-id-1").eventTime(t).orgId("acme").provider("anthropic")
        .model("claude-sonnet-4-5").inputTokens(1));

    UsageEvent e = sentEvents().get(0);
    assertThat(e.getEventId()).isEqualTo("retry-safe-id-1");
    assertThat(e.getEventTime()).isEqualTo(t);
  }

  @Test
  void shouldTrackAvroEventsAndBuildersAsGiven() {
    tracker.track(UsageEvent.newBuilder().setOrgId("acme").setProvider("google").setModel("gemini-2.5-flash")
        .setInputTokens(7).setBatch(true));
    tracker.track(UsageEvent.newBuilder().setEventId("e-2").setEventTime(Instant.ofEpochMilli(1000)).setOrgId("beta")
        .setProvider("xai").setModel("grok-4").setOutputTokens(3).setService("other-service").build());

    List<UsageEvent> events = sentEvents();
    assertThat(events.get(0).getBatch()).isTrue();
    assertThat(events.get(0).getInputTokens()).isEqualTo(7);
    assertThat(events.get(0).getEventId()).isNotBlank();
    assertThat(events.get(1).getEventId()).isEqualTo("e-2");
    assertThat(events.get(1).getService()).isEqualTo("other-service");
  }

  @Test
  void shouldClampNegativeCountsToZeroAndFlagTheEvent() {
    tracker.track(Usage.builder().orgId("acme").provider("openai").model("gpt-4o").inputTokens(-3).outputTokens(9));

    UsageEvent e = sentEvents().get(0);
    assertThat(e.getInputTokens()).isZero();
    assertThat(e.getOutputTokens()).isEqualTo(9);
    assertThat(e.getMetadata()).containsEntry("usage_status", "partial");
    assertThat(e.getMetadata().get("usage_notes")).contains("input_tokens is negative (-3)");
  }

  @Test
  void shouldSendMissingIdentityAsEmptyStringsForThePipelineToDeadLetter() {
    tracker.track(Usage.builder().inputTokens(5));

    UsageEvent e = sentEvents().get(0);
    assertThat(e.getOrgId()).isEmpty();
    assertThat(e.getProvider()).isEmpty();
    assertThat(e.getModel()).isEmpty();
  }

  @Test
  void shouldTrackAResponseWithItsProvidersAdapterAndTheReportedModel() {
    tracker.trackResponse("openai", "gpt-4o", "acme", "u-9", body("openai-chat-completion.json"),
        CallContext.none().endpoint("/api/chat").latency(Duration.ofMillis(640)).metadata("tenant", "eu"));

    UsageEvent e = sentEvents().get(0);
    assertThat(e.getModel()).isEqualTo("gpt-4o-2024-08-06");
    assertThat(e.getInputTokens()).isEqualTo(86);
    assertThat(e.getCachedInputTokens()).isEqualTo(1920);
    assertThat(e.getOutputTokens()).isEqualTo(300);
    assertThat(e.getLatencyMs()).isEqualTo(640);
    assertThat(e.getEndpoint()).isEqualTo("/api/chat");
    assertThat(e.getMetadata()).containsEntry("tenant", "eu").containsEntry("requested_model", "gpt-4o")
        .containsEntry("usage_adapter", "openai.chat").doesNotContainKey("usage_status");
  }

  @Test
  void shouldTrackAResponseWithoutUsageFlaggedAsMissing() {
    tracker.trackResponse(Usage.builder().orgId("acme").provider("anthropic").model("claude-opus-4-1"),
        body("anthropic-error.json"));

    UsageEvent e = sentEvents().get(0);
    assertThat(e.getModel()).isEqualTo("claude-opus-4-1");
    assertThat(e.getInputTokens() + e.getOutputTokens()).isZero();
    assertThat(e.getMetadata()).containsEntry("usage_status", "missing");
  }

  @Test
  void shouldReturnTheCallsResultAndTrackItsUsageWithLatency() throws Exception {
    String result = tracker.timed("acme", "u-1", "openai", "gpt-4o", () -> "answer",
        (r, usage) -> usage.inputTokens(r.length()).outputTokens(2));

    assertThat(result).isEqualTo("answer");
    UsageEvent e = sentEvents().get(0);
    assertThat(e.getInputTokens()).isEqualTo(6);
    assertThat(e.getOutputTokens()).isEqualTo(2);
    assertThat(e.getLatencyMs()).isNotNull().isGreaterThanOrEqualTo(0);
  }

  @Test
  void shouldTimeARawResponseThroughTheAdapter() {
    String raw = tracker.timedResponse(Usage.builder().orgId("acme").provider("google"),
        () -> body("gemini-generate-content.json"), r -> r);

    assertThat(raw).contains("usageMetadata");
    UsageEvent e = sentEvents().get(0);
    assertThat(e.getModel()).isEqualTo("gemini-2.5-flash");
    assertThat(e.getReasoningTokens()).isEqualTo(1007);
  }

  @Test
  void shouldRethrowTheCallsExceptionUnchangedAndTrackNothingByDefault() {
    IOException boom = new IOException("connection reset");

    assertThatThrownBy(() -> tracker.timed("acme", "u-1", "openai", "gpt-4o", () -> {
      throw boom;
    }, (r, u) -> { })).isSameAs(boom);

    assertThat(tracker.flush(Duration.ofSeconds(5))).isTrue();
    assertThat(kafka.history()).isEmpty();
    assertThat(tracker.stats().tracked()).isZero();
  }

  @Test
  void shouldTrackAFailedCallAsAZeroTokenEventWhenAskedTo() {
    tracker.close();
    kafka = new TestProducers.Counting(true);
    tracker = tracker(UsageTracker.builder().trackFailedCalls(true));
    IllegalStateException boom = new IllegalStateException("HTTP 500");

    assertThatThrownBy(() -> tracker.timed("acme", "u-1", "openai", "gpt-4o", () -> {
      throw boom;
    }, (r, u) -> { })).isSameAs(boom);

    UsageEvent e = sentEvents().get(0);
    assertThat(e.getInputTokens() + e.getOutputTokens()).isZero();
    assertThat(e.getMetadata()).containsEntry("call_status", "failed")
        .containsEntry("call_error", IllegalStateException.class.getName());
  }

  @Test
  void shouldStillReturnTheResultAndTrackTheCallWhenTheExtractorThrows() {
    Integer r = tracker.timed(Usage.builder().orgId("acme").provider("openai").model("gpt-4o"), () -> 42,
        (x, u) -> {
          throw new IllegalArgumentException("unexpected SDK shape");
        });

    assertThat(r).isEqualTo(42);
    UsageEvent e = sentEvents().get(0);
    assertThat(e.getMetadata()).containsEntry("usage_status", "extract_failed");
    assertThat(e.getLatencyMs()).isNotNull();
  }

  @Test
  void shouldNeverThrowFromTrackWhateverItIsGiven() {
    assertThat(tracker.track((Usage) null)).isFalse();
    assertThat(tracker.track((UsageEvent) null)).isFalse();
    assertThat(tracker.track((Usage.Builder) null)).isFalse();
    assertThat(tracker.trackResponse((Usage.Builder) null, "{}")).isFalse();
    assertThat(tracker.trackResponse("openai", null, "acme", null, "not json", null)).isTrue();
    assertThat(tracker.stats().dropped()).isEqualTo(4);
  }

  @Test
  void shouldDropAndCountEventsTrackedAfterClose() {
    tracker.close(Duration.ofSeconds(5));

    assertThat(tracker.track(Usage.builder().orgId("acme").provider("openai").model("gpt-4o"))).isFalse();
    assertThat(tracker.stats().dropped()).isEqualTo(1);
    assertThat(kafka.closed()).isTrue();
  }

  @Test
  void shouldKeepTheOrderOfEventsFromOneThread() {
    for (int i = 0; i < 2_000; i++) {
      tracker.track(Usage.builder().orgId("org-" + (i % 3)).provider("openai").model("gpt-4o").inputTokens(i));
    }

    List<UsageEvent> events = sentEvents();
    assertThat(events).extracting(UsageEvent::getInputTokens)
        .containsExactlyElementsOf(java.util.stream.LongStream.range(0, 2_000).boxed().toList());
    await().untilAsserted(() -> assertThat(tracker.stats()).isEqualTo(new TrackerStats(2_000, 2_000, 0, 0)));
  }
}
