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
 * Encodes records as ClickHouse JSONEachRow lines. Money goes out as plain JSON numbers written from
 * {@link BigDecimal#toPlainString()}, which ClickHouse parses exactly into Decimal(38, 12): no floating
 * point on the way.
 */
final class Rows {

  private Rows() {}

  /** A row ready to insert: its table, the table partition (month) it lands in, and its JSON line. */
  record Row(String table, int month, String json) {}

  static Row costed(CostedUsage c, String topic, int partition, long offset) {
    UsageEvent e = c.getEvent();
    long tokens = e.getInputTokens() + e.getCachedInputTokens() + e.getCacheWrite5mTokens() + e.getCacheWrite1hTokens()
        + e.getOutputTokens() + e.getReasoningTokens();
    Json j = new Json()
        .str("event_id", e.getEventId())
        .time("event_time", e.getEventTime())
        .num("event_time_ms", e.getEventTime().toEpochMilli())
        .str("org_id", e.getOrgId())
        .str("user_id", e.getUserId())
        .str("provider", e.getProvider())
        .str("model", e.getModel())
        .str("pricing_key", c.getPricingKey())
        .str("request_type", e.getRequestType())
        .str("endpoint", e.getEndpoint())
        .str("service", e.getService())
        .num("input_tokens", e.getInputTokens())
        .num("cached_input_tokens", e.getCachedInputTokens())
        .num("cache_write_5m_tokens", e.getCacheWrite5mTokens())
        .num("cache_write_1h_tokens", e.getCacheWrite1hTokens())
        .num("output_tokens", e.getOutputTokens())
        .num("reasoning_tokens", e.getReasoningTokens())
        .num("total_tokens", tokens)
        .num("latency_ms", e.getLatencyMs() == null ? 0 : e.getLatencyMs())
        .num("batch", e.getBatch() ? 1 : 0)
        .num("long_context", c.getLongContext() ? 1 : 0)
        .str("currency", c.getCurrency())
        .money("input_cost", c.getInputCost())
        .money("cached_input_cost", c.getCachedInputCost())
        .money("cache_write_cost", c.getCacheWriteCost())
        .money("output_cost", c.getOutputCost())
        .money("reasoning_cost", c.getReasoningCost())
        .money("request_fee", c.getRequestFee())
        .money("cost_usd", c.getTotalCost())
        .str("price_version", c.getPriceVersionId())
        .time("price_effective_from", c.getPriceEffectiveFrom())
        .str("metadata", metadata(e.getMetadata()))
        .time("priced_at", c.getPricedAt());
    return new Row("usage_costs", month(e.getEventTime()), source(j, topic, partition, offset));
  }

  static Row unpriced(UnpricedUsage u, String topic, int partition, long offset) {
    UsageEvent e = u.getEvent();
    Json j = new Json()
        .str("event_id", e.getEventId())
        .time("event_time", e.getEventTime())
        .str("org_id", e.getOrgId())
        .str("user_id", e.getUserId())
        .str("provider", e.getProvider())
        .str("model", e.getModel())
        .str("pricing_key", u.getPricingKey())
        .str("request_type", e.getRequestType())
        .str("endpoint", e.getEndpoint())
        .str("service", e.getService())
        .num("input_tokens", e.getInputTokens())
        .num("cached_input_tokens", e.getCachedInputTokens())
        .num("cache_write_tokens", e.getCacheWrite5mTokens() + e.getCacheWrite1hTokens())
        .num("output_tokens", e.getOutputTokens())
        .num("reasoning_tokens", e.getReasoningTokens())
        .str("reason", u.getReason())
        .time("detected_at", u.getDetectedAt());
    return new Row("usage_unpriced", month(e.getEventTime()), source(j, topic, partition, offset));
  }

  static Row breach(QuotaBreach b, String topic, int partition, long offset) {
    Json j = new Json()
        .str("breach_id", b.getBreachId())
        .str("policy_id", b.getPolicyId())
        .str("org_id", b.getOrgId())
        .str("scope", b.getScope().name())
        .str("scope_value", b.getScopeValue())
        .str("quota_window", b.getWindow().name())
        .time("window_start", b.getWindowStart())
        .time("window_end", b.getWindowEnd())
        .num("threshold_percent", b.getThresholdPercent())
        .money("limit_usd", b.getLimitUsd())
        .money("spend_usd", b.getSpendUsd())
        .str("enforcement", b.getEnforcement().name())
        .str("event_id", b.getEventId())
        .time("detected_at", b.getDetectedAt());
    return new Row("quota_breaches", month(b.getWindowStart()), source(j, topic, partition, offset));
  }

  static Row deadLetter(String topic, int partition, long offset, String error, byte[] value, Instant now) {
    Json j = new Json()
        .str("kafka_topic", topic)
        .num("kafka_partition", partition)
        .num("kafka_offset", offset)
        .str("error", error)
        .str("value_base64", value == null ? "" : Base64.getEncoder().encodeToString(value))
        .time("failed_at", now);
    return new Row("sink_dead_letters", month(now), j.end());
  }

  private static String source(Json j, String topic, int partition, long offset) {
    return j.str("kafka_topic", topic).num("kafka_partition", partition).num("kafka_offset", offset).end();
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
      Json.quote(b, k);
      b.append(':');
      Json.quote(b, v);
    });
    return b.append('}').toString();
  }

  /** A minimal JSON object writer for flat rows. */
  static final class Json {
    private final StringBuilder b = new StringBuilder(512).append('{');

    Json str(String name, String value) {
      field(name);
      quote(b, value == null ? "" : value);
      return this;
    }

    Json num(String name, long value) {
      field(name);
      b.append(value);
      return this;
    }

    Json money(String name, BigDecimal value) {
      field(name);
      b.append(value == null ? "0" : value.toPlainString());
      return this;
    }

    Json time(String name, Instant t) {
      field(name);
      LocalDateTime d = LocalDateTime.ofEpochSecond(t.getEpochSecond(), 0, ZoneOffset.UTC);
      b.append('"').append(d.getYear()).append('-');
      two(d.getMonthValue()).append('-');
      two(d.getDayOfMonth()).append(' ');
      two(d.getHour()).append(':');
      two(d.getMinute()).append(':');
      two(d.getSecond()).append('"');
      return this;
    }

    private StringBuilder two(int n) {
      return n < 10 ? b.append('0').append(n) : b.append(n);
    }

    private void field(String name) {
      if (b.length() > 1) {
        b.append(',');
      }
      b.append('"').append(name).append("\":");
    }

    String end() {
      return b.append('}').toString();
    }

    static void quote(StringBuilder b, String s) {
      b.append('"').append(io.tokenledger.runtime.Json.escape(s)).append('"');
    }
  }
}
