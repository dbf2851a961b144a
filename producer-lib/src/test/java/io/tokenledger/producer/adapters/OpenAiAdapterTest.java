package io.tokenledger.producer.adapters;

import static io.tokenledger.producer.adapters.Responses.body;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class OpenAiAdapterTest {

  private final UsageAdapter openai = Adapters.openAi();

  @Test
  void shouldSubtractCachedTokensFromPromptTokensInChatCompletions() {
    ParsedUsage u = openai.read(body("openai-chat-completion.json"));

    assertThat(u.model()).isEqualTo("gpt-4o-2024-08-06");
    assertThat(u.inputTokens()).isEqualTo(2006 - 1920);
    assertThat(u.cachedInputTokens()).isEqualTo(1920);
    assertThat(u.outputTokens()).isEqualTo(300);
    assertThat(u.reasoningTokens()).isZero();
    assertThat(u.cacheWrite5mTokens() + u.cacheWrite1hTokens()).isZero();
    assertThat(u.complete()).isTrue();
    assertThat(u.adapter()).isEqualTo("openai.chat");
  }

  @Test
  void shouldSubtractReasoningTokensFromCompletionTokensInChatCompletions() {
    ParsedUsage u = openai.read(body("openai-chat-reasoning.json"));

    assertThat(u.inputTokens()).isEqualTo(1536 - 1024);
    assertThat(u.cachedInputTokens()).isEqualTo(1024);
    assertThat(u.outputTokens()).isEqualTo(2150 - 1792);
    assertThat(u.reasoningTokens()).isEqualTo(1792);
    // every billed token is counted exactly once
    assertThat(u.inputTokens() + u.cachedInputTokens() + u.outputTokens() + u.reasoningTokens()).isEqualTo(3686);
  }

  @Test
  void shouldNormalizeTheResponsesApiTheSameWay() {
    ParsedUsage u = openai.read(body("openai-responses.json"));

    assertThat(u.model()).isEqualTo("o3-2025-04-16");
    assertThat(u.inputTokens()).isEqualTo(5234 - 4096);
    assertThat(u.cachedInputTokens()).isEqualTo(4096);
    assertThat(u.outputTokens()).isEqualTo(1187 - 1024);
    assertThat(u.reasoningTokens()).isEqualTo(1024);
    assertThat(u.adapter()).isEqualTo("openai.responses");
    assertThat(u.complete()).isTrue();
  }

  @Test
  void shouldReadEmbeddingsWhichHaveOnlyPromptTokens() {
    ParsedUsage u = openai.read(body("openai-embedding.json"));

    assertThat(u.model()).isEqualTo("text-embedding-3-small");
    assertThat(u.inputTokens()).isEqualTo(8);
    assertThat(u.outputTokens()).isZero();
    assertThat(u.complete()).isTrue();
  }

  @Test
  void shouldReadABatchOutputLineAsItsBodyAndMarkItBatch() {
    ParsedUsage u = openai.read(body("openai-batch-output-line.json"));

    assertThat(u.batch()).isTrue();
    assertThat(u.model()).isEqualTo("gpt-4o-mini-2024-07-18");
    assertThat(u.inputTokens()).isEqualTo(412);
    assertThat(u.outputTokens()).isEqualTo(96);
  }

  @Test
  void shouldFlagAnErrorBodyAsMissingUsage() {
    ParsedUsage u = openai.read(body("openai-error.json"));

    assertThat(u.status()).isEqualTo(ParsedUsage.MISSING);
    assertThat(u.inputTokens() + u.outputTokens()).isZero();
    assertThat(u.notes()).containsExactly("response has no usage block");
  }

  @Test
  void shouldTrustTotalTokensWhenAProxyReportsReasoningOutsideTheCompletion() {
    ParsedUsage u = openai.read("""
        {"model":"o3-mini","usage":{"prompt_tokens":100,"completion_tokens":20,"total_tokens":200,
         "completion_tokens_details":{"reasoning_tokens":80}}}""");

    assertThat(u.outputTokens()).isEqualTo(20);
    assertThat(u.reasoningTokens()).isEqualTo(80);
  }
}
