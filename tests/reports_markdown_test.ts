import assert from "node:assert/strict";
import { escapeMarkdown, inlineCode, summaryMarkdown } from "../reports/markdown.ts";
import { bencherMetricFormat, bmfJson, customSmallerIsBetter } from "../reports/bmf.ts";
import { makeFixture, withRepeats } from "./fixtures/results_fixture.ts";
import { metricValues } from "../reports/metrics.ts";
import { aggregateRepeats } from "../reports/repeats.ts";

Deno.test("summaryMarkdown starts with the verdicts, then every figure of the console table", () => {
  const md = summaryMarkdown(makeFixture());
  const lines = md.split("\n");
  assert.equal(lines[0], "## rmapbench summary");
  assert.equal(lines[2], "rmapbench 0.1.0 · seed 42 · cost profile `default` · 4 runs");
  assert.equal(lines[4], "### Verdicts: each scheme against `anon_vma`");
  const verdictHeader = "| scheme | rmap bytes | rmap bytes peak | walk visits mean | " +
    "walk visits p99 | useless % | own lock hold p99 | own lock wait p99 | trylock failures | " +
    "fork p99 | exit p99 | fault p99 |";
  const at = lines.indexOf("#### `fork_tree`");
  assert.ok(at > 0 && at < lines.indexOf("### Figures"));
  assert.deepEqual(lines.slice(at, at + 6), [
    "#### `fork_tree`",
    "",
    verdictHeader,
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    // The baseline's means; 632 B = 3 anon_vmas × 104 + 5 AVCs × 64; no exit or fault ops.
    "| `anon_vma` | 0.6 KiB | 1.2 KiB | 3.1 | 5 | 27.9 % | 400 ns | 1000 ns | 1 | 9000 ns | – | – |",
    // One repeat: ratios without intervals, said so in each cell.
    "| `cow_context` | 0.81 (1 repeat) | 0.81 (1 repeat) | 2.00 (1 repeat) | 2.00 (1 repeat) | " +
    "1.00 (1 repeat) | 1.00 (1 repeat) | 2.00 (1 repeat) | 2.00 (1 repeat) | 2.00 (1 repeat) | " +
    "– | – |",
  ]);
  assert.ok(md.includes("### Across workloads"));
  assert.ok(md.includes(
    "- `cow_context`: no significant difference in any of 0 figures with an interval.",
  ));
  const header =
    "| scheme | VMAs | anon_vma | AVC | cow_ctx | rmap KiB | rmap peak KiB | slab KiB " +
    "| peak slab KiB | visits mean | p99 | max | useless % | own lock acq | work under lock " +
    "| hold p99 ns | wait p99 ns | trylock fail |";
  assert.equal(lines.filter((l) => l === header).length, 2);
  const figures = lines.indexOf("#### `fork_tree`", at + 1);
  assert.deepEqual(lines.slice(figures + 4, figures + 6), [
    "| `anon_vma` | 10 | 3 | 5 | 0 | 0.6 | 1.2 | 4.6 | 9.1 | 3.1 | 5 | 6 | 27.9 | 30 | 40 | 400 " +
    "| 1000 | 1 |",
    "| `cow_context` | 20 | 0 | 0 | 4 | 0.5 | 1.0 | 8.4 | 16.8 | 6.1 | 10 | 12 | 27.9 | 60 | 80 " +
    "| 400 | 2000 | 2 |",
  ]);
  assert.ok(!md.includes("Correctness"));
  assert.ok(md.endsWith("|\n"));
});

Deno.test("summaryMarkdown calls out oracle mismatches and leaks", () => {
  const r = makeFixture();
  r.runs[2].oracle.mismatches = 2;
  r.runs[2].oracle.leakFree = false;
  assert.ok(
    summaryMarkdown(r).includes(
      "> **Correctness:** `anon_vma/mremap`: 2 oracle mismatches, slab objects leaked",
    ),
  );
});

Deno.test("markdown escaping keeps table cells intact", () => {
  assert.equal(inlineCode("a|b`c"), "`a\\|b'c`");
  assert.equal(escapeMarkdown("<b>|x\ny"), "&lt;b&gt;\\|x y");
});

Deno.test("bencherMetricFormat has one benchmark per run and smaller-is-better measures", () => {
  const bmf = bencherMetricFormat(makeFixture());
  assert.deepEqual(Object.keys(bmf), [
    "anon_vma/fork_tree",
    "cow_context/fork_tree",
    "anon_vma/mremap",
    "cow_context/mremap",
  ]);
  // One repeat: values only, no interval.
  assert.deepEqual(bmf["anon_vma/fork_tree"], {
    "slab-bytes": { value: 4664 },
    "slab-bytes-peak": { value: 9328 },
    "rmap-bytes": { value: 632 },
    "rmap-bytes-peak": { value: 1264 },
    "anon-vma-objects": { value: 3 },
    "anon-vma-chain-objects": { value: 5 },
    "rmap-walk-visits-p99": { value: 5 },
    "rmap-walk-useless-visits": { value: 12 },
    "lock-wait-p99-ns": { value: 1000 },
    "lock-hold-p99-ns": { value: 400 },
    "own-lock-wait-p99-ns": { value: 1000 },
    "own-lock-hold-p99-ns": { value: 400 },
    "trylock-failures": { value: 1 },
    "fork-p99-ns": { value: 9000 },
    "exit-p99-ns": { value: 0 },
    "fault-p99-ns": { value: 0 },
    "simulated-ns": { value: 1000000 },
    "oracle-mismatches": { value: 0 },
  });
  assert.equal(bmf["cow_context/mremap"]["lock-wait-p99-ns"].value, 4000);
  assert.deepEqual(JSON.parse(bmfJson(makeFixture())), bmf);
});

/** The fixture with three repeats: rmap bytes exact, fork p99 varying ±10 %. */
function repeated(): ReturnType<typeof makeFixture> {
  const doc = makeFixture();
  for (const r of doc.runs) {
    const base = metricValues(r);
    r.repeats = [0.9, 1, 1.1].map((f, k) => ({
      repeat: k,
      seed: [1, 7, 9][k],
      metrics: { ...base, "latency.fork.p99": base["latency.fork.p99"] * f },
    }));
    r.aggregates = aggregateRepeats(r.repeats);
  }
  return doc;
}

Deno.test("with repeats, bmf.json has the 95 % interval as lower_value and upper_value", () => {
  const m = bencherMetricFormat(repeated())["anon_vma/fork_tree"];
  assert.deepEqual(m["rmap-bytes"], { value: 632, lower_value: 632, upper_value: 632 });
  const fork = m["fork-p99-ns"];
  assert.equal(fork.value, 9000);
  // mean 9000, sd 900, t(0.975, 2) = 4.3027: half-width 900 · 4.3027 / √3 = 2235.7.
  assert.ok(Math.abs(fork.upper_value! - 9000 - 2235.7) < 0.1, JSON.stringify(fork));
  assert.ok(Math.abs(9000 - fork.lower_value! - 2235.7) < 0.1);
});

Deno.test("customSmallerIsBetter entries carry the mean, its range and the seeds in extra", () => {
  const entries = customSmallerIsBetter(makeFixture());
  assert.equal(entries.length, 4 * 18);
  assert.deepEqual(entries[0], {
    name: "anon_vma/fork_tree slab-bytes",
    unit: "bytes",
    value: 4664,
    extra: 'n=1 seeds=42 params: branching=2,depth=3,note=a,"quoted" value',
  });
  const e = customSmallerIsBetter(repeated()).find((x) =>
    x.name === "cow_context/fork_tree fork-p99-ns"
  )!;
  assert.equal(e.value, 18000);
  assert.match(e.range!, /^± 4471\.\d+$/);
  assert.match(e.extra!, /^n=3 seeds=1,7,9 95% CI \[13528\.\d+, 22471\.\d+\] params: /);
});

Deno.test("summaryMarkdown calls out a leak without mismatches", () => {
  const r = makeFixture();
  r.runs[1].oracle.leakFree = false;
  const md = summaryMarkdown(r);
  assert.ok(
    md.includes(
      "> **Correctness:** `cow_context/fork_tree`: 0 oracle mismatches, slab objects leaked",
    ),
  );
  assert.equal(md.split("\n").filter((l) => l.startsWith("> **Correctness:**")).length, 1);
});

Deno.test("summaryMarkdown: a missing baseline is named; unlisted schemes sort last", () => {
  const r = makeFixture();
  r.suite.baselineScheme = "no_such";
  // anon_vma is not among the requested schemes: its runs come after cow_context's.
  r.suite.schemes = ["cow_context"];
  const lines = summaryMarkdown(r).split("\n");
  assert.equal(lines[4], "No verdicts: the baseline scheme `no_such` did not run.");
  const at = lines.indexOf("#### `fork_tree`");
  assert.deepEqual(lines.slice(at + 4, at + 6).map((l) => l.split(" | ")[0]), [
    "| `cow_context`",
    "| `anon_vma`",
  ]);
});

Deno.test("escapeMarkdown escapes backslashes and ampersands before they change meaning", () => {
  // `a\|b`: the backslash is escaped too (`\\`), then the pipe (`\|`): a\\\|b keeps one cell.
  assert.equal(escapeMarkdown("a\\|b"), "a\\\\\\|b");
  // A literal entity stays literal text: & becomes &amp; (before < and > become entities).
  assert.equal(escapeMarkdown("x &lt; y & z"), "x &amp;lt; y &amp; z");
  assert.equal(escapeMarkdown("<&>"), "&lt;&amp;&gt;");
});

Deno.test("summaryMarkdown: the verdicts claim an interval only when there are repeats", () => {
  // One run per scheme: a ratio of two figures, no interval (each cell says "(1 repeat)").
  const one = summaryMarkdown(makeFixture());
  assert.ok(one.includes("ratio of the scheme's figure to `anon_vma`'s from one run each"), one);
  assert.ok(!one.includes("95 % confidence interval"));
  // Three paired repeats: the ratio of the means with its Fieller interval.
  const three = summaryMarkdown(withRepeats(makeFixture(), [1, 2, 3], {}));
  assert.ok(
    three.includes("over 3 paired repeats (same seeds), with its 95 % confidence interval"),
    three,
  );
});
