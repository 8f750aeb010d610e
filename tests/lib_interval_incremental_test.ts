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
import { intervalInsert, intervalQuery, intervalRemove } from "../core/lib/interval_tree.ts";
import { REF, Ref, refQuery, refShape, Span, spanShape } from "./ref_interval.ts";

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
