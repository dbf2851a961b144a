package io.tokenledger.processor;

import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.tokenledger.runtime.OpsServer;
import io.tokenledger.schemas.RegistrySerdes;
import io.tokenledger.schemas.TopicAdmin;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Starts the stream processor: reads the configuration, builds the topology, serves health and metrics. */
public final class ProcessorMain {

  private static final Logger LOG = LoggerFactory.getLogger(ProcessorMain.class);

  private ProcessorMain() {}

  public static void main(String[] args) throws InterruptedException {
    ProcessorConfig config;
    try {
      config = ProcessorConfig.fromEnvironment(System.getenv());
    } catch (IllegalArgumentException e) {
      System.err.println("tokenledger processor: " + e.getMessage());
      System.exit(2);
      return;
    }
    PrometheusMeterRegistry registry = OpsServer.newRegistry();
    if (config.createTopics()) {
      TopicAdmin.ensure(config.clientConfig(), config.topology().topics().all(), config.replicationFactor());
    }
    StreamsBuilder builder = new StreamsBuilder();
    TokenLedgerTopology.build(builder, config.topology(), new RegistrySerdes(config.registryUrl()),
        new PipelineMetrics(registry));

    KafkaStreams[] streams = new KafkaStreams[1];
    OpsServer ops = new OpsServer(config.httpHost(), config.httpPort(), registry, () -> {
      KafkaStreams.State s = streams[0] == null ? KafkaStreams.State.CREATED : streams[0].state();
      return new OpsServer.Health(s == KafkaStreams.State.RUNNING || s == KafkaStreams.State.REBALANCING, s.name());
    });
    Topology topology = builder.build(config.streamsProperties(ops.port()));
    LOG.debug("topology:\n{}", topology.describe());
    streams[0] = new KafkaStreams(topology, config.streamsProperties(ops.port()));
    KafkaStreamsMetrics kafkaMetrics = new KafkaStreamsMetrics(streams[0]);
    kafkaMetrics.bindTo(registry);
    // A bug in a processor is not a bad record: replace the thread and go on, the failed batch is retried
    // from the last commit (exactly-once aborts the transaction).
    streams[0].setUncaughtExceptionHandler(e -> {
      LOG.error("stream thread failed; replacing it", e);
      return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
    });
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      LOG.info("stopping");
      streams[0].close(java.time.Duration.ofSeconds(30));
      kafkaMetrics.close();
      ops.close();
      stopped.countDown();
    }, "shutdown"));
    ops.start();
    streams[0].start();
    LOG.info("processor [{}] started: kafka [{}] registry [{}] topics prefix [{}] http port [{}]",
        config.applicationId(), config.bootstrap(), config.registryUrl(), config.topicPrefix(), ops.port());
    stopped.await();
  }
}
