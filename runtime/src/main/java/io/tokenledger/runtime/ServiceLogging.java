package io.tokenledger.runtime;

/**
 * Logging defaults for Token Ledger's own programs. Each {@code main} class calls {@link #useDefaults()} in a
 * static initializer placed before its first logger, so that logback reads {@value #CONFIG} unless
 * {@code -Dlogback.configurationFile} names another file.
 */
public final class ServiceLogging {

  public static final String CONFIG = "io/tokenledger/runtime/logback-service.xml";

  private ServiceLogging() {}

  public static void useDefaults() {
    if (System.getProperty("logback.configurationFile") == null) {
      System.setProperty("logback.configurationFile", CONFIG);
    }
  }
}
