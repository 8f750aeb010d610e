/**
 * The `android-launch` workload: an Android phone's boot and app launches, calibrated against the
 * slab composition published in the ANON_VMA_LAZY cover letter (reference §10.3, §11.1).
 *
 * Shape (reference §4, §9.3, §11.1):
 *
 * - init starts native daemons (spawn + execve: their own hierarchies, no sharing).
 * - zygote64 (spawn + execve) preloads its image: file-backed mappings that stay clean (no
 *   anon_vma), written private file mappings and anonymous regions (anon_vma), ART heap spaces.
 * - zygote forks system_server and the processes already running after boot (persistent and
 *   cached apps), then K app launches, each one or more processes forked WITHOUT exec, so every
 *   inherited faulted VMA hangs off zygote's root anon_vmas (§4: one new anon_vma and two AVCs
 *   per inherited faulted VMA).
 * - Each app process specialises: unmaps some inherited regions, maps its own (apk/oat/so
 *   mappings, heaps, arenas), write-protects the first page of a few inherited regions (RELRO-like
 *   mprotect splits), creates thread stacks (mmap + mprotect of a guard page), writes (CoW) a
 *   share of the inherited pages, and runs ART heap activity: a moving space compacted by
 *   concurrent mark-compact cycles, each one `mremap(MAYMOVE|FIXED|DONTUNMAP)` of the moving space
 *   onto the from-space followed by re-faulting the live part and releasing the from-space (§9.3).
 * - 41 % of apps fork at runtime (§11.1); the forked child writes a few pages and exits.
 * - The other zygotes (each off by default, AOSP sources on the parameters): zygote32
 *   (`zygote_secondary`, lazy preload at its first request; a share of apps is 32-bit),
 *   webview_zygote (a child zygote of zygote64 preloading WebView; renderers fork from it) and
 *   the USAP pool (idle zygote64 children a launch's main process takes instead of forking).
 * - A low-memory killer keeps at most `maxCachedApps` launched apps (the oldest is killed).
 * - With `appCompaction`, an app that leaves the foreground has its private anonymous memory
 *   paged out (CachedAppOptimizer: process_madvise(MADV_PAGEOUT)), one rmap walk per exclusive
 *   folio.
 * - The recorder's reclaim and migration daemons walk random folios throughout.
 *
 * Scaling: `scale` multiplies every per-process VMA count (dithered across processes so totals
 * stay proportional) and keeps the process counts, so `simulated / scale` estimates the phone's
 * object counts. The calibration table printed by `finish` compares the ratios
 * vm_area_struct : anon_vma and anon_vma_chain : anon_vma after boot, after the launches and per
 * launch with the published figures.
 *
 * This module is browser compatible: it imports only repository modules.
 *
 * @module
 */

import type { Kernel } from "../core/kernel/kernel.ts";
import {
  MADV_DONTNEED,
  MADV_PAGEOUT,
  MAP_ANONYMOUS,
  MAP_FIXED_NOREPLACE,
  MAP_PRIVATE,
  type Mm,
  MREMAP_DONTUNMAP,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  PAGE_SIZE,
  PROT_EXEC,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  type SimFile,
  SyscallError,
  UIO_MAXIOV,
  VM_SHARED,
} from "../core/kernel/types.ts";
import type { Userfaultfd } from "../core/kernel/userfaultfd.ts";
import type { ParamSpec, Step, TaskScript, Workload, WorkloadEnv } from "./workload.ts";
import { paramsOf } from "./workload.ts";

// -----------------------------------------------------------------------------------------------
// Published figures (reference §10.3 / §11.1 [C]) and x86_64 slot sizes (§1.6 [C]).

/**
 * Slab "active KB" on the unpatched phone, from the ANON_VMA_LAZY cover letter: after boot
 * (`boot`) and after launching 24 apps (`apps24`).
 *
 * @example Usage
 * ```ts
 * import { ANDROID_PUBLISHED_KB } from "./android_launch.ts";
 * // ≈ 624 k VMAs after boot with the 192-byte x86_64 slot.
 * if (Math.round(ANDROID_PUBLISHED_KB.boot.vm_area_struct * 1024 / 192) !== 624187) {
 *   throw new Error();
 * }
 * ```
 */
export const ANDROID_PUBLISHED_KB: Readonly<
  Record<"boot" | "apps24", Readonly<Record<CalibratedCache, number>>>
> = {
  boot: { vm_area_struct: 117035, anon_vma_chain: 18865.8, anon_vma: 20426.4 },
  apps24: { vm_area_struct: 196873, anon_vma_chain: 31477.1, anon_vma: 33280 },
};

/**
 * Launches between the two published moments.
 *
 * @example Usage
 * ```ts
 * import { ANDROID_PUBLISHED_LAUNCHES } from "./android_launch.ts";
 * if (ANDROID_PUBLISHED_LAUNCHES !== 24) throw new Error();
 * ```
 */
export const ANDROID_PUBLISHED_LAUNCHES: number = 24;

/** x86_64 slab slot sizes in bytes (reference §1.6, `/proc/slabinfo` on 6.18.44). */
const SLOT_BYTES: Readonly<Record<CalibratedCache, number>> = {
  vm_area_struct: 192,
  anon_vma_chain: 64,
  anon_vma: 104,
};

/**
 * The slab caches the calibration compares.
 *
 * @example Usage
 * ```ts
 * import type { CalibratedCache } from "./android_launch.ts";
 * const c: CalibratedCache = "anon_vma_chain";
 * if (c.length === 0) throw new Error();
 * ```
 */
export type CalibratedCache = "vm_area_struct" | "anon_vma_chain" | "anon_vma";

const CALIBRATED: readonly CalibratedCache[] = ["vm_area_struct", "anon_vma_chain", "anon_vma"];

/**
 * Tolerance of the calibration (relative deviation).
 *
 * @example Usage
 * ```ts
 * import { ANDROID_CALIBRATION_TOLERANCE } from "./android_launch.ts";
 * if (Math.abs(3.05 / 3.10 - 1) > ANDROID_CALIBRATION_TOLERANCE) throw new Error();
 * ```
 */
export const ANDROID_CALIBRATION_TOLERANCE: number = 0.10;

// -----------------------------------------------------------------------------------------------
// Layout (every process has its own address space; areas only need to be disjoint per process).

/** Where zygote's image starts (inherited by every zygote child). */
const ZYGOTE_BASE = 0x700000000000;
/** Where a zygote child maps its own regions. */
const APP_BASE = 0x500000000000;
/** Where a native daemon maps its image. */
const NATIVE_BASE = 0x600000000000;
/** Poll period of a task waiting for others. */
const POLL_NS = 10_000;
/** Poll period of an idle wait (quiesce). */
const QUIESCE_POLL_NS = 2_000;
/** Pages of a thread stack (bionic's default 1 MiB stack is 256 pages; scaled down). */
const STACK_PAGES = 8;
/** Where webview_zygote maps the WebView APK and its libraries (above zygote's image). */
const WEBVIEW_BASE = 0x680000000000;
/** Regions of an app's ART heap: the moving space and the from-space. */
const HEAP_REGIONS = 2;

const PARAMS = [
  {
    name: "scale",
    kind: "float",
    default: 0.02,
    min: 0.001,
    max: 1,
    unit: "fraction",
    description: "Fraction of the phone simulated: multiplies every per-process VMA count " +
      "(process counts are kept).",
    source: "assumption: 2 % keeps a default run near 1–3 s; ratios do not depend on it",
  },
  {
    name: "launches",
    kind: "int",
    default: 24,
    min: 0,
    max: 1000,
    unit: "apps",
    description: "App launches after boot (each one or more processes forked from zygote).",
    source: "§10.3/§11.1: the published slab figures are after launching 24 apps",
  },
  {
    name: "processesPerLaunch",
    kind: "int",
    default: 3,
    min: 1,
    max: 16,
    unit: "processes",
    description: "Zygote children started per launch (main process plus service processes).",
    source: "assumption: the published growth per launch (≈ 17.7 k VMAs, §11.1 [D]) is about " +
      "three app processes of ≈ 5.9 k VMAs (§11.1 suggests 2,000–6,000 per app [U])",
  },
  {
    name: "bootAppProcesses",
    kind: "int",
    default: 95,
    min: 0,
    max: 10_000,
    unit: "processes",
    description: "Zygote children already running after boot besides system_server " +
      "(persistent, home, cached apps).",
    source: "calibrated: the published after-boot AVC − anon_vma surplus (≈ 100.7 k, §11.1 [D]) " +
      "over ≈ 1.04 k per app process; ≈ 100–150 processes in all (§11.1 [D])",
  },
  {
    name: "nativeDaemons",
    kind: "int",
    default: 60,
    min: 0,
    max: 10_000,
    unit: "processes",
    description: "Native daemons and HALs started by init (spawn + execve, not zygote children).",
    source: "assumption [U]",
  },
  {
    name: "nativeVmas",
    kind: "int",
    default: 840,
    min: 1,
    max: 100_000,
    unit: "VMAs",
    description: "Mapped regions per native daemon at full scale (libraries, heaps, stacks).",
    source: "calibrated: the after-boot residual after zygote and apps (≈ 50 k VMAs, §11.1 [D]) " +
      "over the daemons [U]",
  },
  {
    name: "nativeFaultedFraction",
    kind: "float",
    default: 0.6,
    min: 0,
    max: 1,
    unit: "fraction",
    description: "Share of a native daemon's regions that get written (anon_vma).",
    source: "calibrated: the after-boot residual (≈ 30 k anon_vmas, §11.1 [D]); a library " +
      "has about 3 written mappings (.data, RELRO, .bss) in 5 [U]",
  },
  {
    name: "zygoteVmas",
    kind: "int",
    default: 3000,
    min: 1,
    max: 100_000,
    unit: "VMAs",
    description: "Regions of zygote64's preloaded image at full scale.",
    source: "§11.1 suggests 1,500–3,000 [U]",
  },
  {
    name: "zygoteFaultedFraction",
    kind: "float",
    default: 0.36,
    min: 0,
    max: 1,
    unit: "fraction",
    description: "Share of zygote's regions written during preload (anon_vma, inherited by apps).",
    source: "calibrated: growth per launch ΔAVC/Δanon_vma ≈ 1.59 (§11.1 [D]); §11.1 suggests " +
      "20–40 % of an app's VMAs are inherited faulted [U]",
  },
  {
    name: "zygoteHeapRegions",
    kind: "int",
    default: 4,
    min: 0,
    max: 64,
    unit: "VMAs",
    description: "ART heap spaces zygote preloads (image, zygote, non-moving, large-object), " +
      "counted among its faulted regions and written completely.",
    source: "assumption (ART space layout)",
  },
  {
    name: "appVmas",
    kind: "int",
    default: 2930,
    min: 0,
    max: 100_000,
    unit: "VMAs",
    description: "Regions an app process maps itself at full scale (its ART moving space and " +
      "from-space included), besides thread stacks.",
    source: "calibrated: an app process ≈ 5.9 k VMAs of which ≈ 2.85 k inherited (§11.1 [D])",
  },
  {
    name: "appFaultedFraction",
    kind: "float",
    default: 0.228,
    min: 0,
    max: 1,
    unit: "fraction",
    description: "Share of an app's own regions that get written (anon_vma; the two ART heap " +
      "regions included).",
    source: "calibrated: growth per launch VMA/anon_vma ≈ 3.36 (§11.1 [D])",
  },
  {
    name: "appThreads",
    kind: "int",
    default: 60,
    min: 0,
    max: 10_000,
    unit: "threads",
    description: "Thread stacks per app process at full scale (mmap + mprotect guard page).",
    source: "assumption [U]",
  },
  {
    name: "appUnmapFraction",
    kind: "float",
    default: 0.05,
    min: 0,
    max: 1,
    unit: "fraction",
    description: "Share of the inherited regions an app unmaps while specialising.",
    source: "assumption [U]",
  },
  {
    name: "appMprotectSplits",
    kind: "int",
    default: 9,
    min: 0,
    max: 10_000,
    unit: "VMAs",
    description: "Inherited faulted regions whose first page an app write-protects (one split " +
      "each, chain length 2) at full scale.",
    source: "assumption [U] (RELRO / JIT-style protection changes)",
  },
  {
    name: "appCowFraction",
    kind: "float",
    default: 0.2,
    min: 0,
    max: 1,
    unit: "fraction",
    description: "Share of the inherited written pages an app writes (CoW copies).",
    source: "assumption; ≈ 98 % of anon folios are exclusive on phones (§11.1 [C])",
  },
  {
    name: "regionPages",
    kind: "int",
    default: 4,
    min: 1,
    max: 4096,
    unit: "pages",
    description: "Pages per mapped region (heaps and stacks excepted).",
    source: "assumption: small regions keep the run short; slab counts do not depend on it",
  },
  {
    name: "writePages",
    kind: "int",
    default: 2,
    min: 1,
    max: 4096,
    unit: "pages",
    description: "Pages written in each faulted region (at most regionPages).",
    source: "assumption",
  },
  {
    name: "heapPages",
    kind: "int",
    default: 16,
    min: 1,
    max: 65536,
    unit: "pages",
    description: "Pages of each ART heap space and of an app's moving space.",
    source: "assumption (scaled down)",
  },
  {
    name: "gcCycles",
    kind: "int",
    default: 3,
    min: 0,
    max: 1000,
    unit: "cycles",
    description: "Concurrent mark-compact cycles per app process (the first during start-up).",
    source: "§9.3: one mremap(MAYMOVE|FIXED|DONTUNMAP) per compaction cycle [C]; frequency [U]",
  },
  {
    name: "gcLiveFraction",
    kind: "float",
    default: 0.5,
    min: 0,
    max: 1,
    unit: "fraction",
    description: "Share of the moving space re-faulted (compacted live objects) after each move.",
    source: "assumption",
  },
  {
    name: "gcIntervalNs",
    kind: "int",
    default: 2_000_000,
    min: 0,
    max: 1e12,
    unit: "ns",
    description: "Time between two GC cycles of one app.",
    source: "assumption (compressed time)",
  },
  {
    name: "gcUffdMove",
    kind: "bool",
    default: false,
    unit: "",
    description:
      "Compact with UFFDIO_MOVE: each GC cycle registers the emptied moving space with " +
      "the app's userfaultfd, compacts each live page into a recycled from-space page (a write) " +
      "and moves it back with one UFFDIO_MOVE, then unregisters. Off: the live part is " +
      "re-faulted in place (copied).",
    source: "an Android userfaultfd GC compacts with UFFDIO_MOVE (Lokesh Gidra, linux-mm " +
      '2025-08-07: "an arm64 Android device with UFFD GC, which uses MOVE ioctl for compaction") ' +
      "[C]; Android 16's public ART fills with UFFDIO_COPY instead (docs/model.md §9.3); " +
      "pages recycled from the from-space (the UFFDIO_MOVE uABI commit: pages available for " +
      '"recycling, as is usually the case in heap compaction"), one page per ioctl, registered ' +
      "for the cycle only: an assumption [U]. Default false: the default suite's figures " +
      "predate it",
  },
  {
    name: "gcUffdCopy",
    kind: "bool",
    default: false,
    unit: "",
    description:
      "Run each GC cycle as Android 16's ART does: after the DONTUNMAP move, write one page of " +
      "the emptied moving space (which gives it an anon_vma), register the space with the app's " +
      "userfaultfd, MADV_DONTNEED it, fill its live part with UFFDIO_COPY and unregister it. " +
      "Not with gcUffdMove.",
    source: "art/runtime/gc/collector/mark_compact.cc of Android 16 (KernelPreparation, " +
      "MapMovingSpacePages; docs/model.md §9.3) [C]; the live part in one UFFDIO_COPY, as the " +
      "GC thread maps a contiguous run when no mutator faults first, an assumption [U]. " +
      "Default false: the default suite's figures predate it",
  },
  {
    name: "appForkShare",
    kind: "float",
    default: 0.41,
    min: 0,
    max: 1,
    unit: "fraction",
    description: "Share of apps that fork() at runtime (the child does some work and exits).",
    source: "§11.1: 82 of the top-200 apps (41 %) fork at runtime [C]",
  },
  {
    name: "forkChildLifetimeNs",
    kind: "int",
    default: 1_000_000,
    min: 0,
    max: 1e12,
    unit: "ns",
    description: "Lifetime of a child forked by an app at runtime.",
    source: "assumption",
  },
  {
    name: "maxCachedApps",
    kind: "int",
    default: 32,
    min: 1,
    max: 10_000,
    unit: "apps",
    description: "Launched apps kept alive; launching one more kills the oldest (LMK).",
    source: "§11.1: DEFAULT_MAX_CACHED_PROCESSES = 32 in many Android versions [C]",
  },
  {
    name: "appCompaction",
    kind: "bool",
    default: false,
    unit: "",
    description:
      "When a launched app leaves the foreground (at the next launch), system_server's " +
      "compaction thread pages out its processes' private anonymous memory: " +
      "process_madvise(MADV_PAGEOUT) over every private VMA without a file, read from its maps " +
      "first, in batches of at most UIO_MAXIOV ranges and MAX_RW_COUNT bytes; a range that " +
      "fails with EINVAL is skipped, another error ends that process (each exclusive folio is " +
      "reclaimed with one try_to_unmap walk).",
    source:
      "AOSP frameworks/base/services/core/java/com/android/server/am/CachedAppOptimizer.java " +
      "(DEFAULT_USE_COMPACTION, a full compaction when a process becomes cached) and " +
      "services/core/jni/com_android_server_am_CachedAppOptimizer.cpp (compactProcess, " +
      "getAnonPageAdvice: inode 0 and not shared -> MADV_PAGEOUT; compactMemory, VmaBatchCreator " +
      "and madviseVmasFromBatch: the batches, EINVAL skipped). " +
      "Default false: whether the cover letter's phone compacts is not published, and the " +
      "file part (MADV_COLD on file VMAs) is left out [U]",
  },
  {
    name: "zygote32",
    kind: "bool",
    default: false,
    unit: "",
    description: "Start zygote_secondary (app_process32, --enable-lazy-preload) beside zygote64; " +
      "a share of the apps (app32Share) is forked from it.",
    source: "AOSP system/core/rootdir/init.zygote64_32.rc (ro.zygote=zygote64_32) starts it; " +
      "64-bit-only devices use init.zygote64.rc (ro.zygote=zygote64). Default false: which one " +
      "the cover letter's phone uses is not published [U]",
  },
  {
    name: "zygote32Vmas",
    kind: "int",
    default: 1500,
    min: 1,
    max: 100_000,
    unit: "VMAs",
    description:
      "Regions of zygote32's image at full scale (preloaded at its first fork request, " +
      "--enable-lazy-preload); written share as zygoteFaultedFraction.",
    source: "assumption [U]: half of zygoteVmas (32-bit preload of the same classes, lazily)",
  },
  {
    name: "app32Share",
    kind: "float",
    default: 0.1,
    min: 0,
    max: 1,
    unit: "fraction",
    description: "Share of app processes forked from zygote32 when zygote32 is on (32-bit ABI).",
    source: "assumption [U]",
  },
  {
    name: "webviewZygote",
    kind: "bool",
    default: false,
    unit: "",
    description: "Start webview_zygote, a child zygote forked from zygote64 that preloads the " +
      "WebView APK; WebView renderer processes are forked from it.",
    source: "AOSP frameworks/base/core/java/android/webkit/WebViewZygote.java: " +
      'ZYGOTE_PROCESS.startChildZygote(WebViewZygoteInit, "webview_zygote", uid 1053) when ' +
      "multiprocess WebView is on (the AOSP default since Android 8). Default false here: the " +
      "calibrated defaults (bootAppProcesses etc.) predate it [U]",
  },
  {
    name: "webviewVmas",
    kind: "int",
    default: 600,
    min: 1,
    max: 100_000,
    unit: "VMAs",
    description: "Regions webview_zygote maps for the WebView APK and its libraries, full scale.",
    source: "assumption [U]",
  },
  {
    name: "webviewFaultedFraction",
    kind: "float",
    default: 0.3,
    min: 0,
    max: 1,
    unit: "fraction",
    description: "Share of webview_zygote's own regions that get written.",
    source: "assumption [U]",
  },
  {
    name: "webviewRendererShare",
    kind: "float",
    default: 0.3,
    min: 0,
    max: 1,
    unit: "fraction",
    description: "Share of launched apps that start one WebView renderer (forked from " +
      "webview_zygote, killed with the app).",
    source: "assumption [U]",
  },
  {
    name: "usapPool",
    kind: "bool",
    default: false,
    unit: "",
    description: "Unspecialized app process (USAP) pool: zygote64 forks idle processes ahead of " +
      "time; a launch's main process takes one instead of forking.",
    source: "AOSP ZygoteConfig.USAP_POOL_ENABLED_DEFAULT = false (frameworks/base/core/java/" +
      "com/android/internal/os/ZygoteConfig.java; persist.device_config.runtime_native." +
      "usap_pool_enabled overrides)",
  },
  {
    name: "usapPoolSizeMax",
    kind: "int",
    default: 3,
    min: 1,
    max: 100,
    unit: "processes",
    description: "USAPs the pool is filled to.",
    source: "AOSP ZygoteConfig.USAP_POOL_SIZE_MAX_DEFAULT = 3 (limit 100)",
  },
  {
    name: "usapPoolRefillThreshold",
    kind: "int",
    default: 1,
    min: 0,
    max: 100,
    unit: "processes",
    description: "The pool is refilled to usapPoolSizeMax once it holds fewer USAPs than this.",
    source: "AOSP ZygoteConfig.USAP_POOL_REFILL_THRESHOLD_DEFAULT = 1 (capped at the max by " +
      "ZygoteServer); the 3000 ms refill delay (USAP_POOL_REFILL_DELAY_MS_DEFAULT) is not " +
      "modelled: launches are compressed in time",
  },
  {
    name: "bootForkIntervalNs",
    kind: "int",
    default: 50_000,
    min: 0,
    max: 1e12,
    unit: "ns",
    description: "Time between two zygote forks during boot.",
    source: "assumption (compressed time)",
  },
  {
    name: "launchIntervalNs",
    kind: "int",
    default: 1_000_000,
    min: 0,
    max: 1e12,
    unit: "ns",
    description: "Time between two app launches.",
    source: "assumption: compressed (§11.1 suggests 10–100 launches per hour [U]) so the " +
      "daemons' walks stay proportionate",
  },
] as const satisfies readonly ParamSpec[];

/** A region of a process image. */
interface Region {
  readonly addr: number;
  readonly pages: number;
  /** Written at least once (has an anon_vma). */
  readonly faulted: boolean;
  /** Pages written. */
  readonly written: number;
}

/** A zygote-forked app (one launch, or one boot process). */
interface App {
  readonly procs: Proc[];
  killed: boolean;
}

/** A process created by the workload. */
/**
 * AOSP's MAX_BYTES_PER_BATCH, `MAX_RW_COUNT` (INT_MAX & PAGE_MASK): the most bytes one
 * process_madvise call of `compactMemory` is given (com_android_server_am_CachedAppOptimizer.cpp).
 */
const MAX_RW_COUNT = 0x7ffff000;

/**
 * system_server's `compactMemory` (CachedAppOptimizer) of `target`'s `ranges` (start, end pairs,
 * the VMAs as its maps showed them), by `caller`, with AOSP's batching (`VmaBatchCreator`,
 * `madviseVmasFromBatch`, `consumeBytes`): each process_madvise(MADV_PAGEOUT) call is one step,
 * on a batch of at most UIO_MAXIOV ranges and MAX_RW_COUNT bytes. A call that fails with EINVAL
 * (a locked VMA first) or advises nothing skips the batch's first range; one that advises part
 * of the batch skips one page more (the page where it failed) and sends the rest again; any
 * other error (ENOMEM: a range unmapped since the maps were read; ESRCH: the process exited)
 * ends the compaction of `target`. `log`, when given, gets each call's result (bytes or errno).
 *
 * @example Usage
 * ```ts ignore
 * for (const step of compactMemory(k, systemServer, app, [start, end])) step.run();
 * ```
 */
export function* compactMemory(
  k: Kernel,
  caller: Mm,
  target: Mm,
  ranges: readonly number[],
  log?: (number | string)[],
): Generator<{ op: "madvise"; run: () => void }, void, void> {
  let idx = 0, off = 0, stop = false;
  const n = ranges.length / 2;
  while (!stop && idx < n) {
    // createNextBatch
    const batch: { base: number; len: number }[] = [];
    let total = 0;
    while (batch.length < UIO_MAXIOV && idx < n) {
      const start = ranges[2 * idx] + off;
      let size = ranges[2 * idx + 1] - start;
      const avail = MAX_RW_COUNT - total;
      if (size > avail) {
        size = avail;
        off += avail;
      }
      batch.push({ base: start, len: size });
      total += size;
      if (total >= MAX_RW_COUNT) {
        if (size === ranges[2 * idx + 1] - start) {
          off = 0;
          idx++;
        }
        break;
      }
      off = 0;
      idx++;
    }
    if (batch.length === 0 || total === 0) return;
    let first = 0, stalled = false;
    while (!stop && !stalled && total > 0 && first < batch.length) {
      yield {
        op: "madvise",
        run: () => {
          let bytes = 0;
          try {
            bytes = k.processMadvise(caller, target, batch.slice(first), MADV_PAGEOUT);
            log?.push(bytes);
          } catch (e) {
            if (!(e instanceof SyscallError)) throw e;
            log?.push(e.errno);
            if (e.errno !== "EINVAL") {
              stop = true;
              return;
            }
          }
          if (bytes === 0) bytes = batch[first].len;
          else if (bytes < total) bytes += PAGE_SIZE;
          // consumeBytes; no progress ends the batch ("no forward progress can be made")
          bytes = Math.min(bytes, total);
          stalled = bytes === 0;
          for (let used = 0; used < bytes && first < batch.length;) {
            const r = batch[first];
            if (used + r.len > bytes) {
              const part = bytes - used;
              batch[first] = { base: r.base + part, len: r.len - part };
              total -= part;
              break;
            }
            used += r.len;
            total -= r.len;
            first++;
          }
        },
      };
    }
  }
}

interface Proc {
  mm: Mm;
  readonly app: App | null;
  dead: boolean;
}

/**
 * A write fault of `mm` at `addr`: the step `{ op: "fault", run: () => kernel.touch(mm, addr,
 * "write") }` as one object (no closure per page; the machine calls `run` as a method). A loop
 * of touches yields one object again and again, moved with {@link TouchStep.at}: the machine runs
 * a step before the script is resumed and keeps no step.
 */
class TouchStep {
  /** Operation kind. */
  readonly op = "fault";
  readonly #k: Kernel;
  #mm: Mm;
  #addr: number;

  constructor(k: Kernel, mm: Mm, addr: number) {
    this.#k = k;
    this.#mm = mm;
    this.#addr = addr;
  }

  /** This step, now a write fault of `mm` at `addr`. */
  at(mm: Mm, addr: number): this {
    this.#mm = mm;
    this.#addr = addr;
    return this;
  }

  /** Touches the page for writing. */
  run(): void {
    this.#k.touch(this.#mm, this.#addr, "write");
  }
}

/** A step result an iterator below hands out again and again (see {@link TouchRun}). */
type StepResult = { done: false; value: Step };

/**
 * The loop `for (i < count) yield touch.at(proc.mm, addr(i))`, with `addr(i)` = `base + i ·
 * PAGE_SIZE` or, given `addrs`, `addrs[i]`, as an iterator a script delegates to (`yield*`): no
 * generator to resume and no result object per step. Each call of `next` reads `proc.mm` and
 * makes the address when the loop would, and hands out the one result object again (the runner
 * reads a step before it resumes the script, and keeps neither).
 */
class TouchRun implements Iterator<Step, void, void> {
  readonly #touch: TouchStep;
  readonly #proc: { readonly mm: Mm };
  readonly #base: number;
  readonly #addrs: readonly number[] | null;
  readonly #count: number;
  #i = 0;
  readonly #r: StepResult;

  constructor(
    touch: TouchStep,
    proc: { readonly mm: Mm },
    base: number,
    count: number,
    addrs: readonly number[] | null = null,
  ) {
    this.#touch = touch;
    this.#proc = proc;
    this.#base = base;
    this.#count = count;
    this.#addrs = addrs;
    this.#r = { done: false, value: touch };
  }

  /** The next write fault, or the end. */
  next(): IteratorResult<Step, void> {
    const i = this.#i;
    if (i >= this.#count) return ENDED;
    this.#i = i + 1;
    const a = this.#addrs;
    this.#r.value = this.#touch.at(this.#proc.mm, a === null ? this.#base + i * PAGE_SIZE : a[i]);
    return this.#r;
  }

  /** The loop itself (what `yield*` asks for). */
  [Symbol.iterator](): this {
    return this;
  }
}

/**
 * `kernel.mmap(mm, addr, len, prot, flags, file, offset · PAGE_SIZE)` as one step object (no
 * closure per region).
 */
class MmapStep {
  /** Operation kind. */
  readonly op = "mmap";
  readonly #k: Kernel;
  #mm: Mm;
  #addr = 0;
  #len = 0;
  #prot = 0;
  #flags = 0;
  #file: SimFile | null = null;
  #offset = 0;

  constructor(
    k: Kernel,
    mm: Mm,
    addr: number,
    len: number,
    prot: number,
    flags: number,
    file: SimFile | null = null,
    offsetPages = 0,
  ) {
    this.#k = k;
    this.#mm = mm;
    this.set(mm, addr, len, prot, flags, file, offsetPages);
  }

  /**
   * This step, now the mmap of the arguments (as the constructor's): a loop of mmaps yields one
   * object again and again, like {@link TouchStep.at}.
   */
  set(
    mm: Mm,
    addr: number,
    len: number,
    prot: number,
    flags: number,
    file: SimFile | null = null,
    offsetPages = 0,
  ): this {
    this.#mm = mm;
    this.#addr = addr;
    this.#len = len;
    this.#prot = prot;
    this.#flags = flags;
    this.#file = file;
    this.#offset = offsetPages * PAGE_SIZE;
    return this;
  }

  /** Maps the region. */
  run(): void {
    this.#k.mmap(
      this.#mm,
      this.#addr,
      this.#len,
      this.#prot,
      this.#flags,
      this.#file,
      this.#offset,
    );
  }
}

/** Linear-sequence helper: the share of `total` assigned to item `i` so sums stay exact. */
function dither(total: number, i: number): number {
  return Math.floor((i + 1) * total + 0.5) - Math.floor(i * total + 0.5);
}

/** Interleaves `cold` and `hot` items evenly: whether item `i` of the `cold + hot` is hot. */
function interleaved(cold: number, hot: number, i: number): boolean {
  const n = cold + hot;
  return dither(n === 0 ? 0 : hot / n, i) === 1;
}

function* waitUntil(pred: () => boolean, poll = POLL_NS): Generator<Step, void, void> {
  while (!pred()) yield { sleep: poll };
}

/**
 * The result of a finished {@link WhileAlive} (shared; never changed). Not frozen, so that it has
 * the shape of {@link TouchRun}'s result objects: the runner reading `done` sees fewer shapes.
 */
const ENDED: IteratorReturnResult<void> = { done: true, value: undefined };

/**
 * The script of {@link whileAlive}: an iterator object rather than a generator, so that each step
 * passes `g`'s own result on (no generator frame to resume, no result object of its own).
 */
class WhileAlive implements Iterator<Step, void, void> {
  readonly #alive: () => boolean;
  readonly #g: Generator<Step, void, void>;
  #ended = false;

  constructor(alive: () => boolean, g: Generator<Step, void, void>) {
    this.#alive = alive;
    this.#g = g;
  }

  /** The next step of `g`, or the end once `g` ended or `alive()` fails (before or after it). */
  next(): IteratorResult<Step, void> {
    if (this.#ended) return ENDED;
    if (this.#alive()) {
      const r = this.#g.next();
      if (!r.done && this.#alive()) return r;
    }
    this.#ended = true;
    return ENDED;
  }

  /** Ends the script. */
  return(): IteratorResult<Step, void> {
    this.#ended = true;
    return ENDED;
  }

  /** Ends the script and throws `e`. */
  throw(e: unknown): IteratorResult<Step, void> {
    this.#ended = true;
    throw e;
  }

  /** The script itself. */
  [Symbol.iterator](): this {
    return this;
  }
}

/** Runs `g` while `alive()` holds; stops (without running the step) once it does not. */
function whileAlive(alive: () => boolean, g: Generator<Step, void, void>): TaskScript {
  // The runner only calls next(); the object has every other method a generator has but is not
  // one, hence the cast.
  return new WhileAlive(alive, g) as unknown as TaskScript;
}

function setup(env: WorkloadEnv): void {
  const k: Kernel = env.kernel;
  const p = paramsOf(PARAMS, env.params);
  const scale = p.scale;
  const regionPages = p.regionPages;
  const writePages = Math.min(p.writePages, regionPages);
  const heapPages = p.heapPages;
  if (p.gcUffdMove && p.gcUffdCopy) {
    throw new RangeError(
      "android-launch parameters gcUffdMove and gcUffdCopy are two ways of compacting: set one",
    );
  }
  const launches = p.launches;
  const perLaunch = p.processesPerLaunch;
  const image = k.createFile("system.img", 1 << 30);
  let fileCursor = 0;
  /** State the marks wait for. */
  const starting = new Set<Proc>();
  const busy = new Set<Proc>();
  let quiesce = false;
  let appIndex = 0;
  let names = 0;

  /**
   * The mmap step of one region at `addr` (cold regions are clean file mappings, hot ones get
   * written); a file-backed region takes the next `pages` of the image file when this is called.
   */
  function regionMmap(
    mm: Mm,
    addr: number,
    pages: number,
    hot: boolean,
    fileBacked: boolean,
    step: MmapStep | null = null,
  ): MmapStep {
    const len = pages * PAGE_SIZE;
    const prot = hot ? PROT_READ | PROT_WRITE : PROT_READ | (fileBacked ? PROT_EXEC : 0);
    const s = step ?? new MmapStep(k, mm, addr, len, prot, 0);
    if (!fileBacked) {
      return s.set(mm, addr, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE);
    }
    const off = fileCursor;
    fileCursor += pages;
    return s.set(mm, addr, len, prot, MAP_PRIVATE | MAP_FIXED_NOREPLACE, image, off);
  }

  /** Maps one region at `addr` and writes its first `written` pages if it is hot. */
  function* mapRegion(
    mm: Mm,
    addr: number,
    pages: number,
    hot: boolean,
    fileBacked: boolean,
    written: number,
    out: Region[],
  ): Generator<Step, void, void> {
    yield regionMmap(mm, addr, pages, hot, fileBacked);
    const n = hot ? written : 0;
    const touch = new TouchStep(k, mm, addr);
    for (let i = 0; i < n; i++) yield touch.at(mm, addr + i * PAGE_SIZE);
    out.push({ addr, pages, faulted: hot, written: n });
  }

  /**
   * Maps an image of `cold` clean and `hot` written regions from `base` upwards (one-page gaps,
   * so neighbours neither merge nor share anon_vmas). A third of the written regions are
   * private file mappings (library data), the rest anonymous; clean regions are file mappings.
   * The regions are listed in `out`, or not at all (`null`; {@link imageWrittenPages} lists the
   * pages written).
   */
  function mapImage(
    mm: Mm,
    base: number,
    cold: number,
    hot: number,
    out: Region[] | null,
  ): Iterator<Step, number, void> & Iterable<Step> {
    return new ImageMap(mm, base, cold, hot, out);
  }

  /**
   * The pages {@link mapImage}`(mm, base, cold, hot, …)` writes, in the order it writes them:
   * the first `writePages` of each hot region (region `i` is at `base + i · (regionPages + 1)`
   * pages). Computed, so that an image need not be listed for this.
   */
  function imageWrittenPages(base: number, cold: number, hot: number): number[] {
    const out: number[] = [];
    for (let i = 0, n = cold + hot; i < n; i++) {
      if (!interleaved(cold, hot, i)) continue;
      const addr = base + i * (regionPages + 1) * PAGE_SIZE;
      for (let j = 0; j < writePages; j++) out.push(addr + j * PAGE_SIZE);
    }
    return out;
  }

  /**
   * {@link mapImage}'s loop as an iterator (see {@link TouchRun}): per region, the mmap step,
   * then the write faults of its first `writePages` pages if it is hot; the region is listed
   * and the address moves on when the step after them is asked for, as the generator did.
   */
  class ImageMap implements Iterator<Step, number, void> {
    #addr: number;
    #h = 0;
    #i = 0;
    /** Write faults of the current region: `#j` of `#n` done; -1 before the first region. */
    #j = -1;
    #n = 0;
    /** Whether the current region is hot. */
    #isHot = false;
    readonly #touch: TouchStep;
    readonly #map: MmapStep;
    readonly #r: StepResult;
    #ended = false;

    constructor(
      readonly mm: Mm,
      base: number,
      readonly cold: number,
      readonly hot: number,
      readonly out: Region[] | null,
    ) {
      this.#addr = base;
      this.#touch = new TouchStep(k, mm, base);
      this.#map = new MmapStep(k, mm, base, 0, 0, 0);
      this.#r = { done: false, value: this.#map };
    }

    next(): IteratorResult<Step, number> {
      // Once ended, as a finished generator: done, no value.
      if (this.#ended) return ENDED as unknown as IteratorReturnResult<number>;
      const r = this.#r;
      if (this.#j >= 0) {
        const j = this.#j, n = this.#n;
        if (j < n) {
          this.#j = j + 1;
          r.value = this.#touch.at(this.mm, this.#addr + j * PAGE_SIZE);
          return r;
        }
        const out = this.out;
        if (out !== null) {
          out.push({ addr: this.#addr, pages: regionPages, faulted: this.#isHot, written: n });
        }
        this.#addr += (regionPages + 1) * PAGE_SIZE;
        this.#i++;
      }
      const i = this.#i;
      if (i >= this.cold + this.hot) {
        this.#ended = true;
        return { done: true, value: this.#addr };
      }
      const isHot = interleaved(this.cold, this.hot, i);
      const fileBacked = !isHot || this.#h++ % 3 === 0;
      r.value = regionMmap(this.mm, this.#addr, regionPages, isHot, fileBacked, this.#map);
      this.#isHot = isHot;
      this.#n = isHot ? writePages : 0;
      this.#j = 0;
      return r;
    }

    [Symbol.iterator](): this {
      return this;
    }
  }

  // --- Native daemons -------------------------------------------------------------------------

  const nativeCount = p.nativeDaemons;
  const nativeVmas = p.nativeVmas * scale;
  const nativeHot = nativeVmas * p.nativeFaultedFraction;
  let nativesPending = nativeCount;

  function* native(i: number): TaskScript {
    const pr: Proc = { mm: null as unknown as Mm, app: null, dead: false };
    yield { op: "execve", run: () => pr.mm = k.spawn() };
    yield { op: "execve", run: () => pr.mm = k.execve(pr.mm) };
    const top = k.params.taskSize - PAGE_SIZE;
    yield { op: "fault", run: () => k.touch(pr.mm, top, "write") };
    // The stack is one of the daemon's regions, and one of its written ones.
    const written = Math.max(1, dither(nativeHot, i));
    const cold = Math.max(0, dither(nativeVmas, i) - written);
    yield* mapImage(pr.mm, NATIVE_BASE, cold, written - 1, null);
    nativesPending--;
  }

  env.addTask(
    "init",
    "user",
    (function* (): TaskScript {
      for (let i = 0; i < nativeCount; i++) {
        env.addTask(`native${i}`, "user", native(i));
        yield { sleep: p.bootForkIntervalNs };
      }
    })(),
  );

  // --- Zygote ---------------------------------------------------------------------------------

  const zygoteRegions: Region[] = [];
  const zygoteHeaps: Region[] = [];
  const zygote: Proc = { mm: null as unknown as Mm, app: null, dead: false };
  /** What a zygote's children inherit: its regions and, among them, its ART heap spaces. */
  interface ZygoteImage {
    readonly proc: Proc;
    readonly regions: Region[];
    readonly heaps: Region[];
    /**
     * The regions other than heaps, written and not, in `regions` order, as of the counts of
     * `regions` and `heaps` they were listed at (every app forked from the image reads them).
     */
    inherited?: { regions: number; heaps: number; hot: Region[]; cold: Region[] };
  }

  /** `img`'s inherited regions other than heaps, written and not, listed once per image state. */
  function inheritedRegions(img: ZygoteImage): { hot: Region[]; cold: Region[] } {
    const c = img.inherited;
    if (c !== undefined && c.regions === img.regions.length && c.heaps === img.heaps.length) {
      return c;
    }
    const ordinary = img.regions.filter((r) => !img.heaps.includes(r));
    const made = {
      regions: img.regions.length,
      heaps: img.heaps.length,
      hot: ordinary.filter((r) => r.faulted),
      cold: ordinary.filter((r) => !r.faulted),
    };
    img.inherited = made;
    return made;
  }
  const z64: ZygoteImage = { proc: zygote, regions: zygoteRegions, heaps: zygoteHeaps };
  // The other zygotes and the USAP pool (all off by default).
  const z32: ZygoteImage = {
    proc: { mm: null as unknown as Mm, app: null, dead: false },
    regions: [],
    heaps: [],
  };
  let z32Preloaded = false;
  const webview: ZygoteImage = {
    proc: { mm: null as unknown as Mm, app: null, dead: false },
    regions: [],
    heaps: zygoteHeaps,
  };
  const usapPool: Proc[] = [];
  let appsStarted = 0;
  const appVmas = p.appVmas * scale;
  const appHot = appVmas * p.appFaultedFraction;
  const threads = p.appThreads * scale;
  const splits = p.appMprotectSplits * scale;
  const unmapFraction = p.appUnmapFraction;
  const cowFraction = p.appCowFraction;
  const gcCycles = p.gcCycles;
  const liveFraction = p.gcLiveFraction;
  const launched: App[] = [];
  /** Apps waiting for the compaction thread (appCompaction), and whether launching is over. */
  const compactQueue: App[] = [];
  let launchesOver = false;
  /** system_server, the first app started at boot (the compaction thread's process). */
  let systemServer: App | null = null;

  /** One ART concurrent-compaction cycle (reference §9.3). */
  function* gcCycle(pr: Proc, moving: number, from: number): Generator<Step, void, void> {
    const len = heapPages * PAGE_SIZE;
    yield {
      op: "mremap",
      run: () =>
        void k.mremap(
          pr.mm,
          moving,
          len,
          len,
          MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP,
          from,
        ),
    };
    const live = Math.round(heapPages * liveFraction);
    if (p.gcUffdMove) yield* uffdCompaction(pr.mm, moving, from, live);
    else if (p.gcUffdCopy) yield* uffdCopyCompaction(pr.mm, moving, live);
    else yield* new TouchRun(new TouchStep(k, pr.mm, moving), pr, moving, live);
    yield { op: "madvise", run: () => k.madvise(pr.mm, from, len, MADV_DONTNEED) };
  }

  /**
   * Each app process's userfaultfd (gcUffdMove, gcUffdCopy), opened at its first compaction;
   * weak, so that an exited process's mm is not kept alive by it (the kernel drops the context at
   * exit).
   */
  const uffds = new WeakMap<Mm, Userfaultfd>();
  const uffdOf = (mm: Mm): Userfaultfd => {
    let u = uffds.get(mm);
    if (!u) uffds.set(mm, u = k.userfaultfd(mm));
    return u;
  };

  /**
   * gcUffdMove's compaction: the emptied moving space registered for the cycle, and each live
   * page written in the from-space (objects compacted into a recycled page; the write also breaks
   * CoW with a forked child, so the page is exclusive) and moved back with UFFDIO_MOVE. A move
   * that fails (a pinned folio) leaves its page behind; `uffd_move_failed` counts it.
   */
  function* uffdCompaction(
    mm: Mm,
    moving: number,
    from: number,
    live: number,
  ): Generator<Step, void, void> {
    const len = heapPages * PAGE_SIZE;
    yield { op: "userfaultfd", run: () => uffdOf(mm).register(moving, len) };
    for (let i = 0; i < live; i++) {
      const off = i * PAGE_SIZE;
      yield { op: "fault", run: () => k.touch(mm, from + off, "write") };
      yield {
        op: "userfaultfd",
        run: () => {
          try {
            uffdOf(mm).move(moving + off, from + off, PAGE_SIZE);
          } catch (e) {
            if (!(e instanceof SyscallError)) throw e;
          }
        },
      };
    }
    yield { op: "userfaultfd", run: () => uffdOf(mm).unregister(moving, len) };
  }

  /**
   * gcUffdCopy's cycle after the DONTUNMAP move (Android 16's `KernelPreparation` and compaction
   * phase): one page of the emptied moving space written, so that it has an anon_vma again (the
   * move unlinked the old one); the space registered in missing mode and emptied; the live part
   * filled with one UFFDIO_COPY (new exclusive folios); the space unregistered.
   */
  function* uffdCopyCompaction(mm: Mm, moving: number, live: number): Generator<Step, void, void> {
    const len = heapPages * PAGE_SIZE;
    yield { op: "fault", run: () => k.touch(mm, moving, "write") };
    yield { op: "userfaultfd", run: () => uffdOf(mm).register(moving, len) };
    yield { op: "madvise", run: () => k.madvise(mm, moving, len, MADV_DONTNEED) };
    if (live > 0) {
      yield { op: "userfaultfd", run: () => void uffdOf(mm).copy(moving, live * PAGE_SIZE) };
    }
    yield { op: "userfaultfd", run: () => uffdOf(mm).unregister(moving, len) };
  }

  /** Transient activity: waits while a mark is being taken, and is counted while running. */
  function* transient(pr: Proc, g: Generator<Step, void, void>): Generator<Step, void, void> {
    yield* waitUntil(() => !quiesce, QUIESCE_POLL_NS);
    busy.add(pr);
    yield* g;
    busy.delete(pr);
  }

  /** A child forked by an app at runtime: writes a few pages and exits. */
  function* runtimeChild(pr: Proc, pages: number[]): TaskScript {
    const touch = new TouchStep(k, pr.mm, 0);
    for (const a of pages) yield touch.at(pr.mm, a);
    yield { sleep: p.forkChildLifetimeNs };
    yield {
      op: "exit",
      run: () => {
        k.exit(pr.mm);
        pr.dead = true;
        busy.delete(pr);
      },
    };
  }

  /** An app process right after fork from zygote: specialise, start up, run. */
  function* appProcess(
    pr: Proc,
    index: number,
    main: boolean,
    img: ZygoteImage = z64,
  ): Generator<Step, void, void> {
    const mm = (): Mm => pr.mm;
    // Choices seeded by the process's index (zygote forks in a fixed order), not by scheduling,
    // so every scheme runs the same workload.
    const rng = env.rng.fork(`app${index}`);
    // Specialise: unmap a share of the inherited regions (proportionally clean and written).
    const inherited = inheritedRegions(img);
    const hotInh = rng.shuffle(inherited.hot.slice());
    const coldInh = rng.shuffle(inherited.cold.slice());
    const unmapHot = dither(hotInh.length * unmapFraction, index);
    const unmapCold = dither(coldInh.length * unmapFraction, index);
    const gone = [...hotInh.slice(0, unmapHot), ...coldInh.slice(0, unmapCold)];
    for (const r of gone) {
      yield { op: "munmap", run: () => k.munmap(mm(), r.addr, r.pages * PAGE_SIZE) };
    }
    const kept = hotInh.slice(unmapHot);
    // Own regions: apk/oat/so mappings, arenas, heaps.
    // appVmas and its written share include the moving space and the from-space (2 regions,
    // 2 anon_vmas once the first compaction ran), mapped below.
    const ownHot = Math.max(0, dither(appHot, index) - HEAP_REGIONS);
    const ownCold = Math.max(0, dither(appVmas, index) - HEAP_REGIONS - ownHot);
    // Not listed: the pages written in them are computed when needed (ownPages).
    let addr = yield* mapImage(mm(), APP_BASE, ownCold, ownHot, null);
    // RELRO-like protection changes of inherited written regions: one split each.
    const nSplits = Math.min(dither(splits, index), kept.length);
    for (const r of kept.slice(0, nSplits)) {
      yield { op: "mprotect", run: () => k.mprotect(mm(), r.addr, PAGE_SIZE, PROT_READ) };
    }
    // Thread stacks: mmap, guard page made PROT_NONE, the top page used.
    const nThreads = dither(threads, index);
    for (let t = 0; t < nThreads; t++) {
      const base = addr;
      addr += (STACK_PAGES + 2) * PAGE_SIZE;
      const len = (STACK_PAGES + 1) * PAGE_SIZE;
      yield {
        op: "mmap",
        run: () =>
          void k.mmap(
            mm(),
            base,
            len,
            PROT_READ | PROT_WRITE,
            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
          ),
      };
      yield { op: "mprotect", run: () => k.mprotect(mm(), base, PAGE_SIZE, PROT_NONE) };
      yield { op: "fault", run: () => k.touch(mm(), base + len - PAGE_SIZE, "write") };
    }
    // ART moving space and its from-space reservation.
    const heapLen = heapPages * PAGE_SIZE;
    const moving = addr;
    const from = addr + heapLen + PAGE_SIZE;
    addr = from + heapLen + PAGE_SIZE;
    yield {
      op: "mmap",
      run: () =>
        void k.mmap(
          mm(),
          moving,
          heapLen,
          PROT_READ | PROT_WRITE,
          MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
        ),
    };
    yield {
      op: "mmap",
      run: () =>
        void k.mmap(
          mm(),
          from,
          heapLen,
          PROT_NONE,
          MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
        ),
    };
    const touch = new TouchStep(k, mm(), moving);
    yield* new TouchRun(touch, pr, moving, heapPages);
    // CoW: writes to a share of the inherited written pages (heaps included).
    const inheritedPages: number[] = [];
    for (let j = 0; j < kept.length + img.heaps.length; j++) {
      const r = j < kept.length ? kept[j] : img.heaps[j - kept.length];
      // The first page of a write-protected region (the first nSplits kept ones, each kept
      // region listed once and no heap among them) is read-only now.
      const from = j < nSplits ? 1 : 0;
      for (let i = from; i < r.written; i++) inheritedPages.push(r.addr + i * PAGE_SIZE);
    }
    const cow = rng.shuffle(inheritedPages).slice(
      0,
      Math.round(inheritedPages.length * cowFraction),
    );
    cow.sort((x, y) => x - y);
    yield* new TouchRun(touch, pr, 0, cow.length, cow);
    // First compaction during start-up.
    if (gcCycles > 0) yield* gcCycle(pr, moving, from);
    starting.delete(pr);
    // Runtime: further GC cycles, and for 41 % of apps one fork.
    const forkAt = main && pr.app && rng.chance(p.appForkShare)
      ? rng.int(1, Math.max(1, gcCycles))
      : -1;
    /** The pages this process wrote in its own regions (listed only when it forks). */
    const ownPages = (): number[] => imageWrittenPages(APP_BASE, ownCold, ownHot);
    for (let c = 1; c <= Math.max(gcCycles - 1, forkAt); c++) {
      yield { sleep: p.gcIntervalNs };
      if (c === forkAt) {
        yield* transient(
          pr,
          (function* (): Generator<Step, void, void> {
            yield {
              op: "fork",
              run: () => {
                const child: Proc = { mm: k.fork(pr.mm), app: pr.app, dead: false };
                pr.app!.procs.push(child);
                busy.add(child);
                const writes = rng.shuffle(ownPages()).slice(0, 4);
                env.addTask(
                  `app-child${names++}`,
                  "user",
                  whileAlive(() => !child.dead, runtimeChild(child, writes)),
                );
              },
            };
          })(),
        );
      }
      if (c < gcCycles) yield* transient(pr, gcCycle(pr, moving, from));
    }
  }

  /** Starts the task of an app process `pr` inheriting `img`. */
  function startTask(pr: Proc, main: boolean, img: ZygoteImage): void {
    pr.app!.procs.push(pr);
    starting.add(pr);
    const index = appIndex++;
    env.addTask(
      `app${index}`,
      "user",
      whileAlive(() => !pr.dead, appProcess(pr, index, main, img)),
    );
  }

  /** Forks one zygote child and starts its task. */
  const forkApp = (app: App, main: boolean, img: ZygoteImage = z64): Step => ({
    op: "fork",
    run: () => startTask({ mm: k.fork(img.proc.mm), app, dead: false }, main, img),
  });

  /** zygote64 forks idle USAPs until the pool holds `usapPoolSizeMax` (ZygoteServer). */
  function* fillUsapPool(): Generator<Step, void, void> {
    while (usapPool.length < p.usapPoolSizeMax) {
      yield {
        op: "fork",
        run: () => void usapPool.push({ mm: k.fork(zygote.mm), app: null, dead: false }),
      };
    }
  }

  /**
   * Starts the processes of one app: the ABI picks zygote64 or zygote32 (its lazy preload runs
   * at the first request); a USAP, when the pool has one, becomes the main process; a share of
   * launched apps also starts a WebView renderer forked from webview_zygote.
   */
  function* startApp(
    app: App,
    procs: number,
    launch: boolean,
  ): Generator<Step, void, void> {
    const n = appsStarted++;
    // system_server (the first app) is 64-bit.
    const is32 = p.zygote32 && n > 0 && dither(p.app32Share, n) === 1;
    const img = is32 ? z32 : z64;
    if (is32 && !z32Preloaded) {
      z32Preloaded = true;
      // As zygote64's image: the stack (mapped at execve) is one of the written regions.
      const total = Math.round(p.zygote32Vmas * scale);
      const hot = Math.max(0, Math.round(total * p.zygoteFaultedFraction) - 1);
      yield* mapImage(z32.proc.mm, ZYGOTE_BASE, Math.max(0, total - 1 - hot), hot, z32.regions);
    }
    for (let j = 0; j < procs; j++) {
      const main = j === 0;
      if (main && !is32 && n > 0 && usapPool.length > 0) {
        const usap = usapPool.shift()!;
        startTask({ mm: usap.mm, app, dead: false }, main, z64);
        if (usapPool.length < p.usapPoolRefillThreshold) yield* fillUsapPool();
        continue;
      }
      yield forkApp(app, main, img);
    }
    if (
      launch && p.webviewZygote &&
      dither(p.webviewRendererShare, launched.length - 1) === 1
    ) {
      yield forkApp(app, false, webview);
    }
  }

  /** Kills an app: every process of it exits (lmkd kills the process group). */
  function* kill(app: App): Generator<Step, void, void> {
    app.killed = true;
    for (const pr of app.procs) {
      if (pr.dead) continue;
      yield {
        op: "exit",
        run: () => {
          k.exit(pr.mm);
          pr.dead = true;
          starting.delete(pr);
          busy.delete(pr);
        },
      };
    }
  }

  /** Waits for start-ups and transient activity to settle, then records the slab state. */
  function* settleAndMark(label: string): Generator<Step, void, void> {
    yield* waitUntil(() => starting.size === 0 && nativesPending === 0);
    quiesce = true;
    yield* waitUntil(() => busy.size === 0 && starting.size === 0, QUIESCE_POLL_NS);
    env.mark(label);
    quiesce = false;
  }

  /** The compaction thread: each queued app's live processes in turn (`compactProcess`). */
  function* compaction(): TaskScript {
    for (;;) {
      yield* waitUntil(() => compactQueue.length > 0 || launchesOver);
      const app = compactQueue.shift();
      if (app === undefined) return;
      for (const pr of app.procs) {
        if (pr.dead) continue; // pidfd_open fails: the process is skipped
        // getAnonPageAdvice: inode 0 and not shared.
        const ranges: number[] = [];
        for (const v of pr.mm.vmas) {
          if (v.file === null && !(v.flags & VM_SHARED)) ranges.push(v.start, v.end);
        }
        yield* compactMemory(k, systemServer!.procs[0].mm, pr.mm, ranges);
      }
    }
  }
  if (p.appCompaction) env.addTask("compaction", "user", compaction());

  env.addTask(
    "zygote64",
    "user",
    (function* (): TaskScript {
      yield { op: "execve", run: () => zygote.mm = k.spawn() };
      yield { op: "execve", run: () => zygote.mm = k.execve(zygote.mm) };
      const top = k.params.taskSize - PAGE_SIZE;
      yield { op: "fault", run: () => k.touch(zygote.mm, top, "write") };
      // Preload: heap spaces first, then the rest of the image.
      const total = Math.round(p.zygoteVmas * scale);
      const hotTotal = Math.round(total * p.zygoteFaultedFraction);
      const heaps = Math.min(p.zygoteHeapRegions, hotTotal);
      let addr = ZYGOTE_BASE;
      for (let h = 0; h < heaps; h++) {
        yield* mapRegion(zygote.mm, addr, heapPages, true, false, heapPages, zygoteRegions);
        zygoteHeaps.push(zygoteRegions[zygoteRegions.length - 1]);
        addr += (heapPages + 1) * PAGE_SIZE;
      }
      // The stack is one of the written regions.
      const hot = Math.max(0, hotTotal - heaps - 1);
      const cold = Math.max(0, total - 1 - heaps - hot);
      yield* mapImage(zygote.mm, addr, cold, hot, zygoteRegions);
      // init starts zygote_secondary beside zygote (init.zygote64_32.rc); its preload waits for
      // the first request (--enable-lazy-preload).
      if (p.zygote32) {
        yield { op: "execve", run: () => z32.proc.mm = k.spawn() };
        yield { op: "execve", run: () => z32.proc.mm = k.execve(z32.proc.mm) };
        yield { op: "fault", run: () => k.touch(z32.proc.mm, top, "write") };
      }
      // Boot: system_server, then the apps running after boot.
      const bootApps = 1 + p.bootAppProcesses;
      for (let i = 0; i < bootApps; i++) {
        const app: App = { procs: [], killed: false };
        if (i === 0) systemServer = app;
        yield* startApp(app, 1, false);
        yield { sleep: p.bootForkIntervalNs };
        if (i === 0 && p.webviewZygote) {
          // system_server starts webview_zygote: a child zygote of zygote64 that preloads the
          // WebView APK (WebViewZygote.startChildZygote).
          yield { op: "fork", run: () => webview.proc.mm = k.fork(zygote.mm) };
          webview.regions.push(...zygoteRegions);
          const total = Math.round(p.webviewVmas * scale);
          const wHot = Math.round(total * p.webviewFaultedFraction);
          yield* mapImage(webview.proc.mm, WEBVIEW_BASE, total - wHot, wHot, webview.regions);
        }
        if (i === 0 && p.usapPool) yield* fillUsapPool();
      }
      yield* settleAndMark("after-boot");
      // Launches, with the low-memory killer.
      for (let i = 0; i < launches; i++) {
        yield { sleep: p.launchIntervalNs };
        const alive = launched.filter((a) => !a.killed);
        if (alive.length >= p.maxCachedApps) yield* kill(alive[0]);
        const app: App = { procs: [], killed: false };
        launched.push(app);
        yield* startApp(app, perLaunch, true);
        // The app launched before goes to the background: cached, it is compacted.
        const prev = launched[launched.length - 2];
        if (p.appCompaction && prev !== undefined && !prev.killed) {
          compactQueue.push(prev);
        }
      }
      launchesOver = true;
      yield* settleAndMark(`after-${launches}-launches`);
    })(),
  );
}

function fmt(x: number, digits: number): string {
  return x.toFixed(digits);
}

/**
 * One row of the calibration table (also used by tests).
 *
 * @example Usage
 * ```ts
 * import { type AndroidCalibrationRow, androidCalibration } from "./android_launch.ts";
 * const rows: AndroidCalibrationRow[] = androidCalibration(new Map(), 0.02, 24);
 * if (rows.length !== 0) throw new Error(); // no marks, no rows
 * ```
 */
export interface AndroidCalibrationRow {
  /** "after boot", "after N launches" or "growth per launch". */
  moment: string;
  /** Slab cache. */
  object: CalibratedCache;
  /** Published active KB. */
  publishedKb: number;
  /** Published objects derived with the x86_64 slot sizes. */
  publishedObjects: number;
  /** Simulated objects. */
  simulatedObjects: number;
  /** Simulated objects divided by the scale. */
  simulatedPerScale: number;
  /** Published objects per published anon_vma. */
  publishedRatio: number;
  /** Simulated objects per simulated anon_vma. */
  simulatedRatio: number;
  /**
   * Relative deviation: of the ratio for vm_area_struct and anon_vma_chain; of the absolute
   * count (simulated / scale against published) for anon_vma, whose ratio is 1 by definition.
   */
  deviation: number;
}

/**
 * Builds the calibration rows from the marks of a run (`after-boot` and `after-N-launches`).
 *
 * @example Usage
 * ```ts
 * import { androidCalibration } from "./android_launch.ts";
 * const marks = new Map([
 *   ["after-boot", { vm_area_struct: 12480, anon_vma_chain: 6040, anon_vma: 4020 }],
 *   ["after-24-launches", { vm_area_struct: 21000, anon_vma_chain: 10070, anon_vma: 6550 }],
 * ]);
 * const rows = androidCalibration(marks, 0.02, 24);
 * if (rows.length !== 9) throw new Error();
 * ```
 */
export function androidCalibration(
  marks: ReadonlyMap<string, Readonly<Record<string, number>>>,
  scale: number,
  launches: number,
): AndroidCalibrationRow[] {
  const boot = marks.get("after-boot");
  const after = marks.get(`after-${launches}-launches`);
  if (!boot || !after) return [];
  const pubObjects = (kb: number, c: CalibratedCache): number => kb * 1024 / SLOT_BYTES[c];
  const moments: {
    moment: string;
    kb: Record<CalibratedCache, number>;
    sim: Record<CalibratedCache, number>;
    perLaunch: boolean;
  }[] = [];
  const pb = ANDROID_PUBLISHED_KB.boot, pa = ANDROID_PUBLISHED_KB.apps24;
  const pick = (m: Readonly<Record<string, number>>): Record<CalibratedCache, number> => ({
    vm_area_struct: m.vm_area_struct,
    anon_vma_chain: m.anon_vma_chain,
    anon_vma: m.anon_vma,
  });
  moments.push({ moment: "after boot", kb: { ...pb }, sim: pick(boot), perLaunch: false });
  moments.push({
    moment: `after ${launches} launches`,
    kb: { ...pa },
    sim: pick(after),
    perLaunch: false,
  });
  if (launches > 0) {
    const kb = {} as Record<CalibratedCache, number>;
    const sim = {} as Record<CalibratedCache, number>;
    for (const c of CALIBRATED) {
      kb[c] = (pa[c] - pb[c]) / ANDROID_PUBLISHED_LAUNCHES;
      sim[c] = (after[c] - boot[c]) / launches;
    }
    moments.push({ moment: "growth per launch", kb, sim, perLaunch: true });
  }
  const rows: AndroidCalibrationRow[] = [];
  for (const m of moments) {
    const pubAv = pubObjects(m.kb.anon_vma, "anon_vma");
    for (const c of CALIBRATED) {
      const publishedObjects = pubObjects(m.kb[c], c);
      const publishedRatio = publishedObjects / pubAv;
      const simulatedRatio = m.sim.anon_vma > 0 ? m.sim[c] / m.sim.anon_vma : NaN;
      const deviation = c === "anon_vma"
        ? m.sim[c] / scale / publishedObjects - 1
        : simulatedRatio / publishedRatio - 1;
      rows.push({
        moment: m.moment,
        object: c,
        publishedKb: m.kb[c],
        publishedObjects,
        simulatedObjects: m.sim[c],
        simulatedPerScale: m.sim[c] / scale,
        publishedRatio,
        simulatedRatio,
        deviation,
      });
    }
  }
  return rows;
}

function finish(env: WorkloadEnv, marks: ReadonlyMap<string, Record<string, number>>): void {
  const { scale, launches } = paramsOf(PARAMS, env.params);
  // The published composition is that of an unpatched kernel: it calibrates the classic scheme
  // only, and would read as a verdict on the others.
  const scheme = env.kernel.scheme.info.id;
  if (scheme !== "anon_vma") {
    env.note(
      "The calibration against the published unpatched Android slab composition applies to " +
        `the unpatched scheme anon_vma only; it is not shown for ${scheme}.`,
    );
    return;
  }
  const rows = androidCalibration(marks, scale, launches);
  if (rows.length === 0) return;
  env.table({
    title: "Calibration against the published unpatched Android slab composition (§10.3, §11.1): " +
      `published after boot and after ${ANDROID_PUBLISHED_LAUNCHES} launches; ` +
      `this run after ${launches} launches`,
    columns: [
      "moment",
      "object",
      "published KB",
      "published objects (derived)",
      "simulated objects",
      "simulated/scale",
      "ratio to anon_vma (published)",
      "ratio to anon_vma (simulated)",
      "deviation %",
      "within 10 %?",
    ],
    rows: rows.map((r) => [
      r.moment,
      r.object,
      fmt(r.publishedKb, 1),
      fmt(r.publishedObjects, 0),
      fmt(r.simulatedObjects, r.moment === "growth per launch" ? 1 : 0),
      fmt(r.simulatedPerScale, 0),
      fmt(r.publishedRatio, 3),
      fmt(r.simulatedRatio, 3),
      fmt(r.deviation * 100, 1),
      Math.abs(r.deviation) <= ANDROID_CALIBRATION_TOLERANCE ? "yes" : "NO",
    ]),
  });
  env.note(
    "Published objects = active KB × 1024 / x86_64 slot size (vm_area_struct 192 B, " +
      "anon_vma_chain 64 B, anon_vma 104 B; §1.6). In KB the phone has fewer AVC than anon_vma " +
      "bytes, but as objects AVCs outnumber anon_vmas ≈ 1.5 : 1 because an AVC slot is smaller.",
  );
  env.note(
    "arm64 GKI slot sizes may differ (§11.1 [U]) and active counts include per-CPU slab slack, " +
      "so the ratios carry a few per cent of uncertainty of their own.",
  );
  env.note(
    "Deviation compares ratios to anon_vma for vm_area_struct and anon_vma_chain; for anon_vma " +
      "it compares simulated/scale with the published object count.",
  );
  if (launches !== ANDROID_PUBLISHED_LAUNCHES) {
    env.note(
      `The run launched ${launches} apps; the published second moment is after 24 launches.`,
    );
  }
}

/**
 * The `android-launch` workload: zygote, system daemons, app launches by fork without exec,
 * specialisation, thread stacks, ART compaction with DONTUNMAP moves, runtime forks and a
 * low-memory killer, calibrated against the published slab composition.
 *
 * @example Usage
 * ```ts ignore
 * import { runOne } from "../runner/recorder.ts";
 * const r = runOne({ scheme: "anon_vma", workload: "android-launch", seed: 1 });
 * console.log(r.extraTables?.[0].rows);
 * ```
 */
export const ANDROID_LAUNCH: Workload = {
  id: "android-launch",
  title: "Android boot and app launches (zygote fork without exec)",
  description: "Native daemons (exec'd), zygote64 preloading its image, system_server and boot " +
    "apps forked from zygote, then K app launches by fork without exec (§4, §11.1): each app " +
    "unmaps and maps regions, write-protects a few, creates thread stacks with guard pages, " +
    "writes inherited pages (CoW) and compacts its ART heap with mremap(DONTUNMAP) (§9.3); " +
    "41 % of apps fork at runtime; a low-memory killer bounds cached apps. Calibrated against " +
    "the published unpatched slab composition after boot and after 24 launches (§10.3).",
  params: PARAMS,
  setup,
  finish,
};
