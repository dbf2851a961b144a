package io.tokenledger.sink;

import com.clickhouse.client.api.Client;
import com.clickhouse.client.api.ServerException;
import com.clickhouse.client.api.insert.InsertSettings;
import com.clickhouse.client.api.query.QueryResponse;
import com.clickhouse.client.api.query.QuerySettings;
import com.clickhouse.data.ClickHouseFormat;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The few ClickHouse operations the sink needs, in forms that both old (18.16) and current servers accept:
 * statements, RowBinary inserts, and reads in TabSeparated. Failures are classified once, here:
 * {@link Retryable} (the server or network may recover) or {@link Fatal} (the statement or data is wrong).
 */
public final class ClickHouse implements AutoCloseable {

  /** Worth retrying after a pause: connection refused, timeouts, overload, too many parts, ... */
  public static final class Retryable extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Retryable(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** Retrying cannot help: a bad statement, an unknown table, data the server rejects. */
  public static final class Fatal extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Fatal(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /**
   * Server error codes worth a retry: 3 UNEXPECTED_END_OF_FILE, 159 TIMEOUT_EXCEEDED, 164 READONLY,
   * 202 TOO_MANY_SIMULTANEOUS_QUERIES, 203 NO_FREE_CONNECTION, 209 SOCKET_TIMEOUT, 210 NETWORK_ERROR,
   * 241 MEMORY_LIMIT_EXCEEDED, 242 TABLE_IS_READ_ONLY, 252 TOO_MANY_PARTS, 285 TOO_FEW_LIVE_REPLICAS,
   * 319 UNKNOWN_STATUS_OF_INSERT, 425 SYSTEM_ERROR, 999 KEEPER_EXCEPTION.
   */
  static final Set<Integer> RETRYABLE_CODES = Set.of(3, 159, 164, 202, 203, 209, 210, 241, 242, 252, 285, 319, 425, 999);

  private final Client client;
  private final String url;
  private final long timeoutMs;

  public ClickHouse(String url, String user, String password, String database, long timeoutMs) {
    this.url = url;
    this.timeoutMs = timeoutMs;
    Client.Builder b = new Client.Builder().addEndpoint(url).setUsername(user).setPassword(password == null ? "" : password)
        .compressServerResponse(false)
        // no retries inside the client: a retried INSERT could land twice; the sink retries after checking
        .setMaxRetries(0).setSocketTimeout(timeoutMs).setConnectTimeout(Math.min(timeoutMs, 5000));
    if (database != null) {
      b.setDefaultDatabase(database);
    }
    this.client = b.build();
  }

  public String url() {
    return url;
  }

  public void execute(String sql) {
    call("statement", () -> {
      client.execute(sql).get(timeoutMs, TimeUnit.MILLISECONDS).close();
      return null;
    });
  }

  /**
   * Inserts rows already encoded in RowBinary for {@code columns}, in that order: one INSERT, atomic while
   * it stays under the server's block size, with {@code queryId} as its query id (see {@link #isRunning}).
   */
  public void insertRowBinary(String table, List<String> columns, List<byte[]> rows, String queryId) {
    call("insert into " + table, () -> {
      client.insert(table, columns, out -> {
        for (byte[] row : rows) {
          out.write(row);
        }
      }, ClickHouseFormat.RowBinary, new InsertSettings().setQueryId(queryId)).get(timeoutMs, TimeUnit.MILLISECONDS).close();
      return null;
    });
  }

  /** Whether the query with this id is still running on the server, e.g. an insert the client gave up on. */
  public boolean isRunning(String queryId) {
    return !"0".equals(query("SELECT count() FROM system.processes WHERE query_id = '" + queryId.replace("'", "''") + "'")
        .get(0).get(0));
  }

  /** Runs a query and returns its rows, each a list of column values (TabSeparated unescaping applied). */
  public List<List<String>> query(String sql) {
    String body = call("query", () -> {
      try (QueryResponse r = client.query(sql, new QuerySettings().setFormat(ClickHouseFormat.TabSeparated))
          .get(timeoutMs, TimeUnit.MILLISECONDS)) {
        return new String(r.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      }
    });
    List<List<String>> rows = new ArrayList<>();
    if (body.isEmpty()) {
      return rows;
    }
    // every row ends with a newline; a row of one empty string is an empty line, not a missing row
    for (String line : body.substring(0, body.length() - (body.endsWith("\n") ? 1 : 0)).split("\n", -1)) {
      List<String> cols = new ArrayList<>();
      for (String c : line.split("\t", -1)) {
        cols.add(unescape(c));
      }
      rows.add(cols);
    }
    return rows;
  }

  /** Runs a query and returns the server's output in {@code format} as text (for reports). */
  public String queryText(String sql, ClickHouseFormat format) {
    return call("query", () -> {
      try (QueryResponse r = client.query(sql, new QuerySettings().setFormat(format)).get(timeoutMs, TimeUnit.MILLISECONDS)) {
        return new String(r.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      }
    });
  }

  interface Call<T> {
    T run() throws Exception;
  }

  private <T> T call(String what, Call<T> call) {
    try {
      return call.run();
    } catch (ExecutionException e) {
      throw classify(what, e.getCause() == null ? e : e.getCause());
    } catch (TimeoutException e) {
      throw new Retryable(what + " timed out after " + timeoutMs + " ms at " + url, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Retryable("interrupted: " + what, e);
    } catch (Exception e) {
      throw classify(what, e);
    }
  }

  static RuntimeException classify(String what, Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof ServerException se) {
        String msg = what + ": ClickHouse error " + se.getCode() + ": " + firstLine(se.getMessage());
        return RETRYABLE_CODES.contains(se.getCode()) ? new Retryable(msg, e) : new Fatal(msg, e);
      }
      if (t instanceof Retryable r) {
        return r;
      }
      if (t instanceof Fatal f) {
        return f;
      }
    }
    // no server answer at all: connection refused or reset, DNS, I/O
    return new Retryable(what + ": ClickHouse unreachable: " + firstLine(String.valueOf(e)), e);
  }

  private static String firstLine(String s) {
    int nl = s == null ? -1 : s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }

  static String unescape(String s) {
    if (s.indexOf('\\') < 0) {
      return s;
    }
    StringBuilder b = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\\' && i + 1 < s.length()) {
        char n = s.charAt(++i);
        b.append(switch (n) {
          case 'n' -> '\n';
          case 't' -> '\t';
          case 'r' -> '\r';
          case '0' -> '\0';
          default -> n;
        });
      } else {
        b.append(c);
      }
    }
    return b.toString();
  }

  @Override
  public void close() {
    client.close();
  }
}
