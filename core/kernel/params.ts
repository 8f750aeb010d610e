/**
 * Named kernel parameters with documented defaults. Every assumption of the kernel core that is
 * not a confirmed Linux constant lives here.
 *
 * Scheme hooks called here: none.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

/** Parameters of the simulated kernel. */
export interface KernelParams {
  /**
   * `vm.max_map_count`. Default 65530 = `DEFAULT_MAX_MAP_COUNT` (USHRT_MAX − 5,
   * include/linux/mm.h); reference §1.5 marks re-checking it [U].
   */
  maxMapCount: number;
  /** `TASK_SIZE` for 4-level x86_64 paging: (1 << 47) − PAGE_SIZE. */
  taskSize: number;
  /**
   * `mm->mmap_base`: top-down mmap allocation starts below it. Default 0x7ffff7fff000, the
   * layout with ASLR off (`setarch -R`), an assumption [U] — only relative placement matters.
   */
  mmapBase: number;
  /** `vm.mmap_min_addr` default (65536). */
  mmapMinAddr: number;
  /** Start of the heap (`mm->start_brk`) for a fresh process; ASLR-off layout [U]. */
  startBrk: number;
  /** Pages of the initial stack VMA set up by `execve` (128 KiB + guard, [U]). */
  stackPages: number;
  /**
   * Maple-tree range entries per 256-byte node for the `maple_node` estimate: a process with N
   * VMAs stores about 2N+1 ranges (VMAs and gaps); the reference estimates 10–15 per leaf
   * (§1.6 [D]). Default 10 [U].
   */
  mapleEntriesPerNode: number;
  /**
   * mTHP order of anonymous write faults: 0 = 4 KiB folios (mTHP off, the default); n > 0 =
   * naturally aligned, PTE-mapped 2^n-page folios where the aligned range fits in the VMA and is
   * unpopulated, as `alloc_anon_folio` does with one mTHP size enabled (mm/memory.c). PMD-size
   * THP faults are {@link thpEnabled}'s.
   */
  anonFolioOrder: number;
  /**
   * Read faults on untouched private anonymous memory map the shared zero page (default true, the
   * upstream x86_64 behaviour). False models a kernel where `mm_forbids_zeropage()` is true: the
   * read allocates an anonymous folio and so prepares an anon_vma (mm/memory.c
   * `do_anonymous_page`), and `UFFDIO_ZEROPAGE` maps a zeroed folio. A PVM guest booted with
   * `pvm_no_zero_page=1` (this project's host) allocates on read faults too, but still maps the
   * zero page for `UFFDIO_ZEROPAGE` (probed 2026-12-02): its switch is not that hook.
   */
  zeroPage: boolean;
  /**
   * A swap device with free slots (default true: reclaim always finds a slot). False models a
   * machine without swap: a swap-backed anonymous folio is not reclaimed (`shrink_folio_list`:
   * `add_to_swap` fails and the folio is activated, before any `try_to_unmap` walk), so
   * MADV_PAGEOUT and kswapd leave anonymous memory mapped (mm/vmscan.c; measured on this host,
   * which has no swap: an 8-page VMA's Rss stays 32 kB after MADV_PAGEOUT).
   */
  swapSpace: boolean;
  /**
   * The swap device completes its I/O synchronously (default true: `SWP_SYNCHRONOUS_IO`, set for
   * zram, Android's swap device, and for pmem and brd). Reclaim's writeback is then over when
   * `shrink_folio_list` looks at the folio again, so a swapped-out folio is freed at once
   * (`swap_writepage_bdev_sync`, mm/page_io.c); zswap, when enabled, stores synchronously too.
   * false models a disk or a swap file (`swap_writepage_bdev_async`): the writeback is still under
   * way, so the folio stays in the swap cache, unmapped and resident for `mincore`, until a later
   * reclaim or the last swap entry of its slot frees it; a swap-in then goes through the swap
   * cache and keeps the folio there (with its slot) unless it is a write fault or the VMA is
   * VM_LOCKED (`should_try_to_free_swap`, mm/memory.c). docs/model.md §6.
   */
  swapSyncIo: boolean;
  /**
   * The kernel is built with CONFIG_TRANSPARENT_HUGEPAGE (default true: x86_64 distribution
   * kernels, and this host), whatever the THP sysfs mode. Besides THP faults
   * ({@link thpEnabled}), two placement and flag effects are modelled: `mmap(NULL)` of private
   * anonymous memory whose length is a multiple of 2 MiB gets a 2 MiB-aligned address
   * (`__get_unmapped_area` -> `thp_get_unmapped_area_vmflags`, mm/mmap.c), as do mremap's moves of
   * it; and MAP_STACK sets VM_NOHUGEPAGE (`calc_vm_flag_bits`, include/linux/mman.h), which keeps a
   * stack from merging with other anonymous memory. false models a kernel without THP (and so no
   * THP faults, whatever {@link thpEnabled} says).
   */
  thp: boolean;
  /**
   * `/sys/kernel/mm/transparent_hugepage/enabled`: which private anonymous VMAs take a 2 MiB THP
   * on a fault whose aligned 2 MiB range lies inside the VMA and has no page table yet
   * (`__handle_mm_fault` -> `do_huge_pmd_anonymous_page`, mm/memory.c and mm/huge_memory.c).
   * "always": every VMA without VM_NOHUGEPAGE; "madvise" (the default: CONFIG_TRANSPARENT_HUGEPAGE_
   * MADVISE, this host's and most distributions' setting): VM_HUGEPAGE VMAs (MADV_HUGEPAGE);
   * "never": none. docs/model.md §5.3.
   */
  thpEnabled: "always" | "madvise" | "never";
  /**
   * `/sys/kernel/mm/transparent_hugepage/use_zero_page` (default true, the kernel's default and
   * this host's): a THP read fault maps the huge zero page instead of allocating a THP.
   */
  thpUseZeroPage: boolean;
  /** Check invariants (reference §1.7) after every operation (slow; tests use it). */
  debugChecks: boolean;
  /** Check every rmap walk against the oracle (default on; a mismatch stops the run). */
  oracleChecks: boolean;
  /**
   * ksmd `pages_to_scan`: pages (rmap items) one ksmd wake scans. Default 100 =
   * `ksm_thread_pages_to_scan` (mm/ksm.c, Linux 6.18).
   */
  ksmPagesToScan: number;
  /**
   * ksmd `sleep_millisecs`: sleep between wakes, in ms. Default 20 = `ksm_thread_sleep_millisecs`
   * (mm/ksm.c, Linux 6.18). Read by a driver that schedules ksmd; the kernel core only scans.
   */
  ksmSleepMillisecs: number;
  /**
   * mremap breaks KSM pages of the moved range before the move, as 6.18's `prep_move_vma` does
   * (`ksm_madvise(..., MADV_UNMERGEABLE, &dummy)`, mm/mremap.c). Default true (6.18). false is a
   * debug setting that shows what a move of unbroken KSM pages does to `rmap_walk_ksm`.
   */
  ksmBreakOnMove: boolean;
  /**
   * Test/debug fault injection: MREMAP_RELOCATE_ANON fails after relocating this many folios
   * (then takes its undo path and falls back to a plain move). -1 (default) = never.
   */
  relocateFailAfter: number;
}

/** Default {@link KernelParams}. */
export const DEFAULT_KERNEL_PARAMS: Readonly<KernelParams> = {
  maxMapCount: 65530,
  taskSize: 2 ** 47 - 4096,
  mmapBase: 0x7ffff7fff000,
  mmapMinAddr: 0x10000,
  startBrk: 0x555555559000,
  stackPages: 33,
  mapleEntriesPerNode: 10,
  anonFolioOrder: 0,
  zeroPage: true,
  swapSpace: true,
  swapSyncIo: true,
  thp: true,
  thpEnabled: "madvise",
  thpUseZeroPage: true,
  debugChecks: false,
  oracleChecks: true,
  ksmPagesToScan: 100,
  ksmSleepMillisecs: 20,
  ksmBreakOnMove: true,
  relocateFailAfter: -1,
};

/** Documentation of one kernel parameter: its range, unit, meaning and source, for `list`. */
export interface KernelParamDoc {
  /** Smallest valid value (integers). */
  min?: number;
  /** Largest valid value (integers). */
  max?: number;
  /** Integer, boolean, or one of {@link choices}. */
  kind: "int" | "bool" | "enum";
  /** The valid values of an enum. */
  choices?: readonly string[];
  /** Unit of the value ("" for a boolean or a count without unit). */
  unit: string;
  /** What the parameter means. */
  meaning: string;
  /** Where the default comes from. */
  source: string;
}

/** Documentation of each parameter: meaning, unit and valid range, for `list` and error messages. */
export const KERNEL_PARAM_RANGES: Readonly<Record<keyof KernelParams, KernelParamDoc>> = {
  maxMapCount: {
    min: 1,
    max: 2 ** 31 - 1,
    kind: "int",
    unit: "VMAs",
    meaning:
      "vm.max_map_count: most VMAs one mm may hold; mmap, mprotect and split fail with ENOMEM beyond",
    source: "DEFAULT_MAX_MAP_COUNT, include/linux/mm.h (docs/model.md §1.5)",
  },
  taskSize: {
    min: 2 ** 32,
    max: 2 ** 47,
    kind: "int",
    unit: "bytes",
    meaning: "TASK_SIZE: top of the user address space",
    source: "x86_64 4-level paging: (1 << 47) - PAGE_SIZE",
  },
  mmapBase: {
    min: 2 ** 32,
    max: 2 ** 47,
    kind: "int",
    unit: "bytes",
    meaning: "mm->mmap_base: top-down mmap placement starts below it",
    source: "assumption: the ASLR-off layout (setarch -R); only relative placement matters",
  },
  mmapMinAddr: {
    min: 0,
    max: 2 ** 32,
    kind: "int",
    unit: "bytes",
    meaning: "vm.mmap_min_addr: lowest address a mapping may use",
    source: "Debian/x86_64 default 65536",
  },
  startBrk: {
    min: 2 ** 20,
    max: 2 ** 47,
    kind: "int",
    unit: "bytes",
    meaning: "mm->start_brk: start of the heap of a fresh process",
    source: "assumption: the ASLR-off layout",
  },
  stackPages: {
    min: 1,
    max: 1 << 20,
    kind: "int",
    unit: "pages",
    meaning: "pages of the stack VMA execve sets up",
    source: "assumption: 128 KiB plus a guard page",
  },
  mapleEntriesPerNode: {
    min: 2,
    max: 16,
    kind: "int",
    unit: "ranges per node",
    meaning: "maple-tree ranges (VMAs and gaps) per 256-byte node, for the maple_node estimate",
    source: "assumption within the 10-15 of docs/model.md §1.6",
  },
  anonFolioOrder: {
    min: 0,
    max: 9,
    kind: "int",
    unit: "log2 pages",
    meaning:
      "mTHP order of anonymous write faults (0: 4 KiB folios; n: aligned PTE-mapped 2^n-page folios)",
    source: "alloc_anon_folio, mm/memory.c; default THP/mTHP off",
  },
  zeroPage: {
    kind: "bool",
    unit: "",
    meaning:
      "read faults on untouched anonymous memory map the zero page (false: they allocate a folio)",
    source:
      "do_anonymous_page, mm/memory.c; false where mm_forbids_zeropage() (docs/model.md §5.1)",
  },
  swapSpace: {
    kind: "bool",
    unit: "",
    meaning:
      "a swap device with free slots (false: anonymous folios are not reclaimed, no unmap walk)",
    source:
      "shrink_folio_list / add_to_swap, mm/vmscan.c; false on a machine without swap (docs/model.md §6)",
  },
  swapSyncIo: {
    kind: "bool",
    unit: "",
    meaning:
      "the swap device does synchronous I/O, as zram (false: a disk or file; a swapped-out folio stays in the swap cache until a later reclaim)",
    source:
      "SWP_SYNCHRONOUS_IO; swap_writepage_bdev_sync/_async (mm/page_io.c), shrink_folio_list (mm/vmscan.c), do_swap_page (mm/memory.c); docs/model.md §6",
  },
  thp: {
    kind: "bool",
    unit: "",
    meaning:
      "kernel built with THP: anonymous mmap(NULL) of 2 MiB multiples is aligned, MAP_STACK sets VM_NOHUGEPAGE",
    source:
      "__get_unmapped_area (mm/mmap.c), __thp_get_unmapped_area (mm/huge_memory.c), calc_vm_flag_bits (include/linux/mman.h), Linux 6.18",
  },
  thpEnabled: {
    kind: "enum",
    choices: ["always", "madvise", "never"],
    unit: "",
    meaning:
      "THP sysfs mode: which private anonymous VMAs take a 2 MiB THP on a fault (madvise: MADV_HUGEPAGE ones)",
    source:
      "transparent_hugepage/enabled; __handle_mm_fault (mm/memory.c), do_huge_pmd_anonymous_page (mm/huge_memory.c); default CONFIG_TRANSPARENT_HUGEPAGE_MADVISE, as this host (docs/model.md §5.3)",
  },
  thpUseZeroPage: {
    kind: "bool",
    unit: "",
    meaning: "a THP read fault maps the huge zero page (false: it allocates a THP)",
    source: "transparent_hugepage/use_zero_page, default 1; do_huge_pmd_anonymous_page",
  },
  debugChecks: {
    kind: "bool",
    unit: "",
    meaning: "check invariants I1-I6 after every operation (slow)",
    source: "docs/model.md §1.7",
  },
  oracleChecks: {
    kind: "bool",
    unit: "",
    meaning: "check every rmap walk against the oracle; a missed mapping stops the run",
    source: "ARCHITECTURE.md, the oracle",
  },
  ksmPagesToScan: {
    min: 1,
    max: 2 ** 31 - 1,
    kind: "int",
    unit: "pages",
    meaning: "ksmd pages_to_scan: rmap items one ksmd wake scans",
    source: "ksm_thread_pages_to_scan = 100, mm/ksm.c (Linux 6.18)",
  },
  ksmSleepMillisecs: {
    min: 0,
    max: 2 ** 31 - 1,
    kind: "int",
    unit: "ms",
    meaning: "ksmd sleep_millisecs: sleep between ksmd wakes",
    source: "ksm_thread_sleep_millisecs = 20, mm/ksm.c (Linux 6.18)",
  },
  ksmBreakOnMove: {
    kind: "bool",
    unit: "",
    meaning: "mremap breaks the moved range's KSM pages first (false: debug, shows the stale walk)",
    source: "prep_move_vma: ksm_madvise(MADV_UNMERGEABLE, &dummy), mm/mremap.c (Linux 6.18)",
  },
  relocateFailAfter: {
    min: -1,
    max: 2 ** 31 - 1,
    kind: "int",
    unit: "folios",
    meaning:
      "debug: MREMAP_RELOCATE_ANON fails after this many folios (-1 never), to reach its undo",
    source: "test parameter; the undo path is the series' (docs/model.md §10.2)",
  },
};

/**
 * Merges overrides into the defaults, rejecting unknown keys and out-of-range values with a
 * one-line error naming the parameter and its valid range.
 *
 * @example Usage
 * ```ts
 * import { resolveKernelParams } from "./params.ts";
 * const p = resolveKernelParams({ maxMapCount: 100 });
 * if (p.maxMapCount !== 100) throw new Error();
 * ```
 */
export function resolveKernelParams(overrides: Partial<KernelParams> = {}): KernelParams {
  const out: KernelParams = { ...DEFAULT_KERNEL_PARAMS };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) continue;
    if (!(k in KERNEL_PARAM_RANGES)) {
      throw new RangeError(
        `Unknown kernel parameter "${k}"; valid: ${Object.keys(KERNEL_PARAM_RANGES).join(", ")}`,
      );
    }
    const r = KERNEL_PARAM_RANGES[k as keyof KernelParams];
    if (r.kind === "bool") {
      if (typeof v !== "boolean") {
        throw new RangeError(`Kernel parameter ${k} must be true or false`);
      }
    } else if (r.kind === "enum") {
      if (typeof v !== "string" || !r.choices!.includes(v)) {
        throw new RangeError(`Kernel parameter ${k} must be one of ${r.choices!.join(", ")}`);
      }
    } else if (
      typeof v !== "number" || !Number.isInteger(v) || v < (r.min ?? -Infinity) ||
      v > (r.max ?? Infinity)
    ) {
      throw new RangeError(`Kernel parameter ${k} must be an integer in [${r.min}, ${r.max}]`);
    }
    (out as unknown as Record<string, unknown>)[k] = v;
  }
  return out;
}
