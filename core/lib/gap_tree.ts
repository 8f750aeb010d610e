/**
 * A tree of non-overlapping half-open ranges ordered by start, augmented with
 * the largest free gap in every subtree so that unmapped-area searches are
 * O(log n). This models the mm's VMA tree (the kernel's maple tree). An
 * instance of the shared {@linkcode AugmentedTree} with a max-gap augmentation
 * as the kernel's rb-tree of VMAs had it: each item links its predecessor, and
 * a subtree keeps the largest gap before one of its items.
 *
 * @module
 */

import { type AugmentCallbacks, AugmentedTree } from "./augmented_tree.ts";
import { checkLen, checkLoad, checkRange, endOf, startOf } from "./range_checks.ts";

/**
 * A half-open integer range `[start, end)` with `start < end`.
 *
 * @example
 * ```ts
 * import type { Range } from "./gap_tree.ts";
 * const r: Range = { start: 0x1000, end: 0x3000 };
 * ```
 */
export interface Range {
  /** First address in the range. */
  start: number;
  /** One past the last address in the range. */
  end: number;
  /**
   * `start` as a method, optional: the tree reads it through this when the item has it (V8
   * inlines a method call by its call count, a getter call only from what is left of the
   * inlining budget, and a getter that is not inlined returns a large address boxed).
   */
  startOf?(): number;
  /** `end` as a method, optional (see {@linkcode Range.startOf}). */
  endOf?(): number;
}

/**
 * The fields a {@linkcode GapTree} keeps ON each item it stores (the tree is intrusive, as the
 * kernel embeds tree nodes in the structures they index): the AVL links and height, the item's
 * predecessor in address order (the kernel's old `vm_prev`) and the largest gap before an item
 * of the subtree (`vm_rb_subtree_gap`). An item class that declares them (e.g. the kernel's VMAs) keeps one
 * object shape; plain objects get them on their first insert. An item may be in one tree at a
 * time.
 *
 * @example
 * ```ts
 * import { GapTree, type GapTreeLinks } from "./gap_tree.ts";
 * class Area implements GapTreeLinks<Area> {
 *   left: Area | null = null;
 *   right: Area | null = null;
 *   height = 1;
 *   prev: Area | null = null;
 *   maxGap = 0;
 *   constructor(public start: number, public end: number) {}
 * }
 * const t = new GapTree<Area>();
 * t.insert(new Area(0, 10));
 * ```
 */
export interface GapTreeLinks<T> {
  /** Left child (lower items), or null. */
  left: T | null;
  /** Right child (higher items), or null. */
  right: T | null;
  /** Height of the subtree rooted here (a leaf is 1). */
  height: number;
  /** The item before this one in the tree (address order), or null for the first. */
  prev: T | null;
  /**
   * Largest gap before an item of this subtree: `item.start - item.prev.end`, 0 for the first
   * item (the kernel's `vm_rb_subtree_gap`).
   */
  maxGap: number;
}

/** An item as the tree sees it: the range and the links. */
type GapNode<T extends Range> = T & GapTreeLinks<GapNode<T>>;

/** The walk stack of {@link GapTree.intersecting}, emptied after each use. */
const scratchStack: unknown[] = [];

/** The leftmost item of the subtree rooted at `n` (its start is the subtree's lowest address). */
function leftmost<N extends GapNode<Range>>(n: N): N {
  for (let c = n.left; c !== null; c = c.left) n = c as N;
  return n;
}

/** The gap before `n` (after its predecessor; 0 for the first item). */
function gapBefore(n: GapNode<Range>): number {
  const p = n.prev;
  return p === null ? 0 : startOf(n) - endOf(p);
}

/**
 * The max-gap augmentation, as the kernel's VMA rb-tree had it before the maple tree: each item
 * links its predecessor, and a subtree keeps the largest gap before one of its items, so a node
 * is recomputed from itself and its children alone.
 */
const GAP_AUGMENT: AugmentCallbacks<GapNode<Range>> = {
  propagate(n: GapNode<Range>): boolean {
    let gap = gapBefore(n);
    const l = n.left;
    if (l !== null) {
      const g = l.maxGap;
      if (g > gap) gap = g;
    }
    const r = n.right;
    if (r !== null) {
      const g = r.maxGap;
      if (g > gap) gap = g;
    }
    // Stored only when it changed: a large gap is a boxed number, and a field that may hold
    // objects (see KernelVma) gets a new box on every store.
    if (n.maxGap === gap) return false;
    n.maxGap = gap;
    return true;
  },
  rotate(old: GapNode<Range>, top: GapNode<Range>): void {
    // top now spans exactly old's former items (stored only when it differs, as in propagate).
    const g = old.maxGap;
    if (top.maxGap !== g) top.maxGap = g;
    this.propagate(old);
  },
};

function before<T extends Range>(a: GapNode<T>, b: GapNode<T>): boolean {
  return startOf(a) < startOf(b);
}

/** Orders an address against a node's start. */
function byStart<T extends Range>(addr: number, n: GapNode<T>): number {
  const s = startOf(n);
  return addr < s ? -1 : addr > s ? 1 : 0;
}

/** Orders an address against a node's end (ends are ordered like starts). */
function byEnd<T extends Range>(addr: number, n: GapNode<T>): number {
  const e = endOf(n);
  return addr < e ? -1 : addr > e ? 1 : 0;
}

/** Locates an item by start and identity (another item at its start does not match). */
function byIdentity<T extends Range>(item: T, n: GapNode<T>): number {
  const key = startOf(item), s = startOf(n);
  return key < s ? -1 : key > s ? 1 : item === n ? 0 : -1;
}

/**
 * Non-overlapping ranges ordered by start (an AVL tree), with O(log n)
 * neighbour lookups and top-down / bottom-up free-gap searches.
 *
 * Items are stored by identity, and the tree's links live on them
 * ({@linkcode GapTreeLinks}). Callers may change an item's `start`/`end`
 * only while it is removed from the tree.
 *
 * @example Finding an unmapped area
 * ```ts
 * import { GapTree } from "./gap_tree.ts";
 * const t = new GapTree<{ start: number; end: number }>();
 * t.insert({ start: 10, end: 20 });
 * t.insert({ start: 30, end: 40 });
 * t.gapTopDown(5, 0, 100); // 95
 * t.gapTopDown(5, 0, 40); // 25
 * t.gapBottomUp(5, 10, 100); // 20
 * ```
 */
export class GapTree<T extends Range> implements Iterable<T> {
  readonly #tree: AugmentedTree<GapNode<T>> = new AugmentedTree<GapNode<T>>(
    before,
    GAP_AUGMENT as AugmentCallbacks<GapNode<T>>,
  );
  /** The lowest item, or null when empty. */
  #first: GapNode<T> | null = null;
  /** The highest item, or null when empty. */
  #last: GapNode<T> | null = null;

  // The descents below are the tree's ceiling/floor with byEnd/byStart written out: one call
  // site per comparison, where V8 inlines the items' getters.

  /** The first item with `end > addr`, or null. */
  #endAfter(addr: number): GapNode<T> | null {
    let n = this.#tree.root;
    let best: GapNode<T> | null = null;
    while (n !== null) {
      if (addr < endOf(n)) {
        best = n;
        n = n.left;
      } else n = n.right;
    }
    return best;
  }

  /** The last item with `start <= addr` (NaN: as `byStart`, equal to every start), or null. */
  #startAtOrBelow(addr: number): GapNode<T> | null {
    let n = this.#tree.root;
    let best: GapNode<T> | null = null;
    while (n !== null) {
      if (addr < startOf(n)) n = n.left;
      else {
        best = n;
        n = n.right;
      }
    }
    return best;
  }

  /** The last item with `start < addr`, or null. */
  #startBelow(addr: number): GapNode<T> | null {
    let n = this.#tree.root;
    let best: GapNode<T> | null = null;
    while (n !== null) {
      if (addr > startOf(n)) {
        best = n;
        n = n.right;
      } else n = n.left;
    }
    return best;
  }

  /**
   * Number of items.
   *
   * @example
   * ```ts
   * import { GapTree } from "./gap_tree.ts";
   * new GapTree().size; // 0
   * ```
   */
  get size(): number {
    return this.#tree.size;
  }

  /**
   * Insert `item`. Throws an `Error` if it overlaps an existing item, or a
   * `RangeError` if it is not a valid non-empty range.
   *
   * @example
   * ```ts
   * import { GapTree } from "./gap_tree.ts";
   * const t = new GapTree();
   * t.insert({ start: 0, end: 10 });
   * t.size; // 1
   * ```
   */
  insert(item: T): void {
    const start = startOf(item), end = endOf(item);
    checkRange(start, end);
    const root = this.#tree.root as GapNode<T> | null;
    // The neighbours: the successor is the first item ending after `start` (none above the last
    // item, the first one below the first item: fork's copies and most mmaps need no search).
    let succ: GapNode<T> | null = null;
    let pred: GapNode<T> | null = null;
    if (root !== null) {
      const last = this.#last!;
      if (start >= endOf(last)) pred = last;
      else {
        const first = this.#first!;
        succ = end <= startOf(first) ? first : this.#endAfter(start);
        if (succ !== null && startOf(succ) < end) {
          throw new Error(
            `Range [${start}, ${end}) overlaps existing range [${succ.start}, ${succ.end})`,
          );
        }
        pred = succ!.prev;
      }
    }
    const n = item as GapNode<T>;
    // The successor is an ancestor of the new leaf: the insert recomputes its gap.
    n.prev = pred;
    if (succ !== null) succ.prev = n;
    // insert() resets the links; the gap must be set before the first propagate reads it.
    n.maxGap = 0;
    if (succ === null) this.#tree.insertLast(n);
    else this.#tree.insert(n);
    if (succ === null) this.#last = n;
    if (pred === null) this.#first = n;
  }

  /**
   * Fills an empty tree with `items[0..count)` at once, as the kernel's `dup_mmap` copies the
   * parent's maple tree whole (`__mt_dup`) before storing the child's VMAs in it: the items must
   * be valid ranges in address order, none overlapping the next. The same contents as `count`
   * inserts in order; only the tree's shape differs, which no search, walk or gap answer
   * depends on. Throws a `RangeError` (and changes nothing) when the tree is not empty, `count`
   * is out of range, or the items are not valid sorted disjoint ranges.
   *
   * @example
   * ```ts
   * import { GapTree } from "./gap_tree.ts";
   * const t = new GapTree();
   * t.load([{ start: 0, end: 10 }, { start: 20, end: 30 }], 2);
   * [t.size, t.gapBottomUp(5, 0, 100)]; // [2, 10]
   * ```
   */
  load(items: readonly T[], count: number): void {
    checkLoad(this.#tree.size, items, count);
    const nodes = items as readonly GapNode<T>[];
    let pred: GapNode<T> | null = null;
    for (let i = 0; i < count; i++) {
      const n = nodes[i];
      n.prev = pred;
      n.maxGap = 0; // read by the build's propagate before it is set
      pred = n;
    }
    this.#tree.load(nodes, count);
    this.#first = count === 0 ? null : nodes[0];
    this.#last = pred;
  }

  /**
   * Remove `item` (by identity, located by `item.start`). Throws an `Error`
   * if it is not in the tree.
   *
   * @example
   * ```ts
   * import { GapTree } from "./gap_tree.ts";
   * const t = new GapTree();
   * const v = { start: 0, end: 10 };
   * t.insert(v);
   * t.remove(v);
   * t.size; // 0
   * ```
   */
  remove(item: T): void {
    const n = item as GapNode<T>;
    // The successor takes the item's predecessor. It is on the removal path (recomputed there)
    // unless it is the item's right child and a leaf: then its gap is set here.
    const r = n.right; // undefined on a plain object never inserted
    const succ = r !== null && r !== undefined ? leftmost(r) : this.#endAfter(endOf(n));
    const old = succ === null ? null : succ.prev;
    if (succ !== null) {
      succ.prev = n.prev ?? null;
      if (succ.left === null && succ.right === null) succ.maxGap = gapBefore(succ);
    }
    if (this.#tree.removeKey(n, byIdentity) === null) {
      if (succ !== null) {
        succ.prev = old;
        if (succ.left === null && succ.right === null) succ.maxGap = gapBefore(succ);
      }
      throw new Error(`Range [${item.start}, ${item.end}) is not in the tree`);
    }
    if (n === this.#first) this.#first = succ;
    if (n === this.#last) this.#last = n.prev;
    n.prev = null;
  }

  /**
   * The item containing `addr` (`start <= addr < end`), if any.
   *
   * @example
   * ```ts
   * import { GapTree } from "./gap_tree.ts";
   * const t = new GapTree();
   * t.insert({ start: 0, end: 10 });
   * t.find(9)?.start; // 0
   * t.find(10); // undefined
   * ```
   */
  find(addr: number): T | undefined {
    // The last item starting at or below `addr` holds it if any does (a descent by start reads
    // no ends).
    const hit = this.#startAtOrBelow(addr);
    return hit !== null && addr < endOf(hit) ? hit : undefined;
  }

  /**
   * The first item with `end > addr` (the kernel's `find_vma`).
   *
   * @example
   * ```ts
   * import { GapTree } from "./gap_tree.ts";
   * const t = new GapTree();
   * t.insert({ start: 20, end: 30 });
   * t.findFirstEndAfter(5)?.start; // 20
   * t.findFirstEndAfter(30); // undefined
   * ```
   */
  findFirstEndAfter(addr: number): T | undefined {
    return this.#endAfter(addr) ?? undefined;
  }

  /**
   * The last item with `start < addr`.
   *
   * @example
   * ```ts
   * import { GapTree } from "./gap_tree.ts";
   * const t = new GapTree();
   * t.insert({ start: 20, end: 30 });
   * t.below(21)?.start; // 20
   * t.below(20); // undefined
   * ```
   */
  below(addr: number): T | undefined {
    return this.#startBelow(addr) ?? undefined;
  }

  /**
   * The item preceding `item` in address order (adjacent or not).
   *
   * @example
   * ```ts
   * import { GapTree } from "./gap_tree.ts";
   * const t = new GapTree();
   * const a = { start: 0, end: 10 };
   * const b = { start: 50, end: 60 };
   * t.insert(a);
   * t.insert(b);
   * t.prevOf(b) === a; // true
   * ```
   */
  prevOf(item: T): T | undefined {
    return this.below(item.start);
  }

  /**
   * The item following `item` in address order (adjacent or not).
   *
   * @example
   * ```ts
   * import { GapTree } from "./gap_tree.ts";
   * const t = new GapTree();
   * const a = { start: 0, end: 10 };
   * const b = { start: 50, end: 60 };
   * t.insert(a);
   * t.insert(b);
   * t.nextOf(a) === b; // true
   * ```
   */
  nextOf(item: T): T | undefined {
    return this.#tree.ceiling(item.start, byStart, true) ?? undefined;
  }

  /**
   * Items intersecting `[start, end)`, in address order (none if the range is
   * empty).
   *
   * @example
   * ```ts
   * import { GapTree } from "./gap_tree.ts";
   * const t = new GapTree();
   * t.insert({ start: 0, end: 10 });
   * t.insert({ start: 10, end: 20 });
   * t.intersecting(5, 10).length; // 1
   * ```
   */
  intersecting(start: number, end: number): T[] {
    const out: T[] = [];
    if (!(start < end)) return out;
    // The walk calls out to nothing: one stack serves every tree.
    const stack = scratchStack as GapNode<T>[];
    this.#tree.seek(stack, start, byEnd, true);
    while (stack.length > 0) {
      const m = stack.pop()!;
      if (!(startOf(m) < end)) break;
      out.push(m);
      AugmentedTree.pushLeft(stack, m.right);
    }
    stack.length = 0;
    return out;
  }

  /**
   * Items in address order. Do not modify the tree while iterating.
   *
   * @example
   * ```ts
   * import { GapTree } from "./gap_tree.ts";
   * const t = new GapTree();
   * t.insert({ start: 10, end: 20 });
   * t.insert({ start: 0, end: 10 });
   * [...t].map((r) => r.start); // [0, 10]
   * ```
   */
  *[Symbol.iterator](): IterableIterator<T> {
    yield* this.#tree.nodes();
  }

  /**
   * Every item in address order, as a new array (what `[...tree]` gives, without the
   * iterator).
   *
   * @example
   * ```ts
   * import { GapTree } from "./gap_tree.ts";
   * const t = new GapTree();
   * t.insert({ start: 10, end: 20 });
   * t.insert({ start: 0, end: 10 });
   * t.toArray().map((r) => r.start); // [0, 10]
   * ```
   */
  toArray(): T[] {
    const out: T[] = [];
    this.fillArray(out);
    return out;
  }

  /**
   * Stores every item in address order in `out` from index 0 and returns how many there are;
   * what lies past them in `out` is left as it was. Written by index, so that a caller reusing
   * one array for many walks allocates nothing once it has the room.
   *
   * @example
   * ```ts
   * import { GapTree } from "./gap_tree.ts";
   * const t = new GapTree();
   * t.insert({ start: 10, end: 20 });
   * t.insert({ start: 0, end: 10 });
   * const out = [{ start: 99, end: 100 }, { start: 99, end: 100 }, { start: 99, end: 100 }];
   * t.fillArray(out); // 2
   * out.map((r) => r.start); // [0, 10, 99]
   * ```
   */
  fillArray(out: T[]): number {
    // Down the predecessor links from the last item (no walk stack), then reversed in place.
    let n = 0;
    for (let m = this.#last; m !== null; m = m.prev) out[n++] = m;
    for (let a = 0, b = n - 1; a < b; a++, b--) {
      const t = out[a];
      out[a] = out[b];
      out[b] = t;
    }
    return n;
  }

  /**
   * Remove every item at once (their links are cleared).
   *
   * @example
   * ```ts
   * import { GapTree } from "./gap_tree.ts";
   * const t = new GapTree();
   * t.insert({ start: 0, end: 10 });
   * t.clear();
   * t.size; // 0
   * ```
   */
  clear(): void {
    const last = this.#last;
    this.#tree.clear();
    this.#first = null;
    this.#last = null;
    // Every item, down the predecessor links from the last one (no walk stack). Last, so that
    // the loop, compiled during a first long clear, ends in a return (a speed measure).
    for (let m = last, p: GapNode<T> | null; m !== null; m = p) {
      p = m.prev;
      m.left = null;
      m.right = null;
      m.height = 1;
      m.prev = null;
      m.maxGap = 0;
    }
  }

  /**
   * The lowest item, or `undefined` when empty.
   *
   * @example
   * ```ts
   * import { GapTree } from "./gap_tree.ts";
   * const t = new GapTree();
   * t.insert({ start: 10, end: 20 });
   * t.first()?.start; // 10
   * ```
   */
  first(): T | undefined {
    return this.#first ?? undefined;
  }

  /**
   * The highest item, or `undefined` when empty.
   *
   * @example
   * ```ts
   * import { GapTree } from "./gap_tree.ts";
   * const t = new GapTree();
   * t.insert({ start: 10, end: 20 });
   * t.last()?.end; // 20
   * ```
   */
  last(): T | undefined {
    return this.#last ?? undefined;
  }

  /**
   * Whether `[start, end)` intersects no item (an empty range is free).
   *
   * @example
   * ```ts
   * import { GapTree } from "./gap_tree.ts";
   * const t = new GapTree();
   * t.insert({ start: 10, end: 20 });
   * t.isFree(0, 10); // true
   * t.isFree(0, 11); // false
   * ```
   */
  isFree(start: number, end: number): boolean {
    if (!(start < end)) return true;
    // The last item starting below `end` ends highest of those that could intersect.
    const hit = this.#startBelow(end);
    return hit === null || endOf(hit) <= start;
  }

  /**
   * The HIGHEST address `s` with `low <= s`, `s + len <= high` and
   * `[s, s + len)` free (the kernel's top-down unmapped-area search), or
   * `undefined` if there is none. Space below the first item and above the
   * last item counts as free. O(log n). Throws a `RangeError` unless `len`
   * is a positive integer.
   *
   * @example
   * ```ts
   * import { GapTree } from "./gap_tree.ts";
   * const t = new GapTree();
   * t.insert({ start: 10, end: 20 });
   * t.gapTopDown(5, 0, 20); // 5
   * t.gapTopDown(11, 0, 20); // undefined
   * ```
   */
  gapTopDown(len: number, low: number, high: number): number | undefined {
    checkLen(len);
    if (len > high - low) return undefined;
    const root = this.#tree.root;
    if (root === null) return high - len;
    let s = high - len;
    if (s >= endOf(this.#last!) && s >= low) return s;
    const r = this.#searchTopDown(root, len, low, high, -Infinity, Infinity);
    if (r !== undefined) return r;
    const minStart = startOf(this.#first!);
    s = (minStart < high ? minStart : high) - len;
    return s >= low ? s : undefined;
  }

  /**
   * The top-down search among the gaps before the items of the subtree rooted at `n`, which lie
   * in `[lo, hi]` (bounds from its ancestors).
   */
  #searchTopDown(
    n: GapNode<T> | null,
    len: number,
    low: number,
    high: number,
    lo: number,
    hi: number,
  ): number | undefined {
    if (n === null || n.maxGap < len || lo + len > high || hi - len < low) return undefined;
    const r = this.#searchTopDown(n.right, len, low, high, endOf(n), hi);
    if (r !== undefined) return r;
    const p = n.prev;
    if (p !== null) {
      const gs = endOf(p);
      const ge = startOf(n);
      const s = (ge < high ? ge : high) - len;
      if (s >= gs && s >= low) return s;
    }
    return this.#searchTopDown(n.left, len, low, high, lo, startOf(n));
  }

  /**
   * The LOWEST address `s` with `low <= s`, `s + len <= high` and
   * `[s, s + len)` free, or `undefined` if there is none. O(log n). Throws a
   * `RangeError` unless `len` is a positive integer.
   *
   * @example
   * ```ts
   * import { GapTree } from "./gap_tree.ts";
   * const t = new GapTree();
   * t.insert({ start: 10, end: 20 });
   * t.gapBottomUp(5, 0, 100); // 0
   * t.gapBottomUp(11, 0, 100); // 20
   * ```
   */
  gapBottomUp(len: number, low: number, high: number): number | undefined {
    checkLen(len);
    if (len > high - low) return undefined;
    const root = this.#tree.root;
    if (root === null) return low;
    if (low + len <= startOf(this.#first!)) return low;
    const r = this.#searchBottomUp(root, len, low, high, -Infinity, Infinity);
    if (r !== undefined) return r;
    const maxEnd = endOf(this.#last!);
    const s = maxEnd > low ? maxEnd : low;
    return s + len <= high ? s : undefined;
  }

  /** The bottom-up search in the subtree rooted at `n` (items in `[lo, hi]`, as top-down). */
  #searchBottomUp(
    n: GapNode<T> | null,
    len: number,
    low: number,
    high: number,
    lo: number,
    hi: number,
  ): number | undefined {
    if (n === null || n.maxGap < len || lo + len > high || hi - len < low) return undefined;
    const r = this.#searchBottomUp(n.left, len, low, high, lo, startOf(n));
    if (r !== undefined) return r;
    const p = n.prev;
    if (p !== null) {
      const gs = endOf(p);
      const s = gs > low ? gs : low;
      if (s + len <= startOf(n) && s + len <= high) return s;
    }
    return this.#searchBottomUp(n.right, len, low, high, endOf(n), hi);
  }
}
