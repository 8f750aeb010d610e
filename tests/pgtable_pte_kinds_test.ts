// The page-table entry kinds (none, zero page, present, swap) through a read fault, a write
// fault, fork (copy_present_pte / copy_nonpresent_pte), reclaim, PROT_NONE and swap-in. The bugs
// these catch: a fork that does not duplicate a swap entry's count (the slot is freed while a
// child still refers to it), a zero page made writable by mprotect, a swap entry taken for a
// present page by the fault fast path.

import { assertEquals } from "./assert.ts";
import { Kernel } from "../core/kernel/kernel.ts";
import { AnonVmaScheme } from "../core/rmap/anon_vma.ts";
import {
  MADV_DONTNEED,
  MADV_GUARD_INSTALL,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  type Mm,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
  type Pte,
} from "../core/kernel/types.ts";

const P = PAGE_SIZE;
const X = 0x7f0000000000;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;

/** kind, writable, protNone and (for swap) the slot's count; "none" when there is no entry. */
function entry(k: Kernel, mm: Mm, addr: number): [string, boolean, boolean, number] {
  const pte: Pte | undefined = k.pte(mm, addr);
  if (pte === undefined) return ["none", false, false, 0];
  return [pte.kind, pte.writable, pte.protNone, pte.kind === "swap" ? pte.swap.count : 0];
}

Deno.test("PTE kinds: zero page, present, CoW, swap with counts, PROT_NONE, swap-in", () => {
  //  page 0: read (zero page), page 1: written (present, exclusive)
  const k = new Kernel({ scheme: new AnonVmaScheme(), params: { debugChecks: true } });
  const p = k.spawn();
  k.mmap(p, X, 2 * P, RW, ANON);
  assertEquals(entry(k, p, X), ["none", false, false, 0]);
  k.touch(p, X, "read");
  k.touch(p, X + P, "write");
  assertEquals([entry(k, p, X), entry(k, p, X + P)], [
    ["zero", false, false, 0],
    ["present", true, false, 0],
  ]);
  // mprotect RW again must not make the zero page writable.
  k.mprotect(p, X, 2 * P, RW);
  assertEquals(entry(k, p, X), ["zero", false, false, 0]);
  // fork: the zero page is copied as is; the anon page becomes read-only in both (CoW).
  const c1 = k.fork(p);
  assertEquals([entry(k, c1, X), entry(k, p, X + P), entry(k, c1, X + P)], [
    ["zero", false, false, 0],
    ["present", false, false, 0],
    ["present", false, false, 0],
  ]);
  // reclaim: both mappings become swap entries of one slot (count 2); a fork duplicates it.
  const f = k.pte(p, X + P)!.folio!;
  assertEquals(k.tryToUnmap(f), true);
  assertEquals([entry(k, p, X + P), entry(k, c1, X + P)], [
    ["swap", false, false, 2],
    ["swap", false, false, 2],
  ]);
  const c2 = k.fork(p);
  assertEquals(entry(k, c2, X + P), ["swap", false, false, 3]);
  // PROT_NONE marks present entries and leaves the swap entry alone.
  k.mprotect(c2, X, 2 * P, 0);
  assertEquals([entry(k, c2, X), entry(k, c2, X + P)], [
    ["zero", false, true, 0],
    ["swap", false, false, 3],
  ]);
  k.exit(c2);
  assertEquals(entry(k, p, X + P), ["swap", false, false, 2]);
  // swap-in by a read: present, not writable (the slot has another user: not exclusive).
  k.touch(p, X + P, "read");
  assertEquals([entry(k, p, X + P), entry(k, c1, X + P)], [
    ["present", false, false, 0],
    ["swap", false, false, 1],
  ]);
  assertEquals([k.counters.faults_swapin, k.counters.faults_zero_page], [1, 1]);
  k.exit(c1);
  k.exit(p);
  assertEquals([k.liveAnonFolios.length, k.slab.live("anon_vma")], [0, 0]);
});

Deno.test("PTE pages: one per 512 pages of address space, counted by the PTEs in it, freed with its last", () => {
  // A page table (PMD index `vpn / 512`, the kernel's pmd_index) exists while a PTE is in it;
  // an rmap walk reaches the PTE level only where it exists (rmap_walk.ts: `pt_level`).
  const k = new Kernel({ scheme: new AnonVmaScheme(), params: { debugChecks: true } });
  const p = k.spawn();
  k.mmap(p, X, 2 * P, RW, ANON);
  k.touch(p, X, "write");
  k.touch(p, X + P, "write");
  // X / 4096 / 512 = 0x3f80000: above 2^31 pages, where a 32-bit `>> 9` would wrap.
  assertEquals([...p.ptePages], [[0x3f80000, 2]]);
  const second = k.pte(p, X + P)!.folio!;
  k.munmap(p, X, P);
  // The other PTE keeps the table: the walk still finds its mapping.
  assertEquals([...p.ptePages], [[0x3f80000, 1]]);
  assertEquals(k.folioReferenced(second), 1);
  k.munmap(p, X + P, P);
  assertEquals(p.ptePages.size, 0);
  // Pages 16 TiB (2^32 pages) apart are in different page tables.
  const far = X - 2 ** 44;
  k.mmap(p, far, P, RW, ANON);
  k.mmap(p, X, P, RW, ANON);
  k.touch(p, far, "write");
  k.touch(p, X, "write");
  assertEquals([...p.ptePages].sort((a, b) => a[0] - b[0]), [[0x3780000, 1], [0x3f80000, 1]]);
  k.exit(p);
});

Deno.test("exit frees every PTE and page-table page of the mm", () => {
  // Two PTE pages (PMD indexes 0x3f80000 and 0x3f80001): X and X + 512 pages, in one VMA, so
  // exit empties the page tables at once (zapWholeMm); its PTE-page counts must go too.
  const k = new Kernel({ scheme: new AnonVmaScheme(), params: { debugChecks: true } });
  const p = k.spawn();
  k.mmap(p, X, 513 * P, RW, ANON);
  k.touch(p, X, "write");
  k.touch(p, X + 512 * P, "read");
  assertEquals([...p.ptePages], [[0x3f80000, 1], [0x3f80001, 1]]);
  k.exit(p);
  assertEquals([p.pages.size, p.ptePages.size, k.liveAnonFolios.length], [0, 0, 0]);
});

Deno.test("guard markers: kept by MADV_DONTNEED, dropped by munmap", () => {
  const k = new Kernel({ scheme: new AnonVmaScheme(), params: { debugChecks: true } });
  const p = k.spawn();
  k.mmap(p, X, 4 * P, RW, ANON);
  k.touch(p, X, "write");
  k.touch(p, X + P, "write");
  // Page 1 is zapped and marked; page 2 is marked.
  k.madvise(p, X + P, 2 * P, MADV_GUARD_INSTALL);
  assertEquals([entry(k, p, X)[0], entry(k, p, X + P)[0], entry(k, p, X + 2 * P)[0]], [
    "present",
    "guard",
    "guard",
  ]);
  // MADV_DONTNEED zaps page 0 and keeps the markers.
  k.madvise(p, X, 4 * P, MADV_DONTNEED);
  assertEquals([entry(k, p, X)[0], entry(k, p, X + P)[0], entry(k, p, X + 2 * P)[0]], [
    "none",
    "guard",
    "guard",
  ]);
  // munmap drops them with their page-table page; a new mapping there faults normally.
  k.munmap(p, X, 4 * P);
  assertEquals([p.pages.size, p.ptePages.size], [0, 0]);
  k.mmap(p, X, 4 * P, RW, ANON);
  k.touch(p, X + P, "write");
  assertEquals(entry(k, p, X + P), ["present", true, false, 0]);
  k.exit(p);
});
