package io.tokenledger.runtime;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/**
 * The operations endpoint of a deployable: {@code GET /health} (200 when healthy, 503 otherwise, with a
 * short JSON body) and {@code GET /metrics} (Prometheus text format). Further handlers, such as the quota
 * status API, can be added with {@link #route}.
 */
public final class OpsServer implements AutoCloseable {

  /** Health as the deployable sees it: up or not, and a word on why. */
  public record Health(boolean up, String detail) {}

  private final HttpServer server;
  private final PrometheusMeterRegistry registry;

  public OpsServer(String host, int port, PrometheusMeterRegistry registry, Supplier<Health> health) {
    this.registry = registry;
    try {
      this.server = HttpServer.create(new InetSocketAddress(host, port), 64);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot listen on " + host + ":" + port + " (is the port taken?)", e);
    }
    server.setExecutor(Executors.newFixedThreadPool(2, r -> {
      Thread t = new Thread(r, "ops-http");
      t.setDaemon(true);
      return t;
    }));
    route("/health", ex -> {
      Health h = health.get();
      respond(ex, h.up() ? 200 : 503, "application/json",
          "{\"status\":\"" + (h.up() ? "UP" : "DOWN") + "\",\"detail\":\"" + Json.escape(h.detail()) + "\"}");
    });
    route("/metrics", ex -> respond(ex, 200, "text/plain; version=0.0.4; charset=utf-8", registry.scrape()));
  }

  public static PrometheusMeterRegistry newRegistry() {
    return new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  }

  public OpsServer route(String path, HttpHandler handler) {
    server.createContext(path, ex -> {
      try (ex) {
        if (!"GET".equals(ex.getRequestMethod()) && !"HEAD".equals(ex.getRequestMethod())) {
          respond(ex, 405, "text/plain", "method not allowed\n");
          return;
        }
        handler.handle(ex);
      } catch (RuntimeException e) {
        respond(ex, 500, "text/plain", "error: " + e.getMessage() + "\n");
      }
    });
    return this;
  }

  public OpsServer start() {
    server.start();
    return this;
  }

  public int port() {
    return server.getAddress().getPort();
  }

  public PrometheusMeterRegistry registry() {
    return registry;
  }

  public static void respond(HttpExchange ex, int status, String contentType, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", contentType);
    ex.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(bytes);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
