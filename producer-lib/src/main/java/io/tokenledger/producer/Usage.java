package io.tokenledger.producer;

import io.tokenledger.avro.UsageEvent;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;

/**
 * One model call's usage, as a service reports it: who pays, which model, how many tokens of each class.
 * Immutable; build it with {@link #builder()}. Token counts follow the normalized meaning of
 * {@code UsageEvent.avsc}: {@code inputTokens} excludes cached and cache-write tokens, {@code reasoningTokens}
 * are not part of {@code outputTokens}. The provider adapters ({@code io.tokenledger.producer.adapters}) do
 * that arithmetic for raw provider responses.
 *
 * <p>Nothing is validated here: a missing org, provider or model is sent as an empty string, and the
 * stream processor dead-letters the event with the reason, where it is visible (a library that threw or
 * silently dropped would hide it). Negative counts are clamped to zero when the event is written, with
 * {@code metadata["usage_status"]="partial"} and a note.
 */
public final class Usage {

  final String eventId;
  final long eventTimeMs;
  final String orgId;
  final String userId;
  final String provider;
  final String model;
  final long inputTokens;
  final long cachedInputTokens;
  final long cacheWrite5mTokens;
  final long cacheWrite1hTokens;
  final long outputTokens;
  final long reasoningTokens;
  final long latencyMs;
  final String endpoint;
  final String requestType;
  final String service;
  final Map<String, String> metadata;
  final boolean batch;

  private Usage(Builder b) {
    eventId = b.eventId;
    eventTimeMs = b.eventTimeMs;
    orgId = b.orgId;
    userId = b.userId;
    provider = b.provider;
    model = b.model;
    inputTokens = b.inputTokens;
    cachedInputTokens = b.cachedInputTokens;
    cacheWrite5mTokens = b.cacheWrite5mTokens;
    cacheWrite1hTokens = b.cacheWrite1hTokens;
    outputTokens = b.outputTokens;
    reasoningTokens = b.reasoningTokens;
    latencyMs = b.latencyMs;
    endpoint = b.endpoint;
    requestType = b.requestType;
    service = b.service;
    metadata = b.metadata == null || b.metadata.isEmpty() ? Map.of() : Map.copyOf(b.metadata);
    batch = b.batch;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The same values as an Avro event, for callers that already build {@link UsageEvent}s. */
  public static Usage from(UsageEvent e) {
    Builder b = builder().eventId(e.getEventId()).orgId(e.getOrgId()).userId(e.getUserId())
        .provider(e.getProvider()).model(e.getModel()).inputTokens(e.getInputTokens())
        .cachedInputTokens(e.getCachedInputTokens()).cacheWrite5mTokens(e.getCacheWrite5mTokens())
        .cacheWrite1hTokens(e.getCacheWrite1hTokens()).outputTokens(e.getOutputTokens())
        .reasoningTokens(e.getReasoningTokens()).endpoint(e.getEndpoint()).requestType(e.getRequestType())
        .service(e.getService()).batch(e.getBatch());
    if (e.getEventTime() != null) {
      b.eventTime(e.getEventTime());
    }
    if (e.getLatencyMs() != null) {
      b.latencyMs(e.getLatencyMs());
    }
    if (e.getMetadata() != null) {
      b.metadata(e.getMetadata());
    }
    return b.build();
  }

  /** The fields set on an Avro builder; unset ones take the tracker's defaults (a new id, the current time). */
  public static Usage from(UsageEvent.Builder e) {
    Builder b = builder().orgId(e.getOrgId()).userId(e.getUserId()).provider(e.getProvider()).model(e.getModel())
        .inputTokens(e.getInputTokens()).cachedInputTokens(e.getCachedInputTokens())
        .cacheWrite5mTokens(e.getCacheWrite5mTokens()).cacheWrite1hTokens(e.getCacheWrite1hTokens())
        .outputTokens(e.getOutputTokens()).reasoningTokens(e.getReasoningTokens()).endpoint(e.getEndpoint())
        .requestType(e.getRequestType()).service(e.getService()).batch(e.getBatch());
    if (e.hasEventId()) {
      b.eventId(e.getEventId());
    }
    if (e.hasEventTime() && e.getEventTime() != null) {
      b.eventTime(e.getEventTime());
    }
    if (e.getLatencyMs() != null) {
      b.latencyMs(e.getLatencyMs());
    }
    if (e.getMetadata() != null) {
      b.metadata(e.getMetadata());
    }
    return b.build();
  }

  public String orgId() {
    return orgId;
  }

  public String userId() {
    return userId;
  }

  public String provider() {
    return provider;
  }

  public String model() {
    return model;
  }

  public long inputTokens() {
    return inputTokens;
  }

  public long cachedInputTokens() {
    return cachedInputTokens;
  }

  public long cacheWrite5mTokens() {
    return cacheWrite5mTokens;
  }

  public long cacheWrite1hTokens() {
    return cacheWrite1hTokens;
  }

  public long outputTokens() {
    return outputTokens;
  }

  public long reasoningTokens() {
    return reasoningTokens;
  }

  public Map<String, String> metadata() {
    return metadata;
  }

  /** A builder holding these values, e.g. to track a variant. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.eventId = eventId;
    b.eventTimeMs = eventTimeMs;
    b.orgId = orgId;
    b.userId = userId;
    b.provider = provider;
    b.model = model;
    b.inputTokens = inputTokens;
    b.cachedInputTokens = cachedInputTokens;
    b.cacheWrite5mTokens = cacheWrite5mTokens;
    b.cacheWrite1hTokens = cacheWrite1hTokens;
    b.outputTokens = outputTokens;
    b.reasoningTokens = reasoningTokens;
    b.latencyMs = latencyMs;
    b.endpoint = endpoint;
    b.requestType = requestType;
    b.service = service;
    b.metadata = metadata.isEmpty() ? null : new HashMap<>(metadata);
    b.batch = batch;
    return b;
  }

  @Override
  public String toString() {
    return "Usage[org=" + orgId + ", user=" + userId + ", " + provider + "/" + model + ", in=" + inputTokens
        + ", cached=" + cachedInputTokens + ", cw5m=" + cacheWrite5mTokens + ", cw1h=" + cacheWrite1hTokens
        + ", out=" + outputTokens + ", reasoning=" + reasoningTokens + ", batch=" + batch + ", metadata=" + metadata
        + "]";
  }

  /** Fluent and cheap: setters only store values. Not thread-safe; build one per call. */
  public static final class Builder {
    private String eventId;
    private long eventTimeMs = -1;
    private String orgId;
    private String userId;
    private String provider;
    private String model;
    private long inputTokens;
    private long cachedInputTokens;
    private long cacheWrite5mTokens;
    private long cacheWrite1hTokens;
    private long outputTokens;
    private long reasoningTokens;
    private long latencyMs = -1;
    private String endpoint;
    private String requestType;
    private String service;
    private Map<String, String> metadata;
    private boolean batch;

    private Builder() {}

    /** The event id; by default a new UUID version 7 (time-ordered). Give one to make retries idempotent. */
    public Builder eventId(String id) {
      this.eventId = id;
      return this;
    }

    /** When the call happened; by default the moment {@code track} is called. */
    public Builder eventTime(Instant t) {
      this.eventTimeMs = t == null ? -1 : t.toEpochMilli();
      return this;
    }

    public Builder orgId(String org) {
      this.orgId = org;
      return this;
    }

    public Builder userId(String user) {
      this.userId = user;
      return this;
    }

    /** openai, anthropic, google, xai, or a self-hosted provider's name. */
    public Builder provider(String provider) {
      this.provider = provider;
      return this;
    }

    /** The model id as the provider reported it, e.g. {@code gpt-4o-2024-08-06}. */
    public Builder model(String model) {
      this.model = model;
      return this;
    }

    /** Uncached input tokens: excludes cache reads and cache writes. */
    public Builder inputTokens(long n) {
      this.inputTokens = n;
      return this;
    }

    /** Input tokens read from the provider's prompt cache. */
    public Builder cachedInputTokens(long n) {
      this.cachedInputTokens = n;
      return this;
    }

    /** Input tokens written to a 5 minute cache. */
    public Builder cacheWrite5mTokens(long n) {
      this.cacheWrite5mTokens = n;
      return this;
    }

    /** Input tokens written to a 1 hour cache. */
    public Builder cacheWrite1hTokens(long n) {
      this.cacheWrite1hTokens = n;
      return this;
    }

    /** Visible output tokens: excludes reasoning tokens. */
    public Builder outputTokens(long n) {
      this.outputTokens = n;
      return this;
    }

    /** Hidden reasoning / thinking tokens. */
    public Builder reasoningTokens(long n) {
      this.reasoningTokens = n;
      return this;
    }

    public Builder latency(Duration d) {
      this.latencyMs = d == null ? -1 : d.toMillis();
      return this;
    }

    public Builder latencyMs(long ms) {
      this.latencyMs = ms;
      return this;
    }

    /** Where in the calling service the call was made, e.g. {@code /api/quiz}. */
    public Builder endpoint(String endpoint) {
      this.endpoint = endpoint;
      return this;
    }

    /** chat, embedding, transcription, quiz-generation, summary, ... */
    public Builder requestType(String type) {
      this.requestType = type;
      return this;
    }

    /** The emitting service; by default the tracker's service name. */
    public Builder service(String service) {
      this.service = service;
      return this;
    }

    /** Adds one metadata entry; a null key or value is ignored. */
    public Builder metadata(String key, String value) {
      if (key != null && value != null) {
        if (metadata == null) {
          metadata = new HashMap<>(8);
        }
        metadata.put(key, value);
      }
      return this;
    }

    /** Adds every entry; null keys and values are ignored. */
    public Builder metadata(Map<String, String> entries) {
      if (entries != null) {
        entries.forEach(this::metadata);
      }
      return this;
    }

    /** True when the call went through a provider's discounted batch API. */
    public Builder batch(boolean batch) {
      this.batch = batch;
      return this;
    }

    /** Applies a call site's context: endpoint, request type, latency, metadata, batch, id and time if set. */
    public Builder context(CallContext c) {
      if (c == null) {
        return this;
      }
      if (c.endpoint() != null) {
        endpoint = c.endpoint();
      }
      if (c.requestType() != null) {
        requestType = c.requestType();
      }
      if (c.latency() != null) {
        latency(c.latency());
      }
      if (c.eventId() != null) {
        eventId = c.eventId();
      }
      if (c.eventTime() != null) {
        eventTime(c.eventTime());
      }
      if (c.batch()) {
        batch = true;
      }
      metadata(c.metadata());
      return this;
    }

    String provider() {
      return provider;
    }

    String model() {
      return model;
    }

    boolean hasLatency() {
      return latencyMs >= 0;
    }

    /** An independent copy, so that one template can serve many calls. */
    public Builder copy() {
      Builder b = new Builder();
      b.eventId = eventId;
      b.eventTimeMs = eventTimeMs;
      b.orgId = orgId;
      b.userId = userId;
      b.provider = provider;
      b.model = model;
      b.inputTokens = inputTokens;
      b.cachedInputTokens = cachedInputTokens;
      b.cacheWrite5mTokens = cacheWrite5mTokens;
      b.cacheWrite1hTokens = cacheWrite1hTokens;
      b.outputTokens = outputTokens;
      b.reasoningTokens = reasoningTokens;
      b.latencyMs = latencyMs;
      b.endpoint = endpoint;
      b.requestType = requestType;
      b.service = service;
      b.metadata = metadata == null ? null : new HashMap<>(metadata);
      b.batch = batch;
      return b;
    }

    public Usage build() {
      return new Usage(this);
    }
  }
}
