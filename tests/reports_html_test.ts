import assert from "node:assert/strict";
import {
  CHART_JS_MODULE_URL,
  escapeHtml,
  inlineScriptText,
  jsonForScript,
  renderHtml,
} from "../reports/html.ts";
import { loadChartUmd } from "../reports/chart_umd.ts";
import { markup, trustedHtml } from "../reports/html_template.ts";
import { CLIENT_SCRIPT } from "../reports/html_client.ts";
import {
  FORK_TREE_REPEATS,
  makeFixture,
  makeSweepFixture,
  withRepeats,
} from "./fixtures/results_fixture.ts";
import { metricValues } from "../reports/metrics.ts";
import { aggregateRepeats } from "../reports/repeats.ts";
import { summaryMarkdown } from "../reports/markdown.ts";
import type { Results } from "../reports/results.ts";

const XSS = "<script>alert(1)</script>";

/** The JSON embedded in the page. */
function embeddedData(page: string): Record<string, unknown> {
  const m = page.match(/<script type="application\/json" id="rmapbench-data">([^]*?)<\/script>/);
  assert.ok(m, "data script present");
  return JSON.parse(m[1]);
}

Deno.test("escapeHtml escapes the five significant characters", () => {
  assert.equal(escapeHtml(XSS), "&lt;script&gt;alert(1)&lt;/script&gt;");
  assert.equal(escapeHtml(`a&b "c" 'd'`), "a&amp;b &quot;c&quot; &#39;d&#39;");
});

Deno.test("every string from the document is escaped in the page", () => {
  const r = makeFixture();
  r.runs[0].scheme.title = `${XSS} title`;
  r.runs[0].workload.params.evil = `"><img src=x onerror=alert(2)> ${XSS}`;
  r.runs[0].notes = [XSS];
  r.runs[0].extraTables = [{ title: XSS, columns: [XSS], rows: [[XSS]] }];
  r.runs[0].counters[XSS] = 1;
  r.environment.hostname = XSS;
  r.suite.command = `bench ${XSS}`;
  for (const selfContained of [false, true]) {
    const page = renderHtml(r, { selfContained, chartUmd: "window.Chart = function () {};" });
    assert.ok(!page.includes(XSS), "raw script tag absent");
    assert.ok(!page.includes("<img"), "raw img tag absent");
    assert.ok(page.includes("&lt;script&gt;alert(1)&lt;/script&gt; title"));
    assert.ok(page.includes("&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"));
    // The data block escapes < so it cannot close its script element.
    const data = page.match(/id="rmapbench-data">([^]*?)<\/script>/)?.[1] ?? "";
    assert.ok(!data.includes("<"));
  }
});

Deno.test("the page embeds the figures as JSON and names a canvas for every chart", () => {
  const page = renderHtml(makeFixture(), { selfContained: false });
  const data = embeddedData(page) as {
    charts: { id: string; figure: string; workload: number }[];
    workloads: { id: string; runs: { label: string; final: Record<string, number> }[] }[];
  };
  assert.deepEqual(data.workloads.map((w) => w.id), ["fork_tree", "mremap"]);
  assert.deepEqual(data.workloads[0].runs.map((r) => r.label), ["anon_vma", "cow_context"]);
  assert.equal(data.workloads[0].runs[0].final.anon_vma, 312);
  // 12 figures per workload: the verdict, rmap memory (final, peak), shared caches, slab over
  // time, walks, histogram, own-lock hold and wait, shared-lock hold and wait, latency.
  assert.deepEqual(data.charts.filter((c) => c.workload === 0).map((c) => c.id), [
    "chart-0-verdict-0",
    "chart-0-rmap-final",
    "chart-0-rmap-peak",
    "chart-0-shared-final",
    "chart-0-slab-time",
    "chart-0-walks",
    "chart-0-histogram",
    "chart-0-hold-owned",
    "chart-0-wait-owned",
    "chart-0-hold-shared",
    "chart-0-wait-shared",
    "chart-0-latency",
  ]);
  assert.equal(data.charts.length, 24);
  for (const c of data.charts) assert.ok(page.includes(`<canvas id="${c.id}"`), c.id);
  assert.ok(page.includes('data-charts-expected="24"'));
  assert.ok(page.includes("animation: false"));
  assert.ok(page.includes("maintainAspectRatio: false"));
  assert.ok(page.includes('body.dataset.ready = "true"'));
  assert.ok(page.includes("body.dataset.charts = String(drawn)"));
  assert.ok(page.includes("body.dataset.error"));
  // The verdict comes first in each section, with the ratio of cow_context to anon_vma.
  const section = page.slice(page.indexOf('id="workload-0"'));
  assert.ok(section.indexOf("<h3>Verdict</h3>") < section.indexOf("<h3>Figures"));
  // cow_context/fork_tree vs anon_vma/fork_tree: rmap bytes 2·2·128 = 512 vs 632, one repeat.
  assert.ok(section.includes('<td><span class="no-interval">0.81 (1 repeat)</span></td>'));
  assert.ok(page.includes('<div id="report-error" role="alert" hidden>'));
  // Tables of figures, parameters and environment.
  assert.ok(page.includes("<caption>Parameters</caption>"));
  assert.ok(page.includes("<td>a,&quot;quoted&quot; value</td>"));
  assert.ok(page.includes('<td class="num">4.6</td>'), "final slab KiB of anon_vma/fork_tree");
  // Every column of the console table, rmap KiB included, is in the figures table.
  for (const h of ["rmap KiB", "rmap peak KiB", "own lock acq", "wait p99 ns"]) {
    assert.ok(page.includes(`<th scope="col">${h}</th>`), h);
  }
  assert.ok(page.includes("<td>ci-host</td>"));
  assert.ok(page.includes('<pre class="notes">calibration: 1 &lt;= 2</pre>'));
});

Deno.test("default mode imports chart.js from esm.sh in a module script", () => {
  const page = renderHtml(makeFixture(), { selfContained: false });
  assert.equal(CHART_JS_MODULE_URL, "https://esm.sh/chart.js@4.6.1/auto");
  assert.ok(page.includes('<script type="module">\nimport("https://esm.sh/chart.js@4.6.1/auto")'));
  assert.ok(page.startsWith("<!doctype html>\n"));
  // Pure: the same input gives the same page.
  assert.equal(renderHtml(makeFixture(), { selfContained: false }), page);
});

Deno.test("self-contained mode inlines the UMD text with </script escaped", () => {
  const umd = 'window.Chart = function () {}; var s = "</script><!-- x"; var t = "</SCRIPT>";';
  const page = renderHtml(makeFixture(), { selfContained: true, chartUmd: umd });
  assert.ok(!page.includes("esm.sh/chart.js"), "no network reference");
  assert.ok(page.includes('var s = "<\\/script><!-- x"; var t = "<\\/SCRIPT>";'));
  assert.ok(page.includes("<script>rmapbenchStart(window.Chart);</script>"));
  assert.ok(!page.includes('type="module"'));
  assert.throws(() => renderHtml(makeFixture(), { selfContained: true }), {
    message: "Option chartUmd is required when selfContained is true",
  });
});

Deno.test("script helpers escape what could end a script element", () => {
  assert.equal(
    jsonForScript({ a: "</script><!--\u2028" }),
    '{"a":"\\u003c/script>\\u003c!--\\u2028"}',
  );
  assert.equal(inlineScriptText("x</Script>"), "x<\\/Script>");
});

Deno.test("loadChartUmd reads chart.js 4.6.1's UMD bundle", async () => {
  const umd = await loadChartUmd();
  assert.ok(umd.length > 100_000);
  assert.ok(umd.slice(0, 200).includes("Chart.js v4.6.1"));
  assert.ok(!/<\/script/i.test(umd));
  const page = renderHtml(makeFixture(), { selfContained: true, chartUmd: umd });
  assert.ok(page.length > umd.length);
});

interface FakeChart {
  canvas: { id: string };
  config: { type: string; data: ChartData; options: Record<string, unknown> };
  data: ChartData;
  updates: number;
}
interface ChartData {
  labels?: string[];
  datasets: { label: string; data: unknown[] }[];
}

/**
 * Runs the page's own drawing script against a minimal fake DOM and a fake Chart constructor, so
 * the client code is exercised without a browser (the Playwright test covers real rendering).
 */
function runPageScript(page: string): {
  body: { dataset: Record<string, string> };
  charts: FakeChart[];
  select: (id: string, value: string) => void;
  errorBox: { hidden: boolean; textContent: string };
} {
  const data = page.match(/id="rmapbench-data">([^]*?)<\/script>/)?.[1] ?? "";
  const client = [...page.matchAll(/<script>([^]*?)<\/script>/g)].map((m) => m[1])
    .find((s) => s.includes("function rmapbenchDraw"));
  assert.ok(client, "client script present");
  const canvasIds = new Set([...page.matchAll(/<canvas id="([^"]+)"/g)].map((m) => m[1]));
  const listeners = new Map<string, () => void>();
  const selects = new Map<
    string,
    { value: string; addEventListener: (t: string, f: () => void) => void }
  >();
  for (
    const [id, value] of [["stat-select", "p99"], ["kind-select", "referenced"], [
      "series-select",
      "total",
    ]]
  ) {
    selects.set(id, { value, addEventListener: (_t, f) => listeners.set(id, f) });
  }
  const errorBox = { hidden: true, textContent: "" };
  const body = { dataset: {} as Record<string, string> };
  const document = {
    body,
    getElementById(id: string): unknown {
      if (id === "rmapbench-data") return { textContent: data };
      if (id === "report-error") return errorBox;
      if (selects.has(id)) return selects.get(id);
      return canvasIds.has(id) ? { id } : null;
    },
  };
  const charts: FakeChart[] = [];
  function Chart(this: FakeChart, canvas: { id: string }, config: FakeChart["config"]): void {
    this.canvas = canvas;
    this.config = config;
    this.data = config.data;
    this.updates = 0;
    charts.push(this);
  }
  Chart.prototype.update = function (this: FakeChart): void {
    this.updates++;
  };
  // The client reaches the browser through globalThis; give it a fake one.
  const start = new Function("globalThis", `${client}\nreturn rmapbenchStart;`)({
    document,
    addEventListener(): void {},
  });
  start(Chart);
  return {
    body,
    charts,
    errorBox,
    select(id: string, value: string): void {
      selects.get(id)!.value = value;
      listeners.get(id)!();
    },
  };
}

Deno.test("the page script draws every chart and marks the page ready", () => {
  const page = renderHtml(makeFixture(), { selfContained: false });
  const { body, charts, select, errorBox } = runPageScript(page);
  assert.equal(body.dataset.error, undefined, errorBox.textContent);
  assert.equal(body.dataset.ready, "true");
  assert.equal(body.dataset.charts, "24");
  assert.equal(charts.length, 24);
  const byId = (id: string): FakeChart => charts.find((c) => c.canvas.id === id)!;

  const final = byId("chart-0-rmap-final").config;
  assert.equal(final.type, "bar");
  // Only the caches the schemes add; the shared ones are in their own chart.
  assert.deepEqual(final.data.datasets.map((d) => d.label), [
    "anon_vma",
    "anon_vma_chain",
    "cow_context",
  ]);
  assert.deepEqual(
    byId("chart-0-shared-final").config.data.datasets.map((d) => d.label),
    ["vm_area_struct", "maple_node", "mm_struct"],
  );
  assert.deepEqual(final.data.labels, ["anon_vma", "cow_context"]);
  const anonVma = final.data.datasets.find((d) => d.label === "anon_vma")!;
  assert.deepEqual(anonVma.data, [312 / 1024, 0]);
  assert.equal(final.options.animation, false);
  assert.equal(final.options.maintainAspectRatio, false);

  const time = byId("chart-1-slab-time").config;
  assert.equal(time.type, "line");
  assert.deepEqual(time.data.datasets.map((d) => d.label), ["anon_vma", "cow_context"]);
  assert.equal(time.data.datasets[0].data.length, 3);

  const walks = byId("chart-0-walks");
  assert.deepEqual(walks.config.data.labels, ["referenced", "unmap"]);
  assert.deepEqual(walks.config.data.datasets[0].data, [5, 3]);
  select("stat-select", "max");
  assert.equal(walks.updates, 1);
  assert.deepEqual(walks.data.datasets[0].data, [6, 4]);

  const wait = byId("chart-0-wait-owned");
  assert.deepEqual(wait.data.labels, ["anon_vma.root", "cow_context.lock"]);
  assert.deepEqual(wait.data.datasets[0].data, [2000, null]);
  const shared = byId("chart-0-wait-shared");
  assert.deepEqual(shared.data.labels, ["mmap_lock"]);
  assert.deepEqual(shared.data.datasets[0].data, [100]);

  // The verdict chart: floating bars from 1 to the ratio, log axis, intervals for error bars.
  const verdict = byId("chart-0-verdict-0").config as unknown as {
    type: string;
    data: { labels: string[]; datasets: { label: string; data: unknown[]; ci: unknown[] }[] };
    options: { scales: { y: { type: string } } };
    plugins: { id: string }[];
  };
  assert.equal(verdict.type, "bar");
  assert.equal(verdict.options.scales.y.type, "logarithmic");
  assert.equal(verdict.plugins[0].id, "rmapbenchErrorBars");
  assert.deepEqual(verdict.data.datasets.map((d) => d.label), ["cow_context"]);
  assert.equal(verdict.data.labels[0], "rmap bytes");
  // 512 / 632 to 12 significant digits (ratios are rounded so documents serialise identically).
  assert.deepEqual(verdict.data.datasets[0].data[0], [1, 0.810126582278]);

  const hist = byId("chart-0-histogram");
  assert.deepEqual(hist.config.data.labels, ["1", "2–3", "4–7"]);
  assert.deepEqual(hist.config.data.datasets[1].data, [1, 8, 1]);
  select("kind-select", "unmap");
  assert.deepEqual(hist.data.datasets[1].data, [1, 2, 1]);

  select("series-select", "anon_vma");
  const t = byId("chart-0-slab-time");
  assert.deepEqual(t.data.datasets[0].data, [{ x: 0, y: 0 }, { x: 0.001, y: 624 / 1024 }, {
    x: 0.002,
    y: 312 / 1024,
  }]);
  assert.equal(body.dataset.error, undefined, errorBox.textContent);
});

Deno.test("the page script reports a missing chart.js visibly", () => {
  const page = renderHtml(makeFixture(), { selfContained: false });
  const errorBox = { hidden: true, textContent: "" };
  const body = { dataset: {} as Record<string, string> };
  const document = {
    body,
    getElementById: (id: string) => (id === "report-error" ? errorBox : null),
  };
  const client = [...page.matchAll(/<script>([^]*?)<\/script>/g)].map((m) => m[1])
    .find((s) => s.includes("function rmapbenchDraw"))!;
  const start = new Function("globalThis", `${client}\nreturn rmapbenchStart;`)({
    document,
    addEventListener(): void {},
  });
  start(undefined);
  assert.equal(body.dataset.ready, "true");
  assert.equal(body.dataset.charts, "0");
  assert.equal(body.dataset.error, "Report failed: chart.js did not load");
  assert.equal(errorBox.hidden, false);
});

// ---------------------------------------------------------------------------------------------
// Scaling charts of parameter sweeps

interface SweepData {
  charts: { id: string; figure: string; workload: number; metric?: string }[];
  workloads: {
    id: string;
    sweep: {
      param: string;
      xs: number[];
      log: boolean;
      lines: { scheme: string; points: Record<string, number | string | null>[] }[];
    } | null;
  }[];
}

const SCALING_METRICS = [
  "slabPeak",
  "rmapFinal",
  "rmapPeak",
  "walkP99",
  "useless",
  "lockWait",
  "lockHold",
];

Deno.test("a one-parameter sweep gets scaling charts with sorted x values and one line per scheme", () => {
  // Out of order on purpose: the charts sort by the swept value.
  const page = renderHtml(
    makeSweepFixture([{ children: 4 }, { children: 1 }, { children: 16 }]),
    { selfContained: false },
  );
  const data = embeddedData(page) as unknown as SweepData;
  const sweep = data.workloads[0].sweep!;
  assert.equal(sweep.param, "children");
  assert.deepEqual(sweep.xs, [1, 4, 16]);
  assert.equal(sweep.log, true, "geometric sweep on a log axis");
  assert.deepEqual(sweep.lines.map((l) => l.scheme), ["anon_vma", "cow_context"]);
  const anon = sweep.lines[0].points;
  const cow = sweep.lines[1].points;
  assert.deepEqual(anon.map((p) => p.x), [1, 4, 16]);
  assert.deepEqual(cow.map((p) => p.x), [1, 4, 16]);
  // The fixture scales every figure by k = children (see tests/fixtures/results_fixture.ts).
  assert.deepEqual(anon.map((p) => p.slabPeak), [9328, 9328 * 4, 9328 * 16]);
  assert.deepEqual(cow.map((p) => p.slabPeak), [8576, 8576 * 4, 8576 * 16]);
  assert.deepEqual(anon.map((p) => p.rmapFinal), [632, 632 * 4, 632 * 16], "anon_vma + AVC");
  assert.deepEqual(cow.map((p) => p.rmapFinal), [256, 256 * 4, 256 * 16], "cow_context");
  assert.deepEqual(anon.map((p) => p.walkP99), [5, 20, 80], "referenced p99 beats unmap p99");
  for (const p of [...anon, ...cow]) assert.ok(Math.abs((p.useless as number) - 1200 / 43) < 1e-9);
  assert.deepEqual(anon.map((p) => p.lockWait), [1000, 4000, 16000]);
  assert.deepEqual(anon.map((p) => p.lockHold), [400, 400, 400], "the scheme's own lock only");

  const scaling = data.charts.filter((c) => c.figure === "scaling");
  assert.deepEqual(scaling.map((c) => c.metric), SCALING_METRICS);
  assert.ok(scaling.every((c) => c.workload === 0 && c.id.startsWith("chart-0-scaling-")));
  // 3 verdicts (one per point), 7 scaling charts, 11 per-run charts.
  assert.equal(data.charts.length, 3 + 7 + 11);
  assert.ok(page.includes('data-charts-expected="21"'));
  for (const c of data.charts) assert.ok(page.includes(`<canvas id="${c.id}"`), c.id);
  assert.ok(page.includes("<h3>Scaling with <code>children</code></h3>"));
  assert.ok(page.includes("(6 runs: anon_vma [children=4], anon_vma [children=1]"));
  assert.ok(!page.includes('class="note sweep-note"'));

  // The page's script draws them: x = swept value, y in the chart's unit, one dataset per scheme.
  const { body, charts, errorBox } = runPageScript(page);
  assert.equal(body.dataset.error, undefined, errorBox.textContent);
  assert.equal(body.dataset.charts, "21");
  const peak = charts.find((c) => c.canvas.id === "chart-0-scaling-slabPeak")!.config;
  assert.equal(peak.type, "line");
  assert.deepEqual(peak.data.datasets.map((d) => d.label), ["anon_vma", "cow_context"]);
  assert.deepEqual(peak.data.datasets[0].data, [
    { x: 1, y: 9328 / 1024 },
    { x: 4, y: (9328 * 4) / 1024 },
    { x: 16, y: (9328 * 16) / 1024 },
  ]);
  const x = (peak.options.scales as Record<string, Record<string, unknown>>).x;
  assert.equal(x.type, "logarithmic");
  assert.equal((x.title as { text: string }).text, "children (log scale)");
  const wait = charts.find((c) => c.canvas.id === "chart-0-scaling-lockWait")!.config;
  assert.deepEqual(wait.data.datasets[1].data, [{ x: 1, y: 1000 }, { x: 4, y: 4000 }, {
    x: 16,
    y: 16000,
  }]);
});

Deno.test("a machine-parameter sweep is charted against machine.X on a linear axis", () => {
  const page = renderHtml(
    makeSweepFixture([{ "machine.cpus": 2 }, { "machine.cpus": 4 }, { "machine.cpus": 6 }]),
    { selfContained: false },
  );
  const sweep = (embeddedData(page) as unknown as SweepData).workloads[0].sweep!;
  assert.equal(sweep.param, "machine.cpus");
  assert.deepEqual(sweep.xs, [2, 4, 6]);
  assert.equal(sweep.log, false, "evenly spaced values stay linear");
  const { charts } = runPageScript(page);
  const x = (charts.find((c) => c.canvas.id === "chart-0-scaling-useless")!.config.options
    .scales as Record<string, Record<string, unknown>>).x;
  assert.equal(x.type, "linear");
});

Deno.test("a kernel-parameter sweep is read from the run ids", () => {
  const page = renderHtml(
    makeSweepFixture([{ "kernel.avcLimit": 1 }, { "kernel.avcLimit": 3 }]),
    { selfContained: false },
  );
  const sweep = (embeddedData(page) as unknown as SweepData).workloads[0].sweep!;
  assert.equal(sweep.param, "kernel.avcLimit");
  assert.deepEqual(sweep.lines[0].points.map((p) => p.x), [1, 3]);
});

Deno.test("a document without a sweep renders no scaling charts", () => {
  const page = renderHtml(makeFixture(), { selfContained: false });
  const data = embeddedData(page) as unknown as SweepData;
  assert.ok(data.workloads.every((w) => w.sweep === null));
  assert.ok(data.charts.every((c) => c.figure !== "scaling"));
  assert.ok(!page.includes("Scaling with"));
  assert.ok(!page.includes('class="note sweep-note"'));
  assert.ok(page.includes("(2 schemes: anon_vma, cow_context)"));
  // Different parameters across schemes, each run once, are not a sweep either.
  const r = makeFixture();
  r.runs[1].workload.params = { ...r.runs[1].workload.params, depth: 9 };
  assert.ok(!renderHtml(r, { selfContained: false }).includes('class="note sweep-note"'));
});

Deno.test("a sweep of several parameters gets a note instead of scaling charts", () => {
  const page = renderHtml(
    makeSweepFixture([
      { children: 1, depth: 2 },
      { children: 1, depth: 4 },
      { children: 2, depth: 2 },
      { children: 2, depth: 4 },
    ]),
    { selfContained: false },
  );
  const data = embeddedData(page) as unknown as SweepData;
  assert.equal(data.workloads[0].sweep, null);
  assert.ok(data.charts.every((c) => c.figure !== "scaling"));
  assert.equal(data.charts.length, 4 + 11);
  assert.ok(page.includes('data-charts-expected="15"'));
  assert.ok(page.includes(
    '<p class="note sweep-note">This sweep varies several parameters (<code>children</code>, ' +
      "<code>depth</code>), so no scaling charts are drawn",
  ));
  assert.ok(!page.includes("Scaling with"));
  const { body } = runPageScript(page);
  assert.equal(body.dataset.charts, "15");

  const modes = renderHtml(makeSweepFixture([{ mode: "tree" }, { mode: "breadth" }]), {
    selfContained: false,
  });
  assert.ok(modes.includes("varies the non-numeric parameter <code>mode</code>"));
  assert.ok(!modes.includes("Scaling with"));
});

Deno.test("scaling charts skip figures no run has and escape the parameter name", () => {
  const r = makeSweepFixture([{ [XSS]: 1 }, { [XSS]: 2 }, { [XSS]: 3 }]);
  for (const run of r.runs) {
    run.walks = {};
    delete run.locks["anon_vma.root"];
    delete run.locks["cow_context.lock"];
  }
  const page = renderHtml(r, { selfContained: false });
  assert.ok(!page.includes(XSS));
  assert.ok(page.includes("<h3>Scaling with <code>&lt;script&gt;alert(1)&lt;/script&gt;</code>"));
  const data = embeddedData(page) as unknown as SweepData;
  assert.equal(data.workloads[0].sweep!.param, XSS);
  assert.deepEqual(
    data.charts.filter((c) => c.figure === "scaling").map((c) => c.metric),
    ["slabPeak", "rmapFinal", "rmapPeak"],
  );
  const { body, errorBox } = runPageScript(page);
  assert.equal(body.dataset.error, undefined, errorBox.textContent);
  assert.equal(body.dataset.charts, String(data.charts.length));

  const several = makeSweepFixture([{ [XSS]: 1, depth: 1 }, { [XSS]: 2, depth: 2 }]);
  const notePage = renderHtml(several, { selfContained: false });
  assert.ok(!notePage.includes(XSS));
  assert.ok(notePage.includes("<code>&lt;script&gt;alert(1)&lt;/script&gt;</code>"));
});

Deno.test("the markup template escapes every interpolation unless it is markup", () => {
  const evil = `"><img src=x onerror=alert(1)>`;
  assert.equal(
    markup`<td title="${evil}">${evil}</td>`.text,
    '<td title="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;">' +
      "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;</td>",
  );
  // Nested markup and arrays are inserted as they are; null, undefined and false give nothing.
  const inner = markup`<b>${"<i>"}</b>`;
  assert.equal(
    markup`${[inner, inner]}${null}${undefined}${false}${0}`.text,
    "<b>&lt;i&gt;</b>".repeat(2) + "0",
  );
  assert.equal(markup`${trustedHtml("<br>")}`.text, "<br>");
});

Deno.test("the markup template escapes the strings inside an interpolated array", () => {
  // An array is joined, each element rendered like a single interpolation: a string from input
  // in a list of cells or names is escaped, markup beside it is not (html_template.ts render).
  const inner = markup`<b>${"x"}</b>`;
  assert.equal(
    markup`<p>${[XSS, inner, 1, [`"'&`]]}</p>`.text,
    "<p>&lt;script&gt;alert(1)&lt;/script&gt;<b>x</b>1&quot;&#39;&amp;</p>",
  );
});

Deno.test("the client script is the type-checked functions as JavaScript", () => {
  assert.ok(CLIENT_SCRIPT.includes("function rmapbenchDraw("));
  assert.ok(CLIENT_SCRIPT.includes("function rmapbenchStart("));
  assert.ok(CLIENT_SCRIPT.endsWith("rmapbenchInstall();\n"));
  // It parses as a classic script (no TypeScript syntax, no imports left in it).
  new Function(CLIENT_SCRIPT);
  assert.ok(!/\bimport\b/.test(CLIENT_SCRIPT));
});

/**
 * The body rows of the first table of `html` whose header row is `header` (every `<th>` text in
 * order), each row as its cells' inner HTML.
 */
function tableRows(html: string, header: readonly string[]): string[][] {
  const head = header.map((h) => `<th scope="col">${h}</th>`).join("");
  const at = html.indexOf(`<thead><tr>${head}</tr></thead>`);
  assert.ok(at >= 0, `a table headed ${header.join(", ")}`);
  const body = html.slice(at, html.indexOf("</tbody>", at));
  return [...body.matchAll(/<tr>([^]*?)<\/tr>/g)].slice(1).map((m) =>
    [...m[1].matchAll(/<td[^>]*>([^]*?)<\/td>/g)].map((c) => c[1])
  );
}

const FIGURES_HEADER = [
  "scheme",
  "VMAs",
  "anon_vma",
  "AVC",
  "cow_ctx",
  "rmap KiB",
  "rmap peak KiB",
  "slab KiB",
  "peak slab KiB",
  "visits mean",
  "p99",
  "max",
  "useless %",
  "own lock acq",
  "work under lock",
  "hold p99 ns",
  "wait p99 ns",
  "trylock fail",
  "ops",
  "simulated ms",
  "CPU %",
  "walks checked",
  "oracle mismatches",
  "leak free",
];

/** {@link FIGURES_HEADER} of a section with repeats: two columns are repeat 0's own figures. */
const FIGURES_HEADER_REPEATS = FIGURES_HEADER.map((h) =>
  h === "CPU %" || h === "walks checked" ? `${h} (repeat 0)` : h
);

Deno.test("the figures table gives simulated time in ms and CPU busy time in %", () => {
  // The fixture's runs take 1 ms · k of simulated time (simulatedNs = 1,000,000 · k) at a busy
  // fraction of 0.25: fork_tree has k = 1 (anon_vma) and k = 2 (cow_context).
  const page = renderHtml(makeFixture(), { selfContained: false });
  const rows = tableRows(page, FIGURES_HEADER);
  assert.deepEqual(rows.map((r) => r[0]), ["anon_vma", "cow_context"]);
  assert.deepEqual(rows.map((r) => r.slice(-6)), [
    ["100", "1", "25", "14", "0", "yes"],
    ["200", "2", "25", "14", "0", "yes"],
  ]);
});

Deno.test("the lock table shows each class's own hold and wait percentiles", () => {
  // Fixture locks: hold p50/p99/max 100/400/900 ns; wait p50 0, p99 1000 · k (the scheme's root
  // lock) or 50 (mmap_lock), max twice the p99; work under lock 3 tree_update + 1 list_op per write.
  const page = renderHtml(makeFixture(), { selfContained: false });
  const rows = tableRows(page, [
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
  ]);
  assert.deepEqual(rows.slice(0, 2), [
    [
      "anon_vma",
      "anon_vma.root",
      "scheme",
      "20",
      "10",
      "1",
      "100",
      "400",
      "900",
      "0",
      "1,000",
      "2,000",
      "list_op=10 tree_update=30",
    ],
    [
      "anon_vma",
      "mmap_lock",
      "shared",
      "5",
      "5",
      "0",
      "100",
      "400",
      "900",
      "0",
      "50",
      "100",
      "list_op=5 tree_update=15",
    ],
  ]);
});

Deno.test("the page data draws each cache's peak bytes apart from its final bytes", () => {
  // SlabPeak: the fixture's peaks are twice the final objects, e.g. anon_vma/fork_tree ends with
  // 3 anon_vmas (312 B) and 5 AVCs (320 B) and peaked at 6 (624 B) and 10 (640 B).
  const data = embeddedData(renderHtml(makeFixture(), { selfContained: false })) as {
    workloads: { runs: { final: Record<string, number>; peak: Record<string, number> }[] }[];
  };
  const run = data.workloads[0].runs[0];
  assert.deepEqual([run.final.anon_vma, run.final.anon_vma_chain], [312, 320]);
  assert.deepEqual([run.peak.anon_vma, run.peak.anon_vma_chain], [624, 640]);
});

Deno.test("the scaling table gives the byte figures in KiB and the others in their own unit", () => {
  // anon_vma at children = 1 (k = 1): peak slab 9328 B, rmap bytes 632 B at the end and 1264 B
  // at the peak, walk p99 5, useless 1200/43 %, own-lock wait p99 1000 ns and hold p99 400 ns.
  const page = renderHtml(
    makeSweepFixture([{ children: 1 }, { children: 2 }, { children: 4 }]),
    { selfContained: false },
  );
  const rows = tableRows(page, [
    "scheme",
    "children",
    "Peak slab KiB (all caches)",
    "Rmap KiB at the end (own caches)",
    "Rmap KiB peak (own caches)",
    "Rmap walk visits p99",
    "Useless visits %",
    "Own lock wait p99 ns",
    "Own lock hold p99 ns",
  ]);
  assert.deepEqual(rows.slice(0, 3), [
    ["anon_vma", "1", "9.11", "0.62", "1.23", "5", "27.91", "1,000", "400"],
    ["anon_vma", "2", "18.22", "1.23", "2.47", "10", "27.91", "2,000", "400"],
    ["anon_vma", "4", "36.44", "2.47", "4.94", "20", "27.91", "4,000", "400"],
  ]);
});

// ---------------------------------------------------------------------------------------------
// Repeats, verdicts and the escaping of the page's own chrome

/** {@link FORK_TREE_REPEATS}, with anon_vma's ops varying over the repeats too (100, 200, 600). */
function repeatedFixture(): Results {
  const plan = FORK_TREE_REPEATS;
  return withRepeats(makeFixture(), [1, 2, 3], {
    ...plan,
    "anon_vma/fork_tree": { ...plan["anon_vma/fork_tree"], ops: [100, 200, 600] },
  });
}

const VERDICT_HEADER = [
  "scheme",
  "rmap bytes",
  "rmap bytes peak",
  "walk visits mean",
  "walk visits p99",
  "useless %",
  "own lock hold p99",
  "own lock wait p99",
  "trylock failures",
  "fork p99",
  "exit p99",
  "fault p99",
];

Deno.test("with repeats, the verdict table gives each ratio with its interval and verdict", () => {
  const page = renderHtml(repeatedFixture(), { selfContained: false });
  const span = (cls: string, text: string): string => `<span class="${cls}">${text}</span>`;
  // The baseline row: anon_vma's means over the repeats (5120 B, walk p99 31/6) in their units.
  assert.deepEqual(tableRows(page, VERDICT_HEADER).slice(0, 2), [
    [
      "anon_vma",
      span("baseline", "5.0 KiB"),
      span("baseline", "1.2 KiB"),
      span("baseline", "10"),
      span("baseline", "5.2"),
      span("baseline", "27.9 %"),
      span("baseline", "400 ns"),
      span("baseline", "1000 ns"),
      span("baseline", "0"),
      span("baseline", "18.0 µs"),
      span("absent", "–"),
      span("absent", "–"),
    ],
    [
      "cow_context",
      span("better", "0.40 [0.00, 0.60]"),
      span("better", "0.81 (exact)"),
      span("no-difference", "5.00 [0.00, 12.5] n.s."),
      span("worse", "2.13 [1.84, 2.38]"),
      span("equal", "="),
      span("no-difference", "1.00 [0.85, 1.19] n.s."),
      span("worse", "2.00 (exact)"),
      span("no-interval", "∞ (baseline 0)"),
      span("better", "0.50 (exact)"),
      span("absent", "–"),
      span("absent", "–"),
    ],
  ]);
  assert.ok(page.includes(
    "<caption>Verdict: each scheme&#39;s mean divided by anon_vma&#39;s, with its 95 % interval " +
      "over 3 paired repeats</caption>",
  ));
  assert.ok(page.includes("verdicts against <code>anon_vma</code>"));
  assert.ok(page.includes(" · 3 paired repeats · "));
});

Deno.test("with repeats, the verdict chart has error bars and an axis spanning them", () => {
  const data = embeddedData(renderHtml(repeatedFixture(), { selfContained: false })) as {
    workloads: {
      verdicts: {
        ratios: (number | null)[][];
        cis: (number[] | null)[][];
        axisMin: number;
        axisMax: number;
      }[];
    }[];
  };
  const v = data.workloads[0].verdicts[0];
  assert.deepEqual(v.ratios, [[
    0.4,
    0.810126582278,
    5,
    2.12903225806,
    1,
    1,
    2,
    null,
    0.5,
    null,
    null,
  ]]);
  // Intervals of the noisy figures only: an exact ratio has no error bar, nor has a ratio to 0.
  assert.deepEqual(v.cis, [[
    [0, 0.599152218259],
    null,
    [0, 12.4524131353],
    [1.83967299695, 2.3841755217],
    null,
    [0.85283947879, 1.18633322836],
    null,
    null,
    null,
    null,
    null,
  ]]);
  // Every ratio lies in [0.1, 10], but the walk mean's interval reaches 12.45: a decade more.
  assert.deepEqual([v.axisMin, v.axisMax], [0.1, 100]);
});

Deno.test("with repeats, a section shows means, the repeat-0 note and intervals", () => {
  const page = renderHtml(repeatedFixture(), { selfContained: false });
  assert.ok(page.includes("<h3>Figures (means over 3 repeats)</h3>"));
  assert.ok(page.includes(
    '<p class="muted">The charts and the tables below show repeat 0 (seed 1); the figures table ' +
      "shows means over 3 repeats.</p>",
  ));
  // ops of anon_vma/fork_tree: 100, 200 and 600 over the repeats, mean 300.
  const figures = tableRows(page, FIGURES_HEADER_REPEATS);
  assert.deepEqual(figures.map((r) => [r[0], r[18]]), [["anon_vma", "300"], [
    "cow_context",
    "200",
  ]]);
  const agg = tableRows(page, [
    "scheme",
    "figure",
    "mean",
    "sd",
    "min",
    "max",
    "95 % interval",
    "exact",
  ]);
  assert.deepEqual(agg.filter((r) => r[1] === "rmap bytes" || r[1] === "walk visits p99"), [
    // 5120 ± t(0.975, 2) · 1024 / √3 = 5120 ± 2543.8.
    ["anon_vma", "rmap bytes", "5,120", "1,024", "4,096", "6,144", "[2576.2, 7663.8]", "no"],
    ["anon_vma", "walk visits p99", "5.17", "0.29", "5", "5.50", "[4.45, 5.88]", "no"],
    // 2048 ± 2543.8 reaches below 0, where bytes cannot be: the interval starts at 0.
    ["cow_context", "rmap bytes", "2,048", "1,024", "1,024", "3,072", "[0, 4591.8]", "no"],
    ["cow_context", "walk visits p99", "11", "1", "10", "12", "[8.52, 13.48]", "no"],
  ]);
  // Without repeats there is neither the note nor the table of intervals.
  const single = renderHtml(makeFixture(), { selfContained: false });
  assert.ok(single.includes("<h3>Figures</h3>"));
  assert.ok(!single.includes("show repeat 0"));
  assert.ok(!single.includes("Headline figures over the repeats"));
});

Deno.test("with repeats, the figures table's oracle columns are over every repeat", () => {
  // A run's own oracle block is repeat 0's (0 mismatches, leak-free). Repeat 1 of anon_vma had 3
  // mismatches and repeat 2 of cow_context leaked: the table shows the worst repeat, as the
  // markdown summary's correctness callout does; repeat 0's CPU % and walks checked say so.
  const doc = withRepeats(makeFixture(), [1, 2, 3], {
    "anon_vma/fork_tree": { "oracle.mismatches": [0, 3, 0], "oracle.leaks": [0, 0, 0] },
    "cow_context/fork_tree": { "oracle.mismatches": [0, 0, 0], "oracle.leaks": [0, 0, 1] },
  });
  const page = renderHtml(doc, { selfContained: false });
  const rows = tableRows(page, FIGURES_HEADER_REPEATS);
  assert.deepEqual(rows.map((r) => [r[0], r[22], r[23]]), [
    ["anon_vma", "3", "yes"],
    ["cow_context", "0", "no"],
  ]);
  const md = summaryMarkdown(doc);
  assert.ok(md.includes("> **Correctness:** `anon_vma/fork_tree`: 3 oracle mismatches\n"), md);
  assert.ok(
    md.includes(
      "> **Correctness:** `cow_context/fork_tree`: 0 oracle mismatches, slab objects leaked",
    ),
    md,
  );
});

Deno.test("the scaling charts plot the mean over each point's repeats", () => {
  // Each repeat k of a point scales its figures by k + 1: the means are twice repeat 0's.
  const doc = makeSweepFixture([{ children: 1 }, { children: 2 }, { children: 4 }]);
  for (const r of doc.runs) {
    const base = metricValues(r);
    r.repeats = [1, 2, 3].map((f, k) => ({
      repeat: k,
      seed: k + 1,
      metrics: Object.fromEntries(Object.entries(base).map(([m, v]) => [m, v * f])),
    }));
    r.aggregates = aggregateRepeats(r.repeats);
  }
  const page = renderHtml(doc, { selfContained: false });
  const sweep = (embeddedData(page) as unknown as SweepData).workloads[0].sweep!;
  assert.deepEqual(sweep.lines[0].points.map((p) => p.slabPeak), [
    2 * 9328,
    2 * 9328 * 2,
    2 * 9328 * 4,
  ]);
  assert.deepEqual(sweep.lines[0].points.map((p) => p.lockWait), [2000, 4000, 8000]);
  const rows = tableRows(page, [
    "scheme",
    "children",
    "Peak slab KiB (all caches)",
    "Rmap KiB at the end (own caches)",
    "Rmap KiB peak (own caches)",
    "Rmap walk visits p99",
    "Useless visits %",
    "Own lock wait p99 ns",
    "Own lock hold p99 ns",
  ]);
  assert.deepEqual(rows[0], [
    "anon_vma",
    "1",
    "18.22",
    "1.23",
    "2.47",
    "10",
    "55.81",
    "2,000",
    "800",
  ]);
});

Deno.test("the counters table has every scheme's counters, exact, with separators", () => {
  const r = makeFixture();
  r.runs[0].counters.anon_vma_reuse = 1234567;
  r.runs[1].counters.only_cow = 12345;
  const rows = tableRows(renderHtml(r, { selfContained: false }), [
    "counter",
    "anon_vma",
    "cow_context",
  ]);
  assert.deepEqual(rows, [
    ["anon_vma_reuse", "1,234,567", "4"],
    ["merge_failed.anon_vma", "1", "2"],
    ["only_cow", "–", "12,345"],
  ]);
});

Deno.test("the walk histogram has every bucket any scheme's walks reached", () => {
  const r = makeFixture();
  r.runs[1].walks.referenced.histogram.push({ lo: 8, hi: 15, count: 2 });
  const data = embeddedData(renderHtml(r, { selfContained: false })) as {
    workloads: { histograms: Record<string, { labels: string[]; counts: number[][] }> }[];
  };
  assert.deepEqual(data.workloads[0].histograms.referenced, {
    labels: ["1", "2–3", "4–7", "8–15"],
    counts: [[1, 8, 1, 0], [1, 8, 1, 2]],
  });
});

Deno.test("the latency table shows each operation's own p99, not another percentile", () => {
  const r = makeFixture();
  r.runs[0].latency.fork.p90 = 8000; // p50 5000, p99 9000, max 9500, mean 7000
  const rows = tableRows(renderHtml(r, { selfContained: false }), [
    "scheme",
    "op",
    "count",
    "mean",
    "p50",
    "p99",
    "max",
  ]);
  assert.deepEqual(rows.filter((row) => row[0] === "anon_vma" && row[1] === "fork"), [
    ["anon_vma", "fork", "1", "7,000", "5,000", "9,000", "9,500"],
  ]);
});

Deno.test("each sweep point's verdict names its point", () => {
  const page = renderHtml(makeSweepFixture([{ children: 1 }, { children: 4 }]), {
    selfContained: false,
  });
  // One run per scheme and point: the captions say there is no interval, not "95 %".
  for (const point of ["[children=1]", "[children=4]"]) {
    assert.ok(page.includes(
      `<figcaption>Verdict ${point}: ratio to anon_vma (one run each: no interval)`,
    ));
    assert.ok(page.includes(
      `<caption>Verdict ${point}: each scheme&#39;s figure divided by anon_vma&#39;s, from one ` +
        "run each (no interval; --repeat N gives one)</caption>",
    ));
  }
  assert.ok(!page.includes("95 % interval over 1 paired"));
});

Deno.test("the page's generator and navigation escape names from the document", () => {
  const r = makeFixture();
  r.tool.name = `rm"ap<b>`;
  for (const run of r.runs.slice(2)) {
    run.workload.id = XSS;
    run.id = `${run.scheme.id}/${XSS}`;
  }
  r.suite.workloads = ["fork_tree", XSS];
  const page = renderHtml(r, { selfContained: false });
  assert.ok(!page.includes(XSS));
  assert.ok(!page.includes("<b>"));
  assert.ok(page.includes('<meta name="generator" content="rm&quot;ap&lt;b&gt; 0.1.0">'));
  assert.ok(page.includes(
    '<a href="#workload-1"><code>&lt;script&gt;alert(1)&lt;/script&gt;</code></a>',
  ));
  assert.ok(page.includes("<h2>Workload <code>&lt;script&gt;alert(1)&lt;/script&gt;</code>"));
});

Deno.test("a workload the suite does not list still gets its section", () => {
  const r = makeFixture();
  r.suite.workloads = ["fork_tree"];
  const page = renderHtml(r, { selfContained: false });
  const data = embeddedData(page) as { workloads: { id: string }[] };
  assert.deepEqual(data.workloads.map((w) => w.id), ["fork_tree", "mremap"]);
  assert.ok(page.includes('<a href="#workload-1"><code>mremap</code></a>'));
  assert.ok(page.includes('<section class="workload" id="workload-1">\n<h2>Workload <code>mremap'));
});

Deno.test("the page's verdicts are against the suite's baseline scheme", () => {
  const r = makeFixture();
  r.suite.baselineScheme = "cow_context";
  const page = renderHtml(r, { selfContained: false });
  assert.ok(page.includes("verdicts against <code>cow_context</code>"));
  assert.ok(page.includes("<figcaption>Verdict: ratio to cow_context (one run each"));
  // anon_vma's 632 rmap bytes against cow_context's 512, one repeat.
  assert.deepEqual(tableRows(page, VERDICT_HEADER)[1].slice(0, 2), [
    "anon_vma",
    '<span class="no-interval">1.23 (1 repeat)</span>',
  ]);
});
