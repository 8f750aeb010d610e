import assert from "node:assert/strict";
import { parse } from "npm:csv-parse@7.0.3/sync";
import {
  histogramText,
  locksCsv,
  summaryCsv,
  timeseriesCsv,
  walkHistogramCsv,
  walksCsv,
} from "../reports/csv.ts";
import { fixtureSummary, makeFixture } from "./fixtures/results_fixture.ts";
import { RESULT_SLAB_CACHES } from "../reports/results.ts";

/** Parses CSV text into objects keyed by the header row. */
function table(text: string): Record<string, string>[] {
  return parse(text, { columns: true }) as Record<string, string>[];
}

Deno.test("summaryCsv has one row per scheme × workload with exact cells", () => {
  const text = summaryCsv(makeFixture());
  const rows = table(text);
  assert.deepEqual(rows.map((r) => r.run), [
    "anon_vma/fork_tree",
    "cow_context/fork_tree",
    "anon_vma/mremap",
    "cow_context/mremap",
  ]);
  const r = rows[0];
  assert.equal(r.scheme, "anon_vma");
  // Strings with commas and quotes survive the round trip.
  assert.equal(r.scheme_title, "anon_vma (Linux 6.18, classic)");
  assert.equal(r.params, 'branching=2;depth=3;note=a,"quoted" value');
  assert.ok(text.includes('"branching=2;depth=3;note=a,""quoted"" value"'));
  assert.equal(r.seed, "42");
  assert.equal(r.simulated_ns, "1000000");
  assert.equal(r.cpu_utilisation, "0.25");
  assert.equal(r["live_objects.anon_vma"], "3");
  assert.equal(r["live_objects.anon_vma_chain"], "5");
  assert.equal(r["live_bytes.anon_vma"], "312");
  assert.equal(r["live_bytes.total"], "4664");
  assert.equal(r["rmap_bytes.final"], "632");
  assert.equal(r["rmap_bytes.peak"], "1264");
  assert.equal(r["peak_objects.anon_vma"], "6");
  assert.equal(r["peak_bytes.anon_vma_chain"], "640");
  assert.equal(r["peak_bytes.total"], "9328");
  assert.equal(r["walk.referenced.visits_mean"], "3.5");
  assert.equal(r["walk.referenced.visits_p50"], "2");
  assert.equal(r["walk.referenced.visits_p99"], "5");
  assert.equal(r["walk.referenced.visits_max"], "6");
  assert.equal(r["walk.referenced.useless_total"], "10");
  assert.equal(r["walk.unmap.visits_p99"], "3");
  assert.equal(r["lock.anon_vma.root.hold_p99_ns"], "400");
  assert.equal(r["lock.anon_vma.root.wait_p99_ns"], "1000");
  assert.equal(r["lock.anon_vma.root.wait_max_ns"], "2000");
  assert.equal(r["lock.anon_vma.root.trylock_failures"], "1");
  // A lock class the run does not have gives empty cells.
  assert.equal(r["lock.cow_context.lock.wait_p99_ns"], "");
  assert.equal(rows[1]["lock.cow_context.lock.wait_p99_ns"], "2000");
  assert.equal(rows[1]["lock.anon_vma.root.wait_p99_ns"], "");
  assert.equal(r["trylock_failures.total"], "1");
  assert.equal(r["latency.fork.p50_ns"], "5000");
  assert.equal(r["latency.fork.p99_ns"], "9000");
  assert.equal(r["latency.mmap.p99_ns"], "700");
  assert.equal(r["oracle.leak_free"], "true");
  assert.equal(rows[3]["live_objects.cow_context"], "8");
});

Deno.test("summaryCsv column order follows the simulator's cache, walk and op order", () => {
  const header = summaryCsv(makeFixture()).split("\n")[0].split(",");
  assert.deepEqual(header.slice(0, 11), [
    "run",
    "scheme",
    "scheme_title",
    "workload",
    "params",
    "seed",
    "simulated_ns",
    "ops",
    "cpu_utilisation",
    "live_objects.vm_area_struct",
    "live_objects.anon_vma",
  ]);
  assert.ok(header.indexOf("walk.referenced.count") < header.indexOf("walk.unmap.count"));
  assert.ok(header.indexOf("latency.mmap.p50_ns") < header.indexOf("latency.fork.p50_ns"));
  assert.ok(
    header.indexOf("lock.anon_vma.root.wait_p99_ns") < header.indexOf("lock.mmap_lock.wait_p99_ns"),
  );
});

Deno.test("timeseriesCsv is long format with one row per run, point and cache", () => {
  const rows = table(timeseriesCsv(makeFixture()));
  assert.equal(rows.length, 4 * 3 * RESULT_SLAB_CACHES.length); // runs x points x caches
  assert.deepEqual(rows[0], {
    run: "anon_vma/fork_tree",
    scheme: "anon_vma",
    workload: "fork_tree",
    t_ns: "0",
    cache: "vm_area_struct",
    bytes: "0",
  });
  const peak = rows.find((r) =>
    r.run === "anon_vma/fork_tree" && r.t_ns === "1000" && r.cache === "anon_vma"
  );
  assert.equal(peak?.bytes, "624");
});

Deno.test("walksCsv and walkHistogramCsv carry distributions and buckets", () => {
  const rows = table(walksCsv(makeFixture()));
  assert.equal(rows.length, 8);
  const w = rows.find((r) => r.run === "cow_context/mremap" && r.kind === "referenced");
  assert.equal(w?.count, "10");
  assert.equal(w?.visits_p50, "8");
  assert.equal(w?.visits_p99, "20");
  assert.equal(w?.visits_max, "24");
  assert.equal(w?.useless_sum, "40");
  assert.equal(w?.structures_p99, "3");
  assert.equal(w?.histogram, "1:1 2-3:8 4-7:1");
  const h = table(walkHistogramCsv(makeFixture()));
  assert.equal(h.length, 8 * 3);
  assert.deepEqual(h[1], {
    run: "anon_vma/fork_tree",
    scheme: "anon_vma",
    workload: "fork_tree",
    kind: "referenced",
    lo: "2",
    hi: "3",
    count: "8",
  });
  assert.equal(histogramText([]), "");
});

Deno.test("locksCsv has one row per run and lock class", () => {
  const rows = table(locksCsv(makeFixture()));
  assert.equal(rows.length, 8);
  assert.deepEqual(rows.map((r) => `${r.run} ${r.class}`).slice(0, 2), [
    "anon_vma/fork_tree anon_vma.root",
    "anon_vma/fork_tree mmap_lock",
  ]);
  const l = rows.find((r) => r.run === "anon_vma/mremap" && r.class === "anon_vma.root");
  assert.equal(l?.read_acquisitions, "60");
  assert.equal(l?.write_acquisitions, "30");
  assert.equal(l?.trylock_failures, "3");
  assert.equal(l?.hold_count, "90");
  assert.equal(l?.hold_p50_ns, "100");
  assert.equal(l?.wait_p99_ns, "3000");
  assert.equal(l?.wait_max_ns, "6000");
  assert.equal(l?.work_under_lock, "list_op=30;tree_update=90");
});

Deno.test("summaryCsv keeps read and write acquisitions, walks and contended walks apart", () => {
  const doc = makeFixture();
  // 3 of the 10 referenced walks gave up on a trylock: count stays 10, contended is 3.
  doc.runs[0].walks.referenced.contended = 3;
  const r = table(summaryCsv(doc))[0];
  assert.equal(r["walk.referenced.count"], "10");
  assert.equal(r["walk.referenced.contended"], "3");
  assert.equal(r["walk.unmap.contended"], "0");
  // Fixture lock with k = 1: 20 reads, 10 writes on anon_vma.root; 5 and 5 on mmap_lock.
  assert.equal(r["lock.anon_vma.root.read_acquisitions"], "20");
  assert.equal(r["lock.anon_vma.root.write_acquisitions"], "10");
  assert.equal(table(walksCsv(doc))[0].contended, "3");
});

Deno.test("walksCsv and locksCsv order kinds and classes whatever order they were recorded", () => {
  const doc = makeFixture();
  const run = doc.runs[0];
  // An unmap walk and an mmap_lock acquisition came first in this run.
  run.walks = { unmap: run.walks.unmap, referenced: run.walks.referenced };
  run.locks = { mmap_lock: run.locks.mmap_lock, "anon_vma.root": run.locks["anon_vma.root"] };
  const w = table(walksCsv(doc)).filter((x) => x.run === run.id);
  assert.deepEqual(w.map((x) => x.kind), ["referenced", "unmap"]); // the simulator's order
  const l = table(locksCsv(doc)).filter((x) => x.run === run.id);
  assert.deepEqual(l.map((x) => x.class), ["anon_vma.root", "mmap_lock"]); // alphabetical
});

Deno.test("locksCsv leaves read/write-mode cells empty when a document has no such figures", () => {
  const doc = makeFixture();
  doc.runs[0].locks["anon_vma.root"].readHold = fixtureSummary(20, 50, 200, 300);
  const [root, mmap] = table(locksCsv(doc));
  assert.equal(root.read_hold_count, "20");
  assert.equal(root.read_hold_p99_ns, "200");
  // Absent (an older document), not zero: nothing was measured.
  assert.equal(root.write_hold_count, "");
  assert.equal(root.write_hold_p99_ns, "");
  assert.equal(mmap.read_hold_count, "");
  assert.equal(mmap.read_wait_count, "");
});
