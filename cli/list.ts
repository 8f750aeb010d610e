/**
 * The `list` command: schemes, workloads and their parameters, machine parameters, kernel
 * parameters and cost profiles, as text or JSON.
 *
 * @module
 */

import { SCHEMES } from "../core/rmap/registry.ts";
import { WORKLOADS } from "../workloads/registry.ts";
import type { ParamSpec } from "../workloads/workload.ts";
import { MACHINE_PARAM_SPECS } from "../runner/recorder.ts";
import { COST_PROFILES } from "../core/machine/cost_model.ts";
import { KERNEL_PARAM_SPECS } from "./plan.ts";

/**
 * The valid range of a parameter as text: `[min, max]`, `a | b`, `true | false`.
 *
 * @example Usage
 * ```ts
 * import { rangeText } from "./list.ts";
 * const t = rangeText({ name: "n", kind: "int", default: 1, min: 1, max: 8, unit: "",
 *   description: "", source: "" });
 * if (t !== "[1, 8]") throw new Error("unexpected");
 * ```
 */
export function rangeText(p: ParamSpec): string {
  if (p.kind === "bool") return "true | false";
  if (p.kind === "enum") return (p.choices ?? []).join(" | ");
  return `[${p.min ?? "-inf"}, ${p.max ?? "inf"}]`;
}

function table(header: string[], rows: string[][], indent: string): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string =>
    indent + cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join("  ");
  return [line(header), ...rows.map(line)];
}

function paramRows(specs: readonly ParamSpec[]): string[][] {
  return specs.map((p) => [
    p.name,
    String(p.default),
    rangeText(p),
    p.unit || "-",
    `${p.description}${p.source ? ` (source: ${p.source})` : ""}`,
  ]);
}

const PARAM_HEADER = ["name", "default", "range", "unit", "meaning (source)"];

/**
 * The text of `list`.
 *
 * @example Usage
 * ```ts ignore
 * import { listText } from "./list.ts";
 * console.log(listText());
 * ```
 */
export function listText(): string {
  const out: string[] = [];
  out.push("Schemes (--scheme):");
  out.push(
    ...table(
      ["id", "status", "title"],
      SCHEMES.map((s) => [s.info.id, s.info.status, s.info.title]),
      "  ",
    ),
  );
  for (const s of SCHEMES) {
    out.push("", `  ${s.info.id} (${s.info.kernel}): ${s.info.summary}`);
    out.push(`    sources: ${s.info.sources.join("; ")}`);
    out.push(
      `    owns caches ${s.info.ownedCaches.join(", ")}; lock classes ${
        s.info.ownedLockClasses.join(", ")
      }`,
    );
    for (const l of s.info.locking) out.push(`    locks ${l.lockClass} (${l.kind}): ${l.takenFor}`);
  }
  out.push("");
  out.push("Workloads (--workload) and their parameters (--param NAME=VALUE):");
  if (WORKLOADS.length === 0) out.push("  (none registered)");
  for (const w of WORKLOADS) {
    out.push("", `  ${w.id}: ${w.title}`);
    out.push(`    ${w.description}`);
    if (w.params.length === 0) out.push("    (no parameters)");
    else out.push(...table(PARAM_HEADER, paramRows(w.params), "    "));
  }
  out.push("");
  out.push("Machine parameters (--machine NAME=VALUE or --param machine.NAME=VALUE):");
  out.push(...table(PARAM_HEADER, paramRows(MACHINE_PARAM_SPECS), "  "));
  out.push("");
  out.push("Kernel parameters (--param kernel.NAME=VALUE):");
  out.push(...table(PARAM_HEADER, paramRows(KERNEL_PARAM_SPECS), "  "));
  out.push("");
  out.push("Cost profiles (--cost-profile NAME or FILE.json; --cost KEY=NS overrides one figure):");
  for (const [name, p] of Object.entries(COST_PROFILES)) {
    const work = Object.entries(p.workNs).map(([k, v]) => `${k}=${v}`).join(" ");
    out.push(
      `  ${name}: lockAcquireNs=${p.lockAcquireNs} lockReleaseNs=${p.lockReleaseNs} ` +
        `contextSwitchNs=${p.contextSwitchNs} wakeupNs=${p.wakeupNs} ` +
        `rcuGracePeriodNs=${p.rcuGracePeriodNs}`,
    );
    out.push(`    workNs: ${work}`);
  }
  return out.join("\n") + "\n";
}

/**
 * The JSON of `list --json`.
 *
 * @example Usage
 * ```ts ignore
 * import { listJson } from "./list.ts";
 * console.log(listJson());
 * ```
 */
export function listJson(): string {
  return JSON.stringify(
    {
      schemes: SCHEMES.map((s) => s.info),
      workloads: WORKLOADS.map((w) => ({
        id: w.id,
        title: w.title,
        description: w.description,
        params: w.params,
      })),
      machineParams: MACHINE_PARAM_SPECS,
      kernelParams: KERNEL_PARAM_SPECS,
      costProfiles: COST_PROFILES,
    },
    null,
    2,
  ) + "\n";
}
