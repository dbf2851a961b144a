package io.tokenledger.sink;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;

/**
 * Writes rows in ClickHouse's RowBinary format, the cheapest input format for the server to parse and for
 * us to write (no text, no escaping): each value in the column's own binary form, little-endian, strings
 * prefixed by their length. Money is written as the exact 128-bit
 * unscaled integer of a Decimal(38, 12): no floating point and no text on the way.
 *
 * <p>The writer is given the table's column list and each value is written under its column's name; with
 * assertions on (as in the tests) a value written out of order fails at once, so the column list sent with
 * the INSERT and the bytes cannot drift apart.
 */
final class RowBinary {

  /** A table's columns in the order rows are written; the INSERT names them, so new columns may have defaults. */
  record Table(String name, List<String> columns) {
    Table(String name, String... columns) {
      this(name, List.of(columns));
    }
  }

  static final int MONEY_SCALE = 12;
  private static final BigInteger MAX_MONEY = BigInteger.TEN.pow(38);

  private final Table table;
  private byte[] buf = new byte[384];
  private int len;
  private int column;

  RowBinary(Table table) {
    this.table = table;
  }

  Table table() {
    return table;
  }

  RowBinary string(String name, String value) {
    assert named(name);
    String s = value == null ? "" : value;
    int n = s.length();
    boolean ascii = true;
    for (int i = 0; i < n && ascii; i++) {
      ascii = s.charAt(i) < 0x80;
    }
    if (ascii) {
      varint(n);
      ensure(n);
      for (int i = 0; i < n; i++) {
        buf[len++] = (byte) s.charAt(i);
      }
    } else {
      byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
      varint(utf8.length);
      ensure(utf8.length);
      System.arraycopy(utf8, 0, buf, len, utf8.length);
      len += utf8.length;
    }
    return this;
  }

  RowBinary uint8(String name, int value) {
    assert named(name);
    ensure(1);
    buf[len++] = (byte) value;
    return this;
  }

  RowBinary uint16(String name, int value) {
    assert named(name);
    return fixed(value, 2);
  }

  RowBinary uint32(String name, long value) {
    assert named(name);
    return fixed(value, 4);
  }

  /** A count that can never be negative here: a negative value is a bug upstream, not a number to store. */
  RowBinary uint64(String name, long value) {
    assert named(name);
    if (value < 0) {
      throw new IllegalArgumentException(name + " is negative: " + value);
    }
    return fixed(value, 8);
  }

  /** DateTime: seconds since the epoch as UInt32 (1970 to 2106). */
  RowBinary dateTime(String name, Instant t) {
    assert named(name);
    long s = t.getEpochSecond();
    if (s < 0 || s > 0xFFFF_FFFFL) {
      throw new IllegalArgumentException(name + " is outside what a ClickHouse DateTime holds: " + t);
    }
    return fixed(s, 4);
  }

  /** Decimal(38, 12): the unscaled value as a little-endian two's-complement Int128; never rounded. */
  RowBinary money(String name, BigDecimal value) {
    assert named(name);
    BigInteger unscaled = value == null ? BigInteger.ZERO : value.setScale(MONEY_SCALE).unscaledValue();
    if (unscaled.bitLength() < 64) {
      long v = unscaled.longValue();
      fixed(v, 8);
      return fixed(v < 0 ? -1L : 0L, 8);
    }
    if (unscaled.abs().compareTo(MAX_MONEY) >= 0) {
      throw new IllegalArgumentException(name + " does not fit Decimal(38, 12): " + value);
    }
    byte[] bigEndian = unscaled.toByteArray(); // at most 16 bytes below 10^38
    ensure(16);
    byte sign = (byte) (unscaled.signum() < 0 ? -1 : 0);
    for (int i = 0; i < 16; i++) {
      int from = bigEndian.length - 1 - i;
      buf[len++] = from >= 0 ? bigEndian[from] : sign;
    }
    return this;
  }

  /** The row's bytes; every column must have been written. */
  byte[] end() {
    assert column == table.columns().size()
        : table.name() + ": wrote " + column + " of " + table.columns().size() + " columns";
    return Arrays.copyOf(buf, len);
  }

  private boolean named(String name) {
    List<String> columns = table.columns();
    if (column >= columns.size() || !columns.get(column).equals(name)) {
      throw new AssertionError(table.name() + ": column " + column + " is "
          + (column < columns.size() ? columns.get(column) : "past the end") + ", not " + name);
    }
    column++;
    return true;
  }

  private RowBinary fixed(long v, int bytes) {
    ensure(bytes);
    for (int i = 0; i < bytes; i++) {
      buf[len++] = (byte) (v >>> (8 * i));
    }
    return this;
  }

  private void varint(int v) {
    ensure(5);
    while ((v & ~0x7F) != 0) {
      buf[len++] = (byte) ((v & 0x7F) | 0x80);
      v >>>= 7;
    }
    buf[len++] = (byte) v;
  }

  private void ensure(int more) {
    if (len + more > buf.length) {
      buf = Arrays.copyOf(buf, Math.max(buf.length * 2, len + more));
    }
  }
}
