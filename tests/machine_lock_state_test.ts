import assert from "node:assert/strict";
import { LockState, newLock } from "../core/machine/mod.ts";

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
