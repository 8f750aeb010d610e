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
import { Slab } from "../core/slab.ts";
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
  readonly caches: readonly ("cow_remap_array" | "cow_remap_array_512")[];
  readonly atEnd: number[][] = [];
  constructor(caches: readonly ("cow_remap_array" | "cow_remap_array_512")[]) {
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
