package io.tokenledger.stack;

import io.tokenledger.sink.ClickHouse;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Emit-to-visible latency, measured on probe events: the harness registers a probe when it tracks the
 * call, a thread asks ClickHouse every {@value #POLL_MS} ms which outstanding probes are there, and each
 * probe's latency is the time from its tracking to the start of the first query that found it (at most
 * {@value #POLL_MS} ms more than the truth, never less).
 *
 * <p>The measuring must not load what it measures. A probe's event id starts with {@value #ID_PREFIX}, and a
 * materialized view of the harness's own copies the ids of such rows, as they are inserted into
 * {@code usage_costs}, into a small table that the queries read. Asking {@code usage_costs} itself, even
 * through its primary key, read a granule of 8,192 rows per probe and part: at 50,000 calls/s the queries
 * took a large share of ClickHouse's CPU, and more the longer a run went. ClickHouse pushes
 * an inserted block to the views after the table has stored it, so a probe is never found before its row
 * is visible in {@code usage_costs}: the view can only overstate a latency, never understate it.
 */
final class Probes implements AutoCloseable {

  /** How often ClickHouse is asked; each latency is at most this much above the truth. */
  static final long POLL_MS = 250;
  /** One call in this many, if priced, is a probe. */
  static final int EVERY = 500;
  /**
   * At most this many outstanding probes, the oldest, are asked for at a time: their ids are about 50 KB of
   * query, well inside ClickHouse's 256 KiB limit on a query's text, however far behind a run falls. Events
   * become visible roughly in the order they were sent; a probe beyond the oldest that is visible already
   * is found at a later query, so the cap can only overstate a latency.
   */
  static final int ASKED = 2_000;
  /** How the event id of a probe call starts. */
  static final String ID_PREFIX = "probe-";
  /** The table the harness's view fills with the ids of probe rows inserted into usage_costs. */
  private static final String SEEN = "harness.probes_seen";

  /** A probe: its event id, and when it was tracked. */
  private record Probe(String eventId, long emittedNanos) {}

  private final Map<String, Probe> outstanding = new ConcurrentHashMap<>();
  private final List<Long> latenciesMs = Collections.synchronizedList(new ArrayList<>());
  /** Emit time (ms from the clock's start) and latency of each probe found, for telling when the slow ones were sent. */
  private final List<long[]> found = Collections.synchronizedList(new ArrayList<>());
  private final ClickHouse db;
  private final Thread poller;
  private volatile boolean running = true;
  private boolean pollFailed;
  private final long expectedRows;
  private volatile long startNanos = System.nanoTime();
  private volatile long rowsBefore = Long.MAX_VALUE;
  private volatile long tenPercentAt;
  private volatile long ninetyPercentAt;

  /**
   * Creates the view and its table, and starts asking. usage_costs must exist: the stack's sink is healthy
   * only once its migrations have run, and the stack waits for that.
   */
  Probes(String clickhouseUrl, long expectedRows) {
    this.expectedRows = expectedRows;
    this.db = new ClickHouse(clickhouseUrl, "default", "", null, 30_000);
    db.execute("CREATE DATABASE IF NOT EXISTS harness");
    db.execute("CREATE TABLE IF NOT EXISTS " + SEEN + " (event_id String) ENGINE = MergeTree() ORDER BY event_id");
    db.execute("CREATE MATERIALIZED VIEW IF NOT EXISTS harness.probes_seen_mv TO " + SEEN + " AS SELECT event_id "
        + "FROM tokenledger.usage_costs WHERE startsWith(event_id, '" + ID_PREFIX + "')");
    this.poller = new Thread(this::poll, "harness-probes");
    poller.setDaemon(true);
    poller.start();
  }

  /** Times in the steady-rate line count from now; {@code rowsBefore} rows (the warm-up's) are not counted. */
  void startClock(long rowsBefore) {
    this.rowsBefore = rowsBefore;
    startNanos = System.nanoTime();
  }

  void emitted(String eventId) {
    if (!eventId.startsWith(ID_PREFIX)) {
      throw new IllegalArgumentException("a probe's event id must start with " + ID_PREFIX + ": " + eventId);
    }
    outstanding.put(eventId, new Probe(eventId, System.nanoTime()));
  }

  private void poll() {
    while (running) {
      try {
        Thread.sleep(POLL_MS);
        trackProgress();
        List<Probe> oldest = new ArrayList<>(outstanding.values());
        if (oldest.isEmpty()) {
          continue;
        }
        oldest.sort(Comparator.comparingLong(Probe::emittedNanos));
        long asked = System.nanoTime();
        StringBuilder ids = new StringBuilder();
        for (Probe p : oldest.subList(0, Math.min(oldest.size(), ASKED))) {
          ids.append(ids.length() == 0 ? "'" : ",'").append(p.eventId().replace("'", "''")).append('\'');
        }
        for (List<String> row : db.query("SELECT DISTINCT event_id FROM " + SEEN + " WHERE event_id IN (" + ids + ")")) {
          Probe p = outstanding.remove(row.get(0));
          if (p != null) {
            latenciesMs.add((asked - p.emittedNanos()) / 1_000_000);
            found.add(new long[] {(p.emittedNanos() - startNanos) / 1_000_000, (asked - p.emittedNanos()) / 1_000_000});
          }
        }
      } catch (InterruptedException e) {
        return;
      } catch (RuntimeException e) {
        // ClickHouse busy or down (a fault run stops it): ask again at the next tick; say so once
        if (!pollFailed) {
          pollFailed = true;
          System.out.println("  (probes: a query failed, asking again every " + POLL_MS + " ms: " + e.getMessage() + ")");
        }
      }
    }
  }

  /** Notes when a tenth and nine tenths of the expected rows are visible: the steady part of the run. */
  private void trackProgress() {
    if (ninetyPercentAt != 0) {
      return;
    }
    // all rows less the warm-up's, from part metadata: reading the table four times a second would load
    // ClickHouse more as the table grows, during the very run being measured
    long rows = Long.parseLong(db.query(LocalStack.activeRowsSql("usage_costs")).get(0).get(0)) - rowsBefore;
    long now = System.nanoTime();
    if (tenPercentAt == 0 && rows >= expectedRows / 10) {
      tenPercentAt = now;
    }
    if (rows >= expectedRows * 9 / 10) {
      ninetyPercentAt = now;
    }
  }

  /** Rows per second between 10 % and 90 % of the expected rows being visible, past start-up and warm-up. */
  String steadyRate() {
    long from = tenPercentAt;
    long to = ninetyPercentAt;
    if (from == 0 || to <= from) {
      return "not measured";
    }
    return String.format("%,.0f events/s (from %.1f s to %.1f s, while the 10th to 90th percent of rows became visible)",
        expectedRows * 0.8 / ((to - from) / 1e9), (from - startNanos) / 1e9, (to - startNanos) / 1e9);
  }

  /** Waits, up to {@code timeoutMs}, for the poller to find every probe. */
  void awaitAll(long timeoutMs) throws InterruptedException {
    long deadline = System.currentTimeMillis() + timeoutMs;
    while (!outstanding.isEmpty() && System.currentTimeMillis() < deadline) {
      Thread.sleep(50);
    }
  }

  /** p50 and p99 over the probes found so far, and how many are still missing. */
  String summary() {
    List<Long> l;
    synchronized (latenciesMs) {
      l = new ArrayList<>(latenciesMs);
    }
    if (l.isEmpty()) {
      return "no probe seen";
    }
    Collections.sort(l);
    List<long[]> slow;
    synchronized (found) {
      slow = new ArrayList<>(found);
    }
    slow.sort((a, b) -> Long.compare(b[1], a[1]));
    StringBuilder when = new StringBuilder();
    for (long[] p : slow.subList(0, Math.min(5, slow.size()))) {
      when.append(when.length() == 0 ? "" : ", ").append(String.format("%.1f s", p[0] / 1000.0));
    }
    return String.format("p50 %,d ms, p99 %,d ms, max %,d ms (%,d probes, every %,dth call if priced; %,d not seen); the "
        + "five slowest were emitted at %s", l.get(l.size() / 2), l.get(Math.min(l.size() - 1,
        (int) Math.ceil(l.size() * 0.99) - 1)), l.get(l.size() - 1), l.size(), EVERY, outstanding.size(), when);
  }

  /**
   * p50 and p99 of the probes emitted in each tenth of the {@code emittingMs} the calls took to send, in
   * seconds, and how many of each tenth were never seen: whether the pipeline kept up through the whole run
   * (latencies that stay flat) or fell behind more the longer it ran (latencies that grow from tenth to tenth).
   */
  String overTime(long emittingMs) {
    List<long[]> all;
    synchronized (found) {
      all = new ArrayList<>(found);
    }
    long span = Math.max(10, emittingMs);
    List<List<Long>> tenths = new ArrayList<>();
    int[] notSeen = new int[10];
    for (int t = 0; t < 10; t++) {
      tenths.add(new ArrayList<>());
    }
    for (long[] p : all) {
      tenths.get(tenth(p[0], span)).add(p[1]);
    }
    for (Probe p : outstanding.values()) {
      notSeen[tenth((p.emittedNanos() - startNanos) / 1_000_000, span)]++;
    }
    StringBuilder line = new StringBuilder(String.format("p50/p99 in s of the probes emitted in each tenth of the "
        + "emitting (%.1f s each):", span / 10_000.0));
    for (int t = 0; t < 10; t++) {
      List<Long> l = tenths.get(t);
      Collections.sort(l);
      line.append(l.isEmpty() ? " -" : String.format(" %.1f/%.1f", l.get(l.size() / 2) / 1000.0,
          l.get(Math.min(l.size() - 1, (int) Math.ceil(l.size() * 0.99) - 1)) / 1000.0));
      line.append(notSeen[t] == 0 ? "" : String.format(" (%,d not seen)", notSeen[t]));
    }
    return line.toString();
  }

  private static int tenth(long atMs, long spanMs) {
    return (int) Math.max(0, Math.min(9, atMs * 10 / spanMs));
  }

  @Override
  public void close() {
    running = false;
    poller.interrupt();
    db.close();
  }
}
