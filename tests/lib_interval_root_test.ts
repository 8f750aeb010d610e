// An interval tree held as a bare root (intervalInsert / intervalRemove / intervalQuery, what an
// anon_vma embeds) behaves exactly as an IntervalNodeTree object: same shapes (so the same
// node-visit counts), same equal-start order, same query results.

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  intervalInsert,
  IntervalNode,
  IntervalNodeTree,
  intervalQuery,
  intervalRemove,
  IntervalRootView,
} from "../core/lib/interval_tree.ts";
import { AvlEngine, avlHeight, AvlNode } from "../core/lib/augmented_tree.ts";

class Span extends IntervalNode<Span> {
  constructor(readonly name: number, readonly start: number, readonly last: number) {
    super();
  }
}

/** Preorder of (name, height, start + maxDelta): the whole shape and augmentation. */
function shape(n: Span | null, out: number[][] = []): number[][] {
  if (n === null) return out;
  out.push([n.name, avlHeight(n), n.start + n.maxDelta]);
  shape(n.left, out);
  shape(n.right, out);
  return out;
}

Deno.test("bare-root interval tree = IntervalNodeTree: shapes, order, queries", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(fc.boolean(), fc.nat(30), fc.integer({ min: 0, max: 12 }), fc.nat(40)),
        { maxLength: 120 },
      ),
      fc.array(fc.tuple(fc.nat(45), fc.nat(15)), { minLength: 1, maxLength: 8 }),
      (ops, queries) => {
        const tree = new IntervalNodeTree<Span>();
        const holder = { treeRoot: null as Span | null };
        const view = new IntervalRootView<Span>(holder);
        const a: Span[] = [], b: Span[] = [];
        let name = 0;
        for (const [ins, start, len, pick] of ops) {
          if (ins || a.length === 0) {
            const x = new Span(name, start, start + len), y = new Span(name, start, start + len);
            name++;
            tree.insert(x);
            holder.treeRoot = intervalInsert(holder.treeRoot, y);
            a.push(x);
            b.push(y);
          } else {
            const i = pick % a.length;
            assert.equal(tree.remove(a[i]), true);
            const r = intervalRemove(holder.treeRoot, b[i]);
            assert.notEqual(r, undefined);
            holder.treeRoot = r!;
            assert.equal(b[i].linked, false);
            assert.equal(intervalRemove(holder.treeRoot, b[i]), undefined);
            a.splice(i, 1);
            b.splice(i, 1);
          }
          assert.deepEqual(shape(holder.treeRoot), shape(tree.root));
        }
        assert.equal(view.size, tree.size);
        assert.equal(view.isEmpty(), tree.isEmpty());
        assert.deepEqual(
          [...view.nodes()].map((n) => n.name),
          [...tree.nodes()].map((n) => n.name),
        );
        for (const [s, l] of queries) {
          const got: number[] = [], want: number[] = [];
          const nb = intervalQuery(holder.treeRoot, s, s + l, (n) => {
            got.push(n.name);
          });
          const na = tree.query(s, s + l, (n) => {
            want.push(n.name);
          });
          assert.deepEqual([nb, got], [na, want]);
          assert.equal(view.query(s, s + l, () => {}), na);
          const all = { enter: () => true, visit: (n: Span) => n.start <= s };
          assert.equal(view.walk(all), tree.walk(all));
        }
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("equal starts are visited in insertion order, also after re-insertion", () => {
  let root: Span | null = null;
  const spans = [0, 1, 2, 3, 4].map((i) => new Span(i, 7, 7 + i));
  for (const s of spans) root = intervalInsert(root, s);
  const order = (): number[] => {
    const out: number[] = [];
    intervalQuery(root, 0, 100, (n) => {
      out.push(n.name);
    });
    return out;
  };
  assert.deepEqual(order(), [0, 1, 2, 3, 4]);
  root = intervalRemove(root, spans[1])!;
  root = intervalInsert(root, spans[1]);
  root = intervalRemove(root, spans[3])!;
  root = intervalInsert(root, spans[3]);
  assert.deepEqual(order(), [0, 2, 4, 1, 3]);
  assert.throws(() => intervalInsert(root, spans[0]), /already stored/);
});

Deno.test("a large page offset keeps maxDelta a small integer", () => {
  // Page offsets of anonymous VMAs are above 2^31; the augmentation stores differences.
  const base = 0x7f0000000;
  let root: Span | null = null;
  for (let i = 0; i < 50; i++) {
    root = intervalInsert(root, new Span(i, base + i * 3, base + i * 3 + 2));
  }
  for (const n of new IntervalRootView({ treeRoot: root }).nodes()) {
    assert.equal(Number.isSafeInteger(n.maxDelta) && n.maxDelta >= 2 && n.maxDelta < 200, true);
  }
  assert.equal(root!.start + root!.maxDelta, base + 49 * 3 + 2);
});

Deno.test("AvlEngine on a bare root: insert, remove, takeRemoved, neighbour, walk", () => {
  class N extends AvlNode<N> {
    constructor(readonly key: number) {
      super();
    }
  }
  const e = new AvlEngine<N>((x, y) => x.key < y.key);
  let root: N | null = null;
  const ns = [5, 3, 8, 1, 4].map((k) => new N(k));
  for (const n of ns) root = e.insert(root, n);
  assert.equal(e.takeRemoved(), null);
  assert.equal(e.neighbour(root, ns[1], 1), ns[4]);
  assert.equal(e.neighbour(root, ns[3], -1), null);
  const seen: number[] = [];
  const visits = e.walk(root, { enter: () => true, visit: (n) => (seen.push(n.key), true) });
  assert.deepEqual([visits, seen], [5, [1, 3, 4, 5, 8]]);
  root = e.remove(root, ns[0]);
  assert.equal(e.takeRemoved(), ns[0]);
  assert.deepEqual([ns[0].left, ns[0].right, ns[0].height], [null, null, 1]);
  root = e.remove(root, ns[0]);
  assert.equal(e.takeRemoved(), null);
  root = e.removeKey(root, 8, (k, n) => k - n.key);
  assert.equal(e.takeRemoved(), ns[2]);
  assert.equal(root?.key, 3);
});
