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
  type Exec,
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
  forEachWork,
  type LockInfo,
  NO_CODE,
  NO_REFS,
  OP_BITS,
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
  S_WORK1,
} from "./machine_types.ts";

/** Length of a new step buffer, in words. */
const INITIAL_STEP_WORDS = 256;
/** Step buffers longer than this are "big": pooled apart, for operations outgrowing a small one. */
const MAX_POOLED_STEP_WORDS = 8192;
/** At most this many small step buffers (and side arrays) are kept for reuse. */
const MAX_POOLED_BUFFERS = 64;
/**
 * Besides, at most this many big step buffers, up to `MAX_BIG_STEP_WORDS` (8 MiB) each: a big
 * operation (a fork or exit of a big process) that outgrows its small buffer takes one instead
 * of growing a new buffer by doubling. Several big operations are often in flight at once (forks
 * and exits of apps on different CPUs).
 */
const MAX_BIG_BUFFERS = 4;
const MAX_BIG_STEP_WORDS = 1 << 20;
/**
 * The pooled big step buffers, shared by every recorder of the process (a buffer is held by one
 * recording or replay at a time): a new machine's first big operation finds one instead of
 * growing its own by doubling from a small one.
 */
const BIG_POOL: Float64Array[] = [];
/** Most words one Exec call records (an acquisition after an implicit operation begin). */
const MAX_CALL_WORDS = 8;

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
 * r.start("fork");
 * r.acquire(lock, "write", false);
 * r.finish(task.rp);
 * ```
 */
export class StepRecorder implements Exec {
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
    code: NO_CODE,
    n: 0,
    refs: NO_REFS as unknown[],
    nrefs: 0,
    defaultKind: "mmap",
    open: false,
    explicit: false,
    kind: "mmap",
    segments: 0,
    rcuDepth: 0,
    held: [],
    heldInfo: [],
    nheld: 0,
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

  /** Small step buffers given back by finished replays (or outgrown), for reuse. */
  #poolCode: Float64Array[] = [];
  /** Side arrays given back by finished replays, for reuse. */
  #poolRefs: unknown[][] = [];
  /** Pooled big step buffers (a few, so room stays bounded; shared by every recorder). */
  #bigCode: Float64Array[] = BIG_POOL;

  /** Starts recording an operation of kind `kind` (for `finish` to hand to a replay). */
  start(kind: OpKind): Recording {
    const rec = this.#recording;
    if (rec.code === NO_CODE) {
      rec.code = this.#poolCode.pop() ?? new Float64Array(INITIAL_STEP_WORDS);
      rec.refs = this.#poolRefs.pop() ?? [];
    }
    rec.n = 0;
    rec.nrefs = 0;
    rec.defaultKind = kind;
    rec.open = false;
    rec.explicit = false;
    rec.kind = kind;
    rec.segments = 0;
    rec.rcuDepth = 0;
    for (let i = 0; i < rec.nheld; i++) {
      rec.held[i] = null;
      rec.heldInfo[i] = null;
    }
    rec.nheld = 0;
    this.rec = rec;
    return rec;
  }

  /** Ends the recording (the kernel's operation returned); checks it and closes it. */
  close(): void {
    const rec = this.rec!;
    if (rec.open && rec.explicit) throw new Error(`Operation ${rec.kind} was not ended`);
    if (rec.open) this.#closeOp(rec);
  }

  /**
   * Leaves the recording context; `rp` gets the recorded steps, ready to replay (and must give
   * them back with {@link StepRecorder.recycle}). Without `rp` the steps are dropped.
   */
  finish(rp: Replay | null): void {
    const rec = this.#recording;
    this.rec = null;
    if (!rp) {
      // Counted, never to be replayed: its work becomes untimed.
      forEachWork(rec.code, rec.refs, 0, rec.n, [], (k, units, held) => {
        this.counting.markUntimed(k, units, held);
      });
      for (let i = 0; i < rec.nrefs; i++) rec.refs[i] = undefined;
      return;
    }
    rp.code = rec.code;
    rp.refs = rec.refs;
    rec.code = NO_CODE;
    rec.refs = NO_REFS as unknown[];
    rp.n = rec.n;
    rp.nrefs = rec.nrefs;
    rp.pc = 0;
    rp.opKind = null;
    rp.opIndex = -1;
    rp.opStart = 0;
    rp.opLockWait = 0;
  }

  /**
   * Gives the buffers of a finished replay back to the pool (nothing they refer to stays
   * reachable). The pool is bounded: up to `MAX_POOLED_BUFFERS` buffers of at most
   * `MAX_POOLED_STEP_WORDS` and `MAX_BIG_BUFFERS` longer ones; others are dropped.
   */
  recycle(rp: Replay): void {
    const code = rp.code;
    if (code === NO_CODE) return;
    const refs = rp.refs;
    rp.code = NO_CODE;
    rp.refs = NO_REFS as unknown[];
    // A loop, not fill(): most operations refer to a few locks, and the builtin's call cost more.
    for (let i = 0, n = rp.nrefs; i < n; i++) refs[i] = undefined;
    if (refs.length <= MAX_POOLED_STEP_WORDS && this.#poolRefs.length < MAX_POOLED_BUFFERS) {
      this.#poolRefs.push(refs);
    }
    this.#pool(code);
  }

  /** Keeps a step buffer for reuse if the pool has room for it (see `recycle`). */
  #pool(code: Float64Array): void {
    if (code.length <= MAX_POOLED_STEP_WORDS) {
      if (this.#poolCode.length < MAX_POOLED_BUFFERS) this.#poolCode.push(code);
      return;
    }
    if (code.length > MAX_BIG_STEP_WORDS) return;
    const big = this.#bigCode;
    if (big.length < MAX_BIG_BUFFERS) {
      big.push(code);
      return;
    }
    // Full: keep the longer of the new one and the shortest pooled one.
    let s = 0;
    for (let i = 1; i < big.length; i++) if (big[i].length < big[s].length) s = i;
    if (big[s].length < code.length) big[s] = code;
  }

  /** Makes room for `words` more words in the recording's step buffer. */
  #grow(rec: Recording, words: number): void {
    const old = rec.code;
    const need = rec.n + words;
    const len = Math.max(old.length * 2, need);
    let code: Float64Array | undefined;
    if (len > MAX_POOLED_STEP_WORDS) {
      // Outgrowing the small buffers: the longest pooled big buffer, if it has room.
      const big = this.#bigCode;
      let b = -1;
      for (let i = 0; i < big.length; i++) if (b < 0 || big[i].length > big[b].length) b = i;
      if (b >= 0 && big[b].length >= len) {
        code = big[b];
        big[b] = big[big.length - 1];
        big.pop();
      }
    }
    code ??= new Float64Array(len);
    code.set(old.subarray(0, rec.n));
    rec.code = code;
    this.#pool(old);
  }

  #ensureOpen(rec: Recording): void {
    if (rec.open) return;
    this.#openOp(rec, rec.defaultKind, false);
  }

  #openOp(rec: Recording, kind: OpKind, explicit: boolean): void {
    if (rec.n + MAX_CALL_WORDS > rec.code.length) this.#grow(rec, MAX_CALL_WORDS);
    rec.code[rec.n++] = S_OP_BEGIN;
    rec.code[rec.n++] = OP_INDEX[kind];
    rec.open = true;
    rec.explicit = explicit;
    rec.kind = kind;
    rec.segments++;
    this.counting.countOp(kind);
  }

  #closeOp(rec: Recording): void {
    if (rec.nheld > 0) {
      throw new Error(
        `Operation ${rec.kind} ended with locks held: ${
          rec.held.slice(0, rec.nheld).map((l) => l!.lockClass).join(", ")
        }`,
      );
    }
    if (rec.rcuDepth > 0) {
      throw new Error(`Operation ${rec.kind} ended inside an RCU read-side section`);
    }
    if (rec.n + MAX_CALL_WORDS > rec.code.length) this.#grow(rec, MAX_CALL_WORDS);
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
  work(kind: WorkKind, units = 1): void {
    if (!Number.isFinite(units) || units < 0) {
      throw new RangeError(`Work units of ${kind} must be a finite number >= 0, got ${units}`);
    }
    if (units === 0) return;
    const k = workKindIndex(kind);
    const rec = this.rec;
    if (!rec) {
      this.counting.countWorkUntimed(k, units);
      return;
    }
    this.counting.countWork(k, units);
    if (!rec.open) this.#openOp(rec, rec.defaultKind, false);
    if (k >= this.workPrice.length) this.#priceUpTo(k);
    let n = rec.n;
    if (n + MAX_CALL_WORDS > rec.code.length) this.#grow(rec, MAX_CALL_WORDS);
    const code = rec.code;
    if (units === 1) code[n++] = S_WORK1 + (k << OP_BITS);
    else {
      code[n++] = S_WORK + (k << OP_BITS);
      code[n++] = units;
    }
    rec.n = n;
  }

  /** `Exec.acquire`: a trylock is decided against the lock state now. */
  acquire(lock: Lock, mode: LockMode, tryLock = false): boolean {
    if (lock.kind !== "rwsem" && mode !== "write") {
      throw new Error(`A ${lock.kind} (${lock.lockClass}) must be taken in write mode`);
    }
    const rec = this.rec;
    if (!rec) {
      // Outside an operation only a trylock reads the lock's machine state (a lock first taken
      // here gets none: nothing timed waits for it).
      if (tryLock && !this.#host.lockInfo(lock).state.canAcquire(mode)) {
        this.counting.countTrylockFailure(lock.lockClass);
        return false;
      }
      return this.counting.acquire(lock, mode, tryLock);
    }
    const info = this.#host.lockInfo(lock);
    if (!rec.open) this.#openOp(rec, rec.defaultKind, false);
    const m = mode === "read" ? 0 : 1;
    if (this.#holds(rec, lock)) {
      // CountingExec counts the failure of a trylock of a lock this operation holds, or throws.
      this.counting.acquire(lock, mode, tryLock);
      return this.#fail(rec, info, m);
    }
    if (tryLock && !info.state.canAcquire(mode)) {
      this.counting.countTrylockFailure(lock.lockClass);
      return this.#fail(rec, info, m);
    }
    this.counting.acquire(lock, mode, tryLock);
    rec.heldInfo[rec.nheld] = info;
    rec.held[rec.nheld++] = lock;
    if (rec.n + MAX_CALL_WORDS > rec.code.length) this.#grow(rec, MAX_CALL_WORDS);
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

  /** Whether the operation being recorded holds `lock`. */
  #holds(rec: Recording, lock: Lock): boolean {
    const held = rec.held;
    for (let i = 0; i < rec.nheld; i++) if (held[i] === lock) return true;
    return false;
  }

  /** Records a failed trylock (mode index `m`) and its cost. */
  #fail(rec: Recording, info: LockInfo, m: number): false {
    if (rec.n + MAX_CALL_WORDS > rec.code.length) this.#grow(rec, MAX_CALL_WORDS);
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
    const units = this.counting.releaseUnits(lock, mode);
    const rec = this.rec;
    if (!rec) return;
    const held = rec.held;
    const last = rec.nheld - 1;
    let i = last;
    while (i >= 0 && held[i] !== lock) i--;
    if (i < 0) {
      throw new Error(
        `Release of ${lock.lockClass} #${lock.id} which this operation does not hold`,
      );
    }
    // The state found when the lock was taken (`lockInfo` gives the same one for a lock).
    const heldInfo = rec.heldInfo;
    const info = heldInfo[i]!;
    for (; i < last; i++) {
      held[i] = held[i + 1];
      heldInfo[i] = heldInfo[i + 1];
    }
    held[last] = null;
    heldInfo[last] = null;
    rec.nheld = last;
    if (rec.n + MAX_CALL_WORDS > rec.code.length) this.#grow(rec, MAX_CALL_WORDS);
    const code = rec.code;
    code[rec.n++] = S_DELAY;
    code[rec.n++] = this.#costs.lockReleaseNs;
    code[rec.n++] = S_RELEASE;
    code[rec.n++] = this.#ref(rec, info);
    code[rec.n++] = mode === "read" ? 0 : 1;
    code[rec.n++] = units; // the work done under this hold (its class's maxWorkPerHold)
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
    if (rec.n + MAX_CALL_WORDS > rec.code.length) this.#grow(rec, MAX_CALL_WORDS);
    rec.code[rec.n++] = S_RCU_LOCK;
  }

  /** `Exec.rcuReadUnlock`. */
  rcuReadUnlock(): void {
    const rec = this.rec;
    if (rec && rec.rcuDepth === 0) throw new Error("rcu_read_unlock without rcu_read_lock");
    this.counting.rcuReadUnlock();
    if (!rec) return;
    rec.rcuDepth--;
    if (rec.n + MAX_CALL_WORDS > rec.code.length) this.#grow(rec, MAX_CALL_WORDS);
    rec.code[rec.n++] = S_RCU_UNLOCK;
  }

  /** `Exec.callRcu`: recorded in an operation, queued at once outside one. */
  callRcu(fn: () => void): void {
    this.work("rcu_op", 1);
    const rec = this.rec;
    if (!rec) {
      this.#host.queueRcu(fn);
      return;
    }
    if (rec.n + MAX_CALL_WORDS > rec.code.length) this.#grow(rec, MAX_CALL_WORDS);
    rec.code[rec.n++] = S_CALL_RCU;
    rec.code[rec.n++] = this.#ref(rec, fn);
  }
}
