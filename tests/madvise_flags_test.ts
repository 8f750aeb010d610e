// The flag advices of mm/madvise.c beyond fork's, MADV_FREE, and MAP_STACK's VM_NOHUGEPAGE
// (madvise_vma_behavior, hugepage_madvise, madvise_free_single_vma, calc_vm_flag_bits; Linux
// 6.18, checked against this host by tools/verify/scenarios/madvise_flags.scn). Each test names the bug it catches: an advice that
// does not set or clear its flag (no split, or no merge back), MADV_HUGEPAGE and MADV_NOHUGEPAGE
// both set at once, a flag that anon_vma_compatible ignores (a neighbour's anon_vma reused across
// it), MADV_FREE changing VMAs or accepting file memory.

import { assertEquals, assertThrows } from "./assert.ts";
import { Kernel } from "../core/kernel/kernel.ts";
import { AnonVmaScheme } from "../core/rmap/anon_vma.ts";
import { madviseLockMode } from "../core/kernel/madvise.ts";
import {
  MADV_DODUMP,
  MADV_DONTDUMP,
  MADV_FREE,
  MADV_HUGEPAGE,
  MADV_NOHUGEPAGE,
  MADV_NORMAL,
  MADV_POPULATE_READ,
  MADV_POPULATE_WRITE,
  MADV_RANDOM,
  MADV_SEQUENTIAL,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_NONBLOCK,
  MAP_NORESERVE,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  MAP_STACK,
  type Mm,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
  SyscallError,
  VM_ACCOUNT,
  VM_DONTDUMP,
  VM_HUGEPAGE,
  VM_NOHUGEPAGE,
  VM_NORESERVE,
  VM_RAND_READ,
  VM_SEQ_READ,
  VM_WIPEONFORK,
} from "../core/kernel/types.ts";

const P = PAGE_SIZE;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
const X = 0x7f0000000000;

/** `[start, end)` in pages from X and the flags in `mask` of every VMA of `mm`. */
function layout(mm: Mm, mask: number): number[][] {
  return [...mm.vmas].map((v) => [(v.start - X) / P, (v.end - X) / P, v.flags & mask]);
}

function world(): { k: Kernel; mm: Mm } {
  const k = new Kernel({ scheme: new AnonVmaScheme(), params: { debugChecks: true } });
  return { k, mm: k.spawn() };
}

Deno.test("MADV_DONTDUMP splits a faulted VMA; MADV_DODUMP merges it back", () => {
  //   X+0 ............. X+8        DONTDUMP on [2, 4):  [0,2) [2,4)D [4,8)   (2 splits, 2 AVCs)
  const { k, mm } = world();
  k.mmap(mm, X, 8 * P, RW, ANON);
  for (let i = 0; i < 8; i++) k.touch(mm, X + i * P, "write");
  k.madvise(mm, X + 2 * P, 2 * P, MADV_DONTDUMP);
  assertEquals(layout(mm, VM_DONTDUMP), [[0, 2, 0], [2, 4, VM_DONTDUMP], [4, 8, 0]]);
  assertEquals([k.slab.live("anon_vma"), k.slab.live("anon_vma_chain")], [1, 3]);
  k.madvise(mm, X + 2 * P, 2 * P, MADV_DODUMP);
  assertEquals(layout(mm, VM_DONTDUMP), [[0, 8, 0]]);
  assertEquals([k.slab.live("anon_vma"), k.slab.live("anon_vma_chain")], [1, 1]);
});

Deno.test("MADV_HUGEPAGE and MADV_NOHUGEPAGE each clear the other's flag", () => {
  const { k, mm } = world();
  const both = VM_HUGEPAGE | VM_NOHUGEPAGE;
  k.mmap(mm, X, 8 * P, RW, ANON);
  k.madvise(mm, X + P, 2 * P, MADV_HUGEPAGE);
  assertEquals(layout(mm, both), [[0, 1, 0], [1, 3, VM_HUGEPAGE], [3, 8, 0]]);
  k.madvise(mm, X + 2 * P, 4 * P, MADV_NOHUGEPAGE);
  assertEquals(layout(mm, both), [
    [0, 1, 0],
    [1, 2, VM_HUGEPAGE],
    [2, 6, VM_NOHUGEPAGE],
    [6, 8, 0],
  ]);
  k.madvise(mm, X, 8 * P, MADV_NOHUGEPAGE);
  assertEquals(layout(mm, both), [[0, 8, VM_NOHUGEPAGE]]);
  k.madvise(mm, X + 4 * P, 4 * P, MADV_HUGEPAGE);
  assertEquals(layout(mm, both), [[0, 4, VM_NOHUGEPAGE], [4, 8, VM_HUGEPAGE]]);
});

Deno.test("VM_DONTDUMP keeps a neighbour's anon_vma from being reused", () => {
  // A [0,4) faulted; B [4,8) made read-only, DONTDUMP, then writable (no merge: the flags
  // differ), then written: find_mergeable_anon_vma finds A not anon_vma_compatible.
  for (const dontdump of [true, false]) {
    const { k, mm } = world();
    k.mmap(mm, X, 4 * P, RW, ANON);
    k.touch(mm, X, "write");
    k.mmap(mm, X + 4 * P, 4 * P, PROT_READ, ANON);
    if (dontdump) k.madvise(mm, X + 4 * P, 4 * P, MADV_DONTDUMP);
    k.mprotect(mm, X + 4 * P, 4 * P, RW);
    k.touch(mm, X + 4 * P, "write");
    // Without DONTDUMP the mprotect merged B into A: one VMA, one anon_vma.
    assertEquals([mm.mapCount, k.slab.live("anon_vma")], dontdump ? [2, 2] : [1, 1]);
  }
});

Deno.test("MADV_FREE: private anonymous memory only, no VMA change; EINVAL, ENOMEM as Linux", () => {
  const { k, mm } = world();
  k.mmap(mm, X, 4 * P, RW, ANON);
  for (let i = 0; i < 4; i++) k.touch(mm, X + i * P, "write");
  k.madvise(mm, X + P, 2 * P, MADV_FREE);
  assertEquals([mm.mapCount, mm.pages.size, k.liveAnonFolios.length], [1, 4, 4]);
  // Shared anonymous memory is shmem (not anonymous for madvise_free_single_vma): EINVAL.
  k.mmap(mm, X + 10 * P, 2 * P, RW, MAP_FIXED | MAP_ANONYMOUS | MAP_SHARED);
  assertThrows(() => k.madvise(mm, X + 10 * P, 2 * P, MADV_FREE), SyscallError, "EINVAL");
  // Over a hole: ENOMEM, and still nothing changed.
  assertThrows(() => k.madvise(mm, X, 8 * P, MADV_FREE), SyscallError, "ENOMEM");
  assertEquals([mm.mapCount, mm.pages.size], [2, 4]);
});

Deno.test("MAP_STACK sets VM_NOHUGEPAGE on a kernel with THP: a stack does not merge with the heap", () => {
  //   X+0 plain   X+4 stack   X+8 stack    -> [0,4) [4,12)NOHUGEPAGE   (this host: the same)
  for (const thp of [true, false]) {
    const k = new Kernel({ scheme: new AnonVmaScheme(), params: { thp } });
    const mm = k.spawn();
    k.mmap(mm, X, 4 * P, RW, ANON);
    k.mmap(mm, X + 4 * P, 4 * P, RW, ANON | MAP_STACK);
    k.mmap(mm, X + 8 * P, 4 * P, RW, ANON | MAP_STACK);
    assertEquals(
      layout(mm, VM_NOHUGEPAGE),
      thp ? [[0, 4, 0], [4, 12, VM_NOHUGEPAGE]] : [[0, 12, 0]],
    );
  }
});

Deno.test("MAP_NORESERVE: VM_NORESERVE, never VM_ACCOUNT, so kept apart from charged memory", () => {
  //   X+0 charged   X+4 NORESERVE   X+8 NORESERVE   -> [0,4)A [4,12)N   (this host: the same)
  //   X+20 NORESERVE read-only, made writable: mprotect_fixup charges nothing, so it merges
  //   with the writable NORESERVE mapping after it: [20,28)N
  const k = new Kernel({ scheme: new AnonVmaScheme() });
  const mm = k.spawn();
  const bits = VM_ACCOUNT | VM_NORESERVE;
  k.mmap(mm, X, 4 * P, RW, ANON);
  k.mmap(mm, X + 4 * P, 4 * P, RW, ANON | MAP_NORESERVE);
  k.mmap(mm, X + 8 * P, 4 * P, RW, ANON | MAP_NORESERVE);
  k.mmap(mm, X + 20 * P, 4 * P, PROT_READ, ANON | MAP_NORESERVE);
  k.mprotect(mm, X + 20 * P, 4 * P, RW);
  k.mmap(mm, X + 24 * P, 4 * P, RW, ANON | MAP_NORESERVE);
  assertEquals(layout(mm, bits), [
    [0, 4, VM_ACCOUNT],
    [4, 12, VM_NORESERVE],
    [20, 28, VM_NORESERVE],
  ]);
  // A neighbour's anon_vma is not reused across the flag (anon_vma_compatible).
  k.touch(mm, X, "write");
  k.touch(mm, X + 4 * P, "write");
  assertEquals(k.slab.live("anon_vma"), 2);
});

Deno.test("MAP_POPULATE faults the range in at mmap: writes where private and writable", () => {
  //   X+0 rw private: 4 write faults, an anon_vma      X+10 r private: zero-page reads, none
  //   X+20 rw private file: 4 CoW copies ("to break COW"), a second anon_vma
  //   X+30 rw private with MAP_NONBLOCK too: not populated
  const k = new Kernel({ scheme: new AnonVmaScheme() });
  const mm = k.spawn();
  const f = k.createFile("f", 8);
  k.mmap(mm, X, 4 * P, RW, ANON | MAP_POPULATE);
  assertEquals([k.slab.live("anon_vma"), k.liveAnonFolios.length], [1, 4]);
  k.mmap(mm, X + 10 * P, 4 * P, PROT_READ, ANON | MAP_POPULATE);
  assertEquals([k.slab.live("anon_vma"), k.liveAnonFolios.length, mm.pages.size], [1, 4, 8]);
  k.mmap(mm, X + 20 * P, 4 * P, RW, MAP_PRIVATE | MAP_FIXED | MAP_POPULATE, f, 0);
  assertEquals([k.slab.live("anon_vma"), k.liveAnonFolios.length], [2, 8]);
  k.mmap(mm, X + 30 * P, 4 * P, RW, ANON | MAP_POPULATE | MAP_NONBLOCK);
  assertEquals([k.slab.live("anon_vma"), mm.pages.size], [2, 12]);
});

// folio_referenced's `invalid_vma` (mm/rmap.c `invalid_folio_referenced_vma`, `vma_has_recency`):
// a VMA advised MADV_RANDOM or MADV_SEQUENTIAL is skipped, its references ignored.
//
//   P [X] young --fork--> C [X] young     one folio, mapped by both; C's VMA advised RANDOM
Deno.test("folio_referenced skips a MADV_RANDOM or MADV_SEQUENTIAL VMA; try_to_unmap does not", () => {
  // Catches: a referenced walk that ages or counts a mapping in a VMA without recency (C's young
  // bit cleared, 2 referenced), that stops early at the mapcount though it skipped a mapping, an
  // oracle check that takes the skip for a miss, or an unmap walk that skips it too.
  const { k, mm } = world();
  k.mmap(mm, X, P, RW, ANON);
  k.touch(mm, X, "write");
  const c = k.fork(mm);
  const folio = k.pte(mm, X)!.folio!;
  const young = (m: Mm) => (k.pte(m, X) as { young: boolean }).young;
  const visits: number[] = [];
  k.onWalk((r) => visits.push(r.visits));
  k.touch(c, X, "read");
  k.madvise(c, X, P, MADV_RANDOM);
  assertEquals([young(mm), young(c)], [true, true]);
  assertEquals([k.folioReferenced(folio), young(mm), young(c), visits], [1, false, true, [1]]);
  // Both without recency: nothing is visited, nothing aged.
  k.touch(mm, X, "read");
  k.madvise(mm, X, P, MADV_SEQUENTIAL);
  assertEquals([k.folioReferenced(folio), young(mm), young(c), visits], [0, true, true, [1, 0]]);
  // C back to normal: its reference counts and is aged.
  k.madvise(c, X, P, MADV_NORMAL);
  assertEquals([k.folioReferenced(folio), young(mm), young(c), visits], [1, true, false, [
    1,
    0,
    1,
  ]]);
  // Eviction walks every mapping whatever the advice.
  k.madvise(c, X, P, MADV_RANDOM);
  assertEquals([k.tryToUnmap(folio), k.pte(mm, X)?.kind, k.pte(c, X)?.kind], [
    true,
    "swap",
    "swap",
  ]);
  assertEquals(visits, [1, 0, 1, 2]);
});

Deno.test("MADV_RANDOM and MADV_SEQUENTIAL are VMA flags that split; MADV_NORMAL merges back", () => {
  //   X+0 ............. X+8   RANDOM on [2,4): [0,2) [2,4)R [4,8); SEQUENTIAL on [3,6):
  //   [0,2) [2,3)R [3,6)S [6,8) (each clears the other's flag); NORMAL on all: one VMA again.
  // Catches: a hint that is not a VMA flag (no split), both flags set at once, or NORMAL not
  // clearing them (madvise_vma_behavior).
  const { k, mm } = world();
  const both = VM_RAND_READ | VM_SEQ_READ;
  k.mmap(mm, X, 8 * P, RW, ANON);
  for (let i = 0; i < 8; i++) k.touch(mm, X + i * P, "write");
  k.madvise(mm, X + 2 * P, 2 * P, MADV_RANDOM);
  assertEquals(layout(mm, both), [[0, 2, 0], [2, 4, VM_RAND_READ], [4, 8, 0]]);
  k.madvise(mm, X + 3 * P, 3 * P, MADV_SEQUENTIAL);
  assertEquals(layout(mm, both), [
    [0, 2, 0],
    [2, 3, VM_RAND_READ],
    [3, 6, VM_SEQ_READ],
    [6, 8, 0],
  ]);
  k.madvise(mm, X, 8 * P, MADV_NORMAL);
  assertEquals(layout(mm, both), [[0, 8, 0]]);
  assertEquals([k.slab.live("anon_vma"), k.slab.live("anon_vma_chain")], [1, 1]);
});

Deno.test("MADV_WIPEONFORK sets the flag on the VMAs before the file VMA it refuses", () => {
  //   [0,4) anon  [4,8) private file     WIPEONFORK on [0,8): [0,4) wiped, then EINVAL
  // Bug caught: refusing the whole range before changing any VMA (the host wipes [0,4): its child
  // gets no anon_vma there; tools/verify/scenarios/madvise_flags.scn).
  const { k, mm } = world();
  k.mmap(mm, X, 4 * P, RW, ANON);
  k.mmap(mm, X + 4 * P, 4 * P, RW, MAP_PRIVATE | MAP_FIXED, k.createFile("f", 4), 0);
  k.touch(mm, X, "write");
  assertThrows(() => k.madvise(mm, X, 8 * P, 18), SyscallError, "EINVAL"); // MADV_WIPEONFORK
  assertEquals(layout(mm, VM_WIPEONFORK), [[0, 4, VM_WIPEONFORK], [4, 8, 0]]);
  k.fork(mm);
  assertEquals(k.slab.live("anon_vma"), 1);
});

Deno.test("MADV_POPULATE_WRITE/READ fault page by page; EINVAL, ENOMEM and EFAULT as the host", () => {
  //   [0,4) r   [8,12) rw   hole   [16,20) rw with a guard at 17
  // Bug caught: a write prefault of a read-only VMA (the host: EINVAL), stopping before the hole
  // (the pages before it are populated, then ENOMEM), populating through a guard marker, or a
  // write prefault that leaves a CoW page shared with the child (tools/verify madvise_flags.scn).
  const { k, mm } = world();
  k.mmap(mm, X, 4 * P, PROT_READ, ANON);
  k.mmap(mm, X + 8 * P, 4 * P, RW, ANON);
  k.mmap(mm, X + 16 * P, 4 * P, RW, ANON);
  const kinds = (from: number, n: number): string =>
    Array.from({ length: n }, (_, i) => mm.pages.get(X / P + from + i)?.kind[0] ?? ".").join("");
  assertThrows(() => k.madvise(mm, X, 4 * P, MADV_POPULATE_WRITE), SyscallError, "EINVAL");
  k.madvise(mm, X, 4 * P, MADV_POPULATE_READ);
  assertThrows(() => k.madvise(mm, X + 8 * P, 8 * P, MADV_POPULATE_WRITE), SyscallError, "ENOMEM");
  assertEquals([kinds(0, 4), kinds(8, 4)], ["zzzz", "pppp"]);
  k.madvise(mm, X + 17 * P, P, 102); // MADV_GUARD_INSTALL
  assertThrows(() => k.madvise(mm, X + 16 * P, 4 * P, MADV_POPULATE_WRITE), SyscallError, "EFAULT");
  assertEquals(kinds(16, 4), "pg..");
  // get_lock_mode: both take mmap_lock for read.
  assertEquals([madviseLockMode(MADV_POPULATE_READ), madviseLockMode(MADV_POPULATE_WRITE)], [
    "read",
    "read",
  ]);
  const c = k.fork(mm);
  k.madvise(c, X + 8 * P, P, MADV_POPULATE_WRITE); // breaks CoW in the child
  assertEquals(
    c.pages.get((X + 8 * P) / P)!.folio === mm.pages.get((X + 8 * P) / P)!.folio,
    false,
  );
});
