/**
 * The Results document: one versioned JSON document holding every figure a report shows.
 *
 * The recorder produces it, the CLI writes it, and every renderer in `reports/` is a pure function
 * of it. Same seed, same parameters, same tool version → byte-identical documents when written
 * with {@link stableStringify}, except for the {@link Environment} block, which is the only place
 * for timestamps and host data and which comparisons ignore ({@link withoutEnvironment}).
 *
 * Units: times are simulated nanoseconds, sizes are bytes, counts are plain integers.
 *
 * The JSON Schema of the format is `reports/results.schema.json` (draft 2020-12); the
 * hand-written {@link validateResults} checks the same structure and names the first bad path.
 *
 * This module is browser compatible and has no dependencies outside the repository.
 *
 * @module
 */

import { SLAB_CACHES } from "../core/slab.ts";
import { OP_KINDS } from "../core/machine/exec.ts";
import { Distribution, type DistributionSummary } from "../core/lib/stats.ts";

/** Version of the Results format this module reads and writes. */
export const SCHEMA_VERSION = 2 as const;

/**
 * Changes by version: 2 added `rmapBytes`, the scheme's owned caches and lock classes, repeats
 * (`suite.repeat`, `suite.repeatSeeds`, `runs[].repeats`, `runs[].aggregates`) and
 * `suite.baselineScheme`. Version 1 documents are refused with an error naming the version.
 */
export const SCHEMA_HISTORY: Readonly<Record<number, string>> = {
  1: "single runs, no rmapBytes, no repeats",
  2: "rmapBytes, owned caches and lock classes, repeats with aggregates",
};

/** Slab caches in display order (the simulator's {@link SLAB_CACHES}). */
export const RESULT_SLAB_CACHES: readonly string[] = SLAB_CACHES;

/** Rmap walk kinds in display order (`core/rmap/scheme.ts`, reference §8.3). */
export const WALK_KINDS: readonly string[] = [
  "referenced",
  "unmap",
  "migrate",
  "remove_migration",
];

/** Operation kinds in display order (`core/machine/exec.ts` `OP_KINDS`). */
export const LATENCY_OPS: readonly string[] = OP_KINDS;

/**
 * Distribution of a sample: count, mean and nearest-rank percentiles. An empty sample has every
 * field 0.
 */
export type Summary = DistributionSummary;

/** One histogram bucket: samples `v` with `lo <= v <= hi` (integers, both ends inclusive). */
export interface HistogramBucket {
  /** Smallest value in the bucket. */
  lo: number;
  /** Largest value in the bucket. */
  hi: number;
  /** Samples that fell in the bucket. */
  count: number;
}

/** Name and version of the tool that produced the document. */
export interface ToolInfo {
  /** Package name, e.g. `"rmapbench"`. */
  name: string;
  /** Package version, e.g. `"0.1.0"`. */
  version: string;
}

/** What was asked for. */
export interface SuiteInfo {
  /** The command line (or API call) that produced the document, e.g. `"bench --seed 42"`. */
  command: string;
  /** Base seed of the suite (each run has its own seed too). */
  seed: number;
  /** Scheme ids in the order requested. */
  schemes: string[];
  /** Workload ids in the order requested. */
  workloads: string[];
  /** Name of the cost profile (nanosecond prices of primitives). */
  costProfile: string;
  /** Repeats of every run (`--repeat`); 1 when absent. */
  repeat?: number;
  /**
   * Seed of each repeat, the same for every scheme and parameter point (repeats are paired):
   * repeat 0 uses `seed`, repeat k >= 1 uses `repeatSeed(seed, k)` (`runner/seeds.ts`).
   */
  repeatSeeds?: number[];
  /** Scheme every other scheme is compared with in verdicts (`--baseline-scheme`). */
  baselineScheme?: string;
}

/**
 * Host and timing data. The only part of the document that may differ between two runs with the
 * same inputs; comparisons ignore it. Extra keys with string, number or boolean values are allowed
 * (for example `commit`).
 */
export interface Environment {
  /** ISO 8601 time at which the document was produced. */
  generatedAt: string;
  /** `Deno.version.deno`. */
  deno: string;
  /** `Deno.version.v8`. */
  v8: string;
  /** Operating system (`Deno.build.os`). */
  os: string;
  /** CPU architecture (`Deno.build.arch`). */
  arch: string;
  /** Logical CPUs of the host. */
  cpus: number;
  /** Host name, when permitted. */
  hostname?: string;
  /** Wall-clock seconds the suite took on the host. */
  wallSeconds?: number;
  /** Further host facts (e.g. `commit`, `typescript`). */
  [key: string]: string | number | boolean | undefined;
}

/** Live objects and bytes per slab cache at one moment. */
export interface SlabFinal {
  /** Live objects per cache. */
  objects: Record<string, number>;
  /** Live bytes per cache (objects × slot size). */
  bytes: Record<string, number>;
  /** Sum of `bytes`. */
  totalBytes: number;
}

/**
 * High-water marks. Each cache's peak is taken on its own, so the per-cache peaks may come from
 * different moments and their sum can exceed `totalBytes`, the peak of the total.
 */
export interface SlabPeak {
  /** Largest live object count per cache. */
  objects: Record<string, number>;
  /** Largest live bytes per cache (peak objects × slot size). */
  bytes: Record<string, number>;
  /** Largest total of live bytes over all caches at one moment. */
  totalBytes: number;
}

/** Slab figures of one run. */
export interface SlabFigures {
  /** State when the workload finished (before any final teardown the workload does not do). */
  final: SlabFinal;
  /** High-water marks over the run. */
  peak: SlabPeak;
  /** Objects allocated per cache. */
  allocs: Record<string, number>;
  /** Objects freed per cache. */
  frees: Record<string, number>;
}

/** Live slab bytes over simulated time (capped by the producer, e.g. 200 points). */
export interface Timeseries {
  /** Simulated time of each point in ns, ascending. */
  t: number[];
  /** Live bytes per cache at each point; every array has the length of `t`. */
  bytes: Record<string, number[]>;
}

/** Figures of one kind of rmap walk. All distributions are per walk. */
export interface WalkStats {
  /** Walks performed. */
  count: number;
  /** Walks that gave up because a trylock failed (`rwc->contended`). */
  contended: number;
  /** Candidate mappings (VMAs) checked per walk. */
  visits: Summary;
  /** Visits that found the folio mapped (as the oracle says). */
  hits: Summary;
  /** Visits that did not find the folio mapped: `visits - hits`. */
  useless: Summary;
  /** Rmap structures touched per walk (anon_vmas, AVCs, contexts, remap entries). */
  structures: Summary;
  /** Histogram of `visits` per walk. */
  histogram: HistogramBucket[];
}

/** Figures of one lock class (e.g. `"anon_vma.root"`, `"mmap_lock"`). Times in ns. */
export interface LockStats {
  /** Acquisitions in read mode. */
  readAcquisitions: number;
  /** Acquisitions in write mode (spinlocks and mutexes count here). */
  writeAcquisitions: number;
  /** Trylock attempts that failed. */
  trylockFailures: number;
  /** Hold time per acquisition, ns. */
  hold: Summary;
  /** Wait time per acquisition, ns. */
  wait: Summary;
  /** Hold time of read-mode holds, ns (absent in old files). */
  readHold?: Summary;
  /** Hold time of write-mode holds, ns (absent in old files). */
  writeHold?: Summary;
  /** Wait time of read-mode acquisitions, ns (absent in old files). */
  readWait?: Summary;
  /** Wait time of write-mode acquisitions, ns (absent in old files). */
  writeWait?: Summary;
  /** Acquisitions that had to wait (absent in old files). */
  contended?: number;
  /** Units of primitive work done while holding a lock of this class, by work kind. */
  workUnderLock: Record<string, number>;
}

/** Ground-truth checks of one run. */
export interface OracleFigures {
  /** Walks compared with the oracle's exact mapper set. */
  walksChecked: number;
  /** Walks that missed a mapping (must be 0; a run normally stops at the first). */
  mismatches: number;
  /** Every slab count was back to zero after every process exited. */
  leakFree: boolean;
}

/** A workload-specific table, e.g. the Android calibration comparison. */
export interface ExtraTable {
  /** Heading of the table. */
  title: string;
  /** Column headings. */
  columns: string[];
  /** Rows; each has one cell per column. */
  rows: (string | number)[][];
}

/**
 * Bytes of the slab caches the run's scheme owns (`scheme.ownedCaches`): the memory the rmap
 * design itself adds.
 */
export interface RmapBytes {
  /** Live bytes of the owned caches when the workload finished. */
  final: number;
  /**
   * Largest live bytes of the owned caches at one moment: the peak over time of their sum, not the
   * sum of each cache's own peak.
   */
  peak: number;
}

/**
 * Statistics of one metric over the repeats of a run. The interval is a Student t-interval of
 * the mean, `mean ± t(0.975, n-1) · sd / √n` (see `reports/inference.ts` for why), intersected
 * with the values the metric can take (`metricSupport`: none below 0, a percentage at most 100).
 */
export interface Aggregate {
  /** Repeats. */
  n: number;
  /** Mean over the repeats. */
  mean: number;
  /** Sample standard deviation (n - 1 in the denominator; 0 when n = 1). */
  sd: number;
  /** Smallest value. */
  min: number;
  /** Largest value. */
  max: number;
  /** 95 % confidence interval of the mean `[low, high]`; absent when n = 1. */
  ci?: number[];
  /** Every repeat gave the same value (the figure does not depend on the seed here). */
  exact: boolean;
}

/** The flat metrics of one repeat of a run (names as in `runMetrics`). */
export interface RepeatFigures {
  /** Repeat index, 0-based. */
  repeat: number;
  /** Seed of the repeat. */
  seed: number;
  /** Metric name → value. */
  metrics: Record<string, number>;
}

/** Figures of one scheme running one workload. */
export interface RunResult {
  /** `"<scheme id>/<workload id>"`, unique within the document; comparisons match runs by it. */
  id: string;
  /** The scheme. */
  scheme: {
    /** Scheme id, e.g. `"anon_vma"`. */
    id: string;
    /** Human title. */
    title: string;
    /** Slab caches the scheme owns (`SchemeInfo.ownedCaches`). */
    ownedCaches: string[];
    /** Lock classes the scheme owns (`SchemeInfo.ownedLockClasses`). */
    ownedLockClasses: string[];
  };
  /** The workload. */
  workload: {
    /** Workload id, e.g. `"fork_tree"`. */
    id: string;
    /** Parameters the workload ran with. */
    params: Record<string, number | string | boolean>;
  };
  /** Machine parameters of the run (CPUs, reclaim and migration daemons); absent in old files. */
  machine?: Record<string, number>;
  /** Kernel parameters of the run (`core/kernel/params.ts`); absent in old files. */
  kernel?: Record<string, number | string | boolean>;
  /** Seed of this run. */
  seed: number;
  /**
   * Simulated time from the start of the run to the end of its last operation, ns (the daemons'
   * last sleeps and RCU grace periods after it are not counted).
   */
  simulatedNs: number;
  /** Kernel operations executed. */
  ops: number;
  /** Slab objects and bytes. */
  slab: SlabFigures;
  /** Bytes of the caches the scheme owns. */
  rmapBytes: RmapBytes;
  /**
   * Slab bytes over simulated time, to the end of the run or, when RCU callbacks ran after it
   * (the frees it deferred), to the last of them; the last point is the final figures.
   */
  timeseries: Timeseries;
  /** Rmap walks by kind (`referenced`, `unmap`, `migrate`, `remove_migration`). */
  walks: Record<string, WalkStats>;
  /** Locks by class. */
  locks: Record<string, LockStats>;
  /** Operation latency by op kind, ns. */
  latency: Record<string, Summary>;
  /** Busy fraction of the simulated CPUs, 0 to 1. */
  cpuUtilisation: number;
  /** Kernel and scheme counters, e.g. `merge_failed.anon_vma`, `anon_vma_reuse`. */
  counters: Record<string, number>;
  /** Ground-truth checks. */
  oracle: OracleFigures;
  /** Free text lines, e.g. a workload's own calibration table. */
  notes?: string[];
  /** Workload-specific tables. */
  extraTables?: ExtraTable[];
  /**
   * Every repeat's flat metrics, repeat 0 first, when the run was repeated (written by the CLI).
   * The other fields of the run are the full figures of repeat 0 (its seed is `seed`).
   */
  repeats?: RepeatFigures[];
  /** Per metric of `repeats`, its statistics over the repeats. */
  aggregates?: Record<string, Aggregate>;
}

/** The whole document. */
export interface Results {
  /** Format version, always {@link SCHEMA_VERSION}. */
  schemaVersion: typeof SCHEMA_VERSION;
  /** Producer. */
  tool: ToolInfo;
  /** What was asked for. */
  suite: SuiteInfo;
  /** Host and timing data; ignored by comparisons. */
  environment: Environment;
  /** One entry per scheme × workload × parameter point (its repeats inside). */
  runs: RunResult[];
}

/** A Results document without its {@link Environment}. */
export type ResultsWithoutEnvironment = Omit<Results, "environment">;

// ---------------------------------------------------------------------------------------------
// Helpers

/**
 * A short label for a run inside its workload's group: the scheme id, plus the parameter suffix
 * of a sweep run id (e.g. `anon_vma [children=4]` for `anon_vma/fork-storm[children=4]`).
 *
 * @example Usage
 * ```ts
 * import { runLabel } from "./results.ts";
 * const l = runLabel({ id: "anon_vma/fork-storm[children=4]", scheme: { id: "anon_vma" },
 *   workload: { id: "fork-storm" } });
 * if (l !== "anon_vma [children=4]") throw new Error(l);
 * ```
 */
export function runLabel(
  run: { id: string; scheme: { id: string }; workload: { id: string } },
): string {
  const base = runId(run.scheme.id, run.workload.id);
  return run.id.startsWith(base) && run.id.length > base.length
    ? `${run.scheme.id} ${run.id.slice(base.length)}`
    : run.scheme.id;
}

/**
 * Summarises a sample with nearest-rank percentiles. An empty sample gives all zeros.
 *
 * @example Usage
 * ```ts
 * import { summarize } from "./results.ts";
 * const s = summarize([1, 2, 3, 4]);
 * if (s.p50 !== 2 || s.max !== 4 || s.mean !== 2.5) throw new Error("unexpected");
 * ```
 */
export function summarize(values: readonly number[]): Summary {
  const d = new Distribution(Math.max(1, values.length));
  for (const v of values) d.add(v);
  return d.summary();
}

/**
 * A summary of an empty sample (every field 0).
 *
 * @example Usage
 * ```ts
 * import { emptySummary } from "./results.ts";
 * if (emptySummary().count !== 0) throw new Error("unexpected");
 * ```
 */
export function emptySummary(): Summary {
  return { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0, min: 0, sum: 0 };
}

/**
 * The run id of a scheme and a workload: `"<scheme>/<workload>"`.
 *
 * @example Usage
 * ```ts
 * import { runId } from "./results.ts";
 * if (runId("anon_vma", "fork_tree") !== "anon_vma/fork_tree") throw new Error("unexpected");
 * ```
 */
export function runId(scheme: string, workload: string): string {
  return `${scheme}/${workload}`;
}

/**
 * Orders keys: the names of `preferred` first in that order, then the others alphabetically.
 *
 * @example Usage
 * ```ts
 * import { orderedKeys } from "./results.ts";
 * const k = orderedKeys(["zeta", "anon_vma", "alpha"], ["anon_vma"]);
 * if (k.join() !== "anon_vma,alpha,zeta") throw new Error("unexpected");
 * ```
 */
export function orderedKeys(keys: Iterable<string>, preferred: readonly string[] = []): string[] {
  const set = new Set(keys);
  const first = preferred.filter((k) => set.has(k));
  const rest = [...set].filter((k) => !preferred.includes(k)).sort();
  return [...first, ...rest];
}

/**
 * Returns a copy of the document without its `environment` block, for comparisons.
 *
 * @example Usage
 * ```ts
 * import { withoutEnvironment, type Results } from "./results.ts";
 * declare const results: Results;
 * const stable = withoutEnvironment(results);
 * if ("environment" in stable) throw new Error("unexpected");
 * ```
 */
export function withoutEnvironment(results: Results): ResultsWithoutEnvironment {
  const { environment: _environment, ...rest } = results;
  return structuredClone(rest);
}

/** Keys written first, in this order, wherever they occur; the rest follow alphabetically. */
const FIRST_KEYS = ["schemaVersion", "id", "name", "title", "tool", "suite", "environment"];

function canonical(value: unknown, path: string): unknown {
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) {
      throw new TypeError(`Cannot serialise ${path || "value"}: ${value} is not valid JSON`);
    }
    return Object.is(value, -0) ? 0 : value;
  }
  if (Array.isArray(value)) return value.map((v, i) => canonical(v, `${path}[${i}]`));
  if (typeof value === "object") {
    const out: Record<string, unknown> = {};
    const obj = value as Record<string, unknown>;
    for (const k of orderedKeys(Object.keys(obj), FIRST_KEYS)) {
      if (obj[k] === undefined) continue;
      out[k] = canonical(obj[k], path ? `${path}.${k}` : k);
    }
    return out;
  }
  throw new TypeError(`Cannot serialise ${path || "value"}: ${typeof value} is not valid JSON`);
}

/**
 * Serialises a document (or any JSON value) deterministically: `schemaVersion`, `id`, `name`,
 * `title`, `tool`, `suite`, `environment` first, every other key alphabetically at every level,
 * arrays in order, 2-space indent, a trailing newline. Keys whose value is `undefined` are left
 * out and `-0` is written as `0`; NaN and infinities throw, as they are not valid JSON.
 *
 * @example Usage
 * ```ts
 * import { stableStringify } from "./results.ts";
 * const text = stableStringify({ b: 1, a: [2, 3] });
 * if (text !== '{\n  "a": [\n    2,\n    3\n  ],\n  "b": 1\n}\n') throw new Error("unexpected");
 * ```
 */
export function stableStringify(value: unknown): string {
  return JSON.stringify(canonical(value, ""), null, 2) + "\n";
}

/**
 * Parses and validates a Results document from JSON text.
 *
 * @example Usage
 * ```ts
 * import { parseResults } from "./results.ts";
 * try {
 *   parseResults("{");
 * } catch (e) {
 *   if (!(e instanceof SyntaxError)) throw e;
 * }
 * ```
 */
export function parseResults(text: string): Results {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new SyntaxError(`Results are not valid JSON: ${(e as Error).message}`);
  }
  return validateResults(value);
}

// ---------------------------------------------------------------------------------------------
// Validation

/** Thrown by {@link validateResults}; `path` names the first bad value, e.g. `runs[0].seed`. */
export class ResultsValidationError extends TypeError {
  /** Path of the first bad value (`$` for the document itself). */
  readonly path: string;
  /** Creates the error. */
  constructor(path: string, problem: string) {
    super(`Invalid results at ${path}: ${problem}`);
    this.name = "ResultsValidationError";
    this.path = path;
  }
}

function describe(x: unknown): string {
  if (x === null) return "null";
  if (Array.isArray(x)) return "an array";
  if (typeof x === "string") return `string ${JSON.stringify(x.length > 40 ? x.slice(0, 40) : x)}`;
  if (typeof x === "number") return `${x}`;
  if (typeof x === "object") return "an object";
  return typeof x;
}

function fail(path: string, problem: string): never {
  throw new ResultsValidationError(path, problem);
}

function obj(x: unknown, path: string): Record<string, unknown> {
  if (typeof x !== "object" || x === null || Array.isArray(x)) {
    fail(path, `expected an object, got ${describe(x)}`);
  }
  return x as Record<string, unknown>;
}

function num(x: unknown, path: string, min = -Infinity): number {
  if (typeof x !== "number" || !Number.isFinite(x)) {
    fail(path, `expected a finite number, got ${describe(x)}`);
  }
  if (x < min) fail(path, `expected a number >= ${min}, got ${x}`);
  return x;
}

function int(x: unknown, path: string): number {
  const n = num(x, path);
  if (!Number.isInteger(n) || n < 0) fail(path, `expected a non-negative integer, got ${n}`);
  return n;
}

function str(x: unknown, path: string): string {
  if (typeof x !== "string") fail(path, `expected a string, got ${describe(x)}`);
  return x;
}

function bool(x: unknown, path: string): boolean {
  if (typeof x !== "boolean") fail(path, `expected a boolean, got ${describe(x)}`);
  return x;
}

function arr(x: unknown, path: string): unknown[] {
  if (!Array.isArray(x)) fail(path, `expected an array, got ${describe(x)}`);
  return x;
}

function key(path: string, k: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(k) ? `${path}.${k}` : `${path}[${JSON.stringify(k)}]`;
}

function record<T>(
  x: unknown,
  path: string,
  each: (v: unknown, p: string) => T,
): Record<string, T> {
  const o = obj(x, path);
  for (const [k, v] of Object.entries(o)) each(v, key(path, k));
  return o as Record<string, T>;
}

function counts(x: unknown, path: string): Record<string, number> {
  return record(x, path, int);
}

function summary(x: unknown, path: string): void {
  const o = obj(x, path);
  int(o.count, `${path}.count`);
  for (const f of ["mean", "p50", "p90", "p99", "max", "min", "sum"]) num(o[f], `${path}.${f}`);
}

function validateRun(x: unknown, path: string): void {
  const r = obj(x, path);
  str(r.id, `${path}.id`);
  const scheme = obj(r.scheme, `${path}.scheme`);
  str(scheme.id, `${path}.scheme.id`);
  str(scheme.title, `${path}.scheme.title`);
  for (const f of ["ownedCaches", "ownedLockClasses"]) {
    arr(scheme[f], `${path}.scheme.${f}`).forEach((c, i) => str(c, `${path}.scheme.${f}[${i}]`));
  }
  const workload = obj(r.workload, `${path}.workload`);
  str(workload.id, `${path}.workload.id`);
  record(workload.params, `${path}.workload.params`, (v, p) => {
    if (typeof v === "string" || typeof v === "boolean") return v;
    return num(v, p);
  });
  if (r.machine !== undefined) record(r.machine, `${path}.machine`, num);
  if (r.kernel !== undefined) {
    record(r.kernel, `${path}.kernel`, (v, p) => {
      if (typeof v === "string" || typeof v === "boolean") return v;
      return num(v, p);
    });
  }
  num(r.seed, `${path}.seed`);
  num(r.simulatedNs, `${path}.simulatedNs`, 0);
  int(r.ops, `${path}.ops`);

  const slab = obj(r.slab, `${path}.slab`);
  const final = obj(slab.final, `${path}.slab.final`);
  counts(final.objects, `${path}.slab.final.objects`);
  counts(final.bytes, `${path}.slab.final.bytes`);
  int(final.totalBytes, `${path}.slab.final.totalBytes`);
  const peak = obj(slab.peak, `${path}.slab.peak`);
  counts(peak.objects, `${path}.slab.peak.objects`);
  counts(peak.bytes, `${path}.slab.peak.bytes`);
  int(peak.totalBytes, `${path}.slab.peak.totalBytes`);
  counts(slab.allocs, `${path}.slab.allocs`);
  counts(slab.frees, `${path}.slab.frees`);
  const rb = obj(r.rmapBytes, `${path}.rmapBytes`);
  int(rb.final, `${path}.rmapBytes.final`);
  const rbPeak = int(rb.peak, `${path}.rmapBytes.peak`);
  if (rbPeak < (rb.final as number)) {
    fail(`${path}.rmapBytes.peak`, `expected a number >= final (${rb.final}), got ${rbPeak}`);
  }

  const ts = obj(r.timeseries, `${path}.timeseries`);
  const t = arr(ts.t, `${path}.timeseries.t`);
  t.forEach((v, i) => num(v, `${path}.timeseries.t[${i}]`, 0));
  record(ts.bytes, `${path}.timeseries.bytes`, (v, p) => {
    const a = arr(v, p);
    if (a.length !== t.length) {
      fail(p, `expected ${t.length} points (the length of timeseries.t), got ${a.length}`);
    }
    a.forEach((b, i) => int(b, `${p}[${i}]`));
    return a;
  });

  record(r.walks, `${path}.walks`, (v, p) => {
    const w = obj(v, p);
    int(w.count, `${p}.count`);
    int(w.contended, `${p}.contended`);
    for (const f of ["visits", "hits", "useless", "structures"]) summary(w[f], `${p}.${f}`);
    arr(w.histogram, `${p}.histogram`).forEach((b, i) => {
      const bp = `${p}.histogram[${i}]`;
      const o = obj(b, bp);
      const lo = num(o.lo, `${bp}.lo`);
      const hi = num(o.hi, `${bp}.hi`);
      if (hi < lo) fail(`${bp}.hi`, `expected a number >= lo (${lo}), got ${hi}`);
      int(o.count, `${bp}.count`);
    });
    return w;
  });

  record(r.locks, `${path}.locks`, (v, p) => {
    const l = obj(v, p);
    int(l.readAcquisitions, `${p}.readAcquisitions`);
    int(l.writeAcquisitions, `${p}.writeAcquisitions`);
    int(l.trylockFailures, `${p}.trylockFailures`);
    summary(l.hold, `${p}.hold`);
    summary(l.wait, `${p}.wait`);
    record(l.workUnderLock, `${p}.workUnderLock`, (u, q) => num(u, q, 0));
    return l;
  });

  record(r.latency, `${path}.latency`, summary);
  const cpu = num(r.cpuUtilisation, `${path}.cpuUtilisation`, 0);
  if (cpu > 1) fail(`${path}.cpuUtilisation`, `expected a fraction between 0 and 1, got ${cpu}`);
  record(r.counters, `${path}.counters`, num);
  const oracle = obj(r.oracle, `${path}.oracle`);
  int(oracle.walksChecked, `${path}.oracle.walksChecked`);
  int(oracle.mismatches, `${path}.oracle.mismatches`);
  bool(oracle.leakFree, `${path}.oracle.leakFree`);

  if (r.notes !== undefined) {
    arr(r.notes, `${path}.notes`).forEach((n, i) => str(n, `${path}.notes[${i}]`));
  }
  if (r.repeats !== undefined) {
    arr(r.repeats, `${path}.repeats`).forEach((x, i) => {
      const p = `${path}.repeats[${i}]`;
      const o = obj(x, p);
      if (int(o.repeat, `${p}.repeat`) !== i) fail(`${p}.repeat`, `expected ${i}, got ${o.repeat}`);
      num(o.seed, `${p}.seed`);
      record(o.metrics, `${p}.metrics`, num);
    });
  }
  if (r.aggregates !== undefined) {
    record(r.aggregates, `${path}.aggregates`, (x, p) => {
      const o = obj(x, p);
      int(o.n, `${p}.n`);
      for (const f of ["mean", "sd", "min", "max"]) num(o[f], `${p}.${f}`);
      if (o.ci !== undefined) {
        const ci = arr(o.ci, `${p}.ci`);
        if (ci.length !== 2) fail(`${p}.ci`, `expected [low, high], got ${ci.length} numbers`);
        const lo = num(ci[0], `${p}.ci[0]`);
        if (num(ci[1], `${p}.ci[1]`) < lo) fail(`${p}.ci[1]`, `expected a number >= ci[0]`);
      }
      bool(o.exact, `${p}.exact`);
      return o;
    });
  }
  if (r.extraTables !== undefined) {
    arr(r.extraTables, `${path}.extraTables`).forEach((tb, i) => {
      const tp = `${path}.extraTables[${i}]`;
      const o = obj(tb, tp);
      str(o.title, `${tp}.title`);
      const cols = arr(o.columns, `${tp}.columns`);
      cols.forEach((c, j) => str(c, `${tp}.columns[${j}]`));
      arr(o.rows, `${tp}.rows`).forEach((row, j) => {
        const cells = arr(row, `${tp}.rows[${j}]`);
        if (cells.length !== cols.length) {
          fail(`${tp}.rows[${j}]`, `expected ${cols.length} cells, got ${cells.length}`);
        }
        cells.forEach((c, k) => {
          if (typeof c !== "string") num(c, `${tp}.rows[${j}][${k}]`);
        });
      });
    });
  }
}

/**
 * Checks that `x` is a Results document of {@link SCHEMA_VERSION} and returns it typed. Throws a
 * {@link ResultsValidationError} whose one-line message names the first bad path, e.g.
 * `Invalid results at runs[1].slab.final.objects.anon_vma: expected a non-negative integer, got
 * -1`. Run ids must be unique.
 *
 * @example Usage
 * ```ts
 * import { validateResults } from "./results.ts";
 * try {
 *   validateResults({ schemaVersion: 2 });
 *   throw new Error("should have thrown");
 * } catch (e) {
 *   if (!String(e).includes("schemaVersion")) throw e;
 * }
 * ```
 */
export function validateResults(x: unknown): Results {
  const o = obj(x, "$");
  if (o.schemaVersion !== SCHEMA_VERSION) {
    const v = o.schemaVersion;
    const known = typeof v === "number" && Object.hasOwn(SCHEMA_HISTORY, v);
    fail(
      "schemaVersion",
      known
        ? `this is a version ${v} document (${SCHEMA_HISTORY[v as number]}); this rmapbench ` +
          `reads version ${SCHEMA_VERSION} only: re-run the command in its suite.command`
        : `expected ${SCHEMA_VERSION}, got ${describe(v)}`,
    );
  }
  const tool = obj(o.tool, "tool");
  str(tool.name, "tool.name");
  str(tool.version, "tool.version");
  const suite = obj(o.suite, "suite");
  str(suite.command, "suite.command");
  num(suite.seed, "suite.seed");
  arr(suite.schemes, "suite.schemes").forEach((s, i) => str(s, `suite.schemes[${i}]`));
  arr(suite.workloads, "suite.workloads").forEach((s, i) => str(s, `suite.workloads[${i}]`));
  str(suite.costProfile, "suite.costProfile");
  if (suite.repeat !== undefined && int(suite.repeat, "suite.repeat") < 1) {
    fail("suite.repeat", "expected an integer >= 1, got 0");
  }
  if (suite.repeatSeeds !== undefined) {
    arr(suite.repeatSeeds, "suite.repeatSeeds").forEach((x, i) =>
      num(x, `suite.repeatSeeds[${i}]`)
    );
  }
  if (suite.baselineScheme !== undefined) str(suite.baselineScheme, "suite.baselineScheme");
  const env = obj(o.environment, "environment");
  str(env.generatedAt, "environment.generatedAt");
  str(env.deno, "environment.deno");
  str(env.v8, "environment.v8");
  str(env.os, "environment.os");
  str(env.arch, "environment.arch");
  int(env.cpus, "environment.cpus");
  for (const [k, v] of Object.entries(env)) {
    if (!["string", "number", "boolean"].includes(typeof v)) {
      fail(key("environment", k), `expected a string, number or boolean, got ${describe(v)}`);
    }
  }
  const seen = new Map<string, number>();
  arr(o.runs, "runs").forEach((r, i) => {
    validateRun(r, `runs[${i}]`);
    const id = (r as RunResult).id;
    const prev = seen.get(id);
    if (prev !== undefined) {
      fail(`runs[${i}].id`, `duplicates runs[${prev}].id ${JSON.stringify(id)}`);
    }
    seen.set(id, i);
  });
  return o as unknown as Results;
}
