package io.tokenledger.sink;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.tokenledger.runtime.OpsServer;
import io.tokenledger.schemas.RegistrySerdes;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A running sink: the loading thread and its HTTP endpoint (health, metrics). */
public final class SinkApp implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(SinkApp.class);

  private final Sink sink;
  private final Thread thread;
  private final OpsServer ops;
  private volatile Throwable failure;

  private SinkApp(SinkConfig config) {
    PrometheusMeterRegistry registry = OpsServer.newRegistry();
    this.sink = new Sink(config, new RegistrySerdes(config.registryUrl()), registry);
    this.ops = new OpsServer(config.httpHost(), config.httpPort(), registry, () -> failure != null
        ? new OpsServer.Health(false, "stopped: " + failure.getMessage())
        : new OpsServer.Health(sink.healthy(), sink.healthy() ? "loading"
            : sink.lastError().isEmpty() ? "starting: applying migrations" : "retrying: " + sink.lastError()));
    this.thread = new Thread(() -> {
      try {
        sink.run();
      } catch (RuntimeException e) {
        failure = e;
      }
    }, "tokenledger-sink");
  }

  public static SinkApp start(SinkConfig config) {
    SinkApp app = new SinkApp(config);
    app.ops.start();
    app.thread.start();
    LOG.info("sink started: kafka [{}] clickhouse [{}] database [{}] batch [{} rows / {}] http port [{}]",
        config.bootstrap(), config.clickhouseUrl(), config.database(), config.batchRows(), config.batchInterval(),
        app.ops.port());
    return app;
  }

  public int httpPort() {
    return ops.port();
  }

  /** The failure that stopped the sink, if it stopped on its own. */
  public Throwable failure() {
    return failure;
  }

  public boolean isAlive() {
    return thread.isAlive();
  }

  /** Waits until the loading thread ends (it ends only on close or a fatal error). */
  public void join() throws InterruptedException {
    thread.join();
  }

  @Override
  public void close() {
    sink.close();
    try {
      thread.join(30_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    ops.close();
  }

}
