import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Ajv2020 } from "npm:ajv@8.20.0/dist/2020.js";
import {
  parseResults,
  ResultsValidationError,
  runLabel,
  stableStringify,
  summarize,
  validateResults,
  withoutEnvironment,
} from "../reports/results.ts";
import { makeFixture } from "./fixtures/results_fixture.ts";

const schemaUrl = new URL("../reports/results.schema.json", import.meta.url);

/** A document being corrupted on purpose. */
// deno-lint-ignore no-explicit-any
type Loose = Record<string, any>;

Deno.test("validateResults accepts the fixture and returns it", () => {
  const r = makeFixture();
  assert.equal(validateResults(r), r);
});

Deno.test("validateResults names the first bad path in a one-line message", () => {
  const r = makeFixture() as unknown as Loose;
  r.runs[1].slab.final.objects.anon_vma = -1;
  assert.throws(() => validateResults(r), (e: unknown) => {
    assert.ok(e instanceof ResultsValidationError);
    assert.equal(e.path, "runs[1].slab.final.objects.anon_vma");
    assert.equal(
      e.message,
      "Invalid results at runs[1].slab.final.objects.anon_vma: expected a non-negative integer, got -1",
    );
    assert.ok(!e.message.includes("\n"));
    return true;
  });
});

Deno.test("validateResults rejects wrong versions, missing fields, ragged series and duplicates", () => {
  const cases: [(r: Loose) => void, string][] = [
    [(r) => (r.schemaVersion = 3), "Invalid results at schemaVersion: expected 2, got 3"],
    [
      (r) => (r.schemaVersion = 1),
      "Invalid results at schemaVersion: this is a version 1 document (single runs, no " +
      "rmapBytes, no repeats); this rmapbench reads version 2 only: re-run the command in its " +
      "suite.command",
    ],
    [
      (r) => (r.runs[0].rmapBytes.peak = 1),
      "Invalid results at runs[0].rmapBytes.peak: expected a number >= final (632), got 1",
    ],
    [
      (r) => delete r.suite.costProfile,
      "Invalid results at suite.costProfile: expected a string, got undefined",
    ],
    [
      (r) => (r.runs[0].timeseries.bytes.anon_vma = [1]),
      "Invalid results at runs[0].timeseries.bytes.anon_vma: expected 3 points (the length of timeseries.t), got 1",
    ],
    [
      (r) => (r.runs[2].walks.unmap.visits.p99 = "5"),
      'Invalid results at runs[2].walks.unmap.visits.p99: expected a finite number, got string "5"',
    ],
    [
      (r) => (r.runs[0].locks["anon_vma.root"].wait = null),
      'Invalid results at runs[0].locks["anon_vma.root"].wait: expected an object, got null',
    ],
    [
      (r) => (r.runs[3].id = r.runs[0].id),
      'Invalid results at runs[3].id: duplicates runs[0].id "anon_vma/fork_tree"',
    ],
    [
      (r) => (r.runs[1].cpuUtilisation = 1.5),
      "Invalid results at runs[1].cpuUtilisation: expected a fraction between 0 and 1, got 1.5",
    ],
    [
      (r) => (r.runs[0].extraTables[0].rows[0] = ["x"]),
      "Invalid results at runs[0].extraTables[0].rows[0]: expected 2 cells, got 1",
    ],
  ];
  for (const [corrupt, message] of cases) {
    const r = makeFixture() as unknown as Loose;
    corrupt(r);
    assert.throws(() => validateResults(r), { message });
  }
  assert.throws(() => validateResults([]), {
    message: "Invalid results at $: expected an object, got an array",
  });
});

Deno.test("parseResults reports invalid JSON", () => {
  assert.throws(() => parseResults("{"), SyntaxError);
  assert.deepEqual(parseResults(stableStringify(makeFixture())), makeFixture());
});

Deno.test("stableStringify is deterministic, ordered, indented and ends with a newline", () => {
  const a = makeFixture();
  const b = makeFixture();
  // Same content in a different key order gives the same text.
  b.runs[0].counters = { anon_vma_reuse: 2, "merge_failed.anon_vma": 1 };
  const envFirst = {
    environment: b.environment,
    runs: b.runs,
    suite: b.suite,
    tool: b.tool,
    schemaVersion: 2,
  };
  const text = stableStringify(a);
  assert.equal(stableStringify(envFirst), text);
  assert.ok(text.startsWith('{\n  "schemaVersion": 2,\n  "tool": {\n    "name": "rmapbench",\n'));
  assert.ok(text.endsWith("}\n"));
  assert.equal(
    stableStringify({ z: -0, a: undefined, m: [2, 1] }),
    '{\n  "m": [\n    2,\n    1\n  ],\n  "z": 0\n}\n',
  );
  assert.throws(() => stableStringify({ runs: [{ x: NaN }] }), {
    message: "Cannot serialise runs[0].x: NaN is not valid JSON",
  });
});

Deno.test("withoutEnvironment drops only the environment and copies", () => {
  const a = makeFixture();
  const b = makeFixture();
  b.environment.generatedAt = "2030-01-01T00:00:00.000Z";
  b.environment.hostname = "elsewhere";
  assert.equal(stableStringify(withoutEnvironment(a)), stableStringify(withoutEnvironment(b)));
  const w = withoutEnvironment(a);
  assert.ok(!("environment" in w));
  w.runs[0].ops = 999;
  assert.equal(a.runs[0].ops, 100);
});

Deno.test("summarize uses nearest-rank percentiles", () => {
  const s = summarize(Array.from({ length: 100 }, (_, i) => 100 - i));
  assert.deepEqual(s, {
    count: 100,
    mean: 50.5,
    p50: 50,
    p90: 90,
    p99: 99,
    max: 100,
    min: 1,
    sum: 5050,
  });
  assert.deepEqual(summarize([]), {
    count: 0,
    mean: 0,
    p50: 0,
    p90: 0,
    p99: 0,
    max: 0,
    min: 0,
    sum: 0,
  });
});

Deno.test("the fixture validates against the JSON Schema, and a corrupt one does not", () => {
  const schema = JSON.parse(readFileSync(schemaUrl, "utf8"));
  assert.equal(schema.$schema, "https://json-schema.org/draft/2020-12/schema");
  assert.deepEqual(schema.required, ["schemaVersion", "tool", "suite", "environment", "runs"]);
  const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
  const validate = ajv.compile(schema);
  const doc: Loose = JSON.parse(stableStringify(makeFixture()));
  assert.ok(validate(doc), JSON.stringify(validate.errors));
  doc.runs[1].slab.final.objects.anon_vma = -1;
  assert.equal(validate(doc), false);
  assert.equal(validate.errors?.[0].instancePath, "/runs/1/slab/final/objects/anon_vma");
});

Deno.test("the schema's required fields match what validateResults requires", () => {
  const schema = JSON.parse(readFileSync(schemaUrl, "utf8"));
  const runRequired: string[] = schema.$defs.run.required;
  for (const field of runRequired) {
    const r = makeFixture() as unknown as Loose;
    delete r.runs[0][field];
    assert.throws(() => validateResults(r), {
      message: new RegExp(`^Invalid results at runs\\[0\\]\\.${field}: `),
    });
  }
  // Optional run fields in the schema are optional for the validator too.
  const r = makeFixture() as unknown as Loose;
  delete r.runs[0].notes;
  delete r.runs[0].extraTables;
  validateResults(r);
  for (const field of schema.properties.environment.required as string[]) {
    const e = makeFixture() as unknown as Loose;
    delete e.environment[field];
    assert.throws(() => validateResults(e), {
      message: new RegExp(`^Invalid results at environment\\.${field}: `),
    });
  }
});

Deno.test("validateResults rejects fractions, long series, repeat 0 and reversed intervals", () => {
  const cases: [(r: Loose) => void, string][] = [
    [
      (r) => (r.runs[0].ops = 1.5),
      "Invalid results at runs[0].ops: expected a non-negative integer, got 1.5",
    ],
    [
      // One point more than timeseries.t's three.
      (r) => (r.runs[0].timeseries.bytes.anon_vma = [0, 624, 312, 0]),
      "Invalid results at runs[0].timeseries.bytes.anon_vma: expected 3 points (the length of " +
      "timeseries.t), got 4",
    ],
    [
      (r) => (r.suite.repeat = 0),
      "Invalid results at suite.repeat: expected an integer >= 1, got 0",
    ],
    [
      (r) => (r.runs[0].aggregates = {
        ops: { n: 3, mean: 100, sd: 10, min: 90, max: 110, ci: [125, 75], exact: false },
      }),
      "Invalid results at runs[0].aggregates.ops.ci[1]: expected a number >= ci[0]",
    ],
    [
      (r) => (r.runs[0].extraTables[0].rows[0] = ["anon_vma", 3, "extra"]),
      "Invalid results at runs[0].extraTables[0].rows[0]: expected 2 cells, got 3",
    ],
    [
      (r) => (r.environment.extra = { nested: 1 }),
      "Invalid results at environment.extra: expected a string, number or boolean, got an object",
    ],
  ];
  for (const [corrupt, message] of cases) {
    const r = makeFixture() as unknown as Loose;
    corrupt(r);
    assert.throws(() => validateResults(r), { message });
  }
  // The valid neighbours of those cases pass: a sound interval, one repeat, a boolean extra.
  const ok = makeFixture() as unknown as Loose;
  ok.suite.repeat = 1;
  ok.environment.dirty = true;
  ok.runs[0].aggregates = {
    ops: { n: 3, mean: 100, sd: 10, min: 90, max: 110, ci: [75, 125], exact: false },
  };
  validateResults(ok);
});

Deno.test("stableStringify refuses infinities and writes each run's id first", () => {
  assert.throws(() => stableStringify({ runs: [{ x: Infinity }] }), {
    message: "Cannot serialise runs[0].x: Infinity is not valid JSON",
  });
  assert.throws(() => stableStringify([-Infinity]), {
    message: "Cannot serialise [0]: -Infinity is not valid JSON",
  });
  // "id" and "title" are first keys at every level; the rest follow alphabetically.
  const doc = JSON.parse(stableStringify(makeFixture()));
  assert.deepEqual(Object.keys(doc.runs[0]).slice(0, 3), ["id", "counters", "cpuUtilisation"]);
  assert.deepEqual(Object.keys(doc.runs[0].scheme), [
    "id",
    "title",
    "ownedCaches",
    "ownedLockClasses",
  ]);
});

Deno.test("runLabel keeps a sweep run's whole parameter suffix", () => {
  const run = (id: string) => ({ id, scheme: { id: "anon_vma" }, workload: { id: "fork-storm" } });
  assert.equal(runLabel(run("anon_vma/fork-storm[children=4]")), "anon_vma [children=4]");
  assert.equal(runLabel(run("anon_vma/fork-storm")), "anon_vma");
});
