/**
 * The workload registry: a new workload family is one new file plus one entry here.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import type { Workload } from "./workload.ts";
import { FORK_STORM } from "./fork_storm.ts";
import { ANDROID_LAUNCH } from "./android_launch.ts";
import { REFLINK_SHARE } from "./reflink_share.ts";
import { TRACE_REPLAY } from "./trace_replay.ts";
import { MREMAP_CHURN } from "./mremap_churn.ts";
import { SERVER_PREFORK } from "./server_prefork.ts";
import { COW_ADVERSARIAL } from "./cow_adversarial.ts";
import { KSM_MERGE } from "./ksm_merge.ts";

/** Every workload family, in presentation order. */
export const WORKLOADS: readonly Workload[] = [
  FORK_STORM,
  ANDROID_LAUNCH,
  REFLINK_SHARE,
  TRACE_REPLAY,
  MREMAP_CHURN,
  SERVER_PREFORK,
  COW_ADVERSARIAL,
  KSM_MERGE,
];

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
