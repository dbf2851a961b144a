package io.tokenledger.processor;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

class ProcessorConfigTest {

  @Test
  void shouldGiveTheClientsOurDefaultsUnderTheirPrefixes() {
    Properties p = ProcessorConfig.fromEnvironment(Map.of()).streamsProperties(8090);
    assertThat(p).containsEntry("producer.linger.ms", 10).containsEntry("main.consumer.fetch.min.bytes", 64 * 1024)
        .containsEntry("main.consumer.fetch.max.wait.ms", 20).containsEntry("consumer.max.poll.records", 2000);
  }

  @Test
  void shouldLetAnOperatorsSettingWinWithOrWithoutItsPrefix() {
    // Kafka Streams would let our prefixed default win over a plain setting: it must not be set at all
    Properties p = ProcessorConfig.fromEnvironment(Map.of("TOKENLEDGER_KAFKA_LINGER_MS", "5",
        "TOKENLEDGER_KAFKA_FETCH_MIN_BYTES", "1", "TOKENLEDGER_KAFKA_MAIN_CONSUMER_FETCH_MAX_WAIT_MS", "500"))
        .streamsProperties(8090);
    assertThat(p).containsEntry("linger.ms", "5").doesNotContainKey("producer.linger.ms")
        .containsEntry("fetch.min.bytes", "1").doesNotContainKey("main.consumer.fetch.min.bytes")
        .containsEntry("main.consumer.fetch.max.wait.ms", "500")
        .containsEntry("producer.batch.size", 256 * 1024);
  }
}
