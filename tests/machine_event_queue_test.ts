// EventQueue against a naive model: events run by time, ties in scheduling order, through heap
// growth (past the initial room) and interleaved scheduling and firing, tagged or closures.
import assert from "node:assert/strict";
import fc from "fast-check";
import { EventQueue } from "../core/machine/mod.ts";

Deno.test("EventQueue: runs events in (time, scheduling order) like a sorted list", () => {
  // More adds than fires, so the queue outgrows its first room with many ties pending.
  const op = fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({
        t: fc.constant("add"),
        time: fc.nat(12),
        tagged: fc.boolean(),
        n: fc.nat(8),
      }),
    },
    { weight: 1, arbitrary: fc.record({ t: fc.constant("fire"), n: fc.nat(6) }) },
  );
  fc.assert(
    fc.property(fc.array(op, { minLength: 20, maxLength: 300, size: "max" }), (ops) => {
      const fired: number[] = [];
      const q = new EventQueue((_tag, arg) => fired.push(arg as number));
      const model: { time: number; id: number }[] = [];
      const expected: number[] = [];
      let id = 0;
      const fireOne = (): void => {
        assert.equal(q.size, model.length);
        if (model.length === 0) {
          assert.equal(q.nextTime, Infinity);
          assert.equal(q.peek(), undefined);
          return;
        }
        // The earliest time, the first scheduled among equals (the model is in scheduling order).
        let m = 0;
        for (let i = 1; i < model.length; i++) if (model[i].time < model[m].time) m = i;
        assert.equal(q.nextTime, model[m].time);
        expected.push(model.splice(m, 1)[0].id);
        q.fireNext();
      };
      for (const o of ops) {
        if (o.t === "add") {
          // A burst of events, several at the same time.
          for (let k = 0; k <= o.n; k++) {
            const e = id++;
            model.push({ time: o.time, id: e });
            if (o.tagged) q.scheduleTagged(o.time, 0, e);
            else q.schedule(o.time, () => fired.push(e));
          }
        } else for (let k = 0; k <= o.n; k++) fireOne();
      }
      while (model.length > 0) fireOne();
      assert.equal(q.size, 0);
      assert.deepEqual(fired, expected);
    }),
    { numRuns: 200 },
  );
});

Deno.test("EventQueue: pop and peek give the earliest event, ties in scheduling order", () => {
  const q = new EventQueue();
  const order: string[] = [];
  for (let i = 0; i < 200; i++) q.schedule(200 - i, () => order.push(`e${200 - i}`));
  q.schedule(1, () => order.push("tie"));
  assert.equal(q.peek()!.time, 1);
  assert.equal(q.peek()!.seq, 199);
  while (q.size > 0) q.pop()!.fire();
  assert.deepEqual(order.slice(0, 3), ["e1", "tie", "e2"]);
  assert.equal(order.length, 201);
  assert.throws(() => q.schedule(Infinity, () => {}), RangeError);
});
