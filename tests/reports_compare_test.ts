import assert from "node:assert/strict";
import { compareMarkdown, compareResults, formatChange } from "../reports/compare.ts";
import { makeFixture } from "./fixtures/results_fixture.ts";

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
    [],
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
  assert.equal(strict.regressions[0].metric, "locks.anon_vma.root.wait.p99");
  assert.equal(strict.regressions[0].kind, "time");
  assert.ok(Math.abs(strict.regressions[0].change - 0.05) < 1e-12);
});

Deno.test("decreases are improvements, directionless counters are changes", () => {
  const a = makeFixture();
  const b = makeFixture();
  b.runs[1].walks.referenced.visits.p99 = 1;
  b.runs[1].counters.anon_vma_reuse = 100;
  b.runs[1].oracle.mismatches = 1;
  const cmp = compareResults(a, b);
  assert.deepEqual(cmp.improvements.map((c) => c.metric), ["walks.referenced.visits.p99"]);
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
  assert.deepEqual(cmp.warnings, ["Seeds differ: baseline 42, current 7"]);
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
