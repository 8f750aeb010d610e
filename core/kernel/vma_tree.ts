/**
 * VMA allocation and the mm's VMA tree: `vm_area_alloc`/`vm_area_dup`/`vm_area_free`, linking
 * and unlinking with `map_count` and `maple_node` accounting (`maple.ts`), and range changes of
 * linked VMAs under the scheme's locks (`vma_prepare` … `vma_complete`).
 *
 * Stands for `kernel/fork.c` (`vm_area_alloc`, `vm_area_dup`, `vm_area_free`), the tree half of
 * `mm/vma.c` (`vma_link`, `vma_iter_store`/`vma_iter_clear`, `vma_prepare`, `vma_complete`).
 *
 * Scheme hooks called here: `adjust` (every change of start, end or pgoff of a linked VMA).
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import { updateMaple } from "./maple.ts";
import type { KernelState } from "./state.ts";
import type { Mm, SimFile, Vma } from "./types.ts";
import { PAGE_SIZE, PMD_SIZE } from "./types.ts";
import {
  Exact,
  FLAG_BITS,
  FLAG_MASK,
  flagRef,
  flagValues,
  offsetFrom,
  packExtent,
  pgoffAt,
  pgoffRef,
  regionBasePage,
  sameOffset,
  startRef,
  VmaRare,
} from "./vma_pack.ts";

/**
 * A VMA as the kernel core allocates it: the {@link Vma} fields, one object per VMA with a fixed
 * shape. It carries no tree links: the mm's VMA tree (`RangeBTree`, core/lib/range_btree.ts)
 * holds the VMAs in its nodes' slots, as the kernel's maple tree does.
 *
 * Kept small (V8 without pointer compression boxes every number that is not a 32-bit integer
 * in a 16-byte HeapNumber): `start` is held as a page offset in its 64 GiB region and the
 * region's index in a table shared by all VMAs; the size in pages and the index of `flags` in a
 * table of the flags values seen share one small integer; `pgoff` is `start / PAGE_SIZE`.
 * A VMA whose size or flags do not pack, a file VMA and one whose `pgoff` differs (a moved
 * one, kept as a distance from `start / PAGE_SIZE`) hold size, flags, file and pgoff in a side
 * object instead. `detached` is the sign of the stored id (a freed VMA keeps `~id`). Fields that hold
 * numbers never held a double first, so that V8 keeps small integers in them unboxed; a value
 * that does not fit is kept as itself. Each of `start`, `end`, `pgoff` and `flags` reads and
 * writes like a plain field: setting one leaves the others as they were.
 *
 * @example Usage
 * ```ts
 * import { KernelVma } from "./vma_tree.ts";
 * import type { Mm } from "./types.ts";
 * const v = new KernelVma(1, {} as Mm, 0x1000, 0x3000, 1, 0, null);
 * if (v.detached || v.rmap !== null) throw new Error();
 * v.start = 0x2000;
 * if (v.end !== 0x3000 || v.pgoff !== 1) throw new Error();
 * ```
 */
export class KernelVma implements Vma {
  /** Unique id (allocation order). */
  #id: number;
  /** Owning mm. */
  readonly mm: Mm;
  /** `vm_start`, as {@link startRef} gives it. */
  #startRef: number | Exact;
  /** Size and flags as {@link packExtent} gives them, or the side object. */
  #ext: number | VmaRare;
  /** Scheme-owned rmap state. */
  rmap: unknown = null;
  /** A VMA not in any tree, with no scheme state. */
  constructor(
    id: number,
    mm: Mm,
    start: number,
    end: number,
    pgoff: number,
    flags: number,
    file: SimFile | null,
    copyOf: KernelVma | null = null,
  ) {
    this.#id = id;
    this.mm = mm;
    // A field's first value decides its V8 representation: a non-number first keeps later
    // small integers unboxed (a number first would make the field "double" once any value is
    // not one, and box it in every VMA).
    this.#ext = null as unknown as number;
    if (copyOf === null) {
      this.#startRef = startRef(start);
      const size = offsetFrom(end, start);
      const p = file === null ? packExtent(size, flagRef(flags)) : -1;
      const base = start / PAGE_SIZE;
      if (p >= 0 && Object.is(pgoff, base)) this.#ext = p;
      else this.#ext = new VmaRare(size, flags, file, pgoffRef(pgoff, base));
    } else {
      this.#startRef = copyOf.#startRef;
      this.#ext = copyOf.#ext; // a side object is shared (see VmaRare)
    }
  }

  /** `vm_start`. */
  get start(): number {
    // The getters' fast paths spell the packing constants as literals (checked against the
    // named ones at load) and leave the rare forms to helpers: short bytecode, so that V8 inlines
    // them into the hot tree code, where the result stays an unboxed double.
    const r = this.#startRef;
    return typeof r === "number" ? (regionBasePage[r & 127] + (r >> 7)) * 4096 : r.v;
  }
  set start(v: number) {
    const end = this.end;
    const pgoff = this.pgoff;
    this.#startRef = startRef(v);
    this.setSize(offsetFrom(end, v));
    this.storePgoff(pgoff, v);
  }

  /** `vm_end`. */
  get end(): number {
    const x = this.#ext, r = this.#startRef;
    // `start + pages * PAGE_SIZE`: every term an integer and the sum below 2^53 (see startRef).
    if (typeof x === "number" && typeof r === "number") {
      return (regionBasePage[r & 127] + (r >> 7) + (x >> 7)) * 4096;
    }
    return this.endSlow();
  }
  set end(v: number) {
    this.setSize(offsetFrom(v, this.start));
  }
  /** {@link KernelVma.end} as a method (the VMA tree's `Range.endOf`; see {@link KernelVma.startOf}). */
  endOf(): number {
    const x = this.#ext, r = this.#startRef;
    if (typeof r === "number") {
      const page = regionBasePage[r & 127] + (r >> 7);
      if (typeof x === "number") return (page + (x >> 7)) * 4096;
      // A file VMA: its start plus the size in its side object.
      const s = x.size;
      if (typeof s === "number") return page * 4096 + s;
    }
    return this.endSlow();
  }

  /** {@link KernelVma.end} of a VMA with a side object or an unpacked start. */
  private endSlow(): number {
    const x = this.#ext;
    if (typeof x === "number") return this.startOf() + (x >> FLAG_BITS) * PAGE_SIZE;
    const s = x.size;
    return typeof s === "number" ? this.startOf() + s : s.v;
  }

  /**
   * {@link KernelVma.start} as a method (the VMA tree's `Range.startOf`; also what the helpers of
   * the rare forms read): V8 inlines a method call by its call count, where a getter call gets
   * only what is left of the inlining budget.
   */
  startOf(): number {
    const r = this.#startRef;
    return typeof r === "number" ? (regionBasePage[r & 127] + (r >> 7)) * 4096 : r.v;
  }

  // Helpers are TypeScript-private, not `#` methods: a class with `#` methods gives every
  // instance a brand slot (8 bytes per VMA).

  /** Keeps `size` ({@link offsetFrom} `start`), packed when it and the flags allow. */
  private setSize(size: number | Exact): void {
    const x = this.#ext;
    if (typeof x !== "number") return this.rare(size, x.flags, x.file, x.pgoffRef);
    const p = packExtent(size, x & FLAG_MASK);
    if (p >= 0) this.#ext = p;
    else this.rare(size, flagValues[x & FLAG_MASK], null, 0);
  }

  /** Keeps the extent in a side object with these fields: a new one, unless it has them. */
  private rare(size: number | Exact, flags: number, file: SimFile | null, d: number | Exact): void {
    const x = this.#ext;
    if (
      typeof x !== "number" && sameOffset(x.size, size) && Object.is(x.flags, flags) &&
      x.file === file && sameOffset(x.pgoffRef, d)
    ) return;
    this.#ext = new VmaRare(size, flags, file, d);
  }

  /** `vm_flags`. */
  get flags(): number {
    const x = this.#ext;
    return typeof x === "number" ? flagValues[x & FLAG_MASK] : x.flags;
  }
  set flags(f: number) {
    const x = this.#ext;
    if (typeof x !== "number") this.rare(x.size, f, x.file, x.pgoffRef);
    else {
      const i = flagRef(f);
      if (i >= 0) this.#ext = x - (x & FLAG_MASK) + i;
      else this.rare((x >> FLAG_BITS) * PAGE_SIZE, f, null, 0);
    }
  }

  /** `vm_pgoff`. */
  get pgoff(): number {
    const x = this.#ext, r = this.#startRef;
    // start / PAGE_SIZE, exactly (a whole page count plus the region's, both below 2^53).
    if (typeof x === "number" && typeof r === "number") return regionBasePage[r & 127] + (r >> 7);
    return this.pgoffSlow();
  }
  set pgoff(v: number) {
    this.storePgoff(v, this.start);
  }
  /**
   * {@link KernelVma.pgoff} as a method (the anon_vma interval tree's key: a method call is
   * inlined by its call count, see `IntervalNode.startKey`).
   */
  pgoffOf(): number {
    const x = this.#ext, r = this.#startRef;
    if (typeof r === "number") {
      const page = regionBasePage[r & 127] + (r >> 7);
      if (typeof x === "number") return page;
      // A file or moved VMA: its side object's pgoff (`pgoffAt`, spelt out: short bytecode).
      const d = x.pgoffRef;
      if (typeof d === "number") return (d & 1) === 0 ? page + (d >> 1) : d >> 1;
    }
    return this.pgoffSlow();
  }

  /**
   * `vm_pgoff + vma_pages(vma) - 1` (the interval tree's `avc_last_pgoff`), exactly as computed
   * from the getters: for a packed VMA the page counts are exact integers, summed directly.
   */
  lastPgoff(): number {
    const x = this.#ext, r = this.#startRef;
    if (typeof x === "number" && typeof r === "number") {
      return regionBasePage[r & 127] + (r >> 7) + (x >> 7) - 1;
    }
    return this.lastPgoffSlow();
  }

  /** {@link KernelVma.lastPgoff} of the rare forms (apart: short bytecode inlines, see `start`). */
  private lastPgoffSlow(): number {
    return this.pgoffOf() + (this.endOf() - this.startOf()) / PAGE_SIZE - 1;
  }

  /** {@link KernelVma.pgoff} of a VMA with a side object or an unpacked start. */
  private pgoffSlow(): number {
    const x = this.#ext;
    if (typeof x === "number") return this.startOf() / PAGE_SIZE;
    return pgoffAt(x.pgoffRef, this.startOf() / PAGE_SIZE);
  }

  /** Keeps `pgoff` for a VMA starting at `start`: in {@link VmaRare} unless it is `start / PAGE_SIZE`. */
  private storePgoff(pgoff: number, start: number): void {
    const base = start / PAGE_SIZE;
    const x = this.#ext;
    if (typeof x !== "number") this.rare(x.size, x.flags, x.file, pgoffRef(pgoff, base));
    else if (!Object.is(pgoff, base)) {
      this.rare(
        (x >> FLAG_BITS) * PAGE_SIZE,
        flagValues[x & FLAG_MASK],
        null,
        pgoffRef(pgoff, base),
      );
    }
  }

  /** Whether this VMA has its side object ({@link VmaRare}); for tests of the representation. */
  get hasRare(): boolean {
    return typeof this.#ext !== "number";
  }

  /** `vm_file`. */
  get file(): SimFile | null {
    const x = this.#ext;
    return typeof x === "number" ? null : x.file;
  }
  set file(f: SimFile | null) {
    const x = this.#ext;
    if (typeof x !== "number") this.rare(x.size, x.flags, f, x.pgoffRef);
    else if (f !== null) this.rare((x >> FLAG_BITS) * PAGE_SIZE, flagValues[x & FLAG_MASK], f, 0);
  }

  /** Unique id (allocation order). */
  get id(): number {
    const i = this.#id;
    return i < 0 ? ~i : i;
  }

  /**
   * True once freed. Kept as the sign of the stored id (`~id` once freed; ids start at 0), so
   * that the flag takes no field and freeing allocates nothing.
   */
  get detached(): boolean {
    return this.#id < 0;
  }
  set detached(d: boolean) {
    const i = this.#id;
    if (d !== i < 0) this.#id = ~i;
  }

  /**
   * `vm_area_dup`'s copy of `src`'s range, pgoff, flags and file, as a VMA `id` of `mm` not in
   * any tree, with no scheme state (the representation is copied, not recomputed).
   */
  static dup(id: number, mm: Mm, src: KernelVma): KernelVma {
    return new KernelVma(id, mm, 0, 0, 0, 0, null, src);
  }
}

/**
 * `vm_area_alloc` with its range set: a VMA not yet linked, whose scheme state the caller fills
 * (`vmaInit`, `clone` or `fork`).
 *
 * @example Usage
 * ```ts ignore
 * const v = vmaAlloc(k, mm, start, end, start / PAGE_SIZE, flags, null);
 * k.scheme.vmaInit(v);
 * vmaLink(k, v);
 * ```
 */
export function vmaAlloc(
  k: KernelState,
  mm: Mm,
  start: number,
  end: number,
  pgoff: number,
  flags: number,
  file: SimFile | null,
): Vma {
  k.slab.alloc("vm_area_struct");
  return new KernelVma(k.nextVmaId++, mm, start, end, pgoff, flags, file);
}

/**
 * `vm_area_dup`: a copy of `src` (in `mm`) with the scheme state left for the caller's hook.
 *
 * @example Usage
 * ```ts ignore
 * const tmp = vmaDup(k, mpnt, child);
 * ```
 */
export function vmaDup(k: KernelState, src: Vma, mm: Mm = src.mm): Vma {
  if (!(src instanceof KernelVma)) {
    return vmaAlloc(k, mm, src.start, src.end, src.pgoff, src.flags, src.file);
  }
  k.slab.alloc("vm_area_struct");
  return KernelVma.dup(k.nextVmaId++, mm, src);
}

/**
 * `vma_link`: inserts `v` into its mm's tree and raises `map_count`.
 *
 * @example Usage
 * ```ts ignore
 * vmaLink(k, v);
 * ```
 */
export function vmaLink(k: KernelState, v: Vma): void {
  v.mm.vmas.insert(v);
  vmaLinkAccount(k, v);
}

/**
 * {@link vmaLink} but the tree insert: `map_count`, its maple nodes and one `tree_update`. Fork
 * accounts each copy with it (`dup_mmap`'s `vma_iter_bulk_store` into the tree `__mt_dup` copied
 * whole) and loads the copies into the child's tree at once (`dupVmas`, fork.ts).
 */
export function vmaLinkAccount(k: KernelState, v: Vma): void {
  const old = v.mm.mapCount++;
  updateMaple(k, v.mm, old);
  k.exec.work("tree_update");
}

/**
 * `vma_iter_clear`: takes `v` out of its mm's tree and lowers `map_count` (the VMA stays
 * allocated).
 *
 * @example Usage
 * ```ts ignore
 * vmaUnlinkFromTree(k, v);
 * ```
 */
export function vmaUnlinkFromTree(k: KernelState, v: Vma): void {
  v.mm.vmas.remove(v);
  const old = v.mm.mapCount--;
  updateMaple(k, v.mm, old);
  k.exec.work("tree_update");
}

/**
 * {@link vmaUnlinkFromTree} of every VMA of `mm` (`count`: how many it has), as `exit_mmap`
 * does: the tree is emptied at once, `map_count` and the maple-node accounting step down VMA by
 * VMA exactly as single unlinks would.
 *
 * @example Usage
 * ```ts ignore
 * vmaUnlinkAllFromTree(k, mm, mm.vmas.size);
 * ```
 */
export function vmaUnlinkAllFromTree(k: KernelState, mm: Mm, count: number): void {
  if (count !== mm.vmas.size) throw new Error("vmaUnlinkAllFromTree: not every VMA");
  mm.vmas.clear();
  for (let i = 0; i < count; i++) {
    const old = mm.mapCount--;
    updateMaple(k, mm, old);
    k.exec.work("tree_update");
  }
}

/**
 * `vm_area_free`: the VMA is gone.
 *
 * @example Usage
 * ```ts ignore
 * vmaFree(k, v);
 * ```
 */
export function vmaFree(k: KernelState, v: Vma): void {
  v.detached = true;
  k.slab.free("vm_area_struct");
}

/**
 * `vma_prepare` … `vma_complete`: changes range/pgoff of linked VMAs under the scheme's
 * `adjust` (which locks and re-keys its index) and re-keys the mm's tree.
 *
 * @example Usage
 * ```ts ignore
 * vmaAdjust(k, [vma], () => { vma.end += PAGE_SIZE; });
 * ```
 */
export function vmaAdjust(k: KernelState, vmas: Vma[], mutate: () => void): void {
  const huge = vmas[0].mm.hugePmds !== undefined && vmas[0].mm.hugePmds.size > 0;
  if (huge) {
    for (let i = 0; i < vmas.length; i++) {
      oldBounds[2 * i] = vmas[i].start;
      oldBounds[2 * i + 1] = vmas[i].end;
    }
  }
  for (let i = 0; i < vmas.length; i++) vmas[i].mm.vmas.remove(vmas[i]);
  k.scheme.adjust(vmas, mutate);
  for (let i = 0; i < vmas.length; i++) vmas[i].mm.vmas.insert(vmas[i]);
  k.exec.work("tree_update", vmas.length);
  // vma_adjust_trans_huge: a new boundary inside a huge PMD splits it.
  if (huge) {
    for (let i = 0; i < vmas.length; i++) {
      const v = vmas[i], s = oldBounds[2 * i], e = oldBounds[2 * i + 1];
      if (v.start !== s) splitHugePmdIfNeeded(v.mm, s, e, v.start);
      if (v.end !== e) splitHugePmdIfNeeded(v.mm, s, e, v.end);
    }
  }
}

/** {@link vmaAdjust}'s scratch: the start and end of each VMA before the change. */
const oldBounds = new Float64Array(8);

/**
 * `split_huge_pmd_if_needed(vma, addr)` (mm/huge_memory.c, from `vma_adjust_trans_huge`): a VMA
 * of `[start, end)` (its bounds before the change) gets a boundary at `addr`; when `addr` is not
 * 2 MiB aligned and the 2 MiB around it lies inside the VMA, a PMD entry there is split (the
 * model's 512 PTEs stay, no longer one huge mapping).
 *
 * @example Usage
 * ```ts ignore
 * splitHugePmdIfNeeded(vma.mm, vma.start, vma.end, addr);
 * ```
 */
export function splitHugePmdIfNeeded(mm: Mm, start: number, end: number, addr: number): void {
  const h = mm.hugePmds;
  if (h === undefined || addr % PMD_SIZE === 0) return;
  const lo = Math.floor(addr / PMD_SIZE) * PMD_SIZE;
  if (lo >= start && lo + PMD_SIZE <= end) h.delete(lo / PMD_SIZE);
}
