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
 * <p>The measuring must not load what it measures. The query names each probe's org and second along with
 * its id, so that ClickHouse finds it through the table's primary key (org_id, event_time) instead of reading
 * every event id it holds; and it names only the {@value #ASKED} oldest outstanding probes: each named probe
 * costs ClickHouse the parsing of its tuple and the reading of a granule. Events become visible roughly in
 * the order they were sent (each partition in order), and the oldest {@value #ASKED} probes span
 * {@value #ASKED} x {@value #EVERY} calls; a probe beyond them that is visible already is found later, so
 * the cap can only overstate a latency, never understate it.
 */
final class Probes implements AutoCloseable {

  /** How often ClickHouse is asked; each latency is at most this much above the truth. */
  static final long POLL_MS = 250;
  /** One call in this many, if priced, is a probe. */
  static final int EVERY = 500;
  /** At most this many outstanding probes, the oldest, are asked for at a time. */
  static final int ASKED = 200;

  /** A probe: its event id, org and event time (seconds), and when it was tracked. */
  private record Probe(String eventId, String orgId, long eventSecond, long emittedNanos) {}

  private final Map<String, Probe> outstanding = new ConcurrentHashMap<>();
  private final List<Long> latenciesMs = Collections.synchronizedList(new ArrayList<>());
  /** Emit time (ms from the clock's start) and latency of each probe found, for telling when the slow ones were sent. */
  private final List<long[]> found = Collections.synchronizedList(new ArrayList<>());
  private final ClickHouse db;
  private final Thread poller;
  private volatile boolean running = true;
  private final long expectedRows;
  private volatile long startNanos = System.nanoTime();
  private volatile long rowsBefore = Long.MAX_VALUE;
  private volatile long tenPercentAt;
  private volatile long ninetyPercentAt;

  Probes(String clickhouseUrl, long expectedRows) {
    this.expectedRows = expectedRows;
    this.db = new ClickHouse(clickhouseUrl, "default", "", null, 30_000);
    this.poller = new Thread(this::poll, "harness-probes");
    poller.setDaemon(true);
    poller.start();
  }

  /** Times in the steady-rate line count from now; {@code rowsBefore} rows (the warm-up's) are not counted. */
  void startClock(long rowsBefore) {
    this.rowsBefore = rowsBefore;
    startNanos = System.nanoTime();
  }

  void emitted(String eventId, String orgId, long eventTimeMs) {
    outstanding.put(eventId, new Probe(eventId, orgId, Math.floorDiv(eventTimeMs, 1000), System.nanoTime()));
  }

  private void poll() {
    while (running) {
      try {
        Thread.sleep(POLL_MS);
        trackProgress();
        List<Probe> probes = new ArrayList<>(outstanding.values());
        if (probes.isEmpty()) {
          continue;
        }
        probes.sort(Comparator.comparingLong(Probe::emittedNanos));
        long asked = System.nanoTime();
        StringBuilder keys = new StringBuilder();
        StringBuilder ids = new StringBuilder();
        for (Probe p : probes.subList(0, Math.min(probes.size(), ASKED))) {
          keys.append(keys.length() == 0 ? "" : ",").append("('").append(p.orgId().replace("'", "''")).append("',")
              .append(p.eventSecond()).append(')');
          ids.append(ids.length() == 0 ? "'" : ",'").append(p.eventId().replace("'", "''")).append('\'');
        }
        for (List<String> row : db.query("SELECT DISTINCT event_id FROM tokenledger.usage_costs WHERE (org_id, event_time) IN ("
            + keys + ") AND event_id IN (" + ids + ")")) {
          Probe p = outstanding.remove(row.get(0));
          if (p != null) {
            latenciesMs.add((asked - p.emittedNanos()) / 1_000_000);
            found.add(new long[] {(p.emittedNanos() - startNanos) / 1_000_000, (asked - p.emittedNanos()) / 1_000_000});
          }
        }
      } catch (InterruptedException e) {
        return;
      } catch (RuntimeException e) {
        // ClickHouse busy or not up yet: ask again at the next tick
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

  @Override
  public void close() {
    running = false;
    poller.interrupt();
    db.close();
  }
}
