package io.tokenledger.infra;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Supplier;

/** Free loopback ports, asked of the operating system. */
public final class Ports {

  private Ports() {}

  public static int free() {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      s.setReuseAddress(true);
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("no free loopback port", e);
    }
  }

  /**
   * Runs {@code start}, a server start on ports it asks {@link #free()} for, up to three times: a port the OS
   * called free can be taken by another process (an outgoing connection of a server starting beside this
   * one) before the server binds it. Each attempt begins with {@code log} deleted; the server is started
   * again only when that log, read after a failure, says the address was in use.
   */
  public static <T> T startRetryingTakenPorts(Path log, Supplier<T> start) {
    for (int attempt = 1; ; attempt++) {
      try {
        Files.deleteIfExists(log);
        return start.get();
      } catch (IOException e) {
        throw new UncheckedIOException("cannot delete " + log, e);
      } catch (IllegalStateException e) {
        String why = read(log);
        if (attempt == 3 || !(why.contains("Address already in use") || why.contains("already bound"))) {
          throw e;
        }
      }
    }
  }

  private static String read(Path log) {
    try {
      return Files.exists(log) ? Files.readString(log) : "";
    } catch (IOException | UncheckedIOException e) {
      return "";
    }
  }

  /** True when something already listens on {@code port} on loopback. */
  public static boolean inUse(int port) {
    try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
      return false;
    } catch (IOException e) {
      return true;
    }
  }
}
