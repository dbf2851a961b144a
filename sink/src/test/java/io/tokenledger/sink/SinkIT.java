package io.tokenledger.sink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.tokenledger.avro.CostedUsage;
import io.tokenledger.avro.Enforcement;
import io.tokenledger.avro.QuotaBreach;
import io.tokenledger.avro.QuotaScope;
import io.tokenledger.avro.QuotaWindow;
import io.tokenledger.avro.UnpricedUsage;
import io.tokenledger.avro.UsageEvent;
import io.tokenledger.infra.Infra;
import io.tokenledger.infra.InfraExtension;
import io.tokenledger.infra.ServerProcess;
import io.tokenledger.schemas.RegistrySerdes;
import io.tokenledger.schemas.TopicAdmin;
import io.tokenledger.schemas.Topics;
import io.tokenledger.sink.report.Report;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.time.LocalDate;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The sink against real Kafka, registry and ClickHouse: exact totals, rollups, crashes, a lost answer, an outage. */
@ExtendWith(InfraExtension.class)
class SinkIT {

  final Infra infra;
  final RegistrySerdes serdes;

  SinkIT(Infra infra) {
    this.infra = infra;
    this.serdes = new RegistrySerdes(infra.registryUrl());
  }

  /** A test's own topics and database. */
  final class Env {
    final String name = InfraExtension.uniqueName("sink");
    final Topics topics = Topics.withPrefix(name + ".").withPartitions(3);
    final Map<String, String> vars = new HashMap<>();
    final KafkaProducer<String, byte[]> producer;
    final ClickHouse db;
    BigDecimal producedTotal = BigDecimal.ZERO;
    int produced;

    Env(int batchRows) {
      TopicAdmin.ensure(Map.of("bootstrap.servers", infra.kafkaBootstrap()), topics.all(), (short) 1);
      Infra.ClickHouseEndpoint ch = infra.clickhouse();
      vars.put("KAFKA_BOOTSTRAP", infra.kafkaBootstrap());
      vars.put("SCHEMA_REGISTRY_URL", infra.registryUrl());
      vars.put("TOKENLEDGER_TOPIC_PREFIX", topics.prefix());
      vars.put("CLICKHOUSE_URL", ch.url());
      vars.put("CLICKHOUSE_USER", ch.user());
      vars.put("CLICKHOUSE_PASSWORD", ch.password());
      vars.put("CLICKHOUSE_DATABASE", name);
      vars.put("TOKENLEDGER_SINK_GROUP_ID", name);
      vars.put("TOKENLEDGER_SINK_BATCH_ROWS", Integer.toString(batchRows));
      vars.put("TOKENLEDGER_SINK_BATCH_INTERVAL", "200ms");
      vars.put("TOKENLEDGER_SINK_MAX_BACKOFF", "1s");
      vars.put("TOKENLEDGER_SINK_HTTP_HOST", "127.0.0.1");
      vars.put("TOKENLEDGER_SINK_HTTP_PORT", "0");
      // a killed sink never says goodbye: let the group notice within seconds, not the default 45
      vars.put("TOKENLEDGER_KAFKA_SESSION_TIMEOUT_MS", "6000");
      vars.put("TOKENLEDGER_KAFKA_HEARTBEAT_INTERVAL_MS", "1000");
      producer = new KafkaProducer<>(Map.of("bootstrap.servers", infra.kafkaBootstrap(), "acks", "all", "linger.ms", 5),
          new StringSerializer(), new ByteArraySerializer());
      db = new ClickHouse(ch.url(), ch.user(), ch.password(), name, 30_000);
      try (ClickHouse server = new ClickHouse(ch.url(), ch.user(), ch.password(), null, 30_000)) {
        Migrations.apply(server, db, name);
      }
    }

    void costed(int n, Random random) {
      var ser = serdes.value(CostedUsage.class).serializer();
      String topic = topics.usageCosted().name();
      for (int i = 0; i < n; i++) {
        int k = produced++;
        BigDecimal cost = BigDecimal.valueOf(random.nextInt(1_000_000_000) + 1L, 12).add(BigDecimal.valueOf(k % 7));
        producedTotal = producedTotal.add(cost);
        // a few events of last month: a batch then spans two table partitions
        Instant t = k % 50 == 0 ? Instant.parse("2026-10-31T23:59:59Z") : Instant.parse("2026-11-24T10:00:00Z").plusMillis(k);
        UsageEvent e = UsageEvent.newBuilder().setEventId("ev-" + k).setEventTime(t).setOrgId("org-" + (k % 13))
            .setUserId(k % 5 == 0 ? null : "user-" + (k % 17)).setProvider("openai").setModel("gpt-4o-mini")
            .setInputTokens(100 + k).setCachedInputTokens(k % 3).setOutputTokens(50).setRequestType("chat")
            .setEndpoint("/api/chat").setMetadata(Map.of("k", "v\"with\tquote")).build();
        CostedUsage c = CostedUsage.newBuilder().setEvent(e).setInputCost(cost).setCachedInputCost(zero())
            .setCacheWriteCost(zero()).setOutputCost(zero()).setReasoningCost(zero()).setRequestFee(zero())
            .setTotalCost(cost).setPricingKey("openai/gpt-4o-mini").setPriceVersionId("v1")
            .setPriceEffectiveFrom(Instant.parse("2024-07-18T00:00:00Z")).setPricedAt(Instant.now()).build();
        producer.send(new ProducerRecord<>(topic, e.getOrgId(), ser.serialize(topic, c)));
      }
      producer.flush();
    }

    Map<String, String> sinkEnv() {
      return vars;
    }

    /** Every row produced is in usage_costs once, the total exact, and the daily rollup counts each once. */
    void assertEveryRowOnce() {
      assertThat(one("SELECT uniqExact(event_id) FROM usage_costs")).isEqualTo(Integer.toString(produced));
      assertThat(one("SELECT count() FROM usage_costs")).isEqualTo(Integer.toString(produced));
      assertThat(new BigDecimal(one("SELECT toString(sum(cost_usd)) FROM usage_costs"))).isEqualByComparingTo(producedTotal);
      assertThat(new BigDecimal(one("SELECT toString(sum(cost_usd)) FROM usage_daily"))).isEqualByComparingTo(producedTotal);
      assertThat(one("SELECT sum(requests) FROM usage_daily")).isEqualTo(Integer.toString(produced));
    }

    /** The first column of the first row; table names in {@code sql} are qualified with this test's database. */
    String one(String sql) {
      String qualified = sql.replaceAll("\\b(FROM) (usage_costs|usage_daily|ai_usage_daily|usage_unpriced|quota_breaches|sink_dead_letters)\\b",
          "$1 " + name + ".$2");
      return db.query(qualified).get(0).get(0);
    }
  }

  /** The command of a sink in a JVM of its own, to be killed. */
  static List<String> sinkJvm() {
    return ServerProcess.javaCommand(List.of("-Xmx256m"), SinkMain.class.getName());
  }

  static BigDecimal zero() {
    return BigDecimal.ZERO.setScale(12);
  }

  @Test
  void shouldLoadEveryRecordOnceWithExactTotalsAndRollups() throws Exception {
    Env env = new Env(500);
    env.costed(3_000, new Random(1));
    // an unpriced event, a breach and a poison record
    UsageEvent e = UsageEvent.newBuilder().setEventId("u1").setEventTime(Instant.parse("2026-11-24T10:00:00Z"))
        .setOrgId("org-1").setProvider("openai").setModel("gpt-9").setMetadata(Map.of()).build();
    String unpricedTopic = env.topics.usageUnpriced().name();
    env.producer.send(new ProducerRecord<>(unpricedTopic, "org-1", serdes.value(UnpricedUsage.class).serializer()
        .serialize(unpricedTopic, UnpricedUsage.newBuilder().setEvent(e).setReason("no price for model openai/gpt-9")
            .setPricingKey("openai/gpt-9").setDetectedAt(Instant.now()).build())));
    String breachTopic = env.topics.quotaBreaches().name();
    env.producer.send(new ProducerRecord<>(breachTopic, "org-1", serdes.value(QuotaBreach.class).serializer()
        .serialize(breachTopic, QuotaBreach.newBuilder().setBreachId("p/2026-11-24/100").setPolicyId("p").setOrgId("org-1")
            .setScope(QuotaScope.ORG).setWindow(QuotaWindow.DAY).setWindowStart(Instant.parse("2026-11-24T00:00:00Z"))
            .setWindowEnd(Instant.parse("2026-11-25T00:00:00Z")).setThresholdPercent(100).setLimitUsd(zero())
            .setSpendUsd(zero()).setEnforcement(Enforcement.HARD).setDetectedAt(Instant.now()).build())));
    env.producer.send(new ProducerRecord<>(env.topics.usageCosted().name(), "org-1", new byte[] {0, 0, 0, 0, 1, 2}));
    env.producer.flush();

    try (SinkApp sink = SinkApp.start(SinkConfig.fromEnvironment(env.sinkEnv()))) {
      await().ignoreExceptions().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
        assertThat(env.one("SELECT count() FROM usage_costs")).isEqualTo("3000");
        assertThat(env.one("SELECT count() FROM sink_dead_letters")).isEqualTo("1");
        assertThat(env.one("SELECT count() FROM usage_unpriced")).isEqualTo("1");
        assertThat(env.one("SELECT count() FROM quota_breaches")).isEqualTo("1");
      });
    }
    assertThat(env.one("SELECT uniqExact(event_id) FROM usage_costs")).isEqualTo("3000");
    assertThat(new BigDecimal(env.one("SELECT toString(sum(cost_usd)) FROM usage_costs")))
        .isEqualByComparingTo(env.producedTotal);
    assertThat(new BigDecimal(env.one("SELECT toString(sum(cost_usd)) FROM usage_daily")))
        .isEqualByComparingTo(env.producedTotal);
    assertThat(env.one("SELECT sum(requests) FROM usage_daily")).isEqualTo("3000");
    assertThat(new BigDecimal(env.one("SELECT toString(sum(total_cost)) FROM ai_usage_daily")))
        .isEqualByComparingTo(env.producedTotal);
    assertThat(env.one("SELECT metadata FROM usage_costs WHERE event_id = 'ev-1'")).isEqualTo("{\"k\":\"v\\\"with\\tquote\"}");
    assertThat(env.one("SELECT user_id FROM usage_costs WHERE event_id = 'ev-5'")).isEmpty();
    assertThat(env.one("SELECT reason FROM usage_unpriced")).contains("gpt-9");

    // every report query runs on this server, and the totals agree to the last digit
    Report.Period period = new Report.Period(LocalDate.parse("2026-10-01"), LocalDate.parse("2026-12-01"), null);
    for (Map.Entry<String, String> q : Report.queries(env.name, period, 1, 10).entrySet()) {
      assertThat(env.db.query(q.getValue())).as(q.getKey()).isNotNull();
    }
    List<List<String>> totals = env.db.query(Report.queries(env.name, period, 1, 10).get("Totals"));
    assertThat(new BigDecimal(totals.get(0).get(6))).isEqualByComparingTo(env.producedTotal);
    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    Report.print(env.db, env.name, period, List.of("totals", "by model"), true, 1, 10, new PrintStream(printed, true, "UTF-8"));
    assertThat(printed.toString("UTF-8")).contains("# Totals").contains("calls,tokens").contains("openai,gpt-4o-mini,3000");
  }

  @Test
  void shouldNeitherLoseNorDuplicateWhenKilledMidBatch() throws Exception {
    Env env = new Env(700);
    Random random = new Random(7);
    Path dir = Files.createTempDirectory("sink-kill");
    List<String> cmd = sinkJvm();
    int rounds = 4;
    for (int round = 0; round < rounds; round++) {
      env.costed(5_000, random);
      ServerProcess p = ServerProcess.start("sink-" + round, cmd, env.sinkEnv(), dir, dir.resolve("sink-" + round + ".log"));
      // kill it once it has inserted something but before it can have finished this round
      long before = Long.parseLong(env.one("SELECT count() FROM usage_costs"));
      await().ignoreExceptions().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(20))
          .until(() -> Long.parseLong(env.one("SELECT count() FROM usage_costs")) > before + random.nextInt(2_000));
      p.kill();
      assertThat(p.isAlive()).isFalse();
    }
    ServerProcess last = ServerProcess.start("sink-last", cmd, env.sinkEnv(), dir, dir.resolve("sink-last.log"));
    try {
      await().ignoreExceptions().atMost(Duration.ofSeconds(90)).untilAsserted(() ->
          assertThat(env.one("SELECT count() FROM usage_costs")).isEqualTo(Integer.toString(env.produced)));
    } catch (AssertionError e) {
      System.err.println(last.tail(60));
      throw e;
    } finally {
      last.stop();
    }
    env.assertEveryRowOnce();
  }

  /**
   * Two instances share the partitions, as in the Kubernetes manifest; one is SIGKILLed mid-stream and the
   * other takes over its partitions (after the session timeout), resuming each from what ClickHouse holds.
   */
  @Test
  void shouldLoadEveryRowOnceWhenOneOfTwoInstancesIsKilled() throws Exception {
    Env env = new Env(500);
    Random random = new Random(5);
    Path dir = Files.createTempDirectory("sink-pair");
    ServerProcess killed = ServerProcess.start("sink-killed", sinkJvm(), env.sinkEnv(), dir, dir.resolve("sink-killed.log"));
    // it joins first and takes every partition; the second's arrival then shares them out
    await().atMost(Duration.ofSeconds(60)).until(() -> killed.tail(400).contains("resumes at offset"));
    try (SinkApp survivor = SinkApp.start(SinkConfig.fromEnvironment(env.sinkEnv()))) {
      env.costed(6_000, random);
      await().ignoreExceptions().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(20))
          .until(() -> Long.parseLong(env.one("SELECT count() FROM usage_costs")) > 1_500);
      killed.kill();
      env.costed(3_000, random);
      try {
        await().ignoreExceptions().atMost(Duration.ofSeconds(90)).untilAsserted(() ->
            assertThat(env.one("SELECT count() FROM usage_costs")).isEqualTo(Integer.toString(env.produced)));
      } catch (AssertionError e) {
        System.err.println(killed.tail(60));
        throw e;
      }
      assertThat(survivor.isAlive()).isTrue();
    } finally {
      killed.kill();
    }
    env.assertEveryRowOnce();
  }

  @Test
  void shouldNotInsertTwiceWhenTheAnswerToAnInsertIsLostAndChecksFailAWhile() throws Exception {
    Env env = new Env(1_000);
    URI clickhouse = URI.create(infra.clickhouse().url());
    Random random = new Random(11);
    try (LosingProxy proxy = new LosingProxy(clickhouse.getHost(), clickhouse.getPort())) {
      env.vars.put("CLICKHOUSE_URL", proxy.url());
      env.costed(1_000, random);
      try (SinkApp sink = SinkApp.start(SinkConfig.fromEnvironment(env.sinkEnv()))) {
        await().ignoreExceptions().atMost(Duration.ofSeconds(60)).until(() -> env.one("SELECT count() FROM usage_costs").equals("1000"));
        // the sink is idle: the next answer it waits for is an insert's, which lands but is never answered;
        // then ClickHouse seems down for 3 s, so the first checks whether it landed fail too
        proxy.loseNextAnswer(Duration.ofSeconds(3));
        env.costed(2_000, random);
        await().ignoreExceptions().atMost(Duration.ofSeconds(60)).until(() -> proxy.lost() == 1
            && env.one("SELECT count() FROM usage_costs").equals("3000"));
      } // closing waits for the insert in flight: a second copy would be in ClickHouse by now
    }
    assertThat(env.one("SELECT count() FROM usage_costs")).isEqualTo("3000");
    assertThat(env.one("SELECT uniqExact(event_id) FROM usage_costs")).isEqualTo("3000");
    assertThat(new BigDecimal(env.one("SELECT toString(sum(cost_usd)) FROM usage_costs"))).isEqualByComparingTo(env.producedTotal);
    assertThat(env.one("SELECT sum(requests) FROM usage_daily")).isEqualTo("3000");
  }

  @Test
  void shouldNotSayItIsReadyBeforeItsMigrationsRan() throws Exception {
    Env env = new Env(1_000);
    // a ClickHouse that takes the connection and never answers: the migrations wait for it
    try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      env.vars.put("CLICKHOUSE_URL", "http://127.0.0.1:" + silent.getLocalPort());
      env.vars.put("TOKENLEDGER_SINK_INSERT_TIMEOUT", "3s");
      try (SinkApp sink = SinkApp.start(SinkConfig.fromEnvironment(env.sinkEnv()))) {
        HttpResponse<String> health = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + sink.httpPort() + "/health")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(health.statusCode()).isEqualTo(503);
        assertThat(health.body()).contains("starting: applying migrations");
      }
    }
  }

  @Test
  void shouldWaitOutAClickHouseOutageAndARebalanceDuringItAndCatchUp() throws Exception {
    var local = infra.localClickHouse();
    assumeTrue(local.isPresent(), "stopping and restarting ClickHouse with its data needs the local server, "
        + "not a container (TOKENLEDGER_INFRA=containers)");
    Env env = new Env(1_000);
    Random random = new Random(3);
    env.costed(2_000, random);
    try (SinkApp sink = SinkApp.start(SinkConfig.fromEnvironment(env.sinkEnv()))) {
      await().ignoreExceptions().atMost(Duration.ofSeconds(60)).until(() -> env.one("SELECT count() FROM usage_costs").equals("2000"));
      local.get().process().stop();
      env.costed(3_000, random);
      // the sink notices the outage (its health turns DOWN) and keeps retrying
      HttpClient http = HttpClient.newHttpClient();
      URI health = URI.create("http://127.0.0.1:" + sink.httpPort() + "/health");
      await().ignoreExceptions().atMost(Duration.ofSeconds(30)).until(() ->
          http.send(HttpRequest.newBuilder(health).build(), HttpResponse.BodyHandlers.ofString()).statusCode() == 503);
      // with one batch retrying, more than a batch arrives: the next batch is full and consumption pauses;
      // then a second instance joins and the partitions are shared out while ClickHouse is still down:
      // the first must take up its share again
      env.costed(3_000, random);
      Thread.sleep(2_000);
      try (SinkApp second = SinkApp.start(SinkConfig.fromEnvironment(env.sinkEnv()))) {
        Thread.sleep(8_000);
        local.get().restart(Duration.ofSeconds(30));
        await().ignoreExceptions().atMost(Duration.ofSeconds(60)).until(() -> env.one("SELECT count() FROM usage_costs").equals("8000"));
        assertThat(sink.isAlive()).isTrue();
        assertThat(second.isAlive()).isTrue();
        // and both keep loading: more rows arrive for every partition, all of them land
        env.costed(1_000, random);
        await().ignoreExceptions().atMost(Duration.ofSeconds(60)).until(() -> env.one("SELECT count() FROM usage_costs").equals("9000"));
      }
    }
    assertThat(env.one("SELECT uniqExact(event_id) FROM usage_costs")).isEqualTo("9000");
    assertThat(new BigDecimal(env.one("SELECT toString(sum(cost_usd)) FROM usage_costs"))).isEqualByComparingTo(env.producedTotal);
  }
}
