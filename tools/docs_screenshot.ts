/// <reference lib="dom" />
/**
 * Regenerates `docs/report-screenshot.png`, the picture of a report in the README: renders
 * `report.html` (self-contained) from a results document, opens it offline in headless Chromium
 * (Debian's `/usr/bin/chromium`, driven by `npm:playwright-core`) and captures the first
 * workload's verdict and figures.
 *
 * Usage: `deno task docs:screenshot [RESULTS.json]` (default `out/results.json`, written by
 * `deno task bench`). The picture is written to a temporary file and renamed into place.
 *
 * @module
 */

import { chromium } from "npm:playwright-core@1.65.1";
import { parseResults } from "../reports/results.ts";
import { renderHtml } from "../reports/html.ts";
import { loadChartUmd } from "../reports/chart_umd.ts";

const CHROMIUM = "/usr/bin/chromium";
const OUT = new URL("../docs/report-screenshot.png", import.meta.url);

async function main(args: string[]): Promise<number> {
  const input = args[0] ?? "out/results.json";
  let text: string;
  try {
    text = await Deno.readTextFile(input);
  } catch (e) {
    console.error(`error: cannot read "${input}": ${(e as Error).message}; run deno task bench`);
    return 2;
  }
  const results = parseResults(text);
  const page = renderHtml(results, { selfContained: true, chartUmd: await loadChartUmd() });
  const dir = await Deno.makeTempDir({ prefix: "rmapbench-docs-" });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  try {
    await Deno.writeTextFile(`${dir}/report.html`, page);
    const context = await browser.newContext({
      viewport: { width: 1280, height: 900 },
      deviceScaleFactor: 1,
    });
    await context.setOffline(true);
    const tab = await context.newPage();
    await tab.goto(new URL(`file://${dir}/report.html`).href);
    await tab.waitForFunction(() => document.body?.dataset.ready === "true", null, {
      timeout: 60_000,
    });
    const error = await tab.evaluate(() => document.body.dataset.error ?? null);
    if (error !== null) throw new Error(`The report failed: ${error}`);
    // The verdict (chart and table) of the first workload, then the start of its figures.
    await tab.evaluate(() => {
      document.querySelector("#workload-0")?.scrollIntoView({ block: "start" });
    });
    const png = await tab.screenshot({ fullPage: false });
    const tmp = new URL(`report-screenshot.${crypto.randomUUID().slice(0, 8)}.tmp`, OUT);
    await Deno.writeFile(tmp, png);
    await Deno.rename(tmp, OUT);
    console.log(`Wrote ${OUT.pathname} from ${input}`);
    return 0;
  } finally {
    await browser.close();
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
