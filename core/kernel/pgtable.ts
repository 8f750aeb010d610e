/**
 * Page tables: one PTE per virtual page number, PTE-page (page-table page) accounting, and the
 * primitives that install and remove PTEs while keeping folio mapcounts and the oracle exact.
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
import { type Folio, type Mm, PAGE_SIZE, type Pte } from "./types.ts";
import { maybeFreeFolio, putSwap } from "./folio.ts";

/** log2 of the PTEs per page-table page (512 on x86_64: `PTRS_PER_PTE`). */
export const PTES_PER_TABLE_SHIFT = 9;

/** A swap slot: a reclaimed anon page that PTEs still refer to. */
export interface SwapSlot {
  /** Unique id (allocation order). */
  id: number;
  /** Number of swap PTEs referring to the slot (`swap_count`). */
  count: number;
  /** Folio brought back by the first swap-in, shared by later ones (swap cache). */
  cached: Folio | null;
}

/** A PTE that refers to a swap slot (`pte.folio === null`, `swap !== null`). */
export interface SwapPte extends Pte {
  /** The slot, or absent/null for a zero-page PTE. */
  swap: SwapSlot | null;
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
  const t = vpn >> PTES_PER_TABLE_SHIFT;
  mm.ptePages.set(t, (mm.ptePages.get(t) ?? 0) + 1);
}

/**
 * Takes the PTE at `vpn` out of the page table (no reference counting); returns it.
 *
 * @example Usage
 * ```ts ignore
 * const old = detachPte(mm, vpn);
 * ```
 */
export function detachPte(mm: Mm, vpn: number): SwapPte | undefined {
  const pte = mm.pages.get(vpn) as SwapPte | undefined;
  if (!pte) return undefined;
  mm.pages.delete(vpn);
  const t = vpn >> PTES_PER_TABLE_SHIFT;
  const c = mm.ptePages.get(t)! - 1;
  if (c === 0) mm.ptePages.delete(t);
  else mm.ptePages.set(t, c);
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
  const old = mm.pages.get(vpn);
  if (old) clearPte(k, mm, addr);
  attachPte(mm, vpn, pte);
  if (pte.folio) {
    pte.folio.mapcount[pte.page]++;
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
  k.exec.work("pte_update");
  const f = pte.folio;
  if (f) {
    f.mapcount[pte.page]--;
    if (f.anon) k.oracle.unmap(f, mm, addr);
    maybeFreeFolio(k, f);
  } else if (pte.swap) {
    putSwap(k, pte.swap);
  }
}

/**
 * `zap_page_range`: clears every PTE of `[start, end)`.
 *
 * @example Usage
 * ```ts ignore
 * zapRange(k, mm, start, end);
 * ```
 */
export function zapRange(k: KernelState, mm: Mm, start: number, end: number): void {
  for (const vpn of mm.pages.rangeKeys(start / PAGE_SIZE, end / PAGE_SIZE)) {
    clearPte(k, mm, vpn * PAGE_SIZE);
  }
}
