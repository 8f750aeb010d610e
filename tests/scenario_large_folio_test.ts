// Large (mTHP) anonymous folios in the classic model: kernel.anonFolioOrder = 4 gives naturally
// aligned, PTE-mapped 16-page (64 KiB) folios on write faults (alloc_anon_folio). Walks query
// [index, index + 15]; a folio split across VMAs by mremap is found through both; CoW copies one
// page; reuse needs every mapping in the faulting mm; RELOCATE_ANON moves a large folio as a unit
// when the moved range spans it and splits it first otherwise (reference §5.2, §8.1, §10.2, §12.6).

import { assertEquals, assertThrows } from "./assert.ts";
import { Kernel, type WalkResult } from "../core/kernel/kernel.ts";
import { AnonVmaScheme } from "../core/rmap/anon_vma.ts";
import {
  type Folio,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  type Mm,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  MREMAP_MUST_RELOCATE_ANON,
  MREMAP_RELOCATE_ANON,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
  SyscallError,
} from "../core/kernel/types.ts";

const P = PAGE_SIZE;
const X = 0x7f0000000000; // 64 KiB aligned
const Y = X + 0x1000000;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
const RW = PROT_READ | PROT_WRITE;

function world(): { k: Kernel; s: AnonVmaScheme; walks: WalkResult[] } {
  const s = new AnonVmaScheme();
  const k = new Kernel({ scheme: s, params: { debugChecks: true, anonFolioOrder: 4 } });
  const walks: WalkResult[] = [];
  k.onWalk((r) => walks.push(r));
  return { k, s, walks };
}

const folioAt = (k: Kernel, mm: Mm, addr: number): Folio => k.pte(mm, addr)!.folio!;

Deno.test("mTHP: one write fault maps a whole aligned 16-page folio", () => {
  //  X         16        32
  //  [FFFFFFFFFFFFFFFF|................]   write at page 3 → folio F = pages 0..15
  const { k, s, walks } = world();
  const mm = k.spawn();
  k.mmap(mm, X, 32 * P, RW, ANON);
  k.touch(mm, X + 3 * P, "write");
  const f = folioAt(k, mm, X);
  assertEquals([f.nrPages, f.index, k.liveAnonFolios.length], [16, X / P, 1]);
  assertEquals(f.mapcount, new Array(16).fill(1));
  assertEquals(folioAt(k, mm, X + 15 * P), f);
  assertEquals(k.pte(mm, X + 16 * P), undefined);
  assertEquals(s.folioAnonVma(f), s.anonVmaOf([...mm.vmas][0]));
  k.migrateFolio(f);
  assertEquals(walks.map((w) => [w.visits, w.hits]), [[1, 1], [1, 1]]);
  // A VMA too small for an aligned 16-page range falls back to small folios.
  k.mmap(mm, Y, 8 * P, RW, ANON);
  k.touch(mm, Y, "write");
  assertEquals([folioAt(k, mm, Y).nrPages, k.counters.mthp_fallback], [1, 1]);
});

Deno.test("mTHP: fork shares the large folio; a CoW write copies one page", () => {
  const { k, walks } = world();
  const p = k.spawn();
  k.mmap(p, X, 16 * P, RW, ANON);
  k.touch(p, X, "write");
  const f = folioAt(k, p, X);
  const c = k.fork(p);
  assertEquals([f.mapcount[7], f.anonExclusive[7]], [2, false]);
  k.touch(c, X + 5 * P, "write");
  const copy = folioAt(k, c, X + 5 * P);
  assertEquals([copy.nrPages, copy.index, f.mapcount[5], f.mapcount[6]], [1, X / P + 5, 1, 2]);
  walks.length = 0;
  k.migrateFolio(f);
  // Both VMAs map some page of F: two visits, two hits; 31 PTEs mapped over both.
  assertEquals([walks[0].visits, walks[0].hits], [2, 2]);
  assertEquals(f.mappers.size, 31);
  // The child exits: the parent's next write reuses F in place — every mapping is the
  // parent's — without folio_move_anon_rmap (a large folio may span VMAs).
  k.exit(c);
  k.touch(p, X + 9 * P, "write");
  assertEquals([k.counters.faults_wp_reuse_large, k.counters.faults_cow_copy], [1, 1]);
  assertEquals(f.anonExclusive[9], true);
});

Deno.test("mTHP: a large folio with one page left mapped is copied, not reused", () => {
  const { k } = world();
  const p = k.spawn();
  k.mmap(p, X, 16 * P, RW, ANON);
  k.touch(p, X, "write");
  const c = k.fork(p);
  k.exit(c);
  k.munmap(p, X + P, 15 * P);
  const f = folioAt(k, p, X);
  assertEquals(f.mapcount.reduce((a, b) => a + b, 0), 1);
  k.touch(p, X, "write");
  assertEquals([k.counters.faults_cow_copy, folioAt(k, p, X) === f, f.freed], [1, false, true]);
});

Deno.test("mTHP: mremap of half a folio leaves it mapped by two VMAs; walks find both", () => {
  //  X: [AAAAAAAA|AAAAAAAA]  folio F over 16 pages
  //  mremap(X+8 → Y):  X: [AAAAAAAA]   Y: [AAAAAAAA]  (same anon_vma, pgoff X>>12 + 8)
  const { k, s, walks } = world();
  const mm = k.spawn();
  k.mmap(mm, X, 16 * P, RW, ANON);
  k.touch(mm, X, "write");
  const f = folioAt(k, mm, X);
  k.mremap(mm, X + 8 * P, 8 * P, 8 * P, MREMAP_MAYMOVE | MREMAP_FIXED, Y);
  const [a, b] = [...mm.vmas];
  assertEquals([a.start, b.start, b.pgoff], [X, Y, X / P + 8]);
  assertEquals([folioAt(k, mm, Y + 2 * P), k.pte(mm, Y + 2 * P)!.page], [f, 10]);
  assertEquals(s.anonVmaOf(a), s.anonVmaOf(b));
  walks.length = 0;
  k.migrateFolio(f);
  assertEquals([walks[0].visits, walks[0].hits, walks[0].useless], [2, 2, 0]);
  assertEquals(k.slab.live("anon_vma_chain"), 2);
});

Deno.test("mTHP: RELOCATE_ANON moves a spanned large folio as a unit", () => {
  const { k, s } = world();
  const mm = k.spawn();
  k.mmap(mm, X, 16 * P, RW, ANON);
  k.touch(mm, X, "write");
  const f = folioAt(k, mm, X);
  // The whole folio: relocated, re-indexed at the destination, in a fresh anon_vma.
  k.mremap(mm, X, 16 * P, 16 * P, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_RELOCATE_ANON, Y);
  const [v] = [...mm.vmas];
  assertEquals([v.start, v.pgoff, f.index, k.pte(mm, Y + 15 * P)!.page], [Y, Y / P, Y / P, 15]);
  assertEquals(s.folioAnonVma(f), s.anonVmaOf(v));
  assertEquals(k.counters.mremap_relocated, 1);
  assertEquals(k.counters.folios_split ?? 0, 0);
  k.migrateFolio(f);
});

Deno.test("mTHP: RELOCATE_ANON splits a partly covered large folio, then relocates per page", () => {
  //  X               X+8             X+16
  //  [F0 F1 ... F7   |F8 ... F15     ]    one 16-page folio F; move [X, X+8) to Y
  //  after: split_folio → 16 small folios; F0..F7 relocated to Y (index Y/P + i, Y's anon_vma),
  //         F8..F15 stay (index X/P + i, the old anon_vma).
  const { k, s } = world();
  const mm = k.spawn();
  k.mmap(mm, X, 16 * P, RW, ANON);
  // Every page written: the split would map a page that still holds zeroes to the zero page.
  for (let i = 0; i < 16; i++) k.touch(mm, X + i * P, "write");
  const f = folioAt(k, mm, X);
  const oldAv = s.folioAnonVma(f);
  k.mremap(mm, X, 8 * P, 8 * P, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_MUST_RELOCATE_ANON, Y);
  assertEquals([k.counters.relocate_split_folio, k.counters.folios_split], [1, 1]);
  assertEquals([k.counters.mremap_relocated, k.liveAnonFolios.length, f.nrPages], [1, 16, 1]);
  const [left, right] = [...mm.vmas].sort((a, b) => a.start - b.start);
  assertEquals([left.start, left.end, right.start, right.end], [
    X + 8 * P,
    X + 16 * P,
    Y,
    Y + 8 * P,
  ]);
  assertEquals([right.pgoff, left.pgoff], [Y / P, X / P + 8]);
  for (let i = 0; i < 8; i++) {
    const moved = folioAt(k, mm, Y + i * P);
    const stayed = folioAt(k, mm, X + (8 + i) * P);
    assertEquals([moved.nrPages, moved.index, moved.mapcount], [1, Y / P + i, [1]]);
    assertEquals([stayed.nrPages, stayed.index, stayed.mapcount], [1, X / P + 8 + i, [1]]);
    assertEquals(s.folioAnonVma(moved), s.anonVmaOf(right));
    assertEquals(s.folioAnonVma(stayed), oldAv);
    k.migrateFolio(moved);
    k.migrateFolio(stayed);
  }
  assertEquals(folioAt(k, mm, Y), f);
});

Deno.test("mTHP: a pinned large folio cannot be split: RELOCATE_ANON gives up", () => {
  const { k } = world();
  const mm = k.spawn();
  k.mmap(mm, X, 16 * P, RW, ANON);
  k.touch(mm, X, "write");
  const f = folioAt(k, mm, X);
  k.setPinned(f, true); // extra references: split_folio fails
  assertThrows(
    () =>
      k.mremap(mm, X, 8 * P, 8 * P, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_MUST_RELOCATE_ANON, Y),
    SyscallError,
    "EFAULT",
  );
  assertEquals([[...mm.vmas].length, f.nrPages, k.counters.folios_split ?? 0], [1, 16, 0]);
});
