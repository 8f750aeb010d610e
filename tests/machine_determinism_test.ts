import assert from "node:assert/strict";
import {
  type Lock,
  Machine,
  type MachineMetrics,
  newLock,
  OP_KINDS,
  type TaskAction,
  type TraceEntry,
  WORK_KINDS,
} from "../core/machine/mod.ts";
import { Random } from "../core/lib/random.ts";

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
