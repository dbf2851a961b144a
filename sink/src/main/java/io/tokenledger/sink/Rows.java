package io.tokenledger.sink;

import io.tokenledger.avro.CostedUsage;
import io.tokenledger.avro.QuotaBreach;
import io.tokenledger.avro.UnpricedUsage;
import io.tokenledger.avro.UsageEvent;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.Map;

/**
 * Encodes records as ClickHouse rows in {@link RowBinary}. Money goes out as the exact unscaled integer of
 * each {@link BigDecimal}: no floating point on the way. Each table's column list is declared once, here,
 * and is the list the INSERT names.
 */
final class Rows {

  private Rows() {}

  /** A row ready to insert: its table, the table partition (month) it lands in, and its bytes. */
  record Row(RowBinary.Table table, int month, byte[] bytes) {}

  static final RowBinary.Table USAGE_COSTS = new RowBinary.Table("usage_costs", "event_id", "event_time", "event_time_ms",
      "org_id", "user_id", "provider", "model", "pricing_key", "request_type", "endpoint", "service", "input_tokens",
      "cached_input_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens", "output_tokens", "reasoning_tokens",
      "total_tokens", "latency_ms", "batch", "long_context", "currency", "input_cost", "cached_input_cost",
      "cache_write_cost", "output_cost", "reasoning_cost", "request_fee", "cost_usd", "price_version",
      "price_effective_from", "metadata", "priced_at", "kafka_topic", "kafka_partition", "kafka_offset");

  static final RowBinary.Table USAGE_UNPRICED = new RowBinary.Table("usage_unpriced", "event_id", "event_time", "org_id",
      "user_id", "provider", "model", "pricing_key", "request_type", "endpoint", "service", "input_tokens",
      "cached_input_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens", "reason", "detected_at",
      "kafka_topic", "kafka_partition", "kafka_offset");

  static final RowBinary.Table QUOTA_BREACHES = new RowBinary.Table("quota_breaches", "breach_id", "policy_id", "org_id",
      "scope", "scope_value", "quota_window", "window_start", "window_end", "threshold_percent", "limit_usd", "spend_usd",
      "enforcement", "event_id", "detected_at", "kafka_topic", "kafka_partition", "kafka_offset");

  static final RowBinary.Table SINK_DEAD_LETTERS = new RowBinary.Table("sink_dead_letters", "kafka_topic",
      "kafka_partition", "kafka_offset", "error", "value_base64", "failed_at");

  static Row costed(CostedUsage c, String topic, int partition, long offset) {
    UsageEvent e = c.getEvent();
    long tokens = e.getInputTokens() + e.getCachedInputTokens() + e.getCacheWrite5mTokens() + e.getCacheWrite1hTokens()
        + e.getOutputTokens() + e.getReasoningTokens();
    RowBinary w = new RowBinary(USAGE_COSTS)
        .string("event_id", e.getEventId())
        .dateTime("event_time", e.getEventTime())
        .uint64("event_time_ms", e.getEventTime().toEpochMilli())
        .string("org_id", e.getOrgId())
        .string("user_id", e.getUserId())
        .string("provider", e.getProvider())
        .string("model", e.getModel())
        .string("pricing_key", c.getPricingKey())
        .string("request_type", e.getRequestType())
        .string("endpoint", e.getEndpoint())
        .string("service", e.getService())
        .uint64("input_tokens", e.getInputTokens())
        .uint64("cached_input_tokens", e.getCachedInputTokens())
        .uint64("cache_write_5m_tokens", e.getCacheWrite5mTokens())
        .uint64("cache_write_1h_tokens", e.getCacheWrite1hTokens())
        .uint64("output_tokens", e.getOutputTokens())
        .uint64("reasoning_tokens", e.getReasoningTokens())
        .uint64("total_tokens", tokens)
        .uint64("latency_ms", e.getLatencyMs() == null ? 0 : e.getLatencyMs())
        .uint8("batch", e.getBatch() ? 1 : 0)
        .uint8("long_context", c.getLongContext() ? 1 : 0)
        .string("currency", c.getCurrency())
        .money("input_cost", c.getInputCost())
        .money("cached_input_cost", c.getCachedInputCost())
        .money("cache_write_cost", c.getCacheWriteCost())
        .money("output_cost", c.getOutputCost())
        .money("reasoning_cost", c.getReasoningCost())
        .money("request_fee", c.getRequestFee())
        .money("cost_usd", c.getTotalCost())
        .string("price_version", c.getPriceVersionId())
        .dateTime("price_effective_from", c.getPriceEffectiveFrom())
        .string("metadata", metadata(e.getMetadata()))
        .dateTime("priced_at", c.getPricedAt());
    return new Row(USAGE_COSTS, month(e.getEventTime()), source(w, topic, partition, offset));
  }

  static Row unpriced(UnpricedUsage u, String topic, int partition, long offset) {
    UsageEvent e = u.getEvent();
    RowBinary w = new RowBinary(USAGE_UNPRICED)
        .string("event_id", e.getEventId())
        .dateTime("event_time", e.getEventTime())
        .string("org_id", e.getOrgId())
        .string("user_id", e.getUserId())
        .string("provider", e.getProvider())
        .string("model", e.getModel())
        .string("pricing_key", u.getPricingKey())
        .string("request_type", e.getRequestType())
        .string("endpoint", e.getEndpoint())
        .string("service", e.getService())
        .uint64("input_tokens", e.getInputTokens())
        .uint64("cached_input_tokens", e.getCachedInputTokens())
        .uint64("cache_write_tokens", e.getCacheWrite5mTokens() + e.getCacheWrite1hTokens())
        .uint64("output_tokens", e.getOutputTokens())
        .uint64("reasoning_tokens", e.getReasoningTokens())
        .string("reason", u.getReason())
        .dateTime("detected_at", u.getDetectedAt());
    return new Row(USAGE_UNPRICED, month(e.getEventTime()), source(w, topic, partition, offset));
  }

  static Row breach(QuotaBreach b, String topic, int partition, long offset) {
    RowBinary w = new RowBinary(QUOTA_BREACHES)
        .string("breach_id", b.getBreachId())
        .string("policy_id", b.getPolicyId())
        .string("org_id", b.getOrgId())
        .string("scope", b.getScope().name())
        .string("scope_value", b.getScopeValue())
        .string("quota_window", b.getWindow().name())
        .dateTime("window_start", b.getWindowStart())
        .dateTime("window_end", b.getWindowEnd())
        .uint16("threshold_percent", b.getThresholdPercent())
        .money("limit_usd", b.getLimitUsd())
        .money("spend_usd", b.getSpendUsd())
        .string("enforcement", b.getEnforcement().name())
        .string("event_id", b.getEventId())
        .dateTime("detected_at", b.getDetectedAt());
    return new Row(QUOTA_BREACHES, month(b.getWindowStart()), source(w, topic, partition, offset));
  }

  static Row deadLetter(String topic, int partition, long offset, String error, byte[] value, Instant now) {
    RowBinary w = new RowBinary(SINK_DEAD_LETTERS)
        .string("kafka_topic", topic)
        .uint32("kafka_partition", partition)
        .uint64("kafka_offset", offset)
        .string("error", error)
        .string("value_base64", value == null ? "" : Base64.getEncoder().encodeToString(value))
        .dateTime("failed_at", now);
    return new Row(SINK_DEAD_LETTERS, month(now), w.end());
  }

  private static byte[] source(RowBinary w, String topic, int partition, long offset) {
    return w.string("kafka_topic", topic).uint32("kafka_partition", partition).uint64("kafka_offset", offset).end();
  }

  static int month(Instant t) {
    LocalDateTime d = LocalDateTime.ofEpochSecond(t.getEpochSecond(), 0, ZoneOffset.UTC);
    return d.getYear() * 100 + d.getMonthValue();
  }

  static String metadata(Map<String, String> m) {
    if (m == null || m.isEmpty()) {
      return "{}";
    }
    StringBuilder b = new StringBuilder("{");
    m.forEach((k, v) -> {
      if (b.length() > 1) {
        b.append(',');
      }
      quote(b, k);
      b.append(':');
      quote(b, v);
    });
    return b.append('}').toString();
  }

  private static void quote(StringBuilder b, String s) {
    b.append('"').append(io.tokenledger.runtime.Json.escape(s)).append('"');
  }
}
