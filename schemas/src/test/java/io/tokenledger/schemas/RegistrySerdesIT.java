package io.tokenledger.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import io.tokenledger.avro.UsageEvent;
import io.tokenledger.infra.Infra;
import io.tokenledger.infra.InfraExtension;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.avro.Schema;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(InfraExtension.class)
class RegistrySerdesIT {

  @Test
  void shouldRefuseAnUnknownIdAndNotAskTheRegistryAgainAtOnce(Infra infra) {
    RegistryClient client = new RegistryClient(RegistryUrl.parse(infra.registryUrl()));
    int bogus = 987_654_321;
    // the registry's own answer first, then the remembered one (no HTTP status: it did not ask again)
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> client.schema(bogus))
        .isInstanceOf(org.apache.kafka.common.errors.SerializationException.class).hasMessageContaining("HTTP 404");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> client.schema(bogus))
        .isInstanceOf(org.apache.kafka.common.errors.SerializationException.class)
        .hasMessageContaining("unknown to the registry").hasMessageNotContaining("HTTP");
    // a known id still resolves
    int id = client.register("it-known-" + bogus, UsageEvent.getClassSchema());
    assertThat(client.schema(id)).isEqualTo(UsageEvent.getClassSchema());
  }

  @Test
  void shouldRegisterOneSubjectFromManyClientsStartedTogether(Infra infra) throws Exception {
    // processors or services started together register the same new subject at the same moment; Apicurio
    // answers 409 ("already exists") to a creator that lost the race, which used to stop a processor's
    // start-up and drop a service's first event
    int clients = 8;
    for (int round = 0; round < 5; round++) {
      String subject = InfraExtension.uniqueName("together") + "-value";
      CountDownLatch go = new CountDownLatch(1);
      ExecutorService pool = Executors.newFixedThreadPool(clients);
      try {
        List<Future<Integer>> ids = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
          RegistryClient client = new RegistryClient(RegistryUrl.parse(infra.registryUrl()));
          ids.add(pool.submit(() -> {
            go.await();
            return client.register(subject, UsageEvent.getClassSchema());
          }));
        }
        go.countDown();
        Set<Integer> distinct = new HashSet<>();
        for (Future<Integer> id : ids) {
          distinct.add(id.get(60, TimeUnit.SECONDS));
        }
        assertThat(distinct).hasSize(1);
      } finally {
        pool.shutdownNow();
        assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
      }
    }
  }

  @Test
  void shouldRefuseAnIncompatibleSchemaAfterTwoMoreTries(Infra infra) {
    String subject = InfraExtension.uniqueName("incompatible") + "-value";
    RegistryClient client = new RegistryClient(RegistryUrl.parse(infra.registryUrl()));
    client.register(subject, new Schema.Parser().parse(
        "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"string\"}]}"));
    Schema incompatible = new Schema.Parser().parse(
        "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"}]}");
    long started = System.nanoTime();
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> client.register(subject, incompatible))
        .isInstanceOf(RegistryClient.Conflict.class).hasMessageContaining("HTTP 409");
    assertThat(Duration.ofNanos(System.nanoTime() - started)).isBetween(Duration.ofMillis(300), Duration.ofSeconds(10));
  }

  @Test
  void shouldWriteTheConfluentWireFormatWithAnIdTheCompatibleApiResolves(Infra infra) throws Exception {
    String topic = Topics.withPrefix(InfraExtension.uniqueName("serde") + ".").usageEvents().name();
    String bootstrap = infra.kafkaBootstrap();
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
      admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get();
    }
    RegistrySerdes serdes = new RegistrySerdes(infra.registryUrl());
    Serde<UsageEvent> serde = serdes.value(UsageEvent.class);
    UsageEvent sent = PlainAvroSerdesTest.event();

    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("acks", "all");
    try (KafkaProducer<String, UsageEvent> producer =
        new KafkaProducer<>(p, new StringSerializer(), serde.serializer())) {
      producer.send(new ProducerRecord<>(topic, sent.getOrgId(), sent)).get();
    }

    Properties c = new Properties();
    c.put("bootstrap.servers", bootstrap);
    c.put("group.id", topic);
    c.put("auto.offset.reset", "earliest");
    byte[] raw;
    try (KafkaConsumer<String, byte[]> consumer =
        new KafkaConsumer<>(c, new StringDeserializer(), new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(topic));
      ConsumerRecord<String, byte[]> record = null;
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (record == null && System.nanoTime() < deadline) {
        for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(500))) {
          record = r;
        }
      }
      assertThat(record).as("record on " + topic).isNotNull();
      assertThat(record.key()).isEqualTo("org-acme");
      raw = record.value();
    }

    assertThat(raw[0]).as("magic byte").isZero();
    int id = ByteBuffer.wrap(raw, 1, 4).getInt();
    HttpResponse<String> schema = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create(infra.registryUrl() + "/apis/ccompat/v7/schemas/ids/" + id)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(schema.statusCode()).isEqualTo(200);
    String schemaText = new com.fasterxml.jackson.databind.ObjectMapper().readTree(schema.body()).get("schema").asText();
    assertThat(new Schema.Parser().parse(schemaText)).isEqualTo(UsageEvent.getClassSchema());

    UsageEvent back = serde.deserializer().deserialize(topic, raw);
    assertThat(back).isEqualTo(sent);

    // other languages find the schema under the topic's value subject
    HttpResponse<String> subjects = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create(infra.registryUrl() + "/apis/ccompat/v7/subjects")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(subjects.body()).contains(topic + "-value");
  }
}
