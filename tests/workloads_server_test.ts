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
  assert.equal(r.counters.forks, 16);
  assert.equal(r.counters.exits, 16);
  assert.equal(r.counters.vmas_final, 2);
  assert.equal(r.counters.faults_cow_copy, 11);
  const rows = Object.fromEntries(r.extraTables![0].rows.map(([k, v]) => [k, v]));
  assert.ok(Number(rows.requests) >= 40);
  assert.ok(Number(rows.children_recycled) > 0);
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
