/**
 * `mprotect`: new access flags per VMA (merging or splitting through `vma_modify_flags`) and
 * the page-table side, `change_protection`.
 *
 * Stands for `mm/mprotect.c` (`do_mprotect_pkey`, `mprotect_fixup`, `change_protection`,
 * `can_change_pte_writable`), including `mprotect_fixup`'s populate of a private VM_LOCKED VMA
 * made writable.
 *
 * Scheme hooks called here: `hasAnon` (VM_ACCOUNT of unfaulted memory); through vma.ts, the
 * merge and split hooks; through memory.ts (the populate of a locked VMA made writable), the
 * fault hooks.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import type { KernelState } from "./state.ts";
import { isAligned, pageAlignUp, protToVm } from "./mmap.ts";
import { vmaModifyFlags } from "./vma.ts";
import { populateRange } from "./memory.ts";
import {
  hex,
  type Mm,
  PAGE_SIZE,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
  SyscallError,
  VM_ACCESS_FLAGS,
  VM_ACCOUNT,
  VM_EXEC,
  VM_LOCKED,
  VM_NORESERVE,
  VM_READ,
  VM_SHARED,
  VM_WRITE,
  type Vma,
  vmaIsAnonymous,
} from "./types.ts";

/**
 * `change_protection`: write-protects, or (for exclusive anon pages and shared mappings) makes
 * writable, the PTEs of `[start, end)` in `vma`; PROT_NONE marks them `protNone`.
 *
 * @example Usage
 * ```ts ignore
 * changeProtection(k, vma, vma.start, vma.end);
 * ```
 */
export function changeProtection(k: KernelState, vma: Vma, start: number, end: number): void {
  const mm = vma.mm;
  const writable = (vma.flags & VM_WRITE) !== 0;
  const none = (vma.flags & (VM_READ | VM_WRITE | VM_EXEC)) === 0;
  for (const vpn of mm.pages.rangeKeys(start / PAGE_SIZE, end / PAGE_SIZE)) {
    const pte = mm.pages.get(vpn)!;
    k.exec.work("pte_update");
    // A swap entry or a guard marker carries no protection (the VMA's applies at swap-in); the
    // zero page stays read-only whatever the new protection.
    if (pte.kind === "swap" || pte.kind === "guard") continue;
    pte.protNone = none;
    if (pte.kind === "zero") continue;
    if (!writable) pte.writable = false;
    else if ((vma.flags & VM_SHARED) || (pte.folio.anon && pte.folio.pageAnonExclusive(pte.page))) {
      pte.writable = true; // can_change_pte_writable
    }
  }
}

/**
 * `do_mprotect_pkey` with `mmap_lock` held.
 *
 * @example Usage
 * ```ts ignore
 * doMprotect(k, mm, addr, len, PROT_READ);
 * ```
 */
export function doMprotect(
  k: KernelState,
  mm: Mm,
  addr: number,
  len: number,
  prot: number,
): void {
  const sys = "mprotect";
  if (!isAligned(addr)) throw new SyscallError("EINVAL", sys, "addr not page aligned");
  if (!Number.isInteger(len) || len < 0) throw new SyscallError("EINVAL", sys, "bad length");
  if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)) {
    throw new SyscallError("EINVAL", sys, `unknown prot bits ${prot}`);
  }
  const end = addr + pageAlignUp(len);
  if (end === addr) return;
  // do_mprotect_pkey: mprotect_fixup VMA by VMA up to the first hole, then ENOMEM, the VMAs
  // before it keeping their new protection (a range that starts in a hole changes nothing). A
  // split refused at max_map_count (split_vma) fails the same way, after the VMAs before it,
  // and a merge on the way can make room for a later split.
  const newAccess = protToVm(prot);
  let cur = addr;
  while (cur < end) {
    const vma = mm.vmas.find(cur);
    if (vma === undefined) {
      throw new SyscallError("ENOMEM", sys, `range ${hex(addr)}-${hex(end)} has a hole`);
    }
    const tmpEnd = Math.min(vma.end, end);
    const old = vma.flags;
    let nf = (old & ~VM_ACCESS_FLAGS) | newAccess;
    if (
      (nf & VM_WRITE) && !(old & (VM_ACCOUNT | VM_WRITE | VM_SHARED | VM_NORESERVE))
    ) {
      nf |= VM_ACCOUNT; // mprotect_fixup charges a private mapping made writable (not NORESERVE)
    } else if (
      !(nf & VM_WRITE) && (old & VM_ACCOUNT) && vmaIsAnonymous(vma) &&
      !k.scheme.hasAnon(vma)
    ) {
      nf &= ~VM_ACCOUNT; // unfaulted anonymous read-only memory is not charged (6.4+)
    }
    let target = vma;
    if (nf !== old) target = vmaModifyFlags(k, vma, cur, tmpEnd, nf, sys);
    changeProtection(k, target, cur, tmpEnd);
    // mprotect_fixup: "Private VM_LOCKED VMA becoming writable: trigger COW to avoid major fault
    // on access": populate_vma_page_range under the held mmap_lock, with write faults (a private
    // file page gets its anonymous copy); its errors are ignored; a VM_LOCKONFAULT VMA is skipped.
    if ((old & (VM_WRITE | VM_SHARED | VM_LOCKED)) === VM_LOCKED && (nf & VM_WRITE)) {
      populateRange(k, mm, cur, tmpEnd - cur, undefined, true);
    }
    cur = tmpEnd;
  }
}
