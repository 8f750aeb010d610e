import assert from "node:assert/strict";
import fc from "fast-check";
import { GapTree, type Range } from "../core/lib/gap_tree.ts";
import { RANGE_BTREE_SLOTS, RangeBTree } from "../core/lib/range_btree.ts";

interface Item extends Range {
  id: number;
}

/** Outcome of a call: its value, or the error it threw (class and message). */
function outcome(f: () => unknown): unknown {
  try {
    return { ok: f() };
  } catch (e) {
    return { threw: (e as Error).constructor.name, message: (e as Error).message };
  }
}

Deno.test("RangeBTree: an item past a full leaf starts a new leaf, and the gaps follow", () => {
  // RANGE_BTREE_SLOTS + 1 (33) items of 2 with a hole of 1 between each, but a hole of 9 before
  // the 13th:
  //   0  2 3  5 ...  33 35 [hole 9] 44 46 ...
  //   [a )  [b )      [k )           [m )
  // The first 32 fill the first leaf; the 33rd sorts past its last, so it starts a leaf of its
  // own (appends leave full leaves). The largest gap (9) sits in the first leaf, and a top-down
  // search for 9 finds it; one for 10 finds only the space above the last item.
  const t = new RangeBTree<Item>();
  const items: Item[] = [];
  let s = 0;
  for (let i = 0; i <= RANGE_BTREE_SLOTS; i++) {
    if (i === 12) s += 8;
    items.push({ start: s, end: s + 2, id: i });
    s += 3;
  }
  for (const it of items) t.insert(it);
  t.validate();
  assert.deepEqual(t.shape(), { depth: 2, leaves: 2, inner: 1 });
  assert.equal(RANGE_BTREE_SLOTS, 32);
  assert.equal(t.size, 33);
  const last = items[RANGE_BTREE_SLOTS];
  assert.equal(items[12].start - items[11].end, 9);
  assert.equal(t.gapTopDown(9, 0, 200), 191);
  assert.equal(t.gapTopDown(9, 0, last.end), items[11].end);
  assert.equal(t.gapBottomUp(9, 0, 200), items[11].end);
  assert.equal(t.gapBottomUp(10, 0, 200), last.end);
  assert.equal(t.gapTopDown(2, 0, items[0].end + 1), undefined);
  // Removing the two items around the hole widens it to 15; the tree stays valid.
  t.remove(items[11]);
  t.remove(items[12]);
  t.validate();
  assert.equal(t.gapBottomUp(15, 0, 200), items[10].end);
  assert.equal(t.gapBottomUp(16, 0, 200), last.end);
  assert.equal(t.nextOf(items[10]), items[13]);
  assert.equal(t.prevOf(items[13]), items[10]);
});

Deno.test("RangeBTree: errors name the range, as GapTree's", () => {
  const t = new RangeBTree<Item>();
  const g = new GapTree<Item>();
  const a: Item = { start: 10, end: 20, id: 1 };
  t.insert(a);
  g.insert({ ...a });
  for (const bad of [{ start: 15, end: 25 }, { start: 5, end: 11 }, { start: 20, end: 20 }]) {
    const x = { ...bad, id: 2 };
    assert.deepEqual(outcome(() => t.insert(x)), outcome(() => g.insert({ ...x })));
  }
  assert.deepEqual(
    outcome(() => t.remove({ start: 10, end: 20, id: 3 })),
    outcome(() => g.remove({ start: 10, end: 20, id: 3 })),
  );
  // Touching is not overlapping: ranges ending at 10 and starting at 20 go in on either side.
  const below: Item = { start: 5, end: 10, id: 4 }, above: Item = { start: 20, end: 25, id: 5 };
  t.insert(below);
  t.insert(above);
  assert.deepEqual(t.toArray(), [below, a, above]);
  t.remove(below);
  t.remove(above);
  assert.throws(() => t.load([a], 1), /not empty/);
  t.clear();
  assert.throws(() => t.load([a, { start: 15, end: 30, id: 2 }], 2), /out of order/);
  assert.equal(t.size, 0);
  assert.throws(() => t.gapTopDown(0, 0, 10), /positive integer/);
  assert.equal(t.find(NaN), undefined);
  assert.equal(t.findFirstEndAfter(NaN), undefined);
  assert.equal(t.below(NaN), undefined);
});

/** An operation of the differential test. */
type Op =
  | { kind: "insert"; start: number; len: number }
  | { kind: "remove"; pick: number }
  | { kind: "load"; count: number }
  | { kind: "clear" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({
      kind: fc.constant("insert" as const),
      start: fc.nat(600),
      len: fc.integer({ min: 1, max: 9 }),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({ kind: fc.constant("remove" as const), pick: fc.nat(10_000) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("load" as const), count: fc.nat(300) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("clear" as const) }) },
);

Deno.test("RangeBTree: every operation and answer as GapTree's (property)", () => {
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 1, maxLength: 400 }), (ops) => {
      const b = new RangeBTree<Item>();
      const g = new GapTree<Item>();
      let id = 0;
      for (const op of ops) {
        if (op.kind === "insert") {
          const it: Item = { start: op.start, end: op.start + op.len, id: id++ };
          // GapTree keeps links on its items: each tree gets its own copy of the same range.
          const r1 = outcome(() => b.insert(it));
          const r2 = outcome(() => g.insert({ ...it }));
          assert.deepEqual(r1, r2, "insert");
        } else if (op.kind === "remove") {
          const all = b.toArray();
          if (all.length === 0) continue;
          const it = all[op.pick % all.length];
          b.remove(it);
          g.remove(g.toArray()[op.pick % all.length]);
        } else if (op.kind === "load") {
          b.clear();
          g.clear();
          const items: Item[] = [];
          for (let i = 0; i < op.count; i++) {
            items.push({ start: 4 * i, end: 4 * i + 1 + (i % 3), id: id++ });
          }
          b.load(items, op.count);
          g.load(items.map((x) => ({ ...x })), op.count);
        } else {
          b.clear();
          g.clear();
        }
        b.validate();
        // Compare by value: the two trees hold equal copies.
        assert.deepEqual(
          b.toArray().map((x) => [x.start, x.end]),
          g.toArray().map((x) => [x.start, x.end]),
        );
      }
      sameAnswersByValue(b, g);
    }),
    { numRuns: 60 },
  );
});

/** Both trees, holding equal copies of the same ranges, answer every query alike (by range). */
function sameAnswersByValue(b: RangeBTree<Item>, g: GapTree<Item>): void {
  const key = (x: Item | undefined) => x === undefined ? undefined : [x.start, x.end];
  const keys = (xs: Item[]) => xs.map((x) => [x.start, x.end]);
  assert.equal(b.size, g.size);
  assert.deepEqual(key(b.first()), key(g.first()));
  assert.deepEqual(key(b.last()), key(g.last()));
  assert.deepEqual(keys([...b]), keys(g.toArray()));
  const out: Item[] = [];
  assert.equal(b.fillArray(out), g.size);
  const addrs: number[] = [];
  for (let a = -2; a < 620; a += 7) addrs.push(a);
  for (const x of g) addrs.push(x.start, x.end, x.start - 1, x.end - 1);
  for (const a of addrs) {
    assert.deepEqual(key(b.find(a)), key(g.find(a)), `find(${a})`);
    assert.deepEqual(key(b.findFirstEndAfter(a)), key(g.findFirstEndAfter(a)), `endAfter(${a})`);
    assert.deepEqual(key(b.below(a)), key(g.below(a)), `below(${a})`);
    for (const w of [1, 5, 23, 200]) {
      const e = a + w;
      assert.deepEqual(
        keys(b.intersecting(a, e)),
        keys(g.intersecting(a, e)),
        `intersecting(${a}, ${e})`,
      );
      assert.equal(b.isFree(a, e), g.isFree(a, e), `isFree(${a}, ${e})`);
      for (const len of [1, 2, 4, 9, 30]) {
        assert.equal(
          b.gapTopDown(len, a, e),
          g.gapTopDown(len, a, e),
          `gapTopDown(${len}, ${a}, ${e})`,
        );
        assert.equal(
          b.gapBottomUp(len, a, e),
          g.gapBottomUp(len, a, e),
          `gapBottomUp(${len}, ${a}, ${e})`,
        );
      }
    }
  }
  const bs = b.toArray(), gs = g.toArray();
  for (let i = 0; i < bs.length; i++) {
    assert.deepEqual(key(b.prevOf(bs[i])), key(g.prevOf(gs[i])), "prevOf");
    assert.deepEqual(key(b.nextOf(bs[i])), key(g.nextOf(gs[i])), "nextOf");
  }
}

Deno.test("RangeBTree: the same answers as a GapTree of the same ranges (scattered, three levels)", () => {
  // 3,000 ranges inserted in a scattered order (leaves and parents split in halves: 112 leaves
  // under six parents and the root), then every range of one stretch of 800 removed (whole leaves
  // empty and are unlinked, a parent loses children) and every third of the rest.
  const N = 3000;
  const b = new RangeBTree<Item>();
  const g = new GapTree<Item>();
  const copies = new Map<number, Item>();
  const items: Item[] = [];
  for (let i = 0; i < N; i++) {
    const p = (i * 7919) % N;
    items.push({ start: 3 * p, end: 3 * p + 1 + (p % 2), id: p });
  }
  for (const it of items) {
    b.insert(it);
    const c = { ...it };
    copies.set(it.id, c);
    g.insert(c);
  }
  b.validate();
  assert.deepEqual(b.shape(), { depth: 3, leaves: 112, inner: 7 });
  for (const it of items) {
    if ((it.id >= 1000 && it.id < 1800) || it.id % 3 === 0) {
      b.remove(it);
      g.remove(copies.get(it.id)!);
    }
  }
  b.validate();
  sameAnswersByValue(b, g);
});

Deno.test("RangeBTree: inserts at one place keep leaves full (an entry moves to a sibling)", () => {
  // mmap's top-down allocation puts each new VMA right below the last one, above a fixed low
  // VMA: 1 + 10 * 32 items, each new one inserted between `low` and the previous one.
  //   [low)  ....  [n)[n-1) ... [2)[1)
  // A full leaf passes an entry to its neighbour when that has room, so after the first split
  // every leaf but the first two is full: 321 items in 11 leaves (321 / 32 = 10.03). Halves
  // instead of moves would leave 16 or 17 items per leaf: about 20 leaves.
  const n = 10 * RANGE_BTREE_SLOTS;
  const t = new RangeBTree<Item>();
  t.insert({ start: 0, end: 1, id: 0 });
  const top = 10_000;
  for (let i = 1; i <= n; i++) t.insert({ start: top - 2 * i, end: top - 2 * i + 1, id: i });
  t.validate();
  assert.deepEqual(t.shape(), { depth: 2, leaves: 11, inner: 1 });
  // The same items inserted in the opposite order (appends) fill leaves too.
  const u = new RangeBTree<Item>();
  u.insert({ start: 0, end: 1, id: 0 });
  for (let i = n; i >= 1; i--) u.insert({ start: top - 2 * i, end: top - 2 * i + 1, id: i });
  u.validate();
  assert.deepEqual(u.shape(), { depth: 2, leaves: 11, inner: 1 });
  assert.deepEqual(u.toArray().map((x) => x.start), t.toArray().map((x) => x.start));
  assert.equal(t.gapTopDown(2, 0, top), top - 2 * n - 2);
  // Appends past 32 leaves: parents fill whole too (33 leaves under two parents, not three).
  const w = new RangeBTree<Item>();
  for (let i = 0; i < 33 * RANGE_BTREE_SLOTS; i++) {
    w.insert({ start: 2 * i, end: 2 * i + 1, id: i });
  }
  w.validate();
  assert.deepEqual(w.shape(), { depth: 3, leaves: 33, inner: 3 });
});
