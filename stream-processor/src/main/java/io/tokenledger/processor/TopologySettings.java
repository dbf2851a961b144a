package io.tokenledger.processor;

import io.tokenledger.schemas.Topics;
import java.time.Duration;

/**
 * What the topology needs to know, as plain values (no I/O, no environment): read by
 * {@link ProcessorConfig} in production and built directly in tests.
 *
 * @param topics topic names
 * @param dedupeRetention how long an event id is remembered; a retry later than this is costed again
 * @param maxTokensPerClass larger token counts in any class are rejected as absurd
 * @param maxFutureSkew events stamped further than this ahead of the processor's clock are rejected
 * @param quotaGrace late events within this of their window's end still count in that window
 * @param statusInterval the least time between two quota.status records of one policy (crossings are never delayed)
 * @param maxMetadataBytes metadata larger than this (keys and values, UTF-8) is dropped from the event, which is
 *     still costed: the spend is real even when its annotation is not
 * @param dedupeUpgrade set while upgrading from 0.1.0, whose ids live in one changelogged store: they are
 *     copied into this version's stores (see {@link DedupeProcessor})
 */
public record TopologySettings(Topics topics, Duration dedupeRetention, long maxTokensPerClass, Duration maxFutureSkew,
    Duration quotaGrace, Duration statusInterval, int maxMetadataBytes, boolean dedupeUpgrade) {

  public static final Duration DEFAULT_DEDUPE_RETENTION = Duration.ofHours(48);
  public static final long DEFAULT_MAX_TOKENS_PER_CLASS = 50_000_000L;
  public static final Duration DEFAULT_MAX_FUTURE_SKEW = Duration.ofMinutes(15);
  public static final Duration DEFAULT_QUOTA_GRACE = Duration.ofHours(1);
  public static final Duration DEFAULT_STATUS_INTERVAL = Duration.ofMillis(250);
  public static final int DEFAULT_MAX_METADATA_BYTES = 16 * 1024;

  public static TopologySettings defaults(Topics topics) {
    return new TopologySettings(topics, DEFAULT_DEDUPE_RETENTION, DEFAULT_MAX_TOKENS_PER_CLASS, DEFAULT_MAX_FUTURE_SKEW,
        DEFAULT_QUOTA_GRACE, DEFAULT_STATUS_INTERVAL, DEFAULT_MAX_METADATA_BYTES, false);
  }
}
