/**
 * The rmapbench command-line interface: the only place that does I/O.
 *
 * Commands: `bench` (every scheme × every workload at default parameters), `run` (schemes on one
 * workload with parameters), `sweep` (parameter ranges), `compare` (baseline vs current results,
 * exit 1 on a regression), `report` (re-render the outputs of a results file), `merge` (join
 * `--shard` results), `list` (schemes, workloads, parameters, machine and kernel parameters, cost
 * profiles). `cli.ts <command> --help` describes each.
 *
 * Every input is validated before any run starts; bad input gives exactly one line on stderr,
 * `error: <problem>; valid: <choices>`, and exit code 2. Outputs are written atomically (temporary
 * files in the output directory, then renames), and nothing is written if anything fails.
 *
 * Permissions: `--allow-read --allow-write --allow-env --allow-sys` (read: inputs, the module
 * graph of the workers and chart.js for `--self-contained`; write: `--out`; env: `CI`; sys: host
 * name for the environment block).
 *
 * @example Usage
 * ```sh
 * deno run --allow-read --allow-write --allow-env --allow-sys cli.ts bench --out out
 * deno run --allow-read --allow-write --allow-env --allow-sys cli.ts sweep \
 *   --workload fork-storm --scheme anon_vma --param children=1..8:2 --jobs 2
 * deno run --allow-read --allow-write --allow-env --allow-sys cli.ts compare \
 *   baseline/results.json out/results.json --out out
 * ```
 *
 * @module
 */

import {
  type CompareArgs,
  HELP,
  type ListArgs,
  type MergeArgs,
  parseCommandLine,
  type ReportArgs,
  type RunArgs,
} from "./cli/args.ts";
import {
  CliError,
  errorLine,
  EXIT_OK,
  EXIT_REGRESSION,
  EXIT_RUN_FAILED,
  EXIT_USAGE,
} from "./cli/errors.ts";
import { buildPlan } from "./cli/plan.ts";
import { executeAll, RunFailedError } from "./cli/execute.ts";
import { Progress } from "./cli/progress.ts";
import { checkWritableDir, writeFilesAtomically } from "./cli/atomic.ts";
import { buildResults, hostEnvironment, renderOutputs, TOOL } from "./cli/outputs.ts";
import { listJson, listText } from "./cli/list.ts";
import { parseResults, type Results, stableStringify } from "./reports/results.ts";
import { compareMarkdown, compareResults } from "./reports/compare.ts";
import { loadChartUmd } from "./reports/chart_umd.ts";
import { comparisonTable } from "./reports/table.ts";

/** Where the CLI writes text (injectable for tests). */
export interface CliIo {
  /** Writes to stdout. */
  out(text: string): void;
  /** Writes to stderr. */
  err(text: string): void;
  /** Whether stderr is an interactive terminal (progress bar instead of plain lines). */
  interactive: boolean;
}

const encoder = new TextEncoder();

function writeAll(file: typeof Deno.stdout | typeof Deno.stderr, text: string): void {
  const bytes = encoder.encode(text);
  let off = 0;
  while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
}

function envFlag(name: string): boolean {
  try {
    const v = Deno.env.get(name);
    return v !== undefined && v !== "" && v !== "0" && v !== "false";
  } catch {
    return false;
  }
}

/** The real terminal: stdout, stderr, and a progress bar only on a terminal outside CI. */
function defaultIo(): CliIo {
  let interactive = false;
  try {
    interactive = Deno.stderr.isTerminal() && !envFlag("CI");
  } catch {
    interactive = false;
  }
  return {
    out: (t) => writeAll(Deno.stdout, t),
    err: (t) => writeAll(Deno.stderr, t),
    interactive,
  };
}

function terminalColumns(): number {
  try {
    return Deno.consoleSize().columns;
  } catch {
    return 100;
  }
}

function readText(path: string): string {
  return Deno.readTextFileSync(path);
}

function describeReadError(e: unknown): string {
  if (e instanceof Deno.errors.NotFound) return "no such file";
  if (e instanceof Deno.errors.IsADirectory) return "it is a directory";
  if (e instanceof Deno.errors.PermissionDenied) return "permission denied";
  return e instanceof Error ? e.message : String(e);
}

/** Reads and validates a results document; `role` names it in errors ("baseline", "input"). */
function readResults(path: string, role: string): Results {
  let text: string;
  try {
    text = readText(path);
  } catch (e) {
    throw new CliError(`Cannot read ${role} "${path}": ${describeReadError(e)}`);
  }
  try {
    return parseResults(text);
  } catch (e) {
    throw new CliError(
      `${role[0].toUpperCase()}${role.slice(1)} "${path}" is not a valid results document: ${
        (e as Error).message
      }`,
    );
  }
}

async function chartUmdIfWanted(selfContained: boolean): Promise<string | undefined> {
  if (!selfContained) return undefined;
  try {
    return await loadChartUmd();
  } catch (e) {
    throw new CliError(
      `Cannot load chart.js for --self-contained: ${(e as Error).message}`,
    );
  }
}

function formatSeconds(s: number): string {
  return s >= 100 ? `${s.toFixed(0)} s` : `${s.toFixed(2)} s`;
}

async function writeOutputs(
  io: CliIo,
  out: string,
  results: Results,
  chartUmd: string | undefined,
  started: number,
): Promise<void> {
  const files = renderOutputs(results, chartUmd);
  await writeFilesAtomically(out, files);
  const wall = (performance.now() - started) / 1000;
  io.out(
    comparisonTable(results) + "\n" +
      `Wrote ${[...files.keys()].join(", ")} to ${out}\n` +
      `${results.runs.length} runs; total wall time ${formatSeconds(wall)}\n`,
  );
}

async function runCommand(args: RunArgs, io: CliIo): Promise<number> {
  const started = performance.now();
  const plan = buildPlan(args, readText);
  checkWritableDir(args.out);
  for (const w of plan.warnings) io.err(`warning: ${w}\n`);
  const chartUmd = await chartUmdIfWanted(args.selfContained);
  const jobs = Math.max(
    1,
    Math.min(args.jobs ?? (navigator.hardwareConcurrency || 1), plan.specs.length),
  );
  const progress = new Progress(plan.specs.length, {
    interactive: io.interactive,
    write: io.err,
    columns: terminalColumns(),
  });
  let runs;
  try {
    runs = await executeAll(plan.specs, jobs, {
      started: (s) => progress.started(s.id),
      finished: (s) => progress.finished(s.id),
      progress: (s, p) => progress.within(s.id, p.simulatedNs, p.steps),
    });
  } finally {
    progress.end();
  }
  const extra: Record<string, string | number> = { jobs };
  if (plan.shard) {
    extra.shard = `${plan.shard.index}/${plan.shard.count}`;
    extra.shardOf = plan.all.length;
  }
  const results = buildResults(
    plan.suite,
    runs,
    hostEnvironment((performance.now() - started) / 1000, extra),
  );
  // Round-trip check: what is written must read back as a valid document.
  parseResults(stableStringify(results));
  await writeOutputs(io, args.out, results, chartUmd, started);
  return EXIT_OK;
}

/** A document with no runs has nothing to report or compare. */
function requireRuns(results: Results, path: string, role: string): void {
  if (results.runs.length === 0) {
    throw new CliError(
      `${role[0].toUpperCase()}${role.slice(1)} "${path}" has no runs; ` +
        `write one with bench, run or sweep`,
    );
  }
}

function sampleIds(ids: readonly string[]): string {
  return ids.length <= 3 ? ids.join(", ") : `${ids.slice(0, 3).join(", ")}, ...`;
}

async function compareCommand(args: CompareArgs, io: CliIo): Promise<number> {
  const baseline = readResults(args.baseline, "baseline");
  const current = readResults(args.current, "current results");
  requireRuns(baseline, args.baseline, "baseline");
  requireRuns(current, args.current, "current results");
  const currentIds = new Set(current.runs.map((r) => r.id));
  if (!baseline.runs.some((r) => currentIds.has(r.id))) {
    throw new CliError(
      `"${args.baseline}" and "${args.current}" share no run (baseline: ${
        sampleIds(baseline.runs.map((r) => r.id))
      }; current: ${sampleIds([...currentIds])}); compare results of the same suite`,
    );
  }
  checkWritableDir(args.out);
  let cmp;
  try {
    cmp = compareResults(baseline, current, {
      counterThreshold: args.counterThreshold,
      timeThreshold: args.timeThreshold,
    });
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  const md = compareMarkdown(cmp);
  await writeFilesAtomically(args.out, new Map([["compare.md", md]]));
  io.out(md);
  io.out(`\nWrote compare.md to ${args.out}\n`);
  return cmp.ok ? EXIT_OK : EXIT_REGRESSION;
}

async function reportCommand(args: ReportArgs, io: CliIo): Promise<number> {
  const started = performance.now();
  const results = readResults(args.input, "input");
  requireRuns(results, args.input, "input");
  checkWritableDir(args.out);
  const chartUmd = await chartUmdIfWanted(args.selfContained);
  await writeOutputs(io, args.out, results, chartUmd, started);
  return EXIT_OK;
}

/**
 * Merges shard documents (each with `environment.shard` = `"i/n"`) into the document of the
 * unsharded run: same suite, runs interleaved back into run-list order.
 */
export function mergeShards(docs: readonly { path: string; results: Results }[]): Results {
  let count = 0;
  const byIndex = new Map<number, { path: string; results: Results }>();
  for (const d of docs) {
    const shard = d.results.environment.shard;
    const m = typeof shard === "string" ? /^(\d+)\/(\d+)$/.exec(shard) : null;
    if (!m) {
      throw new CliError(
        `"${d.path}" is not a shard (environment.shard is missing); write shards with --shard I/N`,
      );
    }
    const i = Number(m[1]);
    const n = Number(m[2]);
    if (count === 0) count = n;
    if (n !== count) {
      throw new CliError(`"${d.path}" is shard ${shard}, but other files are shards of ${count}`);
    }
    if (byIndex.has(i)) {
      throw new CliError(`"${d.path}" and "${byIndex.get(i)!.path}" are both shard ${shard}`);
    }
    byIndex.set(i, d);
  }
  const absent = [...Array(count).keys()].filter((i) => !byIndex.has(i));
  if (absent.length > 0) {
    throw new CliError(
      `Shards ${absent.map((i) => `${i}/${count}`).join(", ")} are missing; got ${
        docs.map((d) => d.path).join(", ")
      }`,
    );
  }
  const first = byIndex.get(0)!;
  const suiteText = stableStringify({ tool: first.results.tool, suite: first.results.suite });
  let total = 0;
  let wall = 0;
  for (const d of byIndex.values()) {
    if (stableStringify({ tool: d.results.tool, suite: d.results.suite }) !== suiteText) {
      throw new CliError(
        `"${d.path}" comes from a different suite or tool version than "${first.path}"`,
      );
    }
    total += d.results.runs.length;
    const w = d.results.environment.wallSeconds;
    if (typeof w === "number") wall += w;
  }
  const expectedTotal = first.results.environment.shardOf;
  if (typeof expectedTotal === "number" && expectedTotal !== total) {
    throw new CliError(`The shards hold ${total} runs, but the suite has ${expectedTotal}`);
  }
  const runs = [];
  for (let g = 0; g < total; g++) {
    const d = byIndex.get(g % count)!;
    const r = d.results.runs[Math.floor(g / count)];
    if (r === undefined) {
      throw new CliError(`Shard "${d.path}" has too few runs for a suite of ${total} runs`);
    }
    runs.push(r);
  }
  return buildResults(
    structuredClone(first.results.suite),
    runs,
    hostEnvironment(wall, { mergedShards: count }),
  );
}

async function mergeCommand(args: MergeArgs, io: CliIo): Promise<number> {
  const started = performance.now();
  const docs = args.inputs.map((path) => ({ path, results: readResults(path, "shard") }));
  const merged = mergeShards(docs);
  try {
    parseResults(stableStringify(merged));
  } catch (e) {
    throw new CliError(`The merged document is invalid: ${(e as Error).message}`);
  }
  checkWritableDir(args.out);
  const chartUmd = await chartUmdIfWanted(args.selfContained);
  await writeOutputs(io, args.out, merged, chartUmd, started);
  return EXIT_OK;
}

function listCommand(args: ListArgs, io: CliIo): number {
  io.out(args.json ? listJson() : listText());
  return EXIT_OK;
}

/**
 * Runs the CLI on `argv` (without the program name) and returns the exit code: 0 success,
 * 1 regression (compare), 2 bad input, 3 a run failed.
 *
 * @example Usage
 * ```ts ignore
 * import { main } from "./cli.ts";
 * const code = await main(["list"]);
 * ```
 */
export async function main(argv: readonly string[], io: CliIo = defaultIo()): Promise<number> {
  // `verify` and `export` (host verification, tools/verify/cli.ts) parse their own options.
  if (argv[0] === "verify" || argv[0] === "export") {
    return await (await import("./tools/verify/cli.ts")).verifyCli(argv, io);
  }
  try {
    if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-V")) {
      io.out(`${TOOL.name} ${TOOL.version}\n`);
      return EXIT_OK;
    }
    const args = parseCommandLine(argv);
    switch (args.command) {
      case "help":
        io.out(HELP[args.topic ?? "overview"] + "\n");
        return EXIT_OK;
      case "list":
        return listCommand(args, io);
      case "bench":
      case "run":
      case "sweep":
        return await runCommand(args, io);
      case "compare":
        return await compareCommand(args, io);
      case "report":
        return await reportCommand(args, io);
      case "merge":
        return await mergeCommand(args, io);
    }
  } catch (e) {
    io.err(errorLine(e) + "\n");
    if (e instanceof CliError) return e.exitCode;
    if (e instanceof RunFailedError) return EXIT_RUN_FAILED;
    return e instanceof Deno.errors.PermissionDenied ? EXIT_USAGE : EXIT_RUN_FAILED;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
