package io.tokenledger.stack;

import io.tokenledger.avro.QuotaPolicy;
import io.tokenledger.infra.LocalClickHouse;
import io.tokenledger.infra.Http;
import io.tokenledger.infra.KafkaProcess;
import io.tokenledger.infra.LocalRegistry;
import io.tokenledger.infra.Ports;
import io.tokenledger.infra.ServerProcess;
import io.tokenledger.processor.ProcessorMain;
import io.tokenledger.processor.catalog.CatalogFile;
import io.tokenledger.processor.catalog.CatalogPublisher;
import io.tokenledger.schemas.RegistrySerdes;
import io.tokenledger.schemas.TopicAdmin;
import io.tokenledger.schemas.Topics;
import io.tokenledger.sink.ClickHouse;
import io.tokenledger.sink.SinkMain;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The whole pipeline on this machine, each part in its own process as in production: a real KRaft broker,
 * the schema registry, ClickHouse, the stream processor and the sink, with their data and logs under one
 * directory; the topics, the price catalog and the given quota policies published. Any part can be killed
 * or stopped and started again (the harness's faults); each one's peak memory can be read from its pid.
 */
final class LocalStack implements AutoCloseable {

  final Path data;
  final KafkaProcess kafka;
  final LocalRegistry registry;
  final LocalClickHouse clickhouse;
  final Topics topics = Topics.defaults();
  final RegistrySerdes serdes;
  final Service processor;
  final Service sink;
  final ClickHouse db;
  final int catalogModels;

  /** The processor or the sink: a JVM of its own, its HTTP port (health, metrics) fixed across restarts. */
  static final class Service {
    final String name;
    final int httpPort;
    final ServerProcess process;
    private final Path dir;

    private Service(String name, Class<?> main, Map<String, String> env, int httpPort, Path dir) {
      this.name = name;
      this.httpPort = httpPort;
      this.dir = dir;
      List<String> cmd = ServerProcess.javaCommand(List.of("-Xmx512m", "-XX:+UseParallelGC"), main.getName());
      this.process = ServerProcess.start(name, cmd, env, dir, dir.resolve(name + ".out"));
    }

    int httpPort() {
      return httpPort;
    }

    /** SIGKILL, then the same command again: a crash and its replacement. */
    void killAndRestart() {
      process.kill();
      process.restart(dir);
    }

    /** Waits until its {@code /health} answers 200. */
    void awaitHealthy(Duration timeout) {
      Http.await("the " + name, timeout, process::isAlive, () -> Http.ok("http://127.0.0.1:" + httpPort + "/health"),
          () -> System.err.println(process.tail(40)));
    }
  }

  private LocalStack(Path data, KafkaProcess kafka, LocalRegistry registry, LocalClickHouse clickhouse, Service processor,
      Service sink, int catalogModels) {
    this.data = data;
    this.kafka = kafka;
    this.registry = registry;
    this.clickhouse = clickhouse;
    this.serdes = new RegistrySerdes(registry.url());
    this.processor = processor;
    this.sink = sink;
    this.db = new ClickHouse(clickhouse.url(), "default", "", null, 30_000);
    this.catalogModels = catalogModels;
  }

  /** Starts everything with fresh data under {@code data}, the catalog and {@code policies} published. */
  static LocalStack start(Path data, Path catalogFile, List<QuotaPolicy> policies) throws Exception {
    deleteTree(data);
    Files.createDirectories(data);
    CompletableFuture<LocalClickHouse> chF = CompletableFuture.supplyAsync(() ->
        LocalClickHouse.startOnFreePorts(data.resolve("clickhouse"), Duration.ofSeconds(60)));
    CompletableFuture<LocalRegistry> regF = CompletableFuture.supplyAsync(() ->
        LocalRegistry.startOnFreePort(data.resolve("registry"), Duration.ofSeconds(60)));
    KafkaProcess kafka = KafkaProcess.start(data.resolve("kafka"), Duration.ofSeconds(90));
    LocalClickHouse ch = chF.join();
    LocalRegistry registry = regF.join();
    String bootstrap = kafka.bootstrapServers();
    Topics topics = Topics.defaults();
    Map<String, Object> client = Map.of("bootstrap.servers", bootstrap);
    TopicAdmin.ensure(client, topics.all(), (short) 1);
    RegistrySerdes serdes = new RegistrySerdes(registry.url());
    var catalog = CatalogFile.read(catalogFile);
    CatalogPublisher.publish(new HashMap<>(client), serdes, topics.pricingModels(), catalog);
    try (KafkaProducer<String, QuotaPolicy> p = new KafkaProducer<>(client, new StringSerializer(),
        serdes.value(QuotaPolicy.class).serializer())) {
      for (QuotaPolicy policy : policies) {
        p.send(new ProducerRecord<>(topics.quotaPolicies().name(), policy.getPolicyId(), policy));
      }
    }
    Map<String, String> common = new HashMap<>();
    common.put("KAFKA_BOOTSTRAP", bootstrap);
    common.put("SCHEMA_REGISTRY_URL", registry.url());
    // a killed process never leaves its group: let the broker notice within seconds, not the default 45 s
    common.put("TOKENLEDGER_KAFKA_SESSION_TIMEOUT_MS", "6000");
    common.put("TOKENLEDGER_KAFKA_HEARTBEAT_INTERVAL_MS", "1000");
    Map<String, String> env = new HashMap<>(common);
    int processorPort = Ports.free();
    env.put("TOKENLEDGER_PROCESSOR_STATE_DIR", data.resolve("processor").toString());
    env.put("TOKENLEDGER_PROCESSOR_HTTP_HOST", "127.0.0.1");
    env.put("TOKENLEDGER_PROCESSOR_HTTP_PORT", Integer.toString(processorPort));
    env.put("TOKENLEDGER_PROCESSOR_ADVERTISED_HOST", "127.0.0.1");
    Service processor = new Service("processor", ProcessorMain.class, env, processorPort, data);
    Map<String, String> sinkEnv = new HashMap<>(common);
    int sinkPort = Ports.free();
    sinkEnv.put("CLICKHOUSE_URL", ch.url());
    sinkEnv.put("TOKENLEDGER_SINK_HTTP_HOST", "127.0.0.1");
    sinkEnv.put("TOKENLEDGER_SINK_HTTP_PORT", Integer.toString(sinkPort));
    Service sink = new Service("sink", SinkMain.class, sinkEnv, sinkPort, data);
    processor.awaitHealthy(Duration.ofSeconds(90));
    sink.awaitHealthy(Duration.ofSeconds(90));
    return new LocalStack(data, kafka, registry, ch, processor, sink, catalog.size());
  }

  String bootstrap() {
    return kafka.bootstrapServers();
  }

  /**
   * SQL for the rows in {@code table}'s active parts: read from part metadata, so as cheap on a large table as
   * on an empty one (ClickHouse 18.16 answers {@code count()} by reading a column of every row).
   */
  static String activeRowsSql(String table) {
    return "SELECT sum(rows) FROM system.parts WHERE database = 'tokenledger' AND table = '" + table + "' AND active";
  }

  /** The rows in {@code table}, from part metadata; -1 if ClickHouse does not answer. */
  long activeRows(String table) {
    try {
      return Long.parseLong(db.query(activeRowsSql(table)).get(0).get(0));
    } catch (RuntimeException e) {
      return -1;
    }
  }

  long count(String table) {
    try {
      return Long.parseLong(db.query("SELECT count() FROM tokenledger." + table).get(0).get(0));
    } catch (RuntimeException e) {
      return -1;
    }
  }

  /** How many committed records {@code topic} holds whose key passes {@code key} (read_committed, from the start). */
  long committedRecords(String topic, java.util.function.Predicate<String> key) {
    Map<String, Object> c = new HashMap<>();
    c.put("bootstrap.servers", bootstrap());
    c.put("isolation.level", "read_committed");
    c.put("enable.auto.commit", false);
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(c, new ByteArrayDeserializer(),
        new ByteArrayDeserializer())) {
      List<TopicPartition> partitions = consumer.partitionsFor(topic).stream()
          .map(p -> new TopicPartition(topic, p.partition())).toList();
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
      long count = 0;
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (partitions.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp)) && System.nanoTime() < deadline) {
        for (var r : consumer.poll(Duration.ofMillis(200))) {
          if (key.test(r.key() == null ? "" : new String(r.key(), java.nio.charset.StandardCharsets.UTF_8))) {
            count++;
          }
        }
      }
      return count;
    }
  }

  /** A processor counter's value (summed over its tags), read from its Prometheus endpoint; -1 if unreadable. */
  long processorMetric(String name) {
    try {
      String body = new String(java.net.URI.create("http://127.0.0.1:" + processor.httpPort + "/metrics").toURL()
          .openStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
      long sum = 0;
      for (String line : body.split("\n")) {
        if (line.startsWith(name + " ") || line.startsWith(name + "{")) {
          sum += (long) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
        }
      }
      return sum;
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  @Override
  public void close() {
    sink.process.close();
    processor.process.close();
    db.close();
    registry.close();
    clickhouse.close();
    try {
      kafka.close();
    } catch (Exception e) {
      // stopping anyway
    }
  }

  static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    try (var walk = Files.walk(root)) {
      walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
