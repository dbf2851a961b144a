package io.tokenledger.infra;

/**
 * Where the running servers answer. {@code registryUrl} is the registry's root; its Confluent-compatible API
 * is at {@code registryUrl + "/apis/ccompat/v7"}. {@code clickhouseUrl} is ClickHouse's HTTP interface.
 */
public record Endpoints(String kafkaBootstrap, String registryUrl, String clickhouseUrl, String clickhouseUser,
    String clickhousePassword) {

  public String confluentRegistryUrl() {
    return registryUrl + "/apis/ccompat/v7";
  }
}
