package io.tokenledger.processor;

import io.tokenledger.avro.UsageEvent;

/** The checks an event must pass before it is priced; each failure is a reason a person can act on. */
final class EventValidator {

  private final long maxTokens;
  private final long maxFutureSkewMs;

  EventValidator(long maxTokens, long maxFutureSkewMs) {
    this.maxTokens = maxTokens;
    this.maxFutureSkewMs = maxFutureSkewMs;
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
    String tokens = tokens("input_tokens", e.getInputTokens());
    tokens = tokens != null ? tokens : tokens("cached_input_tokens", e.getCachedInputTokens());
    tokens = tokens != null ? tokens : tokens("cache_write_5m_tokens", e.getCacheWrite5mTokens());
    tokens = tokens != null ? tokens : tokens("cache_write_1h_tokens", e.getCacheWrite1hTokens());
    tokens = tokens != null ? tokens : tokens("output_tokens", e.getOutputTokens());
    tokens = tokens != null ? tokens : tokens("reasoning_tokens", e.getReasoningTokens());
    if (tokens != null) {
      return tokens;
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

  private String tokens(String field, long n) {
    if (n < 0) {
      return field + " is negative (" + n + ")";
    }
    if (n > maxTokens) {
      return field + " is " + n + ", over the limit of " + maxTokens + " per call";
    }
    return null;
  }

  private static boolean blank(String s) {
    return s == null || s.isBlank();
  }
}
