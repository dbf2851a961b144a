package io.tokenledger.processor.quota;

import static org.assertj.core.api.Assertions.assertThat;

import io.tokenledger.avro.Enforcement;
import io.tokenledger.avro.QuotaPolicy;
import io.tokenledger.avro.QuotaScope;
import io.tokenledger.avro.QuotaWindow;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class PolicyBookTest {

  private static QuotaPolicy policy(String id, String org, String limit) {
    return QuotaPolicy.newBuilder().setPolicyId(id).setOrgId(org).setScope(QuotaScope.ORG).setWindow(QuotaWindow.DAY)
        .setLimitUsd(new BigDecimal(limit).setScale(12)).setThresholdsPercent(List.of(50, 100))
        .setEnforcement(Enforcement.SOFT).setUpdatedAt(Instant.EPOCH).build();
  }

  @Test
  void listsEachOrgsPoliciesThroughAddsReplacementsMovesAndDeletes() {
    PolicyBook book = new PolicyBook();
    book.put("p1", policy("p1", "acme", "10"));
    book.put("p2", policy("p2", "acme", "20"));
    book.put("p3", policy("p3", "globex", "30"));
    assertThat(book.forOrg("acme")).extracting(QuotaPolicy::getPolicyId).containsExactlyInAnyOrder("p1", "p2");
    assertThat(book.orgs()).containsExactlyInAnyOrder("acme", "globex");

    book.put("p1", policy("p1", "acme", "15")); // replaced in place
    assertThat(book.forOrg("acme")).extracting(p -> p.getLimitUsd().stripTrailingZeros().toPlainString())
        .containsExactlyInAnyOrder("15", "20");

    book.put("p3", policy("p3", "acme", "30")); // moved to another org
    assertThat(book.forOrg("acme")).extracting(QuotaPolicy::getPolicyId).containsExactlyInAnyOrder("p1", "p2", "p3");
    assertThat(book.forOrg("globex")).isEmpty();
    assertThat(book.orgs()).containsExactly("acme");

    book.put("p2", null); // deleted
    book.put("p9", null); // deleting what was never there changes nothing but the generation
    assertThat(book.forOrg("acme")).extracting(QuotaPolicy::getPolicyId).containsExactlyInAnyOrder("p1", "p3");
    assertThat(book.get("p2")).isNull();
    assertThat(book.generation()).isEqualTo(7);
    assertThat(book.changedSince(5)).containsExactly("p2", "p9");
  }

  @Test
  void neverShowsAnOrgWithoutAPolicyWhileThatPolicyIsReplaced() throws Exception {
    PolicyBook book = new PolicyBook();
    book.put("only", policy("only", "acme", "1"));
    AtomicBoolean writing = new AtomicBoolean(true);
    AtomicInteger emptyReads = new AtomicInteger();
    Thread reader = new Thread(() -> {
      while (writing.get()) {
        if (book.forOrg("acme").isEmpty()) {
          emptyReads.incrementAndGet();
        }
      }
    });
    reader.start();
    for (int i = 0; i < 200_000; i++) {
      book.put("only", policy("only", "acme", Integer.toString(1 + i % 7))); // a limit change
    }
    writing.set(false);
    reader.join();
    assertThat(emptyReads).as("reads that found acme without its policy").hasValue(0);
  }

  @Test
  void loadsOnceAndThenOnlyAppliesChanges() {
    PolicyBook book = new PolicyBook();
    book.loadOnce(sink -> {
      for (int i = 0; i < 3_000; i++) {
        sink.accept(policy("p" + i, "org-" + (i % 1_000), "1"));
      }
    });
    book.loadOnce(sink -> sink.accept(policy("late", "org-0", "1"))); // ignored: the book is loaded
    assertThat(book.orgs()).hasSize(1_000);
    assertThat(book.forOrg("org-7")).extracting(QuotaPolicy::getPolicyId).containsExactlyInAnyOrder("p7", "p1007", "p2007");
    assertThat(book.generation()).isZero();
  }
}
