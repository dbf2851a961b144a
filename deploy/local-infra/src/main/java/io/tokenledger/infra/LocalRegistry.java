package io.tokenledger.infra;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Apicurio Registry (in-memory storage) as a local process, packaged by the {@code deploy/registry} module.
 * Its Confluent-compatible API is set to BACKWARD compatibility, the project's evolution rule (Apicurio's
 * own default is NONE).
 */
public final class LocalRegistry implements AutoCloseable {

  /** Where the registry module's build leaves the runnable application, relative to the project root. */
  public static final String APP_JAR = "deploy/registry/target/quarkus-app/quarkus-run.jar";

  private final int port;
  private final Path dir;
  private final ServerProcess process;

  private LocalRegistry(int port, Path dir, ServerProcess process) {
    this.port = port;
    this.dir = dir;
    this.process = process;
  }

  /** {@link #start} on a free port, on another if it was taken before the registry bound it. */
  public static LocalRegistry startOnFreePort(Path dir, Duration timeout) {
    return Ports.startRetryingTakenPorts(dir.resolve("registry.log"), () -> start(dir, Ports.free(), timeout));
  }

  public static LocalRegistry start(Path dir, int port, Duration timeout) {
    Path jar = appJar();
    List<String> cmd = new ArrayList<>(List.of(ServerProcess.javaBinary(), "-Xms64m", "-Xmx384m", "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1", "-Dquarkus.http.host=127.0.0.1", "-Dquarkus.http.port=" + port,
        "-Dquarkus.log.level=WARN"));
    cmd.addAll(List.of("-jar", jar.toString()));
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    ServerProcess p = ServerProcess.start("schema-registry", cmd, dir, dir.resolve("registry.log"));
    LocalRegistry r = new LocalRegistry(port, dir, p);
    r.awaitReady(timeout);
    return r;
  }

  void awaitReady(Duration timeout) {
    Http.await("schema registry on port " + port, timeout, process::isAlive,
        () -> Http.ok(url() + "/apis/ccompat/v7/subjects"),
        () -> System.err.println("schema registry log:\n" + process.tail(40)));
    try {
      int code = Http.send("PUT", url() + "/apis/ccompat/v7/config", "{\"compatibility\":\"BACKWARD\"}",
          "application/vnd.schemaregistry.v1+json").statusCode();
      if (code != 200) {
        throw new IllegalStateException("schema registry refused compatibility BACKWARD: HTTP " + code);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot configure the schema registry", e);
    }
  }

  /**
   * The packaged registry: {@code tokenledger.registry.jar} if set, else {@link #APP_JAR} under the project
   * root ({@code tokenledger.project.root}, or the nearest parent of the working directory that has it).
   */
  static Path appJar() {
    String explicit = System.getProperty("tokenledger.registry.jar", System.getenv("TOKENLEDGER_REGISTRY_JAR"));
    if (explicit != null && !explicit.isBlank()) {
      return requireFile(Path.of(explicit));
    }
    String root = System.getProperty("tokenledger.project.root");
    if (root != null && !root.isBlank() && Files.isRegularFile(Path.of(root, APP_JAR))) {
      return Path.of(root, APP_JAR);
    }
    for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
      if (Files.isRegularFile(d.resolve(APP_JAR))) {
        return d.resolve(APP_JAR);
      }
    }
    throw new IllegalStateException("the schema registry is not built: run `mvn -q -pl deploy/registry package` "
        + "at the project root (it packages Apicurio Registry into " + APP_JAR + ")");
  }

  private static Path requireFile(Path p) {
    if (!Files.isRegularFile(p)) {
      throw new IllegalStateException("schema registry jar not found at " + p);
    }
    return p;
  }

  public String url() {
    return "http://127.0.0.1:" + port;
  }

  public ServerProcess process() {
    return process;
  }

  @Override
  public void close() {
    process.close();
  }
}
