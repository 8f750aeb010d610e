import assert from "node:assert/strict";
import { CompareError, compareMarkdown, compareResults, formatChange } from "../reports/compare.ts";
import { makeFixture } from "./fixtures/results_fixture.ts";
import { aggregateRepeats } from "../reports/repeats.ts";
import { metricValues } from "../reports/metrics.ts";
import type { Results } from "../reports/results.ts";

const NO_REPEATS =
  "Without repeats on both sides (baseline 1, current 1) figures are compared value by value, " +
  "without statistics; use --repeat 5 on both";

Deno.test("identical documents compare unchanged, whatever the environment", () => {
  const a = makeFixture();
  const b = makeFixture();
  b.environment.generatedAt = "2031-05-05T00:00:00.000Z";
  b.environment.hostname = "another-host";
  const cmp = compareResults(a, b);
  assert.equal(cmp.ok, true);
  assert.deepEqual([
    cmp.regressions,
    cmp.improvements,
    cmp.changed,
    cmp.missing,
    cmp.added,
    cmp.warnings,
  ], [
    [],
    [],
    [],
    [],
    [],
    [NO_REPEATS],
  ]);
  assert.ok(cmp.unchanged > 100);
});

Deno.test("one more anon_vma is a regression with the default exact counter threshold", () => {
  const a = makeFixture();
  const b = makeFixture();
  b.runs[0].slab.final.objects.anon_vma += 1;
  const cmp = compareResults(a, b);
  assert.equal(cmp.ok, false);
  assert.deepEqual(cmp.regressions, [{
    run: "anon_vma/fork_tree",
    metric: "slab.final.objects.anon_vma",
    unit: "objects",
    kind: "count",
    baseline: 3,
    current: 4,
    change: 1 / 3,
  }]);
  // With a 50 % counter threshold the same change is within noise.
  assert.equal(compareResults(a, b, { counterThreshold: 0.5 }).ok, true);
});

Deno.test("a 5 % lock-wait change is unchanged at the default 10 % time threshold", () => {
  const a = makeFixture();
  const b = makeFixture();
  b.runs[0].locks["anon_vma.root"].wait.p99 = 1050;
  const cmp = compareResults(a, b);
  assert.equal(cmp.ok, true);
  assert.deepEqual(cmp.regressions, []);
  assert.equal(cmp.unchanged, compareResults(a, a).unchanged);
  // ...and a regression at 1 %.
  const strict = compareResults(a, b, { timeThreshold: 0.01 });
  assert.equal(strict.ok, false);
  // The class's own figure, and the derived worst wait p99 of the scheme's own and all locks.
  assert.deepEqual(strict.regressions.map((r) => r.metric), [
    "locks.owned.wait.p99",
    "locks.all.wait.p99",
    "locks.anon_vma.root.wait.p99",
  ]);
  assert.equal(strict.regressions[2].kind, "time");
  assert.ok(Math.abs(strict.regressions[2].change - 0.05) < 1e-12);
});

Deno.test("decreases are improvements, directionless counters are changes", () => {
  const a = makeFixture();
  const b = makeFixture();
  b.runs[1].walks.referenced.visits.p99 = 1;
  b.runs[1].counters.anon_vma_reuse = 100;
  b.runs[1].oracle.mismatches = 1;
  const cmp = compareResults(a, b);
  // The kind's p99 and the worst-kind p99 (10 -> 6, the unmap walks' p99).
  assert.deepEqual(cmp.improvements.map((c) => c.metric), [
    "walks.all.visits.p99",
    "walks.referenced.visits.p99",
  ]);
  assert.deepEqual(cmp.changed.map((c) => c.metric), ["counters.anon_vma_reuse"]);
  assert.deepEqual(cmp.regressions.map((c) => c.metric), ["oracle.mismatches"]);
  assert.equal(cmp.regressions[0].change, Infinity);
  assert.equal(cmp.ok, false);
});

Deno.test("missing runs fail, added runs and metrics are listed", () => {
  const a = makeFixture();
  const b = makeFixture();
  const removed = b.runs.splice(3, 1)[0];
  removed.id = "anon_vma_lazy/mremap";
  b.runs.push(removed);
  delete b.runs[0].locks.mmap_lock;
  b.runs[0].counters.new_counter = 1;
  b.suite.seed = 7;
  const cmp = compareResults(a, b);
  assert.equal(cmp.ok, false);
  assert.deepEqual(cmp.missing.filter((m) => m.metric === null), [{
    run: "cow_context/mremap",
    metric: null,
  }]);
  assert.ok(
    cmp.missing.some((m) =>
      m.run === "anon_vma/fork_tree" && m.metric === "locks.mmap_lock.wait.p99"
    ),
  );
  assert.deepEqual(cmp.added, [
    { run: "anon_vma/fork_tree", metric: "counters.new_counter" },
    { run: "anon_vma_lazy/mremap", metric: null },
  ]);
  assert.deepEqual(cmp.warnings, ["Seeds differ: baseline 42, current 7", NO_REPEATS]);
});

Deno.test("compareMarkdown prints the verdict and only what changed", () => {
  const a = makeFixture();
  const b = makeFixture();
  b.runs[0].slab.final.objects.anon_vma += 1;
  const md = compareMarkdown(compareResults(a, b));
  const lines = md.split("\n");
  assert.equal(lines[0], "## rmapbench comparison: REGRESSED");
  assert.ok(lines[2].startsWith("1 regressions, 0 improvements, 0 other changes, "));
  assert.ok(
    lines[2].endsWith("thresholds: counts exact, times 10%. All metrics are smaller-is-better."),
  );
  assert.ok(
    md.includes("| `anon_vma/fork_tree` | `slab.final.objects.anon_vma` | 3 | 4 | +33.3% |"),
  );
  assert.ok(!md.includes("Improvements"));
  assert.equal(compareMarkdown(compareResults(a, a)).split("\n")[0], "## rmapbench comparison: OK");
  assert.equal(formatChange(-0.125), "-12.5%");
  assert.equal(formatChange(Infinity), "+∞");
});

Deno.test("compareResults rejects negative thresholds", () => {
  const a = makeFixture();
  assert.throws(() => compareResults(a, a, { timeThreshold: -1 }), {
    message: "Option timeThreshold must be a non-negative number, got -1",
  });
});

/** The fixture with `n` repeats per run: repeat k scales run figures by `scale(k)` (metrics only). */
function withRepeats(
  doc: Results,
  seeds: number[],
  value: (metric: string, base: number, k: number) => number,
): Results {
  for (const r of doc.runs) {
    const base = metricValues(r);
    r.repeats = seeds.map((seed, k) => ({
      repeat: k,
      seed,
      metrics: Object.fromEntries(
        Object.entries(base).map(([m, v]) => [m, value(m, v, k)]),
      ),
    }));
    r.aggregates = aggregateRepeats(r.repeats);
    r.seed = seeds[0];
  }
  doc.suite.repeat = seeds.length;
  doc.suite.repeatSeeds = seeds;
  return doc;
}

// Noise of ±2 % around the figure, different for the two seed sets.
const NOISE_A = [0, 0.02, -0.01, 0.015, -0.02];
const NOISE_B = [0.01, -0.015, 0.02, -0.02, 0.005];

Deno.test("with repeats, seed noise within the threshold and not significant compares clean", () => {
  const a = withRepeats(makeFixture(), [1, 2, 3, 4, 5], (_, v, k) => v * (1 + NOISE_A[k]));
  const b = withRepeats(makeFixture(), [6, 7, 8, 9, 10], (_, v, k) => v * (1 + NOISE_B[k]));
  const cmp = compareResults(a, b);
  assert.equal(cmp.ok, true);
  assert.deepEqual([cmp.regressions, cmp.improvements, cmp.changed], [[], [], []]);
  assert.deepEqual(cmp.repeats, { baseline: 5, current: 5 });
});

Deno.test("with repeats, a significant change beyond the threshold is a regression", () => {
  const a = withRepeats(makeFixture(), [1, 2, 3, 4, 5], (_, v, k) => v * (1 + NOISE_A[k]));
  const b = withRepeats(
    makeFixture(),
    [6, 7, 8, 9, 10],
    (m, v, k) => v * (m === "latency.fork.p99" ? 1.5 : 1) * (1 + NOISE_B[k]),
  );
  const cmp = compareResults(a, b);
  assert.equal(cmp.ok, false);
  const forks = cmp.regressions.filter((r) => r.metric === "latency.fork.p99");
  assert.equal(forks.length, 4);
  assert.equal(forks[0].method, "welch");
  assert.ok(forks[0].p! < 0.001);
  assert.equal(forks[0].baselineCi!.length, 2);
  // Every other figure only moved by noise.
  assert.deepEqual(cmp.regressions.filter((r) => r.metric !== "latency.fork.p99"), []);
  // A 50 % change stays below a 60 % time threshold: significant but not beyond it.
  assert.equal(compareResults(a, b, { timeThreshold: 0.6 }).ok, true);
});

Deno.test("with the same seeds, times are tested as pairs: a 3 % shift under ±20 % seed noise", () => {
  // Each seed moves every time figure by up to ±20 % on both sides alike; the current fork p99
  // is 3 % higher at every seed. Paired, that is a certain change; as independent samples
  // (Welch) it would be lost in the seed noise.
  const noisy = (v: number, k: number): number => v * (1 + 10 * NOISE_A[k]);
  const a = withRepeats(makeFixture(), [1, 2, 3, 4, 5], (_, v, k) => noisy(v, k));
  const b = withRepeats(
    makeFixture(),
    [1, 2, 3, 4, 5],
    (m, v, k) => noisy(v, k) * (m === "latency.fork.p99" ? 1.03 : 1),
  );
  const cmp = compareResults(a, b, { timeThreshold: 0.01 });
  const forks = cmp.regressions.filter((r) => r.metric === "latency.fork.p99");
  assert.equal(forks.length, 4);
  assert.equal(forks[0].method, "paired");
  assert.ok(forks[0].p! < 0.001, String(forks[0].p));
  assert.deepEqual(cmp.regressions.filter((r) => r.metric !== "latency.fork.p99"), []);
});

Deno.test("with the same seeds, counts are compared exactly per repeat", () => {
  const a = withRepeats(makeFixture(), [1, 2, 3], (_, v, k) => v * (1 + NOISE_A[k]));
  const b = withRepeats(
    makeFixture(),
    [1, 2, 3],
    (m, v, k) => v * (1 + NOISE_A[k]) + (m === "slab.final.objects.anon_vma" && k === 2 ? 1 : 0),
  );
  const cmp = compareResults(a, b);
  const hits = cmp.regressions.filter((r) => r.metric === "slab.final.objects.anon_vma");
  assert.equal(hits.length, 4); // one per run: repeat 2 has one more anon_vma
  assert.equal(hits[0].method, "exact");
  assert.deepEqual(cmp.improvements, []);
});

Deno.test("documents without runs or with no run in common cannot be compared", () => {
  const a = makeFixture();
  const empty = { ...makeFixture(), runs: [] };
  assert.throws(() => compareResults(empty, a), CompareError);
  assert.throws(() => compareResults(a, empty), {
    message: "The current results have no runs",
  });
  const other = makeFixture();
  for (const r of other.runs) r.id = `x/${r.id}`;
  assert.throws(() => compareResults(a, other), /share no run/);
});

Deno.test("differing workload, machine and kernel parameters are one warning line each", () => {
  const a = makeFixture();
  const b = makeFixture();
  b.runs[0].workload.params.depth = 4;
  a.runs[0].machine = { cpus: 8 };
  b.runs[0].machine = { cpus: 2 };
  a.runs[0].kernel = { anonFolioOrder: 0 };
  b.runs[0].kernel = { anonFolioOrder: 4 };
  const w = compareResults(a, b).warnings;
  assert.ok(w.includes("Run anon_vma/fork_tree: workload parameters differ: depth 3 → 4"));
  assert.ok(w.includes("Run anon_vma/fork_tree: machine parameters differ: cpus 8 → 2"));
  assert.ok(w.includes("Run anon_vma/fork_tree: kernel parameters differ: anonFolioOrder 0 → 4"));
});

Deno.test("a single-run baseline is compared with the repeat of the same seed only", () => {
  const single = makeFixture(); // every run has seed 42
  // Repeat 0 (seed 42) equals the single run; repeats 1 and 2 are 50 % higher.
  const repeated = withRepeats(makeFixture(), [42, 7, 9], (_, v, k) => (k === 0 ? v : v * 1.5));
  const cmp = compareResults(single, repeated);
  assert.deepEqual([cmp.regressions, cmp.improvements, cmp.changed], [[], [], []]);
  assert.ok(cmp.warnings.some((w) => w.includes("only the repeats with the same seed")));
  // Without a common seed the means are compared: +33 % is a regression.
  const other = withRepeats(makeFixture(), [5, 7, 9], (_, v, k) => (k === 0 ? v : v * 1.5));
  assert.equal(compareResults(single, other).ok, false);
});

Deno.test("documents whose repeats recorded other metric names (another version) still compare", () => {
  const a = withRepeats(makeFixture(), [1, 2, 3], (_, v, k) => v * (1 + NOISE_A[k]));
  const b = withRepeats(makeFixture(), [1, 2, 3], (_, v, k) => v * (1 + NOISE_A[k]));
  for (const doc of [a, b]) {
    for (const r of doc.runs) {
      for (const rep of r.repeats!) delete rep.metrics["locks.all.wait.p99"];
      delete r.aggregates;
    }
  }
  for (const r of b.runs) for (const rep of r.repeats!) rep.metrics["old.figure"] = 1;
  const cmp = compareResults(a, b);
  assert.equal(cmp.ok, true);
  assert.ok(!cmp.missing.some((m) => m.metric === "locks.all.wait.p99"));
  assert.ok(cmp.added.some((m) => m.metric === "old.figure"));
});

Deno.test("same seeds: a count beyond the counter threshold in one repeat counts, not the mean", () => {
  // Repeat 2 has one third more anon_vmas (+33 % > 20 %); the mean moves +11 % (3 -> 3.33 and
  // 9 -> 10; the cow_context runs have none).
  const a = withRepeats(makeFixture(), [1, 2, 3], (_, v) => v);
  const b = withRepeats(
    makeFixture(),
    [1, 2, 3],
    (m, v, k) => (m === "slab.final.objects.anon_vma" && k === 2 ? v * 4 / 3 : v),
  );
  const cmp = compareResults(a, b, { counterThreshold: 0.2 });
  assert.equal(cmp.ok, false);
  assert.deepEqual(cmp.regressions.map((r) => [r.run, r.metric, r.method, r.baseline, r.current]), [
    ["anon_vma/fork_tree", "slab.final.objects.anon_vma", "exact", 3, 3.33333333333],
    ["anon_vma/mremap", "slab.final.objects.anon_vma", "exact", 9, 10],
  ]);
});

Deno.test("same seeds: a count up in one repeat and down in another (same mean) is unchanged", () => {
  const a = withRepeats(makeFixture(), [1, 2, 3], (_, v) => v);
  const b = withRepeats(
    makeFixture(),
    [1, 2, 3],
    (m, v, k) => (m === "slab.final.objects.anon_vma" ? v + [0, 1, -1][k] : v),
  );
  const cmp = compareResults(a, b);
  assert.equal(cmp.ok, true);
  assert.deepEqual([cmp.regressions, cmp.improvements, cmp.changed], [[], [], []]);
  assert.equal(cmp.unchanged, compareResults(a, a).unchanged);
});

Deno.test("the same seeds in another order are not paired: Welch's test, not a paired one", () => {
  const a = withRepeats(makeFixture(), [1, 2, 3, 4, 5], (_, v, k) => v * (1 + NOISE_A[k]));
  const b = withRepeats(
    makeFixture(),
    [5, 4, 3, 2, 1],
    (m, v, k) => v * (m === "latency.fork.p99" ? 1.5 : 1) * (1 + NOISE_B[k]),
  );
  const cmp = compareResults(a, b);
  assert.deepEqual(
    cmp.regressions.map((r) => [r.metric, r.method]),
    Array(4).fill(["latency.fork.p99", "welch"]),
  );
});

Deno.test("a metric missing from a matched run is listed but does not fail the comparison", () => {
  const a = makeFixture();
  const b = makeFixture();
  delete b.runs[2].counters["merge_failed.anon_vma"];
  const cmp = compareResults(a, b);
  assert.deepEqual(cmp.missing, [{
    run: "anon_vma/mremap",
    metric: "counters.merge_failed.anon_vma",
  }]);
  assert.deepEqual([cmp.regressions, cmp.improvements, cmp.changed], [[], [], []]);
  assert.equal(cmp.ok, true);
  const md = compareMarkdown(cmp);
  assert.equal(md.split("\n")[0], "## rmapbench comparison: OK");
  assert.ok(md.includes("### Missing (1)\n\n- `anon_vma/mremap` `counters.merge_failed.anon_vma`"));
});

Deno.test("single runs of different seeds, or kernel parameters on one side, are warned about", () => {
  const a = makeFixture();
  const b = makeFixture();
  b.runs[1].seed = 7;
  a.runs[0].kernel = { anonFolioOrder: 0 };
  assert.deepEqual(compareResults(a, b).warnings, [
    NO_REPEATS,
    "Run anon_vma/fork_tree: kernel parameters recorded on one side only (baseline " +
    "anonFolioOrder=0)",
    "Run cow_context/fork_tree: seeds differ: baseline 42, current 7",
  ]);
  assert.deepEqual(compareResults(b, a).warnings, [
    NO_REPEATS,
    "Run anon_vma/fork_tree: kernel parameters recorded on one side only (baseline " +
    "(not recorded))",
    "Run cow_context/fork_tree: seeds differ: baseline 7, current 42",
  ]);
});
