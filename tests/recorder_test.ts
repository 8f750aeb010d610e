// How runOne (runner/recorder.ts) gathers a run's figures: the walk buckets (a contended walk is
// counted but adds no samples), the reclaim and compaction daemons' batches and watermark
// (MachineParams), the seed given to the workload's and to the daemons' generators, the
// timeseries (its last point is the run's end), CPU utilisation, the read/write split of lock
// holds, ksmd only when asked and until the last user task ends, and the machine parameter
// ranges. Scenarios are the smallest fork-storm; the pinned figures come from the unmutated
// recorder and each test says which semantic makes them what they are.

import { assertEquals, assertThrows } from "./assert.ts";
import { resolveMachineParams, runOne, type RunOptions } from "../runner/recorder.ts";
import type { RunResult } from "../reports/results.ts";

/** Parent and 2 children, 2 regions of 8 pages, one round (workloads/fork_storm.ts). */
const SMALL = { mode: "breadth", children: 2, regions: 2, pages: 8, rounds: 1 };
const QUIET = { reclaimIntervalNs: 0, migrateIntervalNs: 0 };

function run(o: Partial<RunOptions>): RunResult {
  return runOne({ scheme: "anon_vma", workload: "fork-storm", params: SMALL, ...o });
}

/** [count, contended, visits samples, visits sum] of each walk kind. */
function walks(r: RunResult): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [k, w] of Object.entries(r.walks)) {
    out[k] = [w.count, w.contended, w.visits.count, w.visits.sum];
  }
  return out;
}

// Reclaim ages every 2 µs (trylock walks that can fail), kcompactd migrates every 5 µs.
const busy = run({
  machine: { reclaimIntervalNs: 2000, migrateIntervalNs: 5000 },
  timeseriesPoints: 8,
});

Deno.test("recorder: a contended walk is in count and contended but adds no visits sample", () => {
  // rwc->contended (mm/rmap.c): folio_referenced gave up on a trylock before visiting anything,
  // so WalkStats.count = completed + contended and the distributions hold completed walks only.
  const w = busy.walks.referenced;
  assertEquals([w.count, w.contended, w.visits.count, w.hits.count], [752, 32, 720, 720]);
  assertEquals(w.count, w.contended + w.visits.count);
  assertEquals(w.visits.sum, 1503);
  assertEquals(walks(busy).migrate, [150, 0, 150, 338]);
});

Deno.test("recorder: kswapd ages reclaimBatch folios per round (SWAP_CLUSTER_MAX, mm/vmscan.c)", () => {
  // Reclaim only (the 16 migrate walks are fork-storm's own probes). More folios aged per round
  // means more folio_referenced walks; the run ends when the user tasks do, whatever the batch.
  const ref = (b: number): number[] =>
    walks(run({ machine: { reclaimIntervalNs: 2000, migrateIntervalNs: 0, reclaimBatch: b } }))
      .referenced;
  assertEquals(ref(1), [111, 1, 110, 232]);
  assertEquals(ref(2), [197, 2, 195, 412]);
});

Deno.test("recorder: kcompactd migrates migrateBatch folios per round", () => {
  const mig = (b: number): RunResult =>
    run({ machine: { reclaimIntervalNs: 0, migrateIntervalNs: 5000, migrateBatch: b } });
  // 16 of the migrations are fork-storm's probe walks; the rest are kcompactd's.
  assertEquals(mig(1).counters.folios_migrated, 59);
  assertEquals(mig(2).counters.folios_migrated, 93);
});

Deno.test("recorder: kswapd evicts only unreferenced folios, only above the watermark", () => {
  // try_to_unmap follows folio_referenced only when it found no young mapping and the live anon
  // folios exceed reclaimWatermarkFolios (MachineParams); 0 means aging only.
  const at = (n: number) =>
    run({
      machine: { reclaimIntervalNs: 2000, migrateIntervalNs: 0, reclaimWatermarkFolios: n },
    });
  const wm = (n: number): Record<string, number[]> => walks(at(n));
  assertEquals(wm(1), { referenced: [141, 0, 141, 154], unmap: [23, 0, 23, 33] });
  // Folios only the swap cache holds (swapped in by one CoW sharer, which exited, while the
  // other's entry still refers to the slot) are freed without a walk (shrink_folio_list).
  const c = at(1).counters;
  assertEquals([c.swapcache_freed, c.folios_reclaimed, c.faults_swapin], [6, 23, 6]);
  assertEquals(wm(8), { referenced: [426, 0, 426, 440], unmap: [19, 0, 19, 29] });
  // At most 24 anon folios are live at once (16 written by the parent, 8 CoW copies): a
  // watermark of 24 is never exceeded and nothing is evicted, as with the default 0.
  const none = {
    migrate: [16, 0, 16, 48],
    referenced: [736, 24, 712, 1495],
    remove_migration: [16, 0, 16, 48],
  };
  assertEquals(wm(24), none);
  assertEquals(wm(0), none);
});

Deno.test("recorder: the seed reaches the workload's generator", () => {
  // fork-storm's tree mode draws each node's fanout in [1, 3] from the workload generator.
  const forks = (seed: number): number =>
    run({
      seed,
      machine: QUIET,
      params: { mode: "tree", depth: 2, fanout: 3, regions: 1, pages: 2, rounds: 1 },
    }).counters.forks;
  assertEquals([forks(1), forks(2), forks(3)], [3, 2, 10]);
});

Deno.test("recorder: the seed reaches the daemons' generator (kcompactd's folio picks)", () => {
  // cowFraction 1 and no probe walks: the workload draws nothing that matters, so only the
  // folios kcompactd picks differ between seeds.
  const mig = (seed: number): number[] =>
    walks(run({
      seed,
      params: { ...SMALL, cowFraction: 1, probeWalks: 0 },
      machine: { reclaimIntervalNs: 0, migrateIntervalNs: 5000 },
    })).migrate;
  assertEquals(mig(1), [141, 0, 141, 223]);
  assertEquals(mig(2), [140, 0, 140, 236]);
});

Deno.test("recorder: the timeseries ends with a point at the end of the run", () => {
  // At most timeseriesPoints points, evenly thinned; the last one is taken after the machine
  // stopped, so it equals the final slab figures.
  assertEquals(busy.timeseries.t, [1500, 78355, 144015, 209745, 253270]);
  assertEquals(busy.timeseries.t.at(-1), busy.simulatedNs);
  for (const [c, b] of Object.entries(busy.slab.final.bytes)) {
    assertEquals(busy.timeseries.bytes[c].at(-1), b, c);
  }
});

Deno.test("recorder: the run ends with its last operation, not with a daemon's sleep or a grace period", () => {
  // simulatedNs is the time from the start to the end of the last operation. Until 2026-12-02 it
  // was when the machine stopped: a daemon's last sleep (kswapd wakes, finds the user tasks
  // gone, exits) and, for cow_context, the last RCU grace period were counted, so every
  // cow_context run looked 10 ms (rcuGracePeriodNs) longer than it was.
  const quiet = run({ machine: QUIET });
  // A kswapd whose first wake-up comes after the workload's end does nothing but go to sleep
  // at the start (one context switch of CPU time): same length.
  const late = run({ machine: { reclaimIntervalNs: 50_000_000, migrateIntervalNs: 0 } });
  assertEquals(late.simulatedNs, quiet.simulatedNs);
  assertEquals(late.timeseries.t.at(-1), quiet.simulatedNs);
  // RCU callbacks take no CPU time: a grace period ten times longer leaves the run's length and
  // utilisation as they were. The series runs on to the last callbacks (the frees the run
  // deferred), within one grace period of the run's end, and ends on the final figures.
  const cow = (gp: number): RunResult =>
    runOne({
      scheme: "cow_context",
      workload: "fork-storm",
      params: SMALL,
      machine: QUIET,
      costOverrides: { rcuGracePeriodNs: gp },
    });
  const short = cow(1_000_000), long = cow(10_000_000);
  assertEquals(long.simulatedNs, short.simulatedNs);
  assertEquals(long.cpuUtilisation, short.cpuUtilisation);
  for (const [r, gp] of [[short, 1_000_000], [long, 10_000_000]] as const) {
    const after = r.timeseries.t.at(-1)! - r.simulatedNs;
    assertEquals(after > 0 && after <= gp, true, `series ends ${after} ns after the run`);
    assertEquals(r.timeseries.bytes.cow_context.at(-1), r.slab.final.bytes.cow_context);
  }
});

Deno.test("recorder: the teardown of the processes left adds no timeseries point", () => {
  // android-launch ends with its phone running (zygote, daemons, cached apps), so runOne exits
  // them for the leak check after taking the figures. Those exits are not the workload: until
  // 2026-12-02 they ran as a machine task whose steps sampled the slab, so the series ran on
  // 3.3 ms of simulated time past the run's end, down to 41,808 bytes where the run ended with
  // 7,030,584 (the default suite's scale). The series must end at the run's end, on its final
  // slab figures, and the teardown must still free every object.
  const r = runOne({
    scheme: "anon_vma",
    workload: "android-launch",
    params: { scale: 0.02 },
    machine: QUIET,
  });
  const t = r.timeseries.t;
  assertEquals(r.counters.processes_final > 0, true);
  assertEquals([t.at(-1), t.filter((x) => x > r.simulatedNs).length], [r.simulatedNs, 0]);
  assertEquals(r.slab.final.totalBytes > 1_000_000, true);
  for (const [c, b] of Object.entries(r.slab.final.bytes)) {
    assertEquals(r.timeseries.bytes[c].at(-1), b, c);
  }
  assertEquals(r.oracle.leakFree, true);
});

Deno.test("recorder: with any number of points the timeseries keeps the run's first and last", () => {
  // A halving triggered by the final point drops every odd index; with an odd maximum the final
  // point sat at one and was lost (the series ended early and its last bytes were not the final
  // slab figures). Both ends now survive for every maximum.
  const quiet = run({ machine: QUIET });
  for (const points of [2, 3, 4, 5, 8, 9]) {
    const r = run({ machine: QUIET, timeseriesPoints: points });
    const t = r.timeseries.t;
    assertEquals([t[0], t.at(-1)], [quiet.timeseries.t[0], r.simulatedNs], `${points}`);
    assertEquals(t.length <= points, true, `${points}: ${t.length}`);
    for (const [c, b] of Object.entries(r.slab.final.bytes)) {
      assertEquals(r.timeseries.bytes[c].at(-1), b, `${points} ${c}`);
    }
  }
  assertEquals(
    run({ machine: QUIET, timeseriesPoints: 3 }).timeseries.bytes.mm_struct.at(-1),
    1600,
  );
});

Deno.test("recorder: timeseriesPoints must be an integer in [2, 1000000]", () => {
  for (const bad of [0, 1, 2.5, -3, 1_000_001, NaN]) {
    assertThrows(
      () => run({ machine: QUIET, timeseriesPoints: bad }),
      RangeError,
      `timeseriesPoints must be an integer in [2, 1000000], got ${bad}`,
    );
  }
});

Deno.test("recorder: CPU utilisation is busy time over elapsed time × CPUs", () => {
  // Both up to the end of the last operation. With two CPUs a task switched in after it (to find
  // its script done, 705 ns later) was counted until 2026-12-02: 0.1266399416909621 then.
  assertEquals(busy.cpuUtilisation, 0.15032870059620168);
  const two = run({ machine: { ...QUIET, cpus: 2 } });
  assertEquals([two.cpuUtilisation, two.simulatedNs], [0.12557105439483462, 246255]);
});

Deno.test("recorder: lock holds are split by mode (rmap walks read, tree changes write)", () => {
  const root = busy.locks["anon_vma.root"];
  assertEquals([root.readAcquisitions, root.readHold!.count], [1020, 1020]);
  assertEquals([root.writeAcquisitions, root.writeHold!.count], [14, 14]);
  assertEquals(root.hold.count, 1034);
});

Deno.test("recorder: ksmd runs only when asked, and until the last user task has ended", () => {
  // Without `ksmd`, no ksmd task: no ksm_scan operations in fork-storm.
  const off = run({ machine: QUIET });
  assertEquals(off.latency.ksm_scan, undefined);
  assertEquals([off.ops, off.simulatedNs], [47, 241325]);
  // ksmSleepMillisecs 0 = a wake every µs (runner/ksmd.ts), recorded as ksm_scan operations (not
  // as madvise: fork-storm makes no madvise call), while any of the 3 user tasks is alive.
  const on = run({ machine: QUIET, ksmd: true, kernelParams: { ksmSleepMillisecs: 0 } });
  assertEquals(on.latency.ksm_scan.count, 236);
  assertEquals(on.latency.madvise, undefined);
  assertEquals(on.ops, 47 + 236);
});

Deno.test("recorder: machine parameters are checked against their ranges", () => {
  // 0 is the documented "disabled" value of both daemon periods.
  const p = resolveMachineParams({ reclaimIntervalNs: 0, migrateIntervalNs: 0, cpus: 1 });
  assertEquals([p.reclaimIntervalNs, p.migrateIntervalNs, p.cpus], [0, 0, 1]);
  assertThrows(
    () => resolveMachineParams({ cpus: 0 }),
    RangeError,
    "Machine parameter cpus must be an integer in [1, 256]",
  );
  assertThrows(
    () => resolveMachineParams({ reclaimBatch: 1.5 }),
    RangeError,
    "Machine parameter reclaimBatch must be an integer in [1, 4096]",
  );
});
