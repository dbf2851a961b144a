package io.tokenledger.processor.catalog;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tokenledger.avro.LongContextTier;
import io.tokenledger.avro.ModelPricing;
import io.tokenledger.avro.PriceVersion;
import io.tokenledger.schemas.ModelKeys;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads the price catalog file (deploy/catalog/pricing-catalog.json) into {@link ModelPricing} values keyed
 * by {@code provider/model}. Prices are decimal strings per million tokens; a malformed entry fails the whole
 * file with every problem listed, so a half-valid catalog is never published.
 */
public final class CatalogFile {

  private static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);
  private static final int SCALE = 12;

  private CatalogFile() {}

  public static Map<String, ModelPricing> read(Path file) throws IOException {
    return parse(JSON.readTree(Files.readString(file)), file.toString());
  }

  static Map<String, ModelPricing> parse(JsonNode root, String where) {
    List<String> problems = new ArrayList<>();
    Map<String, ModelPricing> out = new LinkedHashMap<>();
    String currency = root.path("currency").asText("USD");
    Set<String> ids = new HashSet<>();
    JsonNode models = root.path("models");
    if (!models.isArray() || models.isEmpty()) {
      throw new IllegalArgumentException(where + ": no \"models\" array");
    }
    for (JsonNode m : models) {
      String provider = ModelKeys.provider(m.path("provider").asText(""));
      String model = ModelKeys.model(provider, m.path("model").asText(""));
      String key = ModelKeys.key(provider, model);
      if (provider.isEmpty() || model.isEmpty()) {
        problems.add("an entry lacks provider or model: " + m);
        continue;
      }
      if (out.containsKey(key)) {
        problems.add(key + " appears twice");
        continue;
      }
      List<PriceVersion> versions = new ArrayList<>();
      Instant previous = Instant.MIN;
      for (JsonNode v : m.path("versions")) {
        String id = v.path("id").asText("");
        String ctx = key + " version [" + id + "]";
        if (id.isEmpty() || !ids.add(id)) {
          problems.add(ctx + ": id missing or not unique");
          continue;
        }
        Instant from;
        try {
          from = Instant.parse(v.path("effective_from").asText(""));
        } catch (DateTimeParseException e) {
          problems.add(ctx + ": effective_from is not an ISO-8601 instant");
          continue;
        }
        if (!from.isAfter(previous)) {
          problems.add(ctx + ": versions must be in ascending effective_from order");
        }
        previous = from;
        JsonNode lc = v.path("long_context");
        LongContextTier tier = lc.isObject() ? LongContextTier.newBuilder()
            .setThresholdInputTokens(lc.path("threshold_input_tokens").asLong(0))
            .setInput(money(lc, "input", true, ctx + " long_context", problems))
            .setCachedInput(money(lc, "cached_input", false, ctx + " long_context", problems))
            .setCacheWrite5m(money(lc, "cache_write_5m", false, ctx + " long_context", problems))
            .setCacheWrite1h(money(lc, "cache_write_1h", false, ctx + " long_context", problems))
            .setOutput(money(lc, "output", true, ctx + " long_context", problems))
            .setReasoning(money(lc, "reasoning", false, ctx + " long_context", problems))
            .build() : null;
        if (tier != null && tier.getThresholdInputTokens() <= 0) {
          problems.add(ctx + ": long_context.threshold_input_tokens must be positive");
        }
        BigDecimal discount = money(v, "batch_discount", false, ctx, problems);
        if (discount != null && discount.compareTo(BigDecimal.ONE) >= 0) {
          problems.add(ctx + ": batch_discount is a fraction below 1 (0.5 = half price)");
        }
        versions.add(PriceVersion.newBuilder()
            .setId(id)
            .setEffectiveFrom(from)
            .setCurrency(v.path("currency").asText(currency))
            .setInput(money(v, "input", true, ctx, problems))
            .setCachedInput(money(v, "cached_input", false, ctx, problems))
            .setCacheWrite5m(money(v, "cache_write_5m", false, ctx, problems))
            .setCacheWrite1h(money(v, "cache_write_1h", false, ctx, problems))
            .setOutput(money(v, "output", true, ctx, problems))
            .setReasoning(money(v, "reasoning", false, ctx, problems))
            .setRequestFee(money(v, "request_fee", false, ctx, problems))
            .setLongContext(tier)
            .setBatchDiscount(discount)
            .setSource(text(v, "source"))
            .setSourceDate(text(v, "source_date"))
            .build());
      }
      if (versions.isEmpty()) {
        problems.add(key + " has no versions");
        continue;
      }
      out.put(key, ModelPricing.newBuilder().setProvider(provider).setModel(model).setVersions(versions).build());
    }
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException(where + " is not a valid catalog:\n  - " + String.join("\n  - ", problems));
    }
    return out;
  }

  private static BigDecimal money(JsonNode parent, String field, boolean required, String ctx, List<String> problems) {
    JsonNode n = parent.path(field);
    if (n.isMissingNode() || n.isNull()) {
      if (required) {
        problems.add(ctx + ": " + field + " is required");
        return BigDecimal.ZERO.setScale(SCALE);
      }
      return null;
    }
    try {
      BigDecimal d = n.isTextual() ? new BigDecimal(n.asText().trim()) : n.decimalValue();
      if (d.signum() < 0) {
        problems.add(ctx + ": " + field + " is negative");
      }
      if (d.scale() > SCALE) {
        problems.add(ctx + ": " + field + " has more than " + SCALE + " decimals");
        return d.setScale(SCALE, RoundingMode.HALF_EVEN);
      }
      return d.setScale(SCALE);
    } catch (NumberFormatException e) {
      problems.add(ctx + ": " + field + " is not a decimal number: " + n);
      return BigDecimal.ZERO.setScale(SCALE);
    }
  }

  private static String text(JsonNode parent, String field) {
    JsonNode n = parent.path(field);
    return n.isMissingNode() || n.isNull() ? null : n.asText();
  }
}
