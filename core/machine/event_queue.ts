/**
 * A deterministic discrete-event queue: events run in order of time, and events at the same time
 * in the order they were scheduled.
 *
 * The heap is kept as parallel arrays (time, sequence number, tag, argument), so scheduling a
 * tagged event ({@link EventQueue.scheduleTagged}) allocates nothing: the machine schedules one
 * event per timed step and runs millions of them.
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
  #time: number[] = [];
  #seqs: number[] = [];
  #tags: number[] = [];
  #args: unknown[] = [];
  #seq = 0;
  readonly #dispatch: EventDispatch | null;

  /** Creates an empty queue; `dispatch` runs the events scheduled with a tag. */
  constructor(dispatch: EventDispatch | null = null) {
    this.#dispatch = dispatch;
  }

  /** Number of pending events. */
  get size(): number {
    return this.#time.length;
  }

  /** Time of the earliest pending event, or `Infinity` when empty. */
  get nextTime(): number {
    return this.#time.length > 0 ? this.#time[0] : Infinity;
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
    this.#push(time, tag, arg);
  }

  #push(time: number, tag: number, arg: unknown): void {
    if (!Number.isFinite(time)) throw new RangeError(`Event time must be finite, got ${time}`);
    const seq = this.#seq++;
    const t = this.#time, s = this.#seqs, g = this.#tags, a = this.#args;
    let i = t.length;
    t.push(time);
    s.push(seq);
    g.push(tag);
    a.push(arg);
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

  #event(tag: number, arg: unknown, time: number, seq: number): ScheduledEvent {
    if (tag === CLOSURE) return { time, seq, fire: arg as () => void };
    const dispatch = this.#dispatch!;
    return { time, seq, fire: () => dispatch(tag, arg) };
  }

  /** The earliest event without removing it, or undefined when empty. */
  peek(): ScheduledEvent | undefined {
    if (this.#time.length === 0) return undefined;
    return this.#event(this.#tags[0], this.#args[0], this.#time[0], this.#seqs[0]);
  }

  /** Removes and returns the earliest event, or undefined when empty. */
  pop(): ScheduledEvent | undefined {
    if (this.#time.length === 0) return undefined;
    const e = this.#event(this.#tags[0], this.#args[0], this.#time[0], this.#seqs[0]);
    this.#removeTop();
    return e;
  }

  /** Removes the earliest event and runs it (the queue must not be empty). */
  fireNext(): void {
    const tag = this.#tags[0];
    const arg = this.#args[0];
    this.#removeTop();
    if (tag === CLOSURE) (arg as () => void)();
    else this.#dispatch!(tag, arg);
  }

  #removeTop(): void {
    const t = this.#time, s = this.#seqs, g = this.#tags, a = this.#args;
    const lt = t.pop()!, ls = s.pop()!, lg = g.pop()!, la = a.pop();
    const n = t.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      let m = l;
      const r = l + 1;
      if (r < n && (t[r] < t[l] || (t[r] === t[l] && s[r] < s[l]))) m = r;
      if (lt < t[m] || (lt === t[m] && ls < s[m])) break;
      t[i] = t[m];
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
