package io.tokenledger.runtime;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Reads typed settings from environment variables, each with a documented default. A deployable's config
 * class declares every setting it knows through this reader; {@link #finish()} then fails start-up with one
 * message naming every invalid value and every unknown variable under the deployable's prefix (a typo such
 * as {@code TOKENLEDGER_SINK_BATCH_SIZ} must not silently fall back to a default).
 *
 * <p>Values come from the given map (normally {@code System.getenv()}); tests pass their own.
 */
public final class EnvConfig {

  private final Map<String, String> env;
  private final List<String> ownPrefixes;
  private final Set<String> known = new TreeSet<>();
  private final List<String> errors = new ArrayList<>();
  private final Map<String, String> effective = new LinkedHashMap<>();

  /**
   * @param env the variables
   * @param ownPrefixes prefixes whose variables this deployable owns; unknown ones under them are errors
   */
  public EnvConfig(Map<String, String> env, String... ownPrefixes) {
    this.env = Map.copyOf(env);
    this.ownPrefixes = List.of(ownPrefixes);
  }

  public String string(String name, String defaultValue) {
    known.add(name);
    String v = env.get(name);
    String value = v == null || v.isBlank() ? defaultValue : v.trim();
    effective.put(name, mask(name, value));
    return value;
  }

  /** A setting that must be given: recorded as an error when absent. */
  public String required(String name) {
    String v = string(name, null);
    if (v == null) {
      errors.add(name + " is required");
    }
    return v;
  }

  public int integer(String name, int defaultValue, int min, int max) {
    return (int) longValue(name, defaultValue, min, max);
  }

  public long longValue(String name, long defaultValue, long min, long max) {
    String v = string(name, Long.toString(defaultValue));
    try {
      long n = Long.parseLong(v.replace("_", ""));
      if (n < min || n > max) {
        errors.add(name + "=" + v + " is outside [" + min + ", " + max + "]");
        return defaultValue;
      }
      return n;
    } catch (NumberFormatException e) {
      errors.add(name + "=" + v + " is not a whole number");
      return defaultValue;
    }
  }

  public boolean bool(String name, boolean defaultValue) {
    String v = string(name, Boolean.toString(defaultValue)).toLowerCase(Locale.ROOT);
    return switch (v) {
      case "true", "yes", "1", "on" -> true;
      case "false", "no", "0", "off" -> false;
      default -> {
        errors.add(name + "=" + v + " is not true or false");
        yield defaultValue;
      }
    };
  }

  /** A duration as ISO-8601 ({@code PT30S}) or a number with a unit: {@code 500ms}, {@code 30s}, {@code 5m}, {@code 24h}, {@code 7d}. */
  public Duration duration(String name, Duration defaultValue) {
    String v = string(name, format(defaultValue));
    try {
      return parseDuration(v);
    } catch (IllegalArgumentException e) {
      errors.add(name + "=" + v + " is not a duration (e.g. 500ms, 30s, 5m, 24h, 7d, PT30S)");
      return defaultValue;
    }
  }

  public <E extends Enum<E>> E choice(String name, Class<E> type, E defaultValue) {
    String v = string(name, defaultValue.name());
    try {
      return Enum.valueOf(type, v.toUpperCase(Locale.ROOT).replace('-', '_'));
    } catch (IllegalArgumentException e) {
      List<String> allowed = new ArrayList<>();
      for (E c : type.getEnumConstants()) {
        allowed.add(c.name().toLowerCase(Locale.ROOT));
      }
      errors.add(name + "=" + v + " is not one of " + allowed);
      return defaultValue;
    }
  }

  /**
   * Every variable under {@code prefix} with the prefix removed, e.g. Kafka client overrides given as
   * {@code TOKENLEDGER_KAFKA_SASL_MECHANISM=PLAIN} become {@code sasl.mechanism=PLAIN}.
   */
  public Map<String, String> passThrough(String prefix) {
    Map<String, String> out = new LinkedHashMap<>();
    env.forEach((k, v) -> {
      if (k.startsWith(prefix) && k.length() > prefix.length()) {
        known.add(k);
        out.put(k.substring(prefix.length()).toLowerCase(Locale.ROOT).replace('_', '.'), v);
      }
    });
    return out;
  }

  /** Fails with every problem at once, naming each setting. */
  public void finish() {
    for (String k : new TreeSet<>(env.keySet())) {
      for (String p : ownPrefixes) {
        if (k.startsWith(p) && !known.contains(k)) {
          errors.add(k + " is not a known setting");
        }
      }
    }
    if (!errors.isEmpty()) {
      throw new IllegalArgumentException("invalid configuration:\n  - " + String.join("\n  - ", errors));
    }
  }

  /** Each setting read and its value (secrets masked), for the start-up log line. */
  public Map<String, String> effective() {
    return Map.copyOf(effective);
  }

  static Duration parseDuration(String v) {
    String s = v.trim().toLowerCase(Locale.ROOT);
    if (s.startsWith("p")) {
      try {
        return Duration.parse(s.toUpperCase(Locale.ROOT));
      } catch (DateTimeParseException e) {
        throw new IllegalArgumentException(v, e);
      }
    }
    int i = 0;
    while (i < s.length() && Character.isDigit(s.charAt(i))) {
      i++;
    }
    if (i == 0) {
      throw new IllegalArgumentException(v);
    }
    long n = Long.parseLong(s.substring(0, i));
    return switch (s.substring(i).trim()) {
      case "ms" -> Duration.ofMillis(n);
      case "s", "" -> Duration.ofSeconds(n);
      case "m", "min" -> Duration.ofMinutes(n);
      case "h" -> Duration.ofHours(n);
      case "d" -> Duration.ofDays(n);
      default -> throw new IllegalArgumentException(v);
    };
  }

  static String format(Duration d) {
    if (d.toMillis() % 86_400_000 == 0 && !d.isZero()) {
      return d.toDays() + "d";
    }
    if (d.toMillis() % 3_600_000 == 0 && !d.isZero()) {
      return d.toHours() + "h";
    }
    if (d.toMillis() % 1000 == 0) {
      return d.toSeconds() + "s";
    }
    return d.toMillis() + "ms";
  }

  private static String mask(String name, String value) {
    String n = name.toUpperCase(Locale.ROOT);
    boolean secret = n.contains("PASSWORD") || n.contains("SECRET") || n.contains("JAAS") || n.contains("TOKEN_VALUE");
    return secret && value != null && !value.isEmpty() ? "****" : value;
  }
}
