// mlock, mlock2, munlock, mlockall, munlockall and MAP_LOCKED (mm/mlock.c `do_mlock`,
// `apply_vma_lock_flags`, `mlock_fixup`, `apply_mlockall_flags`; mm/gup.c `__mm_populate`,
// `populate_vma_page_range`; Linux 6.18). The layouts below were first read on this host
// (/proc/PID/smaps: VmFlags "lo"/"lf", Rss) and are checked against it by
// tools/verify/scenarios/mlock.scn. Each test names the bug it catches.

import { assertEquals } from "./assert.ts";
import { errnoOf } from "./errno.ts";
import { Kernel } from "../core/kernel/kernel.ts";
import { AnonVmaScheme } from "../core/rmap/anon_vma.ts";
import { lockRange } from "../core/kernel/mlock.ts";
import { runOne } from "../runner/recorder.ts";
import { registerTrace } from "../workloads/trace_replay.ts";
import {
  MADV_DONTNEED,
  MADV_DONTNEED_LOCKED,
  MADV_FREE,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_LOCKED,
  MAP_PRIVATE,
  MCL_CURRENT,
  MCL_FUTURE,
  MCL_ONFAULT,
  MLOCK_ONFAULT,
  type Mm,
  MREMAP_DONTUNMAP,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  PAGE_SIZE,
  PROT_EXEC,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  SyscallError,
  VM_LOCKED,
  VM_LOCKONFAULT,
} from "../core/kernel/types.ts";

const P = PAGE_SIZE;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
const X = 0x7f0000000000;
const LO = VM_LOCKED;
const LF = VM_LOCKED | VM_LOCKONFAULT;

/** `[start, end)` in pages from X, the lock bits and the mapped pages of every VMA of `mm`. */
function layout(mm: Mm): number[][] {
  return [...mm.vmas].map((v) => {
    let rss = 0;
    for (let a = v.start; a < v.end; a += P) if (mm.pages.get(a / P) !== undefined) rss++;
    return [(v.start - X) / P, (v.end - X) / P, v.flags & LF, rss];
  });
}

function world(): { k: Kernel; mm: Mm } {
  const k = new Kernel({ scheme: new AnonVmaScheme(), params: { debugChecks: true } });
  return { k, mm: k.spawn() };
}

/**
 * One written page at X in P, forked to C1 then C2; C1 locks it on fault (no populate, no CoW), so
 * the folio is mapped in P, C1 (VM_LOCKED) and C2, walked in that order (equal pgoffs go in
 * insertion order).
 */
function lockedMiddleChild(): { k: Kernel; mm: Mm; c1: Mm; c2: Mm } {
  const { k, mm } = world();
  k.mmap(mm, X, P, RW, ANON);
  k.touch(mm, X, "write");
  const c1 = k.fork(mm);
  const c2 = k.fork(mm);
  k.mlock2(c1, X, P, MLOCK_ONFAULT);
  return { k, mm, c1, c2 };
}

Deno.test("lockRange: an unaligned start is rounded down, the length grown to whole pages", () => {
  // do_mlock: len = PAGE_ALIGN(len + offset_in_page(start)); start &= PAGE_MASK.
  assertEquals(lockRange(X + 100, 1), [X, P]);
  assertEquals(lockRange(X + P - 1, 2), [X, 2 * P]);
  assertEquals(lockRange(X, 0), [X, 0]);
});

Deno.test("mlock splits at the range's ends, populates it; munlock merges back", () => {
  //   X+0 ............ X+8     mlock [2, 4):  [0,2) [2,4)lo [4,8)   (2 pages faulted, 1 anon_vma)
  // Catches: no split (the whole VMA locked), no populate, or no merge back on munlock.
  const { k, mm } = world();
  k.mmap(mm, X, 8 * P, RW, ANON);
  k.mlock(mm, X + 2 * P, 2 * P);
  assertEquals(layout(mm), [[0, 2, 0, 0], [2, 4, LO, 2], [4, 8, 0, 0]]);
  // Split before the faults: only the locked VMA has an anon_vma.
  assertEquals([k.slab.live("anon_vma"), k.slab.live("anon_vma_chain")], [1, 1]);
  k.munlock(mm, X + 2 * P, 2 * P);
  assertEquals(layout(mm), [[0, 8, 0, 2]]);
  assertEquals([k.slab.live("anon_vma"), k.slab.live("anon_vma_chain")], [1, 1]);
});

Deno.test("mlock of an already locked part changes nothing (mlock_fixup's equal-flags exit)", () => {
  const { k, mm } = world();
  k.mmap(mm, X, 8 * P, RW, ANON);
  k.mlock(mm, X, 8 * P);
  k.mlock(mm, X + 2 * P, 2 * P);
  assertEquals(layout(mm), [[0, 8, LO, 8]]);
});

Deno.test("mlock2(MLOCK_ONFAULT) sets VM_LOCKONFAULT and faults nothing in", () => {
  // populate_vma_page_range: "the VM_LOCKONFAULT case has never used faultin_page()".
  const { k, mm } = world();
  k.mmap(mm, X, 8 * P, RW, ANON);
  k.mlock2(mm, X + 6 * P, P, MLOCK_ONFAULT);
  assertEquals(layout(mm), [[0, 6, 0, 0], [6, 7, LF, 0], [7, 8, 0, 0]]);
  // mlock then replaces the lock bits: VM_LOCKONFAULT goes, the page is faulted in.
  k.mlock(mm, X + 6 * P, P);
  assertEquals(layout(mm), [[0, 6, 0, 0], [6, 7, LO, 1], [7, 8, 0, 0]]);
  assertEquals(errnoOf(() => k.mlock2(mm, X, P, 2)), "EINVAL"); // flags & ~MLOCK_ONFAULT
});

Deno.test("mlock across a PROT_NONE VMA locks all, populates up to it, then ENOMEM", () => {
  //   [0,1) [1,4)lo(3 pages) [4,5)lo PROT_NONE [5,7)lo(empty) [7,8)    (host: same, Rss 12 kB)
  // Catches: PROT_NONE skipped silently (no error), or the lock undone on the error.
  const { k, mm } = world();
  k.mmap(mm, X, 8 * P, RW, ANON);
  k.mprotect(mm, X + 4 * P, P, PROT_NONE);
  assertEquals(errnoOf(() => k.mlock(mm, X + P, 6 * P)), "ENOMEM");
  assertEquals(layout(mm), [
    [0, 1, 0, 0],
    [1, 4, LO, 3],
    [4, 5, LO, 0],
    [5, 7, LO, 0],
    [7, 8, 0, 0],
  ]);
  // munlock and mprotect back: one VMA again (the faulted pages stay).
  k.munlock(mm, X, 8 * P);
  k.mprotect(mm, X + 4 * P, P, RW);
  assertEquals(layout(mm), [[0, 8, 0, 3]]);
});

Deno.test("mlock across a hole: the part before it stays locked, nothing is populated, ENOMEM", () => {
  // apply_vma_lock_flags returns -ENOMEM at the hole; do_mlock then skips __mm_populate.
  // Catches: a populate after a failed lock, or an undo of the part before the hole.
  const { k, mm } = world();
  k.mmap(mm, X, 8 * P, RW, ANON);
  k.munmap(mm, X + 5 * P, P);
  assertEquals(errnoOf(() => k.mlock(mm, X + 3 * P, 4 * P)), "ENOMEM");
  assertEquals(layout(mm), [[0, 3, 0, 0], [3, 5, LO, 0], [6, 8, 0, 0]]);
  // Starting in the hole: ENOMEM with nothing changed.
  assertEquals(errnoOf(() => k.mlock(mm, X + 5 * P, 2 * P)), "ENOMEM");
  assertEquals(layout(mm), [[0, 3, 0, 0], [3, 5, LO, 0], [6, 8, 0, 0]]);
});

Deno.test("mlock of an exec-only mapping reads it in (FOLL_FORCE), a touch could not", () => {
  // populate_vma_page_range: a read fault with FOLL_FORCE, which check_vma_flags lets through
  // for a VMA that may be read (host: Rss 8 kB, zero pages).
  const { k, mm } = world();
  k.mmap(mm, X, 2 * P, PROT_EXEC, ANON);
  assertEquals(errnoOf(() => k.touch(mm, X, "read")), "EFAULT");
  k.mlock(mm, X, 2 * P);
  assertEquals(layout(mm), [[0, 2, LO, 2]]);
  assertEquals([mm.pages.get(X / P)?.kind, k.slab.live("anon_vma")], ["zero", 0]);
});

Deno.test("fork: the child's VMAs are unlocked but stay split (dup_mmap does not merge)", () => {
  //   parent [0,2) [2,4)lo [4,8)   child [0,2) [2,4) [4,8), none locked    (as on this host)
  // Catches: VM_LOCKED inherited, or the child's copies merged.
  const { k, mm } = world();
  k.mmap(mm, X, 8 * P, RW, ANON);
  k.touch(mm, X, "write");
  k.mlock(mm, X + 2 * P, 2 * P);
  const child = k.fork(mm);
  assertEquals(layout(child), [[0, 2, 0, 1], [2, 4, 0, 2], [4, 8, 0, 0]]);
  assertEquals(layout(mm), [[0, 2, 0, 1], [2, 4, LO, 2], [4, 8, 0, 0]]);
});

Deno.test("MAP_LOCKED maps locked and populated; mmap after MCL_FUTURE too, not after fork", () => {
  const { k, mm } = world();
  k.mmap(mm, X, 2 * P, RW, ANON | MAP_LOCKED);
  assertEquals(layout(mm), [[0, 2, LO, 2]]);
  k.mlockall(mm, MCL_FUTURE);
  k.mmap(mm, X + 4 * P, 2 * P, RW, ANON);
  assertEquals(layout(mm), [[0, 2, LO, 2], [4, 6, LO, 2]]);
  // mm_init: def_flags & VM_INIT_DEF_MASK: the child maps unlocked.
  const child = k.fork(mm);
  k.mmap(child, X + 6 * P, 2 * P, RW, ANON);
  assertEquals(layout(child), [[0, 2, 0, 2], [4, 6, 0, 2], [6, 8, 0, 0]]);
  // MCL_FUTURE|MCL_ONFAULT: locked on fault, not populated; munlockall clears def_flags.
  k.mlockall(mm, MCL_FUTURE | MCL_ONFAULT);
  k.mmap(mm, X + 8 * P, 2 * P, RW, ANON);
  k.munlockall(mm);
  k.mmap(mm, X + 12 * P, P, RW, ANON);
  assertEquals(layout(mm), [[0, 2, 0, 2], [4, 6, 0, 2], [8, 10, 0, 0], [12, 13, 0, 0]]);
});

Deno.test("mlockall(MCL_CURRENT) locks and populates every VMA; munlockall merges them back", () => {
  const { k, mm } = world();
  k.mmap(mm, X, 8 * P, RW, ANON);
  k.mlock2(mm, X + 2 * P, P, MLOCK_ONFAULT);
  k.mmap(mm, X + 10 * P, P, PROT_READ, ANON);
  k.mlockall(mm, MCL_CURRENT);
  // [2,3) had VM_LOCKONFAULT: MCL_CURRENT replaces the lock bits, so [0,8) is one VMA again.
  assertEquals(layout(mm), [[0, 8, LO, 8], [10, 11, LO, 1]]);
  assertEquals(mm.pages.get((X + 10 * P) / P)?.kind, "zero"); // read fault: PROT_READ
  k.munlockall(mm);
  assertEquals(layout(mm), [[0, 8, 0, 8], [10, 11, 0, 1]]);
  k.mlockall(mm, MCL_CURRENT | MCL_ONFAULT);
  assertEquals(layout(mm).map((r) => r[2]), [LF, LF]);
  for (const bad of [0, MCL_ONFAULT, 8]) assertEquals(errnoOf(() => k.mlockall(mm, bad)), "EINVAL");
});

Deno.test("brk after MCL_FUTURE: the heap's new pages are locked and faulted in", () => {
  const { k, mm } = world();
  k.mlockall(mm, MCL_FUTURE);
  const b = mm.brk;
  k.brk(mm, b + 2 * P);
  const heap = [...mm.vmas].map((v) => [v.end - v.start, v.flags & LF]);
  assertEquals(heap, [[2 * P, LO]]);
  assertEquals(mm.pages.size, 2);
});

Deno.test("mremap growing a locked VMA populates the new part; DONTUNMAP unlocks the source", () => {
  const { k, mm } = world();
  k.mmap(mm, X, 2 * P, RW, ANON | MAP_LOCKED);
  k.mremap(mm, X, 2 * P, 4 * P, 0);
  assertEquals(layout(mm), [[0, 4, LO, 4]]);
  // A move with MREMAP_DONTUNMAP: the new VMA keeps the lock, the source loses it (and its pages).
  k.mremap(mm, X, 4 * P, 4 * P, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, X + 8 * P);
  assertEquals(layout(mm), [[0, 4, 0, 0], [8, 12, LO, 4]]);
});

Deno.test("folio_referenced stops at a mapping in a VM_LOCKED VMA and reports VM_LOCKED", () => {
  // folio_referenced_one: at a VM_LOCKED VMA, "Restore the mlock which got missed" and
  // `return false`: the walk ends there, that PTE's young bit is neither counted nor cleared, and
  // *vm_flags gets VM_LOCKED (reclaim then keeps the folio). The interval tree is walked in
  // insertion order for equal pgoffs: P, then C1 (locked on fault: no populate, no CoW), then C2.
  // Catches: a walk that ignores VM_LOCKED (3 visits, C2's young bit cleared), or an oracle check
  // that takes the early stop for a missed mapping.
  const { k, mm, c1, c2 } = lockedMiddleChild();
  const pte = (m: Mm) => m.pages.get(X / P)!;
  const folio = pte(mm).kind === "present" ? pte(mm).folio! : null;
  for (const m of [c1, c2]) k.touch(m, X, "read"); // young again in the children
  const visits: number[] = [];
  k.onWalk((r) => visits.push(r.visits));
  const out = { vmFlags: 0 };
  assertEquals(k.folioReferenced(folio!, out), 1); // P's young bit; C1 stops the walk
  assertEquals([out.vmFlags, visits], [VM_LOCKED, [2]]);
  assertEquals([pte(mm), pte(c1), pte(c2)].map((p) => p.kind === "present" && p.young), [
    false,
    true,
    true,
  ]);
  // Unlocked, the walk reaches every mapping and clears every young bit.
  k.munlock(c1, X, P);
  const out2 = { vmFlags: 0 };
  assertEquals(k.folioReferenced(folio!, out2), 2);
  assertEquals([out2.vmFlags, visits], [0, [2, 3]]);
});

Deno.test("kswapd keeps folios mapped in a VM_LOCKED VMA (folio_check_references: activate)", () => {
  // The same 8 populated pages, by MAP_LOCKED or by MAP_POPULATE, replayed 4 times with kswapd
  // aging every 2 us above a 1-folio watermark: unlocked, unreferenced folios are evicted (28
  // try_to_unmap walks, some aging trylocks contended); locked, every aging walk stops at the
  // locked mapping and reports VM_LOCKED, and nothing is evicted.
  // Catches: reclaim that ignores the walk's VM_LOCKED (locked pages swapped out).
  const walks = (flag: string): [Record<string, number[]>, number] => {
    registerTrace(
      `mlock-kswapd-${flag}`,
      [
        `7 mmap(NULL, 32768, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|${flag}, -1, 0) = ` +
        "0x7f0000000000",
        "7 munmap(0x7f0000000000, 32768) = 0",
        "7 exit_group(0) = ?",
      ].join("\n"),
    );
    const r = runOne({
      scheme: "anon_vma",
      workload: "trace-replay",
      params: { trace: `mlock-kswapd-${flag}`, copies: 1, repeat: 4, touch: "none", gapNs: 20000 },
      seed: 1,
      machine: { reclaimIntervalNs: 2000, migrateIntervalNs: 0, reclaimWatermarkFolios: 1 },
    });
    const w: Record<string, number[]> = {};
    for (const [k, x] of Object.entries(r.walks)) w[k] = [x.count, x.contended, x.visits.sum];
    return [w, r.counters.folios_reclaimed ?? 0];
  };
  assertEquals(walks("MAP_POPULATE"), [{ referenced: [110, 14, 96], unmap: [28, 0, 28] }, 28]);
  assertEquals(walks("MAP_LOCKED"), [{ referenced: [256, 0, 256] }, 0]);
});

Deno.test("folio_referenced of a large folio: one per VMA; a locked VMA stops only a whole folio", () => {
  //  X              16                       a 16-page mTHP folio F, written in P; C1 and C2
  //  P  [FFFFFFFFFFFFFFFF]                   forked (their PTEs old, as copy_present_pte makes
  //  C1 [llllllll|........]                  them); C1 locks pages 0..7 on fault (a split: F
  //  C2 [FFFFFFFFFFFFFFFF] locked whole      is mapped in part by the locked VMA)
  // `pra->referenced` counts P once (its 16 young PTEs), not 16 times. C1's locked half maps F
  // in part ("Only mlock fully mapped pages"), so the walk goes on to every mapping: P, C2, then
  // C1's halves (the split re-inserted C1's AVC after C2's: equal pgoffs go in insertion order).
  // Once C2 locks all of F on fault, its VMA, the second visited, stops the walk.
  // Catches: a count per PTE, or a stop at a locked VMA that maps a large folio only in part.
  const k = new Kernel({
    scheme: new AnonVmaScheme(),
    params: { debugChecks: true, anonFolioOrder: 4 },
  });
  const mm = k.spawn();
  k.mmap(mm, X, 16 * P, RW, ANON);
  k.touch(mm, X, "write");
  const c1 = k.fork(mm);
  const c2 = k.fork(mm);
  const folio = k.pte(mm, X)!.folio!;
  assertEquals(folio.nrPages, 16);
  k.mlock2(c1, X, 8 * P, MLOCK_ONFAULT);
  const visits: number[] = [];
  k.onWalk((r) => visits.push(r.visits));
  const out = { vmFlags: 0 };
  assertEquals(k.folioReferenced(folio, out), 1);
  assertEquals([out.vmFlags, visits], [0, [4]]);
  k.touch(mm, X + P, "read"); // young again in P (one PTE)
  k.mlock2(c2, X, 16 * P, MLOCK_ONFAULT);
  assertEquals(k.folioReferenced(folio, out), 1);
  assertEquals([out.vmFlags, visits], [VM_LOCKED, [4, 2]]);
  // C2's mapping moved to straddle a page-table boundary (2 MiB) and locked whole again: the
  // walk crosses tables there (PVMW_PGTABLE_CROSSED), so it does not stop; every VMA is visited.
  const Z = X + 0x1000000 - 8 * P; // 8 pages below a 2 MiB boundary
  k.munlock(c2, X, 16 * P);
  k.mremap(c2, X, 16 * P, 16 * P, MREMAP_MAYMOVE | MREMAP_FIXED, Z);
  k.mlock2(c2, Z, 16 * P, MLOCK_ONFAULT);
  assertEquals(k.folioReferenced(folio, out), 0);
  assertEquals([out.vmFlags, visits], [0, [4, 2, 4]]);
});

Deno.test("mlock past a file's end: the pages before it are populated, then ENOMEM naming it", () => {
  // A 4-page private writable mapping of a 2-page file: populate write-faults pages 0 and 1
  // (anonymous copies), page 2 is past EOF (SIGBUS: gup's -EFAULT, returned as ENOMEM by
  // __mlock_posix_error_return), and populate stops there.
  const { k, mm } = world();
  const f = k.createFile("f", 2);
  k.mmap(mm, X, 4 * P, RW, MAP_PRIVATE | MAP_FIXED, f, 0);
  let msg = "";
  try {
    k.mlock(mm, X, 4 * P);
  } catch (e) {
    msg = e instanceof SyscallError ? `${e.errno}: ${e.message}` : String(e);
  }
  assertEquals(
    msg,
    `ENOMEM: mlock failed with ENOMEM: cannot fault in 0x${(X + 2 * P).toString(16)}`,
  );
  assertEquals(layout(mm), [[0, 4, LO, 2]]);
});

Deno.test("a CoW fault past a file's end prepares the anon_vma before its SIGBUS; a read does not", () => {
  // do_cow_fault calls vmf_anon_prepare before __do_fault finds the page past EOF, so the write's
  // SIGBUS leaves the VMA an anon_vma (verify's private-file-cow-past-eof; found by wide random
  // scenarios); do_read_fault prepares nothing. Catches: the EOF check made before the prepare.
  const { k, mm } = world();
  const f = k.createFile("f", 2);
  k.mmap(mm, X, 4 * P, RW, MAP_PRIVATE | MAP_FIXED, f, 0);
  assertEquals(errnoOf(() => k.touch(mm, X + 3 * P, "read")), "EFAULT");
  assertEquals(k.slab.live("anon_vma"), 0);
  assertEquals(errnoOf(() => k.touch(mm, X + 3 * P, "write")), "EFAULT");
  assertEquals([k.slab.live("anon_vma"), k.liveAnonFolios.length], [1, 0]);
});

Deno.test("try_to_unmap aborts at a mapping in a VM_LOCKED VMA; the folio stays in the swap cache", () => {
  //  P  [F]  C1 [F] locked on fault  C2 [F]      walk order P, C1, C2 (equal pgoffs, by insertion)
  // try_to_unmap_one without TTU_IGNORE_MLOCK: P's mapping becomes a swap entry, C1's locked
  // one ends the walk ("we must not swap it out"), C2 is not visited. The folio, mapped still,
  // stays in the swap cache for P's entry: P's next touch maps the same folio again.
  // Catches: locked memory swapped out, or P's entry left pointing at no folio (a new copy).
  const { k, mm, c1, c2 } = lockedMiddleChild();
  const folio = k.pte(mm, X)!.folio!;
  const visits: number[] = [];
  k.onWalk((r) => visits.push(r.visits));
  assertEquals(k.tryToUnmap(folio), false);
  assertEquals([mm, c1, c2].map((m) => m.pages.get(X / P)!.kind), ["swap", "present", "present"]);
  assertEquals([visits, folio.freed, k.counters.folios_reclaimed ?? 0], [[2], false, 0]);
  k.touch(mm, X, "read");
  assertEquals([k.pte(mm, X)!.folio === folio, k.counters.faults_swapin_cached], [true, 1]);
});

Deno.test("MADV_DONTNEED and MADV_FREE refuse a VM_LOCKED VMA; MADV_DONTNEED_LOCKED zaps it", () => {
  //  X+0 ... X+4 ... X+8 ... X+12     every page written, [4,8) mlock'd
  //  [ rw      ][ rw L    ][ rw      ]
  // DONTNEED over all: [0,4) zapped, then EINVAL at the locked VMA; [4,8) and [8,12) kept
  // (madvise_dontneed_free_valid_vma: the walk stops there). FREE over all: EINVAL. DONTNEED_LOCKED
  // over all: every page zapped, the VMA still locked. A C probe on this host gives the same
  // (mincore: 0, 4 and 4 pages resident after DONTNEED; 0, 0, 0 after DONTNEED_LOCKED).
  // Catches: DONTNEED zapping locked memory, or refusing before the VMAs ahead of the lock.
  const { k, mm } = world();
  k.mmap(mm, X, 12 * P, RW, ANON);
  for (let i = 0; i < 12; i++) k.touch(mm, X + i * P, "write");
  k.mlock(mm, X + 4 * P, 4 * P);
  assertEquals(errnoOf(() => k.madvise(mm, X, 12 * P, MADV_DONTNEED)), "EINVAL");
  assertEquals(layout(mm), [[0, 4, 0, 0], [4, 8, LO, 4], [8, 12, 0, 4]]);
  for (let i = 0; i < 4; i++) k.touch(mm, X + i * P, "write");
  assertEquals(errnoOf(() => k.madvise(mm, X, 12 * P, MADV_FREE)), "EINVAL");
  assertEquals(layout(mm), [[0, 4, 0, 4], [4, 8, LO, 4], [8, 12, 0, 4]]);
  assertEquals(errnoOf(() => k.madvise(mm, X + 4 * P, 4 * P, MADV_DONTNEED_LOCKED)), "ok");
  assertEquals(errnoOf(() => k.madvise(mm, X, 12 * P, MADV_DONTNEED_LOCKED)), "ok");
  assertEquals(layout(mm), [[0, 4, 0, 0], [4, 8, LO, 0], [8, 12, 0, 0]]);
});

Deno.test("mprotect of a private locked VMA to writable populates it with write faults", () => {
  // mprotect_fixup: "Private VM_LOCKED VMA becoming writable: trigger COW". A 4-page private
  // read-only mapping of a file, mlock'd (4 page-cache pages mapped, no anonymous copy), made
  // writable: 4 anonymous copies and one anon_vma at once. The same mapping unlocked, or locked
  // on fault, gets none; a locked PROT_NONE one (mlock's ENOMEM still locks it) made writable in
  // its first half gets 2. A C probe on this host (smaps "Anonymous:") gives 16, 0, 0 and 8 kB.
  // Catches: the populate missing, done for unlocked or lock-on-fault VMAs, or read faults only.
  const { k, mm } = world();
  const f = k.createFile("f", 4);
  const anon = (at: number) => {
    let n = 0;
    for (let i = 0; i < 4; i++) {
      const p = mm.pages.get(at / P + i);
      if (p !== undefined && p.kind === "present" && p.folio.anon) n++;
    }
    return n;
  };
  const map = (at: number, prot: number) =>
    k.mmap(mm, at, 4 * P, prot, MAP_PRIVATE | MAP_FIXED, f, 0);
  map(X, PROT_READ);
  k.mlock(mm, X, 4 * P);
  assertEquals([layout(mm), anon(X)], [[[0, 4, LO, 4]], 0]);
  k.mprotect(mm, X, 4 * P, RW);
  assertEquals([anon(X), k.slab.snapshot().objects.anon_vma], [4, 1]);
  const B = X + 16 * P, C = X + 32 * P, D = X + 48 * P;
  map(B, PROT_READ);
  k.touch(mm, B, "read");
  k.mprotect(mm, B, 4 * P, RW);
  map(C, PROT_READ);
  k.mlock2(mm, C, 4 * P, MLOCK_ONFAULT);
  k.mprotect(mm, C, 4 * P, RW);
  map(D, PROT_NONE);
  assertEquals(errnoOf(() => k.mlock(mm, D, 4 * P)), "ENOMEM");
  k.mprotect(mm, D, 2 * P, RW);
  assertEquals([anon(B), anon(C), anon(D)], [0, 0, 2]);
});
