/**
 * The two VMA operations tools/testing/vma tests on their own: merge (with a
 * {@link VmaMergeStruct} descriptor, the kernel's `struct vma_merge_struct`) and split, plus
 * `vma_modify_flags`, which uses both.
 *
 * Stands for `mm/vma.c` and `mm/vma.h` (Linux 6.18): `vma_merge_new_range`,
 * `vma_merge_existing_range`, `can_vma_merge_before/after`, `is_mergeable_anon_vma`,
 * `dup_anon_vma`, `__split_vma`/`split_vma`, `vma_modify`. VMA allocation and the tree are in
 * vma_tree.ts.
 *
 * Scheme hooks called here: `anonIdentity`, `isForkChild`, `hasAnon` (merge checks), `clone`
 * (`merge_unfaulted` and `split`), `vmaInit` (split), `unlink` (a VMA removed by a merge); through
 * vma_tree.ts, `adjust`.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import { countEvent, type KernelState } from "./state.ts";
import { vmaAdjust, vmaDup, vmaFree, vmaLink, vmaUnlinkFromTree } from "./vma_tree.ts";
import {
  hex,
  type Mm,
  PAGE_SIZE,
  type SimFile,
  SyscallError,
  VM_IGNORE_MERGE,
  VM_MAYBE_GUARD,
  type Vma,
  vmaPages,
} from "./types.ts";

/** Why a merge with an adjacent VMA failed (reference §7, §12.3 "Mergeability"). */
export type MergeFailReason = "flags" | "file" | "pgoff" | "anon_vma" | "fork_child";

/**
 * Where a merge stands (`enum vma_merge_state`, mm/vma.h). The simulator's merges allocate
 * nothing that can fail, so `VMA_MERGE_ERROR_NOMEM` never occurs and is not modelled.
 */
export type VmaMergeState = "VMA_MERGE_START" | "VMA_MERGE_NOMERGE" | "VMA_MERGE_SUCCESS";

/**
 * A proposed merge, threaded through it (`struct vma_merge_struct`, mm/vma.h):
 *
 * ```
 * |------|--------|------|
 * | prev | middle | next |
 * |------|--------|------|
 * ```
 *
 * `middle` is absent for a new range (mmap, brk, the destination of an mremap copy) and is the
 * existing VMA being modified otherwise. `prev` and `next` are looked up by the merge functions
 * (the kernel gets them from the VMA iterator). After the merge, `state` says whether it happened,
 * `target` is the VMA now covering the range, and `failPrev`/`failNext` say why a side refused.
 */
export interface VmaMergeStruct {
  /** The address space. */
  readonly mm: Mm;
  /** The VMA ending at `start`, if it is adjacent. */
  prev: Vma | null;
  /** The existing VMA whose range `[start, end)` changes, or null for a new range. */
  middle: Vma | null;
  /** The VMA starting at `end`, if it is adjacent. */
  next: Vma | null;
  /** The VMA that covers the range after a successful merge (`vmg->target`). */
  target: Vma | null;
  /** Start of the range (inclusive). */
  start: number;
  /** End of the range (exclusive). */
  end: number;
  /** `vm_pgoff` the range would have. */
  pgoff: number;
  /** `vm_flags` the range would have. */
  flags: number;
  /** `vm_file` of the range. */
  file: SimFile | null;
  /** `vmg->anon_vma`: the scheme's anon identity of the range (null when unfaulted). */
  anonVma: unknown;
  /** `vmg->copied_from`: the source VMA of an mremap copy (`copy_vma`). */
  copiedFrom: Vma | null;
  /** Outcome (`vmg->state`). */
  state: VmaMergeState;
  /** Why merging with `prev` was refused (null when it was allowed or there was no prev). */
  failPrev: MergeFailReason | null;
  /** Why merging with `next` was refused (null when it was allowed or there was no next). */
  failNext: MergeFailReason | null;
}

/**
 * A merge descriptor for a range that is not mapped yet (the kernel's `VMG_STATE` macro).
 *
 * @example Usage
 * ```ts ignore
 * const vmg = vmgNew(mm, start, end, start / PAGE_SIZE, flags, null);
 * const vma = vmaMergeNewRange(k, vmg);
 * ```
 */
export function vmgNew(
  mm: Mm,
  start: number,
  end: number,
  pgoff: number,
  flags: number,
  file: SimFile | null,
  anonVma: unknown = null,
  copiedFrom: Vma | null = null,
): VmaMergeStruct {
  return {
    mm,
    prev: null,
    middle: null,
    next: null,
    target: null,
    start,
    end,
    pgoff,
    flags,
    file,
    anonVma,
    copiedFrom,
    state: "VMA_MERGE_START",
    failPrev: null,
    failNext: null,
  };
}

/**
 * {@link vmgNew}'s descriptor written into `vmg` (one a caller reuses), every field set afresh.
 *
 * @example Usage
 * ```ts ignore
 * vmgReset(scratch, mm, start, end, start / PAGE_SIZE, flags, null);
 * ```
 */
export function vmgReset(
  vmg: VmaMergeStruct,
  mm: Mm,
  start: number,
  end: number,
  pgoff: number,
  flags: number,
  file: SimFile | null,
): VmaMergeStruct {
  (vmg as { mm: Mm }).mm = mm;
  vmg.prev =
    vmg.middle =
    vmg.next =
    vmg.target =
      null;
  vmg.start = start;
  vmg.end = end;
  vmg.pgoff = pgoff;
  vmg.flags = flags;
  vmg.file = file;
  vmg.anonVma = null;
  vmg.copiedFrom = null;
  vmg.state = "VMA_MERGE_START";
  vmg.failPrev = vmg.failNext = null;
  return vmg;
}

/**
 * A merge descriptor for giving `[start, end)` of the existing `middle` new `flags` (the
 * kernel's `VMG_VMA_STATE` macro).
 *
 * @example Usage
 * ```ts ignore
 * const vmg = vmgExisting(k, vma, vma.start, vma.end, vma.flags & ~VM_WRITE);
 * const merged = vmaMergeExistingRange(k, vmg);
 * ```
 */
export function vmgExisting(
  k: KernelState,
  middle: Vma,
  start: number,
  end: number,
  flags: number,
): VmaMergeStruct {
  const vmg = vmgNew(
    middle.mm,
    start,
    end,
    middle.pgoff + (start - middle.start) / PAGE_SIZE,
    flags,
    middle.file,
    k.scheme.anonIdentity(middle),
  );
  vmg.middle = middle;
  return vmg;
}

// -----------------------------------------------------------------------------------------------
// Merge checks

function isMergeableVma(v: Vma, vmg: VmaMergeStruct): MergeFailReason | null {
  if (((v.flags ^ vmg.flags) & ~VM_IGNORE_MERGE) !== 0) return "flags";
  if (v.file !== vmg.file) return "file";
  return null;
}

/** `is_mergeable_anon_vma` (6.18 form, reference §7 rule 3). */
function isMergeableAnonVma(
  k: KernelState,
  vmg: VmaMergeStruct,
  tgt: Vma,
): MergeFailReason | null {
  const tgtAnon = k.scheme.anonIdentity(tgt);
  const srcAnon = vmg.anonVma;
  if (tgtAnon === null && srcAnon !== null) {
    if (vmg.middle && k.scheme.isForkChild(vmg.middle)) return "fork_child";
    if (vmg.copiedFrom && k.scheme.isForkChild(vmg.copiedFrom)) return "fork_child";
    return null;
  }
  if (tgtAnon !== null && srcAnon === null) {
    return k.scheme.isForkChild(tgt) ? "fork_child" : null;
  }
  return srcAnon === tgtAnon ? null : "anon_vma";
}

/** `can_vma_merge_after(prev)`. */
function canVmaMergeAfter(k: KernelState, prev: Vma, vmg: VmaMergeStruct): MergeFailReason | null {
  const r = isMergeableVma(prev, vmg) ?? isMergeableAnonVma(k, vmg, prev);
  if (r) return r;
  return prev.pgoff + vmaPages(prev) === vmg.pgoff ? null : "pgoff";
}

/** `can_vma_merge_before(next)`. */
function canVmaMergeBefore(
  k: KernelState,
  next: Vma,
  vmg: VmaMergeStruct,
): MergeFailReason | null {
  const r = isMergeableVma(next, vmg) ?? isMergeableAnonVma(k, vmg, next);
  if (r) return r;
  return next.pgoff === vmg.pgoff + (vmg.end - vmg.start) / PAGE_SIZE ? null : "pgoff";
}

/** Three-way merge: prev and next anon states must be compatible with each other. */
function anonVmaCompatible3(k: KernelState, prev: Vma, next: Vma): boolean {
  const a = k.scheme.anonIdentity(prev);
  const b = k.scheme.anonIdentity(next);
  return a === null || b === null || a === b;
}

/** A merge refused for `r`: counted by reason when `record`. */
function mergeFailed(k: KernelState, record: boolean, r: MergeFailReason): MergeFailReason {
  if (record) countEvent(k, `merge_failed_${r}`);
  return r;
}

/** {@link vmgMergeSides}'s bit for a merge with prev. */
const MERGE_LEFT = 1;
/** {@link vmgMergeSides}'s bit for a merge with next. */
const MERGE_RIGHT = 2;
/** Both of {@link vmgMergeSides}'s bits: a merge with prev and next. */
const MERGE_BOTH = MERGE_LEFT | MERGE_RIGHT;

/**
 * Which sides `vmg` can merge with (`can_vma_merge_left/right`, with the three-way anon_vma
 * check), as {@link MERGE_LEFT} | {@link MERGE_RIGHT} (a number: no result object per merge
 * attempt). Sets `failPrev`/`failNext`; failures are counted by reason when `record`.
 */
function vmgMergeSides(k: KernelState, vmg: VmaMergeStruct, record: boolean): number {
  const prev = vmg.prev, next = vmg.next;
  let sides = 0;
  if (prev) {
    const r = canVmaMergeAfter(k, prev, vmg);
    if (r) vmg.failPrev = mergeFailed(k, record, r);
    else sides = MERGE_LEFT;
  }
  if (next) {
    const r = canVmaMergeBefore(k, next, vmg);
    if (r) vmg.failNext = mergeFailed(k, record, r);
    else if (sides !== 0 && !anonVmaCompatible3(k, prev!, next)) {
      vmg.failNext = mergeFailed(k, record, "anon_vma");
    } else sides |= MERGE_RIGHT;
  }
  return sides;
}

/** `dup_anon_vma(dst, src)`: an unfaulted target takes the anon state of a faulted source. */
function dupAnonVma(k: KernelState, dst: Vma, src: Vma | null): void {
  if (src && k.scheme.hasAnon(src) && !k.scheme.hasAnon(dst)) {
    k.scheme.clone(dst, src, "merge_unfaulted");
  }
}

/** Second half of removing a VMA absorbed by a merge (`vma_complete` → `unlink_anon_vmas`). */
function removeMerged(k: KernelState, v: Vma): void {
  k.scheme.unlink(v);
  vmaFree(k, v);
}

/** Looks up the VMAs adjacent to the unmapped range `[vmg.start, vmg.end)` into `vmg`. */
function vmgFindNewRangeNeighbours(vmg: VmaMergeStruct): void {
  const before = vmg.mm.vmas.below(vmg.start);
  const after = vmg.mm.vmas.findFirstEndAfter(vmg.start);
  vmg.prev = before && before.end === vmg.start ? before : null;
  vmg.next = after && after.start === vmg.end ? after : null;
}

function vmgDone(vmg: VmaMergeStruct, target: Vma | null, sticky = 0): Vma | null {
  // VM_MAYBE_GUARD is sticky: the merged VMA keeps it if any part had it (VM_STICKY).
  if (target !== null && (sticky & ~target.flags) !== 0) target.flags |= sticky;
  vmg.target = target;
  vmg.state = target ? "VMA_MERGE_SUCCESS" : "VMA_MERGE_NOMERGE";
  return target;
}

// -----------------------------------------------------------------------------------------------
// Merge

/**
 * `vma_merge_new_range`: merges `[vmg.start, vmg.end)` (not yet mapped) with the adjacent VMAs.
 * Returns the VMA now covering the range, or null (and `vmg.state` says which).
 *
 * @example Usage
 * ```ts ignore
 * const vmg = vmgNew(mm, start, end, start / PAGE_SIZE, flags, null);
 * if (vmaMergeNewRange(k, vmg) === null) console.log(vmg.failPrev, vmg.failNext);
 * ```
 */
export function vmaMergeNewRange(k: KernelState, vmg: VmaMergeStruct): Vma | null {
  vmgFindNewRangeNeighbours(vmg);
  return vmgCommitNewRange(k, vmg, vmgMergeSides(k, vmg, true));
}

/**
 * `vma_merge_extend` (mremap's `expand_vma_in_place`): grows `vma` by `delta` bytes and, when the
 * growth reaches the next VMA and the merge rules allow, merges the two. Linux does this as
 * `vma_merge_new_range` of the added range with `vma` as prev and no middle (mm/vma.c), so the
 * fork-child rule of an unfaulted next is not applied to `vma` (reference §7 rule 3, case 1 with no
 * source VMA). A plain extension is not counted as a merge; a join with the next VMA is.
 *
 * @example Usage
 * ```ts ignore
 * const grown = vmaMergeExtend(k, vma, 4 * PAGE_SIZE); // may be vma itself, grown
 * ```
 */
export function vmaMergeExtend(k: KernelState, vma: Vma, delta: number): Vma {
  const vmg = vmgNew(
    vma.mm,
    vma.end,
    vma.end + delta,
    vma.pgoff + vmaPages(vma),
    vma.flags,
    vma.file,
    k.scheme.anonIdentity(vma),
  );
  vmgFindNewRangeNeighbours(vmg);
  const sides = vmgMergeSides(k, vmg, true);
  if (sides === MERGE_BOTH) return vmgCommitNewRange(k, vmg, sides)!;
  vmaAdjust(k, [vma], () => {
    vma.end += delta;
  });
  return vmgDone(vmg, vma)!;
}

/** The sticky flags (VM_MAYBE_GUARD) of the range and of the sides it merges with. */
function stickyFlags(vmg: VmaMergeStruct, sides: number): number {
  let f = vmg.flags;
  if (sides & MERGE_LEFT) f |= vmg.prev!.flags;
  if (sides & MERGE_RIGHT) f |= vmg.next!.flags;
  return f & VM_MAYBE_GUARD;
}

/**
 * Second half of {@link vmaMergeNewRange}: performs the merge the sides allow (`sides` as
 * {@link vmgMergeSides} gives them).
 */
function vmgCommitNewRange(k: KernelState, vmg: VmaMergeStruct, sides: number): Vma | null {
  if (sides === 0) return vmgDone(vmg, null);
  countEvent(k, "merges");
  const sticky = stickyFlags(vmg, sides);
  if (sides === MERGE_BOTH) {
    const p = vmg.prev!, n = vmg.next!;
    dupAnonVma(k, p, vmg.copiedFrom);
    dupAnonVma(k, p, n);
    vmaUnlinkFromTree(k, n);
    adjustOne(k, p, ADJ_END, n.end, 0);
    removeMerged(k, n);
    return vmgDone(vmg, p, sticky);
  }
  if (sides === MERGE_LEFT) {
    const p = vmg.prev!;
    dupAnonVma(k, p, vmg.copiedFrom);
    adjustOne(k, p, ADJ_END, vmg.end, 0);
    return vmgDone(vmg, p, sticky);
  }
  const n = vmg.next!;
  dupAnonVma(k, n, vmg.copiedFrom);
  adjustOne(k, n, ADJ_START_PGOFF, vmg.start, vmg.pgoff);
  return vmgDone(vmg, n, sticky);
}

/**
 * The scratch of {@link adjustOne}, reused (a scheme's `adjust` keeps neither the array nor the
 * callback, and nothing it calls adjusts): the VMA, and its new end, or new start and pgoff.
 */
const adjOne: Vma[] = [null as unknown as Vma];
const adjBounds = new Float64Array(2);
/** {@link adjustOne}'s mutation setting the end. */
const ADJ_END = (): void => {
  adjOne[0].end = adjBounds[0];
};
/** {@link adjustOne}'s mutation setting the start, then the pgoff. */
const ADJ_START_PGOFF = (): void => {
  const v = adjOne[0];
  v.start = adjBounds[0];
  v.pgoff = adjBounds[1];
};

/**
 * `vmaAdjust(k, [v], mutate)` with `mutate` one of {@link ADJ_END} (`v.end = a`) and
 * {@link ADJ_START_PGOFF} (`v.start = a; v.pgoff = b`): no array, closure and context per merge.
 */
function adjustOne(k: KernelState, v: Vma, mutate: () => void, a: number, b: number): void {
  adjOne[0] = v;
  adjBounds[0] = a;
  adjBounds[1] = b;
  vmaAdjust(k, adjOne, mutate);
  adjOne[0] = null as unknown as Vma;
}

/**
 * Would {@link vmaMergeNewRange} merge `vmg`? Changes nothing and counts no failure (the
 * RELOCATE_ANON path asks before deciding to relocate).
 *
 * @example Usage
 * ```ts ignore
 * if (vmaWouldMergeNewRange(k, probe)) return null;
 * ```
 */
export function vmaWouldMergeNewRange(k: KernelState, vmg: VmaMergeStruct): boolean {
  vmgFindNewRangeNeighbours(vmg);
  return vmgMergeSides(k, vmg, false) !== 0;
}

/**
 * `vma_merge_existing_range`: `[vmg.start, vmg.end)` of `vmg.middle` is to get `vmg.flags`;
 * merges it into the adjacent VMAs where the rules allow. Returns the VMA now covering the range,
 * or null (and `vmg.state` says which).
 *
 * @example Usage
 * ```ts ignore
 * const merged = vmaMergeExistingRange(k, vmgExisting(k, vma, start, end, flags));
 * ```
 */
export function vmaMergeExistingRange(k: KernelState, vmg: VmaMergeStruct): Vma | null {
  const middle = vmg.middle!;
  const { mm, start, end } = vmg;
  const leftSide = start === middle.start;
  const rightSide = end === middle.end;
  const pv = leftSide ? mm.vmas.prevOf(middle) : undefined;
  vmg.prev = pv && pv.end === start ? pv : null;
  const nx = rightSide ? mm.vmas.nextOf(middle) : undefined;
  vmg.next = nx && nx.start === end ? nx : null;
  const sides = vmgMergeSides(k, vmg, true);
  const left = (sides & MERGE_LEFT) !== 0, right = (sides & MERGE_RIGHT) !== 0;
  if (!left && !right) return vmgDone(vmg, null);
  countEvent(k, "merges");
  const sticky = stickyFlags(vmg, sides);
  if (left && right) {
    const p = vmg.prev!, n = vmg.next!;
    dupAnonVma(k, p, k.scheme.hasAnon(middle) ? middle : n);
    vmaUnlinkFromTree(k, middle);
    vmaUnlinkFromTree(k, n);
    vmaAdjust(k, [p], () => {
      p.end = n.end;
    });
    removeMerged(k, middle);
    removeMerged(k, n);
    return vmgDone(vmg, p, sticky);
  }
  if (left) {
    const p = vmg.prev!;
    dupAnonVma(k, p, middle);
    if (rightSide) {
      vmaUnlinkFromTree(k, middle);
      vmaAdjust(k, [p], () => {
        p.end = middle.end;
      });
      removeMerged(k, middle);
    } else {
      vmaAdjust(k, [p, middle], () => {
        p.end = end;
        middle.pgoff += (end - middle.start) / PAGE_SIZE;
        middle.start = end;
      });
    }
    return vmgDone(vmg, p, sticky);
  }
  const n = vmg.next!;
  dupAnonVma(k, n, middle);
  if (leftSide) {
    vmaUnlinkFromTree(k, middle);
    vmaAdjust(k, [n], () => {
      n.start = middle.start;
      n.pgoff = middle.pgoff;
    });
    removeMerged(k, middle);
  } else {
    vmaAdjust(k, [middle, n], () => {
      middle.end = start;
      n.start = start;
      n.pgoff = vmg.pgoff;
    });
  }
  return vmgDone(vmg, n, sticky);
}

// -----------------------------------------------------------------------------------------------
// Split and modify

/**
 * `__split_vma(vma, addr, new_below)`: the new VMA is the lower part when `newBelow`, the upper
 * part otherwise; it gets a clone of the anon state (`anon_vma_clone`, VMA_OP_SPLIT). Returns the
 * new VMA.
 *
 * @example Usage
 * ```ts ignore
 * const upper = splitVma(k, vma, vma.start + PAGE_SIZE, false);
 * ```
 */
export function splitVma(k: KernelState, vma: Vma, addr: number, newBelow: boolean): Vma {
  if (addr <= vma.start || addr >= vma.end || !Number.isInteger(addr) || addr % PAGE_SIZE) {
    throw new Error(`bad split of ${hex(vma.start)}-${hex(vma.end)} at ${hex(addr)}`);
  }
  const nv = vmaDup(k, vma);
  if (newBelow) nv.end = addr;
  else {
    nv.start = addr;
    nv.pgoff += (addr - vma.start) / PAGE_SIZE;
  }
  k.scheme.vmaInit(nv);
  k.scheme.clone(nv, vma, "split");
  vmaAdjust(k, [vma], () => {
    if (newBelow) {
      vma.pgoff += (addr - vma.start) / PAGE_SIZE;
      vma.start = addr;
    } else {
      vma.end = addr;
    }
  });
  vmaLink(k, nv);
  countEvent(k, "splits");
  return nv;
}

/**
 * `split_vma`: as {@link splitVma} but refuses (ENOMEM for `syscall`) at the map count limit.
 *
 * @example Usage
 * ```ts ignore
 * splitVmaChecked(k, vma, start, true, "mprotect");
 * ```
 */
export function splitVmaChecked(
  k: KernelState,
  vma: Vma,
  addr: number,
  newBelow: boolean,
  syscall: string,
): Vma {
  if (vma.mm.mapCount >= k.params.maxMapCount) {
    throw new SyscallError("ENOMEM", syscall, `map_count ${vma.mm.mapCount} at max_map_count`);
  }
  return splitVma(k, vma, addr, newBelow);
}

/**
 * `vma_modify_flags`: gives `[start, end)` (inside `vma`) new flags, merging if possible,
 * otherwise splitting off the parts outside the range. Returns the VMA now covering the range.
 *
 * @example Usage
 * ```ts ignore
 * const target = vmaModifyFlags(k, vma, start, end, newFlags, "mprotect");
 * ```
 */
export function vmaModifyFlags(
  k: KernelState,
  vma: Vma,
  start: number,
  end: number,
  flags: number,
  syscall: string,
): Vma {
  const merged = vmaMergeExistingRange(k, vmgExisting(k, vma, start, end, flags));
  if (merged) return merged;
  if (vma.start < start) splitVmaChecked(k, vma, start, true, syscall);
  if (vma.end > end) splitVmaChecked(k, vma, end, false, syscall);
  vma.flags = flags;
  return vma;
}
