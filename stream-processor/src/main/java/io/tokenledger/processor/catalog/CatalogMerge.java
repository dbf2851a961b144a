package io.tokenledger.processor.catalog;

import io.tokenledger.avro.ModelPricing;
import io.tokenledger.avro.PriceVersion;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Decides what publishing a catalog file changes, given what the topic already holds. Versions already
 * published are never rewritten or removed: a changed price is a new version with a later effective_from.
 * Publishing the same file twice changes nothing.
 */
public final class CatalogMerge {

  /** The records to write, and what was left alone. */
  public record Plan(Map<String, ModelPricing> toPublish, int newVersions, int unchangedModels) {}

  private CatalogMerge() {}

  public static Plan plan(Map<String, ModelPricing> published, Map<String, ModelPricing> file) {
    List<String> conflicts = new ArrayList<>();
    Map<String, ModelPricing> out = new LinkedHashMap<>();
    int added = 0;
    int unchanged = 0;
    for (Map.Entry<String, ModelPricing> e : file.entrySet()) {
      ModelPricing current = published.get(e.getKey());
      if (current == null) {
        out.put(e.getKey(), e.getValue());
        added += e.getValue().getVersions().size();
        continue;
      }
      Map<String, PriceVersion> byId = new LinkedHashMap<>();
      current.getVersions().forEach(v -> byId.put(v.getId(), v));
      int before = byId.size();
      for (PriceVersion v : e.getValue().getVersions()) {
        PriceVersion old = byId.get(v.getId());
        if (old == null) {
          byId.put(v.getId(), v);
        } else if (!old.equals(v)) {
          conflicts.add(v.getId() + " is already published with different values; published versions are never "
              + "rewritten: give the new price a new version id and a later effective_from");
        }
      }
      if (byId.size() == before) {
        unchanged++;
        continue;
      }
      List<PriceVersion> merged = new ArrayList<>(byId.values());
      merged.sort(Comparator.comparing(PriceVersion::getEffectiveFrom));
      added += byId.size() - before;
      out.put(e.getKey(), ModelPricing.newBuilder(current).setVersions(merged).build());
    }
    if (!conflicts.isEmpty()) {
      throw new IllegalArgumentException("the catalog rewrites published prices:\n  - " + String.join("\n  - ", conflicts));
    }
    return new Plan(out, added, unchanged);
  }
}
