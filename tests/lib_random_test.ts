import assert from "node:assert/strict";
import fc from "fast-check";
import { Random } from "../core/lib/random.ts";
import { repeatSeeds } from "../runner/seeds.ts";

Deno.test("Random xoshiro128** reference vector (state 1, 2, 3, 4)", () => {
  const r = Random.fromState(1, 2, 3, 4);
  const got = Array.from({ length: 10 }, () => r.nextU32());
  assert.deepEqual(got, [
    11520,
    0,
    5927040,
    70819200,
    2031721883,
    1637235492,
    1287239034,
    3734860849,
    3729100597,
    4258142804,
  ]);
  assert.throws(() => Random.fromState(0, 0, 0, 0), RangeError);
});

Deno.test("Random pinned outputs for seed 42", () => {
  const r = new Random(42);
  assert.deepEqual(Array.from({ length: 6 }, () => r.nextU32()), [
    2134109765,
    1028472010,
    1917484319,
    2232350248,
    149779935,
    3536815509,
  ]);
  const f = new Random(42);
  assert.equal(f.float(), 0.49688615083291976);
  assert.equal(f.int(1, 6), 6);
  assert.equal(f.int(0, 2 ** 40), 953632515390);
  assert.equal(f.exponential(10), 17.34315593187339);
  const s = new Random("hello");
  assert.deepEqual([s.nextU32(), s.nextU32()], [3032327024, 2631677959]);
  const k = new Random(42).fork("a");
  assert.deepEqual([k.nextU32(), k.nextU32()], [3931162843, 1276645468]);
  assert.equal(new Random(42).fork("b").nextU32(), 3216423273);
  assert.equal(new Random(-1).nextU32(), 622564670);
  assert.equal(new Random(2 ** 53 - 1).nextU32(), 4028773581);
});

Deno.test("Random seeds: determinism, distinctness, validation", () => {
  const a = new Random(7);
  const b = new Random(7);
  for (let i = 0; i < 100; i++) assert.equal(a.nextU32(), b.nextU32());
  const firsts = new Set<number>();
  for (let s = 0; s < 1000; s++) firsts.add(new Random(s).nextU32());
  assert.equal(firsts.size, 1000);
  assert.notEqual(new Random(2 ** 32).nextU32(), new Random(0).nextU32());
  assert.notEqual(new Random("a").nextU32(), new Random("b").nextU32());
  assert.notEqual(new Random("1").nextU32(), new Random(1).nextU32());
  assert.throws(() => new Random(1.5), RangeError);
  assert.throws(() => new Random(NaN), RangeError);
  assert.throws(() => new Random(2 ** 53), RangeError);
});

Deno.test("Random fork does not advance or depend on the parent state", () => {
  const p = new Random(99);
  const q = new Random(99);
  const f1 = p.fork("x").nextU32();
  assert.equal(p.nextU32(), q.nextU32());
  for (let i = 0; i < 10; i++) p.nextU32();
  assert.equal(p.fork("x").nextU32(), f1);
  assert.notEqual(p.fork("y").nextU32(), f1);
  assert.notEqual(p.fork("x").fork("x").nextU32(), f1);
  assert.notEqual(new Random(100).fork("x").nextU32(), f1);
  // The fork stream differs from the parent stream.
  assert.notEqual(new Random(99).fork("").nextU32(), new Random(99).nextU32());
});

Deno.test("Random int is uniform and unbiased (chi-square)", () => {
  const r = new Random("chi");
  const k = 6;
  const n = 60_000;
  const counts = new Array(k).fill(0);
  for (let i = 0; i < n; i++) counts[r.int(0, k - 1)]++;
  const e = n / k;
  const chi = counts.reduce((s, c) => s + ((c - e) * (c - e)) / e, 0);
  assert.ok(chi < 20.5, `chi-square ${chi}`); // df = 5, p = 0.001
  // A range that does not divide 2^32, where modulo bias would be visible.
  const big = 3 * 2 ** 30;
  let low = 0;
  for (let i = 0; i < 20_000; i++) if (r.int(0, big - 1) < 2 ** 30) low++;
  assert.ok(Math.abs(low / 20_000 - 1 / 3) < 0.02, `low fraction ${low / 20_000}`);
  assert.equal(r.int(5, 5), 5);
  assert.throws(() => r.int(2, 1), RangeError);
  assert.throws(() => r.int(0, 0.5), RangeError);
});

Deno.test("Random float, chance, exponential, pick, shuffle", () => {
  const r = new Random(3);
  let sum = 0;
  let hits = 0;
  let exp = 0;
  const n = 50_000;
  for (let i = 0; i < n; i++) {
    const f = r.float();
    assert.ok(f >= 0 && f < 1);
    sum += f;
    if (r.chance(0.25)) hits++;
    const x = r.exponential(4);
    assert.ok(x >= 0);
    exp += x;
  }
  assert.ok(Math.abs(sum / n - 0.5) < 0.01);
  assert.ok(Math.abs(hits / n - 0.25) < 0.01);
  assert.ok(Math.abs(exp / n - 4) < 0.1);
  assert.equal(r.chance(0), false);
  assert.equal(r.chance(1), true);
  assert.equal(r.chance(-1), false);
  assert.throws(() => r.pick([]), RangeError);
  assert.equal(r.pick(["only"]), "only");
  const arr = [1, 2, 3, 4, 5];
  assert.equal(r.shuffle(arr), arr);
  assert.deepEqual([...arr].sort(), [1, 2, 3, 4, 5]);
});

Deno.test("Random properties: bounds, permutations, determinism", () => {
  fc.assert(
    fc.property(
      fc.oneof(fc.integer(), fc.string()),
      fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
      fc.integer({ min: 0, max: 2 ** 45 }),
      fc.array(fc.integer(), { maxLength: 30 }),
      (seed, lo, span, arr) => {
        const r = new Random(seed);
        const r2 = new Random(seed);
        for (let i = 0; i < 20; i++) {
          const v = r.int(lo, lo + span);
          assert.ok(Number.isInteger(v) && v >= lo && v <= lo + span);
          assert.equal(r2.int(lo, lo + span), v);
          const u = r.nextU32();
          assert.ok(Number.isInteger(u) && u >= 0 && u < 2 ** 32);
          assert.equal(r2.nextU32(), u);
        }
        const copy = [...arr];
        r.shuffle(copy);
        assert.deepEqual([...copy].sort((a, b) => a - b), [...arr].sort((a, b) => a - b));
        if (arr.length > 0) assert.ok(arr.includes(r.pick(arr)));
      },
    ),
    { seed: 42, numRuns: 200 },
  );
});

Deno.test("Random shuffle of three reaches all six orders about equally (Fisher–Yates)", () => {
  // One shuffle of [0, 1, 2] per seed 0..599: a uniform shuffle gives each of the 6 orders 100
  // times in expectation (the identity included). Sattolo's variant (j < i) would give only the
  // two 3-cycles.
  const counts = new Map<string, number>();
  for (let seed = 0; seed < 600; seed++) {
    const key = new Random(seed).shuffle([0, 1, 2]).join("");
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  assert.deepEqual([...counts.keys()].sort(), ["012", "021", "102", "120", "201", "210"]);
  for (const [order, n] of counts) assert.ok(n >= 70 && n <= 130, `${order}: ${n}`);
});

Deno.test("Random nested forks depend on the whole chain and the root seed", () => {
  // Pins raw outputs (a change to the generator moves them, and every golden figure with them).
  const f = (seed: number) => new Random(seed).fork("a").fork("b").nextU32();
  assert.equal(f(1), 1681355588);
  assert.equal(f(2), 2408328250);
  // Not the fork of a seed-0 generator: a child keeps its own seed words for its forks.
  assert.notEqual(f(1), new Random(0).fork("b").nextU32());
  assert.notEqual(f(1), new Random(1).fork("b").nextU32());
  assert.equal(new Random(1).fork("a").fork("b").nextU32(), f(1));
});

Deno.test("Random int over 53-bit ranges reaches the upper half and is unbiased", () => {
  const r = new Random("int53");
  let high = 0;
  for (let i = 0; i < 1000; i++) if (r.int(0, 2 ** 53 - 1) >= 2 ** 52) high++;
  assert.equal(high, 494); // about half
  // A range of 3 * 2^51: without rejection, values below 2^51 would come half the time, not 1/3.
  const b = new Random("int53-bias");
  let low = 0;
  for (let i = 0; i < 3000; i++) if (b.int(0, 3 * 2 ** 51 - 1) < 2 ** 51) low++;
  assert.equal(low, 1029); // about 1000
});

Deno.test("Random int(1, 6) reaches both ends; the full 32-bit range takes one output", () => {
  const r = new Random(11);
  const seen = new Set<number>();
  for (let i = 0; i < 60; i++) seen.add(r.int(1, 6));
  assert.deepEqual([...seen].sort(), [1, 2, 3, 4, 5, 6]);
  // int(0, 2^32 - 1) is nextU32 itself (no rejection, one output per draw).
  const full = new Random(5);
  const ref = new Random(5);
  for (let i = 0; i < 3; i++) assert.equal(full.int(0, 2 ** 32 - 1), ref.nextU32());
});

Deno.test("Random chance(p) at p <= 0 and p >= 1 draws nothing from the stream", () => {
  const r = new Random(5);
  assert.deepEqual([r.chance(1), r.chance(0), r.chance(-0.5), r.chance(2), r.chance(NaN)], [
    true,
    false,
    false,
    true,
    false,
  ]);
  // Pins raw outputs: the first two of seed 5, as if no chance() had been called.
  assert.deepEqual([r.nextU32(), r.nextU32()], [1004110007, 3364932996]);
});

Deno.test("Random shuffle of three is uniform over 27000 shuffles of one stream (not naive)", () => {
  // The naive shuffle (swap with any position) gives three orders 4/27 and three 5/27 of the
  // time (4000 and 5000 here); Fisher-Yates gives each 1/6 (4500, sd 61). Exact for this seed.
  const r = new Random("shuffle3");
  const counts = new Map<string, number>();
  for (let i = 0; i < 27000; i++) {
    const key = r.shuffle([0, 1, 2]).join("");
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  assert.deepEqual(Object.fromEntries([...counts].sort()), {
    "012": 4516,
    "021": 4434,
    "102": 4540,
    "120": 4543,
    "201": 4569,
    "210": 4398,
  });
});

Deno.test("repeat seeds use the whole 64-bit suite seed, sign included", () => {
  // SplitMix64 from the suite seed mod 2^64: seeds 2^32 + 1 and 1, or -1 and 1, do not collide.
  assert.deepEqual(repeatSeeds(1, 3), [1, 2433363436, 3203108257]);
  assert.deepEqual(repeatSeeds(2 ** 32 + 1, 3), [4294967297, 541299110, 837471144]);
  assert.deepEqual(repeatSeeds(-1, 3), [-1, 3839455607, 3919575143]);
  assert.deepEqual(repeatSeeds(2 ** 53 - 1, 2), [2 ** 53 - 1, 616124332]);
  assert.deepEqual(repeatSeeds(-(2 ** 53 - 1), 2), [-(2 ** 53 - 1), 3291487736]);
});
