package io.tokenledger.sink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class RowBinaryTest {

  private static final RowBinary.Table T = new RowBinary.Table("t", "s", "n", "d", "m");

  private static String hex(RowBinary w) {
    return HexFormat.of().formatHex(w.end());
  }

  @Test
  void shouldWriteEachTypeLittleEndianWithLengthPrefixedStrings() {
    RowBinary w = new RowBinary(T).string("s", "ab").uint64("n", 258).dateTime("d", Instant.ofEpochSecond(1))
        .money("m", new BigDecimal("0.000000000001"));
    assertThat(hex(w)).isEqualTo("026162" + "0201000000000000" + "01000000" + "01000000000000000000000000000000");
  }

  @Test
  void shouldWriteMoneyExactlyIncludingNegativeAndWide() {
    // -1e-12 is unscaled -1: sixteen 0xff bytes
    assertThat(hex(new RowBinary(new RowBinary.Table("t", "m")).money("m", new BigDecimal("-0.000000000001"))))
        .isEqualTo("ff".repeat(16));
    // 10^7 dollars at scale 12 is 10^19, past a long: written from its 128-bit two's complement
    assertThat(hex(new RowBinary(new RowBinary.Table("t", "m")).money("m", new BigDecimal("10000000"))))
        .isEqualTo("0000e8890423c78a" + "0000000000000000");
    assertThatThrownBy(() -> new RowBinary(new RowBinary.Table("t", "m")).money("m", new BigDecimal("0.0000000000001")))
        .isInstanceOf(ArithmeticException.class);
  }

  @Test
  void shouldCountUtf8BytesNotCharacters() {
    assertThat(hex(new RowBinary(new RowBinary.Table("t", "s")).string("s", "é"))).isEqualTo("02c3a9");
  }

  @Test
  void shouldRefuseValuesOutOfColumnOrderOrOutOfRange() {
    assertThatThrownBy(() -> new RowBinary(T).uint64("n", 1)).isInstanceOf(AssertionError.class).hasMessageContaining("not n");
    assertThatThrownBy(() -> new RowBinary(T).string("s", "").uint64("n", -1)).hasMessageContaining("negative");
    assertThatThrownBy(() -> new RowBinary(T).string("s", "").uint64("n", 1).dateTime("d", Instant.ofEpochSecond(-1)))
        .hasMessageContaining("DateTime");
  }
}
