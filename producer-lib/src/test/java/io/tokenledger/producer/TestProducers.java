package io.tokenledger.producer;

import io.tokenledger.avro.UsageEvent;
import io.tokenledger.schemas.PlainAvroSerdes;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringSerializer;

/** Kafka's MockProducer, as the tracker would see a real client fail. */
final class TestProducers {

  private TestProducers() {}

  static Serializer<UsageEvent> avro() {
    return new PlainAvroSerdes().value(UsageEvent.class).serializer();
  }

  /** Counts send attempts (including refused ones). */
  static class Counting extends MockProducer<String, UsageEvent> {
    final AtomicInteger attempts = new AtomicInteger();

    Counting(boolean autoComplete) {
      this(autoComplete, avro());
    }

    Counting(boolean autoComplete, Serializer<UsageEvent> values) {
      super(autoComplete, null, new StringSerializer(), values);
    }

    @Override
    public Future<RecordMetadata> send(ProducerRecord<String, UsageEvent> record, Callback callback) {
      attempts.incrementAndGet();
      return super.send(record, callback);
    }
  }

  /**
   * A client whose send() blocks until released, as KafkaProducer's does when its own buffer is full: the
   * tracker's sender thread is stuck, and its buffer fills.
   */
  static final class Blocking extends Counting {
    final CountDownLatch entered = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);

    Blocking() {
      super(true);
    }

    @Override
    public Future<RecordMetadata> send(ProducerRecord<String, UsageEvent> record, Callback callback) {
      entered.countDown();
      try {
        if (!release.await(60, TimeUnit.SECONDS)) {
          throw new IllegalStateException("test never released the producer");
        }
      } catch (InterruptedException e) {
        throw new InterruptException(e);
      }
      return super.send(record, callback);
    }
  }
}
