/**
 * `mincore`: which pages of a range are resident in memory.
 *
 * Stands for `mm/mincore.c` of Linux 6.18 (`do_mincore`, `mincore_pte_range`,
 * `mincore_unmapped_range`, `mincore_page`, `mincore_swap`): a present PTE (the zero page too)
 * is resident; an empty entry or a PTE marker (`pte_none_mostly`: a guard marker) is resident
 * when the VMA maps a file (shmem included) whose page cache holds that page, else not; a swap
 * entry is resident when its slot's page is in the swap cache. The range must be mapped whole
 * (ENOMEM at the first hole) and start page aligned (EINVAL). The model's page cache keeps
 * every page it ever read (no page-cache reclaim).
 *
 * Scheme hooks called here: none.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import { isAligned, pageAlignUp } from "./mmap.ts";
import { linearPageIndex, type Mm, PAGE_SIZE, SyscallError, type Vma } from "./types.ts";

/**
 * The residency of each page of `[addr, addr + len)` in `mm` (1 resident, 0 not), as `mincore`
 * fills its vector.
 *
 * @example Usage
 * ```ts ignore
 * const vec = mincore(mm, addr, 4 * PAGE_SIZE); // e.g. Uint8Array [1, 0, 0, 1]
 * ```
 */
export function mincore(mm: Mm, addr: number, len: number): Uint8Array {
  const sys = "mincore";
  if (!isAligned(addr)) throw new SyscallError("EINVAL", sys, "addr not page aligned");
  const end = addr + pageAlignUp(len);
  const vec = new Uint8Array((end - addr) / PAGE_SIZE);
  let vma: Vma | undefined;
  for (let a = addr; a < end; a += PAGE_SIZE) {
    if (vma === undefined || a >= vma.end) vma = mm.vmas.find(a);
    if (vma === undefined) throw new SyscallError("ENOMEM", sys, "range has a hole");
    const pte = mm.pages.get(a / PAGE_SIZE);
    let resident = false;
    if (pte === undefined || pte.kind === "guard") {
      const f = vma.file?.pageCache.get(linearPageIndex(vma, a));
      resident = f !== undefined && !f.freed;
    } else if (pte.kind === "swap") resident = pte.swap.cached !== null;
    else resident = true;
    vec[(a - addr) / PAGE_SIZE] = resident ? 1 : 0;
  }
  return vec;
}
