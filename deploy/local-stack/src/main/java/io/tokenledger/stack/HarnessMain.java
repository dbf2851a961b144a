package io.tokenledger.stack;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tokenledger.avro.Enforcement;
import io.tokenledger.avro.QuotaPolicy;
import io.tokenledger.avro.QuotaScope;
import io.tokenledger.avro.QuotaWindow;
import io.tokenledger.avro.UsageEvent;
import io.tokenledger.producer.Usage;
import io.tokenledger.producer.UsageTracker;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.StringJoiner;
import java.util.TreeMap;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntFunction;
import java.util.function.Supplier;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * {@code ./tokenledger harness [EVENTS] [SEED] [RATE]}: the whole pipeline on this machine under a generated load,
 * then a check of what arrived. Orgs are skewed like real traffic; calls use every token class, long-context
 * and batch prices; 1 % are retried (duplicates), some are late within the day, 0.5 % name a model with no
 * price, 0.2 % are poison records (garbage, unknown schema ids, truncated Avro, broken Avro), one call in
 * 5,000 carries hundreds of kilobytes of metadata. Afterwards it checks, from ClickHouse and the processor's counters:
 * every priced call in usage_costs exactly once; cost per org and day equal to totals the harness computes
 * on its own from the catalog file; the unpriced and dead-lettered counts; one breach per policy threshold
 * crossed. It prints throughput, drain time, emit-to-visible latency, each process's peak memory, and the CPU
 * each process spent per event while measured (the JIT compilers' part shown apart).
 *
 * <p>A warm-up goes first: calls of other orgs from the same mix, at the same rate, until the JIT compilers
 * have settled; they are left out of every check and figure.
 *
 * <p>RATE (events per second, 0 for as fast as the pipeline takes them) paces the emitting. Latency is
 * measured exactly on probes: every {@value Probes#EVERY}th call, if priced, is looked for in ClickHouse
 * every 250 ms from the moment it is tracked; its latency is the time from {@code track()} to the first
 * query that finds it.
 */
public final class HarnessMain {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int HUGE_METADATA_EVERY = 5_000;
  /**
   * Calls sent first, in rounds, to bring every JVM to full speed; their orgs are left out of every check and
   * figure. Rounds go on until the JIT compilers of the pipeline's JVMs take under {@link #WARM_COMPILER_SHARE}
   * of the CPU a round uses; no call is sent after {@link #WARMUP_MAX}: a short warm-up left the compilers busy for the
   * first half minute of the measured window, on cores the pipeline needed.
   */
  private static final int WARMUP_ROUND_CALLS = 50_000;
  private static final Duration WARMUP_MAX = Duration.ofSeconds(90);
  private static final double WARM_COMPILER_SHARE = 0.05;
  private static final String WARMUP_ORG = "warmup-";
  /** One poison record per this many calls: the measured share (n / 500 of n calls). */
  private static final int WARMUP_POISON_EVERY = 500;
  /** Where the made-up schema ids of each phase's poison records start. */
  private static final int MEASURED_UNKNOWN_IDS = 900_000_000;
  private static final int WARMUP_UNKNOWN_IDS = 800_000_000;
  /**
   * The PostgreSQL baseline writes at most this many of the calls, the first ones: at its 10,000 calls/s a
   * million take under two minutes, and its rate is steady long before.
   */
  private static final int BASELINE_MAX = 1_000_000;
  static final String MEASURED = "org_id NOT LIKE '" + WARMUP_ORG + "%'";

  private HarnessMain() {}

  public static void main(String[] args) throws Exception {
    List<String> numbers = new ArrayList<>(List.of(args));
    boolean faults = numbers.remove("--faults");
    int n = numbers.size() > 0 ? Integer.parseInt(numbers.get(0)) : 100_000;
    long seed = numbers.size() > 1 ? Long.parseLong(numbers.get(1)) : 42;
    int rate = numbers.size() > 2 ? Integer.parseInt(numbers.get(2)) : 0;
    int failures;
    try {
      failures = run(n, seed, rate, faults);
    } catch (Exception e) {
      System.err.println("harness failed: " + e);
      failures = 1;
    }
    System.exit(failures == 0 ? 0 : 1);
  }

  /** One generated call; {@code model} is the catalog entry it names, null for a model the catalog lacks. */
  record Call(Usage usage, String id, String org, Instant at, JsonNode model, boolean batch, String endpoint) {

    /** What the catalog file says it costs, computed on each call; null when no price is in force. */
    BigDecimal cost() {
      return model == null ? null : expectedCost(model, at, usage.inputTokens(), usage.cachedInputTokens(),
          usage.cacheWrite5mTokens(), usage.cacheWrite1hTokens(), usage.outputTokens(), usage.reasoningTokens(), batch);
    }

    PostgresBaseline.Row baseline() {
      return PostgresBaseline.Row.from(usage, batch, endpoint, "chat", cost());
    }
  }

  /**
   * The generated calls, the i-th of a seeded stream each: orgs skewed like real traffic (200 of them), every
   * token class, long contexts and batch calls, 3 % late within the day, 0.5 % naming a model with no price,
   * one in {@value #HUGE_METADATA_EVERY} carrying hundreds of kilobytes of metadata. The warm-up draws from the
   * same mix, for other orgs.
   *
   * <p>{@link #next} draws the next call of the stream and must be asked for i = 0, 1, 2, ... in order. Two
   * loads of the same seed and {@code now} draw the same calls: the harness draws them once to compute what
   * they must cost, again while it emits them, and once more for the PostgreSQL baseline, so that the
   * measured calls are not held in memory and a run's length is bounded by its disk, not by this JVM's heap.
   */
  static final class Load {
    private static final int ORGS = 200;
    private final List<JsonNode> models;
    private final Random r;
    private final String idPrefix;
    private final String orgPrefix;
    final Instant now;
    private final long dayMs;

    Load(List<JsonNode> models, long seed, String idPrefix, String orgPrefix, Instant now) {
      this.models = models;
      this.r = new Random(seed);
      this.idPrefix = idPrefix;
      this.orgPrefix = orgPrefix;
      this.now = now;
      Instant dayStart = LocalDate.ofInstant(now, ZoneOffset.UTC).atStartOfDay(ZoneOffset.UTC).toInstant();
      this.dayMs = Math.max(60_000, now.toEpochMilli() - dayStart.toEpochMilli() - 60_000);
    }

    static boolean hugeMetadata(int i) {
      return i % HUGE_METADATA_EVERY == HUGE_METADATA_EVERY / 2;
    }

    Call next(int i) {
      // every Probes.EVERY-th call can be a probe: its id says so to the harness's view in ClickHouse
      String id = (i % Probes.EVERY == 0 ? Probes.ID_PREFIX : "") + idPrefix + i;
      String org = orgPrefix + Math.min(ORGS - 1, (int) (-Math.log(1 - r.nextDouble()) * 20));
      Instant at = now.minusMillis(r.nextInt(100) < 3 ? (long) (r.nextDouble() * dayMs) : r.nextInt(60_000));
      if (r.nextInt(1000) < 5) {
        return new Call(Usage.builder().eventId(id).eventTime(at).orgId(org).userId("u" + r.nextInt(50))
            .provider("selfhosted").model("llama-" + r.nextInt(3)).inputTokens(500).outputTokens(100).requestType("chat")
            .build(), id, org, at, null, false, "");
      }
      JsonNode m = models.get(r.nextInt(models.size()));
      long in = 100 + r.nextInt(r.nextInt(50) == 0 ? 300_000 : 8_000);
      long cached = r.nextInt(3) == 0 ? r.nextInt(4_000) : 0;
      long w5 = r.nextInt(8) == 0 ? r.nextInt(2_000) : 0;
      long w1 = r.nextInt(16) == 0 ? r.nextInt(2_000) : 0;
      long out = r.nextInt(2_000);
      long reasoning = r.nextInt(4) == 0 ? r.nextInt(3_000) : 0;
      boolean batch = r.nextInt(20) == 0;
      String endpoint = "/api/" + r.nextInt(5);
      Usage.Builder ub = Usage.builder().eventId(id).eventTime(at).orgId(org).userId("u" + r.nextInt(50))
          .provider(m.path("provider").asText()).model(m.path("model").asText()).inputTokens(in).cachedInputTokens(cached)
          .cacheWrite5mTokens(w5).cacheWrite1hTokens(w1).outputTokens(out).reasoningTokens(reasoning).batch(batch)
          .endpoint(endpoint).requestType("chat");
      if (hugeMetadata(i)) {
        // a service that puts whole prompts in metadata: still costed, the metadata dropped
        ub.metadata(Map.of("prompt", "p".repeat(200_000 + r.nextInt(400_000))));
      }
      return new Call(ub.build(), id, org, at, m, batch, endpoint);
    }
  }

  static int run(int n, long seed, int rate, boolean faults) throws Exception {
    Path catalogFile = Path.of("deploy/catalog/pricing-catalog.json");
    JsonNode catalog = JSON.readTree(Files.readString(catalogFile));
    List<JsonNode> models = new ArrayList<>();
    catalog.path("models").forEach(models::add);
    Instant now = Instant.now();

    // draw the load and compute what it must cost, independently of the processor's code; the calls are
    // drawn again, from the same seed, while they are emitted
    Supplier<Load> measuredLoad = () -> new Load(models, seed, "h-" + seed + "-", "org-", now);
    Load load = measuredLoad.get();
    Map<String, BigDecimal> expectedByOrgDay = new TreeMap<>();
    Map<String, BigDecimal> orgSpendToday = new HashMap<>();
    int unknown = 0;
    int hugeMetadata = 0;
    long drawing = System.nanoTime();
    for (int i = 0; i < n; i++) {
      Call c = load.next(i);
      BigDecimal cost = c.cost();
      if (cost == null) {
        unknown++; // a model with no price, or no version in force at that time
        continue;
      }
      if (Load.hugeMetadata(i)) {
        hugeMetadata++;
      }
      expectedByOrgDay.merge(c.org() + " " + LocalDate.ofInstant(c.at(), ZoneOffset.UTC), cost, BigDecimal::add);
      orgSpendToday.merge(c.org(), cost, BigDecimal::add);
    }
    drawing = System.nanoTime() - drawing;
    int priced = n - unknown;
    int malformed = Math.max(1, n / 500);

    // one daily policy for each of the ten busiest orgs, sized so that it crosses some thresholds
    List<QuotaPolicy> policies = new ArrayList<>();
    Map<String, Integer> expectedBreaches = new HashMap<>();
    for (int o = 0; o < 10; o++) {
      String org = "org-" + o;
      BigDecimal spend = orgSpendToday.getOrDefault(org, BigDecimal.ZERO);
      BigDecimal limit = spend.multiply(BigDecimal.valueOf(0.6 + 0.15 * o)).setScale(2, RoundingMode.HALF_UP).max(new BigDecimal("0.01"));
      policies.add(QuotaPolicy.newBuilder().setPolicyId("h-" + org).setOrgId(org).setScope(QuotaScope.ORG)
          .setWindow(QuotaWindow.DAY).setLimitUsd(limit.setScale(12)).setThresholdsPercent(List.of(50, 80, 100))
          .setEnforcement(Enforcement.SOFT).setUpdatedAt(now).build());
      int crossed = 0;
      for (int t : new int[] {50, 80, 100}) {
        if (spend.signum() > 0 && spend.compareTo(limit.multiply(BigDecimal.valueOf(t)).divide(BigDecimal.valueOf(100))) >= 0) {
          crossed++;
        }
      }
      expectedBreaches.put("h-" + org, crossed);
    }

    // and policies for the warm-up's orgs, so that the warm-up runs quota tracking and breaches too
    for (int o = 0; o < 10; o++) {
      policies.add(QuotaPolicy.newBuilder().setPolicyId(WARMUP_ORG + o).setOrgId(WARMUP_ORG + "org-" + o)
          .setScope(QuotaScope.ORG).setWindow(QuotaWindow.DAY).setLimitUsd(BigDecimal.valueOf(1L << o).setScale(12))
          .setThresholdsPercent(List.of(50, 80, 100)).setEnforcement(Enforcement.SOFT).setUpdatedAt(now).build());
    }

    Path data = Path.of(".tokenledger", "harness").toAbsolutePath();
    System.out.printf("harness: %,d calls (seed %d, %s): %,d priced, %,d unpriced, ~1%% retried, %,d malformed records; "
        + "expected costs computed in %.1f s%n", n, seed, rate > 0 ? String.format("paced at %,d/s", rate) : "unpaced",
        priced, unknown, malformed, drawing / 1e9);
    int failures;
    double pipelineRate;
    try (LocalStack stack = LocalStack.start(data, catalogFile, policies);
        Probes probes = new Probes(stack.clickhouse.url(), priced);
        // poison records go out through one raw producer, in the warm-up and in the measured calls alike
        KafkaProducer<String, byte[]> raw = new KafkaProducer<>(Map.of("bootstrap.servers", stack.bootstrap()),
            new StringSerializer(), new ByteArraySerializer());
        // one tracker for the warm-up and the measured calls: what is measured starts with a producer in use
        // (closed below to learn its counters; closing again on the way out is a no-op)
        UsageTracker tracker = UsageTracker.builder().bootstrapServers(stack.bootstrap()).registryUrl(stack.registry.url())
            .serviceName("harness").bufferCapacity(50_000)
            .overflowPolicy(io.tokenledger.producer.OverflowPolicy.BLOCK, Duration.ofSeconds(30)).build()) {
      Map<String, Long> pids = processes(stack);
      byte[] validBytes = stack.serdes.value(UsageEvent.class).serializer().serialize(stack.topics.usageEvents().name(),
          UsageEvent.newBuilder().setEventId("poison-base").setEventTime(now).setOrgId("org-0").setUserId("u0")
              .setProvider("openai").setModel("gpt-4o").setInputTokens(10).setMetadata(Map.of("k", "v")).build());
      Senders senders = new Senders(tracker, raw, stack.topics.usageEvents().name(), validBytes);
      Warmup warm = warmUp(stack, senders, pids, rate, new Load(models, seed + 1, WARMUP_ORG + now.toEpochMilli() + "-",
          WARMUP_ORG + "org-", now));
      int warmup = warm.priced();
      // the warm-up's calls and the drawing above left garbage: collect it now rather than in the measured window
      System.gc();
      Map<String, Long> cpuAtStart = cpuNanos(pids);
      Map<String, Long> compilersAtStart = compilerNanosByProcess(pids);
      long t0 = System.nanoTime();
      probes.startClock(warmup);
      Faults chaos = faults ? Faults.start(stack, n) : null;
      Load emitting = measuredLoad.get();
      int retried = emit(senders, emitting::next, n, new Poison(n / malformed, malformed, "org-0", MEASURED_UNKNOWN_IDS), rate, t0,
          Long.MAX_VALUE, new Random(seed), probes, chaos).retried();
      raw.flush();
      var stats = tracker.close(Duration.ofSeconds(120));
      long emitted = System.nanoTime();
      System.out.printf("emitted %,d events (+%,d retries) in %.1f s; tracker (warm-up included): %s%n", n, retried,
          (emitted - t0) / 1e9, stats);
      if (chaos != null) {
        chaos.awaitDone();
      }
      long deadline = System.nanoTime() + Duration.ofMinutes(10).toNanos();
      long nextReport = 0;
      // while waiting, all rows less the warm-up's, from part metadata (the checks below filter by org)
      while ((stack.activeRows("usage_costs") - warmup < priced || count(stack, "usage_unpriced") < unknown)
          && System.nanoTime() < deadline) {
        if (System.nanoTime() > nextReport) {
          // the processor's counter starts again with each processor a fault run starts: only ClickHouse's then
          String costed = chaos == null ? String.format("processor has costed %,d; ",
              stack.processorMetric("tokenledger_events_costed_total") - warmup) : "";
          System.out.printf("  %5.1f s: %sClickHouse holds %,d%n", (System.nanoTime() - t0) / 1e9, costed,
              stack.activeRows("usage_costs") - warmup);
          nextReport = System.nanoTime() + 2_000_000_000L;
        }
        Thread.sleep(100);
      }
      long visible = System.nanoTime();
      System.out.printf("end to end: %,.0f events/s (first emit to last row visible in ClickHouse); drain after the last "
          + "emit %.1f s%n", priced / ((visible - t0) / 1e9), (visible - emitted) / 1e9);
      pipelineRate = priced / ((visible - t0) / 1e9);
      if (chaos == null) {
        System.out.println(cpuPerEvent(pids, cpuAtStart, cpuNanos(pids), priced, (visible - t0) / 1e9)
            + "; JIT compilers " + jitPerEvent(compilersAtStart, compilerNanosByProcess(pids), priced) + " of it");
      }
      System.out.println("steady: " + probes.steadyRate());
      probes.awaitAll(5_000);
      System.out.println("emit to visible in ClickHouse: " + probes.summary());
      System.out.println("  " + probes.overTime((emitted - t0) / 1_000_000));
      Thread.sleep(1_500); // let a late duplicate, if the pipeline wrongly let one through, land too

      failures = 0;
      failures += check("priced calls in usage_costs", count(stack, "usage_costs"), priced);
      failures += check("distinct event ids in usage_costs",
          Long.parseLong(stack.db.query("SELECT uniqExact(event_id) FROM tokenledger.usage_costs WHERE " + MEASURED).get(0).get(0)), priced);
      failures += check("unpriced calls", count(stack, "usage_unpriced"), unknown);
      failures += check("poison records in usage.dlq", stack.committedRecords(stack.topics.usageDlq().name(),
          k -> !k.startsWith(WARMUP_ORG)), malformed);
      failures += check("huge-metadata calls costed without their metadata", Long.parseLong(stack.db.query(
          "SELECT count() FROM tokenledger.usage_costs WHERE position(metadata, 'tokenledger.metadata_dropped') > 0 AND "
          + MEASURED)
          .get(0).get(0)), hugeMetadata);
      if (chaos == null) {
        failures += check("retries dropped as duplicates", stack.processorMetric("tokenledger_events_duplicates_total")
            - warm.retried(), retried);
      } else {
        System.out.println("  (duplicates counter not checked: counters start again with each processor; the exactly-once "
            + "checks above cover retries)");
      }
      Map<String, BigDecimal> actual = new TreeMap<>();
      for (List<String> row : stack.db.query("SELECT org_id, toString(toDate(event_time)), toString(sum(cost_usd)) "
          + "FROM tokenledger.usage_costs WHERE " + MEASURED + " GROUP BY org_id, toDate(event_time)")) {
        actual.put(row.get(0) + " " + row.get(1), new BigDecimal(row.get(2)));
      }
      int mismatched = 0;
      for (var e : expectedByOrgDay.entrySet()) {
        BigDecimal a = actual.get(e.getKey());
        if (a == null || a.compareTo(e.getValue()) != 0) {
          if (mismatched++ < 5) {
            System.out.println("  MISMATCH " + e.getKey() + ": expected " + e.getValue() + ", ClickHouse " + a);
          }
        }
      }
      failures += check("org-day cost totals equal to the harness's own (of " + expectedByOrgDay.size() + ")",
          expectedByOrgDay.size() - mismatched, expectedByOrgDay.size());
      BigDecimal rollup = new BigDecimal(stack.db.query("SELECT toString(sum(cost_usd)) FROM tokenledger.usage_daily WHERE " + MEASURED)
          .get(0).get(0));
      BigDecimal expectedTotal = expectedByOrgDay.values().stream().reduce(BigDecimal.ZERO, BigDecimal::add);
      failures += check("rollup total equal to the expected total (" + expectedTotal.toPlainString() + ")",
          rollup.compareTo(expectedTotal) == 0 ? 1 : 0, 1);
      long breaches = 0;
      for (var e : expectedBreaches.entrySet()) {
        breaches += e.getValue();
      }
      long deadlineB = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (count(stack, "quota_breaches") < breaches && System.nanoTime() < deadlineB) {
        Thread.sleep(100);
      }
      failures += check("quota breaches", count(stack, "quota_breaches"), breaches);
      failures += check("distinct breaches", Long.parseLong(stack.db.query(
          "SELECT uniqExact(breach_id) FROM tokenledger.quota_breaches WHERE " + MEASURED).get(0).get(0)), breaches);
      Map<String, Long> last = processes(stack); // after the faults' restarts: the processes running now
      Map<String, Long> cpuNow = cpuNanos(last);
      StringJoiner memory = new StringJoiner(", ", "peak memory (VmHWM): ", "");
      StringJoiner cpu = new StringJoiner(", ", "CPU time used since start (user + system): ", "");
      last.forEach((name, pid) -> {
        memory.add(name + " " + peak(pid));
        long ns = cpuNow.get(name);
        cpu.add(name + " " + (ns < 0 ? "?" : String.format("%.1f s", ns / 1e9)));
      });
      System.out.println(memory + (chaos == null ? "" : " (processor, sink, broker and ClickHouse since their last "
          + "restart)"));
      System.out.println(cpu);
      if (chaos != null) {
        System.out.println("faults: " + chaos.summary());
      }
    }
    // the seeds' way, on the same calls (the first BASELINE_MAX of a longer run: its rate is steady well before),
    // after the pipeline has stopped so that the two do not share the CPU
    int baselineCalls = Math.min(n, BASELINE_MAX);
    System.out.printf("baseline: %s %,d calls, one log_ai_usage() INSERT each into PostgreSQL, %d connections...%n",
        baselineCalls == n ? "the same" : "the first", baselineCalls, PostgresBaseline.DEFAULT_THREADS);
    Load again = measuredLoad.get();
    List<PostgresBaseline.Row> rows = new ArrayList<>(baselineCalls);
    for (int i = 0; i < baselineCalls; i++) {
      rows.add(again.next(i).baseline());
    }
    PostgresBaseline.Result baseline = PostgresBaseline.runLocal(data.resolve("postgres"), rows,
        PostgresBaseline.DEFAULT_THREADS);
    System.out.println(baseline.summary());
    failures += baseline.ok() ? 0 : 1;
    if (rate == 0) {
      System.out.printf("pipeline %,.0f events/s end to end, PostgreSQL %,.0f events/s: ratio %.2f%n", pipelineRate,
          baseline.eventsPerSecond(), pipelineRate / baseline.eventsPerSecond());
    }
    System.out.println(failures == 0 ? "PASS: every check held" : "FAIL: " + failures + " check(s) failed");
    return failures;
  }

  /**
   * The k-th poison record, by turns: garbage bytes; a Confluent header naming a schema id the registry does
   * not have (one of 1,000 from {@code unknownIds}); a valid event's bytes cut short; a valid header on a
   * body that is not Avro at all.
   */
  static byte[] poison(int k, Random r, byte[] validEvent, int unknownIds) {
    switch (k % 4) {
      case 0 -> {
        byte[] junk = new byte[1 + r.nextInt(64)];
        r.nextBytes(junk);
        return junk;
      }
      case 1 -> {
        byte[] b = validEvent.clone();
        java.nio.ByteBuffer.wrap(b, 1, 4).putInt(unknownIds + r.nextInt(1000));
        return b;
      }
      case 2 -> {
        return java.util.Arrays.copyOf(validEvent, 5 + r.nextInt(Math.max(1, validEvent.length / 2)));
      }
      default -> {
        byte[] b = java.util.Arrays.copyOf(validEvent, validEvent.length);
        for (int j = 5; j < b.length; j++) {
          b[j] = (byte) 0xff; // varints that never end
        }
        return b;
      }
    }
  }

  /** Where calls and poison records go, in the warm-up and in the measured run alike. */
  private record Senders(UsageTracker tracker, KafkaProducer<String, byte[]> raw, String topic, byte[] validBytes) {}

  /**
   * A phase's poison records: one after every {@code every}-th call, at most {@code max}, keyed {@code key},
   * their made-up schema ids from {@code unknownIds} (the registry client remembers an unknown id for a
   * minute, so the warm-up's must not be the measured ones).
   */
  private record Poison(int every, int max, String key, int unknownIds) {}

  /** What {@link #emit} sent: its calls (fewer than given if it reached its stop time) and the retries among them. */
  private record Sent(int calls, int retried) {}

  /**
   * Sends {@code count} calls, the i-th from {@code calls} (asked in order, from 0), at {@code rate} from
   * {@code t0} (0: as fast as they go), each retried one time in 100, with {@code poison} mixed in, until
   * {@code stopAtNanos}. The warm-up and the measured run both send through this small method, so the measured
   * calls run code the JIT has already compiled.
   */
  private static Sent emit(Senders out, IntFunction<Call> calls, int count, Poison poison, int rate, long t0,
      long stopAtNanos, Random r, Probes probes, Faults chaos) {
    int retried = 0;
    int i = 0;
    for (; i < count && System.nanoTime() < stopAtNanos; i++) {
      if (rate > 0) {
        pace(t0, i, rate);
      }
      Call c = calls.apply(i);
      out.tracker().track(c.usage());
      if (chaos != null) {
        chaos.emitted(i + 1);
      }
      if (probes != null && i % Probes.EVERY == 0 && c.cost() != null) {
        probes.emitted(c.id());
      }
      if (r.nextInt(100) == 0) {
        out.tracker().track(c.usage()); // a retry: the processor must drop it as a duplicate
        retried++;
      }
      if (i % poison.every() == 0 && i / poison.every() < poison.max()) {
        out.raw().send(new ProducerRecord<>(out.topic(), poison.key(),
            poison(i / poison.every(), r, out.validBytes(), poison.unknownIds())));
      }
    }
    return new Sent(i, retried);
  }

  /** What the warm-up sent: its priced calls (each a row in usage_costs) and its retries. */
  record Warmup(int priced, int retried) {}

  /**
   * Sends calls of the warm-up's orgs, drawn from the same mix as the measured ones (retries, unpriced models,
   * late calls and huge metadata included) so that every path is compiled before anything is measured, in
   * rounds, each waited for until ClickHouse holds it, until the JIT compilers have settled (see
   * {@link #WARMUP_ROUND_CALLS}): what follows measures a pipeline that has been running, not one whose JVMs
   * are still compiling. At a paced RATE the warm-up runs at that rate too.
   */
  private static Warmup warmUp(LocalStack stack, Senders out, Map<String, Long> pids, int rate, Load load)
      throws Exception {
    long t0 = System.nanoTime();
    long stopAt = t0 + WARMUP_MAX.toNanos();
    Poison poison = new Poison(WARMUP_POISON_EVERY, Integer.MAX_VALUE, WARMUP_ORG + "poison", WARMUP_UNKNOWN_IDS);
    int sent = 0;
    int priced = 0;
    int retried = 0;
    Random r = new Random(1); // which calls are retried, and the poison records' bytes
    double compilerShare;
    do {
      List<Call> round = new ArrayList<>(WARMUP_ROUND_CALLS);
      for (int k = 0; k < WARMUP_ROUND_CALLS; k++) {
        round.add(load.next(sent + k));
      }
      long compilers = compilerNanos(pids);
      long all = cpuNanos(pids).values().stream().mapToLong(Long::longValue).sum();
      // at the measured rate: the code paths it will run
      Sent s = emit(out, round::get, round.size(), poison, rate, System.nanoTime(), stopAt, r, null, null);
      sent += s.calls();
      retried += s.retried();
      priced += (int) round.subList(0, s.calls()).stream().filter(c -> c.cost() != null).count();
      long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
      while (stack.activeRows("usage_costs") < priced) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("the warm-up calls did not all reach ClickHouse within 3 minutes");
        }
        Thread.sleep(100);
      }
      long used = cpuNanos(pids).values().stream().mapToLong(Long::longValue).sum() - all;
      compilerShare = used <= 0 ? 0 : (double) (compilerNanos(pids) - compilers) / used;
    } while (compilerShare > WARM_COMPILER_SHARE && System.nanoTime() < stopAt);
    out.raw().flush(); // its last poison records are dead-lettered before the measured window, not in it
    System.out.printf("warm-up: %,d calls of other orgs through the pipeline in %.1f s; JIT compiling took %.0f %% of "
        + "the last round's CPU (left out of every figure and check)%n", sent, (System.nanoTime() - t0) / 1e9,
        compilerShare * 100);
    return new Warmup(priced, retried);
  }

  /** Waits until the {@code i}-th call from {@code start} is due at {@code rate} calls per second. */
  private static void pace(long start, long i, int rate) {
    long wait = start + i * 1_000_000_000L / rate - System.nanoTime();
    if (wait > 1_000_000) { // sleeping at most once a millisecond: the load generator's own CPU stays small
      LockSupport.parkNanos(wait);
    }
  }

  /**
   * CPU time the JIT compiler threads of these JVMs have used, in nanoseconds, read from Linux's per-thread
   * accounting; 0 where that cannot be read (the warm-up then stops after one round).
   */
  private static long compilerNanos(Map<String, Long> pids) {
    return compilerNanosByProcess(pids).values().stream().mapToLong(Long::longValue).sum();
  }

  /** {@link #compilerNanos} of each process, by name (0 for a process without JIT compiler threads). */
  private static Map<String, Long> compilerNanosByProcess(Map<String, Long> pids) {
    Map<String, Long> byName = new java.util.LinkedHashMap<>();
    pids.forEach((name, pid) -> {
      long ticks = 0;
      try (var tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
        for (Path task : (Iterable<Path>) tasks::iterator) {
          try {
            String stat = Files.readString(task.resolve("stat"));
            String thread = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
            if (thread.contains("CompilerThre")) {
              String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
              ticks += Long.parseLong(f[11]) + Long.parseLong(f[12]);
            }
          } catch (IOException | RuntimeException e) {
            // the thread ended meanwhile
          }
        }
      } catch (IOException | RuntimeException e) {
        ticks = 0;
      }
      byName.put(name, ticks * 10_000_000L); // clock ticks of 1/100 s, as on every Linux this runs on
    });
    return byName;
  }

  /** Each process of the pipeline, and the load generator (this JVM), by name. */
  private static Map<String, Long> processes(LocalStack stack) {
    Map<String, Long> pids = new java.util.LinkedHashMap<>();
    pids.put("broker", stack.kafka.process().pid());
    pids.put("processor", stack.processor.process.pid());
    pids.put("sink", stack.sink.process.pid());
    pids.put("ClickHouse", stack.clickhouse.process().pid());
    pids.put("schema registry", stack.registry.process().pid());
    pids.put("load generator", ProcessHandle.current().pid());
    return pids;
  }

  /** CPU time (user + system) each process has used so far, in nanoseconds; -1 when unreadable. */
  private static Map<String, Long> cpuNanos(Map<String, Long> pids) {
    Map<String, Long> cpu = new java.util.LinkedHashMap<>();
    pids.forEach((name, pid) -> cpu.put(name, ProcessHandle.of(pid).flatMap(h -> h.info().totalCpuDuration())
        .map(Duration::toNanos).orElse(-1L)));
    return cpu;
  }

  /** JIT compiling per measured event: the sum, then each process that compiled at all. */
  static String jitPerEvent(Map<String, Long> before, Map<String, Long> after, long events) {
    StringBuilder each = new StringBuilder();
    double total = 0;
    for (String name : after.keySet()) {
      double us = (after.get(name) - before.getOrDefault(name, 0L)) / 1e3 / events;
      total += us;
      if (us >= 0.05) {
        each.append(each.length() == 0 ? "" : ", ").append(String.format("%s %.1f", name, us));
      }
    }
    return String.format("%.1f µs", total) + (each.length() == 0 ? "" : " (" + each + ")");
  }

  /**
   * CPU each process spent per measured event between two readings, their sum, and the rate this machine's
   * cores could carry at that cost: what sets the ceiling when every part shares the same cores.
   */
  static String cpuPerEvent(Map<String, Long> pids, Map<String, Long> before, Map<String, Long> after, long events,
      double seconds) {
    StringBuilder line = new StringBuilder("CPU per event while measured:");
    double total = 0;
    for (String name : pids.keySet()) {
      long a = after.get(name);
      long b = before.get(name);
      if (a < 0 || b < 0) {
        return "CPU per event while measured: not readable here";
      }
      double us = (a - b) / 1e3 / events;
      total += us;
      line.append(String.format(" %s %.1f µs,", name, us));
    }
    int cores = Runtime.getRuntime().availableProcessors();
    line.append(String.format(" total %.1f µs (%.0f %% of %d cores busy; at this cost the cores carry at most %,.0f "
        + "events/s)", total, total * events / seconds / 1e4 / cores, cores, cores * 1e6 / total));
    return line.toString();
  }

  /** Rows of {@code table} for the measured calls. */
  private static long count(LocalStack stack, String table) {
    try {
      return Long.parseLong(stack.db.query("SELECT count() FROM tokenledger." + table + " WHERE " + MEASURED).get(0).get(0));
    } catch (RuntimeException e) {
      return -1;
    }
  }

  private static int check(String what, long actual, long expected) {
    boolean ok = actual == expected;
    System.out.printf("  %s %s: %,d (expected %,d)%n", ok ? "ok  " : "FAIL", what, actual, expected);
    return ok ? 0 : 1;
  }

  private static String peak(long pid) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
        if (line.startsWith("VmHWM:")) {
          return (Long.parseLong(line.replaceAll("\\D", "")) / 1024) + " MB";
        }
      }
    } catch (Exception e) {
      // not Linux
    }
    return "?";
  }

  /** The catalog's price for one call, computed here from the file alone; null when no version is in force. */
  static BigDecimal expectedCost(JsonNode model, Instant at, long in, long cached, long w5, long w1, long out, long reasoning,
      boolean batch) {
    JsonNode version = null;
    for (JsonNode v : model.path("versions")) {
      if (!Instant.parse(v.path("effective_from").asText()).isAfter(at)) {
        version = v;
      }
    }
    if (version == null) {
      return null;
    }
    JsonNode lc = version.path("long_context");
    JsonNode p = lc.isObject() && in + cached + w5 + w1 > lc.path("threshold_input_tokens").asLong() ? lc : version;
    BigDecimal keep = batch && version.hasNonNull("batch_discount")
        ? BigDecimal.ONE.subtract(new BigDecimal(version.path("batch_discount").asText())) : BigDecimal.ONE;
    String input = p.path("input").asText();
    String output = p.path("output").asText();
    BigDecimal total = part(in, input, keep)
        .add(part(cached, or(p, "cached_input", input), keep))
        .add(part(w5, or(p, "cache_write_5m", input), keep))
        .add(part(w1, or(p, "cache_write_1h", input), keep))
        .add(part(out, output, keep))
        .add(part(reasoning, or(p, "reasoning", output), keep));
    if (version.hasNonNull("request_fee")) {
      total = total.add(new BigDecimal(version.path("request_fee").asText()));
    }
    return total;
  }

  private static String or(JsonNode n, String field, String fallback) {
    return n.hasNonNull(field) ? n.path(field).asText() : fallback;
  }

  private static BigDecimal part(long tokens, String perMillion, BigDecimal keep) {
    return BigDecimal.valueOf(tokens).multiply(new BigDecimal(perMillion)).multiply(keep).movePointLeft(6)
        .setScale(12, RoundingMode.HALF_EVEN);
  }
}
