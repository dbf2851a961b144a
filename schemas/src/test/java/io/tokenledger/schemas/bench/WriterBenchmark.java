package io.tokenledger.schemas.bench;

import io.tokenledger.avro.CostedUsage;
import io.tokenledger.avro.UsageEvent;
import io.tokenledger.schemas.AvroRecordWriter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumWriter;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Writing one usage event (what a service emits) and one costed event (what the processor emits) as Avro
 * binary: with Avro's own writer, and with the {@link AvroRecordWriter} the serdes use. Same bytes (checked
 * by a test); the ratio of the two is what the serdes gained.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class WriterBenchmark {

  UsageEvent event;
  CostedUsage costed;
  SpecificDatumWriter<UsageEvent> avroEvents;
  SpecificDatumWriter<CostedUsage> avroCosted;
  AvroRecordWriter<UsageEvent> ourEvents;
  AvroRecordWriter<CostedUsage> ourCosted;
  ByteArrayOutputStream bytes;
  BinaryEncoder encoder;

  @Setup
  public void setUp() {
    // a call as the harness sends them: user, latency, endpoint, request type and service set, small metadata
    event = UsageEvent.newBuilder().setEventId("01931f5e-7b2a-7c3d-9e4f-5a6b7c8d9e0f").setEventTime(Instant.now())
        .setOrgId("org-17").setUserId("user-17-3").setProvider("openai").setModel("gpt-4o-2024-08-06")
        .setInputTokens(1_834).setCachedInputTokens(512).setOutputTokens(412).setReasoningTokens(128)
        .setLatencyMs(2_315L).setEndpoint("/api/chat").setRequestType("chat").setService("assistant")
        .setMetadata(Map.of("region", "eu-west-1", "trace", "4bf92f3577b34da6")).build();
    BigDecimal part = new BigDecimal("0.004585000000");
    costed = CostedUsage.newBuilder().setEvent(event).setInputCost(part).setCachedInputCost(part)
        .setCacheWriteCost(BigDecimal.ZERO.setScale(12)).setOutputCost(part).setReasoningCost(part)
        .setRequestFee(BigDecimal.ZERO.setScale(12)).setTotalCost(part.multiply(BigDecimal.valueOf(4)))
        .setPricingKey("openai/gpt-4o").setPriceVersionId("gpt-4o@2")
        .setPriceEffectiveFrom(Instant.parse("2024-08-06T00:00:00Z"))
        .setPricedAt(Instant.now()).build();
    avroEvents = new SpecificDatumWriter<>(UsageEvent.getClassSchema());
    avroCosted = new SpecificDatumWriter<>(CostedUsage.getClassSchema());
    ourEvents = AvroRecordWriter.of(UsageEvent.class);
    ourCosted = AvroRecordWriter.of(CostedUsage.class);
    bytes = new ByteArrayOutputStream(1024);
  }

  private BinaryEncoder encoder() {
    bytes.reset();
    encoder = EncoderFactory.get().binaryEncoder(bytes, encoder);
    return encoder;
  }

  @Benchmark
  public int usageEventAvroWriter() throws IOException {
    BinaryEncoder out = encoder();
    avroEvents.write(event, out);
    out.flush();
    return bytes.size();
  }

  @Benchmark
  public int usageEventRecordWriter() throws IOException {
    BinaryEncoder out = encoder();
    ourEvents.write(event, out);
    out.flush();
    return bytes.size();
  }

  @Benchmark
  public int costedUsageAvroWriter() throws IOException {
    BinaryEncoder out = encoder();
    avroCosted.write(costed, out);
    out.flush();
    return bytes.size();
  }

  @Benchmark
  public int costedUsageRecordWriter() throws IOException {
    BinaryEncoder out = encoder();
    ourCosted.write(costed, out);
    out.flush();
    return bytes.size();
  }
}
