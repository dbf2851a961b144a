package io.tokenledger.stack;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The harness draws its calls once to compute what they must cost and again while it emits them: its exact
 * checks hold only if two loads of one seed draw the same calls.
 */
class HarnessLoadTest {

  private static List<JsonNode> models() throws Exception {
    List<JsonNode> models = new ArrayList<>();
    new ObjectMapper().readTree(DeploymentFilesTest.DEPLOY.resolve("catalog/pricing-catalog.json").toFile()).path("models")
        .forEach(models::add);
    return models;
  }

  @Test
  void twoLoadsOfOneSeedDrawTheSameCalls() throws Exception {
    List<JsonNode> models = models();
    Instant now = Instant.parse("2026-11-27T15:00:00Z");
    HarnessMain.Load first = new HarnessMain.Load(models, 42, "h-42-", "org-", now);
    HarnessMain.Load second = new HarnessMain.Load(models, 42, "h-42-", "org-", now);
    HarnessMain.Load otherSeed = new HarnessMain.Load(models, 43, "h-43-", "org-", now);
    int differentFromOtherSeed = 0;
    int probes = 0;
    for (int i = 0; i < 20_000; i++) {
      HarnessMain.Call a = first.next(i);
      HarnessMain.Call b = second.next(i);
      assertThat(b.id()).isEqualTo(a.id());
      assertThat(b.at()).isEqualTo(a.at());
      assertThat(b.baseline()).isEqualTo(a.baseline()); // every token count, org, user, model, endpoint and cost
      if (!otherSeed.next(i).baseline().equals(a.baseline())) {
        differentFromOtherSeed++;
      }
      if (a.id().startsWith(Probes.ID_PREFIX)) {
        probes++;
        assertThat(i % Probes.EVERY).isZero();
      }
    }
    assertThat(differentFromOtherSeed).isGreaterThan(19_000);
    assertThat(probes).isEqualTo(20_000 / Probes.EVERY);
  }

  @Test
  void costIsWhatTheCatalogSaysOrNullWithoutAPrice() throws Exception {
    HarnessMain.Load load = new HarnessMain.Load(models(), 7, "t-", "org-", Instant.parse("2026-11-27T15:00:00Z"));
    int priced = 0;
    int unpriced = 0;
    for (int i = 0; i < 5_000; i++) {
      HarnessMain.Call c = load.next(i);
      BigDecimal cost = c.cost();
      if (c.model() == null) {
        assertThat(cost).isNull();
        unpriced++;
      } else if (cost != null) {
        assertThat(cost.signum()).isPositive();
        assertThat(cost.scale()).isEqualTo(12);
        priced++;
      }
    }
    assertThat(priced).isGreaterThan(4_900);
    assertThat(unpriced).isBetween(5, 60); // 0.5 % name a model the catalog lacks
  }
}
