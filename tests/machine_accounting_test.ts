// The timed machine's lock states: one per lock and machine, kept in the lock's slot or (a lock
// another machine holds the slot of, or a frozen one) in a weak map, named `class[i]` in the
// order each class's locks were first seen.
import assert from "node:assert/strict";
import { Accounting, noteGrant, noteRelease } from "../core/machine/accounting.ts";
import {
  type Lock,
  Machine,
  mergeCostProfile,
  newLock,
  OP_KINDS,
  type OpKind,
  type TaskAction,
  UNIT_COST_PROFILE,
} from "../core/machine/mod.ts";
import { script } from "./machine_script.ts";

/** An operation of `kind` on machine `m` doing `units` of page_zero work (1 ns a unit). */
function busy(m: Machine, units: number, kind: OpKind = "fault"): TaskAction {
  return { op: kind, run: () => m.exec.work("page_zero", units) };
}

Deno.test("Accounting.lockInfo: one state per lock and machine, named by class in first-use order", () => {
  const a = new Accounting("head");
  const b = new Accounting("head");
  const m1 = newLock("mmap_lock", "rwsem");
  const p1 = newLock("page_table_lock", "spinlock");
  const m2 = newLock("mmap_lock", "rwsem");
  // A frozen lock cannot take the slot: its state lives in the weak map.
  const frozen = Object.freeze({ id: 9999, lockClass: "mmap_lock", kind: "rwsem" }) as Lock;
  // Classes interleaved, so a one-class cache must not mix their counts up.
  const seq: [Lock, string][] = [
    [m1, "mmap_lock[0]"],
    [p1, "page_table_lock[0]"],
    [m2, "mmap_lock[1]"],
    [frozen, "mmap_lock[2]"],
  ];
  const first = seq.map(([l, name]) => {
    const info = a.lockInfo(l);
    assert.equal(info.name, name);
    return info;
  });
  // The second machine sees m2 first; m1's slot holds machine a's state, so b's goes to its map.
  assert.equal(b.lockInfo(m2).name, "mmap_lock[0]");
  assert.equal(b.lockInfo(m1).name, "mmap_lock[1]");
  for (let round = 0; round < 2; round++) {
    seq.forEach(([l], i) => assert.equal(a.lockInfo(l), first[i]));
    assert.equal(b.lockInfo(m1).name, "mmap_lock[1]");
    assert.equal(b.lockInfo(m2).name, "mmap_lock[0]");
    assert.notEqual(b.lockInfo(m1), a.lockInfo(m1));
  }
  // Locks of one class share the class accumulator; the slot's state is b's for m2 only.
  assert.equal(first[0].metrics, first[2].metrics);
  assert.equal(first[0].metrics, first[3].metrics);
  assert.notEqual(first[0].metrics, first[1].metrics);
  assert.deepEqual(Object.keys(a.lockMetrics()), ["mmap_lock", "page_table_lock"]);
  assert.deepEqual(Object.keys(b.lockMetrics()), ["mmap_lock"]);
});

Deno.test("Accounting.opAt: the accumulator op gives for the kind at that OP_KINDS index", () => {
  const a = new Accounting("head");
  const fork = OP_KINDS.indexOf("fork"), mmap = OP_KINDS.indexOf("mmap");
  const viaIndex = a.opAt(fork);
  assert.equal(a.op("fork"), viaIndex);
  const viaKind = a.op("mmap");
  assert.equal(a.opAt(mmap), viaKind);
  assert.notEqual(viaIndex, viaKind);
  viaIndex.count += 2;
  viaKind.count++;
  // Metrics in OP_KINDS order, whichever way the kinds were first reached.
  assert.deepEqual(
    Object.entries(a.opMetrics()).map(([k, m]) => [k, m.count]),
    [["mmap", 1], ["fork", 2]],
  );
});

Deno.test("noteGrant and noteRelease keep reads and writes apart", () => {
  const m = new Accounting("head").lockInfo(newLock("anon_vma.root", "rwsem")).metrics;
  noteGrant(m, true, 5);
  noteGrant(m, false, 7);
  noteGrant(m, false, 0);
  noteRelease(m, true, 11, 2);
  noteRelease(m, false, 13, 1);
  assert.deepEqual([m.readAcquisitions, m.writeAcquisitions, m.contended], [1, 2, 2]);
  assert.deepEqual([m.readWait.count, m.readWait.sum, m.writeWait.count, m.writeWait.sum], [
    1,
    5,
    2,
    7,
  ]);
  assert.deepEqual([m.writeHold.count, m.writeHold.sum, m.readHold.count, m.readHold.sum], [
    1,
    11,
    1,
    13,
  ]);
  assert.deepEqual([m.waitSum, m.holdSum, m.maxWorkPerHold], [12, 24, 2]);
});

Deno.test("task figures at a run limit count the CPU stretch and queue wait in progress", () => {
  // One CPU, two tasks of one 10 ns operation. t1 runs [0, 10], then queues behind t2, which
  // waited [0, 10] and runs [10, 20]; t1 exits at 20. At 4, t1 has run 4 ns and t2 waited 4;
  // at 15, t1 has waited 5 since its operation ended and t2 has run 5.
  const m = new Machine({ cpus: 1, costs: UNIT_COST_PROFILE });
  for (const id of [1, 2]) {
    m.addTask({ id, name: `t${id}`, kind: "user", next: script([busy(m, 10)]) });
  }
  const figures = (): number[][] =>
    m.metrics().tasks.map((t) => [t.cpuNs, t.runnableWaitNs, t.lockWaitNs]);
  m.run(4);
  assert.deepEqual(figures(), [[4, 0, 0], [0, 4, 0]]);
  m.run(15);
  assert.deepEqual(figures(), [[10, 5, 0], [5, 10, 0]]);
  m.run();
  assert.equal(m.now, 20);
  assert.deepEqual(figures(), [[10, 10, 0], [10, 10, 0]]);
  assert.deepEqual(m.metrics().cpus, [{ cpu: 0, busyNs: 20, utilisation: 1 }]);
});

Deno.test("a context switch is CPU time of the incoming task as of its CPU's busy time", () => {
  // One CPU, a 3 ns switch whenever it runs another task than it ran last (also the first).
  // t1: switch [0, 3], op [3, 13]. t2: switch [13, 16], op [16, 21]. t1: switch [21, 24], exits.
  // t2: switch [24, 27], exits. The CPU is busy all 27 ns: t1 has 13 + 3, t2 8 + 3. Run-queue
  // waits: t1 [13, 21]; t2 [0, 13] and [21, 24].
  const costs = mergeCostProfile(UNIT_COST_PROFILE, { contextSwitchNs: 3 });
  const m = new Machine({ cpus: 1, costs });
  m.addTask({ id: 1, name: "t1", kind: "user", next: script([busy(m, 10)]) });
  m.addTask({ id: 2, name: "t2", kind: "user", next: script([busy(m, 5)]) });
  m.run();
  const met = m.metrics();
  assert.equal(met.elapsedNs, 27);
  assert.deepEqual(met.cpus, [{ cpu: 0, busyNs: 27, utilisation: 1 }]);
  assert.deepEqual(
    met.tasks.map((t) => [t.id, t.cpuNs, t.runnableWaitNs, t.finishedAt]),
    [[1, 16, 8, 24], [2, 11, 16, 27]],
  );
  // Latency runs from the operation's start, after the switch.
  assert.deepEqual([met.ops.fault.latencyNs.min, met.ops.fault.latencyNs.max], [5, 10]);
});

Deno.test("CPU busy time at the last operation end includes the stretches still running", () => {
  // Two CPUs. t2's 4 ns operation ends at 4 and t2 exits. t1's 10 ns operation ends at 10, the
  // last operation end: CPU 0 has then been busy 10 ns (t1 still on it), CPU 1 4 ns. t1 then
  // sleeps 50 ns and exits at 60, which the run's elapsed time counts but not the busy time.
  const m = new Machine({ cpus: 2, costs: UNIT_COST_PROFILE });
  m.addTask({ id: 1, name: "t1", kind: "user", next: script([busy(m, 10), { sleep: 50 }]) });
  m.addTask({ id: 2, name: "t2", kind: "user", next: script([busy(m, 4, "mmap")]) });
  m.run();
  const met = m.metrics();
  assert.deepEqual([met.elapsedNs, met.lastOpEndNs, met.busyAtLastOpEndNs], [60, 10, 14]);
  assert.deepEqual(met.cpus.map((c) => c.busyNs), [10, 4]);
});

Deno.test("a machine's hold and wait figures are split by the mode of each acquisition", () => {
  // Two CPUs. t1 (one operation) write-holds the rwsem over [0, 10], then read-holds it over
  // [10, 14]. t2 asks to read at 2, waits 8 and read-holds it over [10, 13] (granted at t1's
  // release, ahead of t1's own read, which then shares it).
  const m = new Machine({ cpus: 2, costs: UNIT_COST_PROFILE });
  const ex = m.exec;
  const l = newLock("anon_vma.root", "rwsem");
  m.addTask({
    id: 1,
    name: "t1",
    kind: "user",
    next: script([{
      op: "fork",
      run: () => {
        ex.acquire(l, "write");
        ex.work("tree_update", 10);
        ex.release(l, "write");
        ex.acquire(l, "read");
        ex.work("tree_visit", 4);
        ex.release(l, "read");
      },
    }]),
  });
  m.addTask({
    id: 2,
    name: "t2",
    kind: "kthread",
    next: script([{ sleep: 2 }, {
      op: "walk_unmap",
      run: () => {
        ex.acquire(l, "read");
        ex.work("tree_visit", 3);
        ex.release(l, "read");
      },
    }]),
  });
  m.run();
  const r = m.metrics().locks["anon_vma.root"];
  const fig = (d: { count: number; sum: number; max: number }): number[] => [d.count, d.sum, d.max];
  assert.deepEqual([r.readAcquisitions, r.writeAcquisitions, r.contended], [2, 1, 1]);
  assert.deepEqual(fig(r.writeHoldNs), [1, 10, 10]);
  assert.deepEqual(fig(r.readHoldNs), [2, 7, 4]);
  assert.deepEqual(fig(r.writeWaitNs), [1, 0, 0]);
  assert.deepEqual(fig(r.readWaitNs), [2, 8, 8]);
  assert.deepEqual([fig(r.holdNs), fig(r.waitNs)], [[3, 17, 10], [3, 8, 8]]);
});

Deno.test("a hold released out of order leaves the open holds and the next one intact", () => {
  // One task: A over [0, 2], B over [0, 5], C over [2, 5]: A is released under B, then C is
  // taken while B is still held, and B before C.
  const m = new Machine({ cpus: 1, costs: UNIT_COST_PROFILE });
  const ex = m.exec;
  const [a, b, c] = ["a", "b", "c"].map((cls) => newLock(cls, "mutex"));
  m.addTask({
    id: 1,
    name: "t",
    kind: "user",
    next: script([{
      op: "mremap",
      run: () => {
        ex.acquire(a, "write");
        ex.acquire(b, "write");
        ex.work("list_op", 2);
        ex.release(a, "write");
        ex.acquire(c, "write");
        ex.work("pte_update", 3);
        ex.release(b, "write");
        ex.release(c, "write");
      },
    }]),
  });
  m.run();
  const locks = m.metrics().locks;
  assert.deepEqual(
    Object.entries(locks).map(([cls, l]) => [cls, l.holdNs.count, l.holdNs.sum, l.maxWorkPerHold]),
    [["a", 1, 2, 2], ["b", 1, 5, 5], ["c", 1, 3, 3]],
  );
});
