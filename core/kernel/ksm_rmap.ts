/**
 * The reverse map of KSM folios, after Linux 6.18's `mm/ksm.c`: `rmap_walk_ksm`, which reaches a
 * KSM folio's mappings through the rmap items on its stable node (ksm.ts keeps the items), and
 * the mappings Linux leaves without an item until ksmd scans them, which the walk check of
 * rmap_walk.ts lets pass (`ksmUnreachable`): a swap-in from the swap cache after ksmd dropped the
 * items of the swapped-out addresses, or after mremap moved the swap entry (`ksmSwapinMapped`),
 * and a fork child's copy of a mapping whose item was removed (ksm.ts `removeRmapItemFromTree`).
 *
 * Scheme hooks called here: `ksmWalkAnonVma` (`rmap_walk_ksm`'s walk of an item's anon_vma).
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import type { RmapVisit, WalkKind, WalkReport } from "../rmap/scheme.ts";
import { mapperKey } from "../oracle.ts";
import { countEvent, type KernelState } from "./state.ts";
import { type KsmStableNode, ksmState } from "./ksm.ts";
import type { Folio, Mm, Vma } from "./types.ts";

/**
 * `rmap_walk_ksm` (mm/ksm.c): two passes over the stable node's rmap items; per item, read-lock
 * its anon_vma (trylock when `tryLock`) and iterate its whole interval tree, offering each VMA of
 * the item's mm (pass 1) or of another mm (pass 2, `search_new_forks`) that covers the item's
 * address.
 */
export function rmapWalkKsm(
  k: KernelState,
  folio: Folio,
  _kind: WalkKind,
  tryLock: boolean,
  visit: RmapVisit,
): WalkReport {
  const node = ksmState(k).nodeOf.get(folio)!;
  let structures = 0, treeNodes = 0;
  for (let searchNewForks = 0; searchNewForks < 2; searchNewForks++) {
    for (const item of node.items) {
      const addr = item.address;
      const offer = (vma: Vma): boolean => {
        if (addr < vma.start || addr >= vma.end) return true;
        if ((item.mm === vma.mm) === (searchNewForks === 1)) return true;
        return visit(vma, addr);
      };
      structures++;
      if (item.anonVma && k.scheme.ksmWalkAnonVma) {
        const r = k.scheme.ksmWalkAnonVma(item.anonVma, tryLock, offer);
        treeNodes += r.treeNodes;
        if (r.contended) return { contended: true, structures, treeNodes };
        if (r.stopped) return { contended: false, structures, treeNodes };
        continue;
      }
      // No anon_vma ([U], module header): the item's mm, then the mms forked from it.
      for (const mm of k.mms.values()) {
        if (searchNewForks === 0 ? mm !== item.mm : !descendsFrom(mm, item.mm)) continue;
        k.exec.work("vma_lookup");
        const vma = mm.vmas.find(addr);
        if (vma && !offer(vma)) return { contended: false, structures, treeNodes };
      }
    }
  }
  return { contended: false, structures, treeNodes };
}

function descendsFrom(mm: Mm, ancestor: Mm): boolean {
  for (let p = mm.parent; p; p = p.parent) if (p === ancestor) return true;
  return false;
}

/**
 * `do_swap_page` mapped the KSM folio `f`, still in the swap cache, at `addr` of `mm` (mm/memory.c:
 * `ksm_might_need_to_copy` returns a KSM folio with its stable node as it is). ksmd drops the rmap
 * item of every address it finds not present (`get_next_rmap_item` frees the items below the next
 * present page, `remove_trailing_rmap_items` those past the last; mm/ksm.c, Linux 6.18), and
 * nothing in the swap-in adds one: when no item of the stable node has this address in `mm` or in
 * an mm it was forked from, `rmap_walk_ksm` cannot reach the mapping (nor its copies in later fork
 * children) until ksmd scans the address again and `cmp_and_merge_page` appends an item for it.
 * Such a mapping is recorded (for {@link ksmUnreachable}) and counted (`ksm_swapin_unlinked`).
 *
 * @example Usage
 * ```ts ignore
 * if (folio.ksm) ksmSwapinMapped(k, folio, mm, addr);
 * ```
 */
export function ksmSwapinMapped(k: KernelState, f: Folio, mm: Mm, addr: number): void {
  const node = ksmState(k).nodeOf.get(f)!;
  if (coveredByItem(node, mm, addr)) return;
  (node.unlinked ??= new Set()).add(mapperKey(mm, addr));
  countEvent(k, "ksm_swapin_unlinked");
}

/**
 * Whether a walk of the KSM folio `f` cannot reach its mapping at `addr` of `mm` in Linux: no rmap
 * item covers it, and it is a mapping {@link ksmSwapinMapped} recorded, or the copy in a fork
 * child of a mapping whose item was removed (ksm.ts `removeRmapItemFromTree`: the parent's item
 * went, after a CoW break, MADV_UNMERGEABLE or its exit, before ksmd scanned the child). The walk
 * check lets such a miss pass; any other miss (a mapping a merge made without an item) is the
 * model's bug.
 *
 * @example Usage
 * ```ts ignore
 * if (!(folio.ksm && ksmUnreachable(k, folio, mm, addr))) throw missed;
 * ```
 */
export function ksmUnreachable(k: KernelState, f: Folio, mm: Mm, addr: number): boolean {
  const node = ksmState(k).nodeOf.get(f);
  if (!node?.unlinked || coveredByItem(node, mm, addr)) return false;
  for (let m: Mm | null = mm; m; m = m.parent) {
    if (node.unlinked.has(mapperKey(m, addr))) return true;
  }
  return false;
}

/** Whether an rmap item of `node` has `addr` in `mm` or in an mm that `mm` was forked from. */
function coveredByItem(node: KsmStableNode, mm: Mm, addr: number): boolean {
  for (const item of node.items) {
    if (item.address === addr && (item.mm === mm || descendsFrom(mm, item.mm))) return true;
  }
  return false;
}
