package io.tokenledger.producer.adapters;

import static io.tokenledger.producer.adapters.Responses.body;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class GeminiAdapterTest {

  private final UsageAdapter gemini = Adapters.gemini();

  @Test
  void shouldSubtractCachedContentFromThePromptAndReportThoughtsApart() {
    ParsedUsage u = gemini.read(body("gemini-generate-content.json"));

    assertThat(u.model()).isEqualTo("gemini-2.5-flash");
    assertThat(u.inputTokens()).isEqualTo(12403 - 12288);
    assertThat(u.cachedInputTokens()).isEqualTo(12288);
    assertThat(u.outputTokens()).isEqualTo(312);
    assertThat(u.reasoningTokens()).isEqualTo(1007);
    assertThat(u.inputTokens() + u.cachedInputTokens() + u.outputTokens() + u.reasoningTokens()).isEqualTo(13722);
    assertThat(u.complete()).isTrue();
  }

  @Test
  void shouldUseTheLastChunkOfAStreamedResponse() {
    ParsedUsage u = gemini.read(body("gemini-stream.json"));

    assertThat(u.model()).isEqualTo("gemini-2.5-pro");
    assertThat(u.inputTokens()).isEqualTo(9);
    assertThat(u.outputTokens()).isEqualTo(14);
    assertThat(u.reasoningTokens()).isEqualTo(480);
  }

  @Test
  void shouldCountToolUsePromptTokensAsInput() {
    ParsedUsage u = gemini.read("""
        {"usageMetadata":{"promptTokenCount":100,"toolUsePromptTokenCount":40,"candidatesTokenCount":10,
         "totalTokenCount":150},"modelVersion":"gemini-2.5-flash"}""");

    assertThat(u.inputTokens()).isEqualTo(140);
  }

  @Test
  void shouldReadABatchOutputLineAsItsResponse() {
    ParsedUsage u = gemini.read("""
        {"key":"request-1","response":{"candidates":[],"usageMetadata":{"promptTokenCount":20,
         "candidatesTokenCount":5,"totalTokenCount":25},"modelVersion":"gemini-2.5-flash-lite"}}""");

    assertThat(u.batch()).isTrue();
    assertThat(u.inputTokens()).isEqualTo(20);
    assertThat(u.model()).isEqualTo("gemini-2.5-flash-lite");
  }
}
