// MADV_COLD and MADV_PAGEOUT (mm/madvise.c madvise_cold, madvise_pageout, can_madv_lru_vma,
// madvise_cold_or_pageout_pte_range; reclaim_pages; Linux 6.18). Read first on this host with a
// C probe and a temporary 64 MiB swap file (smaps Rss of an 8-page private anonymous VMA): 32 kB
// -> 0 after MADV_PAGEOUT; 32 kB kept while a forked child shares the pages; 0 once the child has
// exited; EINVAL over a locked VMA after the VMAs before it were paged out; ENOMEM over a hole.
// Without swap the host reclaims nothing; the model always finds a swap slot (docs/model.md §6).

import { assertEquals } from "./assert.ts";
import { errnoOf } from "./errno.ts";
import { Kernel } from "../core/kernel/kernel.ts";
import { AnonVmaScheme } from "../core/rmap/anon_vma.ts";
import { replayText } from "./replay.ts";
import {
  MADV_COLD,
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

function world(order = 0): { k: Kernel; mm: Mm; walks: string[] } {
  const k = new Kernel({
    scheme: new AnonVmaScheme(),
    params: { debugChecks: true, anonFolioOrder: order },
  });
  const walks: string[] = [];
  k.onWalk((r) => walks.push(`${r.kind}:${r.visits}`));
  return { k, mm: k.spawn(), walks };
}

/** The kind of each PTE in `[X, X + n pages)`: p present, s swap, z zero page, . none. */
function ptes(mm: Mm, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) {
    const p = mm.pages.get(X / P + i);
    s += p === undefined ? "." : p.kind === "present" ? "p" : p.kind === "swap" ? "s" : "z";
  }
  return s;
}

Deno.test("MADV_PAGEOUT reclaims exclusive pages only: one try_to_unmap walk each", () => {
  //  X ........ X+8   written: pppppppp   PAGEOUT: ssssssss (8 walks of 1 visit)
  //  written again, forked: shared pages are left (mapcount 2); after the child's exit, reclaimed.
  // Catches: shared folios reclaimed, or a folio_referenced walk first (ignore_references).
  const { k, mm, walks } = world();
  k.mmap(mm, X, 8 * P, RW, ANON);
  for (let i = 0; i < 8; i++) k.touch(mm, X + i * P, "write");
  k.madvise(mm, X, 8 * P, MADV_PAGEOUT);
  assertEquals([ptes(mm, 8), walks.length, walks[0], k.counters.folios_reclaimed], [
    "ssssssss",
    8,
    "unmap:1",
    8,
  ]);
  for (let i = 0; i < 8; i++) k.touch(mm, X + i * P, "write");
  const child = k.fork(mm);
  walks.length = 0;
  k.madvise(mm, X, 8 * P, MADV_PAGEOUT);
  assertEquals([ptes(mm, 8), walks.length], ["pppppppp", 0]);
  k.exit(child);
  k.madvise(mm, X, 8 * P, MADV_PAGEOUT);
  // The folios now sit in the parent's anon_vma with the child's AVC gone: one visit each.
  assertEquals([ptes(mm, 8), walks.length, walks[0]], ["ssssssss", 8, "unmap:1"]);
});

Deno.test("MADV_COLD makes exclusive PTEs old and leaves shared ones young", () => {
  const { k, mm } = world();
  k.mmap(mm, X, 4 * P, RW, ANON);
  for (let i = 0; i < 4; i++) k.touch(mm, X + i * P, "write");
  const child = k.fork(mm);
  k.touch(mm, X + 2 * P, "write"); // CoW: page 2 is the parent's own again
  k.touch(mm, X + 3 * P, "write");
  k.madvise(mm, X, 4 * P, MADV_COLD);
  const young = (m: Mm) =>
    [0, 1, 2, 3].map((i) => {
      const p = m.pages.get(X / P + i);
      return p?.kind === "present" && p.young ? 1 : 0;
    });
  assertEquals(young(mm), [1, 1, 0, 0]);
  assertEquals(young(child), [0, 0, 0, 0]); // copy_present_pte made the child's old
  assertEquals(ptes(mm, 4), "pppp"); // no reclaim
});

Deno.test("MADV_COLD/PAGEOUT: EINVAL at a locked VMA after the ones before; ENOMEM over a hole", () => {
  //  [0,4) paged out | [4,5) locked -> EINVAL | [5,8) untouched     (host: first VMA's Rss 0)
  const { k, mm } = world();
  k.mmap(mm, X, 8 * P, RW, ANON);
  for (let i = 0; i < 8; i++) k.touch(mm, X + i * P, "write");
  k.mlock(mm, X + 4 * P, P);
  assertEquals(errnoOf(() => k.madvise(mm, X, 8 * P, MADV_COLD)), "EINVAL");
  assertEquals(errnoOf(() => k.madvise(mm, X, 8 * P, MADV_PAGEOUT)), "EINVAL");
  assertEquals(ptes(mm, 8), "sssspppp");
  k.munlock(mm, X, 8 * P);
  k.munmap(mm, X + 6 * P, P);
  assertEquals(errnoOf(() => k.madvise(mm, X, 8 * P, MADV_PAGEOUT)), "ENOMEM");
  assertEquals(ptes(mm, 8), "ssssss.s"); // the parts around the hole were still reclaimed
});

Deno.test("MADV_PAGEOUT of part of a large folio splits it and reclaims that part", () => {
  //  X              16    one 16-page folio; PAGEOUT of pages 4..7: split into 16 small
  //  folios, 4 reclaimed. PAGEOUT of all 16 after a fork: the folio is shared, not split.
  // Catches: a partly covered folio reclaimed whole, or a shared one split.
  const { k, mm } = world(4);
  k.mmap(mm, X, 16 * P, RW, ANON);
  // Every page written: the split would map a page that still holds zeroes to the zero page.
  for (let i = 0; i < 16; i++) k.touch(mm, X + i * P, "write");
  k.madvise(mm, X + 4 * P, 4 * P, MADV_PAGEOUT);
  assertEquals(ptes(mm, 16), "ppppsssspppppppp");
  assertEquals(mm.pages.get(X / P)?.kind === "present" && mm.pages.get(X / P)!.folio!.nrPages, 1);
  const { k: k2, mm: mm2 } = world(4);
  k2.mmap(mm2, X, 16 * P, RW, ANON);
  k2.touch(mm2, X, "write");
  k2.fork(mm2);
  k2.madvise(mm2, X + 4 * P, 4 * P, MADV_PAGEOUT);
  assertEquals(ptes(mm2, 16), "pppppppppppppppp");
  assertEquals(
    mm2.pages.get(X / P)!.kind === "present" && mm2.pages.get(X / P)!.folio!.nrPages,
    16,
  );
  // Whole and exclusive: reclaimed as one folio, one walk.
  const { k: k3, mm: mm3, walks } = world(4);
  k3.mmap(mm3, X, 16 * P, RW, ANON);
  k3.touch(mm3, X, "write");
  k3.madvise(mm3, X, 16 * P, MADV_PAGEOUT);
  assertEquals([ptes(mm3, 16), walks], ["ssssssssssssssss", ["unmap:1"]]);
});

Deno.test("trace replay: madvise(MADV_PAGEOUT) is replayed, and reclaims", () => {
  // Four pages populated by MAP_POPULATE, then paged out: 4 folios reclaimed by 4 unmap walks.
  const r = replayText(
    "pageout_tiny",
    [
      "9 mmap(NULL, 16384, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_POPULATE, -1, 0) " +
      "= 0x7f0000000000",
      "9 madvise(0x7f0000000000, 16384, MADV_PAGEOUT) = 0",
      "9 madvise(0x7f0000000000, 16384, MADV_COLD) = 0",
      "9 exit_group(0) = ?",
    ].join("\n"),
  );
  assertEquals([r.counters.folios_reclaimed, r.walks.unmap?.count], [4, 4]);
  assertEquals(
    r.notes!.find((n) => n.startsWith("Replayed calls")),
    "Replayed calls: exit_group 1, madvise 2, mmap 1",
  );
});
