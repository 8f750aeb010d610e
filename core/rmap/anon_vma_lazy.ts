/**
 * ANON_VMA_LAZY: deferred anon_vma creation (wangtao at HONOR, "[PATCH 0/15] mm: introduce
 * ANON_VMA_LAZY for deferred anon_vma creation", 2026-05-27, NAK'd; reference §10.3).
 *
 * The classic 6.18 model ({@link AnonVmaScheme}) extended with two deferred states, so that a
 * VMA of a process that never forks owns no anon_vma and no anon_vma_chain, and a VMA inherited
 * at fork owns none either until its process forks in turn. Once a VMA holds an anon_vma
 * everything is classic (the inherited hooks run unchanged).
 *
 * Sources (lkml.iu.edu archive; each decision below names the message it follows):
 * - [P05] patch 05/15 "mm: add CONFIG_ANON_VMA_LAZY and folio helpers", 2605.3/05377: anon_vma
 *   allocation is delayed "until fork"; `FOLIO_MAPPING_ANON_VMA_LAZY` reuses the
 *   `FOLIO_MAPPING_ANON_KSM` bit and then `folio->mapping` points to "the ANON_VMA_LAZY root VMA
 *   instead of anon_vma".
 * - [P10] patch 10/15 "mm: defer anon_vma creation with ANON_VMA_LAZY", 2605.3/05338: at fork the
 *   parent's lazy VMAs are "first upgraded to a regular anon_vma"; "Child VMAs are created as
 *   ANON_VMA_TREE_PARENT and do not allocate anon_vma".
 * - [BS] Barry Song, 2606.0/07329, and the author's reply, 2606.0/07662: B's inherited VMA is
 *   ANON_VMA_TREE_PARENT, a VMA B creates and faults after the fork is ANON_VMA_TREE_VMA, and "in
 *   both cases, we need to upgrade B to a regular anon_vma when B becomes a parent and performs a
 *   fork()"; the optimisation applies where B never forks.
 * - [HY] Harry Yoo, 2606.0/04013: "VMAs are subject to change (even before being shared with
 *   other processes), and rmap needs something that doesn't go away across VMA merging, split".
 * - [P06] patch 06/15 (2605.3/05379, `CONFIG_VMA_REF`: a refcount in `vm_area_struct`,
 *   `vma_get`/`vma_put`, the VMA freed on the last put) and [P12] patch 12/15 (migration of
 *   lazy folios): neither page could be found in the searchable archive; what the model takes
 *   from them comes from the summary of P06 and the reviewers' replies, and every
 *   choice that would need their text is a named option marked [U].
 *
 * Per-VMA states (the patch's `anon_vma_tree_t` container):
 * - **unfaulted**: no anon state (as classic).
 * - **LAZY** (ANON_VMA_TREE_VMA after a fork; [P05], [BS]): the first write fault
 *   (`anon_vma_prepare` → `vma_prepare_anon_vma_lazy`) allocates no anon_vma and no AVC and takes
 *   no anon_vma lock; the VMA joins a {@link LazyGroup} whose {@link LazyGroup.root} is the VMA
 *   that faulted first, and new folios' `mapping` points at that root VMA ([P05]).
 * - **ANON_VMA_TREE_PARENT** ([P10], [BS]): a child VMA made by fork. It is linked by AVCs to every
 *   anon_vma of its parent VMA's chain (the `anon_vma_clone` half of `anon_vma_fork`), so
 *   inherited folios stay findable, and it never allocates an anon_vma of its own — not on its
 *   first write either ({@link TreeParentLink}). Its own new exclusive folios (write fault, CoW
 *   copy) are lazy: their mapping encodes the child VMA, the root of the VMA's own
 *   {@link LazyGroup}. Reading [U]: [BS] says B must be upgraded "in both cases" when it forks,
 *   which is needed only if B's own folios are not in any anon_vma; filing them under the tree
 *   parent instead would also be complete, but every walk of them would visit the parent and
 *   all its other children (on android-launch, 80 % useless visits).
 * - **classic**: `vma->anon_vma` set (an upgraded parent, or an inherited VMA upgraded when its
 *   own process forked).
 *
 * What happens to the lazy root VMA in `folio->mapping` ([P05], [HY]; the series' handling of
 * split, merge, move and unmap is in the patches not retrieved, so the model takes the one
 * reading that keeps every walk complete without rewriting any folio [U]):
 * - **split** (`__split_vma`): the original struct keeps its identity, so it stays the root; the
 *   new piece joins the group and takes a reference on the root (`vma_get`, [P06]).
 * - **merge**: only VMAs of one group merge (identity = the group); if the VMA a merge removes is
 *   the root, its struct stays allocated (below).
 * - **move** (mremap `copy_vma`): the destination joins the group (`vma_get` on the root); the
 *   folios keep pointing at the root VMA.
 * - **unmap** of the root while another VMA of its group or a folio still refers to it: the
 *   struct is detached but not freed — it is pinned until the last `vma_put` — and stays counted
 *   in the `vm_area_struct` cache (`Slab.retain`); counter `vma_pinned_detached`.
 * - **fork** (the upgrade) re-points every folio to the new anon_vma and drops every pin.
 *
 * Operations:
 * - **Walk of a lazy folio** visits the VMAs of its group whose `[vm_pgoff, vm_pgoff + pages − 1]`
 *   overlaps the folio (in group order, i.e. the order VMAs joined), with no anon_vma rwsem, in an
 *   RCU read-side section (the patch's RCU-protected VMA access that Lorenzo Stoakes called
 *   dubious); each PTE check takes the page-table lock as in every scheme. Figures: `structures`
 *   1 (the root VMA), `treeNodes` = group members examined (a list walk, charged as `list_op`).
 * - **Migration of a lazy folio** ([HY], [P06], [P12] [U]): a lazy folio has no anon_vma for
 *   `folio_get_anon_vma` to pin, so `try_to_migrate` pins the root VMA instead (`vma_get` under
 *   RCU) and `remove_migration_ptes` drops it (`vma_put`) after the second walk; each is charged
 *   {@link AnonVmaLazyOptions.vmaRefWork}. Counters `migration_vma_get`/`migration_vma_put`.
 * - **Fork** (`anon_vma_fork`): a LAZY parent VMA is first upgraded [P10]: its whole group gets
 *   one new root anon_vma (as `__anon_vma_prepare` would allocate, `num_children` 1 for the self
 *   link, under its rwsem and the mm's `page_table_lock`), one AVC per member VMA, and every folio
 *   of the group is re-pointed (`folio->mapping` = the anon_vma; one `pte_check` and one
 *   `pte_update` per folio). A TREE_PARENT parent VMA is upgraded too [BS]: the deferred tail of
 *   `anon_vma_fork` runs — the reuse check of 6.18 over the VMA's chain (`num_active_vmas == 0
 *   && num_children < 2`, order per `reuseOrder`), else a new anon_vma with `parent` = the tree
 *   parent, `root` its root, linked by one AVC — and its own lazy folios are re-pointed to that
 *   anon_vma (one `pte_check` + one `pte_update` each). Then the child VMA gets one AVC per AVC
 *   of the parent VMA, enters ANON_VMA_TREE_PARENT and roots an empty lazy group.
 *
 * Object counts (slab): a process that never forks has 0 anon_vma and 0 anon_vma_chain objects
 * (classic: one of each per faulted VMA). A fork of a process with V faulted lazy VMAs (one group
 * each) leaves V anon_vmas and 2V AVCs (classic: 2V and 3V), and stays so whatever the child
 * writes; when the child forks, each inherited VMA adds one anon_vma and one AVC (or nothing when
 * it reuses one).
 *
 * Assumptions (the public description leaves these open; each is the simplest behaviour that
 * keeps every walk complete):
 * - A1 **Lazy group.** The VMAs a lazy root VMA was split into or moved to (split, mremap
 *   `copy_vma`, unfaulted merge join it; unlink leaves it) are reachable from the root; the walk
 *   lists them. The list is modelled as zero-size (not slab-accounted): in the patch the lazy
 *   state lives in the VMA's `anon_vma_tree_t` in place of the anon_vma pointer. The model keeps
 *   the group's folio set so that the upgrade can re-point them (the kernel would walk the VMAs'
 *   page tables; the charge is per folio).
 * - A2 **Neighbour reuse.** The first fault of an unfaulted VMA joins the group of an adjacent lazy
 *   VMA when `anon_vma_compatible` holds (next first, then prev — `find_mergeable_anon_vma`), so
 *   that an mprotect-split region faulted piecewise can re-merge. It never adopts a neighbour's
 *   anon_vma: a fault in the lazy scheme never allocates an AVC.
 * - A3 **Split/merge before sharing.** Lazy VMAs merge when they are in the same group (merge
 *   case 3 identity = the group); the walk recomputes each member's interval.
 * - A4 **mremap.** A moved lazy VMA keeps its pgoff and the destination joins the source's group;
 *   with MREMAP_DONTUNMAP the whole-VMA source leaves the group and becomes unfaulted (if it was
 *   the root, the folios still point at its struct, which stays attached).
 *   MREMAP_RELOCATE_ANON gives the destination its own (lazy) state and re-points the moved
 *   folios to it.
 * - A6 **Neighbours of TREE_PARENT VMAs.** A first fault next to a TREE_PARENT VMA never joins
 *   its own group (its folios would be re-pointed to an anon_vma the new VMA is not linked to).
 * - A5 **Fork upgrades only what is copied.** A VMA with VM_DONTCOPY or VM_WIPEONFORK stays LAZY
 *   or TREE_PARENT unless it shares a group or link with a copied one.
 * - A7 **TREE_PARENT identity and sharing.** Each child VMA made by fork gets its own
 *   {@link TreeParentLink}; the VMAs it is split into share it (merge identity = the link).
 *   When its process forks, every VMA of the link is upgraded at once (one AVC each), as the
 *   pieces of a classic child VMA share the anon_vma `anon_vma_fork` gave it.
 * - A8 **Deferred reuse.** The 6.18 reuse heuristic is evaluated at the upgrade, not at the fork
 *   that made the VMA; it can therefore adopt an ancestor (even the root) whose owner has exited
 *   since.
 * - A9 **TREE_PARENT folios.** A new exclusive folio is lazy (the VMA's own group); a
 *   non-exclusive one (swap-in of a shared slot) goes to the root of the chain;
 *   `folio_move_anon_rmap` (write reuse of an exclusive page) moves the folio into the VMA's own
 *   group, as into a LAZY VMA's.
 * - A10 **Pins.** Each member of a group other than its root holds one `vma_get` on the root
 *   [P06]; the root's struct is freed on the last `vma_put` (group emptied or upgraded). The
 *   refcount adds {@link AnonVmaLazyOptions.vmaRefBytes} to `vm_area_struct`; the slot size is
 *   {@link AnonVmaLazyOptions.vmaSlotBytes}.
 * - A11 **execve** is exit + a fresh mm: the old mm's groups empty and vanish.
 * - A12 **Stale swap-cache folios.** A group may end while folios no PTE maps still name it: a
 *   folio the swap cache holds for entries MREMAP_RELOCATE_ANON moved out of the group (it skips
 *   non-present entries, docs/model.md §10.2). As the kernel leaves an unmapped folio's stale
 *   `mapping`, the folio leaves the group (counter `lazy_stale_swapcache_folios`) and a swap-in
 *   copies it (`ksm_might_need_to_copy`, docs/model.md §6); a mapped folio there is a model bug.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import {
  type AnonVma,
  type AnonVmaOptions,
  AnonVmaScheme,
  type AnonVmaVmaState,
  type Avc,
} from "./anon_vma.ts";
import {
  type Folio,
  hex,
  linearPageIndex,
  PAGE_SIZE,
  type Vma,
  vmaPages,
} from "../kernel/types.ts";
import type { CloneOp, RmapVisit, SchemeHost, SchemeInfo, WalkKind, WalkReport } from "./scheme.ts";
import type { WorkKind } from "../machine/exec.ts";

/** Options of the lazy scheme: the classic ones plus the parameters of `CONFIG_VMA_REF`. */
export interface AnonVmaLazyOptions extends AnonVmaOptions {
  /**
   * Bytes `CONFIG_VMA_REF` adds to `vm_area_struct` (patch 06, 2605.3/05379): one `refcount_t`,
   * 4 bytes [U — patch text not retrieved; the issue describes "a refcount in vm_area_struct"].
   * Informational: the slab charges {@link AnonVmaLazyOptions.vmaSlotBytes}.
   */
  vmaRefBytes: number;
  /**
   * Slot size of `vm_area_struct` with the refcount, bytes. Default 192, the 6.18 slot
   * (`/sys/kernel/slab/vm_area_struct/slab_size` on the calibration host; 64-byte aligned): the
   * cover letter (2605.3/05380) reports `vm_area_struct` active KB +1.0 % after boot and +0.2 %
   * after 24 launches with the series, which rules out the next slot (256 bytes, +33 %) [D].
   * Range 192–512.
   */
  vmaSlotBytes: number;
  /**
   * Work charged for one `vma_get` or `vma_put` by a walker (an atomic read-modify-write of the
   * refcount on a `vm_area_struct` line the walker does not otherwise hold): default one
   * `cache_miss` [U].
   */
  vmaRefWork: Readonly<Partial<Record<WorkKind, number>>>;
}

/** Default lazy options: the 6.18 structural options plus the `CONFIG_VMA_REF` defaults. */
export const ANON_VMA_LAZY_DEFAULT_OPTIONS: Readonly<
  Pick<AnonVmaLazyOptions, "vmaRefBytes" | "vmaSlotBytes" | "vmaRefWork">
> = Object.freeze({
  vmaRefBytes: 4,
  vmaSlotBytes: 192,
  vmaRefWork: Object.freeze({ cache_miss: 1 }),
});

/** Metadata of the ANON_VMA_LAZY scheme. */
export const ANON_VMA_LAZY_INFO: SchemeInfo = {
  id: "anon_vma_lazy",
  title: "ANON_VMA_LAZY (deferred anon_vma creation)",
  kernel: "patch series on 6.x, 2026-05-27 (NAK'd)",
  status: "posted",
  sources: [
    "https://lkml.rescloud.iu.edu/hypermail/linux/kernel/2605.3/05380.html",
    "https://lkml.iu.edu/2605.3/05338.html",
    "https://lkml.iu.edu/2605.3/05377.html",
    "https://lkml.iu.edu/2606.0/07329.html",
    "https://lkml.iu.edu/hypermail/linux/kernel/2606.0/07662.html",
    "https://lkml.iu.edu/2606.0/04013.html",
    "docs/model.md §10.3",
  ],
  summary:
    "No anon_vma until the process forks: a faulted VMA's folios point at its lazy root VMA " +
    "(reached with the VMAs it was split into or moved to, which pin it), walked without any " +
    "anon_vma lock. At fork the parent's lazy VMAs are upgraded to a classic anon_vma and their " +
    "folios re-pointed; child VMAs are linked to the parent's anon_vmas (ANON_VMA_TREE_PARENT) " +
    "and file their new folios there, allocating nothing until they fork themselves.",
  ownedCaches: ["anon_vma", "anon_vma_chain"],
  ownedLockClasses: ["anon_vma.root"],
  locking: [
    {
      lockClass: "anon_vma.root",
      kind: "rwsem",
      takenFor:
        "as 6.18, but only once a VMA was upgraded at fork (or inherited); none for lazy VMAs",
    },
    {
      lockClass: "page_table_lock",
      kind: "spinlock",
      takenFor: "first fault of a lazy VMA (no anon_vma lock); anon_vma_prepare publication",
    },
    { lockClass: "rcu", kind: "rcu", takenFor: "read: walks of lazy folios through their group" },
  ],
};

/** The chain of a VMA without AVCs (shared; frozen: chains are replaced, never changed in place). */
const NO_AVCS: Avc[] = Object.freeze([] as Avc[]) as Avc[];

/**
 * The state of every unfaulted VMA until it changes (shared; frozen): most VMAs (file-backed,
 * never written) never fault an anonymous page, so they own no state object.
 */
const LAZY_UNFAULTED: OwnLazyState = Object.freeze({
  anonVma: null,
  chain: NO_AVCS,
  lazy: null,
  treeParent: null,
  rooted: null,
});

/** What a {@link SmallSet}'s first field holds once its members are in a `Set` (never a member). */
const MANY: unique symbol = Symbol("SmallSet.many");

/**
 * A set that holds up to two members in fields and allocates a `Set` when a third one joins (most
 * lazy groups and TREE_PARENT links have one member VMA, and a group's folios are often one or
 * two). Iterates in insertion order, as a `Set`; modelling state only, never slab-accounted.
 * Two fields in all: the `Set`, once there, is kept in the second, the first then holding the
 * private mark {@link MANY}.
 */
export class SmallSet<T> implements Iterable<T> {
  /** First member (undefined: none), or {@link MANY} once a third joined. */
  #a: T | typeof MANY | undefined = undefined;
  /** Second member (undefined: fewer than two), or every member once `#a` is {@link MANY}. */
  #b: T | Set<T> | undefined = undefined;

  /** Number of members. */
  get size(): number {
    if (this.#a === MANY) return (this.#b as Set<T>).size;
    return this.#a === undefined ? 0 : this.#b === undefined ? 1 : 2;
  }

  /** Whether `x` is a member. */
  has(x: T): boolean {
    if (this.#a === MANY) return (this.#b as Set<T>).has(x);
    return x !== undefined && (this.#a === x || this.#b === x);
  }

  /** Adds `x` (at the end of the order) unless it is a member. */
  add(x: T): void {
    const a = this.#a;
    if (a === MANY) (this.#b as Set<T>).add(x);
    else if (a === undefined) this.#a = x;
    else if (a === x) return;
    else if (this.#b === undefined) this.#b = x;
    else if (this.#b !== x) {
      this.#b = new Set([a, this.#b as T, x]);
      this.#a = MANY;
    }
  }

  /** Removes `x`; returns whether it was a member. */
  delete(x: T): boolean {
    if (this.#a === MANY) return (this.#b as Set<T>).delete(x);
    if (x === undefined) return false;
    if (this.#a === x) {
      this.#a = this.#b as T | undefined;
      this.#b = undefined;
      return true;
    }
    if (this.#b !== x) return false;
    this.#b = undefined;
    return true;
  }

  /** The first member in insertion order (undefined: none), without an iterator. */
  get first(): T | undefined {
    const a = this.#a;
    if (a !== MANY) return a;
    for (const x of this.#b as Set<T>) return x;
    return undefined;
  }

  /** The second member in insertion order (undefined: fewer), without an iterator. */
  get second(): T | undefined {
    const a = this.#a;
    if (a !== MANY) return this.#b as T | undefined;
    let i = 0;
    for (const x of this.#b as Set<T>) if (i++ === 1) return x;
    return undefined;
  }

  /** The members in insertion order, as a new array (no iterator for up to two members). */
  toArray(): T[] {
    const a = this.#a;
    if (a === MANY) return [...(this.#b as Set<T>)];
    if (a === undefined) return [];
    return this.#b === undefined ? [a] : [a, this.#b as T];
  }

  /** Removes every member. */
  clear(): void {
    this.#a = this.#b = undefined;
  }

  /** The members in insertion order. */
  [Symbol.iterator](): Iterator<T> {
    const a = this.#a;
    if (a === MANY) return (this.#b as Set<T>).values();
    if (a === undefined) return [].values();
    return (this.#b === undefined ? [a] : [a, this.#b as T]).values();
  }
}

/** {@link LazyGroup}'s packed word: `id · 4` plus these flag bits. */
const GROUP_PINNED = 1, GROUP_DEAD = 2;

/**
 * The lazy state shared by the VMAs a lazy root VMA was split into or moved to (assumption A1).
 * `folio->mapping` of a lazy folio encodes {@link LazyGroup.root} (patch 05). The group is itself
 * the set of its member VMAs ({@link LazyGroup.vmas} returns it), and its folio set is allocated
 * at its first folio, so a group is one object; its id and two flags share one field. The group
 * fork gives a child VMA (most never get a folio) is made only when a folio joins it or its root
 * leaves it first: until then its link holds its id ({@link TreeParentLink.pendingGroupId}).
 */
export class LazyGroup extends SmallSet<Vma> {
  /** `id · 4` + {@link GROUP_PINNED} + {@link GROUP_DEAD} (bits exact below 2^53). */
  #word: number;
  /** The lazy root VMA: the VMA whose first fault created the group; folios point at it. */
  readonly root: Vma;
  /** The folio set once a folio joined (null: none yet). */
  #folios: SmallSet<Folio> | null = null;

  /** Creates an empty group whose root VMA is `root`. */
  constructor(id: number, root: Vma) {
    super();
    this.#word = id * 4;
    this.root = root;
  }

  /** Allocation id, for tests and messages. */
  get id(): number {
    return (this.#word - (this.#word & 3)) / 4;
  }

  /** The root's struct was unmapped but stays allocated, pinned by the group (A10). */
  get rootPinnedDetached(): boolean {
    return (this.#word & GROUP_PINNED) !== 0;
  }
  set rootPinnedDetached(v: boolean) {
    if (v !== this.rootPinnedDetached) this.#word += v ? GROUP_PINNED : -GROUP_PINNED;
  }

  /** True once upgraded to an anon_vma or emptied. */
  get dead(): boolean {
    return (this.#word & GROUP_DEAD) !== 0;
  }
  set dead(v: boolean) {
    if (v !== this.dead) this.#word += v ? GROUP_DEAD : -GROUP_DEAD;
  }

  /** Member VMAs, in the order they joined (the walk order): the group itself. */
  get vmas(): SmallSet<Vma> {
    return this;
  }

  /** Live folios whose `mapping` is this group. */
  get folios(): SmallSet<Folio> {
    return this.#folios ??= new SmallSet();
  }

  /** Number of live folios whose `mapping` is this group (allocates nothing). */
  get folioCount(): number {
    return this.#folios === null ? 0 : this.#folios.size;
  }

  /** Drops every folio (the group was upgraded or absorbed). */
  clearFolios(): void {
    this.#folios = null;
  }
}

/**
 * The deferred anon_vma of a child VMA made by fork (ANON_VMA_TREE_PARENT), shared by the VMAs
 * that child VMA was split into (assumption A7). The link is itself the set of its member VMAs
 * ({@link TreeParentLink.vmas} returns it); its id and dead flag share one field.
 */
export class TreeParentLink extends SmallSet<Vma> {
  /** `id · 2`, plus 1 once dead (exact below 2^53). */
  #word: number;
  /** The parent VMA's anon_vma at fork: `parent` of the deferred anon_vma. */
  readonly parent: AnonVma;
  /**
   * The id of the lazy group fork gave this link's VMA (its own folios' group, rooted at it) while
   * the scheme has not made that group's object, else 0: most such groups never get a folio, and
   * until one does the group is exactly this link's member set (see
   * `AnonVmaLazyScheme.fork`).
   */
  pendingGroupId = 0;

  /** Creates a link whose deferred anon_vma will be a child of `parent`. */
  constructor(id: number, parent: AnonVma) {
    super();
    this.#word = id * 2;
    this.parent = parent;
  }

  /** Allocation id, for tests and messages. */
  get id(): number {
    return (this.#word - (this.#word & 1)) / 2;
  }

  /** True once the anon_vma was allocated (or reused) or the link emptied. */
  get dead(): boolean {
    return (this.#word & 1) !== 0;
  }
  set dead(v: boolean) {
    if (v !== this.dead) this.#word += v ? 1 : -1;
  }

  /** Member VMAs: the link itself. */
  get vmas(): SmallSet<Vma> {
    return this;
  }
}

/** Per-VMA state: the classic fields plus the two deferred states. */
export interface AnonVmaLazyVmaState extends AnonVmaVmaState {
  /** LAZY: the group whose folios this VMA maps (then `anonVma` is null and `chain` empty). */
  lazy: LazyGroup | null;
  /** ANON_VMA_TREE_PARENT: the deferred anon_vma (then `anonVma` is null, `chain` non-empty). */
  treeParent: TreeParentLink | null;
}

/**
 * What `vma.rmap` holds in this scheme: the public state plus the live lazy groups whose root is
 * this VMA (one, or a list when it is the root of several: A4, DONTUNMAP then fault).
 */
interface OwnLazyState extends AnonVmaLazyVmaState {
  /** Live groups rooted at this VMA (null: none). */
  rooted: LazyGroup | LazyGroup[] | null;
}

/**
 * One member VMA of a lazy walk of the folio pages `[first, last]`: `visit` at the folio's address
 * in it if it overlaps them. False when `visit` stops the walk.
 */
function lazyVisit(vma: Vma, first: number, last: number, visit: RmapVisit): boolean {
  if (vma.pgoff > last || vma.pgoff + vmaPages(vma) - 1 < first) return true;
  const addr = first >= vma.pgoff ? vma.start + (first - vma.pgoff) * PAGE_SIZE : vma.start;
  return visit(vma, addr);
}

/** The first member of a non-empty link (the VMA fork made, while it is a member). */
function firstMember(t: TreeParentLink): Vma {
  const v = t.first;
  if (v === undefined) throw new Error(`tree-parent link ${t.id} is empty`);
  return v;
}

/** The rmap state kinds of a VMA in this scheme. */
export type LazyVmaKind = "unfaulted" | "lazy" | "tree_parent" | "anon_vma";

/**
 * The ANON_VMA_LAZY scheme.
 *
 * @example Usage
 * ```ts
 * import { AnonVmaLazyScheme } from "./anon_vma_lazy.ts";
 * import { Kernel } from "../kernel/kernel.ts";
 * import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from "../kernel/types.ts";
 * const s = new AnonVmaLazyScheme();
 * const k = new Kernel({ scheme: s });
 * const mm = k.spawn();
 * const a = k.mmap(mm, 0, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
 * k.touch(mm, a, "write");
 * if (k.slab.live("anon_vma") !== 0 || s.kindOf([...mm.vmas][0]) !== "lazy") throw new Error();
 * k.fork(mm);
 * if (k.slab.live("anon_vma") !== 1 || k.slab.live("anon_vma_chain") !== 2) throw new Error();
 * ```
 */
export class AnonVmaLazyScheme extends AnonVmaScheme {
  /** The lazy options (structural options plus `CONFIG_VMA_REF`). */
  readonly lazyOptions: Readonly<AnonVmaLazyOptions>;
  /** Number of live lazy groups (each is listed in its root VMA's state, `rooted`). */
  #groupsLive = 0;
  /**
   * Live lazy groups (a snapshot), found through their member VMAs (every live group has one, in
   * a live mm): in the order of the live mms, their VMAs by address.
   */
  get lazyGroups(): ReadonlySet<LazyGroup> {
    return this.#fromLiveVmas((st) => st.lazy);
  }
  /** Number of live TREE_PARENT links (each is listed in its member VMAs' state). */
  #linksLive = 0;
  /**
   * Live tree-parent links by the anon_vma they defer a child of: a fork child that holds no
   * anon_vma yet still shares its parent's folios (MREMAP_RELOCATE_ANON must not move them).
   */
  #pendingChildren = new Map<AnonVma, number>();
  /**
   * Live TREE_PARENT links (a snapshot), found through their member VMAs (every live link has
   * one, in a live mm): in the order of the live mms, their VMAs by address.
   */
  get treeParentLinks(): ReadonlySet<TreeParentLink> {
    return this.#fromLiveVmas((st) => st.treeParent);
  }

  /** What `pick` finds in the state of each VMA of each live mm, in that order, once each. */
  #fromLiveVmas<T>(pick: (st: AnonVmaLazyVmaState) => T | null | undefined): Set<T> {
    const out = new Set<T>();
    if (!this.host) return out;
    for (const mm of this.host.liveMms()) {
      for (const vma of mm.vmas) {
        const x = pick(this.lstate(vma));
        if (x) out.add(x);
      }
    }
    return out;
  }
  #nextGroupId = 1;
  #nextLinkId = 1;

  /**
   * Creates the scheme; the structural options (e.g. `reuseOrder`) default to Linux 6.18, the
   * `CONFIG_VMA_REF` ones to {@link ANON_VMA_LAZY_DEFAULT_OPTIONS}.
   */
  constructor(options: Partial<AnonVmaLazyOptions> = {}) {
    super(options, ANON_VMA_LAZY_INFO);
    this.lazyOptions = { ...this.options, ...ANON_VMA_LAZY_DEFAULT_OPTIONS, ...options };
    const slot = this.lazyOptions.vmaSlotBytes;
    if (!Number.isInteger(slot) || slot < 192 || slot > 512) {
      throw new RangeError(`vmaSlotBytes must be an integer in [192, 512], got ${slot}`);
    }
  }

  /** Sets the `vm_area_struct` slot size the refcount implies (A10) before any VMA exists. */
  override attach(host: SchemeHost): void {
    super.attach(host);
    if (host.slab.sizes.vm_area_struct !== this.lazyOptions.vmaSlotBytes) {
      host.slab.setSize("vm_area_struct", this.lazyOptions.vmaSlotBytes);
    }
  }

  /** The lazy root VMA a lazy folio's `mapping` encodes, or null (patch 05). */
  folioLazyRoot(folio: Folio): Vma | null {
    return this.folioLazyGroup(folio)?.root ?? null;
  }

  /** {@link AnonVmaLazyOptions.vmaRefWork} as (kind, units) pairs, in its order (made once). */
  #vmaRefWork: [WorkKind, number][] | null = null;

  #chargeVmaRef(): void {
    this.#vmaRefWork ??= Object.entries(this.lazyOptions.vmaRefWork) as [WorkKind, number][];
    for (const [k, n] of this.#vmaRefWork) this.host.exec.work(k, n);
  }

  /**
   * The scheme state of a VMA. A TREE_PARENT VMA's lazy group is made here if it was not yet
   * (see {@link AnonVmaLazyScheme.fork}), so that `lazy` is set as in every TREE_PARENT state.
   */
  lstate(vma: Vma): AnonVmaLazyVmaState {
    const s = vma.rmap as AnonVmaLazyVmaState;
    if (s.treeParent !== null && s.lazy === null) this.#makeForkGroup(s.treeParent);
    return s;
  }

  /**
   * The scheme state of a VMA as held: a TREE_PARENT VMA whose fork-time lazy group was not made
   * yet has `lazy` null (its link's {@link TreeParentLink.pendingGroupId} is set instead).
   */
  #st(vma: Vma): OwnLazyState {
    return vma.rmap as OwnLazyState;
  }

  /** Which state a VMA is in. */
  kindOf(vma: Vma): LazyVmaKind {
    const s = this.#st(vma);
    if (s.treeParent) return "tree_parent";
    if (s.lazy) return "lazy";
    if (s.anonVma) return "anon_vma";
    return "unfaulted";
  }

  /** The lazy group in `folio->mapping`, or null when the folio points at an anon_vma. */
  folioLazyGroup(folio: Folio): LazyGroup | null {
    return folio.rmap instanceof LazyGroup ? folio.rmap : null;
  }

  /** Classic counters plus the live lazy groups and TREE_PARENT links. */
  override counters(): Record<string, number> {
    return {
      ...super.counters(),
      lazy_groups_live: this.#groupsLive,
      tree_parent_links_live: this.#linksLive,
      vma_pinned_detached_live: this.host ? this.host.slab.stats("vm_area_struct").retained : 0,
    };
  }

  // -- groups ------------------------------------------------------------------------------------

  #newGroup(root: Vma): LazyGroup {
    const g = new LazyGroup(this.#reserveGroupId(), root);
    const rs = this.#own(root);
    const had = rs.rooted;
    if (had === null) rs.rooted = g;
    else if (had instanceof LazyGroup) rs.rooted = [had, g];
    else had.push(g);
    return g;
  }

  /** A new lazy group's id: the group counted as created and live (made now or later). */
  #reserveGroupId(): number {
    this.#groupsLive++;
    this.count("lazy_groups_created");
    return this.#nextGroupId++;
  }

  /** The end of link `t`'s fork-time group whose object was never made (it had no folio). */
  #endPendingGroup(t: TreeParentLink): void {
    t.pendingGroupId = 0;
    this.#groupsLive--;
  }

  /** A VMA joins a lazy group: a list operation, and a pin on the root unless it is it (A10). */
  #chargeJoin(isRoot: boolean): void {
    this.host.exec.work("list_op");
    if (!isRoot) this.count("vma_get");
  }

  /** A VMA leaves a lazy group: a list operation, and its pin on the root dropped (A10). */
  #chargeLeave(isRoot: boolean): void {
    this.host.exec.work("list_op");
    if (!isRoot) this.count("vma_put");
  }

  /**
   * Makes the object of a TREE_PARENT link's fork-time lazy group, not made at fork (nothing
   * about it is counted or charged here; fork did that): its reserved id, its root the VMA fork
   * made (the link's first member while the group is not made: see `#leavePendingGroup`), its
   * members the link's in the same order (they joined and left both together), listed in the
   * root's state. Returns the group.
   */
  #makeForkGroup(t: TreeParentLink): LazyGroup {
    const id = t.pendingGroupId;
    if (id === 0 || t.dead) throw new Error(`tree-parent link ${t.id} has no pending lazy group`);
    t.pendingGroupId = 0;
    const root = firstMember(t);
    const g = new LazyGroup(id, root);
    const rs = this.#st(root);
    const had = rs.rooted;
    if (had === null) rs.rooted = g;
    else if (had instanceof LazyGroup) rs.rooted = [had, g];
    else had.push(g);
    for (const v of t.vmas.toArray()) {
      g.add(v);
      this.#st(v).lazy = g;
    }
    return g;
  }

  /** `vma`'s lazy group, its TREE_PARENT link's fork-time group made first if need be. */
  #groupToFill(s: OwnLazyState): LazyGroup | null {
    return s.lazy ?? (s.treeParent !== null ? this.#makeForkGroup(s.treeParent) : null);
  }

  /**
   * {@link AnonVmaScheme.unlink}'s `#leaveGroup` for a VMA of link `t` whose fork-time group is
   * not made: the same work and counts, the group ending when its last VMA leaves (it has no
   * folio, no pin, no place in a root's list). The root VMA (the link's first member) leaving
   * while others stay would pin it: the group is made first and left as any.
   */
  #leavePendingGroup(vma: Vma, t: TreeParentLink): void {
    const first = firstMember(t);
    const n = t.vmas.size;
    if (first === vma && n > 1) {
      this.#makeForkGroup(t);
      this.#leaveGroup(vma);
      return;
    }
    this.#chargeLeave(vma === first);
    if (n === 1) this.#endPendingGroup(t);
  }

  #joinGroup(vma: Vma, g: LazyGroup): void {
    const s = this.#own(vma);
    s.lazy = g;
    g.vmas.add(vma);
    this.#chargeJoin(vma === g.root);
  }

  #leaveGroup(vma: Vma): void {
    const s = this.#st(vma);
    const g = s.lazy!;
    g.vmas.delete(vma);
    s.lazy = null;
    this.#chargeLeave(vma === g.root);
    if (g.vmas.size === 0) {
      if (g.folioCount !== 0) this.#dropUnmappedFolios(g);
      this.#killGroup(g);
    }
  }

  /**
   * The last VMA of `g` left while folios still name it. Only folios that no PTE maps may: a
   * swap-cached folio whose entries MREMAP_RELOCATE_ANON moved out of the group (non-present
   * entries are skipped, docs/model.md §10.2) keeps a stale `mapping`, as the kernel leaves an
   * unmapped folio's; it leaves the group, and a swap-in copies it (`swapCacheAnonMatches`).
   */
  #dropUnmappedFolios(g: LazyGroup): void {
    const folios = g.folios.toArray();
    for (const f of folios) {
      if (f.mapped()) {
        throw new Error(`lazy group ${g.id} emptied with ${g.folioCount} live folios`);
      }
    }
    for (const f of folios) f.rmap = null;
    g.clearFolios();
    this.count("lazy_stale_swapcache_folios", folios.length);
  }

  /**
   * `ksm_might_need_to_copy`'s anon_vma test in each state: a lazy folio fits the VMAs of its
   * group; an anon_vma's folio fits a VMA whose anon_vma, or TREE_PARENT link's parent, has its
   * root; a folio that left its emptied group fits none.
   */
  override swapCacheAnonMatches(folio: Folio, vma: Vma): boolean {
    const g = this.folioLazyGroup(folio);
    if (g !== null) return !g.dead && g.vmas.has(vma);
    const s = this.#st(vma);
    return this.sameAnonRoot(folio, s.anonVma ?? s.treeParent?.parent ?? null);
  }

  /** The group is gone (emptied or upgraded): the last pin on a detached root drops (A10). */
  #killGroup(g: LazyGroup): void {
    g.dead = true;
    this.#groupsLive--;
    const rs = this.#own(g.root);
    const had = rs.rooted!;
    if (had === g) rs.rooted = null;
    else if (!(had instanceof LazyGroup)) {
      had.splice(had.indexOf(g), 1);
      if (had.length === 1) rs.rooted = had[0];
    }
    if (g.rootPinnedDetached) {
      g.rootPinnedDetached = false;
      if (!this.#rootStillPinned(g.root)) this.host.slab.releaseRetained("vm_area_struct");
    }
  }

  /** The live groups rooted at `root`. */
  #groupsOf(root: Vma): readonly LazyGroup[] {
    const had = (root.rmap as OwnLazyState).rooted;
    return had === null ? [] : had instanceof LazyGroup ? [had] : had;
  }

  #rootStillPinned(root: Vma): boolean {
    return this.#groupsOf(root).some((o) => o.rootPinnedDetached);
  }

  /**
   * Called from `unlink` for a VMA about to be freed by the core: if it is the root of a live
   * group that other VMAs still use, its struct stays allocated (unmapped but pinned, A10).
   */
  #pinIfRoot(vma: Vma): void {
    if ((vma.rmap as OwnLazyState).rooted === null) return;
    let pinned = false;
    for (const g of this.#groupsOf(vma)) {
      if (g.vmas.size === 0) continue;
      g.rootPinnedDetached = true;
      pinned = true;
    }
    if (pinned) {
      this.host.slab.retain("vm_area_struct");
      this.count("vma_pinned_detached");
    }
  }

  /** A link died (emptied or materialized): its parent has one deferred child fewer. */
  #linkGone(t: TreeParentLink): void {
    const n = this.#pendingChildren.get(t.parent)! - 1;
    if (n === 0) this.#pendingChildren.delete(t.parent);
    else this.#pendingChildren.set(t.parent, n);
  }

  #newLink(parent: AnonVma): TreeParentLink {
    const t = new TreeParentLink(this.#nextLinkId++, parent);
    this.#linksLive++;
    this.#pendingChildren.set(parent, (this.#pendingChildren.get(parent) ?? 0) + 1);
    return t;
  }

  #joinLink(vma: Vma, t: TreeParentLink): void {
    this.#own(vma).treeParent = t;
    t.vmas.add(vma);
  }

  #leaveLink(vma: Vma): void {
    const s = this.#st(vma);
    const t = s.treeParent!;
    t.vmas.delete(vma);
    s.treeParent = null;
    if (t.vmas.size === 0) {
      t.dead = true;
      this.#linksLive--;
      this.#linkGone(t);
    }
  }

  /** A2: the group of an adjacent, `anon_vma_compatible` lazy VMA (next first, then prev). */
  #findMergeableGroup(vma: Vma): LazyGroup | null {
    const next = this.host.nextVma(vma);
    if (next && next.start === vma.end && this.anonVmaCompatible(vma, next)) {
      const g = this.#st(next).treeParent ? null : this.#st(next).lazy;
      if (g) return g;
    }
    const prev = this.host.prevVma(vma);
    if (prev && this.anonVmaCompatible(prev, vma)) {
      const g = this.#st(prev).treeParent ? null : this.#st(prev).lazy;
      if (g) return g;
    }
    return null;
  }

  /**
   * Upgrades a lazy group to a classic anon_vma (fork of its mm): one root anon_vma for the whole
   * group, one AVC per member VMA, every folio re-pointed. Returns the anon_vma.
   */
  upgrade(g: LazyGroup): AnonVma {
    if (g.dead) throw new Error(`upgrade of dead lazy group ${g.id}`);
    const members = g.vmas.toArray().sort((a, b) => a.start - b.start);
    const mm = members[0].mm;
    // __anon_vma_prepare allocates outside the locks.
    const av = this.allocAnonVma();
    av.numChildren++; // self-parent link for a new root
    const avcs = members.map((v) => this.allocAvc(v, av));
    const l = this.lockWrite(av);
    this.host.exec.acquire(mm.pageTableLock, "write");
    members.forEach((v, i) => {
      const s = this.#st(v);
      s.lazy = null;
      s.anonVma = av;
      this.link(v, avcs[i]);
      av.numActiveVmas++;
    });
    const nFolios = g.folioCount;
    if (nFolios !== 0) {
      for (const f of g.folios.toArray()) {
        f.rmap = av;
        this.host.exec.work("pte_check");
        this.host.exec.work("pte_update");
      }
    }
    this.host.exec.release(mm.pageTableLock, "write");
    this.unlockWrite(l);
    this.count("lazy_upgrades");
    this.count("lazy_vmas_upgraded", members.length);
    this.count("lazy_folios_repointed", nFolios);
    this.count("vma_put", members.length - (g.vmas.has(g.root) ? 1 : 0));
    g.vmas.clear();
    g.clearFolios();
    this.#killGroup(g);
    return av;
  }

  /** Re-points every folio of `g` to `av` and ends the group (its VMAs hold `av` already). */
  #absorb(g: LazyGroup, av: AnonVma): void {
    const nFolios = g.folioCount;
    if (nFolios !== 0) {
      for (const f of g.folios.toArray()) {
        f.rmap = av;
        this.host.exec.work("pte_check");
        this.host.exec.work("pte_update");
      }
    }
    this.count("lazy_folios_repointed", nFolios);
    this.count("vma_put", g.vmas.size - (g.vmas.has(g.root) ? 1 : 0));
    for (const v of g.vmas.toArray()) this.#st(v).lazy = null;
    g.vmas.clear();
    g.clearFolios();
    this.#killGroup(g);
  }

  /**
   * Upgrade of an inherited VMA when its process forks (2606.0/07329, 2606.0/07662): the
   * deferred tail of `anon_vma_fork` for every VMA of a TREE_PARENT link — reuse an ancestor
   * (6.18 rule, A8) or allocate a child anon_vma of `link.parent`. Returns the anon_vma.
   */
  materialize(t: TreeParentLink): AnonVma {
    if (t.dead) throw new Error(`materialize of dead tree-parent link ${t.id}`);
    const members = t.vmas.toArray().sort((a, b) => a.start - b.start);
    // The chain is newest first: oldest-first examines it from its end (the root).
    const chain = this.#st(members[0]).chain;
    const n = chain.length;
    const oldestFirst = this.options.reuseOrder === "oldest-first";
    let av: AnonVma | null = null;
    for (let k = 0; k < n; k++) {
      const cand = chain[oldestFirst ? n - 1 - k : k].anonVma;
      if (cand.numChildren < 2 && cand.numActiveVmas === 0) {
        av = cand;
        break;
      }
    }
    if (av) {
      const reused = av;
      const l = this.lockWrite(reused);
      for (const v of members) {
        const s = this.#st(v);
        s.treeParent = null;
        s.anonVma = reused;
        reused.numActiveVmas++;
      }
      this.unlockWrite(l);
      this.count("anon_vma_reuse_deferred");
    } else {
      const fresh = this.allocAnonVma();
      const avcs = members.map((v) => this.allocAvc(v, fresh));
      fresh.root = t.parent.root;
      fresh.parent = t.parent;
      fresh.root.refcount++;
      const l = this.lockWrite(fresh);
      members.forEach((v, i) => {
        const s = this.#st(v);
        s.treeParent = null;
        s.anonVma = fresh;
        this.link(v, avcs[i]);
        fresh.numActiveVmas++;
      });
      t.parent.numChildren++;
      this.unlockWrite(l);
      av = fresh;
    }
    // The VMAs' own folios (their lazy group, rooted at the VMA fork made) move to the
    // anon_vma, as a LAZY group's do at its upgrade.
    const g = this.#st(members[0]).lazy;
    if (g) this.#absorb(g, av);
    else {
      // The fork-time group not made: #absorb of a group without folios, whose root (the link's
      // first member) is a member.
      this.count("lazy_folios_repointed", 0);
      this.count("vma_put", t.vmas.size - 1);
      this.#endPendingGroup(t);
    }
    this.count("tree_parent_materialized");
    t.vmas.clear();
    t.dead = true;
    this.#linksLive--;
    this.#linkGone(t);
    return av;
  }

  // -- predicates --------------------------------------------------------------------------------

  /** Fresh (unfaulted) state: the shared frozen {@link LAZY_UNFAULTED} until it changes. */
  override vmaInit(vma: Vma): void {
    vma.rmap = LAZY_UNFAULTED;
  }

  /**
   * The state of a VMA, to be changed: a VMA still holding the shared unfaulted state gets a state
   * object of its own first (the classic hooks reach this through `ownState` too).
   */
  #own(vma: Vma): OwnLazyState {
    const r = vma.rmap as OwnLazyState;
    if (r !== LAZY_UNFAULTED) return r;
    const own: OwnLazyState = {
      anonVma: null,
      chain: NO_AVCS,
      lazy: null,
      treeParent: null,
      rooted: null,
    };
    vma.rmap = own;
    return own;
  }

  /** `ownState` of the classic hooks: the VMA's own state object ({@link AnonVmaLazyScheme.#own}). */
  protected override ownState(vma: Vma): AnonVmaVmaState {
    return this.#own(vma);
  }

  /** True for LAZY, TREE_PARENT and classic VMAs: they may map anon folios. */
  override hasAnon(vma: Vma): boolean {
    const s = this.#st(vma);
    return s.anonVma !== null || s.lazy !== null || s.chain.length > 0;
  }

  /** LAZY: never (nothing is shared); TREE_PARENT: always; classic: 6.18 rule. */
  override isForkChild(vma: Vma): boolean {
    const s = this.#st(vma);
    if (s.treeParent) return true;
    if (s.lazy) return false;
    return super.isForkChild(vma);
  }

  /** Merge identity: the lazy group, the TREE_PARENT link, or `vma->anon_vma`. */
  override anonIdentity(vma: Vma): unknown {
    const s = this.#st(vma);
    return s.treeParent ?? s.lazy ?? s.anonVma;
  }

  /** LAZY folios are never shared; TREE_PARENT VMAs map inherited folios. */
  override maybeHasSharedAnon(vma: Vma): boolean {
    const s = this.#st(vma);
    if (s.treeParent) return true;
    if (s.lazy) return false;
    if (super.maybeHasSharedAnon(vma)) return true;
    // Its anon_vma has a fork child linked as TREE_PARENT, with no anon_vma of its own yet: the
    // child shares the folios all the same (num_children does not count it until materialized).
    return s.anonVma !== null && this.#pendingChildren.has(s.anonVma);
  }

  // -- hooks -------------------------------------------------------------------------------------

  /** `vma_prepare_anon_vma_lazy`: an unfaulted VMA becomes LAZY; no object, no anon_vma lock. */
  override prepare(vma: Vma): void {
    if (this.hasAnon(vma)) return;
    let g = this.#findMergeableGroup(vma);
    if (g) this.count("lazy_group_reuse_neighbour");
    else g = this.#newGroup(vma);
    this.host.exec.acquire(vma.mm.pageTableLock, "write");
    this.#joinGroup(vma, g);
    this.host.exec.release(vma.mm.pageTableLock, "write");
  }

  /**
   * `anon_vma_fork`: upgrade a LAZY parent (patch 10) or a TREE_PARENT one (the forking child
   * "becomes a parent", 2606.0/07662), then link the child as ANON_VMA_TREE_PARENT.
   */
  override fork(child: Vma, parent: Vma): void {
    const ps = this.#st(parent);
    if (ps.treeParent) {
      this.materialize(ps.treeParent);
      this.count("tree_parent_upgraded_at_fork");
    } else if (ps.lazy) this.upgrade(ps.lazy);
    if (ps.chain.length === 0) return; // unfaulted parent: child unfaulted
    this.#own(child).anonVma = null;
    const parentAv = ps.anonVma!;
    this.cloneChain(child, parent, false);
    const t = this.#newLink(parentAv);
    this.#joinLink(child, t);
    // Its own new folios will be lazy: folio->mapping = this VMA (the group's root). The group
    // is counted and its joining charged now, but its object is made when a folio joins it
    // (`#groupToFill`) or its root leaves it first (`#leavePendingGroup`): until then it is the
    // link's member set, which every later join and leave changes together.
    t.pendingGroupId = this.#reserveGroupId();
    this.#chargeJoin(true);
    this.count("tree_parent_forked");
  }

  /** `anon_vma_clone` for split, remap and unfaulted merge. */
  override clone(dst: Vma, src: Vma, op: Exclude<CloneOp, "fork">): void {
    const ss = this.#st(src);
    const ds = this.#st(dst);
    if (ds.chain.length !== 0 || ds.lazy || ds.treeParent) {
      throw new Error(`clone into vma ${dst.id} with anon state`);
    }
    if (ss.treeParent) {
      this.#own(dst).anonVma = null;
      this.cloneChain(dst, src, false);
      this.#joinLink(dst, ss.treeParent);
      if (ss.lazy !== null) this.#joinGroup(dst, ss.lazy);
      else {
        // The fork-time group not made yet: joining the link joined it (`#joinGroup`'s charge;
        // `dst` is new, never the group's root).
        this.#chargeJoin(false);
      }
      return;
    }
    if (ss.lazy) {
      this.#own(dst).anonVma = null;
      this.#joinGroup(dst, ss.lazy);
      return;
    }
    super.clone(dst, src, op);
  }

  /**
   * `unlink_anon_vmas`: leave the group or link, then the classic unlink of the chain. A lazy root
   * VMA the core is about to free (it is no longer in its mm's tree; a DONTUNMAP source still
   * is) stays allocated while its group lives (A10).
   */
  override unlink(vma: Vma): void {
    const s = this.#st(vma);
    if (s.lazy) this.#leaveGroup(vma);
    else if (s.treeParent) this.#leavePendingGroup(vma, s.treeParent);
    if (s.treeParent) this.#leaveLink(vma);
    if ((vma.rmap as OwnLazyState).rooted !== null) {
      const inTree = vma.mm.vmas.find(vma.start) === vma; // the VMA covering its start is it
      if (!inTree) this.#pinIfRoot(vma);
    }
    super.unlink(vma);
  }

  /** `vma_prepare`/`vma_complete`: re-key the AVCs of classic and TREE_PARENT VMAs. */
  override adjust(vmas: readonly Vma[], mutate: () => void): void {
    let first: Vma | null = null;
    for (let i = 0; i < vmas.length && first === null; i++) {
      if (this.#st(vmas[i]).chain.length > 0) first = vmas[i];
    }
    if (first === null) {
      mutate();
      return;
    }
    // VMAs without a chain have no AVC to re-key: looping over every VMA is the same.
    const l = this.lockWrite(this.#st(first).chain[0].anonVma);
    for (const v of vmas) for (const avc of this.#st(v).chain) this.treeRemove(avc);
    mutate();
    for (const v of vmas) for (const avc of this.#st(v).chain) this.treeInsert(avc);
    this.unlockWrite(l);
  }

  /** `__folio_set_anon` in each state (A9 for TREE_PARENT). */
  override addNewAnon(folio: Folio, vma: Vma, addr: number, exclusive: boolean): void {
    const s = this.#st(vma);
    if (s.treeParent && !exclusive) {
      // A shared swap-in: its other mappers are in the tree of the chain's root (A9).
      folio.rmap = s.treeParent.parent.root;
      this.count("tree_parent_shared_to_root");
      return;
    }
    const g = this.#groupToFill(s);
    if (g) {
      // LAZY, or a TREE_PARENT VMA's own new folio (patch 10: no anon_vma is allocated).
      folio.rmap = g;
      g.folios.add(folio);
      if (s.treeParent) this.count("tree_parent_new_folio_lazy");
      return;
    }
    super.addNewAnon(folio, vma, addr, exclusive);
  }

  /** `folio_move_anon_rmap` (A9). */
  override moveAnon(folio: Folio, vma: Vma): void {
    const s = this.#st(vma);
    const old = this.folioLazyGroup(folio);
    const g = this.#groupToFill(s);
    if (g) {
      if (old === g) return;
      if (old) old.folios.delete(folio);
      folio.rmap = g;
      g.folios.add(folio);
      this.count("folio_move_anon_rmap");
      return;
    }
    if (old) old.folios.delete(folio);
    super.moveAnon(folio, vma);
  }

  /** Drops a freed lazy folio from its group. */
  override folioFreed(folio: Folio): void {
    this.folioLazyGroup(folio)?.folios.delete(folio);
  }

  /** `rmap_walk_anon`: a lazy folio's walk visits its group's VMAs under RCU, no rwsem. */
  override walk(folio: Folio, kind: WalkKind, tryLock: boolean, visit: RmapVisit): WalkReport {
    const g = this.folioLazyGroup(folio);
    if (!g) return super.walk(folio, kind, tryLock, visit);
    if (g.dead) throw new Error(`folio ${folio.id} points at dead lazy group ${g.id}`);
    const exec = this.host.exec;
    exec.rcuReadLock();
    if (kind === "migrate") {
      // try_to_migrate: pin the lazy root VMA in place of folio_get_anon_vma (P06/P12 [U]).
      this.#chargeVmaRef();
      this.count("migration_vma_get");
    }
    const first = folio.index;
    const last = first + folio.nrPages - 1;
    let examined = 0;
    const vs = g.vmas;
    if (vs.size <= 2) {
      // The one or two members in order, without an iterator (most groups).
      const a = vs.first, b = vs.second;
      if (a !== undefined) {
        examined++;
        if (lazyVisit(a, first, last, visit) && b !== undefined) {
          examined++;
          lazyVisit(b, first, last, visit);
        }
      }
    } else {
      for (const vma of vs) {
        examined++;
        if (!lazyVisit(vma, first, last, visit)) break;
      }
    }
    exec.work("list_op", examined);
    exec.rcuReadUnlock();
    if (kind === "remove_migration") {
      // remove_migration_ptes done: drop the pin (vma_put).
      this.#chargeVmaRef();
      this.count("migration_vma_put");
    }
    this.count("lazy_walks");
    return { contended: false, structures: 1, treeNodes: examined };
  }

  /** MREMAP_RELOCATE_ANON: the destination gets its own (lazy) state (A4). */
  override relocate(
    src: Vma,
    dst: Vma,
    folios: readonly { folio: Folio; addr: number }[],
  ): boolean {
    for (const { folio } of folios) {
      if (folio.pinned || folio.maxPageMapcount() > 1) return false;
    }
    this.prepare(dst);
    const g = this.lstate(dst).lazy;
    if (!g) return super.relocate(src, dst, folios);
    const srcAv = this.#st(src).anonVma;
    const l = srcAv ? this.lockWrite(srcAv) : null;
    for (const { folio } of folios) {
      this.folioLazyGroup(folio)?.folios.delete(folio);
      folio.rmap = g;
      g.folios.add(folio);
      this.host.exec.work("pte_update");
    }
    if (l) this.unlockWrite(l);
    this.count("folios_relocated", folios.length);
    return true;
  }

  /** `split_folio`: the new folios take the head's mapping (and lazy group). */
  override splitFolio(head: Folio, tails: readonly Folio[]): void {
    const g = this.folioLazyGroup(head);
    for (const t of tails) {
      t.rmap = head.rmap;
      g?.folios.add(t);
    }
  }

  /** RELOCATE_ANON undo: the folio leaves the destination's lazy group for its old mapping. */
  override relocateUndo(folio: Folio, oldRmap: unknown): void {
    this.folioLazyGroup(folio)?.folios.delete(folio);
    folio.rmap = oldRmap;
    if (oldRmap instanceof LazyGroup) oldRmap.folios.add(folio);
  }

  // -- invariants --------------------------------------------------------------------------------

  /**
   * The classic invariants I1–I6 (reference §1.7) extended to the deferred states:
   * - every VMA is in exactly one state, and its group/link lists it;
   * - L1: every PTE of a lazy folio lies in a VMA of the folio's group (walk completeness), and
   *   the group's folio set is exactly its live folios;
   * - L2: a lazy group's VMAs all belong to one live mm (nothing lazy is shared);
   * - T1: the VMAs of one TREE_PARENT link have identical chains that contain the link's parent;
   * - I5 extended: VMAs sharing an anon_vma have identical chains.
   */
  override check(): string[] {
    const out: string[] = [];
    const active = new Map<AnonVma, number>();
    const chainsOf = new Map<unknown, string>();
    const seenGroups = new Set<LazyGroup>();
    const seenLinks = new Set<TreeParentLink>();
    const chainKey = (c: Avc[]): string =>
      c.map((a) => a.anonVma.id).sort((a, b) => a - b).join(",");
    for (const mm of this.host.liveMms()) {
      for (const vma of mm.vmas) {
        const st = this.#st(vma);
        const tag = `vma ${vma.id}`;
        if (st.lazy && (st.anonVma || (!st.treeParent && st.chain.length))) {
          out.push(`${tag} lazy with other anon state`);
        }
        if (st.treeParent && (st.anonVma || st.chain.length === 0 || !st.lazy)) {
          // Without its group's object only while the link holds the group's id (not made yet).
          if (st.anonVma || st.chain.length === 0 || st.treeParent.pendingGroupId === 0) {
            out.push(`${tag} tree-parent with anon_vma, without chain or without own group`);
          }
        }
        if (st.lazy && st.treeParent && st.treeParent.pendingGroupId !== 0) {
          out.push(`${tag} tree-parent with a group and a pending one`);
        }
        if (!st.lazy && !st.treeParent && (st.anonVma === null) !== (st.chain.length === 0)) {
          out.push(`I4: ${tag} anon_vma/chain disagree`);
        }
        if (st.lazy) {
          seenGroups.add(st.lazy);
          if (st.lazy.dead || !this.#groupsOf(st.lazy.root).includes(st.lazy)) {
            out.push(`${tag} in dead lazy group`);
          }
          if (!st.lazy.vmas.has(vma)) out.push(`${tag} missing from lazy group ${st.lazy.id}`);
        }
        if (st.treeParent) {
          const t = st.treeParent;
          seenLinks.add(t);
          if (t.dead) out.push(`${tag} in dead tree-parent link`);
          if (!t.vmas.has(vma)) out.push(`${tag} missing from tree-parent link ${t.id}`);
          if (t.parent.freed) out.push(`${tag} tree-parent link ${t.id} parent freed`);
          if (!st.chain.some((a) => a.anonVma === t.parent)) {
            out.push(`T1: ${tag} chain lacks its tree parent ${t.parent.id}`);
          }
        }
        const sharedKey: unknown = st.anonVma ?? st.treeParent;
        if (sharedKey) {
          if (st.anonVma) active.set(st.anonVma, (active.get(st.anonVma) ?? 0) + 1);
          const key = chainKey(st.chain);
          const prev = chainsOf.get(sharedKey);
          if (prev !== undefined && prev !== key) {
            out.push(`I5/T1: VMAs sharing ${tag}'s anon identity have different chains`);
          }
          chainsOf.set(sharedKey, key);
        }
        if (st.anonVma && !st.chain.some((a) => a.anonVma === st.anonVma)) {
          out.push(`${tag} chain lacks its own anon_vma`);
        }
        const s = vma.pgoff, l = vma.pgoff + vmaPages(vma) - 1;
        const root = st.chain.length ? st.chain[st.chain.length - 1].anonVma.root : null;
        for (const avc of st.chain) {
          if (avc.anonVma.freed) out.push(`${tag} links freed anon_vma ${avc.anonVma.id}`);
          if (avc.anonVma.root !== root) out.push(`I3: ${tag} chain mixes roots`);
          if (!avc.handle || avc.handle.start !== s || avc.handle.last !== l) {
            out.push(`${tag} AVC key stale in anon_vma ${avc.anonVma.id}`);
          }
        }
      }
      // I1 / L1: every anon PTE is reachable through its folio's mapping.
      for (const [vpn, pte] of mm.pages.entries()) {
        const f = pte.folio;
        if (!f || !f.anon || f.ksm) continue;
        const addr = vpn * PAGE_SIZE;
        const vma = mm.vmas.find(addr);
        if (!vma) {
          out.push(`PTE at ${hex(addr)} outside any VMA`);
          continue;
        }
        if (linearPageIndex(vma, addr) !== f.index + pte.page) {
          out.push(`I1b: folio ${f.id} index ${f.index} vs vma ${vma.id} at ${hex(addr)}`);
        }
        const g = this.folioLazyGroup(f);
        if (g) {
          if (this.#st(vma).lazy !== g) {
            out.push(`L1: vma ${vma.id} maps folio ${f.id} of lazy group ${g.id} outside it`);
          }
          if (!g.folios.has(f)) out.push(`L1: lazy group ${g.id} lacks folio ${f.id}`);
        } else {
          const av = f.rmap as AnonVma;
          if (av.freed) out.push(`folio ${f.id} points at freed anon_vma ${av.id}`);
          if (!this.#st(vma).chain.some((a) => a.anonVma === av)) {
            out.push(`I1a: vma ${vma.id} not in tree of anon_vma ${av.id} of folio ${f.id}`);
          }
        }
      }
    }
    // The live groups found through their VMAs (as `lazyGroups`, without making pending ones),
    // and the fork-time groups not made yet (one per live link holding an id).
    const groups = seenGroups;
    let pending = 0;
    for (const t of seenLinks) if (t.pendingGroupId !== 0) pending++;
    if (groups.size + pending !== this.#groupsLive) {
      out.push(
        `${groups.size} lazy groups listed by root and ${pending} not made, ` +
          `${this.#groupsLive} counted live`,
      );
    }
    for (const g of groups) {
      if (!seenGroups.has(g)) out.push(`lazy group ${g.id} live but no VMA uses it`);
      if (g.vmas.size === 0) out.push(`lazy group ${g.id} empty but live`);
      if (g.root.detached !== g.rootPinnedDetached) {
        out.push(`A10: lazy group ${g.id} root vma ${g.root.id} detached/pinned disagree`);
      }
      const mms = new Set([...g.vmas].map((v) => v.mm));
      if (mms.size > 1) out.push(`L2: lazy group ${g.id} spans ${mms.size} mms`);
      for (const v of g.vmas) {
        if (v.detached || !v.mm.alive) out.push(`lazy group ${g.id} holds dead vma ${v.id}`);
        if (this.#st(v).lazy !== g) out.push(`lazy group ${g.id} lists vma ${v.id} wrongly`);
      }
      for (const f of g.folios.toArray()) {
        if (f.freed || f.rmap !== g) out.push(`lazy group ${g.id} holds stale folio ${f.id}`);
      }
    }
    if (seenLinks.size !== this.#linksLive) {
      out.push(`${seenLinks.size} tree-parent links in use, ${this.#linksLive} counted live`);
    }
    const byParent = new Map<AnonVma, number>();
    for (const t of seenLinks) byParent.set(t.parent, (byParent.get(t.parent) ?? 0) + 1);
    for (const [av, n] of this.#pendingChildren) {
      if (byParent.get(av) !== n) {
        out.push(
          `anon_vma ${av.id}: ${n} deferred children counted, ${byParent.get(av) ?? 0} live`,
        );
      }
    }
    if (byParent.size !== this.#pendingChildren.size) {
      out.push(`${byParent.size} parents of live links, ${this.#pendingChildren.size} counted`);
    }
    for (const t of seenLinks) {
      for (const v of t.vmas) {
        if (v.detached) out.push(`tree-parent link ${t.id} holds dead vma ${v.id}`);
        if (this.#st(v).treeParent !== t) out.push(`link ${t.id} lists vma ${v.id} wrongly`);
      }
    }
    out.push(...this.checkAnonVmaCounts(active));
    return out;
  }
}
