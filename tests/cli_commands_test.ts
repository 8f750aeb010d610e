/**
 * End-to-end tests of the CLI commands, each spawning `deno run cli.ts` in a fresh process:
 * list, run (every output, determinism), --jobs, --shard + merge, compare, report, help.
 *
 * Runs are kept small (a breadth fork storm with few children) so the file stays fast.
 *
 * @module
 */

import assert from "node:assert/strict";
import { SCHEMES } from "../core/rmap/registry.ts";
import { WORKLOADS } from "../workloads/registry.ts";
import { MACHINE_PARAM_SPECS } from "../runner/recorder.ts";
import { COST_PROFILES } from "../core/machine/cost_model.ts";
import { parseResults, stableStringify, withoutEnvironment } from "../reports/results.ts";
import { OUTPUT_FILES } from "../cli/outputs.ts";

function includes(text: string, part: string, message?: string): void {
  assert.ok(text.includes(part), message ?? `expected ${JSON.stringify(part)} in:\n${text}`);
}

const CLI = new URL("../cli.ts", import.meta.url).pathname;
const PERMISSIONS = ["--allow-read", "--allow-write", "--allow-env", "--allow-sys"];

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(...args: string[]): Promise<Outcome> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...PERMISSIONS, CLI, ...args],
    env: { CI: "1", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** A small, fast run: two schemes, a breadth fork storm with few children, one round. */
const SMALL = [
  "--workload",
  "fork-storm",
  "--scheme",
  "anon_vma,anon_vma-2026",
  "--param",
  "mode=breadth",
  "--param",
  "children=3",
  "--param",
  "rounds=1",
  "--param",
  "regions=2",
  "--param",
  "pages=4",
];

/** A small sweep: 2 schemes × 3 children counts × 2 CPU counts = 12 runs. */
const SMALL_SWEEP = [
  "--workload",
  "fork-storm",
  "--scheme",
  "anon_vma,anon_vma-2026",
  "--param",
  "mode=breadth",
  "--param",
  "children=1..5:2",
  "--param",
  "rounds=1",
  "--param",
  "regions=2",
  "--param",
  "pages=4",
  "--machine",
  "cpus=1,4",
];

function readResultsFile(path: string): ReturnType<typeof parseResults> {
  return parseResults(Deno.readTextFileSync(path));
}

function stable(path: string): string {
  return stableStringify(withoutEnvironment(readResultsFile(path)));
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "rmapbench-cli-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("cli list names every scheme, workload parameter, machine parameter and profile", async () => {
  const r = await cli("list");
  assert.deepStrictEqual(r.code, 0, r.stderr);
  for (const s of SCHEMES) includes(r.stdout, s.info.id);
  for (const w of WORKLOADS) {
    includes(r.stdout, w.id);
    for (const p of w.params) {
      includes(r.stdout, p.name);
      includes(r.stdout, p.unit || "-");
      includes(r.stdout, p.description);
      includes(r.stdout, p.source);
    }
  }
  for (const p of MACHINE_PARAM_SPECS) includes(r.stdout, p.name);
  for (const name of Object.keys(COST_PROFILES)) includes(r.stdout, name);

  const j = await cli("list", "--json");
  assert.deepStrictEqual(j.code, 0, j.stderr);
  const doc = JSON.parse(j.stdout);
  assert.deepStrictEqual(
    doc.schemes.map((s: { id: string }) => s.id),
    SCHEMES.map((s) => s.info.id),
  );
  assert.deepStrictEqual(
    doc.workloads.map((w: { id: string }) => w.id),
    WORKLOADS.map((w) => w.id),
  );
});

Deno.test("cli --help works for every command", async () => {
  for (const cmd of ["bench", "run", "sweep", "compare", "report", "merge", "list"]) {
    const r = await cli(cmd, "--help");
    assert.deepStrictEqual(r.code, 0, r.stderr);
    includes(r.stdout, `Usage: cli.ts ${cmd}`);
  }
  const top = await cli("--help");
  assert.deepStrictEqual(top.code, 0);
  includes(top.stdout, "Commands:");
});

Deno.test("cli run writes every output file, deterministically for a seed", async () => {
  await withTempDir(async (dir) => {
    const a = await cli("run", ...SMALL, "--seed", "7", "--out", `${dir}/a`);
    assert.deepStrictEqual(a.code, 0, a.stderr);
    assert.match(a.stdout, /total wall time \d/);
    for (const f of OUTPUT_FILES) {
      const info = Deno.statSync(`${dir}/a/${f}`);
      assert(info.isFile && info.size > 0, `${f} is missing or empty`);
    }
    // Nothing but the outputs (no temporary files left behind).
    assert.deepStrictEqual(
      [...Deno.readDirSync(`${dir}/a`)].map((e) => e.name).sort(),
      [...OUTPUT_FILES].sort(),
    );

    const b = await cli("run", ...SMALL, "--seed", "7", "--out", `${dir}/b`);
    assert.deepStrictEqual(b.code, 0, b.stderr);
    assert.deepStrictEqual(stable(`${dir}/b/results.json`), stable(`${dir}/a/results.json`));
    // Everything rendered from the stable part is identical too.
    for (const f of ["summary.csv", "walks.csv", "locks.csv", "timeseries.csv", "bmf.json"]) {
      assert.deepStrictEqual(
        Deno.readTextFileSync(`${dir}/b/${f}`),
        Deno.readTextFileSync(`${dir}/a/${f}`),
        f,
      );
    }

    const doc = readResultsFile(`${dir}/a/results.json`);
    assert.deepStrictEqual(doc.runs.map((r) => r.id), [
      "anon_vma/fork-storm",
      "anon_vma-2026/fork-storm",
    ]);
    assert.deepStrictEqual(doc.suite.seed, 7);
    assert.deepStrictEqual(doc.runs[0].workload.params.children, 3);
    for (const k of ["generatedAt", "deno", "v8", "typescript", "os", "arch", "cpus"]) {
      assert(doc.environment[k] !== undefined, `environment.${k} is missing`);
    }
    assert(typeof doc.environment.wallSeconds === "number");

    const c = await cli("run", ...SMALL, "--seed", "8", "--out", `${dir}/c`);
    assert.deepStrictEqual(c.code, 0, c.stderr);
    assert(stable(`${dir}/c/results.json`) !== stable(`${dir}/a/results.json`));
  });
});

Deno.test("cli sweep: --jobs 2 equals --jobs 1, and merged shards equal the whole", async () => {
  await withTempDir(async (dir) => {
    const one = await cli("sweep", ...SMALL_SWEEP, "--jobs", "1", "--out", `${dir}/one`);
    assert.deepStrictEqual(one.code, 0, one.stderr);
    const two = await cli("sweep", ...SMALL_SWEEP, "--jobs", "2", "--out", `${dir}/two`);
    assert.deepStrictEqual(two.code, 0, two.stderr);
    const whole = stable(`${dir}/one/results.json`);
    assert.deepStrictEqual(stable(`${dir}/two/results.json`), whole);

    const doc = readResultsFile(`${dir}/one/results.json`);
    assert.deepStrictEqual(doc.runs.length, 12);
    assert.deepStrictEqual(doc.runs[0].id, "anon_vma/fork-storm[children=1,machine.cpus=1]");
    assert.deepStrictEqual(doc.runs[11].id, "anon_vma-2026/fork-storm[children=5,machine.cpus=4]");

    for (const i of [0, 1]) {
      const s = await cli("sweep", ...SMALL_SWEEP, "--shard", `${i}/2`, "--out", `${dir}/s${i}`);
      assert.deepStrictEqual(s.code, 0, s.stderr);
      assert.deepStrictEqual(readResultsFile(`${dir}/s${i}/results.json`).runs.length, 6);
    }
    // Order of the files does not matter.
    const m = await cli(
      "merge",
      `${dir}/s1/results.json`,
      `${dir}/s0/results.json`,
      "--out",
      `${dir}/merged`,
    );
    assert.deepStrictEqual(m.code, 0, m.stderr);
    assert.deepStrictEqual(stable(`${dir}/merged/results.json`), whole);
    for (const f of OUTPUT_FILES) assert(Deno.statSync(`${dir}/merged/${f}`).isFile);

    // A missing shard is an error.
    const bad = await cli("merge", `${dir}/s0/results.json`, "--out", `${dir}/bad`);
    assert.deepStrictEqual(bad.code, 2);
    includes(bad.stderr, "1/2");
  });
});

Deno.test("cli compare: identical is OK, one fewer anon_vma in the baseline regresses", async () => {
  await withTempDir(async (dir) => {
    const a = await cli("run", ...SMALL, "--out", `${dir}/cur`);
    assert.deepStrictEqual(a.code, 0, a.stderr);
    const same = await cli(
      "compare",
      `${dir}/cur/results.json`,
      `${dir}/cur/results.json`,
      "--out",
      `${dir}/cmp-same`,
    );
    assert.deepStrictEqual(same.code, 0, same.stderr);
    includes(same.stdout, "OK");
    includes(Deno.readTextFileSync(`${dir}/cmp-same/compare.md`), "0 regressions");

    // One fewer anon_vma in every repeat of the baseline (same seeds: compared exactly).
    const doc = readResultsFile(`${dir}/cur/results.json`);
    const run = doc.runs[0];
    const which = run.slab.final.objects.anon_vma > 0 ? "final" : "peak";
    for (const r of run.repeats!) r.metrics[`slab.${which}.objects.anon_vma`] -= 1;
    delete run.aggregates;
    Deno.writeTextFileSync(`${dir}/baseline.json`, stableStringify(doc));
    const reg = await cli(
      "compare",
      `${dir}/baseline.json`,
      `${dir}/cur/results.json`,
      "--out",
      `${dir}/cmp-reg`,
    );
    assert.deepStrictEqual(reg.code, 1, reg.stderr);
    const md = Deno.readTextFileSync(`${dir}/cmp-reg/compare.md`);
    includes(md, "REGRESSED");
    includes(md, `slab.${which}.objects.anon_vma`);
    includes(md, run.id);
    includes(reg.stdout, `slab.${which}.objects.anon_vma`);
  });
});

Deno.test("cli report re-renders every output from a results file", async () => {
  await withTempDir(async (dir) => {
    const a = await cli("run", ...SMALL, "--out", `${dir}/a`);
    assert.deepStrictEqual(a.code, 0, a.stderr);
    const r = await cli("report", `${dir}/a/results.json`, "--self-contained", "--out", `${dir}/r`);
    assert.deepStrictEqual(r.code, 0, r.stderr);
    for (const f of OUTPUT_FILES) {
      if (f === "report.html") continue;
      assert.deepStrictEqual(
        Deno.readTextFileSync(`${dir}/r/${f}`),
        Deno.readTextFileSync(`${dir}/a/${f}`),
        f,
      );
    }
    const html = Deno.readTextFileSync(`${dir}/r/report.html`);
    includes(html, "Chart.js v4.6.1");
    assert(!html.includes(`import("https://esm.sh`), "the self-contained page imports esm.sh");
  });
});
