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

import { type Exec, type Lock, newLock, type WorkKind } from "./machine/exec.ts";
import {
  SLAB_LIST_LOCK_CLASS,
  type SlabSlowPathCounters,
  type SlabSlowPathParams,
  type SlabWork,
} from "./slab_slow_path.ts";

/**
 * Whether an allocation may sleep: `"kernel"` (`GFP_KERNEL`, may enter direct reclaim) or
 * `"nowait"` (`GFP_NOWAIT`, fails where it would need reclaim).
 */
export type SlabGfp = "kernel" | "nowait";

/** One cache's accounting, reached with one look-up by name on the hot paths. */
interface CacheState {
  /** Its counters (what {@link Slab.stats} returns). */
  readonly stats: SlabCacheStats;
  /** Its slot size (kept equal to the `sizes` record). */
  size: number;
  /** Whether it is in the {@link Slab.trackGroup} group. */
  grouped: boolean;
}

interface SlowState {
  cpuFree: number;
  nodeFree: number;
  lock: Lock | null;
  counters: SlabSlowPathCounters;
}

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

/**
 * KSM's caches (mm/ksm.c). Accounted like the others but kept out of {@link SLAB_CACHES}, which
 * the results document lists, so that runs without KSM stay byte-identical; read them with
 * {@link Slab.live} / {@link Slab.stats}.
 */
export const KSM_SLAB_CACHES = ["ksm_mm_slot", "ksm_rmap_item", "ksm_stable_node"] as const;

/** One slab cache name (see {@link SLAB_CACHES} and {@link KSM_SLAB_CACHES}). */
export type SlabCache = typeof SLAB_CACHES[number] | typeof KSM_SLAB_CACHES[number];

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
 * - `ksm_mm_slot` 48, `ksm_rmap_item` 64, `ksm_stable_node` 64: `object_size` of
 *   /sys/kernel/slab/<cache>/ on the 6.18.44 x86_64 host (2026-11-30) [C].
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
  ksm_mm_slot: 48,
  ksm_rmap_item: 64,
  ksm_stable_node: 64,
};

function checkSize(cache: string, v: number): void {
  if (!Number.isInteger(v) || v < 0) {
    throw new RangeError(`Slab size of ${cache} must be a non-negative integer, got ${v}`);
  }
}

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
  /**
   * Objects their owner freed that stay allocated because a reference still pins them (see
   * {@link Slab.retain}); counted in `live`, not in `allocs` or `frees` again.
   */
  retained: number;
}

/** Point-in-time live counts and bytes, per cache. */
export interface SlabSnapshot {
  /** Live objects per cache of {@link SLAB_CACHES} (KSM's caches count in `totalBytes` only). */
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
  readonly #sizes: Record<SlabCache, number>;
  readonly #stats: Record<SlabCache, SlabCacheStats>;
  readonly #caches: Record<SlabCache, CacheState>;
  #exec: Exec | null;
  readonly #slow: SlabSlowPathParams | null;
  readonly #slowState = new Map<SlabCache, SlowState>();
  /** The memcg per-CPU object stock (one objcg for every accounted cache): bytes pre-charged. */
  #stockBytes = 0;
  #stockRefills = 0;
  #totalBytes = 0;
  #peakTotalBytes = 0;
  #group: ReadonlySet<SlabCache> | null = null;
  #groupBytes = 0;
  #groupPeakBytes = 0;

  /**
   * Creates accounting with the given sizes (defaults: {@link DEFAULT_SLAB_SIZES}). With
   * `slowPath` (see `resolveSlabSlowPath` in `slab_slow_path.ts`) allocations and frees also
   * charge SLUB's slow paths; without it (the default) every allocation is a fast path.
   */
  constructor(
    sizes: Partial<Record<SlabCache, number>> = {},
    exec: Exec | null = null,
    slowPath: SlabSlowPathParams | null = null,
  ) {
    this.#slow = slowPath;
    this.#sizes = { ...DEFAULT_SLAB_SIZES, ...sizes };
    for (const [k, v] of Object.entries(this.#sizes)) checkSize(k, v);
    this.#stats = Object.fromEntries(
      [...SLAB_CACHES, ...KSM_SLAB_CACHES].map((
        c,
      ) => [c, { live: 0, peak: 0, allocs: 0, frees: 0, pendingRcu: 0, retained: 0 }]),
    ) as Record<SlabCache, SlabCacheStats>;
    this.#caches = Object.fromEntries(
      Object.entries(this.#stats).map(([c, stats]) => [
        c,
        { stats, size: this.#sizes[c as SlabCache], grouped: false },
      ]),
    ) as Record<SlabCache, CacheState>;
    this.#exec = exec;
  }

  /** Slot sizes in use. */
  get sizes(): Readonly<Record<SlabCache, number>> {
    return this.#sizes;
  }

  /**
   * Changes the slot size of a cache before its first allocation: a scheme whose design grows a
   * struct (for example `CONFIG_VMA_REF` adding a refcount to `vm_area_struct`) sets the size it
   * implies when it is attached. Throws once the cache has allocated anything.
   */
  setSize(cache: SlabCache, bytes: number): void {
    checkSize(cache, bytes);
    if (this.#stats[cache].allocs !== 0) {
      throw new Error(`Slab size of ${cache} cannot change after its first allocation`);
    }
    this.#sizes[cache] = bytes;
    this.#caches[cache].size = bytes;
  }

  /** Sets the {@link Exec} charged for allocation and free work. */
  setExec(exec: Exec | null): void {
    this.#exec = exec;
  }

  /**
   * Allocates `n` objects. Returns false, allocating nothing, only for a `"nowait"` allocation
   * whose slow path would have needed direct reclaim (slow-path model only).
   */
  alloc(cache: SlabCache, n = 1, gfp: SlabGfp = "kernel"): boolean {
    const c = this.#caches[cache];
    if (this.#slow && this.#exec && c.size > 0) {
      for (let i = 0; i < n; i++) {
        if (!this.#slowAlloc(cache, gfp)) {
          if (i > 0) this.#commitAlloc(c, i);
          return false;
        }
      }
    }
    this.#commitAlloc(c, n);
    return true;
  }

  #commitAlloc(c: CacheState, n: number): void {
    const s = c.stats;
    s.live += n;
    s.allocs += n;
    if (s.live > s.peak) s.peak = s.live;
    const bytes = n * c.size;
    this.#totalBytes += bytes;
    if (this.#totalBytes > this.#peakTotalBytes) this.#peakTotalBytes = this.#totalBytes;
    if (c.grouped) {
      this.#groupBytes += bytes;
      if (this.#groupBytes > this.#groupPeakBytes) this.#groupPeakBytes = this.#groupBytes;
    }
    this.#exec?.work("slab_alloc", n);
  }

  /** Slow-path event counts of one cache, or null without the slow-path model. */
  slowPathCounters(cache: SlabCache): Readonly<SlabSlowPathCounters> | null {
    if (!this.#slow) return null;
    return this.#state(cache).counters;
  }

  #state(cache: SlabCache): SlowState {
    let st = this.#slowState.get(cache);
    if (!st) {
      st = {
        cpuFree: 0,
        nodeFree: 0,
        lock: null,
        counters: {
          refills: 0,
          newSlabs: 0,
          discards: 0,
          memcgStockRefills: 0,
          memcgPageCounterCharges: 0,
          reclaims: 0,
          nowaitFailures: 0,
          slabs: 0,
          peakSlabs: 0,
        },
      };
      this.#slowState.set(cache, st);
    }
    return st;
  }

  #charge(w: SlabWork, times = 1): void {
    for (const [k, u] of Object.entries(w)) this.#exec!.work(k as WorkKind, u * times);
  }

  #listLock(st: SlowState): Lock {
    if (!st.lock) st.lock = newLock(SLAB_LIST_LOCK_CLASS, "spinlock");
    return st.lock;
  }

  /** One object through the slow-path model: refill, new slab, memcg charge. */
  #slowAlloc(cache: SlabCache, gfp: SlabGfp): boolean {
    const p = this.#slow!;
    const exec = this.#exec!;
    const st = this.#state(cache);
    const g = p.geometry[cache] ?? { objsPerSlab: 1, accounted: false, cpuPartial: 0 };
    const c = st.counters;
    if (st.cpuFree === 0) {
      if (st.nodeFree > 0) {
        const lock = this.#listLock(st);
        exec.acquire(lock, "write");
        this.#charge(p.refillWork);
        exec.release(lock, "write");
        const take = Math.min(g.objsPerSlab, st.nodeFree);
        st.nodeFree -= take;
        st.cpuFree = take;
        c.refills++;
      } else {
        const reclaim = p.reclaimEveryNewSlabs > 0 &&
          (c.newSlabs + 1) % p.reclaimEveryNewSlabs === 0;
        if (reclaim && gfp === "nowait") {
          c.nowaitFailures++;
          return false;
        }
        if (reclaim) {
          this.#charge(p.reclaimWork);
          c.reclaims++;
        }
        this.#charge(p.newSlabWork);
        exec.work("list_op", g.objsPerSlab);
        st.cpuFree = g.objsPerSlab;
        c.newSlabs++;
        c.slabs++;
        if (c.slabs > c.peakSlabs) c.peakSlabs = c.slabs;
      }
    }
    st.cpuFree--;
    if (g.accounted) {
      const size = this.#sizes[cache];
      if (this.#stockBytes < size) {
        this.#stockBytes += p.memcgStockBytes;
        this.#charge(p.memcgStockRefillWork);
        c.memcgStockRefills++;
        if (this.#stockRefills++ % p.memcgChargeBatchPages === 0) {
          this.#charge(p.memcgPageCounterWork, p.memcgHierarchyDepth);
          c.memcgPageCounterCharges++;
        }
      }
      this.#stockBytes -= size;
    }
    return true;
  }

  /** One freed object through the slow-path model: back to its slab; discard empty slabs. */
  #slowFree(cache: SlabCache): void {
    const p = this.#slow!;
    const st = this.#state(cache);
    const g = p.geometry[cache] ?? { objsPerSlab: 1, accounted: false, cpuPartial: 0 };
    st.nodeFree++;
    // refill_obj_stock: the bytes go back to the stock; whole pages beyond one are uncharged.
    if (g.accounted) {
      this.#stockBytes += this.#sizes[cache];
      if (this.#stockBytes > p.memcgStockBytes) this.#stockBytes %= p.memcgStockBytes;
    }
    if (st.nodeFree > (p.minPartial + 1) * g.objsPerSlab + g.cpuPartial * p.cpus) {
      const exec = this.#exec!;
      const lock = this.#listLock(st);
      exec.acquire(lock, "write");
      this.#charge(p.discardWork);
      exec.release(lock, "write");
      st.nodeFree -= g.objsPerSlab;
      st.counters.discards++;
      st.counters.slabs--;
    }
  }

  /** Frees objects at once. */
  free(cache: SlabCache, n = 1): void {
    const c = this.#caches[cache];
    const s = c.stats;
    if (s.live < n) throw new Error(`Slab underflow in ${cache}: freeing ${n} of ${s.live}`);
    s.live -= n;
    s.frees += n;
    this.#totalBytes -= n * c.size;
    if (c.grouped) this.#groupBytes -= n * c.size;
    this.#exec?.work("slab_free", n);
    if (this.#slow && this.#exec && c.size > 0) {
      for (let i = 0; i < n; i++) this.#slowFree(cache);
    }
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

  /**
   * An object its owner freed (or is freeing in the same operation) stays allocated because a
   * reference pins it — for example a `vm_area_struct` detached by munmap but still referenced
   * through `vma_get` (ANON_VMA_LAZY's `CONFIG_VMA_REF`). `live` and the bytes count it again;
   * `allocs`, `frees` and the peaks do not change (the object was already counted live when the
   * owner's free ran). {@link Slab.releaseRetained} drops it on the last reference.
   */
  retain(cache: SlabCache, n = 1): void {
    const s = this.#stats[cache];
    s.retained += n;
    s.live += n;
    this.#totalBytes += n * this.#sizes[cache];
    // Retained objects exist only because of the scheme's references: rmap bytes, whatever cache.
    if (this.#group) {
      this.#groupBytes += n * this.#sizes[cache];
      if (this.#groupBytes > this.#groupPeakBytes) this.#groupPeakBytes = this.#groupBytes;
    }
  }

  /** The last reference to `n` retained objects was dropped: they are freed now. */
  releaseRetained(cache: SlabCache, n = 1): void {
    const s = this.#stats[cache];
    if (s.retained < n) throw new Error(`Slab underflow in ${cache}: releasing ${n} retained`);
    s.retained -= n;
    s.live -= n;
    this.#totalBytes -= n * this.#sizes[cache];
    if (this.#group) this.#groupBytes -= n * this.#sizes[cache];
    this.#exec?.work("slab_free", n);
    if (this.#slow && this.#exec && this.#sizes[cache] > 0) {
      for (let i = 0; i < n; i++) this.#slowFree(cache);
    }
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
   * Objects of any cache that only a scheme's reference keeps alive ({@link Slab.retain}, e.g.
   * ANON_VMA_LAZY's pinned detached VMAs) count in the group too: they are memory the scheme adds.
   * One group per slab; calling again replaces it and restarts the peak at the current bytes.
   */
  trackGroup(caches: readonly SlabCache[]): void {
    this.#group = new Set(caches);
    for (const [c, st] of Object.entries(this.#caches)) {
      st.grouped = this.#group.has(c as SlabCache);
    }
    this.#groupBytes = 0;
    for (const c of this.#group) this.#groupBytes += this.#stats[c].live * this.sizes[c];
    for (const c of SLAB_CACHES) {
      if (!this.#group.has(c)) this.#groupBytes += this.#stats[c].retained * this.sizes[c];
    }
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
      bytes[c] = this.#stats[c].live * this.#sizes[c];
    }
    return { objects, bytes, totalBytes: this.#totalBytes };
  }
}
