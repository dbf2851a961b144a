package io.tokenledger.infra;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.function.BooleanSupplier;

/** Small HTTP helpers for readiness probes and admin calls. */
public final class Http {

  private static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  private Http() {}

  static HttpResponse<String> send(String method, String url, String body, String contentType) throws IOException {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10));
    if (body == null) {
      b.method(method, HttpRequest.BodyPublishers.noBody());
    } else {
      b.method(method, HttpRequest.BodyPublishers.ofString(body)).header("Content-Type", contentType);
    }
    try {
      return CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted calling " + url, e);
    }
  }

  /** True once {@code url} answers 200 on GET. */
  public static boolean ok(String url) {
    try {
      return send("GET", url, null, null).statusCode() == 200;
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * Polls {@code ready} every 100 ms until it holds or {@code timeout} passes, failing early when
   * {@code alive} turns false (the process died: waiting longer would only hide its log).
   */
  public static void await(String what, Duration timeout, BooleanSupplier alive, BooleanSupplier ready, Runnable onFailure) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (ready.getAsBoolean()) {
        return;
      }
      if (!alive.getAsBoolean()) {
        onFailure.run();
        throw new IllegalStateException(what + " exited before it was ready");
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted waiting for " + what, e);
      }
    }
    onFailure.run();
    throw new IllegalStateException(what + " not ready after " + timeout.toSeconds() + " s");
  }
}
