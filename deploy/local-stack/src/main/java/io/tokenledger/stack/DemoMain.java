package io.tokenledger.stack;

import io.tokenledger.infra.LocalClickHouse;
import io.tokenledger.infra.LocalRegistry;
import io.tokenledger.producer.Usage;
import io.tokenledger.producer.UsageTracker;
import io.tokenledger.schemas.Topics;
import io.tokenledger.sink.ClickHouse;
import io.tokenledger.sink.report.Report;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * {@code ./tokenledger demo [--keep]}: the whole pipeline on this machine. Starts a real Kafka broker
 * (KRaft), the schema registry and ClickHouse with their data under {@code .tokenledger/data}, creates the
 * topics, publishes the default price catalog and a few quota policies, starts the stream processor and the
 * sink, emits demo traffic through producer-lib, and prints a cost report from ClickHouse, the quota breaches
 * that fired and the unpriced and dead-lettered counts. Endpoints go to {@code .tokenledger/endpoints.env}.
 * With {@code --keep} the stack stays up until {@code ./tokenledger stop}.
 */
public final class DemoMain {

  private static final String[][] MODELS = {
      {"openai", "gpt-4o-2024-08-06"}, {"openai", "gpt-4o-mini"}, {"openai", "o3"}, {"openai", "text-embedding-3-small"},
      {"anthropic", "claude-sonnet-4-5-20250929"}, {"anthropic", "claude-haiku-4-5"}, {"google", "gemini-2.5-flash"},
      {"google", "gemini-2.5-pro"}, {"xai", "grok-4"}};
  private static final String[] ORGS = {"acme", "globex", "initech", "umbrella"};
  private static final String[] USERS = {"alice", "bob", "carol", "dave", "erin"};
  private static final String[] ENDPOINTS = {"/api/chat", "/lessons/generate-quiz", "/api/summarize", "/api/search"};

  private DemoMain() {}

  public static void main(String[] args) {
    try {
      run(args);
    } catch (Exception e) {
      System.err.println("\ntokenledger demo failed: " + e.getMessage() + "\n(logs: .tokenledger/stack.log)");
      System.exit(1); // shutdown hooks stop the registry and ClickHouse processes this JVM started
    }
  }

  private static void run(String[] args) throws Exception {
    boolean keep = List.of(args).contains("--keep");
    int events = 2_000;
    Path home = Path.of(".tokenledger").toAbsolutePath();
    Path data = home.resolve("data");
    long t0 = System.nanoTime();
    step("starting Kafka (KRaft), the schema registry and ClickHouse under " + data + ", then the processor and the sink");
    LocalStack stack = LocalStack.start(data, Path.of("deploy/catalog/pricing-catalog.json"), DemoPolicies.all(Instant.now()));
    step("published the price catalog (" + stack.catalogModels + " models) and " + DemoPolicies.all(Instant.now()).size()
        + " quota policies; stream processor and sink running");
    String bootstrap = stack.bootstrap();
    Topics topics = stack.topics;
    Map<String, Object> client = Map.of("bootstrap.servers", bootstrap);
    LocalRegistry registry = stack.registry;
    LocalClickHouse ch = stack.clickhouse;
    LocalStack.Service processor = stack.processor;
    LocalStack.Service sink = stack.sink;

    Files.writeString(home.resolve("endpoints.env"), String.join("\n",
        "KAFKA_BOOTSTRAP=" + bootstrap,
        "SCHEMA_REGISTRY_URL=" + registry.url() + "/apis/ccompat/v7",
        "CLICKHOUSE_URL=" + ch.url(),
        "CLICKHOUSE_DATABASE=tokenledger",
        "QUOTA_URL=http://127.0.0.1:" + processor.httpPort() + "/v1/quota",
        "PROCESSOR_METRICS_URL=http://127.0.0.1:" + processor.httpPort() + "/metrics",
        "SINK_METRICS_URL=http://127.0.0.1:" + sink.httpPort() + "/metrics", ""));

    // demo traffic through producer-lib: several orgs, users and models, cached and reasoning tokens
    UsageTracker tracker = UsageTracker.builder().bootstrapServers(bootstrap).registryUrl(registry.url())
        .serviceName("demo").build();
    Random r = new Random(2026);
    Instant now = Instant.now();
    Usage retried = null;
    for (int i = 0; i < events; i++) {
      String[] m = MODELS[r.nextInt(MODELS.length)];
      boolean reasoning = m[1].startsWith("o3") || m[1].startsWith("gemini-2.5-pro") || m[1].startsWith("grok");
      // most calls in the last two hours (daily quotas see them), the rest spread over the two days before
      long ago = r.nextInt(10) < 7 ? r.nextInt(7_200) : 7_200 + r.nextInt(2 * 86_400);
      Usage usage = Usage.builder().eventId("demo-" + i).eventTime(now.minusSeconds(ago))
          .orgId(ORGS[Math.min(ORGS.length - 1, (int) Math.abs(r.nextGaussian() * 1.3))])
          .userId(USERS[r.nextInt(USERS.length)]).provider(m[0]).model(m[1])
          .inputTokens(200 + r.nextInt(4_000)).cachedInputTokens(r.nextInt(3) == 0 ? 1_024 + r.nextInt(4_000) : 0)
          .cacheWrite5mTokens(m[0].equals("anthropic") && r.nextInt(5) == 0 ? 2_048 : 0)
          .outputTokens(m[1].startsWith("text-embedding") ? 0 : 50 + r.nextInt(1_500))
          .reasoningTokens(reasoning ? r.nextInt(3_000) : 0).latencyMs(200 + r.nextInt(3_000))
          .endpoint(ENDPOINTS[r.nextInt(ENDPOINTS.length)]).requestType(m[1].startsWith("text-embedding") ? "embedding" : "chat")
          .build();
      tracker.track(usage);
      retried = i == 7 ? usage : retried;
      if ((i + 1) % 500 == 0) {
        System.out.printf("\r  emitted %,d / %,d events", i + 1, events);
      }
    }
    System.out.println();
    // a retry of an event already sent, a self-hosted model with no price, and a malformed record
    tracker.track(retried);
    tracker.track(Usage.builder().orgId("initech").userId("bob").provider("ollama").model("llama3.2:3b")
        .inputTokens(900).outputTokens(300).endpoint("/lessons/generate-quiz").requestType("quiz-generation").build());
    tracker.close(Duration.ofSeconds(30));
    try (KafkaProducer<String, byte[]> raw = new KafkaProducer<>(client, new StringSerializer(), new ByteArraySerializer())) {
      raw.send(new ProducerRecord<>(topics.usageEvents().name(), "acme", "{\"not\": \"avro\"}".getBytes())).get();
    }
    step("emitted " + (events + 3) + " records: " + events + " priced calls, 1 duplicate, 1 unknown model, 1 malformed record");

    ClickHouse db = stack.db;
    waitUntil("ClickHouse to hold every priced call", () -> stack.count("usage_costs") == events
        && stack.count("usage_unpriced") == 1, Duration.ofSeconds(120));
    step("all " + events + " priced calls are in ClickHouse (" + (System.nanoTime() - t0) / 1_000_000_000 + " s since start)");

    LocalDate today = LocalDate.now(ZoneOffset.UTC);
    Report.Period period = new Report.Period(today.minusDays(3), today.plusDays(1), null);
    Report.print(db, "tokenledger", period, List.of("totals", "by org", "by model", "daily"), false, 1, 20, System.out);
    System.out.println("\n== Quota breaches ==");
    Report.printTable(db.query("SELECT policy_id, org_id, scope_value, quota_window, threshold_percent, toString(limit_usd) AS limit_usd, "
        + "toString(spend_usd) AS spend_at_alert, enforcement FROM tokenledger.quota_breaches ORDER BY policy_id, threshold_percent "
        + "FORMAT TabSeparatedWithNames"), System.out);
    System.out.println("\n== Not costed ==");
    System.out.println("unpriced (no price in force): " + stack.count("usage_unpriced") + ", e.g. "
        + db.query("SELECT concat(provider, '/', model, ': ', reason) FROM tokenledger.usage_unpriced LIMIT 1").get(0).get(0));
    System.out.println("dead-lettered (usage.dlq): " + stack.processorMetric("tokenledger_events_dead_lettered_total")
        + ", duplicates dropped: " + stack.processorMetric("tokenledger_events_duplicates_total"));
    System.out.println("\nEndpoints: " + home.resolve("endpoints.env"));

    Runnable stopAll = stack::close;
    if (keep) {
      Files.writeString(home.resolve("stack.pid"), Long.toString(ProcessHandle.current().pid()));
      System.out.println("The stack keeps running: `./tokenledger stop` stops it. Query ClickHouse with "
          + "`clickhouse-client --port " + ch.tcpPort() + "` or `./tokenledger report`.");
      CountDownLatch stopped = new CountDownLatch(1);
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        stopAll.run();
        try {
          Files.deleteIfExists(home.resolve("stack.pid"));
        } catch (IOException e) {
          // gone already
        }
        stopped.countDown();
      }));
      stopped.await();
    } else {
      stopAll.run();
      System.exit(0);
    }
  }

  private static void waitUntil(String what, java.util.function.BooleanSupplier done, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!done.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("timed out waiting for " + what + " (logs: .tokenledger/stack.log)");
      }
      Thread.sleep(200);
    }
  }

  private static void step(String s) {
    System.out.println("• " + s);
  }
}
