/**
 * The workload interface: a workload is a seeded generator of system calls, with typed
 * parameters. It speaks only the kernel's syscall API (`Kernel.mmap`, `touch`, `fork`, ...) and
 * never reaches into scheme internals. It describes processes as task scripts: generators that
 * yield one step at a time, each step either one kernel operation or a sleep. The machine runs
 * the step's `run` at dispatch and asks the generator for the next step after the operation
 * completed, so a script can use an operation's result (an address, a child mm) in later steps.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import type { Kernel } from "../core/kernel/kernel.ts";
import type { OpKind } from "../core/machine/exec.ts";
import type { Random } from "../core/lib/random.ts";
import type { MemoryEstimate } from "./estimate.ts";

/** A parameter value. */
export type ParamValue = number | boolean | string;

/** A typed workload parameter (listed by the CLI). */
export interface ParamSpec {
  /** Name used with `--param name=value`. */
  readonly name: string;
  /** Value type. */
  readonly kind: "int" | "float" | "bool" | "enum";
  /** Default value. */
  readonly default: ParamValue;
  /** Smallest valid value (int/float). */
  readonly min?: number;
  /** Largest valid value (int/float). */
  readonly max?: number;
  /** Valid choices (enum). */
  readonly choices?: readonly string[];
  /** Unit, e.g. `"pages"`, `"processes"`, `"ns"`, `"fraction"`. */
  readonly unit: string;
  /** One sentence of meaning. */
  readonly description: string;
  /** Where the default comes from: a reference section, or `"assumption"` with why. */
  readonly source: string;
  /**
   * The parameter only has an effect when the enum parameter `param` has one of `values` (e.g.
   * fork-storm's `children` only in `mode=breadth`); the CLI warns when it is set otherwise.
   */
  readonly appliesWhen?: { readonly param: string; readonly values: readonly string[] };
}

/**
 * The value type of the parameter a spec declares: `number` for int and float, `boolean` for
 * bool, the union of its choices for an enum whose choices are literal (`string` otherwise).
 */
export type ParamValueOf<S extends ParamSpec> = S["kind"] extends "bool" ? boolean
  : S["kind"] extends "enum"
    ? S extends { readonly choices: readonly (infer C extends string)[] } ? C : string
  : number;

/**
 * Resolved parameters typed from a list of specs declared with literal names and kinds
 * (`[...] as const satisfies readonly ParamSpec[]`): one property per spec.
 */
export type ParamsOf<Specs extends readonly ParamSpec[]> = {
  readonly [S in Specs[number] as S["name"]]: ParamValueOf<S>;
};

/**
 * Typed view of `params` (a workload's {@link WorkloadEnv.params}) against `specs`: checks that
 * every declared parameter is present with the type its spec declares (resolveParams
 * guarantees it; a mismatch throws a {@link ParamError}) and returns the same object, typed.
 *
 * @example Usage
 * ```ts
 * import { type ParamSpec, paramsOf } from "./workload.ts";
 * const SPECS = [{ name: "mode", kind: "enum", default: "a", choices: ["a", "b"], unit: "",
 *   description: "", source: "" }] as const satisfies readonly ParamSpec[];
 * const p = paramsOf(SPECS, { mode: "b" });
 * const mode: "a" | "b" = p.mode;
 * if (mode !== "b") throw new Error();
 * ```
 */
export function paramsOf<const Specs extends readonly ParamSpec[]>(
  specs: Specs,
  params: Readonly<Record<string, ParamValue>>,
): ParamsOf<Specs> {
  for (const spec of specs) {
    const v = params[spec.name];
    const ok = spec.kind === "bool"
      ? typeof v === "boolean"
      : spec.kind === "enum"
      ? typeof v === "string" && (spec.choices === undefined || spec.choices.includes(v))
      : typeof v === "number";
    if (!ok) {
      throw new ParamError(
        `Parameter ${spec.name} must be ${describeRange(spec)}, got ${JSON.stringify(v)}`,
      );
    }
  }
  return params as unknown as ParamsOf<Specs>;
}

/** One step of a task script. */
export type Step = { op: OpKind; run: () => void } | { sleep: number };

/**
 * A task script: yields steps until the task is done. Whoever drives a script runs (or drops)
 * each step before asking for the next one and keeps no step, so a script may yield one step
 * object again and again with different arguments (android-launch's page touches do).
 */
export type TaskScript = Generator<Step, void, void>;

/** A table a workload adds to its own report (e.g. a calibration comparison). */
export interface WorkloadTable {
  /** Title. */
  title: string;
  /** Column headers. */
  columns: string[];
  /** Rows of cells. */
  rows: (string | number)[][];
}

/** What a workload gets to set itself up. */
export interface WorkloadEnv {
  /** The simulated kernel (syscall API only). */
  readonly kernel: Kernel;
  /** Seeded randomness for this run. */
  readonly rng: Random;
  /** Resolved parameters (every declared parameter present). */
  readonly params: Readonly<Record<string, ParamValue>>;
  /** Starts a task running `script` (a user process or a kernel thread). */
  addTask(name: string, kind: "user" | "kthread", script: TaskScript): void;
  /** Current simulated time in ns. */
  now(): number;
  /** Adds a line to the workload's notes in the report. */
  note(line: string): void;
  /** Adds a table to the workload's report. */
  table(t: WorkloadTable): void;
  /** Records the slab state under a name (e.g. "after-boot") for the workload's own report. */
  mark(label: string): void;
}

/** A workload family. */
export interface Workload {
  /** Identifier used on the command line. */
  readonly id: string;
  /** Human title. */
  readonly title: string;
  /** One paragraph on what it models and where its shape comes from. */
  readonly description: string;
  /** Parameters. */
  readonly params: readonly ParamSpec[];
  /**
   * Optional: the run starts the ksmd kernel thread (runner/ksmd.ts) for this workload, as
   * `RunOptions.ksmd` does for any workload (a workload that marks memory MADV_MERGEABLE).
   */
  readonly ksmd?: boolean;
  /** Creates the initial tasks. */
  setup(env: WorkloadEnv): void;
  /**
   * Optional: called when the run has ended (before teardown), with the marks recorded, to
   * add tables (e.g. the Android calibration comparison).
   */
  finish?(env: WorkloadEnv, marks: ReadonlyMap<string, Record<string, number>>): void;
  /**
   * Optional: the peak live objects a run with these (resolved) parameters will hold, so that a
   * run that cannot fit in the heap is refused before it starts (see `estimate.ts`).
   */
  estimate?(params: Readonly<Record<string, ParamValue>>): MemoryEstimate;
}

/** Error for bad workload parameters: one line naming the parameter and its valid range. */
export class ParamError extends RangeError {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "ParamError";
  }
}

function describeRange(p: ParamSpec): string {
  if (p.kind === "bool") return "true or false";
  if (p.kind === "enum") return `one of ${(p.choices ?? []).join(", ")}`;
  return `${p.kind === "int" ? "an integer" : "a number"} in [${p.min}, ${p.max}]`;
}

/**
 * Parses one parameter value (from a string on the command line, or a typed value) against its
 * spec, throwing a {@link ParamError} naming the parameter and its valid range.
 *
 * @example Usage
 * ```ts
 * import { parseParam } from "./workload.ts";
 * const v = parseParam({ name: "children", kind: "int", default: 4, min: 1, max: 10,
 *   unit: "processes", description: "Children.", source: "assumption" }, "7");
 * if (v !== 7) throw new Error();
 * ```
 */
export function parseParam(spec: ParamSpec, raw: ParamValue, workload = ""): ParamValue {
  const where = workload ? `${workload} parameter ${spec.name}` : `Parameter ${spec.name}`;
  const bad = (): never => {
    // JSON.stringify would print NaN and Infinity as null.
    const got = typeof raw === "number" ? String(raw) : JSON.stringify(raw);
    throw new ParamError(`${where} must be ${describeRange(spec)}, got ${got}`);
  };
  switch (spec.kind) {
    case "bool": {
      if (typeof raw === "boolean") return raw;
      if (raw === "true" || raw === "1") return true;
      if (raw === "false" || raw === "0") return false;
      return bad();
    }
    case "enum": {
      const s = String(raw);
      if (!(spec.choices ?? []).includes(s)) bad();
      return s;
    }
    default: {
      const n = typeof raw === "number"
        ? raw
        : (typeof raw === "string" && raw.trim() !== "")
        ? Number(raw)
        : NaN;
      if (!Number.isFinite(n)) bad();
      if (spec.kind === "int" && !Number.isInteger(n)) bad();
      if (spec.min !== undefined && n < spec.min) bad();
      if (spec.max !== undefined && n > spec.max) bad();
      return n;
    }
  }
}

/**
 * Resolves a full parameter set: defaults overridden by `overrides`; unknown names are an error
 * that lists the valid ones.
 *
 * @example Usage
 * ```ts
 * import { resolveParams, type Workload } from "./workload.ts";
 * const w = { id: "x", title: "x", description: "x", setup() {}, params: [{ name: "n",
 *   kind: "int", default: 2, min: 1, max: 9, unit: "", description: "", source: "" }] } as Workload;
 * if (resolveParams(w, {}).n !== 2) throw new Error();
 * ```
 */
export function resolveParams(
  w: Workload,
  overrides: Readonly<Record<string, ParamValue>>,
): Record<string, ParamValue> {
  const out: Record<string, ParamValue> = {};
  for (const p of w.params) out[p.name] = p.default;
  for (const [k, v] of Object.entries(overrides)) {
    const spec = w.params.find((p) => p.name === k);
    if (!spec) {
      throw new ParamError(
        `Unknown parameter "${k}" for workload ${w.id}; valid: ${
          w.params.map((p) => p.name).join(", ")
        }`,
      );
    }
    out[k] = parseParam(spec, v, w.id);
  }
  return out;
}
