package io.tokenledger.processor;

import static io.tokenledger.processor.Fixtures.event;
import static io.tokenledger.processor.Fixtures.pricing;
import static io.tokenledger.processor.Fixtures.usd;
import static io.tokenledger.processor.Fixtures.version;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.tokenledger.avro.CostedUsage;
import io.tokenledger.avro.Enforcement;
import io.tokenledger.avro.QuotaBreach;
import io.tokenledger.avro.QuotaPolicy;
import io.tokenledger.avro.QuotaScope;
import io.tokenledger.avro.QuotaWindow;
import io.tokenledger.avro.UsageEvent;
import io.tokenledger.infra.Infra;
import io.tokenledger.infra.InfraExtension;
import io.tokenledger.infra.ServerProcess;
import io.tokenledger.processor.catalog.CatalogPublisher;
import io.tokenledger.schemas.RegistrySerdes;
import io.tokenledger.schemas.TopicAdmin;
import io.tokenledger.schemas.Topics;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.state.RocksDBConfigSetter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.rocksdb.Options;

/**
 * The processor as a separate JVM, killed with SIGKILL and stopped cleanly while events flow, restarted in
 * the same state directory or on an empty one; each instance also gets retries of events sent before it
 * started. A read_committed consumer sees every event costed exactly once, the exact total, and each quota
 * threshold alerted exactly once.
 */
@ExtendWith(InfraExtension.class)
class ProcessorKillIT {

  static final int EVENTS_PER_ROUND = 3_000;
  static final int RETRIES_PER_ROUND = 300;

  /**
   * Instances end: killed; stopped; killed after that clean restart; stopped after restarting from that crash
   * (its local stores are either wiped or back as at the clean stop: the log has batches they lack); then a
   * new instance.
   */
  @Test
  void shouldCostEveryEventOnceAndAlertOnceAcrossKillsRestartsAndANewInstance(Infra infra) throws Exception {
    run(infra, new boolean[] {true, false, true, false, false}, Map.of(), true, -1);
  }

  /**
   * Stopped cleanly, then killed with write buffers so small that RocksDB flushed while events flowed: the
   * killed instance's disk holds ids of events whose transaction never committed. Kafka Streams must find the
   * task corrupted and wipe it (with the default buffers it would roll back instead, as in the test above), or
   * those events would be dropped as duplicates when they are processed again.
   */
  @Test
  void shouldLoseNoEventWhenTheKilledInstanceHadFlushedUncommittedIds(Infra infra) throws Exception {
    // killed late in its round, so that every task has written past a buffer's worth
    Path dir = run(infra, new boolean[] {false, true, false}, Map.of("TOKENLEDGER_KAFKA_ROCKSDB_CONFIG_SETTER",
        TinyWriteBuffers.class.getName()), false, EVENTS_PER_ROUND * 9 / 10);
    assertThat(Files.readString(dir.resolve("processor-2.log"))).contains("corrupted");
  }

  /** RocksDB write buffers of 64 KiB: memtables flush every few hundred events. */
  public static final class TinyWriteBuffers implements RocksDBConfigSetter {
    @Override
    public void setConfig(String storeName, Options options, Map<String, Object> configs) {
      options.setWriteBufferSize(64 * 1024);
    }

    @Override
    public void close(String storeName, Options options) {}
  }

  /**
   * Runs one processor instance per round, each ended as {@code killed} says, in one state directory (the last
   * in a new one if {@code newInstanceLast}), sending each round's events and retries of earlier ones; an
   * instance is killed once {@code killAfter} of its round's events are costed (-1: a random 200 to 1,700).
   * Then checks every event costed once, the exact total and each alert once. Returns the directory of the logs.
   */
  private Path run(Infra infra, boolean[] killed, Map<String, String> extraEnv, boolean newInstanceLast,
      int killAfter) throws Exception {
    int rounds = killed.length;
    Topics topics = Topics.withPrefix(InfraExtension.uniqueName("kill") + ".").withPartitions(3);
    Map<String, Object> client = Map.of("bootstrap.servers", infra.kafkaBootstrap());
    RegistrySerdes serdes = createTopicsWithFlatPrice(infra, topics);
    Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
    try (KafkaProducer<String, QuotaPolicy> p = new KafkaProducer<>(client, new StringSerializer(),
        serdes.value(QuotaPolicy.class).serializer())) {
      p.send(new ProducerRecord<>(topics.quotaPolicies().name(), "p", QuotaPolicy.newBuilder().setPolicyId("p")
          .setOrgId("org-0").setScope(QuotaScope.ORG).setWindow(QuotaWindow.MONTH).setLimitUsd(usd("1000"))
          .setThresholdsPercent(List.of(25, 50, 75, 100)).setEnforcement(Enforcement.SOFT).setUpdatedAt(now).build())).get();
    }

    Path dir = Files.createTempDirectory("processor-kill");
    Map<String, String> env = processorEnv(infra, topics, dir.resolve("state"), 0);
    env.putAll(extraEnv);
    List<String> cmd = processorJvm();

    List<CostedUsage> costed = new CopyOnWriteArrayList<>();
    List<QuotaBreach> breaches = new CopyOnWriteArrayList<>();
    Thread reader = follow(infra, serdes, topics, costed, breaches);

    var ser = serdes.value(UsageEvent.class).serializer();
    Random random = new Random(11);
    BigDecimal expected = BigDecimal.ZERO;
    List<ProducerRecord<String, byte[]>> sentEvents = new ArrayList<>();
    try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(Map.of("bootstrap.servers", infra.kafkaBootstrap(),
        "acks", "all"), new StringSerializer(), new ByteArraySerializer())) {
      for (int round = 0; round < rounds; round++) {
        if (newInstanceLast && round == rounds - 1) {
          // the last instance is a new one: its state comes from the changelogs alone
          env.put("TOKENLEDGER_PROCESSOR_STATE_DIR", dir.resolve("state-of-another-instance").toString());
        }
        ServerProcess p = ServerProcess.start("processor-" + round, cmd, env, dir, dir.resolve("processor-" + round + ".log"));
        // retries (same key, same bytes) of events sent before this instance started, most of them costed: dropped
        for (int i = 0; i < RETRIES_PER_ROUND && !sentEvents.isEmpty(); i++) {
          producer.send(sentEvents.get(random.nextInt(sentEvents.size())));
        }
        for (int i = 0; i < EVENTS_PER_ROUND; i++) {
          int k = sentEvents.size();
          long tokens = 1_000_000L + random.nextInt(1_000_000); // $1 to $2 each at $1 per million
          expected = expected.add(BigDecimal.valueOf(tokens).movePointLeft(6));
          UsageEvent e = event("k-" + k, now.toString(), "acme", "flat").setOrgId("org-" + (k % 4)).setInputTokens(tokens).build();
          ProducerRecord<String, byte[]> r = new ProducerRecord<>(topics.usageEvents().name(), e.getOrgId(), ser.serialize("t", e));
          sentEvents.add(r);
          producer.send(r);
        }
        producer.flush();
        long before = costed.size();
        int drawn = 200 + random.nextInt(1_500);
        int target = killAfter < 0 ? drawn : killAfter;
        int total = sentEvents.size();
        boolean killNext = killed[round];
        try {
          await().atMost(Duration.ofSeconds(120)).until(() -> killNext ? costed.size() > before + target
              : costed.size() >= total);
        } catch (RuntimeException e) {
          System.err.println(p.tail(60));
          throw e;
        }
        if (killNext) {
          p.kill();
        } else {
          p.stop();
        }
      }
    }
    Thread.sleep(1_000); // a duplicate, had one been written, would be readable by now
    reader.interrupt();
    assertThat(costed).hasSize(rounds * EVENTS_PER_ROUND);
    assertThat(costed).extracting(c -> c.getEvent().getEventId()).doesNotHaveDuplicates();
    assertThat(costed.stream().map(CostedUsage::getTotalCost).reduce(BigDecimal.ZERO, BigDecimal::add))
        .isEqualByComparingTo(expected);
    // org-0 spends about $1,100 per round: past 25, 50, 75 and 100 % of $1,000 in the first, each alerted once
    assertThat(breaches).extracting(QuotaBreach::getThresholdPercent).containsExactlyInAnyOrder(25, 50, 75, 100);
    return dir;
  }

  /** Creates {@code topics} and publishes one price, $1 per million tokens in and out: acme/flat. */
  static RegistrySerdes createTopicsWithFlatPrice(Infra infra, Topics topics) {
    Map<String, Object> client = Map.of("bootstrap.servers", infra.kafkaBootstrap());
    TopicAdmin.ensure(client, topics.all(), (short) 1);
    RegistrySerdes serdes = new RegistrySerdes(infra.registryUrl());
    CatalogPublisher.publish(new HashMap<>(client), serdes, topics.pricingModels(), Map.of("acme/flat",
        pricing("acme", "flat", version("acme/flat@2020", "2020-01-01T00:00:00Z", "1", "1").build())));
    return serdes;
  }

  /** The command of a processor in a JVM of its own, to be killed; its settings come from {@link #processorEnv}. */
  static List<String> processorJvm() {
    return ServerProcess.javaCommand(List.of("-Xmx512m"), ProcessorMain.class.getName());
  }

  /** The environment of a processor JVM on {@code topics}, its state in {@code stateDir}, HTTP on {@code httpPort}. */
  static Map<String, String> processorEnv(Infra infra, Topics topics, Path stateDir, int httpPort) {
    Map<String, String> env = new HashMap<>();
    env.put("KAFKA_BOOTSTRAP", infra.kafkaBootstrap());
    env.put("SCHEMA_REGISTRY_URL", infra.registryUrl());
    env.put("TOKENLEDGER_TOPIC_PREFIX", topics.prefix());
    env.put("TOKENLEDGER_TOPIC_PARTITIONS", Integer.toString(topics.usageEvents().partitions()));
    env.put("TOKENLEDGER_PROCESSOR_APPLICATION_ID", topics.prefix() + "processor");
    env.put("TOKENLEDGER_PROCESSOR_STATE_DIR", stateDir.toString());
    env.put("TOKENLEDGER_PROCESSOR_HTTP_HOST", "127.0.0.1");
    env.put("TOKENLEDGER_PROCESSOR_HTTP_PORT", Integer.toString(httpPort));
    env.put("TOKENLEDGER_PROCESSOR_ADVERTISED_HOST", "127.0.0.1");
    // a killed instance never leaves the group: let the broker notice within seconds
    env.put("TOKENLEDGER_KAFKA_SESSION_TIMEOUT_MS", "6000");
    env.put("TOKENLEDGER_KAFKA_HEARTBEAT_INTERVAL_MS", "1000");
    return env;
  }

  /** Reads the costed events and the breaches, read_committed, into the lists given, until interrupted. */
  static Thread follow(Infra infra, RegistrySerdes serdes, Topics topics, List<CostedUsage> costed,
      List<QuotaBreach> breaches) {
    Thread t = new Thread(() -> {
      Map<String, Object> c = new HashMap<>();
      c.put("bootstrap.servers", infra.kafkaBootstrap());
      c.put("group.id", topics.prefix() + "reader");
      c.put("auto.offset.reset", "earliest");
      c.put("isolation.level", "read_committed");
      var costedDe = serdes.value(CostedUsage.class).deserializer();
      var breachDe = serdes.value(QuotaBreach.class).deserializer();
      try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(c, new StringDeserializer(),
          new org.apache.kafka.common.serialization.ByteArrayDeserializer())) {
        consumer.subscribe(new ArrayList<>(List.of(topics.usageCosted().name(), topics.quotaBreaches().name())));
        while (!Thread.currentThread().isInterrupted()) {
          for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
            if (r.topic().equals(topics.usageCosted().name())) {
              costed.add(costedDe.deserialize(r.topic(), r.value()));
            } else {
              breaches.add(breachDe.deserialize(r.topic(), r.value()));
            }
          }
        }
      } catch (org.apache.kafka.common.errors.InterruptException e) {
        // done
      }
    }, "follow-outputs");
    t.setDaemon(true);
    t.start();
    return t;
  }
}
