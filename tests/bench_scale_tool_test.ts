// `deno task bench:scale` (tools/bench_scale.ts): bad options get one line and exit 2, the CPU
// list that part a pins to is read as Linux prints it, and a one-pair run of part a prints the
// pair (pinned to a CPU where taskset works) and a ratio line, or says why the real kernel's
// side was not measured.

import { fileURLToPath } from "node:url";
import { assertEquals } from "./assert.ts";
import { assertRefusals, runTool, type ToolRun } from "./run_tool.ts";
import { parseCpuList } from "../tools/bench_scale.ts";

const tool = fileURLToPath(new URL("../tools/bench_scale.ts", import.meta.url));

function run(args: string[]): Promise<ToolRun> {
  return runTool(tool, args);
}

Deno.test("bench:scale parseCpuList: ranges and single CPUs in order, [] for anything else", () => {
  assertEquals(parseCpuList("0-1"), [0, 1]);
  assertEquals(parseCpuList("3"), [3]);
  assertEquals(parseCpuList("0-2,5,7-8\n"), [0, 1, 2, 5, 7, 8]);
  for (const bad of ["", "2-1", "a", "0-", "1,,2", "-1", "0-99999"]) {
    assertEquals([bad, parseCpuList(bad)], [bad, []]);
  }
});

Deno.test("bench:scale: each bad option is refused with one line and exit 2", async () => {
  const cases: [string[], string][] = [
    [["--pairs", "0"], "error: --pairs must be an integer in [1, 20]"],
    [["--pairs", "1.5"], "error: --pairs must be an integer in [1, 20]"],
    [["--rounds", "0"], "error: --rounds must be an integer in [1, 50]"],
    [["--part", "z"], 'error: unknown part "z"'],
    [["--bogus"], 'error: unknown option "--bogus"'],
  ];
  await assertRefusals(tool, cases);
});

Deno.test("bench:scale --part a --pairs 1 --rounds 1: one pair, then its ratio or why not", async () => {
  const r = await run(["--part", "a", "--pairs", "1", "--rounds", "1"]);
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.err}`);
  const lines = r.out.trim().split("\n");
  if (!/^\(a\) fork storm: .* 1 pair of the simulator/.test(lines[0])) throw new Error(lines[0]);
  if (!/^ {4}pair 1(, CPU \d+)?, simulator first$/.test(lines[1])) throw new Error(lines[1]);
  if (r.out.includes("real kernel: not measured")) return; // no gcc, or the storm failed: said so
  const bare = lines.find((l) => l.startsWith("      simulator bare:"));
  if (!bare || !/= [\d.]+x real/.test(bare)) throw new Error(`no bare ratio in:\n${r.out}`);
  // One pair bounds no interval: the ratio is printed and the tool says it has no interval.
  const summary = lines.filter((l) =>
    /^ {6}(bare|timed): [\d.]+x \(no interval from 1 pair\)$/.test(l)
  );
  if (summary.length < 2) throw new Error(`no summary lines in:\n${r.out}`);
});
