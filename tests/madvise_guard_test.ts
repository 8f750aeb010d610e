// Guard markers: MADV_GUARD_INSTALL and MADV_GUARD_REMOVE (mm/madvise.c `madvise_guard_install`,
// `madvise_guard_remove`, `is_valid_guard_vma`; mm/memory.c `vma_needs_copy`,
// `copy_pte_marker`; the VM_MAYBE_GUARD flag; docs/model.md §12.7). The outcomes were read on
// this host first and are checked against it by tools/verify/scenarios/guard.scn. Each test
// names the bug it catches.

import { assertEquals } from "./assert.ts";
import { errnoOf } from "./errno.ts";
import { flagLayout } from "./vma_layout.ts";
import { Kernel } from "../core/kernel/kernel.ts";
import { AnonVmaScheme } from "../core/rmap/anon_vma.ts";
import { madviseLockMode } from "../core/kernel/madvise.ts";
import { adviceValue } from "../workloads/trace_replay.ts";
import { replayText } from "./replay.ts";
import {
  MADV_DONTNEED,
  MADV_GUARD_INSTALL,
  MADV_GUARD_REMOVE,
  MADV_PAGEOUT,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  MAP_SHARED,
  type Mm,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  PAGE_SIZE,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
  VM_MAYBE_GUARD,
  VM_WIPEONFORK,
} from "../core/kernel/types.ts";
import { createScheme, schemeIds } from "../core/rmap/registry.ts";
import type { RmapScheme } from "../core/rmap/scheme.ts";

const P = PAGE_SIZE;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
const X = 0x7f0000000000;

function world(scheme: RmapScheme = new AnonVmaScheme()): { k: Kernel; mm: Mm } {
  const k = new Kernel({ scheme, params: { debugChecks: true } });
  return { k, mm: k.spawn() };
}

/** Every VMA of `mm` from X: whether it has VM_MAYBE_GUARD, and its entries (vma_layout.ts). */
function layout(mm: Mm): (number | boolean | string)[][] {
  return flagLayout(mm, X, VM_MAYBE_GUARD);
}

/** The errno of a read (or write) of page `page` from X, or "ok". */
function access(k: Kernel, mm: Mm, page: number, how: "read" | "write" = "read"): string {
  return errnoOf(() => k.touch(mm, X + page * P, how));
}

Deno.test("install on unfaulted anon memory: one anon_vma, no split, every access faults", () => {
  // Bug caught: a marker that only a write faults on, a split VMA, a missing anon_vma (fork
  // would then not copy the markers of an anonymous VMA).
  //   0   2   4       8
  //   [...GG....]     one VMA, VM_MAYBE_GUARD, anon_vma prepared
  const { k, mm } = world();
  k.mmap(mm, X, 8 * P, RW, ANON);
  k.madvise(mm, X + 2 * P, 2 * P, MADV_GUARD_INSTALL);
  assertEquals(layout(mm), [[0, 8, true, "..GG...."]]);
  assertEquals([k.slab.live("anon_vma"), k.slab.live("anon_vma_chain")], [1, 1]);
  assertEquals(
    [access(k, mm, 2), access(k, mm, 3, "write"), access(k, mm, 0), access(k, mm, 4, "write")],
    ["EFAULT", "EFAULT", "ok", "ok"],
  );
  assertEquals(layout(mm), [[0, 8, true, "z.GGp..."]]); // a read maps the zero page
});

Deno.test("install zaps mapped pages; DONTNEED and PAGEOUT keep markers; remove clears them", () => {
  // Bug caught: markers installed beside (or instead of zapping) mapped pages; MADV_DONTNEED
  // dropping markers (a fence silently gone); remove leaving them or dropping the flag.
  const { k, mm } = world();
  k.mmap(mm, X, 8 * P, RW, ANON);
  for (let i = 0; i < 8; i++) k.touch(mm, X + i * P, "write");
  k.madvise(mm, X + 2 * P, 2 * P, MADV_GUARD_INSTALL);
  assertEquals(layout(mm), [[0, 8, true, "ppGGpppp"]]);
  k.madvise(mm, X, 8 * P, MADV_PAGEOUT);
  assertEquals(layout(mm), [[0, 8, true, "ssGGssss"]]);
  k.madvise(mm, X, 8 * P, MADV_DONTNEED);
  assertEquals(layout(mm), [[0, 8, true, "..GG...."]]);
  k.madvise(mm, X, 8 * P, MADV_GUARD_REMOVE);
  assertEquals(layout(mm), [[0, 8, true, "........"]]);
  assertEquals(access(k, mm, 2), "ok");
});

Deno.test("file and shmem VMAs get no anon_vma; fork still copies their markers", () => {
  // Bug caught: anon_vma_prepare on a file VMA (the host makes none), or vma_needs_copy without
  // VM_MAYBE_GUARD (the child of a guarded file mapping could read the fenced page).
  const { k, mm } = world();
  const f = k.createFile("lib", 8);
  k.mmap(mm, X, 8 * P, RW, MAP_PRIVATE | MAP_FIXED, f, 0);
  k.mmap(mm, X + 16 * P, 8 * P, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED);
  k.madvise(mm, X + 2 * P, 2 * P, MADV_GUARD_INSTALL);
  k.madvise(mm, X + 17 * P, P, MADV_GUARD_INSTALL);
  assertEquals(k.slab.live("anon_vma"), 0);
  const c = k.fork(mm);
  assertEquals(layout(c), [[0, 8, true, "..GG...."], [16, 24, true, ".G......"]]);
  assertEquals([access(k, c, 2), access(k, c, 17), access(k, c, 0)], ["EFAULT", "EFAULT", "ok"]);
  assertEquals(k.slab.live("anon_vma"), 0);
});

Deno.test("a VM_WIPEONFORK VMA's markers do not reach the child", () => {
  // Bug caught: copying page tables of a VMA dup_mmap leaves empty.
  const { k, mm } = world();
  k.mmap(mm, X, 8 * P, RW, ANON);
  k.madvise(mm, X, 8 * P, 18); // MADV_WIPEONFORK
  k.madvise(mm, X + 2 * P, P, MADV_GUARD_INSTALL);
  const c = k.fork(mm);
  assertEquals(layout(c), [[0, 8, true, "........"]]);
  assertEquals([c.vmas.find(X)!.flags & VM_WIPEONFORK, access(k, c, 2)], [VM_WIPEONFORK, "ok"]);
});

Deno.test("install refuses VM_LOCKED; remove allows it; mlock over a marker is ENOMEM", () => {
  // Bug caught: guarding locked memory (is_valid_guard_vma), refusing a harmless remove, or
  // populating through a marker.
  const { k, mm } = world();
  k.mmap(mm, X, 8 * P, RW, ANON);
  k.mlock(mm, X, 8 * P);
  assertEquals(errnoOf(() => k.madvise(mm, X + 2 * P, P, MADV_GUARD_INSTALL)), "EINVAL");
  assertEquals(layout(mm), [[0, 8, false, "pppppppp"]]);
  k.munlock(mm, X, 8 * P);
  k.madvise(mm, X + 2 * P, P, MADV_GUARD_INSTALL);
  assertEquals(errnoOf(() => k.mlock(mm, X, 8 * P)), "ENOMEM");
  assertEquals(errnoOf(() => k.madvise(mm, X, 8 * P, MADV_GUARD_REMOVE)), "ok");
  assertEquals(layout(mm), [[0, 8, true, "pp.ppppp"]]);
  // The same through a read-only VMA (a read populate, which the zero page would satisfy).
  k.mmap(mm, X + 16 * P, 4 * P, PROT_READ, ANON);
  k.madvise(mm, X + 17 * P, P, MADV_GUARD_INSTALL);
  assertEquals(errnoOf(() => k.mlock(mm, X + 16 * P, 4 * P)), "ENOMEM");
  assertEquals(layout(mm)[1], [16, 20, true, "zG.."]);
});

Deno.test("a hole: every VMA is guarded, then ENOMEM; mremap moves markers, mprotect keeps them", () => {
  //   0   4   8   12        20  24
  //   [GGGG]  [GGGG]   ->   [GGGG]   (the second VMA moved to 20)
  // Bug caught: stopping at the hole, or markers left behind by a move.
  const { k, mm } = world();
  k.mmap(mm, X, 4 * P, RW, ANON);
  k.mmap(mm, X + 8 * P, 4 * P, RW, ANON);
  assertEquals(errnoOf(() => k.madvise(mm, X, 12 * P, MADV_GUARD_INSTALL)), "ENOMEM");
  assertEquals(layout(mm), [[0, 4, true, "GGGG"], [8, 12, true, "GGGG"]]);
  assertEquals(k.slab.live("anon_vma"), 2);
  k.mremap(mm, X + 8 * P, 4 * P, 4 * P, MREMAP_MAYMOVE | MREMAP_FIXED, X + 20 * P);
  k.mprotect(mm, X + 20 * P, 2 * P, PROT_READ);
  assertEquals(layout(mm), [[0, 4, true, "GGGG"], [20, 22, true, "GG"], [22, 24, true, "GG"]]);
  k.mprotect(mm, X + 20 * P, 2 * P, RW);
  assertEquals(layout(mm), [[0, 4, true, "GGGG"], [20, 24, true, "GGGG"]]);
  assertEquals(access(k, mm, 21), "EFAULT");
});

Deno.test("VM_MAYBE_GUARD is sticky: ignored by merges, kept by the merged VMA", () => {
  //   0   4       8
  //   [r.G.][rw....]  mprotect [0,4) rw -> one VMA [0,8) that keeps VM_MAYBE_GUARD
  // Bug caught: a merge refused for the flag (host: merged), or the merged VMA (here the
  // unguarded next, which takes the range) losing it, so fork no longer copies a file VMA's
  // markers.
  const { k, mm } = world();
  const f = k.createFile("data", 8);
  k.mmap(mm, X + 4 * P, 4 * P, RW, MAP_PRIVATE | MAP_FIXED, f, 4 * P);
  k.mmap(mm, X, 4 * P, PROT_READ, MAP_PRIVATE | MAP_FIXED, f, 0);
  k.madvise(mm, X + P, P, MADV_GUARD_INSTALL);
  assertEquals(layout(mm), [[0, 4, true, ".G.."], [4, 8, false, "...."]]);
  k.mprotect(mm, X, 4 * P, RW);
  assertEquals(layout(mm), [[0, 8, true, ".G......"]]);
  const c = k.fork(mm);
  assertEquals([access(k, c, 1), access(k, c, 5)], ["EFAULT", "ok"]);
});

Deno.test("a guarded writable VMA does not lend its anon_vma to a read-only neighbour", () => {
  // Bug caught: anon_vma_compatible ignoring VM_ACCOUNT (the host makes a second anon_vma: a
  // read-only private mapping is not accounted, a writable one is). VM_MAYBE_GUARD plays no part
  // (next test). No zero page, as on the host: the read fault allocates, and so prepares an
  // anon_vma.
  const k = new Kernel({
    scheme: new AnonVmaScheme(),
    params: { debugChecks: true, zeroPage: false },
  });
  const mm = k.spawn();
  k.mmap(mm, X, 4 * P, RW, ANON);
  k.mmap(mm, X + 4 * P, 4 * P, PROT_READ, ANON);
  k.madvise(mm, X, P, MADV_GUARD_INSTALL);
  k.touch(mm, X + 4 * P, "read");
  assertEquals(layout(mm), [[0, 4, true, "G..."], [4, 8, false, "p..."]]);
  assertEquals(k.slab.live("anon_vma"), 2);
});

Deno.test("a guarded VMA lends its anon_vma: anon_vma_compatible ignores VM_MAYBE_GUARD", () => {
  //  6   10       15   19       A guarded (VM_MAYBE_GUARD, an anon_vma from the install); b and c
  //  |b  |A rwx G |c  |         rw, unguarded: their first faults reuse A's anon_vma (next first
  //  +---+--------+---+         for b, prev for c): one anon_vma, three AVCs
  // Bug caught: anon_vma_compatible comparing VM_MAYBE_GUARD (the host reuses; verify's
  // guard-anon-vma-lent).
  const k = new Kernel({
    scheme: new AnonVmaScheme(),
    params: { debugChecks: true, zeroPage: false },
  });
  const mm = k.spawn();
  k.mmap(mm, X + 10 * P, 5 * P, RW | PROT_EXEC, ANON);
  k.madvise(mm, X + 14 * P, P, MADV_GUARD_INSTALL);
  assertEquals(k.slab.live("anon_vma"), 1);
  k.mmap(mm, X + 6 * P, 4 * P, RW, ANON);
  k.touch(mm, X + 6 * P, "write");
  k.mmap(mm, X + 15 * P, 4 * P, RW, ANON);
  k.touch(mm, X + 15 * P, "write");
  assertEquals(k.slab.live("anon_vma"), 1);
  assertEquals(k.slab.live("anon_vma_chain"), 3);
  assertEquals(layout(mm).map((v) => [v[0], v[1], v[2]]), [[6, 10, false], [10, 15, true], [
    15,
    19,
    false,
  ]]);
});

Deno.test("process_madvise: guard advice on the caller's own mm only; both take the read lock", () => {
  // Bug caught: guarding another process's memory (process_madvise_remote_valid), or taking
  // mmap_lock for write (the host takes it for read, seen with the mmap_lock tracepoints).
  const { k, mm } = world();
  k.mmap(mm, X, 4 * P, RW, ANON);
  const c = k.fork(mm);
  const iov = [{ base: X, len: P }];
  assertEquals(errnoOf(() => k.processMadvise(mm, c, iov, MADV_GUARD_INSTALL)), "EINVAL");
  assertEquals(k.processMadvise(mm, mm, iov, MADV_GUARD_INSTALL), P);
  assertEquals([access(k, mm, 0), access(k, c, 0)], ["EFAULT", "ok"]);
  assertEquals(
    [madviseLockMode(MADV_GUARD_INSTALL), madviseLockMode(MADV_GUARD_REMOVE)],
    ["read", "read"],
  );
});

Deno.test("every scheme: markers survive fork and exit cleanly, checked against the oracle", () => {
  // Bug caught: a scheme whose fork or exit trips over a VMA with markers and no folios.
  for (const id of schemeIds()) {
    const { k, mm } = world(createScheme(id));
    k.mmap(mm, X, 8 * P, RW, ANON);
    k.touch(mm, X, "write");
    k.madvise(mm, X + 2 * P, 2 * P, MADV_GUARD_INSTALL);
    const c = k.fork(mm);
    assertEquals([layout(c), access(k, c, 3)], [[[0, 8, true, "p.GG...."]], "EFAULT"], id);
    k.touch(c, X, "write");
    k.exit(c);
    k.exit(mm);
    assertEquals(k.slab.live("vm_area_struct"), 0, id);
  }
});

Deno.test("trace replay: guard advice by name and as strace 6.1 prints it (0x66 /* MADV_??? */)", () => {
  // Bug caught: the guard advice classed "not implemented", or its numeric form not read (this
  // host's strace prints it so). The guard fences a populated page: the read of it in the trace
  // would fault, and the replay's counts show its anon_vma prepared and one page zapped.
  const r = replayText(
    "guard_tiny",
    [
      "9 mmap(NULL, 16384, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_POPULATE, -1, 0) " +
      "= 0x7f0000000000",
      "9 madvise(0x7f0000001000, 4096, 0x66 /* MADV_??? */) = 0",
      "9 madvise(0x7f0000001000, 4096, MADV_GUARD_REMOVE) = 0",
      "9 madvise(0x7f0000002000, 4096, MADV_GUARD_INSTALL) = 0",
      "9 madvise(0x7f0000002000, 4096, 0x65 /* MADV_??? */) = -1 EINVAL (Invalid argument)",
      "9 exit_group(0) = ?",
    ].join("\n"),
  );
  assertEquals(
    r.notes!.find((n) => n.startsWith("Replayed calls")),
    "Replayed calls: exit_group 1, madvise 3, mmap 1",
  );
  assertEquals([adviceValue("0x67 /* MADV_??? */"), adviceValue("0x65"), adviceValue("")], [
    MADV_GUARD_REMOVE,
    undefined,
    undefined,
  ]);
});
