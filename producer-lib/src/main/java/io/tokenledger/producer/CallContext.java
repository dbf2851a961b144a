package io.tokenledger.producer;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;

/**
 * What a call site knows about a model call besides its tokens: where it was made, what for, how long it
 * took, free-form metadata, whether it went through a batch API, and optionally its own event id and time.
 * Immutable; each {@code with} method returns a new context.
 */
public final class CallContext {

  private static final CallContext NONE = new CallContext(null, null, null, Map.of(), false, null, null);

  private final String endpoint;
  private final String requestType;
  private final Duration latency;
  private final Map<String, String> metadata;
  private final boolean batch;
  private final String eventId;
  private final Instant eventTime;

  private CallContext(String endpoint, String requestType, Duration latency, Map<String, String> metadata,
      boolean batch, String eventId, Instant eventTime) {
    this.endpoint = endpoint;
    this.requestType = requestType;
    this.latency = latency;
    this.metadata = metadata;
    this.batch = batch;
    this.eventId = eventId;
    this.eventTime = eventTime;
  }

  public static CallContext none() {
    return NONE;
  }

  public CallContext endpoint(String e) {
    return new CallContext(e, requestType, latency, metadata, batch, eventId, eventTime);
  }

  public CallContext requestType(String t) {
    return new CallContext(endpoint, t, latency, metadata, batch, eventId, eventTime);
  }

  public CallContext latency(Duration d) {
    return new CallContext(endpoint, requestType, d, metadata, batch, eventId, eventTime);
  }

  public CallContext batch(boolean b) {
    return new CallContext(endpoint, requestType, latency, metadata, b, eventId, eventTime);
  }

  public CallContext eventId(String id) {
    return new CallContext(endpoint, requestType, latency, metadata, batch, id, eventTime);
  }

  public CallContext eventTime(Instant t) {
    return new CallContext(endpoint, requestType, latency, metadata, batch, eventId, t);
  }

  /** Adds one metadata entry; a null key or value is ignored. */
  public CallContext metadata(String key, String value) {
    if (key == null || value == null) {
      return this;
    }
    Map<String, String> m = new HashMap<>(metadata);
    m.put(key, value);
    return new CallContext(endpoint, requestType, latency, Map.copyOf(m), batch, eventId, eventTime);
  }

  public String endpoint() {
    return endpoint;
  }

  public String requestType() {
    return requestType;
  }

  public Duration latency() {
    return latency;
  }

  public Map<String, String> metadata() {
    return metadata;
  }

  public boolean batch() {
    return batch;
  }

  public String eventId() {
    return eventId;
  }

  public Instant eventTime() {
    return eventTime;
  }
}
