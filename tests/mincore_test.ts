// mincore (mm/mincore.c of Linux 6.18) and reclaim without swap space (mm/vmscan.c
// `shrink_folio_list`: `add_to_swap` fails, the folio is kept before any `try_to_unmap` walk).
// The residency rules and the no-swap behaviour were read on this host first and are checked
// against it by tools/verify/scenarios/resident.scn. Each test names the bug it catches.

import { assertEquals } from "./assert.ts";
import { errnoOf } from "./errno.ts";
import { Kernel } from "../core/kernel/kernel.ts";
import { AnonVmaScheme } from "../core/rmap/anon_vma.ts";
import {
  MADV_DONTNEED,
  MADV_GUARD_INSTALL,
  MADV_PAGEOUT,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  MAP_SHARED,
  type Mm,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
} from "../core/kernel/types.ts";

const P = PAGE_SIZE;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
const X = 0x7f0000000000;

function world(swapSpace = true): { k: Kernel; mm: Mm } {
  const k = new Kernel({ scheme: new AnonVmaScheme(), params: { debugChecks: true, swapSpace } });
  return { k, mm: k.spawn() };
}

/** mincore's vector as a string of 0 and 1. */
function res(k: Kernel, mm: Mm, page: number, pages: number): string {
  return [...k.mincore(mm, X + page * P, pages * P)].join("");
}

Deno.test("mincore: mapped pages; swap entries by their swap cache; file holes by the page cache", () => {
  //   anon  [pppp....]  pages 0-3 written, 4-7 never
  //   file  [..G.....]  (shared, pages 0-1 written: in the page cache; page 2 guarded)
  // Bug caught: swapped pages counted resident, a file mapping's empty entries read as absent
  // although their pages are cached, a guard marker over a cached page read as absent.
  const { k, mm } = world();
  k.mmap(mm, X, 8 * P, RW, ANON);
  for (let i = 0; i < 4; i++) k.touch(mm, X + i * P, "write");
  assertEquals(res(k, mm, 0, 8), "11110000");
  k.madvise(mm, X, 2 * P, MADV_PAGEOUT);
  assertEquals(res(k, mm, 0, 8), "00110000");
  k.touch(mm, X, "read"); // swap-in: the page is mapped again
  assertEquals(res(k, mm, 0, 4), "1011");
  k.madvise(mm, X + 3 * P, P, MADV_GUARD_INSTALL); // anonymous: a marker is not resident
  assertEquals(res(k, mm, 0, 4), "1010");
  const f = k.createFile("data", 8);
  k.mmap(mm, X + 16 * P, 8 * P, RW, MAP_SHARED | MAP_FIXED, f, 0);
  k.touch(mm, X + 16 * P, "write");
  k.touch(mm, X + 17 * P, "write");
  k.madvise(mm, X + 16 * P, 8 * P, MADV_DONTNEED);
  assertEquals(res(k, mm, 16, 8), "11000000");
  k.madvise(mm, X + 17 * P, P, MADV_GUARD_INSTALL);
  assertEquals(res(k, mm, 16, 3), "110");
  assertEquals(
    [errnoOf(() => k.mincore(mm, X, 9 * P)), errnoOf(() => k.mincore(mm, X + 1, P))],
    ["ENOMEM", "EINVAL"],
  );
  assertEquals(res(k, mm, 0, 0), "");
});

Deno.test("no swap space: MADV_PAGEOUT and kswapd's eviction keep anonymous folios, with no walk", () => {
  // Bug caught: a model that swaps out where the host cannot (no swap device), or that walks the
  // rmap for a folio reclaim gives up on before try_to_unmap.
  const { k, mm } = world(false);
  k.mmap(mm, X, 4 * P, RW, ANON);
  for (let i = 0; i < 4; i++) k.touch(mm, X + i * P, "write");
  const walksBefore = k.oracle.walksChecked;
  k.madvise(mm, X, 4 * P, MADV_PAGEOUT);
  const folio = mm.pages.get(X / P)!.folio!;
  assertEquals([res(k, mm, 0, 4), k.tryToUnmap(folio), k.oracle.walksChecked], [
    "1111",
    false,
    walksBefore,
  ]);
  assertEquals(k.counters.reclaim_no_swap, 5);
  // With swap space (the default) the same calls reclaim.
  const w = world();
  w.k.mmap(w.mm, X, 4 * P, RW, ANON);
  for (let i = 0; i < 4; i++) w.k.touch(w.mm, X + i * P, "write");
  w.k.madvise(w.mm, X, 4 * P, MADV_PAGEOUT);
  assertEquals([res(w.k, w.mm, 0, 4), w.k.counters.reclaim_no_swap ?? 0], ["0000", 0]);
});
