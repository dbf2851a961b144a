package io.tokenledger.infra;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
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
   * one) before the server binds it. Starts again only when {@code log}, read after the failure, says so.
   */
  public static <T> T startRetryingTakenPorts(Supplier<T> start, Supplier<String> log) {
    for (int attempt = 1; ; attempt++) {
      try {
        return start.get();
      } catch (IllegalStateException e) {
        String why = log.get();
        if (attempt == 3 || !(why.contains("Address already in use") || why.contains("already bound"))) {
          throw e;
        }
      }
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
