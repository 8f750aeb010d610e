/**
 * Page contents as ksmd's checksum and memcmp see them (mm/ksm.c), for ksm.ts. The simulator has
 * no page data: a page written with a `value` (see `Kernel.touch`) holds that content id; any other
 * write gives it new unique content; a page that the kernel zero-filled and no user write reached
 * since (the PTE's `zeroFilled`) holds the zeroes every such page holds; a page nothing wrote since
 * KSM started holds content of its own, unchanged until written.
 *
 * A small folio's content is kept per folio, a large folio's per page (a THP's pages may hold
 * different data); a split gives each new folio its page's content (`splitFolio`, folio.ts).
 *
 * Scheme hooks called here: none.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import type { KernelState } from "./state.ts";
import { type KsmState, ksmState } from "./ksm.ts";
import { type Folio, type Mm, PAGE_SIZE } from "./types.ts";

/**
 * A page's content: the content id a workload wrote, or an object standing for unique content,
 * equal to no other page's and replaced by every later write without a value; a small folio
 * nothing wrote holds the folio itself (unique), a large folio's page such an object of its own.
 */
export type Content = number | object;

/** The content of a page that holds the kernel's zeroes (one value: they are all equal). */
export const ZEROES: Content = Object.freeze({});

/**
 * Records the content of the page at `addr` after a write: `value` (a content id, from the
 * workload) or, when `value` is undefined, new unique content (so that ksmd's next checksum of
 * the page differs from its last, as after any real write of new data).
 */
export function ksmSetContent(k: KernelState, mm: Mm, addr: number, value?: number): void {
  if (value === undefined && !k.ksm) return;
  const pte = mm.pages.get(Math.floor(addr / PAGE_SIZE));
  if (pte?.kind !== "present" || !pte.folio.anon) return;
  const s = ksmState(k), f = pte.folio, c = value === undefined ? {} : value;
  if (f.nrPages === 1) s.content.set(f, c);
  else pagesOf(s, f).set(pte.page, c);
}

/** The per-page contents of large folio `f`. */
function pagesOf(s: KsmState, f: Folio): Map<number, Content> {
  let m = s.pageContent.get(f);
  if (!m) s.pageContent.set(f, m = new Map());
  return m;
}

/**
 * The content of folio `f`, mapped at `addr` of `mm` (see {@link Content}): what a write left
 * there, else the kernel's zeroes when the entry says no user write went through it (a populate or
 * a read fault without the zero page made it: every such page holds the same zeroes), else the
 * page's own.
 */
export function contentOf(s: KsmState, f: Folio, mm: Mm, addr: number): Content {
  const pte = mm.pages.get(Math.floor(addr / PAGE_SIZE));
  if (f.nrPages === 1) {
    const c = s.content.get(f);
    if (c !== undefined) return c;
    return pte?.kind === "present" && pte.folio === f && pte.zeroFilled === true ? ZEROES : f;
  }
  if (pte?.kind !== "present" || pte.folio !== f) return f;
  const pages = pagesOf(s, f);
  const c = pages.get(pte.page);
  if (c !== undefined) return c;
  if (pte.zeroFilled === true) return ZEROES;
  const own = {};
  pages.set(pte.page, own);
  return own;
}

/**
 * `split_folio` of large folio `f` into `folios` (`folios[i]` holds page `i`; `folios[0]` is `f`
 * itself, now small): each new folio takes its page's content, and an unstable tree entry of one
 * of its pages now names that page's folio (the kernel finds the page by the item's address).
 */
export function ksmSplitContent(k: KernelState, f: Folio, folios: readonly Folio[]): void {
  const s = k.ksm;
  if (!s) return;
  for (const e of s.unstable.values()) {
    if (e.folio === f) {
      e.folio = folios[e.page];
      e.page = 0;
    }
  }
  const pages = s.pageContent.get(f);
  if (!pages) return;
  s.pageContent.delete(f);
  for (const [i, c] of pages) s.content.set(folios[i], c);
}
