// The mutation tool's own logic (tools/mutate.ts): stale search strings are detected, the failing
// test is read from `deno test` output, and the catalogue is well formed.

import assert from "node:assert/strict";
import {
  exceptPrefix,
  killerOf,
  NOT_RUN_ON_MUTANTS,
  occurrences,
  staleReason,
  testArgs,
} from "../tools/mutate.ts";
import { MUTANTS } from "../tools/mutants.ts";

Deno.test("mutate: a search string must occur exactly once", () => {
  const m = { id: "x", file: "f.ts", search: "a + b", replace: "a - b", story: "s" };
  assert.equal(occurrences("a + b; a + b", "a + b"), 2);
  assert.equal(staleReason(m, "return a + b;"), null);
  assert.equal(staleReason(m, "return a - b;"), "search string not found in f.ts");
  assert.equal(staleReason(m, "a + b; a + b"), "search string occurs 2 times in f.ts");
  assert.equal(staleReason(m, null), "file f.ts does not exist");
});

Deno.test("mutate: the killing test is read from deno test output", () => {
  const out = [
    "slab peaks ... FAILED (4ms)",
    "",
    " ERRORS ",
    "",
    "slab peaks => ./tests/semantics_pinned_test.ts:69:6",
    "error: AssertionError: Expected values to be strictly deep-equal:",
  ].join("\n");
  assert.equal(killerOf(out), "slab peaks (tests/semantics_pinned_test.ts:69:6)");
  assert.equal(killerOf("walk ... FAILED (2ms)\n"), "walk");
  assert.equal(killerOf("error: Uncaught Error: boom\n"), "error: Uncaught Error: boom");
});

Deno.test("mutate: the catalogue has at least 30 mutants with unique ids and one-line stories", () => {
  assert.ok(MUTANTS.length >= 30, `${MUTANTS.length} mutants`);
  assert.equal(new Set(MUTANTS.map((m) => m.id)).size, MUTANTS.length);
  for (const m of MUTANTS) {
    assert.ok(m.story.length > 0 && !m.story.includes("\n"), m.id);
    assert.notEqual(m.search, m.replace, m.id);
    // The model and its writers, the command line (cli/ and its entry cli.ts), the tools.
    assert.ok(/^((cli|core|reports|runner|workloads|tools)\/|cli\.ts$)/.test(m.file), m.id);
    // Never the mutation tool itself: its verdicts are what a mutant run reports.
    assert.ok(!/^tools\/(mutate|mutants)\.ts$/.test(m.file), m.id);
  }
});

Deno.test("mutate: the host-calibration filter keeps every other test name", () => {
  const re = new RegExp(exceptPrefix("calibration: live").slice(1, -1));
  assert.equal(re.test("calibration: live host kernel agrees with the model"), false);
  for (const name of ["calibration: the model reproduces", "cli report", "other", "calibrate x"]) {
    assert.equal(re.test(name), true, name);
  }
});

Deno.test("mutate: mutant runs leave out the catalogue check, which every mutant fails", () => {
  // A mutated copy no longer holds its mutant's search string, so this file's catalogue check
  // would fail in every full-suite run and count each surviving mutant as killed.
  for (const files of [[], ["tests/machine_rcu_test.ts"]]) {
    const args = testArgs(files);
    assert.ok(args.includes("--ignore=tests/mutate_tool_test.ts"), args.join(" "));
    assert.deepEqual(args.slice(args.length - files.length), files);
  }
  assert.deepEqual(NOT_RUN_ON_MUTANTS, ["tests/mutate_tool_test.ts"]);
  assert.ok(new URL(import.meta.url).pathname.endsWith(NOT_RUN_ON_MUTANTS[0]));
});

Deno.test("mutate: every mutant's search string occurs exactly once in today's source", async () => {
  const { MUTANTS } = await import("../tools/mutants.ts");
  const stale: string[] = [];
  for (const m of MUTANTS) {
    const text = await Deno.readTextFile(new URL(`../${m.file}`, import.meta.url));
    const n = text.split(m.search).length - 1;
    if (n !== 1) stale.push(`${m.id}: ${n} occurrences in ${m.file}`);
  }
  if (stale.length > 0) throw new Error(`stale mutants:\n${stale.join("\n")}`);
});
