package io.tokenledger.schemas;

import io.apicurio.registry.serde.Legacy4ByteIdHandler;
import io.apicurio.registry.serde.SerdeConfig;
import io.apicurio.registry.serde.avro.AvroKafkaDeserializer;
import io.apicurio.registry.serde.avro.AvroKafkaSerdeConfig;
import io.apicurio.registry.serde.avro.AvroKafkaSerializer;
import java.util.HashMap;
import java.util.Map;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Registry-backed Avro serdes writing the Confluent wire format: byte 0, a 4-byte schema id, then Avro
 * binary. The id is the registry's content id, which its Confluent-compatible API resolves, so producers and
 * consumers in any language interoperate. Schemas are registered under the subject {@code <topic>-value}
 * (topic name strategy) on first use.
 */
public final class RegistrySerdes implements SerdeFactory {

  private final Map<String, Object> config;

  /**
   * @param registryUrl the registry, in any of the forms {@link RegistryUrl} accepts
   * @param extra further {@code apicurio.registry.*} settings (auth, caching); they win over the defaults
   */
  public RegistrySerdes(String registryUrl, Map<String, ?> extra) {
    Map<String, Object> c = new HashMap<>();
    c.put(SerdeConfig.REGISTRY_URL, RegistryUrl.parse(registryUrl).apicurioApi());
    c.put(SerdeConfig.AUTO_REGISTER_ARTIFACT, true);
    // Confluent wire format: no schema id in headers, a 4-byte content id after the magic byte.
    c.put(SerdeConfig.ENABLE_HEADERS, false);
    c.put(SerdeConfig.ID_HANDLER, Legacy4ByteIdHandler.class.getName());
    c.put(SerdeConfig.USE_ID, "contentId");
    c.put(AvroKafkaSerdeConfig.USE_SPECIFIC_AVRO_READER, true);
    c.putAll(extra);
    this.config = Map.copyOf(c);
  }

  public RegistrySerdes(String registryUrl) {
    this(registryUrl, Map.of());
  }

  /** The serde settings, e.g. to pass to a plain Kafka client as {@code value.serializer} configs. */
  public Map<String, Object> config() {
    return config;
  }

  @Override
  public <T extends SpecificRecord> Serde<T> value(Class<T> type) {
    Serializer<T> serializer = new AvroKafkaSerializer<>();
    Deserializer<T> deserializer = new AvroKafkaDeserializer<>();
    serializer.configure(config, false);
    deserializer.configure(config, false);
    return Serdes.serdeFrom(serializer, deserializer);
  }
}
