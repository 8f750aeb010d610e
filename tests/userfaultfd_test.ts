// userfaultfd in missing mode and UFFDIO_MOVE (fs/userfaultfd.c, mm/userfaultfd.c of Linux 6.18;
// core/kernel/userfaultfd.ts; docs/model.md §12.8). The outcomes were read on this host first and
// are checked against it by tools/verify/scenarios/uffd.scn. Each test names the bug it catches.

import assert from "node:assert/strict";
import { assertEquals } from "./assert.ts";
import { errnoOf } from "./errno.ts";
import { flagLayout } from "./vma_layout.ts";
import { Kernel } from "../core/kernel/kernel.ts";
import { AnonVmaScheme } from "../core/rmap/anon_vma.ts";
import {
  UFFD_FEATURE_MOVE,
  UFFDIO_COPY_MODE_WP,
  UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES,
  UFFDIO_REGISTER_MODE_MINOR,
  UFFDIO_REGISTER_MODE_WP,
} from "../core/kernel/userfaultfd.ts";
import {
  MADV_FREE,
  MADV_GUARD_INSTALL,
  MADV_PAGEOUT,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  type Mm,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
  VM_UFFD_MISSING,
} from "../core/kernel/types.ts";
import { createScheme, schemeIds } from "../core/rmap/registry.ts";
import { CountingExec, type Lock, type LockMode, type WorkKind } from "../core/machine/exec.ts";
import type { RmapScheme } from "../core/rmap/scheme.ts";

const P = PAGE_SIZE;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
const X = 0x7f0000000000;

function world(scheme: RmapScheme = new AnonVmaScheme(), order = 0): { k: Kernel; mm: Mm } {
  const k = new Kernel({ scheme, params: { debugChecks: true, anonFolioOrder: order } });
  return { k, mm: k.spawn() };
}

/** Every VMA of `mm` from X: whether it has registered (VM_UFFD_MISSING), and its entries (vma_layout.ts). */
function layout(mm: Mm): (number | boolean | string)[][] {
  return flagLayout(mm, X, VM_UFFD_MISSING);
}

Deno.test("uffd: register splits at the range's ends, skips holes; unregister merges back", () => {
  // Catches: registration that refuses holes, misses a VMA of the range, or leaves VMAs split.
  //   0       4   6   8   10  12          18
  //   [ pppp ...  .   ]   [   .           ]      two VMAs, a hole at 8..10
  //   register 6..12:  [0,6) [6,8)um  hole  [10,12)um [12,18)
  const { k, mm } = world();
  k.mmap(mm, X, 8 * P, RW, ANON);
  k.mmap(mm, X + 10 * P, 8 * P, RW, ANON);
  for (let i = 0; i < 4; i++) k.touch(mm, X + i * P, "write");
  const u = k.userfaultfd(mm);
  u.register(X + 6 * P, 6 * P);
  assertEquals(layout(mm), [
    [0, 6, false, "pppp.."],
    [6, 8, true, ".."],
    [10, 12, true, ".."],
    [12, 18, false, "......"],
  ]);
  assertEquals(errnoOf(() => u.register(X + 20 * P, 4 * P)), "EINVAL"); // no VMA at all
  u.unregister(X, 20 * P);
  assertEquals(layout(mm), [[0, 8, false, "pppp...."], [10, 18, false, "........"]]);
  assertEquals(k.slab.live("anon_vma"), 1);
});

Deno.test("uffd: bad modes, ranges and modes the model leaves out", () => {
  // Catches: a register that accepts no mode, MINOR on anonymous memory, or an empty range.
  const { k, mm } = world();
  k.mmap(mm, X, 8 * P, RW, ANON);
  const u = k.userfaultfd(mm);
  assertEquals(errnoOf(() => u.register(X, 8 * P, 0)), "EINVAL");
  assertEquals(errnoOf(() => u.register(X, 8 * P, 8)), "EINVAL");
  assertEquals(errnoOf(() => u.register(X, 8 * P, UFFDIO_REGISTER_MODE_MINOR)), "EINVAL");
  assertEquals(errnoOf(() => u.register(X, 0)), "EINVAL");
  assertEquals(errnoOf(() => u.register(X + 1, P)), "EINVAL");
  assertEquals(errnoOf(() => u.register(-P, P)), "EINVAL"); // unsigned: beyond TASK_SIZE
  assertEquals(errnoOf(() => u.move(X, -2 * P, P)), "EINVAL");
  let threw = "";
  try {
    u.register(X, P, UFFDIO_REGISTER_MODE_WP);
  } catch (e) {
    threw = (e as Error).message;
  }
  assertEquals(threw, "UFFDIO_REGISTER: UFFDIO_REGISTER_MODE_WP is not modelled");
  try {
    k.userfaultfd(mm);
  } catch (e) {
    threw = (e as Error).message;
  }
  assertEquals(threw, "userfaultfd: one open context per mm is modelled");
  try {
    k.userfaultfd(k.spawn(), UFFD_FEATURE_MOVE);
  } catch (e) {
    threw = (e as Error).message;
  }
  assert(/needs UFFD_FEATURE_SIGBUS/.test(threw), threw);
  u.close();
  assertEquals(errnoOf(() => u.register(X, P)), "EBADF");
  k.userfaultfd(mm); // a new one once the first is closed
});

Deno.test("uffd: a missing fault in a registered VMA is SIGBUS, populated pages fault", () => {
  // Catches: a fault that allocates in a registered VMA (the handler would never see it), or
  // one that refuses a present page's CoW or a write to a read-faulted page.
  const { k, mm } = world();
  k.mmap(mm, X, 8 * P, RW, ANON);
  k.touch(mm, X, "write");
  const u = k.userfaultfd(mm);
  u.register(X, 8 * P);
  assertEquals(errnoOf(() => k.touch(mm, X + P, "read")), "EFAULT");
  assertEquals(errnoOf(() => k.touch(mm, X + 2 * P, "write")), "EFAULT");
  k.touch(mm, X, "write");
  assertEquals(layout(mm), [[0, 8, true, "p......."]]);
  assertEquals(k.counters.faults_anon_new, 1);
});

Deno.test("uffd: a SIGBUS fault on an unfaulted VMA still gives it an anon_vma (not a zero-page read)", () => {
  // Catches: a missing fault that hands over to handle_userfault before do_anonymous_page's
  // vmf_anon_prepare (the host keeps the anon_vma: verify's uffd-missing-fault-prepares-anon_vma),
  // or one that prepares before a read the zero page would serve.
  //   A [0,4) rw, B [8,12) r: both registered, neither faulted
  for (const zeroPage of [true, false]) {
    const k = new Kernel({ scheme: new AnonVmaScheme(), params: { debugChecks: true, zeroPage } });
    const mm = k.spawn();
    k.mmap(mm, X, 4 * P, RW, ANON);
    k.mmap(mm, X + 8 * P, 4 * P, PROT_READ, ANON);
    const u = k.userfaultfd(mm);
    u.register(X, 4 * P);
    u.register(X + 8 * P, 4 * P);
    assertEquals(errnoOf(() => k.touch(mm, X + 8 * P, "read")), "EFAULT");
    assertEquals(k.slab.live("anon_vma"), zeroPage ? 0 : 1, `read, zeroPage ${zeroPage}`);
    assertEquals(errnoOf(() => k.touch(mm, X, "write")), "EFAULT");
    assertEquals(k.slab.live("anon_vma"), zeroPage ? 1 : 2, `write, zeroPage ${zeroPage}`);
    assertEquals([k.liveAnonFolios.length, k.counters.faults_anon_new ?? 0], [0, 0]);
    assertEquals(layout(mm), [[0, 4, true, "...."], [8, 12, true, "...."]]);
  }
});

Deno.test("uffd: UFFDIO_COPY and UFFDIO_ZEROPAGE fill missing pages; errors as on the host", () => {
  // Catches: a copy into an unregistered VMA or past the registered one (ENOENT on the host), a
  // copy over a populated page (EEXIST) or a partial one reported as success (EAGAIN with the
  // bytes), a copied page not exclusive in the VMA's own anon_vma, a zero-page fill over a guard
  // marker (EEXIST; a copy overwrites it), or no anon_vma prepared when the lookup succeeds and
  // the copy then fails. The sequence is the host probe's (Linux 6.18, 2026-12-02).
  //   A [0,8) registered, B [8,16) not (the registration split them)
  const { k, mm } = world();
  k.mmap(mm, X, 16 * P, RW, ANON);
  const u = k.userfaultfd(mm);
  assertEquals([errnoOf(() => u.copy(X, P)), u.filled, k.slab.live("anon_vma")], [
    "ENOENT",
    -2,
    1,
  ]);
  u.register(X, 8 * P);
  assertEquals(u.copy(X, 2 * P), 2 * P);
  assertEquals([errnoOf(() => u.copy(X + P, 2 * P)), u.filled], ["EEXIST", -17]);
  u.copy(X + 2 * P, 2 * P);
  u.copy(X + 5 * P, P);
  assertEquals([errnoOf(() => u.copy(X + 4 * P, 3 * P)), u.filled], ["EAGAIN", P]);
  assertEquals([errnoOf(() => u.copy(X + 7 * P, 2 * P)), u.filled], ["ENOENT", -2]);
  assertEquals(u.zeropage(X + 6 * P, P), P);
  k.madvise(mm, X + 7 * P, P, MADV_GUARD_INSTALL);
  assertEquals([errnoOf(() => u.zeropage(X + 7 * P, P)), u.filled], ["EEXIST", -17]);
  assertEquals(layout(mm), [[0, 8, true, "ppppppzG"], [8, 16, false, "........"]]);
  assertEquals(u.copy(X + 7 * P, P), P); // pte_none_mostly: the marker is overwritten
  assertEquals(errnoOf(() => u.copy(X, P, UFFDIO_COPY_MODE_WP)), "EINVAL");
  assertEquals(errnoOf(() => u.copy(X, P, 4)), "EINVAL");
  assertEquals([k.counters.uffd_copy_pages, k.counters.uffd_zeropage_pages], [7, 1]);
  // Each copied page: a new exclusive folio in A's anon_vma, mapped writable and dirty.
  const pte = k.pte(mm, X + 4 * P)!;
  assert(pte.kind === "present");
  assertEquals([pte.writable, pte.dirty, pte.folio.pageAnonExclusive(0)], [true, true, true]);
  assertEquals([k.folioReferenced(pte.folio), k.slab.live("anon_vma")], [1, 1]);
  assertEquals(k.counters.faults_anon_new ?? 0, 0);
  // In a fork's child, a copied page goes to the child's own anon_vma of B, not to the root
  // (the parent's, where the parent's own write fault in B puts its folio).
  const child = k.fork(mm);
  k.touch(mm, X + 8 * P, "write");
  const w = k.userfaultfd(child);
  w.register(X + 8 * P, 8 * P);
  w.copy(X + 8 * P, P);
  const [pf, cf] = [k.pte(mm, X + 8 * P)!.folio!, k.pte(child, X + 8 * P)!.folio!];
  assert(pf.rmap !== cf.rmap, "the child's copy is in the child's own anon_vma");
  assertEquals([k.folioReferenced(cf), k.folioReferenced(pf)], [1, 1]);
  k.exit(child);
  // Where the kernel forbids the zero page, UFFDIO_ZEROPAGE maps a zeroed folio.
  const nz = new Kernel({ scheme: new AnonVmaScheme(), params: { zeroPage: false } });
  const m = nz.spawn();
  nz.mmap(m, X, 2 * P, PROT_READ, ANON);
  const v = nz.userfaultfd(m);
  v.register(X, 2 * P);
  v.zeropage(X, 2 * P);
  const z = nz.pte(m, X)!;
  assertEquals([z.kind, z.writable, nz.counters.uffd_zeropage_pages], ["present", false, 2]);
  // It holds zeroes (KSM compares them as equal); a UFFDIO_COPY page holds the copied data.
  assertEquals(z.kind === "present" && z.zeroFilled, true);
  const c8 = k.pte(mm, X + 8 * P)!;
  assertEquals(c8.kind === "present" && c8.zeroFilled === true, false);
  nz.exit(m);
  k.exit(mm);
  assertEquals([k.slab.live("anon_vma"), k.liveAnonFolios.length], [0, 0]);
});

Deno.test("uffd: moving one page of a large folio splits the folio first", () => {
  // Catches: a move that takes a whole mTHP folio's page into another VMA without split_folio
  // (the folio's other pages would stay indexed from its old place).
  const { k, mm } = world(new AnonVmaScheme(), 2);
  k.mmap(mm, X, 8 * P, RW, ANON);
  const u = k.userfaultfd(mm);
  // Every page written: the split would map a page that still holds zeroes to the zero page.
  for (let i = 0; i < 4; i++) k.touch(mm, X + i * P, "write");
  assertEquals(k.pte(mm, X)?.folio?.nrPages, 4);
  u.register(X + 4 * P, 4 * P);
  u.move(X + 5 * P, X + P, P); // splits the order-2 folio first
  assertEquals(layout(mm), [[0, 4, false, "p.pp"], [4, 8, true, ".p.."]]);
  assertEquals(k.pte(mm, X + 5 * P)?.folio?.nrPages, 1);
  assertEquals(k.counters.folios_split, 1);
});

Deno.test("uffd: a split for a move maps the page that held zeroes to the zero page, moved as one", () => {
  //   0   4        one order-2 folio F faulted by a write to page 0: pages 1..3 hold its zeroes.
  //   Fppp         moving page 1 splits F (remap_page maps pages 1..3 to the zero page), and the
  //                retry moves a zero-page entry (move_zeropage_pte): no folio goes with it.
  // Catches: a move that crashes on, or refuses, the zero page the split left behind.
  const { k, mm } = world(new AnonVmaScheme(), 2);
  k.mmap(mm, X, 8 * P, RW, ANON);
  const u = k.userfaultfd(mm);
  k.touch(mm, X, "write");
  u.register(X + 4 * P, 4 * P);
  assertEquals(u.move(X + 5 * P, X + P, P), P);
  assertEquals([k.pte(mm, X + P), k.pte(mm, X + 5 * P)?.kind], [undefined, "zero"]);
  assertEquals([k.counters.folios_split, k.counters.split_zero_page_remapped], [1, 3]);
  assertEquals(k.liveAnonFolios.length, 1);
});

Deno.test("uffd: move changes the folio's anon_vma and index, not its mapcount", () => {
  // Catches: a move without folio_move_anon_rmap (the walk searches the source's anon_vma and
  // misses the page) or without the new index (the walk looks at the old page offset).
  //   A [0,4) pppp, own anon_vma a        B [16,20) registered, unfaulted
  //   move 0 -> 16: B gets anon_vma b; the folio's mapping b, index 16 pages above A's pgoff 0
  const { k, mm } = world();
  k.mmap(mm, X, 4 * P, RW, ANON);
  k.mmap(mm, X + 16 * P, 4 * P, RW, ANON);
  for (let i = 0; i < 4; i++) k.touch(mm, X + i * P, "write");
  const u = k.userfaultfd(mm);
  u.register(X + 16 * P, 4 * P);
  const f = k.pte(mm, X)!.folio!;
  const before = f.rmap;
  assertEquals(u.move(X + 16 * P, X, P), P);
  assertEquals(u.moved, P);
  assert(f.rmap !== before, "folio_move_anon_rmap");
  assertEquals(f.index, X / P + 16);
  assertEquals(f.totalMapcount(), 1);
  assertEquals(k.slab.live("anon_vma"), 2);
  assertEquals(k.folioReferenced(f), 1); // the oracle checks the walk
  assert(k.tryToUnmap(f));
  assertEquals(layout(mm), [[0, 4, false, ".ppp"], [16, 20, true, "s..."]]);
  k.touch(mm, X + 16 * P, "read"); // swap-in in the destination, not a missing fault
  assertEquals(layout(mm)[1], [16, 20, true, "p..."]);
});

Deno.test("uffd: the moved PTE keeps its dirty bit, so MADV_FREE survives a move", () => {
  // Catches: a move that marks every moved PTE dirty (6.8's "treat the entry dirty after the
  // move"; the 2025 fix keeps the source's bit), which would turn lazily freeable pages into
  // ones reclaim must keep.
  //   A [0,4) written, then MADV_FREE (clean)     B [8,12) registered
  //   move 0,1 -> 8,9; write 9 again; MADV_PAGEOUT: 8 is discarded, 9 stays resident
  const { k, mm } = world();
  k.mmap(mm, X, 4 * P, RW, ANON);
  k.mmap(mm, X + 8 * P, 4 * P, RW, ANON);
  for (let i = 0; i < 4; i++) k.touch(mm, X + i * P, "write");
  k.madvise(mm, X, 4 * P, MADV_FREE);
  const u = k.userfaultfd(mm);
  u.register(X + 8 * P, 4 * P);
  u.move(X + 8 * P, X, 2 * P);
  const dirty = (a: number): boolean | undefined => {
    const e = k.pte(mm, a);
    return e?.kind === "present" ? e.dirty : undefined;
  };
  assertEquals(dirty(X + 8 * P), false);
  k.touch(mm, X + 9 * P, "write");
  assertEquals(dirty(X + 9 * P), true);
  k.madvise(mm, X + 8 * P, 4 * P, MADV_PAGEOUT);
  // 8: clean and lazily freeable, discarded; 9: written again, kept (made swap-backed).
  assertEquals(layout(mm), [[0, 4, false, "..pp"], [8, 12, true, ".p.."]]);
});

Deno.test("uffd: swap entries move when exclusive; their swap-cache folio moves with them", () => {
  // Catches: a shared swap entry moved (a child swapping in later maps a folio whose anon_vma
  // its VMA does not link), or a swap-cache folio left with the source's anon_vma and index.
  //   A [0,4) page 0 written and swapped out      B [8,12) registered
  //   0: exclusive -> moves to 8; then 1, 2 written, a fork, both swapped out: 1 is shared with
  //   the child -> EBUSY; 2: the child swapped it in (in the swap cache, mapped by the child) ->
  //   EBUSY
  const { k, mm } = world();
  k.mmap(mm, X, 4 * P, RW, ANON);
  k.mmap(mm, X + 8 * P, 4 * P, RW, ANON);
  k.touch(mm, X, "write");
  assert(k.tryToUnmap(k.pte(mm, X)!.folio!));
  const u = k.userfaultfd(mm);
  u.register(X + 8 * P, 4 * P);
  u.move(X + 8 * P, X, P);
  for (const i of [1, 2]) k.touch(mm, X + i * P, "write");
  const c = k.fork(mm);
  for (const i of [1, 2]) assert(k.tryToUnmap(k.pte(mm, X + i * P)!.folio!));
  k.touch(c, X + 2 * P, "read"); // swap-in by the child: cached, mapped by the child only
  assertEquals(errnoOf(() => u.move(X + 9 * P, X + P, P)), "EBUSY");
  assertEquals(errnoOf(() => u.move(X + 10 * P, X + 2 * P, P)), "EBUSY");
  assertEquals(layout(mm), [[0, 4, false, ".ss."], [8, 12, true, "s..."]]);
  k.touch(mm, X + 8 * P, "write"); // swap-in in B
  const f = k.pte(mm, X + 8 * P)!.folio!;
  assertEquals(f.index, X / P + 8);
  assertEquals(k.folioReferenced(f), 1);
  k.exit(c);
  k.assertInvariants();
});

Deno.test("uffd: a swap entry a fork copied stays EBUSY after the child exits; a large swap-cache folio is EBUSY", () => {
  // Catches: exclusivity read from the slot's reference count instead of pte_swp_exclusive (the
  // host, verify's uffd-move-swap-after-fork: EBUSY, the fork cleared the bit for good), or a
  // move of an entry whose swap-cache folio is large (6.18 refuses it; split_folio would fail).
  //   A [0,4) pages 0, 1 written and swapped out, then a fork and its exit   B [8,12) registered
  const { k, mm } = world();
  k.mmap(mm, X, 4 * P, RW, ANON);
  k.mmap(mm, X + 8 * P, 4 * P, RW, ANON);
  for (const i of [0, 1]) k.touch(mm, X + i * P, "write");
  for (const i of [0, 1]) k.tryToUnmap(k.pte(mm, X + i * P)!.folio!);
  const u = k.userfaultfd(mm);
  u.register(X + 8 * P, 4 * P);
  k.exit(k.fork(mm));
  const slot = k.pte(mm, X)!.swap!;
  assertEquals([slot.count, errnoOf(() => u.move(X + 8 * P, X, P))], [1, "EBUSY"]);
  assertEquals(layout(mm), [[0, 4, false, "ss.."], [8, 12, true, "...."]]);
  // A 4-page folio swapped out to a disk or file device stays whole in the swap cache.
  const big = new Kernel({
    scheme: new AnonVmaScheme(),
    params: { debugChecks: true, anonFolioOrder: 2, swapSyncIo: false },
  });
  const m = big.spawn();
  big.mmap(m, X, 4 * P, RW, ANON);
  big.mmap(m, X + 8 * P, 4 * P, RW, ANON);
  big.touch(m, X, "write");
  assertEquals(big.pte(m, X)!.folio!.nrPages, 4);
  big.tryToUnmap(big.pte(m, X)!.folio!);
  const v = big.userfaultfd(m);
  v.register(X + 8 * P, 4 * P);
  const e = big.pte(m, X);
  assertEquals([e?.kind === "swap" && e.exclusive, e?.swap?.cached?.nrPages], [true, 4]);
  assertEquals(errnoOf(() => v.move(X + 8 * P, X, P)), "EBUSY");
});

Deno.test("uffd: per-page errors, partial moves and holes", () => {
  // Catches: EEXIST/ENOENT checked in the wrong order, a partial move reported as success, or
  // ALLOW_SRC_HOLES moving nothing but failing.
  const { k, mm } = world();
  k.mmap(mm, X, 64 * P, RW, ANON);
  for (let i = 0; i < 4; i++) k.touch(mm, X + i * P, "write");
  const u = k.userfaultfd(mm);
  u.register(X + 4 * P, 4 * P);
  u.move(X + 4 * P, X, 2 * P);
  assertEquals(errnoOf(() => u.move(X + 4 * P, X + 2 * P, P)), "EEXIST");
  assertEquals(u.moved, -17);
  assertEquals(errnoOf(() => u.move(X + 4 * P, X + 9 * P, P)), "EEXIST"); // dst first
  assertEquals(errnoOf(() => u.move(X + 6 * P, X + 9 * P, P)), "ENOENT");
  u.move(X + 6 * P, X + 9 * P, P, UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES);
  u.move(X + 7 * P, X + 3 * P, P);
  k.touch(mm, X + 3 * P, "write");
  assertEquals(errnoOf(() => u.move(X + 6 * P, X + 2 * P, 2 * P)), "EAGAIN");
  assertEquals(u.moved, P);
  assertEquals(layout(mm), [[0, 4, false, "...p"], [4, 8, true, "pppp"], [
    8,
    64,
    false,
    ".".repeat(56),
  ]]);
  // Entries moved: 2, then 1, then the partial move's 1; the skipped hole is none.
  assertEquals(k.counters.uffd_move_pages, 4);
  // Calls that failed: EEXIST twice, ENOENT, and the partial move (EAGAIN).
  assertEquals(k.counters.uffd_move_failed, 4);
});

Deno.test("uffd: move refuses unlike VMAs, shared or pinned folios; moves the zero page", () => {
  // Catches: validate_move_areas checks dropped, a shared folio moved away from its other
  // mapper's rmap, or the zero page moved as a folio.
  const k = new Kernel({
    scheme: new AnonVmaScheme(),
    params: { debugChecks: true, zeroPage: true },
  });
  const mm = k.spawn();
  k.mmap(mm, X, 8 * P, RW, ANON);
  k.mmap(mm, X + 16 * P, 8 * P, RW, ANON);
  k.mmap(mm, X + 32 * P, 4 * P, PROT_READ, ANON);
  for (let i = 0; i < 4; i++) k.touch(mm, X + i * P, "write");
  k.touch(mm, X + 4 * P, "read"); // the zero page
  const u = k.userfaultfd(mm);
  u.register(X + 16 * P, 8 * P);
  assertEquals(errnoOf(() => u.move(X + 16 * P, X, 10 * P)), "EINVAL"); // src beyond its VMA
  assertEquals(errnoOf(() => u.move(X + 20 * P, X, 6 * P)), "EINVAL"); // dst beyond its VMA
  assertEquals(errnoOf(() => u.move(X + 1 * P, X, P)), "EINVAL"); // dst not registered
  assertEquals(errnoOf(() => u.move(X + 16 * P, X + 32 * P, P)), "EINVAL"); // not writable
  assertEquals(errnoOf(() => u.move(X + 16 * P, X + 60 * P, P)), "ENOENT");
  u.move(X + 16 * P, X + 4 * P, P);
  assertEquals(k.pte(mm, X + 16 * P)?.kind, "zero");
  const child = k.fork(mm);
  assertEquals(errnoOf(() => u.move(X + 17 * P, X, P)), "EBUSY");
  k.exit(child);
  assertEquals(errnoOf(() => u.move(X + 17 * P, X, P)), "EBUSY"); // still not exclusive
  k.touch(mm, X, "write"); // reuse: exclusive again
  const f = k.pte(mm, X)!.folio!;
  k.setPinned(f, true);
  assertEquals(errnoOf(() => u.move(X + 17 * P, X, P)), "EBUSY");
  k.setPinned(f, false);
  u.move(X + 17 * P, X, P);
  assertEquals(layout(mm)[1], [16, 24, true, "zp......"]);
});

Deno.test("uffd: fork's child and mremap's new VMA drop the registration", () => {
  // Catches: a child that inherits VM_UFFD_MISSING (it would SIGBUS with no handler), a moved VMA
  // still registered, or a multi-VMA move of a registered VMA.
  const { k, mm } = world();
  k.mmap(mm, X, 4 * P, RW, ANON);
  k.mmap(mm, X + 4 * P, 4 * P, PROT_READ, ANON);
  k.touch(mm, X, "write");
  const u = k.userfaultfd(mm);
  u.register(X + 4 * P, 4 * P);
  const c = k.fork(mm);
  assertEquals(layout(c), [[0, 4, false, "p..."], [4, 8, false, "...."]]);
  const flags = MREMAP_MAYMOVE | MREMAP_FIXED;
  assertEquals(errnoOf(() => k.mremap(mm, X, 8 * P, 8 * P, flags, X + 64 * P)), "EFAULT");
  assertEquals(layout(mm), [[4, 8, true, "...."], [64, 68, false, "p..."]]);
  k.mremap(mm, X + 4 * P, 4 * P, 4 * P, flags, X + 32 * P);
  assertEquals(layout(mm), [[32, 36, false, "...."], [64, 68, false, "p..."]]);
  k.exit(mm);
  assertEquals(errnoOf(() => u.register(X, P)), "ESRCH");
});

Deno.test("uffd: every scheme's walks find moved pages (oracle-checked)", () => {
  // Catches: a scheme whose moveAnon leaves the folio where its walk cannot find the new PTE.
  for (const id of schemeIds()) {
    const { k, mm } = world(createScheme(id));
    k.mmap(mm, X, 8 * P, RW, ANON);
    k.mmap(mm, X + 32 * P, 8 * P, RW, ANON);
    for (let i = 0; i < 8; i++) k.touch(mm, X + i * P, "write");
    const c = k.fork(mm);
    k.touch(mm, X + 2 * P, "write"); // a CoW copy: exclusive to the parent
    k.touch(c, X + 3 * P, "write");
    k.exit(c);
    k.touch(mm, X + 3 * P, "write"); // reused after the child's exit
    const u = k.userfaultfd(mm);
    u.register(X + 32 * P, 8 * P);
    u.move(X + 34 * P, X + 2 * P, 2 * P);
    assertEquals(errnoOf(() => u.move(X + 39 * P, X + 4 * P, P)), "EBUSY"); // shared since fork
    k.touch(mm, X + 4 * P, "write"); // reused: the child is gone
    u.move(X + 39 * P, X + 4 * P, P);
    for (const f of [...k.liveAnonFolios]) {
      k.folioReferenced(f);
      k.tryToUnmap(f);
    }
    k.touch(mm, X + 34 * P, "write");
    k.assertInvariants();
  }
});

/** Every rmap lock taken for write under UFFDIO_MOVE (lock class and instance), in order. */
class MoveLockLog extends CountingExec {
  log: string[] = [];
  /** Also `-` for each release of such a lock and `pte` for each PTE moved, when set. */
  events: string[] | null = null;
  override acquire(lock: Lock, mode: LockMode, tryLock = false): boolean {
    if (mode === "write" && lock.lockClass.startsWith("anon_vma")) {
      this.log.push(`${lock.lockClass}#${lock.id}`);
      this.events?.push("+");
    }
    return super.acquire(lock, mode, tryLock);
  }
  override release(lock: Lock, mode: LockMode): void {
    if (mode === "write" && lock.lockClass.startsWith("anon_vma")) this.events?.push("-");
    super.release(lock, mode);
  }
  override work(kind: WorkKind, n = 1): void {
    if (kind === "pte_update" && n === 2) this.events?.push("pte");
    super.work(kind, n);
  }
}

Deno.test("uffd: a batch's lock is dropped before a swap entry or the zero page moves", () => {
  // Catches: a batch that keeps the anon_vma lock over entries it does not cover (move_pages_ptes
  // releases it when its batch of present pages ends).
  //   A [0,4): 0 present, 1 swapped out, 2 the zero page, 3 present   B [8,12) registered
  const ex = new MoveLockLog();
  const k = new Kernel({
    scheme: new AnonVmaScheme(),
    exec: ex,
    params: { debugChecks: true, zeroPage: true },
  });
  const mm = k.spawn();
  k.mmap(mm, X, 4 * P, RW, ANON);
  k.mmap(mm, X + 8 * P, 4 * P, RW, ANON);
  for (const i of [0, 1, 3]) k.touch(mm, X + i * P, "write");
  k.touch(mm, X + 2 * P, "read");
  assert(k.tryToUnmap(k.pte(mm, X + P)!.folio!));
  k.touch(mm, X + 11 * P, "write");
  k.madvise(mm, X + 11 * P, P, 4); // B has an anon_vma, and page 11 is empty again
  const u = k.userfaultfd(mm);
  u.register(X + 8 * P, 4 * P);
  ex.events = [];
  u.move(X + 8 * P, X, 4 * P);
  assertEquals(ex.events, ["+", "pte", "-", "pte", "pte", "+", "pte", "-"]);
});

Deno.test("uffd: a move holds the folio's rmap lock per batch of consecutive pages", () => {
  // Catches: no anon_vma lock around folio_move_anon_rmap (a walk could read the old mapping),
  // one acquisition per page instead of per batch (6.18 batches), or a batch that runs across a
  // hole or a page-table boundary.
  //   A [0,8) 0..5 written, page 3 unmapped (hole); B [512,520) page 7 written, then registered
  //   (another PTE table)
  //   move 0..6 -> 512..518 holes: batch 0,1,2 | hole | batch 4,5 | hole: two write locks
  const figures: Record<string, string[]> = {};
  for (const id of schemeIds()) {
    const ex = new MoveLockLog();
    const k = new Kernel({ scheme: createScheme(id), exec: ex, params: { debugChecks: true } });
    const mm = k.spawn();
    k.mmap(mm, X, 8 * P, RW, ANON);
    k.mmap(mm, X + 512 * P, 8 * P, RW, ANON);
    for (let i = 0; i < 6; i++) k.touch(mm, X + i * P, "write");
    k.madvise(mm, X + 3 * P, P, 4); // MADV_DONTNEED
    k.touch(mm, X + 519 * P, "write"); // B's anon_vma before the move (no prepare under it)
    const u = k.userfaultfd(mm);
    u.register(X + 512 * P, 8 * P);
    ex.log = [];
    u.move(X + 512 * P, X, 7 * P, UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES);
    figures[id] = ex.log;
    assertEquals(k.counters.uffd_move_batches, 2, id);
    assertEquals(k.counters.uffd_move_pages, 5, id);
  }
  // The classic variants: the root rwsem, twice. The per-anon_vma lock: A's anon_vma is a root,
  // so its root lock. Lazy: A's folios are in its lazy group, walked under RCU: no lock named.
  // CoW context: the scheme names no lock (its sources do not cover UFFDIO_MOVE).
  const root = figures.anon_vma[0];
  assertEquals(figures.anon_vma, [root, root]);
  assert(root.startsWith("anon_vma.root#"), root);
  for (const id of ["anon_vma-2026", "anon_vma-per-av-lock"]) {
    assertEquals(figures[id].length, 2, id);
    assertEquals(figures[id][0], figures[id][1], id);
  }
  assertEquals(figures.anon_vma_lazy, []);
  assertEquals(figures.cow_context, []);
});

Deno.test("uffd: per-anon_vma lock: a child's exclusive folio moves under its own lock", () => {
  // Catches: the per-anon_vma-lock scheme taking the root lock for a move its walks would make
  // under the folio's own anon_vma lock (the lock that serialises against folio_referenced).
  const ex = new MoveLockLog();
  const k = new Kernel({
    scheme: createScheme("anon_vma-per-av-lock"),
    exec: ex,
    params: { debugChecks: true },
  });
  const parent = k.spawn();
  k.mmap(parent, X, 4 * P, RW, ANON);
  k.touch(parent, X, "write");
  const c = k.fork(parent);
  k.mmap(c, X + 16 * P, 4 * P, RW, ANON);
  k.touch(c, X + 19 * P, "write"); // the destination's anon_vma before the move
  k.touch(c, X + P, "write"); // a new exclusive folio in the child's anon_vma (not a root)
  const u = k.userfaultfd(c);
  u.register(X + 16 * P, 4 * P);
  ex.log = [];
  u.move(X + 16 * P, X + P, P);
  assertEquals(ex.log.length, 1);
  assert(ex.log[0].startsWith("anon_vma.own#"), ex.log[0]);
});

Deno.test("uffd: a batch ends at a page-table boundary", () => {
  // Catches: a batch that runs on past the end of the source's or the destination's PTE table
  // (move_present_ptes clamps a batch to both tables).
  //   A [508,516) written: its pages cross the PTE table boundary at 512
  //   B [2044,2052) registered, the same offset in its tables: batches 508..511 and 512..515
  const { k, mm } = world();
  k.mmap(mm, X + 508 * P, 8 * P, RW, ANON);
  k.mmap(mm, X + 2044 * P, 8 * P, RW, ANON);
  for (let i = 508; i < 516; i++) k.touch(mm, X + i * P, "write");
  const u = k.userfaultfd(mm);
  u.register(X + 2044 * P, 8 * P);
  u.move(X + 2044 * P, X + 508 * P, 8 * P);
  assertEquals(k.counters.uffd_move_batches, 2);
  //   C [100,108) written (one table)   D [3068,3076) registered: crosses 3072, so two batches
  k.mmap(mm, X + 100 * P, 8 * P, RW, ANON);
  k.mmap(mm, X + 3068 * P, 8 * P, RW, ANON);
  for (let i = 100; i < 108; i++) k.touch(mm, X + i * P, "write");
  u.register(X + 3068 * P, 8 * P);
  u.move(X + 3068 * P, X + 100 * P, 8 * P);
  assertEquals(k.counters.uffd_move_batches, 4);
  assertEquals(k.counters.uffd_move_pages, 16);
});
