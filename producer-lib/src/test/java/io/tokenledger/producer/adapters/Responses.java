package io.tokenledger.producer.adapters;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/** Realistic provider response bodies, shaped as in each provider's API reference. */
public final class Responses {

  private Responses() {}

  public static String body(String name) {
    try (InputStream in = Responses.class.getResourceAsStream("/responses/" + name)) {
      if (in == null) {
        throw new IllegalArgumentException("no test response " + name);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
