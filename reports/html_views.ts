/**
 * The views of the report page: the data its script draws from ({@link PageData}, computed once
 * here from the Results) and the markup of each workload section, built with the escaping
 * {@link markup} template.
 *
 * Each workload section opens with its verdict (ratios to the baseline scheme with 95 % error
 * bars, then the same as a table), then the memory the schemes add (their own caches; the caches
 * every scheme shares in a secondary chart), walks (visit histograms on a log axis), the locks the
 * schemes own apart from the shared ones, latencies, and the tables. A chart whose values are all
 * zero is replaced by a sentence saying so.
 *
 * @module
 */

import {
  LATENCY_OPS,
  orderedKeys,
  RESULT_SLAB_CACHES,
  type RunResult,
  type Summary,
  WALK_KINDS,
} from "./results.ts";
import { histogramText } from "./csv.ts";
import { HEADLINE_FIGURES, lockGroupFigures, walkTotals } from "./metrics.ts";
import { metricAggregate, runCorrectness } from "./repeats.ts";
import { columnValue, formatColumnValue, TABLE_COLUMNS } from "./table.ts";
import type { Verdict } from "./verdict.ts";
import { type HtmlValue, markup, type SafeHtml } from "./html_template.ts";
import { WORKLOADS } from "../workloads/registry.ts";

/** Colours of the schemes: the three anon_vma variants and the others are told apart. */
export const SCHEME_COLORS: Readonly<Record<string, string>> = {
  "anon_vma": "#4e79a7",
  "anon_vma-2026": "#f28e2b",
  "anon_vma-per-av-lock": "#b07aa1",
  "anon_vma_lazy": "#76b7b2",
  "cow_context": "#59a14f",
};

const FALLBACK_COLORS = ["#e15759", "#edc948", "#ff9da7", "#9c755f", "#bab0ac"];

/** Colours of the slab caches in stacked charts. */
export const CACHE_COLORS: Readonly<Record<string, string>> = {
  vm_area_struct: "#9c755f",
  anon_vma: "#4e79a7",
  anon_vma_chain: "#a0cbe8",
  maple_node: "#bab0ac",
  mm_struct: "#d4a6c8",
  cow_context: "#59a14f",
  cow_remap_entry: "#8cd17d",
  cow_remap_array: "#b6992d",
};

/** The colour of a scheme (a fixed one for known schemes). */
export function schemeColor(id: string, index: number): string {
  return SCHEME_COLORS[id] ?? FALLBACK_COLORS[index % FALLBACK_COLORS.length];
}

/** mean/p50/p90/p99/max of a distribution. */
interface StatView {
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** The figures of one run the script draws. */
export interface RunView {
  label: string;
  final: Record<string, number>;
  peak: Record<string, number>;
  t: number[];
  series: Record<string, number[]>;
  walks: Record<string, Record<string, number>>;
  hold: Record<string, Record<string, number>>;
  wait: Record<string, Record<string, number>>;
  latency: Record<string, Record<string, number>>;
}

/** One run's point on the scaling charts (means over repeats); null where it has no figure. */
export interface SweepPoint {
  x: number;
  [metric: string]: number | null;
}

/** The scaling data of a one-parameter sweep: one line per scheme, points sorted by x. */
export interface SweepView {
  param: string;
  xs: number[];
  log: boolean;
  lines: { scheme: string; color: string; points: SweepPoint[] }[];
}

/** A verdict chart's data: per scheme, per headline figure, the ratio and its interval. */
export interface VerdictView {
  point: string;
  baseline: string;
  figures: string[];
  schemes: string[];
  colors: string[];
  ratios: (number | null)[][];
  cis: (number[] | null)[][];
  axisMin: number;
  axisMax: number;
}

/** Everything the script needs for one workload section. */
export interface WorkloadView {
  id: string;
  sweep: SweepView | null;
  walkKinds: string[];
  ops: string[];
  colors: string[];
  histograms: Record<string, { labels: string[]; counts: number[][] }>;
  runs: RunView[];
  verdicts: VerdictView[];
}

/** One chart of the page. */
export interface ChartSpec {
  id: string;
  figure:
    | "verdict"
    | "slab-final"
    | "slab-peak"
    | "slab-time"
    | "walks"
    | "histogram"
    | "hold"
    | "wait"
    | "latency"
    | "scaling";
  workload: number;
  /** Scaling metric of a `"scaling"` chart. */
  metric?: string;
  /** Verdict index of a `"verdict"` chart. */
  verdict?: number;
  /** Caches of a slab chart, lock classes of a lock chart. */
  labels?: string[];
}

/** The JSON the page embeds. */
export interface PageData {
  caches: string[];
  cacheColors: Record<string, string>;
  walkKinds: string[];
  workloads: WorkloadView[];
  charts: ChartSpec[];
}

function stat(s: Summary): StatView {
  return { mean: s.mean, p50: s.p50, p90: s.p90, p99: s.p99, max: s.max };
}

function mapRecord<T, U>(r: Record<string, T>, f: (v: T) => U): Record<string, U> {
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, f(v)]));
}

function unionKeys(runs: readonly RunResult[], pick: (r: RunResult) => object): string[] {
  const set = new Set<string>();
  for (const r of runs) for (const k of Object.keys(pick(r))) set.add(k);
  return [...set];
}

/** A short label for a run inside its workload's section. */
export function runLabelOf(r: RunResult): string {
  const base = `${r.scheme.id}/${r.workload.id}`;
  return r.id.startsWith(base) && r.id.length > base.length
    ? `${r.scheme.id} ${r.id.slice(base.length)}`
    : r.scheme.id;
}

type ParamScalar = number | string | boolean;

/** The `[k=v,...]` suffix of a sweep run id as pairs (numbers parsed). */
function idSuffixParams(r: RunResult): [string, ParamScalar][] {
  const base = `${r.scheme.id}/${r.workload.id}[`;
  if (!r.id.startsWith(base) || !r.id.endsWith("]")) return [];
  const out: [string, ParamScalar][] = [];
  for (const part of r.id.slice(base.length, -1).split(",")) {
    const eq = part.indexOf("=");
    if (eq <= 0) continue;
    const text = part.slice(eq + 1);
    const n = Number(text);
    out.push([part.slice(0, eq), text.trim() !== "" && Number.isFinite(n) ? n : text]);
  }
  return out;
}

function runParams(r: RunResult, withMachine: boolean): Map<string, ParamScalar> {
  const m = new Map<string, ParamScalar>(Object.entries(r.workload.params));
  if (withMachine && r.machine) {
    for (const [k, v] of Object.entries(r.machine)) m.set(`machine.${k}`, v);
  }
  for (const [k, v] of idSuffixParams(r)) {
    if (k.startsWith("kernel.") && !m.has(k)) m.set(k, v);
  }
  return m;
}

/** What a section's runs sweep. */
export type SweepKind =
  | { kind: "none" }
  | { kind: "one"; param: string; values: number[] }
  | { kind: "non-numeric"; param: string }
  | { kind: "several"; params: string[] };

/**
 * Classifies a workload section: a sweep when some scheme ran more than once; then the parameters
 * whose values differ between runs decide the kind. `values` are per run, in `runs` order.
 */
export function detectSweep(runs: readonly RunResult[]): SweepKind {
  const perScheme = new Map<string, number>();
  for (const r of runs) perScheme.set(r.scheme.id, (perScheme.get(r.scheme.id) ?? 0) + 1);
  if (![...perScheme.values()].some((n) => n > 1)) return { kind: "none" };
  const withMachine = runs.every((r) => r.machine !== undefined);
  const params = runs.map((r) => runParams(r, withMachine));
  const keys = orderedKeys(new Set(params.flatMap((m) => [...m.keys()])));
  const varying = keys.filter((k) => {
    const seen = new Set(params.map((m) => (m.has(k) ? `${typeof m.get(k)}:${m.get(k)}` : "-")));
    return seen.size > 1;
  });
  if (varying.length === 0) return { kind: "none" };
  if (varying.length > 1) return { kind: "several", params: varying };
  const param = varying[0];
  const values = params.map((m) => m.get(param));
  if (!values.every((v): v is number => typeof v === "number" && Number.isFinite(v))) {
    return { kind: "non-numeric", param };
  }
  return { kind: "one", param, values };
}

/** Scaling figures in display order: metric of `runMetrics`, key and caption. */
export const SCALING_METRICS: readonly { key: string; metric: string; caption: string }[] = [
  { key: "slabPeak", metric: "slab.peak.totalBytes", caption: "Peak slab KiB (all caches)" },
  { key: "rmapFinal", metric: "rmapBytes.final", caption: "Rmap KiB at the end (own caches)" },
  { key: "rmapPeak", metric: "rmapBytes.peak", caption: "Rmap KiB peak (own caches)" },
  { key: "walkP99", metric: "walks.all.visits.p99", caption: "Rmap walk visits p99" },
  { key: "useless", metric: "walks.all.uselessPercent", caption: "Useless visits %" },
  { key: "lockWait", metric: "locks.owned.wait.p99", caption: "Own lock wait p99 ns" },
  { key: "lockHold", metric: "locks.owned.hold.p99", caption: "Own lock hold p99 ns" },
];

function sweepPoint(r: RunResult, x: number): SweepPoint {
  const p: SweepPoint = { x };
  const hasWalks = walkTotals(r).walks > 0;
  const hasLocks = lockGroupFigures(r, r.scheme.ownedLockClasses).acquisitions > 0;
  for (const s of SCALING_METRICS) {
    const needsWalks = s.key === "walkP99" || s.key === "useless";
    const needsLocks = s.key === "lockWait" || s.key === "lockHold";
    p[s.key] = (needsWalks && !hasWalks) || (needsLocks && !hasLocks)
      ? null
      : metricAggregate(r, s.metric)?.mean ?? null;
  }
  return p;
}

function arithmetic(xs: readonly number[]): boolean {
  const d = xs[1] - xs[0];
  return xs.every((x, i) => i === 0 || Math.abs(x - xs[i - 1] - d) <= 1e-9 * Math.abs(d));
}

function sweepView(runs: readonly RunResult[], param: string, values: number[]): SweepView {
  const xs = [...new Set(values)].sort((a, b) => a - b);
  const lines: SweepView["lines"] = [];
  runs.forEach((r, i) => {
    let line = lines.find((l) => l.scheme === r.scheme.id);
    if (!line) {
      lines.push(line = { scheme: r.scheme.id, color: schemeColor(r.scheme.id, i), points: [] });
    }
    line.points.push(sweepPoint(r, values[i]));
  });
  for (const l of lines) l.points.sort((a, b) => a.x - b.x);
  const log = xs.length >= 3 && xs[0] > 0 && xs[xs.length - 1] / xs[0] >= 8 && !arithmetic(xs);
  return { param, xs, log, lines };
}

function verdictView(v: Verdict): VerdictView {
  const others = v.rows.filter((r) => !r.baseline);
  const ratios = others.map((row) =>
    row.cells.map((c) =>
      c.ratio === null || !Number.isFinite(c.ratio.ratio) || c.status === "absent"
        ? null
        : c.ratio.ratio
    )
  );
  const cis = others.map((row) =>
    row.cells.map((c) => (c.ratio?.ci && !c.ratio.exact ? [...c.ratio.ci] : null))
  );
  // A log axis spanning every ratio and bound, in whole decades, at least [0.5, 2].
  let lo = 0.5;
  let hi = 2;
  for (const row of [...ratios, ...cis.map((r) => r.flat())]) {
    for (const x of row) {
      if (typeof x !== "number" || !Number.isFinite(x) || x <= 0) continue;
      lo = Math.min(lo, x);
      hi = Math.max(hi, x);
    }
  }
  const axisMin = Math.max(1e-3, 10 ** Math.floor(Math.log10(lo) + 1e-9));
  const axisMax = Math.min(1e3, 10 ** Math.ceil(Math.log10(hi) - 1e-9));
  return {
    point: v.point,
    baseline: v.baselineScheme,
    figures: HEADLINE_FIGURES.map((f) => f.label),
    schemes: others.map((r) => r.run.scheme.id),
    colors: others.map((r, i) => schemeColor(r.run.scheme.id, i)),
    ratios,
    cis,
    axisMin,
    axisMax,
  };
}

/**
 * The view of one workload section (`runs` in display order; `verdicts` of its points).
 */
export function workloadView(id: string, runs: RunResult[], verdicts: Verdict[]): WorkloadView {
  const walkKinds = orderedKeys(unionKeys(runs, (r) => r.walks), WALK_KINDS);
  const histograms: WorkloadView["histograms"] = {};
  for (const k of walkKinds) {
    const buckets = new Map<string, { lo: number; hi: number }>();
    for (const r of runs) {
      for (const b of r.walks[k]?.histogram ?? []) buckets.set(`${b.lo}:${b.hi}`, b);
    }
    const sorted = [...buckets.values()].sort((a, b) => a.lo - b.lo || a.hi - b.hi);
    histograms[k] = {
      labels: sorted.map((b) => (b.lo === b.hi ? `${b.lo}` : `${b.lo}–${b.hi}`)),
      counts: runs.map((r) =>
        sorted.map((b) =>
          (r.walks[k]?.histogram ?? []).filter((x) => x.lo === b.lo && x.hi === b.hi)
            .reduce((n, x) => n + x.count, 0)
        )
      ),
    };
  }
  const sweep = detectSweep(runs);
  return {
    id,
    sweep: sweep.kind === "one" ? sweepView(runs, sweep.param, sweep.values) : null,
    walkKinds,
    ops: orderedKeys(unionKeys(runs, (r) => r.latency), LATENCY_OPS),
    colors: runs.map((r, i) => schemeColor(r.scheme.id, i)),
    histograms,
    runs: runs.map((r) => ({
      label: runLabelOf(r),
      final: r.slab.final.bytes,
      peak: r.slab.peak.bytes,
      t: r.timeseries.t,
      series: r.timeseries.bytes,
      walks: mapRecord(r.walks, (w) => ({ ...stat(w.visits) })),
      hold: mapRecord(r.locks, (l) => ({ ...stat(l.hold) })),
      wait: mapRecord(r.locks, (l) => ({ ...stat(l.wait) })),
      latency: mapRecord(r.latency, (s) => ({ ...stat(s) })),
    })),
    verdicts: verdicts.map(verdictView),
  };
}

// ---------------------------------------------------------------------------------------------
// Markup

function fmt(n: number | undefined): string {
  if (n === undefined) return "–";
  if (Number.isInteger(n)) {
    const s = String(Math.abs(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return n < 0 ? `-${s}` : s;
  }
  return n.toFixed(Math.abs(n) >= 100 ? 1 : 2);
}

/** A number already formatted as text, shown right-aligned. */
class NumText {
  constructor(readonly text: string) {}
}

type Cell = string | number | boolean | undefined | SafeHtml | NumText;

function cell(v: Cell): SafeHtml {
  if (typeof v === "number") return markup`<td class="num">${fmt(v)}</td>`;
  if (v instanceof NumText) return markup`<td class="num">${v.text}</td>`;
  if (typeof v === "boolean") return markup`<td>${v ? "yes" : "no"}</td>`;
  return markup`<td>${v ?? "–"}</td>`;
}

/** A table; every cell is escaped unless it is markup built by `markup`. */
export function htmlTable(
  header: readonly string[],
  rows: readonly (readonly Cell[])[],
  caption?: string,
  className?: string,
): SafeHtml {
  const cls = className ? markup` class="${className}"` : "";
  const cap = caption === undefined ? "" : markup`<caption>${caption}</caption>`;
  const head = header.map((h) => markup`<th scope="col">${h}</th>`);
  const body = rows.map((r) => markup`<tr>${r.map(cell)}</tr>\n`);
  return markup`<div class="table-wrap"><table${cls}>${cap}<thead><tr>${head}</tr></thead><tbody>
${body}</tbody></table></div>`;
}

function figure(id: string, caption: string): SafeHtml {
  return markup`<figure><figcaption>${caption}</figcaption><div class="chart"><canvas id="${id}" role="img" aria-label="${caption}"></canvas></div></figure>`;
}

function zeroNote(caption: string, what: string): SafeHtml {
  return markup`<figure><figcaption>${caption}</figcaption><p class="zero-note">All values are 0: ${what}.</p></figure>`;
}

/** Adds a chart to `charts` and returns its figure, or a sentence when every value is 0. */
function chartOrNote(
  charts: ChartSpec[],
  spec: ChartSpec,
  caption: string,
  allZero: boolean,
  what: string,
): SafeHtml {
  if (allZero) return zeroNote(caption, what);
  charts.push(spec);
  return figure(spec.id, caption);
}

function scalingBlock(
  wi: number,
  runs: readonly RunResult[],
  view: WorkloadView,
  charts: ChartSpec[],
): HtmlValue {
  const kind = detectSweep(runs);
  if (kind.kind === "several") {
    const names = kind.params.map((p, i) => markup`${i ? ", " : ""}<code>${p}</code>`);
    return markup`<p class="note sweep-note">This sweep varies several parameters (${names}), so no scaling charts are drawn; sweep one parameter at a time to get them.</p>\n`;
  }
  if (kind.kind === "non-numeric") {
    return markup`<p class="note sweep-note">This sweep varies the non-numeric parameter <code>${kind.param}</code>, so no scaling charts are drawn.</p>\n`;
  }
  const sw = view.sweep;
  if (sw === null) return "";
  const parts: SafeHtml[] = [];
  for (const { key, caption } of SCALING_METRICS) {
    const points = sw.lines.flatMap((l) => l.points);
    if (points.every((p) => p[key] === null)) continue;
    const id = `chart-${wi}-scaling-${key}`;
    parts.push(
      chartOrNote(
        charts,
        { id, figure: "scaling", workload: wi, metric: key },
        `${caption} vs ${sw.param}`,
        points.every((p) => !p[key]),
        "no scheme has this figure at any point",
      ),
    );
  }
  const rows = sw.lines.flatMap((l) =>
    l.points.map((p) => [
      l.scheme,
      p.x,
      ...SCALING_METRICS.map((s) => {
        const v = p[s.key];
        if (v === null) return undefined;
        return s.key.startsWith("slab") || s.key.startsWith("rmap") ? v / 1024 : v;
      }),
    ])
  );
  const table = htmlTable(["scheme", sw.param, ...SCALING_METRICS.map((s) => s.caption)], rows);
  return markup`<h3>Scaling with <code>${sw.param}</code></h3>
<div class="grid scaling">
${parts}
</div>
<details><summary>Scaling figures (means over repeats)</summary>
${table}
</details>
<h3>Per run</h3>
`;
}

/** The verdict block of a section: per point, the chart and the table. */
function verdictBlock(
  wi: number,
  verdicts: readonly Verdict[],
  charts: ChartSpec[],
): HtmlValue {
  if (verdicts.length === 0) return "";
  const blocks = verdicts.map((v, vi) => {
    const id = `chart-${wi}-verdict-${vi}`;
    const point = v.point === "" ? "" : ` ${v.point}`;
    const caption = `Verdict${point}: ratio to ${v.baselineScheme}` +
      (v.repeats > 1 ? " (95 % interval)" : " (one run each: no interval)");
    const chart = v.rows.length > 1
      ? chartOrNote(
        charts,
        { id, figure: "verdict", workload: wi, verdict: vi },
        caption,
        false,
        "",
      )
      : "";
    const rows = v.rows.map((row) => [
      row.run.scheme.id,
      ...row.cells.map((c) => markup`<span class="${c.status}">${c.text}</span>`),
    ]);
    const table = htmlTable(
      ["scheme", ...HEADLINE_FIGURES.map((f) => f.label)],
      rows,
      v.repeats > 1
        ? `Verdict${point}: each scheme's mean divided by ${v.baselineScheme}'s, with its 95 % ` +
          `interval over ${v.repeats} paired repeats`
        : `Verdict${point}: each scheme's figure divided by ${v.baselineScheme}'s, from one run ` +
          `each (no interval; --repeat N gives one)`,
      "verdict",
    );
    return markup`<div class="grid verdict-grid">${chart}</div>
${table}`;
  });
  return markup`<h3>Verdict</h3>
<p class="verdict-note">Bars go from 1 to the ratio of the scheme's mean to the baseline's (log scale; below 1 is smaller, better); the error bars are 95 % intervals (Fieller, paired repeats). "=" both exact and equal; "n.s." the interval contains 1 (no significant difference); "(exact)" no spread on either side; "(no interval)" the baseline varies too much between repeats to bound the ratio. A bar at the bottom of the axis is at most the axis minimum (a ratio of 0 when the scheme's figure is 0).</p>
${blocks}`;
}

/** Parameters that differ from the workload's defaults or between runs (collapsed). */
function paramsBlock(runs: readonly RunResult[], schemes: readonly string[]): HtmlValue {
  const w = WORKLOADS.find((x) => x.id === runs[0]?.workload.id);
  const defaults = new Map<string, ParamScalar>(
    (w?.params ?? []).map((p) => [p.name, p.default as ParamScalar]),
  );
  const names = orderedKeys(unionKeys(runs, (r) => r.workload.params));
  const shown = names.filter((p) => {
    const values = new Set(runs.map((r) => String(r.workload.params[p])));
    return values.size > 1 || !defaults.has(p) ||
      String(defaults.get(p)) !== String(runs[0].workload.params[p]);
  });
  const rows = shown.map((p) => [
    p,
    defaults.has(p) ? String(defaults.get(p)) : undefined,
    ...runs.map((r) => (p in r.workload.params ? String(r.workload.params[p]) : undefined)),
  ]);
  const summary = shown.length === 0
    ? `Parameters: all ${names.length} at their defaults`
    : `Parameters: ${shown.length} of ${names.length} differ from the defaults`;
  const body = rows.length > 0
    ? htmlTable(["parameter", "default", ...schemes], rows, "Parameters")
    : markup`<p class="muted">Every parameter has its default value.</p>`;
  return markup`<details class="params"><summary>${summary}</summary>
${body}</details>`;
}

/** The markup of one workload section; registers its charts in `charts`. */
export function workloadSection(
  wi: number,
  id: string,
  runs: RunResult[],
  view: WorkloadView,
  verdicts: readonly Verdict[],
  charts: ChartSpec[],
): SafeHtml {
  const schemes = runs.map(runLabelOf);
  // The caches the schemes add, leaving out those that hold no bytes in any run of this workload
  // (e.g. cow_context's larger remap-array classes, or its zero-size remap entries).
  const ownedAll = new Set(runs.flatMap((r) => r.scheme.ownedCaches));
  const owned = orderedKeys(ownedAll, RESULT_SLAB_CACHES)
    .filter((c) => runs.some((r) => (r.slab.peak.bytes[c] ?? 0) > 0));
  const allCaches = orderedKeys(unionKeys(runs, (r) => r.slab.peak.bytes), RESULT_SLAB_CACHES);
  const shared = allCaches.filter((c) => !ownedAll.has(c));
  const peakZero = (caches: string[]): boolean =>
    runs.every((r) => caches.every((c) => !(r.slab.peak.bytes[c] ?? 0)));
  const finalZero = (caches: string[]): boolean =>
    runs.every((r) => caches.every((c) => !(r.slab.final.bytes[c] ?? 0)));
  const ownedLocks = orderedKeys(new Set(runs.flatMap((r) => r.scheme.ownedLockClasses)))
    .filter((l) => runs.some((r) => r.locks[l] !== undefined));
  const sharedLocks = orderedKeys(unionKeys(runs, (r) => r.locks)).filter((l) =>
    !ownedLocks.includes(l)
  );
  const lockZero = (classes: string[], which: "hold" | "wait"): boolean =>
    runs.every((r) => classes.every((l) => !(r.locks[l]?.[which].max ?? 0)));
  const parts: SafeHtml[] = [];
  const add = (
    key: string,
    figureName: ChartSpec["figure"],
    caption: string,
    allZero: boolean,
    what: string,
    labels?: string[],
  ): void => {
    const spec: ChartSpec = { id: `chart-${wi}-${key}`, figure: figureName, workload: wi };
    if (labels) spec.labels = labels;
    parts.push(chartOrNote(charts, spec, caption, allZero, what));
  };
  const verdict = verdictBlock(wi, verdicts, charts);
  const scaling = scalingBlock(wi, runs, view, charts);
  add(
    "rmap-final",
    "slab-final",
    "Rmap memory at the end: the caches the schemes add (KiB)",
    finalZero(owned),
    "no scheme holds rmap objects at the end",
    owned,
  );
  add(
    "rmap-peak",
    "slab-peak",
    "Rmap memory, each cache's own peak (KiB)",
    peakZero(owned),
    "no scheme allocated rmap objects",
    owned,
  );
  add(
    "shared-final",
    "slab-final",
    "Shared caches at the end (VMAs, maple nodes, mm_structs; KiB)",
    finalZero(shared),
    "no shared objects are live at the end",
    shared,
  );
  add("slab-time", "slab-time", "Slab KiB over simulated time", false, "");
  if (view.walkKinds.length > 0) {
    add(
      "walks",
      "walks",
      "Rmap walk visits per walk, by kind",
      runs.every((r) => Object.values(r.walks).every((w) => !w.visits.max)),
      "no walk visited anything",
    );
    add("histogram", "histogram", "Rmap walk visits histogram (log axis)", false, "");
  }
  if (ownedLocks.length > 0) {
    add(
      "hold-owned",
      "hold",
      "Hold time of the locks the schemes own",
      lockZero(ownedLocks, "hold"),
      "no hold time",
      ownedLocks,
    );
    add(
      "wait-owned",
      "wait",
      "Wait time of the locks the schemes own",
      lockZero(ownedLocks, "wait"),
      "nothing waited for the schemes' own locks",
      ownedLocks,
    );
  }
  if (sharedLocks.length > 0) {
    add(
      "hold-shared",
      "hold",
      "Hold time of the shared locks (mmap_lock, page-table locks)",
      lockZero(sharedLocks, "hold"),
      "no hold time",
      sharedLocks,
    );
    add(
      "wait-shared",
      "wait",
      "Wait time of the shared locks",
      lockZero(sharedLocks, "wait"),
      "nothing waited for the shared locks",
      sharedLocks,
    );
  }
  if (view.ops.length > 0) {
    add(
      "latency",
      "latency",
      "Operation latency",
      runs.every((r) => Object.values(r.latency).every((s) => !s.max)),
      "no operation took time",
    );
  }

  const figures = runs.map((r) => {
    // Correctness over every repeat: a later repeat's failure is not hidden behind repeat 0's.
    const ok = runCorrectness(r);
    return [
      runLabelOf(r),
      ...TABLE_COLUMNS.map((c) => new NumText(formatColumnValue(columnValue(r, c), c))),
      metricAggregate(r, "ops")?.mean ?? r.ops,
      (metricAggregate(r, "simulatedNs")?.mean ?? r.simulatedNs) / 1e6,
      r.cpuUtilisation * 100,
      r.oracle.walksChecked,
      ok.mismatches,
      ok.leakFree,
    ];
  });
  const repeats = runs[0]?.repeats?.length ?? 1;
  const slabRows: Cell[][] = [];
  for (const r of runs) {
    for (const c of orderedKeys(Object.keys(r.slab.peak.objects), RESULT_SLAB_CACHES)) {
      slabRows.push([
        runLabelOf(r),
        c,
        r.scheme.ownedCaches.includes(c) ? "scheme" : "shared",
        r.slab.final.objects[c],
        r.slab.final.bytes[c],
        r.slab.peak.objects[c],
        r.slab.peak.bytes[c],
        r.slab.allocs[c],
        r.slab.frees[c],
      ]);
    }
  }
  const walkRows: Cell[][] = [];
  for (const r of runs) {
    for (const k of orderedKeys(Object.keys(r.walks), WALK_KINDS)) {
      const w = r.walks[k];
      walkRows.push([
        runLabelOf(r),
        k,
        w.count,
        w.contended,
        w.visits.mean,
        w.visits.p50,
        w.visits.p99,
        w.visits.max,
        w.useless.sum,
        w.structures.mean,
        histogramText(w.histogram),
      ]);
    }
  }
  const lockRows: Cell[][] = [];
  for (const r of runs) {
    for (const l of orderedKeys(Object.keys(r.locks))) {
      const x = r.locks[l];
      lockRows.push([
        runLabelOf(r),
        l,
        r.scheme.ownedLockClasses.includes(l) ? "scheme" : "shared",
        x.readAcquisitions,
        x.writeAcquisitions,
        x.trylockFailures,
        x.hold.p50,
        x.hold.p99,
        x.hold.max,
        x.wait.p50,
        x.wait.p99,
        x.wait.max,
        orderedKeys(Object.keys(x.workUnderLock)).map((k) => `${k}=${x.workUnderLock[k]}`)
          .join(" "),
      ]);
    }
  }
  const latencyRows: Cell[][] = [];
  for (const r of runs) {
    for (const op of orderedKeys(Object.keys(r.latency), LATENCY_OPS)) {
      const s = r.latency[op];
      latencyRows.push([runLabelOf(r), op, s.count, s.mean, s.p50, s.p99, s.max]);
    }
  }
  const counterNames = orderedKeys(unionKeys(runs, (r) => r.counters));
  const counterRows = counterNames.map((c) => [c, ...runs.map((r) => r.counters[c])]);
  const aggRows: Cell[][] = [];
  if (repeats > 1) {
    for (const r of runs) {
      for (const f of HEADLINE_FIGURES) {
        const a = metricAggregate(r, f.metric);
        if (a === null) continue;
        aggRows.push([
          runLabelOf(r),
          f.label,
          a.mean,
          a.sd,
          a.min,
          a.max,
          a.ci ? `[${fmt(a.ci[0])}, ${fmt(a.ci[1])}]` : undefined,
          a.exact,
        ]);
      }
    }
  }

  // A replayed trace: the program (from the run's notes) and its process tree, shown once next to
  // the verdict (the tree is the trace's, the same under every scheme).
  const TREE_TITLE = "Trace replay: process tree";
  const treeRun = runs.find((r) => (r.extraTables ?? []).some((t) => t.title === TREE_TITLE));
  let traceBlock: SafeHtml | string = "";
  if (treeRun) {
    const tree = treeRun.extraTables!.find((t) => t.title === TREE_TITLE)!;
    const about = (treeRun.notes ?? []).filter((n) => /^(Trace |Recorded on )/.test(n)).join("\n");
    traceBlock = markup`<h3>Program and process tree</h3>
${about ? markup`<pre class="notes">${about}</pre>\n` : ""}${htmlTable(tree.columns, tree.rows)}
`;
  }
  const extras: SafeHtml[] = [];
  for (const r of runs) {
    if (r.notes && r.notes.length > 0) {
      const notes = r.notes.join("\n");
      extras.push(
        markup`<h3>Notes: <code>${runLabelOf(r)}</code></h3><pre class="notes">${notes}</pre>`,
      );
    }
    for (const t of r.extraTables ?? []) {
      if (t.title === TREE_TITLE) continue;
      extras.push(htmlTable(t.columns, t.rows, `${t.title} (${runLabelOf(r)})`));
    }
  }
  const detailNote = repeats > 1
    ? markup`<p class="muted">The charts and the tables below show repeat 0 (seed ${
      runs[0].seed
    }); the figures table shows means over ${repeats} repeats.</p>\n`
    : "";
  const kindWord = new Set(runs.map((r) => r.scheme.id)).size === runs.length ? "schemes" : "runs";
  const figuresTable = htmlTable(
    [
      "scheme",
      ...TABLE_COLUMNS.map((c) => c.label),
      "ops",
      "simulated ms",
      // Repeat 0's own figures (no metric of the repeats), so said when there are repeats; the
      // oracle columns are over every repeat.
      `CPU %${repeats > 1 ? " (repeat 0)" : ""}`,
      `walks checked${repeats > 1 ? " (repeat 0)" : ""}`,
      "oracle mismatches",
      "leak free",
    ],
    figures,
  );
  const aggBlock = aggRows.length > 0
    ? markup`<details><summary>Headline figures over the repeats (mean, sd, min, max, 95 % interval)</summary>
${htmlTable(["scheme", "figure", "mean", "sd", "min", "max", "95 % interval", "exact"], aggRows)}
</details>\n`
    : "";
  const slabTable = htmlTable(
    [
      "scheme",
      "cache",
      "owner",
      "live objects",
      "live bytes",
      "peak objects",
      "peak bytes",
      "allocs",
      "frees",
    ],
    slabRows,
  );
  const walkBlock = walkRows.length > 0
    ? markup`<h3>Rmap walks (visits per walk)</h3>
${
      htmlTable(
        [
          "scheme",
          "kind",
          "walks",
          "contended",
          "mean",
          "p50",
          "p99",
          "max",
          "useless total",
          "structures mean",
          "histogram",
        ],
        walkRows,
      )
    }\n`
    : "";
  const lockBlock = lockRows.length > 0
    ? markup`<h3>Locks (ns)</h3>
${
      htmlTable(
        [
          "scheme",
          "class",
          "owner",
          "read acq.",
          "write acq.",
          "trylock failures",
          "hold p50",
          "hold p99",
          "hold max",
          "wait p50",
          "wait p99",
          "wait max",
          "work under lock",
        ],
        lockRows,
      )
    }\n`
    : "";
  const latencyBlock = latencyRows.length > 0
    ? markup`<h3>Operation latency (ns)</h3>
${htmlTable(["scheme", "op", "count", "mean", "p50", "p99", "max"], latencyRows)}\n`
    : "";
  const counterBlock = counterRows.length > 0
    ? markup`<h3>Counters</h3>
${htmlTable(["counter", ...schemes], counterRows)}\n`
    : "";

  return markup`<section class="workload" id="workload-${wi}">
<h2>Workload <code>${id}</code> <span class="muted">(${runs.length} ${kindWord}: ${
    schemes.join(", ")
  })</span></h2>
${verdict}
${traceBlock}${paramsBlock(runs, schemes)}
${scaling}<h3>Figures${repeats > 1 ? ` (means over ${repeats} repeats)` : ""}</h3>
${figuresTable}
${detailNote}<div class="grid">
${parts}
</div>
${aggBlock}<details><summary>Slab caches</summary>
${slabTable}
</details>
${walkBlock}${lockBlock}${latencyBlock}${counterBlock}${extras}
</section>`;
}
