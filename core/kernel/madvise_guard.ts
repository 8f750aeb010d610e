/**
 * MADV_GUARD_INSTALL and MADV_GUARD_REMOVE: guard markers, page-table entries that make any
 * access to a page fault (SIGSEGV) without a VMA of their own.
 *
 * Stands for `mm/madvise.c` (`madvise_guard_install`, `madvise_guard_remove`,
 * `is_valid_guard_vma`) with the VM_MAYBE_GUARD flag of Lorenzo Stoakes's series "mm: introduce
 * VM_MAYBE_GUARD and make visible in /proc/$pid/smaps" (which replaced an anon_vma forced on
 * every guarded VMA), as the 6.18 kernel this project verifies against behaves: measured there
 * by verify (tools/verify/scenarios/guard.scn) and the `mmap_lock` tracepoints (both advices take
 * it for read). Per VMA of the range, in address order:
 *
 * - install: a VM_LOCKED VMA is EINVAL (the VMAs before it are done; `is_valid_guard_vma`, which
 *   also refuses VM_SPECIAL and hugetlb VMAs, which the model does not have); an anonymous VMA
 *   gets an anon_vma (`anon_vma_prepare`; a file or shmem VMA does not); the VMA gains
 *   VM_MAYBE_GUARD in place (no split); the range's pages that are mapped (or swapped) are zapped,
 *   guard markers kept; every page of the range gets a marker.
 * - remove: the range's markers are cleared (allowed on VM_LOCKED VMAs). The VMA keeps
 *   VM_MAYBE_GUARD: the kernel cannot tell whether any marker is left.
 *
 * A hole in the range makes the call ENOMEM after the mapped parts are done, as for any madvise
 * (madvise.ts reports it).
 * What the markers do elsewhere: a fault on one is EFAULT (memory.ts), fork copies them
 * (`vma_needs_copy` honours VM_MAYBE_GUARD, `copy_pte_marker`), MADV_DONTNEED keeps them, munmap
 * and exit drop them (`ZAP_FLAG_DROP_MARKER`), mremap moves them with the page tables, and
 * mprotect, MADV_COLD, MADV_PAGEOUT and MADV_FREE leave them alone (docs/model.md §12.7).
 *
 * Scheme hooks called here: `prepare` (`anon_vma_prepare`, install on an anonymous VMA).
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import type { KernelState } from "./state.ts";
import { clearPte, guardPte, setPte, zapRange } from "./pgtable.ts";
import {
  type Mm,
  PAGE_SIZE,
  SyscallError,
  VM_LOCKED,
  VM_MAYBE_GUARD,
  vmaIsAnonymous,
} from "./types.ts";

/**
 * `madvise_guard_install` (`install`) or `madvise_guard_remove` over the VMAs in `[addr, end)`
 * of `mm`, whose `mmap_lock` the caller holds; throws EINVAL (install on a VM_LOCKED VMA). A hole
 * is the caller's to report (ENOMEM after the VMAs are done).
 *
 * @example Usage
 * ```ts ignore
 * madviseGuard(k, mm, addr, addr + 2 * PAGE_SIZE, true, "madvise");
 * ```
 */
export function madviseGuard(
  k: KernelState,
  mm: Mm,
  addr: number,
  end: number,
  install: boolean,
  sys: string,
): void {
  for (const v of mm.vmas.intersecting(addr, end)) {
    const s = Math.max(addr, v.start), e = Math.min(end, v.end);
    if (!install) {
      for (const vpn of mm.pages.rangeKeys(s / PAGE_SIZE, e / PAGE_SIZE)) {
        if (mm.pages.get(vpn)!.kind === "guard") clearPte(k, mm, vpn * PAGE_SIZE);
      }
      continue;
    }
    if (v.flags & VM_LOCKED) {
      throw new SyscallError("EINVAL", sys, "MADV_GUARD_INSTALL of a VM_LOCKED VMA");
    }
    // "It would be confusing for anonymous mappings to have page table entries but no anon_vma".
    if (vmaIsAnonymous(v)) k.scheme.prepare(v);
    if (!(v.flags & VM_MAYBE_GUARD)) v.flags |= VM_MAYBE_GUARD;
    // The markers go in where nothing is mapped; anything else in the range is zapped first
    // (zap_page_range_single, which keeps markers already there), then the walk is done again.
    const keys = mm.pages.rangeKeys(s / PAGE_SIZE, e / PAGE_SIZE);
    if (keys.some((vpn) => mm.pages.get(vpn)!.kind !== "guard")) zapRange(k, mm, s, e, true);
    for (let a = s; a < e; a += PAGE_SIZE) {
      if (mm.pages.get(a / PAGE_SIZE) === undefined) setPte(k, mm, a, guardPte());
    }
  }
}
