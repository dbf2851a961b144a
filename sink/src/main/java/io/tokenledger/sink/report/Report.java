package io.tokenledger.sink.report;

import io.tokenledger.sink.ClickHouse;
import java.io.PrintStream;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The questions analysts and finance ask, as SQL over the sink's tables for a period [from, to) and
 * optionally one org: totals; by model, provider, user and endpoint; daily costs; comparison with the
 * previous period of the same length; top spenders; unpriced usage; the individual records, paged.
 * Every query runs on old (18.16) and current ClickHouse servers. Printed as aligned tables or CSV.
 */
public final class Report {

  /** A period and an optional org filter; {@code to} is exclusive. */
  public record Period(LocalDate from, LocalDate to, String org) {

    String where(String timeColumn) {
      String w = timeColumn + " >= toDateTime('" + from + " 00:00:00', 'UTC') AND " + timeColumn + " < toDateTime('" + to
          + " 00:00:00', 'UTC')";
      return org == null ? w : w + " AND org_id = '" + org.replace("'", "''") + "'";
    }

    String whereDay() {
      String w = "day >= toDate('" + from + "') AND day < toDate('" + to + "')";
      return org == null ? w : w + " AND org_id = '" + org.replace("'", "''") + "'";
    }

    Period previous() {
      long days = to.toEpochDay() - from.toEpochDay();
      return new Period(from.minusDays(days), from, org);
    }
  }

  private Report() {}

  /** The report's sections: title → SQL (tables qualified with {@code db}). */
  public static Map<String, String> queries(String db, Period p, int page, int pageSize) {
    Map<String, String> q = new LinkedHashMap<>();
    String costs = db + ".usage_costs";
    String daily = db + ".usage_daily";
    q.put("Totals", "SELECT count() AS calls, sum(total_tokens) AS tokens, sum(input_tokens) AS input, "
        + "sum(cached_input_tokens) AS cached_input, sum(output_tokens) AS output, sum(reasoning_tokens) AS reasoning, "
        + "toString(sum(cost_usd)) AS cost FROM " + costs + " WHERE " + p.where("event_time"));
    q.put("By model", groupBy(daily, p, "provider, model"));
    q.put("By provider", groupBy(daily, p, "provider"));
    q.put("By org", groupBy(daily, p, "org_id"));
    q.put("By user", groupBy(daily, p, "org_id, user_id"));
    q.put("By endpoint", groupBy(daily, p, "endpoint"));
    q.put("Daily", "SELECT day, sum(requests) AS calls, sum(total_tokens) AS tokens, toString(sum(cost_usd)) AS cost "
        + "FROM " + daily + " WHERE " + p.whereDay() + " GROUP BY day ORDER BY day");
    Period prev = p.previous();
    String cur = "day >= toDate('" + p.from() + "') AND day < toDate('" + p.to() + "')";
    String before = "day >= toDate('" + prev.from() + "') AND day < toDate('" + prev.to() + "')";
    q.put("Compared with the previous period (" + prev.from() + " to " + prev.to() + ")",
        "SELECT toString(sumIf(cost_usd, " + cur + ")) AS cost, toString(sumIf(cost_usd, " + before + ")) AS previous_cost, "
        + "toString(sumIf(cost_usd, " + cur + ") - sumIf(cost_usd, " + before + ")) AS change FROM " + daily + " WHERE "
        + new Period(prev.from(), p.to(), p.org()).whereDay());
    q.put("Top spenders (users)", "SELECT org_id, user_id, sum(requests) AS calls, toString(sum(cost_usd)) AS cost FROM "
        + daily + " WHERE " + p.whereDay() + " GROUP BY org_id, user_id ORDER BY sum(cost_usd) DESC LIMIT 10");
    q.put("Unpriced usage", "SELECT provider, model, reason, count() AS calls, sum(input_tokens + output_tokens) AS tokens FROM "
        + db + ".usage_unpriced WHERE " + p.where("event_time") + " GROUP BY provider, model, reason ORDER BY calls DESC");
    q.put("Records (page " + page + ", " + pageSize + " per page)", "SELECT event_time, org_id, user_id, provider, model, "
        + "total_tokens, toString(cost_usd) AS cost, price_version, event_id FROM " + costs + " WHERE " + p.where("event_time")
        + " ORDER BY event_time, event_id LIMIT " + pageSize + " OFFSET " + ((long) (page - 1) * pageSize));
    return q;
  }

  private static String groupBy(String daily, Period p, String columns) {
    return "SELECT " + columns + ", sum(requests) AS calls, sum(total_tokens) AS tokens, toString(sum(cost_usd)) AS cost "
        + "FROM " + daily + " WHERE " + p.whereDay() + " GROUP BY " + columns + " ORDER BY sum(cost_usd) DESC";
  }

  /** Runs the named sections (all when {@code only} is empty) and prints them. */
  public static void print(ClickHouse ch, String db, Period p, List<String> only, boolean csv, int page, int pageSize,
      PrintStream out) {
    for (Map.Entry<String, String> e : queries(db, p, page, pageSize).entrySet()) {
      if (!only.isEmpty() && only.stream().noneMatch(o -> e.getKey().toLowerCase().startsWith(o.toLowerCase()))) {
        continue;
      }
      List<List<String>> rows = ch.query(e.getValue() + " FORMAT TabSeparatedWithNames");
      out.println(csv ? "# " + e.getKey() : "\n== " + e.getKey() + " ==");
      print(rows, csv, out);
    }
  }

  /** Prints rows (the first holds the column names) as an aligned table. */
  public static void printTable(List<List<String>> rows, PrintStream out) {
    print(rows, false, out);
  }

  static void print(List<List<String>> rows, boolean csv, PrintStream out) {
    if (rows.isEmpty()) {
      return;
    }
    if (csv) {
      for (List<String> r : rows) {
        List<String> cells = new ArrayList<>();
        for (String c : r) {
          cells.add(c.contains(",") || c.contains("\"") || c.contains("\n") ? "\"" + c.replace("\"", "\"\"") + "\"" : c);
        }
        out.println(String.join(",", cells));
      }
      return;
    }
    int[] width = new int[rows.get(0).size()];
    for (List<String> r : rows) {
      for (int i = 0; i < r.size() && i < width.length; i++) {
        width[i] = Math.max(width[i], r.get(i).length());
      }
    }
    for (int n = 0; n < rows.size(); n++) {
      StringBuilder b = new StringBuilder();
      for (int i = 0; i < rows.get(n).size() && i < width.length; i++) {
        String c = rows.get(n).get(i);
        b.append(i == 0 ? "" : "  ").append(c).append(" ".repeat(width[i] - c.length()));
      }
      out.println(b.toString().stripTrailing());
      if (n == 0) {
        StringBuilder rule = new StringBuilder();
        for (int i = 0; i < width.length; i++) {
          rule.append(i == 0 ? "" : "  ").append("-".repeat(width[i]));
        }
        out.println(rule);
      }
    }
  }
}
