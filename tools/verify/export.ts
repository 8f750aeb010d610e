/**
 * `cli.ts export --workload W`: writes a small instance of a workload as a verify scenario, so
 * the same workload can be replayed on a real (patched) kernel and compared with the model.
 *
 * The workload runs unchanged against a recording kernel: a subclass of `Kernel` whose system
 * calls (spawn, fork, exit, execve, mmap, munmap, mprotect, madvise, mremap, brk, touch) call the
 * real ones and append what happened to a log. No workload file is edited. A small scheduler
 * (sleeps advance a clock; every operation takes one nanosecond; ties go to the older task)
 * runs the workload's tasks; the recorder's daemons (reclaim, migration) are not started, since
 * they make no system calls.
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
  MADV_DOFORK,
  MADV_DONTFORK,
  MADV_DONTNEED,
  MADV_KEEPONFORK,
  MADV_WIPEONFORK,
  MAP_FIXED,
  MAP_SHARED,
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
  type WorkloadEnv,
} from "../../mod.ts";
import { MAX_FILES, MAX_OFFSET, MAX_PROCS, protText } from "./scenario.ts";

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
    expect: string;
  }
  | { op: "munmap"; mm: Mm; addr: number; len: number; expect: string }
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
  | { op: "touch"; mm: Mm; addr: number; write: boolean; expect: string };

const ADVICE_NAME: Record<number, string> = {
  [MADV_DONTNEED]: "dontneed",
  [MADV_DONTFORK]: "dontfork",
  [MADV_DOFORK]: "dofork",
  [MADV_WIPEONFORK]: "wipeonfork",
  [MADV_KEEPONFORK]: "keeponfork",
};

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
          : null,
    );
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
    if (r.op === "map" || r.op === "munmap" || r.op === "mprotect" || r.op === "madvise") {
      addRange(r.addr, r.len);
    } else if (r.op === "mremap") {
      addRange(r.addr, Math.max(r.oldLen, r.newLen));
      if (r.to !== null) addRange(r.to, r.newLen);
    } else if (r.op === "touch") addRange(r.addr, P);
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
          }${file}${r.fixed ? " fixed" : ""}${opt(r.expect)}`,
        );
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
    `scenario export-${opts.workload}`,
    `source workload ${opts.workload} (${paramText})`,
    ...[...fileNames].map(([f, n]) => `file ${n} ${fileSize.get(f)}`),
  ];
  return [...head, ...lines, "measure end", ""].join("\n");
}
