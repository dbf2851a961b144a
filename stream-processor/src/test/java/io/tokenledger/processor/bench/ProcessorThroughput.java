package io.tokenledger.processor.bench;

import io.tokenledger.avro.ModelPricing;
import io.tokenledger.avro.PriceVersion;
import io.tokenledger.avro.QuotaPolicy;
import io.tokenledger.avro.UsageEvent;
import io.tokenledger.infra.Infra;
import io.tokenledger.processor.ProcessorApp;
import io.tokenledger.processor.ProcessorConfig;
import io.tokenledger.processor.catalog.CatalogPublisher;
import io.tokenledger.schemas.RegistrySerdes;
import io.tokenledger.schemas.TopicAdmin;
import io.tokenledger.schemas.Topics;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Processor throughput and latency against a real local broker and registry, exactly-once on.
 *
 * <p>Phase 1 (backlog): N events already in usage.events; the processor starts and drains them; reports
 * events/s from first to last costed output. Phase 2 (paced): events produced at a fixed rate for a few
 * seconds; reports p50/p99 latency from the producer's timestamp to the costed record being readable
 * (read_committed, so it includes the exactly-once commit interval).
 *
 * <p>Run: {@code ./tokenledger bench processor [events] [paced-rate] [quota-policies]}.
 */
public final class ProcessorThroughput {

  public static void main(String[] args) throws Exception {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 300_000;
    int rate = args.length > 1 ? Integer.parseInt(args[1]) : 10_000;
    int policies = args.length > 2 ? Integer.parseInt(args[2]) : 0;
    try (Infra infra = new Infra(Infra.Mode.LOCAL)) {
      run(infra, n, rate, policies);
    }
    System.exit(0);
  }

  static void run(Infra infra, int n, int rate, int policyCount) throws Exception {
    Topics topics = Topics.withPrefix("bench" + System.nanoTime() + ".");
    String bootstrap = infra.kafkaBootstrap();
    RegistrySerdes serdes = new RegistrySerdes(infra.registryUrl());
    Map<String, Object> client = Map.of("bootstrap.servers", bootstrap);
    TopicAdmin.ensure(client, topics.all(), (short) 1);
    String[] models = {"gpt-4o", "gpt-4o-mini", "o3", "claude-sonnet-4", "gemini-2.5-flash", "text-embedding-3-small"};
    Map<String, ModelPricing> catalog = new HashMap<>();
    for (String m : models) {
      catalog.put("p/" + m, ModelPricing.newBuilder().setProvider("p").setModel(m).setVersions(List.of(
          PriceVersion.newBuilder().setId(m + "@1").setEffectiveFrom(Instant.parse("2024-01-01T00:00:00Z"))
              .setInput(new BigDecimal("2.5").setScale(12)).setCachedInput(new BigDecimal("1.25").setScale(12))
              .setOutput(new BigDecimal("10").setScale(12)).build())).build());
    }
    CatalogPublisher.publish(new HashMap<>(client), serdes, topics.pricingModels(), catalog);
    if (policyCount > 0) {
      try (KafkaProducer<String, QuotaPolicy> p = new KafkaProducer<>(client, new StringSerializer(),
          serdes.value(QuotaPolicy.class).serializer())) {
        for (int i = 0; i < policyCount; i++) {
          String org = "org-" + (i % 1000);
          p.send(new ProducerRecord<>(topics.quotaPolicies().name(), "policy-" + i, QuotaPolicy.newBuilder()
              .setPolicyId("policy-" + i).setOrgId(org).setLimitUsd(new BigDecimal("1000000").setScale(12))
              .setScope(io.tokenledger.avro.QuotaScope.ORG).setWindow(io.tokenledger.avro.QuotaWindow.MONTH)
              .setEnforcement(io.tokenledger.avro.Enforcement.SOFT)
              .setUpdatedAt(Instant.now()).build()));
        }
      }
    }

    byte[][] payloads = new byte[4096][];
    String[] keys = new String[payloads.length];
    Random random = new Random(42);
    var ser = serdes.value(UsageEvent.class).serializer();
    Instant now = Instant.now();
    Map<String, Object> pc = new HashMap<>(client);
    pc.put("acks", "all");
    pc.put("linger.ms", 20);
    pc.put("batch.size", 512 * 1024);
    pc.put("compression.type", "lz4");
    try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(pc, new StringSerializer(), new ByteArraySerializer())) {
      long t0 = System.nanoTime();
      for (int i = 0; i < n; i++) {
        int k = i % payloads.length;
        if (payloads[k] == null || i < payloads.length) {
          keys[k] = "org-" + (int) Math.min(999, Math.abs(random.nextGaussian() * 200));
        }
        UsageEvent e = UsageEvent.newBuilder().setEventId(UUID.randomUUID().toString()).setEventTime(now)
            .setOrgId(keys[k]).setUserId("u" + (i % 50)).setProvider("p").setModel(models[i % models.length])
            .setInputTokens(500 + i % 1000).setCachedInputTokens(i % 3 == 0 ? 256 : 0).setOutputTokens(100 + i % 300)
            .setMetadata(Map.of()).build();
        producer.send(new ProducerRecord<>(topics.usageEvents().name(), keys[k], ser.serialize(topics.usageEvents().name(), e)));
      }
      producer.flush();
      System.out.printf("loaded %,d events in %.1f s%n", n, (System.nanoTime() - t0) / 1e9);
    }

    Map<String, String> env = new HashMap<>();
    env.put("KAFKA_BOOTSTRAP", bootstrap);
    env.put("SCHEMA_REGISTRY_URL", infra.registryUrl());
    env.put("TOKENLEDGER_TOPIC_PREFIX", topics.prefix());
    env.put("TOKENLEDGER_PROCESSOR_APPLICATION_ID", topics.prefix() + "processor");
    env.put("TOKENLEDGER_PROCESSOR_STATE_DIR", Files.createTempDirectory("bench-state").toString());
    env.put("TOKENLEDGER_PROCESSOR_HTTP_PORT", "0");
    env.put("TOKENLEDGER_PROCESSOR_THREADS", System.getProperty("threads", "2"));
    env.put("TOKENLEDGER_PROCESSOR_COMMIT_INTERVAL", System.getProperty("commit", "100ms"));

    Map<String, Object> cc = new HashMap<>(client);
    cc.put("group.id", "bench-reader-" + UUID.randomUUID());
    cc.put("auto.offset.reset", "earliest");
    cc.put("isolation.level", "read_committed");
    cc.put("max.poll.records", 5000);
    try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(cc, new StringDeserializer(), new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(topics.usageCosted().name()));
      consumer.poll(Duration.ofMillis(100));
      try (ProcessorApp app = ProcessorApp.start(ProcessorConfig.fromEnvironment(env))) {
        long start = System.nanoTime();
        long first = 0;
        int seen = 0;
        while (seen < n && System.nanoTime() - start < Duration.ofMinutes(10).toNanos()) {
          int got = consumer.poll(Duration.ofMillis(200)).count();
          if (got > 0 && first == 0) {
            first = System.nanoTime();
          }
          seen += got;
        }
        long end = System.nanoTime();
        System.out.printf("backlog: %,d costed in %.2f s from start (%.2f s from first output) = %,.0f events/s "
            + "(%,.0f from first output)%n", seen, (end - start) / 1e9, (end - first) / 1e9, seen / ((end - start) / 1e9),
            seen / ((end - first) / 1e9));

        // paced phase
        int seconds = 10;
        int total = rate * seconds;
        long[] latencies = new long[total];
        Thread producerThread = new Thread(() -> {
          try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(pc, new StringSerializer(), new ByteArraySerializer())) {
            long t0 = System.nanoTime();
            for (int i = 0; i < total; i++) {
              long due = t0 + (long) i * 1_000_000_000L / rate;
              while (System.nanoTime() < due) {
                Thread.onSpinWait();
              }
              UsageEvent e = UsageEvent.newBuilder().setEventId(UUID.randomUUID().toString()).setEventTime(Instant.now())
                  .setOrgId("org-" + (i % 1000)).setProvider("p").setModel(models[i % models.length]).setInputTokens(700)
                  .setOutputTokens(150).setMetadata(Map.of()).build();
              p.send(new ProducerRecord<>(topics.usageEvents().name(), null, System.currentTimeMillis(), e.getOrgId(),
                  ser.serialize(topics.usageEvents().name(), e)));
            }
          }
        });
        producerThread.start();
        int got = 0;
        long deadline = System.nanoTime() + Duration.ofSeconds(seconds + 60).toNanos();
        while (got < total && System.nanoTime() < deadline) {
          for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(50))) {
            if (got < total) {
              latencies[got++] = System.currentTimeMillis() - r.timestamp();
            }
          }
        }
        producerThread.join();
        long[] l = Arrays.copyOf(latencies, got);
        Arrays.sort(l);
        System.out.printf("paced: %,d events at %,d/s: latency p50 %d ms, p99 %d ms, max %d ms%n", got, rate,
            l[l.length / 2], l[(int) (l.length * 0.99)], l[l.length - 1]);
      }
    }
  }
}
