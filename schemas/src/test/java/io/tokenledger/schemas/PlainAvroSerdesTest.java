package io.tokenledger.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tokenledger.avro.CostedUsage;
import io.tokenledger.avro.UsageEvent;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.Map;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Serde;
import org.junit.jupiter.api.Test;

class PlainAvroSerdesTest {

  static UsageEvent event() {
    return UsageEvent.newBuilder()
        .setEventId("01935f4e-7a3b-7c2d-9e1f-0a1b2c3d4e5f")
        .setEventTime(Instant.parse("2026-11-24T10:15:30.123Z"))
        .setOrgId("org-acme")
        .setUserId("user-1")
        .setProvider("openai")
        .setModel("gpt-4o-2024-08-06")
        .setInputTokens(1200)
        .setCachedInputTokens(800)
        .setOutputTokens(300)
        .setReasoningTokens(0)
        .setLatencyMs(850L)
        .setEndpoint("/api/quiz")
        .setRequestType("quiz-generation")
        .setService("quiz-service")
        .setMetadata(Map.of("course", "bio-101"))
        .build();
  }

  @Test
  void shouldRoundTripAnEventWithExactDecimals() {
    Serde<CostedUsage> serde = new PlainAvroSerdes().value(CostedUsage.class);
    BigDecimal tiny = new BigDecimal("0.000000200000");
    CostedUsage costed = CostedUsage.newBuilder()
        .setEvent(event())
        .setInputCost(tiny).setCachedInputCost(BigDecimal.ZERO.setScale(12)).setCacheWriteCost(BigDecimal.ZERO.setScale(12))
        .setOutputCost(new BigDecimal("123456789.123456789012")).setReasoningCost(BigDecimal.ZERO.setScale(12))
        .setRequestFee(BigDecimal.ZERO.setScale(12)).setTotalCost(new BigDecimal("123456789.123456989012"))
        .setPricingKey("openai/gpt-4o").setPriceVersionId("openai/gpt-4o@2024-08-06")
        .setPriceEffectiveFrom(Instant.parse("2024-08-06T00:00:00Z")).setPricedAt(Instant.now().truncatedTo(java.time.temporal.ChronoUnit.MILLIS))
        .build();

    byte[] bytes = serde.serializer().serialize("t", costed);
    CostedUsage back = serde.deserializer().deserialize("t", bytes);

    assertThat(back).isEqualTo(costed);
    assertThat(back.getInputCost()).isEqualByComparingTo("0.0000002");
    assertThat(back.getOutputCost().toPlainString()).isEqualTo("123456789.123456789012");
  }

  @Test
  void shouldRejectGarbageWithASerializationException() {
    Serde<UsageEvent> serde = new PlainAvroSerdes().value(UsageEvent.class);
    assertThatThrownBy(() -> serde.deserializer().deserialize("t", new byte[] {1, 2, 3}))
        .isInstanceOf(SerializationException.class).hasMessageContaining("UsageEvent");
  }

  @Test
  void shouldDeriveRegistryApisFromAnyForm() {
    for (String url : new String[] {"http://h:8081", "http://h:8081/", "http://h:8081/apis/ccompat/v7",
        "http://h:8081/apis/registry/v2/"}) {
      RegistryUrl r = RegistryUrl.parse(url);
      assertThat(r.confluentApi()).isEqualTo("http://h:8081/apis/ccompat/v7");
      assertThat(r.apicurioApi()).isEqualTo("http://h:8081/apis/registry/v2");
    }
    assertThatThrownBy(() -> RegistryUrl.parse("localhost:8081")).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void topicsArePrefixedAndCompactedWhereTheyHoldLatestValues() {
    Topics t = Topics.withPrefix("x-");
    assertThat(t.usageEvents().name()).isEqualTo("x-usage.events");
    assertThat(t.all()).filteredOn(TopicSpec::compacted).extracting(TopicSpec::name)
        .containsExactlyInAnyOrder("x-pricing.models", "x-quota.policies", "x-quota.status");
    assertThat(t.pricingModels().configs()).containsEntry("cleanup.policy", "compact");
  }
}
