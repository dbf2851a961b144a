package io.tokenledger.producer.adapters;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * OpenAI's Chat Completions and Responses APIs, and OpenAI-compatible APIs (xAI, self-hosted servers).
 *
 * <ul>
 *   <li>Chat Completions: {@code usage.prompt_tokens} includes {@code prompt_tokens_details.cached_tokens};
 *       {@code completion_tokens} includes {@code completion_tokens_details.reasoning_tokens}. So input =
 *       prompt - cached, output = completion - reasoning. Embeddings (only {@code prompt_tokens}) read the same.
 *   <li>Responses: {@code usage.input_tokens} includes {@code input_tokens_details.cached_tokens};
 *       {@code output_tokens} includes {@code output_tokens_details.reasoning_tokens}.
 *   <li>Whether reasoning is inside the completion count differs between OpenAI-compatible providers (xAI's
 *       chat API reports it beside {@code completion_tokens}, and {@code total_tokens} is then
 *       prompt + completion + reasoning). {@code total_tokens} decides when it tells; otherwise the
 *       provider's documented convention ({@code reasoningInsideCompletion}) applies.
 *   <li>A Batch API output line ({@code {"custom_id":…, "response":{"body":{…}}}}) is read as its body, with
 *       {@code batch = true}.
 * </ul>
 */
final class OpenAiAdapter implements UsageAdapter {

  private final String name;
  private final boolean reasoningInsideCompletion;

  OpenAiAdapter(String name, boolean reasoningInsideCompletion) {
    this.name = name;
    this.reasoningInsideCompletion = reasoningInsideCompletion;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public ParsedUsage read(JsonNode root) {
    JsonNode body = root;
    boolean batch = false;
    if (root.has("custom_id") && root.path("response").path("body").isObject()) {
      body = root.path("response").path("body");
      batch = true;
    }
    String model = Json.text(body, "model");
    JsonNode u = body.get("usage");
    if (u == null || u.isNull()) {
      return ParsedUsage.nothing(name, ParsedUsage.MISSING, "response has no usage block", model);
    }
    if (!u.isObject()) {
      return ParsedUsage.nothing(name, ParsedUsage.PARTIAL, "usage is not an object", model);
    }
    if (Json.present(u, "prompt_tokens") || Json.present(u, "completion_tokens")) {
      return chat(u, model, batch);
    }
    if (Json.present(u, "input_tokens") || Json.present(u, "output_tokens")) {
      return responses(u, model, batch);
    }
    return ParsedUsage.nothing(name, ParsedUsage.PARTIAL,
        "usage has none of prompt_tokens, completion_tokens, input_tokens, output_tokens", model);
  }

  private ParsedUsage chat(JsonNode u, String model, boolean batch) {
    Json.Reader r = new Json.Reader();
    long prompt = r.count(u, "prompt_tokens", "usage.prompt_tokens");
    long completion = r.count(u, "completion_tokens", "usage.completion_tokens");
    long cached = r.count(u.path("prompt_tokens_details"), "cached_tokens", "usage.prompt_tokens_details.cached_tokens");
    long reasoning = r.count(u.path("completion_tokens_details"), "reasoning_tokens",
        "usage.completion_tokens_details.reasoning_tokens");
    long input = r.minus(prompt, cached, "usage.prompt_tokens", "cached_tokens");
    long output = reasoningInside(u, prompt, completion, reasoning)
        ? r.minus(completion, reasoning, "usage.completion_tokens", "reasoning_tokens")
        : completion;
    return new ParsedUsage(model, input, cached, 0, 0, output, reasoning, batch, r.status(), r.notes, name + ".chat");
  }

  private ParsedUsage responses(JsonNode u, String model, boolean batch) {
    Json.Reader r = new Json.Reader();
    long in = r.count(u, "input_tokens", "usage.input_tokens");
    long out = r.count(u, "output_tokens", "usage.output_tokens");
    long cached = r.count(u.path("input_tokens_details"), "cached_tokens", "usage.input_tokens_details.cached_tokens");
    long reasoning = r.count(u.path("output_tokens_details"), "reasoning_tokens",
        "usage.output_tokens_details.reasoning_tokens");
    long input = r.minus(in, cached, "usage.input_tokens", "cached_tokens");
    // The Responses API counts reasoning inside output_tokens (OpenAI and xAI alike).
    long output = reasoningInsideTotal(u, in, out, reasoning, true)
        ? r.minus(out, reasoning, "usage.output_tokens", "reasoning_tokens")
        : out;
    return new ParsedUsage(model, input, cached, 0, 0, output, reasoning, batch, r.status(), r.notes,
        name + ".responses");
  }

  private boolean reasoningInside(JsonNode u, long prompt, long completion, long reasoning) {
    return reasoningInsideTotal(u, prompt, completion, reasoning, reasoningInsideCompletion);
  }

  /** Decides from total_tokens when it can; a completion smaller than its reasoning cannot contain it. */
  static boolean reasoningInsideTotal(JsonNode u, long prompt, long completion, long reasoning, boolean otherwise) {
    if (reasoning == 0) {
      return otherwise;
    }
    JsonNode total = u.get("total_tokens");
    if (total != null && total.isIntegralNumber()) {
      long t = total.asLong();
      if (t == prompt + completion + reasoning) {
        return false;
      }
      if (t == prompt + completion) {
        return true;
      }
    }
    if (completion < reasoning) {
      return false;
    }
    return otherwise;
  }
}
