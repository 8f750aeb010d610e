/**
 * The `trace-replay` workload: replays an `strace -f` log (and, optionally, the `perf script`
 * page-fault samples of the same run) onto the simulated kernel.
 *
 * Replay rules (each a choice made where strace shows less than the kernel saw):
 *
 * - **Addresses are the trace's.** Every successful `mmap` is replayed with `MAP_FIXED` at the
 *   address the trace returned; an `mremap` that returned a new address is replayed as a
 *   `MREMAP_MAYMOVE|MREMAP_FIXED` move to it, one that returned the old address as an in-place
 *   resize. The simulator's own address-space layout is never consulted.
 * - **brk** is replayed as `mmap(MAP_FIXED)`/`munmap` of the pages between the old and the new
 *   break at the trace's addresses: `do_brk_flags` creates the same VMA (read/write, private,
 *   `VM_ACCOUNT`, `pgoff = addr >> PAGE_SHIFT`, reference §6) and merges it the same way, while
 *   the simulated `brk()` starts from its own `start_brk`.
 * - **Processes.** A trace pid maps to a simulated process. `fork`/`clone`/`clone3` without
 *   `CLONE_VM` fork the mm; with `CLONE_VM` (threads, and `vfork`/`CLONE_VFORK`, e.g.
 *   `posix_spawn`) the child pid is an alias of the same mm — exactly what Linux does (no
 *   `dup_mmap`). A vfork child that execs gets a fresh mm (spawn + execve); one that exits just
 *   drops its alias. `execve` of a sole user replaces its mm (`execve`); `exit_group` ends the
 *   whole thread group, `exit` one thread; the mm is torn down when its last user leaves.
 *   Processes still alive at the end of the trace exit then.
 * - **Mappings the kernel made** (the ELF image, ld.so, the stack) are not in an strace log. A
 *   trace file of `deno task record` carries the real `/proc/<pid>/maps` of every exec'd process,
 *   copied in its execve syscall-exit stop (tools/record.ts); each successful execve is matched to
 *   the snapshot that pid took between the execve's entry and its next traced event, and the
 *   replay maps it (file mappings of the same path share a file; `[stack]` is `MAP_GROWSDOWN`
 *   anonymous memory; `[vdso]`/`[vvar]`/`[vsyscall]` are special mappings the model has no
 *   counterpart for and are left out) in place of the model's own exec stack. Without a snapshot,
 *   calls on those mappings (e.g. RELRO `mprotect`) fail and are classed "exec-time layout
 *   missing".
 * - **Fidelity classes.** Every call the replay could not reproduce is put in one class: exec-time
 *   layout missing (failed, in a process without a snapshot, on a range the replay never mapped),
 *   failed on the host too (skipped), not implemented by the model (mbind, mseal, unmodelled
 *   madvise advice, MAP_HUGETLB, ...; skipped), never returned in the trace (skipped), or a genuine
 *   model difference (any other call that succeeded on the host and failed in the model). The
 *   workload's fidelity table prints each class with its count and one example.
 * - **Syscalls without a memory effect** (wait4, kill, signals, rseq, ...) are recognised and
 *   counted apart; only names the replay does not know at all are listed as unknown.
 * - **Files**: `openat`/`close` lines (record with `-e trace=memory,process,openat,close`) name
 *   the file behind an fd; mappings of the same path share one simulated file. Without them, an fd
 *   stands for a file of its own.
 * - **Failed calls** (`= -1 ENOMEM (...)`) are skipped. `pkey_mprotect` is replayed as
 *   `mprotect` (the model has no protection keys).
 * - **process_madvise** is replayed on the process its pidfd names (`pidfd_open` lines, or
 *   strace's `<pid:N>` decoding), with the trace's vector; the bytes advised must equal the
 *   trace's return value, else it is a genuine difference. A pidfd of a process the trace does
 *   not follow is classed apart, as is a vector strace cut short (`...`: record with `-s 1024`).
 * - **Locking**: `mlock`, `mlock2`, `munlock`, `mlockall`, `munlockall` and `mmap(MAP_LOCKED)`
 *   are replayed with the model's mlock (VM_LOCKED/VM_LOCKONFAULT on the VMAs, `mm->def_flags`
 *   for MCL_FUTURE, and the populate that follows a lock: a replayed mlock faults pages in).
 * - **Page touches**: strace shows no faults. With `faults=perf` the perf samples are merged by
 *   timestamp (both recorded on CLOCK_REALTIME, see tools/record.ts) and each becomes a
 *   write if its VMA is writable, else a read (perf does not say which — assumption). The
 *   `touch` parameter adds synthetic touches after each mapping. A replay with neither says so in
 *   one note (it faults no memory, so every anon_vma figure is zero) instead of printing zeros.
 * - **Process tree.** The first replay records who forked whom, how (fork, clone, clone3, vfork,
 *   CLONE_VM), the threads and the programs each process exec'd: the "process tree" table.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import {
  MADV_COLD,
  MADV_DODUMP,
  MADV_DOFORK,
  MADV_DONTDUMP,
  MADV_DONTFORK,
  MADV_DONTNEED,
  MADV_DONTNEED_LOCKED,
  MADV_FREE,
  MADV_GUARD_INSTALL,
  MADV_GUARD_REMOVE,
  MADV_HUGEPAGE,
  MADV_KEEPONFORK,
  MADV_NOHUGEPAGE,
  MADV_NORMAL,
  MADV_PAGEOUT,
  MADV_POPULATE_READ,
  MADV_POPULATE_WRITE,
  MADV_RANDOM,
  MADV_SEQUENTIAL,
  MADV_WILLNEED,
  MADV_WIPEONFORK,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_GROWSDOWN,
  MAP_LOCKED,
  MAP_NONBLOCK,
  MAP_NORESERVE,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  MAP_STACK,
  MREMAP_DONTUNMAP,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  MREMAP_RELOCATE_ANON,
  PAGE_SIZE,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
  SyscallError,
} from "../core/kernel/types.ts";
import type { Mm, SimFile } from "../core/kernel/types.ts";
import { fullyMapped, pageAlignUp } from "../core/kernel/mmap.ts";
import { lockRange } from "../core/kernel/mlock.ts";
import type { Kernel } from "../core/kernel/kernel.ts";
import {
  FLAG_VALUES,
  parseFlags,
  parseNumber,
  parsePerfFaults,
  parseStrace,
  type PerfFault,
  type TraceCall,
  type TraceEvent,
} from "./strace_parser.ts";
import type { ParamSpec, Step, TaskScript, Workload, WorkloadEnv } from "./workload.ts";
import { FORK_DEMO_PERF, FORK_DEMO_STRACE } from "./traces/fork_demo.ts";
import { TRACE_LIBRARY } from "./traces/library.ts";
import {
  base64Bytes,
  decodeTraceBytes,
  type ExecLayout,
  isTraceFileText,
  parseTraceFile,
  type TraceHeader,
} from "./trace_file.ts";
import { TraceParseError } from "./strace_parser.ts";

const CLONE_VM = FLAG_VALUES.CLONE_VM;
const CLONE_VFORK = FLAG_VALUES.CLONE_VFORK;
const CLONE_THREAD = FLAG_VALUES.CLONE_THREAD;
/** madvise advice the simulator models, by the name strace prints (uapi values). */
export const MADVICE: Readonly<Record<string, number>> = {
  MADV_DONTNEED: MADV_DONTNEED,
  MADV_DONTNEED_LOCKED: MADV_DONTNEED_LOCKED,
  MADV_DONTFORK: MADV_DONTFORK,
  MADV_DOFORK: MADV_DOFORK,
  MADV_WIPEONFORK: MADV_WIPEONFORK,
  MADV_KEEPONFORK: MADV_KEEPONFORK,
  MADV_FREE: MADV_FREE,
  MADV_HUGEPAGE: MADV_HUGEPAGE,
  MADV_NOHUGEPAGE: MADV_NOHUGEPAGE,
  MADV_DONTDUMP: MADV_DONTDUMP,
  MADV_DODUMP: MADV_DODUMP,
  MADV_COLD: MADV_COLD,
  MADV_PAGEOUT: MADV_PAGEOUT,
  MADV_WILLNEED: MADV_WILLNEED,
  MADV_NORMAL: MADV_NORMAL,
  MADV_RANDOM: MADV_RANDOM,
  MADV_SEQUENTIAL: MADV_SEQUENTIAL,
  MADV_GUARD_INSTALL: MADV_GUARD_INSTALL,
  MADV_GUARD_REMOVE: MADV_GUARD_REMOVE,
  MADV_POPULATE_READ: MADV_POPULATE_READ,
  MADV_POPULATE_WRITE: MADV_POPULATE_WRITE,
};
/** The values of {@link MADVICE}. */
const MADVICE_VALUES = new Set(Object.values(MADVICE));

/**
 * The advice value of an strace madvise argument: a name of {@link MADVICE}, or a number with
 * strace's comment (`0x66 /* MADV_??? *\/`: strace 6.1 prints the guard advice so), when it is
 * one of the values the model has; else undefined.
 *
 * @example Usage
 * ```ts
 * import { adviceValue } from "./trace_replay.ts";
 * if (adviceValue("0x66 /* MADV_??? *\/") !== 102 || adviceValue("MADV_COLD") !== 20) {
 *   throw new Error();
 * }
 * ```
 */
export function adviceValue(arg: string): number | undefined {
  const named = MADVICE[arg];
  if (named !== undefined) return named;
  const m = /^(0x[0-9a-f]+|[0-9]+)(\s*\/\*.*\*\/)?$/.exec(arg);
  if (m === null) return undefined;
  const v = Number(m[1]);
  return MADVICE_VALUES.has(v) ? v : undefined;
}
/** Size given to simulated files: large enough for any traced offset (files are never truncated). */
const FILE_PAGES = 1 << 28;

/** A named trace: strace text and optional perf page-fault text. */
export interface NamedTrace {
  /** The `strace -f` log, or the text of a recorded trace file (tools/record.ts). */
  readonly strace: string;
  /** `perf script` page-fault samples of the same run ("" when none, always "" for a trace file). */
  readonly perf: string;
}

/** A trace ready to replay. */
interface LoadedTrace {
  events: TraceEvent[];
  faults: PerfFault[];
  layouts: ExecLayout[];
  header: TraceHeader | null;
}

interface TraceEntry {
  load: () => LoadedTrace;
  loaded: LoadedTrace | null;
  description: string | null;
}

/** Parses strace text that starts after line `offset` of a trace file (errors name file lines). */
function parseStraceAt(text: string, offset: number): TraceEvent[] {
  try {
    return parseStrace(text).events;
  } catch (e) {
    if (!(e instanceof TraceParseError)) throw e;
    throw new TraceParseError(
      e.line + offset,
      e.message.replace(/^Trace line \d+: /, ""),
      "Trace file",
    );
  }
}

function loadTexts(strace: string, perf: string): LoadedTrace {
  if (isTraceFileText(strace)) {
    if (perf !== "") {
      throw new RangeError(
        "A recorded trace file carries its own page faults: give it without a perf file",
      );
    }
    const f = parseTraceFile(strace);
    return {
      events: parseStraceAt(f.strace, f.straceOffset),
      faults: f.faults,
      layouts: f.layouts,
      header: f.header,
    };
  }
  return {
    events: parseStrace(strace).events,
    faults: parsePerfFaults(perf),
    layouts: [],
    header: null,
  };
}

const TRACES = new Map<string, TraceEntry>([
  ["fork_demo", {
    load: () => loadTexts(FORK_DEMO_STRACE, FORK_DEMO_PERF),
    loaded: null,
    description: "tools/trace_demo/fork_demo.c: a thread, 3 forks, an exec and a posix_spawn",
  }],
  ...TRACE_LIBRARY.map((t): [string, TraceEntry] => [t.name, {
    load: () => loadTexts(decodeTraceBytes(base64Bytes(t.gzipBase64)), ""),
    loaded: null,
    description: t.description,
  }]),
]);

function loadTrace(name: string): { trace: LoadedTrace; description: string | null } {
  const e = TRACES.get(name);
  if (!e) throw new RangeError(`Unknown trace "${name}"; valid: ${traceNames().join(", ")}`);
  if (!e.loaded) e.loaded = e.load();
  return { trace: e.loaded, description: e.description };
}

/**
 * Registers (or replaces) a trace under `name` so that `--param trace=<name>` can replay it; the
 * CLI calls it with a file's text. `strace` is a plain `strace -f` log (then `perf` may hold
 * `perf script` page faults) or the decompressed text of a trace file recorded by
 * `deno task record` (sniffed by its first line; `perf` must then be ""). The texts are parsed at
 * once, so a malformed trace fails here with its line number.
 *
 * @example Usage
 * ```ts
 * import { registerTrace, traceNames } from "./trace_replay.ts";
 * registerTrace("tiny", "1 exit_group(0) = ?\n");
 * if (!traceNames().includes("tiny")) throw new Error();
 * ```
 */
export function registerTrace(name: string, strace: string, perf = ""): void {
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) {
    throw new RangeError(`Trace name must be letters, digits, "_", "." or "-", got "${name}"`);
  }
  const loaded = loadTexts(strace, perf);
  TRACES.set(name, { load: () => loaded, loaded, description: null });
}

/**
 * Names of the registered traces (the shipped `fork_demo` first, then the library of real
 * programs, then traces registered at run time).
 *
 * @example Usage
 * ```ts
 * import { traceNames } from "./trace_replay.ts";
 * if (traceNames()[0] !== "fork_demo") throw new Error();
 * ```
 */
export function traceNames(): string[] {
  return [...TRACES.keys()];
}

/** Bytes behind a base64 text (without decoding it). */
function gzipSize(b64: string): number {
  const pad = b64.endsWith("==") ? 2 : b64.endsWith("=") ? 1 : 0;
  return (b64.length / 4) * 3 - pad;
}

/**
 * The shipped traces with what they record and their compressed size in bytes.
 *
 * @example Usage
 * ```ts
 * import { shippedTraces } from "./trace_replay.ts";
 * if (!shippedTraces().some((t) => t.name === "fork_demo")) throw new Error();
 * ```
 */
export function shippedTraces(): { name: string; description: string; bytes: number }[] {
  return [
    {
      name: "fork_demo",
      description: TRACES.get("fork_demo")!.description!,
      bytes: FORK_DEMO_STRACE.length + FORK_DEMO_PERF.length,
    },
    ...TRACE_LIBRARY.map((t) => ({
      name: t.name,
      description: t.description,
      bytes: gzipSize(t.gzipBase64),
    })),
  ];
}

/** How a call the replay could not reproduce is explained (see the module doc). */
export type DivergenceClass =
  | "layout_missing"
  | "failed_on_host"
  | "not_implemented"
  | "unfinished"
  | "outside_trace"
  | "genuine";

/** Each divergence class with the sentence the fidelity table prints. */
export const DIVERGENCE_CLASSES: Readonly<Record<DivergenceClass, string>> = {
  layout_missing: "exec-time layout missing",
  failed_on_host: "failed on the host too (skipped)",
  not_implemented: "not implemented by the model (skipped)",
  unfinished: "never returned in the trace (skipped)",
  outside_trace: "acts on a process the trace does not follow (skipped)",
  genuine: "genuine model difference",
};

/**
 * Syscalls with no effect on VMAs, page tables or folios, recognised and counted apart (process
 * control, signals, thread bookkeeping, NUMA policy of the whole task, queries).
 */
export const NO_MEMORY_EFFECT: ReadonlySet<string> = new Set([
  "wait4",
  "waitid",
  "waitpid",
  "kill",
  "tkill",
  "tgkill",
  "rt_sigqueueinfo",
  "rt_tgsigqueueinfo",
  "pidfd_send_signal",
  "pidfd_getfd",
  "set_tid_address",
  "set_robust_list",
  "get_robust_list",
  "rseq",
  "arch_prctl",
  "prctl",
  "unshare",
  "setns",
  "pkey_alloc",
  "pkey_free",
  "mincore",
  "msync",
  "membarrier",
  "get_mempolicy",
  "set_mempolicy",
  "set_mempolicy_home_node",
  "memfd_secret",
  "process_vm_readv",
  "process_vm_writev",
  "rt_sigaction",
  "rt_sigprocmask",
  "rt_sigreturn",
  "rt_sigsuspend",
  "rt_sigtimedwait",
  "sigaltstack",
  "pause",
  "futex",
  "sched_yield",
  "getpid",
  "gettid",
  "getppid",
  "memfd_create",
  "dup",
  "dup2",
  "dup3",
  "shmget",
  "shmctl",
]);

/** Memory syscalls the model does not implement (they can change VMAs or pages on Linux). */
const NOT_IMPLEMENTED: ReadonlySet<string> = new Set([
  "mbind",
  "remap_file_pages",
  "process_mrelease",
  "mseal",
  "shmat",
  "shmdt",
  "migrate_pages",
  "move_pages",
  "map_shadow_stack",
  "userfaultfd",
]);

/**
 * mmap flags replayed as the trace has them (the replay sets the mapping type, MAP_ANONYMOUS and
 * MAP_FIXED itself).
 */
const PASSED_MMAP_FLAGS = MAP_GROWSDOWN | MAP_STACK | MAP_NORESERVE | MAP_POPULATE |
  MAP_NONBLOCK | MAP_LOCKED;

/** mmap flags the model does not implement; replayed without them and counted. */
const IGNORED_MMAP_FLAGS = new Set([
  "MAP_32BIT",
  "MAP_SYNC",
  "MAP_UNINITIALIZED",
  "MAP_DROPPABLE",
]);

/** Special mappings of a maps snapshot the model has no counterpart for. */
const SPECIAL_MAPPINGS = new Set(["[vdso]", "[vvar]", "[vvar_vclock]", "[vsyscall]", "[uprobes]"]);

/** Count and first example of one divergence class. */
export interface DivergenceCount {
  /** Calls in the class, over every replay of the run. */
  count: number;
  /** The first one: trace line, pid, call and what happened ("" when none). */
  example: string;
}

/** One process of the first replay's process tree. */
export interface TreeNode {
  /** Trace pid. */
  pid: number;
  /** Trace pid of the parent, or null for the first process. */
  parent: number | null;
  /** How it was created: root, fork, clone, clone3, vfork, clone3(CLONE_VM|CLONE_VFORK), ... */
  via: string;
  /** Threads it started (clone with CLONE_THREAD). */
  threads: number;
  /** Programs it exec'd, in order (base names). */
  programs: string[];
  /** Execs replayed with the recorded layout. */
  layouts: number;
  /** Execs replayed without one. */
  noLayout: number;
}

/** Replay statistics, by category and name. */
export interface ReplayStats {
  /** Calls replayed, by syscall name. */
  replayed: Record<string, number>;
  /** Calls of syscalls the replay does not know at all, by name. */
  unknown: Record<string, number>;
  /** Calls of syscalls with no memory effect (wait4, kill, ...), by name. */
  noMemoryEffect: Record<string, number>;
  /** Calls that failed in the trace (skipped), by syscall name. */
  failedInTrace: Record<string, number>;
  /** Calls that succeeded in the trace but failed in the simulator, by syscall name. */
  divergent: Record<string, number>;
  /** Calls the replay could not reproduce, by class. */
  classes: Record<DivergenceClass, DivergenceCount>;
  /** mmap flags replayed without their effect, by flag name. */
  ignoredFlags: Record<string, number>;
  /** Other counts (touches, faults applied, forks, threads, ...). */
  other: Record<string, number>;
  /** Process tree of the first replay, in creation order. */
  tree: TreeNode[];
  /** Replays run (copies × repeat). */
  replays: number;
}

function bump(r: Record<string, number>, k: string, n = 1): void {
  r[k] = (r[k] ?? 0) + n;
}

function newStats(): ReplayStats {
  const classes = {} as Record<DivergenceClass, DivergenceCount>;
  for (const c of Object.keys(DIVERGENCE_CLASSES) as DivergenceClass[]) {
    classes[c] = { count: 0, example: "" };
  }
  return {
    replayed: {},
    unknown: {},
    noMemoryEffect: {},
    failedInTrace: {},
    divergent: {},
    classes,
    ignoredFlags: {},
    other: {},
    tree: [],
    replays: 0,
  };
}

function describeCall(ev: TraceCall): string {
  const args = ev.args.join(", ");
  return `line ${ev.line}, pid ${ev.pid}: ${ev.name}(${
    args.length > 90 ? args.slice(0, 87) + "..." : args
  })`;
}

function classify(stats: ReplayStats, c: DivergenceClass, ev: TraceCall, what: string): void {
  const d = stats.classes[c];
  d.count++;
  if (d.example === "") d.example = `${describeCall(ev)}${what ? " -> " + what : ""}`;
}

/** Shared address space of one or more trace pids. */
interface MmRef {
  mm: Mm;
  users: Set<number>;
}

/** A trace task. */
interface Proc {
  pid: number;
  tgid: number;
  ref: MmRef;
  /** Current program break as the trace reported it (null until `brk(NULL)`). */
  brk: number | null;
  /** fd → file path (shared by threads). */
  fds: Map<number, string>;
  /** Whether its address space started from a recorded exec layout. */
  hasLayout: boolean;
}

type TouchMode = "none" | "first-page" | "all-writable";

interface ReplayOptions {
  touch: TouchMode;
  touchFraction: number;
  usePerf: boolean;
  relocate: boolean;
  gapNs: number;
}

/** A replay step: a simulated call, or a fault sample. */
type Item = { kind: "event"; ev: TraceEvent } | { kind: "fault"; f: PerfFault };

/** Merges strace events and perf faults by time (faults go before an event with a later time). */
function mergeByTime(events: TraceEvent[], faults: PerfFault[]): Item[] {
  const out: Item[] = [];
  const fs = [...faults].sort((a, b) => a.time - b.time || a.line - b.line);
  let j = 0;
  for (const ev of events) {
    if (ev.time !== null) {
      while (j < fs.length && fs[j].time < ev.time) out.push({ kind: "fault", f: fs[j++] });
    }
    out.push({ kind: "event", ev });
  }
  while (j < fs.length) out.push({ kind: "fault", f: fs[j++] });
  return out;
}

/**
 * Builds the items of one replay: merges faults when asked. Throws when perf faults are to be
 * used but the strace events carry no timestamps.
 */
function buildItems(trace: LoadedTrace, usePerf: boolean): Item[] {
  const faults = usePerf ? trace.faults : [];
  if (faults.length > 0 && trace.events.some((e) => e.time === null)) {
    throw new RangeError(
      "Perf page faults need strace timestamps on the same clock (strace -ttt, perf record -k CLOCK_REALTIME)",
    );
  }
  return mergeByTime(trace.events, faults);
}

/** Slack for the snapshot clock (the recorder's) against strace's, in seconds. */
const LAYOUT_CLOCK_SLACK_S = 0.002;

/**
 * Matches every successful execve/execveat to its layout snapshot: the last one that pid took
 * between the call's entry time and the pid's next traced event (the recorder delays the
 * execve's return, so a post-exec snapshot lands in that window; one taken while a failed exec
 * was delayed lies before the entry of the exec that succeeded).
 */
function matchLayouts(events: TraceEvent[], layouts: ExecLayout[]): Map<TraceEvent, ExecLayout> {
  const out = new Map<TraceEvent, ExecLayout>();
  if (layouts.length === 0) return out;
  const byPid = new Map<number, ExecLayout[]>();
  for (const l of layouts) {
    const a = byPid.get(l.pid) ?? [];
    a.push(l);
    byPid.set(l.pid, a);
  }
  const nextTime = new Map<TraceEvent, number>();
  const lastOf = new Map<number, TraceEvent>();
  for (const ev of events) {
    const prev = lastOf.get(ev.pid);
    if (prev && ev.time !== null) nextTime.set(prev, ev.time);
    lastOf.set(ev.pid, ev);
  }
  for (const ev of events) {
    if (ev.type !== "call" || ev.ret !== 0 || ev.time === null) continue;
    if (ev.name !== "execve" && ev.name !== "execveat") continue;
    const until = nextTime.get(ev) ?? Infinity;
    let best: ExecLayout | undefined;
    for (const l of byPid.get(ev.pid) ?? []) {
      if (l.time >= ev.time - LAYOUT_CLOCK_SLACK_S && l.time < until) best = l;
    }
    if (best) out.set(ev, best);
  }
  return out;
}

function num(call: TraceCall, i: number): number {
  const a = call.args[i];
  const n = a === undefined ? NaN : parseNumber(a);
  if (Number.isNaN(n)) {
    throw new RangeError(
      `Trace line ${call.line}: argument ${i + 1} of ${call.name} is not a number: ${
        a ?? "(missing)"
      }`,
    );
  }
  return n;
}

function flags(call: TraceCall, i: number): number {
  const a = call.args[i];
  if (a === undefined) {
    throw new RangeError(`Trace line ${call.line}: ${call.name} has no argument ${i + 1}`);
  }
  return parseFlags(a).value;
}

function cloneFlags(call: TraceCall): number {
  if (call.name === "fork") return 0;
  if (call.name === "vfork") return CLONE_VM | CLONE_VFORK;
  for (const a of call.args) {
    const m = /(?:^|[{\s,])flags=([A-Za-z0-9_|]+)/.exec(a);
    if (m) return parseFlags(m[1]).value;
  }
  return 0;
}

/** What a pidfd's entry in a process's fd table starts with (then the pid). */
const PIDFD = "pidfd:";

/**
 * The pid a `process_madvise` pidfd argument stands for: strace's decoding (`3<pid:1234>`, with
 * `-Y`/`--decode-pids=pidfd`), else the pid the fd was opened for by `pidfd_open`; null when the
 * fd is not a pidfd the trace opened.
 */
function pidfdTarget(proc: { fds: Map<number, string> }, arg: string): number | null {
  const decoded = /<pid:(\d+)>/.exec(arg);
  if (decoded) return Number(decoded[1]);
  const fd = /^\d+/.exec(arg);
  const f = fd ? proc.fds.get(Number(fd[0])) : undefined;
  return f !== undefined && f.startsWith(PIDFD) ? Number(f.slice(PIDFD.length)) : null;
}

/**
 * The ranges of an iovec array as strace prints it (`[{iov_base=0x7f.., iov_len=8192}, ...]`),
 * or null when strace cut it short (`...`, at `-s` elements) or it does not parse.
 */
export function parseIovec(arg: string): { base: number; len: number }[] | null {
  const a = arg.trim();
  if (!a.startsWith("[") || !a.endsWith("]") || a.includes("...")) return null;
  const out: { base: number; len: number }[] = [];
  const re = /\{iov_base=([^,}]+), iov_len=([^}]+)\}/g;
  let m: RegExpExecArray | null;
  let seen = 0;
  while ((m = re.exec(a)) !== null) {
    const base = m[1] === "NULL" ? 0 : parseNumber(m[1]);
    const len = parseNumber(m[2]);
    if (Number.isNaN(base) || Number.isNaN(len)) return null;
    out.push({ base, len });
    seen++;
  }
  const inner = a.slice(1, -1).trim();
  if (seen === 0 && inner !== "") return null;
  return out;
}

/** The program an execve/execveat names (base name of its path argument). */
function programOf(ev: TraceCall): string {
  const a = ev.args[ev.name === "execveat" ? 1 : 0] ?? "";
  const m = /^"((?:[^"\\]|\\.)*)"/.exec(a);
  const path = m ? m[1] : a;
  return path.slice(path.lastIndexOf("/") + 1) || path;
}

/** Replays one copy of a trace, as one task script (trace order is kept exactly). */
function* replayScript(
  env: WorkloadEnv,
  items: Item[],
  layoutOf: Map<TraceEvent, ExecLayout>,
  repeat: number,
  opts: ReplayOptions,
  stats: ReplayStats,
  copy: number,
): TaskScript {
  const k: Kernel = env.kernel;
  const rng = env.rng.fork(`trace-replay:${copy}`);
  for (let iter = 0; iter < repeat; iter++) {
    stats.replays++;
    const tree = copy === 0 && iter === 0 ? new Map<number, TreeNode>() : null;
    const addNode = (n: TreeNode): void => {
      if (tree && !tree.has(n.pid)) {
        tree.set(n.pid, n);
        stats.tree.push(n);
      }
    };
    const procs = new Map<number, Proc>();
    const files = new Map<string, SimFile>();
    const fileNamed = (path: string): SimFile => {
      let f = files.get(path);
      if (!f) {
        f = k.createFile(path, FILE_PAGES);
        files.set(path, f);
      }
      return f;
    };
    const fileOf = (p: Proc, fd: number): SimFile =>
      fileNamed(p.fds.get(fd) ?? `fd${fd}@${p.tgid}`);
    /**
     * A simulated call; a SyscallError where the trace succeeded is divergent, classed "exec-time
     * layout missing" when the process has no recorded layout and `range` was not fully mapped
     * in the model, else "genuine".
     */
    const call = (
      ev: TraceCall,
      proc: Proc,
      range: [number, number] | null,
      fn: () => void,
    ): Step => ({
      op: opKind(ev.name),
      run: () => {
        const mapped = range === null ||
          fullyMapped(proc.ref.mm, range[0], range[0] + pageAlignUp(range[1]));
        try {
          fn();
          bump(stats.replayed, ev.name);
        } catch (e) {
          if (!(e instanceof SyscallError)) throw e;
          bump(stats.divergent, ev.name);
          const cls = !proc.hasLayout && !mapped ? "layout_missing" : "genuine";
          classify(stats, cls, ev, e.message);
        }
      },
    });
    /**
     * The advice value of a madvise or process_madvise line (argument `i`), or null when the call
     * is not replayed: classed as not implemented (an advice the model does not have).
     */
    const adviceOf = (ev: TraceCall, i: number): number | null => {
      const name = ev.args[i] ?? "";
      const advice = adviceValue(name);
      if (advice === undefined) {
        bump(stats.other, `${ev.name}_ignored_${name}`);
        classify(stats, "not_implemented", ev, name);
        return null;
      }
      return advice;
    };
    const leave = (p: Proc): Step | null => {
      procs.delete(p.pid);
      p.ref.users.delete(p.pid);
      if (p.ref.users.size > 0 || !p.ref.mm.alive) return null;
      const mm = p.ref.mm;
      return { op: "exit", run: () => k.exit(mm) };
    };
    /** Maps a recorded post-exec layout in place of the model's own exec stack. */
    const applyLayout = (mm: Mm, layout: ExecLayout): void => {
      const stack = k.params.stackPages * PAGE_SIZE;
      k.munmap(mm, k.params.taskSize - stack, stack);
      for (const m of layout.entries) {
        if (SPECIAL_MAPPINGS.has(m.path) || m.end > k.params.taskSize) {
          bump(stats.other, "layout_special_mappings_left_out");
          continue;
        }
        const file = m.path === "" || m.path.startsWith("[") ? null : fileNamed(m.path);
        const fl = (m.shared ? MAP_SHARED : MAP_PRIVATE) | MAP_FIXED |
          (file ? 0 : MAP_ANONYMOUS) | (m.path === "[stack]" ? MAP_GROWSDOWN : 0);
        k.mmap(mm, m.start, m.end - m.start, m.prot, fl, file, file ? m.offset : 0);
        bump(stats.other, "layout_mappings");
      }
    };
    /** Touches after a new mapping (the `touch` parameter). */
    const touches = (mm: Mm, addr: number, len: number, prot: number): Step[] => {
      if (opts.touch === "none" || prot === 0) return [];
      const pages = Math.ceil(len / PAGE_SIZE);
      const writable = (prot & PROT_WRITE) !== 0;
      if (opts.touch === "first-page") {
        return [{
          op: "fault",
          run: () => {
            k.touch(mm, addr, writable ? "write" : "read");
            bump(stats.other, "touches");
          },
        }];
      }
      if (!writable) return [];
      const chosen: number[] = [];
      for (let i = 0; i < pages; i++) if (rng.float() < opts.touchFraction) chosen.push(i);
      if (chosen.length === 0) return [];
      return [{
        op: "fault",
        run: () => {
          for (const i of chosen) k.touch(mm, addr + i * PAGE_SIZE, "write");
          bump(stats.other, "touches", chosen.length);
        },
      }];
    };
    const procOf = (pid: number): Proc => {
      let p = procs.get(pid);
      if (!p) {
        const ref: MmRef = { mm: null as unknown as Mm, users: new Set([pid]) };
        p = { pid, tgid: pid, ref, brk: null, fds: new Map(), hasLayout: false };
        procs.set(pid, p);
      }
      return p;
    };
    for (const item of items) {
      if (opts.gapNs > 0) yield { sleep: opts.gapNs };
      if (item.kind === "fault") {
        const f = item.f;
        const p = procs.get(f.tid) ?? procs.get(f.pid);
        if (!p || !p.ref.mm || !p.ref.mm.alive) {
          bump(stats.other, "faults_without_process");
          continue;
        }
        const mm = p.ref.mm;
        yield {
          op: "fault",
          run: () => {
            for (const access of ["write", "read"] as const) {
              try {
                k.touch(mm, f.addr, access);
                bump(stats.other, `faults_applied_${access}`);
                return;
              } catch (e) {
                if (!(e instanceof SyscallError)) throw e;
              }
            }
            bump(stats.other, "faults_outside_replayed_mappings");
          },
        };
        continue;
      }
      const ev = item.ev;
      if (ev.type === "exit") {
        const p = procs.get(ev.pid);
        if (p) {
          // strace reports a thread-group leader's end only after its last thread's
          // (release_task of a delayed group leader): every thread left of the group goes too.
          const group = p.pid === p.tgid
            ? [...procs.values()].filter((q) => q.tgid === p.tgid && q.ref === p.ref)
            : [p];
          for (const q of group) {
            const s = leave(q);
            if (s) yield s;
          }
        }
        continue;
      }
      // A pid seen for the first time without a clone: a process of its own.
      let p = procs.get(ev.pid);
      if (!p) {
        p = procOf(ev.pid);
        const ref = p.ref;
        yield { op: "execve", run: () => ref.mm = k.spawn() };
        if (ev.name !== "execve" && ev.name !== "execveat") {
          bump(stats.other, "processes_started_mid_trace");
        }
        addNode({
          pid: ev.pid,
          parent: null,
          via: tree && tree.size === 0 ? "root" : "seen mid-trace",
          threads: 0,
          programs: [],
          layouts: 0,
          noLayout: 0,
        });
      }
      const proc = p;
      const ref = proc.ref;
      const mm = ref.mm;
      if (NO_MEMORY_EFFECT.has(ev.name)) {
        bump(stats.noMemoryEffect, ev.name);
        if (ev.name === "memfd_create" && ev.ret !== null && ev.errno === null) {
          const m = /^"((?:[^"\\]|\\.)*)"/.exec(ev.args[0] ?? "");
          proc.fds.set(ev.ret, `memfd:${m ? m[1] : "?"}#${ev.line}`);
        }
        continue;
      }
      if (ev.errno !== null) {
        bump(stats.failedInTrace, ev.name);
        if (ACTS.has(ev.name)) classify(stats, "failed_on_host", ev, ev.errno);
        continue;
      }
      if (ev.ret === null && ACTS.has(ev.name)) {
        // Never returned (the trace ended, or the task was killed, inside the call): its
        // outcome is unknown.
        classify(stats, "unfinished", ev, "");
        continue;
      }
      if (NOT_IMPLEMENTED.has(ev.name)) {
        classify(stats, "not_implemented", ev, "");
        continue;
      }
      switch (ev.name) {
        case "mmap": {
          if (ev.ret === null) {
            classify(stats, "unfinished", ev, "");
            break;
          }
          const len = num(ev, 1);
          const prot = flags(ev, 2) & (PROT_READ | PROT_WRITE | PROT_EXEC);
          const parsed = parseFlags(ev.args[3] ?? "");
          const fl = parsed.value;
          if (parsed.unknown.includes("MAP_HUGETLB")) {
            classify(stats, "not_implemented", ev, "MAP_HUGETLB");
            break;
          }
          for (const u of parsed.unknown) {
            if (IGNORED_MMAP_FLAGS.has(u)) bump(stats.ignoredFlags, u);
          }
          const fd = num(ev, 4);
          const off = num(ev, 5);
          const shared = (fl & 0x3) !== MAP_PRIVATE;
          const anon = (fl & MAP_ANONYMOUS) !== 0;
          const mflags = (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_FIXED |
            (anon ? MAP_ANONYMOUS : 0) |
            (fl & PASSED_MMAP_FLAGS);
          const file = anon ? null : fileOf(proc, fd);
          const addr = ev.ret;
          let ok = false;
          yield call(ev, proc, null, () => {
            k.mmap(mm, addr, len, prot, mflags, file, anon ? 0 : off);
            ok = true;
          });
          if (ok) yield* touches(mm, addr, len, prot);
          break;
        }
        case "munmap":
          yield call(ev, proc, null, () => k.munmap(mm, num(ev, 0), num(ev, 1)));
          break;
        case "pkey_mprotect":
        case "mprotect": {
          const prot = flags(ev, 2) & (PROT_READ | PROT_WRITE | PROT_EXEC);
          if (ev.name === "pkey_mprotect") bump(stats.ignoredFlags, "pkey (pkey_mprotect)");
          yield call(
            ev,
            proc,
            [num(ev, 0), num(ev, 1)],
            () => k.mprotect(mm, num(ev, 0), num(ev, 1), prot),
          );
          break;
        }
        case "madvise": {
          const advice = adviceOf(ev, 2);
          if (advice === null) break;
          yield call(
            ev,
            proc,
            [num(ev, 0), num(ev, 1)],
            () => k.madvise(mm, num(ev, 0), num(ev, 1), advice),
          );
          break;
        }
        case "process_madvise": {
          const advice = adviceOf(ev, 3);
          if (advice === null) break;
          const iov = parseIovec(ev.args[1] ?? "");
          if (iov === null || iov.length !== num(ev, 2)) {
            classify(
              stats,
              "not_implemented",
              ev,
              "a vector strace cut short (record with -s 1024)",
            );
            break;
          }
          const pid = pidfdTarget(proc, ev.args[0] ?? "");
          const target = pid === null ? undefined : procs.get(pid);
          if (target === undefined) {
            classify(stats, "outside_trace", ev, pid === null ? "not a pidfd" : `pid ${pid}`);
            break;
          }
          const fl = num(ev, 4), want = ev.ret;
          yield {
            op: "madvise",
            run: () => {
              try {
                const got = k.processMadvise(mm, target.ref.mm, iov, advice, fl);
                if (got === want) bump(stats.replayed, ev.name);
                else {
                  bump(stats.divergent, ev.name);
                  classify(stats, "genuine", ev, `${got} bytes advised, the host ${want}`);
                }
              } catch (e) {
                if (!(e instanceof SyscallError)) throw e;
                bump(stats.divergent, ev.name);
                classify(stats, "genuine", ev, e.message);
              }
            },
          };
          break;
        }
        case "pidfd_open":
          if (ev.ret !== null) proc.fds.set(ev.ret, `${PIDFD}${num(ev, 0)}`);
          bump(stats.replayed, ev.name);
          break;
        case "mlock":
        case "mlock2": {
          const fl = ev.name === "mlock2" ? flags(ev, 2) : 0;
          yield call(
            ev,
            proc,
            lockRange(num(ev, 0), num(ev, 1)),
            () =>
              ev.name === "mlock2"
                ? k.mlock2(mm, num(ev, 0), num(ev, 1), fl)
                : k.mlock(mm, num(ev, 0), num(ev, 1)),
          );
          break;
        }
        case "munlock":
          yield call(
            ev,
            proc,
            lockRange(num(ev, 0), num(ev, 1)),
            () => k.munlock(mm, num(ev, 0), num(ev, 1)),
          );
          break;
        case "mlockall": {
          const fl = flags(ev, 0);
          yield call(ev, proc, null, () => k.mlockall(mm, fl));
          break;
        }
        case "munlockall":
          yield call(ev, proc, null, () => k.munlockall(mm));
          break;
        case "mremap": {
          if (ev.ret === null) {
            classify(stats, "unfinished", ev, "");
            break;
          }
          const old = num(ev, 0);
          const oldLen = num(ev, 1);
          const newLen = num(ev, 2);
          const fl = flags(ev, 3);
          const to = ev.ret;
          const moved = to !== old || (fl & MREMAP_DONTUNMAP) !== 0;
          const rflags = moved
            ? MREMAP_MAYMOVE | MREMAP_FIXED | (fl & MREMAP_DONTUNMAP) |
              (opts.relocate ? MREMAP_RELOCATE_ANON : 0)
            : 0;
          let ok = false;
          yield call(ev, proc, [old, Math.max(oldLen, 1)], () => {
            k.mremap(mm, old, oldLen, newLen, rflags, moved ? to : 0);
            ok = true;
          });
          if (ok && newLen > oldLen) {
            yield* touches(
              mm,
              to + pageAlignUp(oldLen),
              newLen - pageAlignUp(oldLen),
              PROT_READ | PROT_WRITE,
            );
          }
          break;
        }
        case "brk": {
          if (ev.ret === null) break;
          const cur = proc.brk;
          const next = ev.ret;
          proc.brk = next;
          if (cur === null || num(ev, 0) === 0) {
            bump(stats.replayed, "brk");
            break;
          }
          const a = pageAlignUp(cur), b = pageAlignUp(next);
          if (b > a) {
            let ok = false;
            yield call(ev, proc, null, () => {
              k.mmap(mm, a, b - a, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
              ok = true;
            });
            if (ok) yield* touches(mm, a, b - a, PROT_READ | PROT_WRITE);
          } else if (b < a) {
            yield call(ev, proc, null, () => k.munmap(mm, b, a - b));
          } else bump(stats.replayed, "brk");
          break;
        }
        case "fork":
        case "vfork":
        case "clone":
        case "clone3": {
          if (ev.ret === null || ev.ret <= 0) {
            classify(stats, "unfinished", ev, "");
            break;
          }
          const cf = cloneFlags(ev);
          const childPid = ev.ret;
          if (cf & CLONE_VM) {
            // A thread or a vfork child: the same mm (no dup_mmap).
            ref.users.add(childPid);
            const thread = (cf & CLONE_THREAD) !== 0;
            procs.set(childPid, {
              pid: childPid,
              tgid: thread ? proc.tgid : childPid,
              ref,
              brk: proc.brk,
              fds: thread ? proc.fds : new Map(proc.fds),
              hasLayout: proc.hasLayout,
            });
            bump(stats.replayed, ev.name);
            bump(stats.other, thread ? "threads" : "vfork_children");
            if (thread) {
              const n = tree?.get(proc.tgid);
              if (n) n.threads++;
            } else {
              addNode({
                pid: childPid,
                parent: proc.tgid,
                via: ev.name === "vfork" ? "vfork" : `${ev.name}(CLONE_VM|CLONE_VFORK)`,
                threads: 0,
                programs: [],
                layouts: 0,
                noLayout: 0,
              });
            }
            break;
          }
          const child: Proc = {
            pid: childPid,
            tgid: childPid,
            ref: { mm: null as unknown as Mm, users: new Set([childPid]) },
            brk: proc.brk,
            fds: new Map(proc.fds),
            hasLayout: proc.hasLayout,
          };
          procs.set(childPid, child);
          addNode({
            pid: childPid,
            parent: proc.tgid,
            via: ev.name,
            threads: 0,
            programs: [],
            layouts: 0,
            noLayout: 0,
          });
          yield {
            op: "fork",
            run: () => {
              child.ref.mm = k.fork(mm);
              bump(stats.replayed, ev.name);
              bump(stats.other, "forks");
            },
          };
          break;
        }
        case "execve":
        case "execveat": {
          if (ev.ret === null) {
            // Never resumed: the exec was still running when the trace ended.
            classify(stats, "unfinished", ev, "");
            break;
          }
          const layout = layoutOf.get(ev) ?? null;
          proc.brk = null;
          proc.fds = new Map();
          proc.hasLayout = layout !== null;
          bump(stats.other, layout ? "execs_with_layout" : "execs_without_layout");
          const node = tree?.get(proc.pid);
          if (node) {
            node.programs.push(programOf(ev));
            if (layout) node.layouts++;
            else node.noLayout++;
          }
          if (ref.users.size === 1) {
            yield {
              op: "execve",
              run: () => {
                ref.mm = k.execve(mm);
                if (layout) applyLayout(ref.mm, layout);
              },
            };
          } else {
            // A vfork child or one thread of many: it leaves the shared mm for a new one.
            ref.users.delete(proc.pid);
            const nref: MmRef = { mm: null as unknown as Mm, users: new Set([proc.pid]) };
            proc.ref = nref;
            proc.tgid = proc.pid;
            yield { op: "execve", run: () => nref.mm = k.spawn() };
            yield {
              op: "execve",
              run: () => {
                nref.mm = k.execve(nref.mm);
                if (layout) applyLayout(nref.mm, layout);
              },
            };
          }
          bump(stats.replayed, ev.name);
          break;
        }
        case "exit_group": {
          // The caller is gone; the other threads leave at their own "+++ exited" line (a call
          // they were in may still complete: the mm lives until the last one, as in exit_mm) or
          // with their leader's.
          const s = leave(proc);
          if (s) yield s;
          bump(stats.replayed, ev.name);
          break;
        }
        case "exit": {
          const s = leave(proc);
          if (s) yield s;
          bump(stats.replayed, ev.name);
          break;
        }
        case "openat":
        case "open": {
          const path = /^"((?:[^"\\]|\\.)*)"/.exec(ev.args[ev.name === "openat" ? 1 : 0] ?? "");
          if (ev.ret !== null && path) proc.fds.set(ev.ret, path[1]);
          bump(stats.replayed, ev.name);
          break;
        }
        case "close":
          proc.fds.delete(num(ev, 0));
          bump(stats.replayed, ev.name);
          break;
        default:
          bump(stats.unknown, ev.name);
      }
    }
    // Processes the trace left running exit now.
    const left = new Set<MmRef>();
    for (const q of procs.values()) left.add(q.ref);
    for (const r of left) {
      if (r.mm && r.mm.alive) {
        const m = r.mm;
        bump(stats.other, "exited_at_end_of_trace");
        yield { op: "exit", run: () => k.exit(m) };
      }
    }
  }
}

/** Syscalls the replay acts on (a failure of one on the host is a divergence class). */
const ACTS = new Set([
  "mmap",
  "munmap",
  "mprotect",
  "pkey_mprotect",
  "mremap",
  "brk",
  "madvise",
  "process_madvise",
  "mlock",
  "mlock2",
  "munlock",
  "mlockall",
  "munlockall",
  "fork",
  "vfork",
  "clone",
  "clone3",
  "execve",
  "execveat",
]);

function opKind(
  name: string,
): "mmap" | "munmap" | "mprotect" | "mremap" | "brk" | "madvise" | "mlock" {
  switch (name) {
    case "munmap":
    case "mprotect":
    case "mremap":
    case "brk":
    case "madvise":
    case "mlock":
      return name;
    case "process_madvise":
      return "madvise";
    case "mlock2":
    case "munlock":
    case "mlockall":
    case "munlockall":
      return "mlock";
    default:
      return "mmap";
  }
}

/** Traces with fewer events plus page faults than this replay {@link AUTO_SMALL} times by default. */
const AUTO_SMALL_EVENTS = 2000;
/** Default copies and repeats of a small trace (the values before 0 = auto existed). */
const AUTO_SMALL = { copies: 4, repeat: 10 };

const STATS = new WeakMap<WorkloadEnv, ReplayStats>();
const INFO = new WeakMap<
  WorkloadEnv,
  { name: string; description: string | null; trace: LoadedTrace; opts: ReplayOptions }
>();

function table(
  title: string,
  r: Record<string, number>,
): { title: string; columns: string[]; rows: (string | number)[][] } {
  return {
    title,
    columns: ["name", "count"],
    rows: Object.entries(r).sort((a, b) => a[0] < b[0] ? -1 : 1).map(([n, c]) => [n, c]),
  };
}

function paramSpecs(): ParamSpec[] {
  return [
    {
      name: "trace",
      kind: "enum",
      default: "fork_demo",
      choices: traceNames(),
      unit: "name",
      description: `Registered trace to replay: ${
        TRACE_LIBRARY.map((t) => `${t.name} (${Math.round(gzipSize(t.gzipBase64) / 1000)} KB gzip)`)
          .join(", ")
      } (real programs, workloads/traces/library.ts), fork_demo (tools/record_trace.sh), or one given with --trace.`,
      source: "assumption: the shipped trace of a real program that forks",
    },
    {
      name: "copies",
      kind: "int",
      default: 0,
      min: 0,
      max: 256,
      unit: "replays",
      description:
        `Concurrent replays of the trace, each with processes of its own; 0 = auto: ${AUTO_SMALL.copies} for a trace of under ${AUTO_SMALL_EVENTS} events and page faults (fork_demo), else 1.`,
      source: "assumption: sized for a 1-3 s run of fork_demo and one replay of a real program",
    },
    {
      name: "repeat",
      kind: "int",
      default: 0,
      min: 0,
      max: 100000,
      unit: "replays",
      description:
        `Sequential replays of the trace within each copy; 0 = auto: ${AUTO_SMALL.repeat} for a trace of under ${AUTO_SMALL_EVENTS} events and page faults (fork_demo), else 1.`,
      source: "assumption: sized for a 1-3 s run of fork_demo and one replay of a real program",
    },
    {
      name: "faults",
      kind: "enum",
      default: "perf",
      choices: ["perf", "none"],
      unit: "mode",
      description: "Replay the trace's perf page-fault samples (merged by timestamp) or not.",
      source: "assumption: perf samples are the only record of real faults",
    },
    {
      name: "touch",
      kind: "enum",
      default: "none",
      choices: ["none", "first-page", "all-writable"],
      unit: "mode",
      description:
        "Synthetic touches after each new mapping: none, its first page, or a fraction of writable pages.",
      source: "assumption: strace shows no faults",
    },
    {
      name: "touchFraction",
      kind: "float",
      default: 0.5,
      min: 0,
      max: 1,
      unit: "fraction",
      description:
        "With touch=all-writable, the fraction of pages of each writable mapping written.",
      source: "assumption",
    },
    {
      name: "relocate",
      kind: "bool",
      default: false,
      unit: "flag",
      description: "Add MREMAP_RELOCATE_ANON to every traced mremap move.",
      source: "reference §10.2",
    },
    {
      name: "gapNs",
      kind: "int",
      default: 2000,
      min: 0,
      max: 1e9,
      unit: "ns",
      description: "Simulated time between two replayed events of one copy.",
      source: "assumption: strace timestamps are inflated by ptrace stops",
    },
  ];
}

/**
 * The trace-replay workload.
 *
 * @example Usage
 * ```ts ignore
 * import { runOne } from "../runner/recorder.ts";
 * const r = runOne({ scheme: "anon_vma", workload: "trace-replay", params: { repeat: 1 } });
 * console.log(r.counters.forks);
 * ```
 */
export const TRACE_REPLAY: Workload = {
  id: "trace-replay",
  title: "strace replay",
  description:
    "Replays an strace -f log (mmap, munmap, mprotect, mremap, brk, madvise, process_madvise, " +
    "mlock/mlock2/munlock, " +
    "mlockall/munlockall, clone/clone3/fork/vfork, " +
    "execve, exit_group) at the addresses the trace reports, with threads and vfork children " +
    "sharing their parent's mm, the recorded post-exec layout of every exec'd process and the " +
    "perf page-fault samples of the same run. Ships fork_demo and real programs recorded on " +
    "Linux 6.18 with deno task record (Chromium, a Python fork pool, Redis BGSAVE, make -j2).",
  get params(): readonly ParamSpec[] {
    return paramSpecs();
  },
  setup(env: WorkloadEnv): void {
    const p = env.params;
    const { trace, description } = loadTrace(String(p.trace));
    const opts: ReplayOptions = {
      touch: String(p.touch) as TouchMode,
      touchFraction: Number(p.touchFraction),
      usePerf: p.faults === "perf",
      relocate: Boolean(p.relocate),
      gapNs: Number(p.gapNs),
    };
    const items = buildItems(trace, opts.usePerf);
    const layoutOf = matchLayouts(trace.events, trace.layouts);
    const stats = newStats();
    STATS.set(env, stats);
    INFO.set(env, { name: String(p.trace), description, trace, opts });
    const small = trace.events.length + trace.faults.length < AUTO_SMALL_EVENTS;
    const copies = Number(p.copies) || (small ? AUTO_SMALL.copies : 1);
    const repeat = Number(p.repeat) || (small ? AUTO_SMALL.repeat : 1);
    for (let c = 0; c < copies; c++) {
      env.addTask(
        `replay-${c}`,
        "user",
        replayScript(env, items, layoutOf, repeat, opts, stats, c),
      );
    }
  },
  finish(env: WorkloadEnv): void {
    const s = STATS.get(env);
    const info = INFO.get(env);
    if (!s || !info) return;
    const fmt = (r: Record<string, number>): string =>
      Object.entries(r).sort((a, b) => a[0] < b[0] ? -1 : 1).map(([n, c]) => `${n} ${c}`).join(
        ", ",
      ) ||
      "none";
    const h = info.trace.header;
    env.note(`Trace ${info.name}${info.description ? `: ${info.description}` : ""}`);
    if (h) {
      env.note(
        `Recorded on Linux ${h.kernel} ${h.machine}, ${h.date}, by ${h.recorder}: ${h.command}`,
      );
    }
    const { touch, usePerf } = info.opts;
    if (touch === "none" && (!usePerf || info.trace.faults.length === 0)) {
      env.note(
        usePerf
          ? "No page-fault data: this trace has no perf samples, so the replay touches no memory " +
            "and the anon_vma figures count only what its calls fault in themselves (MAP_POPULATE, " +
            "MAP_LOCKED, mlock, mlockall); record with perf (deno task record) or pass " +
            "--param touch=first-page or touch=all-writable"
          : "Page faults are off (faults=none, touch=none): the replay touches no memory and the " +
            "anon_vma figures count only what its calls fault in themselves (MAP_POPULATE, " +
            "MAP_LOCKED, mlock, mlockall); pass --param faults=perf or touch=all-writable",
      );
    }
    env.note(`Replays: ${s.replays} (copies x repeat); counts below are over all of them`);
    env.note(`Replayed calls: ${fmt(s.replayed)}`);
    env.note(`Calls without a memory effect (recognised, skipped): ${fmt(s.noMemoryEffect)}`);
    env.note(`Unknown syscalls (counted and skipped): ${fmt(s.unknown)}`);
    env.note(`Calls that failed in the trace (skipped): ${fmt(s.failedInTrace)}`);
    env.note(
      `Calls that diverged (succeeded in the trace, failed in the replay): ${fmt(s.divergent)}`,
    );
    for (const [c, label] of Object.entries(DIVERGENCE_CLASSES) as [DivergenceClass, string][]) {
      const d = s.classes[c];
      env.note(`Fidelity, ${label}: ${d.count}${d.example ? ` (e.g. ${d.example})` : ""}`);
    }
    env.note(`mmap flags and keys replayed without their effect: ${fmt(s.ignoredFlags)}`);
    env.note(`Other: ${fmt(s.other)}`);
    env.table({
      title: "Trace replay: fidelity",
      columns: ["class", "calls", "example"],
      rows: (Object.entries(DIVERGENCE_CLASSES) as [DivergenceClass, string][]).map((
        [c, label],
      ) => [label, s.classes[c].count, s.classes[c].example || "-"]),
    });
    env.table({
      title: "Trace replay: process tree",
      columns: ["pid", "parent", "created by", "threads", "programs exec'd", "exec layouts"],
      rows: s.tree.map((n) => [
        n.pid,
        n.parent === null ? "-" : n.parent,
        n.via,
        n.threads,
        n.programs.join(" -> ") || "-",
        n.layouts + n.noLayout === 0 ? "-" : `${n.layouts}/${n.layouts + n.noLayout}`,
      ]),
    });
    env.table(table("Trace replay: unknown syscalls", s.unknown));
    env.table(table("Trace replay: divergent calls", s.divergent));
  },
};
