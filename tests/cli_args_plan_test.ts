/**
 * Command-line parsing (cli/args.ts) and planning (cli/plan.ts) called directly, without spawning
 * the CLI: option values and ranges, lists, the run list's order, run ids, repeat seeds, shards,
 * the run limit, and the exact one-line errors for bad values. Also the repeat bookkeeping of
 * cli/execute.ts on tiny runs, and help topics through `main()` of cli.ts.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type CompareArgs, parseCommandLine, type ParsedArgs, type RunArgs } from "../cli/args.ts";
import { buildPlan, type Plan, type RunSpec } from "../cli/plan.ts";
import { executeRepeated } from "../cli/execute.ts";
import { CliError } from "../cli/errors.ts";
import { repeatSeeds } from "../runner/seeds.ts";
import { main } from "../cli.ts";

const RUN = ["run", "--workload", "fork-storm"];

function run(...args: string[]): RunArgs {
  const a = parseCommandLine([...RUN, ...args]);
  assert.ok(a.command === "run", `parsed as ${a.command}`);
  return a as RunArgs;
}

function plan(...argv: string[]): Plan {
  return buildPlan(parseCommandLine(argv) as RunArgs, Deno.readTextFileSync);
}

/** Asserts that `fn` throws a CliError with exactly `message`. */
function fails(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CliError, `not a CliError: ${e}`);
    assert.equal(e.message, message);
    return true;
  });
}

function parseFails(argv: string[], message: string): void {
  fails(() => parseCommandLine(argv), message);
}

function ids(p: Plan, which: RunSpec[] = p.all): string[] {
  return which.map((s) => s.id);
}

Deno.test("args: defaults of run (seed 1, repeat 5, all schemes, out/)", () => {
  const a = run();
  assert.deepEqual(
    { seed: a.seed, repeat: a.repeat, out: a.out, schemes: a.schemes, jobs: a.jobs },
    { seed: 1, repeat: 5, out: "out", schemes: [], jobs: null },
  );
});

Deno.test("args: integer options accept their bounds and reject just outside them", () => {
  assert.equal(run("--jobs", "1").jobs, 1);
  assert.equal(run("--jobs", "256").jobs, 256);
  assert.equal(run("--repeat", "1").repeat, 1);
  assert.equal(run("--repeat", "1000").repeat, 1000);
  assert.equal(run("--seed", "0").seed, 0);
  assert.equal(run("--seed=42").seed, 42);
  parseFails(
    [...RUN, "--repeat", "0"],
    'Option --repeat must be an integer in [1, 1000], got "0"',
  );
  parseFails(
    [...RUN, "--repeat", "1001"],
    'Option --repeat must be an integer in [1, 1000], got "1001"',
  );
});

Deno.test("args: integer options take plain decimal digits only", () => {
  parseFails(
    [...RUN, "--repeat", "1e3"],
    'Option --repeat must be an integer in [1, 1000], got "1e3"',
  );
  parseFails(
    [...RUN, "--seed", "0x10"],
    `Option --seed must be an integer in [0, ${Number.MAX_SAFE_INTEGER}], got "0x10"`,
  );
  parseFails([...RUN, "--jobs", " 2"], 'Option --jobs must be an integer in [1, 256], got " 2"');
});

Deno.test("args: a negative value after a separate option is that option's value", () => {
  parseFails(
    [...RUN, "--seed", "-1"],
    `Option --seed must be an integer in [0, ${Number.MAX_SAFE_INTEGER}], got "-1"`,
  );
});

Deno.test("args: a single-valued option given twice is an error; repeatable ones and flags are not", () => {
  // Before round 25 the last value won silently: `--seed 1 --seed 2` ran seed 2.
  parseFails(
    [...RUN, "--seed", "1", "--seed", "2"],
    'Option --seed of run is given more than once ("1", "2"); give it once',
  );
  // The inline form and a negative value count as the same option.
  parseFails(
    [...RUN, "--seed=-1", "--seed", "3"],
    'Option --seed of run is given more than once ("-1", "3"); give it once',
  );
  for (
    const [opt, a, b] of [
      ["out", "x", "y"],
      ["jobs", "1", "2"],
      ["repeat", "1", "1"],
      ["shard", "0/2", "1/2"],
      ["cost-profile", "default", "default"],
      ["baseline-scheme", "anon_vma", "cow_context"],
    ]
  ) {
    parseFails(
      [...RUN, `--${opt}`, a, `--${opt}`, b],
      `Option --${opt} of run is given more than once ("${a}", "${b}"); give it once`,
    );
  }
  parseFails(
    ["compare", "a.json", "b.json", "--time-threshold", "0.1", "--time-threshold=0.2"],
    'Option --time-threshold of compare is given more than once ("0.1", "0.2"); give it once',
  );
  parseFails(
    ["report", "r.json", "--out", "a", "--out", "b"],
    'Option --out of report is given more than once ("a", "b"); give it once',
  );
  // Repeatable options and flags: no error.
  const a = run("--scheme", "anon_vma", "--scheme", "cow_context", "--self-contained");
  assert.deepEqual(a.schemes, ["anon_vma", "cow_context"]);
  assert.equal(run("--self-contained", "--self-contained").selfContained, true);
  assert.equal(run("--param", "children=1", "--param", "pages=2").params.length, 2);
  // Help still wins over the duplicate.
  assert.equal(parseCommandLine([...RUN, "--seed", "1", "--seed", "2", "--help"]).command, "help");
});

Deno.test("args: --scheme lists are trimmed, deduplicated and keep their order", () => {
  assert.deepEqual(
    run("--scheme", "cow_context, anon_vma", "--scheme", "anon_vma,cow_context").schemes,
    ["cow_context", "anon_vma"],
  );
});

Deno.test("args: --machine adds the machine. prefix once", () => {
  assert.deepEqual(run("--machine", "cpus=2", "--machine", "machine.cpus=4").params, [
    { key: "machine.cpus", value: "2", option: "--machine" },
    { key: "machine.cpus", value: "4", option: "--machine" },
  ]);
});

Deno.test("args: compare takes BASELINE then CURRENT, with a 0.10 time threshold", () => {
  const a: ParsedArgs = parseCommandLine(["compare", "base.json", "cur.json"]);
  assert.deepEqual(a as CompareArgs, {
    command: "compare",
    baseline: "base.json",
    current: "cur.json",
    out: "out",
    counterThreshold: 0,
    timeThreshold: 0.10,
  });
});

Deno.test("plan: schemes in the order given; a sweep's first --param is outermost", () => {
  const p = plan(
    "sweep",
    "--workload",
    "fork-storm",
    "--scheme",
    "cow_context,anon_vma",
    "--param",
    "mode=breadth",
    "--param",
    "children=1..3:2",
    "--machine",
    "cpus=1,4",
    "--repeat",
    "1",
  );
  assert.deepEqual(ids(p), [
    "cow_context/fork-storm[children=1,machine.cpus=1]",
    "anon_vma/fork-storm[children=1,machine.cpus=1]",
    "cow_context/fork-storm[children=1,machine.cpus=4]",
    "anon_vma/fork-storm[children=1,machine.cpus=4]",
    "cow_context/fork-storm[children=3,machine.cpus=1]",
    "anon_vma/fork-storm[children=3,machine.cpus=1]",
    "cow_context/fork-storm[children=3,machine.cpus=4]",
    "anon_vma/fork-storm[children=3,machine.cpus=4]",
  ]);
  assert.deepEqual(p.all.map((s) => s.index), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(p.suite.schemes, ["cow_context", "anon_vma"]);
});

Deno.test("plan: run ids of a run with fixed parameters carry no brackets", () => {
  const p = plan(
    ...RUN,
    "--scheme",
    "anon_vma",
    "--param",
    "mode=breadth",
    "--param",
    "children=3",
  );
  assert.deepEqual(ids(p), ["anon_vma/fork-storm"]);
  assert.deepEqual(p.all[0].options.params, { mode: "breadth", children: 3 });
});

Deno.test("plan: a parameter given twice, in either form, is one error", () => {
  const sweep = ["sweep", "--workload", "fork-storm", "--scheme", "anon_vma", "--repeat", "1"];
  // The same key twice; a general and a workload-scoped form of one parameter (before round 24
  // the second case planned runs named children=1 and children=2 that both ran children=5).
  for (const [a, b] of [["children=1", "children=2"], ["children=1..2", "fork-storm.children=5"]]) {
    fails(
      () => plan(...sweep, "--param", a, "--param", b),
      `Parameter ${b.split("=")[0]} is given more than once`,
    );
  }
  fails(
    () => plan(...sweep, "--param", "fork-storm.children=5", "--param", "children=1..2"),
    "Parameter children is given more than once",
  );
  fails(
    () => plan(...sweep, "--machine", "cpus=1", "--machine", "machine.cpus=2"),
    "Parameter machine.cpus is given more than once",
  );
  // One parameter name for two workloads, each scoped once: two parameters, no conflict.
  const two = plan(
    "bench",
    "--workload",
    "fork-storm,cow-adversarial",
    "--scheme",
    "anon_vma",
    "--repeat",
    "1",
    "--param",
    "fork-storm.cowFraction=0.5",
    "--param",
    "cow-adversarial.cowFraction=0.25",
  );
  assert.deepEqual(two.all.map((r) => r.options.params?.cowFraction), [0.5, 0.25]);
});

Deno.test("plan: every spec gets the same repeat seeds, repeat 0 being --seed", () => {
  const p = plan(...RUN, "--scheme", "anon_vma,cow_context", "--seed", "7", "--repeat", "3");
  const seeds = repeatSeeds(7, 3);
  assert.equal(seeds.length, 3);
  assert.equal(seeds[0], 7);
  assert.deepEqual(p.all.map((s) => s.seeds), [seeds, seeds]);
  assert.deepEqual(p.suite.repeatSeeds, seeds);
  assert.equal(p.suite.repeat, 3);
});

Deno.test("plan: --shard I/N keeps runs I, I+N, ...", () => {
  const argv = ["bench", "--workload", "fork-storm", "--repeat", "1"];
  const all = ids(plan(...argv));
  assert.equal(all.length, 5);
  const p = plan(...argv, "--shard", "0/3");
  assert.deepEqual(p.specs.map((s) => s.index), [0, 3]);
  assert.deepEqual(ids(p, p.specs), [all[0], all[3]]);
  assert.deepEqual(plan(...argv, "--shard", "2/3").specs.map((s) => s.index), [2]);
});

Deno.test("plan: the run limit counts repeats", () => {
  fails(
    () =>
      plan(
        "sweep",
        "--workload",
        "fork-storm",
        "--scheme",
        "anon_vma,cow_context",
        "--param",
        "children=1..6",
        "--repeat",
        "1000",
      ),
    "Too many runs (more than 10000 counting repeats); narrow the sweep or lower --repeat",
  );
  // Exactly 10000 runs is allowed.
  const p = plan(
    "sweep",
    "--workload",
    "fork-storm",
    "--scheme",
    "anon_vma,cow_context",
    "--param",
    "children=1..5",
    "--repeat",
    "1000",
  );
  assert.equal(p.all.length, 10);
});

Deno.test("plan: --baseline-scheme must be one of the selected schemes", () => {
  fails(
    () => plan(...RUN, "--scheme", "anon_vma,anon_vma-2026", "--baseline-scheme", "cow_context"),
    'Baseline scheme "cow_context" is not among the selected schemes; valid: anon_vma, ' +
      "anon_vma-2026",
  );
  const p = plan(...RUN, "--scheme", "anon_vma,cow_context", "--baseline-scheme", "cow_context");
  assert.equal(p.suite.baselineScheme, "cow_context");
});

/** A tiny fork storm: two schemes, two repeats. */
function tinySpecs(): RunSpec[] {
  return plan(
    ...RUN,
    "--scheme",
    "anon_vma,cow_context",
    "--param",
    "mode=breadth",
    "--param",
    "children=2",
    "--param",
    "rounds=1",
    "--param",
    "regions=1",
    "--param",
    "pages=2",
    "--seed",
    "3",
    "--repeat",
    "2",
  ).specs;
}

Deno.test("execute: repeats run with their own seeds and stay with their spec", async () => {
  const runs = await executeRepeated(tinySpecs(), 1);
  const seeds = repeatSeeds(3, 2);
  assert.deepEqual(runs.map((r) => r.id), ["anon_vma/fork-storm", "cow_context/fork-storm"]);
  assert.deepEqual(runs.map((r) => r.scheme.id), ["anon_vma", "cow_context"]);
  for (const r of runs) {
    assert.deepEqual(r.repeats?.map((x) => x.seed), seeds);
    assert.deepEqual(r.repeats?.map((x) => x.repeat), [0, 1]);
  }
});

Deno.test("cli: help of a command prints that command's usage", async () => {
  let out = "";
  const io = { out: (t: string) => void (out += t), err: (_t: string) => {}, interactive: false };
  assert.equal(await main(["run", "--help"], io), 0);
  assert.ok(out.startsWith("Usage: cli.ts run --workload ID"), out);
  out = "";
  assert.equal(await main(["help", "sweep"], io), 0);
  assert.ok(out.startsWith("Usage: cli.ts sweep --workload ID"), out);
});
