/**
 * Progress within a run: `runOne` reports simulated time and steps while it simulates, and the
 * terminal progress line shows them after the current run's id.
 *
 * @module
 */

import assert from "node:assert/strict";
import { assertEquals } from "./assert.ts";
import { runOne, type RunProgress } from "../runner/recorder.ts";
import { Progress } from "../cli/progress.ts";

Deno.test("progress: runOne reports growing simulated time and steps, same figures", () => {
  const seen: RunProgress[] = [];
  const opts = {
    scheme: "anon_vma",
    workload: "fork-storm",
    params: { mode: "breadth", children: 2, regions: 4, pages: 1100, rounds: 1 },
  };
  const r = runOne(opts, { onProgress: (p) => seen.push(p), progressIntervalMs: 0 });
  // Every 4,096th step reports (interval 0): a run of this size has several thousand steps.
  assert.ok(seen.length >= 1, `no progress in ${r.ops} operations`);
  for (let i = 1; i < seen.length; i++) {
    assert.ok(seen[i].steps === seen[i - 1].steps + 4096);
    assert.ok(seen[i].simulatedNs >= seen[i - 1].simulatedNs);
  }
  // Progress is checked after the 4,096th step (counted once it was dispatched), not the 1st.
  assertEquals(seen[0], { simulatedNs: 2232740, steps: 4096 });
  assertEquals(seen.length, 1);
  // Reporting progress does not change the run.
  assert.deepEqual(runOne(opts), r);
});

Deno.test("progress: the rewritten line shows the current run's simulated time and steps", () => {
  const out: string[] = [];
  const p = new Progress(2, { interactive: true, write: (t) => out.push(t), now: () => 0 });
  p.started("anon_vma/fork-storm");
  p.within("anon_vma/fork-storm", 12_345_678, 40960);
  assert.ok(out[out.length - 1].endsWith("anon_vma/fork-storm (sim 12.3 ms, 40960 steps)"));
  p.finished("anon_vma/fork-storm");
  assert.ok(!out[out.length - 1].includes("sim "));
  p.end();
});
