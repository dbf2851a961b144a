package io.tokenledger.producer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.tokenledger.avro.UsageEvent;
import io.tokenledger.infra.Infra;
import io.tokenledger.infra.InfraExtension;
import io.tokenledger.producer.adapters.Responses;
import io.tokenledger.schemas.RegistrySerdes;
import io.tokenledger.schemas.TopicAdmin;
import io.tokenledger.schemas.Topics;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Through a real broker and the real schema registry, read back the way the stream processor reads. */
@ExtendWith(InfraExtension.class)
class UsageTrackerIT {

  private static Topics topics(Infra infra) {
    Topics t = Topics.withPrefix(InfraExtension.uniqueName("tracker") + ".").withPartitions(3);
    TopicAdmin.ensure(Map.of("bootstrap.servers", infra.kafkaBootstrap()), List.of(t.usageEvents()), (short) -1);
    return t;
  }

  private static <V> List<ConsumerRecord<String, V>> readAll(Infra infra, String topic, Deserializer<V> values,
      int expected) {
    Map<String, Object> c = new HashMap<>();
    c.put("bootstrap.servers", infra.kafkaBootstrap());
    c.put("group.id", "it-" + UUID.randomUUID());
    c.put("auto.offset.reset", "earliest");
    c.put("isolation.level", "read_committed");
    List<ConsumerRecord<String, V>> out = new ArrayList<>();
    try (KafkaConsumer<String, V> consumer = new KafkaConsumer<>(c, new StringDeserializer(), values)) {
      consumer.subscribe(List.of(topic));
      await().atMost(Duration.ofSeconds(60)).until(() -> {
        consumer.poll(Duration.ofMillis(200)).forEach(out::add);
        return out.size() >= expected;
      });
      // nothing beyond what was tracked: no duplicates from retries
      consumer.poll(Duration.ofMillis(500)).forEach(out::add);
    }
    return out;
  }

  @Test
  void shouldDeliverEachTrackedEventOnceAndInOrderPerOrg(Infra infra) {
    Topics topics = topics(infra);
    int perOrg = 300;
    List<String> orgs = List.of("acme", "globex", "initech", "umbrella");
    try (UsageTracker tracker = UsageTracker.builder().bootstrapServers(infra.kafkaBootstrap())
        .registryUrl(infra.registryUrl()).serviceName("it-service").topics(topics).build()) {
      for (int i = 0; i < perOrg; i++) {
        for (String org : orgs) {
          assertThat(tracker.track(Usage.builder().orgId(org).userId("u-" + (i % 7)).provider("openai")
              .model("gpt-4o-mini").inputTokens(i).outputTokens(1).metadata("seq", Integer.toString(i)))).isTrue();
        }
      }
      assertThat(tracker.flush(Duration.ofSeconds(30))).isTrue();
      assertThat(tracker.stats()).isEqualTo(new TrackerStats(perOrg * 4L, perOrg * 4L, 0, 0));
    }

    Deserializer<UsageEvent> values = new RegistrySerdes(infra.registryUrl()).value(UsageEvent.class).deserializer();
    List<ConsumerRecord<String, UsageEvent>> records = readAll(infra, topics.usageEvents().name(), values, perOrg * 4);

    assertThat(records).hasSize(perOrg * 4);
    Set<String> ids = new HashSet<>();
    Map<String, List<Long>> seqByOrg = new HashMap<>();
    Map<String, Integer> partitionByOrg = new HashMap<>();
    for (ConsumerRecord<String, UsageEvent> r : records) {
      UsageEvent e = r.value();
      assertThat(r.key()).isEqualTo(e.getOrgId());
      assertThat(e.getService()).isEqualTo("it-service");
      assertThat(ids.add(e.getEventId())).as("event id %s seen once", e.getEventId()).isTrue();
      assertThat(partitionByOrg.computeIfAbsent(r.key(), k -> r.partition())).isEqualTo(r.partition());
      seqByOrg.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(e.getInputTokens());
    }
    List<Long> expected = java.util.stream.LongStream.range(0, perOrg).boxed().toList();
    orgs.forEach(org -> assertThat(seqByOrg.get(org)).as("order of %s", org).isEqualTo(expected));
  }

  @Test
  void shouldWriteTheConfluentWireFormatUnderTheTopicValueSubject(Infra infra) throws Exception {
    Topics topics = topics(infra);
    try (UsageTracker tracker = UsageTracker.builder().bootstrapServers(infra.kafkaBootstrap())
        .registryUrl(infra.registryUrl()).topics(topics).build()) {
      tracker.trackResponse(Usage.builder().orgId("acme").userId("u-1").provider("anthropic"),
          Responses.body("anthropic-message-cache-read-1h.json"));
      assertThat(tracker.flush(Duration.ofSeconds(30))).isTrue();
    }

    ConsumerRecord<String, byte[]> raw =
        readAll(infra, topics.usageEvents().name(), new ByteArrayDeserializer(), 1).get(0);
    assertThat(raw.value()[0]).isZero();
    int schemaId = ByteBuffer.wrap(raw.value(), 1, 4).getInt();
    String ccompat = infra.registryUrl() + "/apis/ccompat/v7";
    HttpClient http = HttpClient.newHttpClient();
    String subjects = http.send(HttpRequest.newBuilder(URI.create(ccompat + "/subjects")).build(),
        HttpResponse.BodyHandlers.ofString()).body();
    assertThat(subjects).contains("\"" + topics.usageEvents().name() + "-value\"");
    HttpResponse<String> schema = http.send(
        HttpRequest.newBuilder(URI.create(ccompat + "/schemas/ids/" + schemaId)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(schema.statusCode()).isEqualTo(200);
    assertThat(schema.body()).contains("UsageEvent");

    UsageEvent e = new RegistrySerdes(infra.registryUrl()).value(UsageEvent.class).deserializer()
        .deserialize(raw.topic(), raw.value());
    assertThat(e.getModel()).isEqualTo("claude-opus-4-1-20250805");
    assertThat(e.getCachedInputTokens()).isEqualTo(100_000);
    assertThat(e.getCacheWrite1hTokens()).isEqualTo(1_000);
    assertThat(new TopicPartition(raw.topic(), raw.partition()).topic()).isEqualTo(topics.usageEvents().name());
  }
}
