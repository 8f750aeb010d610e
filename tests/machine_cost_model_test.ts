import assert from "node:assert/strict";
import {
  COST_PROFILES,
  costProfile,
  DEFAULT_COST_PROFILE,
  MAX_COST_NS,
  mergeCostProfile,
  validateCostOverrides,
  validateCostProfile,
  WORK_KINDS,
  workCostNs,
} from "../core/machine/mod.ts";

Deno.test("named profiles are complete and valid", () => {
  assert.deepEqual(Object.keys(COST_PROFILES), [
    "default",
    "phone-little-core",
    "unit",
    "host-x86-6.18",
  ]);
  for (const p of Object.values(COST_PROFILES)) {
    assert.deepEqual(validateCostProfile(JSON.parse(JSON.stringify(p))), p);
    assert.deepEqual(Object.keys(p.workNs), [...WORK_KINDS]);
  }
  assert.equal(costProfile("default"), DEFAULT_COST_PROFILE);
  assert.throws(
    () => costProfile("nope"),
    /^Error: Unknown cost profile "nope"; valid profiles: default, phone-little-core, unit, host-x86-6.18$/,
  );
  assert.ok(Object.isFrozen(DEFAULT_COST_PROFILE) && Object.isFrozen(DEFAULT_COST_PROFILE.workNs));
});

Deno.test("validateCostProfile rejects unknown keys, non-numbers, negatives, missing keys", () => {
  const base = JSON.parse(JSON.stringify(DEFAULT_COST_PROFILE));
  assert.throws(
    () => validateCostProfile({ ...base, lockAquireNs: 1 }),
    /^RangeError: Unknown cost profile key lockAquireNs; valid keys: workNs, lockAcquireNs, /,
  );
  assert.throws(
    () => validateCostProfile({ ...base, workNs: { ...base.workNs, tree_vist: 1 } }),
    /^RangeError: Unknown cost profile key workNs\.tree_vist; valid work kinds: slab_alloc, /,
  );
  assert.throws(
    () => validateCostProfile({ ...base, wakeupNs: "3000" }),
    new RegExp(
      "^RangeError: Cost profile key wakeupNs must be a number of nanoseconds " +
        String.raw`in \[0, 1000000000000\], got "3000"$`,
    ),
  );
  assert.throws(
    () => validateCostProfile({ ...base, workNs: { ...base.workNs, cache_miss: -1 } }),
    new RegExp(
      String.raw`^RangeError: Cost profile key workNs\.cache_miss must be a number of ` +
        String.raw`nanoseconds in \[0, 1000000000000\], got -1$`,
    ),
  );
  assert.throws(() => validateCostProfile({ ...base, rcuGracePeriodNs: NaN }), /got NaN$/);
  const { contextSwitchNs: _, ...missing } = base;
  assert.throws(
    () => validateCostProfile(missing),
    /^RangeError: Cost profile is missing key contextSwitchNs$/,
  );
  assert.throws(() => validateCostProfile([]), /^TypeError: Cost profile must be an object$/);
  for (const bad of [{ ...base, lockAcquireNs: -1 }, { ...base, lockAcquireNs: null }]) {
    assert.throws(() => validateCostProfile(bad), (e: Error) => !e.message.includes("\n"));
  }
});

Deno.test("mergeCostProfile lays validated overrides over a base", () => {
  const p = mergeCostProfile(DEFAULT_COST_PROFILE, {
    workNs: { cache_miss: 120 },
    rcuGracePeriodNs: 1_000_000,
  });
  assert.equal(p.workNs.cache_miss, 120);
  assert.equal(p.workNs.tree_visit, DEFAULT_COST_PROFILE.workNs.tree_visit);
  assert.equal(p.rcuGracePeriodNs, 1_000_000);
  assert.equal(p.wakeupNs, DEFAULT_COST_PROFILE.wakeupNs);
  assert.equal(DEFAULT_COST_PROFILE.workNs.cache_miss, 90, "the base is not modified");
  assert.throws(() => mergeCostProfile(DEFAULT_COST_PROFILE, { wakeupNs: -5 }), /wakeupNs/);
  assert.deepEqual(validateCostOverrides({ workNs: { pt_level: 15 } }), {
    workNs: { pt_level: 15 },
  });
  assert.throws(() => validateCostOverrides({ speed: 2 }), /Unknown cost profile key speed/);
});

Deno.test("a figure of exactly MAX_COST_NS is valid, the next integer above is not", () => {
  // The documented range is [0, MAX_COST_NS], both ends included (cost_model.ts checkFigure).
  const base = JSON.parse(JSON.stringify(DEFAULT_COST_PROFILE));
  assert.equal(MAX_COST_NS, 1e12);
  const p = validateCostProfile({ ...base, workNs: { ...base.workNs, page_copy: MAX_COST_NS } });
  assert.equal(p.workNs.page_copy, 1e12);
  assert.equal(validateCostOverrides({ wakeupNs: MAX_COST_NS }).wakeupNs, 1e12);
  assert.equal(validateCostOverrides({ workNs: { rcu_op: 0 } }).workNs?.rcu_op, 0);
  assert.throws(
    () => validateCostOverrides({ wakeupNs: MAX_COST_NS + 1 }),
    new RegExp(
      "^RangeError: Cost profile key wakeupNs must be a number of nanoseconds " +
        String.raw`in \[0, 1000000000000\], got 1000000000001$`,
    ),
  );
});

Deno.test("a complete profile needs workNs and every kind in it; overrides need neither", () => {
  const base = JSON.parse(JSON.stringify(DEFAULT_COST_PROFILE));
  const { page_zero: _, ...noZero } = base.workNs;
  assert.throws(
    () => validateCostProfile({ ...base, workNs: noZero }),
    /^RangeError: Cost profile is missing key workNs\.page_zero$/,
  );
  const { workNs: __, ...noWork } = base;
  assert.throws(
    () => validateCostProfile(noWork),
    /^RangeError: Cost profile is missing key workNs$/,
  );
  // Overrides may leave out anything: only the figures given are in the result.
  assert.deepEqual(validateCostOverrides({ workNs: noZero }).workNs, noZero);
  assert.deepEqual(validateCostOverrides({ wakeupNs: 1 }), { wakeupNs: 1 });
});

Deno.test("validated and merged profiles are frozen copies", () => {
  const input = JSON.parse(JSON.stringify(DEFAULT_COST_PROFILE));
  const p = validateCostProfile(input);
  assert.ok(Object.isFrozen(p) && Object.isFrozen(p.workNs));
  input.workNs.cache_miss = 1; // the caller's object stays theirs
  assert.equal(p.workNs.cache_miss, 90);
  const m = mergeCostProfile(DEFAULT_COST_PROFILE, { lockAcquireNs: 7 });
  assert.ok(Object.isFrozen(m) && Object.isFrozen(m.workNs));
  assert.throws(() => {
    (m as { lockAcquireNs: number }).lockAcquireNs = 0;
  }, TypeError);
  assert.equal(m.lockAcquireNs, 7);
});

Deno.test("workCostNs is the price per unit times the units", () => {
  // Default prices: tree_visit 10 ns, page_copy 800 ns.
  assert.equal(workCostNs(DEFAULT_COST_PROFILE, "tree_visit", 3), 30);
  assert.equal(workCostNs(DEFAULT_COST_PROFILE, "page_copy", 0.5), 400);
  assert.equal(workCostNs(DEFAULT_COST_PROFILE, "page_copy", 0), 0);
});

Deno.test("costProfile knows only its own names, not an object's inherited keys", () => {
  for (const name of ["constructor", "toString", "__proto__", "hasOwnProperty"]) {
    assert.throws(() => costProfile(name), new RegExp(`^Error: Unknown cost profile "${name}"; `));
  }
  assert.equal(costProfile("unit").workNs.page_copy, 1);
});
