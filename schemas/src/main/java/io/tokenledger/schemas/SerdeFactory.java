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

  /**
   * A serde for values of {@code type} that may write a record this thread has just read, held in the value,
   * as the bytes it was read from (see {@link ConfluentAvro}); the same bytes on the wire as {@link #value}'s.
   * Only for code that never changes a record it has read in place.
   */
  default <T extends SpecificRecord> Serde<T> valueCopyingReadRecords(Class<T> type) {
    return value(type);
  }
}
