package io.tokenledger.processor.catalog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.tokenledger.avro.ModelPricing;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CatalogTest {

  static Map<String, ModelPricing> parse(String json) throws Exception {
    return CatalogFile.parse(new ObjectMapper().readTree(json), "test");
  }

  static final String ONE = """
      {"currency": "USD", "models": [{"provider": "OpenAI", "model": "gpt-4o", "versions": [
        {"id": "openai/gpt-4o@2024-05-13", "effective_from": "2024-05-13T00:00:00Z", "input": "5.00", "output": "15.00",
         "cached_input": null, "source": "https://openai.com/api/pricing/", "source_date": "2024-05-13"}]}]}
      """;

  static final String TWO = """
      {"currency": "USD", "models": [{"provider": "openai", "model": "gpt-4o", "versions": [
        {"id": "openai/gpt-4o@2024-05-13", "effective_from": "2024-05-13T00:00:00Z", "input": "5.00", "output": "15.00",
         "cached_input": null, "source": "https://openai.com/api/pricing/", "source_date": "2024-05-13"},
        {"id": "openai/gpt-4o@2024-10-02", "effective_from": "2024-10-02T00:00:00Z", "input": "2.50", "output": "10.00",
         "cached_input": "1.25", "batch_discount": "0.5",
         "long_context": {"threshold_input_tokens": 200000, "input": "5", "output": "20"}}]}]}
      """;

  @Test
  void shouldReadExactDecimalsAndNormalizeTheKey() throws Exception {
    Map<String, ModelPricing> m = parse(TWO);
    ModelPricing p = m.get("openai/gpt-4o");
    assertThat(p.getVersions()).hasSize(2);
    assertThat(p.getVersions().get(1).getCachedInput()).isEqualTo(new BigDecimal("1.250000000000"));
    assertThat(p.getVersions().get(1).getLongContext().getThresholdInputTokens()).isEqualTo(200_000);
    assertThat(parse(ONE)).containsOnlyKeys("openai/gpt-4o");
  }

  @Test
  void shouldRejectAnInvalidCatalogListingEveryProblem() {
    String bad = """
        {"models": [{"provider": "openai", "model": "x", "versions": [
          {"id": "a", "effective_from": "2025-01-01T00:00:00Z", "input": "-1", "output": "abc"},
          {"id": "a", "effective_from": "2024-01-01T00:00:00Z", "input": "1", "output": "1"}]}]}
        """;
    assertThatThrownBy(() -> parse(bad)).hasMessageContaining("input is negative")
        .hasMessageContaining("output is not a decimal").hasMessageContaining("not unique");
  }

  @Test
  void shouldPublishOnlyNewVersionsAndNeverRewriteOne() throws Exception {
    Map<String, ModelPricing> published = parse(ONE);
    CatalogMerge.Plan same = CatalogMerge.plan(published, parse(ONE));
    assertThat(same.toPublish()).isEmpty();
    assertThat(same.unchangedModels()).isEqualTo(1);

    CatalogMerge.Plan grown = CatalogMerge.plan(published, parse(TWO));
    assertThat(grown.newVersions()).isEqualTo(1);
    assertThat(grown.toPublish().get("openai/gpt-4o").getVersions()).hasSize(2);

    String rewritten = ONE.replace("\"input\": \"5.00\"", "\"input\": \"4.00\"");
    assertThatThrownBy(() -> CatalogMerge.plan(published, parse(rewritten)))
        .hasMessageContaining("openai/gpt-4o@2024-05-13 is already published with different values");
  }

  @Test
  void theShippedCatalogIsValid() throws Exception {
    Path file = Path.of("../deploy/catalog/pricing-catalog.json");
    if (!Files.exists(file)) {
      throw new AssertionError("the default catalog is missing at " + file.toAbsolutePath());
    }
    Map<String, ModelPricing> catalog = CatalogFile.read(file);
    assertThat(catalog).containsKeys("openai/gpt-4o", "openai/gpt-4o-mini", "anthropic/claude-3-5-sonnet",
        "google/gemini-1.5-flash");
    // the seeds' own history: gpt-4o at $5/$15 in 2024 and $2.50/$10 later
    assertThat(catalog.get("openai/gpt-4o").getVersions()).extracting(v -> v.getInput().stripTrailingZeros().toPlainString())
        .contains("5", "2.5");
  }
}
