package io.tokenledger.producer;

import io.tokenledger.avro.UsageEvent;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * An accepted event on its way to Kafka. The caller thread only records the usage and the time of the
 * call; the sender thread builds the Avro record once (id, clamping, defaults) and reuses it on retries.
 */
final class Pending {

  /** Metadata keys the library writes. */
  static final String USAGE_STATUS = "usage_status";
  static final String USAGE_NOTES = "usage_notes";

  final Usage usage;
  final long acceptedAtMs;
  private ProducerRecord<String, UsageEvent> record;

  Pending(Usage usage, long acceptedAtMs) {
    this.usage = usage;
    this.acceptedAtMs = acceptedAtMs;
  }

  ProducerRecord<String, UsageEvent> record(String topic, String defaultService) {
    if (record == null) {
      UsageEvent e = toEvent(usage, acceptedAtMs, defaultService);
      record = new ProducerRecord<>(topic, e.getOrgId(), e);
    }
    return record;
  }

  static UsageEvent toEvent(Usage u, long acceptedAtMs, String defaultService) {
    Map<String, String> metadata = u.metadata;
    StringBuilder clamped = null;
    long[] counts = {u.inputTokens, u.cachedInputTokens, u.cacheWrite5mTokens, u.cacheWrite1hTokens, u.outputTokens,
        u.reasoningTokens};
    for (int i = 0; i < counts.length; i++) {
      if (counts[i] < 0) {
        clamped = (clamped == null ? new StringBuilder() : clamped.append("; "))
            .append(FIELDS[i]).append(" is negative (").append(counts[i]).append("), counted as 0");
        counts[i] = 0;
      }
    }
    if (clamped != null) {
      metadata = new HashMap<>(metadata);
      metadata.putIfAbsent(USAGE_STATUS, "partial");
      metadata.merge(USAGE_NOTES, clamped.toString(), (a, b) -> a + "; " + b);
    }
    long time = u.eventTimeMs >= 0 ? u.eventTimeMs : acceptedAtMs;
    String id = u.eventId != null && !u.eventId.isBlank() ? u.eventId : EventIds.v7(time).toString();
    return new UsageEvent(id, Instant.ofEpochMilli(time), orEmpty(u.orgId), u.userId, orEmpty(u.provider),
        orEmpty(u.model), counts[0], counts[1], counts[2], counts[3], counts[4], counts[5],
        u.latencyMs >= 0 ? u.latencyMs : null, u.endpoint, u.requestType,
        u.service != null ? u.service : defaultService, metadata, u.batch);
  }

  private static final String[] FIELDS = {"input_tokens", "cached_input_tokens", "cache_write_5m_tokens",
      "cache_write_1h_tokens", "output_tokens", "reasoning_tokens"};

  private static String orEmpty(String s) {
    return s == null ? "" : s;
  }
}
