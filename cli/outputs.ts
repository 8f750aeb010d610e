/**
 * Builds the Results document of a command (with the host environment block) and renders every
 * output file from it.
 *
 * @module
 */

import {
  type Environment,
  type Results,
  type RunResult,
  SCHEMA_VERSION,
  stableStringify,
  type SuiteInfo,
} from "../reports/results.ts";
import { locksCsv, summaryCsv, timeseriesCsv, walksCsv } from "../reports/csv.ts";
import { renderHtml } from "../reports/html.ts";
import { summaryMarkdown } from "../reports/markdown.ts";
import { bmfJson, customSmallerIsBetterJson } from "../reports/bmf.ts";

/** Name and version written into `tool`. */
export const TOOL = { name: "rmapbench", version: "0.1.0" } as const;

/** The files every rendering command writes, in the order they are written. */
export const OUTPUT_FILES: readonly string[] = [
  "results.json",
  "summary.csv",
  "timeseries.csv",
  "walks.csv",
  "locks.csv",
  "report.html",
  "summary.md",
  "bmf.json",
  "benchmark.json",
];

/**
 * The environment block: time, Deno/V8/TypeScript versions, OS, architecture, CPU count, host
 * name (when permitted), wall seconds, plus `extra` facts (jobs, shard).
 *
 * @example Usage
 * ```ts
 * import { hostEnvironment } from "./outputs.ts";
 * const env = hostEnvironment(1.5, { jobs: 2 });
 * if (env.wallSeconds !== 1.5 || env.jobs !== 2) throw new Error("unexpected");
 * ```
 */
export function hostEnvironment(
  wallSeconds: number,
  extra: Record<string, string | number | boolean> = {},
): Environment {
  let hostname: string | undefined;
  try {
    hostname = Deno.hostname();
  } catch {
    hostname = undefined;
  }
  return {
    generatedAt: new Date().toISOString(),
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
    os: Deno.build.os,
    arch: Deno.build.arch,
    cpus: navigator.hardwareConcurrency ?? 1,
    ...(hostname !== undefined ? { hostname } : {}),
    wallSeconds: Math.round(wallSeconds * 1000) / 1000,
    ...extra,
  };
}

/**
 * Assembles a Results document.
 *
 * @example Usage
 * ```ts
 * import { buildResults, hostEnvironment } from "./outputs.ts";
 * const r = buildResults({ command: "x", seed: 1, schemes: [], workloads: [],
 *   costProfile: "default" }, [], hostEnvironment(0));
 * if (r.runs.length !== 0) throw new Error("unexpected");
 * ```
 */
export function buildResults(
  suite: SuiteInfo,
  runs: RunResult[],
  environment: Environment,
): Results {
  return { schemaVersion: SCHEMA_VERSION, tool: { ...TOOL }, suite, environment, runs };
}

/**
 * Renders every output file of {@link OUTPUT_FILES} (name → text). `chartUmd` makes
 * `report.html` self-contained.
 *
 * @example Usage
 * ```ts ignore
 * import { renderOutputs } from "./outputs.ts";
 * declare const results: import("../reports/results.ts").Results;
 * const files = renderOutputs(results);
 * console.log([...files.keys()]);
 * ```
 */
export function renderOutputs(results: Results, chartUmd?: string): Map<string, string> {
  const html = chartUmd === undefined
    ? renderHtml(results, { selfContained: false })
    : renderHtml(results, { selfContained: true, chartUmd });
  return new Map<string, string>([
    ["results.json", stableStringify(results)],
    ["summary.csv", summaryCsv(results)],
    ["timeseries.csv", timeseriesCsv(results)],
    ["walks.csv", walksCsv(results)],
    ["locks.csv", locksCsv(results)],
    ["report.html", html],
    ["summary.md", summaryMarkdown(results)],
    ["bmf.json", bmfJson(results)],
    ["benchmark.json", customSmallerIsBetterJson(results)],
  ]);
}
