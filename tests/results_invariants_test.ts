// Exact relations between the figures of one run (runner/recorder.ts), over every scheme and every
// workload with its default parameters (the default suite's runs, one seed): each figure is
// gathered by its own code (slab statistics, counters, the machine's lock and operation
// accounting, the walk buckets, the timeseries sampler), so a figure that one of them counts at a
// different moment or from a different source breaks one of these. The teardown of the processes
// a run leaves, sampled into the timeseries until 2026-12-02, broke the first.

import { assertEquals } from "./assert.ts";
import { runOne } from "../runner/recorder.ts";
import type { RunResult } from "../reports/results.ts";
import { SCHEMES } from "../core/rmap/registry.ts";
import { WORKLOADS } from "../workloads/registry.ts";

/** Every broken relation of `r`, each as one line naming it and the figures (none: []). */
function broken(r: RunResult): string[] {
  const out: string[] = [];
  const want = (ok: boolean, what: string): void => {
    if (!ok) out.push(what);
  };
  const s = r.slab, c = r.counters;
  // anon_vma_lazy keeps a root VMA that its group still uses allocated after its unmap
  // (Slab.retain): live in the slab, no longer counted among the mapped VMAs.
  const pinned = c["scheme.vma_pinned_detached_live"] ?? 0;

  // The run ends with its last operation; the series runs on to the last RCU callbacks when a
  // grace period outlasted it (there the frees the run deferred complete), else it ends there too.
  const t = r.timeseries.t;
  const last = t.at(-1)!;
  const deferred = c["machine.rcu_grace_periods"] > 0;
  want(
    t[0] >= 0 && t.every((x, i) => i === 0 || t[i - 1] < x) &&
      (deferred ? last >= r.simulatedNs : last === r.simulatedNs),
    `timeseries times: increasing and ending at the run's end ${r.simulatedNs}` +
      `${deferred ? " or after it (RCU)" : ""}, got ..., ${t.slice(-2)}`,
  );
  for (const [cache, n] of Object.entries(s.final.objects)) {
    const extra = cache === "vm_area_struct" ? pinned : 0;
    want(
      s.allocs[cache] - s.frees[cache] + extra === n,
      `${cache}: allocs ${s.allocs[cache]} - frees ${
        s.frees[cache]
      } + retained ${extra} = final ${n}`,
    );
    want(s.peak.objects[cache] >= n, `${cache}: peak ${s.peak.objects[cache]} >= final ${n}`);
    const series = r.timeseries.bytes[cache];
    want(
      series.length === t.length && series.at(-1) === s.final.bytes[cache] &&
        Math.max(...series) <= s.peak.bytes[cache],
      `${cache}: timeseries ends on the final bytes ${s.final.bytes[cache]} and stays within the ` +
        `peak ${s.peak.bytes[cache]}, got ${series.at(-1)}, max ${Math.max(...series)}`,
    );
  }
  // totalBytes counts every slab cache; KSM's are not among the listed caches (so that runs
  // without KSM keep their document), and a run that uses them (ksm-merge) lists their live
  // objects in its "KSM objects (slab)" table: object bytes × live at the end.
  const ksm = r.extraTables?.find((x) => x.title === "KSM objects (slab)");
  const ksmBytes = (ksm?.rows ?? []).reduce((a, row) => a + Number(row[1]) * Number(row[4]), 0);
  const sum = Object.values(s.final.bytes).reduce((a, b) => a + b, 0) + ksmBytes;
  want(
    sum === s.final.totalBytes,
    `final bytes sum ${sum} (KSM ${ksmBytes}) = totalBytes ${s.final.totalBytes}`,
  );
  want(s.peak.totalBytes >= s.final.totalBytes, "peak totalBytes >= final");

  const vmas = s.allocs.vm_area_struct - s.frees.vm_area_struct;
  want(c.vmas_final === vmas, `vmas_final ${c.vmas_final} = VMAs allocated - freed ${vmas}`);
  want(
    c.processes_final === s.final.objects.mm_struct,
    `processes_final ${c.processes_final} = mm_struct objects ${s.final.objects.mm_struct}`,
  );
  const folios = (c.folios_allocated ?? 0) - (c.folios_freed ?? 0);
  want(c.anon_folios_final === folios, `anon_folios_final ${c.anon_folios_final} = ${folios}`);

  const slot = s.final.objects.vm_area_struct > 0
    ? s.final.bytes.vm_area_struct / s.final.objects.vm_area_struct
    : 0;
  const owned = r.scheme.ownedCaches.reduce((a, cache) => a + s.final.bytes[cache], 0);
  want(
    r.rmapBytes.final === owned + pinned * slot,
    `rmapBytes.final ${r.rmapBytes.final} = owned caches ${owned} + retained VMAs ${pinned * slot}`,
  );
  want(r.rmapBytes.peak >= r.rmapBytes.final, "rmapBytes.peak >= final");

  for (const [kind, w] of Object.entries(r.walks)) {
    const n = w.visits.count;
    want(w.count === w.contended + n, `walk ${kind}: count = contended + completed`);
    want(
      w.hits.count === n && w.useless.count === n && w.structures.count === n,
      `walk ${kind}: one hits, useless and structures sample per completed walk`,
    );
    want(
      w.visits.sum === w.hits.sum + w.useless.sum,
      `walk ${kind}: visits ${w.visits.sum} = hits ${w.hits.sum} + useless ${w.useless.sum}`,
    );
    const buckets = w.histogram.reduce((a, b) => a + b.count, 0);
    want(buckets === n, `walk ${kind}: histogram holds ${buckets} of ${n} walks`);
  }
  for (const [cls, l] of Object.entries(r.locks)) {
    const ra = l.readAcquisitions, wa = l.writeAcquisitions;
    want(
      l.hold.count === ra + wa && l.wait.count === ra + wa,
      `lock ${cls}: one hold and one wait sample per acquisition (${ra} + ${wa}), got ${l.hold.count}, ${l.wait.count}`,
    );
    want(
      (l.readHold?.count ?? ra) === ra && (l.readWait?.count ?? ra) === ra &&
        (l.writeHold?.count ?? wa) === wa && (l.writeWait?.count ?? wa) === wa,
      `lock ${cls}: read and write samples match their acquisitions`,
    );
    want((l.contended ?? 0) <= ra + wa, `lock ${cls}: contended ${l.contended} <= acquisitions`);
  }
  const timed = Object.values(r.latency).reduce((a, m) => a + m.count, 0);
  want(timed === r.ops, `ops ${r.ops} = latency samples ${timed}`);
  want(r.cpuUtilisation >= 0 && r.cpuUtilisation <= 1, `cpuUtilisation ${r.cpuUtilisation}`);
  want(r.oracle.mismatches === 0 && r.oracle.leakFree, "oracle: no mismatch, no leak");
  return out;
}

for (const w of WORKLOADS) {
  Deno.test(`results: the figures of a ${w.id} run agree with each other, every scheme`, () => {
    const problems: string[] = [];
    for (const s of SCHEMES) {
      const r = runOne({ scheme: s.info.id, workload: w.id, seed: 1 });
      for (const p of broken(r)) problems.push(`${s.info.id}: ${p}`);
    }
    assertEquals(problems, []);
  });
}
