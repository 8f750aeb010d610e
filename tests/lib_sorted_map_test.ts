import assert from "node:assert/strict";
import fc from "fast-check";
import { SortedMap } from "../core/lib/sorted_map.ts";

Deno.test("SortedMap basic navigation", () => {
  const m = new SortedMap<string>();
  assert.equal(m.size, 0);
  assert.equal(m.first(), undefined);
  assert.equal(m.last(), undefined);
  for (const k of [50, 10, 30, 20, 40]) m.set(k, `v${k}`);
  assert.equal(m.size, 5);
  assert.equal(m.get(30), "v30");
  assert.equal(m.get(31), undefined);
  assert.ok(m.has(10));
  assert.ok(!m.has(11));
  assert.deepEqual(m.floor(30), [30, "v30"]);
  assert.deepEqual(m.floor(35), [30, "v30"]);
  assert.equal(m.floor(9), undefined);
  assert.deepEqual(m.ceiling(30), [30, "v30"]);
  assert.deepEqual(m.ceiling(31), [40, "v40"]);
  assert.equal(m.ceiling(51), undefined);
  assert.deepEqual(m.lower(30), [20, "v20"]);
  assert.equal(m.lower(10), undefined);
  assert.deepEqual(m.higher(30), [40, "v40"]);
  assert.equal(m.higher(50), undefined);
  assert.deepEqual(m.first(), [10, "v10"]);
  assert.deepEqual(m.last(), [50, "v50"]);
  m.set(30, "x");
  assert.equal(m.size, 5);
  assert.equal(m.get(30), "x");
  assert.deepEqual([...m.range(20, 50)].map(([k]) => k), [20, 30, 40]);
  assert.deepEqual(m.rangeKeys(11, 41), [20, 30, 40]);
  assert.deepEqual([...m.entries()].map(([k]) => k), [10, 20, 30, 40, 50]);
  assert.ok(m.delete(30));
  assert.ok(!m.delete(30));
  assert.equal(m.size, 4);
  m.clear();
  assert.equal(m.size, 0);
  assert.deepEqual([...m.entries()], []);
  assert.throws(() => m.set(NaN, "n"), RangeError);
  assert.throws(() => m.set(Infinity, "n"), RangeError);
});

Deno.test("SortedMap large keys up to 2^53", () => {
  const m = new SortedMap<number>();
  const big = 2 ** 53;
  m.set(big, 1);
  m.set(big - 1, 2);
  m.set(0, 3);
  assert.deepEqual(m.lower(big), [big - 1, 2]);
  assert.deepEqual(m.last(), [big, 1]);
});

Deno.test("SortedMap range tolerates deleting the yielded entry and inserts", () => {
  const m = new SortedMap<number>();
  for (let i = 0; i < 100; i++) m.set(i, i);
  const seen: number[] = [];
  for (const [k] of m.range(10, 60)) {
    seen.push(k);
    m.delete(k);
    if (k % 10 === 0) m.delete(k + 1); // delete the next one too
    if (k === 20) m.set(20.5, -1); // insert ahead of the cursor
  }
  const expected: number[] = [];
  for (let i = 10; i < 60; i++) {
    if (i % 10 === 1) continue;
    expected.push(i);
    if (i === 20) expected.push(20.5);
  }
  assert.deepEqual(seen, expected);
  assert.equal(m.size, 100 - 50);
  assert.deepEqual(m.rangeKeys(0, 100).length, 50);
});

Deno.test("SortedMap stays balanced on sequential inserts", () => {
  const m = new SortedMap<number>();
  const n = 200_000;
  for (let i = 0; i < n; i++) m.set(i, i);
  // Deep recursion would overflow on a degenerate tree; also check contents.
  assert.equal(m.size, n);
  assert.deepEqual(m.floor(n + 5), [n - 1, n - 1]);
  for (let i = 0; i < n; i += 2) m.delete(i);
  assert.equal(m.size, n / 2);
  assert.deepEqual(m.ceiling(0), [1, 1]);
});

type Op =
  | { t: "set"; k: number; v: number }
  | { t: "del"; k: number }
  | { t: "q"; k: number }
  | { t: "range"; lo: number; hi: number; del: boolean };

function refFloor(keys: number[], k: number, strict: boolean): number | undefined {
  let best: number | undefined;
  for (const x of keys) if (x < k || (!strict && x === k)) best = x;
  return best;
}
function refCeil(keys: number[], k: number, strict: boolean): number | undefined {
  for (const x of keys) if (x > k || (!strict && x === k)) return x;
  return undefined;
}

Deno.test("SortedMap matches a naive model (property)", () => {
  const key = fc.integer({ min: -50, max: 50 });
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ t: fc.constant("set" as const), k: key, v: fc.integer() }),
    fc.record({ t: fc.constant("del" as const), k: key }),
    fc.record({ t: fc.constant("q" as const), k: key }),
    fc.record({ t: fc.constant("range" as const), lo: key, hi: key, del: fc.boolean() }),
  );
  fc.assert(
    fc.property(fc.array(op, { minLength: 20, maxLength: 200 }), (ops) => {
      const m = new SortedMap<number>();
      const ref = new Map<number, number>();
      const sortedKeys = (): number[] => [...ref.keys()].sort((a, b) => a - b);
      const entry = (k: number | undefined): [number, number] | undefined =>
        k === undefined ? undefined : [k, ref.get(k)!];
      for (const o of ops) {
        if (o.t === "set") {
          m.set(o.k, o.v);
          ref.set(o.k, o.v);
        } else if (o.t === "del") {
          assert.equal(m.delete(o.k), ref.delete(o.k));
        } else if (o.t === "q") {
          const keys = sortedKeys();
          assert.equal(m.get(o.k), ref.get(o.k));
          assert.equal(m.has(o.k), ref.has(o.k));
          assert.deepEqual(m.floor(o.k), entry(refFloor(keys, o.k, false)));
          assert.deepEqual(m.lower(o.k), entry(refFloor(keys, o.k, true)));
          assert.deepEqual(m.ceiling(o.k), entry(refCeil(keys, o.k, false)));
          assert.deepEqual(m.higher(o.k), entry(refCeil(keys, o.k, true)));
          assert.deepEqual(m.first(), entry(keys[0]));
          assert.deepEqual(m.last(), entry(keys[keys.length - 1]));
        } else {
          const want = sortedKeys().filter((k) => k >= o.lo && k < o.hi);
          assert.deepEqual(m.rangeKeys(o.lo, o.hi), want);
          const got: [number, number][] = [];
          for (const e of m.range(o.lo, o.hi)) {
            got.push(e);
            if (o.del) {
              m.delete(e[0]);
              ref.delete(e[0]);
            }
          }
          assert.deepEqual(got.map(([k]) => k), want);
        }
        assert.equal(m.size, ref.size);
      }
      assert.deepEqual(
        [...m.entries()],
        sortedKeys().map((k) => [k, ref.get(k)]),
      );
    }),
    { seed: 0x5eed, numRuns: 200 },
  );
});

Deno.test("SortedMap range: an insert ahead of the cursor is yielded, the cursor once", () => {
  // Inserted 2, 1, 3, 4: root 2, children 1 and 3, 4 right of 3. At 3 the walk's stack holds
  // nothing above 3; inserting 3.5 (under 4, left) rebalances 3's subtree into 3.5 over 3 and 4,
  // so only a re-seek after the insert finds 3.5 and 4. The re-seek starts after 3 (still there).
  const m = new SortedMap<string>();
  for (const k of [2, 1, 3, 4]) m.set(k, `v${k}`);
  const seen: number[] = [];
  for (const [k] of m.range(0, 10)) {
    seen.push(k);
    if (k === 3) m.set(3.5, "new");
  }
  assert.deepEqual(seen, [1, 2, 3, 3.5, 4]);
  // Replacing a value is no structural change; inserting behind the cursor is not yielded.
  const seen2: [number, string][] = [];
  for (const e of m.range(2, 4)) {
    seen2.push(e);
    if (e[0] === 2) m.set(3, "w3");
    if (e[0] === 3) m.set(1.5, "behind");
  }
  assert.deepEqual(seen2, [[2, "v2"], [3, "w3"], [3.5, "new"]]);
});

Deno.test("SortedMap range: clear() ends a walk; keys set after it are walked", () => {
  const m = new SortedMap<number>();
  for (let k = 1; k <= 20; k++) m.set(k, k);
  const seen: number[] = [];
  for (const [k] of m.range(0, 100)) {
    seen.push(k);
    if (k === 2) m.clear();
  }
  assert.deepEqual([seen, m.size], [[1, 2], 0]);
  for (let k = 1; k <= 20; k++) m.set(k, k);
  const seen2: number[] = [];
  for (const [k] of m.entries()) {
    seen2.push(k);
    if (k === 5) {
      m.clear();
      m.set(3, 3); // behind the cursor: not yielded
      m.set(30, 30);
    }
  }
  assert.deepEqual(seen2, [1, 2, 3, 4, 5, 30]);
});

Deno.test("SortedMap range under inserts and deletes: next key above the last (property)", () => {
  // The documented semantics: after any change, the walk continues with the smallest key
  // greater than the last yielded key present at that moment (and below hi).
  const key = fc.integer({ min: -40, max: 40 });
  const change = fc.record({
    set: fc.array(key, { maxLength: 3 }),
    del: fc.array(key, { maxLength: 3 }),
  });
  const apply = (c: { set: number[]; del: number[] }, ref: Set<number>, m?: SortedMap<number>) => {
    for (const s of c.set) {
      m?.set(s, s);
      ref.add(s);
    }
    for (const d of c.del) {
      m?.delete(d);
      ref.delete(d);
    }
  };
  fc.assert(
    fc.property(
      fc.uniqueArray(key, { maxLength: 40 }),
      fc.integer({ min: -45, max: 45 }),
      fc.integer({ min: -45, max: 45 }),
      fc.array(change, { minLength: 1, maxLength: 30 }),
      (keys, lo, hi, changes) => {
        const m = new SortedMap<number>();
        for (const k of keys) m.set(k, k);
        const ref = new Set(keys);
        const got: number[] = [];
        for (const [k, v] of m.range(lo, hi)) {
          got.push(k);
          assert.equal(v, k);
          if (got.length > 200) break;
          apply(changes[(got.length - 1) % changes.length], ref, m);
        }
        // The model's walk with the same changes after each step.
        const want: number[] = [];
        const model = new Set(keys);
        for (let at = -Infinity; want.length <= 200;) {
          let best = Infinity;
          for (const k of model) if (k > at && k >= lo && k < hi && k < best) best = k;
          if (best === Infinity) break;
          want.push(at = best);
          if (want.length <= 200) apply(changes[(want.length - 1) % changes.length], model);
        }
        assert.deepEqual(got, want);
        assert.deepEqual(m.rangeKeys(-Infinity, Infinity), [...ref].sort((a, b) => a - b));
      },
    ),
    { seed: 0x5eed, numRuns: 300 },
  );
});
