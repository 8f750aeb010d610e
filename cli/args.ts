/**
 * Command-line parsing of rmapbench: the commands, their options, their help texts, and the
 * conversion of `node:util` `parseArgs` errors into one-line {@link CliError}s.
 *
 * Parsing only checks the shape of the arguments; `plan.ts` checks names and values against the
 * registries.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { CliError } from "./errors.ts";
import { schemeIds } from "../core/rmap/registry.ts";
import { workloadIds } from "../workloads/registry.ts";

/** The commands, in help order. */
export const COMMANDS = ["bench", "run", "sweep", "compare", "report", "merge", "list"] as const;

/** A command name. */
export type Command = typeof COMMANDS[number];

/** One `key=value` argument of `--param`, `--machine` or `--cost`, as given. */
export interface KeyValue {
  /** The key, e.g. `children` or `machine.cpus`. */
  key: string;
  /** The value text, e.g. `4`, `1..8:2` or `chain,breadth`. */
  value: string;
  /** The option it came from, for error messages (e.g. `--param`). */
  option: string;
}

/** A shard of the run list: runs whose index `i` satisfies `i % count === index`. */
export interface Shard {
  /** Which shard, `0 <= index < count`. */
  index: number;
  /** How many shards. */
  count: number;
}

/** Options of `bench`, `run` and `sweep`. */
export interface RunArgs {
  /** The command. */
  command: "bench" | "run" | "sweep";
  /** Seed of every run. */
  seed: number;
  /** Output directory. */
  out: string;
  /** Scheme ids (empty: every scheme). */
  schemes: string[];
  /** Workload ids (empty: every workload). */
  workloads: string[];
  /** `--param` and `--machine` arguments, in order. */
  params: KeyValue[];
  /** `--cost-profile`: a profile name or a JSON file. */
  costProfile: string;
  /** `--cost key=value` overrides. */
  costOverrides: KeyValue[];
  /** `--jobs` (null: one per CPU). */
  jobs: number | null;
  /** `--shard i/n`, or null. */
  shard: Shard | null;
  /** `--self-contained`. */
  selfContained: boolean;
  /** `--trace FILE[,PERF_FILE]` arguments, in order (strace -f logs for trace-replay). */
  traces: string[];
  /** `--repeat N`: runs of every scheme × workload × parameter point, with paired seeds. */
  repeat: number;
  /** `--baseline-scheme`: the scheme verdicts compare with (null: `anon_vma` when selected). */
  baselineScheme: string | null;
}

/** Options of `compare`. */
export interface CompareArgs {
  /** The command. */
  command: "compare";
  /** Baseline results file. */
  baseline: string;
  /** Current results file. */
  current: string;
  /** Output directory for `compare.md`. */
  out: string;
  /** Relative threshold for count metrics. */
  counterThreshold: number;
  /** Relative threshold for time metrics. */
  timeThreshold: number;
}

/** Options of `report`. */
export interface ReportArgs {
  /** The command. */
  command: "report";
  /** Results file to render. */
  input: string;
  /** Output directory. */
  out: string;
  /** `--self-contained`. */
  selfContained: boolean;
}

/** Options of `merge`. */
export interface MergeArgs {
  /** The command. */
  command: "merge";
  /** Shard results files. */
  inputs: string[];
  /** Output directory. */
  out: string;
  /** `--self-contained`. */
  selfContained: boolean;
}

/** Options of `list`. */
export interface ListArgs {
  /** The command. */
  command: "list";
  /** Print JSON instead of text. */
  json: boolean;
}

/** A request for help text. */
export interface HelpArgs {
  /** The command. */
  command: "help";
  /** Command whose help to print, or null for the overview. */
  topic: Command | null;
}

/** Parsed command line. */
export type ParsedArgs = RunArgs | CompareArgs | ReportArgs | MergeArgs | ListArgs | HelpArgs;

/** Default output directory. */
export const DEFAULT_OUT = "out";

/**
 * Default `--repeat`: 5 repeats give 95 % intervals whose t factor (2.78) is within 1.5× of the
 * large-sample one, and keep the default suite under 60 s on 2 cores (the bench prints its time).
 */
export const DEFAULT_REPEAT = 5;

/** Largest `--repeat`. */
export const MAX_REPEAT = 1000;

/** Default `--baseline-scheme`. */
export const DEFAULT_BASELINE_SCHEME = "anon_vma";

const RUN_OPTIONS = {
  "seed": { type: "string" },
  "out": { type: "string" },
  "scheme": { type: "string", multiple: true },
  "workload": { type: "string", multiple: true },
  "param": { type: "string", multiple: true },
  "machine": { type: "string", multiple: true },
  "cost-profile": { type: "string" },
  "cost": { type: "string", multiple: true },
  "jobs": { type: "string" },
  "shard": { type: "string" },
  "self-contained": { type: "boolean" },
  "trace": { type: "string", multiple: true },
  "repeat": { type: "string" },
  "baseline-scheme": { type: "string" },
  "help": { type: "boolean", short: "h" },
} as const;

const OPTIONS = {
  bench: RUN_OPTIONS,
  run: RUN_OPTIONS,
  sweep: RUN_OPTIONS,
  compare: {
    "out": { type: "string" },
    "counter-threshold": { type: "string" },
    "time-threshold": { type: "string" },
    "help": { type: "boolean", short: "h" },
  },
  report: {
    "out": { type: "string" },
    "self-contained": { type: "boolean" },
    "help": { type: "boolean", short: "h" },
  },
  merge: {
    "out": { type: "string" },
    "self-contained": { type: "boolean" },
    "help": { type: "boolean", short: "h" },
  },
  list: {
    "json": { type: "boolean" },
    "help": { type: "boolean", short: "h" },
  },
} as const;

const COMMON_RUN_HELP =
  `  --seed N               Base seed (default 1); same seed, same results. Repeat 0 uses N,
                         repeat k the k-th SplitMix64 output from N (runner/seeds.ts); every
                         scheme uses the same seeds (paired repeats).
  --repeat N             Runs of every scheme x workload x parameter point (default ${DEFAULT_REPEAT});
                         results keep each repeat and mean, sd, min, max and a 95 % interval.
  --baseline-scheme ID   Scheme the verdicts compare every other scheme with (default
                         ${DEFAULT_BASELINE_SCHEME}, when selected).
  --scheme ID[,ID...]    Schemes to run (repeatable or a comma list; default: all).
  --param K=V            A parameter (repeatable). K is a workload parameter (it must exist in
                         every selected workload), WORKLOAD.K for one workload, machine.K for a
                         machine parameter or kernel.K for a kernel parameter.
  --machine K=V          Same as --param machine.K=V.
  --cost-profile P       Cost profile: a name (see list) or a JSON file with a complete profile
                         (default "default").
  --cost K=V             Override one cost figure, e.g. workNs.cache_miss=120 or wakeupNs=0
                         (repeatable).
  --jobs N               Parallel runs in Web Workers (default: one per CPU). Results are
                         byte-identical whatever N is.
  --shard I/N            Run only runs I, I+N, I+2N, ... (0 <= I < N) and write a partial
                         results.json; join the shards with merge.
  --trace F[,P]          Replay the strace -f log F (optionally with perf page faults P) in the
                         trace-replay workload, which then uses it unless --param trace=NAME
                         picks another (repeatable; the trace is named after F's base name).
  --out DIR              Output directory (default out/).
  --self-contained       Inline chart.js into report.html so it works offline.
  -h, --help             Show this help.`;

const OUTPUTS_HELP = `Outputs (written atomically into --out; nothing is written if anything fails):
  results.json  summary.csv  timeseries.csv  walks.csv  locks.csv  report.html  summary.md
  bmf.json (Bencher Metric Format)  benchmark.json (github-action-benchmark customSmallerIsBetter)`;

/** Help text of each command and of the overview. */
export const HELP: Readonly<Record<Command | "overview", string>> = {
  overview: `rmapbench: simulate the Linux anon_vma reverse mapping and replacement schemes.

Usage: deno run --allow-read --allow-write --allow-env --allow-sys cli.ts <command> [options]

Commands:
  bench     Run the default suite: every scheme x every workload at default parameters
  run       Run schemes on one workload with parameters
  sweep     Run schemes over parameter ranges (--param children=1..8:2, mode=chain,breadth)
  compare   Compare a baseline results.json with a current one; exit 1 on a regression
  report    Re-render every output from a results.json
  merge     Merge shard results (--shard I/N) into one results.json
  list      List schemes, workloads, parameters, machine parameters and cost profiles
  verify    Run the verify scenarios on this machine's kernel and on the model, and compare
            (needs root, /sys/kernel/slab and a C compiler; also: deno task verify)
  export    Write a small instance of a workload as a verify scenario file

Run "cli.ts <command> --help" for a command's options; "cli.ts --version" prints the version.

Exit codes: 0 success, 1 regression (compare), 2 bad input, 3 a simulation run failed.`,
  bench: `Usage: cli.ts bench [options]

Runs every scheme on every workload at its default parameters (the default suite).
--scheme and --workload narrow the suite.

Options:
  --workload ID[,ID...]  Workloads to run (repeatable or a comma list; default: all).
${COMMON_RUN_HELP}

${OUTPUTS_HELP}`,
  run: `Usage: cli.ts run --workload ID [--scheme ID] [--param K=V]... [options]

Runs the selected schemes (default: all) on one workload with the given parameters.

Options:
  --workload ID          The workload (required).
${COMMON_RUN_HELP}

${OUTPUTS_HELP}`,
  sweep: `Usage: cli.ts sweep --workload ID --param K=RANGE... [options]

Runs the selected schemes (default: all) on one workload for every combination of parameter
values. A value may be a single value, a list (mode=chain,breadth), a range a..b with step 1
(children=1..8), a range with a step (children=1..8:2) or a geometric range (machine.cpus=1..8:*2).
Runs are named <scheme>/<workload>[k=v,...] by the parameters that vary.

Options:
  --workload ID          The workload (required).
${COMMON_RUN_HELP}

${OUTPUTS_HELP}`,
  compare: `Usage: cli.ts compare BASELINE.json CURRENT.json [options]

Compares two results documents run by run (the environment block is ignored), prints what
changed, writes compare.md into --out, and exits 1 on a regression: a smaller-is-better metric
that grew beyond its threshold, or a baseline run missing from the current results.

Options:
  --counter-threshold X  Relative threshold for count metrics (default 0: exact).
  --time-threshold X     Relative threshold for time metrics (default 0.10).
  --out DIR              Output directory for compare.md (default out/).
  -h, --help             Show this help.`,
  report: `Usage: cli.ts report RESULTS.json [options]

Re-renders every output from a results document (which is validated first).

Options:
  --out DIR              Output directory (default out/).
  --self-contained       Inline chart.js into report.html so it works offline.
  -h, --help             Show this help.

${OUTPUTS_HELP}`,
  merge: `Usage: cli.ts merge SHARD.json... [options]

Merges the partial results written with --shard 0/N ... --shard N-1/N into one document whose
runs are in the order of the unsharded run, then writes every output.

Options:
  --out DIR              Output directory (default out/).
  --self-contained       Inline chart.js into report.html so it works offline.
  -h, --help             Show this help.`,
  list: `Usage: cli.ts list [--json]

Lists schemes, workloads and their parameters (name, default, range, unit, meaning, source),
machine parameters, kernel parameters and cost profiles.

Options:
  --json                 Print the same as JSON.
  -h, --help             Show this help.`,
};

function valid(list: readonly string[]): string {
  return list.join(", ");
}

interface ParseArgsError extends Error {
  code?: string;
}

function rewriteParseError(command: Command, e: ParseArgsError): CliError {
  const names = Object.keys(OPTIONS[command]).map((n) => `--${n}`);
  const option = /'(-[^' ]+)/.exec(e.message)?.[1] ?? "";
  switch (e.code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return new CliError(`Unknown option "${option}" for ${command}; valid: ${valid(names)}`);
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      if (/does not take an argument/.test(e.message)) {
        return new CliError(`Option ${option} of ${command} takes no value`);
      }
      return new CliError(`Option ${option} of ${command} needs a value`);
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL": {
      const arg = /'([^']*)'/.exec(e.message)?.[1] ?? "";
      return new CliError(
        `Unexpected argument "${arg}" for ${command}; options: ${valid(names)}`,
      );
    }
    default:
      return new CliError(e.message);
  }
}

/**
 * `parseArgs` reads `--seed -1` as an option followed by another option; a value that looks like
 * a negative number is a value: `--seed=-1`, so that its range check names the problem.
 */
function negativeValuesInline(command: Command, args: readonly string[]): string[] {
  const opts = OPTIONS[command] as Record<string, { type: string }>;
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const next = args[i + 1];
    if (
      a.startsWith("--") && !a.includes("=") && opts[a.slice(2)]?.type === "string" &&
      next !== undefined && /^-[\d.]/.test(next)
    ) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/**
 * An option that takes one value (`--seed`, `--out`, `--jobs`, ...) given twice is an error: the
 * last one would silently win (`--seed 1 --seed 2` ran seed 2), which is as likely a mistake in a
 * script as a wish. A repeatable option (`--param`, `--scheme`, ...) and a flag may be repeated.
 */
function singleValuedOnce(
  command: Command,
  tokens: readonly { kind: string; name?: string; value?: string }[],
): void {
  const opts = OPTIONS[command] as Record<string, { type: string; multiple?: boolean }>;
  const seen = new Map<string, string>();
  for (const t of tokens) {
    if (t.kind !== "option" || t.name === undefined) continue;
    const o = opts[t.name];
    if (o === undefined || o.type !== "string" || o.multiple === true) continue;
    const before = seen.get(t.name);
    if (before !== undefined) {
      throw new CliError(
        `Option --${t.name} of ${command} is given more than once ("${before}", "${
          t.value ?? ""
        }"); give it once`,
      );
    }
    seen.set(t.name, t.value ?? "");
  }
}

/** A list option given only empty values (`--scheme ""`) is an error, not "all". */
function nonEmptyList(values: readonly string[] | undefined, option: string): string[] {
  const list = splitList(values);
  if (values !== undefined && list.length === 0) {
    const ids = option === "scheme" ? schemeIds() : workloadIds();
    throw new CliError(`Option --${option} needs at least one id; valid: ${valid(ids)}`);
  }
  return list;
}

function splitList(values: readonly string[] | undefined): string[] {
  const out: string[] = [];
  for (const v of values ?? []) {
    for (const part of v.split(",")) {
      const t = part.trim();
      if (t === "") continue;
      if (!out.includes(t)) out.push(t);
    }
  }
  return out;
}

function keyValues(values: readonly string[] | undefined, option: string): KeyValue[] {
  return (values ?? []).map((text) => {
    const eq = text.indexOf("=");
    const key = eq < 0 ? "" : text.slice(0, eq).trim();
    const value = eq < 0 ? "" : text.slice(eq + 1).trim();
    if (eq < 0 || key === "" || value === "") {
      throw new CliError(
        `Malformed ${option} "${text}"; expected key=value, e.g. ${
          option === "--cost" ? "workNs.cache_miss=120" : "children=4"
        }`,
      );
    }
    return { key, value, option };
  });
}

function integerOption(text: string, name: string, min: number, max: number): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new CliError(`Option --${name} must be an integer in [${min}, ${max}], got "${text}"`);
  }
  return n;
}

function thresholdOption(text: string | undefined, name: string, fallback: number): number {
  if (text === undefined) return fallback;
  const n = text.trim() === "" ? NaN : Number(text);
  if (!Number.isFinite(n) || n < 0) {
    throw new CliError(`Option --${name} must be a non-negative number, got "${text}"`);
  }
  return n;
}

function shardOption(text: string | undefined): Shard | null {
  if (text === undefined) return null;
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || count > 10_000 || index >= count) {
    throw new CliError(`Option --shard must be I/N with 0 <= I < N <= 10000, got "${text}"`);
  }
  return { index, count };
}

function outOption(text: string | undefined): string {
  if (text === undefined) return DEFAULT_OUT;
  if (text.trim() === "") throw new CliError("Option --out needs a directory");
  return text;
}

/**
 * Parses a command line (without the program name). Throws a {@link CliError} naming the
 * problem and the valid choices.
 *
 * @example Usage
 * ```ts
 * import { parseCommandLine } from "./args.ts";
 * const a = parseCommandLine(["run", "--workload", "fork-storm", "--param", "children=4"]);
 * if (a.command !== "run" || a.params[0].key !== "children") throw new Error("unexpected");
 * ```
 */
export function parseCommandLine(argv: readonly string[]): ParsedArgs {
  const [first, ...rest] = argv;
  if (first === undefined || first === "--help" || first === "-h") {
    return { command: "help", topic: null };
  }
  if (first === "help") {
    const topic = rest[0];
    if (topic === undefined) return { command: "help", topic: null };
    if (!(COMMANDS as readonly string[]).includes(topic)) {
      throw new CliError(`Unknown command "${topic}"; valid: ${valid(COMMANDS)}`);
    }
    return { command: "help", topic: topic as Command };
  }
  if (!(COMMANDS as readonly string[]).includes(first)) {
    throw new CliError(`Unknown command "${first}"; valid: ${valid(COMMANDS)}`);
  }
  const command = first as Command;
  let parsed;
  try {
    parsed = parseArgs({
      args: negativeValuesInline(command, rest),
      options: OPTIONS[command],
      strict: true,
      allowPositionals: command === "compare" || command === "report" || command === "merge",
      tokens: true,
    });
  } catch (e) {
    throw rewriteParseError(command, e as ParseArgsError);
  }
  const v = parsed.values as Record<string, string | string[] | boolean | undefined>;
  if (v.help) return { command: "help", topic: command };
  singleValuedOnce(command, parsed.tokens);
  const positionals = parsed.positionals;

  switch (command) {
    case "bench":
    case "run":
    case "sweep": {
      const workloads = nonEmptyList(v.workload as string[] | undefined, "workload");
      if (command !== "bench" && workloads.length !== 1) {
        throw new CliError(
          `Command ${command} needs exactly one --workload, got ${workloads.length}; ` +
            `see "cli.ts list" for the workloads`,
        );
      }
      const seedText = v.seed as string | undefined;
      return {
        command,
        seed: seedText === undefined
          ? 1
          : integerOption(seedText, "seed", 0, Number.MAX_SAFE_INTEGER),
        out: outOption(v.out as string | undefined),
        schemes: nonEmptyList(v.scheme as string[] | undefined, "scheme"),
        workloads,
        params: [
          ...keyValues(v.param as string[] | undefined, "--param"),
          ...keyValues(v.machine as string[] | undefined, "--machine").map((kv) => ({
            ...kv,
            key: kv.key.startsWith("machine.") ? kv.key : `machine.${kv.key}`,
          })),
        ],
        costProfile: (v["cost-profile"] as string | undefined) ?? "default",
        costOverrides: keyValues(v.cost as string[] | undefined, "--cost"),
        jobs: v.jobs === undefined ? null : integerOption(v.jobs as string, "jobs", 1, 256),
        shard: shardOption(v.shard as string | undefined),
        selfContained: v["self-contained"] === true,
        traces: (v.trace as string[] | undefined) ?? [],
        repeat: v.repeat === undefined
          ? DEFAULT_REPEAT
          : integerOption(v.repeat as string, "repeat", 1, MAX_REPEAT),
        baselineScheme: (v["baseline-scheme"] as string | undefined) ?? null,
      };
    }
    case "compare": {
      if (positionals.length !== 2) {
        throw new CliError(
          `Command compare needs two files, BASELINE.json CURRENT.json; got ${positionals.length}`,
        );
      }
      return {
        command,
        baseline: positionals[0],
        current: positionals[1],
        out: outOption(v.out as string | undefined),
        counterThreshold: thresholdOption(
          v["counter-threshold"] as string | undefined,
          "counter-threshold",
          0,
        ),
        timeThreshold: thresholdOption(
          v["time-threshold"] as string | undefined,
          "time-threshold",
          0.10,
        ),
      };
    }
    case "report": {
      if (positionals.length !== 1) {
        throw new CliError(`Command report needs one RESULTS.json file; got ${positionals.length}`);
      }
      return {
        command,
        input: positionals[0],
        out: outOption(v.out as string | undefined),
        selfContained: v["self-contained"] === true,
      };
    }
    case "merge": {
      if (positionals.length === 0) throw new CliError("Command merge needs shard results files");
      return {
        command,
        inputs: positionals,
        out: outOption(v.out as string | undefined),
        selfContained: v["self-contained"] === true,
      };
    }
    case "list":
      return { command, json: v.json === true };
  }
}
