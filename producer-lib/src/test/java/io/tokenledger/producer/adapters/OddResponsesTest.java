package io.tokenledger.producer.adapters;

import static io.tokenledger.producer.adapters.Responses.body;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class OddResponsesTest {

  @ParameterizedTest
  @ValueSource(strings = {"openai", "anthropic", "google", "xai", "some-vllm"})
  void shouldNeverThrowOnABodyThatIsNotJson(String provider) {
    ParsedUsage u = Adapters.forProvider(provider).read("<html>502 Bad Gateway</html>");

    assertThat(u.status()).isEqualTo(ParsedUsage.INVALID_JSON);
    assertThat(u.inputTokens() + u.outputTokens()).isZero();
  }

  @ParameterizedTest
  @ValueSource(strings = {"openai", "anthropic", "google", "xai"})
  void shouldNeverThrowOnNullEmptyOrScalarBodies(String provider) {
    UsageAdapter a = Adapters.forProvider(provider);

    assertThat(a.read((String) null).status()).isEqualTo(ParsedUsage.INVALID_JSON);
    assertThat(a.read("").status()).isEqualTo(ParsedUsage.INVALID_JSON);
    assertThat(a.read("42").status()).isNotNull();
    assertThat(a.read("[]").status()).isNotNull();
    assertThat(a.read("{\"usage\": 7}").status()).isNotNull();
  }

  @Test
  void shouldClampNegativeCountsToZeroAndFlagThem() {
    ParsedUsage u = Adapters.openAi().read("""
        {"model":"gpt-4o","usage":{"prompt_tokens":-5,"completion_tokens":12}}""");

    assertThat(u.inputTokens()).isZero();
    assertThat(u.outputTokens()).isEqualTo(12);
    assertThat(u.status()).isEqualTo(ParsedUsage.PARTIAL);
    assertThat(u.notes()).anyMatch(n -> n.contains("usage.prompt_tokens is negative"));
  }

  @Test
  void shouldReadNumericStringsButFlagThem() {
    ParsedUsage u = Adapters.anthropic().read("""
        {"type":"message","model":"claude-haiku-4-5","usage":{"input_tokens":"120","output_tokens":30.0}}""");

    assertThat(u.inputTokens()).isEqualTo(120);
    assertThat(u.outputTokens()).isEqualTo(30);
    assertThat(u.status()).isEqualTo(ParsedUsage.PARTIAL);
    assertThat(u.notes()).hasSize(2);
  }

  @Test
  void shouldCountUnreadableFieldsAsZeroAndKeepTheRest() {
    ParsedUsage u = Adapters.gemini().read("""
        {"usageMetadata":{"promptTokenCount":{"text":12},"candidatesTokenCount":"many","thoughtsTokenCount":4},
         "modelVersion":"gemini-2.5-flash"}""");

    assertThat(u.inputTokens()).isZero();
    assertThat(u.outputTokens()).isZero();
    assertThat(u.reasoningTokens()).isEqualTo(4);
    assertThat(u.status()).isEqualTo(ParsedUsage.PARTIAL);
  }

  @Test
  void shouldNotCountCachedTokensTwiceWhenTheyExceedThePrompt() {
    ParsedUsage u = Adapters.openAi().read("""
        {"model":"gpt-4o","usage":{"prompt_tokens":100,"completion_tokens":1,
         "prompt_tokens_details":{"cached_tokens":150}}}""");

    assertThat(u.inputTokens()).isZero();
    assertThat(u.cachedInputTokens()).isEqualTo(150);
    assertThat(u.status()).isEqualTo(ParsedUsage.PARTIAL);
  }

  @Test
  void shouldIgnoreUnknownExtraFields() {
    ParsedUsage u = Adapters.openAi().read("""
        {"model":"gpt-4o","usage":{"prompt_tokens":10,"completion_tokens":2,"total_tokens":12,
         "cost_in_usd_ticks":123,"future_field":{"x":[1,2]}},"extra":true}""");

    assertThat(u.complete()).isTrue();
    assertThat(u.inputTokens()).isEqualTo(10);
  }

  @Test
  void shouldFlagAUsageBlockWithNoKnownCounts() {
    ParsedUsage u = Adapters.openAi().read("{\"model\":\"m\",\"usage\":{\"tokens\":12}}");

    assertThat(u.status()).isEqualTo(ParsedUsage.PARTIAL);
    assertThat(u.model()).isEqualTo("m");
  }

  @Test
  void shouldDetectEachProvidersShapeForAnUnknownProvider() {
    UsageAdapter detect = Adapters.forProvider("my-gateway");

    assertThat(detect.read(body("anthropic-message.json")).adapter()).isEqualTo("anthropic.messages");
    assertThat(detect.read(body("gemini-generate-content.json")).adapter()).isEqualTo("google.gemini");
    assertThat(detect.read(body("openai-responses.json")).adapter()).isEqualTo("openai.responses");
    assertThat(detect.read(body("openai-chat-completion.json")).adapter()).isEqualTo("openai.chat");
    assertThat(detect.read(body("anthropic-batch-result.json")).inputTokens()).isEqualTo(1830);
  }
}
