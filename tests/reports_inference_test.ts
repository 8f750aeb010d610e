/**
 * The statistics behind intervals, verdicts and compare: Student t quantiles against published
 * table values, the t-interval of a mean, Fieller's interval for a ratio of paired means, the
 * two-sample tests, Benjamini–Hochberg, and the repeat seeds. A wrong quantile or a swapped sign
 * would make every interval rmapbench prints too narrow or too wide; these pin them.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  aggregate,
  benjaminiHochberg,
  pairedP,
  pairedRatio,
  studentTCdf,
  studentTQuantile,
  welchP,
} from "../reports/inference.ts";
import { repeatSeed, repeatSeeds } from "../runner/seeds.ts";
import { formatRatio, verdicts } from "../reports/verdict.ts";
import { makeFixture } from "./fixtures/results_fixture.ts";
import { aggregateRepeats } from "../reports/repeats.ts";
import { runOne } from "../runner/recorder.ts";
import { metricValues, runMetrics } from "../reports/metrics.ts";

function near(a: number, b: number, eps: number, what = ""): void {
  assert.ok(Math.abs(a - b) <= eps, `${what} ${a} vs ${b}`);
}

Deno.test("t quantiles match the tables (two-sided 95 %)", () => {
  // t(0.975, df) from any statistics table.
  const table: [number, number][] = [
    [1, 12.7062],
    [2, 4.3027],
    [4, 2.7764],
    [9, 2.2622],
    [29, 2.0452],
    [120, 1.9799],
  ];
  for (const [df, t] of table) near(studentTQuantile(0.975, df), t, 1e-4, `df ${df}`);
  near(studentTCdf(2.7764451, 4), 0.975, 1e-7);
  near(studentTCdf(-1, 3), 1 - studentTCdf(1, 3), 1e-12);
  assert.equal(studentTQuantile(0.5, 7), 0);
});

Deno.test("aggregate: mean, sd, min, max, t-interval; exact needs two equal repeats", () => {
  const a = aggregate([10, 12, 11, 13, 9]);
  assert.equal(a.mean, 11);
  near(a.sd, Math.sqrt(2.5), 1e-9);
  assert.deepEqual([a.min, a.max, a.n, a.exact], [9, 13, 5, false]);
  const half = 2.7764451052 * Math.sqrt(2.5) / Math.sqrt(5);
  near(a.ci![0], 11 - half, 1e-8);
  near(a.ci![1], 11 + half, 1e-8);
  assert.deepEqual(aggregate([7, 7, 7]), {
    n: 3,
    mean: 7,
    sd: 0,
    min: 7,
    max: 7,
    exact: true,
    ci: [7, 7],
  });
  // One repeat: no interval, and not "exact" (one value says nothing about the spread).
  assert.deepEqual(aggregate([7]), { n: 1, mean: 7, sd: 0, min: 7, max: 7, exact: false });
});

Deno.test("Fieller's paired ratio: covers the truth, exact when both are exact, clipped at 0", () => {
  const r = pairedRatio([5, 6, 5, 7, 6], [10, 12, 10, 13, 12]);
  near(r.ratio, 29 / 57, 1e-9);
  assert.ok(r.ci![0] < 0.5 && 0.5 < r.ci![1] && r.ci![1] < 0.6, JSON.stringify(r));
  assert.equal(r.significant, true);
  assert.equal(formatRatio(r), "0.51 [0.48, 0.53]");
  // Same values: "=".
  assert.equal(formatRatio(pairedRatio([3, 3], [3, 3])), "=");
  // Both exact, different: the exact ratio.
  assert.equal(formatRatio(pairedRatio([2, 2, 2], [4, 4, 4])), "0.50 (exact)");
  // Noise around the same mean: no significant difference.
  const same = pairedRatio([10, 11, 9, 10, 10], [10, 10, 10, 11, 9]);
  assert.equal(same.significant, false);
  assert.ok(formatRatio(same).endsWith(" n.s."));
  // A numerator of zeros does not break it (a log-ratio interval would).
  const zeros = pairedRatio([0, 0, 1, 0, 0], [3, 4, 3, 5, 4]);
  assert.equal(zeros.ci![0], 0);
  assert.equal(zeros.significant, true);
  // A baseline indistinguishable from 0 gives no interval.
  assert.equal(pairedRatio([1, 2, 1, 2, 1], [0, 1, 0, 0, 1]).ci, null);
  // Baseline 0: infinite ratio.
  assert.equal(formatRatio(pairedRatio([1, 1], [0, 0])), "∞ (baseline 0)");
});

Deno.test("Welch and paired t-tests, Benjamini–Hochberg", () => {
  // Welch's test on two clearly separated samples, and on identical ones.
  assert.ok(welchP([1, 2, 3, 2, 1], [9, 10, 11, 10, 9]) < 1e-5);
  assert.equal(welchP([4, 4], [4, 4]), 1);
  assert.equal(welchP([4, 4], [5, 5]), 0);
  assert.ok(Number.isNaN(welchP([1], [2, 3])));
  // x = 1,2,3 and y = 4,5,6: t = -3 / sqrt(2/3), Welch df = 4, p = 0.0213.
  near(welchP([1, 2, 3], [4, 5, 6]), 2 * studentTCdf(-3 / Math.sqrt(2 / 3), 4), 1e-12);
  near(welchP([1, 2, 3], [4, 5, 6]), 0.0213, 1e-4);
  assert.equal(pairedP([1, 2, 3], [1, 2, 3]), 1);
  near(pairedP([2, 3, 5], [1, 2, 3]), 2 * studentTCdf(-(4 / 3) / Math.sqrt(1 / 3 / 3), 2), 1e-12);
  assert.deepEqual(benjaminiHochberg([0.001, 0.04, 0.5], 0.05), [true, false, false]);
  assert.deepEqual(benjaminiHochberg([0.01, 0.02, 0.03], 0.05), [true, true, true]);
  assert.deepEqual(benjaminiHochberg([NaN, 0.01], 0.05), [false, true]);
  // Step-up: 0.04 misses its own threshold (2/3 x 0.05), but 0.045 meets 3/3 x 0.05, so every
  // smaller p-value is a discovery too (in any input order).
  assert.deepEqual(benjaminiHochberg([0.045, 0.01, 0.04], 0.05), [true, true, true]);
  assert.deepEqual(benjaminiHochberg([0.045, 0.01, 0.04, 0.9], 0.05), [false, true, false, false]);
});

Deno.test("repeat seeds: repeat 0 keeps the seed, the rest are SplitMix64 outputs", () => {
  assert.deepEqual(repeatSeeds(1, 5), [1, 2433363436, 3203108257, 4170425070, 1908508304]);
  assert.equal(repeatSeed(42, 0), 42);
  const a = repeatSeeds(1, 5);
  const b = repeatSeeds(2, 5);
  assert.ok(a.every((s) => !b.includes(s)), "seeds 1 and 2 give disjoint sets");
  assert.throws(() => repeatSeed(1.5, 1), RangeError);
});

Deno.test("verdicts pair the repeats of each scheme with the baseline's", () => {
  const doc = makeFixture();
  const seeds = [1, 2, 3, 4, 5];
  const noise = [0, 0.02, -0.01, 0.015, -0.02];
  for (const r of doc.runs) {
    const base = metricValues(r);
    r.repeats = seeds.map((seed, k) => ({
      repeat: k,
      seed,
      metrics: Object.fromEntries(
        Object.entries(base).map(([m, v]) => [
          m,
          m.startsWith("rmapBytes") ? v : v * (1 + noise[k]),
        ]),
      ),
    }));
    r.aggregates = aggregateRepeats(r.repeats);
  }
  const v = verdicts(doc);
  assert.deepEqual(v.map((x) => `${x.workload}${x.point}`), ["fork_tree", "mremap"]);
  const cow = v[0].rows[1];
  assert.equal(cow.run.scheme.id, "cow_context");
  const byLabel = Object.fromEntries(cow.cells.map((c) => [c.figure.label, c]));
  // rmap bytes: exact on both sides (512 vs 632 bytes).
  assert.equal(byLabel["rmap bytes"].text, "0.81 (exact)");
  assert.equal(byLabel["rmap bytes"].status, "better");
  // The same noise on both sides (paired): walk visits p99 is exactly twice, a tight interval.
  assert.equal(byLabel["walk visits p99"].status, "worse");
  assert.equal(byLabel["walk visits p99"].text, "2.00 [2.00, 2.00]");
  assert.equal(byLabel["useless %"].text, "1.00 [1.00, 1.00] n.s.");
  assert.equal(byLabel["useless %"].status, "no-difference");
  assert.equal(byLabel["exit p99"].status, "absent");
  // Repeats with other seeds than the baseline's cannot be paired: the ratio of the means, with
  // no interval and no verdict.
  const cowRun = cow.run;
  cowRun.repeats = cowRun.repeats!.map((r) => ({ ...r, seed: r.seed + 100 }));
  const again = verdicts(doc)[0].rows[1].cells;
  const visits = again.find((c) => c.figure.label === "walk visits p99")!;
  assert.deepEqual([visits.status, visits.text], ["no-interval", "2.00 (unpaired)"]);
});

Deno.test("repeats: a metric one repeat lacks counts as 0 there (a counter that never fired)", () => {
  const a = aggregateRepeats([
    { repeat: 0, seed: 1, metrics: { x: 1, "counters.ksm_pages_merged": 4 } },
    { repeat: 1, seed: 2, metrics: { x: 3 } },
  ]);
  assert.deepEqual(Object.keys(a), ["counters.ksm_pages_merged", "x"]);
  const k = a["counters.ksm_pages_merged"];
  assert.deepEqual([k.n, k.mean, k.min, k.max], [2, 2, 0, 4]);
});

Deno.test("aggregate: the interval is kept within the metric's possible values", () => {
  // Lock waits of 0, 0, 0, 0 and 50 ns: mean 10, sd √500, t-interval 10 ± 27.76 = [-17.76,
  // 37.76]; a mean wait cannot be below 0, so the interval is [0, 37.76] (it holds the true mean
  // whenever the t-interval does).
  const w = aggregate([0, 0, 0, 0, 50], { lower: 0 });
  const half = 2.7764451052 * Math.sqrt(500) / Math.sqrt(5);
  assert.equal(w.ci![0], 0);
  near(w.ci![1], 10 + half, 1e-8);
  assert.deepEqual([w.mean, w.min, w.max], [10, 0, 50]);
  // Unbounded without a support; an upper bound clips the other side (a percentage).
  near(aggregate([0, 0, 0, 0, 50]).ci![0], 10 - half, 1e-8);
  const p = aggregate([100, 100, 100, 100, 50], { lower: 0, upper: 100 });
  assert.deepEqual([p.ci![1], p.mean], [100, 90]);
  near(p.ci![0], 90 - half, 1e-8);
  // An interval wholly inside is unchanged.
  assert.deepEqual(aggregate([10, 12, 11, 13, 9], { lower: 0 }), aggregate([10, 12, 11, 13, 9]));
  // A value the metric cannot take is refused; so is an empty support.
  assert.throws(
    () => aggregate([1, -2], { lower: 0 }),
    /Value -2 lies outside the metric's support \[0, Infinity\]/,
  );
  assert.throws(() => aggregate([1], { lower: 2, upper: 1 }), /Empty support \[2, 1\]/);
});

Deno.test("repeats: a run metric's interval stays at or above 0, a percentage at most 100", () => {
  const a = aggregateRepeats([
    {
      repeat: 0,
      seed: 1,
      metrics: { "locks.mmap_lock.wait.sum": 0, "walks.all.uselessPercent": 100 },
    },
    {
      repeat: 1,
      seed: 2,
      metrics: { "locks.mmap_lock.wait.sum": 0, "walks.all.uselessPercent": 100 },
    },
    {
      repeat: 2,
      seed: 3,
      metrics: { "locks.mmap_lock.wait.sum": 90, "walks.all.uselessPercent": 40 },
    },
  ]);
  assert.equal(a["locks.mmap_lock.wait.sum"].ci![0], 0);
  assert.equal(a["walks.all.uselessPercent"].ci![1], 100);
  // A metric of another kind (a value below 0) keeps the plain t-interval.
  const b = aggregateRepeats([
    { repeat: 0, seed: 1, metrics: { delta: -5 } },
    { repeat: 1, seed: 2, metrics: { delta: 5 } },
  ]);
  assert.ok(b.delta.ci![0] < -5);
  // Every metric a real run has is one whose support metricSupport gives: at or above 0, and a
  // percentage (unit "%") is named ...Percent (a small fork storm with walks and lock waits).
  const run = runOne({
    scheme: "anon_vma",
    workload: "fork-storm",
    params: { regions: 8, pages: 4, children: 4 },
  });
  assert.ok(runMetrics(run).some((m) => m.unit === "%"));
  for (const m of runMetrics(run)) {
    assert.ok(m.value >= 0, m.name);
    assert.equal(m.unit === "%", m.name.endsWith("Percent"), m.name);
  }
});

Deno.test("aggregate: without a support, any value is taken as it was (NaN gives NaN)", () => {
  const a = aggregate([1, NaN, 3]);
  assert.ok(Number.isNaN(a.mean));
  // Signed values keep the plain t-interval: -2 ± 12.706 · √2 / √2.
  near(aggregate([-3, -1]).ci![0], -2 - 12.7062047362, 1e-8);
});
