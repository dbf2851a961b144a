package io.tokenledger.processor;

import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.tokenledger.avro.CostedUsage;
import io.tokenledger.avro.DeadLetter;
import io.tokenledger.avro.QuotaBreach;
import io.tokenledger.avro.QuotaStatus;
import io.tokenledger.avro.UnpricedUsage;
import io.tokenledger.processor.quota.QuotaEndpoint;
import io.tokenledger.runtime.OpsServer;
import io.tokenledger.schemas.RegistrySerdes;
import io.tokenledger.schemas.TopicAdmin;
import io.tokenledger.schemas.Topics;
import java.time.Duration;
import java.util.Map;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.apache.kafka.streams.state.HostInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running stream processor: the Kafka Streams application and its HTTP endpoint (health, metrics, quota
 * status). {@link ProcessorMain} runs one until the process is stopped; tests run one in their JVM.
 */
public final class ProcessorApp implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(ProcessorApp.class);

  private final KafkaStreams streams;
  private final OpsServer ops;
  private final KafkaStreamsMetrics kafkaMetrics;

  private ProcessorApp(KafkaStreams streams, OpsServer ops, KafkaStreamsMetrics kafkaMetrics) {
    this.streams = streams;
    this.ops = ops;
    this.kafkaMetrics = kafkaMetrics;
  }

  public static ProcessorApp start(ProcessorConfig config) {
    PrometheusMeterRegistry registry = OpsServer.newRegistry();
    if (config.createTopics()) {
      TopicAdmin.ensure(config.clientConfig(), config.topology().topics().all(), config.replicationFactor());
    }
    RegistrySerdes serdes = new RegistrySerdes(config.registryUrl());
    Topics topics = config.topology().topics();
    serdes.register(Map.of(
        topics.usageCosted().name(), CostedUsage.getClassSchema(),
        topics.usageUnpriced().name(), UnpricedUsage.getClassSchema(),
        topics.usageDlq().name(), DeadLetter.getClassSchema(),
        topics.quotaBreaches().name(), QuotaBreach.getClassSchema(),
        topics.quotaStatus().name(), QuotaStatus.getClassSchema()));
    StreamsBuilder builder = new StreamsBuilder();
    TokenLedgerTopology.Handles handles = TokenLedgerTopology.build(builder, config.topology(), serdes,
        new PipelineMetrics(registry));

    KafkaStreams[] holder = new KafkaStreams[1];
    OpsServer ops = new OpsServer(config.httpHost(), config.httpPort(), registry, () -> {
      KafkaStreams.State s = holder[0] == null ? KafkaStreams.State.CREATED : holder[0].state();
      return new OpsServer.Health(s == KafkaStreams.State.RUNNING || s == KafkaStreams.State.REBALANCING, s.name());
    });
    Topology topology = builder.build(config.streamsProperties(ops.port()));
    LOG.debug("topology:\n{}", topology.describe());
    KafkaStreams streams = new KafkaStreams(topology, config.streamsProperties(ops.port()));
    holder[0] = streams;
    KafkaStreamsMetrics kafkaMetrics = new KafkaStreamsMetrics(streams);
    kafkaMetrics.bindTo(registry);
    // A failure inside a processor is a bug or an outage, not a bad record (those are dead-lettered): replace
    // the thread; exactly-once aborts the open transaction and the work is redone from the last commit.
    streams.setUncaughtExceptionHandler(e -> {
      LOG.error("stream thread failed; replacing it", e);
      return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
    });
    QuotaEndpoint quota = new QuotaEndpoint(streams, handles.policies(),
        new HostInfo(config.advertisedHost(), ops.port()), System::currentTimeMillis, handles.readable());
    ops.route(QuotaEndpoint.PATH, quota::handle);
    ops.start();
    streams.start();
    LOG.info("processor [{}] started: kafka [{}] registry [{}] topic prefix [{}] http port [{}]",
        config.applicationId(), config.bootstrap(), config.registryUrl(), config.topicPrefix(), ops.port());
    return new ProcessorApp(streams, ops, kafkaMetrics);
  }

  public KafkaStreams streams() {
    return streams;
  }

  public int httpPort() {
    return ops.port();
  }

  public boolean isRunning() {
    return streams.state() == KafkaStreams.State.RUNNING;
  }

  /**
   * Stops cleanly and leaves the consumer group, so that the partitions move to the other instances (or to
   * this one restarted) at once instead of after the session timeout.
   */
  @Override
  public void close() {
    streams.close(CloseOptions.groupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP)
        .withTimeout(Duration.ofSeconds(30)));
    kafkaMetrics.close();
    ops.close();
  }
}
