/**
 * Types of the timed machine ({@link Machine} in `machine.ts`): the public task and option types,
 * and the internal records shared by the machine's modules (the step encoding of recorded
 * operations, tasks, CPUs, lock and operation accumulators). Only the types re-exported by
 * `machine.ts` are public API.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import { type Lock, type LockMode, OP_KINDS, type OpKind } from "./exec.ts";
import type { CostProfile } from "./cost_model.ts";
import type { Distribution } from "../lib/stats.ts";
import type { LockState, ReaderWakeup } from "./lock_state.ts";

/** Whether a task stands for a user process or a kernel thread. */
export type TaskKind = "user" | "kthread";

/**
 * What a task does next: an operation (whose `run` the machine calls at dispatch), a sleep of a
 * number of nanoseconds, or `null` when the task has finished.
 */
export type TaskAction = { op: OpKind; run: () => void } | { sleep: number } | null;

/**
 * Throws when `action`, returned by task `id`'s `next`, is neither a sleep of a finite number of
 * nanoseconds >= 0 nor an operation of a known kind with a `run` function.
 */
export function checkAction(id: number, action: object): void {
  if ("sleep" in action) {
    const ns = action.sleep;
    if (typeof ns !== "number" || !Number.isFinite(ns) || ns < 0) {
      throw new RangeError(`Task ${id} asked to sleep ${ns} ns; must be a finite number >= 0`);
    }
    return;
  }
  if (!("op" in action) || !("run" in action) || typeof action.run !== "function") {
    throw new TypeError(`Task ${id} returned an invalid action`);
  }
  if (!(OP_KINDS as readonly unknown[]).includes(action.op)) {
    throw new RangeError(`Task ${id} returned an unknown operation kind ${action.op}`);
  }
}

/** Description of a task given to `Machine.addTask`. */
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

/** Options of a `Machine`. */
export interface MachineOptions {
  /** Number of CPUs (default 8, like a phone SoC). */
  cpus?: number;
  /** Cost profile (default `DEFAULT_COST_PROFILE`); validated. */
  costs?: CostProfile;
  /** Record a timeline trace (default false). */
  trace?: boolean;
  /** Which queued rwsem readers a release wakes (default `"head"`). */
  readerWakeup?: ReaderWakeup;
}

/**
 * Recorded steps are encoded in a flat Float64Array (opcode, then operands) with the locks and
 * callbacks they refer to in a side array. A recording takes a pair of buffers from the
 * recorder's pool, hands them to the task for its replay, and the replay gives them back, so
 * recording and replaying an operation allocates nothing per step and only the operations in
 * flight hold buffers.
 *
 * - `S_OP_BEGIN kind` / `S_OP_END`: an operation's bounds (kind: index into OP_KINDS).
 * - `S_WORK+kind*16 units`: work (kind: index into the machine's work-kind table, in the
 *   opcode word above the low 4 bits); `S_WORK1+kind*16`: one unit of work, in one word (most
 *   work is one unit: a fork records several per VMA).
 * - `S_DELAY ns`: a fixed delay (lock acquisition and release costs).
 * - `S_ACQUIRE ref mode try` / `S_TRYLOCK_FAIL ref mode` / `S_RELEASE ref mode`: lock steps (ref:
 *   index of the LockInfo in the side array; mode: 0 read, 1 write; try: 0 or 1).
 * - `S_RCU_LOCK` / `S_RCU_UNLOCK` / `S_CALL_RCU ref` (ref: index of the callback).
 *
 * `Machine`'s replay switches on these values (the opcode word's low 4 bits) as literals (a jump
 * table), and its `#fire` on the event tags below: change both together
 * (tests/machine_timeline_test.ts pins them).
 */
export const S_OP_BEGIN = 0;
export const S_OP_END = 1;
export const S_WORK = 2;
export const S_DELAY = 3;
export const S_ACQUIRE = 4;
export const S_TRYLOCK_FAIL = 5;
export const S_RELEASE = 6;
export const S_RCU_LOCK = 7;
export const S_RCU_UNLOCK = 8;
export const S_CALL_RCU = 9;
export const S_WORK1 = 10;
/** The opcode is the low 4 bits of a step's first word (`S_WORK` and `S_WORK1` carry a kind). */
export const OP_BITS = 4;

export const MODES: readonly LockMode[] = ["read", "write"];

/**
 * Calls `fn(k, units, held)` for each work step of `code[from..to)` (a recording's steps, `refs`
 * its side array): `k` the work kind's index, `held` the classes of the locks held at that step,
 * starting from `held` as given (those held at `from`, innermost last) and following the steps'
 * acquisitions and releases (the array is changed in place). For work recorded but not replayed.
 *
 * @example Usage
 * ```ts ignore
 * forEachWork(r.code, r.refs, r.pc, r.n, [], (k, units, held) => less[k] += units);
 * ```
 */
export function forEachWork(
  code: Float64Array,
  refs: readonly unknown[],
  from: number,
  to: number,
  held: string[],
  fn: (k: number, units: number, held: readonly string[]) => void,
): void {
  const cls = (i: number): string => (refs[i] as LockInfo).state.lock.lockClass;
  for (let pc = from; pc < to;) {
    const w = code[pc] | 0;
    const s = w & 15;
    if (s === S_WORK) fn(w >> OP_BITS, code[pc + 1], held);
    else if (s === S_WORK1) fn(w >> OP_BITS, 1, held);
    else if (s === S_ACQUIRE) held.push(cls(code[pc + 1]));
    else if (s === S_RELEASE) {
      // Any lock of the class: the sums per class are the same.
      const i = held.lastIndexOf(cls(code[pc + 1]));
      if (i >= 0) held.splice(i, 1);
    } else if (!(s in STEP_WORDS)) throw new Error(`Corrupt step code ${code[pc]} at ${pc}`);
    pc += STEP_WORDS[s];
  }
}

/**
 * The work recorded but not yet replayed, by lock class (`null`: the total) and work-kind index:
 * the rest of each operation in flight, from the step its task has reached.
 *
 * @example Usage
 * ```ts ignore
 * const less = unreplayedWork(tasks).get(null); // units by kind index, or undefined
 * ```
 */
export function unreplayedWork(tasks: readonly Task[]): Map<string | null, number[]> {
  const less = new Map<string | null, number[]>();
  const add = (key: string | null, k: number, units: number): void => {
    let a = less.get(key);
    if (a === undefined) less.set(key, a = []);
    a[k] = (a[k] ?? 0) + units;
  };
  for (const task of tasks) {
    const r = task.replay;
    if (r === null || r.pc >= r.n) continue;
    const held: string[] = [];
    for (let i = 0; i < task.nheld; i++) held.push(task.held[i].info!.state.lock.lockClass);
    forEachWork(r.code, r.refs, r.pc, r.n, held, (k, units, cls) => {
      add(null, k, units);
      for (const c of cls) add(c, k, units);
    });
  }
  return less;
}

/** Words of each step kind (`S_WORK`: opcode and units; `S_RELEASE`: lock, mode, units). */
const STEP_WORDS: Record<number, number> = {
  [S_OP_BEGIN]: 2,
  [S_OP_END]: 1,
  [S_WORK]: 2,
  [S_DELAY]: 2,
  [S_ACQUIRE]: 4,
  [S_TRYLOCK_FAIL]: 3,
  [S_RELEASE]: 4,
  [S_RCU_LOCK]: 1,
  [S_RCU_UNLOCK]: 1,
  [S_CALL_RCU]: 2,
  [S_WORK1]: 1,
};

/** Index of each operation kind in OP_KINDS. */
export const OP_INDEX = Object.fromEntries(OP_KINDS.map((k, i) => [k, i])) as Record<
  OpKind,
  number
>;

/** Tags of the machine's events (see `EventQueue.scheduleTagged`); the argument is a task. */
export const EV_ADVANCE = 0;
export const EV_RUNNABLE = 1;
export const EV_BEGIN = 2;

/** The step buffer of a recording or replay that has none (buffers come from a pool). */
export const NO_CODE: Float64Array = new Float64Array(0);
/** The side array of a recording or replay that has none; never written. */
export const NO_REFS: readonly unknown[] = Object.freeze([]);

export interface Recording {
  code: Float64Array;
  n: number;
  refs: unknown[];
  nrefs: number;
  defaultKind: OpKind;
  open: boolean;
  explicit: boolean;
  kind: OpKind;
  segments: number;
  rcuDepth: number;
  /** Locks taken by this operation and not yet released: `held[0..nheld)`, in acquisition order. */
  held: (Lock | null)[];
  /** The state of each held lock (`heldInfo[i]` that of `held[i]`). */
  heldInfo: (LockInfo | null)[];
  nheld: number;
}

/** The machine's state of one lock and the accumulator of its class. */
export interface LockInfo {
  readonly state: LockState<Task>;
  /** `class[i]`, for the trace. */
  readonly name: string;
  readonly metrics: ClassAccumulator;
}

export interface ClassAccumulator {
  kind: Lock["kind"];
  /** Locks of the class seen so far (the next one's index in its name, `class[i]`). */
  locks: number;
  readAcquisitions: number;
  writeAcquisitions: number;
  trylockFailures: number;
  contended: number;
  lateTrylocks: number;
  /**
   * Sum of every hold time, in arrival order. The hold times themselves are those of
   * `readHold` and `writeHold` (every hold is one or the other): the distribution of all holds
   * is their union, made when the figures are read.
   */
  holdSum: number;
  readHold: Distribution;
  writeHold: Distribution;
  /** Sum of every wait, in arrival order; the waits are those of `readWait` and `writeWait`. */
  waitSum: number;
  readWait: Distribution;
  writeWait: Distribution;
  maxWorkPerHold: number;
}

/** A lock a task holds while its operation is replayed (records are reused by the task). */
export interface Held {
  /** The lock, or null in a spare record. */
  info: LockInfo | null;
  /** Held in write mode (a spinlock or mutex always is). */
  write: boolean;
  since: number;
}

export interface Replay {
  code: Float64Array;
  refs: unknown[];
  /** End of the recorded code. */
  n: number;
  /** Number of refs used (cleared when the replay ends, so nothing stays reachable). */
  nrefs: number;
  pc: number;
  opKind: OpKind | null;
  /** Index of `opKind` in OP_KINDS (meaningful while `opKind` is set). */
  opIndex: number;
  opStart: number;
  opLockWait: number;
}

export interface Cpu {
  id: number;
  task: Task | null;
  lastTask: number | null;
  busyNs: number;
  busySince: number;
}

/** The time `c` has run tasks by simulated time `now` (closed stretches and the current one). */
export function cpuBusyNs(c: Cpu, now: number): number {
  return c.busyNs + (c.task ? now - c.busySince : 0);
}

/** The CPUs' busy time summed at simulated time `now`. */
export function busyAt(cpus: readonly Cpu[], now: number): number {
  let busy = 0;
  for (const c of cpus) busy += cpuBusyNs(c, now);
  return busy;
}

export interface Task {
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
  /** Locks held, innermost last: `held[0..nheld)`; later entries are spare records. */
  held: Held[];
  nheld: number;
  ops: number;
  cpuNs: number;
  lockWaitNs: number;
  runnableWaitNs: number;
  finishedAt: number | null;
}

export interface RcuCallback {
  fn: () => void;
  waiting: number;
  timerDone: boolean;
}

export interface OpAccumulator {
  count: number;
  latency: Distribution;
  lockWait: Distribution;
}

/**
 * A new task record for `spec`, runnable from `now`.
 *
 * @example Usage
 * ```ts
 * import { newTask } from "./machine_types.ts";
 * const t = newTask({ id: 1, name: "a", kind: "user", next: () => null }, 0);
 * if (t.state !== "new") throw new Error();
 * ```
 */
export function newTask(spec: TaskSpec, now: number): Task {
  return {
    spec,
    state: "new",
    cpu: null,
    lastCpu: null,
    replay: null,
    rp: {
      code: NO_CODE,
      refs: NO_REFS as unknown[],
      n: 0,
      nrefs: 0,
      pc: 0,
      opKind: null,
      opIndex: -1,
      opStart: 0,
      opLockWait: 0,
    },
    runnableSince: now,
    cpuSince: 0,
    rcuDepth: 0,
    rcuSection: 0,
    held: [],
    nheld: 0,
    ops: 0,
    cpuNs: 0,
    lockWaitNs: 0,
    runnableWaitNs: 0,
    finishedAt: null,
  };
}

/**
 * A first-in first-out queue in a ring buffer: taking from the head allocates nothing (an array's
 * `shift` down to empty drops its storage, and the next `push` allocates it again).
 *
 * @example Usage
 * ```ts
 * import { Fifo } from "./machine_types.ts";
 * const q = new Fifo<string>();
 * q.push("a");
 * q.push("b");
 * if (q.shift() !== "a" || q.peek() !== "b" || q.length !== 1) throw new Error();
 * ```
 */
export class Fifo<T> {
  #buf: (T | undefined)[] = new Array(16);
  #head = 0;
  /** Number of queued items. */
  length = 0;

  /** Appends `x` at the tail. */
  push(x: T): void {
    if (this.length === this.#buf.length) this.#grow();
    this.#buf[(this.#head + this.length++) & (this.#buf.length - 1)] = x;
  }

  /** The head item (the queue must not be empty). */
  peek(): T {
    return this.#buf[this.#head] as T;
  }

  /** Removes and returns the head item (the queue must not be empty). */
  shift(): T {
    const x = this.#buf[this.#head] as T;
    this.#buf[this.#head] = undefined;
    this.#head = (this.#head + 1) & (this.#buf.length - 1);
    this.length--;
    return x;
  }

  #grow(): void {
    const old = this.#buf;
    const buf: (T | undefined)[] = new Array(old.length * 2);
    for (let i = 0; i < this.length; i++) buf[i] = old[(this.#head + i) & (old.length - 1)];
    this.#buf = buf;
    this.#head = 0;
  }
}

/**
 * Takes the hold of `info` out of `task`'s held locks (`held[0..nheld)`, one fewer after) and
 * returns its record, kept for reuse at the free end (`held[nheld]`). The holds after it move
 * down one place.
 */
export function dropHeld(task: Task, info: LockInfo): Held {
  const held = task.held;
  const nh = task.nheld - 1;
  let i = nh;
  while (held[i].info !== info) i--;
  const h = held[i];
  for (let j = i; j < nh; j++) held[j] = held[j + 1];
  held[nh] = h;
  task.nheld = nh;
  h.info = null;
  return h;
}
