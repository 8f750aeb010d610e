/**
 * Folios: allocation and freeing, the live anon folio list, the anon LRU, the swap cache's hold
 * on a folio, and simulated files with their page cache.
 *
 * Stands for the folio parts of `mm/page_alloc.c`/`mm/swap.c` (allocation, `folio_put`, the LRU),
 * `mm/swap_state.c`/`mm/swapfile.c` (swap cache, `swap_free`) and `mm/filemap.c` (page cache).
 *
 * Scheme hooks called here: `folioFreed` (when an anon folio's last reference goes), `splitFolio`
 * (`split_folio` of an anon large folio, for schemes that implement it).
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import { ksmFolioFreed } from "./ksm.ts";
import { ksmSplitContent } from "./ksm_content.ts";
import { presentPte, pteTableIndex, setPte, zeroPagePte } from "./pgtable.ts";
import { countEvent, type KernelState } from "./state.ts";
import { type Folio, PAGE_SIZE, type SimFile, type SwapSlot, VM_LOCKED } from "./types.ts";
import { KernelFolio } from "./folio_object.ts";

/**
 * Allocates a folio of `nrPages` pages (`folio_alloc`); anon folios join the live list and the
 * young end of the LRU.
 *
 * @example Usage
 * ```ts ignore
 * const f = allocFolio(k, true, linearPageIndex(vma, addr), null);
 * ```
 */
export function allocFolio(
  k: KernelState,
  anon: boolean,
  index: number,
  file: SimFile | null,
  nrPages = 1,
): Folio {
  const f = new KernelFolio(k.nextFolioId++, nrPages, anon, index, file);
  if (anon) {
    f.liveSlot = k.liveAnon.length;
    k.liveAnon.push(f);
    k.lru.add(f);
    countEvent(k, "folios_allocated");
  }
  return f;
}

/**
 * Frees a folio whose last reference went: leaves the swap cache, the live list and the LRU, and
 * tells the scheme.
 *
 * @example Usage
 * ```ts ignore
 * freeFolio(k, f);
 * ```
 */
export function freeFolio(k: KernelState, f: Folio): void {
  if (f.freed) throw new Error(`folio ${f.id} freed twice`);
  f.freed = true;
  k.lazyfree.delete(f);
  const slot = k.swapCacheOf.get(f);
  if (slot) {
    slot.cached = null;
    k.swapCacheOf.delete(f);
  }
  if (f.anon) {
    const kf = f as KernelFolio;
    const i = kf.liveSlot;
    const last = k.liveAnon.pop()!;
    if (last !== kf) {
      k.liveAnon[i] = last;
      last.liveSlot = i;
    }
    kf.liveSlot = -1;
    k.lru.delete(kf);
    // A KSM folio left the scheme's rmap when it was merged (folio_set_stable_node).
    if (f.ksm) ksmFolioFreed(k, f);
    else k.scheme.folioFreed(f);
    countEvent(k, "folios_freed");
  }
}

/**
 * `folio_put` after an unmap: frees an anon folio that no PTE maps, unless the swap cache still
 * holds it for other PTEs referring to its slot.
 *
 * @example Usage
 * ```ts ignore
 * maybeFreeFolio(k, f);
 * ```
 */
export function maybeFreeFolio(k: KernelState, f: Folio): void {
  if (!f.anon || f.freed) return;
  if (f.mapped()) return;
  // The swap cache keeps a folio while other PTEs still refer to its swap slot.
  const slot = k.swapCacheOf.get(f);
  if (slot && slot.count > 0) return;
  freeFolio(k, f);
}

/**
 * `swap_free`: drops one PTE's reference to a slot; the last one releases the cached folio.
 *
 * @example Usage
 * ```ts ignore
 * putSwap(k, slot);
 * ```
 */
export function putSwap(k: KernelState, s: SwapSlot): void {
  s.count--;
  releaseSwapCache(k, s);
}

/**
 * A slot whose last entry went lets its swap-cached folio go (the model frees it at once, where
 * the kernel leaves it to the next reclaim), freed unless still mapped.
 *
 * @example Usage
 * ```ts ignore
 * releaseSwapCache(k, slot);
 * ```
 */
export function releaseSwapCache(k: KernelState, s: SwapSlot): void {
  if (s.count === 0 && s.cached) {
    const f = s.cached;
    s.cached = null;
    k.swapCacheOf.delete(f);
    maybeFreeFolio(k, f);
  }
}

/**
 * Takes up to `n` of the oldest folios off the anon LRU and puts them back at the young end,
 * returning them oldest first (see {@link Kernel.lruScan}).
 *
 * @example Usage
 * ```ts ignore
 * const batch = lruScan(k, 32);
 * ```
 */
export function lruScan(k: KernelState, n: number): Folio[] {
  return k.lru.rotateOldest(n);
}

/**
 * Creates a simulated file (or shmem object) of `sizePages` pages.
 *
 * @example Usage
 * ```ts ignore
 * const file = createFile(k, "libc.so", 512);
 * ```
 */
export function createFile(
  k: KernelState,
  name: string,
  sizePages: number,
  shmem = false,
): SimFile {
  if (!Number.isInteger(sizePages) || sizePages < 0) {
    throw new RangeError(`File size must be a non-negative integer of pages, got ${sizePages}`);
  }
  return { id: k.nextFileId++, name, sizePages, pageCache: new Map(), shmem };
}

/**
 * `filemap_get_folio` with allocation: the page-cache folio at `index` of `file`.
 *
 * @example Usage
 * ```ts ignore
 * const f = pageCacheFolio(k, file, 3);
 * ```
 */
export function pageCacheFolio(k: KernelState, file: SimFile, index: number): Folio {
  let f = file.pageCache.get(index);
  if (!f) {
    f = allocFolio(k, false, index, file);
    file.pageCache.set(index, f);
  }
  return f;
}

/**
 * `split_folio` of a PTE-mapped anonymous large folio into small folios: the first page stays in
 * `f` (now order 0), every other page becomes a new folio with the same `mapping` (the scheme's
 * {@link RmapScheme.splitFolio}), `index + i`, its mapcount and PageAnonExclusive; each PTE of
 * the folio is repointed and pages left unmapped are freed (`__split_huge_page`,
 * mm/huge_memory.c). Returns false, changing
 * nothing, where Linux's split fails: a DMA-pinned folio (extra references), a folio in the swap
 * cache (not modelled), or a scheme without the hook.
 *
 * @example Usage
 * ```ts ignore
 * if (!splitFolio(k, f)) return fail("cannot split");
 * ```
 */
export function splitFolio(k: KernelState, f: Folio): boolean {
  if (!f.anon || f.nrPages === 1 || f.pinned || f.ksm || k.swapCacheOf.has(f)) return false;
  if (!k.scheme.splitFolio) return false;
  const n = f.nrPages;
  const tails: Folio[] = [f];
  for (let i = 1; i < n; i++) {
    const t = allocFolio(k, true, f.index + i, null);
    t.addPageMapcount(0, f.pageMapcount(i));
    t.setPageAnonExclusive(0, f.pageAnonExclusive(i));
    if (k.lazyfree.has(f)) k.lazyfree.add(t); // the tails keep PG_swapbacked's state
    tails.push(t);
  }
  // Repoint every PTE of pages 1..n-1 to its new folio. A PMD entry that maps the folio is split
  // first (unmap_folio's TTU_SPLIT_HUGE_PMD).
  for (const m of [...f.mappers.values()]) {
    const vpn = m.addr / PAGE_SIZE;
    m.mm.hugePmds?.delete(pteTableIndex(vpn));
    const pte = m.mm.pages.get(vpn);
    if (pte?.kind !== "present" || pte.folio !== f || pte.page === 0) continue;
    const t = tails[pte.page];
    k.oracle.unmap(f, m.mm, m.addr);
    m.mm.pages.set(
      vpn,
      presentPte(
        t,
        0,
        pte.writable,
        pte.young,
        pte.protNone,
        pte.dirty === true,
        pte.zeroFilled === true,
      ),
    );
    k.oracle.map(t, m.mm, m.addr);
    k.exec.work("pte_update");
  }
  (f as KernelFolio).truncateToFirstPage();
  k.scheme.splitFolio(f, tails.slice(1));
  countEvent(k, "folios_split");
  ksmSplitContent(k, f, tails);
  for (const t of tails) mapUnusedToZeropage(k, t);
  // Pages no PTE maps any more are freed with the split.
  for (const t of tails) maybeFreeFolio(k, t);
  return true;
}

/**
 * `remap_page(..., RMP_USE_SHARED_ZEROPAGE)` of an anonymous split (mm/huge_memory.c, since
 * Linux 6.12): each mapping of a page that holds only zeroes gets the shared zero page instead
 * (`try_to_map_unused_to_zeropage`, mm/migrate.c: not for an mlocked folio, nor in a VM_LOCKED
 * VMA), so the page is freed. A page holds zeroes where its entry says the kernel filled it and no
 * user write went through it (`zeroFilled`); mlocked is taken as mapped in a VM_LOCKED VMA.
 */
function mapUnusedToZeropage(k: KernelState, t: Folio): void {
  const maps = [...t.mappers.values()];
  const vmas = maps.map((m) => m.mm.vmas.find(m.addr));
  if (vmas.some((v) => !v || (v.flags & VM_LOCKED) !== 0)) return;
  for (const m of maps) {
    const pte = m.mm.pages.get(m.addr / PAGE_SIZE);
    if (pte?.kind !== "present" || pte.folio !== t || pte.zeroFilled !== true) continue;
    setPte(k, m.mm, m.addr, zeroPagePte(false, pte.protNone));
    countEvent(k, "split_zero_page_remapped");
  }
}
