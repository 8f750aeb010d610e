/**
 * The mutation catalogue of `tools/mutate.ts`: realistic bugs of `core/` and `reports/`, each an
 * exact search/replace edit of one file with a one-line story. A mutant whose search string no
 * longer occurs exactly once in its file is reported as stale (an error), never skipped silently:
 * when code moves, the catalogue is updated with it.
 *
 * `tests` is an optional fast subset tried first; a mutant that survives it is run against the
 * whole suite, so every verdict comes from a run that would catch it.
 *
 * @module
 */

/** One mutant: an exact edit and the bug it stands for. */
export interface Mutant {
  /** Short unique id. */
  id: string;
  /** File to edit, relative to the repository root. */
  file: string;
  /** Text that must occur exactly once in the file. */
  search: string;
  /** Its replacement. */
  replace: string;
  /** The bug, in one line. */
  story: string;
  /** Test files tried first (relative to the root); the full suite runs when they pass. */
  tests?: string[];
}

const SEM = "tests/semantics_pinned_test.ts";
const CLASSIC = "tests/scenario_classic_test.ts";
const MISUSE = "tests/kernel_misuse_test.ts";

/** The catalogue. */
export const MUTANTS: readonly Mutant[] = [
  // -- slab accounting -------------------------------------------------------------------------
  {
    id: "slab-free-bytes",
    file: "core/slab.ts",
    search: "s.frees += n;\n    this.#totalBytes -= n * c.size;",
    replace: "s.frees += n;\n    this.#totalBytes -= c.size;",
    story: "slab free(n) subtracts the bytes of one object: headline byte totals drift",
    tests: [SEM],
  },
  {
    id: "slab-peak-objects",
    file: "core/slab.ts",
    search: "if (s.live > s.peak) s.peak = s.live;",
    replace: "",
    story: "per-cache peak objects never updated",
    tests: [SEM],
  },
  {
    id: "slab-peak-total",
    file: "core/slab.ts",
    search: "if (this.#totalBytes > this.#peakTotalBytes) this.#peakTotalBytes = this.#totalBytes;",
    replace: "",
    story: "peak total bytes never updated",
    tests: [SEM],
  },
  {
    id: "slab-rcu-immediate",
    file: "core/slab.ts",
    search: "if (exec) exec.callRcu(done);\n    else done();",
    replace: "done();",
    story: "an RCU-deferred free is counted as freed at once (no grace period)",
    tests: [SEM, "tests/machine_rcu_test.ts"],
  },
  // -- the oracle ------------------------------------------------------------------------------
  {
    id: "oracle-check-vacuous",
    file: "core/oracle.ts",
    search: "const out: string[] = [];\n    let ptes = 0;",
    replace: "const out: string[] = [];\n    if (out.length === 0) return out;\n    let ptes = 0;",
    story: "the oracle's cross-check with the page tables is made vacuous",
    tests: [SEM],
  },
  {
    id: "oracle-mapcount-one-way",
    file: "core/oracle.ts",
    search: "if (mc !== f.mappers.size) out.push(",
    replace: "if (mc < f.mappers.size) out.push(",
    story: "the oracle only notices a mapcount lower than the mappings, not a higher one",
    tests: [SEM],
  },
  {
    id: "walk-oracle-vacuous",
    file: "core/kernel/rmap_walk.ts",
    search: "if (!report.contended && k.params.oracleChecks) {",
    replace: "if (!report.contended && k.params.oracleChecks && found.size < 0) {",
    story: "a walk's result is never compared with the oracle",
    tests: [SEM],
  },
  // -- max_map_count ---------------------------------------------------------------------------
  {
    id: "mmap-map-count-ge",
    file: "core/kernel/mmap.ts",
    search: "if (mm.mapCount > params.maxMapCount) {",
    replace: "if (mm.mapCount >= params.maxMapCount) {",
    story: "mmap refuses at max_map_count although do_mmap lets the count reach max + 1",
    tests: [SEM],
  },
  {
    id: "split-budget-gt",
    file: "core/kernel/mprotect.ts",
    search: "if (splits > 0 && mm.mapCount + splits - 1 >= k.params.maxMapCount) {",
    replace: "if (splits > 0 && mm.mapCount + splits - 1 > k.params.maxMapCount) {",
    story: "mprotect's split budget lets a two-split change fail half-way at max_map_count",
    tests: [SEM],
  },
  {
    id: "munmap-middle-map-count",
    file: "core/kernel/mmap.ts",
    search: "if (end < first.end && mm.mapCount >= k.params.maxMapCount) {",
    replace: "if (end < first.end && mm.mapCount > k.params.maxMapCount) {",
    story: "unmapping the middle of a VMA at max_map_count is allowed",
    tests: [SEM],
  },
  {
    id: "mremap-map-count-margin",
    file: "core/kernel/mremap.ts",
    search:
      'if (mm.mapCount + 3 >= k.params.maxMapCount) {\n      throw new SyscallError("ENOMEM", sys, "too close to max_map_count");\n    }\n    vrm.newAddr = dest;',
    replace:
      'if (mm.mapCount + 2 >= k.params.maxMapCount) {\n      throw new SyscallError("ENOMEM", sys, "too close to max_map_count");\n    }\n    vrm.newAddr = dest;',
    story: "mremap's move (prep_move_vma) keeps a margin of 2 instead of 3 below max_map_count",
    tests: [SEM],
  },
  {
    id: "mremap-fixed-map-count",
    file: "core/kernel/mremap.ts",
    search: "mm.mapCount + 2 >= k.params.maxMapCount - 3",
    replace: "mm.mapCount >= k.params.maxMapCount - 3",
    story: "mremap to a fixed address forgets that both ranges may split (check_mremap_params)",
    tests: [SEM],
  },
  {
    id: "brk-map-count-after-merge",
    file: "core/kernel/mmap.ts",
    search: "  if (mm.mapCount > k.params.maxMapCount) return mm.brk;\n",
    replace: "",
    story: "brk expands its VMA beyond max_map_count (do_brk_flags checks before expanding)",
    tests: [SEM],
  },
  // -- VMA splits, merges, mremap --------------------------------------------------------------
  {
    id: "split-pgoff-off-by-one",
    file: "core/kernel/vma.ts",
    search: "nv.start = addr;\n    nv.pgoff += (addr - vma.start) / PAGE_SIZE;",
    replace: "nv.start = addr;\n    nv.pgoff += (addr - vma.start) / PAGE_SIZE + 1;",
    story: "the upper part of a split gets a pgoff off by one",
    tests: [CLASSIC],
  },
  {
    id: "split-no-rekey",
    file: "core/rmap/anon_vma.ts",
    search: "if (r.anonVma !== null) this.treeRemoveChain(r);\n" +
      "    }\n" +
      "    mutate();\n" +
      "    for (const v of vmas) {\n" +
      "      const r = this.rmapOf(v);\n" +
      "      if (r.anonVma !== null) this.treeInsertChain(r);",
    replace: "}\n    mutate();\n    for (const v of vmas) {\n      const r = this.rmapOf(v);",
    story: "the interval tree is not re-keyed when a split or merge changes a VMA's range",
    tests: [CLASSIC],
  },
  {
    id: "merge-different-anon-vma",
    file: "core/kernel/vma.ts",
    search: 'return srcAnon === tgtAnon ? null : "anon_vma";',
    replace: "return null;",
    story: "VMAs with different anon_vmas are merged",
    tests: [SEM, CLASSIC],
  },
  {
    id: "mremap-drop-last-pte",
    file: "core/kernel/mremap.ts",
    search: "const keys = mm.pages.rangeKeys(oldAddr / PAGE_SIZE, (oldAddr + len) / PAGE_SIZE);",
    replace:
      "const keys = mm.pages.rangeKeys(oldAddr / PAGE_SIZE, (oldAddr + len) / PAGE_SIZE - 1);",
    story: "mremap's move_page_tables leaves the last PTE behind",
    tests: ["tests/workloads_mremap_test.ts", CLASSIC],
  },
  {
    id: "dontfork-ignored",
    file: "core/kernel/fork.ts",
    search: "if (mpnt.flags & VM_DONTCOPY) continue;",
    replace: "",
    story: "fork copies VMAs marked MADV_DONTFORK",
    tests: [CLASSIC],
  },
  // -- faults, CoW, exclusivity, pins ----------------------------------------------------------
  {
    id: "reuse-shared-page",
    file: "core/kernel/memory.ts",
    search: "if (f.nrPages === 1) return total === 1;",
    replace: "if (f.nrPages === 1) return total >= 1;",
    story: "a write fault reuses a page still mapped by another process instead of copying it",
    tests: [CLASSIC],
  },
  {
    id: "mapcount-no-decrement",
    file: "core/kernel/pgtable.ts",
    search: "f.addPageMapcount(pte.page, -1);\n    if (f.anon) k.oracle.unmap(f, mm, addr);",
    replace: "if (f.anon) k.oracle.unmap(f, mm, addr);",
    story: "zapping a PTE forgets the folio's mapcount decrement",
    tests: [CLASSIC],
  },
  {
    id: "pin-reused-on-write",
    file: "core/kernel/memory.ts",
    search: "if (f.pinned) return false;\n  const slot",
    replace: "const slot",
    story: "a DMA-pinned page is reused on a write fault",
    tests: [SEM],
  },
  {
    id: "pin-not-copied-at-fork",
    file: "core/kernel/memory.ts",
    search: "if (f.anon && f.pageAnonExclusive(pte.page) && f.pinned) {",
    replace: "if (f.anon && f.pageAnonExclusive(pte.page) && f.pinned && f.nrPages < 0) {",
    story: "a pinned exclusive page is shared at fork instead of copied early",
    tests: [SEM],
  },
  {
    id: "fork-keeps-exclusive",
    file: "core/kernel/memory.ts",
    search: "if (f.anon) f.setPageAnonExclusive(pte.page, false);\n    let writable",
    replace: "let writable",
    story: "fork leaves PageAnonExclusive set on a page the child now maps too",
    tests: [CLASSIC, SEM],
  },
  {
    id: "fork-no-write-protect",
    file: "core/kernel/memory.ts",
    search: "if (cow && writable) {\n      pte.writable = false;",
    replace: "if (cow && writable && f.nrPages < 0) {\n      pte.writable = false;",
    story: "fork does not write-protect the parent's PTEs of a CoW mapping",
    tests: [CLASSIC, SEM],
  },
  {
    id: "mprotect-shared-writable",
    file: "core/kernel/mprotect.ts",
    search: "(pte.folio.anon && pte.folio.pageAnonExclusive(pte.page))",
    replace: "pte.folio.anon",
    story: "mprotect(PROT_WRITE) makes a shared CoW anon page writable",
    tests: [SEM],
  },
  {
    id: "read-fault-allocates",
    file: "core/kernel/memory.ts",
    search: "if (k.params.zeroPage) {\n      setPte(k, vma.mm, addr, zeroPagePte(true));",
    replace:
      "if (k.params.zeroPage && vma.start < 0) {\n      setPte(k, vma.mm, addr, zeroPagePte(true));",
    story: "a read fault of untouched anonymous memory allocates a folio instead of the zero page",
    tests: [CLASSIC],
  },
  // -- the classic anon_vma scheme -------------------------------------------------------------
  {
    id: "fork-skip-avc-link",
    file: "core/rmap/anon_vma.ts",
    search: 'cs.chain[0] = avc;\n    this.host.exec.work("list_op");\n    this.treeInsert(avc);\n',
    replace: "cs.chain.shift();\n",
    story: "anon_vma_fork never links the child's own AVC into its new anon_vma",
    tests: [CLASSIC],
  },
  {
    id: "fork-reuse-active",
    file: "core/rmap/anon_vma.ts",
    search: "if (av.numChildren < 2 && av.numActiveVmas === 0) {",
    replace: "if (av.numChildren < 2) {",
    story: "anon_vma_clone reuses an ancestor anon_vma that still has active VMAs",
    tests: [CLASSIC],
  },
  {
    id: "unlink-keeps-num-children",
    file: "core/rmap/anon_vma.ts",
    search: "av.parent.numChildren--;\n        if (one === null) chain[empties] = avc;",
    replace: "if (one === null) chain[empties] = avc;",
    story: "unlink_anon_vmas forgets to drop the parent's num_children",
    tests: [CLASSIC],
  },
  {
    id: "new-anon-not-root",
    file: "core/rmap/anon_vma.ts",
    search: "folio.rmap = exclusive ? av : av.root;",
    replace: "folio.rmap = av;",
    story: "a possibly shared new anon folio points at the VMA's anon_vma instead of the root",
    tests: [CLASSIC],
  },
  // -- the other schemes -----------------------------------------------------------------------
  {
    id: "cow-fork-drops-remap",
    file: "core/rmap/cow_context.ts",
    search: "child.rmap = true satisfies CowVmaState;\n    this.#addRange(child);",
    replace: "child.rmap = true satisfies CowVmaState;",
    story: "fork drops the child's remap-table entry of a moved VMA",
    tests: ["tests/scheme_cow_context_test.ts"],
  },
  {
    id: "cow-walk-first-context",
    file: "core/rmap/cow_context.ts",
    search: "if (this.#walkContext(root) && root.kids.size > 0) {",
    replace: "if (this.#walkContext(root) && root.kids.size < 0) {",
    story: "a CoW-context walk stops at the first context",
    tests: ["tests/scheme_cow_context_test.ts"],
  },
  {
    id: "lazy-skip-upgrade",
    file: "core/rmap/anon_vma_lazy.ts",
    search: "if (ps.lazy) this.upgrade(ps.lazy);\n",
    replace: "",
    story: "ANON_VMA_LAZY skips the upgrade of a lazy parent at fork",
    tests: ["tests/scheme_anon_vma_lazy_test.ts"],
  },
  // -- machine ---------------------------------------------------------------------------------
  {
    id: "lock-never-blocks",
    file: "core/machine/lock_state.ts",
    search: "if ((x !== null && x.queue.length > 0) || this.writer !== null) return false;\n" +
      "    return this.shared(mode) || this.#bits < READER;",
    replace: "return mode === mode;",
    story: "a lock never blocks",
    tests: ["tests/machine_lock_state_test.ts"],
  },
  // -- timed machine ---------------------------------------------------------------------------
  {
    id: "machine-event-per-step",
    file: "core/machine/machine.ts",
    search: "else ahead = t;",
    replace:
      "else {\n            events.scheduleTagged(t, EV_ADVANCE, task);\n            r.pc = pc;\n" +
      "            return;\n          }",
    story: "one event per work step again: who takes a lock first at a tie depends on how finely " +
      "the other task reported its work",
    tests: ["tests/machine_timeline_test.ts"],
  },
  {
    id: "machine-stretch-past-limit",
    file: "core/machine/machine.ts",
    search: "|| ahead > limit) break;",
    replace: ") break;",
    story:
      "a stretch runs ahead past run(until)'s limit: work starting after it is already counted",
    tests: ["tests/machine_timeline_test.ts"],
  },
  {
    id: "machine-stretch-over-lock",
    file: "core/machine/machine.ts",
    search: "if ((s !== 2 && s !== 10 && s !== 3) || ahead > limit) break;",
    replace: "if ((s !== 2 && s !== 10 && s !== 3 && s !== 4) || ahead > limit) break;",
    story: "running ahead takes a lock step too, at the stretch's start time instead of its end",
    tests: ["tests/machine_timeline_test.ts"],
  },
  {
    id: "machine-contended-not-counted",
    file: "core/machine/accounting.ts",
    search: "if (waited > 0) m.contended++;",
    replace: "",
    story: "a grant after a wait is not counted as contended",
    tests: ["tests/machine_timeline_test.ts"],
  },
  {
    id: "tree-build-height",
    file: "core/lib/augmented_tree.ts",
    search: "n.height = (p >= HEIGHT_UNIT ? p - (p & HEIGHT_MASK) : 0) + (hl > hr ? hl : hr) + 1;",
    replace: "n.height = (p >= HEIGHT_UNIT ? p - (p & HEIGHT_MASK) : 0) + hr + 1;",
    story:
      "a loaded tree's node takes its right subtree's height only (the lower one when they differ)",
    tests: ["tests/lib_augmented_tree_test.ts"],
  },
  {
    id: "gap-load-no-prev",
    file: "core/lib/gap_tree.ts",
    search: "      n.prev = pred;\n      n.maxGap = 0;",
    replace: "      n.prev = null;\n      n.maxGap = 0;",
    story: "a loaded VMA tree's items lose their predecessor links, so every max gap is wrong",
    tests: ["tests/lib_gap_tree_test.ts"],
  },
  {
    id: "fork-load-drops-last",
    file: "core/kernel/fork.ts",
    search: "child.vmas.load(vmas, m);",
    replace: "child.vmas.load(vmas, m > 1 ? m - 1 : m);",
    story: "fork accounts every copy but leaves the last one out of the child's tree",
    tests: ["tests/scenario_classic_test.ts"],
  },
  {
    id: "replay-remainder-ignored",
    file: "core/machine/machine_types.ts",
    search: "if (r === null || r.pc >= r.n) continue;",
    replace: "if (r === null || r.pc >= 0) continue;",
    story: "work figures read at a limit count the rest of the operations in flight as replayed",
    tests: ["tests/machine_replayed_work_test.ts", "tests/machine_timeline_test.ts"],
  },
  {
    id: "remainder-takes-no-lock",
    file: "core/machine/machine_types.ts",
    search: "else if (s === S_ACQUIRE) held.push(cls(code[pc + 1]));",
    replace: "else if (s === S_ACQUIRE) void cls(code[pc + 1]);",
    story: "the rest of an operation in flight is not charged to the locks it will take",
    tests: ["tests/machine_replayed_work_test.ts"],
  },
  {
    id: "untimed-work-replayed",
    file: "core/machine/recording.ts",
    search: "this.counting.countWorkUntimed(k, units);",
    replace: "this.counting.countWork(k, units);",
    story: "work done outside any operation shows in the machine's replayed work figures",
    tests: ["tests/machine_replayed_work_test.ts"],
  },
  {
    id: "failed-op-work-kept",
    file: "core/machine/recording.ts",
    search: "this.counting.markUntimed(k, units, held);",
    replace: "void held;",
    story: "the work of an operation that threw shows in the replayed work figures",
    tests: ["tests/machine_replayed_work_test.ts"],
  },
  {
    id: "release-units-dropped",
    file: "core/machine/recording.ts",
    search: "code[rec.n++] = units; // the work done under this hold",
    replace: "code[rec.n++] = 0; // the work done under this hold",
    story: "a replayed release no longer carries the work done under the hold (maxWorkPerHold 0)",
    tests: ["tests/machine_replayed_work_test.ts", "tests/machine_timeline_test.ts"],
  },
  {
    id: "step-words-rcu-lock",
    file: "core/machine/machine_types.ts",
    search: "[S_RCU_LOCK]: 1,",
    replace: "[S_RCU_LOCK]: 2,",
    story: "the decoder of unreplayed steps reads an rcu_read_lock step as two words",
    tests: ["tests/machine_replayed_work_test.ts"],
  },
  {
    id: "step-words-call-rcu",
    file: "core/machine/machine_types.ts",
    search: "[S_CALL_RCU]: 2,",
    replace: "[S_CALL_RCU]: 1,",
    story:
      "the decoder of unreplayed steps reads a call_rcu step as one word (its callback ref as a step)",
    tests: ["tests/machine_replayed_work_test.ts"],
  },
  {
    id: "step-words-trylock-fail",
    file: "core/machine/machine_types.ts",
    search: "[S_TRYLOCK_FAIL]: 3,",
    replace: "[S_TRYLOCK_FAIL]: 4,",
    story: "the decoder of unreplayed steps reads a failed trylock as four words",
    tests: ["tests/machine_replayed_work_test.ts"],
  },
  // -- hardening round 10: files that had no mutant ---------------------------------------------
  {
    id: "rcu-callback-ignores-readers",
    file: "core/machine/rcu.ts",
    search: "waiting: this.#activeSections.size,",
    replace: "waiting: 0,",
    story:
      "call_rcu callbacks run after the timer even while a reader that predates them is inside",
    tests: ["tests/machine_rcu_test.ts"],
  },
  {
    id: "rcu-gp-per-callback",
    file: "core/machine/rcu.ts",
    search: "if (now !== this.#lastGpAt) {",
    replace: "if (now === now) {",
    story: "every callback counts a grace period of its own, not every distinct instant",
    tests: ["tests/machine_rcu_test.ts"],
  },
  {
    id: "event-queue-tie-lifo",
    file: "core/machine/event_queue.ts",
    search: "if (pt < time || (pt === time && s[p] < seq)) break;",
    replace: "if (pt < time || (pt === time && s[p] > seq)) break;",
    story:
      "a new event at the time of a queued one can overtake it (ties not run in scheduling order)",
    tests: ["tests/machine_event_queue_test.ts"],
  },
  {
    id: "madvise-keeponfork-clears-dontcopy",
    file: "core/kernel/madvise.ts",
    search: "else nf &= ~VM_WIPEONFORK;",
    replace: "else nf &= ~VM_DONTCOPY;",
    story: "MADV_KEEPONFORK clears VM_DONTCOPY instead of VM_WIPEONFORK",
    tests: [CLASSIC, MISUSE],
  },
  {
    id: "madvise-wipeonfork-file",
    file: "core/kernel/madvise.ts",
    search: "if (v.file || (v.flags & VM_SHARED)) {",
    replace: "if (v.flags & VM_SHARED) {",
    story: "MADV_WIPEONFORK is accepted on a private file mapping (Linux: EINVAL)",
    tests: [CLASSIC, MISUSE],
  },
  {
    id: "ksm-shared-compatible",
    file: "core/kernel/ksm.ts",
    search: "return !(vma.flags & VM_SHARED);",
    replace: "return true;",
    story: "MADV_MERGEABLE marks a shared mapping VM_MERGEABLE (vma_ksm_compatible refuses it)",
    tests: ["tests/scenario_ksm_test.ts", "tests/ksmd_daemon_test.ts"],
  },
  {
    id: "ksm-madvise-no-enter",
    file: "core/kernel/ksm.ts",
    search: "    ksmEnter(k, vma.mm);\n    return vma.flags | VM_MERGEABLE;",
    replace: "    return vma.flags | VM_MERGEABLE;",
    story: "MADV_MERGEABLE never registers the mm with ksmd (no ksm_mm_slot)",
    tests: ["tests/scenario_ksm_test.ts", "tests/ksmd_daemon_test.ts"],
  },
  {
    id: "ksm-merge-unstable-checksum",
    file: "core/kernel/ksm.ts",
    search:
      "  if (item.oldChecksum !== content) {\n    item.oldChecksum = content;\n    return;\n  }",
    replace: "  item.oldChecksum = content;",
    story: "ksmd puts a page in the unstable tree on its first scan, not after its checksum held",
    tests: ["tests/scenario_ksm_test.ts", "tests/ksmd_daemon_test.ts"],
  },
  {
    id: "ksm-trailing-items-kept",
    file: "core/kernel/ksm.ts",
    search: "if (addr >= from && addr < to) {",
    replace: "if (addr > from && addr < to) {",
    story: "remove_trailing_rmap_items keeps the item at the cursor's own address",
    tests: ["tests/scenario_ksm_test.ts", "tests/ksmd_daemon_test.ts"],
  },
  {
    id: "av2026-alloc-under-lock",
    file: "core/rmap/anon_vma_2026.ts",
    search: "allocUnderLock: false,",
    replace: "allocUnderLock: true,",
    story: "the 2026 variant allocates its anon_vma_chains under the root rwsem again",
    tests: ["tests/scheme_anon_vma_variants_test.ts"],
  },
  {
    id: "av2026-fork-no-prealloc",
    file: "core/rmap/anon_vma_2026.ts",
    search: "forkPreallocates: true,",
    replace: "forkPreallocates: false,",
    story: "the 2026 variant's anon_vma_fork no longer allocates up front",
    tests: ["tests/scheme_anon_vma_variants_test.ts"],
  },
  {
    id: "itree-prune-touching",
    file: "core/lib/interval_tree.ts",
    search: "if (s + n.maxDelta < bounds[3]) return;",
    replace: "if (s + n.maxDelta <= bounds[3]) return;",
    story:
      "the overlap query prunes a subtree whose last interval ends exactly at the query's start",
    tests: ["tests/lib_interval_tree_test.ts"],
  },
  {
    id: "itree-stop-at-last",
    file: "core/lib/interval_tree.ts",
    search: "if (s > bounds[4]) {\n    qStop = true;",
    replace: "if (s >= bounds[4]) {\n    qStop = true;",
    story:
      "the overlap query stops before an interval that starts exactly at the query's last point",
    tests: ["tests/lib_interval_tree_test.ts"],
  },
  {
    id: "stats-quantile-floor",
    file: "core/lib/stats.ts",
    search: "const rank = Math.max(1, Math.ceil(k));",
    replace: "const rank = Math.max(1, Math.floor(k));",
    story: "nearest-rank quantile rounds the rank down (p50 of 1..3 gives 1)",
    tests: ["tests/lib_stats_test.ts"],
  },
  {
    id: "stats-quantile-fp-noise",
    file: "core/lib/stats.ts",
    search: "if (Math.abs(k - r) <= 1e-9 * Math.max(1, k)) k = r;",
    replace: "",
    story:
      "quantile ranks keep floating-point noise (0.07 x 100 ranks as 8, so the 7th percentile of 1..100 is 8)",
    tests: ["tests/lib_stats_test.ts"],
  },
  {
    id: "inf-population-variance",
    file: "reports/inference.ts",
    search: "return s / (xs.length - 1);",
    replace: "return s / xs.length;",
    story: "sample variance divides by n: every interval is too narrow",
    tests: ["tests/reports_inference_test.ts"],
  },
  {
    id: "inf-ci-df-n",
    file: "reports/inference.ts",
    search: "const half = studentTQuantile(0.5 + CONFIDENCE / 2, n - 1) * sd / Math.sqrt(n);",
    replace: "const half = studentTQuantile(0.5 + CONFIDENCE / 2, n) * sd / Math.sqrt(n);",
    story: "the mean's t-interval uses n degrees of freedom instead of n - 1",
    tests: ["tests/reports_inference_test.ts"],
  },
  {
    id: "inf-ci-one-sided",
    file: "reports/inference.ts",
    search: "const half = studentTQuantile(0.5 + CONFIDENCE / 2, n - 1) * sd / Math.sqrt(n);",
    replace: "const half = studentTQuantile(CONFIDENCE, n - 1) * sd / Math.sqrt(n);",
    story: "the mean's interval takes the one-sided 95 % quantile (a 90 % interval)",
    tests: ["tests/reports_inference_test.ts"],
  },
  {
    id: "inf-fieller-cov-sign",
    file: "reports/inference.ts",
    search: "const b = -2 * (mx * my - k * sxy);",
    replace: "const b = -2 * (mx * my + k * sxy);",
    story: "Fieller's paired interval takes the covariance with the wrong sign",
    tests: ["tests/reports_inference_test.ts"],
  },
  {
    id: "inf-welch-one-sided",
    file: "reports/inference.ts",
    search: "return 2 * studentTCdf(-Math.abs(t), df);",
    replace: "return studentTCdf(-Math.abs(t), df);",
    story: "Welch's p-value is one-sided: half what it should be",
    tests: ["tests/reports_inference_test.ts"],
  },
  {
    id: "inf-bh-step-down",
    file: "reports/inference.ts",
    search: "for (let k = 0; k < m; k++) if (idx[k][0] <= ((k + 1) / m) * q) cut = k;",
    replace: "for (let k = 0; k < m; k++) if (idx[k][0] <= ((k + 1) / m) * q) cut = k; else break;",
    story:
      "Benjamini-Hochberg stops at the first p-value over its threshold (step-down, not step-up)",
    tests: ["tests/reports_inference_test.ts"],
  },
  {
    id: "folio-inline-mapcount-unbounded",
    file: "core/kernel/folio_object.ts",
    search: "if (v >= 0 && v <= MC_MAX && (v | 0) === v) {",
    replace: "if (v >= 0 && (v | 0) === v) {",
    story: "a small folio's packed mapcount past 255 spills into the neighbouring flag bits",
    tests: ["tests/folio_object_test.ts"],
  },
  {
    id: "folio-mapped-first-page",
    file: "core/kernel/folio_object.ts",
    search: "for (const m of x.mapcount!) if (m !== 0) return true;\n    return false;",
    replace: "return x.mapcount![0] !== 0;",
    story: "folio_mapped of a large folio looks at its first page only",
    tests: ["tests/folio_object_test.ts", "tests/scenario_large_folio_test.ts"],
  },
  {
    id: "pt-resume-stale-hint",
    file: "core/kernel/page_table.ts",
    search: "const resume = hint !== null && this.#hintMods === this.#mods && hint.key === pmd;",
    replace: "const resume = hint !== null && hint.key === pmd;",
    story: "a range walk resumes from a position saved before the page table changed",
    tests: ["tests/kernel_page_table_test.ts"],
  },
  {
    id: "pt-floor-one-page",
    file: "core/kernel/page_table.ts",
    search: "tries < 2;",
    replace: "tries < 1;",
    story:
      "floor() does not look into the PTE page below when its own page has nothing at or below",
    tests: ["tests/kernel_page_table_test.ts"],
  },
  {
    id: "cow-split-end-stays-left",
    file: "core/rmap/cow_context.ts",
    search: "right.eb = e.eb;\n    e.eb = 0;",
    replace: "right.eb = 0;",
    story: "splitting a remap entry leaves the ranges that end in it counted on the left part",
    tests: [
      "tests/scheme_cow_context_table_test.ts",
      "tests/scheme_cow_context_test.ts",
      "tests/scenario_cow_questions_test.ts",
    ],
  },
  {
    id: "cow-remove-no-left-merge",
    file: "core/rmap/cow_context.ts",
    search: "if (left !== null && left.last === r.first - 1 && left.eb === 0) {",
    replace: "if (left !== null && left.last === r.first - 1 && left.eb === -1) {",
    story: "removing a remapped range never joins the entry it started in to its left neighbour",
    tests: [
      "tests/scheme_cow_context_table_test.ts",
      "tests/scheme_cow_context_test.ts",
      "tests/scenario_cow_questions_test.ts",
    ],
  },
  {
    id: "cow-remove-no-right-merge",
    file: "core/rmap/cow_context.ts",
    search: "if (right !== null && right.sb === 0) this.#merge(tail, right);",
    replace: "",
    story: "removing a remapped range never joins its right neighbour to the entry it ended in",
    tests: [
      "tests/scheme_cow_context_table_test.ts",
      "tests/scheme_cow_context_test.ts",
      "tests/scenario_cow_questions_test.ts",
    ],
  },
  {
    id: "cow-remove-shared-entry",
    file: "core/rmap/cow_context.ts",
    search: "if (e.cnt > 1) e.cnt--;",
    replace: "if (e.cnt > 2) e.cnt--;",
    story: "an entry two remapped ranges share is dropped when one of them goes",
    tests: [
      "tests/scheme_cow_context_table_test.ts",
      "tests/scheme_cow_context_test.ts",
      "tests/scenario_cow_questions_test.ts",
    ],
  },
  {
    id: "cow-shortcut-large-folio",
    file: "core/rmap/cow_context.ts",
    search: 'if (stop && (mode === "poc" || folio.nrPages === 1)) {',
    replace: "if (stop) {",
    story: "the found-mode shortcut stops before an exclusive large folio's own moved part",
    tests: ["tests/scenario_cow_questions_test.ts", "tests/property_schemes_test.ts"],
  },
  {
    id: "cow-spill-at-stack-size",
    file: "core/rmap/cow_context.ts",
    search: "if (unique > WALK_DEFAULT_STACK_SIZE) {",
    replace: "if (unique >= WALK_DEFAULT_STACK_SIZE) {",
    story: "a walk with exactly 16 remap offsets allocates the spill array it does not need",
    tests: [
      "tests/scheme_cow_context_table_test.ts",
      "tests/scheme_cow_context_test.ts",
      "tests/scenario_cow_questions_test.ts",
    ],
  },
  {
    id: "cow-large-shared-same-mm",
    file: "core/rmap/cow_context.ts",
    search: "if (mm && m.mm !== mm) return true;",
    replace: "if (mm) return true;",
    story: "a large folio mapped twice by one mm counts as mapped shared (CONFIG_MM_ID counts mms)",
    tests: [
      "tests/scheme_cow_context_table_test.ts",
      "tests/scheme_cow_context_test.ts",
      "tests/scenario_cow_questions_test.ts",
    ],
  },
  {
    id: "cow-shared-new-anon-own",
    file: "core/rmap/cow_context.ts",
    search: 'if (!exclusive && this.options.sharedNewAnon === "root") ctx = this.#rootOf(ctx);',
    replace: "",
    story:
      "a new anon folio that may be shared is put in the faulting mm's context, not the root's",
    tests: [
      "tests/scheme_cow_context_table_test.ts",
      "tests/scheme_cow_context_test.ts",
      "tests/scenario_cow_questions_test.ts",
    ],
  },
  {
    id: "per-av-remove-no-own-lock",
    file: "core/rmap/anon_vma_per_av_lock.ts",
    search: "if (av.isRoot) return super.treeRemove(avc);",
    replace: "if (av) return super.treeRemove(avc);",
    story: "the per-anon_vma-lock variant removes AVCs without the anon_vma's own lock",
    tests: ["tests/anon_vma_compact_test.ts", "tests/scheme_anon_vma_variants_test.ts"],
  },
  // -- reports ---------------------------------------------------------------------------------
  {
    id: "csv-swap-columns",
    file: "reports/csv.ts",
    search: "w?.visits.p50,\n        w?.visits.p99,",
    replace: "w?.visits.p99,\n        w?.visits.p50,",
    story: "the runs CSV swaps the walk visits p50 and p99 columns",
    tests: ["tests/reports_csv_test.ts"],
  },
  {
    id: "compare-ignores-regression",
    file: "reports/compare.ts",
    search: "else if (p.entry.current > p.entry.baseline) cmp.regressions.push(p.entry);",
    replace: "else if (p.entry.current > p.entry.baseline) cmp.unchanged++;",
    story: "compare counts a regression as unchanged",
    tests: ["tests/reports_compare_test.ts"],
  },
  {
    id: "compare-threshold-doubled",
    file: "reports/compare.ts",
    search: "Math.abs(delta) > threshold * Math.abs(base)",
    replace: "Math.abs(delta) > 2 * threshold * Math.abs(base)",
    story: "compare tolerates twice the threshold it prints",
    tests: ["tests/reports_thresholds_test.ts", "tests/reports_compare_test.ts"],
  },
  {
    id: "html-no-escape-lt",
    file: "reports/html_template.ts",
    search: 'case "<":\n        return "&lt;";',
    replace: 'case "<":\n        return "<";',
    story: "the HTML report does not escape < in strings from input",
    tests: ["tests/reports_html_test.ts"],
  },
  {
    id: "recorder-peak-bytes-live",
    file: "runner/recorder.ts",
    search: "peakBytes[c] = s.peak * kernel.slab.sizes[c];",
    replace: "peakBytes[c] = s.live * kernel.slab.sizes[c];",
    story: "the recorder reports peak bytes from the final live count",
    tests: [SEM, "tests/reports_results_test.ts"],
  },
  {
    id: "walk-useless-is-visits",
    file: "core/kernel/rmap_walk.ts",
    search: "useless: visits - hits,",
    replace: "useless: visits,",
    story: "useless visits counted as every visit",
    tests: [CLASSIC],
  },
  // -- input validation ------------------------------------------------------------------------
  {
    id: "munmap-no-task-size-check",
    file: "core/kernel/validate.ts",
    search: "if (len < 0 || len > taskSize - addr) {",
    replace: "if (len < 0) {",
    story: "munmap of a length beyond TASK_SIZE unmaps everything above addr instead of EINVAL",
    tests: [MISUSE],
  },
  {
    id: "exited-process-accepted",
    file: "core/kernel/validate.ts",
    search: 'if (!m.alive) throw new SyscallError("ESRCH", sys, `process ${m.id} has exited`);',
    replace: "",
    story: "syscalls on an exited process are accepted (brk creates a VMA that leaks)",
    tests: [MISUSE],
  },
  // -- second batch: accounting details, walks, locks, renderers ------------------------------
  {
    id: "referenced-never-stops",
    file: "core/kernel/rmap_walk.ts",
    search: "remaining--;\n    return remaining > 0;",
    replace: "remaining--;\n    return true;",
    story: "folio_referenced does not stop once mapcount mappings were found",
    tests: [CLASSIC],
  },
  {
    id: "maple-nodes-no-gaps",
    file: "core/kernel/maple.ts",
    search: "let level = Math.ceil((2 * n + 1) / per);",
    replace: "let level = Math.ceil(n / per);",
    story: "the maple_node estimate forgets the gap entries between VMAs",
    tests: [SEM],
  },
  {
    id: "vma-rare-changed-in-place",
    file: "core/kernel/vma_tree.ts",
    search: "    this.#ext = new VmaRare(size, flags, file, d);",
    replace:
      '    if (typeof x !== "number") Object.assign(x, { size, flags, file, pgoffDelta: d });\n' +
      "    else this.#ext = new VmaRare(size, flags, file, d);",
    story: "a VMA's side object, shared with its fork copy, is changed in place: mprotect or a " +
      "split of one VMA moves the other",
    tests: ["tests/kernel_vma_fields_test.ts"],
  },
  {
    id: "swap-slot-count-kept",
    file: "core/kernel/memory.ts",
    search: "detachPte(mm, vpn);\n  slot.count--;",
    replace: "detachPte(mm, vpn);",
    story: "a swap-in forgets to drop its reference on the swap slot",
    tests: [SEM, CLASSIC],
  },
  {
    id: "execve-stack-short",
    file: "core/kernel/fork.ts",
    search: "const len = k.params.stackPages * PAGE_SIZE;",
    replace: "const len = (k.params.stackPages - 1) * PAGE_SIZE;",
    story: "execve maps a stack one page short of params.stackPages",
    tests: [SEM, CLASSIC],
  },
  {
    id: "wipeonfork-keeps-anon",
    file: "core/kernel/fork.ts",
    search: "if (!wipe) k.scheme.fork(tmp, mpnt);",
    replace: "k.scheme.fork(tmp, mpnt);",
    story: "a MADV_WIPEONFORK VMA's child copy is linked into the parent's anon_vma hierarchy",
    tests: [CLASSIC],
  },
  {
    id: "mprotect-no-account",
    file: "core/kernel/mprotect.ts",
    search: "nf |= VM_ACCOUNT; // mprotect_fixup charges a private mapping made writable",
    replace: "// (VM_ACCOUNT not charged)",
    story: "mprotect(PROT_WRITE) of a private read-only mapping does not set VM_ACCOUNT",
    tests: [SEM, CLASSIC],
  },
  {
    id: "lock-wakes-one-reader",
    file: "core/machine/lock_state.ts",
    search: "while (q.length > 0 && this.shared(q[0].mode)) {",
    replace: "if (q.length > 0 && this.shared(q[0].mode)) {",
    story: "releasing an rwsem wakes only the first of the queued readers",
    tests: ["tests/machine_lock_state_test.ts"],
  },
  {
    id: "per-av-lock-uses-root",
    file: "core/rmap/anon_vma_per_av_lock.ts",
    search: "if (exclusive && !av.isRoot) {",
    replace: "if (exclusive && !av.isRoot && av.id < 0) {",
    story: "the per-anon_vma-lock scheme never takes the own lock on a walk",
    tests: ["tests/scheme_anon_vma_variants_test.ts"],
  },
  {
    id: "anon-vma-sweep-keeps-tail",
    file: "core/rmap/anon_vma.ts",
    search: "    this.#liveTail = this.#unlinkFreed();\n    this.#liveFreed = 0;",
    replace: "    this.#unlinkFreed();\n    this.#liveFreed = 0;",
    story:
      "the live anon_vma list's sweep leaves the tail on a dropped anon_vma: later ones are lost",
    tests: ["tests/anon_vma_compact_test.ts"],
  },
  {
    id: "append-stops-on-height-alone",
    file: "core/lib/augmented_tree.ts",
    search: "if (top === n && !changed && (n.height & HEIGHT_MASK) === h) {",
    replace: "if (top === n && (n.height & HEIGHT_MASK) === h) {",
    story: "an append stops climbing once a height is unchanged, leaving ancestors' max-gap stale",
    tests: ["tests/lib_augmented_tree_test.ts", "tests/lib_gap_tree_test.ts"],
  },
  {
    id: "markdown-pipe-unescaped",
    file: "reports/markdown.ts",
    search: ".replace(/[\\\\`*_{}[\\]()#+!|~]/g, (c) => `\\\\${c}`)",
    replace: ".replace(/[\\\\`*_{}[\\]()#+!~]/g, (c) => `\\\\${c}`)",
    story: "markdown tables do not escape | in strings from input",
    tests: ["tests/reports_markdown_test.ts"],
  },
];
