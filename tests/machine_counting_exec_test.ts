// CountingExec's counters: exact figures and the key order of the records it builds (the order
// in which kinds and classes were first counted), nested and out-of-order holds, and its errors.
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  CountingExec,
  type Lock,
  type LockClassCounters,
  newLock,
  WORK_KINDS,
  type WorkKind,
  workKindIndex,
  workKindName,
} from "../core/machine/mod.ts";

Deno.test("CountingExec: records keep first-counted order; holds nest and release out of order", () => {
  const ex = new CountingExec();
  const root = newLock("anon_vma.root", "rwsem");
  const mm = newLock("mmap_lock", "rwsem");
  const ptl = newLock("page_table_lock", "spinlock");
  ex.beginOp("fork", 1);
  ex.work("vma_lookup");
  ex.acquire(mm, "write");
  ex.work("slab_alloc", 2);
  ex.acquire(root, "read");
  ex.work("tree_visit", 3);
  ex.work("slab_alloc", 0); // nothing
  ex.release(mm, "write"); // the outer lock first
  ex.work("list_op", 4);
  ex.acquire(ptl, "write");
  ex.work("pte_update", 5);
  ex.release(ptl, "write");
  ex.release(root, "read");
  ex.endOp();
  ex.beginOp("exit", 1);
  ex.endOp();
  ex.beginOp("fork", 1);
  ex.endOp();
  const c = ex.counters;
  assert.deepEqual(Object.keys(c.locks), ["mmap_lock", "anon_vma.root", "page_table_lock"]);
  assert.deepEqual(Object.entries(c.work), [
    ["vma_lookup", 1],
    ["slab_alloc", 2],
    ["tree_visit", 3],
    ["list_op", 4],
    ["pte_update", 5],
  ]);
  assert.deepEqual(Object.entries(c.ops), [["fork", 2], ["exit", 1]]);
  assert.deepEqual(c.locks["mmap_lock"], {
    readAcquisitions: 0,
    writeAcquisitions: 1,
    trylockFailures: 0,
    workUnderLock: { slab_alloc: 2, tree_visit: 3 },
    maxWorkPerHold: 5,
  });
  assert.deepEqual(Object.entries(c.locks["anon_vma.root"].workUnderLock), [
    ["tree_visit", 3],
    ["list_op", 4],
    ["pte_update", 5],
  ]);
  assert.equal(c.locks["anon_vma.root"].readAcquisitions, 1);
  assert.equal(c.locks["anon_vma.root"].maxWorkPerHold, 12);
  assert.equal(c.locks["page_table_lock"].maxWorkPerHold, 5);
  assert.equal(c.gracePeriods, 0);
  // lockCounters is live: later work shows in a record taken before it.
  const live = ex.lockCounters("anon_vma.root");
  ex.beginOp("fault", 1);
  ex.acquire(root, "write");
  ex.work("tree_visit");
  ex.work("made_up_kind" as WorkKind, 2); // a kind outside WORK_KINDS is counted too
  ex.release(root, "write");
  ex.endOp();
  assert.equal(live.writeAcquisitions, 1);
  assert.deepEqual(Object.entries(live.workUnderLock), [
    ["tree_visit", 4],
    ["list_op", 4],
    ["pte_update", 5],
    ["made_up_kind", 2],
  ]);
  assert.equal(ex.counters.work["made_up_kind" as WorkKind], 2);
});

Deno.test("CountingExec: errors and trylocks", () => {
  const ex = new CountingExec();
  const a = newLock("anon_vma.root", "rwsem");
  const b = newLock("anon_vma.root", "rwsem");
  ex.beginOp("fork", 1);
  ex.acquire(a, "read");
  assert.equal(ex.acquire(a, "write", true), false);
  assert.throws(
    () => ex.acquire(a, "read", true),
    /^Error: recursive acquisition of anon_vma.root #/,
  );
  assert.throws(() => ex.acquire(a, "read"), /^Error: recursive acquisition/);
  assert.throws(() => ex.release(b, "read"), /which is not held$/);
  assert.throws(
    () => ex.release(a, "write"),
    /^Error: release of anon_vma.root in the wrong mode$/,
  );
  ex.acquire(b, "write");
  assert.deepEqual(ex.heldClasses, ["anon_vma.root", "anon_vma.root"]);
  assert.throws(
    () => ex.endOp(),
    /^Error: operation ended with locks held: anon_vma.root, anon_vma.root$/,
  );
  ex.release(a, "read");
  ex.release(b, "write");
  let freed = 0;
  ex.callRcu(() => freed++);
  assert.equal(freed, 0);
  ex.endOp();
  assert.equal(freed, 1);
  const c = ex.counters.locks["anon_vma.root"];
  assert.deepEqual([c.readAcquisitions, c.writeAcquisitions, c.trylockFailures], [1, 1, 1]);
  assert.equal(ex.counters.gracePeriods, 1);
  assert.deepEqual(ex.counters.work, { rcu_op: 1 });
});

Deno.test("workKindIndex: the known kinds at their WORK_KINDS positions, others appended", () => {
  WORK_KINDS.forEach((k, i) => {
    assert.equal(workKindIndex(k), i);
    // A string equal to the literal but built at run time (not the same interned object).
    assert.equal(workKindIndex([...k].join("")), i);
    assert.equal(workKindName(i), k);
  });
  const a = workKindIndex("kind_index_test_a");
  assert.ok(a >= WORK_KINDS.length);
  assert.equal(workKindIndex("kind_index_test_a"), a);
  assert.equal(workKindName(a), "kind_index_test_a");
  assert.equal(workKindIndex("kind_index_test_b"), a + 1);
});

/** A naive CountingExec: one record per class and per hold, updated call by call. */
class NaiveCounting {
  locks = new Map<string, LockClassCounters>();
  work: Record<string, number> = {};
  held: { lock: Lock; write: boolean; units: number }[] = [];
  cls(name: string): LockClassCounters {
    let c = this.locks.get(name);
    if (!c) {
      c = {
        readAcquisitions: 0,
        writeAcquisitions: 0,
        trylockFailures: 0,
        workUnderLock: {},
        maxWorkPerHold: 0,
      };
      this.locks.set(name, c);
    }
    return c;
  }
  acquire(lock: Lock, write: boolean): void {
    const c = this.cls(lock.lockClass);
    if (write) c.writeAcquisitions++;
    else c.readAcquisitions++;
    this.held.push({ lock, write, units: 0 });
  }
  release(i: number): void {
    const [h] = this.held.splice(i, 1);
    const c = this.cls(h.lock.lockClass);
    if (h.units > c.maxWorkPerHold) c.maxWorkPerHold = h.units;
  }
  doWork(kind: string, units: number): void {
    if (units === 0) return;
    this.work[kind] = (this.work[kind] ?? 0) + units;
    for (const h of this.held) {
      h.units += units;
      const w = this.cls(h.lock.lockClass).workUnderLock as Record<string, number>;
      w[kind] = (w[kind] ?? 0) + units;
    }
  }
}

Deno.test("CountingExec: random holds and work give a naive model's counters, key order included", () => {
  // Many classes (the class tallies grow) and kinds past WORK_KINDS (their stride widens while
  // locks are held); fractional units, so an addition out of order would show in the last bit.
  const classes = Array.from({ length: 9 }, (_, i) => `class${i}`);
  const kinds = [...WORK_KINDS, ...Array.from({ length: 24 }, (_, i) => `prop_kind_${i}`)];
  const step = fc.oneof(
    fc.record({ t: fc.constant("acq"), cls: fc.nat(classes.length - 1), write: fc.boolean() }),
    fc.record({ t: fc.constant("rel"), at: fc.nat(8) }),
    fc.record({
      t: fc.constant("work"),
      kind: fc.nat(kinds.length - 1),
      units: fc.oneof(fc.constant(0), fc.nat(5), fc.double({ min: 0, max: 9, noNaN: true })),
    }),
  );
  fc.assert(
    fc.property(fc.array(step, { minLength: 10, maxLength: 120, size: "max" }), (steps) => {
      const ex = new CountingExec();
      const naive = new NaiveCounting();
      ex.beginOp("fork", 1);
      for (const s of steps) {
        if (s.t === "acq") {
          const lock = newLock(classes[s.cls], "rwsem");
          ex.acquire(lock, s.write ? "write" : "read");
          naive.acquire(lock, s.write);
        } else if (s.t === "rel") {
          if (naive.held.length === 0) continue;
          const i = s.at % naive.held.length;
          const h = naive.held[i];
          ex.release(h.lock, h.write ? "write" : "read");
          naive.release(i);
        } else {
          ex.work(kinds[s.kind] as WorkKind, s.units);
          naive.doWork(kinds[s.kind], s.units);
        }
      }
      while (naive.held.length > 0) {
        const h = naive.held[naive.held.length - 1];
        ex.release(h.lock, h.write ? "write" : "read");
        naive.release(naive.held.length - 1);
      }
      ex.endOp();
      const c = ex.counters;
      assert.deepEqual(Object.entries(c.work), Object.entries(naive.work));
      assert.deepEqual(Object.keys(c.locks), [...naive.locks.keys()]);
      for (const [name, n] of naive.locks) {
        const got = c.locks[name];
        assert.deepEqual(Object.entries(got.workUnderLock), Object.entries(n.workUnderLock));
        assert.deepEqual({ ...got, workUnderLock: {} }, { ...n, workUnderLock: {} });
        assert.deepEqual(
          Object.entries(ex.lockCounters(name).workUnderLock),
          Object.entries(n.workUnderLock),
        );
      }
    }),
    { numRuns: 300 },
  );
});

Deno.test("CountingExec: more locks held than its first room (8), each class's work exact", () => {
  // Twenty nested locks of twenty classes: lock i sees the work done after its acquisition, so
  // class i's tally is the sum of units i..19, and its largest hold the same.
  const ex = new CountingExec();
  const locks = Array.from({ length: 20 }, (_, i) => newLock(`nest${i}`, "mutex"));
  locks.forEach((l, i) => {
    ex.acquire(l, "write");
    ex.work("list_op", i + 1);
  });
  for (const l of [...locks].reverse()) ex.release(l, "write");
  const c = ex.counters;
  const sum = (from: number): number => ((20 - from) * (from + 1 + 20)) / 2;
  for (let i = 0; i < 20; i++) {
    assert.deepEqual(c.locks[`nest${i}`].workUnderLock, { list_op: sum(i) });
    assert.equal(c.locks[`nest${i}`].maxWorkPerHold, sum(i));
  }
  assert.deepEqual(c.work, { list_op: 210 });
});

Deno.test("CountingExec: an operation end is one grace period for its callbacks, run once", () => {
  const ex = new CountingExec();
  const ran: string[] = [];
  ex.beginOp("munmap", 1);
  ex.callRcu(() => ran.push("a"));
  ex.callRcu(() => ran.push("b"));
  assert.equal(ran.length, 0);
  ex.endOp();
  assert.deepEqual([ran, ex.counters.gracePeriods], [["a", "b"], 1]);
  // Later operations run nothing again and, queueing nothing, complete no grace period.
  ex.beginOp("exit", 1);
  ex.endOp();
  ex.flushRcu();
  assert.deepEqual([ran, ex.counters.gracePeriods], [["a", "b"], 1]);
  ex.beginOp("exit", 1);
  ex.callRcu(() => ran.push("c"));
  ex.endOp();
  assert.deepEqual([ran, ex.counters.gracePeriods], [["a", "b", "c"], 2]);
  assert.deepEqual(ex.counters.work, { rcu_op: 3 });
});

Deno.test("CountingExec: a nested operation and an unbalanced rcu_read_unlock are errors", () => {
  const ex = new CountingExec();
  ex.beginOp("fork", 1);
  assert.throws(
    () => ex.beginOp("mmap", 1),
    /^Error: operation mmap started inside another operation$/,
  );
  ex.endOp();
  // Only the operation begun is counted.
  assert.deepEqual(ex.counters.ops, { fork: 1 });
  assert.throws(() => ex.rcuReadUnlock(), /^Error: rcu_read_unlock without rcu_read_lock$/);
  ex.rcuReadLock();
  ex.rcuReadLock();
  ex.rcuReadUnlock();
  ex.rcuReadUnlock();
  assert.throws(() => ex.rcuReadUnlock(), /^Error: rcu_read_unlock without rcu_read_lock$/);
});
