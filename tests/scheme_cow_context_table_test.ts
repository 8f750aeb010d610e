// The CoW-context remap table (core/rmap/cow_context.ts, RemapTable): kept incrementally, it must
// equal the canonical table rebuilt from its live ranges after every add and remove, and its offset
// arrays must follow the proof of concept's dynarray policy (capacity 2 on the second offset,
// doubled by krealloc when full, never shrunk, RCU-freed at one offset, duplicated by a split).

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  remapArrayCache,
  type RemapArraySink,
  type RemapRange,
  RemapTable,
} from "../core/rmap/cow_context.ts";

/** Records the sink's calls and the live arrays per capacity. */
class RecordingSink implements RemapArraySink {
  readonly live = new Map<number, number>();
  readonly log: string[] = [];
  alloc(cap: number): void {
    this.live.set(cap, (this.live.get(cap) ?? 0) + 1);
    this.log.push(`alloc ${cap}`);
  }
  grow(oldCap: number, newCap: number): void {
    this.live.set(oldCap, this.live.get(oldCap)! - 1);
    this.live.set(newCap, (this.live.get(newCap) ?? 0) + 1);
    this.log.push(`grow ${oldCap}->${newCap}`);
  }
  free(cap: number, rcu: boolean): void {
    this.live.set(cap, this.live.get(cap)! - 1);
    this.log.push(`free ${cap}${rcu ? " rcu" : ""}`);
  }
  total(): number {
    return [...this.live.values()].reduce((a, b) => a + b, 0);
  }
}

/** The canonical table by brute force: split at every endpoint, keep non-empty segments. */
function reference(ranges: readonly RemapRange[]): [number, number, number[]][] {
  const cuts = [...new Set(ranges.flatMap((r) => [r.first, r.last + 1]))].sort((a, b) => a - b);
  const out: [number, number, number[]][] = [];
  for (let i = 0; i + 1 < cuts.length; i++) {
    const offs = new Set<number>();
    for (const r of ranges) if (r.first <= cuts[i] && cuts[i] <= r.last) offs.add(r.offset);
    if (offs.size > 0) out.push([cuts[i], cuts[i + 1] - 1, [...offs].sort((a, b) => a - b)]);
  }
  return out;
}

function shape(t: RemapTable): [number, number, number[]][] {
  return t.all().map((e) => [e.first, e.last, [...e.offsets]]);
}

Deno.test("remap table: incremental edits equal the canonical rebuild, arrays balance", () => {
  const range = fc.record({
    first: fc.integer({ min: 0, max: 30 }),
    len: fc.integer({ min: 1, max: 8 }),
    offset: fc.integer({ min: -3, max: 3 }).filter((o) => o !== 0),
  }).map(({ first, len, offset }) => ({ first, last: first + len - 1, offset }));
  const step = fc.oneof(
    range.map((r) => ({ add: r })),
    fc.nat().map((i) => ({ remove: i })),
  );
  fc.assert(
    fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
      const sink = new RecordingSink();
      const t = new RemapTable(sink);
      const live: RemapRange[] = [];
      for (const s of steps) {
        if ("add" in s) {
          const spans = t.add(s.add);
          assert.equal(spans, t.countOverlapping(s.add.first, s.add.last));
          live.push(s.add);
        } else if (live.length > 0) {
          const [r] = live.splice(s.remove % live.length, 1);
          const left = t.remove(r);
          assert.equal(left, t.countOverlapping(r.first, r.last));
        }
        assert.deepEqual(shape(t), reference(live));
        assert.equal(sink.total(), t.arrays);
        for (const e of t.all()) {
          if (e.offsets.length < 2) assert.equal(e.cap, 0);
          else assert.ok(e.cap >= e.offsets.length && Number.isInteger(Math.log2(e.cap)));
        }
      }
      for (const r of live.splice(0)) t.remove(r);
      assert.equal(t.size, 0);
      assert.equal(sink.total(), 0);
    }),
    { seed: 10, numRuns: 300 },
  );
});

Deno.test("remap table: dynarray growth 2 -> 4 -> 8, sticky capacity, RCU free at one offset", () => {
  //  pgoff   10        19
  //          |== 5 ranges, offsets 1..5 ==|   one entry, offsets {1,2,3,4,5}
  const sink = new RecordingSink();
  const t = new RemapTable(sink);
  const r = (offset: number): RemapRange => ({ first: 10, last: 19, offset });
  for (let o = 1; o <= 5; o++) t.add(r(o));
  assert.deepEqual(shape(t), [[10, 19, [1, 2, 3, 4, 5]]]);
  assert.deepEqual(sink.log, ["alloc 2", "grow 2->4", "grow 4->8"]);
  assert.equal(t.all()[0].cap, 8);
  assert.equal(remapArrayCache(8), "cow_remap_array_96"); // 8 + 8*8 = 72 B -> kmalloc-96
  // Removing offsets only shrinks nr: capacity stays 8 down to two offsets.
  for (let o = 5; o >= 3; o--) t.remove(r(o));
  assert.equal(t.all()[0].cap, 8);
  assert.equal(sink.log.length, 3);
  t.remove(r(2)); // one offset left: back to a tagged word, the array is RCU-freed
  assert.deepEqual(sink.log.slice(3), ["free 8 rcu"]);
  assert.equal(t.arrays, 0);
  t.remove(r(1));
  assert.equal(t.size, 0);
});

Deno.test("remap table: a split duplicates the array at its capacity; a merge frees one", () => {
  //  pgoff  0    4 5    9
  //  A      |=========|      offset 1
  //  B      |=========|      offset 2     -> [0,9] {1,2}        (array, cap 2)
  //  C           |====|      offset 3     -> [0,4] {1,2}, [5,9] {1,2,3}
  const sink = new RecordingSink();
  const t = new RemapTable(sink);
  const a = { first: 0, last: 9, offset: 1 };
  const b = { first: 0, last: 9, offset: 2 };
  const c = { first: 5, last: 9, offset: 3 };
  t.add(a);
  t.add(b);
  t.add(c);
  assert.deepEqual(shape(t), [[0, 4, [1, 2]], [5, 9, [1, 2, 3]]]);
  assert.deepEqual(sink.log, ["alloc 2", "alloc 2", "grow 2->4"]);
  assert.deepEqual(t.all().map((e) => e.cap), [2, 4]);
  // C goes: pgoff 5 is no longer an endpoint, the two entries become one again (the model's
  // canonical form; the PoC would keep the boundary). The right entry's array is freed.
  t.remove(c);
  assert.deepEqual(shape(t), [[0, 9, [1, 2]]]);
  assert.deepEqual(sink.log.slice(3), ["free 4 rcu"]);
  assert.equal(t.arrays, 1);
});

Deno.test("remap table: more than 64 offsets over one range is refused with a RangeError", () => {
  const t = new RemapTable(new RecordingSink());
  for (let o = 1; o <= 64; o++) t.add({ first: 0, last: 0, offset: o });
  assert.equal(t.all()[0].cap, 64);
  assert.throws(() => t.add({ first: 0, last: 0, offset: 65 }), RangeError);
});
