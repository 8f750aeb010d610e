import assert from "node:assert/strict";
import { LockState, Machine, newLock, UNIT_COST_PROFILE } from "../core/machine/mod.ts";
import { op, rows, script } from "./machine_script.ts";

Deno.test("rwsem: readers share, a writer excludes, a waiting writer blocks new readers", () => {
  const s = new LockState<string>(newLock("anon_vma.root", "rwsem"));
  assert.ok(s.acquire("r1", "read"));
  assert.ok(s.acquire("r2", "read"));
  assert.equal(s.canAcquire("write"), false);
  s.enqueue({ owner: "w", mode: "write", since: 1 });
  assert.equal(s.canAcquire("read"), false);
  s.enqueue({ owner: "r3", mode: "read", since: 2 });
  assert.deepEqual(s.release("r1", "read"), []);
  assert.deepEqual(s.release("r2", "read").map((w) => w.owner), ["w"]);
  assert.equal(s.writer, "w");
  assert.deepEqual(s.release("w", "write").map((w) => w.owner), ["r3"]);
  assert.deepEqual([...s.readers], ["r3"]);
  assert.deepEqual(s.release("r3", "read"), []);
  assert.ok(s.free);
});

Deno.test("rwsem: readers at the head are granted together ('head') or all readers ('all')", () => {
  for (const wake of ["head", "all"] as const) {
    const s = new LockState<string>(newLock("anon_vma.root", "rwsem"), wake);
    assert.ok(s.acquire("w0", "write"));
    for (const [owner, mode] of [["r1", "read"], ["r2", "read"], ["w1", "write"], ["r3", "read"]]) {
      s.enqueue({ owner, mode: mode as "read" | "write", since: 0 });
    }
    const granted = s.release("w0", "write").map((w) => w.owner);
    assert.deepEqual(granted, wake === "head" ? ["r1", "r2"] : ["r1", "r2", "r3"]);
    assert.deepEqual(s.queue.map((w) => w.owner), wake === "head" ? ["w1", "r3"] : ["w1"]);
  }
});

Deno.test("spinlock and mutex are exclusive and FIFO", () => {
  for (const kind of ["spinlock", "mutex"] as const) {
    const s = new LockState<number>(newLock("ptl", kind));
    assert.ok(s.acquire(1, "write"));
    assert.equal(s.acquire(2, "write"), false);
    s.enqueue({ owner: 2, mode: "write", since: 0 });
    s.enqueue({ owner: 3, mode: "write", since: 0 });
    assert.deepEqual(s.release(1, "write").map((w) => w.owner), [2]);
    assert.deepEqual(s.release(2, "write").map((w) => w.owner), [3]);
    assert.throws(
      () => s.release(2, "write"),
      /^Error: Release of ptl in write mode by a non-holder$/,
    );
  }
});

Deno.test("rwsem: readers leave in any order, the others still hold it", () => {
  const s = new LockState<string>(newLock("anon_vma.root", "rwsem"));
  for (const r of ["r1", "r2", "r3"]) assert.ok(s.acquire(r, "read"));
  s.enqueue({ owner: "w", mode: "write", since: 0 });
  // The first reader leaves: the second and the third still hold it, in their order.
  assert.deepEqual(s.release("r1", "read"), []);
  assert.deepEqual([...s.readers], ["r2", "r3"]);
  // The last one leaves: the second is the only holder, and the writer still waits.
  assert.deepEqual(s.release("r3", "read"), []);
  assert.deepEqual([...s.readers], ["r2"]);
  assert.throws(() => s.release("r3", "read"), /by a non-holder/);
  assert.deepEqual(s.release("r2", "read").map((w) => w.owner), ["w"]);
  assert.deepEqual([...s.readers], []);
  assert.equal(s.writer, "w");
});

Deno.test("rwsem 'all': a writer at the head of the queue is granted alone, readers next", () => {
  // rwsem_mark_wake wakes every queued reader only when the first waiter is a reader; a writer
  // at the head is woken alone, and the readers behind it wait for its release.
  for (const wake of ["head", "all"] as const) {
    const s = new LockState<string>(newLock("anon_vma.root", "rwsem"), wake);
    assert.ok(s.acquire("w0", "write"));
    for (const [owner, mode] of [["w1", "write"], ["r1", "read"], ["r2", "read"]]) {
      s.enqueue({ owner, mode: mode as "read" | "write", since: 0 });
    }
    assert.deepEqual(s.release("w0", "write").map((w) => w.owner), ["w1"], wake);
    assert.deepEqual([s.writer, [...s.readers]], ["w1", []]);
    assert.deepEqual(s.release("w1", "write").map((w) => w.owner), ["r1", "r2"], wake);
    assert.deepEqual(s.queue, []);
  }
});

Deno.test("only spinlock waiters spin; rwsem and mutex waiters sleep", () => {
  const spin = (kind: "rwsem" | "spinlock" | "mutex"): boolean =>
    new LockState<number>(newLock("l", kind)).spin;
  assert.deepEqual([spin("spinlock"), spin("mutex"), spin("rwsem")], [true, false, false]);
  assert.equal(new LockState<number>(newLock("l", "mutex"), "all").spin, false);
});

Deno.test("a spinning waiter handed the lock runs before the releaser's later work", () => {
  // t1 holds the spinlock over [0, 10], then works 5 ns more (to 15) in the same operation. t2
  // spins from 2 and is handed the lock at 10 on its CPU: it works [10, 11] and releases at 11,
  // before t1's operation ends at 15. The clock never goes back.
  const m = new Machine({ cpus: 2, costs: UNIT_COST_PROFILE, trace: true });
  const ex = m.exec;
  const l = newLock("page_table_lock", "spinlock");
  m.addTask({
    id: 1,
    name: "holder",
    kind: "user",
    next: script([op("fault", () => {
      ex.acquire(l, "write");
      ex.work("pte_update", 10);
      ex.release(l, "write");
      ex.work("page_zero", 5);
    })]),
  });
  m.addTask({
    id: 2,
    name: "spinner",
    kind: "user",
    next: script([
      { sleep: 2 },
      op("mmap", () => {
        ex.acquire(l, "write");
        ex.work("pte_update", 1);
        ex.release(l, "write");
      }),
    ]),
  });
  m.run();
  const L = "page_table_lock[0]";
  assert.deepEqual(rows(m.trace), [
    [0, 0, 1, "begin fault"],
    [0, 0, 1, `acquire ${L} write`],
    [0, 1, 2, "sleep 2"],
    [2, 1, 2, "begin mmap"],
    [2, 1, 2, `wait ${L} write`],
    [10, 0, 1, `release ${L} write`],
    [10, 1, 2, `acquire ${L} write`],
    [11, 1, 2, `release ${L} write`],
    [11, 1, 2, "end mmap"],
    [11, 1, 2, "exit"],
    [15, 0, 1, "end fault"],
    [15, 0, 1, "exit"],
  ]);
  const met = m.metrics();
  assert.deepEqual(met.tasks.map((t) => [t.lockWaitNs, t.finishedAt]), [[0, 15], [8, 11]]);
  // The spinner kept its CPU busy while it waited: [2, 11].
  assert.deepEqual(met.cpus.map((c) => c.busyNs), [15, 9]);
});

Deno.test("tasks spinning on spinlocks nobody will release are reported as a deadlock", () => {
  // ABBA on two spinlocks: each task holds one after 5 ns of work and spins on the other.
  const m = new Machine({ cpus: 2, costs: UNIT_COST_PROFILE });
  const ex = m.exec;
  const a = newLock("a", "spinlock"), b = newLock("b", "spinlock");
  const both = (x: typeof a, y: typeof a) => (): void => {
    ex.acquire(x, "write");
    ex.work("list_op", 5);
    ex.acquire(y, "write");
    ex.release(y, "write");
    ex.release(x, "write");
  };
  m.addTask({ id: 1, name: "ab", kind: "user", next: script([op("mmap", both(a, b))]) });
  m.addTask({ id: 2, name: "ba", kind: "user", next: script([op("munmap", both(b, a))]) });
  assert.throws(
    () => m.run(),
    /^Error: Deadlock: tasks 1, 2 wait for locks that are never released$/,
  );
  assert.deepEqual([m.taskState(1), m.taskState(2), m.now], ["spinning", "spinning", 5]);
});
