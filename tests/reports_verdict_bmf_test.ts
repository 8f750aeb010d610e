// Verdicts against the baseline scheme and the Bencher Metric Format export, pinned on small
// hand-built repeats: a verdict says "better", "worse" or "n.s." only as its interval says, shows
// the baseline's mean over the repeats in its unit, and bmf.json exports the mean with its interval
// under one benchmark name per run (sweep points included).

import assert from "node:assert/strict";
import {
  baselineSchemeOf,
  formatFigure,
  formatRatio,
  schemeOutcomes,
  verdicts,
  type VerdictStatus,
} from "../reports/verdict.ts";
import { bencherMetricFormat, customSmallerIsBetter } from "../reports/bmf.ts";
import { pairedRatio, studentTQuantile } from "../reports/inference.ts";
import type { Results } from "../reports/results.ts";
import {
  FORK_TREE_REPEATS,
  makeFixture,
  makeSweepFixture,
  withRepeats,
} from "./fixtures/results_fixture.ts";

function planned(): Results {
  return withRepeats(makeFixture(), [1, 2, 3], FORK_TREE_REPEATS);
}

function cells(doc: Results, row: number): [VerdictStatus, string][] {
  return verdicts(doc)[0].rows[row].cells.map((c) => [c.status, c.text]);
}

Deno.test("verdict: an interval below 1 is better, above 1 worse, across 1 n.s.", () => {
  assert.deepEqual(cells(planned(), 1), [
    ["better", "0.40 [0.00, 0.60]"],
    ["better", "0.81 (exact)"],
    ["no-difference", "5.00 [0.00, 12.5] n.s."],
    ["worse", "2.13 [1.84, 2.38]"],
    ["equal", "="],
    ["no-difference", "1.00 [0.85, 1.19] n.s."],
    ["worse", "2.00 (exact)"],
    ["no-interval", "∞ (baseline 0)"],
    ["better", "0.50 (exact)"],
    ["absent", "–"],
    ["absent", "–"],
  ]);
});

Deno.test("verdict: the baseline row shows its means over the repeats in KiB, ns or µs", () => {
  // Repeat 0 has 4096 rmap bytes and walk p99 5; the means are 5120 B and 31/6.
  assert.deepEqual(cells(planned(), 0), [
    ["baseline", "5.0 KiB"],
    ["baseline", "1.2 KiB"],
    ["baseline", "10"],
    ["baseline", "5.2"],
    ["baseline", "27.9 %"],
    ["baseline", "400 ns"],
    ["baseline", "1000 ns"],
    ["baseline", "0"],
    ["baseline", "18.0 µs"],
    ["absent", "–"],
    ["absent", "–"],
  ]);
  assert.equal(formatFigure(5120, "bytes"), "5.0 KiB");
  assert.equal(formatFigure(1536, "bytes"), "1.5 KiB");
  assert.equal(formatFigure(9999, "ns"), "9999 ns");
  assert.equal(formatFigure(10_000, "ns"), "10.0 µs");
  assert.equal(formatFigure(12.5, "%"), "12.5 %");
  assert.equal(formatFigure(2.5, "visits"), "2.5");
  assert.equal(formatFigure(3, "count"), "3");
});

Deno.test("verdict: against a baseline of 0 only exact repeats on both sides are worse", () => {
  const noisy = cells(planned(), 1)[7];
  assert.deepEqual(noisy, ["no-interval", "∞ (baseline 0)"]);
  const doc = withRepeats(makeFixture(), [1, 2, 3], {
    "anon_vma/fork_tree": { "locks.all.trylockFailures": [0, 0, 0] },
    "cow_context/fork_tree": { "locks.all.trylockFailures": [2, 2, 2] },
  });
  assert.deepEqual(cells(doc, 1)[7], ["worse", "∞ (baseline 0)"]);
});

Deno.test("verdict summary: a cell with no interval is neither a difference nor same", () => {
  // One repeat each: every ratio is "(1 repeat)", so nothing is compared.
  const single = schemeOutcomes(verdicts(makeFixture()));
  assert.deepEqual(single.map((o) => [o.scheme, o.better.size, o.worse.size, o.same, o.total]), [
    ["cow_context", 0, 0, 0, 0],
  ]);
  const [o] = schemeOutcomes(verdicts(planned()));
  // fork_tree: 8 compared cells (trylock failures has no interval, exit and fault are absent);
  // mremap: 9 exact cells (its runs keep one value in every repeat).
  assert.deepEqual([o.same, o.total], [5, 17]);
  assert.deepEqual(Object.fromEntries(o.better), {
    "rmap bytes": ["fork_tree", "mremap"],
    "rmap bytes peak": ["fork_tree", "mremap"],
    "fork p99": ["fork_tree"],
  });
  assert.deepEqual(Object.fromEntries(o.worse), {
    "walk visits p99": ["fork_tree", "mremap"],
    "own lock wait p99": ["fork_tree", "mremap"],
    "walk visits mean": ["mremap"],
    "trylock failures": ["mremap"],
    "fork p99": ["mremap"],
  });
});

Deno.test("verdict: the suite's baseline scheme is the one compared against", () => {
  const doc = makeFixture();
  doc.suite.baselineScheme = "cow_context";
  assert.equal(baselineSchemeOf(doc), "cow_context");
  const [v] = verdicts(doc);
  assert.equal(v.baselineScheme, "cow_context");
  assert.deepEqual(v.rows.map((r) => r.run.scheme.id), ["cow_context", "anon_vma"]);
  // 632 rmap bytes against cow_context's 512.
  assert.deepEqual(cells(doc, 1)[0], ["no-interval", "1.23 (1 repeat)"]);
  doc.suite.baselineScheme = "no_such";
  assert.equal(baselineSchemeOf(doc), null);
  assert.deepEqual(verdicts(doc), []);
});

Deno.test("verdict: repeats of other seeds give the ratio of the means, unpaired", () => {
  const doc = planned();
  const cow = doc.runs[1];
  cow.repeats = cow.repeats!.map((r) => ({ ...r, seed: r.seed + 100 }));
  const c = cells(doc, 1);
  // Means 2048 / 5120 and 50 / 10 (repeat 0 alone would give 1024 / 4096 and 20 / 10).
  assert.deepEqual(c[0], ["no-interval", "0.40 (unpaired)"]);
  assert.deepEqual(c[2], ["no-interval", "5.00 (unpaired)"]);
});

Deno.test("formatRatio: ratios below 0.01 or from 1000 up are written with an exponent", () => {
  assert.equal(formatRatio(pairedRatio([1, 1], [250, 250])), "4.0e-3 (exact)");
  assert.equal(formatRatio(pairedRatio([1, 1], [100, 100])), "0.01 (exact)");
  assert.equal(formatRatio(pairedRatio([3000, 3000], [1, 1])), "3.0e+3 (exact)");
  assert.equal(formatRatio(pairedRatio([123, 123], [1, 1])), "123 (exact)");
});

function near(actual: number | undefined, expected: number, what: string): void {
  assert.ok(actual !== undefined && Math.abs(actual - expected) < 1e-6, `${what}: ${actual}`);
}

Deno.test("bmf.json exports the mean over the repeats with its 95 % interval", () => {
  const doc = planned();
  const m = bencherMetricFormat(doc)["anon_vma/fork_tree"];
  // rmap bytes 4096, 5120, 6144: mean 5120, sd 1024, half-width t(0.975, 2) · 1024 / √3.
  const half = studentTQuantile(0.975, 2) * 1024 / Math.sqrt(3);
  assert.equal(m["rmap-bytes"].value, 5120);
  near(m["rmap-bytes"].lower_value, 5120 - half, "lower");
  near(m["rmap-bytes"].upper_value, 5120 + half, "upper");
  assert.deepEqual(m["fork-p99-ns"], { value: 18000, lower_value: 18000, upper_value: 18000 });
  const cow = bencherMetricFormat(doc)["cow_context/fork_tree"];
  assert.equal(cow["rmap-walk-visits-p99"].value, 11);
  assert.equal(cow["trylock-failures"].value, 2);
  const entry = customSmallerIsBetter(doc).find((e) => e.name === "anon_vma/fork_tree rmap-bytes");
  assert.equal(entry?.value, 5120);
});

Deno.test("bmf.json has one benchmark per sweep point", () => {
  const bmf = bencherMetricFormat(makeSweepFixture([{ children: 1 }, { children: 4 }]));
  assert.deepEqual(Object.keys(bmf), [
    "anon_vma/fork-storm[children=1]",
    "cow_context/fork-storm[children=1]",
    "anon_vma/fork-storm[children=4]",
    "cow_context/fork-storm[children=4]",
  ]);
  // The fixture scales every figure by children: at 1, final slab bytes of 4664 (anon_vma) and
  // 4288 (cow_context: 1920 VMAs + 512 maple nodes + 1600 mm + 256 cow_context); four times at 4.
  assert.deepEqual(
    Object.values(bmf).map((m) => m["slab-bytes"].value),
    [4664, 4288, 4664 * 4, 4288 * 4],
  );
});
