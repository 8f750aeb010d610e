// `deno task bench:fork` (tools/fork_bench.ts): bad options get one line and exit 2; a small run
// prints the real kernel's figure (or why not), one line per scheme with its simulated fork
// latency, and, last, where the simulator's own speed is compared with the real kernel's.

import { fileURLToPath } from "node:url";
import { assertEquals } from "./assert.ts";
import { assertRefusals, runTool, type ToolRun } from "./run_tool.ts";

const tool = fileURLToPath(new URL("../tools/fork_bench.ts", import.meta.url));

function run(args: string[]): Promise<ToolRun> {
  return runTool(tool, args);
}

Deno.test("bench:fork: each bad option is refused with one line and exit 2", async () => {
  const cases: [string[], string][] = [
    [["--vmas", "0"], "error: --vmas must be an integer in [1, 60000]"],
    [["--vmas", "60001"], "error: --vmas must be an integer in [1, 60000]"],
    [["--forks", "1.5"], "error: --forks must be an integer in [1, 100000]"],
    [["--scheme", "anon_vma,nope"], 'error: unknown scheme "nope"; valid: anon_vma,'],
    [["--bogus"], 'error: unknown option "--bogus"'],
  ];
  await assertRefusals(tool, cases);
});

Deno.test("bench:fork --vmas 20 --forks 3: a line per scheme, cow_context's fork the cheaper", async () => {
  const r = await run(["--vmas", "20", "--forks", "3", "--scheme", "anon_vma,cow_context"]);
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.err}`);
  const lines = r.out.trim().split("\n");
  assertEquals(lines.length, 5);
  assertEquals(lines[0], "fork of a process with 20 faulted VMAs, 3 times");
  if (!/^real kernel( \(.*\): [\d.]+ ms for 3 forks|: not measured)/.test(lines[1])) {
    throw new Error(lines[1]);
  }
  // Simulated time is deterministic: cow_context allocates no anon_vma and no AVC per VMA at
  // fork, so its fork is cheaper than the classic scheme's under both profiles.
  const us = (line: string, scheme: string): number[] => {
    const m = line.match(/^(\S+) +simulated +(\d+) µs per fork .*, +(\d+) µs \(host-x86-6.18/);
    if (!m || m[1] !== scheme) throw new Error(`no ${scheme} line: ${line}`);
    return [Number(m[2]), Number(m[3])];
  };
  const [classic, cc] = [us(lines[2], "anon_vma"), us(lines[3], "cow_context")];
  if (!(cc[0] < classic[0] && cc[1] < classic[1])) throw new Error(`${classic} vs ${cc}`);
  if (!lines[4].endsWith("deno task bench:scale --part a")) throw new Error(lines[4]);
});
