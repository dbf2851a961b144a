package io.tokenledger.processor.pricing;

import java.math.BigDecimal;

/** An event's cost by token class, in the version's currency, exact to 1e-12. */
public record Cost(BigDecimal input, BigDecimal cachedInput, BigDecimal cacheWrite, BigDecimal output,
    BigDecimal reasoning, BigDecimal requestFee, BigDecimal total, CompiledPricing.Version version,
    boolean longContext) {

  /** Token counts of one call, already normalized (input excludes cached and cache-write tokens). */
  public record Tokens(long input, long cachedInput, long cacheWrite5m, long cacheWrite1h, long output,
      long reasoning) {

    /** Everything the model read: what long-context thresholds are measured against. */
    public long prompt() {
      return input + cachedInput + cacheWrite5m + cacheWrite1h;
    }
  }

  /** Prices {@code tokens} with {@code version}'s rates. */
  public static Cost of(Tokens tokens, boolean batch, CompiledPricing.Version version) {
    boolean longContext = version.hasLongContext() && tokens.prompt() > version.longContextThreshold();
    Rates r = longContext
        ? (batch ? version.longContextBatch() : version.longContext())
        : (batch ? version.batch() : version.base());
    BigDecimal input = Rates.cost(tokens.input(), r.input());
    BigDecimal cached = Rates.cost(tokens.cachedInput(), r.cachedInput());
    BigDecimal write = Rates.cost(tokens.cacheWrite5m(), r.cacheWrite5m())
        .add(Rates.cost(tokens.cacheWrite1h(), r.cacheWrite1h()));
    BigDecimal output = Rates.cost(tokens.output(), r.output());
    BigDecimal reasoning = Rates.cost(tokens.reasoning(), r.reasoning());
    BigDecimal fee = version.requestFee();
    BigDecimal total = input.add(cached).add(write).add(output).add(reasoning).add(fee);
    return new Cost(input, cached, write, output, reasoning, fee, total, version, longContext);
  }
}
