/**
 * The timed machine's work figures (`metrics().work`, each class's `workUnderLock` and
 * `maxWorkPerHold`) count the work replayed so far: the recording's counts less what is still to
 * be replayed, less work outside operations and in operations that failed. Exact expectations,
 * each also what the replay's own per-step tally gave before the machine took them from the
 * recording.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type Lock,
  Machine,
  newLock,
  type TaskAction,
  UNIT_COST_PROFILE,
  type WorkKind,
  workKindIndex,
  workKindName,
} from "../core/machine/mod.ts";

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

/** The operation of the next two tests: one step of every kind, work between them. */
function everyStepKind(m: Machine, b: Lock, end: () => void): void {
  // On one CPU at unit prices (lock steps take no time):
  //   tree_visit 1 (0-1) | take B | trylock B fails | pte_check 2 (1-3) | rcu_read_lock |
  //   list_op 3 (3-6) | call_rcu: rcu_op 1 (6-7) | rcu_read_unlock | release B | slab_alloc 1 (7-8)
  // Work follows the failed trylock, rcu_read_lock and call_rcu steps, and the callback's
  // reference is the third (not 0), so that a decoder reading any of them one word long or
  // short misreads work instead of falling back into step.
  const ex = m.exec;
  m.addTask(faultTask(1, () => {
    ex.work("tree_visit", 1);
    ex.acquire(b, "write");
    assert.equal(ex.acquire(b, "write", true), false);
    ex.work("pte_check", 2);
    ex.rcuReadLock();
    ex.work("list_op", 3);
    ex.callRcu(() => {});
    ex.rcuReadUnlock();
    ex.release(b, "write");
    ex.work("slab_alloc", 1);
    end();
  }));
}

Deno.test("work figures at a limit after RCU, call_rcu and failed-trylock steps", () => {
  // What is left of the operation is decoded step by step past each kind of step: a wrong
  // length for one would misread the work after it.
  const m = new Machine({ cpus: 1, costs: UNIT_COST_PROFILE });
  const b = newLock("B", "mutex");
  everyStepKind(m, b, () => {});
  const expected: [number, Record<string, number>, Record<string, number>, number][] = [
    // limit, work, B's work under lock, B's max per hold
    [0.5, { tree_visit: 1 }, {}, 0],
    [1.5, { tree_visit: 1, pte_check: 2 }, { pte_check: 2 }, 0],
    [3.5, { tree_visit: 1, pte_check: 2, list_op: 3 }, { pte_check: 2, list_op: 3 }, 0],
    [6.5, { tree_visit: 1, pte_check: 2, list_op: 3, rcu_op: 1 }, {
      pte_check: 2,
      list_op: 3,
      rcu_op: 1,
    }, 0],
    [7.5, { tree_visit: 1, pte_check: 2, list_op: 3, rcu_op: 1, slab_alloc: 1 }, {
      pte_check: 2,
      list_op: 3,
      rcu_op: 1,
    }, 6],
  ];
  for (const [limit, work, underB, maxB] of expected) {
    m.run(limit);
    const met = m.metrics();
    assert.deepEqual(met.work, work, `work at ${limit}`);
    assert.deepEqual(met.locks.B?.workUnderLock ?? {}, underB, `B at ${limit}`);
    assert.equal(met.locks.B?.maxWorkPerHold ?? 0, maxB, `B's max at ${limit}`);
  }
  m.run();
  const met = m.metrics();
  assert.equal(met.locks.B.trylockFailures, 1);
  assert.deepEqual(met.work, m.counters.work);
  assert.deepEqual(met.locks.B.workUnderLock, { pte_check: 2, list_op: 3, rcu_op: 1 });
});

Deno.test("a failed operation with a step of every kind leaves no work in the figures", () => {
  const m = new Machine({ cpus: 1, costs: UNIT_COST_PROFILE });
  const b = newLock("B", "mutex");
  everyStepKind(m, b, () => {
    throw new Error("late failure");
  });
  assert.throws(() => m.run(), /^Error: late failure$/);
  const met = m.metrics();
  assert.deepEqual(met.work, {});
  assert.deepEqual(met.locks.B?.workUnderLock ?? {}, {});
  assert.deepEqual(m.counters.work, {
    tree_visit: 1,
    pte_check: 2,
    rcu_op: 1,
    list_op: 3,
    slab_alloc: 1,
  });
});

Deno.test("untimed work of a kind past the first 16 stays its own, apart from other kinds", () => {
  // Work kinds outside WORK_KINDS are appended to the kind table; one at index k >= 16 needs the
  // per-slot tallies widened (16 kinds per slot at first), the untimed ones as the timed ones.
  // Laid out 16 wide, kind k of slot 0 would be kind k & 15 of slot k >> 4: the untimed work of
  // kind k & 15 under the lock of that slot's class, counted first, must not absorb kind k's.
  let k = -1;
  for (let i = 0; k < 16; i++) k = workKindIndex(`untimed_wide_kind_${i}`);
  const wide = workKindName(k), low = workKindName(k & 15) as WorkKind;
  const m = new Machine({ cpus: 1, costs: UNIT_COST_PROFILE });
  const ex = m.exec;
  // Lock classes take slots 1, 2, ... in order of first use: class C<j> has slot j.
  const locks = Array.from({ length: k >> 4 }, (_, j) => newLock(`C${j + 1}`, "mutex"));
  const last = locks[locks.length - 1];
  for (const l of locks) {
    ex.acquire(l, "write");
    if (l === last) ex.work(low, 2); // untimed, under the class of slot k >> 4
    ex.release(l, "write");
  }
  ex.work(wide, 5); // untimed, under no lock
  m.addTask(faultTask(1, () => {
    ex.acquire(last, "write");
    ex.work(low, 1);
    ex.work(wide, 1);
    ex.release(last, "write");
  }));
  m.run();
  // Replayed: the task's 1 + 1 units only; counted: 2 + 1 of `low`, 5 + 1 of `wide`.
  const met = m.metrics();
  assert.deepEqual(met.work, { [low]: 1, [wide]: 1 });
  assert.deepEqual(met.locks[last.lockClass].workUnderLock, { [low]: 1, [wide]: 1 });
  assert.deepEqual(m.counters.work, { [low]: 3, [wide]: 6 });
  assert.deepEqual(m.counters.locks[last.lockClass].workUnderLock, { [low]: 3, [wide]: 1 });
});
