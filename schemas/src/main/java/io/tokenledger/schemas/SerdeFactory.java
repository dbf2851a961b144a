package io.tokenledger.schemas;

import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Serde;

/**
 * Gives a Kafka serde for each record type of the pipeline. Production code takes a factory and never
 * decides the wire format itself: {@link RegistrySerdes} in deployments, {@link PlainAvroSerdes} in unit
 * tests that run without a registry.
 */
public interface SerdeFactory {

  /** A serde for record values of {@code type}. */
  <T extends SpecificRecord> Serde<T> value(Class<T> type);
}
