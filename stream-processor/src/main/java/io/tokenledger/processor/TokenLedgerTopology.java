package io.tokenledger.processor;

import io.tokenledger.avro.CostedUsage;
import io.tokenledger.avro.DeadLetter;
import io.tokenledger.avro.ModelPricing;
import io.tokenledger.avro.UnpricedUsage;
import io.tokenledger.avro.UsageEvent;
import io.tokenledger.avro.QuotaBreach;
import io.tokenledger.avro.QuotaPolicy;
import io.tokenledger.avro.QuotaStatus;
import io.tokenledger.processor.pricing.PriceBook;
import io.tokenledger.processor.quota.PolicyBook;
import io.tokenledger.processor.quota.PolicyUpdater;
import io.tokenledger.processor.quota.QuotaProcessor;
import io.tokenledger.processor.quota.ReadablePartitions;
import io.tokenledger.processor.quota.SpendState;
import io.tokenledger.schemas.SerdeFactory;
import io.tokenledger.schemas.Topics;
import java.util.Map;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.kstream.Branched;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.state.Stores;

/**
 * The whole processing graph, as a pure function of its settings: no I/O, no configuration parsing.
 *
 * <pre>
 * usage.events (bytes) ─ decode-and-validate ─┬─ dead letters ───────────────────────────▶ usage.dlq
 *                                             └─ events ─ dedupe ─ price ─┬─ unpriced ───▶ usage.unpriced
 *                      pricing.models ─▶ pricing-store (global) ──▲       └─ costed ─────▶ usage.costed
 *                                                                                  │
 *                quota.policies ─▶ quota-policy-store (global)      track-quota-spend ◀┘
 *                                                   (quota-spend-store) ─┬─ breaches ─▶ quota.breaches
 *                                                                        └─ status ───▶ quota.status
 * </pre>
 *
 * Every processor, store and internal topic has an explicit name: the application refuses to start
 * otherwise ({@code ensure.explicit.internal.resource.naming}), because generated names shift when the
 * graph changes and break upgrades of a running application.
 */
public final class TokenLedgerTopology {

  private TokenLedgerTopology() {}

  /**
   * In-memory views the topology shares with the process around it: the quota endpoint reads the policies,
   * and the partitions whose spend is readable here.
   */
  public record Handles(PolicyBook policies, ReadablePartitions readable) {}

  public static Handles build(StreamsBuilder builder, TopologySettings settings, SerdeFactory serdes,
      PipelineMetrics metrics) {
    Topics topics = settings.topics();
    PriceBook book = new PriceBook();

    builder.addGlobalStore(
        Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore(CatalogUpdater.STORE), Serdes.String(),
            serdes.value(ModelPricing.class)).withLoggingDisabled(),
        topics.pricingModels().name(),
        Consumed.with(Serdes.String(), serdes.value(ModelPricing.class)).withName("read-pricing-models"),
        () -> new CatalogUpdater(book));

    DedupeProcessor.addStores(builder, settings.dedupeRetention(), settings.dedupeUpgrade());

    EventValidator validator = new EventValidator(settings.maxTokensPerClass(), settings.maxFutureSkew().toMillis(),
        settings.maxMetadataBytes());
    KStream<String, SpecificRecord> decoded = builder
        .stream(topics.usageEvents().name(), Consumed.with(Serdes.String(), Serdes.ByteArray()).withName("read-usage-events"))
        .process(() -> new DecodeProcessor(serdes.value(UsageEvent.class).deserializer(), validator, metrics),
            Named.as("decode-and-validate"));

    Map<String, KStream<String, SpecificRecord>> byOutcome = decoded.split(Named.as("decoded-"))
        .branch((k, v) -> v instanceof DeadLetter, Branched.as("dead"))
        .defaultBranch(Branched.as("valid"));
    byOutcome.get("decoded-dead")
        .mapValues(v -> (DeadLetter) v, Named.as("as-dead-letter"))
        .to(topics.usageDlq().name(), Produced.with(Serdes.String(), serdes.value(DeadLetter.class)).withName("write-dlq"));

    KStream<String, SpecificRecord> priced = byOutcome.get("decoded-valid")
        .mapValues(v -> (UsageEvent) v, Named.as("as-usage-event"))
        .process(() -> new DedupeProcessor(settings.dedupeRetention(), settings.dedupeUpgrade(), metrics),
            Named.as("dedupe"), DedupeProcessor.storeNames(settings.dedupeUpgrade()))
        .process(() -> new PricingProcessor(book, metrics), Named.as("price"));

    Map<String, KStream<String, SpecificRecord>> byPrice = priced.split(Named.as("priced-"))
        .branch((k, v) -> v instanceof UnpricedUsage, Branched.as("unpriced"))
        .defaultBranch(Branched.as("costed"));
    byPrice.get("priced-unpriced")
        .mapValues(v -> (UnpricedUsage) v, Named.as("as-unpriced"))
        .to(topics.usageUnpriced().name(),
            Produced.with(Serdes.String(), serdes.value(UnpricedUsage.class)).withName("write-unpriced"));
    KStream<String, CostedUsage> costed = byPrice.get("priced-costed")
        .mapValues(v -> (CostedUsage) v, Named.as("as-costed"));
    costed.to(topics.usageCosted().name(),
        Produced.with(Serdes.String(), serdes.value(CostedUsage.class)).withName("write-costed"));

    ReadablePartitions readable = new ReadablePartitions();
    return new Handles(buildQuotas(builder, settings, serdes, metrics, costed, readable), readable);
  }

  /** Spend per policy and window, breaches and status, from the costed stream. */
  private static PolicyBook buildQuotas(StreamsBuilder builder, TopologySettings settings, SerdeFactory serdes,
      PipelineMetrics metrics, KStream<String, CostedUsage> costed, ReadablePartitions readable) {
    Topics topics = settings.topics();
    PolicyBook policies = new PolicyBook();
    builder.addGlobalStore(
        Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore(PolicyUpdater.STORE), Serdes.String(),
            serdes.value(QuotaPolicy.class)).withLoggingDisabled(),
        topics.quotaPolicies().name(),
        Consumed.with(Serdes.String(), serdes.value(QuotaPolicy.class)).withName("read-quota-policies"),
        () -> new PolicyUpdater(policies));
    // cached: a busy policy's spend changes on every event, but only its last value per commit needs to
    // reach RocksDB and the changelog
    builder.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(QuotaProcessor.STORE),
        Serdes.String(), SpendState.serde()).withCachingEnabled());

    Map<String, KStream<String, Object>> out = costed
        .process(() -> new QuotaProcessor(policies, metrics, settings.quotaGrace(), settings.statusInterval(), readable),
            Named.as("track-quota-spend"), QuotaProcessor.STORE)
        .split(Named.as("quota-"))
        .branch((k, v) -> v instanceof QuotaBreach, Branched.as("breach"))
        .defaultBranch(Branched.as("status"));
    out.get("quota-breach")
        .mapValues(v -> (QuotaBreach) v, Named.as("as-breach"))
        .to(topics.quotaBreaches().name(),
            Produced.with(Serdes.String(), serdes.value(QuotaBreach.class)).withName("write-breaches"));
    out.get("quota-status")
        .mapValues(v -> v instanceof QuotaStatus s ? s : null, Named.as("as-status"))
        .to(topics.quotaStatus().name(),
            Produced.with(Serdes.String(), serdes.value(QuotaStatus.class)).withName("write-status"));
    return policies;
  }
}
