/**
 * Kernel samepage merging, minimal but after Linux 6.18's `mm/ksm.c`: MADV_MERGEABLE /
 * MADV_UNMERGEABLE (`ksm_madvise`, `__ksm_enter`), one ksmd scan step (`ksm_do_scan`:
 * `scan_get_next_rmap_item` + `cmp_and_merge_page`), the stable tree of stable nodes with their
 * rmap items, the per-round unstable tree, `break_ksm` (`unmerge_ksm_pages`), `ksm_exit`, and
 * the rmap items that `rmap_walk_ksm` follows (in ksm_rmap.ts) for the walks of mm/rmap.c
 * (docs/model.md §12.9).
 *
 * Page contents: the simulator has no page data. A page written with a `value` (see
 * `Kernel.touch`) holds that content id; any other write gives it new unique content, so nothing
 * merges unless a workload asks; a page that the kernel zero-filled and no user write reached
 * since (a populate, or a read fault where the zero page is forbidden: the PTE's `zeroFilled`)
 * holds the zeroes every such page holds, so those merge, as on Linux (found by
 * `verify --random`: a MAP_POPULATE range made mergeable). The checksum of `cmp_and_merge_page`
 * is the content (ksm_content.ts): unique pages have stable checksums between writes and go
 * through the stable and unstable trees like any page, matching nothing.
 *
 * What is modelled, with its source (mm/ksm.c, Linux 6.18):
 * - ksmd's list of registered mms and its cursor: `__ksm_enter` inserts an mm just behind the
 *   cursor (scanned from the next full scan on), `__ksm_exit` moves an exiting mm with rmap items
 *   to just after it (ksmd frees it next), and a wake (`ksm_do_scan`) ends where a full scan ends;
 * - an rmap item per scanned (mm, address) of a mergeable VMA (`get_next_rmap_item`, slab
 *   `ksm_rmap_item`), kept until the address is rescanned with other content, the range is
 *   unmerged, or ksmd finds the mm exited (`remove_rmap_item_from_tree`,
 *   `remove_trailing_rmap_items`, `ksm_exit`);
 * - `cmp_and_merge_page` in its order: the checksum first (`calc_checksum` / `oldchecksum`), and
 *   only a page whose checksum equals the previous scan's is searched in the stable tree, then
 *   in the unstable tree; so two pages merge on the second full scan after they were written,
 *   and a page given a KSM page's content joins it on the second scan too (both checked on this
 *   host). A write without a content id gives the page new unique content (a new checksum); a
 *   page nothing wrote since KSM started keeps its own, unchanged;
 * - merging write-protects every mapping and clears PageAnonExclusive (`write_protect_page`),
 *   the duplicate's PTE is repointed to the KSM folio (`replace_page`) and the KSM folio's
 *   `mapping` points at its stable node (`folio_set_stable_node`; the anon rmap of the scheme
 *   no longer sees it);
 * - a merge into a VM_LOCKED VMA leaves references on both folios in ksmd's mlock batch until it
 *   fills or the next full scan drains it, and `write_protect_page` refuses a writable, dirty or
 *   exclusive mapping of a folio holding one (mm/mlock.c; scenario `ksm-mlock-batch-ref`);
 * - a large folio is split before one of its pages merges (`try_to_merge_one_page`), or, when two
 *   of its pages meet in the unstable tree, by `cmp_and_merge_page` itself; the split maps its
 *   zero-filled pages to the zero page (folio.ts `splitFolio`; scenarios `ksm-thp-*`);
 * - each rmap item in a stable node records mm, address and `vma->anon_vma`, taking a reference
 *   on it (`stable_tree_append`: `get_anon_vma`, the item at the head of the node's list);
 *   removing the item drops it (`put_anon_vma`);
 * - `rmap_walk_ksm` (ksm_rmap.ts): two passes over the stable node's rmap items (first the VMA
 *   of the item's own mm, then `search_new_forks` for VMAs of other mms); per item the anon_vma
 *   is read-locked (trylock for `folio_referenced`) and its whole interval tree iterated
 *   (0..ULONG_MAX), skipping VMAs that do not cover the item's address;
 * - the items of addresses ksmd finds not present are dropped, so a swap-in may map a KSM folio
 *   where no item is, and a fork child's copy of a mapping whose item was removed has none, out of
 *   `rmap_walk_ksm`'s reach until ksmd scans it (ksm_rmap.ts).
 *
 * Deviations, each named:
 * - [U] schemes without an anon_vma for the VMA (cow_context, a lazy VMA of anon_vma_lazy): the
 *   rmap item records the mm and address only and the walk looks the VMA up in that mm's tree
 *   (pass 1) and in every live mm forked from it (pass 2), one structure per item. How the
 *   cow_context proof of concept treats KSM folios was not read: an assumption.
 * - A freed KSM folio's stable node is dropped with it (Linux finds it stale later, in
 *   `ksm_get_folio`), after its remaining rmap items were removed.
 * - `break_ksm` maps the copy writable (Linux's FAULT_FLAG_UNSHARE maps it read-only but
 *   exclusive, so the next write reuses it without a copy: same folios, one fewer fault).
 * - Not modelled: smart scan (`ksm_smart_scan`), `max_page_sharing` chains, the zero-page
 *   option. Content (ksm_content.ts: per page for a large folio) lives with the written folio: a
 *   swap-in or a fork-time copy of a pinned page comes back with unique content.
 *
 * Scheme hooks called here: `ksmGetAnonVma` and `ksmPutAnonVma` (an rmap item's reference on
 * `vma->anon_vma`), `splitFolio` (through folio.ts), `folioFreed` (`folio_set_stable_node`: the
 * scheme's anon rmap lets go of a folio that becomes a KSM folio).
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import { countEvent, type KernelState } from "./state.ts";
import { presentPte, setPte } from "./pgtable.ts";
import { mapperKey } from "../oracle.ts";
import { wpPageCopy } from "./memory.ts";
import { splitFolio } from "./folio.ts";
import { type Content, contentOf } from "./ksm_content.ts";
import {
  type Folio,
  type Mm,
  PAGE_SIZE,
  type Pte,
  VM_LOCKED,
  VM_MERGEABLE,
  VM_SHARED,
  type Vma,
} from "./types.ts";

export { ksmSetContent } from "./ksm_content.ts";

/** `struct ksm_rmap_item`: one scanned (mm, address). */
export interface KsmRmapItem {
  /** `rmap_item->mm`. */
  readonly mm: Mm;
  /** `rmap_item->address` (page aligned). */
  readonly address: number;
  /**
   * `rmap_item->anon_vma` (pinned, the scheme's object) while in the stable tree; null otherwise
   * or when the scheme has none for the VMA.
   */
  anonVma: unknown;
  /** The stable node it hangs on (`rmap_item->head`), or null. */
  node: KsmStableNode | null;
  /** `oldchecksum`: the page's content when it was last scanned, null before its first scan. */
  oldChecksum: Content | null;
}

/** `struct ksm_stable_node`: one KSM folio and the rmap items mapping it. */
export interface KsmStableNode {
  /** Allocation id. */
  readonly id: number;
  /** The KSM folio (`kpfn`). */
  readonly folio: Folio;
  /** Its content (the stable tree's key). */
  readonly content: Content;
  /** `stable_node->hlist`, newest first. */
  readonly items: KsmRmapItem[];
  /**
   * (mm, address) pairs, as mapper keys, whose mapping of the folio, or whose fork children's
   * copies of it, may have no rmap item: a swap-in's (ksm_rmap.ts `ksmSwapinMapped`), or one
   * whose item was removed (see {@link removeRmapItemFromTree}); null while there are none.
   */
  unlinked: Set<number> | null;
}

/** `struct ksm_mm_slot`: an mm registered with KSM and its rmap items by address. */
interface KsmMmSlot {
  readonly mm: Mm;
  readonly items: Map<number, KsmRmapItem>;
  /** The mm exited with rmap items left: ksmd frees them on its next visit (`ksm_test_exit`). */
  exiting: boolean;
}

/** KSM's global state (`ksm_mm_head`, `root_stable_tree`, `root_unstable_tree`, `ksm_scan`). */
export interface KsmState {
  /** Registered mms, in `__ksm_enter` order. */
  readonly slots: KsmMmSlot[];
  /** The stable tree, by content. */
  readonly stable: Map<Content, KsmStableNode>;
  /** The unstable tree of the current full scan, by content: the item and its page then. */
  unstable: Map<Content, { item: KsmRmapItem; folio: Folio; page: number }>;
  /** The content of each small folio written since KSM started (see ksm_content.ts). */
  readonly content: WeakMap<Folio, Content>;
  /** The content of each large folio's pages, by page (see ksm_content.ts). */
  readonly pageContent: WeakMap<Folio, Map<number, Content>>;
  /** Stable node of each KSM folio (`folio->mapping`). */
  readonly nodeOf: WeakMap<Folio, KsmStableNode>;
  /**
   * `ksm_scan`: the index in `slots` of the mm being scanned (`ksm_scan.mm_slot`) and the next
   * address to scan in it; slot {@link AT_HEAD} between full scans (`&ksm_mm_head`).
   */
  cursor: { slot: number; addr: number };
  /** Completed full scans (`ksm_scan.seqnr`). */
  fullScans: number;
  /** Next stable node id. */
  nextNodeId: number;
  /**
   * ksmd's CPU's mlock folio batch (`mlock_fbatch`, mm/mlock.c): a folio for every reference
   * `mlock_folio` or `munlock_folio` took on a folio that `replace_page` mapped into, or
   * unmapped from, a VM_LOCKED VMA; let go when the batch fills ({@link MLOCK_BATCH_SIZE}) and
   * at the start of a full scan (`lru_add_drain_all`).
   */
  mlockBatch: Folio[];
}

/**
 * `PAGEVEC_SIZE` (include/linux/pagevec.h, Linux 6.18): a per-CPU folio batch holds 31 folios,
 * and the add that fills it processes the batch (`folio_batch_add` returns the space left).
 */
export const MLOCK_BATCH_SIZE = 31;

/** `cursor.slot` while the cursor is at the list head (`ksm_scan.mm_slot == &ksm_mm_head`). */
const AT_HEAD = -1;

/** The KSM state of `k`, created on first use. */
export function ksmState(k: KernelState): KsmState {
  return k.ksm ??= {
    slots: [],
    stable: new Map(),
    unstable: new Map(),
    content: new WeakMap(),
    pageContent: new WeakMap(),
    nodeOf: new WeakMap(),
    cursor: { slot: AT_HEAD, addr: 0 },
    fullScans: 0,
    nextNodeId: 1,
    mlockBatch: [],
  };
}

/** `vma_ksm_compatible`: private, not hugetlb/IO/PFNMAP (the simulator has neither). */
function vmaKsmCompatible(vma: Vma): boolean {
  return !(vma.flags & VM_SHARED);
}

/**
 * `ksm_madvise` for one VMA: returns the new `vm_flags`. MADV_MERGEABLE registers the mm
 * (`__ksm_enter`, slab `ksm_mm_slot`) and sets VM_MERGEABLE on compatible VMAs;
 * MADV_UNMERGEABLE breaks the range's KSM pages (`unmerge_ksm_pages`) and clears it.
 */
export function ksmMadvise(
  k: KernelState,
  vma: Vma,
  start: number,
  end: number,
  mergeable: boolean,
): number {
  if (mergeable) {
    if ((vma.flags & VM_MERGEABLE) || !vmaKsmCompatible(vma)) return vma.flags;
    ksmEnter(k, vma.mm);
    return vma.flags | VM_MERGEABLE;
  }
  if (!(vma.flags & VM_MERGEABLE)) return vma.flags;
  unmergeKsmPages(k, vma, start, end);
  return vma.flags & ~VM_MERGEABLE;
}

/**
 * `__ksm_enter`: registers `mm` once, "just behind the scanning cursor, to let the area settle
 * down a little" (mm/ksm.c: `list_add_tail` before `ksm_scan.mm_slot`): before the slot being
 * scanned, so that the mm is first scanned in the next full scan; at the end of the list when
 * the cursor is between scans. (ksmd runs with KSM_RUN_MERGE; KSM_RUN_UNMERGE, which inserts at
 * the end, is not modelled.)
 */
export function ksmEnter(k: KernelState, mm: Mm): void {
  const s = ksmState(k);
  if (s.slots.some((x) => x.mm === mm)) return;
  k.slab.alloc("ksm_mm_slot");
  const slot: KsmMmSlot = { mm, items: new Map(), exiting: false };
  const c = s.cursor.slot;
  if (c === AT_HEAD || c >= s.slots.length) s.slots.push(slot);
  else {
    s.slots.splice(c, 0, slot);
    s.cursor.slot = c + 1;
  }
}

/**
 * `unmerge_ksm_pages` → `break_ksm` for every KSM page mapped in `[start, end)` of `vma`: the
 * mapping gets a private copy with the same content. The rmap items stay in the stable tree
 * until ksmd rescans their address, as in Linux.
 */
export function unmergeKsmPages(k: KernelState, vma: Vma, start: number, end: number): void {
  const s = k.ksm;
  if (!s) return;
  const mm = vma.mm;
  for (const vpn of mm.pages.rangeKeys(start / PAGE_SIZE, end / PAGE_SIZE)) {
    const pte = mm.pages.get(vpn)!;
    const f = pte.folio;
    if (!f || !f.ksm) continue;
    const content = s.nodeOf.get(f)!.content;
    const copy = wpPageCopy(k, vma, vpn * PAGE_SIZE);
    s.content.set(copy, content);
    countEvent(k, "ksm_break_cow");
  }
}

/** `ksm_fork`: a child of a registered mm is registered too. */
export function ksmFork(k: KernelState, child: Mm, parent: Mm): void {
  if (k.ksm?.slots.some((x) => x.mm === parent)) ksmEnter(k, child);
}

/**
 * `ksm_exit` (`__ksm_exit`): the slot the cursor is in stays where it is; any other slot without
 * rmap items is freed at once ("easy to free"), and one with items is moved to just after the
 * cursor's slot (`list_move`; to the front of the list when the cursor is between scans), so
 * that ksmd visits it next. Its items stay until that visit removes them
 * (`scan_get_next_rmap_item` with `ksm_test_exit`), still pinning their anon_vmas and still
 * walked: a fork child that maps a KSM page without an item of its own is found through the
 * exited parent's items (pass 2 of `rmap_walk_ksm`).
 */
export function ksmExit(k: KernelState, mm: Mm): void {
  const s = k.ksm;
  if (!s) return;
  const i = s.slots.findIndex((x) => x.mm === mm);
  if (i < 0) return;
  const slot = s.slots[i];
  if (i === s.cursor.slot) {
    slot.exiting = true;
    return;
  }
  if (slot.items.size === 0) {
    dropSlot(k, s, i);
    return;
  }
  slot.exiting = true;
  s.slots.splice(i, 1);
  if (i < s.cursor.slot) s.cursor.slot--;
  s.slots.splice(s.cursor.slot === AT_HEAD ? 0 : s.cursor.slot + 1, 0, slot);
}

/** Frees slot `i` and its remaining rmap items, keeping the scan cursor on the next slot. */
function dropSlot(k: KernelState, s: KsmState, i: number): void {
  for (const item of s.slots[i].items.values()) freeRmapItem(k, item);
  s.slots.splice(i, 1);
  k.slab.free("ksm_mm_slot");
  if (s.cursor.slot > i) s.cursor.slot--;
  else if (s.cursor.slot === i) s.cursor.addr = 0;
}

function freeRmapItem(k: KernelState, item: KsmRmapItem): void {
  removeRmapItemFromTree(k, item);
  k.slab.free("ksm_rmap_item");
}

/**
 * `remove_rmap_item_from_tree`: off its stable node, dropping the anon_vma reference. The item's
 * own mm no longer maps the KSM folio there (or has exited), but fork children that copied its
 * mapping may still: `rmap_walk_ksm` found those only through this item (`search_new_forks`), and
 * cannot reach them until ksmd scans their address and appends their own item (mm/ksm.c,
 * `cmp_and_merge_page`). The (mm, address) is recorded for the walk check (ksm_rmap.ts).
 */
function removeRmapItemFromTree(k: KernelState, item: KsmRmapItem): void {
  const node = item.node;
  if (!node) return;
  (node.unlinked ??= new Set()).add(mapperKey(item.mm, item.address));
  node.items.splice(node.items.indexOf(item), 1);
  k.exec.work("list_op");
  item.node = null;
  if (item.anonVma) {
    k.scheme.ksmPutAnonVma!(item.anonVma);
    item.anonVma = null;
  }
  if (node.items.length === 0 && node.folio.freed) freeStableNode(k, node);
}

function freeStableNode(k: KernelState, node: KsmStableNode): void {
  const s = ksmState(k);
  if (s.stable.get(node.content) === node) s.stable.delete(node.content);
  k.slab.free("ksm_stable_node");
}

/** A KSM folio's last reference went (called by `freeFolio` instead of the scheme hook). */
export function ksmFolioFreed(k: KernelState, f: Folio): void {
  const s = ksmState(k);
  const node = s.nodeOf.get(f)!;
  if (s.stable.get(node.content) === node) s.stable.delete(node.content);
  if (node.items.length === 0) freeStableNode(k, node);
}

/**
 * `stable_tree_append`: hang `item` (mapping `vma`) on `node`, at the head of its list
 * (`hlist_add_head`: rmap_walk_ksm visits the newest item first), pinning `vma->anon_vma`.
 */
function stableTreeAppend(k: KernelState, item: KsmRmapItem, node: KsmStableNode, vma: Vma): void {
  item.node = node;
  item.anonVma = k.scheme.ksmGetAnonVma?.(vma) ?? null;
  node.items.unshift(item);
  k.exec.work("list_op");
}

/** `write_protect_page`: the mapping becomes read-only and not exclusive. */
function writeProtect(k: KernelState, mm: Mm, addr: number): void {
  const pte = mm.pages.get(addr / PAGE_SIZE);
  if (pte?.kind !== "present") return;
  pte.writable = false;
  pte.folio.setPageAnonExclusive(pte.page, false);
  k.exec.work("pte_update");
}

/** Turns `f` into a KSM folio with a new stable node (`stable_tree_insert`). */
function stableTreeInsert(k: KernelState, f: Folio, content: Content): KsmStableNode {
  const s = ksmState(k);
  k.slab.alloc("ksm_stable_node");
  const node: KsmStableNode = {
    id: s.nextNodeId++,
    folio: f,
    content,
    items: [],
    unlinked: null,
  };
  // folio_set_stable_node: folio->mapping now points at the stable node; the scheme's anon rmap
  // lets go of the folio.
  k.scheme.folioFreed(f);
  f.ksm = true;
  f.rmap = node;
  s.nodeOf.set(f, node);
  s.stable.set(content, node);
  k.exec.work("tree_update", treeDepth(s.stable.size));
  countEvent(k, "ksm_pages_shared");
  return node;
}

/**
 * `replace_page`: the PTE at `addr` of `vma` maps the KSM folio instead of its duplicate. In a
 * VM_LOCKED VMA the rmap calls mlock the KSM folio (`folio_add_anon_rmap_pte` →
 * `mlock_vma_folio`) and then munlock the duplicate (`folio_remove_rmap_pte` →
 * `munlock_vma_folio`), each taking a reference held in ksmd's mlock batch.
 */
function replacePage(k: KernelState, vma: Vma, addr: number, kfolio: Folio): void {
  const mm = vma.mm;
  const old = mm.pages.get(addr / PAGE_SIZE)!;
  setPte(k, mm, addr, presentPte(kfolio, 0, false, old.young));
  countEvent(k, "ksm_pages_merged");
  if ((vma.flags & VM_LOCKED) !== 0 && old.kind === "present") {
    const s = ksmState(k);
    mlockBatchAdd(s, kfolio);
    mlockBatchAdd(s, old.folio);
  }
}

/** `mlock_folio` / `munlock_folio` on ksmd's CPU: one more reference in its batch. */
function mlockBatchAdd(s: KsmState, f: Folio): void {
  s.mlockBatch.push(f);
  // The add that fills the batch processes it (`mlock_folio_batch`): every reference goes.
  if (s.mlockBatch.length === MLOCK_BATCH_SIZE) s.mlockBatch.length = 0;
}

/**
 * Whether `write_protect_page` gives up on the mapping at `addr` of `mm`: a writable, dirty or
 * PageAnonExclusive entry of a folio with a reference beyond its mappings and KSM's own
 * (`folio_mapcount(folio) + 1 + swapped != folio_ref_count(folio)`). The one such reference the
 * model keeps is ksmd's mlock batch's (mm/mlock.c), on pages a locked merge unmapped this scan.
 */
function writeProtectFails(s: KsmState, mm: Mm, addr: number): boolean {
  const pte = mm.pages.get(addr / PAGE_SIZE);
  if (pte?.kind !== "present" || !s.mlockBatch.includes(pte.folio)) return false;
  return pte.writable || pte.dirty === true || pte.folio.pageAnonExclusive(pte.page);
}

function treeDepth(n: number): number {
  return n <= 1 ? 1 : Math.ceil(Math.log2(n + 1));
}

/**
 * One ksmd wake (`ksm_do_scan(pages_to_scan)`): scans up to `pages` present anon pages of the
 * registered mms' VM_MERGEABLE VMAs in order, merging identical content, and stops early where a
 * full scan ends: `scan_get_next_rmap_item` returns NULL once it has passed the last mm
 * (`ksm_scan.seqnr++`), and `ksm_do_scan` returns on NULL, so a wake never starts the next full
 * scan (mm/ksm.c, Linux 6.18; on this host, with `pages_to_scan` 10,000 and 4 mergeable pages,
 * every wake scans 4 pages and two equal pages merge on the second wake). Returns the pages
 * scanned (0 when nothing is registered).
 */
export function ksmDoScan(k: KernelState, pages: number): number {
  const s = k.ksm;
  if (!s || s.slots.length === 0) return 0;
  let scanned = 0;
  while (scanned < pages) {
    if (s.cursor.slot === AT_HEAD) {
      // A full scan starts from the list head with an empty unstable tree, after
      // `lru_add_drain_all` (which also processes every CPU's mlock batch).
      s.cursor = { slot: 0, addr: 0 };
      s.unstable = new Map();
      s.mlockBatch.length = 0;
    }
    if (s.cursor.slot >= s.slots.length) {
      // Past the last mm: the full scan ends (ksm_scan.seqnr++), and the wake with it.
      s.cursor = { slot: AT_HEAD, addr: 0 };
      s.fullScans++;
      break;
    }
    const slot = s.slots[s.cursor.slot];
    if (slot.exiting) {
      dropSlot(k, s, s.cursor.slot);
      continue;
    }
    const next = nextPage(slot.mm, s.cursor.addr);
    if (next === null) {
      removeTrailingRmapItems(k, slot, Infinity, s.cursor.addr);
      s.cursor = { slot: s.cursor.slot + 1, addr: 0 };
      continue;
    }
    removeTrailingRmapItems(k, slot, next.addr, s.cursor.addr);
    s.cursor.addr = next.addr + PAGE_SIZE;
    scanned++;
    let item = slot.items.get(next.addr);
    if (!item) {
      k.slab.alloc("ksm_rmap_item");
      item = { mm: slot.mm, address: next.addr, anonVma: null, node: null, oldChecksum: null };
      slot.items.set(next.addr, item);
    }
    cmpAndMergePage(k, item, next.vma, next.folio);
  }
  countEvent(k, "ksm_pages_scanned", scanned);
  return scanned;
}

/** `remove_trailing_rmap_items`: items of addresses in `[from, to)` that are no longer scanned. */
function removeTrailingRmapItems(
  k: KernelState,
  slot: KsmMmSlot,
  to: number,
  from: number,
): void {
  for (const [addr, item] of slot.items) {
    if (addr >= from && addr < to) {
      freeRmapItem(k, item);
      slot.items.delete(addr);
    }
  }
}

/** `scan_get_next_rmap_item`'s page search: the next present small anon page of a mergeable VMA. */
function nextPage(mm: Mm, from: number): { vma: Vma; addr: number; folio: Folio } | null {
  for (const vma of mm.vmas.intersecting(from, Number.MAX_SAFE_INTEGER)) {
    if (!(vma.flags & VM_MERGEABLE)) continue;
    const lo = Math.max(vma.start, from) / PAGE_SIZE;
    for (const vpn of mm.pages.rangeKeys(lo, vma.end / PAGE_SIZE)) {
      const f = mm.pages.get(vpn)!.folio;
      if (f && f.anon) return { vma, addr: vpn * PAGE_SIZE, folio: f };
    }
  }
  return null;
}

/**
 * `try_to_merge_one_page`'s `split_huge_page(page)` of the large folio mapped at the item's
 * address: whether a small anon page is there after it (the split fails for a pinned folio or
 * one in the swap cache, and maps a zero-filled page to the zero page: nothing to merge then).
 */
function splitForMerge(k: KernelState, item: KsmRmapItem): boolean {
  const f = itemPte(item)?.folio;
  if (!f || !splitFolio(k, f)) return false;
  const now = itemPte(item);
  return now?.kind === "present" && now.folio.anon && now.folio.nrPages === 1;
}

/** The entry at the item's address now (the kernel finds the page by it: `get_mergeable_page`). */
function itemPte(item: KsmRmapItem): Pte | undefined {
  return item.mm.pages.get(item.address / PAGE_SIZE);
}

/**
 * `cmp_and_merge_page` (mm/ksm.c, Linux 6.18), in its order: a KSM page already on its item's
 * stable node is done; one reached by fork joins its node. Any other page leaves the trees, and
 * goes on only when its checksum equals the previous scan's (a page whose content changed is
 * merged with nothing, not even with a KSM page of that content: on this host, a page given a
 * KSM page's content merges two scans later, not one); then the stable tree is searched (a match
 * merges the page into that KSM page), then the unstable tree (a match there makes both pages
 * one new KSM page; no match inserts the page, unless the match is the page itself).
 */
function cmpAndMergePage(k: KernelState, item: KsmRmapItem, vma: Vma, f: Folio): void {
  const s = ksmState(k);
  if (f.ksm) {
    const node = s.nodeOf.get(f)!;
    if (item.node === node) return;
    // A KSM page reached by fork, or an item that was removed: stable_tree_search returns the
    // page's own node without a tree search, and the item is appended to it.
    removeRmapItemFromTree(k, item);
    stableTreeAppend(k, item, node, vma);
    return;
  }
  removeRmapItemFromTree(k, item);
  const content = contentOf(s, f, item.mm, item.address);
  k.exec.work("page_copy"); // calc_checksum: one pass over the page [U]
  if (item.oldChecksum !== content) {
    item.oldChecksum = content;
    return;
  }
  k.exec.work("tree_visit", treeDepth(s.stable.size)); // stable_tree_search
  const stable = s.stable.get(content);
  if (stable && !stable.folio.freed) {
    // try_to_merge_with_ksm_page; on failure the item stays out of both trees until its next scan.
    if (f.nrPages > 1 && !splitForMerge(k, item)) return;
    if (writeProtectFails(s, item.mm, item.address)) return;
    writeProtect(k, item.mm, item.address);
    replacePage(k, vma, item.address, stable.folio);
    stableTreeAppend(k, item, stable, vma);
    return;
  }
  k.exec.work("tree_visit", treeDepth(s.unstable.size)); // unstable_tree_search_insert
  const page = itemPte(item)!.page!;
  const other = s.unstable.get(content);
  if (other && other.folio === f && other.page === page) return; // the tree page is this page
  if (
    !other || other.folio.freed ||
    contentOf(s, other.folio, other.item.mm, other.item.address) !== content
  ) {
    s.unstable.set(content, { item, folio: f, page });
    return;
  }
  if (other.folio === f) {
    // Two pages of one large folio: try_to_merge_one_page cannot split it while the tree page
    // holds a reference too, so cmp_and_merge_page splits it after (its `split`); the tree item
    // stays, and this page merges on a later scan.
    splitFolio(k, f);
    return;
  }
  // try_to_merge_two_pages: this page becomes the KSM page (`try_to_merge_with_ksm_page(rmap_item,
  // folio, NULL)`), then the tree page's mapping is replaced by it; stable_tree_insert, and the
  // tree item is appended before this one. A large folio is split first, this page's then the
  // tree page's ([U] where the tree page's split fails after this one's, Linux breaks the new KSM
  // page's CoW again, `break_cow`; the model leaves both pages as they are).
  s.unstable.delete(content);
  const tree = other.folio;
  const otherVma = other.item.mm.vmas.find(other.item.address);
  if (!otherVma || itemPte(other.item)?.folio !== tree) return;
  if (f.nrPages > 1 && !splitForMerge(k, item)) return;
  if (tree.nrPages > 1 && !splitForMerge(k, other.item)) return;
  const kf = itemPte(item)!.folio!;
  for (const m of kf.mappers.values()) writeProtect(k, m.mm, m.addr);
  writeProtect(k, other.item.mm, other.item.address);
  const node = stableTreeInsert(k, kf, content);
  replacePage(k, otherVma, other.item.address, kf);
  stableTreeAppend(k, other.item, node, otherVma);
  stableTreeAppend(k, item, node, vma);
}
