/**
 * The host probe of `bench:scale`: a fixed amount of memory-bound work whose CPU time says how
 * fast the machine's memory system is at the moment.
 *
 * @module
 */

import process from "node:process";

/** Bytes the host probe reads across: far more than the last-level cache of the machine. */
export const PROBE_BYTES = 64 << 20;
/** Dependent reads the host probe makes. */
export const PROBE_STEPS = 4e6;

/**
 * The host probe: CPU seconds of a fixed chain of dependent random reads over
 * {@link PROBE_BYTES} (one random cycle through an `Int32Array`, built from a fixed seed), in
 * this process (`bench:scale` reads it before each round of (b)). The same work always; its time
 * says how fast the machine's memory system is at the moment. On the 2-vCPU guests this project
 * runs on, a register-only loop keeps its speed to within 5 % whatever the hour, while reads like
 * these take up to twice as long when other guests load the host (performance log, round 27), and
 * (b)'s runs, which chase pointers over half a gigabyte of heap, move with them. Printed beside (b)
 * so that figures of different hours can be read against each other. It does not explain the
 * difference between the two runs of a bench:ab pair (a regression on it gave slopes near 0:
 * performance log, round 27), only the drift between minutes, which pairing already takes out.
 *
 * @example Usage
 * ```ts
 * import { hostProbeSeconds } from "./host_probe.ts";
 * const s = hostProbeSeconds(1 << 16, 1000); // a small probe
 * if (!(s >= 0 && s < 10)) throw new Error("unexpected");
 * ```
 */
export function hostProbeSeconds(bytes = PROBE_BYTES, steps = PROBE_STEPS): number {
  const n = bytes >> 2;
  const next = new Int32Array(n);
  // A random cyclic permutation (Sattolo's shuffle, a fixed LCG): one cycle through every slot.
  for (let i = 0; i < n; i++) next[i] = i;
  let x = 12345;
  for (let i = n - 1; i > 0; i--) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const j = x % i;
    const t = next[i];
    next[i] = next[j];
    next[j] = t;
  }
  const t0 = process.cpuUsage();
  let p = 0;
  for (let k = 0; k < steps; k++) p = next[p];
  const c = process.cpuUsage(t0);
  if (p < 0) throw new Error("unreachable"); // keeps the chain live
  return (c.user + c.system) / 1e6;
}
