package io.tokenledger.sink;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP proxy in front of a real server that can lose the next answer: the request reaches the server,
 * which does the work, and then the connection is cut before the client reads a byte of the reply. That
 * is what a timeout or a network failure after the server committed looks like to the client. For a while
 * after that it can refuse every connection, as if the server had gone down.
 */
final class LosingProxy implements AutoCloseable {

  private final String host;
  private final int port;
  private final ServerSocket listener;
  private final AtomicBoolean armed = new AtomicBoolean();
  private volatile long refuseNanos;
  private volatile long refuseUntilNanos;
  private final AtomicInteger lost = new AtomicInteger();
  private final Set<Socket> open = ConcurrentHashMap.newKeySet();
  private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "losing-proxy");
    t.setDaemon(true);
    return t;
  });

  LosingProxy(String host, int port) throws IOException {
    this.host = host;
    this.port = port;
    this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    threads.execute(this::accept);
  }

  String url() {
    return "http://127.0.0.1:" + listener.getLocalPort();
  }

  /**
   * The next answer the server starts to send, on any connection, is dropped with its connection; then for
   * {@code refuse} every connection, open or new, is cut at once.
   */
  void loseNextAnswer(Duration refuse) {
    refuseNanos = refuse.toNanos();
    armed.set(true);
  }

  /** How many answers were lost so far. */
  int lost() {
    return lost.get();
  }

  private void accept() {
    while (!listener.isClosed()) {
      Socket client;
      try {
        client = listener.accept();
      } catch (IOException e) {
        return; // closed
      }
      open.add(client);
      if (System.nanoTime() < refuseUntilNanos) {
        close(client);
        continue;
      }
      try {
        Socket server = new Socket(host, port);
        open.add(server);
        threads.execute(() -> pipe(client, server, false));
        threads.execute(() -> pipe(server, client, true));
      } catch (IOException | RuntimeException e) {
        close(client); // the server is down, or the proxy closing: the client sees its connection refused
      }
    }
  }

  private void close(Socket s) {
    open.remove(s);
    try {
      s.close();
    } catch (IOException e) {
      // closing anyway
    }
  }

  /** Copies {@code from} to {@code to} until either side closes, then closes both. */
  private void pipe(Socket from, Socket to, boolean answers) {
    byte[] buf = new byte[64 * 1024];
    try (from; to) {
      InputStream in = from.getInputStream();
      OutputStream out = to.getOutputStream();
      for (int n; (n = in.read(buf)) >= 0; ) {
        if (answers && armed.compareAndSet(true, false)) {
          lost.incrementAndGet();
          refuseUntilNanos = System.nanoTime() + refuseNanos;
          open.forEach(this::close); // pooled connections too
          return;
        }
        out.write(buf, 0, n);
        out.flush();
      }
    } catch (IOException e) {
      // the other direction closed the sockets
    } finally {
      open.remove(from);
      open.remove(to);
    }
  }

  @Override
  public void close() throws IOException {
    listener.close();
    threads.shutdownNow();
    open.forEach(this::close);
  }
}
