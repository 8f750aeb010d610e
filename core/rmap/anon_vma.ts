/**
 * The classic anon_vma reverse mapping of Linux 6.18 (`mm/rmap.c`, `mm/vma.c`), object for
 * object: anon_vmas with root/parent/refcount/num_children/num_active_vmas, one
 * anon_vma_chain per (VMA, anon_vma) edge, one interval tree per anon_vma, and every lock on the
 * root's rwsem. Reference: docs/model.md §1–§3, §8.
 *
 * The class is built so that variants (the 2026 clean-up, a per-anon_vma lock) change only the
 * documented points: where allocations happen relative to the lock, the order in which fork reuse
 * candidates are examined, and which lock a walk takes.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import type { Lock, LockKind } from "../machine/exec.ts";
import { LOCK_SLOT } from "../machine/lock_slot.ts";
import {
  intervalInsert,
  IntervalNode,
  intervalQuery,
  intervalRemove,
  IntervalRootView,
  type IntervalTreeView,
} from "../lib/interval_tree.ts";
import {
  type Folio,
  hex,
  linearPageIndex,
  type Mm,
  PAGE_SIZE,
  VM_ACCESS_FLAGS,
  VM_IGNORE_MERGE,
  type Vma,
  vmaPages,
} from "../kernel/types.ts";
import { KernelVma } from "../kernel/vma_tree.ts";
import type {
  CloneOp,
  RmapScheme,
  RmapVisit,
  SchemeHost,
  SchemeInfo,
  WalkKind,
  WalkReport,
} from "./scheme.ts";

/** {@link AnonVma.ksmPins} of the anon_vmas that have any. */
const KSM_PINS = new WeakMap<AnonVma, number>();

/** Bits of `refcount` and of `numChildren` in an {@link AnonVma}'s packed word. */
const COUNT_BITS = 10;
/** Largest `refcount` or `numChildren` kept packed. */
const COUNT_MAX = (1 << COUNT_BITS) - 1;
/** Bits of `numActiveVmas` in the packed word (above the other two counters). */
const ACTIVE_BITS = 9;
/** Largest `numActiveVmas` kept packed. */
const ACTIVE_MAX = (1 << ACTIVE_BITS) - 1;
/** Where `numActiveVmas` starts in the packed word. */
const ACTIVE_SHIFT = 2 * COUNT_BITS;
/** The freed bit of the packed word, above the counters (the word stays below 2^30: a Smi). */
const FREED_BIT = 1 << (ACTIVE_SHIFT + ACTIVE_BITS);

/**
 * What few anon_vmas need, made on demand: the counters once one left the packed range (kept
 * exactly from then on), whether it is freed, and a timed machine's state of its rwsem (only the
 * anon_vmas whose rwsem a timed machine takes, roots nearly always, carry one).
 */
class AnonVmaRare {
  /** A timed machine's state of the rwsem (see `core/machine/lock_slot.ts`). */
  lockSlot: unknown = undefined;
  constructor(
    public refcount: number,
    public numChildren: number,
    public numActiveVmas: number,
    public freed: boolean,
  ) {}
}

/**
 * `struct anon_vma` (reference §1.1). The object is also its own rwsem (a {@link Lock}, as the
 * kernel's anon_vma embeds its `rw_semaphore`): a root's is in lock class `"anon_vma.root"`, a
 * non-root's (taken only by the per-anon_vma-lock variant) in `"anon_vma.own"`. Its lock `id` is
 * the anon_vma's `id`.
 *
 * Kept small (seven fields): the three counters and the freed flag share one small integer, and
 * what few anon_vmas need (a counter past the packed range, a timed machine's lock state) is in a
 * side object that takes the packed word's place.
 */
export class AnonVma implements Lock {
  /** Allocation id (stable across runs with the same seed), for tests and messages; also the id of its rwsem. */
  readonly id: number;
  /** Root of the fork hierarchy (self for a root). */
  root: AnonVma;
  /** Fork parent (self for a root). */
  parent: AnonVma;
  /**
   * `refcount` and `numChildren` ({@link COUNT_BITS} bits each), `numActiveVmas`
   * ({@link ACTIVE_BITS} bits) and {@link FREED_BIT} in one small integer while the counters are
   * in range (nearly every anon_vma), else an {@link AnonVmaRare} (kept from then on).
   */
  #counts: number | AnonVmaRare = 1;
  /**
   * Root node of the interval tree of AVCs keyed by the VMA's pgoff range (the AVCs are its
   * nodes), null when empty: the kernel's `rb_root`, embedded rather than a tree object.
   */
  #treeRoot: Avc | null = null;
  /**
   * Next younger anon_vma in the scheme's list of live anon_vmas (allocation order); scheme
   * bookkeeping. A freed one stays linked, and skipped, until the scheme sweeps the list.
   */
  liveNext: AnonVma | null = null;

  /** A timed machine's state of the rwsem (see `core/machine/lock_slot.ts`), in the side object. */
  get [LOCK_SLOT](): unknown {
    const c = this.#counts;
    return typeof c === "number" ? undefined : c.lockSlot;
  }
  set [LOCK_SLOT](v: unknown) {
    this.unpacked().lockSlot = v;
  }

  /** Lifetime references (1 for "in use" + 1 per non-root descendant for a root). */
  get refcount(): number {
    const c = this.#counts;
    return typeof c === "number" ? c & COUNT_MAX : c.refcount;
  }
  set refcount(v: number) {
    const c = this.#counts;
    if (typeof c === "number" && v === (v & COUNT_MAX)) this.#counts = (c & ~COUNT_MAX) | v;
    else this.unpacked().refcount = v;
  }

  /** Children anon_vmas (+1 self link for an attached root). */
  get numChildren(): number {
    const c = this.#counts;
    return typeof c === "number" ? (c >> COUNT_BITS) & COUNT_MAX : c.numChildren;
  }
  set numChildren(v: number) {
    const c = this.#counts;
    if (typeof c === "number" && v === (v & COUNT_MAX)) {
      this.#counts = (c & ~(COUNT_MAX << COUNT_BITS)) | (v << COUNT_BITS);
    } else this.unpacked().numChildren = v;
  }

  /** VMAs whose `anon_vma` is this one. */
  get numActiveVmas(): number {
    const c = this.#counts;
    return typeof c === "number" ? (c >> ACTIVE_SHIFT) & ACTIVE_MAX : c.numActiveVmas;
  }
  set numActiveVmas(v: number) {
    const c = this.#counts;
    if (typeof c === "number" && v === (v & ACTIVE_MAX)) {
      this.#counts = (c & ~(ACTIVE_MAX << ACTIVE_SHIFT)) | (v << ACTIVE_SHIFT);
    } else this.unpacked().numActiveVmas = v;
  }

  /** The side object, made from the packed word on first need. */
  private unpacked(): AnonVmaRare {
    const c = this.#counts;
    if (typeof c !== "number") return c;
    const u = new AnonVmaRare(
      c & COUNT_MAX,
      (c >> COUNT_BITS) & COUNT_MAX,
      (c >> ACTIVE_SHIFT) & ACTIVE_MAX,
      (c & FREED_BIT) !== 0,
    );
    this.#counts = u;
    return u;
  }

  /** Whether the three counters are packed into one small integer (for tests). */
  get countsPacked(): boolean {
    return typeof this.#counts === "number";
  }

  /** Creates a root anon_vma (`anon_vma_alloc`). */
  constructor(id: number) {
    this.id = id;
    this.root = this;
    this.parent = this;
  }

  /** Root node of the interval tree of AVCs, or null when it is empty. */
  get treeRoot(): Avc | null {
    return this.#treeRoot;
  }

  /**
   * The interval tree of AVCs (a new live read-only view on each access; the scheme changes the
   * tree through {@link AnonVma.insertAvc} and {@link AnonVma.removeAvc}).
   */
  get tree(): IntervalTreeView<Avc> {
    return new IntervalRootView<Avc>(this);
  }

  /** Whether no AVC is in the tree (`RB_EMPTY_ROOT(&anon_vma->rb_root.rb_root)`). */
  get treeEmpty(): boolean {
    return this.#treeRoot === null;
  }

  /** `anon_vma_interval_tree_insert`: links `avc` (not in any tree) into the tree. */
  insertAvc(avc: Avc): void {
    this.#treeRoot = intervalInsert(this.#treeRoot, avc);
  }

  /** `anon_vma_interval_tree_remove`: unlinks `avc`; false (nothing changed) if not in the tree. */
  removeAvc(avc: Avc): boolean {
    const r = intervalRemove(this.#treeRoot, avc);
    if (r === undefined) return false;
    this.#treeRoot = r;
    return true;
  }

  /**
   * `anon_vma_interval_tree_foreach`: visits the AVCs overlapping `[first, last]` in tree order
   * until `visit` returns false; returns the tree nodes examined.
   */
  queryAvcs(first: number, last: number, visit: (avc: Avc) => boolean | void): number {
    return intervalQuery(this.#treeRoot, first, last, visit);
  }

  /** Lock class of the rwsem: `"anon_vma.root"` for a root, `"anon_vma.own"` otherwise. */
  get lockClass(): string {
    return this.root === this ? "anon_vma.root" : "anon_vma.own";
  }

  /** The rwsem is a reader-writer semaphore. */
  get kind(): LockKind {
    return "rwsem";
  }

  /**
   * The rwsem: the anon_vma itself (only a root's is ever taken, except by the
   * per-anon_vma-lock variant).
   */
  get lock(): Lock {
    return this;
  }

  /**
   * This anon_vma's rwsem (the anon_vma itself), which must be in lock class `lockClass`: the
   * per-anon_vma-lock variant takes a non-root's own rwsem as `"anon_vma.own"`.
   */
  rwsem(lockClass: string): Lock {
    if (lockClass !== this.lockClass) {
      throw new Error(`anon_vma ${this.id} rwsem is ${this.lockClass}, not ${lockClass}`);
    }
    return this;
  }

  /** Freed to the slab (a bit of the packed word, or in the side object). */
  get freed(): boolean {
    const c = this.#counts;
    return typeof c === "number" ? (c & FREED_BIT) !== 0 : c.freed;
  }
  set freed(v: boolean) {
    const c = this.#counts;
    if (typeof c === "number") this.#counts = v ? c | FREED_BIT : c & ~FREED_BIT;
    else c.freed = v;
  }

  /**
   * References held by KSM rmap items (part of `refcount`; `get_anon_vma` in mm/ksm.c). Few
   * anon_vmas ever have one: the counts are kept aside, not in a field of every anon_vma.
   */
  get ksmPins(): number {
    return KSM_PINS.get(this) ?? 0;
  }
  set ksmPins(n: number) {
    if (this.freed) throw new Error(`KSM pin of freed anon_vma ${this.id}`);
    if (n === 0) KSM_PINS.delete(this);
    else KSM_PINS.set(this, n);
  }

  /** True for the root of a hierarchy. */
  get isRoot(): boolean {
    return this.root === this;
  }
}

/**
 * `struct anon_vma_chain`: one (VMA, anon_vma) edge, which is also its node in `anonVma.tree`
 * (the kernel's AVC embeds its `rb` node). Like the kernel's `avc_start_pgoff` and
 * `avc_last_pgoff`, the node's interval is read from the VMA (`[vm_pgoff, vm_pgoff + pages − 1]`),
 * which only changes while the AVC is out of the tree (`adjust`).
 */
export class Avc extends IntervalNode<Avc> {
  /** The VMA. */
  readonly vma: Vma;
  /** The anon_vma (set once, when the AVC is linked). */
  anonVma: AnonVma;

  /** An unlinked AVC of `vma` and `anonVma` (`anon_vma_chain_alloc` and its fields). */
  constructor(vma: Vma, anonVma: AnonVma) {
    super();
    this.vma = vma;
    this.anonVma = anonVma;
  }

  /** `avc_start_pgoff`: the VMA's `vm_pgoff`. */
  get start(): number {
    return this.vma.pgoff;
  }

  /** `avc_last_pgoff`: the VMA's last page offset. */
  get last(): number {
    const v = this.vma;
    return v.pgoff + vmaPages(v) - 1;
  }

  /** {@link Avc.start} for the interval tree, through a kernel VMA's methods. */
  override startKey(): number {
    const v = this.vma;
    return v instanceof KernelVma ? v.pgoffOf() : v.pgoff;
  }

  /** {@link Avc.last} for the interval tree, through a kernel VMA's methods. */
  override lastKey(): number {
    const v = this.vma;
    return v instanceof KernelVma ? v.lastPgoff() : v.pgoff + vmaPages(v) - 1;
  }

  /** The AVC as a stored interval (its tree node) while in `anonVma.tree`, else null. */
  get handle(): { readonly start: number; readonly last: number } | null {
    return this.linked ? this : null;
  }
}

/**
 * Per-VMA state: `vma->anon_vma` and the `anon_vma_chain` list (head = newest). What
 * {@link AnonVmaScheme.state} returns; the scheme keeps it in `vma.rmap` in one of three forms
 * (see {@link AnonVmaScheme.state}).
 */
export interface AnonVmaVmaState {
  /** `vma->anon_vma`. */
  anonVma: AnonVma | null;
  /**
   * `vma->anon_vma_chain`, head first (newest first, root last). The scheme replaces the array
   * on every change (exact size, no growth slack); do not modify it in place.
   */
  chain: Avc[];
}

/** The chain of a VMA without AVCs (shared; frozen). */
const NO_AVCS: Avc[] = Object.freeze([] as Avc[]) as Avc[];

/**
 * The general (mutable) form of a VMA's state in `vma.rmap`: a fork child's chain of two or more
 * AVCs, and every state while a change is under way.
 */
class ChainState implements AnonVmaVmaState {
  anonVma: AnonVma | null;
  chain: Avc[];
  constructor(anonVma: AnonVma | null, chain: Avc[]) {
    this.anonVma = anonVma;
    this.chain = chain;
  }
}

/**
 * The state of every unfaulted VMA until it changes (shared, never changed: a change replaces it
 * with a state of the VMA's own first). A {@link ChainState}, not frozen, so that `vma.rmap` comes
 * in two shapes (an AVC or a ChainState) where the scheme reads it, not three.
 */
const UNFAULTED: AnonVmaVmaState = new ChainState(null, NO_AVCS);

/**
 * What `vma.rmap` holds: {@link UNFAULTED}, a {@link ChainState}, a subclass scheme's own state
 * object, or (a chain of one AVC of the VMA's own anon_vma, the state of most faulted VMAs) that
 * {@link Avc} itself. All of them have `anonVma`.
 */
type VmaRmap = AnonVmaVmaState | Avc;

/** Length of the chain of a VMA whose `vma.rmap` is `r`. */
function chainLength(r: VmaRmap): number {
  return r instanceof Avc ? 1 : r.chain.length;
}

/** Element `i` of the chain of a VMA whose `vma.rmap` is `r` (0 = head, the newest). */
function chainAt(r: VmaRmap, i: number): Avc {
  return r instanceof Avc ? r : r.chain[i];
}

/** Whether the chain of a VMA whose `vma.rmap` is `r` links `av`. */
function chainLinks(r: VmaRmap, av: AnonVma): boolean {
  if (r instanceof Avc) return r.anonVma === av;
  const c = r.chain;
  for (let i = 0; i < c.length; i++) if (c[i].anonVma === av) return true;
  return false;
}

/** Options that distinguish the classic model's variants. */
export interface AnonVmaOptions {
  /**
   * 6.x `anon_vma_clone`: every AVC after the first is allocated while the root lock is held
   * (`GFP_NOWAIT` under the lock). The 2026 clean-up allocates all of them before locking.
   * Default true (6.18).
   */
  allocUnderLock: boolean;
  /**
   * Order in which fork examines reuse candidates: `"oldest-first"` (6.x: the source chain in
   * reverse, root first) or `"newest-first"` (as read in the 2026 code, reference §3.2).
   */
  reuseOrder: "oldest-first" | "newest-first";
  /**
   * 6.x `anon_vma_fork` allocates the new anon_vma and its AVC after the clone, so with
   * `allocUnderLock` nothing changes there; the 2026 code allocates both before the clone and
   * frees them if an anon_vma was reused. Default false (6.18).
   */
  forkPreallocates: boolean;
}

/** Default options: Linux 6.18. */
export const ANON_VMA_618_OPTIONS: Readonly<AnonVmaOptions> = {
  allocUnderLock: true,
  reuseOrder: "oldest-first",
  forkPreallocates: false,
};

/** Metadata of the 6.18 scheme. */
export const ANON_VMA_INFO: SchemeInfo = {
  id: "anon_vma",
  title: "anon_vma (Linux 6.18)",
  kernel: "Linux 6.18",
  status: "mainline",
  sources: [
    "mm/rmap.c, mm/vma.c (Linux 6.18)",
    "docs/model.md §1-§3, §7, §8",
  ],
  summary:
    "Each faulted VMA points at an anon_vma; fork gives each child VMA a new anon_vma linked " +
    "by anon_vma_chains to every ancestor's, so a folio is found by querying the interval tree " +
    "of the anon_vma in folio->mapping. Every tree change and every walk takes the rwsem of " +
    "the hierarchy's root anon_vma.",
  ownedCaches: ["anon_vma", "anon_vma_chain"],
  ownedLockClasses: ["anon_vma.root"],
  locking: [
    {
      lockClass: "anon_vma.root",
      kind: "rwsem",
      takenFor: "write: prepare, clone (6.x: AVC allocations after the first under the lock), " +
        "fork link, unlink, interval-tree re-key on split/merge; read: every rmap walk " +
        "(folio_referenced as a trylock)",
    },
    { lockClass: "page_table_lock", kind: "spinlock", takenFor: "anon_vma_prepare publication" },
  ],
};

/**
 * The classic anon_vma scheme.
 *
 * @example Usage
 * ```ts
 * import { AnonVmaScheme } from "./anon_vma.ts";
 * const s = new AnonVmaScheme();
 * if (s.info.id !== "anon_vma") throw new Error();
 * ```
 */
export class AnonVmaScheme implements RmapScheme {
  /** Static description. */
  readonly info: SchemeInfo;
  /** Variant options. */
  readonly options: AnonVmaOptions;
  /**
   * The live anon_vmas: a list through `liveNext`, oldest first. A freed one stays in it until
   * {@link AnonVmaScheme.sweepLive} drops the freed ones, once they outnumber the live ones (so
   * the list never holds more than twice the live anon_vmas, at O(1) amortised per free).
   */
  #liveHead: AnonVma | null = null;
  #liveTail: AnonVma | null = null;
  /** Live anon_vmas in the list. */
  #liveCount = 0;
  /** Freed anon_vmas still in the list. */
  #liveFreed = 0;
  /** What the kernel core offers (set by {@link AnonVmaScheme.attach}). */
  protected host!: SchemeHost;
  #nextId = 1;
  #counters: Record<string, number> = {};

  /** Creates the scheme; `info` and `options` default to Linux 6.18. */
  constructor(options: Partial<AnonVmaOptions> = {}, info: SchemeInfo = ANON_VMA_INFO) {
    this.options = { ...ANON_VMA_618_OPTIONS, ...options };
    this.info = info;
  }

  /** Live anon_vmas, in allocation order (a new set on every call). */
  get live(): Set<AnonVma> {
    const out = new Set<AnonVma>();
    for (let av = this.#liveHead; av !== null; av = av.liveNext) if (!av.freed) out.add(av);
    return out;
  }

  /** Unlinks the freed anon_vmas from the live list. */
  private sweepLive(): void {
    this.#liveTail = this.#unlinkFreed();
    this.#liveFreed = 0;
  }

  /**
   * The walk of {@link AnonVmaScheme.sweepLive}; returns the last live anon_vma. A method of its
   * own (a speed measure only): compiled during its first long walk, its code ends in a return.
   */
  #unlinkFreed(): AnonVma | null {
    let prev: AnonVma | null = null;
    for (let av = this.#liveHead; av !== null;) {
      const next: AnonVma | null = av.liveNext;
      if (av.freed) {
        av.liveNext = null;
        if (prev === null) this.#liveHead = next;
        else prev.liveNext = next;
      } else prev = av;
      av = next;
    }
    return prev;
  }

  attach(host: SchemeHost): void {
    this.host = host;
  }

  /** Adds `n` to a scheme counter. */
  protected count(name: string, n = 1): void {
    this.#counters[name] = (this.#counters[name] ?? 0) + n;
  }

  counters(): Record<string, number> {
    return { ...this.#counters };
  }

  // -- state accessors ---------------------------------------------------------------------------

  /**
   * The scheme state of a VMA, read-only. `vma.rmap` holds it in one of three forms: one shared
   * frozen state for every unfaulted VMA; for a chain of exactly one AVC of the VMA's own
   * anon_vma (most faulted VMAs), that AVC itself (then this returns a new object on each call);
   * else a state object of the VMA's own.
   */
  state(vma: Vma): AnonVmaVmaState {
    const r = vma.rmap as VmaRmap;
    return r instanceof Avc ? { anonVma: r.anonVma, chain: [r] } : r;
  }

  /** `vma.rmap` of a VMA (see {@link AnonVmaScheme.state}). */
  protected rmapOf(vma: Vma): VmaRmap {
    return vma.rmap as VmaRmap;
  }

  /**
   * The state of a VMA, to be changed: an unfaulted VMA's shared state or a one-AVC VMA's AVC is
   * replaced by a state object of its own first ({@link AnonVmaScheme.settle} undoes this).
   */
  protected ownState(vma: Vma): AnonVmaVmaState {
    const r = vma.rmap as VmaRmap;
    if (r === UNFAULTED) {
      const own = new ChainState(null, NO_AVCS);
      vma.rmap = own;
      return own;
    }
    if (r instanceof Avc) {
      const own = new ChainState(r.anonVma, [r]);
      vma.rmap = own;
      return own;
    }
    return r;
  }

  /**
   * After a change: a state object of this class holding one AVC of the VMA's own anon_vma is
   * replaced by that AVC, one holding nothing by the shared unfaulted state.
   */
  protected settle(vma: Vma): void {
    const r = vma.rmap;
    if (!(r instanceof ChainState)) return;
    const c = r.chain;
    if (c.length === 1) {
      if (r.anonVma === c[0].anonVma) vma.rmap = c[0];
    } else if (c.length === 0 && r.anonVma === null) vma.rmap = UNFAULTED;
  }

  /** `vma->anon_vma`. */
  anonVmaOf(vma: Vma): AnonVma | null {
    return (vma.rmap as VmaRmap).anonVma;
  }

  /** The anon_vma in `folio->mapping`. */
  folioAnonVma(folio: Folio): AnonVma {
    return folio.rmap as AnonVma;
  }

  mmInit(_mm: Mm, _parent: Mm | null): void {}
  mmTeardown(_mm: Mm): void {}

  vmaInit(vma: Vma): void {
    vma.rmap = UNFAULTED;
  }

  hasAnon(vma: Vma): boolean {
    return (vma.rmap as VmaRmap).anonVma !== null;
  }

  isForkChild(vma: Vma): boolean {
    const s = vma.rmap as VmaRmap;
    return s.anonVma !== null && chainLength(s) !== 1;
  }

  anonIdentity(vma: Vma): unknown {
    return (vma.rmap as VmaRmap).anonVma;
  }

  /** `vma_maybe_has_shared_anon_folios` (reference §10.2). */
  maybeHasSharedAnon(vma: Vma): boolean {
    const s = vma.rmap as VmaRmap;
    if (!s.anonVma) return false;
    if (chainLength(s) !== 1) return true;
    const av = s.anonVma;
    return av.numChildren > (av === av.root ? 1 : 0);
  }

  // -- allocation and linking --------------------------------------------------------------------

  /** `anon_vma_alloc`: a new root anon_vma from the slab. */
  protected allocAnonVma(): AnonVma {
    this.host.slab.alloc("anon_vma");
    const av = this.newAnonVma(this.#nextId++);
    const tail = this.#liveTail;
    if (tail === null) this.#liveHead = av;
    else tail.liveNext = av;
    this.#liveTail = av;
    this.#liveCount++;
    this.count("anon_vma_allocated");
    return av;
  }

  /** The object of a new root anon_vma with id `id` (a variant may use a subclass). */
  protected newAnonVma(id: number): AnonVma {
    return new AnonVma(id);
  }

  /** `anon_vma_free`. */
  protected freeAnonVma(av: AnonVma): void {
    if (av.freed) throw new Error(`anon_vma ${av.id} freed twice`);
    av.freed = true;
    this.#liveCount--;
    if (++this.#liveFreed > this.#liveCount) this.sweepLive();
    this.host.slab.free("anon_vma");
  }

  /** `put_anon_vma` / `__put_anon_vma`. */
  protected putAnonVma(av: AnonVma): void {
    if (--av.refcount > 0) return;
    const root = av.root;
    this.freeAnonVma(av);
    if (root !== av && --root.refcount === 0) this.freeAnonVma(root);
  }

  /** `anon_vma_chain_alloc`. */
  protected allocAvc(vma: Vma, av: AnonVma): Avc {
    this.host.slab.alloc("anon_vma_chain");
    return new Avc(vma, av);
  }

  /** `anon_vma_chain_free`. */
  protected freeAvc(_avc: Avc): void {
    this.host.slab.free("anon_vma_chain");
  }

  /** Interval of a VMA in an anon_vma tree: `[vm_pgoff, vm_pgoff + pages − 1]`. */
  protected interval(vma: Vma): [number, number] {
    return [vma.pgoff, vma.pgoff + vmaPages(vma) - 1];
  }

  /** `anon_vma_interval_tree_insert`. */
  protected treeInsert(avc: Avc): void {
    avc.anonVma.insertAvc(avc);
    this.host.exec.work("tree_update");
  }

  /** `anon_vma_interval_tree_remove`. */
  protected treeRemove(avc: Avc): void {
    if (!avc.anonVma.removeAvc(avc)) throw new Error(`AVC of vma ${avc.vma.id} not in a tree`);
    this.host.exec.work("tree_update");
  }

  /** `anon_vma_chain_link`: list_add (head) + interval-tree insert. */
  protected link(vma: Vma, avc: Avc): void {
    const st = this.ownState(vma);
    const old = st.chain;
    const n = old.length;
    const chain = new Array<Avc>(n + 1);
    chain[0] = avc;
    for (let i = 0; i < n; i++) chain[i + 1] = old[i];
    st.chain = chain;
    this.host.exec.work("list_op");
    this.treeInsert(avc);
  }

  /** The lock a tree change of `av` takes: the root's rwsem. */
  protected writeLockOf(av: AnonVma): Lock {
    return av.root.lock;
  }

  /** `anon_vma_lock_write`: takes the lock a tree change of `av` needs; returns it. */
  protected lockWrite(av: AnonVma): Lock {
    const l = this.writeLockOf(av);
    this.host.exec.acquire(l, "write");
    return l;
  }

  /** `anon_vma_unlock_write`. */
  protected unlockWrite(l: Lock): void {
    this.host.exec.release(l, "write");
  }

  // -- hooks -------------------------------------------------------------------------------------

  /**
   * `anon_vma_compatible(a, b)`: a immediately precedes b (reference §3.1). The flags may differ
   * in the access bits and in `VM_IGNORE_MERGE` (VM_SOFTDIRTY and, since the VM_MAYBE_GUARD
   * series, VM_MAYBE_GUARD: a guarded VMA lends its anon_vma like any other).
   */
  protected anonVmaCompatible(a: Vma, b: Vma): boolean {
    return a.end === b.start && a.file === b.file &&
      ((a.flags ^ b.flags) & ~(VM_ACCESS_FLAGS | VM_IGNORE_MERGE)) === 0 &&
      b.pgoff === a.pgoff + (b.start - a.start) / PAGE_SIZE;
  }

  /** `reusable_anon_vma(old, a, b)`. */
  protected reusableAnonVma(old: Vma, a: Vma, b: Vma): AnonVma | null {
    if (!this.anonVmaCompatible(a, b)) return null;
    const s = old.rmap as VmaRmap;
    if (s.anonVma && chainLength(s) === 1) return s.anonVma;
    return null;
  }

  /** `find_mergeable_anon_vma`: next (only if adjacent) first, then prev. */
  protected findMergeableAnonVma(vma: Vma): AnonVma | null {
    const next = this.host.nextVma(vma);
    if (next && next.start === vma.end) {
      const av = this.reusableAnonVma(next, vma, next);
      if (av) return av;
    }
    const prev = this.host.prevVma(vma);
    if (prev) return this.reusableAnonVma(prev, prev, vma);
    return null;
  }

  /** `__anon_vma_prepare` (reference §3.1). */
  prepare(vma: Vma): void {
    const r = vma.rmap as VmaRmap;
    if (r.anonVma) return;
    const avc = this.allocAvc(vma, null as unknown as AnonVma);
    let av = this.findMergeableAnonVma(vma);
    if (av) this.count("anon_vma_reuse_neighbour");
    else {
      av = this.allocAnonVma();
      av.numChildren++; // self-parent link for a new root
    }
    avc.anonVma = av;
    const l = this.lockWrite(av);
    this.host.exec.acquire(vma.mm.pageTableLock, "write");
    if (r === UNFAULTED) {
      // The usual case: the VMA's state becomes its one AVC (what link() does, without a state
      // object).
      vma.rmap = avc;
      this.host.exec.work("list_op");
      this.treeInsert(avc);
    } else {
      this.ownState(vma).anonVma = av;
      this.link(vma, avc);
      this.settle(vma);
    }
    av.numActiveVmas++;
    this.host.exec.release(vma.mm.pageTableLock, "write");
    this.unlockWrite(l);
  }

  /**
   * `anon_vma_clone` for split, remap and unfaulted merge (`dst->anon_vma` was copied from `src`
   * by `vm_area_dup`, or set by `dup_anon_vma`).
   */
  clone(dst: Vma, src: Vma, op: Exclude<CloneOp, "fork">): void {
    const srcState = src.rmap as VmaRmap;
    const dstState = dst.rmap as VmaRmap;
    if (chainLength(dstState) !== 0) throw new Error(`clone into vma ${dst.id} with a chain`);
    if (op === "merge_unfaulted" && chainLength(srcState) !== 1) {
      throw new Error(`unfaulted merge from fork child vma ${src.id}`);
    }
    if (dstState.anonVma !== srcState.anonVma) this.ownState(dst).anonVma = srcState.anonVma;
    this.cloneChain(dst, src, false);
    this.settle(dst);
  }

  /**
   * The body of `anon_vma_clone`: one new AVC per AVC of `src`, oldest (root) first, with the
   * fork reuse check when `forking`. `dst`'s new chain has `reserve` leading slots left for the
   * caller to fill (fork's own AVC), then the clones in `src`'s order (newest first).
   */
  protected cloneChain(dst: Vma, src: Vma, forking: boolean, reserve = 0): void {
    const srcState = src.rmap as VmaRmap;
    const n = chainLength(srcState);
    if (n === 0) {
      const av = (dst.rmap as VmaRmap).anonVma;
      if (av) av.numActiveVmas++;
      return;
    }
    const dstState = this.ownState(dst);
    // The clone of srcChain[i] goes to chain[reserve + i]; filled oldest (i = n - 1) first, as
    // the kernel links them (each at the list head).
    const chain = new Array<Avc>(reserve + n);
    dstState.chain = chain;
    const exec = this.host.exec;
    let lock: Lock | null = null;
    if (this.options.allocUnderLock) {
      // 6.x: the first allocation happens before the root is locked, the rest under it, each
      // with GFP_NOWAIT; one that fails (slab slow-path model: it would need reclaim) drops
      // the root lock, allocates with GFP_KERNEL and locks again.
      const slab = this.host.slab;
      for (let i = n - 1; i >= 0; i--) {
        const pav = chainAt(srcState, i).anonVma;
        let avc: Avc;
        if (slab.alloc("anon_vma_chain", 1, "nowait")) {
          avc = new Avc(dst, pav);
        } else {
          if (lock) this.unlockWrite(lock);
          lock = null;
          avc = this.allocAvc(dst, pav);
          this.count("avc_alloc_nowait_fallback");
        }
        if (!lock) lock = this.lockWrite(pav);
        chain[reserve + i] = avc;
        exec.work("list_op");
        this.treeInsert(avc);
      }
    } else {
      // 2026: every AVC allocated unlocked, then one lock for all the tree inserts.
      for (let i = n - 1; i >= 0; i--) {
        chain[reserve + i] = this.allocAvc(dst, chainAt(srcState, i).anonVma);
      }
      lock = this.lockWrite(chainAt(srcState, n - 1).anonVma);
      for (let i = n - 1; i >= 0; i--) {
        exec.work("list_op");
        this.treeInsert(chain[reserve + i]);
      }
    }
    if (forking && !dstState.anonVma && srcState.anonVma) {
      const oldestFirst = this.options.reuseOrder === "oldest-first";
      for (let k = 0; k < n; k++) {
        const av = chainAt(srcState, oldestFirst ? n - 1 - k : k).anonVma;
        if (av.numChildren < 2 && av.numActiveVmas === 0) {
          dstState.anonVma = av;
          this.count("anon_vma_reuse_fork");
          break;
        }
      }
    }
    if (dstState.anonVma) dstState.anonVma.numActiveVmas++;
    this.unlockWrite(lock!);
  }

  /** `anon_vma_fork` (reference §3.3). */
  fork(child: Vma, parent: Vma): void {
    const ps = parent.rmap as VmaRmap;
    if (!ps.anonVma) return;
    const cs = this.ownState(child);
    cs.anonVma = null;
    let preAv: AnonVma | null = null;
    let preAvc: Avc | null = null;
    if (this.options.forkPreallocates) {
      preAv = this.allocAnonVma();
      preAvc = this.allocAvc(child, preAv);
    }
    // One leading slot in the child's chain for its own AVC (dropped if an anon_vma is reused).
    this.cloneChain(child, parent, true, 1);
    if (cs.anonVma) {
      cs.chain.shift();
      this.settle(child);
      if (preAv) {
        this.freeAvc(preAvc!);
        this.freeAnonVma(preAv);
      }
      return;
    }
    const av = preAv ?? this.allocAnonVma();
    av.numActiveVmas++;
    const avc = preAvc ?? this.allocAvc(child, av);
    av.root = ps.anonVma.root;
    av.parent = ps.anonVma;
    av.root.refcount++;
    cs.anonVma = av;
    const l = this.lockWrite(av);
    // anon_vma_chain_link into the reserved head slot.
    cs.chain[0] = avc;
    this.host.exec.work("list_op");
    this.treeInsert(avc);
    av.parent.numChildren++;
    this.unlockWrite(l);
    this.settle(child);
  }

  /** `unlink_anon_vmas` (reference §3.4). */
  unlink(vma: Vma): void {
    const st = vma.rmap as VmaRmap;
    const n = chainLength(st);
    if (n === 0) {
      if (st.anonVma) throw new Error(`vma ${vma.id} has an anon_vma but no chain`);
      return;
    }
    // A one-AVC state is the AVC itself (`one`); else the chain array, discarded below.
    const one = st instanceof Avc ? st : null;
    const chain = one === null ? (st as AnonVmaVmaState).chain : NO_AVCS;
    const l = this.lockWrite((one ?? chain[0]).anonVma);
    // The AVCs whose anon_vma emptied are kept at the front of the (discarded) chain array (a
    // one-AVC state's is the AVC itself).
    let empties = 0;
    for (let i = 0; i < n; i++) {
      const avc = one ?? chain[i];
      const av = avc.anonVma;
      this.treeRemove(avc);
      if (av.treeEmpty) {
        av.parent.numChildren--;
        if (one === null) chain[empties] = avc;
        empties++;
        continue;
      }
      this.host.exec.work("list_op");
      this.freeAvc(avc);
    }
    const own = st.anonVma;
    if (own) own.numActiveVmas--;
    if (one !== null || st instanceof ChainState) vma.rmap = UNFAULTED;
    else {
      const state = st as AnonVmaVmaState;
      state.anonVma = null;
      state.chain = NO_AVCS;
    }
    this.unlockWrite(l);
    for (let i = 0; i < empties; i++) {
      const avc = one ?? chain[i];
      this.putAnonVma(avc.anonVma);
      this.freeAvc(avc);
    }
  }

  /** `vma_prepare`/`vma_complete`: re-key the VMAs' AVCs under the root lock. */
  adjust(vmas: readonly Vma[], mutate: () => void): void {
    let first: AnonVma | null = null;
    for (let i = 0; i < vmas.length && first === null; i++) first = this.rmapOf(vmas[i]).anonVma;
    if (first === null) {
      mutate();
      return;
    }
    const l = this.lockWrite(first);
    for (const v of vmas) {
      const r = this.rmapOf(v);
      if (r.anonVma !== null) this.treeRemoveChain(r);
    }
    mutate();
    for (const v of vmas) {
      const r = this.rmapOf(v);
      if (r.anonVma !== null) this.treeInsertChain(r);
    }
    this.unlockWrite(l);
  }

  /** Every AVC of a chain out of its tree, head first. */
  protected treeRemoveChain(r: VmaRmap): void {
    if (r instanceof Avc) this.treeRemove(r);
    else for (const avc of r.chain) this.treeRemove(avc);
  }

  /** Every AVC of a chain into its tree, head first. */
  protected treeInsertChain(r: VmaRmap): void {
    if (r instanceof Avc) this.treeInsert(r);
    else for (const avc of r.chain) this.treeInsert(avc);
  }

  /** `__folio_set_anon`: exclusive folios go to the VMA's anon_vma, others to its root. */
  addNewAnon(folio: Folio, vma: Vma, _addr: number, exclusive: boolean): void {
    const av = (vma.rmap as VmaRmap).anonVma;
    if (!av) throw new Error(`new anon folio in vma ${vma.id} without anon_vma`);
    folio.rmap = exclusive ? av : av.root;
  }

  /** `folio_move_anon_rmap`. */
  moveAnon(folio: Folio, vma: Vma): void {
    const av = (vma.rmap as VmaRmap).anonVma;
    if (!av) throw new Error(`folio move into vma ${vma.id} without anon_vma`);
    if (folio.rmap !== av) this.count("folio_move_anon_rmap");
    folio.rmap = av;
  }

  /**
   * UFFDIO_MOVE's `anon_vma_lock_write(folio_anon_vma(folio))`, taken "to serialize against"
   * `folio_referenced` (mm/userfaultfd.c): the lock the folio's walks take ({@link folioLock}).
   * Null for a folio whose mapping is no anon_vma: an anon_vma_lazy group's, walked under RCU
   * with no rwsem (the lazy series does not cover UFFDIO_MOVE, [U]).
   */
  moveLock(folio: Folio): Lock | null {
    return folio.rmap instanceof AnonVma ? this.folioLock(folio) : null;
  }

  folioFreed(_folio: Folio): void {}

  /** The lock that serialises walks of `folio`: its anon_vma's root rwsem. */
  protected folioLock(folio: Folio): Lock {
    return this.folioAnonVma(folio).root.lock;
  }

  /** The lock a walk of `folio` takes ({@link folioLock}; a subclass may count which). */
  protected walkLock(folio: Folio): Lock {
    return this.folioLock(folio);
  }

  #walkFirst = 0;
  #walkVisit: RmapVisit | null = null;
  readonly #walkVisitor = (avc: Avc): boolean => {
    const vma = avc.vma;
    const first = this.#walkFirst;
    const pgoff = vma.pgoff, start = vma.start;
    // A large folio may straddle the VMA start.
    const addr = first >= pgoff ? start + (first - pgoff) * PAGE_SIZE : start;
    return this.#walkVisit!(vma, addr);
  };

  /** `rmap_walk_anon` (reference §8.1). */
  walk(folio: Folio, _kind: WalkKind, tryLock: boolean, visit: RmapVisit): WalkReport {
    const av = this.folioAnonVma(folio);
    if (!av || av.freed) throw new Error(`folio ${folio.id} points at a freed anon_vma`);
    const lock = this.walkLock(folio);
    if (!this.host.exec.acquire(lock, "read", tryLock)) {
      return { contended: true, structures: 0, treeNodes: 0 };
    }
    const first = folio.index;
    const last = first + folio.nrPages - 1;
    // One visitor per scheme (no closure per walk); its state is saved for a nested walk.
    const f0 = this.#walkFirst, v0 = this.#walkVisit;
    this.#walkFirst = first;
    this.#walkVisit = visit;
    const nodes = av.queryAvcs(first, last, this.#walkVisitor);
    this.#walkFirst = f0;
    this.#walkVisit = v0;
    this.host.exec.work("tree_visit", nodes);
    this.host.exec.release(lock, "read");
    return { contended: false, structures: 1, treeNodes: nodes };
  }

  /** RELOCATE_ANON undo: `folio->mapping` back to the old anon_vma. */
  relocateUndo(folio: Folio, oldRmap: unknown): void {
    folio.rmap = oldRmap;
  }

  /** `split_folio`: the new folios take the head's `folio->mapping`. */
  splitFolio(head: Folio, tails: readonly Folio[]): void {
    for (const t of tails) t.rmap = head.rmap;
  }

  /** KSM `stable_tree_append`: `get_anon_vma(vma->anon_vma)`. */
  ksmGetAnonVma(vma: Vma): unknown {
    const av = (vma.rmap as VmaRmap).anonVma;
    if (!av) return null;
    av.refcount++;
    av.ksmPins++;
    return av;
  }

  /** KSM `remove_rmap_item_from_tree`: `put_anon_vma(rmap_item->anon_vma)`. */
  ksmPutAnonVma(anonVma: unknown): void {
    const av = anonVma as AnonVma;
    av.ksmPins--;
    this.putAnonVma(av);
  }

  /** `rmap_walk_ksm` per rmap item: the root lock, then the whole tree (0..ULONG_MAX). */
  ksmWalkAnonVma(
    anonVma: unknown,
    tryLock: boolean,
    visit: (vma: Vma) => boolean,
  ): WalkReport & { stopped: boolean } {
    const av = anonVma as AnonVma;
    if (av.freed) throw new Error(`KSM rmap item pins freed anon_vma ${av.id}`);
    const lock = av.root.lock;
    if (!this.host.exec.acquire(lock, "read", tryLock)) {
      return { contended: true, structures: 0, treeNodes: 0, stopped: false };
    }
    let stopped = false;
    const nodes = av.queryAvcs(0, Number.MAX_SAFE_INTEGER, (avc) => {
      if (!visit(avc.vma)) stopped = true;
      return !stopped;
    });
    this.host.exec.work("tree_visit", nodes);
    this.host.exec.release(lock, "read");
    return { contended: false, structures: 1, treeNodes: nodes, stopped };
  }

  /**
   * `ksm_might_need_to_copy`'s anon_vma test: the folio's anon_vma has the root of the VMA's. A
   * swap-cached folio whose entry MREMAP_RELOCATE_ANON moved keeps its old anon_vma (possibly
   * freed since, as the kernel leaves `folio->mapping` of an unmapped folio).
   */
  swapCacheAnonMatches(folio: Folio, vma: Vma): boolean {
    return this.sameAnonRoot(folio, (vma.rmap as VmaRmap).anonVma);
  }

  /** Whether `folio` points at an anon_vma with the root of `av` (false when either has none). */
  protected sameAnonRoot(folio: Folio, av: AnonVma | null): boolean {
    const own = folio.rmap instanceof AnonVma ? folio.rmap : null;
    return own !== null && av !== null && own.root === av.root;
  }

  /** MREMAP_RELOCATE_ANON for anon_vma schemes (reference §10.2). */
  relocate(src: Vma, dst: Vma, folios: readonly { folio: Folio; addr: number }[]): boolean {
    for (const { folio } of folios) {
      if (folio.pinned || folio.maxPageMapcount() > 1) return false;
    }
    const srcAv = (src.rmap as VmaRmap).anonVma;
    this.prepare(dst);
    const dstAv = (dst.rmap as VmaRmap).anonVma!;
    // The destination anon_vma is write-locked across the relocation; the source's lock is
    // skipped when it shares the root.
    const l = this.lockWrite(dstAv);
    let srcLock: Lock | null = null;
    if (srcAv && srcAv.root !== dstAv.root) srcLock = this.lockWrite(srcAv);
    for (const { folio } of folios) {
      folio.rmap = dstAv;
      this.host.exec.work("pte_update");
    }
    if (srcLock) this.unlockWrite(srcLock);
    this.unlockWrite(l);
    this.count("folios_relocated", folios.length);
    return true;
  }

  // -- invariants --------------------------------------------------------------------------------

  /** Invariants I1–I6 (reference §1.7) plus tree keys. */
  check(): string[] {
    const out: string[] = [];
    const active = new Map<AnonVma, number>();
    const chainsOf = new Map<AnonVma, string>();
    for (const mm of this.host.liveMms()) {
      for (const vma of mm.vmas) {
        const st = this.state(vma);
        if ((st.anonVma === null) !== (st.chain.length === 0)) {
          out.push(`I4: vma ${vma.id} anon_vma/chain disagree`);
        }
        if (st.anonVma) {
          active.set(st.anonVma, (active.get(st.anonVma) ?? 0) + 1);
          const key = st.chain.map((a) => a.anonVma.id).sort((a, b) => a - b).join(",");
          const prev = chainsOf.get(st.anonVma);
          if (prev !== undefined && prev !== key) {
            out.push(`I5: VMAs sharing anon_vma ${st.anonVma.id} have different chains`);
          }
          chainsOf.set(st.anonVma, key);
          if (!st.chain.some((a) => a.anonVma === st.anonVma)) {
            out.push(`vma ${vma.id} chain lacks its own anon_vma`);
          }
        }
        const [s, l] = this.interval(vma);
        for (const avc of st.chain) {
          if (avc.anonVma.freed) out.push(`vma ${vma.id} links freed anon_vma ${avc.anonVma.id}`);
          if (st.anonVma && avc.anonVma.root !== st.anonVma.root) {
            out.push(`I3: vma ${vma.id} chain mixes roots`);
          }
          if (!avc.handle || avc.handle.start !== s || avc.handle.last !== l) {
            out.push(`vma ${vma.id} AVC key stale in anon_vma ${avc.anonVma.id}`);
          }
        }
      }
      // I1: every anon PTE is reachable through its folio's anon_vma tree.
      for (const [vpn, pte] of mm.pages.entries()) {
        const f = pte.folio;
        if (!f || !f.anon || f.ksm) continue; // KSM folios: the stable tree's rmap (ksm.ts)
        const av = f.rmap as AnonVma;
        const addr = vpn * PAGE_SIZE;
        const vma = mm.vmas.find(addr);
        if (!vma) {
          out.push(`PTE at ${hex(addr)} outside any VMA`);
          continue;
        }
        if (linearPageIndex(vma, addr) !== f.index + pte.page) {
          out.push(`I1b: folio ${f.id} index ${f.index} vs vma ${vma.id} at ${hex(addr)}`);
        }
        if (!chainLinks(this.rmapOf(vma), av)) {
          out.push(`I1a: vma ${vma.id} not in tree of anon_vma ${av.id} of folio ${f.id}`);
        }
      }
    }
    out.push(...this.checkAnonVmaCounts(active));
    return out;
  }

  /**
   * I2 and I6 over every live anon_vma: `num_active_vmas` equals the VMAs counted in `active`,
   * `num_children` the live non-empty children (+1 for an attached root), no anon_vma outlives
   * its root, no non-root anon_vma lives with an empty tree.
   */
  protected checkAnonVmaCounts(active: ReadonlyMap<AnonVma, number>): string[] {
    const out: string[] = [];
    const childCount = new Map<AnonVma, number>();
    const live = this.live;
    for (const av of live) {
      if (!av.isRoot && !av.treeEmpty) {
        childCount.set(av.parent, (childCount.get(av.parent) ?? 0) + 1);
      }
    }
    for (const av of live) {
      if ((active.get(av) ?? 0) !== av.numActiveVmas) {
        out.push(
          `I2: anon_vma ${av.id} num_active_vmas ${av.numActiveVmas} != ${active.get(av) ?? 0}`,
        );
      }
      const want = (childCount.get(av) ?? 0) + (av.isRoot && !av.treeEmpty ? 1 : 0);
      if (want !== av.numChildren) {
        out.push(`I2: anon_vma ${av.id} num_children ${av.numChildren} != ${want}`);
      }
      if (!av.isRoot && av.root.freed) out.push(`I6: anon_vma ${av.id} outlives its root`);
      if (!av.isRoot && av.treeEmpty && av.ksmPins === 0) {
        out.push(`I6: anon_vma ${av.id} empty but not freed`);
      }
      out.push(...this.checkTree(av));
    }
    return out;
  }

  /**
   * The interval tree of `av`: its AVCs in (pgoff, insertion) order, each of `av`, and every
   * node's subtree-last correct (a VMA re-keyed without `adjust` breaks one of these).
   */
  protected checkTree(av: AnonVma): string[] {
    const out: string[] = [];
    let prev: Avc | null = null;
    for (const n of av.tree.nodes()) {
      if (n.anonVma !== av) out.push(`AVC of vma ${n.vma.id} in the tree of anon_vma ${av.id}`);
      if (prev && (prev.start > n.start || (prev.start === n.start && prev.seq > n.seq))) {
        out.push(`anon_vma ${av.id} tree out of order at vma ${n.vma.id}`);
      }
      let m = n.last;
      for (const c of [n.left, n.right]) {
        if (c && c.start + c.maxDelta > m) m = c.start + c.maxDelta;
      }
      if (n.start + n.maxDelta !== m) out.push(`anon_vma ${av.id} tree: stale subtree last`);
      prev = n;
    }
    return out;
  }
}
