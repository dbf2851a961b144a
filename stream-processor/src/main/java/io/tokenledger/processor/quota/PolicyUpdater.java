package io.tokenledger.processor.quota;

import io.tokenledger.avro.QuotaPolicy;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/** Applies quota.policies to the global policy store and the shared {@link PolicyBook}. */
public final class PolicyUpdater implements Processor<String, QuotaPolicy, Void, Void> {

  public static final String STORE = "quota-policy-store";

  private final PolicyBook book;
  private KeyValueStore<String, QuotaPolicy> store;

  public PolicyUpdater(PolicyBook book) {
    this.book = book;
  }

  @Override
  public void init(ProcessorContext<Void, Void> context) {
    store = context.getStateStore(STORE);
    book.loadOnce(sink -> {
      try (KeyValueIterator<String, QuotaPolicy> it = store.all()) {
        it.forEachRemaining(kv -> sink.accept(kv.value));
      }
    });
  }

  @Override
  public void process(Record<String, QuotaPolicy> record) {
    if (record.key() == null) {
      return;
    }
    if (record.value() == null) {
      store.delete(record.key());
    } else {
      store.put(record.key(), record.value());
    }
    book.put(record.key(), record.value());
  }
}
