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
 * ## Stretches
 *
 * The work and delay steps between two steps another task can observe (a lock, RCU or operation
 * step) are one stretch. A task takes it step by step while its clock stays before the next
 * pending event; at the first step that would reach that event (or pass the run's limit) it runs
 * ahead over the rest of the stretch, and one event at the stretch's end resumes it. Events at
 * the same time run in the order they were scheduled, so of two tasks reaching a lock at the same
 * nanosecond, the one that began its stretch first goes first, however the work in the stretches
 * is divided into steps (the work reported by one `work(kind, n)` or by n calls of one unit).
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

import { type Exec, type ExecCounters, type LockMode, OP_KINDS } from "./exec.ts";
import { type CostProfile, DEFAULT_COST_PROFILE, validateCostProfile } from "./cost_model.ts";
import { EventQueue } from "./event_queue.ts";
import type { LockWaiter, ReaderWakeup } from "./lock_state.ts";
import type { MachineMetrics, TraceEntry } from "./metrics.ts";
import { Accounting, cpuMetrics, noteGrant, noteRelease, taskMetrics } from "./accounting.ts";
import { StepRecorder } from "./recording.ts";
import { Rcu } from "./rcu.ts";
import {
  busyAt,
  checkAction,
  type Cpu,
  dropHeld,
  EV_ADVANCE,
  EV_BEGIN,
  EV_RUNNABLE,
  Fifo,
  type LockInfo,
  type MachineOptions,
  MODES,
  newTask,
  type Task,
  type TaskSpec,
  type TaskState,
  unreplayedWork,
} from "./machine_types.ts";

export type { MachineOptions, TaskAction, TaskKind, TaskSpec, TaskState } from "./machine_types.ts";

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
  /** When the last operation ended, and the CPUs' busy time then (see `MachineMetrics`). */
  #lastOpEnd = 0;
  #busyAtLastOpEnd = 0;
  #events = new EventQueue((tag, arg) => this.#fire(tag, arg as Task));
  /** Latest time the current {@link Machine.run} may reach (Infinity without a limit). */
  #limit = Infinity;
  #cpus: Cpu[];
  #runQueue = new Fifo<Task>();
  #tasks: Task[] = [];
  #taskById = new Map<number, Task>();
  #acct: Accounting;
  #recorder: StepRecorder;
  #traceOn: boolean;
  #trace: TraceEntry[] = [];
  #running = false;
  #rcu: Rcu;

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
    this.#acct = new Accounting(this.readerWakeup);
    this.#recorder = new StepRecorder(this.costs, {
      lockInfo: (lock) => this.#acct.lockInfo(lock),
      queueRcu: (fn) => this.#rcu.queue(fn),
    });
    const r = this.#recorder;
    this.#rcu = new Rcu({
      now: () => this.#now,
      schedule: (time, fn) => void this.#events.schedule(time, fn),
      gracePeriodNs: () => this.costs.rcuGracePeriodNs,
      onCallback: () => this.#log(null, "rcu-callback"),
    });
    this.#cpus = Array.from({ length: cpus }, (_, id) => ({
      id,
      task: null,
      lastTask: null,
      busyNs: 0,
      busySince: 0,
    }));
    // The recorder is the Exec: the kernel's calls go straight to it.
    this.exec = r;
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
    const c = this.#recorder.counting.counters;
    c.gracePeriods = this.#rcu.gracePeriods;
    return c;
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
    const t = newTask(spec, this.#now);
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
      for (;;) {
        const t = events.nextTime;
        if (t > limit || t === Infinity) break; // Infinity: empty (event times are finite)
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

  /**
   * Everything measured so far, as plain data. Work figures count the work replayed so far (see
   * docs/model.md §12.3): the recording's counts less what is not yet, or never, replayed, kinds
   * in the order first counted.
   */
  metrics(): MachineMetrics {
    const now = this.#now;
    // Work figures: what the recording counted in operations (a replay takes exactly the
    // recorded steps) less the rest of the operations in flight.
    const less = unreplayedWork(this.#tasks), counting = this.#recorder.counting;
    return {
      elapsedNs: now,
      lastOpEndNs: this.#lastOpEnd,
      busyAtLastOpEndNs: this.#busyAtLastOpEnd,
      locks: this.#acct.lockMetrics((cls) => counting.timedWork(cls, less.get(cls))),
      ops: this.#acct.opMetrics(),
      cpus: cpuMetrics(this.#cpus, now),
      tasks: taskMetrics(this.#tasks, now),
      work: counting.timedWork(null, less.get(null)),
      gracePeriods: this.#rcu.gracePeriods,
      rcuCallbacks: this.#rcu.callbacksRun,
      rcuCallbacksPending: this.#rcu.pending,
      rcuLastCallbackNs: this.#rcu.lastCallbackAt,
    };
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
    const rq = this.#runQueue, cpus = this.#cpus;
    while (rq.length > 0) {
      const task = rq.peek();
      let cpu: Cpu | undefined;
      if (task.lastCpu !== null && cpus[task.lastCpu].task === null) cpu = cpus[task.lastCpu];
      else for (let i = 0; i < cpus.length && !cpu; i++) if (cpus[i].task === null) cpu = cpus[i];
      if (!cpu) return;
      rq.shift();
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
    checkAction(id, action);
    if ("sleep" in action) {
      const ns = action.sleep;
      if (this.#traceOn) this.#log(task, `sleep ${ns}`);
      this.#leaveCpu(task);
      task.state = "sleeping";
      this.#events.scheduleTagged(this.#now + ns, EV_RUNNABLE, task);
      return;
    }
    const rp = task.rp;
    const rec = this.#recorder;
    rec.start(action.op);
    let ok = false;
    try {
      action.run();
      rec.close();
      // An action that reported nothing (e.g. a touch of a page that is already mapped, which
      // takes no fault) is not an operation: it is not counted and takes no time.
      ok = true;
    } finally {
      rec.finish(ok ? rp : null);
    }
    task.replay = rp;
    this.#advance(task);
  }

  // ---------------------------------------------------------------------------------------------
  // Replay

  #advance(task: Task): void {
    // The switch uses the literal step codes of machine_types.ts (a jump table; pinned by a test).
    const r = task.replay!;
    const code = r.code;
    const refs = r.refs;
    const n = r.n;
    const acct = this.#acct;
    const price = this.#recorder.workPrice;
    // A step taking `ns` > 0 moves the clock to `t = now + ns` when its event at `t` would be the
    // next to run: every pending event strictly later (an equal one was scheduled first) and `t`
    // within the limit. `next` is kept while no step changes the queue (a release and RCU do).
    // Otherwise the task runs ahead (see "Stretches" in the module comment): `ahead` is then the
    // time its next step starts, and the work and delay steps that follow add to it, up to a step
    // of another kind or one that would start past the limit, where one event resumes the task.
    const events = this.#events;
    const limit = this.#limit;
    let next = events.nextTime;
    let ahead = -1; // < 0: not running ahead (times are >= 0)
    let pc = r.pc; // the program counter, written back to `r.pc` before every return
    while (pc < n) {
      const w = code[pc] | 0;
      if (ahead >= 0) {
        const s = w & 15; // S_WORK, S_WORK1 and S_DELAY only, each starting within the limit
        if ((s !== 2 && s !== 10 && s !== 3) || ahead > limit) break;
      }
      let ns = 0; // the time the step takes (work and delays)
      switch (w & 15) {
        case 2: // S_WORK
        case 10: { // S_WORK1
          const k = w >> 4; // above the opcode bits (OP_BITS); units follow, or 1 (S_WORK1)
          // Its units were counted when recorded (see `metrics`).
          if ((w & 15) === 2) {
            ns = price[k] * code[pc + 1];
            pc += 2;
          } else {
            ns = price[k];
            pc++;
          }
          break;
        }
        case 3: // S_DELAY
          ns = code[pc + 1];
          pc += 2;
          break;
        case 0: { // S_OP_BEGIN
          r.opIndex = code[pc + 1];
          const kind = OP_KINDS[r.opIndex];
          pc += 2;
          r.opKind = kind;
          r.opStart = this.#now;
          r.opLockWait = 0;
          if (this.#traceOn) this.#log(task, `begin ${kind}`);
          break;
        }
        case 1: { // S_OP_END
          pc++;
          const kind = r.opKind!;
          const a = acct.opAt(r.opIndex);
          a.count++;
          a.latency.add(this.#now - r.opStart);
          a.lockWait.add(r.opLockWait);
          task.ops++;
          r.opKind = null;
          this.#lastOpEnd = this.#now;
          this.#busyAtLastOpEnd = busyAt(this.#cpus, this.#now);
          if (this.#traceOn) this.#log(task, `end ${kind}`);
          break;
        }
        case 4: { // S_ACQUIRE
          const info = refs[code[pc + 1]] as LockInfo;
          const mode = MODES[code[pc + 2]];
          if (info.state.acquire(task, mode)) {
            pc += 4;
            r.pc = pc;
            this.#granted(task, info, mode, this.#now);
            break;
          }
          r.pc = pc;
          if (code[pc + 3] === 1) info.metrics.lateTrylocks++;
          info.state.enqueue({ owner: task, mode, since: this.#now });
          if (this.#traceOn) this.#log(task, `wait ${info.name} ${mode}`);
          if (info.state.spin) task.state = "spinning";
          else {
            task.state = "blocked";
            this.#leaveCpu(task);
          }
          return;
        }
        case 5: { // S_TRYLOCK_FAIL
          const info = refs[code[pc + 1]] as LockInfo;
          const mode = MODES[code[pc + 2]];
          pc += 3;
          info.metrics.trylockFailures++;
          if (this.#traceOn) this.#log(task, `trylock-fail ${info.name} ${mode}`);
          break;
        }
        case 6: { // S_RELEASE
          const info = refs[code[pc + 1]] as LockInfo;
          const mode = MODES[code[pc + 2]];
          const units = code[pc + 3]; // the work done under the hold
          pc += 4;
          r.pc = pc;
          const h = dropHeld(task, info);
          noteRelease(info.metrics, h.write, this.#now - h.since, units);
          const granted = info.state.releaseGranting(task, mode);
          if (this.#traceOn) this.#log(task, `release ${info.name} ${mode}`);
          for (let g = 0; g < granted.length; g++) this.#wake(granted[g], info);
          if (granted.length > 0) next = events.nextTime; // only a wake-up schedules
          break;
        }
        case 7: // S_RCU_LOCK
          pc++;
          if (task.rcuDepth++ === 0) {
            task.rcuSection = this.#rcu.beginSection();
            this.#log(task, "rcu-read-lock");
          }
          next = events.nextTime;
          break;
        case 8: // S_RCU_UNLOCK
          pc++;
          if (--task.rcuDepth === 0) {
            this.#log(task, "rcu-read-unlock");
            this.#rcu.endSection(task.rcuSection);
          }
          next = events.nextTime;
          break;
        case 9: { // S_CALL_RCU
          const fn = refs[code[pc + 1]] as () => void;
          pc += 2;
          this.#log(task, "call-rcu");
          this.#rcu.queue(fn);
          next = events.nextTime;
          break;
        }
        default:
          throw new Error(`Corrupt step code ${code[pc]} at ${pc}`);
      }
      // The clock moves on, or the task runs ahead (see `next`).
      if (ns > 0) {
        if (ahead >= 0) ahead += ns;
        else {
          const t = this.#now + ns;
          if (t < next && t <= limit) this.#now = t;
          else ahead = t;
        }
      }
    }
    r.pc = pc;
    if (ahead >= 0) {
      events.scheduleTagged(ahead, EV_ADVANCE, task);
      return;
    }
    // The buffers go back to the recorder's pool: only operations in flight hold step buffers.
    this.#recorder.recycle(r);
    task.replay = null;
    this.#leaveCpu(task);
    this.#makeRunnable(task);
  }

  #fire(tag: number, task: Task): void {
    if (tag === 0 /* EV_ADVANCE */) this.#advance(task);
    else if (tag === 1 /* EV_RUNNABLE */) this.#makeRunnable(task);
    else this.#begin(task);
  }

  #granted(task: Task, info: LockInfo, mode: LockMode, since: number): void {
    const now = this.#now;
    const m = info.metrics;
    const waited = now - since;
    noteGrant(m, mode === "read", waited);
    if (waited > 0) {
      task.lockWaitNs += waited;
      task.replay!.opLockWait += waited;
    }
    const n = task.nheld++;
    let h = task.held[n];
    if (h === undefined) task.held[n] = h = { info, write: false, since: 0 };
    h.info = info;
    h.write = mode !== "read";
    h.since = now;
    if (this.#traceOn) this.#log(task, `acquire ${info.name} ${mode}`);
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
}
