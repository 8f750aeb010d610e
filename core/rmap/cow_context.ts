/**
 * CoW contexts: Lorenzo Stoakes' 2026 proof of concept of a replacement for the anon_vma reverse
 * mapping (`mm/cow_context.c`, `mm/rmap.c` of the `project/cow-context` branch; reference §10.4,
 * §12.5 E7).
 *
 * Model, object for object:
 * - **One context per mm** (`mm_init_cow_context`), a `cow_context` slab object. Fork links the
 *   child's context under the parent's (`dup_cow_context`: parent pointer, `list_add_rcu` at the
 *   head of the parent's children list under the parent's list lock, a reference on the parent).
 *   Reference count = 1 for the mm + 1 per child context + 1 per folio pointing at it. Teardown
 *   of the mm clears `context->mm` and drops the mm's reference (`drop_cow_context`); a context
 *   whose count reaches 0 is unlinked from its parent (under the parent's list lock) and freed
 *   after an RCU grace period (`kfree_rcu`), cascading to the parent (`__put_cow_context`). So a
 *   context of an exited process lives on while children or folios reference it.
 * - **Folio → context** (`folio->cow_context`): a new exclusive folio points at the faulting mm's
 *   context; `folio_move_anon_rmap` (reuse on a write fault) moves it to the writer's context;
 *   freeing the folio drops its reference.
 * - **Remap table** per context: a VMA "is remapped" when it has anon state and
 *   `offset = (vm_start >> PAGE_SHIFT) − vm_pgoff ≠ 0` (`should_track_remap`: private anonymous
 *   VMAs, and MAP_PRIVATE file VMAs whose CoW'd anon folios are indexed by file offset). The table
 *   maps anon pgoff ranges `[vm_pgoff, vm_pgoff + pages − 1]` to the set of offsets of the remapped
 *   VMAs over that range; an entry holds one offset or a sorted array of offsets (a
 *   `cow_remap_array` object, freed after RCU). It is kept equal to the remapped VMAs of the mm:
 *   mremap (`clone(…, "remap")`, `cow_context_do_remap`), fork (`cow_context_do_fork`),
 *   split/merge/expand (`clone(…, "split")`, `adjust`: remove then re-add the adjusted range,
 *   `cow_context_vma_adjust`), unmap (`unlink`, `cow_context_vma_unmap`).
 * - **Walk** (`cow_context_walk`): under `rcu_read_lock`, contexts are traversed from the folio's
 *   context: that context first, then its descendants depth-first in post-order (children in list
 *   order, newest first, as `traverse_contexts` does). For each context whose mm is live:
 *   (1) the unmoved mappings, VMAs of the mm intersecting `[index << 12, (index + nr) << 12)` with
 *   offset 0; (2) the exclusive short-cut; (3) for each unique offset of the remap entries over
 *   `[index, index + nr − 1]` (ascending, as the PoC's sorted dynarray), the VMAs at
 *   `(index + offset) << 12` whose offset equals it. No anon_vma and no rwsem: a `referenced`
 *   trylock never fails (RCU readers never block).
 *
 * Deviations from the PoC, each needed for the walk to be complete (the kernel core verifies every
 * walk against the oracle):
 * - **Exclusive short-cut.** The PoC stops the whole walk after step 1 of the first live context
 *   when the folio was and still is not maybe-mapped-shared (“exclusive folios are moved to the
 *   correct CoW context level”). That misses a mapping when an exclusive folio's only mapping is in
 *   a descendant — e.g. the parent wrote to a folio shared with a child (the parent gets a copy;
 *   the original stays in the parent's context, mapped only by the child). Default
 *   (`exclusiveShortcut: "found"`): stop only when, in addition, step 1 of this context visited
 *   the folio's one mapping (a PTE mapping the folio, which `rmap_one` sees). `"poc"` reproduces
 *   the PoC's condition (the oracle then reports the miss); `"off"` never stops early.
 * - **Possibly shared new folios.** The PoC sets the faulting mm's context regardless of
 *   exclusivity. A folio swapped in from a swap slot shared by several processes
 *   (`__folio_set_anon` with exclusive false) is later mapped from the swap cache by the others,
 *   which need not be descendants of the faulting mm. Default (`sharedNewAnon: "root"`): such a
 *   folio points at the root of the faulting mm's context hierarchy (what anon_vma does with the
 *   root anon_vma); every process sharing the slot descends from it. `"faulting"` is the PoC's
 *   rule.
 *
 * PoC behaviours read in mm/cow_context.c (a4ac1966) and deliberately not modelled (the model
 * keeps each entry a sorted set of distinct offsets, which is what the walk needs):
 * - `find_and_remap_existing` rewrites an offset inside an array in place (`set_multi_remap`)
 *   without re-sorting, so an array can lose its order or hold a duplicate after an mremap.
 * - Growth uses `krealloc`, which frees the old array at once although RCU walkers may still
 *   read it; only the shrink to one offset uses `kfree_rcu`. The model frees grown arrays at
 *   once, as the PoC does.
 * - Re-adding an offset an entry already holds as a tagged word expands it first
 *   (`__dynarray_append_stack` before the duplicate check): the entry becomes a one-offset
 *   array of capacity 2. `cow_context_do_fork` re-adds the parent's tracked MAP_PRIVATE file
 *   ranges on every fork (`cow_context_do_map_private_cow(pvma)`), so after the first fork each
 *   such entry would cost a kmalloc-32 it does not need; the model does not charge it.
 *
 * Assumptions where the PoC is silent or the model simplifies [U]:
 * - The PoC keeps anon_vmas in parallel (validation mode). The model is the proposal's end state
 *   without them (`keepAnonVma: false`, the only value implemented); a VMA's "anon state" is a
 *   per-VMA flag set by the first fault (`prepare`), inherited by fork/clone/split and cleared by
 *   `unlink`.
 * - `isForkChild` is always false: the merge rule that refuses to give a fork child's anon state
 *   to an unfaulted neighbour exists only for anon_vma lock scalability (a chain longer than one);
 *   contexts have no chains, and merges only need pgoff contiguity (`anonIdentity` is the mm's
 *   context for every faulted VMA). Modelling choice.
 * - `maybeHasSharedAnon` is always true: no MREMAP_RELOCATE_ANON support (`relocate` is absent).
 * - Remap table entries are canonical: entry boundaries are exactly the endpoints of the live
 *   remapped ranges, adjacent entries are not coalesced. The PoC splits entries at range
 *   boundaries the same way but may keep a stale boundary after a removal (it never coalesces),
 *   so the model may count slightly fewer entries. The table ({@link RemapTable}) is updated
 *   incrementally, one range at a time, in O(log n + k) for k entries overlapping the range.
 * - Every structure the design adds is counted (slab sizes derived field by field from the PoC's
 *   struct definitions, core/slab.ts): contexts (`cow_context`, 96 B, kmalloc-96); remap entries
 *   (`cow_remap_entry`, 0 B: a tagged word in a maple slot); the remap tables' maple nodes in a
 *   cache of their own (`cow_remap_node`, 256 B; the kernel allocates them from the `maple_node`
 *   cache every VMA tree shares): a table of n entries stores about 2n + 1 ranges (entries and
 *   gaps), `remapEntriesPerNode` per node, plus the internal levels (the same estimate as the
 *   kernel core's VMA trees; freed at once as that estimate is); and the offset arrays
 *   (`struct dynarray`, 8 + 8·capacity bytes) in the kmalloc class their capacity reaches: 2
 *   when an entry gains its second offset, doubled by `krealloc` when full, never shrunk, freed
 *   (RCU) when one offset is left, duplicated at the same capacity when a split copies it
 *   (`cow_remap_array` … `cow_remap_array_1k`, capacities 2–64). A walk that gathers more than
 *   16 distinct offsets allocates a transient array (GFP_ATOMIC, capacity 32) and RCU-frees it.
 * - Walk costs: `structures` = contexts traversed (live mm or not) + remap entries examined;
 *   `treeNodes` = maple nodes touched by range lookups, one node per tree level: a VMA-tree
 *   lookup of an mm with map_count n touches `depth(2n + 1)` nodes, a remap-table lookup of a table
 *   of k entries `depth(2k + 1)` (0 when empty), where depth counts levels with
 *   `remapEntriesPerNode` slots per node (≈ log10(2n + 1) + 1). Each traversal step is charged one
 *   `list_op`, each lookup its nodes as `tree_visit`.
 * - Locks: the parent's `"cow_context.list"` spinlock around children-list changes (fork link,
 *   unlink at free); a `"cow_context.remap"` spinlock per context around each remap table change
 *   (the PoC's maple-tree lock / `concurrent_unmap_lock`), once for the removals and once for the
 *   additions of an `adjust`. Each table change charges one `tree_update` per entry overlapping a
 *   changed range (at least one).
 * - "Maybe mapped shared" (`folio_maybe_mapped_shared`) is approximated by the folio's total
 *   mapcount > 1 (exact for small folios; for large folios conservative: the short-cut just fires
 *   less often).
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import { AugmentedTree, AvlEngine, AvlNode } from "../lib/augmented_tree.ts";
import { type Lock, newLock } from "../machine/exec.ts";
import { SLAB_CACHES, type SlabCache } from "../slab.ts";
import {
  type Folio,
  hex,
  type Mm,
  PAGE_SIZE,
  VM_MAYSHARE,
  VM_SHARED,
  type Vma,
  vmaIsAnonymous,
  vmaPages,
} from "../kernel/types.ts";
import type {
  CloneOp,
  RmapScheme,
  RmapVisit,
  SchemeHost,
  SchemeInfo,
  WalkKind,
  WalkReport,
} from "./scheme.ts";

/** One remapped VMA's range in its context's remap table: `[first, last]` pgoffs → `offset`. */
export interface RemapRange {
  /** First anon pgoff (`vm_pgoff`). */
  first: number;
  /** Last anon pgoff (`vm_pgoff + pages − 1`). */
  last: number;
  /** `(vm_start >> PAGE_SHIFT) − vm_pgoff`. */
  offset: number;
}

/** One maple-tree entry of a remap table: a pgoff range and its sorted unique offsets. */
export interface RemapEntry {
  /** First pgoff of the entry. */
  readonly first: number;
  /** Last pgoff of the entry. */
  readonly last: number;
  /** Offsets, ascending; a `cow_remap_array` when there are two or more. */
  readonly offsets: readonly number[];
}

/** `struct cow_context` (reference §10.4). */
export class CowContext {
  /** Allocation id, for tests and messages. */
  readonly id: number;
  /** The owning mm; null once it was torn down. */
  mm: Mm | null;
  /** The parent process's context (fork), or null for a root. */
  parent: CowContext | null = null;
  /** Child contexts in fork order (O(1) link and unlink; see {@link CowContext.children}). */
  readonly kids: Set<CowContext> = new Set();
  /** 1 for the mm + 1 per child + 1 per folio. */
  refcount = 1;
  /** Folios pointing at this context. */
  folioRefs = 0;
  /** Remapped VMAs of the mm holding a range in the table (each keeps it in `vma.rmap`). */
  rangeCount = 0;
  /** The remap table (`remap_mt`): its entries by ascending pgoff, kept incrementally. */
  readonly table: RemapTable;
  /** Entries charged to the `cow_remap_entry` cache. */
  entriesCharged = 0;
  /** Maple nodes charged to the `cow_remap_node` cache for the remap table. */
  mapleNodes = 0;
  /** `list_write_lock`: protects `children`. */
  readonly listLock: Lock;
  /** Lock of the remap table. */
  readonly remapLock: Lock;
  /** Freed (the slab object waits for its RCU grace period). */
  freed = false;

  /** Creates a root context for `mm` (`mm_init_cow_context`); `arrays` accounts remap arrays. */
  constructor(id: number, mm: Mm, arrays: RemapArraySink = NO_ARRAY_SINK) {
    this.id = id;
    this.mm = mm;
    this.table = new RemapTable(arrays);
    this.listLock = newLock("cow_context.list", "spinlock");
    this.remapLock = newLock("cow_context.remap", "spinlock");
  }

  /** The remap table's entries, by ascending pgoff (a snapshot, for tests and messages). */
  get entries(): RemapEntry[] {
    return this.table.all().map((e) => ({ first: e.first, last: e.last, offsets: [...e.offsets] }));
  }

  /** Child contexts, newest first: the list order (`list_add_rcu` adds at the head). */
  get children(): CowContext[] {
    return [...this.kids].reverse();
  }

  /**
   * Remapped VMAs of the mm and their ranges (the source of the remap table): a snapshot built
   * from the VMAs of the mm, each of which keeps its range in its scheme state.
   */
  get ranges(): Map<Vma, RemapRange> {
    const out = new Map<Vma, RemapRange>();
    if (this.mm === null) return out;
    for (const v of this.mm.vmas) {
      const r = vmaRange(v);
      if (r !== null) out.set(v, r);
    }
    return out;
  }

  /** Remap arrays live for this table. */
  get arrays(): number {
    return this.table.arrays;
  }
}

/**
 * Where a remap table reports its `struct dynarray` allocations: capacity `cap` (a power of two,
 * 2–{@link REMAP_ARRAY_MAX_CAP}), freed at once or after an RCU grace period, or grown by
 * `krealloc` (the old object is freed at once).
 */
export interface RemapArraySink {
  /** A new array (`__dynarray_dup` from the on-stack single entry, or a split's `dynarray_dup`). */
  alloc(cap: number): void;
  /** `krealloc` to the doubled capacity (`__dynarray_expand`). */
  grow(oldCap: number, newCap: number): void;
  /** The array is freed: `kfree_rcu` when readers may still see it (`free_remaps`). */
  free(cap: number, rcu: boolean): void;
}

const NO_ARRAY_SINK: RemapArraySink = {
  alloc(): void {},
  grow(): void {},
  free(): void {},
};

/**
 * Largest remap-array capacity modelled: 64 offsets (8 + 8·64 = 520 B, kmalloc-1k). More distinct
 * offsets over one pgoff range in one mm is refused with a RangeError.
 */
export const REMAP_ARRAY_MAX_CAP = 64;

/** One entry of a {@link RemapTable}: the live offsets over `[first, last]`, with multiplicity. */
export interface RemapTableEntry {
  /** First pgoff. */
  first: number;
  /** Last pgoff. */
  last: number;
  /** Remapped ranges covering this entry, per offset (a snapshot). */
  readonly counts: Map<number, number>;
  /** The distinct offsets, ascending (what the PoC's sorted dynarray holds; a snapshot). */
  readonly offsets: number[];
  /** Capacity of the entry's `struct dynarray` (0 while it holds one offset: a tagged word). */
  cap: number;
}

/**
 * One entry of a {@link RemapTable}, which is also its node in the table's AVL tree (ordered by
 * `first`; entries never overlap). One offset is kept inline (most entries hold one); two or more
 * are kept in `offs` (ascending) with their multiplicities in `cnts`.
 */
class RemapNode extends AvlNode<RemapNode> implements RemapTableEntry {
  // A non-number first keeps small (file) pgoffs unboxed (see VmaRemapRange).
  first: number = null as unknown as number;
  last: number = null as unknown as number;
  /** The offset while there is one (`offs === null`). */
  off: number;
  /** Remapped ranges covering this entry with offset {@link RemapNode.off}. */
  cnt: number;
  /** The distinct offsets, ascending, once there are two or more (else null). */
  offs: number[] | null = null;
  /** Remapped ranges covering this entry, per offset of `offs`. */
  cnts: number[] | null = null;
  cap = 0;
  /** Live ranges whose `first` is this entry's `first` (a range endpoint, with multiplicity). */
  sb = 0;
  /** Live ranges whose `last` is this entry's `last` (`last + 1` is a range endpoint). */
  eb = 0;

  constructor(first: number, last: number, off: number, cnt: number) {
    super();
    this.first = first;
    this.last = last;
    this.off = off;
    this.cnt = cnt;
  }

  get offsets(): number[] {
    return this.offs === null ? [this.off] : this.offs.slice();
  }

  get counts(): Map<number, number> {
    const m = new Map<number, number>();
    if (this.offs === null) m.set(this.off, this.cnt);
    else for (let i = 0; i < this.offs.length; i++) m.set(this.offs[i], this.cnts![i]);
    return m;
  }
}

/** The order of remap-table entries (one engine serves every table). */
const REMAP_ENGINE = new AvlEngine<RemapNode>((a, b) => a.first < b.first);

/** Scratch stack of the in-order walks of {@link RemapTable} (empty between calls). */
const REMAP_STACK: RemapNode[] = [];

/**
 * A context's remap table, kept canonical (entry boundaries at exactly the endpoints of the live
 * remapped ranges) and updated incrementally: adding or removing one range touches only the
 * entries it overlaps, in O(log n + k), instead of rebuilding and re-sorting the whole table.
 *
 * Array capacities follow the PoC's dynarray (mm/cow_context.c): an entry that gains a second
 * offset gets an array of capacity 2 (`append_remap_offset` → `__dynarray_append_stack` →
 * `__dynarray_dup` of the on-stack single entry at twice its capacity); when full, the capacity
 * doubles (`__dynarray_expand`, `krealloc`); removing an offset only decrements `nr`
 * (`dynarray_shrink`), and at one offset left the entry becomes a tagged word again and the array
 * is RCU-freed (`shrink_remaps`, `free_remaps`). Splitting an entry duplicates its array at the
 * same capacity (`split_remap` → `dup_remaps` → `dynarray_dup`).
 */
export class RemapTable {
  readonly #tree = new AugmentedTree<RemapNode>(REMAP_ENGINE);
  readonly #sink: RemapArraySink;
  #arrays = 0;
  /** Scratch: the entries one edit or lookup overlaps (empty between calls). */
  readonly #hit: RemapNode[] = [];

  /** An empty table reporting array allocations to `sink`. */
  constructor(sink: RemapArraySink) {
    this.#sink = sink;
  }

  /** Number of entries. */
  get size(): number {
    return this.#tree.size;
  }

  /** Entries holding a `struct dynarray` (two or more offsets). */
  get arrays(): number {
    return this.#arrays;
  }

  /** Every entry, ascending. */
  all(): RemapTableEntry[] {
    return [...this.#tree.nodes()];
  }

  /** The entry containing `pgoff`, or null. */
  #containing(pgoff: number): RemapNode | null {
    let n = this.#tree.root;
    let best: RemapNode | null = null;
    while (n !== null) {
      if (n.first <= pgoff) {
        best = n;
        n = n.right;
      } else n = n.left;
    }
    return best !== null && best.last >= pgoff ? best : null;
  }

  /** The entry starting at `pgoff`, or null. */
  #startingAt(pgoff: number): RemapNode | null {
    let n = this.#tree.root;
    while (n !== null) {
      if (pgoff < n.first) n = n.left;
      else if (pgoff > n.first) n = n.right;
      else return n;
    }
    return null;
  }

  /**
   * Counts the entries overlapping `[first, last]` and pushes them onto `out` (unless null),
   * ascending. Entries are disjoint, so their `last` ascends with `first`.
   */
  #over(first: number, last: number, out: RemapNode[] | null): number {
    const stack = REMAP_STACK;
    let n = this.#tree.root;
    while (n !== null) {
      if (n.last >= first) {
        stack.push(n);
        n = n.left;
      } else n = n.right;
    }
    let k = 0;
    while (stack.length > 0) {
      const m = stack.pop()!;
      if (m.first > last) break;
      k++;
      if (out !== null) out.push(m);
      for (let r = m.right; r !== null; r = r.left) stack.push(r);
    }
    stack.length = 0;
    return k;
  }

  /** Number of entries overlapping `[first, last]` (what {@link overlapping} would return). */
  countOverlapping(first: number, last: number): number {
    return this.#over(first, last, null);
  }

  /** Entries overlapping `[first, last]`, ascending. */
  overlapping(first: number, last: number): RemapTableEntry[] {
    const out: RemapNode[] = [];
    this.#over(first, last, out);
    return out;
  }

  /**
   * Pushes onto `out` the offsets of the entries overlapping `[first, last]` (each entry's
   * ascending; an offset held by several entries is pushed once per entry) and returns the number
   * of those entries. Allocates nothing (the walk's lookup).
   */
  gatherOffsets(first: number, last: number, out: number[]): number {
    if (first === last) {
      const e = this.#containing(first);
      if (e === null) return 0;
      pushOffsets(e, out);
      return 1;
    }
    const hit = this.#hit;
    const k = this.#over(first, last, hit);
    for (let i = 0; i < k; i++) pushOffsets(hit[i], out);
    hit.length = 0;
    return k;
  }

  #newArray(cap: number): void {
    if (cap > REMAP_ARRAY_MAX_CAP) {
      throw new RangeError(
        `Remap array of capacity ${cap} is not modelled (at most ${REMAP_ARRAY_MAX_CAP} offsets ` +
          `over one pgoff range)`,
      );
    }
    this.#sink.alloc(cap);
    this.#arrays++;
  }

  #freeArray(e: RemapNode): void {
    if (e.cap === 0) return;
    this.#sink.free(e.cap, true);
    this.#arrays--;
    e.cap = 0;
  }

  /** Splits the entry containing `pgoff` so that an entry starts there. */
  /** Splits `e`, which holds `pgoff` past its first pgoff, so that an entry starts there (returned). */
  #split(e: RemapNode, pgoff: number): RemapNode {
    const right = new RemapNode(pgoff, e.last, e.off, e.cnt);
    if (e.offs !== null) {
      right.offs = e.offs.slice();
      right.cnts = e.cnts!.slice();
    }
    right.cap = e.cap;
    // No range ends at pgoff - 1 or starts at pgoff (it was no endpoint): the ends move right.
    right.eb = e.eb;
    e.eb = 0;
    e.last = pgoff - 1;
    if (right.cap > 0) this.#newArray(right.cap);
    this.#tree.insert(right);
    return right;
  }

  #insert(first: number, last: number, offset: number): RemapNode {
    const n = new RemapNode(first, last, offset, 1);
    this.#tree.insert(n);
    return n;
  }

  #addOffset(e: RemapNode, offset: number): void {
    const offs = e.offs;
    if (offs === null) {
      if (e.off === offset) {
        e.cnt++;
        return;
      }
      // The second offset: the tagged word becomes an array of capacity 2.
      this.#newArray(2);
      e.cap = 2;
      if (e.off < offset) {
        e.offs = [e.off, offset];
        e.cnts = [e.cnt, 1];
      } else {
        e.offs = [offset, e.off];
        e.cnts = [1, e.cnt];
      }
      return;
    }
    const cnts = e.cnts!;
    const j = offs.indexOf(offset);
    if (j >= 0) {
      cnts[j]++;
      return;
    }
    if (offs.length + 1 > e.cap) {
      const cap = 2 * e.cap;
      if (cap > REMAP_ARRAY_MAX_CAP) this.#newArray(cap); // throws before any change
      this.#sink.grow(e.cap, cap);
      e.cap = cap;
    }
    let i = offs.length;
    while (i > 0 && offs[i - 1] > offset) i--;
    offs.splice(i, 0, offset);
    cnts.splice(i, 0, 1);
  }

  /**
   * Adds one remapped range (`add_new_remap`: split left and right, fill gaps, append); returns the
   * number of entries the range now spans.
   */
  add(r: RemapRange): number {
    const hit = this.#hit;
    hit.length = 0;
    const k = this.#over(r.first, r.last, hit);
    if (k > 0) {
      // Split left (the first entry reaches below the range), then right (the last reaches past).
      if (hit[0].first < r.first) hit[0] = this.#split(hit[0], r.first);
      if (hit[k - 1].last > r.last) this.#split(hit[k - 1], r.last + 1);
    }
    let spans = k;
    let pos = r.first;
    let head: RemapNode | null = null;
    let tail: RemapNode | null = null;
    for (let i = 0; i < k; i++) {
      const e = hit[i];
      if (e.first > pos) {
        tail = this.#insert(pos, e.first - 1, r.offset);
        head ??= tail;
        spans++;
      }
      this.#addOffset(e, r.offset);
      tail = e;
      head ??= e;
      pos = e.last + 1;
    }
    hit.length = 0;
    if (pos <= r.last) {
      tail = this.#insert(pos, r.last, r.offset);
      head ??= tail;
      spans++;
    }
    // The range's endpoints: the entry it starts in starts with it, the one it ends in ends with it.
    head!.sb++;
    tail!.eb++;
    return spans;
  }

  /**
   * Removes one remapped range (`find_and_unmap_existing`), then drops the boundaries no live
   * range has any more (the model's canonical form; the PoC keeps such stale boundaries): where
   * no live range starts or ends any more, the entries on both sides (if any) now hold the same
   * ranges and become one. Returns the number of entries over the range afterwards.
   */
  remove(r: RemapRange): number {
    const hit = this.#hit;
    hit.length = 0;
    const k = this.#over(r.first, r.last, hit);
    // The entries the range starts and ends in (its endpoints are entry boundaries), while live.
    let head: RemapNode | null = k > 0 ? hit[0] : null;
    let tail: RemapNode | null = k > 0 ? hit[k - 1] : null;
    let gone = 0;
    for (let i = 0; i < k; i++) {
      const e = hit[i];
      const offs = e.offs;
      if (offs === null) {
        if (e.off !== r.offset) throw new Error(`Remap offset ${r.offset} missing at ${e.first}`);
        if (e.cnt > 1) e.cnt--;
        else {
          this.#tree.remove(e);
          gone++;
          if (e === head) head = null;
          if (e === tail) tail = null;
        }
        continue;
      }
      const cnts = e.cnts!;
      const j = offs.indexOf(r.offset);
      if (j < 0) throw new Error(`Remap offset ${r.offset} missing at ${e.first}`);
      if (cnts[j] > 1) {
        cnts[j]--;
        continue;
      }
      offs.splice(j, 1);
      cnts.splice(j, 1);
      if (offs.length === 1) {
        e.off = offs[0];
        e.cnt = cnts[0];
        e.offs = e.cnts = null;
        this.#freeArray(e);
      }
    }
    hit.length = 0;
    // The entry the range started in loses one start; none left: it joins its left neighbour.
    if (head !== null && --head.sb === 0) {
      const left = this.#containing(r.first - 1);
      if (left !== null && left.last === r.first - 1 && left.eb === 0) {
        this.#merge(left, head);
        if (tail === head) tail = left;
      }
    }
    // The entry the range ended in loses one end; none left: its right neighbour joins it.
    if (tail !== null && --tail.eb === 0) {
      const right = this.#startingAt(r.last + 1);
      if (right !== null && right.sb === 0) this.#merge(tail, right);
    }
    return k - gone;
  }

  /** `right` (starting where `left` ends) joins `left`: they hold the same ranges. */
  #merge(left: RemapNode, right: RemapNode): void {
    left.last = right.last;
    left.eb = right.eb;
    this.#freeArray(right);
    this.#tree.remove(right);
  }
}

/** Pushes the offsets of `e` onto `out`, ascending. */
function pushOffsets(e: RemapNode, out: number[]): void {
  const offs = e.offs;
  if (offs === null) out.push(e.off);
  else for (let i = 0; i < offs.length; i++) out.push(offs[i]);
}

/** Options of the CoW-context model. */
export interface CowContextOptions {
  /**
   * Keep anon_vmas in parallel, as the PoC's validation mode does. Only `false` (the proposal's
   * end state without anon_vma) is implemented; `true` is rejected.
   */
  keepAnonVma: boolean;
  /**
   * Ranges per maple node for the remap-table and lookup-depth estimates (default 10 [U]). The
   * remap tree uses `MM_MT_FLAGS` (`mm_init_cow_context`), which includes
   * `MT_FLAGS_ALLOC_RANGE`: internal nodes are `maple_arange_64` with 10 slots, leaves
   * `maple_range_64` with 16 (include/linux/maple_tree.h); 10 everywhere is the conservative end
   * and matches the kernel core's VMA-tree estimate.
   */
  remapEntriesPerNode: number;
  /**
   * When the exclusive short-cut stops a walk: `"found"` (default, sound: the folio is exclusive
   * and step 1 of this context visited its mapping), `"poc"` (the PoC's condition: exclusive
   * before and after step 1 — can miss mappings), `"off"` (never).
   */
  exclusiveShortcut: "found" | "poc" | "off";
  /**
   * Context of a new folio that may be shared (swap-in of a shared slot): `"root"` (default, the
   * root of the faulting mm's hierarchy) or `"faulting"` (the PoC: the faulting mm's — can miss
   * mappings).
   */
  sharedNewAnon: "root" | "faulting";
}

/** Default options. */
export const COW_CONTEXT_OPTIONS: Readonly<CowContextOptions> = {
  keepAnonVma: false,
  remapEntriesPerNode: 10,
  exclusiveShortcut: "found",
  sharedNewAnon: "root",
};

/** Metadata of the CoW-context scheme. */
export const COW_CONTEXT_INFO: SchemeInfo = {
  id: "cow_context",
  title: "CoW contexts (proof of concept, 2026)",
  kernel: "ljs/linux project/cow-context (Lorenzo Stoakes, 2026 proof of concept)",
  status: "proof-of-concept",
  sources: [
    "mm/cow_context.c, mm/rmap.c @ kernelorg-mirror/linux_kernel_git_ljs_linux (a4ac1966…)",
    "https://lwn.net/Articles/1072378/",
    'LSF/MM/BPF 2026 "The Future of the Anonymous Reverse Mapping"',
    "docs/model.md §10.4, §12.5 E7",
  ],
  summary: "One CoW context per mm, linked into a tree by fork; a folio points at the context " +
    "where it was created (or last reused). A walk visits that context and its descendants, " +
    "looking each mm's VMAs up at the folio's address (index << PAGE_SHIFT) and, for moved VMAs, " +
    "at the offsets recorded in a per-context remap table. No anon_vma, no AVCs and no rwsem: " +
    "walks run under RCU; an exclusive folio's walk stops at the context that maps it.",
  ownedLockClasses: ["cow_context.list", "cow_context.remap"],
  locking: [
    {
      lockClass: "rcu",
      kind: "rcu",
      takenFor: "read: every rmap walk (no rwsem; never contended)",
    },
    {
      lockClass: "cow_context.list",
      kind: "spinlock",
      takenFor: "fork and context teardown: the parent's children list",
    },
    {
      lockClass: "cow_context.remap",
      kind: "spinlock",
      takenFor: "remap-table changes on mremap, fork, split/merge and unmap of moved VMAs",
    },
  ],
  // Every cache of the design (contexts, remap entries, tree nodes, each array size class).
  ownedCaches: SLAB_CACHES.filter((c) => c.startsWith("cow_")),
};

/** Breakdown of one CoW-context walk (see {@link CowContextScheme.lastWalk}). */
export interface CowWalkDetail {
  /** Contexts traversed (live mm or not). */
  contexts: number;
  /** Remap entries read. */
  remapEntries: number;
  /** Distinct remap offsets looked up. */
  offsets: number;
  /** The exclusive short-cut stopped the walk. */
  shortcut: boolean;
}

/**
 * Per-VMA state, `vma.rmap` itself: false without anon state (`vma->anon_vma == NULL` in the
 * PoC), true with anon state (after the first fault, fork or clone), or, for a remapped VMA, the
 * {@link RemapRange} it holds in its context's table (it has anon state). A VMA that is not
 * remapped costs no scheme object.
 */
type CowVmaState = boolean | RemapRange;

/** The range `vma` holds in its context's remap table, or null. */
function vmaRange(vma: Vma): RemapRange | null {
  const r = vma.rmap;
  return typeof r === "object" && r !== null ? r as RemapRange : null;
}

/** Levels of a maple tree holding `ranges` ranges with `per` slots per node. */
function mapleDepth(ranges: number, per: number): number {
  if (ranges <= 0) return 0;
  let level = Math.ceil(ranges / per);
  let depth = 1;
  while (level > 1) {
    level = Math.ceil(level / per);
    depth++;
  }
  return depth;
}

/** Nodes of a maple tree holding `ranges` ranges (same estimate as the kernel core's VMA tree). */
function mapleNodes(ranges: number, per: number): number {
  if (ranges <= 0) return 0;
  let level = Math.ceil(ranges / per);
  let total = level;
  while (level > 1) {
    level = Math.ceil(level / per);
    total += level;
  }
  return total;
}

/** Canonical entries of a remap table holding `ranges`: split at every range endpoint. */
function buildEntries(ranges: Iterable<RemapRange>): RemapEntry[] {
  const events: { at: number; offset: number; d: number }[] = [];
  for (const r of ranges) {
    events.push({ at: r.first, offset: r.offset, d: 1 });
    events.push({ at: r.last + 1, offset: r.offset, d: -1 });
  }
  if (events.length === 0) return [];
  events.sort((a, b) => a.at - b.at);
  const active = new Map<number, number>();
  const out: RemapEntry[] = [];
  let i = 0;
  while (i < events.length) {
    const at = events[i].at;
    while (i < events.length && events[i].at === at) {
      const e = events[i++];
      const c = (active.get(e.offset) ?? 0) + e.d;
      if (c === 0) active.delete(e.offset);
      else active.set(e.offset, c);
    }
    if (active.size > 0 && i < events.length) {
      out.push({
        first: at,
        last: events[i].at - 1,
        offsets: [...active.keys()].sort((a, b) => a - b),
      });
    }
  }
  return out;
}

/** {@link CowContextScheme} walk step result: the walk goes on. */
const WALK_GO = 1;
/** {@link CowContextScheme} walk step result: a visited VMA maps the folio. */
const WALK_FOUND = 2;

/**
 * The {@link RemapRange} a remapped VMA holds (in `vma.rmap`). Its fields first hold a non-number,
 * so that V8 keeps the small pgoffs of file VMAs unboxed (an object literal whose first `first`
 * was a large anonymous pgoff would box every range's fields).
 */
class VmaRemapRange implements RemapRange {
  first: number = null as unknown as number;
  last: number = null as unknown as number;
  offset: number = null as unknown as number;

  constructor(first: number, last: number, offset: number) {
    this.first = first;
    this.last = last;
    this.offset = offset;
  }
}

/** Placeholder in the scratch list of removed ranges. */
const NO_RANGE: RemapRange = { first: 0, last: -1, offset: 0 };

/** The PoC's on-stack array of unique offsets in a walk (`WALK_DEFAULT_STACK_SIZE`). */
const WALK_DEFAULT_STACK_SIZE = 16;

/** The slab caches of remap arrays, by capacity 2, 4, …, {@link REMAP_ARRAY_MAX_CAP}. */
export const REMAP_ARRAY_CACHES: readonly SlabCache[] = [
  "cow_remap_array",
  "cow_remap_array_64",
  "cow_remap_array_96",
  "cow_remap_array_192",
  "cow_remap_array_512",
  "cow_remap_array_1k",
];

/** The kmalloc class of a `struct dynarray` of capacity `cap` (8 + 8·cap bytes). */
export function remapArrayCache(cap: number): SlabCache {
  const i = Math.log2(cap) - 1;
  const c = REMAP_ARRAY_CACHES[i];
  if (!Number.isInteger(i) || !c) {
    throw new RangeError(
      `Remap array of capacity ${cap} is not modelled (capacities 2-${REMAP_ARRAY_MAX_CAP})`,
    );
  }
  return c;
}

/** `(vm_start >> PAGE_SHIFT) − vm_pgoff`. */
export function vmaRemapOffset(vma: Vma): number {
  return vma.start / PAGE_SIZE - vma.pgoff;
}

/** Appends the children of `ctx` to `out` in fork order and returns the new length of `out`. */
function pushChildren(ctx: CowContext, out: CowContext[]): number {
  for (const c of ctx.kids) out.push(c);
  return out.length;
}

/** Sorts `a` ascending and drops repeated values, in place. */
function sortUnique(a: number[]): void {
  a.sort((x, y) => x - y);
  let k = 1;
  for (let i = 1; i < a.length; i++) if (a[i] !== a[k - 1]) a[k++] = a[i];
  a.length = k;
}

/**
 * The CoW-context scheme (reference §10.4).
 *
 * @example Usage
 * ```ts
 * import { CowContextScheme } from "./cow_context.ts";
 * const s = new CowContextScheme();
 * if (s.info.id !== "cow_context") throw new Error();
 * ```
 */
export class CowContextScheme implements RmapScheme {
  /** Static description. */
  readonly info: SchemeInfo = COW_CONTEXT_INFO;
  /** Options in use. */
  readonly options: Readonly<CowContextOptions>;
  /** Live (not yet freed) contexts, in allocation order. */
  readonly live: Set<CowContext> = new Set();
  #host!: SchemeHost;
  #nextId = 1;
  #counters: Record<string, number> = {};
  #entriesTotal = 0;
  #arraysTotal = 0;
  /**
   * The last walk's breakdown: contexts traversed (live mm or not), remap entries read, distinct
   * remap offsets looked up, and whether the exclusive short-cut stopped it.
   */
  lastWalk: CowWalkDetail = { contexts: 0, remapEntries: 0, offsets: 0, shortcut: false };
  #nodesTotal = 0;

  /** Creates the scheme; rejects `keepAnonVma: true` (not implemented). */
  constructor(options: Partial<CowContextOptions> = {}) {
    this.options = { ...COW_CONTEXT_OPTIONS, ...options };
    if (this.options.keepAnonVma) {
      throw new RangeError("Option keepAnonVma: true (PoC validation mode) is not implemented");
    }
    const per = this.options.remapEntriesPerNode;
    if (!Number.isInteger(per) || per < 2) {
      throw new RangeError(`Option remapEntriesPerNode must be an integer ≥ 2, got ${per}`);
    }
  }

  attach(host: SchemeHost): void {
    this.#host = host;
  }

  #count(name: string, n = 1): void {
    this.#counters[name] = (this.#counters[name] ?? 0) + n;
  }

  counters(): Record<string, number> {
    return {
      ...this.#counters,
      contexts_live: this.live.size,
      remap_entries: this.#entriesTotal,
      remap_arrays: this.#arraysTotal,
      remap_maple_nodes: this.#nodesTotal,
    };
  }

  // -- accessors ---------------------------------------------------------------------------------

  /** The context of `mm` (`mm->cow_context`). */
  contextOf(mm: Mm): CowContext {
    return mm.rmap as CowContext;
  }

  /** The context a folio points at (`folio->cow_context`), or null once freed. */
  folioContext(folio: Folio): CowContext | null {
    return folio.rmap as CowContext | null;
  }

  /** Whether `vma` has anon state. */
  #anon(vma: Vma): boolean {
    const r = vma.rmap;
    return r === true || (typeof r === "object" && r !== null);
  }

  /** `should_track_remap`: anon state, private, and offset ≠ 0. */
  isRemapped(vma: Vma): boolean {
    if (!this.#anon(vma)) return false;
    if (!vmaIsAnonymous(vma) && (vma.flags & (VM_SHARED | VM_MAYSHARE)) !== 0) return false;
    return vmaRemapOffset(vma) !== 0;
  }

  #rootOf(ctx: CowContext): CowContext {
    let c = ctx;
    while (c.parent) c = c.parent;
    return c;
  }

  // -- lifetime ----------------------------------------------------------------------------------

  #get(ctx: CowContext): void {
    if (ctx.freed) throw new Error(`Reference taken on freed CoW context ${ctx.id}`);
    ctx.refcount++;
  }

  /** `put_cow_context` / `__put_cow_context`: free and cascade to parents reaching 0. */
  #put(ctx: CowContext): void {
    if (ctx.refcount <= 0) throw new Error(`CoW context ${ctx.id} refcount underflow`);
    if (--ctx.refcount > 0) return;
    let cur: CowContext | null = ctx;
    while (cur) {
      const parent: CowContext | null = cur.parent;
      if (parent) {
        const exec = this.#host.exec;
        exec.acquire(parent.listLock, "write");
        if (!parent.kids.delete(cur)) {
          throw new Error(`CoW context ${cur.id} not in its parent's children`);
        }
        exec.work("list_op");
        exec.release(parent.listLock, "write");
      }
      this.#free(cur);
      cur = parent && --parent.refcount === 0 ? parent : null;
    }
  }

  #free(ctx: CowContext): void {
    if (ctx.freed) throw new Error(`CoW context ${ctx.id} freed twice`);
    if (ctx.kids.size > 0) throw new Error(`CoW context ${ctx.id} freed with children`);
    // delete_remaps: nothing is left (the mm's teardown checked its VMAs were unlinked).
    if (ctx.rangeCount > 0) {
      throw new Error(`CoW context ${ctx.id} freed with ${ctx.rangeCount} remapped VMAs`);
    }
    ctx.freed = true;
    this.live.delete(ctx);
    this.#host.slab.freeRcu("cow_context");
    this.#count("contexts_freed");
  }

  mmInit(mm: Mm, parent: Mm | null): void {
    this.#host.slab.alloc("cow_context");
    const ctx = new CowContext(this.#nextId++, mm, this.#arraySink);
    this.live.add(ctx);
    mm.rmap = ctx;
    this.#count("contexts_allocated");
    if (!parent) return;
    // dup_cow_context
    const pctx = this.contextOf(parent);
    ctx.parent = pctx;
    const exec = this.#host.exec;
    exec.acquire(pctx.listLock, "write");
    pctx.kids.add(ctx);
    exec.work("list_op");
    exec.release(pctx.listLock, "write");
    this.#get(pctx);
  }

  mmTeardown(mm: Mm): void {
    const ctx = this.contextOf(mm);
    if (ctx.rangeCount > 0) {
      throw new Error(`CoW context ${ctx.id} torn down with ${ctx.rangeCount} remapped VMAs`);
    }
    ctx.mm = null;
    this.#put(ctx);
  }

  // -- VMA state ---------------------------------------------------------------------------------

  vmaInit(vma: Vma): void {
    vma.rmap = false satisfies CowVmaState;
  }

  hasAnon(vma: Vma): boolean {
    return this.#anon(vma);
  }

  /**
   * Always false: the fork-child merge rule exists only for anon_vma lock scalability (it keeps
   * anon_vma chains from growing), which contexts do not have. A modelling choice.
   */
  isForkChild(_vma: Vma): boolean {
    return false;
  }

  /** The mm's context for a VMA with anon state: merges then need only pgoff contiguity. */
  anonIdentity(vma: Vma): unknown {
    return this.#anon(vma) ? this.contextOf(vma.mm) : null;
  }

  /** No MREMAP_RELOCATE_ANON support: always true. */
  maybeHasSharedAnon(_vma: Vma): boolean {
    return true;
  }

  // -- the remap table ---------------------------------------------------------------------------

  /** Brings the `cow_remap_entry` and `cow_remap_node` counts of `ctx` up to date: O(1). */
  #account(ctx: CowContext): void {
    const slab = this.#host.slab;
    const n = ctx.table.size;
    const nodes = mapleNodes(n === 0 ? 0 : 2 * n + 1, this.options.remapEntriesPerNode);
    const dE = n - ctx.entriesCharged;
    if (dE > 0) slab.alloc("cow_remap_entry", dE);
    else if (dE < 0) slab.free("cow_remap_entry", -dE);
    const dN = nodes - ctx.mapleNodes;
    if (dN > 0) slab.alloc("cow_remap_node", dN);
    else if (dN < 0) slab.free("cow_remap_node", -dN);
    this.#entriesTotal += dE;
    this.#nodesTotal += dN;
    ctx.entriesCharged = n;
    ctx.mapleNodes = nodes;
  }

  /** The remap arrays' slab accounting, shared by every context's table. */
  readonly #arraySink: RemapArraySink = {
    alloc: (cap) => {
      this.#host.slab.alloc(remapArrayCache(cap));
      this.#arraysTotal++;
    },
    grow: (oldCap, newCap) => {
      // krealloc: a new object in the larger class, the old one kfree()d at once.
      this.#host.slab.alloc(remapArrayCache(newCap));
      this.#host.slab.free(remapArrayCache(oldCap));
      this.#count("remap_array_grows");
    },
    free: (cap, rcu) => {
      if (rcu) this.#host.slab.freeRcu(remapArrayCache(cap));
      else this.#host.slab.free(remapArrayCache(cap));
      this.#arraysTotal--;
    },
  };

  /** Entries of `ctx` overlapping `[first, last]`. */
  #entriesOver(ctx: CowContext, first: number, last: number): RemapTableEntry[] {
    return ctx.table.overlapping(first, last);
  }

  /**
   * Ends one change of a context's remap table, made under its lock (taken by the caller before
   * the first range changed): brings the slab counts up to date and charges `units` of
   * `tree_update` (one per entry overlapping each changed range, at least one per range, counted
   * on the table after the whole change), then releases the lock.
   */
  #endEdit(ctx: CowContext, units: number): void {
    const exec = this.#host.exec;
    this.#account(ctx);
    exec.work("tree_update", units);
    exec.release(ctx.remapLock, "write");
  }

  /** `tree_update` units of one changed range: the entries overlapping it, at least one. */
  #units(ctx: CowContext, r: RemapRange): number {
    return Math.max(1, ctx.table.countOverlapping(r.first, r.last));
  }

  #rangeOf(vma: Vma): RemapRange {
    const first = vma.pgoff;
    return new VmaRemapRange(first, first + vmaPages(vma) - 1, vmaRemapOffset(vma));
  }

  /** Records `vmas` (those remapped) in their mm's table. All must belong to one mm. */
  #addRanges(vmas: readonly Vma[]): void {
    let ctx: CowContext | null = null;
    let n = 0;
    for (let i = 0; i < vmas.length; i++) {
      const v = vmas[i];
      if (!this.isRemapped(v)) continue;
      if (ctx === null) {
        ctx = this.contextOf(v.mm);
        this.#host.exec.acquire(ctx.remapLock, "write");
      }
      const r = this.#rangeOf(v);
      if (vmaRange(v) === null) ctx.rangeCount++;
      v.rmap = r satisfies CowVmaState;
      ctx.table.add(r);
      n++;
    }
    if (ctx === null) return;
    let units = 0;
    for (let i = 0; i < vmas.length; i++) {
      if (this.isRemapped(vmas[i])) units += this.#units(ctx, vmaRange(vmas[i])!);
    }
    this.#endEdit(ctx, units);
    this.#count("remap_adds", n);
  }

  /** Records one VMA (if remapped) in its mm's table: {@link #addRanges} of `[vma]`. */
  #addRange(vma: Vma): void {
    if (!this.isRemapped(vma)) return;
    const ctx = this.contextOf(vma.mm);
    this.#host.exec.acquire(ctx.remapLock, "write");
    const r = this.#rangeOf(vma);
    if (vmaRange(vma) === null) ctx.rangeCount++;
    vma.rmap = r satisfies CowVmaState;
    // tree_update units: the entries the range spans once added (#units), at least one.
    this.#endEdit(ctx, Math.max(1, ctx.table.add(r)));
    this.#count("remap_adds", 1);
  }

  /** Removes the table ranges of `vmas` (those that have one). All must belong to one mm. */
  #removeRanges(vmas: readonly Vma[]): void {
    if (vmas.length === 0) return;
    const ctx = this.contextOf(vmas[0].mm);
    if (ctx.rangeCount === 0) return;
    let units = 0;
    let n = 0;
    for (let i = 0; i < vmas.length; i++) {
      const v = vmas[i];
      const r = vmaRange(v);
      if (r === null) continue;
      if (n++ === 0) this.#host.exec.acquire(ctx.remapLock, "write");
      v.rmap = true satisfies CowVmaState;
      ctx.rangeCount--;
      ctx.table.remove(r);
      this.#removed[n - 1] = r; // charged once every range is out (see #endEdit)
    }
    if (n === 0) return;
    for (let i = 0; i < n; i++) {
      units += this.#units(ctx, this.#removed[i]);
      this.#removed[i] = NO_RANGE;
    }
    this.#endEdit(ctx, units);
    this.#count("remap_removes", n);
  }

  /** Scratch list of the ranges one {@link #removeRanges} removed (reused; no per-call array). */
  readonly #removed: RemapRange[] = [];

  /** Removes one VMA's table range, if it has one: {@link #removeRanges} of `[vma]`. */
  #removeRange(vma: Vma): void {
    const r = vmaRange(vma);
    if (r === null) return;
    const ctx = this.contextOf(vma.mm);
    this.#host.exec.acquire(ctx.remapLock, "write");
    vma.rmap = true satisfies CowVmaState;
    ctx.rangeCount--;
    // tree_update units: the entries over the range once removed (#units), at least one.
    this.#endEdit(ctx, Math.max(1, ctx.table.remove(r)));
    this.#count("remap_removes", 1);
  }

  // -- hooks -------------------------------------------------------------------------------------

  /** First fault: the VMA gets anon state; a remapped VMA enters the table. */
  prepare(vma: Vma): void {
    if (this.#anon(vma)) return;
    vma.rmap = true satisfies CowVmaState;
    this.#addRange(vma);
  }

  /** `cow_context_do_fork`: the child VMA inherits anon state and its offset entry. */
  fork(child: Vma, parent: Vma): void {
    if (!this.#anon(parent)) return;
    child.rmap = true satisfies CowVmaState;
    this.#addRange(child);
  }

  /** Split, remap (`cow_context_do_remap`) and unfaulted merge: `dst` takes `src`'s anon state. */
  clone(dst: Vma, src: Vma, _op: Exclude<CloneOp, "fork">): void {
    if (!this.#anon(src)) return;
    this.#removeRange(dst);
    dst.rmap = true satisfies CowVmaState;
    this.#addRange(dst);
  }

  /** `cow_context_vma_unmap`: the VMA leaves the table and loses its anon state. */
  unlink(vma: Vma): void {
    this.#removeRange(vma);
    vma.rmap = false satisfies CowVmaState;
  }

  /** `cow_context_vma_adjust`: remove the old ranges, mutate, re-add the adjusted ones. */
  adjust(vmas: readonly Vma[], mutate: () => void): void {
    this.#removeRanges(vmas);
    mutate();
    this.#addRanges(vmas);
  }

  /** `__folio_set_anon`: the faulting mm's context (its root when the folio may be shared). */
  addNewAnon(folio: Folio, vma: Vma, _addr: number, exclusive: boolean): void {
    if (!this.#anon(vma)) {
      throw new Error(`New anon folio in vma ${vma.id} without anon state`);
    }
    let ctx = this.contextOf(vma.mm);
    if (!exclusive && this.options.sharedNewAnon === "root") ctx = this.#rootOf(ctx);
    this.#get(ctx);
    ctx.folioRefs++;
    folio.rmap = ctx;
  }

  /** `folio_move_anon_rmap`: the folio moves to the writer's context (get new, put old). */
  moveAnon(folio: Folio, vma: Vma): void {
    const ctx = this.contextOf(vma.mm);
    const old = this.folioContext(folio);
    if (old === ctx) return;
    this.#get(ctx);
    ctx.folioRefs++;
    folio.rmap = ctx;
    this.#count("folio_move_context");
    if (old) {
      old.folioRefs--;
      this.#put(old);
    }
  }

  /** The folio's reference on its context is dropped. */
  folioFreed(folio: Folio): void {
    const ctx = this.folioContext(folio);
    if (!ctx) return;
    folio.rmap = null;
    ctx.folioRefs--;
    this.#put(ctx);
  }

  // -- the walk ----------------------------------------------------------------------------------

  /**
   * `folio_maybe_mapped_shared`: small folio, mapcount > 1; large folio (CONFIG_MM_ID), mapped
   * by more than one mm (reference §1.4). The model knows the exact set of mms, so it gives no
   * false positives.
   */
  #maybeMappedShared(folio: Folio): boolean {
    if (folio.nrPages === 1) return folio.pageMapcount(0) > 1;
    let mm: Mm | null = null;
    for (const m of folio.mappers.values()) {
      if (mm && m.mm !== mm) return true;
      mm = m.mm;
    }
    return false;
  }

  /** Nodes touched by one VMA-tree range lookup in `mm`. */
  #vmaLookupNodes(mm: Mm): number {
    return mapleDepth(2 * mm.mapCount + 1, this.options.remapEntriesPerNode);
  }

  /**
   * `walk_context_remap`: visits VMAs of `mm` at `(index + offset) << PAGE_SHIFT` whose offset is
   * `offset`, charging the lookup's `nodes` ({@link #vmaLookupNodes}). Returns {@link WALK_GO}
   * when the walk goes on, plus {@link WALK_FOUND} when `found` is asked for and a visited VMA
   * maps the folio.
   */
  #walkOffset(
    mm: Mm,
    folio: Folio,
    offset: number,
    visit: RmapVisit,
    nodes: number,
    found: boolean,
  ): number {
    this.#host.exec.work("tree_visit", nodes);
    const startPage = folio.index + offset;
    if (startPage < 0) return WALK_GO;
    const rangeStart = startPage * PAGE_SIZE;
    const rangeEnd = rangeStart + folio.nrPages * PAGE_SIZE;
    let hit = 0;
    // The VMAs intersecting [rangeStart, rangeEnd), in address order (they do not overlap, so
    // none follows one that reaches rangeEnd): the last VMA starting below rangeEnd is the only
    // one when it starts at or below rangeStart (always, for a VMA mapping a small folio).
    const tree = mm.vmas;
    let vma = tree.below(rangeEnd);
    if (vma === undefined || vma.end <= rangeStart) return WALK_GO;
    if (vma.start > rangeStart) vma = tree.findFirstEndAfter(rangeStart);
    for (; vma !== undefined && vma.start < rangeEnd;) {
      if (vmaRemapOffset(vma) === offset) {
        const addr = Math.max(vma.start, rangeStart);
        // What rmap_one's page_vma_mapped_walk will see (read before the callback changes it).
        if (found && hit === 0 && mm.pages.get(addr / PAGE_SIZE)?.folio === folio) {
          hit = WALK_FOUND;
        }
        if (!visit(vma, addr)) return hit;
      }
      vma = vma.end >= rangeEnd ? undefined : tree.nextOf(vma);
    }
    return WALK_GO | hit;
  }

  // Per-walk state of {@link walk} (a walk never starts another).
  #wFolio: Folio | null = null;
  #wVisit: RmapVisit | null = null;
  #wContexts = 0;
  #wEntries = 0;
  #wOffsets = 0;
  #wTreeNodes = 0;
  #wShortcut = false;
  /** Scratch: the remap offsets one context's walk gathers. */
  readonly #wOffs: number[] = [];

  /** `walk_context`: returns false to stop the whole walk. */
  #walkContext(ctx: CowContext): boolean {
    const folio = this.#wFolio!;
    const visit = this.#wVisit!;
    const exec = this.#host.exec;
    this.#wContexts++;
    exec.work("list_op");
    const mm = ctx.mm;
    if (!mm || !mm.alive) return true; // context->mm NULL or !mmget_not_zero
    const mode = this.options.exclusiveShortcut;
    const wasExclusive = !this.#maybeMappedShared(folio);
    const nodes = this.#vmaLookupNodes(mm);
    const r0 = this.#walkOffset(mm, folio, 0, visit, nodes, wasExclusive && mode === "found");
    this.#wTreeNodes += nodes;
    if ((r0 & WALK_GO) === 0) return false;
    const stop = mode !== "off" && wasExclusive && !this.#maybeMappedShared(folio) &&
      (mode === "poc" || (r0 & WALK_FOUND) !== 0);
    // An exclusive small folio found here has no other mapping. An exclusive large folio may
    // also be mapped by this mm through a moved VMA (part of it was mremap()ed), so in
    // "found" mode this context's remap offsets are still walked before stopping.
    if (stop && (mode === "poc" || folio.nrPages === 1)) {
      this.#wShortcut = true;
      return false;
    }
    const table = ctx.table;
    if (table.size === 0) {
      if (stop) this.#wShortcut = true;
      return !stop;
    }
    const n = mapleDepth(2 * table.size + 1, this.options.remapEntriesPerNode);
    this.#wTreeNodes += n;
    exec.work("tree_visit", n);
    const offs = this.#wOffs;
    offs.length = 0;
    this.#wEntries += table.gatherOffsets(folio.index, folio.index + folio.nrPages - 1, offs);
    if (offs.length > 1) sortUnique(offs);
    const unique = offs.length;
    // The unique offsets are gathered in an on-stack dynarray of WALK_DEFAULT_STACK_SIZE (16);
    // past that the PoC allocates one (GFP_ATOMIC, capacity 32, doubling) and RCU-frees it
    // after the walk (`walk_context`, `free_remaps`).
    let spill = 0;
    if (unique > WALK_DEFAULT_STACK_SIZE) {
      spill = 2 * WALK_DEFAULT_STACK_SIZE;
      this.#host.slab.alloc(remapArrayCache(spill));
      while (unique > spill) {
        this.#host.slab.alloc(remapArrayCache(2 * spill));
        this.#host.slab.free(remapArrayCache(spill));
        spill *= 2;
      }
      this.#count("walk_offset_spills");
    }
    this.#wOffsets += unique;
    let go = true;
    for (let i = 0; i < unique; i++) {
      const lookup = this.#vmaLookupNodes(mm);
      const r = this.#walkOffset(mm, folio, offs[i], visit, lookup, false);
      this.#wTreeNodes += lookup;
      if ((r & WALK_GO) === 0) {
        go = false;
        break;
      }
    }
    offs.length = 0;
    if (spill > 0) this.#host.slab.freeRcu(remapArrayCache(spill));
    if (!go) return false;
    if (stop) this.#wShortcut = true;
    return !stop;
  }

  /** `cow_context_walk` (reference §10.4). */
  walk(folio: Folio, _kind: WalkKind, _tryLock: boolean, visit: RmapVisit): WalkReport {
    const root = this.folioContext(folio);
    if (!root || root.freed) throw new Error(`Folio ${folio.id} has no live CoW context`);
    const exec = this.#host.exec;
    this.#wFolio = folio;
    this.#wVisit = visit;
    this.#wContexts =
      this.#wEntries =
      this.#wOffsets =
      this.#wTreeNodes =
        0;
    this.#wShortcut = false;

    exec.rcuReadLock();
    // traverse_contexts: the root first, then its descendants depth-first in post-order. Children
    // lists are copied as they are entered (RCU readers keep going past concurrent deletions):
    // a frame's snapshot is `kids[start, end)` in list order (`kids` holds the snapshots of every
    // open frame, innermost last), taken from the newest end.
    if (this.#walkContext(root) && root.kids.size > 0) {
      const kids: CowContext[] = [];
      const frames: CowContext[] = [root];
      const starts: number[] = [0];
      const next: number[] = [pushChildren(root, kids)];
      while (frames.length > 0) {
        const top = frames.length - 1;
        const start = starts[top];
        const i = next[top];
        if (i > start) {
          const c = kids[i - 1];
          next[top] = i - 1;
          frames.push(c);
          starts.push(kids.length);
          next.push(pushChildren(c, kids));
          continue;
        }
        const ctx = frames.pop()!;
        starts.pop();
        next.pop();
        kids.length = start;
        if (ctx !== root && !this.#walkContext(ctx)) break;
      }
    }
    exec.rcuReadUnlock();
    this.#wFolio = null;
    this.#wVisit = null;
    this.#count("walks");
    const shortcut = this.#wShortcut;
    if (shortcut) this.#count("walks_exclusive_stop");
    const contexts = this.#wContexts, entriesSeen = this.#wEntries;
    this.lastWalk = { contexts, remapEntries: entriesSeen, offsets: this.#wOffsets, shortcut };
    return { contended: false, structures: contexts + entriesSeen, treeNodes: this.#wTreeNodes };
  }

  // -- invariants --------------------------------------------------------------------------------

  /** Refcounts, hierarchy links, remap tables vs VMAs, reachability of every mapped anon folio. */
  check(): string[] {
    const out: string[] = [];
    const slab = this.#host.slab;
    const folioRefs = new Map<CowContext, number>();
    const seen = new Set<Folio>();
    const liveMms = new Set<Mm>(this.#host.liveMms());
    for (const mm of liveMms) {
      const ctx = this.contextOf(mm);
      if (!ctx || ctx.freed || !this.live.has(ctx) || ctx.mm !== mm) {
        out.push(`mm ${mm.id} has no live CoW context of its own`);
        continue;
      }
      let remapped = 0;
      for (const vma of mm.vmas) {
        const r = vmaRange(vma);
        if (this.isRemapped(vma)) {
          remapped++;
          const want = this.#rangeOf(vma);
          if (!r || r.first !== want.first || r.last !== want.last || r.offset !== want.offset) {
            out.push(`vma ${vma.id} of mm ${mm.id} remap range stale or missing`);
          }
        } else if (r) out.push(`vma ${vma.id} of mm ${mm.id} in the remap table but not remapped`);
      }
      if (remapped !== ctx.rangeCount) {
        out.push(`context ${ctx.id} has ${ctx.rangeCount} ranges for ${remapped} remapped VMAs`);
      }
      for (const [vpn, pte] of mm.pages.entries()) {
        const f = pte.folio;
        if (!f || !f.anon || f.ksm) continue;
        const fctx = this.folioContext(f);
        if (!seen.has(f)) {
          seen.add(f);
          if (fctx) folioRefs.set(fctx, (folioRefs.get(fctx) ?? 0) + 1);
        }
        const addr = vpn * PAGE_SIZE;
        if (!fctx || fctx.freed) {
          out.push(`folio ${f.id} at ${hex(addr)} of mm ${mm.id} has no live context`);
          continue;
        }
        let c: CowContext | null = ctx;
        while (c && c !== fctx) c = c.parent;
        if (!c) out.push(`folio ${f.id} context ${fctx.id} is not an ancestor of mm ${mm.id}'s`);
        const vma = mm.vmas.find(addr);
        if (!vma) continue; // the kernel core reports PTEs outside VMAs
        if (!this.#anon(vma)) {
          out.push(`vma ${vma.id} maps anon folio ${f.id} without anon state`);
        }
        const off = vmaRemapOffset(vma);
        const pg = f.index + pte.page;
        if (pg + off !== vpn) {
          out.push(`folio ${f.id} index ${hex(pg)} vs vma ${vma.id} at ${hex(addr)}`);
        }
        if (off !== 0 && !this.#entriesOver(ctx, pg, pg).some((e) => e.offsets.includes(off))) {
          out.push(`folio ${f.id} at ${hex(addr)}: offset ${off} not in context ${ctx.id}'s table`);
        }
      }
    }
    let entries = 0, arrays = 0;
    // Folios no page table maps any more but the swap cache still holds keep their reference.
    for (const f of this.#host.liveAnonFolios()) {
      if (seen.has(f) || f.ksm) continue;
      const fctx = this.folioContext(f);
      if (fctx) folioRefs.set(fctx, (folioRefs.get(fctx) ?? 0) + 1);
    }
    for (const c of this.live) {
      if (c.freed) out.push(`freed context ${c.id} still live`);
      const refs = folioRefs.get(c) ?? 0;
      if (c.folioRefs !== refs) out.push(`context ${c.id} folio refs ${c.folioRefs} != ${refs}`);
      const want = (c.mm ? 1 : 0) + c.kids.size + refs;
      if (c.refcount !== want) out.push(`context ${c.id} refcount ${c.refcount} != ${want}`);
      if (c.mm && !liveMms.has(c.mm)) out.push(`context ${c.id} points at a dead mm`);
      if (!c.mm && c.rangeCount > 0) out.push(`context ${c.id} of a dead mm has remap ranges`);
      if (c.parent && (c.parent.freed || !c.parent.kids.has(c))) {
        out.push(`context ${c.id} not linked into parent ${c.parent.id}`);
      }
      for (const ch of c.kids) {
        if (ch.parent !== c || !this.live.has(ch)) out.push(`context ${c.id} has a stray child`);
      }
      const e = buildEntries(c.ranges.values());
      if (JSON.stringify(e) !== JSON.stringify(c.entries)) {
        out.push(`context ${c.id} remap entries stale`);
      }
      for (const te of c.table.all()) {
        const want = te.offsets.length < 2 ? 0 : 2 ** Math.ceil(Math.log2(te.offsets.length));
        if (te.offsets.length >= 2 ? te.cap < want : te.cap !== 0) {
          out.push(`context ${c.id} remap array capacity ${te.cap} for ${te.offsets.length}`);
        }
      }
      entries += c.table.size;
      arrays += c.arrays;
    }
    const ctxStats = slab.stats("cow_context");
    if (ctxStats.live - ctxStats.pendingRcu !== this.live.size) {
      out.push(`slab cow_context ${ctxStats.live - ctxStats.pendingRcu} != ${this.live.size}`);
    }
    if (slab.live("cow_remap_entry") !== entries) {
      out.push(`slab cow_remap_entry ${slab.live("cow_remap_entry")} != ${entries}`);
    }
    let arraysLive = 0;
    for (const c of REMAP_ARRAY_CACHES) {
      const st = slab.stats(c);
      arraysLive += st.live - st.pendingRcu;
    }
    if (arraysLive !== arrays) out.push(`slab cow_remap_array* ${arraysLive} != ${arrays}`);
    const nodes = [...this.live].reduce((n, c) => n + c.mapleNodes, 0);
    if (slab.live("cow_remap_node") !== nodes) {
      out.push(`slab cow_remap_node ${slab.live("cow_remap_node")} != ${nodes}`);
    }
    return out;
  }
}
