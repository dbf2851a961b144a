package io.tokenledger.processor;

import static io.tokenledger.processor.Fixtures.event;
import static io.tokenledger.processor.Fixtures.pricing;
import static io.tokenledger.processor.Fixtures.tier;
import static io.tokenledger.processor.Fixtures.usd;
import static io.tokenledger.processor.Fixtures.version;
import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.tokenledger.avro.CostedUsage;
import io.tokenledger.avro.DeadLetter;
import io.tokenledger.avro.ModelPricing;
import io.tokenledger.avro.UnpricedUsage;
import io.tokenledger.avro.UsageEvent;
import io.tokenledger.schemas.PlainAvroSerdes;
import io.tokenledger.schemas.SerdeFactory;
import io.tokenledger.schemas.Topics;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PricingTopologyTest {

  static final Instant NOW = Instant.parse("2026-11-24T12:00:00Z");

  final SerdeFactory serdes = new PlainAvroSerdes();
  final Topics topics = Topics.defaults();
  SimpleMeterRegistry registry;
  @TempDir
  Path stateDir;
  TopologyTestDriver driver;
  TestInputTopic<String, ModelPricing> prices;
  TestInputTopic<String, byte[]> events;
  TestOutputTopic<String, CostedUsage> costed;
  TestOutputTopic<String, UnpricedUsage> unpriced;
  TestOutputTopic<String, DeadLetter> dlq;

  @BeforeEach
  void start() {
    registry = new SimpleMeterRegistry();
    StreamsBuilder builder = new StreamsBuilder();
    TokenLedgerTopology.build(builder, TopologySettings.defaults(topics), serdes, new PipelineMetrics(registry));
    Properties props = Fixtures.driverProperties("pricing-test", stateDir);
    driver = new TopologyTestDriver(builder.build(props), props, NOW);
    prices = driver.createInputTopic(topics.pricingModels().name(), new StringSerializer(),
        serdes.value(ModelPricing.class).serializer());
    events = driver.createInputTopic(topics.usageEvents().name(), new StringSerializer(), new ByteArraySerializer());
    costed = driver.createOutputTopic(topics.usageCosted().name(), new StringDeserializer(),
        serdes.value(CostedUsage.class).deserializer());
    unpriced = driver.createOutputTopic(topics.usageUnpriced().name(), new StringDeserializer(),
        serdes.value(UnpricedUsage.class).deserializer());
    dlq = driver.createOutputTopic(topics.usageDlq().name(), new StringDeserializer(),
        serdes.value(DeadLetter.class).deserializer());

    prices.pipeInput("openai/gpt-4o", pricing("openai", "gpt-4o",
        version("openai/gpt-4o@2024-05-13", "2024-05-13T00:00:00Z", "5.00", "15.00").setCachedInput(null).build(),
        version("openai/gpt-4o@2024-10-01", "2024-10-01T00:00:00Z", "2.50", "10.00").setCachedInput(usd("1.25"))
            .setBatchDiscount(usd("0.5")).build()));
    prices.pipeInput("openai/gpt-4o-mini", pricing("openai", "gpt-4o-mini",
        version("openai/gpt-4o-mini@2024-07-18", "2024-07-18T00:00:00Z", "0.15", "0.60").setCachedInput(usd("0.075"))
            .build()));
    prices.pipeInput("openai/text-embedding-3-small", pricing("openai", "text-embedding-3-small",
        version("openai/text-embedding-3-small@2024-01-25", "2024-01-25T00:00:00Z", "0.02", "0").build()));
    prices.pipeInput("anthropic/claude-sonnet-4", pricing("anthropic", "claude-sonnet-4",
        version("anthropic/claude-sonnet-4@2025-05-22", "2025-05-22T00:00:00Z", "3.00", "15.00")
            .setCachedInput(usd("0.30")).setCacheWrite5m(usd("3.75")).setCacheWrite1h(usd("6.00"))
            .setLongContext(tier(200_000, "6.00", "22.50")).build()));
    prices.pipeInput("anthropic/claude-3-5-sonnet", pricing("anthropic", "claude-3-5-sonnet",
        version("anthropic/claude-3-5-sonnet@2024-06-20", "2024-06-20T00:00:00Z", "3.00", "15.00").build()));
    prices.pipeInput("openai/o3", pricing("openai", "o3",
        version("openai/o3@2025-04-16", "2025-04-16T00:00:00Z", "10.00", "40.00").build(),
        version("openai/o3@2025-06-10", "2025-06-10T00:00:00Z", "2.00", "8.00").setRequestFee(usd("0.001")).build()));
  }

  @AfterEach
  void stop() {
    driver.close();
  }

  void send(UsageEvent e) {
    events.pipeInput(e.getOrgId(), serdes.value(UsageEvent.class).serializer().serialize("t", e));
  }

  @Test
  void shouldCostEveryTokenClassToTheLastDigit() {
    send(event("e1", "2026-11-01T10:00:00Z", "openai", "gpt-4o").setInputTokens(1_000).setCachedInputTokens(500)
        .setOutputTokens(200).setReasoningTokens(50).build());

    CostedUsage c = costed.readValue();
    // 1000 × 2.50/M = 0.0025; 500 × 1.25/M = 0.000625; 200 × 10/M = 0.002; 50 reasoning at the output price = 0.0005
    assertThat(c.getInputCost()).isEqualTo(usd("0.0025"));
    assertThat(c.getCachedInputCost()).isEqualTo(usd("0.000625"));
    assertThat(c.getOutputCost()).isEqualTo(usd("0.002"));
    assertThat(c.getReasoningCost()).isEqualTo(usd("0.0005"));
    assertThat(c.getCacheWriteCost()).isEqualTo(usd("0"));
    assertThat(c.getTotalCost()).isEqualTo(usd("0.005625"));
    assertThat(c.getPriceVersionId()).isEqualTo("openai/gpt-4o@2024-10-01");
    assertThat(c.getPricingKey()).isEqualTo("openai/gpt-4o");
    assertThat(c.getEvent().getEventId()).isEqualTo("e1");
    assertThat(costed.isEmpty()).isTrue();
  }

  @Test
  void shouldCostTheSameEventOnlyOnce() {
    UsageEvent e = event("dup", "2026-11-01T10:00:00Z", "openai", "gpt-4o-mini").setInputTokens(100).build();
    send(e);
    send(e);

    assertThat(costed.readValuesToList()).hasSize(1);
    assertThat(registry.get("tokenledger.events.duplicates").counter().count()).isEqualTo(1.0);
    assertThat(registry.get("tokenledger.events.in").counter().count()).isEqualTo(2.0);
  }

  @Test
  void shouldPriceEachEventWithTheVersionInForceAtItsOwnTime() {
    send(event("after", "2025-07-01T00:00:00Z", "openai", "o3").setInputTokens(1_000_000).setOutputTokens(1_000_000).build());
    // arrives later, happened before the June 2025 price cut: the old price applies
    send(event("late", "2025-05-01T00:00:00Z", "openai", "o3").setInputTokens(1_000_000).setOutputTokens(1_000_000).build());

    List<CostedUsage> out = costed.readValuesToList();
    assertThat(out).extracting(c -> c.getEvent().getEventId()).containsExactly("after", "late");
    assertThat(out.get(0).getPriceVersionId()).isEqualTo("openai/o3@2025-06-10");
    assertThat(out.get(0).getTotalCost()).isEqualTo(usd("10.001")); // 2 + 8 + request fee 0.001
    assertThat(out.get(1).getPriceVersionId()).isEqualTo("openai/o3@2025-04-16");
    assertThat(out.get(1).getTotalCost()).isEqualTo(usd("50"));
  }

  @Test
  void shouldApplyAPriceChangePublishedBetweenTwoEvents() {
    send(event("before", "2026-11-01T00:00:00Z", "openai", "gpt-4o-mini").setInputTokens(1_000_000).build());
    prices.pipeInput("openai/gpt-4o-mini", pricing("openai", "gpt-4o-mini",
        version("openai/gpt-4o-mini@2024-07-18", "2024-07-18T00:00:00Z", "0.15", "0.60").build(),
        version("openai/gpt-4o-mini@2026-11-02", "2026-11-02T00:00:00Z", "0.10", "0.40").build()));
    send(event("after", "2026-11-03T00:00:00Z", "openai", "gpt-4o-mini").setInputTokens(1_000_000).build());
    send(event("replayed", "2026-11-01T00:00:01Z", "openai", "gpt-4o-mini").setInputTokens(1_000_000).build());

    List<CostedUsage> out = costed.readValuesToList();
    assertThat(out).extracting(CostedUsage::getTotalCost).containsExactly(usd("0.15"), usd("0.10"), usd("0.15"));
  }

  @Test
  void shouldSendAnUnknownModelToUnpricedWithTheReasonNeverAtZero() {
    send(event("u1", "2026-11-01T00:00:00Z", "openai", "gpt-9-turbo").setInputTokens(10).build());

    assertThat(costed.isEmpty()).isTrue();
    UnpricedUsage u = unpriced.readValue();
    assertThat(u.getEvent().getEventId()).isEqualTo("u1");
    assertThat(u.getPricingKey()).isEqualTo("openai/gpt-9-turbo");
    assertThat(u.getReason()).contains("no price for model openai/gpt-9-turbo");
  }

  @Test
  void shouldSendAnEventOlderThanEveryPriceToUnpriced() {
    send(event("old", "2023-01-01T00:00:00Z", "openai", "gpt-4o").setInputTokens(10).build());

    UnpricedUsage u = unpriced.readValue();
    assertThat(u.getReason()).contains("in force at 2023-01-01T00:00:00Z").contains("2024-05-13");
  }

  @Test
  void shouldFallBackFromADatedSnapshotToItsFamilyButPreferAnExactEntry() {
    send(event("s1", "2026-11-01T00:00:00Z", "OpenAI", "gpt-4o-2024-08-06").setInputTokens(1_000_000).build());
    send(event("s2", "2026-11-01T00:00:00Z", "anthropic", "claude-3-5-sonnet-20241022").setInputTokens(1_000_000).build());
    send(event("s3", "2026-11-01T00:00:00Z", "openai", "openai/GPT-4o-mini").setInputTokens(1_000_000).build());
    prices.pipeInput("openai/gpt-4o-2024-05-13", pricing("openai", "gpt-4o-2024-05-13",
        version("openai/gpt-4o-2024-05-13@2024-05-13", "2024-05-13T00:00:00Z", "5.00", "15.00").build()));
    send(event("s4", "2026-11-01T00:00:00Z", "openai", "gpt-4o-2024-05-13").setInputTokens(1_000_000).build());

    List<CostedUsage> out = costed.readValuesToList();
    assertThat(out).extracting(CostedUsage::getPricingKey).containsExactly("openai/gpt-4o", "anthropic/claude-3-5-sonnet",
        "openai/gpt-4o-mini", "openai/gpt-4o-2024-05-13");
    assertThat(out).extracting(CostedUsage::getTotalCost).containsExactly(usd("2.5"), usd("3"), usd("0.15"), usd("5"));
  }

  @Test
  void shouldApplyTheLongContextTierAboveItsThresholdAndCacheWritesByLifetime() {
    send(event("short", "2026-11-01T00:00:00Z", "anthropic", "claude-sonnet-4").setInputTokens(100_000)
        .setCachedInputTokens(50_000).setCacheWrite5mTokens(20_000).setCacheWrite1hTokens(10_000).setOutputTokens(1_000)
        .build());
    // 150k + 40k cached + 20k written = 210k read: over 200k, the whole call at the long-context prices
    send(event("long", "2026-11-01T00:00:00Z", "anthropic", "claude-sonnet-4").setInputTokens(150_000)
        .setCachedInputTokens(40_000).setCacheWrite5mTokens(20_000).setOutputTokens(1_000).build());

    List<CostedUsage> out = costed.readValuesToList();
    CostedUsage shortCall = out.get(0);
    assertThat(shortCall.getLongContext()).isFalse();
    // 100k × 3 = 0.3; 50k × 0.30 = 0.015; 20k × 3.75 + 10k × 6 = 0.075 + 0.06; 1k × 15 = 0.015
    assertThat(shortCall.getInputCost()).isEqualTo(usd("0.3"));
    assertThat(shortCall.getCachedInputCost()).isEqualTo(usd("0.015"));
    assertThat(shortCall.getCacheWriteCost()).isEqualTo(usd("0.135"));
    assertThat(shortCall.getTotalCost()).isEqualTo(usd("0.465"));
    CostedUsage longCall = out.get(1);
    assertThat(longCall.getLongContext()).isTrue();
    // tier: input 6, output 22.50; the tier names no cached or write price, so those fall back to its input price
    assertThat(longCall.getInputCost()).isEqualTo(usd("0.9"));
    assertThat(longCall.getCachedInputCost()).isEqualTo(usd("0.24"));
    assertThat(longCall.getCacheWriteCost()).isEqualTo(usd("0.12"));
    assertThat(longCall.getOutputCost()).isEqualTo(usd("0.0225"));
    assertThat(longCall.getTotalCost()).isEqualTo(usd("1.2825"));
  }

  @Test
  void shouldCostATenTokenCallToTheCheapestModelMoreThanZero() {
    send(event("tiny", "2026-11-01T00:00:00Z", "openai", "text-embedding-3-small").setInputTokens(10)
        .setRequestType("embedding").build());

    CostedUsage c = costed.readValue();
    assertThat(c.getTotalCost()).isEqualTo(usd("0.0000002")).isPositive();
  }

  @Test
  void shouldApplyTheBatchDiscountToTokensButNotToTheRequestFee() {
    send(event("b1", "2026-11-01T00:00:00Z", "openai", "gpt-4o").setInputTokens(1_000_000).setOutputTokens(100_000)
        .setBatch(true).build());

    CostedUsage c = costed.readValue();
    assertThat(c.getInputCost()).isEqualTo(usd("1.25"));
    assertThat(c.getOutputCost()).isEqualTo(usd("0.5"));
    assertThat(c.getTotalCost()).isEqualTo(usd("1.75"));
  }

  @Test
  void shouldDeadLetterGarbageWithItsRawBytesAndKeepGoing() {
    byte[] garbage = {(byte) 0xde, (byte) 0xad, (byte) 0xbe, (byte) 0xef};
    events.pipeInput("org-1", garbage);
    send(event("fine", "2026-11-01T00:00:00Z", "openai", "gpt-4o-mini").setInputTokens(1).build());

    DeadLetter d = dlq.readValue();
    assertThat(d.getStage()).isEqualTo("deserialize");
    assertThat(d.getSourceTopic()).isEqualTo(topics.usageEvents().name());
    assertThat(d.getOffset()).isZero();
    assertThat(d.getValue()).isEqualTo(ByteBuffer.wrap(garbage));
    assertThat(d.getError()).isNotBlank();
    assertThat(costed.readValue().getEvent().getEventId()).isEqualTo("fine");
  }

  @Test
  void shouldDeadLetterInvalidEventsWithTheReason() {
    send(event("neg", "2026-11-01T00:00:00Z", "openai", "gpt-4o").setOutputTokens(-5).build());
    send(event("huge", "2026-11-01T00:00:00Z", "openai", "gpt-4o").setInputTokens(5_000_000_000L).build());
    send(event("future", "2026-11-25T12:00:00Z", "openai", "gpt-4o").build());
    send(event("noorg", "2026-11-01T00:00:00Z", "openai", "gpt-4o").setOrgId(" ").build());
    send(event("nomodel", "2026-11-01T00:00:00Z", "openai", "").build());
    send(event("longuser", "2026-11-01T00:00:00Z", "openai", "gpt-4o").setUserId("u".repeat(100_000)).build());

    List<DeadLetter> out = dlq.readValuesToList();
    assertThat(out).extracting(DeadLetter::getStage).containsOnly("validate");
    assertThat(out).extracting(DeadLetter::getError).satisfiesExactly(
        e -> assertThat(e).contains("output_tokens is negative"),
        e -> assertThat(e).contains("input_tokens is 5000000000, over the limit"),
        e -> assertThat(e).contains("in the future"),
        e -> assertThat(e).contains("org_id is missing"),
        e -> assertThat(e).contains("model is missing"),
        e -> assertThat(e).contains("user_id is 100000 characters long, over the limit of 512"));
    assertThat(out.get(0).getEventId()).isEqualTo("neg");
    assertThat(costed.isEmpty()).isTrue();
    assertThat(registry.get("tokenledger.events.dead.lettered").tag("stage", "validate").counter().count()).isEqualTo(6.0);
  }

  @Test
  void shouldCostAnEventWithHugeMetadataAndDropOnlyTheMetadata() {
    send(event("big", "2026-11-01T00:00:00Z", "openai", "gpt-4o-mini").setInputTokens(1_000_000)
        .setMetadata(Map.of("prompt", "x".repeat(200_000), "team", "search")).build());

    CostedUsage c = costed.readValue();
    assertThat(c.getEvent().getEventId()).isEqualTo("big");
    assertThat(c.getTotalCost()).isEqualByComparingTo("0.15"); // $0.15 per million input tokens
    assertThat(c.getEvent().getMetadata()).containsOnlyKeys(EventValidator.METADATA_DROPPED);
    assertThat(c.getEvent().getMetadata().get(EventValidator.METADATA_DROPPED))
        .isEqualTo("2 entries, 200016 bytes, over the limit of 16384");
    assertThat(dlq.isEmpty()).isTrue();
    assertThat(registry.get("tokenledger.events.metadata.dropped").counter().count()).isEqualTo(1.0);
  }
}
