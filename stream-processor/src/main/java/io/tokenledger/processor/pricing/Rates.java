package io.tokenledger.processor.pricing;

import java.math.BigDecimal;
import java.math.RoundingMode;

/**
 * Prices per single token, precomputed from the catalog's per-million prices (exact: a decimal point
 * shift), with any batch discount already applied. Null classes in the catalog fall back as the catalog
 * documents: cached input and cache writes to the input price, reasoning to the output price.
 */
record Rates(BigDecimal input, BigDecimal cachedInput, BigDecimal cacheWrite5m, BigDecimal cacheWrite1h,
    BigDecimal output, BigDecimal reasoning) {

  static final int SCALE = 12;
  static final BigDecimal ZERO = BigDecimal.ZERO.setScale(SCALE);

  static Rates perMillion(BigDecimal input, BigDecimal cachedInput, BigDecimal cacheWrite5m, BigDecimal cacheWrite1h,
      BigDecimal output, BigDecimal reasoning, BigDecimal discount) {
    BigDecimal keep = discount == null ? BigDecimal.ONE : BigDecimal.ONE.subtract(discount);
    return new Rates(
        perToken(input, keep),
        perToken(cachedInput != null ? cachedInput : input, keep),
        perToken(cacheWrite5m != null ? cacheWrite5m : input, keep),
        perToken(cacheWrite1h != null ? cacheWrite1h : input, keep),
        perToken(output, keep),
        perToken(reasoning != null ? reasoning : output, keep));
  }

  private static BigDecimal perToken(BigDecimal perMillion, BigDecimal keep) {
    return perMillion.multiply(keep).movePointLeft(6).stripTrailingZeros();
  }

  /**
   * {@code tokens × rate}, rounded half-even to 12 decimal places (1e-12 USD). Rounding happens only when a
   * catalog price has more than 6 decimals per million tokens; every price published today has fewer.
   */
  static BigDecimal cost(long tokens, BigDecimal rate) {
    if (tokens == 0 || rate.signum() == 0) {
      return ZERO;
    }
    return BigDecimal.valueOf(tokens).multiply(rate).setScale(SCALE, RoundingMode.HALF_EVEN);
  }
}
