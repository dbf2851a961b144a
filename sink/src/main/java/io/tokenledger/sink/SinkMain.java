package io.tokenledger.sink;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Runs the sink until the process is asked to stop (SIGTERM: flush, then exit) or a fatal error. */
public final class SinkMain {

  static {
    io.tokenledger.runtime.ServiceLogging.useDefaults(); // before the first logger
  }

  private static final Logger LOG = LoggerFactory.getLogger(SinkMain.class);

  private SinkMain() {}

  public static void main(String[] args) throws InterruptedException {
    SinkConfig config;
    try {
      config = SinkConfig.fromEnvironment(System.getenv());
    } catch (IllegalArgumentException e) {
      System.err.println("tokenledger sink: " + e.getMessage());
      System.exit(2);
      return;
    }
    SinkApp app = SinkApp.start(config);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      LOG.info("stopping");
      app.close();
    }, "shutdown"));
    app.join();
    if (app.failure() != null) {
      System.err.println("tokenledger sink stopped: " + app.failure().getMessage());
      System.exit(1);
    }
  }
}
