package io.tokenledger.schemas;

import java.util.List;

/**
 * Every topic of the pipeline, in one place. Build one from configuration ({@link #withPrefix}) so that
 * tests and several deployments on one cluster can use distinct names; nothing here is mutable.
 *
 * <p>Keys: usage topics and quota breaches are keyed by org id (per-org ordering and locality); pricing by
 * {@code provider/model}; policies and status by policy id.
 */
public final class Topics {

  /** Partitions of the event streams unless configured otherwise; compacted lookup topics use fewer. */
  public static final int DEFAULT_PARTITIONS = 6;

  private final String prefix;
  private final int partitions;

  private Topics(String prefix, int partitions) {
    this.prefix = prefix;
    this.partitions = partitions;
  }

  public static Topics defaults() {
    return new Topics("", DEFAULT_PARTITIONS);
  }

  /** Same topics, each name preceded by {@code prefix} (e.g. a test's unique id). */
  public static Topics withPrefix(String prefix) {
    return new Topics(prefix, DEFAULT_PARTITIONS);
  }

  public Topics withPartitions(int n) {
    return new Topics(prefix, n);
  }

  public String prefix() {
    return prefix;
  }

  /** Raw usage events, UsageEvent values, keyed by org id. */
  public TopicSpec usageEvents() {
    return TopicSpec.of(prefix + "usage.events", partitions, false);
  }

  /** Priced events, CostedUsage values, keyed by org id. */
  public TopicSpec usageCosted() {
    return TopicSpec.of(prefix + "usage.costed", partitions, false);
  }

  /** Valid events without a price in force, UnpricedUsage values, keyed by org id. */
  public TopicSpec usageUnpriced() {
    return TopicSpec.of(prefix + "usage.unpriced", partitions, false);
  }

  /** Records that could not be read or failed validation, DeadLetter values. */
  public TopicSpec usageDlq() {
    return TopicSpec.of(prefix + "usage.dlq", partitions, false);
  }

  /** Price catalog, ModelPricing values, keyed by {@code provider/model}; compacted. */
  public TopicSpec pricingModels() {
    return TopicSpec.of(prefix + "pricing.models", 1, true);
  }

  /** Quota policies, QuotaPolicy values, keyed by policy id; compacted, tombstone deletes. */
  public TopicSpec quotaPolicies() {
    return TopicSpec.of(prefix + "quota.policies", 1, true);
  }

  /** Current spend per policy and window, QuotaStatus values, keyed by policy id; compacted. */
  public TopicSpec quotaStatus() {
    return TopicSpec.of(prefix + "quota.status", partitions, true);
  }

  /** One alert per threshold crossed per window, QuotaBreach values, keyed by org id. */
  public TopicSpec quotaBreaches() {
    return TopicSpec.of(prefix + "quota.breaches", partitions, false);
  }

  public List<TopicSpec> all() {
    return List.of(usageEvents(), usageCosted(), usageUnpriced(), usageDlq(), pricingModels(), quotaPolicies(),
        quotaStatus(), quotaBreaches());
  }
}
