/**
 * The page tables of one mm: an ordered map from virtual page number to PTE, laid out as the
 * kernel's are: a tree of PTE pages keyed by PMD index (`vpn >> 9`, a small integer even where
 * the page number is not), each holding the entries of its 512 pages in page order. A PTE is a
 * {@link PteNode} (pte_node.ts, re-exported here) of two fields (the folio or swap slot it refers
 * to, and one small integer with the kind, the writable/young/PROT_NONE bits, its slot in the PTE
 * page and the page of the folio), read through getters that give the {@link Pte} union's fields; the page number is not
 * stored in it (the PTE page's index and the slot give it). A PTE page with one entry holds it
 * directly, one with more holds an array sorted by slot.
 *
 * The map has the interface of `SortedMap<Pte>` for integer keys (same ordering, same tolerance
 * of changes during a range walk).
 *
 * Scheme hooks called here: none.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import { AugmentedTree, AvlNode } from "../lib/augmented_tree.ts";
import { byNumericKey, keyedBefore } from "../lib/sorted_map.ts";
import type { Pte } from "./types.ts";
import { PteNode, SLOTS } from "./pte_node.ts";

export { PteNode } from "./pte_node.ts";

/** A PTE page (`pmd_page`): the entries of the 512 pages of one PMD index, in slot order. */
class PtePage extends AvlNode<PtePage> {
  /** The PMD index: `vpn >> 9`. */
  readonly key: number;
  /** The one entry, or two or more in an array sorted by slot. */
  ptes: PteNode | PteNode[];

  constructor(key: number, pte: PteNode) {
    super();
    this.key = key;
    this.ptes = pte;
  }
}

const before = keyedBefore<PtePage>;
const byKey = byNumericKey<PtePage>;

/** Index of the entry at `slot` in `a`, or `~i` for the index `i` it would take. */
function search(a: PteNode[], slot: number): number {
  let hi = a.length - 1;
  if (a[hi].slot < slot) return ~a.length; // appending, as faults and fork go
  let lo = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const s = a[mid].slot;
    if (s < slot) lo = mid + 1;
    else if (s > slot) hi = mid - 1;
    else return mid;
  }
  return ~lo;
}

/**
 * The index in `pg`'s entries of the first one with key `>= from` (`> from` when `strict`), or
 * their number when there is none; `hint` (if not -1) is an index to try scanning from.
 */
function startIndex(pg: PtePage, from: number, strict: boolean, hint = -1): number {
  const base = pg.key * SLOTS;
  const p = pg.ptes;
  if (!Array.isArray(p)) {
    const key = base + p.slot;
    return (strict ? key > from : key >= from) ? 0 : 1;
  }
  if (!(from >= base)) return 0; // -Infinity, or a page above `from`
  // Resumed at `hint` (where the last range stopped) when every entry before it sorts before
  // `from`: a short scan forward.
  const before = hint > 0 && hint <= p.length ? base + p[hint - 1].slot : Infinity;
  if (hint === 0 || (strict ? before <= from : before < from)) {
    for (let i = hint; i < p.length && i < hint + 8; i++) {
      const key = base + p[i].slot;
      if (strict ? key > from : key >= from) return i;
    }
    if (hint + 8 >= p.length) return p.length;
  }
  let lo = 0, hi = p.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const key = base + p[mid].slot;
    if (strict ? key > from : key >= from) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The walk stack of {@link PageTable}'s range collection (which calls out to nothing). */
const collectStack: PtePage[] = [];

/** The entries of `pg` as an array (a snapshot for one entry). */
function entriesOf(pg: PtePage): PteNode[] {
  const p = pg.ptes;
  return Array.isArray(p) ? p : [p];
}

/**
 * One mm's page tables: virtual page number (an integer) → {@link Pte}, ordered, with the
 * interface of `SortedMap<Pte>`. `set` links the entry object itself when it is a
 * {@link PteNode} in no page table (what pgtable.ts's constructors make, or one
 * {@link PageTable.take} took out); any other value is copied into a node. Replacing the entry
 * of a present key copies it into the existing node.
 *
 * @example Usage
 * ```ts
 * import { PageTable } from "./page_table.ts";
 * import { zeroPagePte } from "./pgtable.ts";
 * const t = new PageTable();
 * const p = zeroPagePte(true);
 * t.set(7, p);
 * if (t.get(7) !== p || t.rangeKeys(0, 10).join() !== "7") throw new Error();
 * ```
 */
export class PageTable {
  readonly #tree: AugmentedTree<PtePage> = new AugmentedTree<PtePage>(before);
  #size = 0;
  /** Incremented on every structural change; lets iterators detect mutation. */
  #mods = 0;
  /** The PTE page and index where the last one-page range stopped, while `#mods` is `#hintMods`. */
  #hintPage: PtePage | null = null;
  #hintIndex = 0;
  #hintMods = -1;

  /** Number of entries. */
  get size(): number {
    return this.#size;
  }

  /** Number of PTE pages (PMD indexes with at least one entry). */
  get ptePageCount(): number {
    return this.#tree.size;
  }

  #page(pmd: number): PtePage | null {
    let n = this.#tree.root;
    while (n !== null) {
      if (pmd < n.key) n = n.left;
      else if (pmd > n.key) n = n.right;
      else return n;
    }
    return null;
  }

  #node(key: number): PteNode | null {
    const pmd = Math.floor(key / SLOTS);
    const pg = this.#page(pmd);
    if (pg === null) return null;
    const slot = key - pmd * SLOTS;
    const p = pg.ptes;
    if (!Array.isArray(p)) return p.slot === slot ? p : null;
    if (slot !== Math.floor(slot)) return null;
    const i = search(p, slot);
    return i >= 0 ? p[i] : null;
  }

  /** The entry at `key`, or undefined. */
  get(key: number): Pte | undefined {
    return (this.#node(key) ?? undefined) as Pte | undefined;
  }

  /** Whether `key` has an entry. */
  has(key: number): boolean {
    return this.#node(key) !== null;
  }

  /** Sets the entry at `key` (see the class comment); a `RangeError` unless `key` is an integer. */
  set(key: number, pte: Pte): void {
    if (this.insertAbsent(key, pte)) return; // else the entry is copied into the key's node
    const old = this.#node(key)!, given = pte as unknown as PteNode | Pte;
    if (old !== given) old.copyEntry(given instanceof PteNode ? given : PteNode.from(pte));
  }

  /** {@link PageTable.set} of a `key` with no entry, in one lookup; false (no change) if it has one. */
  insertAbsent(key: number, pte: Pte): boolean {
    if (!Number.isInteger(key)) throw new RangeError(`Key must be an integer: ${key}`);
    const given = pte as unknown as PteNode | Pte;
    const pmd = Math.floor(key / SLOTS), slot = key - pmd * SLOTS, pg = this.#page(pmd);
    let at = 0;
    if (pg !== null) {
      const p = pg.ptes;
      if (!Array.isArray(p)) {
        if (p.slot === slot) return false;
        at = p.slot < slot ? 1 : 0;
      } else {
        const i = search(p, slot);
        if (i >= 0) return false;
        at = ~i;
      }
    }
    const node = given instanceof PteNode && !given.linked ? given : PteNode.from(pte);
    node.link(slot);
    if (pg === null) {
      this.#tree.insert(new PtePage(pmd, node));
    } else {
      const p = pg.ptes;
      if (!Array.isArray(p)) {
        pg.ptes = at === 0 ? [node, p] : [p, node];
      } else {
        p.push(node);
        for (let j = p.length - 1; j > at; j--) p[j] = p[j - 1];
        p[at] = node;
      }
    }
    this.#size++;
    this.#mods++;
    return true;
  }

  /** Removes the entry at `key` (it stays usable, in no page table); returns whether there was one. */
  delete(key: number): boolean {
    return this.take(key) !== undefined;
  }

  /** Removes the entry at `key` and returns it (in no page table), or undefined when there is none. */
  take(key: number): Pte | undefined {
    const pmd = Math.floor(key / SLOTS);
    const pg = this.#page(pmd);
    if (pg === null) return undefined;
    const slot = key - pmd * SLOTS;
    const p = pg.ptes;
    let n: PteNode;
    if (!Array.isArray(p)) {
      if (p.slot !== slot) return undefined;
      n = p;
      this.#tree.removeKey(pmd, byKey);
    } else {
      if (slot !== Math.floor(slot)) return undefined;
      const i = search(p, slot);
      if (i < 0) return undefined;
      n = p[i];
      for (let j = i + 1; j < p.length; j++) p[j - 1] = p[j];
      p.pop();
      if (p.length === 1) pg.ptes = p[0];
    }
    n.unlink();
    this.#size--;
    this.#mods++;
    return n as unknown as Pte;
  }

  /**
   * Stores the entries with keys in `[lo, hi)`, ascending, in `nodes` and (when given) their keys
   * in `keys`, from index `at` on (written by index: a reused array keeps its room); from the
   * first with key `> lo` when `strict`. Stops after `limit` entries. Returns the index past the
   * last one stored.
   */
  #collect(
    lo: number,
    hi: number,
    strict: boolean,
    nodes: PteNode[] | null,
    keys: number[] | null,
    limit: number,
    at: number,
  ): number {
    // A walk from -Infinity (the whole table) goes to the tree walk at once: the one-page test
    // below cannot pass for it (it would only for an empty range, which the walk finds empty
    // too), and `pmd` stays an integer (a speed measure: compiled code assumes it is one).
    if (lo === -Infinity) return this.#walk(-Infinity, lo, hi, strict, nodes, keys, limit, at);
    const pmd = Math.floor(lo / SLOTS);
    if (hi <= (pmd + 1) * SLOTS) {
      // Within one PTE page (a small VMA): no walk of the PMD tree. Consecutive ranges of an
      // unchanged table (fork's copy, VMA by VMA) resume where the last one stopped.
      const hint = this.#hintPage;
      const resume = hint !== null && this.#hintMods === this.#mods && hint.key === pmd;
      const pg = resume ? hint : this.#page(pmd);
      if (pg === null) return at;
      const base = pmd * SLOTS;
      const p = pg.ptes;
      const len = Array.isArray(p) ? p.length : 1;
      let i = startIndex(pg, lo, strict, resume ? this.#hintIndex : -1);
      let found = 0;
      for (; i < len; i++) {
        const n = Array.isArray(p) ? p[i] : p;
        const key = base + n.slot;
        if (!(key < hi)) break;
        if (nodes !== null) nodes[at + found] = n;
        if (keys !== null) keys[at + found] = key;
        if (++found === limit) {
          i++;
          break;
        }
      }
      this.#hintPage = pg;
      this.#hintIndex = i;
      this.#hintMods = this.#mods;
      return at + found;
    }
    return this.#walk(pmd, lo, hi, strict, nodes, keys, limit, at);
  }

  /** {@link PageTable.#collect} by a walk of the PMD tree from PMD index `pmd` on. */
  #walk(
    pmd: number,
    lo: number,
    hi: number,
    strict: boolean,
    nodes: PteNode[] | null,
    keys: number[] | null,
    limit: number,
    at: number,
  ): number {
    const stack = collectStack;
    this.#tree.seek(stack, pmd, byKey, false);
    try {
      return this.#collectFrom(stack, lo, hi, strict, nodes, keys, limit, at);
    } finally {
      stack.length = 0;
    }
  }

  #collectFrom(
    stack: PtePage[],
    lo: number,
    hi: number,
    strict: boolean,
    nodes: PteNode[] | null,
    keys: number[] | null,
    limit: number,
    at: number,
  ): number {
    let found = 0;
    let first = true;
    while (stack.length > 0) {
      const pg = stack.pop()!;
      const base = pg.key * SLOTS;
      if (!(base < hi)) break;
      const p = pg.ptes;
      const len = Array.isArray(p) ? p.length : 1;
      let i = first ? startIndex(pg, lo, strict) : 0;
      for (; i < len; i++) {
        const n = Array.isArray(p) ? p[i] : p;
        const key = base + n.slot;
        if (!(key < hi)) break;
        if (nodes !== null) nodes[at + found] = n;
        if (keys !== null) keys[at + found] = key;
        if (++found === limit) break;
      }
      if (i < len) break;
      first = false;
      AugmentedTree.pushLeft(stack, pg.right);
    }
    return at + found;
  }

  /**
   * Snapshot of the entries with keys in `[lo, hi)`, ascending, as nodes; their keys are pushed
   * onto `keys` (same order) when it is given.
   */
  rangeNodes(lo: number, hi: number, keys?: number[]): PteNode[] {
    const out: PteNode[] = [];
    const at = keys === undefined ? 0 : keys.length;
    const ks = at === 0 ? keys ?? null : [];
    this.#collect(lo, hi, false, out, ks, Infinity, 0);
    if (ks !== null && ks !== keys) { for (const key of ks) keys!.push(key); }
    return out;
  }

  /**
   * {@link PageTable.rangeNodes} into the caller's arrays: stores the entries with keys in
   * `[lo, hi)`, ascending, in `nodes` and their keys in `keys` from index `at` on (by default
   * appended to `nodes`); returns the index past the last one. A caller that reuses its arrays
   * passes 0 and reads up to the returned count (what lies past it is left as it was).
   */
  rangeNodesInto(
    lo: number,
    hi: number,
    nodes: PteNode[],
    keys: number[],
    at: number = nodes.length,
  ): number {
    return this.#collect(lo, hi, false, nodes, keys, Infinity, at);
  }

  /** Snapshot of the keys in `[lo, hi)`, ascending. */
  rangeKeys(lo: number, hi: number): number[] {
    const out: number[] = [];
    this.#collect(lo, hi, false, null, out, Infinity, 0);
    return out;
  }

  /** The entry with the smallest key >= `key` (> with `strict`). */
  #ceiling(key: number, strict: boolean): [number, Pte] | undefined {
    const nodes: PteNode[] = [];
    const keys: number[] = [];
    this.#collect(key, Infinity, strict, nodes, keys, 1, 0);
    return nodes.length === 0 ? undefined : [keys[0], nodes[0] as unknown as Pte];
  }

  /** The entry with the largest key <= `key` (< with `strict`). */
  #floor(key: number, strict: boolean): [number, Pte] | undefined {
    // The floor is in the PTE page of `key` or, failing that, the last entry of the one below.
    let pg = this.#tree.floor(Math.floor(key / SLOTS), byKey, false);
    for (let tries = 0; pg !== null && tries < 2; tries++) {
      const base = pg.key * SLOTS;
      const a = entriesOf(pg);
      for (let i = a.length - 1; i >= 0; i--) {
        const k = base + a[i].slot;
        if (strict ? k < key : k <= key) return [k, a[i] as unknown as Pte];
      }
      pg = this.#tree.floor(pg.key, byKey, true);
    }
    return undefined;
  }

  /** The entry with the largest key <= `key`. */
  floor(key: number): [number, Pte] | undefined {
    return this.#floor(key, false);
  }

  /** The entry with the smallest key >= `key`. */
  ceiling(key: number): [number, Pte] | undefined {
    return this.#ceiling(key, false);
  }

  /** The entry with the largest key < `key`. */
  lower(key: number): [number, Pte] | undefined {
    return this.#floor(key, true);
  }

  /** The entry with the smallest key > `key`. */
  higher(key: number): [number, Pte] | undefined {
    return this.#ceiling(key, true);
  }

  /** The entry with the smallest key. */
  first(): [number, Pte] | undefined {
    return this.#ceiling(-Infinity, false);
  }

  /** The entry with the largest key. */
  last(): [number, Pte] | undefined {
    return this.#floor(Infinity, false);
  }

  /**
   * Entries with keys in `[lo, hi)`, ascending; the caller may change the map between steps
   * (iteration continues with the smallest present key above the last one yielded).
   */
  *range(lo: number, hi: number): IterableIterator<[number, Pte]> {
    let from = lo;
    let strict = false;
    restart: for (;;) {
      const mods = this.#mods;
      const stack: PtePage[] = [];
      this.#tree.seek(stack, Math.floor(from / SLOTS), byKey, false);
      let first = true;
      while (stack.length > 0) {
        const pg = stack.pop()!;
        const base = pg.key * SLOTS;
        if (!(base < hi)) return;
        const p = pg.ptes;
        const len = Array.isArray(p) ? p.length : 1;
        for (let i = first ? startIndex(pg, from, strict) : 0; i < len; i++) {
          const n = Array.isArray(p) ? p[i] : p;
          const key = base + n.slot;
          if (!(key < hi)) return;
          yield [key, n as unknown as Pte];
          if (this.#mods !== mods) {
            from = key;
            strict = true;
            continue restart;
          }
        }
        first = false;
        AugmentedTree.pushLeft(stack, pg.right);
      }
      return;
    }
  }

  /** All entries in ascending key order (same change tolerance as {@link PageTable.range}). */
  *entries(): IterableIterator<[number, Pte]> {
    yield* this.range(-Infinity, Infinity);
  }

  /** Removes every entry. */
  clear(): void {
    // Every PTE page through the walk stack (no iterator, no array per page).
    const stack = collectStack;
    AugmentedTree.pushLeft(stack, this.#tree.root);
    while (stack.length > 0) {
      const pg = stack.pop()!, p = pg.ptes;
      if (!Array.isArray(p)) p.unlink();
      else for (let i = 0; i < p.length; i++) p[i].unlink();
      AugmentedTree.pushLeft(stack, pg.right);
    }
    this.#tree.clear();
    this.#size = 0;
    this.#mods++;
  }
}
