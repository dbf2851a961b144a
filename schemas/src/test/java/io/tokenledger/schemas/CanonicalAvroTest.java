package io.tokenledger.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import io.tokenledger.avro.UsageEvent;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.apache.avro.Schema;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;
import org.junit.jupiter.api.Test;

class CanonicalAvroTest {

  private static final Schema SCHEMA = UsageEvent.getClassSchema();

  @Test
  void shouldAcceptWhatAvroItselfWritesForAnyEvent() throws IOException {
    Random r = new Random(7);
    String[] texts = {"", "org-acme", "ünïcödé", "日本語", "emoji \uD83D\uDE00", "x".repeat(300)};
    for (int i = 0; i < 2_000; i++) {
      Map<String, String> metadata = new HashMap<>();
      for (int k = r.nextInt(4); k > 0; k--) {
        metadata.put(texts[r.nextInt(texts.length)] + k, texts[r.nextInt(texts.length)]);
      }
      UsageEvent e = UsageEvent.newBuilder()
          .setEventId("e-" + r.nextLong()).setEventTime(Instant.ofEpochMilli(r.nextLong() >>> 20))
          .setOrgId(texts[r.nextInt(texts.length)]).setUserId(r.nextBoolean() ? null : texts[r.nextInt(texts.length)])
          .setProvider("openai").setModel("gpt-4o").setInputTokens(r.nextInt(2) == 0 ? r.nextLong() : r.nextInt(64))
          .setCachedInputTokens(-r.nextInt(1000)).setOutputTokens(Long.MAX_VALUE).setReasoningTokens(Long.MIN_VALUE)
          .setLatencyMs(r.nextBoolean() ? null : (long) r.nextInt()).setMetadata(metadata).setBatch(r.nextBoolean())
          .build();
      byte[] b = encode(e);
      assertThat(CanonicalAvro.isCanonical(SCHEMA, b, 0, b.length)).as(e.toString()).isTrue();
    }
  }

  @Test
  void shouldAcceptAMapInSeveralBlocksOfPositiveCountsWhichEveryReaderReadsAlike() throws IOException {
    byte[] b = withMetadata(bytes(1, "a", "1", 1, "b", "2", 0));
    assertThat(CanonicalAvro.isCanonical(SCHEMA, b, 0, b.length)).isTrue();
    assertThat(decode(b).getMetadata()).containsOnly(Map.entry("a", "1"), Map.entry("b", "2"));
  }

  @Test
  void shouldRefuseAKeyTwiceANegativeBlockCountAndAnythingPadded() throws IOException {
    // Java keeps the last value of a repeated key: what it measured is not what would be copied
    assertNotCanonical(withMetadata(bytes(2, "a", "1", "a", "2", 0)));
    // a negative count carries the block's byte size, which lets a reader skip it without reading it
    ByteArrayOutputStream block = new ByteArrayOutputStream();
    block.writeBytes(bytes("a", "1"));
    byte[] entries = block.toByteArray();
    ByteArrayOutputStream map = new ByteArrayOutputStream();
    map.writeBytes(bytes(-1, entries.length));
    map.writeBytes(entries);
    map.write(0);
    assertNotCanonical(withMetadata(map.toByteArray()));
    // 0 written in two bytes
    assertNotCanonical(withMetadata(new byte[] {(byte) 0x80, 0x00}));
  }

  @Test
  void shouldRefuseBytesThatJavaWouldReadButWriteDifferently() throws IOException {
    byte[] valid = encode(UsageEvent.newBuilder(PlainAvroSerdesTest.event()).setMetadata(Map.of()).build());
    assertThat(CanonicalAvro.isCanonical(SCHEMA, valid, 0, valid.length)).isTrue();
    // a boolean of 2 (Java reads false; other readers refuse it or read true)
    byte[] flag = valid.clone();
    flag[flag.length - 1] = 2;
    assertNotCanonical(flag);
    // strings that are not strictly UTF-8: a stray byte, an overlong form, a surrogate
    for (byte[] bad : new byte[][] {{(byte) 0xff}, {(byte) 0xc0, (byte) 0x80}, {(byte) 0xed, (byte) 0xa0, (byte) 0x80}}) {
      assertNotCanonical(withMetadata(concat(bytes(1), lengthPrefixed(bad), bytes("v", 0))));
    }
    // a four-byte character is fine
    byte[] emoji = withMetadata(concat(bytes(1), lengthPrefixed("\uD83D\uDE00".getBytes(StandardCharsets.UTF_8)),
        bytes("v", 0)));
    assertThat(CanonicalAvro.isCanonical(SCHEMA, emoji, 0, emoji.length)).isTrue();
    // cut short, or followed by more
    assertNotCanonical(java.util.Arrays.copyOf(valid, valid.length - 1));
    assertNotCanonical(java.util.Arrays.copyOf(valid, valid.length + 1));
  }

  @Test
  void shouldRefuseAnUnionIndexOutOfRangeAndAnIntThatDoesNotFit() {
    Schema union = new Schema.Parser().parse("[\"null\", \"int\"]");
    assertThat(CanonicalAvro.isCanonical(union, new byte[] {2, 2}, 0, 2)).isTrue();
    assertThat(CanonicalAvro.isCanonical(union, new byte[] {4}, 0, 1)).isFalse();
    Schema intSchema = new Schema.Parser().parse("\"int\"");
    byte[] max = {(byte) 0xfe, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x0f}; // Integer.MAX_VALUE
    assertThat(CanonicalAvro.isCanonical(intSchema, max, 0, max.length)).isTrue();
    byte[] over = {(byte) 0xfe, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x1f};
    assertThat(CanonicalAvro.isCanonical(intSchema, over, 0, over.length)).isFalse();
  }

  private static void assertNotCanonical(byte[] b) {
    assertThat(CanonicalAvro.isCanonical(SCHEMA, b, 0, b.length)).isFalse();
  }

  /** The test event's bytes with {@code mapBytes} as its metadata (the last field but one; batch false). */
  static byte[] withMetadata(byte[] mapBytes) throws IOException {
    byte[] empty = encode(UsageEvent.newBuilder(PlainAvroSerdesTest.event()).setMetadata(Map.of()).setBatch(false).build());
    // ends with the empty map's 0 and batch's 0
    return concat(java.util.Arrays.copyOf(empty, empty.length - 2), mapBytes, new byte[] {0});
  }

  static byte[] encode(UsageEvent e) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    BinaryEncoder enc = EncoderFactory.get().binaryEncoder(out, null);
    new SpecificDatumWriter<UsageEvent>(SCHEMA).write(e, enc);
    enc.flush();
    return out.toByteArray();
  }

  private static UsageEvent decode(byte[] b) throws IOException {
    return new SpecificDatumReader<UsageEvent>(SCHEMA).read(null, DecoderFactory.get().binaryDecoder(b, null));
  }

  /** Avro bytes of longs (zig-zag varints) and strings (length-prefixed UTF-8), in order. */
  static byte[] bytes(Object... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (Object p : parts) {
      if (p instanceof String s) {
        out.writeBytes(lengthPrefixed(s.getBytes(StandardCharsets.UTF_8)));
      } else {
        long v = ((Number) p).longValue();
        long z = (v << 1) ^ (v >> 63);
        while ((z & ~0x7fL) != 0) {
          out.write((int) ((z & 0x7f) | 0x80));
          z >>>= 7;
        }
        out.write((int) z);
      }
    }
    return out.toByteArray();
  }

  private static byte[] lengthPrefixed(byte[] raw) {
    return concat(bytes(raw.length), raw);
  }

  private static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      out.writeBytes(p);
    }
    return out.toByteArray();
  }
}
