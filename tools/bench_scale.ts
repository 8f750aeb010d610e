/**
 * `deno task bench:scale`: how fast and how large the simulator is, as printed figures (never a
 * timed test). Every measurement runs in its own Deno subprocess, so heaps and peak RSS do not mix.
 *
 * - (a) Fork storm: a process with 1,000 faulted one-page VMAs (an unmapped page between each two
 *   so they cannot merge) forks 100 times in series; each child exits at once. The classic
 *   `anon_vma` scheme with the oracle on, bare (untimed {@link CountingExec}) and on the timed
 *   machine, against the real kernel running the same storm (`tools/bench_scale_fork.c`, compiled
 *   with the host gcc). Measured in pairs (`--pairs`, default four per CPU, at most 8): the
 *   simulator's child and the real kernel's storm back to back, both pinned to the same CPU with
 *   `taskset` (the CPU and the order alternating), each side a median of `--rounds` rounds; the
 *   ratio over the pairs is the ratio of the means with Fieller's interval and a verdict against
 *   1.0x. Each pair also runs the real storm unpinned, as a user starts it, and the ratios against
 *   that are printed beside (see `partA` for why the pin). The real kernel's round is timed from
 *   the first fork to the last child reaped. The simulator first runs {@link WARMUP_ROUNDS} rounds
 *   of each kind that are not in the medians (V8 compiles the hot paths during them; the real
 *   kernel has no such phase); their times are printed beside the medians so the warm-up cost is
 *   not hidden.
 * - (b) `android-launch --param scale=1`: CPU time of the run and peak RSS of the process (VmHWM),
 *   per scheme; with `--runs N`, N runs per scheme (interleaved), CPU as median [min, max] and
 *   the largest peak RSS — one run's CPU time moves by several seconds with the machine. Then
 *   the same schemes in one `rmapbench run` with two jobs, as a user runs them (the point of the
 *   12 s target: every scheme of a whole phone within a minute on two cores), `--runs` times: its
 *   wall time, its CPU time (all workers) and the process's peak RSS.
 * - (c) JS heap bytes per faulted VMA (with its anon_vma, AVC, folio, PTE and oracle entry) and per
 *   AVC (a grandchild's fork less a sibling's fork: the same objects but one more AVC per VMA),
 *   measured with `--expose-gc` heap deltas.
 * - A growth table from 10^3 to 10^6 faulted VMAs in one process: time and heap per VMA for the
 *   faults, one fork and its exit.
 *
 * Usage: `deno task bench:scale [--part a,b,c,growth] [--scheme ID[,ID]] [--max-vmas N]
 * [--rounds R] [--pairs P] [--runs N]`
 *
 * @module
 */

import process from "node:process";
import { Kernel } from "../core/kernel/kernel.ts";
import { CountingExec } from "../core/machine/exec.ts";
import { Machine } from "../core/machine/machine.ts";
import { costProfile } from "../core/machine/cost_model.ts";
import { createScheme, schemeIds } from "../core/rmap/registry.ts";
import {
  MAP_ANONYMOUS,
  MAP_FIXED_NOREPLACE,
  MAP_PRIVATE,
  type Mm,
  PAGE_SIZE,
} from "../core/kernel/types.ts";
import { runOne } from "../runner/recorder.ts";
import { aggregate, CONFIDENCE, pairedRatio } from "../reports/inference.ts";
import { jsonChild, runArgv } from "./json_child.ts";
import { hostProbeSeconds, PROBE_BYTES, PROBE_STEPS } from "./host_probe.ts";
import type { TaskScript } from "../workloads/workload.ts";

const BASE = 0x100000000000;
/** V8 old-space limit of each child, MiB: room for 10^6 VMAs and a fork on a 24 GiB machine. */
const CHILD_HEAP_MIB = 16384;
const PARTS = ["a", "b", "c", "growth"] as const;
/** (b)'s target: CPU seconds of one android-launch scale=1 run per scheme (issue #12). */
const B_TARGET_S = 12;

type Gc = () => void;

function gc(): void {
  const f = (globalThis as { gc?: Gc }).gc;
  if (!f) throw new Error("run the child with --v8-flags=--expose-gc");
  f();
  f();
}

function heapUsed(): number {
  gc();
  return Deno.memoryUsage().heapUsed;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** A kernel with `vmas` faulted one-page VMAs kept apart by holes, in one process. */
function faultedProcess(k: Kernel, vmas: number): Mm {
  const mm = k.spawn();
  for (let i = 0; i < vmas; i++) {
    const a = BASE + i * 2 * PAGE_SIZE;
    k.mmap(mm, a, PAGE_SIZE, 3, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE);
    k.touch(mm, a, "write");
  }
  return mm;
}

const BIG_MAP_COUNT = 2 ** 31 - 1;

// ---------------------------------------------------------------------------------------------
// Child measurements (each prints one JSON line)

/** Rounds of the simulated storm run before the measured ones (JIT warm-up), per kind. */
export const WARMUP_ROUNDS = 2;

/**
 * (a) simulated storm: ms per round of `forks` fork+exit, bare and timed; the first
 * {@link WARMUP_ROUNDS} rounds of each kind are returned apart (`*Warmup`).
 */
function childStorm(vmas: number, forks: number, measured: number): unknown {
  const rounds = measured + WARMUP_ROUNDS;
  const bare: number[] = [];
  const bareFork: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const k = new Kernel({ scheme: createScheme("anon_vma"), exec: new CountingExec() });
    const parent = faultedProcess(k, vmas);
    let forkMs = 0;
    const t0 = performance.now();
    for (let i = 0; i < forks; i++) {
      const f0 = performance.now();
      const child = k.fork(parent);
      forkMs += performance.now() - f0;
      k.exit(child);
    }
    bare.push(performance.now() - t0);
    bareFork.push(forkMs);
    k.exit(parent);
  }
  const timed: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const machine = new Machine({ cpus: 2, costs: costProfile("default") });
    const k = new Kernel({ scheme: createScheme("anon_vma"), exec: machine.exec });
    let parent!: Mm;
    let wall = 0;
    const script = (function* (): TaskScript {
      yield { op: "mmap", run: () => parent = faultedProcess(k, vmas) };
      const t0 = performance.now();
      for (let i = 0; i < forks; i++) {
        let child!: Mm;
        yield { op: "fork", run: () => child = k.fork(parent) };
        yield { op: "exit", run: () => k.exit(child) };
      }
      wall = performance.now() - t0;
      yield { op: "exit", run: () => k.exit(parent) };
    })();
    machine.addTask({
      id: 1,
      name: "storm",
      kind: "user",
      next: () => {
        const s = script.next();
        return s.done ? null : s.value;
      },
    });
    machine.run();
    timed.push(wall);
  }
  const w = WARMUP_ROUNDS;
  return {
    bare: bare.slice(w),
    bareFork: bareFork.slice(w),
    timed: timed.slice(w),
    bareWarmup: bare.slice(0, w),
    timedWarmup: timed.slice(0, w),
  };
}

function vmHwmKiB(): number {
  const m = Deno.readTextFileSync("/proc/self/status").match(/VmHWM:\s+(\d+) kB/);
  return m ? Number(m[1]) : NaN;
}

/** (b) one android-launch run: CPU ms of the run, peak RSS of the process. */
function childAndroid(scheme: string, scale: number): unknown {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = runOne({ scheme, workload: "android-launch", params: { scale }, seed: 1 });
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return {
    cpuMs: (c.user + c.system) / 1000,
    sysMs: c.system / 1000,
    wallMs,
    hwmKiB: vmHwmKiB(),
    ops: r.ops,
    vmas: r.slab.peak.objects.vm_area_struct,
    avcs: r.slab.peak.objects.anon_vma_chain,
  };
}

/**
 * (c) heap per object, anon_vma scheme: per faulted one-page VMA (with its anon_vma, AVC, folio,
 * PTE and oracle entry); per faulted page of one large VMA (folio, PTE, oracle entry); per PTE a
 * fork copies (shared folio); per AVC as a paired difference of two forks that differ only in
 * their AVCs: with a parent P of `vmas` faulted VMAs and a live child C, a fork of P (a sibling:
 * two AVCs per VMA) and a fork of C (a grandchild: three AVCs per VMA) copy the same VMAs, PTEs
 * and anon_vma count and add one oracle mapping to every folio (the other of the two exits
 * first), so their heap difference is one AVC and its chain slot per VMA. Each of `pairs` pairs
 * gives a figure; the median is reported, the figures are returned beside it.
 */
function childHeap(vmas: number, pairs: number): unknown {
  const newKernel = (): Kernel =>
    new Kernel({
      scheme: createScheme("anon_vma"),
      exec: new CountingExec(),
      params: { maxMapCount: BIG_MAP_COUNT },
    });
  let k = newKernel();
  const h0 = heapUsed();
  const parent = faultedProcess(k, vmas);
  const perVma = (heapUsed() - h0) / vmas;
  const c = k.fork(parent);
  const forkDelta = (from: Mm): [number, number] => {
    const a0 = k.slab.live("anon_vma_chain");
    const b0 = heapUsed();
    const m = k.fork(from);
    const r: [number, number] = [heapUsed() - b0, k.slab.live("anon_vma_chain") - a0];
    k.exit(m);
    return r;
  };
  const perAvcPairs: number[] = [];
  for (let i = 0; i < pairs; i++) {
    const [hs, as] = forkDelta(parent);
    const [hg, ag] = forkDelta(c);
    perAvcPairs.push((hg - hs) / (ag - as));
  }
  const perAvc = median(perAvcPairs);
  k.exit(c);
  k.exit(parent);
  // One VMA of `vmas` faulted pages, then one fork.
  k = newKernel();
  const p0 = heapUsed();
  const big = k.spawn();
  k.mmap(big, BASE, vmas * PAGE_SIZE, 3, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE);
  for (let i = 0; i < vmas; i++) k.touch(big, BASE + i * PAGE_SIZE, "write");
  const p1 = heapUsed();
  const perPage = (p1 - p0) / vmas;
  const child = k.fork(big);
  const perPte = (heapUsed() - p1) / vmas;
  k.exit(child);
  k.exit(big);
  return { perVma, perAvc, perAvcPairs, perPage, perPte };
}

/** Growth: time and heap per VMA for faults, a fork and its exit, at `vmas` VMAs. */
function childGrowth(vmas: number): unknown {
  const k = new Kernel({
    scheme: createScheme("anon_vma"),
    exec: new CountingExec(),
    params: { maxMapCount: BIG_MAP_COUNT },
  });
  const h0 = heapUsed();
  let t = performance.now();
  const mm = faultedProcess(k, vmas);
  const faultNs = (performance.now() - t) * 1e6 / vmas;
  const h1 = heapUsed();
  t = performance.now();
  const child = k.fork(mm);
  const forkNs = (performance.now() - t) * 1e6 / vmas;
  const h2 = heapUsed();
  t = performance.now();
  k.exit(child);
  const exitNs = (performance.now() - t) * 1e6 / vmas;
  k.exit(mm);
  return {
    faultNs,
    faultHeap: (h1 - h0) / vmas,
    forkNs,
    forkHeap: (h2 - h1) / vmas,
    exitNs,
  };
}

// ---------------------------------------------------------------------------------------------
// Parent

/** One measurement in its own Deno subprocess, run under the command `prefix` (a pin) if given. */
function child<T = Record<string, unknown>>(
  args: string[],
  prefix: readonly string[] = [],
): Promise<T> {
  return jsonChild<T>(
    import.meta.filename!,
    ["--child", ...args],
    ["--expose-gc", `--max-old-space-size=${CHILD_HEAP_MIB}`],
    `child ${args.join(" ")}`,
    prefix,
  );
}

/** What {@link childStorm} returns: ms per round, the warm-up rounds apart. */
interface StormChild {
  bare: number[];
  bareFork: number[];
  timed: number[];
  bareWarmup: number[];
  timedWarmup: number[];
}

/** The C storm built from `tools/bench_scale_fork.c` into `dir` with the host gcc, or why not. */
async function buildRealStorm(dir: string): Promise<{ bin: string } | { error: string }> {
  const bin = `${dir}/bench_scale_fork`;
  const src = new URL("./bench_scale_fork.c", import.meta.url).pathname;
  let cc: Deno.CommandOutput;
  try {
    cc = await new Deno.Command("gcc", { args: ["-O2", "-o", bin, src], stderr: "piped" })
      .output();
  } catch (e) {
    return { error: `gcc not available (${(e as Error).message})` };
  }
  if (!cc.success) {
    return { error: `gcc failed: ${new TextDecoder().decode(cc.stderr).split("\n")[0]}` };
  }
  return { bin };
}

/** Per-round figures of one real-kernel storm run, ms. */
interface RealStorm {
  storm: number[];
  fork: number[];
}

/** Runs the C storm `bin` (`rounds` storms) under the command `prefix` (a pin, or none). */
async function runRealStorm(
  bin: string,
  prefix: readonly string[],
  vmas: number,
  forks: number,
  rounds: number,
): Promise<RealStorm | { error: string }> {
  const out = await runArgv([...prefix, bin, String(vmas), String(forks), String(rounds)]);
  if (!out.success) return { error: new TextDecoder().decode(out.stderr).trim() };
  const storm: number[] = [];
  const fork: number[] = [];
  for (
    const m of new TextDecoder().decode(out.stdout).matchAll(/storm_ns=(\d+) fork_ns=(\d+)/g)
  ) {
    storm.push(Number(m[1]) / 1e6);
    fork.push(Number(m[2]) / 1e6);
  }
  return { storm, fork };
}

/**
 * The CPU numbers of a Linux CPU list (`0-3,8`, as `Cpus_allowed_list` prints it), in order; []
 * when `text` is not one.
 *
 * @example Usage
 * ```ts
 * import { parseCpuList } from "./bench_scale.ts";
 * if (parseCpuList("0-2,5").join() !== "0,1,2,5") throw new Error();
 * ```
 */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(",")) {
    const m = part.match(/^(\d+)(?:-(\d+))?$/);
    if (!m) return [];
    const a = Number(m[1]), b = m[2] === undefined ? a : Number(m[2]);
    if (b < a || b - a > 4096) return [];
    for (let c = a; c <= b; c++) out.push(c);
  }
  return out;
}

/** The CPUs this process may run on ([] when `/proc/self/status` does not say). */
function allowedCpus(): number[] {
  try {
    const m = Deno.readTextFileSync("/proc/self/status").match(/^Cpus_allowed_list:\s*(\S+)$/m);
    return m ? parseCpuList(m[1]) : [];
  } catch {
    return [];
  }
}

/** Whether util-linux's `taskset` can pin a command to `cpu` here. */
async function canPin(cpu: number): Promise<boolean> {
  try {
    const r = await new Deno.Command("taskset", {
      args: ["-c", String(cpu), "true"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    return r.success;
  } catch {
    return false;
  }
}

const fmt = (x: number, d = 0): string => x.toFixed(d);

/**
 * Simulator / real kernel over the pairs: the ratio of the means with Fieller's interval, and
 * what it says of the 1.0x target: at most or over it only when the whole interval is.
 */
export function ratioVerdict(sim: number[], real: number[]): string {
  const r = pairedRatio(sim, real);
  if (r.ci === null) {
    return `${fmt(r.ratio, 2)}x (no interval from ${r.n} pair${r.n > 1 ? "s" : ""})`;
  }
  const [lo, hi] = r.ci;
  const verdict = hi <= 1 ? "at most 1.0x" : lo > 1 ? "over 1.0x" : "cannot tell against 1.0x";
  return `${fmt(r.ratio, 2)}x [${fmt(lo, 2)}, ${fmt(hi, 2)}] ${verdict}`;
}

/**
 * (a): `pairs` pairs, each the simulator's child and the real kernel's storm back to back, both
 * pinned to one CPU when `taskset` works. A vCPU's speed is not a constant here: on this project's
 * 2-vCPU VMs one vCPU ran both sides' storms about 1.4x slower than the other for minutes at a
 * time, and unpinned, the real kernel's storm was slower than on either (each child's exit runs
 * on the other CPU beside the next fork). Two sides measured at different times or on different
 * CPUs give ratios from 0.5x to 1.3x; a pair on one CPU at one time gives the ratio.
 */
async function partA(rounds: number, pairs: number, cpus: number[]): Promise<void> {
  const V = 1000, N = 100;
  const pin = cpus.length > 0 && await canPin(cpus[0]);
  const step = pin ? cpus.length : 1;
  console.log(
    `(a) fork storm: ${V} faulted one-page VMAs, ${N} serial fork + exit, anon_vma, oracle on; ` +
      `${pairs} pair${pairs > 1 ? "s" : ""} of the simulator (median [min, max] of ${rounds} ` +
      `rounds after ${WARMUP_ROUNDS} warm-up rounds of each kind) and the real kernel ` +
      `(${Deno.osRelease()}; of ${rounds} ` +
      `rounds) back to back, ${
        pin
          ? `both pinned to one CPU (taskset), the CPU (${
            cpus.join(", ")
          }) and the order alternating`
          : "unpinned (taskset cannot pin here), the order alternating"
      }`,
  );
  const dir = await Deno.makeTempDir({ prefix: "bench_scale_" });
  try {
    const built = await buildRealStorm(dir);
    const simBare: number[] = [], simTimed: number[] = [], realStorm: number[] = [];
    const freeStorm: number[] = [];
    let realError: string | null = "error" in built ? built.error : null;
    const runSim = (prefix: readonly string[]): Promise<StormChild> =>
      child<StormChild>(["storm", String(V), String(N), String(rounds)], prefix);
    /** The real storm under `prefix`; null once it has failed (or could not be built). */
    const runReal = async (prefix: readonly string[]): Promise<RealStorm | null> => {
      if (!("bin" in built) || realError !== null) return null;
      const r = await runRealStorm(built.bin, prefix, V, N, rounds);
      if ("error" in r) {
        realError = r.error;
        return null;
      }
      return r;
    };
    const warm = (xs: number[]): string => xs.map((x) => fmt(x, 0)).join(", ");
    for (let p = 0; p < pairs; p++) {
      const cpu = pin ? cpus[p % cpus.length] : null;
      const prefix = cpu === null ? [] : ["taskset", "-c", String(cpu)];
      // The order flips after each sweep over the CPUs, so that every CPU sees both orders.
      const simFirst = Math.floor(p / step) % 2 === 0;
      let sim: StormChild, real: RealStorm | null, free: RealStorm | null = null;
      if (simFirst) {
        sim = await runSim(prefix);
        real = await runReal(prefix);
        if (pin) free = await runReal([]);
      } else {
        if (pin) free = await runReal([]);
        real = await runReal(prefix);
        sim = await runSim(prefix);
      }
      const bare = median(sim.bare), timed = median(sim.timed);
      console.log(
        `    pair ${p + 1}${cpu === null ? "" : `, CPU ${cpu}`}, ${
          simFirst ? "simulator" : "real kernel"
        } first`,
      );
      if (real === null) {
        console.log(
          `      simulator: bare ${spread(sim.bare)} ms, timed ${spread(sim.timed)} ms`,
        );
        continue;
      }
      const rs = median(real.storm), rf = median(real.fork), bareFork = median(sim.bareFork);
      simBare.push(bare);
      simTimed.push(timed);
      realStorm.push(rs);
      console.log(
        `      real kernel:     ${spread(real.storm)} ms per storm (fork() calls ${fmt(rf, 1)} ms)`,
      );
      if (free !== null) {
        freeStorm.push(median(free.storm));
        console.log(
          `      unpinned kernel: ${spread(free.storm)} ms per storm (fork() calls ${
            fmt(median(free.fork), 1)
          } ms)`,
        );
      }
      console.log(
        `      simulator bare:  ${spread(sim.bare)} ms = ${fmt(bare / rs, 2)}x real (fork() ` +
          `alone ${fmt(bareFork, 1)} ms = ${fmt(bareFork / rf, 2)}x); ` +
          `warm-up rounds ${warm(sim.bareWarmup)} ms`,
      );
      console.log(
        `      simulator timed: ${spread(sim.timed)} ms = ${fmt(timed / rs, 2)}x real; ` +
          `warm-up rounds ${warm(sim.timedWarmup)} ms`,
      );
    }
    if (realError !== null) {
      console.log(`    real kernel: not measured (${realError})`);
      return;
    }
    console.log(
      `    over the ${pairs} pair${pairs > 1 ? "s" : ""}, simulator / real kernel${
        pin ? " on the same CPU" : ""
      } (ratio of the means, Fieller's ${Math.round(CONFIDENCE * 100)} % interval; the verdict ` +
        "holds only when the whole interval is on one side of 1.0x):",
    );
    console.log(`      bare:  ${ratioVerdict(simBare, realStorm)}`);
    console.log(`      timed: ${ratioVerdict(simTimed, realStorm)}`);
    if (freeStorm.length === simBare.length && freeStorm.length > 0) {
      // As a user starts the storm: each child's exit then runs on another CPU, and the parent
      // waits for it there (cross-CPU wake-ups, which the simulator does not model).
      console.log(
        "    against the unpinned real kernel (each fork's child runs and exits on another CPU " +
          "while the parent waits; the simulator models no such wake-ups):",
      );
      console.log(`      bare:  ${ratioVerdict(simBare, freeStorm)}`);
      console.log(`      timed: ${ratioVerdict(simTimed, freeStorm)}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** One android-launch subprocess's figures. */
interface AndroidRun {
  /** User and system CPU time of the run, all threads. */
  cpuMs: number;
  /** The system (kernel) part of it: mostly page faults as the JS heap grows. */
  sysMs: number;
  wallMs: number;
  hwmKiB: number;
  ops: number;
}

async function partB(schemes: string[], runs: number): Promise<void> {
  console.log(
    `(b) android-launch --param scale=1, seed 1, one subprocess per scheme and run; ${runs} run${
      runs > 1 ? "s" : ""
    } per scheme, interleaved${
      runs > 1
        ? ` (CPU: median [min, max], and the mean's ${
          Math.round(CONFIDENCE * 100)
        } % t-interval against the ${B_TARGET_S} s target)`
        : ""
    }`,
  );
  console.log(
    `    ${"scheme".padEnd(22)} ${(runs > 1 ? "CPU s [min, max]" : "CPU s").padStart(19)} ` +
      `${"of it sys".padStart(9)} ${"wall s".padStart(7)} ${"peak RSS MiB".padStart(12)} ${
        "ops".padStart(9)
      }${runs > 1 ? "  mean CPU s [95 % CI]" : ""}`,
  );
  // Runs interleave the schemes (round r of every scheme, then round r + 1), so that a change in
  // the machine's load during the measurement spreads over every scheme alike. Before each round,
  // the host probe (tools/host_probe.ts) reads how fast the memory system is just then.
  const all = new Map<string, AndroidRun[]>(schemes.map((s) => [s, []]));
  const probes: number[] = [];
  for (let r = 0; r < runs; r++) {
    probes.push(hostProbeSeconds());
    for (const s of schemes) {
      all.get(s)!.push(await child(["android", s, "1"]) as unknown as AndroidRun);
    }
  }
  for (const s of schemes) {
    const rs = all.get(s)!;
    const cpu = rs.map((x) => x.cpuMs / 1000);
    const ops = new Set(rs.map((x) => x.ops));
    const cpuText = runs > 1 ? spread(cpu) : fmt(cpu[0], 1);
    console.log(
      `    ${s.padEnd(22)} ${cpuText.padStart(19)} ${
        // The kernel's share (median): on a virtual machine a page fault costs several times
        // what it does on bare metal, and the run faults in its whole heap once.
        fmt(median(rs.map((x) => x.sysMs / 1000)), 1).padStart(9)} ${
        fmt(median(rs.map((x) => x.wallMs / 1000)), 1).padStart(7)
      } ${fmt(Math.max(...rs.map((x) => x.hwmKiB)) / 1024).padStart(12)} ${
        // The same seed gives the same operations in every run; say so if it did not.
        (ops.size === 1 ? String(rs[0].ops) : [...ops].join("/") + " (differ!)").padStart(9)}${
        runs > 1 ? `  ${againstTarget(cpu)}` : ""
      }`,
    );
  }
  console.log(
    `    host probe before each round (CPU s of ${PROBE_STEPS / 1e6} million dependent random ` +
      `reads over ${PROBE_BYTES >> 20} MiB): ${
        probes.length > 1 ? spread(probes, 2) : fmt(probes[0], 2)
      }; the runs' CPU time moves with it (the simulator is bound by memory, not by the cores)`,
  );
}

/**
 * The mean of `secs` with its t-interval, and what it says of `target` seconds: over or within it
 * only when the whole interval is, else that the runs cannot tell.
 */
export function againstTarget(secs: number[], target = B_TARGET_S): string {
  const a = aggregate(secs);
  if (a.ci === undefined) return fmt(a.mean, 1);
  const [lo, hi] = a.ci;
  const verdict = lo > target
    ? `over ${target} s`
    : hi <= target
    ? `within ${target} s`
    : `cannot tell against ${target} s`;
  return `${fmt(a.mean, 1)} [${fmt(lo, 1)}, ${fmt(hi, 1)}] ${verdict}`;
}

/** `median [min, max]` of `xs`, `digits` decimals (one by default). */
function spread(xs: number[], digits = 1): string {
  return `${fmt(median(xs), digits)} [${fmt(Math.min(...xs), digits)}, ${
    fmt(Math.max(...xs), digits)
  }]`;
}

/** The wall time the five schemes of (b) are for: all of them within a minute on two cores. */
const B_TOGETHER_TARGET_S = 60;

/**
 * (b)'s last line: the schemes in one `cli.ts run` with `--jobs 2`, `runs` times: wall and CPU
 * time as results.json gives them, and the process's peak RSS (VmHWM, read while it runs); with
 * two runs or more, the mean wall time's t-interval against a minute.
 */
async function partBTogether(schemes: string[], runs: number): Promise<void> {
  const wall: number[] = [], cpu: number[] = [];
  let hwmKiB = 0;
  for (let r = 0; r < runs; r++) {
    const t = await togetherRun(schemes);
    wall.push(t.wallSeconds);
    cpu.push(t.cpuSeconds);
    hwmKiB = Math.max(hwmKiB, t.hwmKiB);
  }
  const many = runs > 1;
  console.log(
    `    together: the ${schemes.length} scheme${schemes.length > 1 ? "s" : ""} in one ` +
      `\`rmapbench run --jobs 2\`${many ? `, ${runs} runs (median [min, max])` : ""}: wall ${
        many ? spread(wall) : fmt(wall[0], 1)
      } s, CPU ${many ? spread(cpu) : fmt(cpu[0], 1)} s (all workers), peak RSS ${
        fmt(hwmKiB / 1024)
      } MiB (the process: up to two runs at a time)${
        many ? `; mean wall s ${againstTarget(wall, B_TOGETHER_TARGET_S)}` : ""
      }`,
  );
}

/** One `cli.ts run` of `schemes` for {@link partBTogether}. */
async function togetherRun(
  schemes: string[],
): Promise<{ wallSeconds: number; cpuSeconds: number; hwmKiB: number }> {
  const dir = await Deno.makeTempDir({ prefix: "bench_scale_b_" });
  try {
    const cli = new URL("../cli.ts", import.meta.url).pathname;
    const proc = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        `--v8-flags=--max-old-space-size=${CHILD_HEAP_MIB}`,
        cli,
        "run",
        "--workload",
        "android-launch",
        "--param",
        "scale=1",
        ...schemes.flatMap((s) => ["--scheme", s]),
        "--repeat",
        "1",
        "--jobs",
        "2",
        "--out",
        dir,
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    let hwmKiB = 0;
    const poll = setInterval(() => {
      try {
        const m = Deno.readTextFileSync(`/proc/${proc.pid}/status`).match(/VmHWM:\s+(\d+) kB/);
        if (m) hwmKiB = Math.max(hwmKiB, Number(m[1]));
      } catch { /* the process has ended */ }
    }, 100);
    const out = await proc.output();
    clearInterval(poll);
    if (!out.success) {
      const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-3).join(" | ");
      throw new Error(`rmapbench run of ${schemes.join(", ")} failed: ${err}`);
    }
    const env = JSON.parse(await Deno.readTextFile(`${dir}/results.json`)).environment as {
      wallSeconds: number;
      cpuSeconds: number;
    };
    return { wallSeconds: env.wallSeconds, cpuSeconds: env.cpuSeconds, hwmKiB };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function partC(): Promise<void> {
  const r = await child(["heap", "100000", "5"]) as Record<string, number>;
  console.log("(c) JS heap, anon_vma scheme, --expose-gc heap deltas over 10^5 objects");
  console.log(
    `    per faulted one-page VMA (VMA, anon_vma, AVC, folio, PTE, oracle entry): ${
      fmt(r.perVma)
    } B`,
  );
  console.log(
    `    per AVC (grandchild fork less sibling fork, median of 5): ${fmt(r.perAvc)} B`,
  );
  console.log(
    `    per faulted page of a large VMA (folio, PTE, oracle entry): ${fmt(r.perPage)} B`,
  );
  console.log(`    per PTE copied by fork (shared folio):             ${fmt(r.perPte)} B`);
}

async function partGrowth(maxVmas: number): Promise<void> {
  console.log("growth: one process with N faulted one-page VMAs, one fork, its exit (anon_vma)");
  console.log(
    `    ${"N".padStart(8)} ${"fault ns/VMA".padStart(13)} ${"heap B/VMA".padStart(11)} ` +
      `${"fork ns/VMA".padStart(12)} ${"fork B/VMA".padStart(11)} ${"exit ns/VMA".padStart(12)}`,
  );
  for (let n = 1000; n <= maxVmas; n *= 10) {
    const r = await child(["growth", String(n)]) as Record<string, number>;
    console.log(
      `    ${String(n).padStart(8)} ${fmt(r.faultNs).padStart(13)} ${
        fmt(r.faultHeap).padStart(11)
      } ${fmt(r.forkNs).padStart(12)} ${fmt(r.forkHeap).padStart(11)} ${
        fmt(r.exitNs).padStart(12)
      }`,
    );
  }
}

function usage(msg: string): number {
  console.error(
    `error: ${msg}; usage: bench_scale.ts [--part ${PARTS.join(",")}] [--scheme ID[,ID]] ` +
      "[--max-vmas N (1000..1000000)] [--rounds R (1..50)] [--pairs P (1..20)] [--runs N (1..20)]",
  );
  return 2;
}

async function main(args: string[]): Promise<number> {
  if (args[0] === "--child") {
    const [kind, ...rest] = args.slice(1);
    const n = rest.map(Number);
    const r = kind === "storm"
      ? childStorm(n[0], n[1], n[2])
      : kind === "android"
      ? childAndroid(rest[0], n[1])
      : kind === "heap"
      ? childHeap(n[0], n[1])
      : childGrowth(n[0]);
    console.log(JSON.stringify(r));
    return 0;
  }
  let parts: string[] = [...PARTS];
  let schemes = schemeIds();
  let maxVmas = 1_000_000;
  let rounds = 5;
  let runs = 1;
  // Default: four per CPU, at most 8. With four pairs, Fieller's interval (3 degrees of freedom)
  // straddled 1.0x for a timed ratio of 1.14x that eight pairs put at 1.36x [1.20, 1.53].
  let pairs: number | null = null;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--part") parts = (args[++i] ?? "").split(",");
    else if (a === "--scheme") schemes = (args[++i] ?? "").split(",");
    else if (a === "--max-vmas") maxVmas = Number(args[++i]);
    else if (a === "--rounds") rounds = Number(args[++i]);
    else if (a === "--runs") runs = Number(args[++i]);
    else if (a === "--pairs") pairs = Number(args[++i]);
    else return usage(`unknown option "${a}"`);
  }
  for (const p of parts) {
    if (!(PARTS as readonly string[]).includes(p)) return usage(`unknown part "${p}"`);
  }
  for (const s of schemes) {
    if (!schemeIds().includes(s)) return usage(`unknown scheme "${s}" (${schemeIds().join(", ")})`);
  }
  if (!Number.isInteger(maxVmas) || maxVmas < 1000 || maxVmas > 1e6) {
    return usage("--max-vmas must be an integer in [1000, 1000000]");
  }
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 50) {
    return usage("--rounds must be an integer in [1, 50]");
  }
  if (!Number.isInteger(runs) || runs < 1 || runs > 20) {
    return usage("--runs must be an integer in [1, 20]");
  }
  if (pairs !== null && (!Number.isInteger(pairs) || pairs < 1 || pairs > 20)) {
    return usage("--pairs must be an integer in [1, 20]");
  }
  if (parts.includes("a")) {
    const cpus = allowedCpus();
    await partA(rounds, pairs ?? Math.min(8, 4 * Math.max(1, cpus.length)), cpus);
  }
  if (parts.includes("b")) {
    await partB(schemes, runs);
    await partBTogether(schemes, runs);
  }
  if (parts.includes("c")) await partC();
  if (parts.includes("growth")) await partGrowth(maxVmas);
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
