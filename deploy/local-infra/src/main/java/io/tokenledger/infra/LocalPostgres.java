package io.tokenledger.infra;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A PostgreSQL server as a local process (Debian's {@code postgresql} package, the highest version under
 * {@code /usr/lib/postgresql}), in a fresh cluster made by {@code initdb}: loopback only, the given port, trust
 * authentication, superuser {@code postgres}, a database {@code tokenledger}, the unix socket inside the data
 * directory. Durability is PostgreSQL's default ({@code fsync} and {@code synchronous_commit} on, stated
 * explicitly on the command line): it stands for what an application gets from a stock server.
 *
 * <p>PostgreSQL refuses to run as root. As root, the cluster belongs to an unprivileged system user
 * ({@value #RUN_AS}, created on first use) and {@code initdb}, {@code postgres} and {@code pg_ctl} run as that
 * user through {@code setpriv} (or {@code runuser} where it is missing). As any other user they run directly. When Debian's package is missing and this JVM runs as root with
 * {@code apt-get}, it is installed; otherwise start-up fails with the command to run.
 */
public final class LocalPostgres implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(LocalPostgres.class);

  /** The unprivileged system user that owns the cluster when this JVM runs as root. */
  public static final String RUN_AS = "tokenledger";
  public static final String USER = "postgres";
  public static final String DATABASE = "tokenledger";

  private static final Path DEBIAN_ROOT = Path.of("/usr/lib/postgresql");
  /** A unix socket path longer than this (the kernel allows 107 bytes) is not attempted. */
  private static final int MAX_SOCKET_PATH = 100;

  private final Path bin;
  private final Path data;
  private final boolean temporaryData;
  private final int port;
  private final List<String> runAs;
  private final ServerProcess process;

  private LocalPostgres(Path bin, Path data, boolean temporaryData, int port, List<String> runAs, ServerProcess process) {
    this.bin = bin;
    this.data = data;
    this.temporaryData = temporaryData;
    this.port = port;
    this.runAs = runAs;
    this.process = process;
  }

  /** Starts a fresh cluster on a free port; see {@link #start(Path, int, Duration)}. */
  public static LocalPostgres start(Path dir, Duration timeout) {
    return start(dir, Ports.free(), timeout);
  }

  /**
   * Initializes a cluster in {@code dir/data} (a cluster left there by an earlier run is deleted first), starts
   * the server on {@code port} and waits until it accepts connections and has the {@value #DATABASE} database.
   * Logs go to {@code dir/initdb.log} and {@code dir/postgres.log}.
   */
  public static LocalPostgres start(Path dir, int port, Duration timeout) {
    Path bin = binaries(dir);
    List<String> runAs = runAsPrefix();
    Path data = dir.resolve("data").toAbsolutePath();
    boolean temporary = false;
    try {
      Files.createDirectories(dir);
      if (Files.exists(data.resolve("PG_VERSION"))) {
        deleteTree(data);
      }
      Files.createDirectories(data);
      if (!runAs.isEmpty()) {
        chown(data);
        if (!canWrite(runAs, data)) {
          // a parent directory is closed to other users (a root home, a 0700 temporary directory)
          Path tmp = Files.createTempDirectory("tokenledger-postgres-");
          LOG.warn("user [{}] cannot reach [{}]; the cluster goes to [{}] instead", RUN_AS, data, tmp);
          deleteTree(data);
          data = tmp;
          temporary = true;
          chown(data);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot prepare the PostgreSQL directory " + dir, e);
    }

    List<String> initdb = new ArrayList<>(runAs);
    // --no-sync only skips flushing initdb's own files (a throwaway cluster); the server below runs with fsync on
    initdb.addAll(List.of(bin.resolve("initdb").toString(), "--pgdata=" + data, "--username=" + USER, "--auth=trust",
        "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"));
    run("initdb", initdb, Map.of(), data, dir.resolve("initdb.log"), timeout);

    String socketDir = (data + "/.s.PGSQL." + port).length() <= MAX_SOCKET_PATH ? data.toString() : "";
    List<String> cmd = new ArrayList<>(runAs);
    cmd.addAll(List.of(bin.resolve("postgres").toString(), "-D", data.toString(), "-p", Integer.toString(port),
        "-c", "listen_addresses=127.0.0.1",
        "-c", "unix_socket_directories=" + socketDir,
        "-c", "fsync=on",
        "-c", "synchronous_commit=on",
        "-c", "logging_collector=off"));
    ServerProcess p = ServerProcess.start("postgres", cmd, Map.of(), data, dir.resolve("postgres.log"));
    LocalPostgres pg = new LocalPostgres(bin, data, temporary, port, runAs, p);
    try {
      pg.awaitReady(timeout);
      try (Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres"), USER, "");
          Statement s = c.createStatement()) {
        s.execute("CREATE DATABASE " + DATABASE);
      }
    } catch (SQLException | RuntimeException e) {
      pg.close();
      throw new IllegalStateException("PostgreSQL did not start: " + e.getMessage() + "\n" + p.tail(30), e);
    }
    LOG.info("PostgreSQL [{}] ready on port [{}] data [{}]", bin.getParent().getFileName(), port, data);
    return pg;
  }

  private void awaitReady(Duration timeout) {
    Http.await("PostgreSQL on port " + port, timeout, process::isAlive, this::accepts,
        () -> System.err.println("PostgreSQL log:\n" + process.tail(40)));
  }

  private boolean accepts() {
    try (Connection c = DriverManager.getConnection(jdbcUrl("postgres"), USER, "")) {
      return c.isValid(2);
    } catch (SQLException e) {
      return false;
    }
  }

  /** The {@code bin} directory of the highest PostgreSQL version Debian's packages installed, installing them if allowed. */
  static Path binaries(Path logDir) {
    Path found = highestVersion();
    if (found != null) {
      return found;
    }
    if (isRoot() && Files.isExecutable(Path.of("/usr/bin/apt-get"))) {
      System.err.println("PostgreSQL is not installed: installing Debian's postgresql package...");
      try {
        Files.createDirectories(logDir);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot create " + logDir, e);
      }
      Path log = logDir.resolve("apt-get.log");
      Map<String, String> env = Map.of("DEBIAN_FRONTEND", "noninteractive");
      run("apt-get update", List.of("apt-get", "update", "-qq"), env, logDir, log, Duration.ofMinutes(5));
      run("apt-get install postgresql", List.of("apt-get", "install", "-y", "-qq", "postgresql"), env, logDir, log,
          Duration.ofMinutes(10));
      found = highestVersion();
      if (found != null) {
        return found;
      }
    }
    throw new IllegalStateException("PostgreSQL is not installed: run `apt-get install -y postgresql` as root (Debian), "
        + "which puts initdb and postgres under " + DEBIAN_ROOT + "/<version>/bin");
  }

  private static Path highestVersion() {
    if (!Files.isDirectory(DEBIAN_ROOT)) {
      return null;
    }
    try (Stream<Path> versions = Files.list(DEBIAN_ROOT)) {
      return versions.filter(v -> v.getFileName().toString().matches("\\d+(\\.\\d+)?"))
          .filter(v -> Files.isExecutable(v.resolve("bin/postgres")) && Files.isExecutable(v.resolve("bin/initdb")))
          .max(Comparator.comparingDouble(v -> Double.parseDouble(v.getFileName().toString())))
          .map(v -> v.resolve("bin"))
          .orElse(null);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + DEBIAN_ROOT, e);
    }
  }

  private static boolean isRoot() {
    return "0".equals(output(List.of("id", "-u")));
  }

  /** Empty when not root; else {@code setpriv} switching to {@value #RUN_AS}, created if missing. */
  private static List<String> runAsPrefix() {
    if (!isRoot()) {
      return List.of();
    }
    String uid = output(List.of("id", "-u", RUN_AS));
    if (uid == null) {
      try {
        run("useradd", List.of("useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
            "--shell", "/usr/sbin/nologin", RUN_AS), Map.of(), Path.of("/"), null, Duration.ofSeconds(30));
      } catch (RuntimeException e) {
        if (output(List.of("id", "-u", RUN_AS)) == null) { // not created meanwhile by another process
          throw new IllegalStateException("cannot create the system user " + RUN_AS + " to run PostgreSQL as", e);
        }
      }
      uid = output(List.of("id", "-u", RUN_AS));
    }
    String gid = output(List.of("id", "-g", RUN_AS));
    String setpriv = onPath("setpriv");
    if (setpriv != null) {
      return List.of(setpriv, "--reuid=" + uid, "--regid=" + gid, "--clear-groups", "--");
    }
    String runuser = onPath("runuser"); // forks rather than replacing itself: pid() reads postmaster.pid
    if (runuser != null) {
      return List.of(runuser, "-u", RUN_AS, "--");
    }
    throw new IllegalStateException("PostgreSQL refuses to run as root, and neither setpriv nor runuser (util-linux) "
        + "is installed to run it as " + RUN_AS);
  }

  private static String onPath(String name) {
    String path = System.getenv().getOrDefault("PATH", "") + ":/usr/bin:/bin:/usr/sbin:/sbin";
    for (String d : path.split(":")) {
      if (!d.isEmpty() && Files.isExecutable(Path.of(d, name))) {
        return Path.of(d, name).toString();
      }
    }
    return null;
  }

  private static void chown(Path path) throws IOException {
    UserPrincipalLookupService users = path.getFileSystem().getUserPrincipalLookupService();
    PosixFileAttributeView view = Files.getFileAttributeView(path, PosixFileAttributeView.class);
    view.setOwner(users.lookupPrincipalByName(RUN_AS));
    GroupPrincipal group = users.lookupPrincipalByGroupName(RUN_AS);
    view.setGroup(group);
  }

  private static boolean canWrite(List<String> runAs, Path dir) {
    List<String> cmd = new ArrayList<>(runAs);
    cmd.addAll(List.of("test", "-w", dir.toString(), "-a", "-x", dir.toString()));
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + String.join(" ", cmd), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  public String jdbcUrl() {
    return jdbcUrl(DATABASE);
  }

  private String jdbcUrl(String database) {
    return "jdbc:postgresql://127.0.0.1:" + port + "/" + database;
  }

  /** A new connection to the {@value #DATABASE} database as {@value #USER}. */
  public Connection connect() throws SQLException {
    return DriverManager.getConnection(jdbcUrl(), USER, "");
  }

  public int port() {
    return port;
  }

  /** The postmaster's process id; the backends, one per connection, are its children. */
  public long pid() {
    try {
      // the first line of postmaster.pid, which the server writes once it runs
      return Long.parseLong(Files.readAllLines(data.resolve("postmaster.pid"), StandardCharsets.UTF_8).get(0).strip());
    } catch (IOException | RuntimeException e) {
      return process.pid();
    }
  }

  public ServerProcess process() {
    return process;
  }

  public Path dataDir() {
    return data;
  }

  /**
   * The server's memory now, in kB: the proportional set size (Pss) summed over the postmaster and its children,
   * which counts shared buffers once rather than once per backend; -1 where {@code /proc} cannot tell.
   */
  public long memoryKb() {
    ProcessHandle postmaster = ProcessHandle.of(pid()).orElse(null);
    long sum = postmaster == null ? -1 : pssKb(postmaster.pid());
    if (sum < 0) {
      return -1;
    }
    for (ProcessHandle child : postmaster.descendants().toList()) {
      sum += Math.max(0, pssKb(child.pid())); // a backend exiting meanwhile holds nothing
    }
    return sum;
  }

  private static long pssKb(long pid) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/smaps_rollup"), StandardCharsets.UTF_8)) {
        if (line.startsWith("Pss:")) {
          return Long.parseLong(line.replaceAll("\\D", ""));
        }
      }
      return -1;
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  /** Fast shutdown (open sessions are rolled back and closed), then the process is reaped. */
  @Override
  public void close() {
    if (process.isAlive()) {
      List<String> stop = new ArrayList<>(runAs);
      stop.addAll(List.of(bin.resolve("pg_ctl").toString(), "stop", "-D", data.toString(), "-m", "fast", "-w", "-t", "30"));
      try {
        run("pg_ctl stop", stop, Map.of(), data, null, Duration.ofSeconds(40));
      } catch (RuntimeException e) {
        LOG.warn("fast shutdown of PostgreSQL failed, stopping it with signals: {}", e.getMessage());
      }
    }
    process.close();
    if (temporaryData) {
      try {
        deleteTree(data);
      } catch (IOException e) {
        LOG.warn("cannot delete [{}]: {}", data, e.getMessage());
      }
    }
  }

  /**
   * Runs a command to completion, failing with its output when it fails; the output goes to {@code log}
   * (appended) when given.
   */
  private static void run(String what, List<String> cmd, Map<String, String> env, Path workDir, Path log,
      Duration timeout) {
    try {
      Path out = log != null ? log : Files.createTempFile("tokenledger-postgres-", ".log");
      try {
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(workDir.toFile()).redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(out.toFile()));
        pb.environment().putAll(env);
        Process p = pb.start();
        boolean done = p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        if (!done) {
          p.destroyForcibly();
        }
        if (!done || p.exitValue() != 0) {
          throw new IllegalStateException(what + (done ? " failed with exit code " + p.exitValue() : " timed out after "
              + timeout.toSeconds() + " s") + ": " + String.join(" ", cmd) + "\n" + tail(out));
        }
      } finally {
        if (log == null) {
          Files.deleteIfExists(out);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + what + ": " + String.join(" ", cmd), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted running " + what, e);
    }
  }

  /** The command's first output line, or null when it fails. */
  private static String output(List<String> cmd) {
    try {
      Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0 && !out.isEmpty() ? out.lines().findFirst().get() : null;
    } catch (IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  private static String tail(Path file) {
    try {
      List<String> all = Files.readAllLines(file, StandardCharsets.UTF_8);
      return String.join("\n", all.subList(Math.max(0, all.size() - 20), all.size()));
    } catch (IOException e) {
      return "";
    }
  }

  private static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
