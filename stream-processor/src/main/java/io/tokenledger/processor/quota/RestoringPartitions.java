package io.tokenledger.processor.quota;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.streams.processor.StateRestoreListener;

/**
 * The partitions of one store that are being restored from their changelog right now. Such a store can be
 * open, and readable, while it holds only part of its state: a task found corrupted is wiped and restored
 * while its stream thread stays running. A store's changelog partition is its task's partition.
 */
public final class RestoringPartitions implements StateRestoreListener {

  private final String store;
  private final Set<Integer> partitions = ConcurrentHashMap.newKeySet();

  public RestoringPartitions(String store) {
    this.store = store;
  }

  public boolean restoring(int partition) {
    return partitions.contains(partition);
  }

  @Override
  public void onRestoreStart(TopicPartition changelog, String storeName, long startingOffset, long endingOffset) {
    if (store.equals(storeName)) {
      partitions.add(changelog.partition());
    }
  }

  @Override
  public void onBatchRestored(TopicPartition changelog, String storeName, long batchEndOffset, long numRestored) {}

  @Override
  public void onRestoreEnd(TopicPartition changelog, String storeName, long totalRestored) {
    if (store.equals(storeName)) {
      partitions.remove(changelog.partition());
    }
  }

  @Override
  public void onRestoreSuspended(TopicPartition changelog, String storeName, long totalRestored) {
    onRestoreEnd(changelog, storeName, totalRestored);
  }
}
