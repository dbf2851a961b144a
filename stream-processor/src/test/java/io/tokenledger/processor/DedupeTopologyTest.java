package io.tokenledger.processor;

import static io.tokenledger.processor.Fixtures.event;
import static io.tokenledger.processor.Fixtures.pricing;
import static io.tokenledger.processor.Fixtures.version;
import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.tokenledger.avro.CostedUsage;
import io.tokenledger.avro.ModelPricing;
import io.tokenledger.avro.UsageEvent;
import io.tokenledger.schemas.PlainAvroSerdes;
import io.tokenledger.schemas.SerdeFactory;
import io.tokenledger.schemas.Topics;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.WindowStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Deduplication: how long an id is remembered either side of its first arrival, the log's upgrade from 0.1.0's
 * single changelogged store, and expiry. Restarts, crashes and a move to a new instance need a real broker (the
 * test driver deletes its state when closed): see {@link ProcessorKillIT}.
 */
class DedupeTopologyTest {

  static final Instant NOW = Instant.parse("2026-11-24T12:00:00Z");

  final SerdeFactory serdes = new PlainAvroSerdes();
  final Topics topics = Topics.defaults();
  @TempDir
  Path stateDir;
  TopologyTestDriver driver;
  TestInputTopic<String, byte[]> events;
  TestOutputTopic<String, CostedUsage> costed;

  void start(Duration retention) {
    start(retention, false);
  }

  void start(Duration retention, boolean upgrade) {
    StreamsBuilder builder = new StreamsBuilder();
    TopologySettings defaults = TopologySettings.defaults(topics);
    TopologySettings settings = new TopologySettings(topics, retention, defaults.maxTokensPerClass(),
        defaults.maxFutureSkew(), defaults.quotaGrace(), defaults.statusInterval(), defaults.maxMetadataBytes(),
        upgrade);
    TokenLedgerTopology.build(builder, settings, serdes, new PipelineMetrics(new SimpleMeterRegistry()));
    Properties props = Fixtures.driverProperties("dedupe-test", stateDir);
    driver = new TopologyTestDriver(builder.build(props), props, NOW);
    driver.createInputTopic(topics.pricingModels().name(), new StringSerializer(),
        serdes.value(ModelPricing.class).serializer()).pipeInput("openai/gpt-4o-mini", pricing("openai", "gpt-4o-mini",
        version("openai/gpt-4o-mini@2024-07-18", "2024-07-18T00:00:00Z", "0.15", "0.60").build()));
    events = driver.createInputTopic(topics.usageEvents().name(), new StringSerializer(), new ByteArraySerializer());
    costed = driver.createOutputTopic(topics.usageCosted().name(), new StringDeserializer(),
        serdes.value(CostedUsage.class).deserializer());
  }

  @AfterEach
  void stop() {
    if (driver != null) {
      driver.close();
    }
  }

  void send(String id, Instant arrived) {
    UsageEvent e = event(id, "2026-11-24T11:00:00Z", "openai", "gpt-4o-mini").setInputTokens(100).build();
    events.pipeInput(e.getOrgId(), serdes.value(UsageEvent.class).serializer().serialize("t", e), arrived);
  }

  /** Sends ids {@code from} to {@code to - 1} and returns how many were costed. */
  int sendRange(int from, int to, Instant arrived) {
    for (int i = from; i < to; i++) {
      send("e-" + i, arrived);
    }
    return costed.readValuesToList().size();
  }

  @Test
  void dropsARetryWithinTheRetentionEitherSideOfTheFirstArrival() {
    start(Duration.ofHours(48));
    send("late-retry", NOW);
    send("early-first", NOW.plus(Duration.ofHours(30)));
    send("late-retry", NOW.plus(Duration.ofHours(47))); // arrives 47 h after the first
    send("early-first", NOW.plus(Duration.ofHours(1))); // a record stamped 29 h before the first
    send("other", NOW.plus(Duration.ofHours(47)));
    send("late-retry", NOW.plus(Duration.ofHours(48)).minusSeconds(1));
    assertThat(costed.readValuesToList()).extracting(c -> c.getEvent().getEventId())
        .containsExactly("late-retry", "early-first", "other");
  }

  @Test
  void costsAnIdAgainOnceItsFirstArrivalIsPastTheRetention() {
    start(Duration.ofHours(1));
    send("a", NOW);
    send("b", NOW.plus(Duration.ofMinutes(5)));
    send("a", NOW.plus(Duration.ofMinutes(59)));
    send("b", NOW.plus(Duration.ofMinutes(64))); // 59 min after its first
    send("a", NOW.plus(Duration.ofMinutes(70))); // 70 min after its first: past the hour
    assertThat(costed.readValuesToList()).extracting(c -> c.getEvent().getEventId())
        .containsExactly("a", "b", "a");
  }

  @Test
  void keepsTheIdsOfTheEarlierSingleStoreOnUpgrade() {
    start(Duration.ofHours(48), true);
    WindowStore<String, Long> legacy = driver.getWindowStore(DedupeProcessor.LEGACY);
    long arrived = NOW.minusSeconds(60).toEpochMilli();
    legacy.put("old-1", arrived, arrived);
    legacy.put("old-2", arrived, arrived);

    send("old-1", NOW);
    send("new-1", NOW);
    send("old-2", NOW);
    assertThat(costed.readValuesToList()).extracting(c -> c.getEvent().getEventId()).containsExactly("new-1");
    assertThat(loggedIds()).containsExactlyInAnyOrder("old-1", "old-2", "new-1");
    assertThat(logKeys()).startsWith(DedupeProcessor.MIGRATED);
  }

  @Test
  void copiesALargeEarlierStoreABoundedAmountPerEventAndAsksItMeanwhile() {
    start(Duration.ofHours(48), true);
    WindowStore<String, Long> legacy = driver.getWindowStore(DedupeProcessor.LEGACY);
    long arrived = NOW.minusSeconds(60).toEpochMilli();
    int n = DedupeProcessor.MIGRATED_PER_EVENT + 500;
    for (int i = 0; i < n; i++) {
      legacy.put(String.format("old-%05d", i), arrived, arrived);
    }

    send(String.format("old-%05d", n - 1), NOW); // in the part not yet copied: found in the earlier store
    assertThat(costed.readValuesToList()).isEmpty();
    assertThat(loggedIds()).hasSize(DedupeProcessor.MIGRATED_PER_EVENT);
    assertThat(logKeys()).doesNotContain(DedupeProcessor.MIGRATED);

    send("new-1", NOW);
    assertThat(costed.readValuesToList()).hasSize(1);
    assertThat(loggedIds()).hasSize(n + 1);
    assertThat(logKeys()).startsWith(DedupeProcessor.MIGRATED);
  }

  @Test
  void deletesBatchesPastTheRetentionButNeverTheNewest() {
    start(Duration.ofHours(1));
    assertThat(sendRange(0, 2 * DedupeProcessor.BATCH_IDS + 6, NOW)).isEqualTo(2 * DedupeProcessor.BATCH_IDS + 6);
    // batches 1 and 2 full, 3 with 6 ids; a poison record two hours later moves stream time past them all
    events.pipeInput("org-1", new byte[] {1, 2, 3}, NOW.plus(Duration.ofHours(2)));
    driver.advanceWallClockTime(Duration.ofMinutes(2));
    assertThat(logKeys()).containsExactly(3L);
    assertThat(loggedIds()).hasSize(6).contains("e-" + (2 * DedupeProcessor.BATCH_IDS + 5));
  }

  private List<Long> logKeys() {
    KeyValueStore<Long, byte[]> log = driver.getKeyValueStore(DedupeProcessor.ID_LOG);
    List<Long> keys = new ArrayList<>();
    try (var it = log.all()) {
      it.forEachRemaining(kv -> keys.add(kv.key));
    }
    return keys;
  }

  private List<String> loggedIds() {
    KeyValueStore<Long, byte[]> log = driver.getKeyValueStore(DedupeProcessor.ID_LOG);
    List<String> ids = new ArrayList<>();
    try (var it = log.all()) {
      it.forEachRemaining((KeyValue<Long, byte[]> kv) ->
          DedupeProcessor.IdBatch.forEach(kv.value, (id, ts) -> ids.add(id)));
    }
    return ids;
  }
}
