/**
 * `deno task calibrate`: runs the calibration scenarios on the host kernel (runner.c, exact slab
 * object counts after a shrink) and on the classic anon_vma model, and prints a side-by-side table
 * of anon_vma, anon_vma_chain and VMA figures. anon_vma and anon_vma_chain must agree exactly;
 * VMAs are compared through `/proc/<pid>/maps` (the vm_area_struct slab is freed via RCU).
 *
 * Fork scenarios are compared per region (the slope between two V values), which cancels the
 * runner's own faulted VMAs (libc data, heap, stack) that fork copies too; scenarios without a
 * fork are compared as deltas from the scenario's baseline.
 *
 * Usage: `deno task calibrate [--only NAME[,NAME]] [--repeats N] [--json FILE]`
 *
 * @module
 */

import { hostAvailable, measureHostDeltas, measureHostSlope } from "./host.ts";
import { type ModelPoint, runModelScenario } from "./model.ts";

/** One calibration case. */
export interface CalibrationCase {
  /** Name shown in the table. */
  name: string;
  /** runner.c scenario. */
  scenario: string;
  /** Scenario parameters for region count `v` (ignored for delta cases). */
  params: (v: number) => number[];
  /** Two region counts for a per-region slope, or null for plain deltas. */
  slope: [number, number] | null;
}

/** The cases the issue asks for (and a few more). */
export const CASES: readonly CalibrationCase[] = [
  { name: "breadth fork, N=2", scenario: "breadth", params: (v) => [v, 2], slope: [4, 8] },
  { name: "breadth fork, N=4", scenario: "breadth", params: (v) => [v, 4], slope: [4, 8] },
  {
    name: "breadth fork, children CoW",
    scenario: "breadth-cow",
    params: (v) => [v, 2],
    slope: [4, 8],
  },
  {
    name: "breadth fork, unfaulted",
    scenario: "breadth-unfaulted",
    params: (v) => [v, 2],
    slope: [4, 8],
  },
  { name: "live fork chain, D=4", scenario: "chain", params: (v) => [4, v], slope: [4, 8] },
  {
    name: "chain, generations exit, D=6",
    scenario: "chain-exit",
    params: (v) => [6, v],
    slope: [4, 8],
  },
  { name: "mprotect split + restore", scenario: "mprotect", params: (v) => [v], slope: [1, 3] },
  {
    name: "mprotect split before faults",
    scenario: "mprotect-unfaulted",
    params: (v) => [v],
    slope: [1, 3],
  },
  { name: "faulted mremap beside R2", scenario: "mremap-faulted", params: () => [], slope: null },
  {
    name: "unfaulted mremap beside R2",
    scenario: "mremap-unfaulted",
    params: () => [],
    slope: null,
  },
  { name: "MREMAP_DONTUNMAP", scenario: "dontunmap", params: () => [], slope: null },
];

/** anon_vma, anon_vma_chain and VMA figures of one point. */
export interface PointFigures {
  anonVma: number;
  anonVmaChain: number;
  vmas: number;
}

/** One row of the comparison. */
export interface CalibrationRow {
  /** Case name. */
  case: string;
  /** READY label. */
  label: string;
  /** `"per region"` or `"delta"`. */
  basis: string;
  /** Host figures (null when the host is not available, or its run gave none for this point). */
  host: PointFigures | null;
  /** Model figures. */
  model: PointFigures;
  /** anon_vma and anon_vma_chain (and VMAs) agree exactly; see {@link agreement}. */
  agree: boolean | null;
}

function modelFigures(c: CalibrationCase): Map<string, ModelPoint> {
  if (!c.slope) return new Map(runModelScenario(c.scenario, c.params(0)).map((p) => [p.label, p]));
  const [v1, v2] = c.slope;
  const a = runModelScenario(c.scenario, c.params(v1));
  const b = runModelScenario(c.scenario, c.params(v2));
  const dv = v2 - v1;
  return new Map(a.map((p, i) => [p.label, {
    label: p.label,
    anonVma: (b[i].anonVma - p.anonVma) / dv,
    anonVmaChain: (b[i].anonVmaChain - p.anonVmaChain) / dv,
    regionVmas: (b[i].regionVmas - p.regionVmas) / dv,
  }]));
}

/**
 * Whether the host's figures of a point agree exactly with the model's: null when the host was
 * not measured, false when it was but produced no figures for the point (a point the model has
 * and the host run did not reach is a disagreement, not a pass).
 *
 * @example Usage
 * ```ts
 * import { agreement } from "./calibrate.ts";
 * const m = { anonVma: 2, anonVmaChain: 3, vmas: 1 };
 * if (agreement({ ...m }, m, true) !== true || agreement(null, m, true) !== false) throw new Error();
 * ```
 */
export function agreement(
  host: PointFigures | null,
  model: PointFigures,
  measured: boolean,
): boolean | null {
  if (!measured) return null;
  return host !== null && host.anonVma === model.anonVma &&
    host.anonVmaChain === model.anonVmaChain && host.vmas === model.vmas;
}

/** Runs the cases (host side only when `host` is true) and returns the rows. */
export async function calibrate(
  cases: readonly CalibrationCase[],
  host: boolean,
  repeats = 3,
  progress: (line: string) => void = () => {},
): Promise<CalibrationRow[]> {
  const rows: CalibrationRow[] = [];
  for (const c of cases) {
    progress(`calibrating: ${c.name}`);
    const model = modelFigures(c);
    let hostFig: Map<string, PointFigures> | null = null;
    if (host) {
      hostFig = new Map();
      if (c.slope) {
        const r = await measureHostSlope(c.scenario, c.params, c.slope[0], c.slope[1], { repeats });
        for (const s of r.slopes) {
          hostFig.set(s.label, {
            anonVma: s.anonVma,
            anonVmaChain: s.anonVmaChain,
            vmas: s.regionVmas,
          });
        }
      } else {
        const r = await measureHostDeltas(c.scenario, c.params(0), { repeats });
        for (const d of r.deltas) {
          hostFig.set(d.label, {
            anonVma: d.anonVma,
            anonVmaChain: d.anonVmaChain,
            vmas: d.regionVmas,
          });
        }
      }
    }
    for (const [label, m] of model) {
      if (label === "base") continue;
      const h = hostFig?.get(label) ?? null;
      const mf = { anonVma: m.anonVma, anonVmaChain: m.anonVmaChain, vmas: m.regionVmas };
      rows.push({
        case: c.name,
        label,
        basis: c.slope ? "per region" : "delta",
        host: h,
        model: mf,
        agree: agreement(h, mf, hostFig !== null),
      });
    }
  }
  return rows;
}

/** Formats rows as a fixed-width table. */
export function formatTable(rows: readonly CalibrationRow[]): string {
  const head = ["case", "point", "basis", "kernel av/avc/vma", "model av/avc/vma", "agree"];
  const cells = rows.map((r) => [
    r.case,
    r.label,
    r.basis,
    r.host ? `${r.host.anonVma}/${r.host.anonVmaChain}/${r.host.vmas}` : "n/a",
    `${r.model.anonVma}/${r.model.anonVmaChain}/${r.model.vmas}`,
    r.agree === null ? "-" : r.agree ? "yes" : "NO",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]): string => c.map((x, i) => x.padEnd(widths[i])).join("  ").trimEnd();
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n");
}

async function main(args: string[]): Promise<number> {
  let only: string[] | null = null;
  let repeats = 3;
  let json: string | null = null;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--only") only = (args[++i] ?? "").split(",");
    else if (a === "--repeats") repeats = Number(args[++i]);
    else if (a === "--json") json = args[++i] ?? null;
    else {
      console.error(`error: unknown option "${a}"; valid: --only NAMES, --repeats N, --json FILE`);
      return 2;
    }
  }
  if (!Number.isInteger(repeats) || repeats < 1 || repeats > 20) {
    console.error("error: --repeats must be an integer in [1, 20]");
    return 2;
  }
  const cases = only ? CASES.filter((c) => only!.includes(c.scenario)) : CASES;
  if (only && cases.length === 0) {
    console.error(
      `error: no calibration scenario named ${only.join(", ")}; valid: ${
        [...new Set(CASES.map((c) => c.scenario))].join(", ")
      }`,
    );
    return 2;
  }
  const avail = await hostAvailable();
  if (!avail.ok) console.error(`host kernel not measurable (${avail.reason}); model figures only`);
  const rows = await calibrate(cases, avail.ok, repeats, (l) => console.error(l));
  console.log(formatTable(rows));
  const bad = rows.filter((r) => r.agree === false);
  if (json) {
    const tmp = `${json}.tmp-${Deno.pid}`;
    await Deno.writeTextFile(tmp, JSON.stringify(rows, null, 2) + "\n");
    await Deno.rename(tmp, json);
  }
  if (avail.ok) {
    console.log(
      bad.length === 0
        ? `all ${rows.length} points agree exactly with the host kernel`
        : `${bad.length} of ${rows.length} points disagree with the host kernel`,
    );
  }
  return bad.length === 0 ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
