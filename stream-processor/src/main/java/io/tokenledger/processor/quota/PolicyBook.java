package io.tokenledger.processor.quota;

import io.tokenledger.avro.QuotaPolicy;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * Every quota policy, indexed by org, as the global policy store holds them; shared by the global thread
 * (which applies changes) and the stream threads (which read, and react to changes). Changes carry a
 * generation number so that each task can find the policies changed since it last looked.
 */
public final class PolicyBook {

  private final Map<String, QuotaPolicy> byId = new HashMap<>();
  /** Policy ids per org, kept with {@link #byId} under the lock; {@link #byOrg} is its read-only view. */
  private final Map<String, Map<String, QuotaPolicy>> idsByOrg = new HashMap<>();
  private final Map<String, List<QuotaPolicy>> byOrg = new ConcurrentHashMap<>();
  private final List<String> changedIds = new ArrayList<>();
  private volatile long generation;
  private boolean loaded;

  /** Fills the book from the store's contents, once (after a restart the store is restored, not replayed). */
  public synchronized void loadOnce(Consumer<Consumer<QuotaPolicy>> all) {
    if (loaded) {
      return;
    }
    loaded = true;
    all.accept(p -> apply(p.getPolicyId(), p));
  }

  public synchronized void put(String policyId, QuotaPolicy policy) {
    loaded = true;
    apply(policyId, policy);
    changedIds.add(policyId);
    generation = changedIds.size();
  }

  /**
   * Sets or removes one policy and re-lists only the orgs it leaves and joins: a global thread loading
   * thousands of policies at start does work in proportion to them, not to their square. The org it joins
   * is re-listed first and a policy replaced within its org is never taken out, so a reader never sees an
   * org without a policy it keeps.
   */
  private void apply(String policyId, QuotaPolicy policy) {
    QuotaPolicy old = policy == null ? byId.remove(policyId) : byId.put(policyId, policy);
    String from = old == null ? null : old.getOrgId();
    String to = policy == null ? null : policy.getOrgId();
    boolean leaves = from != null && !from.equals(to);
    if (leaves) {
      idsByOrg.get(from).remove(policyId);
    }
    if (to != null) {
      idsByOrg.computeIfAbsent(to, k -> new HashMap<>()).put(policyId, policy);
      relist(to);
    }
    if (leaves) {
      relist(from);
    }
  }

  private void relist(String orgId) {
    Map<String, QuotaPolicy> ids = idsByOrg.get(orgId);
    if (ids == null || ids.isEmpty()) {
      idsByOrg.remove(orgId);
      byOrg.remove(orgId);
    } else {
      byOrg.put(orgId, List.copyOf(ids.values()));
    }
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

  /** Orgs that have at least one policy (a live view: copy it to iterate while policies change). */
  public java.util.Set<String> orgs() {
    return byOrg.keySet();
  }
}
