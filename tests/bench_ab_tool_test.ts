// `deno task bench:ab` (tools/bench_ab.ts): its options are checked before anything runs, a bad
// revision is refused with one line and leaves no worktree behind, and a real comparison of this
// tree with its own HEAD pairs the runs and finds both sides doing the same work.

import { fileURLToPath } from "node:url";
import { assertEquals } from "./assert.ts";
import { runTool, type ToolRun } from "./run_tool.ts";
import { abAdjustedVerdict, parseAbArgs, probeAdjusted } from "../tools/bench_ab.ts";
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
  // The probe-adjusted section follows; two pairs are too few for its regression.
  const adj = r.out.split("\n").filter((l) => l.trim().startsWith("anon_vma "));
  assertEquals(adj.length, 2, r.out);
  assertEquals(adj[1].trim(), "anon_vma               (four pairs or more)");
  assertEquals(await worktrees(), before);
});

Deno.test("bench:ab adjusts each pair for the host probe read before its runs", () => {
  // Six pairs whose CPU times follow the probe: the log ratios regressed on the probes' log ratios
  // (intercept 0.91327, slope 0.90118, t(0.975, 4) = 2.77645; reference numbers computed apart).
  const h = [10.2, 9.1, 11.0, 9.9, 10.4, 9.6], b = [10.9, 10.0, 11.2, 11.0, 10.8, 10.9];
  const ph = [0.82, 0.75, 0.90, 0.80, 0.85, 0.78], pb = [0.80, 0.74, 0.85, 0.82, 0.79, 0.81];
  const a = probeAdjusted(h, b, ph, pb)!;
  const near = (x: number, y: number) => assertEquals(Math.abs(x - y) < 1e-9, true, `${x} ${y}`);
  near(a.ratio, 0.9132657422691128);
  near(a.ci[0], 0.8961554187042553);
  near(a.ci[1], 0.9307027537793688);
  near(a.slope, 0.9011825922573928);
  // Narrower than the plain paired log-ratio interval of the same pairs, [0.888, 0.969].
  assertEquals(a.ci[1] - a.ci[0] < 0.969470381915867 - 0.8881663330955528, true);
  assertEquals(abAdjustedVerdict(h, b, ph, pb), "0.91 [0.90, 0.93] head faster, slope 0.90");
  // Runs that are their probe times the work: the ratio of the work, exactly.
  const p1 = [1.0, 1.2, 0.9, 1.1, 1.05], p2 = [1.1, 1.0, 1.0, 1.3, 0.95];
  const e = probeAdjusted(p2.map((p) => 9 * p), p1.map((p) => 10 * p), p2, p1)!;
  near(e.ratio, 0.9);
  near(e.slope, 1);
  // Too few pairs, or probe ratios that do not vary: no estimate, and the line says why.
  assertEquals(probeAdjusted([1, 2, 3], [1.1, 2, 2.9], [1, 1.2, 0.9], [1, 1, 1]), null);
  assertEquals(
    abAdjustedVerdict([1, 2, 3], [1, 2, 3], [1, 1, 1], [1, 1, 1]),
    "(four pairs or more)",
  );
  assertEquals(
    abAdjustedVerdict([1, 2, 3, 4], [1, 2, 3, 4], [2, 2, 2, 2], [1, 1, 1, 1]),
    "(probe did not vary)",
  );
  assertEquals(probeAdjusted([1, 2, 3, 4], [1, 2, 3, 4], [2, 2, 2, 2], [1, 1, 1, 1]), null);
});
