/**
 * A deterministic discrete-event queue: events run in order of time, and events at the same time
 * in the order they were scheduled.
 *
 * The heap is kept as parallel arrays (time, sequence number, tag, argument), typed where they
 * can be and grown by doubling, so scheduling a tagged event ({@link EventQueue.scheduleTagged})
 * allocates nothing: the machine schedules one event per timed step and runs millions of them.
 * Sequence numbers are unique, so the order of events is fully given by (time, sequence) and
 * does not depend on how the heap arranges them. That lets {@link EventQueue.fireNext} leave the
 * event it runs at the top until the event schedules another (most do: a task's next step) and
 * put the new one there in its place: one sift down instead of a removal and an insertion.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

/** One scheduled event. */
export interface ScheduledEvent {
  /** Simulated time in nanoseconds. */
  readonly time: number;
  /** Scheduling order; breaks ties between events at the same time. */
  readonly seq: number;
  /** What to do. */
  readonly fire: () => void;
}

/** Runs a tagged event (see {@link EventQueue.scheduleTagged}). */
export type EventDispatch = (tag: number, arg: unknown) => void;

/** Tag of an event scheduled with a closure. */
const CLOSURE = -1;
/** Room for this many pending events before the arrays first grow. */
const INITIAL_CAPACITY = 64;

/**
 * A binary min-heap of events ordered by time, then by sequence number.
 *
 * @example Usage
 * ```ts
 * import { EventQueue } from "./event_queue.ts";
 * const q = new EventQueue();
 * const order: string[] = [];
 * q.schedule(5, () => order.push("b"));
 * q.schedule(1, () => order.push("a"));
 * q.schedule(5, () => order.push("c"));
 * while (q.size > 0) q.pop()!.fire();
 * if (order.join("") !== "abc") throw new Error("unexpected");
 * ```
 */
export class EventQueue {
  /** Pending events: `[0, #n)` of the arrays, a binary heap. */
  #n = 0;
  #time = new Float64Array(INITIAL_CAPACITY);
  #seqs = new Float64Array(INITIAL_CAPACITY);
  #tags = new Int32Array(INITIAL_CAPACITY);
  #args: unknown[] = new Array(INITIAL_CAPACITY).fill(undefined);
  #seq = 0;
  /**
   * Whether the top entry is the event being run, already out of the queue: the next event
   * scheduled replaces it, anything else removes it first (see {@link EventQueue.fireNext}).
   */
  #firing = false;
  readonly #dispatch: EventDispatch | null;

  /** Creates an empty queue; `dispatch` runs the events scheduled with a tag. */
  constructor(dispatch: EventDispatch | null = null) {
    this.#dispatch = dispatch;
  }

  /** Number of pending events. */
  get size(): number {
    return this.#firing ? this.#n - 1 : this.#n;
  }

  /** Time of the earliest pending event, or `Infinity` when empty. */
  get nextTime(): number {
    const n = this.#n;
    if (!this.#firing) return n > 0 ? this.#time[0] : Infinity;
    // The top is out: the earlier of its children.
    const t = this.#time;
    if (n > 2) return t[1] < t[2] ? t[1] : t[2];
    return n === 2 ? t[1] : Infinity;
  }

  /** Schedules `fire` at `time`; returns the event. */
  schedule(time: number, fire: () => void): ScheduledEvent {
    const seq = this.#seq;
    this.#push(time, CLOSURE, fire);
    return { time, seq, fire };
  }

  /**
   * Schedules the dispatch function given to the constructor to be called with `tag` (an integer
   * >= 0) and `arg` at `time`. Allocates nothing.
   */
  scheduleTagged(time: number, tag: number, arg: unknown): void {
    // The machine's common case first, kept small to inline: an event replacing the one run.
    if (this.#firing && Number.isFinite(time)) {
      this.#firing = false;
      this.#siftDown(time, this.#seq++, tag, arg, this.#n);
      return;
    }
    this.#push(time, tag, arg);
  }

  #push(time: number, tag: number, arg: unknown): void {
    if (!Number.isFinite(time)) throw new RangeError(`Event time must be finite, got ${time}`);
    const seq = this.#seq++;
    if (this.#firing) {
      // Replaces the event being run (see `fireNext`).
      this.#firing = false;
      this.#siftDown(time, seq, tag, arg, this.#n);
      return;
    }
    let i = this.#n;
    if (i === this.#time.length) this.#grow();
    this.#n = i + 1;
    const t = this.#time, s = this.#seqs, g = this.#tags, a = this.#args;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pt = t[p];
      if (pt < time || (pt === time && s[p] < seq)) break;
      t[i] = pt;
      s[i] = s[p];
      g[i] = g[p];
      a[i] = a[p];
      i = p;
    }
    t[i] = time;
    s[i] = seq;
    g[i] = tag;
    a[i] = arg;
  }

  /** Doubles the room of the arrays. */
  #grow(): void {
    const n = this.#n, cap = 2 * n;
    const t = new Float64Array(cap), s = new Float64Array(cap), g = new Int32Array(cap);
    t.set(this.#time);
    s.set(this.#seqs);
    g.set(this.#tags);
    this.#time = t;
    this.#seqs = s;
    this.#tags = g;
    const a = this.#args;
    for (let i = n; i < cap; i++) a.push(undefined);
  }

  #event(tag: number, arg: unknown, time: number, seq: number): ScheduledEvent {
    if (tag === CLOSURE) return { time, seq, fire: arg as () => void };
    const dispatch = this.#dispatch!;
    return { time, seq, fire: () => dispatch(tag, arg) };
  }

  /** The earliest event without removing it, or undefined when empty. */
  peek(): ScheduledEvent | undefined {
    this.#settle();
    if (this.#n === 0) return undefined;
    return this.#event(this.#tags[0], this.#args[0], this.#time[0], this.#seqs[0]);
  }

  /** Removes and returns the earliest event, or undefined when empty. */
  pop(): ScheduledEvent | undefined {
    this.#settle();
    if (this.#n === 0) return undefined;
    const e = this.#event(this.#tags[0], this.#args[0], this.#time[0], this.#seqs[0]);
    this.#removeTop();
    return e;
  }

  /** Removes the earliest event and runs it (the queue must not be empty). */
  fireNext(): void {
    this.#settle();
    const tag = this.#tags[0];
    const arg = this.#args[0];
    // The event stays at the top, out of the queue, until it schedules one or returns.
    this.#firing = true;
    if (tag === CLOSURE) (arg as () => void)();
    else this.#dispatch!(tag, arg);
    this.#settle();
  }

  /** Removes the event being run if it is still at the top (see `#firing`). */
  #settle(): void {
    if (!this.#firing) return;
    this.#firing = false;
    this.#removeTop();
  }

  #removeTop(): void {
    const t = this.#time, s = this.#seqs, g = this.#tags, a = this.#args;
    const n = this.#n - 1;
    this.#n = n;
    const lt = t[n], ls = s[n], lg = g[n], la = a[n];
    a[n] = undefined; // nothing stays reachable from a free entry
    if (n > 0) this.#siftDown(lt, ls, lg, la, n);
  }

  /** Puts the entry (`lt`, `ls`, `lg`, `la`) at the top of the heap `[0, n)` and sifts it down. */
  #siftDown(lt: number, ls: number, lg: number, la: unknown, n: number): void {
    const t = this.#time, s = this.#seqs, g = this.#tags, a = this.#args;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      // The earlier child `m` (time `mt`), loads kept in locals (the stores below may alias).
      let m = l;
      let mt = t[l];
      const r = l + 1;
      if (r < n) {
        const rt = t[r];
        if (rt < mt || (rt === mt && s[r] < s[l])) {
          m = r;
          mt = rt;
        }
      }
      if (lt < mt || (lt === mt && ls < s[m])) break;
      t[i] = mt;
      s[i] = s[m];
      g[i] = g[m];
      a[i] = a[m];
      i = m;
    }
    t[i] = lt;
    s[i] = ls;
    g[i] = lg;
    a[i] = la;
  }
}
