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

Deno.test("reflink-share: page shares are rounded (file writes, file reads in all, worker CoW)", () => {
  // filePages 10: write round(10 × 0.25) = round(2.5) = 3 pages per file (CoW from the page
  // cache: faults_cow_file 2 × 3), read round(10 × 0.5) = 5 pages in all, the written 3 among them
  // (faults_file 2 × 2 read-only pages). The template's anon pages: 2 × 3 + 4 heap = 10; each of
  // the 6 workers writes round(10 × 0.25) = round(2.5) = 3 of them (faults_cow_copy 6 × 3).
  // Anon folios: 10 + 6 × (3 CoW + 2 private) = 40.
  const r = runOne({
    scheme: "anon_vma",
    workload: "reflink-share",
    params: { ...SMALL, filePages: 10, fileReadFraction: 0.5, cowFraction: 0.25 },
    seed: 1,
    machine: QUIET,
  });
  assert.equal(r.counters.faults_cow_file, 6);
  assert.equal(r.counters.faults_file, 4);
  assert.equal(r.counters.faults_cow_copy, 18);
  assert.equal(r.counters.anon_folios_final, 40);
});

Deno.test("reflink-share: the walker alternates migrate and folio_referenced across rounds", () => {
  // 2 rounds of 3 walks: M R M | R M R (the alternation does not restart each round) → 3 and 3.
  const r = runOne({
    scheme: "anon_vma",
    workload: "reflink-share",
    params: { ...SMALL, walksPerRound: 3 },
    seed: 1,
    machine: QUIET,
  });
  assert.deepEqual([r.walks.migrate.count, r.walks.referenced.count], [3, 3]);
});

Deno.test("reflink-share: the walker takes the most-shared folio of its sample", () => {
  // One worker writes one of the template's 2 heap pages (cowFraction 0.5): that folio is mapped
  // by the template alone, the other by both. walkSample 64 draws both; the one walk (a
  // migration) takes the folio mapped twice: visits 2, hits 2, no useless visit.
  const r = runOne({
    scheme: "anon_vma",
    workload: "reflink-share",
    params: {
      ...SMALL,
      files: 0,
      heapPages: 2,
      width: 1,
      depth: 1,
      cowFraction: 0.5,
      privatePages: 0,
      walkRounds: 1,
      walksPerRound: 1,
    },
    seed: 1,
    machine: QUIET,
  });
  assert.equal(r.counters.faults_cow_copy, 1);
  assert.deepEqual(Object.keys(r.walks).sort(), ["migrate", "remove_migration"]);
  assert.deepEqual(
    [r.walks.migrate.count, r.walks.migrate.visits.max, r.walks.migrate.hits.max],
    [1, 2, 2],
  );
  assert.equal(r.walks.migrate.useless.max, 0);
});

Deno.test("reflink-share: the estimate counts files + 2 VMAs per process and d + 1 AVCs each", () => {
  // SMALL: 6 workers (2 at depth 1, 4 at depth 2, depth sum 10); per process 2 file VMAs, the
  // heap and the private region (4). Mapped pages: 2 × max(read 4, write 2) + 4 heap = 12.
  const e = REFLINK_SHARE.estimate!(resolveParams(REFLINK_SHARE, SMALL));
  assert.deepEqual(e.objects, {
    vmas: 4 * 7,
    ptes: 12 * 7 + 2 * 6,
    folios: 8 + 2 * 4 + 2 * 6,
    avcs: 4 * (1 + 6 + 10),
    workloadBytes: 8 * (8 * 2 + 8),
  });
});

Deno.test("reflink-share: each worker draws its own CoW pages, reproducibly, by seed", () => {
  // 4 workers under the template, 2 heap pages, each worker writes 1 (cowFraction 0.5), from its
  // own stream (seeded by its path in the tree). A template folio is mapped by the template and
  // by every worker that did not copy it. Seed 1: 3 workers copy one page, 1 the other → the
  // folios are mapped 2 and 4 times; seed 2: 2 and 2 → 3 and 3. The walk migrates the most
  // shared one and ages the other (hits = mappings). Workers sharing one stream would copy the
  // same page: mapped 1 and 5 times.
  const hits = (seed: number): number[] => {
    const r = runOne({
      scheme: "anon_vma",
      workload: "reflink-share",
      params: {
        ...SMALL,
        files: 0,
        heapPages: 2,
        width: 4,
        depth: 1,
        cowFraction: 0.5,
        privatePages: 0,
        walkRounds: 1,
      },
      seed,
      machine: QUIET,
    });
    assert.equal(r.counters.faults_cow_copy, 4);
    return [r.walks.migrate.hits.max, r.walks.referenced.hits.max];
  };
  assert.deepEqual(hits(1), [4, 2]);
  assert.deepEqual(hits(2), [3, 3]);
  assert.deepEqual(hits(1), [4, 2]);
});

Deno.test("reflink-share: the walker samples walkSample folios, each at most once", () => {
  const walker = (extra: Record<string, number>) => {
    const r = runOne({
      scheme: "anon_vma",
      workload: "reflink-share",
      params: { ...SMALL, files: 0, width: 1, depth: 1, privatePages: 0, ...extra },
      seed: 1,
      machine: QUIET,
    });
    return [
      r.walks.migrate.count,
      r.walks.referenced.count,
      r.latency.walk_migrate.count,
      r.latency.walk_referenced.count,
    ];
  };
  // walkSample 1 of 8 heap folios: one folio a round, however many walksPerRound allows:
  // 3 rounds → M | R | M, one walk step each.
  assert.deepEqual(walker({ heapPages: 8, walkSample: 1, walkRounds: 3 }), [2, 1, 2, 1]);
  // 2 heap folios, 2 draws a round for 6 rounds: 2 rounds draw the same folio twice, whose sample
  // holds it once (one walk): 10 walks, alternating M R, and no step without a walk.
  assert.deepEqual(walker({ heapPages: 2, walkRounds: 6 }), [5, 5, 5, 5]);
});

Deno.test("reflink-share: the estimate counts each worker's CoW copies", () => {
  // SMALL with cowFraction 0.25: the template's 8 anon pages → round(8 × 0.25) = 2 copies per
  // worker: folios 8 + 2 × 4 read file pages + 6 × (2 + 2 private) = 40, and one list of 2
  // pages per worker in the workload's bytes: 8 × (8 × 2 + 8 + 2 × 6) = 288.
  const e = REFLINK_SHARE.estimate!(resolveParams(REFLINK_SHARE, { ...SMALL, cowFraction: 0.25 }));
  assert.equal(e.objects.folios, 40);
  assert.equal(e.objects.workloadBytes, 288);
});
