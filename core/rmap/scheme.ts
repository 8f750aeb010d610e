/**
 * The one interface through which the kernel core knows an anon rmap scheme.
 *
 * Hooks are named after the kernel functions they stand for (ARCHITECTURE.md, "The scheme
 * interface"); the kernel core calls them at the points where Linux calls their counterparts.
 * A scheme owns the `rmap` slot of every {@link Vma}, {@link Folio} and {@link Mm}.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import type { Exec, Lock } from "../machine/exec.ts";
import type { Slab, SlabCache } from "../slab.ts";
import type { Folio, Mm, Vma } from "../kernel/types.ts";

/** Why a VMA's anon state is cloned (2026 `enum vma_operation`, reference §3.2). */
export type CloneOp = "split" | "merge_unfaulted" | "remap" | "fork";

/** Which rmap walk a caller performs (reference §8.3). */
export type WalkKind = "referenced" | "unmap" | "migrate" | "remove_migration";

/** What the kernel core offers a scheme. */
export interface SchemeHost {
  /** Slab accounting. */
  readonly slab: Slab;
  /** Work and lock reporting. */
  readonly exec: Exec;
  /** The VMA just below `vma` in its mm, or null. */
  prevVma(vma: Vma): Vma | null;
  /** The VMA just above `vma` in its mm, or null. */
  nextVma(vma: Vma): Vma | null;
  /** VMAs of `mm` intersecting `[start, end)` in address order. */
  vmasInRange(mm: Mm, start: number, end: number): Vma[];
  /** Every live mm. */
  liveMms(): Iterable<Mm>;
  /** Every live anonymous folio, including folios only held by the swap cache. */
  liveAnonFolios(): readonly Folio[];
}

/** Figures a walk reports about the structures it touched. */
export interface WalkReport {
  /** The walk gave up because a trylock failed (`rwc->contended`). */
  contended: boolean;
  /** Rmap structures visited: anon_vmas, CoW contexts, remap entries. */
  structures: number;
  /** Index-structure nodes touched (interval-tree nodes, maple-tree nodes). */
  treeNodes: number;
}

/**
 * Called for each candidate mapping. Returns false to stop the walk (the kernel's `rmap_one`
 * returning false, or its `done` callback returning true).
 */
export type RmapVisit = (vma: Vma, addr: number) => boolean;

/** Static description of a scheme, shown by `list` and in reports. */
export interface SchemeInfo {
  /** Identifier used on the command line, e.g. `"anon_vma"`. */
  readonly id: string;
  /** Human title. */
  readonly title: string;
  /** Kernel version or patch series it models. */
  readonly kernel: string;
  /** Upstream status. */
  readonly status: "mainline" | "merged" | "posted" | "proof-of-concept" | "discussion";
  /** Where the semantics come from. */
  readonly sources: readonly string[];
  /** One paragraph on what it changes. */
  readonly summary: string;
  /**
   * The slab caches whose objects exist only because of this scheme (its rmap structures). Their
   * bytes are the run's `rmapBytes`; caches every scheme shares (VMAs, maple nodes, mm_structs)
   * are not listed.
   */
  readonly ownedCaches: readonly SlabCache[];
  /**
   * The lock classes this scheme owns (e.g. `anon_vma.root`), as reported to the machine. Shared
   * locks that every scheme takes (`mmap_lock`, page-table locks, RCU) are not listed, so reports
   * can show the scheme's own lock costs apart from them.
   */
  readonly ownedLockClasses: readonly string[];
  /** What the scheme locks and for which work (lock classes as reported to the machine). */
  readonly locking: readonly LockDeclaration[];
}

/** One lock a scheme takes: its class, kind and mode, and the work done under it. */
export interface LockDeclaration {
  /** Lock class, e.g. `"anon_vma.root"`. */
  readonly lockClass: string;
  /** rwsem, spinlock or mutex (RCU read sections are declared with class `"rcu"`). */
  readonly kind: "rwsem" | "spinlock" | "mutex" | "rcu";
  /** Mode(s) and the work done while holding it. */
  readonly takenFor: string;
}

/** The scheme interface. */
export interface RmapScheme {
  /** Static description. */
  readonly info: SchemeInfo;
  /** Called once by the kernel before any other hook. */
  attach(host: SchemeHost): void;

  /** A new mm was created (by `fork` from `parent`, or a fresh process when `parent` is null). */
  mmInit(mm: Mm, parent: Mm | null): void;
  /** An mm was torn down after all its VMAs were unlinked (`exit_mmap`/`mmdrop`). */
  mmTeardown(mm: Mm): void;

  /** Fresh per-VMA state for a VMA created by mmap/brk (no anon rmap yet). */
  vmaInit(vma: Vma): void;
  /** `vma->anon_vma != NULL`: the VMA has anon rmap state ("faulted"). */
  hasAnon(vma: Vma): boolean;
  /** `vma_is_fork_child`: has anon state linked to a parent's (chain not singular). */
  isForkChild(vma: Vma): boolean;
  /** Identity compared by merge case 3 (`anon_vma` pointer equality); null when unfaulted. */
  anonIdentity(vma: Vma): unknown;
  /**
   * `vma_maybe_has_shared_anon_folios` for MREMAP_RELOCATE_ANON eligibility; schemes without
   * relocation support may always return true.
   */
  maybeHasSharedAnon(vma: Vma): boolean;

  /** `anon_vma_prepare`: make sure `vma` can hold new anon folios (first write fault). */
  prepare(vma: Vma): void;
  /** `anon_vma_fork`: `child` is the copy of `parent` made by `dup_mmap`. */
  fork(child: Vma, parent: Vma): void;
  /**
   * `anon_vma_clone`: give `dst` the anon state of `src` (split, remap, unfaulted merge).
   * `dst` has its final range; for `merge_unfaulted`, `dst` is the existing unfaulted VMA.
   */
  clone(dst: Vma, src: Vma, op: Exclude<CloneOp, "fork">): void;
  /** `unlink_anon_vmas`: `vma` is being removed (or its anon state dropped, DONTUNMAP). */
  unlink(vma: Vma): void;
  /**
   * `vma_prepare`/`vma_complete` around a change of start, end or pgoff of `vmas`: the scheme
   * takes its locks, removes the VMAs from its index, calls `mutate`, re-inserts and unlocks.
   */
  adjust(vmas: readonly Vma[], mutate: () => void): void;

  /** `__folio_set_anon`: a new anon folio is mapped at `addr` of `vma`. */
  addNewAnon(folio: Folio, vma: Vma, addr: number, exclusive: boolean): void;
  /** `folio_move_anon_rmap`: a write fault reused `folio` in `vma`, or UFFDIO_MOVE moved it. */
  moveAnon(folio: Folio, vma: Vma): void;
  /**
   * `folio_get_anon_vma` + `anon_vma_lock_write` in `move_pages_ptes` (UFFDIO_MOVE): the lock
   * the kernel holds for write while `folio`, and the small exclusive folios of the same anon_vma
   * batched after it, move. Null or absent: the scheme names no rmap lock for the move.
   */
  moveLock?(folio: Folio): Lock | null;
  /** The folio was freed (its last reference dropped). */
  folioFreed(folio: Folio): void;
  /**
   * `folio_anon_vma(folio)->root == vma->anon_vma->root`, the anon_vma test of
   * `ksm_might_need_to_copy` when `do_swap_page` finds `folio` in the swap cache for an entry of
   * `vma`: false when a walk from the folio's rmap would not reach `vma` (the swap-in then copies
   * the page). Absent: the folio's rmap reaches every VMA its swap entries are in.
   */
  swapCacheAnonMatches?(folio: Folio, vma: Vma): boolean;

  /**
   * `rmap_walk_anon`: calls `visit` for each candidate mapping of `folio` in the scheme's order,
   * taking the scheme's locks (a trylock when `tryLock`), and reports what it touched.
   */
  walk(folio: Folio, kind: WalkKind, tryLock: boolean, visit: RmapVisit): WalkReport;

  /**
   * MREMAP_RELOCATE_ANON support (reference §10.2). When defined, called after `dst` was created
   * unfaulted at the destination (pgoff = new_addr >> PAGE_SHIFT) and the page tables were moved:
   * the scheme gives `dst` fresh anon state and re-homes each folio (`folios` with the page
   * index they now map at). Returns false (and changes nothing) when a folio cannot be relocated.
   */
  relocate?(src: Vma, dst: Vma, folios: readonly { folio: Folio; addr: number }[]): boolean;
  /**
   * The RELOCATE_ANON undo for one folio that {@link relocate} moved: `folio->mapping` goes back
   * to `oldRmap` (the value the folio's `rmap` had before). Required with `relocate`.
   */
  relocateUndo?(folio: Folio, oldRmap: unknown): void;
  /**
   * `split_folio` of an anon large folio: `head` is now order 0 and `tails` are new small folios
   * that take `head`'s `folio->mapping`. Without this hook the kernel does not split.
   */
  splitFolio?(head: Folio, tails: readonly Folio[]): void;

  /**
   * KSM `stable_tree_append`: `get_anon_vma(vma->anon_vma)` for an rmap item; returns the pinned
   * anon_vma, or null when the VMA has none (then KSM walks by mm and address, ksm.ts [U]).
   */
  ksmGetAnonVma?(vma: Vma): unknown;
  /** KSM `remove_rmap_item_from_tree`: `put_anon_vma(rmap_item->anon_vma)`. */
  ksmPutAnonVma?(anonVma: unknown): void;
  /**
   * The per-item body of `rmap_walk_ksm`: read-lock `anonVma` (trylock when `tryLock`) and offer
   * every VMA of its interval tree (0..ULONG_MAX) to `visit`; `stopped` when `visit` said stop.
   */
  ksmWalkAnonVma?(
    anonVma: unknown,
    tryLock: boolean,
    visit: (vma: Vma) => boolean,
  ): WalkReport & { stopped: boolean };

  /** Checks the scheme's invariants (reference §1.7); returns one message per violation. */
  check(): string[];
  /** Scheme-specific counters for reports (e.g. reuse events), by name. */
  counters(): Record<string, number>;
}
