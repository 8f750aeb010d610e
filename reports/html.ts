/**
 * A one-page HTML report comparing schemes side by side, drawn with chart.js.
 *
 * Per workload (one section each, so 5 schemes × 6 workloads stays readable): stacked bars of
 * final and peak slab bytes per cache and scheme, slab bytes over simulated time, rmap walk
 * visits (statistic chosen in a select box) and the visits histogram (walk kind chosen), lock
 * hold and wait per class, operation latencies, and tables of every figure, the workload
 * parameters, notes and workload-specific tables. The environment comes last.
 *
 * A section whose runs form a parameter sweep (some scheme ran more than once, see
 * {@link detectSweep}) also gets scaling line charts when exactly one numeric parameter varies:
 * x is the swept value, one line per scheme, for peak slab bytes, rmap bytes at the end, walk
 * visits p99, useless visits % and the worst rmap-lock wait and hold p99. When several
 * parameters (or a non-numeric one) vary, the section says so instead and draws no scaling chart.
 *
 * Two ways to get chart.js:
 *
 * - default: `import("https://esm.sh/chart.js@4.6.1/auto")` from a `<script type="module">`;
 * - `selfContained`: the UMD bundle's text (see `chart_umd.ts`) inlined in a classic `<script>`,
 *   which works from `file://` with no network.
 *
 * The figures are embedded as JSON in `<script type="application/json" id="rmapbench-data">`
 * with `<` written as `\u003c`. Every string from the document is HTML-escaped. When the page has
 * finished drawing it sets `data-ready="true"` and `data-charts="<charts drawn>"` on `<body>`
 * (plus `data-charts-expected`); any error is shown in a visible banner and its message is put in
 * `data-error`.
 *
 * @module
 */

import {
  LATENCY_OPS,
  orderedKeys,
  RESULT_SLAB_CACHES,
  type Results,
  runLabel,
  type RunResult,
  type Summary,
  WALK_KINDS,
} from "./results.ts";
import { histogramText } from "./csv.ts";
import { totalTrylockFailures, uselessPercent } from "./metrics.ts";

/** The chart.js module loaded when the report is not self-contained. */
export const CHART_JS_MODULE_URL = "https://esm.sh/chart.js@4.6.1/auto";

/** Options of {@link renderHtml}. */
export interface HtmlOptions {
  /**
   * Inline chart.js (from `chartUmd`) so the page needs no network, also from `file://`.
   * Default false: load chart.js from {@link CHART_JS_MODULE_URL}.
   */
  selfContained: boolean;
  /** Text of chart.js's `dist/chart.umd.js`; required when `selfContained` is true. */
  chartUmd?: string;
  /** Page title; default `"rmapbench report"`. */
  title?: string;
}

/**
 * Escapes the five HTML-significant characters `& < > " '`, for text and attribute values.
 *
 * @example Usage
 * ```ts
 * import { escapeHtml } from "./html.ts";
 * if (escapeHtml('<a href="x">') !== "&lt;a href=&quot;x&quot;&gt;") throw new Error("unexpected");
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => {
    switch (c) {
      case "&":
        return "&amp;";
      case "<":
        return "&lt;";
      case ">":
        return "&gt;";
      case '"':
        return "&quot;";
      default:
        return "&#39;";
    }
  });
}

/**
 * Serialises a value as JSON safe inside a `<script>` element: `<`, U+2028 and U+2029 are written
 * as `\u` escapes, so the text can contain neither `</script` nor `<!--`.
 *
 * @example Usage
 * ```ts
 * import { jsonForScript } from "./html.ts";
 * if (jsonForScript("</script>") !== '"\\u003c/script>"') throw new Error("unexpected");
 * ```
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/**
 * Makes script text safe to inline in a classic `<script>` element by writing every `</script`
 * (any case) as `<\/script`, which JavaScript reads the same inside strings and regexes.
 *
 * @example Usage
 * ```ts
 * import { inlineScriptText } from "./html.ts";
 * if (inlineScriptText('s="</SCRIPT>"') !== 's="<\\/SCRIPT>"') throw new Error("unexpected");
 * ```
 */
export function inlineScriptText(code: string): string {
  return code.replace(/<\/(script)/gi, "<\\/$1");
}

// ---------------------------------------------------------------------------------------------
// Formatting

function fmt(n: number | undefined): string {
  if (n === undefined) return "–";
  if (Number.isInteger(n)) {
    const s = String(Math.abs(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return n < 0 ? `-${s}` : s;
  }
  return n.toFixed(Math.abs(n) >= 100 ? 1 : 2);
}

const esc = escapeHtml;

function cell(v: string | number | boolean | undefined): string {
  if (typeof v === "number") return `<td class="num">${fmt(v)}</td>`;
  if (typeof v === "boolean") return `<td>${v ? "yes" : "no"}</td>`;
  return `<td>${esc(v ?? "–")}</td>`;
}

function htmlTable(
  header: readonly string[],
  rows: readonly (readonly (string | number | boolean | undefined)[])[],
  caption?: string,
): string {
  const head = header.map((h) => `<th scope="col">${esc(h)}</th>`).join("");
  const body = rows.map((r) => `<tr>${r.map(cell).join("")}</tr>`).join("\n");
  const cap = caption === undefined ? "" : `<caption>${esc(caption)}</caption>`;
  return `<div class="table-wrap"><table>${cap}<thead><tr>${head}</tr></thead>` +
    `<tbody>\n${body}\n</tbody></table></div>`;
}

// ---------------------------------------------------------------------------------------------
// The data the page's script draws from

interface StatView {
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

interface RunView {
  scheme: string;
  final: Record<string, number>;
  peak: Record<string, number>;
  t: number[];
  series: Record<string, number[]>;
  walks: Record<string, StatView>;
  hold: Record<string, StatView>;
  wait: Record<string, StatView>;
  latency: Record<string, StatView>;
}

/** The figures a scaling chart plots, per run. */
type ScalingMetric = "slabPeak" | "rmapFinal" | "walkP99" | "useless" | "lockWait" | "lockHold";

/** Scaling metrics in display order, with chart captions. */
const SCALING_METRICS: readonly { metric: ScalingMetric; caption: string }[] = [
  { metric: "slabPeak", caption: "Peak slab KiB (all caches)" },
  {
    metric: "rmapFinal",
    caption: "Rmap KiB at the end (anon_vma, AVC, cow_context, remap arrays)",
  },
  { metric: "walkP99", caption: "Rmap walk visits p99 (worst walk kind)" },
  { metric: "useless", caption: "Useless visits %" },
  { metric: "lockWait", caption: "Rmap lock wait p99 ns (worst anon_vma*/cow_context* class)" },
  { metric: "lockHold", caption: "Rmap lock hold p99 ns (worst anon_vma*/cow_context* class)" },
];

/** Slab caches that hold rmap metadata (the "rmap bytes" of a scaling chart). */
const RMAP_CACHES: readonly string[] = [
  "anon_vma",
  "anon_vma_chain",
  "cow_context",
  "cow_remap_array",
];

/** Lock classes that count as rmap locks start with one of these. */
const RMAP_LOCK_PREFIXES: readonly string[] = ["anon_vma", "cow_context"];

/** One run's point on the scaling charts; null where the run has no such figure. */
interface SweepPoint {
  x: number;
  slabPeak: number;
  rmapFinal: number;
  walkP99: number | null;
  useless: number | null;
  lockWait: number | null;
  lockWaitClass: string | null;
  lockHold: number | null;
  lockHoldClass: string | null;
}

/** The scaling data of a one-parameter sweep: one line per scheme, points sorted by x. */
interface SweepView {
  /** The swept parameter (`machine.` or `kernel.` prefixed for those). */
  param: string;
  /** Distinct swept values, ascending. */
  xs: number[];
  /** Draw x on a logarithmic axis (geometric sweeps). */
  log: boolean;
  lines: { scheme: string; points: SweepPoint[] }[];
}

interface WorkloadView {
  id: string;
  /** Scaling data when the section is a sweep of one numeric parameter, else null. */
  sweep: SweepView | null;
  caches: string[];
  walkKinds: string[];
  lockClasses: string[];
  ops: string[];
  /** Per walk kind: bucket labels and, per run, counts. */
  histograms: Record<string, { labels: string[]; counts: number[][] }>;
  runs: RunView[];
}

interface ChartSpec {
  id: string;
  figure:
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
  /** The plotted figure of a `"scaling"` chart. */
  metric?: ScalingMetric;
}

interface PageData {
  caches: string[];
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

function groupByWorkload(results: Results): { id: string; runs: RunResult[] }[] {
  const ids: string[] = [...results.suite.workloads];
  for (const r of results.runs) if (!ids.includes(r.workload.id)) ids.push(r.workload.id);
  const order = (r: RunResult): number => {
    const i = results.suite.schemes.indexOf(r.scheme.id);
    return i < 0 ? results.suite.schemes.length : i;
  };
  return ids
    .map((id) => ({
      id,
      runs: results.runs.filter((r) => r.workload.id === id).sort((a, b) =>
        order(a) - order(b) || (a.scheme.id < b.scheme.id ? -1 : a.scheme.id > b.scheme.id ? 1 : 0)
      ),
    }))
    .filter((g) => g.runs.length > 0);
}

function unionKeys(runs: readonly RunResult[], pick: (r: RunResult) => object): string[] {
  const set = new Set<string>();
  for (const r of runs) for (const k of Object.keys(pick(r))) set.add(k);
  return [...set];
}

type ParamScalar = number | string | boolean;

/**
 * The `[k=v,...]` suffix of a sweep run id as pairs (numbers parsed), or none. Only used for
 * `kernel.` parameters, which the document records nowhere else.
 */
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

/** Every parameter of a run: workload params, `machine.*` (when asked) and `kernel.*`. */
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
type SweepKind =
  | { kind: "none" }
  | { kind: "one"; param: string; values: number[] }
  | { kind: "non-numeric"; param: string }
  | { kind: "several"; params: string[] };

/**
 * Classifies a workload section: a sweep when some scheme ran more than once; then the parameters
 * (workload, `machine.*` when every run records machine parameters, `kernel.*` from the run id)
 * whose values differ between runs decide the kind. `values` are per run, in `runs` order.
 */
function detectSweep(runs: readonly RunResult[]): SweepKind {
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

/** The worst p99 of a lock statistic over the rmap lock classes, with its class. */
function worstRmapLock(
  r: RunResult,
  which: "wait" | "hold",
): { p99: number | null; lockClass: string | null } {
  let best: { p99: number | null; lockClass: string | null } = { p99: null, lockClass: null };
  for (const l of orderedKeys(Object.keys(r.locks))) {
    if (!RMAP_LOCK_PREFIXES.some((p) => l.startsWith(p))) continue;
    const v = r.locks[l][which].p99;
    if (best.p99 === null || v > best.p99) best = { p99: v, lockClass: l };
  }
  return best;
}

function sweepPoint(r: RunResult, x: number): SweepPoint {
  const kinds = Object.values(r.walks);
  const wait = worstRmapLock(r, "wait");
  const hold = worstRmapLock(r, "hold");
  const visits = kinds.reduce((n, w) => n + w.visits.sum, 0);
  return {
    x,
    slabPeak: r.slab.peak.totalBytes,
    rmapFinal: RMAP_CACHES.reduce((n, c) => n + (r.slab.final.bytes[c] ?? 0), 0),
    walkP99: kinds.length === 0 ? null : Math.max(...kinds.map((w) => w.visits.p99)),
    useless: visits === 0 ? null : uselessPercent(r),
    lockWait: wait.p99,
    lockWaitClass: wait.lockClass,
    lockHold: hold.p99,
    lockHoldClass: hold.lockClass,
  };
}

/** Whether sorted values are evenly spaced. */
function arithmetic(xs: readonly number[]): boolean {
  const d = xs[1] - xs[0];
  return xs.every((x, i) => i === 0 || Math.abs(x - xs[i - 1] - d) <= 1e-9 * Math.abs(d));
}

function sweepView(runs: readonly RunResult[], param: string, values: number[]): SweepView {
  const xs = [...new Set(values)].sort((a, b) => a - b);
  const lines: SweepView["lines"] = [];
  runs.forEach((r, i) => {
    let line = lines.find((l) => l.scheme === r.scheme.id);
    if (!line) lines.push(line = { scheme: r.scheme.id, points: [] });
    line.points.push(sweepPoint(r, values[i]));
  });
  for (const l of lines) l.points.sort((a, b) => a.x - b.x);
  const log = xs.length >= 3 && xs[0] > 0 && xs[xs.length - 1] / xs[0] >= 8 && !arithmetic(xs);
  return { param, xs, log, lines };
}

function workloadView(id: string, runs: RunResult[]): WorkloadView {
  const caches = orderedKeys(
    unionKeys(runs, (r) => r.slab.peak.bytes).filter((c) =>
      runs.some((r) => (r.slab.peak.bytes[c] ?? 0) > 0 || (r.slab.final.bytes[c] ?? 0) > 0)
    ),
    RESULT_SLAB_CACHES,
  );
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
    caches,
    walkKinds,
    lockClasses: orderedKeys(unionKeys(runs, (r) => r.locks)),
    ops: orderedKeys(unionKeys(runs, (r) => r.latency), LATENCY_OPS),
    histograms,
    runs: runs.map((r) => ({
      scheme: runLabel(r),
      final: r.slab.final.bytes,
      peak: r.slab.peak.bytes,
      t: r.timeseries.t,
      series: r.timeseries.bytes,
      walks: mapRecord(r.walks, (w) => stat(w.visits)),
      hold: mapRecord(r.locks, (l) => stat(l.hold)),
      wait: mapRecord(r.locks, (l) => stat(l.wait)),
      latency: mapRecord(r.latency, stat),
    })),
  };
}

// ---------------------------------------------------------------------------------------------
// The page's script (plain ES2017, no template literals, builds charts from the JSON)

const CLIENT_SCRIPT = String.raw`
function rmapbenchFail(message) {
  var body = document.body;
  var box = document.getElementById("report-error");
  if (box) {
    box.hidden = false;
    box.textContent = (box.textContent ? box.textContent + "\n" : "") + message;
  }
  if (!body.dataset.error) body.dataset.error = message;
}
window.addEventListener("error", function (e) {
  rmapbenchFail("Script error: " + (e.message || e.error));
});
function rmapbenchDraw(Chart) {
  var body = document.body;
  var data = JSON.parse(document.getElementById("rmapbench-data").textContent);
  var palette = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
    "#ff9da7", "#9c755f", "#bab0ac"];
  function color(i) { return palette[i % palette.length]; }
  var cacheColor = {};
  data.caches.forEach(function (c, i) { cacheColor[c] = color(i); });
  var statSelect = document.getElementById("stat-select");
  var kindSelect = document.getElementById("kind-select");
  var seriesSelect = document.getElementById("series-select");
  function kib(b) { return b / 1024; }
  function options(yTitle, stacked, xTitle, xLinear) {
    var x = { stacked: stacked, title: { display: !!xTitle, text: xTitle || "" } };
    if (xLinear) x.type = "linear";
    return {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: "nearest", intersect: false },
      plugins: { legend: { position: "bottom" } },
      scales: { x: x, y: { stacked: stacked, beginAtZero: true, title: { display: true, text: yTitle } } }
    };
  }
  function perRun(w, labels, pick) {
    return w.runs.map(function (r, i) {
      return { label: r.scheme, backgroundColor: color(i), borderColor: color(i),
        data: labels.map(function (l) { var v = pick(r, l); return v === undefined ? null : v; }) };
    });
  }
  var scalingAxes = {
    slabPeak: ["peak slab KiB", 1024], rmapFinal: ["rmap KiB at the end", 1024],
    walkP99: ["visits per walk (p99)", 1], useless: ["useless visits %", 1],
    lockWait: ["wait ns (p99)", 1], lockHold: ["hold ns (p99)", 1]
  };
  function scaling(w, metric) {
    var sw = w.sweep;
    if (!sw) throw new Error("Workload " + w.id + " has no sweep data");
    var axis = scalingAxes[metric];
    if (!axis) throw new Error("Unknown scaling metric " + metric);
    var opts = options(axis[0], false, sw.param + (sw.log ? " (log scale)" : ""), true);
    opts.scales.x.type = sw.log ? "logarithmic" : "linear";
    opts.scales.x.bounds = "data";
    opts.scales.x.ticks = { callback: function (v) { return String(Number(v)); } };
    if (sw.xs.length <= 24) {
      opts.scales.x.afterBuildTicks = function (scale) {
        scale.ticks = sw.xs.map(function (v) { return { value: v }; });
      };
    }
    return { type: "line", options: opts, data: { datasets: sw.lines.map(function (l, i) {
      return { label: l.scheme, borderColor: color(i), backgroundColor: color(i), pointRadius: 3,
        borderWidth: 2, clip: 8, data: l.points.filter(function (p) { return p[metric] !== null; })
          .map(function (p) { return { x: p.x, y: p[metric] / axis[1] }; }) };
    }) } };
  }
  function statOf(rec, key) {
    var s = rec[key];
    return s === undefined ? undefined : s[statSelect.value];
  }
  function build(spec) {
    var w = data.workloads[spec.workload];
    var schemes = w.runs.map(function (r) { return r.scheme; });
    switch (spec.figure) {
      case "slab-final":
      case "slab-peak":
        var which = spec.figure === "slab-final" ? "final" : "peak";
        return { type: "bar", options: options("KiB", true), data: { labels: schemes,
          datasets: w.caches.map(function (c) {
            return { label: c, backgroundColor: cacheColor[c],
              data: w.runs.map(function (r) { return kib(r[which][c] || 0); }) };
          }) } };
      case "slab-time":
        var cache = seriesSelect.value;
        return { type: "line", options: options("KiB (" + cache + ")", false, "simulated ms", true),
          data: { datasets: w.runs.map(function (r, i) {
            return { label: r.scheme, borderColor: color(i), backgroundColor: color(i), pointRadius: 0,
              borderWidth: 1.5, data: r.t.map(function (t, j) {
                var y = 0;
                if (cache === "total") {
                  for (var c in r.series) y += r.series[c][j];
                } else if (r.series[cache]) { y = r.series[cache][j]; }
                return { x: t / 1e6, y: kib(y) };
              }) };
          }) } };
      case "walks":
        return { type: "bar", options: options("visits per walk (" + statSelect.value + ")", false),
          data: { labels: w.walkKinds, datasets: perRun(w, w.walkKinds, function (r, k) {
            return statOf(r.walks, k); }) } };
      case "histogram":
        var h = w.histograms[kindSelect.value] || { labels: [], counts: [] };
        return { type: "bar", options: options("walks", false, "visits per walk (" + kindSelect.value + ")"),
          data: { labels: h.labels, datasets: w.runs.map(function (r, i) {
            return { label: r.scheme, backgroundColor: color(i), data: h.counts[i] || [] }; }) } };
      case "hold":
      case "wait":
        var fig = spec.figure;
        return { type: "bar", options: options(fig + " ns (" + statSelect.value + ")", false),
          data: { labels: w.lockClasses, datasets: perRun(w, w.lockClasses, function (r, l) {
            return statOf(r[fig], l); }) } };
      case "latency":
        return { type: "bar", options: options("ns (" + statSelect.value + ")", false),
          data: { labels: w.ops, datasets: perRun(w, w.ops, function (r, o) {
            return statOf(r.latency, o); }) } };
      case "scaling":
        return scaling(w, spec.metric);
    }
    throw new Error("Unknown figure " + spec.figure);
  }
  var charts = [];
  var drawn = 0;
  data.charts.forEach(function (spec) {
    try {
      var canvas = document.getElementById(spec.id);
      if (!canvas) throw new Error("Canvas " + spec.id + " is missing");
      charts.push({ spec: spec, chart: new Chart(canvas, build(spec)) });
      drawn++;
    } catch (e) {
      rmapbenchFail("Chart " + spec.id + ": " + (e && e.message ? e.message : e));
    }
  });
  function refresh(figures) {
    charts.forEach(function (c) {
      if (figures.indexOf(c.spec.figure) < 0) return;
      try {
        c.chart.data = build(c.spec).data;
        c.chart.options = build(c.spec).options;
        c.chart.update();
      } catch (e) {
        rmapbenchFail("Chart " + c.spec.id + ": " + (e && e.message ? e.message : e));
      }
    });
  }
  statSelect.addEventListener("change", function () { refresh(["walks", "hold", "wait", "latency"]); });
  kindSelect.addEventListener("change", function () { refresh(["histogram"]); });
  seriesSelect.addEventListener("change", function () { refresh(["slab-time"]); });
  body.dataset.charts = String(drawn);
  body.dataset.ready = "true";
}
function rmapbenchStart(Chart) {
  try {
    if (typeof Chart !== "function") throw new Error("chart.js did not load");
    rmapbenchDraw(Chart);
  } catch (e) {
    rmapbenchFail("Report failed: " + (e && e.message ? e.message : e));
    document.body.dataset.charts = document.body.dataset.charts || "0";
    document.body.dataset.ready = "true";
  }
}
`;

// ---------------------------------------------------------------------------------------------
// Page

const STYLE = `
:root { color-scheme: light; --fg: #1d2430; --muted: #5b6575; --line: #d9dee6; --bg: #fff; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg);
  background: var(--bg); margin: 0; }
header, main, footer { max-width: 1400px; margin: 0 auto; padding: 0 20px; }
h1 { font-size: 1.5rem; margin: 20px 0 4px; }
h2 { font-size: 1.25rem; margin: 0 0 8px; }
h3 { font-size: 1rem; margin: 18px 0 6px; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 0.92em; }
.muted { color: var(--muted); }
#report-error { background: #fde8e8; color: #8a1111; border: 1px solid #e5a0a0; padding: 8px 12px;
  white-space: pre-wrap; margin: 12px 0; }
.controls { position: sticky; top: 0; z-index: 2; background: #f6f8fb; border-bottom: 1px solid var(--line);
  padding: 8px 20px; display: flex; flex-wrap: wrap; gap: 16px; align-items: center; }
.controls nav a { margin-right: 10px; }
section.workload { border-top: 2px solid var(--line); padding: 16px 0; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(440px, 1fr)); gap: 16px; }
figure { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 8px; }
figcaption { font-weight: 600; margin-bottom: 4px; }
.chart { position: relative; height: 300px; width: 100%; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; margin: 4px 0 12px; font-size: 13px; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
th, td { border: 1px solid var(--line); padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f1f4f8; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tbody tr:nth-child(even) { background: #fafbfd; }
pre.notes { background: #f6f8fb; padding: 8px; overflow-x: auto; }
p.sweep-note { background: #fff8e1; border: 1px solid #f0d78c; padding: 6px 10px; }
`;

function figure(id: string, caption: string): string {
  return `<figure><figcaption>${esc(caption)}</figcaption>` +
    `<div class="chart"><canvas id="${id}" role="img" aria-label="${
      esc(caption)
    }"></canvas></div></figure>`;
}

/**
 * The scaling part of a section: for a one-parameter sweep, a grid of line charts (registered in
 * `charts`) and a collapsed table of the plotted figures; for a sweep of several or non-numeric
 * parameters, a note; otherwise nothing.
 */
function scalingBlock(
  wi: number,
  runs: readonly RunResult[],
  view: WorkloadView,
  charts: ChartSpec[],
): string {
  const kind = detectSweep(runs);
  if (kind.kind === "several") {
    return `<p class="note sweep-note">This sweep varies several parameters (${
      kind.params.map((p) => `<code>${esc(p)}</code>`).join(", ")
    }), so no scaling charts are drawn; sweep one parameter at a time to get them.</p>\n`;
  }
  if (kind.kind === "non-numeric") {
    return `<p class="note sweep-note">This sweep varies the non-numeric parameter <code>${
      esc(kind.param)
    }</code>, so no scaling charts are drawn.</p>\n`;
  }
  const sw = view.sweep;
  if (sw === null) return "";
  const parts: string[] = [];
  for (const { metric, caption } of SCALING_METRICS) {
    const points = sw.lines.flatMap((l) => l.points);
    if (points.every((p) => p[metric] === null)) continue;
    const id = `chart-${wi}-scaling-${metric}`;
    charts.push({ id, figure: "scaling", workload: wi, metric });
    parts.push(figure(id, `${caption} vs ${sw.param}`));
  }
  const rows = sw.lines.flatMap((l) =>
    l.points.map((p) => [
      l.scheme,
      p.x,
      p.slabPeak / 1024,
      p.rmapFinal / 1024,
      p.walkP99 ?? undefined,
      p.useless ?? undefined,
      p.lockWait ?? undefined,
      p.lockWaitClass ?? undefined,
      p.lockHold ?? undefined,
      p.lockHoldClass ?? undefined,
    ])
  );
  return `<h3>Scaling with <code>${esc(sw.param)}</code></h3>
<div class="grid scaling">
${parts.join("\n")}
</div>
<details><summary>Scaling figures</summary>
${
    htmlTable(
      [
        "scheme",
        sw.param,
        "peak slab KiB",
        "rmap KiB at end",
        "walk visits p99",
        "useless visits %",
        "rmap lock wait p99",
        "wait class",
        "rmap lock hold p99",
        "hold class",
      ],
      rows,
    )
  }
</details>
<h3>Per run</h3>
`;
}

function workloadSection(
  wi: number,
  id: string,
  runs: RunResult[],
  view: WorkloadView,
  charts: ChartSpec[],
): string {
  const parts: string[] = [];
  const add = (figureName: ChartSpec["figure"], caption: string): void => {
    const cid = `chart-${wi}-${figureName}`;
    charts.push({ id: cid, figure: figureName, workload: wi });
    parts.push(figure(cid, caption));
  };
  add("slab-final", "Final slab KiB per cache");
  add("slab-peak", "Peak slab KiB per cache (each cache's own peak)");
  add("slab-time", "Slab KiB over simulated time");
  if (view.walkKinds.length > 0) {
    add("walks", "Rmap walk visits per walk, by kind");
    add("histogram", "Rmap walk visits histogram");
  }
  if (view.lockClasses.length > 0) {
    add("hold", "Lock hold time per class");
    add("wait", "Lock wait time per class");
  }
  if (view.ops.length > 0) add("latency", "Operation latency");
  const scaling = scalingBlock(wi, runs, view, charts);

  const schemes = runs.map((r) => runLabel(r));
  const paramNames = orderedKeys(unionKeys(runs, (r) => r.workload.params));
  const paramRows = paramNames.map((p) => [
    p,
    ...runs.map((r) => (p in r.workload.params ? String(r.workload.params[p]) : undefined)),
  ]);

  const figures = runs.map((r) => [
    runLabel(r),
    r.slab.final.totalBytes / 1024,
    r.slab.peak.totalBytes / 1024,
    r.slab.final.objects.anon_vma,
    r.slab.final.objects.anon_vma_chain,
    r.slab.final.objects.vm_area_struct,
    r.slab.final.objects.cow_context,
    r.ops,
    r.simulatedNs / 1e6,
    r.cpuUtilisation * 100,
    uselessPercent(r),
    totalTrylockFailures(r),
    r.oracle.walksChecked,
    r.oracle.mismatches,
    r.oracle.leakFree,
  ]);
  const slabRows: (string | number | undefined)[][] = [];
  for (const r of runs) {
    for (const c of orderedKeys(Object.keys(r.slab.peak.objects), RESULT_SLAB_CACHES)) {
      slabRows.push([
        runLabel(r),
        c,
        r.slab.final.objects[c],
        r.slab.final.bytes[c],
        r.slab.peak.objects[c],
        r.slab.peak.bytes[c],
        r.slab.allocs[c],
        r.slab.frees[c],
      ]);
    }
  }
  const walkRows: (string | number)[][] = [];
  for (const r of runs) {
    for (const k of orderedKeys(Object.keys(r.walks), WALK_KINDS)) {
      const w = r.walks[k];
      walkRows.push([
        runLabel(r),
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
  const lockRows: (string | number)[][] = [];
  for (const r of runs) {
    for (const l of orderedKeys(Object.keys(r.locks))) {
      const x = r.locks[l];
      lockRows.push([
        runLabel(r),
        l,
        x.readAcquisitions,
        x.writeAcquisitions,
        x.trylockFailures,
        x.hold.p50,
        x.hold.p99,
        x.hold.max,
        x.wait.p50,
        x.wait.p99,
        x.wait.max,
        orderedKeys(Object.keys(x.workUnderLock)).map((k) => `${k}=${x.workUnderLock[k]}`).join(
          " ",
        ),
      ]);
    }
  }
  const latencyRows: (string | number)[][] = [];
  for (const r of runs) {
    for (const op of orderedKeys(Object.keys(r.latency), LATENCY_OPS)) {
      const s = r.latency[op];
      latencyRows.push([runLabel(r), op, s.count, s.mean, s.p50, s.p99, s.max]);
    }
  }
  const counterNames = orderedKeys(unionKeys(runs, (r) => r.counters));
  const counterRows = counterNames.map((c) => [c, ...runs.map((r) => r.counters[c])]);

  const extras: string[] = [];
  for (const r of runs) {
    if (r.notes && r.notes.length > 0) {
      extras.push(
        `<h3>Notes: <code>${esc(runLabel(r))}</code></h3>` +
          `<pre class="notes">${esc(r.notes.join("\n"))}</pre>`,
      );
    }
    for (const t of r.extraTables ?? []) {
      extras.push(htmlTable(t.columns, t.rows, `${t.title} (${runLabel(r)})`));
    }
  }

  return `<section class="workload" id="workload-${wi}">
<h2>Workload <code>${esc(id)}</code> <span class="muted">(${runs.length} ${
    new Set(runs.map((r) => r.scheme.id)).size === runs.length ? "schemes" : "runs"
  }: ${esc(schemes.join(", "))})</span></h2>
${paramRows.length > 0 ? htmlTable(["parameter", ...schemes], paramRows, "Parameters") : ""}
${scaling}<div class="grid">
${parts.join("\n")}
</div>
<h3>Figures</h3>
${
    htmlTable(
      [
        "scheme",
        "slab KiB",
        "peak slab KiB",
        "anon_vma",
        "anon_vma_chain",
        "vm_area_struct",
        "cow_context",
        "ops",
        "simulated ms",
        "CPU %",
        "useless visits %",
        "trylock failures",
        "walks checked",
        "oracle mismatches",
        "leak free",
      ],
      figures,
    )
  }
<details><summary>Slab caches</summary>
${
    htmlTable(
      [
        "scheme",
        "cache",
        "live objects",
        "live bytes",
        "peak objects",
        "peak bytes",
        "allocs",
        "frees",
      ],
      slabRows,
    )
  }
</details>
${
    walkRows.length > 0
      ? `<h3>Rmap walks (visits per walk)</h3>\n` +
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
      : ""
  }
${
    lockRows.length > 0
      ? `<h3>Locks (ns)</h3>\n` +
        htmlTable(
          [
            "scheme",
            "class",
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
      : ""
  }
${
    latencyRows.length > 0
      ? `<h3>Operation latency (ns)</h3>\n` +
        htmlTable(["scheme", "op", "count", "mean", "p50", "p99", "max"], latencyRows)
      : ""
  }
${
    counterRows.length > 0
      ? `<h3>Counters</h3>\n` + htmlTable(["counter", ...schemes], counterRows)
      : ""
  }
${extras.join("\n")}
</section>`;
}

/**
 * Renders the report page. Pure: the same document and options give the same text.
 *
 * @example Usage
 * ```ts
 * import { renderHtml } from "./html.ts";
 * import type { Results } from "./results.ts";
 * declare const results: Results;
 * const page = renderHtml(results, { selfContained: false });
 * console.log(page.length);
 * ```
 */
export function renderHtml(results: Results, options: HtmlOptions): string {
  if (options.selfContained && typeof options.chartUmd !== "string") {
    throw new TypeError("Option chartUmd is required when selfContained is true");
  }
  const title = options.title ?? "rmapbench report";
  const groups = groupByWorkload(results);
  const charts: ChartSpec[] = [];
  const views = groups.map((g) => workloadView(g.id, g.runs));
  const sections = groups.map((g, wi) => workloadSection(wi, g.id, g.runs, views[wi], charts));
  const allCaches = orderedKeys(new Set(views.flatMap((v) => v.caches)), RESULT_SLAB_CACHES);
  const allKinds = orderedKeys(new Set(views.flatMap((v) => v.walkKinds)), WALK_KINDS);
  const data: PageData = { caches: allCaches, walkKinds: allKinds, workloads: views, charts };

  const s = results.suite;
  const schemeTitles = new Map<string, string>();
  for (const r of results.runs) {
    if (!schemeTitles.has(r.scheme.id)) schemeTitles.set(r.scheme.id, r.scheme.title);
  }
  const schemeRows = orderedKeys(schemeTitles.keys(), s.schemes).map((
    id,
  ) => [id, schemeTitles.get(id)]);
  const envRows = orderedKeys(Object.keys(results.environment), [
    "generatedAt",
    "deno",
    "v8",
    "os",
    "arch",
    "cpus",
    "hostname",
    "wallSeconds",
  ])
    .filter((k) => results.environment[k] !== undefined)
    .map((k) => [k, String(results.environment[k])]);

  const option = (value: string, label: string, selected = false): string =>
    `<option value="${esc(value)}"${selected ? " selected" : ""}>${esc(label)}</option>`;
  const controls = `<div class="controls">
<nav aria-label="Workloads">${
    groups.map((g, wi) => `<a href="#workload-${wi}"><code>${esc(g.id)}</code></a>`).join("")
  }</nav>
<label>Statistic <select id="stat-select">${
    ["p50", "p90", "p99", "max", "mean"].map((v) => option(v, v, v === "p99")).join("")
  }</select></label>
<label>Histogram walk kind <select id="kind-select">${
    allKinds.map((k, i) => option(k, k, i === 0)).join("")
  }</select></label>
<label>Time series <select id="series-select">${
    [option("total", "all caches", true), ...allCaches.map((c) => option(c, c))].join("")
  }</select></label>
</div>`;

  const loader = options.selfContained
    ? `<script>${inlineScriptText(options.chartUmd as string)}</script>\n` +
      `<script>rmapbenchStart(window.Chart);</script>`
    : `<script type="module">
import(${JSON.stringify(CHART_JS_MODULE_URL)}).then(
  function (m) { rmapbenchStart(m.default || m.Chart); },
  function (e) {
    rmapbenchFail("Could not load chart.js from ${CHART_JS_MODULE_URL}: " + (e && e.message ? e.message : e));
    document.body.dataset.charts = "0";
    document.body.dataset.ready = "true";
  });
</script>`;

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="${esc(`${results.tool.name} ${results.tool.version}`)}">
<title>${esc(title)}</title>
<style>${STYLE}</style>
</head>
<body data-charts-expected="${charts.length}">
<header>
<h1>${esc(title)}</h1>
<p class="muted">${esc(results.tool.name)} ${esc(results.tool.version)} · <code>${
    esc(s.command)
  }</code> · seed ${esc(String(s.seed))} · cost profile <code>${
    esc(s.costProfile)
  }</code> · ${results.runs.length} runs · times are simulated</p>
<div id="report-error" role="alert" hidden></div>
${htmlTable(["scheme", "title"], schemeRows, "Schemes")}
</header>
${controls}
<main>
${sections.join("\n")}
</main>
<footer>
<h2>Environment</h2>
${htmlTable(["key", "value"], envRows)}
</footer>
<script type="application/json" id="rmapbench-data">${jsonForScript(data)}</script>
<script>${inlineScriptText(CLIENT_SCRIPT)}</script>
${loader}
</body>
</html>
`;
}
