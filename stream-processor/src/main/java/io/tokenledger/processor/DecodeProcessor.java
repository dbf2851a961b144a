package io.tokenledger.processor;

import io.tokenledger.avro.DeadLetter;
import io.tokenledger.avro.UsageEvent;
import io.tokenledger.schemas.RegistryClient;
import java.nio.ByteBuffer;
import java.time.Instant;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads raw usage records: a valid {@link UsageEvent} goes on, anything else becomes a {@link DeadLetter}
 * carrying the raw bytes, where they came from and why. Deserialization happens here rather than in the
 * source so that a poison record is kept, not logged and skipped, and the application never stops on one.
 * A schema registry that cannot be reached is not the record's fault: that error propagates, and the
 * record is processed again once the registry answers.
 */
final class DecodeProcessor implements Processor<String, byte[], String, SpecificRecord> {

  private static final Logger LOG = LoggerFactory.getLogger(DecodeProcessor.class);

  private final Deserializer<UsageEvent> deserializer;
  private final EventValidator validator;
  private final PipelineMetrics metrics;
  private ProcessorContext<String, SpecificRecord> context;

  DecodeProcessor(Deserializer<UsageEvent> deserializer, EventValidator validator, PipelineMetrics metrics) {
    this.deserializer = deserializer;
    this.validator = validator;
    this.metrics = metrics;
  }

  @Override
  public void init(ProcessorContext<String, SpecificRecord> context) {
    this.context = context;
  }

  @Override
  public void process(Record<String, byte[]> record) {
    metrics.in();
    RecordMetadata meta = context.recordMetadata().orElse(null);
    String topic = meta == null ? "" : meta.topic();
    if (record.value() == null || record.value().length == 0) {
      deadLetter(record, meta, "deserialize", "empty record value", null, null);
      return;
    }
    UsageEvent event;
    try {
      event = deserializer.deserialize(topic, record.headers(), record.value());
    } catch (RegistryClient.Unavailable e) {
      // not the record's fault: fail this attempt; the thread is replaced and the record read again
      throw e;
    } catch (RuntimeException e) {
      deadLetter(record, meta, "deserialize", describe(e), e.getClass().getName(), null);
      return;
    }
    if (event == null) {
      deadLetter(record, meta, "deserialize", "record decoded to nothing", null, null);
      return;
    }
    String problem = validator.problem(event, context.currentSystemTimeMs());
    if (problem != null) {
      deadLetter(record, meta, "validate", problem, null, event.getEventId());
      return;
    }
    UsageEvent priced = validator.withMetadataLimit(event);
    if (priced != event) {
      metrics.metadataDropped();
      LOG.warn("event [{}] of org [{}]: metadata dropped ({}); the event is costed without it", event.getEventId(),
          event.getOrgId(), priced.getMetadata().get(EventValidator.METADATA_DROPPED));
    }
    context.forward(record.withValue(priced));
  }

  private void deadLetter(Record<String, byte[]> record, RecordMetadata meta, String stage, String error,
      String errorClass, String eventId) {
    metrics.deadLetter(stage);
    DeadLetter dl = DeadLetter.newBuilder()
        .setSourceTopic(meta == null ? "" : meta.topic())
        .setPartition(meta == null ? -1 : meta.partition())
        .setOffset(meta == null ? -1 : meta.offset())
        .setKey(record.key() == null ? null : ByteBuffer.wrap(record.key().getBytes(java.nio.charset.StandardCharsets.UTF_8)))
        .setValue(record.value() == null ? null : ByteBuffer.wrap(record.value()))
        .setStage(stage)
        .setError(error)
        .setErrorClass(errorClass)
        .setEventId(eventId)
        .setFailedAt(Instant.ofEpochMilli(context.currentSystemTimeMs()))
        .build();
    context.forward(record.withValue(dl));
  }

  /** The exception and its causes in one line: the root cause usually says what is wrong with the bytes. */
  private static String describe(Throwable e) {
    StringBuilder b = new StringBuilder();
    for (Throwable t = e; t != null && b.length() < 1000; t = t.getCause()) {
      if (b.length() > 0) {
        b.append(" <- ");
      }
      b.append(t.getClass().getSimpleName()).append(": ").append(t.getMessage());
      if (t.getCause() == t) {
        break;
      }
    }
    return b.toString();
  }
}
