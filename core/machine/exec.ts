/**
 * The execution interface between the simulated kernel and the simulated machine.
 *
 * The kernel core and every rmap scheme describe what they do (work of a named kind, lock
 * acquisitions and releases, RCU-deferred frees) through an {@link Exec}. The kernel applies an
 * operation's state change atomically when the operation starts (its linearisation point); the
 * machine turns the recorded steps into time, waits and contention. An untimed run uses
 * {@link CountingExec}, which only counts.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

/** Lock modes. A spinlock or mutex is always taken in `"write"` mode. */
export type LockMode = "read" | "write";

/** What kind of lock an object is. */
export type LockKind = "rwsem" | "spinlock" | "mutex";

/**
 * Kinds of primitive work. The cost model gives each a price in nanoseconds; the figures that do
 * not depend on the cost model count units of these kinds.
 */
export const WORK_KINDS = [
  "slab_alloc",
  "slab_free",
  "tree_visit",
  "tree_update",
  "list_op",
  "pt_level",
  "pte_check",
  "pte_update",
  "vma_lookup",
  "page_copy",
  "page_zero",
  "rcu_op",
  "cache_miss",
] as const;

/** One kind of primitive work (see {@link WORK_KINDS}). */
export type WorkKind = typeof WORK_KINDS[number];

/** Kinds of operations whose latency is recorded. */
export const OP_KINDS = [
  "mmap",
  "munmap",
  "mprotect",
  "mremap",
  "brk",
  "madvise",
  "fork",
  "execve",
  "exit",
  "fault",
  "walk_referenced",
  "walk_unmap",
  "walk_migrate",
] as const;

/** One kind of operation (see {@link OP_KINDS}). */
export type OpKind = typeof OP_KINDS[number];

/**
 * A lock object. `lockClass` groups locks for statistics (for example every anon_vma root rwsem
 * is class `"anon_vma.root"`); `id` identifies this instance.
 */
export interface Lock {
  /** Unique id of this lock instance within a run. */
  readonly id: number;
  /** Class used to aggregate statistics, e.g. `"anon_vma.root"`, `"mmap_lock"`. */
  readonly lockClass: string;
  /** Semantics of the lock. */
  readonly kind: LockKind;
}

let nextLockId = 1;

/**
 * Creates a lock object with a fresh id.
 *
 * @example Usage
 * ```ts
 * import { newLock } from "./exec.ts";
 * const l = newLock("anon_vma.root", "rwsem");
 * if (l.kind !== "rwsem") throw new Error("unexpected");
 * ```
 */
export function newLock(lockClass: string, kind: LockKind): Lock {
  return { id: nextLockId++, lockClass, kind };
}

/** Counters per lock class, independent of any cost model. */
export interface LockClassCounters {
  /** Acquisitions in read mode. */
  readAcquisitions: number;
  /** Acquisitions in write mode (spinlocks and mutexes count here). */
  writeAcquisitions: number;
  /** Trylock attempts that failed. */
  trylockFailures: number;
  /** Units of work done while a lock of this class was held, by work kind. */
  workUnderLock: Partial<Record<WorkKind, number>>;
  /** Largest number of work units done during one hold. */
  maxWorkPerHold: number;
}

/**
 * What the kernel core and the schemes report to the machine.
 */
export interface Exec {
  /** Starts an operation of a task. Operations do not nest. */
  beginOp(kind: OpKind, taskId: number): void;
  /** Ends the current operation. */
  endOp(): void;
  /**
   * Acquires `lock` in `mode`. With `tryLock`, returns false (and takes nothing) when the lock
   * cannot be taken at once; otherwise always returns true (the machine accounts any wait).
   */
  acquire(lock: Lock, mode: LockMode, tryLock?: boolean): boolean;
  /** Releases a lock taken by {@link Exec.acquire}. */
  release(lock: Lock, mode: LockMode): void;
  /** Records `units` of primitive work of `kind`. */
  work(kind: WorkKind, units?: number): void;
  /** Enters an RCU read-side critical section. */
  rcuReadLock(): void;
  /** Leaves an RCU read-side critical section. */
  rcuReadUnlock(): void;
  /** Runs `fn` (typically a free) after an RCU grace period. */
  callRcu(fn: () => void): void;
}

/** Totals kept by {@link CountingExec}. */
export interface ExecCounters {
  /** Per lock class counters. */
  locks: Record<string, LockClassCounters>;
  /** Total work units by kind, under a lock or not. */
  work: Partial<Record<WorkKind, number>>;
  /** Operations by kind. */
  ops: Partial<Record<OpKind, number>>;
  /** Grace periods completed. */
  gracePeriods: number;
}

function emptyLockCounters(): LockClassCounters {
  return {
    readAcquisitions: 0,
    writeAcquisitions: 0,
    trylockFailures: 0,
    workUnderLock: {},
    maxWorkPerHold: 0,
  };
}

interface Hold {
  lock: Lock;
  mode: LockMode;
  units: number;
  counters: LockClassCounters;
}

/**
 * An untimed {@link Exec}: operations never overlap, so every lock is free when asked for,
 * trylocks succeed, and an RCU grace period ends when the operation that queued the callback ends
 * (no reader can still be inside). It counts acquisitions and the work done under each lock
 * class; the timed machine in `core/machine/` builds on the same counters.
 *
 * @example Usage
 * ```ts
 * import { CountingExec, newLock } from "./exec.ts";
 * const ex = new CountingExec();
 * const l = newLock("anon_vma.root", "rwsem");
 * ex.beginOp("fork", 1);
 * ex.acquire(l, "write");
 * ex.work("tree_update", 2);
 * ex.release(l, "write");
 * ex.endOp();
 * if (ex.counters.locks["anon_vma.root"].workUnderLock.tree_update !== 2) throw new Error();
 * ```
 */
export class CountingExec implements Exec {
  /** Everything counted so far. */
  readonly counters: ExecCounters = { locks: {}, work: {}, ops: {}, gracePeriods: 0 };
  #held: Hold[] = [];
  #rcuQueue: (() => void)[] = [];
  #rcuDepth = 0;
  #inOp = false;

  /** Lock classes currently held, innermost last (for assertions in tests). */
  get heldClasses(): string[] {
    return this.#held.map((h) => h.lock.lockClass);
  }

  /** Counters of one lock class, created on first use. */
  lockCounters(lockClass: string): LockClassCounters {
    return (this.counters.locks[lockClass] ??= emptyLockCounters());
  }

  beginOp(kind: OpKind, _taskId: number): void {
    if (this.#inOp) throw new Error(`operation ${kind} started inside another operation`);
    this.#inOp = true;
    this.counters.ops[kind] = (this.counters.ops[kind] ?? 0) + 1;
  }

  endOp(): void {
    if (this.#held.length > 0) {
      throw new Error(
        `operation ended with locks held: ${this.#held.map((h) => h.lock.lockClass).join(", ")}`,
      );
    }
    this.#inOp = false;
    this.flushRcu();
  }

  /** Completes a grace period: runs every queued RCU callback. */
  flushRcu(): void {
    if (this.#rcuQueue.length === 0) return;
    const q = this.#rcuQueue;
    this.#rcuQueue = [];
    for (const fn of q) fn();
    this.counters.gracePeriods++;
  }

  acquire(lock: Lock, mode: LockMode, tryLock = false): boolean {
    const c = this.lockCounters(lock.lockClass);
    const existing = this.#held.find((h) => h.lock === lock);
    if (existing) {
      if (tryLock && (existing.mode === "write" || mode === "write")) {
        c.trylockFailures++;
        return false;
      }
      throw new Error(`recursive acquisition of ${lock.lockClass} #${lock.id}`);
    }
    if (mode === "read") c.readAcquisitions++;
    else c.writeAcquisitions++;
    this.#held.push({ lock, mode, units: 0, counters: c });
    return true;
  }

  release(lock: Lock, mode: LockMode): void {
    const i = this.#held.findIndex((h) => h.lock === lock);
    if (i < 0) throw new Error(`release of ${lock.lockClass} #${lock.id} which is not held`);
    const h = this.#held[i];
    if (h.mode !== mode) throw new Error(`release of ${lock.lockClass} in the wrong mode`);
    if (h.units > h.counters.maxWorkPerHold) h.counters.maxWorkPerHold = h.units;
    this.#held.splice(i, 1);
  }

  work(kind: WorkKind, units = 1): void {
    if (units === 0) return;
    this.counters.work[kind] = (this.counters.work[kind] ?? 0) + units;
    for (let i = 0; i < this.#held.length; i++) {
      const h = this.#held[i];
      h.units += units;
      const w = h.counters.workUnderLock;
      w[kind] = (w[kind] ?? 0) + units;
    }
  }

  rcuReadLock(): void {
    this.#rcuDepth++;
  }

  rcuReadUnlock(): void {
    if (this.#rcuDepth === 0) throw new Error("rcu_read_unlock without rcu_read_lock");
    this.#rcuDepth--;
  }

  callRcu(fn: () => void): void {
    this.work("rcu_op");
    if (this.#inOp) this.#rcuQueue.push(fn);
    else fn();
  }
}
