import assert from "node:assert/strict";
import { Distribution } from "../core/lib/stats.ts";
import {
  CountingExec,
  type Exec,
  Machine,
  mergeCostProfile,
  newLock,
  type TaskAction,
  UNIT_COST_PROFILE,
  WORK_KINDS,
  type WorkKind,
} from "../core/machine/mod.ts";
import { op, rows, script } from "./machine_script.ts";

function readSection(ex: Exec, lock: ReturnType<typeof newLock>, units: number): void {
  ex.acquire(lock, "read");
  ex.work("tree_visit", units);
  ex.release(lock, "read");
}

Deno.test("two readers share; a writer waits for both; a later reader queues behind it", () => {
  const m = new Machine({ cpus: 4, costs: UNIT_COST_PROFILE, trace: true });
  const ex = m.exec;
  const root = newLock("anon_vma.root", "rwsem");
  m.addTask({
    id: 1,
    name: "r1",
    kind: "kthread",
    next: script([op("walk_referenced", () => readSection(ex, root, 10))]),
  });
  m.addTask({
    id: 2,
    name: "r2",
    kind: "kthread",
    next: script([{ sleep: 2 }, op("walk_referenced", () => readSection(ex, root, 10))]),
  });
  m.addTask({
    id: 3,
    name: "w",
    kind: "user",
    next: script([
      { sleep: 4 },
      op("fork", () => {
        ex.acquire(root, "write");
        ex.work("tree_update", 5);
        ex.release(root, "write");
      }),
    ]),
  });
  m.addTask({
    id: 4,
    name: "r3",
    kind: "kthread",
    next: script([{ sleep: 6 }, op("walk_unmap", () => readSection(ex, root, 10))]),
  });
  m.run();
  const L = "anon_vma.root[0]";
  assert.deepEqual(rows(m.trace), [
    [0, 0, 1, "begin walk_referenced"],
    [0, 0, 1, `acquire ${L} read`],
    [0, 1, 2, "sleep 2"],
    [0, 2, 3, "sleep 4"],
    [0, 3, 4, "sleep 6"],
    [2, 1, 2, "begin walk_referenced"],
    [2, 1, 2, `acquire ${L} read`],
    [4, 2, 3, "begin fork"],
    [4, 2, 3, `wait ${L} write`],
    // r3 could share with the two readers but queues behind the waiting writer.
    [6, 3, 4, "begin walk_unmap"],
    [6, 3, 4, `wait ${L} read`],
    [10, 0, 1, `release ${L} read`],
    [10, 0, 1, "end walk_referenced"],
    [10, 0, 1, "exit"],
    [12, 1, 2, `release ${L} read`],
    // The writer sleeps, so it is granted the lock without a CPU and resumes on one.
    [12, null, 3, `acquire ${L} write`],
    [12, 1, 2, "end walk_referenced"],
    [12, 1, 2, "exit"],
    [12, 2, 3, "resume"],
    [17, 2, 3, `release ${L} write`],
    [17, null, 4, `acquire ${L} read`],
    [17, 2, 3, "end fork"],
    [17, 2, 3, "exit"],
    [17, 3, 4, "resume"],
    [27, 3, 4, `release ${L} read`],
    [27, 3, 4, "end walk_unmap"],
    [27, 3, 4, "exit"],
  ]);
  assert.equal(m.now, 27);
  const met = m.metrics();
  const l = met.locks["anon_vma.root"];
  assert.equal(l.kind, "rwsem");
  assert.equal(l.readAcquisitions, 3);
  assert.equal(l.writeAcquisitions, 1);
  assert.equal(l.contended, 2);
  assert.equal(l.trylockFailures, 0);
  assert.deepEqual(l.waitNs, {
    count: 4,
    mean: 19 / 4,
    p50: 0,
    p90: 11,
    p99: 11,
    max: 11,
    min: 0,
    sum: 19,
  });
  assert.deepEqual(l.holdNs, {
    count: 4,
    mean: 35 / 4,
    p50: 10,
    p90: 10,
    p99: 10,
    max: 10,
    min: 5,
    sum: 35,
  });
  assert.deepEqual(l.workUnderLock, { tree_visit: 30, tree_update: 5 });
  assert.equal(l.maxWorkPerHold, 10);
  assert.equal(met.ops.walk_referenced.count, 2);
  assert.equal(met.ops.walk_referenced.latencyNs.max, 10);
  assert.equal(met.ops.fork.latencyNs.sum, 13);
  assert.equal(met.ops.fork.lockWaitNs.sum, 8);
  assert.equal(met.ops.walk_unmap.latencyNs.sum, 21);
  assert.equal(met.ops.walk_unmap.lockWaitNs.sum, 11);
  assert.deepEqual(
    met.tasks.map((t) => [t.id, t.ops, t.lockWaitNs, t.finishedAt]),
    [[1, 1, 0, 10], [2, 1, 0, 12], [3, 1, 8, 17], [4, 1, 11, 27]],
  );
  // Sleeping waiters do not use their CPU while they wait.
  assert.deepEqual(met.cpus.map((c) => c.busyNs), [10, 10, 5, 10]);
  assert.deepEqual(met.work, { tree_visit: 30, tree_update: 5 });
});

Deno.test("readerWakeup 'all' grants every queued reader, skipping a queued writer", () => {
  const run = (readerWakeup: "head" | "all"): number[] => {
    const m = new Machine({ cpus: 4, costs: UNIT_COST_PROFILE, readerWakeup });
    const ex = m.exec;
    const l = newLock("anon_vma.root", "rwsem");
    const write = (): void => {
      ex.acquire(l, "write");
      ex.work("tree_update", 10);
      ex.release(l, "write");
    };
    m.addTask({ id: 1, name: "w1", kind: "user", next: script([op("fork", write)]) });
    m.addTask({
      id: 2,
      name: "r1",
      kind: "kthread",
      next: script([{ sleep: 1 }, op("walk_unmap", () => readSection(ex, l, 10))]),
    });
    m.addTask({ id: 3, name: "w2", kind: "user", next: script([{ sleep: 2 }, op("exit", write)]) });
    m.addTask({
      id: 4,
      name: "r2",
      kind: "kthread",
      next: script([{ sleep: 3 }, op("walk_migrate", () => readSection(ex, l, 10))]),
    });
    m.run();
    return m.metrics().tasks.map((t) => t.finishedAt!);
  };
  // head: w1 [0,10], r1 [10,20], w2 [20,30], r2 [30,40].
  assert.deepEqual(run("head"), [10, 20, 30, 40]);
  // all: w1 [0,10], r1 and r2 [10,20], w2 [20,30].
  assert.deepEqual(run("all"), [10, 20, 30, 20]);
});

Deno.test("a trylock fails while a writer holds the lock and succeeds after", () => {
  const m = new Machine({ cpus: 2, costs: UNIT_COST_PROFILE, trace: true });
  const ex = m.exec;
  const root = newLock("anon_vma.root", "rwsem");
  const answers: boolean[] = [];
  const referenced = (): void => {
    const ok = ex.acquire(root, "read", true);
    answers.push(ok);
    if (!ok) return;
    ex.work("pte_check", 1);
    ex.release(root, "read");
  };
  m.addTask({
    id: 1,
    name: "forker",
    kind: "user",
    next: script([
      op("fork", () => {
        ex.acquire(root, "write");
        ex.work("tree_update", 10);
        ex.release(root, "write");
      }),
    ]),
  });
  m.addTask({
    id: 2,
    name: "kswapd",
    kind: "kthread",
    next: script([
      { sleep: 3 },
      op("walk_referenced", referenced),
      { sleep: 9 },
      op("walk_referenced", referenced),
    ]),
  });
  m.run();
  const L = "anon_vma.root[0]";
  assert.deepEqual(answers, [false, true]);
  assert.deepEqual(rows(m.trace), [
    [0, 0, 1, "begin fork"],
    [0, 0, 1, `acquire ${L} write`],
    [0, 1, 2, "sleep 3"],
    [3, 1, 2, "begin walk_referenced"],
    [3, 1, 2, `trylock-fail ${L} read`],
    [3, 1, 2, "end walk_referenced"],
    [3, 1, 2, "sleep 9"],
    [10, 0, 1, `release ${L} write`],
    [10, 0, 1, "end fork"],
    [10, 0, 1, "exit"],
    [12, 1, 2, "begin walk_referenced"],
    [12, 1, 2, `acquire ${L} read`],
    [13, 1, 2, `release ${L} read`],
    [13, 1, 2, "end walk_referenced"],
    [13, 1, 2, "exit"],
  ]);
  const l = m.metrics().locks["anon_vma.root"];
  assert.equal(l.trylockFailures, 1);
  assert.equal(l.readAcquisitions, 1);
  assert.equal(l.lateTrylocks, 0);
  assert.equal(m.counters.locks["anon_vma.root"].trylockFailures, 1);
});

Deno.test("a trylock fails while a writer waits, even though only readers hold the lock", () => {
  const m = new Machine({ cpus: 3, costs: UNIT_COST_PROFILE });
  const ex = m.exec;
  const root = newLock("anon_vma.root", "rwsem");
  const answers: boolean[] = [];
  m.addTask({
    id: 1,
    name: "reader",
    kind: "kthread",
    next: script([op("walk_unmap", () => readSection(ex, root, 10))]),
  });
  m.addTask({
    id: 2,
    name: "writer",
    kind: "user",
    next: script([
      { sleep: 1 },
      op("mprotect", () => {
        ex.acquire(root, "write");
        ex.release(root, "write");
      }),
    ]),
  });
  m.addTask({
    id: 3,
    name: "kswapd",
    kind: "kthread",
    next: script([
      { sleep: 2 },
      op("walk_referenced", () => {
        const ok = ex.acquire(root, "read", true);
        answers.push(ok);
        if (ok) ex.release(root, "read");
      }),
    ]),
  });
  m.run();
  assert.deepEqual(answers, [false]);
});

Deno.test("a trylock decided free at dispatch but taken at replay waits (late trylock)", () => {
  const m = new Machine({ cpus: 2, costs: UNIT_COST_PROFILE });
  const ex = m.exec;
  const l = newLock("anon_vma.root", "rwsem");
  const answers: boolean[] = [];
  m.addTask({
    id: 1,
    name: "walker",
    kind: "kthread",
    next: script([
      op("walk_referenced", () => {
        ex.work("vma_lookup", 5); // takes time before the trylock
        const ok = ex.acquire(l, "read", true); // decided at t=0: free
        answers.push(ok);
        ex.work("pte_check", 1);
        ex.release(l, "read");
      }),
    ]),
  });
  m.addTask({
    id: 2,
    name: "writer",
    kind: "user",
    next: script([
      { sleep: 1 },
      op("fork", () => {
        ex.acquire(l, "write");
        ex.work("tree_update", 10);
        ex.release(l, "write");
      }),
    ]),
  });
  m.run();
  assert.deepEqual(answers, [true]);
  const met = m.metrics();
  assert.equal(met.locks["anon_vma.root"].lateTrylocks, 1);
  // The writer holds [1, 11]; the walker reaches its trylock at 5, waits until 11, ends at 12.
  assert.equal(met.tasks[0].finishedAt, 12);
  assert.equal(met.ops.walk_referenced.lockWaitNs.sum, 6);
});

Deno.test("more runnable tasks than CPUs: FIFO run queue, turns at operation boundaries", () => {
  const m = new Machine({ cpus: 2, costs: UNIT_COST_PROFILE, trace: true });
  const ex = m.exec;
  for (const id of [1, 2, 3]) {
    m.addTask({
      id,
      name: `t${id}`,
      kind: "user",
      next: script([op("fault", () => ex.work("page_zero", 10))]),
    });
  }
  m.run();
  assert.deepEqual(rows(m.trace), [
    [0, 0, 1, "begin fault"],
    [0, 1, 2, "begin fault"],
    [10, 0, 1, "end fault"],
    [10, 1, 2, "end fault"],
    [10, 0, 3, "begin fault"],
    [10, 1, 1, "exit"],
    [10, 1, 2, "exit"],
    [20, 0, 3, "end fault"],
    [20, 0, 3, "exit"],
  ]);
  const met = m.metrics();
  assert.equal(met.elapsedNs, 20);
  assert.deepEqual(met.cpus, [
    { cpu: 0, busyNs: 20, utilisation: 1 },
    { cpu: 1, busyNs: 10, utilisation: 0.5 },
  ]);
  // Latency runs from dispatch, so the run-queue wait of t3 is reported per task instead.
  assert.deepEqual(met.ops.fault.latencyNs.max, 10);
  assert.equal(met.ops.fault.count, 3);
  assert.deepEqual(met.tasks.map((t) => t.runnableWaitNs), [0, 0, 10]);
});

/** One holder, one waiter, and a third task that needs a CPU while the waiter waits. */
function spinOrSleep(kind: "spinlock" | "mutex"): Machine {
  const m = new Machine({ cpus: 2, costs: UNIT_COST_PROFILE, trace: true });
  const ex = m.exec;
  const l = newLock("page_table_lock", kind);
  const critical = (units: number) => (): void => {
    ex.acquire(l, "write");
    ex.work("pte_update", units);
    ex.release(l, "write");
  };
  m.addTask({ id: 1, name: "holder", kind: "user", next: script([op("fault", critical(10))]) });
  m.addTask({
    id: 2,
    name: "waiter",
    kind: "user",
    next: script([{ sleep: 2 }, op("fault", critical(1))]),
  });
  m.addTask({
    id: 3,
    name: "other",
    kind: "user",
    next: script([{ sleep: 3 }, op("mmap", () => ex.work("vma_lookup", 1))]),
  });
  m.run();
  return m;
}

Deno.test("a spinlock waiter keeps its CPU busy; other tasks wait for a CPU", () => {
  const m = spinOrSleep("spinlock");
  const L = "page_table_lock[0]";
  assert.deepEqual(rows(m.trace), [
    [0, 0, 1, "begin fault"],
    [0, 0, 1, `acquire ${L} write`],
    [0, 1, 2, "sleep 2"],
    [0, 1, 3, "sleep 3"],
    [2, 1, 2, "begin fault"],
    [2, 1, 2, `wait ${L} write`],
    [10, 0, 1, `release ${L} write`],
    [10, 1, 2, `acquire ${L} write`],
    [10, 0, 1, "end fault"],
    [10, 0, 3, "begin mmap"],
    [11, 1, 2, `release ${L} write`],
    [11, 1, 2, "end fault"],
    [11, 0, 3, "end mmap"],
    // Each task goes to the tail of the run queue after an action and takes any free CPU.
    [11, 1, 1, "exit"],
    [11, 0, 2, "exit"],
    [11, 1, 3, "exit"],
  ]);
  const met = m.metrics();
  assert.deepEqual(met.cpus.map((c) => c.busyNs), [11, 9]);
  assert.deepEqual(met.tasks.map((t) => t.runnableWaitNs), [1, 0, 7]);
  assert.equal(met.locks.page_table_lock.kind, "spinlock");
  assert.equal(met.locks.page_table_lock.waitNs.max, 8);
});

Deno.test("a mutex waiter sleeps and releases its CPU to another task", () => {
  const m = spinOrSleep("mutex");
  const L = "page_table_lock[0]";
  assert.deepEqual(rows(m.trace), [
    [0, 0, 1, "begin fault"],
    [0, 0, 1, `acquire ${L} write`],
    [0, 1, 2, "sleep 2"],
    [0, 1, 3, "sleep 3"],
    [2, 1, 2, "begin fault"],
    [2, 1, 2, `wait ${L} write`],
    [3, 1, 3, "begin mmap"],
    [4, 1, 3, "end mmap"],
    [4, 1, 3, "exit"],
    [10, 0, 1, `release ${L} write`],
    [10, null, 2, `acquire ${L} write`],
    [10, 0, 1, "end fault"],
    [10, 0, 1, "exit"],
    [10, 1, 2, "resume"],
    [11, 1, 2, `release ${L} write`],
    [11, 1, 2, "end fault"],
    [11, 1, 2, "exit"],
  ]);
  const met = m.metrics();
  assert.deepEqual(met.cpus.map((c) => c.busyNs), [10, 2]);
  assert.deepEqual(met.tasks.map((t) => t.runnableWaitNs), [0, 0, 0]);
});

Deno.test("context-switch cost on a change of task; wake-up delay for a woken sleeper", () => {
  const costs = mergeCostProfile(UNIT_COST_PROFILE, { contextSwitchNs: 2, wakeupNs: 5 });
  const m = new Machine({ cpus: 2, costs, trace: true });
  const ex = m.exec;
  const l = newLock("mmap_lock", "mutex");
  const critical = (units: number) => (): void => {
    ex.acquire(l, "write");
    ex.work("vma_lookup", units);
    ex.release(l, "write");
  };
  m.addTask({ id: 1, name: "a", kind: "user", next: script([op("mmap", critical(10))]) });
  m.addTask({ id: 2, name: "b", kind: "user", next: script([op("munmap", critical(1))]) });
  m.run();
  const L = "mmap_lock[0]";
  assert.deepEqual(rows(m.trace), [
    [2, 0, 1, "begin mmap"],
    [2, 0, 1, `acquire ${L} write`],
    [2, 1, 2, "begin munmap"],
    [2, 1, 2, `wait ${L} write`],
    [12, 0, 1, `release ${L} write`],
    [12, null, 2, `acquire ${L} write`],
    [12, 0, 1, "end mmap"],
    [12, 0, 1, "exit"], // same task again on cpu 0: no switch cost
    [17, 1, 2, "resume"], // runnable 5 ns after the grant; cpu 1 last ran it, no switch cost
    [18, 1, 2, `release ${L} write`],
    [18, 1, 2, "end munmap"],
    [18, 1, 2, "exit"],
  ]);
  const met = m.metrics();
  assert.equal(met.locks.mmap_lock.waitNs.max, 10);
  // The hand-off makes the woken waiter hold the lock while it wakes up.
  assert.equal(met.locks.mmap_lock.holdNs.max, 10);
  assert.deepEqual(met.locks.mmap_lock.holdNs.min, 6);
  assert.equal(met.ops.munmap.latencyNs.max, 16);
  assert.deepEqual(met.cpus.map((c) => c.busyNs), [12, 3]);
});

Deno.test("cost-independent counters equal those of CountingExec for the same calls", () => {
  const calls = (ex: Exec): void => {
    const root = newLockCached("anon_vma.root");
    ex.acquire(root, "write");
    ex.work("tree_update", 3);
    ex.work("slab_alloc", 2);
    ex.release(root, "write");
    ex.acquire(root, "read");
    ex.work("tree_visit", 4);
    ex.release(root, "read");
    ex.work("pt_level", 4);
  };
  const locks = new Map<string, ReturnType<typeof newLock>>();
  const newLockCached = (c: string): ReturnType<typeof newLock> => {
    if (!locks.has(c)) locks.set(c, newLock(c, "rwsem"));
    return locks.get(c)!;
  };
  const counting = new CountingExec();
  for (let i = 0; i < 3; i++) {
    counting.beginOp("fork", 1);
    calls(counting);
    counting.endOp();
  }
  const m = new Machine({ cpus: 2 });
  for (const id of [1, 2, 3]) {
    m.addTask({
      id,
      name: `t${id}`,
      kind: "user",
      next: script([op("fork", () => calls(m.exec))]),
    });
  }
  m.run();
  assert.deepEqual(m.counters, counting.counters);
  const timed = m.metrics().locks["anon_vma.root"];
  assert.deepEqual(timed.workUnderLock, counting.counters.locks["anon_vma.root"].workUnderLock);
  assert.equal(timed.maxWorkPerHold, counting.counters.locks["anon_vma.root"].maxWorkPerHold);
});

Deno.test("beginOp/endOp inside run() split an action into operations", () => {
  const m = new Machine({ cpus: 1, costs: UNIT_COST_PROFILE, trace: true });
  const ex = m.exec;
  m.addTask({
    id: 1,
    name: "t",
    kind: "user",
    next: script([
      op("mmap", () => {
        ex.beginOp("fault", 1);
        ex.work("page_zero", 4);
        ex.endOp();
        ex.beginOp("fault", 1);
        ex.work("page_zero", 2);
        ex.endOp();
        ex.work("vma_lookup", 1); // outside an explicit operation: the action's kind
      }),
    ]),
  });
  m.run();
  assert.deepEqual(rows(m.trace), [
    [0, 0, 1, "begin fault"],
    [4, 0, 1, "end fault"],
    [4, 0, 1, "begin fault"],
    [6, 0, 1, "end fault"],
    [6, 0, 1, "begin mmap"],
    [7, 0, 1, "end mmap"],
    [7, 0, 1, "exit"],
  ]);
  assert.deepEqual(m.counters.ops, { fault: 2, mmap: 1 });
  assert.deepEqual(m.metrics().tasks[0].ops, 3);
});

Deno.test("misuse is reported with sentence-case errors", () => {
  const held = (): Machine => {
    const m = new Machine({ cpus: 1, costs: UNIT_COST_PROFILE });
    const l = newLock("anon_vma.root", "rwsem");
    m.addTask({
      id: 1,
      name: "t",
      kind: "user",
      next: script([op("fork", () => void m.exec.acquire(l, "write"))]),
    });
    return m;
  };
  assert.throws(
    () => held().run(),
    /^Error: Operation fork ended with locks held: anon_vma\.root$/,
  );
  const m = new Machine({ cpus: 1 });
  assert.throws(
    () => m.exec.acquire(newLock("ptl", "spinlock"), "read"),
    /must be taken in write mode/,
  );
  assert.throws(() => new Machine({ cpus: 0 }), /CPU count must be an integer >= 1, got 0/);
  m.addTask({ id: 1, name: "a", kind: "user", next: () => null });
  assert.throws(
    () => m.addTask({ id: 1, name: "b", kind: "user", next: () => null }),
    /Duplicate task id 1/,
  );
});

Deno.test("a lock-order inversion is reported as a deadlock", () => {
  const m = new Machine({ cpus: 2, costs: UNIT_COST_PROFILE });
  const ex = m.exec;
  const a = newLock("a", "mutex");
  const b = newLock("b", "mutex");
  const both = (x: typeof a, y: typeof a) => (): void => {
    ex.acquire(x, "write");
    ex.work("list_op", 5);
    ex.acquire(y, "write");
    ex.release(y, "write");
    ex.release(x, "write");
  };
  m.addTask({ id: 1, name: "ab", kind: "user", next: script([op("mmap", both(a, b))]) });
  m.addTask({ id: 2, name: "ba", kind: "user", next: script([op("mmap", both(b, a))]) });
  assert.throws(
    () => m.run(),
    /^Error: Deadlock: tasks 1, 2 wait for locks that are never released$/,
  );
  assert.equal(m.taskState(1), "blocked");
});

Deno.test("run(until) stops at the limit and can be resumed", () => {
  const m = new Machine({ cpus: 1, costs: UNIT_COST_PROFILE });
  m.addTask({
    id: 1,
    name: "t",
    kind: "user",
    next: script([op("fault", () => m.exec.work("page_copy", 100))]),
  });
  m.run(40);
  assert.equal(m.now, 40);
  assert.equal(m.taskState(1), "running");
  assert.equal(m.metrics().cpus[0].utilisation, 1);
  m.run();
  assert.equal(m.now, 100);
  assert.equal(m.taskState(1), "done");
  assert.equal(m.busy, false);
});

Deno.test("run(until) replays the work steps that start by the limit, a stretch's later ones after", () => {
  // One stretch of four one-unit steps (0-1, 1-2, 2-3, 3-4 ns): with the limit at 2.5 ns the
  // third step, started at 2, is replayed (counted) and the fourth, starting at 3, is not yet.
  const m = new Machine({ cpus: 1, costs: UNIT_COST_PROFILE });
  m.addTask({
    id: 1,
    name: "t",
    kind: "user",
    next: script([op("fault", () => {
      for (const kind of ["page_copy", "pte_check", "list_op", "tree_visit"] as const) {
        m.exec.work(kind, 1);
      }
    })]),
  });
  m.run(2.5);
  assert.equal(m.now, 2.5);
  assert.deepEqual(m.metrics().work, { page_copy: 1, pte_check: 1, list_op: 1 });
  m.run();
  assert.equal(m.now, 4);
  assert.deepEqual(m.metrics().work, { page_copy: 1, pte_check: 1, list_op: 1, tree_visit: 1 });
});

Deno.test("a class's hold figures are those of one distribution of every hold, in arrival order", () => {
  // Fractional prices: the sum of the holds depends on the order they are added in.
  const costs = mergeCostProfile(UNIT_COST_PROFILE, {
    workNs: { tree_visit: 0.1, tree_update: 0.7 },
    lockAcquireNs: 0.3,
  });
  const m = new Machine({ cpus: 3, costs, trace: true });
  const ex = m.exec;
  const root = newLock("anon_vma.root", "rwsem");
  for (let id = 1; id <= 3; id++) {
    const actions: TaskAction[] = [];
    for (let i = 0; i < 5; i++) {
      const mode = id === 2 ? "write" : "read";
      actions.push(op("fork", () => {
        ex.acquire(root, mode);
        ex.work(id === 2 ? "tree_update" : "tree_visit", 3 + i + id);
        ex.release(root, mode);
      }));
    }
    m.addTask({ id, name: `t${id}`, kind: "user", next: script(actions) });
  }
  m.run();
  // Every hold, in the order the holds ended, from the trace.
  const all = new Distribution();
  const since = new Map<number | null, number>();
  for (const e of m.trace) {
    if (e.event.startsWith("acquire ")) since.set(e.task, e.t);
    if (e.event.startsWith("release ")) all.add(e.t - since.get(e.task)!);
  }
  const l = m.metrics().locks["anon_vma.root"];
  assert.equal(l.holdNs.count, 15);
  assert.ok(l.waitNs.count === 15 && l.contended > 0);
  assert.deepEqual(l.holdNs, all.summary());
  assert.equal(l.holdNs.count, l.readHoldNs.count + l.writeHoldNs.count);
});

Deno.test("step codes and event tags keep the literal values Machine's replay switches on", async () => {
  const t = await import("../core/machine/machine_types.ts");
  const codes = [
    t.S_OP_BEGIN,
    t.S_OP_END,
    t.S_WORK,
    t.S_DELAY,
    t.S_ACQUIRE,
    t.S_TRYLOCK_FAIL,
    t.S_RELEASE,
    t.S_RCU_LOCK,
    t.S_RCU_UNLOCK,
    t.S_CALL_RCU,
    t.S_WORK1,
  ];
  assert.deepEqual(codes, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  // The replay takes the opcode as the low 4 bits and the kind of a work step above them.
  assert.equal(t.OP_BITS, 4);
  assert.deepEqual([t.EV_ADVANCE, t.EV_RUNNABLE, t.EV_BEGIN], [0, 1, 2]);
});

Deno.test("replayed work: one-unit and many-unit steps, kinds past the opcode bits and unpriced", () => {
  // Kinds outside WORK_KINDS take indices past 15 (above the 4 opcode bits of a step word) and,
  // unpriced, no time; fractional units keep any out-of-order addition visible.
  const extra = Array.from({ length: 20 }, (_, i) => `replay_kind_${i}` as WorkKind);
  const m = new Machine({ cpus: 1, costs: mergeCostProfile(UNIT_COST_PROFILE, {}) });
  const mm = newLock("mmap_lock", "rwsem");
  const root = newLock("anon_vma.root", "rwsem");
  const calls: [WorkKind, number][] = [];
  for (let i = 0; i < 60; i++) {
    const kind = i % 3 === 0 ? extra[i % extra.length] : WORK_KINDS[i % WORK_KINDS.length];
    calls.push([kind, i % 4 === 0 ? 1 : (i % 5) + 0.25]);
  }
  m.addTask({
    id: 1,
    name: "t",
    kind: "user",
    next: script([{
      op: "fork",
      run: () => {
        m.exec.acquire(mm, "write");
        calls.slice(0, 20).forEach(([k, u]) => m.exec.work(k, u));
        m.exec.acquire(root, "read");
        calls.slice(20, 45).forEach(([k, u]) => m.exec.work(k, u));
        m.exec.release(mm, "write");
        calls.slice(45).forEach(([k, u]) => m.exec.work(k, u));
        m.exec.release(root, "read");
      },
    }]),
  });
  m.run();
  const met = m.metrics(), c = m.counters;
  // One task: the replay adds what the counting exec added, in the same order.
  assert.deepEqual(Object.entries(met.work), Object.entries(c.work));
  for (const cls of ["mmap_lock", "anon_vma.root"]) {
    assert.deepEqual(
      Object.entries(met.locks[cls].workUnderLock),
      Object.entries(c.locks[cls].workUnderLock),
    );
  }
  let now = 0;
  for (const [k, u] of calls) if ((WORK_KINDS as readonly string[]).includes(k)) now += u;
  assert.equal(m.now, now);
  assert.equal(met.locks["mmap_lock"].maxWorkPerHold, c.locks["mmap_lock"].maxWorkPerHold);
});

Deno.test("replayed holds: more locks than the first room, released out of order", () => {
  // Seven locks of five classes (two pairs share a class), work between the acquisitions and
  // between releases in a mixed order: each class's work and largest hold match the counting
  // exec's, which counts the same calls with its own held list.
  const m = new Machine({ cpus: 1, costs: UNIT_COST_PROFILE });
  const locks = ["a", "b", "a", "c", "d", "e", "d"].map((c) => newLock(c, "rwsem"));
  const order = [2, 5, 0, 6, 1, 4, 3];
  m.addTask({
    id: 1,
    name: "t",
    kind: "user",
    next: script([{
      op: "fork",
      run: () => {
        locks.forEach((l, i) => {
          m.exec.acquire(l, i % 2 === 0 ? "write" : "read");
          m.exec.work(WORK_KINDS[i % WORK_KINDS.length], i + 0.5);
        });
        for (const i of order) {
          m.exec.release(locks[i], i % 2 === 0 ? "write" : "read");
          m.exec.work("list_op", i + 1);
        }
      },
    }]),
  });
  m.run();
  const met = m.metrics(), c = m.counters;
  for (const cls of ["a", "b", "c", "d", "e"]) {
    assert.deepEqual(
      Object.entries(met.locks[cls].workUnderLock),
      Object.entries(c.locks[cls].workUnderLock),
    );
    assert.equal(met.locks[cls].maxWorkPerHold, c.locks[cls].maxWorkPerHold);
  }
  // locks[0] ("a") sees 0.5 + 1.5 + ... + 6.5 while the others are taken, then 3 and 6 after
  // the releases of locks[2] and locks[5] before its own.
  assert.equal(met.locks["a"].maxWorkPerHold, 24.5 + 3 + 6);
});

Deno.test("a task reaches a lock at the same time and in the same order however its work is divided into steps", () => {
  // Task 1 does 10 ns of work, then takes L. Task 2 takes M at 3 ns, works 7 ns and reaches L at
  // 10 ns too. Task 1 began its stretch of work first (at 0), so it takes L first, whether its
  // 10 ns come as one step or as several (per-step events used to let task 2 go first when task
  // 1's work came in two steps: its last step was queued at 5 ns, after task 2's at 10 ns).
  const L = newLock("anon_vma.root", "rwsem");
  const M = newLock("mmap_lock", "rwsem");
  const timeline = (steps: number[]) => {
    const m = new Machine({ cpus: 2, costs: UNIT_COST_PROFILE, trace: true });
    const ex = m.exec;
    m.addTask({
      id: 1,
      name: "a",
      kind: "user",
      next: script([op("fork", () => {
        for (const units of steps) ex.work("tree_update", units);
        ex.acquire(L, "write");
        ex.work("tree_update", 1);
        ex.release(L, "write");
      })]),
    });
    m.addTask({
      id: 2,
      name: "b",
      kind: "user",
      next: script([op("exit", () => {
        ex.work("tree_update", 3);
        ex.acquire(M, "write");
        ex.work("tree_update", 7);
        ex.acquire(L, "write");
        ex.release(L, "write");
        ex.release(M, "write");
      })]),
    });
    m.run();
    return { trace: rows(m.trace), metrics: m.metrics() };
  };
  const one = timeline([10]);
  assert.deepEqual(one.trace, [
    [0, 0, 1, "begin fork"],
    [0, 1, 2, "begin exit"],
    [3, 1, 2, "acquire mmap_lock[0] write"],
    [10, 0, 1, "acquire anon_vma.root[0] write"],
    [10, 1, 2, "wait anon_vma.root[0] write"],
    // Task 2 sleeps on the rwsem and is handed it at the release.
    [11, 0, 1, "release anon_vma.root[0] write"],
    [11, null, 2, "acquire anon_vma.root[0] write"],
    [11, 0, 1, "end fork"],
    [11, 0, 1, "exit"],
    [11, 1, 2, "resume"],
    [11, 1, 2, "release anon_vma.root[0] write"],
    [11, 1, 2, "release mmap_lock[0] write"],
    [11, 1, 2, "end exit"],
    [11, 1, 2, "exit"],
  ]);
  for (const steps of [[5, 5], [1, 1, 1, 1, 1, 1, 1, 1, 1, 1], [2.5, 7.5]]) {
    assert.deepEqual(timeline(steps), one, `work in steps ${steps}`);
  }
});

Deno.test("lock costs: acquire and release inside the hold, a failed trylock charged", () => {
  // Acquire 2 ns and release 3 ns, both counted inside the hold; a failed trylock costs an
  // acquire. t1 holds L over [0, 15]: acquire 0-2, tree_update 2-12, release 12-15. t2 waits
  // for L from 1 and is handed it at 15 (no wake-up cost): 15-17, work 17-18, release 18-21.
  // t3's trylock at 5 fails (L held): 5-7, then pte_check 7-8.
  const costs = mergeCostProfile(UNIT_COST_PROFILE, { lockAcquireNs: 2, lockReleaseNs: 3 });
  const m = new Machine({ cpus: 3, costs, trace: true });
  const ex = m.exec;
  const root = newLock("anon_vma.root", "rwsem");
  const write = (units: number) => (): void => {
    ex.acquire(root, "write");
    ex.work("tree_update", units);
    ex.release(root, "write");
  };
  const answers: boolean[] = [];
  m.addTask({ id: 1, name: "t1", kind: "user", next: script([op("fork", write(10))]) });
  m.addTask({
    id: 2,
    name: "t2",
    kind: "user",
    next: script([{ sleep: 1 }, op("exit", write(1))]),
  });
  m.addTask({
    id: 3,
    name: "t3",
    kind: "kthread",
    next: script([
      { sleep: 5 },
      op("walk_referenced", () => {
        answers.push(ex.acquire(root, "read", true));
        ex.work("pte_check", 1);
      }),
    ]),
  });
  m.run();
  const L = "anon_vma.root[0]";
  assert.deepEqual(answers, [false]);
  assert.deepEqual(rows(m.trace), [
    [0, 0, 1, "begin fork"],
    [0, 0, 1, `acquire ${L} write`],
    [0, 1, 2, "sleep 1"],
    [0, 2, 3, "sleep 5"],
    [1, 1, 2, "begin exit"],
    [1, 1, 2, `wait ${L} write`],
    [5, 2, 3, "begin walk_referenced"],
    [5, 2, 3, `trylock-fail ${L} read`],
    [8, 2, 3, "end walk_referenced"],
    [8, 2, 3, "exit"],
    [15, 0, 1, `release ${L} write`],
    [15, null, 2, `acquire ${L} write`],
    [15, 0, 1, "end fork"],
    [15, 0, 1, "exit"],
    [15, 1, 2, "resume"],
    [21, 1, 2, `release ${L} write`],
    [21, 1, 2, "end exit"],
    [21, 1, 2, "exit"],
  ]);
  const met = m.metrics();
  const l = met.locks["anon_vma.root"];
  // Holds of 15 and 6 ns; waits of 0 and 14 ns; t2 waited at a plain acquire, not a trylock.
  assert.deepEqual([l.holdNs.count, l.holdNs.min, l.holdNs.max, l.holdNs.sum], [2, 6, 15, 21]);
  assert.deepEqual([l.waitNs.count, l.waitNs.max, l.waitNs.sum], [2, 14, 14]);
  assert.deepEqual([l.trylockFailures, l.lateTrylocks, l.contended], [1, 0, 1]);
  assert.deepEqual([met.ops.exit.latencyNs.sum, met.ops.exit.lockWaitNs.sum], [20, 14]);
  assert.equal(met.ops.walk_referenced.latencyNs.sum, 3);
});

Deno.test("a trylock of a lock the operation holds fails, innermost or outer", () => {
  const m = new Machine({ cpus: 1, costs: UNIT_COST_PROFILE, trace: true });
  const ex = m.exec;
  const a = newLock("mmap_lock", "rwsem"), b = newLock("anon_vma.root", "rwsem");
  const answers: boolean[] = [];
  m.addTask({
    id: 1,
    name: "t",
    kind: "user",
    next: script([op("fork", () => {
      ex.acquire(a, "read");
      ex.acquire(b, "write");
      answers.push(ex.acquire(b, "read", true)); // the lock taken last
      answers.push(ex.acquire(a, "write", true)); // the outer one
      ex.work("tree_update", 2);
      ex.release(b, "write");
      ex.release(a, "read");
    })]),
  });
  m.run();
  assert.deepEqual(answers, [false, false]);
  assert.equal(m.taskState(1), "done");
  assert.equal(m.now, 2);
  const met = m.metrics();
  assert.deepEqual(
    [met.locks["anon_vma.root"].trylockFailures, met.locks["mmap_lock"].trylockFailures],
    [1, 1],
  );
  assert.deepEqual(
    [met.locks["anon_vma.root"].writeAcquisitions, met.locks["anon_vma.root"].readAcquisitions],
    [1, 0],
  );
});

Deno.test("a trylock outside an operation fails while a running task holds the lock", () => {
  // t holds L over [0, 10]. At 5 (between run() calls, outside any operation) trylocks of L
  // fail in either mode; after the run they succeed. Neither is replayed: only the counters move.
  const m = new Machine({ cpus: 1, costs: UNIT_COST_PROFILE });
  const ex = m.exec;
  const l = newLock("anon_vma.root", "rwsem");
  m.addTask({
    id: 1,
    name: "t",
    kind: "user",
    next: script([op("fork", () => {
      ex.acquire(l, "write");
      ex.work("tree_update", 10);
      ex.release(l, "write");
    })]),
  });
  m.run(5);
  assert.equal(m.taskState(1), "running");
  assert.deepEqual([ex.acquire(l, "write", true), ex.acquire(l, "read", true)], [false, false]);
  m.run();
  assert.equal(ex.acquire(l, "read", true), true);
  ex.release(l, "read");
  const c = m.counters.locks["anon_vma.root"];
  assert.deepEqual([c.writeAcquisitions, c.readAcquisitions, c.trylockFailures], [1, 1, 2]);
  const met = m.metrics().locks["anon_vma.root"];
  assert.deepEqual([met.writeAcquisitions, met.readAcquisitions, met.holdNs.count], [1, 0, 1]);
});

Deno.test("an operation left open, nested, inside RCU, or with non-finite work is an error", () => {
  const failing = (run: (ex: Exec) => void): Machine => {
    const m = new Machine({ cpus: 1, costs: UNIT_COST_PROFILE });
    m.addTask({ id: 1, name: "t", kind: "user", next: script([op("fault", () => run(m.exec))]) });
    return m;
  };
  assert.throws(
    () => failing((ex) => ex.beginOp("mmap", 1)).run(),
    /^Error: Operation mmap was not ended$/,
  );
  assert.throws(
    () =>
      failing((ex) => {
        ex.beginOp("mmap", 1);
        ex.beginOp("munmap", 1);
      }).run(),
    /^Error: Operation munmap started inside operation mmap$/,
  );
  assert.throws(
    () => failing((ex) => ex.rcuReadLock()).run(),
    /^Error: Operation fault ended inside an RCU read-side section$/,
  );
  for (const bad of [NaN, Infinity, -1]) {
    assert.throws(
      () => failing((ex) => ex.work("tree_visit", bad)).run(),
      new RegExp(`^RangeError: Work units of tree_visit must be a finite number >= 0, got ${bad}$`),
    );
    // Outside an operation too, and nothing is counted.
    const m = new Machine({ cpus: 1 });
    assert.throws(() => m.exec.work("page_copy", bad), RangeError);
    assert.deepEqual(m.counters.work, {});
  }
});
