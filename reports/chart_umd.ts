/**
 * Loads the text of chart.js's UMD bundle for self-contained HTML reports.
 *
 * This is the one module of `reports/` that does I/O (it reads a file from Deno's npm cache), so
 * `reports/mod.ts` does not export it; the CLI imports it directly.
 *
 * How it finds the file (verified with Deno 2.9.6 and `"nodeModulesDir": "none"`): chart.js's
 * `package.json` `exports` map has no `./dist/chart.umd.js` entry, so neither
 * `import … from "npm:chart.js@4.6.1/dist/chart.umd.js" with { type: "text" }` nor
 * `require.resolve("chart.js/dist/chart.umd.js")` works (both fail with
 * `ERR_PACKAGE_PATH_NOT_EXPORTED`). Instead, the static import below makes Deno download the
 * package and put it in the module graph; `createRequire(import.meta.url).resolve("chart.js")`
 * then gives the path of `dist/chart.cjs` in Deno's cache, and `chart.umd.js` sits beside it.
 * This needs `--allow-read` for the cache directory, and a local (`file:`) `import.meta.url`.
 *
 * @module
 */

import "npm:chart.js@4.6.1";
import { createRequire } from "node:module";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";

/** The chart.js version whose UMD bundle {@link loadChartUmd} reads. */
export const CHART_JS_VERSION = "4.6.1";

/**
 * Reads `dist/chart.umd.js` of the npm package `chart.js@4.6.1` (about 205 KB, sets the global
 * `Chart`). Throws if the file found is not that version.
 *
 * @example Usage
 * ```ts ignore
 * import { loadChartUmd } from "./chart_umd.ts";
 * import { renderHtml } from "./html.ts";
 * import type { Results } from "./results.ts";
 * declare const results: Results;
 * const page = renderHtml(results, { selfContained: true, chartUmd: await loadChartUmd() });
 * ```
 */
export async function loadChartUmd(): Promise<string> {
  const require = createRequire(import.meta.url);
  const main = require.resolve("chart.js");
  const path = join(dirname(main), "chart.umd.js");
  const text = await readFile(path, "utf8");
  if (!text.slice(0, 200).includes(`Chart.js v${CHART_JS_VERSION}`)) {
    throw new Error(`Expected chart.js ${CHART_JS_VERSION} at ${path}, found another version`);
  }
  return text;
}
