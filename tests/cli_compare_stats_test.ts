/**
 * The statistical `compare` must-shows (issue 9), through the CLI in this process:
 *
 * - the same code under two disjoint seed sets (`--repeat 5`, seeds 1 and 2) compares clean:
 *   exit 0, nothing flagged (a comparison that calls seed noise a regression would fail here);
 * - a real change (`fork-storm` with `regions=16` against the default 8) is flagged and exits 1
 *   (a comparison that hides real changes behind its statistics would fail here);
 * - `report` of a written results.json gives the same files as the run that wrote it.
 *
 * The fork storm is scaled down (`depth=3`, `rounds=1`, two schemes) so the file stays fast; the
 * default suite's must-shows are the same commands without those parameters.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type CliIo, main } from "../cli.ts";
import { parseResults } from "../reports/results.ts";
import { OUTPUT_FILES } from "../cli/outputs.ts";

const BASE = [
  "--workload",
  "fork-storm",
  "--scheme",
  "anon_vma,cow_context",
  "--param",
  "depth=3",
  "--param",
  "rounds=1",
  "--repeat",
  "5",
  "--jobs",
  "1",
];

function io(): CliIo & { text: () => string } {
  const parts: string[] = [];
  return {
    out: (t) => parts.push(t),
    err: (t) => parts.push(t),
    interactive: false,
    text: () => parts.join(""),
  };
}

async function run(args: string[]): Promise<{ code: number; text: string }> {
  const o = io();
  const code = await main(args, o);
  return { code, text: o.text() };
}

Deno.test("compare: disjoint seed sets with --repeat 5 compare clean; regions=16 is flagged", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rmapbench-cmp-" });
  try {
    const s1 = await run(["run", ...BASE, "--seed", "1", "--out", `${dir}/s1`]);
    assert.equal(s1.code, 0, s1.text);
    const s2 = await run(["run", ...BASE, "--seed", "2", "--out", `${dir}/s2`]);
    assert.equal(s2.code, 0, s2.text);
    const r16 = await run([
      "run",
      ...BASE,
      "--seed",
      "1",
      "--param",
      "regions=16",
      "--out",
      `${dir}/r16`,
    ]);
    assert.equal(r16.code, 0, r16.text);

    // Re-rendering the document gives the same files as the run that wrote it.
    const again = await run(["report", `${dir}/s1/results.json`, "--out", `${dir}/s1-again`]);
    assert.equal(again.code, 0, again.text);
    for (const f of OUTPUT_FILES) {
      assert.equal(
        await Deno.readTextFile(`${dir}/s1-again/${f}`),
        await Deno.readTextFile(`${dir}/s1/${f}`),
        f,
      );
    }

    // The seed sets are disjoint and paired across schemes.
    const d1 = parseResults(await Deno.readTextFile(`${dir}/s1/results.json`));
    const d2 = parseResults(await Deno.readTextFile(`${dir}/s2/results.json`));
    const seeds1 = d1.suite.repeatSeeds!;
    const seeds2 = d2.suite.repeatSeeds!;
    assert.equal(seeds1.length, 5);
    assert.ok(seeds1.every((s) => !seeds2.includes(s)));
    for (const r of d1.runs) assert.deepEqual(r.repeats!.map((x) => x.seed), seeds1);

    const clean = await run([
      "compare",
      `${dir}/s1/results.json`,
      `${dir}/s2/results.json`,
      "--out",
      `${dir}/c12`,
    ]);
    assert.equal(clean.code, 0, clean.text);
    assert.match(clean.text, /comparison: OK/);
    assert.match(clean.text, /^0 regressions, 0 improvements, 0 other changes, \d+ unchanged/m);

    const flagged = await run([
      "compare",
      `${dir}/s1/results.json`,
      `${dir}/r16/results.json`,
      "--out",
      `${dir}/c16`,
    ]);
    assert.equal(flagged.code, 1, flagged.text);
    assert.match(flagged.text, /comparison: REGRESSED/);
    // Twice the regions: twice the live anon_vmas at the end, flagged as an exact count.
    assert.match(
      flagged.text,
      /\| `anon_vma\/fork-storm` \| `slab\.final\.objects\.anon_vma` \| \d+ \| \d+ \| \+100\.0% \| exact, same seeds \|/,
    );
    // The changed parameter is named in a one-line warning.
    assert.match(
      flagged.text,
      /Run anon_vma\/fork-storm: workload parameters differ: regions 8 → 16/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an old (version 1) document is refused naming its version; a document without runs cannot be compared", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rmapbench-v1-" });
  try {
    const v1 = {
      schemaVersion: 1,
      tool: { name: "rmapbench", version: "0.1.0" },
      suite: { command: "bench", seed: 1, schemes: [], workloads: [], costProfile: "default" },
      environment: { generatedAt: "", deno: "", v8: "", os: "", arch: "", cpus: 1 },
      runs: [],
    };
    await Deno.writeTextFile(`${dir}/v1.json`, JSON.stringify(v1));
    const r = await run(["report", `${dir}/v1.json`, "--out", `${dir}/out`]);
    assert.equal(r.code, 2);
    assert.equal(
      r.text,
      `error: input "${dir}/v1.json" is not a valid results document: Invalid results at ` +
        "schemaVersion: this is a version 1 document (single runs, no rmapBytes, no repeats); " +
        "this rmapbench reads version 2 only: re-run the command in its suite.command\n",
    );
    await Deno.writeTextFile(`${dir}/empty.json`, JSON.stringify({ ...v1, schemaVersion: 2 }));
    const c = await run(["compare", `${dir}/empty.json`, `${dir}/empty.json`, "--out", `${dir}/c`]);
    assert.equal(c.code, 2);
    assert.equal(
      c.text,
      `error: baseline "${dir}/empty.json" has no runs; write one with bench, run or sweep\n`,
    );
    // Nothing was written.
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
      "empty.json",
      "v1.json",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
