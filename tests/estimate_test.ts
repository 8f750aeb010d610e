/**
 * Memory estimates: a run that cannot fit in the heap is refused before it starts (exit 2, one
 * line naming the estimate, the limit and the driving parameters), and default runs are not.
 *
 * @module
 */

import assert from "node:assert/strict";
import { estimatedHeapBytes, fitProblem, HEAP_BYTES_PER_OBJECT } from "../workloads/estimate.ts";
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

Deno.test("estimate: without exitChildren every round's children stay alive", () => {
  // exitChildren=false keeps each round's processes to the end of the run (the parameter's
  // description), so the estimate counts rounds × children live processes: breadth, 2 children,
  // 3 rounds, 1 region of 2 pages, cowFraction 0.5 (1 CoW page per child), 6 live children:
  //   vmas  = 1 × (1 + 6) = 7      ptes = 2 × (1 + 6) = 14     folios = 2 + 1 × 6 = 8
  //   avcs  = 1 × (1 + 6 + 6 × 1) = 13 (two per region per breadth child, §12.5 E3)
  //   workloadBytes = 8 × (2 × 2 + 1 × 6) = 80
  const params = resolveParams(FORK_STORM, {
    mode: "breadth",
    children: 2,
    rounds: 3,
    regions: 1,
    pages: 2,
    cowFraction: 0.5,
    exitChildren: false,
    probeWalks: 0,
  });
  const e = FORK_STORM.estimate!(params);
  assert.deepEqual(e.objects, { vmas: 7, ptes: 14, folios: 8, avcs: 13, workloadBytes: 80 });
  assert.deepEqual(e.drivers, ["regions", "pages", "children", "rounds"]);
  // The run itself ends with those VMAs, AVCs and folios (6 forks, all children alive).
  const r = runOne({
    scheme: "anon_vma",
    workload: "fork-storm",
    params,
    seed: 1,
    machine: { reclaimIntervalNs: 0, migrateIntervalNs: 0 },
  });
  assert.equal(r.counters.forks, 6);
  assert.equal(r.slab.final.objects.vm_area_struct, 7);
  assert.equal(r.slab.final.objects.anon_vma_chain, 13);
  assert.equal(r.counters.anon_folios_final, 8);
});

Deno.test("estimate: heap bytes per object are the bench:scale measurements", () => {
  // estimate.ts: a faulted one-page VMA is 397 B (VMA, anon_vma, its page and its AVC); a page
  // of a large VMA 138 B, of which a fork's copied PTE is 49 B; an AVC 80 B. The VMA's own share
  // is what remains of the 397 B after its page and its AVC.
  assert.deepEqual(HEAP_BYTES_PER_OBJECT, { vmas: 179, ptes: 49, folios: 89, avcs: 80 });
  const one = { vmas: 1, ptes: 1, folios: 1, avcs: 1, workloadBytes: 0 };
  assert.equal(estimatedHeapBytes(one), 397);
  assert.equal(estimatedHeapBytes({ ...one, vmas: 0, avcs: 0 }), 138);
  assert.equal(
    estimatedHeapBytes({ vmas: 2, ptes: 3, folios: 5, avcs: 7, workloadBytes: 11 }),
    2 * 179 + 3 * 49 + 5 * 89 + 7 * 80 + 11,
  );
});

Deno.test("estimate: a run whose estimate equals the heap limit fits; one byte more does not", () => {
  // fitProblem refuses a run that needs "more than" the limit: at the limit it fits.
  const est = () => ({
    objects: { vmas: 0, ptes: 0, folios: 0, avcs: 0, workloadBytes: 1000 },
    drivers: ["regions"],
  });
  assert.equal(fitProblem("Run w", { regions: 4 }, est, 1000), null);
  assert.equal(
    fitProblem("Run w", { regions: 4 }, est, 999),
    "Run w would need about 1000 B of JS heap, more than the 999 B heap limit; the estimate " +
      "is driven by regions=4 (lower them, or raise the limit with " +
      "--v8-flags=--max-old-space-size=MiB)",
  );
});

Deno.test("estimate: an estimate that rounds to the limit's figure is given in bytes", () => {
  // 2048 B and 2047 B both read "2.0 KiB" rounded; the refusal must not say "2.0 KiB, more than
  // the 2.0 KiB limit".
  const est = () => ({
    objects: { vmas: 0, ptes: 0, folios: 0, avcs: 0, workloadBytes: 2048 },
    drivers: ["regions"],
  });
  assert.equal(
    fitProblem("Run w", { regions: 4 }, est, 2047),
    "Run w would need about 2048 B of JS heap, more than the 2047 B heap limit; the estimate " +
      "is driven by regions=4 (lower them, or raise the limit with " +
      "--v8-flags=--max-old-space-size=MiB)",
  );
  assert.ok(fitProblem("Run w", { regions: 4 }, est, 1024)!.includes("2.0 KiB of JS heap"));
  assert.ok(fitProblem("Run w", { regions: 4 }, est, 1024)!.includes("the 1.0 KiB heap limit"));
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

/**
 * Runs cli.ts with `args` and `--out DIR/out` in a new directory DIR: the command must exit 2
 * with one stderr line matching `pattern`, and write nothing.
 */
async function assertRefused(args: string[], pattern: RegExp): Promise<void> {
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
        ...args,
        "--out",
        `${dir}/out`,
      ],
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(out.stderr).trim();
    assert.equal(out.code, 2, err);
    assert.equal(err.split("\n").length, 1, err);
    assert.match(err, pattern);
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const BREADTH_4096 = ["--param", "mode=breadth", "--param", "regions=4096"];

Deno.test("estimate: the CLI refuses the run with exit 2 before simulating", async () => {
  await assertRefused(
    [
      ...["run", "--workload", "fork-storm", "--scheme", "anon_vma", ...BREADTH_4096],
      ...["--param", "pages=1048576", "--param", "children=4096"],
    ],
    /heap limit; the estimate is driven by regions=4096, pages=1048576/,
  );
});

Deno.test("estimate: a sweep is refused before its first run when a later point cannot fit", async () => {
  // pages=16 fits (a few MB); pages=2^20 over 4096 regions would need about 1.7 TiB.
  await assertRefused(
    [
      ...["sweep", "--workload", "fork-storm", "--scheme", "anon_vma", ...BREADTH_4096],
      ...["--param", "children=4", "--param", "pages=16,1048576"],
    ],
    /^error: run anon_vma\/fork-storm\[pages=1048576\] would need about /,
  );
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
