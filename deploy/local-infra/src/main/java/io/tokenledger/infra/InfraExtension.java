package io.tokenledger.infra;

import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * Gives tests a real Kafka, schema registry and ClickHouse: declare a parameter of type {@link Infra} (in a
 * test method, a constructor or a {@code @BeforeAll} method) of a class annotated
 * {@code @ExtendWith(InfraExtension.class)}. One {@link Infra} serves the whole test JVM: servers start on
 * first use and stop when the JVM's tests are done, so test classes use unique topic and table names
 * ({@link #uniqueName(String)}).
 */
public final class InfraExtension implements ParameterResolver {

  private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(InfraExtension.class);

  @Override
  public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
    return parameter.getParameter().getType() == Infra.class;
  }

  @Override
  public Object resolveParameter(ParameterContext parameter, ExtensionContext context)
      throws ParameterResolutionException {
    // The root store closes AutoCloseable values when the whole run ends.
    return context.getRoot().getStore(NS)
        .getOrComputeIfAbsent(Infra.class, k -> new Infra(Infra.Mode.fromEnvironment()), Infra.class);
  }

  /** A name no other test in this JVM uses, e.g. for a topic prefix or a table. */
  public static String uniqueName(String base) {
    return base + "_" + Long.toString(System.nanoTime() & 0xffffffffL, 36) + "_"
        + Integer.toString(COUNTER.incrementAndGet(), 36);
  }

  private static final java.util.concurrent.atomic.AtomicInteger COUNTER = new java.util.concurrent.atomic.AtomicInteger();
}
