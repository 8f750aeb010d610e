// Distinctive figures of the two classic variants: the 2026 clean-up (where allocations happen
// relative to the root lock) and the per-anon_vma lock (which lock a walk takes). Same objects as
// 6.18 in both; the lock figures differ, counted by the untimed CountingExec.

import { assertEquals } from "./assert.ts";
import { Kernel } from "../core/kernel/kernel.ts";
import { CountingExec } from "../core/machine/exec.ts";
import { AnonVmaScheme } from "../core/rmap/anon_vma.ts";
import { AnonVma2026Scheme } from "../core/rmap/anon_vma_2026.ts";
import { AnonVmaPerAvLockScheme } from "../core/rmap/anon_vma_per_av_lock.ts";
import type { RmapScheme } from "../core/rmap/scheme.ts";
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  type Mm,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
} from "../core/kernel/types.ts";

const P = PAGE_SIZE;
const X = 0x7f0000000000;
const RW = PROT_READ | PROT_WRITE;

interface Setup {
  k: Kernel;
  ex: CountingExec;
  chain: Mm;
}

/**
 *  P0 ──fork──► P1 ──fork──► P2        one faulted 10-page VMA at X in each
 *  P2's VMA has a chain of 3 AVCs (its leaf, P1's leaf, the root).
 */
function chainOfThree(scheme: RmapScheme): Setup {
  const ex = new CountingExec();
  const k = new Kernel({ scheme, exec: ex, params: { debugChecks: true } });
  const p0 = k.spawn();
  k.mmap(p0, X, 10 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
  for (let i = 0; i < 10; i++) k.touch(p0, X + i * P, "write");
  const p2 = k.fork(k.fork(p0));
  return { k, ex, chain: p2 };
}

function rootAllocsDuring(s: Setup, fn: () => void): { allocs: number; writes: number } {
  const c = s.ex.lockCounters("anon_vma.root");
  const a0 = c.workUnderLock.slab_alloc ?? 0, w0 = c.writeAcquisitions;
  fn();
  return { allocs: (c.workUnderLock.slab_alloc ?? 0) - a0, writes: c.writeAcquisitions - w0 };
}

Deno.test("6.18 allocates AVCs under the root lock; the 2026 clean-up allocates none", () => {
  //  P2:  0AAAA|BBBB10   mprotect(4..9): one split, the new VMA clones a chain of 3 AVCs
  const old = chainOfThree(new AnonVmaScheme());
  const neu = chainOfThree(new AnonVma2026Scheme());
  const split = (s: Setup): { allocs: number; writes: number } =>
    rootAllocsDuring(s, () => s.k.mprotect(s.chain, X + 4 * P, 6 * P, PROT_READ));
  // 6.18 anon_vma_clone: the first AVC is allocated before the root is locked, the other L−1
  // with GFP_NOWAIT under it. Write acquisitions: the clone, then the re-key of the old VMA.
  assertEquals(split(old), { allocs: 2, writes: 2 });
  assertEquals(split(neu), { allocs: 0, writes: 2 });
  assertEquals(old.k.slab.snapshot().objects, neu.k.slab.snapshot().objects);
});

Deno.test("2026 fork allocates up front and frees on reuse: one more alloc+free, same live", () => {
  //  chain with exits: P0 → P1 (P0 exits) → P2 (P1 exits) → P3 reuses P1's anon_vma
  const runChain = (scheme: RmapScheme): Kernel => {
    const k = new Kernel({ scheme, params: { debugChecks: true } });
    let p = k.spawn();
    k.mmap(p, X, 10 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
    for (let i = 0; i < 10; i++) k.touch(p, X + i * P, "write");
    for (let g = 0; g < 3; g++) {
      const c = k.fork(p);
      k.exit(p);
      p = c;
    }
    return k;
  };
  const a = runChain(new AnonVmaScheme()).slab;
  const b = runChain(new AnonVma2026Scheme()).slab;
  assertEquals(a.snapshot().objects, b.snapshot().objects);
  assertEquals(b.stats("anon_vma").allocs - a.stats("anon_vma").allocs, 1);
  assertEquals(b.stats("anon_vma_chain").allocs - a.stats("anon_vma_chain").allocs, 1);
});

/**
 *  P0: one faulted 10-page VMA at X ─fork─► P1;  P1 writes page 0 (CoW: an exclusive folio in
 *  P1's leaf anon_vma). Lock acquisitions are counted by `ex`.
 */
function forkedPair(scheme: RmapScheme): { k: Kernel; ex: CountingExec; p0: Mm; p1: Mm } {
  const ex = new CountingExec();
  const k = new Kernel({ scheme, exec: ex, params: { debugChecks: true } });
  const p0 = k.spawn();
  k.mmap(p0, X, 10 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
  for (let i = 0; i < 10; i++) k.touch(p0, X + i * P, "write");
  const p1 = k.fork(p0);
  k.touch(p1, X, "write");
  return { k, ex, p0, p1 };
}

Deno.test("per-anon_vma lock: exclusive folios of leaf anon_vmas are walked under their own lock", () => {
  //  P0 ─fork─► P1;  P1 writes page 0 (CoW: an exclusive folio in P1's leaf anon_vma)
  //  walk(P1's folio): own lock of the leaf;  walk(P0's page 1, shared): root lock
  const s = new AnonVmaPerAvLockScheme();
  const { k, ex, p0, p1 } = forkedPair(s);
  const own = ex.lockCounters("anon_vma.own");
  const root = ex.lockCounters("anon_vma.root");
  const own0 = own.readAcquisitions, root0 = root.readAcquisitions;
  k.folioReferenced(k.pte(p1, X)!.folio!);
  assertEquals([own.readAcquisitions - own0, root.readAcquisitions - root0], [1, 0]);
  k.folioReferenced(k.pte(p0, X + P)!.folio!);
  assertEquals([own.readAcquisitions - own0, root.readAcquisitions - root0], [1, 1]);
  // P0's own folios live in the root anon_vma: its own lock is the root lock.
  k.touch(p0, X + 2 * P, "write"); // reuse after CoW by nobody: mapcount 2 → copy
  k.folioReferenced(k.pte(p0, X + 2 * P)!.folio!);
  assertEquals(root.readAcquisitions - root0, 2);
  // Tree writers take the leaf's own lock too (P1's fork linked its VMA into its leaf).
  assertEquals(own.writeAcquisitions > 0, true);
});

Deno.test("6.18 walks every folio under the root rwsem, a leaf's exclusive folio too", () => {
  //  P0 ─fork─► P1;  P1 writes page 0 (CoW: an exclusive folio in P1's leaf anon_vma B)
  //  rmap_walk_anon: anon_vma_lock_read(folio_anon_vma(folio)) takes the root's rwsem
  //  (anon_vma_lock_read locks anon_vma->root->rwsem): one root read, no own-lock read.
  const { k, ex, p1 } = forkedPair(new AnonVmaScheme());
  const own = ex.lockCounters("anon_vma.own");
  const root = ex.lockCounters("anon_vma.root");
  const root0 = root.readAcquisitions;
  k.folioReferenced(k.pte(p1, X)!.folio!);
  assertEquals([own.readAcquisitions, root.readAcquisitions - root0], [0, 1]);
  assertEquals([own.writeAcquisitions, own.readAcquisitions], [0, 0]);
});

/**
 *  P0 ─fork─► P1 ─fork─► P2 ─fork─► P3      one faulted 10-page VMA at X; anon_vmas A (root),
 *  then P1 and P2 exit                       B (P1), C (P2), D (P3); P3's chain [D, C, B, A]
 *  P3 ─fork─► P4: two reuse candidates with num_active_vmas 0 and num_children 1: B and C.
 * Returns which anon_vma P4's VMA got ("A".."D") and the live objects.
 */
function reuseAfterExits(scheme: AnonVmaScheme): { got: string; av: number; avc: number } {
  const k = new Kernel({ scheme, params: { debugChecks: true } });
  const p0 = k.spawn();
  k.mmap(p0, X, 10 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
  for (let i = 0; i < 10; i++) k.touch(p0, X + i * P, "write");
  const p1 = k.fork(p0), p2 = k.fork(p1), p3 = k.fork(p2);
  const [d, c, b, a] = scheme.state([...p3.vmas][0]).chain.map((avc) => avc.anonVma);
  k.exit(p1);
  k.exit(p2);
  assertEquals([b, c].map((av) => [av.numActiveVmas, av.numChildren]), [[0, 1], [0, 1]]);
  const p4 = k.fork(p3);
  const got = scheme.anonVmaOf([...p4.vmas][0]);
  const names = new Map([[a, "A"], [b, "B"], [c, "C"], [d, "D"]]);
  assertEquals(got!.numActiveVmas, 1);
  return {
    got: names.get(got!) ?? "new",
    av: k.slab.live("anon_vma"),
    avc: k.slab.live("anon_vma_chain"),
  };
}

Deno.test("fork reuse order: 6.18 takes the oldest candidate, the 2026 code the newest", () => {
  // anon_vma_clone's reuse check: 6.18 walks src's chain in reverse (list_for_each_entry_reverse,
  // root first), the 2026 code as read (reference §3.2) newest first. Live objects are equal:
  // 4 anon_vmas (A–D); AVCs: P0 1 + P3 4 + P4 4 (a reusing child has no AVC of its own).
  assertEquals(reuseAfterExits(new AnonVmaScheme()), { got: "B", av: 4, avc: 9 });
  assertEquals(reuseAfterExits(new AnonVma2026Scheme()), { got: "C", av: 4, avc: 9 });
  // The order is an option of the 2026 scheme, which its constructor honours.
  const oldest = new AnonVma2026Scheme({ reuseOrder: "oldest-first" });
  assertEquals(
    [oldest.options.reuseOrder, oldest.options.allocUnderLock, oldest.options.forkPreallocates],
    ["oldest-first", false, true],
  );
  assertEquals(reuseAfterExits(oldest), { got: "B", av: 4, avc: 9 });
});

Deno.test("per-anon_vma lock: a leaf's folio that is no longer exclusive is walked under the root", () => {
  //  P0 ─fork─► P1;  P1 writes page 0: folio F in P1's leaf B, exclusive, mapcount 1
  //  P1 ─fork─► P2: fork clears PageAnonExclusive on F (mapcount 2); P2 exits: mapcount 1 again,
  //  but not exclusive, so another process may have mapped it: the walk takes the root lock.
  const s = new AnonVmaPerAvLockScheme();
  const { k, ex, p1 } = forkedPair(s);
  const f = k.pte(p1, X)!.folio!;
  const p2 = k.fork(p1);
  k.exit(p2);
  assertEquals([f.pageAnonExclusive(0), f.pageMapcount(0), s.folioAnonVma(f).isRoot], [
    false,
    1,
    false,
  ]);
  const own = ex.lockCounters("anon_vma.own");
  const root = ex.lockCounters("anon_vma.root");
  const own0 = own.readAcquisitions, root0 = root.readAcquisitions;
  const c0 = s.counters();
  k.folioReferenced(f);
  assertEquals([own.readAcquisitions - own0, root.readAcquisitions - root0], [0, 1]);
  const c1 = s.counters();
  const d = (name: string): number => (c1[name] ?? 0) - (c0[name] ?? 0);
  assertEquals([d("walks_own_lock"), d("walks_root_lock")], [0, 1]);
});

Deno.test("per-anon_vma lock: each insert into a leaf's tree takes its own lock for write", () => {
  //  P0 ─fork─► P1: anon_vma_fork links P1's AVC into its new leaf B (one own write); the clone
  //  links into the root A (root lock only). P1 exits: the AVC leaves B's tree (one more).
  const ex = new CountingExec();
  const k = new Kernel({
    scheme: new AnonVmaPerAvLockScheme(),
    exec: ex,
    params: { debugChecks: true },
  });
  const p0 = k.spawn();
  k.mmap(p0, X, 10 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
  k.touch(p0, X, "write");
  const own = ex.lockCounters("anon_vma.own");
  const p1 = k.fork(p0);
  assertEquals(own.writeAcquisitions, 1);
  k.exit(p1);
  assertEquals(own.writeAcquisitions, 2);
});
