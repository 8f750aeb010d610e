// Swap devices without synchronous I/O (`swapSyncIo: false`: a disk or a swap file), against the
// default zram-like device. Linux 6.18: mm/vmscan.c `shrink_folio_list` keeps a folio whose
// writeback is still under way (`swap_writepage_bdev_async`, mm/page_io.c) in the swap cache,
// where `mincore` counts it; mm/memory.c `do_swap_page` maps it from there and keeps it there
// unless `should_try_to_free_swap`; a clean folio already in the swap cache is freed by reclaim at
// once; the last swap entry of its slot frees it (`free_swap_and_cache_nr`). Read on this host
// with a temporary swap file first; tools/verify/scenarios/resident.scn checks the residency
// steps against it. Each test names the bug it catches.
//
//   VMA [pppppppp]  8 written pages at X, one order-0 folio each

import { assertEquals } from "./assert.ts";
import { Kernel } from "../core/kernel/kernel.ts";
import { AnonVmaScheme } from "../core/rmap/anon_vma.ts";
import { AnonVmaLazyScheme } from "../core/rmap/anon_vma_lazy.ts";
import type { RmapScheme } from "../core/rmap/scheme.ts";
import {
  type Folio,
  MADV_DONTDUMP,
  MADV_DONTNEED,
  MADV_PAGEOUT,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  type Mm,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  MREMAP_MUST_RELOCATE_ANON,
  PAGE_SIZE,
  type PresentPte,
  PROT_READ,
  PROT_WRITE,
  type SwapSlot,
} from "../core/kernel/types.ts";

const P = PAGE_SIZE;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
const X = 0x7f0000000000;

function world(
  swapSyncIo: boolean,
  scheme: RmapScheme = new AnonVmaScheme(),
): { k: Kernel; mm: Mm; folios: Folio[] } {
  const k = new Kernel({ scheme, params: { debugChecks: true, swapSyncIo } });
  const mm = k.spawn();
  k.mmap(mm, X, 8 * P, RW, ANON);
  for (let i = 0; i < 8; i++) k.touch(mm, X + i * P, "write");
  const folios = [...Array(8).keys()].map((i) => k.pte(mm, X + i * P)!.folio!);
  return { k, mm, folios };
}

/** mincore's vector of the 8 pages as a string of 0 and 1. */
function res(k: Kernel, mm: Mm): string {
  return [...k.mincore(mm, X, 8 * P)].join("");
}

/** Each page's PTE kind, one letter: p(resent), s(wap). */
function kinds(k: Kernel, mm: Mm): string {
  return [...Array(8).keys()].map((i) => k.pte(mm, X + i * P)?.kind[0] ?? ".").join("");
}

function present(k: Kernel, mm: Mm, page: number): PresentPte {
  const pte = k.pte(mm, X + page * P);
  if (pte?.kind !== "present") throw new Error(`page ${page} is not present`);
  return pte;
}

function swapSlot(k: Kernel, mm: Mm, page: number): SwapSlot {
  const pte = k.pte(mm, X + page * P);
  if (pte?.kind !== "swap") throw new Error(`page ${page} is not swapped out`);
  return pte.swap;
}

function count(k: Kernel, name: string): number {
  return k.counters[name] ?? 0;
}

Deno.test("swap writeback: an asynchronous device keeps swapped-out folios in the swap cache", () => {
  // Bug caught: reclaim that frees a folio whose writeback is still running (the host's mincore
  // still counts it), or that keeps one on zram, which completes its writeback synchronously.
  const a = world(false);
  a.k.madvise(a.mm, X, 8 * P, MADV_PAGEOUT);
  assertEquals([kinds(a.k, a.mm), res(a.k, a.mm), a.k.liveAnonFolios.length], [
    "ssssssss",
    "11111111",
    8,
  ]);
  assertEquals(
    [count(a.k, "folios_reclaimed"), count(a.k, "swapcache_writeback_kept")],
    [8, 8],
  );
  assertEquals(a.folios.every((f) => !f.freed && !f.mapped()), true);
  const s = world(true);
  s.k.madvise(s.mm, X, 8 * P, MADV_PAGEOUT);
  assertEquals([kinds(s.k, s.mm), res(s.k, s.mm), s.k.liveAnonFolios.length], [
    "ssssssss",
    "00000000",
    0,
  ]);
  assertEquals(count(s.k, "swapcache_writeback_kept"), 0);
});

Deno.test("swap writeback: swap-ins map the cached folio; a read keeps it cached, a write frees the slot", () => {
  // Bug caught: a swap-in that allocates a new folio although the swap cache has one (a second
  // copy of the page), or that keeps the swap slot on a write fault (should_try_to_free_swap),
  // so that the next reclaim would free a dirty folio without writing it.
  const { k, mm, folios } = world(false);
  k.madvise(mm, X, 8 * P, MADV_PAGEOUT);
  const [slot0, slot1] = [swapSlot(k, mm, 0), swapSlot(k, mm, 1)];
  k.touch(mm, X, "read");
  k.touch(mm, X + P, "write");
  assertEquals([kinds(k, mm), res(k, mm)], ["ppssssss", "11111111"]);
  assertEquals([slot0.count, slot0.cached, slot1.count, slot1.cached], [0, folios[0], 0, null]);
  assertEquals([k.pte(mm, X)!.folio, k.pte(mm, X + P)!.folio], [folios[0], folios[1]]);
  assertEquals([count(k, "faults_swapin_cached"), count(k, "faults_swapin")], [2, 0]);
  // The read kept page 0 in the swap cache (clean): the next reclaim frees it at once. Page 1
  // left it (the write), so reclaim writes it again and keeps it while that runs.
  k.madvise(mm, X, 2 * P, MADV_PAGEOUT);
  assertEquals([kinds(k, mm), res(k, mm)], ["ssssssss", "01111111"]);
  assertEquals([folios[0].freed, folios[1].freed], [true, false]);
  assertEquals([count(k, "folios_reclaimed"), count(k, "swapcache_writeback_kept")], [10, 9]);
  // Page 0 comes back from the device: a new folio, kept in the swap cache after the read.
  k.touch(mm, X, "read");
  const again = k.pte(mm, X)!.folio!;
  assertEquals([again !== folios[0], again.freed], [true, false]);
  assertEquals(count(k, "faults_swapin"), 1);
  k.madvise(mm, X, P, MADV_PAGEOUT);
  assertEquals([again.freed, res(k, mm)], [true, "01111111"]);
});

Deno.test("swap writeback: a cached folio mapped dirty is written again and kept", () => {
  // Bug caught: reclaim that takes a folio still in the swap cache for clean although it was
  // written through a writable PTE since its swap-in (no fault: only the PTE's dirty bit says so).
  const { k, mm, folios } = world(false);
  k.madvise(mm, X, 8 * P, MADV_PAGEOUT);
  k.touch(mm, X + 2 * P, "read"); // exclusive: mapped writable, clean, still cached
  assertEquals([present(k, mm, 2).writable, present(k, mm, 2).dirty], [true, false]);
  k.touch(mm, X + 2 * P, "write"); // no fault: the dirty bit
  assertEquals(present(k, mm, 2).dirty, true);
  k.madvise(mm, X + 2 * P, P, MADV_PAGEOUT);
  assertEquals([folios[2].freed, res(k, mm), count(k, "swapcache_writeback_kept")], [
    false,
    "11111111",
    9,
  ]);
});

Deno.test("swap writeback: the last swap entry, or a later reclaim, frees a cached folio, without a walk", () => {
  // Bug caught: a folio left in the swap cache for ever once its entries are gone (a leak the
  // exit check would report), or a reclaim that walks the rmap of a folio nothing maps.
  const { k, mm, folios } = world(false);
  k.madvise(mm, X, 8 * P, MADV_PAGEOUT);
  k.madvise(mm, X + 2 * P, 2 * P, MADV_DONTNEED);
  assertEquals([kinds(k, mm), res(k, mm), folios[2].freed, folios[3].freed], [
    "ss..ssss",
    "11001111",
    true,
    true,
  ]);
  // kswapd reaching a folio only the swap cache holds: freed, no walk.
  const walks: string[] = [];
  k.onWalk((r) => walks.push(r.kind));
  assertEquals([k.tryToUnmap(folios[4]), folios[4].freed, walks], [true, true, []]);
  assertEquals([count(k, "swapcache_freed"), res(k, mm)], [1, "11000111"]);
  // Page 4 comes back from the device.
  k.touch(mm, X + 4 * P, "read");
  assertEquals([count(k, "faults_swapin"), res(k, mm)], [1, "11001111"]);
  k.exit(mm);
  assertEquals(k.liveAnonFolios.length, 0);
});

Deno.test("swap writeback: a swap-in into a VM_LOCKED VMA leaves the swap cache", () => {
  // Bug caught: should_try_to_free_swap's VM_LOCKED case missed (an mlocked page's swap slot
  // kept, so that the swap space is not given back while the page is locked in memory).
  const { k, mm, folios } = world(false);
  k.madvise(mm, X, 8 * P, MADV_PAGEOUT);
  // Read-only, so that mlock's populate reads (a writable private VMA's populate writes).
  k.mprotect(mm, X, 8 * P, PROT_READ);
  k.mlock(mm, X, 8 * P); // populates: eight read swap-ins
  assertEquals([kinds(k, mm), count(k, "faults_swapin_cached")], ["pppppppp", 8]);
  // Clean and no longer in the swap cache: munlock, then reclaim writes each one again.
  k.munlock(mm, X, 8 * P);
  k.madvise(mm, X, 8 * P, MADV_PAGEOUT);
  assertEquals([folios.every((f) => !f.freed), res(k, mm)], [true, "11111111"]);
  assertEquals(count(k, "swapcache_writeback_kept"), 16);
});

Deno.test("swap entries: fork clears pte_swp_exclusive in both, so neither swap-in maps the page writable", () => {
  //   parent [s.......] --fork--> child [s.......]   one slot, two entries
  // Bug caught: a parent entry that stays exclusive after fork (copy_nonpresent_pte clears it):
  // its swap-in would map the page writable, and the parent's writes would reach the child.
  for (const sync of [true, false]) {
    const { k, mm } = world(sync);
    k.madvise(mm, X, P, MADV_PAGEOUT);
    const own = k.pte(mm, X);
    assertEquals(own?.kind === "swap" && own.exclusive, true);
    const child = k.fork(mm);
    assertEquals([k.pte(mm, X), k.pte(child, X)].map((p) => p?.kind === "swap" && p.exclusive), [
      false,
      false,
    ]);
    assertEquals(swapSlot(k, mm, 0).count, 2);
    k.touch(mm, X, "read");
    k.touch(child, X, "read");
    const [a, b] = [present(k, mm, 0), present(k, child, 0)];
    assertEquals(
      [a.folio === b.folio, a.writable, b.writable],
      [true, false, false],
      `sync ${sync}`,
    );
    k.touch(mm, X, "write"); // CoW: the parent gets its own copy
    assertEquals(present(k, mm, 0).folio !== b.folio, true);
  }
});

Deno.test("swap cache: reclaim frees a clean swapped-in folio although another entry refers to its slot", () => {
  //   parent [s.......] --fork--> child [s.......]   one slot, two entries; the parent swaps in
  // Bug caught: a clean folio kept in the swap cache for the child's entry after the parent's
  // mapping was reclaimed again (`__remove_mapping` drops it; the child reads it back from the
  // device), so that memory nothing maps stays allocated until the child touches it.
  const { k, mm } = world(true);
  k.madvise(mm, X, P, MADV_PAGEOUT);
  const child = k.fork(mm);
  k.touch(mm, X, "read"); // a new folio, kept in the swap cache for the child's entry
  const f = present(k, mm, 0).folio;
  assertEquals([swapSlot(k, child, 0).count, swapSlot(k, child, 0).cached], [1, f]);
  k.madvise(mm, X, P, MADV_PAGEOUT);
  assertEquals([f.freed, swapSlot(k, child, 0).cached, res(k, child).slice(0, 1)], [
    true,
    null,
    "0",
  ]);
  k.touch(child, X, "read");
  assertEquals([count(k, "faults_swapin"), count(k, "faults_swapin_cached")], [2, 0]);
});

// MREMAP_RELOCATE_ANON skips non-present entries (docs/model.md §10.2): a swapped-out page's
// folio, still in the swap cache, keeps its old anon_vma and index while its entry moves. Linux
// 6.18 mm/memory.c `do_swap_page` asks mm/ksm.c `ksm_might_need_to_copy`, which copies the page
// into a new exclusive folio when the cached folio's index or anon_vma root does not fit the VMA.
//
//   X                 X+8P                 Y = X + 64P
//   [ss|ss|ssss]                           8 pages swapped out, each folio kept in the swap cache
//   [ss]      [ssss]                 [ss]  pages 2-3 relocated to Y: pgoff Y/P, a fresh anon_vma
const Y = X + 64 * P;
const RELOCATE = MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_MUST_RELOCATE_ANON;

Deno.test("swap cache after RELOCATE_ANON: a swap-in at the new place copies the cached folio", () => {
  // Bug caught: the swap-in maps the cached folio at Y with its old index and anon_vma (no walk
  // from it reaches Y: reclaim would miss the mapping; the model threw "page 64 outside folio").
  const { k, mm, folios } = world(false);
  k.madvise(mm, X, 8 * P, MADV_PAGEOUT);
  const slot = swapSlot(k, mm, 2);
  k.mremap(mm, X + 2 * P, 2 * P, 2 * P, RELOCATE, Y);
  assertEquals([kinds(k, mm), k.pte(mm, Y)?.kind, k.pte(mm, Y + P)?.kind], [
    "ss..ssss",
    "swap",
    "swap",
  ]);
  assertEquals([slot.cached, folios[2].index, mm.vmas.find(Y)!.pgoff], [
    folios[2],
    X / P + 2,
    Y / P,
  ]);
  k.touch(mm, Y, "read");
  const copy = k.pte(mm, Y) as PresentPte;
  assertEquals([copy.folio !== folios[2], copy.folio.index, copy.writable], [true, Y / P, true]);
  // The slot's last entry went: the old folio leaves the swap cache and is freed.
  assertEquals([folios[2].freed, slot.cached, slot.count], [true, null, 0]);
  assertEquals([count(k, "faults_swapin_copied"), count(k, "faults_swapin_cached")], [1, 0]);
  // The copy is reachable: reclaim unmaps it through Y's anon_vma.
  k.madvise(mm, Y, P, MADV_PAGEOUT);
  assertEquals([k.pte(mm, Y)?.kind, count(k, "folios_reclaimed")], ["swap", 9]);
});

Deno.test("swap cache after RELOCATE_ANON: moved back beside its anon_vma, the cached folio is mapped", () => {
  // Bug caught: a copy where the cached folio fits (the relocation back reuses the neighbours'
  // anon_vma and gives the page its old index): a second copy of the page, the cached one left.
  const { k, mm, folios } = world(false);
  k.madvise(mm, X, 8 * P, MADV_PAGEOUT);
  k.mremap(mm, X + 2 * P, 2 * P, 2 * P, RELOCATE, Y);
  k.mremap(mm, Y, 2 * P, 2 * P, RELOCATE, X + 2 * P);
  // The three VMAs merged back into one: the relocation took the neighbours' anon_vma.
  const v = mm.vmas.find(X + 2 * P)!;
  assertEquals([kinds(k, mm), v.start, v.end, v.pgoff], ["ssssssss", X, X + 8 * P, X / P]);
  k.touch(mm, X + 2 * P, "read");
  assertEquals([present(k, mm, 2).folio, count(k, "faults_swapin_copied")], [folios[2], 0]);
  assertEquals(count(k, "faults_swapin_cached"), 1);
});

Deno.test("swap cache after RELOCATE_ANON: moved back alone, the index fits but the anon_vma does not", () => {
  //   [ss]  [ssss]  unmapped: the source's anon_vma is freed; Y moved back gets a fresh one
  // Bug caught: a fit judged by the index alone: the cached folio, whose anon_vma is gone, is
  // mapped at its old index in a VMA whose anon_vma no walk from it reaches.
  const { k, mm, folios } = world(false);
  k.madvise(mm, X, 8 * P, MADV_PAGEOUT);
  k.mremap(mm, X + 2 * P, 2 * P, 2 * P, RELOCATE, Y);
  k.munmap(mm, X, 2 * P);
  k.munmap(mm, X + 4 * P, 4 * P);
  k.mremap(mm, Y, 2 * P, 2 * P, RELOCATE, X + 2 * P);
  assertEquals([kinds(k, mm), mm.vmas.find(X + 2 * P)!.pgoff, folios[2].index], [
    "..ss....",
    X / P + 2,
    X / P + 2,
  ]);
  k.touch(mm, X + 2 * P, "read");
  assertEquals([present(k, mm, 2).folio !== folios[2], folios[2].freed], [true, true]);
  assertEquals([count(k, "faults_swapin_copied"), count(k, "faults_swapin_cached")], [1, 0]);
});

Deno.test("swap cache after RELOCATE_ANON: anon_vma_lazy lets a group end with only cached folios", () => {
  // Bug caught: the lazy group of the source ends when its last VMA is unmapped while the
  // relocated pages' folios, unmapped in the swap cache, still name it ("lazy group emptied with
  // 2 live folios"); and, after, a swap-in that maps such a folio without a group.
  const lazy = new AnonVmaLazyScheme();
  const { k, mm, folios } = world(false, lazy);
  k.madvise(mm, X, 8 * P, MADV_PAGEOUT);
  k.mremap(mm, X + 2 * P, 2 * P, 2 * P, RELOCATE, Y);
  k.munmap(mm, X, 8 * P);
  assertEquals(lazy.counters().lazy_stale_swapcache_folios, 2);
  assertEquals([folios[2].freed, folios[3].freed, k.liveAnonFolios.length], [false, false, 2]);
  k.touch(mm, Y + P, "write");
  const copy = k.pte(mm, Y + P) as PresentPte;
  assertEquals([copy.kind, copy.folio !== folios[3], folios[3].freed], ["present", true, true]);
  assertEquals([count(k, "faults_swapin_copied"), k.liveAnonFolios.length], [1, 2]);
});

Deno.test("swap cache after RELOCATE_ANON: moved back beside an incompatible neighbour, the cached folio is copied", () => {
  //   X     X+2P  X+4P          X+8P
  //   [..]  [ss]  [ssss]                 pages 2-3 relocated to Y and back, pages 0-1 unmapped,
  //                ^ MADV_DONTDUMP       4-7 advised DONTDUMP (VM_DONTDUMP differs: not
  //                                      anon_vma_compatible, so the move back reuses nothing)
  // The folio of page 3, kept in the swap cache, still names the source's anon_vma (or lazy
  // group), which lives on through pages 4-7, and its index fits X+3P again: only the anon_vma
  // test of ksm_might_need_to_copy tells that the VMA's own anon_vma (group) is another, so the
  // swap-in copies it. Bug caught (anon_vma_lazy): a live group taken to fit any VMA, so the
  // cached folio is mapped in a VMA outside its group, where no walk from the folio reaches it.
  for (const scheme of [new AnonVmaScheme(), new AnonVmaLazyScheme()]) {
    const { k, mm, folios } = world(false, scheme);
    k.madvise(mm, X, 8 * P, MADV_PAGEOUT);
    k.mremap(mm, X + 2 * P, 2 * P, 2 * P, RELOCATE, Y);
    k.munmap(mm, X, 2 * P);
    k.madvise(mm, X + 4 * P, 4 * P, MADV_DONTDUMP);
    k.mremap(mm, Y, 2 * P, 2 * P, RELOCATE, X + 2 * P);
    const v = mm.vmas.find(X + 2 * P)!;
    assertEquals([kinds(k, mm), v.start, v.end, v.pgoff, folios[3].index], [
      "..ssssss",
      X + 2 * P,
      X + 4 * P,
      X / P + 2,
      X / P + 3,
    ]);
    assertEquals(count(k, "merge_failed_flags"), 1);
    k.touch(mm, X + 3 * P, "read");
    const copy = present(k, mm, 3).folio;
    assertEquals([copy !== folios[3], folios[3].freed], [true, true]);
    assertEquals([count(k, "faults_swapin_copied"), count(k, "faults_swapin_cached")], [1, 0]);
    // The copy is the VMA's own: reclaim reaches it through the VMA's anon_vma (group).
    k.madvise(mm, X + 3 * P, P, MADV_PAGEOUT);
    assertEquals([kinds(k, mm), count(k, "folios_reclaimed")], ["..ssssss", 9]);
  }
});
