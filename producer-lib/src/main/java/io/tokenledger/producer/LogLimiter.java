package io.tokenledger.producer;

import java.util.concurrent.atomic.AtomicLong;

/** Lets a repeated warning through at most once per interval, so an outage is logged, not flooded. */
final class LogLimiter {

  private final long intervalNanos;
  private final AtomicLong next;

  LogLimiter(long intervalMillis) {
    this.intervalNanos = intervalMillis * 1_000_000L;
    this.next = new AtomicLong(System.nanoTime() - 1);
  }

  boolean ready() {
    long now = System.nanoTime();
    long n = next.get();
    return now - n >= 0 && next.compareAndSet(n, now + intervalNanos);
  }
}
