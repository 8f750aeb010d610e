/**
 * Repeats of a run: combining the results of the repeats into one {@link RunResult} (the full
 * figures of repeat 0, every repeat's flat metrics, and per-metric aggregates), and reading them
 * back (a run recorded without repeats counts as one repeat).
 *
 * A metric a repeat did not record (a walk kind that never happened, an operation that never
 * ran) counts as 0 in that repeat, as the figures of an empty distribution are 0.
 *
 * This module is browser compatible and has no dependencies outside the repository.
 *
 * @module
 */

import { aggregate } from "./inference.ts";
import { metricSupport, metricValues } from "./metrics.ts";
import type { Aggregate, RepeatFigures, RunResult } from "./results.ts";

/**
 * Combines the repeats of one run (same scheme, workload and parameters; `runs[k]` is repeat k)
 * into one run: the figures of repeat 0, plus `repeats` and `aggregates`. The id is `id` when
 * given, else repeat 0's.
 *
 * @example Usage
 * ```ts ignore
 * import { combineRepeats } from "./repeats.ts";
 * import { runOne } from "../runner/recorder.ts";
 * const runs = [1, 2, 3].map((seed) => runOne({ scheme: "anon_vma", workload: "fork-storm", seed }));
 * const run = combineRepeats(runs);
 * console.log(run.aggregates!["rmapBytes.peak"].ci);
 * ```
 */
export function combineRepeats(runs: readonly RunResult[], id?: string): RunResult {
  if (runs.length === 0) throw new RangeError("A run needs at least one repeat");
  const repeats: RepeatFigures[] = runs.map((r, k) => ({
    repeat: k,
    seed: r.seed,
    metrics: metricValues(r),
  }));
  const { repeats: _r, aggregates: _a, ...first } = runs[0];
  return {
    ...first,
    id: id ?? first.id,
    repeats,
    aggregates: aggregateRepeats(repeats),
  };
}

/** {@link aggregate} of metric `name` within its support, if every value lies in it. */
function boundedAggregate(name: string, xs: readonly number[]): Aggregate {
  const s = metricSupport(name);
  const lower = s.lower ?? -Infinity, upper = s.upper ?? Infinity;
  return aggregate(xs, xs.every((x) => x >= lower && x <= upper) ? s : {});
}

/**
 * Per-metric statistics of repeats (every metric any repeat recorded; missing values count as 0).
 * Each interval is kept within the metric's possible values ({@link metricSupport}: none of
 * `runMetrics`' is below 0); a metric of another kind, with a value below 0, gets the plain
 * t-interval.
 *
 * @example Usage
 * ```ts
 * import { aggregateRepeats } from "./repeats.ts";
 * const a = aggregateRepeats([
 *   { repeat: 0, seed: 1, metrics: { x: 1 } },
 *   { repeat: 1, seed: 2, metrics: { x: 3 } },
 * ]);
 * if (a.x.mean !== 2) throw new Error("unexpected");
 * ```
 */
export function aggregateRepeats(repeats: readonly RepeatFigures[]): Record<string, Aggregate> {
  const names = new Set<string>();
  for (const r of repeats) for (const k of Object.keys(r.metrics)) names.add(k);
  const out: Record<string, Aggregate> = {};
  for (const name of [...names].sort()) {
    out[name] = boundedAggregate(name, repeats.map((r) => r.metrics[name] ?? 0));
  }
  return out;
}

/**
 * The repeats of a run: `run.repeats`, or repeat 0 made from the run's own figures when it was
 * recorded without repeats.
 *
 * @example Usage
 * ```ts
 * import { runRepeats } from "./repeats.ts";
 * import type { RunResult } from "./results.ts";
 * declare const run: RunResult;
 * console.log(runRepeats(run).length);
 * ```
 */
export function runRepeats(run: RunResult): RepeatFigures[] {
  return run.repeats ?? [{ repeat: 0, seed: run.seed, metrics: metricValues(run) }];
}

/**
 * The values of one metric over the repeats of a run (0 where a repeat lacks it), or null when no
 * repeat recorded it.
 *
 * @example Usage
 * ```ts
 * import { metricSamples } from "./repeats.ts";
 * import type { RunResult } from "./results.ts";
 * declare const run: RunResult;
 * console.log(metricSamples(run, "rmapBytes.peak"));
 * ```
 */
export function metricSamples(run: RunResult, metric: string): number[] | null {
  const reps = runRepeats(run);
  if (!reps.some((r) => metric in r.metrics)) return null;
  return reps.map((r) => r.metrics[metric] ?? 0);
}

/**
 * The aggregate of one metric of a run (from `run.aggregates`, or computed from its repeats), or
 * null when no repeat recorded it.
 *
 * @example Usage
 * ```ts
 * import { metricAggregate } from "./repeats.ts";
 * import type { RunResult } from "./results.ts";
 * declare const run: RunResult;
 * console.log(metricAggregate(run, "rmapBytes.peak")?.mean);
 * ```
 */
export function metricAggregate(run: RunResult, metric: string): Aggregate | null {
  const a = run.aggregates?.[metric];
  if (a !== undefined) return a;
  const xs = metricSamples(run, metric);
  return xs === null ? null : boundedAggregate(metric, xs);
}

/**
 * The seeds of a run's repeats, in order.
 *
 * @example Usage
 * ```ts
 * import { runSeeds } from "./repeats.ts";
 * import type { RunResult } from "./results.ts";
 * declare const run: RunResult;
 * console.log(runSeeds(run).join(","));
 * ```
 */
export function runSeeds(run: RunResult): number[] {
  return runRepeats(run).map((r) => r.seed);
}

/**
 * A run's correctness over every repeat: the most oracle mismatches any repeat had, and whether
 * every repeat was leak-free. A run's own `oracle` block is repeat 0's, so a failure in a later
 * repeat shows only here (and in the repeats' `oracle.mismatches` and `oracle.leaks` metrics).
 *
 * @example Usage
 * ```ts
 * import { runCorrectness } from "./repeats.ts";
 * import type { RunResult } from "./results.ts";
 * const run = {
 *   oracle: { walksChecked: 9, mismatches: 0, leakFree: true },
 *   repeats: [
 *     { repeat: 0, seed: 1, metrics: { "oracle.mismatches": 0, "oracle.leaks": 0 } },
 *     { repeat: 1, seed: 2, metrics: { "oracle.mismatches": 0, "oracle.leaks": 1 } },
 *   ],
 * } as unknown as RunResult;
 * const c = runCorrectness(run);
 * if (c.mismatches !== 0 || c.leakFree) throw new Error("unexpected");
 * ```
 */
export function runCorrectness(run: RunResult): { mismatches: number; leakFree: boolean } {
  let mismatches = run.oracle.mismatches;
  for (const m of metricSamples(run, "oracle.mismatches") ?? []) {
    mismatches = Math.max(mismatches, m);
  }
  const leaks = metricSamples(run, "oracle.leaks") ?? [];
  return { mismatches, leakFree: run.oracle.leakFree && leaks.every((n) => n === 0) };
}
