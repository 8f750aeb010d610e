/**
 * A page-table entry as the simulator stores it: a {@link PteNode} of two fields (the folio or
 * swap slot it refers to, and one small integer with the kind, the writable/young/PROT_NONE/dirty
 * bits (a swap entry's exclusive bit in the writable bit's place), whether the page still holds
 * the kernel's zeroes, its slot in its PTE page and the page of the folio), read through getters
 * that give the {@link Pte} union's fields. The kernel's `pte_t` (`include/linux/pgtable.h`);
 * page_table.ts holds these in PTE pages.
 *
 * Scheme hooks called here: none.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import type { Folio, Pte, SwapSlot } from "./types.ts";
const KIND_PRESENT = 0;
const KIND_ZERO = 1;
const KIND_SWAP = 2;
const KIND_GUARD = 3;
const KINDS = ["present", "zero", "swap", "guard"] as const;
const WRITABLE = 4;
/** A swap entry's `pte_swp_exclusive` bit (the writable bit of a present entry). */
const SWP_EXCLUSIVE = WRITABLE;
const YOUNG = 8;
const PROT_NONE = 16;
/** Set while the entry is in a page table. */
const LINKED = 32;
/** Dirty bit (`pte_dirty`): written through since it was last cleaned. */
const DIRTY = 64;
/**
 * Not a hardware bit: the page holds the zeroes the kernel filled it with, as no user write has
 * gone through the entry since (a populate, or a read fault where the zero page is forbidden, made
 * it). KSM reads it as the page's content (ksm.ts).
 */
const ZERO_FILLED = 128;
/** log2 of the entries per PTE page (`PTRS_PER_PTE` = 512). */
export const SLOT_BITS = 9;
export const SLOTS = 1 << SLOT_BITS;
const SLOT_SHIFT = 8;
const SLOT_MASK = (SLOTS - 1) << SLOT_SHIFT;
const PAGE_SHIFT = SLOT_SHIFT + SLOT_BITS;
/** Pages of a folio an entry can name (the page sits above the slot in a 31-bit integer). */
const MAX_PAGES = 1 << (31 - PAGE_SHIFT);

/**
 * A page-table entry. Read it as a {@link Pte} (the constructors in pgtable.ts return it typed
 * so); `writable`, `young` and `protNone` are settable.
 *
 * @example Usage
 * ```ts
 * import { PteNode } from "./pte_node.ts";
 * const p = PteNode.zero(true, false);
 * if (p.kind !== "zero" || p.folio !== null || !p.young) throw new Error();
 * ```
 */
export class PteNode {
  /** The folio (present), the swap slot (swap), or null (zero page). */
  #target: Folio | SwapSlot | null;
  /** Kind (2 bits), writable, young, PROT_NONE and linked bits, slot, and the page of the folio. */
  #info: number;

  private constructor(target: Folio | SwapSlot | null, info: number) {
    this.#target = target;
    this.#info = info;
  }

  /** A present entry for page `page` of `folio` (`page` below 16,384: folios up to 64 MiB). */
  static present(
    folio: Folio,
    page: number,
    writable: boolean,
    young: boolean,
    protNone: boolean,
    dirty = false,
    zeroFilled = false,
  ): PteNode {
    if (!(page >= 0 && page < MAX_PAGES && page === Math.floor(page))) {
      throw new RangeError(`Page of a folio out of range: ${page}`);
    }
    return new PteNode(
      folio,
      KIND_PRESENT | (writable ? WRITABLE : 0) | (young ? YOUNG : 0) |
        (protNone ? PROT_NONE : 0) | (dirty ? DIRTY : 0) | (zeroFilled ? ZERO_FILLED : 0) |
        (page << PAGE_SHIFT),
    );
  }

  /** A zero-page entry. */
  static zero(young: boolean, protNone: boolean): PteNode {
    return new PteNode(null, KIND_ZERO | (young ? YOUNG : 0) | (protNone ? PROT_NONE : 0));
  }

  /**
   * A swap entry referring to `slot`; `exclusive` is `pte_swp_exclusive` (the page was
   * PageAnonExclusive when it was unmapped, and no fork has copied the entry since).
   */
  static swap(slot: SwapSlot, exclusive = false): PteNode {
    return new PteNode(slot, KIND_SWAP | (exclusive ? SWP_EXCLUSIVE : 0));
  }

  /** A guard marker (`PTE_MARKER_GUARD`). */
  static guard(): PteNode {
    return new PteNode(null, KIND_GUARD);
  }

  /** A detached copy of any {@link Pte}-shaped value (for entries made outside this module). */
  static from(p: Pte): PteNode {
    if (p.kind === "present") {
      return PteNode.present(
        p.folio,
        p.page,
        p.writable,
        p.young,
        p.protNone,
        p.dirty === true,
        p.zeroFilled === true,
      );
    }
    if (p.kind === "zero") return PteNode.zero(p.young, p.protNone);
    if (p.kind === "guard") return PteNode.guard();
    return PteNode.swap(p.swap, p.exclusive === true);
  }

  /** Discriminant of the {@link Pte} union. */
  get kind(): "present" | "zero" | "swap" | "guard" {
    return KINDS[this.#info & 3];
  }

  /** The mapped folio of a present entry, else null. */
  get folio(): Folio | null {
    return (this.#info & 3) === KIND_PRESENT ? this.#target as Folio : null;
  }

  /** The page of the folio (0 unless present). */
  get page(): number {
    return this.#info >> PAGE_SHIFT;
  }

  /** The swap slot of a swap entry, else null. */
  get swap(): SwapSlot | null {
    return (this.#info & 3) === KIND_SWAP ? this.#target as SwapSlot : null;
  }

  /** Hardware write permission (present entries only). */
  get writable(): boolean {
    return (this.#info & (WRITABLE | 3)) === (WRITABLE | KIND_PRESENT);
  }
  set writable(v: boolean) {
    this.#info = v ? this.#info | WRITABLE : this.#info & ~WRITABLE;
  }

  /** A swap entry's `pte_swp_exclusive` bit (false for other kinds). */
  get exclusive(): boolean {
    return (this.#info & (SWP_EXCLUSIVE | 3)) === (SWP_EXCLUSIVE | KIND_SWAP);
  }
  set exclusive(v: boolean) {
    if ((this.#info & 3) !== KIND_SWAP) throw new Error("exclusive: not a swap entry");
    this.#info = v ? this.#info | SWP_EXCLUSIVE : this.#info & ~SWP_EXCLUSIVE;
  }

  /** Accessed ("young") bit. */
  get young(): boolean {
    return (this.#info & YOUNG) !== 0;
  }
  set young(v: boolean) {
    this.#info = v ? this.#info | YOUNG : this.#info & ~YOUNG;
  }

  /** Dirty bit: written through since it was last cleaned (present entries only). */
  get dirty(): boolean {
    return (this.#info & DIRTY) !== 0;
  }
  set dirty(v: boolean) {
    this.#info = v ? this.#info | DIRTY : this.#info & ~DIRTY;
  }

  /** The page holds the kernel's zeroes: no user write went through the entry since it was made. */
  get zeroFilled(): boolean {
    return (this.#info & ZERO_FILLED) !== 0;
  }

  /** A user write through the entry: dirty, and no longer the kernel's zeroes. */
  markWritten(): void {
    this.#info = (this.#info | DIRTY) & ~ZERO_FILLED;
  }

  /** PROT_NONE: present but inaccessible. */
  get protNone(): boolean {
    return (this.#info & PROT_NONE) !== 0;
  }
  set protNone(v: boolean) {
    this.#info = v ? this.#info | PROT_NONE : this.#info & ~PROT_NONE;
  }

  /** Whether the entry is in a page table. */
  get linked(): boolean {
    return (this.#info & LINKED) !== 0;
  }

  /** The entry's slot in its PTE page (`vpn % 512`; meaningful while linked). */
  get slot(): number {
    return (this.#info & SLOT_MASK) >> SLOT_SHIFT;
  }

  /** Marks the entry as in a page table at `slot` of a PTE page. */
  link(slot: number): void {
    this.#info = (this.#info & ~SLOT_MASK) | LINKED | (slot << SLOT_SHIFT);
  }

  /** Marks the entry as in no page table. */
  unlink(): void {
    this.#info = this.#info & ~(LINKED | SLOT_MASK);
  }

  /** Takes `other`'s entry (target and bits), keeping this entry's place. */
  copyEntry(other: PteNode): void {
    this.#target = other.#target;
    this.#info = (other.#info & ~(LINKED | SLOT_MASK)) | (this.#info & (LINKED | SLOT_MASK));
  }
}
