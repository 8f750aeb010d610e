/**
 * The kernel's folio object and the anon LRU list, laid out for a small heap: a folio is its own
 * oracle {@link MapperSet} (the one mapping of most folios is two fields of the folio), carries
 * its index in the live anon list and its LRU links (`folio->lru`, a list_head embedded in the
 * folio, as in the kernel) instead of entries in a `Map` and a `Set`.
 *
 * Scheme hooks called here: none.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import { MapperSet } from "../oracle.ts";
import type { Folio, SimFile } from "./types.ts";

const ANON = 1;
const PINNED = 2;
const KSM = 4;
const FREED = 8;

/**
 * A folio as the kernel core allocates it: the {@link Folio} fields, its oracle mappings, its
 * slot in the live anon list and its LRU links.
 *
 * @example Usage
 * ```ts
 * import { KernelFolio } from "./folio_object.ts";
 * const f = new KernelFolio(1, 1, true, 0, null);
 * if (f.mappers !== f || f.mapcount[0] !== 0) throw new Error();
 * ```
 */
export class KernelFolio extends MapperSet implements Folio {
  /** Unique id (allocation order). */
  readonly id: number;
  /** Number of pages (1 for order 0). */
  nrPages: number;
  /** `folio->index`. */
  index: number;
  /** The file of a page-cache folio. */
  readonly file: SimFile | null;
  /** Per-page mapcount. */
  readonly mapcount: number[];
  /** Per-page PageAnonExclusive. */
  readonly anonExclusive: boolean[];
  /** `anon`, `pinned`, `ksm` and `freed`, one bit each (read through the getters). */
  #bits: number;
  /** Scheme-owned rmap state. */
  rmap: unknown = null;
  /** Index in the kernel's live anon list, -1 when not in it. */
  liveSlot = -1;
  /** Older neighbour on the LRU (null: oldest, or not on it). */
  lruPrev: KernelFolio | null = null;
  /** Younger neighbour on the LRU (null: youngest, or not on it). */
  lruNext: KernelFolio | null = null;

  /** A folio of `nrPages` pages with zero mapcounts, not exclusive, not on any list. */
  constructor(id: number, nrPages: number, anon: boolean, index: number, file: SimFile | null) {
    super();
    this.id = id;
    this.nrPages = nrPages;
    this.#bits = anon ? ANON : 0;
    this.index = index;
    this.file = file;
    // Literals for the common small folio: packed, exact-size arrays (no holey backing store).
    this.mapcount = nrPages === 1 ? [0] : new Array(nrPages).fill(0);
    this.anonExclusive = nrPages === 1 ? [false] : new Array(nrPages).fill(false);
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

  /** Ground truth kept by the oracle: the folio is its own mapping set. */
  get mappers(): MapperSet {
    return this;
  }
}

/**
 * The anon LRU: a doubly linked list threaded through the folios (oldest first), with the
 * iteration and membership semantics of the `Set` it replaces: `add` appends a folio not on the
 * list (and ignores one that is), `delete` unlinks, iteration runs oldest to youngest and sees
 * folios appended during it.
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
  #head: KernelFolio | null = null;
  #tail: KernelFolio | null = null;
  #size = 0;

  /** Number of folios on the list. */
  get size(): number {
    return this.#size;
  }

  /** Whether `f` is on the list. */
  has(f: KernelFolio): boolean {
    return f.lruPrev !== null || this.#head === f;
  }

  /** Appends `f` at the young end, unless it is on the list already. */
  add(f: KernelFolio): this {
    if (this.has(f)) return this;
    f.lruPrev = this.#tail;
    f.lruNext = null;
    if (this.#tail !== null) this.#tail.lruNext = f;
    else this.#head = f;
    this.#tail = f;
    this.#size++;
    return this;
  }

  /** Unlinks `f`; returns whether it was on the list. */
  delete(f: KernelFolio): boolean {
    if (!this.has(f)) return false;
    const p = f.lruPrev, n = f.lruNext;
    if (p !== null) p.lruNext = n;
    else this.#head = n;
    if (n !== null) n.lruPrev = p;
    else this.#tail = p;
    f.lruPrev = null;
    f.lruNext = null;
    this.#size--;
    return true;
  }

  /** Folios oldest first (like a `Set`: the current folio may be deleted during the walk). */
  *[Symbol.iterator](): IterableIterator<KernelFolio> {
    let f = this.#head;
    while (f !== null) {
      const next = f.lruNext;
      yield f;
      f = this.has(f) ? f.lruNext : next;
    }
  }
}
