package io.tokenledger.processor.pricing;

import io.tokenledger.avro.ModelPricing;
import io.tokenledger.schemas.ModelKeys;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * Resolves a reported provider and model to a compiled catalog entry, caching the answer (including "no
 * entry") per reported name so that pricing an event costs one hash lookup. The catalog itself lives in a
 * state store that every instance holds in full; the cache is dropped whenever the catalog changes.
 *
 * <p>Thread-safety: stream threads resolve while the global thread applies catalog updates. A resolution
 * computed from a catalog that changed meanwhile goes into the cache map that {@link #invalidate()} just
 * replaced, so a stale answer is never served from the live cache.
 */
public final class PriceBook {

  /** What a reported name resolved to: the keys tried, and the entry found (null if none). */
  public record Resolution(List<String> candidates, CompiledPricing pricing) {

    public String lookedUp() {
      return candidates.get(0);
    }
  }

  private volatile Map<String, Resolution> cache = new ConcurrentHashMap<>();

  /** Resolves using {@code catalog} (store key → value, null when absent). */
  public Resolution resolve(String provider, String model, Function<String, ModelPricing> catalog) {
    Map<String, Resolution> current = cache;
    String cacheKey = provider + '\u0000' + model;
    Resolution r = current.get(cacheKey);
    if (r == null) {
      r = lookUp(provider, model, catalog);
      current.put(cacheKey, r);
    }
    return r;
  }

  private static Resolution lookUp(String provider, String model, Function<String, ModelPricing> catalog) {
    List<String> candidates = ModelKeys.candidates(provider, model);
    for (String key : candidates) {
      ModelPricing p = catalog.apply(key);
      if (p != null && !p.getVersions().isEmpty()) {
        return new Resolution(candidates, CompiledPricing.compile(key, p));
      }
    }
    return new Resolution(candidates, null);
  }

  /** Called on every catalog change. */
  public void invalidate() {
    cache = new ConcurrentHashMap<>();
  }
}
