// The flat metrics of a run (reports/metrics.ts runMetrics), which the comparison, the exporters,
// the tables and the verdicts all read: derived figures pinned on small synthetic runs.
import { assertEquals } from "./assert.ts";
import { fixtureRun, fixtureSummary } from "./fixtures/results_fixture.ts";
import { metricValues, walkTotals } from "../reports/metrics.ts";

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
