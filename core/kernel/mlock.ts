/**
 * `mlock`, `mlock2`, `munlock`, `mlockall` and `munlockall`: the VMA side of locking memory.
 *
 * Stands for `mm/mlock.c` (`do_mlock`, `apply_vma_lock_flags`, `mlock_fixup`,
 * `apply_mlockall_flags`, the syscalls) of Linux 6.18; the populate that follows a lock is
 * memory.ts's {@link populateRange} (`__mm_populate`), run by the Kernel facade after the write
 * lock is dropped, as `do_mlock` and `mlockall` run it. A lock sets VM_LOCKED (and, for
 * `mlock2(MLOCK_ONFAULT)` and `MCL_ONFAULT`, VM_LOCKONFAULT) on the range through
 * `vma_modify_flags`, so it splits VMAs at the range's ends and merges them back when unlocked,
 * like any flag change. What the model leaves out, named (docs/model.md §6): RLIMIT_MEMLOCK
 * and `mm->locked_vm` (the caller is taken to hold CAP_IPC_LOCK, as the verify runner does; a
 * trace replays only calls that succeeded on the host), the unevictable LRU and the folio
 * mlock counts (`mlock_vma_pages_range` moves folios between LRUs; no VMA, PTE or rmap object
 * changes). The walks' handling of VM_LOCKED mappings
 * (`folio_referenced_one`'s stop, `try_to_unmap_one`'s abort) is rmap_walk.ts's.
 *
 * Scheme hooks called here: none directly; through vma.ts (`vma_modify_flags`), the merge and
 * split hooks.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import type { KernelState } from "./state.ts";
import { pageAlignUp } from "./mmap.ts";
import { vmaModifyFlags } from "./vma.ts";
import {
  MCL_CURRENT,
  MCL_FUTURE,
  MCL_ONFAULT,
  MLOCK_ONFAULT,
  type Mm,
  PAGE_SIZE,
  SyscallError,
  VM_LOCKED,
  VM_LOCKED_MASK,
  VM_LOCKONFAULT,
  type Vma,
} from "./types.ts";

/**
 * A lock request's range as the syscalls take it: `start` rounded down to its page and `len`
 * grown by the part of the page before it, then rounded up (`len = PAGE_ALIGN(len +
 * offset_in_page(start)); start &= PAGE_MASK`): unlike `mprotect` and `madvise`, an unaligned
 * start is accepted.
 *
 * @example Usage
 * ```ts
 * import { lockRange } from "./mlock.ts";
 * const [s, l] = lockRange(0x10010, 1);
 * if (s !== 0x10000 || l !== 0x1000) throw new Error();
 * ```
 */
export function lockRange(start: number, len: number): [number, number] {
  const offset = start % PAGE_SIZE;
  return [start - offset, pageAlignUp(len + offset)];
}

/** The VMA flags `mlock2(flags)` asks for: EINVAL for a flag other than MLOCK_ONFAULT. */
export function mlock2Flags(flags: number): number {
  if (!Number.isInteger(flags) || (flags & ~MLOCK_ONFAULT) !== 0 || flags < 0) {
    throw new SyscallError("EINVAL", "mlock2", `unknown flags ${flags} (valid: 0, MLOCK_ONFAULT)`);
  }
  return flags & MLOCK_ONFAULT ? VM_LOCKED | VM_LOCKONFAULT : VM_LOCKED;
}

/**
 * `apply_vma_lock_flags(start, len, lockFlags)` with `mmap_lock` held for write (`start` page
 * aligned, `len` a page multiple, as {@link lockRange} gives them): every VMA in the range gets
 * `lockFlags` (VM_LOCKED, VM_LOCKED | VM_LOCKONFAULT, or 0 for munlock) in place of its own lock
 * bits. ENOMEM at once, with nothing changed, when no VMA contains `start`; ENOMEM after the
 * VMAs before a hole were changed (the kernel does not undo them).
 *
 * @example Usage
 * ```ts ignore
 * applyVmaLockFlags(k, mm, addr, len, VM_LOCKED, "mlock");
 * ```
 */
export function applyVmaLockFlags(
  k: KernelState,
  mm: Mm,
  start: number,
  len: number,
  lockFlags: number,
  sys: "mlock" | "mlock2" | "munlock",
): void {
  const end = start + len;
  if (end === start) return;
  let cur = start;
  while (cur < end) {
    // The VMA containing `cur` (looked up again after each change: fixups merge and split). At
    // `start` this is vma_iter_load's: none is ENOMEM with nothing changed.
    const vma = mm.vmas.find(cur);
    if (vma === undefined) {
      throw new SyscallError(
        "ENOMEM",
        sys,
        cur === start ? "start is not mapped" : "range has a hole",
      );
    }
    const tmpEnd = Math.min(vma.end, end);
    mlockFixup(k, vma, cur, tmpEnd, (vma.flags & ~VM_LOCKED_MASK) | lockFlags, sys);
    cur = tmpEnd;
  }
}

/**
 * `mlock_fixup`: gives `[start, end)` of `vma` the flags `newFlags` (split and merge as
 * `vma_modify_flags` does), unless they are its flags already. The kernel also skips VM_SPECIAL,
 * hugetlb, DAX, secretmem and VM_DROPPABLE VMAs, none of which the model has.
 */
function mlockFixup(
  k: KernelState,
  vma: Vma,
  start: number,
  end: number,
  newFlags: number,
  sys: string,
): void {
  if (newFlags === vma.flags) return;
  vmaModifyFlags(k, vma, start, end, newFlags, sys);
}

/**
 * `apply_mlockall_flags(flags)` with `mmap_lock` held for write (`flags` checked by
 * {@link checkMlockallFlags}; 0 is `munlockall`): `mm->def_flags` loses its lock bits and gets
 * VM_LOCKED (and VM_LOCKONFAULT with MCL_ONFAULT) for MCL_FUTURE; with MCL_CURRENT, or for
 * munlockall, every VMA gets the lock bits of the request in place of its own (errors ignored).
 *
 * @example Usage
 * ```ts ignore
 * applyMlockallFlags(k, mm, MCL_CURRENT);
 * ```
 */
export function applyMlockallFlags(k: KernelState, mm: Mm, flags: number): void {
  let def = (mm.defFlags ?? 0) & ~VM_LOCKED_MASK;
  if (flags & MCL_FUTURE) {
    def |= VM_LOCKED;
    if (flags & MCL_ONFAULT) def |= VM_LOCKONFAULT;
  }
  mm.defFlags = def;
  if ((flags & MCL_FUTURE) && !(flags & MCL_CURRENT)) return;
  let toAdd = 0;
  if (flags & MCL_CURRENT) {
    toAdd = VM_LOCKED;
    if (flags & MCL_ONFAULT) toAdd |= VM_LOCKONFAULT;
  }
  // for_each_vma, each VMA changed whole (a change can merge it with the one before, so the
  // walk goes on from the end of the VMA just changed).
  let cur = 0;
  for (;;) {
    const vma = mm.vmas.findFirstEndAfter(cur);
    if (vma === undefined) break;
    const end = vma.end;
    try {
      mlockFixup(k, vma, vma.start, end, (vma.flags & ~VM_LOCKED_MASK) | toAdd, "mlockall");
    } catch (e) {
      // "Ignore errors": a fixup that fails (map_count at its limit) leaves this VMA as it is.
      if (!(e instanceof SyscallError)) throw e;
    }
    cur = end;
  }
}

/**
 * `mlockall`'s argument check: EINVAL for 0, an unknown bit, or MCL_ONFAULT alone.
 *
 * @example Usage
 * ```ts
 * import { checkMlockallFlags } from "./mlock.ts";
 * checkMlockallFlags(1); // MCL_CURRENT
 * ```
 */
export function checkMlockallFlags(flags: number): void {
  if (
    !Number.isInteger(flags) || flags <= 0 ||
    (flags & ~(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)) !== 0 || flags === MCL_ONFAULT
  ) {
    throw new SyscallError(
      "EINVAL",
      "mlockall",
      `bad flags ${flags} (valid: MCL_CURRENT and/or MCL_FUTURE, optionally with MCL_ONFAULT)`,
    );
  }
}
