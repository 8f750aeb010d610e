/**
 * `mremap`: shrink, grow in place, move (one VMA or, for a pure move, several), DONTUNMAP, and
 * the proposed MREMAP_RELOCATE_ANON path. One {@link VmaRemapStruct} (the kernel's
 * `struct vma_remap_struct`) is threaded through the operation instead of positional arguments.
 *
 * Stands for `mm/mremap.c` (Linux 6.18 with the 6.17 multi-VMA move: `do_mremap`,
 * `mremap_to`, `remap_move`, `move_vma`, `copy_vma_and_data`, `move_page_tables`,
 * `dontunmap_complete`) and `copy_vma` of `mm/vma.c`; reference §9–§10.
 *
 * Scheme hooks called here: `hasAnon`, `anonIdentity`, `maybeHasSharedAnon` (relocation
 * eligibility), `vmaInit`, `clone` (`remap`), `relocate` (§10.2), `relocateUndo` (the series'
 * undo of a relocation that failed part-way), `unlink` (DONTUNMAP source, an abandoned
 * relocation); through vma.ts and mmap.ts the merge, split and unmap hooks.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import { countEvent, type KernelState } from "./state.ts";
import { attachPte, detachPte, PMD_SIZE, pmdNone, pteTableIndex } from "./pgtable.ts";
import { anonUnmappedArea, getUnmappedArea, isAligned, munmapRange, pageAlignUp } from "./mmap.ts";
import {
  vmaMergeExistingRange,
  vmaMergeExtend,
  vmaMergeNewRange,
  vmaWouldMergeNewRange,
  vmgExisting,
  vmgNew,
} from "./vma.ts";
import { vmaAlloc, vmaFree, vmaLink, vmaUnlinkFromTree } from "./vma_tree.ts";
import { unmergeKsmPages } from "./ksm.ts";
import { splitFolio } from "./folio.ts";
import {
  type Folio,
  hex,
  type HugePmd,
  linearPageIndex,
  type Mm,
  MREMAP_DONTUNMAP,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  MREMAP_MUST_RELOCATE_ANON,
  MREMAP_RELOCATE_ANON,
  PAGE_SIZE,
  type Pte,
  SyscallError,
  VM_LOCKED_MASK,
  VM_MERGEABLE,
  VM_UFFD_MISSING,
  type Vma,
  vmaIsAnonymous,
} from "./types.ts";

/** What a remap does to the length (`enum mremap_type`, mm/mremap.c). */
export type MremapType = "MREMAP_INVALID" | "MREMAP_NO_RESIZE" | "MREMAP_SHRINK" | "MREMAP_EXPAND";

/**
 * One mremap operation, threaded through it (`struct vma_remap_struct`). The user-provided
 * fields are page aligned once checked; a multi-VMA move rewrites `addr`, the lengths, `newAddr`
 * and `vma` for each piece, as `remap_move` does.
 */
export interface VmaRemapStruct {
  /** Start of the source range (`vrm->addr`). */
  addr: number;
  /** Length of the source range. */
  oldLen: number;
  /** Desired length. */
  newLen: number;
  /** MREMAP_* flags. */
  readonly flags: number;
  /** Destination (given with MREMAP_FIXED, otherwise chosen by `get_unmapped_area`). */
  newAddr: number;
  /** The source VMA. */
  vma: Vma | null;
  /** `|oldLen − newLen|`. */
  delta: number;
  /** Shrink, expand or neither. */
  remapType: MremapType;
}

/**
 * A remap descriptor for the user's arguments (`vrm` as `do_mremap` builds it).
 *
 * @example Usage
 * ```ts ignore
 * const vrm = vrmNew(addr, 4 * PAGE_SIZE, 8 * PAGE_SIZE, MREMAP_MAYMOVE, 0);
 * ```
 */
export function vrmNew(
  addr: number,
  oldLen: number,
  newLen: number,
  flags: number,
  newAddr: number,
): VmaRemapStruct {
  return { addr, oldLen, newLen, flags, newAddr, vma: null, delta: 0, remapType: "MREMAP_INVALID" };
}

function vrmSetRemapType(vrm: VmaRemapStruct): void {
  vrm.delta = Math.abs(vrm.oldLen - vrm.newLen);
  vrm.remapType = vrm.oldLen === vrm.newLen
    ? "MREMAP_NO_RESIZE"
    : vrm.oldLen > vrm.newLen
    ? "MREMAP_SHRINK"
    : "MREMAP_EXPAND";
}

/** `check_mremap_params`: flag combinations, alignment, lengths (aligned here), destination. */
function checkMremapParams(k: KernelState, vrm: VmaRemapStruct): void {
  const sys = "mremap";
  const flags = vrm.flags;
  const all = MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP | MREMAP_RELOCATE_ANON |
    MREMAP_MUST_RELOCATE_ANON;
  if (flags & ~all) throw new SyscallError("EINVAL", sys, `unknown flags ${flags}`);
  const mayMove = (flags & MREMAP_MAYMOVE) !== 0;
  if ((flags & MREMAP_FIXED) && !mayMove) {
    throw new SyscallError("EINVAL", sys, "FIXED needs MAYMOVE");
  }
  if ((flags & MREMAP_DONTUNMAP) && (!mayMove || vrm.oldLen !== vrm.newLen)) {
    throw new SyscallError("EINVAL", sys, "DONTUNMAP needs MAYMOVE and old_len == new_len");
  }
  if ((flags & (MREMAP_RELOCATE_ANON | MREMAP_MUST_RELOCATE_ANON)) && !mayMove) {
    throw new SyscallError("EINVAL", sys, "RELOCATE_ANON needs MAYMOVE");
  }
  if (!isAligned(vrm.addr)) throw new SyscallError("EINVAL", sys, "old_addr not page aligned");
  if (
    !Number.isInteger(vrm.oldLen) || !Number.isInteger(vrm.newLen) || vrm.newLen <= 0 ||
    vrm.oldLen <= 0
  ) {
    throw new SyscallError("EINVAL", sys, "bad length");
  }
  vrm.oldLen = pageAlignUp(vrm.oldLen);
  vrm.newLen = pageAlignUp(vrm.newLen);
  vrmSetRemapType(vrm);
  if (flags & MREMAP_FIXED) {
    const { addr, oldLen, newAddr, newLen } = vrm;
    if (!isAligned(newAddr)) throw new SyscallError("EINVAL", sys, "new_addr not page aligned");
    if (newAddr < addr + oldLen && addr < newAddr + newLen) {
      throw new SyscallError("EINVAL", sys, "source and destination overlap");
    }
    if (newAddr < k.params.mmapMinAddr || newAddr + newLen > k.params.taskSize) {
      throw new SyscallError("EINVAL", sys, "destination out of range");
    }
  }
}

/**
 * `do_mremap`: returns the new address. The caller holds no lock; this takes `mmap_lock`.
 *
 * @example Usage
 * ```ts ignore
 * const a = doMremap(k, mm, vrmNew(addr, len, 2 * len, MREMAP_MAYMOVE, 0));
 * ```
 */
export function doMremap(k: KernelState, mm: Mm, vrm: VmaRemapStruct): number {
  const sys = "mremap";
  checkMremapParams(k, vrm);
  // check_mremap_params, last check: a move to a given address (FIXED or DONTUNMAP) must stay 4
  // maps below the limit even if both the old and the new range split a VMA in three:
  // "(map_count + 2) >= sysctl_max_map_count - 3" is ENOMEM, before anything is unmapped.
  if (
    (vrm.flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) &&
    mm.mapCount + 2 >= k.params.maxMapCount - 3
  ) {
    throw new SyscallError(
      "ENOMEM",
      sys,
      "a move to new_addr would come too close to max_map_count",
    );
  }
  const flags = vrm.flags;
  const fixed = (flags & MREMAP_FIXED) !== 0;
  const addr = vrm.addr;
  const vma = mm.vmas.find(addr);
  if (!vma) throw new SyscallError("EFAULT", sys, `no VMA at ${hex(addr)}`);
  // vrm_move_only: a FIXED call of equal lengths (DONTUNMAP or not) goes through remap_move,
  // which may span several VMAs; within one VMA that is mremap_to's single move.
  const pureMove = fixed && vrm.remapType === "MREMAP_NO_RESIZE";
  // check_prep_vma checks the range (remap_is_valid) only when the call maps new space
  // (vrm_will_map_new: it grows, or it moves to a new address). A shrink or a same-size call in
  // place is not checked: the shrink unmaps [addr + new_len, addr + old_len) whatever VMAs and
  // holes lie there. A shrink that moves needs only the part it keeps in the VMA ("We permit
  // crossing of boundaries for the range being unmapped due to a shrink").
  const willMapNew = vrm.remapType === "MREMAP_EXPAND" ||
    (flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) !== 0;
  const kept = vrm.remapType === "MREMAP_SHRINK" ? vrm.newLen : vrm.oldLen;
  if (willMapNew && addr + kept > vma.end) {
    if (!pureMove) throw new SyscallError("EFAULT", sys, "range crosses a VMA boundary");
    return remapMove(k, mm, vrm);
  }
  vrm.vma = vma;
  k.exec.acquire(mm.mmapLock, "write");
  try {
    if (fixed) return mremapTo(k, mm, vrm);
    if (vrm.remapType !== "MREMAP_EXPAND") {
      if (vrm.remapType === "MREMAP_SHRINK") {
        munmapRange(k, mm, addr + vrm.newLen, addr + vrm.oldLen, sys);
      }
      if (!(flags & MREMAP_DONTUNMAP)) return addr;
      // DONTUNMAP with equal lengths and no FIXED: move to a new area.
    }
    // Grow in place when the VMA ends at the old range and the space after it is free.
    if (
      !(flags & MREMAP_DONTUNMAP) && vrm.remapType === "MREMAP_EXPAND" &&
      vma.end === addr + vrm.oldLen
    ) {
      const extra = vrm.delta;
      if (
        vma.end + extra <= k.params.taskSize && mm.vmas.isFree(vma.end, vma.end + extra)
      ) {
        vmaMergeExtend(k, vma, extra);
        countEvent(k, "mremap_expand_in_place");
        return addr;
      }
    }
    if (!(flags & MREMAP_MAYMOVE)) {
      throw new SyscallError("ENOMEM", sys, "cannot grow in place without MAYMOVE");
    }
    // vrm_set_new_addr: get_unmapped_area with the VMA's file and no hint; a private anonymous
    // VMA (no file) is placed as mmap places one (THP-aligned for multiples of 2 MiB), a shmem
    // or file VMA by its file's placement (not modelled: the plain search).
    const dest = vma.file === null
      ? anonUnmappedArea(k, mm, vrm.newLen)
      : getUnmappedArea(k, mm, vrm.newLen);
    if (dest === null) throw new SyscallError("ENOMEM", sys, "no free range for the move");
    if (mm.mapCount + 3 >= k.params.maxMapCount) {
      throw new SyscallError("ENOMEM", sys, "too close to max_map_count");
    }
    vrm.newAddr = dest;
    return moveVma(k, vrm);
  } finally {
    k.exec.release(mm.mmapLock, "write");
  }
}

/** `mremap_to` (MREMAP_FIXED, one source VMA): clear the destination, shrink, then move. */
function mremapTo(k: KernelState, mm: Mm, vrm: VmaRemapStruct): number {
  const sys = "mremap";
  if (mm.mapCount + 3 >= k.params.maxMapCount) {
    throw new SyscallError("ENOMEM", sys, "too close to max_map_count");
  }
  munmapRange(k, mm, vrm.newAddr, vrm.newAddr + vrm.newLen, sys);
  if (vrm.remapType === "MREMAP_SHRINK") {
    munmapRange(k, mm, vrm.addr + vrm.newLen, vrm.addr + vrm.oldLen, sys);
    vrm.oldLen = vrm.newLen;
  }
  vrm.vma = mm.vmas.find(vrm.addr)!;
  return moveVma(k, vrm);
}

/** `remap_move`: the 6.17 multi-VMA move (FIXED, equal lengths, DONTUNMAP or not), by pieces. */
function remapMove(k: KernelState, mm: Mm, vrm: VmaRemapStruct): number {
  const { addr, newAddr } = vrm;
  const len = vrm.oldLen;
  const end = addr + len;
  const pieces = mm.vmas.intersecting(addr, end).map((v) => ({
    start: Math.max(v.start, addr),
    end: Math.min(v.end, end),
    vmaEnd: v.end,
  }));
  k.exec.acquire(mm.mmapLock, "write");
  try {
    for (let i = 0; i < pieces.length; i++) {
      const p = pieces[i];
      // vma_multi_allowed: a uffd-armed VMA moves only alone. EFAULT at a later piece, after
      // the pieces before it moved (as Linux 6.18 does on this host), or at the first when the
      // range runs on past it.
      if ((mm.vmas.find(p.start)!.flags & VM_UFFD_MISSING) && (i > 0 || p.vmaEnd < end)) {
        throw new SyscallError("EFAULT", "mremap", "a multi-VMA move of a uffd-armed VMA");
      }
      vrm.addr = p.start;
      vrm.oldLen = vrm.newLen = p.end - p.start;
      vrm.newAddr = newAddr + (p.start - addr);
      // Each piece's mremap_to clears only its own destination: what is mapped where the
      // source has a gap stays.
      munmapRange(k, mm, vrm.newAddr, vrm.newAddr + vrm.newLen, "mremap");
      vrm.vma = mm.vmas.find(p.start)!;
      moveVma(k, vrm);
    }
  } finally {
    k.exec.release(mm.mmapLock, "write");
  }
  countEvent(k, "mremap_multi_vma");
  return newAddr;
}

/** `move_vma` (reference §9.2), with the RELOCATE_ANON path (§10.2). Returns the new address. */
function moveVma(k: KernelState, vrm: VmaRemapStruct): number {
  const vma = vrm.vma!;
  const { addr: oldAddr, oldLen, newLen, newAddr, flags } = vrm;
  const mm = vma.mm;
  const newPgoff = vma.pgoff + (oldAddr - vma.start) / PAGE_SIZE;
  const relocate = (flags & (MREMAP_RELOCATE_ANON | MREMAP_MUST_RELOCATE_ANON)) !== 0;
  // prep_move_vma: "Advise KSM to break any KSM pages in the area to be moved"
  // (ksm_madvise(vma, old_addr, old_addr + old_len, MADV_UNMERGEABLE, &dummy): VM_MERGEABLE stays).
  if (k.params.ksmBreakOnMove && (vma.flags & VM_MERGEABLE)) {
    unmergeKsmPages(k, vma, oldAddr, oldAddr + oldLen);
  }
  let newVma: Vma | null = null;
  let relocated = false;
  if (relocate) {
    const r = tryRelocateAnon(k, vrm, newPgoff);
    if (r) {
      newVma = r;
      relocated = true;
    }
  }
  if (!newVma) {
    newVma = copyVma(k, vma, newAddr, newLen, newPgoff);
    movePageTables(k, mm, oldAddr, newAddr, Math.min(oldLen, newLen), vma.flags);
  }
  countEvent(k, relocated ? "mremap_relocated" : "mremap_moves");
  // mremap_userfaultfd_prep: without UFFD_FEATURE_EVENT_REMAP (not modelled) the new VMA (a
  // merged neighbour too) drops its userfaultfd context.
  if (newVma.flags & VM_UFFD_MISSING) newVma.flags &= ~VM_UFFD_MISSING;
  if (flags & MREMAP_DONTUNMAP) {
    // dontunmap_complete: the source stays, without VM_LOCKED_MASK; its anon links go when the
    // whole VMA moved. It keeps VM_ACCOUNT: the stable fix "mm/mremap: do not clear VM_ACCOUNT"
    // of the move_vma refactor (in this host's 6.18.44) dropped the clear the refactor added, so
    // the source still merges with an accounted neighbour (verify: mremap-dontunmap-keeps-account).
    const src = mm.vmas.find(oldAddr);
    if (src) {
      src.flags &= ~VM_LOCKED_MASK;
      if (src !== newVma && src.start === oldAddr && src.end === oldAddr + oldLen) {
        k.scheme.unlink(src);
      }
    }
  } else {
    munmapRange(k, mm, oldAddr, oldAddr + oldLen, "mremap");
  }
  return newAddr;
}

/** `copy_vma`: merge the destination range with its neighbours, or create a new VMA. */
function copyVma(k: KernelState, vma: Vma, addr: number, len: number, pgoff: number): Vma {
  const faulted = k.scheme.hasAnon(vma);
  if (vmaIsAnonymous(vma) && !faulted) pgoff = addr / PAGE_SIZE;
  const vmg = vmgNew(
    vma.mm,
    addr,
    addr + len,
    pgoff,
    vma.flags,
    vma.file,
    k.scheme.anonIdentity(vma),
    vma,
  );
  const merged = vmaMergeNewRange(k, vmg);
  if (merged) return merged;
  const nv = vmaAlloc(k, vma.mm, addr, addr + len, pgoff, vma.flags, vma.file);
  k.scheme.vmaInit(nv);
  k.scheme.clone(nv, vma, "remap");
  vmaLink(k, nv);
  return nv;
}

/**
 * `move_page_tables`: PTEs move; folios and their `mapping`/`index` are untouched. Per 2 MiB
 * extent of the source that has a page table: where both addresses are 2 MiB aligned and the
 * destination has none, the whole table moves (`move_normal_pmd`, or `move_huge_pmd` for a THP),
 * leaving the source `pmd_none`; otherwise the entries move and the destination gets a table
 * (`pte_alloc`) even when no entry lands in it, while the source keeps its own, emptied. A
 * userfaultfd-armed source (`flags`) moves no whole table of PTEs (`move_normal_pmd`:
 * `vma_has_uffd_without_event_remap`, the model having no UFFD_FEATURE_EVENT_REMAP), but one PMD
 * entry of a THP or the huge zero page moves whole all the same (`move_huge_pmd` has no such
 * check; verify's thp-move-uffd-huge-pmd).
 */
function movePageTables(
  k: KernelState,
  mm: Mm,
  oldAddr: number,
  newAddr: number,
  len: number,
  flags: number,
): void {
  const whole = (flags & VM_UFFD_MISSING) === 0;
  const movedWhole: number[] = [], dstTables: number[] = [];
  for (let off = 0; off < len;) {
    const oa = oldAddr + off, na = newAddr + off;
    const extent = Math.min(PMD_SIZE - (oa % PMD_SIZE), PMD_SIZE - (na % PMD_SIZE), len - off);
    const t = pteTableIndex(oa / PAGE_SIZE), nt = pteTableIndex(na / PAGE_SIZE);
    if (!pmdNone(mm, t)) {
      // move_normal_pmd refuses a userfaultfd-armed VMA; move_huge_pmd (one PMD entry) does not.
      const huge = mm.hugePmds !== undefined && mm.hugePmds.has(t);
      if ((whole || huge) && extent === PMD_SIZE && pmdNone(mm, nt)) movedWhole.push(t);
      dstTables.push(nt);
    }
    off += extent;
  }
  // move_huge_pmd: a huge PMD moved whole stays one at its new place.
  const h = mm.hugePmds;
  const hugeMoved: [number, HugePmd][] = [];
  for (const t of movedWhole) {
    const kind = h?.get(t);
    if (kind !== undefined) hugeMoved.push([t, kind]);
  }
  const keys = mm.pages.rangeKeys(oldAddr / PAGE_SIZE, (oldAddr + len) / PAGE_SIZE);
  const moved: { addr: number; pte: Pte }[] = [];
  for (const vpn of keys) {
    // Detach without dropping references.
    const pte = detachPte(mm, vpn)!;
    const a = vpn * PAGE_SIZE;
    moved.push({ addr: newAddr + (a - oldAddr), pte });
    if (pte.kind === "present" && pte.folio.anon) k.oracle.unmap(pte.folio, mm, a);
  }
  for (const { addr, pte } of moved) {
    attachPte(mm, addr / PAGE_SIZE, pte);
    if (pte.kind === "present" && pte.folio.anon) k.oracle.map(pte.folio, mm, addr);
    k.exec.work("pte_update");
  }
  for (const t of movedWhole) mm.emptyTables?.delete(t);
  for (const [t, kind] of hugeMoved) h!.set(t + (newAddr - oldAddr) / PMD_SIZE, kind);
  for (const nt of dstTables) {
    if (!mm.ptePages.has(nt)) (mm.emptyTables ??= new Set()).add(nt);
  }
}

/**
 * MREMAP_RELOCATE_ANON: returns the destination VMA when the move was done by relocation,
 * null to fall back to an ordinary move (reference §10.2).
 */
function tryRelocateAnon(k: KernelState, vrm: VmaRemapStruct, newPgoff: number): Vma | null {
  const vma = vrm.vma!;
  const { addr: oldAddr, oldLen, newLen, newAddr, flags } = vrm;
  const must = (flags & MREMAP_MUST_RELOCATE_ANON) !== 0;
  const fail = (why: string): null => {
    countEvent(k, "relocate_fallback");
    if (must) throw new SyscallError("EFAULT", "mremap", `cannot relocate anon folios: ${why}`);
    return null;
  };
  // Unpopulated ranges and moves that merge anyway need no relocation (not failures).
  if (!k.scheme.hasAnon(vma)) return null;
  if (!k.scheme.relocate) return fail("the scheme does not support relocation");
  if (!vmaIsAnonymous(vma)) return fail("not anonymous");
  if (k.scheme.maybeHasSharedAnon(vma)) return fail("VMA may have shared anon folios");
  // Would an ordinary merge succeed? Then relocation is unnecessary.
  const probe = vmgNew(
    vma.mm,
    newAddr,
    newAddr + newLen,
    newPgoff,
    vma.flags,
    vma.file,
    k.scheme.anonIdentity(vma),
    vma,
  );
  if (vmaWouldMergeNewRange(k, probe)) return null;
  const mm = vma.mm;
  const len = Math.min(oldLen, newLen);
  // One entry per folio, with the destination address of its first page. A PTE-mapped large
  // folio is relocated as a unit when the moved range spans every page it maps; otherwise the
  // series' large-folio patch (2025-06-09 series, docs/model.md §10.2) tries split_folio() and
  // retries the PTEs, giving up when the split fails. The simulator splits in a pass before the
  // destination exists; the series' give-up when the folio's anon_vma shares the root lock it
  // already holds (deadlock avoidance) is not modelled.
  const folios: { folio: Folio; addr: number }[] = [];
  const seen = new Set<Folio>();
  const end = oldAddr + len;
  for (const vpn of mm.pages.rangeKeys(oldAddr / PAGE_SIZE, end / PAGE_SIZE)) {
    const f = mm.pages.get(vpn)!.folio;
    if (!f || !f.anon || f.ksm || f.nrPages === 1 || seen.has(f)) continue;
    seen.add(f);
    const partly = [...f.mappers.values()].some((m) =>
      m.mm !== mm || m.addr < oldAddr || m.addr >= end
    );
    if (partly && !f.pinned && f.maxPageMapcount() <= 1) {
      if (splitFolio(k, f)) countEvent(k, "relocate_split_folio");
    }
  }
  seen.clear();
  for (const vpn of mm.pages.rangeKeys(oldAddr / PAGE_SIZE, end / PAGE_SIZE)) {
    const pte = mm.pages.get(vpn)!;
    const f = pte.folio;
    if (!f || !f.anon || f.ksm || seen.has(f)) continue;
    seen.add(f);
    if (f.pinned) return fail(`folio ${f.id} is pinned`);
    if (f.maxPageMapcount() > 1) return fail(`folio ${f.id} is mapped shared`);
    if (f.nrPages > 1) {
      for (const m of f.mappers.values()) {
        if (m.mm !== mm || m.addr < oldAddr || m.addr >= end) {
          return fail(`large folio ${f.id} is not fully inside the moved range`);
        }
      }
    }
    const first = vpn * PAGE_SIZE - pte.page * PAGE_SIZE;
    folios.push({ folio: f, addr: newAddr + (first - oldAddr) });
  }
  const dst = vmaAlloc(k, mm, newAddr, newAddr + newLen, newAddr / PAGE_SIZE, vma.flags, null);
  k.scheme.vmaInit(dst);
  vmaLink(k, dst);
  movePageTables(k, mm, oldAddr, newAddr, len, vma.flags);
  // params.relocateFailAfter (debug): the relocation fails after that many folios.
  const failAfter = k.params.relocateFailAfter;
  const injected = failAfter >= 0 && failAfter < folios.length;
  const batch = injected ? folios.slice(0, failAfter) : folios;
  const saved = batch.map(({ folio }) => ({ folio, rmap: folio.rmap, index: folio.index }));
  const ok = k.scheme.relocate(vma, dst, batch);
  if (ok) { for (const { folio, addr } of batch) folio.index = linearPageIndex(dst, addr); }
  if (!ok || injected) {
    // The series' undo: every relocated folio gets its old mapping and index back (newest
    // first), the destination is removed and the page tables go back; then the ordinary move.
    if (ok) {
      for (const s of saved.reverse()) {
        if (!k.scheme.relocateUndo) throw new Error("scheme relocates without an undo");
        k.scheme.relocateUndo(s.folio, s.rmap);
        s.folio.index = s.index;
        k.exec.work("pte_update");
      }
      countEvent(k, "relocate_undo");
    }
    movePageTables(k, mm, newAddr, oldAddr, len, vma.flags);
    vmaUnlinkFromTree(k, dst);
    k.scheme.unlink(dst);
    vmaFree(k, dst);
    return fail(
      injected ? "injected failure (relocateFailAfter)" : "a folio could not be relocated",
    );
  }
  // Retry the merge of the relocated VMA with its neighbours.
  return vmaMergeExistingRange(k, vmgExisting(k, dst, dst.start, dst.end, dst.flags)) ?? dst;
}
