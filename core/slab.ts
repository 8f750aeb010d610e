/**
 * Slab accounting with the object sizes of Linux on x86_64.
 *
 * Slot sizes are the `objsize` column of `/proc/slabinfo` measured on Linux 6.18.44 x86_64
 * (reference §1.6 [C]). `cow_context` and `cow_remap_array` are not in any released kernel; their
 * sizes are assumptions of the CoW-context model (reference §10.4 [U]) and are parameters.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import type { Exec } from "./machine/exec.ts";

/** Slab caches the simulator accounts. */
export const SLAB_CACHES = [
  "vm_area_struct",
  "anon_vma",
  "anon_vma_chain",
  "maple_node",
  "mm_struct",
  "cow_context",
  "cow_remap_entry",
  "cow_remap_array",
] as const;

/** One slab cache name (see {@link SLAB_CACHES}). */
export type SlabCache = typeof SLAB_CACHES[number];

/**
 * Default slot sizes in bytes.
 *
 * - `vm_area_struct` 192, `anon_vma` 104, `anon_vma_chain` 64, `maple_node` 256, `mm_struct` 1600:
 *   `/proc/slabinfo` on Linux 6.18.44 x86_64 (reference §1.6 [C]).
 * - `cow_context` 128: estimate of the PoC's struct (mm, parent, refcount, list heads, maple tree
 *   root, lock, rcu head) rounded to kmalloc-128 (reference §10.4 [U]).
 * - `cow_remap_entry` 0: remap entries live inside maple-tree nodes; the nodes are counted as
 *   `maple_node` by the CoW-context model, so an entry adds no slab object of its own [U].
 * - `cow_remap_array` 64: a sorted offset array when one pgoff range has several offsets,
 *   kmalloc-64 for up to 6 offsets [U].
 */
export const DEFAULT_SLAB_SIZES: Readonly<Record<SlabCache, number>> = {
  vm_area_struct: 192,
  anon_vma: 104,
  anon_vma_chain: 64,
  maple_node: 256,
  mm_struct: 1600,
  cow_context: 128,
  cow_remap_entry: 0,
  cow_remap_array: 64,
};

/** Counters of one cache. */
export interface SlabCacheStats {
  /** Live objects now. */
  live: number;
  /** Largest number of live objects seen. */
  peak: number;
  /** Objects allocated so far. */
  allocs: number;
  /** Objects freed so far. */
  frees: number;
  /** Objects freed by RCU callback that are waiting for their grace period. */
  pendingRcu: number;
}

/** Point-in-time live counts and bytes, per cache. */
export interface SlabSnapshot {
  /** Live objects per cache. */
  objects: Record<SlabCache, number>;
  /** Live bytes per cache (objects × slot size). */
  bytes: Record<SlabCache, number>;
  /** Sum of bytes over every cache. */
  totalBytes: number;
}

/**
 * Slab accounting for one simulated machine.
 *
 * @example Usage
 * ```ts
 * import { Slab } from "./slab.ts";
 * const slab = new Slab();
 * slab.alloc("anon_vma");
 * slab.alloc("anon_vma_chain");
 * if (slab.snapshot().totalBytes !== 104 + 64) throw new Error();
 * ```
 */
export class Slab {
  /** Slot sizes in use. */
  readonly sizes: Readonly<Record<SlabCache, number>>;
  readonly #stats: Record<SlabCache, SlabCacheStats>;
  #exec: Exec | null;
  #totalBytes = 0;
  #peakTotalBytes = 0;
  #group: ReadonlySet<SlabCache> | null = null;
  #groupBytes = 0;
  #groupPeakBytes = 0;

  /** Creates accounting with the given sizes (defaults: {@link DEFAULT_SLAB_SIZES}). */
  constructor(sizes: Partial<Record<SlabCache, number>> = {}, exec: Exec | null = null) {
    this.sizes = { ...DEFAULT_SLAB_SIZES, ...sizes };
    for (const [k, v] of Object.entries(this.sizes)) {
      if (!Number.isInteger(v) || v < 0) {
        throw new RangeError(`Slab size of ${k} must be a non-negative integer, got ${v}`);
      }
    }
    this.#stats = Object.fromEntries(
      SLAB_CACHES.map((c) => [c, { live: 0, peak: 0, allocs: 0, frees: 0, pendingRcu: 0 }]),
    ) as Record<SlabCache, SlabCacheStats>;
    this.#exec = exec;
  }

  /** Sets the {@link Exec} charged for allocation and free work. */
  setExec(exec: Exec | null): void {
    this.#exec = exec;
  }

  /** Allocates one object. */
  alloc(cache: SlabCache, n = 1): void {
    const s = this.#stats[cache];
    s.live += n;
    s.allocs += n;
    if (s.live > s.peak) s.peak = s.live;
    this.#totalBytes += n * this.sizes[cache];
    if (this.#totalBytes > this.#peakTotalBytes) this.#peakTotalBytes = this.#totalBytes;
    if (this.#group?.has(cache)) {
      this.#groupBytes += n * this.sizes[cache];
      if (this.#groupBytes > this.#groupPeakBytes) this.#groupPeakBytes = this.#groupBytes;
    }
    this.#exec?.work("slab_alloc", n);
  }

  /** Frees objects at once. */
  free(cache: SlabCache, n = 1): void {
    const s = this.#stats[cache];
    if (s.live < n) throw new Error(`Slab underflow in ${cache}: freeing ${n} of ${s.live}`);
    s.live -= n;
    s.frees += n;
    this.#totalBytes -= n * this.sizes[cache];
    if (this.#group?.has(cache)) this.#groupBytes -= n * this.sizes[cache];
    this.#exec?.work("slab_free", n);
  }

  /**
   * Frees objects after an RCU grace period: they stay live (and counted in bytes) until the
   * grace period ends, as `kfree_rcu` and `SLAB_TYPESAFE_BY_RCU` frees do.
   */
  freeRcu(cache: SlabCache, n = 1): void {
    const s = this.#stats[cache];
    s.pendingRcu += n;
    const exec = this.#exec;
    const done = (): void => {
      s.pendingRcu -= n;
      this.free(cache, n);
    };
    if (exec) exec.callRcu(done);
    else done();
  }

  /** Adjusts a cache to an exact live count (used for estimated caches such as maple_node). */
  setLive(cache: SlabCache, live: number): void {
    const cur = this.#stats[cache].live;
    if (live > cur) this.alloc(cache, live - cur);
    else if (live < cur) this.free(cache, cur - live);
  }

  /** Counters of one cache. */
  stats(cache: SlabCache): Readonly<SlabCacheStats> {
    return this.#stats[cache];
  }

  /** Live objects of one cache. */
  live(cache: SlabCache): number {
    return this.#stats[cache].live;
  }

  /** Largest total of live bytes seen. */
  get peakTotalBytes(): number {
    return this.#peakTotalBytes;
  }

  /**
   * From now on, tracks the live bytes of a group of caches (e.g. the caches a scheme owns) and
   * their high-water mark: the largest sum at one moment, not the sum of each cache's own peak.
   * One group per slab; calling again replaces it and restarts the peak at the current bytes.
   */
  trackGroup(caches: readonly SlabCache[]): void {
    this.#group = new Set(caches);
    this.#groupBytes = 0;
    for (const c of this.#group) this.#groupBytes += this.#stats[c].live * this.sizes[c];
    this.#groupPeakBytes = this.#groupBytes;
  }

  /** Live bytes of the {@link trackGroup} caches now (0 without a group). */
  get groupBytes(): number {
    return this.#groupBytes;
  }

  /** Largest live bytes of the {@link trackGroup} caches at one moment (0 without a group). */
  get groupPeakBytes(): number {
    return this.#groupPeakBytes;
  }

  /** Live objects and bytes per cache now. */
  snapshot(): SlabSnapshot {
    const objects = {} as Record<SlabCache, number>;
    const bytes = {} as Record<SlabCache, number>;
    for (const c of SLAB_CACHES) {
      objects[c] = this.#stats[c].live;
      bytes[c] = this.#stats[c].live * this.sizes[c];
    }
    return { objects, bytes, totalBytes: this.#totalBytes };
  }
}
