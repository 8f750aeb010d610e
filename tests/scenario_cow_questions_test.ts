// The mailing-list questions about the CoW-context design (issue 10; reference §10.4), each as a
// scenario drawn in ASCII and run under both anon_vma (Linux 6.18) and cow_context, with the exact
// figures of one full rmap walk (the `try_to_migrate` walk of a migration, which visits every
// candidate): candidates visited, hits, useless visits, structures touched (anon_vmas; contexts +
// remap entries), tree nodes, and for cow_context the contexts traversed and remap entries read.
// Every kernel runs with debugChecks (invariants after each operation) and the oracle checks
// every walk; each scenario ends with every process exited and no slab object left.

import assert from "node:assert/strict";
import { Kernel, type WalkResult } from "../core/kernel/kernel.ts";
import { AnonVmaScheme } from "../core/rmap/anon_vma.ts";
import { type CowContext, CowContextScheme } from "../core/rmap/cow_context.ts";
import type { RmapScheme } from "../core/rmap/scheme.ts";
import {
  type Folio,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  type Mm,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
} from "../core/kernel/types.ts";

const P = PAGE_SIZE;
const RW = PROT_READ | PROT_WRITE;
const ANON_FIXED = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
const MOVE = MREMAP_MAYMOVE | MREMAP_FIXED;
/** Address of page `n` of the test window. */
const A = (n: number): number => 0x100000000 + n * P;
/** Address of page `n` of a second window, where VMAs are moved to. */
const B = (n: number): number => 0x200000000 + n * P;

type SchemeId = "anon_vma" | "cow_context";

/** One walk's figures; `contexts` and `remapEntries` only for cow_context. */
interface Figures {
  visits: number;
  hits: number;
  useless: number;
  structures: number;
  treeNodes: number;
  contexts?: number;
  remapEntries?: number;
}

function kernel(id: SchemeId): Kernel {
  const scheme: RmapScheme = id === "anon_vma" ? new AnonVmaScheme() : new CowContextScheme();
  return new Kernel({ scheme, params: { debugChecks: true } });
}

/** Figures of the `try_to_migrate` walk of `folio` (a full walk: the callback never stops it). */
function walk(k: Kernel, folio: Folio): Figures {
  const seen: WalkResult[] = [];
  k.onWalk((r) => seen.push(r));
  const before = seen.length;
  k.migrateFolio(folio);
  const r = seen[before];
  assert.ok(r && r.kind === "migrate", "no migrate walk");
  const out: Figures = {
    visits: r.visits,
    hits: r.hits,
    useless: r.useless,
    structures: r.structures,
    treeNodes: r.treeNodes,
  };
  if (k.scheme instanceof CowContextScheme) {
    out.contexts = k.scheme.lastWalk.contexts;
    out.remapEntries = k.scheme.lastWalk.remapEntries;
  }
  return out;
}

function folioAt(k: Kernel, mm: Mm, addr: number): Folio {
  const f = k.pte(mm, addr)?.folio;
  assert.ok(f, `no folio at ${addr.toString(16)}`);
  return f;
}

function writeAll(k: Kernel, mm: Mm, start: number, pages: number): void {
  for (let i = 0; i < pages; i++) k.touch(mm, start + i * P, "write");
}

/** Exits every live process and checks that no slab object is left. */
function exitAllNoLeaks(k: Kernel): void {
  for (const mm of [...k.mms.values()]) k.exit(mm);
  const left = Object.entries(k.slab.snapshot().objects).filter(([, n]) => n !== 0);
  assert.deepEqual(left, []);
}

/** Runs `scenario` under both schemes; returns each scheme's list of walk figures. */
function sideBySide(
  scenario: (k: Kernel, id: SchemeId) => Figures[],
): Record<SchemeId, Figures[]> {
  const out = {} as Record<SchemeId, Figures[]>;
  for (const id of ["anon_vma", "cow_context"] as const) {
    const k = kernel(id);
    out[id] = scenario(k, id);
    exitAllNoLeaks(k);
  }
  return out;
}

/** A writes 4 pages at A(0), forks B, B forks C. */
function chainABC(k: Kernel): { a: Mm; b: Mm; c: Mm } {
  const a = k.spawn();
  k.mmap(a, A(0), 4 * P, RW, ANON_FIXED);
  writeAll(k, a, A(0), 4);
  const b = k.fork(a);
  const c = k.fork(b);
  return { a, b, c };
}

/** Figures of a `folio_referenced` walk (stops once every mapping was found). */
function walkReferenced(k: Kernel, folio: Folio): Figures {
  const seen: WalkResult[] = [];
  k.onWalk((r) => seen.push(r));
  const before = seen.length;
  k.folioReferenced(folio);
  const r = seen[before];
  const out: Figures = {
    visits: r.visits,
    hits: r.hits,
    useless: r.useless,
    structures: r.structures,
    treeNodes: r.treeNodes,
  };
  if (k.scheme instanceof CowContextScheme) {
    out.contexts = k.scheme.lastWalk.contexts;
    out.remapEntries = k.scheme.lastWalk.remapEntries;
  }
  return out;
}

/** Side-by-side figures of one walk: anon_vma first, cow_context second. */
function assertBoth(
  got: Record<SchemeId, Figures[]>,
  want: Record<SchemeId, Figures[]>,
): void {
  assert.deepEqual(got.anon_vma, want.anon_vma, "anon_vma");
  assert.deepEqual(got.cow_context, want.cow_context, "cow_context");
}

Deno.test("Q1: A forks B, B forks C: a folio of A not yet CoW-copied in B or C", () => {
  //          A(0)     A(4)
  //  A  ctx1 |== f ==|      anon_vma avA (root)        f: written by A before the forks,
  //  B  ctx2 |== f ==|      avB, chain {avB, avA}         mapped by A, B and C
  //  C  ctx3 |== f ==|      avC, chain {avC, avB, avA}
  //  hierarchy: ctx1 -> ctx2 -> ctx3
  //  anon_vma:    f -> avA; its interval tree holds A's, B's and C's VMAs: 1 anon_vma, 3 visits.
  //  cow_context: f -> ctx1; ctx1, then ctx3, ctx2 (post-order), each one VMA-tree lookup at f's
  //               index (1 maple node each, map_count 1); empty remap tables are not read.
  assertBoth(
    sideBySide((k) => {
      const { a } = chainABC(k);
      return [walk(k, folioAt(k, a, A(1)))];
    }),
    {
      anon_vma: [{ visits: 3, hits: 3, useless: 0, structures: 1, treeNodes: 3 }],
      cow_context: [
        {
          visits: 3,
          hits: 3,
          useless: 0,
          structures: 3,
          treeNodes: 3,
          contexts: 3,
          remapEntries: 0,
        },
      ],
    },
  );
});

Deno.test("Q2: B CoW-copies a page, then forks C: the new folio found in B and C", () => {
  //          A(0)     A(4)
  //  A  ctx1 |== . ==|      page 1: A's original folio (no longer mapped by B)
  //  B  ctx2 |== g ==|      B writes page 1: new folio g -> avB / ctx2; then B forks C
  //  C  ctx3 |== g ==|      C maps g (CoW, read-only)
  //  anon_vma:    g -> avB; avB's tree holds B's and C's VMAs (C's chain links avB).
  //  cow_context: g -> ctx2; ctx2, then its child ctx3. ctx1 is not visited.
  assertBoth(
    sideBySide((k) => {
      const a = k.spawn();
      k.mmap(a, A(0), 4 * P, RW, ANON_FIXED);
      writeAll(k, a, A(0), 4);
      const b = k.fork(a);
      k.touch(b, A(1), "write");
      k.fork(b);
      return [walk(k, folioAt(k, b, A(1)))];
    }),
    {
      anon_vma: [{ visits: 2, hits: 2, useless: 0, structures: 1, treeNodes: 2 }],
      cow_context: [
        {
          visits: 2,
          hits: 2,
          useless: 0,
          structures: 2,
          treeNodes: 2,
          contexts: 2,
          remapEntries: 0,
        },
      ],
    },
  );
});

Deno.test("Q3: C mremaps the inherited VMA, in both cases above", () => {
  //          A(0)     A(4)              B(0)     B(4)
  //  A  ctx1 |== f ==|
  //  B  ctx2 |== f ==|                                   (case Q2: B's own copy g)
  //  C  ctx3                            |== f ==|        mremap A(0) -> B(0), pgoff kept:
  //     ctx3 remap table: [A(0)>>12, A(0)>>12 + 3] -> {offset (B(0) - A(0)) >> 12}
  //  anon_vma:    unchanged (the moved VMA keeps its pgoff and its AVCs): same figures as Q1/Q2.
  //  cow_context: in ctx3 the lookup at f's index finds nothing (1 node); the remap table (1 node)
  //               yields 1 entry, 1 offset; the lookup at index + offset (1 node) hits. So one
  //               more structure (the entry) and two more tree nodes than Q1/Q2.
  const case1 = sideBySide((k) => {
    const { a, c } = chainABC(k);
    k.mremap(c, A(0), 4 * P, 4 * P, MOVE, B(0));
    if (k.scheme instanceof CowContextScheme) {
      const off = (B(0) - A(0)) / P;
      assert.deepEqual((c.rmap as CowContext).entries, [
        { first: A(0) / P, last: A(0) / P + 3, offsets: [off] },
      ]);
      assert.equal(k.slab.live("cow_remap_entry"), 1);
      assert.equal(k.slab.live("cow_remap_node"), 1);
    }
    return [walk(k, folioAt(k, a, A(1)))];
  });
  assertBoth(case1, {
    anon_vma: [{ visits: 3, hits: 3, useless: 0, structures: 1, treeNodes: 3 }],
    cow_context: [
      { visits: 3, hits: 3, useless: 0, structures: 4, treeNodes: 5, contexts: 3, remapEntries: 1 },
    ],
  });
  const case2 = sideBySide((k) => {
    const a = k.spawn();
    k.mmap(a, A(0), 4 * P, RW, ANON_FIXED);
    writeAll(k, a, A(0), 4);
    const b = k.fork(a);
    k.touch(b, A(1), "write");
    const c = k.fork(b);
    k.mremap(c, A(0), 4 * P, 4 * P, MOVE, B(0));
    return [walk(k, folioAt(k, b, A(1)))];
  });
  assertBoth(case2, {
    anon_vma: [{ visits: 2, hits: 2, useless: 0, structures: 1, treeNodes: 2 }],
    cow_context: [
      { visits: 2, hits: 2, useless: 0, structures: 3, treeNodes: 4, contexts: 2, remapEntries: 1 },
    ],
  });
});

/** Q4's layout; `bFirst`: B is forked before C (so C is the newer child, walked first). */
function q4(k: Kernel, bFirst: boolean): { a: Mm; b: Mm; c: Mm } {
  const a = k.spawn();
  k.mmap(a, A(0), 4 * P, RW, ANON_FIXED);
  writeAll(k, a, A(0), 4);
  const first = k.fork(a);
  const second = k.fork(a);
  const [b, c] = bFirst ? [first, second] : [second, first];
  k.munmap(b, A(0), 4 * P);
  k.mmap(b, A(0), 4 * P, RW, ANON_FIXED);
  writeAll(k, b, A(0), 4);
  return { a, b, c };
}

Deno.test("Q4: B maps new memory where A's VMA was; A's folio shared with C visits B uselessly", () => {
  //          A(0)     A(4)
  //  A  ctx1 |== f ==|      avA
  //  B  ctx2 |== n ==|      munmap + mmap at the same address, written: B's own folios n,
  //                         a new VMA with offset 0 and a new anon_vma avB' (not linked to avA)
  //  C  ctx3 |== f ==|      f still shared with A
  //  hierarchy: ctx1 -> {ctx2, ctx3}
  //  anon_vma:    avA's tree holds A's and C's VMAs only: 2 visits, no useless one.
  //  cow_context: ctx2 is a descendant of ctx1 and B has a VMA at f's address with offset 0: it is
  //               visited and maps n, not f -- the useless visit. A full walk makes it in either
  //               fork order.
  for (const bFirst of [true, false]) {
    assertBoth(
      sideBySide((k) => {
        const { a } = q4(k, bFirst);
        return [walk(k, folioAt(k, a, A(1)))];
      }),
      {
        anon_vma: [{ visits: 2, hits: 2, useless: 0, structures: 1, treeNodes: 2 }],
        cow_context: [
          {
            visits: 3,
            hits: 2,
            useless: 1,
            structures: 3,
            treeNodes: 3,
            contexts: 3,
            remapEntries: 0,
          },
        ],
      },
    );
  }
  // folio_referenced stops once both mappings were found. Children are walked newest first:
  // forked B then C -> ctx1, ctx3 (hit: done), B is never reached; forked C then B -> ctx1, ctx2
  // (useless), ctx3.
  assertBoth(
    sideBySide((k) => {
      const { a } = q4(k, true);
      return [walkReferenced(k, folioAt(k, a, A(1)))];
    }),
    {
      anon_vma: [{ visits: 2, hits: 2, useless: 0, structures: 1, treeNodes: 2 }],
      cow_context: [
        {
          visits: 2,
          hits: 2,
          useless: 0,
          structures: 2,
          treeNodes: 2,
          contexts: 2,
          remapEntries: 0,
        },
      ],
    },
  );
  assertBoth(
    sideBySide((k) => {
      const { a } = q4(k, false);
      return [walkReferenced(k, folioAt(k, a, A(1)))];
    }),
    {
      anon_vma: [{ visits: 2, hits: 2, useless: 0, structures: 1, treeNodes: 2 }],
      cow_context: [
        {
          visits: 3,
          hits: 2,
          useless: 1,
          structures: 3,
          treeNodes: 3,
          contexts: 3,
          remapEntries: 0,
        },
      ],
    },
  );
});

Deno.test("Q5: N remaps in one mm: a walk reads only the entries over the folio's pgoff", () => {
  //  distinct:   for i < N: mmap A(2i) (1 page), write, mremap A(2i) -> B(2i)
  //              N VMAs, N pgoffs; table: N entries [A(2i)>>12] -> {(B(0) - A(0)) >> 12}
  //  same range: N times: mmap A(0), write, mremap A(0) -> B(2i)
  //              N VMAs with pgoff A(0)>>12; table: 1 entry [A(0)>>12] -> N offsets
  //  The folio walked is the first one moved (at B(0)), exclusive; the lookup at its index finds
  //  nothing (the VMA moved), so the short-cut does not stop the walk before the remap offsets.
  //  Tree nodes: VMA-tree lookups touch depth(2 map_count + 1) nodes and the table lookup
  //  depth(2 entries + 1), 10 slots per node.
  //  anon_vma: every VMA was faulted on its own (a hole or a move apart): N anon_vmas of one VMA
  //  each; the walk is 1 anon_vma, 1 visit, whatever N.
  const anon = [{ visits: 1, hits: 1, useless: 0, structures: 1, treeNodes: 1 }];
  const want: Record<number, { distinct: Figures; same: Figures; slab: Record<string, number> }> = {
    1: {
      //  1 lookup at index (1 node) + table (1) + 1 offset lookup (1) = 3 nodes
      distinct: { visits: 1, hits: 1, useless: 0, structures: 2, treeNodes: 3 },
      same: { visits: 1, hits: 1, useless: 0, structures: 2, treeNodes: 3 },
      slab: {},
    },
    8: {
      //  distinct: 2 + 2 + 2 nodes; same: 2 + 1 + 8 x 2 = 19 nodes, 8 candidates, 7 useless
      distinct: { visits: 1, hits: 1, useless: 0, structures: 2, treeNodes: 6 },
      same: { visits: 8, hits: 1, useless: 7, structures: 2, treeNodes: 19 },
      slab: { cow_remap_array_96: 1 }, // 8 offsets: capacity 8, 8 + 64 = 72 B -> kmalloc-96
    },
    64: {
      //  distinct: 3 + 3 + 3; same: 3 + 1 + 64 x 3 = 196 nodes, 64 candidates, 63 useless
      distinct: { visits: 1, hits: 1, useless: 0, structures: 2, treeNodes: 9 },
      same: { visits: 64, hits: 1, useless: 63, structures: 2, treeNodes: 196 },
      slab: { cow_remap_array_1k: 1 }, // capacity 64, 520 B -> kmalloc-1k
    },
  };
  for (const n of [1, 8, 64]) {
    const w = want[n];
    assertBoth(
      sideBySide((k) => {
        const p = k.spawn();
        for (let i = 0; i < n; i++) {
          k.mmap(p, A(2 * i), P, RW, ANON_FIXED);
          k.touch(p, A(2 * i), "write");
          k.mremap(p, A(2 * i), P, P, MOVE, B(2 * i));
        }
        if (k.scheme instanceof CowContextScheme) {
          assert.equal(k.slab.live("cow_remap_entry"), n);
          assert.equal(k.scheme.counters().remap_arrays, 0);
        }
        return [walk(k, folioAt(k, p, B(0)))];
      }),
      { anon_vma: anon, cow_context: [{ ...w.distinct, contexts: 1, remapEntries: 1 }] },
    );
    assertBoth(
      sideBySide((k) => {
        const p = k.spawn();
        for (let i = 0; i < n; i++) {
          k.mmap(p, A(0), P, RW, ANON_FIXED);
          k.touch(p, A(0), "write");
          k.mremap(p, A(0), P, P, MOVE, B(2 * i));
        }
        const s = k.scheme;
        if (s instanceof CowContextScheme) {
          assert.equal(k.slab.live("cow_remap_entry"), 1);
          for (const [cache, live] of Object.entries(w.slab)) {
            assert.equal(k.slab.live(cache as "cow_remap_array_96"), live, cache);
          }
        }
        const r = walk(k, folioAt(k, p, B(0)));
        if (s instanceof CowContextScheme) {
          // More than 16 distinct offsets: each of the migration's two walks allocates a
          // transient array (capacity 32, grown to 64) and RCU-frees it.
          assert.equal(s.counters().walk_offset_spills ?? 0, n > 16 ? 2 : 0);
        }
        return [r];
      }),
      { anon_vma: anon, cow_context: [{ ...w.same, contexts: 1, remapEntries: 1 }] },
    );
  }
});

Deno.test("Q5b: a walk spills its offsets past 16, not at 16 (WALK_DEFAULT_STACK_SIZE)", () => {
  //  n moves of one written page from A0 to B0, B2, ... B(2n-2): one remap entry with n
  //  offsets. Each of the migration's two walks gathers n unique offsets: up to 16 fit the
  //  on-stack array; a 17th allocates a transient one (capacity 32), RCU-freed after the walk.
  for (const [n, spills] of [[15, 0], [16, 0], [17, 2]]) {
    const k = kernel("cow_context");
    const s = k.scheme as CowContextScheme;
    const p = k.spawn();
    for (let i = 0; i < n; i++) {
      k.mmap(p, A(0), P, RW, ANON_FIXED);
      k.touch(p, A(0), "write");
      k.mremap(p, A(0), P, P, MOVE, B(2 * i));
    }
    const r = walk(k, folioAt(k, p, B(0)));
    assert.deepEqual([r.visits, r.hits, r.useless, r.remapEntries], [n, 1, n - 1, 1], `n = ${n}`);
    assert.equal(s.counters().walk_offset_spills ?? 0, spills, `n = ${n}`);
  }
});

Deno.test("Q5c: a large folio mapped twice by one mm is still exclusive to it: no child walked", () => {
  //  P writes a 4-page folio f at A0..A3 (mTHP order 2), forks C, and C unmaps its copy: only
  //  P maps f. P moves A2..A3 to B0..B1: f is mapped by two VMAs of one mm.
  //    P: [f0 f1] A0   [f2 f3] B0 (remap offset B0 - A2)      C (child context): nothing
  //  folio_maybe_mapped_shared counts mms (CONFIG_MM_ID), so f is not shared: the walk takes
  //  P's context (offset 0, then its remap offset) and stops before C's.
  const scheme = new CowContextScheme();
  const k = new Kernel({ scheme, params: { debugChecks: true, anonFolioOrder: 2 } });
  const p = k.spawn();
  k.mmap(p, A(0), 4 * P, RW, ANON_FIXED);
  k.touch(p, A(0), "write");
  const f = folioAt(k, p, A(0));
  assert.equal(f.nrPages, 4);
  const c = k.fork(p);
  k.munmap(c, A(0), 4 * P);
  k.mremap(p, A(2), 2 * P, 2 * P, MOVE, B(0));
  assert.deepEqual([folioAt(k, p, A(1)), folioAt(k, p, B(1))], [f, f]);
  const r = walk(k, f);
  assert.deepEqual([r.visits, r.hits, r.useless, r.contexts], [2, 2, 0, 1]);
});

Deno.test("Q6: contexts dying in different orders: the cascade stops at the first referenced ancestor", () => {
  //  A writes f (1 page) and forks B and D; B forks C.     ctx ids: A=1 B=2 D=3 C=4
  //
  //      ctx1 (A)   refcount = mm + children B, D + folio f
  //      /      \
  //   ctx2 (B)  ctx3 (D)
  //     |
  //   ctx4 (C)
  //
  //  The state after each exit, as "id:refcount" (x: mm gone, context kept), and the contexts
  //  freed so far.
  const run = (order: string[]): string[] => {
    const k = kernel("cow_context");
    const s = k.scheme as CowContextScheme;
    const a = k.spawn();
    k.mmap(a, A(0), P, RW, ANON_FIXED);
    k.touch(a, A(0), "write");
    const b = k.fork(a);
    const d = k.fork(a);
    const c = k.fork(b);
    const mms: Record<string, Mm> = { a, b, c, d };
    const log: string[] = [];
    for (const who of order) {
      k.exit(mms[who]);
      const ctxs = [...s.live].map((x) => `${x.id}${x.mm ? "" : "x"}:${x.refcount}`);
      log.push(`${who} exits: freed ${s.counters().contexts_freed ?? 0}, live ${ctxs.join(" ")}`);
    }
    exitAllNoLeaks(k);
    return log;
  };
  // Children first: each exit frees its context at once; B's free cascades to A, which stops
  // there (A's mm, D and f still reference it).
  assert.deepEqual(run(["c", "b", "a", "d"]), [
    "c exits: freed 1, live 1:4 2:1 3:1",
    "b exits: freed 2, live 1:3 3:1",
    "a exits: freed 2, live 1x:2 3:1", // ctx1 kept for D and f
    "d exits: freed 4, live ", // f freed, ctx3 freed, cascade frees ctx1
  ]);
  // Parents first: A and B leave contexts behind; C's exit cascades C -> B and stops at A.
  assert.deepEqual(run(["a", "b", "c", "d"]), [
    "a exits: freed 0, live 1x:3 2:2 3:1 4:1",
    "b exits: freed 0, live 1x:3 2x:1 3:1 4:1",
    "c exits: freed 2, live 1x:2 3:1",
    "d exits: freed 4, live ",
  ]);
  // A walk of f after A and B exited (f mapped by C and D) still traverses both dead contexts:
  // ctx1 (mm gone), ctx3, ctx4, ctx2 (mm gone): 4 contexts for 2 mappings. anon_vma: avA's tree
  // holds C's and D's VMAs: 2 visits.
  assertBoth(
    sideBySide((k) => {
      const a = k.spawn();
      k.mmap(a, A(0), P, RW, ANON_FIXED);
      k.touch(a, A(0), "write");
      const b = k.fork(a);
      const d = k.fork(a);
      const c = k.fork(b);
      const f = folioAt(k, a, A(0));
      k.exit(a);
      k.exit(b);
      void c, d;
      return [walk(k, f)];
    }),
    {
      anon_vma: [{ visits: 2, hits: 2, useless: 0, structures: 1, treeNodes: 2 }],
      cow_context: [
        {
          visits: 2,
          hits: 2,
          useless: 0,
          structures: 4,
          treeNodes: 2,
          contexts: 4,
          remapEntries: 0,
        },
      ],
    },
  );
});

Deno.test("Q7: exec and vfork (CLONE_VM) inside the hierarchy", () => {
  //  exec: A -> B -> C as in Q1, then B execs.
  //      ctx1 (A) -> ctx2 (B's old mm: torn down, kept for C) -> ctx3 (C)
  //      ctx5 (B's new mm: mm_alloc -> mm_init -> mm_init_cow_context, a root; no parent)
  //  anon_vma: B's VMAs are unlinked; avA's tree holds A's and C's: 2 visits.
  //  cow_context: ctx1, ctx3, ctx2 (mm gone): 3 contexts, 2 visits.
  //
  //  vfork: A vforks V. CLONE_VM: copy_mm takes a reference on A's mm (kernel/fork.c copy_mm) --
  //  no new mm, no dup_mmap, no context. V's write to page 2 is a write by A's mm: page 2 is
  //  still shared with C, so A CoWs it (new folio h -> avA / ctx1). V then execs: a fresh mm
  //  with a root context (the kernel core has no task or CLONE_VM model, so the vfork child's
  //  execve is a spawn; execve(mm) would tear A's shared mm down).
  //  anon_vma: h -> avA, whose tree still holds C's VMA: 2 visits, 1 useless.
  //  cow_context: h is exclusive to A; the short-cut stops after ctx1: 1 visit.
  const figs = sideBySide((k, id) => {
    const { a, b, c } = chainABC(k);
    k.execve(b);
    const r1 = walk(k, folioAt(k, a, A(1)));
    k.touch(a, A(2), "write"); // the vfork child V writes through A's mm
    const v = k.spawn(); // V's execve
    k.mmap(v, A(0), P, RW, ANON_FIXED);
    k.touch(v, A(0), "write");
    if (id === "cow_context") {
      const actx = a.rmap as CowContext;
      assert.deepEqual(actx.children.map((x) => x.id), [2]); // only B's old context
      assert.equal((v.rmap as CowContext).parent, null);
      assert.equal(k.slab.live("cow_context"), 5); // A, B old, C, B new, V
    }
    void c;
    const r2 = walk(k, folioAt(k, a, A(2)));
    return [r1, r2];
  });
  assertBoth(figs, {
    anon_vma: [
      { visits: 2, hits: 2, useless: 0, structures: 1, treeNodes: 2 },
      { visits: 2, hits: 1, useless: 1, structures: 1, treeNodes: 2 },
    ],
    cow_context: [
      { visits: 2, hits: 2, useless: 0, structures: 3, treeNodes: 2, contexts: 3, remapEntries: 0 },
      { visits: 1, hits: 1, useless: 0, structures: 1, treeNodes: 1, contexts: 1, remapEntries: 0 },
    ],
  });
});
