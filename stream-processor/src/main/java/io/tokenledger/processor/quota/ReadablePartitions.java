package io.tokenledger.processor.quota;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The partitions whose quota spend this instance can read right now. A task's {@link QuotaProcessor} adds its
 * partition in {@code init}, which Kafka Streams calls once the task's stores are restored, and removes it in
 * {@code close}, called when the task is suspended, moved or closed (also before a task found corrupted is
 * wiped and restored again). Tracking readiness this way, rather than watching restores, leaves no window in
 * which a store is open but holds only part of its state.
 */
public final class ReadablePartitions {

  private final Set<Integer> partitions = ConcurrentHashMap.newKeySet();

  public boolean contains(int partition) {
    return partitions.contains(partition);
  }

  void add(int partition) {
    partitions.add(partition);
  }

  void remove(int partition) {
    partitions.remove(partition);
  }
}
