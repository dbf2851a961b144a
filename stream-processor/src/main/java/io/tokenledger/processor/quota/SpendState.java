package io.tokenledger.processor.quota;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
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

  /** Version 1 layout: window start, window end, spend as a decimal string, count, thresholds. */
  public static Serde<SpendState> serde() {
    Serializer<SpendState> ser = (topic, s) -> {
      if (s == null) {
        return null;
      }
      ByteArrayOutputStream bytes = new ByteArrayOutputStream(64);
      try (DataOutputStream out = new DataOutputStream(bytes)) {
        out.writeByte(1);
        out.writeLong(s.windowStartMs);
        out.writeLong(s.windowEndMs);
        out.writeUTF(s.spend.toPlainString());
        out.writeShort(s.crossed.length);
        for (int c : s.crossed) {
          out.writeInt(c);
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      return bytes.toByteArray();
    };
    Deserializer<SpendState> de = (topic, b) -> {
      if (b == null) {
        return null;
      }
      try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(b))) {
        byte version = in.readByte();
        if (version != 1) {
          throw new IllegalStateException("unknown spend state version " + version);
        }
        long start = in.readLong();
        long end = in.readLong();
        BigDecimal spend = new BigDecimal(in.readUTF());
        int[] crossed = new int[in.readShort()];
        for (int i = 0; i < crossed.length; i++) {
          crossed[i] = in.readInt();
        }
        return new SpendState(start, end, spend, crossed);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    };
    return Serdes.serdeFrom(ser, de);
  }
}
