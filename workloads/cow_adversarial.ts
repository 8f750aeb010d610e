/**
 * The `cow-adversarial` workload: seeks the worst case of the CoW-context design (reference
 * §10.4) so that a sweep shows rmap walk cost against the depth and width of the fork tree and
 * the number of remaps in each process — the costs questioned on the list: a walk of a folio
 * traverses its context and every descendant context (wangtao in the ANON_VMA_LAZY thread: nested
 * loops over descendants and their remap entries), and in each one looks up every distinct remap
 * offset recorded over the folio's pgoff.
 *
 * Shape (every figure a parameter):
 * 1. A root process maps `regionPages` anonymous pages at a fixed address and writes them all:
 *    the shared folios, pointing at the root's anon_vma / context.
 * 2. A fork tree of `depth` levels below the root, `width` children per process (breadth-first,
 *    so children lists are in fork order).
 * 3. Each child, right after it was forked and before it forks its own children:
 *    - unmaps the fresh memory it inherited from its parent's remap rounds (so each process
 *      holds only its own rounds: at most `remaps` + 1 offsets over one pgoff range);
 *    - optionally moves its inherited copy of the region (`moveInherited`: mremap to an address of
 *      its own; the shared folios are then found through its remap table);
 *    - writes a share of the inherited pages (`cowFraction`: CoW copies, which both schemes then
 *      visit uselessly for the original folio);
 *    - performs `remaps` rounds of "map fresh memory, write its first page, move it away". With
 *      `remapTarget: "folio"` the fresh memory is mapped at the region's own address (its inherited
 *      copy is moved away first), so every round adds one more offset over the shared folios'
 *      pgoffs in this process's remap table — every walk of a shared folio then looks each of them
 *      up and visits one useless candidate per round (the Q5 "same range" case). With
 *      `"distinct"` the fresh memory has pgoffs of its own: the table grows but walks of the
 *      shared folios do not read those entries. Under anon_vma each fresh VMA has an anon_vma of
 *      its own, unrelated to the shared folios.
 * 4. A walker kernel thread migrates `walks` shared folios (chosen at random from the root's
 *    region): full `try_to_migrate` walks.
 * 5. Processes exit leaves first (`exitAtEnd`), so contexts are freed by the cascade.
 *
 * The operations run in one task in a fixed order, so figures depend only on the parameters and
 * the seed (which only picks the CoW'd pages and the walked folios).
 *
 * This module is browser compatible: it imports only repository modules.
 *
 * @module
 */

import type { Kernel } from "../core/kernel/kernel.ts";
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  type Mm,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
} from "../core/kernel/types.ts";
import {
  ParamError,
  paramsOf,
  type ParamSpec,
  type TaskScript,
  type Workload,
  type WorkloadEnv,
} from "./workload.ts";

/** Address of the shared region in the root (and of the inherited copies). */
const REGION = 0x100000000;
/** Base of the addresses each process moves memory to (one slot per process and round). */
const MOVE_BASE = 0x200000000;
/** Base of the fresh memory of `remapTarget: "distinct"` rounds (per process, like the moves). */
const DISTINCT_BASE = 0x400000000000;
/** End of the address layout (below the default stack and mmap base). */
const TOP = 0x7f0000000000;

const PARAMS = [
  {
    name: "depth",
    kind: "int",
    default: 3,
    min: 0,
    max: 10,
    unit: "levels",
    description: "Levels of the fork tree below the root process.",
    source: "assumption: adversarial (deep trees lengthen every walk of a root folio)",
  },
  {
    name: "width",
    kind: "int",
    default: 3,
    min: 1,
    max: 64,
    unit: "processes",
    description: "Children forked by each process above the last level (3 and 3: 40 processes).",
    source: "assumption: adversarial (wide trees lengthen every walk of a root folio)",
  },
  {
    name: "regionPages",
    kind: "int",
    default: 16,
    min: 1,
    max: 1 << 16,
    unit: "pages",
    description: "Anonymous pages the root writes before forking: the shared folios.",
    source: "assumption",
  },
  {
    name: "moveInherited",
    kind: "bool",
    default: true,
    unit: "",
    description:
      "Each child moves its inherited copy of the region away (mremap) before anything else.",
    source: "assumption: adversarial (shared folios then found through remap tables)",
  },
  {
    name: "cowFraction",
    kind: "float",
    default: 0.25,
    min: 0,
    max: 1,
    unit: "fraction",
    description: "Share of the inherited pages each child writes (CoW copies).",
    source: "assumption",
  },
  {
    name: "remaps",
    kind: "int",
    default: 4,
    min: 0,
    max: 63,
    unit: "remaps per process",
    description: "Rounds of map-fresh-memory, write, move-away in each child.",
    source: "assumption: adversarial (at most 63 so that with the moved copy a remap entry " +
      "holds at most 64 offsets, the largest array the model accounts)",
  },
  {
    name: "remapTarget",
    kind: "enum",
    default: "folio",
    choices: ["folio", "distinct"],
    unit: "",
    description:
      "Where the fresh memory of a remap round is mapped: at the region's address (offsets " +
      "over the shared folios' pgoffs; implies moving the inherited copy) or at addresses of " +
      "its own (pgoffs no shared folio has).",
    source: "assumption: adversarial",
  },
  {
    name: "walks",
    kind: "int",
    default: 32,
    min: 0,
    max: 1_000_000,
    unit: "walks",
    description: "Shared folios migrated (full try_to_migrate walks) once the tree is built.",
    source: "assumption",
  },
  {
    name: "exitAtEnd",
    kind: "bool",
    default: true,
    unit: "",
    description: "Whether processes exit at the end, leaves first.",
    source: "assumption",
  },
] as const satisfies readonly ParamSpec[];

/** Processes of a tree of `depth` levels below one root, `width` children each. */
export function adversarialProcesses(depth: number, width: number): number {
  let n = 1, level = 1;
  for (let d = 0; d < depth; d++) {
    level *= width;
    n += level;
  }
  return n;
}

/** A process of the tree: its mm, where its copy of the region lives, its move-area base. */
interface Proc {
  mm: Mm;
  home: number;
  base: number;
}

function setup(env: WorkloadEnv): void {
  const k: Kernel = env.kernel;
  const p = paramsOf(PARAMS, env.params);
  const depth = p.depth;
  const width = p.width;
  const pages = p.regionPages;
  const remaps = p.remaps;
  const target = p.remapTarget;
  const move = p.moveInherited || (target === "folio" && remaps > 0);
  const len = pages * PAGE_SIZE;
  const RW = PROT_READ | PROT_WRITE;
  const ANON_FIXED = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
  const MOVE = MREMAP_MAYMOVE | MREMAP_FIXED;
  /** Bytes per process in the move area: the moved copy and one per round, a page apart. */
  const step = len + PAGE_SIZE;
  const slot = (remaps + 1) * step;
  const processes = adversarialProcesses(depth, width);
  if (MOVE_BASE + processes * slot > DISTINCT_BASE || DISTINCT_BASE + processes * slot > TOP) {
    throw new ParamError(
      `cow-adversarial: ${processes} processes × ${remaps + 1} regions of ${pages} pages do not ` +
        `fit the address layout; lower depth, width, remaps or regionPages`,
    );
  }
  env.note(
    `${processes} processes (depth ${depth}, width ${width}); ${pages} shared pages; ` +
      `${remaps} remap round(s) per child at ${target === "folio" ? "the region's" : "own"} ` +
      `addresses; inherited copy ${move ? "moved" : "kept in place"}.`,
  );

  env.addTask(
    "builder",
    "user",
    (function* (): TaskScript {
      const rng = env.rng.fork("builder");
      const root: Proc = { mm: null as unknown as Mm, home: REGION, base: MOVE_BASE };
      yield { op: "execve", run: () => root.mm = k.spawn() };
      yield { op: "mmap", run: () => void k.mmap(root.mm, REGION, len, RW, ANON_FIXED) };
      for (let i = 0; i < pages; i++) {
        yield { op: "fault", run: () => k.touch(root.mm, REGION + i * PAGE_SIZE, "write") };
      }
      // Breadth-first: every process of a level forks its children before the next level.
      const all: Proc[] = [root];
      let level: Proc[] = [root];
      let index = 0; // process number: its slot in the move area
      for (let d = 0; d < depth; d++) {
        const next: Proc[] = [];
        for (const parent of level) {
          for (let c = 0; c < width; c++) {
            index++;
            const child: Proc = {
              mm: null as unknown as Mm,
              home: parent.home,
              base: MOVE_BASE + index * slot,
            };
            yield { op: "fork", run: () => child.mm = k.fork(parent.mm) };
            next.push(child);
            all.push(child);
            // The fresh memory the parent remapped is discarded: each process holds only its
            // own rounds (at most remaps + 1 offsets over one pgoff range).
            if (parent !== root) {
              for (let r = 1; r <= remaps; r++) {
                const at = parent.base + r * step;
                yield { op: "munmap", run: () => k.munmap(child.mm, at, len) };
              }
            }
            if (move) {
              const from = child.home;
              yield {
                op: "mremap",
                run: () => void k.mremap(child.mm, from, len, len, MOVE, child.base),
              };
              child.home = child.base;
            }
            const cow = Math.round(pages * p.cowFraction);
            const written = rng.shuffle([...Array(pages).keys()]).slice(0, cow);
            for (const i of written.sort((a, b) => a - b)) {
              const a = child.home + i * PAGE_SIZE;
              yield { op: "fault", run: () => k.touch(child.mm, a, "write") };
            }
            for (let r = 1; r <= remaps; r++) {
              const at = target === "folio" ? REGION : DISTINCT_BASE + index * slot + r * step;
              const to = child.base + r * step;
              yield { op: "mmap", run: () => void k.mmap(child.mm, at, len, RW, ANON_FIXED) };
              yield { op: "fault", run: () => k.touch(child.mm, at, "write") };
              yield { op: "mremap", run: () => void k.mremap(child.mm, at, len, len, MOVE, to) };
            }
          }
        }
        level = next;
      }
      const exits = function* (): TaskScript {
        if (!p.exitAtEnd) return;
        for (const pr of all.reverse()) yield { op: "exit", run: () => k.exit(pr.mm) };
      };
      const walks = p.walks;
      if (walks === 0) {
        yield* exits();
        return;
      }
      env.addTask(
        "rmap-walker",
        "kthread",
        (function* (): TaskScript {
          const wrng = env.rng.fork("walker");
          for (let w = 0; w < walks; w++) {
            const addr = REGION + wrng.int(0, pages - 1) * PAGE_SIZE;
            yield {
              op: "walk_migrate",
              run: () => {
                const f = k.pte(root.mm, addr)?.folio;
                if (f && f.anon && !f.freed) k.migrateFolio(f);
              },
            };
          }
          yield* exits();
        })(),
      );
    })(),
  );
}

/**
 * The `cow-adversarial` workload: deep and wide fork trees, shared folios and many remaps, the
 * CoW-context design's worst case, for sweeps of walk cost against depth, width and remaps.
 *
 * @example Usage
 * ```ts ignore
 * import { runOne } from "../runner/recorder.ts";
 * const r = runOne({ scheme: "cow_context", workload: "cow-adversarial", seed: 1 });
 * console.log(r.walks.migrate.visits.mean);
 * ```
 */
export const COW_ADVERSARIAL: Workload = {
  id: "cow-adversarial",
  title: "CoW-context worst case (deep and wide fork tree, shared folios, many remaps)",
  description: "A root process writes a shared region and a breadth-first fork tree of depth × " +
    "width children inherits it; each child moves its copy, CoWs a share of it and remaps fresh " +
    "memory over the same pgoffs (or elsewhere), so every walk of a shared folio traverses every " +
    "descendant context and looks up every remap offset over the folio (§10.4). A walker " +
    "migrates shared folios; processes exit leaves first.",
  params: PARAMS,
  setup,
};
