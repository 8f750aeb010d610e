/**
 * The reference AVL for the tree tests: the plain recursive insert and delete the trees used
 * before they shared one engine (core/lib/augmented_tree.ts). The shared tree must build exactly
 * the same shapes, so that node-visit counts (the rmap walks' `treeNodes`) do not move; tests
 * compare shapes against this.
 *
 * @module
 */

/** A reference node: two children and its height (1 for a leaf). */
export interface RefAvlNode<N> {
  left: N | null;
  right: N | null;
  height: number;
}

/** Insert and delete on reference trees of one order. */
export interface RefAvl<N> {
  /** Inserts `x` (a leaf) under `root`; returns the new root. */
  insert(root: N | null, x: N): N;
  /** Deletes the node `x` (found by the order, then identity), splicing in its successor. */
  remove(root: N | null, x: N): N | null;
}

/**
 * A reference AVL ordered by `before` (a strict total order: equal keys must be told apart, e.g.
 * by insertion number); `augment` recomputes a node's augmentation after its height.
 *
 * @example
 * ```ts
 * import { refAvl } from "./ref_avl.ts";
 * class R { left: R | null = null; right: R | null = null; height = 1; constructor(readonly k: number) {} }
 * const avl = refAvl<R>((a, b) => a.k < b.k);
 * let root: R | null = null;
 * for (const k of [1, 2, 3]) root = avl.insert(root, new R(k));
 * root!.k; // 2
 * ```
 */
export function refAvl<N extends RefAvlNode<N>>(
  before: (a: N, b: N) => boolean,
  augment: (n: N) => void = () => {},
): RefAvl<N> {
  const h = (n: N | null): number => n === null ? 0 : n.height;
  const fix = (n: N): void => {
    n.height = Math.max(h(n.left), h(n.right)) + 1;
    augment(n);
  };
  const rotR = (n: N): N => {
    const l = n.left!;
    n.left = l.right;
    l.right = n;
    fix(n);
    fix(l);
    return l;
  };
  const rotL = (n: N): N => {
    const r = n.right!;
    n.right = r.left;
    r.left = n;
    fix(n);
    fix(r);
    return r;
  };
  const bal = (n: N): N => {
    fix(n);
    const bf = h(n.left) - h(n.right);
    if (bf > 1) {
      if (h(n.left!.left) < h(n.left!.right)) n.left = rotL(n.left!);
      return rotR(n);
    }
    if (bf < -1) {
      if (h(n.right!.right) < h(n.right!.left)) n.right = rotR(n.right!);
      return rotL(n);
    }
    return n;
  };
  const removeMin = (n: N): N | null => {
    if (n.left === null) return n.right;
    n.left = removeMin(n.left);
    return bal(n);
  };
  const insert = (n: N | null, x: N): N => {
    if (n === null) return x;
    if (before(x, n)) n.left = insert(n.left, x);
    else n.right = insert(n.right, x);
    return bal(n);
  };
  const remove = (n: N | null, x: N): N | null => {
    if (n === null) return null;
    if (n === x) {
      if (n.left === null) return n.right;
      if (n.right === null) return n.left;
      let m = n.right;
      while (m.left !== null) m = m.left;
      m.right = removeMin(n.right);
      m.left = n.left;
      return bal(m);
    }
    if (before(x, n)) n.left = remove(n.left, x);
    else n.right = remove(n.right, x);
    return bal(n);
  };
  return { insert, remove };
}
