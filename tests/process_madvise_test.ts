// process_madvise (mm/madvise.c of Linux 6.18: the syscall, process_madvise_remote_valid,
// vector_madvise, madvise_should_skip) and the mmap_lock mode of madvise (get_lock_mode). Every
// return value of the first test was first read on this host (Linux 6.18) with a C probe that
// built the layout below, forked, opened pidfds of both processes and made these calls; the same
// calls on the model give the same bytes or errno.
//
//   page:  0 1 2 3 | 4  | 5 6 7 8 9 10 11 | 12 13 | 14 15
//   P:     [ rw   ] hole [ rw            ] [ rw L ] [ rw ]   every page written, L = mlock'd
//   C = fork(P): the same VMAs, not locked (dup_mmap clears VM_LOCKED)

import { assertEquals } from "./assert.ts";
import { errnoOf } from "./errno.ts";
import { Kernel } from "../core/kernel/kernel.ts";
import { AnonVmaScheme } from "../core/rmap/anon_vma.ts";
import { CountingExec, type Lock, type LockMode } from "../core/machine/exec.ts";
import { compactMemory } from "../workloads/android_launch.ts";
import {
  MADV_COLD,
  MADV_DONTFORK,
  MADV_DONTNEED,
  MADV_FREE,
  MADV_PAGEOUT,
  MADV_WILLNEED,
  type MadviseRange,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  type Mm,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
  UIO_MAXIOV,
  VM_DONTCOPY,
} from "../core/kernel/types.ts";

const P = PAGE_SIZE;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
const A = 0x7f0000000000;

/** An exec that logs each mmap_lock acquisition's mode. */
class LockLog extends CountingExec {
  modes: LockMode[] = [];
  override acquire(lock: Lock, mode: LockMode, tryLock = false): boolean {
    if (lock.lockClass === "mmap_lock") this.modes.push(mode);
    return super.acquire(lock, mode, tryLock);
  }
}

function world(): { k: Kernel; p: Mm; c: Mm; ex: LockLog; walks: string[] } {
  const ex = new LockLog();
  const k = new Kernel({ scheme: new AnonVmaScheme(), exec: ex, params: { debugChecks: true } });
  const walks: string[] = [];
  k.onWalk((r) => walks.push(`${r.kind}:${r.visits}`));
  const p = k.spawn();
  k.mmap(p, A, 16 * P, RW, ANON);
  for (let i = 0; i < 16; i++) k.touch(p, A + i * P, "write");
  k.munmap(p, A + 4 * P, P);
  k.mlock(p, A + 12 * P, 2 * P);
  const c = k.fork(p);
  return { k, p, c, ex, walks };
}

const r = (page: number, pages: number, extra = 0): MadviseRange => ({
  base: A + page * P,
  len: pages * P + extra,
});

/** The bytes a call returns, or its errno. */
function call(fn: () => number): number | string {
  let bytes = 0;
  const e = errnoOf(() => bytes = fn());
  return e === "ok" ? bytes : e;
}

Deno.test("process_madvise: the host probe's calls give its bytes and errnos", () => {
  // Catches: a partly advised range counted (it must not be), the page-rounded length returned
  // instead of iov_len, an empty vector or range refused, the remote-advice check skipped or
  // applied to the caller's own mm, the UIO_MAXIOV bound off by one, and a dead target not ESRCH.
  const { k, p, c } = world();
  const pm = (t: Mm, iov: MadviseRange[], adv: number, flags = 0) =>
    call(() => k.processMadvise(p, t, iov, adv, flags));
  assertEquals(pm(p, [r(0, 2)], MADV_DONTNEED), 8192);
  assertEquals(pm(c, [r(0, 2)], MADV_DONTNEED), "EINVAL");
  assertEquals(pm(c, [r(0, 2)], MADV_WILLNEED), 8192); // read-ahead: allowed on another process
  assertEquals(pm(c, [r(3, 3)], MADV_WILLNEED), "ENOMEM");
  assertEquals(pm(c, [r(0, 2), r(3, 3), r(8, 1)], MADV_COLD), 8192);
  assertEquals(pm(c, [r(3, 3), r(8, 1)], MADV_COLD), "ENOMEM");
  assertEquals(pm(c, [r(0, 0), r(3, 3)], MADV_COLD), "ENOMEM");
  assertEquals(pm(c, [r(0, 1, 904)], MADV_COLD), 5000);
  assertEquals(pm(c, [{ base: A + 1, len: P }], MADV_COLD), "EINVAL");
  assertEquals(pm(c, [r(0, 1), { base: A + 1, len: P }], MADV_COLD), 4096);
  assertEquals(pm(c, [r(0, 1)], MADV_COLD, 1), "EINVAL");
  const many = (n: number) => Array.from({ length: n }, () => r(0, 1));
  assertEquals(UIO_MAXIOV, 1024);
  assertEquals(pm(c, many(1025), MADV_COLD), "EINVAL");
  assertEquals(pm(c, many(1024), MADV_COLD), 4194304);
  assertEquals(pm(c, [r(10, 4)], MADV_PAGEOUT), 16384); // the child's VMAs are not locked
  assertEquals(pm(p, [r(10, 4)], MADV_PAGEOUT), "EINVAL");
  assertEquals(pm(p, [r(0, 1), r(10, 4)], MADV_PAGEOUT), 4096);
  assertEquals(pm(p, [r(0, 1)], 999), "EINVAL");
  assertEquals(pm(c, [r(0, 1)], 999), "EINVAL");
  assertEquals(pm(c, [], MADV_COLD), 0);
  assertEquals(pm(c, [], MADV_DONTNEED), "EINVAL");
  // Any advice on the caller's own mm: MADV_DONTFORK splits [0, 4) at page 1.
  assertEquals(pm(p, [r(0, 1)], MADV_DONTFORK), 4096);
  const v = p.vmas.find(A)!;
  assertEquals([v.end, (v.flags & VM_DONTCOPY) !== 0], [A + P, true]);
  k.exit(c);
  assertEquals(pm(c, [r(0, 1)], MADV_COLD), "ESRCH");
  // The syscall checks its flags and the vector's length before it looks the target up.
  assertEquals(pm(c, [r(0, 1)], MADV_COLD, 1), "EINVAL");
  assertEquals(pm(c, many(1025), MADV_COLD), "EINVAL");
});

Deno.test("process_madvise: a range that fails part-way keeps its effect but is not counted", () => {
  // The child writes pages 0-1, 3 and 5 (CoW: its own exclusive copies), then PAGEOUT on
  // [0,2) [3,6) [8,9): 8192 bytes (the second range meets the hole at 4: ENOMEM), yet pages 3
  // and 5 were reclaimed too (madvise_walk_vmas advises the mapped parts, then reports the
  // hole): 4 walks. Page 8 is never reached. Catches: a failing range's work undone or its
  // bytes counted, or the vector continued past it.
  const { k, p, c, walks } = world();
  for (const i of [0, 1, 3, 5]) k.touch(c, A + i * P, "write");
  const before = walks.length;
  assertEquals(call(() => k.processMadvise(p, c, [r(0, 2), r(3, 3), r(8, 1)], MADV_PAGEOUT)), 8192);
  assertEquals([walks.length - before, k.counters.folios_reclaimed], [4, 4]);
  const kinds = [0, 1, 3, 5, 8].map((i) => c.pages.get(A / P + i)!.kind);
  assertEquals(kinds, ["swap", "swap", "swap", "swap", "present"]);
});

Deno.test("madvise and process_madvise take mmap_lock in get_lock_mode's mode", () => {
  // COLD, PAGEOUT, DONTNEED, FREE: read (DONTNEED and FREE take a per-VMA read lock on Linux,
  // the model's stand-in for it being the mmap_lock read lock, as for faults); a flag change:
  // write. One process_madvise call holds the target's lock once for its whole vector; an
  // argument error takes no lock. Catches: every madvise serialised under the write lock, or a
  // lock per range.
  const { k, p, c, ex } = world();
  const modes = (fn: () => unknown): LockMode[] => {
    ex.modes = [];
    try {
      fn();
    } catch { /* errors are part of the cases */ }
    return ex.modes;
  };
  assertEquals(modes(() => k.madvise(p, A, P, MADV_COLD)), ["read"]);
  assertEquals(modes(() => k.madvise(p, A, P, MADV_PAGEOUT)), ["read"]);
  assertEquals(modes(() => k.madvise(p, A, P, MADV_DONTNEED)), ["read"]);
  assertEquals(modes(() => k.madvise(p, A, P, MADV_FREE)), ["read"]);
  assertEquals(modes(() => k.madvise(p, A, P, MADV_DONTFORK)), ["write"]);
  assertEquals(modes(() => k.madvise(p, A + 1, P, MADV_DONTFORK)), []);
  assertEquals(modes(() => k.processMadvise(p, c, [r(0, 1), r(5, 2), r(14, 2)], MADV_COLD)), [
    "read",
  ]);
  assertEquals(modes(() => k.processMadvise(p, c, [r(0, 1)], MADV_DONTNEED)), []);
});

Deno.test("android-launch's compactMemory batches as AOSP does: EINVAL and partial results skip", () => {
  // system_server compacts P, whose [12,14) is locked. The maps give
  // [0,4) [5,12) [12,14) [14,16). Call 1: all four ranges; [12,14) fails with EINVAL after
  // 4 + 7 pages: 45056 bytes. madviseVmasFromBatch skips one page more (page 12), so call 2
  // sends [13,14) [14,16): EINVAL first, nothing advised: the first range is consumed. Call 3:
  // [14,16): 8192. P's 13 unlocked pages, written again after the fork (its own copies), are
  // reclaimed: 4 + 7 + 2 walks, none for the locked pages. Catches: a call per VMA, EINVAL
  // ending the process, or the failed page not skipped (the same call again and again).
  const { k, p, walks } = world();
  const srv = k.spawn();
  for (const i of [0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 14, 15]) k.touch(p, A + i * P, "write");
  const ranges: number[] = [];
  for (const v of p.vmas) ranges.push(v.start, v.end);
  assertEquals(ranges.length, 8);
  const log: (number | string)[] = [];
  const before = walks.length;
  for (const step of compactMemory(k, srv, p, ranges, log)) step.run();
  assertEquals(log, [45056, "EINVAL", 8192]);
  assertEquals(walks.length - before, 13);
  // A range that fails part-way: the maps showed [0,4) and [4,12), then page 4 was unmapped.
  // Call 1 advises [0,4) and fails in [4,12) (ENOMEM after pages 5-11 were done): 16384. The
  // failing page is skipped, so call 2 sends [5,12): 28672 (without the skip, [4,12) again
  // would fail at once and end the process's compaction).
  const log1: (number | string)[] = [];
  for (const step of compactMemory(k, srv, p, [A, A + 4 * P, A + 4 * P, A + 12 * P], log1)) {
    step.run();
  }
  assertEquals(log1, [16384, 28672]);
  // A batch that makes no progress is given up, as compactMemory does ("no forward progress can
  // be made with this batch"), not sent forever: an empty range first, then the locked [12,14):
  // EINVAL with nothing advised, and consuming the empty range consumes 0 bytes.
  const log0: (number | string)[] = [];
  for (const step of compactMemory(k, srv, p, [A, A, A + 12 * P, A + 14 * P], log0)) step.run();
  assertEquals(log0, ["EINVAL"]);
  // An ENOMEM (a range unmapped since the maps were read) ends the compaction of the process.
  const log2: (number | string)[] = [];
  for (const step of compactMemory(k, srv, p, [A + 4 * P, A + 5 * P, A, A + P], log2)) step.run();
  assertEquals(log2, ["ENOMEM"]);
});
