/**
 * The timed machine: N CPUs, one simulated clock, a discrete-event scheduler, locks with wait
 * queues, and RCU grace periods.
 *
 * ## Model: linearise at start, replay the critical sections
 *
 * When a task is dispatched for an operation at simulated time `t`, the machine calls the
 * operation's `run()`. The kernel applies the operation's whole state change then, atomically
 * (its linearisation point), and reports what it does through {@link Machine.exec}. The machine
 * records those reports as steps (work of a kind × units, lock acquisitions and releases, RCU
 * read-side sections, `call_rcu`) and then replays the steps in simulated time against the real
 * lock states: work takes `units × price` nanoseconds of the task's CPU, an unavailable lock
 * queues the task, a release hands the lock to the waiters. Operations on different CPUs thus
 * overlap and contend, while the kernel's data structures only ever see one operation at a time.
 *
 * ## Trylocks
 *
 * The kernel needs a trylock's answer synchronously, while `run()` is recording, so a trylock is
 * decided against the lock state at the dispatch time `t`. This is exact for a trylock taken
 * before any step that takes time (for example `folio_referenced`'s `down_read_trylock` of the
 * root anon_vma, the first thing its walk does): the replay of that step happens at `t`, in the
 * same event. For a trylock later in an operation it is an approximation: a trylock that failed
 * stays failed; one that succeeded but finds the lock taken when replayed waits like a blocking
 * acquisition and is counted in {@link LockClassMetrics.lateTrylocks}.
 *
 * ## Scheduling
 *
 * Runnable tasks wait for a CPU in FIFO order; a task goes back to the tail of the run queue after
 * each action, so with more runnable tasks than CPUs the tasks take turns at operation
 * boundaries (there is no preemption inside an operation). A task prefers the CPU it ran on last.
 * A CPU that switches to a different task than it ran last pays `contextSwitchNs` first.
 * Spinlock waiters keep their CPU busy; rwsem and mutex waiters sleep and release their CPU, and
 * when granted the lock they become runnable `wakeupNs` later and must get a CPU again. A lock is
 * handed to waiters at release time (see `lock_state.ts`), so a woken waiter holds it while it
 * wakes up. Sleep actions (`{ sleep: ns }`) release the CPU and make the task runnable after
 * exactly `ns`.
 *
 * ## RCU
 *
 * A callback queued by `callRcu` at simulated time `q` runs when both `q + rcuGracePeriodNs` has
 * passed and every RCU read-side section active at `q` has ended. Until then whatever it frees
 * stays accounted (for example `Slab.freeRcu` keeps the objects live). Callbacks run outside any
 * task and take no CPU time; work they report is counted but not timed. Grace periods are counted
 * as distinct instants at which callbacks ran.
 *
 * ## Untimed context
 *
 * Exec calls made outside a dispatched operation (setting up the initial state before `run`, RCU
 * callbacks) are counted in {@link Machine.counters} but take no time; their lock acquisitions do
 * not change the timed lock states, a trylock there is answered from the current lock state, and
 * their `callRcu` callbacks are queued at the current time.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import {
  CountingExec,
  type Exec,
  type ExecCounters,
  type Lock,
  type LockMode,
  OP_KINDS,
  type OpKind,
  type WorkKind,
} from "./exec.ts";
import { type CostProfile, DEFAULT_COST_PROFILE, validateCostProfile } from "./cost_model.ts";
import { Distribution } from "../lib/stats.ts";
import { EventQueue } from "./event_queue.ts";
import { LockState, type LockWaiter, type ReaderWakeup } from "./lock_state.ts";
import {
  type CpuMetrics,
  type LockClassMetrics,
  type MachineMetrics,
  type OpMetrics,
  type TaskMetrics,
  type TraceEntry,
} from "./metrics.ts";

/** Whether a task stands for a user process or a kernel thread. */
export type TaskKind = "user" | "kthread";

/**
 * What a task does next: an operation (whose `run` the machine calls at dispatch), a sleep of a
 * number of nanoseconds, or `null` when the task has finished.
 */
export type TaskAction = { op: OpKind; run: () => void } | { sleep: number } | null;

/** Description of a task given to {@link Machine.addTask}. */
export interface TaskSpec {
  /** Unique id; used in the trace and the metrics. */
  id: number;
  /** Name shown in the metrics. */
  name: string;
  /** User process or kernel thread. */
  kind: TaskKind;
  /** Called each time the task gets a CPU with no operation in progress. */
  next: (now: number) => TaskAction;
}

/** Where a task is. */
export type TaskState =
  | "new"
  | "runnable"
  | "running"
  | "spinning"
  | "blocked"
  | "sleeping"
  | "done";

/** Options of a {@link Machine}. */
export interface MachineOptions {
  /** Number of CPUs (default 8, like a phone SoC). */
  cpus?: number;
  /** Cost profile (default {@link DEFAULT_COST_PROFILE}); validated. */
  costs?: CostProfile;
  /** Record a timeline trace (default false). */
  trace?: boolean;
  /** Which queued rwsem readers a release wakes (default `"head"`). */
  readerWakeup?: ReaderWakeup;
}

/**
 * Recorded steps are encoded in a flat number array (opcode, then operands) with the locks and
 * callbacks they refer to in a side array, both owned by the task and reused by each of its
 * operations: recording and replaying an operation allocates nothing per step.
 *
 * - `S_OP_BEGIN kind` / `S_OP_END`: an operation's bounds (kind: index into OP_KINDS).
 * - `S_WORK kind units`: work (kind: index into the machine's work-kind table).
 * - `S_DELAY ns`: a fixed delay (lock acquisition and release costs).
 * - `S_ACQUIRE ref mode try` / `S_TRYLOCK_FAIL ref mode` / `S_RELEASE ref mode`: lock steps (ref:
 *   index of the LockInfo in the side array; mode: 0 read, 1 write; try: 0 or 1).
 * - `S_RCU_LOCK` / `S_RCU_UNLOCK` / `S_CALL_RCU ref` (ref: index of the callback).
 */
const S_OP_BEGIN = 0;
const S_OP_END = 1;
const S_WORK = 2;
const S_DELAY = 3;
const S_ACQUIRE = 4;
const S_TRYLOCK_FAIL = 5;
const S_RELEASE = 6;
const S_RCU_LOCK = 7;
const S_RCU_UNLOCK = 8;
const S_CALL_RCU = 9;

const MODES: readonly LockMode[] = ["read", "write"];

/** Index of each operation kind in OP_KINDS. */
const OP_INDEX = Object.fromEntries(OP_KINDS.map((k, i) => [k, i])) as Record<OpKind, number>;

/** Tags of the machine's events (see {@link EventQueue.scheduleTagged}); the argument is a task. */
const EV_ADVANCE = 0;
const EV_RUNNABLE = 1;
const EV_BEGIN = 2;

interface Recording {
  code: number[];
  n: number;
  refs: unknown[];
  nrefs: number;
  defaultKind: OpKind;
  open: boolean;
  explicit: boolean;
  kind: OpKind;
  segments: number;
  rcuDepth: number;
  held: Map<Lock, LockMode>;
}

interface LockInfo {
  state: LockState<Task>;
  name: string;
  metrics: ClassAccumulator;
}

interface ClassAccumulator {
  kind: Lock["kind"];
  readAcquisitions: number;
  writeAcquisitions: number;
  trylockFailures: number;
  contended: number;
  lateTrylocks: number;
  hold: Distribution;
  readHold: Distribution;
  writeHold: Distribution;
  wait: Distribution;
  readWait: Distribution;
  writeWait: Distribution;
  workUnderLock: Partial<Record<WorkKind, number>>;
  maxWorkPerHold: number;
}

interface Held {
  info: LockInfo;
  mode: LockMode;
  since: number;
  units: number;
}

interface Replay {
  code: number[];
  refs: unknown[];
  /** End of the recorded code. */
  n: number;
  /** Number of refs used (cleared when the replay ends, so nothing stays reachable). */
  nrefs: number;
  pc: number;
  opKind: OpKind | null;
  opStart: number;
  opLockWait: number;
}

interface Cpu {
  id: number;
  task: Task | null;
  lastTask: number | null;
  busyNs: number;
  busySince: number;
}

interface Task {
  spec: TaskSpec;
  state: TaskState;
  cpu: Cpu | null;
  lastCpu: number | null;
  /** The operation being replayed, or null. */
  replay: Replay | null;
  /** The task's reusable replay record and step buffers. */
  rp: Replay;
  runnableSince: number;
  cpuSince: number;
  rcuDepth: number;
  rcuSection: number;
  held: Held[];
  ops: number;
  cpuNs: number;
  lockWaitNs: number;
  runnableWaitNs: number;
  finishedAt: number | null;
}

interface RcuCallback {
  fn: () => void;
  waiting: number;
  timerDone: boolean;
}

interface OpAccumulator {
  count: number;
  latency: Distribution;
  lockWait: Distribution;
}

/**
 * The timed machine. Give the kernel {@link Machine.exec}, add tasks, and call
 * {@link Machine.run}.
 *
 * @example Usage
 * ```ts
 * import { Machine } from "./machine.ts";
 * import { UNIT_COST_PROFILE } from "./cost_model.ts";
 * import { newLock } from "./exec.ts";
 *
 * const m = new Machine({ cpus: 2, costs: UNIT_COST_PROFILE });
 * const root = newLock("anon_vma.root", "rwsem");
 * for (const id of [1, 2]) {
 *   let done = false;
 *   m.addTask({
 *     id,
 *     name: `writer${id}`,
 *     kind: "user",
 *     next: () => {
 *       if (done) return null;
 *       done = true;
 *       return {
 *         op: "fork",
 *         run: () => {
 *           m.exec.acquire(root, "write");
 *           m.exec.work("tree_update", 10);
 *           m.exec.release(root, "write");
 *         },
 *       };
 *     },
 *   });
 * }
 * m.run();
 * // The second writer waits 10 ns for the first.
 * if (m.now !== 20 || m.metrics().locks["anon_vma.root"].waitNs.max !== 10) throw new Error();
 * ```
 */
export class Machine {
  /** The {@link Exec} the kernel core and the rmap schemes must report to. */
  readonly exec: Exec;
  /** The cost profile in use. */
  readonly costs: CostProfile;
  /** Number of CPUs. */
  readonly cpuCount: number;
  /** How queued rwsem readers are woken. */
  readonly readerWakeup: ReaderWakeup;

  #now = 0;
  #events = new EventQueue((tag, arg) => this.#fire(tag, arg as Task));
  /** Latest time the current {@link Machine.run} may reach (Infinity without a limit). */
  #limit = Infinity;
  #cpus: Cpu[];
  #runQueue: Task[] = [];
  #tasks: Task[] = [];
  #taskById = new Map<number, Task>();
  #counting = new CountingExec();
  #rec: Recording | null = null;
  /** The one recording in progress, reused by every dispatch (only one records at a time). */
  #recording: Recording = {
    code: [],
    n: 0,
    refs: [],
    nrefs: 0,
    defaultKind: "mmap",
    open: false,
    explicit: false,
    kind: "mmap",
    segments: 0,
    rcuDepth: 0,
    held: new Map(),
  };
  #workIdx = new Map<string, number>();
  #workNames: WorkKind[] = [];
  /** Price of each work kind, ns per unit, by index. */
  #workPrice: number[] = [];
  #locks = new WeakMap<Lock, LockInfo>();
  #classes = new Map<string, ClassAccumulator>();
  #classIndex = new Map<string, number>();
  #ops = new Map<OpKind, OpAccumulator>();
  #work: Partial<Record<WorkKind, number>> = {};
  #traceOn: boolean;
  #trace: TraceEntry[] = [];
  #running = false;
  #sectionSeq = 0;
  #sectionWaiters = new Map<number, RcuCallback[]>();
  #activeSections = new Set<number>();
  #rcuPending = 0;
  #rcuRun = 0;
  #gracePeriods = 0;
  #lastGpAt = -1;

  /** Creates an idle machine at time 0. */
  constructor(options: MachineOptions = {}) {
    const cpus = options.cpus ?? 8;
    if (!Number.isInteger(cpus) || cpus < 1) {
      throw new RangeError(`CPU count must be an integer >= 1, got ${cpus}`);
    }
    this.cpuCount = cpus;
    this.costs = validateCostProfile(options.costs ?? DEFAULT_COST_PROFILE);
    this.readerWakeup = options.readerWakeup ?? "head";
    this.#traceOn = options.trace ?? false;
    this.#cpus = Array.from({ length: cpus }, (_, id) => ({
      id,
      task: null,
      lastTask: null,
      busyNs: 0,
      busySince: 0,
    }));
    this.exec = {
      beginOp: (kind: OpKind, taskId: number): void => this.#beginOp(kind, taskId),
      endOp: (): void => this.#endOp(),
      acquire: (lock: Lock, mode: LockMode, tryLock?: boolean): boolean =>
        this.#acquire(lock, mode, tryLock ?? false),
      release: (lock: Lock, mode: LockMode): void => this.#release(lock, mode),
      work: (kind: WorkKind, units?: number): void => this.#recordWork(kind, units ?? 1),
      rcuReadLock: (): void => this.#rcuReadLock(),
      rcuReadUnlock: (): void => this.#rcuReadUnlock(),
      callRcu: (fn: () => void): void => this.#callRcu(fn),
    };
  }

  /** Current simulated time in nanoseconds. */
  get now(): number {
    return this.#now;
  }

  /**
   * Cost-independent counters of everything reported to {@link Machine.exec}, recorded when the
   * operations ran (the same figures a {@link CountingExec} would give for the same calls), plus
   * the grace periods completed so far.
   */
  get counters(): ExecCounters {
    this.#counting.counters.gracePeriods = this.#gracePeriods;
    return this.#counting.counters;
  }

  /** The timeline recorded so far (empty unless the `trace` option is set). */
  get trace(): readonly TraceEntry[] {
    return this.#trace;
  }

  /** Whether events are pending (tasks running, sleeping or waiting, or RCU callbacks queued). */
  get busy(): boolean {
    return this.#events.size > 0;
  }

  /** State of a task. */
  taskState(id: number): TaskState {
    const t = this.#taskById.get(id);
    if (!t) throw new RangeError(`Unknown task id ${id}`);
    return t.state;
  }

  /**
   * Adds a task. It becomes runnable at the current time (tasks added together queue for CPUs in
   * the order they were added). May be called while the machine runs, e.g. from a fork's `run`.
   */
  addTask(spec: TaskSpec): void {
    if (this.#taskById.has(spec.id)) throw new RangeError(`Duplicate task id ${spec.id}`);
    const t: Task = {
      spec,
      state: "new",
      cpu: null,
      lastCpu: null,
      replay: null,
      rp: { code: [], refs: [], n: 0, nrefs: 0, pc: 0, opKind: null, opStart: 0, opLockWait: 0 },
      runnableSince: this.#now,
      cpuSince: 0,
      rcuDepth: 0,
      rcuSection: 0,
      held: [],
      ops: 0,
      cpuNs: 0,
      lockWaitNs: 0,
      runnableWaitNs: 0,
      finishedAt: null,
    };
    this.#tasks.push(t);
    this.#taskById.set(spec.id, t);
    this.#events.scheduleTagged(this.#now, EV_RUNNABLE, t);
  }

  /**
   * Processes events in time order until none is left, or until the next event is later than
   * `untilNs` (then the clock is advanced to `untilNs`). Can be called again to continue.
   * Throws when tasks wait for locks that can never be released (a deadlock).
   */
  run(untilNs?: number): void {
    if (this.#running) throw new Error("Machine.run is not reentrant");
    if (untilNs !== undefined && !(untilNs >= this.#now)) {
      throw new RangeError(`Run limit must be >= the current time ${this.#now}, got ${untilNs}`);
    }
    this.#running = true;
    const limit = untilNs ?? Infinity;
    this.#limit = limit;
    const events = this.#events;
    try {
      while (events.size > 0) {
        const t = events.nextTime;
        if (t > limit) break;
        this.#now = t;
        events.fireNext();
      }
      if (untilNs !== undefined && untilNs > this.#now) this.#now = untilNs;
      if (this.#events.size === 0) {
        const stuck = this.#tasks.filter((t) => t.state === "blocked" || t.state === "spinning");
        if (stuck.length > 0) {
          throw new Error(
            `Deadlock: tasks ${stuck.map((t) => t.spec.id).join(", ")} wait for locks ` +
              "that are never released",
          );
        }
      }
    } finally {
      this.#running = false;
      this.#limit = Infinity;
    }
  }

  /** Everything measured so far, as plain data. */
  metrics(): MachineMetrics {
    const now = this.#now;
    const locks: Record<string, LockClassMetrics> = {};
    for (const [cls, a] of this.#classes) {
      locks[cls] = {
        kind: a.kind,
        readAcquisitions: a.readAcquisitions,
        writeAcquisitions: a.writeAcquisitions,
        trylockFailures: a.trylockFailures,
        contended: a.contended,
        lateTrylocks: a.lateTrylocks,
        holdNs: a.hold.summary(),
        readHoldNs: a.readHold.summary(),
        writeHoldNs: a.writeHold.summary(),
        waitNs: a.wait.summary(),
        readWaitNs: a.readWait.summary(),
        writeWaitNs: a.writeWait.summary(),
        workUnderLock: { ...a.workUnderLock },
        maxWorkPerHold: a.maxWorkPerHold,
      };
    }
    const ops: Record<string, OpMetrics> = {};
    for (const kind of OP_KINDS) {
      const a = this.#ops.get(kind);
      if (a) {
        ops[kind] = {
          count: a.count,
          latencyNs: a.latency.summary(),
          lockWaitNs: a.lockWait.summary(),
        };
      }
    }
    const cpus: CpuMetrics[] = this.#cpus.map((c) => {
      const busyNs = c.busyNs + (c.task ? now - c.busySince : 0);
      return { cpu: c.id, busyNs, utilisation: now > 0 ? busyNs / now : 0 };
    });
    const tasks: TaskMetrics[] = this.#tasks.map((t) => ({
      id: t.spec.id,
      name: t.spec.name,
      kind: t.spec.kind,
      ops: t.ops,
      cpuNs: t.cpuNs + (t.cpu ? now - t.cpuSince : 0),
      lockWaitNs: t.lockWaitNs,
      runnableWaitNs: t.runnableWaitNs + (t.state === "runnable" ? now - t.runnableSince : 0),
      finishedAt: t.finishedAt,
    }));
    return {
      elapsedNs: now,
      locks,
      ops,
      cpus,
      tasks,
      work: { ...this.#work },
      gracePeriods: this.#gracePeriods,
      rcuCallbacks: this.#rcuRun,
      rcuCallbacksPending: this.#rcuPending,
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Recording (the Exec the kernel calls)

  #ensureOpen(rec: Recording): void {
    if (rec.open) return;
    this.#openOp(rec, rec.defaultKind, false);
  }

  #openOp(rec: Recording, kind: OpKind, explicit: boolean): void {
    rec.code[rec.n++] = S_OP_BEGIN;
    rec.code[rec.n++] = OP_INDEX[kind];
    rec.open = true;
    rec.explicit = explicit;
    rec.kind = kind;
    rec.segments++;
    const ops = this.#counting.counters.ops;
    ops[kind] = (ops[kind] ?? 0) + 1;
  }

  #closeOp(rec: Recording): void {
    if (rec.held.size > 0) {
      throw new Error(
        `Operation ${rec.kind} ended with locks held: ${
          [...rec.held.keys()].map((l) => l.lockClass).join(", ")
        }`,
      );
    }
    if (rec.rcuDepth > 0) {
      throw new Error(`Operation ${rec.kind} ended inside an RCU read-side section`);
    }
    rec.code[rec.n++] = S_OP_END;
    rec.open = false;
    rec.explicit = false;
  }

  #beginOp(kind: OpKind, _taskId: number): void {
    const rec = this.#rec;
    if (!rec) {
      this.#counting.beginOp(kind, _taskId);
      return;
    }
    if (rec.open && rec.explicit) {
      throw new Error(`Operation ${kind} started inside operation ${rec.kind}`);
    }
    // An implicit operation (work reported before this beginOp) ends here.
    if (rec.open) this.#closeOp(rec);
    this.#openOp(rec, kind, true);
  }

  #endOp(): void {
    const rec = this.#rec;
    if (!rec) {
      this.#counting.endOp();
      return;
    }
    if (!rec.open || !rec.explicit) throw new Error("Operation ended without a matching beginOp");
    this.#closeOp(rec);
  }

  #recordWork(kind: WorkKind, units: number): void {
    if (!Number.isFinite(units) || units < 0) {
      throw new RangeError(`Work units of ${kind} must be a finite number >= 0, got ${units}`);
    }
    if (units === 0) return;
    this.#counting.work(kind, units);
    const rec = this.#rec;
    if (!rec) return;
    this.#ensureOpen(rec);
    const code = rec.code;
    code[rec.n++] = S_WORK;
    code[rec.n++] = this.#workIndex(kind);
    code[rec.n++] = units;
  }

  #acquire(lock: Lock, mode: LockMode, tryLock: boolean): boolean {
    if (lock.kind !== "rwsem" && mode !== "write") {
      throw new Error(`A ${lock.kind} (${lock.lockClass}) must be taken in write mode`);
    }
    const info = this.#lockInfo(lock);
    const rec = this.#rec;
    if (!rec) {
      if (tryLock && !info.state.canAcquire(mode)) {
        this.#counting.lockCounters(lock.lockClass).trylockFailures++;
        return false;
      }
      return this.#counting.acquire(lock, mode, tryLock);
    }
    this.#ensureOpen(rec);
    const m = mode === "read" ? 0 : 1;
    const fail = (): false => {
      const code = rec.code;
      code[rec.n++] = S_TRYLOCK_FAIL;
      code[rec.n++] = this.#ref(rec, info);
      code[rec.n++] = m;
      code[rec.n++] = S_DELAY;
      code[rec.n++] = this.costs.lockAcquireNs;
      return false;
    };
    if (rec.held.has(lock)) {
      // CountingExec counts the failure of a trylock of a lock this operation holds, or throws.
      this.#counting.acquire(lock, mode, tryLock);
      return fail();
    }
    if (tryLock && !info.state.canAcquire(mode)) {
      this.#counting.lockCounters(lock.lockClass).trylockFailures++;
      return fail();
    }
    this.#counting.acquire(lock, mode, tryLock);
    rec.held.set(lock, mode);
    const code = rec.code;
    code[rec.n++] = S_ACQUIRE;
    code[rec.n++] = this.#ref(rec, info);
    code[rec.n++] = m;
    code[rec.n++] = tryLock ? 1 : 0;
    code[rec.n++] = S_DELAY;
    code[rec.n++] = this.costs.lockAcquireNs;
    return true;
  }

  #release(lock: Lock, mode: LockMode): void {
    this.#counting.release(lock, mode);
    const rec = this.#rec;
    if (!rec) return;
    if (!rec.held.has(lock)) {
      throw new Error(
        `Release of ${lock.lockClass} #${lock.id} which this operation does not hold`,
      );
    }
    rec.held.delete(lock);
    const code = rec.code;
    code[rec.n++] = S_DELAY;
    code[rec.n++] = this.costs.lockReleaseNs;
    code[rec.n++] = S_RELEASE;
    code[rec.n++] = this.#ref(rec, this.#lockInfo(lock));
    code[rec.n++] = mode === "read" ? 0 : 1;
  }

  /** Stores `x` in the recording's side array; returns its index. */
  #ref(rec: Recording, x: unknown): number {
    rec.refs[rec.nrefs] = x;
    return rec.nrefs++;
  }

  /** Index of a work kind in the machine's tables (unknown kinds are added; they cost 0). */
  #workIndex(kind: WorkKind): number {
    let i = this.#workIdx.get(kind);
    if (i === undefined) {
      i = this.#workNames.length;
      this.#workIdx.set(kind, i);
      this.#workNames.push(kind);
      this.#workPrice.push(this.costs.workNs[kind]);
    }
    return i;
  }

  #rcuReadLock(): void {
    this.#counting.rcuReadLock();
    const rec = this.#rec;
    if (!rec) return;
    this.#ensureOpen(rec);
    rec.rcuDepth++;
    rec.code[rec.n++] = S_RCU_LOCK;
  }

  #rcuReadUnlock(): void {
    const rec = this.#rec;
    if (rec && rec.rcuDepth === 0) throw new Error("rcu_read_unlock without rcu_read_lock");
    this.#counting.rcuReadUnlock();
    if (!rec) return;
    rec.rcuDepth--;
    rec.code[rec.n++] = S_RCU_UNLOCK;
  }

  #callRcu(fn: () => void): void {
    this.#recordWork("rcu_op", 1);
    const rec = this.#rec;
    if (!rec) {
      this.#queueRcu(fn);
      return;
    }
    rec.code[rec.n++] = S_CALL_RCU;
    rec.code[rec.n++] = this.#ref(rec, fn);
  }

  // ---------------------------------------------------------------------------------------------
  // Scheduling

  #log(task: Task | null, event: string): void {
    if (!this.#traceOn) return;
    this.#trace.push({
      t: this.#now,
      cpu: task?.cpu ? task.cpu.id : null,
      task: task ? task.spec.id : null,
      event,
    });
  }

  #makeRunnable(task: Task): void {
    task.state = "runnable";
    task.runnableSince = this.#now;
    this.#runQueue.push(task);
    this.#kick();
  }

  #kick(): void {
    while (this.#runQueue.length > 0) {
      let cpu: Cpu | undefined;
      const task = this.#runQueue[0];
      if (task.lastCpu !== null && this.#cpus[task.lastCpu].task === null) {
        cpu = this.#cpus[task.lastCpu];
      } else cpu = this.#cpus.find((c) => c.task === null);
      if (!cpu) return;
      this.#runQueue.shift();
      this.#assign(cpu, task);
    }
  }

  #assign(cpu: Cpu, task: Task): void {
    const now = this.#now;
    cpu.task = task;
    cpu.busySince = now;
    task.cpu = cpu;
    task.state = "running";
    task.runnableWaitNs += now - task.runnableSince;
    task.cpuSince = now;
    const switchNs = cpu.lastTask !== task.spec.id ? this.costs.contextSwitchNs : 0;
    cpu.lastTask = task.spec.id;
    task.lastCpu = cpu.id;
    this.#events.scheduleTagged(now + switchNs, EV_BEGIN, task);
  }

  #leaveCpu(task: Task): void {
    const cpu = task.cpu!;
    const now = this.#now;
    cpu.busyNs += now - cpu.busySince;
    cpu.task = null;
    task.cpuNs += now - task.cpuSince;
    task.cpu = null;
    this.#kick();
  }

  #begin(task: Task): void {
    if (task.replay) {
      this.#log(task, "resume");
      this.#advance(task);
    } else this.#dispatch(task);
  }

  #dispatch(task: Task): void {
    const id = task.spec.id;
    const action = task.spec.next(this.#now);
    if (action === null || action === undefined) {
      this.#log(task, "exit");
      this.#leaveCpu(task);
      task.state = "done";
      task.finishedAt = this.#now;
      return;
    }
    if ("sleep" in action) {
      const ns = action.sleep;
      if (typeof ns !== "number" || !Number.isFinite(ns) || ns < 0) {
        throw new RangeError(`Task ${id} asked to sleep ${ns} ns; must be a finite number >= 0`);
      }
      this.#log(task, `sleep ${ns}`);
      this.#leaveCpu(task);
      task.state = "sleeping";
      this.#events.scheduleTagged(this.#now + ns, EV_RUNNABLE, task);
      return;
    }
    if (!("op" in action) || typeof action.run !== "function") {
      throw new TypeError(`Task ${id} returned an invalid action`);
    }
    if (!(OP_KINDS as readonly string[]).includes(action.op)) {
      throw new RangeError(`Task ${id} returned an unknown operation kind ${action.op}`);
    }
    const rp = task.rp;
    const rec = this.#recording;
    rec.code = rp.code;
    rec.n = 0;
    rec.refs = rp.refs;
    rec.nrefs = 0;
    rec.defaultKind = action.op;
    rec.open = false;
    rec.explicit = false;
    rec.kind = action.op;
    rec.segments = 0;
    rec.rcuDepth = 0;
    rec.held.clear();
    this.#rec = rec;
    try {
      action.run();
      if (rec.open && rec.explicit) throw new Error(`Operation ${rec.kind} was not ended`);
      if (rec.open) this.#closeOp(rec);
      // An action that reported nothing (e.g. a touch of a page that is already mapped, which
      // takes no fault) is not an operation: it is not counted and takes no time.
    } finally {
      this.#rec = null;
    }
    rp.n = rec.n;
    rp.nrefs = rec.nrefs;
    rp.pc = 0;
    rp.opKind = null;
    rp.opStart = 0;
    rp.opLockWait = 0;
    task.replay = rp;
    this.#advance(task);
  }

  // ---------------------------------------------------------------------------------------------
  // Replay

  #lockInfo(lock: Lock): LockInfo {
    let info = this.#locks.get(lock);
    if (!info) {
      const idx = this.#classIndex.get(lock.lockClass) ?? 0;
      this.#classIndex.set(lock.lockClass, idx + 1);
      info = {
        state: new LockState<Task>(lock, this.readerWakeup),
        name: `${lock.lockClass}[${idx}]`,
        metrics: this.#classMetrics(lock),
      };
      this.#locks.set(lock, info);
    }
    return info;
  }

  #classMetrics(lock: Lock): ClassAccumulator {
    let a = this.#classes.get(lock.lockClass);
    if (!a) {
      a = {
        kind: lock.kind,
        readAcquisitions: 0,
        writeAcquisitions: 0,
        trylockFailures: 0,
        contended: 0,
        lateTrylocks: 0,
        hold: new Distribution(),
        readHold: new Distribution(),
        writeHold: new Distribution(),
        wait: new Distribution(),
        readWait: new Distribution(),
        writeWait: new Distribution(),
        workUnderLock: {},
        maxWorkPerHold: 0,
      };
      this.#classes.set(lock.lockClass, a);
    }
    return a;
  }

  #opAccumulator(kind: OpKind): OpAccumulator {
    let a = this.#ops.get(kind);
    if (!a) {
      a = { count: 0, latency: new Distribution(), lockWait: new Distribution() };
      this.#ops.set(kind, a);
    }
    return a;
  }

  #advance(task: Task): void {
    const r = task.replay!;
    const code = r.code;
    const refs = r.refs;
    while (r.pc < r.n) {
      switch (code[r.pc]) {
        case S_OP_BEGIN: {
          const kind = OP_KINDS[code[r.pc + 1]];
          r.pc += 2;
          r.opKind = kind;
          r.opStart = this.#now;
          r.opLockWait = 0;
          this.#log(task, `begin ${kind}`);
          break;
        }
        case S_OP_END: {
          r.pc++;
          const kind = r.opKind!;
          const a = this.#opAccumulator(kind);
          a.count++;
          a.latency.add(this.#now - r.opStart);
          a.lockWait.add(r.opLockWait);
          task.ops++;
          r.opKind = null;
          this.#log(task, `end ${kind}`);
          break;
        }
        case S_WORK: {
          const k = code[r.pc + 1];
          const units = code[r.pc + 2];
          r.pc += 3;
          const kind = this.#workNames[k];
          this.#work[kind] = (this.#work[kind] ?? 0) + units;
          const held = task.held;
          for (let i = 0; i < held.length; i++) {
            const h = held[i];
            h.units += units;
            const w = h.info.metrics.workUnderLock;
            w[kind] = (w[kind] ?? 0) + units;
          }
          const ns = this.#workPrice[k] * units;
          if (ns > 0 && !this.#skipTo(this.#now + ns)) {
            this.#events.scheduleTagged(this.#now + ns, EV_ADVANCE, task);
            return;
          }
          break;
        }
        case S_DELAY: {
          const ns = code[r.pc + 1];
          r.pc += 2;
          if (ns > 0 && !this.#skipTo(this.#now + ns)) {
            this.#events.scheduleTagged(this.#now + ns, EV_ADVANCE, task);
            return;
          }
          break;
        }
        case S_ACQUIRE: {
          const info = refs[code[r.pc + 1]] as LockInfo;
          const mode = MODES[code[r.pc + 2]];
          if (info.state.acquire(task, mode)) {
            r.pc += 4;
            this.#granted(task, info, mode, this.#now);
            break;
          }
          if (code[r.pc + 3] === 1) info.metrics.lateTrylocks++;
          info.state.enqueue({ owner: task, mode, since: this.#now });
          this.#log(task, `wait ${info.name} ${mode}`);
          if (info.state.lock.kind === "spinlock") task.state = "spinning";
          else {
            task.state = "blocked";
            this.#leaveCpu(task);
          }
          return;
        }
        case S_TRYLOCK_FAIL: {
          const info = refs[code[r.pc + 1]] as LockInfo;
          const mode = MODES[code[r.pc + 2]];
          r.pc += 3;
          info.metrics.trylockFailures++;
          this.#log(task, `trylock-fail ${info.name} ${mode}`);
          break;
        }
        case S_RELEASE: {
          const info = refs[code[r.pc + 1]] as LockInfo;
          const mode = MODES[code[r.pc + 2]];
          r.pc += 3;
          const i = task.held.findIndex((h) => h.info === info);
          const h = task.held[i];
          task.held.splice(i, 1);
          info.metrics.hold.add(this.#now - h.since);
          (h.mode === "read" ? info.metrics.readHold : info.metrics.writeHold).add(
            this.#now - h.since,
          );
          if (h.units > info.metrics.maxWorkPerHold) info.metrics.maxWorkPerHold = h.units;
          const granted = info.state.release(task, mode);
          this.#log(task, `release ${info.name} ${mode}`);
          for (const w of granted) this.#wake(w, info);
          break;
        }
        case S_RCU_LOCK:
          r.pc++;
          if (task.rcuDepth++ === 0) {
            task.rcuSection = ++this.#sectionSeq;
            this.#activeSections.add(task.rcuSection);
            this.#log(task, "rcu-read-lock");
          }
          break;
        case S_RCU_UNLOCK:
          r.pc++;
          if (--task.rcuDepth === 0) {
            this.#log(task, "rcu-read-unlock");
            this.#endSection(task.rcuSection);
          }
          break;
        case S_CALL_RCU: {
          const fn = refs[code[r.pc + 1]] as () => void;
          r.pc += 2;
          this.#log(task, "call-rcu");
          this.#queueRcu(fn);
          break;
        }
        default:
          throw new Error(`Corrupt step code ${code[r.pc]} at ${r.pc}`);
      }
    }
    // Drop the references so that freed objects are not kept reachable by the step buffer.
    for (let i = 0; i < r.nrefs; i++) refs[i] = undefined;
    task.replay = null;
    this.#leaveCpu(task);
    this.#makeRunnable(task);
  }

  /**
   * Moves the clock straight to `t` when the event the step would schedule at `t` is certain to
   * be the next one to run: every pending event is strictly later and `t` is within the run's
   * limit. Events at the same time run in scheduling order, and the step's event would be the
   * newest, so an equal time must go through the queue. Returns whether the clock moved.
   */
  #skipTo(t: number): boolean {
    if (t < this.#events.nextTime && t <= this.#limit) {
      this.#now = t;
      return true;
    }
    return false;
  }

  #fire(tag: number, task: Task): void {
    if (tag === EV_ADVANCE) this.#advance(task);
    else if (tag === EV_RUNNABLE) this.#makeRunnable(task);
    else this.#begin(task);
  }

  #granted(task: Task, info: LockInfo, mode: LockMode, since: number): void {
    const now = this.#now;
    const m = info.metrics;
    if (mode === "read") m.readAcquisitions++;
    else m.writeAcquisitions++;
    const waited = now - since;
    m.wait.add(waited);
    (mode === "read" ? m.readWait : m.writeWait).add(waited);
    if (waited > 0) {
      m.contended++;
      task.lockWaitNs += waited;
      task.replay!.opLockWait += waited;
    }
    task.held.push({ info, mode, since: now, units: 0 });
    this.#log(task, `acquire ${info.name} ${mode}`);
  }

  #wake(w: LockWaiter<Task>, info: LockInfo): void {
    const task = w.owner;
    task.replay!.pc += 4; // past the S_ACQUIRE step it waited on
    this.#granted(task, info, w.mode, w.since);
    if (task.state === "spinning") {
      task.state = "running";
      this.#events.scheduleTagged(this.#now, EV_ADVANCE, task);
    } else {
      this.#events.scheduleTagged(this.#now + this.costs.wakeupNs, EV_RUNNABLE, task);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // RCU

  #queueRcu(fn: () => void): void {
    const cb: RcuCallback = { fn, waiting: this.#activeSections.size, timerDone: false };
    for (const id of this.#activeSections) {
      let list = this.#sectionWaiters.get(id);
      if (!list) this.#sectionWaiters.set(id, list = []);
      list.push(cb);
    }
    this.#rcuPending++;
    this.#events.schedule(this.#now + this.costs.rcuGracePeriodNs, () => {
      cb.timerDone = true;
      if (cb.waiting === 0) this.#fireRcu(cb);
    });
  }

  #endSection(id: number): void {
    this.#activeSections.delete(id);
    const list = this.#sectionWaiters.get(id);
    if (!list) return;
    this.#sectionWaiters.delete(id);
    for (const cb of list) {
      if (--cb.waiting === 0 && cb.timerDone) {
        this.#events.schedule(this.#now, () => this.#fireRcu(cb));
      }
    }
  }

  #fireRcu(cb: RcuCallback): void {
    this.#rcuPending--;
    this.#rcuRun++;
    if (this.#now !== this.#lastGpAt) {
      this.#gracePeriods++;
      this.#lastGpAt = this.#now;
    }
    this.#log(null, "rcu-callback");
    cb.fn();
  }
}
