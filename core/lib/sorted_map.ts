/**
 * An ordered map keyed by finite numbers: an instance of the shared AVL tree
 * ({@linkcode AugmentedTree}) without augmentation.
 *
 * All point operations are O(log n); range iteration is O(log n + k) while the
 * map is not modified, and falls back to one O(log n) re-seek per yielded entry
 * after a structural modification (insert of a new key or delete).
 *
 * @module
 */

import { AugmentedTree, AvlNode } from "./augmented_tree.ts";

class MapNode<V> extends AvlNode<MapNode<V>> {
  key: number;
  value: V;
  constructor(key: number, value: V) {
    super();
    this.key = key;
    this.value = value;
  }
}

/** A tree node ordered by a number `key` (a {@linkcode SortedMap} node or a page-table entry). */
export interface KeyedNode<N> extends AvlNode<N & KeyedNode<N>> {
  /** The node's key. */
  key: number;
}

/** Strict order of {@link KeyedNode}s by key (equal keys: the later insert goes right). */
export function keyedBefore<N extends KeyedNode<N>>(a: N, b: N): boolean {
  return a.key < b.key;
}

/** Compares a search key with a {@link KeyedNode}'s key (a {@linkcode KeyCompare}). */
export function byNumericKey<N extends KeyedNode<N>>(key: number, n: N): number {
  return key < n.key ? -1 : key > n.key ? 1 : 0;
}

/**
 * Pushes the nodes of `tree` with keys in `[lo, hi)` onto `out` in ascending order (a snapshot:
 * the caller may change the tree while walking `out`); `keys` pushes their keys instead.
 *
 * @example
 * ```ts
 * import { SortedMap } from "./sorted_map.ts";
 * const m = new SortedMap<string>();
 * m.set(3, "c");
 * m.set(1, "a");
 * m.rangeKeys(0, 3); // [1] (SortedMap.rangeKeys uses collectKeyedRange)
 * ```
 */
export function collectKeyedRange<N extends KeyedNode<N>>(
  tree: AugmentedTree<N>,
  lo: number,
  hi: number,
  keys: boolean,
  out: (N | number)[],
): void {
  const stack: N[] = [];
  tree.seek(stack, lo, byNumericKey, false);
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (!(n.key < hi)) break;
    out.push(keys ? n.key : n);
    AugmentedTree.pushLeft(stack, n.right);
  }
}

const before = keyedBefore;
const byKey = byNumericKey;

/**
 * A balanced ordered map from finite numbers (integers up to 2^53, or any
 * finite double) to values. Deterministic: the shape depends only on the
 * sequence of operations.
 *
 * @example Basic use
 * ```ts
 * import { SortedMap } from "./sorted_map.ts";
 * const m = new SortedMap<string>();
 * m.set(10, "a");
 * m.set(20, "b");
 * m.floor(15); // [10, "a"]
 * m.ceiling(15); // [20, "b"]
 * [...m.range(0, 20)]; // [[10, "a"]]
 * ```
 */
export class SortedMap<V> {
  readonly #tree: AugmentedTree<MapNode<V>> = new AugmentedTree<MapNode<V>>(before);
  /** Incremented on every structural change; lets iterators detect mutation. */
  #mods = 0;

  /**
   * Number of entries.
   *
   * @example
   * ```ts
   * import { SortedMap } from "./sorted_map.ts";
   * new SortedMap<number>().size; // 0
   * ```
   */
  get size(): number {
    return this.#tree.size;
  }

  /**
   * Value stored under `key`, or `undefined`.
   *
   * @example
   * ```ts
   * import { SortedMap } from "./sorted_map.ts";
   * const m = new SortedMap<string>();
   * m.set(1, "x");
   * m.get(1); // "x"
   * ```
   */
  get(key: number): V | undefined {
    let n = this.#tree.root;
    while (n !== null) {
      if (key < n.key) n = n.left;
      else if (key > n.key) n = n.right;
      else return n.value;
    }
    return undefined;
  }

  /**
   * Whether `key` is present.
   *
   * @example
   * ```ts
   * import { SortedMap } from "./sorted_map.ts";
   * const m = new SortedMap<string>();
   * m.set(1, "x");
   * m.has(1); // true
   * ```
   */
  has(key: number): boolean {
    let n = this.#tree.root;
    while (n !== null) {
      if (key < n.key) n = n.left;
      else if (key > n.key) n = n.right;
      else return true;
    }
    return false;
  }

  /**
   * Insert or replace the value stored under `key`. Throws a `RangeError`
   * if `key` is not a finite number.
   *
   * @example
   * ```ts
   * import { SortedMap } from "./sorted_map.ts";
   * const m = new SortedMap<string>();
   * m.set(1, "x");
   * m.set(1, "y");
   * m.get(1); // "y"
   * ```
   */
  set(key: number, value: V): void {
    if (!Number.isFinite(key)) throw new RangeError(`Key must be a finite number: ${key}`);
    // Fast path: replace an existing value without restructuring.
    let n = this.#tree.root;
    while (n !== null) {
      if (key < n.key) n = n.left;
      else if (key > n.key) n = n.right;
      else {
        n.value = value;
        return;
      }
    }
    this.#tree.insert(new MapNode(key, value));
    this.#mods++;
  }

  /**
   * Remove `key`; returns whether it was present.
   *
   * @example
   * ```ts
   * import { SortedMap } from "./sorted_map.ts";
   * const m = new SortedMap<string>();
   * m.set(1, "x");
   * m.delete(1); // true
   * m.delete(1); // false
   * ```
   */
  delete(key: number): boolean {
    if (!this.has(key)) return false;
    this.#tree.removeKey(key, byKey);
    this.#mods++;
    return true;
  }

  /**
   * Entry with the largest key `<= key`.
   *
   * @example
   * ```ts
   * import { SortedMap } from "./sorted_map.ts";
   * const m = new SortedMap<string>();
   * m.set(10, "a");
   * m.floor(10); // [10, "a"]
   * m.floor(9); // undefined
   * ```
   */
  floor(key: number): [number, V] | undefined {
    const n = this.#tree.floor(key, byKey, false);
    return n === null ? undefined : [n.key, n.value];
  }

  /**
   * Entry with the smallest key `>= key`.
   *
   * @example
   * ```ts
   * import { SortedMap } from "./sorted_map.ts";
   * const m = new SortedMap<string>();
   * m.set(10, "a");
   * m.ceiling(10); // [10, "a"]
   * m.ceiling(11); // undefined
   * ```
   */
  ceiling(key: number): [number, V] | undefined {
    const n = this.#tree.ceiling(key, byKey, false);
    return n === null ? undefined : [n.key, n.value];
  }

  /**
   * Entry with the largest key `< key`.
   *
   * @example
   * ```ts
   * import { SortedMap } from "./sorted_map.ts";
   * const m = new SortedMap<string>();
   * m.set(10, "a");
   * m.lower(11); // [10, "a"]
   * m.lower(10); // undefined
   * ```
   */
  lower(key: number): [number, V] | undefined {
    const n = this.#tree.floor(key, byKey, true);
    return n === null ? undefined : [n.key, n.value];
  }

  /**
   * Entry with the smallest key `> key`.
   *
   * @example
   * ```ts
   * import { SortedMap } from "./sorted_map.ts";
   * const m = new SortedMap<string>();
   * m.set(10, "a");
   * m.higher(9); // [10, "a"]
   * m.higher(10); // undefined
   * ```
   */
  higher(key: number): [number, V] | undefined {
    const n = this.#tree.ceiling(key, byKey, true);
    return n === null ? undefined : [n.key, n.value];
  }

  /**
   * Entry with the smallest key, or `undefined` when empty.
   *
   * @example
   * ```ts
   * import { SortedMap } from "./sorted_map.ts";
   * const m = new SortedMap<string>();
   * m.set(2, "b");
   * m.set(1, "a");
   * m.first(); // [1, "a"]
   * ```
   */
  first(): [number, V] | undefined {
    const n = this.#tree.extreme(-1);
    return n === null ? undefined : [n.key, n.value];
  }

  /**
   * Entry with the largest key, or `undefined` when empty.
   *
   * @example
   * ```ts
   * import { SortedMap } from "./sorted_map.ts";
   * const m = new SortedMap<string>();
   * m.set(2, "b");
   * m.set(1, "a");
   * m.last(); // [2, "b"]
   * ```
   */
  last(): [number, V] | undefined {
    const n = this.#tree.extreme(1);
    return n === null ? undefined : [n.key, n.value];
  }

  /**
   * Entries with keys in `[lo, hi)`, ascending.
   *
   * The caller may modify the map between steps (e.g. delete the entry just
   * yielded, or insert new keys): iteration then continues with the smallest
   * key greater than the last yielded key that is present at that moment.
   * Unmodified iteration costs O(log n + k).
   *
   * @example
   * ```ts
   * import { SortedMap } from "./sorted_map.ts";
   * const m = new SortedMap<string>();
   * m.set(1, "a");
   * m.set(2, "b");
   * m.set(3, "c");
   * for (const [k] of m.range(1, 3)) m.delete(k); // deletes 1 and 2
   * m.size; // 1
   * ```
   */
  *range(lo: number, hi: number): IterableIterator<[number, V]> {
    const stack: MapNode<V>[] = [];
    let mods = this.#mods;
    this.#tree.seek(stack, lo, byKey, false);
    while (stack.length > 0) {
      const n = stack.pop()!;
      const key = n.key;
      if (!(key < hi)) return;
      yield [key, n.value];
      if (this.#mods !== mods) {
        mods = this.#mods;
        stack.length = 0;
        this.#tree.seek(stack, key, byKey, true);
      } else {
        AugmentedTree.pushLeft(stack, n.right);
      }
    }
  }

  /**
   * Snapshot of the keys in `[lo, hi)`, ascending. Safe to mutate the map
   * while walking the returned array.
   *
   * @example
   * ```ts
   * import { SortedMap } from "./sorted_map.ts";
   * const m = new SortedMap<string>();
   * m.set(1, "a");
   * m.set(5, "b");
   * m.rangeKeys(0, 10); // [1, 5]
   * ```
   */
  rangeKeys(lo: number, hi: number): number[] {
    const out: number[] = [];
    collectKeyedRange(this.#tree, lo, hi, true, out);
    return out;
  }

  /**
   * All entries in ascending key order (same mutation tolerance as
   * {@linkcode SortedMap.range}).
   *
   * @example
   * ```ts
   * import { SortedMap } from "./sorted_map.ts";
   * const m = new SortedMap<string>();
   * m.set(2, "b");
   * m.set(1, "a");
   * [...m.entries()]; // [[1, "a"], [2, "b"]]
   * ```
   */
  *entries(): IterableIterator<[number, V]> {
    yield* this.range(-Infinity, Infinity);
  }

  /**
   * Remove every entry.
   *
   * @example
   * ```ts
   * import { SortedMap } from "./sorted_map.ts";
   * const m = new SortedMap<string>();
   * m.set(1, "a");
   * m.clear();
   * m.size; // 0
   * ```
   */
  clear(): void {
    this.#tree.clear();
    this.#mods++;
  }
}
