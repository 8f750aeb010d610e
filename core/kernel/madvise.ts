/**
 * `madvise` for MADV_DONTNEED, MADV_DONTFORK/DOFORK and MADV_WIPEONFORK/KEEPONFORK.
 *
 * Stands for `mm/madvise.c` (`madvise_walk_vmas`, `madvise_dontneed_single_vma`,
 * `madvise_update_vma`).
 *
 * Scheme hooks called here: none directly; through vma.ts, the merge and split hooks, and
 * through pgtable.ts (zap) `folioFreed`.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import { ksmMadvise } from "./ksm.ts";
import type { KernelState } from "./state.ts";
import { fullyMapped, isAligned, pageAlignUp } from "./mmap.ts";
import { checkSplitBudget } from "./mprotect.ts";
import { zapRange } from "./pgtable.ts";
import { vmaModifyFlags } from "./vma.ts";
import {
  MADV_DOFORK,
  MADV_DONTFORK,
  MADV_DONTNEED,
  MADV_KEEPONFORK,
  MADV_MERGEABLE,
  MADV_UNMERGEABLE,
  MADV_WIPEONFORK,
  type Mm,
  SyscallError,
  VM_DONTCOPY,
  VM_SHARED,
  VM_WIPEONFORK,
} from "./types.ts";

/**
 * `do_madvise` with `mmap_lock` held.
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
  if (!isAligned(addr)) throw new SyscallError("EINVAL", sys, "addr not page aligned");
  if (!Number.isInteger(len) || len < 0) throw new SyscallError("EINVAL", sys, "bad length");
  const end = addr + pageAlignUp(len);
  const known = [
    MADV_DONTNEED,
    MADV_DONTFORK,
    MADV_DOFORK,
    MADV_WIPEONFORK,
    MADV_KEEPONFORK,
    MADV_MERGEABLE,
    MADV_UNMERGEABLE,
  ];
  if (!known.includes(advice)) {
    throw new SyscallError("EINVAL", sys, `unsupported advice ${advice}`);
  }
  if (end === addr) return;
  // madvise_walk_vmas: the advice applies to the mapped parts of the range; a hole makes the
  // call fail with ENOMEM afterwards, "just ignore them, but return -ENOMEM at the end".
  const hole = !fullyMapped(mm, addr, end);
  if (advice === MADV_DONTNEED) {
    zapRange(k, mm, addr, end);
    if (hole) throw new SyscallError("ENOMEM", sys, "range has a hole");
    return;
  }
  if (advice === MADV_WIPEONFORK) {
    for (const v of mm.vmas.intersecting(addr, end)) {
      if (v.file || (v.flags & VM_SHARED)) {
        throw new SyscallError(
          "EINVAL",
          sys,
          "MADV_WIPEONFORK needs private anonymous memory",
        );
      }
    }
  }
  checkSplitBudget(k, mm, addr, end, sys);
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
    else if (advice === MADV_WIPEONFORK) nf |= VM_WIPEONFORK;
    else nf &= ~VM_WIPEONFORK;
    if (nf !== vma.flags) vmaModifyFlags(k, vma, cur, tmpEnd, nf, sys);
    cur = tmpEnd;
  }
  if (hole) throw new SyscallError("ENOMEM", sys, "range has a hole");
}
