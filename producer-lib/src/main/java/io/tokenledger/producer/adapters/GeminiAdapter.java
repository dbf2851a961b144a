package io.tokenledger.producer.adapters;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Google Gemini ({@code generateContent}, Gemini API and Vertex AI), from {@code usageMetadata}:
 * {@code promptTokenCount} includes {@code cachedContentTokenCount}, so input = prompt - cached (plus
 * {@code toolUsePromptTokenCount}, tool results fed back as input); {@code candidatesTokenCount} excludes
 * {@code thoughtsTokenCount}, so output = candidates and reasoning = thoughts. A streamed response read as
 * one JSON array uses its last chunk that carries usage (the counts are cumulative). A batch output line
 * ({@code {"key"|"request":…, "response":{…}}}) is read as its response, with {@code batch = true}.
 */
final class GeminiAdapter implements UsageAdapter {

  @Override
  public String name() {
    return "google.gemini";
  }

  @Override
  public ParsedUsage read(JsonNode root) {
    JsonNode r0 = root;
    if (root.isArray()) {
      r0 = null;
      for (JsonNode chunk : root) {
        if (chunk.has("usageMetadata")) {
          r0 = chunk;
        }
      }
      if (r0 == null) {
        return ParsedUsage.nothing(name(), ParsedUsage.MISSING, "no chunk has usageMetadata",
            root.size() > 0 ? Json.text(root.get(root.size() - 1), "modelVersion") : null);
      }
    }
    boolean batch = false;
    if (!r0.has("usageMetadata") && r0.path("response").path("usageMetadata").isObject()) {
      r0 = r0.path("response");
      batch = true;
    }
    String model = Json.text(r0, "modelVersion");
    JsonNode u = r0.get("usageMetadata");
    if (u == null || u.isNull()) {
      return ParsedUsage.nothing(name(), ParsedUsage.MISSING, "response has no usageMetadata", model);
    }
    if (!u.isObject()) {
      return ParsedUsage.nothing(name(), ParsedUsage.PARTIAL, "usageMetadata is not an object", model);
    }
    Json.Reader r = new Json.Reader();
    if (!Json.present(u, "promptTokenCount") && !Json.present(u, "candidatesTokenCount")
        && !Json.present(u, "totalTokenCount")) {
      r.notes.add("usageMetadata has none of promptTokenCount, candidatesTokenCount, totalTokenCount");
    }
    long prompt = r.count(u, "promptTokenCount", "usageMetadata.promptTokenCount");
    long cached = r.count(u, "cachedContentTokenCount", "usageMetadata.cachedContentTokenCount");
    long candidates = r.count(u, "candidatesTokenCount", "usageMetadata.candidatesTokenCount");
    long thoughts = r.count(u, "thoughtsTokenCount", "usageMetadata.thoughtsTokenCount");
    long toolPrompt = r.count(u, "toolUsePromptTokenCount", "usageMetadata.toolUsePromptTokenCount");
    long input = r.minus(prompt, cached, "usageMetadata.promptTokenCount", "cachedContentTokenCount") + toolPrompt;
    return new ParsedUsage(model, input, cached, 0, 0, candidates, thoughts, batch, r.status(), r.notes, name());
  }
}
