/**
 * Turns parsed `bench`/`run`/`sweep` arguments into a validated list of run specs: checks scheme
 * and workload ids, parameter names and values (expanding sweep ranges), the cost profile and its
 * overrides. Everything is checked here, before any run starts.
 *
 * @module
 */

import type { KeyValue, RunArgs, Shard } from "./args.ts";
import { CliError } from "./errors.ts";
import { SCHEMES } from "../core/rmap/registry.ts";
import { WORKLOADS } from "../workloads/registry.ts";
import {
  type ParamSpec,
  type ParamValue,
  parseParam,
  type Workload,
} from "../workloads/workload.ts";
import { MACHINE_PARAM_SPECS, type RunOptions } from "../runner/recorder.ts";
import {
  COST_PROFILES,
  type CostProfile,
  type CostProfileOverrides,
  mergeCostProfile,
  validateCostProfile,
} from "../core/machine/cost_model.ts";
import { DEFAULT_KERNEL_PARAMS, KERNEL_PARAM_RANGES } from "../core/kernel/params.ts";
import { runId, type SuiteInfo } from "../reports/results.ts";
import { registerTrace, TRACE_REPLAY } from "../workloads/trace_replay.ts";
import { fitProblem } from "../workloads/estimate.ts";
import { resolveParams } from "../workloads/workload.ts";
import { getHeapStatistics } from "node:v8";
import { decodeTraceBytes } from "../workloads/trace_file.ts";
import { repeatSeeds } from "../runner/seeds.ts";
import { DEFAULT_BASELINE_SCHEME } from "./args.ts";

/** Largest number of runs one command may ask for (catches typos in sweep ranges). */
export const MAX_RUNS = 10_000;

/** One run to execute: everything a worker needs, structured-cloneable. */
export interface RunSpec {
  /** Position in the full (unsharded) run list. */
  index: number;
  /** Run id written into the results (`<scheme>/<workload>`, plus `[k=v,...]` in sweeps). */
  id: string;
  /** Options for `runOne` (of repeat 0; repeat k uses `seeds[k]` instead of `options.seed`). */
  options: RunOptions;
  /** Seed of each repeat, the same list for every spec of a plan (paired repeats). */
  seeds: number[];
  /** Traces given with `--trace`, registered before the run (also inside workers). */
  traces?: TraceText[];
}

/** A trace read from `--trace FILE[,PERF_FILE]`. */
export interface TraceText {
  /** Name the trace-replay workload knows it by. */
  name: string;
  /** The strace -f log. */
  strace: string;
  /** perf script page-fault events, or "". */
  perf: string;
}

/**
 * Reads and registers the `--trace` files (a malformed line is a one-line error naming the file
 * and the line); returns them in order.
 */
export function loadTraces(args: readonly string[], readText: ReadText): TraceText[] {
  const out: TraceText[] = [];
  for (const arg of args) {
    const [file, perfFile, extra] = arg.split(",");
    if (!file || extra !== undefined) {
      throw new CliError(`Bad --trace "${arg}": expected FILE or FILE,PERF_FILE`);
    }
    const read = (path: string, what: string, reader: ReadText = readText): string => {
      try {
        return reader(path);
      } catch (e) {
        const why = e instanceof Deno.errors.NotFound ? "no such file" : (e as Error).message;
        throw new CliError(`Cannot read ${what} "${path}": ${why}`);
      }
    };
    // A trace file of `deno task record` is gzip: the workload's loader sniffs and inflates it.
    const strace = read(file, "trace file", (f) => decodeTraceBytes(Deno.readFileSync(f)));
    if (strace.trim() === "") {
      throw new CliError(
        `Trace file "${file}" is empty; expected an strace -f log or a file of deno task record`,
      );
    }
    const perf = perfFile ? read(perfFile, "perf file") : "";
    const base = file.split("/").pop()!.replace(/\..*$/, "");
    const name = base.replace(/[^A-Za-z0-9_.-]/g, "_") || "trace";
    if (out.some((t) => t.name === name)) {
      throw new CliError(`Two --trace files are both named "${name}"; rename one`);
    }
    try {
      registerTrace(name, strace);
    } catch (e) {
      throw new CliError(`Trace file "${file}": ${(e as Error).message.split("\n")[0]}`);
    }
    if (perf !== "") {
      try {
        registerTrace(name, strace, perf);
      } catch (e) {
        throw new CliError(`Perf file "${perfFile}": ${(e as Error).message.split("\n")[0]}`);
      }
    }
    out.push({ name, strace, perf });
  }
  return out;
}

/** A validated plan. */
export interface Plan {
  /** What was asked for (goes into the results). */
  suite: SuiteInfo;
  /** Every run of the full list, in order. */
  all: RunSpec[];
  /** The runs of this shard (all runs without `--shard`). */
  specs: RunSpec[];
  /** The shard, or null. */
  shard: Shard | null;
  /** Parameters given that the chosen mode ignores (one line each, printed as warnings). */
  warnings: string[];
}

/** Reads a text file (injected so planning stays testable). */
export type ReadText = (path: string) => string;

/** Specs of the kernel parameters, built from `KERNEL_PARAM_RANGES` (for `list` and checks). */
export const KERNEL_PARAM_SPECS: readonly ParamSpec[] = Object.entries(KERNEL_PARAM_RANGES).map(
  ([name, r]) => ({
    name,
    kind: r.kind,
    default: DEFAULT_KERNEL_PARAMS[name as keyof typeof DEFAULT_KERNEL_PARAMS],
    ...(r.kind === "int" ? { min: r.min, max: r.max } : {}),
    ...(r.kind === "enum" ? { choices: r.choices } : {}),
    unit: r.unit,
    description: r.meaning,
    source: r.source,
  }),
);

/** Where a parameter goes. */
type Target = { kind: "workload"; workload: string | null } | { kind: "machine" | "kernel" };

/** One parameter axis: its target, name and values. */
interface Axis {
  target: Target;
  name: string;
  /** Label in run ids: the name, prefixed by `machine.`/`kernel.` for those. */
  label: string;
  values: ParamValue[];
  raw: KeyValue;
}

function names(specs: readonly { name: string }[]): string {
  return specs.map((s) => s.name).join(", ");
}

function selectIds(
  asked: readonly string[],
  known: readonly string[],
  what: string,
): string[] {
  if (known.length === 0) throw new CliError(`No ${what}s are registered`);
  for (const id of asked) {
    if (!known.includes(id)) {
      throw new CliError(`Unknown ${what} "${id}"; valid: ${known.join(", ")}`);
    }
  }
  return asked.length > 0 ? [...asked] : [...known];
}

const RANGE =
  /^(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)\.\.(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)(?::(\*)?(\d+(?:\.\d+)?(?:e[+-]?\d+)?))?$/i;

function tidy(x: number): number {
  return Number(x.toPrecision(12));
}

/** Expands a sweep value text into value texts. */
function expandValues(kv: KeyValue, spec: ParamSpec): string[] {
  const text = kv.value;
  if (text.includes("..")) {
    const m = RANGE.exec(text);
    if (!m || (spec.kind !== "int" && spec.kind !== "float")) {
      throw new CliError(
        `Malformed range "${text}" for parameter ${kv.key}; expected a..b, a..b:step or ` +
          `a..b:*factor${spec.kind === "int" || spec.kind === "float" ? "" : " (numbers only)"}`,
      );
    }
    const a = Number(m[1]);
    const b = Number(m[2]);
    const geometric = m[3] === "*";
    const step = m[4] === undefined ? 1 : Number(m[4]);
    if (b < a) throw new CliError(`Range "${text}" of parameter ${kv.key} is empty (end < start)`);
    if (geometric ? !(step > 1) || !(a > 0) : !(step > 0)) {
      throw new CliError(
        `Range "${text}" of parameter ${kv.key} needs ${
          geometric ? "a factor > 1 and a start > 0" : "a step > 0"
        }`,
      );
    }
    const out: string[] = [];
    for (let i = 0;; i++) {
      const x = tidy(geometric ? a * step ** i : a + i * step);
      if (x > b * (1 + 1e-12)) break;
      out.push(String(x));
      if (out.length > MAX_RUNS) {
        throw new CliError(
          `Range "${text}" of parameter ${kv.key} has more than ${MAX_RUNS} values`,
        );
      }
    }
    return out;
  }
  return text.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

function parseValues(kv: KeyValue, spec: ParamSpec, sweep: boolean, where: string): ParamValue[] {
  const texts = sweep ? expandValues(kv, spec) : [kv.value];
  if (!sweep && (RANGE.test(kv.value) || kv.value.includes(","))) {
    throw new CliError(
      `Parameter ${kv.key} takes one value here, got "${kv.value}"; use sweep for ranges and lists`,
    );
  }
  const values: ParamValue[] = [];
  for (const t of texts) {
    let v: ParamValue;
    try {
      v = parseParam(spec, t, where);
    } catch (e) {
      throw new CliError((e as Error).message);
    }
    if (!values.includes(v)) values.push(v);
  }
  if (values.length === 0) throw new CliError(`Parameter ${kv.key} has no value`);
  return values;
}

function findSpec(specs: readonly ParamSpec[], name: string): ParamSpec | undefined {
  return specs.find((s) => s.name === name);
}

/** Classifies and validates every `--param`, returning the axes in the order given. */
function buildAxes(args: RunArgs, workloads: readonly Workload[]): Axis[] {
  const sweep = args.command === "sweep";
  const axes: Axis[] = [];
  const seen = new Set<string>();
  for (const kv of args.params) {
    const dot = kv.key.indexOf(".");
    const prefix = dot > 0 ? kv.key.slice(0, dot) : "";
    const name = dot > 0 ? kv.key.slice(dot + 1) : kv.key;
    let axis: Axis;
    if (prefix === "machine" || prefix === "kernel") {
      const specs = prefix === "machine" ? MACHINE_PARAM_SPECS : KERNEL_PARAM_SPECS;
      const spec = findSpec(specs, name);
      if (!spec) {
        throw new CliError(`Unknown ${prefix} parameter "${name}"; valid: ${names(specs)}`);
      }
      axis = {
        target: { kind: prefix },
        name,
        label: `${prefix}.${name}`,
        values: parseValues(kv, spec, sweep, `${prefix}`),
        raw: kv,
      };
    } else if (prefix !== "") {
      const w = WORKLOADS.find((x) => x.id === prefix);
      if (!w) {
        throw new CliError(
          `Unknown parameter scope "${prefix}" in ${kv.key}; valid: machine, kernel, ${
            WORKLOADS.map((x) => x.id).join(", ")
          }`,
        );
      }
      if (!workloads.includes(w)) {
        throw new CliError(
          `Parameter ${kv.key} is for workload ${w.id}, which is not selected; selected: ${
            workloads.map((x) => x.id).join(", ")
          }`,
        );
      }
      const spec = findSpec(w.params, name);
      if (!spec) {
        throw new CliError(
          `Unknown parameter "${name}" for workload ${w.id}; valid: ${names(w.params)}`,
        );
      }
      axis = {
        target: { kind: "workload", workload: w.id },
        name,
        label: name,
        values: parseValues(kv, spec, sweep, w.id),
        raw: kv,
      };
    } else {
      let values: ParamValue[] | null = null;
      for (const w of workloads) {
        const spec = findSpec(w.params, name);
        if (!spec) {
          throw new CliError(
            `Unknown parameter "${name}" for workload ${w.id}; valid: ${
              names(w.params) || "(none)"
            }; machine.K and kernel.K set machine and kernel parameters`,
          );
        }
        const v = parseValues(kv, spec, sweep, w.id);
        values ??= v;
      }
      axis = {
        target: { kind: "workload", workload: null },
        name,
        label: name,
        values: values ?? [],
        raw: kv,
      };
    }
    // One key per parameter it sets: a general workload parameter sets it for every selected
    // workload, so `children` and `fork-storm.children` name the same one.
    const target = axis.target;
    const keys = target.kind !== "workload"
      ? [axis.label]
      : (target.workload === null ? workloads.map((w) => w.id) : [target.workload]).map((w) =>
        `${w}:${axis.name}`
      );
    if (keys.some((k) => seen.has(k))) {
      throw new CliError(`Parameter ${kv.key} is given more than once`);
    }
    for (const k of keys) seen.add(k);
    axes.push(axis);
  }
  return axes;
}

function* combinations(axes: readonly Axis[]): Generator<ParamValue[]> {
  const idx = axes.map(() => 0);
  if (axes.some((a) => a.values.length === 0)) return;
  while (true) {
    yield axes.map((a, i) => a.values[idx[i]]);
    let i = axes.length - 1;
    while (i >= 0) {
      idx[i]++;
      if (idx[i] < axes[i].values.length) break;
      idx[i] = 0;
      i--;
    }
    if (i < 0) return;
  }
}

/** Resolves `--cost-profile` and `--cost` into a profile object and a label for the results. */
export function resolveCostProfile(
  arg: string,
  overrides: readonly KeyValue[],
  readText: ReadText,
): { profile: CostProfile; label: string } {
  let profile: CostProfile;
  if (Object.hasOwn(COST_PROFILES, arg)) {
    profile = COST_PROFILES[arg];
  } else if (arg.endsWith(".json") || arg.includes("/")) {
    let text: string;
    try {
      text = readText(arg);
    } catch (e) {
      const why = e instanceof Deno.errors.NotFound ? "no such file" : (e as Error).message;
      throw new CliError(`Cannot read cost profile file "${arg}": ${why}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new CliError(`Cost profile file "${arg}" is not valid JSON: ${(e as Error).message}`);
    }
    try {
      profile = validateCostProfile(json);
    } catch (e) {
      throw new CliError(`Bad cost profile file "${arg}": ${(e as Error).message}`);
    }
  } else {
    throw new CliError(
      `Unknown cost profile "${arg}"; valid: ${Object.keys(COST_PROFILES).join(", ")}, or a ` +
        `FILE.json`,
    );
  }
  if (overrides.length === 0) return { profile, label: arg };
  const o: { workNs?: Record<string, number> } & Record<string, unknown> = {};
  for (const kv of overrides) {
    const n = Number(kv.value);
    if (!Number.isFinite(n)) {
      throw new CliError(
        `Cost override ${kv.key} must be a number of nanoseconds, got "${kv.value}"`,
      );
    }
    if (kv.key.startsWith("workNs.")) {
      o.workNs ??= {};
      o.workNs[kv.key.slice("workNs.".length)] = n;
    } else {
      o[kv.key] = n;
    }
  }
  try {
    profile = mergeCostProfile(profile, o as CostProfileOverrides);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  return {
    profile,
    label: `${arg}+${overrides.map((kv) => `${kv.key}=${kv.value}`).join(",")}`,
  };
}

function commandText(args: RunArgs): string {
  const parts = ["rmapbench", args.command, "--seed", String(args.seed)];
  if (args.schemes.length) parts.push("--scheme", args.schemes.join(","));
  if (args.workloads.length) parts.push("--workload", args.workloads.join(","));
  for (const p of args.params) parts.push("--param", `${p.key}=${p.value}`);
  if (args.costProfile !== "default") parts.push("--cost-profile", args.costProfile);
  for (const c of args.costOverrides) parts.push("--cost", `${c.key}=${c.value}`);
  for (const t of args.traces) parts.push("--trace", t);
  parts.push("--repeat", String(args.repeat));
  if (args.baselineScheme !== null) parts.push("--baseline-scheme", args.baselineScheme);
  return parts.join(" ");
}

/**
 * Validates `bench`/`run`/`sweep` arguments and builds the run list. Order: workloads as
 * selected, then parameter combinations (first `--param` outermost), then schemes as selected.
 * Throws a {@link CliError} for any bad input.
 *
 * @example Usage
 * ```ts ignore
 * import { buildPlan } from "./plan.ts";
 * import { parseCommandLine, type RunArgs } from "./args.ts";
 * const plan = buildPlan(parseCommandLine(["bench"]) as RunArgs, Deno.readTextFileSync);
 * console.log(plan.all.length);
 * ```
 */
export function buildPlan(args: RunArgs, readText: ReadText): Plan {
  const schemes = selectIds(args.schemes, SCHEMES.map((s) => s.info.id), "scheme");
  const workloadIds = selectIds(args.workloads, WORKLOADS.map((w) => w.id), "workload");
  const workloads = workloadIds.map((id) => WORKLOADS.find((w) => w.id === id)!);
  if (args.traces.length > 0 && !workloadIds.includes(TRACE_REPLAY.id)) {
    throw new CliError(
      `--trace is replayed by the ${TRACE_REPLAY.id} workload, which is not selected ` +
        `(--workload ${workloadIds.join(",")}); add --workload ${TRACE_REPLAY.id}`,
    );
  }
  const traces = loadTraces(args.traces, readText);
  const axes = buildAxes(args, workloads);
  const cost = resolveCostProfile(args.costProfile, args.costOverrides, readText);
  if (args.baselineScheme !== null && !schemes.includes(args.baselineScheme)) {
    throw new CliError(
      `Baseline scheme "${args.baselineScheme}" is not among the selected schemes; valid: ${
        schemes.join(", ")
      }`,
    );
  }
  const baselineScheme = args.baselineScheme ??
    (schemes.includes(DEFAULT_BASELINE_SCHEME) ? DEFAULT_BASELINE_SCHEME : undefined);
  const seeds = repeatSeeds(args.seed, args.repeat);

  const all: RunSpec[] = [];
  const warnings = new Set<string>();
  for (const w of workloads) {
    const mine = axes.filter((a) =>
      a.target.kind !== "workload" || a.target.workload === null || a.target.workload === w.id
    );
    const varying = mine.filter((a) => a.values.length > 1);
    for (const combo of combinations(mine)) {
      const params: Record<string, ParamValue> = {};
      const machine: Record<string, number> = {};
      const kernel: Record<string, ParamValue> = {};
      mine.forEach((a, i) => {
        const v = combo[i];
        if (a.target.kind === "machine") machine[a.name] = v as number;
        else if (a.target.kind === "kernel") kernel[a.name] = v;
        else params[a.name] = v;
      });
      const suffix = varying.length === 0
        ? ""
        : `[${varying.map((a) => `${a.label}=${combo[mine.indexOf(a)]}`).join(",")}]`;
      for (const s of schemes) {
        if ((all.length + 1) * args.repeat > MAX_RUNS) {
          throw new CliError(
            `Too many runs (more than ${MAX_RUNS} counting repeats); narrow the sweep or lower --repeat`,
          );
        }
        const options: RunOptions = {
          scheme: s,
          workload: w.id,
          params: { ...params },
          seed: args.seed,
          costProfile: cost.profile,
        };
        if (Object.keys(machine).length) options.machine = { ...machine };
        if (Object.keys(kernel).length) options.kernelParams = { ...kernel };
        for (const a of mine) {
          const cond = a.target.kind === "workload"
            ? w.params.find((p) => p.name === a.name)?.appliesWhen
            : undefined;
          if (!cond) continue;
          const ctl = params[cond.param] ?? w.params.find((p) => p.name === cond.param)?.default;
          if (!cond.values.includes(String(ctl))) {
            warnings.add(
              `${w.id} parameter ${a.name} has no effect with ${cond.param}=${ctl} ` +
                `(it applies when ${cond.param} is ${cond.values.join(" or ")})`,
            );
          }
        }
        const spec: RunSpec = {
          index: all.length,
          id: runId(s, w.id) + suffix,
          options,
          seeds: [...seeds],
        };
        if (traces.length && w.id === TRACE_REPLAY.id) {
          spec.traces = traces;
          // The first --trace is replayed unless --param trace=NAME chose one.
          if (!("trace" in params)) options.params = { ...params, trace: traces[0].name };
        }
        all.push(spec);
      }
    }
  }
  const specs = args.shard
    ? all.filter((r) => r.index % args.shard!.count === args.shard!.index)
    : all;
  // Refuse runs whose estimated heap exceeds V8's limit (workers have the same limit).
  const heapLimit = getHeapStatistics().heap_size_limit;
  for (const r of specs) {
    const w = workloads.find((x) => x.id === r.options.workload)!;
    const problem = w.estimate &&
      fitProblem(`Run ${r.id}`, resolveParams(w, r.options.params ?? {}), w.estimate, heapLimit);
    if (problem) throw new CliError(problem);
  }
  return {
    suite: {
      command: commandText(args),
      seed: args.seed,
      schemes,
      workloads: workloadIds,
      costProfile: cost.label,
      repeat: args.repeat,
      repeatSeeds: seeds,
      ...(baselineScheme !== undefined ? { baselineScheme } : {}),
    },
    all,
    specs,
    shard: args.shard,
    warnings: [...warnings],
  };
}
