/**
 * Kernel objects of the simulator: mm_struct, vm_area_struct, folios, page-table entries and
 * simulated files, with the constants of the Linux uAPI they use.
 *
 * Names follow the kernel (`pgoff` for `vm_pgoff`, `anon_vma`, `folio`) so that a kernel developer
 * can map them at a glance. Addresses are byte addresses held in JavaScript numbers (exact up to
 * 2^53, far above the 47-bit x86_64 user address space).
 *
 * Scheme hooks called here: none.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import type { Lock } from "../machine/exec.ts";
import type { RangeBTree } from "../lib/range_btree.ts";
import type { PageTable } from "./page_table.ts";
import type { MapperSet } from "../oracle.ts";

/** log2 of the page size (4 KiB pages, x86_64). */
export const PAGE_SHIFT = 12;
/** Page size in bytes. */
export const PAGE_SIZE: number = 1 << PAGE_SHIFT;

/** log2 of the PTEs per page-table page (512 on x86_64: `PTRS_PER_PTE`). */
export const PTES_PER_TABLE_SHIFT = 9;

/**
 * `PMD_SIZE` on x86_64 with 4 KiB pages: what one PMD entry, and so one page-table page, maps
 * (2 MiB, 512 pages).
 */
export const PMD_SIZE: number = PAGE_SIZE << PTES_PER_TABLE_SHIFT;

/** `mmap`/`mprotect` protection bits (uapi/asm-generic/mman-common.h). */
export const PROT_NONE = 0;
/** Readable. */
export const PROT_READ = 1;
/** Writable. */
export const PROT_WRITE = 2;
/** Executable. */
export const PROT_EXEC = 4;

/** `mmap` flags (uapi). */
export const MAP_SHARED = 0x01;
/** Private (copy-on-write) mapping. */
export const MAP_PRIVATE = 0x02;
/** Place the mapping exactly at `addr`, replacing what was there. */
export const MAP_FIXED = 0x10;
/** Anonymous memory (no file). */
export const MAP_ANONYMOUS = 0x20;
/** Like MAP_FIXED but fail with EEXIST instead of replacing. */
export const MAP_FIXED_NOREPLACE = 0x100000;
/** Stack-like mapping that grows down (VM_GROWSDOWN). */
export const MAP_GROWSDOWN = 0x0100;
/** A thread stack (uapi 0x20000): VM_NOHUGEPAGE where the kernel has THP (`calc_vm_flag_bits`). */
export const MAP_STACK = 0x20000;
/** Do not reserve swap for the mapping (uapi 0x4000): VM_NORESERVE, so not charged (VM_ACCOUNT). */
export const MAP_NORESERVE = 0x4000;
/** Fault the whole mapping in at mmap time (uapi 0x8000; `mm_populate`). */
export const MAP_POPULATE = 0x8000;
/** With MAP_POPULATE: do not populate (uapi 0x10000; `do_mmap` then sets no `populate`). */
export const MAP_NONBLOCK = 0x10000;
/** Lock the mapping's pages (uapi 0x2000 on x86): VM_LOCKED, and `do_mmap` populates it. */
export const MAP_LOCKED = 0x2000;

/** `mlock2` flag (uapi/asm-generic/mman-common.h): lock pages as they are faulted in. */
export const MLOCK_ONFAULT = 0x01;
/** `mlockall` flags (uapi/asm-generic/mman.h): lock what is mapped now. */
export const MCL_CURRENT = 1;
/** `mlockall`: lock what gets mapped later (`mm->def_flags`). */
export const MCL_FUTURE = 2;
/** `mlockall`: with MCL_CURRENT or MCL_FUTURE, lock on fault instead of populating. */
export const MCL_ONFAULT = 4;

/** `mremap` flags (uapi/linux/mman.h, reference §9.1). */
export const MREMAP_MAYMOVE = 1;
/** Move to exactly `new_addr`. */
export const MREMAP_FIXED = 2;
/** Leave the source mapped but empty. */
export const MREMAP_DONTUNMAP = 4;
/** Proposed: relocate anon folios so the destination can merge (reference §10.2). */
export const MREMAP_RELOCATE_ANON = 8;
/** Proposed: as RELOCATE_ANON but fail with EFAULT when relocation is impossible. */
export const MREMAP_MUST_RELOCATE_ANON = 16;

/** `madvise` advice values (uapi). */
export const MADV_DONTNEED = 4;
/** Do not inherit across fork (VM_DONTCOPY). */
export const MADV_DONTFORK = 10;
/** Undo MADV_DONTFORK. */
export const MADV_DOFORK = 11;
/** Zero-fill in the child after fork (VM_WIPEONFORK). */
export const MADV_WIPEONFORK = 18;
/** Undo MADV_WIPEONFORK. */
export const MADV_KEEPONFORK = 19;
/** KSM may merge identical pages of the range (VM_MERGEABLE). */
export const MADV_MERGEABLE = 12;
/** Undo MADV_MERGEABLE: break the range's KSM pages, clear VM_MERGEABLE. */
export const MADV_UNMERGEABLE = 13;
/** Lazy free of private anonymous pages (no VMA change; the model keeps the pages mapped). */
export const MADV_FREE = 8;
/** Prefer transparent huge pages (VM_HUGEPAGE, clears VM_NOHUGEPAGE). */
export const MADV_HUGEPAGE = 14;
/** No transparent huge pages (VM_NOHUGEPAGE, clears VM_HUGEPAGE). */
export const MADV_NOHUGEPAGE = 15;
/** Leave out of core dumps (VM_DONTDUMP). */
export const MADV_DONTDUMP = 16;
/** Undo MADV_DONTDUMP. */
export const MADV_DODUMP = 17;
/** Deactivate the range's exclusive folios: their PTEs made old (uapi 20; `madvise_cold`). */
export const MADV_COLD = 20;
/** Reclaim the range's exclusive folios now (uapi 21; `madvise_pageout`: try_to_unmap each). */
export const MADV_PAGEOUT = 21;
/** No read-ahead hint: clears VM_RAND_READ and VM_SEQ_READ (uapi 0). */
export const MADV_NORMAL = 0;
/** Random access expected: VM_RAND_READ, VM_SEQ_READ cleared (uapi 1). */
export const MADV_RANDOM = 1;
/** Sequential access expected: VM_SEQ_READ, VM_RAND_READ cleared (uapi 2). */
export const MADV_SEQUENTIAL = 2;
/**
 * Read ahead (uapi 3; `madvise_willneed`): swap-in or page-cache read-ahead of the range. No VMA,
 * PTE or rmap object changes; the model only checks the range (ENOMEM for a hole).
 */
export const MADV_WILLNEED = 3;
/**
 * Prefault the range readable (uapi 22; `madvise_populate`): read faults page by page, as a read
 * of each page would; EINVAL without VM_READ, ENOMEM at a hole, EFAULT where a fault fails.
 */
export const MADV_POPULATE_READ = 22;
/** Prefault the range writable (uapi 23): write faults (CoW breaks); EINVAL without VM_WRITE. */
export const MADV_POPULATE_WRITE = 23;
/** MADV_DONTNEED that also zaps VM_LOCKED VMAs (uapi 24; MADV_DONTNEED refuses them, EINVAL). */
export const MADV_DONTNEED_LOCKED = 24;
/**
 * Install guard markers on the range (uapi 102; `madvise_guard_install`): any access to a guarded
 * page faults (SIGSEGV). The VMA is not split; it gains {@link VM_MAYBE_GUARD}, and an anonymous
 * one an anon_vma (reference §12.7).
 */
export const MADV_GUARD_INSTALL = 102;
/** Remove guard markers from the range (uapi 103; `madvise_guard_remove`). */
export const MADV_GUARD_REMOVE = 103;
/** The most ranges one `process_madvise` takes (`UIO_MAXIOV`, include/uapi/linux/uio.h). */
export const UIO_MAXIOV = 1024;

/** One range of a `process_madvise` vector (`struct iovec`). */
export interface MadviseRange {
  /** `iov_base`: the range's start. */
  readonly base: number;
  /** `iov_len`: its length in bytes. */
  readonly len: number;
}

/** `vm_flags` bits (include/linux/mm.h values). */
export const VM_READ = 0x1;
/** Writable now. */
export const VM_WRITE = 0x2;
/** Executable now. */
export const VM_EXEC = 0x4;
/** Shared mapping. */
export const VM_SHARED = 0x8;
/** May become readable. */
export const VM_MAYREAD = 0x10;
/** May become writable. */
export const VM_MAYWRITE = 0x20;
/** May become executable. */
export const VM_MAYEXEC = 0x40;
/** May become shared. */
export const VM_MAYSHARE = 0x80;
/** Stack segment grows down. */
export const VM_GROWSDOWN = 0x100;
/** Pages locked in memory (mlock, MAP_LOCKED, mlockall; include/linux/mm.h bit 13). */
export const VM_LOCKED = 0x2000;
/** `VM_UFFD_MISSING`: registered with a userfaultfd in missing mode (userfaultfd.ts). */
export const VM_UFFD_MISSING = 0x200;
/** Sequential read-ahead wanted (MADV_SEQUENTIAL; include/linux/mm.h bit 15). */
export const VM_SEQ_READ = 0x8000;
/** No read-ahead (MADV_RANDOM; bit 16). */
export const VM_RAND_READ = 0x10000;
/** Do not copy on fork (MADV_DONTFORK). */
export const VM_DONTCOPY = 0x20000;
/** With VM_LOCKED: lock pages as they are faulted in, do not populate (bit 19). */
export const VM_LOCKONFAULT = 0x80000;
/** `VM_LOCKED_MASK`: the bits mlock, munlock and fork set and clear. */
export const VM_LOCKED_MASK: number = VM_LOCKED | VM_LOCKONFAULT;
/** Charged to the commit limit (private writable mappings). */
export const VM_ACCOUNT = 0x100000;
/** Not charged to the commit limit (MAP_NORESERVE; include/linux/mm.h bit 21). */
export const VM_NORESERVE = 0x200000;
/** Soft-dirty tracking (ignored by merges). */
export const VM_SOFTDIRTY = 0x8000000;
/**
 * The VMA may hold guard markers (include/linux/mm.h, bit 11; set by MADV_GUARD_INSTALL, never
 * cleared): fork copies its page tables (`vma_needs_copy`), and it is "sticky": merges ignore it
 * and the merged VMA keeps it (reference §12.7).
 */
export const VM_MAYBE_GUARD = 0x800;
/** Flags VMA merges and `anon_vma_compatible` ignore (`VM_IGNORE_MERGE`; §12.7). */
export const VM_IGNORE_MERGE: number = VM_SOFTDIRTY | VM_MAYBE_GUARD;
/** Wipe on fork (MADV_WIPEONFORK). */
export const VM_WIPEONFORK = 0x2000000;
/** Left out of core dumps (MADV_DONTDUMP; include/linux/mm.h bit 26). */
export const VM_DONTDUMP = 0x4000000;
/** Transparent huge pages wanted (MADV_HUGEPAGE; bit 29). */
export const VM_HUGEPAGE = 0x20000000;
/** Transparent huge pages refused (MADV_NOHUGEPAGE; bit 30). */
export const VM_NOHUGEPAGE = 0x40000000;
/** KSM may merge identical pages (MADV_MERGEABLE; `VM_MERGEABLE`, include/linux/mm.h, bit 31). */
export const VM_MERGEABLE = 0x80000000;
/** Access bits, ignored by `anon_vma_compatible` (reference §3.1). */
export const VM_ACCESS_FLAGS: number = VM_READ | VM_WRITE | VM_EXEC;

/** Errno names the simulator returns (Linux semantics). */
export type Errno =
  | "EINVAL"
  | "ENOMEM"
  | "EFAULT"
  | "EEXIST"
  | "EACCES"
  | "EPERM"
  | "ESRCH"
  | "ENOENT"
  | "EBUSY"
  | "EAGAIN"
  | "EBADF";

/** A failed system call: the state is unchanged, as on Linux. */
export class SyscallError extends Error {
  /** The Linux errno. */
  readonly errno: Errno;
  /** Creates an error for `syscall` failing with `errno`. */
  constructor(errno: Errno, syscall: string, detail: string) {
    super(`${syscall} failed with ${errno}: ${detail}`);
    this.name = "SyscallError";
    this.errno = errno;
  }
}

/** A simulated file with a page cache (also used for shmem behind MAP_SHARED|MAP_ANONYMOUS). */
export interface SimFile {
  /** Unique id. */
  readonly id: number;
  /** Name for reports and traces. */
  readonly name: string;
  /** Size in pages; faults past it fail with EFAULT (SIGBUS). */
  sizePages: number;
  /** Page cache: file page index → folio. */
  readonly pageCache: Map<number, Folio>;
  /** True for the shmem file behind a shared anonymous mapping. */
  readonly shmem: boolean;
}

/** A swap slot: a reclaimed anon page that swap PTEs still refer to (`swp_entry_t`). */
export interface SwapSlot {
  /** Unique id (allocation order). */
  readonly id: number;
  /** Number of swap PTEs referring to the slot (`swap_count`). */
  count: number;
  /**
   * The folio the swap cache holds for the slot: brought back by a swap-in and kept for the
   * slot's other entries, or, on a device without synchronous I/O (`swapSyncIo: false`), kept
   * after reclaim and after a swap-in (docs/model.md §6).
   */
  cached: Folio | null;
}

/**
 * A present PTE mapping page `page` of `folio` (`pte_present`). `protNone` is a PROT_NONE
 * mapping (`pte_protnone`): present but inaccessible, any access faults.
 */
export interface PresentPte {
  /** Discriminant. */
  readonly kind: "present";
  /** The mapped folio. */
  readonly folio: Folio;
  /** Which page of the folio. */
  readonly page: number;
  /** Hardware write permission. */
  writable: boolean;
  /** Accessed ("young") bit. */
  young: boolean;
  /** PROT_NONE: present but inaccessible. */
  protNone: boolean;
  /**
   * Dirty bit (`pte_dirty`): set by a write (the fault that maps the page writable, or the
   * hardware on a write through a writable entry), cleared by MADV_FREE; optional for entries
   * made outside the kernel (absent means clean).
   */
  dirty?: boolean;
  /**
   * The page holds the zeroes the kernel filled it with: the entry was made by a populate or a
   * read fault (no zero page), or copied from such an entry, and no user write went through it
   * since. What KSM compares for a page nothing wrote (ksm.ts); absent means written.
   */
  readonly zeroFilled?: boolean;
  /** Not a swap entry. */
  readonly swap: null;
}

/** The shared zero page, mapped read-only by a read fault of untouched anonymous memory. */
export interface ZeroPagePte {
  /** Discriminant. */
  readonly kind: "zero";
  /** No folio (`is_zero_pfn`). */
  readonly folio: null;
  /** Always 0. */
  readonly page: 0;
  /** Never writable: a write fault copies (`wp_page_copy`). */
  readonly writable: false;
  /** Accessed ("young") bit. */
  young: boolean;
  /** PROT_NONE: present but inaccessible. */
  protNone: boolean;
  /** Not a swap entry. */
  readonly swap: null;
}

/** A swap PTE (`is_swap_pte`): not present; the page lives in `swap`. */
export interface SwapPte {
  /** Discriminant. */
  readonly kind: "swap";
  /** Not present: no folio. */
  readonly folio: null;
  /** Always 0. */
  readonly page: 0;
  /** Not present: never writable. */
  readonly writable: false;
  /** Not present: never young. */
  readonly young: false;
  /** Protection lives in the VMA; a swap entry carries none. */
  readonly protNone: false;
  /** The slot the entry refers to. */
  readonly swap: SwapSlot;
  /**
   * `pte_swp_exclusive`: the page was PageAnonExclusive when reclaim unmapped it, and no fork
   * copied the entry since (`copy_nonpresent_pte` clears it in both). Optional for entries made
   * outside the kernel core (absent: not exclusive).
   */
  readonly exclusive?: boolean;
}

/**
 * A guard marker (`PTE_MARKER_GUARD`, a non-present entry; MADV_GUARD_INSTALL): any access faults
 * (SIGSEGV). Zaps by MADV_DONTNEED keep it; munmap and exit drop it; fork copies it.
 */
export interface GuardPte {
  /** Discriminant. */
  readonly kind: "guard";
  /** Not present: no folio. */
  readonly folio: null;
  /** Always 0. */
  readonly page: 0;
  /** Not present: never writable. */
  readonly writable: false;
  /** Not present: never young. */
  readonly young: false;
  /** A marker carries no protection. */
  readonly protNone: false;
  /** Not a swap entry. */
  readonly swap: null;
}

/**
 * A page-table entry held in a page table: present, the zero page, swap, or a guard marker. Every
 * variant has the same fields (`folio` is null unless present), so readers such as `pte.folio`
 * need no narrowing; writers switch on `kind`.
 */
export type Pte = PresentPte | ZeroPagePte | SwapPte | GuardPte;

/** An empty entry (`pte_none`): what a lookup of an unpopulated address gives. */
export interface NonePte {
  /** Discriminant. */
  readonly kind: "none";
}

/** A page-table lookup result (`ptep_get`): any {@link Pte}, or none. */
export type PteValue = Pte | NonePte;

/** A folio: one or more contiguous pages with one `mapping` and `index` (reference §1.4). */
export interface Folio {
  /** Unique id (allocation order). */
  readonly id: number;
  /** Number of pages (1 for order 0). */
  readonly nrPages: number;
  /** True for anonymous folios; false for page-cache (file/shmem) folios. */
  readonly anon: boolean;
  /**
   * `folio->index`: for anon folios the linear page index of the first page at the time it was
   * first mapped (`linear_page_index`), for file folios the file page index.
   */
  index: number;
  /** The file of a page-cache folio. */
  readonly file: SimFile | null;
  /** Per-page mapcount (number of PTEs mapping the page). */
  readonly mapcount: number[];
  /** Per-page PageAnonExclusive. */
  readonly anonExclusive: boolean[];
  /**
   * Mapcount of page `page` (0-based in the folio). The kernel core reads and writes mapcounts
   * and PageAnonExclusive through these methods; the `mapcount`/`anonExclusive` arrays remain
   * for outside scripts (a small folio keeps both inline until they are asked for).
   */
  pageMapcount(page: number): number;
  /** Adds `delta` to the mapcount of page `page`. */
  addPageMapcount(page: number, delta: number): void;
  /** Sum of the pages' mapcounts (`folio_mapcount`). */
  totalMapcount(): number;
  /** Largest mapcount of any page (> 1: some page is mapped shared). */
  maxPageMapcount(): number;
  /** Whether any page's mapcount is not 0 (`folio_mapped`). */
  mapped(): boolean;
  /** PageAnonExclusive of page `page`. */
  pageAnonExclusive(page: number): boolean;
  /** Sets PageAnonExclusive of page `page`. */
  setPageAnonExclusive(page: number, exclusive: boolean): void;
  /** DMA-pinned (fork copies such exclusive pages at once; reference §4). */
  pinned: boolean;
  /** KSM folio (opaque to anon rmap schemes). */
  ksm: boolean;
  /** Freed (no longer usable). */
  freed: boolean;
  /**
   * Scheme-owned rmap state (for the classic scheme: `folio->mapping`, the anon_vma). The kernel
   * core never reads it.
   */
  rmap: unknown;
  /** Ground truth kept by the oracle: keys of (mm id, address) mapping this folio. */
  readonly mappers: MapperSet;
}

/** A virtual memory area (`struct vm_area_struct`). */
export interface Vma {
  /** Unique id (allocation order), used in reports and tests. */
  readonly id: number;
  /** Owning mm. */
  readonly mm: Mm;
  /** `vm_start` (inclusive, page aligned). */
  start: number;
  /** `vm_end` (exclusive, page aligned). */
  end: number;
  /** `vm_pgoff`. */
  pgoff: number;
  /** `vm_flags`. */
  flags: number;
  /** `vm_file`, or null for anonymous memory. */
  file: SimFile | null;
  /** Scheme-owned rmap state (classic: `anon_vma` and the `anon_vma_chain` list). */
  rmap: unknown;
  /** True once the VMA left the tree (freed). */
  detached: boolean;
}

/** What a PMD entry the model keeps as 512 PTEs maps (`Mm.hugePmds`). */
export type HugePmd = "huge_zero" | "thp";

/** An address space (`struct mm_struct`) of one process. */
export interface Mm {
  /** Unique id (also used as the pid of its process). */
  readonly id: number;
  /** The mm it was forked from, or null. */
  readonly parent: Mm | null;
  /** The VMA tree (maple tree in Linux): ordered by start, with gap search. */
  readonly vmas: RangeBTree<Vma>;
  /**
   * Page tables: virtual page number → PTE (the interface of `SortedMap<Pte>`; the entries are
   * the tree's nodes, see page_table.ts).
   */
  readonly pages: PageTable;
  /** PTEs per page-table page (index = `pteTableIndex(vpn)`, i.e. vpn / 512): a PTE page exists while its count is > 0. */
  readonly ptePages: Map<number, number>;
  /**
   * Page-table pages that exist with no entry left (a zap emptied them and nothing has freed them
   * yet: `free_pgtables`, MADV_DONTNEED's empty-table reclaim or exit). A THP fault needs
   * `pmd_none`: no table at all (pgtable.ts `pmdNone`). Absent until a table first empties.
   */
  emptyTables?: Set<number>;
  /**
   * The 2 MiB ranges (by page-table index, `pteTableIndex`) mapped by one PMD entry, which the
   * model keeps as 512 PTEs: of the huge zero page (`set_huge_zero_folio`; a write fault there
   * maps a new THP: `do_huge_zero_wp_pmd`) or of a THP (smaps counts it in AnonHugePages). Any
   * change of one of the entries, and a VMA boundary moved inside the 2 MiB, splits the PMD
   * (pgtable.ts `detachPte`, vma_tree.ts `splitHugePmdIfNeeded`). Absent until the first such
   * mapping.
   */
  hugePmds?: Map<number, HugePmd>;
  /** `mmap_lock`. */
  readonly mmapLock: Lock;
  /** `page_table_lock`. */
  readonly pageTableLock: Lock;
  /** `map_count`. */
  mapCount: number;
  /** Start of the heap (`mm->start_brk`). */
  startBrk: number;
  /** Current program break (`mm->brk`). */
  brk: number;
  /** Top of the mmap area: top-down allocation starts below it (`mm->mmap_base`). */
  mmapBase: number;
  /**
   * `mm->def_flags`: VMA flags every new mapping and brk extension gets (VM_LOCKED and
   * VM_LOCKONFAULT after `mlockall(MCL_FUTURE)`); not inherited by fork (`VM_INIT_DEF_MASK`).
   * Optional for mms made outside the kernel; absent means 0.
   */
  defFlags?: number;
  /** False once the process exited. */
  alive: boolean;
  /** Scheme-owned per-mm rmap state (e.g. a CoW context). */
  rmap: unknown;
}

/** `linear_page_index(vma, addr)` (reference §5.1). */
export function linearPageIndex(vma: Vma, addr: number): number {
  return vma.pgoff + (addr - vma.start) / PAGE_SIZE;
}

/** `vma_pages(vma)`. */
export function vmaPages(vma: Vma): number {
  return (vma.end - vma.start) / PAGE_SIZE;
}

/** `vma_is_anonymous(vma)`: no `vm_ops`, i.e. no file and not shmem. */
export function vmaIsAnonymous(vma: Vma): boolean {
  return vma.file === null;
}

/** `is_cow_mapping(flags)`: private and may be written. */
export function isCowMapping(flags: number): boolean {
  return (flags & (VM_SHARED | VM_MAYWRITE)) === VM_MAYWRITE;
}

/** Formats an address as hex, for messages. */
export function hex(addr: number): string {
  return "0x" + addr.toString(16);
}
