package io.tokenledger.producer.bench;

import io.tokenledger.avro.UsageEvent;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;

/** Acknowledges every record at once and keeps nothing: isolates the tracker's own cost. */
final class NoopProducer extends MockProducer<String, UsageEvent> {

  private static final RecordMetadata ACK = new RecordMetadata(new TopicPartition("bench", 0), 0, 0, 0, 0, 0);
  private static final Future<RecordMetadata> DONE = CompletableFuture.completedFuture(ACK);

  NoopProducer() {
    super(true, null, null, null);
  }

  @Override
  public Future<RecordMetadata> send(ProducerRecord<String, UsageEvent> record, Callback callback) {
    if (callback != null) {
      callback.onCompletion(ACK, null);
    }
    return DONE;
  }
}
