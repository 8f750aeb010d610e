import assert from "node:assert/strict";
import { runOne } from "../runner/recorder.ts";
import { SCHEMES } from "../core/rmap/registry.ts";
import { ParamError, paramsOf, resolveParams } from "../workloads/workload.ts";
import { FORK_STORM } from "../workloads/fork_storm.ts";
import type { RunResult } from "../reports/results.ts";

/** No daemons: the only walks are the workload's probe, so walk figures are exact. */
const QUIET = { reclaimIntervalNs: 0, migrateIntervalNs: 0 };

function run(params: Record<string, number | string | boolean>, scheme = "anon_vma"): RunResult {
  return runOne({ scheme, workload: "fork-storm", params, seed: 1, machine: QUIET });
}

Deno.test("fork-storm breadth: 1 + N anon_vmas and 1 + 2N AVCs per region (§12.5 E3)", () => {
  // Root: 2 regions × 4 pages, every page written → 2 root anon_vmas (A1, A2), 2 AVCs.
  // fork ×3: per faulted parent VMA anon_vma_fork gives the child 1 new leaf anon_vma and
  // L + 1 = 2 AVCs (L = 1, the root's chain) — §3.3. Children stay alive (exitChildren false).
  //   vm_area_struct = R(1 + N) = 2 × 4 = 8
  //   anon_vma       = R(1 + N) = 8
  //   anon_vma_chain = R(1 + 2N) = 2 × 7 = 14
  //   mm_struct      = 1 + N = 4
  // cowFraction 1: every child writes every inherited page → 3 × 8 CoW copies in the children's
  // leaves, plus the root's 8 folios = 32 anon folios. A root folio is then mapped by the root
  // only, but it stays in A, whose interval tree holds the root VMA and the 3 children's VMAs:
  // a migration walk visits N + 1 = 4 VMAs, hits 1, useless N = 3 (E3 "after every child
  // writes every page"). 4 probe migrations = 4 "migrate" + 4 "remove_migration" walks.
  const r = run({
    mode: "breadth",
    children: 3,
    regions: 2,
    pages: 4,
    cowFraction: 1,
    exitChildren: false,
    rounds: 1,
    probeWalks: 4,
  });
  assert.equal(r.slab.final.objects.vm_area_struct, 8);
  assert.equal(r.slab.final.objects.anon_vma, 8);
  assert.equal(r.slab.final.objects.anon_vma_chain, 14);
  assert.equal(r.slab.final.objects.mm_struct, 4);
  assert.equal(r.counters.anon_folios_final, 32);
  assert.equal(r.counters.forks, 3);
  for (const kind of ["migrate", "remove_migration"]) {
    const w = r.walks[kind];
    assert.equal(w.count, 4);
    assert.equal(w.visits.min, 4);
    assert.equal(w.visits.max, 4);
    assert.equal(w.hits.max, 1);
    assert.equal(w.useless.min, 3);
  }
  assert.deepEqual(Object.keys(r.walks).sort(), ["migrate", "remove_migration"]);
});

Deno.test("fork-storm tree: depth-d processes have d + 1 AVCs per region (§3.3)", () => {
  // fanout 2 exactly, depth 2: 1 + 2 + 4 = 7 processes, 1 region of 2 pages.
  //   vm_area_struct = anon_vma = 7 (one VMA and one own anon_vma per process)
  //   anon_vma_chain = 1·1 + 2·2 + 4·3 = 17
  // No CoW: the root's folios are mapped by all 7 processes, and the root anon_vma's tree
  // holds one AVC per VMA of the whole tree → visits 7, hits 7, useless 0.
  const r = run({
    mode: "tree",
    depth: 2,
    fanout: 2,
    fanoutRandom: false,
    regions: 1,
    pages: 2,
    cowFraction: 0,
    exitChildren: false,
    rounds: 1,
    probeWalks: 2,
  });
  assert.equal(r.slab.final.objects.vm_area_struct, 7);
  assert.equal(r.slab.final.objects.anon_vma, 7);
  assert.equal(r.slab.final.objects.anon_vma_chain, 17);
  assert.equal(r.slab.final.objects.mm_struct, 7);
  assert.equal(r.counters.forks, 6);
  assert.equal(r.walks.migrate.count, 2);
  assert.equal(r.walks.migrate.visits.mean, 7);
  assert.equal(r.walks.migrate.hits.mean, 7);
  assert.equal(r.walks.migrate.useless.max, 0);
});

Deno.test("fork-storm tree: fanoutRandom forks 1..fanout children, never 0 (rmap.c)", () => {
  // selftests/mm/rmap.c forks rand() % MAX_CHILDREN + 1 children per node: with fanout 1 every
  // process above the last level forks exactly one child, random or not. Depth 4, 1 region of
  // 1 page, no CoW: the root and 4 levels = 5 processes, 4 forks, a chain of 1 + 2 + 3 + 4 + 5
  // = 15 AVCs (d + 1 at depth d, §3.3), and a root folio walk visits and hits all 5 VMAs.
  const r = run({
    mode: "tree",
    depth: 4,
    fanout: 1,
    fanoutRandom: true,
    regions: 1,
    pages: 1,
    cowFraction: 0,
    exitChildren: false,
    rounds: 1,
    probeWalks: 1,
  });
  assert.equal(r.counters.forks, 4);
  assert.equal(r.slab.final.objects.vm_area_struct, 5);
  assert.equal(r.slab.final.objects.anon_vma_chain, 15);
  assert.equal(r.walks.migrate.visits.mean, 5);
  assert.equal(r.walks.migrate.hits.mean, 5);
});

Deno.test("fork-storm chain: a live chain grows one AVC per generation", () => {
  // Root + 4 live generations, 2 regions: generation g has g + 1 AVCs per region.
  //   vm_area_struct = anon_vma = 2 × 5 = 10
  //   anon_vma_chain = 2 × (1 + 2 + 3 + 4 + 5) = 30
  // A root folio (no CoW) is mapped by all 5 → visits 5, hits 5.
  const r = run({
    mode: "chain",
    generations: 4,
    regions: 2,
    pages: 2,
    cowFraction: 0,
    exitChildren: false,
    rounds: 1,
    probeWalks: 1,
  });
  assert.equal(r.slab.final.objects.vm_area_struct, 10);
  assert.equal(r.slab.final.objects.anon_vma, 10);
  assert.equal(r.slab.final.objects.anon_vma_chain, 30);
  assert.equal(r.walks.migrate.visits.mean, 5);
  assert.equal(r.walks.migrate.hits.mean, 5);
});

Deno.test("fork-storm chain-exit: the reuse rule bounds the chain at 3 anon_vmas (§12.5 E4)", () => {
  // The root P0 (anon_vma A per region) stays alive; P1 = fork(P0) gets leaf B1 (chain {B1, A}),
  // forks P2 and exits. P2 (forked while P1 lived) gets B2 (parent B1), chain {B2, B1, A}. P1's
  // exit leaves B1 with num_active_vmas 0 and one child (B2). P3 = fork(P2) after P2's parent
  // exited: A has an active VMA (P0) and 2 children (self + B1), B2 is P2's own — but B1 has
  // active 0 and children 1 → reused (§3.3 rule). P2 exits (B2 active 0, still one child-less
  // anon_vma with P3's AVC in its tree) and P4 reuses B2, P5 B1, P6 B2 … so from generation 3 on
  // no anon_vma is allocated and every generation has 3 AVCs per region. After 6 generations only
  // P0 and P6 live:
  //   vm_area_struct = 2 regions × 2 processes = 4
  //   anon_vma       = 2 × {A, B1, B2} = 6   (without the rule: 2 × 7 = 14)
  //   anon_vma_chain = 2 × (1 + 3) = 8
  // A root folio is mapped by P0 and P6, both VMAs in A's tree → visits 2, hits 2.
  const r = run({
    mode: "chain-exit",
    generations: 6,
    regions: 2,
    pages: 2,
    cowFraction: 0,
    exitChildren: false,
    rounds: 1,
    probeWalks: 1,
  });
  assert.equal(r.slab.final.objects.vm_area_struct, 4);
  assert.equal(r.slab.final.objects.anon_vma, 6);
  assert.equal(r.slab.final.objects.anon_vma_chain, 8);
  assert.equal(r.slab.final.objects.mm_struct, 2);
  assert.equal(r.counters.forks, 6);
  assert.equal(r.counters.exits, 5);
  assert.equal(r.walks.migrate.visits.mean, 2);
  assert.equal(r.walks.migrate.hits.mean, 2);
});

Deno.test("fork-storm: children exiting leave only the root's objects", () => {
  // With exitChildren every forked process exits; the root keeps 1 VMA, 1 anon_vma, 1 AVC per
  // region, and the run is leak-free (runOne checks it after the teardown).
  for (const mode of ["breadth", "tree", "chain", "chain-exit"]) {
    const r = run({ mode, regions: 3, pages: 2, children: 4, depth: 3, generations: 5, rounds: 2 });
    assert.equal(r.slab.final.objects.vm_area_struct, 3, mode);
    assert.equal(r.slab.final.objects.anon_vma, 3, mode);
    assert.equal(r.slab.final.objects.anon_vma_chain, 3, mode);
    assert.equal(r.slab.final.objects.mm_struct, 1, mode);
  }
});

Deno.test("fork-storm runs under every scheme with the daemons (oracle-checked, leak-free)", () => {
  for (const s of SCHEMES) {
    for (const mode of ["breadth", "tree", "chain", "chain-exit"]) {
      const r = runOne({
        scheme: s.info.id,
        workload: "fork-storm",
        params: { mode, regions: 2, pages: 4, children: 4, depth: 3, generations: 6, rounds: 2 },
        seed: 3,
        machine: { reclaimIntervalNs: 20_000, migrateIntervalNs: 50_000 },
      });
      assert.equal(r.oracle.mismatches, 0);
      assert.ok(r.oracle.leakFree);
      assert.ok(r.oracle.walksChecked > 0, `${s.info.id} ${mode}`);
    }
  }
});

Deno.test("fork-storm parameters are validated with their ranges", () => {
  assert.throws(
    () => resolveParams(FORK_STORM, { children: 0 }),
    /fork-storm parameter children must be an integer in \[1, 4096\], got 0/,
  );
  assert.throws(
    () => resolveParams(FORK_STORM, { mode: "star" }),
    /parameter mode must be one of breadth, tree, chain, chain-exit/,
  );
  assert.throws(
    () => resolveParams(FORK_STORM, { cowFraction: 1.5 }),
    /parameter cowFraction must be a number in \[0, 1\]/,
  );
  assert.throws(() => resolveParams(FORK_STORM, { bogus: 1 }), /Unknown parameter "bogus"/);
  assert.throws(
    () => runOne({ scheme: "anon_vma", workload: "fork-storm", params: { depth: 13 } }),
    /depth must be an integer in \[1, 12\]/,
  );
  for (const p of FORK_STORM.params) {
    assert.ok(p.description.length > 0 && p.source.length > 0, p.name);
  }
});

Deno.test("fork-storm: cowFraction rounds to the nearest page count", () => {
  // 2 regions × 3 pages, cowFraction 0.25: 0.25 × 6 = 1.5 pages, rounded to 2 (Math.round), so
  // the one child CoW-copies 2 pages: 6 root folios + 2 copies = 8 anon folios.
  const r = run({
    mode: "breadth",
    children: 1,
    regions: 2,
    pages: 3,
    cowFraction: 0.25,
    exitChildren: false,
    rounds: 1,
    probeWalks: 0,
  });
  assert.equal(r.counters.faults_cow_copy, 2);
  assert.equal(r.counters.anon_folios_final, 8);
});

Deno.test("fork-storm: the probe walks the whole built hierarchy before anyone exits", () => {
  // Breadth, 3 children that exit (childLifetimeNs 0), no CoW: a forked process waits for the
  // probe before exiting, so the probe's root-folio walk still sees the root and the 3 children
  // (visits 4, hits 4), and afterwards all 3 exit.
  const r = run({
    mode: "breadth",
    children: 3,
    regions: 1,
    pages: 2,
    cowFraction: 0,
    childLifetimeNs: 0,
    rounds: 1,
    probeWalks: 1,
  });
  for (const kind of ["migrate", "remove_migration"]) {
    assert.equal(r.walks[kind].count, 1, kind);
    assert.equal(r.walks[kind].visits.max, 4, kind);
    assert.equal(r.walks[kind].hits.max, 4, kind);
  }
  assert.equal(r.counters.exits, 3);
});

Deno.test("fork-storm: with exitChildren a round starts only after the last one's exits", () => {
  // Breadth, 2 children living 1 ms, 2 rounds: the root waits for round 0's children to exit
  // before forking round 1's, so at most the root and 2 children are alive (3 mm_structs), and
  // each round's probe walk sees 3 VMAs.
  const r = run({
    mode: "breadth",
    children: 2,
    regions: 1,
    pages: 2,
    cowFraction: 0,
    childLifetimeNs: 1_000_000,
    rounds: 2,
    probeWalks: 1,
  });
  assert.equal(r.counters.forks, 4);
  assert.equal(r.counters.exits, 4);
  assert.equal(r.slab.peak.objects.mm_struct, 3);
  assert.equal(r.walks.migrate.count, 2);
  assert.equal(r.walks.migrate.visits.max, 3);
});

Deno.test("fork-storm chain-exit: a generation forks only after its parent exited", () => {
  // "fork, parent exits, child forks" (§3.3): with 64-page regions a fork takes long enough
  // that a child not waiting would fork while its parent still lives. Waiting, at most P0, a
  // parent between its fork and its exit, and its child are alive (3 mm_structs), and the reuse
  // rule keeps 2 regions × {A, B1, B2} = 6 anon_vmas (as in the 2-page test above).
  const r = run({
    mode: "chain-exit",
    generations: 6,
    regions: 2,
    pages: 64,
    cowFraction: 0,
    exitChildren: false,
    rounds: 1,
    probeWalks: 1,
  });
  assert.equal(r.slab.peak.objects.mm_struct, 3);
  assert.equal(r.slab.final.objects.anon_vma, 6);
  assert.equal(r.slab.peak.objects.anon_vma, 6);
  assert.equal(r.counters.forks, 6);
});

Deno.test("fork-storm estimate: a live chain's objects are the peak a run reaches", () => {
  // Chain of 4 live generations, 2 regions × 2 pages, no CoW: the estimate's VMAs (2 × 5), PTEs
  // (4 × 5), folios (4) and AVCs (d + 1 per region at depth d, §3.3: 2 × (1 + 2 + 3 + 4 + 5)
  // = 30) are exactly the objects of the run's peak.
  const params = { mode: "chain", generations: 4, regions: 2, pages: 2, cowFraction: 0 };
  const e = FORK_STORM.estimate!(resolveParams(FORK_STORM, params));
  assert.equal(e.objects.vmas, 10);
  assert.equal(e.objects.ptes, 20);
  assert.equal(e.objects.folios, 4);
  assert.equal(e.objects.avcs, 30);
  const r = run({ ...params, exitChildren: false, rounds: 1, probeWalks: 0 });
  assert.equal(r.slab.peak.objects.vm_area_struct, e.objects.vmas);
  assert.equal(r.slab.peak.objects.anon_vma_chain, e.objects.avcs);
  assert.equal(r.counters.anon_folios_final, e.objects.folios);
});

Deno.test("fork-storm parameters given as strings parse like the command line", () => {
  // bool: true/1 and false/0; anything else is an error naming the range.
  for (const [raw, want] of [["true", true], ["1", true], ["false", false], ["0", false]]) {
    assert.equal(resolveParams(FORK_STORM, { exitChildren: raw }).exitChildren, want, `${raw}`);
  }
  assert.throws(
    () => resolveParams(FORK_STORM, { exitChildren: "yes" }),
    /parameter exitChildren must be true or false, got "yes"/,
  );
  // Numbers: the whole string must be a number ("1e1" is 10); trailing junk is refused.
  assert.equal(resolveParams(FORK_STORM, { pages: "1e1" }).pages, 10);
  assert.equal(resolveParams(FORK_STORM, { cowFraction: " 0.5 " }).cowFraction, 0.5);
  assert.throws(
    () => resolveParams(FORK_STORM, { pages: "12abc" }),
    /parameter pages must be an integer in \[1, 1048576\], got "12abc"/,
  );
  // A non-finite number is named as such (JSON.stringify would print null).
  assert.throws(
    () => resolveParams(FORK_STORM, { cowFraction: NaN }),
    /cowFraction must be a number in \[0, 1\], got NaN$/,
  );
  assert.throws(
    () => resolveParams(FORK_STORM, { cowFraction: Infinity }),
    /cowFraction must be a number in \[0, 1\], got Infinity$/,
  );
});

Deno.test("paramsOf checks every fork-storm parameter's type against its spec", () => {
  const ok = resolveParams(FORK_STORM, {});
  assert.equal(paramsOf(FORK_STORM.params, ok), ok);
  // An unparsed string for an int, or an enum value outside its choices, is a ParamError.
  assert.throws(
    () => paramsOf(FORK_STORM.params, { ...ok, pages: "4" }),
    (e: unknown) =>
      e instanceof ParamError &&
      e.message === 'Parameter pages must be an integer in [1, 1048576], got "4"',
  );
  assert.throws(
    () => paramsOf(FORK_STORM.params, { ...ok, mode: "star" }),
    /Parameter mode must be one of breadth, tree, chain, chain-exit, got "star"/,
  );
  assert.throws(() => paramsOf(FORK_STORM.params, { ...ok, exitChildren: 1 }), ParamError);
});
