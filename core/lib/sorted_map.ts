/**
 * An ordered map keyed by finite numbers, implemented as an AVL tree.
 *
 * All point operations are O(log n); range iteration is O(log n + k) while the
 * map is not modified, and falls back to one O(log n) re-seek per yielded entry
 * after a structural modification (insert of a new key or delete).
 *
 * @module
 */

class MapNode<V> {
  key: number;
  value: V;
  left: MapNode<V> | null = null;
  right: MapNode<V> | null = null;
  height = 1;
  constructor(key: number, value: V) {
    this.key = key;
    this.value = value;
  }
}

function height<V>(n: MapNode<V> | null): number {
  return n === null ? 0 : n.height;
}

function fix<V>(n: MapNode<V>): void {
  const hl = height(n.left);
  const hr = height(n.right);
  n.height = (hl > hr ? hl : hr) + 1;
}

function rotateRight<V>(n: MapNode<V>): MapNode<V> {
  const l = n.left!;
  n.left = l.right;
  l.right = n;
  fix(n);
  fix(l);
  return l;
}

function rotateLeft<V>(n: MapNode<V>): MapNode<V> {
  const r = n.right!;
  n.right = r.left;
  r.left = n;
  fix(n);
  fix(r);
  return r;
}

function balance<V>(n: MapNode<V>): MapNode<V> {
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
  #root: MapNode<V> | null = null;
  #size = 0;
  /** Incremented on every structural change; lets iterators detect mutation. */
  #mods = 0;
  /** Scratch result of the recursive insert/delete. */
  #changed = false;

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
    return this.#size;
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
    let n = this.#root;
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
    let n = this.#root;
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
    let n = this.#root;
    while (n !== null) {
      if (key < n.key) n = n.left;
      else if (key > n.key) n = n.right;
      else {
        n.value = value;
        return;
      }
    }
    this.#root = this.#insert(this.#root, key, value);
    this.#size++;
    this.#mods++;
  }

  #insert(n: MapNode<V> | null, key: number, value: V): MapNode<V> {
    if (n === null) return new MapNode(key, value);
    if (key < n.key) n.left = this.#insert(n.left, key, value);
    else n.right = this.#insert(n.right, key, value);
    return balance(n);
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
    this.#changed = false;
    this.#root = this.#delete(this.#root, key);
    if (!this.#changed) return false;
    this.#size--;
    this.#mods++;
    return true;
  }

  #delete(n: MapNode<V> | null, key: number): MapNode<V> | null {
    if (n === null) return null;
    if (key < n.key) n.left = this.#delete(n.left, key);
    else if (key > n.key) n.right = this.#delete(n.right, key);
    else {
      this.#changed = true;
      if (n.left === null) return n.right;
      if (n.right === null) return n.left;
      let m = n.right;
      while (m.left !== null) m = m.left;
      n.key = m.key;
      n.value = m.value;
      n.right = this.#delete(n.right, m.key);
    }
    return balance(n);
  }

  #floorNode(key: number, strict: boolean): MapNode<V> | null {
    let n = this.#root;
    let best: MapNode<V> | null = null;
    while (n !== null) {
      if (n.key < key || (!strict && n.key === key)) {
        best = n;
        n = n.right;
      } else {
        n = n.left;
      }
    }
    return best;
  }

  #ceilingNode(key: number, strict: boolean): MapNode<V> | null {
    let n = this.#root;
    let best: MapNode<V> | null = null;
    while (n !== null) {
      if (n.key > key || (!strict && n.key === key)) {
        best = n;
        n = n.left;
      } else {
        n = n.right;
      }
    }
    return best;
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
    const n = this.#floorNode(key, false);
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
    const n = this.#ceilingNode(key, false);
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
    const n = this.#floorNode(key, true);
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
    const n = this.#ceilingNode(key, true);
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
    let n = this.#root;
    if (n === null) return undefined;
    while (n.left !== null) n = n.left;
    return [n.key, n.value];
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
    let n = this.#root;
    if (n === null) return undefined;
    while (n.right !== null) n = n.right;
    return [n.key, n.value];
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
    this.#seek(stack, lo, false);
    while (stack.length > 0) {
      const n = stack.pop()!;
      const key = n.key;
      if (!(key < hi)) return;
      yield [key, n.value];
      if (this.#mods !== mods) {
        mods = this.#mods;
        stack.length = 0;
        this.#seek(stack, key, true);
      } else {
        let c = n.right;
        while (c !== null) {
          stack.push(c);
          c = c.left;
        }
      }
    }
  }

  /** Fill `stack` so that its top is the ceiling (or strict successor) of `key`. */
  #seek(stack: MapNode<V>[], key: number, strict: boolean): void {
    let n = this.#root;
    while (n !== null) {
      if (n.key > key || (!strict && n.key === key)) {
        stack.push(n);
        n = n.left;
      } else {
        n = n.right;
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
    const stack: MapNode<V>[] = [];
    this.#seek(stack, lo, false);
    while (stack.length > 0) {
      const n = stack.pop()!;
      if (!(n.key < hi)) break;
      out.push(n.key);
      let c = n.right;
      while (c !== null) {
        stack.push(c);
        c = c.left;
      }
    }
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
    this.#root = null;
    this.#size = 0;
    this.#mods++;
  }
}
