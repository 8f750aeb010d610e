/**
 * Page faults and the page-table copy of fork: the zero page on a read of untouched anonymous
 * memory, a new exclusive folio on a write, CoW copy or reuse on a write to a write-protected
 * page, swap-in, file and shmem faults, and `copy_page_range`.
 *
 * Stands for `mm/memory.c` (`handle_mm_fault`, `do_anonymous_page`, `alloc_anon_folio`,
 * `do_wp_page`, `wp_can_reuse_anon_folio`, `wp_page_copy`, `do_swap_page` (with mm/ksm.c
 * `ksm_might_need_to_copy`), `do_fault`, `copy_page_range`/`copy_present_pte`/
 * `copy_nonpresent_pte`), reference §4–§5.
 *
 * Scheme hooks called here: `prepare` (`anon_vma_prepare` before a new anon folio),
 * `addNewAnon` (`__folio_set_anon`), `moveAnon` (`folio_move_anon_rmap` on reuse),
 * `swapCacheAnonMatches` (the anon_vma test of `ksm_might_need_to_copy` in a swap-in).
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import { countEvent, type KernelState } from "./state.ts";
import { allocFolio, pageCacheFolio, releaseSwapCache } from "./folio.ts";
import { doHugeZeroWpPmd, PMD_ORDER, thpFault } from "./huge_memory.ts";
import { ksmSwapinMapped } from "./ksm_rmap.ts";
import {
  copyTables,
  detachPte,
  guardPte,
  presentPte,
  PTE_NONE,
  setPte,
  swapPte,
  zeroPagePte,
} from "./pgtable.ts";
import type { PteNode } from "./page_table.ts";
import {
  type Folio,
  hex,
  isCowMapping,
  linearPageIndex,
  type Mm,
  PAGE_SIZE,
  type PresentPte,
  type Pte,
  type PteValue,
  type SwapSlot,
  SyscallError,
  VM_ACCESS_FLAGS,
  VM_LOCKED,
  VM_LOCKONFAULT,
  VM_MAYREAD,
  VM_READ,
  VM_SHARED,
  VM_UFFD_MISSING,
  VM_WRITE,
  type Vma,
  type ZeroPagePte,
} from "./types.ts";

/** Access type of a memory touch. */
export type Access = "read" | "write";

/**
 * `__mm_populate` (mm/gup.c, with `populate_vma_page_range`) of `[start, start + len)` (page
 * aligned): per VMA in the range, faults in every page that is not mapped yet (or not writable
 * where a write is wanted), with a write fault where the VMA is private and writable ("to break
 * COW": a private file page gets its anonymous copy, a CoW-shared page its own copy), a forced
 * read fault elsewhere (FOLL_FORCE: a VMA without PROT_READ that may be read is read). A
 * VM_LOCKONFAULT VMA is skipped ("has never used faultin_page()"); a PROT_NONE one is EFAULT
 * ("we've never faulted in PROT_NONE pages"), as is a fault that fails. Without `sys`
 * (`mm_populate`: MAP_POPULATE, MAP_LOCKED, mlockall, brk and mremap of locked memory) an error
 * skips the rest of its VMA and the populate goes on at the next; with `sys` (`do_mlock`) it
 * stops there and throws ENOMEM (`__mlock_posix_error_return` turns EFAULT into ENOMEM).
 * `locked`: the caller holds `mmap_lock` already (mprotect's populate of a locked VMA made
 * writable), so the faults do not take it.
 *
 * @example Usage
 * ```ts ignore
 * populateRange(k, mm, start, len);
 * ```
 */
export function populateRange(
  k: KernelState,
  mm: Mm,
  start: number,
  len: number,
  sys?: string,
  locked = false,
): void {
  const end = start + len;
  let cur = start;
  while (cur < end) {
    const vma = mm.vmas.findFirstEndAfter(cur);
    if (vma === undefined || vma.start >= end) return;
    const vEnd = Math.min(vma.end, end);
    const flags = vma.flags;
    let a = Math.max(cur, vma.start);
    cur = vEnd;
    if (flags & VM_LOCKONFAULT) continue;
    // The address that failed (the VMA's first for PROT_NONE), or -1.
    let failed = (flags & VM_ACCESS_FLAGS) === 0 ? a : -1;
    const write = (flags & (VM_WRITE | VM_SHARED)) === VM_WRITE;
    for (; a < vEnd && failed < 0; a += PAGE_SIZE) {
      if (faultinPage(k, mm, a, write, true, locked) !== null) failed = a;
    }
    if (failed >= 0 && sys !== undefined) {
      throw new SyscallError("ENOMEM", sys, `cannot fault in ${hex(failed)}`);
    }
  }
}

/**
 * One page of `__get_user_pages` (mm/gup.c), for `mm_populate` and MADV_POPULATE: nothing when
 * the page is mapped as the access needs (present or the zero page, writable for a write; a swap
 * entry or a guard marker is not), else {@link handleMmFault} (`force`: FOLL_FORCE, `locked`:
 * `mmap_lock` held). Returns the fault's error, or null.
 *
 * @example Usage
 * ```ts ignore
 * if (faultinPage(k, mm, addr, true, false, true) !== null) throw new SyscallError(...);
 * ```
 */
export function faultinPage(
  k: KernelState,
  mm: Mm,
  addr: number,
  write: boolean,
  force: boolean,
  locked: boolean,
): SyscallError | null {
  const pte = mm.pages.get(addr / PAGE_SIZE);
  if (
    pte !== undefined && (pte.kind === "present" || pte.kind === "zero") &&
    (!write || pte.writable)
  ) return null;
  try {
    handleMmFault(k, mm, addr, write ? "write" : "read", force, locked, false);
  } catch (e) {
    if (!(e instanceof SyscallError)) throw e;
    return e;
  }
  return null;
}

/**
 * `handle_mm_fault` for the page at `addr` (page aligned), under `mmap_lock` for read (taken
 * here unless `locked`: the caller holds it). Throws EFAULT (SIGSEGV/SIGBUS) for an access
 * outside any VMA, without permission or past the end of a file. `user`: a user access (its write
 * leaves data in the page), not the kernel's own fault-in of a populate, whose new pages hold
 * zeroes.
 *
 * @example Usage
 * ```ts ignore
 * handleMmFault(k, mm, addr, "write");
 * ```
 */
export function handleMmFault(
  k: KernelState,
  mm: Mm,
  addr: number,
  access: Access,
  force = false,
  locked = false,
  user = true,
): void {
  const sys = "touch";
  if (!locked) k.exec.acquire(mm.mmapLock, "read");
  try {
    k.exec.work("vma_lookup");
    const vma = mm.vmas.find(addr);
    if (!vma) throw new SyscallError("EFAULT", sys, `no VMA at ${hex(addr)}`);
    const need = access === "write" ? VM_WRITE : VM_READ;
    // check_vma_flags: a FOLL_FORCE read (populate) needs only VM_MAYREAD.
    const may = force && access === "read" ? VM_MAYREAD : 0;
    if (!(vma.flags & (need | may))) {
      throw new SyscallError("EFAULT", sys, `${access} to ${hex(addr)} without permission`);
    }
    k.exec.work("pt_level", 4);
    // `ptep_get`, with the empty entry tested as `undefined` before `kind` is read (what
    // `ptepGet` would give as PTE_NONE): the switch reads page-table nodes only (one shape).
    const pte = mm.pages.get(addr / PAGE_SIZE);
    // handle_pte_marker: a guard marker is VM_FAULT_SIGSEGV, in any kind of mapping.
    if (pte?.kind === "guard") {
      throw new SyscallError("EFAULT", sys, `${access} of a guard page at ${hex(addr)}`);
    }
    if (vma.flags & VM_SHARED) {
      faultShared(k, vma, addr, access, pte ?? PTE_NONE);
      return;
    }
    if (pte === undefined) { // do_pte_missing
      if (vma.file) faultPrivateFileNone(k, vma, addr, access);
      else if (thpFault(k, vma, addr, access, user)) return;
      else if (vma.flags & VM_UFFD_MISSING) {
        // do_anonymous_page: userfaultfd_missing, so handle_userfault, which with
        // UFFD_FEATURE_SIGBUS (the model's only way, userfaultfd.ts) is VM_FAULT_SIGBUS. A read
        // that may map the zero page gets there first; any other fault gives the VMA its
        // anon_vma (vmf_anon_prepare) and allocates a folio before the check, and only the folio
        // is dropped (the model allocates none).
        if (access !== "read" || !k.params.zeroPage) k.scheme.prepare(vma);
        throw new SyscallError("EFAULT", sys, `SIGBUS: userfaultfd missing fault at ${hex(addr)}`);
      } else doAnonymousPage(k, vma, addr, access, user);
      return;
    }
    switch (pte.kind) {
      case "swap":
        doSwapPage(k, vma, addr, pte.swap, pte.exclusive === true, access);
        return;

      default:
        // Present PTE, write to a write-protected page (or zero page): do_wp_page.
        doWpPage(k, vma, addr, pte, user);
    }
  } finally {
    if (!locked) k.exec.release(mm.mmapLock, "read");
  }
}

/** Fault in a shared mapping (file or shmem): map the page-cache folio. */
function faultShared(
  k: KernelState,
  vma: Vma,
  addr: number,
  access: Access,
  pte: PteValue,
): void {
  const file = vma.file!;
  const index = linearPageIndex(vma, addr);
  if (index >= file.sizePages) {
    throw new SyscallError("EFAULT", "touch", "SIGBUS past end of file");
  }
  if (pte.kind === "present") {
    pte.writable = access === "write" || pte.writable;
    pte.young = true;
    if (access === "write") pte.dirty = true;
    return;
  }
  const f = pageCacheFolio(k, file, index);
  setPte(k, vma.mm, addr, presentPte(f, 0, access === "write", true, false, access === "write"));
  countEvent(k, "faults_file");
}

/**
 * `do_anonymous_page`. A read maps the shared zero page unless the kernel forbids it
 * (`params.zeroPage` false, `mm_forbids_zeropage()`): then a read allocates a folio like a write,
 * mapped writable only when the VMA is (the PTE is made writable for `VM_WRITE` whatever the
 * fault's kind).
 */
function doAnonymousPage(
  k: KernelState,
  vma: Vma,
  addr: number,
  access: Access,
  user: boolean,
): void {
  if (access === "read") {
    if (k.params.zeroPage) {
      setPte(k, vma.mm, addr, zeroPagePte(true));
      countEvent(k, "faults_zero_page");
      return;
    }
    newAnonFolio(k, vma, addr, (vma.flags & VM_WRITE) !== 0, true);
    countEvent(k, "faults_anon_new_read");
    return;
  }
  // A user write leaves its data in the new page; a populate's write fault leaves the zeroes.
  newAnonFolio(k, vma, addr, true, !user);
  countEvent(k, "faults_anon_new");
}

/**
 * Allocates a new exclusive anon folio mapped writable at `addr` (`folio_add_new_anon_rmap`).
 * With `params.anonFolioOrder` > 0 (mTHP), `alloc_anon_folio` maps a naturally aligned large
 * folio of that order when the aligned range lies inside the VMA and none of its PTEs is
 * populated; otherwise it falls back to order 0 (mm/memory.c). `pmdOrder`: a THP of the 512
 * pages around `addr`, 2 MiB aligned (huge_memory.ts, which has checked that it fits). The pages
 * of a large folio other than `addr`'s hold the zeroes it was cleared with.
 *
 * @example Usage
 * ```ts ignore
 * newAnonFolio(k, vma, addr, true, false, true);
 * ```
 */
export function newAnonFolio(
  k: KernelState,
  vma: Vma,
  addr: number,
  writable = true,
  zeroFilled = false,
  pmdOrder = false,
): Folio {
  k.scheme.prepare(vma);
  const mm = vma.mm;
  let nr = 1, start = addr;
  const order = k.params.anonFolioOrder;
  if (pmdOrder) {
    nr = 2 ** PMD_ORDER;
    start = Math.floor(addr / (nr * PAGE_SIZE)) * nr * PAGE_SIZE;
  } else if (order > 0) {
    const size = PAGE_SIZE * 2 ** order;
    const a = Math.floor(addr / size) * size;
    if (
      a >= vma.start && a + size <= vma.end &&
      mm.pages.rangeKeys(a / PAGE_SIZE, (a + size) / PAGE_SIZE).length === 0
    ) {
      nr = 2 ** order;
      start = a;
    } else countEvent(k, "mthp_fallback");
  }
  const f = allocFolio(k, true, linearPageIndex(vma, start), null, nr);
  k.exec.work("page_zero", nr);
  for (let i = 0; i < nr; i++) f.setPageAnonExclusive(i, true);
  k.scheme.addNewAnon(f, vma, start, true);
  for (let i = 0; i < nr; i++) {
    // do_anonymous_page: `pte_mkwrite(pte_mkdirty(entry))` for a VM_WRITE VMA, read or write.
    // A large folio's other pages keep the zeroes it was cleared with (the write lands in one).
    const a = start + i * PAGE_SIZE;
    setPte(k, mm, a, presentPte(f, i, writable, true, false, writable, zeroFilled || a !== addr));
  }
  if (nr > 1 && !pmdOrder) countEvent(k, "mthp_folios");
  return f;
}

/** Private file mapping, no PTE: read maps the page cache; write copies it (CoW). */
function faultPrivateFileNone(k: KernelState, vma: Vma, addr: number, access: Access): void {
  const file = vma.file!;
  const index = linearPageIndex(vma, addr);
  if (index >= file.sizePages) {
    // do_cow_fault: vmf_anon_prepare before __do_fault finds the page past EOF (SIGBUS).
    if (access === "write") k.scheme.prepare(vma);
    throw new SyscallError("EFAULT", "touch", "SIGBUS past end of file");
  }
  if (access === "read") {
    const f = pageCacheFolio(k, file, index);
    setPte(k, vma.mm, addr, presentPte(f, 0, false, true));
    countEvent(k, "faults_file");
    return;
  }
  pageCacheFolio(k, file, index);
  wpPageCopy(k, vma, addr);
  countEvent(k, "faults_cow_file");
}

/**
 * `wp_page_copy`: a new exclusive anon folio with a copy of the page, mapped writable (also
 * KSM's `break_ksm`).
 *
 * @example Usage
 * ```ts ignore
 * const copy = wpPageCopy(k, vma, addr);
 * ```
 */
export function wpPageCopy(k: KernelState, vma: Vma, addr: number, zeroFilled = false): Folio {
  k.scheme.prepare(vma);
  const f = allocFolio(k, true, linearPageIndex(vma, addr), null);
  k.exec.work("page_copy");
  f.setPageAnonExclusive(0, true);
  k.scheme.addNewAnon(f, vma, addr, true);
  // maybe_mkwrite(pte_mkdirty); `zeroFilled`: a copy of zeroes that no user write follows.
  setPte(k, vma.mm, addr, presentPte(f, 0, true, true, false, true, zeroFilled));
  return f;
}

/** A user write through a present entry: dirty, and no longer the kernel's zeroes. */
export function markUserWrite(pte: PresentPte): void {
  (pte as unknown as PteNode).markWritten();
}

/**
 * `do_wp_page` (reference §5.2). `user`: a user write (which leaves its data in the page), not a
 * populate's FOLL_WRITE fault (after which a copy of zeroes still holds zeroes).
 */
function doWpPage(
  k: KernelState,
  vma: Vma,
  addr: number,
  pte: PresentPte | ZeroPagePte,
  user: boolean,
): void {
  if (pte.kind === "zero" && doHugeZeroWpPmd(k, vma, addr, user)) return; // a huge zero PMD
  if (pte.kind === "zero" || !pte.folio.anon) {
    // Zero page or a page-cache page in a private mapping: wp_page_copy.
    wpPageCopy(k, vma, addr, !user && pte.kind === "zero");
    countEvent(k, pte.kind === "zero" ? "faults_cow_zero_page" : "faults_cow_file");
    return;
  }
  const f = pte.folio;
  if (f.pageAnonExclusive(pte.page)) {
    pte.writable = true;
    pte.young = true;
    // wp_page_reuse: maybe_mkwrite(pte_mkdirty(entry)); a user write then lands in the page.
    if (user) markUserWrite(pte);
    else pte.dirty = true;
    countEvent(k, "faults_wp_reuse_exclusive");
    return;
  }
  if (!f.ksm && wpCanReuseAnonFolio(k, f, vma.mm)) {
    // A small folio moves to the faulting VMA's anon rmap (folio_move_anon_rmap); a large one
    // is reused in place: it may be mapped by several VMAs of this mm with different anon_vmas
    // (e.g. split by mprotect after a fork): __wp_can_reuse_large_anon_folio does not move it.
    if (f.nrPages === 1) k.scheme.moveAnon(f, vma);
    f.setPageAnonExclusive(pte.page, true);
    pte.writable = true;
    pte.young = true;
    if (user) markUserWrite(pte);
    else pte.dirty = true;
    countEvent(k, f.nrPages === 1 ? "faults_wp_reuse_move" : "faults_wp_reuse_large");
    return;
  }
  wpPageCopy(k, vma, addr, !user && pte.zeroFilled === true);
  countEvent(k, "faults_cow_copy");
}

/**
 * `wp_can_reuse_anon_folio` (reference §5.2). Small folio: the only reference is this mapping
 * (a swap-cache copy counts while other PTEs still refer to its slot, as folio_free_swap fails
 * then). Large folio: every reference is a mapping, all by this mm, and more than one page is
 * still mapped (a large folio with one page left is copied so that it can be freed).
 */
function wpCanReuseAnonFolio(k: KernelState, f: Folio, mm: Mm): boolean {
  if (f.pinned) return false;
  const slot = k.swapCacheOf.get(f);
  if (slot && slot.count > 0) return false;
  const total = f.totalMapcount();
  if (f.nrPages === 1) return total === 1;
  if (total <= 1) return false;
  for (const m of f.mappers.values()) if (m.mm !== mm) return false;
  return true;
}

/**
 * Whether the folio the swap cache holds for an entry of `vma` may be mapped there as it is, the
 * entry being `page` pages from the folio's `index`: `ksm_might_need_to_copy` (mm/ksm.c) maps it
 * when `folio->index` is the entry's `linear_page_index` and `folio_anon_vma(folio)->root` is
 * `vma->anon_vma->root` (the scheme's `RmapScheme.swapCacheAnonMatches`; a scheme without it is
 * not asked). They differ after MREMAP_RELOCATE_ANON moved the entry, which skips non-present
 * entries (docs/model.md §10.2).
 * The kernel returns a large folio as it is, and so does the stub of a kernel without CONFIG_KSM
 * (Android's) for any folio; the model, which cannot map a folio where its index does not place
 * it, applies the same test there too [U] (docs/model.md §6).
 */
function swapCacheFits(k: KernelState, f: Folio, vma: Vma, page: number): boolean {
  if (!(page >= 0 && page < f.nrPages)) return false;
  return k.scheme.swapCacheAnonMatches?.(f, vma) ?? true;
}

/**
 * `do_swap_page`: bring a reclaimed page back: the folio still in the swap cache, or a new one
 * read from the device (with synchronous I/O and the slot's last entry, outside the swap cache:
 * the `SWP_SYNCHRONOUS_IO` path, exclusive). Otherwise the page is exclusive when its entry is
 * (`pte_swp_exclusive`), or when `should_try_to_free_swap` takes the folio out of the swap cache
 * and no one else holds it (`folio_ref_count == 1`): a write fault or a VM_LOCKED VMA, the slot's
 * last entry, and the folio mapped nowhere else (a full swap device, its third case, is not
 * modelled). A folio in the swap cache keeps its anon_vma and index (`folio_add_anon_rmap_ptes`),
 * unless they do not fit this VMA: `ksm_might_need_to_copy` (mm/ksm.c) then copies the page into a
 * new folio, exclusive and outside the swap cache, which keeps the old folio for the slot's other
 * entries (see {@link swapCacheFits}).
 */
function doSwapPage(
  k: KernelState,
  vma: Vma,
  addr: number,
  slot: SwapSlot,
  swpExclusive: boolean,
  access: Access,
): void {
  const mm = vma.mm;
  let cached = slot.cached && !slot.cached.freed ? slot.cached : null;
  // Drop this PTE's reference to the slot (without freeing the cached folio we are about to map).
  const vpn = addr / PAGE_SIZE;
  detachPte(mm, vpn);
  slot.count--;
  // The page of the folio the entry stands for: a large folio stays whole in the swap cache
  // (`folio_file_page(folio, swp_offset(entry))`); its index still gives the page's place. A KSM
  // folio (one page, with its stable node) is mapped as it is wherever its entry is
  // (`ksm_might_need_to_copy` returns it): its index says nothing of the address.
  let page = cached === null || cached.ksm ? 0 : linearPageIndex(vma, addr) - cached.index;
  const copied = cached !== null && !cached.ksm && !swapCacheFits(k, cached, vma, page);
  if (copied) {
    // The swap cache keeps the old folio while other entries refer to the slot.
    releaseSwapCache(k, slot);
    cached = null;
    page = 0;
    countEvent(k, "faults_swapin_copied");
  }
  const freeSwap = slot.count === 0 && (cached === null || !cached.mapped()) &&
    (access === "write" || (vma.flags & VM_LOCKED) !== 0);
  let f: Folio;
  let exclusive: boolean;
  if (cached) {
    f = cached;
    // A KSM folio is never mapped exclusive (`do_swap_page` leaves its pages shared), and maybe
    // mapped where no rmap item of its stable node is (ksm_rmap.ts `ksmSwapinMapped`).
    exclusive = !f.ksm && (swpExclusive || freeSwap);
    f.setPageAnonExclusive(page, exclusive);
    if (f.ksm) ksmSwapinMapped(k, f, mm, addr);
    countEvent(k, "faults_swapin_cached");
  } else {
    // A new folio. When it is not exclusive it may be shared, and goes to the oldest anon_vma
    // (`__folio_set_anon`, exclusive false).
    // A copy is exclusive ("a fresh page that is not exposed to the swapcache").
    exclusive = (k.params.swapSyncIo && slot.count === 0) || swpExclusive || freeSwap || copied;
    k.scheme.prepare(vma);
    f = allocFolio(k, true, linearPageIndex(vma, addr), null);
    f.setPageAnonExclusive(0, exclusive);
    k.scheme.addNewAnon(f, vma, addr, exclusive);
    countEvent(k, "faults_swapin");
  }
  // The swap cache keeps the folio while other PTEs refer to its slot. A device without
  // synchronous I/O swapped it in through the swap cache, which keeps it (and the slot) unless
  // `should_try_to_free_swap` let it go.
  if (!copied) {
    const keep = slot.count > 0 || (!k.params.swapSyncIo && !freeSwap);
    slot.cached = keep ? f : null;
    if (slot.cached) k.swapCacheOf.set(f, slot);
    else k.swapCacheOf.delete(f);
  }
  const writable = exclusive && (vma.flags & VM_WRITE) !== 0;
  // do_swap_page: a write fault on an exclusive page maps it dirty (maybe_mkwrite(pte_mkdirty)).
  const pte = presentPte(f, page, writable, true, false, writable && access === "write");
  setPte(k, mm, addr, pte);
  // (A swapped-in page holds the model's unique content whoever writes: `user` is moot.)
  if (access === "write" && !writable) doWpPage(k, vma, addr, pte, true);
}

/**
 * Scratch arrays of {@link copyPageRange}: the parent's entries of one VMA and their pages, filled
 * by index from 0 (they keep their room between calls: emptying an array drops its backing store,
 * and refilling it by `push` allocated two new ones per VMA copied). Node slots are set to null
 * after each copy, so that nothing stays reachable from here.
 */
const copyNodes: (PteNode | null)[] = [];
/** Entries the scratch arrays keep room for (a PTE page's worth several times over). */
const SCRATCH_KEEP = 4096;
const copyVpns: number[] = [];

/**
 * `copy_page_range` for a VMA whose parent has anon state (`vma_needs_copy`): swap and zero-page
 * PTEs are copied, anon pages become shared and write-protected in both (CoW), and exclusive
 * pinned pages are copied at once (`copy_present_page`).
 *
 * @example Usage
 * ```ts ignore
 * if (k.scheme.hasAnon(mpnt)) copyPageRange(k, tmp, mpnt);
 * ```
 */
export function copyPageRange(k: KernelState, dst: Vma, src: Vma): void {
  const pm = src.mm, cm = dst.mm;
  const cow = isCowMapping(src.flags);
  // The parent's table does not change shape in the loop: walk its nodes, not keys + lookups.
  // Nothing the loop calls copies page ranges, so one pair of arrays serves every call.
  const nodes = copyNodes as PteNode[];
  const vpns = copyVpns;
  const count = pm.pages.rangeNodesInto(src.start / PAGE_SIZE, src.end / PAGE_SIZE, nodes, vpns, 0);
  for (let i = 0; i < count; i++) {
    const pte = nodes[i] as unknown as Pte;
    copyNodes[i] = null;
    const addr = vpns[i] * PAGE_SIZE;
    k.exec.work("pte_check");
    if (pte.kind === "swap") {
      // copy_nonpresent_pte: swap_duplicate, and the parent's entry is no longer exclusive.
      pte.swap.count++;
      if (pte.exclusive === true) (pte as unknown as PteNode).exclusive = false;
      setPte(k, cm, addr, swapPte(pte.swap));
      continue;
    }
    if (pte.kind === "zero") {
      setPte(k, cm, addr, zeroPagePte(false, pte.protNone));
      continue;
    }
    if (pte.kind === "guard") {
      setPte(k, cm, addr, guardPte()); // copy_nonpresent_pte: copy_pte_marker keeps guards
      continue;
    }
    const f = pte.folio;
    if (f.anon && f.pageAnonExclusive(pte.page) && f.pinned) {
      // Early CoW of a possibly DMA-pinned exclusive page (copy_present_page).
      const nf = allocFolio(k, true, linearPageIndex(dst, addr), null);
      k.exec.work("page_copy");
      nf.setPageAnonExclusive(0, true);
      k.scheme.addNewAnon(nf, dst, addr, true);
      // copy_present_page: maybe_mkwrite(pte_mkdirty(pte)).
      const zf = pte.zeroFilled === true; // a copy of the kernel's zeroes still holds zeroes
      setPte(k, cm, addr, presentPte(nf, 0, (dst.flags & VM_WRITE) !== 0, true, false, true, zf));
      countEvent(k, "fork_early_cow");
      continue;
    }
    if (f.anon) f.setPageAnonExclusive(pte.page, false);
    let writable = pte.writable;
    if (cow && writable) {
      pte.writable = false;
      writable = false;
    }
    // copy_present_pte: a shared mapping's copy is made clean; a private one keeps the bit.
    const dirty = (src.flags & VM_SHARED) === 0 && pte.dirty === true;
    const zf = pte.zeroFilled === true;
    setPte(k, cm, addr, presentPte(f, pte.page, writable, false, pte.protNone, dirty, zf));
  }
  // A large VMA's worth of room is not kept.
  if (count > SCRATCH_KEEP) copyNodes.length = copyVpns.length = 0;
  copyTables(pm, cm, src.start, src.end, count > 0);
}
