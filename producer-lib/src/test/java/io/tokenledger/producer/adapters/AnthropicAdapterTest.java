package io.tokenledger.producer.adapters;

import static io.tokenledger.producer.adapters.Responses.body;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class AnthropicAdapterTest {

  private final UsageAdapter anthropic = Adapters.anthropic();

  @Test
  void shouldKeepInputTokensAsReportedBecauseTheyExcludeCacheTokens() {
    ParsedUsage u = anthropic.read(body("anthropic-message.json"));

    assertThat(u.model()).isEqualTo("claude-sonnet-4-5-20250929");
    assertThat(u.inputTokens()).isEqualTo(21);
    assertThat(u.cacheWrite5mTokens()).isEqualTo(188086);
    assertThat(u.cacheWrite1hTokens()).isZero();
    assertThat(u.cachedInputTokens()).isZero();
    assertThat(u.outputTokens()).isEqualTo(393);
    assertThat(u.reasoningTokens()).isZero();
    assertThat(u.complete()).isTrue();
  }

  @Test
  void shouldSplitCacheWritesBetweenFiveMinuteAndOneHour() {
    ParsedUsage u = anthropic.read(body("anthropic-message-cache-read-1h.json"));

    assertThat(u.inputTokens()).isEqualTo(50);
    assertThat(u.cachedInputTokens()).isEqualTo(100000);
    assertThat(u.cacheWrite5mTokens()).isEqualTo(500);
    assertThat(u.cacheWrite1hTokens()).isEqualTo(1000);
    // thinking is inside output_tokens and billed as output
    assertThat(u.outputTokens()).isEqualTo(2100);
    assertThat(u.complete()).isTrue();
  }

  @Test
  void shouldCountCacheWritesAsFiveMinuteWhenThereIsNoBreakdown() {
    ParsedUsage u = anthropic.read(body("anthropic-message-no-breakdown.json"));

    assertThat(u.inputTokens()).isEqualTo(12);
    assertThat(u.cachedInputTokens()).isEqualTo(4096);
    assertThat(u.cacheWrite5mTokens()).isEqualTo(2048);
    assertThat(u.cacheWrite1hTokens()).isZero();
    assertThat(u.complete()).isTrue();
  }

  @Test
  void shouldReadABatchResultAsItsMessageAndMarkItBatch() {
    ParsedUsage u = anthropic.read(body("anthropic-batch-result.json"));

    assertThat(u.batch()).isTrue();
    assertThat(u.model()).isEqualTo("claude-sonnet-4-20250514");
    assertThat(u.inputTokens()).isEqualTo(1830);
    assertThat(u.outputTokens()).isEqualTo(245);
  }

  @Test
  void shouldFlagAnErrorBodyAsMissingUsage() {
    ParsedUsage u = anthropic.read(body("anthropic-error.json"));

    assertThat(u.status()).isEqualTo(ParsedUsage.MISSING);
    assertThat(u.model()).isNull();
  }

  @Test
  void shouldAssignUnsplitCacheWritesToFiveMinutesWithANote() {
    ParsedUsage u = anthropic.read("""
        {"type":"message","model":"claude-sonnet-4-5","usage":{"input_tokens":5,"output_tokens":7,
         "cache_creation_input_tokens":300,"cache_creation":{"ephemeral_1h_input_tokens":100}}}""");

    assertThat(u.cacheWrite1hTokens()).isEqualTo(100);
    assertThat(u.cacheWrite5mTokens()).isEqualTo(200);
    assertThat(u.status()).isEqualTo(ParsedUsage.PARTIAL);
  }
}
