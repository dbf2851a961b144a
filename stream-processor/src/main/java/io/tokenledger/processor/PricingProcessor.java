package io.tokenledger.processor;

import io.tokenledger.avro.CostedUsage;
import io.tokenledger.avro.ModelPricing;
import io.tokenledger.avro.UnpricedUsage;
import io.tokenledger.avro.UsageEvent;
import io.tokenledger.processor.pricing.CompiledPricing;
import io.tokenledger.processor.pricing.Cost;
import io.tokenledger.processor.pricing.PriceBook;
import java.time.Instant;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Prices each event with the catalog version in force at the event's own time. An event whose model has no
 * entry, or no version yet in force at its time, becomes {@link UnpricedUsage}: never a zero cost.
 */
final class PricingProcessor implements Processor<String, UsageEvent, String, SpecificRecord> {

  private static final Logger LOG = LoggerFactory.getLogger(PricingProcessor.class);

  private final PriceBook book;
  private final PipelineMetrics metrics;
  private ProcessorContext<String, SpecificRecord> context;
  private ReadOnlyKeyValueStore<String, ModelPricing> catalog;

  PricingProcessor(PriceBook book, PipelineMetrics metrics) {
    this.book = book;
    this.metrics = metrics;
  }

  @Override
  public void init(ProcessorContext<String, SpecificRecord> context) {
    this.context = context;
    this.catalog = context.getStateStore(CatalogUpdater.STORE);
  }

  @Override
  public void process(Record<String, UsageEvent> record) {
    UsageEvent e = record.value();
    PriceBook.Resolution resolution = book.resolve(e.getProvider(), e.getModel(), catalog::get);
    CompiledPricing pricing = resolution.pricing();
    long eventTime = e.getEventTime().toEpochMilli();
    if (pricing == null) {
      unpriced(record, "no_catalog_entry", "no price for model " + resolution.lookedUp() + " (looked up "
          + String.join(", ", resolution.candidates()) + ")", resolution.lookedUp());
      return;
    }
    CompiledPricing.Version version = pricing.versionAt(eventTime);
    if (version == null) {
      unpriced(record, "no_version_in_force", "no price for " + pricing.key() + " in force at " + e.getEventTime()
          + "; its first price takes effect " + Instant.ofEpochMilli(pricing.firstEffectiveFrom()), pricing.key());
      return;
    }
    Cost cost = Cost.of(new Cost.Tokens(e.getInputTokens(), e.getCachedInputTokens(), e.getCacheWrite5mTokens(),
        e.getCacheWrite1hTokens(), e.getOutputTokens(), e.getReasoningTokens()), e.getBatch(), version);
    CostedUsage costed = CostedUsage.newBuilder()
        .setEvent(e)
        .setCurrency(version.currency())
        .setInputCost(cost.input())
        .setCachedInputCost(cost.cachedInput())
        .setCacheWriteCost(cost.cacheWrite())
        .setOutputCost(cost.output())
        .setReasoningCost(cost.reasoning())
        .setRequestFee(cost.requestFee())
        .setTotalCost(cost.total())
        .setPricingKey(pricing.key())
        .setPriceVersionId(version.id())
        .setPriceEffectiveFrom(Instant.ofEpochMilli(version.effectiveFromMs()))
        .setLongContext(cost.longContext())
        .setPricedAt(Instant.ofEpochMilli(context.currentSystemTimeMs()))
        .build();
    metrics.costed();
    if (LOG.isDebugEnabled()) {
      LOG.debug("costed org [{}] user [{}] model [{}] tokens in/cached/write/out/reasoning [{}/{}/{}/{}/{}] cost [{} {}] "
              + "price [{}]", e.getOrgId(), e.getUserId(), pricing.key(), e.getInputTokens(), e.getCachedInputTokens(),
          e.getCacheWrite5mTokens() + e.getCacheWrite1hTokens(), e.getOutputTokens(), e.getReasoningTokens(),
          cost.total().toPlainString(), version.currency(), version.id());
    }
    context.forward(record.withValue(costed));
  }

  private void unpriced(Record<String, UsageEvent> record, String code, String reason, String key) {
    metrics.unpriced(code);
    context.forward(record.withValue(UnpricedUsage.newBuilder()
        .setEvent(record.value())
        .setReason(reason)
        .setPricingKey(key)
        .setDetectedAt(Instant.ofEpochMilli(context.currentSystemTimeMs()))
        .build()));
  }
}
