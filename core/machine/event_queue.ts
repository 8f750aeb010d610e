/**
 * A deterministic discrete-event queue: events run in order of time, and events at the same time
 * in the order they were scheduled.
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

function before(a: ScheduledEvent, b: ScheduledEvent): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}

/**
 * A binary min-heap of {@link ScheduledEvent}s ordered by time, then by sequence number.
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
  #heap: ScheduledEvent[] = [];
  #seq = 0;

  /** Number of pending events. */
  get size(): number {
    return this.#heap.length;
  }

  /** Schedules `fire` at `time`; returns the event. */
  schedule(time: number, fire: () => void): ScheduledEvent {
    if (!Number.isFinite(time)) throw new RangeError(`Event time must be finite, got ${time}`);
    const e: ScheduledEvent = { time, seq: this.#seq++, fire };
    const h = this.#heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
    return e;
  }

  /** The earliest event without removing it, or undefined when empty. */
  peek(): ScheduledEvent | undefined {
    return this.#heap[0];
  }

  /** Removes and returns the earliest event, or undefined when empty. */
  pop(): ScheduledEvent | undefined {
    const h = this.#heap;
    if (h.length === 0) return undefined;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l], h[m])) m = l;
        if (r < h.length && before(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}
