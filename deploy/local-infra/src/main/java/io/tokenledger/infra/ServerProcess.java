package io.tokenledger.infra;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A server running as a child process, its output in a log file. Stopping it asks politely (SIGTERM) and
 * then insists; a JVM shutdown hook makes sure no server outlives the JVM that started it.
 */
public final class ServerProcess implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(ServerProcess.class);

  private final String name;
  private final List<String> command;
  private final java.util.Map<String, String> env;
  private final Path log;
  private volatile Process process;
  private final Thread reaper;

  private ServerProcess(String name, List<String> command, java.util.Map<String, String> env, Path log) {
    this.name = name;
    this.command = List.copyOf(command);
    this.env = java.util.Map.copyOf(env);
    this.log = log;
    this.reaper = new Thread(this::kill, name + "-reaper");
    Runtime.getRuntime().addShutdownHook(reaper);
  }

  /** The {@code java} of this JVM. */
  public static String javaBinary() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  /**
   * A command that runs {@code mainClass} in a child JVM on this JVM's class path, every entry made absolute
   * (the child runs in its own working directory): {@code java OPTIONS -cp CLASSPATH MAIN ARGS}.
   */
  public static List<String> javaCommand(List<String> jvmOptions, String mainClass, String... args) {
    StringBuilder cp = new StringBuilder();
    for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
      if (!entry.isEmpty()) {
        cp.append(cp.length() == 0 ? "" : java.io.File.pathSeparator).append(Path.of(entry).toAbsolutePath());
      }
    }
    List<String> cmd = new java.util.ArrayList<>();
    cmd.add(javaBinary());
    cmd.addAll(jvmOptions);
    cmd.addAll(List.of("-cp", cp.toString(), mainClass));
    cmd.addAll(List.of(args));
    return cmd;
  }

  public static ServerProcess start(String name, List<String> command, Path workDir, Path log) {
    return start(name, command, java.util.Map.of(), workDir, log);
  }

  /** Starts {@code command} with {@code env} added to this JVM's environment. */
  public static ServerProcess start(String name, List<String> command, java.util.Map<String, String> env, Path workDir,
      Path log) {
    ServerProcess p = new ServerProcess(name, command, env, log);
    p.launch(workDir);
    return p;
  }

  private void launch(Path workDir) {
    try {
      Files.createDirectories(log.getParent());
      ProcessBuilder pb = new ProcessBuilder(command).directory(workDir.toFile()).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
      pb.environment().putAll(env);
      process = pb.start();
      LOG.info("started {} pid [{}] log [{}]", name, process.pid(), log);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + name + ": " + String.join(" ", command), e);
    }
  }

  /** Starts the same command again, e.g. after {@link #kill()} in a fault test. */
  public void restart(Path workDir) {
    stop();
    launch(workDir);
  }

  public boolean isAlive() {
    Process p = process;
    return p != null && p.isAlive();
  }

  public long pid() {
    return process.pid();
  }

  public Path log() {
    return log;
  }

  /** The last {@code lines} lines of the log, to explain a failure. */
  public String tail(int lines) {
    try {
      List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8);
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException e) {
      return "(no log at " + log + ": " + e.getMessage() + ")";
    }
  }

  /** SIGKILL, no chance to clean up: what a crash looks like. */
  public void kill() {
    Process p = process;
    if (p != null && p.isAlive()) {
      p.destroyForcibly();
      waitFor(p, 10);
    }
  }

  /** SIGTERM, then SIGKILL after 15 s. */
  public void stop() {
    Process p = process;
    if (p == null || !p.isAlive()) {
      return;
    }
    p.destroy();
    if (!waitFor(p, 15)) {
      LOG.warn("{} did not stop within 15 s; killing it", name);
      p.destroyForcibly();
      waitFor(p, 10);
    }
  }

  private static boolean waitFor(Process p, int seconds) {
    try {
      return p.waitFor(seconds, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  @Override
  public void close() {
    stop();
    try {
      Runtime.getRuntime().removeShutdownHook(reaper);
    } catch (IllegalStateException shuttingDown) {
      // the hook is running or ran already
    }
  }
}
