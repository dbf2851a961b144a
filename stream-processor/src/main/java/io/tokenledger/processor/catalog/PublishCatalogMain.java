package io.tokenledger.processor.catalog;

import io.tokenledger.runtime.EnvConfig;
import io.tokenledger.schemas.RegistrySerdes;
import io.tokenledger.schemas.TopicAdmin;
import io.tokenledger.schemas.Topics;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code publish-catalog [FILE]}: publishes the price catalog (default deploy/catalog/pricing-catalog.json)
 * to pricing.models. Reads KAFKA_BOOTSTRAP, SCHEMA_REGISTRY_URL, TOKENLEDGER_TOPIC_PREFIX and
 * TOKENLEDGER_KAFKA_* like the processor. Idempotent: running it twice publishes nothing the second time.
 */
public final class PublishCatalogMain {

  static {
    io.tokenledger.runtime.ServiceLogging.useDefaults(); // before the first logger
  }

  private PublishCatalogMain() {}

  public static void main(String[] args) throws Exception {
    Path file = Path.of(args.length > 0 ? args[0] : "deploy/catalog/pricing-catalog.json");
    EnvConfig env = new EnvConfig(System.getenv());
    String bootstrap = env.string("KAFKA_BOOTSTRAP", "localhost:9092");
    String registry = env.string("SCHEMA_REGISTRY_URL", "http://localhost:8081");
    Topics topics = Topics.withPrefix(env.string("TOKENLEDGER_TOPIC_PREFIX", ""));
    Map<String, Object> client = new HashMap<>(env.passThrough("TOKENLEDGER_KAFKA_"));
    client.put("bootstrap.servers", bootstrap);
    env.finish();
    try {
      var models = CatalogFile.read(file);
      TopicAdmin.ensure(client, List.of(topics.pricingModels()), (short) -1);
      CatalogMerge.Plan plan = CatalogPublisher.publish(client, new RegistrySerdes(registry), topics.pricingModels(), models);
      System.out.printf("catalog %s: %d model(s) in file, %d updated or new, %d unchanged, %d new price version(s)%n",
          file, models.size(), plan.toPublish().size(), plan.unchangedModels(), plan.newVersions());
    } catch (IllegalArgumentException e) {
      System.err.println("publish-catalog: " + e.getMessage());
      System.exit(2);
    }
  }
}
