// The page table (page_table.ts) keeps PTEs in PTE pages of 512 slots keyed by PMD index, with
// no tree node per PTE. These tests pin that it behaves as the ordered map it replaced (a
// SortedMap<Pte> whose nodes were the PTEs): same answers for every lookup, the same entry
// objects (set links a fresh entry itself, replacing copies into the present one), the same
// ascending order, and the same tolerance of changes during a range walk, for sparse layouts
// (one page per PMD, keys far above 2^31) and dense ones (whole PTE pages).

import { assertEquals, assertThrows } from "./assert.ts";
import { PageTable, PteNode } from "../core/kernel/page_table.ts";
import { SortedMap } from "../core/lib/sorted_map.ts";
import { Random } from "../core/lib/random.ts";
import type { Folio, Pte, SwapSlot } from "../core/kernel/types.ts";

const HIGH = 0x7f0000000000 / 4096; // a user page number: above 2^31

function folio(id: number): Folio {
  return { id } as unknown as Folio;
}

function show(p: Pte | undefined): string {
  if (p === undefined) return "-";
  const f = p.folio ? `f${p.folio.id}/${p.page}` : p.kind === "swap" ? `s${p.swap.count}` : "z";
  return `${p.kind}:${f}:${+p.writable}${+p.young}${+p.protNone}`;
}

function showPair(e: [number, Pte] | undefined): string {
  return e === undefined ? "-" : `${e[0]}=${show(e[1])}`;
}

/** What a reused scratch array holds past the entries a range fill wrote. */
const STALE = PteNode.zero(false, false);

/** Applies the same random operations to a PageTable and a SortedMap and compares every answer. */
function compare(seed: number, keyOf: (r: Random) => number, ops: number): void {
  const r = new Random(seed);
  const t = new PageTable();
  const m = new SortedMap<Pte>();
  const scratchNodes: PteNode[] = new Array(700).fill(STALE);
  const scratchKeys: number[] = new Array(700).fill(-1);
  const probe = (k: number): void => {
    assertEquals(show(t.get(k)), show(m.get(k)), `get ${k}`);
    assertEquals(t.has(k), m.has(k), `has ${k}`);
    assertEquals(showPair(t.floor(k)), showPair(m.floor(k)), `floor ${k}`);
    assertEquals(showPair(t.ceiling(k)), showPair(m.ceiling(k)), `ceiling ${k}`);
    assertEquals(showPair(t.lower(k)), showPair(m.lower(k)), `lower ${k}`);
    assertEquals(showPair(t.higher(k)), showPair(m.higher(k)), `higher ${k}`);
  };
  for (let i = 0; i < ops; i++) {
    const k = keyOf(r);
    const op = r.int(0, 9);
    if (op < 5) {
      const p = r.chance(0.5)
        ? PteNode.present(folio(i), r.int(0, 511), r.chance(0.5), r.chance(0.5), r.chance(0.1))
        : r.chance(0.5)
        ? PteNode.zero(r.chance(0.5), r.chance(0.5))
        : PteNode.swap({ count: i } as unknown as SwapSlot);
      const had = m.get(k);
      if (op === 0) {
        // insertAbsent: links a new key's entry as set would, leaves a present key alone.
        const before = show(t.get(k));
        assertEquals(t.insertAbsent(k, p as unknown as Pte), had === undefined, `insert ${k}`);
        if (had === undefined) m.set(k, p as unknown as Pte);
        else assertEquals([t.get(k) === had, show(t.get(k))], [true, before]);
      } else {
        t.set(k, p as unknown as Pte);
        m.set(k, (had === undefined ? p : t.get(k)) as Pte);
      }
      // A new key links the entry itself; a present key keeps its entry object.
      assertEquals(t.get(k) === (had === undefined ? p as unknown as Pte : had), true);
    } else if (op < 8) {
      const got = t.take(k);
      const want = m.get(k);
      m.delete(k);
      assertEquals(got === want, true, `take ${k}`);
    } else {
      probe(k);
      // Now and then from -Infinity (a walk of the whole table, as zapWholeMm's) or to Infinity,
      // and an empty range below everything.
      const lo0 = Math.min(k, keyOf(r)), hi0 = Math.max(k, keyOf(r)) + 1;
      const lo = i % 7 === 3 ? -Infinity : lo0, hi = i % 5 === 2 ? Infinity : hi0;
      if (i % 13 === 4) {
        assertEquals(t.rangeKeys(-Infinity, -Infinity), []);
        assertEquals(t.rangeNodesInto(-Infinity, -Infinity, scratchNodes, scratchKeys, 0), 0);
      }
      assertEquals(t.rangeKeys(lo, hi), m.rangeKeys(lo, hi), `rangeKeys ${lo} ${hi}`);
      const keys: number[] = [];
      const nodes = t.rangeNodes(lo, hi, keys);
      assertEquals(keys, m.rangeKeys(lo, hi));
      assertEquals(nodes.map((n) => show(n as unknown as Pte)), keys.map((x) => show(m.get(x))));
      // Into reused arrays (copyPageRange's and zapWholeMm's scratch): written from index 0,
      // the count returned, what lies past it left as it was.
      const end = t.rangeNodesInto(lo, hi, scratchNodes, scratchKeys, 0);
      assertEquals(end, keys.length);
      assertEquals(scratchKeys.slice(0, end), keys);
      assertEquals(scratchNodes.slice(0, end), nodes);
      for (let j = end; j < scratchNodes.length; j++) assertEquals(scratchNodes[j], STALE);
      scratchNodes.fill(STALE);
    }
    assertEquals(t.size, m.size);
  }
  assertEquals([...t.entries()].map(showPair), [...m.entries()].map(showPair));
  assertEquals(showPair(t.first()), showPair(m.first()));
  assertEquals(showPair(t.last()), showPair(m.last()));
  const held = [...t.entries()].map(([, p]) => p as unknown as PteNode);
  t.clear();
  assertEquals([t.size, t.ptePageCount, [...t.entries()].length, t.first()], [0, 0, 0, undefined]);
  // Every entry left the table: each may be linked into another one (set links it, not a copy).
  assertEquals(held.filter((n) => n.linked).length, 0);
  const other = new PageTable();
  held.forEach((n, i) => other.set(i, n as unknown as Pte));
  assertEquals(held.every((n, i) => other.get(i) === (n as unknown as Pte)), true);
}

Deno.test("page table: rangeNodesInto appends by default and fills from a given index", () => {
  const t = new PageTable();
  const ks = [HIGH + 1, HIGH + 2, HIGH + 700, HIGH + 9000];
  for (const k of ks) t.set(k, PteNode.zero(true, false) as unknown as Pte);
  const nodes: PteNode[] = [STALE];
  const keys: number[] = [-1];
  assertEquals(t.rangeNodesInto(HIGH, HIGH + 10000, nodes, keys), 5);
  assertEquals(keys, [-1, ...ks]);
  assertEquals(t.rangeNodesInto(HIGH + 2, HIGH + 701, nodes, keys, 0), 2);
  assertEquals(keys, [HIGH + 2, HIGH + 700, HIGH + 2, HIGH + 700, HIGH + 9000]);
  assertEquals(nodes[0] === t.get(HIGH + 2) as unknown as PteNode, true);
  // rangeNodes pushes the keys after what the given array holds.
  const more = [7];
  assertEquals(t.rangeNodes(HIGH + 700, HIGH + 10000, more).length, 2);
  assertEquals(more, [7, HIGH + 700, HIGH + 9000]);
});

Deno.test("page table: sparse keys above 2^31 answer as the ordered map did", () => {
  compare(1, (r) => HIGH + r.int(0, 200) * 4096 + r.int(0, 2), 4000);
});

Deno.test("page table: dense keys (whole PTE pages) answer as the ordered map did", () => {
  compare(2, (r) => HIGH + r.int(0, 1500), 20000);
});

Deno.test("page table: small and negative keys, PTE page edges", () => {
  compare(3, (r) => r.int(-1030, 1030), 8000);
  compare(4, (r) => [0, 511, 512, 1023, -1, -512, -513, 2 ** 40 - 1, 2 ** 40][r.int(0, 8)], 500);
});

Deno.test("page table: a range walk continues above the last key after changes", () => {
  const t = new PageTable();
  const p = (): Pte => PteNode.zero(false, false) as unknown as Pte;
  for (const k of [HIGH + 1, HIGH + 3, HIGH + 600, HIGH + 5000]) t.set(k, p());
  const seen: number[] = [];
  for (const [k] of t.range(HIGH, HIGH + 6000)) {
    seen.push(k);
    if (k === HIGH + 1) {
      t.delete(HIGH + 3); // the next one goes
      t.set(HIGH + 2, p()); // a new one right after the current one is seen
      t.set(HIGH + 513, p()); // and one in a later PTE page
      t.set(HIGH, p()); // one below is not
    }
    if (k === HIGH + 600) t.delete(HIGH + 600); // removing the current one
  }
  assertEquals(seen.map((k) => k - HIGH), [1, 2, 513, 600, 5000]);
  assertEquals(t.rangeKeys(-Infinity, Infinity).map((k) => k - HIGH), [0, 1, 2, 513, 5000]);
  assertEquals(t.ptePageCount, 3);
});

Deno.test("page table: entries are linked once; taken ones relink; other values are copied", () => {
  const t = new PageTable();
  const a = PteNode.present(folio(1), 3, true, false, false) as unknown as Pte;
  t.set(HIGH, a);
  assertEquals(t.get(HIGH) === a, true);
  t.set(HIGH + 1, a); // already in a table: copied into a new entry
  const b = t.get(HIGH + 1)!;
  assertEquals([b === a, show(b)], [false, show(a)]);
  (b as { writable: boolean }).writable = false;
  assertEquals([show(a), show(b)], ["present:f1/3:100", "present:f1/3:000"]);
  const c = t.take(HIGH)!;
  assertEquals([c === a, t.has(HIGH), t.size], [true, false, 1]);
  t.set(HIGH + 700, c); // relinked as itself
  assertEquals(t.get(HIGH + 700) === c, true);
  const plain = {
    kind: "zero",
    folio: null,
    page: 0,
    writable: false,
    young: true,
    protNone: false,
  };
  t.set(HIGH + 700, plain as unknown as Pte); // replacing keeps the entry object
  assertEquals([t.get(HIGH + 700) === c, show(c)], [true, "zero:z:010"]);
  assertEquals(t.delete(HIGH + 2), false);
  assertEquals(t.delete(HIGH + 1), true);
  assertEquals([t.size, t.ptePageCount, t.rangeKeys(0, Infinity)], [1, 1, [HIGH + 700]]);
  assertEquals([t.get(HIGH + 700.5), t.has(0.5), t.take(HIGH + 699.5)], [
    undefined,
    false,
    undefined,
  ]);
  assertThrows(() => t.set(1.5, c), RangeError, "integer");
  assertThrows(() => t.set(NaN, c), RangeError, "integer");
  assertThrows(() => t.insertAbsent(0.5, c), RangeError, "integer");
  assertThrows(() => PteNode.present(folio(2), 16384, true, true, false), RangeError, "Page");
  const top = PteNode.present(folio(2), 16383, true, true, true) as unknown as Pte;
  t.set(HIGH + 511, top);
  assertEquals(show(t.get(HIGH + 511)), "present:f2/16383:111");
});

Deno.test("page table: consecutive ranges (resumed where the last stopped) answer as the map", () => {
  const r = new Random(7);
  const t = new PageTable();
  const m = new SortedMap<Pte>();
  for (let i = 0; i < 3000; i++) {
    const k = HIGH + r.int(0, 2047);
    if (m.has(k)) continue;
    const p = PteNode.zero(r.chance(0.5), false);
    t.set(k, p as unknown as Pte);
    m.set(k, p as unknown as Pte);
  }
  for (let round = 0; round < 40; round++) {
    let lo = HIGH + r.int(-5, 600);
    while (lo < HIGH + 2100) {
      const hi = lo + r.int(0, 9);
      const keys: number[] = [];
      const nodes = t.rangeNodes(lo, hi, keys);
      assertEquals(keys, m.rangeKeys(lo, hi), `range ${lo} ${hi}`);
      assertEquals(nodes.length, keys.length);
      if (r.chance(0.2)) assertEquals(showPair(t.higher(lo)), showPair(m.higher(lo)));
      if (r.chance(0.2)) assertEquals(showPair(t.ceiling(hi)), showPair(m.ceiling(hi)));
      if (r.chance(0.05)) {
        // A change between ranges: the next one starts afresh.
        const k = keys.length > 0 ? keys[0] : lo;
        if (m.has(k)) {
          t.take(k);
          m.delete(k);
        } else {
          const p = PteNode.zero(true, false);
          t.set(k, p as unknown as Pte);
          m.set(k, p as unknown as Pte);
        }
      }
      lo = r.chance(0.1) ? lo - r.int(0, 20) : hi + r.int(0, 3);
    }
  }
});

Deno.test("page table: a one-page range right after clear() finds nothing", () => {
  // HIGH is a multiple of 512: HIGH+1..HIGH+3 share one PTE page. The first range stops at index
  // 1 of that page and leaves a resume hint there; clear() frees the page, so the next range of
  // the same PMD index must not resume in it (it would return HIGH+2 and HIGH+3 again).
  const t = new PageTable();
  for (const k of [HIGH + 1, HIGH + 2, HIGH + 3]) {
    t.set(k, PteNode.zero(true, false) as unknown as Pte);
  }
  assertEquals(t.rangeKeys(HIGH, HIGH + 2), [HIGH + 1]);
  t.clear();
  assertEquals(t.rangeKeys(HIGH + 2, HIGH + 4), []);
  assertEquals(t.rangeNodes(HIGH, HIGH + 4).length, 0);
  assertEquals([t.size, t.ptePageCount, t.get(HIGH + 2)], [0, 0, undefined]);
});

Deno.test("PTE node: each kind answers its own fields; no bit aliases another kind's", () => {
  const f = folio(9);
  const slot = { count: 1 } as unknown as SwapSlot;
  const fields = (n: PteNode): (string | boolean | number | null | object)[] => [
    n.kind,
    n.folio,
    n.swap,
    n.page,
    n.writable,
    n.exclusive,
    n.young,
    n.protNone,
    n.dirty,
  ];
  // A writable dirty present PTE: not swap-exclusive (the exclusive bit is the writable bit).
  assertEquals(fields(PteNode.present(f, 5, true, true, false, true)), [
    "present",
    f,
    null,
    5,
    true,
    false,
    true,
    false,
    true,
  ]);
  // An exclusive swap PTE: no folio, not writable (same bit as exclusive).
  assertEquals(fields(PteNode.swap(slot, true)), [
    "swap",
    null,
    slot,
    0,
    false,
    true,
    false,
    false,
    false,
  ]);
  assertEquals(fields(PteNode.swap(slot)).slice(4, 6), [false, false]);
  assertEquals(fields(PteNode.zero(true, true)), [
    "zero",
    null,
    null,
    0,
    false,
    false,
    true,
    true,
    false,
  ]);
  assertEquals(fields(PteNode.guard()).slice(0, 6), ["guard", null, null, 0, false, false]);
  assertThrows(
    () => {
      PteNode.present(f, 0, true, true, false).exclusive = true;
    },
    Error,
    "not a swap entry",
  );
});

Deno.test("page table: copies of linked entries and plain values keep every bit", () => {
  // set() of an entry already in a table copies it (PteNode.from): dirty, swap-exclusive and a
  // zero page's PROT_NONE must survive the copy, as must those of a plain Pte-shaped value.
  const t = new PageTable();
  const f = folio(3);
  const slot = { count: 2 } as unknown as SwapSlot;
  const dirty = PteNode.present(f, 7, false, false, false, true) as unknown as Pte;
  const excl = PteNode.swap(slot, true) as unknown as Pte;
  const zeroNone = PteNode.zero(false, true) as unknown as Pte;
  t.set(HIGH, dirty);
  t.set(HIGH + 1, excl);
  t.set(HIGH + 2, zeroNone);
  t.set(HIGH + 600, dirty); // each already linked: copied into new entries
  t.set(HIGH + 601, excl);
  t.set(HIGH + 602, zeroNone);
  const copy = (k: number): PteNode => t.get(k) as unknown as PteNode;
  assertEquals([copy(HIGH + 600) === (dirty as unknown as PteNode), copy(HIGH + 600).dirty], [
    false,
    true,
  ]);
  assertEquals([copy(HIGH + 600).page, copy(HIGH + 600).folio === f], [7, true]);
  assertEquals([copy(HIGH + 601).kind, copy(HIGH + 601).swap, copy(HIGH + 601).exclusive], [
    "swap",
    slot,
    true,
  ]);
  assertEquals([copy(HIGH + 602).kind, copy(HIGH + 602).protNone, copy(HIGH + 602).young], [
    "zero",
    true,
    false,
  ]);
  // Plain values: copied into new nodes.
  const plainSwap = { kind: "swap", swap: slot, exclusive: true };
  const plainDirty = {
    kind: "present",
    folio: f,
    page: 1,
    writable: true,
    young: false,
    protNone: false,
    dirty: true,
  };
  t.set(HIGH + 1200, plainSwap as unknown as Pte);
  t.set(HIGH + 1201, plainDirty as unknown as Pte);
  assertEquals([copy(HIGH + 1200).exclusive, copy(HIGH + 1200).writable], [true, false]);
  assertEquals([copy(HIGH + 1201).dirty, copy(HIGH + 1201).writable], [true, true]);
});
