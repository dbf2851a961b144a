package io.tokenledger.processor.quota;

import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;

/**
 * One policy's spend in one window, and the thresholds (percent) already alerted in it. Stored in a
 * changelogged store, so both survive a restart and no alert fires twice.
 */
public record SpendState(long windowStartMs, long windowEndMs, BigDecimal spend, int[] crossed) {

  public SpendState {
    crossed = crossed.clone();
    Arrays.sort(crossed);
  }

  static SpendState empty(long startMs, long endMs) {
    return new SpendState(startMs, endMs, BigDecimal.ZERO.setScale(12), new int[0]);
  }

  boolean hasCrossed(int percent) {
    return Arrays.binarySearch(crossed, percent) >= 0;
  }

  SpendState withSpend(BigDecimal s) {
    return new SpendState(windowStartMs, windowEndMs, s, crossed);
  }

  SpendState withCrossed(int[] c) {
    return new SpendState(windowStartMs, windowEndMs, spend, c);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof SpendState s && s.windowStartMs == windowStartMs && s.windowEndMs == windowEndMs
        && s.spend.compareTo(spend) == 0 && Arrays.equals(s.crossed, crossed);
  }

  @Override
  public int hashCode() {
    return Long.hashCode(windowStartMs) * 31 + Arrays.hashCode(crossed);
  }

  /**
   * Version 1 layout, big-endian: a version byte (1), window start, window end (longs), spend as a decimal
   * string with a two-byte length (the layout of {@code DataOutput.writeUTF}; the digits are ASCII), the
   * number of thresholds (short) and each one (int).
   */
  public static Serde<SpendState> serde() {
    Serializer<SpendState> ser = (topic, s) -> {
      if (s == null) {
        return null;
      }
      String spend = s.spend.toPlainString();
      ByteBuffer b = ByteBuffer.allocate(1 + 8 + 8 + 2 + spend.length() + 2 + 4 * s.crossed.length);
      b.put((byte) 1).putLong(s.windowStartMs).putLong(s.windowEndMs).putShort((short) spend.length());
      for (int i = 0; i < spend.length(); i++) {
        b.put((byte) spend.charAt(i));
      }
      b.putShort((short) s.crossed.length);
      for (int c : s.crossed) {
        b.putInt(c);
      }
      return b.array();
    };
    Deserializer<SpendState> de = (topic, bytes) -> {
      if (bytes == null) {
        return null;
      }
      ByteBuffer b = ByteBuffer.wrap(bytes);
      byte version = b.get();
      if (version != 1) {
        throw new IllegalStateException("unknown spend state version " + version);
      }
      long start = b.getLong();
      long end = b.getLong();
      int length = b.getShort() & 0xFFFF;
      BigDecimal spend = new BigDecimal(new String(bytes, b.position(), length, StandardCharsets.US_ASCII));
      b.position(b.position() + length);
      int[] crossed = new int[b.getShort()];
      for (int i = 0; i < crossed.length; i++) {
        crossed[i] = b.getInt();
      }
      return new SpendState(start, end, spend, crossed);
    };
    return Serdes.serdeFrom(ser, de);
  }
}
