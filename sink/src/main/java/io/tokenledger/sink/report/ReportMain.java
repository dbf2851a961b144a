package io.tokenledger.sink.report;

import io.tokenledger.sink.ClickHouse;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code report [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--org ORG] [--csv] [--page N] [--page-size N]
 * [SECTION...]}: prints the cost report for [from, to) (default: this month so far). Reads CLICKHOUSE_URL,
 * CLICKHOUSE_USER, CLICKHOUSE_PASSWORD, CLICKHOUSE_DATABASE like the sink.
 */
public final class ReportMain {

  static {
    io.tokenledger.runtime.ServiceLogging.useDefaults(); // before the first logger
  }

  private ReportMain() {}

  public static void main(String[] args) {
    LocalDate today = LocalDate.now(ZoneOffset.UTC);
    LocalDate from = today.withDayOfMonth(1);
    LocalDate to = today.plusDays(1);
    String org = null;
    boolean csv = false;
    int page = 1;
    int pageSize = 50;
    List<String> only = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--from" -> from = LocalDate.parse(args[++i]);
        case "--to" -> to = LocalDate.parse(args[++i]);
        case "--org" -> org = args[++i];
        case "--csv" -> csv = true;
        case "--page" -> page = Integer.parseInt(args[++i]);
        case "--page-size" -> pageSize = Integer.parseInt(args[++i]);
        case "-h", "--help" -> {
          System.out.println("report [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--org ORG] [--csv] [--page N] [--page-size N] "
              + "[SECTION...]\nsections: totals, by model, by provider, by org, by user, by endpoint, daily, compared, top, "
              + "unpriced, records");
          return;
        }
        default -> only.add(args[i]);
      }
    }
    Map<String, String> env = System.getenv();
    String db = env.getOrDefault("CLICKHOUSE_DATABASE", "tokenledger");
    try (ClickHouse ch = new ClickHouse(env.getOrDefault("CLICKHOUSE_URL", "http://localhost:8123"),
        env.getOrDefault("CLICKHOUSE_USER", "default"), env.getOrDefault("CLICKHOUSE_PASSWORD", ""), null, 60_000)) {
      if (!csv) {
        System.out.println("Token Ledger cost report, " + from + " to " + to + " (exclusive)" + (org == null ? "" : ", org " + org));
      }
      Report.print(ch, db, new Report.Period(from, to, org), only, csv, page, pageSize, System.out);
    }
  }
}
