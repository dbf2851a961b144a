package io.tokenledger.schemas;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.Encoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Avro in the Confluent wire format: byte 0, the schema's 4-byte registry id (big-endian), then Avro binary.
 * The subject is {@code <topic>-value} (topic name strategy). Writers and readers are built once per schema
 * id and reused, so the hot path does no registry call and no schema work: only Avro encoding.
 *
 * <p>Readers resolve the writer's schema (found by id) against this build's schema, so records written with
 * an older compatible schema read fine.
 *
 * <p>{@link #serializerCopyingReadRecords} writes a record that holds one this thread has just read (the
 * processor reads a {@code UsageEvent} and writes a {@code CostedUsage} holding it, in one call stack) by
 * copying the bytes it was read from instead of encoding it again: Avro writes a record as its fields one
 * after another. It copies only when the object is the very one read (identity), its writer's schema has
 * this build's parsing canonical form, and the bytes are canonical ({@link CanonicalAvro}: what encoding
 * would give, or read alike by every reader); anything else is encoded as usual, and a read is copied at
 * most once. Only for code that never changes a record it has read in place: the generated classes have
 * setters, and a changed record would be written as it was read.
 */
public final class ConfluentAvro {

  private static final byte MAGIC = 0;

  /** What this thread read last, when its bytes may stand for it (see the class comment); else empty. */
  private static final class LastRead {
    Object value;
    Schema schema;
    byte[] bytes;
    int offset;
    int length;
  }

  private static final ThreadLocal<LastRead> LAST_READ = ThreadLocal.withInitial(LastRead::new);

  /** A reader for one writer schema id, and whether that schema encodes as the reader's own does. */
  private record Reader<T>(SpecificDatumReader<T> reader, boolean sameSchema) {}

  private ConfluentAvro() {}

  public static <T extends SpecificRecord> Serializer<T> serializer(RegistryClient registry, Class<T> type) {
    Schema schema = SpecificData.get().getSchema(type);
    return serializer(registry, schema, new SpecificDatumWriter<>(schema), type);
  }

  /**
   * A serializer that writes a record this thread has just read, held in the written one, as the bytes it
   * was read from where that is safe (see the class comment). For code that never changes a record it has
   * read in place.
   */
  public static <T extends SpecificRecord> Serializer<T> serializerCopyingReadRecords(RegistryClient registry,
      Class<T> type) {
    Schema schema = SpecificData.get().getSchema(type);
    return serializer(registry, schema, new CopyingWriter<>(schema), type);
  }

  private static <T extends SpecificRecord> Serializer<T> serializer(RegistryClient registry, Schema schema,
      SpecificDatumWriter<T> writer, Class<T> type) {
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
    Map<Integer, Reader<T>> readers = new ConcurrentHashMap<>();
    ThreadLocal<BinaryDecoder> decoders = new ThreadLocal<>();
    return (topic, bytes) -> {
      LastRead last = LAST_READ.get();
      last.value = null;
      last.bytes = null;
      if (bytes == null) {
        return null;
      }
      if (bytes.length < 5 || bytes[0] != MAGIC) {
        throw new SerializationException("not the Confluent wire format: " + (bytes.length < 5
            ? bytes.length + " bytes" : "magic byte " + bytes[0]) + " (expected 0 and a 4-byte schema id)");
      }
      int id = ByteBuffer.wrap(bytes, 1, 4).getInt();
      Reader<T> reader = readers.computeIfAbsent(id, k -> {
        Schema writerSchema = registry.schema(k);
        return new Reader<>(new SpecificDatumReader<>(writerSchema, readerSchema),
            SchemaNormalization.toParsingForm(writerSchema).equals(SchemaNormalization.toParsingForm(readerSchema)));
      });
      BinaryDecoder decoder = DecoderFactory.get().binaryDecoder(bytes, 5, bytes.length - 5, decoders.get());
      decoders.set(decoder);
      try {
        T value = reader.reader().read(null, decoder);
        if (!decoder.isEnd()) {
          throw new SerializationException((bytes.length - 5) + " bytes of Avro with trailing data after the record");
        }
        if (reader.sameSchema()) {
          last.value = value;
          last.schema = readerSchema;
          last.bytes = bytes;
          last.offset = 5;
          last.length = bytes.length - 5;
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

  /**
   * Writes a record this thread has just read, found among the records of the written type's schema, as the
   * bytes it was read from (see the class comment).
   */
  static final class CopyingWriter<T> extends SpecificDatumWriter<T> {

    /** Each record schema inside the written one that equals the generated class's own: that one. */
    private final Map<Schema, Schema> classSchemaOf = new IdentityHashMap<>();

    CopyingWriter(Schema schema) {
      super(schema);
      collect(schema);
    }

    private void collect(Schema s) {
      switch (s.getType()) {
        case RECORD -> {
          if (classSchemaOf.containsKey(s)) {
            return;
          }
          Class<?> generated = SpecificData.get().getClass(s);
          Schema own = generated == null ? null : SpecificData.get().getSchema(generated);
          classSchemaOf.put(s, own != null && own.equals(s) ? own : null);
          s.getFields().forEach(f -> collect(f.schema()));
        }
        case UNION -> s.getTypes().forEach(this::collect);
        case ARRAY -> collect(s.getElementType());
        case MAP -> collect(s.getValueType());
        default -> { }
      }
    }

    @Override
    protected void writeRecord(Schema schema, Object datum, Encoder out) throws IOException {
      LastRead last = LAST_READ.get();
      if (datum == last.value && last.schema != null && classSchemaOf.get(schema) == last.schema) {
        last.value = null; // copied at most once
        if (CanonicalAvro.isCanonical(last.schema, last.bytes, last.offset, last.length)) {
          out.writeFixed(last.bytes, last.offset, last.length);
          return;
        }
      }
      super.writeRecord(schema, datum, out);
    }
  }
}
