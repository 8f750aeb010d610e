/**
 * RCU of the timed machine: read-side sections of tasks, callbacks queued by `call_rcu`, and
 * grace periods. A callback queued at simulated time `q` runs once `q + rcuGracePeriodNs` has
 * passed and every read-side section active at `q` has ended (see `machine.ts`, "RCU").
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import type { RcuCallback } from "./machine_types.ts";

/** What RCU needs from the machine. */
export interface RcuHost {
  /** Current simulated time, ns. */
  now(): number;
  /** Runs `fn` at simulated time `time`. */
  schedule(time: number, fn: () => void): void;
  /** Grace period length, ns. */
  gracePeriodNs(): number;
  /** Called just before a callback runs (for the trace). */
  onCallback(): void;
}

/**
 * RCU state of one machine.
 *
 * @example Usage
 * ```ts
 * import { Rcu } from "./rcu.ts";
 * let now = 0;
 * const timers: (() => void)[] = [];
 * const rcu = new Rcu({
 *   now: () => now,
 *   schedule: (_t, fn) => timers.push(fn),
 *   gracePeriodNs: () => 10,
 *   onCallback: () => {},
 * });
 * let ran = false;
 * const s = rcu.beginSection();
 * rcu.queue(() => ran = true);
 * timers.shift()!(); // the grace period timer: a reader is still inside
 * if (ran) throw new Error();
 * rcu.endSection(s);
 * timers.shift()!();
 * if (!ran || rcu.gracePeriods !== 1) throw new Error();
 * ```
 */
export class Rcu {
  /** Distinct instants at which callbacks ran. */
  gracePeriods = 0;
  /** Callbacks run. */
  callbacksRun = 0;
  /** Callbacks queued and not yet run. */
  pending = 0;
  readonly #host: RcuHost;
  #sectionSeq = 0;
  #sectionWaiters = new Map<number, RcuCallback[]>();
  #activeSections = new Set<number>();
  #lastGpAt = -1;

  /** When callbacks last ran (-1 before any). */
  get lastCallbackAt(): number {
    return this.#lastGpAt;
  }

  /** Creates idle RCU state. */
  constructor(host: RcuHost) {
    this.#host = host;
  }

  /** A task enters an outermost read-side section; returns the section's id. */
  beginSection(): number {
    const id = ++this.#sectionSeq;
    this.#activeSections.add(id);
    return id;
  }

  /** Queues `fn` to run after a grace period. */
  queue(fn: () => void): void {
    const cb: RcuCallback = { fn, waiting: this.#activeSections.size, timerDone: false };
    for (const id of this.#activeSections) {
      let list = this.#sectionWaiters.get(id);
      if (!list) this.#sectionWaiters.set(id, list = []);
      list.push(cb);
    }
    this.pending++;
    const h = this.#host;
    h.schedule(h.now() + h.gracePeriodNs(), () => {
      cb.timerDone = true;
      if (cb.waiting === 0) this.#fire(cb);
    });
  }

  /** Ends section `id`; callbacks that waited only for it run (in a new event, now). */
  endSection(id: number): void {
    this.#activeSections.delete(id);
    const list = this.#sectionWaiters.get(id);
    if (!list) return;
    this.#sectionWaiters.delete(id);
    for (const cb of list) {
      if (--cb.waiting === 0 && cb.timerDone) {
        this.#host.schedule(this.#host.now(), () => this.#fire(cb));
      }
    }
  }

  #fire(cb: RcuCallback): void {
    this.pending--;
    this.callbacksRun++;
    const now = this.#host.now();
    if (now !== this.#lastGpAt) {
      this.gracePeriods++;
      this.#lastGpAt = now;
    }
    this.#host.onCallback();
    cb.fn();
  }
}
