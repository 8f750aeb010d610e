/**
 * What the two trees of ranges (`GapTree`, core/lib/gap_tree.ts, and `RangeBTree`,
 * core/lib/range_btree.ts) share: reading an item's bounds, and checking a range, a gap length
 * and the items of a bulk load, with the same errors in both.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import type { Range } from "./gap_tree.ts";

/**
 * `n.start`, through {@linkcode Range.startOf} when the item has it.
 *
 * @example
 * ```ts
 * import { startOf } from "./range_checks.ts";
 * startOf({ start: 1, end: 2 }); // 1
 * ```
 */
export function startOf(n: Range): number {
  return n.startOf === undefined ? n.start : n.startOf();
}

/**
 * `n.end`, through {@linkcode Range.endOf} when the item has it.
 *
 * @example
 * ```ts
 * import { endOf } from "./range_checks.ts";
 * endOf({ start: 1, end: 2 }); // 2
 * ```
 */
export function endOf(n: Range): number {
  return n.endOf === undefined ? n.end : n.endOf();
}

/**
 * Throws a `RangeError` unless `[start, end)` is a finite, non-empty range.
 *
 * @example
 * ```ts
 * import { checkRange } from "./range_checks.ts";
 * checkRange(0, 10);
 * ```
 */
export function checkRange(start: number, end: number): void {
  if (!(start < end) || !Number.isFinite(start) || !Number.isFinite(end)) {
    throw new RangeError(`Invalid range [${start}, ${end})`);
  }
}

/**
 * Throws a `RangeError` unless `len` is a positive integer (a gap search's length).
 *
 * @example
 * ```ts
 * import { checkLen } from "./range_checks.ts";
 * checkLen(4096);
 * ```
 */
export function checkLen(len: number): void {
  if (!Number.isInteger(len) || len < 1) {
    throw new RangeError(`Gap length must be a positive integer: ${len}`);
  }
}

/**
 * The checks of a bulk load (`GapTree.load`, `RangeBTree.load`): throws a `RangeError` when the tree is
 * not empty (`size` > 0), `count` is not in `[0, items.length]`, or `items[0..count)` are not
 * valid ranges in address order, none overlapping the next.
 *
 * @example
 * ```ts
 * import { checkLoad } from "./range_checks.ts";
 * checkLoad(0, [{ start: 0, end: 10 }, { start: 20, end: 30 }], 2);
 * ```
 */
export function checkLoad(size: number, items: readonly Range[], count: number): void {
  if (size !== 0) throw new RangeError("load: the tree is not empty");
  if (!(Number.isInteger(count) && count >= 0 && count <= items.length)) {
    throw new RangeError(`load: count ${count} is not in [0, ${items.length}]`);
  }
  let prevEnd = -Infinity;
  for (let i = 0; i < count; i++) {
    const start = startOf(items[i]), end = endOf(items[i]);
    checkRange(start, end);
    if (start < prevEnd) {
      throw new RangeError(
        `load: range [${start}, ${end}) is out of order or overlaps the one before`,
      );
    }
    prevEnd = end;
  }
}
