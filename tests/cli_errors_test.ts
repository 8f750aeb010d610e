/**
 * Bad input to the CLI: each case spawns `deno run cli.ts` and checks that stderr is exactly one
 * line naming the problem (and the valid choices where there are some), the exit code is 2, and
 * the output directory is unchanged (no new, partial or clobbered files).
 *
 * @module
 */

import assert from "node:assert/strict";
import { SCHEMES } from "../core/rmap/registry.ts";

function includes(text: string, part: string, message?: string): void {
  assert.ok(text.includes(part), message ?? `expected ${JSON.stringify(part)} in:\n${text}`);
}

const CLI = new URL("../cli.ts", import.meta.url).pathname;
const PERMISSIONS = ["--allow-read", "--allow-write", "--allow-env", "--allow-sys"];
const SENTINEL = "results.json";
const SENTINEL_TEXT = "not touched\n";

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...PERMISSIONS, CLI, ...args],
    env: { CI: "1", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

function listing(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

interface Case {
  name: string;
  /** Arguments; `OUT` is replaced by the output directory, `DIR` by the temp directory. */
  args: string[];
  /** Substrings the error line must contain. */
  expect: string[];
  /** Expected exit code (default 2). */
  code?: number;
}

const RUN = ["run", "--workload", "fork-storm", "--scheme", "anon_vma", "--out", "OUT"];

const CASES: Case[] = [
  { name: "unknown command", args: ["frobnicate"], expect: ['"frobnicate"', "valid: bench, run"] },
  {
    name: "unknown scheme",
    args: ["run", "--workload", "fork-storm", "--scheme", "foo", "--out", "OUT"],
    expect: ['unknown scheme "foo"', `valid: ${SCHEMES.map((s) => s.info.id).join(", ")}`],
  },
  {
    name: "unknown workload",
    args: ["run", "--workload", "nope", "--out", "OUT"],
    expect: ['unknown workload "nope"', "valid: ", "fork-storm"],
  },
  {
    name: "unknown parameter",
    args: [...RUN, "--param", "nope=1"],
    expect: ['unknown parameter "nope"', "valid: ", "children"],
  },
  {
    name: "unknown machine parameter",
    args: [...RUN, "--machine", "cores=2"],
    expect: ['unknown machine parameter "cores"', "valid: cpus"],
  },
  {
    name: "out-of-range value",
    args: [...RUN, "--param", "children=0"],
    expect: ["children", "must be an integer in [1,"],
  },
  {
    name: "out-of-range machine value",
    args: [...RUN, "--machine", "cpus=100000"],
    expect: ["cpus", "[1, 256]"],
  },
  {
    name: "bad enum value",
    args: [...RUN, "--param", "mode=sideways"],
    expect: ["mode", "one of", "breadth"],
  },
  { name: "malformed k=v", args: [...RUN, "--param", "children"], expect: ["key=value"] },
  {
    name: "malformed k=v (empty value)",
    args: [...RUN, "--param", "children="],
    expect: ["key=value"],
  },
  {
    name: "range outside sweep",
    args: [...RUN, "--param", "children=1..4"],
    expect: ["use sweep"],
  },
  {
    name: "empty sweep range",
    args: ["sweep", "--workload", "fork-storm", "--param", "children=8..1", "--out", "OUT"],
    expect: ["empty"],
  },
  { name: "unknown option", args: [...RUN, "--frob"], expect: ['"--frob"', "valid: --seed"] },
  { name: "bad --jobs", args: [...RUN, "--jobs", "0"], expect: ["--jobs", "[1, 256]"] },
  {
    name: "--jobs over its maximum",
    args: [...RUN, "--jobs", "257"],
    expect: ["--jobs", "[1, 256]"],
  },
  { name: "bad --shard", args: [...RUN, "--shard", "3/2"], expect: ["--shard", "I/N"] },
  { name: "bad --seed", args: [...RUN, "--seed", "abc"], expect: ["--seed", "integer"] },
  {
    name: "unwritable --out",
    args: ["run", "--workload", "fork-storm", "--scheme", "anon_vma", "--out", "DIR/afile/out"],
    expect: ["cannot write to --out", "not a directory"],
  },
  {
    name: "unknown cost profile",
    args: [...RUN, "--cost-profile", "turbo"],
    expect: ['unknown cost profile "turbo"', "valid: default"],
  },
  {
    name: "missing cost profile file",
    args: [...RUN, "--cost-profile", "DIR/missing.json"],
    expect: ["cannot read cost profile file", "no such file"],
  },
  {
    name: "bad cost profile file",
    args: [...RUN, "--cost-profile", "DIR/badcost.json"],
    expect: ["bad cost profile file", "frobNs"],
  },
  {
    name: "corrupt cost profile file",
    args: [...RUN, "--cost-profile", "DIR/corrupt.json"],
    expect: ["not valid JSON"],
  },
  {
    name: "bad cost override",
    args: [...RUN, "--cost", "workNs.warp=1"],
    expect: ["workNs.warp", "valid work kinds"],
  },
  {
    name: "missing baseline in compare",
    args: ["compare", "DIR/missing.json", "DIR/corrupt.json", "--out", "OUT"],
    expect: ['cannot read baseline "', "no such file"],
  },
  {
    name: "corrupt baseline in compare",
    args: ["compare", "DIR/corrupt.json", "DIR/corrupt.json", "--out", "OUT"],
    expect: ["baseline", "is not a valid results document"],
  },
  {
    name: "invalid baseline document in compare",
    args: ["compare", "DIR/badcost.json", "DIR/badcost.json", "--out", "OUT"],
    expect: ["baseline", "schemaVersion"],
  },
  {
    name: "report of a missing file",
    args: ["report", "DIR/missing.json", "--out", "OUT"],
    expect: ["cannot read input", "no such file"],
  },
  {
    name: "merge of a non-shard",
    args: ["merge", "DIR/corrupt.json", "--out", "OUT"],
    expect: ["not a valid results document"],
  },
];

Deno.test("cli bad input: one stderr line, exit 2, nothing written", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "rmapbench-cli-errors-" });
  try {
    Deno.writeTextFileSync(`${dir}/afile`, "a file, not a directory\n");
    Deno.writeTextFileSync(`${dir}/badcost.json`, '{ "frobNs": 1 }\n');
    Deno.writeTextFileSync(`${dir}/corrupt.json`, "{\n");
    const out = `${dir}/out`;
    Deno.mkdirSync(out);
    Deno.writeTextFileSync(`${out}/${SENTINEL}`, SENTINEL_TEXT);
    const before = listing(dir);
    for (const c of CASES) {
      await t.step(c.name, async () => {
        const args = c.args.map((a) => a.replace(/^OUT$/, out).replace(/^DIR/, dir));
        const r = await cli(...args);
        assert.deepStrictEqual(r.code, c.code ?? 2, `exit code; stderr: ${r.stderr}`);
        const lines = r.stderr.split("\n").filter((l) => l !== "");
        assert.deepStrictEqual(lines.length, 1, `expected one stderr line, got:\n${r.stderr}`);
        assert.match(lines[0], /^error: [a-z"]/);
        for (const e of c.expect) includes(lines[0], e);
        assert.deepStrictEqual(listing(dir), before, "files appeared next to the output directory");
        assert.deepStrictEqual(listing(out), [SENTINEL], "files appeared in the output directory");
        assert.deepStrictEqual(
          Deno.readTextFileSync(`${out}/${SENTINEL}`),
          SENTINEL_TEXT,
          "clobbered",
        );
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli failed run: exit 3, one line, nothing written", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rmapbench-cli-fail-" });
  try {
    for (const jobs of ["1", "2"]) {
      // max_map_count 1 makes the workload's mmap fail with ENOMEM inside the simulation.
      const r = await cli(
        "run",
        "--workload",
        "fork-storm",
        "--scheme",
        "anon_vma,anon_vma-2026",
        "--param",
        "kernel.maxMapCount=1",
        "--jobs",
        jobs,
        "--out",
        `${dir}/out`,
      );
      assert.deepStrictEqual(r.code, 3, r.stderr);
      const lines = r.stderr.split("\n").filter((l) => l !== "");
      assert.deepStrictEqual(lines.length, 1, r.stderr);
      includes(lines[0], "failed");
      assert(listing(dir).length === 0, "a failed run wrote files");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
