package io.tokenledger.stack;

import io.tokenledger.avro.Enforcement;
import io.tokenledger.avro.QuotaPolicy;
import io.tokenledger.avro.QuotaScope;
import io.tokenledger.avro.QuotaWindow;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.List;

/** A few quota policies that the demo traffic is sized to cross. */
final class DemoPolicies {

  private DemoPolicies() {}

  static List<QuotaPolicy> all(Instant now) {
    return List.of(
        policy("acme-monthly", "acme", QuotaScope.ORG, null, QuotaWindow.MONTH, "2.00", Enforcement.SOFT, now),
        policy("acme-alice-daily", "acme", QuotaScope.USER, "alice", QuotaWindow.DAY, "0.25", Enforcement.HARD, now),
        policy("globex-gpt4o-daily", "globex", QuotaScope.MODEL, "openai/gpt-4o", QuotaWindow.DAY, "0.50",
            Enforcement.HARD, now),
        policy("initech-monthly", "initech", QuotaScope.ORG, null, QuotaWindow.MONTH, "100.00", Enforcement.SOFT, now));
  }

  private static QuotaPolicy policy(String id, String org, QuotaScope scope, String value, QuotaWindow window,
      String limit, Enforcement enforcement, Instant now) {
    return QuotaPolicy.newBuilder().setPolicyId(id).setOrgId(org).setScope(scope).setScopeValue(value)
        .setWindow(window).setLimitUsd(new BigDecimal(limit).setScale(12)).setThresholdsPercent(List.of(50, 80, 100))
        .setEnforcement(enforcement).setUpdatedAt(now).build();
  }
}
