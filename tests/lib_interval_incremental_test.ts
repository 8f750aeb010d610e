// The interval tree keeps its max-last augmentation incrementally (raised along an insert's
// path; on a remove recomputed only at nodes whose largest last was the removed node's and not
// their own; recomputed at the two nodes of a rotation). Against a reference AVL that recomputes
// every node of every path from scratch, the shapes, heights, subtree lasts and overlap-query
// visit counts are the same, on the trees fork builds: many intervals with one start and one
// last (a VMA's copies in every child), nested ranges sharing a last, and removals in any order
// (including nodes with two children, whose successor, maybe the only long interval of its
// subtree, is spliced in).

import assert from "node:assert/strict";
import fc from "fast-check";
import { avlHeight } from "../core/lib/augmented_tree.ts";
import {
  intervalInsert,
  IntervalNode,
  intervalQuery,
  intervalRemove,
} from "../core/lib/interval_tree.ts";
import { refAvl } from "./ref_avl.ts";

class Span extends IntervalNode<Span> {
  constructor(readonly name: number, readonly start: number, readonly last: number) {
    super();
  }
}

class Ref {
  left: Ref | null = null;
  right: Ref | null = null;
  height = 1;
  max: number;
  constructor(
    readonly name: number,
    readonly start: number,
    readonly last: number,
    readonly seq: number,
  ) {
    this.max = last;
  }
}

const REF = refAvl<Ref>(
  (a, b) => a.start < b.start || (a.start === b.start && a.seq < b.seq),
  (n) => {
    n.max = Math.max(n.last, n.left?.max ?? -Infinity, n.right?.max ?? -Infinity);
  },
);

function refQuery(n: Ref | null, s: number, l: number): number {
  if (n === null) return 0;
  if (n.max < s) return 1;
  let count = 1 + refQuery(n.left, s, l);
  if (n.start > l) return count;
  count += refQuery(n.right, s, l);
  return count;
}

type Shape = [number, number, number][];
function spanShape(n: Span | null, out: Shape = []): Shape {
  if (n === null) return out;
  out.push([n.name, avlHeight(n), n.start + n.maxDelta]);
  spanShape(n.left, out);
  spanShape(n.right, out);
  return out;
}
function refShape(n: Ref | null, out: Shape = []): Shape {
  if (n === null) return out;
  out.push([n.name, n.height, n.max]);
  refShape(n.left, out);
  refShape(n.right, out);
  return out;
}

/** Starts (anonymous pgoffs, above 2^32) and lengths of a few VMAs; their copies share both. */
const BASE = 0x7f0000000;
const STARTS = [BASE, BASE + 1, BASE + 2, BASE + 8, BASE + 300];
const LENGTHS = [0, 1, 5, 7, 255, 1000];

Deno.test("interval tree: incremental max-last = full recomputation, on fork-shaped trees", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(9), fc.nat(STARTS.length - 1), fc.nat(LENGTHS.length - 1)), {
        maxLength: 200,
      }),
      fc.array(fc.nat(1000), { minLength: 1, maxLength: 200 }),
      (ops, picks) => {
        let root: Span | null = null;
        let ref: Ref | null = null;
        const live: [Span, Ref][] = [];
        let seq = 0;
        let k = 0;
        for (const [op, si, li] of ops) {
          // Inserts twice as often as removes: trees grow to tens of copies.
          if (op < 6 || live.length === 0) {
            const s = STARTS[si], l = s + LENGTHS[li];
            const a = new Span(seq, s, l);
            const r = new Ref(seq, s, l, seq);
            seq++;
            root = intervalInsert(root, a);
            ref = REF.insert(ref, r);
            live.push([a, r]);
          } else {
            const [a, r] = live.splice(picks[k++ % picks.length] % live.length, 1)[0];
            root = intervalRemove(root, a) as Span | null;
            ref = REF.remove(ref, r);
          }
          assert.deepEqual(spanShape(root), refShape(ref));
        }
        for (const s of STARTS) {
          for (const len of LENGTHS) {
            for (const q of [s - 1, s, s + len, s + len + 1]) {
              assert.equal(intervalQuery(root, q, q, () => {}), refQuery(ref, q, q));
            }
          }
        }
      },
    ),
    {
      numRuns: 500,
      // A remove whose spliced-in successor held the only largest last below its old parent.
      examples: [[[[0, 1, 0], [0, 0, 0], [6, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 2], [6, 0, 0]], [
        885,
        550,
        0,
      ]]],
    },
  );
});
