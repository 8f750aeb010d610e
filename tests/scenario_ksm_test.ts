// Scenario tests of KSM (core/kernel/ksm.ts, after mm/ksm.c of Linux 6.18) over the classic
// anon_vma scheme: merging by ksmd, the stable node's rmap items and the anon_vma references they
// hold, rmap_walk_ksm's two passes, CoW break, MADV_UNMERGEABLE, exit, and the June 2025 review
// question on MREMAP_RELOCATE_ANON: does RELOCATE_ANON treating KSM folios as success leave their
// rmap items stale, and does mremap already break KSM rmap walks? Every walk is oracle-checked.

import { assertEquals, assertThrows } from "./assert.ts";
import { Kernel, type WalkResult } from "../core/kernel/kernel.ts";
import { AnonVma, AnonVmaScheme } from "../core/rmap/anon_vma.ts";
import { CowContextScheme } from "../core/rmap/cow_context.ts";
import { AnonVmaLazyScheme } from "../core/rmap/anon_vma_lazy.ts";
import type { RmapScheme } from "../core/rmap/scheme.ts";
import { OracleMismatchError } from "../core/oracle.ts";
import type { CountingExec } from "../core/machine/exec.ts";
import {
  type Folio,
  MADV_MERGEABLE,
  MADV_POPULATE_WRITE,
  MADV_UNMERGEABLE,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_LOCKED,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  type Mm,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  MREMAP_RELOCATE_ANON,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
  VM_MERGEABLE,
} from "../core/kernel/types.ts";

const P = PAGE_SIZE;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
const X = 0x7f0000000000;
const pg = (n: number): number => X + n * P;

interface World {
  k: Kernel;
  walks: WalkResult[];
}

function world(scheme: RmapScheme = new AnonVmaScheme(), params = {}): World {
  const k = new Kernel({ scheme, params: { debugChecks: true, ...params } });
  const walks: WalkResult[] = [];
  k.onWalk((r) => walks.push(r));
  return { k, walks };
}

function folioAt(k: Kernel, mm: Mm, addr: number): Folio {
  return k.pte(mm, addr)!.folio!;
}

function ksmObjects(k: Kernel): { slot: number; item: number; node: number } {
  return {
    slot: k.slab.live("ksm_mm_slot"),
    item: k.slab.live("ksm_rmap_item"),
    node: k.slab.live("ksm_stable_node"),
  };
}

function walkFigures(r: WalkResult): number[] {
  return [r.visits, r.hits, r.useless, r.structures];
}

/**
 * `n` ksmd wakes of the default `pages_to_scan` (100), each started where a full scan starts:
 * each is one full scan of these few pages, since a wake ends where its scan ends
 * (`ksm_do_scan` returns when `scan_get_next_rmap_item` gives NULL).
 */
function fullScans(k: Kernel, n: number): void {
  for (let i = 0; i < n; i++) k.ksmdScan();
}

/** Whether the page at `addr` is present and holds the kernel's zeroes (PresentPte.zeroFilled). */
function zeroFilled(k: Kernel, mm: Mm, addr: number): boolean {
  const e = k.pte(mm, addr);
  return e?.kind === "present" && e.zeroFilled === true;
}

/** The anon_vma of the VMA at `addr` (classic scheme). */
function avAt(k: Kernel, mm: Mm, addr: number): AnonVma {
  return (k.scheme as AnonVmaScheme).anonVmaOf(mm.vmas.find(addr)!)!;
}

// P: one mergeable VMA, pages 0 and 1 written with content 7, page 2 with unique content.
//
//   X+0        X+1        X+2        X+3
//   |  7       |  7       |  unique  |
//   `-------- vma A (VM_MERGEABLE) --'
function mergedPair(w: World): Mm {
  const { k } = w;
  const p = k.spawn();
  k.mmap(p, X, 3 * P, RW, ANON);
  k.madvise(p, X, 3 * P, MADV_MERGEABLE);
  k.touch(p, pg(0), "write", 7);
  k.touch(p, pg(1), "write", 7);
  k.touch(p, pg(2), "write");
  return p;
}

Deno.test("ksm: MADV_MERGEABLE sets VM_MERGEABLE and registers the mm once", () => {
  const { k } = world();
  const p = k.spawn();
  k.mmap(p, X, 4 * P, RW, ANON);
  k.madvise(p, pg(1), 2 * P, MADV_MERGEABLE);
  // The flag splits A in three: a VMA with VM_MERGEABLE cannot merge with one without.
  const v = [...p.vmas].map((x) => [x.start - X, x.end - X, (x.flags & VM_MERGEABLE) !== 0]);
  assertEquals(v, [[0, P, false], [P, 3 * P, true], [3 * P, 4 * P, false]]);
  k.madvise(p, X, 4 * P, MADV_MERGEABLE);
  assertEquals(p.mapCount, 1); // all mergeable again: merged back into one
  assertEquals(ksmObjects(k), { slot: 1, item: 0, node: 0 });
  k.madvise(p, X, 4 * P, MADV_UNMERGEABLE);
  assertEquals((p.vmas.find(X)!.flags & VM_MERGEABLE) !== 0, false);
});

Deno.test("ksm: pages the kernel zero-filled and nothing wrote hold equal content and merge", () => {
  //   X+0   X+1   X+2   X+3          populated (MAP_POPULATE): the kernel's zeroes, four times;
  //   | 0   | 0   | 0   | w   |      X+3 then written by the user (new data): unique
  //   `--- vma A (VM_MERGEABLE) --'  two full scans: X+0..X+2 become one KSM folio, X+3 stays
  // Bug caught: a populated page given unique content (Linux merges zeroes; verify's
  // ksm-zero-filled-pages-merge), or a user write that leaves the zeroes' content in place.
  const { k } = world(new AnonVmaScheme(), { zeroPage: false });
  const p = k.spawn();
  k.mmap(p, X, 4 * P, RW, ANON | MAP_POPULATE);
  assertEquals([0, 1, 2, 3].map((i) => zeroFilled(k, p, pg(i))), [true, true, true, true]);
  k.touch(p, pg(3), "write");
  assertEquals(zeroFilled(k, p, pg(3)), false);
  // A read fault where the zero page is forbidden allocates zeroes too, and fork copies them.
  k.mmap(p, pg(8), P, RW, ANON);
  k.touch(p, pg(8), "read");
  assertEquals(zeroFilled(k, p, pg(8)), true);
  const c = k.fork(p);
  assertEquals(zeroFilled(k, c, pg(8)), true);
  k.exit(c);
  k.madvise(p, X, 4 * P, MADV_MERGEABLE);
  fullScans(k, 2);
  const kf = folioAt(k, p, pg(0));
  assertEquals([kf.ksm, folioAt(k, p, pg(1)) === kf, folioAt(k, p, pg(2)) === kf], [
    true,
    true,
    true,
  ]);
  assertEquals(folioAt(k, p, pg(3)).ksm, false);
  assertEquals(ksmObjects(k), { slot: 1, item: 4, node: 1 });
  // A user write breaks the KSM page into a copy of new data (unique again).
  k.touch(p, pg(1), "write");
  assertEquals([folioAt(k, p, pg(1)).ksm, zeroFilled(k, p, pg(1))], [false, false]);
});

Deno.test("ksm: a populate's CoW of the zero page keeps zeroes; a user write's does not", () => {
  // With the zero page: a read maps it; MADV_POPULATE_WRITE then copies it (wp_page_copy) into
  // a page of zeroes, while a user write's copy holds the user's data.
  const { k } = world();
  const p = k.spawn();
  k.mmap(p, X, 2 * P, RW, ANON);
  k.touch(p, pg(0), "read");
  k.touch(p, pg(1), "read");
  assertEquals([k.pte(p, pg(0))!.kind, k.pte(p, pg(1))!.kind], ["zero", "zero"]);
  k.madvise(p, X, P, MADV_POPULATE_WRITE);
  k.touch(p, pg(1), "write");
  assertEquals([zeroFilled(k, p, pg(0)), zeroFilled(k, p, pg(1))], [true, false]);
});

Deno.test("ksm: MADV_MERGEABLE leaves shared memory alone and registers nothing for it", () => {
  // vma_ksm_compatible refuses VM_SHARED: ksm_madvise returns 0 without the flag or __ksm_enter.
  //   X+0 .. X+4: one shared anonymous VMA
  const { k } = world();
  const p = k.spawn();
  k.mmap(p, X, 4 * P, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED);
  k.madvise(p, pg(1), 2 * P, MADV_MERGEABLE);
  assertEquals([...p.vmas].map((x) => [x.start - X, x.end - X, x.flags & VM_MERGEABLE]), [
    [0, 4 * P, 0],
  ]);
  assertEquals(ksmObjects(k), { slot: 0, item: 0, node: 0 });
  k.touch(p, pg(1), "write", 7);
  k.touch(p, pg(2), "write", 7);
  assertEquals(k.ksmdScan(4), 0); // no mm registered: nothing to scan
});

Deno.test("ksm: two equal pages merge on the second full scan; rmap items pin the anon_vma", () => {
  const w = world();
  const { k } = w;
  const p = mergedPair(w);
  const av = avAt(k, p, X);
  assertEquals(av.refcount, 1);
  // Wake 1 with pages_to_scan 3, the scan's 3 pages: every page gets an rmap item and its
  // checksum; nothing merges. The end of the scan is not reached yet.
  assertEquals(k.ksmdScan(3), 3);
  assertEquals(folioAt(k, p, pg(0)) === folioAt(k, p, pg(1)), false);
  assertEquals(ksmObjects(k), { slot: 1, item: 3, node: 0 });
  // Wake 2 finds no page after X+2: the full scan ends (ksm_scan.seqnr++) and so does the wake,
  // with nothing scanned. A wake never goes on into the next scan.
  assertEquals(k.ksmdScan(3), 0);
  assertEquals(k.counters.ksm_pages_scanned, 3);
  // Wake 3 is scan 2: page 0 enters the unstable tree, page 1 finds it: both become one KSM
  // folio. Its third page ends the wake before the scan's end is seen.
  const before = k.counters.folios_freed ?? 0;
  assertEquals(k.ksmdScan(3), 3);
  const kf = folioAt(k, p, pg(0));
  assertEquals(kf.ksm, true);
  assertEquals(folioAt(k, p, pg(1)), kf);
  assertEquals(kf.mapcount, [2]);
  assertEquals(k.pte(p, pg(0))!.writable, false);
  assertEquals((k.counters.folios_freed ?? 0) - before, 1); // page 1's duplicate
  assertEquals(ksmObjects(k), { slot: 1, item: 3, node: 1 });
  // Two rmap items on the stable node, each holding a reference on vma->anon_vma.
  assertEquals(av.refcount, 3);
  assertEquals(av.ksmPins, 2);
  // rmap_walk_ksm: pass 1 visits the VMA of each item's own mm; pass 2 (search_new_forks)
  // finds no other mm. 2 items × 2 passes = 4 anon_vma lock/tree rounds.
  k.migrateFolio(kf);
  assertEquals(walkFigures(w.walks.at(-1)!), [2, 2, 0, 4]);
});

Deno.test("ksm: a write to a KSM page mapped once still copies (wp_can_reuse_anon_folio)", () => {
  //   X+0  X+1  X+2          pages 0 and 1 merged into KSM folio K; page 1 unmapped:
  //   K    .    u            K mapped once, yet a KSM folio is never reused in place
  const w = world();
  const { k } = w;
  const p = mergedPair(w);
  fullScans(k, 2);
  const kf = folioAt(k, p, pg(0));
  assertEquals([kf.ksm, folioAt(k, p, pg(1)) === kf], [true, true]);
  k.munmap(p, pg(1), P);
  assertEquals(kf.mapcount, [1]);
  const copies = k.counters.faults_cow_copy ?? 0;
  k.touch(p, pg(0), "write", 9);
  const nf = folioAt(k, p, pg(0));
  assertEquals([nf === kf, nf.ksm, k.pte(p, pg(0))!.writable], [false, false, true]);
  assertEquals((k.counters.faults_cow_copy ?? 0) - copies, 1);
  assertEquals(k.counters.faults_wp_reuse_move ?? 0, 0);
});

Deno.test("ksm: a fork child is found by search_new_forks; its write copies (never reuses)", () => {
  const w = world();
  const { k } = w;
  const p = mergedPair(w);
  fullScans(k, 2);
  const kf = folioAt(k, p, pg(0));
  //   P:  X+0 -> K, X+1 -> K      C (fork): X+0 -> K, X+1 -> K   (mapcount 4)
  const c = k.fork(p);
  assertEquals(kf.mapcount, [4]);
  assertEquals(ksmObjects(k), { slot: 2, item: 3, node: 1 }); // ksm_fork registers C
  k.migrateFolio(kf);
  // Pass 1: P's VMA for each item (2 hits); pass 2: C's VMA, linked into P's anon_vma tree by
  // anon_vma_fork, covers both addresses (2 hits).
  assertEquals(walkFigures(w.walks.at(-1)!), [4, 4, 0, 4]);
  // C writes page 0: a KSM folio is never reused, always copied.
  k.touch(c, pg(0), "write", 9);
  assertEquals(folioAt(k, c, pg(0)) === kf, false);
  assertEquals(kf.mapcount, [3]);
  k.migrateFolio(kf);
  // The item for X+0 still offers C's VMA in pass 2: one useless visit.
  assertEquals(walkFigures(w.walks.at(-1)!), [4, 3, 1, 4]);
});

Deno.test("ksm: MADV_UNMERGEABLE breaks the range's KSM pages; exit drops items and pins", () => {
  const w = world();
  const { k } = w;
  const p = mergedPair(w);
  fullScans(k, 2);
  const kf = folioAt(k, p, pg(0));
  const av = avAt(k, p, X);
  k.madvise(p, pg(1), P, MADV_UNMERGEABLE);
  assertEquals(folioAt(k, p, pg(1)) === kf, false);
  assertEquals(kf.mapcount, [1]);
  assertEquals(k.counters.ksm_break_cow, 1);
  // The item for X+1 stays in the stable tree until ksmd rescans (mm/ksm.c): still pinned.
  assertEquals(av.ksmPins, 2);
  k.migrateFolio(kf);
  // X+1 is now a VMA without VM_MERGEABLE mapping the copy: the stale item's visit is useless.
  assertEquals(walkFigures(w.walks.at(-1)!), [2, 1, 1, 4]);
  // folio_referenced stops at K's one mapping. stable_tree_append adds an item at the head of
  // the node's list, so X+1's item (appended second) comes first: a useless visit, then the hit.
  k.folioReferenced(kf);
  assertEquals(walkFigures(w.walks.at(-1)!), [2, 1, 1, 2]);
  fullScans(k, 1); // X+1 is no longer in a mergeable VMA: its item goes
  assertEquals(av.ksmPins, 1);
  // ksm_exit: the items stay (pinning the anon_vma) until ksmd's next visit of the slot.
  k.exit(p);
  assertEquals(ksmObjects(k), { slot: 1, item: 2, node: 1 }); // X+0 (on K) and X+2
  assertEquals([k.slab.live("anon_vma"), av.refcount], [1, 1]);
  k.ksmdScan(1);
  assertEquals(ksmObjects(k), { slot: 0, item: 0, node: 0 });
  assertEquals(k.slab.live("anon_vma"), 0);
});

// The same blind spot reached by mremap: a move breaks the range's present KSM pages
// (`prep_move_vma`) but moves swap entries as they are, so the swap-in at the new address maps the
// KSM folio where no rmap item ever was (the items still name X+0 and X+1).
//
//   X+0: swap  X+1: swap  X+2: unique  --mremap(MAYMOVE|FIXED)--> Y+0: swap  Y+1: swap  Y+2
//   read Y+1: KSM folio, no item for Y+1 -> unreachable; ksmd: X's items go, Y+1 gets one
Deno.test("ksm: a swapped-out KSM page moved by mremap is swapped in out of reach until rescanned", () => {
  // Bug caught: the swap-in not recording a mapping no item covers (the walk check then fails on
  // Linux's blind spot: only the swap-in knows of this address), or an item added by the swap-in.
  const { k, p, kf } = reclaimedPair(false);
  const Y = X + 64 * P;
  k.mremap(p, X, 3 * P, 3 * P, MREMAP_MAYMOVE | MREMAP_FIXED, Y);
  k.touch(p, Y + P, "read");
  assertEquals([folioAt(k, p, Y + P), k.counters.ksm_swapin_unlinked], [kf, 1]);
  assertEquals([k.tryToUnmap(kf), k.pte(p, Y + P)?.kind], [false, "present"]);
  fullScans(k, 1);
  assertEquals([k.tryToUnmap(kf), k.pte(p, Y + P)?.kind], [true, "swap"]);
});

/** P's merged pair (K at X+0 and X+1), forked to C; then P exits, its rmap items left to ksmd. */
function orphanedChild(): { w: World; k: Kernel; kf: Folio; c: Mm } {
  const w = world();
  const { k } = w;
  const p = mergedPair(w);
  fullScans(k, 2);
  const kf = folioAt(k, p, pg(0));
  const c = k.fork(p);
  k.exit(p);
  return { w, k, kf, c };
}

Deno.test("ksm: after the parent exits, its items still find the fork child until ksmd", () => {
  const { w, k, kf, c } = orphanedChild();
  assertEquals(kf.mapcount, [2]); // C's two mappings
  k.migrateFolio(kf);
  // P's items (P is gone): pass 1 finds nothing of P's, pass 2 finds C's VMA, still in av(A)'s
  // tree through C's anon_vma_chain.
  assertEquals(walkFigures(w.walks.at(-1)!), [2, 2, 0, 4]);
  // ksmd: P's slot is dropped with its 3 items, then C's pages get items on K's stable node.
  k.ksmdScan(3);
  assertEquals(ksmObjects(k), { slot: 1, item: 3, node: 1 });
  k.migrateFolio(kf);
  assertEquals(walkFigures(w.walks.at(-1)!), [2, 2, 0, 4]);
  k.exit(c);
  k.ksmdScan(1);
  assertEquals(ksmObjects(k), { slot: 0, item: 0, node: 0 });
  assertEquals(k.slab.live("anon_vma"), 0);
});

// The review question (June 2025, RELOCATE_ANON v1): P's page X+0 is merged with Q's page
// Y+0 (content 7) into KSM folio K; P then moves its VMA A to Z with mremap.
//
//   before:  P  X+0 -> K   (item P@X+0, pins av(A))        Q  Y+0 -> K  (item Q@Y+0, pins av(Q))
//   mremap:  prep_move_vma breaks K in [X, X+2) first: P's X+0 gets a private copy
//   after:   P  Z+0 -> copy (content 7)                   Q  Y+0 -> K
//            item P@X+0 stale on K's stable node until ksmd rescans P.
const Y = 0x7e0000000000;
const Z = 0x7d0000000000;

function sharedWithQ(w: World): { p: Mm; q: Mm; kf: Folio } {
  const { k } = w;
  const p = k.spawn();
  const q = k.spawn();
  k.mmap(p, X, 2 * P, RW, ANON);
  k.mmap(q, Y, P, RW, ANON);
  k.madvise(p, X, 2 * P, MADV_MERGEABLE);
  k.madvise(q, Y, P, MADV_MERGEABLE);
  k.touch(p, pg(0), "write", 7);
  k.touch(p, pg(1), "write");
  k.touch(q, Y, "write", 7);
  fullScans(k, 2);
  const kf = folioAt(k, p, pg(0));
  assertEquals(kf.ksm && folioAt(k, q, Y) === kf, true);
  return { p, q, kf };
}

for (const relocate of [false, true]) {
  const name = relocate ? "MREMAP_RELOCATE_ANON" : "plain MREMAP_MAYMOVE|FIXED";
  Deno.test(`ksm + mremap (${name}): KSM pages are broken before the move; walks stay exact`, () => {
    const w = world();
    const { k } = w;
    const { p, q, kf } = sharedWithQ(w);
    const avA = avAt(k, p, X);
    assertEquals(avA.refcount, 2); // 1 + the rmap item P@X+0
    const flags = MREMAP_MAYMOVE | MREMAP_FIXED | (relocate ? MREMAP_RELOCATE_ANON : 0);
    k.mremap(p, X, 2 * P, 2 * P, flags, Z);
    assertEquals(k.counters.ksm_break_cow, 1);
    assertEquals(kf.mapcount, [1]); // Q only
    const moved = folioAt(k, p, Z);
    assertEquals(moved.ksm, false);
    assertEquals(k.counters.mremap_relocated ?? 0, relocate ? 1 : 0);
    // The stale item still pins av(A). Plain move: the moved VMA keeps av(A) (copy_vma clones
    // the chain), so av(A) is live with one VMA. RELOCATE_ANON: the destination got a fresh
    // anon_vma and the source was unmapped, so av(A) lives on only by the item's reference,
    // with an empty tree.
    assertEquals(avA.freed, false);
    assertEquals(avA.refcount, relocate ? 1 : 2);
    assertEquals(avA.ksmPins, 1);
    assertEquals(avA.tree.isEmpty(), relocate);
    assertEquals(k.slab.live("anon_vma"), relocate ? 3 : 2);
    // Walk of K: pass 1 locks av(A) (stale item: nothing covers X+0, no visit) and av(Q)
    // (hit); pass 2 finds no other mm. No mapping missed, no useless visit.
    k.migrateFolio(kf);
    assertEquals(walkFigures(w.walks.at(-1)!), [1, 1, 0, 4]);
    // ksmd comes round: P's stale item goes (X+0 is no longer scanned); Z+0 (content 7, in
    // the moved VMA, still VM_MERGEABLE as prep_move_vma keeps the flag) gets a new item, whose
    // first checksum only is taken; the scan after merges it again with K.
    fullScans(k, 1);
    assertEquals(avA.freed, relocate); // relocate: the last reference was the stale item
    assertEquals(folioAt(k, p, Z) === kf, false);
    fullScans(k, 1);
    assertEquals(folioAt(k, p, Z), kf);
    assertEquals(kf.mapcount, [2]);
    k.migrateFolio(kf);
    assertEquals(walkFigures(w.walks.at(-1)!), [2, 2, 0, 4]);
    k.exit(p);
    k.exit(q);
    k.ksmdScan(1);
    assertEquals(ksmObjects(k), { slot: 0, item: 0, node: 0 });
    assertEquals(k.slab.live("anon_vma"), 0);
  });

  Deno.test(`ksm + mremap (${name}) without the break (debug): rmap_walk_ksm misses the move`, () => {
    const w = world(new AnonVmaScheme(), { ksmBreakOnMove: false, debugChecks: false });
    const { k } = w;
    const { p, kf } = sharedWithQ(w);
    const flags = MREMAP_MAYMOVE | MREMAP_FIXED | (relocate ? MREMAP_RELOCATE_ANON : 0);
    k.mremap(p, X, 2 * P, 2 * P, flags, Z);
    // RELOCATE_ANON leaves KSM folios as they are; K is still mapped by P, now at Z+0.
    assertEquals(folioAt(k, p, Z), kf);
    assertEquals(k.counters.mremap_relocated ?? 0, relocate ? 1 : 0);
    // The item still says X+0: no VMA of av(A)'s tree covers it, so P's mapping is missed.
    assertThrows(() => k.migrateFolio(kf), OracleMismatchError);
  });
}

Deno.test("ksm: schemes without an anon_vma per VMA walk by mm and address ([U])", () => {
  for (const scheme of [new CowContextScheme(), new AnonVmaLazyScheme()]) {
    const w = world(scheme);
    const { k } = w;
    const p = mergedPair(w);
    fullScans(k, 2);
    const kf = folioAt(k, p, pg(0));
    const c = k.fork(p);
    k.migrateFolio(kf);
    assertEquals(walkFigures(w.walks.at(-1)!).slice(0, 3), [4, 4, 0]);
    k.exit(c);
    k.exit(p);
    k.ksmdScan(1);
    assertEquals(ksmObjects(k), { slot: 0, item: 0, node: 0 });
  }
});

Deno.test("ksm: items pinning a fork child's leaf keep the root until ksmd drops them; root-locked walks", () => {
  //  P: 0AAA2   written, root A      C = fork(P): leaf B, chain [B, A]
  //  C: MADV_MERGEABLE, writes pages 0 and 1 with content 7 (CoW copies in B); ksmd merges them
  //  into K: two rmap items, each get_anon_vma(B) (B refcount 1 + 2; A's 1 + 1 for B).
  //  rmap_walk_ksm read-locks each item's anon_vma with anon_vma_lock_read: the ROOT's rwsem.
  //  P and C exit: both trees empty, but B is pinned: A and B stay (__put_anon_vma frees the
  //  root only when its last child goes). ksmd drops the items: put_anon_vma(B) frees B, then A.
  const w = world();
  const { k } = w;
  const p = k.spawn();
  k.mmap(p, X, 2 * P, RW, ANON);
  k.touch(p, pg(0), "write");
  k.touch(p, pg(1), "write");
  const c = k.fork(p);
  k.madvise(c, X, 2 * P, MADV_MERGEABLE);
  k.touch(c, pg(0), "write", 7);
  k.touch(c, pg(1), "write", 7);
  fullScans(k, 2);
  const kf = folioAt(k, c, pg(0));
  assertEquals([kf.ksm, folioAt(k, c, pg(1)) === kf], [true, true]);
  const a = avAt(k, p, X), b = avAt(k, c, X);
  assertEquals([b.isRoot, b.root, b.ksmPins, b.refcount, a.refcount], [false, a, 2, 3, 2]);
  const ex = k.exec as CountingExec;
  const root = ex.lockCounters("anon_vma.root"), own = ex.lockCounters("anon_vma.own");
  const r0 = root.readAcquisitions;
  k.migrateFolio(kf);
  // 2 items x 2 passes (the item's own mm, then search_new_forks) per walk, 2 walks.
  assertEquals(w.walks.slice(-2).map(walkFigures), [[2, 2, 0, 4], [2, 2, 0, 4]]);
  assertEquals([root.readAcquisitions - r0, own.readAcquisitions], [8, 0]);
  k.exit(p);
  k.exit(c);
  assertEquals([k.slab.live("anon_vma"), a.freed, b.freed, b.refcount, a.refcount], [
    2,
    false,
    false,
    2,
    1,
  ]);
  k.ksmdScan(1);
  assertEquals(ksmObjects(k), { slot: 0, item: 0, node: 0 });
  assertEquals([k.slab.live("anon_vma"), a.freed, b.freed], [0, true, true]);
});

// The mm_slot list and ksmd's cursor (mm/ksm.c, Linux 6.18): `__ksm_enter` inserts a new mm just
// behind the cursor, `__ksm_exit` moves an exiting mm that has rmap items to just after it.
//
//   P: X+0 X+1    Q: X+0    R: X+0      every page mergeable, written with unique content
function threeMms(k: Kernel, pages: number[]): Mm[] {
  return pages.map((n) => {
    const m = k.spawn();
    k.mmap(m, X, n * P, RW, ANON);
    k.madvise(m, X, n * P, MADV_MERGEABLE);
    for (let i = 0; i < n; i++) k.touch(m, pg(i), "write");
    return m;
  });
}

Deno.test("ksm: a new mm is registered just behind the cursor, so scanned from the next scan", () => {
  const { k } = world();
  threeMms(k, [2, 1]);
  //   list: P Q     wake 1 (1 page): P@X+0; the cursor stays in P
  assertEquals(k.ksmdScan(1), 1);
  //   R registers: list R P Q (behind the cursor, which is still in P)
  threeMms(k, [1]);
  //   wake 2: P@X+1, Q@X+0, then the scan ends: R is not reached in this scan
  assertEquals(k.ksmdScan(), 2);
  assertEquals(ksmObjects(k), { slot: 3, item: 3, node: 0 });
  //   wake 3, the next scan: R first (R@X+0), then P and Q
  assertEquals(k.ksmdScan(1), 1);
  assertEquals(ksmObjects(k).item, 4);
});

Deno.test("ksm: an exiting mm with rmap items is moved to just after the cursor", () => {
  const { k } = world();
  const [p, q, r] = threeMms(k, [2, 1, 1]);
  fullScans(k, 1); // every page has an item: P 2, Q 1, R 1
  assertEquals(ksmObjects(k), { slot: 3, item: 4, node: 0 });
  //   wake (1 page): P@X+0; the cursor stays in P. R exits with an item: moved to just after
  //   P, list P R Q.
  assertEquals(k.ksmdScan(1), 1);
  k.exit(r);
  assertEquals(ksmObjects(k), { slot: 3, item: 4, node: 0 }); // R's slot waits for ksmd
  //   wake (1 page): P@X+1. Cursor still in P.
  assertEquals(k.ksmdScan(1), 1);
  //   wake (1 page): past P's pages, the next slot is R's, exiting: freed with its item; then
  //   Q@X+0 is scanned. (Left at the end of the list, R would wait until after Q.)
  assertEquals(k.ksmdScan(1), 1);
  assertEquals(ksmObjects(k), { slot: 2, item: 3, node: 0 });
  //   An exiting mm at the cursor stays where it is; one without items is freed at once.
  k.exit(q); // the cursor is in Q: left for ksmd
  assertEquals(ksmObjects(k), { slot: 2, item: 3, node: 0 });
  assertEquals(k.ksmdScan(), 0); // Q freed with its item, then the scan ends
  assertEquals(ksmObjects(k), { slot: 1, item: 2, node: 0 });
  k.exit(p);
  assertEquals(k.ksmdScan(), 0);
  assertEquals(ksmObjects(k), { slot: 0, item: 0, node: 0 });
});

Deno.test("ksm: an exiting mm at the cursor stays there; ksmd frees it on its next step", () => {
  const { k } = world();
  const [, q] = threeMms(k, [1, 1, 1]);
  fullScans(k, 1);
  //   list P Q R; wake (2 pages): P@X+0, Q@X+0; the cursor stays in Q
  assertEquals(k.ksmdScan(2), 2);
  k.exit(q); // at the cursor: neither freed nor moved (__ksm_exit leaves it to ksmd)
  assertEquals(ksmObjects(k), { slot: 3, item: 3, node: 0 });
  //   wake (1 page): Q is found exiting and freed with its item, then R@X+0 is scanned
  assertEquals(k.ksmdScan(1), 1);
  assertEquals(ksmObjects(k), { slot: 2, item: 2, node: 0 });
});

Deno.test("ksm: a page given a KSM page's content merges two scans later (checksum first)", () => {
  //   X+0 X+1 -> K (content 7)   X+2: unique, then written with 7
  // cmp_and_merge_page takes the checksum before it searches the stable tree: the scan after
  // the write only records the new checksum; the one after that finds K. (This host, Linux
  // 6.18: pages_sharing went from 1 to 2 on the second scan after the write, not the first.)
  const w = world();
  const { k } = w;
  const p = mergedPair(w);
  fullScans(k, 2);
  const kf = folioAt(k, p, pg(0));
  assertEquals(kf.mapcount, [2]);
  k.touch(p, pg(2), "write", 7);
  fullScans(k, 1);
  assertEquals([folioAt(k, p, pg(2)) === kf, kf.mapcount], [false, [2]]);
  fullScans(k, 1);
  assertEquals([folioAt(k, p, pg(2)) === kf, kf.mapcount], [true, [3]]);
  // A write of new unique content changes the checksum again: the page is left alone (a write
  // to a KSM page first breaks it into a private copy).
  k.touch(p, pg(2), "write");
  fullScans(k, 2);
  assertEquals([folioAt(k, p, pg(2)) === kf, kf.mapcount], [false, [2]]);
});

Deno.test("ksm: a page rewritten in place with new content no longer matches its old twin", () => {
  //   X+0: 7   X+1: 7, then (after ksmd's first scan) rewritten in place with unique content
  const w = world();
  const { k } = w;
  const p = mergedPair(w);
  fullScans(k, 1);
  const f1 = folioAt(k, p, pg(1));
  k.touch(p, pg(1), "write"); // exclusive and writable: written in place, same folio
  assertEquals(folioAt(k, p, pg(1)), f1);
  fullScans(k, 3);
  assertEquals([folioAt(k, p, pg(0)).ksm, folioAt(k, p, pg(1)).ksm], [false, false]);
  assertEquals(ksmObjects(k), { slot: 1, item: 3, node: 0 });
});

// A reclaimed KSM page swapped back in (mm/memory.c `do_swap_page`, mm/ksm.c
// `ksm_might_need_to_copy`, whose comment in include/linux/ksm.h tells this case). Both entries
// of the merged pair share one swap slot.
//
//   X+0: 7   X+1: 7   one KSM folio --reclaim--> two swap entries of one slot
function reclaimedPair(swapSyncIo: boolean): { k: Kernel; p: Mm; kf: Folio } {
  const w = world(new AnonVmaScheme(), { swapSyncIo });
  const p = mergedPair(w);
  fullScans(w.k, 2);
  const kf = folioAt(w.k, p, pg(0));
  assertEquals([kf.ksm, folioAt(w.k, p, pg(1)) === kf, w.k.tryToUnmap(kf)], [true, true, true]);
  assertEquals([w.k.pte(p, pg(0))?.kind, w.k.pte(p, pg(1))?.kind], ["swap", "swap"]);
  return { k: w.k, p, kf };
}

Deno.test("ksm: a freed KSM page comes back as a new folio at its first address, a copy at the other", () => {
  // Bug caught: the second swap-in maps the folio the first one read (kept in the swap cache for
  // the slot's other entry) although its index is the first address's: "page -1 outside folio"
  // before the copy was modelled, or a folio whose index does not place it at X+0.
  const { k, p, kf } = reclaimedPair(true);
  assertEquals(kf.freed, true); // the default device's writeback is over at once
  k.touch(p, pg(1), "read");
  const first = folioAt(k, p, pg(1));
  assertEquals([first.ksm, first.index, k.counters.faults_swapin], [false, pg(1) / P, 1]);
  k.touch(p, pg(0), "read");
  const second = folioAt(k, p, pg(0));
  assertEquals([second === first, second.index, k.counters.faults_swapin_copied], [
    false,
    pg(0) / P,
    1,
  ]);
  assertEquals([k.counters.faults_swapin, k.counters.faults_swapin_cached ?? 0], [2, 0]);
  // The copy is exclusive ("a fresh page that is not exposed to the swapcache"), so even a read
  // fault maps it writable; the first folio, whose slot had another entry, is not.
  // Bug caught: a copy left shared (read-only, a later write taking the CoW path).
  assertEquals([second.pageAnonExclusive(0), k.pte(p, pg(0))?.writable], [true, true]);
  assertEquals([first.pageAnonExclusive(0), k.pte(p, pg(1))?.writable], [false, false]);
  k.migrateFolio(first); // oracle-checked walks
  k.migrateFolio(second);
});

Deno.test("ksm: on a disk, a KSM page reclaim freed is read back once, the other address copied", () => {
  //   X+0: swap   X+1: swap   one slot; kswapd frees the clean KSM folio the swap cache held
  //   read X+1 -> a new folio (index X+1) in the swap cache; read X+0 -> an exclusive copy
  // Bug caught: the copy mapped shared and read-only (the device is not synchronous, neither
  // entry is exclusive and the fault is a read: only "not exposed to the swapcache" makes it
  // exclusive in `do_swap_page`), or the folio read for X+1 mapped at X+0 by a wrong index.
  const { k, p, kf } = reclaimedPair(false);
  assertEquals([k.tryToUnmap(kf), kf.freed], [true, true]);
  k.touch(p, pg(1), "read");
  const first = folioAt(k, p, pg(1));
  assertEquals([first.ksm, first.index, first.pageAnonExclusive(0)], [false, pg(1) / P, false]);
  k.touch(p, pg(0), "read");
  const copy = folioAt(k, p, pg(0));
  assertEquals([copy === first, copy.index, k.counters.faults_swapin_copied], [
    false,
    pg(0) / P,
    1,
  ]);
  assertEquals([copy.pageAnonExclusive(0), k.pte(p, pg(0))?.writable], [true, true]);
  assertEquals([k.pte(p, pg(1))?.writable, k.counters.faults_swapin], [false, 2]);
  k.migrateFolio(first); // oracle-checked walks
  k.migrateFolio(copy);
});

Deno.test("ksm: a KSM page kept in the swap cache is mapped back as it is at both addresses", () => {
  // Bug caught: the swap-in places the cached KSM folio by its index ("page 1 outside folio"),
  // or maps it exclusive (writable), so that a write would change the page both addresses share.
  const { k, p, kf } = reclaimedPair(false);
  assertEquals(kf.freed, false); // writeback still under way: kept in the swap cache
  k.touch(p, pg(1), "read");
  k.touch(p, pg(0), "write");
  assertEquals([folioAt(k, p, pg(1)), kf.ksm, k.counters.faults_swapin_cached], [kf, true, 2]);
  // The write faulted the page in read-only and broke it into a private copy (CoW).
  assertEquals([folioAt(k, p, pg(0)) === kf, k.counters.faults_cow_copy], [false, 1]);
  k.migrateFolio(kf);
});

Deno.test("ksm: a write to the last entry of a cached KSM page still breaks it into a copy", () => {
  //   X+1 unmapped first: X+0's write fault takes the slot's last entry (should_try_to_free_swap)
  // Bug caught: the swap-in maps the KSM folio exclusive and writable because it left the swap
  // cache, and the write lands in the stable page (do_swap_page never maps a KSM folio so).
  const { k, p, kf } = reclaimedPair(false);
  k.munmap(p, pg(1), P);
  k.touch(p, pg(0), "write");
  assertEquals([folioAt(k, p, pg(0)) === kf, k.counters.faults_cow_copy], [false, 1]);
  assertEquals([k.counters.faults_swapin_cached, kf.ksm], [1, true]);
});

// A KSM page still in the swap cache after ksmd dropped its rmap items: ksmd found both addresses
// not present and freed their items (`get_next_rmap_item` frees the items below the next present
// page, X+2's), leaving the stable node without items. The swap-in maps the folio where no item
// is, and `rmap_walk_ksm` cannot reach that mapping (nor a fork child's copy of it) until ksmd
// scans the address again and `cmp_and_merge_page` appends an item (mm/ksm.c, Linux 6.18).
//
//   reclaim  X+0: swap  X+1: swap  X+2: unique   stable node: items X+0, X+1
//   ksmd     X+0: swap  X+1: swap  X+2: unique   stable node: no items
//   read X+1 X+0: swap  X+1: KSM   X+2: unique   unreachable; fork: the child's copy too
//   ksmd     items for X+1 in the parent and in the child: both reachable, both unmapped
Deno.test("ksm: a KSM page swapped in after ksmd dropped its items is out of reach until rescanned", () => {
  // Bug caught: the walk check failing on the kernel's own blind spot (the property test's
  // "missed its mapping" on a KSM swap-in), an exemption that outlives the item ksmd appends, or
  // a swap-in that appends an item itself (Linux's does not).
  const { k, p, kf } = reclaimedPair(false);
  fullScans(k, 1);
  assertEquals([ksmObjects(k), kf.freed], [{ slot: 1, item: 1, node: 1 }, false]);
  k.touch(p, pg(1), "read");
  assertEquals([folioAt(k, p, pg(1)), k.counters.ksm_swapin_unlinked, ksmObjects(k).item], [
    kf,
    1,
    1,
  ]);
  const walks: WalkResult[] = [];
  k.onWalk((r) => walks.push(r));
  // try_to_unmap has no item to follow: nothing is visited and the mapping stays.
  assertEquals([k.tryToUnmap(kf), k.pte(p, pg(1))?.kind], [false, "present"]);
  assertEquals(walks.map(walkFigures), [[0, 0, 0, 0]]);
  const c = k.fork(p);
  assertEquals([folioAt(k, c, pg(1)), k.tryToUnmap(kf)], [kf, false]);
  // ksmd reaches X+1 in both mms: each KSM page found there gets an item on its stable node.
  fullScans(k, 1);
  assertEquals([ksmObjects(k), k.counters.ksm_swapin_unlinked], [{ slot: 2, item: 4, node: 1 }, 1]);
  walks.length = 0;
  assertEquals([k.tryToUnmap(kf), k.pte(p, pg(1))?.kind, k.pte(c, pg(1))?.kind], [
    true,
    "swap",
    "swap",
  ]);
  assertEquals(walks.length, 1);
});

// A fork child's KSM mapping that only its parent's rmap item covered: the parent exits, and a
// ksmd wake of one page frees the parent's items (`ksm_test_exit`) but reaches only the child's
// first page. rmap_walk_ksm found the child's X+1 through the parent's item (search_new_forks)
// and cannot reach it until ksmd scans it (mm/ksm.c, Linux 6.18).
//
//   P: X+0 K  X+1 K --fork--> C: X+0 K  X+1 K;  P exits;  ksmd(1 page): C's item for X+0 only
Deno.test("ksm: a fork child's KSM mapping is out of reach once its parent's items went, until scanned", () => {
  // Bug caught: the walk check failing on that blind spot of Linux, or an exemption that outlives
  // the child's own item (the walk must then unmap both mappings).
  const { k, kf, c } = orphanedChild();
  k.ksmdScan(1);
  assertEquals([folioAt(k, c, pg(1)), ksmObjects(k).item], [kf, 1]);
  assertEquals([k.tryToUnmap(kf), k.pte(c, pg(0))?.kind, k.pte(c, pg(1))?.kind], [
    false,
    "swap",
    "present",
  ]);
  fullScans(k, 2);
  assertEquals([k.tryToUnmap(kf), k.pte(c, pg(1))?.kind], [true, "swap"]);
});

// P: one VM_LOCKED mergeable VMA of 24 pages, all written with content 7; its fork child C maps
// the same folios through dirty entries (fork copies the dirty bit of a private mapping).
//
//   X+0    X+1    X+2   ...   X+15   X+16  ...  X+23   X+24
//   |  7   |  7   |  7  ...   |  7   |  7  ...  |  7   |
//   `------------------ vma A (VM_LOCKED | VM_MERGEABLE) -'   (P; C the same, not locked)
//
// ksmd's second scan visits P first: page 0 enters the unstable tree, page 1 merges with it and
// becomes the KSM page K (P's page 0 now maps K), pages 2.. merge into K. Each replace in P's
// locked VMA puts two references in ksmd's mlock batch (mlock K, munlock the old page), and the
// add that fills the 31-entry batch processes it: entries 2, 4, ..., 30 for pages 0 and 2..15,
// the 31st (page 16's K) drains them, and pages 16..23 keep a reference until the next full
// scan (a 15-entry batch would drain at entries 15, 30 and 45 and leave page 23 alone). Then C:
// pages 0 and 2..15 pass write_protect_page's reference check and merge, page 1 is K (joins),
// pages 16..23 fail it (dirty entry, batched folio) and keep their own folios.
Deno.test("ksm: ksmd's mlock batch holds references on the pages a locked merge unmapped", () => {
  const { k } = world();
  const p = k.spawn();
  k.mmap(p, X, 24 * P, RW, ANON | MAP_LOCKED);
  k.madvise(p, X, 24 * P, MADV_MERGEABLE);
  for (let i = 0; i < 24; i++) k.touch(p, pg(i), "write", 7);
  const c = k.fork(p);
  fullScans(k, 2);
  const kf = folioAt(k, p, pg(0));
  const merged = (mm: Mm): number[] =>
    [...Array(24).keys()].filter((i) => folioAt(k, mm, pg(i)) === kf);
  assertEquals(merged(p).length, 24);
  assertEquals(merged(c), [...Array(16).keys()]);
  // An rmap item for every scanned page, one stable node; C's last four wait for the next scan.
  assertEquals(ksmObjects(k), { slot: 2, item: 48, node: 1 });
  // The third scan starts with lru_add_drain_all: the batch is empty, and C's last four merge.
  fullScans(k, 1);
  assertEquals(merged(c).length, 24);
  // The child's items pin its anon_vma past its exit.
  k.exit(c);
  assertEquals(k.slab.live("anon_vma"), 2);
});
