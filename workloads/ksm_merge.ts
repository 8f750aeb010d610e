/**
 * The `ksm-merge` workload: kernel samepage merging under each scheme, the case where a folio's
 * reverse map is not its anon_vma's (or context's) tree but KSM's stable node and its rmap items
 * (`rmap_walk_ksm`; core/kernel/ksm_rmap.ts after mm/ksm.c, and the README's KSM section), so that the report shows what each design pays to find the
 * mappings of a merged page and what KSM's rmap items keep alive.
 *
 * Shape (every figure a parameter):
 * 1. `guests` processes (the memory of virtual machines, or of containers, which is what KSM is
 *    used for: QEMU marks guest RAM MADV_MERGEABLE) each map `guestPages` anonymous pages, mark
 *    them MADV_MERGEABLE and write every page: a share `duplicateFraction` of the pages gets one
 *    of `sharedContents` contents that every guest may hold (the pages KSM can merge), the rest
 *    unique content.
 * 2. Each guest forks `children` children once its memory is written (a forking server, or a
 *    guest's helper processes): their PTEs share the guest's folios, KSM registers their mms too
 *    (`ksm_fork`), and `rmap_walk_ksm` reaches their mappings of a merged page only through
 *    `search_new_forks` (its second pass) until ksmd scans them.
 * 3. ksmd runs as a kernel thread (runner/ksmd.ts, `pages_to_scan` 100 every `sleep_millisecs` 20
 *    by default: the kernel parameters `ksmPagesToScan`, `ksmSleepMillisecs`) while the guests
 *    live.
 * 4. The guests live `rounds` rounds of `roundMs` each; in every round each guest writes
 *    `writesPerRound` random pages of its memory (each with a shared content with probability
 *    `duplicateFraction`, else unique): writes to merged pages break them (a CoW fault of a KSM
 *    page), and pages given a shared content merge again two full scans later.
 * 5. The machine's kswapd ages folios of the LRU meanwhile (`folio_referenced`, oracle-checked
 *    like every walk): a merged folio's walk is `rmap_walk_ksm`, any other the scheme's own.
 * 6. The guests and their children exit at the end, children first.
 *
 * What merges is decided by ksmd's scan order and the contents alone (ksm.ts); the seed picks
 * the contents and the pages written and walked.
 *
 * This module is browser compatible: it imports only repository modules.
 *
 * @module
 */

import type { Kernel } from "../core/kernel/kernel.ts";
import {
  MADV_MERGEABLE,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  type Mm,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
} from "../core/kernel/types.ts";
import type { MemoryEstimate } from "./estimate.ts";
import {
  paramsOf,
  type ParamSpec,
  type ParamValue,
  type TaskScript,
  type Workload,
  type WorkloadEnv,
} from "./workload.ts";

/** Address of each guest's memory (one VMA per guest, each guest in its own mm). */
const GUEST_BASE = 0x100000000;

const PARAMS = [
  {
    name: "guests",
    kind: "int",
    default: 8,
    min: 1,
    max: 256,
    unit: "processes",
    description: "Processes whose memory is mergeable (virtual machines or containers).",
    source: "assumption: a small host of guests",
  },
  {
    name: "guestPages",
    kind: "int",
    default: 32,
    min: 1,
    max: 1 << 18,
    unit: "pages",
    description: "Anonymous pages each guest maps MADV_MERGEABLE and writes.",
    source: "assumption: scaled down so that two full ksmd scans fit a short run",
  },
  {
    name: "duplicateFraction",
    kind: "float",
    default: 0.5,
    min: 0,
    max: 1,
    unit: "fraction",
    description: "Share of the pages written with a content other guests may hold (mergeable).",
    source: "assumption: how much of a guest's memory is duplicate depends on its software",
  },
  {
    name: "sharedContents",
    kind: "int",
    default: 32,
    min: 1,
    max: 1 << 20,
    unit: "contents",
    description: "Distinct contents the duplicate pages are drawn from (each one KSM page).",
    source: "assumption",
  },
  {
    name: "children",
    kind: "int",
    default: 1,
    min: 0,
    max: 64,
    unit: "processes per guest",
    description: "Children each guest forks once its memory is written (they share its pages).",
    source: "assumption: exercises rmap_walk_ksm's search_new_forks pass",
  },
  {
    name: "rounds",
    kind: "int",
    default: 5,
    min: 1,
    max: 100_000,
    unit: "rounds",
    description: "Rounds the guests live; ksmd scans meanwhile.",
    source: "assumption: long enough for several full ksmd scans at the default sizes",
  },
  {
    name: "roundMs",
    kind: "float",
    default: 100,
    min: 0.001,
    max: 60_000,
    unit: "ms",
    description: "Simulated length of a round.",
    source: "assumption",
  },
  {
    name: "writesPerRound",
    kind: "int",
    default: 4,
    min: 0,
    max: 1 << 18,
    unit: "pages",
    description: "Random pages each guest writes per round (breaking merged ones).",
    source: "assumption",
  },
] as const satisfies readonly ParamSpec[];

function setup(env: WorkloadEnv): void {
  const k: Kernel = env.kernel;
  const p = paramsOf(PARAMS, env.params);
  const len = p.guestPages * PAGE_SIZE;
  const RW = PROT_READ | PROT_WRITE;
  const ANON_FIXED = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
  env.note(
    `${p.guests} guest(s) of ${p.guestPages} mergeable pages, ${p.children} child(ren) each; ` +
      `${Math.round(p.duplicateFraction * 100)} % of writes drawn from ${p.sharedContents} ` +
      `shared contents; ${p.rounds} rounds of ${p.roundMs} ms; ksmd scans ` +
      `${k.params.ksmPagesToScan} pages every ${k.params.ksmSleepMillisecs} ms.`,
  );

  /** The content of a write: a shared one (1..sharedContents) or undefined (unique). */
  const content = (rng: typeof env.rng): number | undefined =>
    rng.chance(p.duplicateFraction) ? rng.int(1, p.sharedContents) : undefined;

  for (let g = 0; g < p.guests; g++) {
    env.addTask(
      `guest-${g}`,
      "user",
      (function* (): TaskScript {
        const rng = env.rng.fork(`guest-${g}`);
        let mm = null as unknown as Mm;
        yield { op: "execve", run: () => mm = k.spawn() };
        yield { op: "mmap", run: () => void k.mmap(mm, GUEST_BASE, len, RW, ANON_FIXED) };
        yield { op: "madvise", run: () => k.madvise(mm, GUEST_BASE, len, MADV_MERGEABLE) };
        for (let i = 0; i < p.guestPages; i++) {
          const v = content(rng);
          yield { op: "fault", run: () => k.touch(mm, GUEST_BASE + i * PAGE_SIZE, "write", v) };
        }
        const mine: Mm[] = [];
        for (let c = 0; c < p.children; c++) {
          yield { op: "fork", run: () => void mine.push(k.fork(mm)) };
        }
        for (let r = 0; r < p.rounds; r++) {
          yield { sleep: p.roundMs * 1e6 };
          for (let w = 0; w < p.writesPerRound; w++) {
            const a = GUEST_BASE + rng.int(0, p.guestPages - 1) * PAGE_SIZE;
            const v = content(rng);
            yield { op: "fault", run: () => k.touch(mm, a, "write", v) };
          }
        }
        for (const c of mine) yield { op: "exit", run: () => k.exit(c) };
        yield { op: "exit", run: () => k.exit(mm) };
      })(),
    );
  }
}

/**
 * A table of KSM's own objects (its slab caches are not among the report's caches): the peak,
 * and what is live when the run ends, before the leak check's teardown: the rmap items of exited
 * guests are freed only at ksmd's next visit of their mm slots (`__ksm_exit`), so they may still
 * pin anon_vmas then.
 */
function finish(env: WorkloadEnv): void {
  const slab = env.kernel.slab;
  const caches = ["ksm_rmap_item", "ksm_stable_node", "ksm_mm_slot"] as const;
  env.note(
    "KSM's slab caches are not among the report's caches; the slab totals (totalBytes) count " +
      "them, and the table below lists them.",
  );
  env.table({
    title: "KSM objects (slab)",
    columns: ["cache", "object bytes", "peak objects", "allocated", "live at the end"],
    rows: caches.map((c) => {
      const st = slab.stats(c);
      return [c, slab.sizes[c], st.peak, st.allocs, st.live];
    }),
  });
}

/**
 * Peak live objects (see `estimate.ts`): every guest's pages written (one folio and PTE each),
 * the children's copied PTEs, one VMA per process with its anon_vma and AVCs.
 */
function estimate(params: Readonly<Record<string, ParamValue>>): MemoryEstimate {
  const p = paramsOf(PARAMS, params);
  const processes = p.guests * (1 + p.children);
  const pages = p.guests * p.guestPages;
  return {
    objects: {
      vmas: processes,
      ptes: pages * (1 + p.children),
      folios: pages + p.guests * p.rounds * p.writesPerRound,
      avcs: processes * 2,
      workloadBytes: 0,
    },
    drivers: ["guestPages", "guests", "children"],
  };
}

/**
 * The `ksm-merge` workload: guests with mergeable memory and forked children, ksmd merging their
 * duplicate pages while they write, and kswapd's aging walks of their folios, merged or not.
 *
 * @example Usage
 * ```ts ignore
 * import { runOne } from "../runner/recorder.ts";
 * const r = runOne({ scheme: "cow_context", workload: "ksm-merge", seed: 1 });
 * console.log(r.counters.ksm_pages_merged);
 * ```
 */
export const KSM_MERGE: Workload = {
  id: "ksm-merge",
  title: "KSM: mergeable guests, ksmd, and walks of merged pages",
  description: "Guests map and write mergeable memory, half of it from a small set of shared " +
    "contents, and fork a child each; ksmd merges the duplicates while the guests keep writing " +
    "(breaking merged pages) and kswapd ages their folios, so merged " +
    "folios are found through their stable node's rmap items (rmap_walk_ksm).",
  params: PARAMS,
  ksmd: true,
  setup,
  finish,
  estimate,
};
