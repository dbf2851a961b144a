package io.tokenledger.infra;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real Kafka broker, schema registry and ClickHouse server for tests and local runs. Each is started on
 * first use and stopped by {@link #close()}.
 *
 * <p>Mode: {@code TOKENLEDGER_INFRA=local} runs them as local processes (Kafka inside this JVM, the
 * registry and ClickHouse as child processes on free loopback ports, data in a temporary directory);
 * {@code containers} uses Testcontainers with current images; {@code auto} (the default) uses containers
 * where a Docker engine answers and local processes otherwise.
 */
public final class Infra implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(Infra.class);
  static final Duration START_TIMEOUT = Duration.ofSeconds(60);

  public enum Mode {
    LOCAL, CONTAINERS;

    /** Reads {@code TOKENLEDGER_INFRA} (system property {@code tokenledger.infra} wins). */
    public static Mode fromEnvironment() {
      String v = System.getProperty("tokenledger.infra", System.getenv().getOrDefault("TOKENLEDGER_INFRA", "auto"));
      return switch (v.trim().toLowerCase(Locale.ROOT)) {
        case "local" -> LOCAL;
        case "containers" -> CONTAINERS;
        case "auto", "" -> Containers.dockerAvailable() ? CONTAINERS : LOCAL;
        default -> throw new IllegalArgumentException(
            "TOKENLEDGER_INFRA must be local, containers or auto, not [" + v + "]");
      };
    }
  }

  private final Mode mode;
  private final Path dir;
  // Components start independently (and in parallel from startAll), each under its own lock.
  private final List<AutoCloseable> started = java.util.Collections.synchronizedList(new ArrayList<>());
  private final Object kafkaLock = new Object();
  private final Object registryLock = new Object();
  private final Object clickhouseLock = new Object();
  private volatile String kafka;
  private volatile String registry;
  private volatile ClickHouseEndpoint clickhouse;
  private volatile LocalClickHouse localClickHouse;

  public Infra(Mode mode) {
    this.mode = mode;
    try {
      this.dir = Files.createTempDirectory("tokenledger-infra-");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    LOG.info("test infrastructure mode [{}] dir [{}]", mode, dir);
  }

  public Mode mode() {
    return mode;
  }

  /** ClickHouse's HTTP interface and the credentials to use on it. */
  public record ClickHouseEndpoint(String url, String user, String password) {}

  public String kafkaBootstrap() {
    synchronized (kafkaLock) {
    if (kafka == null) {
      long t0 = System.nanoTime();
      if (mode == Mode.LOCAL) {
        LocalKafka k = LocalKafka.start(dir.resolve("kafka"));
        started.add(k);
        kafka = k.bootstrapServers();
      } else {
        kafka = Containers.kafka(started);
      }
      LOG.info("Kafka ready at [{}] in {} ms", kafka, (System.nanoTime() - t0) / 1_000_000);
    }
    return kafka;
    }
  }

  /** The registry's root URL; the Confluent-compatible API is under {@code /apis/ccompat/v7}. */
  public String registryUrl() {
    synchronized (registryLock) {
    if (registry == null) {
      long t0 = System.nanoTime();
      if (mode == Mode.LOCAL) {
        LocalRegistry r = LocalRegistry.startOnFreePort(dir.resolve("registry"), START_TIMEOUT);
        started.add(r);
        registry = r.url();
      } else {
        registry = Containers.registry(started);
      }
      LOG.info("schema registry ready at [{}] in {} ms", registry, (System.nanoTime() - t0) / 1_000_000);
    }
    return registry;
    }
  }

  public ClickHouseEndpoint clickhouse() {
    synchronized (clickhouseLock) {
    if (clickhouse == null) {
      long t0 = System.nanoTime();
      if (mode == Mode.LOCAL) {
        localClickHouse = LocalClickHouse.startOnFreePorts(dir.resolve("clickhouse"), START_TIMEOUT);
        started.add(localClickHouse);
        clickhouse = new ClickHouseEndpoint(localClickHouse.url(), "default", "");
      } else {
        clickhouse = Containers.clickhouse(started);
      }
      LOG.info("ClickHouse ready at [{}] in {} ms", clickhouse.url(), (System.nanoTime() - t0) / 1_000_000);
    }
    return clickhouse;
    }
  }

  /**
   * The local ClickHouse process, for fault tests that stop and restart it; empty in containers mode.
   */
  public java.util.Optional<LocalClickHouse> localClickHouse() {
    clickhouse();
    return java.util.Optional.ofNullable(localClickHouse);
  }

  /** Starts all three at once (they start in parallel) and returns where they answer. */
  public Endpoints startAll() {
    CompletableFuture<String> k = CompletableFuture.supplyAsync(this::kafkaBootstrap);
    CompletableFuture<String> r = CompletableFuture.supplyAsync(this::registryUrl);
    CompletableFuture<ClickHouseEndpoint> c = CompletableFuture.supplyAsync(this::clickhouse);
    ClickHouseEndpoint ch = c.join();
    return new Endpoints(k.join(), r.join(), ch.url(), ch.user(), ch.password());
  }

  @Override
  public synchronized void close() {
    for (int i = started.size() - 1; i >= 0; i--) {
      try {
        started.get(i).close();
      } catch (Exception e) {
        LOG.warn("could not stop {}: {}", started.get(i).getClass().getSimpleName(), e.toString());
      }
    }
    started.clear();
    deleteTree(dir);
  }

  /** Deletes {@code root} and everything under it, if it exists; a failure is logged, not thrown. */
  public static void deleteTree(Path root) {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(root)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      LOG.warn("could not delete {}: {}", root, e.toString());
    }
  }
}
