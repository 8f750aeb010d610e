/**
 * Compares a Results document with a baseline.
 *
 * Runs are matched by id; the `environment` block is ignored. Every metric of
 * {@link runMetrics} is compared:
 *
 * - **All metrics are smaller-is-better**: an increase beyond the threshold is a regression, a
 *   decrease beyond it an improvement. The exceptions are directionless figures that describe the
 *   workload rather than its cost (`ops`, walk counts and hits, scheme
 *   `counters.*`): their changes are listed under `changed` and never fail the comparison.
 * - Count metrics (objects, bytes, walk visits, acquisitions, trylock failures, oracle
 *   mismatches) are deterministic and compared with `counterThreshold` (default 0: exact).
 * - Time metrics (hold, wait and latency ns, `simulatedNs`) are compared with `timeThreshold` (default 0.10).
 *
 * A change counts when `|current - baseline| > threshold × |baseline|`, so from a baseline of 0
 * any increase counts.
 *
 * @module
 */

import { formatNumber, inlineCode } from "./markdown.ts";
import { type MetricKind, runMetrics } from "./metrics.ts";
import type { Results } from "./results.ts";

/** Options of {@link compareResults}. */
export interface CompareOptions {
  /** Relative threshold for count metrics; 0 (default) compares exactly. */
  counterThreshold?: number;
  /** Relative threshold for time metrics; default 0.10 (10 %). */
  timeThreshold?: number;
}

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
  /** Baseline value. */
  baseline: number;
  /** Current value. */
  current: number;
  /** Relative change `(current - baseline) / |baseline|`; ±Infinity from a baseline of 0. */
  change: number;
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
  /** Smaller-is-better metrics that increased beyond their threshold. */
  regressions: MetricChange[];
  /** Smaller-is-better metrics that decreased beyond their threshold. */
  improvements: MetricChange[];
  /** Directionless metrics that changed beyond their threshold. */
  changed: MetricChange[];
  /** Number of metrics within their threshold. */
  unchanged: number;
  /** Runs (and metrics of matched runs) in the baseline but not in the current document. */
  missing: PresenceChange[];
  /** Runs (and metrics of matched runs) in the current document but not in the baseline. */
  added: PresenceChange[];
  /** Differences in how the two documents were produced (seed, cost profile, version). */
  warnings: string[];
  /** Thresholds used. */
  thresholds: { counter: number; time: number };
  /** True when there is no regression and no baseline run is missing. */
  ok: boolean;
}

/**
 * Compares `current` with `baseline` (see the module documentation for the rules).
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
  const cmp: Comparison = {
    regressions: [],
    improvements: [],
    changed: [],
    unchanged: 0,
    missing: [],
    added: [],
    warnings: [],
    thresholds: { counter, time },
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

  const currentRuns = new Map(current.runs.map((r) => [r.id, r]));
  const baselineIds = new Set(baseline.runs.map((r) => r.id));
  for (const br of baseline.runs) {
    const cr = currentRuns.get(br.id);
    if (cr === undefined) {
      cmp.missing.push({ run: br.id, metric: null });
      continue;
    }
    if (br.seed !== cr.seed) {
      cmp.warnings.push(`Run ${br.id}: seeds differ: baseline ${br.seed}, current ${cr.seed}`);
    }
    const cm = new Map(runMetrics(cr).map((m) => [m.name, m]));
    const seen = new Set<string>();
    for (const m of runMetrics(br)) {
      seen.add(m.name);
      const now = cm.get(m.name);
      if (now === undefined) {
        cmp.missing.push({ run: br.id, metric: m.name });
        continue;
      }
      const threshold = m.kind === "time" ? time : counter;
      const delta = now.value - m.value;
      const change = delta === 0
        ? 0
        : m.value === 0
        ? Math.sign(delta) * Infinity
        : delta / Math.abs(m.value);
      if (delta === 0 || Math.abs(delta) <= threshold * Math.abs(m.value)) {
        cmp.unchanged++;
        continue;
      }
      const entry: MetricChange = {
        run: br.id,
        metric: m.name,
        unit: m.unit,
        kind: m.kind,
        baseline: m.value,
        current: now.value,
        change,
      };
      if (m.direction === "none") cmp.changed.push(entry);
      else if (delta > 0) cmp.regressions.push(entry);
      else cmp.improvements.push(entry);
    }
    for (const name of cm.keys()) if (!seen.has(name)) cmp.added.push({ run: br.id, metric: name });
  }
  for (const cr of current.runs) {
    if (!baselineIds.has(cr.id)) cmp.added.push({ run: cr.id, metric: null });
  }
  cmp.ok = cmp.regressions.length === 0 && !cmp.missing.some((m) => m.metric === null);
  return cmp;
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

function changeTable(title: string, entries: readonly MetricChange[]): string[] {
  if (entries.length === 0) return [];
  const lines = [
    "",
    `### ${title} (${entries.length})`,
    "",
    "| run | metric | baseline | current | change |",
    "| --- | --- | ---: | ---: | ---: |",
  ];
  for (const e of entries) {
    lines.push(
      `| ${inlineCode(e.run)} | ${inlineCode(e.metric)} | ${formatNumber(e.baseline, 2)} | ` +
        `${formatNumber(e.current, 2)} | ${formatChange(e.change)} |`,
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
