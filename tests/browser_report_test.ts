/// <reference lib="dom" />
/**
 * Renders report.html in headless Chromium (Debian's `/usr/bin/chromium`, driven by
 * `npm:playwright-core`, which never downloads browsers) in both modes, with no network:
 *
 * - (a) default: chart.js is imported from esm.sh; `page.route` serves the local UMD bundle
 *   wrapped as an ES module for `https://esm.sh/**` and aborts every other http(s) request;
 * - (b) `selfContained`: opened from `file://` with all network blocked.
 *
 * Each page must finish (`data-ready="true"`), report no error, draw every chart (`data-charts`
 * equals `data-charts-expected`, every canvas has non-transparent pixels) and throw no page
 * error; the verdict charts must have drawn their 95 % error bars (`data-error-bars` on each
 * verdict canvas, counted by the page's error-bar plugin as it strokes them). The runs have three
 * paired repeats so the verdicts have intervals. A screenshot is written to the test's temporary
 * folder only; `deno task docs:screenshot` regenerates `docs/report-screenshot.png`.
 *
 * Skipped when `/usr/bin/chromium` is missing (`apt-get install -y chromium`).
 *
 * @module
 */

import assert from "node:assert/strict";
import { type Browser, chromium, type Page } from "npm:playwright-core@1.65.1";
import { runOne } from "../runner/recorder.ts";
import { SCHEMES } from "../core/rmap/registry.ts";
import { renderHtml } from "../reports/html.ts";
import { loadChartUmd } from "../reports/chart_umd.ts";
import { buildResults, hostEnvironment } from "../cli/outputs.ts";
import { combineRepeats } from "../reports/repeats.ts";
import { repeatSeeds } from "../runner/seeds.ts";
import type { Results } from "../reports/results.ts";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_EXISTS = ((): boolean => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();

const LAUNCH_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

function smallResults(): Results {
  const schemes = SCHEMES.map((s) => s.info.id);
  const params = { mode: "tree", depth: 3, rounds: 1, regions: 2, pages: 8 };
  const seeds = repeatSeeds(3, 3);
  const runs = schemes.map((scheme) =>
    combineRepeats(seeds.map((seed) => runOne({ scheme, workload: "fork-storm", params, seed })))
  );
  return buildResults(
    {
      command: "browser_report_test",
      seed: 3,
      schemes,
      workloads: ["fork-storm"],
      costProfile: "default",
      repeat: 3,
      repeatSeeds: seeds,
      baselineScheme: "anon_vma",
    },
    runs,
    hostEnvironment(0),
  );
}

/** A sweep: anon_vma and cow_context × children = 2, 4, 8 (one section with scaling charts). */
function sweepResults(): Results {
  const schemes = ["anon_vma", "cow_context"];
  const runs = [2, 4, 8].flatMap((children) =>
    schemes.map((scheme) => {
      const params = { mode: "breadth", children, depth: 2, rounds: 1, regions: 2, pages: 8 };
      const r = runOne({ scheme, workload: "fork-storm", params, seed: 3 });
      return { ...r, id: `${r.id}[children=${children}]` };
    })
  );
  return buildResults(
    {
      command: "browser_report_test sweep",
      seed: 3,
      schemes,
      workloads: ["fork-storm"],
      costProfile: "default",
    },
    runs,
    hostEnvironment(0),
  );
}

interface PageState {
  ready: string | undefined;
  error: string | undefined;
  charts: string | undefined;
  expected: string | undefined;
  canvases: number;
  scalingCanvases: number;
  /** Scaling figures drawn as a sentence because every value is 0. */
  scalingZeroNotes: number;
  blankCanvases: string[];
  /** Per verdict canvas, the error bars its plugin drew (absent: none drawn). */
  verdictErrorBars: Record<string, string | undefined>;
}

async function pageState(page: Page): Promise<PageState> {
  await page.waitForFunction(() => document.body?.dataset.ready === "true", null, {
    timeout: 30_000,
  });
  return await page.evaluate((): PageState => {
    const blank: string[] = [];
    const canvases = [...document.querySelectorAll("canvas")];
    for (const c of canvases) {
      const ctx = c.getContext("2d");
      let painted = 0;
      if (ctx && c.width > 0 && c.height > 0) {
        const data = ctx.getImageData(0, 0, c.width, c.height).data;
        for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) painted++;
      }
      if (painted === 0) blank.push(c.id || "(no id)");
    }
    const d = document.body.dataset;
    return {
      ready: d.ready,
      error: d.error,
      charts: d.charts,
      expected: d.chartsExpected,
      canvases: canvases.length,
      scalingCanvases: canvases.filter((c) => c.id.includes("-scaling-")).length,
      scalingZeroNotes: document.querySelectorAll(".scaling .zero-note").length,
      blankCanvases: blank,
      verdictErrorBars: Object.fromEntries(
        canvases.filter((c) => c.id.includes("-verdict-")).map((c) => [c.id, c.dataset.errorBars]),
      ),
    };
  });
}

/** The verdict chart drew, with at least one 95 % error bar per non-baseline scheme. */
function checkErrorBars(mode: string, s: PageState): void {
  const bars = Object.entries(s.verdictErrorBars);
  assert.equal(bars.length, 1, `${mode}: one verdict chart`);
  for (const [id, n] of bars) {
    assert.ok(Number(n) >= 4, `${mode}: ${id} drew ${n} error bars`);
  }
}

function checkState(mode: string, s: PageState, pageErrors: string[]): void {
  assert.equal(s.ready, "true", `${mode}: not ready`);
  assert.equal(s.error, undefined, `${mode}: data-error ${s.error}`);
  assert.deepEqual(pageErrors, [], `${mode}: page errors`);
  assert.ok(Number(s.expected) > 0, `${mode}: no charts expected`);
  assert.equal(s.charts, s.expected, `${mode}: charts drawn`);
  assert.ok(s.canvases >= Number(s.expected), `${mode}: ${s.canvases} canvases`);
  assert.deepEqual(s.blankCanvases, [], `${mode}: blank canvases`);
}

Deno.test({
  name: CHROMIUM_EXISTS
    ? "report.html draws every chart in headless Chromium, from esm.sh (routed) and offline"
    : "report.html in headless Chromium (ignored: /usr/bin/chromium is missing; " +
      "apt-get install -y chromium)",
  ignore: !CHROMIUM_EXISTS,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(): Promise<void> {
    const results = smallResults();
    const umd = await loadChartUmd();
    const dir = await Deno.makeTempDir({ prefix: "rmapbench-browser-" });
    let browser: Browser | null = null;
    try {
      const defaultPath = `${dir}/report.html`;
      const offlinePath = `${dir}/report-self-contained.html`;
      await Deno.writeTextFile(defaultPath, renderHtml(results, { selfContained: false }));
      await Deno.writeTextFile(
        offlinePath,
        renderHtml(results, { selfContained: true, chartUmd: umd }),
      );
      browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });

      // (a) Default mode: esm.sh served locally, every other http(s) request aborted.
      {
        const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
        const page = await context.newPage();
        const errors: string[] = [];
        const aborted: string[] = [];
        page.on("pageerror", (e) => errors.push(e.message));
        await page.route((url) => url.protocol === "http:" || url.protocol === "https:", (r) => {
          aborted.push(r.request().url());
          return r.abort();
        });
        await page.route("https://esm.sh/**", (r) =>
          r.fulfill({
            status: 200,
            contentType: "text/javascript",
            headers: { "access-control-allow-origin": "*" },
            body: umd +
              "\nexport default globalThis.Chart;\nexport const Chart = globalThis.Chart;",
          }));
        await page.goto(new URL(`file://${defaultPath}`).href);
        const state = await pageState(page);
        checkState("default", state, errors);
        checkErrorBars("default", state);
        assert.deepEqual(aborted, [], "default: the page asked for something besides esm.sh");
        await context.close();
      }

      // (b) Self-contained from file:// with all network blocked.
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      await context.route("**/*", (r) => {
        const url = r.request().url();
        return url.startsWith("file:") ? r.continue() : r.abort();
      });
      await context.setOffline(true);
      const page = await context.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(new URL(`file://${offlinePath}`).href);
      const state = await pageState(page);
      checkState("self-contained", state, errors);
      checkErrorBars("self-contained", state);
      // A screenshot of the verdict, in the temporary folder (never a tracked file).
      const png = await page.locator("#workload-0 .verdict-grid").screenshot();
      assert.ok(png.length > 1000, "verdict screenshot");
      await Deno.writeFile(`${dir}/verdict.png`, png);
      await context.close();
    } finally {
      await browser?.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: CHROMIUM_EXISTS
    ? "report.html of a sweep draws its scaling charts in headless Chromium, offline"
    : "report.html scaling charts in headless Chromium (ignored: /usr/bin/chromium is missing)",
  ignore: !CHROMIUM_EXISTS,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(): Promise<void> {
    const umd = await loadChartUmd();
    const dir = await Deno.makeTempDir({ prefix: "rmapbench-browser-sweep-" });
    let browser: Browser | null = null;
    try {
      const path = `${dir}/report.html`;
      await Deno.writeTextFile(
        path,
        renderHtml(sweepResults(), { selfContained: true, chartUmd: umd }),
      );
      browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      await context.route("**/*", (r) => {
        const url = r.request().url();
        return url.startsWith("file:") ? r.continue() : r.abort();
      });
      await context.setOffline(true);
      const page = await context.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(new URL(`file://${path}`).href);
      const state = await pageState(page);
      checkState("sweep", state, errors);
      // Peak slab, rmap bytes final and peak, walk p99, useless %, own lock wait and hold p99.
      // (A figure whose values are all 0 is a sentence instead of a chart.)
      assert.equal(state.scalingCanvases + state.scalingZeroNotes, 7, "scaling charts");
      assert.ok(state.scalingCanvases >= 5, "scaling charts drawn");
      await context.close();
    } finally {
      await browser?.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
