/**
 * MADV_COLD and MADV_PAGEOUT: the range's exclusive folios are aged (their PTEs made old) or
 * reclaimed at once (`try_to_unmap`, an rmap walk per folio).
 *
 * Stands for `mm/madvise.c` of Linux 6.18 (`madvise_cold`, `madvise_pageout`,
 * `can_madv_lru_vma`, `madvise_cold_or_pageout_pte_range`) and the part of `reclaim_pages`
 * (mm/vmscan.c, `shrink_folio_list` with `ignore_references`: no `folio_referenced` walk) that
 * touches the rmap: per VMA in the range, a VM_LOCKED VMA is EINVAL (the VMAs before it were
 * done); per present PTE (not the zero page), a large folio not mapped whole by the PTEs from
 * here to the range's or the page table's end is split when no other mm maps it, else skipped; a
 * folio whose mapcount is not its page count (mapped elsewhere too) is left alone; the rest are
 * made old (COLD) or, at the end of each VMA, in address order, reclaimed (PAGEOUT). What the
 * model leaves out, named (docs/model.md §6): the LRU lists (`folio_deactivate`, `workingset`;
 * the model has one anon LRU and leaves it as it is), swap space (reclaim always finds a slot, as
 * the model's kswapd does), and page-cache folios, which `tryToUnmap` does not reclaim: PAGEOUT
 * reclaims anonymous folios only (a private file mapping's CoW copies included), and COLD ages
 * file pages as it ages anonymous ones.
 *
 * Scheme hooks called here: `walk` (through rmap_walk.ts's `tryToUnmap`) and `splitFolio`
 * (through folio.ts).
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import type { KernelState } from "./state.ts";
import { splitFolio } from "./folio.ts";
import { tryToUnmap } from "./rmap_walk.ts";
import { SLOTS } from "./pte_node.ts";
import {
  type Folio,
  type Mm,
  PAGE_SIZE,
  type PresentPte,
  SyscallError,
  VM_LOCKED,
} from "./types.ts";

/**
 * MADV_COLD (`pageout` false) or MADV_PAGEOUT of `[start, end)` (page aligned) with `mmap_lock`
 * held. Holes are the caller's (madvise's ENOMEM at the end).
 *
 * @example Usage
 * ```ts ignore
 * madviseColdOrPageout(k, mm, addr, addr + len, true);
 * ```
 */
export function madviseColdOrPageout(
  k: KernelState,
  mm: Mm,
  start: number,
  end: number,
  pageout: boolean,
): void {
  let cur = start;
  while (cur < end) {
    const vma = mm.vmas.findFirstEndAfter(cur);
    if (vma === undefined || vma.start >= end) return;
    // can_madv_lru_vma: VM_PFNMAP and VM_HUGETLB do not arise in the model.
    if (vma.flags & VM_LOCKED) {
      throw new SyscallError("EINVAL", "madvise", "MADV_COLD/MADV_PAGEOUT of locked memory");
    }
    const e = Math.min(vma.end, end);
    const reclaim: Folio[] = [];
    let a = Math.max(cur, vma.start);
    cur = e;
    while (a < e) {
      const nr = coldOrPageoutPte(k, mm, a, e, pageout, reclaim);
      a += nr * PAGE_SIZE;
    }
    // reclaim_pages: try_to_unmap of each folio still mapped, in the order they were isolated.
    for (const f of reclaim) if (!f.freed && f.mapped()) tryToUnmap(k, f);
  }
}

/**
 * One step of `madvise_cold_or_pageout_pte_range` at `addr` (below `end`, in one VMA): returns
 * how many pages it covered (0: the same address again, after a split).
 */
function coldOrPageoutPte(
  k: KernelState,
  mm: Mm,
  addr: number,
  end: number,
  pageout: boolean,
  reclaim: Folio[],
): number {
  const vpn = addr / PAGE_SIZE;
  const pte = mm.pages.get(vpn);
  // pte_none, !pte_present (swap), and vm_normal_folio's NULL for the zero page.
  if (pte === undefined || pte.kind !== "present") return 1;
  const f = pte.folio;
  let nr = 1;
  if (f.nrPages > 1) {
    nr = folioPteBatch(mm, vpn, end / PAGE_SIZE, pte);
    if (nr < f.nrPages) {
      // Split a folio only this mm maps ("If we encounter a large folio, only split it if it is
      // not fully mapped within the range"); on success the same PTE is looked at again.
      if (mappedByOtherMm(f, mm)) return nr;
      return splitFolio(k, f) ? 0 : nr;
    }
  }
  // "Do not interfere with other mappings of this folio": mapcount must be the page count.
  if (f.totalMapcount() !== f.nrPages) return nr;
  if (!pageout) {
    for (let i = 0; i < nr; i++) {
      const q = mm.pages.get(vpn + i);
      if (q?.kind === "present") q.young = false;
    }
    return nr;
  }
  // The model reclaims anonymous folios only (see the module comment). A folio is isolated once:
  // all its PTEs are this one batch (mapcount is its page count), so only the last one taken can
  // be it again.
  if (f.anon && reclaim[reclaim.length - 1] !== f) reclaim.push(f);
  return nr;
}

/**
 * `madvise_folio_pte_batch`: how many PTEs from page `vpn` on, up to page `endVpn` or the end of
 * the page table, map `pte`'s folio's following pages (MADV_COLD, MADV_PAGEOUT and MADV_FREE).
 *
 * @example Usage
 * ```ts ignore
 * const nr = folioPteBatch(mm, vpn, end / PAGE_SIZE, pte); // 1 ... folio pages
 * ```
 */
export function folioPteBatch(mm: Mm, vpn: number, endVpn: number, pte: PresentPte): number {
  const f = pte.folio;
  const tableEnd = (Math.floor(vpn / SLOTS) + 1) * SLOTS;
  const limit = Math.min(endVpn, tableEnd, vpn + f.nrPages - pte.page);
  let nr = 1;
  while (vpn + nr < limit) {
    const q = mm.pages.get(vpn + nr);
    if (q?.kind !== "present" || q.folio !== f || q.page !== pte.page + nr) break;
    nr++;
  }
  return nr;
}

/**
 * `folio_maybe_mapped_shared` for a large folio: whether an mm other than `mm` maps it.
 *
 * @example Usage
 * ```ts ignore
 * if (mappedByOtherMm(folio, mm)) return nr; // leave it as it is
 * ```
 */
export function mappedByOtherMm(f: Folio, mm: Mm): boolean {
  for (const m of f.mappers.values()) if (m.mm !== mm) return true;
  return false;
}
