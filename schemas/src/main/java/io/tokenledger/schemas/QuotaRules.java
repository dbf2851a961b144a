package io.tokenledger.schemas;

import io.tokenledger.avro.Enforcement;
import io.tokenledger.avro.QuotaScope;
import io.tokenledger.avro.QuotaState;
import io.tokenledger.avro.QuotaStatus;
import io.tokenledger.avro.QuotaWindow;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.math.BigDecimal;
import java.util.Collection;
import java.util.List;

/**
 * The rules that the stream processor (which tracks spend) and services (which check before a call) must
 * agree on: which calendar window an instant falls in, and which calls a policy's scope covers.
 */
public final class QuotaRules {

  private QuotaRules() {}

  /** A calendar window in UTC: [start, end). */
  public record Window(long startMs, long endMs) {

    public boolean contains(long ms) {
      return ms >= startMs && ms < endMs;
    }
  }

  public static Window windowAt(QuotaWindow window, long epochMs) {
    LocalDate day = Instant.ofEpochMilli(epochMs).atZone(ZoneOffset.UTC).toLocalDate();
    LocalDate start = window == QuotaWindow.DAY ? day : day.withDayOfMonth(1);
    LocalDate end = window == QuotaWindow.DAY ? start.plusDays(1) : start.plusMonths(1);
    return new Window(start.atStartOfDay(ZoneOffset.UTC).toInstant().toEpochMilli(),
        end.atStartOfDay(ZoneOffset.UTC).toInstant().toEpochMilli());
  }

  /**
   * Whether a policy with this scope covers a call by {@code user} to {@code provider}/{@code model}. A model
   * scope names a model family ({@code gpt-4o}) or a catalog key ({@code openai/gpt-4o}); it covers the
   * family's dated snapshots too. A provider or model scope is matched after the same normalization as
   * pricing (case, provider aliases).
   */
  public static boolean covers(QuotaScope scope, String scopeValue, String user, String provider, String model) {
    return covers(scope, scopeValue, user, provider, model, null);
  }

  /**
   * As {@link #covers(QuotaScope, String, String, String, String)}, with the call's model keys
   * ({@link ModelKeys#candidates}) already computed, or null to compute them when needed.
   */
  public static boolean covers(QuotaScope scope, String scopeValue, String user, String provider, String model,
      List<String> modelKeys) {
    return switch (scope) {
      case ORG -> true;
      case USER -> scopeValue != null && scopeValue.equals(user);
      case PROVIDER -> scopeValue != null && ModelKeys.provider(scopeValue).equals(ModelKeys.provider(provider));
      case MODEL -> scopeValue != null && coversModel(scopeValue, modelKeys != null ? modelKeys
          : ModelKeys.candidates(provider == null ? "" : provider, model == null ? "" : model));
    };
  }

  private static boolean coversModel(String scopeValue, List<String> keys) {
    String v = scopeValue.trim().toLowerCase(java.util.Locale.ROOT);
    for (String key : keys) {
      if (key.equals(v) || key.substring(key.indexOf('/') + 1).equals(v)) {
        return true;
      }
    }
    return false;
  }

  /** What a service should do before a call. */
  public enum Verdict { ALLOW, WARN, DENY }

  /**
   * The answer to "may this call go ahead": DENY when a hard policy is exceeded, WARN when any policy is
   * exceeded (soft) or past a warning threshold, ALLOW otherwise. {@code deciding} is the policy behind the
   * verdict (the one with the least remaining budget among those of that verdict), null on ALLOW with no
   * policies.
   */
  public record Decision(Verdict verdict, QuotaStatus deciding) {

    /** Remaining budget of the deciding policy (negative when exceeded), or null. */
    public BigDecimal remainingUsd() {
      return deciding == null ? null : deciding.getRemainingUsd();
    }
  }

  public static Decision decide(Collection<QuotaStatus> statuses) {
    Decider d = new Decider();
    statuses.forEach(d::offer);
    return d.decision();
  }

  /** Accumulates statuses one at a time into a {@link Decision}, without collecting them first. */
  public static final class Decider {
    private QuotaStatus deny;
    private QuotaStatus warn;
    private QuotaStatus tightest;

    public void offer(QuotaStatus s) {
      boolean exceeded = s.getState() == QuotaState.EXCEEDED;
      if (exceeded && s.getEnforcement() == Enforcement.HARD) {
        deny = tighter(deny, s);
      } else if (exceeded || s.getState() == QuotaState.WARNING) {
        warn = tighter(warn, s);
      }
      tightest = tighter(tightest, s);
    }

    public Decision decision() {
      if (deny != null) {
        return new Decision(Verdict.DENY, deny);
      }
      if (warn != null) {
        return new Decision(Verdict.WARN, warn);
      }
      return new Decision(Verdict.ALLOW, tightest);
    }
  }

  private static QuotaStatus tighter(QuotaStatus a, QuotaStatus b) {
    return a == null || b.getRemainingUsd().compareTo(a.getRemainingUsd()) < 0 ? b : a;
  }
}
