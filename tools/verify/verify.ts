/**
 * `rmapbench verify`: runs every scenario of the suite (tools/verify/scenarios/*.scn) on the host
 * kernel and on the model, and compares, step by step, the outcome of every system call, the
 * per-copy live anon_vma and anon_vma_chain objects, and at every `measure` step the
 * `/proc/<pid>/maps` layout (VMA boundaries, permissions, file page offsets) of every live process.
 *
 * Each scenario ends as `exact`, `DIFFER` (the model and the kernel part: printed side by side) or
 * `host-unstable` (the host could not be measured cleanly after the retries: never a difference).
 *
 * @module
 */

import type { KernelParams } from "../../core/kernel/params.ts";
import { type Execution, runModel } from "./model.ts";
import { copy0Layout, type HostFigures, measureHost, type MeasureOptions } from "./host.ts";
import { parseScenarios, type Scenario } from "./scenario.ts";

/** Verdict of one scenario. */
export type Status = "exact" | "differ" | "host-unstable";

/** Result of one scenario. */
export interface Verdict {
  /** Scenario name. */
  name: string;
  /** Verdict. */
  status: Status;
  /** One-line summary. */
  summary: string;
  /** Side-by-side details of the differences (or the reason of instability). */
  details: string[];
}

/**
 * Per-copy model figures after every step: the difference between 2K copies and K copies, over K
 * (K as the host's smallest size). The host fits its line through K, 2K and 3K copies, so an
 * interaction between copies (pages of equal content in different copies, which KSM merges: the
 * kernel's zeroes) cancels on both sides alike; with K = 1 a lone page has no partner.
 */
export interface ModelFigures {
  /** One-copy execution (outcomes, layouts). */
  one: Execution;
  /** Per-copy cumulative anon_vma after each step ([0] before the first step). */
  anonVma: number[];
  /** Per-copy cumulative anon_vma_chain. */
  anonVmaChain: number[];
}

/** Runs the model with 1, `k` and 2`k` copies; returns per-copy figures ({@link ModelFigures}). */
export function modelFigures(
  s: Scenario,
  scheme = "anon_vma",
  kernelParams: Partial<KernelParams> = {},
  k = 1,
): ModelFigures {
  const one = runModel(s, 1, scheme, kernelParams);
  const a = k === 1 ? one : runModel(s, k, scheme, kernelParams);
  const b = runModel(s, 2 * k, scheme, kernelParams);
  const per = (x: number[], y: number[]): number[] =>
    y.map((v, i) => (v - y[0] - (x[i] - x[0])) / k);
  return {
    one,
    anonVma: per(a.anonVma, b.anonVma),
    anonVmaChain: per(a.anonVmaChain, b.anonVmaChain),
  };
}

/** Loads every `*.scn` file of a directory (sorted by name) as one suite. */
export async function loadSuite(
  dir: URL = new URL("./scenarios/", import.meta.url),
): Promise<Scenario[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && e.name.endsWith(".scn")) names.push(e.name);
  }
  names.sort();
  const out: Scenario[] = [];
  for (const n of names) {
    const text = await Deno.readTextFile(new URL(n, dir));
    for (const s of parseScenarios(text, n)) {
      if (out.some((o) => o.name === s.name)) throw new Error(`${n}: duplicate scenario ${s.name}`);
      out.push(s);
    }
  }
  return out;
}

function stepName(s: Scenario, j: number): string {
  const st = s.steps[j];
  return st.line ? `line ${st.line} "${st.text}"` : `"${st.text}"`;
}

/**
 * Compares host figures with the model's for one scenario.
 *
 * @param kernelLabel name of the host kernel in the side-by-side lines
 * @param modelLabel name of the model in the side-by-side lines
 */
export function compare(
  s: Scenario,
  host: HostFigures,
  model: ModelFigures,
  kernelLabel = "kernel",
  modelLabel = "model",
): Verdict {
  const details: string[] = [];
  const kl = kernelLabel, ml = modelLabel;
  const n = s.steps.length;
  // 1. Outcomes.
  for (let j = 0; j < n; j++) {
    const h = host.first.outcomes[j], m = model.one.outcomes[j];
    if (h !== m) details.push(`step ${stepName(s, j)}: ${kl} ${h}, ${ml} ${m}`);
  }
  // 2. Layouts at the measure points.
  const hl = copy0Layout(host.first), mlay = copy0Layout(model.one);
  for (const [step, mlines] of mlay) {
    const hlines = hl.get(step) ?? [];
    if (hlines.join("\n") === mlines.join("\n")) continue;
    const label = s.steps[step].op === "measure" ? (s.steps[step] as { label: string }).label : "";
    details.push(`layout at "${label}" (${kl} | ${ml}):`);
    const w = Math.max(...hlines.map((l) => l.length), 4);
    for (let i = 0; i < Math.max(hlines.length, mlines.length); i++) {
      const a = hlines[i] ?? "", b = mlines[i] ?? "";
      details.push(`  ${a.padEnd(w)} ${a === b ? "|" : "≠"} ${b}`);
    }
  }
  // 3. Per-copy counts after every step.
  if (host.unstable === null && host.anonVma && host.anonVmaChain) {
    for (let j = 0; j < n; j++) {
      const ha = host.anonVma[j + 1], hc = host.anonVmaChain[j + 1];
      const ma = model.anonVma[j + 1], mc = model.anonVmaChain[j + 1];
      if (ha !== ma || hc !== mc) {
        details.push(
          `after ${stepName(s, j)}: per copy ${kl} ${ha} anon_vma / ${hc} anon_vma_chain, ` +
            `${ml} ${ma} / ${mc}`,
        );
      }
    }
  }
  const steps = s.written;
  const points = [...mlay.keys()].length;
  const stats = `${steps} steps, ${points} layouts, ${host.runs} runs`;
  if (details.length > 0) {
    const known = s.known ? ` (known: ${s.known})` : "";
    return {
      name: s.name,
      status: "differ",
      summary: `${details.length} difference(s); ${stats}${known}`,
      details,
    };
  }
  if (host.unstable !== null) {
    return { name: s.name, status: "host-unstable", summary: host.unstable, details: [] };
  }
  const last = host.anonVma!.reduce((a, b) => Math.max(a, b), 0);
  return {
    name: s.name,
    status: "exact",
    summary: `${stats}; up to ${last} anon_vma per copy${
      s.known ? " (the known difference did not show)" : ""
    }`,
    details: [],
  };
}

/** Options of {@link verifySuite}. */
export interface VerifyOptions extends MeasureOptions {
  /** Model scheme id (default the classic `anon_vma`). */
  scheme?: string;
  /** Name of the host kernel in the output (default `kernel`). */
  label?: string;
  /**
   * Kernel parameters that make the model match the host's configuration (default: none; the
   * CLI passes {@link hostKernelParams}, e.g. `zeroPage: false` on a kernel without a zero page).
   */
  kernelParams?: Partial<KernelParams>;
  /**
   * How the host is measured (default {@link measureHost}); tests give figures of their own to
   * pin what the suite does with a difference that does or does not reproduce.
   */
  measure?: (s: Scenario, opts: MeasureOptions) => Promise<HostFigures>;
}

/** Runs and compares every scenario, calling `line` with each result as it comes. */
export async function verifySuite(
  suite: readonly Scenario[],
  opts: VerifyOptions,
  line: (v: Verdict) => void = () => {},
): Promise<Verdict[]> {
  const out: Verdict[] = [];
  const measure = opts.measure ?? measureHost;
  for (const s of suite) {
    const model = modelFigures(s, opts.scheme ?? "anon_vma", opts.kernelParams, opts.copies ?? 4);
    let v: Verdict;
    try {
      const host = await measure(s, opts);
      const kl = opts.label ?? "kernel", ml = opts.scheme ?? "model";
      v = compare(s, host, model, kl, ml);
      // A count difference is reported only if one of two independent measurements reproduces
      // the host figures exactly. Outcomes and layouts do not depend on noise: when the counts
      // do not reproduce, their differences alone are dropped (the scenario is host-unstable
      // only if nothing else differs).
      if (v.status === "differ" && host.anonVma && v.details.some((d) => d.startsWith("after "))) {
        let same = false;
        for (let i = 0; i < 2 && !same; i++) {
          const again = await measure(s, opts);
          same = again.unstable === null &&
            again.anonVma!.join() === host.anonVma.join() &&
            again.anonVmaChain!.join() === host.anonVmaChain!.join();
        }
        if (!same) {
          const unstable = "the per-copy counts that differ from the model did not reproduce";
          const counts = { anonVma: null, anonVmaChain: null, unstable };
          v = compare(s, { ...host, ...counts }, model, kl, ml);
        }
      }
    } catch (e) {
      v = {
        name: s.name,
        status: "host-unstable",
        summary: `host run failed: ${(e instanceof Error ? e.message : String(e)).split("\n")[0]}`,
        details: [],
      };
    }
    out.push(v);
    line(v);
  }
  return out;
}

/** Formats one verdict (a line, then indented details). */
export function formatVerdict(v: Verdict, width = 28): string {
  const tag = v.status === "exact" ? "exact " : v.status === "differ" ? "DIFFER" : "host-unstable";
  const head = `${tag.padEnd(13)} ${v.name.padEnd(width)} ${v.summary}`;
  return [head, ...v.details.map((d) => `    ${d}`)].join("\n");
}

/** The summary line: `verify: N scenarios, E exact, D differ, U host-unstable`. */
export function summaryLine(vs: readonly Verdict[]): string {
  const c = (st: Status): number => vs.filter((v) => v.status === st).length;
  return `verify: ${vs.length} scenarios, ${c("exact")} exact, ${c("differ")} differ, ${
    c("host-unstable")
  } host-unstable`;
}

/** Exit status: 0 all exact, 1 any difference, 3 only host-unstable cases. */
export function exitCode(vs: readonly Verdict[]): number {
  if (vs.some((v) => v.status === "differ")) return 1;
  if (vs.some((v) => v.status === "host-unstable")) return 3;
  return 0;
}
