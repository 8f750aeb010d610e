import assert from "node:assert/strict";
import { runOne } from "../runner/recorder.ts";
import type { RunResult } from "../reports/results.ts";
import { SCHEMES } from "../core/rmap/registry.ts";
import { ParamError } from "../workloads/workload.ts";

const QUIET = { reclaimIntervalNs: 0, migrateIntervalNs: 0 };

function churn(params: Record<string, number | string | boolean>, scheme = "anon_vma"): RunResult {
  return runOne({ scheme, workload: "mremap-churn", params, seed: 1, machine: QUIET });
}

const HOLE_AND_BACK = {
  processes: 1,
  rounds: 2,
  heapSlots: 4,
  slotPages: 2,
  reallocWeight: 0,
  defragWeight: 0,
  holeBackWeight: 1,
  thinkNs: 0,
};

Deno.test("mremap-churn: hole-and-back restores contiguity (E5(iii))", () => {
  // Heap H = 4 slots × 2 pages, PROT_NONE, placed top-down. Round 0: no live slot, so slot 0 is
  // allocated: mmap(RW, FIXED) over H's first 2 pages (split; merge with the PROT_NONE rest fails
  // on flags: 1) and written → anon_vma A, 1 AVC. Round 1: scratch S = mmap(PROT_NONE) lands just
  // below H (top-down) → next is slot 0, flags differ (2). Move slot 0 → S: copy_vma keeps
  // pgoff = H>>12 (faulted, §6); next = slot 0 itself, pgoff(slot 0) != pgoff + 2 → pgoff (1).
  // Move back → H: prev = the VMA at S with pgoff H>>12, H>>12 + 2 != H>>12 → pgoff (2); next =
  // the PROT_NONE rest → flags (3). End: slot 0 back at H with pgoff H>>12 and A, beside the
  // reservation: 2 VMAs, 1 anon_vma, 1 AVC, no merge.
  const r = churn(HOLE_AND_BACK);
  assert.equal(r.counters.vmas_final, 2);
  assert.equal(r.slab.final.objects.anon_vma, 1);
  assert.equal(r.slab.final.objects.anon_vma_chain, 1);
  assert.equal(r.counters.merges ?? 0, 0);
  assert.equal(r.counters.merge_failed_flags, 3);
  assert.equal(r.counters.merge_failed_pgoff, 2);
  assert.equal(r.counters.merge_failed_anon_vma ?? 0, 0);
  assert.equal(r.counters.mremap_moves, 2);
  // With RELOCATE_ANON (§10.2): the move to S gets pgoff S>>12; __anon_vma_prepare reuses A from
  // the adjacent source (S>>12 + 2 == H>>12, singular chain) and the retried merge joins them;
  // the move back does the same with prev. Same end state, 2 merges and no pgoff failure.
  const rr = churn({ ...HOLE_AND_BACK, relocate: "relocate" });
  assert.equal(rr.counters.vmas_final, 2);
  assert.equal(rr.slab.final.objects.anon_vma, 1);
  assert.equal(rr.slab.final.objects.anon_vma_chain, 1);
  assert.equal(rr.counters.merges, 2);
  assert.equal(rr.counters.merge_failed_pgoff ?? 0, 0);
  assert.equal(rr.counters.mremap_relocated, 2);
});

const DEFRAG = {
  processes: 1,
  rounds: 10,
  heapSlots: 4,
  slotPages: 2,
  reallocWeight: 0,
  defragWeight: 1,
  holeBackWeight: 0,
  thinkNs: 0,
};

Deno.test("mremap-churn: compaction moves fragment, RELOCATE_ANON re-merges (E5, E5(ii))", () => {
  // Slots allocated next to each other merge into one VMA with one anon_vma A (§7 case 2). A GC
  // compaction move of a faulted slot keeps its old pgoff (§6), so at its destination it cannot
  // merge with the slot below (same A, pgoff discontiguous): 2 pgoff failures, 2 VMAs, 2 AVCs.
  const r = churn(DEFRAG);
  assert.equal(r.counters.vmas_final, 2);
  assert.equal(r.slab.final.objects.anon_vma, 1);
  assert.equal(r.slab.final.objects.anon_vma_chain, 2);
  assert.equal(r.counters.merge_failed_pgoff, 2);
  assert.equal(r.counters.mremap_moves, 2);
  // RELOCATE_ANON: the destination gets pgoff = new_addr >> 12 and re-merges: 1 VMA, 1 AVC.
  const rr = churn({ ...DEFRAG, relocate: "relocate" });
  assert.equal(rr.counters.vmas_final, 1);
  assert.equal(rr.slab.final.objects.anon_vma, 1);
  assert.equal(rr.slab.final.objects.anon_vma_chain, 1);
  assert.equal(rr.counters.merge_failed_pgoff ?? 0, 0);
  assert.equal(rr.counters.mremap_relocated, 2);
  assert.ok(rr.counters.vmas_final < r.counters.vmas_final);
});

Deno.test("mremap-churn: a live fork child makes relocation fall back (§10.2 eligibility)", () => {
  const p = { ...DEFRAG, rounds: 8, forkEvery: 5, childLifeNs: 1_000_000 };
  for (const relocate of ["relocate", "must"]) {
    const r = churn({ ...p, relocate });
    assert.equal(r.counters.relocate_fallback, 2);
    assert.equal(r.counters.mremap_relocated ?? 0, 0);
    assert.equal(r.counters.mremap_moves, 2);
    assert.equal(r.counters.forks, 1);
  }
  const must = churn({ ...p, relocate: "must" });
  const row = must.extraTables![0].rows.find((x) => x[0] === "must_relocate_efault");
  assert.deepEqual(row, ["must_relocate_efault", 2]);
});

Deno.test("mremap-churn realloc: a buffer doubles up to maxBufferPages, then is freed", () => {
  // Realloc rounds only, one buffer of 1 page, cap 4 pages, no blockers (seed 1: no extra
  // buffer from the 10 % chance). Round 0 maps and writes the buffer; rounds 1 and 2 double it
  // (1 → 2 → 4 pages: the cap itself is allowed), in place since nothing follows it; round 3
  // would grow it to 8 > 4 pages and frees it. Left: the heap reservation (PROT_NONE, never
  // faulted) — 1 VMA, no anon_vma, no anon folio.
  const r = churn({
    processes: 1,
    rounds: 4,
    reallocWeight: 1,
    defragWeight: 0,
    holeBackWeight: 0,
    bufferPages: 1,
    maxBufferPages: 4,
    buffers: 1,
    blockerProbability: 0,
    thinkNs: 0,
  });
  const rows = Object.fromEntries(r.extraTables![0].rows);
  assert.equal(rows.realloc_rounds, 4);
  assert.equal(rows.realloc_in_place, 2);
  assert.equal(rows.buffers_freed, 1);
  assert.equal(rows.realloc_moved, undefined);
  assert.equal(r.counters.mremap_expand_in_place, 2);
  assert.equal(r.counters.vmas_final, 1);
  assert.equal(r.slab.final.objects.anon_vma, 0);
  assert.equal(r.counters.anon_folios_final, 0);
});

Deno.test("mremap-churn: every scheme runs the mixed patterns leak-free", () => {
  for (const s of SCHEMES) {
    for (const relocate of ["off", "relocate"]) {
      const r = churn({ processes: 2, rounds: 120, forkEvery: 40, relocate }, s.info.id);
      assert.equal(r.oracle.mismatches, 0);
      assert.ok(r.oracle.leakFree);
    }
  }
});

Deno.test("mremap-churn: parameter validation", () => {
  assert.throws(() => churn({ rounds: 0 }), ParamError);
  assert.throws(() => churn({ relocate: "maybe" }), /one of off, relocate, must/);
  assert.throws(() => churn({ blockerProbability: 2 }), ParamError);
  assert.throws(
    () => churn({ bufferPages: 8, maxBufferPages: 4 }),
    /must not exceed maxBufferPages/,
  );
  assert.throws(() => churn({ nope: 1 }), /Unknown parameter "nope"/);
});

/** Realloc rounds only: one buffer of 1 page, cap 4 pages (see the test above). */
const REALLOC = {
  processes: 1,
  reallocWeight: 1,
  defragWeight: 0,
  holeBackWeight: 0,
  bufferPages: 1,
  maxBufferPages: 4,
  buffers: 1,
  thinkNs: 0,
};

Deno.test("mremap-churn realloc: a grown buffer faults its new pages", () => {
  // As above, stopping before the free: the buffer is mapped and written (1 page), grown in
  // place to 2 and 4 pages, each time writing the new half: 1 + 1 + 2 = 4 new anon folios, one
  // VMA beside the heap reservation (2 VMAs), one anon_vma.
  const r = churn({ ...REALLOC, rounds: 3, blockerProbability: 0 });
  assert.equal(r.counters.faults_anon_new, 4);
  assert.equal(r.counters.anon_folios_final, 4);
  assert.equal(r.counters.mremap_expand_in_place, 2);
  assert.equal(r.counters.vmas_final, 2);
  assert.equal(r.slab.final.objects.anon_vma, 1);
});

Deno.test("mremap-churn realloc: a blocker after the buffer makes every growth move (§9.1)", () => {
  // blockerProbability 1: the new buffer is followed by a one-page file mapping, so growing it
  // in place fails and MREMAP_MAYMOVE moves it (1 → 2 pages) top-down, right below the heap
  // reservation, which blocks the next growth too (2 → 4 pages): 2 moves, none in place; the
  // new halves are written (4 anon folios). End: reservation, blocker and buffer = 3 VMAs.
  const r = churn({ ...REALLOC, rounds: 3, blockerProbability: 1 });
  const rows = Object.fromEntries(r.extraTables![0].rows);
  assert.equal(rows.blockers, 1);
  assert.equal(rows.realloc_moved, 2);
  assert.equal(rows.realloc_in_place, undefined);
  assert.equal(r.counters.mremap_moves, 2);
  assert.equal(r.counters.mremap_expand_in_place ?? 0, 0);
  assert.equal(r.counters.anon_folios_final, 4);
  assert.equal(r.counters.vmas_final, 3);
});

Deno.test("mremap-churn realloc: bufferPages may equal maxBufferPages", () => {
  // The check refuses bufferPages > maxBufferPages only. A 4-page buffer with a 4-page cap is
  // mapped and written in round 0 and cannot double, so round 1 frees it: 4 folios allocated
  // and freed, the heap reservation left (1 VMA).
  const r = churn({ ...REALLOC, rounds: 2, bufferPages: 4, blockerProbability: 0 });
  const rows = Object.fromEntries(r.extraTables![0].rows);
  assert.equal(rows.buffers_freed, 1);
  assert.equal(r.counters.faults_anon_new, 4);
  assert.equal(r.counters.anon_folios_final, 0);
  assert.equal(r.counters.vmas_final, 1);
});

Deno.test("mremap-churn defrag: garbageFraction decides how many slots a GC releases", () => {
  // 4 slots of 2 pages. Rounds 0-3 allocate the 4 slots (the whole reservation, merged into
  // one read/write VMA: 1 VMA, 8 folios); rounds 4 and 5 run GC cycles.
  // garbageFraction 0: nothing is dead, nothing moves: 2 GC cycles, still 1 VMA and 8 folios.
  const none = churn({ ...DEFRAG, rounds: 6, garbageFraction: 0 });
  const n = Object.fromEntries(none.extraTables![0].rows);
  assert.equal(n.gc_cycles, 2);
  assert.equal(n.slots_released, undefined);
  assert.equal(n.compaction_moves, undefined);
  assert.equal(none.counters.vmas_final, 1);
  assert.equal(none.counters.anon_folios_final, 8);
  // garbageFraction 1: round 4's GC releases all 4 slots (PROT_NONE again, folios freed) and
  // nothing is left to compact; round 5 allocates slot 0 afresh: slot 0 + reservation = 2 VMAs,
  // 2 folios.
  const all = churn({ ...DEFRAG, rounds: 6, garbageFraction: 1 });
  const a = Object.fromEntries(all.extraTables![0].rows);
  assert.equal(a.gc_cycles, 1);
  assert.equal(a.slots_released, 4);
  assert.equal(a.slots_allocated, 5);
  assert.equal(a.compaction_moves, undefined);
  assert.equal(all.counters.mremap_moves ?? 0, 0);
  assert.equal(all.counters.vmas_final, 2);
  assert.equal(all.counters.anon_folios_final, 2);
});

Deno.test("mremap-churn fork: the child CoWs one live slot, lives, then exits", () => {
  // Defrag rounds only, forkEvery 2: rounds 0 and 1 allocate slots 0 and 1; round 2 forks a
  // child (then allocates slot 2). The child writes the first page of slot 0, shared with the
  // parent: 1 CoW copy (its own anon_vma), then exits after childLifeNs: 1 fork, 1 exit, at
  // most 2 mm_structs, and the parent's 6 folios left.
  const r = churn({ ...DEFRAG, rounds: 3, forkEvery: 2, childLifeNs: 1_000 });
  assert.equal(r.counters.forks, 1);
  assert.equal(r.counters.faults_cow_copy, 1);
  assert.equal(r.counters.exits, 1);
  assert.equal(r.slab.peak.objects.mm_struct, 2);
  assert.equal(r.counters.anon_folios_final, 6);
  assert.equal(r.slab.final.objects.anon_vma, 1);
});
