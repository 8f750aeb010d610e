// Scenario tests of the CoW-context scheme (core/rmap/cow_context.ts, reference §10.4, §12.5 E7),
// in the style of the kernel's tools/testing/vma: small address spaces drawn in comments and exact
// figures. Every kernel is built with debugChecks, so kernel and scheme invariants are checked
// after every operation, and every walk is verified against the oracle.

import assert from "node:assert/strict";
import fc from "fast-check";
import { Kernel, type WalkResult } from "../core/kernel/kernel.ts";
import { AnonVmaScheme } from "../core/rmap/anon_vma.ts";
import { CowContext, type CowContextOptions, CowContextScheme } from "../core/rmap/cow_context.ts";
import { createScheme } from "../core/rmap/registry.ts";
import { CountingExec } from "../core/machine/exec.ts";
import { OracleMismatchError } from "../core/oracle.ts";
import { Slab, type SlabCache } from "../core/slab.ts";
import {
  type Folio,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  type Mm,
  MREMAP_DONTUNMAP,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
  SyscallError,
} from "../core/kernel/types.ts";
import type { RmapScheme } from "../core/rmap/scheme.ts";

const P = PAGE_SIZE;
const RW = PROT_READ | PROT_WRITE;
const ANON_FIXED = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
/** Address of page `n` of the test window. */
const A = (n: number): number => 0x100000000 + n * P;

function cowKernel(
  opts: Partial<CowContextOptions> = {},
  debugChecks = true,
): { k: Kernel; s: CowContextScheme } {
  const s = new CowContextScheme(opts);
  return { k: new Kernel({ scheme: s, params: { debugChecks } }), s };
}

/** The figures of the first walk `fn` performs (a migration's `try_to_migrate` walk). */
function firstWalk(k: Kernel, fn: () => void): WalkResult {
  const seen: WalkResult[] = [];
  k.onWalk((r) => seen.push(r));
  const before = seen.length;
  fn();
  assert.ok(seen.length > before, "no walk happened");
  return seen[before];
}

/** Walk figures without the kind, for compact comparisons. */
function figures(r: WalkResult): Omit<WalkResult, "kind" | "contended"> {
  return {
    visits: r.visits,
    hits: r.hits,
    useless: r.useless,
    structures: r.structures,
    treeNodes: r.treeNodes,
  };
}

function folioAt(k: Kernel, mm: Mm, addr: number): Folio {
  const f = k.pte(mm, addr)?.folio;
  assert.ok(f, `no folio at ${addr.toString(16)}`);
  return f;
}

function writeAll(k: Kernel, mm: Mm, start: number, pages: number): void {
  for (let i = 0; i < pages; i++) k.touch(mm, start + i * P, "write");
}

/** Every slab cache is empty (nothing pending RCU either). */
function assertNoLeaks(k: Kernel): void {
  const left = Object.entries(k.slab.snapshot().objects).filter(([, n]) => n !== 0);
  assert.deepEqual(left, []);
}

/** E3/E7 setup: zygote Z with one faulted 100-page VMA and N children, no writes. */
function zygote(k: Kernel, n: number): { z: Mm; kids: Mm[] } {
  const z = k.spawn();
  k.mmap(z, A(0), 100 * P, RW, ANON_FIXED);
  writeAll(k, z, A(0), 100);
  const kids: Mm[] = [];
  for (let i = 0; i < n; i++) kids.push(k.fork(z));
  return { z, kids };
}

Deno.test("registry creates the cow_context scheme", () => {
  const s = createScheme("cow_context");
  assert.ok(s instanceof CowContextScheme);
  assert.equal(s.info.status, "proof-of-concept");
  assert.throws(() => new CowContextScheme({ keepAnonVma: true }), RangeError);
});

Deno.test("E7: a shared zygote folio's walk visits ctx(Z) and every child context", () => {
  //            A(0)                       A(100)
  //  Z    ctx1 |========= 100 pages =========|   root, every page written
  //  C1   ctx2 |----- shared CoW copy -------|   \
  //  C2   ctx3 |----- shared CoW copy -------|    > children of ctx1
  //  C3   ctx4 |----- shared CoW copy -------|   /
  const { k, s } = cowKernel();
  const { z, kids } = zygote(k, 3);
  const f = folioAt(k, z, A(7));
  assert.equal(f.mapcount[0], 4);
  assert.equal((f.rmap as CowContext).id, 1);
  // Migration: full walk. 4 contexts, one VMA each at index << 12; map_count 1 → one maple node
  // per lookup; empty remap tables cost nothing.
  const r = firstWalk(k, () => k.migrateFolio(f));
  assert.deepEqual(figures(r), { visits: 4, hits: 4, useless: 0, structures: 4, treeNodes: 4 });
  // Reclaim aging: stops once 4 mappings were found, still 4 contexts. Only Z's PTE is young
  // (fork copies PTEs old).
  const rr = firstWalk(k, () => assert.equal(k.folioReferenced(f), 1));
  assert.deepEqual(figures(rr), { visits: 4, hits: 4, useless: 0, structures: 4, treeNodes: 4 });
  assert.equal(k.exec instanceof CountingExec, true);
  const ex = k.exec as CountingExec;
  assert.equal(ex.counters.locks["anon_vma.root"], undefined); // no anon_vma lock at all
  assert.equal(ex.lockCounters("cow_context.list").writeAcquisitions, 3); // one per fork

  // Every child CoWs every page; then Z writes (reuse, folio_move_anon_rmap → ctx(Z)).
  for (const c of kids) writeAll(k, c, A(0), 100);
  assert.equal(f.mapcount[0], 1);
  k.touch(z, A(7), "write");
  assert.equal(k.counters.faults_wp_reuse_move, 1);
  assert.equal((f.rmap as CowContext).id, 1);
  const stops = s.counters().walks_exclusive_stop ?? 0;
  const r2 = firstWalk(k, () => k.migrateFolio(f));
  // Exclusive short-cut: ctx(Z) only, V = 1 (the classic scheme visits N + 1 = 4 here).
  assert.deepEqual(figures(r2), { visits: 1, hits: 1, useless: 0, structures: 1, treeNodes: 1 });
  assert.equal(s.counters().walks_exclusive_stop, stops + 2); // both walks of the migration

  // A child-private folio points at the child's leaf context: V = 1 + descendants.
  const c1 = kids[0];
  const g = folioAt(k, c1, A(7));
  assert.equal((g.rmap as CowContext).mm, c1);
  assert.deepEqual(figures(firstWalk(k, () => k.migrateFolio(g))), {
    visits: 1,
    hits: 1,
    useless: 0,
    structures: 1,
    treeNodes: 1,
  });
  const gc = k.fork(c1); // a grandchild shares C1's private folios
  assert.deepEqual(figures(firstWalk(k, () => k.migrateFolio(g))), {
    visits: 2,
    hits: 2,
    useless: 0,
    structures: 2,
    treeNodes: 2,
  });
  for (const mm of [gc, ...kids, z]) k.exit(mm);
  assertNoLeaks(k);
});

Deno.test("E7 live objects vs the classic scheme; an exited zygote's context persists", () => {
  const count = (scheme: RmapScheme): Kernel => {
    const k = new Kernel({ scheme, params: { debugChecks: true } });
    zygote(k, 3);
    return k;
  };
  const classic = count(new AnonVmaScheme());
  assert.equal(classic.slab.live("anon_vma"), 4); // 1 + N
  assert.equal(classic.slab.live("anon_vma_chain"), 7); // 1 + 2N
  const { k } = cowKernel();
  const { z, kids } = zygote(k, 3);
  const snap = k.slab.snapshot();
  assert.equal(snap.objects.cow_context, 4); // one per live mm
  assert.equal(snap.objects.anon_vma, 0);
  assert.equal(snap.objects.anon_vma_chain, 0);
  assert.equal(snap.objects.cow_remap_entry, 0);
  assert.equal(snap.bytes.cow_context, 4 * 96); // struct cow_context, kmalloc-96
  const cs = classic.slab.snapshot();
  assert.equal(cs.bytes.anon_vma + cs.bytes.anon_vma_chain, 4 * 104 + 7 * 64);

  //  Z exits; its folios stay mapped by the children, so ctx(Z) stays (mm cleared):
  //  refcount = 3 children + 100 folios.
  const zctx = z.rmap as CowContext;
  k.exit(z);
  assert.equal(k.mms.size, 3);
  assert.equal(k.slab.live("cow_context"), 4); // 3 live mms + 1 exited-but-referenced
  assert.equal(zctx.mm, null);
  assert.equal(zctx.refcount, 3 + 100);
  // A walk from the exited context still reaches the descendants.
  const f = folioAt(k, kids[0], A(3));
  assert.equal(f.rmap, zctx);
  assert.deepEqual(figures(firstWalk(k, () => k.migrateFolio(f))), {
    visits: 3,
    hits: 3,
    useless: 0,
    structures: 4,
    treeNodes: 3,
  });
  k.exit(kids[0]);
  k.exit(kids[1]);
  assert.equal(k.slab.live("cow_context"), 2); // C3 + ctx(Z), still held by C3's folios/child
  k.exit(kids[2]); // the last reference: ctx(C3) then ctx(Z) are freed (cascade)
  assertNoLeaks(k);
});

Deno.test("a moved VMA is found through the remap table", () => {
  //          A(0)   A(10)          A(40)  A(50)
  //  Z  ctx1 |=====|                               written, offset 0
  //  C  ctx2                       |=====|         mremap A(0) → A(40): offset 40
  //     ctx2 remap: [A(0)>>12, +9] → {40}
  const { k, s } = cowKernel();
  const z = k.spawn();
  k.mmap(z, A(0), 10 * P, RW, ANON_FIXED);
  writeAll(k, z, A(0), 10);
  const c = k.fork(z);
  k.mremap(c, A(0), 10 * P, 10 * P, MREMAP_MAYMOVE | MREMAP_FIXED, A(40));
  const cctx = c.rmap as CowContext;
  assert.deepEqual(cctx.entries, [{ first: A(0) / P, last: A(0) / P + 9, offsets: [40] }]);
  assert.equal(k.slab.live("cow_remap_entry"), 1);
  assert.equal(k.slab.live("cow_remap_array"), 0);
  const f = folioAt(k, z, A(2));
  // ctx(Z): lookup at A(2) (1 node), empty table. ctx(C): lookup at A(2) finds nothing (1 node),
  // remap table lookup (1 node) examines 1 entry, lookup at A(42) (1 node) hits.
  assert.deepEqual(figures(firstWalk(k, () => k.migrateFolio(f))), {
    visits: 2,
    hits: 2,
    useless: 0,
    structures: 3,
    treeNodes: 4,
  });

  //  C maps fresh memory at A(0), writes it, and moves it to A(20): two offsets over one range.
  //          A(0)   A(10)   A(20)  A(30)   A(40)  A(50)
  //  C  ctx2               |  W  |         |  Y  |     W: offset 20, Y: offset 40
  //     ctx2 remap: [A(0)>>12, +9] → {20, 40} (a cow_remap_array)
  k.mmap(c, A(0), 10 * P, RW, ANON_FIXED);
  writeAll(k, c, A(0), 10);
  k.mremap(c, A(0), 10 * P, 10 * P, MREMAP_MAYMOVE | MREMAP_FIXED, A(20));
  assert.deepEqual(cctx.entries, [{ first: A(0) / P, last: A(0) / P + 9, offsets: [20, 40] }]);
  assert.equal(k.slab.live("cow_remap_array"), 1);
  assert.equal(s.counters().remap_arrays, 1);
  // ctx(C) now visits both offsets: Y maps the folio, W maps C's own folio (useless).
  assert.deepEqual(figures(firstWalk(k, () => k.migrateFolio(f))), {
    visits: 3,
    hits: 2,
    useless: 1,
    structures: 3,
    treeNodes: 5,
  });
  // Unmapping W shrinks the entry back to one offset; the array is freed after RCU.
  k.munmap(c, A(20), 10 * P);
  assert.equal(k.slab.live("cow_remap_array"), 0);
  // Moving Y back home makes its offset 0: the table empties.
  k.mremap(c, A(40), 10 * P, 10 * P, MREMAP_MAYMOVE | MREMAP_FIXED, A(0));
  assert.deepEqual(cctx.entries, []);
  assert.equal(k.slab.live("cow_remap_entry"), 0);
  k.exit(c);
  k.exit(z);
  assertNoLeaks(k);
});

Deno.test("split and merge of a remapped VMA re-key its remap range", () => {
  //  P: write A(0..9), move to A(40) (offset 40), mprotect the middle read-only, then back.
  //          A(40) A(43) A(46)  A(50)
  //  P  ctx1 |=====|-----|=====|          3 VMAs, 3 entries [p,p+2] [p+3,p+5] [p+6,p+9] → 40
  const { k } = cowKernel();
  const p = k.spawn();
  k.mmap(p, A(0), 10 * P, RW, ANON_FIXED);
  writeAll(k, p, A(0), 10);
  k.mremap(p, A(0), 10 * P, 10 * P, MREMAP_MAYMOVE | MREMAP_FIXED, A(40));
  const ctx = p.rmap as CowContext;
  const pg = A(0) / P;
  k.mprotect(p, A(43), 3 * P, PROT_READ);
  assert.equal(p.mapCount, 3);
  assert.deepEqual(ctx.entries.map((e) => [e.first - pg, e.last - pg, e.offsets]), [
    [0, 2, [40]],
    [3, 5, [40]],
    [6, 9, [40]],
  ]);
  assert.equal(k.slab.live("cow_remap_entry"), 3);
  k.mprotect(p, A(43), 3 * P, RW); // re-merge: pgoffs contiguous, same context
  assert.equal(p.mapCount, 1);
  assert.deepEqual(ctx.entries.map((e) => [e.first - pg, e.last - pg, e.offsets]), [[0, 9, [40]]]);
  const f = folioAt(k, p, A(44));
  // Exclusive folio of a moved VMA: step 1 finds nothing at A(4), so no short-cut; the remap
  // entry leads to A(44).
  assert.deepEqual(figures(firstWalk(k, () => k.migrateFolio(f))), {
    visits: 1,
    hits: 1,
    useless: 0,
    structures: 2,
    treeNodes: 3,
  });
  k.exit(p);
  assertNoLeaks(k);
});

Deno.test("DONTUNMAP: moved pages found at their offset; the source refaults at offset 0", () => {
  //          A(0)   A(8)              A(30)  A(38)
  //  P  ctx1 |  H  |                  |  F  |   H: source kept, anon state dropped
  //                                             F: moved folios, offset 30
  const { k } = cowKernel();
  const p = k.spawn();
  k.mmap(p, A(0), 8 * P, RW, ANON_FIXED);
  writeAll(k, p, A(0), 8);
  const moved = folioAt(k, p, A(1));
  k.mremap(p, A(0), 8 * P, 8 * P, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, A(30));
  assert.equal(k.pte(p, A(1)), undefined);
  assert.equal(k.scheme.hasAnon(p.vmas.find(A(0))!), false);
  k.touch(p, A(1), "write"); // a new folio at the same index as `moved`
  const fresh = folioAt(k, p, A(1));
  assert.equal(fresh.index, moved.index);
  // fresh: exclusive, found by step 1 at A(1) → stop.
  assert.deepEqual(figures(firstWalk(k, () => k.migrateFolio(fresh))), {
    visits: 1,
    hits: 1,
    useless: 0,
    structures: 1,
    treeNodes: 1,
  });
  // moved: step 1 visits H at A(1) (maps `fresh`: useless), then the entry leads to A(31).
  assert.deepEqual(figures(firstWalk(k, () => k.migrateFolio(moved))), {
    visits: 2,
    hits: 1,
    useless: 1,
    structures: 2,
    treeNodes: 3,
  });
  k.exit(p);
  assertNoLeaks(k);
});

Deno.test("a child mapping new memory at the same address costs a useless visit", () => {
  //          A(0)      A(4)
  //  Z  ctx1 |== 4 ==|          written, shared with C1, C2
  //  C1 ctx2 |  new  |          munmap + mmap MAP_FIXED at A(0), written: other folios
  //  C2 ctx3 |-- CoW --|        still shares Z's folios
  const { k } = cowKernel();
  const z = k.spawn();
  k.mmap(z, A(0), 4 * P, RW, ANON_FIXED);
  writeAll(k, z, A(0), 4);
  const c1 = k.fork(z);
  const c2 = k.fork(z);
  k.munmap(c1, A(0), 4 * P);
  k.mmap(c1, A(0), 4 * P, RW, ANON_FIXED);
  k.touch(c1, A(0), "write");
  const f = folioAt(k, z, A(0));
  assert.equal(f.mapcount[0], 2);
  // Order: ctx(Z), then children newest first: ctx(C2), ctx(C1). C1's new VMA is at the same
  // address with offset 0: visited, maps another folio.
  assert.deepEqual(figures(firstWalk(k, () => k.migrateFolio(f))), {
    visits: 3,
    hits: 2,
    useless: 1,
    structures: 3,
    treeNodes: 3,
  });
  for (const mm of [c1, c2, z]) k.exit(mm);
  assertNoLeaks(k);
});

Deno.test("a folio exclusive to a child but in the parent's context needs the descendants", () => {
  //  P writes A(0), forks C, writes A(0) again: P gets a copy; the original stays in ctx(P),
  //  mapped only by C (mapcount 1). The PoC's short-cut would stop after ctx(P).
  for (const mode of ["found", "poc"] as const) {
    const { k } = cowKernel({ exclusiveShortcut: mode });
    const p = k.spawn();
    k.mmap(p, A(0), P, RW, ANON_FIXED);
    k.touch(p, A(0), "write");
    const c = k.fork(p);
    k.touch(p, A(0), "write");
    const f = folioAt(k, c, A(0));
    assert.equal(f.mapcount[0], 1);
    assert.equal((f.rmap as CowContext).mm, p);
    if (mode === "poc") {
      assert.throws(() => k.migrateFolio(f), OracleMismatchError);
      continue;
    }
    assert.deepEqual(figures(firstWalk(k, () => k.migrateFolio(f))), {
      visits: 2,
      hits: 1,
      useless: 1,
      structures: 2,
      treeNodes: 2,
    });
    k.exit(c);
    k.exit(p);
    assertNoLeaks(k);
  }
});

Deno.test("a shared swap slot's folio goes to the root context (the PoC rule misses one)", () => {
  //  P writes A(0), forks C; reclaim swaps the folio out of both. C swaps in first (slot shared:
  //  exclusive = false), then P maps the same folio from the swap cache.
  for (const rule of ["root", "faulting"] as const) {
    // The PoC's rule breaks the scheme's own ancestry invariant, so check() is run by hand.
    const { k, s } = cowKernel({ sharedNewAnon: rule }, rule === "root");
    const p = k.spawn();
    k.mmap(p, A(0), P, RW, ANON_FIXED);
    k.touch(p, A(0), "write");
    const c = k.fork(p);
    assert.equal(k.tryToUnmap(folioAt(k, p, A(0))), true);
    k.touch(c, A(0), "read");
    k.touch(p, A(0), "read");
    const f = folioAt(k, c, A(0));
    assert.equal(f, folioAt(k, p, A(0)));
    if (rule === "faulting") {
      assert.equal((f.rmap as CowContext).mm, c);
      assert.deepEqual(s.check(), [`folio ${f.id} context 2 is not an ancestor of mm 1's`]);
      assert.throws(() => k.migrateFolio(f), OracleMismatchError);
      continue;
    }
    assert.equal((f.rmap as CowContext).mm, p);
    assert.deepEqual(figures(firstWalk(k, () => k.migrateFolio(f))), {
      visits: 2,
      hits: 2,
      useless: 0,
      structures: 2,
      treeNodes: 2,
    });
    k.exit(c);
    k.exit(p);
    assertNoLeaks(k);
  }
});

Deno.test("execve leaves the hierarchy; the old context lives while a child references it", () => {
  const { k } = cowKernel();
  const p = k.spawn();
  k.mmap(p, A(0), 2 * P, RW, ANON_FIXED);
  writeAll(k, p, A(0), 2);
  const c = k.fork(p);
  const old = p.rmap as CowContext;
  const np = k.execve(p);
  const nctx = np.rmap as CowContext;
  assert.equal(nctx.parent, null);
  assert.equal(old.mm, null);
  assert.equal(old.refcount, 1 + 2); // child C + 2 folios C still maps
  const f = folioAt(k, c, A(0));
  assert.deepEqual(figures(firstWalk(k, () => k.migrateFolio(f))), {
    visits: 1,
    hits: 1,
    useless: 0,
    structures: 2,
    treeNodes: 1,
  });
  k.exit(c);
  k.exit(np);
  assertNoLeaks(k);
});

Deno.test("contexts are freed only after the RCU grace period", () => {
  // The untimed CountingExec ends a grace period when the operation ends; record the pending
  // frees just before that.
  class ProbeExec extends CountingExec {
    atEnd: number[] = [];
    override endOp(): void {
      this.atEnd.push(slab.stats("cow_context").pendingRcu);
      super.endOp();
    }
  }
  const exec = new ProbeExec();
  const slab = new Slab({}, exec);
  const k = new Kernel({
    scheme: new CowContextScheme(),
    exec,
    slab,
    params: { debugChecks: true },
  });
  const p = k.spawn();
  k.mmap(p, A(0), P, RW, ANON_FIXED);
  k.touch(p, A(0), "write");
  const c = k.fork(p);
  k.exit(p); // ctx(P) survives: child + folio
  assert.equal(exec.atEnd.at(-1), 0);
  assert.equal(slab.live("cow_context"), 2);
  k.exit(c); // the folio goes, ctx(C) then ctx(P) are freed: both wait for the grace period
  assert.equal(exec.atEnd.at(-1), 2);
  assert.equal(slab.stats("cow_context").pendingRcu, 0);
  assert.equal(slab.live("cow_context"), 0);
  assert.equal(slab.stats("cow_context").frees, 2);
  assert.ok(exec.counters.gracePeriods >= 1);
  assertNoLeaks(k);
});

Deno.test("folio reuse moves the folio to the writer's leaf context", () => {
  //  P writes A(0), forks C; P exits. C writes A(0): reuse (mapcount 1) → the folio moves from
  //  ctx(P) to ctx(C), dropping the folio's reference on ctx(P), which C's context still holds.
  const { k, s } = cowKernel();
  const p = k.spawn();
  k.mmap(p, A(0), P, RW, ANON_FIXED);
  k.touch(p, A(0), "write");
  const c = k.fork(p);
  k.exit(p);
  assert.equal(k.slab.live("cow_context"), 2);
  const f = folioAt(k, c, A(0));
  assert.equal((f.rmap as CowContext).refcount, 1 + 1); // the child context + the folio
  k.touch(c, A(0), "write");
  assert.equal((f.rmap as CowContext).mm, c);
  assert.equal(s.counters().folio_move_context, 1);
  const pctx = (c.rmap as CowContext).parent!;
  assert.equal(pctx.mm, null);
  assert.equal(pctx.refcount, 1); // only the child reference is left
  assert.equal(s.live.size, 2);
  k.exit(c);
  assertNoLeaks(k);
});

// -- randomized ----------------------------------------------------------------------------------

type Step =
  | { op: "mmap"; proc: number; page: number; pages: number; file: boolean }
  | { op: "munmap"; proc: number; page: number; pages: number }
  | { op: "mprotect"; proc: number; page: number; pages: number; ro: boolean }
  | { op: "mremap"; proc: number; page: number; pages: number; to: number; mode: number }
  | { op: "touch"; proc: number; page: number; write: boolean }
  | { op: "fork"; proc: number }
  | { op: "exit"; proc: number }
  | { op: "execve"; proc: number }
  | { op: "swap"; pick: number };

const WIN = 40;
const procA = fc.nat(3);
const pageA = fc.nat(WIN - 1);
const pagesA = fc.integer({ min: 1, max: 8 });
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("mmap" as const),
      proc: procA,
      page: pageA,
      pages: pagesA,
      file: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("munmap" as const),
      proc: procA,
      page: pageA,
      pages: pagesA,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("mprotect" as const),
      proc: procA,
      page: pageA,
      pages: pagesA,
      ro: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("mremap" as const),
      proc: procA,
      page: pageA,
      pages: pagesA,
      to: pageA,
      mode: fc.nat(2),
    }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      op: fc.constant("touch" as const),
      proc: procA,
      page: pageA,
      write: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("fork" as const), proc: procA }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("exit" as const), proc: procA }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("execve" as const), proc: procA }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("swap" as const), pick: fc.nat() }) },
);

function runSteps(steps: readonly Step[]): void {
  const { k } = cowKernel();
  const file = k.createFile("lib.so", 64);
  const procs: Mm[] = [k.spawn()];
  const pick = (i: number): Mm => procs[i % procs.length];
  k.mmap(procs[0], A(0), 12 * P, RW, ANON_FIXED);
  for (let i = 0; i < 12; i += 2) k.touch(procs[0], A(i), "write");
  for (const s of steps) {
    try {
      switch (s.op) {
        case "mmap":
          if (s.file) {
            k.mmap(pick(s.proc), A(s.page), s.pages * P, RW, MAP_PRIVATE | MAP_FIXED, file, 8 * P);
          } else k.mmap(pick(s.proc), A(s.page), s.pages * P, RW, ANON_FIXED);
          break;
        case "munmap":
          k.munmap(pick(s.proc), A(s.page), s.pages * P);
          break;
        case "mprotect":
          k.mprotect(pick(s.proc), A(s.page), s.pages * P, s.ro ? PROT_READ : RW);
          break;
        case "mremap": {
          const flags = [
            MREMAP_MAYMOVE | MREMAP_FIXED,
            MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP,
            MREMAP_MAYMOVE | MREMAP_FIXED,
          ][s.mode];
          const [from, to] = s.mode === 2
            ? [A(WIN + 4 + s.to), A(s.page)]
            : [A(s.page), A(WIN + 4 + s.to)];
          k.mremap(pick(s.proc), from, s.pages * P, s.pages * P, flags, to);
          break;
        }
        case "touch":
          k.touch(pick(s.proc), A(s.page), s.write ? "write" : "read");
          break;
        case "fork":
          if (procs.length < 5) procs.push(k.fork(pick(s.proc)));
          break;
        case "exit": {
          if (procs.length < 2) break;
          const i = s.proc % procs.length;
          k.exit(procs[i]);
          procs.splice(i, 1);
          break;
        }
        case "execve": {
          const i = s.proc % procs.length;
          procs[i] = k.execve(procs[i]);
          break;
        }
        case "swap": {
          // Evict a folio: its PTEs become swap entries; later touches swap it back in (a
          // shared slot gives a non-exclusive folio, which goes to the root context).
          const live = k.liveAnonFolios;
          if (!live.length) break;
          k.tryToUnmap(live[s.pick % live.length]);
          break;
        }
      }
    } catch (e) {
      if (!(e instanceof SyscallError)) throw e;
    }
    for (const f of [...k.liveAnonFolios]) {
      k.migrateFolio(f);
      k.folioReferenced(f);
    }
  }
  for (const mm of procs) k.exit(mm);
  assertNoLeaks(k);
}

Deno.test("random syscall sequences: every walk matches the oracle, nothing leaks", () => {
  fc.assert(
    fc.property(fc.array(stepArb, { minLength: 20, maxLength: 80 }), (steps) => runSteps(steps)),
    { seed: 7, numRuns: 100 },
  );
});

/** A CountingExec that records, at the end of each operation, the pending RCU frees of `caches`. */
class RcuProbeExec extends CountingExec {
  slab: Slab | null = null;
  readonly caches: readonly SlabCache[];
  readonly atEnd: number[][] = [];
  constructor(caches: readonly SlabCache[]) {
    super();
    this.caches = caches;
  }
  override endOp(): void {
    this.atEnd.push(this.caches.map((c) => this.slab!.stats(c).pendingRcu));
    super.endOp();
  }
}

Deno.test("remap arrays: krealloc frees the old array at once; a walk's spill waits for RCU", () => {
  //  One written page at A0 (anon pgoff A0 >> 12) is moved to B0, B2, B4, ..., B32 (17 moves;
  //  each time A0 is mapped and written again): one remap entry over that pgoff with 17
  //  offsets. Its array (mm/cow_context.c, __dynarray_append_stack / __dynarray_expand):
  //    2nd offset: alloc cap 2 (kmalloc-32); 3rd: krealloc 2 -> 4; 5th: 4 -> 8; 9th: 8 -> 16;
  //    17th: 16 -> 32 (8 + 8*32 = 264 B, kmalloc-512).
  //  krealloc kfree()s the old object at once (no RCU wait: module header, "Growth uses
  //  krealloc"), so no array free is pending when the 3rd move ends.
  //  The migration's two walks each gather 17 unique offsets, past WALK_DEFAULT_STACK_SIZE
  //  (16): each allocates a transient array of capacity 32 (kmalloc-512) and kfree_rcu()s it
  //  (walk_context, free_remaps): 2 pending at the end of the migration.
  const exec = new RcuProbeExec(["cow_remap_array", "cow_remap_array_512"]);
  const slab = new Slab({}, exec);
  exec.slab = slab;
  const s = new CowContextScheme();
  const k = new Kernel({ scheme: s, exec, slab, params: { debugChecks: true } });
  const p = k.spawn();
  for (let i = 0; i < 17; i++) {
    k.mmap(p, A(0), P, RW, ANON_FIXED);
    k.touch(p, A(0), "write");
    k.mremap(p, A(0), P, P, MREMAP_MAYMOVE | MREMAP_FIXED, A(100 + 2 * i));
    if (i === 2) {
      // The 3rd move grew the array 2 -> 4: the kmalloc-32 object is already free.
      assert.deepEqual(exec.atEnd.at(-1), [0, 0]);
      assert.equal(slab.stats("cow_remap_array").frees, 1);
      assert.equal(slab.live("cow_remap_array"), 0);
      assert.equal(slab.live("cow_remap_array_64"), 1);
    }
  }
  assert.deepEqual(s.contextOf(p).entries.map((e) => e.offsets.length), [17]);
  assert.equal(s.counters().remap_array_grows, 4);
  assert.equal(slab.live("cow_remap_array_512"), 1); // the entry's own array (cap 32)
  assert.equal(slab.stats("cow_remap_array_512").pendingRcu, 0);
  k.migrateFolio(folioAt(k, p, A(100)));
  assert.equal(s.counters().walk_offset_spills, 2);
  // At the end of the migration both spilled arrays wait for the grace period.
  assert.deepEqual(exec.atEnd.at(-1), [0, 2]);
  assert.equal(slab.live("cow_remap_array_512"), 1);
  assert.equal(slab.stats("cow_remap_array_512").frees, 2);
});

Deno.test("remap table maple nodes count entries and the gaps between them (2n + 1 ranges)", () => {
  //  Five one-page VMAs at A0, A2, A4, A6, A8, each written and moved to B0, B2, ..., B8:
  //    remap table: [A0] [A2] [A4] [A6] [A8]   (5 entries, each one offset; 4 gaps, 2 ends)
  //  A maple tree of 5 entries stores 2*5 + 1 = 11 ranges: 2 leaves of 10 slots + 1 root
  //  = 3 cow_remap_node objects (module header, "a table of n entries stores about 2n + 1
  //  ranges"). The first entry alone: 3 ranges, 1 node.
  const { k, s } = cowKernel();
  const p = k.spawn();
  const nodes: number[] = [];
  for (let i = 0; i < 5; i++) {
    k.mmap(p, A(2 * i), P, RW, ANON_FIXED);
    k.touch(p, A(2 * i), "write");
    k.mremap(p, A(2 * i), P, P, MREMAP_MAYMOVE | MREMAP_FIXED, A(100 + 2 * i));
    nodes.push(k.slab.live("cow_remap_node"));
  }
  assert.equal(s.contextOf(p).entries.length, 5);
  assert.equal(k.slab.live("cow_remap_entry"), 5);
  //  ranges 3, 5, 7, 9 -> 1 node; 11 -> 3 nodes.
  assert.deepEqual(nodes, [1, 1, 1, 1, 3]);
  assert.equal(s.counters().remap_maple_nodes, 3);
  k.munmap(p, A(108), P); // 4 entries, 9 ranges: back to one node (two freed at once)
  assert.equal(k.slab.live("cow_remap_node"), 1);
  assert.equal(k.slab.stats("cow_remap_node").frees, 2);
});

/** A kernel on an {@link RcuProbeExec} that records the pending RCU frees of `caches`. */
function probeKernel(
  caches: readonly SlabCache[],
  params: { anonFolioOrder?: number } = {},
): { k: Kernel; s: CowContextScheme; exec: RcuProbeExec; slab: Slab } {
  const exec = new RcuProbeExec(caches);
  const slab = new Slab({}, exec);
  exec.slab = slab;
  const s = new CowContextScheme();
  const k = new Kernel({ scheme: s, exec, slab, params: { debugChecks: true, ...params } });
  return { k, s, exec, slab };
}

/** Counters of the `cow_context.*` lock classes: write acquisitions and tree_update under them. */
function cowLocks(k: Kernel): { list: number; listRead: number; remap: number; updates: number } {
  const ex = k.exec as CountingExec;
  const list = ex.lockCounters("cow_context.list");
  const remap = ex.lockCounters("cow_context.remap");
  return {
    list: list.writeAcquisitions,
    listRead: list.readAcquisitions + remap.readAcquisitions,
    remap: remap.writeAcquisitions,
    updates: remap.workUnderLock.tree_update ?? 0,
  };
}

Deno.test("the parent's list lock is taken (write) per fork link and per unlink at free", () => {
  //  A writes A(0), forks B; B forks C.       ctx1 (A) -> ctx2 (B) -> ctx3 (C)
  //  A exits: ctx1 stays (child ctx2 + f).  B exits: ctx2 stays (child ctx3).
  //  C exits: f is freed (ctx1 keeps only ctx2's reference), ctx3 reaches 0 and is unlinked
  //  under ctx2's list lock; the cascade frees ctx2, unlinked under ctx1's list lock; ctx1 is a
  //  root (no parent, no lock). So 2 fork links + 2 unlinks = 4 write acquisitions, no read.
  const { k } = cowKernel();
  const a = k.spawn();
  k.mmap(a, A(0), P, RW, ANON_FIXED);
  k.touch(a, A(0), "write");
  const b = k.fork(a);
  const c = k.fork(b);
  assert.deepEqual(cowLocks(k), { list: 2, listRead: 0, remap: 0, updates: 0 });
  k.exit(a);
  k.exit(b);
  assert.equal(cowLocks(k).list, 2); // nothing freed yet
  k.exit(c);
  assert.equal(k.slab.stats("cow_context").frees, 3);
  assert.deepEqual(cowLocks(k), { list: 4, listRead: 0, remap: 0, updates: 0 });
  assertNoLeaks(k);
});

Deno.test("a reuse fault on a folio already in the writer's context moves nothing", () => {
  //  P writes A(0) (f -> ctx(P)), forks C (both PTEs read-only, f not anon-exclusive); C exits.
  //  P writes A(0): wp fault, mapcount 1 -> reuse (folio_move_anon_rmap), but f already points
  //  at ctx(P): no context move, no reference taken or dropped (refcount: mm + f).
  const { k, s } = cowKernel();
  const p = k.spawn();
  k.mmap(p, A(0), P, RW, ANON_FIXED);
  k.touch(p, A(0), "write");
  k.exit(k.fork(p));
  const f = folioAt(k, p, A(0));
  k.touch(p, A(0), "write");
  assert.equal(folioAt(k, p, A(0)), f);
  assert.equal(k.counters.faults_wp_reuse_move, 1);
  assert.equal(s.counters().folio_move_context ?? 0, 0);
  assert.equal(f.rmap, p.rmap);
  assert.equal((f.rmap as CowContext).refcount, 2);
  k.exit(p);
  assertNoLeaks(k);
});

Deno.test('exclusiveShortcut "off": an exclusive folio\'s walk visits every descendant', () => {
  //          A(0)
  //  P  ctx1 |f|     written, then shared with C1, C2; each child writes: its own copy
  //  C1 ctx2 |g1|    f is exclusive to P again (mapcount 1)
  //  C2 ctx3 |g2|
  //  "found": P's step 1 visits f's mapping -> stop: 1 context, 1 visit.
  //  "off": ctx1, ctx3, ctx2: each child's VMA at A(0) (offset 0) maps its own copy: 2 useless.
  for (const mode of ["found", "off"] as const) {
    const { k, s } = cowKernel({ exclusiveShortcut: mode });
    const p = k.spawn();
    k.mmap(p, A(0), P, RW, ANON_FIXED);
    k.touch(p, A(0), "write");
    const kids = [k.fork(p), k.fork(p)];
    for (const c of kids) k.touch(c, A(0), "write");
    const f = folioAt(k, p, A(0));
    assert.equal(f.mapcount[0], 1);
    const r = figures(firstWalk(k, () => k.migrateFolio(f)));
    if (mode === "found") {
      assert.deepEqual(r, { visits: 1, hits: 1, useless: 0, structures: 1, treeNodes: 1 });
      assert.equal(s.counters().walks_exclusive_stop, 2);
    } else {
      assert.deepEqual(r, { visits: 3, hits: 1, useless: 2, structures: 3, treeNodes: 3 });
      assert.equal(s.counters().walks_exclusive_stop ?? 0, 0);
    }
    for (const mm of [...kids, p]) k.exit(mm);
    assertNoLeaks(k);
  }
});

Deno.test("an exclusive large folio stops at its context when its remap table is empty", () => {
  //          A(0)        A(4)
  //  P  ctx1 |f0 f1 f2 f3|     one 4-page folio (order 2), written
  //  C  ctx2                   forked, then unmaps A(0..3): f is mapped by P alone
  //  Step 1 of ctx1 visits f's one VMA (found); an exclusive large folio then still reads its
  //  context's remap offsets, but ctx1's table is empty: the walk stops there (shortcut),
  //  ctx2 is not traversed.
  const { k, s } = probeKernel([], { anonFolioOrder: 2 });
  const p = k.spawn();
  k.mmap(p, A(0), 4 * P, RW, ANON_FIXED);
  k.touch(p, A(0), "write");
  const f = folioAt(k, p, A(0));
  assert.equal(f.nrPages, 4);
  const c = k.fork(p);
  k.munmap(c, A(0), 4 * P);
  const r = figures(firstWalk(k, () => k.migrateFolio(f)));
  assert.deepEqual(r, { visits: 1, hits: 1, useless: 0, structures: 1, treeNodes: 1 });
  assert.deepEqual(s.lastWalk, { contexts: 1, remapEntries: 0, offsets: 0, shortcut: true });
  assert.equal(s.counters().walks_exclusive_stop, 2); // both walks of the migration
  k.exit(c);
  k.exit(p);
  assertNoLeaks(k);
});

Deno.test("a walk the callback stops at a moved VMA does not go on to the next context", () => {
  //          A(0)                B(0)
  //  A  ctx1 |f|                            written; forks D (ctx2), then B (ctx3)
  //  D  ctx2                                unmaps A(0)
  //  B  ctx3                     |f|        mremap A(0) -> B(0): remap [A(0)>>12] -> {X}
  //  ctx1's children, newest first: ctx3, ctx2. f: mapcount 2 (A, B).
  //  folio_referenced: ctx1 step 1 hits A (1 node); ctx3: step 1 finds nothing at A(0) (1
  //  node), table (1 node, 1 entry), offset X (1 node) hits B: both mappings found, the walk
  //  stops before ctx2. 2 contexts + 1 entry = 3 structures, 4 nodes.
  //  try_to_migrate (full): ctx2 too (D has no VMA: 1 node): 3 contexts, 4 structures, 5 nodes.
  const { k, s } = cowKernel();
  const a = k.spawn();
  k.mmap(a, A(0), P, RW, ANON_FIXED);
  k.touch(a, A(0), "write");
  const d = k.fork(a);
  const b = k.fork(a);
  k.munmap(d, A(0), P);
  k.mremap(b, A(0), P, P, MREMAP_MAYMOVE | MREMAP_FIXED, A(300));
  const f = folioAt(k, a, A(0));
  assert.equal(folioAt(k, b, A(300)), f);
  const rr = firstWalk(k, () => k.folioReferenced(f));
  assert.deepEqual(figures(rr), { visits: 2, hits: 2, useless: 0, structures: 3, treeNodes: 4 });
  assert.deepEqual(s.lastWalk, { contexts: 2, remapEntries: 1, offsets: 1, shortcut: false });
  const rm = firstWalk(k, () => k.migrateFolio(f));
  assert.deepEqual(figures(rm), { visits: 2, hits: 2, useless: 0, structures: 4, treeNodes: 5 });
  for (const mm of [a, b, d]) k.exit(mm);
  assertNoLeaks(k);
});

Deno.test("a folio swapped in from a slot three generations share goes to the root context", () => {
  //  A writes A(0), forks B; B forks C: f shared by A, B, C (ctx1 -> ctx2 -> ctx3).
  //  Reclaim swaps f out of all three. C swaps in first (slot shared: not exclusive): the folio
  //  goes to the root of C's hierarchy, ctx1 (not C's parent ctx2), so A and B, mapping it
  //  from the swap cache, are descendants of its context.
  //  Walk: ctx1 (A), ctx3 (C), ctx2 (B): 3 visits, 3 contexts, 3 nodes.
  const { k } = cowKernel();
  const a = k.spawn();
  k.mmap(a, A(0), P, RW, ANON_FIXED);
  k.touch(a, A(0), "write");
  const b = k.fork(a);
  const c = k.fork(b);
  assert.equal(k.tryToUnmap(folioAt(k, a, A(0))), true);
  k.touch(c, A(0), "read");
  k.touch(b, A(0), "read");
  k.touch(a, A(0), "read");
  const f = folioAt(k, c, A(0));
  assert.equal(f.mapcount[0], 3);
  assert.equal(f.rmap, a.rmap);
  assert.deepEqual(figures(firstWalk(k, () => k.migrateFolio(f))), {
    visits: 3,
    hits: 3,
    useless: 0,
    structures: 3,
    treeNodes: 3,
  });
  for (const mm of [c, b, a]) k.exit(mm);
  assertNoLeaks(k);
});

Deno.test("remap lock: one hold per table change, tree_update per entry (at least one)", () => {
  //  (1) P writes A(0) and moves it to A(300): the new VMA enters the table (1 hold, the range
  //  spans 1 entry: 1 tree_update). Unmapping it removes the range: 1 hold; no entry is left
  //  over the range, still 1 tree_update (at least one per changed range).
  {
    const { k } = cowKernel();
    const p = k.spawn();
    k.mmap(p, A(0), P, RW, ANON_FIXED);
    k.touch(p, A(0), "write");
    assert.deepEqual(cowLocks(k), { list: 0, listRead: 0, remap: 0, updates: 0 });
    k.mremap(p, A(0), P, P, MREMAP_MAYMOVE | MREMAP_FIXED, A(300));
    assert.deepEqual(cowLocks(k), { list: 0, listRead: 0, remap: 1, updates: 1 });
    k.munmap(p, A(300), P);
    assert.deepEqual(cowLocks(k), { list: 0, listRead: 0, remap: 2, updates: 2 });
    k.exit(p);
    assertNoLeaks(k);
  }
  //  (2) split and partial merge of a moved VMA (pgoffs relative to p0 = A(0) >> 12):
  //          A(40)     A(44) A(46)    A(50)
  //  V       |====== offset 40 ========|      [p0, p0+9] -> {40}            1 hold, 1 update
  //  mprotect A(40..43) RO: split at A(44): the new upper VMA enters the table (hold, 1
  //  update: entry [p0+4, p0+9]); adjust of V: one hold for the removal (1 entry over V's old
  //  range after it: 1 update), one for the addition ([p0, p0+3]: 1): 3 holds, 3 updates.
  //  |-- RO --|=========== RW =========|      [p0, p0+3] [p0+4, p0+9] -> {40}
  //  mprotect A(44..45) RO: merges into the left VMA (vma_adjust of both VMAs): one hold removes
  //  both ranges (nothing left over either: 1 + 1 updates), one adds both back: 2 holds, 4.
  //  |---- RO ----|========= RW =======|      [p0, p0+5] [p0+6, p0+9] -> {40}
  {
    const { k, s } = cowKernel();
    const p = k.spawn();
    const p0 = A(0) / P;
    k.mmap(p, A(0), 10 * P, RW, ANON_FIXED);
    writeAll(k, p, A(0), 10);
    k.mremap(p, A(0), 10 * P, 10 * P, MREMAP_MAYMOVE | MREMAP_FIXED, A(40));
    assert.deepEqual(cowLocks(k), { list: 0, listRead: 0, remap: 1, updates: 1 });
    const table = (): number[][] =>
      s.contextOf(p).entries.map((e) => [e.first - p0, e.last - p0, ...e.offsets]);
    k.mprotect(p, A(40), 4 * P, PROT_READ);
    assert.deepEqual(table(), [[0, 3, 40], [4, 9, 40]]);
    assert.deepEqual(cowLocks(k), { list: 0, listRead: 0, remap: 4, updates: 4 });
    k.mprotect(p, A(44), 2 * P, PROT_READ);
    assert.equal(p.mapCount, 2);
    assert.deepEqual(table(), [[0, 5, 40], [6, 9, 40]]);
    assert.deepEqual(cowLocks(k), { list: 0, listRead: 0, remap: 6, updates: 8 });
    k.exit(p);
    assertNoLeaks(k);
  }
});

Deno.test("MAP_PRIVATE file VMAs: tracked once a write CoWs an anon folio, not before", () => {
  //  lib.so mapped MAP_PRIVATE at A(0) from file page 8: vm_pgoff 8, offset A(0)>>12 - 8 != 0.
  //          A(0) A(1) A(2)    A(4)
  //  P  ctx1 |  R |    |   W   |    read A(0) (page cache, no anon state); fork C;
  //                                 mprotect A(1) RO (split in 3); write A(3): anon folio g
  //  C  ctx2 |==========|           never written: no anon state
  //  Unfaulted VMAs have no anon state, so neither fork nor split gives them a remap entry.
  //  The write gives [A(2), A(4)) anon state: entry [10, 11] -> {X}.
  //  Walk of g (index 11): ctx1 step 1 at 11 << 12 finds nothing (1 node, map_count 3), the
  //  table (1 node, 1 entry), offset X (1 node) hits; ctx2 (1 node): 2 contexts + 1 entry.
  const { k, s } = cowKernel();
  const file = k.createFile("lib.so", 64);
  const p = k.spawn();
  k.mmap(p, A(0), 4 * P, RW, MAP_PRIVATE | MAP_FIXED, file, 8 * P);
  k.touch(p, A(0), "read");
  const c = k.fork(p);
  assert.equal(k.scheme.hasAnon(c.vmas.find(A(0))!), false);
  k.mprotect(p, A(1), P, PROT_READ);
  assert.equal(p.mapCount, 3);
  assert.deepEqual([...p.vmas].map((v) => k.scheme.hasAnon(v)), [false, false, false]);
  assert.equal(k.slab.live("cow_remap_entry"), 0);
  k.touch(p, A(3), "write");
  const g = folioAt(k, p, A(3));
  assert.equal(g.anon, true);
  const x = A(0) / P - 8;
  assert.deepEqual(s.contextOf(p).entries, [{ first: 10, last: 11, offsets: [x] }]);
  assert.deepEqual(s.contextOf(c).entries, []);
  assert.equal(k.slab.live("cow_remap_entry"), 1);
  assert.deepEqual(figures(firstWalk(k, () => k.migrateFolio(g))), {
    visits: 1,
    hits: 1,
    useless: 0,
    structures: 3,
    treeNodes: 4,
  });
  k.exit(c);
  k.exit(p);
  assertNoLeaks(k);
});

Deno.test("a walk past 32 offsets krealloc()s its spill array (old object freed at once)", () => {
  //  33 moves of one written page from A(0) to A(100), A(102), ... A(164): one entry with 33
  //  offsets, its array grown 2 -> 4 -> 8 -> 16 -> 32 (kmalloc-512) -> 64 (kmalloc-1k).
  //  Each of the migration's two walks gathers 33 unique offsets: a transient array of capacity
  //  32 (kmalloc-512), too small: krealloc to 64 (kmalloc-1k; the 512 object freed at once),
  //  kfree_rcu() of the 1k one after the walk. At the end of the migration: 2 kmalloc-1k
  //  objects wait for the grace period, no kmalloc-512 one.
  const { k, s, exec, slab } = probeKernel(["cow_remap_array_512", "cow_remap_array_1k"]);
  const p = k.spawn();
  for (let i = 0; i < 33; i++) {
    k.mmap(p, A(0), P, RW, ANON_FIXED);
    k.touch(p, A(0), "write");
    k.mremap(p, A(0), P, P, MREMAP_MAYMOVE | MREMAP_FIXED, A(100 + 2 * i));
  }
  assert.deepEqual(s.contextOf(p).entries.map((e) => e.offsets.length), [33]);
  const st = (c: SlabCache): number[] => [slab.stats(c).allocs, slab.stats(c).frees];
  assert.deepEqual([st("cow_remap_array_512"), st("cow_remap_array_1k")], [[1, 1], [1, 0]]);
  k.migrateFolio(folioAt(k, p, A(100)));
  assert.equal(s.counters().walk_offset_spills, 2);
  assert.deepEqual(exec.atEnd.at(-1), [0, 2]);
  assert.deepEqual([st("cow_remap_array_512"), st("cow_remap_array_1k")], [[3, 3], [3, 2]]);
  assert.equal(slab.live("cow_remap_array_1k"), 1); // the entry's own array
  k.exit(p);
  assertNoLeaks(k);
});

Deno.test("a large folio over three remap entries of one offset looks that offset up once", () => {
  //  P writes a 4-page folio f at A(0) (order 2), moves it to B = A(300) (offset X = 300),
  //  then mprotects B+1 read-only: three VMAs, three entries (pgoffs relative to p0):
  //          B    B+1  B+2     B+4
  //  P  ctx1 |f0 |f1 |f2 f3  |        [p0] [p0+1] [p0+2, p0+3] -> {X}
  //  Walk of f: step 1 at A(0..3) finds nothing (1 node, map_count 3); the table lookup over
  //  [p0, p0+3] reads all 3 entries (1 node) but one distinct offset: one lookup (1 node) over
  //  B..B+4 visits the 3 VMAs, each mapping part of f.
  const { k, s } = probeKernel([], { anonFolioOrder: 2 });
  const p = k.spawn();
  const p0 = A(0) / P;
  k.mmap(p, A(0), 4 * P, RW, ANON_FIXED);
  k.touch(p, A(0), "write");
  const f = folioAt(k, p, A(0));
  assert.equal(f.nrPages, 4);
  k.mremap(p, A(0), 4 * P, 4 * P, MREMAP_MAYMOVE | MREMAP_FIXED, A(300));
  k.mprotect(p, A(301), P, PROT_READ);
  assert.equal(folioAt(k, p, A(303)), f);
  assert.deepEqual(s.contextOf(p).entries.map((e) => [e.first - p0, e.last - p0, ...e.offsets]), [
    [0, 0, 300],
    [1, 1, 300],
    [2, 3, 300],
  ]);
  const r = figures(firstWalk(k, () => k.migrateFolio(f)));
  assert.deepEqual(r, { visits: 3, hits: 3, useless: 0, structures: 4, treeNodes: 3 });
  assert.deepEqual(s.lastWalk, { contexts: 1, remapEntries: 3, offsets: 1, shortcut: false });
  k.exit(p);
  assertNoLeaks(k);
});

Deno.test("descendants are walked in post-order: a grandchild before its parent", () => {
  //          A(0)
  //  A  ctx1 |f|      written; forks B
  //  B  ctx2 |g|      forks C, then writes A(0): its own copy g
  //  C  ctx3 |f|      f: mapcount 2 (A, C)
  //  folio_referenced stops once both mappings are found: ctx1 (A), then ctx2's subtree in
  //  post-order, ctx3 (C) first: done before ctx2, whose VMA at A(0) maps g (never visited).
  const { k, s } = cowKernel();
  const a = k.spawn();
  k.mmap(a, A(0), P, RW, ANON_FIXED);
  k.touch(a, A(0), "write");
  const b = k.fork(a);
  const c = k.fork(b);
  k.touch(b, A(0), "write");
  const f = folioAt(k, a, A(0));
  assert.equal(f.mapcount[0], 2);
  const r = figures(firstWalk(k, () => k.folioReferenced(f)));
  assert.deepEqual(r, { visits: 2, hits: 2, useless: 0, structures: 2, treeNodes: 2 });
  assert.equal(s.lastWalk.contexts, 2);
  for (const mm of [c, b, a]) k.exit(mm);
  assertNoLeaks(k);
});

Deno.test("remap table maple nodes are freed at once (no RCU wait, as VMA-tree nodes)", () => {
  //  Five one-page VMAs written and moved: 5 entries, 11 ranges, 3 nodes. Unmapping one: 4
  //  entries, 9 ranges, 1 node: two nodes freed, none pending RCU at the end of the munmap.
  const { k, exec, slab } = probeKernel(["cow_remap_node"]);
  const p = k.spawn();
  for (let i = 0; i < 5; i++) {
    k.mmap(p, A(2 * i), P, RW, ANON_FIXED);
    k.touch(p, A(2 * i), "write");
    k.mremap(p, A(2 * i), P, P, MREMAP_MAYMOVE | MREMAP_FIXED, A(100 + 2 * i));
  }
  assert.equal(slab.live("cow_remap_node"), 3);
  k.munmap(p, A(108), P);
  assert.deepEqual(exec.atEnd.at(-1), [0]);
  assert.deepEqual([slab.live("cow_remap_node"), slab.stats("cow_remap_node").frees], [1, 2]);
  k.exit(p);
  assertNoLeaks(k);
});

Deno.test("check() reports a corrupted refcount, range count, array capacity or offset", () => {
  //  P writes A(0) and moves it to A(40): ctx1 refcount 2 (mm + f), one remapped VMA, one
  //  entry [p0] -> {40} without an array. Each corruption is reported, then undone.
  const { k, s } = cowKernel();
  const p = k.spawn();
  k.mmap(p, A(0), P, RW, ANON_FIXED);
  k.touch(p, A(0), "write");
  k.mremap(p, A(0), P, P, MREMAP_MAYMOVE | MREMAP_FIXED, A(40));
  const ctx = s.contextOf(p);
  const p0 = A(0) / P;
  assert.deepEqual(s.check(), []);
  ctx.refcount++; // a leaked reference
  assert.deepEqual(s.check(), ["context 1 refcount 3 != 2"]);
  ctx.refcount--;
  ctx.rangeCount++; // a range counted twice
  assert.deepEqual(s.check(), ["context 1 has 2 ranges for 1 remapped VMAs"]);
  ctx.rangeCount--;
  const e = ctx.table.all()[0];
  e.cap = 2; // a one-offset entry still holding an array
  assert.deepEqual(s.check(), ["context 1 remap array capacity 2 for 1"]);
  e.cap = 0;
  // An offset no VMA has: as many entries as the rebuilt table, different offsets.
  ctx.table.add({ first: p0, last: p0, offset: 41 });
  assert.deepEqual(s.check(), ["context 1 remap entries stale"]);
  ctx.table.remove({ first: p0, last: p0, offset: 41 });
  assert.deepEqual(s.check(), []);
  k.exit(p);
  assertNoLeaks(k);
});
