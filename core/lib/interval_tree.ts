/**
 * An augmented interval tree with inclusive bounds, modelled on the Linux
 * anon_vma interval tree of anon_vma_chains (`rb_root_cached` keyed by
 * `vma_start_pgoff`, augmented with the subtree's largest `vma_last_pgoff`).
 *
 * Nodes are ordered by `(start, insertion sequence)`: a node inserted later
 * with an equal start sorts after earlier ones, mirroring the kernel's rule
 * that equal keys descend into the right subtree. An instance of the shared
 * AVL tree ({@linkcode AugmentedTree}) with a max-last augmentation; rotations
 * preserve in-order order, so the visit order matches the kernel's.
 *
 * @module
 */

import {
  type AugmentCallbacks,
  AugmentedTree,
  AvlNode,
  type TreeWalker,
} from "./augmented_tree.ts";

/**
 * A stored interval, returned by {@linkcode IntervalTree.insert}.
 *
 * @example
 * ```ts
 * import { IntervalTree } from "./interval_tree.ts";
 * const t = new IntervalTree<string>();
 * const h = t.insert("a", 1, 5);
 * [h.start, h.last, h.value]; // [1, 5, "a"]
 * ```
 */
export interface IntervalHandle<T> {
  /** Inclusive first point of the interval. */
  readonly start: number;
  /** Inclusive last point of the interval. */
  readonly last: number;
  /** The stored value. */
  readonly value: T;
}

/**
 * Cost counters returned by {@linkcode IntervalTree.query}.
 *
 * @example
 * ```ts
 * import type { QueryStats } from "./interval_tree.ts";
 * const s: QueryStats = { visited: 0, nodes: 0 };
 * ```
 */
export interface QueryStats {
  /** Intervals reported to the visitor. */
  visited: number;
  /** Tree nodes examined (for the cost model). */
  nodes: number;
}

class IntervalNode<T> extends AvlNode<IntervalNode<T>> implements IntervalHandle<T> {
  value: T;
  start: number;
  last: number;
  seq: number;
  maxLast: number;
  tree: IntervalTree<T> | null = null;
  constructor(value: T, start: number, last: number, seq: number) {
    super();
    this.value = value;
    this.start = start;
    this.last = last;
    this.seq = seq;
    this.maxLast = last;
  }
}

/** The max-last augmentation (the kernel's `__anon_vma_interval_tree_subtree_last`). */
const MAX_LAST: AugmentCallbacks<IntervalNode<unknown>> = {
  propagate(n: IntervalNode<unknown>): void {
    const l = n.left;
    const r = n.right;
    let m = n.last;
    if (l !== null && l.maxLast > m) m = l.maxLast;
    if (r !== null && r.maxLast > m) m = r.maxLast;
    n.maxLast = m;
  },
  rotate(old: IntervalNode<unknown>, top: IntervalNode<unknown>): void {
    // top now holds exactly old's former intervals.
    top.maxLast = old.maxLast;
    this.propagate(old);
  },
};

/** `a` sorts before `b` in (start, seq) order. */
function before<T>(a: IntervalNode<T>, b: IntervalNode<T>): boolean {
  return a.start < b.start || (a.start === b.start && a.seq < b.seq);
}

/**
 * Augmented interval tree over inclusive integer intervals `[start, last]`.
 *
 * @example Overlap query in kernel order
 * ```ts
 * import { IntervalTree } from "./interval_tree.ts";
 * const t = new IntervalTree<string>();
 * t.insert("a", 0, 9);
 * t.insert("b", 5, 5);
 * t.insert("c", 0, 3);
 * const seen: string[] = [];
 * t.query(3, 5, (v) => {
 *   seen.push(v);
 * });
 * seen; // ["a", "c", "b"]
 * ```
 */
export class IntervalTree<T> {
  readonly #tree: AugmentedTree<IntervalNode<T>> = new AugmentedTree<IntervalNode<T>>(
    before,
    MAX_LAST as AugmentCallbacks<IntervalNode<T>>,
  );
  #seq = 0;
  // Query state, kept in one reused walker so that a query allocates nothing but its result.
  readonly #walker: OverlapWalker<T> = new OverlapWalker<T>();

  /**
   * Number of stored intervals.
   *
   * @example
   * ```ts
   * import { IntervalTree } from "./interval_tree.ts";
   * new IntervalTree().size; // 0
   * ```
   */
  get size(): number {
    return this.#tree.size;
  }

  /**
   * Whether the tree is empty.
   *
   * @example
   * ```ts
   * import { IntervalTree } from "./interval_tree.ts";
   * new IntervalTree().isEmpty(); // true
   * ```
   */
  isEmpty(): boolean {
    return this.#tree.size === 0;
  }

  /**
   * Store `value` over the inclusive interval `[start, last]`. Throws a
   * `RangeError` if `start > last` or a bound is not finite.
   *
   * @example
   * ```ts
   * import { IntervalTree } from "./interval_tree.ts";
   * const t = new IntervalTree<string>();
   * const h = t.insert("a", 0, 0);
   * h.value; // "a"
   * ```
   */
  insert(value: T, start: number, last: number): IntervalHandle<T> {
    checkBounds(start, last);
    const node = new IntervalNode(value, start, last, this.#seq++);
    this.#link(node);
    return node;
  }

  #link(node: IntervalNode<T>): void {
    node.tree = this;
    // Equal starts go right: the new node has the largest sequence number.
    this.#tree.insert(node);
  }

  /**
   * Remove a stored interval. Throws an `Error` if `handle` is not currently
   * stored in this tree.
   *
   * @example
   * ```ts
   * import { IntervalTree } from "./interval_tree.ts";
   * const t = new IntervalTree<string>();
   * const h = t.insert("a", 0, 0);
   * t.remove(h);
   * t.isEmpty(); // true
   * ```
   */
  remove(handle: IntervalHandle<T>): void {
    const node = handle as IntervalNode<T>;
    if (!(node instanceof IntervalNode) || node.tree !== this) {
      throw new Error("Handle is not stored in this interval tree");
    }
    if (!this.#tree.remove(node)) throw new Error("Interval tree is corrupt: handle not found");
    node.tree = null;
    node.maxLast = node.last;
  }

  /**
   * Re-key a stored interval: remove it and insert it again over
   * `[start, last]` with a NEW sequence number, so it sorts after every
   * existing interval with an equal start (the kernel re-inserts when a VMA
   * is re-keyed). Returns the SAME handle object, whose `start`/`last` are
   * updated.
   *
   * @example
   * ```ts
   * import { IntervalTree } from "./interval_tree.ts";
   * const t = new IntervalTree<string>();
   * const a = t.insert("a", 0, 9);
   * t.insert("b", 0, 9);
   * t.reinsert(a, 0, 9) === a; // true; "a" now comes after "b"
   * ```
   */
  reinsert(handle: IntervalHandle<T>, start: number, last: number): IntervalHandle<T> {
    checkBounds(start, last);
    this.remove(handle);
    const node = handle as IntervalNode<T>;
    node.start = start;
    node.last = last;
    node.maxLast = last;
    node.seq = this.#seq++;
    this.#link(node);
    return node;
  }

  /**
   * Visit every interval overlapping `[start, last]` (inclusive), in
   * (start, insertion order) order, stopping early when `visit` returns
   * `false`. O(log n + k). `visit` must not modify this tree.
   *
   * @example
   * ```ts
   * import { IntervalTree } from "./interval_tree.ts";
   * const t = new IntervalTree<string>();
   * t.insert("a", 0, 4);
   * t.insert("b", 5, 9);
   * t.query(4, 4, () => {}).visited; // 1
   * ```
   */
  query(
    start: number,
    last: number,
    visit: (value: T, handle: IntervalHandle<T>) => boolean | void,
  ): QueryStats {
    // Save state so that a visitor may query this tree re-entrantly.
    const w = this.#walker;
    const s0 = w.start, l0 = w.last, v0 = w.callback, vi0 = w.visited;
    w.start = start;
    w.last = last;
    w.callback = visit;
    w.visited = 0;
    const nodes = start <= last ? this.#tree.walk(w) : 0;
    const out: QueryStats = { visited: w.visited, nodes };
    w.start = s0;
    w.last = l0;
    w.callback = v0;
    w.visited = vi0;
    return out;
  }

  /**
   * Stored values in (start, insertion order) order. Do not modify the tree
   * while iterating.
   *
   * @example
   * ```ts
   * import { IntervalTree } from "./interval_tree.ts";
   * const t = new IntervalTree<string>();
   * t.insert("b", 5, 6);
   * t.insert("a", 1, 2);
   * [...t.values()]; // ["a", "b"]
   * ```
   */
  *values(): IterableIterator<T> {
    for (const n of this.#tree.nodes()) yield n.value;
  }
}

/** The overlap search of {@linkcode IntervalTree.query} as a pruned in-order walk. */
class OverlapWalker<T> implements TreeWalker<IntervalNode<T>> {
  start = 0;
  last = 0;
  callback: ((value: T, handle: IntervalHandle<T>) => boolean | void) | null = null;
  visited = 0;

  enter(n: IntervalNode<T>): boolean {
    // No interval below n reaches the query.
    return n.maxLast >= this.start;
  }

  visit(n: IntervalNode<T>): boolean {
    // Everything after n in order starts even later.
    if (n.start > this.last) return false;
    if (n.last >= this.start) {
      this.visited++;
      if (this.callback!(n.value, n) === false) return false;
    }
    return true;
  }
}

function checkBounds(start: number, last: number): void {
  if (!Number.isFinite(start) || !Number.isFinite(last) || start > last) {
    throw new RangeError(`Invalid interval [${start}, ${last}]`);
  }
}
