package io.tokenledger.schemas;

import java.time.Duration;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;

/**
 * Registry-backed Avro serdes writing the Confluent wire format: byte 0, a 4-byte schema id, then Avro
 * binary, through any Confluent-compatible registry API, so producers and consumers in any language
 * interoperate. Schemas are registered under the subject {@code <topic>-value} (topic name strategy) on
 * first use.
 */
public final class RegistrySerdes implements SerdeFactory {

  /** How long {@link #register} keeps asking a registry that is unreachable or failing. */
  public static final Duration REGISTER_PATIENCE = Duration.ofSeconds(60);

  private final RegistryClient registry;

  /** @param registryUrl the registry, in any of the forms {@link RegistryUrl} accepts */
  public RegistrySerdes(String registryUrl) {
    this.registry = RegistryClient.forUrl(registryUrl);
  }

  /**
   * Registers each topic's value schema up front, one at a time. Call it before starting threads that write
   * those topics: it makes later lookups reads, and a registry that is down fails start-up, not a record.
   * A registry that cannot be reached or answers 5xx or 429 is asked again, for up to {@link #REGISTER_PATIENCE}
   * in all: it may be starting, or another instance may be registering the same schemas at that moment
   * (Apicurio's storage then times out on a lock and answers 500, seen with two processors started together).
   * A 409 is the client's to handle ({@link RegistryClient#register}).
   */
  public void register(Map<String, Schema> valueSchemas) {
    long deadline = System.nanoTime() + REGISTER_PATIENCE.toNanos();
    valueSchemas.forEach((topic, schema) -> registerPatiently(topic + "-value", schema, deadline));
  }

  private void registerPatiently(String subject, Schema schema, long deadline) {
    long backoffMs = 100;
    while (true) {
      try {
        registry.register(subject, schema);
        return;
      } catch (RegistryClient.Unavailable e) {
        if (System.nanoTime() + backoffMs * 1_000_000 > deadline) {
          throw e;
        }
        RegistryClient.pause(backoffMs, e);
        backoffMs = Math.min(backoffMs * 2, 5_000);
      }
    }
  }

  public RegistryClient client() {
    return registry;
  }

  @Override
  public <T extends SpecificRecord> Serde<T> value(Class<T> type) {
    return Serdes.serdeFrom(ConfluentAvro.serializer(registry, type), ConfluentAvro.deserializer(registry, type));
  }
}
