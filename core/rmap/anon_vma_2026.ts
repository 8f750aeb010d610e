/**
 * The anon_vma model after Lorenzo Stoakes' "mm: clean up anon_vma implementation" (v3,
 * 2026-01-18, in mm-stable early 2026; reference §10.1).
 *
 * Object semantics equal Linux 6.18; what changes is where the work happens relative to the
 * root lock:
 * - `anon_vma_clone` allocates every AVC with GFP_KERNEL before taking the root lock, then takes
 *   the lock once for all tree inserts (patches 4 and 8);
 * - `anon_vma_fork` allocates the new anon_vma and its AVC before the clone and frees them if an
 *   existing anon_vma was reused (patch 2), so a fork that reuses allocates and frees one
 *   anon_vma and one AVC more than 6.18 — the one documented object-count difference
 *   (allocation counters only; live counts are equal);
 * - fork reuse candidates are examined in the 2026 code's order (newest first, as read in the
 *   2026 source; reference §3.2) — configurable;
 * - unfaulted VMAs are skipped and reuse is checked only for VMA_OP_FORK (patches 3 and 9), which
 *   the 6.18 model already behaves like.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import { type AnonVmaOptions, AnonVmaScheme } from "./anon_vma.ts";
import type { SchemeInfo } from "./scheme.ts";

/** Metadata of the 2026 clean-up scheme. */
export const ANON_VMA_2026_INFO: SchemeInfo = {
  id: "anon_vma-2026",
  title: "anon_vma after the 2026 clean-up",
  kernel: 'mm-stable 2026 ("mm: clean up anon_vma implementation" v3)',
  status: "merged",
  sources: [
    "https://lore.kerneltesting.org/linux-mm/20260118120658.8da21fc257774feb4e753969@linux-foundation.org/T",
    "mm/rmap.c @ kernelorg-mirror/linux_kernel_git_ljs_linux a4ac19665445",
    "docs/model.md §3.2, §3.3, §10.1",
  ],
  summary:
    "Same objects as 6.18, but anon_vma_chains are allocated before the root rwsem is taken, " +
    "the root is locked once per clone/unlink, and anon_vma_fork allocates up front. Root-lock " +
    "hold time per clone drops from L x (alloc + insert) to L x insert.",
  ownedCaches: ["anon_vma", "anon_vma_chain"],
  ownedLockClasses: ["anon_vma.root"],
  locking: [
    {
      lockClass: "anon_vma.root",
      kind: "rwsem",
      takenFor: "write: once per clone/unlink with every AVC allocated beforehand, fork link, " +
        "re-key; read: every rmap walk (folio_referenced as a trylock)",
    },
    { lockClass: "page_table_lock", kind: "spinlock", takenFor: "anon_vma_prepare publication" },
  ],
};

/** Default 2026 options. */
export const ANON_VMA_2026_OPTIONS: Readonly<AnonVmaOptions> = {
  allocUnderLock: false,
  reuseOrder: "newest-first",
  forkPreallocates: true,
};

/**
 * The 2026 clean-up scheme.
 *
 * @example Usage
 * ```ts
 * import { AnonVma2026Scheme } from "./anon_vma_2026.ts";
 * const s = new AnonVma2026Scheme();
 * if (s.options.allocUnderLock) throw new Error();
 * ```
 */
export class AnonVma2026Scheme extends AnonVmaScheme {
  /** Creates the scheme; `options` override the 2026 defaults (e.g. `reuseOrder`). */
  constructor(options: Partial<AnonVmaOptions> = {}) {
    super({ ...ANON_VMA_2026_OPTIONS, ...options }, ANON_VMA_2026_INFO);
  }
}
