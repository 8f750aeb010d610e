/**
 * The recorded trace file of `deno task record` (tools/record.ts): one gzip-compressed text with
 * a header, the post-exec layout of every exec'd process, the `strace -f` log and the page-fault
 * samples, so that a replay starts from the address space the program really had.
 *
 * ```text
 * rmapbench-trace 1
 * kernel: 6.18.44            (uname -r of the recording machine)
 * machine: x86_64
 * command: chromium --headless ...
 * date: 2026-11-30T20:00:00Z
 * recorder: rmapbench-record 1
 * perf: page-faults samples (...): 1234        or   none: <why>
 * layout: /proc/<pid>/maps in the execve syscall-exit stop (...): 7
 * === maps <pid> <time>      one section per exec: "start-end perms offset path" lines
 * 5585d1a00000-5585d1a02000 r--p 00000000 /usr/bin/env
 * === strace                 strace -f -ttt lines
 * === perf                   "<tid> <time> <address hex>" lines, one per page fault
 * ```
 *
 * Paths outside system directories are replaced by `/sanitized/<n>/<basename>` when the file is
 * written ({@link sanitizePaths}): the same path always gets the same name, so mappings of one
 * file still share it in the replay.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import { gunzip, isGzip } from "./gzip.ts";
import { type PerfFault, TraceParseError } from "./strace_parser.ts";

/** First line of every trace file. */
export const TRACE_FILE_MAGIC = "rmapbench-trace 1";

/** Header of a trace file (every value one line of text). */
export interface TraceHeader {
  /** Kernel release of the recording machine (`uname -r`). */
  kernel: string;
  /** Machine (`uname -m`). */
  machine: string;
  /** The recorded command line (paths sanitised). */
  command: string;
  /** Recording date, ISO 8601 UTC. */
  date: string;
  /** Recorder name and version. */
  recorder: string;
  /** How page faults were recorded, or `none: <why>`. */
  perf?: string;
  /** How exec layouts were recorded. */
  layout?: string;
  /** Other header keys, kept as read. */
  [key: string]: string | undefined;
}

/** One mapping of a `/proc/<pid>/maps` snapshot. */
export interface MapsEntry {
  /** First address. */
  start: number;
  /** End address (exclusive). */
  end: number;
  /** PROT_READ | PROT_WRITE | PROT_EXEC bits. */
  prot: number;
  /** Whether the mapping is shared (`s`) rather than private (`p`). */
  shared: boolean;
  /** File offset in bytes. */
  offset: number;
  /** File path, a pseudo-path such as `[stack]`, `[vdso]`, `[heap]`, or "" (anonymous). */
  path: string;
}

/** The address space of one process right after one execve (or execveat). */
export interface ExecLayout {
  /** Task id that exec'd. */
  pid: number;
  /** When the snapshot was taken (seconds, CLOCK_REALTIME like strace -ttt). */
  time: number;
  /** The mappings, in address order. */
  entries: MapsEntry[];
}

/** A parsed trace file. */
export interface TraceFile {
  /** The header. */
  header: TraceHeader;
  /** Post-exec layouts, in the order they were taken. */
  layouts: ExecLayout[];
  /** The strace text. */
  strace: string;
  /** File line number of the line before the strace text (strace line n is file line this + n). */
  straceOffset: number;
  /** Page faults (empty when none were recorded). */
  faults: PerfFault[];
}

/** What {@link formatTraceFile} writes. */
export interface TraceFileInput {
  /** The header. */
  header: TraceHeader;
  /** Raw `/proc/<pid>/maps` texts with their pid and time. */
  layouts: { pid: number; time: number; maps: string }[];
  /** The strace text. */
  strace: string;
  /** `"<tid> <time> <addr hex>"` lines. */
  perf: string;
}

const SYSTEM_DIRS = [
  "/usr/",
  "/lib/",
  "/lib32/",
  "/lib64/",
  "/libx32/",
  "/bin/",
  "/sbin/",
  "/etc/",
  "/opt/",
  "/proc/",
  "/sys/",
  "/dev/",
  "/run/",
  "/var/lib/",
  "/var/cache/",
];

function sanitizeOne(path: string, names: Map<string, string>): string {
  if (
    !path.startsWith("/") || path === "/" ||
    SYSTEM_DIRS.some((d) => path.startsWith(d) || path + "/" === d)
  ) return path;
  if (path.startsWith("/sanitized/")) return path;
  const dir = path.slice(0, path.lastIndexOf("/") + 1);
  const base = path.slice(dir.length);
  let n = names.get(dir);
  if (n === undefined) {
    n = `/sanitized/${names.size + 1}/`;
    names.set(dir, n);
  }
  return n + base;
}

/**
 * Replaces every absolute path outside the system directories (/usr, /lib*, /bin, /sbin, /etc,
 * /opt, /proc, /sys, /dev, /run, /var/lib, /var/cache) in `text` by `/sanitized/<n>/<basename>`,
 * `n` numbering the distinct directories in `names` (shared across calls for consistency).
 *
 * @example Usage
 * ```ts
 * import { sanitizePaths } from "./trace_file.ts";
 * const names = new Map<string, string>();
 * const s = sanitizePaths('open("/home/ann/x.so") /usr/lib/y.so --dir=/tmp/k', names);
 * if (s !== 'open("/sanitized/1/x.so") /usr/lib/y.so --dir=/sanitized/2/k') throw new Error(s);
 * ```
 */
export function sanitizePaths(text: string, names: Map<string, string>): string {
  return text.replace(
    /(^|[\s"'=:,(\[])(\/(?!\*)[^\s"'=:,()\[\]]*)/g,
    (_m, pre: string, p: string) => pre + sanitizeOne(p, names),
  );
}

const MAPS_LINE =
  /^([0-9a-f]+)-([0-9a-f]+)\s+([r-])([w-])([x-])([ps])\s+([0-9a-f]+)(?:\s+[0-9a-f]+:[0-9a-f]+\s+\d+)?(?:\s+(.*))?$/;

/**
 * Writes a trace file's text (to be gzip-compressed): the maps lines lose their device and inode
 * columns, and every path outside system directories is sanitised.
 *
 * @example Usage
 * ```ts
 * import { formatTraceFile, parseTraceFile } from "./trace_file.ts";
 * const text = formatTraceFile({
 *   header: { kernel: "6.18", machine: "x86_64", command: "true", date: "2026-01-01T00:00:00Z",
 *     recorder: "test" },
 *   layouts: [{ pid: 5, time: 1.5, maps: "10000-11000 r-xp 00000000 fe:00 12 /usr/bin/true\n" }],
 *   strace: "5 1.000000 exit_group(0) = ?\n",
 *   perf: "5 1.2 10000\n",
 * });
 * if (parseTraceFile(text).layouts[0].entries[0].path !== "/usr/bin/true") throw new Error();
 * ```
 */
export function formatTraceFile(input: TraceFileInput): string {
  const names = new Map<string, string>();
  const out: string[] = [TRACE_FILE_MAGIC];
  for (const [k, v] of Object.entries(input.header)) {
    if (v === undefined) continue;
    out.push(`${k}: ${sanitizePaths(v.replace(/\n/g, " "), names)}`);
  }
  for (const l of input.layouts) {
    out.push(`=== maps ${l.pid} ${l.time.toFixed(6)}`);
    for (const line of l.maps.split("\n")) {
      const m = MAPS_LINE.exec(line.trim());
      if (!m) continue;
      const path = m[8] ? sanitizeOne(m[8].trim(), names) : "";
      out.push(`${m[1]}-${m[2]} ${m[3]}${m[4]}${m[5]}${m[6]} ${m[7]}${path ? " " + path : ""}`);
    }
  }
  out.push("=== strace");
  for (const line of input.strace.split("\n")) {
    if (line !== "") out.push(sanitizePaths(line, names));
  }
  out.push("=== perf");
  for (const line of input.perf.split("\n")) if (line !== "") out.push(line);
  return out.join("\n") + "\n";
}

/**
 * Whether `text` is a trace file (starts with {@link TRACE_FILE_MAGIC}) rather than a plain
 * strace log.
 *
 * @example Usage
 * ```ts
 * import { isTraceFileText } from "./trace_file.ts";
 * if (isTraceFileText("1 exit_group(0) = ?\n")) throw new Error();
 * ```
 */
export function isTraceFileText(text: string): boolean {
  return text.startsWith("rmapbench-trace ");
}

const REQUIRED = ["kernel", "machine", "command", "date", "recorder"];

/**
 * Parses a trace file's text; a malformed header, section or line is a {@link TraceParseError}
 * naming the line (`Trace file line 3: ...`).
 *
 * @example Usage
 * ```ts
 * import { parseTraceFile } from "./trace_file.ts";
 * const f = parseTraceFile("rmapbench-trace 1\nkernel: 6.18\nmachine: x86_64\ncommand: true\n" +
 *   "date: 2026-01-01T00:00:00Z\nrecorder: test\n=== strace\n1 exit_group(0) = ?\n=== perf\n");
 * if (f.header.kernel !== "6.18" || f.faults.length !== 0) throw new Error();
 * ```
 */
export function parseTraceFile(text: string): TraceFile {
  const lines = text.split("\n");
  const err = (i: number, detail: string): never => {
    throw new TraceParseError(i + 1, detail, "Trace file");
  };
  if (lines[0] !== TRACE_FILE_MAGIC) {
    err(0, `expected "${TRACE_FILE_MAGIC}", got "${lines[0].slice(0, 40)}"`);
  }
  const header: Record<string, string> = {};
  let i = 1;
  for (; i < lines.length && !lines[i].startsWith("=== "); i++) {
    if (lines[i] === "") continue;
    const m = /^([a-z][a-z0-9_-]*): (.*)$/.exec(lines[i]);
    if (!m) err(i, `malformed header line "${lines[i].slice(0, 60)}" (expected "key: value")`);
    header[m![1]] = m![2];
  }
  for (const k of REQUIRED) {
    if (!(k in header)) err(i, `the header has no "${k}:" line (needed: ${REQUIRED.join(", ")})`);
  }
  const layouts: ExecLayout[] = [];
  const strace: string[] = [];
  const faults: PerfFault[] = [];
  let section: "maps" | "strace" | "perf" | null = null;
  let straceLine0 = 0;
  let sawStrace = false;
  for (; i < lines.length; i++) {
    const line = lines[i];
    if (line.startsWith("=== ")) {
      const maps = /^=== maps (\d+) (\d+(?:\.\d+)?)$/.exec(line);
      if (maps) {
        if (sawStrace) err(i, "a maps section after the strace section");
        section = "maps";
        layouts.push({ pid: Number(maps[1]), time: Number(maps[2]), entries: [] });
      } else if (line === "=== strace") {
        section = "strace";
        sawStrace = true;
        straceLine0 = i + 1;
      } else if (line === "=== perf") section = "perf";
      else err(i, `unknown section "${line.slice(0, 40)}" (valid: maps PID TIME, strace, perf)`);
      continue;
    }
    if (section === "strace") {
      strace.push(line);
      continue;
    }
    if (line === "") continue;
    if (section === "maps") {
      const m = MAPS_LINE.exec(line);
      if (!m) err(i, `malformed maps line "${line.slice(0, 60)}"`);
      layouts[layouts.length - 1].entries.push({
        start: parseInt(m![1], 16),
        end: parseInt(m![2], 16),
        prot: (m![3] === "r" ? 1 : 0) | (m![4] === "w" ? 2 : 0) | (m![5] === "x" ? 4 : 0),
        shared: m![6] === "s",
        offset: parseInt(m![7], 16),
        path: m![8]?.trim() ?? "",
      });
    } else if (section === "perf") {
      const m = /^(\d+) (\d+(?:\.\d+)?) ([0-9a-f]+)$/.exec(line);
      if (!m) err(i, `malformed page-fault line "${line.slice(0, 60)}" (expected "TID TIME ADDR")`);
      const tid = Number(m![1]);
      faults.push({ line: i + 1, pid: tid, tid, time: Number(m![2]), addr: parseInt(m![3], 16) });
    } else err(i, `a line outside any section: "${line.slice(0, 60)}"`);
  }
  if (!sawStrace) err(lines.length - 1, 'no "=== strace" section');
  return {
    header: header as TraceHeader,
    layouts,
    strace: strace.join("\n"),
    straceOffset: straceLine0,
    faults,
  };
}

/**
 * Turns the bytes of a trace given on the command line into text: gzip data (a recorded trace
 * file) is decompressed, anything else is read as UTF-8 (a plain strace log). Throws a
 * one-line `GzipError` for truncated or corrupt gzip data.
 *
 * @example Usage
 * ```ts
 * import { decodeTraceBytes } from "./trace_file.ts";
 * if (decodeTraceBytes(new TextEncoder().encode("1 exit(0) = ?\n")) !== "1 exit(0) = ?\n") {
 *   throw new Error();
 * }
 * ```
 */
export function decodeTraceBytes(bytes: Uint8Array): string {
  return new TextDecoder().decode(isGzip(bytes) ? gunzip(bytes) : bytes);
}

/**
 * Decodes base64 text (how the shipped traces embed their gzip bytes) to bytes.
 *
 * @example Usage
 * ```ts
 * import { base64Bytes } from "./trace_file.ts";
 * if (base64Bytes("AQID")[2] !== 3) throw new Error();
 * ```
 */
export function base64Bytes(b64: string): Uint8Array {
  const s = atob(b64.replace(/\s+/g, ""));
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
