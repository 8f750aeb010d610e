// The comparison behind `deno task golden`: what it must report so that a refactor that moves
// a figure, drops a key, reorders keys or changes an array's length cannot pass as identical.

import { assertEquals } from "./assert.ts";
import { goldenCommand, jsonDifferences } from "../tools/golden.ts";

Deno.test("golden comparison: identical documents apart from the ignored block", () => {
  const a = { schemaVersion: 1, environment: { generatedAt: "t1" }, runs: [{ id: "x", v: 1 }] };
  const b = { schemaVersion: 1, environment: { generatedAt: "t2" }, runs: [{ id: "x", v: 1 }] };
  assertEquals(jsonDifferences(a, b, 20, ["environment"]), []);
  assertEquals(jsonDifferences(a, b).map((d) => d.path), ["$.environment.generatedAt"]);
});

Deno.test("golden comparison: only the top-level block of that name is ignored", () => {
  // A run's own figures under the same key are compared (a machine's parameters, say).
  const a = { environment: { host: "a" }, runs: [{ environment: { cpus: 2 } }] };
  const b = { environment: { host: "b" }, runs: [{ environment: { cpus: 8 } }] };
  assertEquals(jsonDifferences(a, b, 20, ["environment"]), [
    { path: "$.runs[0].environment.cpus", detail: "2 instead of 8" },
  ]);
});

Deno.test("golden comparison: paths of moved figures, missing and extra keys, lengths", () => {
  const actual = { runs: [{ m: { walks: 3, "p-99": 2 } }, { extra: true }], tail: [1, 2, 3] };
  const expected = { runs: [{ m: { walks: 4, "p-99": 2 } }, { gone: 0 }], tail: [1, 2] };
  assertEquals(jsonDifferences(actual, expected), [
    { path: "$.runs[0].m.walks", detail: "3 instead of 4" },
    { path: "$.runs[1].gone", detail: "missing" },
    { path: "$.runs[1].extra", detail: "unexpected true" },
    { path: "$.tail", detail: "length 3 instead of 2" },
  ]);
  assertEquals(jsonDifferences(actual, expected, 2).length, 2);
  assertEquals(jsonDifferences({ "a b": null }, { "a b": 0 }), [
    { path: '$["a b"]', detail: "null null instead of number 0" },
  ]);
});

Deno.test("golden comparison: key order counts (results.json must stay byte-identical)", () => {
  assertEquals(jsonDifferences({ a: 1, b: 2 }, { b: 2, a: 1 }), [
    { path: "$", detail: "key order a,b instead of b,a" },
  ]);
});

Deno.test("golden tool: a malformed --command is refused with one line and exit 2", async () => {
  const tool = new URL("../tools/golden.ts", import.meta.url).pathname;
  for (const bad of ["--out x", "", "run --out /tmp/x"]) {
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", tool, "--command", bad, "/nonexistent/golden.json"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(r.stderr).trim();
    if (r.code !== 2 || err.split("\n").length !== 1 || !err.includes("--command")) {
      throw new Error(`--command "${bad}": exit ${r.code}, stderr ${err}`);
    }
  }
});

Deno.test("golden tool: a comparison runs the command the golden copy records", () => {
  assertEquals(
    goldenCommand({
      suite: { command: "rmapbench run --seed 1 --workload android-launch --param scale=0.2" },
    }),
    ["run", "--seed", "1", "--workload", "android-launch", "--param", "scale=0.2"],
  );
  assertEquals(goldenCommand({ suite: { command: "rmapbench bench --seed 1 --repeat 5" } }), [
    "bench",
    "--seed",
    "1",
    "--repeat",
    "5",
  ]);
  // Nothing to split back safely: no command, quotes, another tool, an option first, --out.
  for (
    const doc of [
      {},
      null,
      { suite: {} },
      { suite: { command: 'rmapbench run --param "x=1 2"' } },
      { suite: { command: "other run" } },
      { suite: { command: "rmapbench --help" } },
      { suite: { command: "rmapbench" } },
      { suite: { command: "rmapbench run --out /tmp/x" } },
    ]
  ) assertEquals(goldenCommand(doc), null, JSON.stringify(doc));
});
