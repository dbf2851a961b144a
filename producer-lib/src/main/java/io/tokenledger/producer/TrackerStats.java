package io.tokenledger.producer;

/**
 * A snapshot of a tracker's counters, for a service to export (they only ever grow).
 *
 * @param tracked events accepted into the buffer
 * @param sent events Kafka acknowledged (acks=all)
 * @param failed accepted events that will not be delivered: Kafka reported an error, they could not be
 *     handed to the Kafka client within the delivery timeout, they could not be serialized, or the tracker
 *     closed before delivering them
 * @param dropped events refused by {@code track}: buffer full (see {@link OverflowPolicy}) or tracker closed
 */
public record TrackerStats(long tracked, long sent, long failed, long dropped) {

  /** Accepted events whose fate is not known yet: buffered, waiting to be handed to Kafka, or in flight. */
  public long pending() {
    return Math.max(0, tracked - sent - failed);
  }
}
