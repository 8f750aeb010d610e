/**
 * The recording side of the timed machine: the {@link Exec} calls the kernel makes while an
 * operation runs are encoded as steps (see `machine_types.ts`) into the dispatched task's
 * buffers, and counted by a {@link CountingExec} (the cost-independent counters). Calls made
 * outside a dispatched operation are only counted. `machine.ts` replays the steps in time.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import {
  CountingExec,
  type Lock,
  type LockMode,
  type OpKind,
  WORK_KINDS,
  type WorkKind,
  workKindIndex,
  workKindName,
} from "./exec.ts";
import type { CostProfile } from "./cost_model.ts";
import {
  type LockInfo,
  OP_INDEX,
  type Recording,
  type Replay,
  S_ACQUIRE,
  S_CALL_RCU,
  S_DELAY,
  S_OP_BEGIN,
  S_OP_END,
  S_RCU_LOCK,
  S_RCU_UNLOCK,
  S_RELEASE,
  S_TRYLOCK_FAIL,
  S_WORK,
} from "./machine_types.ts";

/** What the recorder needs from the machine. */
export interface RecorderHost {
  /** The machine's state of `lock` (created on first use). */
  lockInfo(lock: Lock): LockInfo;
  /** Queues an RCU callback now (untimed context). */
  queueRcu(fn: () => void): void;
}

/**
 * Records the steps of the operation being dispatched.
 *
 * @example Usage
 * ```ts ignore
 * const r = new StepRecorder(costs, host);
 * r.start(task.rp, "fork");
 * r.acquire(lock, "write", false);
 * r.finish(task.rp);
 * ```
 */
export class StepRecorder {
  /** Cost-independent counters of every call (timed or not). */
  readonly counting: CountingExec = new CountingExec();
  /** The recording in progress, or null outside a dispatched operation. */
  rec: Recording | null = null;
  /**
   * Price of each work kind, ns per unit, by work-kind index (see `workKindIndex`; the step
   * encoding's kind operand). A kind without a price is NaN: it takes no time.
   */
  readonly workPrice: number[] = [];
  readonly #costs: CostProfile;
  readonly #host: RecorderHost;
  /** The one recording, reused by every dispatch (only one operation records at a time). */
  #recording: Recording = {
    code: [],
    n: 0,
    refs: [],
    nrefs: 0,
    defaultKind: "mmap",
    open: false,
    explicit: false,
    kind: "mmap",
    segments: 0,
    rcuDepth: 0,
    held: [],
  };

  /** Creates a recorder pricing work with `costs`. */
  constructor(costs: CostProfile, host: RecorderHost) {
    this.#costs = costs;
    this.#host = host;
    this.#priceUpTo(WORK_KINDS.length - 1);
  }

  /** Extends `workPrice` to index `k` (indices of the work-kind table are dense). */
  #priceUpTo(k: number): void {
    const p = this.workPrice;
    const prices = this.#costs.workNs as Readonly<Record<string, number | undefined>>;
    for (let n = p.length; n <= k; n++) p.push(prices[workKindName(n)] ?? NaN);
  }

  /** Starts recording an operation of kind `kind` into the buffers of `rp`. */
  start(rp: Replay, kind: OpKind): Recording {
    const rec = this.#recording;
    rec.code = rp.code;
    rec.n = 0;
    rec.refs = rp.refs;
    rec.nrefs = 0;
    rec.defaultKind = kind;
    rec.open = false;
    rec.explicit = false;
    rec.kind = kind;
    rec.segments = 0;
    rec.rcuDepth = 0;
    rec.held.length = 0;
    this.rec = rec;
    return rec;
  }

  /** Ends the recording (the kernel's operation returned); checks it and closes it. */
  close(): void {
    const rec = this.rec!;
    if (rec.open && rec.explicit) throw new Error(`Operation ${rec.kind} was not ended`);
    if (rec.open) this.#closeOp(rec);
  }

  /** Leaves the recording context; `rp` gets the recorded length, ready to replay. */
  finish(rp: Replay | null): void {
    const rec = this.#recording;
    this.rec = null;
    if (!rp) return;
    rp.n = rec.n;
    rp.nrefs = rec.nrefs;
    rp.pc = 0;
    rp.opKind = null;
    rp.opStart = 0;
    rp.opLockWait = 0;
  }

  #ensureOpen(rec: Recording): void {
    if (rec.open) return;
    this.#openOp(rec, rec.defaultKind, false);
  }

  #openOp(rec: Recording, kind: OpKind, explicit: boolean): void {
    rec.code[rec.n++] = S_OP_BEGIN;
    rec.code[rec.n++] = OP_INDEX[kind];
    rec.open = true;
    rec.explicit = explicit;
    rec.kind = kind;
    rec.segments++;
    this.counting.countOp(kind);
  }

  #closeOp(rec: Recording): void {
    if (rec.held.length > 0) {
      throw new Error(
        `Operation ${rec.kind} ended with locks held: ${
          rec.held.map((l) => l.lockClass).join(", ")
        }`,
      );
    }
    if (rec.rcuDepth > 0) {
      throw new Error(`Operation ${rec.kind} ended inside an RCU read-side section`);
    }
    rec.code[rec.n++] = S_OP_END;
    rec.open = false;
    rec.explicit = false;
  }

  /** `Exec.beginOp`: opens an explicit operation (closing an implicit one). */
  beginOp(kind: OpKind, _taskId: number): void {
    const rec = this.rec;
    if (!rec) {
      this.counting.beginOp(kind, _taskId);
      return;
    }
    if (rec.open && rec.explicit) {
      throw new Error(`Operation ${kind} started inside operation ${rec.kind}`);
    }
    // An implicit operation (work reported before this beginOp) ends here.
    if (rec.open) this.#closeOp(rec);
    this.#openOp(rec, kind, true);
  }

  /** `Exec.endOp`. */
  endOp(): void {
    const rec = this.rec;
    if (!rec) {
      this.counting.endOp();
      return;
    }
    if (!rec.open || !rec.explicit) throw new Error("Operation ended without a matching beginOp");
    this.#closeOp(rec);
  }

  /** `Exec.work`: counts and records `units` of `kind`. */
  recordWork(kind: WorkKind, units: number): void {
    if (!Number.isFinite(units) || units < 0) {
      throw new RangeError(`Work units of ${kind} must be a finite number >= 0, got ${units}`);
    }
    if (units === 0) return;
    const k = workKindIndex(kind);
    this.counting.countWork(k, units);
    const rec = this.rec;
    if (!rec) return;
    if (!rec.open) this.#openOp(rec, rec.defaultKind, false);
    if (k >= this.workPrice.length) this.#priceUpTo(k);
    const code = rec.code;
    code[rec.n++] = S_WORK;
    code[rec.n++] = k;
    code[rec.n++] = units;
  }

  /** `Exec.acquire`: a trylock is decided against the lock state now. */
  acquire(lock: Lock, mode: LockMode, tryLock: boolean): boolean {
    if (lock.kind !== "rwsem" && mode !== "write") {
      throw new Error(`A ${lock.kind} (${lock.lockClass}) must be taken in write mode`);
    }
    const info = this.#host.lockInfo(lock);
    const rec = this.rec;
    if (!rec) {
      if (tryLock && !info.state.canAcquire(mode)) {
        this.counting.countTrylockFailure(lock.lockClass);
        return false;
      }
      return this.counting.acquire(lock, mode, tryLock);
    }
    if (!rec.open) this.#openOp(rec, rec.defaultKind, false);
    const m = mode === "read" ? 0 : 1;
    if (rec.held.includes(lock)) {
      // CountingExec counts the failure of a trylock of a lock this operation holds, or throws.
      this.counting.acquire(lock, mode, tryLock);
      return this.#fail(rec, info, m);
    }
    if (tryLock && !info.state.canAcquire(mode)) {
      this.counting.countTrylockFailure(lock.lockClass);
      return this.#fail(rec, info, m);
    }
    this.counting.acquire(lock, mode, tryLock);
    rec.held.push(lock);
    const code = rec.code;
    let n = rec.n;
    code[n++] = S_ACQUIRE;
    code[n++] = this.#ref(rec, info);
    code[n++] = m;
    code[n++] = tryLock ? 1 : 0;
    code[n++] = S_DELAY;
    code[n++] = this.#costs.lockAcquireNs;
    rec.n = n;
    return true;
  }

  /** Records a failed trylock (mode index `m`) and its cost. */
  #fail(rec: Recording, info: LockInfo, m: number): false {
    const code = rec.code;
    code[rec.n++] = S_TRYLOCK_FAIL;
    code[rec.n++] = this.#ref(rec, info);
    code[rec.n++] = m;
    code[rec.n++] = S_DELAY;
    code[rec.n++] = this.#costs.lockAcquireNs;
    return false;
  }

  /** `Exec.release`. */
  release(lock: Lock, mode: LockMode): void {
    this.counting.release(lock, mode);
    const rec = this.rec;
    if (!rec) return;
    const held = rec.held;
    let i = held.length - 1;
    while (i >= 0 && held[i] !== lock) i--;
    if (i < 0) {
      throw new Error(
        `Release of ${lock.lockClass} #${lock.id} which this operation does not hold`,
      );
    }
    if (i === held.length - 1) held.pop();
    else held.splice(i, 1);
    const code = rec.code;
    code[rec.n++] = S_DELAY;
    code[rec.n++] = this.#costs.lockReleaseNs;
    code[rec.n++] = S_RELEASE;
    code[rec.n++] = this.#ref(rec, this.#host.lockInfo(lock));
    code[rec.n++] = mode === "read" ? 0 : 1;
  }

  /** Stores `x` in the recording's side array; returns its index. */
  #ref(rec: Recording, x: unknown): number {
    rec.refs[rec.nrefs] = x;
    return rec.nrefs++;
  }

  /** `Exec.rcuReadLock`. */
  rcuReadLock(): void {
    this.counting.rcuReadLock();
    const rec = this.rec;
    if (!rec) return;
    this.#ensureOpen(rec);
    rec.rcuDepth++;
    rec.code[rec.n++] = S_RCU_LOCK;
  }

  /** `Exec.rcuReadUnlock`. */
  rcuReadUnlock(): void {
    const rec = this.rec;
    if (rec && rec.rcuDepth === 0) throw new Error("rcu_read_unlock without rcu_read_lock");
    this.counting.rcuReadUnlock();
    if (!rec) return;
    rec.rcuDepth--;
    rec.code[rec.n++] = S_RCU_UNLOCK;
  }

  /** `Exec.callRcu`: recorded in an operation, queued at once outside one. */
  callRcu(fn: () => void): void {
    this.recordWork("rcu_op", 1);
    const rec = this.rec;
    if (!rec) {
      this.#host.queueRcu(fn);
      return;
    }
    rec.code[rec.n++] = S_CALL_RCU;
    rec.code[rec.n++] = this.#ref(rec, fn);
  }
}
