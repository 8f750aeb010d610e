/**
 * The `ksm-merge` workload: what ksmd merges is decided by the contents and the scan order alone,
 * so every scheme must merge the same pages; what KSM's rmap items keep alive after the last exit
 * depends on the scheme. Exact figures for a case small enough to follow by hand and for the
 * defaults (seed 1), and the teardown that lets ksmd free the items of exited mms.
 *
 * @module
 */

import assert from "node:assert/strict";
import { runOne } from "../runner/recorder.ts";
import { schemeIds } from "../core/rmap/registry.ts";
import { getWorkload } from "../workloads/registry.ts";
import { estimatedHeapBytes } from "../workloads/estimate.ts";

type Result = ReturnType<typeof runOne>;

function ksmCounters(r: Result): Record<string, number> {
  const c = r.counters;
  return {
    scanned: c.ksm_pages_scanned ?? 0,
    merged: c.ksm_pages_merged ?? 0,
    shared: c.ksm_pages_shared ?? 0,
    breaks: c.ksm_break_cow ?? 0,
    cowCopies: c.faults_cow_copy ?? 0,
    newAnon: c.faults_anon_new ?? 0,
  };
}

/** The KSM table's rows as `cache → [peak, allocated, live at the end]`. */
function ksmTable(r: Result): Record<string, number[]> {
  const t = r.extraTables?.find((x) => x.title === "KSM objects (slab)");
  assert.ok(t, "the KSM table is in the run's tables");
  assert.deepEqual(t.columns, [
    "cache",
    "object bytes",
    "peak objects",
    "allocated",
    "live at the end",
  ]);
  return Object.fromEntries(t.rows.map((row) => [row[0], row.slice(2) as number[]]));
}

Deno.test("ksm-merge: two guests with one page of the same content merge into one KSM page", () => {
  // guest-0  [P0]  content 1      ksmd: 100 pages per wake, a wake every 20 ms; a full scan of
  // guest-1  [P1]  content 1      the two rmap items ends each wake.
  //   wake 1 (20 ms): both checksums are new           -> no merge (oldchecksum set)
  //   wake 2 (40 ms): P0 unstable tree, P1 matches it  -> one KSM page, both mapped to it
  //   wakes 3, 4 (60, 80 ms): both items on the stable node -> nothing new
  // The guests live one round of 100 ms and write nothing more.
  const params = {
    guests: 2,
    guestPages: 1,
    duplicateFraction: 1,
    sharedContents: 1,
    children: 0,
    rounds: 1,
    writesPerRound: 0,
  };
  for (const scheme of schemeIds()) {
    const r = runOne({ scheme, workload: "ksm-merge", params, seed: 1 });
    // `shared`: KSM pages made (stable nodes); `merged`: PTEs repointed to a KSM page by
    // replace_page (P1's: P0's page became the KSM page itself).
    assert.deepEqual(ksmCounters(r), {
      scanned: 8,
      merged: 1,
      shared: 1,
      breaks: 0,
      cowCopies: 0,
      newAnon: 2,
    }, scheme);
    // Two rmap items and one stable node; the two mm slots stay until ksmd's next wake.
    assert.deepEqual(ksmTable(r), {
      ksm_rmap_item: [2, 2, 2],
      ksm_stable_node: [1, 1, 1],
      ksm_mm_slot: [2, 2, 2],
    }, scheme);
    assert.equal(r.oracle.leakFree, true);
  }
});

Deno.test("ksm-merge: unique contents merge nothing, and the items still go at the teardown", () => {
  const params = { guests: 2, guestPages: 4, duplicateFraction: 0, rounds: 1, children: 1 };
  const r = runOne({ scheme: "anon_vma", workload: "ksm-merge", params, seed: 3 });
  const c = ksmCounters(r);
  assert.equal(c.merged, 0);
  assert.equal(c.shared, 0);
  // Four full scans of 16 items (two guests and two children, four pages each).
  assert.equal(c.scanned, 64);
  assert.deepEqual(ksmTable(r), {
    ksm_rmap_item: [16, 16, 16],
    ksm_stable_node: [0, 0, 0],
    ksm_mm_slot: [4, 4, 4],
  });
  // The items of unmerged pages pin nothing: every anon_vma is gone with its process.
  assert.equal(r.slab.final.objects.anon_vma, 0);
});

Deno.test("ksm-merge defaults (seed 1): every scheme merges the same pages; what the items pin differs", () => {
  const pinned: Record<string, number> = {};
  for (const scheme of schemeIds()) {
    const r = runOne({ scheme, workload: "ksm-merge", seed: 1 });
    assert.deepEqual(ksmCounters(r), {
      scanned: 2048,
      merged: 184,
      shared: 27,
      breaks: 0,
      cowCopies: 135,
      newAnon: 256,
    }, scheme);
    assert.deepEqual(ksmTable(r), {
      ksm_rmap_item: [512, 512, 512],
      ksm_stable_node: [27, 27, 27],
      ksm_mm_slot: [16, 16, 16],
    }, scheme);
    // Every process has exited when the run ends; the anon_vmas left are those the rmap items
    // of merged pages pin until ksmd's next wake (freed by the teardown: the run is leak-free).
    assert.equal(r.counters.processes_final, 0, scheme);
    assert.equal(r.counters.vmas_final, 0, scheme);
    pinned[scheme] = r.slab.final.objects.anon_vma;
    assert.equal(r.oracle.leakFree, true);
  }
  assert.deepEqual(pinned, {
    "anon_vma": 16,
    "anon_vma-2026": 16,
    "anon_vma-per-av-lock": 16,
    // Only the guests forked, so only they have an anon_vma; the children's items record mm and
    // address.
    "anon_vma_lazy": 8,
    // Items record mm and address only [U] (ksm.ts).
    "cow_context": 0,
  });
});

Deno.test("ksm-merge: the memory estimate grows with guests, pages and children", () => {
  const w = getWorkload("ksm-merge");
  const base = {
    guests: 8,
    guestPages: 32,
    duplicateFraction: 0.5,
    sharedContents: 32,
    children: 1,
    rounds: 5,
    roundMs: 100,
    writesPerRound: 4,
  };
  const est = (p: Record<string, number>) => w.estimate!({ ...base, ...p });
  const b = estimatedHeapBytes(est({}).objects);
  const bigger: Record<string, number>[] = [{ guests: 16 }, { guestPages: 64 }, { children: 2 }];
  for (const p of bigger) {
    assert.ok(estimatedHeapBytes(est(p).objects) > b, JSON.stringify(p));
  }
  assert.deepEqual(est({}).objects, {
    vmas: 16,
    ptes: 512,
    folios: 256 + 8 * 5 * 4,
    avcs: 32,
    workloadBytes: 0,
  });
});
