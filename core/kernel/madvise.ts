/**
 * `madvise` for MADV_DONTNEED (and MADV_DONTNEED_LOCKED), MADV_FREE, the flag advices
 * (MADV_DONTFORK/DOFORK, MADV_WIPEONFORK/KEEPONFORK, MADV_DONTDUMP/DODUMP,
 * MADV_HUGEPAGE/NOHUGEPAGE), KSM's MADV_MERGEABLE/UNMERGEABLE, and MADV_COLD/MADV_PAGEOUT
 * (madvise_cold.ts), MADV_WILLNEED (read-ahead: only its range is checked), the read-ahead
 * hints MADV_NORMAL/RANDOM/SEQUENTIAL (VM_RAND_READ/VM_SEQ_READ), guard markers
 * (MADV_GUARD_INSTALL/REMOVE, madvise_guard.ts); and `process_madvise` ({@link vectorMadvise}).
 *
 * Stands for `mm/madvise.c` (`madvise_walk_vmas`, `madvise_dontneed_single_vma`,
 * `madvise_free_single_vma`, `madvise_vma_behavior`, `madvise_update_vma`) and
 * `hugepage_madvise` (mm/khugepaged.c); MADV_FREE's lazily freeable pages are madvise_free.ts's.
 * What the model leaves out, named: MADV_HUGEPAGE registers the mm with khugepaged
 * (`khugepaged_enter_vma`), which is not modelled. MADV_DODUMP's EINVAL for VM_SPECIAL VMAs
 * cannot arise (the model has no VM_IO/VM_PFNMAP/VM_MIXEDMAP/VM_DONTEXPAND mappings).
 *
 * The lock a call takes is `get_lock_mode`'s (6.18): `mmap_lock` for read for MADV_COLD,
 * MADV_PAGEOUT, MADV_WILLNEED, MADV_GUARD_INSTALL and MADV_GUARD_REMOVE (measured on 6.18 with
 * the `mmap_lock` tracepoints); a per-VMA read lock for MADV_DONTNEED, MADV_DONTNEED_LOCKED and
 * MADV_FREE, which the model, having no per-VMA locks, takes as the `mmap_lock` read lock, as it
 * does for faults (docs/model.md §2); `mmap_lock` for write for every advice that changes VMA
 * flags.
 *
 * Scheme hooks called here: none directly; through vma.ts, the merge and split hooks, through
 * madvise_guard.ts `prepare`, and through pgtable.ts (zap) `folioFreed`.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import { ksmMadvise } from "./ksm.ts";
import { madviseColdOrPageout } from "./madvise_cold.ts";
import { madviseFree } from "./madvise_free.ts";
import { madviseGuard } from "./madvise_guard.ts";
import type { KernelState } from "./state.ts";
import { fullyMapped, isAligned, pageAlignUp } from "./mmap.ts";
import { reclaimEmptyTables, zapRange } from "./pgtable.ts";
import { faultinPage } from "./memory.ts";
import { vmaModifyFlags } from "./vma.ts";
import type { LockMode } from "../machine/exec.ts";
import {
  MADV_COLD,
  MADV_DODUMP,
  MADV_DOFORK,
  MADV_DONTDUMP,
  MADV_DONTFORK,
  MADV_DONTNEED,
  MADV_DONTNEED_LOCKED,
  MADV_FREE,
  MADV_GUARD_INSTALL,
  MADV_GUARD_REMOVE,
  MADV_HUGEPAGE,
  MADV_KEEPONFORK,
  MADV_MERGEABLE,
  MADV_NOHUGEPAGE,
  MADV_NORMAL,
  MADV_PAGEOUT,
  MADV_POPULATE_READ,
  MADV_POPULATE_WRITE,
  MADV_RANDOM,
  MADV_SEQUENTIAL,
  MADV_UNMERGEABLE,
  MADV_WILLNEED,
  MADV_WIPEONFORK,
  type MadviseRange,
  type Mm,
  PAGE_SIZE,
  SyscallError,
  VM_DONTCOPY,
  VM_DONTDUMP,
  VM_HUGEPAGE,
  VM_LOCKED,
  VM_NOHUGEPAGE,
  VM_RAND_READ,
  VM_READ,
  VM_SEQ_READ,
  VM_SHARED,
  VM_WIPEONFORK,
  VM_WRITE,
} from "./types.ts";

/** The advice values `doMadvise` knows (anything else is EINVAL, as for an unknown value). */
const KNOWN_ADVICE = [
  MADV_DONTNEED,
  MADV_DONTNEED_LOCKED,
  MADV_FREE,
  MADV_DONTFORK,
  MADV_DOFORK,
  MADV_WIPEONFORK,
  MADV_KEEPONFORK,
  MADV_MERGEABLE,
  MADV_UNMERGEABLE,
  MADV_HUGEPAGE,
  MADV_NOHUGEPAGE,
  MADV_DONTDUMP,
  MADV_DODUMP,
  MADV_COLD,
  MADV_PAGEOUT,
  MADV_WILLNEED,
  MADV_NORMAL,
  MADV_RANDOM,
  MADV_SEQUENTIAL,
  MADV_GUARD_INSTALL,
  MADV_GUARD_REMOVE,
  MADV_POPULATE_READ,
  MADV_POPULATE_WRITE,
];

/**
 * `madvise_should_skip`: throws EINVAL for an unaligned start, a bad length or an advice the
 * model does not know; returns true when the range is empty (nothing to do, success).
 */
function madviseShouldSkip(addr: number, len: number, advice: number, sys: string): boolean {
  if (!isAligned(addr)) throw new SyscallError("EINVAL", sys, "addr not page aligned");
  if (!Number.isInteger(len) || len < 0) throw new SyscallError("EINVAL", sys, "bad length");
  if (!KNOWN_ADVICE.includes(advice)) {
    throw new SyscallError("EINVAL", sys, `unsupported advice ${advice}`);
  }
  return len === 0;
}

/**
 * The mode in which a call with `advice` takes `mmap_lock` (`get_lock_mode`, see the module
 * header): read for MADV_COLD, MADV_PAGEOUT, MADV_WILLNEED, MADV_DONTNEED, MADV_DONTNEED_LOCKED,
 * MADV_FREE, MADV_GUARD_INSTALL, MADV_GUARD_REMOVE and MADV_POPULATE_READ/WRITE, else write.
 *
 * @example Usage
 * ```ts
 * import { madviseLockMode } from "./madvise.ts";
 * import { MADV_DONTFORK, MADV_DONTNEED } from "./types.ts";
 * madviseLockMode(MADV_DONTNEED); // "read"
 * madviseLockMode(MADV_DONTFORK); // "write"
 * ```
 */
export function madviseLockMode(advice: number): LockMode {
  return advice === MADV_DONTNEED || advice === MADV_DONTNEED_LOCKED || advice === MADV_FREE ||
      advice === MADV_COLD || advice === MADV_PAGEOUT || advice === MADV_WILLNEED ||
      advice === MADV_GUARD_INSTALL || advice === MADV_GUARD_REMOVE ||
      advice === MADV_POPULATE_READ || advice === MADV_POPULATE_WRITE
    ? "read"
    : "write";
}

/**
 * `do_madvise`: checks the arguments, then runs {@link doMadvise} with `mmap_lock` held in the
 * mode of {@link madviseLockMode} (an argument error takes no lock).
 *
 * @example Usage
 * ```ts ignore
 * madvise(k, mm, addr, len, MADV_DONTNEED);
 * ```
 */
export function madvise(k: KernelState, mm: Mm, addr: number, len: number, advice: number): void {
  if (madviseShouldSkip(addr, len, advice, "madvise")) return;
  const mode = madviseLockMode(advice);
  k.exec.acquire(mm.mmapLock, mode);
  try {
    doMadvise(k, mm, addr, len, advice);
  } finally {
    k.exec.release(mm.mmapLock, mode);
  }
}

/** `process_madvise_remote_valid`: the advice another process's mm may be given. */
const REMOTE_ADVICE = [MADV_COLD, MADV_PAGEOUT, MADV_WILLNEED];

/**
 * `process_madvise(pidfd, iov, vlen, advice, flags)` by `caller` on `target` (6.18's syscall and
 * `vector_madvise`), once validate.ts `validateProcessMadvise` has checked `flags` (0) and the
 * vector's length (at most `UIO_MAXIOV`) and found `target` alive. On another process's mm
 * only MADV_COLD, MADV_PAGEOUT and MADV_WILLNEED (MADV_COLLAPSE too on Linux, which the model
 * does not implement) are allowed (EINVAL). The caller is taken to hold CAP_SYS_NICE and ptrace
 * access [U]. Then each range in order, under one `mmap_lock` hold in the
 * advice's mode: an empty range is skipped; the first range that fails ends the call. Returns
 * the bytes (`iov_len`s, not page-rounded) of the ranges before it, or, when that is none, throws
 * its error: a range that fails part-way (a hole: ENOMEM after the rest was advised) is not
 * counted, though its advice was applied.
 *
 * @example Usage
 * ```ts ignore
 * vectorMadvise(k, caller, target, [{ base: addr, len: 8192 }], MADV_PAGEOUT); // 8192
 * ```
 */
export function vectorMadvise(
  k: KernelState,
  caller: Mm,
  target: Mm,
  iov: readonly MadviseRange[],
  advice: number,
): number {
  const sys = "process_madvise";
  if (target !== caller && !REMOTE_ADVICE.includes(advice)) {
    throw new SyscallError(
      "EINVAL",
      sys,
      `advice ${advice} on another process (valid: MADV_COLD, MADV_PAGEOUT, MADV_WILLNEED)`,
    );
  }
  const mode = madviseLockMode(advice);
  let done = 0;
  let error: SyscallError | null = null;
  let failed = 0;
  k.exec.acquire(target.mmapLock, mode);
  try {
    for (; failed < iov.length; failed++) {
      const { base, len } = iov[failed];
      try {
        if (!madviseShouldSkip(base, len, advice, sys)) doMadvise(k, target, base, len, advice);
      } catch (e) {
        if (!(e instanceof SyscallError)) throw e;
        error = e;
        break;
      }
      done += len;
    }
  } finally {
    k.exec.release(target.mmapLock, mode);
  }
  if (done === 0 && error !== null) {
    const detail = error.message.slice(error.message.indexOf(": ") + 2);
    throw new SyscallError(error.errno, sys, `range ${failed}: ${detail}`);
  }
  return done;
}

/**
 * `madvise_do_behavior` with `mmap_lock` held, for a range {@link madvise}'s checks passed.
 *
 * @example Usage
 * ```ts ignore
 * doMadvise(k, mm, addr, len, MADV_DONTFORK);
 * ```
 */
export function doMadvise(
  k: KernelState,
  mm: Mm,
  addr: number,
  len: number,
  advice: number,
): void {
  const sys = "madvise";
  const end = addr + pageAlignUp(len);
  if (end === addr) return;
  // madvise_walk_vmas: the advice applies to the mapped parts of the range; a hole makes the
  // call fail with ENOMEM afterwards, "just ignore them, but return -ENOMEM at the end".
  const hole = !fullyMapped(mm, addr, end);
  if (advice === MADV_DONTNEED || advice === MADV_DONTNEED_LOCKED) {
    // madvise_dontneed_free_valid_vma: MADV_DONTNEED is EINVAL at a VM_LOCKED VMA, after the
    // VMAs before it were zapped (the walk stops there, so a hole anywhere reports EINVAL too);
    // MADV_DONTNEED_LOCKED zaps locked VMAs as well.
    let stop = end;
    if (advice === MADV_DONTNEED) {
      for (const v of mm.vmas.intersecting(addr, end)) {
        if (v.flags & VM_LOCKED) {
          stop = Math.max(v.start, addr);
          break;
        }
      }
    }
    if (stop > addr) {
      zapRange(k, mm, addr, stop, true); // guard markers stay
      // zap_page_range_single_batched per VMA, each reclaiming the empty tables it covers.
      for (const v of mm.vmas.intersecting(addr, stop)) {
        reclaimEmptyTables(mm, Math.max(v.start, addr), Math.min(v.end, stop));
      }
    }
    if (stop < end) throw new SyscallError("EINVAL", sys, "MADV_DONTNEED of a VM_LOCKED VMA");
    if (hole) throw new SyscallError("ENOMEM", sys, "range has a hole");
    return;
  }
  if (advice === MADV_COLD || advice === MADV_PAGEOUT) {
    // madvise_cold / madvise_pageout (madvise_cold.ts): no VMA changes.
    madviseColdOrPageout(k, mm, addr, end, advice === MADV_PAGEOUT);
    if (hole) throw new SyscallError("ENOMEM", sys, "range has a hole");
    return;
  }
  if (advice === MADV_POPULATE_READ || advice === MADV_POPULATE_WRITE) {
    madvisePopulate(k, mm, addr, end, advice === MADV_POPULATE_WRITE);
    return;
  }
  if (advice === MADV_GUARD_INSTALL || advice === MADV_GUARD_REMOVE) {
    // madvise_guard_install / madvise_guard_remove (madvise_guard.ts): no VMA splits.
    madviseGuard(k, mm, addr, end, advice === MADV_GUARD_INSTALL, sys);
    if (hole) throw new SyscallError("ENOMEM", sys, "range has a hole");
    return;
  }
  if (advice === MADV_WILLNEED) {
    // madvise_willneed: swap-in or page-cache read-ahead; nothing the model keeps changes.
    if (hole) throw new SyscallError("ENOMEM", sys, "range has a hole");
    return;
  }
  if (advice === MADV_FREE) {
    // madvise_free_single_vma per VMA (madvise_free.ts): lazily freeable pages, no VMA change.
    madviseFree(k, mm, addr, end);
    if (hole) throw new SyscallError("ENOMEM", sys, "range has a hole");
    return;
  }
  let cur = addr;
  while (cur < end) {
    // The next VMA from `cur` on (looked up again after each change: flags merge and split).
    const vma = mm.vmas.findFirstEndAfter(cur);
    if (vma === undefined || vma.start >= end) break;
    if (vma.start > cur) cur = vma.start;
    const tmpEnd = Math.min(vma.end, end);
    let nf = vma.flags;
    if (advice === MADV_MERGEABLE || advice === MADV_UNMERGEABLE) {
      nf = ksmMadvise(k, vma, cur, tmpEnd, advice === MADV_MERGEABLE);
    } else if (advice === MADV_DONTFORK) nf |= VM_DONTCOPY;
    else if (advice === MADV_DOFORK) nf &= ~VM_DONTCOPY;
    else if (advice === MADV_WIPEONFORK) {
      // madvise_vma_behavior: "only supported on anonymous memory" ("vma->vm_file || new_flags &
      // VM_SHARED"): EINVAL at such a VMA, after the VMAs before it got the flag.
      if (vma.file || (vma.flags & VM_SHARED)) {
        throw new SyscallError("EINVAL", sys, "MADV_WIPEONFORK needs private anonymous memory");
      }
      nf |= VM_WIPEONFORK;
    } else if (advice === MADV_KEEPONFORK) nf &= ~VM_WIPEONFORK;
    else if (advice === MADV_DONTDUMP) nf |= VM_DONTDUMP;
    else if (advice === MADV_DODUMP) nf &= ~VM_DONTDUMP;
    // madvise_vma_behavior: the read-ahead hints are VMA flags, each clearing the other.
    else if (advice === MADV_NORMAL) nf &= ~(VM_RAND_READ | VM_SEQ_READ);
    else if (advice === MADV_SEQUENTIAL) nf = (nf & ~VM_RAND_READ) | VM_SEQ_READ;
    else if (advice === MADV_RANDOM) nf = (nf & ~VM_SEQ_READ) | VM_RAND_READ;
    // hugepage_madvise: each sets its flag and clears the other.
    else if (advice === MADV_HUGEPAGE) nf = (nf & ~VM_NOHUGEPAGE) | VM_HUGEPAGE;
    else nf = (nf & ~VM_HUGEPAGE) | VM_NOHUGEPAGE;
    if (nf !== vma.flags) vmaModifyFlags(k, vma, cur, tmpEnd, nf, sys);
    cur = tmpEnd;
  }
  if (hole) throw new SyscallError("ENOMEM", sys, "range has a hole");
}

/**
 * `madvise_populate`: faults in `[addr, end)` page by page (`faultin_page_range`, mm/gup.c), for
 * write with `write` (CoW is broken as by a write), else for read, skipping pages already mapped
 * so. A VMA without VM_READ (read) or VM_WRITE (write) is EINVAL ("incompatible mappings /
 * permissions"), a hole ENOMEM, a fault that fails (past a file's end, a guard marker) EFAULT;
 * the pages before the failure stay populated [C, host: tools/verify/scenarios/madvise_flags.scn].
 */
function madvisePopulate(k: KernelState, mm: Mm, addr: number, end: number, write: boolean): void {
  const sys = "madvise";
  let a = addr;
  while (a < end) {
    const vma = mm.vmas.find(a);
    if (vma === undefined) throw new SyscallError("ENOMEM", sys, "MADV_POPULATE over a hole");
    if (!(vma.flags & (write ? VM_WRITE : VM_READ))) {
      throw new SyscallError("EINVAL", sys, "MADV_POPULATE without the permission");
    }
    for (const e = Math.min(vma.end, end); a < e; a += PAGE_SIZE) {
      const err = faultinPage(k, mm, a, write, false, true);
      if (err !== null) {
        throw new SyscallError("EFAULT", sys, `MADV_POPULATE fault failed: ${err.message}`);
      }
    }
  }
}
