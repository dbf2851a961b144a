package io.tokenledger.producer.adapters;

import java.util.List;

/**
 * A provider response's usage, normalized to the token classes of {@code UsageEvent}: {@code inputTokens}
 * excludes cache reads and cache writes, {@code reasoningTokens} are not part of {@code outputTokens}.
 *
 * @param model the model the provider reported, or null when the response does not say
 * @param batch true when the response came from a batch API's result file
 * @param status null when the usage was read completely; otherwise {@link #MISSING}, {@link #PARTIAL} or
 *     {@link #INVALID_JSON}
 * @param notes what was odd, for {@code metadata["usage_notes"]} (empty when {@code status} is null)
 * @param adapter which reading was applied, e.g. {@code openai.chat}, for {@code metadata["usage_adapter"]}
 */
public record ParsedUsage(String model, long inputTokens, long cachedInputTokens, long cacheWrite5mTokens,
    long cacheWrite1hTokens, long outputTokens, long reasoningTokens, boolean batch, String status,
    List<String> notes, String adapter) {

  /** The response has no usage block: the event is tracked with zero tokens. */
  public static final String MISSING = "missing";
  /** A usage block with missing, unexpected or inconsistent fields: tracked with what could be read. */
  public static final String PARTIAL = "partial";
  /** The body is not JSON at all. */
  public static final String INVALID_JSON = "invalid_json";

  public ParsedUsage {
    notes = List.copyOf(notes);
  }

  public boolean complete() {
    return status == null;
  }

  static ParsedUsage nothing(String adapter, String status, String note, String model) {
    return new ParsedUsage(model, 0, 0, 0, 0, 0, 0, false, status, List.of(note), adapter);
  }
}
