/**
 * Barry Song's 2025 proposal: keep the classic structures, but walk exclusive folios under their
 * own anon_vma's lock instead of the hierarchy root's (linux-mm, 2025-09-11, "[DISCUSSION]
 * anon_vma root lock contention and per anon_vma lock"; reference §2, §10.5).
 *
 * The proposal is a discussion, not code. What this model assumes, each a choice of the simplest
 * design that keeps every walk complete:
 * - every anon_vma gets its own rwsem (lock class `"anon_vma.own"`); the root's own lock is its
 *   root rwsem;
 * - a writer that inserts into or removes from the interval tree of a non-root anon_vma takes that
 *   anon_vma's own lock (write) around the change, in addition to the root lock it already holds
 *   (lock order: root, then own), so a walker holding only the own lock sees a stable tree;
 * - a walk of a folio that is exclusive (PageAnonExclusive and mapcount 1) and whose mapping is a
 *   non-root anon_vma read-locks (trylock for `folio_referenced`) only that anon_vma's own lock;
 *   every other walk takes the root's lock as in 6.18. Barry Song observed "almost 98 %" of
 *   Android anon folios to be exclusive.
 * Object counts equal 6.18 (the extra rwsem is inside `struct anon_vma` padding — an assumption:
 * a 40-byte rwsem would really grow the struct to 136 B, see the `anon_vma` slab size parameter).
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import type { Lock } from "../machine/exec.ts";
import { LOCK_SLOT } from "../machine/lock_slot.ts";
import { AnonVma, type AnonVmaOptions, AnonVmaScheme, type Avc } from "./anon_vma.ts";
import type { Folio } from "../kernel/types.ts";
import type { SchemeInfo } from "./scheme.ts";

/** Metadata of the per-anon_vma lock scheme. */
export const ANON_VMA_PER_AV_LOCK_INFO: SchemeInfo = {
  id: "anon_vma-per-av-lock",
  title: "anon_vma with a per-anon_vma lock for exclusive folios",
  kernel: "proposal (linux-mm discussion, 2025-09-11)",
  status: "discussion",
  sources: [
    "https://lore.kerneltesting.org/linux-mm/63627c5d-cf2d-45e8-990d-9727052b681e@lucifer.local/T",
    "docs/model.md §2, §10.5",
  ],
  summary:
    "Classic anon_vma structures; exclusive folios (most of Android's) are walked under their " +
    "own anon_vma's rwsem, so reclaim of an app's private memory no longer contends with fork, " +
    "exit and mprotect of unrelated apps on the zygote root lock. Tree writers also take the " +
    "own lock of each non-root anon_vma they modify.",
  ownedCaches: ["anon_vma", "anon_vma_chain"],
  ownedLockClasses: ["anon_vma.root", "anon_vma.own"],
  locking: [
    {
      lockClass: "anon_vma.root",
      kind: "rwsem",
      takenFor: "write: as 6.18; read: walks of shared folios and of folios in root anon_vmas",
    },
    {
      lockClass: "anon_vma.own",
      kind: "rwsem",
      takenFor: "write: each insert into or removal from a non-root anon_vma's tree (under the " +
        "root lock); read: walks of exclusive folios of non-root anon_vmas",
    },
    { lockClass: "page_table_lock", kind: "spinlock", takenFor: "anon_vma_prepare publication" },
  ],
};

/**
 * An anon_vma of this scheme. A timed machine takes the own rwsem of nearly every non-root
 * anon_vma here (every tree change of one), so its state of the lock has a field of its own
 * instead of the side object {@link AnonVma} makes for the few anon_vmas whose rwsem is taken in
 * the other schemes (the counters stay packed). The same lock state, kept in another place.
 */
class OwnLockedAnonVma extends AnonVma {
  #lockSlot: unknown = undefined;

  override get [LOCK_SLOT](): unknown {
    return this.#lockSlot;
  }
  override set [LOCK_SLOT](v: unknown) {
    this.#lockSlot = v;
  }
}

/**
 * The per-anon_vma lock scheme.
 *
 * @example Usage
 * ```ts
 * import { AnonVmaPerAvLockScheme } from "./anon_vma_per_av_lock.ts";
 * const s = new AnonVmaPerAvLockScheme();
 * if (s.info.id !== "anon_vma-per-av-lock") throw new Error();
 * ```
 */
export class AnonVmaPerAvLockScheme extends AnonVmaScheme {
  /** Creates the scheme; the structural options default to Linux 6.18. */
  constructor(options: Partial<AnonVmaOptions> = {}) {
    super(options, ANON_VMA_PER_AV_LOCK_INFO);
  }

  /** Every anon_vma of this scheme is an {@link OwnLockedAnonVma}. */
  protected override newAnonVma(id: number): AnonVma {
    return new OwnLockedAnonVma(id);
  }

  /** The own rwsem of a non-root anon_vma (its `rwsem`, in lock class `anon_vma.own`). */
  ownLock(av: AnonVma): Lock {
    return av.rwsem("anon_vma.own");
  }

  /** Tree insert under the anon_vma's own lock as well (non-root anon_vmas). */
  protected override treeInsert(avc: Avc): void {
    const av = avc.anonVma;
    if (av.isRoot) return super.treeInsert(avc);
    const l = this.ownLock(av);
    this.host.exec.acquire(l, "write");
    super.treeInsert(avc);
    this.host.exec.release(l, "write");
  }

  /** Tree removal under the anon_vma's own lock as well (non-root anon_vmas). */
  protected override treeRemove(avc: Avc): void {
    const av = avc.anonVma;
    if (av.isRoot) return super.treeRemove(avc);
    const l = this.ownLock(av);
    this.host.exec.acquire(l, "write");
    super.treeRemove(avc);
    this.host.exec.release(l, "write");
  }

  /** Exclusive folios of non-root anon_vmas are serialised by the own lock. */
  protected override folioLock(folio: Folio): Lock {
    const av = this.folioAnonVma(folio);
    const exclusive = folio.nrPages === 1 && folio.pageAnonExclusive(0) &&
      folio.pageMapcount(0) === 1;
    return exclusive && !av.isRoot ? this.ownLock(av) : av.root.lock;
  }

  /** Exclusive folios of non-root anon_vmas are walked under the own lock (counted). */
  protected override walkLock(folio: Folio): Lock {
    const l = this.folioLock(folio);
    this.count(l === this.folioAnonVma(folio).root.lock ? "walks_root_lock" : "walks_own_lock");
    return l;
  }
}
