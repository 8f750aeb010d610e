import assert from "node:assert/strict";
import fc from "fast-check";
import { Distribution } from "../core/lib/stats.ts";

Deno.test("Distribution empty", () => {
  const d = new Distribution();
  assert.deepEqual(d.summary(), {
    count: 0,
    mean: 0,
    p50: 0,
    p90: 0,
    p99: 0,
    max: 0,
    min: 0,
    sum: 0,
  });
  assert.equal(d.quantile(0.5), 0);
  assert.deepEqual(d.histogram(4), []);
});

Deno.test("Distribution exact values", () => {
  const d = new Distribution(2);
  for (let i = 10; i >= 1; i--) d.add(i);
  assert.equal(d.count, 10);
  assert.equal(d.sum, 55);
  assert.equal(d.mean, 5.5);
  assert.equal(d.min, 1);
  assert.equal(d.max, 10);
  assert.equal(d.quantile(0), 1);
  assert.equal(d.quantile(0.1), 1);
  assert.equal(d.quantile(0.11), 2);
  assert.equal(d.p50, 5);
  assert.equal(d.p90, 9);
  assert.equal(d.p99, 10);
  assert.equal(d.quantile(1), 10);
  assert.equal(d.quantile(0.3), 3);
  assert.equal(d.quantile(0.7), 7);
  assert.throws(() => d.quantile(1.1), RangeError);
  assert.throws(() => d.quantile(NaN), RangeError);
  assert.throws(() => d.add(NaN), RangeError);
  assert.throws(() => d.add(Infinity), RangeError);
  assert.deepEqual(d.summary(), {
    count: 10,
    mean: 5.5,
    p50: 5,
    p90: 9,
    p99: 10,
    max: 10,
    min: 1,
    sum: 55,
  });
  // A new sample invalidates the cached sort.
  d.add(0);
  assert.equal(d.quantile(0), 0);
  assert.equal(d.p50, 5);
  const p = new Distribution();
  for (let i = 1; i <= 100; i++) p.add(i);
  assert.equal(p.p50, 50);
  assert.equal(p.p90, 90);
  assert.equal(p.p99, 99);
  // q * n just above an integer in floating point: 0.07 * 100 = 7.000000000000001 and
  // 0.28 * 100 = 28.000000000000004 are ranks 7 and 28, not 8 and 29.
  assert.deepEqual([p.quantile(0.07), p.quantile(0.14), p.quantile(0.28)], [7, 14, 28]);
  assert.equal(p.quantile(0.999), 100);
});

Deno.test("Distribution histogram and merge", () => {
  const d = new Distribution();
  for (const v of [0, 1, 2, 3, 4, 5, 6, 7, 8, 10]) d.add(v);
  assert.deepEqual(d.histogram(2), [
    { lo: 0, hi: 5, count: 5 },
    { lo: 5, hi: 10, count: 5 },
  ]);
  assert.deepEqual(d.histogram(5).map((b) => b.count), [2, 2, 2, 2, 2]);
  assert.throws(() => d.histogram(0), RangeError);
  assert.throws(() => d.histogram(2, { scale: "log" }), RangeError);
  const l = new Distribution();
  for (const v of [1, 2, 5, 10, 50, 100, 1000]) l.add(v);
  assert.deepEqual(l.histogram(3, { scale: "log" }), [
    { lo: 1, hi: 10, count: 3 },
    { lo: 10, hi: 100, count: 2 },
    { lo: 100, hi: 1000, count: 2 },
  ]);
  const c = new Distribution();
  c.add(7);
  c.add(7);
  assert.deepEqual(c.histogram(2), [
    { lo: 7, hi: 7, count: 2 },
    { lo: 7, hi: 7, count: 0 },
  ]);
  const a = new Distribution();
  a.add(1);
  a.add(3);
  const b = new Distribution();
  b.add(2);
  assert.equal(a.merge(b), a);
  assert.deepEqual(a.summary(), {
    count: 3,
    mean: 2,
    p50: 2,
    p90: 3,
    p99: 3,
    max: 3,
    min: 1,
    sum: 6,
  });
  a.merge(a);
  assert.equal(a.count, 6);
  assert.equal(b.count, 1);
});

function refQuantile(sorted: number[], q: number): number {
  // Smallest sample v with at least q * n samples <= v (exact rational check).
  for (const v of sorted) {
    const le = sorted.filter((x) => x <= v).length;
    if (le >= q * sorted.length - 1e-9) return v;
  }
  return sorted[sorted.length - 1];
}

Deno.test("Distribution matches a naive model (property)", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: -1000, max: 1000 }), { minLength: 1, maxLength: 200 }),
      fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 10 }),
      fc.integer({ min: 1, max: 12 }),
      (xs, qs, buckets) => {
        const d = new Distribution(1);
        const split = Math.floor(xs.length / 2);
        const other = new Distribution();
        xs.slice(0, split).forEach((x) => d.add(x));
        xs.slice(split).forEach((x) => other.add(x));
        d.merge(other);
        const sorted = [...xs].sort((a, b) => a - b);
        assert.equal(d.count, xs.length);
        assert.equal(d.sum, xs.reduce((s, x) => s + x, 0));
        assert.equal(d.min, sorted[0]);
        assert.equal(d.max, sorted[sorted.length - 1]);
        for (const qi of qs) {
          const q = qi / 1000;
          assert.equal(d.quantile(q), refQuantile(sorted, q), `q=${q}`);
        }
        assert.equal(d.p90, refQuantile(sorted, 0.9));
        const h = d.histogram(buckets);
        assert.equal(h.length, buckets);
        assert.equal(h.reduce((s, b) => s + b.count, 0), xs.length);
        assert.equal(h[0].lo, sorted[0]);
        assert.equal(h[buckets - 1].hi, sorted[sorted.length - 1]);
        if (sorted[0] !== sorted[sorted.length - 1]) {
          for (let i = 0; i < buckets; i++) {
            const last = i === buckets - 1;
            const want = xs.filter((x) => x >= h[i].lo && (last ? x <= h[i].hi : x < h[i].hi));
            assert.equal(h[i].count, want.length);
          }
        }
      },
    ),
    { seed: 7, numRuns: 200 },
  );
});

Deno.test("Distribution.histogram() integer scale: whole buckets, both ends included", () => {
  const assertEquals = (a: unknown, b: unknown): void => assert.deepStrictEqual(a, b);
  const d = new Distribution();
  [1, 1, 2, 5, 9, 30].forEach((v) => d.add(v));
  const h = d.histogram(4, { scale: "integer" });
  // range 1..30 = 30 integers, 4 buckets → width 8: 1-8, 9-16, 17-24, 25-32
  assertEquals(h, [
    { lo: 1, hi: 8, count: 4 },
    { lo: 9, hi: 16, count: 1 },
    { lo: 17, hi: 24, count: 0 },
    { lo: 25, hi: 32, count: 1 },
  ]);
  const one = new Distribution();
  one.add(3);
  assertEquals(one.histogram(12, { scale: "integer" }), [{ lo: 3, hi: 3, count: 1 }]);
});

Deno.test("Distribution: zeros, whole numbers, large and fractional samples mix exactly", () => {
  // Zeros are counted apart, whole numbers below 2^32 kept narrow until a sample needs a double;
  // none of this may show: every figure equals the plain sorted-array model.
  const xs = [0, 5, 0, 4_294_967_295, 0, 7, -3, 0, 2.5, 4_294_967_296, 0, -0, 1, 0];
  for (let cut = 0; cut <= xs.length; cut++) {
    const d = new Distribution(1);
    xs.slice(0, cut).forEach((x) => d.add(x));
    const before = cut > 0 ? d.p50 : 0; // a cached sort, invalidated by the next samples
    xs.slice(cut).forEach((x) => d.add(x));
    const sorted = Float64Array.from(xs).sort();
    assert.equal(d.count, xs.length);
    assert.equal(d.sum, xs.reduce((s, x) => s + x, 0));
    for (let r = 1; r <= xs.length; r++) {
      // Rank r of n (nearest rank): sorted[r - 1], -0 before +0 as a typed array sorts.
      const q = r / xs.length;
      assert.ok(Object.is(d.quantile(q), sorted[r - 1]), `cut ${cut} rank ${r}`);
    }
    assert.ok(Object.is(d.quantile(0), sorted[0]));
    assert.equal(d.min, -3);
    assert.equal(d.max, 4_294_967_296);
    assert.equal(d.histogram(3).reduce((s, b) => s + b.count, 0), xs.length);
    assert.ok(typeof before === "number");
  }
  const z = new Distribution();
  for (let i = 0; i < 10; i++) z.add(i < 9 ? 0 : 8);
  assert.deepEqual([z.p50, z.p90, z.p99, z.mean], [0, 0, 8, 0.8]);
  assert.deepEqual(z.histogram(2, { scale: "integer" }), [
    { lo: 0, hi: 4, count: 9 },
    { lo: 5, hi: 9, count: 1 },
  ]);
});

Deno.test("Distribution over many chunks: quantiles, histogram and merge as one sorted array", () => {
  // 300,000 samples span several 65,536-sample chunks; a double arrives after three chunks
  // (every stored sample becomes a double), then -0 and zeros; quantiles are read in between
  // (the chunks are joined and sorted) and samples keep arriving afterwards.
  const d = new Distribution(4);
  const ref: number[] = [];
  const add = (v: number): void => {
    d.add(v);
    ref.push(v);
  };
  let x = 12345;
  const next = (): number => (x = (x * 1103515245 + 12345) % 2147483648) % 100_000;
  for (let i = 0; i < 200_000; i++) add(next());
  // -0 sorts before +0, as in a typed array's sort.
  const sorted = (): number[] =>
    [...ref].sort((a, b) => a - b || (Object.is(a, -0) ? -1 : 0) - (Object.is(b, -0) ? -1 : 0));
  const nearest = (q: number): number => {
    const s = sorted();
    return s[Math.min(s.length, Math.max(1, Math.ceil(q * s.length))) - 1];
  };
  assert.equal(d.p50, nearest(0.5));
  assert.equal(d.p99, nearest(0.99));
  add(0.5);
  add(-0);
  add(0);
  for (let i = 0; i < 100_000; i++) add(i % 7 === 0 ? 0 : next());
  for (const q of [0, 0.1, 0.5, 0.9, 0.99, 1]) assert.equal(d.quantile(q), nearest(q));
  assert.ok(Object.is(d.quantile(0), -0));
  assert.equal(d.count, ref.length);
  const h = d.histogram(7);
  assert.equal(h.reduce((a, b) => a + b.count, 0), ref.length);
  const m = new Distribution().merge(d);
  // (min may be -0 or 0 depending on arrival order; the rest does not depend on it.)
  assert.deepEqual({ ...m.summary(), min: 0 }, { ...d.summary(), min: 0 });
  assert.deepEqual(m.histogram(5, { scale: "integer" }), d.histogram(5, { scale: "integer" }));
});

Deno.test("Distribution: +0 samples keep the sum's bits and set min and max like any sample", () => {
  // Small values, many zeros of both signs: sum (with -0 kept apart), min and max against a naive
  // fold in arrival order.
  const sample = fc.oneof(fc.constant(0), fc.constant(-0), fc.integer({ min: -3, max: 3 }));
  fc.assert(
    fc.property(fc.array(sample, { minLength: 1, maxLength: 60 }), (xs) => {
      const d = new Distribution(1);
      let sum = 0, min = Infinity, max = -Infinity;
      for (const x of xs) {
        d.add(x);
        sum += x;
        if (x < min) min = x;
        if (x > max) max = x;
        assert.ok(Object.is(d.sum, sum), `sum ${d.sum} vs ${sum}`);
        assert.ok(Object.is(d.min, min), `min ${d.min} vs ${min}`);
        assert.ok(Object.is(d.max, max), `max ${d.max} vs ${max}`);
      }
      assert.equal(d.count, xs.length);
    }),
    { seed: 11, numRuns: 300 },
  );
});

Deno.test("Distribution: -0 among whole-number samples keeps its sign and ranks first", () => {
  // 5 and 3 are stored as 32-bit integers; -0 must still be kept as a double (it is not +0, the
  // one zero that is only counted): ascending order -0, +0, 3, 5, as a typed array sorts.
  const d = new Distribution();
  [5, -0, 0, 3].forEach((v) => d.add(v));
  assert.ok(Object.is(d.min, -0));
  assert.ok(Object.is(d.quantile(0), -0), `quantile(0) = ${d.quantile(0)}`);
  assert.ok(Object.is(d.quantile(0.25), -0)); // rank 1 of 4
  assert.ok(Object.is(d.quantile(0.5), 0)); // rank 2 of 4: the counted +0
  assert.deepEqual([d.quantile(0.75), d.quantile(1)], [3, 5]);
});

Deno.test("Distribution.histogram() integer scale: zeros land in the bucket holding 0", () => {
  // -4..5 is 10 integers; 3 buckets → width ceil(10 / 3) = 4: -4..-1, 0..3, 4..7. The three +0
  // samples (counted, not stored) belong with 2 in the middle bucket, not in the first one.
  const d = new Distribution();
  [-4, 0, -3, 0, 2, 0, 5].forEach((v) => d.add(v));
  assert.deepEqual(d.histogram(3, { scale: "integer" }), [
    { lo: -4, hi: -1, count: 2 },
    { lo: 0, hi: 3, count: 4 },
    { lo: 4, hi: 7, count: 1 },
  ]);
});

Deno.test("Distribution.histogram() integer scale reads every chunk before any quantile", () => {
  // Capacity 1: 1..10 arrive in chunks of 1, 2, 4 and a last one of 8 holding 8, 9, 10; no
  // quantile has joined them. 1..10 in 2 buckets of width 5: 1..5 and 6..10, five samples each.
  const d = new Distribution(1);
  for (let v = 1; v <= 10; v++) d.add(v);
  assert.deepEqual(d.histogram(2, { scale: "integer" }), [
    { lo: 1, hi: 5, count: 5 },
    { lo: 6, hi: 10, count: 5 },
  ]);
  assert.equal(d.p50, 5);
});

Deno.test("Distribution.histogram(): the outer bounds are exactly min and max", () => {
  // The formula would give 0.2 + (0.9 - 0.2) * 5 / 5 = 0.8999999999999999 for the last bound of
  // a linear histogram, and 10 ** (log10(5) * 3 / 3) = 5.000000000000001 for a log one.
  const d = new Distribution();
  [0.2, 0.9].forEach((v) => d.add(v));
  const h = d.histogram(5);
  assert.equal(h[0].lo, 0.2);
  assert.equal(h[4].hi, 0.9);
  assert.deepEqual(h.map((b) => b.count), [1, 0, 0, 0, 1]);
  const l = new Distribution();
  [1, 2, 5].forEach((v) => l.add(v));
  const lh = l.histogram(3, { scale: "log" });
  assert.equal(lh[0].lo, 1);
  assert.equal(lh[2].hi, 5);
  assert.equal(lh.reduce((s, b) => s + b.count, 0), 3);
});
