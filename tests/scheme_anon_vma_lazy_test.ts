// Scenario tests of the ANON_VMA_LAZY model (reference §10.3), in the style of the kernel's
// tools/testing/vma: each test draws the address space, performs a few steps and asserts exact
// object counts, VMA states and walk figures, side by side with the classic 6.18 model where the
// comparison is the point. Every kernel here runs with debugChecks (kernel + scheme invariants
// after every operation) and every walk is verified against the oracle.

import assert from "node:assert/strict";
import fc from "fast-check";
import { Kernel, type WalkResult } from "../core/kernel/kernel.ts";
import { AnonVmaScheme } from "../core/rmap/anon_vma.ts";
import { AnonVmaLazyScheme, LazyGroup } from "../core/rmap/anon_vma_lazy.ts";
import { createScheme } from "../core/rmap/registry.ts";
import type { CountingExec } from "../core/machine/exec.ts";
import {
  type Folio,
  MADV_COLD,
  MADV_DONTNEED,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  type Mm,
  MREMAP_DONTUNMAP,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  MREMAP_MUST_RELOCATE_ANON,
  MREMAP_RELOCATE_ANON,
  PAGE_SIZE,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
  SyscallError,
  type Vma,
} from "../core/kernel/types.ts";

const P = PAGE_SIZE;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
/** Base of every scenario: page 0 of the drawings. */
const X = 0x7f0000000000;
const pg = (n: number): number => X + n * P;
const xpg = X / P;

interface World<S> {
  k: Kernel;
  s: S;
  walks: WalkResult[];
}

function lazyWorld(): World<AnonVmaLazyScheme> {
  const s = new AnonVmaLazyScheme();
  const k = new Kernel({ scheme: s, params: { debugChecks: true } });
  const walks: WalkResult[] = [];
  k.onWalk((r) => walks.push(r));
  return { k, s, walks };
}

function classicWorld(): World<AnonVmaScheme> {
  const s = new AnonVmaScheme();
  const k = new Kernel({ scheme: s, params: { debugChecks: true } });
  const walks: WalkResult[] = [];
  k.onWalk((r) => walks.push(r));
  return { k, s, walks };
}

function writeAll(k: Kernel, mm: Mm, start: number, pages: number): void {
  for (let i = 0; i < pages; i++) k.touch(mm, start + i * P, "write");
}

function vmas(mm: Mm): Vma[] {
  return [...mm.vmas];
}

function objects(k: Kernel): { vma: number; av: number; avc: number } {
  return {
    vma: k.slab.live("vm_area_struct"),
    av: k.slab.live("anon_vma"),
    avc: k.slab.live("anon_vma_chain"),
  };
}

function folioAt(k: Kernel, mm: Mm, addr: number): Folio {
  const f = k.pte(mm, addr)?.folio;
  if (!f) throw new Error(`no folio at ${addr.toString(16)}`);
  return f;
}

/** The walks of one migration (try_to_migrate + remove_migration_ptes) of `f`. */
function migrateWalks(w: World<unknown>, f: Folio): WalkResult[] {
  const n = w.walks.length;
  w.k.migrateFolio(f);
  return w.walks.slice(n);
}

function walkFig(r: WalkResult): [number, number, number, number] {
  return [r.visits, r.hits, r.structures, r.treeNodes];
}

function rootLockReads(k: Kernel): number {
  return (k.exec as CountingExec).counters.locks["anon_vma.root"]?.readAcquisitions ?? 0;
}

function rootLockWrites(k: Kernel): number {
  return (k.exec as CountingExec).counters.locks["anon_vma.root"]?.writeAcquisitions ?? 0;
}

function ptlWrites(k: Kernel): number {
  return (k.exec as CountingExec).counters.locks["page_table_lock"]?.writeAcquisitions ?? 0;
}

function workOf(k: Kernel, kind: "list_op" | "pte_check" | "pte_update"): number {
  return (k.exec as CountingExec).counters.work[kind] ?? 0;
}

function exitAllAndAssertEmpty(w: World<unknown>, mms: Mm[]): void {
  for (const mm of mms) if (mm.alive) w.k.exit(mm);
  const left = Object.entries(w.k.slab.snapshot().objects).filter(([, n]) => n !== 0);
  assert.deepEqual(left, []);
  assert.equal(w.k.liveAnonFolios.length, 0);
  if (w.s instanceof AnonVmaLazyScheme) {
    assert.equal(w.s.lazyGroups.size, 0);
    assert.equal(w.s.treeParentLinks.size, 0);
  }
}

/**
 * Five separate regions of 16 pages, every page written:
 *
 *   0        16       32       48       64       80       96      112      128      144
 *   AAAAAAAA .......  BBBBBBBB .......  CCCCCCCC .......  DDDDDDDD .......  EEEEEEEE
 */
function fiveRegions(k: Kernel): Mm {
  const mm = k.spawn();
  for (let i = 0; i < 5; i++) {
    k.mmap(mm, pg(32 * i), 16 * P, RW, ANON);
    writeAll(k, mm, pg(32 * i), 16);
  }
  return mm;
}

Deno.test("registry: anon_vma_lazy is registered", () => {
  const s = createScheme("anon_vma_lazy");
  assert.ok(s instanceof AnonVmaLazyScheme);
  assert.equal(s.info.status, "posted");
});

Deno.test("a process that never forks owns no anon_vma and no anon_vma_chain", () => {
  const lz = lazyWorld();
  const cl = classicWorld();
  const pl = fiveRegions(lz.k);
  fiveRegions(cl.k);
  // Classic: one anon_vma and one AVC per faulted VMA (reference §1.6, E1).
  assert.deepEqual(objects(cl.k), { vma: 5, av: 5, avc: 5 });
  // Lazy: zero of both, five lazy groups (not slab objects), 80 folios.
  assert.deepEqual(objects(lz.k), { vma: 5, av: 0, avc: 0 });
  assert.equal(lz.k.liveAnonFolios.length, 80);
  assert.equal(cl.k.liveAnonFolios.length, 80);
  assert.equal(lz.s.lazyGroups.size, 5);
  assert.deepEqual(vmas(pl).map((v) => lz.s.kindOf(v)), Array(5).fill("lazy"));
  for (const v of vmas(pl)) assert.equal(lz.s.hasAnon(v), true);
  // No anon_vma lock was ever taken by the lazy faults; classic took 5 write locks.
  assert.equal(rootLockWrites(lz.k), 0);
  assert.equal(rootLockWrites(cl.k), 5);
  // Every folio points at its VMA's group.
  for (const f of lz.k.liveAnonFolios) assert.ok(f.rmap instanceof LazyGroup);
  assert.equal(lz.s.counters().lazy_groups_created, 5);
  exitAllAndAssertEmpty(lz, [pl]);
});

Deno.test("first fork: the parent is upgraded, children are ANON_VMA_TREE_PARENT", () => {
  const lz = lazyWorld();
  const cl = classicWorld();
  const pl = fiveRegions(lz.k);
  const pc = fiveRegions(cl.k);
  const cL = lz.k.fork(pl);
  const cC = cl.k.fork(pc);
  // Classic (E3): parent A_i, child B_i (parent A_i): 10 anon_vmas; parent 1 AVC, child 2 each.
  assert.deepEqual(objects(cl.k), { vma: 10, av: 10, avc: 15 });
  // Lazy: the parent's five groups became five root anon_vmas with one AVC each; each child VMA
  // has one AVC to its parent's A_i and no anon_vma of its own. Difference from classic: the
  // five child anon_vmas B_i and their five AVCs are deferred.
  assert.deepEqual(objects(lz.k), { vma: 10, av: 5, avc: 10 });
  assert.deepEqual(vmas(pl).map((v) => lz.s.kindOf(v)), Array(5).fill("anon_vma"));
  assert.deepEqual(vmas(cL).map((v) => lz.s.kindOf(v)), Array(5).fill("tree_parent"));
  // Each child VMA also roots an empty lazy group for the folios it will write itself.
  assert.equal(lz.s.lazyGroups.size, 5);
  assert.deepEqual(vmas(cL).map((v) => lz.s.lstate(v).lazy!.root), vmas(cL));
  assert.equal(lz.s.treeParentLinks.size, 5);
  const c = lz.s.counters();
  assert.equal(c.lazy_upgrades, 5);
  assert.equal(c.lazy_folios_repointed, 80);
  for (const f of lz.k.liveAnonFolios) {
    assert.ok(!(f.rmap instanceof LazyGroup));
    assert.deepEqual(f.mapcount, [2]);
  }
  // Merge predicates: upgraded parent VMAs are classic roots; children are fork children.
  for (const v of vmas(pl)) assert.equal(lz.s.isForkChild(v), false);
  for (const v of vmas(cL)) assert.equal(lz.s.isForkChild(v), true);
  // The child writes (CoW) one page of regions A and B. Patch 10 (2605.3/05338): a
  // TREE_PARENT VMA does not allocate, not on its first write either: the new folios are lazy,
  // their mapping encodes the child VMA itself (patch 05).
  //   child:  A'AAAAAAA ... B'BBBBBBB ... CCCCCCCC ... DDDDDDDD ... EEEEEEEE
  lz.k.touch(cL, pg(0), "write");
  lz.k.touch(cL, pg(32), "write");
  cl.k.touch(cC, pg(0), "write");
  cl.k.touch(cC, pg(32), "write");
  assert.deepEqual(objects(lz.k), { vma: 10, av: 5, avc: 10 });
  assert.deepEqual(objects(cl.k), { vma: 10, av: 10, avc: 15 });
  const a0 = lz.s.anonVmaOf(vmas(pl)[0])!;
  assert.equal(lz.s.folioLazyRoot(folioAt(lz.k, cL, pg(0))), vmas(cL)[0]);
  assert.equal(lz.s.counters().tree_parent_new_folio_lazy, 2);
  assert.equal(lz.s.counters().tree_parent_materialized, undefined);
  // A walk of the child's copy examines the child VMA only, without a lock; classic finds it in
  // the child's own B_0. [visits, hits, structures, treeNodes]
  assert.deepEqual(migrateWalks(lz, folioAt(lz.k, cL, pg(0))).map(walkFig)[0], [1, 1, 1, 1]);
  assert.deepEqual(migrateWalks(cl, folioAt(cl.k, cC, pg(0))).map(walkFig)[0], [1, 1, 1, 1]);
  // Writes in every region still allocate nothing.
  for (let i = 2; i < 5; i++) lz.k.touch(cL, pg(32 * i), "write");
  assert.deepEqual(objects(lz.k), { vma: 10, av: 5, avc: 10 });
  // The child becomes a parent (2606.0/07329, 2606.0/07662): its five inherited VMAs are
  // upgraded first — A_i has an active VMA (the parent's), so no reuse: five new B_i (parent
  // A_i), one AVC each, and the child's five own folios are re-pointed to them; then the
  // grandchild links to A_i and B_i (2 AVCs per VMA) as TREE_PARENT of B_i.
  //   parent  A0 A1 A2 A3 A4         (A_i: root, 1 AVC each)
  //   child   B0 B1 B2 B3 B4         (B_i: parent A_i; AVCs to A_i, B_i)
  //   grand   -- -- -- -- --         (TREE_PARENT of B_i; AVCs to A_i, B_i)
  const gL = lz.k.fork(cL);
  assert.deepEqual(objects(lz.k), { vma: 15, av: 10, avc: 25 });
  assert.deepEqual(vmas(cL).map((v) => lz.s.kindOf(v)), Array(5).fill("anon_vma"));
  assert.deepEqual(vmas(gL).map((v) => lz.s.kindOf(v)), Array(5).fill("tree_parent"));
  assert.equal(lz.s.anonVmaOf(vmas(cL)[0])!.parent, a0);
  assert.equal(lz.s.counters().tree_parent_upgraded_at_fork, 5);
  assert.equal(lz.s.counters().tree_parent_materialized, 5);
  assert.equal(lz.s.counters().lazy_folios_repointed, 80 + 5);
  // The child's copy is now in B_0 and shared with the grandchild: B_0's tree holds the child
  // and the grandchild VMA (2 visits, 2 hits); the oracle checks it.
  const b0 = lz.s.anonVmaOf(vmas(cL)[0])!;
  assert.equal(folioAt(lz.k, cL, pg(0)).rmap, b0);
  assert.deepEqual(migrateWalks(lz, folioAt(lz.k, cL, pg(0))).map(walkFig)[0], [2, 2, 1, 2]);
  // Classic, same steps: the grandchild adds C_i and 3 AVCs per VMA.
  const gC = cl.k.fork(cC);
  assert.deepEqual(objects(cl.k), { vma: 15, av: 15, avc: 30 });
  exitAllAndAssertEmpty(lz, [pl, cL, gL]);
  exitAllAndAssertEmpty(cl, [pc, cC, gC]);
});

Deno.test("parent exits, the child writes, then forks: the upgrade reuses the parent's anon_vma", () => {
  const lz = lazyWorld();
  const cl = classicWorld();
  const pl = fiveRegions(lz.k);
  const pc = fiveRegions(cl.k);
  const cL = lz.k.fork(pl);
  const cC = cl.k.fork(pc);
  lz.k.exit(pl);
  cl.k.exit(pc);
  // A_i stay alive through the child's AVCs (num_active_vmas 0).
  assert.deepEqual(objects(cl.k), { vma: 5, av: 10, avc: 10 });
  assert.deepEqual(objects(lz.k), { vma: 5, av: 5, avc: 5 });
  for (let i = 0; i < 5; i++) {
    lz.k.touch(cL, pg(32 * i), "write");
    cl.k.touch(cC, pg(32 * i), "write");
  }
  // Each write reuses the page (mapcount 1: folio_move_anon_rmap): the folio moves from A_i to
  // the child VMA's own lazy encoding (A9); classic moves it to B_i.
  assert.equal(lz.k.counters.faults_wp_reuse_move, 5);
  assert.equal(lz.s.counters().folio_move_anon_rmap, 5);
  assert.equal(cl.s.counters().folio_move_anon_rmap, 5);
  // A write to an empty PTE makes a lazy folio, allocating nothing (patch 10).
  for (let i = 0; i < 5; i++) {
    lz.k.madvise(cL, pg(32 * i + 9), P, MADV_DONTNEED);
    lz.k.touch(cL, pg(32 * i + 9), "write");
  }
  assert.deepEqual(objects(lz.k), { vma: 5, av: 5, avc: 5 });
  assert.equal(lz.s.counters().tree_parent_new_folio_lazy, 5);
  // The child forks: its upgrade reuses A_i (num_active_vmas 0, num_children 1 = self link), so
  // each child VMA becomes a singular-chain root VMA (A8) and the grandchild adds one AVC each.
  const gL = lz.k.fork(cL);
  assert.deepEqual(objects(lz.k), { vma: 10, av: 5, avc: 10 });
  assert.equal(lz.s.counters().anon_vma_reuse_deferred, 5);
  for (const v of vmas(cL)) {
    assert.equal(lz.s.kindOf(v), "anon_vma");
    assert.equal(lz.s.isForkChild(v), false);
  }
  // Classic, same fork: the grandchild clones A_i and B_i and gets C_i.
  const gC = cl.k.fork(cC);
  assert.deepEqual(objects(cl.k), { vma: 10, av: 15, avc: 25 });
  exitAllAndAssertEmpty(lz, [cL, gL]);
  exitAllAndAssertEmpty(cl, [cC, gC]);
});

Deno.test("fork chain with exits: one anon_vma and one AVC per generation (classic: 3 and 3)", () => {
  // P0 writes 4 pages; then six times: fork, the parent exits, the child writes pages 0 and 1.
  //   gen k:  [W W R R]   (W = written by gen k, R = inherited)
  const run = (w: World<unknown>): number[][] => {
    let p = w.k.spawn();
    w.k.mmap(p, pg(0), 4 * P, RW, ANON);
    writeAll(w.k, p, pg(0), 4);
    const out: number[][] = [];
    for (let g = 0; g < 6; g++) {
      const c = w.k.fork(p);
      w.k.exit(p);
      w.k.touch(c, pg(0), "write");
      w.k.touch(c, pg(1), "write");
      p = c;
      const o = objects(w.k);
      out.push([o.vma, o.av, o.avc]);
    }
    exitAllAndAssertEmpty(w, [p]);
    return out;
  };
  // Classic (E4): the reuse heuristic bounds the chain at 3 anon_vmas and 3 AVCs.
  const classic = [[1, 2, 2], [1, 3, 3], [1, 3, 3], [1, 3, 3], [1, 3, 3], [1, 3, 3]];
  assert.deepEqual(run(classicWorld()), classic);
  // Lazy: each child's first write reuses the exited parent's anon_vma (A8), so the chain stays
  // one anon_vma and one AVC long.
  assert.deepEqual(run(lazyWorld()), Array(6).fill([1, 1, 1]));
});

Deno.test("lazy VMA split by mprotect and re-merged", () => {
  const lz = lazyWorld();
  const cl = classicWorld();
  const run = (w: World<unknown>): Mm => {
    const mm = w.k.spawn();
    w.k.mmap(mm, pg(0), 100 * P, RW, ANON);
    writeAll(w.k, mm, pg(0), 100);
    //   0            40       60             100
    //   AAAAAAAAAAAAA|RRRRRRRR|AAAAAAAAAAAAAAAA
    w.k.mprotect(mm, pg(40), 20 * P, PROT_READ);
    return mm;
  };
  const ml = run(lz);
  const mc = run(cl);
  assert.deepEqual(vmas(ml).map((v) => [v.start, v.end, v.pgoff]), [
    [pg(0), pg(40), xpg],
    [pg(40), pg(60), xpg + 40],
    [pg(60), pg(100), xpg + 60],
  ]);
  // Classic E2: 3 VMAs, 1 anon_vma (3 active), 3 AVCs. Lazy: 3 VMAs in one group, nothing else.
  assert.deepEqual(objects(cl.k), { vma: 3, av: 1, avc: 3 });
  assert.deepEqual(objects(lz.k), { vma: 3, av: 0, avc: 0 });
  const g = lz.s.lstate(vmas(ml)[0]).lazy!;
  assert.deepEqual(vmas(ml).map((v) => lz.s.lstate(v).lazy), [g, g, g]);
  assert.equal(g.vmas.size, 3);
  // Walk of the folio at page 50: the group's three VMAs are examined, only the middle one
  // covers pgoff xpg+50 (visits 1, hits 1, 1 structure, 3 members examined); classic: 1 AVC of 3
  // overlaps. No anon_vma lock in the lazy walk.
  const fl = migrateWalks(lz, folioAt(lz.k, ml, pg(50)));
  assert.deepEqual(fl.map(walkFig), [[1, 1, 1, 3], [1, 1, 1, 3]]);
  assert.equal(rootLockReads(lz.k), 0);
  const fc_ = migrateWalks(cl, folioAt(cl.k, mc, pg(50)));
  assert.deepEqual(fc_.map((r) => [r.visits, r.hits, r.structures]), [[1, 1, 1], [1, 1, 1]]);
  // Patch 05: every folio's mapping encodes the lazy root VMA. mprotect splits as
  // __split_vma(vma, 40, new_below=1) then (vma, 60, 0), so the original struct — the root —
  // is the middle piece; the two new pieces each pin it (vma_get, patch 06).
  const root = vmas(ml)[1];
  assert.equal(g.root, root);
  assert.equal(lz.s.folioLazyRoot(folioAt(lz.k, ml, pg(0))), root);
  assert.equal(lz.s.counters().vma_get, 2);
  // Back to RW: flags equal, same group, pgoffs contiguous → one VMA again. The merge extends
  // the lower piece and removes the middle (the root) and the upper one: the root struct is
  // detached but stays allocated (folios still point at it) — one vm_area_struct more than
  // classic.
  lz.k.mprotect(ml, pg(40), 20 * P, RW);
  cl.k.mprotect(mc, pg(40), 20 * P, RW);
  assert.deepEqual(vmas(ml).map((v) => [v.start, v.end, v.pgoff]), [[pg(0), pg(100), xpg]]);
  assert.deepEqual(objects(lz.k), { vma: 2, av: 0, avc: 0 });
  assert.deepEqual(objects(cl.k), { vma: 1, av: 1, avc: 1 });
  assert.equal(g.vmas.size, 1);
  assert.equal(root.detached, true);
  assert.equal(g.rootPinnedDetached, true);
  assert.equal(lz.s.folioLazyRoot(folioAt(lz.k, ml, pg(99))), root);
  assert.deepEqual(lz.s.counters().vma_pinned_detached_live, 1);
  assert.equal(lz.s.counters().vma_put, 1);
  // Every folio's walk is still complete (the oracle checks each one).
  for (const f of [...lz.k.liveAnonFolios]) lz.k.migrateFolio(f);
  assert.equal(lz.k.oracle.walksChecked, 2 + 200);
  exitAllAndAssertEmpty(lz, [ml]);
  exitAllAndAssertEmpty(cl, [mc]);
});

Deno.test("an upgrade drops the pins its members held on the root: vma_put balances vma_get", () => {
  //   0          40         60          100
  //   LLLLLLLLLL|RRRRRRRRRR|LLLLLLLLLL     one group, written; mprotect of [40, 60) splits it:
  //   the root R is the middle piece and the two new pieces pin it (vma_get 2). fork upgrades
  //   the group to one anon_vma: the two pins go (vma_put 2); the root held none.
  const lz = lazyWorld();
  const mm = lz.k.spawn();
  lz.k.mmap(mm, pg(0), 100 * P, RW, ANON);
  writeAll(lz.k, mm, pg(0), 100);
  lz.k.mprotect(mm, pg(40), 20 * P, PROT_READ);
  const c = (): number[] => {
    const x = lz.s.counters();
    return [x.vma_get ?? 0, x.vma_put ?? 0, x.lazy_upgrades ?? 0, x.lazy_vmas_upgraded ?? 0];
  };
  assert.deepEqual(c(), [2, 0, 0, 0]);
  lz.k.fork(mm);
  assert.deepEqual(c(), [2, 2, 1, 3]);
});

Deno.test("pieces faulted one by one join one group (A2) and re-merge", () => {
  const lz = lazyWorld();
  const cl = classicWorld();
  const run = (w: World<unknown>): Mm => {
    const mm = w.k.spawn();
    w.k.mmap(mm, pg(0), 100 * P, RW, ANON);
    //   0            40       60             100
    //   ......L......|...M....|.......R.......    (unfaulted; M is RW|EXEC)
    w.k.mprotect(mm, pg(40), 20 * P, RW | PROT_EXEC);
    w.k.touch(mm, pg(10), "write"); // L: new group (classic: new anon_vma A)
    w.k.touch(mm, pg(50), "write"); // M: next R unfaulted, prev L compatible → L's group / A
    w.k.touch(mm, pg(80), "write"); // R: prev M compatible → the same group / A
    return mm;
  };
  const ml = run(lz);
  const mc = run(cl);
  assert.equal(vmas(ml).length, 3);
  const g = lz.s.lstate(vmas(ml)[0]).lazy!;
  assert.deepEqual(vmas(ml).map((v) => lz.s.lstate(v).lazy), [g, g, g]);
  assert.equal(lz.s.counters().lazy_group_reuse_neighbour, 2);
  assert.equal(lz.s.counters().lazy_groups_created, 1);
  assert.deepEqual(objects(lz.k), { vma: 3, av: 0, avc: 0 });
  assert.deepEqual(objects(cl.k), { vma: 3, av: 1, avc: 3 });
  assert.equal(cl.s.counters().anon_vma_reuse_neighbour, 2);
  // Same group (merge identity), contiguous pgoffs, equal flags again: one VMA.
  lz.k.mprotect(ml, pg(40), 20 * P, RW);
  cl.k.mprotect(mc, pg(40), 20 * P, RW);
  assert.deepEqual(vmas(ml).map((v) => [v.start, v.end, v.pgoff]), [[pg(0), pg(100), xpg]]);
  assert.deepEqual(objects(lz.k), { vma: 1, av: 0, avc: 0 });
  assert.deepEqual(objects(cl.k), { vma: 1, av: 1, avc: 1 });
  for (const f of [...lz.k.liveAnonFolios]) lz.k.migrateFolio(f);
  exitAllAndAssertEmpty(lz, [ml]);
  exitAllAndAssertEmpty(cl, [mc]);
});

Deno.test("a root VMA pinned by two groups stays allocated until the last of them ends", () => {
  const lz = lazyWorld();
  const mm = lz.k.spawn();
  const live = (): number => lz.s.counters().vma_pinned_detached_live;
  // H at 200 (8 pages, written) moves to 300 with DONTUNMAP; the source S, left unfaulted, takes
  // a write: S roots H (its folios at 300 encode S) and S's own new group G.
  //   200            300                 500
  //   S (G)          HHHHHHHH (H)
  lz.k.mmap(mm, pg(200), 8 * P, RW, ANON);
  writeAll(lz.k, mm, pg(200), 8);
  const h = lz.s.lstate(mm.vmas.find(pg(200))!).lazy!;
  lz.k.mremap(mm, pg(200), 8 * P, 8 * P, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, pg(300));
  const src = mm.vmas.find(pg(200))!;
  lz.k.touch(mm, pg(200), "write");
  const g = lz.s.lstate(src).lazy!;
  assert.deepEqual([h.root, g.root, (src.rmap as { rooted: unknown }).rooted], [src, src, [h, g]]);
  // S moves to 500: its copy joins G, and S's struct, unmapped, is pinned for both groups.
  lz.k.mremap(mm, pg(200), 8 * P, 8 * P, MREMAP_MAYMOVE | MREMAP_FIXED, pg(500));
  assert.deepEqual([src.detached, h.rootPinnedDetached, g.rootPinnedDetached], [true, true, true]);
  assert.deepEqual([live(), objects(lz.k).vma], [1, 3]);
  // H ends (its one VMA unmapped): G still pins S, so S stays allocated.
  lz.k.munmap(mm, pg(300), 8 * P);
  assert.deepEqual([live(), objects(lz.k).vma], [1, 2]);
  assert.equal(lz.s.folioLazyRoot(folioAt(lz.k, mm, pg(500))), src);
  // G ends: the last pin goes, and S's struct with it.
  lz.k.munmap(mm, pg(500), 8 * P);
  assert.deepEqual([live(), objects(lz.k).vma], [0, 0]);
});

Deno.test("mremap of a lazy VMA: move, pgoff kept, DONTUNMAP, partial move", () => {
  const lz = lazyWorld();
  const mm = lz.k.spawn();
  // E5: R1 at 0 (10 pages, written) moves to 100; R2 is mapped at 110.
  //   0         10                 100        110        120
  //   R1R1R1R1R1          →        R1R1R1R1R1 R2R2R2R2R2
  lz.k.mmap(mm, pg(0), 10 * P, RW, ANON);
  writeAll(lz.k, mm, pg(0), 10);
  const g = lz.s.lstate(vmas(mm)[0]).lazy!;
  const r1 = vmas(mm)[0];
  lz.k.mremap(mm, pg(0), 10 * P, 10 * P, MREMAP_MAYMOVE | MREMAP_FIXED, pg(100));
  assert.deepEqual(vmas(mm).map((v) => [v.start, v.end, v.pgoff]), [[pg(100), pg(110), xpg]]);
  assert.equal(lz.s.lstate(vmas(mm)[0]).lazy, g);
  assert.equal(g.vmas.size, 1);
  // The move's copy_vma destination joins the group and pins the root; the source (the root)
  // is unmapped but its struct stays: the folios at 100.. still encode it (patch 05).
  assert.equal(g.root, r1);
  assert.equal(r1.detached, true);
  assert.equal(lz.s.folioLazyRoot(folioAt(lz.k, mm, pg(100))), r1);
  assert.deepEqual(objects(lz.k), { vma: 2, av: 0, avc: 0 });
  for (let i = 0; i < 10; i++) {
    assert.deepEqual(migrateWalks(lz, folioAt(lz.k, mm, pg(100 + i))).map(walkFig), [
      [1, 1, 1, 1],
      [1, 1, 1, 1],
    ]);
  }
  lz.k.mmap(mm, pg(110), 10 * P, RW, ANON);
  assert.equal(vmas(mm).length, 2);
  assert.equal(lz.k.counters.merge_failed_pgoff, 1);
  lz.k.touch(mm, pg(110), "write"); // pgoff incompatible: a second group
  assert.equal(lz.s.lazyGroups.size, 2);
  // Two mapped VMAs and R1's pinned struct.
  assert.deepEqual(objects(lz.k), { vma: 3, av: 0, avc: 0 });
  // E6 (DONTUNMAP): H at 200 (8 pages, written) → 300; H stays, unfaulted.
  lz.k.mmap(mm, pg(200), 8 * P, RW, ANON);
  writeAll(lz.k, mm, pg(200), 8);
  const h = lz.s.lstate(lz.k.mms.get(mm.id)!.vmas.find(pg(200))!).lazy!;
  lz.k.mremap(mm, pg(200), 8 * P, 8 * P, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, pg(300));
  const src = mm.vmas.find(pg(200))!;
  const dst = mm.vmas.find(pg(300))!;
  assert.equal(lz.s.kindOf(src), "unfaulted");
  assert.equal(lz.s.lstate(dst).lazy, h);
  assert.equal(dst.pgoff, xpg + 200);
  lz.k.touch(mm, pg(200), "write"); // a new group for the source
  assert.notEqual(lz.s.lstate(src).lazy, h);
  assert.equal(lz.s.lazyGroups.size, 4);
  // The DONTUNMAP source is still H's root (H's folios at 300.. encode it) and the root of its
  // new group; it stays mapped, so nothing is pinned detached for it.
  assert.equal(h.root, src);
  assert.equal(lz.s.lstate(src).lazy!.root, src);
  assert.equal(h.rootPinnedDetached, false);
  // The groups rooted at a VMA are listed in its state (`rooted`): one, or a list of several.
  const rootedOf = (v: Vma): unknown => (v.rmap as { rooted: unknown }).rooted;
  assert.deepEqual(rootedOf(src), [h, lz.s.lstate(src).lazy]);
  assert.equal(rootedOf(r1), g);
  assert.equal(rootedOf(dst), null);
  // Partial move of pages 302..305 to 400: the destination piece splits off and joins H.
  //   300  302      306  308        400      404
  //   HHHH|........|HHHH      +     HHHHHHHH
  lz.k.mremap(mm, pg(302), 4 * P, 4 * P, MREMAP_MAYMOVE | MREMAP_FIXED, pg(400));
  assert.equal(h.vmas.size, 3);
  assert.deepEqual(
    [...h.vmas].map((v) => [v.start, v.end, v.pgoff]).sort((a, b) => a[0] - b[0]),
    [[pg(300), pg(302), xpg + 200], [pg(306), pg(308), xpg + 206], [pg(400), pg(404), xpg + 202]],
  );
  // Six mapped VMAs and R1's pinned struct.
  assert.deepEqual(objects(lz.k), { vma: 7, av: 0, avc: 0 });
  for (const f of [...lz.k.liveAnonFolios]) lz.k.migrateFolio(f);
  // A fork upgrades the three-VMA group to one anon_vma with three AVCs.
  const c = lz.k.fork(mm);
  // Parent: 6 VMAs in 4 groups → 4 anon_vmas, 6 AVCs; child: 6 TREE_PARENT VMAs, 6 AVCs. The
  // upgrade re-pointed R1's folios to an anon_vma: the last pin dropped and R1's struct is freed.
  assert.deepEqual(objects(lz.k), { vma: 12, av: 4, avc: 12 });
  assert.equal(lz.s.counters().vma_pinned_detached_live, 0);
  const av = lz.s.anonVmaOf(mm.vmas.find(pg(400))!)!;
  assert.equal(av.numActiveVmas, 3);
  assert.equal(av, lz.s.anonVmaOf(mm.vmas.find(pg(300))!));
  for (const f of [...lz.k.liveAnonFolios]) lz.k.migrateFolio(f);
  exitAllAndAssertEmpty(lz, [mm, c]);
});

Deno.test("MREMAP_RELOCATE_ANON of a lazy VMA re-homes its folios to the destination", () => {
  const lz = lazyWorld();
  const mm = lz.k.spawn();
  //   0          10  ...  100        110        120
  //   R1R1R1R1R1          ........  R2R2R2R2R2     → R1 relocated to 100 merges with R2
  lz.k.mmap(mm, pg(0), 10 * P, RW, ANON);
  writeAll(lz.k, mm, pg(0), 10);
  lz.k.mmap(mm, pg(110), 10 * P, RW, ANON);
  lz.k.touch(mm, pg(110), "write");
  lz.k.mremap(
    mm,
    pg(0),
    10 * P,
    10 * P,
    MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_RELOCATE_ANON,
    pg(100),
  );
  assert.deepEqual(vmas(mm).map((v) => [v.start, v.end, v.pgoff]), [[pg(100), pg(120), xpg + 100]]);
  assert.equal(lz.s.lazyGroups.size, 1);
  assert.equal(lz.s.counters().folios_relocated, 10);
  assert.deepEqual(objects(lz.k), { vma: 1, av: 0, avc: 0 });
  for (const f of [...lz.k.liveAnonFolios]) lz.k.migrateFolio(f);
  exitAllAndAssertEmpty(lz, [mm]);
});

Deno.test("MREMAP_MUST_RELOCATE_ANON refuses a VMA whose anon_vma has a fork child, linked or pending", () => {
  //   parent  [wwww] --fork--> child [....] (MADV_DONTNEED: the child maps none of the folios)
  // Bug caught: anon_vma_lazy, whose fork child is linked as TREE_PARENT with no anon_vma of its
  // own (num_children does not show it), lets the parent relocate folios the child may still
  // reach (through the swap cache, or after a later fault), where the classic scheme refuses
  // (`vma_maybe_has_shared_anon_folios`: a child anon_vma).
  for (const w of [lazyWorld(), classicWorld()]) {
    const p = w.k.spawn();
    w.k.mmap(p, pg(0), 4 * P, RW, ANON);
    writeAll(w.k, p, pg(0), 4);
    const c = w.k.fork(p);
    w.k.madvise(c, pg(0), 4 * P, MADV_DONTNEED);
    assert.equal(folioAt(w.k, p, pg(0)).maxPageMapcount(), 1);
    assert.throws(
      () =>
        w.k.mremap(
          p,
          pg(0),
          4 * P,
          4 * P,
          MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_MUST_RELOCATE_ANON,
          pg(100),
        ),
      (e: unknown) => e instanceof SyscallError && e.errno === "EFAULT",
    );
    exitAllAndAssertEmpty(w, [p, c]);
  }
});

Deno.test("walk figures: lazy folio, upgraded shared folio, after CoW, child folio", () => {
  const lz = lazyWorld();
  const cl = classicWorld();
  const figs = (w: World<unknown>): number[][] => {
    const p = w.k.spawn();
    w.k.mmap(p, pg(0), 4 * P, RW, ANON);
    w.k.touch(p, pg(0), "write");
    const f = folioAt(w.k, p, pg(0));
    const out: number[][] = [];
    out.push(walkFig(migrateWalks(w, f)[0])); // before the fork
    const c = w.k.fork(p);
    out.push(walkFig(migrateWalks(w, f)[0])); // shared by parent and child
    w.k.touch(c, pg(0), "write"); // child CoW
    out.push(walkFig(migrateWalks(w, f)[0]));
    out.push(walkFig(migrateWalks(w, folioAt(w.k, c, pg(0)))[0]));
    assert.equal(w.k.folioReferenced(f), 1);
    exitAllAndAssertEmpty(w, [p, c]);
    return out;
  };
  // [visits, hits, structures, treeNodes]. The child's CoW copy: classic files it under the
  // child's own anon_vma, lazy encodes the child VMA; either way 1 visit.
  assert.deepEqual(figs(lz), [[1, 1, 1, 1], [2, 2, 1, 2], [2, 1, 1, 2], [1, 1, 1, 1]]);
  assert.deepEqual(figs(cl), [[1, 1, 1, 1], [2, 2, 1, 2], [2, 1, 1, 2], [1, 1, 1, 1]]);
  // The lazy walk takes no rwsem: of the 4 migrations × 2 walks + 1 folio_referenced, the first
  // migration and the one of the child's copy (2 walks each) ran without the anon_vma lock.
  assert.equal(rootLockReads(lz.k), 5);
  assert.equal(rootLockReads(cl.k), 9);
  assert.equal(lz.s.counters().lazy_walks, 4);
});

Deno.test("fork of a process with lazy and upgraded VMAs; grandchild of a TREE_PARENT VMA", () => {
  const lz = lazyWorld();
  const p = lz.k.spawn();
  //   0      8        32     40
  //   R1R1R1R1   ...   R2R2R2R2
  lz.k.mmap(p, pg(0), 8 * P, RW, ANON);
  writeAll(lz.k, p, pg(0), 8);
  const c1 = lz.k.fork(p); // R1 upgraded: A1; C1's R1 is TREE_PARENT
  lz.k.mmap(p, pg(32), 8 * P, RW, ANON);
  writeAll(lz.k, p, pg(32), 8); // R2 is lazy: the process forked before it existed
  assert.deepEqual(vmas(p).map((v) => lz.s.kindOf(v)), ["anon_vma", "lazy"]);
  assert.deepEqual(objects(lz.k), { vma: 3, av: 1, avc: 2 });
  const c2 = lz.k.fork(p); // R2 upgraded: A2; C2 gets two TREE_PARENT VMAs
  assert.deepEqual(vmas(c2).map((v) => lz.s.kindOf(v)), ["tree_parent", "tree_parent"]);
  assert.deepEqual(objects(lz.k), { vma: 5, av: 2, avc: 5 });
  // C1 forks without writing: C1 "becomes a parent" (2606.0/07662), so its TREE_PARENT R1 is
  // upgraded first: A1 still has an active VMA (P's), no reuse, so B1 (parent A1) and one AVC;
  // the grandchild clones C1's chain {A1, B1} (2 AVCs) and is TREE_PARENT of B1.
  const g = lz.k.fork(c1);
  assert.deepEqual(objects(lz.k), { vma: 6, av: 3, avc: 8 });
  const b1 = lz.s.anonVmaOf(vmas(c1)[0])!;
  assert.equal(b1.parent, lz.s.anonVmaOf(vmas(p)[0]));
  assert.equal(lz.s.lstate(vmas(g)[0]).treeParent!.parent, b1);
  // The grandchild writes: nothing is allocated, the new folio encodes the grandchild's VMA.
  lz.k.touch(g, pg(3), "write");
  assert.deepEqual(objects(lz.k), { vma: 6, av: 3, avc: 8 });
  assert.equal(lz.s.folioLazyRoot(folioAt(lz.k, g, pg(3))), vmas(g)[0]);
  // C2 splits its TREE_PARENT R2 by mprotect: the pieces share R2's link and clone its chain.
  //   C2:  R1R1R1R1 ... R2R2|RO|R2R2R2R2      (32, 34, 36, 40)
  lz.k.mprotect(c2, pg(34), 2 * P, PROT_READ);
  assert.equal(vmas(c2).length, 4);
  assert.deepEqual(objects(lz.k), { vma: 8, av: 3, avc: 10 });
  const link = lz.s.lstate(vmas(c2)[1]).treeParent!;
  assert.equal(link.vmas.size, 3);
  lz.k.madvise(c2, pg(39), P, MADV_DONTNEED);
  lz.k.touch(c2, pg(39), "write"); // lazy (root: C2's original R2 struct), nothing allocated
  assert.deepEqual(objects(lz.k), { vma: 8, av: 3, avc: 10 });
  // C2 forks: R1 is upgraded (B1', one AVC) and R2's link once for its three pieces (B2 with
  // one AVC per piece, A7); the grandchild G2 copies 4 VMAs with 2 AVCs each.
  const g2 = lz.k.fork(c2);
  assert.deepEqual(objects(lz.k), { vma: 12, av: 5, avc: 22 });
  const b2 = lz.s.anonVmaOf(vmas(c2)[1])!;
  assert.deepEqual(vmas(c2).slice(1).map((v) => lz.s.anonVmaOf(v)), [b2, b2, b2]);
  assert.equal(b2.parent, lz.s.anonVmaOf(vmas(p)[1]));
  // Same anon_vma, identical chains: mprotect back re-merges (two VMAs × 2 AVCs go).
  lz.k.mprotect(c2, pg(34), 2 * P, RW);
  assert.equal(vmas(c2).length, 2);
  assert.deepEqual(objects(lz.k), { vma: 10, av: 5, avc: 18 });
  // Exits of parents before children: P, then C1; every walk stays complete.
  lz.k.exit(p);
  for (const f of [...lz.k.liveAnonFolios]) lz.k.migrateFolio(f);
  lz.k.exit(c1);
  for (const f of [...lz.k.liveAnonFolios]) lz.k.migrateFolio(f);
  exitAllAndAssertEmpty(lz, [g, c2, g2]);
});

Deno.test("swap-in of a shared page goes to the root without allocating", () => {
  const lz = lazyWorld();
  const p = lz.k.spawn();
  lz.k.mmap(p, pg(0), 4 * P, RW, ANON);
  lz.k.touch(p, pg(0), "write");
  const c = lz.k.fork(p);
  const f = folioAt(lz.k, p, pg(0));
  assert.equal(lz.k.tryToUnmap(f), true); // slot shared by parent and child
  assert.deepEqual(objects(lz.k), { vma: 2, av: 1, avc: 2 });
  lz.k.touch(c, pg(0), "read"); // non-exclusive swap-in in a TREE_PARENT VMA
  assert.equal(lz.s.counters().tree_parent_shared_to_root, 1);
  assert.equal(lz.s.kindOf(vmas(c)[0]), "tree_parent");
  assert.deepEqual(objects(lz.k), { vma: 2, av: 1, avc: 2 });
  lz.k.touch(p, pg(0), "read"); // swap cache hit in the parent
  const g = folioAt(lz.k, c, pg(0));
  assert.equal(folioAt(lz.k, p, pg(0)), g);
  assert.equal(g.rmap, lz.s.anonVmaOf(vmas(p)[0]));
  assert.deepEqual(migrateWalks(lz, g).map(walkFig)[0], [2, 2, 1, 2]);
  exitAllAndAssertEmpty(lz, [c, p]);
});

Deno.test("execve and exit leave nothing behind", () => {
  const lz = lazyWorld();
  const p = lz.k.spawn();
  lz.k.mmap(p, pg(0), 8 * P, RW, ANON);
  writeAll(lz.k, p, pg(0), 8);
  const c = lz.k.fork(p);
  lz.k.touch(c, pg(0), "write");
  const n = lz.k.execve(c);
  lz.k.touch(n, lz.k.params.taskSize - P, "write");
  assert.equal(lz.s.kindOf(vmas(n)[0]), "lazy");
  assert.deepEqual(objects(lz.k), { vma: 2, av: 1, avc: 1 });
  exitAllAndAssertEmpty(lz, [p, n]);
});

// -- randomized ------------------------------------------------------------------------------

type Op =
  | { op: "mmap"; proc: number; page: number; pages: number; prot: number }
  | { op: "munmap"; proc: number; page: number; pages: number }
  | { op: "mprotect"; proc: number; page: number; pages: number; prot: number }
  | { op: "mremap"; proc: number; page: number; pages: number; to: number; mode: number }
  | { op: "touch"; proc: number; page: number; write: boolean }
  | { op: "fork"; proc: number }
  | { op: "exit"; proc: number }
  | { op: "reclaim"; pick: number };

const WINDOW = 32;
const procArb = fc.integer({ min: 0, max: 4 });
const pageArb = fc.integer({ min: 0, max: WINDOW - 1 });
const pagesArb = fc.integer({ min: 1, max: 10 });
const protArb = fc.constantFrom(RW, PROT_READ, RW | PROT_EXEC);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant("mmap" as const),
      proc: procArb,
      page: pageArb,
      pages: pagesArb,
      prot: protArb,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("munmap" as const),
      proc: procArb,
      page: pageArb,
      pages: pagesArb,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("mprotect" as const),
      proc: procArb,
      page: pageArb,
      pages: pagesArb,
      prot: protArb,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("mremap" as const),
      proc: procArb,
      page: pageArb,
      pages: pagesArb,
      to: pageArb,
      mode: fc.integer({ min: 0, max: 3 }),
    }),
  },
  {
    weight: 10,
    arbitrary: fc.record({
      op: fc.constant("touch" as const),
      proc: procArb,
      page: pageArb,
      write: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("fork" as const), proc: procArb }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("exit" as const), proc: procArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("reclaim" as const), pick: fc.nat() }) },
);

function runRandom(ops: readonly Op[]): Record<string, number> {
  const w = lazyWorld();
  const k = w.k;
  const procs: Mm[] = [k.spawn()];
  const pick = (i: number): Mm => procs[i % procs.length];
  // Prologue:   0        12  16       28
  //             AAAAAAAAAA    BBBBBBBBBB   (every page written)
  k.mmap(procs[0], pg(0), 12 * P, RW, ANON);
  k.mmap(procs[0], pg(16), 12 * P, RW, ANON);
  writeAll(k, procs[0], pg(0), 12);
  writeAll(k, procs[0], pg(16), 12);
  for (const o of ops) {
    try {
      switch (o.op) {
        case "mmap":
          k.mmap(pick(o.proc), pg(o.page), o.pages * P, o.prot, ANON);
          break;
        case "munmap":
          k.munmap(pick(o.proc), pg(o.page), o.pages * P);
          break;
        case "mprotect":
          k.mprotect(pick(o.proc), pg(o.page), o.pages * P, o.prot);
          break;
        case "mremap": {
          const flags = [
            MREMAP_MAYMOVE | MREMAP_FIXED,
            MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP,
            MREMAP_MAYMOVE,
            MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_RELOCATE_ANON,
          ][o.mode];
          // Out to beside the window and back, so moved VMAs meet their old neighbours again.
          const out = o.to % 2 === 0;
          const from = out ? pg(o.page) : pg(WINDOW + 4 + o.page);
          const to = out ? pg(WINDOW + 4 + o.to) : pg(o.to);
          const newLen = o.mode === 2 ? (o.pages + 2) * P : o.pages * P;
          k.mremap(pick(o.proc), from, o.pages * P, newLen, flags, to);
          break;
        }
        case "touch":
          k.touch(pick(o.proc), pg(o.page), o.write ? "write" : "read");
          break;
        case "fork":
          if (procs.length < 5) procs.push(k.fork(pick(o.proc)));
          break;
        case "exit": {
          if (procs.length < 2) break;
          const i = o.proc % procs.length;
          k.exit(procs[i]);
          procs.splice(i, 1);
          break;
        }
        case "reclaim": {
          const live = k.liveAnonFolios;
          if (live.length) k.tryToUnmap(live[o.pick % live.length]);
          break;
        }
      }
    } catch (e) {
      if (!(e instanceof SyscallError)) throw e;
    }
    for (const f of [...k.liveAnonFolios]) k.migrateFolio(f);
  }
  const counters = w.s.counters();
  exitAllAndAssertEmpty(w, procs);
  return counters;
}

Deno.test("randomized: every walk complete, invariants hold, nothing leaks", () => {
  const seen: Record<string, number> = {};
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 5, maxLength: 50 }), (ops) => {
      for (const [name, n] of Object.entries(runRandom(ops))) seen[name] = (seen[name] ?? 0) + n;
    }),
    {
      seed: Number(Deno.env.get("LAZY_SEED") ?? 0x1a2b),
      numRuns: Number(Deno.env.get("LAZY_RUNS") ?? 100),
    },
  );
  // The runs reach every state transition of the scheme.
  for (
    const name of [
      "lazy_upgrades",
      "lazy_group_reuse_neighbour",
      "tree_parent_forked",
      "tree_parent_materialized",
      "anon_vma_reuse_deferred",
      "tree_parent_new_folio_lazy",
      "tree_parent_upgraded_at_fork",
      "vma_pinned_detached",
      "migration_vma_get",
      "folios_relocated",
      "lazy_walks",
    ]
  ) assert.ok((seen[name] ?? 0) > 0, `no ${name} in the randomized runs`);
});

Deno.test("migration of a lazy folio pins its root VMA across the two walks (vma_get/vma_put)", () => {
  // One lazy VMA of 4 pages, each written; migrate page 2's folio.
  //   0    4
  //   LLLL
  const run = (opts: ConstructorParameters<typeof AnonVmaLazyScheme>[0]): {
    counters: Record<string, number>;
    cacheMisses: number;
  } => {
    const s = new AnonVmaLazyScheme(opts);
    const k = new Kernel({ scheme: s, params: { debugChecks: true } });
    const mm = k.spawn();
    k.mmap(mm, pg(0), 4 * P, RW, ANON);
    writeAll(k, mm, pg(0), 4);
    const before = (k.exec as CountingExec).counters.work.cache_miss ?? 0;
    k.migrateFolio(folioAt(k, mm, pg(2)));
    const cacheMisses = ((k.exec as CountingExec).counters.work.cache_miss ?? 0) - before;
    const counters = s.counters();
    k.exit(mm);
    assert.equal(k.slab.live("vm_area_struct"), 0);
    return { counters, cacheMisses };
  };
  // Default vmaRefWork = one cache_miss per get and per put: exactly 2 for one migration,
  // against 0 when the pin is free.
  const d = run({});
  assert.equal(d.counters.migration_vma_get, 1);
  assert.equal(d.counters.migration_vma_put, 1);
  assert.equal(d.counters.lazy_walks, 2);
  assert.equal(d.cacheMisses - run({ vmaRefWork: {} }).cacheMisses, 2);
});

Deno.test("CONFIG_VMA_REF slot size: default 192 bytes, a larger slot is charged per VMA", () => {
  const k = new Kernel({ scheme: new AnonVmaLazyScheme() });
  assert.equal(k.slab.sizes.vm_area_struct, 192);
  const k2 = new Kernel({ scheme: new AnonVmaLazyScheme({ vmaSlotBytes: 256 }) });
  const mm = k2.spawn();
  k2.mmap(mm, pg(0), 4 * P, RW, ANON);
  k2.mmap(mm, pg(8), 4 * P, RW, ANON);
  // Two VMAs (the fresh mm has no others): 2 × 256 bytes.
  assert.equal(k2.slab.snapshot().bytes.vm_area_struct, 2 * 256);
  assert.throws(() => new AnonVmaLazyScheme({ vmaSlotBytes: 100 }), /vmaSlotBytes must be/);
  assert.throws(() => k2.slab.setSize("vm_area_struct", 192), /after its first allocation/);
});

Deno.test("unfaulted VMAs share one frozen state; a VMA gets its own at its first fault or fork", () => {
  const lz = lazyWorld();
  const mm = lz.k.spawn();
  for (let i = 0; i < 3; i++) lz.k.mmap(mm, pg(32 * i), 16 * P, RW, ANON);
  // A read fault maps the zero page: no anon state.
  lz.k.touch(mm, pg(32), "read");
  const [a, b, c] = vmas(mm);
  const shared = a.rmap;
  assert.ok(Object.isFrozen(shared));
  assert.equal(b.rmap, shared);
  assert.equal(c.rmap, shared);
  assert.deepEqual(vmas(mm).map((v) => lz.s.kindOf(v)), Array(3).fill("unfaulted"));
  // Splitting an unfaulted VMA: both pieces keep the shared state.
  lz.k.mprotect(mm, pg(4), 4 * P, PROT_READ);
  assert.equal(vmas(mm).length, 5);
  for (const v of vmas(mm)) assert.equal(v.rmap, shared);
  // The first write fault of C: C alone gets a state object of its own; the others are unchanged.
  writeAll(lz.k, mm, pg(64), 2);
  const cv = vmas(mm)[4];
  assert.notEqual(cv.rmap, shared);
  assert.ok(!Object.isFrozen(cv.rmap));
  assert.equal(lz.s.kindOf(cv), "lazy");
  for (const v of vmas(mm).slice(0, 4)) {
    assert.equal(v.rmap, shared);
    assert.equal(lz.s.kindOf(v), "unfaulted");
    assert.equal(lz.s.hasAnon(v), false);
    assert.equal(lz.s.anonIdentity(v), null);
  }
  // Fork: the children of unfaulted VMAs share the frozen state; C's child is TREE_PARENT.
  const ch = lz.k.fork(mm);
  const cvs = vmas(ch);
  for (const v of cvs.slice(0, 4)) assert.equal(v.rmap, shared);
  assert.notEqual(cvs[4].rmap, shared);
  assert.equal(lz.s.kindOf(cvs[4]), "tree_parent");
  assert.deepEqual(objects(lz.k), { vma: 10, av: 1, avc: 2 });
  // The shared state was never written.
  assert.deepEqual({ ...shared as object }, {
    anonVma: null,
    chain: [],
    lazy: null,
    treeParent: null,
    rooted: null,
  });
  exitAllAndAssertEmpty(lz, [ch, mm]);
});

Deno.test("a lazy group and a TREE_PARENT link are their own VMA sets; folio sets are made at the first folio", () => {
  const lz = lazyWorld();
  const mm = lz.k.spawn();
  lz.k.mmap(mm, pg(0), 16 * P, RW, ANON);
  lz.k.mmap(mm, pg(32), 16 * P, RW, ANON);
  writeAll(lz.k, mm, pg(0), 3);
  writeAll(lz.k, mm, pg(32), 1);
  const ch = lz.k.fork(mm);
  const [c0, c1] = vmas(ch);
  const g = lz.s.lstate(c0).lazy!;
  const t = lz.s.lstate(c0).treeParent!;
  assert.equal(g.vmas, g);
  assert.equal(t.vmas, t);
  assert.deepEqual([...g.vmas], [c0]);
  assert.deepEqual([...t.vmas], [c0]);
  assert.equal(g.root, c0);
  // The child's own group has no folio yet.
  assert.equal(g.folioCount, 0);
  // A write (CoW copy) of the child files its new folio in its own group.
  lz.k.touch(ch, pg(0), "write");
  assert.equal(g.folioCount, 1);
  assert.deepEqual([...g.folios], [folioAt(lz.k, ch, pg(0))]);
  assert.equal(lz.s.lstate(c1).lazy!.folioCount, 0);
  // Split of the child VMA: the new piece joins both the group and the link.
  lz.k.mprotect(ch, pg(8), 8 * P, PROT_READ);
  const [d0, d1] = vmas(ch);
  assert.equal(lz.s.lstate(d1).lazy, g);
  assert.equal(lz.s.lstate(d1).treeParent, t);
  assert.deepEqual(new Set(g.vmas), new Set([d0, d1]));
  assert.equal(t.vmas.size, 2);
  assert.equal(lz.s.counters().vma_get, 1);
  // The child forks: its link is materialized and its group absorbed (one folio re-pointed).
  const before = lz.s.counters().lazy_folios_repointed ?? 0;
  const gc = lz.k.fork(ch);
  assert.ok(g.dead && t.dead);
  assert.equal(g.folioCount, 0);
  assert.equal(g.vmas.size, 0);
  assert.equal(lz.s.counters().lazy_folios_repointed - before, 1);
  exitAllAndAssertEmpty(lz, [gc, ch, mm]);
});

Deno.test("a fork-time lazy group: not made until a folio joins, same id; made when its root leaves first", () => {
  const lz = lazyWorld();
  const mm = lz.k.spawn();
  lz.k.mmap(mm, pg(0), 16 * P, RW, ANON);
  writeAll(lz.k, mm, pg(0), 2);
  const ch = lz.k.fork(mm);
  const [c0] = vmas(ch);
  const raw = (v: Vma) =>
    v.rmap as { lazy: LazyGroup | null; treeParent: { pendingGroupId: number } };
  assert.equal(raw(c0).lazy, null);
  const id = raw(c0).treeParent.pendingGroupId;
  assert.ok(id > 0);
  assert.equal(lz.s.counters().lazy_groups_live, 1);
  // A split piece joins the link (and the group, still not made).
  lz.k.mprotect(ch, pg(8), 8 * P, PROT_READ);
  const piece = vmas(ch).find((v) => v !== c0)!;
  assert.equal(raw(piece).lazy, null);
  assert.equal(lz.s.counters().vma_get, 1);
  // A CoW write in the lower piece makes the group: its root the VMA fork made, both members
  // in the order they joined.
  lz.k.touch(ch, pg(0), "write");
  const g = raw(c0).lazy!;
  assert.deepEqual([g.id, g.root, [...g.vmas], raw(piece).lazy, g.folioCount], [
    id,
    c0,
    [c0, piece],
    g,
    1,
  ]);
  assert.equal(raw(c0).treeParent.pendingGroupId, 0);
  // Another child: the VMA fork made leaves first (unmapped), its split piece stays; the group
  // is made then and its root pinned.
  const ch2 = lz.k.fork(mm);
  const [c2] = vmas(ch2);
  lz.k.mprotect(ch2, pg(8), 8 * P, PROT_READ);
  const other = vmas(ch2).find((v) => v !== c2)!;
  assert.equal(raw(other).lazy, null);
  lz.k.munmap(ch2, c2.start, c2.end - c2.start);
  const h = raw(other).lazy!;
  assert.deepEqual([h.root, [...h.vmas], h.rootPinnedDetached], [c2, [other], true]);
  assert.equal(lz.s.counters().vma_pinned_detached, 1);
  assert.equal(lz.s.counters().lazy_groups_live, 2);
  exitAllAndAssertEmpty(lz, [ch2, ch, mm]);
});

Deno.test("a TREE_PARENT upgrade drops the pins of the pieces, not of the root VMA fork made", () => {
  //   P  0          10         20          30
  //      |WWWWWWWWWW.......................|   one lazy VMA, page 0 written; P forks C:
  //   C  |==========|rrrrrrrrrr|==========|   C's VMA (TREE_PARENT, root of its own fork-time
  //      piece 2     root (fork's) piece 3     group) split by mprotect [10, 20): the two new
  //   pieces join the link and the group and pin the root (vma_get 2, A10, [P06]). C forks: the
  //   link is materialized and its group ends; only the pieces drop a pin (vma_put 2): the root
  //   took none (#chargeJoin(true) at fork). Without a folio the group object was never made
  //   (the pending path); after C's write it holds C's CoW copy, re-pointed to the anon_vma.
  for (const write of [false, true]) {
    const lz = lazyWorld();
    const p = lz.k.spawn();
    lz.k.mmap(p, pg(0), 30 * P, RW, ANON);
    lz.k.touch(p, pg(0), "write");
    const c = lz.k.fork(p);
    if (write) lz.k.touch(c, pg(0), "write"); // C's own exclusive copy: its group is made
    const pins = (): number[] => {
      const x = lz.s.counters();
      return [x.vma_get ?? 0, x.vma_put ?? 0, x.lazy_folios_repointed ?? 0];
    };
    // P's upgrade: one member (its root), one folio re-pointed, no pin.
    assert.deepEqual(pins(), [0, 0, 1]);
    lz.k.mprotect(c, pg(10), 10 * P, PROT_READ);
    assert.deepEqual(vmas(c).map((v) => lz.s.kindOf(v)), [
      "tree_parent",
      "tree_parent",
      "tree_parent",
    ]);
    assert.deepEqual(pins(), [2, 0, 1], `write ${write}`);
    lz.k.fork(c);
    assert.deepEqual(vmas(c).map((v) => lz.s.kindOf(v)), ["anon_vma", "anon_vma", "anon_vma"]);
    assert.deepEqual(pins(), [2, 2, write ? 2 : 1], `write ${write}`);
    assert.equal(lz.s.counters().tree_parent_materialized, 1);
  }
});

Deno.test("an upgrade charges one pte_check and one pte_update per re-pointed folio", () => {
  //   0     10 ... 15 ... 25   30
  //   W.....|....W.....|...W....|   one lazy VMA, pages 0, 15, 25 written (3 folios, one group).
  //  fork copies the 3 PTEs in both models (3 pte_check, 3 pte_update); the lazy parent is
  //  first upgraded [P10] and each folio of the group re-pointed to the new anon_vma: one
  //  pte_check and one pte_update more per folio (module header, "Fork").
  const delta = (w: World<unknown>): number[] => {
    const mm = w.k.spawn();
    w.k.mmap(mm, pg(0), 30 * P, RW, ANON);
    for (const n of [0, 15, 25]) w.k.touch(mm, pg(n), "write");
    const pte = (): number[] => {
      const work = (w.k.exec as CountingExec).counters.work;
      return [work.pte_check ?? 0, work.pte_update ?? 0];
    };
    const b = pte();
    w.k.fork(mm);
    const a = pte();
    return [a[0] - b[0], a[1] - b[1]];
  };
  const lz = lazyWorld();
  assert.deepEqual(delta(lz), [6, 6]);
  assert.equal(lz.s.counters().lazy_folios_repointed, 3);
  assert.deepEqual(delta(classicWorld()), [3, 3]);
});

Deno.test("a lazy walk charges the group members it examined, in join order, up to its stop", () => {
  //   0          10         20          30
  //   W..........|rrrrWrrrrr|....W.....|   one lazy VMA, pages 0, 15, 25 written, then
  //   piece 2     root        piece 3       mprotect [10, 20): the original struct (the root,
  //  [10, 20)) keeps the group's first place; the pieces joined after it: [0, 10) then [20, 30).
  //  folio_referenced stops once the folio's one mapping is seen, so the walk examines the
  //  members up to the one mapping it: treeNodes = 2, 1, 3 (module header, "Walk of a lazy
  //  folio": treeNodes = group members examined).
  const lz = lazyWorld();
  const mm = lz.k.spawn();
  lz.k.mmap(mm, pg(0), 30 * P, RW, ANON);
  for (const n of [0, 15, 25]) lz.k.touch(mm, pg(n), "write");
  lz.k.mprotect(mm, pg(10), 10 * P, PROT_READ);
  const g = lz.s.lstate(vmas(mm)[0]).lazy!;
  assert.deepEqual(g.vmas.toArray().map((v) => (v.start - X) / P), [10, 0, 20]);
  assert.equal((g.root.start - X) / P, 10);
  const figs = [0, 15, 25].map((n) => {
    lz.k.folioReferenced(folioAt(lz.k, mm, pg(n)));
    return walkFig(lz.walks.at(-1)!);
  });
  // [visits, hits, structures, treeNodes]
  assert.deepEqual(figs, [[1, 1, 1, 2], [1, 1, 1, 1], [1, 1, 1, 3]]);
});

Deno.test("lazy first faults and upgrades take the mm's page_table_lock; an upgrade the rwsem", () => {
  //   0    4    8    12
  //   AA.. .... BB..        two VMAs, pages 0, 1, 8, 9 written; then fork.
  // Lazy first fault (vma_prepare_anon_vma_lazy): page_table_lock only, no anon_vma lock; the
  // second write of a VMA takes nothing. Classic __anon_vma_prepare: root rwsem + ptl.
  // Fork: lazy upgrades each group under the new anon_vma's rwsem and the ptl (module header,
  // "Fork"), then anon_vma_clone of the child locks the root once per VMA; classic locks it
  // twice per VMA (anon_vma_clone, then anon_vma_fork's link) and takes no ptl.
  const figs = (w: World<unknown>): number[][] => {
    const mm = w.k.spawn();
    w.k.mmap(mm, pg(0), 4 * P, RW, ANON);
    w.k.mmap(mm, pg(8), 4 * P, RW, ANON);
    for (const n of [0, 1, 8, 9]) w.k.touch(mm, pg(n), "write");
    const faults = [ptlWrites(w.k), rootLockWrites(w.k)];
    w.k.fork(mm);
    return [faults, [ptlWrites(w.k) - faults[0], rootLockWrites(w.k) - faults[1]]];
  };
  // [[ptl, rwsem] after the faults, [ptl, rwsem] taken by the fork]
  assert.deepEqual(figs(lazyWorld()), [[2, 0], [2, 4]]);
  assert.deepEqual(figs(classicWorld()), [[2, 2], [0, 4]]);
});

Deno.test("deferred reuse (A8) scans the chain in reuseOrder and takes the rwsem to reuse", () => {
  //   P  [w...]  A (root)        P forks C, C forks G, G forks H: each fork upgrades the
  //   C  [....]  B (parent A)    forking TREE_PARENT VMA (its anon_vma has an active VMA, no
  //   G  [....]  C' (parent B)   reuse): B, then C'. H is TREE_PARENT of C', chain {C', B, A}.
  //   H  [....]  -- (TREE_PARENT of C')
  // C and G exit: B and C' have no active VMA; A has P's, and num_children 2 (self + B); B has
  // num_children 1 (C'), C' 0. H forks: its upgrade reuses, oldest-first (6.18 default) B,
  // newest-first C'; no anon_vma allocated; the rwsem is taken for the reuse and once for the
  // grandchild's anon_vma_clone.
  for (const order of ["oldest-first", "newest-first"] as const) {
    const s = new AnonVmaLazyScheme({ reuseOrder: order });
    const k = new Kernel({ scheme: s, params: { debugChecks: true } });
    const p = k.spawn();
    k.mmap(p, pg(0), 4 * P, RW, ANON);
    k.touch(p, pg(0), "write");
    const c = k.fork(p);
    const g = k.fork(c);
    const h = k.fork(g);
    const [a, b, c2] = [p, c, g].map((m) => s.anonVmaOf(vmas(m)[0])!);
    assert.deepEqual([b.parent, c2.parent], [a, b]);
    // VMAs P, C, G, H; AVCs 1 + 2 + 3 + 3.
    assert.deepEqual(objects(k), { vma: 4, av: 3, avc: 9 });
    k.exit(c);
    k.exit(g);
    assert.deepEqual(objects(k), { vma: 2, av: 3, avc: 4 });
    const locks = rootLockWrites(k);
    const hh = k.fork(h);
    assert.equal(s.anonVmaOf(vmas(h)[0]), order === "oldest-first" ? b : c2, order);
    assert.equal(s.counters().anon_vma_reuse_deferred, 1);
    assert.deepEqual(objects(k), { vma: 3, av: 3, avc: 7 });
    assert.equal(rootLockWrites(k) - locks, 2);
    exitAllAndAssertEmpty({ k, s, walks: [] }, [p, h, hh]);
  }
});

Deno.test("deferred reuse (A8) refuses an idle ancestor that has a child anon_vma", () => {
  //   P  [w...]  A      P forks C1 and C2 (both TREE_PARENT of A). C1 forks: B1 (parent A),
  //   C1 [....]  B1     A's num_children becomes 2. P exits: A has no active VMA but
  //   C2 [....]  --     num_children 2, so C2's upgrade at its fork must not reuse it (6.18:
  //                     num_children < 2): a new B2, one AVC; its child clones {B2, A}.
  const lz = lazyWorld();
  const p = lz.k.spawn();
  lz.k.mmap(p, pg(0), 4 * P, RW, ANON);
  lz.k.touch(p, pg(0), "write");
  const c1 = lz.k.fork(p);
  const c2 = lz.k.fork(p);
  assert.deepEqual(objects(lz.k), { vma: 3, av: 1, avc: 3 });
  const g1 = lz.k.fork(c1);
  assert.deepEqual(objects(lz.k), { vma: 4, av: 2, avc: 6 });
  lz.k.exit(p);
  assert.deepEqual(objects(lz.k), { vma: 3, av: 2, avc: 5 });
  const g2 = lz.k.fork(c2);
  assert.deepEqual(objects(lz.k), { vma: 4, av: 3, avc: 8 });
  assert.equal(lz.s.counters().anon_vma_reuse_deferred, undefined);
  assert.equal(lz.s.anonVmaOf(vmas(c2)[0])!.parent, lz.s.anonVmaOf(vmas(c1)[0])!.parent);
  exitAllAndAssertEmpty(lz, [c1, c2, g1, g2]);
});

Deno.test("shared swap-in two generations down: filed under the chain's root, cache hit in both", () => {
  //   P  [ww..]  A          P writes pages 0, 1, forks C; C writes both (own lazy copies) and
  //   C  [cc..]  B          forks G: C's copies are re-pointed to B and shared by C and G.
  //   G  [cc..]  TREE_PARENT of B
  // Both copies are swapped out (slots shared by C and G). Page 0: G faults first — a
  // non-exclusive swap-in in a TREE_PARENT VMA goes to the root of the chain, A (A9,
  // __folio_set_anon), not to the link's parent B — then C hits the swap cache. Page 1: C
  // first (classic: A too), then G hits the cache: its link's parent B has root A, so the
  // cached folio fits (no ksm_might_need_to_copy copy). A walk of either folio goes through
  // A's tree: P, C and G (3 visits), C and G map it (2 hits).
  const lz = lazyWorld();
  const p = lz.k.spawn();
  lz.k.mmap(p, pg(0), 4 * P, RW, ANON);
  writeAll(lz.k, p, pg(0), 2);
  const c = lz.k.fork(p);
  writeAll(lz.k, c, pg(0), 2);
  const g = lz.k.fork(c);
  const a = lz.s.anonVmaOf(vmas(p)[0])!;
  const b = lz.s.anonVmaOf(vmas(c)[0])!;
  assert.equal(b.parent, a);
  for (const n of [0, 1]) {
    const f = folioAt(lz.k, c, pg(n));
    assert.deepEqual([f.rmap, f.mapcount], [b, [2]]);
    assert.equal(lz.k.tryToUnmap(f), true);
  }
  lz.k.touch(g, pg(0), "read");
  lz.k.touch(c, pg(0), "read");
  lz.k.touch(c, pg(1), "read");
  lz.k.touch(g, pg(1), "read");
  assert.equal(lz.s.counters().tree_parent_shared_to_root, 1);
  for (const n of [0, 1]) {
    const f = folioAt(lz.k, g, pg(n));
    assert.equal(folioAt(lz.k, c, pg(n)), f);
    assert.equal(f.rmap, a);
    assert.deepEqual(migrateWalks(lz, f).map((r) => [r.visits, r.hits]), [[3, 2], [3, 2]]);
  }
  // P's two originals and the two shared swapped-in folios; nothing allocated by the swap-ins.
  assert.equal(lz.k.liveAnonFolios.length, 4);
  assert.deepEqual(objects(lz.k), { vma: 3, av: 2, avc: 5 });
  exitAllAndAssertEmpty(lz, [p, c, g]);
});

Deno.test("lazy walk at a split boundary: no visit past a member's end, stop, list_op, no pin", () => {
  //   0          10          20
  //   w.........|w.........|       one lazy VMA, pages 0 and 10 written, then mprotect [0, 10)
  //   root (ro)  piece (rw)        read-only: split at 10 (new_below=0), the original struct
  //  (the root, first in the group) keeps [0, 10), the new piece [10, 20) joins second.
  //  folio_referenced of page 0: the root maps it and the walk stops there (1 member examined,
  //  one list_op). Of page 10: the root ends at pgoff 9 < 10, so it is examined but not visited;
  //  the piece is visited (2 examined, 2 list_ops). Neither walk migrates: no vma_get (the pin
  //  is try_to_migrate's only).
  const lz = lazyWorld();
  const mm = lz.k.spawn();
  lz.k.mmap(mm, pg(0), 20 * P, RW, ANON);
  lz.k.touch(mm, pg(0), "write");
  lz.k.touch(mm, pg(10), "write");
  lz.k.mprotect(mm, pg(0), 10 * P, PROT_READ);
  const g = lz.s.lstate(vmas(mm)[0]).lazy!;
  assert.deepEqual(g.vmas.toArray().map((v) => (v.start - X) / P), [0, 10]);
  const figs = [0, 10].map((n) => {
    const before = workOf(lz.k, "list_op");
    assert.equal(lz.k.folioReferenced(folioAt(lz.k, mm, pg(n))), 1);
    return [...walkFig(lz.walks.at(-1)!), workOf(lz.k, "list_op") - before];
  });
  // [visits, hits, structures, treeNodes, list_op]
  assert.deepEqual(figs, [[1, 1, 1, 1, 1], [1, 1, 1, 2, 2]]);
  assert.equal(lz.k.tryToUnmap(folioAt(lz.k, mm, pg(10))), true);
  assert.deepEqual(walkFig(lz.walks.at(-1)!), [1, 1, 1, 2]);
  assert.equal(lz.s.counters().migration_vma_get, undefined);
  assert.equal(lz.s.counters().lazy_walks, 3);
  exitAllAndAssertEmpty(lz, [mm]);
});

Deno.test("a first fault between two lazy groups joins next's (A2), and re-merges with it", () => {
  //   0          10          20          30
  //   L.........|M (rw|exec)|R.........|     one VMA, mprotect [10, 20) RW|EXEC; L then R
  //   G1          ?           G2              fault: two groups (R's prev M is unfaulted). M
  //  faults: find_mergeable_anon_vma looks at next first, so M joins G2. mprotect back: M and
  //  R (same group, contiguous pgoffs) merge; L stays alone.
  const lz = lazyWorld();
  const mm = lz.k.spawn();
  lz.k.mmap(mm, pg(0), 30 * P, RW, ANON);
  lz.k.mprotect(mm, pg(10), 10 * P, RW | PROT_EXEC);
  for (const n of [0, 20, 10]) lz.k.touch(mm, pg(n), "write");
  const [l, m, r] = vmas(mm);
  assert.equal(lz.s.lstate(m).lazy, lz.s.lstate(r).lazy);
  assert.notEqual(lz.s.lstate(l).lazy, lz.s.lstate(r).lazy);
  assert.deepEqual(
    [lz.s.counters().lazy_groups_created, lz.s.counters().lazy_group_reuse_neighbour],
    [2, 1],
  );
  lz.k.mprotect(mm, pg(10), 10 * P, RW);
  assert.deepEqual(vmas(mm).map((v) => [(v.start - X) / P, (v.end - X) / P]), [[0, 10], [10, 30]]);
  exitAllAndAssertEmpty(lz, [mm]);
});

Deno.test("a first fault next to a TREE_PARENT VMA makes its own group (A6), upgraded apart", () => {
  //   C  0              16               32
  //      N (rw|exec)    |T (inherited)   |    P wrote page 16 and forked C; C writes page 17
  //      page 15 written  page 17: C's copy    (its own group). C maps N below T
  //  (anon_vma_compatible: adjacent, pgoffs contiguous, flags differ only in access bits) and
  //  writes page 15: N must not join T's group (its folios would be re-pointed to an anon_vma N
  //  is not linked to): a new group. C forks: N's group becomes a root anon_vma (1 AVC), T's
  //  link a child B of A (1 AVC); the grandchild: 1 + 2 AVCs.
  const lz = lazyWorld();
  const p = lz.k.spawn();
  lz.k.mmap(p, pg(16), 16 * P, RW, ANON);
  lz.k.touch(p, pg(16), "write");
  const c = lz.k.fork(p);
  lz.k.touch(c, pg(17), "write");
  lz.k.mmap(c, pg(0), 16 * P, RW | PROT_EXEC, ANON);
  lz.k.touch(c, pg(15), "write");
  const [n, t] = vmas(c);
  assert.deepEqual([lz.s.kindOf(n), lz.s.kindOf(t)], ["lazy", "tree_parent"]);
  assert.notEqual(lz.s.lstate(n).lazy, lz.s.lstate(t).lazy);
  assert.equal(lz.s.lstate(n).lazy!.root, n);
  assert.deepEqual(
    [lz.s.counters().lazy_groups_created, lz.s.counters().lazy_group_reuse_neighbour],
    [3, undefined],
  );
  assert.deepEqual(objects(lz.k), { vma: 3, av: 1, avc: 2 });
  const g = lz.k.fork(c);
  assert.deepEqual(vmas(c).map((v) => lz.s.kindOf(v)), ["anon_vma", "anon_vma"]);
  assert.deepEqual(objects(lz.k), { vma: 5, av: 3, avc: 7 });
  for (const f of [...lz.k.liveAnonFolios]) lz.k.migrateFolio(f);
  exitAllAndAssertEmpty(lz, [p, c, g]);
});

Deno.test("a never-filled fork-time group: its root, leaving last, drops no pin", () => {
  //   C  0        8        16
  //      piece    |root     |    C's inherited VMA (TREE_PARENT, its fork-time group never
  //  gets a folio) split by mprotect [8, 16): split_vma(new_below=1) keeps the original struct
  //  (the group's root) as [8, 16); the new piece [0, 8) joins and pins it (vma_get 1).
  //  munmap of the piece drops that pin (vma_put 1); C's exit takes the root, which held none.
  const lz = lazyWorld();
  const p = lz.k.spawn();
  lz.k.mmap(p, pg(0), 16 * P, RW, ANON);
  lz.k.touch(p, pg(0), "write");
  const c = lz.k.fork(p);
  const pins = (): number[] => {
    const x = lz.s.counters();
    return [x.vma_get ?? 0, x.vma_put ?? 0, x.lazy_groups_live];
  };
  assert.deepEqual(pins(), [0, 0, 1]);
  lz.k.mprotect(c, pg(8), 8 * P, PROT_READ);
  assert.deepEqual(pins(), [1, 0, 1]);
  lz.k.munmap(c, pg(0), 8 * P);
  assert.deepEqual(pins(), [1, 1, 1]);
  lz.k.exit(c);
  assert.deepEqual(pins(), [1, 1, 0]);
  exitAllAndAssertEmpty(lz, [p]);
});

Deno.test("a TREE_PARENT upgrade charges one pte_check and one pte_update per own folio", () => {
  //   P  [www.]   P writes pages 0..2 and forks C; C writes page 0 (its CoW copy, lazy in its
  //   C  [cww.]   own group) and forks: fork copies C's 3 PTEs (3 pte_check, 3 pte_update in
  //  both models); the lazy upgrade re-points C's copy to its new anon_vma: one more of each.
  const delta = (w: World<unknown>): number[] => {
    const p = w.k.spawn();
    w.k.mmap(p, pg(0), 4 * P, RW, ANON);
    writeAll(w.k, p, pg(0), 3);
    const c = w.k.fork(p);
    w.k.touch(c, pg(0), "write");
    const b = [workOf(w.k, "pte_check"), workOf(w.k, "pte_update")];
    w.k.fork(c);
    return [workOf(w.k, "pte_check") - b[0], workOf(w.k, "pte_update") - b[1]];
  };
  const lz = lazyWorld();
  assert.deepEqual(delta(lz), [4, 4]);
  // P's 3 folios at the first fork, C's copy at the second.
  assert.equal(lz.s.counters().lazy_folios_repointed, 4);
  assert.deepEqual(delta(classicWorld()), [3, 3]);
});

Deno.test("MREMAP_RELOCATE_ANON out of an upgraded VMA: source locked, one pte_update per folio", () => {
  //   P  0     4          100   104
  //      wwww|     →      wwww        P writes 4 pages, forks C (P upgraded: A), C exits; P's
  //  VMA is classic with an unshared A. RELOCATE_ANON to 100: the destination's first-fault
  //  prepare is lazy (ptl, no rwsem); the folios leave A under A's rwsem; then the source's
  //  unlink_anon_vmas takes it again and frees A (its tree empty). PTE writes: 4 for the page
  //  table move, 4 for the re-pointed folios; a plain move writes the 4 moved PTEs only.
  const run = (flags: number): number[] => {
    const lz = lazyWorld();
    const p = lz.k.spawn();
    lz.k.mmap(p, pg(0), 4 * P, RW, ANON);
    writeAll(lz.k, p, pg(0), 4);
    lz.k.exit(lz.k.fork(p));
    const b = [ptlWrites(lz.k), rootLockWrites(lz.k), workOf(lz.k, "pte_update")];
    lz.k.mremap(p, pg(0), 4 * P, 4 * P, MREMAP_MAYMOVE | MREMAP_FIXED | flags, pg(100));
    const o = objects(lz.k);
    const out = [
      ptlWrites(lz.k) - b[0],
      rootLockWrites(lz.k) - b[1],
      workOf(lz.k, "pte_update") - b[2],
      o.av,
      o.avc,
    ];
    assert.equal(lz.s.kindOf(vmas(p)[0]), flags ? "lazy" : "anon_vma");
    exitAllAndAssertEmpty(lz, [p]);
    return out;
  };
  // [ptl, rwsem, pte_update, anon_vmas, AVCs]
  assert.deepEqual(run(MREMAP_RELOCATE_ANON), [1, 2, 8, 0, 0]);
  // Plain move: anon_vma_clone of the destination (rwsem) and the source's unlink.
  assert.deepEqual(run(0), [0, 2, 4, 1, 1]);
});

Deno.test("split_folio of a lazy large folio: the tails join the group and are re-pointed at fork", () => {
  //   0    4
  //   FFFF       anonFolioOrder 2: the write of page 0 maps one 4-page lazy folio. MADV_COLD
  //  of [0, 2) covers it partly: it is split (this mm maps it alone) into 4 small folios, all
  //  in the group; the fork's upgrade re-points the 4.
  const s = new AnonVmaLazyScheme();
  const k = new Kernel({ scheme: s, params: { debugChecks: true, anonFolioOrder: 2 } });
  const mm = k.spawn();
  k.mmap(mm, pg(0), 4 * P, RW, ANON);
  // Every page written: the split would map a page that still holds zeroes to the zero page.
  for (let n = 0; n < 4; n++) k.touch(mm, pg(n), "write");
  const g = s.lstate(vmas(mm)[0]).lazy!;
  assert.deepEqual([folioAt(k, mm, pg(0)).nrPages, g.folioCount], [4, 1]);
  k.madvise(mm, pg(0), 2 * P, MADV_COLD);
  assert.equal(k.counters.folios_split, 1);
  assert.equal(g.folioCount, 4);
  assert.deepEqual(
    [0, 1, 2, 3].map((n) => g.folios.has(folioAt(k, mm, pg(n)))),
    [true, true, true, true],
  );
  const c = k.fork(mm);
  assert.equal(s.counters().lazy_folios_repointed, 4);
  exitAllAndAssertEmpty({ k, s, walks: [] }, [mm, c]);
});

Deno.test("RELOCATE_ANON undo: the folios go back to their old lazy group's folio set", () => {
  //   Z-2  Z          X    X+4
  //   BB  |           AAAA        B and A lazy, written (groups GB, GA). mremap(A → Z,
  //  RELOCATE_ANON) with relocateFailAfter 2: the destination's prepare joins GB (A2: prev B
  //  is compatible), 2 folios are moved to GB, the injected failure undoes them back to GA and
  //  A is moved plainly (keeps GA and its pgoff: no merge with B).
  const Z = 0x7e0000000000;
  const s = new AnonVmaLazyScheme();
  const k = new Kernel({ scheme: s, params: { debugChecks: true, relocateFailAfter: 2 } });
  const p = k.spawn();
  k.mmap(p, Z - 2 * P, 2 * P, RW, ANON);
  k.mmap(p, X, 4 * P, RW, ANON);
  writeAll(k, p, Z - 2 * P, 2);
  writeAll(k, p, X, 4);
  const gb = s.lstate(p.vmas.find(Z - P)!).lazy!;
  const ga = s.lstate(p.vmas.find(X)!).lazy!;
  k.mremap(p, X, 4 * P, 4 * P, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_RELOCATE_ANON, Z);
  assert.equal(k.counters.relocate_undo, 1);
  assert.deepEqual(vmas(p).map((v) => [(v.start - Z) / P, (v.end - Z) / P]), [[-2, 0], [0, 4]]);
  assert.equal(s.lstate(p.vmas.find(Z)!).lazy, ga);
  assert.deepEqual([ga.folioCount, gb.folioCount], [4, 2]);
  for (let i = 0; i < 4; i++) {
    const f = folioAt(k, p, Z + i * P);
    assert.equal(f.rmap, ga);
    assert.ok(ga.folios.has(f));
  }
  exitAllAndAssertEmpty({ k, s, walks: [] }, [p]);
});
