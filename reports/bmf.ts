/**
 * Exports for continuous-benchmarking services: Bencher Metric Format (BMF) JSON and
 * github-action-benchmark's `customSmallerIsBetter` JSON (ecosystem.md §2.3).
 *
 * Every exported measure is smaller-is-better. Benchmarks are named by run id
 * (`"<scheme>/<workload>"`).
 *
 * @module
 */

import { metricAggregate, runSeeds } from "./repeats.ts";
import type { Results, RunResult } from "./results.ts";

/** One exported measure: a Bencher slug, a unit for github-action-benchmark, and how to read it. */
export interface ExportedMeasure {
  /** Bencher measure slug, e.g. `"slab-bytes"`. */
  slug: string;
  /** Unit shown by github-action-benchmark. */
  unit: string;
  /** The metric of `runMetrics` it exports (mean over the repeats, with its interval). */
  metric: string;
  /** Reads the value from a run: the metric's mean over the repeats (0 when absent). */
  value: (run: RunResult) => number;
}

function measure(slug: string, unit: string, metric: string): ExportedMeasure {
  return { slug, unit, metric, value: (r) => metricAggregate(r, metric)?.mean ?? 0 };
}

/** The measures exported per run, in order. */
export const EXPORTED_MEASURES: readonly ExportedMeasure[] = [
  measure("slab-bytes", "bytes", "slab.final.totalBytes"),
  measure("slab-bytes-peak", "bytes", "slab.peak.totalBytes"),
  measure("rmap-bytes", "bytes", "rmapBytes.final"),
  measure("rmap-bytes-peak", "bytes", "rmapBytes.peak"),
  measure("anon-vma-objects", "objects", "slab.final.objects.anon_vma"),
  measure("anon-vma-chain-objects", "objects", "slab.final.objects.anon_vma_chain"),
  measure("rmap-walk-visits-p99", "visits", "walks.all.visits.p99"),
  measure("rmap-walk-useless-visits", "visits", "walks.all.uselessVisits"),
  measure("lock-wait-p99-ns", "ns", "locks.all.wait.p99"),
  measure("lock-hold-p99-ns", "ns", "locks.all.hold.p99"),
  measure("own-lock-wait-p99-ns", "ns", "locks.owned.wait.p99"),
  measure("own-lock-hold-p99-ns", "ns", "locks.owned.hold.p99"),
  measure("trylock-failures", "count", "locks.all.trylockFailures"),
  measure("fork-p99-ns", "ns", "latency.fork.p99"),
  measure("exit-p99-ns", "ns", "latency.exit.p99"),
  measure("fault-p99-ns", "ns", "latency.fault.p99"),
  measure("simulated-ns", "ns", "simulatedNs"),
  measure("oracle-mismatches", "count", "oracle.mismatches"),
];

/** One Bencher metric: the mean and, with repeats, its 95 % interval. */
export interface BencherMetric {
  /** Mean over the repeats. */
  value: number;
  /** Lower end of the 95 % interval of the mean (with two or more repeats). */
  lower_value?: number;
  /** Upper end of the 95 % interval of the mean (with two or more repeats). */
  upper_value?: number;
}

/** A Bencher Metric Format document: benchmark name → measure slug → metric. */
export type BencherMetricFormat = Record<string, Record<string, BencherMetric>>;

/** One entry of github-action-benchmark's custom JSON. */
export interface CustomBenchmarkEntry {
  /** Benchmark name: `"<run id> <measure slug>"`. */
  name: string;
  /** Unit. */
  unit: string;
  /** Value (smaller is better): the mean over the repeats. */
  value: number;
  /** `± half-width` of the 95 % interval, with repeats. */
  range?: string;
  /** Seeds, parameters and the interval, e.g. `n=5 seeds=1,… 95% CI [1, 2] params: a=1`. */
  extra?: string;
}

/**
 * The Bencher Metric Format object of a document: per run and measure of
 * {@link EXPORTED_MEASURES}, the mean over the repeats as `value` and its 95 % interval as
 * `lower_value`/`upper_value` (with two or more repeats). Measures: `slab-bytes` (final),
 * `slab-bytes-peak`, `rmap-bytes`, `rmap-bytes-peak` (the scheme's own caches),
 * `anon-vma-objects`, `anon-vma-chain-objects`, `rmap-walk-visits-p99` (worst walk kind),
 * `rmap-walk-useless-visits` (total), `lock-wait-p99-ns` and `lock-hold-p99-ns` (worst lock
 * class), `own-lock-wait-p99-ns` and `own-lock-hold-p99-ns` (the scheme's own locks),
 * `trylock-failures`, `fork-p99-ns`, `exit-p99-ns`, `fault-p99-ns`, `simulated-ns`,
 * `oracle-mismatches`.
 *
 * @example Usage
 * ```ts
 * import { bencherMetricFormat } from "./bmf.ts";
 * import type { Results } from "./results.ts";
 * declare const results: Results;
 * const bmf = bencherMetricFormat(results);
 * console.log(bmf["anon_vma/fork_tree"]?.["slab-bytes"].value);
 * ```
 */
export function bencherMetricFormat(results: Results): BencherMetricFormat {
  const out: BencherMetricFormat = {};
  for (const r of results.runs) {
    const measures: Record<string, BencherMetric> = {};
    for (const m of EXPORTED_MEASURES) {
      const a = metricAggregate(r, m.metric);
      const metric: BencherMetric = { value: a?.mean ?? 0 };
      if (a?.ci) {
        metric.lower_value = a.ci[0];
        metric.upper_value = a.ci[1];
      }
      measures[m.slug] = metric;
    }
    out[r.id] = measures;
  }
  return out;
}

/**
 * {@link bencherMetricFormat} as JSON text (2-space indent, trailing newline), ready for
 * `bencher run --adapter json --file`.
 *
 * @example Usage
 * ```ts
 * import { bmfJson } from "./bmf.ts";
 * import type { Results } from "./results.ts";
 * declare const results: Results;
 * console.log(bmfJson(results));
 * ```
 */
export function bmfJson(results: Results): string {
  return JSON.stringify(bencherMetricFormat(results), null, 2) + "\n";
}

/**
 * github-action-benchmark entries for `tool: customSmallerIsBetter`: one entry per run and
 * measure of {@link EXPORTED_MEASURES}, named `"<run id> <slug>"`, with the mean over the
 * repeats as `value`, the interval's half-width as `range` and the seeds, interval and workload
 * parameters in `extra`.
 *
 * @example Usage
 * ```ts
 * import { customSmallerIsBetter } from "./bmf.ts";
 * import type { Results } from "./results.ts";
 * declare const results: Results;
 * for (const e of customSmallerIsBetter(results)) console.log(e.name, e.value, e.unit);
 * ```
 */
export function customSmallerIsBetter(results: Results): CustomBenchmarkEntry[] {
  const out: CustomBenchmarkEntry[] = [];
  for (const r of results.runs) {
    const seeds = runSeeds(r);
    const params = Object.keys(r.workload.params).sort()
      .map((k) => `${k}=${String(r.workload.params[k])}`).join(",");
    for (const m of EXPORTED_MEASURES) {
      const a = metricAggregate(r, m.metric);
      const entry: CustomBenchmarkEntry = {
        name: `${r.id} ${m.slug}`,
        unit: m.unit,
        value: a?.mean ?? 0,
      };
      const ci = a?.ci ? ` 95% CI [${a.ci[0]}, ${a.ci[1]}]` : "";
      if (a?.ci) entry.range = `± ${Number(((a.ci[1] - a.ci[0]) / 2).toPrecision(6))}`;
      entry.extra = `n=${seeds.length} seeds=${seeds.join(",")}${ci} params: ${params || "-"}`;
      out.push(entry);
    }
  }
  return out;
}

/**
 * {@link customSmallerIsBetter} as JSON text (2-space indent, trailing newline).
 *
 * @example Usage
 * ```ts
 * import { customSmallerIsBetterJson } from "./bmf.ts";
 * import type { Results } from "./results.ts";
 * declare const results: Results;
 * console.log(customSmallerIsBetterJson(results));
 * ```
 */
export function customSmallerIsBetterJson(results: Results): string {
  return JSON.stringify(customSmallerIsBetter(results), null, 2) + "\n";
}
