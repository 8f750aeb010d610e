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
   * `start`, as the tree's own insert, remove and query read it: a method call, which V8 inlines
   * by its call count (a getter call competes only for what is left of the inlining budget, and
   * a getter that is not inlined returns a large bound as a new heap number). A subclass whose
   * `start` is a getter may override it to compute the same value more directly.
   */
  startKey(): number {
    return this.start;
  }

  /** `last`, as the tree's own code reads it (see {@linkcode IntervalNode.startKey}). */
  lastKey(): number {
    return this.last;
  }

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

// -- The interval tree's own insert, remove and overlap query ----------------------------------
//
// The same AVL balancing as {@linkcode AvlEngine} (same rotations at the same nodes, so the same
// shapes), written for interval nodes alone: every call here sees one kind of node, and reads its
// bounds through `startKey`/`lastKey` (method calls, which V8 inlines by call count: an anon_vma
// chain's read its VMA's pgoff, a large double that a call that is not inlined returns boxed);
// each node's `start` is read once per visit.
// The max-last augmentation is a function of each subtree's intervals only, so it is kept
// incrementally (exactly, for integer bounds below 2^53): an insert raises it along its path, a
// remove recomputes it only at nodes whose largest `last` was the removed node's and not their
// own, and a rotation recomputes its two nodes as {@linkcode MAX_LAST} does.

const HEIGHT_MASK = HEIGHT_UNIT - 1;
/**
 * The bounds an operation keeps while it runs, unboxed (a large bound stored in a module
 * variable is a new heap number per operation, which outlives it until the next one):
 * `[0]`, `[1]`: `start` and `last` of the node being inserted or removed (read once per
 * operation); `[2]`: `last` of the in-order successor being spliced into a removed node's place;
 * `[3]`, `[4]`: the running overlap query's bounds (saved and restored around a nested one).
 */
const bounds = new Float64Array(5);
/** Packed `height` (sequence number) of the node being removed. */
let opHeight = 0;
/** The node the last {@linkcode ivRemove} unlinked, or null. */
let removedNode: AnyNode | null = null;

/** The AVL height of `n` from its children's (the bits above the height kept). */
function setHeight(n: AnyNode): void {
  const l = n.left, r = n.right;
  const hl = l === null ? 0 : l.height & HEIGHT_MASK;
  const hr = r === null ? 0 : r.height & HEIGHT_MASK;
  const p = n.height;
  n.height = p - (p & HEIGHT_MASK) + (hl > hr ? hl : hr) + 1;
}

/** {@linkcode MAX_LAST}'s `propagate`, with `n`'s start given. */
function recompute(n: AnyNode, s: number): void {
  let m = n.lastKey();
  const l = n.left;
  if (l !== null) {
    const lm = l.startKey() + l.maxDelta;
    if (lm > m) m = lm;
  }
  const r = n.right;
  if (r !== null) {
    const rm = r.startKey() + r.maxDelta;
    if (rm > m) m = rm;
  }
  n.maxDelta = smallInt(m - s);
}

/** After a rotation in which `top` replaced `old`: heights, then {@linkcode MAX_LAST}'s `rotate`. */
function rotated(old: AnyNode, top: AnyNode): void {
  setHeight(old);
  setHeight(top);
  const os = old.startKey();
  top.maxDelta = smallInt(os + old.maxDelta - top.startKey());
  recompute(old, os);
}

/** {@linkcode AvlEngine}'s balance step at `n`, whose augmentation is already correct. */
function balance(n: AnyNode): AnyNode {
  setHeight(n);
  const l = n.left, r = n.right;
  const bf = (l === null ? 0 : l.height & HEIGHT_MASK) - (r === null ? 0 : r.height & HEIGHT_MASK);
  if (bf > 1) {
    const ll = l!.left, lr = l!.right;
    if ((ll === null ? 0 : ll.height & HEIGHT_MASK) < (lr === null ? 0 : lr.height & HEIGHT_MASK)) {
      // rotate left at l
      const t = lr!;
      l!.right = t.left;
      t.left = l;
      rotated(l!, t);
      n.left = t;
    }
    const t = n.left!;
    n.left = t.right;
    t.right = n;
    rotated(n, t);
    return t;
  }
  if (bf < -1) {
    const rl = r!.left, rr = r!.right;
    if ((rr === null ? 0 : rr.height & HEIGHT_MASK) < (rl === null ? 0 : rl.height & HEIGHT_MASK)) {
      // rotate right at r
      const t = rl!;
      r!.left = t.right;
      t.right = r;
      rotated(r!, t);
      n.right = t;
    }
    const t = n.right!;
    n.right = t.left;
    t.left = n;
    rotated(n, t);
    return t;
  }
  return n;
}

/**
 * Whether the subtree the last recursive step returned changed height. When it did not, every
 * node above it keeps its height and balance (the tree was balanced before), so their balance
 * steps (which would change nothing) are skipped: the shapes are those of
 * {@linkcode AvlEngine}, which runs them all.
 */
let grown = false;

/** `n`'s balance step if its subtree below changed height; notes whether `n`'s subtree did. */
function rebalance(n: AnyNode): AnyNode {
  if (!grown) return n;
  const h = n.height & HEIGHT_MASK;
  const t = balance(n);
  grown = (t.height & HEIGHT_MASK) !== h;
  return t;
}

/** Recursive insert of `node` (key in `bounds[0]`) below `n`, raising the max-last. */
function ivInsertAt(n: AnyNode | null, node: AnyNode): AnyNode {
  if (n === null) {
    grown = true;
    return node;
  }
  const s = n.startKey();
  const d = bounds[1] - s;
  if (d > n.maxDelta) n.maxDelta = smallInt(d);
  if (bounds[0] < s) {
    const c = n.left, t = ivInsertAt(c, node);
    if (t !== c) n.left = t;
  } else {
    // An equal start: the node goes after it (see before()).
    if (bounds[0] === s) {
      const hb = n.height;
      if (hb > eqMax) eqMax = hb;
    }
    const c = n.right, t = ivInsertAt(c, node);
    if (t !== c) n.right = t;
  }
  return rebalance(n);
}

/** {@linkcode AvlEngine.insert} for interval nodes (after {@linkcode unstored}). */
function ivInsert(root: AnyNode | null, node: AnyNode): AnyNode {
  node.left = null;
  node.right = null;
  const p = node.height;
  node.height = p >= HEIGHT_UNIT ? p - (p & HEIGHT_MASK) + 1 : 1;
  const s = node.startKey(), l = node.lastKey();
  bounds[0] = s;
  bounds[1] = l;
  node.maxDelta = smallInt(l - s);
  return ivInsertAt(root, node);
}

/** Recursive removal of `node` (located as before() orders it) below `n`. */
function ivRemoveAt(n: AnyNode | null, node: AnyNode): AnyNode | null {
  if (n === null) {
    grown = false;
    return null;
  }
  if (n === node) return ivUnlink(n);
  const s = n.startKey();
  if (bounds[0] < s || (bounds[0] === s && opHeight < n.height)) {
    const c = n.left, t = ivRemoveAt(c, node);
    if (t !== c) n.left = t;
  } else {
    const c = n.right, t = ivRemoveAt(c, node);
    if (t !== c) n.right = t;
  }
  // The subtree's largest last can only drop if it was the removed node's, and not n's own.
  if (removedNode !== null && bounds[1] === s + n.maxDelta && n.lastKey() !== bounds[1]) {
    recompute(n, s);
  }
  return rebalance(n);
}

/** Replace `n` by its subtree without it; its in-order successor node takes its place. */
function ivUnlink(n: AnyNode): AnyNode | null {
  removedNode = n;
  grown = true;
  if (n.left === null) return n.right;
  if (n.right === null) return n.left;
  let m = n.right;
  while (m.left !== null) m = m.left;
  bounds[2] = m.lastKey();
  m.right = ivRemoveMin(n.right);
  m.left = n.left;
  recompute(m, m.startKey());
  grown = true;
  return balance(m);
}

/** The subtree `n` without its leftmost node (whose `last` is `bounds[2]`). */
function ivRemoveMin(n: AnyNode): AnyNode | null {
  const l = n.left;
  if (l === null) {
    grown = true;
    return n.right;
  }
  const t = ivRemoveMin(l);
  if (t !== l) n.left = t;
  const s = n.startKey();
  if (bounds[2] === s + n.maxDelta && n.lastKey() !== bounds[2]) recompute(n, s);
  return rebalance(n);
}

/** {@linkcode AvlEngine.remove} for interval nodes; the removed node is in {@linkcode removedNode}. */
function ivRemove(root: AnyNode | null, node: AnyNode): AnyNode | null {
  removedNode = null;
  const h = node.height;
  if (h < HEIGHT_UNIT) return root; // not stored: never found
  bounds[0] = node.startKey();
  bounds[1] = node.lastKey();
  opHeight = h;
  return ivRemoveAt(root, node);
}

/** Take {@linkcode removedNode}: links cleared, height 1 (bits above kept). */
function takeRemovedNode(): AnyNode | null {
  const n = removedNode;
  if (n === null) return null;
  removedNode = null;
  n.left = null;
  n.right = null;
  const p = n.height;
  n.height = p >= HEIGHT_UNIT ? p - (p & HEIGHT_MASK) + 1 : 1;
  return n;
}

/** The {@linkcode AvlEngine} of interval trees, with the insert and remove above. */
class IntervalEngine extends AvlEngine<AnyNode> {
  override insert(root: AnyNode | null, node: AnyNode): AnyNode {
    return ivInsert(root, node);
  }

  override remove(root: AnyNode | null, node: AnyNode): AnyNode | null {
    return ivRemove(root, node);
  }

  override removeKey<K>(
    root: AnyNode | null,
    key: K,
    cmp: (key: K, node: AnyNode) => number,
  ): AnyNode | null {
    const r = super.removeKey(root, key, cmp);
    removedNode = super.takeRemoved();
    return r;
  }

  override takeRemoved(): AnyNode | null {
    return takeRemovedNode();
  }
}

/** The balancing engine shared by every interval tree (bare roots and {@linkcode IntervalNodeTree}s). */
const ENGINE = new IntervalEngine(before, MAX_LAST);
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
  const r = ivInsert(root, node) as unknown as N;
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
  const r = ivRemove(root, node) as unknown as N | null;
  if (takeRemovedNode() === null) return undefined;
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
  const s0 = bounds[3], l0 = bounds[4], v0 = qVisit, vi0 = qVisited, n0 = qNodes, st0 = qStop;
  bounds[3] = start;
  bounds[4] = last;
  qVisit = visit as unknown as (node: AnyNode) => boolean | void;
  qVisited = 0;
  qNodes = 0;
  qStop = false;
  if (start <= last && root !== null) overlap(root);
  const nodes = qNodes;
  lastVisited = qVisited;
  bounds[3] = s0;
  bounds[4] = l0;
  qVisit = v0;
  qVisited = vi0;
  qNodes = n0;
  qStop = st0;
  return nodes;
}

// State of the running overlap query (saved and restored around a nested one; its bounds are
// in `bounds`).
let qVisit: ((node: AnyNode) => boolean | void) | null = null;
let qVisited = 0;
let qNodes = 0;
let qStop = false;

/**
 * The overlap query below `n` as a pruned in-order walk ({@linkcode AvlEngine.walk}'s order and
 * count of nodes examined): a subtree whose largest `last` is before the query is skipped, and
 * the walk stops at the first node that starts after it. Reads each node's `start` once.
 */
function overlap(n: AnyNode): void {
  qNodes++;
  const s = n.startKey();
  // No interval below n reaches the query.
  if (s + n.maxDelta < bounds[3]) return;
  const l = n.left;
  if (l !== null) {
    overlap(l);
    if (qStop) return;
  }
  // Everything after n in order starts even later.
  if (s > bounds[4]) {
    qStop = true;
    return;
  }
  if (n.lastKey() >= bounds[3]) {
    qVisited++;
    if (qVisit!(n) === false) {
      qStop = true;
      return;
    }
  }
  const r = n.right;
  if (r !== null) overlap(r);
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
