package io.tokenledger.processor.quota;

import io.tokenledger.avro.CostedUsage;
import io.tokenledger.avro.QuotaBreach;
import io.tokenledger.avro.QuotaPolicy;
import io.tokenledger.avro.QuotaState;
import io.tokenledger.avro.QuotaStatus;
import io.tokenledger.avro.UsageEvent;
import io.tokenledger.processor.PipelineMetrics;
import io.tokenledger.schemas.QuotaRules;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Adds each costed event to the spend of every policy that covers it, in the policy's calendar window of
 * the event's own time, and emits one {@link QuotaBreach} the first time spend reaches each threshold in a
 * window. Spend and the thresholds already alerted live in a changelogged store, written in the same
 * exactly-once transaction as the alert: a restart neither loses spend nor repeats an alert.
 *
 * <p>Outputs: {@link QuotaBreach} keyed by org; {@link QuotaStatus} keyed by policy id, at most once per
 * status interval per policy unless a threshold is crossed (then at once); {@link StatusTombstone} when a
 * policy is deleted.
 *
 * <p>Policy changes take effect on a wall-clock punctuation: raising a limit above the spend re-arms the
 * thresholds it un-crosses; lowering it below the spend alerts at once.
 */
public final class QuotaProcessor implements Processor<String, CostedUsage, String, Object> {

  public static final String STORE = "quota-spend-store";
  private static final Logger LOG = LoggerFactory.getLogger(QuotaProcessor.class);
  private static final BigDecimal HUNDRED = BigDecimal.valueOf(100);

  /** Marks the deletion of a policy's status record. */
  public record StatusTombstone(String policyId) {}

  private final PolicyBook book;
  private final PipelineMetrics metrics;
  private final long graceMs;
  private final long statusIntervalMs;
  private ProcessorContext<String, Object> context;
  private KeyValueStore<String, SpendState> spend;
  private long seenGeneration;
  /** Status records not yet written because one was written less than an interval ago (in memory only). */
  private final Set<String> dirty = new LinkedHashSet<>();
  private final Map<String, Long> lastStatusAt = new HashMap<>();
  /**
   * The spend states this task touched last, as objects, written through to the store: decoding the
   * store's bytes on every event was the largest cost of quota tracking. The store stays the truth; this
   * is emptied whenever the task is (re)initialized or closed, e.g. after an aborted transaction.
   */
  private final Map<String, SpendState> recent = new LinkedHashMap<>(256, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, SpendState> eldest) {
      return size() > RECENT_STATES;
    }
  };
  private static final int RECENT_STATES = 50_000;
  private final ReadablePartitions readable;
  private int partition = -1;
  private boolean announceAll = true;

  public QuotaProcessor(PolicyBook book, PipelineMetrics metrics, Duration grace, Duration statusInterval,
      ReadablePartitions readable) {
    this.book = book;
    this.readable = readable;
    this.metrics = metrics;
    this.graceMs = grace.toMillis();
    this.statusIntervalMs = Math.max(1, statusInterval.toMillis());
  }

  @Override
  public void init(ProcessorContext<String, Object> context) {
    this.context = context;
    this.spend = context.getStateStore(STORE);
    recent.clear();
    ReadOnlyKeyValueStore<String, QuotaPolicy> policies = context.getStateStore(PolicyUpdater.STORE);
    book.loadOnce(sink -> {
      try (var it = policies.all()) {
        it.forEachRemaining(kv -> sink.accept(kv.value));
      }
    });
    seenGeneration = book.generation();
    partition = context.taskId().partition();
    readable.add(partition);
    context.schedule(Duration.ofMillis(statusIntervalMs), PunctuationType.WALL_CLOCK_TIME, this::punctuate);
  }

  @Override
  public void process(Record<String, CostedUsage> record) {
    CostedUsage c = record.value();
    UsageEvent e = c.getEvent();
    List<QuotaPolicy> policies = book.forOrg(e.getOrgId());
    if (policies.isEmpty()) {
      return;
    }
    if (!"USD".equals(c.getCurrency())) {
      LOG.warn("event [{}] costed in [{}]: quota limits are in USD, not counted", e.getEventId(), c.getCurrency());
      return;
    }
    long eventMs = e.getEventTime().toEpochMilli();
    long streamTime = Math.max(context.currentStreamTimeMs(), eventMs);
    for (QuotaPolicy p : policies) {
      if (!QuotaRules.covers(p.getScope(), p.getScopeValue(), e.getUserId(), e.getProvider(), e.getModel())) {
        continue;
      }
      QuotaRules.Window w = QuotaRules.windowAt(p.getWindow(), eventMs);
      if (w.endMs() + graceMs <= streamTime) {
        metrics.lateForQuota();
        continue;
      }
      String key = key(p.getPolicyId(), w.startMs());
      SpendState state = recent.get(key);
      if (state == null) {
        state = spend.get(key);
      }
      if (state == null) {
        state = SpendState.empty(w.startMs(), w.endMs());
      }
      state = state.withSpend(state.spend().add(c.getTotalCost()));
      evaluate(p, key, state, e, record.timestamp());
    }
  }

  /** Re-arms and fires thresholds for the current spend and limit, stores the state, writes the status. */
  private void evaluate(QuotaPolicy p, String key, SpendState state, UsageEvent cause, long timestamp) {
    BigDecimal limit = p.getLimitUsd();
    List<Integer> thresholds = p.getThresholdsPercent();
    BigDecimal spend100 = state.spend().multiply(HUNDRED);
    // re-arm: a threshold whose level is now above the spend (the limit was raised, or it was removed)
    int[] crossed = state.crossed();
    int keptCount = 0;
    int[] kept = new int[crossed.length];
    for (int t : crossed) {
      if (thresholds.contains(t) && reached(spend100, limit, t)) {
        kept[keptCount++] = t;
      }
    }
    SpendState s = keptCount == crossed.length ? state : state.withCrossed(Arrays.copyOf(kept, keptCount));
    boolean crossedNow = false;
    if (s.spend().signum() > 0) {
      int[] ordered = new int[thresholds.size()];
      for (int i = 0; i < ordered.length; i++) {
        ordered[i] = thresholds.get(i);
      }
      Arrays.sort(ordered);
      for (int t : ordered) {
        if (!s.hasCrossed(t) && reached(spend100, limit, t)) {
          int[] more = Arrays.copyOf(s.crossed(), s.crossed().length + 1);
          more[more.length - 1] = t;
          s = s.withCrossed(more);
          crossedNow = true;
          metrics.breach();
          context.forward(new Record<>(p.getOrgId(), breach(p, s, t, cause), timestamp));
        }
      }
    }
    spend.put(key, s);
    recent.put(key, s);
    long now = context.currentSystemTimeMs();
    Long last = lastStatusAt.get(p.getPolicyId());
    if (crossedNow || last == null || now - last >= statusIntervalMs) {
      writeStatus(p, s, timestamp);
    } else {
      dirty.add(p.getPolicyId());
    }
  }

  /** spend ≥ percent % of limit, compared exactly as 100 × spend ≥ percent × limit. */
  private static boolean reached(BigDecimal spend100, BigDecimal limit, int percent) {
    return spend100.compareTo(limit.multiply(BigDecimal.valueOf(percent))) >= 0;
  }

  private void punctuate(long now) {
    long gen = book.generation();
    if (gen != seenGeneration) {
      for (String id : new LinkedHashSet<>(book.changedSince(seenGeneration))) {
        policyChanged(id, now);
      }
      seenGeneration = gen;
    }
    if (announceAll) {
      // after a start or restart, publish the status of every policy this task holds spend for
      announceAll = false;
      for (String org : List.copyOf(book.orgs())) {
        for (QuotaPolicy p : book.forOrg(org)) {
          if (!lastStatusAt.containsKey(p.getPolicyId())) {
            dirty.add(p.getPolicyId());
          }
        }
      }
    }
    for (String id : List.copyOf(dirty)) {
      QuotaPolicy p = book.get(id);
      dirty.remove(id);
      if (p == null) {
        continue;
      }
      SpendState s = spend.get(key(id, QuotaRules.windowAt(p.getWindow(), now).startMs()));
      if (s != null) {
        writeStatus(p, s, now);
      }
    }
  }

  private void policyChanged(String id, long now) {
    QuotaPolicy p = book.get(id);
    if (p == null) {
      // deleted: drop its status record if this task holds it
      lastStatusAt.remove(id);
      dirty.remove(id);
      if (heldHere(id)) {
        context.forward(new Record<>(id, new StatusTombstone(id), now));
      }
      return;
    }
    QuotaRules.Window w = QuotaRules.windowAt(p.getWindow(), now);
    String key = key(id, w.startMs());
    SpendState s = spend.get(key);
    if (s != null) {
      lastStatusAt.remove(id);
      evaluate(p, key, s, null, now);
    }
  }

  private boolean heldHere(String policyId) {
    try (var it = spend.prefixScan(policyId + "|", new org.apache.kafka.common.serialization.StringSerializer())) {
      return it.hasNext();
    }
  }

  private void writeStatus(QuotaPolicy p, SpendState s, long timestamp) {
    lastStatusAt.put(p.getPolicyId(), context.currentSystemTimeMs());
    dirty.remove(p.getPolicyId());
    context.forward(new Record<>(p.getPolicyId(), status(p, s, context.currentSystemTimeMs()), timestamp));
  }

  static QuotaStatus status(QuotaPolicy p, SpendState s, long nowMs) {
    BigDecimal limit = p.getLimitUsd();
    QuotaState state = s.spend().signum() > 0 && s.spend().compareTo(limit) >= 0 ? QuotaState.EXCEEDED
        : s.crossed().length > 0 ? QuotaState.WARNING : QuotaState.OK;
    return QuotaStatus.newBuilder()
        .setPolicyId(p.getPolicyId())
        .setOrgId(p.getOrgId())
        .setScope(p.getScope())
        .setScopeValue(p.getScopeValue())
        .setWindow(p.getWindow())
        .setWindowStart(Instant.ofEpochMilli(s.windowStartMs()))
        .setWindowEnd(Instant.ofEpochMilli(s.windowEndMs()))
        .setLimitUsd(limit.setScale(12))
        .setSpendUsd(s.spend().setScale(12))
        .setRemainingUsd(limit.subtract(s.spend()).setScale(12))
        .setState(state)
        .setEnforcement(p.getEnforcement())
        .setUpdatedAt(Instant.ofEpochMilli(nowMs))
        .build();
  }

  private QuotaBreach breach(QuotaPolicy p, SpendState s, int threshold, UsageEvent cause) {
    return QuotaBreach.newBuilder()
        .setBreachId(p.getPolicyId() + "/" + Instant.ofEpochMilli(s.windowStartMs()) + "/" + threshold)
        .setPolicyId(p.getPolicyId())
        .setOrgId(p.getOrgId())
        .setScope(p.getScope())
        .setScopeValue(p.getScopeValue())
        .setWindow(p.getWindow())
        .setWindowStart(Instant.ofEpochMilli(s.windowStartMs()))
        .setWindowEnd(Instant.ofEpochMilli(s.windowEndMs()))
        .setThresholdPercent(threshold)
        .setLimitUsd(p.getLimitUsd().setScale(12))
        .setSpendUsd(s.spend().setScale(12))
        .setEnforcement(p.getEnforcement())
        .setEventId(cause == null ? null : cause.getEventId())
        .setEventTime(cause == null ? null : cause.getEventTime())
        .setDetectedAt(Instant.ofEpochMilli(context.currentSystemTimeMs()))
        .build();
  }

  @Override
  public void close() {
    if (partition >= 0) {
      readable.remove(partition);
    }
    recent.clear();
  }

  static String key(String policyId, long windowStartMs) {
    return policyId + "|" + windowStartMs;
  }
}
