/**
 * The state every part of the kernel core shares: parameters, the scheme, work reporting, slab
 * accounting, the oracle, counters, the live mms, id allocators, the anon folio lists and the
 * swap cache. Linux keeps the same things in globals (`init_mm`, the slab caches, `vm_stat`,
 * the LRU lists, the swap cache); the simulator keeps them in one object so that several kernels
 * can live side by side. The modules of `core/kernel/` are free functions taking it first, as
 * mm/ functions take an mm or a vma; {@link Kernel} is the facade over them.
 *
 * Scheme hooks called here: `attach` (once, from {@link newKernelState}).
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import { CountingExec, type Exec } from "../machine/exec.ts";
import { Slab } from "../slab.ts";
import { Oracle } from "../oracle.ts";
import type { RmapScheme, SchemeHost, WalkKind } from "../rmap/scheme.ts";
import { type KernelParams, resolveKernelParams } from "./params.ts";
import type { Folio, Mm, SwapSlot } from "./types.ts";
import type { KsmState } from "./ksm.ts";
import type { UffdContexts } from "./userfaultfd.ts";
import { FolioLru, type KernelFolio } from "./folio_object.ts";

/** Figures of one rmap walk, as seen by the kernel core. */
export interface WalkResult {
  /** Which walk. */
  kind: WalkKind;
  /** Candidate VMAs the scheme offered (`V`, reference §8.2). */
  visits: number;
  /** Visited VMAs whose page tables map the folio (`H`). */
  hits: number;
  /** `V − H`. */
  useless: number;
  /** Rmap structures touched (anon_vmas, contexts, remap entries). */
  structures: number;
  /** Index nodes touched (interval/maple tree). */
  treeNodes: number;
  /** The walk gave up on a contended trylock. */
  contended: boolean;
}

/** Listener for walk results (the recorder subscribes). */
export type WalkListener = (r: WalkResult) => void;

/** Options of {@link Kernel} (and of {@link newKernelState}). */
export interface KernelOptions {
  /** The rmap scheme. */
  scheme: RmapScheme;
  /** Where work and locks are reported; default an untimed {@link CountingExec}. */
  exec?: Exec;
  /** Kernel parameters (defaults in params.ts). */
  params?: Partial<KernelParams>;
  /** Slab accounting; default fresh with Linux sizes. */
  slab?: Slab;
}

/** The shared state of one simulated kernel. */
export interface KernelState {
  /** Resolved parameters. */
  readonly params: KernelParams;
  /** The rmap scheme. */
  readonly scheme: RmapScheme;
  /** Work/lock reporting. */
  readonly exec: Exec;
  /** Slab accounting. */
  readonly slab: Slab;
  /** Ground truth. */
  readonly oracle: Oracle;
  /** Kernel counters (faults, merges, splits...), by name. */
  readonly counters: Record<string, number>;
  /** Live processes' mms, in creation order. */
  readonly mms: Map<number, Mm>;
  /** Next mm id (also the pid). */
  nextMmId: number;
  /** Next VMA id. */
  nextVmaId: number;
  /** Next folio id. */
  nextFolioId: number;
  /** Next file id. */
  nextFileId: number;
  /** Next swap slot id. */
  nextSwapId: number;
  /**
   * Live anonymous folios (swap-remove order: freeing moves the last one into the hole); each
   * knows its index (`liveSlot`).
   */
  readonly liveAnon: KernelFolio[];
  /**
   * The anon LRU: live anon folios, least recently added or rotated first (a list threaded
   * through the folios). Reclaim scans it from the oldest end, as shrink_inactive_list scans the
   * tail.
   */
  readonly lru: FolioLru;
  /** Folios kept in the swap cache for the other PTEs that still refer to their slot. */
  readonly swapCacheOf: Map<Folio, SwapSlot>;
  /**
   * Lazily freeable anonymous folios (MADV_FREE: `folio_mark_lazyfree` clears PG_swapbacked):
   * reclaim discards them unless a mapping was written again (madvise_free.ts).
   */
  readonly lazyfree: Set<Folio>;
  /** Subscribers to every walk's figures. */
  readonly walkListeners: WalkListener[];
  /** KSM's state, created by the first MADV_MERGEABLE or valued write (ksm.ts). */
  ksm?: KsmState;
  /** Each mm's userfaultfd context, once it opened one (userfaultfd.ts). */
  uffd?: UffdContexts;
}

/**
 * Creates the state of a kernel running `opts.scheme` and attaches the scheme to it. Tests that
 * drive mm/ functions directly (tools/testing/vma style) start here.
 *
 * @example Usage
 * ```ts
 * import { newKernelState } from "./state.ts";
 * import { AnonVmaScheme } from "../rmap/anon_vma.ts";
 * const k = newKernelState({ scheme: new AnonVmaScheme() });
 * if (k.mms.size !== 0) throw new Error();
 * ```
 */
export function newKernelState(opts: KernelOptions): KernelState {
  const exec = opts.exec ?? new CountingExec();
  const slab = opts.slab ?? new Slab();
  slab.setExec(exec);
  const k: KernelState = {
    params: resolveKernelParams(opts.params),
    scheme: opts.scheme,
    exec,
    slab,
    oracle: new Oracle(),
    counters: {},
    mms: new Map(),
    nextMmId: 1,
    nextVmaId: 1,
    nextFolioId: 1,
    nextFileId: 1,
    nextSwapId: 1,
    liveAnon: [],
    lru: new FolioLru(),
    swapCacheOf: new Map(),
    lazyfree: new Set(),
    walkListeners: [],
  };
  const host: SchemeHost = {
    slab,
    exec,
    prevVma: (v) => v.mm.vmas.prevOf(v) ?? null,
    nextVma: (v) => v.mm.vmas.nextOf(v) ?? null,
    vmasInRange: (mm, s, e) => mm.vmas.intersecting(s, e),
    liveMms: () => k.mms.values(),
    liveAnonFolios: () => k.liveAnon,
  };
  k.scheme.attach(host);
  return k;
}

/**
 * Adds `n` to the kernel counter `name` (the simulator's `count_vm_event`).
 *
 * @example Usage
 * ```ts
 * import { countEvent, newKernelState } from "./state.ts";
 * import { AnonVmaScheme } from "../rmap/anon_vma.ts";
 * const k = newKernelState({ scheme: new AnonVmaScheme() });
 * countEvent(k, "merges");
 * if (k.counters.merges !== 1) throw new Error();
 * ```
 */
export function countEvent(k: KernelState, name: string, n = 1): void {
  k.counters[name] = (k.counters[name] ?? 0) + n;
}
