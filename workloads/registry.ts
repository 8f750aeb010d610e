/**
 * The workload registry: a new workload family is one new file plus one entry here.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import type { Workload } from "./workload.ts";

/** Every workload family, in presentation order. */
export const WORKLOADS: readonly Workload[] = [];

/** Workload ids. */
export function workloadIds(): string[] {
  return WORKLOADS.map((w) => w.id);
}

/**
 * Looks a workload up by id; an unknown id is a one-line error listing the valid ones.
 *
 * @example Usage
 * ```ts ignore
 * import { getWorkload } from "./registry.ts";
 * getWorkload("fork-storm");
 * ```
 */
export function getWorkload(id: string): Workload {
  const w = WORKLOADS.find((x) => x.id === id);
  if (!w) throw new RangeError(`Unknown workload "${id}"; valid: ${workloadIds().join(", ")}`);
  return w;
}
