package io.tokenledger.schemas;

import java.util.Map;
import java.util.Objects;

/**
 * A topic's name and the settings it must be created with. Compacted topics hold the latest value per key
 * (prices, policies, quota status); the others are event streams retained by time.
 */
public record TopicSpec(String name, int partitions, boolean compacted, Map<String, String> configs) {

  public TopicSpec {
    Objects.requireNonNull(name, "name");
    if (partitions < 1) {
      throw new IllegalArgumentException("topic [" + name + "] needs at least one partition, got " + partitions);
    }
    configs = Map.copyOf(configs);
  }

  /** Creates a spec whose cleanup.policy follows {@code compacted}. */
  public static TopicSpec of(String name, int partitions, boolean compacted) {
    return new TopicSpec(name, partitions, compacted, Map.of("cleanup.policy", compacted ? "compact" : "delete"));
  }

  public TopicSpec withPartitions(int n) {
    return new TopicSpec(name, n, compacted, configs);
  }

  @Override
  public String toString() {
    return name;
  }
}
