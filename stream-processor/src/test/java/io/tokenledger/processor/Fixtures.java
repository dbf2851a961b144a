package io.tokenledger.processor;

import io.tokenledger.avro.LongContextTier;
import io.tokenledger.avro.ModelPricing;
import io.tokenledger.avro.PriceVersion;
import io.tokenledger.avro.UsageEvent;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/** Test data: prices and events built in one line each. */
final class Fixtures {

  private Fixtures() {}

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
