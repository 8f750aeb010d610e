import assert from "node:assert/strict";
import fc from "fast-check";
import { type AugmentCallbacks, AugmentedTree, AvlNode } from "../core/lib/augmented_tree.ts";
import { refAvl } from "./ref_avl.ts";

/** A node with two augmentations: subtree size and largest `weight`. */
class N extends AvlNode<N> {
  count = 1;
  maxWeight: number;
  constructor(readonly key: number, readonly weight: number, readonly id: number) {
    super();
    this.maxWeight = weight;
  }
}

const PROPAGATE: AugmentCallbacks<N> = {
  propagate(n: N): void {
    let c = 1, m = n.weight;
    if (n.left !== null) {
      c += n.left.count;
      if (n.left.maxWeight > m) m = n.left.maxWeight;
    }
    if (n.right !== null) {
      c += n.right.count;
      if (n.right.maxWeight > m) m = n.right.maxWeight;
    }
    n.count = c;
    n.maxWeight = m;
  },
};

/** The same augmentation with the kernel-style rotate fast path. */
const WITH_ROTATE: AugmentCallbacks<N> = {
  propagate: PROPAGATE.propagate,
  rotate(old: N, top: N): void {
    top.count = old.count;
    top.maxWeight = old.maxWeight;
    this.propagate(old);
  },
};

// A total order, like the interval tree's (start, seq): ids grow with insertion, so equal keys
// still go right on insert, and remove/neighbour can tell equal keys apart.
const before = (a: N, b: N): boolean => a.key < b.key || (a.key === b.key && a.id < b.id);
const byKey = (k: number, n: N): number => k - n.key;

/** Checks AVL heights and balance, and both augmentations, bottom-up; returns the height. */
function check(n: N | null): number {
  if (n === null) return 0;
  const hl = check(n.left), hr = check(n.right);
  assert.equal(n.height, Math.max(hl, hr) + 1, "height");
  assert.ok(Math.abs(hl - hr) <= 1, "AVL balance");
  const c = 1 + (n.left?.count ?? 0) + (n.right?.count ?? 0);
  const m = Math.max(n.weight, n.left?.maxWeight ?? -Infinity, n.right?.maxWeight ?? -Infinity);
  assert.equal(n.count, c, "count augmentation");
  assert.equal(n.maxWeight, m, "max augmentation");
  return n.height;
}

function shape(n: N | null): string {
  return n === null ? "." : `(${shape(n.left)} ${n.id} ${shape(n.right)})`;
}

/**
 * The AVL insert/delete of the three trees before they shared one implementation, kept here as
 * the reference: the shared tree must build exactly the same shapes (so that node-visit counts,
 * the rmap walks' `treeNodes`, do not move).
 */
class RefNode {
  left: RefNode | null = null;
  right: RefNode | null = null;
  height = 1;
  constructor(readonly key: number, readonly id: number) {}
}
/** Ordered by key, equal keys by id (ids grow with insertion), as the shared tree orders them. */
const REF = refAvl<RefNode>((a, b) => a.key < b.key || (a.key === b.key && a.id < b.id));
function refShape(n: RefNode | null): string {
  return n === null ? "." : `(${refShape(n.left)} ${n.id} ${refShape(n.right)})`;
}

/** An operation: insert (key, weight), or remove the i-th stored node (modulo the size). */
type Op = { insert: true; key: number; weight: number } | { insert: false; pick: number };
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    insert: fc.constant(true as const),
    key: fc.integer({ min: 0, max: 30 }),
    weight: fc.integer({ min: -50, max: 50 }),
  }),
  fc.record({ insert: fc.constant(false as const), pick: fc.nat() }),
);

Deno.test("AugmentedTree matches a naive model and the reference AVL (property)", () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 120 }), fc.boolean(), (ops, rotate) => {
      const t = new AugmentedTree<N>(before, rotate ? WITH_ROTATE : PROPAGATE);
      // Model: nodes in order; equal keys in insertion order.
      let model: N[] = [];
      let ref: RefNode | null = null;
      const refs = new Map<number, RefNode>();
      let id = 0;
      for (const op of ops) {
        if (op.insert) {
          const n = new N(op.key, op.weight, id);
          const r = new RefNode(op.key, id);
          refs.set(id, r);
          t.insert(n);
          ref = REF.insert(ref, r);
          id++;
          let i = 0;
          while (i < model.length && model[i].key <= op.key) i++;
          model.splice(i, 0, n);
        } else if (model.length > 0) {
          const victim = model[op.pick % model.length];
          if (op.pick % 2 === 0) assert.ok(t.remove(victim));
          else {
            // By key: removes SOME node with that key; keep the model in step with which one.
            const got = t.removeKey(victim.key, byKey)!;
            assert.equal(got.key, victim.key);
            model = model.filter((m) => m !== got);
            ref = REF.remove(ref, refs.get(got.id)!);
            assert.equal(got.left, null);
            continue;
          }
          assert.ok(!t.remove(victim), "second remove finds nothing");
          model = model.filter((m) => m !== victim);
          ref = REF.remove(ref, refs.get(victim.id)!);
        }
        assert.equal(t.size, model.length);
        check(t.root);
        assert.deepEqual([...t.nodes()], model);
        assert.equal(shape(t.root), refShape(ref), "same shape as the reference AVL");
        assert.equal(
          t.root?.maxWeight,
          model.length ? Math.max(...model.map((m) => m.weight)) : undefined,
        );
      }
      // Searches against the model.
      for (let k = -1; k <= 31; k++) {
        const ge = model.find((m) => m.key >= k) ?? null;
        const gt = model.find((m) => m.key > k) ?? null;
        const le = model.findLast((m) => m.key <= k) ?? null;
        const lt = model.findLast((m) => m.key < k) ?? null;
        assert.equal(t.ceiling(k, byKey, false)?.key, ge?.key);
        assert.equal(t.ceiling(k, byKey, true)?.key, gt?.key);
        assert.equal(t.floor(k, byKey, false)?.key, le?.key);
        assert.equal(t.floor(k, byKey, true)?.key, lt?.key);
      }
      model.forEach((m, i) => {
        assert.equal(t.neighbour(m, 1), model[i + 1] ?? null);
        assert.equal(t.neighbour(m, -1), model[i - 1] ?? null);
      });
      assert.equal(t.extreme(-1), model[0] ?? null);
      assert.equal(t.extreme(1), model.at(-1) ?? null);
    }),
    { numRuns: 300 },
  );
});

Deno.test("AugmentedTree with a key-only order: equal keys go right, in insertion order", () => {
  // The kernel's rb-tree insert rule (e.g. INTERVAL_TREE_DEFINE's insert: `start <
  // ITSTART(parent)` goes left, anything else right): a node with an equal key goes after the
  // existing ones, so equal keys are visited in insertion order, and a removal by identity,
  // which descends right on an equal key, finds them.
  const t = new AugmentedTree<N>((a, b) => a.key < b.key, PROPAGATE);
  const [a, b, c, d] = [new N(5, 0, 1), new N(5, 0, 2), new N(5, 0, 3), new N(1, 0, 4)];
  for (const n of [a, b, c, d]) t.insert(n);
  assert.deepEqual([...t.nodes()].map((n) => n.id), [4, 1, 2, 3]);
  assert.equal(t.ceiling(5, byKey, false), a);
  assert.equal(t.floor(5, byKey, false), c);
  assert.equal(t.remove(b), true);
  assert.equal(t.remove(c), true);
  assert.deepEqual([...t.nodes()].map((n) => n.id), [4, 1]);
  assert.equal(t.size, 2);
  check(t.root);
});

Deno.test("AugmentedTree walk: pruning by augmentation, early stop, exact node count", () => {
  const t = new AugmentedTree<N>(before, PROPAGATE);
  // Keys 0..6 inserted in order build a perfect tree: 3 at the root, then 1 and 5.
  [0, 1, 2, 3, 4, 5, 6].forEach((k) => t.insert(new N(k, k === 2 ? 100 : 0, k)));
  assert.equal(shape(t.root), "(((. 0 .) 1 (. 2 .)) 3 ((. 4 .) 5 (. 6 .)))");
  const seen: number[] = [];
  // Find weights >= 100: only the subtree of 1 may hold one (3's right side has max 0).
  const nodes = t.walk({
    enter: (n) => n.maxWeight >= 100,
    visit: (n) => {
      if (n.weight >= 100) seen.push(n.key);
      return true;
    },
  });
  assert.deepEqual(seen, [2]);
  // Examined: 3, 1, 0 (pruned), 2, 5 (pruned).
  assert.equal(nodes, 5);
  // Stop at the first visited node: 3, 1, 0 examined.
  assert.equal(t.walk({ enter: () => true, visit: () => false }), 3);
  // Nested walks keep their own counts.
  let inner = 0;
  const outer = t.walk({
    enter: () => true,
    visit: () => {
      inner += t.walk({ enter: () => false, visit: () => true });
      return true;
    },
  });
  assert.equal(outer, 7);
  assert.equal(inner, 7);
});

Deno.test("AugmentedTree insertLast builds the tree insert builds, for keys at or above the last", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: -30, max: 30 }), { maxLength: 60 }),
      fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 80 }),
      (start, steps) => {
        for (const aug of [PROPAGATE, WITH_ROTATE]) {
          const a = new AugmentedTree<N>(before, aug);
          const b = new AugmentedTree<N>(before, aug);
          let id = 0;
          for (const k of start) {
            a.insert(new N(k, k, id));
            b.insert(new N(k, k, id++));
          }
          let key = start.length > 0 ? Math.max(...start) : 0;
          for (const d of steps) {
            key += d; // equal keys too
            a.insert(new N(key, 100 - key, id));
            b.insertLast(new N(key, 100 - key, id++));
            assert.equal(shape(b.root), shape(a.root));
            check(b.root);
          }
          assert.equal(b.size, a.size);
        }
      },
    ),
  );
});

/**
 * An augmentation that says when nothing changed (max weight only), so that an append stops
 * recomputing ancestors early. Appended weights that fall, rise and repeat exercise both the
 * stop (a smaller weight changes no ancestor's max) and the full climb (a new maximum changes
 * every ancestor on the right spine). A stop placed one level too low, or taken after a
 * rotation, leaves a wrong max or height that `checkMax` reports.
 */
class M extends AvlNode<M> {
  maxWeight: number;
  constructor(readonly key: number, readonly weight: number, readonly id: number) {
    super();
    this.maxWeight = weight;
  }
}
const MAX_ONLY: AugmentCallbacks<M> = {
  propagate(n: M): boolean {
    let m = n.weight;
    if (n.left !== null && n.left.maxWeight > m) m = n.left.maxWeight;
    if (n.right !== null && n.right.maxWeight > m) m = n.right.maxWeight;
    if (n.maxWeight === m) return false;
    n.maxWeight = m;
    return true;
  },
};
function checkMax(n: M | null): number {
  if (n === null) return 0;
  const hl = checkMax(n.left), hr = checkMax(n.right);
  assert.equal(n.height, Math.max(hl, hr) + 1, "height");
  assert.ok(Math.abs(hl - hr) <= 1, "AVL balance");
  const m = Math.max(n.weight, n.left?.maxWeight ?? -Infinity, n.right?.maxWeight ?? -Infinity);
  assert.equal(n.maxWeight, m, "max augmentation");
  return n.height;
}
function shapeM(n: M | null): string {
  return n === null ? "." : `(${shapeM(n.left)} ${n.id}:${n.maxWeight} ${shapeM(n.right)})`;
}

Deno.test("AugmentedTree insertLast stops early when the augmentation is unchanged: same tree", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: -20, max: 20 })), {
        minLength: 1,
        maxLength: 120,
      }),
      (steps) => {
        const a = new AugmentedTree<M>(before as unknown as (x: M, y: M) => boolean, MAX_ONLY);
        const b = new AugmentedTree<M>(before as unknown as (x: M, y: M) => boolean, MAX_ONLY);
        let key = 0, id = 0;
        for (const [d, w] of steps) {
          key += d;
          a.insert(new M(key, w, id));
          b.insertLast(new M(key, w, id++));
          assert.equal(shapeM(b.root), shapeM(a.root));
          checkMax(b.root);
        }
      },
    ),
  );
});

Deno.test("AugmentedTree load: the middle node roots each range; heights, augmentation, then inserts and removals", () => {
  // Keys 0..6 (ids the same): 3 roots the whole, 1 and 5 the halves.
  //            3
  //        1       5
  //      0   2   4   6
  const nodes = [0, 1, 2, 3, 4, 5, 6].map((k) => new N(k, 10 * k, k));
  const t = new AugmentedTree<N>(before, PROPAGATE);
  t.load(nodes, 7);
  assert.equal(shape(t.root), "(((. 0 .) 1 (. 2 .)) 3 ((. 4 .) 5 (. 6 .)))");
  assert.deepEqual([t.size, t.root?.count, t.root?.maxWeight], [7, 7, 60]);
  check(t.root);
  // Six: the upper middle (index 3) roots it; the left half has three, the right two.
  const six = new AugmentedTree<N>(before, PROPAGATE);
  six.load([0, 1, 2, 3, 4, 5].map((k) => new N(k, k, k)), 6);
  assert.equal(shape(six.root), "(((. 0 .) 1 (. 2 .)) 3 ((. 4 .) 5 .))");
  // Refused: a tree that is not empty, a count out of range; nothing changes.
  assert.throws(() => t.load([new N(9, 0, 9)], 1), { name: "RangeError", message: /not empty/ });
  const u = new AugmentedTree<N>(before, PROPAGATE);
  assert.throws(() => u.load(nodes, 8), { name: "RangeError", message: /count 8/ });
  assert.deepEqual([u.size, u.root], [0, null]);
});

Deno.test("AugmentedTree load keeps a tree kind's value above the height, and a loaded tree stays an AVL tree (property)", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 70 }),
      fc.array(opArb, { maxLength: 60 }),
      (keys, ops) => {
        for (const aug of [PROPAGATE, WITH_ROTATE]) {
          keys.sort((x, y) => x - y);
          let id = 0;
          const nodes = keys.map((k) => new N(k, k % 7, id++));
          // A value packed above the height (as the VMA tree's max gap) survives the load.
          nodes.forEach((n, i) => n.height = (i + 1) * 64 + 1);
          const t = new AugmentedTree<N>(before, aug);
          t.load(nodes, nodes.length);
          nodes.forEach((n, i) => assert.equal(Math.floor(n.height / 64), i + 1));
          nodes.forEach((n) => n.height &= 63); // back to plain heights for `check`
          check(t.root);
          assert.deepEqual([...t.nodes()], nodes);
          const live = [...nodes];
          for (const o of ops) {
            if (o.insert) {
              const n = new N(o.key, o.weight, id++);
              t.insert(n);
              live.push(n);
              live.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
            } else if (live.length > 0) {
              const n = live.splice(o.pick % live.length, 1)[0];
              assert.ok(t.remove(n));
            }
            check(t.root);
          }
          assert.deepEqual([...t.nodes()], live);
          assert.equal(t.size, live.length);
        }
      },
    ),
    { seed: 0x10ad, numRuns: 150 },
  );
});
