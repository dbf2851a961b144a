package io.tokenledger.producer.adapters;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;

/** Lenient reading of counts from provider JSON: every oddity becomes a note, never an exception. */
final class Json {

  private static final ObjectMapper MAPPER = new ObjectMapper();

  private Json() {}

  /** The parsed body, or null when it is not JSON. */
  static JsonNode parse(String raw) {
    if (raw == null || raw.isBlank()) {
      return null;
    }
    try {
      return MAPPER.readTree(raw);
    } catch (JsonProcessingException | RuntimeException e) {
      return null;
    }
  }

  static String text(JsonNode parent, String field) {
    JsonNode n = parent == null ? null : parent.get(field);
    return n != null && n.isTextual() && !n.asText().isBlank() ? n.asText() : null;
  }

  static boolean present(JsonNode parent, String field) {
    JsonNode n = parent == null ? null : parent.get(field);
    return n != null && !n.isNull();
  }

  /** Collects notes while one usage block is read. */
  static final class Reader {
    final List<String> notes = new ArrayList<>(2);

    /**
     * A token count: absent or null is 0 (providers omit zero classes); a negative, fractional, textual or
     * otherwise unexpected value is noted, and read as well as it can be (negative and unreadable as 0).
     */
    long count(JsonNode parent, String field, String path) {
      JsonNode n = parent == null ? null : parent.get(field);
      if (n == null || n.isNull() || n.isMissingNode()) {
        return 0;
      }
      long v;
      if (n.isIntegralNumber() && n.canConvertToLong()) {
        v = n.asLong();
      } else if (n.isNumber() && n.asDouble() == Math.rint(n.asDouble()) && Math.abs(n.asDouble()) < 1e15) {
        v = (long) n.asDouble();
        notes.add(path + " is not an integer (" + n + ")");
      } else if (n.isTextual()) {
        try {
          v = Long.parseLong(n.asText().trim());
          notes.add(path + " is a string (" + n + ")");
        } catch (NumberFormatException e) {
          notes.add(path + " is not a number (" + abbreviate(n.toString()) + "), counted as 0");
          return 0;
        }
      } else {
        notes.add(path + " has an unexpected type (" + n.getNodeType().name().toLowerCase() + "), counted as 0");
        return 0;
      }
      if (v < 0) {
        notes.add(path + " is negative (" + v + "), counted as 0");
        return 0;
      }
      return v;
    }

    /** {@code total - part}, or 0 with a note when the part is larger than the total it belongs to. */
    long minus(long total, long part, String totalPath, String partPath) {
      if (part > total) {
        notes.add(partPath + " (" + part + ") exceeds " + totalPath + " (" + total + "), remainder counted as 0");
        return 0;
      }
      return total - part;
    }

    String status() {
      return notes.isEmpty() ? null : ParsedUsage.PARTIAL;
    }
  }

  private static String abbreviate(String s) {
    return s.length() <= 40 ? s : s.substring(0, 40) + "...";
  }
}
