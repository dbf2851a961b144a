package io.tokenledger.schemas;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.Schema;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Avro in the Confluent wire format: byte 0, the schema's 4-byte registry id (big-endian), then Avro binary.
 * The subject is {@code <topic>-value} (topic name strategy). Writers and readers are built once per schema
 * id and reused, so the hot path does no registry call and no schema work: only Avro encoding, by an
 * {@link AvroRecordWriter} (Avro's bytes, without Avro's per-field lookups).
 *
 * <p>Readers resolve the writer's schema (found by id) against this build's schema, so records written with
 * an older compatible schema read fine.
 */
public final class ConfluentAvro {

  private static final byte MAGIC = 0;

  private ConfluentAvro() {}

  public static <T extends SpecificRecord> Serializer<T> serializer(RegistryClient registry, Class<T> type) {
    Schema schema = SpecificData.get().getSchema(type);
    AvroRecordWriter<T> writer = AvroRecordWriter.of(type);
    Map<String, Integer> idByTopic = new ConcurrentHashMap<>();
    ThreadLocal<BinaryEncoder> encoders = new ThreadLocal<>();
    return (topic, value) -> {
      if (value == null) {
        return null;
      }
      int id = idByTopic.computeIfAbsent(topic, t -> registry.register(t + "-value", schema));
      ByteArrayOutputStream out = new ByteArrayOutputStream(256);
      out.write(MAGIC);
      out.write(id >>> 24);
      out.write(id >>> 16);
      out.write(id >>> 8);
      out.write(id);
      BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, encoders.get());
      encoders.set(encoder);
      try {
        writer.write(value, encoder);
        encoder.flush();
      } catch (IOException | RuntimeException e) {
        throw new SerializationException("cannot write " + type.getSimpleName() + " to " + topic + ": " + e.getMessage(), e);
      }
      return out.toByteArray();
    };
  }

  public static <T extends SpecificRecord> Deserializer<T> deserializer(RegistryClient registry, Class<T> type) {
    Schema readerSchema = SpecificData.get().getSchema(type);
    Map<Integer, SpecificDatumReader<T>> readers = new ConcurrentHashMap<>();
    ThreadLocal<BinaryDecoder> decoders = new ThreadLocal<>();
    return (topic, bytes) -> {
      if (bytes == null) {
        return null;
      }
      if (bytes.length < 5 || bytes[0] != MAGIC) {
        throw new SerializationException("not the Confluent wire format: " + (bytes.length < 5
            ? bytes.length + " bytes" : "magic byte " + bytes[0]) + " (expected 0 and a 4-byte schema id)");
      }
      int id = ByteBuffer.wrap(bytes, 1, 4).getInt();
      SpecificDatumReader<T> reader = readers.computeIfAbsent(id,
          k -> new SpecificDatumReader<>(registry.schema(k), readerSchema));
      BinaryDecoder decoder = DecoderFactory.get().binaryDecoder(bytes, 5, bytes.length - 5, decoders.get());
      decoders.set(decoder);
      try {
        T value = reader.read(null, decoder);
        if (!decoder.isEnd()) {
          throw new SerializationException((bytes.length - 5) + " bytes of Avro with trailing data after the record");
        }
        return value;
      } catch (IOException | RuntimeException e) {
        if (e instanceof SerializationException se) {
          throw se;
        }
        throw new SerializationException("cannot read " + type.getSimpleName() + " (schema id " + id + ") from " + topic
            + ": " + e, e);
      }
    };
  }
}
