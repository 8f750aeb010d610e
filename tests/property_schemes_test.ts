// Differential property test: the same random syscall sequences run through every registered
// scheme. After each step the kernel and scheme invariants hold (debugChecks), every walk of every
// live folio matches the oracle (a missed mapping throws OracleMismatchError), and at the end —
// after every process exited — every slab count is zero. fast-check shrinks a failure to a minimal
// sequence; minimal sequences found so far are kept as regression tests at the bottom.

import fc from "fast-check";
import { assertEquals } from "./assert.ts";
import { Kernel } from "../core/kernel/kernel.ts";
import { SCHEMES } from "../core/rmap/registry.ts";
import type { RmapScheme } from "../core/rmap/scheme.ts";
import { AnonVmaLazyScheme } from "../core/rmap/anon_vma_lazy.ts";
import type { Userfaultfd } from "../core/kernel/userfaultfd.ts";
import type { KernelParams } from "../core/kernel/params.ts";
import {
  MADV_COLD,
  MADV_DODUMP,
  MADV_DOFORK,
  MADV_DONTDUMP,
  MADV_DONTFORK,
  MADV_DONTNEED,
  MADV_FREE,
  MADV_GUARD_INSTALL,
  MADV_GUARD_REMOVE,
  MADV_MERGEABLE,
  MADV_NORMAL,
  MADV_PAGEOUT,
  MADV_RANDOM,
  MADV_UNMERGEABLE,
  MADV_WIPEONFORK,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  MAP_SHARED,
  MLOCK_ONFAULT,
  type Mm,
  MREMAP_DONTUNMAP,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  MREMAP_RELOCATE_ANON,
  PAGE_SIZE,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
  SyscallError,
  type Vma,
} from "../core/kernel/types.ts";

const P = PAGE_SIZE;
const BASE = 0x7f0000000000;
/** Pages of the window every operation works in: small, so operations interact. */
const WINDOW = 48;

/** One step of a random sequence. */
export type Op =
  | { op: "mmap"; proc: number; page: number; pages: number; prot: number }
  | { op: "munmap"; proc: number; page: number; pages: number }
  | { op: "mprotect"; proc: number; page: number; pages: number; prot: number }
  | {
    op: "mremap";
    proc: number;
    page: number;
    pages: number;
    to: number;
    newPages: number;
    mode: number;
  }
  | { op: "madvise"; proc: number; page: number; pages: number; advice: number }
  | { op: "touch"; proc: number; page: number; write: boolean }
  | { op: "mlock"; proc: number; page: number; pages: number; mode: number }
  | {
    op: "pmadvise";
    proc: number;
    target: number;
    ranges: { page: number; pages: number }[];
    advice: number;
  }
  | { op: "fork"; proc: number }
  | { op: "exit"; proc: number }
  | { op: "reclaim"; pick: number; evict: boolean }
  | { op: "pin"; pick: number }
  | {
    op: "mmapFile";
    proc: number;
    page: number;
    pages: number;
    prot: number;
    shared: boolean;
    offset: number;
  }
  | { op: "mmapShmem"; proc: number; page: number; pages: number }
  | { op: "brk"; proc: number; delta: number }
  | { op: "execve"; proc: number }
  | { op: "uffd"; proc: number; page: number; pages: number; to: number; mode: number }
  | { op: "ksm"; proc: number; page: number; pages: number; mode: number; value: number };

const proc = fc.integer({ min: 0, max: 3 });
const page = fc.integer({ min: 0, max: WINDOW - 1 });
const pages = fc.integer({ min: 1, max: 12 });
const prot = fc.constantFrom(PROT_READ | PROT_WRITE, PROT_READ, PROT_READ | PROT_WRITE | PROT_EXEC);

/** Arbitrary for one step. */
export const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ op: fc.constant("mmap" as const), proc, page, pages, prot }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("munmap" as const), proc, page, pages }) },
  {
    weight: 3,
    arbitrary: fc.record({ op: fc.constant("mprotect" as const), proc, page, pages, prot }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("mremap" as const),
      proc,
      page,
      pages,
      to: page,
      newPages: pages,
      mode: fc.integer({ min: 0, max: 5 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("madvise" as const),
      proc,
      page,
      pages,
      advice: fc.constantFrom(
        MADV_DONTNEED,
        MADV_DONTFORK,
        MADV_DOFORK,
        MADV_WIPEONFORK,
        MADV_COLD,
        MADV_PAGEOUT,
        MADV_GUARD_INSTALL,
        MADV_GUARD_REMOVE,
        MADV_FREE,
        MADV_RANDOM,
        MADV_NORMAL,
        MADV_DONTDUMP,
        MADV_DODUMP,
      ),
    }),
  },
  {
    weight: 8,
    arbitrary: fc.record({ op: fc.constant("touch" as const), proc, page, write: fc.boolean() }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("mlock" as const),
      proc,
      page,
      pages,
      mode: fc.integer({ min: 0, max: 2 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("pmadvise" as const),
      proc,
      target: proc,
      ranges: fc.array(fc.record({ page, pages: fc.integer({ min: 0, max: 12 }) }), {
        minLength: 1,
        maxLength: 3,
      }),
      advice: fc.constantFrom(MADV_COLD, MADV_PAGEOUT, MADV_DONTNEED),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("fork" as const), proc }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("exit" as const), proc }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("reclaim" as const),
      pick: fc.nat(),
      evict: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("pin" as const), pick: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("mmapFile" as const),
      proc,
      page,
      pages,
      prot,
      shared: fc.boolean(),
      offset: fc.integer({ min: 0, max: 16 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("mmapShmem" as const), proc, page, pages }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("brk" as const),
      proc,
      delta: fc.integer({ min: -6, max: 8 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("execve" as const), proc }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("uffd" as const),
      proc,
      page,
      pages,
      to: page,
      mode: fc.integer({ min: 0, max: 6 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("ksm" as const),
      proc,
      page,
      pages,
      mode: fc.integer({ min: 0, max: 3 }),
      value: fc.integer({ min: 1, max: 2 }),
    }),
  },
);

const addr = (p: number): number => BASE + p * P;

/** Runs a sequence through a scheme; throws on any invariant or oracle failure or leak. */
export function runSequence(
  schemeId: string,
  ops: readonly Op[],
  folioOrder = 0,
  scheme?: RmapScheme,
  kernel: Partial<KernelParams> = {},
): { counters: Record<string, number>; slab: unknown; kernel: Record<string, number> } {
  const entry = SCHEMES.find((s) => s.info.id === schemeId)!;
  scheme ??= entry.create();
  // The heap (brk) starts inside the window, so brk growth meets the other mappings.
  const k = new Kernel({
    scheme,
    params: {
      debugChecks: true,
      startBrk: addr(WINDOW - 12),
      anonFolioOrder: folioOrder,
      ...kernel,
    },
  });
  const file = k.createFile("data", 32);
  const procs: Mm[] = [k.spawn()];
  const pickMm = (i: number): Mm => procs[i % procs.length];
  // Prologue: two populated regions, so that random steps act on faulted memory.
  //   0       16  20      36        48
  //   AAAAAAAA    BBBBBBBB          (every other page written)
  k.mmap(
    procs[0],
    addr(0),
    16 * P,
    PROT_READ | PROT_WRITE,
    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
  );
  k.mmap(
    procs[0],
    addr(20),
    16 * P,
    PROT_READ | PROT_WRITE,
    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
  );
  for (let i = 0; i < 36; i += 2) if (i < 16 || i >= 20) k.touch(procs[0], addr(i), "write");
  const uffds = new Map<Mm, Userfaultfd>();
  for (const o of ops) {
    try {
      switch (o.op) {
        case "uffd": {
          // userfaultfd: register (0), unregister (1), UFFDIO_MOVE with and without
          // ALLOW_SRC_HOLES (2, 3) from `page` to `to`, close (4), register then UFFDIO_COPY (5)
          // or UFFDIO_ZEROPAGE (6) at `page`.
          const mm = pickMm(o.proc);
          let u = uffds.get(mm);
          if (!u?.open) uffds.set(mm, u = k.userfaultfd(mm));
          const a = addr(o.page), n = o.pages * P;
          try {
            if (o.mode === 0) u.register(a, n);
            else if (o.mode === 1) u.unregister(a, n);
            else if (o.mode < 4) u.move(addr(o.to), a, n, o.mode === 3 ? 2 : 0);
            else if (o.mode === 5 || o.mode === 6) {
              // Registered first (when it can be), so that the fill reaches its page loop.
              try {
                u.register(a, n);
              } catch (e) {
                if (!(e instanceof SyscallError)) throw e;
              }
              if (o.mode === 5) u.copy(a, n);
              else u.zeropage(a, n);
            } else u.close();
          } catch (e) {
            // Registering shmem is not modelled (a RangeError naming it), not a model failure.
            if (!(e instanceof RangeError && /shmem is not modelled/.test(e.message))) throw e;
          }
          break;
        }
        case "mmap":
          k.mmap(
            pickMm(o.proc),
            addr(o.page),
            o.pages * P,
            o.prot,
            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
          );
          break;
        case "munmap":
          k.munmap(pickMm(o.proc), addr(o.page), o.pages * P);
          break;
        case "mprotect":
          k.mprotect(pickMm(o.proc), addr(o.page), o.pages * P, o.prot);
          break;
        case "madvise":
          k.madvise(pickMm(o.proc), addr(o.page), o.pages * P, o.advice);
          break;
        case "mremap": {
          const mm = pickMm(o.proc);
          const to = addr(WINDOW + 8 + o.to); // destinations beside the window, then back
          const back = o.mode === 5;
          const flags = [
            MREMAP_MAYMOVE,
            MREMAP_MAYMOVE | MREMAP_FIXED,
            MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP,
            MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_RELOCATE_ANON,
            0,
            MREMAP_MAYMOVE | MREMAP_FIXED,
          ][o.mode];
          const dontunmap = (flags & MREMAP_DONTUNMAP) !== 0;
          const newLen = dontunmap ? o.pages * P : o.newPages * P;
          k.mremap(
            mm,
            back ? to : addr(o.page),
            o.pages * P,
            newLen,
            flags,
            back ? addr(o.page) : to,
          );
          break;
        }
        case "touch":
          k.touch(pickMm(o.proc), addr(o.page), o.write ? "write" : "read");
          break;
        case "pmadvise":
          // process_madvise on another process (or the caller's own mm): MADV_DONTNEED is
          // refused on another's, and the first failing range ends the vector.
          k.processMadvise(
            pickMm(o.proc),
            pickMm(o.target),
            o.ranges.map((r) => ({ base: addr(r.page), len: r.pages * P })),
            o.advice,
          );
          break;
        case "mlock": {
          const mm = pickMm(o.proc);
          if (o.mode === 0) k.mlock(mm, addr(o.page), o.pages * P);
          else if (o.mode === 1) k.mlock2(mm, addr(o.page), o.pages * P, MLOCK_ONFAULT);
          else k.munlock(mm, addr(o.page), o.pages * P);
          break;
        }
        case "fork":
          if (procs.length < 5) procs.push(k.fork(pickMm(o.proc)));
          break;
        case "exit": {
          if (procs.length < 2) break;
          const i = o.proc % procs.length;
          k.exit(procs[i]);
          procs.splice(i, 1);
          break;
        }
        case "reclaim": {
          const live = k.liveAnonFolios;
          if (!live.length) break;
          const f = live[o.pick % live.length];
          if (o.evict) k.tryToUnmap(f);
          else k.folioReferenced(f);
          break;
        }
        case "mmapFile":
          k.mmap(
            pickMm(o.proc),
            addr(o.page),
            o.pages * P,
            o.prot,
            (o.shared ? MAP_SHARED : MAP_PRIVATE) | MAP_FIXED,
            file,
            o.offset * P,
          );
          break;
        case "mmapShmem":
          k.mmap(
            pickMm(o.proc),
            addr(o.page),
            o.pages * P,
            PROT_READ | PROT_WRITE,
            MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED,
          );
          break;
        case "brk": {
          const mm = pickMm(o.proc);
          k.brk(mm, Math.max(mm.startBrk, mm.brk + o.delta * P));
          break;
        }
        case "execve": {
          const i = o.proc % procs.length;
          procs[i] = k.execve(procs[i]);
          break;
        }
        case "pin": {
          const live = k.liveAnonFolios;
          if (live.length) k.setPinned(live[o.pick % live.length], true);
          break;
        }
        case "ksm": {
          // KSM: MADV_MERGEABLE (0) or MADV_UNMERGEABLE (1) of the range; twins (2): one of two
          // contents written to every page of the range, made mergeable, then three ksmd wakes,
          // which merge them (random steps alone almost never line these up); two wakes (3).
          const mm = pickMm(o.proc);
          const a = addr(o.page), n = o.pages * P;
          if (o.mode === 0) k.madvise(mm, a, n, MADV_MERGEABLE);
          else if (o.mode === 1) k.madvise(mm, a, n, MADV_UNMERGEABLE);
          else if (o.mode === 2) {
            for (let i = 0; i < o.pages; i++) k.touch(mm, a + i * P, "write", o.value);
            k.madvise(mm, a, n, MADV_MERGEABLE);
            for (let i = 0; i < 3; i++) k.ksmdScan();
          } else for (let i = 0; i < 2; i++) k.ksmdScan();
          break;
        }
      }
    } catch (e) {
      if (!(e instanceof SyscallError)) throw e;
    }
    // Every live folio's full walk must find exactly the oracle's mappings.
    for (const f of [...k.liveAnonFolios]) k.migrateFolio(f);
  }
  for (const mm of procs) k.exit(mm);
  // ksmd frees an exited mm's rmap items (and their anon_vma references) when its scan reaches
  // them (`__ksm_exit` leaves a slot with items to ksmd).
  for (let i = 0; i < 4 && k.slab.live("ksm_rmap_item") > 0; i++) k.ksmdScan();
  const left = Object.entries(k.slab.snapshot().objects).filter(([, n]) => n !== 0);
  assertEquals(left, [], `leak in ${schemeId}`);
  return { counters: scheme.counters(), slab: k.slab.snapshot(), kernel: { ...k.counters } };
}

for (const s of SCHEMES) {
  Deno.test(`every walk matches the oracle and nothing leaks: ${s.info.id}`, () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 5, maxLength: 60, size: "max" }), (ops) => {
        runSequence(s.info.id, ops);
      }),
      { seed: 20261122, numRuns: 400 },
    );
  });
}

for (const s of SCHEMES) {
  Deno.test(`swap on a disk or file (swapSyncIo false): every walk matches the oracle: ${s.info.id}`, () => {
    // Reclaimed folios stay in the swap cache, swap-ins keep them there, and exclusivity comes
    // from the entries' pte_swp_exclusive: each scheme must still find every mapping. The runs
    // must reach those paths (and UFFDIO_COPY/ZEROPAGE, KSM merges), or the property says nothing
    // about them
    // (a swap-in from the device after the swap cache let go is rare here: swap_writeback_test.ts
    // pins it).
    const seen: Record<string, number> = {};
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 5, maxLength: 60, size: "max" }), (ops) => {
        // Small folios, and mTHP order 2 (a large folio stays whole in the swap cache).
        for (const order of [0, 2]) {
          const r = runSequence(s.info.id, ops, order, undefined, { swapSyncIo: false });
          for (const [c, n] of Object.entries(r.kernel)) seen[c] = (seen[c] ?? 0) + n;
        }
      }),
      { seed: 20261202, numRuns: 300 },
    );
    for (
      const c of [
        "swapcache_writeback_kept",
        "faults_swapin_cached",
        "uffd_copy_pages",
        "uffd_zeropage_pages",
        "ksm_pages_merged",
      ]
    ) {
      assertEquals((seen[c] ?? 0) > 0, true, `${c} never reached: ${JSON.stringify(seen)}`);
    }
  });
}

for (const s of SCHEMES) {
  Deno.test(`large folios (mTHP order 2): every walk matches the oracle: ${s.info.id}`, () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 5, maxLength: 60, size: "max" }), (ops) => {
        runSequence(s.info.id, ops, 2);
      }),
      { seed: 20261123, numRuns: 200 },
    );
  });
}

/**
 * The lazy group fork gives a TREE_PARENT VMA is made when a folio joins it (or its root leaves
 * it while other VMAs stay); the naive model makes it at fork (`lstate` of the child makes it).
 * Every counter and slab figure must be equal, under any sequence of operations.
 */
class EagerForkGroups extends AnonVmaLazyScheme {
  override fork(child: Vma, parent: Vma): void {
    super.fork(child, parent);
    const s = this.lstate(child);
    if (s.treeParent && !s.lazy) throw new Error("lstate left a TREE_PARENT VMA without group");
  }
}

Deno.test("fork-time lazy groups made on first use: the same figures as made at fork", () => {
  let deferred = 0;
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 5, maxLength: 60, size: "max" }), (ops) => {
      const lazy = runSequence("anon_vma_lazy", ops);
      const eager = runSequence("anon_vma_lazy", ops, 0, new EagerForkGroups());
      assertEquals(lazy, eager);
      if ((lazy.counters.tree_parent_forked ?? 0) > 0) deferred++;
    }),
    { seed: 20261201, numRuns: 300 },
  );
  if (deferred < 50) throw new Error(`only ${deferred} sequences forked a faulted VMA`);
});

// Minimal sequences fast-check found (kept as regression tests, run through every scheme).
const REGRESSIONS: {
  name: string;
  ops: Op[];
  order?: number;
  kernel?: Partial<KernelParams>;
}[] = [
  {
    // A swap-in dropped the slot's last reference and freed the folio it was about to map.
    name: "swap-in of the last reference to a swap slot",
    ops: [
      { op: "reclaim", pick: 571725181, evict: true },
      { op: "touch", proc: 0, page: 0, write: false },
      { op: "touch", proc: 0, page: 0, write: false },
      { op: "mmap", proc: 0, page: 0, pages: 1, prot: 3 },
      { op: "touch", proc: 0, page: 30, write: false },
      { op: "pin", pick: 0 },
    ],
  },
  {
    // A folio kept only by the swap cache (no PTE) still holds its rmap reference (cow_context).
    name: "swap-cached folio without mappings after a fork",
    ops: [
      { op: "reclaim", pick: 992366015, evict: true },
      { op: "mprotect", proc: 0, page: 0, pages: 1, prot: 3 },
      { op: "fork", proc: 0 },
      { op: "touch", proc: 0, page: 34, write: false },
      { op: "touch", proc: 0, page: 0, write: false },
      { op: "mprotect", proc: 0, page: 0, pages: 1, prot: 3 },
    ],
  },
  {
    // A reused large folio was moved to one VMA's anon_vma while other VMAs of the mm (split
    // by mprotect before a fork, so with other anon_vmas) still mapped its pages.
    name: "write reuse of a large folio that spans VMAs with different anon_vmas",
    order: 4,
    ops: [
      { op: "mprotect", proc: 0, page: 0, pages: 2, prot: 1 },
      { op: "mprotect", proc: 0, page: 0, pages: 1, prot: 3 },
      { op: "fork", proc: 0 },
      { op: "exit", proc: 0 },
      { op: "touch", proc: 0, page: 0, write: true },
      { op: "mprotect", proc: 0, page: 0, pages: 1, prot: 3 },
      { op: "mremap", proc: 0, page: 0, pages: 1, to: 0, newPages: 1, mode: 0 },
      { op: "fork", proc: 0 },
      { op: "pin", pick: 0 },
      { op: "mremap", proc: 0, page: 0, pages: 1, to: 0, newPages: 1, mode: 0 },
    ],
  },
  {
    // MREMAP_RELOCATE_ANON moved a folio whose VMA's anon_vma had a fork child linked as
    // TREE_PARENT (anon_vma_lazy: no child anon_vma yet, so num_children did not show it); the
    // child still referred to the folio through the swap cache. Found by a long stress run.
    name: "relocation of a folio a TREE_PARENT fork child shares through the swap cache",
    ops: [
      { op: "madvise", proc: 0, page: 0, pages: 1, advice: 21 },
      { op: "fork", proc: 0 },
      { op: "touch", proc: 0, page: 0, write: false },
      { op: "mremap", proc: 0, page: 0, pages: 1, to: 0, newPages: 1, mode: 3 },
    ],
  },
  {
    // A large folio kept whole in the swap cache (a disk or file device) for the entry of its
    // second page: the swap-in mapped the folio's first page at that address. Found by
    // `FOLIO_ORDER=2 SWAP_SYNC_IO=0 deno run -A tests/stress_property.ts 1500 53`.
    name: "swap-in of a large swap-cache folio's second page",
    order: 2,
    kernel: { swapSyncIo: false },
    ops: [
      { op: "mmapFile", proc: 0, page: 10, pages: 6, prot: 3, shared: false, offset: 0 },
      { op: "mmap", proc: 0, page: 0, pages: 3, prot: 3 },
      { op: "munmap", proc: 0, page: 3, pages: 6 },
      { op: "reclaim", pick: 234197317, evict: true },
      { op: "touch", proc: 0, page: 9, write: false },
      { op: "brk", proc: 0, delta: 0 },
      { op: "mmap", proc: 0, page: 0, pages: 1, prot: 3 },
      { op: "touch", proc: 0, page: 0, write: false },
      { op: "mmap", proc: 0, page: 0, pages: 1, prot: 3 },
      { op: "mmapFile", proc: 0, page: 0, pages: 1, prot: 3, shared: false, offset: 0 },
    ],
  },
  {
    // MREMAP_RELOCATE_ANON skipped the swap entry of a folio the swap cache kept (a disk or file
    // device); the unmap of the source's last VMA then ended anon_vma_lazy's group while that
    // folio still named it. Found by `SWAP_SYNC_IO=0 deno run -A tests/stress_property.ts 1500
    // 103 104` (seed 104). The last step, added, swaps in at the relocated page: a copy
    // (`ksm_might_need_to_copy`) in the anon_vma schemes, the cached folio in cow_context.
    name: "relocation of a swap entry whose folio the swap cache keeps",
    kernel: { swapSyncIo: false },
    ops: [
      { op: "reclaim", pick: 68249529, evict: true },
      { op: "mremap", proc: 0, page: 22, pages: 5, to: 0, newPages: 1, mode: 3 },
      { op: "mmap", proc: 0, page: 27, pages: 9, prot: 3 },
      { op: "munmap", proc: 0, page: 10, pages: 12 },
      { op: "uffd", proc: 0, page: 0, pages: 1, to: 0, mode: 0 },
      { op: "touch", proc: 0, page: 0, write: false },
      { op: "fork", proc: 0 },
      { op: "exit", proc: 0 },
      { op: "touch", proc: 0, page: 0, write: false },
      { op: "touch", proc: 0, page: 56, write: false },
    ],
  },
  {
    // ksmd merged a child's page into a KSM page made of the page the parent shares with it (the
    // tree page), where `try_to_merge_two_pages` makes the scanned page the KSM page: the
    // parent's mapping of the tree page, which no rmap item covers, was missed by the walk.
    // Found by `FOLIO_ORDER=2 SWAP_SYNC_IO=0 deno run -A tests/stress_property.ts 1500 151 152`
    // (seed 152) once the property test had KSM steps; it fails at order 0 too.
    name: "KSM merge of a page a parent shares with its child",
    ops: [
      { op: "fork", proc: 0 },
      { op: "ksm", proc: 0, page: 8, pages: 9, mode: 2, value: 1 },
      { op: "fork", proc: 0 },
      { op: "ksm", proc: 2, page: 8, pages: 1, mode: 0, value: 1 },
      { op: "ksm", proc: 0, page: 4, pages: 6, mode: 0, value: 1 },
      { op: "ksm", proc: 0, page: 0, pages: 1, mode: 3, value: 1 },
    ],
  },
  {
    // A KSM page reclaimed to a disk (the swap cache keeps the folio), then ksmd scans: the items
    // of its swapped-out addresses are dropped, and the swap-in maps the KSM folio where no item
    // is. Linux's rmap_walk_ksm cannot reach that mapping until ksmd rescans it, so the walk check
    // must let that one miss pass (ksm.ts `ksmSwapinMapped`). Found by `FOLIO_ORDER=4
    // SWAP_SYNC_IO=0 deno run -A tests/stress_property.ts 1500 201 202` (seed 201, every scheme).
    name: "KSM page swapped in after ksmd dropped its rmap items",
    order: 4,
    kernel: { swapSyncIo: false },
    ops: [
      { op: "ksm", proc: 0, page: 20, pages: 9, mode: 2, value: 1 },
      { op: "reclaim", pick: 1217916228, evict: true },
      { op: "ksm", proc: 0, page: 0, pages: 1, mode: 2, value: 1 },
      { op: "touch", proc: 0, page: 20, write: false },
      { op: "ksm", proc: 0, page: 0, pages: 1, mode: 3, value: 1 },
      { op: "reclaim", pick: 1217916228, evict: true },
    ],
  },
  {
    // Two fork children share their parent's KSM pages; the parent exits, and a ksmd wake of 5
    // pages frees its rmap items but scans only part of the children. A child's mapping that it
    // has no item for yet was reachable only through the parent's item (search_new_forks), so
    // Linux's rmap_walk_ksm cannot reach it until ksmd scans it: the walk check must let that miss
    // pass (ksm.ts `removeRmapItemFromTree`). Found by `FOLIO_ORDER=4
    // KERNEL_PARAMS='{"ksmPagesToScan":5}' deno run -A tests/stress_property.ts 1500 227 228`
    // (seed 228, every scheme).
    name: "KSM pages of fork children after the parent's rmap items went",
    order: 4,
    kernel: { ksmPagesToScan: 5 },
    ops: [
      { op: "mmapShmem", proc: 0, page: 9, pages: 11 },
      { op: "ksm", proc: 0, page: 13, pages: 12, mode: 2, value: 1 },
      { op: "fork", proc: 0 },
      { op: "fork", proc: 0 },
      { op: "exit", proc: 0 },
      { op: "ksm", proc: 0, page: 0, pages: 1, mode: 2, value: 1 },
    ],
  },
];

for (const s of SCHEMES) {
  for (const r of REGRESSIONS) {
    Deno.test(
      `regression (${s.info.id}): ${r.name}`,
      () => void runSequence(s.info.id, r.ops, r.order ?? 0, undefined, r.kernel),
    );
  }
}
