package io.tokenledger.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tokenledger.avro.CostedUsage;
import io.tokenledger.avro.UsageEvent;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.apache.avro.AvroRuntimeException;
import org.apache.avro.LogicalTypes;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

class AvroRecordWriterTest {

  /** Every record type in the schemas: a new schema is covered without touching this test. */
  static Stream<Class<? extends SpecificRecord>> generatedClasses() throws IOException {
    try (Stream<Path> files = Files.list(Path.of("src/main/avro"))) {
      List<Class<? extends SpecificRecord>> classes = files.map(p -> p.getFileName().toString())
          .filter(n -> n.endsWith(".avsc"))
          .sorted()
          .<Class<? extends SpecificRecord>>map(n -> {
            try {
              return Class.forName("io.tokenledger.avro." + n.substring(0, n.length() - 5))
                  .asSubclass(SpecificRecord.class);
            } catch (ClassNotFoundException e) {
              throw new AssertionError("no generated class for " + n, e);
            }
          })
          .filter(c -> SpecificData.get().getSchema(c).getType() == Schema.Type.RECORD)
          .toList();
      return classes.stream();
    }
  }

  @ParameterizedTest
  @MethodSource("generatedClasses")
  <T extends SpecificRecord> void writesExactlyWhatAvrosOwnWriterWrites(Class<T> type) throws IOException {
    Schema schema = SpecificData.get().getSchema(type);
    AvroRecordWriter<T> ours = AvroRecordWriter.of(type);
    SpecificDatumWriter<T> avros = new SpecificDatumWriter<>(schema);
    Random random = new Random(type.getName().hashCode());
    for (int i = 0; i < 2_000; i++) {
      @SuppressWarnings("unchecked")
      T record = (T) new RandomValues(random, SpecificData.getForClass(type)).of(schema, true);
      byte[] expected = bytes(out -> avros.write(record, out));
      assertThat(bytes(out -> ours.write(record, out))).as("record %d of %s: %s", i, type.getSimpleName(), record)
          .isEqualTo(expected);
    }
  }

  @Test
  void namesTheFieldOfAMissingValue() {
    UsageEvent e = UsageEvent.newBuilder().setEventId("e").setEventTime(Instant.EPOCH).setOrgId("o").setProvider("p")
        .setModel("m").build();
    e.setOrgId(null);
    assertThatThrownBy(() -> bytes(out -> AvroRecordWriter.of(UsageEvent.class).write(e, out)))
        .isInstanceOf(AvroRuntimeException.class)
        .hasMessageContaining("UsageEvent.org_id");
    CostedUsage c = CostedUsage.newBuilder().setEvent(e).setInputCost(BigDecimal.ONE).setCachedInputCost(BigDecimal.ONE)
        .setCacheWriteCost(BigDecimal.ONE).setOutputCost(BigDecimal.ONE).setReasoningCost(BigDecimal.ONE)
        .setRequestFee(BigDecimal.ONE).setTotalCost(BigDecimal.ONE).setPricingKey("k").setPriceVersionId("v")
        .setPriceEffectiveFrom(Instant.EPOCH).setPricedAt(Instant.EPOCH).build();
    assertThatThrownBy(() -> bytes(out -> AvroRecordWriter.of(CostedUsage.class).write(c, out)))
        .hasMessageContaining("UsageEvent.org_id");
  }

  @Test
  void refusesADecimalWithMoreDigitsThanItsScaleLikeAvro() {
    CostedUsage c = CostedUsage.newBuilder()
        .setEvent(UsageEvent.newBuilder().setEventId("e").setEventTime(Instant.EPOCH).setOrgId("o").setProvider("p")
            .setModel("m").build())
        .setInputCost(new BigDecimal("0.0000000000001")).setCachedInputCost(BigDecimal.ONE)
        .setCacheWriteCost(BigDecimal.ONE).setOutputCost(BigDecimal.ONE).setReasoningCost(BigDecimal.ONE)
        .setRequestFee(BigDecimal.ONE).setTotalCost(BigDecimal.ONE).setPricingKey("k").setPriceVersionId("v")
        .setPriceEffectiveFrom(Instant.EPOCH).setPricedAt(Instant.EPOCH).build();
    assertThatThrownBy(() -> bytes(out -> new SpecificDatumWriter<>(CostedUsage.getClassSchema()).write(c, out)))
        .isInstanceOf(AvroRuntimeException.class);
    assertThatThrownBy(() -> bytes(out -> AvroRecordWriter.of(CostedUsage.class).write(c, out)))
        .isInstanceOf(AvroRuntimeException.class);
  }

  private interface Write {
    void to(BinaryEncoder out) throws IOException;
  }

  private static byte[] bytes(Write write) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    BinaryEncoder out = EncoderFactory.get().binaryEncoder(bytes, null);
    write.to(out);
    out.flush();
    return bytes.toByteArray();
  }

  /** Random values of a schema, as the generated classes hold them (logical types converted). */
  private record RandomValues(Random r, SpecificData model) {

    Object of(Schema s, boolean convert) {
      if (convert && s.getLogicalType() instanceof LogicalTypes.Decimal d) {
        BigInteger unscaled = new BigInteger(r.nextInt(120), r); // under 10^37: within the precision of 38
        return new BigDecimal(r.nextBoolean() ? unscaled : unscaled.negate(), d.getScale());
      }
      if (convert && s.getLogicalType() instanceof LogicalTypes.TimestampMillis) {
        return Instant.ofEpochMilli(r.nextLong() >> r.nextInt(64) >> 16);
      }
      switch (s.getType()) {
        case RECORD: {
          SpecificRecord rec = (SpecificRecord) model.newRecord(null, s);
          for (Schema.Field f : s.getFields()) {
            rec.put(f.pos(), of(f.schema(), true));
          }
          return rec;
        }
        case UNION: {
          List<Schema> types = s.getTypes();
          return of(types.get(r.nextInt(types.size())), true);
        }
        case ARRAY: {
          List<Object> items = new ArrayList<>();
          for (int i = r.nextInt(4); i > 0; i--) {
            items.add(of(s.getElementType(), true));
          }
          return items;
        }
        case MAP: {
          Map<String, Object> m = new HashMap<>();
          for (int i = r.nextInt(4); i > 0; i--) {
            m.put(string(), of(s.getValueType(), true));
          }
          return m;
        }
        case ENUM:
          return model.createEnum(s.getEnumSymbols().get(r.nextInt(s.getEnumSymbols().size())), s);
        case FIXED:
          byte[] fixed = new byte[s.getFixedSize()];
          r.nextBytes(fixed);
          return new GenericData.Fixed(s, fixed);
        case STRING:
          return string();
        case BYTES:
          byte[] b = new byte[r.nextInt(20)];
          r.nextBytes(b);
          return ByteBuffer.wrap(b);
        case INT:
          return r.nextInt() >> r.nextInt(32);
        case LONG:
          return r.nextLong() >> r.nextInt(64);
        case FLOAT:
          return r.nextFloat();
        case DOUBLE:
          return r.nextDouble();
        case BOOLEAN:
          return r.nextBoolean();
        case NULL:
          return null;
        default:
          throw new AssertionError(s.getType());
      }
    }

    /** ASCII, accented letters, CJK and emoji (surrogate pairs), sometimes empty. */
    String string() {
      StringBuilder b = new StringBuilder();
      for (int i = r.nextInt(12); i > 0; i--) {
        switch (r.nextInt(4)) {
          case 0 -> b.append((char) ('a' + r.nextInt(26)));
          case 1 -> b.append('é');
          case 2 -> b.append('漢');
          default -> b.appendCodePoint(0x1F600 + r.nextInt(40));
        }
      }
      return b.toString();
    }
  }
}
