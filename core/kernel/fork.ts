/**
 * Address spaces and their life: a new mm, `fork` (`dup_mm` → `dup_mmap`), exit (`mmput` →
 * `exit_mmap`) and `execve` (a fresh mm with a stack VMA).
 *
 * Stands for `kernel/fork.c` (`mm_init`, `dup_mm`, `dup_mmap`), `kernel/exit.c` (`exit_mm`) and
 * `fs/exec.c` (`exec_mmap`, `setup_arg_pages`), reference §4.
 *
 * Scheme hooks called here: `mmInit` (a new mm), `vmaInit` and `fork` (`anon_vma_fork`, per
 * copied VMA that is not VM_WIPEONFORK), `hasAnon` (`vma_needs_copy`, with VM_MAYBE_GUARD);
 * through memory.ts (`copy_page_range`) `addNewAnon`; through mmap.ts (`exit_mmap`) `unlink` and
 * `mmTeardown`.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import { ksmExit, ksmFork } from "./ksm.ts";
import { newLock } from "../machine/exec.ts";
import { RangeBTree } from "../lib/range_btree.ts";
import { PageTable } from "./page_table.ts";
import { countEvent, type KernelState } from "./state.ts";
import { copyPageRange } from "./memory.ts";
import { doMmap, exitMmap } from "./mmap.ts";
import { vmaDup, vmaLinkAccount } from "./vma_tree.ts";
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_GROWSDOWN,
  MAP_PRIVATE,
  type Mm,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
  SyscallError,
  VM_DONTCOPY,
  VM_LOCKED_MASK,
  VM_MAYBE_GUARD,
  VM_UFFD_MISSING,
  VM_WIPEONFORK,
  type Vma,
} from "./types.ts";

/**
 * `mm_alloc` + `mm_init`: a new, empty address space, registered as live; `parent` is the mm it
 * is forked from (null for a fresh process).
 *
 * @example Usage
 * ```ts ignore
 * const mm = newMm(k, null);
 * ```
 */
export function newMm(k: KernelState, parent: Mm | null): Mm {
  k.slab.alloc("mm_struct");
  const id = k.nextMmId++;
  const mm: Mm = {
    id,
    parent,
    vmas: new RangeBTree<Vma>(),
    pages: new PageTable(),
    ptePages: new Map(),
    emptyTables: undefined,
    hugePmds: undefined,
    mmapLock: newLock("mmap_lock", "rwsem"),
    pageTableLock: newLock("page_table_lock", "spinlock"),
    mapCount: 0,
    startBrk: k.params.startBrk,
    brk: k.params.startBrk,
    mmapBase: k.params.mmapBase,
    // mm_init: the parent's def_flags & VM_INIT_DEF_MASK (VM_NOHUGEPAGE, which the model never
    // puts there): mlockall(MCL_FUTURE) is not inherited, nor kept across execve.
    defFlags: 0,
    alive: true,
    rmap: null,
  };
  k.mms.set(id, mm);
  k.scheme.mmInit(mm, parent);
  return mm;
}

/**
 * The parent's VMAs {@link dupMm} copies, filled by index (the array keeps its room from fork to
 * fork; each slot is set to null as its VMA is taken). Nothing a copy calls forks.
 */
const forkVmas: (Vma | null)[] = [];
/** VMAs {@link forkVmas} keeps room for. */
const FORK_VMAS_KEEP = 16384;

/**
 * `dup_mm` + `dup_mmap` (reference §4): the child's mm with a copy of every VMA of `parent`
 * except VM_DONTCOPY ones, both mmap_locks held for write. VM_WIPEONFORK VMAs are copied empty.
 *
 * @example Usage
 * ```ts ignore
 * const child = dupMm(k, parent);
 * ```
 */
export function dupMm(k: KernelState, parent: Mm): Mm {
  if (!parent.alive) throw new SyscallError("EINVAL", "fork", "process has exited");
  const child = newMm(k, parent);
  ksmFork(k, child, parent);
  child.startBrk = parent.startBrk;
  child.brk = parent.brk;
  child.mmapBase = parent.mmapBase;
  k.exec.acquire(parent.mmapLock, "write");
  k.exec.acquire(child.mmapLock, "write");
  const n = parent.vmas.fillArray(forkVmas as Vma[]);
  dupVmas(k, child, n);
  if (n > FORK_VMAS_KEEP) forkVmas.length = 0;
  k.exec.release(child.mmapLock, "write");
  k.exec.release(parent.mmapLock, "write");
  countEvent(k, "forks");
  return child;
}

/**
 * `dup_mmap`'s loop: copies the first `n` VMAs of {@link forkVmas} into `child`. A function of
 * its own (a speed measure only): compiled on the stack during the first long fork, its code
 * then ends in a return, not in the rest of {@link dupMm}, which that fork had not yet run and
 * whose every later fork would leave the compiled loop again (a deoptimization each).
 */
/** The VMA flags a fork child's copy loses. */
const CHILD_CLEARS = VM_LOCKED_MASK | VM_UFFD_MISSING;

function dupVmas(k: KernelState, child: Mm, n: number): void {
  const vmas = forkVmas as Vma[];
  // The copies fill forkVmas from the front (m <= i: a slot is read before it is reused), and
  // enter the child's tree at once at the end, as `__mt_dup` copies the parent's maple tree
  // whole before the loop stores each copy; each is accounted as it is made (vmaLinkAccount).
  let m = 0;
  for (let i = 0; i < n; i++) {
    const mpnt = vmas[i];
    forkVmas[i] = null;
    const flags = mpnt.flags;
    if (flags & VM_DONTCOPY) continue;
    const tmp = vmaDup(k, mpnt, child);
    // dup_mmap: vm_flags_clear(tmp, VM_LOCKED_MASK): a child's memory is not locked; and
    // dup_userfaultfd without UFFD_FEATURE_EVENT_FORK resets the child's userfaultfd context.
    if (flags & CHILD_CLEARS) tmp.flags = flags & ~CHILD_CLEARS;
    k.scheme.vmaInit(tmp);
    const wipe = (flags & VM_WIPEONFORK) !== 0;
    if (!wipe) k.scheme.fork(tmp, mpnt);
    vmaLinkAccount(k, tmp);
    forkVmas[m++] = tmp;
    // vma_needs_copy: anon state, or guard markers a fault would not bring back.
    if (!wipe && (k.scheme.hasAnon(mpnt) || (flags & VM_MAYBE_GUARD) !== 0)) {
      copyPageRange(k, tmp, mpnt);
    }
  }
  child.vmas.load(vmas, m);
  for (let i = 0; i < m; i++) forkVmas[i] = null;
}

/** Tears the mm down and forgets it (the part of exit and execve that drops the old mm). */
function dropMm(k: KernelState, mm: Mm): void {
  ksmExit(k, mm);
  k.uffd?.delete(mm); // the context goes with its mm
  exitMmap(k, mm);
  mm.alive = false;
  k.mms.delete(mm.id);
  k.slab.free("mm_struct");
}

/**
 * Process exit: `exit_mm` → `mmput` → `exit_mmap`; the mm is no longer live.
 *
 * @example Usage
 * ```ts ignore
 * exitMm(k, mm);
 * ```
 */
export function exitMm(k: KernelState, mm: Mm): void {
  if (!mm.alive) throw new SyscallError("EINVAL", "exit", "process has already exited");
  dropMm(k, mm);
  countEvent(k, "exits");
}

/**
 * `execve`: the old mm is torn down as at exit and the process gets a new mm (outside the fork
 * hierarchy) with a stack VMA of `params.stackPages` pages below `TASK_SIZE`.
 *
 * @example Usage
 * ```ts ignore
 * const nm = execMm(k, mm);
 * ```
 */
export function execMm(k: KernelState, mm: Mm): Mm {
  if (!mm.alive) throw new SyscallError("EINVAL", "execve", "process has exited");
  dropMm(k, mm);
  const nm = newMm(k, null);
  const len = k.params.stackPages * PAGE_SIZE;
  const top = k.params.taskSize;
  doMmap(
    k,
    nm,
    top - len,
    len,
    PROT_READ | PROT_WRITE,
    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_GROWSDOWN,
    null,
    0,
  );
  return nm;
}
