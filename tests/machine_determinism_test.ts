import assert from "node:assert/strict";
import {
  type Lock,
  Machine,
  type MachineMetrics,
  newLock,
  OP_KINDS,
  type TaskAction,
  type TraceEntry,
  UNIT_COST_PROFILE,
  WORK_KINDS,
} from "../core/machine/mod.ts";
import { Random } from "../core/lib/random.ts";
import { script } from "./machine_script.ts";

/**
 * A random mix of operations over shared locks: rwsem readers and writers, trylocks, a spinlock
 * nested inside, a mutex, RCU sections and call_rcu, and sleeps. Locks are taken in a fixed order
 * so the run cannot deadlock.
 */
function scenario(seed: number): { trace: readonly TraceEntry[]; metrics: MachineMetrics } {
  const rnd = new Random(seed);
  const m = new Machine({ cpus: 4, trace: true });
  const ex = m.exec;
  const roots: Lock[] = [newLock("anon_vma.root", "rwsem"), newLock("anon_vma.root", "rwsem")];
  const ptl = newLock("page_table_lock", "spinlock");
  const mutex = newLock("mm.mutex", "mutex");
  let freed = 0;
  for (let id = 1; id <= 10; id++) {
    const r = rnd.fork(`task${id}`);
    let left = 25;
    const next = (): TaskAction => {
      if (left-- === 0) return null;
      if (r.chance(0.2)) return { sleep: r.int(0, 20_000) };
      const kind = OP_KINDS[r.int(0, OP_KINDS.length - 1)];
      return {
        op: kind,
        run: () => {
          if (r.chance(0.3)) {
            ex.acquire(mutex, "write");
            ex.work("list_op", r.int(1, 5));
            ex.release(mutex, "write");
          }
          const root = roots[r.int(0, 1)];
          const mode = r.chance(0.5) ? "read" : "write";
          const ok = ex.acquire(root, mode, r.chance(0.3));
          if (ok) {
            ex.work(WORK_KINDS[r.int(0, WORK_KINDS.length - 1)], r.int(1, 50));
            if (r.chance(0.5)) {
              ex.acquire(ptl, "write");
              ex.work("pte_update", r.int(1, 8));
              ex.release(ptl, "write");
            }
            ex.release(root, mode);
          }
          if (r.chance(0.4)) {
            ex.rcuReadLock();
            ex.work("tree_visit", r.int(1, 100));
            ex.rcuReadUnlock();
          }
          if (r.chance(0.3)) ex.callRcu(() => freed++);
        },
      };
    };
    m.addTask({ id, name: `t${id}`, kind: id % 3 === 0 ? "kthread" : "user", next });
  }
  m.run();
  assert.equal(freed, m.metrics().rcuCallbacks);
  return { trace: m.trace, metrics: m.metrics() };
}

Deno.test("the same inputs give the same timeline and metrics", () => {
  const a = scenario(7);
  const b = scenario(7);
  assert.ok(a.trace.length > 500);
  assert.deepEqual(a.trace, b.trace);
  assert.deepEqual(a.metrics, b.metrics);
  assert.equal(JSON.stringify(a.metrics), JSON.stringify(b.metrics));
  const root = a.metrics.locks["anon_vma.root"];
  assert.ok(root.contended > 0, "the scenario has contention");
  assert.ok(root.trylockFailures > 0, "the scenario has failed trylocks");
  assert.notDeepEqual(scenario(8).trace, a.trace);
});

Deno.test("trace entries are in time order and every task finishes", () => {
  const { trace, metrics } = scenario(11);
  for (let i = 1; i < trace.length; i++) assert.ok(trace[i].t >= trace[i - 1].t);
  assert.ok(metrics.tasks.every((t) => t.finishedAt !== null));
  for (const c of metrics.cpus) assert.ok(c.utilisation >= 0 && c.utilisation <= 1);
});

Deno.test("twenty tasks queued for one CPU run in the order they became runnable", () => {
  // The run queue's first room is 16: it grows while its head is past slot 0 (the first task
  // left it) and wraps. Each task's 1 ns fault runs in turn: task i's ends at i.
  const m = new Machine({ cpus: 1, costs: UNIT_COST_PROFILE, trace: true });
  for (let id = 1; id <= 20; id++) {
    m.addTask({
      id,
      name: `t${id}`,
      kind: "user",
      next: script([{ op: "fault", run: () => m.exec.work("page_zero", 1) }]),
    });
  }
  m.run();
  const ends = m.trace.filter((e) => e.event === "end fault").map((e) => [e.t, e.task]);
  assert.deepEqual(ends, Array.from({ length: 20 }, (_, i) => [i + 1, i + 1]));
  // Task i waits i - 1 ns for its fault and 20 - i ns after it; all exit at 20 in the same order.
  assert.deepEqual(m.metrics().tasks.map((t) => t.runnableWaitNs), Array(20).fill(19));
  const exits = m.trace.filter((e) => e.event === "exit").map((e) => e.task);
  assert.deepEqual(exits, Array.from({ length: 20 }, (_, i) => i + 1));
});

Deno.test("a sleep of 0 ns yields the CPU to the next runnable task; a negative one fails", () => {
  // One CPU. t1 yields at 0, so t2 runs its 3 ns fault first; t1 runs its 2 ns one [3, 5].
  const m = new Machine({ cpus: 1, costs: UNIT_COST_PROFILE, trace: true });
  const fault = (units: number): TaskAction => ({
    op: "fault",
    run: () => m.exec.work("page_zero", units),
  });
  m.addTask({ id: 1, name: "t1", kind: "user", next: script([{ sleep: 0 }, fault(2)]) });
  m.addTask({ id: 2, name: "t2", kind: "user", next: script([fault(3)]) });
  m.run();
  assert.deepEqual(m.trace.map((e) => [e.t, e.task, e.event]), [
    [0, 1, "sleep 0"],
    [0, 2, "begin fault"],
    [3, 2, "end fault"],
    [3, 1, "begin fault"],
    [5, 1, "end fault"],
    [5, 2, "exit"],
    [5, 1, "exit"],
  ]);
  const bad = new Machine({ cpus: 1 });
  bad.addTask({ id: 7, name: "t", kind: "user", next: () => ({ sleep: -1 }) });
  assert.throws(
    () => bad.run(),
    /^RangeError: Task 7 asked to sleep -1 ns; must be a finite number >= 0$/,
  );
});

Deno.test("run(until) at the current time runs what is due; an earlier limit is refused", () => {
  // A 5 ns fault: run(0) dispatches it (the events at 0) and stops inside it; run(0) again does
  // nothing; run(5) ends it and the task's exit at 5.
  const m = new Machine({ cpus: 1, costs: UNIT_COST_PROFILE });
  m.addTask({
    id: 1,
    name: "t",
    kind: "user",
    next: script([{ op: "fault", run: () => m.exec.work("page_zero", 5) }]),
  });
  m.run(0);
  assert.deepEqual([m.now, m.taskState(1)], [0, "running"]);
  m.run(0);
  assert.deepEqual([m.now, m.taskState(1), m.busy], [0, "running", true]);
  m.run(5);
  assert.deepEqual([m.now, m.taskState(1), m.busy], [5, "done", false]);
  assert.throws(
    () => m.run(4),
    /^RangeError: Run limit must be >= the current time 5, got 4$/,
  );
  m.run(5);
  assert.equal(m.now, 5);
});
