// The timed machine's lock states: one per lock and machine, kept in the lock's slot or (a lock
// another machine holds the slot of, or a frozen one) in a weak map, named `class[i]` in the
// order each class's locks were first seen.
import assert from "node:assert/strict";
import { Accounting, noteGrant, noteRelease } from "../core/machine/accounting.ts";
import { type Lock, newLock, OP_KINDS } from "../core/machine/mod.ts";

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
