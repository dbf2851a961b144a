package io.tokenledger.stack;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tokenledger.infra.LocalPostgres;
import io.tokenledger.producer.Usage;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The baseline the harness compares the pipeline with: the same calls written the way the seed documents
 * write them, one {@code SELECT log_ai_usage(...)} per call into PostgreSQL, each in its own transaction
 * (autocommit), from {@code threads} connections at once as a service's request threads would, each holding
 * a pooled connection. It reports events/s and per-call latency, then checks that PostgreSQL holds exactly
 * what was sent: the row count, the total cost, and the cost per org.
 *
 * <p>Usage: {@code PostgresBaseline.runLocal(dir, rows, PostgresBaseline.DEFAULT_THREADS)} starts its own
 * server; {@link #run(LocalPostgres, List, int)} uses a running one. As a program:
 * {@code PostgresBaseline [CALLS] [THREADS] [SEED]} generates a load from the catalog file and runs it alone.
 */
public final class PostgresBaseline {

  /**
   * Connections writing at once: the default pool size of the usual connection pools (HikariCP, Rust's sqlx,
   * node-postgres), i.e. what a service that logs each call on its request thread would use.
   */
  public static final int DEFAULT_THREADS = 10;

  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * The schema of seed {@code 001} (the cms-service migration {@code 20260316000002_ai_usage_tracking.sql}):
   * table {@code ai_usage_logs}, its five indexes, its foreign keys, the {@code log_ai_usage} function and the
   * {@code ai_usage_daily} view, as written there, with these adaptations (docs/postgres-baseline.md says why):
   * {@code organizations} and {@code users} reduced to what the foreign keys need; a {@code provider} column
   * (seeds 000 and 004 have one; a model name alone is ambiguous); the cost as {@code NUMERIC(38, 12)} instead of
   * {@code NUMERIC(10, 6)}, which would round small calls to zero, and passed in by the caller, priced from the
   * catalog, instead of the seed's fixed "OpenAI-like" rates; token classes the seed lacks (cached input, cache
   * writes, reasoning, batch) in {@code request_metadata}.
   */
  static final String SCHEMA = """
      DROP VIEW IF EXISTS ai_usage_daily;
      DROP TABLE IF EXISTS ai_usage_logs, users, organizations CASCADE;
      CREATE TABLE organizations (
        id UUID PRIMARY KEY,
        name TEXT NOT NULL
      );
      CREATE TABLE users (
        id UUID PRIMARY KEY,
        name TEXT NOT NULL
      );
      CREATE TABLE ai_usage_logs (
        id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        organization_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
        tokens_used INTEGER NOT NULL DEFAULT 0,
        input_tokens INTEGER NOT NULL DEFAULT 0,
        output_tokens INTEGER NOT NULL DEFAULT 0,
        provider VARCHAR(50),
        endpoint VARCHAR(255),
        model VARCHAR(100),
        request_type VARCHAR(50),
        request_metadata JSONB,
        estimated_cost_usd NUMERIC(38, 12),
        created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
      );
      CREATE INDEX idx_ai_usage_user ON ai_usage_logs(user_id);
      CREATE INDEX idx_ai_usage_org ON ai_usage_logs(organization_id);
      CREATE INDEX idx_ai_usage_created ON ai_usage_logs(created_at);
      CREATE INDEX idx_ai_usage_endpoint ON ai_usage_logs(endpoint);
      CREATE INDEX idx_ai_usage_type ON ai_usage_logs(request_type);
      CREATE OR REPLACE FUNCTION log_ai_usage(
        p_user_id UUID,
        p_org_id UUID,
        p_tokens INTEGER,
        p_input_tokens INTEGER,
        p_output_tokens INTEGER,
        p_endpoint VARCHAR,
        p_model VARCHAR,
        p_request_type VARCHAR,
        p_metadata JSONB,
        p_provider VARCHAR,
        p_cost_usd NUMERIC
      )
      RETURNS UUID AS $$
      DECLARE
        v_log_id UUID;
      BEGIN
        INSERT INTO ai_usage_logs (
          user_id, organization_id, tokens_used, input_tokens, output_tokens,
          endpoint, model, request_type, request_metadata, estimated_cost_usd, provider
        )
        VALUES (
          p_user_id, p_org_id, p_tokens, p_input_tokens, p_output_tokens,
          p_endpoint, p_model, p_request_type, p_metadata, p_cost_usd, p_provider
        )
        RETURNING id INTO v_log_id;
        RETURN v_log_id;
      END;
      $$ LANGUAGE plpgsql;
      CREATE VIEW ai_usage_daily AS
      SELECT
        DATE(created_at) AS usage_date,
        user_id,
        organization_id,
        request_type,
        SUM(tokens_used) AS total_tokens,
        SUM(input_tokens) AS total_input,
        SUM(output_tokens) AS total_output,
        COUNT(*) AS request_count,
        SUM(estimated_cost_usd) AS total_cost
      FROM ai_usage_logs
      GROUP BY DATE(created_at), user_id, organization_id, request_type;
      """;

  private static final String CALL = "SELECT log_ai_usage(?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?, ?)";

  private PostgresBaseline() {}

  /**
   * One AI call as a service would log it. Token counts are normalized as in {@code UsageEvent.avsc}; {@code cost}
   * is the exact cost, or null for a call with no price (stored as NULL, as the seed's nullable column allows).
   */
  public record Row(String org, String user, String provider, String model, long inputTokens, long cachedInputTokens,
      long cacheWrite5mTokens, long cacheWrite1hTokens, long outputTokens, long reasoningTokens, boolean batch,
      String endpoint, String requestType, BigDecimal cost) {

    public Row {
      Objects.requireNonNull(org, "org");
      Objects.requireNonNull(user, "user (the seed's user_id is NOT NULL)");
    }

    /** The call a {@link Usage} describes; {@code Usage} does not expose these three, so the caller passes them. */
    public static Row from(Usage u, boolean batch, String endpoint, String requestType, BigDecimal cost) {
      return new Row(u.orgId(), u.userId(), u.provider(), u.model(), u.inputTokens(), u.cachedInputTokens(),
          u.cacheWrite5mTokens(), u.cacheWrite1hTokens(), u.outputTokens(), u.reasoningTokens(), batch, endpoint,
          requestType, cost);
    }

    long totalTokens() {
      return inputTokens + cachedInputTokens + cacheWrite5mTokens + cacheWrite1hTokens + outputTokens + reasoningTokens;
    }

    /** The token classes the seed's table has no column for, as its {@code request_metadata} JSON. */
    String metadataJson() {
      return "{\"cached_input_tokens\":" + cachedInputTokens + ",\"cache_write_5m_tokens\":" + cacheWrite5mTokens
          + ",\"cache_write_1h_tokens\":" + cacheWrite1hTokens + ",\"reasoning_tokens\":" + reasoningTokens
          + ",\"batch\":" + batch + "}";
    }
  }

  /**
   * What a run measured and found. {@code ok()} when PostgreSQL holds every call once and exactly the costs sent,
   * in total, per org and through the seed's daily view.
   */
  public record Result(int calls, int threads, double seconds, long p50Micros, long p99Micros, long maxMicros,
      long rowsStored, BigDecimal costSent, BigDecimal costStored, BigDecimal costInDailyView, int orgs,
      int orgsMismatched, long serverMemoryKb, String server) {

    public double eventsPerSecond() {
      return calls / seconds;
    }

    public boolean ok() {
      return rowsStored == calls && costStored.compareTo(costSent) == 0 && costInDailyView.compareTo(costSent) == 0
          && orgsMismatched == 0;
    }

    public String summary() {
      return String.format("PostgreSQL baseline (%s, one log_ai_usage() call per event, autocommit, %d connection%s): "
          + "%,d calls in %.1f s = %,.0f events/s; per call p50 %.2f ms, p99 %.2f ms, max %.1f ms; memory %s%n"
          + "  %s rows stored: %,d (expected %,d)%n"
          + "  %s cost stored: %s (sent %s; ai_usage_daily view %s); orgs with a different total: %d of %d",
          server, threads, threads == 1 ? "" : "s", calls, seconds, eventsPerSecond(), p50Micros / 1e3, p99Micros / 1e3,
          maxMicros / 1e3,
          serverMemoryKb < 0 ? "?" : (serverMemoryKb / 1024) + " MB (Pss of all its processes, connections open)",
          rowsStored == calls ? "ok  " : "FAIL", rowsStored, calls,
          costStored.compareTo(costSent) == 0 && costInDailyView.compareTo(costSent) == 0 && orgsMismatched == 0
              ? "ok  " : "FAIL",
          costStored.toPlainString(), costSent.toPlainString(), costInDailyView.toPlainString(), orgsMismatched, orgs);
    }
  }

  /** Starts PostgreSQL in {@code dir}, runs {@link #run(LocalPostgres, List, int)}, and stops it. */
  public static Result runLocal(Path dir, List<Row> calls, int threads) throws SQLException, InterruptedException {
    try (LocalPostgres pg = LocalPostgres.start(dir, Duration.ofSeconds(120))) {
      return run(pg, calls, threads);
    }
  }

  /**
   * Creates the seed's schema in {@code pg} (dropping an earlier one), registers the orgs and users the calls
   * name (not timed: they exist before any call in a real service), writes every call with one function call
   * each from {@code threads} connections, then reads back what PostgreSQL holds.
   */
  public static Result run(LocalPostgres pg, List<Row> calls, int threads) throws SQLException, InterruptedException {
    if (threads < 1) {
      throw new IllegalArgumentException("threads must be at least 1, was " + threads);
    }
    String server;
    try (Connection c = pg.connect(); Statement s = c.createStatement()) {
      s.execute(SCHEMA);
      try (ResultSet rs = s.executeQuery("SHOW server_version")) {
        rs.next();
        server = "PostgreSQL " + rs.getString(1).split(" ")[0];
      }
      registerOrgsAndUsers(c, calls);
    }

    long[] latencies = new long[calls.size()];
    AtomicInteger next = new AtomicInteger();
    CountDownLatch ready = new CountDownLatch(threads);
    CountDownLatch go = new CountDownLatch(1);
    CountDownLatch finished = new CountDownLatch(threads);
    CountDownLatch measured = new CountDownLatch(1);
    List<Thread> workers = new ArrayList<>();
    List<Throwable> errors = Collections.synchronizedList(new ArrayList<>());
    for (int t = 0; t < threads; t++) {
      Thread w = new Thread(() -> {
        boolean counted = false;
        boolean done = false;
        try (Connection c = pg.connect(); PreparedStatement ps = c.prepareStatement(CALL)) {
          c.setAutoCommit(true);
          ready.countDown();
          counted = true;
          go.await();
          for (int i = next.getAndIncrement(); i < calls.size(); i = next.getAndIncrement()) {
            long t0 = System.nanoTime();
            logCall(ps, calls.get(i));
            latencies[i] = System.nanoTime() - t0;
          }
          done = true;
          finished.countDown();
          measured.await(); // keep the connection (and its backend) until the server's memory is read
        } catch (Throwable e) {
          errors.add(e);
          next.set(calls.size()); // stop the others: the figures would mean nothing
          if (!counted) {
            ready.countDown();
          }
          if (!done) {
            finished.countDown();
          }
        }
      }, "pg-baseline-" + t);
      workers.add(w);
      w.start();
    }
    ready.await();
    long start = System.nanoTime();
    go.countDown();
    finished.await();
    long elapsed = System.nanoTime() - start;
    long memoryKb = pg.memoryKb();
    measured.countDown();
    for (Thread w : workers) {
      w.join();
    }
    if (!errors.isEmpty()) {
      throw new IllegalStateException("the PostgreSQL baseline failed: " + errors.get(0), errors.get(0));
    }

    long[] sorted = latencies.clone();
    Arrays.sort(sorted);
    Map<String, BigDecimal> sentByOrg = new TreeMap<>();
    BigDecimal sent = BigDecimal.ZERO;
    for (Row r : calls) {
      if (r.cost() != null) {
        sent = sent.add(r.cost());
        sentByOrg.merge(r.org(), r.cost(), BigDecimal::add);
      } else {
        sentByOrg.putIfAbsent(r.org(), BigDecimal.ZERO);
      }
    }

    long rows;
    BigDecimal stored;
    BigDecimal inView;
    Map<String, BigDecimal> storedByOrg = new HashMap<>();
    try (Connection c = pg.connect(); Statement s = c.createStatement()) {
      try (ResultSet rs = s.executeQuery("SELECT count(*), coalesce(sum(estimated_cost_usd), 0) FROM ai_usage_logs")) {
        rs.next();
        rows = rs.getLong(1);
        stored = rs.getBigDecimal(2);
      }
      try (ResultSet rs = s.executeQuery("SELECT coalesce(sum(total_cost), 0) FROM ai_usage_daily")) {
        rs.next();
        inView = rs.getBigDecimal(1);
      }
      try (ResultSet rs = s.executeQuery("SELECT o.name, coalesce(sum(l.estimated_cost_usd), 0) FROM ai_usage_logs l "
          + "JOIN organizations o ON o.id = l.organization_id GROUP BY o.name")) {
        while (rs.next()) {
          storedByOrg.put(rs.getString(1), rs.getBigDecimal(2));
        }
      }
    }
    int mismatched = 0;
    for (var e : sentByOrg.entrySet()) {
      BigDecimal got = storedByOrg.get(e.getKey());
      if (got == null || got.compareTo(e.getValue()) != 0) {
        mismatched++;
      }
    }
    return new Result(calls.size(), threads, elapsed / 1e9, percentile(sorted, 50), percentile(sorted, 99),
        sorted.length == 0 ? 0 : sorted[sorted.length - 1] / 1_000, rows, sent, stored, inView, sentByOrg.size(),
        mismatched, memoryKb, server);
  }

  private static void logCall(PreparedStatement ps, Row r) throws SQLException {
    ps.setObject(1, userId(r.org(), r.user()));
    ps.setObject(2, orgId(r.org()));
    ps.setInt(3, Math.toIntExact(r.totalTokens()));
    ps.setInt(4, Math.toIntExact(r.inputTokens()));
    ps.setInt(5, Math.toIntExact(r.outputTokens()));
    ps.setString(6, r.endpoint());
    ps.setString(7, r.model());
    ps.setString(8, r.requestType());
    ps.setString(9, r.metadataJson());
    ps.setString(10, r.provider());
    if (r.cost() == null) {
      ps.setNull(11, Types.NUMERIC);
    } else {
      ps.setBigDecimal(11, r.cost());
    }
    try (ResultSet rs = ps.executeQuery()) {
      rs.next(); // the new row's id, which the seed's function returns
    }
  }

  private static void registerOrgsAndUsers(Connection c, List<Row> calls) throws SQLException {
    Map<String, UUID> orgs = new LinkedHashMap<>();
    Map<String, UUID> users = new LinkedHashMap<>();
    for (Row r : calls) {
      orgs.computeIfAbsent(r.org(), PostgresBaseline::orgId);
      users.computeIfAbsent(r.org() + "/" + r.user(), k -> userId(r.org(), r.user()));
    }
    boolean auto = c.getAutoCommit();
    c.setAutoCommit(false);
    try (PreparedStatement o = c.prepareStatement("INSERT INTO organizations (id, name) VALUES (?, ?)");
        PreparedStatement u = c.prepareStatement("INSERT INTO users (id, name) VALUES (?, ?)")) {
      for (var e : orgs.entrySet()) {
        o.setObject(1, e.getValue());
        o.setString(2, e.getKey());
        o.addBatch();
      }
      o.executeBatch();
      for (var e : users.entrySet()) {
        u.setObject(1, e.getValue());
        u.setString(2, e.getKey());
        u.addBatch();
      }
      u.executeBatch();
      c.commit();
    } finally {
      c.setAutoCommit(auto);
    }
    try (Statement s = c.createStatement()) {
      s.execute("ANALYZE organizations, users");
    }
  }

  /** The seed keys orgs and users by UUID; ours are names, mapped to stable name-based UUIDs. */
  static UUID orgId(String org) {
    return UUID.nameUUIDFromBytes(("org:" + org).getBytes(StandardCharsets.UTF_8));
  }

  static UUID userId(String org, String user) {
    return UUID.nameUUIDFromBytes(("user:" + org + "/" + user).getBytes(StandardCharsets.UTF_8));
  }

  private static long percentile(long[] sortedNanos, int p) {
    if (sortedNanos.length == 0) {
      return 0;
    }
    int i = (int) Math.ceil(p / 100.0 * sortedNanos.length) - 1;
    return sortedNanos[Math.max(0, Math.min(sortedNanos.length - 1, i))] / 1_000;
  }

  /**
   * {@code PostgresBaseline [CALLS] [THREADS] [SEED]}: the baseline alone, on a load like the harness's (orgs
   * skewed, models from the catalog file priced at their latest version, several token classes), with its server
   * under {@code .tokenledger/postgres-baseline}. Exits non-zero when a check fails.
   */
  public static void main(String[] args) throws Exception {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 20_000;
    int threads = args.length > 1 ? Integer.parseInt(args[1]) : DEFAULT_THREADS;
    long seed = args.length > 2 ? Long.parseLong(args[2]) : 42;
    List<Row> calls = generate(Path.of("deploy/catalog/pricing-catalog.json"), n, seed);
    Result r = runLocal(Path.of(".tokenledger", "postgres-baseline").toAbsolutePath(), calls, threads);
    System.out.println(r.summary());
    System.exit(r.ok() ? 0 : 1);
  }

  /** {@code n} calls from the catalog file, each priced exactly at its model's latest version. */
  static List<Row> generate(Path catalogFile, int n, long seed) throws java.io.IOException {
    JsonNode catalog = JSON.readTree(Files.readString(catalogFile));
    List<JsonNode> models = new ArrayList<>();
    catalog.path("models").forEach(models::add);
    Random r = new Random(seed);
    List<Row> calls = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      String org = "org-" + Math.min(199, (int) (-Math.log(1 - r.nextDouble()) * 20));
      JsonNode m = models.get(r.nextInt(models.size()));
      JsonNode v = m.path("versions").get(m.path("versions").size() - 1);
      long in = 100 + r.nextInt(8_000);
      long cached = r.nextInt(3) == 0 ? r.nextInt(4_000) : 0;
      long out = r.nextInt(2_000);
      long reasoning = r.nextInt(4) == 0 ? r.nextInt(3_000) : 0;
      String input = v.path("input").asText();
      String output = v.path("output").asText();
      BigDecimal cost = part(in, input)
          .add(part(cached, v.hasNonNull("cached_input") ? v.path("cached_input").asText() : input))
          .add(part(out, output))
          .add(part(reasoning, v.hasNonNull("reasoning") ? v.path("reasoning").asText() : output));
      if (v.hasNonNull("request_fee")) {
        cost = cost.add(new BigDecimal(v.path("request_fee").asText()));
      }
      calls.add(new Row(org, "u" + r.nextInt(50), m.path("provider").asText(), m.path("model").asText(), in, cached,
          0, 0, out, reasoning, false, "/api/" + r.nextInt(5), "chat", cost));
    }
    return calls;
  }

  private static BigDecimal part(long tokens, String perMillion) {
    return BigDecimal.valueOf(tokens).multiply(new BigDecimal(perMillion)).movePointLeft(6)
        .setScale(12, RoundingMode.HALF_EVEN);
  }
}
