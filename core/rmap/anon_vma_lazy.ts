/**
 * ANON_VMA_LAZY: deferred anon_vma creation (wangtao at HONOR, "[PATCH 0/15] mm: introduce
 * ANON_VMA_LAZY for deferred anon_vma creation", 2026-05-27, NAK'd; reference §10.3).
 *
 * The classic 6.18 model ({@link AnonVmaScheme}) extended with two deferred states, so that a
 * VMA of a process that never forks owns no anon_vma and no anon_vma_chain, and a VMA inherited
 * at fork gets its own anon_vma only when the child writes a new page there. Once a VMA holds an
 * anon_vma everything is classic (the inherited hooks run unchanged).
 *
 * Per-VMA states (the patch's `anon_vma_tree_t` container):
 * - **unfaulted**: no anon state (as classic).
 * - **LAZY** (the patch's lazy layout): the first write fault (`anon_vma_prepare` →
 *   `vma_prepare_anon_vma_lazy`) allocates no anon_vma and no AVC and takes no anon_vma lock; the
 *   VMA joins a {@link LazyGroup}, and new folios' `mapping` points at that group.
 * - **ANON_VMA_TREE_PARENT**: a child VMA made by fork. It is linked by AVCs to every anon_vma of
 *   its parent VMA's chain (the `anon_vma_clone` half of `anon_vma_fork`), so inherited folios stay
 *   findable, but the anon_vma `anon_vma_fork` would allocate for it is deferred
 *   ({@link TreeParentLink}).
 * - **classic**: `vma->anon_vma` set (the upgraded parent, or a child after its first write; the
 *   patch's `ANON_VMA_TREE_VMA` for VMAs created in the child after fork is LAZY here until the
 *   child forks).
 *
 * Operations:
 * - **Walk of a lazy folio** visits the VMAs of its group whose `[vm_pgoff, vm_pgoff + pages − 1]`
 *   overlaps the folio (in group order, i.e. the order VMAs joined), with no anon_vma rwsem.
 *   What protects it in the model: the group's VMA set only changes under the owning mm's
 *   `mmap_lock` (write) — split, merge, mremap, munmap, exit, fork — and the kernel core runs
 *   every operation atomically, so a walk sees a stable set; the walk is an RCU read-side section
 *   (the patch's RCU-protected VMA access that Lorenzo Stoakes called dubious), and each PTE check
 *   takes the page-table lock as in every scheme (`page_vma_mapped_walk`, done by the kernel
 *   core). Figures: `structures` 1 (the group), `treeNodes` = group members examined (a list
 *   walk, charged as `list_op`), no lock acquisition.
 * - **Fork** (`anon_vma_fork`): a LAZY parent VMA is first upgraded: its whole group gets one new
 *   root anon_vma (as `__anon_vma_prepare` would allocate, `num_children` 1 for the self link,
 *   under its rwsem and the mm's `page_table_lock`), one AVC per member VMA, and every folio of
 *   the group is re-pointed (`folio->mapping` = the anon_vma; charged one `pte_check` and one
 *   `pte_update` per folio, for finding it in the page tables and the `WRITE_ONCE`). Then the
 *   child VMA gets one AVC per AVC of the parent VMA (as the clone of `anon_vma_fork`) and enters
 *   ANON_VMA_TREE_PARENT: no anon_vma, no AVC to an own anon_vma.
 * - **First exclusive new folio in a TREE_PARENT VMA** (`addNewAnon` with exclusive true: a write
 *   fault on an empty PTE, a CoW copy, an exclusive swap-in, fork's early copy of a pinned page)
 *   runs the deferred tail of `anon_vma_fork`: the reuse check of 6.18 over the VMA's chain
 *   (`num_active_vmas == 0 && num_children < 2`, order per `reuseOrder`), else a new anon_vma with
 *   `parent` = the parent VMA's anon_vma, `root` its root (root refcount + 1, parent
 *   `num_children` + 1), linked to the VMA by one AVC.
 *
 * Object counts (slab): a process that never forks has 0 anon_vma and 0 anon_vma_chain objects
 * (classic: one of each per faulted VMA). A fork of a process with V faulted lazy VMAs (one group
 * each) leaves V anon_vmas and 2V AVCs (classic: 2V and 3V); each child VMA's first write adds the
 * deferred anon_vma and AVC (or nothing when it reuses one).
 *
 * Assumptions (the public description leaves these open; each is the simplest behaviour that
 * keeps every walk complete):
 * - A1 **Lazy group.** The lazy container is a per-region group object shared by the VMAs a lazy
 *   VMA was split into or moved to (split, mremap `copy_vma`, unfaulted merge join it; unlink
 *   leaves it). It is modelled as zero-size (not slab-accounted): in the patch the lazy state
 *   lives in the VMA's `anon_vma_tree_t` in place of the anon_vma pointer. The model keeps the
 *   group's folio set so that the upgrade can re-point them (the kernel would walk the VMAs' page
 *   tables; the charge is per folio).
 * - A2 **Neighbour reuse.** The first fault of an unfaulted VMA joins the group of an adjacent lazy
 *   VMA when `anon_vma_compatible` holds (next first, then prev — `find_mergeable_anon_vma`), so
 *   that an mprotect-split region faulted piecewise can re-merge. It never adopts a neighbour's
 *   anon_vma: a fault in the lazy scheme never allocates an AVC, so a new VMA faulted next to an
 *   upgraded one stays LAZY and cannot merge with it (identities differ) until both are gone.
 * - A3 **Split/merge before sharing.** Lazy VMAs merge when they are in the same group (merge
 *   case 3 identity = the group); pgoff contiguity is checked by the kernel as usual; the walk
 *   recomputes each member's interval, so no re-keying is needed on `vma_prepare`/`complete`.
 * - A4 **mremap.** A moved lazy VMA keeps its pgoff (it is "faulted") and the destination joins
 *   the source's group (`clone(dst, src, "remap")`); with MREMAP_DONTUNMAP the whole-VMA source
 *   leaves the group and becomes unfaulted. MREMAP_RELOCATE_ANON gives the destination its own
 *   (lazy) state and re-points the moved folios to it.
 * - A5 **Fork upgrades only what is copied.** The groups of the parent's copied VMAs are upgraded;
 *   a lazy VMA with VM_DONTCOPY or VM_WIPEONFORK stays LAZY unless it shares a group with a copied
 *   one. VMAs created after a fork (in parent or child) are LAZY again until the next fork of their
 *   process.
 * - A6 **Forking a TREE_PARENT VMA** does not force it to allocate: the grandchild VMA clones the
 *   same chain and gets its own TREE_PARENT link to the same parent anon_vma (the forking VMA has
 *   only inherited folios, all in that chain). "A process must be upgraded when it forks" is read
 *   as: no LAZY VMA is ever shared.
 * - A7 **TREE_PARENT identity and sharing.** Each child VMA made by fork gets its own
 *   {@link TreeParentLink}; the VMAs it is split into share it (merge identity = the link, so
 *   they re-merge; it is a fork child, so unfaulted neighbours do not absorb it). When one of them
 *   needs an anon_vma, every VMA of the link gets it at once (one AVC each), as the pieces of a
 *   classic child VMA share the anon_vma `anon_vma_fork` gave it.
 * - A8 **Deferred reuse.** The 6.18 reuse heuristic is evaluated when the anon_vma is finally
 *   needed, not at fork; it can therefore adopt an ancestor (even the root) whose owner has exited
 *   since, e.g. "fork, parent exits, child writes" keeps one anon_vma and one AVC per generation.
 * - A9 **Swap-in and reuse in TREE_PARENT.** A non-exclusive new folio (swap-in of a shared slot)
 *   goes to the root of the chain without allocating; `folio_move_anon_rmap` (write reuse of an
 *   exclusive page) into a TREE_PARENT VMA leaves the folio in its ancestor anon_vma, which the
 *   VMA is linked to (no allocation; later walks of it may visit VMAs uselessly). Into a LAZY VMA
 *   the folio moves to the VMA's group (it is then mapped only there).
 * - A10 **Migration.** A lazy folio has no anon_vma to pin (`folio_get_anon_vma`); the model's
 *   migration is one synchronous operation, so no upgrade can run between `try_to_migrate` and
 *   `remove_migration_ptes` — the gap Lorenzo Stoakes pointed at is not modelled.
 * - A11 **execve** is exit + a fresh mm: the old mm's groups empty and vanish.
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
import type { CloneOp, RmapVisit, SchemeInfo, WalkKind, WalkReport } from "./scheme.ts";

/** Metadata of the ANON_VMA_LAZY scheme. */
export const ANON_VMA_LAZY_INFO: SchemeInfo = {
  id: "anon_vma_lazy",
  title: "ANON_VMA_LAZY (deferred anon_vma creation)",
  kernel: "patch series on 6.x, 2026-05-27 (NAK'd)",
  status: "posted",
  sources: [
    "https://lkml.rescloud.iu.edu/hypermail/linux/kernel/2605.3/05380.html",
    "https://lkml.iu.edu/2605.3/05338.html",
    "kernel-rmap.md §10.3",
  ],
  summary:
    "No anon_vma until the process forks: a faulted VMA's folios point at the VMA itself (a " +
    "lazy group of the VMAs it was split into), walked without any anon_vma lock. At fork the " +
    "parent's lazy VMAs are upgraded to a classic anon_vma and their folios re-pointed; child " +
    "VMAs are linked to the parent's anon_vmas (ANON_VMA_TREE_PARENT) and get their own " +
    "anon_vma only when they first write a new page.",
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

/**
 * The lazy container shared by the VMAs a lazy VMA was split into or moved to (assumption A1):
 * the target of `folio->mapping` for lazy folios.
 */
export class LazyGroup {
  /** Allocation id, for tests and messages. */
  readonly id: number;
  /** Member VMAs, in the order they joined (the walk order). */
  readonly vmas: Set<Vma> = new Set();
  /** Live folios whose `mapping` is this group. */
  readonly folios: Set<Folio> = new Set();
  /** True once upgraded to an anon_vma or emptied. */
  dead = false;

  /** Creates an empty group. */
  constructor(id: number) {
    this.id = id;
  }
}

/**
 * The deferred anon_vma of a child VMA made by fork (ANON_VMA_TREE_PARENT), shared by the VMAs
 * that child VMA was split into (assumption A7).
 */
export class TreeParentLink {
  /** Allocation id, for tests and messages. */
  readonly id: number;
  /** The parent VMA's anon_vma at fork: `parent` of the deferred anon_vma. */
  readonly parent: AnonVma;
  /** Member VMAs. */
  readonly vmas: Set<Vma> = new Set();
  /** True once the anon_vma was allocated (or reused) or the link emptied. */
  dead = false;

  /** Creates a link whose deferred anon_vma will be a child of `parent`. */
  constructor(id: number, parent: AnonVma) {
    this.id = id;
    this.parent = parent;
  }
}

/** Per-VMA state: the classic fields plus the two deferred states. */
export interface AnonVmaLazyVmaState extends AnonVmaVmaState {
  /** LAZY: the group whose folios this VMA maps (then `anonVma` is null and `chain` empty). */
  lazy: LazyGroup | null;
  /** ANON_VMA_TREE_PARENT: the deferred anon_vma (then `anonVma` is null, `chain` non-empty). */
  treeParent: TreeParentLink | null;
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
  /** Live lazy groups. */
  readonly lazyGroups: Set<LazyGroup> = new Set();
  /** Live TREE_PARENT links. */
  readonly treeParentLinks: Set<TreeParentLink> = new Set();
  #nextGroupId = 1;
  #nextLinkId = 1;

  /** Creates the scheme; the structural options (e.g. `reuseOrder`) default to Linux 6.18. */
  constructor(options: Partial<AnonVmaOptions> = {}) {
    super(options, ANON_VMA_LAZY_INFO);
  }

  /** The scheme state of a VMA. */
  lstate(vma: Vma): AnonVmaLazyVmaState {
    return vma.rmap as AnonVmaLazyVmaState;
  }

  /** Which state a VMA is in. */
  kindOf(vma: Vma): LazyVmaKind {
    const s = this.lstate(vma);
    if (s.lazy) return "lazy";
    if (s.treeParent) return "tree_parent";
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
      lazy_groups_live: this.lazyGroups.size,
      tree_parent_links_live: this.treeParentLinks.size,
    };
  }

  // -- groups ------------------------------------------------------------------------------------

  #newGroup(): LazyGroup {
    const g = new LazyGroup(this.#nextGroupId++);
    this.lazyGroups.add(g);
    this.count("lazy_groups_created");
    return g;
  }

  #joinGroup(vma: Vma, g: LazyGroup): void {
    const s = this.lstate(vma);
    s.lazy = g;
    g.vmas.add(vma);
    this.host.exec.work("list_op");
  }

  #leaveGroup(vma: Vma): void {
    const s = this.lstate(vma);
    const g = s.lazy!;
    g.vmas.delete(vma);
    s.lazy = null;
    this.host.exec.work("list_op");
    if (g.vmas.size === 0) {
      if (g.folios.size !== 0) {
        throw new Error(`lazy group ${g.id} emptied with ${g.folios.size} live folios`);
      }
      g.dead = true;
      this.lazyGroups.delete(g);
    }
  }

  #newLink(parent: AnonVma): TreeParentLink {
    const t = new TreeParentLink(this.#nextLinkId++, parent);
    this.treeParentLinks.add(t);
    return t;
  }

  #joinLink(vma: Vma, t: TreeParentLink): void {
    this.lstate(vma).treeParent = t;
    t.vmas.add(vma);
  }

  #leaveLink(vma: Vma): void {
    const s = this.lstate(vma);
    const t = s.treeParent!;
    t.vmas.delete(vma);
    s.treeParent = null;
    if (t.vmas.size === 0) {
      t.dead = true;
      this.treeParentLinks.delete(t);
    }
  }

  /** A2: the group of an adjacent, `anon_vma_compatible` lazy VMA (next first, then prev). */
  #findMergeableGroup(vma: Vma): LazyGroup | null {
    const next = this.host.nextVma(vma);
    if (next && next.start === vma.end && this.anonVmaCompatible(vma, next)) {
      const g = this.lstate(next).lazy;
      if (g) return g;
    }
    const prev = this.host.prevVma(vma);
    if (prev && this.anonVmaCompatible(prev, vma)) {
      const g = this.lstate(prev).lazy;
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
    const members = [...g.vmas].sort((a, b) => a.start - b.start);
    const mm = members[0].mm;
    // __anon_vma_prepare allocates outside the locks.
    const av = this.allocAnonVma();
    av.numChildren++; // self-parent link for a new root
    const avcs = members.map((v) => this.allocAvc(v, av));
    const l = this.lockWrite(av);
    this.host.exec.acquire(mm.pageTableLock, "write");
    members.forEach((v, i) => {
      const s = this.lstate(v);
      s.lazy = null;
      s.anonVma = av;
      this.link(v, avcs[i]);
      av.numActiveVmas++;
    });
    for (const f of g.folios) {
      f.rmap = av;
      this.host.exec.work("pte_check");
      this.host.exec.work("pte_update");
    }
    this.host.exec.release(mm.pageTableLock, "write");
    this.unlockWrite(l);
    this.count("lazy_upgrades");
    this.count("lazy_vmas_upgraded", members.length);
    this.count("lazy_folios_repointed", g.folios.size);
    g.vmas.clear();
    g.folios.clear();
    g.dead = true;
    this.lazyGroups.delete(g);
    return av;
  }

  /**
   * The deferred tail of `anon_vma_fork` for every VMA of a TREE_PARENT link: reuse an ancestor
   * (6.18 rule) or allocate a child anon_vma of `link.parent`. Returns the anon_vma.
   */
  materialize(t: TreeParentLink): AnonVma {
    if (t.dead) throw new Error(`materialize of dead tree-parent link ${t.id}`);
    const members = [...t.vmas].sort((a, b) => a.start - b.start);
    const chain = this.lstate(members[0]).chain;
    const oldestFirst = [...chain].reverse();
    const order = this.options.reuseOrder === "oldest-first"
      ? oldestFirst
      : [...oldestFirst].reverse();
    let av: AnonVma | null = null;
    for (const avc of order) {
      const cand = avc.anonVma;
      if (cand.numChildren < 2 && cand.numActiveVmas === 0) {
        av = cand;
        break;
      }
    }
    if (av) {
      const reused = av;
      const l = this.lockWrite(reused);
      for (const v of members) {
        const s = this.lstate(v);
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
        const s = this.lstate(v);
        s.treeParent = null;
        s.anonVma = fresh;
        this.link(v, avcs[i]);
        fresh.numActiveVmas++;
      });
      t.parent.numChildren++;
      this.unlockWrite(l);
      av = fresh;
    }
    this.count("tree_parent_materialized");
    t.vmas.clear();
    t.dead = true;
    this.treeParentLinks.delete(t);
    return av;
  }

  // -- predicates --------------------------------------------------------------------------------

  /** Fresh (unfaulted) state. */
  override vmaInit(vma: Vma): void {
    vma.rmap = {
      anonVma: null,
      chain: [],
      lazy: null,
      treeParent: null,
    } satisfies AnonVmaLazyVmaState;
  }

  /** True for LAZY, TREE_PARENT and classic VMAs: they may map anon folios. */
  override hasAnon(vma: Vma): boolean {
    const s = this.lstate(vma);
    return s.anonVma !== null || s.lazy !== null || s.chain.length > 0;
  }

  /** LAZY: never (nothing is shared); TREE_PARENT: always; classic: 6.18 rule. */
  override isForkChild(vma: Vma): boolean {
    const s = this.lstate(vma);
    if (s.lazy) return false;
    if (s.treeParent) return true;
    return super.isForkChild(vma);
  }

  /** Merge identity: the lazy group, the TREE_PARENT link, or `vma->anon_vma`. */
  override anonIdentity(vma: Vma): unknown {
    const s = this.lstate(vma);
    return s.lazy ?? s.treeParent ?? s.anonVma;
  }

  /** LAZY folios are never shared; TREE_PARENT VMAs map inherited folios. */
  override maybeHasSharedAnon(vma: Vma): boolean {
    const s = this.lstate(vma);
    if (s.lazy) return false;
    if (s.treeParent) return true;
    return super.maybeHasSharedAnon(vma);
  }

  // -- hooks -------------------------------------------------------------------------------------

  /** `vma_prepare_anon_vma_lazy`: an unfaulted VMA becomes LAZY; no object, no anon_vma lock. */
  override prepare(vma: Vma): void {
    if (this.hasAnon(vma)) return;
    let g = this.#findMergeableGroup(vma);
    if (g) this.count("lazy_group_reuse_neighbour");
    else g = this.#newGroup();
    this.host.exec.acquire(vma.mm.pageTableLock, "write");
    this.#joinGroup(vma, g);
    this.host.exec.release(vma.mm.pageTableLock, "write");
  }

  /** `anon_vma_fork`: upgrade a LAZY parent, then link the child as ANON_VMA_TREE_PARENT. */
  override fork(child: Vma, parent: Vma): void {
    const ps = this.lstate(parent);
    const cs = this.lstate(child);
    if (ps.lazy) this.upgrade(ps.lazy);
    if (ps.chain.length === 0) return; // unfaulted parent: child unfaulted
    cs.anonVma = null;
    const parentAv = ps.anonVma ?? ps.treeParent!.parent;
    this.cloneChain(child, parent, false);
    this.#joinLink(child, this.#newLink(parentAv));
    this.count("tree_parent_forked");
  }

  /** `anon_vma_clone` for split, remap and unfaulted merge. */
  override clone(dst: Vma, src: Vma, op: Exclude<CloneOp, "fork">): void {
    const ss = this.lstate(src);
    const ds = this.lstate(dst);
    if (ds.chain.length !== 0 || ds.lazy || ds.treeParent) {
      throw new Error(`clone into vma ${dst.id} with anon state`);
    }
    if (ss.lazy) {
      ds.anonVma = null;
      this.#joinGroup(dst, ss.lazy);
      return;
    }
    if (ss.treeParent) {
      ds.anonVma = null;
      this.cloneChain(dst, src, false);
      this.#joinLink(dst, ss.treeParent);
      return;
    }
    super.clone(dst, src, op);
  }

  /** `unlink_anon_vmas`: leave the group or link, then the classic unlink of the chain. */
  override unlink(vma: Vma): void {
    const s = this.lstate(vma);
    if (s.lazy) this.#leaveGroup(vma);
    if (s.treeParent) this.#leaveLink(vma);
    super.unlink(vma);
  }

  /** `vma_prepare`/`vma_complete`: re-key the AVCs of classic and TREE_PARENT VMAs. */
  override adjust(vmas: readonly Vma[], mutate: () => void): void {
    const withChain = vmas.filter((v) => this.lstate(v).chain.length > 0);
    if (withChain.length === 0) {
      mutate();
      return;
    }
    const l = this.lockWrite(this.lstate(withChain[0]).chain[0].anonVma);
    for (const v of withChain) for (const avc of this.lstate(v).chain) this.treeRemove(avc);
    mutate();
    for (const v of withChain) for (const avc of this.lstate(v).chain) this.treeInsert(avc);
    this.unlockWrite(l);
  }

  /** `__folio_set_anon` in each state (A9 for TREE_PARENT). */
  override addNewAnon(folio: Folio, vma: Vma, addr: number, exclusive: boolean): void {
    const s = this.lstate(vma);
    if (s.lazy) {
      folio.rmap = s.lazy;
      s.lazy.folios.add(folio);
      return;
    }
    if (s.treeParent) {
      if (!exclusive) {
        folio.rmap = s.treeParent.parent.root;
        this.count("tree_parent_shared_to_root");
        return;
      }
      this.materialize(s.treeParent);
    }
    super.addNewAnon(folio, vma, addr, exclusive);
  }

  /** `folio_move_anon_rmap` (A9). */
  override moveAnon(folio: Folio, vma: Vma): void {
    const s = this.lstate(vma);
    const old = this.folioLazyGroup(folio);
    if (s.lazy) {
      if (old === s.lazy) return;
      if (old) old.folios.delete(folio);
      folio.rmap = s.lazy;
      s.lazy.folios.add(folio);
      this.count("folio_move_anon_rmap");
      return;
    }
    if (s.treeParent) {
      this.count("folio_move_skipped_tree_parent");
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
    const first = folio.index;
    const last = first + folio.nrPages - 1;
    let examined = 0;
    for (const vma of g.vmas) {
      examined++;
      if (vma.pgoff > last || vma.pgoff + vmaPages(vma) - 1 < first) continue;
      const addr = first >= vma.pgoff ? vma.start + (first - vma.pgoff) * PAGE_SIZE : vma.start;
      if (!visit(vma, addr)) break;
    }
    exec.work("list_op", examined);
    exec.rcuReadUnlock();
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
      if (folio.pinned || folio.mapcount.some((m) => m > 1)) return false;
    }
    this.prepare(dst);
    const g = this.lstate(dst).lazy;
    if (!g) return super.relocate(src, dst, folios);
    const srcAv = this.lstate(src).anonVma;
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
        const st = this.lstate(vma);
        const tag = `vma ${vma.id}`;
        if (st.lazy && (st.treeParent || st.anonVma || st.chain.length)) {
          out.push(`${tag} lazy with other anon state`);
        }
        if (st.treeParent && (st.anonVma || st.chain.length === 0)) {
          out.push(`${tag} tree-parent with anon_vma or without chain`);
        }
        if (!st.lazy && !st.treeParent && (st.anonVma === null) !== (st.chain.length === 0)) {
          out.push(`I4: ${tag} anon_vma/chain disagree`);
        }
        if (st.lazy) {
          seenGroups.add(st.lazy);
          if (st.lazy.dead || !this.lazyGroups.has(st.lazy)) out.push(`${tag} in dead lazy group`);
          if (!st.lazy.vmas.has(vma)) out.push(`${tag} missing from lazy group ${st.lazy.id}`);
        }
        if (st.treeParent) {
          const t = st.treeParent;
          seenLinks.add(t);
          if (t.dead || !this.treeParentLinks.has(t)) out.push(`${tag} in dead tree-parent link`);
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
        if (!f || !f.anon) continue;
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
          if (this.lstate(vma).lazy !== g) {
            out.push(`L1: vma ${vma.id} maps folio ${f.id} of lazy group ${g.id} outside it`);
          }
          if (!g.folios.has(f)) out.push(`L1: lazy group ${g.id} lacks folio ${f.id}`);
        } else {
          const av = f.rmap as AnonVma;
          if (av.freed) out.push(`folio ${f.id} points at freed anon_vma ${av.id}`);
          if (!this.lstate(vma).chain.some((a) => a.anonVma === av)) {
            out.push(`I1a: vma ${vma.id} not in tree of anon_vma ${av.id} of folio ${f.id}`);
          }
        }
      }
    }
    for (const g of this.lazyGroups) {
      if (!seenGroups.has(g)) out.push(`lazy group ${g.id} live but no VMA uses it`);
      if (g.vmas.size === 0) out.push(`lazy group ${g.id} empty but live`);
      const mms = new Set([...g.vmas].map((v) => v.mm));
      if (mms.size > 1) out.push(`L2: lazy group ${g.id} spans ${mms.size} mms`);
      for (const v of g.vmas) {
        if (v.detached || !v.mm.alive) out.push(`lazy group ${g.id} holds dead vma ${v.id}`);
        if (this.lstate(v).lazy !== g) out.push(`lazy group ${g.id} lists vma ${v.id} wrongly`);
      }
      for (const f of g.folios) {
        if (f.freed || f.rmap !== g) out.push(`lazy group ${g.id} holds stale folio ${f.id}`);
      }
    }
    for (const t of this.treeParentLinks) {
      if (!seenLinks.has(t)) out.push(`tree-parent link ${t.id} live but no VMA uses it`);
      for (const v of t.vmas) {
        if (v.detached) out.push(`tree-parent link ${t.id} holds dead vma ${v.id}`);
        if (this.lstate(v).treeParent !== t) out.push(`link ${t.id} lists vma ${v.id} wrongly`);
      }
    }
    out.push(...this.checkAnonVmaCounts(active));
    return out;
  }
}
