package io.tokenledger.producer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

class UsageTrackerConfigTest {

  @Test
  void shouldUseADurableIdempotentCompressedProducerByDefault() {
    Map<String, Object> c = UsageTracker.builder().bootstrapServers("kafka:9092").producerConfig();

    assertThat(c).containsEntry("acks", "all").containsEntry("enable.idempotence", true)
        .containsEntry("compression.type", "lz4").containsEntry("linger.ms", 10)
        .containsEntry("max.block.ms", 1_000).containsEntry("bootstrap.servers", "kafka:9092");
  }

  @Test
  void shouldPassKafkaSecuritySettingsFromTheEnvironmentThrough() {
    UsageTracker.Builder b = UsageTracker.builderFromEnvironment(Map.of(
        "KAFKA_BOOTSTRAP", "broker-1:9093",
        "SCHEMA_REGISTRY_URL", "https://registry.internal/apis/ccompat/v7",
        "TOKENLEDGER_SERVICE", "quiz-api",
        "TOKENLEDGER_TRACKER_OVERFLOW", "block",
        "TOKENLEDGER_TRACKER_BLOCK_TIMEOUT", "250ms",
        "TOKENLEDGER_KAFKA_SECURITY_PROTOCOL", "SASL_SSL",
        "TOKENLEDGER_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512"));

    assertThat(b.producerConfig()).containsEntry("bootstrap.servers", "broker-1:9093")
        .containsEntry("security.protocol", "SASL_SSL").containsEntry("sasl.mechanism", "SCRAM-SHA-512");
  }

  @Test
  void shouldRefuseAnUnknownTrackerSettingByName() {
    assertThatThrownBy(() -> UsageTracker.builderFromEnvironment(Map.of("TOKENLEDGER_TRACKER_BUFER_CAPACITY", "5")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("TOKENLEDGER_TRACKER_BUFER_CAPACITY");
  }

  @Test
  void shouldRefuseAnInvalidOverflowPolicyByName() {
    assertThatThrownBy(() -> UsageTracker.builderFromEnvironment(Map.of("TOKENLEDGER_TRACKER_OVERFLOW", "drop_oldest")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("TOKENLEDGER_TRACKER_OVERFLOW");
  }

  @Test
  void shouldRefuseAKafkaSettingOfTheWrongTypeAtBuild() {
    assertThatThrownBy(() -> UsageTracker.builder().bootstrapServers("k:9092").registryUrl("http://r:8081")
        .kafkaProperty("linger.ms", "soon").build())
        .hasMessageContaining("linger.ms");
  }
}
