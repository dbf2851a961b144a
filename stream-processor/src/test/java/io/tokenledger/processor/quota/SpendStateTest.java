package io.tokenledger.processor.quota;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.math.BigDecimal;
import org.junit.jupiter.api.Test;

class SpendStateTest {

  /** The stored layout is version 1 as first written with DataOutputStream: old changelogs must still read. */
  @Test
  void shouldWriteAndReadTheVersionOneLayoutByteForByte() throws Exception {
    SpendState s = new SpendState(1_000L, 2_000L, new BigDecimal("1234.000000000001"), new int[] {80, 50});
    ByteArrayOutputStream expected = new ByteArrayOutputStream();
    try (DataOutputStream out = new DataOutputStream(expected)) {
      out.writeByte(1);
      out.writeLong(1_000L);
      out.writeLong(2_000L);
      out.writeUTF("1234.000000000001");
      out.writeShort(2);
      out.writeInt(50);
      out.writeInt(80);
    }
    byte[] written = SpendState.serde().serializer().serialize("t", s);
    assertThat(written).isEqualTo(expected.toByteArray());
    SpendState read = SpendState.serde().deserializer().deserialize("t", expected.toByteArray());
    assertThat(read).isEqualTo(s);
    assertThat(read.spend()).isEqualTo(new BigDecimal("1234.000000000001"));
    assertThat(read.crossed()).containsExactly(50, 80);
  }
}
