// Table-driven bad input across the command line and the library (issue 13). Every CLI case runs
// `main()` of cli.ts in-process and must give: the expected exit code, nothing on stdout, exactly
// one line on stderr starting with "error: " that names the problem (and the valid choices where
// there are some), and an --out directory left exactly as it was (a sentinel file untouched, no
// new, partial or temporary file). Every library case must throw one error whose message is one
// line naming the problem and the valid choices, of the expected class or Linux errno.

import assert from "node:assert/strict";
import { main } from "../cli.ts";
import { makeFixture } from "./fixtures/results_fixture.ts";
import { stableStringify } from "../reports/results.ts";
import {
  AnonVmaScheme,
  createScheme,
  getWorkload,
  Kernel,
  type KernelOptions,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  MAP_SHARED,
  MREMAP_DONTUNMAP,
  PAGE_SIZE,
  parseParam,
  parseResults,
  PROT_READ,
  PROT_WRITE,
  resolveKernelParams,
  runOne,
  schemeIds,
  Slab,
  SyscallError,
  workloadIds,
} from "../mod.ts";

const SENTINEL = "results.json";
const SENTINEL_TEXT = "not touched\n";
const SCHEME_LIST = schemeIds().join(", ");
const WORKLOAD_LIST = workloadIds().join(", ");

interface CliCase {
  /** Arguments; OUT is replaced by the output directory, DIR by the fixture directory. */
  args: string[];
  /** Substrings of the error line. */
  expect: string[];
  /** Exit code (default 2). */
  code?: number;
}

const RUN = ["run", "--workload", "fork-storm", "--scheme", "anon_vma", "--out", "OUT"];

const CLI_CASES: CliCase[] = [
  { args: ["frobnicate"], expect: ['"frobnicate"', "valid: bench, run, sweep"] },
  { args: ["help", "nope"], expect: ['unknown command "nope"', "valid: bench"] },
  { args: [...RUN, "--seed", "-1"], expect: ["--seed must be an integer in [0,", '"-1"'] },
  { args: [...RUN, "--seed", "abc"], expect: ["--seed must be an integer", '"abc"'] },
  { args: [...RUN, "--seed", "1.5"], expect: ["--seed must be an integer", '"1.5"'] },
  { args: [...RUN, "--seed"], expect: ["--seed", "needs a value"] },
  { args: [...RUN, "--jobs", "-1"], expect: ["--jobs must be an integer in [1, 256]", '"-1"'] },
  { args: [...RUN, "--jobs", "0"], expect: ["--jobs must be an integer in [1, 256]"] },
  { args: [...RUN, "--shard", "-1/2"], expect: ["--shard must be I/N", '"-1/2"'] },
  { args: [...RUN, "--shard", "2/2"], expect: ["--shard must be I/N with 0 <= I < N"] },
  { args: [...RUN, "--bogus"], expect: ['unknown option "--bogus"', "valid: --seed"] },
  { args: ["list", "--bogus"], expect: ['unknown option "--bogus"', "valid: --json"] },
  {
    args: ["run", "--workload", "fork-storm", "--scheme", "anon_vma", "--out", ""],
    expect: ["--out needs a directory"],
  },
  {
    args: [...RUN, "--out", "OUT"],
    expect: ["--out of run is given more than once", "give it once"],
  },
  {
    args: [...RUN, "--seed", "1", "--seed", "2"],
    expect: ['--seed of run is given more than once ("1", "2")'],
  },
  {
    args: ["run", "--workload", "fork-storm", "--scheme", "", "--out", "OUT"],
    expect: ["--scheme needs at least one id", `valid: ${SCHEME_LIST}`],
  },
  {
    args: ["run", "--workload", "", "--out", "OUT"],
    expect: ["--workload needs at least one id", `valid: ${WORKLOAD_LIST}`],
  },
  {
    args: ["run", "--workload", "fork-storm", "--scheme", "foo", "--out", "OUT"],
    expect: ['unknown scheme "foo"', `valid: ${SCHEME_LIST}`],
  },
  {
    args: ["run", "--workload", "nope", "--out", "OUT"],
    expect: ['unknown workload "nope"', `valid: ${WORKLOAD_LIST}`],
  },
  { args: ["run", "--out", "OUT"], expect: ["needs exactly one --workload", "cli.ts list"] },
  { args: [...RUN, "--param", "children"], expect: ["expected key=value", "children=4"] },
  { args: [...RUN, "--param", "bogus=1"], expect: ['unknown parameter "bogus"', "valid: "] },
  {
    args: [...RUN, "--param", "children=NaN"],
    expect: ["children must be an integer in [", '"NaN"'],
  },
  { args: [...RUN, "--param", "children=0"], expect: ["children must be an integer in ["] },
  { args: [...RUN, "--cost-profile", "nope"], expect: ['unknown cost profile "nope"', "valid: "] },
  { args: [...RUN, "--cost", "workNs.cache_miss"], expect: ["expected key=value"] },
  { args: [...RUN, "--machine", "cpus=0"], expect: ["cpus", "must be"] },
  { args: [...RUN, "--param", "kernel.bogus=1"], expect: ['"bogus"', "valid: "] },
  {
    args: [...RUN, "--trace", "workloads/traces/fork_demo.strace"],
    expect: ["--trace is replayed by the trace-replay workload", "add --workload trace-replay"],
  },
  {
    args: ["run", "--workload", "trace-replay", "--trace", "DIR/empty.strace", "--out", "OUT"],
    expect: ['trace file "DIR/empty.strace" is empty', "strace -f"],
  },
  {
    args: [
      "run",
      "--workload",
      "trace-replay",
      "--trace",
      "workloads/traces/fork_demo.strace,DIR/bad.perf",
      "--out",
      "OUT",
    ],
    expect: ['perf file "DIR/bad.perf"', "line 1"],
  },
  {
    args: ["run", "--workload", "trace-replay", "--trace", "DIR/missing.strace", "--out", "OUT"],
    expect: ['cannot read trace file "DIR/missing.strace"', "no such file"],
  },
  {
    args: ["run", "--workload", "trace-replay", "--trace", "a,b,c", "--out", "OUT"],
    expect: ['bad --trace "a,b,c"', "FILE or FILE,PERF_FILE"],
  },
  { args: ["compare", "DIR/a.json", "--out", "OUT"], expect: ["needs two files"] },
  {
    args: ["compare", "DIR/a.json", "DIR/b.json", "--time-threshold", "-1", "--out", "OUT"],
    expect: ["--time-threshold must be a non-negative number", '"-1"'],
  },
  {
    args: ["compare", "DIR/a.json", "DIR/b.json", "--counter-threshold", "-0.5", "--out", "OUT"],
    expect: ["--counter-threshold must be a non-negative number", '"-0.5"'],
  },
  {
    args: ["compare", "DIR/empty.json", "DIR/a.json", "--out", "OUT"],
    expect: ['baseline "DIR/empty.json" has no runs', "bench, run or sweep"],
  },
  {
    args: ["compare", "DIR/a.json", "DIR/empty.json", "--out", "OUT"],
    expect: ['current results "DIR/empty.json" has no runs'],
  },
  {
    args: ["compare", "DIR/a.json", "DIR/other.json", "--out", "OUT"],
    expect: ["share no run", "compare results of the same suite"],
  },
  {
    args: ["report", "DIR/empty.json", "--out", "OUT"],
    expect: ['input "DIR/empty.json" has no runs'],
  },
  {
    args: ["report", "DIR/missing.json", "--out", "OUT"],
    expect: ["cannot read input", "no such"],
  },
  {
    args: ["report", "DIR/bad.perf", "--out", "OUT"],
    expect: ['input "DIR/bad.perf" is not a valid results document'],
  },
  { args: ["merge", "--out", "OUT"], expect: ["needs shard results files"] },
];

async function fixtures(dir: string): Promise<void> {
  const doc = makeFixture();
  const empty = { ...doc, runs: [] };
  const other = { ...doc, runs: doc.runs.map((r) => ({ ...r, id: `other/${r.id}` })) };
  await Deno.writeTextFile(`${dir}/a.json`, stableStringify(doc));
  await Deno.writeTextFile(`${dir}/b.json`, stableStringify(doc));
  await Deno.writeTextFile(`${dir}/empty.json`, stableStringify(empty));
  await Deno.writeTextFile(`${dir}/other.json`, stableStringify(other));
  await Deno.writeTextFile(`${dir}/empty.strace`, "");
  await Deno.writeTextFile(`${dir}/bad.perf`, "garbage line\n");
}

Deno.test("bad input table: CLI cases exit with one error line and leave --out unchanged", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rmapbench-badinput-" });
  try {
    await fixtures(dir);
    // The fixture documents are valid (so the refusals below are about what they contain).
    parseResults(await Deno.readTextFile(`${dir}/empty.json`));
    parseResults(await Deno.readTextFile(`${dir}/other.json`));
    for (const [i, c] of CLI_CASES.entries()) {
      const out = `${dir}/out${i}`;
      await Deno.mkdir(out);
      await Deno.writeTextFile(`${out}/${SENTINEL}`, SENTINEL_TEXT);
      const args = c.args.map((a) => a.replaceAll("OUT", out).replaceAll("DIR", dir));
      let stdout = "", stderr = "";
      const code = await main(args, {
        out: (t) => stdout += t,
        err: (t) => stderr += t,
        interactive: false,
      });
      const label = `case ${i}: ${c.args.join(" ")}`;
      assert.equal(code, c.code ?? 2, `${label}: exit code (stderr: ${stderr})`);
      assert.equal(stdout, "", `${label}: stdout`);
      assert.equal(stderr.split("\n").length, 2, `${label}: one line, got ${stderr}`);
      assert.ok(stderr.startsWith("error: "), `${label}: ${stderr}`);
      const line = stderr.toLowerCase();
      for (const e of c.expect) {
        const want = e.replaceAll("DIR", dir).toLowerCase();
        assert.ok(line.includes(want), `${label}: expected ${JSON.stringify(want)} in ${stderr}`);
      }
      assert.deepEqual([...Deno.readDirSync(out)].map((e) => e.name), [SENTINEL], label);
      assert.equal(await Deno.readTextFile(`${out}/${SENTINEL}`), SENTINEL_TEXT, label);
    }
    assert.ok(CLI_CASES.length >= 30);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

interface LibCase {
  name: string;
  fn: () => unknown;
  /** A Linux errno, or an error class name. */
  expect: string;
  /** Substrings of the message. */
  message: string[];
}

const P = PAGE_SIZE;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const X = 0x7f0000000000;

function libCases(): LibCase[] {
  const k = new Kernel({ scheme: new AnonVmaScheme() });
  const mm = k.spawn();
  k.mmap(mm, X, 4 * P, RW, ANON | MAP_FIXED);
  k.touch(mm, X, "write");
  const dead = k.fork(mm);
  k.exit(dead);
  const folio = k.pte(mm, X)!.folio!;
  const foreign = new Kernel({ scheme: new AnonVmaScheme() }).spawn();
  const cowFraction = getWorkload("fork-storm").params.find((p) => p.name === "cowFraction")!;
  const spec = {
    name: "children",
    kind: "int" as const,
    default: 4,
    min: 1,
    max: 64,
    unit: "",
    description: "",
    source: "",
  };
  return [
    {
      name: "Kernel without a scheme",
      fn: () => new Kernel({} as KernelOptions),
      expect: "TypeError",
      message: ["a scheme is required", "schemeIds()"],
    },
    {
      name: "brk(NaN)",
      fn: () => k.brk(mm, NaN),
      expect: "TypeError",
      message: ["brk must be an integer number", "NaN"],
    },
    {
      name: "brk on an exited process",
      fn: () => k.brk(dead, dead.brk + P),
      expect: "ESRCH",
      message: ["brk failed with ESRCH", "has exited"],
    },
    {
      name: "touch with an access outside the type",
      fn: () => k.touch(mm, X, "exec" as "read"),
      expect: "TypeError",
      message: ["access must be one of read, write", '"exec"'],
    },
    {
      name: "touch at a fractional address",
      fn: () => k.touch(mm, X + 0.5, "read"),
      expect: "TypeError",
      message: ["addr must be an integer number"],
    },
    {
      name: "munmap beyond TASK_SIZE",
      fn: () => k.munmap(mm, X, 2 ** 48),
      expect: "EINVAL",
      message: ["runs past TASK_SIZE"],
    },
    {
      name: "munmap at a negative address",
      fn: () => k.munmap(mm, -P, P),
      expect: "EINVAL",
      message: ["outside [0, TASK_SIZE"],
    },
    {
      name: "a process of another Kernel",
      fn: () => k.touch(foreign, X, "read"),
      expect: "TypeError",
      message: ["belongs to another Kernel"],
    },
    {
      name: "setPinned with a number",
      fn: () => k.setPinned(folio, 1 as unknown as boolean),
      expect: "TypeError",
      message: ["pinned must be true or false", "got 1"],
    },
    {
      name: "mmap with both MAP_SHARED and MAP_PRIVATE",
      fn: () => k.mmap(mm, 0, P, RW, MAP_SHARED | MAP_PRIVATE | MAP_ANONYMOUS),
      expect: "EINVAL",
      message: ["exactly one of MAP_SHARED and MAP_PRIVATE"],
    },
    {
      name: "mremap DONTUNMAP with a resize",
      fn: () => k.mremap(mm, X, P, 2 * P, MREMAP_DONTUNMAP),
      expect: "EINVAL",
      message: ["DONTUNMAP needs MAYMOVE and old_len == new_len"],
    },
    {
      name: "createFile with a negative size",
      fn: () => k.createFile("f", -1),
      expect: "RangeError",
      message: ["non-negative integer of pages", "-1"],
    },
    {
      name: "kernel parameter out of range",
      fn: () => resolveKernelParams({ maxMapCount: 0 }),
      expect: "RangeError",
      message: ["maxMapCount must be an integer in [1,"],
    },
    {
      name: "unknown kernel parameter",
      fn: () => resolveKernelParams({ bogus: 1 } as never),
      expect: "RangeError",
      message: ['Unknown kernel parameter "bogus"', "valid: maxMapCount"],
    },
    {
      name: "workload parameter NaN",
      fn: () => parseParam(spec, NaN, "fork-storm"),
      expect: "ParamError",
      message: ["children must be an integer in [1, 64], got NaN"],
    },
    {
      // An empty string is no number (Number("") would be 0, inside cowFraction's range).
      name: "workload parameter empty string",
      fn: () => parseParam(cowFraction, "", "fork-storm"),
      expect: "ParamError",
      message: ['fork-storm parameter cowFraction must be a number in [0, 1], got ""'],
    },
    {
      name: "workload parameter blank string",
      fn: () => parseParam(cowFraction, " ", "fork-storm"),
      expect: "ParamError",
      message: ['fork-storm parameter cowFraction must be a number in [0, 1], got " "'],
    },
    {
      name: "unknown scheme",
      fn: () => createScheme("nope"),
      expect: "RangeError",
      message: ['Unknown scheme "nope"', `valid: ${SCHEME_LIST}`],
    },
    {
      name: "unknown workload",
      fn: () => getWorkload("nope"),
      expect: "RangeError",
      message: ['Unknown workload "nope"', `valid: ${WORKLOAD_LIST}`],
    },
    {
      name: "runOne with an unknown workload parameter",
      fn: () => runOne({ scheme: "anon_vma", workload: "fork-storm", params: { bogus: 1 } }),
      expect: "ParamError",
      message: ['Unknown parameter "bogus"', "valid: "],
    },
    {
      name: "negative slab size",
      fn: () => new Slab({ anon_vma: -1 }),
      expect: "RangeError",
      message: ["anon_vma must be a non-negative integer", "-1"],
    },
  ];
}

Deno.test("bad input table: library cases throw one line naming the problem", () => {
  const cases = libCases();
  for (const c of cases) {
    let caught: unknown = null;
    try {
      c.fn();
    } catch (e) {
      caught = e;
    }
    assert.ok(caught instanceof Error, `${c.name}: accepted`);
    const kind = caught instanceof SyscallError ? caught.errno : caught.name;
    assert.equal(kind, c.expect, `${c.name}: ${caught.message}`);
    assert.ok(!caught.message.includes("\n"), `${c.name}: one line`);
    for (const m of c.message) {
      assert.ok(caught.message.includes(m), `${c.name}: ${JSON.stringify(m)} in ${caught.message}`);
    }
  }
  assert.ok(cases.length + CLI_CASES.length >= 40);
});

Deno.test("registries: ids are matched exactly, never by prefix or without case", () => {
  // anon_vma_2026 starts with anon_vma: a prefix match would run the wrong scheme.
  for (const id of schemeIds()) assert.equal(createScheme(id).info.id, id);
  for (const id of workloadIds()) assert.equal(getWorkload(id).id, id);
  for (const bad of ["anon", "ANON_VMA", "anon_vma_2026x", "anon_vma "]) {
    assert.throws(() => createScheme(bad), {
      name: "RangeError",
      message: `Unknown scheme "${bad}"; valid: ${SCHEME_LIST}`,
    });
  }
  for (const bad of ["fork", "Fork-Storm", "reflink-share-x"]) {
    assert.throws(() => getWorkload(bad), {
      name: "RangeError",
      message: `Unknown workload "${bad}"; valid: ${WORKLOAD_LIST}`,
    });
  }
});
