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
 * - **Mappings the kernel made** (the ELF image, ld.so, the stack, the vDSO) are not in a trace;
 *   calls on them (e.g. RELRO `mprotect`) fail in the replay and are counted as divergent.
 * - **Files**: `openat`/`close` lines (record with `-e trace=memory,process,openat,close`) name
 *   the file behind an fd; mappings of the same path share one simulated file. Without them, an fd
 *   stands for a file of its own.
 * - **Failed calls** (`= -1 ENOMEM (...)`) are skipped. Calls the replay does not model (wait4,
 *   signals, …) are counted by name and skipped.
 * - **Page touches**: strace shows no faults. With `faults=perf` the perf samples are merged by
 *   timestamp (both recorded on CLOCK_REALTIME, see tools/record_trace.sh) and each becomes a
 *   write if its VMA is writable, else a read (perf does not say which — assumption). The
 *   `touch` parameter adds synthetic touches after each mapping.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import { SyscallError } from "../core/kernel/types.ts";
import type { Mm, SimFile } from "../core/kernel/types.ts";
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

const PAGE = 4096;
const MAP_SHARED = 0x01;
const MAP_PRIVATE = 0x02;
const MAP_FIXED = 0x10;
const MAP_ANONYMOUS = 0x20;
const MAP_GROWSDOWN = 0x100;
const PROT_READ = 1;
const PROT_WRITE = 2;
const PROT_EXEC = 4;
const MREMAP_MAYMOVE = 1;
const MREMAP_FIXED = 2;
const MREMAP_DONTUNMAP = 4;
const MREMAP_RELOCATE_ANON = 8;
const CLONE_VM = FLAG_VALUES.CLONE_VM;
const CLONE_VFORK = FLAG_VALUES.CLONE_VFORK;
const CLONE_THREAD = FLAG_VALUES.CLONE_THREAD;
/** madvise advice the simulator models (uapi values). */
const MADVICE: Readonly<Record<string, number>> = {
  MADV_DONTNEED: 4,
  MADV_DONTFORK: 10,
  MADV_DOFORK: 11,
  MADV_WIPEONFORK: 18,
  MADV_KEEPONFORK: 19,
};
/** Size given to simulated files: large enough for any traced offset (files are never truncated). */
const FILE_PAGES = 1 << 28;

/** A named trace: strace text and optional perf page-fault text. */
export interface NamedTrace {
  /** The `strace -f` log. */
  readonly strace: string;
  /** `perf script` page-fault samples of the same run ("" when none). */
  readonly perf: string;
}

const TRACES = new Map<string, NamedTrace>([
  ["fork_demo", { strace: FORK_DEMO_STRACE, perf: FORK_DEMO_PERF }],
]);

/**
 * Registers (or replaces) a trace under `name` so that `--param trace=<name>` can replay it; the
 * CLI calls it with a file's text. The texts are parsed at once, so a malformed trace fails here
 * with its line number.
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
  parseStrace(strace);
  parsePerfFaults(perf);
  TRACES.set(name, { strace, perf });
}

/**
 * Names of the registered traces (the shipped `fork_demo` first).
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

/** Replay statistics, by category and name. */
export interface ReplayStats {
  /** Calls replayed, by syscall name. */
  replayed: Record<string, number>;
  /** Calls not modelled (counted and skipped), by syscall name. */
  unknown: Record<string, number>;
  /** Calls that failed in the trace (skipped), by syscall name. */
  failedInTrace: Record<string, number>;
  /** Calls that succeeded in the trace but failed in the simulator, by syscall name. */
  divergent: Record<string, number>;
  /** Other counts (touches, faults applied, forks, threads, ...). */
  other: Record<string, number>;
}

function bump(r: Record<string, number>, k: string, n = 1): void {
  r[k] = (r[k] ?? 0) + n;
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
 * Builds the items of one replay: parses the texts and merges faults when asked. Throws when
 * perf faults are to be used but the strace events carry no timestamps.
 */
function buildItems(trace: NamedTrace, usePerf: boolean): Item[] {
  const parsed = parseStrace(trace.strace);
  const faults = usePerf ? parsePerfFaults(trace.perf) : [];
  if (faults.length > 0 && parsed.events.some((e) => e.time === null)) {
    throw new RangeError(
      "Perf page faults need strace timestamps on the same clock (strace -ttt, perf record -k CLOCK_REALTIME)",
    );
  }
  return mergeByTime(parsed.events, faults);
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

/** Replays one copy of a trace, as one task script (trace order is kept exactly). */
function* replayScript(
  env: WorkloadEnv,
  items: Item[],
  repeat: number,
  opts: ReplayOptions,
  stats: ReplayStats,
  copy: number,
): TaskScript {
  const k: Kernel = env.kernel;
  const rng = env.rng.fork(`trace-replay:${copy}`);
  for (let iter = 0; iter < repeat; iter++) {
    const procs = new Map<number, Proc>();
    const files = new Map<string, SimFile>();
    const fileOf = (p: Proc, fd: number): SimFile => {
      const path = p.fds.get(fd) ?? `fd${fd}@${p.tgid}`;
      let f = files.get(path);
      if (!f) {
        f = k.createFile(path, FILE_PAGES);
        files.set(path, f);
      }
      return f;
    };
    /** A simulated call; a SyscallError where the trace succeeded counts as divergent. */
    const call = (name: string, fn: () => void): Step => ({
      op: opKind(name),
      run: () => {
        try {
          fn();
          bump(stats.replayed, name);
        } catch (e) {
          if (!(e instanceof SyscallError)) throw e;
          bump(stats.divergent, name);
        }
      },
    });
    const leave = (p: Proc): Step | null => {
      procs.delete(p.pid);
      p.ref.users.delete(p.pid);
      if (p.ref.users.size > 0 || !p.ref.mm.alive) return null;
      const mm = p.ref.mm;
      return { op: "exit", run: () => k.exit(mm) };
    };
    /** Touches after a new mapping (the `touch` parameter). */
    const touches = (mm: Mm, addr: number, len: number, prot: number): Step[] => {
      if (opts.touch === "none" || prot === 0) return [];
      const pages = Math.ceil(len / PAGE);
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
          for (const i of chosen) k.touch(mm, addr + i * PAGE, "write");
          bump(stats.other, "touches", chosen.length);
        },
      }];
    };
    const procOf = (pid: number): Proc => {
      let p = procs.get(pid);
      if (!p) {
        const ref: MmRef = { mm: null as unknown as Mm, users: new Set([pid]) };
        p = { pid, tgid: pid, ref, brk: null, fds: new Map() };
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
          const s = leave(p);
          if (s) yield s;
        }
        continue;
      }
      // A pid seen for the first time without a clone: a process of its own.
      let p = procs.get(ev.pid);
      if (!p) {
        p = procOf(ev.pid);
        const ref = p.ref;
        yield { op: "execve", run: () => ref.mm = k.spawn() };
        if (ev.name !== "execve") bump(stats.other, "processes_started_mid_trace");
      }
      const proc = p;
      const ref = proc.ref;
      const mm = ref.mm;
      if (ev.errno !== null) {
        bump(stats.failedInTrace, ev.name);
        continue;
      }
      switch (ev.name) {
        case "mmap": {
          if (ev.ret === null) {
            bump(stats.divergent, "mmap");
            break;
          }
          const len = num(ev, 1);
          const prot = flags(ev, 2) & (PROT_READ | PROT_WRITE | PROT_EXEC);
          const fl = flags(ev, 3);
          const fd = num(ev, 4);
          const off = num(ev, 5);
          const shared = (fl & 0x3) !== MAP_PRIVATE;
          const anon = (fl & MAP_ANONYMOUS) !== 0;
          const mflags = (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_FIXED |
            (anon ? MAP_ANONYMOUS : 0) | (fl & MAP_GROWSDOWN);
          const file = anon ? null : fileOf(proc, fd);
          const addr = ev.ret;
          let ok = false;
          yield call("mmap", () => {
            k.mmap(mm, addr, len, prot, mflags, file, anon ? 0 : off);
            ok = true;
          });
          if (ok) yield* touches(mm, addr, len, prot);
          break;
        }
        case "munmap":
          yield call("munmap", () => k.munmap(mm, num(ev, 0), num(ev, 1)));
          break;
        case "mprotect": {
          const prot = flags(ev, 2) & (PROT_READ | PROT_WRITE | PROT_EXEC);
          yield call("mprotect", () => k.mprotect(mm, num(ev, 0), num(ev, 1), prot));
          break;
        }
        case "madvise": {
          const name = ev.args[2] ?? "";
          const advice = MADVICE[name];
          if (advice === undefined) {
            bump(stats.other, `madvise_ignored_${name}`);
            break;
          }
          yield call("madvise", () => k.madvise(mm, num(ev, 0), num(ev, 1), advice));
          break;
        }
        case "mremap": {
          if (ev.ret === null) {
            bump(stats.divergent, "mremap");
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
          yield call("mremap", () => {
            k.mremap(mm, old, oldLen, newLen, rflags, moved ? to : 0);
            ok = true;
          });
          if (ok && newLen > oldLen) {
            yield* touches(
              mm,
              to + pageUp(oldLen),
              newLen - pageUp(oldLen),
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
          const a = pageUp(cur), b = pageUp(next);
          if (b > a) {
            let ok = false;
            yield call("brk", () => {
              k.mmap(mm, a, b - a, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
              ok = true;
            });
            if (ok) yield* touches(mm, a, b - a, PROT_READ | PROT_WRITE);
          } else if (b < a) {
            yield call("brk", () => k.munmap(mm, b, a - b));
          } else bump(stats.replayed, "brk");
          break;
        }
        case "fork":
        case "vfork":
        case "clone":
        case "clone3": {
          if (ev.ret === null || ev.ret <= 0) {
            bump(stats.divergent, ev.name);
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
            });
            bump(stats.replayed, ev.name);
            bump(stats.other, thread ? "threads" : "vfork_children");
            break;
          }
          const child: Proc = {
            pid: childPid,
            tgid: childPid,
            ref: { mm: null as unknown as Mm, users: new Set([childPid]) },
            brk: proc.brk,
            fds: new Map(proc.fds),
          };
          procs.set(childPid, child);
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
            bump(stats.divergent, ev.name);
            break;
          }
          proc.brk = null;
          proc.fds = new Map();
          if (ref.users.size === 1) {
            yield { op: "execve", run: () => ref.mm = k.execve(mm) };
          } else {
            // A vfork child or one thread of many: it leaves the shared mm for a new one.
            ref.users.delete(proc.pid);
            const nref: MmRef = { mm: null as unknown as Mm, users: new Set([proc.pid]) };
            proc.ref = nref;
            proc.tgid = proc.pid;
            yield { op: "execve", run: () => nref.mm = k.spawn() };
            yield { op: "execve", run: () => nref.mm = k.execve(nref.mm) };
          }
          bump(stats.replayed, ev.name);
          break;
        }
        case "exit_group": {
          for (const q of [...procs.values()]) {
            if (q.tgid === proc.tgid && q.ref === ref) {
              const s = leave(q);
              if (s) yield s;
            }
          }
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

function pageUp(x: number): number {
  return Math.ceil(x / PAGE) * PAGE;
}

function opKind(name: string): "mmap" | "munmap" | "mprotect" | "mremap" | "brk" | "madvise" {
  switch (name) {
    case "munmap":
    case "mprotect":
    case "mremap":
    case "brk":
    case "madvise":
      return name;
    default:
      return "mmap";
  }
}

const STATS = new WeakMap<WorkloadEnv, ReplayStats>();

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
      description: "Registered trace to replay (fork_demo is recorded by tools/record_trace.sh).",
      source: "assumption: the shipped trace of a real program that forks",
    },
    {
      name: "copies",
      kind: "int",
      default: 4,
      min: 1,
      max: 256,
      unit: "replays",
      description: "Concurrent replays of the trace, each with processes of its own.",
      source: "assumption: sized for a 1-3 s default run",
    },
    {
      name: "repeat",
      kind: "int",
      default: 10,
      min: 1,
      max: 100000,
      unit: "replays",
      description: "Sequential replays of the trace within each copy.",
      source: "assumption: sized for a 1-3 s default run",
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
    "Replays an strace -f log (mmap, munmap, mprotect, mremap, brk, madvise, clone/clone3/fork/vfork, " +
    "execve, exit_group) at the addresses the trace reports, with threads and vfork children " +
    "sharing their parent's mm, and optionally the perf page-fault samples of the same run. The " +
    "shipped trace is a real program recorded on a Linux 6.18 machine (tools/record_trace.sh).",
  get params(): readonly ParamSpec[] {
    return paramSpecs();
  },
  setup(env: WorkloadEnv): void {
    const p = env.params;
    const trace = TRACES.get(String(p.trace));
    if (!trace) {
      throw new RangeError(`Unknown trace "${p.trace}"; valid: ${traceNames().join(", ")}`);
    }
    const opts: ReplayOptions = {
      touch: String(p.touch) as TouchMode,
      touchFraction: Number(p.touchFraction),
      usePerf: p.faults === "perf",
      relocate: Boolean(p.relocate),
      gapNs: Number(p.gapNs),
    };
    const items = buildItems(trace, opts.usePerf);
    const stats: ReplayStats = {
      replayed: {},
      unknown: {},
      failedInTrace: {},
      divergent: {},
      other: {},
    };
    STATS.set(env, stats);
    for (let c = 0; c < Number(p.copies); c++) {
      env.addTask(
        `replay-${c}`,
        "user",
        replayScript(env, items, Number(p.repeat), opts, stats, c),
      );
    }
  },
  finish(env: WorkloadEnv): void {
    const s = STATS.get(env);
    if (!s) return;
    const fmt = (r: Record<string, number>): string =>
      Object.entries(r).sort((a, b) => a[0] < b[0] ? -1 : 1).map(([n, c]) => `${n} ${c}`).join(
        ", ",
      ) ||
      "none";
    env.note(`Replayed calls: ${fmt(s.replayed)}`);
    env.note(`Unknown syscalls (counted and skipped): ${fmt(s.unknown)}`);
    env.note(`Calls that failed in the trace (skipped): ${fmt(s.failedInTrace)}`);
    env.note(
      `Calls that diverged (succeeded in the trace, failed in the replay): ${fmt(s.divergent)}`,
    );
    env.note(`Other: ${fmt(s.other)}`);
    env.table(table("Trace replay: unknown syscalls", s.unknown));
    env.table(table("Trace replay: divergent calls", s.divergent));
  },
};
