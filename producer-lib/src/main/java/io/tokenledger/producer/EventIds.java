package io.tokenledger.producer;

import java.security.SecureRandom;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * UUID version 7 (RFC 9562): 48 bits of Unix milliseconds, then 74 random bits. Ids sort by time (at
 * millisecond precision), which keeps the processor's dedupe store and ClickHouse's ordering keys local.
 *
 * <p>The random bits come from {@link ThreadLocalRandom} (no lock, no entropy pool) mixed with a salt drawn
 * once per process from {@link SecureRandom}, so two processes started at the same instant do not share a
 * sequence. A collision would make the pipeline drop a real event as a duplicate; 74 random bits per
 * millisecond make that negligible.
 */
final class EventIds {

  private static final long SALT_A;
  private static final long SALT_B;

  static {
    SecureRandom r = new SecureRandom();
    SALT_A = r.nextLong();
    SALT_B = r.nextLong();
  }

  private EventIds() {}

  static UUID v7(long unixMillis) {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    long msb = (unixMillis << 16) | 0x7000L | ((r.nextLong() ^ SALT_A) & 0x0FFFL);
    long lsb = ((r.nextLong() ^ SALT_B) & 0x3FFF_FFFF_FFFF_FFFFL) | 0x8000_0000_0000_0000L;
    return new UUID(msb, lsb);
  }
}
