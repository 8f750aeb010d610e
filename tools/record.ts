/**
 * `deno task record -- CMD ARGS...`: records a program for the trace-replay workload into one
 * gzip-compressed trace file (format: workloads/trace_file.ts).
 *
 * What is recorded, and how:
 *
 * - **System calls of every task**: `strace -f --seccomp-bpf -ttt -s 1024 -e trace=%memory,
 *   %process,openat,open,close,memfd_create,pidfd_open,process_madvise -e signal=none`
 *   (CLOCK_REALTIME timestamps in µs; `-s 1024` prints a process_madvise vector of up to
 *   UIO_MAXIOV ranges whole, as it limits array elements too; openat/close name the file behind
 *   an fd, pidfd_open the process behind a pidfd; `%process` brings clone, clone3, fork, vfork,
 *   execve, execveat, exit, exit_group, wait4, kill, ...; `--seccomp-bpf` stops the tracee only on
 *   those calls, so a server's network I/O runs at full speed). Failed `openat`s are dropped (the
 *   replay skips them) and so are the `(DELAYED)` marks.
 * - **Page faults**, when perf is permitted: `perf record -e page-faults -c 1 -d -k
 *   CLOCK_REALTIME` around strace (every fault with its address, inherited by every child, on
 *   the strace clock). When perf is missing or not permitted the header says why.
 * - **The post-exec layout of every exec'd process**: the kernel builds the ELF image, ld.so, the
 *   stack and the vDSO inside execve, so no strace line shows them. strace delays the return of
 *   every execve/execveat (`-e inject=execve,execveat:delay_exit=N`); while the task sits in its
 *   syscall-exit stop, a poller here sees `/proc/<pid>/syscall` name execve and copies
 *   `/proc/<pid>/maps` — the real layout, taken before the program ran one instruction. Chosen
 *   over synthesising the layout from ELF program headers because the real one also has the
 *   randomised bases (PIE, mmap_base, stack), the bss/brk placement and the exact stack size the
 *   kernel picked, which the headers cannot give. A snapshot the poller misses (a very busy
 *   machine) leaves that exec without a layout; the replay then says so.
 *
 * The command runs under `/usr/bin/env` (the first execve of a traced command is not delayed by
 * strace), whose own lines are dropped, with PATH set to the system directories (perf would
 * otherwise prepend its own exec path, and every PATH search of the program would try it). Paths outside
 * system directories are replaced by `/sanitized/<n>/<basename>` (same path, same name).
 *
 * Usage: `deno task record [--out FILE] [--no-perf] [--delay-ms N] -- CMD ARGS...`
 *
 * @module
 */

import { parseStrace } from "../workloads/strace_parser.ts";
import { formatTraceFile, sanitizePaths, type TraceHeader } from "../workloads/trace_file.ts";

/** Version written into every trace header. */
export const RECORDER_VERSION = "rmapbench-record 1";

const SYSTEM_PATH = "/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const EXECVE_NR = new Set(["59", "322"]); // x86_64 execve, execveat

interface Options {
  out: string | null;
  perf: boolean;
  delayMs: number;
  command: string[];
}

function fail(msg: string): never {
  console.error(`record: ${msg}`);
  Deno.exit(2);
}

function parseArgs(args: string[]): Options {
  const o: Options = { out: null, perf: true, delayMs: 100, command: [] };
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i];
    if (a === "--") {
      i++;
      break;
    }
    if (a === "--out") o.out = args[++i] ?? fail("--out needs a file name");
    else if (a === "--no-perf") o.perf = false;
    else if (a === "--delay-ms") {
      o.delayMs = Number(args[++i]);
      if (!Number.isInteger(o.delayMs) || o.delayMs < 1 || o.delayMs > 10000) {
        fail("--delay-ms must be an integer in [1, 10000]");
      }
    } else if (a.startsWith("-")) {
      fail(`unknown option "${a}"; valid: --out FILE, --no-perf, --delay-ms N, -- CMD ARGS...`);
    } else break;
  }
  // `deno task record -- CMD` passes the "--" through; a second one is allowed too.
  if (args[i] === "--") i++;
  o.command = args.slice(i);
  if (o.command.length === 0) fail("no command; usage: deno task record -- CMD ARGS...");
  return o;
}

function which(cmd: string): string | null {
  if (cmd.includes("/")) return cmd;
  for (const dir of SYSTEM_PATH.split(":")) {
    try {
      if (Deno.statSync(`${dir}/${cmd}`).isFile) return `${dir}/${cmd}`;
    } catch { /* next */ }
  }
  return null;
}

async function run(cmd: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const o = await new Deno.Command(cmd[0], {
      args: cmd.slice(1),
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    const d = new TextDecoder();
    return { code: o.code, stdout: d.decode(o.stdout), stderr: d.decode(o.stderr) };
  } catch (e) {
    return { code: 127, stdout: "", stderr: (e as Error).message };
  }
}

/** One `/proc/<pid>/maps` copy taken in an execve syscall-exit stop. */
interface Snapshot {
  pid: number;
  time: number;
  maps: string;
}

function readText(path: string): string | null {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return null;
  }
}

/** Polls /proc for tasks traced by `tracer()` that stop in execve, until `done()` is true. */
async function pollExecs(tracer: () => number | null, done: () => boolean): Promise<Snapshot[]> {
  const traced = new Map<number, boolean>();
  const out: Snapshot[] = [];
  const last = new Map<number, string>();
  while (!done()) {
    const t = tracer();
    if (t !== null) {
      for (const e of Deno.readDirSync("/proc")) {
        if (!/^\d+$/.test(e.name)) continue;
        const pid = Number(e.name);
        let mine = traced.get(pid);
        if (mine === undefined) {
          const st = readText(`/proc/${pid}/status`);
          const m = st ? /\nTracerPid:\s+(\d+)/.exec(st) : null;
          mine = m !== null && Number(m[1]) === t;
          // strace -f attaches a child in clone itself, before the pid shows in /proc; only
          // strace's own child (the command) is attached after it appears: look again at it.
          const ppid = st ? /\nPPid:\s+(\d+)/.exec(st)?.[1] : undefined;
          if (mine || Number(ppid) !== t) traced.set(pid, mine);
        }
        if (!mine) continue;
        const sc = readText(`/proc/${pid}/syscall`);
        if (sc === null || !EXECVE_NR.has(sc.split(" ")[0])) continue;
        const stat = readText(`/proc/${pid}/stat`);
        if (stat === null || stat[stat.lastIndexOf(")") + 2] !== "t") continue;
        const maps = readText(`/proc/${pid}/maps`);
        if (maps === null || maps === "") continue;
        const time = (performance.timeOrigin + performance.now()) / 1000;
        if (last.get(pid) === maps) continue;
        last.set(pid, maps);
        out.push({ pid, time, maps });
      }
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  return out;
}

/** `perf record` of every page fault with its address, on strace's clock, into `out`. */
function perfRecordArgs(out: string): string[] {
  return [
    "perf",
    "record",
    "-q",
    "-e",
    "page-faults",
    "-c",
    "1",
    "-d",
    "-k",
    "CLOCK_REALTIME",
    "-o",
    out,
  ];
}

async function perfPermitted(dir: string): Promise<string | null> {
  const r = await run([
    ...perfRecordArgs(`${dir}/probe.data`),
    "--",
    "/bin/true",
  ]);
  if (r.code === 0) return null;
  const why = (r.stderr.split("\n").find((l) => l.trim() !== "") ?? `exit code ${r.code}`).trim();
  return r.code === 127 ? "perf is not installed" : `perf record failed: ${why}`;
}

/** Drops the lines of the /usr/bin/env wrapper (before the root's second successful execve). */
function dropWrapper(strace: string): { text: string; start: number | null; root: number } {
  // strace pads the pid column (to the width of pid_max): one space is enough.
  const lines = strace.split("\n").map((l) => l.replace(/^(\d+)\s+/, "$1 "));
  const root = Number(/^(\d+)/.exec(lines[0] ?? "")?.[1] ?? NaN);
  let execs = 0;
  let cut = 0;
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\d+) (\d+\.\d+) (?:execve|execveat)\(.*\) = 0/.exec(lines[i]);
    if (m && Number(m[1]) === root && ++execs === 2) {
      cut = i;
      break;
    }
  }
  const kept = lines.slice(cut).filter((l) =>
    l !== "" && !/^\d+ \d+\.\d+ (?:openat|open)\(.*\) = -1 E/.test(l)
  ).map((l) => l.replace(/ \(DELAYED\)$/, ""));
  const start = kept.length ? Number(/^\d+ (\d+\.\d+)/.exec(kept[0])?.[1] ?? NaN) : null;
  return { text: kept.join("\n") + "\n", start, root };
}

async function main(): Promise<void> {
  // `deno task` runs in the directory of deno.json; the command and --out are the caller's.
  const callerDir = Deno.env.get("INIT_CWD");
  if (callerDir) Deno.chdir(callerDir);
  const o = parseArgs(Deno.args);
  const program = which(o.command[0]) ?? fail(`command not found: ${o.command[0]}`);
  if ((await run(["strace", "-V"])).code !== 0) {
    fail("strace is not installed (apt install strace)");
  }
  const dir = await Deno.makeTempDir({ prefix: "rmapbench-record-" });
  try {
    const perfNote = o.perf ? await perfPermitted(dir) : "perf disabled with --no-perf";
    const stracePath = `${dir}/strace.txt`;
    const perfData = `${dir}/pf.data`;
    const straceArgs = [
      "-f",
      "--seccomp-bpf",
      "-ttt",
      "-s",
      "1024",
      "-e",
      "trace=%memory,%process,openat,open,close,memfd_create,pidfd_open,process_madvise",
      "-e",
      "signal=none",
      "-e",
      `inject=execve,execveat:delay_exit=${o.delayMs * 1000}`,
      "-o",
      stracePath,
      "--",
      "/usr/bin/env",
      `PATH=${SYSTEM_PATH}`, // perf prepends its own exec path to PATH: set it back
      program,
      ...o.command.slice(1),
    ];
    const argv = perfNote === null
      ? [
        ...perfRecordArgs(perfData),
        "--",
        "strace",
        ...straceArgs,
      ]
      : ["strace", ...straceArgs];
    const child = new Deno.Command(argv[0], {
      args: argv.slice(1),
      env: { PATH: SYSTEM_PATH },
      stdin: "inherit",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    let finished = false;
    let stracePid: number | null = perfNote === null ? null : child.pid;
    const tracer = (): number | null => {
      if (stracePid !== null) return stracePid;
      for (const e of Deno.readDirSync("/proc")) {
        if (!/^\d+$/.test(e.name)) continue;
        const st = readText(`/proc/${e.name}/stat`);
        if (!st) continue;
        const rest = st.slice(st.lastIndexOf(")") + 2).split(" ");
        if (Number(rest[1]) === child.pid && st.includes("(strace)")) {
          stracePid = Number(e.name);
        }
      }
      return stracePid;
    };
    const poll = pollExecs(tracer, () => finished);
    const status = await child.status;
    finished = true;
    const snaps = await poll;
    const raw = await Deno.readTextFile(stracePath);
    const { text: strace, start, root } = dropWrapper(raw);
    const pids = new Set<number>();
    for (const m of strace.matchAll(/^(\d+) /gm)) pids.add(Number(m[1]));
    let perf = "";
    let perfSamples = 0;
    if (perfNote === null) {
      const r = await run(["perf", "script", "-i", perfData, "-F", "pid,tid,time,addr"]);
      const out: string[] = [];
      for (const line of r.stdout.split("\n")) {
        const m = /^\s*(\d+)\/(\d+)\s+(\d+\.\d+):\s+([0-9a-f]+)/.exec(line);
        if (!m || !pids.has(Number(m[1]))) continue;
        if (start !== null && Number(m[3]) < start) continue;
        out.push(`${m[2]} ${m[3]} ${m[4]}`);
      }
      perf = out.join("\n") + (out.length ? "\n" : "");
      perfSamples = out.length;
    }
    const layouts = snaps.filter((s) => pids.has(s.pid) && (start === null || s.time >= start));
    const header: TraceHeader = {
      kernel: Deno.osRelease(),
      machine: Deno.build.arch,
      command: sanitizePaths(o.command.join(" "), new Map()),
      date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
      recorder: RECORDER_VERSION,
      perf: perfNote === null
        ? `page-faults samples (perf record -e page-faults -c 1 -d -k CLOCK_REALTIME): ${perfSamples}`
        : `none: ${perfNote}`,
      layout:
        `/proc/<pid>/maps in the execve syscall-exit stop (strace delay_exit=${o.delayMs} ms): ${layouts.length}`,
    };
    const text = formatTraceFile({
      header,
      layouts: layouts.map((s) => ({ pid: s.pid, time: s.time, maps: s.maps })),
      strace,
      perf,
    });
    const bytes = new Uint8Array(
      await new Response(new Blob([text]).stream().pipeThrough(new CompressionStream("gzip")))
        .arrayBuffer(),
    );
    const base = o.command[0].split("/").pop()!.replace(/[^A-Za-z0-9_.-]/g, "_");
    const out = o.out ?? `${base}.trace.gz`;
    const tmp = `${out}.tmp-${Deno.pid}`;
    await Deno.writeFile(tmp, bytes);
    await Deno.rename(tmp, out);
    const execs = parseStrace(strace).events.filter((e) =>
      e.type === "call" && (e.name === "execve" || e.name === "execveat") && e.ret === 0
    ).length;
    console.error(
      `record: ${out}: ${
        strace.split("\n").length - 1
      } strace lines, ${pids.size} tasks (root ${root}), ` +
        `${layouts.length} exec layouts for ${execs} execs, ${
          perfNote === null ? `${perfSamples} page faults` : `no page faults (${perfNote})`
        }, ${bytes.length} bytes; command exit status ${status.code}`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await main();
