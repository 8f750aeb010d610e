// The interval tree keeps a node's insertion sequence number packed above its AVL height in one
// field (`height` = (seq + 1) * 64 + h), numbered per tree and start. Against a reference AVL
// with the two as separate fields and one global insertion counter (the tree before the
// packing), every shape, height, equal-start order and query visit count is the same. The
// shared engine keeps any packed value above the height exactly, also past 2^25 (where the
// field stops being a Smi), past 2^31 (where 32-bit bitwise operations would wrap) and to 2^47.

import assert from "node:assert/strict";
import fc from "fast-check";
import { AvlEngine, avlHeight, AvlNode, HEIGHT_UNIT } from "../core/lib/augmented_tree.ts";
import {
  intervalInsert,
  IntervalNodeTree,
  intervalQuery,
  intervalRemove,
} from "../core/lib/interval_tree.ts";

import { REF, Ref, refQuery, refShape, type Shape, Span, spanShape } from "./ref_interval.ts";

Deno.test("interval tree packing (seq per tree and start) = separate fields, global seq", () => {
  let seq = 0;
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(fc.boolean(), fc.nat(12), fc.integer({ min: 0, max: 6 }), fc.nat(300)),
        { maxLength: 150 },
      ),
      fc.array(fc.tuple(fc.nat(20), fc.nat(6)), { minLength: 1, maxLength: 6 }),
      (ops, queries) => {
        const tree = new IntervalNodeTree<Span>();
        let bare: Span | null = null;
        let ref: Ref | null = null;
        const live: [Span, Span, Ref][] = [];
        let name = 0;
        for (const [ins, start, len, pick] of ops) {
          if (ins || live.length === 0) {
            // Odd starts: past 2^32, so the starts are heap numbers.
            const s = start % 2 === 0 ? start : 2 ** 32 + start;
            const a = new Span(name, s, s + len), b = new Span(name, s, s + len);
            const r = new Ref(name, s, s + len, seq++);
            tree.insert(a);
            bare = intervalInsert(bare, b);
            ref = REF.insert(ref, r);
            name++;
            // Per tree and start: one more than the largest live one of that start.
            const same = live.filter(([x]) => x.start === s).map(([x]) => x.seq);
            const want = same.length === 0 ? 0 : Math.max(...same) + 1;
            assert.deepEqual([a.seq, b.seq, a.linked], [want, want, true]);
            assert.equal(a.height - avlHeight(a), (want + 1) * HEIGHT_UNIT);
            live.push([a, b, r]);
          } else {
            const [a, b, r] = live.splice(pick % live.length, 1)[0];
            assert.equal(tree.remove(a), true);
            bare = intervalRemove(bare, b)!;
            ref = REF.remove(ref, r);
            assert.deepEqual([a.linked, a.seq, a.height, b.seq, b.height], [false, -1, 1, -1, 1]);
            assert.equal(tree.remove(a), false);
          }
          const want = refShape(ref);
          assert.deepEqual(spanShape(tree.root), want);
          assert.deepEqual(spanShape(bare), want);
          assert.deepEqual([...tree.nodes()].map((n) => n.name), refOrder(ref));
        }
        for (const [q, len] of queries) {
          const s = q % 2 === 0 ? q : 2 ** 32 + q;
          const got: number[] = [], want: number[] = [];
          const nodes = tree.query(s, s + len, (n) => {
            got.push(n.name);
          });
          assert.equal(intervalQuery(bare, s, s + len, () => {}), nodes);
          assert.equal(nodes, refQuery(ref, s, s + len, want));
          assert.deepEqual(got, want);
        }
      },
    ),
  );
});

function refOrder(n: Ref | null, out: number[] = []): number[] {
  if (n === null) return out;
  refOrder(n.left, out);
  out.push(n.name);
  refOrder(n.right, out);
  return out;
}

/** A plain-keyed node whose `height` carries a packed value above the height. */
class Packed extends AvlNode<Packed> {
  constructor(readonly name: number, readonly key: number, readonly high: number) {
    super();
    this.height = high * HEIGHT_UNIT + 1;
  }
}
function packedShape(n: Packed | null, out: Shape = []): Shape {
  if (n === null) return out;
  assert.equal(n.height - avlHeight(n), n.high * HEIGHT_UNIT, "bits above the height kept");
  out.push([n.name, avlHeight(n), n.key]);
  packedShape(n.left, out);
  packedShape(n.right, out);
  return out;
}
function refKeyShape(n: Ref | null, out: Shape = []): Shape {
  if (n === null) return out;
  out.push([n.name, n.height, n.start]);
  refKeyShape(n.left, out);
  refKeyShape(n.right, out);
  return out;
}

Deno.test("AvlEngine keeps packed values above the height exactly (past 2^25, 2^31, to 2^47)", () => {
  const highs = [0, 1, 2 ** 25 - 1, 2 ** 25, 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 5, 2 ** 47 - 1];
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.boolean(), fc.nat(40), fc.nat(highs.length - 1), fc.nat(300)), {
        maxLength: 150,
      }),
      (ops) => {
        let seq = 0;
        // Distinct keys break ties by insertion (the reference's (start, seq) order).
        const e = new AvlEngine<Packed>((a, b) => a.key < b.key);
        let root: Packed | null = null;
        let ref: Ref | null = null;
        const live: [Packed, Ref][] = [];
        let name = 0;
        for (const [ins, k, hi, pick] of ops) {
          if (ins || live.length === 0) {
            const key = k * 1000 + name;
            const p = new Packed(name, key, highs[hi]), r = new Ref(name, key, key, seq++);
            root = e.insert(root, p);
            ref = REF.insert(ref, r);
            name++;
            live.push([p, r]);
          } else {
            const [p, r] = live.splice(pick % live.length, 1)[0];
            root = e.remove(root, p);
            assert.equal(e.takeRemoved(), p);
            assert.equal(p.height, p.high * HEIGHT_UNIT + 1);
            ref = REF.remove(ref, r);
          }
          assert.deepEqual(packedShape(root), refKeyShape(ref));
        }
      },
    ),
  );
});

Deno.test("avlHeight: the low six bits, exact for packed values up to 2^53", () => {
  class N extends AvlNode<N> {}
  const n = new N();
  for (const seq of [0, 2 ** 25, 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 7, 2 ** 46 + 3]) {
    for (const ht of [1, 2, 31, 63]) {
      n.height = (seq + 1) * HEIGHT_UNIT + ht;
      assert.equal(avlHeight(n), ht);
    }
  }
  assert.equal(avlHeight(null), 0);
});
