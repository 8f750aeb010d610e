import assert from "node:assert/strict";
import { runOne } from "../runner/recorder.ts";
import { SCHEMES } from "../core/rmap/registry.ts";
import { resolveParams } from "../workloads/workload.ts";
import { REFLINK_SHARE } from "../workloads/reflink_share.ts";

/** No daemons: the only walks are the workload's walker, so walk figures are exact. */
const QUIET = { reclaimIntervalNs: 0, migrateIntervalNs: 0 };

/** A small tree: 2 files + a heap in the template, width 2, depth 2 (7 processes). */
const SMALL = {
  files: 2,
  filePages: 8,
  fileReadFraction: 0.5,
  fileWriteFraction: 0.25,
  heapPages: 4,
  width: 2,
  depth: 2,
  cowFraction: 0,
  privatePages: 2,
  walkRounds: 2,
  walksPerRound: 2,
  walkSample: 64,
  exitWorkers: false,
};

Deno.test("reflink-share: exact objects and walks of a small shared tree (anon_vma)", () => {
  // Template: 2 private file VMAs with 2 written pages each (CoW from the page cache into anon
  // folios → anon_vma_prepare) + 1 heap VMA → 3 faulted VMAs: 3 anon_vmas, 3 AVCs.
  // Workers (2 at depth 1, 4 at depth 2) inherit the 3 faulted VMAs: per VMA 1 leaf anon_vma and
  // depth + 1 AVCs (§3.3), and each faults a private region after forking its children (so the
  // region is not inherited): 1 VMA, 1 anon_vma, 1 AVC.
  //   vm_area_struct = 3 + 6 × (3 + 1)                 = 27
  //   anon_vma       = 3 + 6 × (3 + 1)                 = 27
  //   anon_vma_chain = 3 + 2 × (3·2 + 1) + 4 × (3·3 + 1) = 3 + 14 + 40 = 57
  //   mm_struct      = 7
  // Anon folios: template 2 × 2 + 4 = 8 (no CoW by workers) + 6 × 2 private = 20.
  // Walker: 2 rounds × 2 folios, migrate and folio_referenced alternating → 2 migrations (each a
  // "migrate" and a "remove_migration" walk) and 2 referenced walks. Every template folio is
  // mapped by all 7 processes, and its anon_vma's tree holds exactly those 7 VMAs → visits 7,
  // hits 7, useless 0 for every walk (folio_referenced stops at the 7th hit, the last visit).
  const r = runOne({
    scheme: "anon_vma",
    workload: "reflink-share",
    params: SMALL,
    seed: 1,
    machine: QUIET,
  });
  assert.equal(r.slab.final.objects.vm_area_struct, 27);
  assert.equal(r.slab.final.objects.anon_vma, 27);
  assert.equal(r.slab.final.objects.anon_vma_chain, 57);
  assert.equal(r.slab.final.objects.mm_struct, 7);
  assert.equal(r.counters.anon_folios_final, 20);
  assert.equal(r.counters.forks, 6);
  assert.deepEqual(Object.keys(r.walks).sort(), ["migrate", "referenced", "remove_migration"]);
  for (const kind of ["migrate", "referenced", "remove_migration"]) {
    const w = r.walks[kind];
    assert.equal(w.count, 2, kind);
    assert.equal(w.visits.min, 7, kind);
    assert.equal(w.visits.max, 7, kind);
    assert.equal(w.hits.mean, 7, kind);
    assert.equal(w.useless.max, 0, kind);
  }
});

Deno.test("reflink-share: workers' CoW copies leave useless visits on the template's folios", () => {
  // cowFraction 1: every worker writes every inherited anon page, so each template folio is
  // mapped by the template alone but its anon_vma tree still lists the 7 VMAs: a migration
  // walk visits 7 and hits 1 (§8.2 useless visits).
  const r = runOne({
    scheme: "anon_vma",
    workload: "reflink-share",
    params: { ...SMALL, cowFraction: 1 },
    seed: 1,
    machine: QUIET,
  });
  assert.equal(r.walks.migrate.visits.mean, 7);
  assert.equal(r.walks.migrate.hits.mean, 1);
  assert.equal(r.walks.migrate.useless.mean, 6);
  // Anon folios: 8 template + 6 workers × (8 CoW + 2 private) = 68.
  assert.equal(r.counters.anon_folios_final, 68);
});

Deno.test("reflink-share runs under every scheme with the daemons (oracle-checked, leak-free)", () => {
  for (const s of SCHEMES) {
    const r = runOne({
      scheme: s.info.id,
      workload: "reflink-share",
      params: { ...SMALL, cowFraction: 0.1, walkRounds: 4, exitWorkers: true },
      seed: 2,
      machine: { reclaimIntervalNs: 20_000, migrateIntervalNs: 40_000 },
    });
    assert.equal(r.oracle.mismatches, 0);
    assert.ok(r.oracle.leakFree);
    assert.ok(r.oracle.walksChecked > 0, s.info.id);
    // Workers exited: only the template remains (3 VMAs).
    assert.equal(r.slab.final.objects.vm_area_struct, 3, s.info.id);
  }
});

Deno.test("reflink-share parameters are validated with their ranges", () => {
  assert.throws(
    () => resolveParams(REFLINK_SHARE, { width: 0 }),
    /reflink-share parameter width must be an integer in \[1, 1024\], got 0/,
  );
  assert.throws(
    () => resolveParams(REFLINK_SHARE, { fileWriteFraction: -0.1 }),
    /parameter fileWriteFraction must be a number in \[0, 1\]/,
  );
  assert.throws(
    () => resolveParams(REFLINK_SHARE, { exitWorkers: "maybe" }),
    /parameter exitWorkers must be true or false/,
  );
  for (const p of REFLINK_SHARE.params) {
    assert.ok(p.description.length > 0 && p.source.length > 0, p.name);
  }
});
