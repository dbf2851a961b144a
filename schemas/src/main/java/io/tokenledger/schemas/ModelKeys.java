package io.tokenledger.schemas;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Turns what a service reported ({@code provider}, {@code model}) into catalog keys {@code provider/model},
 * most specific first. Names are lower-cased and trimmed, a provider prefix in the model name is dropped
 * ({@code openai/gpt-4o}, Gemini's {@code models/gemini-2.5-pro}), and dated or versioned snapshots fall back
 * to their family: {@code gpt-4o-2024-08-06} → {@code gpt-4o}, {@code claude-3-5-sonnet-20241022} →
 * {@code claude-3-5-sonnet}, {@code gemini-1.5-pro-002} → {@code gemini-1.5-pro}. The exact entry always
 * comes first, so a snapshot priced on its own wins over its family.
 */
public final class ModelKeys {

  /** Provider spellings seen in the wild, mapped to the catalog's names. */
  private static final Map<String, String> PROVIDER_ALIASES = Map.of(
      "x-ai", "xai",
      "grok", "xai",
      "gemini", "google",
      "google-ai", "google",
      "vertex", "google",
      "vertex-ai", "google",
      "claude", "anthropic",
      "open-ai", "openai");

  /** Suffixes that name a snapshot of a family, tried in this order, each on the result of the previous. */
  private static final List<Pattern> SNAPSHOT_SUFFIXES = List.of(
      Pattern.compile("-latest$"),
      Pattern.compile("-\\d{4}-\\d{2}-\\d{2}$"),     // OpenAI: gpt-4o-2024-08-06
      Pattern.compile("-\\d{8}$"),                   // Anthropic: claude-3-5-sonnet-20241022
      Pattern.compile("@\\d{8}$"),                   // Vertex: claude-3-5-sonnet@20240620
      Pattern.compile("-preview(-\\d{2}-\\d{2})?$"), // Google: gemini-2.5-pro-preview-06-05
      Pattern.compile("-exp(-\\d{4})?$"),            // Google: gemini-2.0-flash-exp
      Pattern.compile("-\\d{3}$"),                   // Google: gemini-1.5-pro-002
      Pattern.compile("-\\d{4}$"));                  // OpenAI, older: gpt-4-0613, gpt-3.5-turbo-0125

  private ModelKeys() {}

  public static String provider(String provider) {
    String p = provider == null ? "" : provider.trim().toLowerCase(Locale.ROOT);
    return PROVIDER_ALIASES.getOrDefault(p, p);
  }

  public static String model(String provider, String model) {
    String m = model == null ? "" : model.trim().toLowerCase(Locale.ROOT);
    if (m.startsWith("models/")) {
      m = m.substring("models/".length());
    }
    int slash = m.indexOf('/');
    if (slash > 0 && provider(m.substring(0, slash)).equals(provider)) {
      m = m.substring(slash + 1);
    }
    return m;
  }

  /** The catalog key for a normalized provider and model. */
  public static String key(String provider, String model) {
    return provider + "/" + model;
  }

  /** Keys to look up, most specific first: the exact name, then each shorter family name. */
  public static List<String> candidates(String rawProvider, String rawModel) {
    String provider = provider(rawProvider);
    String model = model(provider, rawModel);
    List<String> keys = new ArrayList<>(3);
    keys.add(key(provider, model));
    String family = model;
    for (Pattern suffix : SNAPSHOT_SUFFIXES) {
      String shorter = suffix.matcher(family).replaceFirst("");
      if (!shorter.equals(family) && !shorter.isEmpty()) {
        family = shorter;
        keys.add(key(provider, family));
      }
    }
    return keys;
  }
}
