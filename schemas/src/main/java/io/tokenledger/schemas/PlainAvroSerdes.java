package io.tokenledger.schemas;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
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
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Plain Avro binary without a registry or a schema id: for unit tests (TopologyTestDriver) and benchmarks
 * only. Writer and reader must use the same schema. Never use it on a real topic: other clients could not
 * read it.
 */
public final class PlainAvroSerdes implements SerdeFactory {

  @Override
  public <T extends SpecificRecord> Serde<T> value(Class<T> type) {
    Schema schema = SpecificData.get().getSchema(type);
    AvroRecordWriter<T> writer = AvroRecordWriter.of(type);
    SpecificDatumReader<T> reader = new SpecificDatumReader<>(schema);
    Serializer<T> serializer = (topic, value) -> {
      if (value == null) {
        return null;
      }
      ByteArrayOutputStream out = new ByteArrayOutputStream(256);
      BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
      try {
        writer.write(value, encoder);
        encoder.flush();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      } catch (RuntimeException e) {
        throw new SerializationException("cannot write " + type.getSimpleName() + " to topic " + topic, e);
      }
      return out.toByteArray();
    };
    Deserializer<T> deserializer = (topic, bytes) -> {
      if (bytes == null) {
        return null;
      }
      try {
        BinaryDecoder decoder = DecoderFactory.get().binaryDecoder(bytes, null);
        return reader.read(null, decoder);
      } catch (IOException | RuntimeException e) {
        throw new SerializationException("cannot read " + type.getSimpleName() + " from topic " + topic, e);
      }
    };
    return Serdes.serdeFrom(serializer, deserializer);
  }
}
