/**
 * PMD-size transparent huge pages of private anonymous memory: the fault that maps one
 * (`do_huge_pmd_anonymous_page`), on a VMA the THP sysfs mode allows, where the aligned 2 MiB
 * lies inside the VMA and has no page table yet. docs/model.md §5.3.
 *
 * Stands for the anonymous fault path of `mm/huge_memory.c` and the PMD-level test of
 * `__handle_mm_fault` (mm/memory.c), with `thp_vma_allowable_order` and
 * `thp_vma_suitable_order` (include/linux/huge_mm.h), Linux 6.18.
 *
 * The model maps a THP as the 512 PTEs of one 512-page folio, the way it maps an mTHP, and the
 * huge zero page as 512 zero-page PTEs: a page-table walk, `mincore`, fork's copy, a CoW fault
 * (Linux splits the PMD and copies one page: `do_huge_pmd_wp_page`'s fallback) and a zap of part
 * of it (Linux splits the PMD first) then act as they do on Linux. Which 2 MiB ranges are still
 * mapped by one PMD entry is kept (`Mm.hugePmds`: set by the faults, copied by fork, moved by
 * mremap's whole-table move and UFFDIO_MOVE's `move_pages_huge_pmd`, split by a change of any
 * entry or a VMA boundary inside): a write to the huge zero page maps a whole new THP there
 * (`do_huge_zero_wp_pmd`) where a split one copies one page, UFFDIO_MOVE moves an aligned 2 MiB
 * whole where it would split a folio, and smaps counts a PMD-mapped THP in AnonHugePages. Not
 * modelled, named: `do_huge_pmd_wp_page` reuses a whole exclusive THP where the model reuses the
 * page (`wp_can_reuse_anon_folio`); khugepaged, which collapses ranges into THPs in the
 * background; a failed THP allocation (`VM_FAULT_FALLBACK`); and `MMF_DISABLE_THP` (prctl).
 *
 * Scheme hooks called here: `prepare` (`vmf_anon_prepare`, before either kind of THP mapping),
 * `moveLock` and `moveAnon` (UFFDIO_MOVE of a whole THP: the anon_vma write lock and
 * `folio_move_anon_rmap`).
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import { newAnonFolio } from "./memory.ts";
import type { Access } from "./memory.ts";
import {
  attachPte,
  detachPte,
  hugePmdAt,
  PMD_SIZE,
  pmdNone,
  presentPte,
  PTES_PER_TABLE_SHIFT,
  pteTableIndex,
  setHugePmd,
  setPte,
  zeroPagePte,
} from "./pgtable.ts";
import { countEvent, type KernelState } from "./state.ts";
import {
  hex,
  linearPageIndex,
  type Mm,
  PAGE_SIZE,
  type PresentPte,
  SyscallError,
  VM_HUGEPAGE,
  VM_NOHUGEPAGE,
  VM_UFFD_MISSING,
  VM_WRITE,
  type Vma,
} from "./types.ts";

/** log2 of the pages of a PMD-size THP (`HPAGE_PMD_ORDER`: 9, 2 MiB, on x86_64). */
export const PMD_ORDER = PTES_PER_TABLE_SHIFT;

/** Pages of a PMD-size THP (`HPAGE_PMD_NR`). */
const PMD_PAGES = 1 << PMD_ORDER;

/**
 * Whether a fault at `addr` of private anonymous `vma` takes the PMD path: `pmd_none` and
 * `thp_vma_allowable_order(vma, vm_flags, TVA_PAGEFAULT, PMD_ORDER)`. The kernel has THP
 * (`params.thp`), the sysfs mode allows the VMA ("always": no VM_NOHUGEPAGE; "madvise": also
 * VM_HUGEPAGE), the aligned 2 MiB lies inside the VMA (anonymous VMAs need no pgoff alignment),
 * and no page table covers it.
 *
 * @example Usage
 * ```ts ignore
 * if (thpFaultAllowed(k, vma, addr)) doHugePmdAnonymousPage(k, vma, addr, "write", true);
 * ```
 */
export function thpFaultAllowed(k: KernelState, vma: Vma, addr: number): boolean {
  const p = k.params;
  if (!p.thp || p.thpEnabled === "never") return false;
  const flags = vma.flags;
  if (flags & VM_NOHUGEPAGE) return false;
  if (p.thpEnabled === "madvise" && (flags & VM_HUGEPAGE) === 0) return false;
  const haddr = Math.floor(addr / PMD_SIZE) * PMD_SIZE;
  if (haddr < vma.start || haddr + PMD_SIZE > vma.end) return false;
  return pmdNone(vma.mm, pteTableIndex(haddr / PAGE_SIZE));
}

/**
 * The PMD step of a fault at `addr` (page aligned) of private anonymous `vma` with no PTE there:
 * when {@link thpFaultAllowed}, maps a THP or the huge zero page and returns true; otherwise
 * returns false and the fault goes on at the PTE level.
 *
 * @example Usage
 * ```ts ignore
 * if (!thpFault(k, vma, addr, access, user)) doAnonymousPage(k, vma, addr, access, user);
 * ```
 */
export function thpFault(
  k: KernelState,
  vma: Vma,
  addr: number,
  access: Access,
  user: boolean,
): boolean {
  if (!thpFaultAllowed(k, vma, addr)) return false;
  doHugePmdAnonymousPage(k, vma, addr, access, user);
  return true;
}

/**
 * `do_huge_pmd_anonymous_page` (mm/huge_memory.c, Linux 6.18): `vmf_anon_prepare` first, so even
 * a read gives the VMA its anon_vma (the PTE path's zero-page read does not). A read where the
 * zero page is allowed (`params.zeroPage`, not `mm_forbids_zeropage`) and `use_zero_page` is on
 * maps the huge zero page; anything else allocates a THP (`__do_huge_pmd_anonymous_page`), mapped
 * dirty and, in a VM_WRITE VMA, writable. A userfaultfd-armed VMA (missing mode) gets
 * `handle_userfault` instead of the mapping, which with UFFD_FEATURE_SIGBUS is SIGBUS (EFAULT).
 */
function doHugePmdAnonymousPage(
  k: KernelState,
  vma: Vma,
  addr: number,
  access: Access,
  user: boolean,
): void {
  k.scheme.prepare(vma);
  if (vma.flags & VM_UFFD_MISSING) {
    throw new SyscallError("EFAULT", "touch", `SIGBUS: userfaultfd missing fault at ${hex(addr)}`);
  }
  const haddr = Math.floor(addr / PMD_SIZE) * PMD_SIZE;
  if (access === "read" && k.params.zeroPage && k.params.thpUseZeroPage) {
    // set_huge_zero_folio: one read-only PMD entry over the huge zero page.
    for (let i = 0; i < PMD_PAGES; i++) setPte(k, vma.mm, haddr + i * PAGE_SIZE, zeroPagePte(true));
    setHugePmd(vma.mm, haddr, "huge_zero");
    countEvent(k, "faults_thp_zero_page");
    return;
  }
  // map_anon_folio_pmd: `maybe_pmd_mkwrite(pmd_mkdirty(entry))`; a user write leaves its data in
  // one page, the kernel's own fault (a populate) leaves zeroes.
  newAnonFolio(k, vma, addr, (vma.flags & VM_WRITE) !== 0, !user || access === "read", true);
  setHugePmd(vma.mm, haddr, "thp");
  countEvent(k, "faults_thp");
}

/**
 * `do_huge_zero_wp_pmd` (mm/huge_memory.c, Linux 6.18, from `do_huge_pmd_wp_page`): a write fault
 * on a PMD entry of the huge zero page (see `Mm.hugePmds`) allocates a THP and maps it over
 * the whole 2 MiB in place of the huge zero page (`pmdp_huge_clear_flush`, then
 * `map_anon_folio_pmd_pf`: dirty, writable, exclusive, added to the VMA's anon_vma). The VMA has
 * its anon_vma from the read fault that mapped the huge zero page (`VM_BUG_ON_VMA` otherwise);
 * a scheme that gives a fork child none yet prepares one here, as `newAnonFolio` does. The
 * allocation does not fail in the model, so the fallback (split the PMD, copy one page) is not
 * taken. `user`: a user write, whose data lands in one page; a populate leaves zeroes in all.
 * Returns false, changing nothing, when no huge zero PMD maps `addr` (a zero-page PTE of its
 * own, or of a split PMD: the PTE-level `wp_page_copy` follows).
 *
 * @example Usage
 * ```ts ignore
 * if (pte.kind === "zero" && doHugeZeroWpPmd(k, vma, addr, true)) return;
 * ```
 */
export function doHugeZeroWpPmd(k: KernelState, vma: Vma, addr: number, user: boolean): boolean {
  if (hugePmdAt(vma.mm, addr) !== "huge_zero") return false;
  newAnonFolio(k, vma, addr, (vma.flags & VM_WRITE) !== 0, !user, true);
  setHugePmd(vma.mm, Math.floor(addr / PMD_SIZE) * PMD_SIZE, "thp");
  countEvent(k, "faults_thp_zero_page_wp");
  return true;
}

/**
 * Whether UFFDIO_MOVE moves the 2 MiB at `src` as one PMD entry to `dst` (`move_pages`): one
 * entry maps it (`Mm.hugePmds`), both addresses are 2 MiB aligned, at least 2 MiB are left to
 * move (`move_splits_huge_pmd`), and the destination has no page table (`pmd_none`). Otherwise,
 * where one entry maps the source, it is split and the pages move one by one, except that a THP
 * not exclusive to this mapping fails with EBUSY first (its PMD left whole).
 *
 * @example Usage
 * ```ts ignore
 * if (uffdMovesHugePmd(mm, dst, src, len - off)) moveHugePmd(k, mm, dstVma, dst, src);
 * ```
 */
export function uffdMovesHugePmd(mm: Mm, dst: number, src: number, left: number): boolean {
  const kind = hugePmdAt(mm, src);
  if (kind === undefined) return false;
  if (
    src % PMD_SIZE === 0 && dst % PMD_SIZE === 0 && left >= PMD_SIZE &&
    pmdNone(mm, pteTableIndex(dst / PAGE_SIZE))
  ) return true;
  const pte = mm.pages.get(src / PAGE_SIZE);
  if (kind === "thp" && pte?.kind === "present" && !pte.folio.pageAnonExclusive(0)) {
    throw new SyscallError("EBUSY", "UFFDIO_MOVE", `a shared THP at ${hex(src)}`);
  }
  mm.hugePmds!.delete(Math.floor(src / PMD_SIZE)); // split_huge_pmd
  return false;
}

/**
 * `move_pages_huge_pmd` (mm/huge_memory.c, Linux 6.18): UFFDIO_MOVE of the 2 MiB at `src` that
 * one PMD entry maps, as one, to `dst` in `dstVma` (see {@link uffdMovesHugePmd}). The source is
 * left without a table (the deposited table goes with the entry). A THP must be exclusive and not
 * pinned (EBUSY); under its anon_vma's write lock (the scheme's `moveLock`) it moves to the
 * destination VMA's anon_vma (`folio_move_anon_rmap`), takes the destination's index, and is
 * mapped dirty and, in a VM_WRITE VMA, writable ("follow mremap() behavior"); the huge zero page
 * moves as it is.
 *
 * @example Usage
 * ```ts ignore
 * moveHugePmd(k, mm, dstVma, dst, src);
 * ```
 */
export function moveHugePmd(k: KernelState, mm: Mm, dstVma: Vma, dst: number, src: number): void {
  const kind = hugePmdAt(mm, src)!;
  const sv = src / PAGE_SIZE, dv = dst / PAGE_SIZE;
  if (kind === "thp") {
    const f = (mm.pages.get(sv) as PresentPte).folio;
    if (f.pinned || !f.pageAnonExclusive(0)) {
      throw new SyscallError("EBUSY", "UFFDIO_MOVE", `a shared or pinned THP at ${hex(src)}`);
    }
    const lock = k.scheme.moveLock?.(f) ?? null;
    if (lock !== null) k.exec.acquire(lock, "write");
    try {
      const zeroes: boolean[] = [];
      for (let i = 0; i < PMD_PAGES; i++) {
        zeroes.push((detachPte(mm, sv + i) as PresentPte).zeroFilled === true);
        k.oracle.unmap(f, mm, src + i * PAGE_SIZE);
      }
      k.scheme.moveAnon(f, dstVma);
      f.index = linearPageIndex(dstVma, dst);
      const w = (dstVma.flags & VM_WRITE) !== 0;
      for (let i = 0; i < PMD_PAGES; i++) {
        attachPte(mm, dv + i, presentPte(f, i, w, true, false, true, zeroes[i]));
        k.oracle.map(f, mm, dst + i * PAGE_SIZE);
      }
    } finally {
      if (lock !== null) k.exec.release(lock, "write");
    }
  } else {
    for (let i = 0; i < PMD_PAGES; i++) {
      detachPte(mm, sv + i);
      attachPte(mm, dv + i, zeroPagePte(true));
    }
  }
  mm.emptyTables?.delete(pteTableIndex(sv)); // pmd_none: the table went with the entry
  setHugePmd(mm, dst, kind);
  k.exec.work("pte_update", 2);
  countEvent(k, "uffd_move_huge_pmds");
}
