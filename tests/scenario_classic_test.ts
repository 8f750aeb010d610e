// Scenario tests of the classic (Linux 6.18) anon_vma model, in the style of the kernel's
// tools/testing/vma: each test draws the address space, performs a few steps and asserts exact
// vm_start, vm_end, vm_pgoff, anon_vma identity, chain lengths, object counts and walk figures.
// The worked examples are E1–E6 of reference §12.5; their figures agree with the real kernel's
// slab counts measured by tools/calibrate (see tools/calibrate/host_results.md).

import { assertEquals, assertThrows } from "./assert.ts";
import { errnoOf } from "./errno.ts";
import { Kernel, type WalkResult } from "../core/kernel/kernel.ts";
import { AnonVmaScheme } from "../core/rmap/anon_vma.ts";
import { CountingExec, type Lock, type LockMode } from "../core/machine/exec.ts";
import {
  type Folio,
  MADV_DOFORK,
  MADV_DONTFORK,
  MADV_KEEPONFORK,
  MADV_WIPEONFORK,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  MAP_SHARED,
  type Mm,
  MREMAP_DONTUNMAP,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  MREMAP_RELOCATE_ANON,
  PAGE_SIZE,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
  SyscallError,
  VM_ACCOUNT,
  VM_DONTCOPY,
  VM_WIPEONFORK,
  type Vma,
} from "../core/kernel/types.ts";

const P = PAGE_SIZE;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
/** Base of every scenario: page 0 of the drawings. */
const X = 0x7f0000000000;
const pg = (n: number): number => X + n * P;
const xpg = X / P;

interface World {
  k: Kernel;
  s: AnonVmaScheme;
  walks: WalkResult[];
}

function world(): World {
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
  if (!f) throw new Error(`no folio at ${addr}`);
  return f;
}

/** The mm ids a full walk of `folio` visits, in order. */
function walkOrder(w: World, folio: Folio): number[] {
  const order: number[] = [];
  w.s.walk(folio, "migrate", false, (vma) => {
    order.push(vma.mm.id);
    return true;
  });
  return order;
}

Deno.test("E1: one faulted region has one anon_vma and one AVC", () => {
  //  0         100
  //  AAAAAAAAAA        one VMA, every page written
  const w = world();
  const { k, s } = w;
  const mm = k.spawn();
  k.mmap(mm, X, 100 * P, RW, ANON);
  writeAll(k, mm, X, 100);
  const [v] = vmas(mm);
  assertEquals([v.start, v.end, v.pgoff], [pg(0), pg(100), xpg]);
  const av = s.anonVmaOf(v)!;
  assertEquals([av.isRoot, av.numChildren, av.numActiveVmas, av.refcount], [true, 1, 1, 1]);
  assertEquals(objects(k), { vma: 1, av: 1, avc: 1 });
  assertEquals(k.liveAnonFolios.length, 100);
  const f = folioAt(k, mm, pg(37));
  assertEquals([s.folioAnonVma(f), f.index], [av, xpg + 37]);
  k.migrateFolio(f);
  assertEquals(w.walks.map((r) => [r.visits, r.hits]), [[1, 1], [1, 1]]);
  k.exit(mm);
  assertEquals(objects(k), { vma: 0, av: 0, avc: 0 });
});

Deno.test("E2: mprotect splits share the anon_vma and merge back", () => {
  //  0    40   60   100
  //  AAAA BBBB CCCC       mprotect(40-59, PROT_READ): 3 VMAs, 1 anon_vma, 3 AVCs
  //  AAAAAAAAAAAAAA       mprotect(40-59, RW): merged back
  const { k, s } = world();
  const mm = k.spawn();
  k.mmap(mm, X, 100 * P, RW, ANON);
  writeAll(k, mm, X, 100);
  const av = s.anonVmaOf(vmas(mm)[0]);
  k.mprotect(mm, pg(40), 20 * P, PROT_READ);
  const three = vmas(mm);
  assertEquals(three.map((v) => [v.start, v.end, v.pgoff]), [
    [pg(0), pg(40), xpg],
    [pg(40), pg(60), xpg + 40],
    [pg(60), pg(100), xpg + 60],
  ]);
  assertEquals(three.map((v) => s.anonVmaOf(v)), [av, av, av]);
  assertEquals(three.map((v) => s.state(v).chain.length), [1, 1, 1]);
  assertEquals(av!.numActiveVmas, 3);
  assertEquals(objects(k), { vma: 3, av: 1, avc: 3 });
  assertEquals(k.counters.splits, 2);
  k.mprotect(mm, pg(40), 20 * P, RW);
  const [v] = vmas(mm);
  assertEquals([v.start, v.end, v.pgoff], [pg(0), pg(100), xpg]);
  assertEquals([s.anonVmaOf(v), av!.numActiveVmas], [av, 1]);
  assertEquals(objects(k), { vma: 1, av: 1, avc: 1 });
});

Deno.test("E2 variant: unfaulted split parts reuse the neighbour's anon_vma, then merge", () => {
  //  0    40   60   100
  //  aaaa bbbb cccc       b differs only in VM_EXEC (an access bit) — nothing faulted yet
  //  Aaaa Abbb Accc       writes: a allocates A; b reuses A (find_mergeable_anon_vma, prev);
  //                       c reuses A (prev again): 1 anon_vma, 3 AVCs
  //  AAAAAAAAAAAAAA       mprotect(b, RW): three-way merge
  const { k, s } = world();
  const mm = k.spawn();
  k.mmap(mm, X, 100 * P, RW, ANON);
  k.mprotect(mm, pg(40), 20 * P, RW | PROT_EXEC);
  assertEquals(objects(k), { vma: 3, av: 0, avc: 0 });
  k.touch(mm, pg(0), "write");
  assertEquals(objects(k), { vma: 3, av: 1, avc: 1 });
  k.touch(mm, pg(45), "write");
  assertEquals(objects(k), { vma: 3, av: 1, avc: 2 });
  k.touch(mm, pg(99), "write");
  assertEquals(objects(k), { vma: 3, av: 1, avc: 3 });
  assertEquals(s.counters().anon_vma_reuse_neighbour, 2);
  const av = s.anonVmaOf(vmas(mm)[0]);
  assertEquals(vmas(mm).map((v) => s.anonVmaOf(v)), [av, av, av]);
  k.mprotect(mm, pg(40), 20 * P, RW);
  assertEquals(objects(k), { vma: 1, av: 1, avc: 1 });
});

Deno.test("E3: zygote fan-out — 1+N anon_vmas, 1+2N AVCs, root walks visit every child", () => {
  //  Z: 0AAAAAAAAA100     faulted, root A
  //  C1, C2, C3: forks of Z, same range, each with a leaf anon_vma (parent A)
  const N = 3;
  const w = world();
  const { k, s } = w;
  const z = k.spawn();
  k.mmap(z, X, 100 * P, RW, ANON);
  writeAll(k, z, X, 100);
  const a = s.anonVmaOf(vmas(z)[0])!;
  const kids = Array.from({ length: N }, () => k.fork(z));
  assertEquals(objects(k), { vma: 1 + N, av: 1 + N, avc: 1 + 2 * N });
  assertEquals([a.refcount, a.numChildren, a.numActiveVmas], [1 + N, 1 + N, 1]);
  for (const c of kids) {
    const cv = vmas(c)[0];
    const leaf = s.anonVmaOf(cv)!;
    assertEquals([leaf.parent, leaf.root, leaf.numChildren], [a, a, 0]);
    assertEquals(s.state(cv).chain.map((x) => x.anonVma), [leaf, a]); // newest first
    assertEquals(cv.pgoff, xpg);
  }
  const f = folioAt(k, z, pg(5));
  assertEquals([f.mapcount[0], f.anonExclusive[0]], [1 + N, false]);
  // Equal pgoffs: the tree visits the parent first, then children in fork order.
  assertEquals(walkOrder(w, f), [z.id, ...kids.map((c) => c.id)]);
  w.walks.length = 0;
  k.migrateFolio(f);
  assertEquals(w.walks.map((r) => [r.visits, r.hits, r.useless]), [[4, 4, 0], [4, 4, 0]]);

  // Every child writes every page: CoW copies go to the children's leaves.
  for (const c of kids) writeAll(k, c, X, 100);
  assertEquals(k.counters.faults_cow_copy, 300);
  const cf = folioAt(k, kids[1], pg(5));
  assertEquals(s.folioAnonVma(cf), s.anonVmaOf(vmas(kids[1])[0]));
  assertEquals(f.mapcount[0], 1);
  w.walks.length = 0;
  k.migrateFolio(f); // full walk: V = N+1, H = 1, useless N
  k.folioReferenced(f); // stops at mapcount: Z's AVC comes first
  k.migrateFolio(cf); // a child's private folio: its leaf's tree has only that child
  assertEquals(w.walks.map((r) => [r.kind, r.visits, r.hits, r.useless]), [
    ["migrate", 4, 1, 3],
    ["remove_migration", 4, 1, 3],
    ["referenced", 1, 1, 0],
    ["migrate", 1, 1, 0],
    ["remove_migration", 1, 1, 0],
  ]);
  // Z writes: its folio is reused and moved to A (unchanged): still 4 visits.
  k.touch(z, pg(5), "write");
  assertEquals(k.counters.faults_wp_reuse_move, 1);
  assertEquals(s.folioAnonVma(f), a);
  w.walks.length = 0;
  k.migrateFolio(f);
  assertEquals(w.walks[0].visits, 4);
  for (const c of kids) k.exit(c);
  assertEquals([a.refcount, a.numChildren], [1, 1]);
  k.exit(z);
  assertEquals(objects(k), { vma: 0, av: 0, avc: 0 });
});

Deno.test("E4: fork chain whose generations exit — the reuse rule bounds the chain at 3", () => {
  //  P0 -> P1 -> P2 -> ...; each Pk forks Pk+1 and then exits.
  //  live anon_vmas / AVCs after generation k exits: 1/1, 2/2, 3/3, then 3/3 for ever
  //  (measured on Linux 6.18: tools/calibrate/host_results.md, chain-exit).
  const { k, s } = world();
  let p = k.spawn();
  k.mmap(p, X, 10 * P, RW, ANON);
  writeAll(k, p, X, 10);
  const seen: [number, number, number][] = [[0, 1, 1]];
  for (let g = 1; g <= 6; g++) {
    const c = k.fork(p);
    k.exit(p);
    p = c;
    seen.push([g, objects(k).av, objects(k).avc]);
    assertEquals(s.state(vmas(p)[0]).chain.length, Math.min(g + 1, 3));
  }
  assertEquals(seen, [[0, 1, 1], [1, 2, 2], [2, 3, 3], [3, 3, 3], [4, 3, 3], [5, 3, 3], [6, 3, 3]]);
  assertEquals(s.counters().anon_vma_reuse_fork, 4);
  // The live chain (no exits) grows: generation k has k+1 AVCs.
  const { k: k2, s: s2 } = world();
  let q = k2.spawn();
  k2.mmap(q, X, 10 * P, RW, ANON);
  writeAll(k2, q, X, 10);
  for (let g = 1; g <= 4; g++) q = k2.fork(q);
  assertEquals(s2.state(vmas(q)[0]).chain.length, 5);
  assertEquals(objects(k2), { vma: 5, av: 5, avc: 15 });
});

Deno.test("E5: a moved faulted region keeps its pgoff and blocks the merge", () => {
  //  X: R1 (10 pages, written)  --mremap-->  Y: R1'   then R2 mapped at Y+10
  //  Y  R1' pgoff = X>>12 | R2 pgoff = (Y>>12)+10  →  no merge: 2 VMAs, 2 anon_vmas, 2 AVCs
  const Y = X + 0x1000000;
  const ypg = Y / P;
  const { k, s } = world();
  const mm = k.spawn();
  k.mmap(mm, X, 10 * P, RW, ANON);
  writeAll(k, mm, X, 10);
  const a = s.anonVmaOf(vmas(mm)[0]);
  assertEquals(k.mremap(mm, X, 10 * P, 10 * P, MREMAP_MAYMOVE | MREMAP_FIXED, Y), Y);
  const [moved] = vmas(mm);
  assertEquals([moved.start, moved.pgoff, s.anonVmaOf(moved)], [Y, xpg, a]);
  assertEquals(folioAt(k, mm, Y + 3 * P).index, xpg + 3); // folios untouched
  k.mmap(mm, Y + 10 * P, 10 * P, RW, ANON);
  k.touch(mm, Y + 10 * P, "write");
  assertEquals(vmas(mm).map((v) => [v.start, v.end, v.pgoff]), [
    [Y, Y + 10 * P, xpg],
    [Y + 10 * P, Y + 20 * P, ypg + 10],
  ]);
  assertEquals(objects(k), { vma: 2, av: 2, avc: 2 });
  assertEquals((k.counters.merge_failed_pgoff ?? 0) >= 1, true);

  // (i) The same move before any fault resets pgoff, so R2 merges: 1 VMA.
  {
    const { k, s } = world();
    const mm = k.spawn();
    k.mmap(mm, X, 10 * P, RW, ANON);
    k.mremap(mm, X, 10 * P, 10 * P, MREMAP_MAYMOVE | MREMAP_FIXED, Y);
    assertEquals(vmas(mm)[0].pgoff, ypg);
    k.mmap(mm, Y + 10 * P, 10 * P, RW, ANON);
    writeAll(k, mm, Y, 20);
    assertEquals(vmas(mm).map((v) => [v.start, v.end, v.pgoff]), [[Y, Y + 20 * P, ypg]]);
    assertEquals(objects(k), { vma: 1, av: 1, avc: 1 });
    assertEquals(s.live.size, 1);
  }
  // (ii) MREMAP_RELOCATE_ANON: fresh anon_vma A' at Y>>12, folios re-indexed, A freed, R2 merges.
  {
    const { k, s } = world();
    const mm = k.spawn();
    k.mmap(mm, X, 10 * P, RW, ANON);
    writeAll(k, mm, X, 10);
    const a = s.anonVmaOf(vmas(mm)[0])!;
    k.mremap(mm, X, 10 * P, 10 * P, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_RELOCATE_ANON, Y);
    const [r1] = vmas(mm);
    const a2 = s.anonVmaOf(r1)!;
    assertEquals([r1.pgoff, a2 === a, a.freed], [ypg, false, true]);
    const f = folioAt(k, mm, Y + 4 * P);
    assertEquals([f.index, s.folioAnonVma(f)], [ypg + 4, a2]);
    k.mmap(mm, Y + 10 * P, 10 * P, RW, ANON);
    writeAll(k, mm, Y + 10 * P, 10);
    assertEquals(vmas(mm).map((v) => [v.start, v.end, v.pgoff]), [[Y, Y + 20 * P, ypg]]);
    assertEquals(objects(k), { vma: 1, av: 1, avc: 1 });
    assertEquals(k.counters.mremap_relocated, 1);
  }
  // (iii) Moving R1 back to X restores contiguity with a neighbour mapped at X+10.
  {
    const { k } = world();
    const mm = k.spawn();
    k.mmap(mm, X, 10 * P, RW, ANON);
    writeAll(k, mm, X, 10);
    k.mremap(mm, X, 10 * P, 10 * P, MREMAP_MAYMOVE | MREMAP_FIXED, Y);
    k.mmap(mm, X + 10 * P, 10 * P, RW, ANON);
    k.mremap(mm, Y, 10 * P, 10 * P, MREMAP_MAYMOVE | MREMAP_FIXED, X);
    assertEquals(vmas(mm).map((v) => [v.start, v.end, v.pgoff]), [[X, X + 20 * P, xpg]]);
    assertEquals(objects(k), { vma: 1, av: 1, avc: 1 });
  }
});

Deno.test("E6: MREMAP_DONTUNMAP leaves the source unfaulted; a refault allocates anew", () => {
  //  T: H (10 pages, written)  --mremap DONTUNMAP-->  F: H' (A, old pgoff)
  //  T: H stays, unlinked (no anon_vma); a write at T allocates a new anon_vma B
  const T = X, F = X + 0x1000000;
  const { k, s } = world();
  const mm = k.spawn();
  k.mmap(mm, T, 10 * P, RW, ANON);
  writeAll(k, mm, T, 10);
  const a = s.anonVmaOf(vmas(mm)[0]);
  k.mremap(mm, T, 10 * P, 10 * P, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, F);
  const [h, moved] = vmas(mm);
  assertEquals([h.start, h.pgoff, s.anonVmaOf(h), s.state(h).chain.length], [T, xpg, null, 0]);
  assertEquals([moved.start, moved.pgoff, s.anonVmaOf(moved)], [F, xpg, a]);
  assertEquals(k.pte(mm, T), undefined);
  assertEquals(objects(k), { vma: 2, av: 1, avc: 1 });
  k.touch(mm, T, "write");
  assertEquals(objects(k), { vma: 2, av: 2, avc: 2 });
  assertEquals(s.anonVmaOf(h) === a, false);
  // dontunmap_complete keeps VM_ACCOUNT on the source (6.18's stable fix clears VM_LOCKED_MASK
  // only), so a new mapping right after H, with VM_ACCOUNT, merges into it (verify's
  // mremap-dontunmap-keeps-account; a clear of VM_ACCOUNT would keep them apart).
  assertEquals([h.flags & VM_ACCOUNT, moved.flags & VM_ACCOUNT], [VM_ACCOUNT, VM_ACCOUNT]);
  k.mmap(mm, T + 10 * P, P, RW, ANON);
  assertEquals(vmas(mm).map((v) => (v.start - T) / P), [0, (F - T) / P]);
  assertEquals(vmas(mm)[0].end, T + 11 * P);
  // DONTUNMAP keeps the length: a resize is EINVAL even with MAYMOVE.
  assertThrows(
    () => k.mremap(mm, F, 10 * P, 20 * P, MREMAP_MAYMOVE | MREMAP_DONTUNMAP),
    SyscallError,
    "EINVAL",
  );
});

Deno.test("fork copies PTEs only for VMAs with an anon_vma; DONTFORK and WIPEONFORK", () => {
  //  0   10  20  30
  //  AAA bbb CCC       A written, b untouched, C written then MADV_DONTFORK
  const { k, s } = world();
  const mm = k.spawn();
  k.mmap(mm, pg(0), 10 * P, RW, ANON);
  k.mmap(mm, pg(11), 10 * P, PROT_READ, ANON);
  k.mmap(mm, pg(22), 10 * P, RW, ANON);
  writeAll(k, mm, pg(0), 10);
  k.touch(mm, pg(11), "read"); // zero page: no anon_vma
  writeAll(k, mm, pg(22), 10);
  k.madvise(mm, pg(22), 10 * P, 10 /* MADV_DONTFORK */);
  const c = k.fork(mm);
  assertEquals(vmas(c).map((v) => v.start), [pg(0), pg(11)]);
  assertEquals(s.anonVmaOf(vmas(c)[1]), null);
  assertEquals(k.pte(c, pg(11)), undefined); // not copied: no anon_vma in the parent VMA
  assertEquals(k.pte(c, pg(3))?.folio, k.pte(mm, pg(3))?.folio);
  k.madvise(mm, pg(0), 10 * P, 18 /* MADV_WIPEONFORK */);
  const c2 = k.fork(mm);
  assertEquals([s.anonVmaOf(vmas(c2)[0]), k.pte(c2, pg(3))], [null, undefined]);
});

Deno.test("MADV_DOFORK and MADV_KEEPONFORK undo their flags; WIPEONFORK needs private anon", () => {
  //  0    5    10 11   16   21
  //  AAAA aaaa    BBBB bbbb       all written; hole at 10 keeps A and B apart
  //  A: DONTFORK on [0,10), then DOFORK on [0,5)  -> A [0,5) forks, a [5,10) DONTCOPY
  //  B: WIPEONFORK on [11,21), KEEPONFORK [16,21) -> B [11,16) WIPEONFORK, b [16,21) plain
  const { k, s } = world();
  const mm = k.spawn();
  k.mmap(mm, pg(0), 10 * P, RW, ANON);
  k.mmap(mm, pg(11), 10 * P, RW, ANON);
  writeAll(k, mm, pg(0), 10);
  writeAll(k, mm, pg(11), 10);
  k.madvise(mm, pg(0), 10 * P, MADV_DONTFORK);
  k.madvise(mm, pg(0), 5 * P, MADV_DOFORK);
  k.madvise(mm, pg(11), 10 * P, MADV_WIPEONFORK);
  k.madvise(mm, pg(16), 5 * P, MADV_KEEPONFORK);
  const onFork = (v: Vma): number => v.flags & (VM_DONTCOPY | VM_WIPEONFORK);
  assertEquals(
    vmas(mm).map((v) => [(v.start - X) / P, (v.end - X) / P, v.pgoff - xpg, onFork(v)]),
    [
      [0, 5, 0, 0],
      [5, 10, 5, VM_DONTCOPY],
      [11, 16, 11, VM_WIPEONFORK],
      [16, 21, 16, 0],
    ],
  );
  const c = k.fork(mm);
  // a is not copied; B is copied empty (no anon_vma, no PTEs); A and b share the parent's pages.
  assertEquals(vmas(c).map((v) => [(v.start - X) / P, (v.end - X) / P, onFork(v)]), [
    [0, 5, 0],
    [11, 16, VM_WIPEONFORK],
    [16, 21, 0],
  ]);
  const [ca, cb, cbb] = vmas(c);
  assertEquals([s.anonVmaOf(ca) !== null, s.anonVmaOf(cb), s.anonVmaOf(cbb) !== null], [
    true,
    null,
    true,
  ]);
  assertEquals(k.pte(c, pg(4))?.folio, k.pte(mm, pg(4))?.folio);
  assertEquals([k.pte(c, pg(12)), k.pte(c, pg(15))], [undefined, undefined]);
  assertEquals(k.pte(c, pg(20))?.folio, k.pte(mm, pg(20))?.folio);
  // WIPEONFORK on a private file mapping or on shared anonymous memory: EINVAL, nothing changed.
  const f = k.createFile("lib", 10);
  k.mmap(mm, pg(30), 10 * P, PROT_READ, MAP_PRIVATE | MAP_FIXED, f);
  k.mmap(mm, pg(41), 10 * P, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED);
  for (const at of [pg(30), pg(41)]) {
    assertThrows(() => k.madvise(mm, at, 10 * P, MADV_WIPEONFORK), SyscallError, "EINVAL");
    assertEquals(onFork(mm.vmas.find(at)!), 0);
  }
  assertEquals(mm.mapCount, 6);
});

Deno.test("fork's child tree, filled at once, answers as one built by inserts", () => {
  //  0   10  20  30  40
  //  AAA bbb CCC ddd EEE     b MADV_DONTFORK: the child has A C E, a hole where b was
  //  the child then maps F into that hole (bottom-up search from A's end) and unmaps C
  const { k } = world();
  const mm = k.spawn();
  for (const p of [0, 11, 22, 33, 44]) k.mmap(mm, pg(p), 10 * P, RW, ANON);
  k.madvise(mm, pg(11), 10 * P, 10 /* MADV_DONTFORK */);
  k.madvise(mm, pg(33), 10 * P, 10 /* MADV_DONTFORK */);
  const c = k.fork(mm);
  const [a, cc, e] = vmas(c);
  assertEquals(vmas(c).map((v) => [v.start, v.end]), [[pg(0), pg(10)], [pg(22), pg(32)], [
    pg(44),
    pg(54),
  ]]);
  assertEquals([c.vmas.prevOf(cc), c.vmas.nextOf(cc), c.vmas.prevOf(a)], [a, e, undefined]);
  assertEquals([c.vmas.find(pg(25)), c.vmas.find(pg(15)), c.vmas.find(pg(43))], [
    cc,
    undefined,
    undefined,
  ]);
  // The largest hole below E is [32, 44): 12 pages; b's [10, 22) is 12 too, and lower.
  assertEquals(c.vmas.gapBottomUp(12 * P, pg(0), pg(60)), pg(10));
  assertEquals(c.vmas.gapBottomUp(13 * P, pg(0), pg(60)), undefined);
  assertEquals(c.vmas.gapBottomUp(13 * P, pg(0), pg(70)), pg(54));
  k.mmap(c, pg(12), 8 * P, RW, ANON);
  k.munmap(c, pg(22), 10 * P);
  assertEquals(vmas(c).map((v) => (v.start - X) / P), [0, 12, 44]);
  assertEquals(c.vmas.gapBottomUp(24 * P, pg(0), pg(60)), pg(20));
  assertEquals(objects(k).vma, 5 + 3);
});

Deno.test("errors follow Linux errnos and leave the state unchanged (mprotect over a hole aside)", () => {
  const { k } = world();
  const mm = k.spawn();
  k.mmap(mm, X, 10 * P, RW, ANON);
  const before = JSON.stringify(vmas(mm).map((v) => [v.start, v.end, v.flags]));
  assertEquals(errnoOf(() => k.mprotect(mm, X + 1, P, PROT_READ)), "EINVAL");
  // A range that starts in a hole:
  assertEquals(errnoOf(() => k.mprotect(mm, X - P, 2 * P, PROT_READ)), "ENOMEM");
  assertEquals(errnoOf(() => k.touch(mm, X + 50 * P, "read")), "EFAULT");
  // A grow (vrm_will_map_new) checks the range against the VMA: EFAULT past its end. The same
  // size in place is not checked (tests/scenario_mremap_checks_test.ts).
  assertEquals(errnoOf(() => k.mremap(mm, X, 20 * P, 30 * P, MREMAP_MAYMOVE)), "EFAULT");
  assertEquals(errnoOf(() => k.mremap(mm, X, P, 2 * P, MREMAP_DONTUNMAP)), "EINVAL");
  // A FIXED destination overlapping the source, from above or from below: EINVAL.
  const fixed = MREMAP_MAYMOVE | MREMAP_FIXED;
  assertEquals(errnoOf(() => k.mremap(mm, X, 10 * P, 10 * P, fixed, X + 5 * P)), "EINVAL");
  assertEquals(errnoOf(() => k.mremap(mm, X, 10 * P, 10 * P, fixed, X - 5 * P)), "EINVAL");
  assertEquals(errnoOf(() => k.munmap(mm, X, 0)), "EINVAL");
  assertEquals(JSON.stringify(vmas(mm).map((v) => [v.start, v.end, v.flags])), before);
  // A hole after the VMA: do_mprotect_pkey changes the VMA, then fails (Linux 6.18 does so).
  assertEquals(errnoOf(() => k.mprotect(mm, X, 20 * P, PROT_READ)), "ENOMEM");
  assertEquals(errnoOf(() => k.touch(mm, X, "write")), "EFAULT");
});

Deno.test("max_map_count: a split beyond the limit fails with ENOMEM", () => {
  const s = new AnonVmaScheme();
  const k = new Kernel({ scheme: s, params: { debugChecks: true, maxMapCount: 3 } });
  const mm = k.spawn();
  k.mmap(mm, X, 10 * P, RW, ANON);
  k.mmap(mm, pg(20), 10 * P, RW, ANON);
  k.mmap(mm, pg(40), 10 * P, RW, ANON);
  assertThrows(() => k.mprotect(mm, pg(2), P, PROT_READ), SyscallError, "ENOMEM");
  assertThrows(() => k.munmap(mm, pg(2), P), SyscallError, "ENOMEM");
  assertEquals(mm.mapCount, 3);
  k.munmap(mm, pg(0), P); // trimming an end needs no extra VMA
  assertEquals(vmas(mm)[0].start, pg(1));
});

Deno.test("a fork child's faulted VMA does not merge with an unfaulted neighbour", () => {
  //  child:  0AAAA10 bbbb20   A inherited (chain of 2), b new and unfaulted: no merge
  const { k } = world();
  const p = k.spawn();
  k.mmap(p, X, 10 * P, RW, ANON);
  writeAll(k, p, X, 10);
  const c = k.fork(p);
  k.mmap(c, pg(10), 10 * P, RW, ANON);
  assertEquals(vmas(c).length, 2);
  assertEquals(k.counters.merge_failed_fork_child, 1);
  k.mmap(p, pg(10), 10 * P, RW, ANON); // the parent's own VMA (singular chain) extends
  assertEquals(vmas(p).map((v) => [v.start, v.end]), [[X, pg(20)]]);
});

Deno.test("LRU: each new anon folio joins the young end; a scan rotates the oldest", () => {
  //  P writes pages 2, 0, 1 (folios A, B, C in fault order): LRU old→young A B C.
  //  lruScan(2) takes A, B and puts them back young: C A B. A freed folio leaves it.
  const { k } = world();
  const p = k.spawn();
  k.mmap(p, X, 3 * P, RW, ANON);
  for (const i of [2, 0, 1]) k.touch(p, pg(i), "write");
  const [a, b, c] = [2, 0, 1].map((i) => folioAt(k, p, pg(i)));
  assertEquals(k.lruScan(2), [a, b]);
  assertEquals(k.lruScan(5), [c, a, b]);
  k.munmap(p, pg(0), P); // frees B
  assertEquals(k.lruScan(5), [c, a]);
});

Deno.test("swap: a folio shared through the swap cache is copied, not reused, on a write", () => {
  //  P writes page 0, forks C; reclaim swaps the page out of both (one slot, count 2).
  //  C write-faults: swap-in (not exclusive: the slot has another user) then CoW copy — the
  //  swap cache still holds the folio for P (folio_free_swap fails), so no reuse.
  //  P then maps the cached folio: every walk must still find P.
  const w = world();
  const { k, s } = w;
  const p = k.spawn();
  k.mmap(p, X, P, RW, ANON);
  k.touch(p, X, "write");
  const c = k.fork(p);
  const f = folioAt(k, p, X);
  assertEquals(k.tryToUnmap(f), true);
  k.touch(c, X, "write");
  assertEquals([k.counters.faults_swapin, k.counters.faults_cow_copy], [1, 1]);
  k.touch(p, X, "read");
  assertEquals(k.counters.faults_swapin_cached, 1);
  const shared = folioAt(k, p, X);
  assertEquals(s.folioAnonVma(shared), s.anonVmaOf(vmas(p)[0])!.root);
  k.migrateFolio(shared); // throws OracleMismatchError if P's mapping is missed
  k.exit(c);
  k.exit(p);
  assertEquals(objects(k), { vma: 0, av: 0, avc: 0 });
});

Deno.test("swap: the last swap entry's release frees the folio the swap cache held", () => {
  //  P writes page 0, forks C; reclaim swaps the page out of both (one slot S, count 2). C
  //  write-faults: swap-in of a folio F into the swap cache, then a CoW copy G for C, so C's
  //  entry is gone (S count 1) and F is mapped by no PTE but held for P's entry. P unmaps:
  //  swap_free drops S to 0, the swap cache lets F go, and it is freed (the folios: G alone).
  const { k } = world();
  const p = k.spawn();
  k.mmap(p, X, P, RW, ANON);
  k.touch(p, X, "write");
  const c = k.fork(p);
  assertEquals(k.tryToUnmap(folioAt(k, p, X)), true);
  const freedAtReclaim = k.counters.folios_freed;
  k.touch(c, X, "write");
  const slot = k.pte(p, X)!.swap!;
  const f = slot.cached!;
  const g = folioAt(k, c, X);
  assertEquals([slot.count, f.mapped(), f.freed, g === f], [1, false, false, false]);
  assertEquals(k.liveAnonFolios.length, 2);
  k.munmap(p, X, P);
  assertEquals([slot.count, slot.cached, f.freed], [0, null, true]);
  assertEquals([k.liveAnonFolios, k.counters.folios_freed - freedAtReclaim], [[g], 1]);
});

Deno.test("swap: an exclusive page swapped in to a read-only VMA is mapped read-only", () => {
  //  P writes page 0, mprotects it read-only, and reclaim swaps it out (slot count 1). A read
  //  brings it back exclusive (the slot's only user), but VM_WRITE is clear: not writable.
  const { k } = world();
  const p = k.spawn();
  k.mmap(p, X, P, RW, ANON);
  k.touch(p, X, "write");
  k.mprotect(p, X, P, PROT_READ);
  assertEquals(k.tryToUnmap(folioAt(k, p, X)), true);
  k.touch(p, X, "read");
  const f = folioAt(k, p, X);
  assertEquals([k.counters.faults_swapin, f.pageAnonExclusive(0)], [1, true]);
  assertEquals(k.pte(p, X)!.writable, false);
});

Deno.test("a child that unmaps and maps new memory at the same address leaves the tree", () => {
  //  P:  0AAAAAAAAAA10   written; C1, C2 forked (A's tree: P, C1, C2)
  //  C1: munmap + mmap at the same address + write: C1's old AVCs leave A's tree, the new
  //      VMA gets a fresh root anon_vma — so walks of P's shared folio make no useless visit
  //      (cow_context keeps visiting C1's context here; see tests/scheme_cow_context_test.ts).
  const w = world();
  const { k, s } = w;
  const p = k.spawn();
  k.mmap(p, X, 10 * P, RW, ANON);
  writeAll(k, p, X, 10);
  const c1 = k.fork(p);
  const c2 = k.fork(p);
  const f = folioAt(k, p, X);
  k.munmap(c1, X, 10 * P);
  k.mmap(c1, X, 10 * P, RW, ANON);
  writeAll(k, c1, X, 10);
  assertEquals(s.anonVmaOf(vmas(c1)[0])!.isRoot, true);
  assertEquals(walkOrder(w, f), [p.id, c2.id]);
  w.walks.length = 0;
  k.migrateFolio(f);
  assertEquals([w.walks[0].visits, w.walks[0].hits, w.walks[0].useless], [2, 2, 0]);
  assertEquals(objects(k), { vma: 3, av: 1 + 1 + 1, avc: 1 + 2 + 1 });
});

Deno.test("PROT_NONE makes present pages inaccessible; restoring access needs no new fault", () => {
  const { k } = world();
  const mm = k.spawn();
  k.mmap(mm, X, 4 * P, RW, ANON);
  writeAll(k, mm, X, 4);
  k.mprotect(mm, X, 4 * P, 0);
  assertThrows(() => k.touch(mm, X, "read"), SyscallError, "EFAULT");
  k.mprotect(mm, X, 4 * P, PROT_READ);
  const faults = k.counters.faults_anon_new;
  k.touch(mm, X, "read");
  assertEquals([k.counters.faults_anon_new, k.pte(mm, X)?.protNone], [faults, false]);
});

Deno.test("rmap walk: a PTE page 2^32 pages (16 TiB) away is another page table", () => {
  //  A = 0x6f0000200000, B = A + 16 TiB (same low 32 bits of the page number)
  //  P:  A written         B mapped, not written
  //  C = fork(P), then in C: MADV_DONTNEED on A (its PTE page empties), write B
  //  A walk of A's folio visits P's VMA (PTE page present: pt_level 4, one pte_check) and C's
  //  VMA (no PTE page at A: pt_level 3, no pte_check). Keying PTE pages with `vpn >> 9` cut the
  //  page number to 32 bits and found B's page for A in C (4 + 4 levels, two pte_checks).
  const w = world();
  const { k } = w;
  const A = 0x6f0000200000, B = A + 2 ** 44;
  const p = k.spawn();
  k.mmap(p, A, P, RW, ANON);
  k.mmap(p, B, P, RW, ANON);
  k.touch(p, A, "write");
  const c = k.fork(p);
  k.madvise(c, A, P, 4 /* MADV_DONTNEED */);
  k.touch(c, B, "write");
  assertEquals([k.pte(c, A), k.pte(c, B)?.kind], [undefined, "present"]);
  const f = folioAt(k, p, A);
  const work = (): [number, number] => {
    const wk = (k.exec as CountingExec).counters.work;
    return [wk.pt_level ?? 0, wk.pte_check ?? 0];
  };
  const [l0, c0] = work();
  k.migrateFolio(f);
  const [l1, c1] = work();
  // Migration walks twice (try_to_migrate, then remove_migration_ptes), each visiting both VMAs.
  assertEquals(w.walks.slice(-2).map((r) => r.visits), [2, 2]);
  assertEquals([l1 - l0, c1 - c0], [2 * (4 + 3), 2 * 1]);
  k.exit(c);
  k.exit(p);
});

Deno.test("rmap_walk_anon queries [index, index + nr - 1]: the next split part is not visited", () => {
  //  0    40   60   100
  //  AAAA BBBB CCCC       mprotect(40-59, PROT_READ): 3 VMAs in one anon_vma A, 3 AVCs in its
  //                       tree keyed [0,39] [40,59] [60,99] (+ X>>12)
  //  The folio of page 39 overlaps only the first AVC: rmap_walk_anon's
  //  anon_vma_interval_tree_foreach(pgoff_start = 39, pgoff_end = 39 + nr - 1) offers one VMA;
  //  page 40's folio only the second. The walk charges one tree_visit per tree node it examined.
  const w = world();
  const { k, s } = w;
  const mm = k.spawn();
  k.mmap(mm, X, 100 * P, RW, ANON);
  writeAll(k, mm, X, 100);
  k.mprotect(mm, pg(40), 20 * P, PROT_READ);
  assertEquals(objects(k), { vma: 3, av: 1, avc: 3 });
  const visits = (addr: number): number[] => {
    const order: number[] = [];
    s.walk(folioAt(k, mm, addr), "migrate", false, (v) => {
      order.push((v.start - X) / P);
      return true;
    });
    return order;
  };
  assertEquals([visits(pg(39)), visits(pg(40)), visits(pg(59)), visits(pg(60))], [
    [0],
    [40],
    [40],
    [60],
  ]);
  const wk = (): number => (k.exec as CountingExec).counters.work.tree_visit ?? 0;
  w.walks.length = 0;
  const t0 = wk();
  k.migrateFolio(folioAt(k, mm, pg(39)));
  assertEquals(w.walks.map((r) => [r.visits, r.hits, r.useless, r.structures]), [
    [1, 1, 0, 1],
    [1, 1, 0, 1],
  ]);
  // A's tree of three AVCs has [40,59] at its root: the query for [39,39] examines the root
  // and its left child [0,39], and prunes the right subtree (its start 60 > 39): 2 nodes a walk.
  assertEquals(w.walks.map((r) => r.treeNodes), [2, 2]);
  assertEquals(wk() - t0, 2 + 2);
});

Deno.test("find_mergeable_anon_vma tries the next VMA: a fault before a faulted neighbour reuses its anon_vma", () => {
  //  0    10   20
  //  aaaa BBBB       a has VM_EXEC (no merge, but anon_vma_compatible: access bits only)
  //                  B written first: allocates B. a written next: prev is none, next is b with
  //                  a singular chain (reusable_anon_vma), so a shares B: 1 anon_vma, 2 AVCs.
  const { k, s } = world();
  const mm = k.spawn();
  k.mmap(mm, X, 20 * P, RW, ANON);
  k.mprotect(mm, X, 10 * P, RW | PROT_EXEC);
  k.touch(mm, pg(10), "write");
  assertEquals(objects(k), { vma: 2, av: 1, avc: 1 });
  k.touch(mm, pg(0), "write");
  const [a, b] = vmas(mm);
  assertEquals(objects(k), { vma: 2, av: 1, avc: 2 });
  assertEquals(s.anonVmaOf(a), s.anonVmaOf(b));
  assertEquals([s.anonVmaOf(b)!.numActiveVmas, s.counters().anon_vma_reuse_neighbour], [2, 1]);
});

Deno.test("reusable_anon_vma needs a singular chain: a fork child's neighbour gets its own anon_vma", () => {
  //  parent: 0AAAA10            written, root A
  //  child:  0AAAA10 bbbb20     A inherited (chain [B, A]: 2 AVCs); b new, not merged
  //  b written: find_mergeable_anon_vma looks at prev A, whose anon_vma_chain is not singular
  //  (list_is_singular fails), so __anon_vma_prepare allocates a new root C for b.
  const { k, s } = world();
  const p = k.spawn();
  k.mmap(p, X, 10 * P, RW, ANON);
  writeAll(k, p, X, 10);
  const c = k.fork(p);
  k.mmap(c, pg(10), 10 * P, RW, ANON);
  k.touch(c, pg(10), "write");
  const [ca, cb] = vmas(c);
  assertEquals(objects(k), { vma: 3, av: 3, avc: 1 + 2 + 1 });
  assertEquals([s.anonVmaOf(cb)!.isRoot, s.anonVmaOf(cb) === s.anonVmaOf(ca)], [true, false]);
  assertEquals(s.counters().anon_vma_reuse_neighbour, undefined);
});

Deno.test("anon_vma_compatible: a VM_DONTCOPY neighbour's anon_vma is not shared", () => {
  //  0    10   20
  //  aaaa bbbb       MADV_DONTFORK(10..19): b has VM_DONTCOPY, a does not (split, no merge)
  //  b written first: no neighbour with an anon_vma, new root B. a written next: next is b with
  //  a singular chain, but (a ^ b) & ~(VM_ACCESS_FLAGS | VM_SOFTDIRTY) = VM_DONTCOPY, so
  //  anon_vma_compatible fails; no prev: a new root A. 2 anon_vmas, 2 AVCs, no reuse.
  const { k, s } = world();
  const mm = k.spawn();
  k.mmap(mm, X, 20 * P, RW, ANON);
  k.madvise(mm, pg(10), 10 * P, MADV_DONTFORK);
  k.touch(mm, pg(10), "write");
  k.touch(mm, pg(0), "write");
  const [a, b] = vmas(mm);
  assertEquals([a.start, a.end, a.pgoff, b.start, b.end, b.pgoff], [
    pg(0),
    pg(10),
    xpg,
    pg(10),
    pg(20),
    xpg + 10,
  ]);
  assertEquals(objects(k), { vma: 2, av: 2, avc: 2 });
  const [A, B] = [s.anonVmaOf(a)!, s.anonVmaOf(b)!];
  assertEquals([A === B, A.isRoot, B.isRoot], [false, true, true]);
  assertEquals([A.numActiveVmas, A.numChildren, B.numActiveVmas, B.numChildren], [1, 1, 1, 1]);
  assertEquals(s.counters().anon_vma_reuse_neighbour, undefined);
});

Deno.test("find_mergeable_anon_vma tries next before prev: a VMA between two takes next's", () => {
  //  0    10   20   30
  //  AAAA bbbb CCCC      b has VM_EXEC (three VMAs; anon_vma_compatible on both sides)
  //  a written: new root A (next b has none). c written: prev b has none, new root C.
  //  b written: "Try next first": c's chain is singular and compatible, so b shares C.
  //  A: 1 active VMA; C: 2 active VMAs; 2 anon_vmas, 3 AVCs.
  const { k, s } = world();
  const mm = k.spawn();
  k.mmap(mm, X, 30 * P, RW, ANON);
  k.mprotect(mm, pg(10), 10 * P, RW | PROT_EXEC);
  k.touch(mm, pg(0), "write");
  k.touch(mm, pg(25), "write");
  assertEquals(objects(k), { vma: 3, av: 2, avc: 2 });
  k.touch(mm, pg(15), "write");
  const [a, b, c] = vmas(mm);
  assertEquals([b.start, b.end, b.pgoff], [pg(10), pg(20), xpg + 10]);
  const [A, C] = [s.anonVmaOf(a)!, s.anonVmaOf(c)!];
  assertEquals(s.anonVmaOf(b) === C, true);
  assertEquals([A.numActiveVmas, C.numActiveVmas], [1, 2]);
  assertEquals(objects(k), { vma: 3, av: 2, avc: 3 });
  assertEquals(s.counters().anon_vma_reuse_neighbour, 1);
});

/** A CountingExec that logs each anon_vma root rwsem acquisition and can fail trylocks. */
class RootLockLog extends CountingExec {
  log: string[] = [];
  failTry = false;
  override acquire(lock: Lock, mode: LockMode, tryLock = false): boolean {
    if (lock.lockClass !== "anon_vma.root") return super.acquire(lock, mode, tryLock);
    this.log.push(tryLock ? `${mode}-try` : mode);
    if (tryLock && this.failTry) return false;
    return super.acquire(lock, mode, tryLock);
  }
}

Deno.test("folio_referenced trylocks the root rwsem for read; a contended walk gives up", () => {
  //  0         10
  //  AAAAAAAAAA       one VMA, written; folio_referenced(page 3) then migrate(page 3)
  //  folio_lock_anon_vma_read: down_read_trylock(&root->rwsem), one read-try; migration's
  //  rmap_walk_anon: anon_vma_lock_read, a plain read. With the trylock failing the referenced
  //  walk reports contended and visits nothing; folio_referenced returns -1 (rwc.contended).
  const ex = new RootLockLog();
  const k = new Kernel({ scheme: new AnonVmaScheme(), exec: ex, params: { debugChecks: true } });
  const walks: WalkResult[] = [];
  k.onWalk((r) => walks.push(r));
  const mm = k.spawn();
  k.mmap(mm, X, 10 * P, RW, ANON);
  writeAll(k, mm, X, 10);
  ex.log = [];
  assertEquals(k.folioReferenced(folioAt(k, mm, pg(3))), 1);
  assertEquals(ex.log, ["read-try"]);
  assertEquals(walks.map((r) => [r.visits, r.hits, r.contended]), [[1, 1, false]]);
  ex.failTry = true;
  assertEquals(k.folioReferenced(folioAt(k, mm, pg(3))), -1);
  assertEquals(ex.log, ["read-try", "read-try"]);
  assertEquals(walks[1].contended, true);
  assertEquals([walks[1].visits, walks[1].hits], [0, 0]);
  assertEquals(ex.lockCounters("anon_vma.root").readAcquisitions, 1);
});

Deno.test("__anon_vma_prepare publishes vma->anon_vma under mm->page_table_lock, once", () => {
  //  0         10
  //  AAAAAAAAAA       first write fault: prepare (root lock for write + page_table_lock);
  //                   second write fault (page 1): anon_vma set, no prepare
  //  The page_table_lock acquisitions of the first fault exceed the second's by exactly one.
  const ex = new RootLockLog();
  const k = new Kernel({ scheme: new AnonVmaScheme(), exec: ex, params: { debugChecks: true } });
  const mm = k.spawn();
  k.mmap(mm, X, 10 * P, RW, ANON);
  const ptl = ex.lockCounters("page_table_lock");
  const fault = (n: number): [number, string[]] => {
    const w0 = ptl.writeAcquisitions;
    ex.log = [];
    k.touch(mm, pg(n), "write");
    return [ptl.writeAcquisitions - w0, ex.log];
  };
  const [first, firstLog] = fault(0);
  const [second, secondLog] = fault(1);
  assertEquals([first - second, firstLog, secondLog], [1, ["write"], []]);
});

Deno.test("vma_prepare re-keys a faulted adj_next that grows down over an unfaulted VMA", () => {
  //  0         20    30
  //  aaaaaaaaaa NNNNN       a RW unfaulted, N RWX written at page 25: root A, AVC [20, 29]
  //  mprotect(10..19, RWX): middle a keeps 0..9, N grows down to 10 (merge with next)
  //  0    10          30
  //  aaaa NNNNNNNNNNNN      vma_prepare: a has no anon_vma, adj_next N does: A's root rwsem
  //                         for write once, N's AVC out of the tree and back as [10, 29]
  const ex = new CountingExec();
  const s = new AnonVmaScheme();
  const k = new Kernel({ scheme: s, exec: ex, params: { debugChecks: true } });
  const mm = k.spawn();
  k.mmap(mm, X, 30 * P, RW, ANON);
  k.mprotect(mm, pg(20), 10 * P, RW | PROT_EXEC);
  k.touch(mm, pg(25), "write");
  const root = ex.lockCounters("anon_vma.root");
  const w0 = root.writeAcquisitions;
  k.mprotect(mm, pg(10), 10 * P, RW | PROT_EXEC);
  assertEquals(root.writeAcquisitions - w0, 1);
  const [a, n] = vmas(mm);
  assertEquals([a.start, a.end, a.pgoff, s.anonVmaOf(a)], [pg(0), pg(10), xpg, null]);
  assertEquals([n.start, n.end, n.pgoff], [pg(10), pg(30), xpg + 10]);
  const avc = s.state(n).chain[0];
  assertEquals([avc.handle?.start, avc.handle?.last], [xpg + 10, xpg + 29]);
  assertEquals(objects(k), { vma: 2, av: 1, avc: 1 });
  // A folio written at page 12 (index xpg + 12) is found through the re-keyed node.
  k.touch(mm, pg(12), "write");
  let visits = 0;
  s.walk(folioAt(k, mm, pg(12)), "migrate", false, () => {
    visits++;
    return true;
  });
  assertEquals(visits, 1);
});
