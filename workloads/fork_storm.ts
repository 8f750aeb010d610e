/**
 * The `fork-storm` workload family: a root process faults anonymous regions, then builds a
 * process hierarchy by `fork()` in one of four shapes, and every forked process writes (CoW) a
 * share of the inherited pages:
 *
 * - `breadth`: one parent, N children (the zygote fan-out of reference §12.5 E3: 1 + N anon_vmas
 *   and 1 + 2N AVCs per faulted region).
 * - `tree`: every process above the last level forks 1..fan-out children, like the kernel's
 *   `tools/testing/selftests/mm/rmap.c` (`TOTAL_LEVEL` 5, `MAX_CHILDREN` 3, `rand() %
 *   MAX_CHILDREN + 1` children per node). A depth-d process has d + 1 AVCs per region (§3.3).
 * - `chain`: a live chain of generations (each forks one child and stays alive), so chains grow by
 *   one AVC per generation (§3.3, "Depth-d descendants therefore have d+1 AVCs").
 * - `chain-exit`: each generation exits right after forking the next (the daemonising "fork,
 *   parent exits, child forks" pattern), which the anon_vma reuse rule of §3.3 keeps bounded at
 *   three AVCs per VMA (§12.5 E4).
 *
 * Once the whole hierarchy of a round is built, a probe kernel thread migrates a few of the
 * root's folios (two full rmap walks each) so walks over the built hierarchy are measured
 * deterministically; the recorder's reclaim and migration daemons walk random folios throughout.
 * Then the processes live for a while and exit (children before parents in `tree` and `chain`).
 *
 * This module is browser compatible: it imports only repository modules.
 *
 * @module
 */

import type { Kernel } from "../core/kernel/kernel.ts";
import {
  MAP_ANONYMOUS,
  MAP_FIXED_NOREPLACE,
  MAP_PRIVATE,
  type Mm,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
} from "../core/kernel/types.ts";
import type { Random } from "../core/lib/random.ts";
import {
  paramsOf,
  type ParamSpec,
  type ParamValue,
  type Step,
  type TaskScript,
  type Workload,
  type WorkloadEnv,
} from "./workload.ts";
import type { MemoryEstimate } from "./estimate.ts";

/** Base address of the root's first region (regions follow upwards, one-page gaps between). */
const REGION_BASE = 0x10000000;
/** Poll period of a process waiting for another one (parent exit, children exit, probe). */
const POLL_NS = 5_000;

/**
 * The fork shapes of {@link FORK_STORM}.
 *
 * @example Usage
 * ```ts
 * import { FORK_STORM_MODES } from "./fork_storm.ts";
 * if (!FORK_STORM_MODES.includes("chain-exit")) throw new Error();
 * ```
 */
export const FORK_STORM_MODES: readonly string[] = ["breadth", "tree", "chain", "chain-exit"];

const PARAMS = [
  {
    name: "mode",
    kind: "enum",
    default: "tree",
    choices: FORK_STORM_MODES,
    unit: "",
    description: "Shape of the process hierarchy: breadth, tree, chain (live) or chain-exit.",
    source: "tools/testing/selftests/mm/rmap.c builds a tree; reference §3.3, §12.5 E3/E4",
  },
  {
    name: "children",
    kind: "int",
    default: 32,
    min: 1,
    max: 4096,
    unit: "processes",
    description: "Children the root forks per round in breadth mode.",
    source: "assumption: a zygote-like fan-out of a few dozen live children (§12.5 E3)",
    appliesWhen: { param: "mode", values: ["breadth"] },
  },
  {
    name: "depth",
    kind: "int",
    default: 5,
    min: 1,
    max: 12,
    unit: "levels",
    description: "Levels below the root in tree mode.",
    source: "selftests/mm/rmap.c TOTAL_LEVEL = 5",
    appliesWhen: { param: "mode", values: ["tree"] },
  },
  {
    name: "fanout",
    kind: "int",
    default: 3,
    min: 1,
    max: 16,
    unit: "processes",
    description: "Largest number of children per process in tree mode.",
    source: "selftests/mm/rmap.c MAX_CHILDREN = 3",
    appliesWhen: { param: "mode", values: ["tree"] },
  },
  {
    name: "fanoutRandom",
    kind: "bool",
    default: true,
    unit: "",
    description: "Tree mode: each process forks a random 1..fanout children (else exactly fanout).",
    source: "selftests/mm/rmap.c forks rand() % MAX_CHILDREN + 1 children per node",
    appliesWhen: { param: "mode", values: ["tree"] },
  },
  {
    name: "generations",
    kind: "int",
    default: 16,
    min: 1,
    max: 4096,
    unit: "processes",
    description: "Forked generations after the root in chain and chain-exit modes.",
    source: "assumption: well past the third generation where the reuse rule settles (§12.5 E4)",
    appliesWhen: { param: "mode", values: ["chain", "chain-exit"] },
  },
  {
    name: "regions",
    kind: "int",
    default: 8,
    min: 1,
    max: 4096,
    unit: "VMAs",
    description: "Anonymous regions the root maps (separately, so they stay distinct VMAs).",
    source: "assumption: a few faulted heap regions",
  },
  {
    name: "pages",
    kind: "int",
    default: 32,
    min: 1,
    max: 1 << 20,
    unit: "pages",
    description: "Pages per region; the root writes every page before forking.",
    source: "assumption: small regions keep the default run short",
  },
  {
    name: "cowFraction",
    kind: "float",
    default: 0.25,
    min: 0,
    max: 1,
    unit: "fraction",
    description: "Share of the inherited pages each forked process writes (CoW copies).",
    source: "assumption: most inherited memory stays shared (≈98 % of Android anon folios " +
      "exclusive is a different measure, §10.5)",
  },
  {
    name: "childLifetimeNs",
    kind: "int",
    default: 200_000,
    min: 0,
    max: 1e12,
    unit: "ns",
    description: "Time a forked process sleeps after its hierarchy is built, before exiting.",
    source: "assumption: short-lived workers, compressed so daemons walk a live hierarchy",
  },
  {
    name: "exitChildren",
    kind: "bool",
    default: true,
    unit: "",
    description: "Whether forked processes exit (false keeps them alive to the end of the run).",
    source: "assumption",
  },
  {
    name: "rounds",
    kind: "int",
    default: 4,
    min: 1,
    max: 10_000,
    unit: "rounds",
    description: "Times the root builds (and, with exitChildren, tears down) the hierarchy.",
    source: "assumption: repeated storms exercise fork and exit against the daemons",
  },
  {
    name: "forkIntervalNs",
    kind: "int",
    default: 5_000,
    min: 0,
    max: 1e12,
    unit: "ns",
    description: "Pause between two forks by the same process.",
    source: "assumption",
  },
  {
    name: "probeWalks",
    kind: "int",
    default: 16,
    min: 0,
    max: 1_000_000,
    unit: "folios",
    description: "Root folios migrated (two rmap walks each) by a probe once a round is built.",
    source: "assumption: a compaction pass over the most shared folios (§8.3)",
  },
] as const satisfies readonly ParamSpec[];

/** A process of the storm. */
interface Proc {
  readonly mm: Mm;
  /** Path in the hierarchy ("r0", "r0.2", "r0.2.1", ...): seeds this process's choices. */
  label: string;
  /** This process's randomness, independent of scheduling (so every scheme sees one workload). */
  rng: Random;
  readonly level: number;
  readonly parent: Proc | null;
  liveChildren: number;
  exited: boolean;
}

/** State of one round. */
interface Round {
  /** Processes started but not yet done with writes and forks. */
  pendingBuild: number;
  /** True once the probe finished (or was not needed). */
  probed: boolean;
  /** Forked processes of this round still alive. */
  alive: number;
}

function* waitUntil(pred: () => boolean): Generator<Step, void, void> {
  while (!pred()) yield { sleep: POLL_NS };
}

function* exitProc(k: Kernel, proc: Proc, round: Round): Generator<Step, void, void> {
  yield {
    op: "exit",
    run: () => {
      k.exit(proc.mm);
      proc.exited = true;
      if (proc.parent) proc.parent.liveChildren--;
      round.alive--;
    },
  };
}

function setup(env: WorkloadEnv): void {
  const k = env.kernel;
  const p = paramsOf(PARAMS, env.params);
  const mode = p.mode;
  const regions = p.regions;
  const pages = p.pages;
  const cowPages = Math.round(p.cowFraction * regions * pages);
  const lifetime = p.childLifetimeNs;
  const exitChildren = p.exitChildren;
  const forkInterval = p.forkIntervalNs;
  const probeWalks = p.probeWalks;
  const addrs: number[] = [];
  for (let r = 0; r < regions; r++) {
    const base = REGION_BASE + r * (pages + 1) * PAGE_SIZE;
    for (let i = 0; i < pages; i++) addrs.push(base + i * PAGE_SIZE);
  }
  let nextName = 1;

  const childrenAt = (level: number, rng: Random): number => {
    switch (mode) {
      case "breadth":
        return level === 0 ? p.children : 0;
      case "tree": {
        if (level >= p.depth) return 0;
        const f = p.fanout;
        return p.fanoutRandom ? rng.int(1, f) : f;
      }
      default:
        return level < p.generations ? 1 : 0;
    }
  };

  function* probe(root: Proc, round: Round): TaskScript {
    const rng = env.rng.fork(`probe-${root.label}`);
    for (let i = 0; i < probeWalks; i++) {
      const addr = addrs[rng.int(0, addrs.length - 1)];
      yield {
        op: "walk_migrate",
        run: () => {
          const f = k.pte(root.mm, addr)?.folio;
          if (f && f.anon && !f.freed) k.migrateFolio(f);
        },
      };
    }
    round.probed = true;
  }

  const built = (root: Proc, round: Round): void => {
    if (--round.pendingBuild > 0) return;
    if (probeWalks === 0) round.probed = true;
    else env.addTask("rmap-probe", "kthread", probe(root, round));
  };

  /** Writes, forks, and (for forked processes) lives and exits. */
  function* member(proc: Proc, root: Proc, round: Round): Generator<Step, void, void> {
    if (proc.level > 0) {
      if (mode === "chain-exit" && proc.parent !== root) {
        // "fork, parent exits, child forks" (§3.3): wait for the parent's exit.
        yield* waitUntil(() => proc.parent!.exited);
      }
      const mine = proc.rng.shuffle(addrs.slice()).slice(0, cowPages).sort((a, b) => a - b);
      for (const a of mine) yield { op: "fault", run: () => k.touch(proc.mm, a, "write") };
    }
    const n = childrenAt(proc.level, proc.rng);
    for (let i = 0; i < n; i++) {
      if (i > 0 && forkInterval > 0) yield { sleep: forkInterval };
      yield {
        op: "fork",
        run: () => {
          const label = `${proc.label}.${i}`;
          const child: Proc = {
            mm: k.fork(proc.mm),
            label,
            rng: env.rng.fork(label),
            level: proc.level + 1,
            parent: proc,
            liveChildren: 0,
            exited: false,
          };
          proc.liveChildren++;
          round.pendingBuild++;
          round.alive++;
          env.addTask(`p${nextName++}`, "user", member(child, root, round));
        },
      };
    }
    built(root, round);
    if (proc.level === 0) return;
    if (mode === "chain-exit" && n > 0) {
      yield* exitProc(k, proc, round);
      return;
    }
    yield* waitUntil(() => round.probed);
    if (lifetime > 0) yield { sleep: lifetime };
    if (!exitChildren) return;
    // Parents outlive their children (rmap.c waits for its children).
    yield* waitUntil(() => proc.liveChildren === 0);
    yield* exitProc(k, proc, round);
  }

  env.addTask(
    "storm-root",
    "user",
    (function* (): TaskScript {
      const spawned: { mm?: Mm } = {};
      yield { op: "execve", run: () => spawned.mm = k.spawn() };
      const root: Proc = {
        mm: spawned.mm!,
        label: "r0",
        rng: env.rng.fork("r0"),
        level: 0,
        parent: null,
        liveChildren: 0,
        exited: false,
      };
      for (let r = 0; r < regions; r++) {
        const base = addrs[r * pages];
        yield {
          op: "mmap",
          run: () =>
            void k.mmap(
              root.mm,
              base,
              pages * PAGE_SIZE,
              PROT_READ | PROT_WRITE,
              MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
            ),
        };
      }
      for (const a of addrs) yield { op: "fault", run: () => k.touch(root.mm, a, "write") };
      const rounds = p.rounds;
      for (let i = 0; i < rounds; i++) {
        const round: Round = { pendingBuild: 1, probed: false, alive: 0 };
        root.label = `r${i}`;
        root.rng = env.rng.fork(root.label);
        yield* member(root, root, round);
        yield* waitUntil(() => round.probed);
        if (exitChildren) yield* waitUntil(() => round.alive === 0);
      }
    })(),
  );
}

/**
 * Peak live objects of a storm (see `estimate.ts`): the root's regions × pages faulted pages,
 * plus, per live forked process, a copy of every VMA and PTE, its CoW folios and its AVCs (two
 * per region in breadth mode, d + 1 at depth d in a tree or live chain, at most three in an
 * exiting chain). Random tree fan-outs count at their mean. Without `exitChildren`, every
 * round's processes stay alive.
 */
function estimate(params: Readonly<Record<string, ParamValue>>): MemoryEstimate {
  const p = paramsOf(PARAMS, params);
  const mode = p.mode;
  const regions = p.regions;
  const pages = regions * p.pages;
  const cow = Math.round(p.cowFraction * pages);
  // Forked processes alive at once in one round, and their summed depths.
  let procs = 0, depthSum = 0;
  const drivers = ["regions", "pages"];
  if (mode === "breadth") {
    procs = p.children;
    depthSum = procs;
    drivers.push("children");
  } else if (mode === "tree") {
    const f = p.fanoutRandom ? (p.fanout + 1) / 2 : p.fanout;
    for (let d = 1, n = 1; d <= p.depth; d++) {
      n *= f;
      procs += n;
      depthSum += n * d;
    }
    drivers.push("depth", "fanout");
  } else if (mode === "chain") {
    procs = p.generations;
    depthSum = procs * (procs + 1) / 2;
    drivers.push("generations");
  } else {
    procs = Math.min(2, p.generations);
    depthSum = procs * 2;
  }
  const live = p.exitChildren ? procs : procs * p.rounds;
  const liveDepths = p.exitChildren ? depthSum : depthSum * p.rounds;
  if (!p.exitChildren) drivers.push("rounds");
  return {
    objects: {
      vmas: regions * (1 + live),
      ptes: pages * (1 + live),
      folios: pages + cow * live,
      avcs: regions * (1 + live + liveDepths),
      // The address list, one shuffled copy per process building, and each CoW page list.
      workloadBytes: 8 * (2 * pages + cow * live),
    },
    drivers,
  };
}

/**
 * The `fork-storm` workload: breadth, tree, live-chain and exiting-chain fork hierarchies over
 * faulted anonymous regions, with CoW writes.
 *
 * @example Usage
 * ```ts ignore
 * import { runOne } from "../runner/recorder.ts";
 * const r = runOne({ scheme: "anon_vma", workload: "fork-storm",
 *   params: { mode: "breadth", children: 3, regions: 2, pages: 4 } });
 * console.log(r.slab.final.objects.anon_vma);
 * ```
 */
export const FORK_STORM: Workload = {
  id: "fork-storm",
  title: "Fork storm (breadth, tree, chain, exiting chain)",
  description: "A root process faults anonymous regions and builds a fork hierarchy: one parent " +
    "with N children (zygote fan-out, §12.5 E3), a random tree of depth 5 and up to 3 children " +
    "per node (selftests/mm/rmap.c), a live chain (d + 1 AVCs at depth d, §3.3), or a chain " +
    "whose generations exit after forking (bounded by the anon_vma reuse rule, §12.5 E4). " +
    "Forked processes write a share of the inherited pages; a probe migrates root folios once " +
    "the hierarchy is built.",
  params: PARAMS,
  setup,
  estimate,
};
