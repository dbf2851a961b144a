package io.tokenledger.processor;

import static io.tokenledger.processor.Fixtures.event;
import static io.tokenledger.processor.Fixtures.pricing;
import static io.tokenledger.processor.Fixtures.usd;
import static io.tokenledger.processor.Fixtures.version;
import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.tokenledger.avro.Enforcement;
import io.tokenledger.avro.ModelPricing;
import io.tokenledger.avro.QuotaBreach;
import io.tokenledger.avro.QuotaPolicy;
import io.tokenledger.avro.QuotaScope;
import io.tokenledger.avro.QuotaState;
import io.tokenledger.avro.QuotaStatus;
import io.tokenledger.avro.QuotaWindow;
import io.tokenledger.avro.UsageEvent;
import io.tokenledger.schemas.PlainAvroSerdes;
import io.tokenledger.schemas.SerdeFactory;
import io.tokenledger.schemas.Topics;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Quota spend, breaches and status. The model "acme/flat" costs exactly $1 per million input tokens. */
class QuotaTopologyTest {

  static final Instant START = Instant.parse("2026-11-24T12:00:00Z");

  final SerdeFactory serdes = new PlainAvroSerdes();
  final Topics topics = Topics.defaults();
  final AtomicInteger ids = new AtomicInteger();
  SimpleMeterRegistry registry;
  @TempDir
  Path stateDir;
  TopologyTestDriver driver;
  TestInputTopic<String, QuotaPolicy> policies;
  TestInputTopic<String, byte[]> events;
  TestOutputTopic<String, QuotaBreach> breaches;
  TestOutputTopic<String, QuotaStatus> status;

  @BeforeEach
  void start() {
    registry = new SimpleMeterRegistry();
    StreamsBuilder builder = new StreamsBuilder();
    TokenLedgerTopology.build(builder, TopologySettings.defaults(topics), serdes, new PipelineMetrics(registry));
    Properties props = Fixtures.driverProperties("quota-test", stateDir);
    driver = new TopologyTestDriver(builder.build(props), props, START);
    driver.createInputTopic(topics.pricingModels().name(), new StringSerializer(),
        serdes.value(ModelPricing.class).serializer()).pipeInput("acme/flat", pricing("acme", "flat",
            version("acme/flat@2020", "2020-01-01T00:00:00Z", "1", "1").build()));
    policies = driver.createInputTopic(topics.quotaPolicies().name(), new StringSerializer(),
        serdes.value(QuotaPolicy.class).serializer());
    events = driver.createInputTopic(topics.usageEvents().name(), new StringSerializer(), new ByteArraySerializer());
    breaches = driver.createOutputTopic(topics.quotaBreaches().name(), new StringDeserializer(),
        serdes.value(QuotaBreach.class).deserializer());
    status = driver.createOutputTopic(topics.quotaStatus().name(), new StringDeserializer(),
        serdes.value(QuotaStatus.class).deserializer());
  }

  @AfterEach
  void stop() {
    driver.close();
  }

  static QuotaPolicy.Builder policy(String id, QuotaWindow window, String limit) {
    return QuotaPolicy.newBuilder().setPolicyId(id).setOrgId("org-1").setScope(QuotaScope.ORG).setWindow(window)
        .setLimitUsd(usd(limit)).setThresholdsPercent(List.of(50, 80, 100)).setEnforcement(Enforcement.HARD)
        .setUpdatedAt(START);
  }

  /** Spends {@code dollars} at {@code time}, as org-1 / user-1. */
  void spend(String time, long dollars) {
    spend(time, dollars, "user-1");
  }

  void spend(String time, long dollars, String user) {
    send(event("e" + ids.incrementAndGet(), time, "acme", "flat").setUserId(user).setInputTokens(dollars * 1_000_000)
        .build(), Instant.parse(time));
  }

  void send(UsageEvent e, Instant recordTime) {
    events.pipeInput(e.getOrgId(), serdes.value(UsageEvent.class).serializer().serialize("t", e), recordTime);
  }

  @Test
  void shouldEmitOneBreachPerThresholdPerWindowUnderManyEvents() {
    policies.pipeInput("daily", policy("daily", QuotaWindow.DAY, "100").build());
    for (int i = 0; i < 150; i++) {
      spend("2026-11-24T10:00:00Z", 1);
    }

    List<QuotaBreach> out = breaches.readValuesToList();
    assertThat(out).extracting(QuotaBreach::getThresholdPercent).containsExactly(50, 80, 100);
    assertThat(out).extracting(b -> b.getSpendUsd().stripTrailingZeros().toPlainString())
        .containsExactly("50", "80", "100");
    assertThat(out.get(2).getBreachId()).isEqualTo("daily/2026-11-24T00:00:00Z/100");
    assertThat(out.get(0).getEventId()).isEqualTo("e50");
    assertThat(out.get(0).getWindowEnd()).isEqualTo(Instant.parse("2026-11-25T00:00:00Z"));
  }

  @Test
  void shouldStartEachUtcDayAndMonthFresh() {
    policies.pipeInput("daily", policy("daily", QuotaWindow.DAY, "10").setThresholdsPercent(List.of(100)).build());
    policies.pipeInput("monthly", policy("monthly", QuotaWindow.MONTH, "25").setThresholdsPercent(List.of(100)).build());
    spend("2026-10-31T23:59:59.999Z", 10); // daily breach on Oct 31
    spend("2026-11-01T00:00:00Z", 10);     // a new day and a new month: daily breach again
    spend("2026-11-01T12:00:00Z", 10);     // same day: nothing new for daily
    spend("2026-11-02T00:00:00Z", 5);      // month total 25: monthly breach

    List<QuotaBreach> out = breaches.readValuesToList();
    assertThat(out).extracting(b -> b.getPolicyId() + "@" + b.getWindowStart()).containsExactly(
        "daily@2026-10-31T00:00:00Z", "daily@2026-11-01T00:00:00Z", "monthly@2026-11-01T00:00:00Z");
  }

  @Test
  void shouldNotCountADuplicateEventTwice() {
    policies.pipeInput("daily", policy("daily", QuotaWindow.DAY, "10").setThresholdsPercent(List.of(100)).build());
    UsageEvent e = event("same", "2026-11-24T10:00:00Z", "acme", "flat").setInputTokens(6_000_000).build();
    send(e, START);
    send(e, START);

    assertThat(breaches.isEmpty()).isTrue();
    assertThat(latestStatus("daily").getSpendUsd()).isEqualByComparingTo("6");
  }

  @Test
  void shouldCountLateEventsWithinGraceAndOnlyMeterLaterOnes() {
    policies.pipeInput("daily", policy("daily", QuotaWindow.DAY, "10").setThresholdsPercent(List.of(100)).build());
    spend("2026-11-24T10:00:00Z", 8);
    // stream time moves to 00:30 on the 25th; Nov 24 ended 30 minutes ago, inside the 1 h grace
    driver.advanceWallClockTime(Duration.ofHours(15));
    spend("2026-11-25T00:30:00Z", 1);
    spend("2026-11-24T23:00:00Z", 2);
    assertThat(breaches.readValuesToList()).extracting(b -> b.getWindowStart().toString())
        .containsExactly("2026-11-24T00:00:00Z");
    // stream time moves past the grace: a further Nov 24 event is costed, counted as late, never re-alerts
    spend("2026-11-25T02:00:00Z", 1);
    spend("2026-11-24T23:30:00Z", 50);
    assertThat(breaches.isEmpty()).isTrue();
    assertThat(registry.get("tokenledger.quota.late.events").counter().count()).isEqualTo(1.0);
    assertThat(registry.get("tokenledger.events.costed").counter().count()).isEqualTo(5.0);
  }

  @Test
  void shouldReArmWhenTheLimitIsRaisedAndAlertAtOnceWhenLowered() {
    policies.pipeInput("daily", policy("daily", QuotaWindow.DAY, "10").build());
    spend("2026-11-24T10:00:00Z", 9);
    assertThat(breaches.readValuesToList()).extracting(QuotaBreach::getThresholdPercent).containsExactly(50, 80);

    // raised to 100: spend 9 is under 50 % again, so 50 and 80 are re-armed
    policies.pipeInput("daily", policy("daily", QuotaWindow.DAY, "100").build());
    driver.advanceWallClockTime(Duration.ofSeconds(1));
    assertThat(breaches.isEmpty()).isTrue();
    assertThat(latestStatus("daily").getState()).isEqualTo(QuotaState.OK);
    spend("2026-11-24T10:05:00Z", 41);
    assertThat(breaches.readValuesToList()).extracting(QuotaBreach::getThresholdPercent).containsExactly(50);

    // lowered to 40: spend 50 is over every threshold; alerts fire without waiting for another event
    policies.pipeInput("daily", policy("daily", QuotaWindow.DAY, "40").build());
    driver.advanceWallClockTime(Duration.ofSeconds(1));
    List<QuotaBreach> lowered = breaches.readValuesToList();
    assertThat(lowered).extracting(QuotaBreach::getThresholdPercent).containsExactly(80, 100);
    assertThat(lowered.get(0).getEventId()).isNull();
    QuotaStatus s = latestStatus("daily");
    assertThat(s.getState()).isEqualTo(QuotaState.EXCEEDED);
    assertThat(s.getRemainingUsd()).isEqualByComparingTo("-10");
  }

  @Test
  void shouldDropTheStatusOfADeletedPolicy() {
    policies.pipeInput("daily", policy("daily", QuotaWindow.DAY, "10").build());
    spend("2026-11-24T10:00:00Z", 1);
    status.readKeyValuesToList();
    policies.pipeInput("daily", (QuotaPolicy) null);
    driver.advanceWallClockTime(Duration.ofSeconds(1));
    spend("2026-11-24T10:01:00Z", 100);

    List<KeyValue<String, QuotaStatus>> out = status.readKeyValuesToList();
    assertThat(out).containsExactly(KeyValue.pair("daily", null));
    assertThat(breaches.isEmpty()).isTrue();
  }

  @Test
  void shouldTrackEachScopedPolicyOnItsOwn() {
    policies.pipeInput("org", policy("org", QuotaWindow.MONTH, "100").setThresholdsPercent(List.of(100)).build());
    policies.pipeInput("alice", policy("alice", QuotaWindow.DAY, "5").setScope(QuotaScope.USER).setScopeValue("alice")
        .setThresholdsPercent(List.of(100)).build());
    policies.pipeInput("flat-model", policy("flat-model", QuotaWindow.MONTH, "8").setScope(QuotaScope.MODEL)
        .setScopeValue("acme/flat").setThresholdsPercent(List.of(100)).build());
    spend("2026-11-24T10:00:00Z", 4, "bob");
    spend("2026-11-24T10:00:00Z", 4, "alice");

    assertThat(breaches.readValuesToList()).extracting(QuotaBreach::getPolicyId).containsExactly("flat-model");
    spend("2026-11-24T11:00:00Z", 1, "alice");
    assertThat(breaches.readValuesToList()).extracting(QuotaBreach::getPolicyId).containsExactly("alice");
    assertThat(latestStatus("org").getSpendUsd()).isEqualByComparingTo("9");
  }

  @Test
  void shouldWriteStatusAtMostOncePerIntervalButNeverDelayACrossing() {
    policies.pipeInput("daily", policy("daily", QuotaWindow.DAY, "100").setThresholdsPercent(List.of(100)).build());
    for (int i = 0; i < 50; i++) {
      spend("2026-11-24T10:00:00Z", 1);
    }
    List<QuotaStatus> first = status.readValuesToList();
    assertThat(first).as(first.toString()).hasSize(1); // the first; the rest wait for the interval
    driver.advanceWallClockTime(Duration.ofMillis(300));
    List<QuotaStatus> flushed = status.readValuesToList();
    assertThat(flushed).hasSize(1);
    assertThat(flushed.get(0).getSpendUsd()).isEqualByComparingTo("50");
    spend("2026-11-24T10:00:00Z", 50);
    assertThat(breaches.readValuesToList()).hasSize(1);
    assertThat(status.readValuesToList()).extracting(QuotaStatus::getState).containsExactly(QuotaState.EXCEEDED);
  }

  QuotaStatus latestStatus(String policyId) {
    driver.advanceWallClockTime(Duration.ofSeconds(1));
    Map<String, QuotaStatus> latest = status.readKeyValuesToMap();
    assertThat(latest).containsKey(policyId);
    return latest.get(policyId);
  }
}
