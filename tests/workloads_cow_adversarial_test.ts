// The cow-adversarial workload (workloads/cow_adversarial.ts): exact figures of a small instance
// under every scheme (every walk checked by the oracle, leak-free teardown), and the walk cost
// against depth, width and remaps that a sweep shows.

import assert from "node:assert/strict";
import { runOne } from "../runner/recorder.ts";
import { SCHEMES } from "../core/rmap/registry.ts";
import { adversarialProcesses, COW_ADVERSARIAL } from "../workloads/cow_adversarial.ts";
import { ParamError } from "../workloads/workload.ts";
import { getWorkload } from "../workloads/registry.ts";

/** No daemons: the only walks are the workload's migrations, so walk figures are exact. */
const QUIET = { reclaimIntervalNs: 0, migrateIntervalNs: 0 };

/** Depth 2, width 2 (7 processes), 2 shared pages, 1 CoW'd page and 2 remaps per child. */
const SMALL = {
  depth: 2,
  width: 2,
  regionPages: 2,
  cowFraction: 0.5,
  remaps: 2,
  walks: 4,
  exitAtEnd: false,
};

Deno.test("cow-adversarial is registered with documented parameters", () => {
  assert.equal(getWorkload("cow-adversarial"), COW_ADVERSARIAL);
  for (const p of COW_ADVERSARIAL.params) {
    assert.ok(p.description.length > 0 && p.source.length > 0, p.name);
  }
  assert.equal(adversarialProcesses(0, 5), 1);
  assert.equal(adversarialProcesses(3, 3), 40);
});

Deno.test("cow-adversarial: exact objects and walks of a small instance, every scheme", () => {
  //  R writes pages 0 and 1 of its region; breadth-first fork tree:
  //      R
  //     /  \
  //    C1   C2            each child: unmaps the parent's fresh VMAs (none from R), moves its
  //   /  \  /  \          copy to its own address (offset o_copy), writes 1 page (seed 1: page 0
  //  G11 G12 G21 G22      for all but G11, which writes page 1), then 2 rounds of mmap at the
  //                       region's address + write + move away (offsets o_1, o_2).
  //  The walker migrates page 1 of R four times (seed 1): mapped by R and every child but G11.
  //
  //  Objects (tree kept alive: exitAtEnd false):
  //    VMAs = 1 + 6 x (copy + 2 fresh) = 19; mm = 7.
  //    anon_vma family: anon_vma = 1 + 6 x 3 = 19; AVCs = 1 + 2 x (2 + 2) + 4 x (3 + 2) = 29
  //      (a moved copy keeps its chain; each fresh VMA has its own anon_vma and 1 AVC).
  //    anon_vma_lazy (docs/model.md §10.3): anon_vmas only at fork: R, and C1 and C2 upgraded
  //      when they fork (copy + 2 moved fresh VMAs each): 1 + 2 x 3 = 7; AVCs: R 1, C1 and C2
  //      2 + 2 each, each grandchild's copy inherits its parent copy's 2-AVC chain (TREE_PARENT,
  //      no anon_vma of its own): 1 + 2 x 4 + 4 x 2 = 17. VMAs: 19 + 12 detached lazy roots
  //      still pinned (vma_get) by the VMAs derived from them: per grandchild its moved copy's
  //      old VMA and its 2 moved fresh VMAs (children drop theirs when upgraded at fork) = 31.
  //    cow_context: 7 contexts; per child 1 remap entry over the region's 2 pgoffs holding
  //      3 offsets (o_copy, o_1, o_2): a capacity-4 array (kmalloc-64) and 1 maple node.
  //  Walks (migrate; remove_migration the same):
  //    anon_vma family: R's anon_vma; its tree holds R's VMA and the 6 moved copies: 7 visits,
  //      6 hits, 1 useless (G11's copy maps G11's own page).
  //    cow_context: 7 contexts; R hits at the folio's index; each child finds nothing there and
  //      looks up its 3 offsets: 1 + 6 x 3 = 19 visits, 6 hits, 13 useless; structures 7 + 6.
  const common = { vm_area_struct: 19, maple_node: 7, mm_struct: 7 };
  const want: Record<string, { objects: Record<string, number>; visits: number; st: number }> = {
    "anon_vma": {
      objects: { ...common, anon_vma: 19, anon_vma_chain: 29 },
      visits: 7,
      st: 1,
    },
    "anon_vma-2026": {
      objects: { ...common, anon_vma: 19, anon_vma_chain: 29 },
      visits: 7,
      st: 1,
    },
    "anon_vma-per-av-lock": {
      objects: { ...common, anon_vma: 19, anon_vma_chain: 29 },
      visits: 7,
      st: 1,
    },
    "anon_vma_lazy": {
      objects: { ...common, vm_area_struct: 31, anon_vma: 7, anon_vma_chain: 17 },
      visits: 7,
      st: 1,
    },
    "cow_context": {
      objects: {
        ...common,
        cow_context: 7,
        cow_remap_entry: 6,
        cow_remap_node: 6,
        cow_remap_array_64: 6,
      },
      visits: 19,
      st: 13,
    },
  };
  assert.deepEqual(SCHEMES.map((s) => s.info.id).sort(), Object.keys(want).sort());
  for (const s of SCHEMES) {
    const id = s.info.id;
    const r = runOne({
      scheme: id,
      workload: "cow-adversarial",
      params: SMALL,
      seed: 1,
      machine: QUIET,
    });
    const live = Object.fromEntries(
      Object.entries(r.slab.final.objects).filter(([, n]) => n !== 0),
    );
    assert.deepEqual(live, want[id].objects, id);
    assert.deepEqual(Object.keys(r.walks).sort(), ["migrate", "remove_migration"], id);
    for (const kind of ["migrate", "remove_migration"]) {
      const w = r.walks[kind];
      assert.equal(w.count, 4, `${id} ${kind}`);
      assert.equal(w.visits.min, want[id].visits, `${id} ${kind}`);
      assert.equal(w.visits.max, want[id].visits, `${id} ${kind}`);
      assert.equal(w.hits.sum, 4 * 6, `${id} ${kind}`);
      assert.equal(w.useless.sum, 4 * (want[id].visits - 6), `${id} ${kind}`);
      assert.equal(w.structures.max, want[id].st, `${id} ${kind}`);
    }
    assert.equal(r.oracle.walksChecked, 8, id);
    assert.equal(r.oracle.mismatches, 0, id);
    assert.equal(r.oracle.leakFree, true, id);
  }
});

Deno.test("cow-adversarial: walk cost against depth, width and remaps", () => {
  // No CoW: every process maps the walked folio. With P processes and r remap rounds at the
  // region's address, a cow_context walk visits 1 + (P - 1)(r + 1) candidates (P - 1 of them
  // hits via the moved copies, (P - 1) r useless) and reads one remap entry per child; an
  // anon_vma walk visits the P moved copies. With the rounds at their own addresses
  // ("distinct") the entries over the folio hold only the copy's offset: P visits.
  const visits = (scheme: string, params: Record<string, number | string | boolean>) => {
    const r = runOne({
      scheme,
      workload: "cow-adversarial",
      params: { regionPages: 1, cowFraction: 0, walks: 1, ...params },
      seed: 1,
      machine: QUIET,
    });
    assert.equal(r.oracle.leakFree, true);
    const w = r.walks.migrate;
    return [w.visits.max, w.useless.max, w.structures.max];
  };
  for (
    const [depth, width, remaps] of [[1, 2, 0], [2, 2, 0], [2, 2, 3], [3, 2, 3], [2, 4, 1]]
  ) {
    const n = adversarialProcesses(depth, width);
    const p = { depth, width, remaps };
    assert.deepEqual(visits("cow_context", p), [
      1 + (n - 1) * (remaps + 1),
      (n - 1) * remaps,
      2 * n - 1,
    ], JSON.stringify(p));
    assert.deepEqual(visits("anon_vma", p), [n, 0, 1], JSON.stringify(p));
    assert.deepEqual(
      visits("cow_context", { ...p, remapTarget: "distinct", moveInherited: true }),
      [n, 0, 2 * n - 1],
      JSON.stringify(p),
    );
  }
});

Deno.test("cow-adversarial: remapTarget folio moves the inherited copy even without moveInherited", () => {
  // The remapTarget parameter: fresh memory "at the region's address ... implies moving the
  // inherited copy", so moveInherited=false changes nothing when remaps > 0. Depth 1, width 2,
  // 1 shared page, 1 remap round: each child's moved copy and moved fresh VMA = 2 VMAs, root 1:
  // 5 VMAs. A walk of the shared folio: anon_vma visits the 3 copies; cow_context visits
  // 1 + 2 × (1 + 1) = 5 candidates (2 useless) over 3 contexts and 2 remap entries.
  for (const moveInherited of [true, false]) {
    const want: Record<string, number[]> = { anon_vma: [3, 0, 1], cow_context: [5, 2, 5] };
    for (const scheme of ["anon_vma", "cow_context"]) {
      const r = runOne({
        scheme,
        workload: "cow-adversarial",
        params: {
          depth: 1,
          width: 2,
          regionPages: 1,
          cowFraction: 0,
          remaps: 1,
          walks: 1,
          moveInherited,
          exitAtEnd: false,
        },
        seed: 1,
        machine: QUIET,
      });
      const w = r.walks.migrate;
      const what = `${scheme} moveInherited=${moveInherited}`;
      assert.deepEqual([w.visits.max, w.useless.max, w.structures.max], want[scheme], what);
      assert.equal(r.slab.final.objects.vm_area_struct, 5, what);
      assert.ok(r.notes?.[0].endsWith("inherited copy moved."), what);
    }
  }
});

Deno.test("cow-adversarial: a tree too large for the address layout is a one-line ParamError", () => {
  assert.throws(
    () =>
      runOne({
        scheme: "cow_context",
        workload: "cow-adversarial",
        params: { depth: 10, width: 64 },
        seed: 1,
        machine: QUIET,
      }),
    (e: unknown) =>
      e instanceof ParamError && /do not fit the address layout/.test(e.message) &&
      !e.message.includes("\n"),
  );
});

Deno.test("cow-adversarial: cowFraction rounds to the nearest page count", () => {
  // One child, 2 shared pages, cowFraction 0.25: 0.5 page rounds to 1 (Math.round), so the
  // child CoW-copies 1 page: 2 root folios + 1 copy.
  const r = runOne({
    scheme: "anon_vma",
    workload: "cow-adversarial",
    params: {
      depth: 1,
      width: 1,
      regionPages: 2,
      cowFraction: 0.25,
      remaps: 0,
      walks: 0,
      exitAtEnd: false,
    },
    seed: 1,
    machine: QUIET,
  });
  assert.equal(r.counters.faults_cow_copy, 1);
  assert.equal(r.counters.anon_folios_final, 3);
});

Deno.test("cow-adversarial: with walks=0 the tree still exits at the end (exitAtEnd)", () => {
  // No walker thread: the builder itself exits the 3 processes (depth 1, width 2), leaves
  // first, and nothing is left.
  const r = runOne({
    scheme: "anon_vma",
    workload: "cow-adversarial",
    params: { depth: 1, width: 2, regionPages: 1, cowFraction: 0, remaps: 1, walks: 0 },
    seed: 1,
    machine: QUIET,
  });
  assert.equal(r.counters.forks, 2);
  assert.equal(r.counters.exits, 3);
  assert.equal(r.counters.processes_final, 0);
  assert.equal(r.slab.final.objects.vm_area_struct, 0);
  assert.deepEqual(r.walks, {});
});

Deno.test("cow-adversarial: moved copy and remap rounds land a page apart, never merging", () => {
  // One child, 2 shared pages, 2 rounds at addresses of their own ("distinct"): the child's
  // moved copy and its 2 moved rounds sit a page apart in its move area, so none has a
  // neighbour to merge with: root 1 + child 3 = 4 VMAs, no merge and no failed merge attempt
  // (adjacent, the rounds' contiguous pgoffs would merge under cow_context, and fail on
  // anon_vma under anon_vma). Under cow_context each moved VMA keeps a remap entry of its own.
  for (const scheme of ["anon_vma", "cow_context"]) {
    const r = runOne({
      scheme,
      workload: "cow-adversarial",
      params: {
        depth: 1,
        width: 1,
        regionPages: 2,
        cowFraction: 0,
        remaps: 2,
        remapTarget: "distinct",
        walks: 1,
        exitAtEnd: false,
      },
      seed: 1,
      machine: QUIET,
    });
    assert.equal(r.slab.final.objects.vm_area_struct, 4, scheme);
    assert.equal(r.counters.merges ?? 0, 0, scheme);
    for (const reason of ["flags", "file", "pgoff", "anon_vma", "fork_child"]) {
      assert.equal(r.counters[`merge_failed_${reason}`] ?? 0, 0, `${scheme} ${reason}`);
    }
    if (scheme === "cow_context") assert.equal(r.slab.final.objects.cow_remap_entry, 3);
  }
});
