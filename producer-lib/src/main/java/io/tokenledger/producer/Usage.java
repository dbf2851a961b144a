package io.tokenledger.producer;

import io.tokenledger.avro.UsageEvent;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;

/**
 * One model call's usage, built fluently. Token counts follow the schema's normalized meaning:
 * {@code inputTokens} excludes cached and cache-write tokens, {@code reasoningTokens} are not part of
 * {@code outputTokens}. The provider adapters ({@link ProviderUsage}) do this normalization for raw responses.
 */
public final class Usage {

  String eventId;
  Instant eventTime;
  String orgId;
  String userId;
  String provider;
  String model;
  long input;
  long cachedInput;
  long cacheWrite5m;
  long cacheWrite1h;
  long output;
  long reasoning;
  Long latencyMs;
  String endpoint;
  String requestType;
  String service;
  boolean batch;
  final Map<String, String> metadata = new HashMap<>();

  public static Usage of(String orgId, String provider, String model) {
    Usage u = new Usage();
    u.orgId = orgId;
    u.provider = provider;
    u.model = model;
    return u;
  }

  public Usage user(String userId) {
    this.userId = userId;
    return this;
  }

  public Usage eventId(String id) {
    this.eventId = id;
    return this;
  }

  public Usage at(Instant time) {
    this.eventTime = time;
    return this;
  }

  public Usage inputTokens(long n) {
    this.input = n;
    return this;
  }

  public Usage cachedInputTokens(long n) {
    this.cachedInput = n;
    return this;
  }

  public Usage cacheWrite5mTokens(long n) {
    this.cacheWrite5m = n;
    return this;
  }

  public Usage cacheWrite1hTokens(long n) {
    this.cacheWrite1h = n;
    return this;
  }

  public Usage outputTokens(long n) {
    this.output = n;
    return this;
  }

  public Usage reasoningTokens(long n) {
    this.reasoning = n;
    return this;
  }

  public Usage latencyMs(long ms) {
    this.latencyMs = ms;
    return this;
  }

  public Usage endpoint(String endpoint) {
    this.endpoint = endpoint;
    return this;
  }

  public Usage requestType(String type) {
    this.requestType = type;
    return this;
  }

  public Usage service(String service) {
    this.service = service;
    return this;
  }

  public Usage batch(boolean batch) {
    this.batch = batch;
    return this;
  }

  public Usage meta(String key, String value) {
    if (key != null && value != null) {
      metadata.put(key, value);
    }
    return this;
  }

  /** Copies the token counts and model a provider adapter read from a response. */
  public Usage tokens(ProviderUsage.Parsed p) {
    this.input = p.input();
    this.cachedInput = p.cachedInput();
    this.cacheWrite5m = p.cacheWrite5m();
    this.cacheWrite1h = p.cacheWrite1h();
    this.output = p.output();
    this.reasoning = p.reasoning();
    if (p.model() != null && (model == null || model.isBlank())) {
      this.model = p.model();
    }
    p.flags().forEach(this::meta);
    return this;
  }

  UsageEvent toEvent(String defaultService, long nowMs) {
    long at = eventTime != null ? eventTime.toEpochMilli() : nowMs;
    return UsageEvent.newBuilder()
        .setEventId(eventId != null ? eventId : UuidV7.at(at).toString())
        .setEventTime(Instant.ofEpochMilli(at))
        .setOrgId(orgId == null ? "" : orgId)
        .setUserId(userId)
        .setProvider(provider == null ? "" : provider)
        .setModel(model == null ? "" : model)
        .setInputTokens(input)
        .setCachedInputTokens(cachedInput)
        .setCacheWrite5mTokens(cacheWrite5m)
        .setCacheWrite1hTokens(cacheWrite1h)
        .setOutputTokens(output)
        .setReasoningTokens(reasoning)
        .setLatencyMs(latencyMs)
        .setEndpoint(endpoint)
        .setRequestType(requestType)
        .setService(service != null ? service : defaultService)
        .setMetadata(Map.copyOf(metadata))
        .setBatch(batch)
        .build();
  }
}
