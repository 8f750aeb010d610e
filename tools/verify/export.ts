/**
 * `cli.ts export --workload W`: writes a small instance of a workload as a verify scenario, so
 * the same workload can be replayed on a real (patched) kernel and compared with the model.
 *
 * The workload runs unchanged against a recording kernel: a subclass of `Kernel` whose system calls
 * (spawn, fork, exit, execve, mmap, munmap, mprotect, madvise, process_madvise, mlock, mlock2,
 * munlock, mlockall, munlockall, mremap, brk, touch, and the ioctls of a userfaultfd) call the real
 * ones and append what happened to a log. Calls the scenario language cannot express (KSM's
 * MADV_MERGEABLE/UNMERGEABLE, whose merges depend on page contents the log does not keep; mlockall with flags the language has no word for;
 * a process_madvise vector of more than four ranges that did not succeed whole, or with ranges
 * outside the arena) are left out and counted in the scenario's header, never dropped silently. No
 * workload file is edited. A small scheduler (sleeps advance a clock; every operation takes one
 * nanosecond; ties go to the older task) runs the workload's tasks; the recorder's daemons
 * (reclaim, migration) are not started, since they make no system calls.
 *
 * The log is then written in the scenario language: the addresses the workload used are packed
 * into the arena (clusters of mappings closer than {@link CLUSTER_GAP_PAGES} pages keep their
 * exact relative layout; clusters are laid out one after the other, that many pages apart), heap
 * addresses become `h<n>`, touches of the execve stack (which the host cannot reproduce) are
 * dropped with a comment, consecutive touches of adjacent pages are joined.
 *
 * @module
 */

import {
  type Access,
  createScheme,
  getWorkload,
  Kernel,
  type MadviseRange,
  MAP_FIXED,
  MAP_LOCKED,
  MAP_NORESERVE,
  MAP_POPULATE,
  MAP_SHARED,
  MAP_STACK,
  MLOCK_ONFAULT,
  type Mm,
  MREMAP_DONTUNMAP,
  MREMAP_FIXED,
  PAGE_SIZE,
  type ParamValue,
  Random,
  resolveParams,
  type SimFile,
  type Step,
  SyscallError,
  type TaskScript,
  UFFDIO_COPY_MODE_DONTWAKE,
  UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES,
  UFFDIO_REGISTER_MODE_MISSING,
  type Userfaultfd,
  type WorkloadEnv,
} from "../../mod.ts";
import { ADVICE_VALUE, MAX_FILES, MAX_IOV, MAX_OFFSET, MAX_PROCS, protText } from "./scenario.ts";

/** Pages between two clusters of mappings in an exported scenario (and the arena margin). */
export const CLUSTER_GAP_PAGES = 64;

/**
 * Parameters that make a small instance of a workload, applied before the user's `--param`s.
 * Each keeps the workload's shape (the same kinds of steps) at a size a real kernel replays in
 * well under a second per run.
 */
export const SMALL_INSTANCE: Readonly<Record<string, Readonly<Record<string, ParamValue>>>> = {
  "fork-storm": { mode: "tree", depth: 2, fanout: 2, regions: 2, pages: 4, rounds: 1 },
  "server-prefork": {
    heapPages: 8,
    backends: 2,
    connections: 3,
    queries: 2,
    sharedBuffersPages: 8,
    workMemPages: 4,
  },
  "android-launch": {
    scale: 0.001,
    launches: 1,
    processesPerLaunch: 1,
    bootAppProcesses: 1,
    nativeDaemons: 1,
    gcCycles: 1,
  },
};

type Rec =
  | { op: "spawn" | "exit" | "execve"; mm: Mm }
  | { op: "fork"; mm: Mm; child: Mm }
  | {
    op: "map";
    mm: Mm;
    addr: number;
    len: number;
    prot: number;
    shared: boolean;
    file: SimFile | null;
    pgoff: number;
    fixed: boolean;
    /** The scenario's map options for the other flags (stack, noreserve, populate, locked). */
    extra: string;
    expect: string;
  }
  | { op: "munmap"; mm: Mm; addr: number; len: number; expect: string }
  | {
    op: "mlock";
    mm: Mm;
    addr: number;
    len: number;
    mode: "lock" | "onfault" | "unlock";
    expect: string;
  }
  | {
    op: "pmadvise";
    mm: Mm;
    target: Mm;
    iov: MadviseRange[];
    advice: string;
    /** The outcome: OK, ADVISED:<pages> or an errno. */
    expect: string;
  }
  /** mlockall with its MCL_* flags, or munlockall (flags 0). */
  | { op: "mlockall"; mm: Mm; flags: number; expect: string }
  /** A call the language cannot express (see the module doc), by name. */
  | { op: "left-out"; what: string }
  | { op: "mprotect"; mm: Mm; addr: number; len: number; prot: number; expect: string }
  | { op: "madvise"; mm: Mm; addr: number; len: number; advice: string; expect: string }
  | {
    op: "mremap";
    mm: Mm;
    addr: number;
    oldLen: number;
    newLen: number;
    to: number | null;
    dontunmap: boolean;
    expect: string;
  }
  | { op: "brk"; mm: Mm; pages: number; expect: string }
  | { op: "touch"; mm: Mm; addr: number; write: boolean; expect: string }
  /** UFFDIO_REGISTER (missing mode) or UFFDIO_UNREGISTER. */
  | { op: "uffd"; mm: Mm; addr: number; len: number; unregister: boolean; expect: string }
  /** UFFDIO_COPY (`zero` false) or UFFDIO_ZEROPAGE. */
  | { op: "uffd_fill"; mm: Mm; addr: number; len: number; zero: boolean; expect: string }
  /** UFFDIO_MOVE (`holes`: ALLOW_SRC_HOLES; DONTWAKE has nothing to wake in a scenario). */
  | {
    op: "uffd_move";
    mm: Mm;
    addr: number;
    src: number;
    len: number;
    holes: boolean;
    expect: string;
  };

/** The language's advice names by value, but KSM's (see the module doc). */
const ADVICE_NAME: Record<number, string> = Object.fromEntries(
  Object.entries(ADVICE_VALUE).filter(([n]) => n !== "mergeable" && n !== "unmergeable").map((
    [n, v],
  ) => [v, n]),
);

/** A Kernel that logs every system call it serves (the workload sees the plain Kernel API). */
class RecordingKernel extends Kernel {
  readonly log: Rec[] = [];
  readonly files: SimFile[] = [];
  #try<T>(fn: () => T, rec: (expect: string, r: T | null) => Rec | null): T {
    try {
      const r = fn();
      const x = rec("OK", r);
      if (x) this.log.push(x);
      return r;
    } catch (e) {
      if (e instanceof SyscallError) {
        const x = rec(e.errno, null);
        if (x) this.log.push(x);
      }
      throw e;
    }
  }
  override createFile(name: string, sizePages: number, shmem = false): SimFile {
    const f = super.createFile(name, sizePages, shmem);
    if (!shmem) this.files.push(f);
    return f;
  }
  override spawn(): Mm {
    const mm = super.spawn();
    this.log.push({ op: "spawn", mm });
    return mm;
  }
  override fork(parent: Mm): Mm {
    const child = super.fork(parent);
    this.log.push({ op: "fork", mm: parent, child });
    return child;
  }
  override exit(mm: Mm): void {
    super.exit(mm);
    this.log.push({ op: "exit", mm });
  }
  override execve(mm: Mm): Mm {
    const nm = super.execve(mm);
    this.log.push({ op: "execve", mm });
    this.log.push({ op: "spawn", mm: nm }); // marks the new mm as the same process (see below)
    return nm;
  }
  override mmap(
    mm: Mm,
    addr: number,
    len: number,
    prot: number,
    flags: number,
    file: SimFile | null = null,
    offset = 0,
  ): number {
    return this.#try(
      () => super.mmap(mm, addr, len, prot, flags, file, offset),
      (expect, r) => ({
        op: "map",
        mm,
        addr: r ?? addr,
        len,
        prot,
        shared: (flags & MAP_SHARED) !== 0,
        file,
        pgoff: offset / PAGE_SIZE,
        fixed: (flags & MAP_FIXED) !== 0,
        extra: (flags & MAP_STACK ? " stack" : "") + (flags & MAP_NORESERVE ? " noreserve" : "") +
          (flags & MAP_POPULATE ? " populate" : "") + (flags & MAP_LOCKED ? " locked" : ""),
        expect,
      }),
    );
  }
  override munmap(mm: Mm, addr: number, len: number): void {
    this.#try(
      () => super.munmap(mm, addr, len),
      (expect) => ({ op: "munmap", mm, addr, len, expect }),
    );
  }
  override mprotect(mm: Mm, addr: number, len: number, prot: number): void {
    this.#try(
      () => super.mprotect(mm, addr, len, prot),
      (expect) => ({ op: "mprotect", mm, addr, len, prot, expect }),
    );
  }
  override madvise(mm: Mm, addr: number, len: number, advice: number): void {
    this.#try(
      () => super.madvise(mm, addr, len, advice),
      (expect) =>
        ADVICE_NAME[advice]
          ? { op: "madvise", mm, addr, len, advice: ADVICE_NAME[advice], expect }
          : { op: "left-out", what: `madvise(${advice})` },
    );
  }
  override processMadvise(
    caller: Mm,
    target: Mm,
    iov: readonly MadviseRange[],
    advice: number,
    flags = 0,
  ): number {
    return this.#try(
      () => super.processMadvise(caller, target, iov, advice, flags),
      (expect, r) => {
        if (!ADVICE_NAME[advice] || flags !== 0) return { op: "left-out", what: "process_madvise" };
        const total = iov.reduce((n, x) => n + x.len, 0);
        const outcome = r === null ? expect : r === total ? "OK" : `ADVISED:${r / PAGE_SIZE}`;
        return {
          op: "pmadvise",
          mm: caller,
          target,
          iov: iov.map((x) => ({ ...x })),
          advice: ADVICE_NAME[advice],
          expect: outcome,
        };
      },
    );
  }
  override mlock(mm: Mm, addr: number, len: number): void {
    this.#try(
      () => super.mlock(mm, addr, len),
      (expect) => ({ op: "mlock", mm, addr, len, mode: "lock", expect }),
    );
  }
  override mlock2(mm: Mm, addr: number, len: number, flags: number): void {
    this.#try(
      () => super.mlock2(mm, addr, len, flags),
      (expect) =>
        flags === 0 || flags === MLOCK_ONFAULT
          ? { op: "mlock", mm, addr, len, mode: flags ? "onfault" : "lock", expect }
          : { op: "left-out", what: "mlock2" },
    );
  }
  override munlock(mm: Mm, addr: number, len: number): void {
    this.#try(
      () => super.munlock(mm, addr, len),
      (expect) => ({ op: "mlock", mm, addr, len, mode: "unlock", expect }),
    );
  }
  override mlockall(mm: Mm, flags: number): void {
    this.#try(
      () => super.mlockall(mm, flags),
      (expect) =>
        flags > 0 && (flags & ~7) === 0
          ? { op: "mlockall", mm, flags, expect }
          : { op: "left-out", what: "mlockall" },
    );
  }
  override munlockall(mm: Mm): void {
    this.#try(() => super.munlockall(mm), (expect) => ({ op: "mlockall", mm, flags: 0, expect }));
  }
  override mremap(
    mm: Mm,
    oldAddr: number,
    oldLen: number,
    newLen: number,
    flags: number,
    newAddr = 0,
  ): number {
    return this.#try(
      () => super.mremap(mm, oldAddr, oldLen, newLen, flags, newAddr),
      (expect, r) => {
        // A move chosen by the kernel is replayed as a fixed move to where it went.
        const moved = r !== null && r !== oldAddr;
        const to = flags & MREMAP_FIXED ? newAddr : moved ? r : null;
        return {
          op: "mremap",
          mm,
          addr: oldAddr,
          oldLen,
          newLen,
          to,
          dontunmap: (flags & MREMAP_DONTUNMAP) !== 0,
          expect,
        };
      },
    );
  }
  /**
   * `userfaultfd`: the context's ioctls are logged as they run (the scenario's process opens its
   * userfaultfd at its first uffd step, as this one is opened); another register mode and a close
   * before the process exits have no word in the language and are left out.
   */
  override userfaultfd(mm: Mm, features?: number): Userfaultfd {
    const u = super.userfaultfd(mm, features);
    const register = u.register.bind(u), unregister = u.unregister.bind(u);
    const move = u.move.bind(u), close = u.close.bind(u);
    const copy = u.copy.bind(u), zeropage = u.zeropage.bind(u);
    u.register = (start, len, mode = UFFDIO_REGISTER_MODE_MISSING) =>
      this.#try(
        () => register(start, len, mode),
        (expect) =>
          mode === UFFDIO_REGISTER_MODE_MISSING
            ? { op: "uffd", mm, addr: start, len, unregister: false, expect }
            : { op: "left-out", what: "UFFDIO_REGISTER mode" },
      );
    u.unregister = (start, len) =>
      this.#try(
        () => unregister(start, len),
        (expect) => ({ op: "uffd", mm, addr: start, len, unregister: true, expect }),
      );
    u.move = (dst, src, len, mode = 0) =>
      this.#try(() => move(dst, src, len, mode), (expect) => ({
        op: "uffd_move",
        mm,
        addr: dst,
        src,
        len,
        holes: (mode & UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES) !== 0,
        expect,
      }));
    // DONTWAKE has nothing to wake in a scenario; COPY's WP mode has no word (EINVAL anyway).
    u.copy = (dst, len, mode = 0) =>
      this.#try(
        () => copy(dst, len, mode),
        (expect) =>
          (mode & ~UFFDIO_COPY_MODE_DONTWAKE) === 0
            ? { op: "uffd_fill", mm, addr: dst, len, zero: false, expect }
            : { op: "left-out", what: "UFFDIO_COPY mode" },
      );
    u.zeropage = (dst, len, mode = 0) =>
      this.#try(
        () => zeropage(dst, len, mode),
        (expect) => ({ op: "uffd_fill", mm, addr: dst, len, zero: true, expect }),
      );
    u.close = () => {
      close();
      this.log.push({ op: "left-out", what: "userfaultfd close" });
    };
    return u;
  }
  override brk(mm: Mm, newBrk: number): number {
    const r = super.brk(mm, newBrk);
    const pages = Math.ceil((newBrk - mm.startBrk) / PAGE_SIZE);
    if (pages >= 0) this.log.push({ op: "brk", mm, pages, expect: r === newBrk ? "OK" : "ENOMEM" });
    return r;
  }
  override touch(mm: Mm, addr: number, access: Access): void {
    this.#try(
      () => super.touch(mm, addr, access),
      (expect) => ({ op: "touch", mm, addr, write: access === "write", expect }),
    );
  }
}

/** Options of {@link exportWorkload}. */
export interface ExportOptions {
  /** Workload id. */
  workload: string;
  /** Parameter overrides (on top of {@link SMALL_INSTANCE}). */
  params?: Readonly<Record<string, ParamValue>>;
  /** Seed (default 1). */
  seed?: number;
  /** Largest number of steps accepted (default 4000). */
  maxSteps?: number;
}

/** Runs the workload against a recording kernel and returns its system calls. */
function record(opts: ExportOptions): { k: RecordingKernel; params: Record<string, ParamValue> } {
  const w = getWorkload(opts.workload);
  const params = resolveParams(w, { ...(SMALL_INSTANCE[w.id] ?? {}), ...(opts.params ?? {}) });
  const k = new RecordingKernel({ scheme: createScheme("anon_vma") });
  const rng = new Random(opts.seed ?? 1).fork(`workload:${w.id}`);
  interface Task {
    id: number;
    kind: "user" | "kthread";
    script: TaskScript;
    wake: number;
    done: boolean;
  }
  const tasks: Task[] = [];
  let now = 0;
  const env: WorkloadEnv = {
    kernel: k,
    rng,
    params,
    addTask: (_name, kind, script) => {
      tasks.push({ id: tasks.length, kind, script, wake: now, done: false });
    },
    now: () => now,
    note: () => {},
    table: () => {},
    mark: () => {},
  };
  w.setup(env);
  const limit = (opts.maxSteps ?? 4000) * 64;
  for (let n = 0;; n++) {
    if (!tasks.some((t) => t.kind === "user" && !t.done)) break;
    if (n > limit) {
      throw new Error(`workload ${w.id} did not finish within ${limit} scheduler steps`);
    }
    let t: Task | null = null;
    for (const x of tasks) if (!x.done && (!t || x.wake < t.wake)) t = x;
    now = Math.max(now, t!.wake);
    const r = t!.script.next();
    if (r.done) {
      t!.done = true;
      continue;
    }
    const step = r.value as Step;
    if ("sleep" in step) t!.wake = now + step.sleep;
    else {
      step.run();
      t!.wake = now + 1;
    }
    if (k.log.length > (opts.maxSteps ?? 4000) * 8) {
      throw new Error(
        `workload ${w.id} makes too many system calls for a scenario; choose smaller --param values`,
      );
    }
  }
  return { k, params };
}

/**
 * Exports a small instance of a workload as scenario text.
 *
 * @example Usage
 * ```ts ignore
 * import { exportWorkload } from "./export.ts";
 * console.log(exportWorkload({ workload: "fork-storm" }));
 * ```
 */
export function exportWorkload(opts: ExportOptions): string {
  const { k, params } = record(opts);
  const P = PAGE_SIZE;
  const maxSteps = opts.maxSteps ?? 4000;
  const startBrk = k.params.startBrk;
  const heapEnd = startBrk + (MAX_OFFSET + 1) * P;
  const stackLo = k.params.taskSize - k.params.stackPages * P;
  const isHeap = (a: number): boolean => a >= startBrk && a < heapEnd;
  const isStack = (a: number): boolean => a >= stackLo;
  // 1. Arena clusters over every range a mapping step names.
  const ranges: [number, number][] = [];
  const addRange = (a: number, len: number): void => {
    if (!isHeap(a) && !isStack(a)) ranges.push([a / P, Math.ceil((a + len) / P)]);
  };
  for (const r of k.log) {
    if (
      r.op === "map" || r.op === "munmap" || r.op === "mprotect" || r.op === "madvise" ||
      r.op === "mlock"
    ) {
      addRange(r.addr, r.len);
    } else if (r.op === "pmadvise") {
      for (const x of r.iov) addRange(x.base, x.len);
    } else if (r.op === "mremap") {
      addRange(r.addr, Math.max(r.oldLen, r.newLen));
      if (r.to !== null) addRange(r.to, r.newLen);
    } else if (r.op === "touch") addRange(r.addr, P);
    else if (r.op === "uffd" || r.op === "uffd_fill") addRange(r.addr, r.len);
    else if (r.op === "uffd_move") {
      addRange(r.addr, r.len);
      addRange(r.src, r.len);
    }
  }
  ranges.sort((a, b) => a[0] - b[0]);
  const clusters: { lo: number; hi: number; off: number }[] = [];
  for (const [lo, hi] of ranges) {
    const c = clusters[clusters.length - 1];
    if (c && lo <= c.hi + CLUSTER_GAP_PAGES) c.hi = Math.max(c.hi, hi);
    else clusters.push({ lo, hi, off: 0 });
  }
  let off = CLUSTER_GAP_PAGES;
  for (const c of clusters) {
    c.off = off;
    off += c.hi - c.lo + CLUSTER_GAP_PAGES;
  }
  if (off > MAX_OFFSET) {
    throw new Error(
      `the workload's mappings need ${off} arena pages, more than ${MAX_OFFSET}; choose smaller --param values`,
    );
  }
  const arena = (a: number): string => {
    if (isHeap(a)) return `h${(a - startBrk) / P}`;
    const pg = Math.floor(a / P);
    const c = clusters.find((x) => pg >= x.lo && pg <= x.hi)!;
    return String(c.off + pg - c.lo);
  };
  // 2. Processes and files.
  const names = new Map<Mm, string>();
  let nextProc = 0;
  const name = (mm: Mm): string => names.get(mm)!;
  const fileNames = new Map<SimFile, string>();
  const fileSize = new Map<SimFile, number>();
  for (const r of k.log) {
    if (r.op === "map" && r.file && !r.file.shmem) {
      if (!fileNames.has(r.file)) {
        if (fileNames.size >= MAX_FILES) throw new Error(`more than ${MAX_FILES} files`);
        fileNames.set(r.file, `F${fileNames.size}`);
      }
      fileSize.set(
        r.file,
        Math.max(fileSize.get(r.file) ?? 1, r.pgoff + Math.ceil(r.len / P)),
      );
    }
  }
  // 3. Steps.
  const lines: string[] = [];
  let dropped = 0;
  const leftOut = new Map<string, number>();
  const leave = (what: string): void => void leftOut.set(what, (leftOut.get(what) ?? 0) + 1);
  let pendingExecve: string | null = null;
  const opt = (expect: string): string => (expect === "OK" ? "" : ` expect=${expect}`);
  let touch: { proc: string; start: number; pages: number; write: boolean; text: string } | null =
    null;
  const flush = (): void => {
    if (touch) {
      lines.push(`${touch.write ? "write" : "read"} ${touch.proc} ${touch.text} ${touch.pages}`);
      touch = null;
    }
  };
  for (const r of k.log) {
    if (r.op === "left-out") {
      leave(r.what);
      continue;
    }
    if (r.op === "spawn") {
      if (pendingExecve) {
        names.set(r.mm, pendingExecve);
        pendingExecve = null;
        continue;
      }
      const n = `P${nextProc++}`;
      names.set(r.mm, n);
      flush();
      lines.push(`spawn ${n}`);
      continue;
    }
    if (r.op === "touch") {
      if (isStack(r.addr)) {
        dropped++;
        continue;
      }
      if (r.expect !== "OK") {
        flush();
        lines.push(
          `${r.write ? "write" : "read"} ${name(r.mm)} ${arena(r.addr)} 1${opt(r.expect)}`,
        );
        continue;
      }
      const proc = name(r.mm);
      const pg = Math.floor(r.addr / P);
      if (
        touch && touch.proc === proc && touch.write === r.write &&
        pg === touch.start + touch.pages && !isHeap(r.addr) === !touch.text.startsWith("h")
      ) {
        touch.pages++;
        continue;
      }
      flush();
      touch = { proc, start: pg, pages: 1, write: r.write, text: arena(pg * P) };
      continue;
    }
    flush();
    switch (r.op) {
      case "fork": {
        const n = `P${nextProc++}`;
        names.set(r.child, n);
        lines.push(`fork ${name(r.mm)} ${n}`);
        break;
      }
      case "exit":
        lines.push(`exit ${name(r.mm)}`);
        break;
      case "execve":
        lines.push(`execve ${name(r.mm)}`);
        pendingExecve = name(r.mm);
        break;
      case "map": {
        const file = r.file && !r.file.shmem ? ` file=${fileNames.get(r.file)}:${r.pgoff}` : "";
        lines.push(
          `map ${name(r.mm)} ${arena(r.addr)} ${Math.ceil(r.len / P)} ${protText(r.prot)} ${
            r.shared ? "shared" : "private"
          }${file}${r.fixed ? " fixed" : ""}${r.extra}${opt(r.expect)}`,
        );
        break;
      }
      case "mlock":
        lines.push(
          `${r.mode === "unlock" ? "munlock" : "mlock"} ${name(r.mm)} ${arena(r.addr)} ${
            Math.ceil(r.len / P)
          }${r.mode === "onfault" ? " onfault" : ""}${opt(r.expect)}`,
        );
        break;
      case "mlockall": {
        const words = [r.flags & 1 ? " current" : "", r.flags & 2 ? " future" : ""].join("") +
          (r.flags & 4 ? " onfault" : "");
        lines.push(
          r.flags === 0
            ? `munlockall ${name(r.mm)}${opt(r.expect)}`
            : `mlockall ${name(r.mm)}${words}${opt(r.expect)}`,
        );
        break;
      }
      case "pmadvise": {
        // Arena ranges of whole pages only. A call that succeeded whole keeps its expressible
        // ranges (each range succeeds the same way without the others; ranges in the stack or
        // the heap are counted as left out) and is split into steps of MAX_IOV ranges; any other
        // call is expressed only when it fits as it is.
        const fits = (x: MadviseRange): boolean =>
          !isHeap(x.base) && !isStack(x.base) && x.base % P === 0 && x.len % P === 0;
        let iov = r.iov;
        if (r.expect === "OK") {
          iov = r.iov.filter(fits);
          for (let i = iov.length; i < r.iov.length; i++) leave("process_madvise range");
        } else if (!r.iov.every(fits) || r.iov.length > MAX_IOV) iov = [];
        if (iov.length === 0) {
          leave("process_madvise");
          break;
        }
        for (let i = 0; i < iov.length; i += MAX_IOV) {
          const ranges = iov.slice(i, i + MAX_IOV).map((x) => `${arena(x.base)}:${x.len / P}`);
          lines.push(
            `pmadvise ${name(r.mm)} ${name(r.target)} ${r.advice} ${ranges.join(" ")}${
              opt(r.expect)
            }`,
          );
        }
        break;
      }
      case "munmap":
        lines.push(`munmap ${name(r.mm)} ${arena(r.addr)} ${Math.ceil(r.len / P)}${opt(r.expect)}`);
        break;
      case "mprotect":
        lines.push(
          `mprotect ${name(r.mm)} ${arena(r.addr)} ${Math.ceil(r.len / P)} ${protText(r.prot)}${
            opt(r.expect)
          }`,
        );
        break;
      case "madvise":
        lines.push(
          `madvise ${name(r.mm)} ${arena(r.addr)} ${Math.ceil(r.len / P)} ${r.advice}${
            opt(r.expect)
          }`,
        );
        break;
      case "mremap":
        lines.push(
          `mremap ${name(r.mm)} ${arena(r.addr)} ${Math.ceil(r.oldLen / P)} ${
            Math.ceil(r.newLen / P)
          }${r.to !== null ? ` to=${arena(r.to)}` : ""}${r.dontunmap ? " dontunmap" : ""}${
            opt(r.expect)
          }`,
        );
        break;
      case "brk":
        lines.push(`brk ${name(r.mm)} ${r.pages}${opt(r.expect)}`);
        break;
      case "uffd":
      case "uffd_fill":
      case "uffd_move": {
        // The language's uffd steps take arena addresses only.
        const heap = isHeap(r.addr) || isStack(r.addr) ||
          (r.op === "uffd_move" && (isHeap(r.src) || isStack(r.src)));
        if (heap) {
          leave(
            r.op === "uffd_move"
              ? "UFFDIO_MOVE on the heap or stack"
              : "userfaultfd on the heap or stack",
          );
        } else if (r.op === "uffd_fill") {
          lines.push(
            `uffd_${r.zero ? "zeropage" : "copy"} ${name(r.mm)} ${arena(r.addr)} ${
              Math.ceil(r.len / P)
            }${opt(r.expect)}`,
          );
        } else if (r.op === "uffd") {
          lines.push(
            `uffd_${r.unregister ? "unregister" : "register"} ${name(r.mm)} ${arena(r.addr)} ${
              Math.ceil(r.len / P)
            }${opt(r.expect)}`,
          );
        } else {
          lines.push(
            `uffd_move ${name(r.mm)} ${arena(r.addr)} ${arena(r.src)} ${Math.ceil(r.len / P)}${
              r.holes ? " holes" : ""
            }${opt(r.expect)}`,
          );
        }
        break;
      }
    }
  }
  flush();
  if (nextProc > MAX_PROCS) {
    throw new Error(
      `the instance has ${nextProc} processes, more than ${MAX_PROCS}; choose smaller --param values`,
    );
  }
  if (lines.length > maxSteps) {
    throw new Error(
      `the instance has ${lines.length} steps, more than ${maxSteps}; choose smaller --param values`,
    );
  }
  const paramText = Object.entries(params).map(([key, v]) => `${key}=${v}`).join(" ");
  const head = [
    `# Exported by "cli.ts export --workload ${opts.workload}" (seed ${opts.seed ?? 1}).`,
    `# Parameters: ${paramText}`,
    `# Arena: ${clusters.length} cluster(s) of the workload's addresses, ${CLUSTER_GAP_PAGES} pages apart.`,
    ...(dropped
      ? [`# ${dropped} touch(es) of the execve stack dropped (not reproducible on a host).`]
      : []),
    ...(leftOut.size
      ? [
        `# Left out (the scenario language cannot express them): ${
          [...leftOut].sort((a, b) => a[0] < b[0] ? -1 : 1).map(([w, n]) => `${w} ${n}`).join(
            ", ",
          )
        }.`,
      ]
      : []),
    `scenario export-${opts.workload}`,
    `source workload ${opts.workload} (${paramText})`,
    ...[...fileNames].map(([f, n]) => `file ${n} ${fileSize.get(f)}`),
  ];
  return [...head, ...lines, "measure end", ""].join("\n");
}
