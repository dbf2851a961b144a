package io.tokenledger.producer.adapters;

import static io.tokenledger.producer.adapters.Responses.body;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class XaiAdapterTest {

  private final UsageAdapter xai = Adapters.xai();

  @Test
  void shouldNotSubtractReasoningBecauseXaiReportsItBesideCompletionTokens() {
    ParsedUsage u = xai.read(body("xai-chat-reasoning.json"));

    assertThat(u.model()).isEqualTo("grok-4-1-fast-reasoning");
    assertThat(u.inputTokens()).isEqualTo(663 - 654);
    assertThat(u.cachedInputTokens()).isEqualTo(654);
    assertThat(u.outputTokens()).isEqualTo(50);
    assertThat(u.reasoningTokens()).isEqualTo(124);
    assertThat(u.inputTokens() + u.cachedInputTokens() + u.outputTokens() + u.reasoningTokens()).isEqualTo(837);
    assertThat(u.complete()).isTrue();
  }

  @Test
  void shouldSubtractReasoningInXaisResponsesApiWhereOutputIncludesIt() {
    ParsedUsage u = xai.read(body("xai-responses.json"));

    assertThat(u.inputTokens()).isEqualTo(22006 - 192);
    assertThat(u.outputTokens()).isEqualTo(1274 - 1080);
    assertThat(u.reasoningTokens()).isEqualTo(1080);
  }

  @Test
  void shouldReadTheSameXaiBodyCorrectlyThroughTheOpenAiAdapterToo() {
    // total_tokens tells which convention a body follows, whichever OpenAI-compatible adapter reads it
    ParsedUsage u = Adapters.openAi().read(body("xai-chat-reasoning.json"));

    assertThat(u.outputTokens()).isEqualTo(50);
    assertThat(u.reasoningTokens()).isEqualTo(124);
  }
}
