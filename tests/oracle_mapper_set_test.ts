// The oracle's MapperSet against a plain Map keyed by mapperKey: a fast-check differential over
// every storage mode (first mapping inline, a second one, a small pair array, a MapperList of Smi
// keys sorted or not, a Map) and the moves between them (more than 8 mappings, more than 512,
// pages 2^14 or more apart, odd addresses, a folio's index changing), then small exact cases, one
// per way a mode or a move can go wrong; last, Oracle's own map/unmap refusals and its cross-check
// with the page tables. A wrong oracle makes every walk check vacuous, so each case asks what a
// walk checked against the set would be told.

import fc from "fast-check";
import { assertEquals, assertThrows } from "./assert.ts";
import { KernelFolio } from "../core/kernel/folio_object.ts";
import { Kernel } from "../core/kernel/kernel.ts";
import { AnonVmaScheme } from "../core/rmap/anon_vma.ts";
import { mapperKey, MapperSet, Oracle } from "../core/oracle.ts";
import {
  type Folio,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  type Mm,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
} from "../core/kernel/types.ts";

const P = PAGE_SIZE;
/** A user address's page, far above 2^31 (a folio's index is near it). */
const XP = 0x7f0000000000 / P;
const R = 2 ** 14; // SMALL_REL: a list / Map Smi key holds page offsets in [-R, R)

type Ref = Map<number, { mm: Mm; addr: number }>;

const mmOf = (id: number): Mm => ({ id }) as Mm;

/** A folio of index `base` (offsets count from it), or a plain set (base 0) when null. */
function newSet(base: number | null): MapperSet {
  return base === null ? new MapperSet() : new KernelFolio(1, 1, true, base, null);
}

/** Adds (`mm`, page `vpn`) to both. */
function addBoth(s: MapperSet, ref: Ref, mm: Mm, vpn: number): void {
  const key = mapperKey(mm, vpn * P);
  assertEquals(s.add(mm, vpn * P), !ref.has(key));
  if (!ref.has(key)) ref.set(key, { mm, addr: vpn * P });
}

/**
 * `s` answers as `ref`: size, entries in insertion order (same mm objects, addresses equal as
 * `Object.is`), the walk snapshot, has/get of every mapping, and has of the keys next to each
 * (the same mm one page either side, another mm at the same page) that a broken look-up could
 * confuse with it.
 */
function assertSame(s: MapperSet, ref: Ref, what = ""): void {
  assertEquals(s.size, ref.size, `size ${what}`);
  const got = [...s.entries()];
  const want = [...ref.entries()];
  assertEquals(got.map(([k]) => k), want.map(([k]) => k), `keys ${what}`);
  got.forEach(([, m], i) => {
    const r = want[i][1];
    assertEquals([m.mm === r.mm, Object.is(m.addr, r.addr)], [true, true], `entry ${i} ${what}`);
  });
  const keys: number[] = [], mms: Mm[] = [];
  s.snapshot(keys, mms);
  assertEquals(keys, want.map(([k]) => k), `snapshot ${what}`);
  assertEquals(mms.every((mm, i) => mm === want[i][1].mm), true, `snapshot mms ${what}`);
  const probe = want.length <= 64 ? want : [...want.slice(0, 24), ...want.slice(-24)];
  for (const [k, r] of probe) {
    const g = s.get(k);
    assertEquals(
      [s.has(k), g !== undefined && g.mm === r.mm && Object.is(g.addr, r.addr)],
      [true, true],
      `get ${k} ${what}`,
    );
    for (const near of [k + 1, k - 1, k + 2 ** 36, k - 2 ** 36, k + 2 * 2 ** 36]) {
      assertEquals(s.has(near), ref.has(near), `has ${near} near ${k} ${what}`);
      if (!ref.has(near)) assertEquals(s.get(near), undefined, `get ${near} ${what}`);
    }
  }
}

// -- the differential property -----------------------------------------------------------------

/** Mm ids of the property: 0, small ones, ones above a page's 2^16 Smi share, the largest. */
const IDS = [0, 1, 2, 3, 5, 9, 40, 300, 65535];
/** Page offsets from the anchor: near, at the Smi-key limits, storable but far, not storable. */
const RELS = [
  ...[-3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 16],
  ...[R - 1, R, R + 1, -R, -R - 1, 2 ** 15, 2 ** 16, 2 ** 20, -(2 ** 20), 2 ** 31, 2 ** 31 + 1],
];
/** Addresses whose page is no exact page from a key: -0, a misaligned one, one past 2^47. */
const ODD_ADDRS = [-0, 0x7f0000000000 + 123, 2 ** 70 + P];

type Op =
  | { op: "add" | "put" | "set" | "remove" | "has"; mm: number; twin: boolean; where: Where }
  | { op: "drop"; pick: number }
  | { op: "renew"; pick: number }
  | { op: "burst"; n: number; rel: number; down: boolean }
  | { op: "index"; to: number }
  | { op: "arrays" };
type Where = { rel: number } | { odd: number };

const where: fc.Arbitrary<Where> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ rel: fc.constantFrom(...RELS.slice(0, 15)) }) },
  { weight: 3, arbitrary: fc.record({ rel: fc.constantFrom(...RELS.slice(15)) }) },
  { weight: 1, arbitrary: fc.record({ odd: fc.constantFrom(...ODD_ADDRS.keys()) }) },
);
const mapping = {
  mm: fc.constantFrom(...IDS.keys()),
  twin: fc.boolean(),
  where,
};
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant("add" as const), ...mapping }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("put" as const), ...mapping }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("set" as const), ...mapping }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("remove" as const), ...mapping }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("has" as const), ...mapping }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant("drop" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("renew" as const), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("burst" as const),
      n: fc.constantFrom(6, 12, 40, 520),
      rel: fc.constantFrom(0, 1, -1),
      down: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("index" as const), to: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("arrays" as const) }) },
);

Deno.test("MapperSet: random operations in every mode answer as a Map keyed by mapperKey", () => {
  // A folio's index: 0, a user page, one whose quotient by 2^30 is not 0 (a list's head keeps
  // it in two Smis), one above 2^35 (keys of far pages leave the list); null: a plain set.
  const bases = [null, 0, XP, 2 ** 30 + 5, 2 ** 35 + 3];
  fc.assert(
    fc.property(
      fc.constantFrom(...bases.keys()),
      fc.boolean(),
      fc.array(opArb, { minLength: 1, maxLength: 40, size: "max" }),
      (b, nearZero, ops) => {
        const base = bases[b];
        const s = newSet(base);
        // Pages cluster near the anchor: the folio's index, or for a plain set page 0 or a user
        // page (far from its base 0: a private file mapping's folio has such an index).
        const anchor = base !== null && !nearZero ? base : nearZero ? 0 : XP;
        const mms = IDS.map(mmOf);
        const twins = IDS.map(mmOf); // same ids, other objects: same keys, a new mm stored
        let nextId = 1000;
        const ref: Ref = new Map();
        const addrOf = (w: Where): number =>
          "odd" in w ? ODD_ADDRS[w.odd] : Math.max(0, anchor + w.rel) * P;
        for (const [step, o] of ops.entries()) {
          if (o.op === "drop") {
            if (ref.size === 0) continue;
            const k = [...ref.keys()][o.pick % ref.size];
            const m = ref.get(k)!;
            assertEquals(o.pick % 2 === 0 ? s.delete(k) : s.remove(m.mm, m.addr), true);
            ref.delete(k);
          } else if (o.op === "renew") {
            // A mapping put again under a new mm object of the same id takes the new one.
            if (ref.size === 0) continue;
            const k = [...ref.keys()][o.pick % ref.size];
            const { mm, addr } = ref.get(k)!;
            const again = mmOf(mm.id);
            assertEquals(s.put(again, addr), false);
            ref.set(k, { mm: again, addr });
          } else if (o.op === "burst") {
            // A fork storm: one new mm per child, all at one page, ids up (sorted list) or down.
            const ids = Array.from({ length: o.n }, (_, i) => nextId + i);
            nextId += o.n;
            if (o.down) ids.reverse();
            for (const id of ids) addBoth(s, ref, mmOf(id), anchor + o.rel);
          } else if (o.op === "index") {
            if (!(s instanceof KernelFolio)) continue;
            s.index = [0, XP, XP + 3, 2 ** 30 + 5, 2 ** 35 + 3, 2 ** 54][o.to];
          } else if (o.op === "arrays") {
            // An outside script reads a small folio's mapcount array: side data is attached.
            if (s instanceof KernelFolio) assertEquals(s.mapcount.length, 1);
          } else {
            const mm = (o.twin ? twins : mms)[o.mm], addr = addrOf(o.where);
            const key = mapperKey(mm, addr), had = ref.has(key);
            if (o.op === "add") {
              assertEquals(s.add(mm, addr), !had);
              if (!had) ref.set(key, { mm, addr });
            } else if (o.op === "put" || o.op === "set") {
              if (o.op === "put") assertEquals(s.put(mm, addr), !had);
              else s.set(key, { mm, addr });
              ref.set(key, { mm, addr }); // replaced in its place: new mm, new address
            } else if (o.op === "remove") {
              assertEquals(s.remove(mm, addr), ref.delete(key));
            } else {
              assertEquals(s.has(key), had);
            }
          }
          assertSame(s, ref, `after op ${step} ${JSON.stringify(o)}`);
        }
        // Drain: every mode empties back to nothing.
        for (const k of [...ref.keys()].reverse()) {
          assertEquals(s.delete(k), true);
          ref.delete(k);
          if (ref.size < 12) assertSame(s, ref, "drain");
        }
      },
    ),
    { seed: 20260415, numRuns: 400 },
  );
});

// -- exact cases ----------------------------------------------------------------------------------

Deno.test("MapperSet: a list made from a small set keeps its order flag (keys unsorted)", () => {
  // Folio at index B; mms 2, 1, 3, 4, ..., 9 map page B: first inline, the next 7 in the pair
  // array; the 9th moves them to a list of keys 2, 1, 3, ..., 9 (offset 0, id), not sorted, so
  // look-ups must scan: a binary search from the middle (5) goes left to 1, right to 3, and
  // never meets 2.
  const B = XP;
  for (const ids of [[2, 1, 3, 4, 5, 6, 7, 8, 9], [9, 8, 7, 6, 5, 4, 3, 2, 1]]) {
    const s = newSet(B), ref: Ref = new Map();
    for (const id of ids) addBoth(s, ref, mmOf(id), B);
    assertSame(s, ref, `ids ${ids}`);
    for (const id of ids) assertEquals(s.has(mapperKey(mmOf(id), B * P)), true, `mm ${id}`);
    // A 10th mapping appended in order and one out of order are found too.
    addBoth(s, ref, mmOf(10), B);
    addBoth(s, ref, mmOf(0), B);
    assertSame(s, ref, `ids ${ids} + 10, 0`);
  }
});

Deno.test("MapperSet: Map keys at the Smi limits: 2^14 pages away, below the index, mm 0", () => {
  const B = XP;
  // Map mode: a page 2^31 from B is no 32-bit offset (a one-entry list of its own), then one
  // 2^14 pages from B is too far from that list's page: all move to a Map. There page B + 2^14
  // (no Smi key: [-2^14, 2^14) only) and page B - 1 (Smi key -1 * 2^16 + id, negative) must be
  // stored and looked up under the same key, and decode to their own addresses.
  const s = newSet(B), ref: Ref = new Map();
  const a = mmOf(1), c = mmOf(3);
  for (const [mm, vpn] of [[a, B + 2 ** 31], [a, B + R], [c, B - 1], [c, B - R], [a, B + R - 1]]) {
    addBoth(s, ref, mm as Mm, vpn as number);
    assertSame(s, ref, `page B + ${(vpn as number) - B}`);
  }
  // A plain set (base 0), mm 0: page 2^20 (too far for a Smi key; its key mapperKey = 2^20 is
  // a small number, so its Map key is the string "1048576"), then a page of 2^35 (to Map mode),
  // then page 16, whose Smi key is 16 * 2^16 + 0 = 2^20: the two must not collide.
  const z = mmOf(0), t = newSet(null), tref: Ref = new Map();
  for (const vpn of [2 ** 20, 2 ** 35, 16]) addBoth(t, tref, z, vpn);
  assertSame(t, tref, "mm 0");
  assertEquals(t.size, 3);
});

Deno.test("MapperSet: small mode tells mms and pages apart (array, second mapping)", () => {
  const B = XP;
  const [m1, m2, m3] = [1, 2, 3].map(mmOf);
  // Array mode: m1 at B, B + 1, B + 2 (first, then a pair array of two). m2 at B + 2 is a
  // different mapping: has() says no and add() adds it.
  const s = newSet(B), ref: Ref = new Map();
  for (const vpn of [B, B + 1, B + 2]) addBoth(s, ref, m1, vpn);
  assertEquals(s.has(mapperKey(m2, (B + 2) * P)), false);
  addBoth(s, ref, m2, B + 2);
  assertEquals(s.remove(m3, (B + 1) * P), false);
  assertSame(s, ref, "array");
  // Second mapping at offset 0 (stored as its bare mm): m2 at B after m1 at B + 1. Only page B
  // is m2's; B + 5 is not.
  const t = newSet(B), tref: Ref = new Map();
  addBoth(t, tref, m1, B + 1);
  addBoth(t, tref, m2, B);
  assertEquals([t.has(mapperKey(m2, (B + 5) * P)), t.remove(m2, (B + 5) * P)], [false, false]);
  assertSame(t, tref, "second at offset 0");
});

Deno.test("MapperSet: a mapping re-put under a new mm object takes it, in every mode", () => {
  // An mm's id can come back with a new object (the oracle is keyed by id): put replaces the mm
  // in place. Modes: one, two, array (4), list (12), Map (12 plus a far page).
  for (const n of [1, 2, 4, 12, 13]) {
    const s = newSet(XP), ref: Ref = new Map();
    for (let i = 0; i < Math.min(n, 12); i++) addBoth(s, ref, mmOf(i + 1), XP);
    if (n === 13) addBoth(s, ref, mmOf(1), XP + 2 ** 31);
    for (const id of [1, Math.min(n, 12)]) {
      const twin = mmOf(id);
      assertEquals(s.put(twin, XP * P), false);
      ref.set(mapperKey(twin, XP * P), { mm: twin, addr: XP * P });
      assertEquals(s.get(mapperKey(twin, XP * P))!.mm === twin, true, `n ${n} id ${id}`);
    }
    assertSame(s, ref, `n ${n}`);
  }
});

Deno.test("MapperSet: an address of -0 added as the set moves to Map mode stays -0", () => {
  // Plain set: mm 1 at page 1 (small mode), then mm 1 at -0: the same key as page 0 but not an
  // address page 0 gives back, so never stored as a page: the set moves to a Map, where it must
  // keep -0 (a MapperEntry), whatever the mapping moved before it was.
  const mm = mmOf(1);
  const s = newSet(null), ref: Ref = new Map();
  addBoth(s, ref, mm, 1);
  assertEquals(s.add(mm, -0), true);
  ref.set(mapperKey(mm, -0), { mm, addr: -0 });
  assertSame(s, ref, "-0");
  assertEquals(Object.is(s.get(mapperKey(mm, 0))!.addr, -0), true);
});

Deno.test("MapperSet: reading a small folio's mapcount array keeps its mappings", () => {
  // The per-page arrays live in a side object that takes the slot of the mappings after the
  // first: making it must carry them over (2: a bare mm; 3: a pair array; 9: a list).
  for (const n of [2, 3, 9]) {
    const f = new KernelFolio(1, 1, true, XP, null), ref: Ref = new Map();
    for (let id = 1; id <= n; id++) addBoth(f, ref, mmOf(id), XP);
    f.addPageMapcount(0, n);
    assertEquals(f.mapcount, [n]);
    assertSame(f, ref, `n ${n}`);
  }
});

// -- the Oracle ---------------------------------------------------------------------------------

const X = XP * P;
const RW = PROT_READ | PROT_WRITE;

Deno.test("Oracle: mapping twice and unmapping what is not mapped are refused", () => {
  const o = new Oracle();
  const f = new KernelFolio(7, 1, true, XP, null);
  const mm = mmOf(1);
  o.map(f, mm, X);
  assertThrows(() => o.map(f, mm, X), Error, "folio 7 mapped twice");
  o.unmap(f, mm, X);
  assertThrows(() => o.unmap(f, mm, X), Error, "folio 7 was not mapped");
  assertEquals(f.size, 0);
});

/** Parent maps and writes 2 pages at X and forks: page X is shared (2 mappings), 4 PTEs. */
function forked(): { k: Kernel; parent: Mm; child: Mm; shared: Folio } {
  const k = new Kernel({ scheme: new AnonVmaScheme() });
  const parent = k.spawn();
  k.mmap(parent, X, 4 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
  k.touch(parent, X, "write");
  k.touch(parent, X + P, "write");
  const child = k.fork(parent);
  return { k, parent, child, shared: k.pte(parent, X)!.folio! };
}

Deno.test("Oracle.check: page-cache PTEs are not anon mappings; a freed folio is named", () => {
  const { k, parent, child, shared } = forked();
  // A private file mapping read in: a page-cache folio the oracle never records.
  const file = k.createFile("lib.so", 4);
  k.mmap(parent, X + 16 * P, 4 * P, PROT_READ, MAP_PRIVATE | MAP_FIXED, file, 0);
  k.touch(parent, X + 16 * P, "read");
  k.touch(parent, X + 17 * P, "read");
  assertEquals(k.pte(parent, X + 16 * P)!.folio!.anon, false);
  assertEquals(k.oracle.check(k), []);
  // A PTE left on a folio marked freed (a use after free) is reported, once per PTE.
  shared.freed = true;
  assertEquals(k.oracle.check(k).filter((l) => l.includes(`maps freed folio ${shared.id}`)), [
    `mm ${parent.id} maps freed folio ${shared.id}`,
    `mm ${child.id} maps freed folio ${shared.id}`,
  ]);
  shared.freed = false;
  assertEquals(k.oracle.check(k), []);
});

Deno.test("Oracle.check: a recorded mapping without a PTE is found by the total alone", () => {
  // Folio and oracle agree (mapcount 3, 3 mappings) but the page tables have 2 PTEs on it: only
  // the total of recorded mappings against PTEs tells.
  const { k, child, shared } = forked();
  shared.mapcount[0]++;
  const bogus = X + 3 * P;
  shared.mappers.set(mapperKey(child, bogus), { mm: child, addr: bogus });
  assertEquals(k.oracle.check(k), ["oracle records 5 mappings, page tables 4"]);
  shared.mappers.delete(mapperKey(child, bogus));
  shared.mapcount[0]--;
  assertEquals(k.oracle.check(k), []);
});
