/**
 * The `reflink-share` workload: heavy sharing in the spirit of reflinked container images. A
 * template process (a container's init or fork server) maps large image files MAP_PRIVATE, reads
 * them (page cache) and writes a share of their pages (relocated or patched data: CoW into anon
 * folios), faults an anonymous heap, then a wide and deep fork tree of workers inherits all of
 * it. Workers write very little (few CoW copies), so almost every anon folio stays in the
 * template's anon_vma and is mapped by every process of the tree: each walk of such a folio
 * visits one VMA per process (reference §8.2). Each worker also faults a small private region
 * of its own after forking its children.
 *
 * A walker kernel thread repeatedly picks the most-shared of a sample of the template's folios
 * and migrates them or ages them (`folio_referenced`), alternating, as compaction and proactive
 * reclaim do (§8.3); the recorder's daemons walk random folios besides. The page cache itself is
 * file rmap and outside this simulator's scope (§10.6 on reflinks sharing no page cache).
 *
 * This module is browser compatible: it imports only repository modules.
 *
 * @module
 */

import type { Kernel } from "../core/kernel/kernel.ts";
import {
  type Folio,
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

/** Where the template maps its image files (one-page gaps between files). */
const FILE_BASE = 0x7e0000000000;
/** Where the template maps its heap. */
const HEAP_BASE = 0x7d0000000000;
/** Where a worker maps its private region. */
const PRIVATE_BASE = 0x7c0000000000;
/** Poll period of a waiting task. */
const POLL_NS = 10_000;

const PARAMS = [
  {
    name: "files",
    kind: "int",
    default: 4,
    min: 0,
    max: 1024,
    unit: "files",
    description: "Image files the template maps MAP_PRIVATE (one VMA each).",
    source: "assumption: a few large image files (libraries, runtime, data)",
  },
  {
    name: "filePages",
    kind: "int",
    default: 128,
    min: 1,
    max: 1 << 22,
    unit: "pages",
    description: "Pages per image file.",
    source: "assumption (512 KiB per file, kept small for short runs; scale up for studies)",
  },
  {
    name: "fileReadFraction",
    kind: "float",
    default: 0.25,
    min: 0,
    max: 1,
    unit: "fraction",
    description: "Share of the file pages the template reads (page cache only).",
    source: "assumption",
  },
  {
    name: "fileWriteFraction",
    kind: "float",
    default: 0.1,
    min: 0,
    max: 1,
    unit: "fraction",
    description: "Share of the file pages the template writes (CoW into anon folios).",
    source: "assumption: relocated or patched data of a private file mapping",
  },
  {
    name: "heapPages",
    kind: "int",
    default: 256,
    min: 0,
    max: 1 << 22,
    unit: "pages",
    description: "Anonymous heap pages the template writes before forking.",
    source: "assumption (1 MiB, kept small for short runs)",
  },
  {
    name: "width",
    kind: "int",
    default: 4,
    min: 1,
    max: 1024,
    unit: "processes",
    description: "Children forked by each process above the last level.",
    source: "assumption: a wide tree of workers",
  },
  {
    name: "depth",
    kind: "int",
    default: 3,
    min: 1,
    max: 12,
    unit: "levels",
    description: "Levels of the fork tree below the template (width 4, depth 3: 85 processes).",
    source: "assumption: workers that fork helpers (deep sharing)",
  },
  {
    name: "cowFraction",
    kind: "float",
    default: 0.01,
    min: 0,
    max: 1,
    unit: "fraction",
    description: "Share of the inherited anon pages each worker writes (CoW copies).",
    source: "assumption: read-mostly sharing keeps folios in the template's anon_vma",
  },
  {
    name: "privatePages",
    kind: "int",
    default: 8,
    min: 0,
    max: 1 << 20,
    unit: "pages",
    description: "Pages of a private anonymous region each worker faults after forking.",
    source: "assumption",
  },
  {
    name: "walkRounds",
    kind: "int",
    default: 50,
    min: 0,
    max: 1_000_000,
    unit: "rounds",
    description: "Rounds of the walker thread once the tree is built.",
    source: "assumption",
  },
  {
    name: "walksPerRound",
    kind: "int",
    default: 8,
    min: 1,
    max: 4096,
    unit: "folios",
    description: "Most-shared folios walked per round (migrate and folio_referenced alternate).",
    source: "assumption (SWAP_CLUSTER_MAX is 32, §12.3 counts walks)",
  },
  {
    name: "walkSample",
    kind: "int",
    default: 32,
    min: 1,
    max: 1 << 20,
    unit: "folios",
    description: "Template folios sampled per round to find the most shared ones.",
    source: "assumption",
  },
  {
    name: "walkIntervalNs",
    kind: "int",
    default: 50_000,
    min: 0,
    max: 1e12,
    unit: "ns",
    description: "Pause between two walker rounds.",
    source: "assumption",
  },
  {
    name: "lifetimeNs",
    kind: "int",
    default: 200_000,
    min: 0,
    max: 1e12,
    unit: "ns",
    description: "Time workers stay alive after the walker finished, before exiting.",
    source: "assumption",
  },
  {
    name: "exitWorkers",
    kind: "bool",
    default: true,
    unit: "",
    description: "Whether workers exit at the end (false keeps the tree alive to the end).",
    source: "assumption",
  },
] as const satisfies readonly ParamSpec[];

/** A worker (or the template). */
interface Proc {
  mm: Mm;
  /** Randomness of this process, seeded by its path in the tree (independent of scheduling). */
  readonly rng: Random;
  /** Path in the tree ("t", "t.0", "t.0.1", ...). */
  readonly label: string;
  readonly level: number;
  readonly parent: Proc | null;
  liveChildren: number;
}

function mapcountOf(f: Folio): number {
  return f.totalMapcount();
}

function setup(env: WorkloadEnv): void {
  const k: Kernel = env.kernel;
  const p = paramsOf(PARAMS, env.params);
  const files = p.files;
  const filePages = p.filePages;
  const heapPages = p.heapPages;
  const width = p.width;
  const depth = p.depth;
  const privatePages = p.privatePages;
  const walkRounds = p.walkRounds;
  const walksPerRound = p.walksPerRound;
  const exitWorkers = p.exitWorkers;
  const fileStride = (filePages + 1) * PAGE_SIZE;
  /** Template pages holding anon folios (written file pages and heap), in address order. */
  const anonPages: number[] = [];
  let pendingBuild = 1;
  let walked = walkRounds === 0;

  function* waitUntil(pred: () => boolean): Generator<Step, void, void> {
    while (!pred()) yield { sleep: POLL_NS };
  }

  function* walker(template: Proc): TaskScript {
    const rng = env.rng.fork("walker");
    let migrate = true;
    for (let r = 0; r < walkRounds; r++) {
      if (r > 0) yield { sleep: p.walkIntervalNs };
      // The most shared of a sample of the template's anon folios.
      const seen = new Set<Folio>();
      const sample: Folio[] = [];
      const n = Math.min(p.walkSample, anonPages.length);
      for (let i = 0; i < n; i++) {
        const f = k.pte(template.mm, anonPages[rng.int(0, anonPages.length - 1)])?.folio;
        if (f && f.anon && !f.freed && !seen.has(f)) {
          seen.add(f);
          sample.push(f);
        }
      }
      sample.sort((a, b) => mapcountOf(b) - mapcountOf(a) || a.id - b.id);
      for (const f of sample.slice(0, walksPerRound)) {
        const m = migrate;
        migrate = !migrate;
        if (m) yield { op: "walk_migrate", run: () => void (!f.freed && k.migrateFolio(f)) };
        else yield { op: "walk_referenced", run: () => void (!f.freed && k.folioReferenced(f)) };
      }
    }
    walked = true;
  }

  const built = (template: Proc): void => {
    if (--pendingBuild === 0 && !walked) env.addTask("rmap-walker", "kthread", walker(template));
  };

  /** The step forking child `i` of `pr` and starting its script. */
  const forkWorker = (pr: Proc, i: number, template: Proc): Step => ({
    op: "fork",
    run: () => {
      const label = `${pr.label}.${i}`;
      const child: Proc = {
        mm: k.fork(pr.mm),
        rng: env.rng.fork(label),
        label,
        level: pr.level + 1,
        parent: pr,
        liveChildren: 0,
      };
      pr.liveChildren++;
      pendingBuild++;
      env.addTask(`worker-${label}`, "user", worker(child, template));
    },
  });

  function* worker(pr: Proc, template: Proc): TaskScript {
    const cow = pr.rng.shuffle(anonPages.slice()).slice(
      0,
      Math.round(anonPages.length * p.cowFraction),
    );
    for (const a of cow.sort((x, y) => x - y)) {
      yield { op: "fault", run: () => k.touch(pr.mm, a, "write") };
    }
    if (pr.level < depth) {
      for (let i = 0; i < width; i++) yield forkWorker(pr, i, template);
    }
    if (privatePages > 0) {
      const len = privatePages * PAGE_SIZE;
      yield {
        op: "mmap",
        run: () =>
          void k.mmap(
            pr.mm,
            PRIVATE_BASE,
            len,
            PROT_READ | PROT_WRITE,
            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
          ),
      };
      for (let i = 0; i < privatePages; i++) {
        const a = PRIVATE_BASE + i * PAGE_SIZE;
        yield { op: "fault", run: () => k.touch(pr.mm, a, "write") };
      }
    }
    built(template);
    yield* waitUntil(() => walked);
    if (!exitWorkers) return;
    yield { sleep: p.lifetimeNs };
    yield* waitUntil(() => pr.liveChildren === 0);
    yield {
      op: "exit",
      run: () => {
        k.exit(pr.mm);
        pr.parent!.liveChildren--;
      },
    };
  }

  env.addTask(
    "template",
    "user",
    (function* (): TaskScript {
      const t: Proc = {
        mm: null as unknown as Mm,
        rng: env.rng.fork("t"),
        label: "t",
        level: 0,
        parent: null,
        liveChildren: 0,
      };
      yield { op: "execve", run: () => t.mm = k.spawn() };
      const read = Math.round(filePages * p.fileReadFraction);
      const write = Math.round(filePages * p.fileWriteFraction);
      for (let f = 0; f < files; f++) {
        const file = k.createFile(`image${f}.img`, filePages);
        const base = FILE_BASE + f * fileStride;
        yield {
          op: "mmap",
          run: () =>
            void k.mmap(
              t.mm,
              base,
              filePages * PAGE_SIZE,
              PROT_READ | PROT_WRITE,
              MAP_PRIVATE | MAP_FIXED_NOREPLACE,
              file,
              0,
            ),
        };
        const pages = t.rng.shuffle([...Array(filePages).keys()]);
        const written = pages.slice(0, write).sort((a, b) => a - b);
        const readOnly = pages.slice(write, write + Math.max(0, read - write)).sort((a, b) =>
          a - b
        );
        for (const i of readOnly) {
          yield { op: "fault", run: () => k.touch(t.mm, base + i * PAGE_SIZE, "read") };
        }
        for (const i of written) {
          const a = base + i * PAGE_SIZE;
          anonPages.push(a);
          yield { op: "fault", run: () => k.touch(t.mm, a, "write") };
        }
      }
      if (heapPages > 0) {
        yield {
          op: "mmap",
          run: () =>
            void k.mmap(
              t.mm,
              HEAP_BASE,
              heapPages * PAGE_SIZE,
              PROT_READ | PROT_WRITE,
              MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
            ),
        };
        for (let i = 0; i < heapPages; i++) {
          const a = HEAP_BASE + i * PAGE_SIZE;
          anonPages.push(a);
          yield { op: "fault", run: () => k.touch(t.mm, a, "write") };
        }
      }
      for (let i = 0; i < width; i++) yield forkWorker(t, i, t);
      built(t);
      yield* waitUntil(() => walked);
      if (exitWorkers) yield* waitUntil(() => t.liveChildren === 0);
    })(),
  );
}

/**
 * Peak live objects (see `estimate.ts`): the template's file pages read or written and its heap,
 * mapped again by every worker of the width^1 + ... + width^depth tree (read and written file
 * pages and heap PTEs are copied at fork), each worker's CoW copies and private region, and d + 1
 * AVCs per VMA at depth d.
 */
function estimate(params: Readonly<Record<string, ParamValue>>): MemoryEstimate {
  const p = paramsOf(PARAMS, params);
  const files = p.files, filePages = p.filePages;
  const read = Math.round(filePages * p.fileReadFraction);
  const write = Math.round(filePages * p.fileWriteFraction);
  const anon = files * write + p.heapPages;
  const mapped = files * Math.max(read, write) + p.heapPages;
  let procs = 0, depthSum = 0;
  for (let d = 1, n = 1; d <= p.depth; d++) {
    n *= p.width;
    procs += n;
    depthSum += n * d;
  }
  const privatePages = p.privatePages;
  const cow = Math.round(anon * p.cowFraction);
  const vmasPerProc = files + 2;
  return {
    objects: {
      vmas: vmasPerProc * (1 + procs),
      ptes: mapped * (1 + procs) + privatePages * procs,
      folios: anon + files * read + (cow + privatePages) * procs,
      avcs: vmasPerProc * (1 + procs + depthSum),
      // The template's anon page list, one shuffled copy per worker, and file page lists.
      workloadBytes: 8 * (anon * 2 + filePages + cow * procs),
    },
    drivers: ["width", "depth", "files", "filePages", "heapPages"],
  };
}

/**
 * The `reflink-share` workload: private file mappings and an anon heap of a template process
 * shared across a wide and deep fork tree with few CoW writes, and walks over the most-shared
 * folios.
 *
 * @example Usage
 * ```ts ignore
 * import { runOne } from "../runner/recorder.ts";
 * const r = runOne({ scheme: "anon_vma", workload: "reflink-share", seed: 1 });
 * console.log(r.walks.migrate.visits.mean);
 * ```
 */
export const REFLINK_SHARE: Workload = {
  id: "reflink-share",
  title: "Shared container image (private file mappings and heap across a fork tree)",
  description: "A template process maps image files MAP_PRIVATE (reads them, writes a share: " +
    "CoW into anon folios) and faults an anon heap; a wide and deep fork tree of workers " +
    "inherits it and writes little, so folios stay in the template's anon_vma, mapped by every " +
    "process. A walker migrates and ages the most-shared folios (§8.2, §8.3).",
  params: PARAMS,
  setup,
  estimate,
};
