/**
 * The simulated kernel core: mm, VMA tree, page tables, folios, and the system calls that change
 * them, calling the rmap scheme's hooks where Linux calls their counterparts.
 *
 * Semantics follow Linux 6.18 `mm/vma.c`, `mm/mmap.c`, `mm/mremap.c`, `mm/memory.c` and
 * `kernel/fork.c` as described in the reference (`kernel-rmap.md` §3–§9, §12). Each deviation is
 * named where it is made.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import { CountingExec, type Exec, newLock, type OpKind } from "../machine/exec.ts";
import { Slab } from "../slab.ts";
import { GapTree } from "../lib/gap_tree.ts";
import { SortedMap } from "../lib/sorted_map.ts";
import type { RmapScheme, SchemeHost, WalkKind } from "../rmap/scheme.ts";
import { type KernelParams, resolveKernelParams } from "./params.ts";
import { mapperKey, Oracle, OracleMismatchError } from "../oracle.ts";
import {
  validateBrk,
  validateFolio,
  validateKernelOptions,
  validateMm,
  validateMmap,
  validateMremap,
  validateMunmap,
  validatePin,
  validateRangeOp,
  validateTouch,
} from "./validate.ts";
import {
  type Folio,
  hex,
  isCowMapping,
  linearPageIndex,
  MADV_DOFORK,
  MADV_DONTFORK,
  MADV_DONTNEED,
  MADV_KEEPONFORK,
  MADV_WIPEONFORK,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_GROWSDOWN,
  MAP_PRIVATE,
  MAP_SHARED,
  type Mm,
  MREMAP_DONTUNMAP,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  MREMAP_MUST_RELOCATE_ANON,
  MREMAP_RELOCATE_ANON,
  PAGE_SHIFT,
  PAGE_SIZE,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
  type Pte,
  type SimFile,
  SyscallError,
  VM_ACCESS_FLAGS,
  VM_ACCOUNT,
  VM_DONTCOPY,
  VM_EXEC,
  VM_GROWSDOWN,
  VM_MAYEXEC,
  VM_MAYREAD,
  VM_MAYSHARE,
  VM_MAYWRITE,
  VM_READ,
  VM_SHARED,
  VM_SOFTDIRTY,
  VM_WIPEONFORK,
  VM_WRITE,
  type Vma,
  vmaIsAnonymous,
  vmaPages,
} from "./types.ts";

/** Access type of a memory touch. */
export type Access = "read" | "write";

/** Why a merge with an adjacent VMA failed (reference §7, §12.3 "Mergeability"). */
export type MergeFailReason = "flags" | "file" | "pgoff" | "anon_vma" | "fork_child";

/** Figures of one rmap walk, as seen by the kernel core. */
export interface WalkResult {
  /** Which walk. */
  kind: WalkKind;
  /** Candidate VMAs the scheme offered (`V`, reference §8.2). */
  visits: number;
  /** Visited VMAs whose page tables map the folio (`H`). */
  hits: number;
  /** `V − H`. */
  useless: number;
  /** Rmap structures touched (anon_vmas, contexts, remap entries). */
  structures: number;
  /** Index nodes touched (interval/maple tree). */
  treeNodes: number;
  /** The walk gave up on a contended trylock. */
  contended: boolean;
}

/** Listener for walk results (the recorder subscribes). */
export type WalkListener = (r: WalkResult) => void;

/** Options of {@link Kernel}. */
export interface KernelOptions {
  /** The rmap scheme. */
  scheme: RmapScheme;
  /** Where work and locks are reported; default an untimed {@link CountingExec}. */
  exec?: Exec;
  /** Kernel parameters (defaults in params.ts). */
  params?: Partial<KernelParams>;
  /** Slab accounting; default fresh with Linux sizes. */
  slab?: Slab;
}

/** A candidate range for `vma_merge_new_range`/`vma_merge_existing_range` (`struct vma_merge_struct`). */
interface MergeState {
  mm: Mm;
  start: number;
  end: number;
  pgoff: number;
  flags: number;
  file: SimFile | null;
  /** `vmg->anon_vma`. */
  anon: unknown;
  /** `vmg->middle`: the existing VMA being modified. */
  middle: Vma | null;
  /** `vmg->copied_from`: the source of an mremap copy. */
  copiedFrom: Vma | null;
}

/** A swap slot: a reclaimed anon page that PTEs still refer to. */
interface SwapSlot {
  id: number;
  /** Number of swap PTEs referring to the slot (`swap_count`). */
  count: number;
  /** Folio brought back by the first swap-in, shared by later ones (swap cache). */
  cached: Folio | null;
}

/** A PTE that refers to a swap slot (`pte.folio === null`, `swap !== null`). */
interface SwapPte extends Pte {
  swap: SwapSlot | null;
}

function protToVm(prot: number): number {
  let f = 0;
  if (prot & PROT_READ) f |= VM_READ;
  if (prot & PROT_WRITE) f |= VM_WRITE;
  if (prot & PROT_EXEC) f |= VM_EXEC;
  return f;
}

function isAligned(x: number): boolean {
  return Number.isInteger(x) && x % PAGE_SIZE === 0;
}

function pageAlignUp(x: number): number {
  return Math.ceil(x / PAGE_SIZE) * PAGE_SIZE;
}

const PTES_PER_TABLE_SHIFT = 9;

/**
 * The simulated kernel.
 *
 * @example Usage
 * ```ts
 * import { Kernel } from "./kernel.ts";
 * import { AnonVmaScheme } from "../rmap/anon_vma.ts";
 * import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from "./types.ts";
 * const k = new Kernel({ scheme: new AnonVmaScheme() });
 * const mm = k.spawn();
 * const a = k.mmap(mm, 0, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
 * k.touch(mm, a, "write");
 * if (k.slab.live("anon_vma") !== 1) throw new Error();
 * ```
 */
export class Kernel {
  /** Resolved parameters. */
  readonly params: KernelParams;
  /** The rmap scheme. */
  readonly scheme: RmapScheme;
  /** Work/lock reporting. */
  readonly exec: Exec;
  /** Slab accounting. */
  readonly slab: Slab;
  /** Ground truth. */
  readonly oracle: Oracle = new Oracle();
  /** Kernel counters (faults, merges, splits...), by name. */
  readonly counters: Record<string, number> = {};
  /** Live processes' mms, in creation order. */
  readonly mms: Map<number, Mm> = new Map();

  #nextMmId = 1;
  #nextVmaId = 1;
  #nextFolioId = 1;
  #nextFileId = 1;
  #nextSwapId = 1;
  #liveAnon: Folio[] = [];
  #liveAnonSlot: Map<Folio, number> = new Map();
  /**
   * The anon LRU: live anon folios, least recently added or rotated first (a Set keeps insertion
   * order). Reclaim scans it from the oldest end, as shrink_inactive_list scans the tail.
   */
  #lru: Set<Folio> = new Set();
  #walkListeners: WalkListener[] = [];
  /** Folios kept in the swap cache for the other PTEs that still refer to their slot. */
  #swapCacheOf: Map<Folio, SwapSlot> = new Map();
  #opDepth = 0;

  /** Creates a kernel running `scheme`. */
  constructor(opts: KernelOptions) {
    validateKernelOptions(opts);
    this.params = resolveKernelParams(opts.params);
    this.scheme = opts.scheme;
    this.exec = opts.exec ?? new CountingExec();
    this.slab = opts.slab ?? new Slab();
    this.slab.setExec(this.exec);
    const host: SchemeHost = {
      slab: this.slab,
      exec: this.exec,
      prevVma: (v) => v.mm.vmas.prevOf(v) ?? null,
      nextVma: (v) => v.mm.vmas.nextOf(v) ?? null,
      vmasInRange: (mm, s, e) => mm.vmas.intersecting(s, e),
      liveMms: () => this.mms.values(),
      liveAnonFolios: () => this.#liveAnon,
    };
    this.scheme.attach(host);
  }

  // ---------------------------------------------------------------------------------------------
  // Bookkeeping helpers

  #count(name: string, n = 1): void {
    this.counters[name] = (this.counters[name] ?? 0) + n;
  }

  /** Subscribes to every walk's figures. */
  onWalk(fn: WalkListener): void {
    this.#walkListeners.push(fn);
  }

  #op<T>(kind: OpKind, mm: Mm | null, fn: () => T): T {
    if (this.#opDepth > 0) return fn();
    this.#opDepth++;
    this.exec.beginOp(kind, mm?.id ?? 0);
    try {
      return fn();
    } finally {
      this.exec.endOp();
      this.#opDepth--;
      if (this.params.debugChecks) this.assertInvariants();
    }
  }

  /** Runs `fn` with `mm->mmap_lock` held for write (every syscall that changes VMAs). */
  #mmapLocked<T>(mm: Mm, fn: () => T): T {
    this.exec.acquire(mm.mmapLock, "write");
    try {
      return fn();
    } finally {
      this.exec.release(mm.mmapLock, "write");
    }
  }

  #updateMaple(mm: Mm, oldCount: number): void {
    const per = this.params.mapleEntriesPerNode;
    const nodes = (n: number): number => {
      if (n === 0) return 0;
      let level = Math.ceil((2 * n + 1) / per);
      let total = level;
      while (level > 1) {
        level = Math.ceil(level / per);
        total += level;
      }
      return total;
    };
    const d = nodes(mm.mapCount) - nodes(oldCount);
    if (d > 0) this.slab.alloc("maple_node", d);
    else if (d < 0) this.slab.free("maple_node", -d);
  }

  #newVma(
    mm: Mm,
    start: number,
    end: number,
    pgoff: number,
    flags: number,
    file: SimFile | null,
  ): Vma {
    this.slab.alloc("vm_area_struct");
    return {
      id: this.#nextVmaId++,
      mm,
      start,
      end,
      pgoff,
      flags,
      file,
      rmap: null,
      detached: false,
    };
  }

  /** `vm_area_dup`: a copy with the scheme state left for the caller's hook to fill. */
  #dupVma(src: Vma, mm: Mm = src.mm): Vma {
    return this.#newVma(mm, src.start, src.end, src.pgoff, src.flags, src.file);
  }

  #link(v: Vma): void {
    v.mm.vmas.insert(v);
    const old = v.mm.mapCount++;
    this.#updateMaple(v.mm, old);
    this.exec.work("tree_update");
  }

  #unlinkFromTree(v: Vma): void {
    v.mm.vmas.remove(v);
    const old = v.mm.mapCount--;
    this.#updateMaple(v.mm, old);
    this.exec.work("tree_update");
  }

  #freeVma(v: Vma): void {
    v.detached = true;
    this.slab.free("vm_area_struct");
  }

  /** Changes range/pgoff of VMAs in the tree, under the scheme's `adjust` (vma_prepare/complete). */
  #adjust(vmas: Vma[], mutate: () => void): void {
    for (const v of vmas) v.mm.vmas.remove(v);
    this.scheme.adjust(vmas, mutate);
    for (const v of vmas) v.mm.vmas.insert(v);
    this.exec.work("tree_update", vmas.length);
  }

  // ---------------------------------------------------------------------------------------------
  // Folios and page tables

  #allocFolio(anon: boolean, index: number, file: SimFile | null, nrPages = 1): Folio {
    const f: Folio = {
      id: this.#nextFolioId++,
      nrPages,
      anon,
      index,
      file,
      mapcount: new Array(nrPages).fill(0),
      anonExclusive: new Array(nrPages).fill(false),
      pinned: false,
      ksm: false,
      freed: false,
      rmap: null,
      mappers: new Map(),
    };
    if (anon) {
      this.#liveAnonSlot.set(f, this.#liveAnon.length);
      this.#liveAnon.push(f);
      this.#lru.add(f);
      this.#count("folios_allocated");
    }
    return f;
  }

  #freeFolio(f: Folio): void {
    if (f.freed) throw new Error(`folio ${f.id} freed twice`);
    f.freed = true;
    const slot = this.#swapCacheOf.get(f);
    if (slot) {
      slot.cached = null;
      this.#swapCacheOf.delete(f);
    }
    if (f.anon) {
      const i = this.#liveAnonSlot.get(f)!;
      const last = this.#liveAnon.pop()!;
      if (last !== f) {
        this.#liveAnon[i] = last;
        this.#liveAnonSlot.set(last, i);
      }
      this.#liveAnonSlot.delete(f);
      this.#lru.delete(f);
      this.scheme.folioFreed(f);
      this.#count("folios_freed");
    }
  }

  /** Live anonymous folios (order of this array changes as folios are freed). */
  get liveAnonFolios(): readonly Folio[] {
    return this.#liveAnon;
  }

  /**
   * Takes up to `n` of the oldest folios off the anon LRU and puts them back at the young end
   * (each scanned folio is rotated, whatever the caller decides), returning them oldest first.
   * Models the inactive-list scan of reclaim: a folio is aged again only after every other folio
   * has been.
   */
  lruScan(n: number): Folio[] {
    const out: Folio[] = [];
    for (const f of this.#lru) {
      if (out.length >= n) break;
      out.push(f);
    }
    for (const f of out) {
      this.#lru.delete(f);
      this.#lru.add(f);
    }
    return out;
  }

  /** Puts `pte` in the page table at `vpn` (no reference counting). */
  #attachPte(mm: Mm, vpn: number, pte: Pte): void {
    mm.pages.set(vpn, pte);
    const t = vpn >> PTES_PER_TABLE_SHIFT;
    mm.ptePages.set(t, (mm.ptePages.get(t) ?? 0) + 1);
  }

  /** Takes the PTE at `vpn` out of the page table (no reference counting); returns it. */
  #detachPte(mm: Mm, vpn: number): SwapPte | undefined {
    const pte = mm.pages.get(vpn) as SwapPte | undefined;
    if (!pte) return undefined;
    mm.pages.delete(vpn);
    const t = vpn >> PTES_PER_TABLE_SHIFT;
    const c = mm.ptePages.get(t)! - 1;
    if (c === 0) mm.ptePages.delete(t);
    else mm.ptePages.set(t, c);
    return pte;
  }

  #setPte(mm: Mm, addr: number, pte: Pte): void {
    const vpn = addr / PAGE_SIZE;
    const old = mm.pages.get(vpn);
    if (old) this.#clearPte(mm, addr);
    this.#attachPte(mm, vpn, pte);
    if (pte.folio) {
      pte.folio.mapcount[pte.page]++;
      if (pte.folio.anon) this.oracle.map(pte.folio, mm, addr);
    }
    this.exec.work("pte_update");
  }

  /** Removes a PTE; drops the folio's mapping and frees it when nothing maps it. */
  #clearPte(mm: Mm, addr: number): void {
    const pte = this.#detachPte(mm, addr / PAGE_SIZE);
    if (!pte) return;
    this.exec.work("pte_update");
    const f = pte.folio;
    if (f) {
      f.mapcount[pte.page]--;
      if (f.anon) this.oracle.unmap(f, mm, addr);
      this.#maybeFreeFolio(f);
    } else if (pte.swap) {
      this.#putSwap(pte.swap);
    }
  }

  #maybeFreeFolio(f: Folio): void {
    if (!f.anon || f.freed || !f.mapcount.every((m) => m === 0)) return;
    // The swap cache keeps a folio while other PTEs still refer to its swap slot.
    const slot = this.#swapCacheOf.get(f);
    if (slot && slot.count > 0) return;
    this.#freeFolio(f);
  }

  #putSwap(s: SwapSlot): void {
    s.count--;
    if (s.count === 0 && s.cached) {
      const f = s.cached;
      s.cached = null;
      this.#swapCacheOf.delete(f);
      this.#maybeFreeFolio(f);
    }
  }

  /** The PTE mapping `addr` in `mm`, if any. */
  pte(mm: Mm, addr: number): Pte | undefined {
    return mm.pages.get(Math.floor(addr / PAGE_SIZE));
  }

  #zapRange(mm: Mm, start: number, end: number): void {
    for (const vpn of mm.pages.rangeKeys(start / PAGE_SIZE, end / PAGE_SIZE)) {
      this.#clearPte(mm, vpn * PAGE_SIZE);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Processes

  /** Creates a simulated file (or shmem object) of `sizePages` pages. */
  createFile(name: string, sizePages: number, shmem = false): SimFile {
    if (!Number.isInteger(sizePages) || sizePages < 0) {
      throw new RangeError(`File size must be a non-negative integer of pages, got ${sizePages}`);
    }
    return { id: this.#nextFileId++, name, sizePages, pageCache: new Map(), shmem };
  }

  #newMm(parent: Mm | null): Mm {
    this.slab.alloc("mm_struct");
    const id = this.#nextMmId++;
    const mm: Mm = {
      id,
      parent,
      vmas: new GapTree<Vma>(),
      pages: new SortedMap<Pte>(),
      ptePages: new Map(),
      mmapLock: newLock("mmap_lock", "rwsem"),
      pageTableLock: newLock("page_table_lock", "spinlock"),
      mapCount: 0,
      startBrk: this.params.startBrk,
      brk: this.params.startBrk,
      mmapBase: this.params.mmapBase,
      alive: true,
      rmap: null,
    };
    this.mms.set(id, mm);
    this.scheme.mmInit(mm, parent);
    return mm;
  }

  /** Creates a new process with an empty address space (like a freshly exec'd init, without a stack). */
  spawn(): Mm {
    return this.#op("execve", null, () => this.#newMm(null));
  }

  // ---------------------------------------------------------------------------------------------
  // Merging (mm/vma.c)

  #mergeableVma(v: Vma, s: MergeState): MergeFailReason | null {
    if (((v.flags ^ s.flags) & ~VM_SOFTDIRTY) !== 0) return "flags";
    if (v.file !== s.file) return "file";
    return null;
  }

  /** `is_mergeable_anon_vma` (6.18 form, reference §7 rule 3). */
  #mergeableAnon(s: MergeState, tgt: Vma): MergeFailReason | null {
    const tgtAnon = this.scheme.anonIdentity(tgt);
    const srcAnon = s.anon;
    if (tgtAnon === null && srcAnon !== null) {
      if (s.middle && this.scheme.isForkChild(s.middle)) return "fork_child";
      if (s.copiedFrom && this.scheme.isForkChild(s.copiedFrom)) return "fork_child";
      return null;
    }
    if (tgtAnon !== null && srcAnon === null) {
      return this.scheme.isForkChild(tgt) ? "fork_child" : null;
    }
    return srcAnon === tgtAnon ? null : "anon_vma";
  }

  /** `can_vma_merge_after(prev)`. */
  #canMergeAfter(prev: Vma, s: MergeState): MergeFailReason | null {
    const r = this.#mergeableVma(prev, s) ?? this.#mergeableAnon(s, prev);
    if (r) return r;
    return prev.pgoff + vmaPages(prev) === s.pgoff ? null : "pgoff";
  }

  /** `can_vma_merge_before(next)`. */
  #canMergeBefore(next: Vma, s: MergeState): MergeFailReason | null {
    const r = this.#mergeableVma(next, s) ?? this.#mergeableAnon(s, next);
    if (r) return r;
    return next.pgoff === s.pgoff + (s.end - s.start) / PAGE_SIZE ? null : "pgoff";
  }

  /** Three-way merge: prev and next anon states must be compatible with each other. */
  #anon3way(prev: Vma, next: Vma): boolean {
    const a = this.scheme.anonIdentity(prev);
    const b = this.scheme.anonIdentity(next);
    return a === null || b === null || a === b;
  }

  #mergeFailed(r: MergeFailReason): void {
    this.#count(`merge_failed_${r}`);
  }

  /** `dup_anon_vma(dst, src)`: an unfaulted target takes the anon state of a faulted source. */
  #dupAnon(dst: Vma, src: Vma | null): void {
    if (src && this.scheme.hasAnon(src) && !this.scheme.hasAnon(dst)) {
      this.scheme.clone(dst, src, "merge_unfaulted");
    }
  }

  /** Second half of removing a VMA absorbed by a merge (`vma_complete` → `unlink_anon_vmas`). */
  #removeMerged(v: Vma): void {
    this.scheme.unlink(v);
    this.#freeVma(v);
  }

  /**
   * Which sides `s` can merge with (`can_vma_merge_left/right`, with the three-way anon_vma
   * check); failures are counted by reason when `record`.
   */
  #mergeSides(
    s: MergeState,
    prev: Vma | null,
    next: Vma | null,
    record: boolean,
  ): { left: boolean; right: boolean } {
    const fail = (r: MergeFailReason): void => {
      if (record) this.#mergeFailed(r);
    };
    let left = false;
    if (prev) {
      const r = this.#canMergeAfter(prev, s);
      if (r) fail(r);
      else left = true;
    }
    let right = false;
    if (next) {
      const r = this.#canMergeBefore(next, s);
      if (r) fail(r);
      else if (left && !this.#anon3way(prev!, next)) fail("anon_vma");
      else right = true;
    }
    return { left, right };
  }

  /** The VMAs adjacent to the unmapped range `[s.start, s.end)`, if any. */
  #newRangeNeighbours(s: MergeState): { prev: Vma | null; next: Vma | null } {
    const before = s.mm.vmas.below(s.start);
    const after = s.mm.vmas.findFirstEndAfter(s.start);
    return {
      prev: before && before.end === s.start ? before : null,
      next: after && after.start === s.end ? after : null,
    };
  }

  /**
   * `vma_merge_new_range`: merge `[s.start, s.end)` (not yet mapped) with adjacent VMAs.
   * Returns the VMA now covering the range, or null if no merge happened.
   */
  #mergeNewRange(s: MergeState): Vma | null {
    const { prev, next } = this.#newRangeNeighbours(s);
    const { left, right } = this.#mergeSides(s, prev, next, true);
    if (!left && !right) return null;
    this.#count("merges");
    if (left && right) {
      const p = prev!, n = next!;
      this.#dupAnon(p, s.copiedFrom);
      this.#dupAnon(p, n);
      this.#unlinkFromTree(n);
      this.#adjust([p], () => {
        p.end = n.end;
      });
      this.#removeMerged(n);
      return p;
    }
    if (left) {
      const p = prev!;
      this.#dupAnon(p, s.copiedFrom);
      this.#adjust([p], () => {
        p.end = s.end;
      });
      return p;
    }
    const n = next!;
    this.#dupAnon(n, s.copiedFrom);
    this.#adjust([n], () => {
      n.start = s.start;
      n.pgoff = s.pgoff;
    });
    return n;
  }

  /**
   * `vma_merge_existing_range`: `[start, end)` of `middle` is to get `flags`; merge it into
   * adjacent VMAs where the rules allow. Returns the VMA now covering the range, or null.
   */
  #mergeExistingRange(middle: Vma, start: number, end: number, flags: number): Vma | null {
    const mm = middle.mm;
    const s: MergeState = {
      mm,
      start,
      end,
      pgoff: middle.pgoff + (start - middle.start) / PAGE_SIZE,
      flags,
      file: middle.file,
      anon: this.scheme.anonIdentity(middle),
      middle,
      copiedFrom: null,
    };
    const leftSide = start === middle.start;
    const rightSide = end === middle.end;
    const pv = leftSide ? mm.vmas.prevOf(middle) : undefined;
    const prev = pv && pv.end === start ? pv : null;
    const nx = rightSide ? mm.vmas.nextOf(middle) : undefined;
    const next = nx && nx.start === end ? nx : null;
    const { left, right } = this.#mergeSides(s, prev, next, true);
    if (!left && !right) return null;
    this.#count("merges");
    if (left && right) {
      const p = prev!, n = next!;
      this.#dupAnon(p, this.scheme.hasAnon(middle) ? middle : n);
      this.#unlinkFromTree(middle);
      this.#unlinkFromTree(n);
      this.#adjust([p], () => {
        p.end = n.end;
      });
      this.#removeMerged(middle);
      this.#removeMerged(n);
      return p;
    }
    if (left) {
      const p = prev!;
      this.#dupAnon(p, middle);
      if (rightSide) {
        this.#unlinkFromTree(middle);
        this.#adjust([p], () => {
          p.end = middle.end;
        });
        this.#removeMerged(middle);
      } else {
        this.#adjust([p, middle], () => {
          p.end = end;
          middle.pgoff += (end - middle.start) / PAGE_SIZE;
          middle.start = end;
        });
      }
      return p;
    }
    const n = next!;
    this.#dupAnon(n, middle);
    if (leftSide) {
      this.#unlinkFromTree(middle);
      this.#adjust([n], () => {
        n.start = middle.start;
        n.pgoff = middle.pgoff;
      });
      this.#removeMerged(middle);
    } else {
      this.#adjust([middle, n], () => {
        middle.end = start;
        n.start = start;
        n.pgoff = s.pgoff;
      });
    }
    return n;
  }

  /**
   * `__split_vma(vma, addr, new_below)`: the new VMA is the lower part when `newBelow`, the upper
   * part otherwise; it gets a clone of the anon state (`anon_vma_clone`, VMA_OP_SPLIT).
   */
  #split(vma: Vma, addr: number, newBelow: boolean): Vma {
    if (addr <= vma.start || addr >= vma.end || !isAligned(addr)) {
      throw new Error(`bad split of ${hex(vma.start)}-${hex(vma.end)} at ${hex(addr)}`);
    }
    const nv = this.#dupVma(vma);
    if (newBelow) nv.end = addr;
    else {
      nv.start = addr;
      nv.pgoff += (addr - vma.start) / PAGE_SIZE;
    }
    this.scheme.vmaInit(nv);
    this.scheme.clone(nv, vma, "split");
    this.#adjust([vma], () => {
      if (newBelow) {
        vma.pgoff += (addr - vma.start) / PAGE_SIZE;
        vma.start = addr;
      } else {
        vma.end = addr;
      }
    });
    this.#link(nv);
    this.#count("splits");
    return nv;
  }

  /** `split_vma`: as `__split_vma` but refuses at the map count limit. */
  #splitChecked(vma: Vma, addr: number, newBelow: boolean, syscall: string): Vma {
    if (vma.mm.mapCount >= this.params.maxMapCount) {
      throw new SyscallError("ENOMEM", syscall, `map_count ${vma.mm.mapCount} at max_map_count`);
    }
    return this.#split(vma, addr, newBelow);
  }

  /**
   * `vma_modify`: give `[start, end)` (inside `vma`) new flags, merging if possible, otherwise
   * splitting off the parts outside the range. Returns the VMA now covering the range.
   */
  #modifyFlags(vma: Vma, start: number, end: number, flags: number, syscall: string): Vma {
    const merged = this.#mergeExistingRange(vma, start, end, flags);
    if (merged) return merged;
    if (vma.start < start) this.#splitChecked(vma, start, true, syscall);
    if (vma.end > end) this.#splitChecked(vma, end, false, syscall);
    vma.flags = flags;
    return vma;
  }

  // ---------------------------------------------------------------------------------------------
  // Address space layout

  #getUnmappedArea(mm: Mm, len: number): number | null {
    const r = mm.vmas.gapTopDown(len, this.params.mmapMinAddr, mm.mmapBase);
    if (r !== undefined) return r;
    const r2 = mm.vmas.gapBottomUp(len, mm.mmapBase, this.params.taskSize);
    return r2 ?? null;
  }

  /** Checks that `[start, end)` is entirely covered by VMAs (no hole). */
  #fullyMapped(mm: Mm, start: number, end: number): boolean {
    let cur = start;
    for (const v of mm.vmas.intersecting(start, end)) {
      if (v.start > cur) return false;
      cur = v.end;
    }
    return cur >= end;
  }

  // ---------------------------------------------------------------------------------------------
  // mmap / munmap

  /**
   * `mmap(addr, len, prot, flags, file, offset)`. Supports private and shared anonymous memory
   * (shared anonymous memory is a shmem file) and private/shared file mappings.
   * Returns the mapped address.
   */
  mmap(
    mm: Mm,
    addr: number,
    len: number,
    prot: number,
    flags: number,
    file: SimFile | null = null,
    offset = 0,
  ): number {
    validateMmap(this.mms, mm, addr, len, prot, flags, offset);
    return this.#op(
      "mmap",
      mm,
      () => this.#mmapLocked(mm, () => this.#mmap(mm, addr, len, prot, flags, file, offset)),
    );
  }

  #mmap(
    mm: Mm,
    addr: number,
    len: number,
    prot: number,
    flags: number,
    file: SimFile | null,
    offset: number,
  ): number {
    const sys = "mmap";
    if (!mm.alive) throw new SyscallError("EINVAL", sys, "process has exited");
    if (!Number.isInteger(len) || len <= 0) {
      throw new SyscallError("EINVAL", sys, `bad length ${len}`);
    }
    len = pageAlignUp(len);
    const type = flags & (MAP_SHARED | MAP_PRIVATE);
    if (type !== MAP_SHARED && type !== MAP_PRIVATE) {
      throw new SyscallError(
        "EINVAL",
        sys,
        "exactly one of MAP_SHARED and MAP_PRIVATE is required",
      );
    }
    const anonymous = (flags & MAP_ANONYMOUS) !== 0;
    if (!anonymous && !file) throw new SyscallError("EINVAL", sys, "file mapping without a file");
    if (!isAligned(offset)) throw new SyscallError("EINVAL", sys, "offset not page aligned");
    const fixed = (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) !== 0;
    if (fixed && !isAligned(addr)) throw new SyscallError("EINVAL", sys, "addr not page aligned");
    if (len > this.params.taskSize) throw new SyscallError("ENOMEM", sys, "length too large");
    let start: number;
    if (fixed) {
      if (addr < this.params.mmapMinAddr || addr + len > this.params.taskSize) {
        throw new SyscallError(addr < this.params.mmapMinAddr ? "EPERM" : "ENOMEM", sys, "range");
      }
      if ((flags & MAP_FIXED_NOREPLACE) && !mm.vmas.isFree(addr, addr + len)) {
        throw new SyscallError("EEXIST", sys, `range ${hex(addr)} is in use`);
      }
      start = addr;
    } else if (
      addr && isAligned(addr) && addr >= this.params.mmapMinAddr &&
      addr + len <= this.params.taskSize && mm.vmas.isFree(addr, addr + len)
    ) {
      start = addr; // the hint is honoured when free
    } else {
      const a = this.#getUnmappedArea(mm, len);
      if (a === null) throw new SyscallError("ENOMEM", sys, "no free range of that size");
      start = a;
    }
    const end = start + len;
    // do_mmap: "Too many mappings?" (note: >, so the count may reach max + 1 as on Linux).
    if (mm.mapCount > this.params.maxMapCount) {
      throw new SyscallError(
        "ENOMEM",
        sys,
        `map_count at max_map_count ${this.params.maxMapCount}`,
      );
    }
    let vmFlags = protToVm(prot) | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
    let mapFile = file;
    let pgoff: number;
    if (type === MAP_SHARED) {
      vmFlags |= VM_SHARED | VM_MAYSHARE;
      if (anonymous) {
        mapFile = this.createFile(`shmem-${this.#nextFileId}`, len / PAGE_SIZE, true);
        pgoff = 0;
      } else pgoff = offset / PAGE_SIZE;
    } else {
      // Private anonymous memory: pgoff = addr >> PAGE_SHIFT (reference §6).
      pgoff = anonymous ? start / PAGE_SIZE : offset / PAGE_SIZE;
      if (anonymous) mapFile = null;
      // accountable_mapping(): private writable mappings are charged (VM_ACCOUNT).
      if (vmFlags & VM_WRITE) vmFlags |= VM_ACCOUNT;
    }
    if (flags & MAP_GROWSDOWN) vmFlags |= VM_GROWSDOWN;
    if (fixed) this.#munmapRange(mm, start, end, sys);
    const s: MergeState = {
      mm,
      start,
      end,
      pgoff,
      flags: vmFlags,
      file: mapFile,
      anon: null,
      middle: null,
      copiedFrom: null,
    };
    // A shmem object is new and unique: it can never merge.
    if (!(mapFile && mapFile.shmem) && this.#mergeNewRange(s)) return start;
    const v = this.#newVma(mm, start, end, pgoff, vmFlags, mapFile);
    this.scheme.vmaInit(v);
    this.#link(v);
    return start;
  }

  /** `munmap(addr, len)`. */
  munmap(mm: Mm, addr: number, len: number): void {
    validateMunmap(this.mms, this.params.taskSize, mm, addr, len);
    this.#op("munmap", mm, () =>
      this.#mmapLocked(mm, () => {
        if (!isAligned(addr)) throw new SyscallError("EINVAL", "munmap", "addr not page aligned");
        if (!Number.isInteger(len) || len <= 0) {
          throw new SyscallError("EINVAL", "munmap", "bad length");
        }
        this.#munmapRange(mm, addr, addr + pageAlignUp(len), "munmap");
      }));
  }

  /** `do_vmi_align_munmap`: split the edge VMAs, zap, unlink and free what lies inside. */
  #munmapRange(mm: Mm, start: number, end: number, sys: string): void {
    const first = mm.vmas.findFirstEndAfter(start);
    if (!first || first.start >= end) return;
    if (first.start < start) {
      if (end < first.end && mm.mapCount >= this.params.maxMapCount) {
        throw new SyscallError("ENOMEM", sys, "unmapping the middle would exceed max_map_count");
      }
      this.#split(first, start, true);
    }
    const lastV = mm.vmas.below(end)!;
    if (lastV.end > end) this.#split(lastV, end, false);
    const doomed = mm.vmas.intersecting(start, end);
    this.#teardownVmas(doomed);
  }

  /** `unmap_vmas` + `free_pgtables` + `remove_vma` for detached VMAs, in address order. */
  #teardownVmas(vmas: Vma[]): void {
    for (const v of vmas) this.#unlinkFromTree(v);
    for (const v of vmas) this.#zapRange(v.mm, v.start, v.end);
    for (const v of vmas) this.scheme.unlink(v);
    for (const v of vmas) this.#freeVma(v);
  }

  // ---------------------------------------------------------------------------------------------
  // mprotect / madvise / brk

  /** `mprotect(addr, len, prot)`. */
  mprotect(mm: Mm, addr: number, len: number, prot: number): void {
    validateRangeOp(this.mms, "mprotect", mm, addr, len, prot);
    this.#op("mprotect", mm, () =>
      this.#mmapLocked(mm, () => {
        const sys = "mprotect";
        if (!isAligned(addr)) throw new SyscallError("EINVAL", sys, "addr not page aligned");
        if (!Number.isInteger(len) || len < 0) throw new SyscallError("EINVAL", sys, "bad length");
        if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)) {
          throw new SyscallError("EINVAL", sys, `unknown prot bits ${prot}`);
        }
        const end = addr + pageAlignUp(len);
        if (end === addr) return;
        // Linux applies mprotect VMA by VMA and can leave a partial change when it meets a hole;
        // the simulator checks first so that a failed call changes nothing.
        if (!this.#fullyMapped(mm, addr, end)) {
          throw new SyscallError("ENOMEM", sys, `range ${hex(addr)}-${hex(end)} has a hole`);
        }
        this.#checkSplitBudget(mm, addr, end, sys);
        const newAccess = protToVm(prot);
        let cur = addr;
        while (cur < end) {
          const vma = mm.vmas.find(cur)!;
          const tmpEnd = Math.min(vma.end, end);
          const old = vma.flags;
          let nf = (old & ~VM_ACCESS_FLAGS) | newAccess;
          if (
            (old & VM_SHARED) === 0 && (nf & VM_WRITE) && !(old & VM_ACCOUNT) && !(old & VM_WRITE)
          ) {
            nf |= VM_ACCOUNT; // mprotect_fixup charges a private mapping made writable
          } else if (
            !(nf & VM_WRITE) && (old & VM_ACCOUNT) && vmaIsAnonymous(vma) &&
            !this.scheme.hasAnon(vma)
          ) {
            nf &= ~VM_ACCOUNT; // unfaulted anonymous read-only memory is not charged (6.4+)
          }
          let target = vma;
          if (nf !== old) target = this.#modifyFlags(vma, cur, tmpEnd, nf, sys);
          this.#changeProtection(target, cur, tmpEnd);
          cur = tmpEnd;
        }
      }));
  }

  /** Refuses (ENOMEM) a flags change that would need more splits than max_map_count allows. */
  #checkSplitBudget(mm: Mm, start: number, end: number, sys: string): void {
    let splits = 0;
    const a = mm.vmas.find(start);
    if (a && a.start < start) splits++;
    const b = mm.vmas.find(end - 1);
    if (b && b.end > end) splits++;
    if (splits > 0 && mm.mapCount + splits - 1 >= this.params.maxMapCount) {
      throw new SyscallError("ENOMEM", sys, "splitting would exceed max_map_count");
    }
  }

  /** `change_protection`: write-protect or (for exclusive anon pages) make writable. */
  #changeProtection(vma: Vma, start: number, end: number): void {
    const mm = vma.mm;
    const writable = (vma.flags & VM_WRITE) !== 0;
    const none = (vma.flags & (VM_READ | VM_WRITE | VM_EXEC)) === 0;
    for (const vpn of mm.pages.rangeKeys(start / PAGE_SIZE, end / PAGE_SIZE)) {
      const pte = mm.pages.get(vpn)!;
      if (none) pte.protNone = true;
      else if (pte.protNone) pte.protNone = false;
      if (!writable) pte.writable = false;
      else if (
        (vma.flags & VM_SHARED) ||
        (pte.folio && pte.folio.anon && pte.folio.anonExclusive[pte.page])
      ) pte.writable = pte.folio !== null; // can_change_pte_writable
      this.exec.work("pte_update");
    }
  }

  /** `madvise(addr, len, advice)` for DONTNEED, DONTFORK/DOFORK and WIPEONFORK/KEEPONFORK. */
  madvise(mm: Mm, addr: number, len: number, advice: number): void {
    validateRangeOp(this.mms, "madvise", mm, addr, len, advice);
    this.#op("madvise", mm, () =>
      this.#mmapLocked(mm, () => {
        const sys = "madvise";
        if (!isAligned(addr)) throw new SyscallError("EINVAL", sys, "addr not page aligned");
        if (!Number.isInteger(len) || len < 0) throw new SyscallError("EINVAL", sys, "bad length");
        const end = addr + pageAlignUp(len);
        const known = [MADV_DONTNEED, MADV_DONTFORK, MADV_DOFORK, MADV_WIPEONFORK, MADV_KEEPONFORK];
        if (!known.includes(advice)) {
          throw new SyscallError("EINVAL", sys, `unsupported advice ${advice}`);
        }
        if (end === addr) return;
        if (!this.#fullyMapped(mm, addr, end)) {
          throw new SyscallError("ENOMEM", sys, "range has a hole");
        }
        if (advice === MADV_DONTNEED) {
          this.#zapRange(mm, addr, end);
          return;
        }
        if (advice === MADV_WIPEONFORK) {
          for (const v of mm.vmas.intersecting(addr, end)) {
            if (v.file || (v.flags & VM_SHARED)) {
              throw new SyscallError(
                "EINVAL",
                sys,
                "MADV_WIPEONFORK needs private anonymous memory",
              );
            }
          }
        }
        this.#checkSplitBudget(mm, addr, end, sys);
        let cur = addr;
        while (cur < end) {
          const vma = mm.vmas.find(cur)!;
          const tmpEnd = Math.min(vma.end, end);
          let nf = vma.flags;
          if (advice === MADV_DONTFORK) nf |= VM_DONTCOPY;
          else if (advice === MADV_DOFORK) nf &= ~VM_DONTCOPY;
          else if (advice === MADV_WIPEONFORK) nf |= VM_WIPEONFORK;
          else nf &= ~VM_WIPEONFORK;
          if (nf !== vma.flags) this.#modifyFlags(vma, cur, tmpEnd, nf, sys);
          cur = tmpEnd;
        }
      }));
  }

  /** `brk(newBrk)`: returns the resulting break (unchanged on failure, as Linux does). */
  brk(mm: Mm, newBrk: number): number {
    validateBrk(this.mms, mm, newBrk);
    return this.#op("brk", mm, () =>
      this.#mmapLocked(mm, () => {
        if (newBrk < mm.startBrk) return mm.brk;
        const oldEnd = pageAlignUp(mm.brk);
        const newEnd = pageAlignUp(newBrk);
        if (newEnd === oldEnd) {
          mm.brk = newBrk;
          return mm.brk;
        }
        if (newEnd < oldEnd) {
          this.#munmapRange(mm, newEnd, oldEnd, "brk");
          mm.brk = newBrk;
          return mm.brk;
        }
        if (!mm.vmas.isFree(oldEnd, newEnd) || newEnd > this.params.taskSize) return mm.brk;
        // do_brk_flags (mm/vma.c) checks "map_count > sysctl_max_map_count" before it tries to
        // expand the brk VMA, so at the limit even an expansion fails.
        if (mm.mapCount > this.params.maxMapCount) return mm.brk;
        // do_brk_flags: VM_DATA_DEFAULT_FLAGS | VM_ACCOUNT, pgoff = addr >> PAGE_SHIFT.
        const flags = VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC | VM_ACCOUNT;
        const s: MergeState = {
          mm,
          start: oldEnd,
          end: newEnd,
          pgoff: oldEnd / PAGE_SIZE,
          flags,
          file: null,
          anon: null,
          middle: null,
          copiedFrom: null,
        };
        if (!this.#mergeNewRange(s)) {
          const v = this.#newVma(mm, oldEnd, newEnd, oldEnd / PAGE_SIZE, flags, null);
          this.scheme.vmaInit(v);
          this.#link(v);
        }
        mm.brk = newBrk;
        return mm.brk;
      }));
  }

  // ---------------------------------------------------------------------------------------------
  // Faults

  /**
   * A user access to `addr` with Linux fault semantics (reference §5): zero page on a read of
   * untouched anonymous memory, a new exclusive folio on a write, CoW copy or reuse on a write
   * to a write-protected page. Throws EFAULT (SIGSEGV) for an access outside any VMA or without
   * permission.
   */
  touch(mm: Mm, addr: number, access: Access): void {
    validateTouch(this.mms, mm, addr, access);
    if (!mm.alive) throw new SyscallError("EFAULT", "touch", "process has exited");
    const page = Math.floor(addr / PAGE_SIZE) * PAGE_SIZE;
    const pte = mm.pages.get(page / PAGE_SIZE) as SwapPte | undefined;
    if (
      pte && !pte.protNone && (pte.folio !== null || !pte.swap) &&
      (access === "read" || pte.writable)
    ) {
      // Present and permitted: no fault; the hardware sets the accessed bit.
      pte.young = true;
      return;
    }
    this.#op("fault", mm, () => this.#fault(mm, page, access));
  }

  #fault(mm: Mm, addr: number, access: Access): void {
    const sys = "touch";
    this.exec.acquire(mm.mmapLock, "read");
    try {
      this.exec.work("vma_lookup");
      const vma = mm.vmas.find(addr);
      if (!vma) throw new SyscallError("EFAULT", sys, `no VMA at ${hex(addr)}`);
      const need = access === "write" ? VM_WRITE : VM_READ;
      if (!(vma.flags & need)) {
        throw new SyscallError("EFAULT", sys, `${access} to ${hex(addr)} without permission`);
      }
      this.exec.work("pt_level", 4);
      const pte = mm.pages.get(addr / PAGE_SIZE) as SwapPte | undefined;
      if (vma.flags & VM_SHARED) {
        this.#faultShared(vma, addr, access, pte);
        return;
      }
      if (!pte) {
        if (vma.file) this.#faultPrivateFileNone(vma, addr, access);
        else this.#faultAnonNone(vma, addr, access);
        return;
      }
      if (pte.folio === null && pte.swap) {
        this.#swapIn(vma, addr, pte.swap, access);
        return;
      }
      // Present PTE, write to a write-protected page (or zero page): do_wp_page.
      this.#doWpPage(vma, addr, pte);
    } finally {
      this.exec.release(mm.mmapLock, "read");
    }
  }

  #faultShared(vma: Vma, addr: number, access: Access, pte: Pte | undefined): void {
    const file = vma.file!;
    const index = linearPageIndex(vma, addr);
    if (index >= file.sizePages) {
      throw new SyscallError("EFAULT", "touch", "SIGBUS past end of file");
    }
    if (pte && pte.folio) {
      pte.writable = access === "write" || pte.writable;
      pte.young = true;
      return;
    }
    const f = this.#pageCacheFolio(file, index);
    this.#setPte(vma.mm, addr, { folio: f, page: 0, writable: access === "write", young: true });
    this.#count("faults_file");
  }

  #pageCacheFolio(file: SimFile, index: number): Folio {
    let f = file.pageCache.get(index);
    if (!f) {
      f = this.#allocFolio(false, index, file);
      file.pageCache.set(index, f);
    }
    return f;
  }

  /** `do_anonymous_page`. */
  #faultAnonNone(vma: Vma, addr: number, access: Access): void {
    if (access === "read") {
      this.#setPte(vma.mm, addr, { folio: null, page: 0, writable: false, young: true });
      this.#count("faults_zero_page");
      return;
    }
    this.#newAnonFolio(vma, addr);
    this.#count("faults_anon_new");
  }

  /**
   * Allocates a new exclusive anon folio mapped writable at `addr` (`folio_add_new_anon_rmap`).
   * With `params.anonFolioOrder` > 0 (mTHP), `alloc_anon_folio` maps a naturally aligned large
   * folio of that order when the aligned range lies inside the VMA and none of its PTEs is
   * populated; otherwise it falls back to order 0 (mm/memory.c).
   */
  #newAnonFolio(vma: Vma, addr: number): Folio {
    this.scheme.prepare(vma);
    const mm = vma.mm;
    let nr = 1, start = addr;
    const order = this.params.anonFolioOrder;
    if (order > 0) {
      const size = PAGE_SIZE * 2 ** order;
      const a = Math.floor(addr / size) * size;
      if (
        a >= vma.start && a + size <= vma.end &&
        mm.pages.rangeKeys(a / PAGE_SIZE, (a + size) / PAGE_SIZE).length === 0
      ) {
        nr = 2 ** order;
        start = a;
      } else this.#count("mthp_fallback");
    }
    const f = this.#allocFolio(true, linearPageIndex(vma, start), null, nr);
    this.exec.work("page_zero", nr);
    f.anonExclusive.fill(true);
    this.scheme.addNewAnon(f, vma, start, true);
    for (let i = 0; i < nr; i++) {
      this.#setPte(mm, start + i * PAGE_SIZE, { folio: f, page: i, writable: true, young: true });
    }
    if (nr > 1) this.#count("mthp_folios");
    return f;
  }

  /** Private file mapping, no PTE: read maps the page cache; write copies it (CoW). */
  #faultPrivateFileNone(vma: Vma, addr: number, access: Access): void {
    const file = vma.file!;
    const index = linearPageIndex(vma, addr);
    if (index >= file.sizePages) {
      throw new SyscallError("EFAULT", "touch", "SIGBUS past end of file");
    }
    if (access === "read") {
      const f = this.#pageCacheFolio(file, index);
      this.#setPte(vma.mm, addr, { folio: f, page: 0, writable: false, young: true });
      this.#count("faults_file");
      return;
    }
    this.#pageCacheFolio(file, index);
    this.#copyIntoNewAnon(vma, addr);
    this.#count("faults_cow_file");
  }

  #copyIntoNewAnon(vma: Vma, addr: number): Folio {
    this.scheme.prepare(vma);
    const f = this.#allocFolio(true, linearPageIndex(vma, addr), null);
    this.exec.work("page_copy");
    f.anonExclusive[0] = true;
    this.scheme.addNewAnon(f, vma, addr, true);
    this.#setPte(vma.mm, addr, { folio: f, page: 0, writable: true, young: true });
    return f;
  }

  /** `do_wp_page` (reference §5.2). */
  #doWpPage(vma: Vma, addr: number, pte: Pte): void {
    const f = pte.folio;
    if (f === null || !f.anon) {
      // Zero page or a page-cache page in a private mapping: wp_page_copy.
      this.#copyIntoNewAnon(vma, addr);
      this.#count(f === null ? "faults_cow_zero_page" : "faults_cow_file");
      return;
    }
    if (f.anonExclusive[pte.page]) {
      pte.writable = true;
      pte.young = true;
      this.#count("faults_wp_reuse_exclusive");
      return;
    }
    if (!f.ksm && this.#canReuseAnonFolio(f, vma.mm)) {
      // A small folio moves to the faulting VMA's anon rmap (folio_move_anon_rmap); a large
      // one is reused in place: it may be mapped by several VMAs of this mm with different
      // anon_vmas (e.g. split by mprotect after a fork), so __wp_can_reuse_large_anon_folio
      // does not move it.
      if (f.nrPages === 1) this.scheme.moveAnon(f, vma);
      f.anonExclusive[pte.page] = true;
      pte.writable = true;
      pte.young = true;
      this.#count(f.nrPages === 1 ? "faults_wp_reuse_move" : "faults_wp_reuse_large");
      return;
    }
    // wp_page_copy
    this.#copyIntoNewAnon(vma, addr);
    this.#count("faults_cow_copy");
  }

  /**
   * `wp_can_reuse_anon_folio` (reference §5.2). Small folio: the only reference is this mapping
   * (a swap-cache copy counts while other PTEs still refer to its slot, as folio_free_swap fails
   * then). Large folio: every reference is a mapping, all by this mm, and more than one page is
   * still mapped (a large folio with one page left is copied so that it can be freed).
   */
  #canReuseAnonFolio(f: Folio, mm: Mm): boolean {
    if (f.pinned) return false;
    const slot = this.#swapCacheOf.get(f);
    if (slot && slot.count > 0) return false;
    let total = 0;
    for (const m of f.mapcount) total += m;
    if (f.nrPages === 1) return total === 1;
    if (total <= 1) return false;
    for (const m of f.mappers.values()) if (m.mm !== mm) return false;
    return true;
  }

  /** `do_swap_page`: bring a reclaimed page back. */
  #swapIn(vma: Vma, addr: number, slot: SwapSlot, access: Access): void {
    const mm = vma.mm;
    const cached = slot.cached && !slot.cached.freed ? slot.cached : null;
    // Drop this PTE's reference to the slot (without freeing the cached folio we are about to map).
    const vpn = addr / PAGE_SIZE;
    this.#detachPte(mm, vpn);
    slot.count--;
    let f: Folio;
    let exclusive: boolean;
    if (cached) {
      f = cached;
      exclusive = false;
      f.anonExclusive[0] = false;
      this.#count("faults_swapin_cached");
    } else {
      // A new folio: exclusive when this PTE was the only reference to the slot; otherwise it
      // may be shared and goes to the oldest anon_vma (`__folio_set_anon`, exclusive false).
      exclusive = slot.count === 0;
      this.scheme.prepare(vma);
      f = this.#allocFolio(true, linearPageIndex(vma, addr), null);
      f.anonExclusive[0] = exclusive;
      this.scheme.addNewAnon(f, vma, addr, exclusive);
      this.#count("faults_swapin");
    }
    slot.cached = slot.count > 0 ? f : null;
    if (slot.cached) this.#swapCacheOf.set(f, slot);
    else this.#swapCacheOf.delete(f);
    const writable = exclusive && (vma.flags & VM_WRITE) !== 0;
    this.#setPte(mm, addr, { folio: f, page: 0, writable, young: true });
    if (access === "write" && !writable) this.#doWpPage(vma, addr, mm.pages.get(vpn)!);
  }

  // ---------------------------------------------------------------------------------------------
  // fork / exit / execve

  /** `fork()`: returns the child's mm (`dup_mmap`, reference §4). */
  fork(parent: Mm): Mm {
    validateMm(this.mms, parent, "fork");
    return this.#op("fork", parent, () => {
      if (!parent.alive) throw new SyscallError("EINVAL", "fork", "process has exited");
      const child = this.#newMm(parent);
      child.startBrk = parent.startBrk;
      child.brk = parent.brk;
      child.mmapBase = parent.mmapBase;
      this.exec.acquire(parent.mmapLock, "write");
      this.exec.acquire(child.mmapLock, "write");
      for (const mpnt of [...parent.vmas]) {
        if (mpnt.flags & VM_DONTCOPY) continue;
        const tmp = this.#dupVma(mpnt, child);
        this.scheme.vmaInit(tmp);
        const wipe = (mpnt.flags & VM_WIPEONFORK) !== 0;
        if (!wipe) this.scheme.fork(tmp, mpnt);
        this.#link(tmp);
        if (!wipe && this.scheme.hasAnon(mpnt)) this.#copyPageRange(tmp, mpnt);
      }
      this.exec.release(child.mmapLock, "write");
      this.exec.release(parent.mmapLock, "write");
      this.#count("forks");
      return child;
    });
  }

  /** `copy_page_range` for a VMA whose parent has anon state (`vma_needs_copy`). */
  #copyPageRange(dst: Vma, src: Vma): void {
    const pm = src.mm, cm = dst.mm;
    const cow = isCowMapping(src.flags);
    for (const vpn of pm.pages.rangeKeys(src.start / PAGE_SIZE, src.end / PAGE_SIZE)) {
      const pte = pm.pages.get(vpn)! as SwapPte;
      const addr = vpn * PAGE_SIZE;
      this.exec.work("pte_check");
      if (pte.folio === null) {
        if (pte.swap) {
          pte.swap.count++;
          this.#setPte(
            cm,
            addr,
            { folio: null, page: 0, writable: false, young: false, swap: pte.swap } as SwapPte,
          );
        } else {
          this.#setPte(cm, addr, {
            folio: null,
            page: 0,
            writable: false,
            young: false,
            ...(pte.protNone ? { protNone: true } : {}),
          });
        }
        continue;
      }
      const f = pte.folio;
      if (f.anon && f.anonExclusive[pte.page] && f.pinned) {
        // Early CoW of a possibly DMA-pinned exclusive page (copy_present_page).
        const nf = this.#allocFolio(true, linearPageIndex(dst, addr), null);
        this.exec.work("page_copy");
        nf.anonExclusive[0] = true;
        this.scheme.addNewAnon(nf, dst, addr, true);
        this.#setPte(cm, addr, {
          folio: nf,
          page: 0,
          writable: (dst.flags & VM_WRITE) !== 0,
          young: true,
        });
        this.#count("fork_early_cow");
        continue;
      }
      if (f.anon) f.anonExclusive[pte.page] = false;
      let writable = pte.writable;
      if (cow && writable) {
        pte.writable = false;
        writable = false;
      }
      this.#setPte(cm, addr, {
        folio: f,
        page: pte.page,
        writable,
        young: false,
        ...(pte.protNone ? { protNone: true } : {}),
      });
    }
  }

  /** `exit_mmap` + process exit. */
  exit(mm: Mm): void {
    validateMm(this.mms, mm, "exit");
    this.#op("exit", mm, () => {
      if (!mm.alive) throw new SyscallError("EINVAL", "exit", "process has already exited");
      this.#exitMmap(mm);
      mm.alive = false;
      this.mms.delete(mm.id);
      this.slab.free("mm_struct");
      this.#count("exits");
    });
  }

  #exitMmap(mm: Mm): void {
    this.exec.acquire(mm.mmapLock, "write");
    const all = [...mm.vmas];
    this.#teardownVmas(all);
    this.exec.release(mm.mmapLock, "write");
    this.scheme.mmTeardown(mm);
  }

  /**
   * `execve()`: the process gets a new mm (the old one is torn down as at exit) with a fresh
   * stack VMA of `params.stackPages` pages; the fork hierarchy is left.
   */
  execve(mm: Mm): Mm {
    validateMm(this.mms, mm, "execve");
    return this.#op("execve", mm, () => {
      if (!mm.alive) throw new SyscallError("EINVAL", "execve", "process has exited");
      this.#exitMmap(mm);
      mm.alive = false;
      this.mms.delete(mm.id);
      this.slab.free("mm_struct");
      const nm = this.#newMm(null);
      const len = this.params.stackPages * PAGE_SIZE;
      const top = this.params.taskSize;
      this.#mmap(
        nm,
        top - len,
        len,
        PROT_READ | PROT_WRITE,
        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_GROWSDOWN,
        null,
        0,
      );
      return nm;
    });
  }

  // ---------------------------------------------------------------------------------------------
  // mremap

  /**
   * `mremap(old_addr, old_len, new_len, flags, new_addr)` with MAYMOVE, FIXED, DONTUNMAP, the
   * proposed RELOCATE_ANON flags, growing/shrinking in place and the 6.17 multi-VMA pure move.
   * Returns the new address.
   */
  mremap(
    mm: Mm,
    oldAddr: number,
    oldLen: number,
    newLen: number,
    flags: number,
    newAddr = 0,
  ): number {
    validateMremap(this.mms, mm, oldAddr, oldLen, newLen, flags, newAddr);
    return this.#op("mremap", mm, () => this.#mremap(mm, oldAddr, oldLen, newLen, flags, newAddr));
  }

  #mremap(
    mm: Mm,
    addr: number,
    oldLen: number,
    newLen: number,
    flags: number,
    newAddr: number,
  ): number {
    const sys = "mremap";
    const all = MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP | MREMAP_RELOCATE_ANON |
      MREMAP_MUST_RELOCATE_ANON;
    if (flags & ~all) throw new SyscallError("EINVAL", sys, `unknown flags ${flags}`);
    const mayMove = (flags & MREMAP_MAYMOVE) !== 0;
    if ((flags & MREMAP_FIXED) && !mayMove) {
      throw new SyscallError("EINVAL", sys, "FIXED needs MAYMOVE");
    }
    if ((flags & MREMAP_DONTUNMAP) && (!mayMove || oldLen !== newLen)) {
      throw new SyscallError("EINVAL", sys, "DONTUNMAP needs MAYMOVE and old_len == new_len");
    }
    if ((flags & (MREMAP_RELOCATE_ANON | MREMAP_MUST_RELOCATE_ANON)) && !mayMove) {
      throw new SyscallError("EINVAL", sys, "RELOCATE_ANON needs MAYMOVE");
    }
    if (!isAligned(addr)) throw new SyscallError("EINVAL", sys, "old_addr not page aligned");
    if (!Number.isInteger(oldLen) || !Number.isInteger(newLen) || newLen <= 0 || oldLen <= 0) {
      throw new SyscallError("EINVAL", sys, "bad length");
    }
    oldLen = pageAlignUp(oldLen);
    newLen = pageAlignUp(newLen);
    const fixed = (flags & MREMAP_FIXED) !== 0;
    if (fixed) {
      if (!isAligned(newAddr)) throw new SyscallError("EINVAL", sys, "new_addr not page aligned");
      if (newAddr < addr + oldLen && addr < newAddr + newLen) {
        throw new SyscallError("EINVAL", sys, "source and destination overlap");
      }
      if (newAddr < this.params.mmapMinAddr || newAddr + newLen > this.params.taskSize) {
        throw new SyscallError("EINVAL", sys, "destination out of range");
      }
    }
    // check_mremap_params (mm/mremap.c): a move to a given address (FIXED or DONTUNMAP) must
    // stay 4 maps below the limit even if both the old and the new range split a VMA in three:
    // "(map_count + 2) >= sysctl_max_map_count - 3" is ENOMEM, before anything is unmapped.
    if (
      (flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) &&
      mm.mapCount + 2 >= this.params.maxMapCount - 3
    ) {
      throw new SyscallError(
        "ENOMEM",
        sys,
        "a move to new_addr would come too close to max_map_count",
      );
    }
    const vma = mm.vmas.find(addr);
    if (!vma) throw new SyscallError("EFAULT", sys, `no VMA at ${hex(addr)}`);
    const pureMove = fixed && oldLen === newLen && !(flags & MREMAP_DONTUNMAP);
    if (addr + oldLen > vma.end) {
      if (!pureMove) throw new SyscallError("EFAULT", sys, "range crosses a VMA boundary");
      return this.#moveMulti(mm, addr, oldLen, newAddr, flags);
    }
    this.exec.acquire(mm.mmapLock, "write");
    try {
      if (fixed) {
        if (mm.mapCount + 3 >= this.params.maxMapCount) {
          throw new SyscallError("ENOMEM", sys, "too close to max_map_count");
        }
        this.#munmapRange(mm, newAddr, newAddr + newLen, sys);
        if (oldLen > newLen) {
          this.#munmapRange(mm, addr + newLen, addr + oldLen, sys);
          oldLen = newLen;
        }
        const v = mm.vmas.find(addr)!;
        return this.#moveVma(v, addr, oldLen, newLen, newAddr, flags);
      }
      if (oldLen >= newLen) {
        if (oldLen > newLen) this.#munmapRange(mm, addr + newLen, addr + oldLen, sys);
        if (!(flags & MREMAP_DONTUNMAP)) return addr;
        // DONTUNMAP with equal lengths and no FIXED: move to a new area.
      }
      // Grow in place when the VMA ends at the old range and the space after it is free.
      if (!(flags & MREMAP_DONTUNMAP) && newLen > oldLen && vma.end === addr + oldLen) {
        const extra = newLen - oldLen;
        if (
          vma.end + extra <= this.params.taskSize && mm.vmas.isFree(vma.end, vma.end + extra)
        ) {
          this.#adjust([vma], () => {
            vma.end += extra;
          });
          this.#count("mremap_expand_in_place");
          return addr;
        }
      }
      if (!mayMove) throw new SyscallError("ENOMEM", sys, "cannot grow in place without MAYMOVE");
      const dest = this.#getUnmappedArea(mm, newLen);
      if (dest === null) throw new SyscallError("ENOMEM", sys, "no free range for the move");
      if (mm.mapCount + 3 >= this.params.maxMapCount) {
        throw new SyscallError("ENOMEM", sys, "too close to max_map_count");
      }
      return this.#moveVma(vma, addr, oldLen, newLen, dest, flags);
    } finally {
      this.exec.release(mm.mmapLock, "write");
    }
  }

  /** The 2025 multi-VMA pure move (MREMAP_FIXED|MAYMOVE, no resize): each piece moves on its own. */
  #moveMulti(mm: Mm, addr: number, len: number, newAddr: number, flags: number): number {
    const end = addr + len;
    const pieces = mm.vmas.intersecting(addr, end).map((v) => ({
      start: Math.max(v.start, addr),
      end: Math.min(v.end, end),
    }));
    this.exec.acquire(mm.mmapLock, "write");
    try {
      this.#munmapRange(mm, newAddr, newAddr + len, "mremap");
      for (const p of pieces) {
        const v = mm.vmas.find(p.start)!;
        this.#moveVma(
          v,
          p.start,
          p.end - p.start,
          p.end - p.start,
          newAddr + (p.start - addr),
          flags,
        );
      }
    } finally {
      this.exec.release(mm.mmapLock, "write");
    }
    this.#count("mremap_multi_vma");
    return newAddr;
  }

  /** `move_vma` (reference §9.2), with the RELOCATE_ANON path (§10.2). */
  #moveVma(
    vma: Vma,
    oldAddr: number,
    oldLen: number,
    newLen: number,
    newAddr: number,
    flags: number,
  ): number {
    const mm = vma.mm;
    const newPgoff = vma.pgoff + (oldAddr - vma.start) / PAGE_SIZE;
    const relocate = (flags & (MREMAP_RELOCATE_ANON | MREMAP_MUST_RELOCATE_ANON)) !== 0;
    let newVma: Vma | null = null;
    let relocated = false;
    if (relocate) {
      const r = this.#tryRelocate(vma, oldAddr, oldLen, newLen, newAddr, newPgoff, flags);
      if (r) {
        newVma = r;
        relocated = true;
      }
    }
    if (!newVma) {
      newVma = this.#copyVma(vma, newAddr, newLen, newPgoff);
      this.#movePageTables(mm, oldAddr, newAddr, Math.min(oldLen, newLen));
    }
    this.#count(relocated ? "mremap_relocated" : "mremap_moves");
    if (flags & MREMAP_DONTUNMAP) {
      // dontunmap_complete: the source stays, without VM_ACCOUNT; its anon links go when the
      // whole VMA moved.
      const src = mm.vmas.find(oldAddr);
      if (src) {
        src.flags &= ~VM_ACCOUNT;
        if (src !== newVma && src.start === oldAddr && src.end === oldAddr + oldLen) {
          this.scheme.unlink(src);
        }
      }
    } else {
      this.#munmapRange(mm, oldAddr, oldAddr + oldLen, "mremap");
    }
    return newAddr;
  }

  /** `copy_vma`: merge the destination range with its neighbours, or create a new VMA. */
  #copyVma(vma: Vma, addr: number, len: number, pgoff: number): Vma {
    const faulted = this.scheme.hasAnon(vma);
    if (vmaIsAnonymous(vma) && !faulted) pgoff = addr / PAGE_SIZE;
    const s: MergeState = {
      mm: vma.mm,
      start: addr,
      end: addr + len,
      pgoff,
      flags: vma.flags,
      file: vma.file,
      anon: this.scheme.anonIdentity(vma),
      middle: null,
      copiedFrom: vma,
    };
    const merged = this.#mergeNewRange(s);
    if (merged) return merged;
    const nv = this.#newVma(vma.mm, addr, addr + len, pgoff, vma.flags, vma.file);
    this.scheme.vmaInit(nv);
    this.scheme.clone(nv, vma, "remap");
    this.#link(nv);
    return nv;
  }

  /** `move_page_tables`: PTEs move; folios and their `mapping`/`index` are untouched. */
  #movePageTables(mm: Mm, oldAddr: number, newAddr: number, len: number): void {
    const keys = mm.pages.rangeKeys(oldAddr / PAGE_SIZE, (oldAddr + len) / PAGE_SIZE);
    const moved: { addr: number; pte: SwapPte }[] = [];
    for (const vpn of keys) {
      // Detach without dropping references.
      const pte = this.#detachPte(mm, vpn)!;
      const a = vpn * PAGE_SIZE;
      moved.push({ addr: newAddr + (a - oldAddr), pte });
      if (pte.folio && pte.folio.anon) this.oracle.unmap(pte.folio, mm, a);
    }
    for (const { addr, pte } of moved) {
      this.#attachPte(mm, addr / PAGE_SIZE, pte);
      if (pte.folio && pte.folio.anon) this.oracle.map(pte.folio, mm, addr);
      this.exec.work("pte_update");
    }
  }

  /**
   * MREMAP_RELOCATE_ANON: returns the destination VMA when the move was done by relocation,
   * null to fall back to an ordinary move (reference §10.2).
   */
  #tryRelocate(
    vma: Vma,
    oldAddr: number,
    oldLen: number,
    newLen: number,
    newAddr: number,
    newPgoff: number,
    flags: number,
  ): Vma | null {
    const must = (flags & MREMAP_MUST_RELOCATE_ANON) !== 0;
    const fail = (why: string): null => {
      this.#count("relocate_fallback");
      if (must) throw new SyscallError("EFAULT", "mremap", `cannot relocate anon folios: ${why}`);
      return null;
    };
    // Unpopulated ranges and moves that merge anyway need no relocation (not failures).
    if (!this.scheme.hasAnon(vma)) return null;
    if (!this.scheme.relocate) return fail("the scheme does not support relocation");
    if (!vmaIsAnonymous(vma)) return fail("not anonymous");
    if (this.scheme.maybeHasSharedAnon(vma)) return fail("VMA may have shared anon folios");
    // Would an ordinary merge succeed? Then relocation is unnecessary.
    const probe: MergeState = {
      mm: vma.mm,
      start: newAddr,
      end: newAddr + newLen,
      pgoff: newPgoff,
      flags: vma.flags,
      file: vma.file,
      anon: this.scheme.anonIdentity(vma),
      middle: null,
      copiedFrom: vma,
    };
    if (this.#wouldMergeNew(probe)) return null;
    const mm = vma.mm;
    const len = Math.min(oldLen, newLen);
    // One entry per folio, with the destination address of its first page. A large folio is
    // relocated as a unit only when the moved range spans every page it maps; the series then
    // tries split_folio(), which the simulator does not model: it falls back instead, as the
    // first version of the series did for every large folio (reference §10.2).
    const folios: { folio: Folio; addr: number }[] = [];
    const seen = new Set<Folio>();
    const end = oldAddr + len;
    for (const vpn of mm.pages.rangeKeys(oldAddr / PAGE_SIZE, end / PAGE_SIZE)) {
      const pte = mm.pages.get(vpn)!;
      const f = pte.folio;
      if (!f || !f.anon || f.ksm || seen.has(f)) continue;
      seen.add(f);
      if (f.pinned) return fail(`folio ${f.id} is pinned`);
      if (f.mapcount.some((m) => m > 1)) return fail(`folio ${f.id} is mapped shared`);
      if (f.nrPages > 1) {
        for (const m of f.mappers.values()) {
          if (m.mm !== mm || m.addr < oldAddr || m.addr >= end) {
            return fail(`large folio ${f.id} is not fully inside the moved range`);
          }
        }
      }
      const first = vpn * PAGE_SIZE - pte.page * PAGE_SIZE;
      folios.push({ folio: f, addr: newAddr + (first - oldAddr) });
    }
    const dst = this.#newVma(mm, newAddr, newAddr + newLen, newAddr / PAGE_SIZE, vma.flags, null);
    this.scheme.vmaInit(dst);
    this.#link(dst);
    this.#movePageTables(mm, oldAddr, newAddr, len);
    if (!this.scheme.relocate(vma, dst, folios)) {
      // Undo: page tables back, destination removed; fall back to an ordinary move.
      this.#movePageTables(mm, newAddr, oldAddr, len);
      this.#unlinkFromTree(dst);
      this.scheme.unlink(dst);
      this.#freeVma(dst);
      return fail("a folio could not be relocated");
    }
    for (const { folio, addr } of folios) folio.index = linearPageIndex(dst, addr);
    // Retry the merge of the relocated VMA with its neighbours.
    return this.#mergeExistingRange(dst, dst.start, dst.end, dst.flags) ?? dst;
  }

  #wouldMergeNew(s: MergeState): boolean {
    const { prev, next } = this.#newRangeNeighbours(s);
    const { left, right } = this.#mergeSides(s, prev, next, false);
    return left || right;
  }

  // ---------------------------------------------------------------------------------------------
  // Rmap walks

  /** Pins (or unpins) a folio as `pin_user_pages` would (DMA). */
  setPinned(folio: Folio, pinned: boolean): void {
    validatePin(folio, pinned);
    folio.pinned = pinned;
  }

  /**
   * `folio_referenced`: reclaim aging. Read-trylock; stops once `folio_mapcount` mappings were
   * found; clears young bits. Returns the number of referenced mappings, or -1 when contended.
   */
  folioReferenced(folio: Folio): number {
    validateFolio("folioReferenced", folio);
    return this.#op("walk_referenced", null, () => {
      let referenced = 0;
      let remaining = folio.mapcount.reduce((a, b) => a + b, 0);
      const r = this.#walk(folio, "referenced", true, (pte) => {
        if (pte.young) referenced++;
        pte.young = false;
        remaining--;
        return remaining > 0;
      });
      return r.contended ? -1 : referenced;
    });
  }

  /**
   * `try_to_unmap`: reclaim eviction. Blocking read lock; every mapping becomes a swap entry and
   * the folio is freed. Returns true if the folio is no longer mapped.
   */
  tryToUnmap(folio: Folio): boolean {
    validateFolio("tryToUnmap", folio);
    return this.#op("walk_unmap", null, () => {
      // One swap slot per page of the folio (swap-in brings pages back as small folios).
      const slots: SwapSlot[] = folio.mapcount.map(() => ({
        id: this.#nextSwapId++,
        count: 0,
        cached: null,
      }));
      this.#walk(folio, "unmap", false, (pte, mm, addr) => {
        const slot = slots[pte.page];
        const cleared: SwapPte = {
          folio: null,
          page: 0,
          writable: false,
          young: false,
          swap: slot,
        };
        slot.count++;
        this.#clearPte(mm, addr);
        this.#attachPte(mm, addr / PAGE_SIZE, cleared);
        return !folio.freed;
      });
      this.#count("folios_reclaimed");
      return folio.freed;
    });
  }

  /**
   * Migration of one folio: `try_to_migrate` then `remove_migration_ptes`, two walks under the
   * blocking read lock. The simulated folio keeps its identity (the new folio inherits
   * `mapping` and `index`, so the rmap state is the same).
   */
  migrateFolio(folio: Folio): void {
    validateFolio("migrateFolio", folio);
    this.#op("walk_migrate", null, () => {
      this.#walk(folio, "migrate", false, () => true);
      this.#walk(folio, "remove_migration", false, () => true);
      this.#count("folios_migrated");
    });
  }

  /**
   * Runs one walk through the scheme, checks each candidate's page tables, and verifies the
   * result against the oracle. `act` is called for each hit and returns false to stop.
   */
  #walk(
    folio: Folio,
    kind: WalkKind,
    tryLock: boolean,
    act: (pte: Pte, mm: Mm, addr: number) => boolean,
  ): WalkResult {
    if (!folio.anon || folio.freed) {
      throw new Error(`walk of a folio that is not live anon: ${folio.id}`);
    }
    if (folio.mapcount.every((m) => m === 0)) {
      // folio_lock_anon_vma_read() gives up on a folio that is not mapped (e.g. one only in
      // the swap cache): no walk happens.
      return {
        kind,
        visits: 0,
        hits: 0,
        useless: 0,
        structures: 0,
        treeNodes: 0,
        contended: false,
      };
    }
    const expected = new Map(folio.mappers);
    const found = new Set<number>();
    let visits = 0, hits = 0;
    const report = this.scheme.walk(folio, kind, tryLock, (vma, addr) => {
      // page_vma_mapped_walk: from the address the scheme computed, check the PTE of every
      // page of the folio that falls inside this VMA (one page for a small folio).
      visits++;
      const mm = vma.mm;
      const vpn = addr / PAGE_SIZE;
      const tableExists = mm.ptePages.has(vpn >> PTES_PER_TABLE_SHIFT);
      this.exec.work("pt_level", tableExists ? 4 : 3);
      if (!tableExists || addr < vma.start || addr >= vma.end) return true;
      let hit = false;
      for (let i = 0; i < folio.nrPages; i++) {
        const va = vma.start + (folio.index + i - vma.pgoff) * PAGE_SIZE;
        if (va < vma.start || va >= vma.end) continue;
        this.exec.work("pte_check");
        const pte = mm.pages.get(va / PAGE_SIZE);
        if (!pte || pte.folio !== folio || pte.page !== i) continue;
        const key = mapperKey(mm, va);
        if (found.has(key)) continue;
        found.add(key);
        hit = true;
        if (!act(pte, mm, va)) {
          hits++;
          return false;
        }
      }
      if (hit) hits++;
      return true;
    });
    // Early stops happen only once every mapping was found (mapcount reached, or unmapped), so
    // a walk that was not contended must have found every mapping the oracle knows.
    if (!report.contended && this.params.oracleChecks) {
      for (const [key, m] of expected) {
        if (!found.has(key)) {
          throw new OracleMismatchError(folio, this.scheme.info.id, kind, m.mm, m.addr);
        }
      }
      this.oracle.walksChecked++;
    }
    const r: WalkResult = {
      kind,
      visits,
      hits,
      useless: visits - hits,
      structures: report.structures,
      treeNodes: report.treeNodes,
      contended: report.contended,
    };
    for (const l of this.#walkListeners) l(r);
    return r;
  }

  // ---------------------------------------------------------------------------------------------
  // Checks

  /** Checks kernel and scheme invariants; throws with every violation found. */
  assertInvariants(): void {
    const problems: string[] = [];
    for (const mm of this.mms.values()) {
      let n = 0;
      let prevEnd = -1;
      for (const v of mm.vmas) {
        n++;
        if (v.start >= v.end) problems.push(`vma ${v.id} empty`);
        if (v.start < prevEnd) problems.push(`vma ${v.id} overlaps`);
        prevEnd = v.end;
      }
      if (n !== mm.mapCount) problems.push(`mm ${mm.id} map_count ${mm.mapCount} != ${n}`);
    }
    problems.push(...this.oracle.check(this));
    problems.push(...this.scheme.check());
    if (problems.length) {
      throw new Error(`Invariant violations: ${problems.slice(0, 10).join("; ")}`);
    }
  }

  /** Number of VMAs over every live mm. */
  totalVmas(): number {
    let n = 0;
    for (const mm of this.mms.values()) n += mm.mapCount;
    return n;
  }
}

/** Page shift re-exported for convenience. */
export { PAGE_SHIFT, PAGE_SIZE };
