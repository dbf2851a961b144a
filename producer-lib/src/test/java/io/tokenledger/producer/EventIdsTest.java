package io.tokenledger.producer;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class EventIdsTest {

  @Test
  void shouldBeVersion7WithTheTimestampInTheHighBits() {
    long ms = 1_753_370_834_123L;
    UUID id = EventIds.v7(ms);

    assertThat(id.version()).isEqualTo(7);
    assertThat(id.variant()).isEqualTo(2);
    assertThat(id.getMostSignificantBits() >>> 16).isEqualTo(ms);
  }

  @Test
  void shouldSortByTimeAsStrings() {
    String earlier = EventIds.v7(1_000_000L).toString();
    String later = EventIds.v7(1_000_001L).toString();

    assertThat(earlier).isLessThan(later);
  }

  @Test
  void shouldNotRepeatWithinOneMillisecond() {
    Set<UUID> ids = new HashSet<>();
    for (int i = 0; i < 100_000; i++) {
      ids.add(EventIds.v7(42L));
    }
    assertThat(ids).hasSize(100_000);
  }
}
