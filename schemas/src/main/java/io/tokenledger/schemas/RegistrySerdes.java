package io.tokenledger.schemas;

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

  private final RegistryClient registry;

  /** @param registryUrl the registry, in any of the forms {@link RegistryUrl} accepts */
  public RegistrySerdes(String registryUrl) {
    this.registry = RegistryClient.forUrl(registryUrl);
  }

  /**
   * Registers each topic's value schema up front, one at a time. Call it before starting threads that write
   * those topics: it makes later lookups reads, and a registry that is down fails start-up, not a record.
   */
  public void register(Map<String, Schema> valueSchemas) {
    valueSchemas.forEach((topic, schema) -> registry.register(topic + "-value", schema));
  }

  public RegistryClient client() {
    return registry;
  }

  @Override
  public <T extends SpecificRecord> Serde<T> value(Class<T> type) {
    return Serdes.serdeFrom(ConfluentAvro.serializer(registry, type), ConfluentAvro.deserializer(registry, type));
  }
}
