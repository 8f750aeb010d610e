// PMD-size THP faults of private anonymous memory (core/kernel/huge_memory.ts; mm/huge_memory.c
// `do_huge_pmd_anonymous_page` and the PMD step of mm/memory.c `__handle_mm_fault`, Linux 6.18;
// docs/model.md §5.3), each checked against this host's kernel by tools/verify/scenarios/thp.scn.
// The THP sysfs mode is a kernel parameter (`thpEnabled`, default "madvise", as this host); a
// fault takes the PMD path only where the aligned 2 MiB lies in the VMA and no page table covers
// it, so the tests also pin when a table goes: munmap's free_pgtables, MADV_DONTNEED's reclaim of
// a whole emptied table, never a partial zap; fork gives the child a table wherever the parent
// has one. Each test names the bug it catches.

import { assertEquals } from "./assert.ts";
import { errnoOf } from "./errno.ts";
import { Kernel } from "../core/kernel/kernel.ts";
import type { CountingExec } from "../core/machine/exec.ts";
import type { Userfaultfd } from "../core/kernel/userfaultfd.ts";
import type { KernelParams } from "../core/kernel/params.ts";
import { AnonVmaScheme } from "../core/rmap/anon_vma.ts";
import {
  MADV_COLD,
  MADV_DONTNEED,
  MADV_FREE,
  MADV_HUGEPAGE,
  MADV_NOHUGEPAGE,
  MADV_PAGEOUT,
  MADV_POPULATE_WRITE,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  type Mm,
  MREMAP_DONTUNMAP,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  PAGE_SIZE,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
} from "../core/kernel/types.ts";

const P = PAGE_SIZE;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
/** 2 MiB aligned: pages [0, 512) and [512, 1024) are one page table each. */
const X = 0x7f0000000000;
const pg = (n: number): number => X + n * P;

function setup(params: Partial<KernelParams> = {}): { k: Kernel; mm: Mm } {
  const k = new Kernel({ scheme: new AnonVmaScheme(), params: { debugChecks: true, ...params } });
  return { k, mm: k.spawn() };
}

/** Pages of `[from, from + n)` mapped (present or zero page), as mincore counts them. */
function resident(k: Kernel, mm: Mm, from: number, n: number): number {
  return k.mincore(mm, pg(from), n * P).reduce((s, b) => s + (b & 1), 0);
}

/** `[nrPages, index]` of each live anon folio, in allocation order. */
function folios(k: Kernel): [number, number][] {
  return k.liveAnonFolios.map((f) => [f.nrPages, f.index - X / P]);
}

/** `[table, kind]` of each 2 MiB one PMD entry maps (`Mm.hugePmds`), tables counted from X. */
function hugePmds(mm: Mm): [number, string][] {
  return [...(mm.hugePmds ?? new Map()).entries()].map(([t, kind]) => [t - X / P / 512, kind]);
}

/** A: [0, 1024) rw, MADV_HUGEPAGE, nothing faulted. */
function hugeVma(params: Partial<KernelParams> = {}): { k: Kernel; mm: Mm } {
  const { k, mm } = setup(params);
  k.mmap(mm, X, 1024 * P, RW, ANON);
  k.madvise(mm, X, 1024 * P, MADV_HUGEPAGE);
  return { k, mm };
}

Deno.test("THP read fault: the huge zero page, and an anon_vma (the small-page read has none)", () => {
  // Catches: a THP read that skips vmf_anon_prepare (the host counts one anon_vma: verify's
  // thp-read-fault-zero-page), or one that allocates memory.
  //   0          512        1024
  //   |A hugepage:  zero x512 |          | read of page 0 maps pages 0..511 to the zero page
  const { k, mm } = hugeVma();
  k.touch(mm, pg(0), "read");
  assertEquals([k.slab.live("anon_vma"), k.slab.live("anon_vma_chain")], [1, 1]);
  assertEquals([resident(k, mm, 0, 1024), k.liveAnonFolios.length], [512, 0]);
  assertEquals([k.pte(mm, pg(0))?.kind, k.pte(mm, pg(511))?.kind, k.pte(mm, pg(512))], [
    "zero",
    "zero",
    undefined,
  ]);
  assertEquals(k.counters.faults_thp_zero_page, 1);
  // Without the huge zero page the read allocates a THP.
  const t = hugeVma({ thpUseZeroPage: false });
  t.k.touch(t.mm, pg(3), "read");
  assertEquals(folios(t.k), [[512, 0]]);
  // The small-page read of a VMA without MADV_HUGEPAGE: the zero page, no anon_vma.
  const s = setup();
  s.k.mmap(s.mm, X, 1024 * P, RW, ANON);
  s.k.touch(s.mm, pg(0), "read");
  assertEquals([s.k.slab.live("anon_vma"), resident(s.k, s.mm, 0, 1024)], [0, 1]);
});

Deno.test("THP write fault: one 512-page folio at the aligned 2 MiB; fork shares it, CoW copies a page", () => {
  // Catches: a THP placed at the faulting page instead of the aligned 2 MiB (index 5), one not
  // shared by fork, or a CoW that copies the whole THP (verify's thp-write-fault-fork-cow).
  // Also: a THP not noted as PMD-mapped (smaps' AnonHugePages, which verify compares), or a PMD
  // that stays whole through a CoW copy or a partial zap (both split it first).
  const { k, mm } = hugeVma();
  k.touch(mm, pg(5), "write");
  assertEquals(folios(k), [[512, 0]]);
  const f = k.liveAnonFolios[0];
  assertEquals([resident(k, mm, 0, 1024), k.counters.faults_thp], [512, 1]);
  assertEquals(hugePmds(mm), [[0, "thp"]]);
  const child = k.fork(mm);
  assertEquals(hugePmds(child), [[0, "thp"]]); // copy_huge_pmd
  k.touch(child, pg(7), "write");
  assertEquals(folios(k), [[512, 0], [1, 7]]);
  assertEquals([resident(k, child, 0, 1024), resident(k, mm, 0, 1024)], [512, 512]);
  assertEquals([f.totalMapcount(), hugePmds(child), hugePmds(mm)], [1023, [], [[0, "thp"]]]);
  k.madvise(mm, X, 3 * P, MADV_DONTNEED);
  assertEquals([resident(k, mm, 0, 1024), f.totalMapcount()], [509, 1020]);
  assertEquals(hugePmds(mm), []);
  assertEquals([k.slab.live("anon_vma"), k.slab.live("anon_vma_chain")], [2, 3]);
});

Deno.test("THP eligibility: the sysfs mode, VM_NOHUGEPAGE, and an aligned 2 MiB inside the VMA", () => {
  // Catches: a mode test that ignores "madvise" or "never", a VM_NOHUGEPAGE VMA taking a THP, or a
  // THP whose 2 MiB runs past the VMA (verify's thp-unaligned-vma, thp-nohugepage-populate).
  const plain = (params: Partial<KernelParams>, advice?: number): number => {
    const { k, mm } = setup(params);
    k.mmap(mm, X, 1024 * P, RW, ANON);
    if (advice !== undefined) k.madvise(mm, X, 1024 * P, advice);
    k.touch(mm, pg(600), "write");
    return k.liveAnonFolios[0].nrPages;
  };
  assertEquals(plain({}), 1); // madvise mode, no MADV_HUGEPAGE
  assertEquals(plain({}, MADV_HUGEPAGE), 512);
  assertEquals(plain({ thpEnabled: "always" }), 512);
  assertEquals(plain({ thpEnabled: "always" }, MADV_NOHUGEPAGE), 1);
  assertEquals(plain({ thpEnabled: "never" }, MADV_HUGEPAGE), 1);
  assertEquals(plain({ thp: false, thpEnabled: "always" }), 1);
  //   1                 512                1025
  //   |A hugepage: small | THP (512..1023)   |small|  only [512, 1024) is aligned and inside
  const { k, mm } = setup();
  k.mmap(mm, pg(1), 1024 * P, RW, ANON);
  k.madvise(mm, pg(1), 1024 * P, MADV_HUGEPAGE);
  k.touch(mm, pg(600), "read");
  k.touch(mm, pg(2), "read");
  k.touch(mm, pg(1024), "write");
  assertEquals(resident(k, mm, 1, 1024), 514);
  assertEquals([k.pte(mm, pg(1))?.kind, k.pte(mm, pg(3))?.kind], [undefined, undefined]);
  assertEquals(folios(k), [[1, 1024]]);
});

Deno.test("THP and page tables: a table left by a fault or a partial zap keeps the range small", () => {
  // Catches: pmd_none read as "no entry" (the model's count of entries), so that a THP lands over
  // an emptied table (verify's thp-table-exists, thp-dontneed-partial-keeps-table).
  //   0    5          512       1024
  //   |A  *small       |  THP     |   page 5 faulted before MADV_HUGEPAGE: its table stays
  const { k, mm } = setup();
  k.mmap(mm, X, 1024 * P, RW, ANON);
  k.touch(mm, pg(5), "write");
  k.madvise(mm, X, 1024 * P, MADV_HUGEPAGE);
  k.touch(mm, pg(600), "write");
  k.touch(mm, pg(10), "write");
  assertEquals(folios(k), [[1, 5], [512, 512], [1, 10]]);
  // A partial MADV_DONTNEED empties the table but leaves it.
  k.madvise(mm, pg(5), P, MADV_DONTNEED);
  k.madvise(mm, pg(10), P, MADV_DONTNEED);
  assertEquals([mm.ptePages.has(X / P / 512), mm.emptyTables?.has(X / P / 512)], [false, true]);
  k.touch(mm, pg(6), "write");
  assertEquals(folios(k).at(-1), [1, 6]);
});

Deno.test("THP and page tables: munmap and a whole-table MADV_DONTNEED free the table", () => {
  // Catches: tables that are never freed (no THP after munmap: verify's thp-munmap-frees-table), a
  // DONTNEED that does not reclaim a whole emptied table (thp-dontneed-whole-frees-table), or one
  // that reclaims a table a VMA shares with a neighbour.
  const { k, mm } = setup();
  k.mmap(mm, X, 100 * P, RW, ANON);
  k.touch(mm, pg(5), "write");
  k.munmap(mm, X, 100 * P);
  assertEquals(mm.emptyTables?.size, 0);
  k.mmap(mm, X, 1024 * P, RW, ANON);
  k.madvise(mm, X, 1024 * P, MADV_HUGEPAGE);
  k.touch(mm, pg(6), "write");
  assertEquals(folios(k), [[512, 0]]);
  // A whole 2 MiB zapped in one VMA: reclaimed, so the next fault is a THP again.
  k.madvise(mm, X, 512 * P, MADV_DONTNEED);
  assertEquals([k.liveAnonFolios.length, mm.emptyTables?.size], [0, 0]);
  k.touch(mm, pg(7), "write");
  assertEquals(folios(k), [[512, 0]]);
  // Two VMAs share the table: neither zap covers all of it, so it stays.
  const t = setup();
  t.k.mmap(t.mm, X, 256 * P, RW, ANON);
  t.k.mmap(t.mm, pg(256), 256 * P, PROT_READ, ANON);
  t.k.touch(t.mm, pg(1), "write");
  t.k.madvise(t.mm, X, 512 * P, MADV_DONTNEED);
  assertEquals([...(t.mm.emptyTables ?? [])], [X / P / 512]);
  // An munmap with the neighbour still there keeps it too; unmapping both frees it.
  t.k.munmap(t.mm, X, 256 * P);
  assertEquals(t.mm.emptyTables?.size, 1);
  t.k.munmap(t.mm, pg(256), 256 * P);
  assertEquals(t.mm.emptyTables?.size, 0);
});

Deno.test("THP and fork: the child gets a table wherever the parent has one, even empty", () => {
  // Catches: a fork that copies only entries, so the child's first fault in a range the parent
  // has a table for maps a THP (verify's thp-fork-copies-empty-table).
  const { k, mm } = setup();
  k.mmap(mm, X, 1024 * P, RW, ANON);
  k.touch(mm, pg(5), "write");
  k.madvise(mm, pg(5), P, MADV_DONTNEED);
  const child = k.fork(mm);
  assertEquals([...(child.emptyTables ?? [])], [X / P / 512]);
  k.madvise(child, X, 1024 * P, MADV_HUGEPAGE);
  k.touch(child, pg(6), "write");
  k.touch(child, pg(600), "write");
  assertEquals(folios(k), [[1, 6], [512, 512]]);
  // A VMA over two tables with an entry copied into the first: the second, empty in the parent,
  // is the child's too.
  const t = setup();
  t.k.mmap(t.mm, X, 1024 * P, RW, ANON);
  t.k.touch(t.mm, pg(5), "write");
  t.k.touch(t.mm, pg(600), "write");
  t.k.madvise(t.mm, pg(600), P, MADV_DONTNEED);
  const c = t.k.fork(t.mm);
  assertEquals([...(c.emptyTables ?? [])], [X / P / 512 + 1]);
});

Deno.test("THP and userfaultfd: the missing fault prepares the anon_vma before its SIGBUS", () => {
  // Catches: a THP read that hands over to handle_userfault before vmf_anon_prepare (the host
  // keeps the anon_vma: verify's thp-uffd-read-sigbus), or one that maps the zero page anyway.
  const { k, mm } = hugeVma();
  k.userfaultfd(mm).register(X, 1024 * P);
  assertEquals(errnoOf(() => k.touch(mm, pg(5), "read")), "EFAULT");
  assertEquals([k.slab.live("anon_vma"), resident(k, mm, 0, 1024)], [1, 0]);
});

Deno.test("THP and mremap: an aligned 2 MiB moves as a whole table, leaving the source none", () => {
  // Catches: a move that leaves the source's table behind, so a DONTUNMAP source stays on small
  // pages (verify's thp-move-small-dontunmap), or one that moves a table not wholly in the range.
  //   0        512           1536      2048
  //   |A *5    |     ...     |A' *5     |   DONTUNMAP: A stays, with no table; A' has A's
  const { k, mm } = setup();
  k.mmap(mm, X, 512 * P, RW, ANON);
  k.touch(mm, pg(5), "write");
  k.mremap(mm, X, 512 * P, 512 * P, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, pg(1536));
  assertEquals([mm.emptyTables?.has(X / P / 512), mm.ptePages.has(X / P / 512 + 3)], [false, true]);
  k.madvise(mm, X, 512 * P, MADV_HUGEPAGE);
  k.touch(mm, pg(6), "write");
  assertEquals(folios(k), [[1, 5], [512, 0]]);
  // Unaligned by one page: entries move, the source keeps its emptied table.
  const t = setup();
  t.k.mmap(t.mm, X, 512 * P, RW, ANON);
  t.k.touch(t.mm, pg(5), "write");
  const flags = MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP;
  t.k.mremap(t.mm, X, 512 * P, 512 * P, flags, pg(1537));
  assertEquals(t.mm.emptyTables?.has(X / P / 512), true);
  // Aligned, but the source is userfaultfd-armed: no whole-table move (verify's
  // thp-move-uffd-keeps-table).
  const u = setup();
  u.k.mmap(u.mm, X, 512 * P, RW, ANON);
  u.k.touch(u.mm, pg(5), "write");
  u.k.userfaultfd(u.mm).register(X, 512 * P);
  u.k.mremap(u.mm, X, 512 * P, 512 * P, flags, pg(1536));
  assertEquals(u.mm.emptyTables?.has(X / P / 512), true);
  // A THP's PMD entry moves whole all the same (move_huge_pmd has no userfaultfd check; verify's
  // thp-move-uffd-huge-pmd).
  const h = hugeVma();
  h.k.touch(h.mm, pg(5), "write");
  h.k.userfaultfd(h.mm).register(X, 512 * P);
  h.k.mremap(h.mm, X, 512 * P, 512 * P, flags, pg(1536));
  assertEquals([h.mm.emptyTables?.has(X / P / 512) ?? false, hugePmds(h.mm)], [false, [[
    3,
    "thp",
  ]]]);
});

/** Pages of `[from, from + n)` mapped to anonymous folios (smaps' "Anonymous:"). */
function anonPages(k: Kernel, mm: Mm, from: number, n: number): number {
  let c = 0;
  for (let i = from; i < from + n; i++) {
    const pte = k.pte(mm, pg(i));
    if (pte?.kind === "present" && pte.folio.anon) c++;
  }
  return c;
}

Deno.test("THP huge zero page write: a whole THP in its place, unless the PMD was split", () => {
  // Catches: a write to the huge zero page that copies one page (the host maps a THP:
  // do_huge_zero_wp_pmd; verify's thp-zero-page-write-thp), and a split the model forgets (a
  // VMA boundary inside the 2 MiB, a changed entry), after which Linux copies one page.
  //   0          512        1024
  //   |A hugepage:  zero x512 |          | read of page 0; then a write of page 3
  const { k, mm } = hugeVma();
  k.touch(mm, pg(0), "read");
  k.touch(mm, pg(3), "write");
  assertEquals(folios(k), [[512, 0]]);
  assertEquals([anonPages(k, mm, 0, 1024), resident(k, mm, 0, 1024)], [512, 512]);
  assertEquals([k.counters.faults_thp_zero_page_wp, k.pte(mm, pg(200))?.writable], [1, true]);
  assertEquals(hugePmds(mm), [[0, "thp"]]); // PMD-mapped: smaps counts it in AnonHugePages
  assertEquals([k.slab.live("anon_vma"), k.slab.live("anon_vma_chain")], [1, 1]);
  // A VMA boundary inside the 2 MiB splits the PMD (vma_adjust_trans_huge), and the merge
  // back does not make it whole again: the write copies one page.
  //   |A 0..100 |B r 100..101| A 101..1024 |  then mprotect back: |A 0..1024|
  const b = hugeVma();
  b.k.touch(b.mm, pg(0), "read");
  b.k.mprotect(b.mm, pg(100), P, PROT_READ);
  b.k.mprotect(b.mm, pg(100), P, RW);
  assertEquals(b.mm.vmas.size, 1);
  b.k.touch(b.mm, pg(3), "write");
  assertEquals([folios(b.k), anonPages(b.k, b.mm, 0, 512)], [[[1, 3]], 1]);
  // A change of one entry splits it too (a one-page MADV_DONTNEED zaps part of the PMD).
  const c = hugeVma();
  c.k.touch(c.mm, pg(0), "read");
  c.k.madvise(c.mm, pg(10), P, MADV_DONTNEED);
  c.k.touch(c.mm, pg(3), "write");
  assertEquals(folios(c.k), [[1, 3]]);
  // The whole 2 MiB PROT_NONE and back keeps the PMD (change_huge_pmd); a populate's
  // FOLL_WRITE fault maps the THP, its pages all holding zeroes.
  const d = hugeVma();
  d.k.touch(d.mm, pg(0), "read");
  d.k.mprotect(d.mm, X, 512 * P, PROT_NONE);
  d.k.mprotect(d.mm, X, 512 * P, RW);
  d.k.madvise(d.mm, pg(7), P, MADV_POPULATE_WRITE);
  assertEquals([folios(d.k), anonPages(d.k, d.mm, 0, 512)], [[[512, 0]], 512]);
  const p7 = d.k.pte(d.mm, pg(7));
  assertEquals(p7?.kind === "present" && p7.zeroFilled, true);
});

Deno.test("THP huge zero page and fork, mremap: the PMD is copied and moved whole", () => {
  // Catches: a fork that copies the huge zero PMD as small zero pages (copy_huge_pmd copies
  // the PMD: the child's write maps a THP), or a whole-table mremap that loses it.
  const { k, mm } = hugeVma();
  k.touch(mm, pg(0), "read");
  const child = k.fork(mm);
  k.touch(child, pg(3), "write");
  assertEquals([folios(k), anonPages(k, mm, 0, 512), anonPages(k, child, 0, 512)], [
    [[512, 0]],
    0,
    512,
  ]);
  k.touch(mm, pg(4), "write");
  assertEquals(folios(k), [[512, 0], [512, 0]]);
  //   0        512           1536      2048
  //   |A zero  | ...         |A' zero   |   an aligned move keeps the PMD; one page off splits
  const m = hugeVma();
  m.k.touch(m.mm, pg(0), "read");
  m.k.mremap(m.mm, X, 512 * P, 512 * P, MREMAP_MAYMOVE | MREMAP_FIXED, pg(1536));
  m.k.touch(m.mm, pg(1537), "write");
  assertEquals([folios(m.k), anonPages(m.k, m.mm, 1536, 512)], [[[512, 0]], 512]); // pgoff kept
  const u = hugeVma();
  u.k.touch(u.mm, pg(0), "read");
  u.k.mremap(u.mm, X, 512 * P, 512 * P, MREMAP_MAYMOVE | MREMAP_FIXED, pg(1537));
  u.k.touch(u.mm, pg(1538), "write");
  assertEquals(folios(u.k), [[1, 1]]); // one small page (index from the kept pgoff)
});

Deno.test("THP PMD mappings: a pinned THP is split by fork, a boundary at either end splits", () => {
  // Catches: fork noting a maybe-DMA-pinned THP as PMD-mapped in both (copy_huge_pmd splits the
  // parent's PMD and copies the pages: copy_present_page), and a VMA split that leaves the PMD
  // whole when the boundary comes from the new lower part (the VMA's start moves) or from the
  // upper one (its end moves): vma_adjust_trans_huge.
  const { k, mm } = hugeVma();
  k.touch(mm, pg(5), "write");
  k.setPinned(k.liveAnonFolios[0], true);
  const child = k.fork(mm);
  assertEquals([hugePmds(mm), hugePmds(child), k.liveAnonFolios.length], [[], [], 513]);
  //   0     100                    512
  //   |B r  |A rw (start moved up)  |   mprotect of [0, 100): the VMA's start moves to 100
  const s = hugeVma();
  s.k.touch(s.mm, pg(5), "write");
  s.k.mprotect(s.mm, X, 100 * P, PROT_READ);
  assertEquals(hugePmds(s.mm), []);
  //   0                100         512
  //   |A rw (end moved) |B r        |   mprotect of [100, 512): the VMA's end moves to 100
  const e = hugeVma();
  e.k.touch(e.mm, pg(5), "write");
  e.k.mprotect(e.mm, pg(100), 924 * P, PROT_READ);
  assertEquals(hugePmds(e.mm), []);
  // A boundary at the 2 MiB edge splits neither side.
  const a = hugeVma();
  a.k.touch(a.mm, pg(5), "write");
  a.k.touch(a.mm, pg(600), "write");
  a.k.mprotect(a.mm, pg(512), 512 * P, PROT_READ);
  assertEquals(hugePmds(a.mm), [[0, "thp"], [1, "thp"]]);
});

/**
 * A: [0, 512) MADV_HUGEPAGE with page 5 touched (`access`: a THP, or the huge zero page), and B:
 * [1024, 1536) registered with userfaultfd (`dirtyTable`: with an emptied page table).
 */
function thpAndUffdDest(
  access: "read" | "write",
  dirtyTable = false,
): { k: Kernel; mm: Mm; u: Userfaultfd } {
  const { k, mm } = hugeVma();
  k.touch(mm, pg(5), access);
  k.mmap(mm, pg(1024), 512 * P, RW, ANON);
  if (dirtyTable) {
    k.touch(mm, pg(1030), "write");
    k.madvise(mm, pg(1030), P, MADV_DONTNEED);
  }
  const u = k.userfaultfd(mm);
  u.register(pg(1024), 512 * P);
  return { k, mm, u };
}

Deno.test("THP and UFFDIO_MOVE: an aligned 2 MiB moves as one PMD, else the PMD is split", () => {
  // Catches: a move that splits a PMD-mapped THP or the huge zero page it could move whole
  // (move_pages_huge_pmd; verify's thp-uffd-move-*), one that leaves the source's table, one
  // that moves whole a range one page short or onto a table, and a shared THP moved or split
  // instead of EBUSY.
  //   0        512   1024      1536
  //   |A *THP  |     |B uffd   |   move 512 pages from A to B: the PMD moves, A has no table
  const { k, mm, u } = thpAndUffdDest("write");
  assertEquals(u.move(pg(1024), X, 512 * P), 512 * P);
  assertEquals([hugePmds(mm), folios(k), mm.ptePages.has(X / P / 512)], [
    [[2, "thp"]],
    [[512, 1024]],
    false,
  ]);
  assertEquals([mm.emptyTables?.has(X / P / 512) ?? false, k.counters.uffd_move_huge_pmds], [
    false,
    1,
  ]);
  k.touch(mm, pg(6), "write"); // pmd_none again: a THP fault
  assertEquals(folios(k), [[512, 1024], [512, 0]]);
  // The huge zero page moves whole too: a write at the destination maps a THP.
  const z = thpAndUffdDest("read");
  z.u.move(pg(1024), X, 512 * P);
  z.k.touch(z.mm, pg(1030), "write");
  assertEquals([hugePmds(z.mm), folios(z.k)], [[[2, "thp"]], [[512, 1024]]]);
  // One page short of 2 MiB, or onto a destination with a page table (left by a zap): the PMD
  // is split, the folio too, and pages move one by one.
  for (const [dirtyTable, pages] of [[false, 511], [true, 512]] as const) {
    const s = thpAndUffdDest("write", dirtyTable);
    s.u.move(pg(1024), X, pages * P);
    assertEquals([hugePmds(s.mm), s.k.counters.uffd_move_huge_pmds ?? 0], [[], 0]);
  }
  // Shared with a fork child: EBUSY, whole or in part, and the PMD stays whole.
  const { k: fk, mm: fm } = hugeVma();
  fk.touch(fm, pg(5), "write");
  fk.fork(fm);
  fk.mmap(fm, pg(1024), 512 * P, RW, ANON);
  const fu = fk.userfaultfd(fm);
  fu.register(pg(1024), 512 * P);
  assertEquals(errnoOf(() => fu.move(pg(1024), X, 512 * P)), "EBUSY");
  assertEquals(errnoOf(() => fu.move(pg(1025), pg(1), 8 * P)), "EBUSY");
  assertEquals(hugePmds(fm), [[0, "thp"]]);
});

Deno.test("THP rmap walk: one PMD entry checked where a PMD maps the THP, else its PTEs", () => {
  // Catches: a walk that checks 512 PTEs of a PMD-mapped THP (page_vma_mapped_walk stops at the
  // PMD: 3 levels and one entry), or one that charges a split THP's PTEs as one PMD.
  const { k, mm } = hugeVma();
  k.touch(mm, pg(5), "write");
  const f = k.liveAnonFolios[0];
  const work = (): [number, number] => {
    const w = (k.exec as CountingExec).counters.work;
    return [w.pt_level ?? 0, w.pte_check ?? 0];
  };
  const [l0, c0] = work();
  assertEquals(k.folioReferenced(f), 1);
  const [l1, c1] = work();
  assertEquals([l1 - l0, c1 - c0], [3, 1]);
  // Split by a one-page zap: the walk goes down to the table and checks the 511 PTEs left.
  k.madvise(mm, pg(100), P, MADV_DONTNEED);
  k.folioReferenced(f);
  const [l2, c2] = work();
  assertEquals([l2 - l1, c2 - c1], [4, 512]);
});

Deno.test("THP PMD mappings: a folio split splits the PMD that maps it", () => {
  // Catches: split_folio re-pointing the PTEs of a PMD-mapped THP and leaving the PMD whole
  // (unmap_folio splits it first: TTU_SPLIT_HUGE_PMD; verify's thp-free-part-splits and
  // thp-cold-whole-pageout-part), while a whole-range MADV_COLD keeps it.
  const { k, mm } = hugeVma();
  k.touch(mm, pg(5), "write");
  k.touch(mm, pg(600), "write");
  k.madvise(mm, X, 512 * P, MADV_COLD);
  assertEquals(hugePmds(mm), [[0, "thp"], [1, "thp"]]);
  k.madvise(mm, pg(512), 8 * P, MADV_FREE);
  assertEquals([hugePmds(mm), k.counters.folios_split], [[[0, "thp"]], 1]);
});

Deno.test("THP reclaim without swap: the THP falls back to small pages, which stay", () => {
  // Catches: a reclaim without swap that keeps a THP whole (shrink_folio_list splits it before
  // its pages fail folio_alloc_swap in turn; verify's thp-pageout-no-swap-splits), or one that
  // reclaims something.
  const { k, mm } = hugeVma({ swapSpace: false });
  k.touch(mm, pg(5), "write");
  k.touch(mm, pg(600), "write");
  k.madvise(mm, X, 512 * P, MADV_PAGEOUT);
  // Page 5 keeps its data; the 511 others held zeroes and now map the zero page.
  assertEquals([folios(k), hugePmds(mm), resident(k, mm, 0, 512)], [
    [[1, 5], [512, 512]],
    [[1, "thp"]],
    512,
  ]);
  assertEquals([k.counters.reclaim_no_swap_split, k.counters.reclaim_no_swap], [1, 1]);
});
