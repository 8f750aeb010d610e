import assert from "node:assert/strict";
import fc from "fast-check";
import { GapTree, type Range } from "../core/lib/gap_tree.ts";

interface Vma extends Range {
  id: number;
}

function vma(start: number, end: number, id = 0): Vma {
  return { start, end, id };
}

/** An item with the links the tree keeps on it. */
type Linked = Vma & { left: Linked | null; right: Linked | null; height: number; maxGap: number };

/**
 * Checks the tree the links of `items` (every item of one tree) make: one root, in-order the
 * items' order, heights exact and AVL-balanced, and each max gap the largest gap before an item
 * of its subtree.
 */
function checkLinks(items: Vma[]): void {
  const all = items as Linked[];
  const children = new Set<Linked>();
  for (const n of all) for (const c of [n.left, n.right]) if (c !== null) children.add(c);
  const roots = all.filter((n) => !children.has(n));
  assert.equal(roots.length, all.length === 0 ? 0 : 1, "one root");
  const order: Linked[] = [];
  const walk = (n: Linked | null): [number, number] => {
    if (n === null) return [0, -Infinity];
    const [hl, gl] = walk(n.left);
    order.push(n);
    const [hr, gr] = walk(n.right);
    assert.equal(n.height, Math.max(hl, hr) + 1, "height");
    assert.ok(Math.abs(hl - hr) <= 1, "AVL balance");
    const i = all.indexOf(n);
    const gap = Math.max(i === 0 ? 0 : n.start - all[i - 1].end, gl, gr);
    assert.equal(n.maxGap, gap, "max gap");
    return [n.height, gap];
  };
  if (roots.length === 1) walk(roots[0]);
  assert.deepEqual(order, all, "in-order");
}

Deno.test("GapTree load: a balanced tree of the items, by halving", () => {
  // Five items, one page apart but for a hole of 30 before the fourth:
  //   0    10 12   22 24   34        64   74 76   86
  //   [ a  )  [ b  )  [ c  )  ........ [ d  )  [ e  )
  // The middle item of each range roots it: c, then b (of a, b) and e (of d, e).
  const items = [vma(0, 10, 1), vma(12, 22, 2), vma(24, 34, 3), vma(64, 74, 4), vma(76, 86, 5)];
  const t = new GapTree<Vma>();
  t.load(items, 5);
  const [a, b, c, d, e] = items as Linked[];
  assert.deepEqual(
    [c.left, c.right, b.left, b.right, e.left, e.right, a.left, d.right],
    [b, e, a, null, d, null, null, null],
  );
  assert.deepEqual(items.map((n) => (n as Linked).height), [1, 2, 3, 1, 2]);
  assert.deepEqual(items.map((n) => (n as Linked).maxGap), [0, 2, 30, 30, 30]);
  checkLinks(items);
  assert.deepEqual([t.size, t.first(), t.last(), t.prevOf(d), t.nextOf(c)], [5, a, e, c, d]);
  // The answers of a tree filled by inserts.
  assert.equal(t.gapBottomUp(30, 0, 100), 34);
  assert.equal(t.gapBottomUp(31, 0, 200), 86);
  assert.equal(t.gapBottomUp(31, 0, 100), undefined);
  assert.equal(t.gapTopDown(30, 0, 64), 34);
  assert.deepEqual(t.intersecting(20, 70), [b, c, d]);
  // Inserts and removals go on from the loaded shape.
  t.insert(vma(40, 50, 6));
  t.remove(a);
  const now = t.toArray();
  assert.deepEqual(now.map((n) => n.id), [2, 3, 6, 4, 5]);
  checkLinks(now);
});

Deno.test("GapTree load refuses what inserts would refuse, and changes nothing", () => {
  const t = new GapTree<Vma>();
  const a = vma(0, 10, 1);
  for (
    const [items, count, msg] of [
      [[a, vma(5, 15)], 2, /out of order or overlaps/],
      [[vma(20, 30), a], 2, /out of order or overlaps/],
      [[a, vma(12, 12)], 2, /Invalid range/],
      [[a], 2, /count 2 is not in \[0, 1\]/],
      [[a], -1, /count -1/],
      [[a], 0.5, /count 0.5/],
    ] as [Vma[], number, RegExp][]
  ) {
    assert.throws(() => t.load(items, count), { name: "RangeError", message: msg });
    assert.equal(t.size, 0);
    assert.equal((a as Partial<Linked>).left, undefined, "no link written");
  }
  // Only the first `count` items are read; an empty load leaves an empty tree.
  t.load([a, vma(5, 15)], 1);
  assert.deepEqual([t.size, t.first(), t.last()], [1, a, a]);
  assert.throws(() => t.load([vma(20, 30)], 1), { name: "RangeError", message: /not empty/ });
  const u = new GapTree<Vma>();
  u.load([], 0);
  assert.deepEqual([u.size, u.first(), u.last(), u.gapBottomUp(5, 0, 100)], [
    0,
    undefined,
    undefined,
    0,
  ]);
});

Deno.test("GapTree lookups", () => {
  const t = new GapTree<Vma>();
  assert.equal(t.size, 0);
  assert.equal(t.first(), undefined);
  assert.equal(t.last(), undefined);
  assert.equal(t.find(0), undefined);
  const a = vma(10, 20, 1);
  const b = vma(20, 30, 2);
  const c = vma(50, 60, 3);
  t.insert(c);
  t.insert(a);
  t.insert(b);
  assert.equal(t.size, 3);
  assert.equal(t.find(9), undefined);
  assert.equal(t.find(10), a);
  assert.equal(t.find(19), a);
  assert.equal(t.find(20), b);
  assert.equal(t.find(30), undefined);
  assert.equal(t.find(59), c);
  assert.equal(t.find(60), undefined);
  assert.equal(t.findFirstEndAfter(0), a);
  assert.equal(t.findFirstEndAfter(20), b);
  assert.equal(t.findFirstEndAfter(30), c);
  assert.equal(t.findFirstEndAfter(60), undefined);
  assert.equal(t.prevOf(a), undefined);
  assert.equal(t.prevOf(b), a);
  assert.equal(t.prevOf(c), b);
  assert.equal(t.nextOf(a), b);
  assert.equal(t.nextOf(b), c);
  assert.equal(t.nextOf(c), undefined);
  assert.equal(t.below(10), undefined);
  assert.equal(t.below(11), a);
  assert.equal(t.below(100), c);
  assert.deepEqual(t.intersecting(15, 55), [a, b, c]);
  assert.deepEqual(t.intersecting(20, 50), [b]);
  assert.deepEqual(t.intersecting(30, 50), []);
  assert.deepEqual([...t], [a, b, c]);
  assert.equal(t.first(), a);
  assert.equal(t.last(), c);
  assert.ok(t.isFree(30, 50));
  assert.ok(!t.isFree(29, 50));
  assert.ok(!t.isFree(30, 51));
  assert.ok(t.isFree(0, 10));
  assert.ok(t.isFree(60, 1000));
});

Deno.test("GapTree insert rejects overlaps, remove is by identity", () => {
  const t = new GapTree<Vma>();
  const a = vma(10, 20);
  t.insert(a);
  assert.throws(() => t.insert(vma(15, 25)), Error);
  assert.throws(() => t.insert(vma(0, 11)), Error);
  assert.throws(() => t.insert(vma(10, 20)), Error);
  assert.throws(() => t.insert(vma(12, 13)), Error);
  assert.throws(() => t.insert(vma(5, 5)), RangeError);
  t.insert(vma(0, 10));
  t.insert(vma(20, 21));
  assert.throws(() => t.remove(vma(10, 20)), /not in the tree/);
  assert.throws(() => t.remove(vma(100, 200)), /not in the tree/);
  t.remove(a);
  assert.equal(t.size, 2);
  assert.throws(() => t.remove(a), Error);
  // Re-key while removed, then reinsert.
  a.start = 12;
  a.end = 18;
  t.insert(a);
  assert.equal(t.find(12), a);
  assert.equal(t.find(11), undefined);
});

Deno.test("GapTree remove: the successor that takes the removed item's place as a leaf gets its new gap", () => {
  // a, b, c inserted in order root b (a, c); d goes right of c. Removing c (no left child, d a
  // leaf) makes d the child of b without a recomputation on the removal path: the tree must
  // set d's gap to the one after b (60 - 30), not keep the one after c (60 - 50), else the
  // subtree's max gap hides the hole [30, 60) from both unmapped-area searches.
  const t = new GapTree<Vma>();
  const [a, b, c, d] = [vma(0, 10, 1), vma(20, 30, 2), vma(40, 50, 3), vma(60, 70, 4)];
  for (const v of [a, b, c, d]) t.insert(v);
  t.remove(c);
  checkLinks([a, b, d]);
  assert.deepEqual([(d as Linked).maxGap, (b as Linked).maxGap], [30, 30]);
  assert.equal(t.gapBottomUp(30, 0, 70), 30);
  assert.equal(t.gapTopDown(30, 0, 70), 30);
});

Deno.test("GapTree gap searches (exact values)", () => {
  const t = new GapTree<Vma>();
  assert.equal(t.gapTopDown(10, 0, 100), 90);
  assert.equal(t.gapBottomUp(10, 0, 100), 0);
  assert.equal(t.gapTopDown(101, 0, 100), undefined);
  assert.throws(() => t.gapTopDown(0, 0, 100), RangeError);
  assert.throws(() => t.gapBottomUp(-1, 0, 100), RangeError);
  assert.deepEqual(t.intersecting(5, 5), []);
  assert.ok(t.isFree(5, 5));
  t.insert(vma(10, 20));
  t.insert(vma(30, 40));
  t.insert(vma(43, 50));
  t.insert(vma(90, 100));
  assert.equal(t.gapTopDown(5, 0, 100), 85);
  assert.equal(t.gapTopDown(5, 0, 1000), 995);
  assert.equal(t.gapTopDown(40, 0, 100), 50);
  assert.equal(t.gapTopDown(41, 0, 100), undefined);
  assert.equal(t.gapTopDown(41, 0, 141), 100);
  assert.equal(t.gapTopDown(3, 0, 50), 40);
  assert.equal(t.gapTopDown(4, 0, 50), 26);
  assert.equal(t.gapTopDown(10, 0, 50), 20);
  assert.equal(t.gapTopDown(10, 21, 50), undefined);
  assert.equal(t.gapTopDown(10, 0, 19), 0);
  assert.equal(t.gapTopDown(11, 0, 19), undefined);
  assert.equal(t.gapBottomUp(10, 0, 100), 0);
  assert.equal(t.gapBottomUp(11, 0, 100), 50);
  assert.equal(t.gapBottomUp(3, 35, 100), 40);
  assert.equal(t.gapBottomUp(10, 5, 100), 20);
  assert.equal(t.gapBottomUp(10, 21, 100), 50);
  assert.equal(t.gapBottomUp(40, 21, 100), 50);
  assert.equal(t.gapBottomUp(41, 21, 100), undefined);
  assert.equal(t.gapBottomUp(41, 21, 141), 100);
});

Deno.test("GapTree large tree: exact gaps among 50,000 items", () => {
  const t = new GapTree<Vma>();
  const n = 50_000;
  // Items of 10 pages separated by 1-page holes; one 100-page hole in the middle.
  let addr = 0;
  let big = -1;
  for (let i = 0; i < n; i++) {
    if (i === n / 2) {
      big = addr;
      addr += 100;
    }
    t.insert(vma(addr, addr + 10, i));
    addr += 11;
  }
  // No wall-clock assertion (tests must not fail on a busy machine); speed lives in bench:scale.
  assert.equal(t.gapTopDown(50, 0, addr - 1), big + 50);
  assert.equal(t.gapBottomUp(50, 0, addr - 1), big - 1);
  assert.equal(t.gapTopDown(1, 0, addr - 1), addr - 12);
});

function bruteGap(
  items: Range[],
  len: number,
  low: number,
  high: number,
  topDown: boolean,
): number | undefined {
  const free = (s: number): boolean => items.every((r) => s + len <= r.start || s >= r.end);
  if (topDown) {
    for (let s = high - len; s >= low; s--) if (free(s)) return s;
  } else {
    for (let s = low; s + len <= high; s++) if (free(s)) return s;
  }
  return undefined;
}

type Op =
  | { t: "ins"; s: number; l: number }
  | { t: "rm"; i: number }
  | { t: "load" }
  | { t: "gap"; len: number; low: number; span: number }
  | { t: "q"; a: number; b: number };

/** What a reused array holds past the items {@link GapTree.fillArray} wrote. */
const STALE = vma(-1, -1, -1);

Deno.test("GapTree matches a naive model (property)", () => {
  const op: fc.Arbitrary<Op> = fc.oneof(
    {
      arbitrary: fc.record({
        t: fc.constant("ins" as const),
        s: fc.nat(200),
        l: fc.integer({ min: 1, max: 20 }),
      }),
      weight: 3,
    },
    fc.record({ t: fc.constant("rm" as const), i: fc.nat() }),
    // Empties the tree and loads the same items at once (fork's copy): every later insert,
    // removal and search runs on the loaded shape.
    fc.record({ t: fc.constant("load" as const) }),
    {
      arbitrary: fc.record({
        t: fc.constant("gap" as const),
        len: fc.integer({ min: 1, max: 30 }),
        low: fc.integer({ min: -10, max: 220 }),
        span: fc.nat(120),
      }),
      weight: 2,
    },
    fc.record({
      t: fc.constant("q" as const),
      a: fc.integer({ min: -5, max: 230 }),
      b: fc.nat(40),
    }),
  );
  fc.assert(
    fc.property(fc.array(op, { minLength: 10, maxLength: 120 }), (ops) => {
      const t = new GapTree<Vma>();
      const scratch: Vma[] = new Array(130).fill(STALE);
      let ref: Vma[] = [];
      let id = 0;
      for (const o of ops) {
        if (o.t === "ins") {
          const v = vma(o.s, o.s + o.l, id++);
          const overlaps = ref.some((r) => r.start < v.end && v.start < r.end);
          if (overlaps) {
            assert.throws(() => t.insert(v));
          } else {
            t.insert(v);
            ref.push(v);
            ref.sort((a, b) => a.start - b.start);
          }
        } else if (o.t === "load") {
          t.clear();
          t.load(ref, ref.length);
          checkLinks(ref);
        } else if (o.t === "rm") {
          if (ref.length === 0) continue;
          const v = ref[o.i % ref.length];
          t.remove(v);
          ref = ref.filter((r) => r !== v);
        } else if (o.t === "gap") {
          const high = o.low + o.span;
          assert.equal(t.gapTopDown(o.len, o.low, high), bruteGap(ref, o.len, o.low, high, true));
          assert.equal(
            t.gapBottomUp(o.len, o.low, high),
            bruteGap(ref, o.len, o.low, high, false),
          );
        } else {
          const a = o.a;
          const b = o.a + o.b;
          assert.equal(t.find(a), ref.find((r) => r.start <= a && a < r.end));
          assert.equal(t.findFirstEndAfter(a), ref.find((r) => r.end > a));
          assert.equal(t.below(a), ref.findLast((r) => r.start < a));
          const hits = a < b ? ref.filter((r) => r.start < b && a < r.end) : [];
          assert.deepEqual(t.intersecting(a, b), hits);
          assert.equal(t.isFree(a, b), hits.length === 0);
          ref.forEach((r, i) => {
            assert.equal(t.prevOf(r), ref[i - 1]);
            assert.equal(t.nextOf(r), ref[i + 1]);
          });
        }
        assert.equal(t.size, ref.length);
        // Every link, height and max gap exact after every operation, not only where a gap
        // search below happens to read them.
        checkLinks(ref);
        // toArray walks the predecessor links from the last item.
        assert.deepEqual(t.toArray(), ref);
        // fillArray into a reused array: from index 0, what lies past the items left alone.
        const n = t.fillArray(scratch);
        assert.equal(n, ref.length);
        assert.deepEqual(scratch.slice(0, n), ref);
        assert.ok(scratch.slice(n).every((x) => x === STALE));
        scratch.fill(STALE);
        // Each item links its predecessor (the gap augmentation reads it).
        ref.forEach((r, i) => assert.equal((r as { prev?: Vma | null }).prev, ref[i - 1] ?? null));
        assert.equal(t.first(), ref[0]);
        assert.equal(t.last(), ref[ref.length - 1]);
      }
      assert.deepEqual([...t], ref);
      // clear() unlinks every item (walking the predecessor links), leaving them reusable.
      t.clear();
      assert.deepEqual([t.size, t.toArray(), t.first(), t.last()], [0, [], undefined, undefined]);
      for (const r of ref) {
        const n = r as Vma & { left: unknown; right: unknown; prev: unknown; maxGap: number };
        assert.deepEqual([n.left, n.right, n.prev, n.maxGap], [null, null, null, 0]);
      }
      for (const r of ref) t.insert(r);
      assert.deepEqual(t.toArray(), ref);
    }),
    { seed: 0x9a9, numRuns: 200 },
  );
});
