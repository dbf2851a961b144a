package io.tokenledger.processor.quota;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import io.tokenledger.avro.QuotaPolicy;
import io.tokenledger.avro.QuotaStatus;
import io.tokenledger.runtime.OpsServer;
import io.tokenledger.schemas.QuotaRules;
import java.io.IOException;
import java.net.URI;
import java.net.URLDecoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyQueryMetadata;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.errors.StreamsException;
import org.apache.kafka.streams.state.HostInfo;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;

/**
 * {@code GET /v1/quota?org_id=O[&user_id=U][&provider=P][&model=M]}: the status of every policy that
 * covers such a call, from the processor's own state. 200 with the statuses as JSON, or 429 when a hard
 * limit is exceeded, with {@code Retry-After} set to the seconds until the denying window ends.
 *
 * <p>Spend lives with the org's partition, on one instance: a request that reaches another instance is
 * forwarded to the owner (found through Kafka Streams' metadata), so any instance answers correctly.
 */
public final class QuotaEndpoint {

  public static final String PATH = "/v1/quota";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  private final KafkaStreams streams;
  private final PolicyBook policies;
  private final HostInfo self;
  private final LongSupplier clock;
  private final ReadablePartitions readable;

  /** {@code readable}: the partitions {@code streams}' quota processors say are ready here. */
  public QuotaEndpoint(KafkaStreams streams, PolicyBook policies, HostInfo self, LongSupplier clock,
      ReadablePartitions readable) {
    this.streams = streams;
    this.policies = policies;
    this.self = self;
    this.clock = clock;
    this.readable = readable;
  }

  public void handle(HttpExchange ex) throws IOException {
    Map<String, String> q;
    try {
      q = query(ex.getRequestURI());
    } catch (IllegalArgumentException e) {
      OpsServer.respond(ex, 400, "application/json", "{\"error\":\"malformed query string\"}");
      return;
    }
    String org = q.get("org_id");
    if (org == null || org.isBlank()) {
      OpsServer.respond(ex, 400, "application/json", "{\"error\":\"org_id is required\"}");
      return;
    }
    long now = clock.getAsLong();
    List<QuotaPolicy> covering = new ArrayList<>();
    for (QuotaPolicy p : policies.forOrg(org)) {
      if (QuotaRules.covers(p.getScope(), p.getScopeValue(), q.get("user_id"), q.get("provider"), q.get("model"))) {
        covering.add(p);
      }
    }
    List<SpendState> spent = new ArrayList<>();
    try {
      KeyQueryMetadata owner = streams.queryMetadataForKey(QuotaProcessor.STORE, org, new StringSerializer());
      HostInfo active = owner == null ? null : owner.activeHost();
      if (active == null || active.equals(HostInfo.unavailable())) {
        unavailable(ex, org, "no instance holds it yet (the processor is starting)");
        return;
      }
      if (!active.equals(self)) {
        if (q.containsKey("forwarded")) {
          // the forwarding instance took this one for the owner: the assignment is changing under us
          unavailable(ex, org, "it is moving between instances");
        } else {
          forward(ex, org, active);
        }
        return;
      }
      if (!readable.contains(owner.partition())) {
        unavailable(ex, org, "its partition is being restored or handed over here");
        return;
      }
      // the org's own partition only: one that is not (or no longer) running here throws instead of reading as empty
      ReadOnlyKeyValueStore<String, SpendState> spend = streams.store(StoreQueryParameters.fromNameAndType(
          QuotaProcessor.STORE, QueryableStoreTypes.<String, SpendState>keyValueStore()).withPartition(owner.partition()));
      for (QuotaPolicy p : covering) {
        QuotaRules.Window w = QuotaRules.windowAt(p.getWindow(), now);
        SpendState s = spend.get(QuotaProcessor.key(p.getPolicyId(), w.startMs()));
        spent.add(s != null ? s : SpendState.empty(w.startMs(), w.endMs()));
      }
    } catch (StreamsException | IllegalStateException e) {
      // from Kafka Streams only: not started or shutting down (IllegalStateException), or the partition left or
      // its store closed between the lookup and the read (InvalidStateStoreException and other StreamsExceptions)
      unavailable(ex, org, "the processor is " + streams.state().name().toLowerCase(java.util.Locale.ROOT)
          + " (" + e.getMessage() + ")");
      return;
    }
    List<QuotaStatus> statuses = new ArrayList<>();
    for (int i = 0; i < covering.size(); i++) {
      statuses.add(QuotaProcessor.status(covering.get(i), spent.get(i), now));
    }
    QuotaRules.Decision decision = QuotaRules.decide(statuses);
    ObjectNode body = JSON.createObjectNode();
    body.put("org_id", org);
    body.put("decision", decision.verdict().name().toLowerCase(java.util.Locale.ROOT));
    if (decision.deciding() != null) {
      body.put("deciding_policy_id", decision.deciding().getPolicyId());
      body.put("remaining_usd", decision.remainingUsd().stripTrailingZeros().toPlainString());
    }
    ArrayNode list = body.putArray("policies");
    for (QuotaStatus s : statuses) {
      ObjectNode n = list.addObject();
      n.put("policy_id", s.getPolicyId());
      n.put("scope", s.getScope().name().toLowerCase(java.util.Locale.ROOT));
      n.put("scope_value", s.getScopeValue());
      n.put("window", s.getWindow().name().toLowerCase(java.util.Locale.ROOT));
      n.put("window_start", s.getWindowStart().toString());
      n.put("window_end", s.getWindowEnd().toString());
      n.put("limit_usd", s.getLimitUsd().stripTrailingZeros().toPlainString());
      n.put("spend_usd", s.getSpendUsd().stripTrailingZeros().toPlainString());
      n.put("remaining_usd", s.getRemainingUsd().stripTrailingZeros().toPlainString());
      n.put("state", s.getState().name().toLowerCase(java.util.Locale.ROOT));
      n.put("enforcement", s.getEnforcement().name().toLowerCase(java.util.Locale.ROOT));
    }
    if (decision.verdict() == QuotaRules.Verdict.DENY) {
      long retry = Math.max(1, (decision.deciding().getWindowEnd().toEpochMilli() - now + 999) / 1000);
      ex.getResponseHeaders().set("Retry-After", Long.toString(retry));
      OpsServer.respond(ex, 429, "application/json", body.toString());
    } else {
      OpsServer.respond(ex, 200, "application/json", body.toString());
    }
  }

  /**
   * 503 with {@code Retry-After: 1}: the spend is not readable here now. Never an answer from a store that does
   * not hold the org: it would say nothing was spent.
   */
  private static void unavailable(HttpExchange ex, String org, String why) throws IOException {
    ex.getResponseHeaders().set("Retry-After", "1");
    ObjectNode body = JSON.createObjectNode();
    body.put("error", "the quota state of org " + org + " cannot be read: " + why + "; retry shortly");
    OpsServer.respond(ex, 503, "application/json", body.toString());
  }

  private void forward(HttpExchange ex, String org, HostInfo owner) throws IOException {
    URI uri = ex.getRequestURI();
    String target = "http://" + owner.host() + ":" + owner.port() + uri.getPath() + "?"
        + (uri.getRawQuery() == null ? "" : uri.getRawQuery() + "&") + "forwarded=1";
    try {
      HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(target)).timeout(Duration.ofSeconds(5)).build(),
          HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() >= 500 && r.statusCode() != 503) {
        unavailable(ex, org, "the instance that holds it (" + owner.host() + ":" + owner.port() + ") answered "
            + r.statusCode());
        return;
      }
      r.headers().firstValue("Retry-After").ifPresent(v -> ex.getResponseHeaders().set("Retry-After", v));
      OpsServer.respond(ex, r.statusCode(), "application/json", r.body());
    } catch (IOException | InterruptedException e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      unavailable(ex, org, "the instance that holds it (" + owner.host() + ":" + owner.port() + ") did not answer");
    }
  }

  static Map<String, String> query(URI uri) {
    Map<String, String> m = new HashMap<>();
    String raw = uri.getRawQuery();
    if (raw == null) {
      return m;
    }
    for (String pair : raw.split("&")) {
      int eq = pair.indexOf('=');
      String k = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
      String v = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
      if (!v.isEmpty() || eq < 0) {
        m.put(k, v);
      }
    }
    return m;
  }
}
