/**
 * The timed machine's accumulators: the state and statistics of every lock it has seen, grouped
 * by lock class, the latency of every operation kind, and the work replayed; and their
 * conversion to the plain-data {@link MachineMetrics} parts.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import { type Lock, OP_KINDS, type OpKind, type WorkKind } from "./exec.ts";
import { Distribution } from "../lib/stats.ts";
import { LockState, type ReaderWakeup } from "./lock_state.ts";
import type { CpuMetrics, LockClassMetrics, OpMetrics, TaskMetrics } from "./metrics.ts";
import type { ClassAccumulator, Cpu, LockInfo, OpAccumulator, Task } from "./machine_types.ts";

/**
 * Lock states and per-class and per-operation statistics of one machine.
 *
 * @example Usage
 * ```ts
 * import { Accounting } from "./accounting.ts";
 * import { newLock } from "./exec.ts";
 * const a = new Accounting("head");
 * const info = a.lockInfo(newLock("mmap_lock", "rwsem"));
 * if (info.name !== "mmap_lock[0]") throw new Error();
 * ```
 */
export class Accounting {
  /** Work replayed so far, by kind (in the order kinds were first replayed). */
  readonly work: Partial<Record<WorkKind, number>> = {};
  readonly #readerWakeup: ReaderWakeup;
  #locks = new WeakMap<Lock, LockInfo>();
  #classes = new Map<string, ClassAccumulator>();
  #classIndex = new Map<string, number>();
  #ops = new Map<OpKind, OpAccumulator>();

  /** Creates empty accounting; lock states wake queued readers as `readerWakeup` says. */
  constructor(readerWakeup: ReaderWakeup) {
    this.#readerWakeup = readerWakeup;
  }

  /** The state of `lock`, created (and named `class[i]`) on first use. */
  lockInfo(lock: Lock): LockInfo {
    let info = this.#locks.get(lock);
    if (!info) {
      const idx = this.#classIndex.get(lock.lockClass) ?? 0;
      this.#classIndex.set(lock.lockClass, idx + 1);
      info = {
        state: new LockState<Task>(lock, this.#readerWakeup),
        name: `${lock.lockClass}[${idx}]`,
        metrics: this.#classMetrics(lock),
      };
      this.#locks.set(lock, info);
    }
    return info;
  }

  #classMetrics(lock: Lock): ClassAccumulator {
    let a = this.#classes.get(lock.lockClass);
    if (!a) {
      a = {
        kind: lock.kind,
        readAcquisitions: 0,
        writeAcquisitions: 0,
        trylockFailures: 0,
        contended: 0,
        lateTrylocks: 0,
        hold: new Distribution(),
        readHold: new Distribution(),
        writeHold: new Distribution(),
        wait: new Distribution(),
        readWait: new Distribution(),
        writeWait: new Distribution(),
        workUnderLock: {},
        maxWorkPerHold: 0,
      };
      this.#classes.set(lock.lockClass, a);
    }
    return a;
  }

  /** The accumulator of operation kind `kind`, created on first use. */
  op(kind: OpKind): OpAccumulator {
    let a = this.#ops.get(kind);
    if (!a) {
      a = { count: 0, latency: new Distribution(), lockWait: new Distribution() };
      this.#ops.set(kind, a);
    }
    return a;
  }

  /** Per lock class figures, classes in the order they were first seen. */
  lockMetrics(): Record<string, LockClassMetrics> {
    const locks: Record<string, LockClassMetrics> = {};
    for (const [cls, a] of this.#classes) {
      locks[cls] = {
        kind: a.kind,
        readAcquisitions: a.readAcquisitions,
        writeAcquisitions: a.writeAcquisitions,
        trylockFailures: a.trylockFailures,
        contended: a.contended,
        lateTrylocks: a.lateTrylocks,
        holdNs: a.hold.summary(),
        readHoldNs: a.readHold.summary(),
        writeHoldNs: a.writeHold.summary(),
        waitNs: a.wait.summary(),
        readWaitNs: a.readWait.summary(),
        writeWaitNs: a.writeWait.summary(),
        workUnderLock: { ...a.workUnderLock },
        maxWorkPerHold: a.maxWorkPerHold,
      };
    }
    return locks;
  }

  /** Per operation kind figures, in {@link OP_KINDS} order. */
  opMetrics(): Record<string, OpMetrics> {
    const ops: Record<string, OpMetrics> = {};
    for (const kind of OP_KINDS) {
      const a = this.#ops.get(kind);
      if (a) {
        ops[kind] = {
          count: a.count,
          latencyNs: a.latency.summary(),
          lockWaitNs: a.lockWait.summary(),
        };
      }
    }
    return ops;
  }
}

/**
 * Busy time and utilisation of each CPU at simulated time `now`.
 *
 * @example Usage
 * ```ts
 * import { cpuMetrics } from "./accounting.ts";
 * const m = cpuMetrics([{ id: 0, task: null, lastTask: null, busyNs: 5, busySince: 0 }], 10);
 * if (m[0].utilisation !== 0.5) throw new Error();
 * ```
 */
export function cpuMetrics(cpus: readonly Cpu[], now: number): CpuMetrics[] {
  return cpus.map((c) => {
    const busyNs = c.busyNs + (c.task ? now - c.busySince : 0);
    return { cpu: c.id, busyNs, utilisation: now > 0 ? busyNs / now : 0 };
  });
}

/**
 * Figures of each task at simulated time `now`.
 *
 * @example Usage
 * ```ts
 * import { taskMetrics } from "./accounting.ts";
 * if (taskMetrics([], 0).length !== 0) throw new Error();
 * ```
 */
export function taskMetrics(tasks: readonly Task[], now: number): TaskMetrics[] {
  return tasks.map((t) => ({
    id: t.spec.id,
    name: t.spec.name,
    kind: t.spec.kind,
    ops: t.ops,
    cpuNs: t.cpuNs + (t.cpu ? now - t.cpuSince : 0),
    lockWaitNs: t.lockWaitNs,
    runnableWaitNs: t.runnableWaitNs + (t.state === "runnable" ? now - t.runnableSince : 0),
    finishedAt: t.finishedAt,
  }));
}
