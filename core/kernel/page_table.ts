/**
 * The page tables of one mm: an ordered map from virtual page number to PTE, laid out as the
 * kernel's are: a tree of PTE pages keyed by PMD index (`vpn >> 9`, a small integer even where
 * the page number is not), each holding the entries of its 512 pages in page order. A PTE is a
 * {@link PteNode} of two fields (the folio or swap slot it refers to, and one small integer with
 * the kind, the writable/young/PROT_NONE bits, its slot in the PTE page and the page of the
 * folio), read through getters that give the {@link Pte} union's fields; the page number is not
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
import type { Folio, Pte, SwapSlot } from "./types.ts";

const KIND_PRESENT = 0;
const KIND_ZERO = 1;
const KIND_SWAP = 2;
const KINDS = ["present", "zero", "swap"] as const;
const WRITABLE = 4;
const YOUNG = 8;
const PROT_NONE = 16;
/** Set while the entry is in a page table. */
const LINKED = 32;
/** log2 of the entries per PTE page (`PTRS_PER_PTE` = 512). */
const SLOT_BITS = 9;
const SLOTS = 1 << SLOT_BITS;
const SLOT_SHIFT = 6;
const SLOT_MASK = (SLOTS - 1) << SLOT_SHIFT;
const PAGE_SHIFT = SLOT_SHIFT + SLOT_BITS;
/** Pages of a folio an entry can name (the page sits above the slot in a 31-bit integer). */
const MAX_PAGES = 1 << (31 - PAGE_SHIFT);

/**
 * A page-table entry. Read it as a {@link Pte} (the constructors in pgtable.ts return it typed
 * so); `writable`, `young` and `protNone` are settable.
 *
 * @example Usage
 * ```ts
 * import { PteNode } from "./page_table.ts";
 * const p = PteNode.zero(true, false);
 * if (p.kind !== "zero" || p.folio !== null || !p.young) throw new Error();
 * ```
 */
export class PteNode {
  /** The folio (present), the swap slot (swap), or null (zero page). */
  #target: Folio | SwapSlot | null;
  /** Kind (2 bits), writable, young, PROT_NONE and linked bits, slot, and the page of the folio. */
  #info: number;

  private constructor(target: Folio | SwapSlot | null, info: number) {
    this.#target = target;
    this.#info = info;
  }

  /** A present entry for page `page` of `folio` (`page` below 65,536). */
  static present(
    folio: Folio,
    page: number,
    writable: boolean,
    young: boolean,
    protNone: boolean,
  ): PteNode {
    if (!(page >= 0 && page < MAX_PAGES && page === Math.floor(page))) {
      throw new RangeError(`Page of a folio out of range: ${page}`);
    }
    return new PteNode(
      folio,
      KIND_PRESENT | (writable ? WRITABLE : 0) | (young ? YOUNG : 0) |
        (protNone ? PROT_NONE : 0) | (page << PAGE_SHIFT),
    );
  }

  /** A zero-page entry. */
  static zero(young: boolean, protNone: boolean): PteNode {
    return new PteNode(null, KIND_ZERO | (young ? YOUNG : 0) | (protNone ? PROT_NONE : 0));
  }

  /** A swap entry referring to `slot`. */
  static swap(slot: SwapSlot): PteNode {
    return new PteNode(slot, KIND_SWAP);
  }

  /** A detached copy of any {@link Pte}-shaped value (for entries made outside this module). */
  static from(p: Pte): PteNode {
    if (p.kind === "present") {
      return PteNode.present(p.folio, p.page, p.writable, p.young, p.protNone);
    }
    if (p.kind === "zero") return PteNode.zero(p.young, p.protNone);
    return PteNode.swap(p.swap);
  }

  /** Discriminant of the {@link Pte} union. */
  get kind(): "present" | "zero" | "swap" {
    return KINDS[this.#info & 3];
  }

  /** The mapped folio of a present entry, else null. */
  get folio(): Folio | null {
    return (this.#info & 3) === KIND_PRESENT ? this.#target as Folio : null;
  }

  /** The page of the folio (0 unless present). */
  get page(): number {
    return this.#info >> PAGE_SHIFT;
  }

  /** The swap slot of a swap entry, else null. */
  get swap(): SwapSlot | null {
    return (this.#info & 3) === KIND_SWAP ? this.#target as SwapSlot : null;
  }

  /** Hardware write permission. */
  get writable(): boolean {
    return (this.#info & WRITABLE) !== 0;
  }
  set writable(v: boolean) {
    this.#info = v ? this.#info | WRITABLE : this.#info & ~WRITABLE;
  }

  /** Accessed ("young") bit. */
  get young(): boolean {
    return (this.#info & YOUNG) !== 0;
  }
  set young(v: boolean) {
    this.#info = v ? this.#info | YOUNG : this.#info & ~YOUNG;
  }

  /** PROT_NONE: present but inaccessible. */
  get protNone(): boolean {
    return (this.#info & PROT_NONE) !== 0;
  }
  set protNone(v: boolean) {
    this.#info = v ? this.#info | PROT_NONE : this.#info & ~PROT_NONE;
  }

  /** Whether the entry is in a page table. */
  get linked(): boolean {
    return (this.#info & LINKED) !== 0;
  }

  /** The entry's slot in its PTE page (`vpn % 512`; meaningful while linked). */
  get slot(): number {
    return (this.#info & SLOT_MASK) >> SLOT_SHIFT;
  }

  /** Marks the entry as in a page table at `slot` of a PTE page. */
  link(slot: number): void {
    this.#info = (this.#info & ~SLOT_MASK) | LINKED | (slot << SLOT_SHIFT);
  }

  /** Marks the entry as in no page table. */
  unlink(): void {
    this.#info = this.#info & ~(LINKED | SLOT_MASK);
  }

  /** Takes `other`'s entry (target and bits), keeping this entry's place. */
  copyEntry(other: PteNode): void {
    this.#target = other.#target;
    this.#info = (other.#info & ~(LINKED | SLOT_MASK)) | (this.#info & (LINKED | SLOT_MASK));
  }
}

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
   * Pushes the entries with keys in `[lo, hi)`, ascending, onto `nodes` and (when given) their
   * keys onto `keys`; from the first with key `> lo` when `strict`. Stops after `limit` entries.
   */
  #collect(
    lo: number,
    hi: number,
    strict: boolean,
    nodes: PteNode[] | null,
    keys: number[] | null,
    limit: number,
  ): void {
    const pmd = Math.floor(lo / SLOTS);
    if (hi <= (pmd + 1) * SLOTS) {
      // Within one PTE page (a small VMA): no walk of the PMD tree. Consecutive ranges of an
      // unchanged table (fork's copy, VMA by VMA) resume where the last one stopped.
      const hint = this.#hintPage;
      const resume = hint !== null && this.#hintMods === this.#mods && hint.key === pmd;
      const pg = resume ? hint : this.#page(pmd);
      if (pg === null) return;
      const base = pmd * SLOTS;
      const p = pg.ptes;
      const len = Array.isArray(p) ? p.length : 1;
      let i = startIndex(pg, lo, strict, resume ? this.#hintIndex : -1);
      let found = 0;
      for (; i < len; i++) {
        const n = Array.isArray(p) ? p[i] : p;
        const key = base + n.slot;
        if (!(key < hi)) break;
        if (nodes !== null) nodes.push(n);
        if (keys !== null) keys.push(key);
        if (++found === limit) {
          i++;
          break;
        }
      }
      this.#hintPage = pg;
      this.#hintIndex = i;
      this.#hintMods = this.#mods;
      return;
    }
    const stack = collectStack;
    this.#tree.seek(stack, pmd, byKey, false);
    try {
      this.#collectFrom(stack, lo, hi, strict, nodes, keys, limit);
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
  ): void {
    let found = 0;
    let first = true;
    while (stack.length > 0) {
      const pg = stack.pop()!;
      const base = pg.key * SLOTS;
      if (!(base < hi)) return;
      const p = pg.ptes;
      const len = Array.isArray(p) ? p.length : 1;
      for (let i = first ? startIndex(pg, lo, strict) : 0; i < len; i++) {
        const n = Array.isArray(p) ? p[i] : p;
        const key = base + n.slot;
        if (!(key < hi)) return;
        if (nodes !== null) nodes.push(n);
        if (keys !== null) keys.push(key);
        if (++found === limit) return;
      }
      first = false;
      AugmentedTree.pushLeft(stack, pg.right);
    }
  }

  /**
   * Snapshot of the entries with keys in `[lo, hi)`, ascending, as nodes; their keys are pushed
   * onto `keys` (same order) when it is given.
   */
  rangeNodes(lo: number, hi: number, keys?: number[]): PteNode[] {
    const out: PteNode[] = [];
    this.#collect(lo, hi, false, out, keys ?? null, Infinity);
    return out;
  }

  /**
   * {@link PageTable.rangeNodes} into the caller's arrays: pushes the entries with keys in
   * `[lo, hi)`, ascending, onto `nodes` and their keys onto `keys`.
   */
  rangeNodesInto(lo: number, hi: number, nodes: PteNode[], keys: number[]): void {
    this.#collect(lo, hi, false, nodes, keys, Infinity);
  }

  /** Snapshot of the keys in `[lo, hi)`, ascending. */
  rangeKeys(lo: number, hi: number): number[] {
    const out: number[] = [];
    this.#collect(lo, hi, false, null, out, Infinity);
    return out;
  }

  /** The entry with the smallest key >= `key` (> with `strict`). */
  #ceiling(key: number, strict: boolean): [number, Pte] | undefined {
    const nodes: PteNode[] = [];
    const keys: number[] = [];
    this.#collect(key, Infinity, strict, nodes, keys, 1);
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
    for (const pg of this.#tree.nodes()) for (const n of entriesOf(pg)) n.unlink();
    this.#tree.clear();
    this.#size = 0;
    this.#mods++;
  }
}
