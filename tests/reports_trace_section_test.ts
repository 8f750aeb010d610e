// The trace-replay section of the report names the program and shows its process tree once, next
// to the verdict (not once per scheme at the bottom), with every string from the trace escaped.

import assert from "node:assert/strict";
import { renderHtml } from "../reports/html.ts";
import { makeFixture } from "./fixtures/results_fixture.ts";

Deno.test("report: a replayed trace's program and process tree appear once, escaped", () => {
  const doc = makeFixture();
  for (const r of doc.runs) {
    r.notes = [
      "Trace app: a <forking> demo",
      "Recorded on Linux 6.18 by rmapbench record: ./app",
      "other note",
    ];
    r.extraTables = [
      {
        title: "Trace replay: process tree",
        columns: ["pid", "parent", "created by", "threads", "programs exec'd"],
        rows: [[100, "", "root", 1, "/bin/sh -> <script>x</script>"], [101, 100, "fork", 1, ""]],
      },
      { title: "Trace replay: fidelity", columns: ["class", "count"], rows: [["genuine", 0]] },
    ];
  }
  const page = renderHtml(doc, { selfContained: false });
  // Once per workload section (the fixture's runs span several workloads), not once per run.
  const workloads = new Set(doc.runs.map((r) => r.workload.id)).size;
  assert.ok(doc.runs.length > workloads);
  assert.equal(page.split("Program and process tree").length - 1, workloads);
  assert.ok(page.includes("Trace app: a &lt;forking&gt; demo"));
  assert.ok(!page.includes("other note</pre>\n<table"), "only the program's notes head the tree");
  assert.ok(page.includes("&lt;script&gt;x&lt;/script&gt;"));
  assert.ok(!page.includes("<script>x</script>"));
  // The tree comes after the verdict and before the figures; per-run tables keep the rest.
  const at = (s: string): number => page.indexOf(s);
  assert.ok(at("Program and process tree") > at("verdict-note"));
  assert.ok(at("Program and process tree") < at("<h3>Figures"));
  assert.equal(page.split("Trace replay: process tree (").length - 1, 0);
  assert.equal(page.split("Trace replay: fidelity (").length - 1, doc.runs.length);
});
