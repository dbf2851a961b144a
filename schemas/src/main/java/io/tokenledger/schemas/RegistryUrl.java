package io.tokenledger.schemas;

import java.net.URI;

/**
 * The schema registry's addresses, derived from one setting. Users may give the registry's root
 * ({@code http://host:8081}), its Confluent-compatible API ({@code …/apis/ccompat/v7}, what clients in
 * other languages use) or Apicurio's own API ({@code …/apis/registry/v2}, what the Java serdes use).
 */
public record RegistryUrl(String root) {

  private static final String CCOMPAT = "/apis/ccompat/v7";
  private static final String APICURIO = "/apis/registry/v2";

  public RegistryUrl {
    URI uri = URI.create(root);
    if (uri.getScheme() == null || uri.getHost() == null) {
      throw new IllegalArgumentException("schema registry URL [" + root + "] is not an absolute http(s) URL");
    }
  }

  public static RegistryUrl parse(String url) {
    String u = url.trim();
    while (u.endsWith("/")) {
      u = u.substring(0, u.length() - 1);
    }
    for (String suffix : new String[] {CCOMPAT, APICURIO}) {
      if (u.endsWith(suffix)) {
        u = u.substring(0, u.length() - suffix.length());
      }
    }
    return new RegistryUrl(u);
  }

  /** The Confluent-compatible API: register and fetch schemas by subject and id. */
  public String confluentApi() {
    return root + CCOMPAT;
  }

  /** Apicurio's native API, used by the Java serdes. */
  public String apicurioApi() {
    return root + APICURIO;
  }
}
