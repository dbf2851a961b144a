package io.tokenledger.stack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.tokenledger.processor.ProcessorConfig;
import io.tokenledger.sink.SinkConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * What CI can check of the deployments without a Docker engine: the files parse, every image is pinned to
 * a version, and every setting they pass exists in the config classes (which reject unknown settings).
 */
class DeploymentFilesTest {

  static final Path DEPLOY = Path.of("..");
  static final Pattern PINNED = Pattern.compile("[\\w./-]+:(?!latest$)[\\w.-]*\\d[\\w.-]*");

  @Test
  void composeParsesPinsImagesAndPassesOnlyKnownSettings() throws Exception {
    JsonNode compose = new YAMLMapper().readTree(DEPLOY.resolve("compose/docker-compose.yml").toFile());
    JsonNode services = compose.path("services");
    assertThat(services.fieldNames()).toIterable().contains("kafka", "registry", "clickhouse", "processor", "sink",
        "publish-catalog");
    services.forEach(s -> assertThat(s.path("image").asText()).as("image of a compose service").matches(PINNED));
    assertThatCode(() -> ProcessorConfig.fromEnvironment(env(services.path("processor").path("environment"))))
        .doesNotThrowAnyException();
    assertThatCode(() -> SinkConfig.fromEnvironment(env(services.path("sink").path("environment"))))
        .doesNotThrowAnyException();
  }

  @Test
  void kubernetesManifestsParsePinImagesAndPassOnlyKnownSettings() throws Exception {
    List<JsonNode> docs = new ArrayList<>();
    ObjectMapper yaml = new ObjectMapper(new YAMLFactory());
    try (var parser = new YAMLFactory().createParser(DEPLOY.resolve("k8s/tokenledger.yaml").toFile())) {
      docs.addAll(yaml.readValues(parser, JsonNode.class).readAll());
    }
    Map<String, String> settings = new HashMap<>();
    List<String> images = new ArrayList<>();
    for (JsonNode d : docs) {
      String kind = d.path("kind").asText();
      if (kind.equals("ConfigMap")) {
        settings.putAll(env(d.path("data")));
      } else if (kind.equals("Secret")) {
        settings.putAll(env(d.path("stringData")));
      }
      d.findValues("containers").forEach(cs -> cs.forEach(c -> images.add(c.path("image").asText())));
    }
    assertThat(docs).extracting(d -> d.path("kind").asText()).contains("StatefulSet", "Deployment", "Job", "ConfigMap");
    assertThat(images).isNotEmpty().allSatisfy(i -> assertThat(i).matches(PINNED));
    Map<String, String> processor = new HashMap<>(settings);
    processor.put("TOKENLEDGER_PROCESSOR_ADVERTISED_HOST", "10.0.0.1");
    assertThatCode(() -> ProcessorConfig.fromEnvironment(processor)).doesNotThrowAnyException();
    assertThatCode(() -> SinkConfig.fromEnvironment(settings)).doesNotThrowAnyException();
  }

  @Test
  void dockerImagesArePinnedAndTheEntrypointStartsClassesThatExist() throws Exception {
    String dockerfile = Files.readString(DEPLOY.resolve("docker/Dockerfile"));
    Matcher from = Pattern.compile("(?m)^FROM (\\S+)").matcher(dockerfile);
    int n = 0;
    while (from.find()) {
      assertThat(from.group(1)).matches(PINNED);
      n++;
    }
    assertThat(n).isEqualTo(2);
    Matcher main = Pattern.compile("main=(io\\.tokenledger\\.[\\w.]+)").matcher(Files.readString(DEPLOY.resolve(
        "docker/entrypoint.sh")));
    int mains = 0;
    while (main.find()) {
      assertThat(Class.forName(main.group(1))).isNotNull();
      mains++;
    }
    assertThat(mains).isEqualTo(4);
  }

  @Test
  void anUnknownSettingInAManifestWouldBeCaught() {
    Map<String, String> typo = Map.of("TOKENLEDGER_SINK_BATCH_ROW", "10");
    assertThatCode(() -> SinkConfig.fromEnvironment(typo)).hasMessageContaining("TOKENLEDGER_SINK_BATCH_ROW is not a known setting");
  }

  static Map<String, String> env(JsonNode node) {
    Map<String, String> m = new HashMap<>();
    node.fields().forEachRemaining(e -> m.put(e.getKey(), e.getValue().asText()));
    return m;
  }

}
