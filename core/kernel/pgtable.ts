/**
 * Page tables: one PTE per virtual page number, PTE-page (page-table page) accounting, the
 * constructors of the PTE kinds (present, zero page, swap; none is the absence of an entry, see
 * `Pte` in types.ts), and the primitives that install and remove PTEs while keeping folio
 * mapcounts, swap counts and the oracle exact.
 *
 * Stands for `include/linux/pgtable.h` and the PTE-level parts of `mm/memory.c`
 * (`set_pte_at`, `ptep_get_and_clear`, `zap_pte_range`) and `mm/pgtable-generic.c`.
 *
 * Scheme hooks called here: none directly; freeing the last mapping of an anon folio reaches
 * `folioFreed` through {@link maybeFreeFolio} (folio.ts).
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import type { KernelState } from "./state.ts";
import type {
  Folio,
  GuardPte,
  HugePmd,
  Mm,
  NonePte,
  PresentPte,
  Pte,
  PteValue,
  SwapPte,
  SwapSlot,
  ZeroPagePte,
} from "./types.ts";
import { PAGE_SIZE, PMD_SIZE, PTES_PER_TABLE_SHIFT } from "./types.ts";
import { maybeFreeFolio, putSwap } from "./folio.ts";
import { PteNode } from "./page_table.ts";
import type { Vma } from "./types.ts";
import type { Range } from "../lib/gap_tree.ts";

export { PMD_SIZE, PTES_PER_TABLE_SHIFT } from "./types.ts";

/**
 * The page-table page (PMD index) that holds the PTE of page `vpn`: `vpn >> 9` in the kernel's
 * `pmd_index` sense. Computed by division, not with `>>`, which would first cut `vpn` to 32 bits
 * and so give pages 16 TiB apart (2^32 pages) the same table.
 */
export function pteTableIndex(vpn: number): number {
  return Math.floor(vpn / (1 << PTES_PER_TABLE_SHIFT));
}

/** The empty entry: a lookup of an unpopulated address (`pte_none`). */
export const PTE_NONE: NonePte = Object.freeze({ kind: "none" });

/**
 * `mk_pte` for page `page` of `folio`.
 *
 * @example Usage
 * ```ts ignore
 * setPte(k, mm, addr, presentPte(folio, 0, true, true));
 * ```
 */
export function presentPte(
  folio: Folio,
  page: number,
  writable: boolean,
  young: boolean,
  protNone = false,
  dirty = false,
  zeroFilled = false,
): PresentPte {
  return PteNode.present(
    folio,
    page,
    writable,
    young,
    protNone,
    dirty,
    zeroFilled,
  ) as unknown as PresentPte;
}

/**
 * The zero-page PTE (`pte_mkspecial(pfn_pte(my_zero_pfn(addr)))`), read-only.
 *
 * @example Usage
 * ```ts ignore
 * setPte(k, mm, addr, zeroPagePte(true));
 * ```
 */
export function zeroPagePte(young: boolean, protNone = false): ZeroPagePte {
  return PteNode.zero(young, protNone) as unknown as ZeroPagePte;
}

/**
 * A swap PTE referring to `slot` (`swp_entry_to_pte`), with `pte_swp_mkexclusive` when
 * `exclusive`; the caller counts the reference.
 *
 * @example Usage
 * ```ts ignore
 * slot.count++;
 * attachPte(mm, vpn, swapPte(slot));
 * ```
 */
export function swapPte(slot: SwapSlot, exclusive = false): SwapPte {
  return PteNode.swap(slot, exclusive) as unknown as SwapPte;
}

/**
 * A guard marker (`make_pte_marker(PTE_MARKER_GUARD)`, MADV_GUARD_INSTALL).
 *
 * @example Usage
 * ```ts ignore
 * setPte(k, mm, addr, guardPte());
 * ```
 */
export function guardPte(): GuardPte {
  return PteNode.guard() as unknown as GuardPte;
}

/**
 * `ptep_get`: the entry at virtual page `vpn`, {@link PTE_NONE} when there is none.
 *
 * @example Usage
 * ```ts ignore
 * const pte = ptepGet(mm, addr / PAGE_SIZE);
 * if (pte.kind === "none") doAnonymousPage(k, vma, addr, access);
 * ```
 */
export function ptepGet(mm: Mm, vpn: number): PteValue {
  return mm.pages.get(vpn) ?? PTE_NONE;
}

/**
 * Puts `pte` in the page table at `vpn` (no reference counting).
 *
 * @example Usage
 * ```ts ignore
 * attachPte(mm, vpn, pte);
 * ```
 */
export function attachPte(mm: Mm, vpn: number, pte: Pte): void {
  mm.pages.set(vpn, pte);
  countPte(mm, pteTableIndex(vpn));
}

/** One more entry in table `t`: a table that was empty, or absent, holds one. */
function countPte(mm: Mm, t: number): void {
  const c = mm.ptePages.get(t);
  if (c === undefined) {
    mm.ptePages.set(t, 1);
    if (mm.emptyTables !== undefined) mm.emptyTables.delete(t);
  } else mm.ptePages.set(t, c + 1);
}

/**
 * Takes the PTE at `vpn` out of the page table (no reference counting); returns it.
 *
 * @example Usage
 * ```ts ignore
 * const old = detachPte(mm, vpn);
 * ```
 */
export function detachPte(mm: Mm, vpn: number): Pte | undefined {
  const pte = mm.pages.take(vpn);
  if (!pte) return undefined;
  const t = pteTableIndex(vpn);
  // A huge PMD is split before any one of its entries changes (`__split_huge_pmd`).
  if (mm.hugePmds !== undefined) mm.hugePmds.delete(t);
  const c = mm.ptePages.get(t)! - 1;
  if (c === 0) {
    // The table stays, empty, until free_pgtables or an empty-table reclaim frees it.
    mm.ptePages.delete(t);
    (mm.emptyTables ??= new Set()).add(t);
  } else mm.ptePages.set(t, c);
  return pte;
}

/**
 * `set_pte_at` with the rmap bookkeeping of its callers: replaces any PTE at `addr`, raises the
 * mapcount of the page it maps and tells the oracle.
 *
 * @example Usage
 * ```ts ignore
 * setPte(k, mm, addr, { folio, page: 0, writable: true, young: true });
 * ```
 */
export function setPte(k: KernelState, mm: Mm, addr: number, pte: Pte): void {
  const vpn = addr / PAGE_SIZE;
  // Linked at once when the slot is empty (one page-table lookup); otherwise the old entry is
  // cleared first, as before.
  if (mm.pages.insertAbsent(vpn, pte)) countPte(mm, pteTableIndex(vpn));
  else {
    clearPte(k, mm, addr);
    attachPte(mm, vpn, pte);
  }
  if (pte.kind === "present") {
    pte.folio.addPageMapcount(pte.page, 1);
    if (pte.folio.anon) k.oracle.map(pte.folio, mm, addr);
  }
  k.exec.work("pte_update");
}

/**
 * Removes a PTE (`ptep_get_and_clear` + `folio_remove_rmap_pte`); drops the folio's mapping and
 * frees it when nothing maps it, or drops a swap PTE's reference to its slot.
 *
 * @example Usage
 * ```ts ignore
 * clearPte(k, mm, addr);
 * ```
 */
export function clearPte(k: KernelState, mm: Mm, addr: number): void {
  const pte = detachPte(mm, addr / PAGE_SIZE);
  if (!pte) return;
  releasePte(k, mm, addr, pte);
}

/** What {@link clearPte} does once the entry at `addr` is out of (or leaving) the page table. */
function releasePte(k: KernelState, mm: Mm, addr: number, pte: Pte): void {
  k.exec.work("pte_update");
  if (pte.kind === "present") {
    const f = pte.folio;
    f.addPageMapcount(pte.page, -1);
    if (f.anon) k.oracle.unmap(f, mm, addr);
    maybeFreeFolio(k, f);
  } else if (pte.kind === "swap") {
    putSwap(k, pte.swap);
  }
}

/**
 * `zap_page_range`: clears every PTE of `[start, end)`. Guard markers go too
 * (`ZAP_FLAG_DROP_MARKER`: munmap, exit) unless `keepGuards` (MADV_DONTNEED and the zap of
 * MADV_GUARD_INSTALL: `zap_nonpresent_ptes` keeps a marker without that flag).
 *
 * @example Usage
 * ```ts ignore
 * zapRange(k, mm, start, end);
 * ```
 */
export function zapRange(
  k: KernelState,
  mm: Mm,
  start: number,
  end: number,
  keepGuards = false,
): void {
  for (const vpn of mm.pages.rangeKeys(start / PAGE_SIZE, end / PAGE_SIZE)) {
    if (keepGuards && mm.pages.get(vpn)!.kind === "guard") continue;
    clearPte(k, mm, vpn * PAGE_SIZE);
  }
}

/**
 * `zap_page_range` of every VMA of an exiting mm (`vmas`: all of them, in address order): the
 * same clears in the same order as {@link zapRange} per VMA, but when every PTE of the mm lies
 * in one of the VMAs (always, unless the caller left a stray entry) the page tables are emptied
 * at once at the end instead of one tree removal per PTE.
 *
 * @example Usage
 * ```ts ignore
 * zapWholeMm(k, mm, vmas);
 * ```
 */
export function zapWholeMm(
  k: KernelState,
  mm: Mm,
  vmas: readonly Vma[],
  count: number = vmas.length,
): void {
  // Every PTE in address order, checked against the VMAs (also in address order) in one pass.
  const nodes = zapNodes as PteNode[], vpns = zapVpns;
  const n = mm.pages.rangeNodesInto(-Infinity, Infinity, nodes, vpns, 0);
  let j = 0;
  let vEnd = -Infinity;
  let vStart = Infinity;
  for (let i = 0; i < n; i++) {
    const vpn = vpns[i];
    while (vpn >= vEnd) {
      if (j === count) {
        vStart = Infinity;
        break;
      }
      // Through the methods when the VMA has them (as the VMA tree reads it): a getter that is
      // not inlined returns a file VMA's end as a new heap number.
      const v: Range = vmas[j++];
      vStart = (v.startOf === undefined ? v.start : v.startOf()) / PAGE_SIZE;
      vEnd = (v.endOf === undefined ? v.end : v.endOf()) / PAGE_SIZE;
    }
    if (!(vpn >= vStart && vpn < vEnd)) {
      dropZapScratch(n);
      for (let m = 0; m < count; m++) zapRange(k, mm, vmas[m].start, vmas[m].end);
      return;
    }
  }
  // Nothing below reads this mm's page tables (folio freeing and the oracle do not), nor zaps.
  for (let i = 0; i < n; i++) {
    releasePte(k, mm, vpns[i] * PAGE_SIZE, nodes[i] as unknown as Pte);
  }
  dropZapScratch(n);
  mm.pages.clear();
  mm.ptePages.clear();
  mm.emptyTables = undefined;
  mm.hugePmds = undefined;
}

/**
 * What the PMD entry over the 2 MiB around `addr` maps, if the model keeps one there (see
 * `Mm.hugePmds`): "huge_zero" (`is_huge_zero_pmd`), "thp", or undefined (none, or split).
 *
 * @example Usage
 * ```ts ignore
 * if (hugePmdAt(vma.mm, addr) === "huge_zero") doHugeZeroWpPmd(k, vma, addr, true);
 * ```
 */
export function hugePmdAt(mm: Mm, addr: number): HugePmd | undefined {
  return mm.hugePmds === undefined ? undefined : mm.hugePmds.get(Math.floor(addr / PMD_SIZE));
}

/**
 * Notes that one PMD entry of `kind` maps the 2 MiB at `haddr` (2 MiB aligned), whose 512 PTEs
 * the caller has just set.
 *
 * @example Usage
 * ```ts ignore
 * setHugePmd(vma.mm, haddr, "thp");
 * ```
 */
export function setHugePmd(mm: Mm, haddr: number, kind: HugePmd): void {
  (mm.hugePmds ??= new Map()).set(haddr / PMD_SIZE, kind);
}

/**
 * `pmd_none` for page-table index `t` (`pteTableIndex`): no page-table page there, with entries
 * or without. A THP fault needs it (`__handle_mm_fault`, mm/memory.c).
 *
 * @example Usage
 * ```ts ignore
 * if (pmdNone(mm, pteTableIndex(addr / PAGE_SIZE))) doHugePmdAnonymousPage(k, vma, addr);
 * ```
 */
export function pmdNone(mm: Mm, t: number): boolean {
  return !mm.ptePages.has(t) && mm.emptyTables?.has(t) !== true;
}

/**
 * The page-table part of `free_pgtables` (mm/memory.c, `free_pgd_range`) after `[start, end)` was
 * unmapped: the empty tables of the range are freed where their whole 2 MiB lies between the
 * VMAs left on either side (`floor`: the end of the one below, `ceiling`: the start of the one
 * above); a table a remaining VMA still overlaps stays.
 *
 * @example Usage
 * ```ts ignore
 * freePgtables(mm, vma.start, vma.end, prev?.end ?? 0, next?.start ?? Infinity);
 * ```
 */
export function freePgtables(
  mm: Mm,
  start: number,
  end: number,
  floor: number,
  ceiling: number,
): void {
  const empty = mm.emptyTables;
  if (empty === undefined || empty.size === 0) return;
  const first = Math.max(Math.floor(start / PMD_SIZE), Math.ceil(floor / PMD_SIZE));
  const last = Math.min(Math.ceil(end / PMD_SIZE), Math.floor(ceiling / PMD_SIZE));
  if (last - first > empty.size) {
    for (const t of empty) if (t >= first && t < last) empty.delete(t);
  } else for (let t = first; t < last; t++) empty.delete(t);
}

/**
 * MADV_DONTNEED's empty-table reclaim (CONFIG_PT_RECLAIM, on for x86_64 and on this host:
 * `zap_pte_range` with `details->reclaim_pt`, mm/memory.c and mm/pt_reclaim.c): after the zap of
 * `[start, end)` inside one VMA, a table whose whole 2 MiB lies in the range and that holds no
 * entry (a guard marker is one) is freed.
 *
 * @example Usage
 * ```ts ignore
 * reclaimEmptyTables(mm, start, end);
 * ```
 */
export function reclaimEmptyTables(mm: Mm, start: number, end: number): void {
  const empty = mm.emptyTables;
  if (empty === undefined || empty.size === 0) return;
  const first = Math.ceil(start / PMD_SIZE), last = Math.floor(end / PMD_SIZE);
  for (let t = first; t < last; t++) empty.delete(t);
}

/**
 * Scratch arrays of {@link zapWholeMm}: every entry of the mm and its page, filled by index (they
 * keep their room from exit to exit; node slots are set to null after each).
 */
const zapNodes: (PteNode | null)[] = [];
const zapVpns: number[] = [];
/** Entries the scratch arrays keep room for. */
const ZAP_SCRATCH_KEEP = 16384;

/** Lets go of the first `n` slots of {@link zapNodes} (all its room, past a large mm's worth). */
function dropZapScratch(n: number): void {
  if (n > ZAP_SCRATCH_KEEP) zapNodes.length = zapVpns.length = 0;
  else for (let i = 0; i < n; i++) zapNodes[i] = null;
}

/**
 * The tables of fork's copy of `[start, end)` from `pm` to `cm`: `copy_pte_range` allocates the
 * child's table wherever the parent has one (`copy_pmd_range` skips only `pmd_none`), whether or
 * not an entry is copied into it; one that received no entry is empty. `copied`: the copy put
 * at least one entry in the child.
 *
 * @example Usage
 * ```ts ignore
 * copyTables(parent, child, vma.start, vma.end, true);
 * ```
 */
export function copyTables(pm: Mm, cm: Mm, start: number, end: number, copied: boolean): void {
  const first = pteTableIndex(start / PAGE_SIZE), last = pteTableIndex((end - 1) / PAGE_SIZE);
  // `copied`: some entry was copied; in a VMA within one table, into that table (unless the VMA
  // is exactly one huge PMD's 2 MiB, which the child gets as one too).
  if (copied && first === last && pm.hugePmds === undefined) return;
  for (let t = first; t <= last; t++) {
    if (!cm.ptePages.has(t) && !pmdNone(pm, t)) (cm.emptyTables ??= new Set()).add(t);
  }
  // copy_huge_pmd: a huge PMD is copied as one (the huge zero page, or the THP shared and
  // write-protected); it lies inside the VMA (a boundary inside would have split it). A THP that
  // may be DMA-pinned is split instead, and its pages copied (`copy_present_page`).
  const h = pm.hugePmds;
  if (h !== undefined && h.size > 0) {
    for (const [t, kind] of h) {
      if (t < first || t > last) continue;
      const vpn = t * (1 << PTES_PER_TABLE_SHIFT), p = pm.pages.get(vpn), c = cm.pages.get(vpn);
      if (kind === "thp" && (p?.folio == null || p.folio !== c?.folio)) h.delete(t);
      else (cm.hugePmds ??= new Map()).set(t, kind);
    }
  }
}
