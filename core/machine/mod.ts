/**
 * The simulated machine: the {@link Exec} interface the kernel reports to, the untimed
 * {@link CountingExec}, and the timed {@link Machine} with its cost model, locks, scheduler, RCU
 * and metrics.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @example Usage
 * ```ts
 * import { Machine, newLock, UNIT_COST_PROFILE } from "./mod.ts";
 * const m = new Machine({ cpus: 1, costs: UNIT_COST_PROFILE });
 * const l = newLock("mmap_lock", "rwsem");
 * let done = false;
 * m.addTask({
 *   id: 1,
 *   name: "app",
 *   kind: "user",
 *   next: () => {
 *     if (done) return null;
 *     done = true;
 *     return {
 *       op: "mmap",
 *       run: () => {
 *         m.exec.acquire(l, "write");
 *         m.exec.work("vma_lookup", 3);
 *         m.exec.release(l, "write");
 *       },
 *     };
 *   },
 * });
 * m.run();
 * if (m.now !== 3) throw new Error("unexpected");
 * ```
 *
 * @module
 */

export * from "./exec.ts";
export * from "./cost_model.ts";
export * from "./event_queue.ts";
export * from "./lock_state.ts";
export * from "./metrics.ts";
export * from "./machine.ts";
