// `deno task bench:ab` (tools/bench_ab.ts): its options are checked before anything runs, a bad
// revision is refused with one line and leaves no worktree behind, and a real comparison of this
// tree with its own HEAD pairs the runs and finds both sides doing the same work.

import { fileURLToPath } from "node:url";
import { assertEquals } from "./assert.ts";
import { runTool, type ToolRun } from "./run_tool.ts";
import { parseAbArgs } from "../tools/bench_ab.ts";
import { schemeIds } from "../core/rmap/registry.ts";

const tool = fileURLToPath(new URL("../tools/bench_ab.ts", import.meta.url));
const root = fileURLToPath(new URL("..", import.meta.url));

Deno.test("bench:ab options: defaults, and one line naming the problem for each bad one", () => {
  const o = parseAbArgs(["--base", "HEAD~1"]);
  assertEquals(o, { base: "HEAD~1", head: null, schemes: schemeIds(), scale: 1, pairs: 3 });
  assertEquals(
    parseAbArgs([
      "--base",
      "v1",
      "--head",
      "v2",
      "--scheme",
      "anon_vma,cow_context",
      "--scale",
      "0.5",
    ]),
    { base: "v1", head: "v2", schemes: ["anon_vma", "cow_context"], scale: 0.5, pairs: 3 },
  );
  const bad: [string[], string][] = [
    [[], "--base REV is required"],
    [["--base"], "--base needs a value"],
    [["--base", "x", "--scheme", "bogus"], `unknown scheme "bogus" (${schemeIds().join(", ")})`],
    [["--base", "x", "--scale", "0"], "--scale must be a number in (0, 1]"],
    [["--base", "x", "--scale", "abc"], "--scale must be a number in (0, 1]"],
    [["--base", "x", "--pairs", "0"], "--pairs must be an integer in [1, 20]"],
    [["--base", "x", "--pairs", "2.5"], "--pairs must be an integer in [1, 20]"],
    [["--base", "x", "--runs", "2"], 'unknown option "--runs"'],
  ];
  for (const [args, want] of bad) {
    const r = parseAbArgs(args);
    if (typeof r !== "string" || !r.startsWith(want)) {
      throw new Error(`${args.join(" ")}: ${JSON.stringify(r)}, wanted "${want}..."`);
    }
  }
});

async function worktrees(): Promise<string> {
  const r = await new Deno.Command("git", { args: ["-C", root, "worktree", "list"] }).output();
  return new TextDecoder().decode(r.stdout);
}

function run(args: string[]): Promise<ToolRun> {
  return runTool(tool, args);
}

Deno.test("bench:ab: an unknown revision is refused with one line, exit 2, no worktree left", async () => {
  const before = await worktrees();
  const r = await run(["--base", "no-such-revision-xyz", "--scheme", "anon_vma"]);
  assertEquals([r.code, r.err.split("\n").length, r.out], [2, 1, ""]);
  if (!r.err.includes('"no-such-revision-xyz" is not a commit')) throw new Error(r.err);
  assertEquals(await worktrees(), before);
});

/** Whether this checkout is a git work tree with a HEAD (a clone; not the mutation tool's copy). */
function inGitCheckout(): boolean {
  try {
    return new Deno.Command("git", {
      args: ["-C", root, "rev-parse", "--verify", "--quiet", "HEAD"],
    })
      .outputSync().success;
  } catch {
    return false;
  }
}

Deno.test({
  name: "bench:ab: HEAD against this tree, two pairs, the same work on both sides",
  // The tool checks the base out with git: it needs a clone (CI's is one).
  ignore: !inGitCheckout(),
}, async () => {
  const before = await worktrees();
  const r = await run([
    "--base",
    "HEAD",
    "--scheme",
    "anon_vma",
    "--scale",
    "0.01",
    "--pairs",
    "2",
  ]);
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.err}`);
  const row = r.out.split("\n").find((l) => l.trim().startsWith("anon_vma "));
  if (row === undefined) throw new Error(`no anon_vma row in:\n${r.out}`);
  // Two CPU figures per side, then head/base with its interval and a verdict; or, when two pairs
  // cannot bound the ratio (t(0.975, 1) = 12.7), "no interval": both are honest outcomes.
  const m = row.match(
    /^\s+anon_vma\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)(?: \[([\d.]+), ([\d.]+|Infinity)\] (no significant difference|head faster|head slower)| no interval)\s+\d+\/\d+$/,
  );
  if (m === null) throw new Error(`unexpected row: ${row}`);
  const [b1, b2, h1, h2, ratio] = m.slice(1, 6).map(Number);
  for (const x of [b1, b2, h1, h2]) if (!(x > 0)) throw new Error(`CPU ${x} in ${row}`);
  if (m[6] !== undefined && !(Number(m[6]) <= ratio && ratio <= Number(m[7]))) {
    throw new Error(`interval does not hold the ratio: ${row}`);
  }
  // The same code on both sides: same operations (the tool flags a difference).
  if (row.includes("operations differ")) throw new Error(row);
  assertEquals(await worktrees(), before);
});
