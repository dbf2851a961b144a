package io.tokenledger.processor;

import static io.tokenledger.processor.Fixtures.event;
import static io.tokenledger.processor.Fixtures.usd;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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
import io.tokenledger.schemas.RegistrySerdes;
import io.tokenledger.schemas.Topics;
import java.io.IOException;
import java.math.BigDecimal;
import java.net.ServerSocket;
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
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Two processor instances in one application, each its own JVM and state directory, as on a cluster: the orgs'
 * partitions are split between them, and the quota check answers the same from either (one forwards to the
 * other). Then one is SIGKILLed while events flow and the other takes its tasks, deduplicating retries of
 * events the killed one had costed; then it comes back on its old disk and takes tasks back. Every event is
 * costed once, each threshold is alerted once, and the quota check never answers with an error other than
 * "retry" (503) nor, once the events are in, with a spend other than the exact one.
 */
@ExtendWith(InfraExtension.class)
class ProcessorInstancesIT {

  static final int ORGS = 12;
  static final int EVENTS_PER_ROUND = 2_400;
  static final int RETRIES_PER_ROUND = 400;
  static final BigDecimal LIMIT = usd("1000");
  static final List<Integer> THRESHOLDS = List.of(25, 50, 75, 100);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private static final Pattern EVENTS_IN = Pattern.compile("(?m)^tokenledger_events_in_total(?:\\{[^}]*})? ([0-9.E]+)$");

  @Test
  void shouldSplitOrgsTakeOverAKilledInstanceAndHandBackWithEveryEventOnce(Infra infra) throws Exception {
    Topics topics = Topics.withPrefix(InfraExtension.uniqueName("instances") + ".").withPartitions(6);
    Map<String, Object> client = Map.of("bootstrap.servers", infra.kafkaBootstrap());
    RegistrySerdes serdes = ProcessorKillIT.createTopicsWithFlatPrice(infra, topics);
    Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
    try (KafkaProducer<String, QuotaPolicy> p = new KafkaProducer<>(client, new StringSerializer(),
        serdes.value(QuotaPolicy.class).serializer())) {
      for (int o = 0; o < ORGS; o++) {
        p.send(new ProducerRecord<>(topics.quotaPolicies().name(), "p-" + o, QuotaPolicy.newBuilder()
            .setPolicyId("p-" + o).setOrgId("org-" + o).setScope(QuotaScope.ORG).setWindow(QuotaWindow.MONTH)
            .setLimitUsd(LIMIT).setThresholdsPercent(THRESHOLDS).setEnforcement(Enforcement.SOFT).setUpdatedAt(now)
            .build())).get();
      }
    }

    Path dir = Files.createTempDirectory("processor-instances");
    Instance a = new Instance("a", infra, topics, dir);
    Instance b = new Instance("b", infra, topics, dir);
    List<CostedUsage> costed = new CopyOnWriteArrayList<>();
    List<QuotaBreach> breaches = new CopyOnWriteArrayList<>();
    Thread reader = ProcessorKillIT.follow(infra, serdes, topics, costed, breaches);
    Map<String, BigDecimal> spent = new HashMap<>();
    QuotaPoller poller = new QuotaPoller(b);
    try (Traffic traffic = new Traffic(infra, serdes, topics, now, spent)) {
      // 1. both instances share the partitions; either answers for every org
      a.start();
      b.start();
      awaitServing(spent, a, b);
      traffic.round(() -> {});
      awaitCosted(costed, traffic.sent(), a, b);
      assertThat(a.eventsIn()).as("events read by instance a").isPositive();
      assertThat(b.eventsIn()).as("events read by instance b").isPositive();
      awaitExactSpend(spent, a, b);

      // 2. a is killed mid-round; b takes its tasks, and drops retries of what a had costed
      poller.start(Map.copyOf(spent));
      int before = costed.size();
      traffic.round(() -> {
        if (a.isAlive() && costed.size() > before + EVENTS_PER_ROUND / 4) {
          a.kill();
        }
      });
      if (a.isAlive()) { // a slow machine: the round was sent before a quarter of it was costed
        await().atMost(Duration.ofSeconds(60)).until(() -> costed.size() > before + EVENTS_PER_ROUND / 4);
        a.kill();
      }
      traffic.retries();
      awaitCosted(costed, traffic.sent(), b);
      awaitExactSpend(spent, b);

      // 3. a restarts on its old disk (its index and markers as they were when killed) and takes tasks back
      double bIn = b.eventsIn();
      a.start();
      awaitServing(spent, a, b);
      traffic.round(() -> {});
      awaitCosted(costed, traffic.sent(), a, b);
      awaitExactSpend(spent, a, b);
      assertThat(a.eventsIn()).as("events read by instance a after its restart").isPositive();
      assertThat(b.eventsIn()).as("instance b read events").isGreaterThan(bIn);
      Thread.sleep(1_000); // a duplicate, had one been written, would be readable by now
    } finally {
      poller.stop();
      reader.interrupt();
      a.kill();
      b.kill();
    }

    assertThat(costed).hasSize(3 * EVENTS_PER_ROUND);
    assertThat(costed).extracting(c -> c.getEvent().getEventId()).doesNotHaveDuplicates();
    assertThat(costed.stream().map(CostedUsage::getTotalCost).reduce(BigDecimal.ZERO, BigDecimal::add))
        .isEqualByComparingTo(spent.values().stream().reduce(BigDecimal.ZERO, BigDecimal::add));
    List<String> expectedBreaches = new ArrayList<>();
    spent.forEach((org, usd) -> THRESHOLDS.stream()
        .filter(t -> usd.multiply(BigDecimal.valueOf(100)).compareTo(LIMIT.multiply(BigDecimal.valueOf(t))) >= 0)
        .forEach(t -> expectedBreaches.add(org + "@" + t)));
    assertThat(expectedBreaches).as("the data crosses thresholds").isNotEmpty();
    assertThat(breaches).extracting(x -> x.getOrgId() + "@" + x.getThresholdPercent())
        .containsExactlyInAnyOrderElementsOf(expectedBreaches);
    System.out.println("quota answers of instance b while a was killed and came back, by status: " + poller.answers);
    assertThat(poller.answers).as("quota answers while instance a was killed and came back").containsKey(200);
    assertThat(poller.answers.keySet()).as("statuses answered").isSubsetOf(200, 503);
    assertThat(poller.unavailableBodies).allSatisfy(body -> assertThat(body).contains("retry shortly"));
    assertThat(poller.belowCommitted).as("answers with less than the spend committed before polling began").isEmpty();
  }

  /**
   * Usage events, sent in chunks: each round {@value #RETRIES_PER_ROUND} retries (same key, same bytes) of earlier
   * events, then {@value #EVENTS_PER_ROUND} new ones over 12 orgs, $1 to $2 each. {@code spent} is kept per org.
   */
  private static final class Traffic implements AutoCloseable {
    private final KafkaProducer<String, byte[]> producer;
    private final Serializer<UsageEvent> serializer;
    private final Topics topics;
    private final Instant time;
    private final Map<String, BigDecimal> spent;
    private final List<ProducerRecord<String, byte[]>> sent = new ArrayList<>();
    private final Random random = new Random(7);

    Traffic(Infra infra, RegistrySerdes serdes, Topics topics, Instant time, Map<String, BigDecimal> spent) {
      this.producer = new KafkaProducer<>(Map.of("bootstrap.servers", infra.kafkaBootstrap(), "acks", "all"),
          new StringSerializer(), new ByteArraySerializer());
      this.serializer = serdes.value(UsageEvent.class).serializer();
      this.topics = topics;
      this.time = time;
      this.spent = spent;
    }

    int sent() {
      return sent.size();
    }

    /** Retries, then new events in chunks of 100 with {@code betweenChunks} run after each, 50 ms apart. */
    void round(Runnable betweenChunks) throws InterruptedException {
      retries();
      for (int i = 0; i < EVENTS_PER_ROUND; i++) {
        int k = sent.size();
        String org = "org-" + (k % ORGS);
        long tokens = 1_000_000L + random.nextInt(1_000_000); // $1 to $2 each at $1 per million
        spent.merge(org, BigDecimal.valueOf(tokens).movePointLeft(6), BigDecimal::add);
        UsageEvent e = event("i-" + k, time.toString(), "acme", "flat").setOrgId(org).setInputTokens(tokens).build();
        ProducerRecord<String, byte[]> r = new ProducerRecord<>(topics.usageEvents().name(), org,
            serializer.serialize("t", e));
        sent.add(r);
        producer.send(r);
        if (i % 100 == 99) {
          producer.flush();
          betweenChunks.run();
          Thread.sleep(50);
        }
      }
      producer.flush();
    }

    void retries() {
      for (int i = 0; i < RETRIES_PER_ROUND && !sent.isEmpty(); i++) {
        producer.send(sent.get(random.nextInt(sent.size())));
      }
      producer.flush();
    }

    @Override
    public void close() {
      producer.close();
    }
  }

  /**
   * Waits until each instance runs (not rebalancing) and answers 200 for every org with the spend sent so far
   * (before the first round: none, so this is only a wait).
   */
  private static void awaitServing(Map<String, BigDecimal> spent, Instance... instances) {
    await().atMost(Duration.ofSeconds(90)).ignoreExceptions().untilAsserted(() -> {
      for (Instance i : instances) {
        assertThat(i.get("/health").body()).contains("RUNNING");
      }
    });
    Map<String, BigDecimal> orgs = new HashMap<>();
    for (int o = 0; o < ORGS; o++) {
      orgs.put("org-" + o, spent.getOrDefault("org-" + o, BigDecimal.ZERO));
    }
    awaitExactSpend(orgs, instances);
  }

  private static void awaitCosted(List<CostedUsage> costed, int sent, Instance... running) {
    try {
      await().atMost(Duration.ofSeconds(120)).until(() -> costed.size() >= sent);
    } catch (RuntimeException e) {
      for (Instance i : running) {
        System.err.println(i.process.tail(60));
      }
      throw e;
    }
  }

  /** Every org's spend, from every instance given, equal to what was sent (503s while tasks settle are retried). */
  private static void awaitExactSpend(Map<String, BigDecimal> spent, Instance... instances) {
    await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
      for (Instance i : instances) {
        for (Map.Entry<String, BigDecimal> e : spent.entrySet()) {
          HttpResponse<String> r = i.quota(e.getKey());
          assertThat(r.statusCode()).as("%s asked for %s: %s", i.name, e.getKey(), r.body()).isEqualTo(200);
          JsonNode policy = JSON.readTree(r.body()).path("policies").path(0);
          assertThat(new BigDecimal(policy.path("spend_usd").asText("-1")))
              .as("%s asked for %s", i.name, e.getKey()).isEqualByComparingTo(e.getValue());
        }
      }
    });
  }

  /** One processor JVM, restartable on the same state directory and HTTP port. */
  private static final class Instance {
    final String name;
    final int port;
    final Path dir;
    final List<String> command;
    final Map<String, String> env = new HashMap<>();
    ServerProcess process;
    int starts;

    Instance(String name, Infra infra, Topics topics, Path dir) throws IOException {
      this.name = name;
      this.dir = dir;
      try (ServerSocket s = new ServerSocket(0)) {
        this.port = s.getLocalPort();
      }
      env.putAll(ProcessorKillIT.processorEnv(infra, topics, dir.resolve("state-" + name), port));
      this.command = ProcessorKillIT.processorJvm();
    }

    void start() {
      String log = "processor-" + name + "-" + (starts++);
      process = ServerProcess.start(log, command, env, dir, dir.resolve(log + ".log"));
    }

    boolean isAlive() {
      return process != null && process.isAlive();
    }

    void kill() {
      if (process != null) {
        process.kill();
      }
    }

    double eventsIn() throws Exception {
      Matcher m = EVENTS_IN.matcher(get("/metrics").body());
      return m.find() ? Double.parseDouble(m.group(1)) : 0;
    }

    HttpResponse<String> quota(String org) throws IOException, InterruptedException {
      return get("/v1/quota?org_id=" + org);
    }

    HttpResponse<String> get(String path) throws IOException, InterruptedException {
      return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
          .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }
  }

  /** Asks one instance for random orgs every 50 ms and counts the statuses it answers. */
  private static final class QuotaPoller {
    final Map<Integer, Integer> answers = new ConcurrentHashMap<>();
    final List<String> unavailableBodies = new CopyOnWriteArrayList<>();
    final List<String> belowCommitted = new CopyOnWriteArrayList<>();
    private final Instance instance;
    private Map<String, BigDecimal> committed;
    private volatile boolean running;
    private Thread thread;

    QuotaPoller(Instance instance) {
      this.instance = instance;
    }

    /** {@code committed}: each org's spend, all of it committed, when polling begins. */
    void start(Map<String, BigDecimal> committed) {
      this.committed = committed;
      running = true;
      thread = new Thread(() -> {
        Random r = new Random(3);
        while (running) {
          try {
            String org = "org-" + r.nextInt(ORGS);
            HttpResponse<String> resp = instance.quota(org);
            answers.merge(resp.statusCode(), 1, Integer::sum);
            if (resp.statusCode() == 503) {
              unavailableBodies.add(resp.body());
            } else if (resp.statusCode() == 200) {
              // uncommitted spend can be rolled back when an instance dies, but never below what was committed
              BigDecimal spend = new BigDecimal(JSON.readTree(resp.body()).path("policies").path(0)
                  .path("spend_usd").asText("-1"));
              if (spend.compareTo(committed.get(org)) < 0) {
                belowCommitted.add(org + ": " + resp.body());
              }
            }
            Thread.sleep(50);
          } catch (InterruptedException e) {
            return;
          } catch (IOException | RuntimeException e) {
            answers.merge(-1, 1, Integer::sum); // not an HTTP answer: fails the check on statuses
            unavailableBodies.add(e.toString());
          }
        }
      }, "quota-poller");
      thread.setDaemon(true);
      thread.start();
    }

    void stop() throws InterruptedException {
      running = false;
      if (thread != null) {
        thread.join(5_000);
      }
    }
  }
}
