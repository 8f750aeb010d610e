// CountingExec's counters: exact figures and the key order of the records it builds (the order
// in which kinds and classes were first counted), nested and out-of-order holds, and its errors.
import assert from "node:assert/strict";
import { CountingExec, newLock, type WorkKind } from "../core/machine/mod.ts";

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
