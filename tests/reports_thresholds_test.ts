// compare's thresholds are exactly the ones it prints: a change just above the threshold is a
// regression, one just below is not (a compare that silently tolerates more than its threshold
// would hide regressions that CI is told to catch).

import assert from "node:assert/strict";
import { compareResults } from "../reports/compare.ts";
import { makeFixture } from "./fixtures/results_fixture.ts";

Deno.test("compare: a time change just above the threshold regresses, just below does not", () => {
  const a = makeFixture();
  const base = a.runs[0].locks["anon_vma.root"].wait.p99;
  assert.equal(base, 1000);
  for (const [value, ok] of [[1099, true], [1101, false]] as const) {
    const b = makeFixture();
    b.runs[0].locks["anon_vma.root"].wait.p99 = value;
    const cmp = compareResults(a, b, { timeThreshold: 0.1 });
    assert.equal(cmp.ok, ok, `${value}`);
    // The lock's own p99 and the two headline figures derived from it (the scheme's owned locks
    // and all locks) move together.
    assert.deepEqual(
      cmp.regressions.map((r) => r.metric).sort(),
      ok ? [] : ["locks.all.wait.p99", "locks.anon_vma.root.wait.p99", "locks.owned.wait.p99"],
    );
  }
});

Deno.test("compare: a count change above the counter threshold regresses", () => {
  const a = makeFixture();
  const b = makeFixture();
  b.runs[0].slab.final.objects.anon_vma += 1; // 3 -> 4: +33 %
  assert.equal(compareResults(a, b, { counterThreshold: 0.3 }).ok, false);
  assert.equal(compareResults(a, b, { counterThreshold: 0.34 }).ok, true);
});

Deno.test("compare: a change of exactly the threshold is within it (beyond means strictly more)", () => {
  // "|current - baseline| > threshold × |baseline|": +50 % at a 50 % threshold passes, one more
  // nanosecond does not; likewise for counts (3 -> 4 objects at a one-third counter threshold).
  const a = makeFixture();
  for (const [value, ok] of [[1500, true], [1501, false], [500, true]] as const) {
    const b = makeFixture();
    b.runs[0].locks["anon_vma.root"].wait.p99 = value;
    const cmp = compareResults(a, b, { timeThreshold: 0.5 });
    assert.equal(cmp.ok, ok, `${value}`);
    assert.equal(cmp.regressions.length, ok ? 0 : 3, `${value}`);
    assert.equal(cmp.improvements.length, 0, `${value}`);
  }
  const b = makeFixture();
  b.runs[0].slab.final.objects.anon_vma += 1; // 3 -> 4: exactly +1/3
  const exact = compareResults(a, b, { counterThreshold: 1 / 3 });
  assert.deepEqual([exact.ok, exact.regressions], [true, []]);
});

Deno.test("compare: a threshold that is not a finite number is refused, not silently ignored", () => {
  const a = makeFixture();
  assert.throws(() => compareResults(a, a, { timeThreshold: NaN }), {
    name: "RangeError",
    message: "Option timeThreshold must be a non-negative number, got NaN",
  });
  assert.throws(() => compareResults(a, a, { counterThreshold: Infinity }), {
    name: "RangeError",
    message: "Option counterThreshold must be a non-negative number, got Infinity",
  });
});
