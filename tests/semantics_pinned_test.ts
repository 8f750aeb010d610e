// Semantics that keep every walk complete but that a bug can still get wrong (issue 13: the
// mutants that survived an outside review). Each test names the bug it catches:
// - slab byte totals equal the sum of the caches at every moment and return to zero; per-cache
//   peaks and the peak total are high-water marks (a free(n) that subtracts one object's bytes,
//   a peak never updated, a recorder deriving peak bytes from the final count);
// - the oracle rejects deliberately broken states (a vacuous cross-check, a one-sided mapcount
//   check, a walk never compared with the oracle);
// - a DMA-pinned exclusive page is copied at fork and a pinned page is never reused on a write
//   fault (kernel/fork.c copy_present_page, mm/memory.c wp_can_reuse_anon_folio);
// - fork write-protects CoW PTEs and clears PageAnonExclusive; mprotect makes only exclusive anon
//   pages writable (can_change_pte_writable);
// - the max_map_count boundaries exactly as Linux: do_mmap and do_brk_flags refuse only when
//   map_count > max (a process may reach max + 1), split_vma when map_count >= max, munmap of the
//   middle of a VMA when map_count >= max, mremap's move when map_count >= max - 3 and a move to a
//   given address when map_count + 2 >= max - 3 (mm/mmap.c, mm/vma.c, mm/mremap.c);
// - madvise over a range with a hole applies the advice to the mapped parts, then fails with
//   ENOMEM (mm/madvise.c madvise_walk_vmas: "just ignore them, but return -ENOMEM at the end");
//   mprotect changes the VMAs before the first hole, then fails (mm/mprotect.c
//   do_mprotect_pkey); both as Linux 6.18 on the host does;
// - mmap(NULL) falls back to a bottom-up search from TASK_UNMAPPED_BASE, not from mmap_base, so it
//   can place a mapping across mmap_base (arch/x86/kernel/sys_x86_64.c; Linux 6.18 on the host
//   does, docs/model.md §6).

import { assertEquals, assertThrows } from "./assert.ts";
import { errnoOf } from "./errno.ts";
import { Kernel } from "../core/kernel/kernel.ts";
import { taskUnmappedBase } from "../core/kernel/mmap.ts";
import { AnonVmaScheme } from "../core/rmap/anon_vma.ts";
import { SLAB_CACHES, type SlabCache, type SlabSnapshot } from "../core/slab.ts";
import { OracleMismatchError } from "../core/oracle.ts";
import { runOne } from "../mod.ts";
import { SCHEMES } from "../core/rmap/registry.ts";
import { Random } from "../core/lib/random.ts";
import { Slab } from "../core/slab.ts";
import { CountingExec } from "../core/machine/exec.ts";
import {
  type Folio,
  MADV_DONTFORK,
  MADV_DONTNEED,
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
  SyscallError,
  VM_DONTCOPY,
  VM_READ,
  VM_WRITE,
} from "../core/kernel/types.ts";

const P = PAGE_SIZE;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const X = 0x7f0000000000;

function sumBytes(s: SlabSnapshot): number {
  let t = 0;
  for (const c of SLAB_CACHES) t += s.bytes[c];
  return t;
}

function folioAt(k: Kernel, mm: Mm, addr: number): Folio {
  const f = k.pte(mm, addr)?.folio;
  if (!f) throw new Error(`no folio at ${addr}`);
  return f;
}

// -- slab accounting ------------------------------------------------------------------------------

Deno.test("slab: free(n) frees n objects' bytes; peaks are high-water marks", () => {
  const s = new Slab();
  const av = s.sizes.anon_vma, avc = s.sizes.anon_vma_chain;
  s.alloc("anon_vma", 3);
  s.alloc("anon_vma_chain", 5);
  s.free("anon_vma", 2);
  s.free("anon_vma_chain", 4);
  assertEquals(s.snapshot().totalBytes, av + avc);
  assertEquals(s.snapshot().totalBytes, sumBytes(s.snapshot()));
  assertEquals([s.stats("anon_vma").peak, s.stats("anon_vma_chain").peak], [3, 5]);
  assertEquals(s.peakTotalBytes, 3 * av + 5 * avc);
  s.alloc("anon_vma", 1); // 2 live: below the peak of 3
  assertEquals(s.stats("anon_vma").peak, 3);
  s.free("anon_vma", 2);
  s.free("anon_vma_chain", 1);
  assertEquals(s.snapshot().totalBytes, 0);
  assertEquals(s.peakTotalBytes, 3 * av + 5 * avc);
  assertEquals([s.stats("anon_vma").allocs, s.stats("anon_vma").frees], [4, 4]);
});

Deno.test("slab: an RCU-deferred free stays live and counted until the grace period ends", () => {
  const exec = new CountingExec();
  const s = new Slab({}, exec);
  exec.beginOp("munmap", 0);
  s.alloc("anon_vma", 2);
  s.freeRcu("anon_vma");
  assertEquals([s.live("anon_vma"), s.stats("anon_vma").pendingRcu], [2, 1]);
  assertEquals(s.snapshot().totalBytes, 2 * s.sizes.anon_vma);
  exec.endOp(); // the grace period of this untimed executor ends with the operation
  assertEquals([s.live("anon_vma"), s.stats("anon_vma").pendingRcu], [1, 0]);
  assertEquals(s.snapshot().totalBytes, s.sizes.anon_vma);
});

Deno.test("slab: the total equals the sum of the caches after every syscall and returns to 0", () => {
  for (const entry of SCHEMES) {
    const k = new Kernel({ scheme: entry.create() });
    const rng = new Random(7);
    const live: Mm[] = [k.spawn()];
    let peak = 0;
    const peaks = new Map<SlabCache, number>();
    const check = (): void => {
      const snap = k.slab.snapshot();
      assertEquals(snap.totalBytes, sumBytes(snap), `${entry.info.id}: total vs caches`);
      peak = Math.max(peak, snap.totalBytes);
      for (const c of SLAB_CACHES) peaks.set(c, Math.max(peaks.get(c) ?? 0, snap.objects[c]));
    };
    for (let step = 0; step < 300; step++) {
      const mm = live[rng.int(0, live.length - 1)];
      const a = X + rng.int(0, 63) * P;
      const op = rng.int(0, 5);
      try {
        if (op === 0) k.mmap(mm, a, rng.int(1, 8) * P, RW, ANON | MAP_FIXED);
        else if (op === 1) k.touch(mm, a, rng.int(0, 1) ? "write" : "read");
        else if (op === 2) k.munmap(mm, a, rng.int(1, 4) * P);
        else if (op === 3 && live.length < 6) live.push(k.fork(mm));
        else if (op === 4 && live.length > 1) {
          k.exit(mm);
          live.splice(live.indexOf(mm), 1);
        } else k.mprotect(mm, a, rng.int(1, 4) * P, rng.int(0, 1) ? RW : PROT_READ);
      } catch (e) {
        if (!(e instanceof SyscallError)) throw e;
      }
      check();
    }
    for (const mm of live) k.exit(mm);
    check();
    assertEquals(k.slab.snapshot().totalBytes, 0, `${entry.info.id}: bytes left after every exit`);
    // The slab's own high-water marks are at least what was observed between syscalls.
    if (k.slab.peakTotalBytes < peak) {
      throw new Error(`${entry.info.id}: peak total below observed`);
    }
    for (const c of SLAB_CACHES) {
      if (k.slab.stats(c).peak < peaks.get(c)!) {
        throw new Error(`${entry.info.id}: ${c} peak too low`);
      }
    }
  }
});

Deno.test("recorder: peak bytes are peak objects × object size, final total the sum", () => {
  const run = runOne({ scheme: "anon_vma", workload: "fork-storm", seed: 3 });
  const s = new Slab();
  let anyPeak = false;
  for (const c of SLAB_CACHES) {
    assertEquals(run.slab.peak.bytes[c], run.slab.peak.objects[c] * s.sizes[c], c);
    if (run.slab.peak.objects[c] < run.slab.final.objects[c]) throw new Error(`${c} peak < final`);
    if (run.slab.peak.objects[c] > 0) anyPeak = true;
  }
  assertEquals(anyPeak, true);
  let final = 0;
  for (const c of SLAB_CACHES) final += run.slab.final.bytes[c];
  assertEquals(run.slab.final.totalBytes, final);
  if (run.slab.peak.totalBytes < final) throw new Error("peak total below final total");
});

// -- the oracle -----------------------------------------------------------------------------------

/** A parent with two written pages, forked: page 0 shared (mapcount 2), page 1 copied by the child. */
function forkedWorld(): { k: Kernel; parent: Mm; child: Mm; shared: Folio } {
  const k = new Kernel({ scheme: new AnonVmaScheme() });
  const parent = k.spawn();
  k.mmap(parent, X, 4 * P, RW, ANON | MAP_FIXED);
  k.touch(parent, X, "write");
  k.touch(parent, X + P, "write");
  const child = k.fork(parent);
  k.touch(child, X + P, "write");
  return { k, parent, child, shared: folioAt(k, parent, X) };
}

Deno.test("oracle: a consistent state passes; each broken state is named", () => {
  const { k, child, shared } = forkedWorld();
  assertEquals(k.oracle.check(k), []);
  assertEquals(shared.mapcount, [2]);

  shared.mapcount[0]++;
  assertEquals(k.oracle.check(k), [`folio ${shared.id} mapcount 3 != 2`]);
  shared.mapcount[0] -= 2;
  assertEquals(k.oracle.check(k), [`folio ${shared.id} mapcount 1 != 2`]);
  shared.mapcount[0]++;

  const key = [...shared.mappers.keys()][1];
  const m = shared.mappers.get(key)!;
  shared.mappers.delete(key);
  const problems = k.oracle.check(k);
  assertEquals(problems.length, 3);
  assertEquals(problems[0].startsWith(`oracle lacks folio ${shared.id} at ${m.mm.id}:`), true);
  assertEquals(problems[1], `folio ${shared.id} mapcount 2 != 1`);
  assertEquals(problems[2], "oracle records 3 mappings, page tables 4");
  shared.mappers.set(key, m);
  assertEquals(k.oracle.check(k), []);
  k.assertInvariants();
  void child;
});

Deno.test("oracle: a walk that misses a mapping the oracle knows stops with a mismatch", () => {
  const { k, child, shared } = forkedWorld();
  k.migrateFolio(shared); // consistent: both mappings found
  const walked = k.oracle.walksChecked;
  if (walked === 0) throw new Error("walks are not checked against the oracle");
  // A mapping the page tables do not have: the scheme cannot find it, so the walk must fail.
  const bogus = X + 3 * P;
  shared.mappers.set(child.id * 2 ** 36 + bogus / P, { mm: child, addr: bogus });
  assertThrows(() => k.migrateFolio(shared), OracleMismatchError, "missed its mapping");
});

// -- pins, fork and write faults -----------------------------------------------------------------

Deno.test("pin: an exclusive pinned page is copied at fork; the parent keeps it writable", () => {
  const k = new Kernel({ scheme: new AnonVmaScheme() });
  const parent = k.spawn();
  k.mmap(parent, X, P, RW, ANON | MAP_FIXED);
  k.touch(parent, X, "write");
  const f = folioAt(k, parent, X);
  k.setPinned(f, true);
  const child = k.fork(parent);
  const cf = folioAt(k, child, X);
  assertEquals(cf === f, false);
  assertEquals([cf.anonExclusive[0], cf.mapcount[0], k.pte(child, X)!.writable], [true, 1, true]);
  assertEquals([f.anonExclusive[0], f.mapcount[0], k.pte(parent, X)!.writable], [true, 1, true]);
  assertEquals(k.counters.fork_early_cow, 1);
  k.touch(parent, X, "write"); // no fault: still writable, same folio
  assertEquals(folioAt(k, parent, X), f);
  assertEquals(k.counters.faults_cow_copy ?? 0, 0);
  k.assertInvariants();
});

Deno.test("fork: an unpinned page is shared, write-protected and no longer exclusive", () => {
  const k = new Kernel({ scheme: new AnonVmaScheme() });
  const parent = k.spawn();
  k.mmap(parent, X, P, RW, ANON | MAP_FIXED);
  k.touch(parent, X, "write");
  const f = folioAt(k, parent, X);
  const child = k.fork(parent);
  assertEquals(folioAt(k, child, X), f);
  assertEquals([f.anonExclusive[0], f.mapcount[0]], [false, 2]);
  assertEquals([k.pte(parent, X)!.writable, k.pte(child, X)!.writable], [false, false]);
  assertEquals(k.counters.fork_early_cow ?? 0, 0);
  // The parent's write copies (the page is mapped twice).
  k.touch(parent, X, "write");
  const pf = folioAt(k, parent, X);
  assertEquals([pf === f, k.counters.faults_cow_copy, f.mapcount[0]], [false, 1, 1]);
  // mprotect(PROT_WRITE) of the child's range must not make the shared... now exclusive-by-count
  // but not PageAnonExclusive folio writable: only a write fault may reuse it.
  k.mprotect(child, X, P, PROT_READ);
  k.mprotect(child, X, P, RW);
  assertEquals(k.pte(child, X)!.writable, false);
  k.assertInvariants();
});

Deno.test("mprotect: PROT_WRITE makes exclusive anon pages writable, shared ones not", () => {
  const k = new Kernel({ scheme: new AnonVmaScheme() });
  const parent = k.spawn();
  k.mmap(parent, X, 2 * P, RW, ANON | MAP_FIXED);
  k.touch(parent, X, "write");
  const child = k.fork(parent);
  k.touch(parent, X + P, "write"); // after the fork: exclusive to the parent
  k.mprotect(parent, X, 2 * P, PROT_READ);
  k.mprotect(parent, X, 2 * P, RW);
  assertEquals([k.pte(parent, X)!.writable, k.pte(parent, X + P)!.writable], [false, true]);
  void child;
});

Deno.test("pin: a pinned page is never reused on a write fault; an unpinned one is", () => {
  for (const pinned of [false, true]) {
    const k = new Kernel({ scheme: new AnonVmaScheme() });
    const parent = k.spawn();
    k.mmap(parent, X, P, RW, ANON | MAP_FIXED);
    k.touch(parent, X, "write");
    const f = folioAt(k, parent, X);
    k.exit(k.fork(parent)); // f: mapcount 1 again, but no longer exclusive
    assertEquals([f.mapcount[0], f.anonExclusive[0]], [1, false]);
    k.setPinned(f, pinned);
    k.touch(parent, X, "write");
    const now = folioAt(k, parent, X);
    if (pinned) {
      // wp_can_reuse_anon_folio: the pin holds an extra reference, so the page is copied.
      assertEquals([now === f, k.counters.faults_cow_copy, f.freed], [false, 1, true]);
    } else {
      assertEquals([now === f, k.counters.faults_wp_reuse_move, now.anonExclusive[0]], [
        true,
        1,
        true,
      ]);
    }
    assertEquals(k.pte(parent, X)!.writable, true);
    k.assertInvariants();
  }
});

// -- max_map_count ------------------------------------------------------------------------------

const MAX = 20;
/** VMAs of 3 pages every 5 pages (2-page gaps: no merges). */
const vmaAt = (i: number): number => X + i * 5 * P;

function withVmas(n: number): { k: Kernel; mm: Mm } {
  const k = new Kernel({ scheme: new AnonVmaScheme(), params: { maxMapCount: MAX } });
  const mm = k.spawn();
  for (let i = 0; i < n; i++) k.mmap(mm, vmaAt(i), 3 * P, RW, ANON | MAP_FIXED);
  assertEquals(mm.mapCount, n);
  return { k, mm };
}

Deno.test("max_map_count: mmap refuses only above the limit (a process may reach max + 1)", () => {
  const { k, mm } = withVmas(MAX);
  k.mmap(mm, vmaAt(MAX), 3 * P, RW, ANON | MAP_FIXED); // map_count == max: allowed
  assertEquals(mm.mapCount, MAX + 1);
  assertEquals(errnoOf(() => k.mmap(mm, vmaAt(MAX + 1), 3 * P, RW, ANON | MAP_FIXED)), "ENOMEM");
  assertEquals(mm.mapCount, MAX + 1);
  // A mapping that would merge is refused as well: do_mmap checks before trying to merge.
  assertEquals(errnoOf(() => k.mmap(mm, vmaAt(0) + 3 * P, P, RW, ANON | MAP_FIXED)), "ENOMEM");
});

Deno.test("max_map_count: brk refuses above the limit, even an expansion of its VMA", () => {
  const { k, mm } = withVmas(MAX);
  const b = mm.startBrk;
  assertEquals(k.brk(mm, b + P), b + P); // map_count == max: a new brk VMA is allowed
  assertEquals(mm.mapCount, MAX + 1);
  assertEquals(k.brk(mm, b + 2 * P), b + P); // map_count > max: unchanged
  assertEquals(mm.vmas.find(b)!.end, b + P);
  assertEquals(k.brk(mm, b), b); // shrinking is always allowed
  assertEquals(mm.mapCount, MAX);
});

Deno.test("brk shrinks only over a VMA: with none in [newbrk, oldbrk) it fails, brk unchanged", () => {
  //  start_brk  +1        +3        +6           brk 6, munmap [1, 6): the heap is [0, 1)
  //  |heap|     ..........             |         brk 3 and brk 1 find no VMA in [new, old):
  //                                              they fail (sys_brk's vma_find), brk stays 6
  // Bug caught: a shrink that always succeeds (verify's brk-shrink-over-unmapped-heap; found by
  // random scenarios against the host).
  const k = new Kernel({ scheme: new AnonVmaScheme(), params: { debugChecks: true } });
  const mm = k.spawn();
  const b = mm.startBrk;
  assertEquals(k.brk(mm, b + 6 * P), b + 6 * P);
  k.munmap(mm, b + P, 5 * P);
  assertEquals(k.brk(mm, b + 3 * P), b + 6 * P);
  assertEquals(k.brk(mm, b + P), b + 6 * P);
  // A shrink that reaches the heap's VMA succeeds and unmaps it.
  assertEquals(k.brk(mm, b), b);
  assertEquals(mm.vmas.find(b), undefined);
});

Deno.test("max_map_count: split_vma refuses at the limit", () => {
  const a = withVmas(MAX - 1);
  a.k.mprotect(a.mm, vmaAt(0), P, PROT_READ); // one split at max - 1: allowed
  assertEquals(a.mm.mapCount, MAX);
  const b = withVmas(MAX);
  assertEquals(errnoOf(() => b.k.mprotect(b.mm, vmaAt(0), P, PROT_READ)), "ENOMEM");
  assertEquals(b.mm.mapCount, MAX);
  assertEquals(b.mm.vmas.find(vmaAt(0))!.end, vmaAt(0) + 3 * P);
  // The middle of a VMA needs two splits: at max - 1 the second fails and the first stays
  // behind (vma_modify: split_vma of the start, then of the end, each refusing at the limit).
  // On this host, with vm.max_map_count set one above the process's map_count, mprotect of a
  // 3-page VMA's middle page gave ENOMEM and left [0,1) [1,3) (C probe, 2026-12-02).
  const c = withVmas(MAX - 1);
  assertEquals(errnoOf(() => c.k.mprotect(c.mm, vmaAt(0) + P, P, PROT_READ)), "ENOMEM");
  assertEquals(c.mm.mapCount, MAX);
  assertEquals([c.mm.vmas.find(vmaAt(0))!.end, c.mm.vmas.find(vmaAt(0) + P)!.end], [
    vmaAt(0) + P,
    vmaAt(0) + 3 * P,
  ]);
  assertEquals(c.mm.vmas.find(vmaAt(0) + P)!.flags & VM_WRITE, VM_WRITE); // not changed
  const d = withVmas(MAX - 2);
  d.k.mprotect(d.mm, vmaAt(0) + P, P, PROT_READ);
  assertEquals(d.mm.mapCount, MAX);
});

Deno.test("max_map_count: a merge on the way makes room for the range's second split", () => {
  //   0      4      8      12        mprotect(r) of [2, 10) with map_count = max - 1:
  //   [rw   ][r    ][rwx  ]          split at 2 (count = max), [2,4) merges with [4,8) (max - 1),
  //   [rw][r          ][rwx]         so the split at 10 is allowed: [0,2) [2,10) [10,12), three
  //                                  VMAs as before (map_count max - 1 again).
  // As on this host with vm.max_map_count one above the map_count (C probe, 2026-12-02); a budget
  // of both splits checked up front refused it.
  const k = new Kernel({ scheme: new AnonVmaScheme(), params: { maxMapCount: MAX } });
  const mm = k.spawn();
  for (let i = 0; i < MAX - 4; i++) k.mmap(mm, vmaAt(10 + i), 3 * P, RW, ANON | MAP_FIXED);
  k.mmap(mm, X, 4 * P, RW, ANON | MAP_FIXED);
  k.mmap(mm, X + 4 * P, 4 * P, PROT_READ, ANON | MAP_FIXED);
  k.mmap(mm, X + 8 * P, 4 * P, RW | PROT_EXEC, ANON | MAP_FIXED);
  assertEquals(mm.mapCount, MAX - 1);
  k.mprotect(mm, X + 2 * P, 8 * P, PROT_READ);
  const ends = [X, X + 2 * P, X + 10 * P].map((a) => (mm.vmas.find(a)!.end - X) / P);
  assertEquals([ends, mm.mapCount], [[2, 10, 12], MAX - 1]);
});

Deno.test("max_map_count: munmap of a VMA's middle refuses at the limit, an edge never", () => {
  const a = withVmas(MAX - 1);
  a.k.munmap(a.mm, vmaAt(0) + P, P); // middle at max - 1: allowed, map_count becomes max
  assertEquals(a.mm.mapCount, MAX);
  const b = withVmas(MAX);
  assertEquals(errnoOf(() => b.k.munmap(b.mm, vmaAt(0) + P, P)), "ENOMEM");
  assertEquals(b.mm.mapCount, MAX);
  // Above the limit, unmapping an edge (one split, one removal) still works.
  b.k.mmap(b.mm, vmaAt(MAX), 3 * P, RW, ANON | MAP_FIXED);
  assertEquals(b.mm.mapCount, MAX + 1);
  b.k.munmap(b.mm, vmaAt(0), P);
  assertEquals(b.mm.mapCount, MAX + 1);
});

Deno.test("max_map_count: mremap moves refuse at max - 3, moves to new_addr at max - 5", () => {
  const far = X + 1000 * P;
  // Growing VMA 0 from 3 to 6 pages does not fit before VMA 1: it moves.
  const a = withVmas(MAX - 4);
  a.k.mremap(a.mm, vmaAt(0), 3 * P, 6 * P, MREMAP_MAYMOVE);
  assertEquals(a.mm.mapCount, MAX - 4);
  const b = withVmas(MAX - 3);
  assertEquals(errnoOf(() => b.k.mremap(b.mm, vmaAt(0), 3 * P, 6 * P, MREMAP_MAYMOVE)), "ENOMEM");
  assertEquals(b.mm.vmas.find(vmaAt(0))!.end, vmaAt(0) + 3 * P);
  // MREMAP_FIXED: check_mremap_params wants map_count + 2 below max - 3.
  const c = withVmas(MAX - 6);
  c.k.mremap(c.mm, vmaAt(0), 3 * P, 3 * P, MREMAP_MAYMOVE | MREMAP_FIXED, far);
  assertEquals(c.mm.vmas.find(far)!.end, far + 3 * P);
  const d = withVmas(MAX - 5);
  assertEquals(
    errnoOf(() => d.k.mremap(d.mm, vmaAt(0), 3 * P, 3 * P, MREMAP_MAYMOVE | MREMAP_FIXED, far)),
    "ENOMEM",
  );
  assertEquals(d.mm.vmas.find(far), undefined);
});

// -- merges -------------------------------------------------------------------------------------

Deno.test("merge: VMAs with different anon_vmas stay apart (is_mergeable_anon_vma)", () => {
  //   0   2 3   5
  //   AA  B CC      A and C faulted separately (C is not adjacent to A: its own anon_vma);
  //                 B (unfaulted) merges with A only; mprotect of C there and back cannot merge.
  const k = new Kernel({ scheme: new AnonVmaScheme() });
  const s = k.scheme as AnonVmaScheme;
  const mm = k.spawn();
  k.mmap(mm, X, 2 * P, RW, ANON | MAP_FIXED);
  k.touch(mm, X, "write");
  k.mmap(mm, X + 3 * P, 2 * P, RW, ANON | MAP_FIXED);
  k.touch(mm, X + 3 * P, "write");
  k.mmap(mm, X + 2 * P, P, RW, ANON | MAP_FIXED);
  const a = mm.vmas.find(X)!, c = mm.vmas.find(X + 3 * P)!;
  assertEquals([a.start, a.end, c.start, c.end], [X, X + 3 * P, X + 3 * P, X + 5 * P]);
  k.mprotect(mm, X + 3 * P, 2 * P, PROT_READ);
  k.mprotect(mm, X + 3 * P, 2 * P, RW);
  assertEquals(mm.mapCount, 2);
  assertEquals(s.anonVmaOf(mm.vmas.find(X)!) === s.anonVmaOf(mm.vmas.find(X + 3 * P)!), false);
  assertEquals((k.counters.merge_failed_anon_vma ?? 0) > 0, true);
  assertEquals(k.slab.live("anon_vma"), 2);
  k.migrateFolio(folioAt(k, mm, X + 3 * P));
  k.assertInvariants();
});

Deno.test("mprotect: a private mapping made writable is charged (VM_ACCOUNT) and merges", () => {
  //   0   2   4
  //   RR  WW     mprotect(0-2, RW): mprotect_fixup sets VM_ACCOUNT, so the flags equal the
  //              writable neighbour's and the two merge (mm/mprotect.c).
  const k = new Kernel({ scheme: new AnonVmaScheme() });
  const mm = k.spawn();
  k.mmap(mm, X, 2 * P, PROT_READ, ANON | MAP_FIXED);
  k.mmap(mm, X + 2 * P, 2 * P, RW, ANON | MAP_FIXED);
  assertEquals(mm.mapCount, 2);
  k.mprotect(mm, X, 2 * P, RW);
  assertEquals(mm.mapCount, 1);
  const v = mm.vmas.find(X)!;
  assertEquals([v.start, v.end, v.pgoff], [X, X + 4 * P, X / P]);
});

Deno.test("execve: the new stack is params.stackPages pages below TASK_SIZE", () => {
  const k = new Kernel({ scheme: new AnonVmaScheme(), params: { stackPages: 8 } });
  const mm = k.execve(k.spawn());
  const top = k.params.taskSize;
  const v = mm.vmas.find(top - P)!;
  assertEquals([v.start, v.end, mm.mapCount], [top - 8 * P, top, 1]);
});

Deno.test("maple_node estimate: 2N + 1 ranges (VMAs and gaps), 10 per node, plus parents", () => {
  // N = 4: 9 ranges -> 1 leaf. N = 5: 11 ranges -> 2 leaves + 1 root = 3.
  // N = 50: 101 ranges -> 11 leaves, 2 internal nodes, 1 root = 14.
  const k = new Kernel({ scheme: new AnonVmaScheme() });
  const mm = k.spawn();
  const at = (i: number): number => X + 2 * i * P; // gaps: no merges
  const counts: number[] = [];
  for (let i = 0; i < 50; i++) {
    k.mmap(mm, at(i), P, RW, ANON | MAP_FIXED);
    if (i === 3 || i === 4 || i === 49) counts.push(k.slab.live("maple_node"));
  }
  assertEquals(counts, [1, 3, 14]);
  for (let i = 0; i < 50; i++) k.munmap(mm, at(i), P);
  assertEquals(k.slab.live("maple_node"), 0);
});

Deno.test("swap: each swap-in drops its slot reference; the swap-cache folio goes with the last", () => {
  const k = new Kernel({ scheme: new AnonVmaScheme() });
  const parent = k.spawn();
  k.mmap(parent, X, P, RW, ANON | MAP_FIXED);
  k.touch(parent, X, "write");
  const child = k.fork(parent);
  assertEquals(k.tryToUnmap(folioAt(k, parent, X)), true); // both PTEs now refer to one slot
  assertEquals(k.liveAnonFolios.length, 0);
  k.touch(child, X, "read"); // swap-in: a folio in the swap cache, still referred to by the parent
  const f = folioAt(k, child, X);
  k.touch(parent, X, "read"); // the second swap-in maps the cached folio: the slot is free now
  assertEquals(folioAt(k, parent, X), f);
  assertEquals(f.mapcount, [2]);
  k.exit(child);
  k.exit(parent);
  assertEquals([f.freed, k.liveAnonFolios.length], [true, 0]);
});

// -- get_unmapped_area -----------------------------------------------------------------------------

Deno.test("mmap(NULL): top-down below mmap_base, then bottom-up from TASK_UNMAPPED_BASE", () => {
  // arch_get_unmapped_area_topdown (arch/x86/kernel/sys_x86_64.c) searches top-down below
  // mmap_base and, when nothing fits, falls back to arch_get_unmapped_area: bottom-up from
  // mmap_legacy_base (TASK_UNMAPPED_BASE = PAGE_ALIGN(TASK_SIZE / 3) with ASLR off) to TASK_SIZE.
  // That search may return a range that straddles mmap_base. A 8 GiB task here:
  //   0x10000        0xaaaab000 (TASK_UNMAPPED_BASE)    0x100000000 (mmap_base)    0x200000000
  const base = 2 ** 32;
  const params = { taskSize: 2 ** 33, mmapBase: base, mmapMinAddr: 0x10000 };
  assertEquals(taskUnmappedBase(params.taskSize), 0xaaaab000);
  const k = new Kernel({ scheme: new AnonVmaScheme(), params });
  // Top-down: right under mmap_base.
  assertEquals(k.mmap(k.spawn(), 0, P, RW, ANON), base - P);
  // Everything below mmap_base mapped but its last page:
  //   [0x10000 ........ mapped ........ base - P) [free page) base [free ...)
  const mm = k.spawn();
  k.mmap(mm, 0x10000, base - P - 0x10000, RW, ANON | MAP_FIXED);
  // Two pages do not fit below mmap_base; bottom-up finds the free page and what follows it.
  assertEquals(k.mmap(mm, 0, 2 * P, RW, ANON), base - P);
  // Nothing is left below mmap_base: bottom-up again, after that mapping.
  assertEquals(k.mmap(mm, 0, P, RW, ANON), base + P);
});

Deno.test("mmap(NULL): private anonymous multiples of 2 MiB are THP-aligned, nothing else", () => {
  // __get_unmapped_area (mm/mmap.c, 6.18): no hint, private anonymous, len % PMD_SIZE == 0 ->
  // __thp_get_unmapped_area: search for len + 2 MiB, then align up, or take the top of the padded
  // range when its start is aligned already. The figures are this host's (`setarch -R`, the
  // highest gap below mmap_base ending at 0x7ffff7dd1000, where the libraries start):
  //   2 MiB -> 0x7ffff7a00000, 2 MiB -> 0x7ffff7800000 (merged with the first), 4 MiB ->
  //   0x7ffff7400000, 6 MiB -> 0x7ffff6e00000; shared anonymous 2 MiB -> 0x7ffff7bd1000 (shmem's
  //   own placement: unaligned while shmem huge pages are off); a free hint is taken as it is.
  const top = 0x7ffff7dd1000;
  const MiB = 2 ** 20;
  const fresh = (thp: boolean) => {
    const k = new Kernel({ scheme: new AnonVmaScheme(), params: { mmapBase: top, thp } });
    return { k, mm: k.spawn() };
  };
  const { k, mm } = fresh(true);
  assertEquals(k.mmap(mm, 0, 2 * MiB, RW, ANON), 0x7ffff7a00000);
  assertEquals(k.mmap(mm, 0, 2 * MiB, RW, ANON), 0x7ffff7800000);
  assertEquals(k.mmap(mm, 0, 4 * MiB, RW, ANON), 0x7ffff7400000);
  assertEquals(k.mmap(mm, 0, 6 * MiB, RW, ANON), 0x7ffff6e00000);
  // Adjacent and alike: one VMA from 0x7ffff6e00000 to 0x7ffff7c00000; then the gap up to `top`.
  const below = [...mm.vmas].filter((v) => v.end <= top).map((v) => [v.start, v.end]);
  assertEquals(below, [[0x7ffff6e00000, 0x7ffff7c00000]]);
  // Not a multiple of 2 MiB: plain top-down. The gap under `top` (0x1d1000 bytes) is too small
  // for 3 MiB, so it goes directly below the VMA.
  assertEquals(k.mmap(mm, 0, 3 * MiB, RW, ANON), 0x7ffff6b00000);
  // Shared anonymous memory and a free hint are not aligned.
  const b = fresh(true);
  assertEquals(b.k.mmap(b.mm, 0, 2 * MiB, RW, MAP_SHARED | MAP_ANONYMOUS), top - 2 * MiB);
  assertEquals(b.k.mmap(b.mm, 0x600000001000, 2 * MiB, RW, ANON), 0x600000001000);
  assertEquals(b.k.mmap(b.mm, 0, 2 * MiB, RW, ANON), 0x7ffff7800000);
  // A hint that is taken (mapped) is no "no hint": the plain top-down search, unaligned.
  const d = fresh(true);
  assertEquals(d.k.mmap(d.mm, 0, P, RW, ANON), top - P);
  assertEquals(d.k.mmap(d.mm, top - P, 2 * MiB, RW, ANON), top - P - 2 * MiB);
  // A kernel without THP: no alignment.
  const c = fresh(false);
  assertEquals(c.k.mmap(c.mm, 0, 2 * MiB, RW, ANON), top - 2 * MiB);
  // mremap's move of private anonymous memory is placed the same way (vrm_set_new_addr ->
  // get_unmapped_area, no file): a page that cannot grow in place, moved to 2 MiB, lands at
  // 0x7ffff7a00000 as on this host.
  for (const thp of [true, false]) {
    const e = fresh(thp);
    e.k.mmap(e.mm, 0x600000000000, P, RW, ANON | MAP_FIXED);
    e.k.mmap(e.mm, 0x600000001000, P, PROT_READ, ANON | MAP_FIXED);
    const to = e.k.mremap(e.mm, 0x600000000000, P, 2 * MiB, MREMAP_MAYMOVE);
    assertEquals(to, thp ? 0x7ffff7a00000 : top - 2 * MiB);
  }
});

// -- madvise over a hole ------------------------------------------------------------------------

/**
 * One process with two read-write anonymous VMAs around a one-page hole:
 *
 *     X          X+2P   X+3P         X+5P
 *     | A (2 p.) | hole | B (2 p.)   |
 */
function aHoleB(): { k: Kernel; mm: Mm } {
  const k = new Kernel({ scheme: new AnonVmaScheme() });
  const mm = k.spawn();
  k.mmap(mm, X, 2 * P, RW, ANON | MAP_FIXED);
  k.mmap(mm, X + 3 * P, 2 * P, RW, ANON | MAP_FIXED);
  return { k, mm };
}

Deno.test("madvise over a hole: the mapped parts get the advice, then ENOMEM", () => {
  const { k, mm } = aHoleB();
  for (const a of [X, X + P, X + 3 * P, X + 4 * P]) k.touch(mm, a, "write");
  assertEquals([mm.pages.size, k.liveAnonFolios.length], [4, 4]);
  // MADV_DONTNEED zaps both VMAs' pages, and the call fails.
  assertThrows(() => k.madvise(mm, X, 5 * P, MADV_DONTNEED), SyscallError, "ENOMEM");
  assertEquals([mm.pages.size, k.liveAnonFolios.length], [0, 0]);
  // MADV_DONTFORK from inside A to inside B: A's and B's parts in the range are marked (each VMA
  // split at the range's ends), and the call fails.
  assertThrows(() => k.madvise(mm, X + P, 3 * P, MADV_DONTFORK), SyscallError, "ENOMEM");
  const layout = [...mm.vmas].map((v) => [v.start - X, v.end - X, (v.flags & VM_DONTCOPY) !== 0]);
  assertEquals(layout, [[0, P, false], [P, 2 * P, true], [3 * P, 4 * P, true], [
    4 * P,
    5 * P,
    false,
  ]]);
  // The same advice on a range without a hole succeeds, and changes nothing more.
  k.madvise(mm, X + 3 * P, P, MADV_DONTFORK);
  const child = k.fork(mm);
  assertEquals([...child.vmas].map((v) => [v.start - X, v.end - X]), [[0, P], [4 * P, 5 * P]]);
  k.assertInvariants();
});

Deno.test("mprotect over a hole: the VMAs before it change, then ENOMEM; none from a hole", () => {
  const { k, mm } = aHoleB();
  const access = (): number[] => [...mm.vmas].map((v) => v.flags & (VM_READ | VM_WRITE));
  // From inside A over the hole: A's part becomes read-only (A splits), B is not reached.
  assertThrows(() => k.mprotect(mm, X + P, 4 * P, PROT_READ), SyscallError, "ENOMEM");
  assertEquals([...mm.vmas].map((v) => [v.start - X, v.end - X]), [[0, P], [P, 2 * P], [
    3 * P,
    5 * P,
  ]]);
  assertEquals(access(), [VM_READ | VM_WRITE, VM_READ, VM_READ | VM_WRITE]);
  // From the hole: nothing changes.
  assertThrows(() => k.mprotect(mm, X + 2 * P, 3 * P, PROT_READ), SyscallError, "ENOMEM");
  assertEquals(access(), [VM_READ | VM_WRITE, VM_READ, VM_READ | VM_WRITE]);
  k.assertInvariants();
});
