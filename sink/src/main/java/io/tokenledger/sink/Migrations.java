package io.tokenledger.sink;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ordered SQL migrations ({@code db/migration/V<nnn>__<name>.sql} on the class path), applied at start-up
 * and recorded in {@code schema_migrations}. An applied migration whose file changed fails start-up: the
 * tables no longer match what the file says. Statements are separated by a semicolon at the end of a line;
 * {@code ${database}} stands for the configured database (every name is qualified: old servers do not all
 * honour a client's default database).
 */
public final class Migrations {

  private static final Logger LOG = LoggerFactory.getLogger(Migrations.class);
  private static final Pattern NAME = Pattern.compile("V(\\d+)__([\\w-]+)\\.sql");

  /** The migrations shipped with this build, in order. */
  static final List<String> FILES = List.of("V001__usage_costs.sql", "V002__usage_daily.sql",
      "V003__unpriced_breaches_dead_letters.sql", "V004__ai_usage_daily.sql");

  record Migration(int version, String name, String checksum, List<String> statements) {}

  private Migrations() {}

  static List<Migration> load() {
    List<Migration> out = new ArrayList<>();
    for (String file : FILES) {
      Matcher m = NAME.matcher(file);
      if (!m.matches()) {
        throw new IllegalStateException("migration file name " + file + " is not V<number>__<name>.sql");
      }
      String sql;
      try (InputStream in = Migrations.class.getResourceAsStream("/db/migration/" + file)) {
        if (in == null) {
          throw new IllegalStateException("migration " + file + " is missing from the class path");
        }
        sql = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      out.add(new Migration(Integer.parseInt(m.group(1)), m.group(2), sha256(sql), statements(sql)));
    }
    return out;
  }

  /** Creates the database if needed, then applies what is not applied yet. Returns how many were applied. */
  public static int apply(ClickHouse server, ClickHouse db, String database) {
    server.execute("CREATE DATABASE IF NOT EXISTS " + database);
    String table = database + ".schema_migrations";
    db.execute("CREATE TABLE IF NOT EXISTS " + table + " (version UInt32, name String, checksum String, "
        + "applied_at DateTime('UTC')) ENGINE = MergeTree() ORDER BY version");
    Map<Integer, String> applied = new TreeMap<>();
    for (List<String> row : db.query("SELECT version, checksum FROM " + table)) {
      applied.put(Integer.parseInt(row.get(0)), row.get(1));
    }
    int count = 0;
    for (Migration m : load()) {
      String done = applied.get(m.version());
      if (done != null) {
        if (!done.equals(m.checksum())) {
          throw new IllegalStateException("migration V" + m.version() + " (" + m.name() + ") was applied with "
              + "different contents: never edit an applied migration, add a new one");
        }
        continue;
      }
      for (String statement : m.statements()) {
        db.execute(statement.replace("${database}", database));
      }
      db.execute("INSERT INTO " + table + " (version, name, checksum, applied_at) VALUES (" + m.version() + ", '"
          + m.name() + "', '" + m.checksum() + "', now())");
      LOG.info("applied migration V{} [{}] to database [{}]", m.version(), m.name(), database);
      count++;
    }
    return count;
  }

  static List<String> statements(String sql) {
    List<String> out = new ArrayList<>();
    StringBuilder current = new StringBuilder();
    for (String line : sql.split("\n")) {
      String trimmed = line.strip();
      if (trimmed.startsWith("--") || trimmed.isEmpty()) {
        continue;
      }
      current.append(line).append('\n');
      if (trimmed.endsWith(";")) {
        out.add(current.toString().strip().replaceAll(";$", ""));
        current.setLength(0);
      }
    }
    if (!current.toString().isBlank()) {
      out.add(current.toString().strip());
    }
    return out;
  }

  private static String sha256(String s) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
