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
import { Distribution, type DistributionSummary } from "../lib/stats.ts";
import { LockState, type ReaderWakeup } from "./lock_state.ts";
import { LOCK_SLOT } from "./lock_slot.ts";
import type { CpuMetrics, LockClassMetrics, OpMetrics, TaskMetrics } from "./metrics.ts";
import {
  type ClassAccumulator,
  type Cpu,
  cpuBusyNs,
  type LockInfo,
  type OpAccumulator,
  type Task,
} from "./machine_types.ts";

/** A lock object with the machine state slot `newLock` gives it. */
type Slotted = Lock & { [LOCK_SLOT]?: MachineLock };

/**
 * The timed machine's state of one lock, owned by one {@link Accounting}: the lock state itself
 * (one object, so the replay reaches the state without another pointer) and its class's
 * accumulator.
 */
class MachineLock extends LockState<Task> implements LockInfo {
  constructor(
    readonly acct: Accounting,
    lock: Lock,
    readerWakeup: ReaderWakeup,
    readonly metrics: ClassAccumulator,
    readonly index: number,
  ) {
    super(lock, readerWakeup);
  }

  /** This object: the state of the lock. */
  get state(): LockState<Task> {
    return this;
  }

  /** `class[i]`: the lock's class and its index among the class's locks (for the trace). */
  get name(): string {
    return `${this.lock.lockClass}[${this.index}]`;
  }
}

/** A grant of a lock of class `m` (a read one when `read`) after a wait of `waited` ns. */
export function noteGrant(m: ClassAccumulator, read: boolean, waited: number): void {
  if (read) m.readAcquisitions++;
  else m.writeAcquisitions++;
  (read ? m.readWait : m.writeWait).add(waited);
  m.waitSum += waited;
  if (waited > 0) m.contended++;
}

/** A release of a lock of class `m` held `holdNs` (a write hold when `write`) for `units` of work. */
export function noteRelease(
  m: ClassAccumulator,
  write: boolean,
  holdNs: number,
  units: number,
): void {
  (write ? m.writeHold : m.readHold).add(holdNs);
  m.holdSum += holdNs;
  if (units > m.maxWorkPerHold) m.maxWorkPerHold = units;
}

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
  readonly #readerWakeup: ReaderWakeup;
  #locks = new WeakMap<Lock, LockInfo>();
  #classes = new Map<string, ClassAccumulator>();
  #lastClassName: string | null = null;
  #lastClass: ClassAccumulator | null = null;
  #ops = new Map<OpKind, OpAccumulator>();
  /** The accumulators of `#ops` by OP_KINDS index (holes for kinds not seen yet). */
  #opAt: (OpAccumulator | undefined)[] = OP_KINDS.map(() => undefined);

  /** Creates empty accounting; lock states wake queued readers as `readerWakeup` says. */
  constructor(readerWakeup: ReaderWakeup) {
    this.#readerWakeup = readerWakeup;
  }

  /** The state of `lock`, created (and named `class[i]`) on first use. */
  lockInfo(lock: Lock): LockInfo {
    const slot = (lock as Slotted)[LOCK_SLOT];
    if (slot !== undefined && slot.acct === this) return slot;
    return this.#otherInfo(lock, slot);
  }

  /**
   * The state of a lock whose slot does not hold this machine's: kept in the slot when it is free,
   * else (the lock is used by another machine too, or cannot take the slot) in a weak map. A lock
   * found with a free slot that can take one is in no map (it would have taken the slot when its
   * state was made: slots are never cleared), so only the others are looked up there.
   */
  #otherInfo(lock: Lock, slot: MachineLock | undefined): LockInfo {
    const free = slot === undefined && (LOCK_SLOT in lock || Object.isExtensible(lock));
    if (!free) {
      const info = this.#locks.get(lock);
      if (info) return info;
    }
    const a = this.#classMetrics(lock);
    const made = new MachineLock(this, lock, this.#readerWakeup, a, a.locks++);
    if (free) (lock as Slotted)[LOCK_SLOT] = made;
    else this.#locks.set(lock, made);
    return made;
  }

  #classMetrics(lock: Lock): ClassAccumulator {
    const cls = lock.lockClass;
    // One-entry cache: new locks come in runs of one class (anon_vma roots).
    if (cls === this.#lastClassName) return this.#lastClass!;
    let a = this.#classes.get(cls);
    if (!a) {
      a = {
        kind: lock.kind,
        locks: 0,
        readAcquisitions: 0,
        writeAcquisitions: 0,
        trylockFailures: 0,
        contended: 0,
        lateTrylocks: 0,
        holdSum: 0,
        readHold: new Distribution(),
        writeHold: new Distribution(),
        waitSum: 0,
        readWait: new Distribution(),
        writeWait: new Distribution(),
        maxWorkPerHold: 0,
      };
      this.#classes.set(cls, a);
    }
    this.#lastClassName = cls;
    this.#lastClass = a;
    return a;
  }

  /** The accumulator of operation kind `kind`, created on first use. */
  op(kind: OpKind): OpAccumulator {
    let a = this.#ops.get(kind);
    if (!a) {
      a = { count: 0, latency: new Distribution(), lockWait: new Distribution() };
      this.#ops.set(kind, a);
      this.#opAt[OP_KINDS.indexOf(kind)] = a;
    }
    return a;
  }

  /** {@link Accounting.op} of the kind at index `i` of OP_KINDS, without the map lookup. */
  opAt(i: number): OpAccumulator {
    return this.#opAt[i] ?? this.op(OP_KINDS[i]);
  }

  /**
   * Per lock class figures, classes in the order they were first seen; `workUnderLock(cls)` gives
   * the work replayed under the locks of class `cls` (the machine keeps it; see `Machine.metrics`).
   */
  lockMetrics(
    workUnderLock: (cls: string) => Partial<Record<WorkKind, number>> = () => ({}),
  ): Record<string, LockClassMetrics> {
    const locks: Record<string, LockClassMetrics> = {};
    for (const [cls, a] of this.#classes) {
      locks[cls] = {
        kind: a.kind,
        readAcquisitions: a.readAcquisitions,
        writeAcquisitions: a.writeAcquisitions,
        trylockFailures: a.trylockFailures,
        contended: a.contended,
        lateTrylocks: a.lateTrylocks,
        holdNs: unionSummary(a.readHold, a.writeHold, a.holdSum),
        readHoldNs: a.readHold.summary(),
        writeHoldNs: a.writeHold.summary(),
        waitNs: unionSummary(a.readWait, a.writeWait, a.waitSum),
        readWaitNs: a.readWait.summary(),
        writeWaitNs: a.writeWait.summary(),
        workUnderLock: workUnderLock(cls),
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
 * The summary of the samples of `a` and `b` together, with `sum` (the sum of the samples in
 * their arrival order, which a sum taken in another order could miss in the last bit) as the
 * sum and the mean from it: the same figures as one distribution that got every sample.
 */
function unionSummary(a: Distribution, b: Distribution, sum: number): DistributionSummary {
  const all = new Distribution(Math.max(1, a.count + b.count)).merge(a).merge(b);
  const s = all.summary();
  s.sum = sum;
  s.mean = s.count === 0 ? 0 : sum / s.count;
  return s;
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
    const busyNs = cpuBusyNs(c, now);
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
