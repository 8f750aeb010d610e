import assert from "node:assert/strict";
import fc from "fast-check";
import { type IntervalHandle, IntervalTree } from "../core/lib/interval_tree.ts";

function collect<T>(t: IntervalTree<T>, start: number, last: number): T[] {
  const out: T[] = [];
  t.query(start, last, (v) => {
    out.push(v);
  });
  return out;
}

Deno.test("IntervalTree exact visit order with ties", () => {
  const t = new IntervalTree<string>();
  assert.ok(t.isEmpty());
  const a = t.insert("a", 5, 10);
  t.insert("b", 0, 100);
  t.insert("c", 5, 6);
  t.insert("d", 3, 3);
  t.insert("e", 5, 20);
  t.insert("f", 11, 12);
  assert.equal(t.size, 6);
  assert.ok(!t.isEmpty());
  assert.deepEqual([...t.values()], ["b", "d", "a", "c", "e", "f"]);
  assert.deepEqual(collect(t, 0, 1000), ["b", "d", "a", "c", "e", "f"]);
  assert.deepEqual(collect(t, 7, 11), ["b", "a", "e", "f"]);
  assert.deepEqual(collect(t, 3, 3), ["b", "d"]);
  assert.deepEqual(collect(t, 101, 200), []);
  assert.deepEqual(collect(t, 10, 10), ["b", "a", "e"]);
  assert.deepEqual(collect(t, 4, 2), []);
  assert.equal(a.start, 5);
  assert.equal(a.last, 10);
  assert.equal(a.value, "a");
  // Re-keying moves "a" after every other interval with start 5.
  const a2 = t.reinsert(a, 5, 10);
  assert.equal(a2, a);
  assert.deepEqual([...t.values()], ["b", "d", "c", "e", "a", "f"]);
  t.reinsert(a, 11, 11);
  assert.equal(a.start, 11);
  assert.deepEqual([...t.values()], ["b", "d", "c", "e", "f", "a"]);
  t.remove(a);
  assert.throws(() => t.remove(a), /not stored/);
  assert.throws(() => new IntervalTree<string>().remove(t.insert("z", 0, 0)), /not stored/);
  assert.throws(() => t.insert("bad", 3, 2), RangeError);
  assert.deepEqual([...t.values()], ["b", "z", "d", "c", "e", "f"]);
});

Deno.test("IntervalTree early stop and stats", () => {
  const t = new IntervalTree<number>();
  for (let i = 0; i < 10; i++) t.insert(i, 0, 10);
  const seen: number[] = [];
  const st = t.query(5, 5, (v) => {
    seen.push(v);
    return v < 3;
  });
  assert.deepEqual(seen, [0, 1, 2, 3]);
  assert.equal(st.visited, 4);
  assert.ok(st.nodes >= 4);
  const all = t.query(0, 0, () => true);
  assert.equal(all.visited, 10);
});

Deno.test("IntervalTree handles survive removals of other nodes", () => {
  const t = new IntervalTree<number>();
  const hs: IntervalHandle<number>[] = [];
  for (let i = 0; i < 1000; i++) hs.push(t.insert(i, i % 37, (i % 37) + (i % 5)));
  for (let i = 0; i < 1000; i += 3) t.remove(hs[i]);
  for (let i = 1; i < 1000; i += 3) t.remove(hs[i]);
  const rest = hs.filter((_, i) => i % 3 === 2);
  rest.sort((x, y) => x.start - y.start || x.value - y.value);
  assert.deepEqual([...t.values()], rest.map((h) => h.value));
  for (const h of rest) t.remove(h);
  assert.ok(t.isEmpty());
});

Deno.test("IntervalTree narrow queries examine O(log n) nodes", () => {
  const t = new IntervalTree<number>();
  const n = 10_000;
  for (let i = 0; i < n; i++) t.insert(i, i * 10, i * 10 + 5);
  let maxNodes = 0;
  for (let i = 0; i < n; i += 97) {
    const st = t.query(i * 10 + 2, i * 10 + 3, () => {});
    assert.equal(st.visited, 1);
    maxNodes = Math.max(maxNodes, st.nodes);
  }
  assert.ok(maxNodes < 100, `examined ${maxNodes} nodes`);
  // A miss in a hole.
  const miss = t.query(57, 58, () => {});
  assert.equal(miss.visited, 0);
  assert.ok(miss.nodes < 100);
  // A query hitting k intervals costs O(log n + k).
  const wide = t.query(50_000, 50_999, () => {});
  assert.equal(wide.visited, 100);
  assert.ok(wide.nodes < 100 + 100, `examined ${wide.nodes} nodes`);
});

Deno.test("IntervalTree shuffled inserts with a long interval", () => {
  const t = new IntervalTree<string>();
  for (let i = 0; i < 5000; i++) {
    t.insert(`s${i}`, (i * 7919) % 5000 * 10, (i * 7919) % 5000 * 10 + 3);
  }
  t.insert("long", 0, 1_000_000);
  const out = collect(t, 24_990, 25_001);
  assert.deepEqual(out, ["long", `s${idxOf(2499)}`, `s${idxOf(2500)}`]);
  function idxOf(slot: number): number {
    for (let i = 0; i < 5000; i++) if ((i * 7919) % 5000 === slot) return i;
    return -1;
  }
});

type Op =
  | { t: "ins"; s: number; l: number }
  | { t: "rm"; i: number }
  | { t: "re"; i: number; s: number; l: number }
  | { t: "q"; s: number; l: number; stop: number };

interface Ref {
  id: number;
  start: number;
  last: number;
  seq: number;
  h: IntervalHandle<number>;
}

Deno.test("IntervalTree matches a naive model (property)", () => {
  const pos = fc.integer({ min: 0, max: 60 });
  const op: fc.Arbitrary<Op> = fc.oneof(
    {
      arbitrary: fc.record({ t: fc.constant("ins" as const), s: pos, l: fc.nat(15) }),
      weight: 3,
    },
    fc.record({ t: fc.constant("rm" as const), i: fc.nat() }),
    fc.record({ t: fc.constant("re" as const), i: fc.nat(), s: pos, l: fc.nat(15) }),
    {
      arbitrary: fc.record({
        t: fc.constant("q" as const),
        s: pos,
        l: fc.nat(20),
        stop: fc.nat(10),
      }),
      weight: 2,
    },
  );
  fc.assert(
    fc.property(fc.array(op, { minLength: 10, maxLength: 150 }), (ops) => {
      const t = new IntervalTree<number>();
      let ref: Ref[] = [];
      let id = 0;
      let seq = 0;
      const order = (): Ref[] => [...ref].sort((a, b) => a.start - b.start || a.seq - b.seq);
      for (const o of ops) {
        if (o.t === "ins") {
          const h = t.insert(id, o.s, o.s + o.l);
          ref.push({ id: id++, start: o.s, last: o.s + o.l, seq: seq++, h });
        } else if (o.t === "rm") {
          if (ref.length === 0) continue;
          const r = ref[o.i % ref.length];
          t.remove(r.h);
          ref = ref.filter((x) => x !== r);
        } else if (o.t === "re") {
          if (ref.length === 0) continue;
          const r = ref[o.i % ref.length];
          assert.equal(t.reinsert(r.h, o.s, o.s + o.l), r.h);
          r.start = o.s;
          r.last = o.s + o.l;
          r.seq = seq++;
          assert.equal(r.h.start, r.start);
          assert.equal(r.h.last, r.last);
        } else {
          const qs = o.s;
          const ql = o.s + o.l;
          const want = order().filter((r) => r.start <= ql && r.last >= qs).map((r) => r.id);
          const got: number[] = [];
          const st = t.query(qs, ql, (v, h) => {
            assert.equal(h.value, v);
            got.push(v);
            return got.length < o.stop + 1;
          });
          const expected = want.slice(0, o.stop + 1);
          assert.deepEqual(got, expected);
          assert.equal(st.visited, expected.length);
          assert.ok(st.nodes <= ref.length);
        }
        assert.equal(t.size, ref.length);
        assert.equal(t.isEmpty(), ref.length === 0);
      }
      assert.deepEqual([...t.values()], order().map((r) => r.id));
    }),
    { seed: 0x1417, numRuns: 200 },
  );
});
