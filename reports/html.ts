/**
 * A one-page HTML report comparing schemes side by side, drawn with chart.js.
 *
 * The page is built from four modules: this one (the page shell and the escaping helpers),
 * `html_views.ts` (the data the charts draw and the markup of each workload section),
 * `html_styles.ts` (the style sheet) and `html_client.ts` (the page's script, type-checked
 * TypeScript shipped as JavaScript). Markup is built with the escaping template of
 * `html_template.ts`, so every string from the document is HTML-escaped unless the code marks it
 * as its own markup.
 *
 * Per workload (one section each): the verdict first (each scheme's headline figures as ratios to
 * the baseline scheme with 95 % error bars, and the same as a table), the parameters that differ
 * from the defaults (collapsed), scaling charts for one-parameter sweeps, the figures table (the
 * console table's columns, means over repeats), then the charts: rmap memory of the caches the
 * schemes add, the shared caches apart, slab bytes over time, walk visits and their histogram (log
 * axis), hold and wait of the locks the schemes own and of the shared locks apart, latencies; a
 * chart whose values are all zero is a sentence instead. Tables of every figure follow. The
 * environment comes last.
 *
 * Two ways to get chart.js:
 *
 * - default: `import("https://esm.sh/chart.js@4.6.1/auto")` from a `<script type="module">`;
 * - `selfContained`: the UMD bundle's text (see `chart_umd.ts`) inlined in a classic `<script>`,
 *   which works from `file://` with no network.
 *
 * The figures are embedded as JSON in `<script type="application/json" id="rmapbench-data">`
 * with `<` written as `\u003c`. When the page has finished drawing it sets `data-ready="true"`
 * and `data-charts="<charts drawn>"` on `<body>` (plus `data-charts-expected`); verdict canvases
 * get `data-error-bars`; any error is shown in a visible banner and its message is put in
 * `data-error`.
 *
 * @module
 */

import {
  orderedKeys,
  RESULT_SLAB_CACHES,
  type Results,
  type RunResult,
  stableStringify,
  WALK_KINDS,
} from "./results.ts";
import { CLIENT_SCRIPT } from "./html_client.ts";
import { REPORT_STYLE } from "./html_styles.ts";
import { markup, type SafeHtml, trustedHtml } from "./html_template.ts";
import {
  CACHE_COLORS,
  type ChartSpec,
  htmlTable,
  type PageData,
  workloadSection,
  workloadView,
} from "./html_views.ts";
import { baselineSchemeOf, verdicts } from "./verdict.ts";

export { escapeHtml } from "./html_template.ts";

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
  const allVerdicts = verdicts(results);
  const charts: ChartSpec[] = [];
  const sectionVerdicts = groups.map((g) => allVerdicts.filter((v) => v.workload === g.id));
  const views = groups.map((g, wi) => workloadView(g.id, g.runs, sectionVerdicts[wi]));
  const sections = groups.map((g, wi) =>
    workloadSection(wi, g.id, g.runs, views[wi], sectionVerdicts[wi], charts)
  );
  const allCaches = orderedKeys(
    new Set(results.runs.flatMap((r) => Object.keys(r.slab.peak.bytes))),
    RESULT_SLAB_CACHES,
  );
  const allKinds = orderedKeys(new Set(views.flatMap((v) => v.walkKinds)), WALK_KINDS);
  const data: PageData = {
    caches: allCaches,
    cacheColors: { ...CACHE_COLORS },
    walkKinds: allKinds,
    workloads: views,
    charts,
  };

  // Key order as in a written results.json, so re-rendering a read document gives the same page.
  const canonicalData: unknown = JSON.parse(stableStringify(data));
  const s = results.suite;
  const schemeInfo = new Map<string, RunResult["scheme"]>();
  for (const r of results.runs) {
    if (!schemeInfo.has(r.scheme.id)) schemeInfo.set(r.scheme.id, r.scheme);
  }
  const schemeRows = orderedKeys(schemeInfo.keys(), s.schemes).map((id) => {
    const info = schemeInfo.get(id)!;
    return [id, info.title, info.ownedCaches.join(", "), info.ownedLockClasses.join(", ")];
  });
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

  const option = (value: string, label: string, selected = false): SafeHtml =>
    markup`<option value="${value}"${selected ? trustedHtml(" selected") : ""}>${label}</option>`;
  const nav = groups.map((g, wi) => markup`<a href="#workload-${wi}"><code>${g.id}</code></a>`);
  const stats = ["p50", "p90", "p99", "max", "mean"].map((v) => option(v, v, v === "p99"));
  const kinds = allKinds.map((k, i) => option(k, k, i === 0));
  const series = [option("total", "all caches", true), ...allCaches.map((c) => option(c, c))];
  const controls = markup`<div class="controls">
<nav aria-label="Workloads">${nav}</nav>
<label>Statistic <select id="stat-select">${stats}</select></label>
<label>Histogram walk kind <select id="kind-select">${kinds}</select></label>
<label>Time series <select id="series-select">${series}</select></label>
</div>`;

  const failText = JSON.stringify(`Could not load chart.js from ${CHART_JS_MODULE_URL}: `);
  const loader = options.selfContained
    ? markup`<script>${trustedHtml(inlineScriptText(options.chartUmd as string))}</script>
<script>rmapbenchStart(window.Chart);</script>`
    : markup`<script type="module">
import(${trustedHtml(JSON.stringify(CHART_JS_MODULE_URL))}).then(
  function (m) { rmapbenchStart(m.default || m.Chart); },
  function (e) {
    rmapbenchFail(${trustedHtml(failText)} + (e && e.message ? e.message : e));
    document.body.dataset.charts = "0";
    document.body.dataset.ready = "true";
  });
</script>`;
  const repeat = s.repeat ?? 1;
  const baseline = baselineSchemeOf(results);
  const facts = [
    markup`${results.tool.name} ${results.tool.version}`,
    markup`<code>${s.command}</code>`,
    markup`seed ${String(s.seed)}`,
    repeat > 1 ? markup`${repeat} paired repeats` : null,
    markup`cost profile <code>${s.costProfile}</code>`,
    markup`${results.runs.length} runs`,
    baseline ? markup`verdicts against <code>${baseline}</code>` : null,
    markup`times are simulated`,
  ].filter((x) => x !== null).map((x, i) => markup`${i ? " · " : ""}${x}`);
  const schemesTable = htmlTable(
    ["scheme", "title", "own caches", "own lock classes"],
    schemeRows,
    "Schemes",
  );

  return markup`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="${`${results.tool.name} ${results.tool.version}`}">
<title>${title}</title>
<style>${trustedHtml(REPORT_STYLE)}</style>
</head>
<body data-charts-expected="${charts.length}">
<header>
<h1>${title}</h1>
<p class="muted">${facts}</p>
<div id="report-error" role="alert" hidden></div>
${schemesTable}
</header>
${controls}
<main>
${sections}
</main>
<footer>
<h2>Environment</h2>
${htmlTable(["key", "value"], envRows)}
</footer>
<script type="application/json" id="rmapbench-data">${
    trustedHtml(jsonForScript(canonicalData))
  }</script>
<script>${trustedHtml(inlineScriptText(CLIENT_SCRIPT))}</script>
${loader}
</body>
</html>
`.text;
}
