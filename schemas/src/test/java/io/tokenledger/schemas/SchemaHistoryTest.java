package io.tokenledger.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaCompatibility.SchemaCompatibilityType;
import org.junit.jupiter.api.Test;

/** Each current schema must read data written with the newest released version of it (BACKWARD). */
class SchemaHistoryTest {

  private static final Path CURRENT = Path.of("src/main/avro");
  private static final Path HISTORY = Path.of("history");

  @Test
  void everyCurrentSchemaReadsTheNewestReleasedVersion() throws IOException {
    Map<String, Schema> current = parseAll(CURRENT);
    Path latest = latestRelease();
    Map<String, Schema> released = parseAll(latest);

    List<String> failures = new ArrayList<>();
    released.forEach((name, old) -> {
      Schema now = current.get(name);
      if (now == null) {
        failures.add(name + " was released in " + latest.getFileName() + " but is gone");
        return;
      }
      var result = SchemaCompatibility.checkReaderWriterCompatibility(now, old);
      if (result.getType() != SchemaCompatibilityType.COMPATIBLE) {
        failures.add(name + " cannot read " + latest.getFileName() + ": " + result.getResult().getIncompatibilities());
      }
    });
    assertThat(failures).isEmpty();
  }

  @Test
  void theCheckRejectsABreakingChange() throws IOException {
    Schema released = parseAll(latestRelease()).get("io.tokenledger.avro.UsageEvent");
    // a new required field without a default: old records cannot be read
    String json = released.toString().replace("{\"name\":\"batch\"",
        "{\"name\":\"region\",\"type\":\"string\"},{\"name\":\"batch\"");
    Schema broken = new Schema.Parser().parse(json);
    assertThat(SchemaCompatibility.checkReaderWriterCompatibility(broken, released).getType())
        .isEqualTo(SchemaCompatibilityType.INCOMPATIBLE);
  }

  @Test
  void everyCurrentSchemaIsInTheHistoryOnceReleased() throws IOException {
    // New schemas are allowed before their first release, but the generated classes must all come from here.
    assertThat(parseAll(CURRENT)).containsKeys("io.tokenledger.avro.UsageEvent", "io.tokenledger.avro.CostedUsage",
        "io.tokenledger.avro.ModelPricing", "io.tokenledger.avro.QuotaBreach");
  }

  private static Path latestRelease() throws IOException {
    try (Stream<Path> dirs = Files.list(HISTORY)) {
      return dirs.filter(Files::isDirectory).max(Comparator.comparing(SchemaHistoryTest::versionKey))
          .orElseThrow(() -> new AssertionError("no released schemas under " + HISTORY.toAbsolutePath()));
    }
  }

  private static String versionKey(Path dir) {
    StringBuilder key = new StringBuilder();
    for (String part : dir.getFileName().toString().split("\\.")) {
      key.append(String.format("%08d", Integer.parseInt(part.replaceAll("\\D", "0"))));
    }
    return key.toString();
  }

  /** Types that other schemas refer to, parsed first (the same order as the build's avro imports). */
  private static final List<String> DEFINED_FIRST =
      List.of("UsageEvent.avsc", "LongContextTier.avsc", "PriceVersion.avsc", "QuotaPolicy.avsc", "QuotaStatus.avsc");

  /** Parses a folder's schemas, referenced types first. */
  static Map<String, Schema> parseAll(Path dir) throws IOException {
    List<Path> files;
    try (Stream<Path> list = Files.list(dir)) {
      files = new ArrayList<>(list.filter(p -> p.toString().endsWith(".avsc")).toList());
    }
    files.sort(Comparator.comparing((Path p) -> {
      int i = DEFINED_FIRST.indexOf(p.getFileName().toString());
      return i < 0 ? DEFINED_FIRST.size() : i;
    }).thenComparing(Path::toString));
    Schema.Parser parser = new Schema.Parser();
    Map<String, Schema> parsed = new LinkedHashMap<>();
    for (Path p : files) {
      Schema s = parser.parse(Files.readString(p));
      parsed.put(s.getFullName(), s);
    }
    return parsed;
  }
}
