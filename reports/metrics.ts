/**
 * Flat metrics of a run and the aggregate figures the short reports share.
 *
 * {@link runMetrics} turns a {@link RunResult} into a flat list of named numbers, each marked as a
 * deterministic count or a time, and as smaller-is-better or directionless. The comparison, the
 * Bencher and github-action-benchmark exporters and the markdown summary all read these, so they
 * agree on names and values.
 *
 * @module
 */

import type { Support } from "./inference.ts";
import {
  LATENCY_OPS,
  orderedKeys,
  RESULT_SLAB_CACHES,
  type RunResult,
  type Summary,
  WALK_KINDS,
} from "./results.ts";

/**
 * How a metric is compared: `"count"` metrics are deterministic for a given seed and version and
 * are compared exactly (or with a counter threshold); `"time"` metrics are simulated nanoseconds
 * that move when the cost model changes and are compared with a relative time threshold.
 */
export type MetricKind = "count" | "time";

/**
 * Direction: `"smaller"` means an increase is a regression. `"none"` marks figures that describe
 * the workload rather than its cost (operations, walk hits, scheme counters such as reuse events):
 * a change is reported but is neither a regression nor an improvement.
 */
export type MetricDirection = "smaller" | "none";

/** One named number of a run. */
export interface Metric {
  /** Dotted path into the run, e.g. `slab.final.objects.anon_vma`, `locks.mmap_lock.wait.p99`. */
  name: string;
  /** The value. */
  value: number;
  /** Unit: `"objects"`, `"bytes"`, `"ns"`, `"visits"`, `"count"`. */
  unit: string;
  /** How it is compared. */
  kind: MetricKind;
  /** Whether smaller is better. */
  direction: MetricDirection;
}

/**
 * The values metric `name` of {@link runMetrics} can take: every one is a count, bytes, a time or
 * a percentage, so none is below 0, and a percentage (unit `"%"`, a name ending in `Percent`) is at
 * most 100. `aggregate` keeps the metric's interval within it.
 *
 * @example Usage
 * ```ts
 * import { metricSupport } from "./metrics.ts";
 * if (metricSupport("walks.all.uselessPercent").upper !== 100) throw new Error("unexpected");
 * if (metricSupport("locks.mmap_lock.wait.sum").lower !== 0) throw new Error("unexpected");
 * ```
 */
export function metricSupport(name: string): Support {
  return name.endsWith("Percent") ? { lower: 0, upper: 100 } : { lower: 0 };
}

const SUMMARY_FIELDS = ["mean", "p50", "p90", "p99", "max", "sum"] as const;

function push(
  out: Metric[],
  name: string,
  value: number,
  unit: string,
  kind: MetricKind,
  direction: MetricDirection = "smaller",
): void {
  out.push({ name, value, unit, kind, direction });
}

function pushSummary(
  out: Metric[],
  prefix: string,
  s: Summary,
  unit: string,
  kind: MetricKind,
  direction: MetricDirection = "smaller",
): void {
  for (const f of SUMMARY_FIELDS) push(out, `${prefix}.${f}`, s[f], unit, kind, direction);
}

/**
 * Every comparable figure of a run as a flat list, in a stable order. Environment data and the
 * time series are not included; `cpuUtilisation` is not either (it is neither better smaller nor
 * larger).
 *
 * @example Usage
 * ```ts
 * import { runMetrics } from "./metrics.ts";
 * import type { RunResult } from "./results.ts";
 * declare const run: RunResult;
 * const anonVmas = runMetrics(run).find((m) => m.name === "slab.final.objects.anon_vma");
 * console.log(anonVmas?.value);
 * ```
 */
export function runMetrics(run: RunResult): Metric[] {
  const out: Metric[] = [];
  // Derived figures first: the headline figures read them by name (HEADLINE_FIGURES).
  push(out, "rmapBytes.final", run.rmapBytes.final, "bytes", "count");
  push(out, "rmapBytes.peak", run.rmapBytes.peak, "bytes", "count");
  const w = walkTotals(run);
  push(out, "walks.all.visits.mean", w.visitsMean, "visits", "count");
  push(out, "walks.all.visits.p99", w.visitsP99, "visits", "count");
  push(out, "walks.all.visits.max", w.visitsMax, "visits", "count");
  push(out, "walks.all.uselessPercent", w.uselessPercent, "%", "count");
  push(out, "walks.all.uselessVisits", w.uselessVisits, "visits", "count");
  const owned = lockGroupFigures(run, ownedLockClasses(run));
  push(out, "locks.owned.hold.p99", owned.holdP99, "ns", "time");
  push(out, "locks.owned.wait.p99", owned.waitP99, "ns", "time");
  push(out, "locks.owned.acquisitions", owned.acquisitions, "count", "count");
  push(out, "locks.owned.workUnderLock", owned.work, "units", "count");
  const shared = lockGroupFigures(run, sharedLockClasses(run));
  push(out, "locks.shared.hold.p99", shared.holdP99, "ns", "time");
  push(out, "locks.shared.wait.p99", shared.waitP99, "ns", "time");
  const all = lockGroupFigures(run, Object.keys(run.locks));
  push(out, "locks.all.hold.p99", all.holdP99, "ns", "time");
  push(out, "locks.all.wait.p99", all.waitP99, "ns", "time");
  push(out, "locks.all.trylockFailures", totalTrylockFailures(run), "count", "count");
  push(out, "simulatedNs", run.simulatedNs, "ns", "time");
  push(out, "ops", run.ops, "count", "count", "none");
  const slab = run.slab;
  for (const c of orderedKeys(Object.keys(slab.final.objects), RESULT_SLAB_CACHES)) {
    push(out, `slab.final.objects.${c}`, slab.final.objects[c], "objects", "count");
  }
  for (const c of orderedKeys(Object.keys(slab.final.bytes), RESULT_SLAB_CACHES)) {
    push(out, `slab.final.bytes.${c}`, slab.final.bytes[c], "bytes", "count");
  }
  push(out, "slab.final.totalBytes", slab.final.totalBytes, "bytes", "count");
  for (const c of orderedKeys(Object.keys(slab.peak.objects), RESULT_SLAB_CACHES)) {
    push(out, `slab.peak.objects.${c}`, slab.peak.objects[c], "objects", "count");
  }
  for (const c of orderedKeys(Object.keys(slab.peak.bytes), RESULT_SLAB_CACHES)) {
    push(out, `slab.peak.bytes.${c}`, slab.peak.bytes[c], "bytes", "count");
  }
  push(out, "slab.peak.totalBytes", slab.peak.totalBytes, "bytes", "count");
  for (const c of orderedKeys(Object.keys(slab.allocs), RESULT_SLAB_CACHES)) {
    push(out, `slab.allocs.${c}`, slab.allocs[c], "objects", "count");
  }
  for (const k of orderedKeys(Object.keys(run.walks), WALK_KINDS)) {
    const w = run.walks[k];
    push(out, `walks.${k}.count`, w.count, "count", "count", "none");
    push(out, `walks.${k}.contended`, w.contended, "count", "count");
    pushSummary(out, `walks.${k}.visits`, w.visits, "visits", "count");
    push(out, `walks.${k}.hits.sum`, w.hits.sum, "visits", "count", "none");
    pushSummary(out, `walks.${k}.useless`, w.useless, "visits", "count");
    pushSummary(out, `walks.${k}.structures`, w.structures, "structures", "count");
  }
  for (const l of orderedKeys(Object.keys(run.locks))) {
    const s = run.locks[l];
    push(out, `locks.${l}.readAcquisitions`, s.readAcquisitions, "count", "count");
    push(out, `locks.${l}.writeAcquisitions`, s.writeAcquisitions, "count", "count");
    push(out, `locks.${l}.trylockFailures`, s.trylockFailures, "count", "count");
    for (const w of orderedKeys(Object.keys(s.workUnderLock))) {
      push(out, `locks.${l}.workUnderLock.${w}`, s.workUnderLock[w], "units", "count");
    }
    for (const f of ["p50", "p99", "max", "sum"] as const) {
      push(out, `locks.${l}.hold.${f}`, s.hold[f], "ns", "time");
    }
    for (const f of ["p50", "p99", "max", "sum"] as const) {
      push(out, `locks.${l}.wait.${f}`, s.wait[f], "ns", "time");
    }
  }
  for (const op of orderedKeys(Object.keys(run.latency), LATENCY_OPS)) {
    for (const f of ["mean", "p50", "p99", "max"] as const) {
      push(out, `latency.${op}.${f}`, run.latency[op][f], "ns", "time");
    }
  }
  for (const c of orderedKeys(Object.keys(run.counters))) {
    push(out, `counters.${c}`, run.counters[c], "count", "count", "none");
  }
  push(out, "oracle.mismatches", run.oracle.mismatches, "count", "count");
  push(out, "oracle.leaks", run.oracle.leakFree ? 0 : 1, "count", "count");
  return out;
}

/**
 * The largest visits p99 over every walk kind of a run (0 without walks).
 *
 * @example Usage
 * ```ts
 * import { worstWalkVisitsP99 } from "./metrics.ts";
 * import type { RunResult } from "./results.ts";
 * declare const run: RunResult;
 * console.log(worstWalkVisitsP99(run));
 * ```
 */
export function worstWalkVisitsP99(run: RunResult): number {
  let worst = 0;
  for (const w of Object.values(run.walks)) worst = Math.max(worst, w.visits.p99);
  return worst;
}

/**
 * Useless visits as a percentage of all visits, over every walk kind (0 without visits).
 *
 * @example Usage
 * ```ts
 * import { uselessPercent } from "./metrics.ts";
 * import type { RunResult } from "./results.ts";
 * declare const run: RunResult;
 * console.log(uselessPercent(run).toFixed(1));
 * ```
 */
export function uselessPercent(run: RunResult): number {
  let visits = 0;
  let useless = 0;
  for (const w of Object.values(run.walks)) {
    visits += w.visits.sum;
    useless += w.useless.sum;
  }
  return visits === 0 ? 0 : (100 * useless) / visits;
}

/**
 * The lock class with the largest wait p99 and that p99 in ns; `lockClass` is null without locks.
 * Ties go to the class that sorts first.
 *
 * @example Usage
 * ```ts
 * import { worstLockWaitP99 } from "./metrics.ts";
 * import type { RunResult } from "./results.ts";
 * declare const run: RunResult;
 * const { lockClass, p99 } = worstLockWaitP99(run);
 * console.log(lockClass, p99);
 * ```
 */
export function worstLockWaitP99(run: RunResult): { lockClass: string | null; p99: number } {
  let best: { lockClass: string | null; p99: number } = { lockClass: null, p99: 0 };
  for (const l of orderedKeys(Object.keys(run.locks))) {
    const p99 = run.locks[l].wait.p99;
    if (best.lockClass === null || p99 > best.p99) best = { lockClass: l, p99 };
  }
  return best;
}

/**
 * The largest hold p99 over every lock class, ns (0 without locks).
 *
 * @example Usage
 * ```ts
 * import { worstLockHoldP99 } from "./metrics.ts";
 * import type { RunResult } from "./results.ts";
 * declare const run: RunResult;
 * console.log(worstLockHoldP99(run));
 * ```
 */
export function worstLockHoldP99(run: RunResult): number {
  let worst = 0;
  for (const l of Object.values(run.locks)) worst = Math.max(worst, l.hold.p99);
  return worst;
}

/**
 * Failed trylocks summed over every lock class.
 *
 * @example Usage
 * ```ts
 * import { totalTrylockFailures } from "./metrics.ts";
 * import type { RunResult } from "./results.ts";
 * declare const run: RunResult;
 * console.log(totalTrylockFailures(run));
 * ```
 */
export function totalTrylockFailures(run: RunResult): number {
  let n = 0;
  for (const l of Object.values(run.locks)) n += l.trylockFailures;
  return n;
}

/**
 * The lock classes the run's scheme owns (`scheme.ownedLockClasses`), in the run's sorted order,
 * only those the run recorded.
 *
 * @example Usage
 * ```ts
 * import { ownedLockClasses } from "./metrics.ts";
 * import type { RunResult } from "./results.ts";
 * declare const run: RunResult;
 * console.log(ownedLockClasses(run));
 * ```
 */
export function ownedLockClasses(run: RunResult): string[] {
  const owned = new Set(run.scheme.ownedLockClasses);
  return orderedKeys(Object.keys(run.locks)).filter((c) => owned.has(c));
}

/**
 * The lock classes every scheme shares (`mmap_lock`, page-table locks): those the run recorded
 * that its scheme does not own.
 *
 * @example Usage
 * ```ts
 * import { sharedLockClasses } from "./metrics.ts";
 * import type { RunResult } from "./results.ts";
 * declare const run: RunResult;
 * console.log(sharedLockClasses(run));
 * ```
 */
export function sharedLockClasses(run: RunResult): string[] {
  const owned = new Set(run.scheme.ownedLockClasses);
  return orderedKeys(Object.keys(run.locks)).filter((c) => !owned.has(c));
}

/** Figures of a group of lock classes of one run. */
export interface LockGroupFigures {
  /** Read and write acquisitions summed. */
  acquisitions: number;
  /** Work units done under the locks, summed over work kinds. */
  work: number;
  /** Largest hold p99 over the classes, ns. */
  holdP99: number;
  /** Largest wait p99 over the classes, ns. */
  waitP99: number;
  /** Failed trylocks summed. */
  trylockFailures: number;
}

/**
 * Acquisitions, work under the locks, worst hold and wait p99 and trylock failures over the given
 * lock classes of a run (all 0 for none).
 *
 * @example Usage
 * ```ts
 * import { lockGroupFigures, ownedLockClasses } from "./metrics.ts";
 * import type { RunResult } from "./results.ts";
 * declare const run: RunResult;
 * console.log(lockGroupFigures(run, ownedLockClasses(run)).waitP99);
 * ```
 */
export function lockGroupFigures(run: RunResult, classes: readonly string[]): LockGroupFigures {
  const out: LockGroupFigures = {
    acquisitions: 0,
    work: 0,
    holdP99: 0,
    waitP99: 0,
    trylockFailures: 0,
  };
  for (const cls of classes) {
    const l = run.locks[cls];
    if (l === undefined) continue;
    out.acquisitions += l.readAcquisitions + l.writeAcquisitions;
    for (const v of Object.values(l.workUnderLock)) out.work += v;
    out.holdP99 = Math.max(out.holdP99, l.hold.p99);
    out.waitP99 = Math.max(out.waitP99, l.wait.p99);
    out.trylockFailures += l.trylockFailures;
  }
  return out;
}

/** Walk figures over every walk kind of a run. */
export interface WalkTotals {
  /** Completed walks (contended walks visit nothing and are not counted). */
  walks: number;
  /** Mean visits per completed walk over every kind. */
  visitsMean: number;
  /** Largest visits p99 over the walk kinds. */
  visitsP99: number;
  /** Largest visits per walk. */
  visitsMax: number;
  /** Useless visits as a percentage of all visits. */
  uselessPercent: number;
  /** Useless visits summed over every walk. */
  uselessVisits: number;
}

/**
 * Walk visits over every walk kind of a run, weighted by walk count.
 *
 * @example Usage
 * ```ts
 * import { walkTotals } from "./metrics.ts";
 * import type { RunResult } from "./results.ts";
 * declare const run: RunResult;
 * console.log(walkTotals(run).visitsMean);
 * ```
 */
export function walkTotals(run: RunResult): WalkTotals {
  let walks = 0, sum = 0, p99 = 0, max = 0, useless = 0;
  for (const w of Object.values(run.walks)) {
    walks += w.visits.count;
    sum += w.visits.sum;
    useless += w.useless.sum;
    if (w.visits.p99 > p99) p99 = w.visits.p99;
    if (w.visits.max > max) max = w.visits.max;
  }
  return {
    walks,
    visitsMean: walks ? sum / walks : 0,
    visitsP99: p99,
    visitsMax: max,
    uselessPercent: sum ? (100 * useless) / sum : 0,
    uselessVisits: useless,
  };
}

/** One headline figure: the figures every verdict, summary and chart shows first. */
export interface HeadlineFigure {
  /** Metric name in {@link runMetrics} (and in `repeats[].metrics`, `aggregates`). */
  metric: string;
  /** Short label for table headers. */
  label: string;
  /** Unit. */
  unit: string;
  /** What it measures, one sentence. */
  description: string;
}

/**
 * The headline figures, named once here: rmap memory (final and peak bytes of the caches the
 * scheme owns), rmap walk visits (mean and worst-kind p99), the useless-visit share, hold and
 * wait p99 of the lock classes the scheme owns (shared locks such as `mmap_lock` are reported
 * apart), failed trylocks, and fork, exit and fault latency p99. All are smaller-is-better.
 */
export const HEADLINE_FIGURES: readonly HeadlineFigure[] = [
  {
    metric: "rmapBytes.final",
    label: "rmap bytes",
    unit: "bytes",
    description: "Live bytes of the caches the scheme owns when the workload finished.",
  },
  {
    metric: "rmapBytes.peak",
    label: "rmap bytes peak",
    unit: "bytes",
    description: "Largest live bytes of the caches the scheme owns at one moment.",
  },
  {
    metric: "walks.all.visits.mean",
    label: "walk visits mean",
    unit: "visits",
    description: "Candidate VMAs checked per rmap walk, over every walk kind.",
  },
  {
    metric: "walks.all.visits.p99",
    label: "walk visits p99",
    unit: "visits",
    description: "The largest per-kind p99 of candidate VMAs checked per walk.",
  },
  {
    metric: "walks.all.uselessPercent",
    label: "useless %",
    unit: "%",
    description: "Visits that did not find the folio mapped, as a share of all visits.",
  },
  {
    metric: "locks.owned.hold.p99",
    label: "own lock hold p99",
    unit: "ns",
    description: "The largest hold-time p99 over the lock classes the scheme owns.",
  },
  {
    metric: "locks.owned.wait.p99",
    label: "own lock wait p99",
    unit: "ns",
    description: "The largest wait-time p99 over the lock classes the scheme owns.",
  },
  {
    metric: "locks.all.trylockFailures",
    label: "trylock failures",
    unit: "count",
    description: "Failed trylocks (walks that gave up), over every lock class.",
  },
  {
    metric: "latency.fork.p99",
    label: "fork p99",
    unit: "ns",
    description: "Fork latency p99 (simulated).",
  },
  {
    metric: "latency.exit.p99",
    label: "exit p99",
    unit: "ns",
    description: "Exit latency p99 (simulated).",
  },
  {
    metric: "latency.fault.p99",
    label: "fault p99",
    unit: "ns",
    description: "Page-fault latency p99 (simulated).",
  },
];

/**
 * The flat metrics of a run as a name → value record (the form stored per repeat).
 *
 * @example Usage
 * ```ts
 * import { metricValues } from "./metrics.ts";
 * import type { RunResult } from "./results.ts";
 * declare const run: RunResult;
 * console.log(metricValues(run)["rmapBytes.final"]);
 * ```
 */
export function metricValues(run: RunResult): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of runMetrics(run)) out[m.name] = m.value;
  return out;
}
