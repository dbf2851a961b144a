package io.tokenledger.producer.adapters;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Locale;

/**
 * The built-in adapters, and the choice of one by provider name. An unknown provider (a self-hosted server,
 * a gateway) gets {@link #detect()}, which recognizes each supported response shape.
 */
public final class Adapters {

  private static final UsageAdapter OPENAI = new OpenAiAdapter("openai", true);
  private static final UsageAdapter XAI = new OpenAiAdapter("xai", false);
  private static final UsageAdapter ANTHROPIC = new AnthropicAdapter();
  private static final UsageAdapter GEMINI = new GeminiAdapter();
  private static final UsageAdapter DETECT = new UsageAdapter() {
    @Override
    public ParsedUsage read(JsonNode root) {
      return byShape(root).read(root);
    }

    @Override
    public String name() {
      return "detect";
    }
  };

  private Adapters() {}

  /** OpenAI Chat Completions, Responses, Embeddings and Batch output lines. */
  public static UsageAdapter openAi() {
    return OPENAI;
  }

  /** xAI (OpenAI-compatible; reasoning tokens reported beside completion tokens in its chat API). */
  public static UsageAdapter xai() {
    return XAI;
  }

  /** Anthropic Messages and Message Batches results. */
  public static UsageAdapter anthropic() {
    return ANTHROPIC;
  }

  /** Google Gemini / Vertex AI generateContent. */
  public static UsageAdapter gemini() {
    return GEMINI;
  }

  /** Chooses by the response's shape; for OpenAI-compatible servers of unknown conventions. */
  public static UsageAdapter detect() {
    return DETECT;
  }

  /**
   * The adapter for a provider name as written on events: {@code openai}/{@code azure}, {@code anthropic},
   * {@code google}/{@code gemini}/{@code vertex}, {@code xai}/{@code x-ai}; anything else (or null) detects.
   */
  public static UsageAdapter forProvider(String provider) {
    if (provider == null) {
      return DETECT;
    }
    return switch (provider.trim().toLowerCase(Locale.ROOT)) {
      case "openai", "azure", "azure-openai", "azure_openai" -> OPENAI;
      case "anthropic", "claude" -> ANTHROPIC;
      case "google", "gemini", "vertex", "vertex-ai", "vertexai", "google-vertex" -> GEMINI;
      case "xai", "x-ai", "x.ai", "grok" -> XAI;
      default -> DETECT;
    };
  }

  static UsageAdapter byShape(JsonNode root) {
    JsonNode r = root.isArray() && root.size() > 0 ? root.get(0) : root;
    if (r.has("usageMetadata") || r.path("response").has("usageMetadata")) {
      return GEMINI;
    }
    if (r.path("result").path("message").isObject()) {
      return ANTHROPIC;
    }
    JsonNode body = r.path("response").path("body").isObject() ? r.path("response").path("body") : r;
    JsonNode u = body.path("usage");
    if ("message".equals(body.path("type").asText()) || u.has("cache_read_input_tokens")
        || u.has("cache_creation_input_tokens")) {
      return ANTHROPIC;
    }
    return OPENAI;
  }
}
