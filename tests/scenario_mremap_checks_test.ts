// Which mremap calls Linux checks against the VMA at `addr` (mm/mremap.c of Linux 6.18:
// `check_prep_vma` calls `remap_is_valid` only when `vrm_will_map_new`, that is when the call
// grows or moves to a new address; for a shrink that moves, `remap_is_valid` checks only the kept
// part, "We permit crossing of boundaries for the range being unmapped due to a shrink"). A
// shrink in place unmaps `[addr + new_len, addr + old_len)` whatever lies there; a same-size call
// in place returns `addr` without looking. Found by random scenarios compared with this host's
// kernel (`deno task verify`, tools/verify/scenarios/more_paths.scn): the model answered EFAULT.

import { assertEquals } from "./assert.ts";
import { errnoOf } from "./errno.ts";
import { Kernel } from "../core/kernel/kernel.ts";
import { AnonVmaScheme } from "../core/rmap/anon_vma.ts";
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  MAP_SHARED,
  type Mm,
  MREMAP_DONTUNMAP,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
} from "../core/kernel/types.ts";

const P = PAGE_SIZE;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
const SHMEM = MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED;
const X = 0x7f0000000000;
const pg = (n: number): number => X + n * P;
const xpg = X / P;

function setup(): { k: Kernel; mm: Mm } {
  const k = new Kernel({ scheme: new AnonVmaScheme(), params: { debugChecks: true } });
  return { k, mm: k.spawn() };
}

/** `[start, end, pgoff]` of each VMA in pages from X (pgoff from X's page too for anon VMAs). */
function layout(mm: Mm): [number, number, number][] {
  return [...mm.vmas].map((v) => [(v.start - X) / P, (v.end - X) / P, v.pgoff - xpg]);
}

function writeAll(k: Kernel, mm: Mm, from: number, pages: number): void {
  for (let i = 0; i < pages; i++) k.touch(mm, pg(from + i), "write");
}

/** A: anonymous [0, 4), faulted; a hole [4, 6); B: shmem [6, 10), faulted (pgoff 0). */
function twoWithHole(): { k: Kernel; mm: Mm; shmemPgoff: number } {
  const { k, mm } = setup();
  k.mmap(mm, pg(0), 4 * P, RW, ANON);
  k.mmap(mm, pg(6), 4 * P, RW, SHMEM);
  writeAll(k, mm, 0, 4);
  writeAll(k, mm, 6, 4);
  const b = mm.vmas.find(pg(6))!;
  return { k, mm, shmemPgoff: b.pgoff };
}

Deno.test("mremap shrink in place across a hole and into the next VMA: the tail is unmapped", () => {
  //  0       4   6       10          0   2       8   10
  //  |A*     |   |B* shm |   mremap  |A* |       |B* |   B keeps its last two pages, pgoff 2
  //  +-------+   +-------+   0 8->2  +---+       +---+
  const { k, mm, shmemPgoff } = twoWithHole();
  assertEquals(k.slab.live("anon_vma"), 1);
  assertEquals(k.mremap(mm, pg(0), 8 * P, 2 * P, 0), pg(0));
  assertEquals(layout(mm).slice(0, 1), [[0, 2, 0]]);
  const b = mm.vmas.find(pg(8))!;
  assertEquals([(b.start - X) / P, (b.end - X) / P, b.pgoff - shmemPgoff], [8, 10, 2]);
  assertEquals(mm.mapCount, 2);
  // A's two unmapped pages are freed; its anon_vma and AVC stay with the kept part.
  assertEquals(k.slab.live("anon_vma"), 1);
  assertEquals(k.slab.live("anon_vma_chain"), 1);
  assertEquals(k.liveAnonFolios.length, 2);
  // With MAYMOVE the same: a shrink never moves unless FIXED.
  const t = twoWithHole();
  assertEquals(t.k.mremap(t.mm, pg(0), 8 * P, 2 * P, MREMAP_MAYMOVE), pg(0));
  assertEquals(t.mm.mapCount, 2);
});

Deno.test("mremap of the same size in place returns the address without checking the range", () => {
  //  0       4             0       4
  //  |A*     |   mremap    |A*     |   unchanged; old_len 8 runs past A's end
  //  +-------+   0 8->8    +-------+
  const { k, mm } = setup();
  k.mmap(mm, pg(0), 4 * P, RW, ANON);
  writeAll(k, mm, 0, 4);
  assertEquals(k.mremap(mm, pg(0), 8 * P, 8 * P, 0), pg(0));
  assertEquals(k.mremap(mm, pg(0), 8 * P, 8 * P, MREMAP_MAYMOVE), pg(0));
  assertEquals(layout(mm), [[0, 4, 0]]);
  assertEquals(k.liveAnonFolios.length, 4);
  // Growing checks it: [0, 8) does not lie in A.
  assertEquals(errnoOf(() => k.mremap(mm, pg(0), 8 * P, 9 * P, MREMAP_MAYMOVE)), "EFAULT");
  // So does DONTUNMAP, which moves (old_len == new_len).
  assertEquals(
    errnoOf(() => k.mremap(mm, pg(0), 8 * P, 8 * P, MREMAP_MAYMOVE | MREMAP_DONTUNMAP)),
    "EFAULT",
  );
  assertEquals(layout(mm), [[0, 4, 0]]);
});

Deno.test("mremap shrink with a move: only the kept part must lie in the VMA", () => {
  //  0       4   6       10           3 4     8   10      40  43
  //  |A*     |   |B*     |   mremap   |A|     |B* |       |A* |   A [0,3) moved, keeps pgoff;
  //  +-------+   +-------+   0 8->3   +-+     +---+       +---+   A [3,4) and B [6,8) unmapped
  //                          to 40
  const { k, mm } = setup();
  k.mmap(mm, pg(0), 4 * P, RW, ANON);
  k.mmap(mm, pg(6), 4 * P, PROT_READ, ANON);
  writeAll(k, mm, 0, 4);
  k.touch(mm, pg(6), "read");
  const fixed = MREMAP_MAYMOVE | MREMAP_FIXED;
  // The kept part [0, 6) runs past A's end: EFAULT, nothing changed.
  assertEquals(errnoOf(() => k.mremap(mm, pg(0), 8 * P, 6 * P, fixed, pg(40))), "EFAULT");
  assertEquals(layout(mm), [[0, 4, 0], [6, 10, 6]]);
  // The kept part [0, 3) lies in A: the tail [3, 8) is unmapped across the hole, then A moves.
  assertEquals(k.mremap(mm, pg(0), 8 * P, 3 * P, fixed, pg(40)), pg(40));
  assertEquals(layout(mm), [[8, 10, 8], [40, 43, 0]]);
  assertEquals(k.liveAnonFolios.length, 3);
  assertEquals(k.slab.live("vm_area_struct"), 2);
});

// `remap_move` (mm/mremap.c since 6.17): a FIXED call of equal lengths, DONTUNMAP or not
// (`vrm_move_only`), moves every VMA of the range piece by piece, each through `mremap_to`, which
// clears only that piece's destination. Also found by random scenarios against this host.

Deno.test("mremap multi-VMA move: the destination under the source's gap keeps its mapping", () => {
  //  0       4   6       10        18                  28
  //  |A*     |   |B*     |         |C                  |     source [0, 10) -> 20:
  //  +-------+   +-------+         +-------------------+     A to [20, 24), B to [26, 30)
  //  after:                        18  20      24  26      30
  //                                |C  |A*     |C  |B*     |   C's [24, 26), under the gap, stays
  const { k, mm } = setup();
  k.mmap(mm, pg(0), 4 * P, RW, ANON);
  k.mmap(mm, pg(6), 4 * P, RW, ANON);
  k.mmap(mm, pg(18), 10 * P, PROT_READ, ANON);
  writeAll(k, mm, 0, 4);
  writeAll(k, mm, 6, 4);
  const fixed = MREMAP_MAYMOVE | MREMAP_FIXED;
  assertEquals(k.mremap(mm, pg(0), 10 * P, 10 * P, fixed, pg(20)), pg(20));
  assertEquals(layout(mm), [[18, 20, 18], [20, 24, 0], [24, 26, 24], [26, 30, 6]]);
  assertEquals(k.liveAnonFolios.length, 8);
  assertEquals(k.counters["mremap_multi_vma"], 1);
});

Deno.test("mremap multi-VMA move with DONTUNMAP: every piece moves, every source stays", () => {
  //  0       4   6       10           0       4   6       10   20      24  26      30
  //  |A*     |   |B*     |   mremap   |A      |   |B      |    |A*     |   |B*     |
  //  +-------+   +-------+   ->20     +-------+   +-------+    +-------+   +-------+
  const { k, mm } = setup();
  k.mmap(mm, pg(0), 4 * P, RW, ANON);
  k.mmap(mm, pg(6), 4 * P, RW, ANON);
  writeAll(k, mm, 0, 4);
  writeAll(k, mm, 6, 4);
  const flags = MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP;
  assertEquals(k.mremap(mm, pg(0), 10 * P, 10 * P, flags, pg(20)), pg(20));
  assertEquals(layout(mm), [[0, 4, 0], [6, 10, 6], [20, 24, 0], [26, 30, 6]]);
  // The pages moved; the sources are empty (a refault would allocate anew).
  assertEquals(k.pte(mm, pg(0)), undefined);
  assertEquals(k.pte(mm, pg(26))?.kind, "present");
  assertEquals(k.liveAnonFolios.length, 8);
});

Deno.test("mremap move of a uffd-armed VMA alone, but not when the range runs on past it", () => {
  //  0       4       8        a uffd-armed A: vma_multi_allowed is false, so A moves only when
  //  |A* uffd|  gap  |        the range ends within it; the range [0, 8) runs past it: EFAULT
  //  +-------+-------+
  const { k, mm } = setup();
  k.mmap(mm, pg(0), 4 * P, RW, ANON);
  writeAll(k, mm, 0, 4);
  k.userfaultfd(mm).register(pg(0), 4 * P);
  const fixed = MREMAP_MAYMOVE | MREMAP_FIXED;
  assertEquals(errnoOf(() => k.mremap(mm, pg(0), 8 * P, 8 * P, fixed, pg(40))), "EFAULT");
  assertEquals(layout(mm), [[0, 4, 0]]);
  // Within A it moves (and the moved VMA drops the registration).
  assertEquals(k.mremap(mm, pg(0), 4 * P, 4 * P, fixed, pg(40)), pg(40));
  assertEquals(layout(mm), [[40, 44, 0]]);
});
