package io.tokenledger.sink.bench;

import io.tokenledger.avro.CostedUsage;
import io.tokenledger.avro.UsageEvent;
import io.tokenledger.infra.Infra;
import io.tokenledger.schemas.RegistrySerdes;
import io.tokenledger.schemas.TopicAdmin;
import io.tokenledger.schemas.Topics;
import io.tokenledger.sink.ClickHouse;
import io.tokenledger.sink.SinkApp;
import io.tokenledger.sink.SinkConfig;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Sustained inserts through the sink into the local ClickHouse. Phase 1: N costed events already in Kafka;
 * the sink starts and loads them (rows/s). Phase 2: batches of events produced at a fixed rate; for each
 * batch, the time from its send to all of it being visible in ClickHouse (p50/p99 over batches).
 * Run: {@code ./tokenledger bench sink [N] [BATCH_ROWS]}.
 */
public final class SinkThroughput {

  public static void main(String[] args) throws Exception {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
    String batchRows = args.length > 1 ? args[1] : "100000";
    try (Infra infra = new Infra(Infra.Mode.LOCAL)) {
      Topics topics = Topics.withPrefix("sinkbench" + System.nanoTime() + ".");
      TopicAdmin.ensure(Map.of("bootstrap.servers", infra.kafkaBootstrap()), topics.all(), (short) 1);
      RegistrySerdes serdes = new RegistrySerdes(infra.registryUrl());
      var ser = serdes.value(CostedUsage.class).serializer();
      String topic = topics.usageCosted().name();
      Map<String, Object> pc = Map.of("bootstrap.servers", infra.kafkaBootstrap(), "acks", "all", "linger.ms", 20,
          "batch.size", 512 * 1024, "compression.type", "lz4");
      BigDecimal c = new BigDecimal("0.000123450000");
      try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(pc, new StringSerializer(), new ByteArraySerializer())) {
        for (int i = 0; i < n; i++) {
          p.send(new ProducerRecord<>(topic, "org-" + (i % 1000), ser.serialize(topic, costed(i, c))));
        }
        p.flush();
      }
      Infra.ClickHouseEndpoint ch = infra.clickhouse();
      Map<String, String> env = new HashMap<>();
      env.put("KAFKA_BOOTSTRAP", infra.kafkaBootstrap());
      env.put("SCHEMA_REGISTRY_URL", infra.registryUrl());
      env.put("TOKENLEDGER_TOPIC_PREFIX", topics.prefix());
      env.put("CLICKHOUSE_URL", ch.url());
      env.put("CLICKHOUSE_DATABASE", "bench");
      env.put("TOKENLEDGER_SINK_BATCH_ROWS", batchRows);
      env.put("TOKENLEDGER_SINK_HTTP_PORT", "0");
      ClickHouse db = new ClickHouse(ch.url(), ch.user(), ch.password(), null, 60_000);
      try (SinkApp sink = SinkApp.start(SinkConfig.fromEnvironment(env))) {
        long t0 = System.nanoTime();
        while (count(db) < n) {
          Thread.sleep(50);
        }
        double s = (System.nanoTime() - t0) / 1e9;
        System.out.printf("backlog: %,d rows in %.2f s = %,.0f rows/s (batch %s rows, from sink start incl. migrations)%n", n, s,
            n / s, batchRows);
        long[] lat = new long[20];
        try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(pc, new StringSerializer(), new ByteArraySerializer())) {
          long have = n;
          for (int b = 0; b < lat.length; b++) {
            long sent = System.nanoTime();
            for (int i = 0; i < 5_000; i++) {
              p.send(new ProducerRecord<>(topic, "org-" + (i % 1000), ser.serialize(topic, costed(n + b * 5_000 + i, c))));
            }
            p.flush();
            have += 5_000;
            while (count(db) < have) {
              Thread.sleep(10);
            }
            lat[b] = (System.nanoTime() - sent) / 1_000_000;
          }
        }
        Arrays.sort(lat);
        System.out.printf("latency, 5,000-row bursts from send to visible in ClickHouse: p50 %d ms, p99 %d ms%n",
            lat[lat.length / 2], lat[lat.length - 1]);
      }
    }
    System.exit(0);
  }

  static long count(ClickHouse db) {
    try {
      return Long.parseLong(db.query("SELECT count() FROM bench.usage_costs").get(0).get(0));
    } catch (RuntimeException e) {
      return 0;
    }
  }

  static CostedUsage costed(int i, BigDecimal c) {
    UsageEvent e = UsageEvent.newBuilder().setEventId("e" + i).setEventTime(Instant.parse("2026-11-24T10:00:00Z").plusMillis(i))
        .setOrgId("org-" + (i % 1000)).setUserId("u" + (i % 97)).setProvider("openai").setModel("gpt-4o-mini")
        .setInputTokens(800).setOutputTokens(200).setRequestType("chat").setEndpoint("/api/chat").setMetadata(Map.of()).build();
    BigDecimal z = BigDecimal.ZERO.setScale(12);
    return CostedUsage.newBuilder().setEvent(e).setInputCost(c).setCachedInputCost(z).setCacheWriteCost(z).setOutputCost(z)
        .setReasoningCost(z).setRequestFee(z).setTotalCost(c).setPricingKey("openai/gpt-4o-mini").setPriceVersionId("v1")
        .setPriceEffectiveFrom(Instant.parse("2024-07-18T00:00:00Z")).setPricedAt(Instant.parse("2026-11-24T10:00:01Z")).build();
  }
}
