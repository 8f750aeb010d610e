/**
 * Memory estimates: a run that cannot fit in the heap is refused before it starts (exit 2, one
 * line naming the estimate, the limit and the driving parameters), and default runs are not.
 *
 * @module
 */

import assert from "node:assert/strict";
import { estimatedHeapBytes, fitProblem } from "../workloads/estimate.ts";
import { FORK_STORM } from "../workloads/fork_storm.ts";
import { resolveParams } from "../workloads/workload.ts";
import { WORKLOADS } from "../workloads/registry.ts";
import { runOne } from "../runner/recorder.ts";

const GIB = 2 ** 30;

Deno.test("estimate: fork-storm counts the root and every live child", () => {
  const p = resolveParams(FORK_STORM, {
    mode: "breadth",
    regions: 2,
    pages: 4,
    children: 3,
    cowFraction: 0.5,
  });
  const e = FORK_STORM.estimate!(p);
  // Root: 2 VMAs, 8 PTEs, 8 folios, 2 AVCs; each child: 2 VMAs, 8 PTEs, 4 CoW folios, 4 AVCs.
  assert.deepEqual(e.objects, {
    vmas: 2 * 4,
    ptes: 8 * 4,
    folios: 8 + 4 * 3,
    avcs: 2 + 4 * 3,
    workloadBytes: 8 * (2 * 8 + 4 * 3),
  });
  assert.deepEqual(e.drivers, ["regions", "pages", "children"]);
  const chain = FORK_STORM.estimate!(
    resolveParams(FORK_STORM, { mode: "chain", generations: 3, regions: 1, pages: 1 }),
  );
  // A live chain of 3 below the root: 1 + 2 + 3 + 4 AVCs (d + 1 at depth d).
  assert.equal(chain.objects.avcs, 10);
});

Deno.test("estimate: every workload's default run fits in 1 GiB", () => {
  for (const w of WORKLOADS) {
    if (!w.estimate) continue;
    const e = w.estimate(resolveParams(w, {}));
    assert.ok(estimatedHeapBytes(e.objects) < GIB, `${w.id}: ${JSON.stringify(e.objects)}`);
  }
});

Deno.test("estimate: the breadth storm of 4096 x 2^20 pages x 4096 children is refused", () => {
  const params = resolveParams(FORK_STORM, {
    mode: "breadth",
    regions: 4096,
    pages: 1048576,
    children: 4096,
  });
  const line = fitProblem("Run x", params, FORK_STORM.estimate, 8 * GIB)!;
  assert.ok(line !== null);
  assert.ok(!line.includes("\n"));
  assert.match(line, /about [\d.]+ PiB of JS heap, more than the 8\.0 GiB heap limit/);
  assert.ok(line.includes("regions=4096, pages=1048576, children=4096"), line);
});

Deno.test("estimate: the CLI refuses the run with exit 2 before simulating", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-read",
        "--allow-write",
        "--allow-env",
        "--allow-sys",
        new URL("../cli.ts", import.meta.url).pathname,
        "run",
        "--workload",
        "fork-storm",
        "--scheme",
        "anon_vma",
        "--param",
        "mode=breadth",
        "--param",
        "regions=4096",
        "--param",
        "pages=1048576",
        "--param",
        "children=4096",
        "--out",
        `${dir}/out`,
      ],
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(out.stderr).trim();
    assert.equal(out.code, 2);
    assert.equal(err.split("\n").length, 1, err);
    assert.match(err, /heap limit; the estimate is driven by regions=4096, pages=1048576/);
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("estimate: VMAs and AVCs of default runs are within a factor of 2 of the peaks", () => {
  for (const w of WORKLOADS) {
    if (!w.estimate) continue;
    const e = w.estimate(resolveParams(w, {})).objects;
    const r = runOne({ scheme: "anon_vma", workload: w.id });
    const peak = r.slab.peak.objects;
    for (
      const [est, got, what] of [
        [e.vmas, peak.vm_area_struct, "VMAs"],
        [e.avcs, peak.anon_vma_chain, "AVCs"],
      ] as const
    ) {
      assert.ok(est >= got / 2 && est <= got * 2, `${w.id}: ${what} estimated ${est}, peak ${got}`);
    }
  }
});
