package io.tokenledger.producer.bench;

import io.tokenledger.avro.Enforcement;
import io.tokenledger.avro.QuotaScope;
import io.tokenledger.avro.QuotaState;
import io.tokenledger.avro.QuotaStatus;
import io.tokenledger.avro.QuotaWindow;
import io.tokenledger.producer.QuotaView;
import io.tokenledger.schemas.QuotaRules;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * {@code QuotaGuard.check}'s hot path: the in-memory view with 10,000 orgs, each with an org-wide monthly
 * policy and a per-user daily one (a tenth also a per-model one). Target: median under 200 ns.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class QuotaCheckBenchmark {

  QuotaView view;
  long now;
  String[] orgs;
  int i;

  @Setup
  public void setUp() {
    view = new QuotaView();
    now = Instant.parse("2026-11-24T12:00:00Z").toEpochMilli();
    orgs = new String[10_000];
    for (int o = 0; o < orgs.length; o++) {
      orgs[o] = "org-" + o;
      view.apply("m-" + o, status("m-" + o, orgs[o], QuotaScope.ORG, null, QuotaWindow.MONTH, "2026-11-01", "2026-12-01",
          o % 7 == 0 ? QuotaState.EXCEEDED : QuotaState.OK));
      view.apply("u-" + o, status("u-" + o, orgs[o], QuotaScope.USER, "alice", QuotaWindow.DAY, "2026-11-24", "2026-11-25",
          QuotaState.WARNING));
      if (o % 10 == 0) {
        view.apply("x-" + o, status("x-" + o, orgs[o], QuotaScope.MODEL, "gpt-4o", QuotaWindow.DAY, "2026-11-24",
            "2026-11-25", QuotaState.OK));
      }
    }
  }

  static QuotaStatus status(String id, String org, QuotaScope scope, String value, QuotaWindow w, String from, String to,
      QuotaState state) {
    BigDecimal limit = new BigDecimal("100").setScale(12);
    BigDecimal spend = new BigDecimal(state == QuotaState.EXCEEDED ? "120" : state == QuotaState.WARNING ? "85" : "10")
        .setScale(12);
    return QuotaStatus.newBuilder().setPolicyId(id).setOrgId(org).setScope(scope).setScopeValue(value).setWindow(w)
        .setWindowStart(Instant.parse(from + "T00:00:00Z")).setWindowEnd(Instant.parse(to + "T00:00:00Z"))
        .setLimitUsd(limit).setSpendUsd(spend).setRemainingUsd(limit.subtract(spend)).setState(state)
        .setEnforcement(Enforcement.HARD).setUpdatedAt(Instant.parse(from + "T00:00:00Z")).build();
  }

  @Benchmark
  public QuotaRules.Decision check() {
    String org = orgs[(i = (i + 7919) % orgs.length)];
    return view.check(org, (i & 1) == 0 ? "alice" : "bob", "openai", "gpt-4o-2024-08-06", now);
  }
}
