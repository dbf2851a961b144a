package io.tokenledger.schemas;

import java.nio.ByteBuffer;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.avro.Schema;

/**
 * Whether Avro bytes are the canonical encoding of the value they decode to: what Avro's Java writer would
 * write for it, or an encoding every reader in every language reads the same way (a map or array in several
 * blocks of positive counts). Only such bytes may be copied into an output in place of encoding the value
 * again. Refused: a varint longer than it needs to be, a boolean other than 0 or 1, a string that is not
 * strictly valid UTF-8 (Java would replace what is not), an out-of-range union or enum index, a block with a
 * negative count (its byte size lets some readers skip it and others read it, and the two can disagree), a
 * map with a key twice (Java keeps the last; the metadata limit would be measured on less than is copied),
 * and anything truncated or followed by more bytes.
 */
final class CanonicalAvro {

  /** Thrown, without a stack, on the first thing that is not canonical. */
  private static final class NotCanonical extends RuntimeException {
    private static final long serialVersionUID = 1L;

    NotCanonical() {
      super(null, null, false, false);
    }
  }

  private static final NotCanonical NOT_CANONICAL = new NotCanonical();

  private final byte[] b;
  private final int end;
  private int pos;

  private CanonicalAvro(byte[] b, int offset, int length) {
    this.b = b;
    this.pos = offset;
    this.end = offset + length;
  }

  static boolean isCanonical(Schema schema, byte[] bytes, int offset, int length) {
    CanonicalAvro c = new CanonicalAvro(bytes, offset, length);
    try {
      c.value(schema);
      return c.pos == c.end;
    } catch (NotCanonical e) {
      return false;
    }
  }

  private void value(Schema s) {
    switch (s.getType()) {
      case NULL -> { }
      case BOOLEAN -> {
        int v = next();
        check(v == 0 || v == 1);
      }
      case INT -> varint(5);
      case LONG -> varint(10);
      case FLOAT -> skip(4);
      case DOUBLE -> skip(8);
      case BYTES -> skip(length());
      case STRING -> utf8(length());
      case FIXED -> skip(s.getFixedSize());
      case ENUM -> index(s.getEnumSymbols().size());
      case UNION -> value(s.getTypes().get(index(s.getTypes().size())));
      case RECORD -> {
        List<Schema.Field> fields = s.getFields();
        for (int i = 0; i < fields.size(); i++) {
          value(fields.get(i).schema());
        }
      }
      case ARRAY -> {
        for (long n = count(); n != 0; n = count()) {
          for (long i = 0; i < n; i++) {
            value(s.getElementType());
          }
        }
      }
      case MAP -> {
        Set<ByteBuffer> keys = new HashSet<>();
        for (long n = count(); n != 0; n = count()) {
          for (long i = 0; i < n; i++) {
            int len = length();
            int start = pos;
            utf8(len);
            check(keys.add(ByteBuffer.wrap(b, start, len)));
            value(s.getValueType());
          }
        }
      }
      default -> throw NOT_CANONICAL;
    }
  }

  /** A zig-zag varint of at most {@code maxBytes} bytes, in its shortest form, that fits its type. */
  private long varint(int maxBytes) {
    long raw = 0;
    for (int i = 0; ; i++) {
      check(i < maxBytes);
      int x = next();
      raw |= (long) (x & 0x7f) << (7 * i);
      if ((x & 0x80) == 0) {
        // a last byte of 0 after others is padding; the last byte of an int or long carries only its top bits
        check(i == 0 || x != 0);
        check(i < maxBytes - 1 || x <= (maxBytes == 5 ? 0x0f : 0x01));
        return (raw >>> 1) ^ -(raw & 1);
      }
    }
  }

  private int length() {
    long n = varint(10);
    check(n >= 0 && n <= end - pos);
    return (int) n;
  }

  private long count() {
    long n = varint(10);
    check(n >= 0);
    return n;
  }

  private int index(int size) {
    long i = varint(5);
    check(i >= 0 && i < size);
    return (int) i;
  }

  private void skip(int n) {
    check(n <= end - pos);
    pos += n;
  }

  /** Strictly valid UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */
  private void utf8(int len) {
    int stop = pos + len;
    check(stop <= end);
    while (pos < stop) {
      int c = b[pos++] & 0xff;
      if (c < 0x80) {
        continue;
      }
      int more;
      int lo = 0x80;
      int hi = 0xbf;
      if (c >= 0xc2 && c <= 0xdf) {
        more = 1;
      } else if (c >= 0xe0 && c <= 0xef) {
        more = 2;
        lo = c == 0xe0 ? 0xa0 : 0x80;
        hi = c == 0xed ? 0x9f : 0xbf;
      } else if (c >= 0xf0 && c <= 0xf4) {
        more = 3;
        lo = c == 0xf0 ? 0x90 : 0x80;
        hi = c == 0xf4 ? 0x8f : 0xbf;
      } else {
        throw NOT_CANONICAL;
      }
      check(pos + more <= stop);
      int second = b[pos++] & 0xff;
      check(second >= lo && second <= hi);
      for (int k = 1; k < more; k++) {
        int cont = b[pos++] & 0xff;
        check(cont >= 0x80 && cont <= 0xbf);
      }
    }
  }

  private int next() {
    check(pos < end);
    return b[pos++] & 0xff;
  }

  private static void check(boolean ok) {
    if (!ok) {
      throw NOT_CANONICAL;
    }
  }
}
