package io.tokenledger.producer;

import io.tokenledger.avro.QuotaStatus;
import io.tokenledger.schemas.QuotaRules;
import io.tokenledger.schemas.RegistrySerdes;
import io.tokenledger.schemas.SerdeFactory;
import io.tokenledger.schemas.Topics;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers "may this call go ahead?" from memory, before a service calls a model. A background thread
 * follows the compacted {@code quota.status} topic (every partition, from the beginning) and keeps the
 * latest status of each policy; {@link #check} reads that view without locks or network calls.
 *
 * <p>A status whose window has ended no longer counts: a new window starts with nothing spent. Until the
 * view has caught up with the topic ({@link #awaitReady}), checks answer ALLOW (fail open: a cost tracker
 * must not take the product down); {@link #isReady()} tells callers that want to fail closed.
 */
public final class QuotaGuard implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(QuotaGuard.class);

  private final QuotaView view = new QuotaView();
  private final KafkaConsumer<String, QuotaStatus> consumer;
  private final String topic;
  private final LongSupplier clock;
  private final CountDownLatch ready = new CountDownLatch(1);
  private final Thread thread;
  private volatile boolean running = true;

  /**
   * @param kafka bootstrap servers and any security settings
   * @param serdes how status values are read (registry-backed in production)
   */
  public QuotaGuard(Map<String, Object> kafka, SerdeFactory serdes, Topics topics, LongSupplier clock) {
    Map<String, Object> c = new HashMap<>(kafka);
    c.put("group.id", "tokenledger-quota-guard-" + UUID.randomUUID());
    c.put("enable.auto.commit", false);
    c.put("fetch.max.wait.ms", 100);
    this.topic = topics.quotaStatus().name();
    this.clock = clock;
    this.consumer = new KafkaConsumer<>(c, new StringDeserializer(), serdes.value(QuotaStatus.class).deserializer());
    this.thread = new Thread(this::follow, "tokenledger-quota-guard");
    thread.setDaemon(true);
    thread.start();
  }

  /** A guard reading from {@code bootstrap} through the registry at {@code registryUrl}. */
  public static QuotaGuard connect(String bootstrap, String registryUrl, Topics topics) {
    return new QuotaGuard(Map.of("bootstrap.servers", bootstrap), new RegistrySerdes(registryUrl), topics,
        System::currentTimeMillis);
  }

  /** Waits until the view holds everything the topic held at start; false on timeout. */
  public boolean awaitReady(Duration timeout) throws InterruptedException {
    return ready.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  public boolean isReady() {
    return ready.getCount() == 0;
  }

  /**
   * The verdict for a call by {@code user} (may be null) of {@code org} to {@code provider}/{@code model}:
   * DENY when a hard policy covering it is exceeded in its current window, WARN when one is past a warning
   * threshold or a soft one is exceeded, ALLOW otherwise. The decision names the deciding policy and its
   * remaining budget.
   */
  public QuotaRules.Decision check(String org, String user, String provider, String model) {
    return view.check(org, user, provider, model, clock.getAsLong());
  }

  private void follow() {
    try {
      List<TopicPartition> parts = consumer.partitionsFor(topic, Duration.ofSeconds(30)).stream()
          .map(p -> new TopicPartition(topic, p.partition())).toList();
      consumer.assign(parts);
      consumer.seekToBeginning(parts);
      Map<TopicPartition, Long> end = consumer.endOffsets(parts);
      while (running) {
        for (ConsumerRecord<String, QuotaStatus> r : consumer.poll(Duration.ofMillis(100))) {
          view.apply(r.key(), r.value());
        }
        if (ready.getCount() > 0 && parts.stream().allMatch(tp -> consumer.position(tp) >= end.get(tp))) {
          ready.countDown();
          LOG.info("quota view ready: [{}] policies", view.size());
        }
      }
    } catch (WakeupException e) {
      // closing
    } catch (RuntimeException e) {
      LOG.error("quota view stopped following [{}]; checks now answer from the last view", topic, e);
    } finally {
      consumer.close(Duration.ofSeconds(5));
    }
  }

  @Override
  public void close() {
    running = false;
    consumer.wakeup();
    try {
      thread.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
