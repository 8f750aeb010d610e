/**
 * Mapping and unmapping: `mmap`, `munmap`, `brk`, the unmapped-area search and `exit_mmap`.
 *
 * Stands for `mm/mmap.c` (`do_mmap`, `do_brk_flags`, `exit_mmap`, `get_unmapped_area`) and the
 * unmap half of `mm/vma.c` (`do_vmi_align_munmap`, `remove_vma`).
 *
 * Scheme hooks called here: `vmaInit` (a new VMA), `unlink` (teardown), `mmTeardown` (exit); and,
 * through vma.ts, the merge and split hooks.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import type { KernelState } from "./state.ts";
import { createFile } from "./folio.ts";
import { freePgtables, PMD_SIZE, zapRange, zapWholeMm } from "./pgtable.ts";
import { splitVma, vmaMergeNewRange, type VmaMergeStruct, vmgNew, vmgReset } from "./vma.ts";
import { vmaAlloc, vmaLink, vmaUnlinkAllFromTree, vmaUnlinkFromTree } from "./vma_tree.ts";
import {
  hex,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_GROWSDOWN,
  MAP_LOCKED,
  MAP_NORESERVE,
  MAP_PRIVATE,
  MAP_SHARED,
  MAP_STACK,
  type Mm,
  PAGE_SIZE,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
  type SimFile,
  SyscallError,
  VM_ACCOUNT,
  VM_EXEC,
  VM_GROWSDOWN,
  VM_LOCKED,
  VM_MAYEXEC,
  VM_MAYREAD,
  VM_MAYSHARE,
  VM_MAYWRITE,
  VM_NOHUGEPAGE,
  VM_NORESERVE,
  VM_READ,
  VM_SHARED,
  VM_WRITE,
  type Vma,
} from "./types.ts";

/**
 * `calc_vm_prot_bits`: PROT_* to VM_READ/VM_WRITE/VM_EXEC.
 *
 * @example Usage
 * ```ts ignore
 * if (protToVm(PROT_READ) !== VM_READ) throw new Error();
 * ```
 */
export function protToVm(prot: number): number {
  let f = 0;
  if (prot & PROT_READ) f |= VM_READ;
  if (prot & PROT_WRITE) f |= VM_WRITE;
  if (prot & PROT_EXEC) f |= VM_EXEC;
  return f;
}

/**
 * `PAGE_ALIGNED(x)` for a JavaScript number (an integer multiple of the page size).
 *
 * @example Usage
 * ```ts ignore
 * if (!isAligned(addr)) throw new SyscallError("EINVAL", "munmap", "addr not page aligned");
 * ```
 */
export function isAligned(x: number): boolean {
  return Number.isInteger(x) && x % PAGE_SIZE === 0;
}

/**
 * `PAGE_ALIGN(x)`: rounds up to a page boundary.
 *
 * @example Usage
 * ```ts ignore
 * const len = pageAlignUp(5000); // 8192
 * ```
 */
export function pageAlignUp(x: number): number {
  return Math.ceil(x / PAGE_SIZE) * PAGE_SIZE;
}

/**
 * `TASK_UNMAPPED_BASE` of a task of `taskSize` bytes, `PAGE_ALIGN(task_size / 3)`
 * (arch/x86/include/asm/processor.h): the bottom-up search's start, `mm->mmap_legacy_base` with
 * ASLR off (arch/x86/mm/mmap.c).
 */
export function taskUnmappedBase(taskSize: number): number {
  return pageAlignUp(Math.floor(taskSize / 3));
}

/**
 * `get_unmapped_area` as x86_64's `arch_get_unmapped_area_topdown` (arch/x86/kernel/sys_x86_64.c):
 * top-down from `mmap_base` down to `mmap_min_addr`; when nothing fits there, bottom-up from
 * `mmap_legacy_base` ({@link taskUnmappedBase}) to `TASK_SIZE` (`arch_get_unmapped_area`), which
 * also finds a free range that straddles `mmap_base`. A free range of `len` bytes, or null.
 *
 * @example Usage
 * ```ts ignore
 * const dest = getUnmappedArea(k, mm, len);
 * ```
 */
export function getUnmappedArea(k: KernelState, mm: Mm, len: number): number | null {
  const r = mm.vmas.gapTopDown(len, k.params.mmapMinAddr, mm.mmapBase);
  if (r !== undefined) return r;
  // vm_unmapped_area raises a low limit below mmap_min_addr to it (mm/mmap.c).
  const { taskSize, mmapMinAddr } = k.params;
  const r2 = mm.vmas.gapBottomUp(len, Math.max(taskUnmappedBase(taskSize), mmapMinAddr), taskSize);
  return r2 ?? null;
}

/** `PMD_SIZE` (2 MiB), defined with the page tables and exported here as before. */
export { PMD_SIZE };

/**
 * `thp_get_unmapped_area_vmflags` for private anonymous memory (file offset 0), after
 * `__thp_get_unmapped_area` (mm/huge_memory.c, Linux 6.18): asks for `len + PMD_SIZE` bytes and
 * aligns within them, to the next 2 MiB boundary above the range's start, or, when that start is
 * aligned already, to the top of the padded range (the mm is top-down, MMF_TOPDOWN: the mapping
 * then ends where the search's range ended). When the padded length fits nowhere, the unpadded
 * search's result. On this host, `mmap(NULL, 2 MiB)` below a mapping that ends 0x1d1000 above a
 * 2 MiB boundary lands 0x2f000 above `top - 4 MiB`, the next boundary; a second one lands
 * directly below it.
 *
 * @example Usage
 * ```ts ignore
 * const a = thpGetUnmappedArea(k, mm, 4 * PMD_SIZE);
 * ```
 */
export function thpGetUnmappedArea(k: KernelState, mm: Mm, len: number): number | null {
  const padded = getUnmappedArea(k, mm, len + PMD_SIZE);
  if (padded === null) return getUnmappedArea(k, mm, len);
  const offSub = (PMD_SIZE - (padded % PMD_SIZE)) % PMD_SIZE;
  return offSub === 0 ? padded + PMD_SIZE : padded + offSub;
}

/**
 * `__get_unmapped_area` without a hint for private anonymous memory (no file, no MAP_SHARED):
 * THP-aligned ({@link thpGetUnmappedArea}) when the length is a multiple of `PMD_SIZE` and the
 * kernel has THP (`params.thp`), else the plain search. mmap and mremap's moves both
 * place such memory through it (mm/mmap.c, mm/mremap.c `vrm_set_new_addr`).
 *
 * @example Usage
 * ```ts ignore
 * const a = anonUnmappedArea(k, mm, len);
 * ```
 */
export function anonUnmappedArea(k: KernelState, mm: Mm, len: number): number | null {
  return k.params.thp && len % PMD_SIZE === 0
    ? thpGetUnmappedArea(k, mm, len)
    : getUnmappedArea(k, mm, len);
}

/**
 * Checks that `[start, end)` is entirely covered by VMAs (no hole).
 *
 * @example Usage
 * ```ts ignore
 * if (!fullyMapped(mm, addr, end)) throw new SyscallError("ENOMEM", "madvise", "hole");
 * ```
 */
export function fullyMapped(mm: Mm, start: number, end: number): boolean {
  let cur = start;
  for (const v of mm.vmas.intersecting(start, end)) {
    if (v.start > cur) return false;
    cur = v.end;
  }
  return cur >= end;
}

/**
 * The merge descriptor of {@link doMmap}, reused (nothing keeps one past its merge, and nothing a
 * merge calls maps): one object per mmap was most of a mapping's garbage. Its `mm` is dropped
 * after use.
 */
const mmapVmg: VmaMergeStruct = vmgNew(null as unknown as Mm, 0, 0, 0, 0, null);

/**
 * `do_mmap` (with `mmap_lock` held by the caller): private and shared anonymous memory (shared
 * anonymous memory is a shmem file) and private/shared file mappings. Returns the address.
 *
 * @example Usage
 * ```ts ignore
 * const a = doMmap(k, mm, 0, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, null, 0);
 * ```
 */
export function doMmap(
  k: KernelState,
  mm: Mm,
  addr: number,
  len: number,
  prot: number,
  flags: number,
  file: SimFile | null,
  offset: number,
): number {
  const sys = "mmap";
  const params = k.params;
  if (!mm.alive) throw new SyscallError("EINVAL", sys, "process has exited");
  if (!Number.isInteger(len) || len <= 0) {
    throw new SyscallError("EINVAL", sys, `bad length ${len}`);
  }
  len = pageAlignUp(len);
  const type = flags & (MAP_SHARED | MAP_PRIVATE);
  if (type !== MAP_SHARED && type !== MAP_PRIVATE) {
    throw new SyscallError(
      "EINVAL",
      sys,
      "exactly one of MAP_SHARED and MAP_PRIVATE is required",
    );
  }
  const anonymous = (flags & MAP_ANONYMOUS) !== 0;
  if (!anonymous && !file) throw new SyscallError("EINVAL", sys, "file mapping without a file");
  if (!isAligned(offset)) throw new SyscallError("EINVAL", sys, "offset not page aligned");
  const fixed = (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) !== 0;
  if (fixed && !isAligned(addr)) throw new SyscallError("EINVAL", sys, "addr not page aligned");
  if (len > params.taskSize) throw new SyscallError("ENOMEM", sys, "length too large");
  let start: number;
  if (fixed) {
    if (addr < params.mmapMinAddr || addr + len > params.taskSize) {
      throw new SyscallError(addr < params.mmapMinAddr ? "EPERM" : "ENOMEM", sys, "range");
    }
    if ((flags & MAP_FIXED_NOREPLACE) && !mm.vmas.isFree(addr, addr + len)) {
      throw new SyscallError("EEXIST", sys, `range ${hex(addr)} is in use`);
    }
    start = addr;
  } else if (
    addr && isAligned(addr) && addr >= params.mmapMinAddr &&
    addr + len <= params.taskSize && mm.vmas.isFree(addr, addr + len)
  ) {
    start = addr; // the hint is honoured when free
  } else {
    // __get_unmapped_area: private anonymous memory with no hint and a length that is a multiple
    // of PMD_SIZE is placed THP-aligned (shared anonymous memory goes to shmem's own placement,
    // which aligns only when shmem huge pages are enabled: not modelled, [U] "never").
    const a = anonymous && type === MAP_PRIVATE && !addr
      ? anonUnmappedArea(k, mm, len)
      : getUnmappedArea(k, mm, len);
    if (a === null) throw new SyscallError("ENOMEM", sys, "no free range of that size");
    start = a;
  }
  const end = start + len;
  // do_mmap: "Too many mappings?" (note: >, so the count may reach max + 1 as on Linux).
  if (mm.mapCount > params.maxMapCount) {
    throw new SyscallError(
      "ENOMEM",
      sys,
      `map_count at max_map_count ${params.maxMapCount}`,
    );
  }
  // do_mmap: calc_vm_prot_bits | calc_vm_flag_bits (MAP_LOCKED -> VM_LOCKED) | mm->def_flags.
  let vmFlags = protToVm(prot) | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC | (mm.defFlags ?? 0);
  if (flags & MAP_LOCKED) vmFlags |= VM_LOCKED;
  let mapFile = file;
  let pgoff: number;
  if (type === MAP_SHARED) {
    vmFlags |= VM_SHARED | VM_MAYSHARE;
    if (anonymous) {
      mapFile = createFile(k, `shmem-${k.nextFileId}`, len / PAGE_SIZE, true);
      pgoff = 0;
    } else pgoff = offset / PAGE_SIZE;
  } else {
    // Private anonymous memory: pgoff = addr >> PAGE_SHIFT (reference §6).
    pgoff = anonymous ? start / PAGE_SIZE : offset / PAGE_SIZE;
    if (anonymous) mapFile = null;
    // accountable_mapping(): private writable mappings are charged (VM_ACCOUNT), unless
    // MAP_NORESERVE made them VM_NORESERVE (below).
    if ((vmFlags & VM_WRITE) && !(flags & MAP_NORESERVE)) vmFlags |= VM_ACCOUNT;
  }
  if (flags & MAP_GROWSDOWN) vmFlags |= VM_GROWSDOWN;
  // do_mmap honours MAP_NORESERVE while vm.overcommit_memory is not 2 (OVERCOMMIT_NEVER; the
  // default is 0) [U: the model has no overcommit setting]. The flag keeps the mapping apart from
  // charged ones (merge and anon_vma_compatible compare flags).
  if (flags & MAP_NORESERVE) vmFlags |= VM_NORESERVE;
  // calc_vm_flag_bits: MAP_STACK -> VM_NOHUGEPAGE on a kernel with THP (include/linux/mman.h).
  if ((flags & MAP_STACK) && params.thp) vmFlags |= VM_NOHUGEPAGE;
  if (fixed) munmapRange(k, mm, start, end, sys);
  const vmg = vmgReset(mmapVmg, mm, start, end, pgoff, vmFlags, mapFile);
  // A shmem object is new and unique: it can never merge.
  const merged = !(mapFile && mapFile.shmem) && vmaMergeNewRange(k, vmg) !== null;
  vmgReset(vmg, null as unknown as Mm, 0, 0, 0, 0, null);
  if (merged) return start;
  const v = vmaAlloc(k, mm, start, end, pgoff, vmFlags, mapFile);
  k.scheme.vmaInit(v);
  vmaLink(k, v);
  return start;
}

/**
 * `do_vmi_align_munmap`: splits the edge VMAs, zaps, unlinks and frees what lies inside
 * `[start, end)`.
 *
 * @example Usage
 * ```ts ignore
 * munmapRange(k, mm, addr, addr + len, "munmap");
 * ```
 */
export function munmapRange(
  k: KernelState,
  mm: Mm,
  start: number,
  end: number,
  sys: string,
): void {
  const first = mm.vmas.findFirstEndAfter(start);
  if (!first || first.start >= end) return;
  if (first.start < start) {
    if (end < first.end && mm.mapCount >= k.params.maxMapCount) {
      throw new SyscallError("ENOMEM", sys, "unmapping the middle would exceed max_map_count");
    }
    splitVma(k, first, start, true);
  }
  const lastV = mm.vmas.below(end)!;
  if (lastV.end > end) splitVma(k, lastV, end, false);
  const doomed = mm.vmas.intersecting(start, end);
  teardownVmas(k, doomed);
}

/**
 * `unmap_vmas` + `free_pgtables` + `remove_vma` for VMAs in address order: out of the tree,
 * page tables zapped, anon state unlinked, freed. `wholeMm`: `vmas` are all of their mm's VMAs
 * (exit), so the tree is emptied at once.
 *
 * @example Usage
 * ```ts ignore
 * teardownVmas(k, [...mm.vmas]);
 * ```
 */
export function teardownVmas(
  k: KernelState,
  vmas: Vma[],
  wholeMm = false,
  count: number = vmas.length,
): void {
  // Indexed loops: `for … of` made an array iterator per loop here.
  if (wholeMm && count > 0) {
    vmaUnlinkAllFromTree(k, vmas[0].mm, count);
    zapWholeMm(k, vmas[0].mm, vmas, count);
  } else {
    for (let i = 0; i < count; i++) vmaUnlinkFromTree(k, vmas[i]);
    for (let i = 0; i < count; i++) zapRange(k, vmas[i].mm, vmas[i].start, vmas[i].end);
    // free_pgtables, between the VMAs that stay (the torn-down ones are out of the tree).
    for (let i = 0; i < count; i++) {
      const { mm, start, end } = vmas[i];
      if (mm.emptyTables === undefined || mm.emptyTables.size === 0) continue;
      const prev = mm.vmas.below(start), next = mm.vmas.findFirstEndAfter(end);
      freePgtables(mm, start, end, prev?.end ?? 0, next?.start ?? Infinity);
    }
  }
  // vm_area_free (vma_tree.ts's vmaFree) in two halves: each VMA is marked freed right after its
  // anon state is unlinked, while it is at hand (one pass over the VMAs fewer; nothing in a
  // teardown reads another VMA's mark), and the slab frees follow, one per VMA as before.
  for (let i = 0; i < count; i++) {
    const v = vmas[i];
    k.scheme.unlink(v);
    v.detached = true;
  }
  for (let i = 0; i < count; i++) k.slab.free("vm_area_struct");
}

/**
 * The VMAs of the mm {@link exitMmap} tears down, filled by index (the array keeps its room from
 * exit to exit; its slots are set to null after each).
 */
const exitVmas: (Vma | null)[] = [];
/** VMAs {@link exitVmas} keeps room for. */
const EXIT_VMAS_KEEP = 16384;

/**
 * `exit_mmap`: tears down every VMA of `mm` under `mmap_lock`, then the scheme's per-mm state.
 *
 * @example Usage
 * ```ts ignore
 * exitMmap(k, mm);
 * ```
 */
export function exitMmap(k: KernelState, mm: Mm): void {
  k.exec.acquire(mm.mmapLock, "write");
  const vmas = exitVmas as Vma[];
  const n = mm.vmas.fillArray(vmas);
  teardownVmas(k, vmas, true, n);
  if (n > EXIT_VMAS_KEEP) exitVmas.length = 0;
  else for (let i = 0; i < n; i++) exitVmas[i] = null;
  k.exec.release(mm.mmapLock, "write");
  k.scheme.mmTeardown(mm);
}

/**
 * `brk(newBrk)` with `mmap_lock` held: returns the resulting break (unchanged on failure, as
 * Linux does).
 *
 * @example Usage
 * ```ts ignore
 * const brk = doBrk(k, mm, mm.brk + 4 * PAGE_SIZE);
 * ```
 */
export function doBrk(k: KernelState, mm: Mm, newBrk: number): number {
  if (newBrk < mm.startBrk) return mm.brk;
  const oldEnd = pageAlignUp(mm.brk);
  const newEnd = pageAlignUp(newBrk);
  if (newEnd === oldEnd) {
    mm.brk = newBrk;
    return mm.brk;
  }
  if (newEnd < oldEnd) {
    // brk's shrink: vma_find(newbrk, oldbrk) must find a VMA there, else brk fails (unchanged).
    if (mm.vmas.isFree(newEnd, oldEnd)) return mm.brk;
    munmapRange(k, mm, newEnd, oldEnd, "brk");
    mm.brk = newBrk;
    return mm.brk;
  }
  if (!mm.vmas.isFree(oldEnd, newEnd) || newEnd > k.params.taskSize) return mm.brk;
  // do_brk_flags (mm/vma.c) checks "map_count > sysctl_max_map_count" before it tries to expand
  // the brk VMA, so above the limit even an expansion fails.
  if (mm.mapCount > k.params.maxMapCount) return mm.brk;
  // do_brk_flags: VM_DATA_DEFAULT_FLAGS | VM_ACCOUNT | mm->def_flags, pgoff = addr >> PAGE_SHIFT.
  const flags = VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC | VM_ACCOUNT |
    (mm.defFlags ?? 0);
  const vmg = vmgNew(mm, oldEnd, newEnd, oldEnd / PAGE_SIZE, flags, null);
  if (!vmaMergeNewRange(k, vmg)) {
    const v = vmaAlloc(k, mm, oldEnd, newEnd, oldEnd / PAGE_SIZE, flags, null);
    k.scheme.vmaInit(v);
    vmaLink(k, v);
  }
  mm.brk = newBrk;
  return mm.brk;
}
