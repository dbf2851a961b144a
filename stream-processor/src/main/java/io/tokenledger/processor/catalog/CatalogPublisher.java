package io.tokenledger.processor.catalog;

import io.tokenledger.avro.ModelPricing;
import io.tokenledger.schemas.SerdeFactory;
import io.tokenledger.schemas.TopicSpec;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Publishes a catalog file to the compacted pricing topic: only what is new, never rewriting history. */
public final class CatalogPublisher {

  private static final Logger LOG = LoggerFactory.getLogger(CatalogPublisher.class);

  private CatalogPublisher() {}

  public static CatalogMerge.Plan publish(Map<String, Object> clientConfig, SerdeFactory serdes, TopicSpec topic,
      Map<String, ModelPricing> file) {
    Serde<ModelPricing> serde = serdes.value(ModelPricing.class);
    Map<String, ModelPricing> published = readAll(clientConfig, serde, topic.name());
    CatalogMerge.Plan plan = CatalogMerge.plan(published, file);
    if (plan.toPublish().isEmpty()) {
      return plan;
    }
    Map<String, Object> p = new HashMap<>(clientConfig);
    p.put("acks", "all");
    p.put("enable.idempotence", true);
    try (KafkaProducer<String, ModelPricing> producer =
        new KafkaProducer<>(p, new StringSerializer(), serde.serializer())) {
      plan.toPublish().forEach((key, value) -> producer.send(new ProducerRecord<>(topic.name(), key, value)));
      producer.flush();
    }
    LOG.info("published [{}] model(s), [{}] new version(s) to [{}]", plan.toPublish().size(), plan.newVersions(),
        topic.name());
    return plan;
  }

  /** The latest value of every key in a compacted topic, read from the beginning to the current end. */
  static Map<String, ModelPricing> readAll(Map<String, Object> clientConfig, Serde<ModelPricing> serde, String topic) {
    Map<String, Object> c = new HashMap<>(clientConfig);
    c.put("group.id", "tokenledger-catalog-reader-" + UUID.randomUUID());
    c.put("enable.auto.commit", false);
    Map<String, ModelPricing> latest = new HashMap<>();
    try (KafkaConsumer<String, ModelPricing> consumer =
        new KafkaConsumer<>(c, new StringDeserializer(), serde.deserializer())) {
      List<TopicPartition> parts = consumer.partitionsFor(topic, Duration.ofSeconds(30)).stream()
          .map(pi -> new TopicPartition(topic, pi.partition())).toList();
      consumer.assign(parts);
      consumer.seekToBeginning(parts);
      Map<TopicPartition, Long> end = consumer.endOffsets(parts, Duration.ofSeconds(30));
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (parts.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("timed out reading " + topic + " to its end");
        }
        for (ConsumerRecord<String, ModelPricing> r : consumer.poll(Duration.ofMillis(500))) {
          if (r.value() == null) {
            latest.remove(r.key());
          } else {
            latest.put(r.key(), r.value());
          }
        }
      }
    }
    return latest;
  }
}
