package io.tokenledger.processor;

import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Runs the stream processor until the process is asked to stop (SIGTERM: a clean close, state flushed). */
public final class ProcessorMain {

  static {
    io.tokenledger.runtime.ServiceLogging.useDefaults(); // before the first logger
  }

  private static final Logger LOG = LoggerFactory.getLogger(ProcessorMain.class);

  private ProcessorMain() {}

  public static void main(String[] args) throws InterruptedException {
    ProcessorConfig config;
    try {
      config = ProcessorConfig.fromEnvironment(System.getenv());
    } catch (IllegalArgumentException e) {
      System.err.println("tokenledger processor: " + e.getMessage());
      System.exit(2);
      return;
    }
    ProcessorApp app = ProcessorApp.start(config);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      LOG.info("stopping");
      app.close();
      stopped.countDown();
    }, "shutdown"));
    stopped.await();
  }
}
