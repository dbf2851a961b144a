package io.tokenledger.schemas;

import io.tokenledger.avro.QuotaScope;
import io.tokenledger.avro.QuotaWindow;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
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
    return switch (scope) {
      case ORG -> true;
      case USER -> scopeValue != null && scopeValue.equals(user);
      case PROVIDER -> scopeValue != null && ModelKeys.provider(scopeValue).equals(ModelKeys.provider(provider));
      case MODEL -> scopeValue != null && coversModel(scopeValue, provider, model);
    };
  }

  private static boolean coversModel(String scopeValue, String provider, String model) {
    String v = scopeValue.trim().toLowerCase(java.util.Locale.ROOT);
    List<String> keys = ModelKeys.candidates(provider == null ? "" : provider, model == null ? "" : model);
    for (String key : keys) {
      if (key.equals(v) || key.substring(key.indexOf('/') + 1).equals(v)) {
        return true;
      }
    }
    return false;
  }
}
