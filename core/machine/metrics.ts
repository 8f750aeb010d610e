/**
 * The figures the timed machine reports: plain, JSON-able objects.
 *
 * Nanosecond figures depend on the cost profile; work-unit figures do not, so results stay
 * comparable when the cost table changes.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import type { DistributionSummary } from "../lib/stats.ts";
import type { LockKind, WorkKind } from "./exec.ts";

/**
 * Summary of a set of samples (count, mean, nearest-rank p50/p90/p99, max, min, sum; all zero
 * when empty). The same shape as `DistributionSummary` of `core/lib/stats.ts`, which records them.
 *
 * @example Usage
 * ```ts
 * import { Distribution } from "../lib/stats.ts";
 * import type { SampleSummary } from "./metrics.ts";
 * const d = new Distribution();
 * for (let i = 1; i <= 100; i++) d.add(i);
 * const s: SampleSummary = d.summary();
 * if (s.p50 !== 50 || s.p90 !== 90 || s.p99 !== 99 || s.max !== 100) throw new Error();
 * ```
 */
export type SampleSummary = DistributionSummary;

/** Timed figures of one lock class. */
export interface LockClassMetrics {
  /** Semantics of the locks in the class (of the first lock seen). */
  kind: LockKind;
  /** Acquisitions granted in read mode. */
  readAcquisitions: number;
  /** Acquisitions granted in write mode (spinlocks and mutexes count here). */
  writeAcquisitions: number;
  /** Trylocks that failed. */
  trylockFailures: number;
  /** Acquisitions that had to wait. */
  contended: number;
  /**
   * Trylocks that succeeded when decided (at dispatch) but found the lock taken when replayed,
   * and waited like a blocking acquisition. Non-zero values measure the approximation of deciding
   * trylocks at dispatch time.
   */
  lateTrylocks: number;
  /**
   * Nanoseconds from grant to release, one sample per hold. A lock handed to a sleeping waiter is
   * held while that waiter wakes up and waits for a CPU, so those holds include `wakeupNs`.
   */
  holdNs: SampleSummary;
  /** `holdNs` of read-mode holds only (rmap walks). */
  readHoldNs: SampleSummary;
  /** `holdNs` of write-mode holds only (tree changes: prepare, clone, fork, unlink). */
  writeHoldNs: SampleSummary;
  /** Nanoseconds from request to grant, one sample per acquisition (zero when uncontended). */
  waitNs: SampleSummary;
  /** `waitNs` of read-mode acquisitions only (e.g. rmap walks waiting behind a writer). */
  readWaitNs: SampleSummary;
  /** `waitNs` of write-mode acquisitions only (e.g. fork or exit waiting behind walks). */
  writeWaitNs: SampleSummary;
  /** Units of work done while a lock of this class was held, by kind. */
  workUnderLock: Partial<Record<WorkKind, number>>;
  /** Largest number of work units done during one hold. */
  maxWorkPerHold: number;
}

/** Timed figures of one operation kind. */
export interface OpMetrics {
  /** Operations completed. */
  count: number;
  /** Nanoseconds from dispatch to completion, including lock waits. */
  latencyNs: SampleSummary;
  /** Nanoseconds spent waiting for locks, one sample per operation. */
  lockWaitNs: SampleSummary;
}

/** Figures of one CPU. */
export interface CpuMetrics {
  /** CPU number. */
  cpu: number;
  /** Nanoseconds the CPU ran a task (including context switches and spinning). */
  busyNs: number;
  /** `busyNs` divided by the elapsed time (0 when no time has elapsed). */
  utilisation: number;
}

/** Figures of one task. */
export interface TaskMetrics {
  /** Task id. */
  id: number;
  /** Task name. */
  name: string;
  /** User process or kernel thread. */
  kind: "user" | "kthread";
  /** Operations completed. */
  ops: number;
  /** Nanoseconds on a CPU. */
  cpuNs: number;
  /** Nanoseconds waiting for locks (request to grant). */
  lockWaitNs: number;
  /** Nanoseconds runnable but waiting for a CPU. */
  runnableWaitNs: number;
  /** Simulated time the task finished, or null while it has not. */
  finishedAt: number | null;
}

/** Everything the machine measured, as plain data. */
export interface MachineMetrics {
  /** Simulated nanoseconds elapsed. */
  elapsedNs: number;
  /**
   * When the last operation so far ended (0 before any): the run's end, without the wake-ups,
   * sleeps and RCU grace periods that may follow it until the machine stops.
   */
  lastOpEndNs: number;
  /** The CPUs' busy time summed at `lastOpEndNs`. */
  busyAtLastOpEndNs: number;
  /** Per lock class. */
  locks: Record<string, LockClassMetrics>;
  /** Per operation kind. */
  ops: Record<string, OpMetrics>;
  /** Per CPU, by CPU number. */
  cpus: CpuMetrics[];
  /** Per task, in order of creation. */
  tasks: TaskMetrics[];
  /** Work units replayed inside operations, by kind (untimed work is in the machine's counters). */
  work: Partial<Record<WorkKind, number>>;
  /** RCU grace periods completed (distinct instants at which callbacks ran). */
  gracePeriods: number;
  /** RCU callbacks run. */
  rcuCallbacks: number;
  /** RCU callbacks still waiting for their grace period. */
  rcuCallbacksPending: number;
  /** When RCU callbacks last ran, ns (-1 if none has). */
  rcuLastCallbackNs: number;
}

/** One line of the optional timeline trace. */
export interface TraceEntry {
  /** Simulated time in nanoseconds. */
  t: number;
  /** CPU number, or null when no CPU is involved (e.g. an RCU callback or a wake-up). */
  cpu: number | null;
  /** Task id, or null for machine events. */
  task: number | null;
  /** What happened, e.g. `"begin fork"`, `"acquire anon_vma.root[0] read"`. */
  event: string;
}
