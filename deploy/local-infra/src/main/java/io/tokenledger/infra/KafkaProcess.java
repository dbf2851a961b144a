package io.tokenledger.infra;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Uuid;

/**
 * A real single-node Kafka (KRaft, one combined broker and controller) in a child JVM, which a test can stop
 * gracefully, kill with SIGKILL and start again on the same ports with the same data: what a broker restart
 * looks like to clients. {@link LocalKafka} (inside the test JVM) cannot do that.
 *
 * <p>It runs {@code kafka.Kafka server.properties} from the jars on this JVM's class path, with the settings of
 * {@link LocalKafka#SINGLE_NODE}; the log directory is formatted once, with Kafka's storage tool. Its output
 * goes to {@code kafka.log} in its directory, whose tail is in the error when it fails to start.
 */
public final class KafkaProcess implements AutoCloseable {

  // Ports are kept across restarts. Ports the OS hands out for outgoing connections (32768 and up on Linux,
  // 49152 and up elsewhere) could be taken by a client's socket while the broker is down; these cannot.
  private static final int PORT_MIN = 10_000;
  private static final int PORT_MAX = 32_000;

  private final Path dir;
  private final int port;
  private final int controllerPort;
  private final Duration timeout;
  private final ServerProcess process;

  private KafkaProcess(Path dir, int port, int controllerPort, Duration timeout, ServerProcess process) {
    this.dir = dir;
    this.port = port;
    this.controllerPort = controllerPort;
    this.timeout = timeout;
    this.process = process;
  }

  /**
   * Formats {@code dir} (unless it holds a formatted broker already), starts the broker and waits, at most
   * {@code timeout}, until it answers; later {@link #start()}s wait as long.
   */
  public static KafkaProcess start(Path dir, Duration timeout) {
    int port = unusedPort(-1);
    int controllerPort = unusedPort(port);
    Path config = dir.resolve("server.properties");
    Path log = dir.resolve("kafka.log");
    try {
      Files.createDirectories(dir.resolve("data"));
      Files.writeString(config, serverProperties(dir.resolve("data"), port, controllerPort));
      Files.writeString(dir.resolve("logback.xml"), LOGBACK);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot prepare the Kafka directory " + dir, e);
    }
    format(config, log);
    List<String> cmd = ServerProcess.javaCommand(List.of("-Xms128m", "-Xmx512m", "-XX:+UseSerialGC",
        "-Dlogback.configurationFile=" + dir.resolve("logback.xml")), "kafka.Kafka", config.toString());
    ServerProcess p = ServerProcess.start("kafka", cmd, dir, log);
    KafkaProcess kafka = new KafkaProcess(dir, port, controllerPort, timeout, p);
    try {
      kafka.awaitReady();
    } catch (RuntimeException e) {
      p.close();
      throw e;
    }
    return kafka;
  }

  /** Kafka's storage tool, as {@code kafka-storage.sh format --ignore-formatted}, its output in the log. */
  private static void format(Path config, Path log) {
    String[] args = {"format", "--cluster-id", Uuid.randomUuid().toString(), "--config", config.toString(),
        "--ignore-formatted"};
    int code;
    String failure = "";
    try (OutputStream file = Files.newOutputStream(log, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        PrintStream out = new PrintStream(file, true, StandardCharsets.UTF_8)) {
      try {
        code = kafka.tools.StorageTool.execute(args, out);
      } catch (Exception e) {
        code = 1;
        failure = ": " + e.getMessage();
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + log, e);
    }
    if (code != 0) {
      throw new IllegalStateException("formatting the Kafka log directory failed (exit code " + code + ")" + failure
          + "\nKafka log " + log + ":\n" + tail(log));
    }
  }

  /** Starts the broker again on the same ports and data, after {@link #stop()} or {@link #kill()}. */
  public void start() {
    if (process.isAlive()) {
      throw new IllegalStateException("the Kafka broker on port " + port + " is running already");
    }
    process.restart(dir);
    awaitReady();
  }

  /** A graceful shutdown (SIGTERM: controlled shutdown, logs flushed), SIGKILL after 15 s. */
  public void stop() {
    process.stop();
  }

  /** SIGKILL: the broker gets no chance to flush or close anything, as in a crash. */
  public void kill() {
    process.kill();
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  public String bootstrapServers() {
    return "127.0.0.1:" + port;
  }

  public int port() {
    return port;
  }

  public int controllerPort() {
    return controllerPort;
  }

  public ServerProcess process() {
    return process;
  }

  /** The last {@code lines} lines of the broker's output, to explain a failure. */
  public String tail(int lines) {
    return process.tail(lines);
  }

  @Override
  public void close() {
    process.close();
  }

  /**
   * Ready when an Admin client's {@code describeCluster} lists the broker: the broker opens its client
   * listener to requests only once it is registered with the controller and unfenced.
   */
  private void awaitReady() {
    long deadline = System.nanoTime() + timeout.toNanos();
    String last = "no answer";
    Admin admin = null;
    try {
      while (System.nanoTime() < deadline) {
        if (!process.isAlive()) {
          throw failure("exited before it was ready", last);
        }
        if (admin == null && accepts()) {
          admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers(),
              AdminClientConfig.CLIENT_ID_CONFIG, "kafka-process-ready-check",
              AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 2_000,
              AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 3_000,
              AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, 500));
        }
        if (admin != null) {
          try {
            if (!admin.describeCluster().nodes().get(3, TimeUnit.SECONDS).isEmpty()) {
              return;
            }
            last = "no broker in the cluster yet";
          } catch (ExecutionException | TimeoutException e) {
            last = e.toString();
          }
        }
        Thread.sleep(100);
      }
      throw failure("not ready after " + timeout.toSeconds() + " s", last);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted waiting for the Kafka broker on port " + port, e);
    } finally {
      if (admin != null) {
        admin.close(Duration.ofSeconds(2));
      }
    }
  }

  private IllegalStateException failure(String what, String last) {
    return new IllegalStateException("Kafka broker on port " + port + " " + what + " (last check: " + last
        + ")\nKafka log " + process.log() + ":\n" + process.tail(60));
  }

  private boolean accepts() {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 200);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static int unusedPort(int other) {
    for (int attempt = 0; attempt < 100; attempt++) {
      int p = ThreadLocalRandom.current().nextInt(PORT_MIN, PORT_MAX);
      if (p != other && !Ports.inUse(p)) {
        return p;
      }
    }
    throw new IllegalStateException("no unused loopback port between " + PORT_MIN + " and " + PORT_MAX);
  }

  private static String serverProperties(Path data, int port, int controllerPort) {
    Map<String, String> p = new TreeMap<>(LocalKafka.SINGLE_NODE);
    p.put("process.roles", "broker,controller");
    p.put("node.id", "1");
    p.put("controller.quorum.voters", "1@127.0.0.1:" + controllerPort);
    p.put("listeners", "PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort);
    p.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + port);
    p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
    p.put("controller.listener.names", "CONTROLLER");
    p.put("inter.broker.listener.name", "PLAINTEXT");
    p.put("log.dirs", data.toAbsolutePath().toString());
    // A killed broker may register again only once the controller has expired its old session (9 s by
    // default); heartbeats every 500 ms make a 3 s session safe and keep restarts after a crash short.
    p.put("broker.heartbeat.interval.ms", "500");
    p.put("broker.session.timeout.ms", "3000");
    StringBuilder out = new StringBuilder("# generated by KafkaProcess\n");
    p.forEach((k, v) -> out.append(k).append('=').append(v.replace("\\", "\\\\")).append('\n'));
    return out.toString();
  }

  private static String tail(Path log) {
    try {
      List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8);
      return String.join("\n", all.subList(Math.max(0, all.size() - 60), all.size()));
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  // The broker logs through SLF4J; when Logback is the binding on the class path, this keeps it at INFO
  // on standard output, which ServerProcess writes to kafka.log.
  private static final String LOGBACK = """
      <configuration>
        <appender name="OUT" class="ch.qos.logback.core.ConsoleAppender">
          <encoder><pattern>%d{HH:mm:ss.SSS} %-5level [%thread] %logger{30} - %msg%n</pattern></encoder>
        </appender>
        <root level="INFO"><appender-ref ref="OUT"/></root>
      </configuration>
      """;
}
