package io.tokenledger.processor.pricing;

import io.tokenledger.avro.LongContextTier;
import io.tokenledger.avro.ModelPricing;
import io.tokenledger.avro.PriceVersion;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * One catalog entry ready for pricing: its versions sorted by {@code effective_from}, each with per-token
 * rates precomputed for normal and batch calls, below and above the long-context threshold.
 */
public final class CompiledPricing {

  /** One price version, compiled. */
  public record Version(String id, long effectiveFromMs, String currency, Rates base, Rates batch,
      long longContextThreshold, Rates longContext, Rates longContextBatch, BigDecimal requestFee) {

    boolean hasLongContext() {
      return longContext != null;
    }
  }

  private final String key;
  private final long[] effectiveFrom;
  private final Version[] versions;

  private CompiledPricing(String key, List<Version> sorted) {
    this.key = key;
    this.versions = sorted.toArray(new Version[0]);
    this.effectiveFrom = new long[versions.length];
    for (int i = 0; i < versions.length; i++) {
      effectiveFrom[i] = versions[i].effectiveFromMs();
    }
  }

  public static CompiledPricing compile(String key, ModelPricing pricing) {
    List<Version> out = new ArrayList<>();
    for (PriceVersion v : pricing.getVersions()) {
      BigDecimal discount = v.getBatchDiscount();
      Rates base = rates(v, null);
      Rates batch = rates(v, discount);
      LongContextTier lc = v.getLongContext();
      BigDecimal fee = v.getRequestFee() == null ? Rates.ZERO : v.getRequestFee().setScale(Rates.SCALE);
      out.add(new Version(v.getId(), v.getEffectiveFrom().toEpochMilli(), v.getCurrency(), base, batch,
          lc == null ? Long.MAX_VALUE : lc.getThresholdInputTokens(),
          lc == null ? null : rates(lc, null), lc == null ? null : rates(lc, discount), fee));
    }
    out.sort(Comparator.comparingLong(Version::effectiveFromMs));
    return new CompiledPricing(key, out);
  }

  private static Rates rates(PriceVersion v, BigDecimal discount) {
    return Rates.perMillion(v.getInput(), v.getCachedInput(), v.getCacheWrite5m(), v.getCacheWrite1h(), v.getOutput(),
        v.getReasoning(), discount);
  }

  private static Rates rates(LongContextTier t, BigDecimal discount) {
    return Rates.perMillion(t.getInput(), t.getCachedInput(), t.getCacheWrite5m(), t.getCacheWrite1h(), t.getOutput(),
        t.getReasoning(), discount);
  }

  public String key() {
    return key;
  }

  /** The version in force at {@code eventTimeMs}: the latest whose effective_from is not after it; or null. */
  public Version versionAt(long eventTimeMs) {
    int lo = 0;
    int hi = effectiveFrom.length - 1;
    int found = -1;
    while (lo <= hi) {
      int mid = (lo + hi) >>> 1;
      if (effectiveFrom[mid] <= eventTimeMs) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found < 0 ? null : versions[found];
  }

  /** When the first version takes effect, for the reason given on an event older than that. */
  public long firstEffectiveFrom() {
    return effectiveFrom.length == 0 ? Long.MAX_VALUE : effectiveFrom[0];
  }
}
