package io.tokenledger.processor.bench;

import io.tokenledger.avro.ModelPricing;
import io.tokenledger.avro.PriceVersion;
import io.tokenledger.processor.pricing.CompiledPricing;
import io.tokenledger.processor.pricing.Cost;
import io.tokenledger.processor.pricing.PriceBook;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
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
 * Pricing one event as the processor does: resolve the reported model (cached), pick the version in force
 * at the event's time, cost every token class exactly. Target: under 500 ns/op.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class PricingBenchmark {

  record Call(String provider, String model, long eventTime, Cost.Tokens tokens, boolean batch) {}

  PriceBook book;
  Map<String, ModelPricing> catalog;
  Call[] calls;
  int i;

  @Setup
  public void setUp() {
    catalog = new HashMap<>();
    for (int m = 0; m < 60; m++) {
      String model = "model-" + m;
      catalog.put("openai/" + model, ModelPricing.newBuilder().setProvider("openai").setModel(model).setVersions(List.of(
          version(model + "@1", "2024-01-01T00:00:00Z", "5.00", "15.00"),
          version(model + "@2", "2024-08-06T00:00:00Z", "2.50", "10.00"),
          version(model + "@3", "2025-06-10T00:00:00Z", "1.25", "5.00"))).build());
    }
    book = new PriceBook();
    calls = new Call[64];
    for (int c = 0; c < calls.length; c++) {
      calls[c] = new Call("openai", "model-" + (c % 60) + (c % 3 == 0 ? "-2024-08-06" : ""),
          Instant.parse("2025-0" + (1 + c % 9) + "-15T10:00:00Z").toEpochMilli(),
          new Cost.Tokens(1000 + c * 37, c % 2 == 0 ? 512 : 0, 0, 0, 200 + c, c % 4 == 0 ? 64 : 0), c % 10 == 0);
    }
  }

  static PriceVersion version(String id, String from, String input, String output) {
    return PriceVersion.newBuilder().setId(id).setEffectiveFrom(Instant.parse(from))
        .setInput(new BigDecimal(input).setScale(12)).setCachedInput(new BigDecimal(input).divide(BigDecimal.TEN).setScale(12))
        .setOutput(new BigDecimal(output).setScale(12)).setBatchDiscount(new BigDecimal("0.5").setScale(12)).build();
  }

  @Benchmark
  public Cost priceOneEvent() {
    Call c = calls[i++ & 63];
    CompiledPricing p = book.resolve(c.provider, c.model, catalog::get).pricing();
    return Cost.of(c.tokens, c.batch, p.versionAt(c.eventTime));
  }
}
