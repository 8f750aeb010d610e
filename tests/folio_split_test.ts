// split_folio called directly (mm/huge_memory.c `__split_huge_page`, docs/model.md §10.2): the
// refusals that mremap's relocation path filters out before it calls it, and what each tail
// folio inherits from the page it was. Drawn as in tools/testing/vma: one 16-page anon folio F
// (kernel.anonFolioOrder = 4) in one VMA at X.

import { assertEquals } from "./assert.ts";
import { AnonVmaScheme } from "../core/rmap/anon_vma.ts";
import { newKernelState } from "../core/kernel/state.ts";
import { dupMm, exitMm, newMm } from "../core/kernel/fork.ts";
import { doMmap } from "../core/kernel/mmap.ts";
import { handleMmFault, markUserWrite } from "../core/kernel/memory.ts";
import { splitFolio } from "../core/kernel/folio.ts";
import type { KernelState } from "../core/kernel/state.ts";
import {
  type Folio,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  type Mm,
  PAGE_SIZE,
  type PresentPte,
  PROT_READ,
  PROT_WRITE,
  VM_LOCKED,
} from "../core/kernel/types.ts";

const P = PAGE_SIZE;
const X = 0x7f0000000000; // 64 KiB aligned

/**
 * A process with one 16-page anon folio F at X, faulted by a write to X; with `written`, every
 * page then written by the user (none holds the zeroes F was cleared with).
 */
function world(written = true): { k: KernelState; mm: Mm; f: Folio } {
  const k = newKernelState({ scheme: new AnonVmaScheme(), params: { anonFolioOrder: 4 } });
  const mm = newMm(k, null);
  doMmap(
    k,
    mm,
    X,
    16 * P,
    PROT_READ | PROT_WRITE,
    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
    null,
    0,
  );
  handleMmFault(k, mm, X, "write");
  const f = mm.pages.get(X / P)!.folio!;
  assertEquals(f.nrPages, 16);
  if (written) {
    for (let i = 0; i < 16; i++) {
      markUserWrite(mm.pages.get(X / P + i) as PresentPte);
    }
  }
  return { k, mm, f };
}

const folioAt = (mm: Mm, page: number): Folio => mm.pages.get(X / P + page)!.folio!;

Deno.test("split_folio: a DMA-pinned large folio is not split (extra references)", () => {
  //  [FFFFFFFFFFFFFFFF]  F pinned → split_folio fails, F stays one 16-page folio
  const { k, mm, f } = world();
  f.pinned = true;
  assertEquals(splitFolio(k, f), false);
  assertEquals([f.nrPages, folioAt(mm, 15), k.counters.folios_split ?? 0], [16, f, 0]);
  assertEquals(k.liveAnon.length, 1);
  // Unpinned, the same folio splits into 16.
  f.pinned = false;
  assertEquals(splitFolio(k, f), true);
  assertEquals([f.nrPages, k.counters.folios_split, k.liveAnon.length], [1, 1, 16]);
});

Deno.test("split_folio: each tail keeps its own page's PageAnonExclusive and index", () => {
  //  fork, child exits: every page of F shared, none exclusive; the parent's write to page 3 reuses
  //  F (mapped by one mm) and marks page 3 alone exclusive. After the split:
  //  page:      0  1  2  3  4 ... 15
  //  folio:     F  T1 T2 T3 T4 ... T15   index X/P + i, exclusive only at 3
  const { k, mm, f } = world();
  exitMm(k, dupMm(k, mm));
  handleMmFault(k, mm, X + 3 * P, "write");
  assertEquals(folioAt(mm, 3), f); // reused, not copied
  const before = Array.from({ length: 16 }, (_, i) => f.pageAnonExclusive(i));
  assertEquals(before.map((e, i) => e ? i : -1).filter((i) => i >= 0), [3]);
  assertEquals(splitFolio(k, f), true);
  const after = Array.from({ length: 16 }, (_, i) => {
    const t = folioAt(mm, i);
    return [t.nrPages, t.index - X / P, t.pageAnonExclusive(0), t.mapcount[0]];
  });
  assertEquals(
    after,
    Array.from({ length: 16 }, (_, i) => [1, i, i === 3, 1]),
  );
});

Deno.test("split_folio: pages that still hold the zeroes go to the shared zero page", () => {
  //  F faulted by a write to page 0 only: pages 1..15 hold the zeroes F was cleared with.
  //  page:    0  1  2 ... 15
  //  after:   F  z  z ... z      remap_page(RMP_USE_SHARED_ZEROPAGE): 15 tails freed at once
  //  In a VM_LOCKED VMA (or for an mlocked folio) every page keeps its folio.
  // Catches: a split that keeps zero-filled tails (KSM would then merge them), or that maps the
  // zero page into a locked VMA.
  const { k, mm, f } = world(false);
  assertEquals(splitFolio(k, f), true);
  const kinds = Array.from({ length: 16 }, (_, i) => mm.pages.get(X / P + i)!.kind);
  assertEquals(kinds, ["present", ...Array(15).fill("zero")]);
  assertEquals([k.liveAnon.length, k.counters.split_zero_page_remapped], [1, 15]);
  const locked = world(false);
  const vma = locked.mm.vmas.find(X)!;
  vma.flags |= VM_LOCKED;
  assertEquals(splitFolio(locked.k, locked.f), true);
  assertEquals([locked.k.liveAnon.length, locked.k.counters.split_zero_page_remapped ?? 0], [
    16,
    0,
  ]);
});
