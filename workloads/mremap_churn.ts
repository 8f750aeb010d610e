/**
 * The `mremap-churn` workload: processes that move faulted anonymous memory with `mremap`, the
 * pattern that fragments the VMA tree because a moved faulted VMA keeps its `vm_pgoff` and
 * anon_vma and so rarely merges at its destination (reference §6, §7, §9.2).
 *
 * Each process mixes three patterns, chosen per round by weight:
 *
 * - **realloc**: glibc-style large buffers (one private anonymous mmap each, placed upward in an
 *   arena by address hint) that double with `mremap(MREMAP_MAYMOVE)`. A buffer is blocked when a
 *   mapping follows it (the next buffer, or a one-page read-only file mapping — a "blocker" —
 *   mapped right after it with probability `blockerProbability`), so growing in place fails and
 *   the kernel moves it (reference §9.1, §9.2).
 * - **defrag**: a ZGC-style heap (reference §9.3, §11.2 "OpenJDK ZGC prototype"): a PROT_NONE
 *   reservation of `heapSlots` slots; allocation maps a slot read/write (`MAP_FIXED`) and writes
 *   it; when the heap is full a GC cycle releases a `garbageFraction` of the live slots (PROT_NONE
 *   again) and compacts the survivors to the lowest free slots with
 *   `mremap(MREMAP_MAYMOVE|MREMAP_FIXED)`, re-reserving each vacated slot.
 * - **hole-and-back**: a live heap slot is moved away to a scratch area, written there, and moved
 *   back to where it was faulted, which restores pgoff contiguity (reference §12.5 E5(iii)).
 *
 * With `relocate` = `relocate` (or `must`) every move adds `MREMAP_RELOCATE_ANON` (or
 * `MREMAP_MUST_RELOCATE_ANON`; an EFAULT is then retried as a plain move) (reference §10.2): the
 * destination gets `pgoff = new_addr >> PAGE_SHIFT` and a fresh or neighbouring anon_vma, so it
 * can merge (§12.5 E5(ii)). With `forkEvery` > 0 a short-lived child is forked now and then: while
 * it lives, the parent's VMAs may have shared anon folios and relocation falls back.
 *
 * `finish` reports the VMA, anon_vma and AVC counts and the failed merges by reason.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  type Mm,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  MREMAP_MUST_RELOCATE_ANON,
  MREMAP_RELOCATE_ANON,
  PAGE_SIZE,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  type SimFile,
  SyscallError,
} from "../core/kernel/types.ts";
import type { Kernel } from "../core/kernel/kernel.ts";
import type { Random } from "../core/lib/random.ts";
import {
  paramsOf,
  type ParamSpec,
  type Step,
  type TaskScript,
  type Workload,
  type WorkloadEnv,
} from "./workload.ts";

/** Where each process's realloc arena starts (far from the top-down mmap area; any free range). */
const ARENA_BASE = 0x100000000000;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

/** Reasons of `merge_failed_<reason>` counters (kernel.ts `MergeFailReason`). */
export const MERGE_FAIL_REASONS: readonly string[] = [
  "flags",
  "file",
  "pgoff",
  "anon_vma",
  "fork_child",
];

/** Parameters of mremap-churn. */
export const MREMAP_CHURN_PARAMS = [
  {
    name: "processes",
    kind: "int",
    default: 4,
    min: 1,
    max: 256,
    unit: "processes",
    description: "Independent processes doing the churn concurrently.",
    source: "assumption: a few allocator-heavy processes",
  },
  {
    name: "rounds",
    kind: "int",
    default: 1000,
    min: 1,
    max: 1e7,
    unit: "rounds",
    description: "Pattern rounds per process.",
    source: "assumption: sized for a 1-3 s default run",
  },
  {
    name: "relocate",
    kind: "enum",
    default: "off",
    choices: ["off", "relocate", "must"],
    unit: "mode",
    description:
      "Add MREMAP_RELOCATE_ANON (relocate) or MREMAP_MUST_RELOCATE_ANON (must) to every move.",
    source: "reference §10.2",
  },
  {
    name: "reallocWeight",
    kind: "float",
    default: 1,
    min: 0,
    max: 1000,
    unit: "weight",
    description: "Relative frequency of realloc rounds (grow a buffer, or allocate/free one).",
    source: "assumption",
  },
  {
    name: "defragWeight",
    kind: "float",
    default: 1,
    min: 0,
    max: 1000,
    unit: "weight",
    description:
      "Relative frequency of ZGC-style heap rounds (allocate a slot; GC and compact when full).",
    source: "assumption (reference §11.2, ZGC prototype)",
  },
  {
    name: "holeBackWeight",
    kind: "float",
    default: 1,
    min: 0,
    max: 1000,
    unit: "weight",
    description: "Relative frequency of hole-and-back rounds (move a live slot away and back).",
    source: "reference §12.5 E5(iii)",
  },
  {
    name: "bufferPages",
    kind: "int",
    default: 4,
    min: 1,
    max: 1 << 16,
    unit: "pages",
    description:
      "Initial size of a realloc buffer (above glibc's 128 KiB mmap threshold when scaled).",
    source: "assumption: scaled down",
  },
  {
    name: "maxBufferPages",
    kind: "int",
    default: 64,
    min: 1,
    max: 1 << 20,
    unit: "pages",
    description: "A buffer that would grow past this is freed instead.",
    source: "assumption",
  },
  {
    name: "buffers",
    kind: "int",
    default: 8,
    min: 1,
    max: 4096,
    unit: "buffers",
    description: "Live realloc buffers a process keeps.",
    source: "assumption",
  },
  {
    name: "blockerProbability",
    kind: "float",
    default: 0.5,
    min: 0,
    max: 1,
    unit: "fraction",
    description:
      "Chance that a one-page read-only file mapping is placed right after a new buffer.",
    source: "assumption",
  },
  {
    name: "heapSlots",
    kind: "int",
    default: 32,
    min: 2,
    max: 1 << 16,
    unit: "slots",
    description: "Slots (ZGC pages) in the heap reservation.",
    source: "assumption: scaled down",
  },
  {
    name: "slotPages",
    kind: "int",
    default: 4,
    min: 1,
    max: 1 << 12,
    unit: "pages",
    description: "Pages per heap slot (ZGC small pages are 2 MiB; scaled down).",
    source: "assumption: scaled down",
  },
  {
    name: "garbageFraction",
    kind: "float",
    default: 0.5,
    min: 0,
    max: 1,
    unit: "fraction",
    description: "Fraction of live heap slots found dead by a GC cycle.",
    source: "assumption",
  },
  {
    name: "forkEvery",
    kind: "int",
    default: 0,
    min: 0,
    max: 1e7,
    unit: "rounds",
    description: "Rounds between forks of a short-lived child (0 = never fork).",
    source: "assumption",
  },
  {
    name: "childLifeNs",
    kind: "int",
    default: 200_000,
    min: 0,
    max: 1e12,
    unit: "ns",
    description: "How long a forked child lives before it exits.",
    source: "assumption",
  },
  {
    name: "thinkNs",
    kind: "int",
    default: 5_000,
    min: 0,
    max: 1e12,
    unit: "ns",
    description: "Simulated time between two rounds of a process.",
    source: "assumption",
  },
] as const satisfies readonly ParamSpec[];

/** Per-run workload counters. */
interface ChurnStats {
  counts: Record<string, number>;
}

const STATS = new WeakMap<WorkloadEnv, ChurnStats>();

interface Buffer {
  addr: number;
  pages: number;
}

function bump(s: ChurnStats, k: string, n = 1): void {
  s.counts[k] = (s.counts[k] ?? 0) + n;
}

/** Resolved parameters of one run. */
interface Config {
  rounds: number;
  relocFlags: number;
  weights: [number, number, number];
  bufferPages: number;
  maxBufferPages: number;
  buffers: number;
  blockerProbability: number;
  heapSlots: number;
  slotPages: number;
  garbageFraction: number;
  forkEvery: number;
  childLifeNs: number;
  thinkNs: number;
}

function write(k: Kernel, mm: Mm, addr: number, pages: number): Step {
  return {
    op: "fault",
    run: () => {
      for (let i = 0; i < pages; i++) k.touch(mm, addr + i * PAGE_SIZE, "write");
    },
  };
}

function* processScript(
  env: WorkloadEnv,
  cfg: Config,
  rng: Random,
  stats: ChurnStats,
  id: number,
): TaskScript {
  const k = env.kernel;
  let mm!: Mm;
  yield { op: "execve", run: () => mm = k.spawn() };
  let blocker!: SimFile;
  const slotBytes = cfg.slotPages * PAGE_SIZE;
  let heapBase = 0;
  yield {
    op: "mmap",
    run: () => {
      blocker = k.createFile(`blocker-${id}`, 1);
      heapBase = k.mmap(mm, 0, cfg.heapSlots * slotBytes, PROT_NONE, ANON);
    },
  };
  const slotAddr = (i: number): number => heapBase + i * slotBytes;
  const live: boolean[] = new Array(cfg.heapSlots).fill(false);
  let top = 0;
  const buffers: Buffer[] = [];
  let arenaNext = ARENA_BASE;

  /** One mremap move (FIXED when `to` is given) with the relocation flags; returns the address. */
  function* move(
    from: number,
    oldLen: number,
    newLen: number,
    to: number | null,
  ): Generator<Step, number, void> {
    let result = from;
    const base = MREMAP_MAYMOVE | (to === null ? 0 : MREMAP_FIXED);
    let failed = false;
    yield {
      op: "mremap",
      run: () => {
        try {
          result = k.mremap(mm, from, oldLen, newLen, base | cfg.relocFlags, to ?? 0);
        } catch (e) {
          if (!(e instanceof SyscallError) || e.errno !== "EFAULT" || cfg.relocFlags === 0) throw e;
          failed = true;
        }
      },
    };
    if (failed) {
      // MREMAP_MUST_RELOCATE_ANON refused (reference §10.2): retry as a plain move.
      bump(stats, "must_relocate_efault");
      yield { op: "mremap", run: () => result = k.mremap(mm, from, oldLen, newLen, base, to ?? 0) };
    }
    return result;
  }

  function* realloc(): Generator<Step, void, void> {
    bump(stats, "realloc_rounds");
    if (buffers.length < cfg.buffers || rng.chance(0.1)) {
      const pages = cfg.bufferPages;
      let addr = 0;
      const hint = arenaNext;
      yield { op: "mmap", run: () => addr = k.mmap(mm, hint, pages * PAGE_SIZE, RW, ANON) };
      yield write(k, mm, addr, pages);
      buffers.push({ addr, pages });
      if (addr === hint) arenaNext = addr + pages * PAGE_SIZE;
      if (rng.chance(cfg.blockerProbability)) {
        // A hint, not MAP_FIXED: the kernel honours it when the page is free.
        const at = arenaNext;
        let got = 0;
        yield {
          op: "mmap",
          run: () => got = k.mmap(mm, at, PAGE_SIZE, PROT_READ, MAP_PRIVATE, blocker, 0),
        };
        if (got === at) arenaNext += PAGE_SIZE;
        bump(stats, "blockers");
      }
      return;
    }
    const i = rng.int(0, buffers.length - 1);
    const b = buffers[i];
    if (b.pages * 2 > cfg.maxBufferPages) {
      yield { op: "munmap", run: () => k.munmap(mm, b.addr, b.pages * PAGE_SIZE) };
      buffers.splice(i, 1);
      bump(stats, "buffers_freed");
      return;
    }
    const newPages = b.pages * 2;
    const to = yield* move(b.addr, b.pages * PAGE_SIZE, newPages * PAGE_SIZE, null);
    bump(stats, to === b.addr ? "realloc_in_place" : "realloc_moved");
    // Growth in place uses arena space: later buffers go after it.
    if (to === b.addr) arenaNext = Math.max(arenaNext, to + newPages * PAGE_SIZE);
    yield write(k, mm, to + b.pages * PAGE_SIZE, newPages - b.pages);
    b.addr = to;
    b.pages = newPages;
  }

  function* allocSlot(): Generator<Step, void, void> {
    const a = slotAddr(top);
    yield { op: "mmap", run: () => k.mmap(mm, a, slotBytes, RW, ANON | MAP_FIXED) };
    yield write(k, mm, a, cfg.slotPages);
    live[top++] = true;
    bump(stats, "slots_allocated");
  }

  function* defrag(): Generator<Step, void, void> {
    bump(stats, "defrag_rounds");
    if (top < cfg.heapSlots) {
      yield* allocSlot();
      return;
    }
    // GC cycle: release dead slots, then compact survivors to the lowest free slots.
    bump(stats, "gc_cycles");
    for (let i = 0; i < cfg.heapSlots; i++) {
      if (live[i] && rng.chance(cfg.garbageFraction)) {
        const a = slotAddr(i);
        yield { op: "mmap", run: () => k.mmap(mm, a, slotBytes, PROT_NONE, ANON | MAP_FIXED) };
        live[i] = false;
        bump(stats, "slots_released");
      }
    }
    let lo = 0, hi = cfg.heapSlots - 1;
    for (;;) {
      while (lo < cfg.heapSlots && live[lo]) lo++;
      while (hi >= 0 && !live[hi]) hi--;
      if (lo >= hi) break;
      const from = slotAddr(hi), to = slotAddr(lo);
      yield* move(from, slotBytes, slotBytes, to);
      yield { op: "mmap", run: () => k.mmap(mm, from, slotBytes, PROT_NONE, ANON | MAP_FIXED) };
      live[lo] = true;
      live[hi] = false;
      bump(stats, "compaction_moves");
    }
    top = live.filter(Boolean).length;
  }

  function* holeAndBack(): Generator<Step, void, void> {
    bump(stats, "hole_and_back_rounds");
    const candidates: number[] = [];
    for (let i = 0; i < cfg.heapSlots; i++) if (live[i]) candidates.push(i);
    if (candidates.length === 0) {
      if (top < cfg.heapSlots) yield* allocSlot();
      return;
    }
    const slot = slotAddr(rng.pick(candidates));
    let scratch = 0;
    yield { op: "mmap", run: () => scratch = k.mmap(mm, 0, slotBytes, PROT_NONE, ANON) };
    yield* move(slot, slotBytes, slotBytes, scratch);
    yield write(k, mm, scratch, 1);
    yield* move(scratch, slotBytes, slotBytes, slot);
  }

  const total = cfg.weights[0] + cfg.weights[1] + cfg.weights[2];
  for (let round = 0; round < cfg.rounds; round++) {
    if (cfg.thinkNs > 0) yield { sleep: cfg.thinkNs };
    if (cfg.forkEvery > 0 && round > 0 && round % cfg.forkEvery === 0) {
      let child!: Mm;
      yield { op: "fork", run: () => child = k.fork(mm) };
      bump(stats, "forks");
      const slots: number[] = [];
      for (let i = 0; i < cfg.heapSlots; i++) if (live[i]) slots.push(slotAddr(i));
      const c = child;
      env.addTask(
        `churn-${id}-child-${round}`,
        "user",
        (function* (): TaskScript {
          // The child writes one slot (CoW into its own anon_vma), lives a while, and exits.
          if (slots.length > 0) yield write(k, c, slots[0], 1);
          if (cfg.childLifeNs > 0) yield { sleep: cfg.childLifeNs };
          yield { op: "exit", run: () => k.exit(c) };
        })(),
      );
    }
    if (total === 0) continue;
    const r = rng.float() * total;
    if (r < cfg.weights[0]) yield* realloc();
    else if (r < cfg.weights[0] + cfg.weights[1]) yield* defrag();
    else yield* holeAndBack();
  }
}

function tableRows(env: WorkloadEnv, stats: ChurnStats): (string | number)[][] {
  const k = env.kernel;
  const c = k.counters;
  const rows: (string | number)[][] = [
    ["VMAs", k.totalVmas()],
    ["anon_vmas", k.slab.live("anon_vma")],
    ["anon_vma_chains", k.slab.live("anon_vma_chain")],
    ["merges", c.merges ?? 0],
  ];
  for (const r of MERGE_FAIL_REASONS) rows.push([`merge_failed_${r}`, c[`merge_failed_${r}`] ?? 0]);
  for (
    const n of ["mremap_moves", "mremap_relocated", "relocate_fallback", "mremap_expand_in_place"]
  ) {
    rows.push([n, c[n] ?? 0]);
  }
  for (const [n, v] of Object.entries(stats.counts).sort((a, b) => a[0] < b[0] ? -1 : 1)) {
    rows.push([n, v]);
  }
  return rows;
}

/**
 * The mremap-churn workload.
 *
 * @example Usage
 * ```ts ignore
 * import { runOne } from "../reports/recorder.ts";
 * const r = runOne({ scheme: "anon_vma", workload: "mremap-churn", params: { relocate: "relocate" } });
 * console.log(r.counters.vmas_final, r.counters.merge_failed_pgoff);
 * ```
 */
export const MREMAP_CHURN: Workload = {
  id: "mremap-churn",
  title: "mremap churn (realloc, ZGC-style defragmentation, hole-and-back)",
  description:
    "Processes move faulted anonymous memory with mremap: realloc-style growth beside blocking " +
    "mappings (grow in place fails, the buffer moves), ZGC-style heap compaction moves, and " +
    "hole-and-back moves that restore contiguity (reference §9, §12.5 E5). A moved faulted VMA " +
    "keeps its pgoff and anon_vma and rarely merges; MREMAP_RELOCATE_ANON (§10.2, optional) " +
    "re-indexes the folios so that it can. Reports VMA counts and failed merges by reason.",
  params: MREMAP_CHURN_PARAMS,
  setup(env: WorkloadEnv): void {
    const p = paramsOf(MREMAP_CHURN_PARAMS, env.params);
    const mode = p.relocate;
    const cfg: Config = {
      rounds: p.rounds,
      relocFlags: mode === "relocate"
        ? MREMAP_RELOCATE_ANON
        : mode === "must"
        ? MREMAP_MUST_RELOCATE_ANON
        : 0,
      weights: [p.reallocWeight, p.defragWeight, p.holeBackWeight],
      bufferPages: p.bufferPages,
      maxBufferPages: p.maxBufferPages,
      buffers: p.buffers,
      blockerProbability: p.blockerProbability,
      heapSlots: p.heapSlots,
      slotPages: p.slotPages,
      garbageFraction: p.garbageFraction,
      forkEvery: p.forkEvery,
      childLifeNs: p.childLifeNs,
      thinkNs: p.thinkNs,
    };
    if (cfg.bufferPages > cfg.maxBufferPages) {
      throw new RangeError(
        `mremap-churn parameter bufferPages (${cfg.bufferPages}) must not exceed maxBufferPages (${cfg.maxBufferPages})`,
      );
    }
    const stats: ChurnStats = { counts: {} };
    STATS.set(env, stats);
    for (let i = 0; i < p.processes; i++) {
      const rng = env.rng.fork(`mremap-churn:${i}`);
      env.addTask(`churn-${i}`, "user", processScript(env, cfg, rng, stats, i));
    }
  },
  finish(env: WorkloadEnv): void {
    const stats = STATS.get(env);
    if (!stats) return;
    const rows = tableRows(env, stats);
    env.table({
      title: "mremap-churn: VMAs and merges at the end",
      columns: ["figure", "value"],
      rows,
    });
    env.note(
      `End state: ${rows.slice(0, 3).map(([n, v]) => `${v} ${n}`).join(", ")}; failed merges: ${
        MERGE_FAIL_REASONS.map((r) => `${r} ${env.kernel.counters[`merge_failed_${r}`] ?? 0}`).join(
          ", ",
        )
      }`,
    );
  },
};
