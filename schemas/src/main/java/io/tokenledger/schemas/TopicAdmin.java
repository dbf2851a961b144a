package io.tokenledger.schemas;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Creates the pipeline's topics that do not exist yet, with their partitions and cleanup policy. */
public final class TopicAdmin {

  private static final Logger LOG = LoggerFactory.getLogger(TopicAdmin.class);

  private TopicAdmin() {}

  /**
   * Creates each missing topic; existing topics are left as they are (their settings are the operator's).
   *
   * @param clientConfig bootstrap servers and any security settings
   * @param replicationFactor -1 for the broker's default
   */
  public static void ensure(Map<String, ?> clientConfig, Collection<TopicSpec> specs, short replicationFactor) {
    Map<String, Object> cfg = new HashMap<>(clientConfig);
    cfg.putIfAbsent(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 15_000);
    try (Admin admin = Admin.create(cfg)) {
      Set<String> existing = admin.listTopics().names().get(30, TimeUnit.SECONDS);
      List<NewTopic> missing = new ArrayList<>();
      for (TopicSpec s : specs) {
        if (!existing.contains(s.name())) {
          missing.add(new NewTopic(s.name(), java.util.Optional.of(s.partitions()),
              replicationFactor < 0 ? java.util.Optional.empty() : java.util.Optional.of(replicationFactor))
              .configs(s.configs()));
        }
      }
      if (missing.isEmpty()) {
        return;
      }
      createAndWait(admin, missing);
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException("cannot list topics at " + clientConfig.get("bootstrap.servers") + ": " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted listing topics", e);
    }
  }

  private static void createAndWait(Admin admin, List<NewTopic> missing) throws InterruptedException {
      admin.createTopics(missing).values().forEach((name, f) -> {
        try {
          f.get(30, TimeUnit.SECONDS);
          LOG.info("created topic [{}]", name);
        } catch (ExecutionException e) {
          if (!(e.getCause() instanceof TopicExistsException)) {
            throw new IllegalStateException("cannot create topic " + name + ": " + e.getCause().getMessage(), e);
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted creating topic " + name, e);
        } catch (TimeoutException e) {
          throw new IllegalStateException("timed out creating topic " + name, e);
        }
      });
    // A new topic is usable once every partition's leader serves requests; producing earlier gets
    // NOT_LEADER errors that an idempotent producer can turn into out-of-order failures. Listing offsets
    // asks each partition's leader itself, so its success is the readiness check.
    List<String> names = missing.stream().map(NewTopic::name).toList();
    long deadline = System.nanoTime() + 30_000_000_000L;
    while (System.nanoTime() < deadline) {
      try {
        Map<org.apache.kafka.common.TopicPartition, org.apache.kafka.clients.admin.OffsetSpec> latest = new HashMap<>();
        admin.describeTopics(names).allTopicNames().get(10, TimeUnit.SECONDS).values().forEach(d ->
            d.partitions().forEach(p -> latest.put(new org.apache.kafka.common.TopicPartition(d.name(), p.partition()),
                org.apache.kafka.clients.admin.OffsetSpec.latest())));
        admin.listOffsets(latest).all().get(10, TimeUnit.SECONDS);
        return;
      } catch (ExecutionException | TimeoutException e) {
        // not ready yet
      }
      Thread.sleep(50);
    }
    throw new IllegalStateException("topics " + names + " have no leaders after 30 s");
  }
}
