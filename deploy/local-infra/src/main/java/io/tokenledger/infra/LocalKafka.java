package io.tokenledger.infra;

import java.nio.file.Path;
import java.util.Map;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;

/**
 * A real single-node Kafka (KRaft, one combined broker and controller) inside this JVM, from Kafka's own
 * test kit. Configured like a one-node production cluster: replication factor 1 for internal topics so that
 * transactions (exactly-once) work, and no automatic topic creation, so a missing topic is an error.
 */
public final class LocalKafka implements AutoCloseable {

  /** Broker settings that make one node behave; exposed so a process-based broker can use the same. */
  public static final Map<String, String> SINGLE_NODE = Map.of(
      "offsets.topic.replication.factor", "1",
      "offsets.topic.num.partitions", "3",
      "transaction.state.log.replication.factor", "1",
      "transaction.state.log.min.isr", "1",
      "transaction.state.log.num.partitions", "3",
      "group.initial.rebalance.delay.ms", "0",
      "auto.create.topics.enable", "false",
      "num.partitions", "3");

  private final KafkaClusterTestKit cluster;

  private LocalKafka(KafkaClusterTestKit cluster) {
    this.cluster = cluster;
  }

  public static LocalKafka start(Path dir) {
    try {
      KafkaClusterTestKit.Builder b = new KafkaClusterTestKit.Builder(new TestKitNodes.Builder()
          .setCombined(true).setNumBrokerNodes(1).setNumControllerNodes(1).setBaseDirectory(dir).build());
      SINGLE_NODE.forEach(b::setConfigProp);
      KafkaClusterTestKit cluster = b.build();
      // formatting prints its bootstrap metadata to standard output; keep the caller's output readable
      java.io.PrintStream out = System.out;
      System.setOut(new java.io.PrintStream(java.io.OutputStream.nullOutputStream()));
      try {
        cluster.format();
      } finally {
        System.setOut(out);
      }
      cluster.startup();
      cluster.waitForReadyBrokers();
      return new LocalKafka(cluster);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted starting Kafka", e);
    } catch (Exception e) {
      throw new IllegalStateException("cannot start a local Kafka broker in " + dir + ": " + e.getMessage(), e);
    }
  }

  public String bootstrapServers() {
    return cluster.bootstrapServers();
  }

  @Override
  public void close() throws Exception {
    cluster.close();
  }
}
