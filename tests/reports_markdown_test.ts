import assert from "node:assert/strict";
import { escapeMarkdown, inlineCode, summaryMarkdown } from "../reports/markdown.ts";
import { bencherMetricFormat, bmfJson, customSmallerIsBetter } from "../reports/bmf.ts";
import { makeFixture } from "./fixtures/results_fixture.ts";

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
  assert.deepEqual(bmf["anon_vma/fork_tree"], {
    "slab-bytes": { value: 4664 },
    "slab-bytes-peak": { value: 9328 },
    "anon-vma-objects": { value: 3 },
    "anon-vma-chain-objects": { value: 5 },
    "rmap-walk-visits-p99": { value: 5 },
    "rmap-walk-useless-visits": { value: 12 },
    "lock-wait-p99-ns": { value: 1000 },
    "lock-hold-p99-ns": { value: 400 },
    "trylock-failures": { value: 1 },
    "simulated-ns": { value: 1000000 },
    "oracle-mismatches": { value: 0 },
  });
  assert.equal(bmf["cow_context/mremap"]["lock-wait-p99-ns"].value, 4000);
  assert.deepEqual(JSON.parse(bmfJson(makeFixture())), bmf);
});

Deno.test("customSmallerIsBetter entries have exactly name, unit and value", () => {
  const entries = customSmallerIsBetter(makeFixture());
  assert.equal(entries.length, 4 * 11);
  assert.deepEqual(entries[0], {
    name: "anon_vma/fork_tree slab-bytes",
    unit: "bytes",
    value: 4664,
  });
  assert.deepEqual(
    entries.find((e) => e.name === "cow_context/fork_tree rmap-walk-visits-p99"),
    { name: "cow_context/fork_tree rmap-walk-visits-p99", unit: "visits", value: 10 },
  );
  for (const e of entries) assert.deepEqual(Object.keys(e), ["name", "unit", "value"]);
});
