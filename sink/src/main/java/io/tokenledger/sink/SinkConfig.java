package io.tokenledger.sink;

import io.tokenledger.runtime.EnvConfig;
import io.tokenledger.schemas.Topics;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * The sink's settings, from environment variables (the README's configuration reference lists each). An
 * unknown {@code TOKENLEDGER_SINK_*} variable or an invalid value stops start-up with a message naming it.
 */
public record SinkConfig(String bootstrap, String registryUrl, Topics topics, String clickhouseUrl, String clickhouseUser,
    String clickhousePassword, String database, String groupId, int batchRows, Duration batchInterval,
    Duration insertTimeout, Duration maxBackoff, String httpHost, int httpPort, Map<String, String> kafkaOverrides) {

  /** ClickHouse writes one block per 1,048,576 rows by default; an insert must fit in one to be atomic. */
  static final int BLOCK_ROWS = 1_048_576;
  /** A batch is submitted once it holds this many rows, so it can hold one poll's records more. */
  public static final int MAX_BATCH_ROWS = 1_000_000;

  public static SinkConfig fromEnvironment(Map<String, String> env) {
    EnvConfig c = new EnvConfig(env, "TOKENLEDGER_SINK_");
    SinkConfig config = new SinkConfig(
        c.string("KAFKA_BOOTSTRAP", "localhost:9092"),
        c.string("SCHEMA_REGISTRY_URL", "http://localhost:8081"),
        Topics.withPrefix(c.string("TOKENLEDGER_TOPIC_PREFIX", "")),
        c.string("CLICKHOUSE_URL", "http://localhost:8123"),
        c.string("CLICKHOUSE_USER", "default"),
        c.string("CLICKHOUSE_PASSWORD", ""),
        c.string("CLICKHOUSE_DATABASE", "tokenledger"),
        c.string("TOKENLEDGER_SINK_GROUP_ID", "tokenledger-sink"),
        c.integer("TOKENLEDGER_SINK_BATCH_ROWS", 200_000, 1, MAX_BATCH_ROWS),
        c.duration("TOKENLEDGER_SINK_BATCH_INTERVAL", Duration.ofSeconds(1)),
        c.duration("TOKENLEDGER_SINK_INSERT_TIMEOUT", Duration.ofSeconds(60)),
        c.duration("TOKENLEDGER_SINK_MAX_BACKOFF", Duration.ofSeconds(30)),
        c.string("TOKENLEDGER_SINK_HTTP_HOST", "0.0.0.0"),
        c.integer("TOKENLEDGER_SINK_HTTP_PORT", 8091, 0, 65535),
        c.passThrough("TOKENLEDGER_KAFKA_"));
    c.finish();
    if (!config.database().matches("[A-Za-z_][A-Za-z0-9_]*")) {
      throw new IllegalArgumentException("CLICKHOUSE_DATABASE=" + config.database() + " is not a plain identifier");
    }
    String pollRecords = String.valueOf(config.consumerConfig().get("max.poll.records")).trim();
    if (!pollRecords.matches("[0-9]{1,9}")) {
      throw new IllegalArgumentException("TOKENLEDGER_KAFKA_MAX_POLL_RECORDS=" + pollRecords + " is not a number of records");
    }
    long most = config.batchRows() + Long.parseLong(pollRecords) - 1;
    if (most > BLOCK_ROWS) {
      throw new IllegalArgumentException("TOKENLEDGER_SINK_BATCH_ROWS + TOKENLEDGER_KAFKA_MAX_POLL_RECORDS - 1 = " + most
          + ": an insert could hold more rows than ClickHouse's block of " + BLOCK_ROWS + " and would no longer be atomic");
    }
    return config;
  }

  Map<String, Object> consumerConfig() {
    Map<String, Object> m = new HashMap<>();
    m.put("bootstrap.servers", bootstrap);
    m.put("group.id", groupId);
    m.put("enable.auto.commit", false);
    m.put("auto.offset.reset", "earliest");
    // only what the processor committed: never a row from an aborted transaction
    m.put("isolation.level", "read_committed");
    m.put("max.poll.records", 10_000);
    m.put("fetch.min.bytes", 64 * 1024);
    m.put("fetch.max.wait.ms", 200);
    m.put("max.partition.fetch.bytes", 8 * 1024 * 1024);
    m.putAll(kafkaOverrides);
    return m;
  }
}
