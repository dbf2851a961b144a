package io.tokenledger.stack;

import io.tokenledger.avro.QuotaPolicy;
import io.tokenledger.infra.LocalClickHouse;
import io.tokenledger.infra.LocalKafka;
import io.tokenledger.infra.LocalRegistry;
import io.tokenledger.infra.Ports;
import io.tokenledger.processor.ProcessorApp;
import io.tokenledger.processor.ProcessorConfig;
import io.tokenledger.processor.catalog.CatalogFile;
import io.tokenledger.processor.catalog.CatalogPublisher;
import io.tokenledger.schemas.RegistrySerdes;
import io.tokenledger.schemas.TopicAdmin;
import io.tokenledger.schemas.Topics;
import io.tokenledger.sink.ClickHouse;
import io.tokenledger.sink.SinkApp;
import io.tokenledger.sink.SinkConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The whole pipeline on this machine: a real KRaft broker (in this JVM), the schema registry and ClickHouse
 * (child processes) with their data under one directory, the topics, the price catalog, the stream processor
 * and the sink. Used by the demo and the end-to-end harness.
 */
final class LocalStack implements AutoCloseable {

  final Path data;
  final LocalKafka kafka;
  final LocalRegistry registry;
  final LocalClickHouse clickhouse;
  final Topics topics = Topics.defaults();
  final RegistrySerdes serdes;
  final ProcessorApp processor;
  final SinkApp sink;
  final ClickHouse db;
  final int catalogModels;

  private LocalStack(Path data, LocalKafka kafka, LocalRegistry registry, LocalClickHouse clickhouse, ProcessorApp processor,
      SinkApp sink, int catalogModels) {
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
        LocalClickHouse.start(data.resolve("clickhouse"), Ports.free(), Ports.free(), Duration.ofSeconds(60)));
    CompletableFuture<LocalRegistry> regF = CompletableFuture.supplyAsync(() ->
        LocalRegistry.start(data.resolve("registry"), Ports.free(), Duration.ofSeconds(60)));
    LocalKafka kafka = LocalKafka.start(data.resolve("kafka"));
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
    Map<String, String> env = new HashMap<>();
    env.put("KAFKA_BOOTSTRAP", bootstrap);
    env.put("SCHEMA_REGISTRY_URL", registry.url());
    env.put("TOKENLEDGER_PROCESSOR_STATE_DIR", data.resolve("processor").toString());
    env.put("TOKENLEDGER_PROCESSOR_HTTP_HOST", "127.0.0.1");
    env.put("TOKENLEDGER_PROCESSOR_HTTP_PORT", "0");
    env.put("TOKENLEDGER_PROCESSOR_ADVERTISED_HOST", "127.0.0.1");
    ProcessorApp processor = ProcessorApp.start(ProcessorConfig.fromEnvironment(env));
    Map<String, String> sinkEnv = new HashMap<>();
    sinkEnv.put("KAFKA_BOOTSTRAP", bootstrap);
    sinkEnv.put("SCHEMA_REGISTRY_URL", registry.url());
    sinkEnv.put("CLICKHOUSE_URL", ch.url());
    sinkEnv.put("TOKENLEDGER_SINK_HTTP_HOST", "127.0.0.1");
    sinkEnv.put("TOKENLEDGER_SINK_HTTP_PORT", "0");
    sinkEnv.put("TOKENLEDGER_SINK_BATCH_INTERVAL", "500ms");
    SinkApp sink = SinkApp.start(SinkConfig.fromEnvironment(sinkEnv));
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (!processor.isRunning()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("the processor did not start within 60 s");
      }
      Thread.sleep(100);
    }
    return new LocalStack(data, kafka, registry, ch, processor, sink, catalog.size());
  }

  String bootstrap() {
    return kafka.bootstrapServers();
  }

  long count(String table) {
    try {
      return Long.parseLong(db.query("SELECT count() FROM tokenledger." + table).get(0).get(0));
    } catch (RuntimeException e) {
      return -1;
    }
  }

  /** A processor counter's value (summed over its tags), read from its Prometheus endpoint; -1 if unreadable. */
  long processorMetric(String name) {
    try {
      String body = new String(java.net.URI.create("http://127.0.0.1:" + processor.httpPort() + "/metrics").toURL()
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
    sink.close();
    processor.close();
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
