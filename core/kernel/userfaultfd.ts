/**
 * userfaultfd as far as the anon rmap sees it (fs/userfaultfd.c and mm/userfaultfd.c, Linux 6.18;
 * docs/model.md §12.8): a context per mm, `UFFDIO_REGISTER` and `UFFDIO_UNREGISTER` in missing
 * mode (`VM_UFFD_MISSING` on the VMAs of the range, split and merged like any VMA flag), a
 * missing fault in a registered VMA answered with SIGBUS (`UFFD_FEATURE_SIGBUS`: the model has no
 * handler thread to wake), and `UFFDIO_MOVE`, which moves exclusive anonymous pages between the
 * mm's VMAs without copying them. A moved folio gets the destination's anon_vma
 * (`folio_move_anon_rmap`) and a new `folio->index` (`linear_page_index` of its new address): with
 * the write-fault reuse and the proposed `MREMAP_RELOCATE_ANON`, one of the ways a folio's rmap
 * identity changes after it was first mapped. ART's garbage collector is the user it was written
 * for (the UFFDIO_MOVE series, Andrea Arcangeli and Suren Baghdasaryan, Linux 6.8).
 *
 * Not modelled: write-protect and minor modes (`UFFDIO_REGISTER_MODE_WP`/`_MINOR`), shmem and
 * hugetlb ranges, the fault, fork, remap, remove and unmap events (features other than
 * `UFFD_FEATURE_MOVE` and `UFFD_FEATURE_SIGBUS`), `UFFDIO_CONTINUE`, more than one context per
 * mm. `UFFDIO_COPY` and `UFFDIO_ZEROPAGE` fill missing pages (what Android 16's ART uses; the
 * bytes copied are not modelled). A 2 MiB that one PMD entry maps moves whole where it can
 * (huge_memory.ts `moveHugePmd`).
 *
 * Scheme hooks called here: `prepare` (`find_vma_and_prepare_anon`), `moveLock` (the anon_vma
 * lock of a batch of moves), `moveAnon` (`folio_move_anon_rmap`), `addNewAnon`
 * (`folio_add_new_anon_rmap` of a copied or zeroed page); `splitFolio` through folio.ts.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import type { Lock } from "../machine/exec.ts";
import type { OpScope } from "./op_scope.ts";
import type { KernelState } from "./state.ts";
import { countEvent } from "./state.ts";
import { allocFolio, splitFolio } from "./folio.ts";
import { moveHugePmd, uffdMovesHugePmd } from "./huge_memory.ts";
import {
  attachPte,
  detachPte,
  PMD_SIZE,
  presentPte,
  pteTableIndex,
  setPte,
  zeroPagePte,
} from "./pgtable.ts";
import {
  type Folio,
  hex,
  linearPageIndex,
  type Mm,
  PAGE_SIZE,
  SyscallError,
  VM_ACCESS_FLAGS,
  VM_LOCKED,
  VM_SHARED,
  VM_UFFD_MISSING,
  VM_WRITE,
  type Vma,
  vmaIsAnonymous,
} from "./types.ts";
import { vmaModifyFlags } from "./vma.ts";

/** `UFFD_FEATURE_SIGBUS`: a missing fault raises SIGBUS instead of waiting for a handler. */
export const UFFD_FEATURE_SIGBUS = 1 << 7;
/** `UFFD_FEATURE_MOVE`: `UFFDIO_MOVE` is available (Linux 6.8). */
export const UFFD_FEATURE_MOVE = 1 << 16;
/** `UFFDIO_REGISTER_MODE_MISSING`: faults on pages never populated go to the context. */
export const UFFDIO_REGISTER_MODE_MISSING = 1;
/** `UFFDIO_REGISTER_MODE_WP`: write-protect tracking (not modelled). */
export const UFFDIO_REGISTER_MODE_WP = 2;
/** `UFFDIO_REGISTER_MODE_MINOR`: minor faults (shmem and hugetlb only). */
export const UFFDIO_REGISTER_MODE_MINOR = 4;
/** `UFFDIO_MOVE_MODE_DONTWAKE`: do not wake the faulting threads (none in the model). */
export const UFFDIO_MOVE_MODE_DONTWAKE = 1;
/** `UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES`: an empty source page is skipped, not ENOENT. */
export const UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES = 2;
/** `UFFDIO_COPY_MODE_DONTWAKE`: do not wake the faulting threads (none in the model). */
export const UFFDIO_COPY_MODE_DONTWAKE = 1;
/** `UFFDIO_COPY_MODE_WP`: map write-protected (needs WP registration: EINVAL in the model). */
export const UFFDIO_COPY_MODE_WP = 2;
/** `UFFDIO_ZEROPAGE_MODE_DONTWAKE`: do not wake the faulting threads (none in the model). */
export const UFFDIO_ZEROPAGE_MODE_DONTWAKE = 1;

/** The userfaultfd context of each mm that has one (`struct userfaultfd_ctx`). */
export type UffdContexts = Map<Mm, Userfaultfd>;

/** `validate_range`/`validate_unaligned_range`: a page-aligned, non-empty user range. */
function validateRange(k: KernelState, sys: string, start: number, len: number): void {
  if (!Number.isInteger(start) || !Number.isInteger(len)) {
    throw new TypeError(`${sys}: start and len must be integers`);
  }
  if (start % PAGE_SIZE !== 0 || len % PAGE_SIZE !== 0 || len <= 0) {
    throw new SyscallError("EINVAL", sys, "range not page aligned or empty");
  }
  // Unsigned in Linux: a negative start is a huge one, beyond TASK_SIZE.
  if (start < 0 || start >= k.params.taskSize || len > k.params.taskSize - start) {
    throw new SyscallError("EINVAL", sys, "range beyond TASK_SIZE");
  }
}

/**
 * An open userfaultfd of one mm, with the ioctls the model implements as methods. Made by
 * `Kernel.userfaultfd`; each method is one operation under the facade's scope.
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
 * const uffd = k.userfaultfd(mm);
 * uffd.register(a + 2 * 4096, 2 * 4096);
 * if (uffd.move(a + 2 * 4096, a, 4096) !== 4096) throw new Error();
 * ```
 */
export class Userfaultfd {
  #closed = false;
  /** What the last {@link Userfaultfd.move} wrote to `uffdio_move.move`: bytes, or −errno. */
  moved = 0;
  /**
   * What the last {@link Userfaultfd.copy} or {@link Userfaultfd.zeropage} wrote to
   * `uffdio_copy.copy` or `uffdio_zeropage.zeropage`: bytes, or −errno.
   */
  filled = 0;

  /** A context of `mm` with `features` (see `Kernel.userfaultfd`). */
  constructor(
    private readonly k: KernelState,
    readonly mm: Mm,
    readonly features: number,
    private readonly ops: OpScope,
  ) {}

  /** False once closed (or once its mm exited). */
  get open(): boolean {
    return !this.#closed && this.mm.alive;
  }

  #run<T>(sys: string, write: boolean, fn: () => T): T {
    if (this.#closed) throw new SyscallError("EBADF", sys, "userfaultfd is closed");
    if (!this.mm.alive) throw new SyscallError("ESRCH", sys, "its mm has exited");
    const outer = this.ops.begin("userfaultfd", this.mm);
    const mode = write ? "write" : "read";
    try {
      this.k.exec.acquire(this.mm.mmapLock, mode);
      try {
        return fn();
      } finally {
        this.k.exec.release(this.mm.mmapLock, mode);
      }
    } catch (e) {
      throw this.ops.failed(outer, e);
    } finally {
      this.ops.end(outer);
    }
  }

  /**
   * `UFFDIO_REGISTER` of `[start, start + len)` in missing mode (`userfaultfd_register`): EINVAL
   * for a mode of none or unknown bits, MINOR on anonymous memory, an unaligned or empty range,
   * a range with no VMA, or one with a VMA `vma_can_userfault` refuses (a file mapping); holes
   * are skipped. Each VMA of the range gets `VM_UFFD_MISSING` (split at the range's ends,
   * merged with its neighbours), under `mmap_lock` for write.
   */
  register(start: number, len: number, mode: number = UFFDIO_REGISTER_MODE_MISSING): void {
    const sys = "UFFDIO_REGISTER";
    requireMode(sys, mode);
    if (
      mode & ~(UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP | UFFDIO_REGISTER_MODE_MINOR)
    ) {
      throw new SyscallError("EINVAL", sys, `unknown mode bits in ${mode}`);
    }
    if (mode === 0) throw new SyscallError("EINVAL", sys, "no mode");
    if (mode & UFFDIO_REGISTER_MODE_WP) {
      throw new RangeError(`${sys}: UFFDIO_REGISTER_MODE_WP is not modelled`);
    }
    validateRange(this.k, sys, start, len);
    this.#run(sys, true, () => this.#setFlag(sys, start, start + len, mode));
  }

  /**
   * `UFFDIO_UNREGISTER` of `[start, start + len)`: the same checks as {@link register}; each VMA
   * of the range loses `VM_UFFD_MISSING` and may merge back with its neighbours.
   */
  unregister(start: number, len: number): void {
    const sys = "UFFDIO_UNREGISTER";
    validateRange(this.k, sys, start, len);
    this.#run(sys, true, () => this.#setFlag(sys, start, start + len, 0));
  }

  #setFlag(sys: string, start: number, end: number, mode: number): void {
    const vmas = this.mm.vmas.intersecting(start, end);
    if (vmas.length === 0) throw new SyscallError("EINVAL", sys, `no VMA in ${hex(start)}`);
    for (const v of vmas) {
      if (v.file !== null && v.file.shmem) {
        throw new RangeError(`${sys}: userfaultfd on shmem is not modelled`);
      }
      // vma_can_userfault: anonymous memory (shmem and hugetlb are the others); MINOR mode
      // needs shmem or hugetlb.
      if (!vmaIsAnonymous(v) || (mode & UFFDIO_REGISTER_MODE_MINOR) !== 0) {
        throw new SyscallError("EINVAL", sys, `VMA at ${hex(v.start)} cannot userfault`);
      }
    }
    for (const v of vmas) {
      const nf = mode === 0 ? v.flags & ~VM_UFFD_MISSING : v.flags | VM_UFFD_MISSING;
      if (nf !== v.flags) {
        vmaModifyFlags(this.k, v, Math.max(start, v.start), Math.min(end, v.end), nf, sys);
      }
    }
  }

  /**
   * `UFFDIO_MOVE` of `len` bytes from `src` to `dst` (`move_pages`), under `mmap_lock` for read.
   * Returns `len`. EINVAL for an unknown mode or an unaligned or empty range; ENOENT when no VMA
   * holds `dst` (which otherwise gets an anon_vma first, even when the move then fails) or
   * `src`; EINVAL unless both ranges lie in one VMA each, both VMAs are private, anonymous and
   * writable with the same access flags and VM_LOCKED, and the destination is registered with
   * this context. Then page by page: EEXIST when the destination page is not empty, ENOENT for
   * an empty source page (skipped with {@link UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES}), EBUSY for a
   * page that is not PageAnonExclusive, a KSM or pinned folio or a large folio that cannot be
   * split, EFAULT for a guard marker. A failure after some pages moved is EAGAIN, with the bytes
   * moved in {@link moved}.
   */
  move(dst: number, src: number, len: number, mode = 0): number {
    const sys = "UFFDIO_MOVE";
    requireMode(sys, mode);
    this.moved = 0;
    if (mode & ~(UFFDIO_MOVE_MODE_DONTWAKE | UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES)) {
      throw new SyscallError("EINVAL", sys, `unknown mode bits in ${mode}`);
    }
    validateRange(this.k, sys, src, len);
    validateRange(this.k, sys, dst, len);
    let moved = 0;
    try {
      moved = this.#run(sys, false, () => movePages(this.k, this, dst, src, len, mode));
    } catch (e) {
      if (e instanceof SyscallError) {
        this.moved = -errnoOf(e);
        countEvent(this.k, "uffd_move_failed");
      }
      throw e;
    }
    this.moved = moved;
    if (moved !== len) {
      countEvent(this.k, "uffd_move_failed");
      throw new SyscallError("EAGAIN", sys, `moved ${moved} of ${len} bytes`);
    }
    return moved;
  }

  /**
   * `UFFDIO_COPY` of `len` bytes to `dst` (`mfill_atomic_copy`): each page a new exclusive
   * anonymous folio holding bytes copied from the caller (the model has no contents), mapped
   * dirty, and writable in a writable VMA. Returns `len`. EINVAL for an unknown mode or an
   * unaligned or empty range; ENOENT when no VMA holds `dst` (which otherwise gets an anon_vma
   * first, even when the copy then fails) or the range leaves it, or it is not registered;
   * EINVAL for {@link UFFDIO_COPY_MODE_WP} (no VMA is registered for write-protect). Then page by
   * page: EEXIST unless the entry is empty or a marker (a guard marker is overwritten:
   * `pte_none_mostly`). A failure after some pages is EAGAIN, with the bytes in {@link filled}.
   */
  copy(dst: number, len: number, mode = 0): number {
    return this.#fill(
      "UFFDIO_COPY",
      dst,
      len,
      mode,
      UFFDIO_COPY_MODE_DONTWAKE | UFFDIO_COPY_MODE_WP,
    );
  }

  /**
   * `UFFDIO_ZEROPAGE` of `len` bytes at `dst` (`mfill_atomic_zeropage`): each page the shared
   * zero page, or, where the kernel forbids it (`kernel.zeroPage` false), a new zeroed exclusive
   * folio as {@link copy} maps one. The same errors as {@link copy}, except that only an empty
   * entry is filled (`pte_none`: a guard marker is EEXIST).
   */
  zeropage(dst: number, len: number, mode = 0): number {
    return this.#fill("UFFDIO_ZEROPAGE", dst, len, mode, UFFDIO_ZEROPAGE_MODE_DONTWAKE);
  }

  #fill(sys: string, dst: number, len: number, mode: number, modes: number): number {
    requireMode(sys, mode);
    this.filled = 0;
    if (mode & ~modes) throw new SyscallError("EINVAL", sys, `unknown mode bits in ${mode}`);
    validateRange(this.k, sys, dst, len);
    let done = 0;
    try {
      done = this.#run(sys, false, () => fillPages(this.k, this.mm, sys, dst, len, mode));
    } catch (e) {
      if (e instanceof SyscallError) this.filled = -errnoOf(e);
      throw e;
    }
    this.filled = done;
    if (done !== len) throw new SyscallError("EAGAIN", sys, `filled ${done} of ${len} bytes`);
    return done;
  }

  /**
   * Closes the context (`userfaultfd_release`): every VMA of the mm loses `VM_UFFD_MISSING` and
   * may merge with its neighbours. Closing twice does nothing.
   */
  close(): void {
    if (!this.open) {
      this.#closed = true;
      return;
    }
    this.#run("close", true, () => {
      for (const v of [...this.mm.vmas]) {
        if (v.flags & VM_UFFD_MISSING) {
          vmaModifyFlags(this.k, v, v.start, v.end, v.flags & ~VM_UFFD_MISSING, "close");
        }
      }
    });
    this.#closed = true;
    this.k.uffd?.delete(this.mm);
  }
}

/** A mode argument: an integer (TypeError otherwise). */
function requireMode(sys: string, mode: number): void {
  if (!Number.isInteger(mode) || mode < 0) throw new TypeError(`${sys}: mode must be an integer`);
}

/** Linux errno numbers of the errors a move reports in `uffdio_move.move`. */
const ERRNO_NUMBERS: Readonly<Record<string, number>> = {
  ENOENT: 2,
  EAGAIN: 11,
  ENOMEM: 12,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  EINVAL: 22,
  ESRCH: 3,
};

function errnoOf(e: SyscallError): number {
  return ERRNO_NUMBERS[e.errno] ?? 0;
}

/**
 * `find_vma_and_prepare_anon`: the VMA holding `addr` (ENOENT without one), given an anon_vma
 * unless it is shared, before the caller checks whether the ioctl may use it.
 */
function findVmaAndPrepareAnon(k: KernelState, mm: Mm, sys: string, addr: number): Vma {
  const vma = mm.vmas.find(addr);
  if (!vma) throw new SyscallError("ENOENT", sys, `no VMA at ${hex(addr)}`);
  if (!(vma.flags & VM_SHARED)) k.scheme.prepare(vma);
  return vma;
}

/**
 * `mfill_atomic` for {@link Userfaultfd.copy} and {@link Userfaultfd.zeropage}:
 * `uffd_mfill_lock` (`find_vma_and_prepare_anon`, then `validate_dst_vma`), the mode check, and
 * the page loop; returns the bytes filled (the error of the first page that fails is thrown
 * when none was).
 */
function fillPages(
  k: KernelState,
  mm: Mm,
  sys: string,
  dst: number,
  len: number,
  mode: number,
): number {
  const vma = findVmaAndPrepareAnon(k, mm, sys, dst);
  if (dst + len > vma.end || !(vma.flags & VM_UFFD_MISSING)) {
    throw new SyscallError("ENOENT", sys, `${hex(dst)}+${len} not in one registered VMA`);
  }
  if (sys === "UFFDIO_COPY" && mode & UFFDIO_COPY_MODE_WP) {
    throw new SyscallError("EINVAL", sys, "the VMA is not registered for write-protect");
  }
  const copy = sys === "UFFDIO_COPY";
  let done = 0;
  for (let addr = dst; addr < dst + len; addr += PAGE_SIZE) {
    const old = mm.pages.get(addr / PAGE_SIZE);
    // mfill_atomic_install_pte: pte_none_mostly (a marker is overwritten); the zero page's
    // install: pte_none.
    if (old !== undefined && (!copy || old.kind !== "guard")) {
      if (done > 0) return done;
      throw new SyscallError("EEXIST", sys, `a populated page at ${hex(addr)}`);
    }
    if (!copy && k.params.zeroPage) {
      setPte(k, mm, addr, zeroPagePte(true));
      countEvent(k, "uffd_zeropage_pages");
    } else {
      const f = allocFolio(k, true, linearPageIndex(vma, addr), null);
      k.exec.work(copy ? "page_copy" : "page_zero");
      f.setPageAnonExclusive(0, true);
      k.scheme.addNewAnon(f, vma, addr, true);
      const writable = (vma.flags & VM_WRITE) !== 0;
      // UFFDIO_ZEROPAGE without the zero page: a page of zeroes (KSM merges such pages).
      setPte(k, mm, addr, presentPte(f, 0, writable, true, false, true, !copy));
      countEvent(k, copy ? "uffd_copy_pages" : "uffd_zeropage_pages");
    }
    done += PAGE_SIZE;
  }
  return done;
}

/**
 * `find_vma_and_prepare_anon`, `validate_move_areas` and the page loop of `move_pages`; returns
 * the bytes moved (the error of the first page that fails is thrown when none moved).
 */
function movePages(
  k: KernelState,
  ctx: Userfaultfd,
  dst: number,
  src: number,
  len: number,
  mode: number,
): number {
  const sys = "UFFDIO_MOVE", mm = ctx.mm;
  const dstVma = findVmaAndPrepareAnon(k, mm, sys, dst);
  const srcVma = src >= dstVma.start && src < dstVma.end ? dstVma : mm.vmas.find(src);
  if (!srcVma) throw new SyscallError("ENOENT", sys, `no VMA at ${hex(src)}`);
  const why = moveAreasInvalid(srcVma, dstVma, src, dst, len);
  if (why !== null) throw new SyscallError("EINVAL", sys, why);
  let moved = 0;
  const batch = new MoveBatch(k);
  try {
    for (let off = 0; off < len;) {
      let step = PAGE_SIZE;
      try {
        // A 2 MiB one PMD entry maps moves whole (move_pages_huge_pmd) or is split first.
        if (uffdMovesHugePmd(mm, dst + off, src + off, len - off)) {
          batch.end();
          moveHugePmd(k, mm, dstVma, dst + off, src + off);
          step = PMD_SIZE;
        } else movePage(k, mm, dstVma, dst + off, src + off, mode, batch);
      } catch (e) {
        if (moved > 0 && e instanceof SyscallError) return moved;
        throw e;
      }
      moved += step;
      off += step;
    }
  } finally {
    batch.end();
  }
  return moved;
}

/**
 * The rmap lock `move_pages_ptes` holds over a batch of present pages (the scheme's `moveLock`,
 * for write; "userfaultfd: opportunistic TLB-flush batching for present pages in MOVE", Lokesh
 * Gidra, v3 of 2025-08-07, taken to be in 6.18 [U]): taken for a batch's first page and kept
 * while the next source page holds a small exclusive folio of the same anon_vma that moves to the
 * next destination page, both within the page tables the batch started in. Any other page ends it.
 */
class MoveBatch {
  #lock: Lock | null = null;
  #rmap: unknown = null;
  /** The source page that continues the batch, the distance to its destination, the tables. */
  #next = -1;
  #delta = 0;
  #srcTable = -1;
  #dstTable = -1;

  constructor(private readonly k: KernelState) {}

  /** Holds the lock for moving small folio `f` from page `svpn` to page `dvpn`. */
  hold(f: Folio, svpn: number, dvpn: number): void {
    const goesOn = this.#next === svpn && f.rmap === this.#rmap && dvpn - svpn === this.#delta &&
      pteTableIndex(svpn) === this.#srcTable && pteTableIndex(dvpn) === this.#dstTable;
    if (!goesOn) {
      this.end();
      const l = this.k.scheme.moveLock?.(f) ?? null;
      if (l !== null) this.k.exec.acquire(l, "write");
      this.#lock = l;
      this.#rmap = f.rmap;
      this.#delta = dvpn - svpn;
      this.#srcTable = pteTableIndex(svpn);
      this.#dstTable = pteTableIndex(dvpn);
      countEvent(this.k, "uffd_move_batches");
    }
    this.#next = svpn + 1;
  }

  /** Ends the batch: releases its lock. */
  end(): void {
    if (this.#lock !== null) this.k.exec.release(this.#lock, "write");
    this.#lock = null;
    this.#next = -1;
  }
}

/** Why `move_pages` refuses the two VMAs (its checks and `validate_move_areas`'), or null. */
function moveAreasInvalid(s: Vma, d: Vma, src: number, dst: number, len: number): string | null {
  if ((s.flags | d.flags) & VM_SHARED) return "a shared VMA";
  if (src + len > s.end || dst + len > d.end) return "a range is not inside one VMA";
  if ((s.flags & VM_ACCESS_FLAGS) !== (d.flags & VM_ACCESS_FLAGS)) return "access flags differ";
  if ((s.flags & VM_LOCKED) !== (d.flags & VM_LOCKED)) return "VM_LOCKED differs";
  if (!(s.flags & VM_WRITE)) return "not writable";
  if (!(d.flags & VM_UFFD_MISSING)) return "destination not registered with this userfaultfd";
  if (!vmaIsAnonymous(s) || !vmaIsAnonymous(d)) return "not anonymous";
  return null;
}

/** `move_pages_pte` for one page. */
function movePage(
  k: KernelState,
  mm: Mm,
  dstVma: Vma,
  dst: number,
  src: number,
  mode: number,
  batch: MoveBatch,
): void {
  const sys = "UFFDIO_MOVE";
  const dvpn = dst / PAGE_SIZE, svpn = src / PAGE_SIZE;
  if (mm.pages.get(dvpn) !== undefined) {
    throw new SyscallError("EEXIST", sys, `destination ${hex(dst)} is populated`);
  }
  const pte = mm.pages.get(svpn);
  if (pte?.kind !== "present") batch.end(); // a batch runs over present pages only
  if (pte === undefined) {
    if (mode & UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES) return;
    throw new SyscallError("ENOENT", sys, `no page at ${hex(src)}`);
  }
  const busy = (why: string) => new SyscallError("EBUSY", sys, `${why} at ${hex(src)}`);
  switch (pte.kind) {
    case "zero": // move_zeropage_pte
      detachPte(mm, svpn);
      attachPte(mm, dvpn, zeroPagePte(true));
      break;
    case "present": {
      const f = pte.folio;
      // PageAnonExclusive(&folio->page): the folio's first page, before any split.
      if (!f.anon || f.ksm || !f.pageAnonExclusive(0)) throw busy("a shared page");
      if (f.nrPages > 1) {
        // split_folio, then `goto retry`: the page's own small folio, or the zero page the split
        // mapped for a page that held zeroes (remap_page), moved by move_zeropage_pte.
        if (!splitFolio(k, f)) throw busy("a large folio that cannot be split");
        return movePage(k, mm, dstVma, dst, src, mode, batch);
      }
      if (f.pinned) throw busy("a pinned folio");
      batch.hold(f, svpn, dvpn);
      // move_present_pte: folio_move_anon_rmap, the new index, the PTE made writable in the
      // destination with its dirty bit kept ("mm: userfaultfd: correct dirty flags set for both
      // present and swap pte", 2025).
      detachPte(mm, svpn);
      k.oracle.unmap(f, mm, src);
      k.scheme.moveAnon(f, dstVma);
      f.index = linearPageIndex(dstVma, dst);
      const zf = pte.zeroFilled === true; // the data moves with the page
      attachPte(mm, dvpn, presentPte(f, 0, true, true, false, pte.dirty === true, zf));
      k.oracle.map(f, mm, dst);
      break;
    }
    case "swap": {
      // move_pages_pte: only an exclusive entry (pte_swp_exclusive: a fork's copy cleared it,
      // for good), and not one whose swap-cache folio is large.
      const slot = pte.swap, c = slot.cached;
      if (pte.exclusive !== true) throw busy("a shared swap entry");
      if (c !== null && c.nrPages > 1) throw busy("a large folio in the swap cache");
      if (c !== null) {
        k.scheme.moveAnon(c, dstVma);
        c.index = linearPageIndex(dstVma, dst);
      }
      attachPte(mm, dvpn, detachPte(mm, svpn)!);
      break;
    }
    default: // a guard marker: a non-swap entry other than a migration entry
      throw new SyscallError("EFAULT", sys, `a guard marker at ${hex(src)}`);
  }
  k.exec.work("pte_update", 2);
  countEvent(k, "uffd_move_pages"); // entries moved (a skipped hole is not one)
}
