package io.tokenledger.processor;

import io.tokenledger.avro.UsageEvent;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/** The checks an event must pass before it is priced; each failure is a reason a person can act on. */
final class EventValidator {

  /** Identifiers (ids, org, user, provider, model, endpoint, ...) longer than this are not identifiers. */
  static final int MAX_IDENTIFIER_CHARS = 512;
  /** What replaces metadata over the limit, so that the row says why it has none. */
  static final String METADATA_DROPPED = "tokenledger.metadata_dropped";

  private final long maxTokens;
  private final long maxFutureSkewMs;
  private final int maxMetadataBytes;

  EventValidator(long maxTokens, long maxFutureSkewMs, int maxMetadataBytes) {
    this.maxTokens = maxTokens;
    this.maxFutureSkewMs = maxFutureSkewMs;
    this.maxMetadataBytes = maxMetadataBytes;
  }

  /** Null when valid, else why not. */
  String problem(UsageEvent e, long nowMs) {
    if (blank(e.getEventId())) {
      return "event_id is missing";
    }
    if (blank(e.getOrgId())) {
      return "org_id is missing";
    }
    if (blank(e.getProvider())) {
      return "provider is missing";
    }
    if (blank(e.getModel())) {
      return "model is missing";
    }
    String field = first(
        tooLong("event_id", e.getEventId()),
        tooLong("org_id", e.getOrgId()),
        tooLong("user_id", e.getUserId()),
        tooLong("provider", e.getProvider()),
        tooLong("model", e.getModel()),
        tooLong("request_type", e.getRequestType()),
        tooLong("endpoint", e.getEndpoint()),
        tooLong("service", e.getService()),
        tokens("input_tokens", e.getInputTokens()),
        tokens("cached_input_tokens", e.getCachedInputTokens()),
        tokens("cache_write_5m_tokens", e.getCacheWrite5mTokens()),
        tokens("cache_write_1h_tokens", e.getCacheWrite1hTokens()),
        tokens("output_tokens", e.getOutputTokens()),
        tokens("reasoning_tokens", e.getReasoningTokens()));
    if (field != null) {
      return field;
    }
    if (e.getLatencyMs() != null && e.getLatencyMs() < 0) {
      return "latency_ms is negative (" + e.getLatencyMs() + ")";
    }
    long ahead = e.getEventTime().toEpochMilli() - nowMs;
    if (ahead > maxFutureSkewMs) {
      return "event_time " + e.getEventTime() + " is " + (ahead / 1000) + " s in the future (limit "
          + (maxFutureSkewMs / 1000) + " s)";
    }
    return null;
  }

  /**
   * The event to price: {@code e} itself, or, when its metadata is over the limit, a copy whose metadata
   * only says how large it was. The cost stands either way; the original bytes stay in the input topic.
   */
  UsageEvent withMetadataLimit(UsageEvent e) {
    Map<String, String> m = e.getMetadata();
    if (m == null || m.isEmpty()) {
      return e;
    }
    long bytes = 0;
    for (Map.Entry<String, String> kv : m.entrySet()) {
      bytes += utf8Length(kv.getKey()) + utf8Length(kv.getValue());
    }
    if (bytes <= maxMetadataBytes) {
      return e;
    }
    return UsageEvent.newBuilder(e).setMetadata(Map.of(METADATA_DROPPED,
        m.size() + " entries, " + bytes + " bytes, over the limit of " + maxMetadataBytes)).build();
  }

  private static long utf8Length(String s) {
    if (s == null) {
      return 0;
    }
    long n = s.length();
    for (int i = 0; i < s.length(); i++) {
      if (s.charAt(i) >= 0x80) {
        return s.getBytes(StandardCharsets.UTF_8).length;
      }
    }
    return n;
  }

  private static String tooLong(String field, String value) {
    return value != null && value.length() > MAX_IDENTIFIER_CHARS
        ? field + " is " + value.length() + " characters long, over the limit of " + MAX_IDENTIFIER_CHARS
        : null;
  }

  private String tokens(String field, long n) {
    if (n < 0) {
      return field + " is negative (" + n + ")";
    }
    if (n > maxTokens) {
      return field + " is " + n + ", over the limit of " + maxTokens + " per call";
    }
    return null;
  }

  /** The first problem found, in the order given; null when there is none. */
  private static String first(String... problems) {
    for (String p : problems) {
      if (p != null) {
        return p;
      }
    }
    return null;
  }

  private static boolean blank(String s) {
    return s == null || s.isBlank();
  }
}
