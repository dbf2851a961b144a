package io.tokenledger.processor.quota;

import io.tokenledger.avro.QuotaPolicy;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Every quota policy, indexed by org, as the global policy store holds them; shared by the global thread
 * (which applies changes) and the stream threads (which read, and react to changes). Changes carry a
 * generation number so that each task can find the policies changed since it last looked.
 */
public final class PolicyBook {

  private final Map<String, QuotaPolicy> byId = new HashMap<>();
  private volatile Map<String, List<QuotaPolicy>> byOrg = Map.of();
  private final List<String> changedIds = new ArrayList<>();
  private volatile long generation;
  private boolean loaded;

  /** Fills the book from the store's contents, once (after a restart the store is restored, not replayed). */
  public synchronized void loadOnce(Consumer<Consumer<QuotaPolicy>> all) {
    if (loaded) {
      return;
    }
    loaded = true;
    all.accept(p -> byId.put(p.getPolicyId(), p));
    reindex();
  }

  public synchronized void put(String policyId, QuotaPolicy policy) {
    loaded = true;
    if (policy == null) {
      byId.remove(policyId);
    } else {
      byId.put(policyId, policy);
    }
    changedIds.add(policyId);
    generation = changedIds.size();
    reindex();
  }

  private void reindex() {
    Map<String, List<QuotaPolicy>> idx = new HashMap<>();
    for (QuotaPolicy p : byId.values()) {
      idx.computeIfAbsent(p.getOrgId(), k -> new ArrayList<>()).add(p);
    }
    idx.replaceAll((k, v) -> List.copyOf(v));
    byOrg = Map.copyOf(idx);
  }

  /** The policies of one org; an empty list for most orgs. Lock-free. */
  public List<QuotaPolicy> forOrg(String orgId) {
    return byOrg.getOrDefault(orgId, List.of());
  }

  public synchronized QuotaPolicy get(String policyId) {
    return byId.get(policyId);
  }

  public long generation() {
    return generation;
  }

  /** Ids changed (or deleted) after generation {@code since}, up to the current one. */
  public synchronized List<String> changedSince(long since) {
    return since >= changedIds.size() ? List.of() : List.copyOf(changedIds.subList((int) since, changedIds.size()));
  }

  /** Orgs that have at least one policy. */
  public java.util.Set<String> orgs() {
    return byOrg.keySet();
  }
}
