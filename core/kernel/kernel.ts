/**
 * The simulated kernel's facade: the system-call API that workloads, tests and tools use. Each
 * method takes the locks and opens the operation that Linux's syscall entry would, and calls the
 * mm/-shaped modules of this folder, which call the rmap scheme's hooks where Linux calls their
 * counterparts:
 *
 * | module | stands for |
 * |---|---|
 * | state.ts | the kernel's globals (ids, counters, LRU, swap cache) |
 * | pgtable.ts | PTE install/remove, page-table pages |
 * | folio.ts | folio allocation/freeing, LRU, swap cache, page cache |
 * | vma.ts | mm/vma.c: merge (`vma_merge_struct`), split, `vma_modify` |
 * | mmap.ts | mm/mmap.c: `do_mmap`, `do_brk_flags`, munmap, `exit_mmap` |
 * | mprotect.ts, madvise.ts, mlock.ts | mm/mprotect.c, mm/madvise.c, mm/mlock.c |
 * | memory.ts | mm/memory.c: faults, `copy_page_range` |
 * | fork.ts | kernel/fork.c: `mm_init`, `dup_mmap`; exit and execve |
 * | mremap.ts | mm/mremap.c (`vma_remap_struct`), RELOCATE_ANON |
 * | rmap_walk.ts | mm/rmap.c walks: `folio_referenced`, `try_to_unmap`, migration |
 *
 * Semantics follow Linux 6.18 as described in the reference (`docs/model.md` §3–§9, §12). Each
 * deviation is named where it is made.
 *
 * Scheme hooks called here: `attach` (through {@link newKernelState}), `check` (invariants).
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import type { Exec, OpKind } from "../machine/exec.ts";
import type { Slab } from "../slab.ts";
import type { Oracle } from "../oracle.ts";
import type { RmapScheme } from "../rmap/scheme.ts";
import type { KernelParams } from "./params.ts";
import {
  type KernelOptions,
  type KernelState,
  newKernelState,
  type WalkListener,
} from "./state.ts";
import { createFile, lruScan } from "./folio.ts";
import { mincore } from "./mincore.ts";
import { OpScope } from "./op_scope.ts";
import { type Access, handleMmFault, markUserWrite, populateRange } from "./memory.ts";
import { doBrk, doMmap, isAligned, munmapRange, pageAlignUp } from "./mmap.ts";
import { doMprotect } from "./mprotect.ts";
import { madvise, vectorMadvise } from "./madvise.ts";
import {
  applyMlockallFlags,
  applyVmaLockFlags,
  checkMlockallFlags,
  lockRange,
  mlock2Flags,
} from "./mlock.ts";
import { dupMm, execMm, exitMm, newMm } from "./fork.ts";
import { doMremap, vrmNew } from "./mremap.ts";
import { ksmDoScan, ksmSetContent } from "./ksm.ts";
import { folioReferenced, migrateFolio, tryToUnmap } from "./rmap_walk.ts";
import { UFFD_FEATURE_MOVE, UFFD_FEATURE_SIGBUS, Userfaultfd } from "./userfaultfd.ts";
import {
  mmProblems,
  requireInteger,
  validateBrk,
  validateFolio,
  validateKernelOptions,
  validateMm,
  validateMmap,
  validateMremap,
  validateMunmap,
  validatePin,
  validateProcessMadvise,
  validateRangeOp,
  validateTouch,
  validateUserfaultfd,
} from "./validate.ts";
import {
  type Folio,
  type MadviseRange,
  MAP_LOCKED,
  MAP_NONBLOCK,
  MAP_POPULATE,
  MCL_CURRENT,
  type Mm,
  PAGE_SHIFT,
  PAGE_SIZE,
  type Pte,
  type SimFile,
  SyscallError,
  VM_LOCKED,
  VM_LOCKED_MASK,
} from "./types.ts";

export type { Access } from "./memory.ts";
export type { MergeFailReason } from "./vma.ts";
export type { KernelOptions, WalkListener, WalkResult } from "./state.ts";

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
  readonly oracle: Oracle;
  /** Kernel counters (faults, merges, splits...), by name. */
  readonly counters: Record<string, number>;
  /** Live processes' mms, in creation order. */
  readonly mms: Map<number, Mm>;

  #k: KernelState;
  /** The open operation (op_scope.ts). */
  readonly #ops: OpScope;

  /** Creates a kernel running `scheme`. */
  constructor(opts: KernelOptions) {
    validateKernelOptions(opts);
    const k = newKernelState(opts);
    this.#k = k;
    this.params = k.params;
    this.scheme = k.scheme;
    this.exec = k.exec;
    this.slab = k.slab;
    this.oracle = k.oracle;
    this.counters = k.counters;
    this.mms = k.mms;
    this.#ops = new OpScope(k.exec, () => {
      if (this.params.debugChecks) this.assertInvariants();
    });
  }

  /** Subscribes to every walk's figures. */
  onWalk(fn: WalkListener): void {
    this.#k.walkListeners.push(fn);
  }

  /** Runs a system call as one operation (nested calls join the outer one). */
  #op<T>(kind: OpKind, mm: Mm | null, fn: () => T): T {
    const outer = this.#ops.begin(kind, mm);
    try {
      return fn();
    } catch (e) {
      throw this.#ops.failed(outer, e);
    } finally {
      this.#ops.end(outer);
    }
  }

  // The frequent calls spell #op and #mmapLocked out as begin, try, end (the same steps in the
  // same order), without the two closures per call (and a boxed address in their context).

  /** Runs `fn` with `mm->mmap_lock` held for write (every syscall that changes VMAs). */
  #mmapLocked<T>(mm: Mm, fn: () => T): T {
    this.exec.acquire(mm.mmapLock, "write");
    try {
      return fn();
    } finally {
      this.exec.release(mm.mmapLock, "write");
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Folios and page tables

  /** Live anonymous folios (order of this array changes as folios are freed). */
  get liveAnonFolios(): readonly Folio[] {
    return this.#k.liveAnon;
  }

  /**
   * Takes up to `n` of the oldest folios off the anon LRU and puts them back at the young end
   * (each is rotated, whatever the caller decides), oldest first: reclaim's inactive-list scan.
   */
  lruScan(n: number): Folio[] {
    return lruScan(this.#k, n);
  }

  /** The PTE mapping `addr` in `mm`, if any. */
  pte(mm: Mm, addr: number): Pte | undefined {
    return mm.pages.get(Math.floor(addr / PAGE_SIZE));
  }

  /** Pins (or unpins) a folio as `pin_user_pages` would (DMA). */
  setPinned(folio: Folio, pinned: boolean): void {
    validatePin(folio, pinned);
    folio.pinned = pinned;
  }

  // ---------------------------------------------------------------------------------------------
  // Processes

  /** Creates a simulated file (or shmem object) of `sizePages` pages. */
  createFile(name: string, sizePages: number, shmem = false): SimFile {
    return createFile(this.#k, name, sizePages, shmem);
  }

  /** Creates a new process with an empty address space (like a freshly exec'd init, without a stack). */
  spawn(): Mm {
    return this.#op("execve", null, () => newMm(this.#k, null));
  }

  /** `fork()`: returns the child's mm (`dup_mmap`, reference §4). */
  fork(parent: Mm): Mm {
    validateMm(this.mms, parent, "fork");
    const outer = this.#ops.begin("fork", parent);
    try {
      return dupMm(this.#k, parent);
    } catch (e) {
      throw this.#ops.failed(outer, e);
    } finally {
      this.#ops.end(outer);
    }
  }

  /** `exit_mmap` + process exit. */
  exit(mm: Mm): void {
    validateMm(this.mms, mm, "exit");
    const outer = this.#ops.begin("exit", mm);
    try {
      exitMm(this.#k, mm);
    } catch (e) {
      throw this.#ops.failed(outer, e);
    } finally {
      this.#ops.end(outer);
    }
  }

  /**
   * `execve()`: the process gets a new mm (the old one is torn down as at exit) with a fresh
   * stack VMA of `params.stackPages` pages; the fork hierarchy is left.
   */
  execve(mm: Mm): Mm {
    validateMm(this.mms, mm, "execve");
    return this.#op("execve", mm, () => execMm(this.#k, mm));
  }

  // ---------------------------------------------------------------------------------------------
  // Memory-management system calls

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
    const outer = this.#ops.begin("mmap", mm);
    try {
      let start: number;
      this.exec.acquire(mm.mmapLock, "write");
      try {
        start = doMmap(this.#k, mm, addr, len, prot, flags, file, offset);
      } finally {
        this.exec.release(mm.mmapLock, "write");
      }
      // do_mmap: MAP_POPULATE without MAP_NONBLOCK asks for mm_populate after the mapping is
      // made (the write lock dropped; each fault takes the read lock).
      // So does a locked mapping (MAP_LOCKED, or mlockall(MCL_FUTURE)'s def_flags) unless it is
      // locked on fault: "(vm_flags & (VM_LOCKED|VM_LOCKONFAULT)) == VM_LOCKED".
      const lock = ((mm.defFlags ?? 0) | (flags & MAP_LOCKED ? VM_LOCKED : 0)) & VM_LOCKED_MASK;
      if (((flags & MAP_POPULATE) && !(flags & MAP_NONBLOCK)) || lock === VM_LOCKED) {
        populateRange(this.#k, mm, start, pageAlignUp(len));
      }
      return start;
    } catch (e) {
      throw this.#ops.failed(outer, e);
    } finally {
      this.#ops.end(outer);
    }
  }

  /** `munmap(addr, len)`. */
  munmap(mm: Mm, addr: number, len: number): void {
    validateMunmap(this.mms, this.params.taskSize, mm, addr, len);
    const outer = this.#ops.begin("munmap", mm);
    try {
      this.exec.acquire(mm.mmapLock, "write");
      try {
        if (!isAligned(addr)) throw new SyscallError("EINVAL", "munmap", "addr not page aligned");
        if (!Number.isInteger(len) || len <= 0) {
          throw new SyscallError("EINVAL", "munmap", "bad length");
        }
        munmapRange(this.#k, mm, addr, addr + pageAlignUp(len), "munmap");
      } finally {
        this.exec.release(mm.mmapLock, "write");
      }
    } catch (e) {
      throw this.#ops.failed(outer, e);
    } finally {
      this.#ops.end(outer);
    }
  }

  /** `mprotect(addr, len, prot)`. */
  mprotect(mm: Mm, addr: number, len: number, prot: number): void {
    validateRangeOp(this.mms, "mprotect", mm, addr, len, prot);
    this.#op(
      "mprotect",
      mm,
      () => this.#mmapLocked(mm, () => doMprotect(this.#k, mm, addr, len, prot)),
    );
  }

  /**
   * `madvise(addr, len, advice)` for DONTNEED, DONTNEED_LOCKED, FREE, COLD, PAGEOUT, WILLNEED,
   * NORMAL/RANDOM/SEQUENTIAL, DONTFORK/DOFORK, WIPEONFORK/KEEPONFORK, DONTDUMP/DODUMP,
   * HUGEPAGE/NOHUGEPAGE, MERGEABLE/UNMERGEABLE (KSM) and GUARD_INSTALL/GUARD_REMOVE, under
   * `mmap_lock` in `get_lock_mode`'s mode (madvise.ts).
   */
  madvise(mm: Mm, addr: number, len: number, advice: number): void {
    validateRangeOp(this.mms, "madvise", mm, addr, len, advice);
    this.#op("madvise", mm, () => madvise(this.#k, mm, addr, len, advice));
  }

  /**
   * `process_madvise(pidfd, iov, vlen, advice, flags)` by `caller` on `target`'s ranges: the
   * bytes advised (madvise.ts `vectorMadvise` gives the rules: MADV_COLD, MADV_PAGEOUT and
   * MADV_WILLNEED only on another process; the first failing range ends the call).
   */
  processMadvise(
    caller: Mm,
    target: Mm,
    iov: readonly MadviseRange[],
    advice: number,
    flags = 0,
  ): number {
    validateProcessMadvise(this.mms, caller, target, iov, advice, flags);
    return this.#op(
      "madvise",
      caller,
      () => vectorMadvise(this.#k, caller, target, iov, advice),
    );
  }

  /**
   * `brk(newBrk)`: returns the resulting break (unchanged on failure, as Linux does). After
   * `mlockall(MCL_FUTURE)` the heap's new pages are faulted in (`mm->def_flags & VM_LOCKED`).
   */
  brk(mm: Mm, newBrk: number): number {
    validateBrk(this.mms, mm, newBrk);
    return this.#op("brk", mm, () => {
      const oldEnd = pageAlignUp(mm.brk);
      const r = this.#mmapLocked(mm, () => doBrk(this.#k, mm, newBrk));
      // brk(): populate [oldbrk, newbrk) once do_brk_flags grew the heap, with the lock dropped.
      const newEnd = pageAlignUp(r);
      if (((mm.defFlags ?? 0) & VM_LOCKED) && r === newBrk && newEnd > oldEnd) {
        populateRange(this.#k, mm, oldEnd, newEnd - oldEnd);
      }
      return r;
    });
  }

  /**
   * `mlock(addr, len)`: the range gets VM_LOCKED (VMAs split at its ends), then its pages are
   * faulted in as `__mm_populate` does (write faults where private and writable: CoW is broken).
   * ENOMEM when part of the range is not mapped or is PROT_NONE (after the VMAs before it were
   * locked, as on Linux).
   */
  mlock(mm: Mm, addr: number, len: number): void {
    this.#mlock(mm, addr, len, 0, "mlock");
  }

  /**
   * `mlock2(addr, len, flags)`: {@link Kernel.mlock}, or with MLOCK_ONFAULT the range gets
   * VM_LOCKED and VM_LOCKONFAULT and nothing is faulted in. EINVAL for another flag.
   */
  mlock2(mm: Mm, addr: number, len: number, flags: number): void {
    this.#mlock(mm, addr, len, flags, "mlock2");
  }

  /** `do_mlock` for {@link Kernel.mlock} and {@link Kernel.mlock2}. */
  #mlock(mm: Mm, addr: number, len: number, flags: number, sys: "mlock" | "mlock2"): void {
    validateRangeOp(this.mms, sys, mm, addr, len, flags);
    this.#op("mlock", mm, () => {
      const lockFlags = mlock2Flags(flags);
      if (len < 0) throw new SyscallError("EINVAL", sys, "bad length");
      const [start, size] = lockRange(addr, len);
      this.#mmapLocked(mm, () => applyVmaLockFlags(this.#k, mm, start, size, lockFlags, sys));
      populateRange(this.#k, mm, start, size, sys);
    });
  }

  /** `munlock(addr, len)`: the range loses VM_LOCKED and VM_LOCKONFAULT (VMAs merge back). */
  munlock(mm: Mm, addr: number, len: number): void {
    validateRangeOp(this.mms, "munlock", mm, addr, len, 0);
    this.#op("mlock", mm, () => {
      if (len < 0) throw new SyscallError("EINVAL", "munlock", "bad length");
      const [start, size] = lockRange(addr, len);
      this.#mmapLocked(mm, () => applyVmaLockFlags(this.#k, mm, start, size, 0, "munlock"));
    });
  }

  /**
   * `mlockall(flags)` (MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT): MCL_FUTURE locks what is mapped
   * later (`mm->def_flags`), MCL_CURRENT every VMA now, then faults every page in (errors
   * ignored) unless MCL_ONFAULT.
   */
  mlockall(mm: Mm, flags: number): void {
    validateMm(this.mms, mm, "mlockall");
    requireInteger("mlockall", "flags", flags);
    this.#op("mlock", mm, () => {
      checkMlockallFlags(flags);
      this.#mmapLocked(mm, () => applyMlockallFlags(this.#k, mm, flags));
      // mm_populate(0, TASK_SIZE): errors ignored.
      if (flags & MCL_CURRENT) populateRange(this.#k, mm, 0, this.params.taskSize);
    });
  }

  /** `munlockall()`: no VMA locked, and no later mapping either. */
  munlockall(mm: Mm): void {
    validateMm(this.mms, mm, "munlockall");
    this.#op("mlock", mm, () => this.#mmapLocked(mm, () => applyMlockallFlags(this.#k, mm, 0)));
  }

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
    return this.#op("mremap", mm, () => {
      // check_prep_vma: growing a VM_LOCKED VMA asks for its new part to be populated after
      // the move or expansion (do_mremap's mm_populate, the write lock dropped).
      const grow = pageAlignUp(newLen) - pageAlignUp(oldLen);
      const locked = grow > 0 && ((mm.vmas.find(oldAddr)?.flags ?? 0) & VM_LOCKED) !== 0;
      const r = doMremap(this.#k, mm, vrmNew(oldAddr, oldLen, newLen, flags, newAddr));
      if (locked) populateRange(this.#k, mm, r + pageAlignUp(oldLen), grow);
      return r;
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Faults

  /**
   * A user access to `addr` with Linux fault semantics (reference §5): zero page on a read of
   * untouched anonymous memory, a new exclusive folio on a write, CoW copy or reuse on a write
   * to a write-protected page. Throws EFAULT (SIGSEGV) for an access outside any VMA or without
   * permission. `value` is the content id a write leaves in the page (default: unique content);
   * KSM merges only pages with equal content ids.
   */
  touch(mm: Mm, addr: number, access: Access, value?: number): void {
    validateTouch(this.mms, mm, addr, access, value);
    if (access === "write" && (value !== undefined || this.#k.ksm)) {
      // The page's content after the write (ksm.ts): `value`, or unique content.
      this.#touch(mm, addr, access);
      ksmSetContent(this.#k, mm, addr, value);
      return;
    }
    this.#touch(mm, addr, access);
  }

  #touch(mm: Mm, addr: number, access: Access): void {
    if (!mm.alive) throw new SyscallError("EFAULT", "touch", "process has exited");
    const page = Math.floor(addr / PAGE_SIZE) * PAGE_SIZE;
    const pte = mm.pages.get(page / PAGE_SIZE);
    if (
      pte !== undefined && (pte.kind === "present" || pte.kind === "zero") && !pte.protNone &&
      (access === "read" || pte.writable)
    ) {
      // Present and permitted: no fault; the hardware sets the accessed (and dirty) bit.
      pte.young = true;
      if (access === "write" && pte.kind === "present") markUserWrite(pte);
      return;
    }
    const outer = this.#ops.begin("fault", mm);
    try {
      handleMmFault(this.#k, mm, page, access);
    } catch (e) {
      throw this.#ops.failed(outer, e);
    } finally {
      this.#ops.end(outer);
    }
  }

  /**
   * One ksmd wake (`ksm_do_scan`): scans up to `pages` (default `params.ksmPagesToScan`) pages of
   * the VM_MERGEABLE VMAs and merges identical content. Returns the pages scanned.
   */
  ksmdScan(pages: number = this.params.ksmPagesToScan): number {
    if (!Number.isInteger(pages) || pages < 1) {
      throw new RangeError(`ksmdScan: pages must be a positive integer, got ${pages}`);
    }
    return this.#op("ksm_scan", null, () => ksmDoScan(this.#k, pages));
  }

  // ---------------------------------------------------------------------------------------------
  // Rmap walks

  /**
   * `folio_referenced`: reclaim aging. Read-trylock; stops once `folio_mapcount` mappings were
   * found, or at a mapping in a VM_LOCKED VMA (then `out.vmFlags` gets VM_LOCKED: reclaim keeps
   * the folio); clears young bits. Returns the number of VMAs with a young mapping of the folio,
   * or -1 when contended.
   */
  folioReferenced(folio: Folio, out?: { vmFlags: number }): number {
    validateFolio("folioReferenced", folio);
    const outer = this.#ops.begin("walk_referenced", null);
    try {
      return folioReferenced(this.#k, folio, out);
    } catch (e) {
      throw this.#ops.failed(outer, e);
    } finally {
      this.#ops.end(outer);
    }
  }

  /** `mincore(addr, len)`: 1 per resident page (mincore.ts); a query, taking no simulated time. */
  mincore(mm: Mm, addr: number, len: number): Uint8Array {
    validateRangeOp(this.mms, "mincore", mm, addr, len, 0);
    return mincore(mm, addr, len);
  }

  /**
   * `userfaultfd(O_CLOEXEC)` and `UFFDIO_API` with `features` (default MOVE | SIGBUS; the model
   * needs SIGBUS): the context, whose methods are the ioctls (userfaultfd.ts). One per mm.
   */
  userfaultfd(mm: Mm, features: number = UFFD_FEATURE_MOVE | UFFD_FEATURE_SIGBUS): Userfaultfd {
    validateUserfaultfd(this.mms, mm, features, this.#k.uffd?.has(mm) === true);
    const ctx = new Userfaultfd(this.#k, mm, features, this.#ops);
    (this.#k.uffd ??= new Map()).set(mm, ctx);
    return ctx;
  }

  /**
   * `try_to_unmap`: reclaim eviction (blocking read lock): mappings become swap entries (clean
   * MADV_FREE ones dropped); the folio is freed or swap-cached (`swapSyncIo`). True if unmapped.
   */
  tryToUnmap(folio: Folio): boolean {
    validateFolio("tryToUnmap", folio);
    return this.#op("walk_unmap", null, () => tryToUnmap(this.#k, folio));
  }

  /**
   * Migration of one folio: `try_to_migrate` then `remove_migration_ptes`, two walks under the
   * blocking read lock. The simulated folio keeps its identity (the new folio inherits
   * `mapping` and `index`, so the rmap state is the same).
   */
  migrateFolio(folio: Folio): void {
    validateFolio("migrateFolio", folio);
    this.#op("walk_migrate", null, () => migrateFolio(this.#k, folio));
  }

  // ---------------------------------------------------------------------------------------------
  // Checks

  /** Checks kernel and scheme invariants; throws with every violation found. */
  assertInvariants(): void {
    const problems: string[] = [];
    for (const mm of this.mms.values()) problems.push(...mmProblems(mm));
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
