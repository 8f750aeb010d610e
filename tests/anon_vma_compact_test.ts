// The compact representations of the classic anon_vma scheme (issue #12, memory): a VMA whose
// chain is one AVC of its own anon_vma keeps that AVC as its state; an anon_vma embeds its
// interval tree's root and is its own rwsem. These tests pin that the representation changes
// nothing that is observable: chains (one AVC and many), tree contents, walk order and figures,
// lock classes and counted acquisitions.

import { assertEquals, assertThrows } from "./assert.ts";
import { Kernel, type WalkResult } from "../core/kernel/kernel.ts";
import { CountingExec } from "../core/machine/exec.ts";
import { LOCK_SLOT } from "../core/machine/lock_slot.ts";
import { AnonVma, AnonVmaScheme, Avc } from "../core/rmap/anon_vma.ts";
import { AnonVmaPerAvLockScheme } from "../core/rmap/anon_vma_per_av_lock.ts";
import { AnonVma2026Scheme } from "../core/rmap/anon_vma_2026.ts";
import {
  type Folio,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  type Mm,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
  type Vma,
} from "../core/kernel/types.ts";

const P = PAGE_SIZE;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
const X = 0x7f0000000000;
const pg = (n: number): number => X + n * P;

function world(scheme: AnonVmaScheme = new AnonVmaScheme()): {
  k: Kernel;
  s: AnonVmaScheme;
  exec: CountingExec;
  walks: WalkResult[];
} {
  const exec = new CountingExec();
  const k = new Kernel({ scheme, exec, params: { debugChecks: true } });
  const walks: WalkResult[] = [];
  k.onWalk((r) => walks.push(r));
  return { k, s: scheme, exec, walks };
}

function vmas(mm: Mm): Vma[] {
  return [...mm.vmas];
}

function folioAt(k: Kernel, mm: Mm, addr: number): Folio {
  const f = k.pte(mm, addr)?.folio;
  if (!f) throw new Error(`no folio at ${addr}`);
  return f;
}

/** Every AVC of every VMA of `mms` is in its anon_vma's tree, and the trees hold nothing else. */
function assertTreesMatchChains(s: AnonVmaScheme, mms: Mm[]): void {
  const inChains = new Map<AnonVma, Set<Avc>>();
  for (const mm of mms) {
    for (const v of mm.vmas) {
      for (const avc of s.state(v).chain) {
        let set = inChains.get(avc.anonVma);
        if (!set) inChains.set(avc.anonVma, set = new Set());
        set.add(avc);
      }
    }
  }
  for (const av of s.live) {
    const nodes = [...av.tree.nodes()];
    assertEquals(nodes.length, av.tree.size);
    assertEquals(av.tree.isEmpty(), nodes.length === 0);
    assertEquals(av.treeEmpty, nodes.length === 0);
    assertEquals(av.tree.root === null, nodes.length === 0);
    assertEquals(new Set(nodes), inChains.get(av) ?? new Set());
  }
}

Deno.test("a chain of one AVC of the VMA's own anon_vma is kept as that AVC", () => {
  const { k, s } = world();
  const mm = k.spawn();
  k.mmap(mm, X, 4 * P, RW, ANON);
  const v = vmas(mm)[0];
  // Unfaulted: no anon_vma, empty chain.
  assertEquals([s.anonVmaOf(v), s.state(v).chain.length, s.hasAnon(v)], [null, 0, false]);
  k.touch(mm, pg(0), "write");
  const av = s.anonVmaOf(v)!;
  const avc = v.rmap as Avc;
  assertEquals(avc instanceof Avc, true);
  assertEquals([avc.vma, avc.anonVma], [v, av]);
  assertEquals(s.state(v).anonVma, av);
  assertEquals(s.state(v).chain, [avc]);
  assertEquals([s.hasAnon(v), s.isForkChild(v), s.maybeHasSharedAnon(v)], [true, false, false]);
  assertEquals(s.anonIdentity(v), av);
  assertEquals([...av.tree.nodes()], [avc]);
  assertEquals([avc.handle?.start, avc.handle?.last], [X / P, X / P + 3]);
  // A split gives both parts one AVC of the shared anon_vma: both kept as AVCs.
  k.mprotect(mm, pg(1), P, PROT_READ);
  const parts = vmas(mm);
  assertEquals(parts.length, 3);
  for (const p of parts) {
    assertEquals(p.rmap instanceof Avc, true);
    assertEquals(s.anonVmaOf(p), av);
    assertEquals(s.state(p).chain.map((a) => a.vma), [p]);
  }
  assertEquals(av.numActiveVmas, 3);
  assertEquals(av.tree.size, 3);
  assertTreesMatchChains(s, [mm]);
  // Merged back: one AVC again.
  k.mprotect(mm, pg(1), P, RW);
  const [whole] = vmas(mm);
  assertEquals(vmas(mm).length, 1);
  assertEquals([whole.rmap instanceof Avc, s.anonVmaOf(whole), av.tree.size], [true, av, 1]);
  k.assertInvariants();
  // Unmapped: the state is the unfaulted one and the anon_vma is freed.
  // KSM pins are counted beside the anon_vma and keep it referenced.
  const rc = av.refcount;
  assertEquals(s.ksmGetAnonVma(whole), av);
  assertEquals([av.ksmPins, av.refcount], [1, rc + 1]);
  s.ksmPutAnonVma(av);
  assertEquals([av.ksmPins, av.refcount, av.freed], [0, rc, false]);
  k.munmap(mm, X, 4 * P);
  assertEquals([av.freed, av.treeEmpty, s.live.has(av), s.live.size], [true, true, false, 0]);
  assertThrows(() => (av.ksmPins = 1), Error, "freed");
  assertEquals(k.slab.live("anon_vma_chain"), 0);
});

/**
 * Walk figures `[kind, visits, hits, useless, structures, treeNodes]` of the fork-chain scenario
 * below, as the code before the compact representations gave them (identical in the three
 * classic variants).
 */
const CHAIN_WALKS = [
  ["migrate", 5, 5, 0, 1, 6],
  ["remove_migration", 5, 5, 0, 1, 6],
  ["migrate", 3, 3, 0, 1, 5],
  ["remove_migration", 3, 3, 0, 1, 5],
  ["referenced", 5, 5, 0, 1, 7],
  ["migrate", 2, 1, 1, 1, 4],
  ["remove_migration", 2, 1, 1, 1, 4],
  ["migrate", 2, 2, 0, 1, 4],
  ["remove_migration", 2, 2, 0, 1, 4],
  ["migrate", 4, 4, 0, 1, 5],
  ["remove_migration", 4, 4, 0, 1, 5],
  ["referenced", 1, 1, 0, 1, 1],
  ["migrate", 2, 2, 0, 1, 2],
  ["remove_migration", 2, 2, 0, 1, 2],
  ["migrate", 4, 4, 0, 1, 4],
  ["remove_migration", 4, 4, 0, 1, 4],
];

for (
  const [name, make, allocated, locks] of [
    ["anon_vma", () => new AnonVmaScheme(), 5, { root: [16, 20], own: null }],
    ["anon_vma-2026", () => new AnonVma2026Scheme(), 7, { root: [16, 20], own: null }],
    ["anon_vma-per-av-lock", () => new AnonVmaPerAvLockScheme(), 5, {
      root: [13, 20],
      own: [3, 54],
    }],
  ] as const
) {
  Deno.test(`${name}: chains of one and many AVCs in a fork chain; walks as before`, () => {
    const { k, s, exec, walks } = world(make());
    const gens: Mm[] = [k.spawn()];
    k.mmap(gens[0], X, 8 * P, RW, ANON);
    for (let i = 0; i < 8; i++) k.touch(gens[0], pg(i), "write");
    for (let g = 1; g <= 4; g++) {
      gens.push(k.fork(gens[g - 1]));
      k.touch(gens[g], pg(g), "write"); // a private page per generation
    }
    const avs = gens.map((mm) => s.anonVmaOf(vmas(mm)[0])!);
    // The root VMA's state is its AVC; generation g has g + 1 AVCs, newest (its own) first.
    assertEquals(vmas(gens[0])[0].rmap instanceof Avc, true);
    for (let g = 1; g <= 4; g++) {
      const v = vmas(gens[g])[0];
      assertEquals(v.rmap instanceof Avc, false);
      assertEquals(s.state(v).chain.map((a) => a.anonVma), avs.slice(0, g + 1).reverse());
      assertEquals([s.isForkChild(v), s.maybeHasSharedAnon(v)], [true, true]);
    }
    assertTreesMatchChains(s, gens);
    k.mprotect(gens[3], pg(2), 2 * P, PROT_READ); // splits a chain of 4 into three
    assertEquals(vmas(gens[3]).map((v) => s.state(v).chain.length), [4, 4, 4]);
    assertTreesMatchChains(s, gens);
    k.touch(gens[3], pg(5), "write");
    const f = (mm: Mm, a: number): Folio => folioAt(k, mm, a);
    k.migrateFolio(f(gens[0], pg(0)));
    k.migrateFolio(f(gens[2], pg(2)));
    k.folioReferenced(f(gens[0], pg(7)));
    k.migrateFolio(f(gens[3], pg(5)));
    k.migrateFolio(f(gens[4], pg(3)));
    k.exit(gens[2]); // from the middle of the chain
    assertTreesMatchChains(s, [gens[0], gens[1], gens[3], gens[4]]);
    k.migrateFolio(f(gens[0], pg(0)));
    k.folioReferenced(f(gens[4], pg(4)));
    k.mprotect(gens[3], pg(2), 2 * P, RW); // merges back
    k.migrateFolio(f(gens[3], pg(2)));
    // Forks that reuse an idle anon_vma (the 6.18 reuse rule), twice.
    const p5 = k.fork(gens[4]);
    k.exit(gens[4]);
    const p6 = k.fork(p5);
    k.migrateFolio(f(p6, pg(1)));
    assertEquals(
      walks.map((r) => [r.kind, r.visits, r.hits, r.useless, r.structures, r.treeNodes]),
      CHAIN_WALKS,
    );
    assertEquals(s.counters().anon_vma_allocated, allocated);
    assertEquals(s.counters().anon_vma_reuse_fork, 2);
    const ids = (mm: Mm): number[][] =>
      vmas(mm).map((v) => s.state(v).chain.map((a) => a.anonVma.id));
    assertEquals([gens[0], gens[1], gens[3], p5, p6].map(ids), [
      [[1]],
      [[2, 1]],
      [[4, 3, 2, 1]],
      [[5, 4, 3, 2, 1]],
      [[5, 4, 3, 2, 1]],
    ]);
    const c = exec.counters.locks;
    assertEquals([c["anon_vma.root"].readAcquisitions, c["anon_vma.root"].writeAcquisitions], [
      ...locks.root,
    ]);
    const own = c["anon_vma.own"];
    assertEquals(
      own ? [own.readAcquisitions, own.writeAcquisitions] : null,
      locks.own && [...locks.own],
    );
    assertTreesMatchChains(s, [gens[0], gens[1], gens[3], p5, p6]);
    k.assertInvariants();
    for (const mm of [p6, p5, gens[3], gens[1]]) k.exit(mm);
    assertEquals(vmas(gens[0])[0].rmap instanceof Avc, true);
    assertEquals(k.slab.live("anon_vma_chain"), 1);
    assertTreesMatchChains(s, [gens[0]]);
    k.exit(gens[0]);
    assertEquals([k.slab.live("anon_vma"), k.slab.live("anon_vma_chain")], [0, 0]);
  });
}

Deno.test("an anon_vma is its own rwsem: one lock per anon_vma, class by root-ness", () => {
  const { k, s, exec } = world();
  const z = k.spawn();
  k.mmap(z, X, P, RW, ANON);
  k.touch(z, X, "write");
  const c = k.fork(z);
  const root = s.anonVmaOf(vmas(z)[0])!;
  const leaf = s.anonVmaOf(vmas(c)[0])!;
  assertEquals([root.lock === root, leaf.lock === leaf], [true, true]);
  assertEquals([root.lockClass, root.kind, root.lock.id], ["anon_vma.root", "rwsem", root.id]);
  assertEquals(leaf.lockClass, "anon_vma.own");
  assertEquals(leaf.rwsem("anon_vma.own"), leaf);
  assertThrows(() => leaf.rwsem("anon_vma.root"), Error, "anon_vma.own");
  // Counted acquisitions: the fork took the root's rwsem (write) for the clone and the link.
  const locks = exec.counters.locks["anon_vma.root"];
  assertEquals([locks.readAcquisitions, locks.writeAcquisitions], [0, 3]);
  assertEquals(exec.counters.locks["anon_vma.own"], undefined);
});

Deno.test("per-anon_vma lock: exclusive folios of a leaf are walked under the leaf's own rwsem", () => {
  const { k, s, exec } = world(new AnonVmaPerAvLockScheme());
  const z = k.spawn();
  k.mmap(z, X, 2 * P, RW, ANON);
  k.touch(z, pg(0), "write");
  const c = k.fork(z);
  k.touch(c, pg(1), "write"); // the child's own exclusive folio, in its leaf anon_vma
  const f = folioAt(k, c, pg(1));
  const before = exec.counters.locks["anon_vma.own"]?.readAcquisitions ?? 0;
  k.folioReferenced(f);
  assertEquals(exec.counters.locks["anon_vma.own"].readAcquisitions, before + 1);
  assertEquals(s.counters().walks_own_lock, 1);
});

Deno.test("anon_vma counters: packed while small, exact past the packed range", () => {
  const av = new AnonVma(7);
  assertEquals([av.refcount, av.numChildren, av.numActiveVmas, av.countsPacked], [1, 0, 0, true]);
  // The packed word: refcount and num_children 10 bits each, num_active_vmas 9, the freed bit.
  av.numChildren = 1023;
  av.numActiveVmas = 511;
  av.refcount = 1023;
  av.freed = true;
  assertEquals([av.refcount, av.numChildren, av.numActiveVmas, av.freed, av.countsPacked], [
    1023,
    1023,
    511,
    true,
    true,
  ]);
  av.freed = false;
  av.numChildren--;
  av.refcount -= 1000;
  assertEquals([av.refcount, av.numChildren, av.numActiveVmas, av.freed], [23, 1022, 511, false]);
  // Past the range (large, negative, non-integer): kept exactly, the others unchanged.
  av.numActiveVmas++;
  assertEquals([av.refcount, av.numChildren, av.numActiveVmas, av.freed, av.countsPacked], [
    23,
    1022,
    512,
    false,
    false,
  ]);
  av.freed = true;
  assertEquals([av.freed, av.numActiveVmas], [true, 512]);
  av.freed = false;
  av.refcount = -1;
  av.numChildren = 2 ** 40;
  av.numActiveVmas = 0.5;
  assertEquals([av.refcount, av.numChildren, av.numActiveVmas], [-1, 2 ** 40, 0.5]);
  for (
    const [field, v] of [
      ["refcount", -3],
      ["numChildren", 1024],
      ["numActiveVmas", 512],
      ["numActiveVmas", 2.5],
    ] as const
  ) {
    const b = new AnonVma(8);
    b.refcount = 5;
    b.numChildren = 6;
    b.numActiveVmas = 7;
    b[field] = v;
    assertEquals(b.countsPacked, false);
    assertEquals(b[field], v);
    const others = { refcount: 5, numChildren: 6, numActiveVmas: 7, [field]: v };
    assertEquals([b.refcount, b.numChildren, b.numActiveVmas], [
      others.refcount,
      others.numChildren,
      others.numActiveVmas,
    ]);
  }
});

Deno.test("anon_vma: a timed machine's lock state moves the counters to the side object, unchanged", () => {
  const av = new AnonVma(9);
  av.refcount = 3;
  av.numChildren = 2;
  av.numActiveVmas = 1;
  assertEquals([av[LOCK_SLOT], av.countsPacked], [undefined, true]);
  const state = { lock: "state" };
  av[LOCK_SLOT] = state;
  assertEquals(
    [av[LOCK_SLOT], av.countsPacked, av.refcount, av.numChildren, av.numActiveVmas, av.freed],
    [state, false, 3, 2, 1, false],
  );
  av.refcount--;
  av.freed = true;
  assertEquals([av[LOCK_SLOT], av.refcount, av.freed], [state, 2, true]);
});

Deno.test("anon_vma-per-av-lock: its anon_vmas keep the lock state in a field; the counters stay packed", () => {
  class Probe extends AnonVmaPerAvLockScheme {
    make(id: number): AnonVma {
      return this.newAnonVma(id);
    }
  }
  const s = new Probe();
  const a = s.make(4), b = s.make(5);
  a.refcount = 3;
  a.numChildren = 2;
  a.numActiveVmas = 1;
  const state = { lock: "state" };
  a[LOCK_SLOT] = state;
  assertEquals(
    [a[LOCK_SLOT], a.countsPacked, a.refcount, a.numChildren, a.numActiveVmas, a.freed],
    [state, true, 3, 2, 1, false],
  );
  // Each anon_vma has its own slot; the root's lock is the same object (the anon_vma).
  assertEquals([b[LOCK_SLOT], b.lock === b, a.lock === a], [undefined, true, true]);
  // Counters leaving the packed range keep the slot (and the slot keeps them).
  a.refcount = 5000;
  a.freed = true;
  assertEquals([a[LOCK_SLOT], a.countsPacked, a.refcount, a.numChildren, a.freed], [
    state,
    false,
    5000,
    2,
    true,
  ]);
  const later = { lock: "later" };
  a[LOCK_SLOT] = later;
  assertEquals([a[LOCK_SLOT], a.refcount, b[LOCK_SLOT]], [later, 5000, undefined]);
});

/*
 * The live list keeps freed anon_vmas linked until they outnumber the live ones; `live` must
 * give exactly the live ones, oldest first, at every point of an unmap sequence that frees from
 * the front, the back and the middle (a sweep that dropped a live anon_vma, or kept the tail
 * wrong so that a later allocation is lost, shows here).
 *
 *   pages:  0 . 2 . 4 . 6 . ... 38        twenty one-page VMAs, each faulted: anon_vmas 1..20
 *   unmap order: 20, 1, 2, 10, 11, 12, 3, 19 ... (below), then map and fault two more (21, 22)
 */
Deno.test("anon_vma: the live list sweeps freed anon_vmas and keeps allocation order", () => {
  const { k, s } = world();
  const mm = k.spawn();
  for (let i = 0; i < 20; i++) {
    k.mmap(mm, pg(2 * i), P, RW, ANON);
    k.touch(mm, pg(2 * i), "write");
  }
  const ids = (): number[] => [...s.live].map((a) => a.id);
  const alive = new Set(Array.from({ length: 20 }, (_, i) => i + 1));
  assertEquals(ids(), [...alive]);
  for (const id of [20, 1, 2, 10, 11, 12, 3, 19, 4, 5, 6, 7, 8]) {
    k.munmap(mm, pg(2 * (id - 1)), P);
    alive.delete(id);
    assertEquals(ids(), [...alive], `after freeing anon_vma ${id}`);
  }
  for (const i of [40, 42]) {
    k.mmap(mm, pg(i), P, RW, ANON);
    k.touch(mm, pg(i), "write");
  }
  assertEquals(ids(), [9, 13, 14, 15, 16, 17, 18, 21, 22]);
  assertEquals(k.slab.live("anon_vma"), 9);
  k.assertInvariants();
  k.exit(mm);
  assertEquals([ids(), k.slab.live("anon_vma")], [[], 0]);
});
