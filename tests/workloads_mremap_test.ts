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
