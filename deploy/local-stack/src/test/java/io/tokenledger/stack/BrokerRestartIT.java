package io.tokenledger.stack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.tokenledger.avro.CostedUsage;
import io.tokenledger.avro.Enforcement;
import io.tokenledger.avro.ModelPricing;
import io.tokenledger.avro.PriceVersion;
import io.tokenledger.avro.QuotaBreach;
import io.tokenledger.avro.QuotaPolicy;
import io.tokenledger.avro.QuotaScope;
import io.tokenledger.avro.QuotaWindow;
import io.tokenledger.avro.UsageEvent;
import io.tokenledger.infra.Infra;
import io.tokenledger.infra.InfraExtension;
import io.tokenledger.infra.KafkaProcess;
import io.tokenledger.processor.ProcessorApp;
import io.tokenledger.processor.ProcessorConfig;
import io.tokenledger.processor.catalog.CatalogPublisher;
import io.tokenledger.producer.TrackerStats;
import io.tokenledger.producer.UsageTracker;
import io.tokenledger.schemas.RegistrySerdes;
import io.tokenledger.schemas.TopicAdmin;
import io.tokenledger.schemas.Topics;
import io.tokenledger.sink.ClickHouse;
import io.tokenledger.sink.SinkApp;
import io.tokenledger.sink.SinkConfig;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The broker restarted while events flow: once gracefully, once after SIGKILL, each time with events sent while
 * it is down. Producer-lib's tracker, the processor and the sink run as they would in production and recover on
 * their own; afterwards every event is costed exactly once (read_committed) at its exact cost, each quota
 * threshold alerted exactly once by the event that crossed it, and ClickHouse holds each event once with the
 * exact total.
 */
@ExtendWith(InfraExtension.class)
class BrokerRestartIT {

  private static final int EVENTS = 9_000;
  private static final Duration PROGRESS = Duration.ofSeconds(60);

  /** A quota alert as the test can predict it: which event crossed which threshold, at what spend. */
  record Alert(String policyId, int thresholdPercent, String eventId, BigDecimal spendUsd) {}

  @Test
  void shouldCostLoadAndAlertEveryEventOnceAcrossAGracefulAndAKilledBrokerRestart(Infra infra, @TempDir Path dir)
      throws Exception {
    CompletableFuture<String> registryStarted = CompletableFuture.supplyAsync(infra::registryUrl);
    CompletableFuture<Infra.ClickHouseEndpoint> clickhouseStarted = CompletableFuture.supplyAsync(infra::clickhouse);
    try (KafkaProcess broker = KafkaProcess.start(dir.resolve("kafka"), Duration.ofSeconds(60))) {
      String bootstrap = broker.bootstrapServers();
      String registry = registryStarted.join();
      Infra.ClickHouseEndpoint ch = clickhouseStarted.join();
      String name = InfraExtension.uniqueName("restart");
      Topics topics = Topics.withPrefix(name + ".").withPartitions(3);
      Map<String, Object> client = Map.of("bootstrap.servers", bootstrap);
      TopicAdmin.ensure(client, topics.all(), (short) 1);
      RegistrySerdes serdes = new RegistrySerdes(registry);
      Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
      // $1 per million input tokens, $2 per million output tokens
      CatalogPublisher.publish(new HashMap<>(client), serdes, topics.pricingModels(), Map.of("acme/flat",
          ModelPricing.newBuilder().setProvider("acme").setModel("flat").setVersions(List.of(PriceVersion.newBuilder()
              .setId("acme/flat@2020").setEffectiveFrom(Instant.parse("2020-01-01T00:00:00Z")).setCurrency("USD")
              .setInput(usd("1")).setOutput(usd("2")).build())).build()));
      // each org spends about $0.40 per event sent, $3,600 in all: thresholds are crossed before, between
      // and after the restarts (org-0 near events 2,000, 4,000, 6,000 and 8,000; org-1 near 3,500 and 7,000)
      List<QuotaPolicy> policies = List.of(
          policy("org0-month", "org-0", QuotaWindow.MONTH, "3200", List.of(25, 50, 75, 100), now),
          policy("org1-day", "org-1", QuotaWindow.DAY, "2800", List.of(50, 100), now));
      try (KafkaProducer<String, QuotaPolicy> p = new KafkaProducer<>(client, new StringSerializer(),
          serdes.value(QuotaPolicy.class).serializer())) {
        for (QuotaPolicy policy : policies) {
          p.send(new ProducerRecord<>(topics.quotaPolicies().name(), policy.getPolicyId(), policy)).get();
        }
      }

      // The events and what they must cost, computed here from the catalog's two prices.
      Random random = new Random(17);
      List<UsageEvent> events = new ArrayList<>();
      Map<String, BigDecimal> expectedCost = new LinkedHashMap<>();
      for (int k = 0; k < EVENTS; k++) {
        long input = 1_000_000L + random.nextInt(1_000_000);
        long output = random.nextInt(100_000);
        UsageEvent e = UsageEvent.newBuilder().setEventId("br-" + k).setEventTime(now).setOrgId("org-" + (k % 4))
            .setUserId("user-" + (k % 7)).setProvider("acme").setModel("flat").setInputTokens(input)
            .setOutputTokens(output).setMetadata(Map.of()).build();
        events.add(e);
        expectedCost.put(e.getEventId(), BigDecimal.valueOf(input).add(BigDecimal.valueOf(2 * output)).movePointLeft(6));
      }
      BigDecimal expectedTotal = expectedCost.values().stream().reduce(BigDecimal.ZERO, BigDecimal::add);
      List<Alert> expectedAlerts = expectedAlerts(policies, events, expectedCost);
      assertThat(expectedAlerts).as("the data crosses every threshold").hasSize(6);

      Map<String, String> processorEnv = new HashMap<>();
      processorEnv.put("KAFKA_BOOTSTRAP", bootstrap);
      processorEnv.put("SCHEMA_REGISTRY_URL", registry);
      processorEnv.put("TOKENLEDGER_TOPIC_PREFIX", topics.prefix());
      processorEnv.put("TOKENLEDGER_TOPIC_PARTITIONS", "3");
      processorEnv.put("TOKENLEDGER_PROCESSOR_APPLICATION_ID", topics.prefix() + "processor");
      processorEnv.put("TOKENLEDGER_PROCESSOR_STATE_DIR", dir.resolve("processor").toString());
      processorEnv.put("TOKENLEDGER_PROCESSOR_HTTP_HOST", "127.0.0.1");
      processorEnv.put("TOKENLEDGER_PROCESSOR_HTTP_PORT", "0");
      processorEnv.put("TOKENLEDGER_PROCESSOR_ADVERTISED_HOST", "127.0.0.1");
      Map<String, String> sinkEnv = new HashMap<>();
      sinkEnv.put("KAFKA_BOOTSTRAP", bootstrap);
      sinkEnv.put("SCHEMA_REGISTRY_URL", registry);
      sinkEnv.put("TOKENLEDGER_TOPIC_PREFIX", topics.prefix());
      sinkEnv.put("CLICKHOUSE_URL", ch.url());
      sinkEnv.put("CLICKHOUSE_USER", ch.user());
      sinkEnv.put("CLICKHOUSE_PASSWORD", ch.password());
      sinkEnv.put("CLICKHOUSE_DATABASE", name);
      sinkEnv.put("TOKENLEDGER_SINK_GROUP_ID", name);
      sinkEnv.put("TOKENLEDGER_SINK_BATCH_INTERVAL", "200ms");
      sinkEnv.put("TOKENLEDGER_SINK_HTTP_HOST", "127.0.0.1");
      sinkEnv.put("TOKENLEDGER_SINK_HTTP_PORT", "0");

      CountDownLatch firstRestart = new CountDownLatch(1);
      CountDownLatch secondRestart = new CountDownLatch(1);
      AtomicInteger tracked = new AtomicInteger();
      try (Outputs outputs = new Outputs(bootstrap, topics);
          ProcessorApp processor = ProcessorApp.start(ProcessorConfig.fromEnvironment(processorEnv));
          SinkApp sink = SinkApp.start(SinkConfig.fromEnvironment(sinkEnv));
          ClickHouse db = new ClickHouse(ch.url(), ch.user(), ch.password(), name, 30_000);
          UsageTracker tracker = UsageTracker.builder().bootstrapServers(bootstrap).registryUrl(registry)
              .topics(topics).serviceName("broker-restart-test").bufferCapacity(EVENTS).build()) {
        // About 1,000 events a second, held at a third and at two thirds until the broker goes down: the
        // restarts come while events flow, and events are sent while the broker is away.
        Thread load = new Thread(() -> {
          try {
            for (int k = 0; k < EVENTS; k++) {
              if (k == EVENTS / 3) {
                firstRestart.await();
              } else if (k == 2 * EVENTS / 3) {
                secondRestart.await();
              }
              tracker.track(events.get(k));
              tracked.incrementAndGet();
              if (k % 50 == 49) {
                Thread.sleep(50);
              }
            }
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }, "load");
        load.setDaemon(true);
        load.start();
        Function<String, Long> rows = table -> count(db, name + "." + table);
        try {
          // 1. graceful (SIGTERM: a controlled shutdown), while the load is still short of its first hold
          awaitProgress("flowing before the graceful restart", () -> tracked.get() >= EVENTS / 3 - 200
              && outputs.costed() >= EVENTS / 9 && rows.apply("usage_costs") > 0);
          firstRestart.countDown();
          broker.stop();
          broker.start();

          // 2. a crash (SIGKILL: nothing flushed or closed), once the processor and the sink have both done
          // work after the first restart (a third of the events had been sent when the broker stopped)
          awaitProgress("flowing after the graceful restart", () -> tracked.get() >= 2 * EVENTS / 3 - 200
              && outputs.costed() >= EVENTS / 2 && rows.apply("usage_costs") > EVENTS / 3);
          secondRestart.countDown();
          broker.kill();
          broker.start();
          load.join(PROGRESS.toMillis());
          assertThat(tracked.get()).isEqualTo(EVENTS);
          assertThat(tracker.flush(PROGRESS)).as("every event acknowledged by Kafka").isTrue();
          awaitProgress("every event costed", () -> outputs.costed() >= EVENTS);
          awaitProgress("every event loaded", () -> rows.apply("usage_costs") >= EVENTS);
          awaitProgress("every alert loaded", () -> rows.apply("quota_breaches") >= expectedAlerts.size());
        } catch (RuntimeException | AssertionError e) {
          System.err.println("tracker " + tracker.stats() + ", costed " + outputs.costed() + ", usage_costs "
              + rows.apply("usage_costs") + ", processor " + processor.streams().state() + ", sink alive "
              + sink.isAlive() + " failure " + sink.failure() + "\nKafka log " + broker.process().log() + ":\n"
              + broker.tail(80));
          throw e;
        } finally {
          firstRestart.countDown();
          secondRestart.countDown();
        }
        // the pipeline recovered by itself: nothing stopped on the way
        awaitProgress("processor running", processor::isRunning);
        assertThat(sink.isAlive()).as("sink running, failure: %s", sink.failure()).isTrue();
        TrackerStats stats = tracker.stats();
        assertThat(stats.sent()).as("sent, %s", stats).isEqualTo(EVENTS);
        assertThat(stats.failed()).as("failed, %s", stats).isZero();
        assertThat(stats.dropped()).as("dropped, %s", stats).isZero();
      }

      // With the processor and the sink stopped nothing more can be written: read everything committed.
      List<CostedUsage> costed = readCommitted(bootstrap, topics.usageCosted().name(),
          serdes.value(CostedUsage.class).deserializer());
      List<QuotaBreach> breaches = readCommitted(bootstrap, topics.quotaBreaches().name(),
          serdes.value(QuotaBreach.class).deserializer());
      List<String> ids = costed.stream().map(c -> c.getEvent().getEventId()).toList();
      assertThat(ids).hasSize(EVENTS).doesNotHaveDuplicates();
      assertThat(new HashSet<>(ids)).isEqualTo(expectedCost.keySet());
      for (CostedUsage c : costed) {
        assertThat(c.getTotalCost()).as(c.getEvent().getEventId()).isEqualByComparingTo(expectedCost.get(c.getEvent().getEventId()));
      }
      assertThat(costed.stream().map(CostedUsage::getTotalCost).reduce(BigDecimal.ZERO, BigDecimal::add))
          .isEqualByComparingTo(expectedTotal);
      assertThat(breaches).extracting(b -> new Alert(b.getPolicyId(), b.getThresholdPercent(), b.getEventId(),
          b.getSpendUsd().setScale(12))).containsExactlyInAnyOrderElementsOf(expectedAlerts);
      assertThat(readCommitted(bootstrap, topics.usageUnpriced().name(), new ByteArrayDeserializer())).isEmpty();
      assertThat(readCommitted(bootstrap, topics.usageDlq().name(), new ByteArrayDeserializer())).isEmpty();

      try (ClickHouse db = new ClickHouse(ch.url(), ch.user(), ch.password(), name, 30_000)) {
        assertThat(one(db, "SELECT count() FROM " + name + ".usage_costs")).isEqualTo(Integer.toString(EVENTS));
        assertThat(one(db, "SELECT uniqExact(event_id) FROM " + name + ".usage_costs")).isEqualTo(Integer.toString(EVENTS));
        assertThat(new BigDecimal(one(db, "SELECT toString(sum(cost_usd)) FROM " + name + ".usage_costs")))
            .isEqualByComparingTo(expectedTotal);
        assertThat(one(db, "SELECT sum(requests) FROM " + name + ".usage_daily")).isEqualTo(Integer.toString(EVENTS));
        assertThat(new BigDecimal(one(db, "SELECT toString(sum(cost_usd)) FROM " + name + ".usage_daily")))
            .isEqualByComparingTo(expectedTotal);
        assertThat(one(db, "SELECT count() FROM " + name + ".quota_breaches"))
            .isEqualTo(Integer.toString(expectedAlerts.size()));
        assertThat(one(db, "SELECT uniqExact(breach_id) FROM " + name + ".quota_breaches"))
            .isEqualTo(Integer.toString(expectedAlerts.size()));
        assertThat(one(db, "SELECT count() FROM " + name + ".sink_dead_letters")).isEqualTo("0");
      }
    }
  }

  /** Per policy, in each org's send order (one partition, one idempotent producer): who crosses what. */
  private static List<Alert> expectedAlerts(List<QuotaPolicy> policies, List<UsageEvent> events,
      Map<String, BigDecimal> cost) {
    List<Alert> alerts = new ArrayList<>();
    for (QuotaPolicy p : policies) {
      BigDecimal spend = BigDecimal.ZERO;
      List<Integer> open = new ArrayList<>(p.getThresholdsPercent());
      for (UsageEvent e : events) {
        if (!e.getOrgId().equals(p.getOrgId())) {
          continue;
        }
        spend = spend.add(cost.get(e.getEventId()));
        for (Integer t : List.copyOf(open)) {
          if (spend.compareTo(p.getLimitUsd().multiply(BigDecimal.valueOf(t)).movePointLeft(2)) >= 0) {
            alerts.add(new Alert(p.getPolicyId(), t, e.getEventId(), spend.setScale(12)));
            open.remove(t);
          }
        }
      }
    }
    return alerts;
  }

  private static QuotaPolicy policy(String id, String org, QuotaWindow window, String limit, List<Integer> thresholds,
      Instant now) {
    return QuotaPolicy.newBuilder().setPolicyId(id).setOrgId(org).setScope(QuotaScope.ORG).setWindow(window)
        .setLimitUsd(usd(limit)).setThresholdsPercent(thresholds).setEnforcement(Enforcement.SOFT).setUpdatedAt(now)
        .build();
  }

  private static BigDecimal usd(String s) {
    return new BigDecimal(s).setScale(12);
  }

  private static void awaitProgress(String what, Callable<Boolean> condition) {
    await(what).atMost(PROGRESS).pollInterval(Duration.ofMillis(100)).until(condition);
  }

  /** Rows in {@code table}; -1 while ClickHouse cannot tell (e.g. before the sink created the table). */
  private static long count(ClickHouse db, String table) {
    try {
      return Long.parseLong(one(db, "SELECT count() FROM " + table));
    } catch (RuntimeException e) {
      return -1;
    }
  }

  private static String one(ClickHouse db, String sql) {
    return db.query(sql).get(0).get(0);
  }

  /** Every committed record of {@code topic}, from the beginning to its last stable offset. */
  private static <V> List<V> readCommitted(String bootstrap, String topic, Deserializer<V> values) {
    Map<String, Object> c = Map.of("bootstrap.servers", bootstrap, "isolation.level", "read_committed");
    List<V> out = new ArrayList<>();
    try (KafkaConsumer<String, V> consumer = new KafkaConsumer<>(c, new StringDeserializer(), values)) {
      List<TopicPartition> partitions = consumer.partitionsFor(topic).stream()
          .map(p -> new TopicPartition(topic, p.partition())).toList();
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
      long deadline = System.nanoTime() + PROGRESS.toNanos();
      while (partitions.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
        assertThat(System.nanoTime()).as("reading %s to its end", topic).isLessThan(deadline);
        for (ConsumerRecord<String, V> r : consumer.poll(Duration.ofMillis(200))) {
          out.add(r.value());
        }
      }
    }
    return out;
  }

  /**
   * Follows {@code usage.costed} (read_committed) to measure the processor's progress. Partitions are assigned,
   * not subscribed: a group would rebalance around the restarts, and progress must not count a record twice.
   */
  private static final class Outputs implements AutoCloseable {
    private final AtomicInteger costed = new AtomicInteger();
    private final Thread thread;
    private volatile boolean running = true;

    Outputs(String bootstrap, Topics topics) {
      thread = new Thread(() -> {
        String topic = topics.usageCosted().name();
        Map<String, Object> c = Map.of("bootstrap.servers", bootstrap, "isolation.level", "read_committed",
            "auto.offset.reset", "earliest");
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(c, new StringDeserializer(),
            new ByteArrayDeserializer())) {
          List<TopicPartition> partitions = new ArrayList<>();
          for (int p = 0; p < topics.usageCosted().partitions(); p++) {
            partitions.add(new TopicPartition(topic, p));
          }
          consumer.assign(partitions);
          while (running) {
            costed.addAndGet(consumer.poll(Duration.ofMillis(100)).count());
          }
        }
      }, "follow-costed");
      thread.setDaemon(true);
      thread.start();
    }

    int costed() {
      return costed.get();
    }

    @Override
    public void close() {
      running = false;
      try {
        thread.join(10_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
