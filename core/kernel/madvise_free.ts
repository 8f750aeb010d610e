/**
 * MADV_FREE: the range's anonymous pages become lazily freeable. Reclaim (MADV_PAGEOUT, kswapd)
 * then discards such a page instead of swapping it out, unless it was written again
 * (rmap_walk.ts `tryToUnmap`).
 *
 * Stands for `mm/madvise.c` of Linux 6.18 (`madvise_free_single_vma`,
 * `madvise_free_pte_range`, `madvise_dontneed_free_valid_vma`) and `folio_mark_lazyfree`
 * (mm/swap.c). Per VMA of the range, in address order: a file, shmem or VM_LOCKED VMA is EINVAL
 * (the VMAs before it were done). Per page-table entry: a swap entry is dropped at once (the
 * page would read back as zeroes: "just clear page table to prevent swap-in"); the zero page,
 * guard markers and empty entries are skipped; a large folio not mapped whole by the entries from
 * here to the range's (or the page table's) end is split when no other mm maps it, else skipped;
 * a folio in the swap cache is left alone unless this is its only mapping and no other swap
 * entry refers to its slot (`folio_free_swap`: it then leaves the swap cache); the entries' young
 * and dirty bits are cleared and the folio is marked lazily freeable. A folio mapped by other mms
 * too is marked like any other: reclaim keeps it while any of its mappings is dirty.
 *
 * What the model leaves out, named (docs/model.md §6): the folio's own dirty flag (set by
 * swap-in paths and writeback; the model has only the PTE dirty bit, so a swap-cache folio is
 * the one kept out), the lazy-free LRU and its per-CPU batching (which on Linux can leave a few
 * folios not yet marked when reclaim runs at once), and KSM folios, which the model skips.
 *
 * Scheme hooks called here: none directly; `splitFolio` through folio.ts.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import type { KernelState } from "./state.ts";
import { splitFolio } from "./folio.ts";
import { clearPte } from "./pgtable.ts";
import { folioPteBatch, mappedByOtherMm } from "./madvise_cold.ts";
import { countEvent } from "./state.ts";
import {
  type Mm,
  PAGE_SIZE,
  type PresentPte,
  SyscallError,
  VM_LOCKED,
  VM_SHARED,
} from "./types.ts";

/**
 * `madvise(MADV_FREE)` over `[start, end)` of `mm` (page aligned, `mmap_lock` held); throws
 * EINVAL at a VMA MADV_FREE refuses. A hole is the caller's to report.
 *
 * @example Usage
 * ```ts ignore
 * madviseFree(k, mm, addr, addr + 8 * PAGE_SIZE);
 * ```
 */
export function madviseFree(k: KernelState, mm: Mm, start: number, end: number): void {
  for (const v of mm.vmas.intersecting(start, end)) {
    // madvise_free_single_vma: anonymous memory only (no file, not shmem);
    // madvise_dontneed_free_valid_vma: not VM_LOCKED.
    if (v.file || (v.flags & VM_SHARED)) {
      throw new SyscallError("EINVAL", "madvise", "MADV_FREE needs private anonymous memory");
    }
    if (v.flags & VM_LOCKED) {
      throw new SyscallError("EINVAL", "madvise", "MADV_FREE of a VM_LOCKED VMA");
    }
    const e = Math.min(v.end, end);
    let a = Math.max(v.start, start);
    while (a < e) a += freePte(k, mm, a, e) * PAGE_SIZE;
  }
}

/**
 * One step of `madvise_free_pte_range` at `addr` (below `end`, in one VMA): returns how many pages
 * it covered (0: the same address again, after a split).
 */
function freePte(k: KernelState, mm: Mm, addr: number, end: number): number {
  const vpn = addr / PAGE_SIZE;
  const pte = mm.pages.get(vpn);
  if (pte === undefined) return 1;
  if (pte.kind === "swap") {
    clearPte(k, mm, addr); // free_swap_and_cache_nr + clear_not_present_full_ptes
    countEvent(k, "madv_free_swap_entries");
    return 1;
  }
  // The zero page (vm_normal_folio gives NULL) and guard markers stay.
  if (pte.kind !== "present") return 1;
  const f = pte.folio;
  if (f.ksm) return 1;
  let nr = 1;
  if (f.nrPages > 1) {
    nr = folioPteBatch(mm, vpn, end / PAGE_SIZE, pte);
    if (nr < f.nrPages) {
      if (mappedByOtherMm(f, mm)) return nr;
      return splitFolio(k, f) ? 0 : nr;
    }
  }
  const slot = k.swapCacheOf.get(f);
  if (slot !== undefined) {
    // Mapped elsewhere too, or other swap entries still refer to the slot (folio_free_swap
    // fails): left as it is.
    if (f.totalMapcount() !== f.nrPages || slot.count > 0) return nr;
    slot.cached = null;
    k.swapCacheOf.delete(f);
  }
  for (let i = 0; i < nr; i++) {
    const q = mm.pages.get(vpn + i) as PresentPte; // the batch maps the folio's pages
    q.young = false; // clear_young_dirty_ptes(CYDP_CLEAR_YOUNG | CYDP_CLEAR_DIRTY)
    q.dirty = false;
    k.exec.work("pte_update");
  }
  if (!k.lazyfree.has(f)) {
    k.lazyfree.add(f);
    countEvent(k, "folios_lazyfree");
  }
  return nr;
}
