/**
 * The page tables of one mm: an ordered map from virtual page number to PTE whose tree nodes ARE
 * the PTEs. A PTE is a {@link PteNode}: the links of the shared AVL tree, the page number, and the
 * entry packed in two fields (the folio or swap slot it refers to, and one small integer with the
 * kind, the page of the folio and the writable/young/PROT_NONE bits), read through getters that
 * give the {@link Pte} union's fields. A mapping's entry thus costs one object instead of a map
 * node and an entry object, as the kernel's PTE is one word inside its page-table page.
 *
 * The map has the interface of `SortedMap<Pte>` (same ordering, same tree shapes, same tolerance
 * of changes during a range walk).
 *
 * Scheme hooks called here: none.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import { AugmentedTree, AvlNode } from "../lib/augmented_tree.ts";
import { byNumericKey, collectKeyedRange, keyedBefore } from "../lib/sorted_map.ts";
import type { Folio, Pte, SwapSlot } from "./types.ts";

const KIND_PRESENT = 0;
const KIND_ZERO = 1;
const KIND_SWAP = 2;
const KINDS = ["present", "zero", "swap"] as const;
const WRITABLE = 4;
const YOUNG = 8;
const PROT_NONE = 16;
const PAGE_SHIFT = 5;
/** `key` of a node in no page table. */
const DETACHED = -1;

/**
 * A page-table entry and its page-table node. Read it as a {@link Pte} (the constructors in
 * pgtable.ts return it typed so); `writable`, `young` and `protNone` are settable.
 *
 * @example Usage
 * ```ts
 * import { PteNode } from "./page_table.ts";
 * const p = PteNode.zero(true, false);
 * if (p.kind !== "zero" || p.folio !== null || !p.young) throw new Error();
 * ```
 */
export class PteNode extends AvlNode<PteNode> {
  /** The virtual page number, or -1 while the entry is in no page table. */
  key: number = DETACHED;
  /** The folio (present), the swap slot (swap), or null (zero page). */
  #target: Folio | SwapSlot | null;
  /** Kind (2 bits), writable, young, PROT_NONE bits, and the page of the folio above them. */
  #info: number;

  private constructor(target: Folio | SwapSlot | null, info: number) {
    super();
    this.#target = target;
    this.#info = info;
  }

  /** A present entry for page `page` of `folio`. */
  static present(
    folio: Folio,
    page: number,
    writable: boolean,
    young: boolean,
    protNone: boolean,
  ): PteNode {
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

  /** Takes `other`'s entry (target and bits), keeping this node's place. */
  copyEntry(other: PteNode): void {
    this.#target = other.#target;
    this.#info = other.#info;
  }
}

const before = keyedBefore;
const byKey = byNumericKey;

/**
 * One mm's page tables: virtual page number → {@link Pte}, ordered, with the interface of
 * `SortedMap<Pte>`. `set` links the entry object itself when it is a {@link PteNode} in no page
 * table (what pgtable.ts's constructors make, or one {@link PageTable.delete} took out); any
 * other value is copied into a node. Replacing the entry of a present key copies it into the
 * existing node.
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
  readonly #tree: AugmentedTree<PteNode> = new AugmentedTree<PteNode>(before);
  /** Incremented on every structural change; lets iterators detect mutation. */
  #mods = 0;

  /** Number of entries. */
  get size(): number {
    return this.#tree.size;
  }

  #node(key: number): PteNode | null {
    let n = this.#tree.root;
    while (n !== null) {
      if (key < n.key) n = n.left;
      else if (key > n.key) n = n.right;
      else return n;
    }
    return null;
  }

  /** The entry at `key`, or undefined. */
  get(key: number): Pte | undefined {
    return (this.#node(key) ?? undefined) as Pte | undefined;
  }

  /** Whether `key` has an entry. */
  has(key: number): boolean {
    return this.#node(key) !== null;
  }

  /** Sets the entry at `key` (see the class comment for when `pte` itself is linked). */
  set(key: number, pte: Pte): void {
    if (!Number.isFinite(key)) throw new RangeError(`Key must be a finite number: ${key}`);
    const given = pte as unknown as PteNode | Pte;
    const old = this.#node(key);
    if (old !== null) {
      if (old !== given) old.copyEntry(given instanceof PteNode ? given : PteNode.from(pte));
      return;
    }
    const node = given instanceof PteNode && given.key === DETACHED ? given : PteNode.from(pte);
    node.key = key;
    this.#tree.insert(node);
    this.#mods++;
  }

  /** Removes the entry at `key` (it stays usable, in no page table); returns whether there was one. */
  delete(key: number): boolean {
    if (!this.has(key)) return false;
    const n = this.#tree.removeKey(key, byKey)!;
    n.key = DETACHED;
    this.#mods++;
    return true;
  }

  /**
   * Removes the entry at `key` and returns it (in no page table), or undefined when there is
   * none: {@link PageTable.delete} with one descent.
   */
  take(key: number): Pte | undefined {
    const n = this.#tree.removeKey(key, byKey);
    if (n === null) return undefined;
    n.key = DETACHED;
    this.#mods++;
    return n as unknown as Pte;
  }

  /**
   * Snapshot of the entries with keys in `[lo, hi)`, ascending, as nodes (`key` is each one's
   * page number while it stays in the table).
   */
  rangeNodes(lo: number, hi: number): PteNode[] {
    const out: PteNode[] = [];
    collectKeyedRange(this.#tree, lo, hi, false, out);
    return out;
  }

  #pair(n: PteNode | null): [number, Pte] | undefined {
    return n === null ? undefined : [n.key, n as unknown as Pte];
  }

  /** The entry with the largest key <= `key`. */
  floor(key: number): [number, Pte] | undefined {
    return this.#pair(this.#tree.floor(key, byKey, false));
  }

  /** The entry with the smallest key >= `key`. */
  ceiling(key: number): [number, Pte] | undefined {
    return this.#pair(this.#tree.ceiling(key, byKey, false));
  }

  /** The entry with the largest key < `key`. */
  lower(key: number): [number, Pte] | undefined {
    return this.#pair(this.#tree.floor(key, byKey, true));
  }

  /** The entry with the smallest key > `key`. */
  higher(key: number): [number, Pte] | undefined {
    return this.#pair(this.#tree.ceiling(key, byKey, true));
  }

  /** The entry with the smallest key. */
  first(): [number, Pte] | undefined {
    return this.#pair(this.#tree.extreme(-1));
  }

  /** The entry with the largest key. */
  last(): [number, Pte] | undefined {
    return this.#pair(this.#tree.extreme(1));
  }

  /**
   * Entries with keys in `[lo, hi)`, ascending; the caller may change the map between steps
   * (iteration continues with the smallest present key above the last one yielded).
   */
  *range(lo: number, hi: number): IterableIterator<[number, Pte]> {
    const stack: PteNode[] = [];
    let mods = this.#mods;
    this.#tree.seek(stack, lo, byKey, false);
    while (stack.length > 0) {
      const n = stack.pop()!;
      const key = n.key;
      if (!(key < hi)) return;
      yield [key, n as unknown as Pte];
      if (this.#mods !== mods) {
        mods = this.#mods;
        stack.length = 0;
        this.#tree.seek(stack, key, byKey, true);
      } else {
        AugmentedTree.pushLeft(stack, n.right);
      }
    }
  }

  /** Snapshot of the keys in `[lo, hi)`, ascending. */
  rangeKeys(lo: number, hi: number): number[] {
    const out: number[] = [];
    collectKeyedRange(this.#tree, lo, hi, true, out);
    return out;
  }

  /** All entries in ascending key order (same change tolerance as {@link PageTable.range}). */
  *entries(): IterableIterator<[number, Pte]> {
    yield* this.range(-Infinity, Infinity);
  }

  /** Removes every entry. */
  clear(): void {
    for (const n of this.#tree.nodes()) n.key = DETACHED;
    this.#tree.clear();
    this.#mods++;
  }
}
