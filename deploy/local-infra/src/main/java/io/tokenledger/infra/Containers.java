package io.tokenledger.infra;

import java.time.Duration;
import java.util.List;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.clickhouse.ClickHouseContainer;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.kafka.KafkaContainer;

/** The same servers as Testcontainers, for machines with a Docker engine. Images are pinned. */
final class Containers {

  static final String KAFKA_IMAGE = "apache/kafka:4.1.0";
  static final String REGISTRY_IMAGE = "apicurio/apicurio-registry-mem:2.4.2.Final";
  static final String CLICKHOUSE_IMAGE = "clickhouse/clickhouse-server:24.8";

  private Containers() {}

  static boolean dockerAvailable() {
    // Ask Testcontainers only where an engine could be: it logs an error for every strategy that fails.
    if (System.getenv("DOCKER_HOST") == null && !java.nio.file.Files.exists(java.nio.file.Path.of("/var/run/docker.sock"))
        && !java.nio.file.Files.exists(java.nio.file.Path.of(System.getProperty("user.home"), ".docker", "run", "docker.sock"))) {
      return false;
    }
    try {
      return DockerClientFactory.instance().isDockerAvailable();
    } catch (RuntimeException | LinkageError e) {
      return false;
    }
  }

  static String kafka(List<AutoCloseable> started) {
    KafkaContainer c = new KafkaContainer(KAFKA_IMAGE);
    LocalKafka.SINGLE_NODE.forEach((k, v) -> c.withEnv("KAFKA_" + k.toUpperCase().replace('.', '_'), v));
    c.start();
    started.add(c::stop);
    return c.getBootstrapServers();
  }

  static String registry(List<AutoCloseable> started) {
    GenericContainer<?> c = new GenericContainer<>(REGISTRY_IMAGE).withExposedPorts(8080)
        .waitingFor(Wait.forHttp("/apis/ccompat/v7/subjects").forStatusCode(200))
        .withStartupTimeout(Duration.ofMinutes(2));
    c.start();
    started.add(c::stop);
    String url = "http://" + c.getHost() + ":" + c.getMappedPort(8080);
    try {
      Http.send("PUT", url + "/apis/ccompat/v7/config", "{\"compatibility\":\"BACKWARD\"}",
          "application/vnd.schemaregistry.v1+json");
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return url;
  }

  static Infra.ClickHouseEndpoint clickhouse(List<AutoCloseable> started) {
    ClickHouseContainer c = new ClickHouseContainer(CLICKHOUSE_IMAGE);
    c.start();
    started.add(c::stop);
    return new Infra.ClickHouseEndpoint(c.getHttpUrl(), c.getUsername(), c.getPassword());
  }
}
