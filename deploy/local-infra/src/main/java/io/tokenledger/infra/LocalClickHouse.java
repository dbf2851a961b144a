package io.tokenledger.infra;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;

/**
 * A ClickHouse server as a local process (Debian's {@code clickhouse-server}), with a generated
 * configuration: loopback only, the given ports, all data under {@code dir}, a {@code default} user without
 * a password.
 */
public final class LocalClickHouse implements AutoCloseable {

  private final Path dir;
  private final int httpPort;
  private final int tcpPort;
  private final ServerProcess process;

  private LocalClickHouse(Path dir, int httpPort, int tcpPort, ServerProcess process) {
    this.dir = dir;
    this.httpPort = httpPort;
    this.tcpPort = tcpPort;
    this.process = process;
  }

  /** {@link #start} on two free ports, on two others if one was taken before ClickHouse bound it. */
  public static LocalClickHouse startOnFreePorts(Path dir, Duration timeout) {
    return Ports.startRetryingTakenPorts(dir.resolve("log/error.log"),
        () -> start(dir, Ports.free(), Ports.free(), timeout));
  }

  /** Starts a server with its data in {@code dir} and waits until it answers {@code /ping}. */
  public static LocalClickHouse start(Path dir, int httpPort, int tcpPort, Duration timeout) {
    String binary = binary();
    try {
      for (String sub : List.of("data", "tmp", "user_files", "format_schemas", "log")) {
        Files.createDirectories(dir.resolve(sub));
      }
      Files.writeString(dir.resolve("config.xml"), config(dir, httpPort, tcpPort));
      Files.writeString(dir.resolve("users.xml"), USERS);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot prepare ClickHouse directory " + dir, e);
    }
    List<String> cmd = binary.endsWith("clickhouse")
        ? List.of(binary, "server", "--config-file=" + dir.resolve("config.xml"))
        : List.of(binary, "--config-file=" + dir.resolve("config.xml"));
    ServerProcess p = ServerProcess.start("clickhouse", cmd, dir, dir.resolve("log/stdout.log"));
    LocalClickHouse ch = new LocalClickHouse(dir, httpPort, tcpPort, p);
    ch.awaitReady(timeout);
    return ch;
  }

  void awaitReady(Duration timeout) {
    Http.await("ClickHouse on port " + httpPort, timeout, process::isAlive, () -> Http.ok(url() + "/ping"),
        () -> System.err.println("ClickHouse log:\n" + process.tail(40) + "\n" + tailOf(dir.resolve("log/error.log"))));
  }

  /** The {@code clickhouse-server} binary, or a clear error saying how to install it. */
  static String binary() {
    String path = System.getenv().getOrDefault("PATH", "/usr/bin:/bin");
    for (String name : List.of("clickhouse-server", "clickhouse")) {
      for (String d : (path + ":/usr/bin:/usr/local/bin").split(":")) {
        Path candidate = Path.of(d, name);
        if (Files.isExecutable(candidate)) {
          return candidate.toString();
        }
      }
    }
    throw new IllegalStateException("ClickHouse is not installed: run `apt-get install -y clickhouse-server "
        + "clickhouse-client` as root (Debian), or install a current release from clickhouse.com");
  }

  public String url() {
    return "http://127.0.0.1:" + httpPort;
  }

  public int httpPort() {
    return httpPort;
  }

  public int tcpPort() {
    return tcpPort;
  }

  public ServerProcess process() {
    return process;
  }

  /** Starts the server again on the same ports and data, e.g. after a fault test stopped it. */
  public void restart(Duration timeout) {
    process.restart(dir);
    awaitReady(timeout);
  }

  @Override
  public void close() {
    process.close();
  }

  private static String tailOf(Path file) {
    try (Stream<String> lines = Files.lines(file)) {
      List<String> all = lines.toList();
      return String.join("\n", all.subList(Math.max(0, all.size() - 20), all.size()));
    } catch (IOException | UncheckedIOException e) {
      return "";
    }
  }

  private static String config(Path dir, int httpPort, int tcpPort) {
    return """
        <?xml version="1.0"?>
        <yandex>
          <logger>
            <level>warning</level>
            <log>%1$s/log/server.log</log>
            <errorlog>%1$s/log/error.log</errorlog>
            <size>50M</size>
            <count>2</count>
          </logger>
          <http_port>%2$d</http_port>
          <tcp_port>%3$d</tcp_port>
          <listen_host>127.0.0.1</listen_host>
          <path>%1$s/data/</path>
          <tmp_path>%1$s/tmp/</tmp_path>
          <user_files_path>%1$s/user_files/</user_files_path>
          <format_schema_path>%1$s/format_schemas/</format_schema_path>
          <users_config>%1$s/users.xml</users_config>
          <default_profile>default</default_profile>
          <default_database>default</default_database>
          <timezone>UTC</timezone>
          <mark_cache_size>268435456</mark_cache_size>
          <uncompressed_cache_size>268435456</uncompressed_cache_size>
          <max_concurrent_queries>100</max_concurrent_queries>
        </yandex>
        """.formatted(dir.toAbsolutePath(), httpPort, tcpPort);
  }

  private static final String USERS = """
      <?xml version="1.0"?>
      <yandex>
        <profiles>
          <default>
            <max_memory_usage>4000000000</max_memory_usage>
          </default>
        </profiles>
        <users>
          <default>
            <password></password>
            <networks>
              <ip>127.0.0.1</ip>
              <ip>::1</ip>
            </networks>
            <profile>default</profile>
            <quota>default</quota>
          </default>
        </users>
        <quotas>
          <default>
            <interval>
              <duration>3600</duration>
              <queries>0</queries>
              <errors>0</errors>
              <result_rows>0</result_rows>
              <read_rows>0</read_rows>
              <execution_time>0</execution_time>
            </interval>
          </default>
        </quotas>
      </yandex>
      """;
}
