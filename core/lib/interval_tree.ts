/**
 * An augmented interval tree with inclusive bounds, modelled on the Linux
 * anon_vma interval tree of anon_vma_chains (`rb_root_cached` keyed by
 * `vma_start_pgoff`, augmented with the subtree's largest `vma_last_pgoff`).
 *
 * Nodes are ordered by `(start, insertion sequence)`: a node inserted later
 * with an equal start sorts after earlier ones, mirroring the kernel's rule
 * that equal keys descend into the right subtree. Implemented as an AVL tree;
 * rotations preserve in-order order, so the visit order matches the kernel's.
 *
 * @module
 */

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

class IntervalNode<T> implements IntervalHandle<T> {
  value: T;
  start: number;
  last: number;
  seq: number;
  maxLast: number;
  left: IntervalNode<T> | null = null;
  right: IntervalNode<T> | null = null;
  height = 1;
  tree: IntervalTree<T> | null = null;
  constructor(value: T, start: number, last: number, seq: number) {
    this.value = value;
    this.start = start;
    this.last = last;
    this.seq = seq;
    this.maxLast = last;
  }
}

function height<T>(n: IntervalNode<T> | null): number {
  return n === null ? 0 : n.height;
}

function fix<T>(n: IntervalNode<T>): void {
  const l = n.left;
  const r = n.right;
  let h = 0;
  let m = n.last;
  if (l !== null) {
    h = l.height;
    if (l.maxLast > m) m = l.maxLast;
  }
  if (r !== null) {
    if (r.height > h) h = r.height;
    if (r.maxLast > m) m = r.maxLast;
  }
  n.height = h + 1;
  n.maxLast = m;
}

function rotateRight<T>(n: IntervalNode<T>): IntervalNode<T> {
  const l = n.left!;
  n.left = l.right;
  l.right = n;
  fix(n);
  fix(l);
  return l;
}

function rotateLeft<T>(n: IntervalNode<T>): IntervalNode<T> {
  const r = n.right!;
  n.right = r.left;
  r.left = n;
  fix(n);
  fix(r);
  return r;
}

function balance<T>(n: IntervalNode<T>): IntervalNode<T> {
  fix(n);
  const bf = height(n.left) - height(n.right);
  if (bf > 1) {
    const l = n.left!;
    if (height(l.left) < height(l.right)) n.left = rotateLeft(l);
    return rotateRight(n);
  }
  if (bf < -1) {
    const r = n.right!;
    if (height(r.right) < height(r.left)) n.right = rotateRight(r);
    return rotateLeft(n);
  }
  return n;
}

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
  #root: IntervalNode<T> | null = null;
  #size = 0;
  #seq = 0;
  // Query state, kept in fields so the recursive walk allocates nothing.
  #qStart = 0;
  #qLast = 0;
  #qVisit: ((value: T, handle: IntervalHandle<T>) => boolean | void) | null = null;
  #qStop = false;
  #qVisited = 0;
  #qNodes = 0;

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
    return this.#size;
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
    return this.#size === 0;
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
    this.#root = this.#insert(this.#root, node);
    this.#size++;
  }

  #insert(n: IntervalNode<T> | null, node: IntervalNode<T>): IntervalNode<T> {
    if (n === null) return node;
    // Equal starts go right (the new node has the largest sequence number).
    if (node.start < n.start) n.left = this.#insert(n.left, node);
    else n.right = this.#insert(n.right, node);
    return balance(n);
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
    this.#root = this.#remove(this.#root, node);
    node.tree = null;
    node.left = null;
    node.right = null;
    node.height = 1;
    node.maxLast = node.last;
    this.#size--;
  }

  #remove(n: IntervalNode<T> | null, node: IntervalNode<T>): IntervalNode<T> | null {
    if (n === null) throw new Error("Interval tree is corrupt: handle not found");
    if (n === node) {
      if (n.left === null) return n.right;
      if (n.right === null) return n.left;
      // Splice the in-order successor into n's place (keeps handle identity).
      let m = n.right;
      while (m.left !== null) m = m.left;
      m.right = this.#removeMin(n.right);
      m.left = n.left;
      return balance(m);
    }
    if (before(node, n)) n.left = this.#remove(n.left, node);
    else n.right = this.#remove(n.right, node);
    return balance(n);
  }

  #removeMin(n: IntervalNode<T>): IntervalNode<T> | null {
    if (n.left === null) return n.right;
    n.left = this.#removeMin(n.left);
    return balance(n);
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
    const s0 = this.#qStart, l0 = this.#qLast, v0 = this.#qVisit;
    const st0 = this.#qStop, vi0 = this.#qVisited, n0 = this.#qNodes;
    this.#qStart = start;
    this.#qLast = last;
    this.#qVisit = visit;
    this.#qStop = false;
    this.#qVisited = 0;
    this.#qNodes = 0;
    if (start <= last) this.#walk(this.#root);
    const out: QueryStats = { visited: this.#qVisited, nodes: this.#qNodes };
    this.#qStart = s0;
    this.#qLast = l0;
    this.#qVisit = v0;
    this.#qStop = st0;
    this.#qVisited = vi0;
    this.#qNodes = n0;
    return out;
  }

  #walk(n: IntervalNode<T> | null): void {
    if (n === null) return;
    this.#qNodes++;
    if (n.maxLast < this.#qStart) return;
    if (n.left !== null) {
      this.#walk(n.left);
      if (this.#qStop) return;
    }
    if (n.start > this.#qLast) {
      // Everything after n in order starts even later.
      this.#qStop = true;
      return;
    }
    if (n.last >= this.#qStart) {
      this.#qVisited++;
      if (this.#qVisit!(n.value, n) === false) {
        this.#qStop = true;
        return;
      }
    }
    this.#walk(n.right);
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
    const stack: IntervalNode<T>[] = [];
    let n = this.#root;
    while (n !== null) {
      stack.push(n);
      n = n.left;
    }
    while (stack.length > 0) {
      const m = stack.pop()!;
      yield m.value;
      let c = m.right;
      while (c !== null) {
        stack.push(c);
        c = c.left;
      }
    }
  }
}

function checkBounds(start: number, last: number): void {
  if (!Number.isFinite(start) || !Number.isFinite(last) || start > last) {
    throw new RangeError(`Invalid interval [${start}, ${last}]`);
  }
}
