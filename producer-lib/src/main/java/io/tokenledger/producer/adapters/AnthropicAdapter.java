package io.tokenledger.producer.adapters;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Anthropic's Messages API (also through Bedrock and Vertex AI, same body). {@code usage.input_tokens}
 * already excludes cache reads ({@code cache_read_input_tokens}) and cache writes
 * ({@code cache_creation_input_tokens}), so no subtraction: adding them up is the classic double count.
 * Cache writes are split by {@code usage.cache_creation.ephemeral_5m_input_tokens} and
 * {@code ephemeral_1h_input_tokens} when present; without that breakdown every write counts as 5 minute (the
 * default TTL). Thinking tokens are inside {@code output_tokens} and not reported apart, so reasoning is 0.
 * A Message Batches result line ({@code {"custom_id":…, "result":{"message":{…}}}}) is read as its message,
 * with {@code batch = true}.
 */
final class AnthropicAdapter implements UsageAdapter {

  @Override
  public String name() {
    return "anthropic.messages";
  }

  @Override
  public ParsedUsage read(JsonNode root) {
    JsonNode msg = root;
    boolean batch = false;
    if (root.has("custom_id") && root.path("result").path("message").isObject()) {
      msg = root.path("result").path("message");
      batch = true;
    }
    String model = Json.text(msg, "model");
    JsonNode u = msg.get("usage");
    if (u == null || u.isNull()) {
      return ParsedUsage.nothing(name(), ParsedUsage.MISSING, "response has no usage block", model);
    }
    if (!u.isObject()) {
      return ParsedUsage.nothing(name(), ParsedUsage.PARTIAL, "usage is not an object", model);
    }
    Json.Reader r = new Json.Reader();
    if (!Json.present(u, "input_tokens") && !Json.present(u, "output_tokens")) {
      r.notes.add("usage has neither input_tokens nor output_tokens");
    }
    long input = r.count(u, "input_tokens", "usage.input_tokens");
    long output = r.count(u, "output_tokens", "usage.output_tokens");
    long read = r.count(u, "cache_read_input_tokens", "usage.cache_read_input_tokens");
    long creation = r.count(u, "cache_creation_input_tokens", "usage.cache_creation_input_tokens");
    long w5m = creation;
    long w1h = 0;
    JsonNode split = u.get("cache_creation");
    if (split != null && split.isObject()) {
      w5m = r.count(split, "ephemeral_5m_input_tokens", "usage.cache_creation.ephemeral_5m_input_tokens");
      w1h = r.count(split, "ephemeral_1h_input_tokens", "usage.cache_creation.ephemeral_1h_input_tokens");
      if (w5m + w1h < creation) {
        r.notes.add("usage.cache_creation splits " + (w5m + w1h) + " of " + creation
            + " cache_creation_input_tokens, the rest counted as 5 minute writes");
        w5m = creation - w1h;
      } else if (Json.present(u, "cache_creation_input_tokens") && w5m + w1h > creation) {
        r.notes.add("usage.cache_creation splits " + (w5m + w1h) + " tokens but cache_creation_input_tokens is "
            + creation + ", the split was used");
      }
    }
    return new ParsedUsage(model, input, read, w5m, w1h, output, 0, batch, r.status(), r.notes, name());
  }
}
