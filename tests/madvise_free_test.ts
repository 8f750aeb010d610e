// MADV_FREE's lazily freeable pages and the PTE dirty bit (mm/madvise.c `madvise_free_pte_range`,
// mm/swap.c `folio_mark_lazyfree`, mm/rmap.c `try_to_unmap_one`'s MADV_FREE check, mm/memory.c's
// `pte_mkdirty` sites). The host answers of tools/verify/scenarios/resident.scn (free-*) came
// first. Each test names the bug it catches.

import { assertEquals } from "./assert.ts";
import { errnoOf } from "./errno.ts";
import { Kernel } from "../core/kernel/kernel.ts";
import { AnonVmaScheme } from "../core/rmap/anon_vma.ts";
import {
  MADV_FREE,
  MADV_PAGEOUT,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  type Mm,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
} from "../core/kernel/types.ts";

const P = PAGE_SIZE;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
const X = 0x7f0000000000;

function world(params: Record<string, unknown> = {}): { k: Kernel; mm: Mm } {
  const k = new Kernel({ scheme: new AnonVmaScheme(), params: { debugChecks: true, ...params } });
  return { k, mm: k.spawn() };
}

/** The entries of `pages` pages from X: `.` none, `D` dirty, `p` clean (present), `s` swap. */
function ptes(mm: Mm, pages: number, from = 0): string {
  let out = "";
  for (let i = from; i < from + pages; i++) {
    const e = mm.pages.get(X / P + i);
    out += e === undefined ? "." : e.kind === "present" ? (e.dirty ? "D" : "p") : e.kind[0];
  }
  return out;
}

Deno.test("dirty bit: set by write faults, writes through writable PTEs and fork's copy", () => {
  // Bug caught: a clean PTE after a write (MADV_FREE would then discard written data), or a dirty
  // one after a mere read (a page kept that Linux discards).
  const { k, mm } = world();
  k.mmap(mm, X, 4 * P, RW, ANON);
  k.touch(mm, X, "write");
  k.touch(mm, X + P, "read"); // the zero page: no folio
  k.touch(mm, X + P, "write"); // CoW of the zero page: wp_page_copy maps it dirty
  assertEquals(ptes(mm, 4), "DD..");
  k.madvise(mm, X, 4 * P, MADV_FREE);
  assertEquals(ptes(mm, 4), "pp..");
  k.touch(mm, X, "write"); // no fault: the hardware sets the bit
  const c = k.fork(mm);
  assertEquals([ptes(mm, 4), ptes(c, 4)], ["Dp..", "Dp.."]);
  // Without the zero page a read fault allocates a folio and maps it dirty when VM_WRITE.
  const w = world({ zeroPage: false });
  w.k.mmap(w.mm, X, 2 * P, RW, ANON);
  w.k.mmap(w.mm, X + 4 * P, 2 * P, PROT_READ, ANON);
  w.k.touch(w.mm, X, "read");
  w.k.touch(w.mm, X + 4 * P, "read");
  assertEquals([ptes(w.mm, 1), ptes(w.mm, 1, 4)], ["D", "p"]);
});

Deno.test("MADV_FREE then MADV_PAGEOUT: clean pages are discarded, not swapped; written ones stay", () => {
  //   write 8, FREE 8, write 0-1, read 2, PAGEOUT 8:  [DD......]  (the host's free-pageout)
  // Bug caught: lazily freeable pages swapped out (a swap slot and a swap entry each), or written
  // pages discarded; a redirtied folio that stays lazily freeable (the next PAGEOUT must swap).
  const { k, mm } = world();
  k.mmap(mm, X, 8 * P, RW, ANON);
  for (let i = 0; i < 8; i++) k.touch(mm, X + i * P, "write");
  k.madvise(mm, X, 8 * P, MADV_FREE);
  assertEquals([ptes(mm, 8), k.counters.folios_lazyfree], ["pppppppp", 8]);
  k.touch(mm, X, "write");
  k.touch(mm, X + P, "write");
  k.touch(mm, X + 2 * P, "read");
  k.madvise(mm, X, 8 * P, MADV_PAGEOUT);
  assertEquals(ptes(mm, 8), "DD......");
  assertEquals([k.counters.folios_lazyfreed, k.counters.lazyfree_redirtied], [6, 2]);
  k.madvise(mm, X, 8 * P, MADV_PAGEOUT);
  assertEquals(ptes(mm, 8), "ss......");
  k.touch(mm, X + 4 * P, "read"); // a discarded page reads as zeroes again: the zero page
  assertEquals(mm.pages.get(X / P + 4)?.kind, "zero");
});

Deno.test("MADV_FREE drops swap entries at once, and leaves a swap-cache folio others need", () => {
  // Bug caught: swap entries kept (a later read would bring back data MADV_FREE discarded), or a
  // folio still in the swap cache for another process's swap entry marked lazily freeable.
  const { k, mm } = world();
  k.mmap(mm, X, 4 * P, RW, ANON);
  for (let i = 0; i < 4; i++) k.touch(mm, X + i * P, "write");
  const c = k.fork(mm);
  k.madvise(mm, X, 4 * P, MADV_PAGEOUT); // shared: PAGEOUT leaves them
  k.exit(c);
  k.madvise(mm, X, 4 * P, MADV_PAGEOUT);
  assertEquals(ptes(mm, 4), "ssss");
  const c2 = k.fork(mm); // the child's entries refer to the same slots
  k.touch(mm, X, "read"); // swap-in: the folio stays in the swap cache for the child's entry
  k.madvise(mm, X, 4 * P, MADV_FREE);
  assertEquals([ptes(mm, 4), k.counters.madv_free_swap_entries, k.counters.folios_lazyfree], [
    "p...",
    3,
    undefined,
  ]);
  assertEquals(ptes(c2, 4), "ssss");
});

Deno.test("a folio two processes map: PAGEOUT discards the clean mapping, a dirty one stops it", () => {
  // P0 and its child map the same folios; P0's MADV_FREE cleans only P0's entries. Reclaim
  // walks the parent first: its mapping goes, the child's dirty one stops the walk (the folio is
  // swap-backed again and kept). Bug caught: discarding the child's written data, or keeping the
  // folio lazily freeable after the abort.
  const { k, mm } = world();
  k.mmap(mm, X, 2 * P, RW, ANON);
  k.touch(mm, X, "write");
  const c = k.fork(mm);
  k.madvise(mm, X, 2 * P, MADV_FREE);
  assertEquals([ptes(mm, 1), ptes(c, 1)], ["p", "D"]);
  const folio = mm.pages.get(X / P)!.folio!;
  assertEquals(k.tryToUnmap(folio), false);
  assertEquals([ptes(mm, 1), ptes(c, 1), k.counters.lazyfree_redirtied], [".", "D", 1]);
  assertEquals(k.tryToUnmap(folio), true); // an ordinary swap-out now
  assertEquals(ptes(c, 1), "s");
});

Deno.test("MADV_FREE splits a large folio it covers in part; refuses file memory after the rest", () => {
  // Bug caught: a whole 4-page folio made lazily freeable for a 2-page advice (two pages
  // discarded that the program still uses), or the VMAs before a refused one left untouched.
  const { k, mm } = world({ anonFolioOrder: 2 });
  k.mmap(mm, X, 4 * P, RW, ANON);
  // Every page written: the split would map a page that still holds zeroes to the zero page.
  for (let i = 0; i < 4; i++) k.touch(mm, X + i * P, "write");
  k.madvise(mm, X, 2 * P, MADV_FREE);
  assertEquals([k.counters.folios_split, k.counters.folios_lazyfree], [1, 2]);
  k.madvise(mm, X, 4 * P, MADV_PAGEOUT);
  assertEquals(ptes(mm, 4), "..ss");
  const f = k.createFile("lib", 4);
  k.mmap(mm, X + 4 * P, 4 * P, RW, MAP_PRIVATE | MAP_FIXED, f, 0);
  k.touch(mm, X + 2 * P, "write");
  assertEquals(errnoOf(() => k.madvise(mm, X, 8 * P, MADV_FREE)), "EINVAL");
  // The anonymous VMA was done first: page 2 (swapped in) made clean, page 3's swap entry dropped.
  assertEquals(ptes(mm, 4), "..p.");
});

Deno.test("a lazily freeable page of memory locked afterwards is not discarded", () => {
  // MADV_FREE, then mlock (the populate finds the page present and leaves it clean): reclaim's
  // walk stops at the VM_LOCKED mapping. Bug caught: discarding locked memory.
  const { k, mm } = world();
  k.mmap(mm, X, 2 * P, RW, ANON);
  k.touch(mm, X, "write");
  k.madvise(mm, X, 2 * P, MADV_FREE);
  k.mlock(mm, X, 2 * P);
  const folio = mm.pages.get(X / P)!.folio!;
  assertEquals([k.tryToUnmap(folio), ptes(mm, 1)], [false, "p"]);
});
