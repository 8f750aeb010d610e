/**
 * Exports for continuous-benchmarking services: Bencher Metric Format (BMF) JSON and
 * github-action-benchmark's `customSmallerIsBetter` JSON (ecosystem.md §2.3).
 *
 * Every exported measure is smaller-is-better. Benchmarks are named by run id
 * (`"<scheme>/<workload>"`).
 *
 * @module
 */

import {
  totalTrylockFailures,
  worstLockHoldP99,
  worstLockWaitP99,
  worstWalkVisitsP99,
} from "./metrics.ts";
import type { Results, RunResult } from "./results.ts";

/** One exported measure: a Bencher slug, a unit for github-action-benchmark, and how to read it. */
export interface ExportedMeasure {
  /** Bencher measure slug, e.g. `"slab-bytes"`. */
  slug: string;
  /** Unit shown by github-action-benchmark. */
  unit: string;
  /** Reads the value from a run. */
  value: (run: RunResult) => number;
}

/** The measures exported per run, in order. */
export const EXPORTED_MEASURES: readonly ExportedMeasure[] = [
  { slug: "slab-bytes", unit: "bytes", value: (r) => r.slab.final.totalBytes },
  { slug: "slab-bytes-peak", unit: "bytes", value: (r) => r.slab.peak.totalBytes },
  { slug: "anon-vma-objects", unit: "objects", value: (r) => r.slab.final.objects.anon_vma ?? 0 },
  {
    slug: "anon-vma-chain-objects",
    unit: "objects",
    value: (r) => r.slab.final.objects.anon_vma_chain ?? 0,
  },
  { slug: "rmap-walk-visits-p99", unit: "visits", value: worstWalkVisitsP99 },
  {
    slug: "rmap-walk-useless-visits",
    unit: "visits",
    value: (r) => Object.values(r.walks).reduce((n, w) => n + w.useless.sum, 0),
  },
  { slug: "lock-wait-p99-ns", unit: "ns", value: (r) => worstLockWaitP99(r).p99 },
  { slug: "lock-hold-p99-ns", unit: "ns", value: worstLockHoldP99 },
  { slug: "trylock-failures", unit: "count", value: totalTrylockFailures },
  { slug: "simulated-ns", unit: "ns", value: (r) => r.simulatedNs },
  { slug: "oracle-mismatches", unit: "count", value: (r) => r.oracle.mismatches },
];

/** A Bencher Metric Format document: benchmark name → measure slug → `{ value }`. */
export type BencherMetricFormat = Record<string, Record<string, { value: number }>>;

/** One entry of github-action-benchmark's custom JSON. */
export interface CustomBenchmarkEntry {
  /** Benchmark name: `"<run id> <measure slug>"`. */
  name: string;
  /** Unit. */
  unit: string;
  /** Value (smaller is better). */
  value: number;
}

/**
 * The Bencher Metric Format object of a document. Measures: `slab-bytes` (final),
 * `slab-bytes-peak`, `anon-vma-objects`, `anon-vma-chain-objects`, `rmap-walk-visits-p99`
 * (worst walk kind), `rmap-walk-useless-visits` (total), `lock-wait-p99-ns` and
 * `lock-hold-p99-ns` (worst lock class), `trylock-failures`, `simulated-ns`, `oracle-mismatches`.
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
    const measures: Record<string, { value: number }> = {};
    for (const m of EXPORTED_MEASURES) measures[m.slug] = { value: m.value(r) };
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
 * measure of {@link EXPORTED_MEASURES}, named `"<run id> <slug>"`.
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
    for (const m of EXPORTED_MEASURES) {
      out.push({ name: `${r.id} ${m.slug}`, unit: m.unit, value: m.value(r) });
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
