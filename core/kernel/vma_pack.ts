/**
 * How a simulated VMA's fields pack into small integers (KernelVma in vma_tree.ts keeps them so):
 * V8 without pointer compression boxes every number that is not a 32-bit integer in a 16-byte
 * HeapNumber, and a whole phone has a million VMAs. A start is a page offset in its 64 GiB region
 * and the region's index; size and flags share one integer; what does not pack (a file VMA, a
 * moved one, an unusual size or flags value) goes to an immutable side object, {@link VmaRare}.
 * No kernel counterpart: `struct vm_area_struct` holds plain `unsigned long`s.
 *
 * Scheme hooks called here: none.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import type { SimFile } from "./types.ts";
import { PAGE_SHIFT, PAGE_SIZE } from "./types.ts";

/** A value kept as itself because its offset from the base did not round-trip exactly. */
export class Exact {
  constructor(readonly v: number) {}
}

/**
 * `target` stored as an offset from `base` (a small integer, held unboxed, in the common case),
 * or as itself when `base + (target - base)` would not give `target` back bit for bit.
 */
export function offsetFrom(target: number, base: number): number | Exact {
  const d = target - base;
  if (!Object.is(base + d, target)) return new Exact(target);
  // `| 0` gives a small integer even before V8 optimizes this code (a subtraction of doubles
  // gives a boxed double there).
  const i = d | 0;
  return i === d && Object.is(base + i, target) ? i : d;
}

/** log2 of the bytes of an address region: starts are kept as a page offset in their region. */
const REGION_SHIFT = 36;
const REGION_BYTES = 2 ** REGION_SHIFT;
/** log2 of the number of regions a process can name (`#startRef`'s low bits). */
const REGION_INDEX_BITS = 7;
const REGION_INDEX_MASK = (1 << REGION_INDEX_BITS) - 1;
/** Base address of each region VMA starts were seen in, by index (shared by every VMA). */
const regionBase = new Float64Array(1 << REGION_INDEX_BITS);
/** `regionBase / PAGE_SIZE` (exact: the bases are multiples of the region size). */
export const regionBasePage = new Float64Array(1 << REGION_INDEX_BITS);
/** Index in {@link regionBase} by region number. */
const regionIndex = new Map<number, number>();

/**
 * A VMA start as one small integer, `(page offset in its 64 GiB region) << 7 | region index`,
 * when the start is a page multiple in one of the first 128 regions seen (every address of a
 * process lies in a few), else as itself.
 */
export function startRef(start: number): number | Exact {
  const region = Math.floor(start / REGION_BYTES);
  let idx = regionIndex.get(region);
  if (idx === undefined) {
    if (regionIndex.size > REGION_INDEX_MASK || !Number.isSafeInteger(region)) {
      return new Exact(start);
    }
    idx = regionIndex.size;
    regionIndex.set(region, idx);
    regionBase[idx] = region * REGION_BYTES;
    regionBasePage[idx] = regionBase[idx] / PAGE_SIZE;
  }
  const page = (start - regionBase[idx]) / PAGE_SIZE;
  const ref = (page << REGION_INDEX_BITS) | idx;
  // Below 2^52 in magnitude, the getters' sums of page counts (the start's, and a size below
  // 2^24 pages) are exact integers, so `start`, `end` and `pgoff` read back exactly.
  return page >= 0 && page < 2 ** (REGION_SHIFT - PAGE_SHIFT) && page === Math.floor(page) &&
      Math.abs(start) < 2 ** 52 &&
      Object.is(
        (regionBasePage[ref & REGION_INDEX_MASK] + (ref >> REGION_INDEX_BITS)) * PAGE_SIZE,
        start,
      )
    ? ref
    : new Exact(start);
}

/** Bits of a packed {@link KernelVma} extent that index {@link flagValues}. */
export const FLAG_BITS = 7;
export const FLAG_MASK = (1 << FLAG_BITS) - 1;
// KernelVma's getters spell these as literals.
if (REGION_INDEX_BITS !== 7 || REGION_INDEX_MASK !== 127 || PAGE_SIZE !== 4096 || FLAG_BITS !== 7) {
  throw new Error("vma_tree: packing constants and their literals disagree");
}
/** Pages a packed extent can give a VMA (the page count sits above the flags index). */
export const MAX_PACKED_PAGES = 2 ** (31 - FLAG_BITS);
/**
 * Every `vm_flags` value VMAs were seen with (shared by all VMAs; a process uses a few dozen), by
 * index; index 0 is unused (its `null` keeps the array's elements tagged, so that reading a flags
 * value past 2^31 allocates nothing).
 */
export const flagValues: number[] = [null as unknown as number];
/** Index in {@link flagValues} by flags value. */
const flagIndex = new Map<number, number>();
let lastFlags = NaN;
let lastFlagsIndex = -1;

/** The index of `flags` in {@link flagValues} (added when new), or -1 when the table is full. */
export function flagRef(flags: number): number {
  // -0 would read back as 0 (it equals 0, and is 0 as a Map key); NaN never equals lastFlags,
  // but finds its entry.
  if (Object.is(flags, -0)) return -1;
  if (flags === lastFlags) return lastFlagsIndex;
  let i = flagIndex.get(flags);
  if (i === undefined) {
    if (flagValues.length > FLAG_MASK) return -1;
    i = flagValues.length;
    flagValues.push(flags);
    flagIndex.set(flags, i);
  }
  lastFlags = flags;
  lastFlagsIndex = i;
  return i;
}

/**
 * A VMA's size and flags as one small integer, `pages << 7 | flags index`, or -1 when the size
 * (as {@link offsetFrom} gives it) is not a whole number of pages below 2^24, or the flags have no
 * index.
 */
export function packExtent(size: number | Exact, flagsIndex: number): number {
  if (flagsIndex < 0 || typeof size !== "number") return -1;
  const pages = size / PAGE_SIZE;
  return pages >= 0 && pages < MAX_PACKED_PAGES && (pages | 0) === pages &&
      !Object.is(size, -0)
    ? (pages << FLAG_BITS) | flagsIndex
    : -1;
}

/**
 * The extent of a VMA that does not pack into one small integer: a file VMA, a moved one (its
 * `pgoff` is not `start / PAGE_SIZE`), or an unusual size or flags value. Never changed once
 * made (a change to the VMA makes a new one), so that fork's copy of a VMA shares its parent's:
 * a forked file VMA allocates no side object.
 */
export class VmaRare {
  constructor(
    /** `vm_end` as {@link offsetFrom} `start`. */
    readonly size: number | Exact,
    /** `vm_flags`. */
    readonly flags: number,
    /** `vm_file`. */
    readonly file: SimFile | null,
    /** `vm_pgoff` as {@link pgoffRef} gives it for `start / PAGE_SIZE` (0 when it is that). */
    readonly pgoffRef: number | Exact,
  ) {}
}

/**
 * Distances and offsets a {@link pgoffRef} packs: in [-2^30, 2^30), so that twice one (plus one)
 * is an int32.
 */
const PGOFF_REF_LIMIT = 2 ** 30;

/**
 * `pgoff` for a VMA whose start is page `base`, as one small integer: twice its distance from
 * `base` (a moved anonymous VMA: it keeps the pgoff of where it was made) when that is an integer
 * in [-2^30, 2^30); else twice `pgoff` plus one (a file VMA: its pgoff is a small file offset,
 * but far from `base`, a page number of 2^35 or so) when that is such an integer; else
 * {@link Exact}. Never a double: V8 would box one in a 16-byte HeapNumber per side object (as
 * the distance of a file VMA was, 2.9 MB of them at android-launch scale 0.4).
 */
export function pgoffRef(pgoff: number, base: number): number | Exact {
  const d = (pgoff - base) | 0;
  if (d >= -PGOFF_REF_LIMIT && d < PGOFF_REF_LIMIT && Object.is(base + d, pgoff)) return d * 2;
  const a = pgoff | 0;
  if (a >= -PGOFF_REF_LIMIT && a < PGOFF_REF_LIMIT && Object.is(a, pgoff)) return a * 2 + 1;
  return new Exact(pgoff);
}

/** The pgoff a {@link pgoffRef} `ref` stands for in a VMA whose start is page `base`. */
export function pgoffAt(ref: number | Exact, base: number): number {
  if (typeof ref !== "number") return ref.v;
  return (ref & 1) === 0 ? base + (ref >> 1) : ref >> 1;
}

/** Whether two offsets (as {@link offsetFrom} gives them) stand for the same value. */
export function sameOffset(a: number | Exact, b: number | Exact): boolean {
  return typeof a === "number"
    ? typeof b === "number" && Object.is(a, b)
    : typeof b !== "number" && Object.is(a.v, b.v);
}
