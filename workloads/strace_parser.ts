/**
 * Parsers for the inputs of the trace-replay workload: `strace -f` logs (with or without `-t`,
 * `-tt`, `-ttt` timestamps and `-T` durations) and `perf script` page-fault samples.
 *
 * A call split by another task's output (`NAME(args <unfinished ...>` … `<... NAME resumed>rest`)
 * is joined into one call placed where it started: the kernel acts between entry and exit, and a
 * `clone` must be known before the child's first line. Signal lines (`--- SIG… ---`) are skipped;
 * `+++ exited with N +++` / `+++ killed by … +++` become exit events. `L +++ superseded by execve
 * in pid T +++` (thread T of leader L exec'd and took L's pid) moves T's unfinished execve to L
 * and ends T. A line that fits none of the
 * forms is an error naming its line number (`Trace line 17: …`).
 *
 * This module is browser compatible; it imports only the uAPI constants of the kernel core.
 *
 * @module
 */

import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_GROWSDOWN,
  MAP_LOCKED,
  MAP_NONBLOCK,
  MAP_NORESERVE,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  MAP_STACK,
  MCL_CURRENT,
  MCL_FUTURE,
  MCL_ONFAULT,
  MLOCK_ONFAULT,
  MREMAP_DONTUNMAP,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  PROT_EXEC,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
} from "../core/kernel/types.ts";

/** One system call of the trace (complete, or joined from unfinished + resumed). */
export interface TraceCall {
  /** Discriminator. */
  readonly type: "call";
  /** 1-based line number where the call started. */
  readonly line: number;
  /** Task id (strace prints the thread id). */
  readonly pid: number;
  /** Timestamp in seconds (`-t`/`-tt`: seconds of the day; `-ttt`: epoch), or null. */
  readonly time: number | null;
  /** System call name, e.g. `"mmap"`. */
  readonly name: string;
  /** Top-level arguments as text, trimmed. */
  readonly args: string[];
  /** Return value; null for `?` (no return, e.g. `exit_group`) or a call never resumed. */
  readonly ret: number | null;
  /** Errno name when the call failed (`= -1 ENOMEM (...)`), else null. */
  readonly errno: string | null;
}

/** A task ended (`+++ exited with N +++` or `+++ killed by SIG… +++`). */
export interface TraceExit {
  /** Discriminator. */
  readonly type: "exit";
  /** 1-based line number. */
  readonly line: number;
  /** Task id. */
  readonly pid: number;
  /** Timestamp in seconds, or null. */
  readonly time: number | null;
  /** Exit status, or null when killed by a signal. */
  readonly status: number | null;
}

/** One event of a parsed trace. */
export type TraceEvent = TraceCall | TraceExit;

/** A parsed strace log. */
export interface ParsedTrace {
  /** Events in the order the calls started. */
  readonly events: TraceEvent[];
  /** Signal-delivery lines skipped. */
  readonly signalLines: number;
  /** Calls left `<unfinished ...>` without a resumed line (kept with `ret` null). */
  readonly neverResumed: number;
}

/** A page-fault sample of `perf script`. */
export interface PerfFault {
  /** 1-based line number in the perf text. */
  readonly line: number;
  /** Process id. */
  readonly pid: number;
  /** Thread id (equal to `pid` when the text has no tid). */
  readonly tid: number;
  /** Timestamp in seconds. */
  readonly time: number;
  /** Faulting address. */
  readonly addr: number;
}

/** Error for a trace that cannot be parsed; the message names the line. */
export class TraceParseError extends SyntaxError {
  /** 1-based line number. */
  readonly line: number;
  /** Creates the error. */
  constructor(line: number, detail: string, what = "Trace") {
    super(`${what} line ${line}: ${detail}`);
    this.name = "TraceParseError";
    this.line = line;
  }
}

const PREFIX = /^(?:\[pid\s+(\d+)\]|(\d+))\s+(?:(\d+\.\d+|\d+:\d\d:\d\d(?:\.\d+)?)\s+)?(.*)$/;
const COMPLETE = /^([a-z_][a-z0-9_]*)\((.*)\)\s+=\s+(.*)$/;
const UNFINISHED = /^([a-z_][a-z0-9_]*)\((.*?)\s*<unfinished \.\.\.>$/;
const RESUMED = /^<\.\.\. ([a-z_][a-z0-9_]*) resumed>(.*)$/;
const EXITED =
  /^\+\+\+ (?:exited with (-?\d+)|killed by SIG[A-Z0-9]+(?: \(core dumped\))?) \+\+\+$/;
const SUPERSEDED = /^\+\+\+ superseded by execve in pid (\d+) \+\+\+$/;
const RESULT = /^(\?|-?\d+|0x[0-9a-fA-F]+)(?:\s+(E[A-Z0-9]+)(?:\s+\(.*\))?)?(?:\s+.*)?$/;

function parseTime(s: string | undefined): number | null {
  if (s === undefined) return null;
  if (!s.includes(":")) return Number(s);
  const [h, m, sec] = s.split(":");
  return Number(h) * 3600 + Number(m) * 60 + Number(sec);
}

/**
 * Splits an argument list at its top-level commas (commas inside `()`, `[]`, `{}` or strings do
 * not split).
 *
 * @example Usage
 * ```ts
 * import { splitArgs } from "./strace_parser.ts";
 * const a = splitArgs('{flags=CLONE_VM, stack=0x1}, 88');
 * if (a.length !== 2 || a[1] !== "88") throw new Error();
 * ```
 */
export function splitArgs(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let inString = false;
  let cur = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      cur += c;
      if (c === "\\") {
        cur += text[++i] ?? "";
      } else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === "(" || c === "[" || c === "{") depth++;
    else if (c === ")" || c === "]" || c === "}") depth--;
    else if (c === "," && depth === 0) {
      out.push(cur.trim());
      cur = "";
      continue;
    }
    cur += c;
  }
  if (cur.trim() !== "" || out.length > 0) out.push(cur.trim());
  return out;
}

/**
 * Parses a numeric argument as strace prints it: `NULL`, decimal, `0x` hex, or octal with a
 * leading zero. Returns NaN for anything else.
 *
 * @example Usage
 * ```ts
 * import { parseNumber } from "./strace_parser.ts";
 * if (parseNumber("0x1000") !== 4096 || parseNumber("NULL") !== 0) throw new Error();
 * ```
 */
export function parseNumber(text: string): number {
  const s = text.trim();
  if (s === "NULL") return 0;
  if (/^-?0x[0-9a-fA-F]+$/.test(s)) {
    return s.startsWith("-") ? -parseInt(s.slice(3), 16) : parseInt(s.slice(2), 16);
  }
  if (/^0[0-7]+$/.test(s)) return parseInt(s, 8);
  if (/^-?\d+$/.test(s)) return Number(s);
  return NaN;
}

/** Flag names of the uAPI that the replay understands (uapi/asm-generic/mman-common.h etc.). */
export const FLAG_VALUES: Readonly<Record<string, number>> = {
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  PROT_EXEC,
  MAP_SHARED,
  MAP_PRIVATE,
  MAP_SHARED_VALIDATE: 0x03,
  MAP_FIXED,
  MAP_ANONYMOUS,
  MAP_GROWSDOWN,
  MAP_STACK,
  MAP_NORESERVE,
  MAP_POPULATE,
  MAP_NONBLOCK,
  MAP_FIXED_NOREPLACE,
  MAP_LOCKED,
  MREMAP_MAYMOVE,
  MREMAP_FIXED,
  MREMAP_DONTUNMAP,
  MLOCK_ONFAULT,
  MCL_CURRENT,
  MCL_FUTURE,
  MCL_ONFAULT,
  CLONE_VM: 0x100,
  CLONE_FS: 0x200,
  CLONE_FILES: 0x400,
  CLONE_SIGHAND: 0x800,
  CLONE_VFORK: 0x4000,
  CLONE_THREAD: 0x10000,
};

/**
 * Parses a flag expression such as `PROT_READ|PROT_WRITE` or `MAP_PRIVATE|0x40000`. Names not in
 * {@link FLAG_VALUES} (e.g. `MAP_DENYWRITE`, `SIGCHLD`) contribute nothing and are listed in
 * `unknown`.
 *
 * @example Usage
 * ```ts
 * import { parseFlags } from "./strace_parser.ts";
 * const f = parseFlags("MAP_PRIVATE|MAP_ANONYMOUS|MAP_DENYWRITE");
 * if (f.value !== 0x22 || f.unknown[0] !== "MAP_DENYWRITE") throw new Error();
 * ```
 */
export function parseFlags(expr: string): { value: number; unknown: string[] } {
  let value = 0;
  const unknown: string[] = [];
  for (const part of expr.trim().split("|")) {
    const p = part.trim();
    if (p === "") continue;
    const n = parseNumber(p);
    if (!Number.isNaN(n)) value |= n;
    else if (p in FLAG_VALUES) value |= FLAG_VALUES[p];
    else unknown.push(p);
  }
  return { value, unknown };
}

interface Pending {
  index: number;
  line: number;
  pid: number;
  time: number | null;
  name: string;
  argsText: string;
}

function makeCall(
  line: number,
  pid: number,
  time: number | null,
  name: string,
  argsText: string,
  resultText: string,
): TraceCall {
  const m = RESULT.exec(resultText.trim());
  if (!m) throw new TraceParseError(line, `cannot parse the result "${resultText.trim()}"`);
  const ret = m[1] === "?" ? null : parseNumber(m[1]);
  return {
    type: "call",
    line,
    pid,
    time,
    name,
    args: splitArgs(argsText),
    ret,
    errno: m[2] ?? null,
  };
}

/**
 * Parses an `strace -f` log.
 *
 * @example Usage
 * ```ts
 * import { parseStrace } from "./strace_parser.ts";
 * const t = parseStrace(
 *   "7 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000\n",
 * );
 * const e = t.events[0];
 * if (e.type !== "call" || e.ret !== 0x7f0000000000) throw new Error();
 * ```
 */
export function parseStrace(text: string): ParsedTrace {
  const events: (TraceEvent | null)[] = [];
  const pending = new Map<number, Pending>();
  let signalLines = 0;
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = lines[i].replace(/\r$/, "");
    if (raw.trim() === "") continue;
    const pm = PREFIX.exec(raw.trim());
    if (!pm) throw new TraceParseError(lineNo, `expected "PID syscall(...)", got "${raw.trim()}"`);
    const pid = Number(pm[1] ?? pm[2]);
    const time = parseTime(pm[3]);
    const rest = pm[4].trim();
    if (rest.startsWith("--- ") && rest.endsWith(" ---")) {
      signalLines++;
      continue;
    }
    const ex = EXITED.exec(rest);
    if (ex) {
      events.push({
        type: "exit",
        line: lineNo,
        pid,
        time,
        status: ex[1] === undefined ? null : Number(ex[1]),
      });
      continue;
    }
    const sup = SUPERSEDED.exec(rest);
    if (sup) {
      // A non-leader thread (old tid) exec'd: de_thread gave it the leader's pid, so its
      // pending execve resumes under `pid`. The leader's own unfinished call never returns.
      const old = Number(sup[1]);
      const mine = pending.get(pid);
      if (mine) {
        pending.delete(pid);
        events[mine.index] = makeCall(mine.line, pid, mine.time, mine.name, mine.argsText, "?");
      }
      const moved = pending.get(old);
      if (moved) {
        pending.delete(old);
        pending.set(pid, { ...moved, pid });
      }
      events.push({ type: "exit", line: lineNo, pid: old, time, status: null });
      continue;
    }
    const rs = RESUMED.exec(rest);
    if (rs) {
      const p = pending.get(pid);
      if (!p) {
        throw new TraceParseError(
          lineNo,
          `"<... ${rs[1]} resumed>" without an unfinished call of task ${pid}`,
        );
      }
      if (p.name !== rs[1]) {
        throw new TraceParseError(
          lineNo,
          `"<... ${rs[1]} resumed>" but task ${pid} left ${p.name} unfinished`,
        );
      }
      pending.delete(pid);
      const cm = /^(.*)\)\s+=\s+(.*)$/.exec(rs[2]);
      if (!cm) throw new TraceParseError(lineNo, `cannot parse the resumed call "${rest}"`);
      const sep = p.argsText !== "" && cm[1].trim() !== "" && !p.argsText.trimEnd().endsWith(",")
        ? ", "
        : " ";
      events[p.index] = makeCall(p.line, pid, p.time, p.name, p.argsText + sep + cm[1], cm[2]);
      continue;
    }
    const un = UNFINISHED.exec(rest);
    if (un) {
      if (pending.has(pid)) {
        throw new TraceParseError(
          lineNo,
          `task ${pid} starts ${un[1]} while ${pending.get(pid)!.name} is unfinished`,
        );
      }
      pending.set(pid, {
        index: events.length,
        line: lineNo,
        pid,
        time,
        name: un[1],
        argsText: un[2],
      });
      events.push(null);
      continue;
    }
    const cm = COMPLETE.exec(rest);
    if (cm) {
      events.push(makeCall(lineNo, pid, time, cm[1], cm[2], cm[3]));
      continue;
    }
    throw new TraceParseError(lineNo, `cannot parse "${rest}"`);
  }
  // Calls never resumed (e.g. a trace cut short, or exit_group followed by "+++ exited"): kept
  // without a result.
  for (const p of pending.values()) {
    events[p.index] = {
      type: "call",
      line: p.line,
      pid: p.pid,
      time: p.time,
      name: p.name,
      args: splitArgs(p.argsText),
      ret: null,
      errno: null,
    };
  }
  return { events: events as TraceEvent[], signalLines, neverResumed: pending.size };
}

const PERF_LINE =
  /^\s*(.+?)\s+(\d+)(?:\/(\d+))?\s+(?:\[\d+\]\s+)?(\d+\.\d+):\s+(?:\d+\s+)?(\S+?):\s+([0-9a-fA-F]+)\b/;

/**
 * Parses the page-fault samples of `perf script` output (`perf record -e page-faults -d`; the
 * fields comm, pid[/tid], [cpu], time, [period], event and addr, as printed by
 * `perf script -F comm,pid,tid,time,event,addr` or the default field set). Samples of other
 * events are skipped; a non-empty line that is not a sample is an error naming its line.
 *
 * @example Usage
 * ```ts
 * import { parsePerfFaults } from "./strace_parser.ts";
 * const f = parsePerfFaults("prog 12/13 100.5: page-faults:  7f0000001234\n");
 * if (f[0].tid !== 13 || f[0].addr !== 0x7f0000001234) throw new Error();
 * ```
 */
export function parsePerfFaults(text: string): PerfFault[] {
  const out: PerfFault[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].replace(/\r$/, "");
    if (raw.trim() === "" || raw.trimStart().startsWith("#")) continue;
    const m = PERF_LINE.exec(raw);
    if (!m) {
      throw new TraceParseError(i + 1, `cannot parse the perf sample "${raw.trim()}"`, "Perf");
    }
    if (!/fault/.test(m[5])) continue;
    const pid = Number(m[2]);
    out.push({
      line: i + 1,
      pid,
      tid: m[3] === undefined ? pid : Number(m[3]),
      time: Number(m[4]),
      addr: parseInt(m[6], 16),
    });
  }
  return out;
}
