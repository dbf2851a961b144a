package io.tokenledger.schemas;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.Schema;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.SerializationException;

/**
 * A client of the Confluent-compatible schema registry API (Apicurio's {@code /apis/ccompat/v7}, Confluent
 * Schema Registry, Karapace, Redpanda): registers a subject's schema and fetches schemas by id, each once
 * per process. A registry that cannot be reached is a {@link Unavailable} error (worth retrying); an id the
 * registry does not know is a {@link SerializationException} (the record is bad); a schema the subject's
 * compatibility rule refuses is a {@link Conflict}.
 */
public final class RegistryClient {

  /** The registry did not answer, or answered with a server error: retry later, the record is not at fault. */
  public static final class Unavailable extends RetriableException {
    private static final long serialVersionUID = 1L;

    Unavailable(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /**
   * The registry refused a registration with HTTP 409: the schema is incompatible with the subject's earlier
   * ones, or (Apicurio) another client created the subject at that very moment.
   */
  public static final class Conflict extends SerializationException {
    private static final long serialVersionUID = 1L;

    Conflict(String message) {
      super(message);
    }
  }

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Map<String, RegistryClient> SHARED = new ConcurrentHashMap<>();

  private final RegistryUrl url;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final Map<String, Integer> ids = new ConcurrentHashMap<>();
  private final Map<Integer, Schema> schemas = new ConcurrentHashMap<>();
  /**
   * Ids the registry said it does not know, until when to believe it: a burst of records with made-up ids
   * must not cost one registry round trip each (for the processor, a stalled stream thread per record).
   */
  private final Map<Integer, Long> unknownUntilMs = new ConcurrentHashMap<>();
  static final long UNKNOWN_ID_MEMORY_MS = 60_000;
  private static final int CONFLICT_RETRIES = 2;
  private static final int UNKNOWN_IDS_KEPT = 10_000;

  RegistryClient(RegistryUrl url) {
    this.url = url;
  }

  /** One client (and cache) per registry per process. */
  public static RegistryClient forUrl(String registryUrl) {
    RegistryUrl u = RegistryUrl.parse(registryUrl);
    return SHARED.computeIfAbsent(u.root(), k -> new RegistryClient(u));
  }

  /**
   * Registers {@code schema} under {@code subject} (idempotent) and returns its id. A 409 is asked again
   * twice, after 100 and 200 ms: Apicurio answers it to the loser of a race between clients creating the
   * same new subject (processors or services started together), and finds the subject when asked again. A
   * schema the compatibility rule refuses gets 409 every time: {@link Conflict} after the third.
   */
  public int register(String subject, Schema schema) {
    return ids.computeIfAbsent(subject + '\u0000' + schema, k -> {
      String body = "{\"schema\":" + quote(schema.toString()) + "}";
      JsonNode r = null;
      for (int attempt = 0; r == null; attempt++) {
        try {
          r = call(HttpRequest.newBuilder(URI.create(url.confluentApi() + "/subjects/"
                  + URLEncoder.encode(subject, StandardCharsets.UTF_8) + "/versions"))
              .header("Content-Type", "application/vnd.schemaregistry.v1+json")
              .POST(HttpRequest.BodyPublishers.ofString(body)), "register " + subject);
        } catch (Conflict e) {
          if (attempt == CONFLICT_RETRIES) {
            throw e;
          }
          pause(100L << attempt, e);
        }
      }
      int id = r.path("id").asInt(-1);
      if (id < 0) {
        throw new SerializationException("registry answered no id registering " + subject + ": " + r);
      }
      schemas.putIfAbsent(id, schema);
      return id;
    });
  }

  /** The schema with {@code id}; an id the registry did not know a moment ago fails without asking again. */
  public Schema schema(int id) {
    Schema known = schemas.get(id);
    if (known != null) {
      return known;
    }
    Long until = unknownUntilMs.get(id);
    if (until != null && System.currentTimeMillis() < until) {
      throw new SerializationException("schema id " + id + " is unknown to the registry at " + url.root()
          + " (asked less than " + UNKNOWN_ID_MEMORY_MS / 1000 + " s ago)");
    }
    try {
      return schemas.computeIfAbsent(id, k -> {
        JsonNode r = call(HttpRequest.newBuilder(URI.create(url.confluentApi() + "/schemas/ids/" + id)).GET(),
            "schema id " + id);
        return new Schema.Parser().parse(r.path("schema").asText());
      });
    } catch (SerializationException e) {
      if (unknownUntilMs.size() >= UNKNOWN_IDS_KEPT) {
        unknownUntilMs.clear();
      }
      unknownUntilMs.put(id, System.currentTimeMillis() + UNKNOWN_ID_MEMORY_MS);
      throw e;
    }
  }

  /** Sleeps {@code ms}; if interrupted, keeps the interrupt and throws {@code onInterrupt}. */
  static void pause(long ms, RuntimeException onInterrupt) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw onInterrupt;
    }
  }

  private JsonNode call(HttpRequest.Builder request, String what) {
    HttpResponse<String> r;
    try {
      r = http.send(request.timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new Unavailable("schema registry at " + url.root() + " unreachable (" + what + "): " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Unavailable("interrupted calling the schema registry (" + what + ")", e);
    }
    if (r.statusCode() >= 500 || r.statusCode() == 429) {
      throw new Unavailable("schema registry answered HTTP " + r.statusCode() + " (" + what + "): " + r.body(), null);
    }
    if (r.statusCode() == 409) {
      throw new Conflict("schema registry refused " + what + ": HTTP 409 " + r.body());
    }
    if (r.statusCode() / 100 != 2) {
      throw new SerializationException("schema registry refused " + what + ": HTTP " + r.statusCode() + " " + r.body());
    }
    try {
      return JSON.readTree(r.body());
    } catch (IOException e) {
      throw new Unavailable("schema registry answered something that is not JSON (" + what + ")", e);
    }
  }

  static String quote(String s) {
    try {
      return JSON.writeValueAsString(s);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
