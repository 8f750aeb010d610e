import assert from "node:assert/strict";
import {
  CHART_JS_MODULE_URL,
  escapeHtml,
  inlineScriptText,
  jsonForScript,
  renderHtml,
} from "../reports/html.ts";
import { loadChartUmd } from "../reports/chart_umd.ts";
import { makeFixture } from "./fixtures/results_fixture.ts";

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
    workloads: { id: string; runs: { scheme: string; final: Record<string, number> }[] }[];
  };
  assert.deepEqual(data.workloads.map((w) => w.id), ["fork_tree", "mremap"]);
  assert.deepEqual(data.workloads[0].runs.map((r) => r.scheme), ["anon_vma", "cow_context"]);
  assert.equal(data.workloads[0].runs[0].final.anon_vma, 312);
  // 8 figures per workload.
  assert.equal(data.charts.length, 16);
  for (const c of data.charts) assert.ok(page.includes(`<canvas id="${c.id}"`), c.id);
  assert.ok(page.includes('data-charts-expected="16"'));
  assert.ok(page.includes("animation: false"));
  assert.ok(page.includes("maintainAspectRatio: false"));
  assert.ok(page.includes('body.dataset.ready = "true"'));
  assert.ok(page.includes("body.dataset.charts = String(drawn)"));
  assert.ok(page.includes("body.dataset.error"));
  assert.ok(page.includes('<div id="report-error" role="alert" hidden>'));
  // Tables of figures, parameters and environment.
  assert.ok(page.includes("<caption>Parameters</caption>"));
  assert.ok(page.includes("<td>a,&quot;quoted&quot; value</td>"));
  assert.ok(page.includes('<td class="num">4.55</td>'), "final slab KiB of anon_vma/fork_tree");
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
  const window = { addEventListener(): void {} };
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
  const start = new Function("window", "document", `${client}\nreturn rmapbenchStart;`)(
    window,
    document,
  );
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
  assert.equal(body.dataset.charts, "16");
  assert.equal(charts.length, 16);
  const byId = (id: string): FakeChart => charts.find((c) => c.canvas.id === id)!;

  const final = byId("chart-0-slab-final").config;
  assert.equal(final.type, "bar");
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

  const wait = byId("chart-0-wait");
  assert.deepEqual(wait.data.labels, ["anon_vma.root", "cow_context.lock", "mmap_lock"]);
  assert.deepEqual(wait.data.datasets[0].data, [2000, null, 100]);

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
  const start = new Function("window", "document", `${client}\nreturn rmapbenchStart;`)(
    { addEventListener(): void {} },
    document,
  );
  start(undefined);
  assert.equal(body.dataset.ready, "true");
  assert.equal(body.dataset.charts, "0");
  assert.equal(body.dataset.error, "Report failed: chart.js did not load");
  assert.equal(errorBox.hidden, false);
});
