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

Deno.test("EventQueue: events scheduled while one runs (the one run replaced at the top)", () => {
  // Each event, when run, checks size and nextTime against the model, then schedules 0-2 more
  // at or after its own time (the machine's pattern: a task's next step); some also pop or peek.
  const plan = fc.array(
    fc.record({ adds: fc.array(fc.nat(6), { maxLength: 2 }), peek: fc.boolean() }),
    { minLength: 50, maxLength: 300, size: "max" },
  );
  fc.assert(
    fc.property(fc.array(fc.nat(5), { minLength: 1, maxLength: 20 }), plan, (first, steps) => {
      const model: { time: number; id: number }[] = [];
      const fired: number[] = [];
      const expected: number[] = [];
      let id = 0;
      let step = 0;
      const earliest = (): number => {
        let m = 0;
        for (let i = 1; i < model.length; i++) if (model[i].time < model[m].time) m = i;
        return m;
      };
      const q: EventQueue = new EventQueue((_tag, arg) => {
        const e = arg as { time: number; id: number };
        fired.push(e.id);
        assert.equal(q.size, model.length);
        assert.equal(q.nextTime, model.length ? model[earliest()].time : Infinity);
        const s = steps[step++ % steps.length];
        for (const d of s.adds) add(e.time + d);
        if (s.peek && model.length > 0) {
          // A peek (or pop) while running: the earliest pending event, not the one running.
          const m = earliest();
          assert.equal(q.peek()!.time, model[m].time);
          if (s.adds.length === 0) {
            expected.push(model.splice(m, 1)[0].id);
            q.pop()!.fire();
          }
        }
      });
      const add = (time: number): void => {
        const e = { time, id: id++ };
        model.push(e);
        q.scheduleTagged(time, 0, e);
      };
      for (const t of first) add(t);
      while (model.length > 0 && expected.length < 2000) {
        assert.equal(q.size, model.length);
        expected.push(model.splice(earliest(), 1)[0].id);
        q.fireNext();
      }
      assert.deepEqual(fired.slice(0, expected.length), expected);
    }),
    { numRuns: 200 },
  );
});

Deno.test("EventQueue: a non-finite time is refused, also from a running event, queue unchanged", () => {
  const order: number[] = [];
  const q: EventQueue = new EventQueue((tag, arg) => {
    order.push(arg as number);
    if (tag !== 1) return;
    // The running event's place at the top is not taken by a refused event.
    for (const bad of [NaN, Infinity, -Infinity]) {
      assert.throws(() => q.scheduleTagged(bad, 0, 99), RangeError);
    }
    assert.equal(q.size, 1);
    assert.equal(q.nextTime, 5);
    q.scheduleTagged(3, 0, 3);
  });
  q.scheduleTagged(1, 1, 1);
  q.scheduleTagged(5, 0, 5);
  assert.throws(() => q.scheduleTagged(NaN, 0, 99), RangeError);
  while (q.size > 0) q.fireNext();
  assert.deepEqual(order, [1, 3, 5]);
});

Deno.test("EventQueue: schedule returns the event as pop gives it, its own sequence number", () => {
  // Sequence numbers count every scheduling, tagged ones included: 0, 1, (tagged 2), 3.
  const q = new EventQueue(() => {});
  const fire = (): void => {};
  const a = q.schedule(7, fire);
  const b = q.schedule(3, fire);
  q.scheduleTagged(5, 0, "tagged");
  const c = q.schedule(3, fire);
  assert.deepEqual([a.seq, b.seq, c.seq], [0, 1, 3]);
  assert.deepEqual([a.time, b.time, c.time], [7, 3, 3]);
  // By time, ties by sequence number: b (3, 1), c (3, 3), the tagged one (5, 2), a (7, 0).
  const popped = [q.pop()!, q.pop()!, q.pop()!, q.pop()!];
  assert.deepEqual(popped.map((e) => [e.time, e.seq]), [[3, 1], [3, 3], [5, 2], [7, 0]]);
  assert.equal(popped[0].fire, b.fire);
});
