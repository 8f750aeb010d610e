/**
 * Work totals by slot and work kind in one typed array, the counters of {@link CountingExec}
 * (which the timed machine's work figures are taken from): a slot is one tally (the total work,
 * or the work done under one lock class), and counting a call costs one element update per slot
 * it goes to, not a walk from a lock class to its tally object to its array.
 *
 * The sums are those of a {@link WorkTally} per slot: each element gets the same additions in the
 * same order, and each slot remembers the order in which its kinds were first counted.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import { WORK_KINDS, type WorkKind, workKindName } from "./exec.ts";

/**
 * Units of work by slot and work-kind index: slot `s`'s units of the kind at index `k` are
 * `data[(s << shift) + k]`. Callers update `data` themselves on the hot path, as
 * {@link SlotTallies.add} does: a positive element takes the fast branch, anything else goes to
 * {@link SlotTallies.first}; a kind index at or past `1 << shift` must first {@link widen}.
 *
 * @example Usage
 * ```ts
 * import { SlotTallies } from "./tally.ts";
 * import { workKindIndex } from "./exec.ts";
 * const t = new SlotTallies();
 * const s = t.newSlot();
 * t.add(s, workKindIndex("list_op"), 2);
 * t.add(s, workKindIndex("slab_alloc"), 1);
 * if (Object.keys(t.record(s)).join() !== "list_op,slab_alloc") throw new Error();
 * ```
 */
export class SlotTallies {
  /**
   * log2 of the slot width; every work-kind index counted so far is below `1 << shift` (at first
   * the smallest power of two for WORK_KINDS; read when constructed, as exec.ts imports this).
   */
  shift: number = Math.ceil(Math.log2(WORK_KINDS.length));
  /** The units, slot after slot (replaced when slots are added or the width grows). */
  data: Float64Array = new Float64Array(4 << this.shift);
  /** Per slot, the work-kind indices in the order first counted. */
  readonly orders: number[][] = [];

  /** Adds a zeroed slot; returns its number. */
  newSlot(): number {
    const s = this.orders.length;
    this.orders.push([]);
    const need = (s + 1) << this.shift;
    if (need > this.data.length) {
      const data = new Float64Array(Math.max(need, 2 * this.data.length));
      data.set(this.data);
      this.data = data;
    }
    return s;
  }

  /** Adds `units` of the work kind at index `k` to slot `s`. */
  add(s: number, k: number, units: number): void {
    if (k >> this.shift !== 0) this.widen(k);
    const d = this.data;
    const j = (s << this.shift) + k;
    const v = d[j];
    if (v > 0) d[j] = v + units;
    else this.first(s, k, units);
  }

  /**
   * Adds `units` of the work kind at index `k` to slot `total`, then to each slot
   * `slots[0..n)` (the classes of the locks held), and `units` to each `holdUnits[0..n)`: a work
   * call of {@link CountingExec} (the timed machine's recording counts through one), {@link SlotTallies.add}
   * inlined by hand.
   */
  addHeld(
    total: number,
    k: number,
    units: number,
    slots: Int32Array,
    holdUnits: Float64Array,
    n: number,
  ): void {
    if (k >> this.shift !== 0) this.widen(k);
    const d = this.data, sh = this.shift;
    const j0 = (total << sh) + k;
    const v0 = d[j0];
    if (v0 > 0) d[j0] = v0 + units;
    else this.first(total, k, units);
    for (let i = 0; i < n; i++) {
      holdUnits[i] += units;
      const s = slots[i];
      const j = (s << sh) + k;
      const v = d[j];
      if (v > 0) d[j] = v + units;
      else this.first(s, k, units);
    }
  }

  /** The slow path of an addition: notes kind `k` in slot `s`'s order if it is a first count. */
  first(s: number, k: number, units: number): void {
    const d = this.data;
    const j = (s << this.shift) + k;
    const v = d[j];
    if (v === 0 && !this.orders[s].includes(k)) this.orders[s].push(k);
    d[j] = v + units;
  }

  /** Re-lays the slots out wide enough for work-kind index `k`. */
  widen(k: number): void {
    const old = this.shift;
    let shift = old;
    while (k >> shift !== 0) shift++;
    const slots = this.orders.length;
    const data = new Float64Array(Math.max(4, slots) << shift);
    for (let s = 0; s < slots; s++) {
      data.set(this.data.subarray(s << old, (s + 1) << old), s << shift);
    }
    this.data = data;
    this.shift = shift;
  }

  /** Slot `s` as a record keyed by work kind, kinds in the order first counted. */
  record(s: number): Partial<Record<WorkKind, number>> {
    const out: Partial<Record<WorkKind, number>> = {};
    const d = this.data, base = s << this.shift;
    for (const k of this.orders[s]) out[workKindName(k)] = d[base + k];
    return out;
  }
}

/**
 * Held-lock slots and units with twice the room of `slots`/`units`, entries copied: the growth
 * step of the held arrays that {@link SlotTallies.addHeld} reads (the counting exec's).
 */
export function grownHeld(
  slots: Int32Array,
  units: Float64Array,
): { slots: Int32Array<ArrayBuffer>; units: Float64Array<ArrayBuffer> } {
  const n = slots.length;
  const s = new Int32Array(2 * n), u = new Float64Array(2 * n);
  s.set(slots);
  u.set(units);
  return { slots: s, units: u };
}
