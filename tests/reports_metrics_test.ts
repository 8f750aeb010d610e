// The flat metrics of a run (reports/metrics.ts runMetrics), which the comparison, the exporters,
// the tables and the verdicts all read: derived figures pinned on small synthetic runs.
import { assertEquals } from "./assert.ts";
import { fixtureRun, fixtureSummary } from "./fixtures/results_fixture.ts";
import {
  lockGroupFigures,
  metricValues,
  sharedLockClasses,
  walkTotals,
  worstLockWaitP99,
} from "../reports/metrics.ts";

Deno.test("walks.all.visits.mean divides the visits by the completed walks, not the contended ones", () => {
  // A contended walk (rwc->contended: a trylock failed) gives up before visiting anything: it is
  // in WalkStats.count and .contended but adds no sample to .visits (runner/recorder.ts onWalk).
  // Here 10 + 4 completed walks with 35 + 8 visits, and 6 more referenced walks that gave up.
  const run = fixtureRun("anon_vma", "anon_vma", "fork_tree", {}, 1);
  run.walks.referenced.count = 16;
  run.walks.referenced.contended = 6;
  assertEquals(run.walks.referenced.visits, fixtureSummary(10, 2, 5, 6)); // sum 35
  assertEquals(run.walks.unmap.visits.sum, 8);
  const w = walkTotals(run);
  assertEquals(w.walks, 14);
  assertEquals(w.visitsMean, 43 / 14);
  const m = metricValues(run);
  assertEquals(m["walks.all.visits.mean"], 43 / 14);
  assertEquals(m["walks.referenced.count"], 16);
  assertEquals(m["walks.referenced.contended"], 6);
});

Deno.test("oracle.leaks is 1 for a run whose slab objects leaked (leakFree false), else 0", () => {
  // A smaller-is-better count: a leak appearing between two documents is a regression.
  const clean = fixtureRun("anon_vma", "anon_vma", "fork_tree", {}, 1);
  assertEquals(clean.oracle.leakFree, true);
  assertEquals(metricValues(clean)["oracle.leaks"], 0);
  const leaky = fixtureRun("anon_vma", "anon_vma", "fork_tree", {}, 1);
  leaky.oracle.leakFree = false;
  assertEquals(metricValues(leaky)["oracle.leaks"], 1);
  assertEquals(metricValues(leaky)["oracle.mismatches"], 0);
});

Deno.test("walks.all.uselessPercent is useless visits over all visits, not over walks", () => {
  // Fixture (k = 1): useless sums 10 (referenced) + 2 (unmap) = 12; visits sums 10 walks × mean
  // 3.5 = 35 and 4 × 2 = 8, so 43 visits: 1200 / 43 = 27.9 % (1200 / 14 walks would be 85.7).
  const run = fixtureRun("anon_vma", "anon_vma", "fork_tree", {}, 1);
  const w = walkTotals(run);
  assertEquals([w.uselessVisits, w.walks], [12, 14]);
  assertEquals(w.uselessPercent, 1200 / 43);
  assertEquals(metricValues(run)["walks.all.uselessPercent"], 1200 / 43);
});

Deno.test("shared lock figures leave out the scheme's own classes; trylocks are summed", () => {
  // anon_vma owns anon_vma.root (wait p99 1000, 1 failed trylock); mmap_lock is shared (wait p99
  // 50; given 2 failed trylocks here).
  const run = fixtureRun("anon_vma", "anon_vma", "fork_tree", {}, 1);
  run.locks.mmap_lock.trylockFailures = 2;
  assertEquals(sharedLockClasses(run), ["mmap_lock"]);
  const m = metricValues(run);
  assertEquals([m["locks.shared.wait.p99"], m["locks.owned.wait.p99"]], [50, 1000]);
  assertEquals(lockGroupFigures(run, ["anon_vma.root", "mmap_lock"]).trylockFailures, 3);
  assertEquals(m["locks.all.trylockFailures"], 3);
});

Deno.test("worstLockWaitP99 gives a tie to the class that sorts first", () => {
  const run = fixtureRun("anon_vma", "anon_vma", "fork_tree", {}, 1);
  run.locks.mmap_lock.wait.p99 = 1000; // ties anon_vma.root's 1000
  assertEquals(worstLockWaitP99(run), { lockClass: "anon_vma.root", p99: 1000 });
  run.locks.mmap_lock.wait.p99 = 1001;
  assertEquals(worstLockWaitP99(run), { lockClass: "mmap_lock", p99: 1001 });
});
