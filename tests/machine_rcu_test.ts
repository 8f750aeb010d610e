import assert from "node:assert/strict";
import { Machine, mergeCostProfile, UNIT_COST_PROFILE } from "../core/machine/mod.ts";
import { Slab } from "../core/slab.ts";
import { op, script } from "./machine_script.ts";

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

Deno.test("a reader leaving its section releases the callback before its later work", () => {
  // The callback is queued at t=1 (call_rcu's rcu_op unit) while the reader is inside a section
  // over [0, 150]: its grace period ends at 101 but it waits for the reader. The reader leaves
  // at 150 and works 20 ns more: the callback runs at 150, before the reader's operation ends.
  const m = new Machine({ cpus: 2, costs: UNIT_COST_PROFILE, trace: true });
  const ex = m.exec;
  let freed = 0;
  m.addTask({
    id: 1,
    name: "reader",
    kind: "kthread",
    next: script([op("walk_unmap", () => {
      ex.rcuReadLock();
      ex.work("tree_visit", 150);
      ex.rcuReadUnlock();
      ex.work("pte_update", 20);
    })]),
  });
  m.addTask({
    id: 2,
    name: "unmapper",
    kind: "user",
    next: script([op("munmap", () => ex.callRcu(() => freed++))]),
  });
  m.run();
  assert.equal(freed, 1);
  assert.deepEqual(m.trace.map((e) => [e.t, e.cpu, e.task, e.event]), [
    [0, 0, 1, "begin walk_unmap"],
    [0, 0, 1, "rcu-read-lock"],
    [0, 1, 2, "begin munmap"],
    [1, 1, 2, "call-rcu"],
    [1, 1, 2, "end munmap"],
    [1, 1, 2, "exit"],
    [150, 0, 1, "rcu-read-unlock"],
    [150, null, null, "rcu-callback"],
    [170, 0, 1, "end walk_unmap"],
    [170, 0, 1, "exit"],
  ]);
  assert.equal(m.metrics().rcuLastCallbackNs, 150);
});

Deno.test("a callback runs in an event of its own after the reader's steps at that instant", () => {
  // The reader's section over [0, 150] holds back the callback queued at t=1; the reader's
  // operation ends with the section, at 150: the callback runs at 150 once the reader's event
  // is over (after its unlock and the end of its operation, before its exit).
  const m = new Machine({ cpus: 2, costs: UNIT_COST_PROFILE, trace: true });
  const ex = m.exec;
  m.addTask({
    id: 1,
    name: "reader",
    kind: "kthread",
    next: script([op("walk_unmap", () => {
      ex.rcuReadLock();
      ex.work("tree_visit", 150);
      ex.rcuReadUnlock();
    })]),
  });
  m.addTask({
    id: 2,
    name: "unmapper",
    kind: "user",
    next: script([op("munmap", () => ex.callRcu(() => {}))]),
  });
  m.run();
  assert.deepEqual(m.trace.filter((e) => e.t === 150).map((e) => [e.task, e.event]), [
    [1, "rcu-read-unlock"],
    [1, "end walk_unmap"],
    [null, "rcu-callback"],
    [1, "exit"],
  ]);
});

Deno.test("a task that works past its callback's grace period lets it run on time", () => {
  // call_rcu at t=1 (after its rcu_op unit), then 200 ns of work in the same operation: the
  // callback runs at 101, in the middle of that work, and the operation ends at 201.
  const m = new Machine({ cpus: 1, costs: UNIT_COST_PROFILE, trace: true });
  const ex = m.exec;
  let freedAt = -1;
  m.addTask({
    id: 1,
    name: "t",
    kind: "user",
    next: script([op("munmap", () => {
      ex.callRcu(() => freedAt = m.now);
      ex.work("tree_update", 200);
    })]),
  });
  m.run();
  assert.equal(freedAt, 101);
  assert.deepEqual(m.trace.map((e) => [e.t, e.cpu, e.task, e.event]), [
    [0, 0, 1, "begin munmap"],
    [1, 0, 1, "call-rcu"],
    [101, null, null, "rcu-callback"],
    [201, 0, 1, "end munmap"],
    [201, 0, 1, "exit"],
  ]);
  assert.deepEqual([m.now, m.metrics().rcuLastCallbackNs], [201, 101]);
});

Deno.test("a section that has ended holds back no later callback; no callback reads -1", () => {
  // One task: a read-side section over [0, 5] in one operation, then call_rcu (queued at 6) in
  // the next. Nobody is inside a section at 6: the callback runs at 106.
  const m = new Machine({ cpus: 1, costs: UNIT_COST_PROFILE });
  const ex = m.exec;
  let freed = 0;
  m.addTask({
    id: 1,
    name: "t",
    kind: "user",
    next: script([
      op("walk_unmap", () => {
        ex.rcuReadLock();
        ex.work("tree_visit", 5);
        ex.rcuReadUnlock();
      }),
      op("munmap", () => ex.callRcu(() => freed++)),
    ]),
  });
  assert.equal(m.metrics().rcuLastCallbackNs, -1);
  m.run(105);
  const before = m.metrics();
  assert.deepEqual(
    [freed, before.rcuCallbacksPending, before.rcuLastCallbackNs, before.gracePeriods],
    [0, 1, -1, 0],
  );
  m.run();
  const met = m.metrics();
  assert.deepEqual([freed, m.now], [1, 106]);
  assert.deepEqual(
    [met.rcuCallbacks, met.rcuCallbacksPending, met.rcuLastCallbackNs, met.gracePeriods],
    [1, 0, 106, 1],
  );
});

Deno.test("with a zero grace period a callback queued at t=0 runs at once: one period", () => {
  const m = new Machine({
    cpus: 1,
    costs: mergeCostProfile(UNIT_COST_PROFILE, { rcuGracePeriodNs: 0, workNs: { rcu_op: 0 } }),
  });
  let freed = 0;
  m.addTask({
    id: 1,
    name: "t",
    kind: "user",
    next: script([op("munmap", () => m.exec.callRcu(() => freed++))]),
  });
  m.run();
  const met = m.metrics();
  assert.deepEqual([freed, m.now, met.gracePeriods, met.rcuLastCallbackNs], [1, 0, 1, 0]);
});
