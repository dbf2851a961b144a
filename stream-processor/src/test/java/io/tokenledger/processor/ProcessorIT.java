package io.tokenledger.processor;

import static io.tokenledger.processor.Fixtures.event;
import static io.tokenledger.processor.Fixtures.pricing;
import static io.tokenledger.processor.Fixtures.usd;
import static io.tokenledger.processor.Fixtures.version;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.tokenledger.avro.CostedUsage;
import io.tokenledger.avro.DeadLetter;
import io.tokenledger.avro.Enforcement;
import io.tokenledger.avro.ModelPricing;
import io.tokenledger.avro.QuotaBreach;
import io.tokenledger.avro.QuotaPolicy;
import io.tokenledger.avro.QuotaScope;
import io.tokenledger.avro.QuotaWindow;
import io.tokenledger.avro.UnpricedUsage;
import io.tokenledger.avro.UsageEvent;
import io.tokenledger.infra.Infra;
import io.tokenledger.infra.InfraExtension;
import io.tokenledger.processor.catalog.CatalogMerge;
import io.tokenledger.processor.catalog.CatalogPublisher;
import io.tokenledger.producer.QuotaGuard;
import io.tokenledger.schemas.QuotaRules;
import io.tokenledger.schemas.RegistrySerdes;
import io.tokenledger.schemas.TopicAdmin;
import io.tokenledger.schemas.Topics;
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The processor against a real broker and the real registry: pricing, dead letters, quotas end to end. */
@ExtendWith(InfraExtension.class)
class ProcessorIT {

  final Infra infra;
  final RegistrySerdes serdes;
  final Topics topics = Topics.withPrefix(InfraExtension.uniqueName("proc") + ".").withPartitions(3);
  Path stateDir;
  ProcessorApp app;
  KafkaProducer<String, byte[]> producer;

  ProcessorIT(Infra infra) {
    this.infra = infra;
    this.serdes = new RegistrySerdes(infra.registryUrl());
  }

  @BeforeEach
  void start() throws Exception {
    stateDir = Files.createTempDirectory("processor-it");
    TopicAdmin.ensure(client(), topics.all(), (short) 1);
    producer = new KafkaProducer<>(Map.of("bootstrap.servers", infra.kafkaBootstrap(), "acks", "all"),
        new StringSerializer(), new ByteArraySerializer());
    app = startProcessor();
  }

  @AfterEach
  void stop() {
    producer.close();
    if (app != null) {
      app.close();
    }
  }

  Map<String, Object> client() {
    return Map.of("bootstrap.servers", infra.kafkaBootstrap());
  }

  ProcessorApp startProcessor() {
    Map<String, String> env = new HashMap<>();
    env.put("KAFKA_BOOTSTRAP", infra.kafkaBootstrap());
    env.put("SCHEMA_REGISTRY_URL", infra.registryUrl());
    env.put("TOKENLEDGER_TOPIC_PREFIX", topics.prefix());
    env.put("TOKENLEDGER_TOPIC_PARTITIONS", "3");
    env.put("TOKENLEDGER_PROCESSOR_APPLICATION_ID", topics.prefix() + "processor");
    env.put("TOKENLEDGER_PROCESSOR_STATE_DIR", stateDir.toString());
    env.put("TOKENLEDGER_PROCESSOR_HTTP_HOST", "127.0.0.1");
    env.put("TOKENLEDGER_PROCESSOR_HTTP_PORT", "0");
    env.put("TOKENLEDGER_PROCESSOR_ADVERTISED_HOST", "127.0.0.1");
    ProcessorApp started = ProcessorApp.start(ProcessorConfig.fromEnvironment(env));
    await().atMost(Duration.ofSeconds(60)).until(started::isRunning);
    return started;
  }

  void send(UsageEvent e) throws Exception {
    producer.send(new ProducerRecord<>(topics.usageEvents().name(), e.getOrgId(),
        serdes.value(UsageEvent.class).serializer().serialize(topics.usageEvents().name(), e))).get();
  }

  <T extends SpecificRecord> List<T> follow(String topic, Class<T> type, List<T> sink) {
    Thread t = new Thread(() -> {
      Map<String, Object> c = new HashMap<>(client());
      c.put("group.id", topic + "-reader");
      c.put("auto.offset.reset", "earliest");
      c.put("isolation.level", "read_committed");
      try (KafkaConsumer<String, T> consumer =
          new KafkaConsumer<>(c, new StringDeserializer(), serdes.value(type).deserializer())) {
        consumer.subscribe(List.of(topic));
        while (!Thread.currentThread().isInterrupted()) {
          for (ConsumerRecord<String, T> r : consumer.poll(Duration.ofMillis(200))) {
            sink.add(r.value());
          }
        }
      } catch (org.apache.kafka.common.errors.InterruptException e) {
        // test over
      }
    }, "follow-" + topic);
    t.setDaemon(true);
    t.start();
    return sink;
  }

  @Test
  void shouldPriceDeadLetterAndAlertThroughRealKafkaAndRegistry() throws Exception {
    Map<String, ModelPricing> catalog = Map.of(
        "acme/flat", pricing("acme", "flat", version("acme/flat@2020", "2020-01-01T00:00:00Z", "1", "2").build()),
        "openai/gpt-4o-mini", pricing("openai", "gpt-4o-mini",
            version("openai/gpt-4o-mini@2024-07-18", "2024-07-18T00:00:00Z", "0.15", "0.60")
                .setCachedInput(usd("0.075")).build()));
    CatalogMerge.Plan first = CatalogPublisher.publish(client(), serdes, topics.pricingModels(), catalog);
    CatalogMerge.Plan again = CatalogPublisher.publish(client(), serdes, topics.pricingModels(), catalog);
    assertThat(first.toPublish()).hasSize(2);
    assertThat(again.toPublish()).as("publishing the same catalog twice writes nothing").isEmpty();

    Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
    KafkaProducer<String, QuotaPolicy> policies = new KafkaProducer<>(client(), new StringSerializer(),
        serdes.value(QuotaPolicy.class).serializer());
    policies.send(new ProducerRecord<>(topics.quotaPolicies().name(), "org-q-daily", QuotaPolicy.newBuilder()
        .setPolicyId("org-q-daily").setOrgId("org-q").setScope(QuotaScope.ORG).setWindow(QuotaWindow.DAY)
        .setLimitUsd(usd("10")).setThresholdsPercent(List.of(50, 100)).setEnforcement(Enforcement.HARD)
        .setUpdatedAt(now).build())).get();
    policies.close();

    List<CostedUsage> costed = follow(topics.usageCosted().name(), CostedUsage.class, new CopyOnWriteArrayList<>());
    List<UnpricedUsage> unpriced = follow(topics.usageUnpriced().name(), UnpricedUsage.class, new CopyOnWriteArrayList<>());
    List<DeadLetter> dead = follow(topics.usageDlq().name(), DeadLetter.class, new CopyOnWriteArrayList<>());
    List<QuotaBreach> breaches = follow(topics.quotaBreaches().name(), QuotaBreach.class, new CopyOnWriteArrayList<>());

    QuotaGuard guard = new QuotaGuard(new HashMap<>(client()), serdes, topics, System::currentTimeMillis);
    assertThat(guard.awaitReady(Duration.ofSeconds(30))).isTrue();

    // 20 orgs × 10 calls priced, one duplicate, one unknown model, one garbage record
    BigDecimal expected = BigDecimal.ZERO;
    List<UsageEvent> sent = new ArrayList<>();
    for (int org = 0; org < 20; org++) {
      for (int i = 0; i < 10; i++) {
        UsageEvent e = event("e-" + org + "-" + i, now.toString(), "openai", "gpt-4o-mini-2024-07-18")
            .setOrgId("org-" + org).setInputTokens(1000 + i).setCachedInputTokens(500).setOutputTokens(200).build();
        sent.add(e);
        send(e);
        expected = expected.add(new BigDecimal("0.15").multiply(BigDecimal.valueOf(1000 + i))
            .add(new BigDecimal("0.075").multiply(BigDecimal.valueOf(500)))
            .add(new BigDecimal("0.60").multiply(BigDecimal.valueOf(200))).movePointLeft(6));
      }
    }
    send(sent.get(0));
    send(event("unknown", now.toString(), "openai", "gpt-17").setInputTokens(5).build());
    producer.send(new ProducerRecord<>(topics.usageEvents().name(), "org-1", new byte[] {0, 0, 0, 0, 42, 1, 2})).get();

    await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
      assertThat(costed).hasSize(200);
      assertThat(unpriced).hasSize(1);
      assertThat(dead).hasSize(1);
    });
    assertThat(costed.stream().map(CostedUsage::getTotalCost).reduce(BigDecimal.ZERO, BigDecimal::add))
        .isEqualByComparingTo(expected);
    assertThat(costed).extracting(c -> c.getEvent().getEventId()).doesNotHaveDuplicates();
    assertThat(unpriced.get(0).getReason()).contains("openai/gpt-17");
    assertThat(dead.get(0).getStage()).isEqualTo("deserialize");

    // quotas: $6 then $5 for org-q crosses 50 % and then 100 % of $10; the guard flips to deny within a second
    assertThat(guard.check("org-q", "user-1", "acme", "flat").verdict()).isEqualTo(QuotaRules.Verdict.ALLOW);
    send(event("q1", now.toString(), "acme", "flat").setOrgId("org-q").setInputTokens(6_000_000).build());
    await().atMost(Duration.ofSeconds(30)).until(() -> breaches.size() == 1);
    send(event("q2", now.toString(), "acme", "flat").setOrgId("org-q").setInputTokens(5_000_000).build());
    await().atMost(Duration.ofSeconds(30)).until(() -> breaches.size() == 2);
    long crossedAt = System.nanoTime();
    await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(20))
        .until(() -> guard.check("org-q", "user-1", "acme", "flat").verdict() == QuotaRules.Verdict.DENY);
    long flipMs = (System.nanoTime() - crossedAt) / 1_000_000;
    assertThat(flipMs).as("guard flip after the breach arrived, ms").isLessThan(1000);
    assertThat(breaches).extracting(QuotaBreach::getThresholdPercent).containsExactly(50, 100);

    HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
        "http://127.0.0.1:" + app.httpPort() + "/v1/quota?org_id=org-q&user_id=user-1")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(429);
    assertThat(r.headers().firstValue("Retry-After")).isPresent();
    assertThat(r.body()).contains("\"decision\":\"deny\"").contains("\"spend_usd\":\"11\"");

    // a restart restores spend and alerted thresholds: more spend alerts nothing again
    app.close();
    app = startProcessor();
    send(event("q3", now.toString(), "acme", "flat").setOrgId("org-q").setInputTokens(1_000_000).build());
    await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
      HttpResponse<String> after = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
          "http://127.0.0.1:" + app.httpPort() + "/v1/quota?org_id=org-q")).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(after.body()).contains("\"spend_usd\":\"12\"");
    });
    assertThat(breaches).hasSize(2);
    guard.close();
  }
}
