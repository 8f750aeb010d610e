/**
 * Semantics of the simulated locks, without time: who holds a lock, who waits, and who is
 * granted the lock when it is released.
 *
 * - `rwsem`: shared readers, one exclusive writer, a FIFO wait queue. A reader is refused while
 *   anyone waits, so a waiting writer blocks new readers (Linux rwsems avoid writer starvation;
 *   `down_read_trylock` also fails while the waiter flag is set). On release, a writer at the head
 *   of the queue is granted alone; readers at the head are granted together (`"head"`: the run of
 *   readers up to the first waiting writer; `"all"`: every queued reader, skipping writers, as
 *   `rwsem_mark_wake` has done since Linux 5.3).
 * - `spinlock` and `mutex`: exclusive, FIFO (queued/ticket spinlocks are FIFO; mutex hand-off is
 *   approximated as FIFO). Whether the waiter spins or sleeps is the machine's business.
 *
 * The lock is handed to waiters at release time (hand-off); optimistic spinning and lock
 * stealing are not modelled.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import type { Lock, LockMode } from "./exec.ts";

/** How many queued readers a release grants. */
export type ReaderWakeup = "head" | "all";

/** {@link LockState}'s kind bits: an rwsem (only rwsem readers share). */
const RWSEM = 1;
/** A spinlock. */
const SPIN = 2;
/** Releases wake every queued reader (`readerWakeup` "all"). */
const WAKE_ALL = 4;
const KIND_BITS = 3;
const KIND_MASK = (1 << KIND_BITS) - 1;
/** One shared holder, counted above the kind bits. */
const READER = 1 << KIND_BITS;

/** The rarely needed part of a {@link LockState}: further readers and the wait queue. */
class LockExtra<T> {
  /** Shared holders after the first, in arrival order. */
  more: T[] = [];
  /** Waiters in arrival order. */
  queue: LockWaiter<T>[] = [];
}

/** A queued request for a lock. */
export interface LockWaiter<T> {
  /** Who waits (the machine uses its task record). */
  readonly owner: T;
  /** Requested mode. */
  readonly mode: LockMode;
  /** Simulated time the wait began. */
  readonly since: number;
}

/**
 * The state of one lock instance.
 *
 * @example Usage
 * ```ts
 * import { newLock } from "./exec.ts";
 * import { LockState } from "./lock_state.ts";
 * const s = new LockState<string>(newLock("anon_vma.root", "rwsem"));
 * s.acquire("r1", "read");
 * if (s.acquire("w", "write")) throw new Error("a writer cannot share with a reader");
 * s.enqueue({ owner: "w", mode: "write", since: 0 });
 * if (s.canAcquire("read")) throw new Error("a waiting writer blocks new readers");
 * const granted = s.release("r1", "read");
 * if (granted.length !== 1 || s.writer !== "w") throw new Error("unexpected");
 * ```
 */
export class LockState<T> {
  /** The lock. */
  readonly lock: Lock;
  /** Current exclusive holder, or null. */
  writer: T | null = null;
  /**
   * Shared holders in arrival order: `#reader` (the first), then `#extra.more[0..nreaders - 1)`
   * (most locks never have two readers at once).
   */
  #reader: T | null = null;
  /**
   * The lock's kind bits ({@link RWSEM}, {@link SPIN}, {@link WAKE_ALL}) and, above them, the
   * number of shared holders: one small integer (a machine keeps a state per lock it has seen,
   * hundreds of thousands in a whole-phone run).
   */
  #bits: number;
  /** The second and later readers and the waiters, made when a lock first needs either. */
  #extra: LockExtra<T> | null = null;

  /** Creates the state of a free lock. */
  constructor(lock: Lock, readerWakeup: ReaderWakeup = "head") {
    this.lock = lock;
    this.#bits = (lock.kind === "rwsem" ? RWSEM : 0) | (lock.kind === "spinlock" ? SPIN : 0) |
      (readerWakeup === "all" ? WAKE_ALL : 0);
  }

  /** How a release wakes queued readers. */
  get readerWakeup(): ReaderWakeup {
    return (this.#bits & WAKE_ALL) !== 0 ? "all" : "head";
  }

  /**
   * Whether the lock is a spinlock (a waiter spins instead of sleeping): kept in this class's
   * bits rather than read from `lock.kind`, whose lock objects come in many shapes, so the
   * machine's replay loop reads one class's field.
   */
  get spin(): boolean {
    return (this.#bits & SPIN) !== 0;
  }

  /** Number of shared holders. */
  private nreaders(): number {
    return this.#bits >> KIND_BITS;
  }
  /** Sets the number of shared holders. */
  private setNreaders(n: number): void {
    this.#bits = (this.#bits & KIND_MASK) | (n << KIND_BITS);
  }

  /** The rarely needed part, made if need be. */
  private extra(): LockExtra<T> {
    return this.#extra ??= new LockExtra<T>();
  }

  /** Current shared holders, in the order they took the lock (a copy). */
  get readers(): Set<T> {
    const n = this.nreaders();
    if (n === 0) return new Set();
    return new Set([this.#reader as T, ...(n > 1 ? this.#extra!.more.slice(0, n - 1) : [])]);
  }

  /** Waiters in arrival order. */
  get queue(): LockWaiter<T>[] {
    return this.extra().queue;
  }

  /** Whether the effective mode is shared (only rwsem readers share). */
  private shared(mode: LockMode): boolean {
    return (this.#bits & RWSEM) !== 0 && mode === "read";
  }

  /** Whether nobody holds the lock. */
  get free(): boolean {
    return this.writer === null && this.#bits < READER;
  }

  /** Whether a request in `mode` would be granted now, without queueing or jumping the queue. */
  canAcquire(mode: LockMode): boolean {
    const x = this.#extra;
    if ((x !== null && x.queue.length > 0) || this.writer !== null) return false;
    return this.shared(mode) || this.#bits < READER;
  }

  /** Takes the lock for `owner` if {@link canAcquire}; returns whether it did. */
  acquire(owner: T, mode: LockMode): boolean {
    if (!this.canAcquire(mode)) return false;
    this.take(owner, mode);
    return true;
  }

  /** Appends a waiter to the queue. */
  enqueue(waiter: LockWaiter<T>): void {
    this.queue.push(waiter);
  }

  private take(owner: T, mode: LockMode): void {
    if (!this.shared(mode)) {
      this.writer = owner;
      return;
    }
    const n = this.nreaders();
    if (n === 0) {
      this.#reader = owner;
      this.setNreaders(1);
      return;
    }
    if (this.#reader === owner) return; // already a reader (as a Set)
    const m = this.extra().more;
    for (let i = 0; i < n - 1; i++) if (m[i] === owner) return;
    m[n - 1] = owner;
    this.setNreaders(n + 1);
  }

  /** Removes reader `owner`; returns whether it was one. */
  private dropReader(owner: T): boolean {
    const n = this.nreaders();
    if (n === 0) return false;
    const m = this.#extra === null ? null : this.#extra.more;
    let i: number;
    if (this.#reader === owner) {
      if (n === 1) {
        this.#reader = null;
        this.setNreaders(0);
        return true;
      }
      // The second reader becomes the first.
      this.#reader = m![0];
      i = 0;
    } else {
      if (m === null) return false;
      i = 0;
      while (i < n - 1 && m[i] !== owner) i++;
      if (i === n - 1) return false;
    }
    for (; i < n - 2; i++) m![i] = m![i + 1];
    m![n - 2] = undefined as T;
    this.setNreaders(n - 1);
    return true;
  }

  /** Releases `owner`'s hold and returns the waiters granted the lock, in queue order. */
  release(owner: T, mode: LockMode): LockWaiter<T>[] {
    this.drop(owner, mode);
    return this.grant();
  }

  /**
   * {@link LockState.release}, but returns one shared empty array (which must not be changed)
   * when no waiter is granted the lock, so an uncontended release allocates nothing.
   */
  releaseGranting(owner: T, mode: LockMode): readonly LockWaiter<T>[] {
    this.drop(owner, mode);
    const x = this.#extra;
    if (x === null || x.queue.length === 0) return NONE;
    const granted = this.grant();
    return granted.length === 0 ? NONE : granted;
  }

  private drop(owner: T, mode: LockMode): void {
    if (this.shared(mode)) {
      if (!this.dropReader(owner)) {
        throw new Error(`Release of ${this.lock.lockClass} in read mode by a non-holder`);
      }
    } else {
      if (this.writer !== owner) {
        throw new Error(`Release of ${this.lock.lockClass} in write mode by a non-holder`);
      }
      this.writer = null;
    }
  }

  private grant(): LockWaiter<T>[] {
    const granted: LockWaiter<T>[] = [];
    const x = this.#extra;
    if (x === null || x.queue.length === 0 || this.writer !== null) return granted;
    const q = x.queue;
    if (!this.shared(q[0].mode)) {
      if (this.nreaders() === 0) {
        const w = q.shift()!;
        this.take(w.owner, w.mode);
        granted.push(w);
      }
      return granted;
    }
    if ((this.#bits & WAKE_ALL) === 0) {
      while (q.length > 0 && this.shared(q[0].mode)) {
        const w = q.shift()!;
        this.take(w.owner, w.mode);
        granted.push(w);
      }
    } else {
      for (let i = 0; i < q.length;) {
        if (this.shared(q[i].mode)) {
          const [w] = q.splice(i, 1);
          this.take(w.owner, w.mode);
          granted.push(w);
        } else i++;
      }
    }
    return granted;
  }
}

/**
 * The empty result of {@link LockState.releaseGranting}. Not frozen, and of the elements kind of a
 * non-empty list of waiters (an array that held an object), so that every result the machine's
 * replay loop reads has one shape (a speed measure: a frozen or never-filled array is another).
 */
const NONE: readonly LockWaiter<never>[] = emptyObjectArray();

/** An empty array that held an object (its elements kind stays that of an array of objects). */
function emptyObjectArray(): LockWaiter<never>[] {
  const a: (LockWaiter<never> | null)[] = [null];
  a.length = 0;
  return a as LockWaiter<never>[];
}
