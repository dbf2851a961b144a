package io.tokenledger.stack;

import static org.assertj.core.api.Assertions.assertThat;

import io.tokenledger.infra.LocalPostgres;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The harness's PostgreSQL baseline against a real server: every call stored once, costs exact to the last digit. */
class PostgresBaselineIT {

  static LocalPostgres pg;

  @BeforeAll
  static void startPostgres() {
    // under target/, which other users can traverse when the server runs as the unprivileged user
    pg = LocalPostgres.start(Path.of("target", "postgres-it").toAbsolutePath(), Duration.ofSeconds(120));
  }

  @AfterAll
  static void stopPostgres() {
    if (pg != null) {
      pg.close();
    }
  }

  @Test
  void shouldStoreEveryCallOnceWithTheExactCostTotal() throws Exception {
    List<PostgresBaseline.Row> calls = new ArrayList<>(PostgresBaseline.generate(
        Path.of("..", "catalog", "pricing-catalog.json"), 2_000, 7));
    // a 10-token call to a $0.02-per-million model: the seed's NUMERIC(10, 6) would have stored zero
    calls.add(new PostgresBaseline.Row("org-tiny", "u1", "openai", "text-embedding-3-small", 10, 0, 0, 0, 0, 0, false,
        "/api/embed", "embedding", new BigDecimal("0.000000200000")));
    // a call with no price: a row, but no cost
    calls.add(new PostgresBaseline.Row("org-tiny", "u1", "selfhosted", "llama-1", 500, 0, 0, 0, 100, 0, false,
        "/api/chat", "chat", null));
    BigDecimal expected = calls.stream().map(PostgresBaseline.Row::cost).filter(Objects::nonNull)
        .reduce(BigDecimal.ZERO, BigDecimal::add);

    PostgresBaseline.Result r = PostgresBaseline.run(pg, calls, 4);
    System.out.println(r.summary());

    assertThat(r.rowsStored()).isEqualTo(calls.size());
    assertThat(r.costSent()).isEqualByComparingTo(expected);
    assertThat(r.costStored()).isEqualByComparingTo(expected);
    assertThat(r.costInDailyView()).isEqualByComparingTo(expected);
    assertThat(r.orgsMismatched()).isZero();
    assertThat(r.ok()).isTrue();
    assertThat(r.eventsPerSecond()).isPositive();
    assertThat(r.p99Micros()).isGreaterThanOrEqualTo(r.p50Micros()).isPositive();
    try (Connection c = pg.connect(); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT estimated_cost_usd FROM ai_usage_logs WHERE model = 'text-embedding-3-small' "
            + "AND tokens_used = 10")) {
      assertThat(rs.next()).isTrue();
      assertThat(rs.getBigDecimal(1)).isEqualByComparingTo("0.0000002");
    }
  }

  @Test
  void shouldRunWithStockDurabilityAndNeverAsRoot() throws Exception {
    try (Connection c = pg.connect(); Statement s = c.createStatement()) {
      assertThat(setting(s, "fsync")).isEqualTo("on");
      assertThat(setting(s, "synchronous_commit")).isEqualTo("on");
      assertThat(setting(s, "listen_addresses")).isEqualTo("127.0.0.1");
    }
    String owner = ProcessHandle.of(pg.pid()).flatMap(h -> h.info().user()).orElse("?");
    assertThat(owner).isNotEqualTo("root");
    assertThat(pg.memoryKb()).isPositive();
  }

  private static String setting(Statement s, String name) throws Exception {
    try (ResultSet rs = s.executeQuery("SHOW " + name)) {
      rs.next();
      return rs.getString(1);
    }
  }
}
