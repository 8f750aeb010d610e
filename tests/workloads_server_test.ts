import assert from "node:assert/strict";
import { runOne } from "../runner/recorder.ts";
import type { RunResult } from "../reports/results.ts";
import { SCHEMES } from "../core/rmap/registry.ts";
import { ParamError } from "../workloads/workload.ts";

const QUIET = { reclaimIntervalNs: 0, migrateIntervalNs: 0 };

function server(params: Record<string, number | string>, scheme = "anon_vma"): RunResult {
  return runOne({ scheme, workload: "server-prefork", params, seed: 1, machine: QUIET });
}

const SMALL: Record<string, Record<string, number | string>> = {
  postgres: {
    mode: "postgres",
    backends: 3,
    connections: 4,
    queries: 2,
    heapPages: 16,
    sharedBuffersPages: 16,
    workMemPages: 2,
  },
  apache: {
    mode: "apache",
    heapPages: 16,
    requests: 40,
    maxRequestWorkers: 8,
    maxConnectionsPerChild: 5,
  },
  redis: { mode: "redis", datasetPages: 64, bgsaves: 1, writesPerSave: 32 },
};

Deno.test("server-prefork postgres: backends fork from the postmaster and exit", () => {
  const r = server(SMALL.postgres);
  // 4 connections = 4 forks and 4 exits; the postmaster is left with its heap (faulted, anon_vma
  // A, 1 AVC) and its shared memory (shmem: no anon_vma) = 2 VMAs (§11.2: shared_buffers are not
  // anon rmap).
  assert.equal(r.counters.forks, 4);
  assert.equal(r.counters.exits, 4);
  assert.equal(r.counters.vmas_final, 2);
  assert.equal(r.slab.final.objects.anon_vma, 1);
  assert.equal(r.slab.final.objects.anon_vma_chain, 1);
  // Each backend's heap writes copy (the postmaster's folios stay mapped by it: mapcount 2).
  assert.equal(r.counters.faults_cow_copy, 34);
  // 8 queries in all: each work_mem mmap lands next to the backend's local memory (faulted, its
  // own single-AVC anon_vma, not a fork child) and merges with it (§7 case 2); its munmap splits
  // it off again (8 splits).
  assert.equal(r.counters.merges, 8);
  assert.equal(r.counters.splits, 8);
});

Deno.test("server-prefork apache: spare-server logic and recycling fork and exit children", () => {
  const r = server(SMALL.apache);
  // Seed 1's figures. The load generator sends exactly `requests` (40); before the fix of round
  // 24, children that had looked before a request was counted served 41, and maintenance passes
  // after the last request forked 5 children more (16 forks).
  assert.equal(r.counters.forks, 11);
  assert.equal(r.counters.exits, 11);
  assert.equal(r.counters.vmas_final, 2);
  assert.equal(r.counters.faults_cow_copy, 10);
  const rows = Object.fromEntries(r.extraTables![0].rows.map(([k, v]) => [k, v]));
  assert.equal(rows.requests, 40);
  assert.equal(rows.children_recycled, 5);
});

Deno.test("server-prefork redis: BGSAVE child exits, parent writes copy-on-write (§11.2)", () => {
  const r = server(SMALL.redis);
  // 64 dataset pages, written once (64 new folios, 1 VMA, anon_vma A). One fork; while the child
  // lives every first parent write to a page copies it into A (mapcount 2 → copy: §5.2), later
  // writes reuse the copy. 37 distinct pages were written during the save.
  assert.equal(r.counters.forks, 1);
  assert.equal(r.counters.exits, 1);
  assert.equal(r.counters.faults_anon_new, 64);
  assert.equal(r.counters.faults_cow_copy, 37);
  assert.equal(r.counters.vmas_final, 1);
  assert.equal(r.slab.final.objects.anon_vma, 1);
  assert.equal(r.slab.final.objects.anon_vma_chain, 1);
  assert.equal(r.counters.anon_folios_final, 64);
});

Deno.test("server-prefork postgres: at most `backends` backends live at once", () => {
  // The backends parameter (max_connections scaled): 5 connections through 2 backend slots. Each
  // backend lives for its queries (tens of µs each) while connections arrive every ~10 µs, so
  // the postmaster waits for a slot: at the peak the postmaster and 2 backends = 3 mm_structs.
  const r = server({
    mode: "postgres",
    backends: 2,
    connections: 5,
    queries: 2,
    heapPages: 4,
    sharedBuffersPages: 4,
    workMemPages: 1,
  });
  assert.equal(r.counters.forks, 5);
  assert.equal(r.counters.exits, 5);
  assert.equal(r.slab.peak.objects.mm_struct, 3);
});

Deno.test("server-prefork: every mode under every scheme is leak-free", () => {
  for (const s of SCHEMES) {
    for (const p of Object.values(SMALL)) {
      const r = server(p, s.info.id);
      assert.equal(r.oracle.mismatches, 0);
      assert.ok(r.oracle.leakFree);
    }
  }
});

Deno.test("server-prefork: parameter validation", () => {
  assert.throws(() => server({ mode: "nginx" }), /one of postgres, apache, redis/);
  assert.throws(() => server({ backends: 0 }), ParamError);
  assert.throws(
    () => server({ mode: "apache", minSpareServers: 20, maxSpareServers: 10 }),
    /must not exceed/,
  );
});

Deno.test("server-prefork postgres: backends write local memory and each query's work_mem", () => {
  // Anonymous pages first written (not CoW): the postmaster's heap (16), each of the 4 backends'
  // 32 pages of local memory, and each of the 8 queries' work_mem (2 pages, mmap'd fresh per
  // query): 16 + 4 × 32 + 8 × 2 = 160. shared_buffers are shmem, not anonymous.
  const r = server(SMALL.postgres);
  const rows = Object.fromEntries(r.extraTables![0].rows);
  assert.equal(rows.queries, 8);
  assert.equal(r.counters.faults_anon_new, 16 + 4 * 32 + 8 * 2);
});

/** Apache with a 4-page heap and children that are never recycled. */
const APACHE = { mode: "apache", heapPages: 4, maxConnectionsPerChild: 0 };

Deno.test("server-prefork apache: StartServers children, never more than MaxRequestWorkers", () => {
  // StartServers 1, MaxRequestWorkers 1, MinSpareServers = MaxSpareServers = 3 (equal is
  // valid): the parent forks 1 child at start; the maintenance pass wants 3 idle children but
  // the cap leaves no room (1 - 1 = 0 more), so the one child serves all 10 requests, never
  // recycled (maxConnectionsPerChild 0 = never) nor retired: at most 2 mm_structs, and one fork
  // (a maintenance pass after the last request was taken forked a second child before round 24).
  const r = server({
    ...APACHE,
    startServers: 1,
    minSpareServers: 3,
    maxSpareServers: 3,
    maxRequestWorkers: 1,
    requests: 10,
  });
  const rows = Object.fromEntries(r.extraTables![0].rows);
  assert.equal(rows.requests, 10);
  assert.equal(rows.children_recycled, undefined);
  assert.equal(rows.children_retired, undefined);
  assert.equal(r.slab.peak.objects.mm_struct, 2);
  assert.equal(r.counters.forks, 1);
});

Deno.test("server-prefork apache: idle children are retired only above MaxSpareServers", () => {
  // 3 children at start, MinSpareServers 0 (no maintenance forks), cap 3. Some maintenance pass
  // finds all 3 idle: with MaxSpareServers 3 that is not more than the maximum (no retirement,
  // the 3 children exit at the end); with MaxSpareServers 2 one child is retired, and then 2
  // children can never be more than 2 idle.
  // 100 requests: the run reaches a quiet phase (long idle waits), where a pass finds all 3 idle.
  const p = { ...APACHE, startServers: 3, minSpareServers: 0, maxRequestWorkers: 3, requests: 100 };
  for (const [maxSpareServers, retired] of [[3, undefined], [2, 1]] as const) {
    const r = server({ ...p, maxSpareServers });
    const rows = Object.fromEntries(r.extraTables![0].rows);
    assert.equal(rows.children_retired, retired, `maxSpareServers ${maxSpareServers}`);
    assert.equal(r.counters.forks, 3);
    assert.equal(r.counters.exits, 3);
  }
});

Deno.test("server-prefork apache: children recycle after maxConnectionsPerChild requests", () => {
  // One worker at a time (StartServers, spare bounds and cap all 1), 2 requests per child, 6
  // requests: three children serve 2 requests each and are recycled.
  const r = server({
    mode: "apache",
    heapPages: 4,
    startServers: 1,
    minSpareServers: 1,
    maxSpareServers: 1,
    maxRequestWorkers: 1,
    maxConnectionsPerChild: 2,
    requests: 6,
  });
  const rows = Object.fromEntries(r.extraTables![0].rows);
  assert.equal(rows.requests, 6);
  assert.equal(rows.children_recycled, 3);
  assert.equal(r.slab.peak.objects.mm_struct, 2);
  assert.equal(r.counters.forks, 3); // 4 before round 24 (a fork after the last request)
});
