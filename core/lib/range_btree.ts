/**
 * A B-tree of non-overlapping half-open ranges ordered by start, with the largest free gap of
 * every subtree kept beside its link in the parent: the same operations and answers as
 * {@linkcode GapTree}, in the layout of the kernel's maple tree (include/linux/maple_tree.h): a
 * node holds up to {@linkcode RANGE_BTREE_SLOTS} entries (the kernel's `MAPLE_RANGE64_SLOTS` is
 * 16; here 32, because each node also pays an object and two array headers, about 110 bytes,
 * which 32 entries share at under 4 bytes each: with 16, a VMA cost more heap than its old tree
 * links), their bounds side by side in one array of numbers (the maple node's `pivot` array),
 * and an internal node keeps each child's largest gap beside the child (`maple_arange_64`'s `gap`
 * array), so that an unmapped-area search prunes a subtree without reading it.
 *
 * Unlike {@linkcode GapTree}, the tree keeps nothing on its items: it copies each item's bounds
 * when the item is inserted, so an item may change its `start` and `end` only while it is out of
 * the tree (the kernel's VMA code also rewrites the tree whenever a VMA's bounds change:
 * `vma_iter_store`), and the item objects carry no links. A search reads only the nodes' arrays
 * until it reaches the item it returns: a few cache lines per level, where the AVL tree reads one
 * item object per level.
 *
 * The tree's shape is not part of any answer: every query, walk and gap search gives what a
 * {@linkcode GapTree} holding the same items gives (pinned by a differential test).
 *
 * @module
 */

import type { Range } from "./gap_tree.ts";
import { checkLen, checkLoad, checkRange, endOf, startOf } from "./range_checks.ts";

/** Entries per node: items of a leaf, children of an internal node. */
export const RANGE_BTREE_SLOTS = 32;
const B = RANGE_BTREE_SLOTS;
/** A full node splits into halves of this many entries (and the rest). */
const HALF = B >> 1;
/** Index of a leaf's largest gap in its bounds array (after starts and ends). */
const LEAF_GAP = 2 * B;
/** Index of an internal node's largest gap in its bounds array (after starts, ends, gaps). */
const INNER_GAP = 3 * B;

// Templates copied for a new node's bounds: a copy keeps the template's elements kind, so every
// node's array holds unboxed doubles from the start (an address past 2^31 is not a small integer).
const LEAF_KEYS: number[] = new Array<number>(2 * B + 1).fill(0.5);
const INNER_KEYS: number[] = new Array<number>(3 * B + 1).fill(0.5);

/**
 * A node. A leaf's `k` holds its items' starts at `[0, B)`, their ends at `[B, 2B)` and the
 * largest gap between two consecutive items at `2B`; an internal node's holds each child's first
 * start at `[0, B)`, last end at `[B, 2B)`, largest gap at `[2B, 3B)`, and its own at `3B`.
 */
class BNode<T> {
  /** Whether the entries are items (else children). */
  readonly leaf: boolean;
  /** Number of entries. */
  n = 0;
  /** The bounds (see the class comment). */
  readonly k: number[];
  /** The entries: items of a leaf, children of an internal node. */
  readonly s: (T | BNode<T>)[];
  /** The parent, or null at the root. */
  parent: BNode<T> | null = null;
  /** Leaves: the leaf before this one in address order, or null. */
  prev: BNode<T> | null = null;
  /** Leaves: the leaf after this one, or null. */
  next: BNode<T> | null = null;

  constructor(leaf: boolean) {
    this.leaf = leaf;
    this.k = leaf ? LEAF_KEYS.slice() : INNER_KEYS.slice();
    this.k[leaf ? LEAF_GAP : INNER_GAP] = 0;
    this.s = new Array<T | BNode<T>>(B).fill(null as unknown as T);
  }

  /** The largest gap between consecutive items of the subtree (0 below two items). */
  gap(): number {
    return this.k[this.leaf ? LEAF_GAP : INNER_GAP];
  }

  /** Recomputes the largest gap from the entries' bounds. */
  regap(): void {
    const k = this.k, n = this.n;
    let g = 0;
    if (this.leaf) {
      for (let i = 1; i < n; i++) {
        const d = k[i] - k[B + i - 1];
        if (d > g) g = d;
      }
      k[LEAF_GAP] = g;
    } else {
      for (let i = 0; i < n; i++) {
        const c = k[2 * B + i];
        if (c > g) g = c;
        if (i > 0) {
          const d = k[i] - k[B + i - 1];
          if (d > g) g = d;
        }
      }
      k[INNER_GAP] = g;
    }
  }
}

/** Stores child `c` at slot `i` of `p` with its bounds and gap. */
function setChild<T>(p: BNode<T>, i: number, c: BNode<T>): void {
  p.s[i] = c;
  c.parent = p;
  const k = p.k, ck = c.k;
  k[i] = ck[0];
  k[B + i] = ck[B + c.n - 1];
  k[2 * B + i] = c.gap();
}

/** The slot of child `c` in its parent. */
function slotOf<T>(c: BNode<T>): number {
  const s = c.parent!.s;
  let i = 0;
  while (s[i] !== c) i++;
  return i;
}

/**
 * Non-overlapping ranges ordered by start, in a B-tree: O(log n) lookups, neighbours and
 * top-down / bottom-up free-gap searches, with the same methods and answers as
 * {@linkcode GapTree} (see the module comment for what differs: nothing is kept on the items).
 *
 * @example Finding an unmapped area
 * ```ts
 * import { RangeBTree } from "./range_btree.ts";
 * const t = new RangeBTree<{ start: number; end: number }>();
 * t.insert({ start: 10, end: 20 });
 * t.insert({ start: 30, end: 40 });
 * t.gapTopDown(5, 0, 100); // 95
 * t.gapTopDown(5, 0, 40); // 25
 * t.gapBottomUp(5, 10, 100); // 20
 * ```
 */
export class RangeBTree<T extends Range> implements Iterable<T> {
  #root: BNode<T> | null = null;
  /** The first and last leaves (null when empty). */
  #head: BNode<T> | null = null;
  #tail: BNode<T> | null = null;
  #size = 0;
  /** The slot {@link RangeBTree.#locate} found in the leaf it returned (-1: none). */
  #pos = -1;

  /**
   * Number of items.
   *
   * @example
   * ```ts
   * import { RangeBTree } from "./range_btree.ts";
   * new RangeBTree().size; // 0
   * ```
   */
  get size(): number {
    return this.#size;
  }

  /**
   * The tree's shape: its depth (1 for a lone leaf, 0 when empty), and how many leaves and
   * internal nodes it has. No answer depends on it; it says what the tree costs (each node holds
   * up to {@linkcode RANGE_BTREE_SLOTS} entries).
   *
   * @example
   * ```ts
   * import { RangeBTree } from "./range_btree.ts";
   * const t = new RangeBTree();
   * t.insert({ start: 0, end: 10 });
   * t.shape(); // { depth: 1, leaves: 1, inner: 0 }
   * ```
   */
  shape(): { depth: number; leaves: number; inner: number } {
    let depth = 0, leaves = 0, inner = 0;
    for (let x = this.#root; x !== null; x = x.leaf ? null : x.s[0] as BNode<T>) depth++;
    for (let l = this.#head; l !== null; l = l.next) leaves++;
    const count = (x: BNode<T>): void => {
      if (x.leaf) return;
      inner++;
      for (let i = 0; i < x.n; i++) count(x.s[i] as BNode<T>);
    };
    if (this.#root !== null) count(this.#root);
    return { depth, leaves, inner };
  }

  /**
   * The leaf holding the last item whose start is at most `addr` (below `addr` when `strict`),
   * with its slot in {@link RangeBTree.#pos}; the first leaf and slot -1 when every item starts
   * above (or at, when `strict`). Null when the tree is empty. `addr` must not be NaN.
   */
  #locate(addr: number, strict: boolean): BNode<T> | null {
    let x = this.#root;
    if (x === null) return null;
    for (;;) {
      const k = x.k;
      let i = x.n - 1;
      if (strict) {
        while (i >= 0 && !(k[i] < addr)) i--;
      } else {
        while (i >= 0 && k[i] > addr) i--;
      }
      if (x.leaf) {
        this.#pos = i;
        return x;
      }
      x = x.s[i < 0 ? 0 : i] as BNode<T>;
    }
  }

  /** The item after slot `i` of `leaf` (the next leaf's first), or null. */
  static #after<T>(leaf: BNode<T>, i: number): T | null {
    if (i + 1 < leaf.n) return leaf.s[i + 1] as T;
    const nx = leaf.next;
    return nx === null ? null : nx.s[0] as T;
  }

  /** The item at slot `i` of `leaf`, or the previous leaf's last when `i` is -1; or null. */
  static #at<T>(leaf: BNode<T>, i: number): T | null {
    if (i >= 0) return leaf.s[i] as T;
    const pv = leaf.prev;
    return pv === null ? null : pv.s[pv.n - 1] as T;
  }

  /**
   * Checks the tree's structure and throws an `Error` naming the first broken rule: every leaf
   * at one depth, entries sorted and disjoint, each node's copies of its children's bounds and
   * gaps exact, every gap the largest in its subtree, parent and leaf links consistent, the size
   * right. For tests; O(n).
   *
   * @example
   * ```ts
   * import { RangeBTree } from "./range_btree.ts";
   * const t = new RangeBTree();
   * t.insert({ start: 0, end: 10 });
   * t.validate();
   * ```
   */
  validate(): void {
    const fail = (why: string): never => {
      throw new Error(`RangeBTree: ${why}`);
    };
    const root = this.#root;
    if (root === null) {
      if (this.#size !== 0 || this.#head !== null || this.#tail !== null) fail("empty root");
      return;
    }
    if (root.parent !== null) fail("root has a parent");
    const leaves: BNode<T>[] = [];
    let depth = -1;
    const walk = (x: BNode<T>, d: number): void => {
      if (x.n < 1 || x.n > B) fail(`node with ${x.n} entries`);
      const k = x.k;
      let g = 0;
      for (let i = 0; i < x.n; i++) {
        if (!(k[i] < k[B + i])) fail(`entry ${i} bounds [${k[i]}, ${k[B + i]})`);
        if (i > 0) {
          if (k[i] < k[B + i - 1]) fail(`entries ${i - 1} and ${i} overlap or are out of order`);
          g = Math.max(g, k[i] - k[B + i - 1]);
        }
        if (x.leaf) {
          const it = x.s[i] as T;
          if (startOf(it) !== k[i] || endOf(it) !== k[B + i]) fail(`stale bounds of item ${i}`);
        } else {
          const c = x.s[i] as BNode<T>;
          if (c.parent !== x) fail("child's parent link");
          if (k[i] !== c.k[0] || k[B + i] !== c.k[B + c.n - 1] || k[2 * B + i] !== c.gap()) {
            fail(`stale copy of child ${i}`);
          }
          g = Math.max(g, k[2 * B + i]);
          walk(c, d + 1);
        }
      }
      for (let i = x.n; i < B; i++) if (x.s[i] !== null) fail(`slot ${i} past the end not cleared`);
      if (x.gap() !== g) fail(`gap ${x.gap()} (should be ${g})`);
      if (x.leaf) {
        if (depth < 0) depth = d;
        else if (depth !== d) fail("leaves at different depths");
        leaves.push(x);
      }
    };
    walk(root, 0);
    let n = 0;
    for (let i = 0; i < leaves.length; i++) {
      const l = leaves[i];
      n += l.n;
      if (l.prev !== (i > 0 ? leaves[i - 1] : null)) fail(`leaf ${i} prev link`);
      if (l.next !== (i + 1 < leaves.length ? leaves[i + 1] : null)) fail(`leaf ${i} next link`);
    }
    if (this.#head !== leaves[0] || this.#tail !== leaves[leaves.length - 1]) fail("head or tail");
    if (n !== this.#size) fail(`size ${this.#size} (should be ${n})`);
  }

  /**
   * Insert `item`. Throws an `Error` if it overlaps an existing item, or a
   * `RangeError` if it is not a valid non-empty range.
   *
   * @example
   * ```ts
   * import { RangeBTree } from "./range_btree.ts";
   * const t = new RangeBTree();
   * t.insert({ start: 0, end: 10 });
   * t.size; // 1
   * ```
   */
  insert(item: T): void {
    const start = startOf(item), end = endOf(item);
    checkRange(start, end);
    let leaf = this.#locate(start, false);
    if (leaf === null) {
      leaf = new BNode<T>(true);
      this.#root = this.#head = this.#tail = leaf;
      this.#put(leaf, 0, item, start, end);
      this.#size = 1;
      return;
    }
    const i = this.#pos;
    // The item below and the one above: the first item ending after `start` is the one below if
    // it reaches past `start`, else the one above (which overlaps if it starts before `end`).
    const below = RangeBTree.#at(leaf, i);
    const above = RangeBTree.#after(leaf, i);
    const hit = below !== null && endOf(below) > start
      ? below
      : above !== null && startOf(above) < end
      ? above
      : null;
    if (hit !== null) {
      throw new Error(
        `Range [${start}, ${end}) overlaps existing range [${hit.start}, ${hit.end})`,
      );
    }
    this.#size++;
    if (leaf.n < B) {
      this.#put(leaf, i + 1, item, start, end);
      this.#fixUp(leaf);
      return;
    }
    // A full leaf. As the maple tree pushes entries into a sibling with room before it splits a
    // node (`mas_push_data`, lib/maple_tree.c), an entry moves to the next or the previous leaf
    // when that has room: leaves stay full under the inserts of one place (mmap's top-down
    // allocation inserts each new VMA right below the last one).
    const at = i + 1;
    const nx = leaf.next, pv = leaf.prev;
    if (nx !== null && nx.n < B) {
      if (at === B) this.#put(nx, 0, item, start, end);
      else {
        const k = leaf.k;
        this.#put(nx, 0, leaf.s[B - 1] as T, k[B - 1], k[2 * B - 1]);
        leaf.s[B - 1] = null as unknown as T;
        leaf.n--;
        this.#put(leaf, at, item, start, end);
        this.#fixUp(leaf);
      }
      this.#fixUp(nx);
      return;
    }
    if (pv !== null && pv.n < B) {
      const k = leaf.k, sl = leaf.s;
      this.#put(pv, pv.n, sl[0] as T, k[0], k[B]);
      for (let j = 1; j < at; j++) {
        sl[j - 1] = sl[j];
        k[j - 1] = k[j];
        k[B + j - 1] = k[B + j];
      }
      sl[at - 1] = item;
      k[at - 1] = start;
      k[B + at - 1] = end;
      leaf.regap();
      this.#fixUp(pv);
      this.#fixUp(leaf);
      return;
    }
    // No room beside: split. An item past the leaf's last starts a new leaf of its own (appends
    // in address order leave full leaves behind); any other splits the leaf in halves.
    const keep = at === B ? B : HALF;
    const right = this.#split(leaf, keep);
    if (keep < B && at <= keep) this.#put(leaf, at, item, start, end);
    else this.#put(right, at - keep, item, start, end);
    this.#fixAll(leaf);
    this.#fixAll(right);
  }

  /** Puts `item` (bounds `start`, `end`) at slot `i` of `leaf`, which has room. */
  #put(leaf: BNode<T>, i: number, item: T, start: number, end: number): void {
    const k = leaf.k, s = leaf.s;
    for (let j = leaf.n; j > i; j--) {
      s[j] = s[j - 1];
      k[j] = k[j - 1];
      k[B + j] = k[B + j - 1];
    }
    s[i] = item;
    k[i] = start;
    k[B + i] = end;
    leaf.n++;
    leaf.regap();
  }

  /**
   * Splits the full node `x`: it keeps its first `keep` entries and the rest move to a new node,
   * linked after `x` in `x`'s parent (which splits in turn when full; a split root gets a new
   * root above). Returns the new node (empty when `keep` is `B`: the caller fills it). The gaps
   * and the parents' copies of the bounds are left to the caller's {@link RangeBTree.#fixAll}.
   */
  #split(x: BNode<T>, keep: number): BNode<T> {
    const r = new BNode<T>(x.leaf);
    const xk = x.k, rk = r.k, xs = x.s, rs = r.s;
    const m = x.n - keep;
    for (let j = 0; j < m; j++) {
      rs[j] = xs[keep + j];
      xs[keep + j] = null as unknown as T;
      rk[j] = xk[keep + j];
      rk[B + j] = xk[B + keep + j];
      if (!x.leaf) {
        rk[2 * B + j] = xk[2 * B + keep + j];
        (rs[j] as BNode<T>).parent = r;
      }
    }
    r.n = m;
    x.n = keep;
    x.regap();
    r.regap();
    if (x.leaf) {
      r.next = x.next;
      r.prev = x;
      if (x.next !== null) x.next.prev = r;
      else this.#tail = r;
      x.next = r;
    }
    const p = x.parent;
    if (p === null) {
      const root = new BNode<T>(false);
      setChild(root, 0, x);
      setChild(root, 1, r);
      root.n = 2;
      root.regap();
      this.#root = root;
      return r;
    }
    const at = slotOf(x) + 1;
    // A full parent splits as a leaf does: a child past its last starts a new node (nodes made
    // by appends stay full), any other split is in halves.
    const pkeep = at === B ? B : HALF;
    const host = p.n < B ? p : this.#splitAt(p, at, pkeep);
    const j = host === p ? at : at - pkeep;
    this.#openSlot(host, j);
    setChild(host, j, r);
    host.n++;
    host.regap();
    // `x` is in `host` too, unless `r` started a new parent of its own.
    const xp = x.parent!;
    setChild(xp, slotOf(x), x);
    xp.regap();
    return r;
  }

  /**
   * Splits the full internal node `p` keeping `keep` entries (see {@link RangeBTree.#split});
   * returns the node that will hold slot `at`.
   */
  #splitAt(p: BNode<T>, at: number, keep: number): BNode<T> {
    const r = this.#split(p, keep);
    return keep < B && at <= keep ? p : r;
  }

  /** Moves the entries of internal node `p` from slot `j` up by one. */
  #openSlot(p: BNode<T>, j: number): void {
    const k = p.k, s = p.s;
    for (let i = p.n; i > j; i--) {
      s[i] = s[i - 1];
      k[i] = k[i - 1];
      k[B + i] = k[B + i - 1];
      k[2 * B + i] = k[2 * B + i - 1];
    }
  }

  /**
   * After a change of `x`'s entries: recomputes the ancestors' copies of its bounds and gaps,
   * stopping where an ancestor's copy does not change (the maple tree's gap update stops alike).
   */
  #fixUp(x: BNode<T>): void {
    for (let p = x.parent; p !== null; x = p, p = p.parent) {
      const i = slotOf(x);
      const k = p.k, xk = x.k;
      const lo = xk[0], hi = xk[B + x.n - 1], g = x.gap();
      if (k[i] === lo && k[B + i] === hi && k[2 * B + i] === g) return;
      k[i] = lo;
      k[B + i] = hi;
      k[2 * B + i] = g;
      p.regap();
    }
  }

  /** {@link RangeBTree.#fixUp} to the root, without stopping (after a split). */
  #fixAll(x: BNode<T>): void {
    for (let p = x.parent; p !== null; x = p, p = p.parent) {
      setChild(p, slotOf(x), x);
      p.regap();
    }
  }

  /**
   * Fills an empty tree with `items[0..count)` at once (as {@linkcode GapTree.load}): the items
   * must be valid ranges in address order, none overlapping the next. Leaves are filled whole.
   * Throws a `RangeError` (and changes nothing) when the tree is not empty, `count` is out of
   * range, or the items are not valid sorted disjoint ranges.
   *
   * @example
   * ```ts
   * import { RangeBTree } from "./range_btree.ts";
   * const t = new RangeBTree();
   * t.load([{ start: 0, end: 10 }, { start: 20, end: 30 }], 2);
   * [t.size, t.gapBottomUp(5, 0, 100)]; // [2, 10]
   * ```
   */
  load(items: readonly T[], count: number): void {
    checkLoad(this.#size, items, count);
    if (count === 0) return;
    let level: BNode<T>[] = [];
    let leaf: BNode<T> | null = null;
    for (let i = 0; i < count; i++) {
      if (leaf === null || leaf.n === B) {
        const nl: BNode<T> = new BNode<T>(true);
        if (leaf !== null) {
          leaf.next = nl;
          nl.prev = leaf;
        }
        leaf = nl;
        level.push(nl);
      }
      const j = leaf.n++;
      const it = items[i];
      leaf.s[j] = it;
      leaf.k[j] = startOf(it);
      leaf.k[B + j] = endOf(it);
    }
    for (const l of level) l.regap();
    this.#head = level[0];
    this.#tail = level[level.length - 1];
    while (level.length > 1) {
      const up: BNode<T>[] = [];
      for (let i = 0; i < level.length; i += B) {
        const p = new BNode<T>(false);
        const m = Math.min(B, level.length - i);
        for (let j = 0; j < m; j++) setChild(p, j, level[i + j]);
        p.n = m;
        p.regap();
        up.push(p);
      }
      level = up;
    }
    this.#root = level[0];
    this.#size = count;
  }

  /**
   * Remove `item` (located by its start and identity). Throws an `Error` if it is not in the
   * tree.
   *
   * @example
   * ```ts
   * import { RangeBTree } from "./range_btree.ts";
   * const t = new RangeBTree();
   * const r = { start: 0, end: 10 };
   * t.insert(r);
   * t.remove(r);
   * t.size; // 0
   * ```
   */
  remove(item: T): void {
    const start = startOf(item);
    const leaf = start === start ? this.#locate(start, false) : null;
    const i = this.#pos;
    if (leaf === null || i < 0 || leaf.s[i] !== item) {
      throw new Error(`Range [${item.start}, ${item.end}) is not in the tree`);
    }
    this.#size--;
    const k = leaf.k, s = leaf.s;
    const n = --leaf.n;
    for (let j = i; j < n; j++) {
      s[j] = s[j + 1];
      k[j] = k[j + 1];
      k[B + j] = k[B + j + 1];
    }
    s[n] = null as unknown as T;
    if (n > 0) {
      leaf.regap();
      this.#fixUp(leaf);
      return;
    }
    // The leaf is empty: unlink it, and every ancestor it leaves empty.
    if (leaf.prev !== null) leaf.prev.next = leaf.next;
    else this.#head = leaf.next;
    if (leaf.next !== null) leaf.next.prev = leaf.prev;
    else this.#tail = leaf.prev;
    let x = leaf;
    for (;;) {
      const p = x.parent;
      if (p === null) {
        this.#root = null;
        return;
      }
      const j = slotOf(x);
      x.parent = null;
      const pk = p.k, ps = p.s;
      const m = --p.n;
      for (let q = j; q < m; q++) {
        ps[q] = ps[q + 1];
        pk[q] = pk[q + 1];
        pk[B + q] = pk[B + q + 1];
        pk[2 * B + q] = pk[2 * B + q + 1];
      }
      ps[m] = null as unknown as T;
      if (m > 0) {
        p.regap();
        this.#fixUp(p);
        break;
      }
      x = p;
    }
    // A root left with one child gives way to it.
    let r = this.#root!;
    while (!r.leaf && r.n === 1) {
      const c = r.s[0] as BNode<T>;
      c.parent = null;
      r = c;
    }
    this.#root = r;
  }

  /**
   * The item containing `addr`, or `undefined`.
   *
   * @example
   * ```ts
   * import { RangeBTree } from "./range_btree.ts";
   * const t = new RangeBTree();
   * t.insert({ start: 0, end: 10 });
   * t.find(5)?.end; // 10
   * ```
   */
  find(addr: number): T | undefined {
    if (addr !== addr) return undefined;
    const leaf = this.#locate(addr, false);
    const i = this.#pos;
    return leaf !== null && i >= 0 && addr < leaf.k[B + i] ? leaf.s[i] as T : undefined;
  }

  /**
   * The first item with `end > addr`, or `undefined`.
   *
   * @example
   * ```ts
   * import { RangeBTree } from "./range_btree.ts";
   * const t = new RangeBTree();
   * t.insert({ start: 10, end: 20 });
   * t.findFirstEndAfter(0)?.start; // 10
   * ```
   */
  findFirstEndAfter(addr: number): T | undefined {
    if (addr !== addr) return undefined;
    const leaf = this.#locate(addr, false);
    if (leaf === null) return undefined;
    const i = this.#pos;
    // Ends rise with starts: the item holding `addr`, else the next one.
    if (i >= 0 && addr < leaf.k[B + i]) return leaf.s[i] as T;
    return RangeBTree.#after(leaf, i) ?? undefined;
  }

  /**
   * The last item with `start < addr`, or `undefined`.
   *
   * @example
   * ```ts
   * import { RangeBTree } from "./range_btree.ts";
   * const t = new RangeBTree();
   * t.insert({ start: 10, end: 20 });
   * t.below(11)?.start; // 10
   * ```
   */
  below(addr: number): T | undefined {
    if (addr !== addr) return undefined;
    const leaf = this.#locate(addr, true);
    return leaf === null ? undefined : RangeBTree.#at(leaf, this.#pos) ?? undefined;
  }

  /**
   * The item before `item` in address order, or `undefined`.
   *
   * @example
   * ```ts
   * import { RangeBTree } from "./range_btree.ts";
   * const t = new RangeBTree();
   * const a = { start: 0, end: 10 }, b = { start: 20, end: 30 };
   * t.insert(a);
   * t.insert(b);
   * t.prevOf(b) === a; // true
   * ```
   */
  prevOf(item: T): T | undefined {
    return this.below(item.start);
  }

  /**
   * The item after `item` in address order, or `undefined`.
   *
   * @example
   * ```ts
   * import { RangeBTree } from "./range_btree.ts";
   * const t = new RangeBTree();
   * const a = { start: 0, end: 10 }, b = { start: 20, end: 30 };
   * t.insert(a);
   * t.insert(b);
   * t.nextOf(a) === b; // true
   * ```
   */
  nextOf(item: T): T | undefined {
    const addr = item.start;
    if (addr !== addr) return undefined;
    const leaf = this.#locate(addr, false);
    return leaf === null ? undefined : RangeBTree.#after(leaf, this.#pos) ?? undefined;
  }

  /**
   * Every item intersecting `[start, end)`, in address order.
   *
   * @example
   * ```ts
   * import { RangeBTree } from "./range_btree.ts";
   * const t = new RangeBTree();
   * t.insert({ start: 0, end: 10 });
   * t.insert({ start: 20, end: 30 });
   * t.intersecting(5, 25).length; // 2
   * ```
   */
  intersecting(start: number, end: number): T[] {
    const out: T[] = [];
    if (!(start < end)) return out;
    let leaf = this.#locate(start, false);
    if (leaf === null) return out;
    let i = this.#pos;
    if (i < 0 || !(start < leaf.k[B + i])) i++;
    for (; leaf !== null; leaf = leaf.next, i = 0) {
      const k = leaf.k;
      for (; i < leaf.n; i++) {
        if (!(k[i] < end)) return out;
        out.push(leaf.s[i] as T);
      }
    }
    return out;
  }

  /**
   * Items in address order.
   *
   * @example
   * ```ts
   * import { RangeBTree } from "./range_btree.ts";
   * const t = new RangeBTree();
   * t.insert({ start: 0, end: 10 });
   * [...t].length; // 1
   * ```
   */
  *[Symbol.iterator](): IterableIterator<T> {
    for (let leaf = this.#head; leaf !== null; leaf = leaf.next) {
      for (let i = 0; i < leaf.n; i++) yield leaf.s[i] as T;
    }
  }

  /**
   * Items in address order, as an array.
   *
   * @example
   * ```ts
   * import { RangeBTree } from "./range_btree.ts";
   * const t = new RangeBTree();
   * t.insert({ start: 0, end: 10 });
   * t.toArray().length; // 1
   * ```
   */
  toArray(): T[] {
    const out: T[] = [];
    this.fillArray(out);
    return out;
  }

  /**
   * Writes the items in address order to `out[0..size)` (longer arrays keep their tail);
   * returns the count.
   *
   * @example
   * ```ts
   * import { RangeBTree } from "./range_btree.ts";
   * const t = new RangeBTree();
   * t.insert({ start: 0, end: 10 });
   * t.fillArray([]); // 1
   * ```
   */
  fillArray(out: T[]): number {
    let n = 0;
    for (let leaf = this.#head; leaf !== null; leaf = leaf.next) {
      const s = leaf.s;
      for (let i = 0; i < leaf.n; i++) out[n++] = s[i] as T;
    }
    return n;
  }

  /**
   * Removes every item.
   *
   * @example
   * ```ts
   * import { RangeBTree } from "./range_btree.ts";
   * const t = new RangeBTree();
   * t.insert({ start: 0, end: 10 });
   * t.clear();
   * t.size; // 0
   * ```
   */
  clear(): void {
    this.#root = this.#head = this.#tail = null;
    this.#size = 0;
  }

  /**
   * The lowest item, or `undefined`.
   *
   * @example
   * ```ts
   * import { RangeBTree } from "./range_btree.ts";
   * new RangeBTree().first(); // undefined
   * ```
   */
  first(): T | undefined {
    const h = this.#head;
    return h === null ? undefined : h.s[0] as T;
  }

  /**
   * The highest item, or `undefined`.
   *
   * @example
   * ```ts
   * import { RangeBTree } from "./range_btree.ts";
   * new RangeBTree().last(); // undefined
   * ```
   */
  last(): T | undefined {
    const t = this.#tail;
    return t === null ? undefined : t.s[t.n - 1] as T;
  }

  /**
   * Whether no item intersects `[start, end)` (an empty range is free).
   *
   * @example
   * ```ts
   * import { RangeBTree } from "./range_btree.ts";
   * const t = new RangeBTree();
   * t.insert({ start: 10, end: 20 });
   * [t.isFree(0, 10), t.isFree(15, 25)]; // [true, false]
   * ```
   */
  isFree(start: number, end: number): boolean {
    if (!(start < end)) return true;
    // The last item starting below `end` ends highest of those that could intersect.
    const leaf = this.#locate(end, true);
    if (leaf === null) return true;
    const i = this.#pos;
    return i < 0 || leaf.k[B + i] <= start;
  }

  /**
   * The highest `s` in `[low, high - len]` with `[s, s + len)` free, or `undefined` (the
   * kernel's `unmapped_area_topdown`).
   *
   * @example
   * ```ts
   * import { RangeBTree } from "./range_btree.ts";
   * const t = new RangeBTree();
   * t.insert({ start: 10, end: 20 });
   * t.gapTopDown(5, 0, 15); // 5
   * ```
   */
  gapTopDown(len: number, low: number, high: number): number | undefined {
    checkLen(len);
    if (len > high - low) return undefined;
    const root = this.#root;
    if (root === null) return high - len;
    let s = high - len;
    const tail = this.#tail!;
    if (s >= tail.k[B + tail.n - 1] && s >= low) return s;
    const r = this.#topDown(root, len, low, high);
    if (r !== undefined) return r;
    const minStart = this.#head!.k[0];
    s = (minStart < high ? minStart : high) - len;
    return s >= low ? s : undefined;
  }

  /** The highest fitting `s` in a gap between two items of `x`'s subtree. */
  #topDown(x: BNode<T>, len: number, low: number, high: number): number | undefined {
    const k = x.k;
    if (x.leaf) {
      for (let i = x.n - 1; i >= 1; i--) {
        const ge = k[i];
        const s = (ge < high ? ge : high) - len;
        if (s >= k[B + i - 1] && s >= low) return s;
      }
      return undefined;
    }
    for (let i = x.n - 1; i >= 0; i--) {
      // Inside child i (its items span [k[i], k[B + i]]), then between child i - 1 and i.
      if (k[2 * B + i] >= len && k[i] + len <= high && k[B + i] - len >= low) {
        const r = this.#topDown(x.s[i] as BNode<T>, len, low, high);
        if (r !== undefined) return r;
      }
      if (i > 0) {
        const ge = k[i];
        const s = (ge < high ? ge : high) - len;
        if (s >= k[B + i - 1] && s >= low) return s;
      }
    }
    return undefined;
  }

  /**
   * The lowest `s` in `[low, high - len]` with `[s, s + len)` free, or `undefined` (the
   * kernel's `unmapped_area`).
   *
   * @example
   * ```ts
   * import { RangeBTree } from "./range_btree.ts";
   * const t = new RangeBTree();
   * t.insert({ start: 10, end: 20 });
   * t.gapBottomUp(5, 8, 100); // 20
   * ```
   */
  gapBottomUp(len: number, low: number, high: number): number | undefined {
    checkLen(len);
    if (len > high - low) return undefined;
    const root = this.#root;
    if (root === null) return low;
    if (low + len <= this.#head!.k[0]) return low;
    const r = this.#bottomUp(root, len, low, high);
    if (r !== undefined) return r;
    const tail = this.#tail!;
    const maxEnd = tail.k[B + tail.n - 1];
    const s = maxEnd > low ? maxEnd : low;
    return s + len <= high ? s : undefined;
  }

  /** The lowest fitting `s` in a gap between two items of `x`'s subtree. */
  #bottomUp(x: BNode<T>, len: number, low: number, high: number): number | undefined {
    const k = x.k;
    if (x.leaf) {
      for (let i = 1; i < x.n; i++) {
        const gs = k[B + i - 1];
        const s = gs > low ? gs : low;
        if (s + len <= k[i] && s + len <= high) return s;
      }
      return undefined;
    }
    for (let i = 0; i < x.n; i++) {
      if (i > 0) {
        const gs = k[B + i - 1];
        const s = gs > low ? gs : low;
        if (s + len <= k[i] && s + len <= high) return s;
      }
      if (k[2 * B + i] >= len && k[i] + len <= high && k[B + i] - len >= low) {
        const r = this.#bottomUp(x.s[i] as BNode<T>, len, low, high);
        if (r !== undefined) return r;
      }
    }
    return undefined;
  }
}
