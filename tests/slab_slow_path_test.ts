// The SLUB slow-path model (core/slab_slow_path.ts): exact event counts and work for small,
// hand-checked allocation sequences, the GFP_NOWAIT failure, and 6.18's anon_vma_clone fallback;
// then the plain accounting a run's byte figures rest on (sizes, underflow, setLive, groups).

import assert from "node:assert/strict";
import { Slab } from "../core/slab.ts";
import {
  DEFAULT_SLAB_SLOW_PATH,
  resolveSlabSlowPath,
  SLAB_LIST_LOCK_CLASS,
} from "../core/slab_slow_path.ts";
import { CountingExec } from "../core/machine/exec.ts";
import { Kernel } from "../core/kernel/kernel.ts";
import { AnonVmaScheme } from "../core/rmap/anon_vma.ts";
import { AnonVma2026Scheme } from "../core/rmap/anon_vma_2026.ts";
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from "../core/kernel/types.ts";

function slowSlab(over = {}): { slab: Slab; ex: CountingExec } {
  const ex = new CountingExec();
  const slab = new Slab({}, ex, resolveSlabSlowPath(over));
  ex.beginOp("fork", 1);
  return { slab, ex };
}

Deno.test("without the slow-path model every allocation is a fast path", () => {
  const ex = new CountingExec();
  const slab = new Slab({}, ex);
  ex.beginOp("fork", 1);
  for (let i = 0; i < 100; i++) assert.equal(slab.alloc("anon_vma"), true);
  assert.deepEqual(ex.counters.work, { slab_alloc: 100 });
  assert.equal(slab.slowPathCounters("anon_vma"), null);
});

Deno.test("growth: 40 anon_vmas take 2 new slabs (39 per slab) and 2 memcg stock refills", () => {
  // anon_vma: 104-byte slot, 39 objects per order-0 slab, SLAB_ACCOUNT.
  //   alloc  1: new slab #1 (39 free, freelist of 39), stock 0 < 104: refill 4096 + page counter
  //   alloc 40: CPU freelist empty, node empty: new slab #2; stock 4096 - 39×104 = 40 < 104:
  //             refill (no page-counter charge: 1 of 64)
  const { slab, ex } = slowSlab();
  for (let i = 0; i < 40; i++) slab.alloc("anon_vma");
  assert.deepEqual(slab.slowPathCounters("anon_vma"), {
    refills: 0,
    newSlabs: 2,
    discards: 0,
    memcgStockRefills: 2,
    memcgPageCounterCharges: 1,
    reclaims: 0,
    nowaitFailures: 0,
    slabs: 2,
    peakSlabs: 2,
  });
  // list_op: 2 × (2 new-slab + 39 freelist); cache_miss: 2 × 2 new-slab + 2 stock + 3 levels.
  assert.deepEqual(ex.counters.work, { slab_alloc: 40, list_op: 82, cache_miss: 9 });
  assert.equal(ex.counters.locks[SLAB_LIST_LOCK_CLASS], undefined);
});

Deno.test("churn: frees go back to the node; a refill takes one slab's worth under list_lock", () => {
  const { slab, ex } = slowSlab();
  for (let i = 0; i < 40; i++) slab.alloc("anon_vma"); // CPU freelist: 38 left
  for (let i = 0; i < 40; i++) slab.free("anon_vma"); // node: 40 free objects
  for (let i = 0; i < 38; i++) slab.alloc("anon_vma"); // fast
  assert.equal(slab.slowPathCounters("anon_vma")!.refills, 0);
  slab.alloc("anon_vma"); // refill: 39 of the node's 40 move to the CPU
  const c = slab.slowPathCounters("anon_vma")!;
  assert.equal(c.refills, 1);
  assert.equal(c.newSlabs, 2);
  assert.equal(ex.counters.locks[SLAB_LIST_LOCK_CLASS].writeAcquisitions, 1);
  assert.deepEqual(ex.counters.locks[SLAB_LIST_LOCK_CLASS].workUnderLock, {
    list_op: 1,
    cache_miss: 1,
  });
});

Deno.test("discard: the node keeps min_partial + 1 slabs and the per-CPU partial objects", () => {
  // maple_node: 16 per slab, not accounted, cpu_partial 52; with 8 CPUs the threshold is
  // (5 + 1) × 16 + 52 × 8 = 512 free objects: 200 frees discard nothing.
  const eight = slowSlab();
  eight.slab.alloc("maple_node", 200);
  eight.slab.free("maple_node", 200);
  assert.equal(eight.slab.slowPathCounters("maple_node")!.discards, 0);
  // Without per-CPU partial lists (cpus 0) the threshold is (5 + 1) × 16 = 96 free objects.
  //   200 allocs: 13 new slabs (208 objects, 8 left on the CPU); 200 frees: the node passes 96
  //   at free 97 and after each 16 more: discards at frees 97, 113, ..., 193 = 7; 6 slabs left.
  const { slab, ex } = slowSlab({ cpus: 0 });
  slab.alloc("maple_node", 200);
  slab.free("maple_node", 200);
  const c = slab.slowPathCounters("maple_node")!;
  assert.deepEqual([c.newSlabs, c.discards, c.slabs, c.peakSlabs], [13, 7, 6, 13]);
  assert.equal(c.memcgStockRefills, 0);
  assert.equal(ex.counters.locks[SLAB_LIST_LOCK_CLASS].writeAcquisitions, 7);
});

Deno.test("direct reclaim: every Nth new slab; GFP_NOWAIT fails there instead", () => {
  const k = slowSlab({ reclaimEveryNewSlabs: 2 });
  for (let i = 0; i < 39; i++) assert.equal(k.slab.alloc("anon_vma", 1, "nowait"), true);
  // The 40th needs new slab #2, which needs reclaim: GFP_NOWAIT fails and allocates nothing.
  assert.equal(k.slab.alloc("anon_vma", 1, "nowait"), false);
  assert.equal(k.slab.live("anon_vma"), 39);
  assert.equal(k.slab.slowPathCounters("anon_vma")!.nowaitFailures, 1);
  // GFP_KERNEL reclaims (32 pte_check + 32 cache_miss) and succeeds.
  const before = k.ex.counters.work.pte_check ?? 0;
  assert.equal(k.slab.alloc("anon_vma"), true);
  assert.equal((k.ex.counters.work.pte_check ?? 0) - before, 32);
  assert.equal(k.slab.slowPathCounters("anon_vma")!.reclaims, 1);
  assert.throws(() => resolveSlabSlowPath({ minPartial: -1 }), /minPartial must be an integer/);
  assert.equal(DEFAULT_SLAB_SLOW_PATH.reclaimEveryNewSlabs, 0);
});

Deno.test("6.18 anon_vma_clone: a GFP_NOWAIT AVC that fails drops the root lock; 2026 never", () => {
  // P maps one 4-page region and writes it; P forks C; C forks G. G's clone copies C's chain of
  // two AVCs: the second one is allocated under the root lock in 6.18. With direct reclaim on
  // every new slab and no free AVC left, that allocation fails and is retried unlocked.
  const run = (s: AnonVmaScheme): { fallbacks: number; rootWrites: number } => {
    const ex = new CountingExec();
    const slab = new Slab({}, null, resolveSlabSlowPath({ reclaimEveryNewSlabs: 1 }));
    const k = new Kernel({ scheme: s, exec: ex, slab });
    const p = k.spawn();
    const a = k.mmap(p, 0, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    for (let i = 0; i < 4; i++) k.touch(p, a + i * 4096, "write");
    // Leave one AVC on the CPU freelist (64 per slab; P 1 + C 2 so far after the fork).
    const c = k.fork(p);
    const used = slab.stats("anon_vma_chain").allocs;
    for (let i = used; i < 63; i++) slab.alloc("anon_vma_chain");
    const w0 = ex.counters.locks["anon_vma.root"]?.writeAcquisitions ?? 0;
    const g = k.fork(c);
    const rootWrites = (ex.counters.locks["anon_vma.root"]?.writeAcquisitions ?? 0) - w0;
    for (let i = used; i < 63; i++) slab.free("anon_vma_chain");
    for (const mm of [g, c, p]) k.exit(mm);
    return { fallbacks: s.counters().avc_alloc_nowait_fallback ?? 0, rootWrites };
  };
  // 6.18: G's first AVC takes the last free object before the lock; the second needs a new slab
  // under the lock: GFP_NOWAIT fails, unlock, GFP_KERNEL (reclaim), lock again — 3 root write
  // acquisitions (clone, re-lock, anon_vma_fork's link) instead of 2. 2026 allocates both
  // unlocked with GFP_KERNEL: reclaim outside the lock, 2 acquisitions.
  assert.deepEqual(run(new AnonVmaScheme()), { fallbacks: 1, rootWrites: 3 });
  assert.deepEqual(run(new AnonVma2026Scheme()), { fallbacks: 0, rootWrites: 2 });
});

Deno.test("memcg: the page counters are charged once per MEMCG_CHARGE_BATCH (64) stock refills", () => {
  // anon_vma (104 bytes): refill r + 1 happens at the first alloc N with N × 104 > r × 4096, so
  // 2520 allocations take 64 refills (one page-counter charge, at the first) and 2521 take 65
  // (a second charge: refills 1 and 65). MEMCG_CHARGE_BATCH is 64 (include/linux/memcontrol.h).
  assert.equal(DEFAULT_SLAB_SLOW_PATH.memcgChargeBatchPages, 64);
  for (const [n, refills, charges] of [[2520, 64, 1], [2521, 65, 2]]) {
    const { slab } = slowSlab();
    slab.alloc("anon_vma", n);
    const c = slab.slowPathCounters("anon_vma")!;
    assert.deepEqual([c.memcgStockRefills, c.memcgPageCounterCharges], [refills, charges], `${n}`);
  }
});

Deno.test("slow-path parameters: ranges are checked with one line naming the key", () => {
  // A slab holds at least one object: objsPerSlab 0 would make every allocation a new slab.
  assert.throws(
    () =>
      resolveSlabSlowPath({
        geometry: { anon_vma: { objsPerSlab: 0, accounted: true, cpuPartial: 120 } },
      }),
    { message: "Slab slow-path geometry anon_vma.objsPerSlab must be an integer in [1, 4096]" },
  );
  assert.equal(
    resolveSlabSlowPath({
      geometry: { anon_vma: { objsPerSlab: 1, accounted: true, cpuPartial: 120 } },
    }).geometry.anon_vma.objsPerSlab,
    1,
  );
  assert.throws(() => resolveSlabSlowPath({ cpus: 4097 }), {
    message: "Slab slow-path parameter cpus must be an integer in [0, 4096]",
  });
  assert.equal(resolveSlabSlowPath({ cpus: 0, minPartial: 0 }).cpus, 0);
});

Deno.test("refill: one slab's worth at most; the rest stays on the node for the next", () => {
  // anon_vma (39 per slab). 40 allocs: 2 new slabs, 38 left on the CPU. 40 frees: 40 on the
  // node. 38 fast allocs empty the CPU; the next refills 39 (1 left on the node), 38 more are
  // fast, the next refills the last 1, and the one after needs new slab #3.
  const { slab } = slowSlab();
  slab.alloc("anon_vma", 40);
  slab.free("anon_vma", 40);
  const seen: number[][] = [];
  for (const n of [38, 1, 38, 1, 1]) {
    slab.alloc("anon_vma", n);
    const c = slab.slowPathCounters("anon_vma")!;
    seen.push([c.refills, c.newSlabs]);
  }
  assert.deepEqual(seen, [[0, 2], [1, 2], [1, 2], [2, 2], [2, 3]]);
});

Deno.test("memcg stock: frees give bytes back up to one page; the rest is uncharged", () => {
  // anon_vma (104 bytes, accounted). 40 allocs: refills at allocs 1 and 40, stock 8192 - 4160
  // = 4032. 40 frees: +104 each, taken modulo 4096 when above it (4136 -> 40), ending at
  // 40 + 39 × 104 = 4096. 40 allocs again: 39 fit in 4096 bytes, the 40th refills (3rd).
  const { slab } = slowSlab();
  slab.alloc("anon_vma", 40);
  assert.equal(slab.slowPathCounters("anon_vma")!.memcgStockRefills, 2);
  slab.free("anon_vma", 40);
  slab.alloc("anon_vma", 39);
  assert.equal(slab.slowPathCounters("anon_vma")!.memcgStockRefills, 2);
  slab.alloc("anon_vma", 1);
  assert.equal(slab.slowPathCounters("anon_vma")!.memcgStockRefills, 3);
});

Deno.test("GFP_NOWAIT alloc(n) failing part-way keeps the objects it got before it failed", () => {
  // Reclaim at every 2nd new slab: alloc(45, nowait) takes slab #1's 39 objects, then the 40th
  // needs slab #2 (reclaim): it fails, and the 39 already taken stay allocated and counted.
  const { slab } = slowSlab({ reclaimEveryNewSlabs: 2 });
  assert.equal(slab.alloc("anon_vma", 45, "nowait"), false);
  const s = slab.stats("anon_vma");
  assert.deepEqual([s.live, s.allocs, s.peak], [39, 39, 39]);
  assert.equal(slab.snapshot().totalBytes, 39 * 104);
  slab.free("anon_vma", 39);
  assert.equal(slab.snapshot().totalBytes, 0);
});

Deno.test("zero-size caches never take a slow path; a released retained object goes back", () => {
  // cow_remap_entry (0 bytes: a tagged word in a maple slot) allocates nothing from a slab.
  const z = slowSlab();
  z.slab.alloc("cow_remap_entry", 100);
  z.slab.free("cow_remap_entry", 100);
  assert.deepEqual(
    Object.values(z.slab.slowPathCounters("cow_remap_entry")!),
    new Array(9).fill(0),
  );
  assert.deepEqual(z.ex.counters.work, { slab_alloc: 100, slab_free: 100 });
  // vm_area_struct (21 per slab): 21 allocs fill slab #1. One is freed by its owner (1 on the
  // node) but retained by a reference; its release puts it back too (2 on the node). The next
  // alloc refills both, so the one after it is fast: still 1 new slab.
  const { slab } = slowSlab();
  slab.alloc("vm_area_struct", 21);
  slab.free("vm_area_struct");
  slab.retain("vm_area_struct");
  slab.releaseRetained("vm_area_struct");
  slab.alloc("vm_area_struct", 2);
  const c = slab.slowPathCounters("vm_area_struct")!;
  assert.deepEqual([c.refills, c.newSlabs], [1, 1]);
});

Deno.test("slab accounting: sizes, underflow, setLive and a group tracked after retains", () => {
  // A size set before the first allocation is what allocations charge; after it, refused.
  const s = new Slab();
  s.setSize("vm_area_struct", 200);
  s.alloc("vm_area_struct", 2);
  assert.equal(s.snapshot().totalBytes, 400);
  assert.equal(s.peakTotalBytes, 400);
  assert.throws(() => s.setSize("vm_area_struct", 192), /after its first allocation/);
  s.free("vm_area_struct", 2);
  assert.equal(s.snapshot().totalBytes, 0);
  // Freeing more than is live is refused (a double free), and changes nothing.
  s.alloc("anon_vma");
  assert.throws(() => s.free("anon_vma", 2), /Slab underflow in anon_vma: freeing 2 of 1/);
  s.free("anon_vma");
  assert.throws(() => s.free("anon_vma"), /Slab underflow/);
  assert.equal(s.live("anon_vma"), 0);
  // setLive moves to the exact count, up or down.
  s.setLive("maple_node", 3);
  s.setLive("maple_node", 5);
  assert.deepEqual([s.live("maple_node"), s.stats("maple_node").allocs], [5, 5]);
  s.setLive("maple_node", 1);
  assert.deepEqual([s.live("maple_node"), s.stats("maple_node").frees], [1, 4]);
  // A VMA retained before the group is tracked counts in it (memory the scheme adds).
  s.retain("vm_area_struct");
  s.trackGroup(["anon_vma"]);
  assert.deepEqual([s.groupBytes, s.groupPeakBytes], [200, 200]);
  s.releaseRetained("vm_area_struct");
  assert.deepEqual([s.groupBytes, s.groupPeakBytes], [0, 200]);
});
