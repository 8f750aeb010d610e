// A parameter that the chosen mode ignores is reported (issue 13): fork-storm's `children` only
// applies in breadth mode, so sweeping it in the default tree mode gives identical points.

import assert from "node:assert/strict";
import { buildPlan } from "../cli/plan.ts";
import { parseCommandLine, type RunArgs } from "../cli/args.ts";

function warnings(...args: string[]): string[] {
  const a = parseCommandLine([
    "sweep",
    "--workload",
    "fork-storm",
    "--scheme",
    "anon_vma",
    ...args,
  ]);
  return buildPlan(a as RunArgs, Deno.readTextFileSync).warnings;
}

Deno.test("plan: a parameter the chosen mode ignores is reported once", () => {
  assert.deepEqual(warnings("--param", "children=1..64:*2"), [
    "fork-storm parameter children has no effect with mode=tree (it applies when mode is breadth)",
  ]);
  assert.deepEqual(warnings("--param", "mode=breadth", "--param", "children=1..64:*2"), []);
  assert.deepEqual(warnings("--param", "mode=breadth,tree", "--param", "depth=2"), [
    "fork-storm parameter depth has no effect with mode=breadth (it applies when mode is tree)",
  ]);
  assert.deepEqual(warnings("--param", "mode=chain", "--param", "generations=4"), []);
});
