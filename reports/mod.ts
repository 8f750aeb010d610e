/**
 * Reports of rmapbench: the Results document and pure renderers `Results → string`.
 *
 * `chart_umd.ts` (which reads chart.js's bundle from disk for self-contained HTML) is not
 * exported here, so this module does no I/O and works when imported from a URL.
 *
 * @example Usage
 * ```ts
 * import { summaryCsv, summaryMarkdown, validateResults } from "./mod.ts";
 * declare const text: string;
 * const results = validateResults(JSON.parse(text));
 * console.log(summaryMarkdown(results), summaryCsv(results));
 * ```
 *
 * @module
 */

export * from "./results.ts";
export * from "./metrics.ts";
export * from "./csv.ts";
export * from "./html.ts";
export * from "./markdown.ts";
export * from "./bmf.ts";
export * from "./compare.ts";
export * from "./table.ts";
export * from "./inference.ts";
export * from "./repeats.ts";
export * from "./verdict.ts";
