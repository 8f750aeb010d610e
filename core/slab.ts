/**
 * Slab accounting with the object sizes of Linux on x86_64.
 *
 * Slot sizes are the `objsize` column of `/proc/slabinfo` measured on Linux 6.18.44 x86_64
 * (reference §1.6 [C]). The `cow_*` caches are not in any released kernel: their sizes are derived
 * from the proof of concept's struct definitions (reference §10.4 [D]) and are parameters.
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
  "cow_remap_node",
  "cow_remap_array",
  "cow_remap_array_64",
  "cow_remap_array_96",
  "cow_remap_array_192",
  "cow_remap_array_512",
  "cow_remap_array_1k",
] as const;

/** One slab cache name (see {@link SLAB_CACHES}). */
export type SlabCache = typeof SLAB_CACHES[number];

/**
 * Default slot sizes in bytes.
 *
 * - `vm_area_struct` 192, `anon_vma` 104, `anon_vma_chain` 64, `maple_node` 256, `mm_struct` 1600:
 *   `/proc/slabinfo` on Linux 6.18.44 x86_64 (reference §1.6 [C]).
 * - `cow_context` 96: `struct cow_context` of the proof of concept (ljs/linux project/cow-context,
 *   include/linux/mm_types.h; `concurrent_unmap_lock` added at a4ac1966, see `mm_init_cow_context`
 *   in mm/cow_context.c), x86_64 without lock debugging: `refcnt` 4 (+4 padding), `mm` 8,
 *   `remap_mt` 16 (`struct maple_tree`: spinlock/lockdep_map_p union 4, `ma_flags` 4, `ma_root`
 *   8), `parent` 8, `children` 16, `siblings` 16, `rcu` 16, `list_write_lock` 4,
 *   `concurrent_unmap_lock` 4 = 96 bytes, allocated by `kzalloc_obj` (`mm_init_cow_context`) from
 *   kmalloc-96 [D].
 * - `cow_remap_entry` 0: a remap entry is a tagged word stored in a maple-tree slot; it adds no
 *   object of its own [D].
 * - `cow_remap_node` 256: the remap tables' maple-tree nodes, `sizeof(struct maple_node)` (the
 *   `maple_node` kmem_cache of lib/maple_tree.c). In the kernel they share that cache with VMA
 *   trees; the model counts them apart so a scheme's own bytes can be told from the VMA trees' [D].
 * - `cow_remap_array*`: the PoC's `struct dynarray` (`int nr, cap; void *contents[cap]`, 8 + 8·cap
 *   bytes, `kmalloc_flex` in `__dynarray_dup`, `krealloc` in `__dynarray_expand`), one cache per
 *   kmalloc size class its doubling growth reaches: capacity 2 → `cow_remap_array` (24 B,
 *   kmalloc-32), 4 → `_64` (40 B), 8 → `_96` (72 B), 16 → `_192` (136 B), 32 → `_512` (264 B),
 *   64 → `_1k` (520 B) [D].
 */
export const DEFAULT_SLAB_SIZES: Readonly<Record<SlabCache, number>> = {
  vm_area_struct: 192,
  anon_vma: 104,
  anon_vma_chain: 64,
  maple_node: 256,
  mm_struct: 1600,
  cow_context: 96,
  cow_remap_entry: 0,
  cow_remap_node: 256,
  cow_remap_array: 32,
  cow_remap_array_64: 64,
  cow_remap_array_96: 96,
  cow_remap_array_192: 192,
  cow_remap_array_512: 512,
  cow_remap_array_1k: 1024,
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
    this.#exec?.work("slab_alloc", n);
  }

  /** Frees objects at once. */
  free(cache: SlabCache, n = 1): void {
    const s = this.#stats[cache];
    if (s.live < n) throw new Error(`Slab underflow in ${cache}: freeing ${n} of ${s.live}`);
    s.live -= n;
    s.frees += n;
    this.#totalBytes -= n * this.sizes[cache];
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
