package io.tokenledger.stack;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * The harness's long fault run: while the load is emitted, at set fractions of it, the processor is killed
 * (SIGKILL) and restarted, twice; the sink is killed and restarted; ClickHouse is stopped for 30 s and
 * started again; the broker is stopped and started again. Each fault waits for the pipeline to be healthy
 * again before the next; nobody helps it recover. The checks afterwards are the same as without faults.
 */
final class Faults {

  private record Fault(double at, String name, Step step) {}

  interface Step {
    void run(LocalStack stack) throws Exception;
  }

  private static final List<Fault> PLAN = List.of(
      new Fault(0.10, "processor killed (SIGKILL) and restarted", s -> {
        s.processor.killAndRestart();
        s.processor.awaitHealthy(Duration.ofSeconds(120));
      }),
      new Fault(0.25, "sink killed (SIGKILL) and restarted", s -> {
        s.sink.killAndRestart();
        s.sink.awaitHealthy(Duration.ofSeconds(120));
      }),
      new Fault(0.40, "ClickHouse stopped for 30 s, then started", s -> {
        s.clickhouse.process().stop();
        Thread.sleep(30_000);
        s.clickhouse.restart(Duration.ofSeconds(60));
      }),
      new Fault(0.60, "broker stopped and started", s -> {
        s.kafka.stop();
        s.kafka.start();
      }),
      new Fault(0.80, "processor killed (SIGKILL) and restarted, again", s -> {
        s.processor.killAndRestart();
        s.processor.awaitHealthy(Duration.ofSeconds(120));
      }));

  private final LocalStack stack;
  private final int total;
  private final List<String> done = new ArrayList<>();
  private final CountDownLatch finished = new CountDownLatch(1);
  private volatile int emitted;
  private volatile Throwable failure;

  private Faults(LocalStack stack, int total) {
    this.stack = stack;
    this.total = total;
  }

  static Faults start(LocalStack stack, int total) {
    Faults f = new Faults(stack, total);
    Thread t = new Thread(f::run, "harness-faults");
    t.setDaemon(true);
    t.start();
    return f;
  }

  /** Called by the load loop: how many calls have been tracked so far. */
  void emitted(int count) {
    emitted = count;
  }

  private void run() {
    try {
      for (Fault f : PLAN) {
        while (emitted < f.at() * total) {
          Thread.sleep(20);
        }
        long t0 = System.nanoTime();
        int at = emitted;
        System.out.printf("  fault at %,d calls: %s...%n", at, f.name());
        f.step().run(stack);
        String line = String.format("%s at %,d calls (over in %.1f s)", f.name(), at, (System.nanoTime() - t0) / 1e9);
        synchronized (done) {
          done.add(line);
        }
      }
    } catch (Throwable e) {
      failure = e;
    } finally {
      finished.countDown();
    }
  }

  /** Waits for the last fault to be over; a fault that could not be carried out fails the run. */
  void awaitDone() throws InterruptedException {
    finished.await();
    if (failure != null) {
      throw new IllegalStateException("fault injection failed: " + failure.getMessage(), failure);
    }
  }

  String summary() {
    synchronized (done) {
      return done.size() + " of " + PLAN.size() + " injected: " + String.join("; ", done);
    }
  }
}
