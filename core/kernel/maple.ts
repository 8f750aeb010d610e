/**
 * The mm's maple tree as the simulator counts it: the number of `maple_node` slab objects that
 * hold an mm's VMAs, kept in step with `map_count`. The VMAs themselves sit in the simulator's
 * own tree (`vma_tree.ts`); only the node count of the kernel's tree is modelled.
 *
 * Stands for `lib/maple_tree.c` (node counts only: `params.mapleEntriesPerNode` entries per
 * node, a leaf level holding `2 * map_count + 1` entries for the ranges and the gaps between
 * them, and the levels above it).
 *
 * Scheme hooks called here: none.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import type { KernelState } from "./state.ts";
import type { Mm } from "./types.ts";

/** Maple nodes holding the ranges and gaps of `n` VMAs, `per` entries per node. */
function mapleNodes(n: number, per: number): number {
  if (n === 0) return 0;
  let level = Math.ceil((2 * n + 1) / per);
  let total = level;
  while (level > 1) {
    level = Math.ceil(level / per);
    total += level;
  }
  return total;
}

/**
 * Accounts the `maple_node` slab objects of an mm whose VMA count went from `oldCount` to
 * `mm.mapCount` (allocating or freeing the difference).
 *
 * @example Usage
 * ```ts ignore
 * const old = mm.mapCount++;
 * updateMaple(k, mm, old);
 * ```
 */
export function updateMaple(k: KernelState, mm: Mm, oldCount: number): void {
  const per = k.params.mapleEntriesPerNode;
  const n = mm.mapCount;
  // The node count depends on a non-zero count only through its leaf count: mostly unchanged.
  if (
    n !== 0 && oldCount !== 0 &&
    Math.ceil((2 * n + 1) / per) === Math.ceil((2 * oldCount + 1) / per)
  ) return;
  const d = mapleNodes(n, per) - mapleNodes(oldCount, per);
  if (d > 0) k.slab.alloc("maple_node", d);
  else if (d < 0) k.slab.free("maple_node", -d);
}
