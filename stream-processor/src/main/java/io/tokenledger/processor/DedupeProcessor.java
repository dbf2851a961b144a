package io.tokenledger.processor;

import io.tokenledger.avro.UsageEvent;
import java.time.Duration;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.WindowStore;
import org.apache.kafka.streams.state.WindowStoreIterator;

/**
 * Passes each event id once. Ids are remembered in a changelogged window store, by the time the record
 * reached Kafka, for the configured retention: a producer retry arrives seconds after the original, so
 * arrival time is what matters, not the (possibly much older) event time.
 *
 * <p>Events are keyed, and so partitioned, by org id; a retry of an event carries the same org id and so
 * reaches the same task and store.
 */
final class DedupeProcessor implements Processor<String, UsageEvent, String, UsageEvent> {

  static final String STORE = "dedupe-store";

  private final long retentionMs;
  private final PipelineMetrics metrics;
  private ProcessorContext<String, UsageEvent> context;
  private WindowStore<String, Long> seen;

  DedupeProcessor(Duration retention, PipelineMetrics metrics) {
    this.retentionMs = retention.toMillis();
    this.metrics = metrics;
  }

  @Override
  public void init(ProcessorContext<String, UsageEvent> context) {
    this.context = context;
    this.seen = context.getStateStore(STORE);
  }

  @Override
  public void process(Record<String, UsageEvent> record) {
    String id = record.value().getEventId();
    long ts = record.timestamp();
    try (WindowStoreIterator<Long> it = seen.fetch(id, ts - retentionMs, ts + retentionMs)) {
      if (it.hasNext()) {
        metrics.duplicate();
        return;
      }
    }
    seen.put(id, ts, ts);
    context.forward(record);
  }
}
