import assert from "node:assert/strict";
import { Machine, type OpKind, type TaskAction, UNIT_COST_PROFILE } from "../core/machine/mod.ts";
import { Slab } from "../core/slab.ts";

function script(actions: TaskAction[]): () => TaskAction {
  let i = 0;
  return () => (i < actions.length ? actions[i++] : null);
}

function op(kind: OpKind, run: () => void): TaskAction {
  return { op: kind, run };
}

Deno.test("an RCU callback runs one grace period after it is queued", () => {
  // UNIT_COST_PROFILE: 1 ns per work unit, 100 ns grace period.
  const m = new Machine({ cpus: 1, costs: UNIT_COST_PROFILE, trace: true });
  let freed = 0;
  m.addTask({
    id: 1,
    name: "t",
    kind: "user",
    next: script([op("munmap", () => m.exec.callRcu(() => freed++))]),
  });
  m.run(100);
  // call_rcu costs one rcu_op unit, so the callback is queued at t=1 and runs at t=101.
  assert.equal(freed, 0);
  assert.equal(m.metrics().rcuCallbacksPending, 1);
  m.run();
  assert.equal(freed, 1);
  assert.equal(m.now, 101);
  assert.deepEqual(m.trace.map((e) => [e.t, e.cpu, e.task, e.event]), [
    [0, 0, 1, "begin munmap"],
    [1, 0, 1, "call-rcu"],
    [1, 0, 1, "end munmap"],
    [1, 0, 1, "exit"],
    [101, null, null, "rcu-callback"],
  ]);
  const met = m.metrics();
  assert.equal(met.gracePeriods, 1);
  assert.equal(met.rcuCallbacks, 1);
  assert.equal(met.rcuCallbacksPending, 0);
  assert.equal(m.counters.gracePeriods, 1);
  assert.deepEqual(m.counters.work, { rcu_op: 1 });
});

Deno.test("a read-side section active when call_rcu is queued extends the grace period", () => {
  const m = new Machine({ cpus: 3, costs: UNIT_COST_PROFILE, trace: true });
  const ex = m.exec;
  let freed = 0;
  const section = (units: number) => (): void => {
    ex.rcuReadLock();
    ex.rcuReadLock(); // nested: the section ends at the outermost unlock
    ex.work("tree_visit", units);
    ex.rcuReadUnlock();
    ex.rcuReadUnlock();
  };
  // Reader 1 is inside a section over [0, 500].
  m.addTask({
    id: 1,
    name: "reader",
    kind: "kthread",
    next: script([op("walk_unmap", section(500))]),
  });
  // The callback is queued at t=11 while reader 1 is inside its section.
  m.addTask({
    id: 2,
    name: "unmapper",
    kind: "user",
    next: script([{ sleep: 10 }, op("munmap", () => ex.callRcu(() => freed++))]),
  });
  // A section that starts after the callback was queued does not hold it back.
  m.addTask({
    id: 3,
    name: "late reader",
    kind: "kthread",
    next: script([{ sleep: 50 }, op("walk_migrate", section(950))]),
  });
  m.run(499);
  assert.equal(freed, 0, "the grace period (t=111) passed but reader 1 is still inside");
  m.run(500);
  assert.equal(freed, 1);
  const cb = m.trace.filter((e) => e.event === "rcu-callback");
  assert.deepEqual(cb, [{ t: 500, cpu: null, task: null, event: "rcu-callback" }]);
  const r1 = m.trace.filter((e) => e.task === 1 && e.event.startsWith("rcu"));
  assert.deepEqual(r1.map((e) => [e.t, e.event]), [[0, "rcu-read-lock"], [500, "rcu-read-unlock"]]);
  m.run();
  assert.equal(m.now, 1000);
  assert.equal(m.metrics().gracePeriods, 1);
});

Deno.test("slab objects freed through RCU stay accounted until the grace period ends", () => {
  const m = new Machine({ cpus: 1, costs: UNIT_COST_PROFILE });
  const slab = new Slab({}, m.exec);
  slab.alloc("anon_vma", 2); // untimed set-up: counted, takes no time
  m.addTask({
    id: 1,
    name: "exit",
    kind: "user",
    next: script([op("exit", () => slab.freeRcu("anon_vma", 2))]),
  });
  m.run(100);
  assert.equal(slab.live("anon_vma"), 2);
  assert.equal(slab.stats("anon_vma").pendingRcu, 2);
  assert.equal(slab.snapshot().totalBytes, 2 * 104);
  m.run();
  assert.equal(m.now, 101);
  assert.equal(slab.live("anon_vma"), 0);
  assert.equal(slab.stats("anon_vma").pendingRcu, 0);
  // The free inside the callback is counted (untimed) but is not part of any operation.
  assert.deepEqual(m.counters.work, { slab_alloc: 2, rcu_op: 1, slab_free: 2 });
  assert.deepEqual(m.metrics().work, { rcu_op: 1 });
});

Deno.test("callbacks that complete at the same instant count as one grace period", () => {
  const m = new Machine({ cpus: 2, costs: UNIT_COST_PROFILE });
  let freed = 0;
  for (const id of [1, 2]) {
    m.addTask({
      id,
      name: `t${id}`,
      kind: "user",
      next: script([op("munmap", () => m.exec.callRcu(() => freed++))]),
    });
  }
  m.addTask({
    id: 3,
    name: "t3",
    kind: "user",
    next: script([{ sleep: 5 }, op("munmap", () => m.exec.callRcu(() => freed++))]),
  });
  m.run();
  assert.equal(freed, 3);
  const met = m.metrics();
  assert.equal(met.rcuCallbacks, 3);
  assert.equal(met.gracePeriods, 2); // t=101 (two callbacks) and t=106
});

Deno.test("a callback whose readers leave before its grace period still waits for the period", () => {
  const m = new Machine({ cpus: 2, costs: UNIT_COST_PROFILE, trace: true });
  const ex = m.exec;
  let freed = 0;
  // The reader is inside a section over [0, 20]; the callback is queued at t=1 (call_rcu costs
  // one unit), so it waits for the reader and for the 100 ns grace period: it runs at t=101.
  m.addTask({
    id: 1,
    name: "reader",
    kind: "kthread",
    next: script([op("walk_unmap", () => {
      ex.rcuReadLock();
      ex.work("tree_visit", 20);
      ex.rcuReadUnlock();
    })]),
  });
  m.addTask({
    id: 2,
    name: "unmapper",
    kind: "user",
    next: script([op("munmap", () => ex.callRcu(() => freed++))]),
  });
  m.run(100);
  assert.equal(freed, 0, "the reader left at t=20, but the grace period ends at t=101");
  m.run();
  assert.equal(freed, 1);
  assert.deepEqual(m.trace.filter((e) => e.event === "rcu-callback").map((e) => e.t), [101]);
});
