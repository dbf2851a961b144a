package io.tokenledger.processor;

import io.tokenledger.avro.LongContextTier;
import io.tokenledger.avro.ModelPricing;
import io.tokenledger.avro.PriceVersion;
import io.tokenledger.avro.UsageEvent;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.streams.StreamsConfig;

/** Test data: prices and events built in one line each. */
final class Fixtures {

  private Fixtures() {}

  /**
   * Settings for a TopologyTestDriver: explicit internal names, as in production, and its own state directory
   * (two builds on one machine must not share, and lock, the default one).
   */
  static Properties driverProperties(String applicationId, Path stateDir) {
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
    props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    props.put(StreamsConfig.ENSURE_EXPLICIT_INTERNAL_RESOURCE_NAMING_CONFIG, "true");
    return props;
  }

  static BigDecimal usd(String s) {
    return new BigDecimal(s).setScale(12);
  }

  static PriceVersion.Builder version(String id, String from, String input, String output) {
    return PriceVersion.newBuilder().setId(id).setEffectiveFrom(Instant.parse(from)).setCurrency("USD")
        .setInput(usd(input)).setOutput(usd(output));
  }

  static ModelPricing pricing(String provider, String model, PriceVersion... versions) {
    return ModelPricing.newBuilder().setProvider(provider).setModel(model).setVersions(List.of(versions)).build();
  }

  static LongContextTier tier(long threshold, String input, String output) {
    return LongContextTier.newBuilder().setThresholdInputTokens(threshold).setInput(usd(input)).setOutput(usd(output))
        .build();
  }

  static UsageEvent.Builder event(String id, String time, String provider, String model) {
    return UsageEvent.newBuilder().setEventId(id).setEventTime(Instant.parse(time)).setOrgId("org-1")
        .setUserId("user-1").setProvider(provider).setModel(model).setMetadata(Map.of());
  }
}
