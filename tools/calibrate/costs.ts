/**
 * `deno task calibrate:costs`: fits the per-kind nanosecond prices of a cost profile to the timings
 * of the host kernel.
 *
 * 1. The host side runs the `timing` scenario of `runner.c` (CLOCK_MONOTONIC, the median of R
 *    rounds) for a set of microbenchmarks: fork and exit per VMA (slopes between 500 and 2,000
 *    faulted one-page VMAs), first-touch write fault, zero-page read fault, CoW write fault after
 *    fork (per page), mprotect splitting a faulted VMA and merging it back (per call) and munmap of
 *    one munmap over 2,000 faulted one-page VMAs (per VMA).
 * 2. The same operations run on the simulator (classic `anon_vma` scheme) with a
 *    {@link CountingExec}; each microbenchmark gives a vector of work units by kind plus lock
 *    acquisitions (see {@link simulateBenchmarks}). Work reported by RCU callbacks is left out, as
 *    the timed machine does not charge it to any task.
 * 3. {@link fitCostProfile} finds the prices: see its documentation for the method.
 *
 * The simulated time of one benchmark under a profile is linear in the prices
 * ({@link simulatedNs}); it equals the latency the timed {@link Machine} reports for an
 * uncontended operation.
 *
 * Usage: `deno task calibrate:costs [--rounds R] [--timings FILE] [--save-timings FILE]
 * [--json FILE]`
 *
 * - `--rounds R`: rounds of the host measurement (default 31).
 * - `--timings FILE`: fit recorded timings (the format of `tests/fixtures/host_timings.json`)
 *   instead of measuring the host.
 * - `--save-timings FILE`: write the host timings in that format.
 * - `--json FILE`: write the fitted profile (a complete {@link CostProfile}).
 *
 * @module
 */

import { Kernel } from "../../core/kernel/kernel.ts";
import { createScheme } from "../../core/rmap/registry.ts";
import { CountingExec, WORK_KINDS, type WorkKind } from "../../core/machine/exec.ts";
import {
  type CostProfile,
  DEFAULT_COST_PROFILE,
  validateCostProfile,
} from "../../core/machine/cost_model.ts";
import {
  MAP_ANONYMOUS,
  MAP_FIXED_NOREPLACE,
  MAP_PRIVATE,
  type Mm,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
} from "../../core/kernel/types.ts";
import { cleanupHost, runnerPath } from "./host.ts";

/** Work a benchmark does in the simulator, per unit of the benchmark (page, call or VMA). */
export interface WorkVector {
  /** Work units by kind. */
  readonly work: Readonly<Record<WorkKind, number>>;
  /** Successful lock acquisitions (each one is released once). */
  readonly lockAcquires: number;
  /** Failed trylocks (the timed machine charges them `lockAcquireNs`). */
  readonly trylockFailures: number;
}

/** One microbenchmark. */
export interface CostBenchmark {
  /** Name, as printed by the `timing` scenario of `runner.c`. */
  readonly name: string;
  /** What one unit of the benchmark is. */
  readonly description: string;
}

/** The microbenchmarks the fit uses, in table order. */
export const COST_BENCHMARKS: readonly CostBenchmark[] = [
  { name: "fork_per_vma", description: "fork(), per faulted 1-page VMA (slope 500 -> 2000)" },
  { name: "exit_per_vma", description: "exit of a forked child, per VMA (slope 500 -> 2000)" },
  { name: "fault_write_new", description: "first write to an anonymous page, per page" },
  { name: "fault_read_zero", description: "first read of an anonymous page (zero page), per page" },
  { name: "fault_cow", description: "child's write to a page shared with its parent, per page" },
  { name: "mprotect_split", description: "mprotect splitting a faulted VMA in three, per call" },
  { name: "mprotect_merge", description: "mprotect merging the three back, per call" },
  {
    name: "munmap_range_per_vma",
    description: "one munmap over 2000 faulted 1-page VMAs, per VMA",
  },
];

/**
 * Host figures reported but not fitted. The simulator has no work kind for what a system call
 * costs besides its rmap and VMA work (entry and exit, TLB flush, page-table and page freeing,
 * process creation and wake-ups), so one munmap call per VMA (`munmap_vma`), whole forks and exits
 * and their intercepts cannot be matched by prices of the modelled work; the fit uses per-VMA
 * slopes and the per-VMA cost of one munmap over many VMAs instead.
 */
export const INFO_TIMINGS: readonly string[] = [
  "munmap_vma",
  "fork_v2000",
  "exit_v2000",
  "fork_intercept",
  "exit_intercept",
];

/** One host timing: median, min and max over the rounds of the per-round mean. */
export interface HostTiming {
  /** Median round, ns. */
  readonly medianNs: number;
  /** Fastest round, ns. */
  readonly minNs: number;
  /** Slowest round, ns. */
  readonly maxNs: number;
}

/** Recorded host timings (the format of `tests/fixtures/host_timings.json`). */
export interface HostTimings {
  /** Kernel release (`uname -r`). */
  readonly kernel: string;
  /** Free-text description of the machine. */
  readonly machine: string;
  /** Day of the measurement, `YYYY-MM-DD`. */
  readonly date: string;
  /** Rounds per figure. */
  readonly rounds: number;
  /** Timings by name (see {@link COST_BENCHMARKS} and {@link INFO_TIMINGS}). */
  readonly timings: Readonly<Record<string, HostTiming>>;
}

/** Parameters of the simulated microbenchmarks; they mirror `sc_timing` in `runner.c`. */
const FORK_V1 = 500, FORK_V2 = 2000, FORK_REPS = 3;
const PAGES = 4096, MPROT_V = 1000, MUNMAP_V = 2000;
const BASE = 0x100000000000;
const P = PAGE_SIZE;
const RW = PROT_READ | PROT_WRITE;

/** A {@link CountingExec} that keeps the work of RCU callbacks out of the counters. */
class TimedWorkExec extends CountingExec {
  #inCallbacks = false;
  override flushRcu(): void {
    this.#inCallbacks = true;
    try {
      super.flushRcu();
    } finally {
      this.#inCallbacks = false;
    }
  }
  override work(kind: WorkKind, units = 1): void {
    if (!this.#inCallbacks) super.work(kind, units);
  }
}

interface RawCounts {
  work: Record<WorkKind, number>;
  acquires: number;
  fails: number;
}

function snapshot(ex: CountingExec): RawCounts {
  const work = Object.fromEntries(WORK_KINDS.map((k) => [k, ex.counters.work[k] ?? 0])) as Record<
    WorkKind,
    number
  >;
  let acquires = 0, fails = 0;
  for (const c of Object.values(ex.counters.locks)) {
    acquires += c.readAcquisitions + c.writeAcquisitions;
    fails += c.trylockFailures;
  }
  return { work, acquires, fails };
}

/** (b − a) / n: per-unit work between two snapshots. */
function perUnit(a: RawCounts, b: RawCounts, n: number): WorkVector {
  const work = Object.fromEntries(WORK_KINDS.map((k) => [k, (b.work[k] - a.work[k]) / n]));
  return {
    work: work as Record<WorkKind, number>,
    lockAcquires: (b.acquires - a.acquires) / n,
    trylockFailures: (b.fails - a.fails) / n,
  };
}

function slope(lo: WorkVector, hi: WorkVector, dv: number): WorkVector {
  const work = Object.fromEntries(WORK_KINDS.map((k) => [k, (hi.work[k] - lo.work[k]) / dv]));
  return {
    work: work as Record<WorkKind, number>,
    lockAcquires: (hi.lockAcquires - lo.lockAcquires) / dv,
    trylockFailures: (hi.trylockFailures - lo.trylockFailures) / dv,
  };
}

class Sim {
  readonly ex = new TimedWorkExec();
  readonly k: Kernel;
  constructor(scheme: string) {
    this.k = new Kernel({ scheme: createScheme(scheme), exec: this.ex });
  }
  map(mm: Mm, addr: number, pages: number): void {
    this.k.mmap(mm, addr, pages * P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE);
  }
  touch(mm: Mm, addr: number, pages: number, access: "read" | "write"): void {
    for (let i = 0; i < pages; i++) this.k.touch(mm, addr + i * P, access);
  }
  /** V regions of `pages` pages at BASE with a one-page gap, as `region_addr` in runner.c. */
  regions(mm: Mm, v: number, pages: number): number[] {
    const addrs: number[] = [];
    for (let i = 0; i < v; i++) {
      const a = BASE + i * (pages + 1) * P;
      this.map(mm, a, pages);
      this.touch(mm, a, pages, "write");
      addrs.push(a);
    }
    return addrs;
  }
  /** Runs `fn` and returns the work it reported, divided by `n`. */
  measure(n: number, fn: () => void): WorkVector {
    const a = snapshot(this.ex);
    fn();
    return perUnit(a, snapshot(this.ex), n);
  }
}

function forkAndExit(scheme: string, v: number): { fork: WorkVector; exit: WorkVector } {
  const s = new Sim(scheme);
  const parent = s.k.spawn();
  s.regions(parent, v, 1);
  const forks: WorkVector[] = [], exits: WorkVector[] = [];
  for (let i = 0; i < FORK_REPS; i++) {
    let child!: Mm;
    forks.push(s.measure(1, () => child = s.k.fork(parent)));
    exits.push(s.measure(1, () => s.k.exit(child)));
  }
  return { fork: mean(forks), exit: mean(exits) };
}

function mean(vs: WorkVector[]): WorkVector {
  const n = vs.length;
  const work = Object.fromEntries(
    WORK_KINDS.map((k) => [k, vs.reduce((s, v) => s + v.work[k], 0) / n]),
  );
  return {
    work: work as Record<WorkKind, number>,
    lockAcquires: vs.reduce((s, v) => s + v.lockAcquires, 0) / n,
    trylockFailures: vs.reduce((s, v) => s + v.trylockFailures, 0) / n,
  };
}

/**
 * Runs every microbenchmark of {@link COST_BENCHMARKS} on the simulator and returns its work
 * vector per unit (per VMA, page or call). Deterministic.
 *
 * @example Usage
 * ```ts ignore
 * import { simulateBenchmarks } from "./costs.ts";
 * const v = simulateBenchmarks();
 * if (!(v.fault_cow.work.page_copy === 1)) throw new Error("unexpected");
 * ```
 */
export function simulateBenchmarks(scheme = "anon_vma"): Record<string, WorkVector> {
  const out: Record<string, WorkVector> = {};
  const lo = forkAndExit(scheme, FORK_V1), hi = forkAndExit(scheme, FORK_V2);
  out.fork_per_vma = slope(lo.fork, hi.fork, FORK_V2 - FORK_V1);
  out.exit_per_vma = slope(lo.exit, hi.exit, FORK_V2 - FORK_V1);
  out.fork_v2000 = hi.fork;
  out.exit_v2000 = hi.exit;

  {
    const s = new Sim(scheme);
    const mm = s.k.spawn();
    s.map(mm, BASE, PAGES);
    out.fault_write_new = s.measure(PAGES, () => s.touch(mm, BASE, PAGES, "write"));
    s.k.munmap(mm, BASE, PAGES * P);
    s.map(mm, BASE, PAGES);
    out.fault_read_zero = s.measure(PAGES, () => s.touch(mm, BASE, PAGES, "read"));
    s.k.munmap(mm, BASE, PAGES * P);
    s.map(mm, BASE, PAGES);
    s.touch(mm, BASE, PAGES, "write");
    const child = s.k.fork(mm);
    out.fault_cow = s.measure(PAGES, () => s.touch(child, BASE, PAGES, "write"));
    s.k.exit(child);
    s.k.munmap(mm, BASE, PAGES * P);
  }
  {
    const s = new Sim(scheme);
    const mm = s.k.spawn();
    const addrs = s.regions(mm, MPROT_V, 3);
    const base = mm.mapCount;
    out.mprotect_split = s.measure(MPROT_V, () => {
      for (const a of addrs) s.k.mprotect(mm, a + P, P, PROT_READ);
    });
    const mid = mm.mapCount;
    out.mprotect_merge = s.measure(MPROT_V, () => {
      for (const a of addrs) s.k.mprotect(mm, a + P, P, RW);
    });
    if (mid !== base + 2 * MPROT_V || mm.mapCount !== base) {
      throw new Error(`Simulated mprotect did not split and merge: VMAs ${base}, ${mid}`);
    }
  }
  {
    const s = new Sim(scheme);
    const mm = s.k.spawn();
    const addrs = s.regions(mm, MUNMAP_V, 1);
    out.munmap_vma = s.measure(MUNMAP_V, () => {
      for (const a of addrs) s.k.munmap(mm, a, P);
    });
    s.regions(mm, MUNMAP_V, 1);
    out.munmap_range_per_vma = s.measure(MUNMAP_V, () => s.k.munmap(mm, BASE, MUNMAP_V * 2 * P));
    if (mm.mapCount !== 0) throw new Error("Simulated munmap left VMAs behind");
  }
  return out;
}

/**
 * Simulated nanoseconds of one unit of a benchmark under `profile`: work units times their prices
 * plus the lock costs, as the timed machine charges an uncontended operation.
 *
 * @example Usage
 * ```ts
 * import { simulatedNs } from "./costs.ts";
 * import { DEFAULT_COST_PROFILE } from "../../core/machine/cost_model.ts";
 * import { WORK_KINDS, type WorkKind } from "../../core/machine/exec.ts";
 * const work = Object.fromEntries(WORK_KINDS.map((k) => [k, 0])) as Record<WorkKind, number>;
 * work.page_zero = 1;
 * const ns = simulatedNs({ work, lockAcquires: 1, trylockFailures: 0 }, DEFAULT_COST_PROFILE);
 * if (ns !== 400 + 20 + 15) throw new Error("unexpected");
 * ```
 */
export function simulatedNs(v: WorkVector, profile: CostProfile): number {
  let ns = 0;
  for (const k of WORK_KINDS) ns += v.work[k] * profile.workNs[k];
  ns += v.lockAcquires * (profile.lockAcquireNs + profile.lockReleaseNs);
  ns += v.trylockFailures * profile.lockAcquireNs;
  return ns;
}

/**
 * Non-negative least squares, `min ‖Ax − b‖²` subject to `x ≥ 0` (Lawson and Hanson's
 * active-set algorithm). `a` is row-major, m × n. Deterministic.
 *
 * @example Usage
 * ```ts
 * import { nnls } from "./costs.ts";
 * const x = nnls([[1, 0], [0, 1]], [2, -1]);
 * if (Math.abs(x[0] - 2) > 1e-12 || x[1] !== 0) throw new Error("unexpected");
 * ```
 */
export function nnls(a: readonly (readonly number[])[], b: readonly number[]): number[] {
  const n = a[0]?.length ?? 0;
  const x = new Array<number>(n).fill(0);
  const passive = new Array<boolean>(n).fill(false);
  const tol = 1e-12 * Math.max(1, ...a.flat().map(Math.abs));
  const gradient = (): number[] => {
    const r = b.map((bi, i) => bi - a[i].reduce((s, aij, j) => s + aij * x[j], 0));
    return Array.from({ length: n }, (_, j) => a.reduce((s, row, i) => s + row[j] * r[i], 0));
  };
  /** Unconstrained least squares on the passive columns (normal equations). */
  const solvePassive = (): number[] => {
    const idx = passive.flatMap((p, j) => p ? [j] : []);
    const k = idx.length;
    const ata = idx.map((p) => idx.map((q) => a.reduce((s, row) => s + row[p] * row[q], 0)));
    const atb = idx.map((p) => a.reduce((s, row, i) => s + row[p] * b[i], 0));
    const z = solveSymmetric(ata, atb);
    const full = new Array<number>(n).fill(0);
    for (let t = 0; t < k; t++) full[idx[t]] = z[t];
    return full;
  };
  for (let iter = 0; iter < 10 * n + 10; iter++) {
    const w = gradient();
    let best = -1;
    for (let j = 0; j < n; j++) {
      if (!passive[j] && w[j] > tol && (best < 0 || w[j] > w[best])) best = j;
    }
    if (best < 0) break;
    passive[best] = true;
    for (let inner = 0; inner < 10 * n + 10; inner++) {
      const z = solvePassive();
      if (passive.every((p, j) => !p || z[j] > 0)) {
        for (let j = 0; j < n; j++) x[j] = z[j];
        break;
      }
      let alpha = Infinity;
      for (let j = 0; j < n; j++) {
        if (passive[j] && z[j] <= 0) alpha = Math.min(alpha, x[j] / (x[j] - z[j]));
      }
      for (let j = 0; j < n; j++) {
        x[j] += alpha * (z[j] - x[j]);
        if (passive[j] && Math.abs(x[j]) <= 1e-15) {
          passive[j] = false;
          x[j] = 0;
        }
      }
    }
  }
  return x;
}

/** Solves a small symmetric positive-definite system by Gaussian elimination with pivoting. */
function solveSymmetric(m: number[][], v: number[]): number[] {
  const n = v.length;
  const a = m.map((row, i) => [...row, v[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r][c]) > Math.abs(a[p][c])) p = r;
    [a[c], a[p]] = [a[p], a[c]];
    const d = a[c][c];
    if (d === 0) throw new Error("Singular system in the cost fit");
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = a[r][c] / d;
      if (f === 0) continue;
      for (let k = c; k <= n; k++) a[r][k] -= f * a[c][k];
    }
  }
  return a.map((row, i) => row[n] / row[i]);
}

/** Weight of the pull toward the default profile's ratios (see {@link fitCostProfile}). */
export const FIT_LAMBDA = 0.003;

/** Fitted figures are rounded to this many nanoseconds. */
export const FIT_ROUNDING_NS = 0.1;

/** Result of {@link fitCostProfile}. */
export interface CostFit {
  /** The fitted profile (figures rounded to {@link FIT_ROUNDING_NS}). */
  readonly profile: CostProfile;
  /** Fitted parameters (work kinds and `lock`) and their scale factors over the default. */
  readonly scales: Readonly<Record<string, number>>;
  /** Common scale the factors are pulled toward. */
  readonly commonScale: number;
  /** Work kinds no benchmark exercises (kept at the default price). */
  readonly unexercised: readonly WorkKind[];
}

/**
 * Fits per-kind prices so that the simulated time of every benchmark of {@link COST_BENCHMARKS}
 * matches the measured one.
 *
 * Method. Every price is written as the default price times a scale factor, `c_k = d_k·s_k`. The
 * lock acquire and release costs form one group `lock` with one factor (each acquisition is
 * released once, so only their sum is visible). Kinds that no benchmark exercises keep their
 * default price. With `a_bk` the default nanoseconds that kind k contributes to benchmark b and
 * `m_b` its measured time, the factors `s_k ≥ 0` and a common factor `g ≥ 0` minimise
 *
 *     Σ_b (Σ_k a_bk·s_k / m_b − 1)²  +  λ·Σ_k (s_k − g)²
 *
 * (non-negative least squares on the stacked system): the first term is the squared relative
 * error of each benchmark, the second pulls every factor toward one common factor, that is toward
 * the default profile's ratios between the kinds. There are fewer benchmarks than factors, so the
 * regularisation picks, among profiles that fit, the one closest to a uniformly scaled default;
 * kinds that always occur together in the same proportion (a group, for example the tree kinds)
 * end up with the same factor. λ is {@link FIT_LAMBDA}.
 *
 * @example Usage
 * ```ts ignore
 * import { fitCostProfile, simulateBenchmarks } from "./costs.ts";
 * const fit = fitCostProfile({ fault_cow: 3000 }, simulateBenchmarks());
 * ```
 */
export function fitCostProfile(
  measuredNs: Readonly<Record<string, number>>,
  vectors: Readonly<Record<string, WorkVector>>,
  lambda = FIT_LAMBDA,
): CostFit {
  const names = COST_BENCHMARKS.map((b) => b.name).filter((n) => n in measuredNs);
  if (names.length === 0) throw new Error("No measured benchmark to fit");
  for (const n of names) {
    if (!(measuredNs[n] > 0)) throw new RangeError(`Measured time of ${n} must be positive`);
    if (!vectors[n]) throw new Error(`No simulated work vector for ${n}`);
  }
  const d = DEFAULT_COST_PROFILE;
  const exercised = WORK_KINDS.filter((k) => names.some((n) => vectors[n].work[k] > 0));
  const unexercised = WORK_KINDS.filter((k) => !exercised.includes(k));
  const params: string[] = [...exercised, "lock"];
  const contrib = (n: string, p: string): number => {
    const v = vectors[n];
    if (p === "lock") {
      return v.lockAcquires * (d.lockAcquireNs + d.lockReleaseNs) +
        v.trylockFailures * d.lockAcquireNs;
    }
    return v.work[p as WorkKind] * d.workNs[p as WorkKind];
  };
  // Unknowns: s_0..s_{P-1}, g.
  const rows: number[][] = [], rhs: number[] = [];
  for (const n of names) {
    const fixed = unexercised.reduce((s, k) => s + vectors[n].work[k] * d.workNs[k], 0);
    rows.push([...params.map((p) => contrib(n, p) / measuredNs[n]), 0]);
    rhs.push(1 - fixed / measuredNs[n]);
  }
  const sl = Math.sqrt(lambda);
  params.forEach((_, j) => {
    const row = new Array<number>(params.length + 1).fill(0);
    row[j] = sl;
    row[params.length] = -sl;
    rows.push(row);
    rhs.push(0);
  });
  const x = nnls(rows, rhs);
  const scales: Record<string, number> = {};
  params.forEach((p, j) => scales[p] = x[j]);
  const r1 = (v: number): number => Math.round(v / FIT_ROUNDING_NS) / (1 / FIT_ROUNDING_NS);
  const workNs = { ...d.workNs } as Record<WorkKind, number>;
  for (const k of exercised) workNs[k] = r1(d.workNs[k] * scales[k]);
  const profile = validateCostProfile({
    workNs,
    lockAcquireNs: r1(d.lockAcquireNs * scales.lock),
    lockReleaseNs: r1(d.lockReleaseNs * scales.lock),
    contextSwitchNs: d.contextSwitchNs,
    wakeupNs: d.wakeupNs,
    rcuGracePeriodNs: d.rcuGracePeriodNs,
  });
  return { profile, scales, commonScale: x[params.length], unexercised };
}

/** Parses the `TIMING` lines printed by `runner timing`. */
export function parseTimingOutput(text: string): Record<string, HostTiming> {
  const out: Record<string, HostTiming> = {};
  for (const line of text.split("\n")) {
    const m = /^TIMING (\S+) (-?[\d.]+) (-?[\d.]+) (-?[\d.]+) \d+$/.exec(line);
    if (m) out[m[1]] = { medianNs: Number(m[2]), minNs: Number(m[3]), maxNs: Number(m[4]) };
  }
  return out;
}

/** Runs `runner timing R` on the host kernel (compiles runner.c with gcc). */
export async function measureHost(rounds: number): Promise<HostTimings> {
  if (Deno.build.os !== "linux") throw new Error(`Host timing needs Linux, not ${Deno.build.os}`);
  const out = await new Deno.Command(await runnerPath(), {
    args: ["timing", String(rounds)],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    const err = text.split("\n").find((l) => l.startsWith("ERROR")) ??
      new TextDecoder().decode(out.stderr).trim();
    throw new Error(`runner timing failed: ${err}`);
  }
  let cpu = "";
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(Deno.readTextFileSync("/proc/cpuinfo"));
    if (m) cpu = `, ${m[1].trim()}`;
  } catch {
    // no /proc/cpuinfo: leave the model out
  }
  return {
    kernel: Deno.osRelease(),
    machine: `${Deno.build.arch}, ${navigator.hardwareConcurrency} CPUs${cpu}`,
    date: new Date().toISOString().slice(0, 10),
    rounds,
    timings: parseTimingOutput(text),
  };
}

/** One row of the comparison table. */
export interface CostRow {
  /** Benchmark name. */
  readonly name: string;
  /** Whether the fit used it. */
  readonly fitted: boolean;
  /** Host median, ns. */
  readonly measuredNs: number;
  /** Simulated with {@link DEFAULT_COST_PROFILE}, ns (null: no simulated counterpart). */
  readonly defaultNs: number | null;
  /** Simulated with the fitted profile, ns (null: no simulated counterpart). */
  readonly fittedNs: number | null;
  /** (fitted − measured) / measured, in percent (null: no simulated counterpart). */
  readonly errorPct: number | null;
}

/** Compares host timings with the simulated times under the default and fitted profiles. */
export function costRows(
  timings: HostTimings,
  vectors: Readonly<Record<string, WorkVector>>,
  fitted: CostProfile,
): CostRow[] {
  const rows: CostRow[] = [];
  const names = [
    ...COST_BENCHMARKS.map((b) => ({ name: b.name, fitted: true })),
    ...INFO_TIMINGS.map((name) => ({ name, fitted: false })),
  ];
  for (const { name, fitted: used } of names) {
    const t = timings.timings[name];
    if (!t) continue;
    const v = vectors[name];
    const defaultNs = v ? simulatedNs(v, DEFAULT_COST_PROFILE) : null;
    const fittedNs = v ? simulatedNs(v, fitted) : null;
    rows.push({
      name,
      fitted: used,
      measuredNs: t.medianNs,
      defaultNs,
      fittedNs,
      errorPct: fittedNs === null ? null : (fittedNs - t.medianNs) / t.medianNs * 100,
    });
  }
  return rows;
}

/** Measured medians of the benchmarks the fit uses. */
export function measuredMedians(timings: HostTimings): Record<string, number> {
  const out: Record<string, number> = {};
  for (const b of COST_BENCHMARKS) {
    const t = timings.timings[b.name];
    if (t) out[b.name] = t.medianNs;
  }
  return out;
}

function fmt(ns: number | null): string {
  if (ns === null) return "-";
  return Math.abs(ns) >= 1e5 ? `${(ns / 1e3).toFixed(0)} µs` : `${ns.toFixed(0)} ns`;
}

/** Formats the comparison as a plain-text table. */
export function formatTable(rows: readonly CostRow[], timings: HostTimings): string {
  const head = ["benchmark", "measured (min-max)", "sim default", "sim fitted", "error"];
  const body = rows.map((r) => {
    const t = timings.timings[r.name];
    return [
      r.fitted ? r.name : `${r.name} (not fitted)`,
      `${fmt(r.measuredNs)} (${fmt(t.minNs)}-${fmt(t.maxNs)})`,
      fmt(r.defaultNs),
      fmt(r.fittedNs),
      r.errorPct === null ? "-" : `${r.errorPct >= 0 ? "+" : ""}${r.errorPct.toFixed(1)} %`,
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join("  ");
  return [line(head), ...body.map(line)].join("\n");
}

/** Formats the fitted figures against the default ones. */
export function formatProfile(fit: CostFit): string {
  const d = DEFAULT_COST_PROFILE, p = fit.profile;
  const lines = WORK_KINDS.map((k) => {
    const note = fit.unexercised.includes(k)
      ? "not exercised, default kept"
      : `x${fit.scales[k].toFixed(2)}`;
    return `  ${k.padEnd(16)} ${String(d.workNs[k]).padStart(6)} -> ${
      String(p.workNs[k]).padStart(7)
    }  ${note}`;
  });
  lines.push(
    `  ${"lockAcquireNs".padEnd(16)} ${String(d.lockAcquireNs).padStart(6)} -> ${
      String(p.lockAcquireNs).padStart(7)
    }  x${fit.scales.lock.toFixed(2)} (lock group)`,
    `  ${"lockReleaseNs".padEnd(16)} ${String(d.lockReleaseNs).padStart(6)} -> ${
      String(p.lockReleaseNs).padStart(7)
    }  x${fit.scales.lock.toFixed(2)} (lock group)`,
    `  common factor g = ${fit.commonScale.toFixed(2)}; other fixed costs kept at the default`,
  );
  return lines.join("\n");
}

async function main(args: string[]): Promise<number> {
  let rounds = 31;
  let timingsFile: string | undefined, saveFile: string | undefined, jsonFile: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = (): string => {
      const v = args[++i];
      if (v === undefined) throw new RangeError(`Option ${a} needs a value`);
      return v;
    };
    if (a === "--rounds") rounds = Number(value());
    else if (a === "--timings") timingsFile = value();
    else if (a === "--save-timings") saveFile = value();
    else if (a === "--json") jsonFile = value();
    else {
      console.error(
        `error: unknown option "${a}"; valid: --rounds R, --timings FILE, --save-timings FILE, ` +
          "--json FILE",
      );
      return 2;
    }
  }
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 1000) {
    console.error("error: --rounds must be an integer in [1, 1000]");
    return 2;
  }
  let timings: HostTimings;
  if (timingsFile) {
    timings = JSON.parse(await Deno.readTextFile(timingsFile)) as HostTimings;
  } else {
    console.error(`measuring the host kernel (${rounds} rounds)...`);
    try {
      timings = await measureHost(rounds);
    } finally {
      await cleanupHost();
    }
  }
  if (saveFile) await Deno.writeTextFile(saveFile, JSON.stringify(timings, null, 2) + "\n");
  const vectors = simulateBenchmarks();
  const fit = fitCostProfile(measuredMedians(timings), vectors);
  console.log(
    `host: Linux ${timings.kernel}, ${timings.machine}, ${timings.date}, median of ` +
      `${timings.rounds} rounds`,
  );
  console.log(formatTable(costRows(timings, vectors, fit.profile), timings));
  console.log("\nfitted profile (default -> fitted, ns):");
  console.log(formatProfile(fit));
  if (jsonFile) await Deno.writeTextFile(jsonFile, JSON.stringify(fit.profile, null, 2) + "\n");
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    console.error(`error: ${(e instanceof Error ? e.message : String(e)).split("\n")[0]}`);
    Deno.exit(1);
  }
}
