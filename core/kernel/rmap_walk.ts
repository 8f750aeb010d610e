/**
 * Rmap walks as the kernel core runs them: the scheme offers candidate (vma, address) pairs,
 * the core checks each candidate's page tables (`page_vma_mapped_walk`), acts on the hits, and
 * verifies the result against the oracle. The three callers are reclaim aging, reclaim eviction
 * and migration.
 *
 * Stands for the walk side of `mm/rmap.c` (`rmap_walk_anon`'s caller view, `folio_referenced`,
 * `try_to_unmap`, `try_to_migrate` + `remove_migration_ptes`) and `mm/page_vma_mapped.c`;
 * reference §8.
 *
 * Scheme hooks called here: `walk` (`rmap_walk_anon`).
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import type { WalkKind } from "../rmap/scheme.ts";
import { mapperAddr, mapperKey, OracleMismatchError } from "../oracle.ts";
import { countEvent, type KernelState, type WalkResult } from "./state.ts";
import { ksmUnreachable, rmapWalkKsm } from "./ksm_rmap.ts";
import { attachPte, clearPte, hugePmdAt, pteTableIndex, swapPte } from "./pgtable.ts";
import { freeFolio, splitFolio } from "./folio.ts";
import {
  type Folio,
  type Mm,
  PAGE_SIZE,
  type PresentPte,
  type SwapSlot,
  VM_LOCKED,
  VM_RAND_READ,
  VM_SEQ_READ,
  type Vma,
} from "./types.ts";

/**
 * Runs one walk through the scheme, checks each candidate's page tables, and verifies the
 * result against the oracle (when `params.oracleChecks`). `act` is called for each hit and
 * returns false to stop. Listeners get the figures.
 *
 * @example Usage
 * ```ts ignore
 * const r = rmapWalk(k, folio, "migrate", false, () => true);
 * ```
 */
export function rmapWalk(
  k: KernelState,
  folio: Folio,
  kind: WalkKind,
  tryLock: boolean,
  act: (pte: PresentPte, mm: Mm, addr: number, vma: Vma) => boolean,
  stop?: WalkStop,
  invalidVma?: (vma: Vma) => boolean,
): WalkResult {
  if (!folio.anon || folio.freed) {
    throw new Error(`walk of a folio that is not live anon: ${folio.id}`);
  }
  if (!folio.mapped()) {
    // folio_lock_anon_vma_read() gives up on a folio that is not mapped (e.g. one only in
    // the swap cache): no walk happens.
    return {
      kind,
      visits: 0,
      hits: 0,
      useless: 0,
      structures: 0,
      treeNodes: 0,
      contended: false,
    };
  }
  // What the walk must find: the oracle's mappings before it (an `act` may unmap them), as keys
  // in insertion order.
  const expected: number[] = [];
  const expectedMms: Mm[] = [];
  if (k.params.oracleChecks) folio.mappers.snapshot(expected, expectedMms);
  const found = new FoundKeys();
  let visits = 0, hits = 0;
  // rmap_walk: a KSM folio is walked through its stable node (rmap_walk_ksm), others by the scheme.
  const walker = folio.ksm ? rmapWalkKsm.bind(null, k) : k.scheme.walk.bind(k.scheme);
  const report = walker(folio, kind, tryLock, (vma, addr) => {
    // `rwc->invalid_vma`: the walk skips the VMA before `rmap_one` (rmap_walk_anon and
    // rmap_walk_ksm alike); its PTEs are not checked.
    if (invalidVma?.(vma)) return true;
    // page_vma_mapped_walk: from the address the scheme computed, check the PTE of every
    // page of the folio that falls inside this VMA (one page for a small folio).
    visits++;
    const mm = vma.mm;
    const vpn = addr / PAGE_SIZE;
    // A THP one PMD entry maps here: the walk stops at the PMD and checks that one entry
    // (page_vma_mapped_walk's pmd_trans_huge case), not 512 PTEs.
    const pmdMapped = folio.nrPages > 1 && hugePmdAt(mm, addr) === "thp" &&
      mm.pages.get(vpn)?.folio === folio;
    const tableExists = mm.ptePages.has(pteTableIndex(vpn));
    k.exec.work("pt_level", pmdMapped ? 3 : tableExists ? 4 : 3);
    if (!tableExists || addr < vma.start || addr >= vma.end) return true;
    if (pmdMapped) k.exec.work("pte_check");
    let hit = false;
    for (let i = 0; i < folio.nrPages; i++) {
      // A KSM folio is small and mapped at different pgoffs: the rmap item's address is used.
      const va = folio.ksm ? addr : vma.start + (folio.index + i - vma.pgoff) * PAGE_SIZE;
      if (va < vma.start || va >= vma.end) continue;
      if (!pmdMapped) k.exec.work("pte_check");
      const pte = mm.pages.get(va / PAGE_SIZE);
      if (pte?.kind !== "present" || pte.folio !== folio || pte.page !== i) continue;
      const key = mapperKey(mm, va);
      if (!found.add(key)) continue;
      hit = true;
      if (!act(pte, mm, va, vma)) {
        hits++;
        return false;
      }
    }
    if (hit) hits++;
    return true;
  });
  // Early stops happen only once every mapping was found (mapcount reached, or unmapped), or
  // where the caller says the walk was aborted (a VM_LOCKED mapping), so a walk that was neither
  // contended nor aborted must have found every mapping the oracle knows.
  if (!report.contended && !(stop?.aborted ?? false) && k.params.oracleChecks) {
    for (let i = 0; i < expected.length; i++) {
      const key = expected[i];
      if (found.has(key)) continue;
      const mm = expectedMms[i];
      const addr = mapperAddr(mm, key);
      // A mapping in a VMA the walk was told to skip.
      if (invalidVma && invalidVma(mm.vmas.find(addr)!)) continue;
      // Linux's own blind spot: a KSM mapping no rmap item covers until ksmd scans it.
      if (folio.ksm && ksmUnreachable(k, folio, mm, addr)) continue;
      throw missed(folio, k.scheme.info.id, kind, mm, key);
    }
    k.oracle.walksChecked++;
  }
  const r: WalkResult = {
    kind,
    visits,
    hits,
    useless: visits - hits,
    structures: report.structures,
    treeNodes: report.treeNodes,
    contended: report.contended,
  };
  for (const l of k.walkListeners) l(r);
  return r;
}

/** Set by a walk's `act` that stops it before every mapping was found (`aborted`). */
export interface WalkStop {
  aborted: boolean;
}

/** Keys found that a walk scans (`includes`) before it keeps them in a Set instead. */
const FOUND_SCAN_MAX = 16;

/**
 * The distinct mapping keys a walk found, as a `Set<number>` would keep them (SameValueZero):
 * in an array scanned while there are few (most folios have one mapping), in a Set beyond.
 */
export class FoundKeys {
  #keys: number[] | null = [];
  #set: Set<number> | null = null;

  /** Number of keys. */
  get size(): number {
    return this.#keys !== null ? this.#keys.length : this.#set!.size;
  }

  /** Whether `key` was found. */
  has(key: number): boolean {
    return this.#keys !== null ? this.#keys.includes(key) : this.#set!.has(key);
  }

  /** Adds `key`; returns false when it was there already. */
  add(key: number): boolean {
    const keys = this.#keys;
    if (keys === null) {
      const set = this.#set!;
      if (set.has(key)) return false;
      set.add(key);
      return true;
    }
    if (keys.includes(key)) return false;
    if (keys.length < FOUND_SCAN_MAX) keys.push(key);
    else {
      this.#set = new Set(keys).add(key);
      this.#keys = null;
    }
    return true;
  }
}

/**
 * The error for a walk of `folio` that missed the mapping of `mm` with key `key` (still among
 * the folio's mappings: only mappings a walk found are unmapped by it).
 */
function missed(folio: Folio, scheme: string, kind: WalkKind, mm: Mm, key: number): Error {
  for (const m of folio.mappers.values()) {
    if (m.mm === mm && mapperKey(m.mm, m.addr) === key) {
      return new OracleMismatchError(folio, scheme, kind, m.mm, m.addr);
    }
  }
  return new OracleMismatchError(folio, scheme, kind, mm, mapperAddr(mm, key));
}

/**
 * `folio_referenced`: reclaim aging. Read-trylock; stops once `folio_mapcount` mappings were found;
 * clears young bits. Returns the number of VMAs in which a mapping of the folio was young
 * (`pra->referenced`), or -1 when contended. Mappings in a VM_LOCKED VMA are counted off the
 * mapcount but neither counted as referenced nor aged; once every page of the folio was found
 * mapped in one such VMA, within one page table, the walk stops there (`folio_referenced_one`:
 * "Only mlock fully mapped pages", "Restore the mlock which got missed", `return false`) and
 * `out.vmFlags` gets VM_LOCKED (`*vm_flags`), which tells reclaim to keep the folio. A large folio
 * mapped only in part by a locked VMA, or across a page-table boundary there
 * (PVMW_PGTABLE_CROSSED), does not stop the walk. VMAs without recency are skipped
 * (`invalid_folio_referenced_vma`: {@link noRecency}), their mappings neither aged nor counted
 * off the mapcount, so such a walk never stops early.
 *
 * @example Usage
 * ```ts ignore
 * const refs = folioReferenced(k, folio);
 * ```
 */
export function folioReferenced(
  k: KernelState,
  folio: Folio,
  out?: { vmFlags: number },
): number {
  let referenced = 0;
  let remaining = folio.totalMapcount();
  const stop: WalkStop = { aborted: false };
  let vmFlags = 0;
  // The locked VMA being walked, its PTEs of the folio found so far and the page table of the
  // first (page_vma_mapped_walk's state for one VMA).
  let lockedVma: Vma | null = null, ptes = 0, table = 0;
  let youngVma: Vma | null = null;
  const visit = (pte: PresentPte, _mm: Mm, addr: number, vma: Vma): boolean => {
    if (vma.flags & VM_LOCKED) {
      const t = pteTableIndex(addr / PAGE_SIZE);
      if (vma !== lockedVma) {
        lockedVma = vma;
        ptes = 0;
        table = t;
      }
      ptes++;
      remaining--;
      if (ptes !== folio.nrPages || t !== table) return true;
      vmFlags |= VM_LOCKED;
      stop.aborted = remaining > 0;
      return false;
    }
    // `pra->referenced` counts VMAs with a young PTE of the folio (one per VMA, however many
    // of a large folio's PTEs in it were young).
    if (pte.young && vma !== youngVma) {
      referenced++;
      youngVma = vma;
    }
    pte.young = false;
    remaining--;
    return remaining > 0;
  };
  const r = rmapWalk(k, folio, "referenced", true, visit, stop, noRecency);
  if (out !== undefined) out.vmFlags = vmFlags;
  return r.contended ? -1 : referenced;
}

/**
 * `vma_has_recency` (include/linux/mm_inline.h, Linux 6.18), negated for `rwc->invalid_vma`: a
 * VMA advised MADV_RANDOM or MADV_SEQUENTIAL (VM_RAND_READ, VM_SEQ_READ) has no recency, and
 * `folio_referenced` ignores its references ("If the folio has been used in another mapping, we
 * will catch it", mm/rmap.c `invalid_folio_referenced_vma`). Not modelled: a file opened with
 * POSIX_FADV_NOREUSE (FMODE_NOREUSE), and the memcg test of the same function (no cgroups).
 */
function noRecency(vma: Vma): boolean {
  return (vma.flags & (VM_SEQ_READ | VM_RAND_READ)) !== 0;
}

/**
 * `try_to_unmap`: reclaim eviction. Blocking read lock; every mapping becomes a swap entry (one
 * slot per page of the folio; swap-in brings pages back as small folios) and the folio is freed.
 * Returns true if the folio is no longer mapped. A mapping in a VM_LOCKED VMA aborts the walk
 * there, unmapped (`try_to_unmap_one` without TTU_IGNORE_MLOCK: "If the folio is in an mlock()d
 * vma, we must not swap it out"): the mappings unmapped before it keep their swap entries, and
 * the folio, still mapped, stays in the swap cache for them (`add_to_swap` came first), so that
 * their swap-ins map it again; it is not counted as reclaimed. The swap cache holds one slot per
 * folio in the model: a large folio keeps the first slot used, and a folio already in the swap
 * cache keeps its slot (docs/model.md §6). Without swap space (`swapSpace: false`) nothing is
 * unmapped and there is no walk. On a device without synchronous I/O (`swapSyncIo: false`) a
 * folio that needs writing (not yet in the swap cache, or mapped dirty) stays in the swap cache,
 * unmapped: its writeback is still under way when `shrink_folio_list` checks it; a folio already
 * in the swap cache and mapped clean is freed at once, as any device frees it. A folio that is
 * mapped nowhere (only in the swap cache) is freed without a walk (`shrink_folio_list` skips
 * `try_to_unmap` when `!folio_mapped`, then `__remove_mapping`).
 *
 * @example Usage
 * ```ts ignore
 * if (tryToUnmap(k, folio)) reclaimed++;
 * ```
 */
export function tryToUnmap(k: KernelState, folio: Folio): boolean {
  if (k.lazyfree.has(folio)) return discardLazyfree(k, folio);
  const cachedIn = k.swapCacheOf.get(folio);
  if (!folio.mapped()) {
    // Only the swap cache holds it (its writeback is over): `__remove_mapping` frees it.
    if (cachedIn !== undefined) {
      freeFolio(k, folio);
      countEvent(k, "swapcache_freed");
    }
    return true;
  }
  // No swap space: `folio_alloc_swap` fails and the folio is kept, before any walk (a folio
  // already in the swap cache has its slot). A large folio first falls back to swapping its pages
  // (`shrink_folio_list`: "Fallback to swap normal pages", `split_folio_to_list`), which fail in
  // turn: it ends split, its pages that held zeroes mapped to the zero page (folio.ts).
  if (!k.params.swapSpace && cachedIn === undefined) {
    if (folio.nrPages > 1 && splitFolio(k, folio)) countEvent(k, "reclaim_no_swap_split");
    countEvent(k, "reclaim_no_swap");
    return false;
  }
  const slots: SwapSlot[] = [];
  for (let i = 0; i < folio.nrPages; i++) {
    slots.push({ id: k.nextSwapId++, count: 0, cached: null });
  }
  const stop: WalkStop = { aborted: false };
  // An asynchronous device's writeback is still under way: the folio stays in the swap cache when
  // it needs writing, i.e. is not in it yet, or is mapped dirty (then the model caches it under
  // its new slot: one slot per folio, see above).
  const writeback = !k.params.swapSyncIo;
  let kept = false;
  rmapWalk(k, folio, "unmap", false, (pte, mm, addr, vma) => {
    if (vma.flags & VM_LOCKED) {
      stop.aborted = true;
      return false;
    }
    const slot = slots[pte.page];
    slot.count++;
    if (writeback && !kept && (cachedIn === undefined || pte.dirty === true)) {
      if (cachedIn === undefined || cachedIn.count === 0) {
        if (cachedIn !== undefined) cachedIn.cached = null;
        slot.cached = folio;
        k.swapCacheOf.set(folio, slot);
      }
      kept = true;
    }
    clearPte(k, mm, addr);
    // try_to_unmap_one: the entry is exclusive when the page was (pte_swp_mkexclusive).
    attachPte(mm, addr / PAGE_SIZE, swapPte(slot, folio.pageAnonExclusive(pte.page)));
    return !folio.freed;
  }, stop);
  if (stop.aborted) {
    const used = slots.find((s) => s.count > 0);
    if (used !== undefined && !folio.freed && !k.swapCacheOf.has(folio)) {
      used.cached = folio;
      k.swapCacheOf.set(folio, used);
    }
    return false;
  }
  countEvent(k, "folios_reclaimed");
  if (kept) countEvent(k, "swapcache_writeback_kept");
  // A clean folio that stayed in the swap cache for other entries of its slot (not kept for
  // writeback): `__remove_mapping` lets it go all the same; those entries read it back.
  else if (!folio.freed && !folio.mapped()) freeFolio(k, folio);
  return !folio.mapped();
}

/**
 * `try_to_unmap` of a lazily freeable folio (MADV_FREE; `try_to_unmap_one`'s "MADV_FREE page
 * check"): needs no swap slot. Each mapping, in walk order, is discarded (its PTE cleared, no
 * swap entry) while clean; a dirty one (written since MADV_FREE) or a pinned folio (a reference
 * beyond its mappings) stops the walk there: that mapping stays, the folio is swap-backed again
 * (no longer lazily freeable) and kept, and the mappings discarded before it stay discarded. A
 * VM_LOCKED mapping stops the walk too. Returns true when the folio was freed.
 */
function discardLazyfree(k: KernelState, folio: Folio): boolean {
  const stop: WalkStop = { aborted: false };
  rmapWalk(k, folio, "unmap", false, (pte, mm, addr, vma) => {
    if (vma.flags & VM_LOCKED) {
      stop.aborted = true;
      return false;
    }
    if (pte.dirty === true || folio.pinned) {
      k.lazyfree.delete(folio); // folio_set_swapbacked
      countEvent(k, "lazyfree_redirtied");
      stop.aborted = true;
      return false;
    }
    clearPte(k, mm, addr);
    return !folio.freed;
  }, stop);
  if (stop.aborted) return false;
  countEvent(k, "folios_reclaimed");
  countEvent(k, "folios_lazyfreed");
  return folio.freed;
}

/**
 * Migration of one folio: `try_to_migrate` then `remove_migration_ptes`, two walks under the
 * blocking read lock. The simulated folio keeps its identity (the new folio inherits `mapping`
 * and `index`, so the rmap state is the same).
 *
 * @example Usage
 * ```ts ignore
 * migrateFolio(k, folio);
 * ```
 */
export function migrateFolio(k: KernelState, folio: Folio): void {
  rmapWalk(k, folio, "migrate", false, () => true);
  rmapWalk(k, folio, "remove_migration", false, () => true);
  countEvent(k, "folios_migrated");
}
