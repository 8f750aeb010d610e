/**
 * Verdicts: every scheme compared with a baseline scheme on the headline figures
 * ({@link HEADLINE_FIGURES}), per workload and parameter point, as the ratio of the means over
 * the paired repeats with its 95 % interval (Fieller, `reports/inference.ts`), written
 * `0.52 [0.48, 0.57]`. `=` when both are exact and equal; "n.s." (no significant difference)
 * when the interval contains 1.
 *
 * This module is browser compatible and has no dependencies outside the repository.
 *
 * @module
 */

import { HEADLINE_FIGURES, type HeadlineFigure } from "./metrics.ts";
import { pairedRatio, type RatioEstimate } from "./inference.ts";
import { metricAggregate, metricSamples, runSeeds } from "./repeats.ts";
import { type Results, runId, type RunResult } from "./results.ts";

/** Default baseline scheme of verdicts. */
export const DEFAULT_VERDICT_BASELINE = "anon_vma";

/** How a scheme fares against the baseline on one figure. */
export type VerdictStatus =
  | "baseline"
  | "equal"
  | "better"
  | "worse"
  | "no-difference"
  | "no-interval"
  | "absent";

/** One cell of a verdict: a headline figure of one scheme against the baseline. */
export interface VerdictCell {
  /** The figure. */
  figure: HeadlineFigure;
  /** The ratio scheme / baseline with its interval; null for the baseline or absent figures. */
  ratio: RatioEstimate | null;
  /** Mean of the figure over the scheme's repeats (null when the run lacks it). */
  mean: number | null;
  /** Classification (smaller is better for every headline figure). */
  status: VerdictStatus;
  /** Text of the cell, e.g. `0.52 [0.48, 0.57]`, `=`, `1.03 [0.97, 1.09] n.s.`. */
  text: string;
}

/** One scheme's row. */
export interface VerdictRow {
  /** The run. */
  run: RunResult;
  /** Whether this is the baseline's row. */
  baseline: boolean;
  /** One cell per headline figure. */
  cells: VerdictCell[];
}

/** The verdict of one workload at one parameter point. */
export interface Verdict {
  /** Workload id. */
  workload: string;
  /** Parameter suffix of the run ids (`[children=4]`), or "". */
  point: string;
  /** Baseline scheme id. */
  baselineScheme: string;
  /** Repeats per run (of the baseline). */
  repeats: number;
  /** One row per scheme, the baseline first. */
  rows: VerdictRow[];
}

/** The parameter suffix of a run id (`[children=4]`), or "". */
function suffixOf(run: RunResult): string {
  const base = runId(run.scheme.id, run.workload.id);
  return run.id.startsWith(base) ? run.id.slice(base.length) : `?${run.id}`;
}

/**
 * The baseline scheme of a document: `suite.baselineScheme`, else `anon_vma` when present,
 * else null.
 *
 * @example Usage
 * ```ts
 * import { baselineSchemeOf } from "./verdict.ts";
 * import type { Results } from "./results.ts";
 * declare const results: Results;
 * console.log(baselineSchemeOf(results));
 * ```
 */
export function baselineSchemeOf(results: Results): string | null {
  const want = results.suite.baselineScheme ?? DEFAULT_VERDICT_BASELINE;
  return results.runs.some((r) => r.scheme.id === want) ? want : null;
}

function fmtRatio(x: number): string {
  if (x === Infinity) return "∞";
  if (x === -Infinity) return "-∞";
  const a = Math.abs(x);
  if (a !== 0 && (a < 0.01 || a >= 1000)) return x.toExponential(1);
  return a >= 10 ? x.toPrecision(3) : x.toFixed(2);
}

/**
 * The text of a ratio: `=` when exact and equal, `0.52 [0.48, 0.57]`, with ` n.s.` when the
 * interval contains 1, ` (exact)` when both sides are exact, `∞ (baseline 0)` when the baseline
 * is 0.
 *
 * @example Usage
 * ```ts
 * import { formatRatio } from "./verdict.ts";
 * import { pairedRatio } from "./inference.ts";
 * if (formatRatio(pairedRatio([2, 2], [2, 2])) !== "=") throw new Error("unexpected");
 * ```
 */
export function formatRatio(r: RatioEstimate): string {
  if (r.equal) return "=";
  if (r.ratio === Infinity) return "∞ (baseline 0)";
  if (r.exact) return `${fmtRatio(r.ratio)} (exact)`;
  if (r.ci === null && r.n < 2) return `${fmtRatio(r.ratio)} (1 repeat)`;
  if (r.ci === null) return `${fmtRatio(r.ratio)} (no interval)`;
  const text = `${fmtRatio(r.ratio)} [${fmtRatio(r.ci[0])}, ${fmtRatio(r.ci[1])}]`;
  return r.significant ? text : `${text} n.s.`;
}

function statusOf(r: RatioEstimate): VerdictStatus {
  if (r.equal) return "equal";
  if (r.ratio === Infinity) return r.exact ? "worse" : "no-interval";
  if (r.exact) return r.ratio < 1 ? "better" : "worse";
  if (r.ci === null) return "no-interval";
  if (!r.significant) return "no-difference";
  return r.ratio < 1 ? "better" : "worse";
}

function sortRuns(runs: RunResult[], order: readonly string[]): RunResult[] {
  const rank = (r: RunResult): number => {
    const i = order.indexOf(r.scheme.id);
    return i < 0 ? order.length : i;
  };
  return runs.sort((a, b) => rank(a) - rank(b) || (a.scheme.id < b.scheme.id ? -1 : 1));
}

/**
 * The verdicts of a document: per workload and parameter point (in document order) with a run of
 * the baseline scheme, one row per scheme (baseline first, then suite order) and one cell per
 * headline figure. Empty without a baseline scheme.
 *
 * @example Usage
 * ```ts
 * import { verdicts } from "./verdict.ts";
 * import type { Results } from "./results.ts";
 * declare const results: Results;
 * for (const v of verdicts(results)) console.log(v.workload, v.rows.length);
 * ```
 */
export function verdicts(results: Results, baselineScheme = baselineSchemeOf(results)): Verdict[] {
  if (baselineScheme === null) return [];
  const groups = new Map<string, RunResult[]>();
  for (const r of results.runs) {
    const key = `${r.workload.id}${suffixOf(r)}`;
    const list = groups.get(key) ?? [];
    list.push(r);
    groups.set(key, list);
  }
  const out: Verdict[] = [];
  for (const runs of groups.values()) {
    const base = runs.find((r) => r.scheme.id === baselineScheme);
    if (base === undefined) continue;
    const point = suffixOf(base);
    const others = sortRuns(runs.filter((r) => r !== base), results.suite.schemes);
    const rows: VerdictRow[] = [{
      run: base,
      baseline: true,
      cells: HEADLINE_FIGURES.map((figure) => {
        const mean = metricAggregate(base, figure.metric)?.mean ?? null;
        return {
          figure,
          ratio: null,
          mean,
          status: mean === null ? "absent" : "baseline",
          text: mean === null ? "–" : formatFigure(mean, figure.unit),
        };
      }),
    }];
    for (const run of others) {
      rows.push({ run, baseline: false, cells: HEADLINE_FIGURES.map((f) => cell(run, base, f)) });
    }
    out.push({
      workload: base.workload.id,
      point,
      baselineScheme,
      repeats: runSeeds(base).length,
      rows,
    });
  }
  return out;
}

function cell(run: RunResult, base: RunResult, figure: HeadlineFigure): VerdictCell {
  const xs = metricSamples(run, figure.metric);
  const ys = metricSamples(base, figure.metric);
  const mean = metricAggregate(run, figure.metric)?.mean ?? null;
  if (xs === null || ys === null) {
    return { figure, ratio: null, mean, status: "absent", text: "–" };
  }
  const baseSeeds = runSeeds(base);
  const paired = xs.length === ys.length && runSeeds(run).every((s, i) => s === baseSeeds[i]);
  if (paired) {
    const ratio = pairedRatio(xs, ys);
    return { figure, ratio, mean, status: statusOf(ratio), text: formatRatio(ratio) };
  }
  // Repeats that do not share their seeds cannot be paired: the ratio of the means, no interval
  // (and not labelled "1 repeat", which it is not).
  const ratio = { ...pairedRatio([mean!], [metricAggregate(base, figure.metric)!.mean]), ci: null };
  return {
    figure,
    ratio,
    mean,
    status: "no-interval",
    text: `${fmtRatio(ratio.ratio)} (unpaired)`,
  };
}

/**
 * Formats a figure's value with its unit for a baseline row: bytes in KiB, ns in µs above 10 µs.
 *
 * @example Usage
 * ```ts
 * import { formatFigure } from "./verdict.ts";
 * if (formatFigure(2048, "bytes") !== "2.0 KiB") throw new Error("unexpected");
 * ```
 */
export function formatFigure(value: number, unit: string): string {
  if (unit === "bytes") return `${(value / 1024).toFixed(1)} KiB`;
  if (unit === "ns") {
    return value >= 10_000 ? `${(value / 1000).toFixed(1)} µs` : `${value.toFixed(0)} ns`;
  }
  if (unit === "%") return `${value.toFixed(1)} %`;
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

/** Where a scheme is better, worse, or not different from the baseline, over every verdict. */
export interface SchemeOutcome {
  /** Scheme id. */
  scheme: string;
  /** Figure label → workload points where the scheme is significantly better. */
  better: Map<string, string[]>;
  /** Figure label → workload points where the scheme is significantly worse. */
  worse: Map<string, string[]>;
  /** Cells compared with no significant difference (or equal). */
  same: number;
  /** Cells compared in total. */
  total: number;
}

/**
 * The cross-workload summary: per non-baseline scheme, where it is significantly better or worse
 * than the baseline, by headline figure.
 *
 * @example Usage
 * ```ts
 * import { schemeOutcomes, verdicts } from "./verdict.ts";
 * import type { Results } from "./results.ts";
 * declare const results: Results;
 * for (const o of schemeOutcomes(verdicts(results))) console.log(o.scheme, o.better.size);
 * ```
 */
export function schemeOutcomes(all: readonly Verdict[]): SchemeOutcome[] {
  const by = new Map<string, SchemeOutcome>();
  for (const v of all) {
    const where = `${v.workload}${v.point}`;
    for (const row of v.rows) {
      if (row.baseline) continue;
      const id = row.run.scheme.id;
      let o = by.get(id);
      if (!o) {
        o = { scheme: id, better: new Map(), worse: new Map(), same: 0, total: 0 };
        by.set(id, o);
      }
      for (const c of row.cells) {
        if (c.status === "absent" || c.status === "no-interval") continue;
        o.total++;
        const bucket = c.status === "better" ? o.better : c.status === "worse" ? o.worse : null;
        if (bucket === null) {
          o.same++;
          continue;
        }
        const list = bucket.get(c.figure.label) ?? [];
        list.push(where);
        bucket.set(c.figure.label, list);
      }
    }
  }
  return [...by.values()];
}
