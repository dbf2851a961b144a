package io.tokenledger.producer;

import io.tokenledger.avro.QuotaScope;
import io.tokenledger.avro.QuotaStatus;
import io.tokenledger.schemas.ModelKeys;
import io.tokenledger.schemas.QuotaRules;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The latest status of every policy, by org, answering checks from memory. One writer ({@link #apply}, the
 * thread following quota.status) and any number of lock-free readers ({@link #check}): each org's statuses
 * are replaced as a whole array on change.
 */
public final class QuotaView {

  private static final QuotaRules.Decision ALLOW = new QuotaRules.Decision(QuotaRules.Verdict.ALLOW, null);

  /** What a check reads of a status, unpacked so that a check touches as little memory as possible. */
  private record Entry(long startMs, long endMs, QuotaScope scope, String value, QuotaStatus status) {}

  private final Map<String, Entry[]> byOrg = new ConcurrentHashMap<>();
  private final Map<String, List<String>> modelKeyCache = new ConcurrentHashMap<>();
  private final Map<String, String> orgOf = new HashMap<>();
  private final Map<String, Map<String, QuotaStatus>> perOrg = new HashMap<>();

  /** Applies one quota.status record (null: the policy was deleted). Single writer. */
  public void apply(String policyId, QuotaStatus status) {
    String oldOrg = orgOf.remove(policyId);
    if (oldOrg != null) {
      perOrg.get(oldOrg).remove(policyId);
      publish(oldOrg);
    }
    if (status != null) {
      orgOf.put(policyId, status.getOrgId());
      perOrg.computeIfAbsent(status.getOrgId(), k -> new HashMap<>()).put(policyId, status);
      publish(status.getOrgId());
    }
  }

  private void publish(String org) {
    Map<String, QuotaStatus> m = perOrg.get(org);
    if (m == null || m.isEmpty()) {
      perOrg.remove(org);
      byOrg.remove(org);
    } else {
      byOrg.put(org, m.values().stream().map(st -> new Entry(st.getWindowStart().toEpochMilli(),
          st.getWindowEnd().toEpochMilli(), st.getScope(), st.getScopeValue(), st)).toArray(Entry[]::new));
    }
  }

  public int size() {
    return orgOf.size();
  }

  /** The verdict at {@code nowMs}; a status whose window is not the current one does not count. */
  public QuotaRules.Decision check(String org, String user, String provider, String model, long nowMs) {
    Entry[] entries = byOrg.get(org);
    if (entries == null) {
      return ALLOW;
    }
    QuotaRules.Decider decider = null;
    List<String> modelKeys = null;
    for (Entry e : entries) {
      if (e.endMs() <= nowMs || e.startMs() > nowMs) {
        continue;
      }
      if (e.scope() == QuotaScope.MODEL && modelKeys == null) {
        modelKeys = modelKeys(provider, model);
      }
      if (QuotaRules.covers(e.scope(), e.value(), user, provider, model, modelKeys)) {
        if (decider == null) {
          decider = new QuotaRules.Decider();
        }
        decider.offer(e.status());
      }
    }
    return decider == null ? ALLOW : decider.decision();
  }

  /** A call's model keys, cached: a service calls few distinct models, and computing them is the slow part. */
  private List<String> modelKeys(String provider, String model) {
    String key = provider + '\u0000' + model;
    List<String> keys = modelKeyCache.get(key);
    if (keys == null) {
      if (modelKeyCache.size() > 10_000) {
        modelKeyCache.clear(); // arbitrary names must not grow the cache without bound
      }
      keys = ModelKeys.candidates(provider == null ? "" : provider, model == null ? "" : model);
      modelKeyCache.put(key, keys);
    }
    return keys;
  }
}
