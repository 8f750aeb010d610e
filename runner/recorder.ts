/**
 * Runs one scheme × workload on the simulated machine and records every figure into a
 * {@link RunResult}: measurement (machine + kernel + scheme + workload), then analysis into the
 * stable Results format (criterion-style separation of stages).
 *
 * After the workload ends, the figures are taken; then every remaining process exits and the
 * run is checked for leaks: every slab count must be back to zero (ARCHITECTURE.md, "The oracle").
 *
 * This module is browser compatible: it imports only repository modules.
 *
 * @module
 */

import { Kernel, type WalkResult } from "../core/kernel/kernel.ts";
import type { KernelParams } from "../core/kernel/params.ts";
import { Machine } from "../core/machine/machine.ts";
import {
  type CostProfile,
  costProfile,
  type CostProfileOverrides,
  mergeCostProfile,
} from "../core/machine/cost_model.ts";
import { Random } from "../core/lib/random.ts";
import { Distribution } from "../core/lib/stats.ts";
import { KSM_SLAB_CACHES, Slab, SLAB_CACHES } from "../core/slab.ts";
import { resolveSlabSlowPath, type SlabSlowPathParams } from "../core/slab_slow_path.ts";
import { createScheme } from "../core/rmap/registry.ts";
import { type Folio, VM_LOCKED } from "../core/kernel/types.ts";
import {
  type ParamSpec,
  type ParamValue,
  resolveParams,
  type Step,
  type TaskScript,
  type WorkloadEnv,
  type WorkloadTable,
} from "../workloads/workload.ts";
import { getWorkload } from "../workloads/registry.ts";
import { runId, type RunResult, type Summary, type WalkStats } from "../reports/results.ts";
import { ksmdScript } from "./ksmd.ts";

/** Machine-level parameters of a run: CPUs and the reclaim and migration daemons. */
export interface MachineParams {
  /** Simulated CPUs (default 8, like a phone SoC). */
  cpus: number;
  /**
   * Reclaim daemon period in ns; 0 disables it. Default 200 µs [U]: kswapd runs continuously
   * under pressure; the figure sets how often aging walks compete with the workload.
   */
  reclaimIntervalNs: number;
  /** Folios aged per reclaim round (`SWAP_CLUSTER_MAX` = 32, mm/vmscan.c [C]). */
  reclaimBatch: number;
  /**
   * Live anon folios above which reclaim also evicts (try_to_unmap) unreferenced folios; 0 =
   * aging only (no memory pressure). Default 0 [U].
   */
  reclaimWatermarkFolios: number;
  /** Compaction/migration daemon period in ns; 0 disables it. Default 1 ms [U]. */
  migrateIntervalNs: number;
  /** Folios migrated per round (default 4 [U]). */
  migrateBatch: number;
}

/** Defaults of {@link MachineParams}. */
export const DEFAULT_MACHINE_PARAMS: Readonly<MachineParams> = {
  cpus: 8,
  reclaimIntervalNs: 200_000,
  reclaimBatch: 32,
  reclaimWatermarkFolios: 0,
  migrateIntervalNs: 1_000_000,
  migrateBatch: 4,
};

/** Specs of the machine parameters (for `list` and validation). */
export const MACHINE_PARAM_SPECS: readonly ParamSpec[] = [
  {
    name: "cpus",
    kind: "int",
    default: 8,
    min: 1,
    max: 256,
    unit: "CPUs",
    description: "Simulated CPUs.",
    source: "assumption: an 8-core phone SoC",
  },
  {
    name: "reclaimIntervalNs",
    kind: "int",
    default: 200_000,
    min: 0,
    max: 1e12,
    unit: "ns",
    description: "Period of the reclaim daemon's aging rounds (0 disables reclaim).",
    source: "assumption [U]",
  },
  {
    name: "reclaimBatch",
    kind: "int",
    default: 32,
    min: 1,
    max: 4096,
    unit: "folios",
    description: "Folios aged (folio_referenced) per reclaim round.",
    source: "SWAP_CLUSTER_MAX, mm/vmscan.c",
  },
  {
    name: "reclaimWatermarkFolios",
    kind: "int",
    default: 0,
    min: 0,
    max: 1e9,
    unit: "folios",
    description: "Live anon folios above which unreferenced folios are evicted (0 = aging only).",
    source: "assumption [U]",
  },
  {
    name: "migrateIntervalNs",
    kind: "int",
    default: 1_000_000,
    min: 0,
    max: 1e12,
    unit: "ns",
    description: "Period of the compaction/migration daemon (0 disables it).",
    source: "assumption [U]",
  },
  {
    name: "migrateBatch",
    kind: "int",
    default: 4,
    min: 1,
    max: 4096,
    unit: "folios",
    description: "Folios migrated per migration round.",
    source: "assumption [U]",
  },
];

/** What to run. */
export interface RunOptions {
  /** Scheme id. */
  scheme: string;
  /** Workload id. */
  workload: string;
  /** Workload parameters (strings are parsed against the specs). */
  params?: Readonly<Record<string, ParamValue>>;
  /** Seed (default 1). */
  seed?: number;
  /** Machine parameters. */
  machine?: Partial<MachineParams>;
  /** Cost profile name or object (default `"default"`). */
  costProfile?: string | CostProfile;
  /** Cost overrides on top of the profile. */
  costOverrides?: CostProfileOverrides;
  /** Kernel parameters. */
  kernelParams?: Partial<KernelParams>;
  /**
   * SLUB slow-path model (`core/slab_slow_path.ts`): overrides of its defaults; absent = every
   * allocation is a fast path (the default, figures unchanged).
   */
  slabSlowPath?: Partial<SlabSlowPathParams>;
  /**
   * Largest number of timeseries points, an integer in [2, {@link MAX_TIMESERIES_POINTS}]
   * (default 200): the first and the last point of the run are always among them.
   */
  timeseriesPoints?: number;
  /**
   * Run the ksmd kernel thread (runner/ksmd.ts); default false, figures unchanged. A workload that
   * needs it (`Workload.ksmd`, e.g. ksm-merge) starts it whatever this says.
   */
  ksmd?: boolean;
}

/** Progress within one run: simulated time and operations so far. */
export interface RunProgress {
  /** Simulated time reached, ns. */
  simulatedNs: number;
  /** Task steps (operations and sleeps) dispatched so far. */
  steps: number;
}

/** Optional callbacks of {@link runOne} (kept out of {@link RunOptions}, which is cloned). */
export interface RunHooks {
  /** Called about every `progressIntervalMs` of wall time while the run simulates. */
  onProgress?: (p: RunProgress) => void;
  /** Wall-time interval between progress calls (default 500 ms). */
  progressIntervalMs?: number;
}

/** Validates machine parameters, naming the bad one and its range. */
export function resolveMachineParams(p: Partial<MachineParams> = {}): MachineParams {
  const out: MachineParams = { ...DEFAULT_MACHINE_PARAMS };
  for (const [k, v] of Object.entries(p)) {
    if (v === undefined) continue;
    const spec = MACHINE_PARAM_SPECS.find((s) => s.name === k);
    if (!spec) {
      throw new RangeError(
        `Unknown machine parameter "${k}"; valid: ${
          MACHINE_PARAM_SPECS.map((s) => s.name).join(", ")
        }`,
      );
    }
    if (!Number.isInteger(v) || v < spec.min! || v > spec.max!) {
      throw new RangeError(
        `Machine parameter ${k} must be an integer in [${spec.min}, ${spec.max}]`,
      );
    }
    (out as unknown as Record<string, number>)[k] = v;
  }
  return out;
}

function summaryOf(d: Distribution): Summary {
  return { ...d.summary() };
}

/** Largest `RunOptions.timeseriesPoints`. */
export const MAX_TIMESERIES_POINTS = 1_000_000;

/**
 * Keeps at most `max` (>= 2) evenly spaced points by halving the resolution when full; the
 * newest point always stays.
 */
class Sampler {
  t: number[] = [];
  bytes: Record<string, number[]> = {};
  #interval = 1;
  #next = 0;
  constructor(readonly max: number) {
    for (const c of SLAB_CACHES) this.bytes[c] = [];
  }
  /** Whether {@link offer} would take a point at `now` (snapshots are only built then). */
  due(now: number): boolean {
    return now >= this.#next;
  }
  offer(now: number, snap: Record<string, number>, force = false): void {
    if (!force && now < this.#next) return;
    if (this.t.length > 0 && this.t[this.t.length - 1] === now) {
      for (const c of SLAB_CACHES) this.bytes[c][this.t.length - 1] = snap[c];
      return;
    }
    this.t.push(now);
    for (const c of SLAB_CACHES) this.bytes[c].push(snap[c]);
    if (this.t.length > this.max) {
      // Every other point from the first, and always the newest: the run's final point must
      // survive the halving it triggers (with an odd `max` it sits at an odd index; with an even
      // one the newest is kept either way, so default runs are unchanged).
      const last = this.t.length - 1;
      const keep = (_: unknown, i: number): boolean => i % 2 === 0 || i === last;
      this.t = this.t.filter(keep);
      for (const c of SLAB_CACHES) this.bytes[c] = this.bytes[c].filter(keep);
      this.#interval *= 2;
    }
    this.#next = now + this.#interval;
  }
  /** Drops the points after `t` (taken while nothing changed: a daemon woke to find the end). */
  dropAfter(t: number): void {
    let n = this.t.length;
    while (n > 0 && this.t[n - 1] > t) n--;
    this.t.length = n;
    for (const c of SLAB_CACHES) this.bytes[c].length = n;
  }
}

/**
 * Runs one scheme × workload and returns its figures.
 *
 * @example Usage
 * ```ts ignore
 * import { runOne } from "./recorder.ts";
 * const r = runOne({ scheme: "anon_vma", workload: "fork-storm", seed: 1 });
 * console.log(r.slab.final.objects.anon_vma);
 * ```
 */
export function runOne(opts: RunOptions, hooks: RunHooks = {}): RunResult {
  const seed = opts.seed ?? 1;
  const mp = resolveMachineParams(opts.machine);
  const workload = getWorkload(opts.workload);
  const params = resolveParams(workload, opts.params ?? {});
  const scheme = createScheme(opts.scheme);
  let costs = typeof opts.costProfile === "object"
    ? opts.costProfile
    : costProfile(opts.costProfile ?? "default");
  if (opts.costOverrides) costs = mergeCostProfile(costs, opts.costOverrides);
  const machine = new Machine({ cpus: mp.cpus, costs });
  const slab = opts.slabSlowPath
    ? new Slab({}, null, resolveSlabSlowPath(opts.slabSlowPath))
    : undefined;
  const kernel = new Kernel({ scheme, exec: machine.exec, params: opts.kernelParams, slab });
  kernel.slab.trackGroup(scheme.info.ownedCaches);
  const rng = new Random(seed);
  const wrng = rng.fork(`workload:${workload.id}`);
  const drng = rng.fork("daemons");

  // Walk figures.
  const walkDists = new Map<string, {
    count: number;
    contended: number;
    visits: Distribution;
    hits: Distribution;
    useless: Distribution;
    structures: Distribution;
  }>();
  kernel.onWalk((r: WalkResult) => {
    let w = walkDists.get(r.kind);
    if (!w) {
      w = {
        count: 0,
        contended: 0,
        visits: new Distribution(),
        hits: new Distribution(),
        useless: new Distribution(),
        structures: new Distribution(),
      };
      walkDists.set(r.kind, w);
    }
    w.count++;
    if (r.contended) {
      w.contended++;
      return;
    }
    w.visits.add(r.visits);
    w.hits.add(r.hits);
    w.useless.add(r.useless);
    w.structures.add(r.structures);
  });

  const points = opts.timeseriesPoints ?? 200;
  if (!Number.isInteger(points) || points < 2 || points > MAX_TIMESERIES_POINTS) {
    throw new RangeError(
      `timeseriesPoints must be an integer in [2, ${MAX_TIMESERIES_POINTS}], got ${points}`,
    );
  }
  const sampler = new Sampler(points);
  const sample = (): void => {
    // Most steps fall between timeseries points: build the slab snapshot only when one is due.
    if (!sampler.due(machine.now)) return;
    sampler.offer(machine.now, kernel.slab.snapshot().bytes);
  };
  const notes: string[] = [];
  const tables: WorkloadTable[] = [];
  const marks = new Map<string, Record<string, number>>();
  let nextTaskId = 1;
  let userTasksAlive = 0;
  // Progress: the wall clock is read every 4,096 steps, the hook called every interval.
  let steps = 0;
  const onProgress = hooks.onProgress;
  const interval = hooks.progressIntervalMs ?? 500;
  let nextReport = onProgress ? performance.now() + interval : Infinity;
  const progress = (): void => {
    const now = performance.now();
    if (now < nextReport) return;
    nextReport = now + interval;
    onProgress!({ simulatedNs: machine.now, steps });
  };

  const addTask = (name: string, kind: "user" | "kthread", script: TaskScript): void => {
    if (kind === "user") userTasksAlive++;
    machine.addTask({
      id: nextTaskId++,
      name,
      kind,
      next: () => {
        sample();
        if ((++steps & 4095) === 0 && onProgress) progress();
        const r = script.next();
        if (r.done) {
          if (kind === "user") userTasksAlive--;
          return null;
        }
        return r.value as Step;
      },
    });
  };

  const env: WorkloadEnv = {
    kernel,
    rng: wrng,
    params,
    addTask,
    now: () => machine.now,
    note: (line) => notes.push(line),
    table: (t) => tables.push(t),
    mark: (label) => {
      marks.set(label, { ...kernel.slab.snapshot().objects, vmas: kernel.totalVmas() });
    },
  };
  workload.setup(env);

  // Kernel threads: reclaim (aging with trylock, eviction above a watermark) and migration.
  const pick = (r: Random): Folio | null => {
    const live = kernel.liveAnonFolios;
    return live.length ? live[r.int(0, live.length - 1)] : null;
  };
  if (mp.reclaimIntervalNs > 0) {
    // kswapd: every period, age the oldest reclaimBatch folios of the anon LRU with
    // folio_referenced (read trylock of the rmap lock); above the watermark, evict the
    // unreferenced ones with try_to_unmap (blocking read lock).
    addTask(
      "kswapd",
      "kthread",
      (function* (): TaskScript {
        // folio_referenced's *vm_flags, rewritten by every walk; folio_check_references keeps
        // (activates) a folio mapped in a VM_LOCKED VMA.
        const seen = { vmFlags: 0 };
        while (userTasksAlive > 0) {
          yield { sleep: mp.reclaimIntervalNs };
          for (const f of kernel.lruScan(mp.reclaimBatch)) {
            if (userTasksAlive === 0) break;
            if (f.freed) continue;
            let referenced = 0;
            yield {
              op: "walk_referenced",
              run: () => referenced = kernel.folioReferenced(f, seen),
            };
            if (
              referenced === 0 && !(seen.vmFlags & VM_LOCKED) && mp.reclaimWatermarkFolios > 0 &&
              kernel.liveAnonFolios.length > mp.reclaimWatermarkFolios && !f.freed
            ) {
              yield { op: "walk_unmap", run: () => void kernel.tryToUnmap(f) };
            }
          }
        }
      })(),
    );
  }
  if (mp.migrateIntervalNs > 0) {
    const r = drng.fork("migrate");
    addTask(
      "kcompactd",
      "kthread",
      (function* (): TaskScript {
        while (userTasksAlive > 0) {
          yield { sleep: mp.migrateIntervalNs };
          for (let i = 0; i < mp.migrateBatch && userTasksAlive > 0; i++) {
            const f = pick(r);
            if (!f) break;
            yield { op: "walk_migrate", run: () => !f.freed && kernel.migrateFolio(f) };
          }
        }
      })(),
    );
  }

  if (opts.ksmd || workload.ksmd === true) {
    addTask(
      "ksmd",
      "kthread",
      ksmdScript(kernel, () => userTasksAlive > 0),
    );
  }

  machine.run();
  const metrics = machine.metrics();
  // The series runs to the last change of the kernel's state: the end of the last operation, or
  // the last RCU callbacks when a grace period outlasted it (deferred frees complete there). The
  // final figures below are that state.
  const settled = Math.max(metrics.lastOpEndNs, metrics.rcuLastCallbackNs);
  const snap = kernel.slab.snapshot();
  sampler.dropAfter(settled);
  sampler.offer(settled, snap.bytes, true);
  const rmapBytes = { final: kernel.slab.groupBytes, peak: kernel.slab.groupPeakBytes };
  workload.finish?.(env, marks);

  // Figures.
  const peakObjects: Record<string, number> = {};
  const peakBytes: Record<string, number> = {};
  const allocs: Record<string, number> = {};
  const frees: Record<string, number> = {};
  for (const c of SLAB_CACHES) {
    const s = kernel.slab.stats(c);
    peakObjects[c] = s.peak;
    peakBytes[c] = s.peak * kernel.slab.sizes[c];
    allocs[c] = s.allocs;
    frees[c] = s.frees;
  }
  const walks: Record<string, WalkStats> = {};
  for (const [kind, w] of [...walkDists.entries()].sort((a, b) => a[0] < b[0] ? -1 : 1)) {
    walks[kind] = {
      count: w.count,
      contended: w.contended,
      visits: summaryOf(w.visits),
      hits: summaryOf(w.hits),
      useless: summaryOf(w.useless),
      structures: summaryOf(w.structures),
      histogram: w.visits.histogram(12, { scale: "integer" }),
    };
  }
  const locks: RunResult["locks"] = {};
  for (const [cls, m] of Object.entries(metrics.locks).sort((a, b) => a[0] < b[0] ? -1 : 1)) {
    locks[cls] = {
      readAcquisitions: m.readAcquisitions,
      writeAcquisitions: m.writeAcquisitions,
      trylockFailures: m.trylockFailures,
      hold: { ...m.holdNs },
      wait: { ...m.waitNs },
      readHold: { ...m.readHoldNs },
      writeHold: { ...m.writeHoldNs },
      readWait: { ...m.readWaitNs },
      writeWait: { ...m.writeWaitNs },
      contended: m.contended,
      workUnderLock: { ...m.workUnderLock } as Record<string, number>,
    };
  }
  const latency: Record<string, Summary> = {};
  for (const [op, m] of Object.entries(metrics.ops).sort((a, b) => a[0] < b[0] ? -1 : 1)) {
    latency[op] = { ...m.latencyNs };
  }
  // The run ends when its last operation does: the daemons' last sleeps and the RCU grace periods
  // that follow it (the machine runs on until they are over, so that deferred frees complete
  // before the final figures) are not part of its time.
  const lastOpEnd = metrics.lastOpEndNs, busy = metrics.busyAtLastOpEndNs;
  const counters: Record<string, number> = {};
  for (const [k, v] of Object.entries(kernel.counters)) counters[k] = v;
  for (const [k, v] of Object.entries(scheme.counters())) counters[`scheme.${k}`] = v;
  counters["machine.rcu_grace_periods"] = metrics.gracePeriods;
  counters["vmas_final"] = kernel.totalVmas();
  counters["processes_final"] = kernel.mms.size;
  counters["anon_folios_final"] = kernel.liveAnonFolios.length;
  let ops = 0;
  for (const m of Object.values(metrics.ops)) ops += m.count;

  // Teardown and leak check: every process left exits. The figures above are taken, so the
  // exits run outside any task, on the kernel's untimed path (the timed machine would record and
  // replay them for nothing: 1.9 s of a 12.7 s android-launch run at scale 1); the machine then
  // runs only the RCU grace periods they queued.
  for (const mm of [...kernel.mms.values()]) kernel.exit(mm);
  // ksmd's next wake after the exits (untimed): the rmap items of exited mms still pin their
  // anon_vmas until ksmd visits their mm slots and frees them (`__ksm_exit` leaves that to ksmd,
  // mm/ksm.c), which the kernel's ksmd does whenever it next runs; with no mm left the wake scans
  // no page and only frees the slots.
  if (kernel.slab.live("ksm_mm_slot") > 0) kernel.ksmdScan();
  machine.run();
  // Every cache, KSM's too: they are left out of the results' per-cache figures (so that runs
  // without KSM stay as they were), not out of the check.
  const left = [...SLAB_CACHES, ...KSM_SLAB_CACHES].filter((c) => kernel.slab.live(c) > 0)
    .map((c) => `${c} ${kernel.slab.live(c)}`);
  const leakFree = left.length === 0;
  if (!leakFree) {
    throw new Error(
      `Leak: scheme ${scheme.info.id} on workload ${workload.id} left ${
        left.join(", ")
      } after every process exited`,
    );
  }

  return {
    id: runId(scheme.info.id, workload.id),
    scheme: {
      id: scheme.info.id,
      title: scheme.info.title,
      ownedCaches: [...scheme.info.ownedCaches],
      ownedLockClasses: [...scheme.info.ownedLockClasses],
    },
    workload: { id: workload.id, params: { ...params } },
    machine: { ...mp },
    kernel: { ...kernel.params },
    seed,
    simulatedNs: lastOpEnd,
    ops,
    slab: {
      final: { objects: snap.objects, bytes: snap.bytes, totalBytes: snap.totalBytes },
      peak: { objects: peakObjects, bytes: peakBytes, totalBytes: kernel.slab.peakTotalBytes },
      allocs,
      frees,
    },
    rmapBytes,
    timeseries: { t: sampler.t, bytes: sampler.bytes },
    walks,
    locks,
    latency,
    cpuUtilisation: lastOpEnd > 0 ? busy / (lastOpEnd * mp.cpus) : 0,
    counters,
    oracle: { walksChecked: kernel.oracle.walksChecked, mismatches: 0, leakFree },
    ...(notes.length ? { notes } : {}),
    ...(tables.length ? { extraTables: tables } : {}),
  };
}
