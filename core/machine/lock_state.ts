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
  /** How a release wakes queued readers. */
  readonly readerWakeup: ReaderWakeup;
  /** Current exclusive holder, or null. */
  writer: T | null = null;
  /** Whether the lock is an rwsem (only rwsem readers share). */
  readonly #rwsem: boolean;
  /**
   * Whether the lock is a spinlock (a waiter spins instead of sleeping): read here rather than
   * from `lock.kind`, whose lock objects come in many shapes, so the machine's replay loop reads
   * one class's field.
   */
  readonly spin: boolean;
  /**
   * Shared holders in arrival order: `#reader` (the first), then `#more[0..nreaders - 1)`, made
   * when a second reader shares the lock (most locks never have two readers at once).
   */
  #reader: T | null = null;
  #more: T[] | null = null;
  #nreaders = 0;
  /** Waiters in arrival order, made on first use. */
  #queue: LockWaiter<T>[] | null = null;

  /** Creates the state of a free lock. */
  constructor(lock: Lock, readerWakeup: ReaderWakeup = "head") {
    this.lock = lock;
    this.readerWakeup = readerWakeup;
    this.#rwsem = lock.kind === "rwsem";
    this.spin = lock.kind === "spinlock";
  }

  /** Current shared holders, in the order they took the lock (a copy). */
  get readers(): Set<T> {
    const n = this.#nreaders;
    if (n === 0) return new Set();
    return new Set([this.#reader as T, ...(n > 1 ? this.#more!.slice(0, n - 1) : [])]);
  }

  /** Waiters in arrival order. */
  get queue(): LockWaiter<T>[] {
    return this.#queue ??= [];
  }

  /** Whether the effective mode is shared (only rwsem readers share). */
  #shared(mode: LockMode): boolean {
    return this.#rwsem && mode === "read";
  }

  /** Whether nobody holds the lock. */
  get free(): boolean {
    return this.writer === null && this.#nreaders === 0;
  }

  /** Whether a request in `mode` would be granted now, without queueing or jumping the queue. */
  canAcquire(mode: LockMode): boolean {
    const q = this.#queue;
    if ((q !== null && q.length > 0) || this.writer !== null) return false;
    return this.#shared(mode) || this.#nreaders === 0;
  }

  /** Takes the lock for `owner` if {@link canAcquire}; returns whether it did. */
  acquire(owner: T, mode: LockMode): boolean {
    if (!this.canAcquire(mode)) return false;
    this.#take(owner, mode);
    return true;
  }

  /** Appends a waiter to the queue. */
  enqueue(waiter: LockWaiter<T>): void {
    this.queue.push(waiter);
  }

  #take(owner: T, mode: LockMode): void {
    if (!this.#shared(mode)) {
      this.writer = owner;
      return;
    }
    const n = this.#nreaders;
    if (n === 0) {
      this.#reader = owner;
      this.#nreaders = 1;
      return;
    }
    if (this.#reader === owner) return; // already a reader (as a Set)
    const m = this.#more ??= [];
    for (let i = 0; i < n - 1; i++) if (m[i] === owner) return;
    m[n - 1] = owner;
    this.#nreaders = n + 1;
  }

  /** Removes reader `owner`; returns whether it was one. */
  #dropReader(owner: T): boolean {
    const n = this.#nreaders;
    if (n === 0) return false;
    const m = this.#more;
    let i: number;
    if (this.#reader === owner) {
      if (n === 1) {
        this.#reader = null;
        this.#nreaders = 0;
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
    this.#nreaders = n - 1;
    return true;
  }

  /** Releases `owner`'s hold and returns the waiters granted the lock, in queue order. */
  release(owner: T, mode: LockMode): LockWaiter<T>[] {
    this.#drop(owner, mode);
    return this.#grant();
  }

  /**
   * {@link LockState.release}, but returns one shared empty array (which must not be changed)
   * when no waiter is granted the lock, so an uncontended release allocates nothing.
   */
  releaseGranting(owner: T, mode: LockMode): readonly LockWaiter<T>[] {
    this.#drop(owner, mode);
    const q = this.#queue;
    if (q === null || q.length === 0) return NONE;
    const granted = this.#grant();
    return granted.length === 0 ? NONE : granted;
  }

  #drop(owner: T, mode: LockMode): void {
    if (this.#shared(mode)) {
      if (!this.#dropReader(owner)) {
        throw new Error(`Release of ${this.lock.lockClass} in read mode by a non-holder`);
      }
    } else {
      if (this.writer !== owner) {
        throw new Error(`Release of ${this.lock.lockClass} in write mode by a non-holder`);
      }
      this.writer = null;
    }
  }

  #grant(): LockWaiter<T>[] {
    const granted: LockWaiter<T>[] = [];
    const q = this.#queue;
    if (q === null || q.length === 0 || this.writer !== null) return granted;
    if (!this.#shared(q[0].mode)) {
      if (this.#nreaders === 0) {
        const w = q.shift()!;
        this.#take(w.owner, w.mode);
        granted.push(w);
      }
      return granted;
    }
    if (this.readerWakeup === "head") {
      while (q.length > 0 && this.#shared(q[0].mode)) {
        const w = q.shift()!;
        this.#take(w.owner, w.mode);
        granted.push(w);
      }
    } else {
      for (let i = 0; i < q.length;) {
        if (this.#shared(q[i].mode)) {
          const [w] = q.splice(i, 1);
          this.#take(w.owner, w.mode);
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
