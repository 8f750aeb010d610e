/**
 * The slow paths of the SLUB allocator (mm/slub.c, Linux 6.18) as a deterministic model: what a
 * `kmem_cache_alloc` costs beyond its per-CPU fast path when the per-CPU freelist is empty, when
 * the node has no partial slab left, when the memory cgroup's per-CPU charge stock runs out, and
 * (optionally) when a new page needs direct reclaim.
 *
 * The model is driven by per-cache object counts only — objects per slab, empty slabs the node
 * keeps — never by randomness, so the same run gives the same figures. Its state per cache:
 *
 * - `cpuFree`: objects left on the per-CPU freelist (`c->freelist`, plus the slab it came from).
 *   An allocation takes one; when none is left the allocation enters `___slab_alloc`.
 * - `nodeFree`: free objects in the node's partial slabs (`n->partial`), where frees return.
 * - `slabs`: slab pages held by the cache.
 *
 * Events, each charged as work of the existing kinds (so that the cost profile prices them and
 * the hardware-independent counters show them):
 *
 * - **refill** (`___slab_alloc` → `get_partial` → `get_partial_node`): takes the node's
 *   `list_lock` (a spinlock, class {@link SLAB_LIST_LOCK_CLASS}, one per cache) and moves one
 *   slab's worth of free objects (at most `objsPerSlab`) to the CPU: work
 *   {@link SlabSlowPathParams.refillWork} under the lock.
 * - **new slab** (`new_slab` → `allocate_slab` → `alloc_slab_page`, when the node has no free
 *   object): a page from the page allocator and a freelist through its `objsPerSlab` objects
 *   (`set_freepointer` per object, `shuffle_freelist` off): work
 *   {@link SlabSlowPathParams.newSlabWork} plus `list_op` per object; no `list_lock`.
 * - **discard** (`__slab_free` → `discard_slab`): when the free objects exceed what the per-CPU
 *   partial lists keep (`cpu_partial` objects per CPU × `cpus`) plus `minPartial + 1` slabs on the
 *   node, one slab page goes back to the page allocator, under `list_lock`: work
 *   {@link SlabSlowPathParams.discardWork}. The model assumes frees refill slabs in order (no
 *   fragmentation), so it discards as early as SLUB could [U]; on the host SLUB needs several
 *   times fewer new pages in a fork storm (README, "Allocator slow paths").
 * - **memcg charge** (`memcg_slab_post_alloc_hook` → `obj_cgroup_charge`, caches created with
 *   `SLAB_ACCOUNT`: `anon_vma`, `anon_vma_chain`, `vm_area_struct`, `mm_struct` — checked on the
 *   calibration host with the `accounted` field of `kmem:kmem_cache_alloc`): the per-CPU object
 *   stock holds pre-charged bytes; when it cannot cover an object, `obj_cgroup_charge_pages`
 *   charges one page (work {@link SlabSlowPathParams.memcgStockRefillWork}), and every
 *   `MEMCG_CHARGE_BATCH` (64) pages `try_charge_memcg` charges the page counters up the cgroup
 *   hierarchy (work {@link SlabSlowPathParams.memcgPageCounterWork} per level).
 * - **direct reclaim** (optional, off by default): every `reclaimEveryNewSlabs`-th new slab page
 *   finds the zone below its watermark and runs direct reclaim (work
 *   {@link SlabSlowPathParams.reclaimWork}). An allocation that may not sleep (`GFP_NOWAIT`, as
 *   6.18's `anon_vma_clone` allocates under the root lock) fails instead, and the caller retries
 *   with `GFP_KERNEL` after dropping its lock.
 *
 * One per-CPU state per cache stands for every CPU (the simulated kernel does not tell the slab
 * which CPU allocates) [U]: with N CPUs SLUB would keep N partly used CPU slabs and refill more
 * often.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import type { WorkKind } from "./machine/exec.ts";

/** Lock class of the per-node `kmem_cache_node.list_lock` spinlocks the slow paths take. */
export const SLAB_LIST_LOCK_CLASS = "kmem_cache_node.list_lock";

/** Work of one slow-path event, as units per work kind. */
export type SlabWork = Readonly<Partial<Record<WorkKind, number>>>;

/** Geometry of one cache, as `/sys/kernel/slab/<cache>/` reports it. */
export interface SlabGeometry {
  /** Objects per slab (`objs_per_slab`). */
  readonly objsPerSlab: number;
  /** The cache is `SLAB_ACCOUNT` (allocations are charged to the memory cgroup). */
  readonly accounted: boolean;
  /** Free objects each CPU keeps on its partial slabs (`cpu_partial`). */
  readonly cpuPartial: number;
}

/** Parameters of the slow-path model. Every work figure is an assumption [U] named here. */
export interface SlabSlowPathParams {
  /**
   * Geometry per cache. Defaults: `objs_per_slab` read on the calibration host (Linux 6.18.44
   * x86_64, order-0 slabs): vm_area_struct 21, anon_vma 39, anon_vma_chain 64, maple_node 16,
   * mm_struct 20 (order 3); the CoW-context caches are not in any kernel: kmalloc-128/-64
   * geometry (32 and 64) [U]. `cpu_partial` as read there: 120 for vm_area_struct, anon_vma and
   * anon_vma_chain, 52 for maple_node, 24 for mm_struct (120 assumed for the CoW caches).
   * Caches of size 0 never enter a slow path.
   */
  readonly geometry: Readonly<Record<string, SlabGeometry>>;
  /**
   * CPUs whose per-CPU partial lists hold free objects (0 ignores them). Default 8, the
   * simulated machine's default CPU count [U: the slab does not follow `--machine cpus`].
   */
  readonly cpus: number;
  /**
   * Free-object slabs the node keeps before it discards an empty one (`min_partial`, 5 on the
   * host for every cache here: `set_min_partial(s, ilog2(s->size) / 2)` clamped to
   * [MIN_PARTIAL 5, MAX_PARTIAL 10]).
   */
  readonly minPartial: number;
  /** Work of a refill from the node partial list, under `list_lock`. Default 1 `list_op` (remove_partial) + 1 `cache_miss` (the slab's freelist line) [U]. */
  readonly refillWork: SlabWork;
  /**
   * Work of a new slab page besides one `list_op` per object for its freelist. Default 2
   * `cache_miss` (the zone's per-CPU page list and the new `struct slab`) + 2 `list_op` [U].
   */
  readonly newSlabWork: SlabWork;
  /** Work of discarding an empty slab page, under `list_lock`. Default 2 `list_op` + 1 `cache_miss` [U]. */
  readonly discardWork: SlabWork;
  /** Bytes one object-stock refill charges: one page (`obj_cgroup_charge_pages`), 4096. */
  readonly memcgStockBytes: number;
  /** Work of one object-stock refill (`consume_stock` of the memcg per-CPU stock). Default 1 `cache_miss` [U]. */
  readonly memcgStockRefillWork: SlabWork;
  /** Pages the memcg per-CPU stock charges at once (`MEMCG_CHARGE_BATCH`, 64). */
  readonly memcgChargeBatchPages: number;
  /** Levels of the cgroup hierarchy whose page counters are charged (`page_counter_try_charge`). Default 3 [U] (root, slice, leaf). */
  readonly memcgHierarchyDepth: number;
  /** Work per level of a page-counter charge: an atomic on a shared line. Default 1 `cache_miss` [U]. */
  readonly memcgPageCounterWork: SlabWork;
  /** Every how many new slab pages direct reclaim runs; 0 = never (default). */
  readonly reclaimEveryNewSlabs: number;
  /**
   * Work of one direct reclaim pass: `SWAP_CLUSTER_MAX` (32) pages scanned, each one rmap walk's
   * worth of PTE checks and a miss. Default 32 `pte_check` + 32 `cache_miss` [U].
   */
  readonly reclaimWork: SlabWork;
}

/**
 * Default slow-path parameters (see {@link SlabSlowPathParams} for the sources).
 *
 * @example Usage
 * ```ts
 * import { DEFAULT_SLAB_SLOW_PATH } from "./slab_slow_path.ts";
 * if (DEFAULT_SLAB_SLOW_PATH.geometry.anon_vma.objsPerSlab !== 39) throw new Error();
 * ```
 */
export const DEFAULT_SLAB_SLOW_PATH: SlabSlowPathParams = Object.freeze({
  geometry: Object.freeze({
    vm_area_struct: { objsPerSlab: 21, accounted: true, cpuPartial: 120 },
    anon_vma: { objsPerSlab: 39, accounted: true, cpuPartial: 120 },
    anon_vma_chain: { objsPerSlab: 64, accounted: true, cpuPartial: 120 },
    maple_node: { objsPerSlab: 16, accounted: false, cpuPartial: 52 },
    mm_struct: { objsPerSlab: 20, accounted: true, cpuPartial: 24 },
    cow_context: { objsPerSlab: 32, accounted: true, cpuPartial: 120 },
    cow_remap_entry: { objsPerSlab: 64, accounted: true, cpuPartial: 120 },
    cow_remap_array: { objsPerSlab: 64, accounted: true, cpuPartial: 120 },
  }),
  cpus: 8,
  minPartial: 5,
  refillWork: Object.freeze({ list_op: 1, cache_miss: 1 }),
  newSlabWork: Object.freeze({ list_op: 2, cache_miss: 2 }),
  discardWork: Object.freeze({ list_op: 2, cache_miss: 1 }),
  memcgStockBytes: 4096,
  memcgStockRefillWork: Object.freeze({ cache_miss: 1 }),
  memcgChargeBatchPages: 64,
  memcgHierarchyDepth: 3,
  memcgPageCounterWork: Object.freeze({ cache_miss: 1 }),
  reclaimEveryNewSlabs: 0,
  reclaimWork: Object.freeze({ pte_check: 32, cache_miss: 32 }),
});

/** Counts of slow-path events per cache (exact, deterministic). */
export interface SlabSlowPathCounters {
  /** Refills from the node partial list. */
  refills: number;
  /** New slab pages from the page allocator. */
  newSlabs: number;
  /** Empty slab pages given back. */
  discards: number;
  /** Object-stock refills of the memcg charge. */
  memcgStockRefills: number;
  /** Page-counter charges (one per `memcgChargeBatchPages` stock refills). */
  memcgPageCounterCharges: number;
  /** Direct reclaim passes run. */
  reclaims: number;
  /** `GFP_NOWAIT` allocations that failed because they would have needed reclaim. */
  nowaitFailures: number;
  /** Slab pages held now. */
  slabs: number;
  /** Largest number of slab pages held. */
  peakSlabs: number;
}

/**
 * Checks slow-path overrides and lays them over {@link DEFAULT_SLAB_SLOW_PATH}. Throws a one-line
 * error naming the bad key and its range.
 *
 * @example Usage
 * ```ts
 * import { resolveSlabSlowPath } from "./slab_slow_path.ts";
 * const p = resolveSlabSlowPath({ reclaimEveryNewSlabs: 4 });
 * if (p.reclaimEveryNewSlabs !== 4 || p.minPartial !== 5) throw new Error();
 * ```
 */
export function resolveSlabSlowPath(
  overrides: Partial<SlabSlowPathParams> = {},
): SlabSlowPathParams {
  const p = { ...DEFAULT_SLAB_SLOW_PATH, ...overrides };
  const ints: [keyof SlabSlowPathParams, number, number][] = [
    ["minPartial", 0, 1000],
    ["cpus", 0, 4096],
    ["memcgStockBytes", 1, 1 << 30],
    ["memcgChargeBatchPages", 1, 1 << 20],
    ["memcgHierarchyDepth", 0, 64],
    ["reclaimEveryNewSlabs", 0, 1 << 30],
  ];
  for (const [k, min, max] of ints) {
    const v = p[k] as unknown;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      throw new RangeError(`Slab slow-path parameter ${k} must be an integer in [${min}, ${max}]`);
    }
  }
  for (const [cache, g] of Object.entries(p.geometry)) {
    if (!Number.isInteger(g.objsPerSlab) || g.objsPerSlab < 1 || g.objsPerSlab > 4096) {
      throw new RangeError(
        `Slab slow-path geometry ${cache}.objsPerSlab must be an integer in [1, 4096]`,
      );
    }
  }
  return p;
}
