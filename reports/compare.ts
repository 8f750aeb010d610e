/**
 * Compares a Results document with a baseline.
 *
 * Runs are matched by id; the `environment` block is ignored. Every metric of
 * {@link runMetrics} is compared:
 *
 * - **All metrics are smaller-is-better**: an increase is a regression, a decrease an
 *   improvement. The exceptions are directionless figures that describe the workload rather than
 *   its cost (`ops`, walk counts and hits, scheme `counters.*`): their changes are listed under
 *   `changed` and never fail the comparison.
 * - **With repeats on both sides** (two or more each), a figure that depends on the seed is
 *   compared statistically: a change counts only when it is *significant* and its size (change
 *   of the mean, relative to the baseline mean) is beyond the threshold. Significance: Welch's
 *   t-test when the two sides used different seeds, a paired t-test when they used the same
 *   seeds; the p-values of every statistical comparison of the two documents are adjusted
 *   together with Benjamini–Hochberg at a false discovery rate of 5 % (`reports/inference.ts`).
 * - **Count metrics with the same seeds on both sides** (objects, bytes, walk visits,
 *   acquisitions: deterministic for a seed and version) are compared exactly, repeat by repeat:
 *   a change counts when any repeat moved beyond `counterThreshold` (default 0: exact).
 * - **Single runs** (a side without repeats) are compared value by value: counts with
 *   `counterThreshold`, times with `timeThreshold` (default 0.10); against a repeated run only its
 *   repeats with the same seed count (repeat 0 of `--seed S` against a single run of seed S).
 *
 * A change is measured as `|current - baseline| > threshold × |baseline|` on the means, so from
 * a baseline of 0 any increase counts.
 *
 * Differences in how the documents were produced (workload, machine, kernel or cost parameters,
 * seeds, versions) are listed as one-line warnings. Two documents that share no run, or either
 * without runs, cannot be compared ({@link CompareError}).
 *
 * @module
 */

import { formatNumber, inlineCode } from "./markdown.ts";
import { type Metric, type MetricKind, runMetrics } from "./metrics.ts";
import { benjaminiHochberg, pairedP, welchP } from "./inference.ts";
import { metricAggregate, metricSamples, runSeeds } from "./repeats.ts";
import type { Results, RunResult } from "./results.ts";

/** False discovery rate of the statistical comparisons. */
export const COMPARE_FDR = 0.05;

/** Options of {@link compareResults}. */
export interface CompareOptions {
  /** Relative threshold for count metrics; 0 (default) compares exactly. */
  counterThreshold?: number;
  /** Relative threshold for time metrics; default 0.10 (10 %). */
  timeThreshold?: number;
}

/** How a metric was compared. */
export type CompareMethod = "value" | "exact" | "welch" | "paired";

/** One compared metric. */
export interface MetricChange {
  /** Run id, `"<scheme>/<workload>"`. */
  run: string;
  /** Metric name (see `runMetrics`), e.g. `slab.final.objects.anon_vma`. */
  metric: string;
  /** Unit of the metric. */
  unit: string;
  /** Count or time. */
  kind: MetricKind;
  /** Baseline value (the mean over its repeats). */
  baseline: number;
  /** Current value (the mean over its repeats). */
  current: number;
  /** Relative change `(current - baseline) / |baseline|`; ±Infinity from a baseline of 0. */
  change: number;
  /** How it was compared (absent: `"value"`, single runs). */
  method?: CompareMethod;
  /** 95 % interval of the baseline mean, with repeats. */
  baselineCi?: number[];
  /** 95 % interval of the current mean, with repeats. */
  currentCi?: number[];
  /** Two-sided p-value of the test (statistical methods only), before adjustment. */
  p?: number;
}

/** Something present on one side only. `metric` is null when the whole run is absent. */
export interface PresenceChange {
  /** Run id. */
  run: string;
  /** Metric name, or null for the whole run. */
  metric: string | null;
}

/** Result of {@link compareResults}. */
export interface Comparison {
  /** Smaller-is-better metrics that increased beyond their threshold (and significantly). */
  regressions: MetricChange[];
  /** Smaller-is-better metrics that decreased beyond their threshold (and significantly). */
  improvements: MetricChange[];
  /** Directionless metrics that changed beyond their threshold (and significantly). */
  changed: MetricChange[];
  /** Number of metrics within their threshold or not significantly changed. */
  unchanged: number;
  /** Runs (and metrics of matched runs) in the baseline but not in the current document. */
  missing: PresenceChange[];
  /** Runs (and metrics of matched runs) in the current document but not in the baseline. */
  added: PresenceChange[];
  /** Differences in how the two documents were produced, one line each. */
  warnings: string[];
  /** Thresholds used. */
  thresholds: { counter: number; time: number };
  /** Repeats per side (largest over the runs). */
  repeats: { baseline: number; current: number };
  /** True when there is no regression and no baseline run is missing. */
  ok: boolean;
}

/** Two documents that cannot be compared (no runs, or no run in common). */
export class CompareError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "CompareError";
  }
}

function relativeChange(base: number, now: number): number {
  const delta = now - base;
  return delta === 0 ? 0 : base === 0 ? Math.sign(delta) * Infinity : delta / Math.abs(base);
}

function beyond(base: number, now: number, threshold: number): boolean {
  const delta = now - base;
  return delta !== 0 && Math.abs(delta) > threshold * Math.abs(base);
}

function sameList(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function paramsText(p: Record<string, unknown> | undefined): string {
  if (p === undefined) return "(not recorded)";
  const keys = Object.keys(p).sort();
  return keys.length ? keys.map((k) => `${k}=${String(p[k])}`).join(", ") : "(none)";
}

function diffText(
  a: Record<string, unknown> | undefined,
  b: Record<string, unknown> | undefined,
): string | null {
  if (a === undefined || b === undefined) return null;
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  const diffs = keys.filter((k) => a[k] !== b[k]).map((k) =>
    `${k} ${a[k] === undefined ? "(unset)" : String(a[k])} → ${
      b[k] === undefined ? "(unset)" : String(b[k])
    }`
  );
  return diffs.length ? diffs.join(", ") : null;
}

/** One metric of a matched run waiting for its verdict. */
interface Pending {
  entry: MetricChange;
  direction: Metric["direction"];
  beyond: boolean;
  /** Exact verdict (no test), or the index of its p-value. */
  decided: boolean | number;
}

/**
 * Compares `current` with `baseline` (see the module documentation for the rules). Throws a
 * {@link CompareError} when either document has no runs or they share no run, and a RangeError
 * for a bad threshold.
 *
 * @example Usage
 * ```ts
 * import { compareResults } from "./compare.ts";
 * import type { Results } from "./results.ts";
 * declare const baseline: Results;
 * declare const current: Results;
 * const cmp = compareResults(baseline, current, { timeThreshold: 0.05 });
 * if (!cmp.ok) console.log(`${cmp.regressions.length} regressions`);
 * ```
 */
export function compareResults(
  baseline: Results,
  current: Results,
  options: CompareOptions = {},
): Comparison {
  const counter = options.counterThreshold ?? 0;
  const time = options.timeThreshold ?? 0.10;
  for (const [name, v] of [["counterThreshold", counter], ["timeThreshold", time]] as const) {
    if (!Number.isFinite(v) || v < 0) {
      throw new RangeError(`Option ${name} must be a non-negative number, got ${v}`);
    }
  }
  if (baseline.runs.length === 0) throw new CompareError("The baseline has no runs");
  if (current.runs.length === 0) throw new CompareError("The current results have no runs");
  const currentRuns = new Map(current.runs.map((r) => [r.id, r]));
  if (!baseline.runs.some((r) => currentRuns.has(r.id))) {
    throw new CompareError(
      `The two documents share no run (baseline: ${
        baseline.runs.slice(0, 3).map((r) => r.id).join(", ")
      }${baseline.runs.length > 3 ? ", ..." : ""}; current: ${
        current.runs.slice(0, 3).map((r) => r.id).join(", ")
      }${current.runs.length > 3 ? ", ..." : ""})`,
    );
  }
  const maxRepeats = (d: Results): number => Math.max(...d.runs.map((r) => r.repeats?.length ?? 1));
  const cmp: Comparison = {
    regressions: [],
    improvements: [],
    changed: [],
    unchanged: 0,
    missing: [],
    added: [],
    warnings: [],
    thresholds: { counter, time },
    repeats: { baseline: maxRepeats(baseline), current: maxRepeats(current) },
    ok: true,
  };
  const b = baseline.suite;
  const c = current.suite;
  if (b.seed !== c.seed) cmp.warnings.push(`Seeds differ: baseline ${b.seed}, current ${c.seed}`);
  if (b.costProfile !== c.costProfile) {
    cmp.warnings.push(`Cost profiles differ: baseline ${b.costProfile}, current ${c.costProfile}`);
  }
  if (baseline.tool.version !== current.tool.version) {
    cmp.warnings.push(
      `Tool versions differ: baseline ${baseline.tool.version}, current ${current.tool.version}`,
    );
  }
  if (cmp.repeats.baseline < 2 || cmp.repeats.current < 2) {
    cmp.warnings.push(
      `Without repeats on both sides (baseline ${cmp.repeats.baseline}, current ` +
        `${cmp.repeats.current}) figures are compared value by value, without statistics` +
        (cmp.repeats.baseline !== cmp.repeats.current
          ? " (only the repeats with the same seed when there are some)"
          : "") +
        `; use --repeat 5 on both`,
    );
  }

  const pending: Pending[] = [];
  const pValues: number[] = [];
  const baselineIds = new Set(baseline.runs.map((r) => r.id));
  for (const br of baseline.runs) {
    const cr = currentRuns.get(br.id);
    if (cr === undefined) {
      cmp.missing.push({ run: br.id, metric: null });
      continue;
    }
    runWarnings(cmp.warnings, br, cr);
    const bSeeds = runSeeds(br);
    const cSeeds = runSeeds(cr);
    const statistical = bSeeds.length >= 2 && cSeeds.length >= 2;
    const sameSeeds = sameList(bSeeds, cSeeds);
    // The metrics each side recorded (a document from another version may have other names).
    const cm = recordedMetrics(cr);
    const seen = new Set<string>();
    for (const m of recordedMetrics(br).values()) {
      seen.add(m.name);
      if (!cm.has(m.name)) {
        cmp.missing.push({ run: br.id, metric: m.name });
        continue;
      }
      const threshold = m.kind === "time" ? time : counter;
      const xs = metricSamples(br, m.name)!;
      const ys = metricSamples(cr, m.name)!;
      const ba = metricAggregate(br, m.name)!;
      const ca = metricAggregate(cr, m.name)!;
      const entry: MetricChange = {
        run: br.id,
        metric: m.name,
        unit: m.unit,
        kind: m.kind,
        baseline: ba.mean,
        current: ca.mean,
        change: relativeChange(ba.mean, ca.mean),
      };
      const p: Pending = {
        entry,
        direction: m.direction,
        beyond: beyond(ba.mean, ca.mean, threshold),
        decided: false,
      };
      if (!statistical) {
        // One side has a single repeat: compare the repeats that share a seed (a single-run
        // baseline against repeat 0 of a repeated run), else the values as they are.
        const common = bSeeds.filter((seed) => cSeeds.includes(seed));
        if (common.length > 0 && (common.length < bSeeds.length || common.length < cSeeds.length)) {
          const xb = common.map((seed) => xs[bSeeds.indexOf(seed)]);
          const yc = common.map((seed) => ys[cSeeds.indexOf(seed)]);
          entry.baseline = xb.reduce((a, v) => a + v, 0) / xb.length;
          entry.current = yc.reduce((a, v) => a + v, 0) / yc.length;
          entry.change = relativeChange(entry.baseline, entry.current);
          p.beyond = beyond(entry.baseline, entry.current, threshold);
        }
        p.decided = p.beyond;
      } else if (m.kind === "count" && sameSeeds) {
        entry.method = "exact";
        p.decided = xs.some((x, i) => beyond(x, ys[i], threshold)) && ca.mean !== ba.mean;
      } else {
        entry.method = sameSeeds ? "paired" : "welch";
        if (ba.ci) entry.baselineCi = ba.ci;
        if (ca.ci) entry.currentCi = ca.ci;
        const pv = sameSeeds ? pairedP(ys, xs) : welchP(ys, xs);
        entry.p = Number(pv.toPrecision(6));
        p.decided = pValues.length;
        pValues.push(pv);
      }
      pending.push(p);
    }
    for (const name of cm.keys()) if (!seen.has(name)) cmp.added.push({ run: br.id, metric: name });
  }
  const discoveries = benjaminiHochberg(pValues, COMPARE_FDR);
  for (const p of pending) {
    const counts = typeof p.decided === "number" ? p.beyond && discoveries[p.decided] : p.decided;
    if (!counts) {
      cmp.unchanged++;
      continue;
    }
    if (p.direction === "none") cmp.changed.push(p.entry);
    else if (p.entry.current > p.entry.baseline) cmp.regressions.push(p.entry);
    else cmp.improvements.push(p.entry);
  }
  for (const cr of current.runs) {
    if (!baselineIds.has(cr.id)) cmp.added.push({ run: cr.id, metric: null });
  }
  cmp.ok = cmp.regressions.length === 0 && !cmp.missing.some((m) => m.metric === null);
  return cmp;
}

/**
 * The metrics a run recorded, by name: those of its repeats (or of the run itself without
 * repeats), described by {@link runMetrics} where it knows them (else a count, smaller-is-better).
 */
function recordedMetrics(run: RunResult): Map<string, Metric> {
  const known = new Map(runMetrics(run).map((m) => [m.name, m]));
  const names = run.repeats ? Object.keys(run.repeats[0]?.metrics ?? {}) : [...known.keys()];
  const out = new Map<string, Metric>();
  for (const name of names) {
    const m = known.get(name);
    out.set(name, m ?? { name, value: 0, unit: "", kind: "count", direction: "smaller" });
  }
  return out;
}

/** One-line warnings for differences in how two matched runs were produced. */
function runWarnings(out: string[], br: RunResult, cr: RunResult): void {
  const w = diffText(br.workload.params, cr.workload.params);
  if (w !== null) out.push(`Run ${br.id}: workload parameters differ: ${w}`);
  const m = diffText(br.machine, cr.machine);
  if (m !== null) out.push(`Run ${br.id}: machine parameters differ: ${m}`);
  const k = diffText(br.kernel, cr.kernel);
  if (k !== null) out.push(`Run ${br.id}: kernel parameters differ: ${k}`);
  if ((br.kernel === undefined) !== (cr.kernel === undefined)) {
    out.push(
      `Run ${br.id}: kernel parameters recorded on one side only (baseline ${
        paramsText(br.kernel)
      })`,
    );
  }
  const bs = runSeeds(br);
  const cs = runSeeds(cr);
  if (bs.length === 1 && cs.length === 1 && bs[0] !== cs[0]) {
    out.push(`Run ${br.id}: seeds differ: baseline ${bs[0]}, current ${cs[0]}`);
  }
}

/**
 * Formats a relative change as a signed percentage (`+5.0%`, `-12.5%`, `+∞`).
 *
 * @example Usage
 * ```ts
 * import { formatChange } from "./compare.ts";
 * if (formatChange(0.05) !== "+5.0%") throw new Error("unexpected");
 * ```
 */
export function formatChange(change: number): string {
  if (change === Infinity) return "+∞";
  if (change === -Infinity) return "-∞";
  return `${change >= 0 ? "+" : ""}${(change * 100).toFixed(1)}%`;
}

function withCi(value: number, ci: number[] | undefined): string {
  const v = formatNumber(value, 2);
  return ci === undefined ? v : `${v} [${formatNumber(ci[0], 2)}, ${formatNumber(ci[1], 2)}]`;
}

function changeTable(title: string, entries: readonly MetricChange[]): string[] {
  if (entries.length === 0) return [];
  const lines = [
    "",
    `### ${title} (${entries.length})`,
    "",
    "| run | metric | baseline | current | change | test |",
    "| --- | --- | ---: | ---: | ---: | --- |",
  ];
  for (const e of entries) {
    const test = e.p !== undefined
      ? `${e.method} p=${e.p.toPrecision(2)}`
      : e.method === "exact"
      ? "exact, same seeds"
      : "value";
    lines.push(
      `| ${inlineCode(e.run)} | ${inlineCode(e.metric)} | ${withCi(e.baseline, e.baselineCi)} | ` +
        `${withCi(e.current, e.currentCi)} | ${formatChange(e.change)} | ${test} |`,
    );
  }
  return lines;
}

/**
 * A markdown report of a comparison: the verdict, the thresholds, then only what changed
 * (regressions, improvements, directionless changes, missing and added runs or metrics).
 *
 * @example Usage
 * ```ts
 * import { compareMarkdown, compareResults } from "./compare.ts";
 * import type { Results } from "./results.ts";
 * declare const baseline: Results;
 * declare const current: Results;
 * console.log(compareMarkdown(compareResults(baseline, current)));
 * ```
 */
export function compareMarkdown(cmp: Comparison): string {
  const lines: string[] = [];
  lines.push(`## rmapbench comparison: ${cmp.ok ? "OK" : "REGRESSED"}`);
  lines.push("");
  lines.push(
    `${cmp.regressions.length} regressions, ${cmp.improvements.length} improvements, ` +
      `${cmp.changed.length} other changes, ${cmp.unchanged} unchanged; ` +
      `thresholds: counts ${formatThreshold(cmp.thresholds.counter)}, ` +
      `times ${formatThreshold(cmp.thresholds.time)}. All metrics are smaller-is-better.`,
  );
  if (cmp.repeats.baseline >= 2 && cmp.repeats.current >= 2) {
    lines.push(
      "",
      `Repeats: baseline ${cmp.repeats.baseline}, current ${cmp.repeats.current}. A change ` +
        `counts when it is beyond the threshold and significant (Welch's t-test, or a paired ` +
        `t-test with the same seeds; Benjamini–Hochberg over all tests, false discovery rate ` +
        `${COMPARE_FDR * 100} %); counts with the same seeds are compared exactly per repeat. ` +
        `Values are means with their 95 % intervals.`,
    );
  }
  for (const w of cmp.warnings) lines.push("", `> **Warning:** ${w.replace(/[<>|]/g, " ")}`);
  lines.push(...changeTable("Regressions", cmp.regressions));
  lines.push(...changeTable("Improvements", cmp.improvements));
  lines.push(...changeTable("Other changes (no better direction)", cmp.changed));
  for (const [title, list] of [["Missing", cmp.missing], ["Added", cmp.added]] as const) {
    if (list.length === 0) continue;
    lines.push("", `### ${title} (${list.length})`, "");
    for (const p of list) {
      lines.push(
        `- ${inlineCode(p.run)}${p.metric === null ? " (whole run)" : ` ${inlineCode(p.metric)}`}`,
      );
    }
  }
  return lines.join("\n") + "\n";
}

function formatThreshold(t: number): string {
  return t === 0 ? "exact" : `${formatNumber(t * 100, 1)}%`;
}
