package io.tokenledger.processor;

import io.tokenledger.avro.ModelPricing;
import io.tokenledger.processor.pricing.PriceBook;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Applies pricing.models to the global catalog store (every instance holds all of it) and drops the cache. */
final class CatalogUpdater implements Processor<String, ModelPricing, Void, Void> {

  static final String STORE = "pricing-store";
  private static final Logger LOG = LoggerFactory.getLogger(CatalogUpdater.class);

  private final PriceBook book;
  private KeyValueStore<String, ModelPricing> store;

  CatalogUpdater(PriceBook book) {
    this.book = book;
  }

  @Override
  public void init(ProcessorContext<Void, Void> context) {
    store = context.getStateStore(STORE);
    book.invalidate();
  }

  @Override
  public void process(Record<String, ModelPricing> record) {
    if (record.key() == null) {
      return;
    }
    if (record.value() == null) {
      store.delete(record.key());
    } else {
      store.put(record.key(), record.value());
    }
    book.invalidate();
    LOG.info("pricing [{}] now has {} version(s)", record.key(),
        record.value() == null ? 0 : record.value().getVersions().size());
  }
}
