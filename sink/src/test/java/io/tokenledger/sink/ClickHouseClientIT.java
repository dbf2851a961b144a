package io.tokenledger.sink;

import static org.assertj.core.api.Assertions.assertThat;

import com.clickhouse.client.api.Client;
import com.clickhouse.client.api.query.QueryResponse;
import com.clickhouse.client.api.query.QuerySettings;
import com.clickhouse.data.ClickHouseFormat;
import io.tokenledger.infra.Infra;
import io.tokenledger.infra.InfraExtension;
import java.io.ByteArrayInputStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The ClickHouse Java client against the real server: DDL, a JSONEachRow insert, a read in a portable format. */
@ExtendWith(InfraExtension.class)
class ClickHouseClientIT {

  @Test
  void shouldInsertRowsAndReadThemBackExactly(Infra infra) throws Exception {
    Infra.ClickHouseEndpoint ch = infra.clickhouse();
    String table = InfraExtension.uniqueName("roundtrip");
    try (Client client = new Client.Builder().addEndpoint(ch.url()).setUsername(ch.user()).setPassword(ch.password())
        .compressServerResponse(false).build()) {
      client.execute("CREATE TABLE " + table + " (id String, at DateTime('UTC'), cost Decimal(38, 12)) "
          + "ENGINE = MergeTree() PARTITION BY toYYYYMM(at) ORDER BY (id, at)").get(30, TimeUnit.SECONDS);

      String rows = """
          {"id":"a","at":"2026-11-24 10:00:00","cost":0.000000200000}
          {"id":"b","at":"2026-11-30 23:59:59","cost":123456789.123456789012}
          """;
      client.insert(table, new ByteArrayInputStream(rows.getBytes(StandardCharsets.UTF_8)), ClickHouseFormat.JSONEachRow)
          .get(30, TimeUnit.SECONDS).close();

      String out;
      try (QueryResponse r = client.query("SELECT id, at, toString(cost) FROM " + table + " ORDER BY id",
          new QuerySettings().setFormat(ClickHouseFormat.TabSeparated)).get(30, TimeUnit.SECONDS)) {
        out = new String(r.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      }
      // Servers differ in trailing zeros (older ones print the full scale): compare the numbers.
      String[] lines = out.split("\n");
      assertThat(lines).hasSize(2);
      String[] a = lines[0].split("\t");
      String[] b = lines[1].split("\t");
      assertThat(a[0]).isEqualTo("a");
      assertThat(a[1]).isEqualTo("2026-11-24 10:00:00");
      assertThat(new BigDecimal(a[2])).isEqualByComparingTo("0.0000002");
      assertThat(b[0]).isEqualTo("b");
      assertThat(new BigDecimal(b[2])).isEqualByComparingTo("123456789.123456789012");
    }
  }
}
