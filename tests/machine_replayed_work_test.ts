/**
 * The timed machine's work figures (`metrics().work`, each class's `workUnderLock` and
 * `maxWorkPerHold`) count the work replayed so far: the recording's counts less what is still to
 * be replayed, less work outside operations and in operations that failed. Exact expectations,
 * each also what the replay's own per-step tally gave before the machine took them from the
 * recording.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { Machine, newLock, type TaskAction, UNIT_COST_PROFILE } from "../core/machine/mod.ts";

/** A task doing `run` as one fault. */
function faultTask(id: number, run: () => void): {
  id: number;
  name: string;
  kind: "user";
  next: () => TaskAction | null;
} {
  let done = false;
  return {
    id,
    name: `t${id}`,
    kind: "user",
    next: () => done ? null : (done = true, { op: "fault", run }),
  };
}

Deno.test("work figures at a limit: inside two holds, and a task waiting at a lock", () => {
  // Unit prices, free locks. Both tasks start at 0, one per CPU.
  //   t1: take A (write) | tree_visit 2 (0-2) | take B (read) | pte_check 1 x3 (2-3, 3-4, 4-5) |
  //       release B, release A (5)
  //   t2: list_op 1 (0-1) | take A: waits 1-5 | tree_visit 3 (5-8) | release A (8)
  // At 3.5: t1 has replayed tree_visit 2 and two pte_check steps (started at 2 and 3), t2 its
  // list_op and waits for A; no hold has ended.
  const m = new Machine({ cpus: 2, costs: UNIT_COST_PROFILE });
  const ex = m.exec;
  const a = newLock("A", "rwsem"), b = newLock("B", "rwsem");
  m.addTask(faultTask(1, () => {
    ex.acquire(a, "write");
    ex.work("tree_visit", 2);
    ex.acquire(b, "read");
    for (let i = 0; i < 3; i++) ex.work("pte_check", 1);
    ex.release(b, "read");
    ex.release(a, "write");
  }));
  m.addTask(faultTask(2, () => {
    ex.work("list_op", 1);
    ex.acquire(a, "write");
    ex.work("tree_visit", 3);
    ex.release(a, "write");
  }));
  m.run(3.5);
  assert.equal(m.taskState(2), "blocked");
  let met = m.metrics();
  assert.deepEqual(met.work, { tree_visit: 2, pte_check: 2, list_op: 1 });
  assert.deepEqual(met.locks.A.workUnderLock, { tree_visit: 2, pte_check: 2 });
  assert.deepEqual(met.locks.B.workUnderLock, { pte_check: 2 });
  assert.deepEqual([met.locks.A.maxWorkPerHold, met.locks.B.maxWorkPerHold], [0, 0]);
  // The counters were counted when the operations ran: all of both.
  assert.deepEqual(m.counters.work, { tree_visit: 5, pte_check: 3, list_op: 1 });
  m.run(6);
  met = m.metrics();
  // t2's one step of three units started at 5: counted whole.
  assert.deepEqual(met.work, { tree_visit: 5, pte_check: 3, list_op: 1 });
  assert.deepEqual(met.locks.A.workUnderLock, { tree_visit: 5, pte_check: 3 });
  assert.deepEqual([met.locks.A.maxWorkPerHold, met.locks.B.maxWorkPerHold], [5, 3]);
  m.run();
  met = m.metrics();
  assert.equal(m.now, 8);
  assert.deepEqual(met.work, { tree_visit: 5, pte_check: 3, list_op: 1 });
  assert.deepEqual(met.locks.A.workUnderLock, { tree_visit: 5, pte_check: 3 });
  assert.deepEqual(met.locks.B.workUnderLock, { pte_check: 3 });
  assert.deepEqual([met.locks.A.maxWorkPerHold, met.locks.B.maxWorkPerHold], [5, 3]);
  assert.deepEqual(met.work, m.counters.work);
});

Deno.test("work outside operations and in a failed operation is counted, never replayed", () => {
  const m = new Machine({ cpus: 1, costs: UNIT_COST_PROFILE });
  const ex = m.exec;
  const l = newLock("L", "mutex");
  // Untimed: set-up before the run, under a lock.
  ex.acquire(l, "write");
  ex.work("slab_alloc", 7);
  ex.release(l, "write");
  m.addTask(faultTask(1, () => {
    ex.acquire(l, "write");
    ex.work("page_zero", 2);
    ex.release(l, "write");
  }));
  m.run();
  let met = m.metrics();
  assert.deepEqual(met.work, { page_zero: 2 });
  assert.deepEqual(met.locks.L.workUnderLock, { page_zero: 2 });
  assert.equal(met.locks.L.maxWorkPerHold, 2);
  assert.deepEqual(m.counters.work, { slab_alloc: 7, page_zero: 2 });
  assert.deepEqual(m.counters.locks.L.workUnderLock, { slab_alloc: 7, page_zero: 2 });
  assert.equal(m.counters.locks.L.maxWorkPerHold, 7);
  // An operation that throws: its steps are dropped, and the run ends with the error.
  const k = newLock("K", "mutex");
  m.addTask(faultTask(2, () => {
    ex.acquire(k, "write");
    ex.work("page_copy", 4);
    throw new Error("boom");
  }));
  assert.throws(() => m.run(), /^Error: boom$/);
  met = m.metrics();
  assert.deepEqual(met.work, { page_zero: 2 });
  assert.deepEqual(met.locks.K.workUnderLock, {});
  assert.deepEqual(m.counters.work, { slab_alloc: 7, page_zero: 2, page_copy: 4 });
});

Deno.test("work figures grow with the limit up to the counters, class by class (property)", () => {
  // Random operations over two locks (A always before B, so no deadlock) on up to three tasks,
  // read at increasing limits: never above the counters, never falling, equal at the end.
  const stepArb = fc.oneof(
    fc.record({
      kind: fc.constantFrom("tree_visit", "pte_check", "list_op"),
      units: fc.integer({ min: 1, max: 3 }),
    }),
    fc.constant("A" as const),
    fc.constant("B" as const),
  );
  const opArb = fc.array(stepArb, { minLength: 1, maxLength: 8 });
  const taskArb = fc.array(opArb, { minLength: 1, maxLength: 3 });
  fc.assert(
    fc.property(
      fc.array(taskArb, { minLength: 1, maxLength: 3 }),
      fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 6 }),
      (tasks, gaps) => {
        const m = new Machine({ cpus: 2, costs: UNIT_COST_PROFILE });
        const ex = m.exec;
        const a = newLock("A", "rwsem"), b = newLock("B", "mutex");
        tasks.forEach((ops, t) => {
          let i = 0;
          m.addTask({
            id: t + 1,
            name: `t${t + 1}`,
            kind: "user",
            next: () =>
              i < ops.length
                ? {
                  op: "fault",
                  run: () => {
                    // A section per lock step: A wraps what follows it, B only its own work.
                    let heldA = false;
                    for (const st of ops[i]) {
                      if (st === "A") {
                        if (!heldA) ex.acquire(a, "write");
                        heldA = true;
                      } else if (st === "B") {
                        ex.acquire(b, "write");
                        ex.work("slab_alloc", 1);
                        ex.release(b, "write");
                      } else ex.work(st.kind, st.units);
                    }
                    if (heldA) ex.release(a, "write");
                    i++;
                  },
                }
                : null,
          });
        });
        const flat = (r: Partial<Record<string, number>>): Record<string, number> =>
          Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v ?? 0]));
        let prev = { work: {} as Record<string, number>, A: {} as Record<string, number> };
        let t = 0;
        for (const g of gaps) {
          t += g;
          m.run(t);
          const met = m.metrics();
          const now = { work: flat(met.work), A: flat(met.locks.A?.workUnderLock ?? {}) };
          const cw = flat(m.counters.work), ca = flat(m.counters.locks.A?.workUnderLock ?? {});
          for (const [k, v] of Object.entries(now.work)) {
            assert.ok(v > 0 && v <= cw[k] && v >= (prev.work[k] ?? 0), `work ${k}`);
          }
          for (const [k, v] of Object.entries(now.A)) {
            assert.ok(v > 0 && v <= ca[k] && v >= (prev.A[k] ?? 0), `A ${k}`);
          }
          prev = now;
        }
        m.run();
        const met = m.metrics();
        assert.deepEqual(met.work, m.counters.work);
        for (const c of ["A", "B"]) {
          if (!m.counters.locks[c]) continue;
          assert.deepEqual(met.locks[c].workUnderLock, m.counters.locks[c].workUnderLock);
          assert.equal(met.locks[c].maxWorkPerHold, m.counters.locks[c].maxWorkPerHold);
        }
      },
    ),
    { seed: 0x5eed, numRuns: 150 },
  );
});
