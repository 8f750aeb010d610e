import assert from "node:assert/strict";
import { escapeMarkdown, inlineCode, summaryMarkdown } from "../reports/markdown.ts";
import { bencherMetricFormat, bmfJson, customSmallerIsBetter } from "../reports/bmf.ts";
import { makeFixture } from "./fixtures/results_fixture.ts";

Deno.test("summaryMarkdown prints one GFM table per workload with exact rows", () => {
  const md = summaryMarkdown(makeFixture());
  const lines = md.split("\n");
  assert.equal(lines[0], "## rmapbench summary");
  assert.equal(lines[2], "rmapbench 0.1.0 · seed 42 · cost profile `default` · 4 runs");
  const header =
    "| scheme | slab KiB | peak slab KiB | anon_vma | AVC | walk visits p99 | useless % | lock wait p99 (ns) | trylock failures |";
  assert.equal(lines.filter((l) => l === header).length, 2);
  const at = lines.indexOf("### `fork_tree`");
  assert.deepEqual(lines.slice(at, at + 6), [
    "### `fork_tree`",
    "",
    header,
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    "| `anon_vma` | 4.6 | 9.1 | 3 | 5 | 5 | 27.9 | 1000 (`anon_vma.root`) | 1 |",
    "| `cow_context` | 8.4 | 16.8 | 0 | 0 | 10 | 27.9 | 2000 (`cow_context.lock`) | 2 |",
  ]);
  assert.ok(
    md.includes("| `anon_vma` | 13.7 | 27.3 | 9 | 15 | 15 | 27.9 | 3000 (`anon_vma.root`) | 3 |"),
  );
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
