package io.tokenledger.producer.adapters;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Reads one provider's usage block from a raw response. Implementations never throw: whatever they cannot
 * read is reported through {@link ParsedUsage#status()} and {@link ParsedUsage#notes()}.
 */
public interface UsageAdapter {

  /** The usage of one parsed response body. */
  ParsedUsage read(JsonNode response);

  /** The usage of one raw response body. */
  default ParsedUsage read(String rawJson) {
    JsonNode root = Json.parse(rawJson);
    if (root == null) {
      return ParsedUsage.nothing(name(), ParsedUsage.INVALID_JSON, "response body is not JSON", null);
    }
    return read(root);
  }

  /** Short name written to {@code metadata["usage_adapter"]}. */
  String name();
}
