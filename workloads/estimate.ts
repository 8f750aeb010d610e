/**
 * Memory estimates of runs, so that a run that cannot fit in the JS heap is refused before it
 * starts instead of dying minutes later with "Invalid array length" or an out-of-memory crash.
 *
 * A workload may expose `estimate(params)`: the peak numbers of live simulated objects the run
 * will hold (VMAs, PTEs, folios, AVCs) and the parameters that drive them. The bytes of JS heap
 * per object ({@link HEAP_BYTES_PER_OBJECT}) are measured by `deno task bench:scale` (part c); the
 * estimate is their weighted sum. It is an estimate of the classic `anon_vma` scheme's heap
 * (the other schemes hold fewer AVCs), meant to catch runs that are off by orders of magnitude,
 * not to predict a run's exact footprint.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import type { ParamValue } from "./workload.ts";

/** Peak numbers of live simulated objects of a run. */
export interface ObjectCounts {
  /** VMAs (each with its anon_vma and first AVC once faulted). */
  vmas: number;
  /** Page-table entries mapping a folio. */
  ptes: number;
  /** Anonymous folios (4 KiB). */
  folios: number;
  /** AVCs (anon_vma_chains), every one of them. */
  avcs: number;
  /** Other heap the workload itself holds, bytes (address lists and the like). */
  workloadBytes: number;
}

/** What a workload's `estimate` returns. */
export interface MemoryEstimate {
  /** Peak live objects. */
  objects: ObjectCounts;
  /** Names of the parameters that drive the estimate, largest effect first. */
  drivers: string[];
}

/**
 * JS heap bytes per simulated object, anon_vma scheme, oracle on: measured with `deno task
 * bench:scale --part c` (heap deltas after `gc()` over 10^5 objects; main at 2026-12-01, after
 * the third round of object compaction and the seven-field anon_vma) and split as follows:
 * - `folios` + `ptes`: a faulted page of a large VMA (138 B: folio, PTE in its PTE page, oracle
 *   mapping), of which `ptes` is what a fork adds per copied PTE of a shared folio (49 B: PTE,
 *   oracle mapping);
 * - `avcs`: a grandchild's fork less a sibling's fork, per AVC it adds (80 B: the AVC and its
 *   slot in the VMA's chain);
 * - `vmas`: a faulted one-page VMA (397 B) less its page and its AVC (the VMA with its gap-tree
 *   links and the anon_vma with its embedded interval-tree root).
 */
export const HEAP_BYTES_PER_OBJECT: Readonly<Omit<ObjectCounts, "workloadBytes">> = {
  vmas: 397 - 138 - 80,
  ptes: 49,
  folios: 138 - 49,
  avcs: 80,
};

/**
 * Estimated JS heap bytes of a run holding `o` at its peak.
 *
 * @example Usage
 * ```ts
 * import { estimatedHeapBytes } from "./estimate.ts";
 * const b = estimatedHeapBytes({ vmas: 0, ptes: 0, folios: 0, avcs: 0, workloadBytes: 10 });
 * if (b !== 10) throw new Error();
 * ```
 */
export function estimatedHeapBytes(o: ObjectCounts): number {
  const c = HEAP_BYTES_PER_OBJECT;
  return o.vmas * c.vmas + o.ptes * c.ptes + o.folios * c.folios + o.avcs * c.avcs +
    o.workloadBytes;
}

/** Bytes as a short human figure (binary units). */
export function formatBytes(b: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
  let i = 0;
  while (b >= 1024 && i < units.length - 1) {
    b /= 1024;
    i++;
  }
  return `${b.toFixed(b < 10 && i > 0 ? 1 : 0)} ${units[i]}`;
}

/**
 * Checks that a run's estimated heap fits under `limitBytes`. Returns null when it fits (or when
 * the workload gives no estimate), else one line (starting with `what`, e.g. "Run X") naming the
 * estimate, the limit and the parameters that drive it.
 *
 * @example Usage
 * ```ts
 * import { fitProblem } from "./estimate.ts";
 * const est = () => ({
 *   objects: { vmas: 1e9, ptes: 0, folios: 0, avcs: 0, workloadBytes: 0 },
 *   drivers: ["regions"],
 * });
 * const line = fitProblem("Run w", { regions: 1e9 }, est, 2 ** 30);
 * if (line === null || !line.includes("regions=1000000000")) throw new Error();
 * ```
 */
export function fitProblem(
  what: string,
  params: Readonly<Record<string, ParamValue>>,
  estimate: ((p: Readonly<Record<string, ParamValue>>) => MemoryEstimate) | undefined,
  limitBytes: number,
): string | null {
  if (!estimate) return null;
  const e = estimate(params);
  const bytes = estimatedHeapBytes(e.objects);
  if (bytes <= limitBytes) return null;
  const drivers = e.drivers.map((d) => `${d}=${params[d]}`).join(", ");
  // Rounded, an estimate just over the limit could read the same as the limit: then both are
  // given in bytes.
  let need = formatBytes(bytes), limit = formatBytes(limitBytes);
  if (need === limit) [need, limit] = [`${Math.ceil(bytes)} B`, `${limitBytes} B`];
  return `${what} would need about ${need} of JS heap, more than the ` +
    `${limit} heap limit; the estimate is driven by ${drivers} (lower them, ` +
    "or raise the limit with --v8-flags=--max-old-space-size=MiB)";
}
