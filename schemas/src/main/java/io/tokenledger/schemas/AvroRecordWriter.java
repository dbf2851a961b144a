package io.tokenledger.schemas;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Collection;
import java.util.ConcurrentModificationException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.AvroRuntimeException;
import org.apache.avro.Conversion;
import org.apache.avro.Conversions;
import org.apache.avro.LogicalType;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericFixed;
import org.apache.avro.generic.IndexedRecord;
import org.apache.avro.io.Encoder;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;
import org.apache.avro.specific.SpecificRecordBase;
import org.apache.avro.util.Utf8;

/**
 * Writes records of one generated Avro class as Avro binary, byte for byte what Avro's own
 * {@code SpecificDatumWriter} writes, with every decision that depends only on the schema taken once, here,
 * rather than on every record.
 *
 * <p>Why it exists: the generated classes carry logical types (decimal costs, timestamp-millis times), and
 * for such classes Avro's compiler generates no fast encoder, so every record went through the generic
 * writer, which looks up each field's conversion and resolves each nullable union by the value's type name,
 * field by field. That was half the cost of emitting an event and the largest single cost of costing one.
 * Here each field gets its writer once: a nullable field is a null check, a decimal field calls the
 * class's own conversion directly.
 *
 * <p>The same rules as Avro's writer: a field with a logical type is converted with the conversion the
 * generated class declares for it; a logical type inside a union, array or map with the conversion the
 * class's model has for the value's class; any other union is resolved by Avro itself. Strings must be
 * {@link CharSequence}s (the generated classes use {@code String}). {@code AvroRecordWriterTest} checks the
 * bytes against Avro's writer over random records of every type in the schemas.
 */
public final class AvroRecordWriter<T extends SpecificRecord> {

  /** Writes one value of a schema. */
  @FunctionalInterface
  private interface ValueWriter {
    void write(Object value, Encoder out) throws IOException;
  }

  private final ValueWriter root;

  private AvroRecordWriter(ValueWriter root) {
    this.root = root;
  }

  /** The writer for {@code type}, a class generated from an Avro schema. */
  public static <T extends SpecificRecord> AvroRecordWriter<T> of(Class<T> type) {
    SpecificData model = SpecificData.getForClass(type);
    Schema schema = model.getSchema(type);
    return new AvroRecordWriter<>(new Compiler(model).compile(schema));
  }

  public void write(T record, Encoder out) throws IOException {
    root.write(record, out);
  }

  /** Turns a schema into writers; records are compiled once each, so recursive schemas work. */
  private static final class Compiler {
    private final SpecificData model;
    private final Map<String, ValueWriter[]> records = new HashMap<>();

    Compiler(SpecificData model) {
      this.model = model;
    }

    /** A writer for values in a union, array or map: a logical type is converted by the value's class. */
    ValueWriter compile(Schema schema) {
      ValueWriter raw = compileRaw(schema);
      LogicalType logical = schema.getLogicalType();
      if (logical == null) {
        return raw;
      }
      return (value, out) -> {
        Conversion<?> conversion = value == null ? null : model.getConversionByClass(value.getClass(), logical);
        raw.write(conversion == null ? value : toRaw(value, schema, logical, conversion), out);
      };
    }

    private ValueWriter compileRaw(Schema schema) {
      switch (schema.getType()) {
        case RECORD:
          return record(schema);
        case UNION:
          return union(schema);
        case ARRAY: {
          ValueWriter item = compile(schema.getElementType());
          return (value, out) -> {
            Collection<?> items = (Collection<?>) value;
            long size = items.size();
            long written = 0;
            out.writeArrayStart();
            out.setItemCount(size);
            for (Object o : items) {
              out.startItem();
              item.write(o, out);
              written++;
            }
            out.writeArrayEnd();
            if (written != size) {
              throw new ConcurrentModificationException("array size " + size + " but " + written + " items written");
            }
          };
        }
        case MAP: {
          ValueWriter mapValue = compile(schema.getValueType());
          return (value, out) -> {
            Map<?, ?> map = (Map<?, ?>) value;
            int size = map.size();
            int written = 0;
            out.writeMapStart();
            out.setItemCount(size);
            for (Map.Entry<?, ?> e : map.entrySet()) {
              out.startItem();
              out.writeString(e.getKey().toString());
              mapValue.write(e.getValue(), out);
              written++;
            }
            out.writeMapEnd();
            if (written != size) {
              throw new ConcurrentModificationException("map size " + size + " but " + written + " entries written");
            }
          };
        }
        case ENUM:
          return (value, out) -> out.writeEnum(value instanceof Enum<?> e ? e.ordinal()
              : schema.getEnumOrdinal(value.toString()));
        case FIXED:
          return (value, out) -> out.writeFixed(((GenericFixed) value).bytes(), 0, schema.getFixedSize());
        case STRING:
          return (value, out) -> {
            if (value instanceof String s) {
              out.writeString(s);
            } else if (value instanceof Utf8 u) {
              out.writeString(u);
            } else {
              out.writeString((CharSequence) value);
            }
          };
        case BYTES:
          return (value, out) -> out.writeBytes((ByteBuffer) value);
        case INT:
          return (value, out) -> out.writeInt(((Number) value).intValue());
        case LONG:
          return (value, out) -> out.writeLong(((Number) value).longValue());
        case FLOAT:
          return (value, out) -> out.writeFloat(((Number) value).floatValue());
        case DOUBLE:
          return (value, out) -> out.writeDouble(((Number) value).doubleValue());
        case BOOLEAN:
          return (value, out) -> out.writeBoolean((Boolean) value);
        case NULL:
          return (value, out) -> out.writeNull();
        default:
          throw new AvroRuntimeException("unknown Avro type " + schema.getType());
      }
    }

    /** [null, X] and [X, null] are a null check; any other union is resolved by Avro, as its writer does. */
    private ValueWriter union(Schema schema) {
      List<Schema> branches = schema.getTypes();
      ValueWriter[] writers = new ValueWriter[branches.size()];
      for (int i = 0; i < writers.length; i++) {
        writers[i] = compile(branches.get(i));
      }
      Integer nullIndex = schema.getIndexNamed(Schema.Type.NULL.getName());
      if (writers.length == 2 && nullIndex != null) {
        int nullAt = nullIndex;
        int valueAt = 1 - nullAt;
        ValueWriter valueWriter = writers[valueAt];
        return (value, out) -> {
          if (value == null) {
            out.writeIndex(nullAt);
            out.writeNull();
          } else {
            out.writeIndex(valueAt);
            valueWriter.write(value, out);
          }
        };
      }
      return (value, out) -> {
        int i = model.resolveUnion(schema, value);
        out.writeIndex(i);
        writers[i].write(value, out);
      };
    }

    /**
     * A record's fields in order, each converted, if its schema has a logical type, by the conversion the
     * generated class declares for that field (Avro's specific writer does the same).
     */
    private ValueWriter record(Schema schema) {
      ValueWriter[] self = records.get(schema.getFullName());
      if (self != null) {
        return (value, out) -> self[0].write(value, out);
      }
      ValueWriter[] holder = new ValueWriter[1];
      records.put(schema.getFullName(), holder);
      Object instance = model.newRecord(null, schema);
      if (!(instance instanceof SpecificRecordBase declared)) {
        throw new AvroRuntimeException("no generated class for record " + schema.getFullName());
      }
      List<Schema.Field> fields = schema.getFields();
      ValueWriter[] writers = new ValueWriter[fields.size()];
      String[] names = new String[fields.size()];
      for (Schema.Field f : fields) {
        Schema fieldSchema = f.schema();
        LogicalType logical = fieldSchema.getLogicalType();
        Conversion<?> conversion = declared.getConversion(f.pos());
        ValueWriter raw = compileRaw(fieldSchema);
        writers[f.pos()] = logical == null || conversion == null ? raw
            : (value, out) -> raw.write(toRaw(value, fieldSchema, logical, conversion), out);
        names[f.pos()] = schema.getName() + "." + f.name();
      }
      holder[0] = (value, out) -> {
        IndexedRecord r = (IndexedRecord) value;
        for (int i = 0; i < writers.length; i++) {
          try {
            writers[i].write(r.get(i), out);
          } catch (NullPointerException | ClassCastException e) {
            throw new AvroRuntimeException(names[i] + ": " + (e instanceof NullPointerException
                ? "null where the schema allows none" : "value of the wrong type (" + e.getMessage() + ")"), e);
          }
        }
      };
      return holder[0];
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static Object toRaw(Object value, Schema schema, LogicalType logical, Conversion<?> conversion) {
      return Conversions.convertToRawType(value, schema, logical, (Conversion) conversion);
    }
  }
}
