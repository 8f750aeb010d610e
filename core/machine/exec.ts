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

import { LOCK_SLOT } from "./lock_slot.ts";
import { grownHeld, SlotTallies } from "./tally.ts";

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

/**
 * Kinds of operations whose latency is recorded. New kinds go at the end: a kind's index is its
 * operand in the step encoding (machine_types.ts `OP_INDEX`), and the reports list kinds in this
 * order.
 */
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
  "mlock",
  "userfaultfd",
  // One wake of ksmd (`ksm_do_scan`, mm/ksm.c): a kernel thread's scan, not a system call.
  "ksm_scan",
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
  // The slot holds a timed machine's state of the lock (see `lock_slot.ts`).
  return { id: nextLockId++, lockClass, kind, [LOCK_SLOT]: undefined } as Lock;
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

/** Index of each known work kind in {@link WORK_KINDS}; other kinds are appended on first use. */
const workIndex = new Map<string, number>(WORK_KINDS.map((k, i) => [k, i]));
const workNames: string[] = [...WORK_KINDS];

/**
 * The index of work kind `kind` in the work-kind table shared by every {@link CountingExec} and
 * machine: the position in {@link WORK_KINDS} for a known kind; a kind outside it gets the next
 * free index on first use.
 *
 * @example Usage
 * ```ts
 * import { workKindIndex, workKindName } from "./exec.ts";
 * if (workKindName(workKindIndex("tree_visit")) !== "tree_visit") throw new Error();
 * ```
 */
export function workKindIndex(kind: string): number {
  // The known kinds by a switch on the (internalised) literal: pointer compares once optimised,
  // folded away where the call is inlined with a literal kind; cheaper than a map lookup per
  // call. The indices are those of WORK_KINDS (pinned by a test).
  switch (kind) {
    case "slab_alloc":
      return 0;
    case "slab_free":
      return 1;
    case "tree_visit":
      return 2;
    case "tree_update":
      return 3;
    case "list_op":
      return 4;
    case "pt_level":
      return 5;
    case "pte_check":
      return 6;
    case "pte_update":
      return 7;
    case "vma_lookup":
      return 8;
    case "page_copy":
      return 9;
    case "page_zero":
      return 10;
    case "rcu_op":
      return 11;
    case "cache_miss":
      return 12;
  }
  return otherKindIndex(kind);
}

/** {@link workKindIndex} of a kind outside {@link WORK_KINDS}: appended on first use. */
function otherKindIndex(kind: string): number {
  let i = workIndex.get(kind);
  if (i === undefined) {
    i = workNames.length;
    workIndex.set(kind, i);
    workNames.push(kind);
  }
  return i;
}

/**
 * The work kind at index `index` of the shared work-kind table (see {@link workKindIndex}).
 *
 * @example Usage
 * ```ts
 * import { workKindName } from "./exec.ts";
 * if (workKindName(0) !== "slab_alloc") throw new Error();
 * ```
 */
export function workKindName(index: number): WorkKind {
  return workNames[index] as WorkKind;
}

/**
 * Totals by work kind, in typed-array counters indexed by {@link workKindIndex}, that remember
 * the order in which kinds were first counted (the key order of {@link WorkTally.record}).
 *
 * @example Usage
 * ```ts
 * import { WorkTally, workKindIndex } from "./exec.ts";
 * const t = new WorkTally();
 * t.add(workKindIndex("list_op"), 2);
 * t.add(workKindIndex("slab_alloc"), 1);
 * if (Object.keys(t.record()).join() !== "list_op,slab_alloc") throw new Error();
 * ```
 */
export class WorkTally {
  /** Units by work-kind index. */
  units: Float64Array = new Float64Array(WORK_KINDS.length);
  /** Work-kind indices in the order they were first counted. */
  readonly order: number[] = [];

  /** Adds `units` of the work kind at index `k`. */
  add(k: number, units: number): void {
    // Small enough to be inlined at every call site: a kind already counted (a positive total)
    // takes the first branch; anything else (first count, a kind past the end) the second.
    const u = this.units;
    const v = u[k];
    if (v > 0) u[k] = v + units;
    else this.#addSlow(k, units);
  }

  #addSlow(k: number, units: number): void {
    let u = this.units;
    if (k >= u.length) u = this.#grow(k);
    const v = u[k];
    if (v === 0 && !this.order.includes(k)) this.order.push(k);
    u[k] = v + units;
  }

  #grow(k: number): Float64Array {
    const u = new Float64Array(Math.max(k + 1, this.units.length * 2));
    u.set(this.units);
    return this.units = u;
  }

  /** The totals as a record keyed by work kind, kinds in the order first counted. */
  record(): Partial<Record<WorkKind, number>> {
    const out: Partial<Record<WorkKind, number>> = {};
    for (const k of this.order) out[workNames[k] as WorkKind] = this.units[k];
    return out;
  }
}

/**
 * The live counters of one lock class kept by {@link CountingExec}: plain fields, and the work
 * done under the class's locks (slot `slot` of the exec's {@link SlotTallies}) read through
 * `workUnderLock`.
 */
class ClassCounters implements LockClassCounters {
  readAcquisitions = 0;
  writeAcquisitions = 0;
  trylockFailures = 0;
  maxWorkPerHold = 0;

  constructor(readonly tallies: SlotTallies, readonly slot: number) {}

  get workUnderLock(): Partial<Record<WorkKind, number>> {
    return this.tallies.record(this.slot);
  }

  /** A plain copy, fields in the order of {@link LockClassCounters}. */
  plain(): LockClassCounters {
    return {
      readAcquisitions: this.readAcquisitions,
      writeAcquisitions: this.writeAcquisitions,
      trylockFailures: this.trylockFailures,
      workUnderLock: this.workUnderLock,
      maxWorkPerHold: this.maxWorkPerHold,
    };
  }
}

/** Index of each operation kind in {@link OP_KINDS}. */
const opIndex = new Map<string, number>(OP_KINDS.map((k, i) => [k, i]));

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
  #classes = new Map<string, ClassCounters>();
  #lastClassName: string | null = null;
  #lastClass: ClassCounters | null = null;
  /** Total work (slot 0) and work under each lock class (a slot per class). */
  #tallies = new SlotTallies();
  /** Slot 0 of `#tallies`: the total work, under a lock or not. */
  readonly #total = this.#tallies.newSlot();
  /**
   * The part of `#tallies` a timed machine does not replay (see
   * {@link CountingExec.countWorkUntimed}), slot for slot: every slot is made in both.
   */
  #untimed = new SlotTallies();
  readonly #untimedTotal = this.#untimed.newSlot(); // the same slot number as #total (0)
  /** Operation counts by kind; kinds outside OP_KINDS in `#extraOps`. */
  #ops = new Float64Array(OP_KINDS.length);
  #opOrder: string[] = [];
  #extraOps = new Map<string, number>();
  #gracePeriods = 0;
  // The locks held, innermost last, as parallel arrays (no record per acquisition).
  #heldLocks: Lock[] = [];
  #heldWrite: boolean[] = [];
  /** Work done so far under each held lock (grown by doubling). */
  #heldUnits = new Float64Array(8);
  #heldClass: ClassCounters[] = [];
  /** The held lock's class's slot in `#tallies`. */
  #heldSlot = new Int32Array(8);
  #nheld = 0;
  #rcuQueue: (() => void)[] = [];
  #rcuDepth = 0;
  #inOp = false;

  /**
   * Everything counted so far, as plain data built on each read (locks in the order their classes
   * were first used, work and operation kinds in the order first counted).
   */
  get counters(): ExecCounters {
    const locks: Record<string, LockClassCounters> = {};
    for (const [cls, c] of this.#classes) locks[cls] = c.plain();
    const ops: Partial<Record<OpKind, number>> = {};
    for (const kind of this.#opOrder) {
      const i = opIndex.get(kind);
      ops[kind as OpKind] = i === undefined ? this.#extraOps.get(kind)! : this.#ops[i];
    }
    const work = this.#tallies.record(this.#total);
    return { locks, work, ops, gracePeriods: this.#gracePeriods };
  }

  /** Lock classes currently held, innermost last (for assertions in tests). */
  get heldClasses(): string[] {
    return this.#heldLocks.slice(0, this.#nheld).map((l) => l.lockClass);
  }

  /** Live counters of one lock class, created on first use. */
  lockCounters(lockClass: string): LockClassCounters {
    return this.#classOf(lockClass);
  }

  #classOf(lockClass: string): ClassCounters {
    // One-entry cache: runs of acquisitions of one class (anon_vma roots in a fork) are common.
    if (lockClass === this.#lastClassName) return this.#lastClass!;
    let c = this.#classes.get(lockClass);
    if (c === undefined) {
      c = new ClassCounters(this.#tallies, this.#tallies.newSlot());
      this.#untimed.newSlot();
      this.#classes.set(lockClass, c);
    }
    this.#lastClassName = lockClass;
    this.#lastClass = c;
    return c;
  }

  /** Counts one operation of `kind` (what {@link CountingExec.beginOp} counts). */
  countOp(kind: OpKind): void {
    const i = opIndex.get(kind);
    if (i !== undefined) {
      const v = this.#ops[i];
      if (v === 0) this.#opOrder.push(kind);
      this.#ops[i] = v + 1;
    } else {
      const v = this.#extraOps.get(kind);
      if (v === undefined) this.#opOrder.push(kind);
      this.#extraOps.set(kind, (v ?? 0) + 1);
    }
  }

  /** Counts a failed trylock of a lock of class `lockClass`. */
  countTrylockFailure(lockClass: string): void {
    this.#classOf(lockClass).trylockFailures++;
  }

  beginOp(kind: OpKind, _taskId: number): void {
    if (this.#inOp) throw new Error(`operation ${kind} started inside another operation`);
    this.#inOp = true;
    this.countOp(kind);
  }

  endOp(): void {
    if (this.#nheld > 0) {
      throw new Error(`operation ended with locks held: ${this.heldClasses.join(", ")}`);
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
    this.#gracePeriods++;
  }

  acquire(lock: Lock, mode: LockMode, tryLock = false): boolean {
    const c = this.#classOf(lock.lockClass);
    const locks = this.#heldLocks;
    const n = this.#nheld;
    for (let i = 0; i < n; i++) {
      if (locks[i] !== lock) continue;
      if (tryLock && (this.#heldWrite[i] || mode === "write")) {
        c.trylockFailures++;
        return false;
      }
      throw new Error(`recursive acquisition of ${lock.lockClass} #${lock.id}`);
    }
    const write = mode !== "read";
    if (write) c.writeAcquisitions++;
    else c.readAcquisitions++;
    if (n === this.#heldSlot.length) {
      const g = grownHeld(this.#heldSlot, this.#heldUnits);
      this.#heldSlot = g.slots;
      this.#heldUnits = g.units;
    }
    locks[n] = lock;
    this.#heldWrite[n] = write;
    this.#heldUnits[n] = 0;
    this.#heldClass[n] = c;
    this.#heldSlot[n] = c.slot;
    this.#nheld = n + 1;
    return true;
  }

  release(lock: Lock, mode: LockMode): void {
    this.releaseUnits(lock, mode);
  }

  /** {@link CountingExec.release}, returning the units of work done while `lock` was held. */
  releaseUnits(lock: Lock, mode: LockMode): number {
    const locks = this.#heldLocks;
    const n = this.#nheld;
    let i = n - 1;
    while (i >= 0 && locks[i] !== lock) i--;
    if (i < 0) throw new Error(`release of ${lock.lockClass} #${lock.id} which is not held`);
    if (this.#heldWrite[i] !== (mode !== "read")) {
      throw new Error(`release of ${lock.lockClass} in the wrong mode`);
    }
    const c = this.#heldClass[i];
    const units = this.#heldUnits[i];
    if (units > c.maxWorkPerHold) c.maxWorkPerHold = units;
    for (let j = i + 1; j < n; j++) {
      locks[j - 1] = locks[j];
      this.#heldWrite[j - 1] = this.#heldWrite[j];
      this.#heldUnits[j - 1] = this.#heldUnits[j];
      this.#heldClass[j - 1] = this.#heldClass[j];
      this.#heldSlot[j - 1] = this.#heldSlot[j];
    }
    locks[n - 1] = undefined as unknown as Lock;
    this.#heldClass[n - 1] = undefined as unknown as ClassCounters;
    this.#nheld = n - 1;
    return units;
  }

  work(kind: WorkKind, units = 1): void {
    if (units === 0) return;
    this.countWork(workKindIndex(kind), units);
  }

  /** {@link CountingExec.work} by work-kind index (see {@link workKindIndex}); `units` != 0. */
  countWork(k: number, units: number): void {
    // The total, then the class of each lock held.
    this.#tallies.addHeld(this.#total, k, units, this.#heldSlot, this.#heldUnits, this.#nheld);
  }

  /**
   * {@link CountingExec.countWork} of work a timed machine does not replay (work outside an
   * operation), also kept apart so that {@link CountingExec.timedWork} can leave it out.
   */
  countWorkUntimed(k: number, units: number): void {
    this.countWork(k, units);
    this.#untimed.add(this.#untimedTotal, k, units);
    for (let i = 0; i < this.#nheld; i++) this.#untimed.add(this.#heldSlot[i], k, units);
  }

  /**
   * Moves `units` of the kind at index `k`, already counted as done under the locks of
   * `classes`, to the untimed part (work of an operation the timed machine dropped).
   */
  markUntimed(k: number, units: number, classes: readonly string[]): void {
    this.#untimed.add(this.#untimedTotal, k, units);
    for (const cls of classes) this.#untimed.add(this.#classOf(cls).slot, k, units);
  }

  /**
   * The work counted so far less its untimed part and less `less` (units by work-kind index),
   * kinds in the order first counted, none left at 0: the total when `lockClass` is null, else
   * the work under the locks of that class ({} for a class never used). Exact for whole units.
   */
  timedWork(
    lockClass: string | null,
    less: ArrayLike<number> | undefined,
  ): Partial<Record<WorkKind, number>> {
    const out: Partial<Record<WorkKind, number>> = {};
    let s = this.#total;
    if (lockClass !== null) {
      const c = this.#classes.get(lockClass);
      if (c === undefined) return out;
      s = c.slot;
    }
    const all = this.#tallies.record(s), untimed = this.#untimed.record(s);
    for (const [name, v] of Object.entries(all) as [WorkKind, number][]) {
      const u = v - (untimed[name] ?? 0) - ((less && less[workKindIndex(name)]) || 0);
      if (u !== 0) out[name] = u;
    }
    return out;
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
