// The reference side of the interval-tree shape tests: a plain AVL of (start, seq) with its
// max-last as a separate field (tests/ref_avl.ts), and the same figures read from the real tree.

import { avlHeight } from "../core/lib/augmented_tree.ts";
import { IntervalNode } from "../core/lib/interval_tree.ts";
import { refAvl } from "./ref_avl.ts";

/** An interval node of the real tree, named for the shape comparisons. */
export class Span extends IntervalNode<Span> {
  constructor(readonly name: number, readonly start: number, readonly last: number) {
    super();
  }
}

/** Reference node: (start, seq) key, height and max-last as separate plain fields. */
export class Ref {
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

/** Ordered by (start, seq), max-last as the augmentation. */
export const REF = refAvl<Ref>(
  (a, b) => a.start < b.start || (a.start === b.start && a.seq < b.seq),
  (n) => {
    n.max = Math.max(n.last, n.left?.max ?? -Infinity, n.right?.max ?? -Infinity);
  },
);

/**
 * The overlap query `[s, l]` on the reference, pruned as the kernel's: returns the nodes
 * examined and pushes the names of the overlapping intervals to `out`.
 */
export function refQuery(n: Ref | null, s: number, l: number, out: number[] = []): number {
  if (n === null || n.max < s) return n === null ? 0 : 1;
  let count = 1 + refQuery(n.left, s, l, out);
  if (n.start > l) return count;
  if (n.last >= s) out.push(n.name);
  count += refQuery(n.right, s, l, out);
  return count;
}

/** Pre-order (name, height, subtree max-last) of a tree. */
export type Shape = [number, number, number][];

/** {@link Shape} of the real tree below `n`. */
export function spanShape(n: Span | null, out: Shape = []): Shape {
  if (n === null) return out;
  out.push([n.name, avlHeight(n), n.start + n.maxDelta]);
  spanShape(n.left, out);
  spanShape(n.right, out);
  return out;
}

/** {@link Shape} of the reference below `n`. */
export function refShape(n: Ref | null, out: Shape = []): Shape {
  if (n === null) return out;
  out.push([n.name, n.height, n.max]);
  refShape(n.left, out);
  refShape(n.right, out);
  return out;
}
