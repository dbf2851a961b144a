package io.tokenledger.producer.interop;

import io.tokenledger.avro.UsageEvent;
import io.tokenledger.infra.Infra;
import io.tokenledger.schemas.RegistrySerdes;
import io.tokenledger.schemas.TopicAdmin;
import io.tokenledger.schemas.Topics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * Checks that a producer written in another language emits events the pipeline reads: starts a local broker
 * and the schema registry, runs the given command with {@code KAFKA_BOOTSTRAP}, {@code SCHEMA_REGISTRY_URL}
 * and {@code TOKENLEDGER_TOPIC} set, then reads the topic with the same deserializer as the stream processor.
 * Exits non-zero when the command fails or nothing readable arrives. Not a test: it needs the other
 * language's toolchain. Usage (from the repository root):
 *
 * <pre>
 * mvn -q -pl producer-lib test-compile exec:exec@interop-check -Dinterop.command="node producer-lib/examples/node/emit-usage.js"
 * </pre>
 */
public final class InteropCheck {

  private InteropCheck() {}

  public static void main(String[] args) throws Exception {
    String command = String.join(" ", args).trim();
    if (command.isEmpty()) {
      System.err.println("usage: InteropCheck <command that emits one or more usage events>");
      System.exit(2);
    }
    int status;
    try (Infra infra = new Infra(Infra.Mode.LOCAL)) {
      String bootstrap = infra.kafkaBootstrap();
      String registry = infra.registryUrl();
      Topics topics = Topics.withPrefix("interop" + System.currentTimeMillis() + ".");
      String topic = topics.usageEvents().name();
      TopicAdmin.ensure(Map.of("bootstrap.servers", bootstrap), List.of(topics.usageEvents()), (short) -1);

      ProcessBuilder pb = new ProcessBuilder("sh", "-c", command).inheritIO();
      pb.environment().put("KAFKA_BOOTSTRAP", bootstrap);
      pb.environment().put("SCHEMA_REGISTRY_URL", registry);
      pb.environment().put("TOKENLEDGER_TOPIC", topic);
      int exit = pb.start().waitFor();
      if (exit != 0) {
        System.err.printf("FAILED: [%s] exited with %d%n", command, exit);
        System.exit(1);
      }

      Deserializer<UsageEvent> values = new RegistrySerdes(registry).value(UsageEvent.class).deserializer();
      List<ConsumerRecord<String, UsageEvent>> read = new ArrayList<>();
      Map<String, Object> c = new HashMap<>();
      c.put("bootstrap.servers", bootstrap);
      c.put("group.id", "interop-" + UUID.randomUUID());
      c.put("auto.offset.reset", "earliest");
      try (KafkaConsumer<String, UsageEvent> consumer = new KafkaConsumer<>(c, new StringDeserializer(), values)) {
        consumer.subscribe(List.of(topic));
        long until = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (read.isEmpty() && System.nanoTime() < until) {
          consumer.poll(Duration.ofMillis(500)).forEach(read::add);
        }
      }
      status = read.isEmpty() ? 1 : 0;
      for (ConsumerRecord<String, UsageEvent> r : read) {
        UsageEvent e = r.value();
        boolean keyOk = e.getOrgId().equals(r.key());
        if (!keyOk) {
          status = 1;
        }
        System.out.printf("read with RegistrySerdes: key [%s]%s partition %d: %s%n", r.key(),
            keyOk ? "" : " (NOT the org id)", r.partition(), e);
      }
      System.out.println(status == 0 ? "OK: " + read.size() + " event(s) read" : "FAILED: nothing readable arrived");
    }
    System.exit(status);
  }
}
