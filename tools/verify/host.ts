/**
 * The host side of `rmapbench verify`: compiles `runner.c` with the system `cc` into a temporary
 * directory (never a committed binary), runs a lowered scenario with K, 2K and 3K arena copies,
 * and turns the global slab counts into exact per-copy figures without being fooled by the rest
 * of the machine.
 *
 * Noise handling (the host's anon_vma and anon_vma_chain counts are global: every other process
 * that maps, forks or exits moves them):
 * 1. Every scenario process is parked in read() on a pipe when the counts are read, and the
 *    counts are read after every step (shrink + read, twice, until two reads agree), so each
 *    step's change is taken over a window of about a millisecond.
 * 2. A step's figure is the part of its count change that grows with the number of copies: with
 *    changes d1, d2, d3 at K, 2K, 3K copies, the step is clean in that round only when
 *    d2 − d1 = d3 − d2 and K divides it; the per-copy figure is (d2 − d1) / K. Whatever does not
 *    scale with the copies (the runner's own VMAs copied by fork, the fs_struct sharing the merged
 *    anon_vma_chain cache, an exec'd image) cancels; a stray allocation by another process breaks
 *    the linearity and the round is discarded for that step.
 * 3. A step is accepted when two clean rounds give the same figure (and no other figure got as
 *    many); rounds are repeated until every step is accepted or `maxRounds` is reached.
 * 4. The per-copy counts must return to zero at the end of the scenario (every process has
 *    exited): the per-copy form of "the global counts return to their start".
 * A case that does not meet 3 and 4 after the retries is "host unstable", never a difference.
 *
 * @module
 */

import type { KernelParams } from "../../core/kernel/params.ts";
import { lower, type Scenario } from "./scenario.ts";
import type { Execution, LayoutLine } from "./model.ts";

/** Result of {@link hostRequirements}. */
export interface HostCheck {
  /** True if verify can measure this host. */
  ok: boolean;
  /** What is missing (empty when ok). */
  missing: string[];
}

function errMsg(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0];
}

/** Compiler command (`CC` environment variable, else `cc`). */
export function compilerCommand(): string {
  try {
    return Deno.env.get("CC") || "cc";
  } catch {
    return "cc";
  }
}

/**
 * Checks what host verification needs: Linux, root (to shrink slab caches), the SLUB sysfs
 * counters of anon_vma and anon_vma_chain, and a C compiler.
 */
export async function hostRequirements(): Promise<HostCheck> {
  const missing: string[] = [];
  if (Deno.build.os !== "linux") {
    return { ok: false, missing: [`Linux (this is ${Deno.build.os})`] };
  }
  let uid: number | null = null;
  try {
    uid = Deno.uid();
  } catch {
    uid = null;
  }
  if (uid !== 0) missing.push("root (writing /sys/kernel/slab/<cache>/shrink needs uid 0)");
  for (const cache of ["anon_vma", "anon_vma_chain"]) {
    try {
      Deno.readTextFileSync(`/sys/kernel/slab/${cache}/objects`);
    } catch (e) {
      missing.push(`/sys/kernel/slab/${cache}/objects (${errMsg(e)})`);
    }
  }
  const cc = compilerCommand();
  try {
    const out = await new Deno.Command(cc, { args: ["--version"], stdout: "null", stderr: "null" })
      .output();
    if (!out.success) missing.push(`a C compiler (${cc} --version failed)`);
  } catch (e) {
    missing.push(`a C compiler (${cc}: ${errMsg(e)})`);
  }
  return { ok: missing.length === 0, missing };
}

let compiled: Promise<{ dir: string; bin: string }> | undefined;

async function compile(): Promise<{ dir: string; bin: string }> {
  const src = new URL("./runner.c", import.meta.url);
  const dir = await Deno.makeTempDir({ prefix: "rmapbench-verify-" });
  const bin = `${dir}/runner`;
  // The source is copied next to the binary so a remote (URL) import works too.
  const csrc = `${dir}/runner.c`;
  const text = src.protocol === "file:"
    ? await Deno.readTextFile(src)
    : await (await fetch(src)).text();
  await Deno.writeTextFile(csrc, text);
  const out = await new Deno.Command(compilerCommand(), {
    args: ["-O2", "-o", bin, csrc],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    const msg = new TextDecoder().decode(out.stderr).split("\n").find((l) => l.includes("error"));
    throw new Error(`${compilerCommand()} failed on runner.c: ${msg ?? "unknown error"}`);
  }
  return { dir, bin };
}

/** Compiles runner.c once per process and returns the binary's path. */
export async function runnerBinary(): Promise<string> {
  compiled ??= compile();
  try {
    return (await compiled).bin;
  } catch (e) {
    compiled = undefined;
    throw e;
  }
}

/** Removes the temporary directory of the compiled runner. */
export async function cleanupRunner(): Promise<void> {
  if (!compiled) return;
  const p = compiled;
  compiled = undefined;
  try {
    await Deno.remove((await p).dir, { recursive: true });
  } catch {
    // compile failed or already removed
  }
}

/**
 * A runner outcome code as the language writes it: an errno name, `ADVISED:<pages>` for a
 * process_madvise that advised fewer bytes than asked (runner.c: 100000 + pages), or
 * `RESIDENT:<pages>` for a `resident` step (200000 + pages).
 */
function outcomeName(code: number): string {
  if (code >= 200000) return `RESIDENT:${code - 200000}`;
  if (code >= 100000) return `ADVISED:${code - 100000}`;
  return ERRNO_NAME[code] ?? `errno${code}`;
}

const ERRNO_NAME: Record<number, string> = {
  0: "OK",
  1: "EPERM",
  2: "ENOENT",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  14: "EFAULT",
  16: "EBUSY",
  17: "EEXIST",
  22: "EINVAL",
};

/** Longest run of one scenario before the runner is killed (ms). */
const RUN_TIMEOUT_MS = 120_000;

/** Runs the scenario once on the host with `copies` arena copies. */
export async function runHost(s: Scenario, copies: number): Promise<Execution> {
  const bin = await runnerBinary();
  const child = new Deno.Command(bin, { stdin: "piped", stdout: "piped", stderr: "piped" })
    .spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(lower(s, copies)));
  await w.close();
  // A runner that hangs (it never should) is stopped: SIGTERM, on which it puts ksmd's and
  // khugepaged's settings back, then SIGKILL (its journal lets the next runner put them back);
  // its scenario processes then see the end of their command pipes and exit.
  const kill = (signal: Deno.Signal): void => {
    try {
      child.kill(signal);
    } catch {
      // already exited
    }
  };
  let hard: ReturnType<typeof setTimeout> | undefined;
  const timer = setTimeout(() => {
    kill("SIGTERM");
    hard = setTimeout(() => kill("SIGKILL"), 5_000);
  }, RUN_TIMEOUT_MS);
  let out: Deno.CommandOutput;
  try {
    out = await child.output();
  } finally {
    clearTimeout(timer);
    clearTimeout(hard);
  }
  const text = new TextDecoder().decode(out.stdout);
  const exec: Execution = {
    copies,
    outcomes: [],
    anonVma: [],
    anonVmaChain: [],
    stable: [],
    layouts: new Map(),
  };
  let base: [number, number, boolean] | null = null;
  let point = -1;
  let ended = false;
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const f = line.split(" ");
    switch (f[0]) {
      case "M": {
        const step = Number(f[1]);
        const v: [number, number, boolean] = [Number(f[2]), Number(f[3]), f[4] === "1"];
        if (step === -1) base = v;
        else {
          if (exec.anonVma.length === 0) {
            if (!base) throw new Error("runner: no base count");
            exec.anonVma.push(base[0]);
            exec.anonVmaChain.push(base[1]);
            exec.stable.push(base[2]);
          }
          // Steps without a count (measure) repeat the previous one.
          while (exec.anonVma.length < step + 1) {
            exec.anonVma.push(exec.anonVma[exec.anonVma.length - 1]);
            exec.anonVmaChain.push(exec.anonVmaChain[exec.anonVmaChain.length - 1]);
            exec.stable.push(exec.stable[exec.stable.length - 1]);
          }
          exec.anonVma.push(v[0]);
          exec.anonVmaChain.push(v[1]);
          exec.stable.push(v[2]);
        }
        break;
      }
      case "R":
        exec.outcomes[Number(f[1])] = outcomeName(Number(f[2]));
        break;
      case "P":
        point = Number(f[1]);
        exec.layouts.set(point, []);
        break;
      case "V": {
        const l: LayoutLine = {
          proc: s.procs[Number(f[1])],
          copy: Number(f[2]),
          start: Number(f[3]),
          end: Number(f[4]),
          perms: f[5],
          pgoff: Number(f[6]),
          kind: f[7],
          anon: Number(f[8]),
          anonHuge: Number(f[9]),
        };
        exec.layouts.get(point)!.push(l);
        break;
      }
      case "E":
        ended = true;
        break;
      case "X":
        throw new Error(`host runner: ${line.slice(2)}`);
      default:
        throw new Error(`host runner: unexpected output "${line.slice(0, 60)}"`);
    }
  }
  if (!ended || !out.success) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n")[0];
    throw new Error(`host runner stopped early (exit ${out.code})${err ? `: ${err}` : ""}`);
  }
  while (exec.anonVma.length < s.steps.length + 1) {
    exec.anonVma.push(exec.anonVma[exec.anonVma.length - 1]);
    exec.anonVmaChain.push(exec.anonVmaChain[exec.anonVmaChain.length - 1]);
    exec.stable.push(exec.stable[exec.stable.length - 1]);
  }
  return exec;
}

/** Options of {@link measureHost}. */
export interface MeasureOptions {
  /** Copies of the smallest size K (sizes K, 2K, 3K). Default 4. */
  copies?: number;
  /** Rounds (of three runs) before giving up. Default 16. */
  maxRounds?: number;
}

/** Per-copy host figures of a scenario. */
export interface HostFigures {
  /** Copy-0 layout and outcomes of the first run (identical in every run, checked). */
  first: Execution;
  /** Per-copy cumulative anon_vma count after each step ([0] = before the first step). */
  anonVma: number[] | null;
  /** Per-copy cumulative anon_vma_chain count, same indexing. */
  anonVmaChain: number[] | null;
  /** Why the host could not be measured cleanly (null when it could). */
  unstable: string | null;
  /** Rounds made. */
  rounds: number;
  /** Runs whose raw global counts returned exactly to their starting value. */
  rawReturned: number;
  /** Runs made. */
  runs: number;
}

/** A layout line as compared and printed: the VMA, then its anonymous pages. */
function layoutKey(l: LayoutLine): string {
  return `${vmaKey(l)} anonymous:${l.anon} anonhuge:${l.anonHuge}`;
}

/** The VMA of a layout line, without its pages. */
function vmaKey(l: LayoutLine): string {
  return `${l.proc} ${l.start}-${l.end} ${l.perms} ${l.pgoff} ${l.kind}`;
}

/** Checks that every copy of a run has the same layout; returns a message or null. */
export function copiesAgree(e: Execution): string | null {
  for (const [step, lines] of e.layouts) {
    const byCopy = new Map<number, string[]>();
    for (const l of lines) {
      if (l.copy < 0) continue;
      if (!byCopy.has(l.copy)) byCopy.set(l.copy, []);
      // The VMAs only: ksmd merges pages that hold zeroes across the copies and splits THPs on
      // the way, so the anonymous pages of the copies may differ (compared for copy 0 only).
      byCopy.get(l.copy)!.push(vmaKey(l));
    }
    const c0 = (byCopy.get(0) ?? []).join("; ");
    for (let c = 1; c < e.copies; c++) {
      if ((byCopy.get(c) ?? []).join("; ") !== c0) {
        return `step ${step}: copy ${c} of the arena differs from copy 0`;
      }
    }
  }
  return null;
}

/** Copy-0 and heap layout of a run as comparable text, per measure step. */
export function copy0Layout(e: Execution): Map<number, string[]> {
  const m = new Map<number, string[]>();
  for (const [step, lines] of e.layouts) {
    m.set(
      step,
      lines.filter((l) => l.copy <= 0).map((l) => (l.copy < 0 ? "heap " : "") + layoutKey(l)),
    );
  }
  return m;
}

function sameLayout(a: Map<number, string[]>, b: Map<number, string[]>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if ((b.get(k) ?? []).join("\n") !== v.join("\n")) return false;
  return true;
}

/**
 * Runs that must lie on a step's line before it is accepted: 5 of the 6 runs of two rounds. With 4,
 * a fork storm in the background produced a wrong line in two or three scenarios of a hundred
 * (caught by the return-to-zero check, see tools/verify/README.md).
 */
export const MIN_SUPPORT = 5;

/**
 * Per-copy figure of one step from its count changes at K, 2K and 3K copies (`bySize[i]` holds
 * the change seen in every run of size (i + 1)·K). A candidate figure v with intercept c explains
 * a run of size (i + 1)·K when its change is c + (i + 1)·K·v. The step is measured when exactly one
 * candidate explains at least one run of every size and at least {@link MIN_SUPPORT} runs in all
 * (so two sizes saw the same change twice); that candidate's v is returned. Otherwise null: the step
 * has not been measured cleanly yet (a stray allocation by another process breaks the line).
 */
export function stepFigure(k: number, bySize: readonly (readonly number[])[]): number | null {
  const count = (xs: readonly number[], x: number): number => xs.filter((y) => y === x).length;
  const found = new Map<string, { v: number; support: number }>();
  for (const a of new Set(bySize[0])) {
    for (const b of new Set(bySize[1])) {
      if ((b - a) % k !== 0) continue;
      const v = (b - a) / k;
      const c = a - k * v;
      const n3 = count(bySize[2], c + 3 * k * v);
      if (n3 === 0) continue;
      const support = count(bySize[0], a) + count(bySize[1], b) + n3;
      found.set(`${c},${v}`, { v, support });
    }
  }
  const good = [...found.values()].filter((f) => f.support >= MIN_SUPPORT);
  if (good.length !== 1) return null;
  // The winner must also be the best supported line (a noisy line may not outvote it).
  const best = Math.max(...[...found.values()].map((f) => f.support));
  return good[0].support === best ? good[0].v : null;
}

/** Measures a scenario on the host: runs rounds of K, 2K, 3K copies until every step is clean. */
export async function measureHost(s: Scenario, opts: MeasureOptions = {}): Promise<HostFigures> {
  const K = opts.copies ?? 4;
  const maxRounds = opts.maxRounds ?? 16;
  const n = s.steps.length;
  const keys = ["anonVma", "anonVmaChain"] as const;
  // deltas[cache][step][size] = the step's count change in every run of that size.
  const deltas = keys.map(() => Array.from({ length: n }, () => [[], [], []] as number[][]));
  const accepted: (number | null)[][] = keys.map(() => new Array<number | null>(n).fill(null));
  // Up to the first arena step the programs of every size are identical (no copy exists yet), so
  // the per-copy change of those steps is zero by construction.
  const firstArena = s.steps.findIndex((st) => "addr" in st && st.addr.kind === "arena");
  for (let j = 0; j < (firstArena < 0 ? n : firstArena); j++) {
    accepted[0][j] = 0;
    accepted[1][j] = 0;
  }
  let first: Execution | null = null;
  let firstLayout: Map<number, string[]> | null = null;
  let rounds = 0, runs = 0, rawReturned = 0;
  const result = (unstable: string | null, av: number[] | null, avc: number[] | null) => ({
    first: first!,
    anonVma: av,
    anonVmaChain: avc,
    unstable,
    rounds,
    rawReturned,
    runs,
  });
  const done = (): boolean => accepted.every((a) => a.every((x) => x !== null));
  while (rounds === 0 || (rounds < maxRounds && !done())) {
    rounds++;
    for (const [si, size] of [K, 2 * K, 3 * K].entries()) {
      const e = await runHost(s, size);
      runs++;
      if (e.anonVma[0] === e.anonVma[n] && e.anonVmaChain[0] === e.anonVmaChain[n]) rawReturned++;
      first ??= e;
      const bad = copiesAgree(e);
      if (bad) return result(`host layout: ${bad}`, null, null);
      const lay = copy0Layout(e);
      firstLayout ??= lay;
      if (e.outcomes.join() !== first.outcomes.join() || !sameLayout(lay, firstLayout)) {
        return result("step outcomes or layouts vary between runs", null, null);
      }
      keys.forEach((key, ci) => {
        for (let j = 0; j < n; j++) deltas[ci][j][si].push(e[key][j + 1] - e[key][j]);
      });
    }
    keys.forEach((_, ci) => {
      for (let j = 0; j < n; j++) {
        if (accepted[ci][j] === null) accepted[ci][j] = stepFigure(K, deltas[ci][j]);
      }
    });
  }
  const cumulative = (a: (number | null)[]): number[] => {
    const out = [0];
    for (const x of a) out.push(out[out.length - 1] + (x ?? 0));
    return out;
  };
  if (!done()) {
    const open = new Set<number>();
    accepted.forEach((a) => a.forEach((x, j) => x === null && open.add(j)));
    const list = [...open].slice(0, 3).map((j) => `"${s.steps[j].text}"`).join(", ");
    return result(
      `${open.size} step(s) not measured cleanly in ${runs} runs (${list}${
        open.size > 3 ? ", ..." : ""
      })`,
      null,
      null,
    );
  }
  const av = cumulative(accepted[0]);
  const avc = cumulative(accepted[1]);
  if (av[n] !== 0 || avc[n] !== 0) {
    return result(
      `per-copy counts do not return to zero (${av[n]} anon_vma, ${avc[n]} anon_vma_chain)`,
      av,
      avc,
    );
  }
  return result(null, av, avc);
}

/** The text of `path`, or `fallback` when it cannot be read (a file the host does not have). */
async function readOr(path: string, fallback: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return fallback;
  }
}

/**
 * Kernel parameters under which the model matches this host's kernel configuration, each with the
 * line that says why. Today: a kernel booted with `pvm_no_zero_page=1` (a PVM guest, where
 * `mm_forbids_zeropage()` is true) maps no zero page, so the model runs with `zeroPage: false`;
 * a host without swap (`/proc/swaps` lists none) reclaims no anonymous memory, so the model runs
 * with `swapSpace: false`; a host that swaps to a disk or a file (not zram, pmem or brd, and
 * zswap off: `/sys/module/zswap/parameters/enabled`) keeps swapped-out folios in the swap cache
 * while their writeback runs, so the model runs with `swapSyncIo: false`; the THP sysfs mode
 * and `use_zero_page` become `thpEnabled` and `thpUseZeroPage` where they differ from the
 * defaults, and a kernel without THP sysfs runs with `thp: false`.
 *
 * @example Usage
 * ```ts ignore
 * const { params, notes } = await hostKernelParams();
 * ```
 */
export async function hostKernelParams(
  cmdline?: string,
  swaps?: string,
  zswap?: string,
  thp?: { enabled: string; useZeroPage: string },
): Promise<{ params: Partial<KernelParams>; notes: string[] }> {
  const line = cmdline ?? await readOr("/proc/cmdline", "");
  const params: Partial<KernelParams> = {};
  const notes: string[] = [];
  if (/(^|\s)pvm_no_zero_page=(1|y|on)(\s|$)/.test(line)) {
    params.zeroPage = false;
    notes.push(
      "host kernel maps no zero page (pvm_no_zero_page=1 on its command line): " +
        "the model runs with kernel.zeroPage=false",
    );
  }
  // The THP sysfs mode and huge zero page (absent: a kernel built without THP).
  const sysThp = "/sys/kernel/mm/transparent_hugepage";
  const enabled = thp?.enabled ?? await readOr(`${sysThp}/enabled`, "");
  const mode = /\[(always|madvise|never)\]/.exec(enabled)?.[1] as KernelParams["thpEnabled"];
  if (mode === undefined) {
    params.thp = false;
    notes.push("host kernel has no THP (no THP sysfs mode): the model runs with kernel.thp=false");
  } else if (mode !== "madvise") {
    params.thpEnabled = mode;
    notes.push(`host THP mode is ${mode}: the model runs with kernel.thpEnabled=${mode}`);
  }
  const zero = thp?.useZeroPage ?? await readOr(`${sysThp}/use_zero_page`, "1");
  if (mode !== undefined && zero.trim() === "0") {
    params.thpUseZeroPage = false;
    notes.push("host THP use_zero_page is 0: the model runs with kernel.thpUseZeroPage=false");
  }
  const sw = swaps ?? await readOr("/proc/swaps", "");
  // /proc/swaps: a header line, then one line per active swap device or file.
  const rows = sw.trim().split("\n").slice(1).map((l) => l.trim().split(/\s+/));
  if (rows.length === 0) {
    params.swapSpace = false;
    notes.push(
      "host kernel has no swap (/proc/swaps lists none): the model runs with kernel.swapSpace=false",
    );
    return { params, notes };
  }
  const zs = zswap ?? await readOr("/sys/module/zswap/parameters/enabled", "N");
  // Reclaim swaps to the devices of the highest priority first (get_swap_pages).
  const top = Math.max(...rows.map((r) => Number(r[4]) || 0));
  const devices = rows.filter((r) => (Number(r[4]) || 0) === top).map((r) => r[0]);
  // SWP_SYNCHRONOUS_IO: zram, pmem and brd (/dev/ram*) devices; zswap stores synchronously too.
  const sync = /^[Yy1]/.test(zs.trim()) ||
    devices.every((d) => /^\/dev\/(zram|pmem|ram)\d/.test(d));
  if (!sync) {
    params.swapSyncIo = false;
    notes.push(
      `host kernel swaps to ${devices.join(", ")} without synchronous I/O (zswap off): ` +
        "the model runs with kernel.swapSyncIo=false",
    );
  }
  return { params, notes };
}
