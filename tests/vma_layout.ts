// One VMA layout form the scenario tests compare: each VMA as [start, end) in pages from a base,
// whether it has one VMA flag, and its page-table entries as one string.

import { type Mm, PAGE_SIZE } from "../core/kernel/types.ts";

const CODE: Readonly<Record<string, string>> = { guard: "G", present: "p", zero: "z", swap: "s" };

/**
 * Every VMA of `mm` as `[start, end)` in pages from `base`, whether it has `flag`, and its entries:
 * `.` none, `G` guard marker, `p` present, `z` zero page, `s` swap.
 */
export function flagLayout(mm: Mm, base: number, flag: number): (number | boolean | string)[][] {
  return [...mm.vmas].map((v) => {
    let ptes = "";
    for (let a = v.start; a < v.end; a += PAGE_SIZE) {
      const e = mm.pages.get(a / PAGE_SIZE);
      ptes += e === undefined ? "." : CODE[e.kind];
    }
    return [(v.start - base) / PAGE_SIZE, (v.end - base) / PAGE_SIZE, (v.flags & flag) !== 0, ptes];
  });
}
