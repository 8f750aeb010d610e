// mremap growth in place merges with the next VMA (mm/mremap.c `expand_vma_in_place` →
// `vma_merge_extend`, which is `vma_merge_new_range` of the added range with the grown VMA as
// prev). Found by `deno task verify` (tools/verify/scenarios/mremap_test.scn, the
// selftests/mm/mremap_test.c expand-merge cases): the model used to extend the VMA only.

import { assertEquals } from "./assert.ts";
import { Kernel } from "../core/kernel/kernel.ts";
import { AnonVmaScheme } from "../core/rmap/anon_vma.ts";
import {
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
const pg = (n: number): number => X + n * P;
const xpg = X / P;

function setup(): { k: Kernel; mm: Mm } {
  const s = new AnonVmaScheme();
  const k = new Kernel({ scheme: s, params: { debugChecks: true } });
  return { k, mm: k.spawn() };
}

function layout(mm: Mm): [number, number, number][] {
  return [...mm.vmas].map((v) => [(v.start - X) / P, (v.end - X) / P, v.pgoff - xpg]);
}

Deno.test("mremap grow in place into a one-page hole merges with the next VMA (unfaulted)", () => {
  //  0   1   2   3            0   1   2   3
  //  |A  |   |B  |   mremap   |A'         |
  //  +---+   +---+   A 1->2   +-----------+
  const { k, mm } = setup();
  k.mmap(mm, pg(0), 3 * P, RW, ANON);
  k.munmap(mm, pg(1), P);
  assertEquals(layout(mm), [[0, 1, 0], [2, 3, 2]]);
  assertEquals(k.mremap(mm, pg(0), P, 2 * P, 0), pg(0));
  assertEquals(layout(mm), [[0, 3, 0]]);
  assertEquals(k.counters["merges"] ?? 0, 1);
  assertEquals(k.slab.live("vm_area_struct"), 1);
  assertEquals(k.slab.live("anon_vma"), 0);
});

Deno.test("mremap grow in place merges faulted pieces of one anon_vma; the hole's fault reuses it", () => {
  //  0   1   2   3            0   1   2   3
  //  |A* |   |A* |   mremap   |A*         |   one anon_vma, one AVC
  //  +---+   +---+   A 1->2   +-----------+
  const { k, mm } = setup();
  k.mmap(mm, pg(0), 3 * P, RW, ANON);
  for (let i = 0; i < 3; i++) k.touch(mm, pg(i), "write");
  k.munmap(mm, pg(1), P);
  assertEquals(layout(mm), [[0, 1, 0], [2, 3, 2]]);
  assertEquals(k.slab.live("anon_vma_chain"), 2);
  k.mremap(mm, pg(0), P, 2 * P, 0);
  assertEquals(layout(mm), [[0, 3, 0]]);
  assertEquals(k.slab.live("vm_area_struct"), 1);
  assertEquals(k.slab.live("anon_vma_chain"), 1);
  assertEquals(k.slab.live("anon_vma"), 1);
  k.touch(mm, pg(1), "write");
  assertEquals(k.slab.live("anon_vma"), 1);
});

Deno.test("mremap grow in place stops short of the next VMA: an extension, not a merge", () => {
  //  0   1   2   3   4            0   1   2   3   4
  //  |A  |       |B  |   mremap   |A'     |   |B  |
  //  +---+       +---+   A 1->2   +-------+   +---+
  const { k, mm } = setup();
  k.mmap(mm, pg(0), P, RW, ANON);
  k.mmap(mm, pg(3), P, RW, ANON);
  k.mremap(mm, pg(0), P, 2 * P, 0);
  assertEquals(layout(mm), [[0, 2, 0], [3, 4, 3]]);
  assertEquals(k.counters["merges"] ?? 0, 0);
});

Deno.test("mremap grow in place next to a VMA with another anon_vma: extended, merge refused", () => {
  //  0   1   2   3            0   1   2   3
  //  |A* |   |B* |   mremap   |A*     |B* |   two anon_vmas stay apart
  //  +---+   +---+   A 1->2   +-------+---+
  const { k, mm } = setup();
  k.mmap(mm, pg(0), P, RW, ANON);
  k.touch(mm, pg(0), "write");
  k.mmap(mm, pg(2), P, RW, ANON);
  k.touch(mm, pg(2), "write");
  assertEquals(k.slab.live("anon_vma"), 2);
  k.mremap(mm, pg(0), P, 2 * P, 0);
  assertEquals(layout(mm), [[0, 2, 0], [2, 3, 2]]);
  assertEquals(k.counters["merge_failed_anon_vma"] ?? 0, 1);
});
