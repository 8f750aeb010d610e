/**
 * The kernel's folio object and the anon LRU list, laid out for a small heap (88 bytes for the
 * commonest folio: eight fields): a folio is its own oracle {@link MapperSet} (the one or two
 * mappings of most folios are one field each), carries its index in the live anon list and its
 * LRU link (`folio->lru`, a list_head embedded in the folio in the kernel; one link here) instead
 * of entries in a `Map` and a `Set`, and keeps what few folios need (file, per-page arrays) in a
 * side object that shares the slot of the extra mappings.
 *
 * Scheme hooks called here: none.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import { MapperSet, MapperSideData } from "../oracle.ts";
import type { Folio, SimFile } from "./types.ts";

const ANON = 1;
const PINNED = 2;
const KSM = 4;
const FREED = 8;
/** PageAnonExclusive of the one page of a folio without per-page arrays. */
const EXCL0 = 16;
/** `index` is kept in the side object (it is not an integer in [0, 2^43)). */
const WIDE_INDEX = 32;
/** The side object holds per-page arrays (the inline mapcount and EXCL0 are unused). */
const ARRAYS = 64;
/** On the anon LRU ({@link FolioLru}). */
const ON_LRU = 128;
/** Linked into the LRU's chain (on the LRU, or deleted from it and not yet unlinked). */
const IN_CHAIN = 256;
/**
 * Above the nine flag bits, the mapcount of a folio without per-page arrays (8 bits: one that
 * leaves [0, 256) moves to the arrays), and above it `index / 2^30` (13 bits: any page of a
 * 47-bit address space). The word stays below 2^30, a Smi also with pointer compression's
 * 31-bit Smis.
 */
const MC_SHIFT = 9;
const MC_MAX = 255;
const MC_MASK = MC_MAX << MC_SHIFT;
const HI_SHIFT = 17;
const HI_LIMIT = 2 ** 13;
/** `index % 2^30` lives in its own field, the quotient in the top bits of the flag word. */
const LO = 2 ** 30;

/**
 * What most folios do not need, in one object made on demand and kept in the folio's slot for
 * its extra oracle mappings ({@link MapperSideData}): the file of a page-cache folio and the
 * per-page arrays of a large folio (or of a small one whose arrays an outside script asked for
 * through {@link KernelFolio.mapcount}).
 */
class FolioExtra extends MapperSideData {
  /** `index` when it does not fit the packed form (see {@link WIDE_INDEX}). */
  index = 0;
  /** Per-page PageAnonExclusive (null exactly when `mapcount` is). */
  anonExclusive: boolean[] | null = null;
  /** Creates the side data of a folio of `file` with per-page `mapcount` (or null). */
  constructor(public file: SimFile | null, public mapcount: number[] | null) {
    super();
    if (mapcount !== null) this.anonExclusive = new Array(mapcount.length).fill(false);
  }
}

/**
 * A folio as the kernel core allocates it: the {@link Folio} fields, its oracle mappings, its
 * slot in the live anon list and its LRU link. A one-page folio keeps its mapcount (below 256)
 * and PageAnonExclusive in its flag word; a large folio keeps per-page arrays in a side object
 * (as does a page-cache folio its file), so the commonest folio holds no array at all. `index`
 * (a page number, above 2^31 for most user addresses) is kept as two Smis, its low 30 bits in a
 * field and the rest in the top bits of the flag word, so it needs no boxed number; its oracle
 * mappings are kept as page offsets from `index` ({@link MapperSet}).
 *
 * @example Usage
 * ```ts
 * import { KernelFolio } from "./folio_object.ts";
 * const f = new KernelFolio(1, 1, true, 0, null);
 * f.addPageMapcount(0, 1);
 * if (f.mappers !== f || f.pageMapcount(0) !== 1 || f.mapcount[0] !== 1) throw new Error();
 * ```
 */
export class KernelFolio extends MapperSet implements Folio {
  /** Unique id (allocation order). */
  readonly id: number;
  /** Scheme-owned rmap state. */
  rmap: unknown = null;
  /** Index in the kernel's live anon list, -1 when not in it. */
  liveSlot = -1;
  /** Next younger folio in the LRU's chain (null: youngest, or not in it; see {@link FolioLru}). */
  lruNext: KernelFolio | null = null;
  /**
   * `anon`, `pinned`, `ksm`, `freed`, the inline PageAnonExclusive, {@link WIDE_INDEX},
   * {@link ARRAYS}, {@link ON_LRU} and {@link IN_CHAIN}, one bit each; above them the inline
   * mapcount and the high part of `index` ({@link MC_SHIFT}).
   */
  #bits: number;
  /** The low 30 bits of `index`. */
  #indexLo = 0;

  /** A folio of `nrPages` pages with zero mapcounts, not exclusive, not on any list. */
  constructor(id: number, nrPages: number, anon: boolean, index: number, file: SimFile | null) {
    super();
    this.id = id;
    this.#bits = (anon ? ANON : 0) | (nrPages !== 1 ? ARRAYS : 0);
    if (file !== null || nrPages !== 1) {
      this.attachSideData(new FolioExtra(file, nrPages === 1 ? null : new Array(nrPages).fill(0)));
    }
    this.storeIndex(index);
  }

  /** `folio->index`. */
  get index(): number {
    const b = this.#bits;
    if ((b & WIDE_INDEX) !== 0) return (this.sideData() as FolioExtra).index;
    return (b >>> HI_SHIFT) * LO + this.#indexLo;
  }
  set index(index: number) {
    this.rebaseMappers(() => this.storeIndex(index));
  }

  /** The oracle's mappings are kept relative to the folio's first page. */
  protected override mapperBase(): number {
    return this.index;
  }

  /** Stores `index` packed, or in the side object when it does not fit. */
  private storeIndex(index: number): void {
    const hi = Math.floor(index / LO);
    const flags = this.#bits & ((1 << HI_SHIFT) - 1) & ~WIDE_INDEX;
    if (Number.isInteger(index) && hi >= 0 && hi < HI_LIMIT && !Object.is(index, -0)) {
      this.#bits = flags | (hi << HI_SHIFT);
      this.#indexLo = (index - hi * LO) | 0; // `| 0`: stored as a Smi, not a boxed number
    } else {
      this.extra().index = index;
      this.#bits = flags | WIDE_INDEX;
      this.#indexLo = 0;
    }
  }

  /** The side object, made empty if need be. */
  private extra(): FolioExtra {
    let x = this.sideData() as FolioExtra | null;
    if (x === null) this.attachSideData(x = new FolioExtra(null, null));
    return x;
  }

  /** The side object when it holds per-page arrays, else null. */
  private pages(): FolioExtra | null {
    return (this.#bits & ARRAYS) !== 0 ? this.sideData() as FolioExtra : null;
  }

  /** Number of pages (1 for order 0). */
  get nrPages(): number {
    const x = this.pages();
    return x === null ? 1 : x.mapcount!.length;
  }

  /** The file of a page-cache folio. */
  get file(): SimFile | null {
    const x = this.sideData() as FolioExtra | null;
    return x === null ? null : x.file;
  }

  /**
   * Per-page mapcount. A small folio makes its arrays on first use and keeps them (both
   * arrays stay the live state from then on); the kernel core uses {@link pageMapcount}.
   */
  get mapcount(): number[] {
    return this.arrays().mapcount!;
  }

  /** Per-page PageAnonExclusive (see {@link mapcount}). */
  get anonExclusive(): boolean[] {
    return this.arrays().anonExclusive!;
  }

  /** The side object with per-page arrays, made from the inline figures if need be. */
  private arrays(): FolioExtra {
    const x = this.extra();
    if (x.mapcount === null) {
      x.mapcount = [this.inlineMapcount()];
      x.anonExclusive = [(this.#bits & EXCL0) !== 0];
      this.#bits = (this.#bits & ~(EXCL0 | MC_MASK)) | ARRAYS;
    }
    return x;
  }

  /** Mapcount of page `page`. */
  pageMapcount(page: number): number {
    const x = this.pages();
    if (x !== null) return x.mapcount![page];
    if (page === 0) return this.inlineMapcount();
    throw new RangeError(`folio ${this.id} has no page ${page}`);
  }

  /** Adds `delta` to the mapcount of page `page`. */
  addPageMapcount(page: number, delta: number): void {
    const x = this.pages();
    if (x !== null) x.mapcount![page] += delta;
    else if (page !== 0) throw new RangeError(`folio ${this.id} has no page ${page}`);
    else {
      const v = this.inlineMapcount() + delta;
      if (v >= 0 && v <= MC_MAX && (v | 0) === v) {
        this.#bits = (this.#bits & ~MC_MASK) | (v << MC_SHIFT);
      } else this.arrays().mapcount![0] = v;
    }
  }

  /** The mapcount kept in the flag word (while there are no per-page arrays). */
  private inlineMapcount(): number {
    return (this.#bits & MC_MASK) >> MC_SHIFT;
  }

  /** Sum of the pages' mapcounts. */
  totalMapcount(): number {
    const x = this.pages();
    if (x === null) return this.inlineMapcount();
    let n = 0;
    for (const m of x.mapcount!) n += m;
    return n;
  }

  /** Largest mapcount of any page. */
  maxPageMapcount(): number {
    const x = this.pages();
    if (x === null) return this.inlineMapcount();
    let n = x.mapcount![0];
    for (const m of x.mapcount!) if (m > n) n = m;
    return n;
  }

  /** Whether any page's mapcount is not 0. */
  mapped(): boolean {
    const x = this.pages();
    if (x === null) return (this.#bits & MC_MASK) !== 0;
    for (const m of x.mapcount!) if (m !== 0) return true;
    return false;
  }

  /** PageAnonExclusive of page `page`. */
  pageAnonExclusive(page: number): boolean {
    const x = this.pages();
    if (x !== null) return x.anonExclusive![page];
    if (page === 0) return (this.#bits & EXCL0) !== 0;
    throw new RangeError(`folio ${this.id} has no page ${page}`);
  }

  /** Sets PageAnonExclusive of page `page`. */
  setPageAnonExclusive(page: number, exclusive: boolean): void {
    const x = this.pages();
    if (x !== null) x.anonExclusive![page] = exclusive;
    else if (page !== 0) throw new RangeError(`folio ${this.id} has no page ${page}`);
    else this.#bits = exclusive ? this.#bits | EXCL0 : this.#bits & ~EXCL0;
  }

  /**
   * `split_folio`'s head: the folio keeps its first page only (mapcount and PageAnonExclusive of
   * page 0 stay; the arrays, where an outside script may hold them, are cut to one entry).
   */
  truncateToFirstPage(): void {
    const x = this.pages();
    if (x === null) return;
    x.mapcount!.length = 1;
    x.anonExclusive!.length = 1;
  }

  /** True for anonymous folios; false for page-cache (file/shmem) folios. */
  get anon(): boolean {
    return (this.#bits & ANON) !== 0;
  }

  /** DMA-pinned. */
  get pinned(): boolean {
    return (this.#bits & PINNED) !== 0;
  }
  set pinned(v: boolean) {
    this.#bits = v ? this.#bits | PINNED : this.#bits & ~PINNED;
  }

  /** KSM folio (opaque to anon rmap schemes). */
  get ksm(): boolean {
    return (this.#bits & KSM) !== 0;
  }
  set ksm(v: boolean) {
    this.#bits = v ? this.#bits | KSM : this.#bits & ~KSM;
  }

  /** Freed (no longer usable). */
  get freed(): boolean {
    return (this.#bits & FREED) !== 0;
  }
  set freed(v: boolean) {
    this.#bits = v ? this.#bits | FREED : this.#bits & ~FREED;
  }

  /** On the anon LRU (see {@link FolioLru}). */
  get onLru(): boolean {
    return (this.#bits & ON_LRU) !== 0;
  }
  set onLru(v: boolean) {
    this.#bits = v ? this.#bits | ON_LRU : this.#bits & ~ON_LRU;
  }

  /** Linked into the LRU's chain (see {@link FolioLru}). */
  get inLruChain(): boolean {
    return (this.#bits & IN_CHAIN) !== 0;
  }
  set inLruChain(v: boolean) {
    this.#bits = v ? this.#bits | IN_CHAIN : this.#bits & ~IN_CHAIN;
  }

  /** Ground truth kept by the oracle: the folio is its own mapping set. */
  get mappers(): MapperSet {
    return this;
  }
}

/**
 * The anon LRU: a list threaded through the folios (oldest first) by one link each
 * (`folio->lru`, a list_head embedded in the folio in the kernel; singly linked here, to save a
 * field), with the iteration and membership semantics of the `Set` it replaces: `add` appends a
 * folio not on the list (and ignores one that is), `delete` takes it off, iteration runs oldest
 * to youngest and sees folios appended during it. A folio deleted from the middle stays linked,
 * marked off the list ({@link KernelFolio.onLru}), until a sweep unlinks the deleted ones, which
 * runs when they outnumber the folios on the list (so it costs O(1) per delete); one deleted at
 * the head is unlinked at once.
 *
 * @example Usage
 * ```ts
 * import { FolioLru, KernelFolio } from "./folio_object.ts";
 * const lru = new FolioLru();
 * const a = new KernelFolio(1, 1, true, 0, null), b = new KernelFolio(2, 1, true, 1, null);
 * lru.add(a);
 * lru.add(b);
 * lru.delete(a);
 * lru.add(a);
 * if ([...lru].map((f) => f.id).join() !== "2,1" || lru.size !== 2) throw new Error();
 * ```
 */
export class FolioLru implements Iterable<KernelFolio> {
  /** First folio of the chain (on the list, unless iterations kept a deleted one there). */
  #head: KernelFolio | null = null;
  /** Last folio of the chain. */
  #tail: KernelFolio | null = null;
  /** Folios on the list. */
  #size = 0;
  /** Folios in the chain that are off the list. */
  #dead = 0;
  /** Iterations in progress (the chain is not unlinked meanwhile). */
  #iterating = 0;

  /** Number of folios on the list. */
  get size(): number {
    return this.#size;
  }

  /** Whether `f` is on the list. */
  has(f: KernelFolio): boolean {
    return f.onLru;
  }

  /** Appends `f` at the young end, unless it is on the list already. */
  add(f: KernelFolio): this {
    if (f.onLru) return this;
    if (f.inLruChain) this.#unlinkDeleted(f);
    f.onLru = true;
    this.#append(f);
    this.#size++;
    return this;
  }

  /** Links `f` (in no chain) at the tail. */
  #append(f: KernelFolio): void {
    f.lruNext = null;
    f.inLruChain = true;
    if (this.#tail !== null) this.#tail.lruNext = f;
    else this.#head = f;
    this.#tail = f;
  }

  /** Takes `f` off the list; returns whether it was on it. */
  delete(f: KernelFolio): boolean {
    if (!f.onLru) return false;
    f.onLru = false;
    this.#size--;
    this.#dead++;
    if (this.#iterating === 0) {
      if (f === this.#head) this.#popDeadHead();
      if (this.#dead > this.#size + 64) this.#sweep();
    }
    return true;
  }

  /** Unlinks the deleted folios at the head of the chain. */
  #popDeadHead(): void {
    let h = this.#head;
    while (h !== null && !h.onLru) {
      const next = h.lruNext;
      h.lruNext = null;
      h.inLruChain = false;
      this.#dead--;
      h = next;
    }
    this.#head = h;
    if (h === null) this.#tail = null;
  }

  /** Unlinks every deleted folio. */
  #sweep(): void {
    this.#popDeadHead();
    const head = this.#head;
    if (head !== null) this.#tail = this.#unlinkAfter(head);
  }

  /**
   * Unlinks the deleted folios after `prev` (on the list); returns the last folio left. Apart from
   * {@link FolioLru.#sweep} (a speed measure only): compiled during its first long walk, its code
   * ends in a return.
   */
  #unlinkAfter(prev: KernelFolio): KernelFolio {
    let f = prev.lruNext;
    while (f !== null) {
      const next = f.lruNext;
      if (f.onLru) prev = f;
      else {
        prev.lruNext = next;
        f.lruNext = null;
        f.inLruChain = false;
        this.#dead--;
      }
      f = next;
    }
    return prev;
  }

  /** Unlinks deleted folio `f` (a walk from the head: only for a re-add outside the kernel). */
  #unlinkDeleted(f: KernelFolio): void {
    let prev: KernelFolio | null = null;
    for (let g = this.#head; g !== f; g = g!.lruNext) prev = g;
    const next = f.lruNext;
    if (prev === null) this.#head = next;
    else prev.lruNext = next;
    if (this.#tail === f) this.#tail = prev;
    f.lruNext = null;
    f.inLruChain = false;
    this.#dead--;
  }

  /**
   * Moves the `n` oldest folios (fewer when the list is shorter) to the young end, in order,
   * and returns them: the same as deleting and re-adding each.
   */
  rotateOldest(n: number): KernelFolio[] {
    const out: KernelFolio[] = [];
    if (this.#iterating !== 0) {
      for (const f of this) {
        if (out.length >= n) break;
        out.push(f);
      }
      for (const f of out) {
        this.delete(f);
        this.add(f);
      }
      return out;
    }
    let f = this.#head;
    while (f !== null && out.length < n) {
      const next = f.lruNext;
      f.lruNext = null;
      f.inLruChain = false;
      if (f.onLru) out.push(f);
      else this.#dead--;
      f = next;
    }
    this.#head = f;
    if (f === null) this.#tail = null;
    for (const g of out) this.#append(g);
    return out;
  }

  /** Folios oldest first (like a `Set`: the current folio may be deleted during the walk). */
  *[Symbol.iterator](): IterableIterator<KernelFolio> {
    this.#iterating++;
    try {
      for (let f = this.#head; f !== null; f = f.lruNext) if (f.onLru) yield f;
    } finally {
      this.#iterating--;
    }
  }
}
