package io.tokenledger.processor;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One counter per outcome, so that events in = costed + unpriced + dead-lettered + duplicates, always.
 * Prometheus names: {@code tokenledger_events_in_total}, {@code tokenledger_events_costed_total}, ...
 */
public final class PipelineMetrics {

  private final MeterRegistry registry;
  private final Counter in;
  private final Counter costed;
  private final Counter duplicates;
  private final Counter lateForQuota;
  private final Counter breaches;
  private final Counter metadataDropped;
  private final Map<String, Counter> unpriced = new ConcurrentHashMap<>();
  private final Map<String, Counter> deadLetters = new ConcurrentHashMap<>();

  public PipelineMetrics(MeterRegistry registry) {
    this.registry = registry;
    this.in = Counter.builder("tokenledger.events.in").description("usage records read").register(registry);
    this.costed = Counter.builder("tokenledger.events.costed").description("events priced").register(registry);
    this.duplicates = Counter.builder("tokenledger.events.duplicates")
        .description("events dropped because their id was seen before").register(registry);
    this.lateForQuota = Counter.builder("tokenledger.quota.late.events")
        .description("costed events too late for their quota window").register(registry);
    this.breaches = Counter.builder("tokenledger.quota.breaches").description("quota breaches emitted").register(registry);
    this.metadataDropped = Counter.builder("tokenledger.events.metadata.dropped")
        .description("events costed without their metadata, which was over the size limit").register(registry);
  }

  public void in() {
    in.increment();
  }

  public void costed() {
    costed.increment();
  }

  public void duplicate() {
    duplicates.increment();
  }

  public void lateForQuota() {
    lateForQuota.increment();
  }

  public void breach() {
    breaches.increment();
  }

  public void metadataDropped() {
    metadataDropped.increment();
  }

  /** {@code reason} is a short code (no_catalog_entry, no_version_in_force), not the full message. */
  public void unpriced(String reason) {
    unpriced.computeIfAbsent(reason, r -> Counter.builder("tokenledger.events.unpriced").tag("reason", r)
        .description("valid events without a price in force").register(registry)).increment();
  }

  /** {@code stage} is deserialize or validate. */
  public void deadLetter(String stage) {
    deadLetters.computeIfAbsent(stage, s -> Counter.builder("tokenledger.events.dead.lettered").tag("stage", s)
        .description("records sent to the dead-letter topic").register(registry)).increment();
  }

  public MeterRegistry registry() {
    return registry;
  }
}
