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
 * Two layers:
 * - {@linkcode IntervalNode} and {@linkcode IntervalNodeTree}: intrusive. The
 *   stored object IS the node (as the kernel's `anon_vma_chain` embeds its
 *   `rb_node`), and the node derives its bounds (`start`, `last`) itself, as
 *   the kernel's `avc_start_pgoff`/`avc_last_pgoff` read them from the VMA.
 *   The only stored augmentation is the subtree's largest `last`, kept
 *   relative to the node's own `start` so that it stays a small integer.
 *   The anon_vma schemes use this layer.
 * - {@linkcode intervalInsert}, {@linkcode intervalRemove}, {@linkcode intervalQuery} and
 *   {@linkcode IntervalRootView}: the same tree held as a bare root node by a structure that
 *   embeds it (the kernel's anon_vma embeds its `rb_root_cached`), with no tree object.
 * - {@linkcode IntervalTree}: a handle-based tree of arbitrary values with
 *   stored bounds, built on the intrusive layer.
 *
 * @module
 */

import {
  type AugmentCallbacks,
  AugmentedTree,
  AvlEngine,
  AvlNode,
  HEIGHT_UNIT,
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

/**
 * Base class of the nodes of an {@linkcode IntervalNodeTree}: the AVL links,
 * the insertion sequence number and the augmentation. A subclass supplies the
 * inclusive bounds `start` and `last` (fields or getters), which must not
 * change while the node is stored.
 *
 * @example
 * ```ts
 * import { IntervalNode, IntervalNodeTree } from "./interval_tree.ts";
 * class Span extends IntervalNode<Span> {
 *   constructor(readonly start: number, readonly last: number) {
 *     super();
 *   }
 * }
 * const t = new IntervalNodeTree<Span>();
 * const s = new Span(2, 4);
 * t.insert(s);
 * [s.linked, t.size]; // [true, 1]
 * ```
 */
export abstract class IntervalNode<N extends IntervalNode<N>> extends AvlNode<N> {
  // The insertion sequence number lives above the AVL height in `height` (one field fewer per
  // node): `height` is `(seq + 1) * HEIGHT_UNIT + h` while stored, and `h` while not, so a
  // stored node's `height` orders it among equal starts exactly as `seq` does.
  /** The subtree's largest `last` minus this node's `start` (the augmented field). */
  maxDelta = 0;
  /** Inclusive first point of the interval. */
  abstract readonly start: number;
  /** Inclusive last point of the interval. */
  abstract readonly last: number;

  /**
   * Insertion sequence number among the nodes of its start in its tree (orders equal starts:
   * one more than the largest stored when it was inserted, or 0), or -1 while not stored.
   */
  get seq(): number {
    return Math.floor(this.height / HEIGHT_UNIT) - 1;
  }

  /** Whether the node is stored in a tree. */
  get linked(): boolean {
    return this.height >= HEIGHT_UNIT;
  }
}

type AnyNode = IntervalNode<AnyNodeSelf>;
interface AnyNodeSelf extends IntervalNode<AnyNodeSelf> {}

/**
 * `d` (a non-negative integer) as a Smi when it fits in 31 bits. A difference of two large
 * numbers (page offsets of anonymous VMAs are above 2^31) is computed as a heap number even
 * when it is small, and one heap number stored in `maxDelta` turns the field into a boxed
 * double in every node of that class (16 B more each).
 */
function smallInt(d: number): number {
  return d <= 0x7fffffff ? d | 0 : d;
}

/** The max-last augmentation (the kernel's `__anon_vma_interval_tree_subtree_last`). */
const MAX_LAST: AugmentCallbacks<AnyNode> = {
  propagate(n: AnyNode): void {
    const s = n.start;
    let m = n.last;
    const l = n.left;
    if (l !== null) {
      const lm = l.start + l.maxDelta;
      if (lm > m) m = lm;
    }
    const r = n.right;
    if (r !== null) {
      const rm = r.start + r.maxDelta;
      if (rm > m) m = rm;
    }
    n.maxDelta = smallInt(m - s);
  },
  rotate(old: AnyNode, top: AnyNode): void {
    // top now holds exactly old's former intervals.
    top.maxDelta = smallInt(old.start + old.maxDelta - top.start);
    this.propagate(old);
  },
};

/**
 * `a` sorts before `b` in (start, seq) order. Stored nodes have distinct sequence numbers among
 * equal starts, so their packed `height`s compare as the sequence numbers do. A node being
 * inserted (`height` below {@linkcode HEIGHT_UNIT}: no sequence number yet; always `a`) goes
 * after every equal start, and the largest packed `height` among the equal starts on its path
 * is noted in `eqMax`: the last of them, its in-order predecessor when that has an equal start,
 * holds the largest sequence number of that start in the tree.
 */
function before(a: AnyNode, b: AnyNode): boolean {
  const as = a.start, bs = b.start;
  if (as !== bs) return as < bs;
  const ha = a.height, hb = b.height;
  if (ha >= HEIGHT_UNIT) return ha < hb;
  if (hb > eqMax) eqMax = hb;
  return false;
}

/** The overlap search as a pruned in-order walk; one shared instance (state saved per query). */
class OverlapWalker implements TreeWalker<AnyNode> {
  start = 0;
  last = 0;
  callback: ((node: AnyNode) => boolean | void) | null = null;
  visited = 0;

  enter(n: AnyNode): boolean {
    // No interval below n reaches the query.
    return n.start + n.maxDelta >= this.start;
  }

  visit(n: AnyNode): boolean {
    // Everything after n in order starts even later.
    const s = n.start;
    if (s > this.last) return false;
    if (n.last >= this.start) {
      this.visited++;
      if (this.callback!(n) === false) return false;
    }
    return true;
  }
}

const WALKER = new OverlapWalker();
/** The balancing engine shared by every interval tree (bare roots and {@linkcode IntervalNodeTree}s). */
const ENGINE = new AvlEngine<AnyNode>(before, MAX_LAST);
/**
 * The largest packed `height` among the stored nodes with the inserted node's start on its
 * insertion path (0: none), noted by {@linkcode before}.
 */
let eqMax = 0;

/**
 * Before inserting `node` (not stored anywhere): mark it as being inserted. After the insert,
 * {@linkcode stamp} gives it its sequence number: one more than the largest of its start in
 * that tree, or 0. Sequence numbers are per tree and per start, so they stay small (a Smi
 * packed above the height) however many insertions a process makes; the packing is exact all
 * the same for any sequence number below 2^47.
 */
function unstored(node: AnyNode): void {
  if (node.height >= HEIGHT_UNIT) throw new Error("Interval node is already stored in a tree");
  node.height = 1;
  eqMax = 0;
}

/** After inserting `node` (see {@linkcode unstored}): pack its sequence number above its height. */
function stamp(node: AnyNode): void {
  node.height = (Math.floor(eqMax / HEIGHT_UNIT) + 1) * HEIGHT_UNIT + node.height;
}

/** Mark a removed `node` unstored. */
function unstamp(node: AnyNode): void {
  node.height = 1;
  node.maxDelta = 0;
}
/** Result of the last {@linkcode IntervalNodeTree.query}: intervals reported. */
let lastVisited = 0;

/**
 * Intrusive augmented interval tree of {@linkcode IntervalNode}s, one object
 * per tree (the kernel's `rb_root_cached` of an anon_vma).
 *
 * @example Overlap query in kernel order
 * ```ts
 * import { IntervalNode, IntervalNodeTree } from "./interval_tree.ts";
 * class Span extends IntervalNode<Span> {
 *   constructor(readonly name: string, readonly start: number, readonly last: number) {
 *     super();
 *   }
 * }
 * const t = new IntervalNodeTree<Span>();
 * t.insert(new Span("a", 0, 9));
 * t.insert(new Span("b", 5, 5));
 * t.insert(new Span("c", 0, 3));
 * const seen: string[] = [];
 * t.query(3, 5, (s) => {
 *   seen.push(s.name);
 * }); // 3 nodes examined
 * seen; // ["a", "c", "b"]
 * ```
 */
export class IntervalNodeTree<N extends IntervalNode<N>> extends AugmentedTree<N> {
  /** Creates an empty tree. */
  constructor() {
    super(ENGINE as unknown as AvlEngine<N>);
  }

  /**
   * Whether the tree is empty.
   *
   * @example
   * ```ts
   * import { IntervalNodeTree } from "./interval_tree.ts";
   * new IntervalNodeTree().isEmpty(); // true
   * ```
   */
  isEmpty(): boolean {
    return this.root === null;
  }

  /**
   * Store `node` (not stored anywhere) with a new sequence number: it sorts
   * after every stored node with an equal start. Its bounds must be finite
   * with `start <= last` (not checked here: a VMA's always are).
   *
   * @example
   * ```ts
   * import { IntervalNode, IntervalNodeTree } from "./interval_tree.ts";
   * class Span extends IntervalNode<Span> {
   *   constructor(readonly start: number, readonly last: number) {
   *     super();
   *   }
   * }
   * const t = new IntervalNodeTree<Span>();
   * t.insert(new Span(0, 0));
   * t.size; // 1
   * ```
   */
  override insert(node: N): void {
    unstored(node);
    super.insert(node);
    stamp(node);
  }

  /**
   * Unlink a stored `node`; returns false (and changes nothing) when it is
   * not stored in this tree.
   *
   * @example
   * ```ts
   * import { IntervalNode, IntervalNodeTree } from "./interval_tree.ts";
   * class Span extends IntervalNode<Span> {
   *   constructor(readonly start: number, readonly last: number) {
   *     super();
   *   }
   * }
   * const t = new IntervalNodeTree<Span>();
   * const s = new Span(0, 0);
   * t.insert(s);
   * [t.remove(s), t.remove(s), s.linked]; // [true, false, false]
   * ```
   */
  override remove(node: N): boolean {
    if (node.height < HEIGHT_UNIT || !super.remove(node)) return false;
    unstamp(node);
    return true;
  }

  /**
   * Visit every node overlapping `[start, last]` (inclusive) in (start,
   * insertion order) order, stopping early when `visit` returns `false`.
   * Returns the number of tree nodes examined (the cost figure); the number
   * of nodes reported is {@linkcode IntervalNodeTree.lastVisited}. `visit`
   * must not modify this tree; it may query trees re-entrantly.
   *
   * @example
   * ```ts
   * import { IntervalNode, IntervalNodeTree } from "./interval_tree.ts";
   * class Span extends IntervalNode<Span> {
   *   constructor(readonly start: number, readonly last: number) {
   *     super();
   *   }
   * }
   * const t = new IntervalNodeTree<Span>();
   * t.insert(new Span(0, 4));
   * t.insert(new Span(5, 9));
   * t.query(4, 4, () => {});
   * IntervalNodeTree.lastVisited; // 1
   * ```
   */
  query(start: number, last: number, visit: (node: N) => boolean | void): number {
    return intervalQuery(this.root, start, last, visit);
  }

  /** Intervals reported to the visitor by the most recent completed {@linkcode query}. */
  static get lastVisited(): number {
    return lastVisited;
  }
}

/**
 * Store `node` (not stored anywhere) in the interval tree rooted at `root` with a new sequence
 * number (see {@linkcode IntervalNodeTree.insert}); returns the new root.
 *
 * @example
 * ```ts
 * import { IntervalNode, intervalInsert } from "./interval_tree.ts";
 * class Span extends IntervalNode<Span> {
 *   constructor(readonly start: number, readonly last: number) {
 *     super();
 *   }
 * }
 * let root: Span | null = null;
 * root = intervalInsert(root, new Span(0, 3));
 * root.linked; // true
 * ```
 */
export function intervalInsert<N extends IntervalNode<N>>(root: N | null, node: N): N {
  unstored(node);
  const r = (ENGINE as unknown as AvlEngine<N>).insert(root, node);
  stamp(node);
  return r;
}

/**
 * Unlink a stored `node` from the interval tree rooted at `root`; returns the new root, or
 * `undefined` (and changes nothing) when `node` is not stored in that tree.
 *
 * @example
 * ```ts
 * import { IntervalNode, intervalInsert, intervalRemove } from "./interval_tree.ts";
 * class Span extends IntervalNode<Span> {
 *   constructor(readonly start: number, readonly last: number) {
 *     super();
 *   }
 * }
 * const s = new Span(0, 3);
 * const root = intervalInsert(null, s);
 * [intervalRemove(root, s), intervalRemove(null, s)]; // [null, undefined]
 * ```
 */
export function intervalRemove<N extends IntervalNode<N>>(
  root: N | null,
  node: N,
): N | null | undefined {
  if (node.height < HEIGHT_UNIT) return undefined;
  const e = ENGINE as unknown as AvlEngine<N>;
  const r = e.remove(root, node);
  if (e.takeRemoved() === null) return undefined;
  unstamp(node);
  return r;
}

/**
 * Visit every node overlapping `[start, last]` in the interval tree rooted at `root` (see
 * {@linkcode IntervalNodeTree.query}); returns the number of nodes examined.
 *
 * @example
 * ```ts
 * import { IntervalNode, intervalInsert, intervalQuery } from "./interval_tree.ts";
 * class Span extends IntervalNode<Span> {
 *   constructor(readonly start: number, readonly last: number) {
 *     super();
 *   }
 * }
 * const root = intervalInsert(null, new Span(0, 3));
 * intervalQuery(root, 2, 2, () => {}); // 1
 * ```
 */
export function intervalQuery<N extends IntervalNode<N>>(
  root: N | null,
  start: number,
  last: number,
  visit: (node: N) => boolean | void,
): number {
  // Save state so that a visitor may query re-entrantly.
  const w = WALKER;
  const s0 = w.start, l0 = w.last, v0 = w.callback, vi0 = w.visited;
  w.start = start;
  w.last = last;
  w.callback = visit as unknown as (node: AnyNode) => boolean | void;
  w.visited = 0;
  const nodes = start <= last
    ? (ENGINE as unknown as AvlEngine<N>).walk(root, w as unknown as TreeWalker<N>)
    : 0;
  lastVisited = w.visited;
  w.start = s0;
  w.last = l0;
  w.callback = v0;
  w.visited = vi0;
  return nodes;
}

/**
 * The read side of an interval tree: what {@linkcode IntervalNodeTree} and
 * {@linkcode IntervalRootView} both offer.
 *
 * @example
 * ```ts
 * import { type IntervalTreeView, IntervalNodeTree } from "./interval_tree.ts";
 * const t: IntervalTreeView<never> = new IntervalNodeTree<never>();
 * t.isEmpty(); // true
 * ```
 */
export interface IntervalTreeView<N> {
  /** The root node, or `null` when empty. */
  readonly root: N | null;
  /** Number of nodes. */
  readonly size: number;
  /** Whether the tree is empty. */
  isEmpty(): boolean;
  /** All nodes in (start, insertion order) order. */
  nodes(): IterableIterator<N>;
  /** Overlap query (see {@linkcode IntervalNodeTree.query}). */
  query(start: number, last: number, visit: (node: N) => boolean | void): number;
  /** Pruned in-order walk counting the nodes it examines (see {@linkcode AugmentedTree.walk}). */
  walk(walker: TreeWalker<N>): number;
}

/**
 * A live read-only view of an interval tree held as a bare root by `holder` (which changes it
 * with {@linkcode intervalInsert} and {@linkcode intervalRemove}). `size` counts the nodes.
 *
 * @example
 * ```ts
 * import { IntervalNode, intervalInsert, IntervalRootView } from "./interval_tree.ts";
 * class Span extends IntervalNode<Span> {
 *   constructor(readonly start: number, readonly last: number) {
 *     super();
 *   }
 * }
 * const holder = { treeRoot: null as Span | null };
 * const view = new IntervalRootView(holder);
 * holder.treeRoot = intervalInsert(holder.treeRoot, new Span(1, 2));
 * [view.size, view.isEmpty()]; // [1, false]
 * ```
 */
export class IntervalRootView<N extends IntervalNode<N>> implements IntervalTreeView<N> {
  readonly #holder: { readonly treeRoot: N | null };

  /** A view of `holder.treeRoot`. */
  constructor(holder: { readonly treeRoot: N | null }) {
    this.#holder = holder;
  }

  /** The root node, or `null` when empty. */
  get root(): N | null {
    return this.#holder.treeRoot;
  }

  /** Number of nodes (counted). */
  get size(): number {
    let n = 0;
    for (const _ of this.nodes()) n++;
    return n;
  }

  /** Whether the tree is empty. */
  isEmpty(): boolean {
    return this.#holder.treeRoot === null;
  }

  /** All nodes in (start, insertion order) order. Do not modify the tree while iterating. */
  *nodes(): IterableIterator<N> {
    const stack: N[] = [];
    AugmentedTree.pushLeft(stack, this.#holder.treeRoot);
    while (stack.length > 0) {
      const m = stack.pop()!;
      yield m;
      AugmentedTree.pushLeft(stack, m.right);
    }
  }

  /** Overlap query (see {@linkcode IntervalNodeTree.query}). */
  query(start: number, last: number, visit: (node: N) => boolean | void): number {
    return intervalQuery(this.#holder.treeRoot, start, last, visit);
  }

  /** Pruned in-order walk counting the nodes it examines (see {@linkcode AugmentedTree.walk}). */
  walk(walker: TreeWalker<N>): number {
    return (ENGINE as unknown as AvlEngine<N>).walk(this.#holder.treeRoot, walker);
  }
}

/** Node of the handle-based {@linkcode IntervalTree}: a value with stored bounds. */
class ValueNode<T> extends IntervalNode<ValueNode<T>> implements IntervalHandle<T> {
  value: T;
  start: number;
  last: number;
  tree: IntervalTree<T> | null = null;
  constructor(value: T, start: number, last: number) {
    super();
    this.value = value;
    this.start = start;
    this.last = last;
  }
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
  readonly #tree: IntervalNodeTree<ValueNode<T>> = new IntervalNodeTree<ValueNode<T>>();

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
    return this.#tree.isEmpty();
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
    const node = new ValueNode(value, start, last);
    this.#tree.insert(node);
    node.tree = this;
    return node;
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
    const node = handle as ValueNode<T>;
    if (!(node instanceof ValueNode) || node.tree !== this) {
      throw new Error("Handle is not stored in this interval tree");
    }
    if (!this.#tree.remove(node)) throw new Error("Interval tree is corrupt: handle not found");
    node.tree = null;
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
    const node = handle as ValueNode<T>;
    node.start = start;
    node.last = last;
    this.#tree.insert(node);
    node.tree = this;
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
    const nodes = this.#tree.query(start, last, (n) => visit(n.value, n));
    return { visited: IntervalNodeTree.lastVisited, nodes };
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

function checkBounds(start: number, last: number): void {
  if (!Number.isFinite(start) || !Number.isFinite(last) || start > last) {
    throw new RangeError(`Invalid interval [${start}, ${last}]`);
  }
}
