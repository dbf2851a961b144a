package io.tokenledger.processor;

import io.tokenledger.runtime.EnvConfig;
import io.tokenledger.schemas.Topics;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.function.UnaryOperator;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.streams.StreamsConfig;

/**
 * The stream processor's settings, from environment variables. Every setting, its default and meaning is
 * listed in the README's configuration reference; an unknown {@code TOKENLEDGER_PROCESSOR_*} variable or an
 * invalid value stops start-up with a message naming it.
 */
public record ProcessorConfig(String bootstrap, String registryUrl, String topicPrefix, String applicationId,
    int threads, String stateDir, String httpHost, int httpPort, String advertisedHost, Duration commitInterval,
    short replicationFactor, boolean createTopics, int partitions, TopologySettings topology,
    Map<String, String> kafkaOverrides) {

  public static ProcessorConfig fromEnvironment(Map<String, String> env) {
    EnvConfig c = new EnvConfig(env, "TOKENLEDGER_PROCESSOR_");
    String bootstrap = c.string("KAFKA_BOOTSTRAP", "localhost:9092");
    String registry = c.string("SCHEMA_REGISTRY_URL", "http://localhost:8081");
    String prefix = c.string("TOKENLEDGER_TOPIC_PREFIX", "");
    int partitions = c.integer("TOKENLEDGER_TOPIC_PARTITIONS", Topics.DEFAULT_PARTITIONS, 1, 10_000);
    Topics topics = Topics.withPrefix(prefix).withPartitions(partitions);
    TopologySettings topology = new TopologySettings(topics,
        c.duration("TOKENLEDGER_PROCESSOR_DEDUPE_RETENTION", TopologySettings.DEFAULT_DEDUPE_RETENTION),
        c.longValue("TOKENLEDGER_PROCESSOR_MAX_TOKENS_PER_CLASS", TopologySettings.DEFAULT_MAX_TOKENS_PER_CLASS, 1,
            Long.MAX_VALUE / 1_000_000),
        c.duration("TOKENLEDGER_PROCESSOR_MAX_FUTURE_SKEW", TopologySettings.DEFAULT_MAX_FUTURE_SKEW),
        c.duration("TOKENLEDGER_PROCESSOR_QUOTA_GRACE", TopologySettings.DEFAULT_QUOTA_GRACE),
        c.duration("TOKENLEDGER_PROCESSOR_QUOTA_STATUS_INTERVAL", TopologySettings.DEFAULT_STATUS_INTERVAL),
        c.integer("TOKENLEDGER_PROCESSOR_MAX_METADATA_BYTES", TopologySettings.DEFAULT_MAX_METADATA_BYTES, 0, 512 * 1024),
        c.bool("TOKENLEDGER_PROCESSOR_DEDUPE_UPGRADE_FROM_0_1", false));
    ProcessorConfig config = new ProcessorConfig(bootstrap, registry, prefix,
        c.string("TOKENLEDGER_PROCESSOR_APPLICATION_ID", "tokenledger-processor"),
        c.integer("TOKENLEDGER_PROCESSOR_THREADS", 1, 1, 64),
        c.string("TOKENLEDGER_PROCESSOR_STATE_DIR", ".tokenledger/processor-state"),
        c.string("TOKENLEDGER_PROCESSOR_HTTP_HOST", "0.0.0.0"),
        c.integer("TOKENLEDGER_PROCESSOR_HTTP_PORT", 8090, 0, 65535),
        c.string("TOKENLEDGER_PROCESSOR_ADVERTISED_HOST", "localhost"),
        c.duration("TOKENLEDGER_PROCESSOR_COMMIT_INTERVAL", Duration.ofMillis(100)),
        (short) c.integer("TOKENLEDGER_PROCESSOR_REPLICATION_FACTOR", -1, -1, 32),
        c.bool("TOKENLEDGER_PROCESSOR_CREATE_TOPICS", true),
        partitions, topology, c.passThrough("TOKENLEDGER_KAFKA_"));
    c.finish();
    return config;
  }

  /** Client settings shared by every Kafka client this process makes (admin, streams). */
  public Map<String, Object> clientConfig() {
    Map<String, Object> m = new HashMap<>();
    m.put("bootstrap.servers", bootstrap);
    m.putAll(kafkaOverrides);
    return m;
  }

  /** The Kafka Streams configuration: exactly-once, explicit internal names, and the operator's overrides. */
  public Properties streamsProperties(int actualHttpPort) {
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    p.put(StreamsConfig.ENSURE_EXPLICIT_INTERNAL_RESOURCE_NAMING_CONFIG, true);
    p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, threads);
    p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir);
    p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, commitInterval.toMillis());
    p.put(StreamsConfig.APPLICATION_SERVER_CONFIG, advertisedHost + ":" + actualHttpPort);
    p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, (int) replicationFactor);
    defaultClientSetting(p, StreamsConfig::producerPrefix, ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
    defaultClientSetting(p, StreamsConfig::producerPrefix, ProducerConfig.LINGER_MS_CONFIG, 10);
    defaultClientSetting(p, StreamsConfig::producerPrefix, ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024);
    defaultClientSetting(p, StreamsConfig::consumerPrefix, ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 2000);
    // a fetch waits for 64 KiB or 20 ms rather than answering with whatever a few events made: at a steady
    // rate that is far fewer fetch requests for the broker to serve, for at most 20 ms more latency
    defaultClientSetting(p, StreamsConfig::mainConsumerPrefix, ConsumerConfig.FETCH_MIN_BYTES_CONFIG, 64 * 1024);
    defaultClientSetting(p, StreamsConfig::mainConsumerPrefix, ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 20);
    // the catalog and policy stores get the same processing-error handling as the rest (the default: fail,
    // never skip); Kafka 5 makes this the default
    p.put(StreamsConfig.PROCESSING_EXCEPTION_HANDLER_GLOBAL_ENABLED_CONFIG, true);
    p.putAll(kafkaOverrides);
    return p;
  }

  /**
   * Sets one of our client defaults under a Kafka Streams prefix ({@code producer.}, {@code main.consumer.},
   * ...), unless the operator set that setting, with or without the prefix. Kafka
   * Streams lets a prefixed setting win over a plain one, so without this check {@code TOKENLEDGER_KAFKA_LINGER_MS}
   * would be silently ignored.
   */
  private void defaultClientSetting(Properties p, UnaryOperator<String> prefix, String setting, Object value) {
    if (!kafkaOverrides.containsKey(prefix.apply(setting)) && !kafkaOverrides.containsKey(setting)) {
      p.put(prefix.apply(setting), value);
    }
  }
}
