/**
 * One augmented balanced binary search tree (AVL) shared by the ordered
 * structures of the simulator: {@linkcode SortedMap} (no augmentation), the
 * VMA {@linkcode GapTree} (largest free gap per subtree) and the anon_vma
 * {@linkcode IntervalTree} (largest `last` per subtree).
 *
 * The augmentation is supplied as a callbacks object, in the spirit of the
 * kernel's `struct rb_augment_callbacks` (include/linux/rbtree_augmented.h):
 * - `propagate(node)` recomputes one node's augmented fields from its own
 *   payload and its children's (already correct) fields. The kernel's
 *   `propagate(node, stop)` walks up to `stop`; here the tree calls
 *   `propagate` on every node of the insert/delete path, bottom-up, because
 *   the AVL insert and delete are recursive and rebalance on the way back up.
 * - `rotate(old, top)` (optional) is called after a rotation in which `top`
 *   replaced `old` as the root of the rotated subtree. `top` now holds
 *   exactly the items `old` held, so it may take over `old`'s augmented
 *   fields; `old` must then be recomputed. Without it, the tree calls
 *   `propagate(old)` then `propagate(top)`.
 * - The kernel's `copy(old, new)` is not needed: a delete splices the
 *   in-order successor NODE into the removed node's place (node identity is
 *   kept, payloads never move between nodes), and recomputes it.
 *
 * Nodes are intrusive: an instance's node class extends {@linkcode AvlNode}.
 * Ordering is a strict `before(a, b)` predicate; a node inserted with a key
 * equal to an existing node's goes to the RIGHT, so equal keys are visited in
 * insertion order (the kernel's rb-tree insert rule). The balancing (when and
 * how to rotate) is exactly that of the three trees this module replaced, so
 * the tree shapes, and every node-visit count derived from them, are
 * unchanged.
 *
 * @module
 */

/**
 * Base class of tree nodes: the child links and the AVL height. Extend it
 * with the payload and the augmented fields.
 *
 * @example
 * ```ts
 * import { AvlNode } from "./augmented_tree.ts";
 * class N extends AvlNode<N> {
 *   constructor(readonly key: number) {
 *     super();
 *   }
 * }
 * new N(1).height; // 1
 * ```
 */
export class AvlNode<N extends AvlNode<N>> {
  /** Left child (smaller keys), or `null`. */
  left: N | null = null;
  /** Right child (larger or equal keys), or `null`. */
  right: N | null = null;
  /**
   * Height of the subtree rooted here (a leaf is 1) in the low {@linkcode HEIGHT_BITS} bits
   * (read it with {@linkcode avlHeight}). The value above them, a multiple of
   * {@linkcode HEIGHT_UNIT}, belongs to the kind of tree and is kept by the balancing: 0 for
   * most kinds (then this is just the height); the interval tree keeps its insertion sequence
   * number there, saving a field per node.
   */
  height = 1;
}

/** Bits of {@linkcode AvlNode.height} that hold the AVL height (an AVL tree of height 63 would hold over 10^13 nodes). */
export const HEIGHT_BITS = 6;
/** 2 ** {@linkcode HEIGHT_BITS}: the unit of the tree kind's own value packed above the height. */
export const HEIGHT_UNIT = 64;
const HEIGHT_MASK = 63;

/**
 * The AVL height of the subtree rooted at `n` (0 for `null`), unpacked from
 * {@linkcode AvlNode.height}. Exact for every packed value up to 2^53: `& 63` keeps the low six
 * bits of the 32-bit image, which are those of the number.
 *
 * @example
 * ```ts
 * import { avlHeight, AvlNode } from "./augmented_tree.ts";
 * class N extends AvlNode<N> {}
 * const n = new N();
 * n.height = 5 * 2 ** 40 + 3;
 * [avlHeight(n), avlHeight(null)]; // [3, 0]
 * ```
 */
export function avlHeight(n: { readonly height: number } | null): number {
  return n === null ? 0 : n.height & HEIGHT_MASK;
}

/**
 * How the augmented fields of a node are maintained (compare the kernel's
 * `struct rb_augment_callbacks`).
 *
 * @example A subtree size augmentation
 * ```ts
 * import { type AugmentCallbacks, AvlNode } from "./augmented_tree.ts";
 * class N extends AvlNode<N> {
 *   count = 1;
 * }
 * const sizes: AugmentCallbacks<N> = {
 *   propagate(n) {
 *     n.count = 1 + (n.left?.count ?? 0) + (n.right?.count ?? 0);
 *   },
 * };
 * ```
 */
export interface AugmentCallbacks<N> {
  /**
   * Recompute `n`'s augmented fields from its payload and its children's fields. May return
   * `false` to say they did not change, which lets an append stop recomputing the ancestors once
   * a subtree's height did not change either (the `exit` test of the kernel's
   * `RB_DECLARE_CALLBACKS` propagate, include/linux/rbtree_augmented.h); any other return means
   * they may have.
   */
  propagate(n: N): boolean | void;
  /**
   * Optional: after a rotation, `top` roots the subtree `old` rooted before
   * (same items), and `old` is now a child of `top`. Set `top`'s fields
   * (usually copied from `old`) and recompute `old`'s.
   */
  rotate?(old: N, top: N): void;
}

/**
 * Compares a search key with a node: negative when the key sorts before the
 * node, positive when after, 0 when equal.
 *
 * @example
 * ```ts
 * import type { KeyCompare } from "./augmented_tree.ts";
 * const byKey: KeyCompare<number, { key: number }> = (k, n) => k < n.key ? -1 : k > n.key ? 1 : 0;
 * ```
 */
export type KeyCompare<K, N> = (key: K, node: N) => number;

/** No augmentation: an ordinary balanced tree. */
const NO_AUGMENT: AugmentCallbacks<unknown> = {
  propagate(): boolean {
    return false;
  },
};

/**
 * The balancing and augmentation algorithms of {@linkcode AugmentedTree}, on subtrees given by
 * their root node: one engine per kind of tree (order and augmentation), shared by every tree of
 * that kind. A structure that embeds a tree's root node itself (as the kernel's `anon_vma`
 * embeds its `rb_root_cached`) uses an engine directly instead of an {@linkcode AugmentedTree}
 * object.
 *
 * @example A tree held as a bare root
 * ```ts
 * import { AvlEngine, AvlNode } from "./augmented_tree.ts";
 * class N extends AvlNode<N> {
 *   constructor(readonly key: number) {
 *     super();
 *   }
 * }
 * const e = new AvlEngine<N>((a, b) => a.key < b.key);
 * let root: N | null = null;
 * const a = new N(1);
 * root = e.insert(root, a);
 * root = e.insert(root, new N(2));
 * root = e.remove(root, a);
 * [e.takeRemoved() === a, root?.key]; // [true, 2]
 * ```
 */
export class AvlEngine<N extends AvlNode<N>> {
  readonly #before: (a: N, b: N) => boolean;
  readonly #rotate: boolean;
  readonly #augment: AugmentCallbacks<N>;
  /** Scratch result of the recursive delete. */
  #removed: N | null = null;
  /** Scratch path of an append (emptied after each use). */
  #path: N[] = [];
  // Walk state (saved and restored, so a walk may nest in another).
  #walkVisits = 0;
  #walkStop = false;

  /**
   * @param before strict order: whether `a` sorts before `b` (see {@linkcode AugmentedTree})
   * @param augment augmentation callbacks (none by default)
   */
  constructor(
    before: (a: N, b: N) => boolean,
    augment: AugmentCallbacks<N> = NO_AUGMENT as AugmentCallbacks<N>,
  ) {
    this.#before = before;
    this.#augment = augment;
    this.#rotate = augment.rotate !== undefined;
  }

  /** The order the engine was made with. */
  get before(): (a: N, b: N) => boolean {
    return this.#before;
  }

  // Heights are the low HEIGHT_BITS of `height` (see AvlNode.height); a write keeps the bits
  // above: `p - (p & 63) + h` is exact for any packed integer `p` below 2^53. A height is
  // written only when it changed: a packed value past 2^31 is a heap number, and a field that
  // may hold one (see KernelVma) gets a new one on every store.

  /** Recomputes `n`'s height and augmentation; false when the augmentation says it did not change. */
  #fix(n: N): boolean {
    const l = n.left, r = n.right;
    const hl = l === null ? 0 : l.height & HEIGHT_MASK;
    const hr = r === null ? 0 : r.height & HEIGHT_MASK;
    const p = n.height;
    const v = p - (p & HEIGHT_MASK) + (hl > hr ? hl : hr) + 1;
    if (v !== p) n.height = v;
    return this.#augment.propagate(n) !== false;
  }

  #rotated(old: N, top: N): void {
    // Heights first (old is now top's child), then the augmentation.
    const l = old.left, r = old.right;
    const hl = l === null ? 0 : l.height & HEIGHT_MASK;
    const hr = r === null ? 0 : r.height & HEIGHT_MASK;
    const p = old.height;
    const v = p - (p & HEIGHT_MASK) + (hl > hr ? hl : hr) + 1;
    if (v !== p) old.height = v;
    if (this.#rotate) {
      const tl = top.left, tr = top.right;
      const htl = tl === null ? 0 : tl.height & HEIGHT_MASK;
      const htr = tr === null ? 0 : tr.height & HEIGHT_MASK;
      const q = top.height;
      const w = q - (q & HEIGHT_MASK) + (htl > htr ? htl : htr) + 1;
      if (w !== q) top.height = w;
      this.#augment.rotate!(old, top);
    } else {
      this.#augment.propagate(old);
      this.#fix(top);
    }
  }

  #rotateRight(n: N): N {
    const l = n.left!;
    n.left = l.right;
    l.right = n;
    this.#rotated(n, l);
    return l;
  }

  #rotateLeft(n: N): N {
    const r = n.right!;
    n.right = r.left;
    r.left = n;
    this.#rotated(n, r);
    return r;
  }

  #balance(n: N): N {
    this.#fix(n);
    return this.#rebalanced(n);
  }

  /** The rotations of {@link AvlEngine.#balance} at `n`, whose height is already fixed. */
  #rebalanced(n: N): N {
    const l = n.left, r = n.right;
    const bf = (l === null ? 0 : l.height & HEIGHT_MASK) -
      (r === null ? 0 : r.height & HEIGHT_MASK);
    if (bf > 1) {
      const ll = l!.left, lr = l!.right;
      if (
        (ll === null ? 0 : ll.height & HEIGHT_MASK) < (lr === null ? 0 : lr.height & HEIGHT_MASK)
      ) {
        n.left = this.#rotateLeft(l!);
      }
      return this.#rotateRight(n);
    }
    if (bf < -1) {
      const rl = r!.left, rr = r!.right;
      if (
        (rr === null ? 0 : rr.height & HEIGHT_MASK) < (rl === null ? 0 : rl.height & HEIGHT_MASK)
      ) {
        n.right = this.#rotateRight(r!);
      }
      return this.#rotateLeft(n);
    }
    return n;
  }

  /**
   * Link `node` (not in any tree) into the tree rooted at `root`; returns the new root. A node
   * whose key equals an existing node's goes after it (to the right).
   */
  insert(root: N | null, node: N): N {
    node.left = null;
    node.right = null;
    // A plain object may come without a height yet (undefined >= 64 is false).
    const p = node.height;
    node.height = p >= HEIGHT_UNIT ? p - (p & HEIGHT_MASK) + 1 : 1;
    this.#augment.propagate(node);
    return this.#insert(root, node);
  }

  /**
   * {@linkcode AvlEngine.insert} of a `node` the caller knows sorts after (or equal to) every
   * node of the tree: the same tree, without a comparison per level.
   */
  insertLast(root: N | null, node: N): N {
    node.left = null;
    node.right = null;
    const p = node.height;
    node.height = p >= HEIGHT_UNIT ? p - (p & HEIGHT_MASK) + 1 : 1;
    this.#augment.propagate(node);
    return this.#insertLast(root, node);
  }

  /**
   * A balanced tree of `nodes[from..to)` (not in any tree, sorted by the caller: equal keys in
   * their array order) returned by its root: the links, heights and augmentation are set bottom
   * up, each node once, with no comparison and no rotation. The middle node of each range is its
   * subtree's root, so the two subtrees of a node differ in size by at most one and the AVL
   * balance holds. For an order the caller vouches for (as {@linkcode AvlEngine.insertLast}); not
   * for a kind of tree that keeps its own value above the height at insertion (the interval tree).
   */
  build(nodes: readonly N[], from: number, to: number): N | null {
    if (from >= to) return null;
    const mid = (from + to) >>> 1;
    const n = nodes[mid];
    const l = this.build(nodes, from, mid);
    const r = this.build(nodes, mid + 1, to);
    n.left = l;
    n.right = r;
    const hl = l === null ? 0 : l.height & HEIGHT_MASK;
    const hr = r === null ? 0 : r.height & HEIGHT_MASK;
    // As `insert`: a plain object may come without a height yet (undefined >= 64 is false).
    const p = n.height;
    n.height = (p >= HEIGHT_UNIT ? p - (p & HEIGHT_MASK) : 0) + (hl > hr ? hl : hr) + 1;
    this.#augment.propagate(n);
    return n;
  }

  #insertLast(root: N | null, node: N): N {
    if (root === null) return node;
    // Down the right spine, then back up rebalancing as the recursive insert would, but stopping
    // at the first node whose height and augmentation are unchanged and that did not rotate:
    // nothing above it can change (an AVL insert rotates at most once, below that point).
    const path = this.#path;
    let d = 0;
    for (let n: N | null = root; n !== null; n = n.right) path[d++] = n;
    let child = node;
    while (d > 0) {
      const n = path[--d];
      path[d] = null as unknown as N;
      n.right = child;
      const h = n.height & HEIGHT_MASK;
      const changed = this.#fix(n);
      const top = this.#rebalanced(n);
      if (top === n && !changed && (n.height & HEIGHT_MASK) === h) {
        while (d > 0) path[--d] = null as unknown as N;
        return root;
      }
      child = top;
    }
    return child;
  }

  #insert(n: N | null, node: N): N {
    if (n === null) return node;
    if (this.#before(node, n)) n.left = this.#insert(n.left, node);
    else n.right = this.#insert(n.right, node);
    return this.#balance(n);
  }

  /**
   * Unlink `node`, located by identity along its `before` path, from the tree rooted at `root`;
   * returns the new root. Then {@linkcode AvlEngine.takeRemoved} tells whether it was found.
   */
  remove(root: N | null, node: N): N | null {
    this.#removed = null;
    return this.#removeNode(root, node);
  }

  #removeNode(n: N | null, node: N): N | null {
    if (n === null) return null;
    if (n === node) return this.#unlink(n);
    if (this.#before(node, n)) n.left = this.#removeNode(n.left, node);
    else n.right = this.#removeNode(n.right, node);
    return this.#balance(n);
  }

  /**
   * Unlink the node for which `cmp(key, node)` is 0 from the tree rooted at `root`; returns the
   * new root. Then {@linkcode AvlEngine.takeRemoved} returns that node (or null: none matched).
   */
  removeKey<K>(root: N | null, key: K, cmp: KeyCompare<K, N>): N | null {
    this.#removed = null;
    return this.#removeKey(root, key, cmp);
  }

  #removeKey<K>(n: N | null, key: K, cmp: KeyCompare<K, N>): N | null {
    if (n === null) return null;
    const c = cmp(key, n);
    if (c === 0) return this.#unlink(n);
    if (c < 0) n.left = this.#removeKey(n.left, key, cmp);
    else n.right = this.#removeKey(n.right, key, cmp);
    return this.#balance(n);
  }

  /** Replace `n` by the subtree without it; its in-order successor node takes its place. */
  #unlink(n: N): N | null {
    this.#removed = n;
    if (n.left === null) return n.right;
    if (n.right === null) return n.left;
    let m = n.right;
    while (m.left !== null) m = m.left;
    m.right = this.#removeMin(n.right);
    m.left = n.left;
    return this.#balance(m);
  }

  #removeMin(n: N): N | null {
    if (n.left === null) return n.right;
    n.left = this.#removeMin(n.left);
    return this.#balance(n);
  }

  /**
   * The node the last {@linkcode AvlEngine.remove} or {@linkcode AvlEngine.removeKey} unlinked
   * (its links cleared, its height 1, the bits above the height kept), or null when it found none; call it once, right after the removal.
   */
  takeRemoved(): N | null {
    const n = this.#removed;
    if (n === null) return null;
    this.#removed = null;
    n.left = null;
    n.right = null;
    const p = n.height;
    n.height = p >= HEIGHT_UNIT ? p - (p & HEIGHT_MASK) + 1 : 1;
    return n;
  }

  /** In-order neighbour of a stored `node` in the tree rooted at `root` (see {@linkcode AugmentedTree.neighbour}). */
  neighbour(root: N | null, node: N, dir: 1 | -1): N | null {
    const before = this.#before;
    let n = root;
    let best: N | null = null;
    while (n !== null) {
      if (n === node) {
        n = dir > 0 ? n.right : n.left;
      } else if (dir > 0 ? before(node, n) : before(n, node)) {
        best = n;
        n = dir > 0 ? n.left : n.right;
      } else {
        n = dir > 0 ? n.right : n.left;
      }
    }
    return best;
  }

  /** Pruned in-order walk of the tree rooted at `root` (see {@linkcode AugmentedTree.walk}). */
  walk(root: N | null, walker: TreeWalker<N>): number {
    const v0 = this.#walkVisits, s0 = this.#walkStop;
    this.#walkVisits = 0;
    this.#walkStop = false;
    this.#walk(root, walker);
    const visits = this.#walkVisits;
    this.#walkVisits = v0;
    this.#walkStop = s0;
    return visits;
  }

  #walk(n: N | null, w: TreeWalker<N>): void {
    if (n === null) return;
    this.#walkVisits++;
    if (!w.enter(n)) return;
    if (n.left !== null) {
      this.#walk(n.left, w);
      if (this.#walkStop) return;
    }
    if (!w.visit(n)) {
      this.#walkStop = true;
      return;
    }
    this.#walk(n.right, w);
  }
}

/**
 * An AVL tree of intrusive nodes, ordered by a strict `before` predicate and
 * augmented through {@linkcode AugmentCallbacks}. Deterministic: its shape
 * depends only on the sequence of operations.
 *
 * @example A tree of numbers with the largest key per subtree
 * ```ts
 * import { AugmentedTree, AvlNode } from "./augmented_tree.ts";
 * class N extends AvlNode<N> {
 *   max: number;
 *   constructor(readonly key: number) {
 *     super();
 *     this.max = key;
 *   }
 * }
 * const t = new AugmentedTree<N>((a, b) => a.key < b.key, {
 *   propagate(n) {
 *     n.max = n.right !== null ? n.right.max : n.key;
 *   },
 * });
 * for (const k of [5, 1, 9, 5]) t.insert(new N(k));
 * const byKey = (k: number, n: N): number => k - n.key;
 * t.root?.max; // 9
 * t.ceiling(6, byKey, false)?.key; // 9
 * t.floor(5, byKey, true)?.key; // 1
 * t.removeKey(9, byKey)?.key; // 9
 * t.root?.max; // 5
 * [...t.nodes()].map((n) => n.key); // [1, 5, 5]
 * ```
 */
export class AugmentedTree<N extends AvlNode<N>> {
  #root: N | null = null;
  #size = 0;
  readonly #engine: AvlEngine<N>;

  /**
   * @param before strict order: whether `a` sorts before `b`. `insert` sends a node to the right
   *   of every node it does not sort before; `remove` and `neighbour` need `before` to order any
   *   two stored nodes (e.g. break key ties by an insertion sequence number, as the interval tree
   *   does).
   *   Or an {@linkcode AvlEngine} (then `augment` is ignored): trees of one kind may share one.
   * @param augment augmentation callbacks (none by default)
   */
  constructor(
    before: ((a: N, b: N) => boolean) | AvlEngine<N>,
    augment: AugmentCallbacks<N> = NO_AUGMENT as AugmentCallbacks<N>,
  ) {
    this.#engine = before instanceof AvlEngine ? before : new AvlEngine(before, augment);
  }

  /**
   * The root node, or `null` when empty. For descents that use the
   * augmented fields; do not relink nodes.
   *
   * @example
   * ```ts
   * import { AugmentedTree, AvlNode } from "./augmented_tree.ts";
   * class N extends AvlNode<N> {}
   * new AugmentedTree<N>(() => false).root; // null
   * ```
   */
  get root(): N | null {
    return this.#root;
  }

  /**
   * Number of nodes.
   *
   * @example
   * ```ts
   * import { AugmentedTree, AvlNode } from "./augmented_tree.ts";
   * class N extends AvlNode<N> {}
   * new AugmentedTree<N>(() => false).size; // 0
   * ```
   */
  get size(): number {
    return this.#size;
  }

  /**
   * Link `node` (not in any tree) into the tree. A node whose key equals an
   * existing node's goes after it (to the right).
   *
   * @example
   * ```ts
   * import { AugmentedTree, AvlNode } from "./augmented_tree.ts";
   * class N extends AvlNode<N> {
   *   constructor(readonly key: number) {
   *     super();
   *   }
   * }
   * const t = new AugmentedTree<N>((a, b) => a.key < b.key);
   * t.insert(new N(1));
   * t.size; // 1
   * ```
   */
  insert(node: N): void {
    this.#root = this.#engine.insert(this.#root, node);
    this.#size++;
  }

  /**
   * {@linkcode AugmentedTree.insert} of a `node` that sorts after (or equal to) every node of
   * the tree (e.g. a copy made in order): the same tree, without comparisons. The caller
   * vouches for the order.
   *
   * @example
   * ```ts
   * import { AugmentedTree, AvlNode } from "./augmented_tree.ts";
   * class N extends AvlNode<N> {
   *   constructor(readonly key: number) {
   *     super();
   *   }
   * }
   * const t = new AugmentedTree<N>((a, b) => a.key < b.key);
   * for (const k of [1, 2, 3]) t.insertLast(new N(k));
   * [...t.nodes()].map((n) => n.key); // [1, 2, 3]
   * ```
   */
  insertLast(node: N): void {
    this.#root = this.#engine.insertLast(this.#root, node);
    this.#size++;
  }

  /**
   * Fills an empty tree with `nodes[0..count)` at once (see {@linkcode AvlEngine.build}): for a
   * copy of a whole tree, made in order, where `count` calls of
   * {@linkcode AugmentedTree.insertLast} would rebalance along the right spine each time. The
   * same nodes in the same order, a shape of its own (balanced by halving). Throws a `RangeError`
   * when the tree is not empty or `count` is out of range; the caller vouches for the order.
   *
   * @example
   * ```ts
   * import { AugmentedTree, AvlNode } from "./augmented_tree.ts";
   * class N extends AvlNode<N> {
   *   constructor(readonly key: number) {
   *     super();
   *   }
   * }
   * const t = new AugmentedTree<N>((a, b) => a.key < b.key);
   * t.load([1, 2, 3].map((k) => new N(k)), 3);
   * [t.root?.key, t.size]; // [2, 3]
   * ```
   */
  load(nodes: readonly N[], count: number): void {
    if (this.#size !== 0) throw new RangeError("load: the tree is not empty");
    if (!(Number.isInteger(count) && count >= 0 && count <= nodes.length)) {
      throw new RangeError(`load: count ${count} is not in [0, ${nodes.length}]`);
    }
    this.#root = this.#engine.build(nodes, 0, count);
    this.#size = count;
  }

  /**
   * Unlink `node`, located by identity along its `before` path. Returns
   * whether it was in the tree. The removed node's links are cleared.
   *
   * @example
   * ```ts
   * import { AugmentedTree, AvlNode } from "./augmented_tree.ts";
   * class N extends AvlNode<N> {
   *   constructor(readonly key: number) {
   *     super();
   *   }
   * }
   * const t = new AugmentedTree<N>((a, b) => a.key < b.key);
   * const a = new N(1);
   * t.insert(a);
   * t.remove(a); // true
   * t.remove(a); // false
   * ```
   */
  remove(node: N): boolean {
    const e = this.#engine;
    this.#root = e.remove(this.#root, node);
    if (e.takeRemoved() === null) return false;
    this.#size--;
    return true;
  }

  /**
   * Unlink the node for which `cmp(key, node)` is 0 (descending left on a
   * negative and right on a positive result) and return it, or `null` when
   * there is none (the tree is then unchanged).
   *
   * @example
   * ```ts
   * import { AugmentedTree, AvlNode } from "./augmented_tree.ts";
   * class N extends AvlNode<N> {
   *   constructor(readonly key: number) {
   *     super();
   *   }
   * }
   * const t = new AugmentedTree<N>((a, b) => a.key < b.key);
   * t.insert(new N(4));
   * t.removeKey(4, (k, n) => k - n.key)?.key; // 4
   * t.size; // 0
   * ```
   */
  removeKey<K>(key: K, cmp: KeyCompare<K, N>): N | null {
    const e = this.#engine;
    this.#root = e.removeKey(this.#root, key, cmp);
    const n = e.takeRemoved();
    if (n !== null) this.#size--;
    return n;
  }

  /**
   * The leftmost node with `cmp(key, node) <= 0` (with `strict`: `< 0`), i.e.
   * the ceiling (strict: the successor) of `key`; `cmp` must be monotone
   * along the in-order sequence. `null` if there is none.
   *
   * @example
   * ```ts
   * import { AugmentedTree, AvlNode } from "./augmented_tree.ts";
   * class N extends AvlNode<N> {
   *   constructor(readonly key: number) {
   *     super();
   *   }
   * }
   * const t = new AugmentedTree<N>((a, b) => a.key < b.key);
   * t.insert(new N(10));
   * t.ceiling(10, (k, n) => k - n.key, false)?.key; // 10
   * t.ceiling(10, (k, n) => k - n.key, true); // null
   * ```
   */
  ceiling<K>(key: K, cmp: KeyCompare<K, N>, strict: boolean): N | null {
    let n = this.#root;
    let best: N | null = null;
    while (n !== null) {
      const c = cmp(key, n);
      if (c < 0 || (!strict && c === 0)) {
        best = n;
        n = n.left;
      } else {
        n = n.right;
      }
    }
    return best;
  }

  /**
   * The rightmost node with `cmp(key, node) >= 0` (with `strict`: `> 0`),
   * i.e. the floor (strict: the predecessor) of `key`. `null` if none.
   *
   * @example
   * ```ts
   * import { AugmentedTree, AvlNode } from "./augmented_tree.ts";
   * class N extends AvlNode<N> {
   *   constructor(readonly key: number) {
   *     super();
   *   }
   * }
   * const t = new AugmentedTree<N>((a, b) => a.key < b.key);
   * t.insert(new N(10));
   * t.floor(10, (k, n) => k - n.key, false)?.key; // 10
   * t.floor(10, (k, n) => k - n.key, true); // null
   * ```
   */
  floor<K>(key: K, cmp: KeyCompare<K, N>, strict: boolean): N | null {
    let n = this.#root;
    let best: N | null = null;
    while (n !== null) {
      const c = cmp(key, n);
      if (c > 0 || (!strict && c === 0)) {
        best = n;
        n = n.right;
      } else {
        n = n.left;
      }
    }
    return best;
  }

  /**
   * In-order neighbour of a stored `node`: the next one (`dir` 1) or the
   * previous one (`dir` -1), or `null`. O(log n), located through `before`.
   *
   * @example
   * ```ts
   * import { AugmentedTree, AvlNode } from "./augmented_tree.ts";
   * class N extends AvlNode<N> {
   *   constructor(readonly key: number) {
   *     super();
   *   }
   * }
   * const t = new AugmentedTree<N>((a, b) => a.key < b.key);
   * const a = new N(1), b = new N(2);
   * t.insert(b);
   * t.insert(a);
   * t.neighbour(a, 1) === b; // true
   * t.neighbour(a, -1); // null
   * ```
   */
  neighbour(node: N, dir: 1 | -1): N | null {
    return this.#engine.neighbour(this.#root, node, dir);
  }

  /**
   * The leftmost (`dir` -1) or rightmost (`dir` 1) node, or `null`.
   *
   * @example
   * ```ts
   * import { AugmentedTree, AvlNode } from "./augmented_tree.ts";
   * class N extends AvlNode<N> {
   *   constructor(readonly key: number) {
   *     super();
   *   }
   * }
   * const t = new AugmentedTree<N>((a, b) => a.key < b.key);
   * t.insert(new N(3));
   * t.insert(new N(7));
   * t.extreme(1)?.key; // 7
   * ```
   */
  extreme(dir: 1 | -1): N | null {
    let n = this.#root;
    if (n === null) return null;
    if (dir > 0) { while (n.right !== null) n = n.right; }
    else while (n.left !== null) n = n.left;
    return n;
  }

  /**
   * Fill `stack` for an in-order walk from the ceiling of `key` (strict: its
   * successor): afterwards the top of `stack` is that node, and popping and
   * calling {@linkcode AugmentedTree.pushLeft} on each popped node's right
   * child yields the following nodes in order.
   *
   * @example
   * ```ts
   * import { AugmentedTree, AvlNode } from "./augmented_tree.ts";
   * class N extends AvlNode<N> {
   *   constructor(readonly key: number) {
   *     super();
   *   }
   * }
   * const t = new AugmentedTree<N>((a, b) => a.key < b.key);
   * for (const k of [1, 2, 3]) t.insert(new N(k));
   * const stack: N[] = [];
   * t.seek(stack, 2, (k, n) => k - n.key, false);
   * const m = stack.pop()!;
   * AugmentedTree.pushLeft(stack, m.right);
   * [m.key, stack.pop()!.key]; // [2, 3]
   * ```
   */
  seek<K>(stack: N[], key: K, cmp: KeyCompare<K, N>, strict: boolean): void {
    let n = this.#root;
    while (n !== null) {
      const c = cmp(key, n);
      if (c < 0 || (!strict && c === 0)) {
        stack.push(n);
        n = n.left;
      } else {
        n = n.right;
      }
    }
  }

  /**
   * Push `n` and its chain of left children onto `stack` (the in-order
   * walk step used with {@linkcode AugmentedTree.seek}).
   *
   * @example
   * ```ts
   * import { AugmentedTree, AvlNode } from "./augmented_tree.ts";
   * class N extends AvlNode<N> {}
   * const stack: N[] = [];
   * AugmentedTree.pushLeft(stack, new N());
   * stack.length; // 1
   * ```
   */
  static pushLeft<N extends AvlNode<N>>(stack: N[], n: N | null): void {
    while (n !== null) {
      stack.push(n);
      n = n.left;
    }
  }

  /**
   * All nodes in order. Do not modify the tree while iterating.
   *
   * @example
   * ```ts
   * import { AugmentedTree, AvlNode } from "./augmented_tree.ts";
   * class N extends AvlNode<N> {
   *   constructor(readonly key: number) {
   *     super();
   *   }
   * }
   * const t = new AugmentedTree<N>((a, b) => a.key < b.key);
   * t.insert(new N(2));
   * t.insert(new N(1));
   * [...t.nodes()].map((n) => n.key); // [1, 2]
   * ```
   */
  *nodes(): IterableIterator<N> {
    const stack: N[] = [];
    AugmentedTree.pushLeft(stack, this.#root);
    while (stack.length > 0) {
      const m = stack.pop()!;
      yield m;
      AugmentedTree.pushLeft(stack, m.right);
    }
  }

  /**
   * Pruned in-order walk that counts the nodes it examines (the cost figure
   * of an augmented search, e.g. an rmap walk's `treeNodes`). At each node:
   * count it; if `enter(node)` is false skip its subtree; walk the left
   * subtree; then `visit(node)`: `false` stops the whole walk; then walk
   * the right subtree. Returns the number of nodes examined. May nest.
   *
   * @example
   * ```ts
   * import { AugmentedTree, AvlNode } from "./augmented_tree.ts";
   * class N extends AvlNode<N> {
   *   constructor(readonly key: number) {
   *     super();
   *   }
   * }
   * const t = new AugmentedTree<N>((a, b) => a.key < b.key);
   * for (const k of [1, 2, 3]) t.insert(new N(k));
   * const seen: number[] = [];
   * t.walk({ enter: () => true, visit: (n) => (seen.push(n.key), n.key < 2) }); // 2
   * seen; // [1, 2]
   * ```
   */
  walk(walker: TreeWalker<N>): number {
    return this.#engine.walk(this.#root, walker);
  }

  /**
   * Forget every node (their links are left as they are).
   *
   * @example
   * ```ts
   * import { AugmentedTree, AvlNode } from "./augmented_tree.ts";
   * class N extends AvlNode<N> {}
   * const t = new AugmentedTree<N>(() => false);
   * t.insert(new N());
   * t.clear();
   * t.size; // 0
   * ```
   */
  clear(): void {
    this.#root = null;
    this.#size = 0;
  }
}

/**
 * Callbacks of {@linkcode AugmentedTree.walk}.
 *
 * @example
 * ```ts
 * import type { TreeWalker } from "./augmented_tree.ts";
 * const all: TreeWalker<unknown> = { enter: () => true, visit: () => true };
 * ```
 */
export interface TreeWalker<N> {
  /** Whether the subtree rooted at `node` may hold a match (false prunes it). */
  enter(node: N): boolean;
  /** Called in order on each node not pruned; `false` stops the walk. */
  visit(node: N): boolean;
}
