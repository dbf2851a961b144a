package io.tokenledger.producer;

/**
 * What {@code track} does when the tracker's buffer is full (Kafka slower than the service, or unreachable
 * for long enough to fill it).
 */
public enum OverflowPolicy {
  /**
   * The default: refuse the new event at once and count it in {@link TrackerStats#dropped()}. A cost
   * tracker must never slow down the product it measures; a climbing drop counter is an alert, a stalled
   * request thread is an outage.
   */
  DROP_NEWEST,
  /**
   * Wait for room up to the tracker's block timeout, then drop (and count) the event. For batch jobs and
   * back-office services where a little latency is better than a gap in the ledger.
   */
  BLOCK
}
