/**
 * The verify scenario language: parser, validation and lowering, shared by the host runner driver
 * (`host.ts`) and the model driver (`model.ts`), so the two cannot read a scenario differently.
 * The format is documented in `tools/verify/README.md`.
 *
 * Addresses are page offsets from the arena base (`12` = 12 pages above the base) or from the
 * process's `start_brk` (`h12`). Every arena step is applied to each copy of the arena; heap
 * steps and process steps (spawn, fork, exit, execve, brk) once.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

/** Where an address points. */
export type AddrKind = "arena" | "heap";

/** A page address of a scenario. */
export interface Addr {
  /** Arena (per copy) or heap (per process). */
  kind: AddrKind;
  /** Pages from the arena base or from `start_brk`. */
  page: number;
}

/** madvise advice names of the language. */
export const ADVICE = [
  "dontneed",
  "dontneed_locked",
  "dontfork",
  "dofork",
  "wipeonfork",
  "keeponfork",
  "mergeable",
  "unmergeable",
  "free",
  "hugepage",
  "nohugepage",
  "dontdump",
  "dodump",
  "cold",
  "pageout",
  "willneed",
  "normal",
  "random",
  "sequential",
  "guard_install",
  "guard_remove",
  "populate_read",
  "populate_write",
] as const;
/** An advice name. */
export type Advice = typeof ADVICE[number];

/** Linux x86_64 errno numbers of the outcomes a step may expect. */
export const ERRNO: Readonly<Record<string, number>> = {
  OK: 0,
  EPERM: 1,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EEXIST: 17,
  EINVAL: 22,
  ENOENT: 2,
  EAGAIN: 11,
  EBUSY: 16,
};

/** One step of a scenario (its source line is kept for messages). */
export type Step =
  & { line: number; text: string; expect: string }
  & (
    | { op: "spawn"; proc: string }
    | { op: "fork"; proc: string; child: string }
    | { op: "exit"; proc: string }
    | { op: "execve"; proc: string }
    | {
      op: "map";
      proc: string;
      addr: Addr;
      pages: number;
      prot: number;
      shared: boolean;
      file: { name: string; pgoff: number } | null;
      fixed: boolean;
      /** MAP_STACK (a thread stack: VM_NOHUGEPAGE on a kernel with THP). */
      stack: boolean;
      /** MAP_NORESERVE (VM_NORESERVE: not charged). */
      noreserve: boolean;
      /** MAP_POPULATE (the range is faulted in by mmap). */
      populate: boolean;
      /** MAP_LOCKED (VM_LOCKED, and the range is faulted in by mmap). */
      locked: boolean;
    }
    | { op: "munmap"; proc: string; addr: Addr; pages: number }
    | { op: "mprotect"; proc: string; addr: Addr; pages: number; prot: number }
    | { op: "madvise"; proc: string; addr: Addr; pages: number; advice: Advice }
    | {
      op: "pmadvise";
      /** The caller. */
      proc: string;
      /** The process whose ranges are advised (a pidfd of it). */
      target: string;
      advice: Advice;
      /** The vector: arena page and page count of each range (1 to {@link MAX_IOV}). */
      ranges: { page: number; pages: number }[];
    }
    | {
      op: "mlockall";
      proc: string;
      /** MCL_* flags for mlockall, or 0 for munlockall. */
      flags: number;
    }
    | {
      op: "mlock";
      proc: string;
      addr: Addr;
      pages: number;
      /** mlock, mlock2(MLOCK_ONFAULT) or munlock. */
      mode: "lock" | "onfault" | "unlock";
    }
    | {
      op: "mremap";
      proc: string;
      addr: Addr;
      oldPages: number;
      newPages: number;
      to: Addr | null;
      dontunmap: boolean;
    }
    | { op: "brk"; proc: string; pages: number }
    | {
      op: "touch";
      proc: string;
      addr: Addr;
      pages: number;
      write: boolean;
      /** The content id a write leaves in every page (`value=V`), or null for unique content. */
      value: number | null;
    }
    | { op: "resident"; proc: string; addr: Addr; pages: number }
    /** UFFDIO_REGISTER (missing mode) or UFFDIO_UNREGISTER on the process's userfaultfd. */
    | { op: "uffd"; proc: string; addr: Addr; pages: number; unregister: boolean }
    /** UFFDIO_MOVE of `pages` from `src` to `addr` (`holes`: ALLOW_SRC_HOLES). */
    | { op: "uffd_move"; proc: string; addr: Addr; src: Addr; pages: number; holes: boolean }
    /** UFFDIO_COPY (`zero` false) or UFFDIO_ZEROPAGE of `pages` at `addr`. */
    | { op: "uffd_fill"; proc: string; addr: Addr; pages: number; zero: boolean }
    | { op: "ksmd"; scans: number; proc: "" }
    | { op: "measure"; label: string; proc: "" }
  );

/** A parsed scenario. */
export interface Scenario {
  /** Name (unique in a suite). */
  name: string;
  /** Where the case comes from (kernel file and test), free text. */
  source: string;
  /** Notes (free text lines). */
  notes: string[];
  /**
   * A known, documented difference between the model and the kernel (a model bug not fixed yet
   * or a kernel version or configuration difference), or "" when none is known.
   */
  known: string;
  /** Declared files: name -> pages. */
  files: Map<string, number>;
  /** Processes in order of creation (their index in the lowered program). */
  procs: string[];
  /** The steps, ending with the implicit teardown (exits of the processes still alive). */
  steps: Step[];
  /** Number of steps written in the file (the rest are the implicit teardown). */
  written: number;
  /** File the scenario was read from (for messages). */
  origin: string;
}

/** Arena geometry shared by both sides: base page (16 TiB) and pages per copy (1 GiB). */
export const ARENA = { basePage: 2 ** 32, stridePages: 2 ** 18 } as const;
/** Largest page offset a scenario may use in the arena or the heap. */
export const MAX_OFFSET = 2 ** 18 - 1;
/** Largest number of processes in one scenario (runner.c MAX_PROCS). */
export const MAX_PROCS = 256;
/** Largest number of files in one scenario (runner.c MAX_FILES). */
export const MAX_FILES = 16;
/** Most ranges of one `pmadvise` step (what fits in one runner command). */
export const MAX_IOV = 4;
/** Outcome of a `pmadvise` step that advised fewer bytes than asked: `ADVISED:<pages>`. */
export const ADVISED = /^ADVISED:([0-9]+)$/;
/** Outcome of a `resident` step: `RESIDENT:<pages>` (mincore's resident pages of the range). */
export const RESIDENT = /^RESIDENT:([0-9]+)$/;
/** Most pages a `resident` step may ask about (runner.c's mincore vector). */
export const MAX_RESIDENT_PAGES = 4096;
/** Largest number of full scans of one `ksmd` step. */
export const MAX_KSMD_SCANS = 16;

/** A scenario file that does not parse: one line naming the file, line and problem. */
export class ScenarioError extends Error {
  /** Creates the error. */
  constructor(origin: string, line: number, msg: string) {
    super(`${origin}:${line}: ${msg}`);
    this.name = "ScenarioError";
  }
}

const OPS = [
  "spawn",
  "fork",
  "exit",
  "execve",
  "map",
  "munmap",
  "mprotect",
  "madvise",
  "pmadvise",
  "mlock",
  "munlock",
  "mlockall",
  "munlockall",
  "mremap",
  "brk",
  "write",
  "read",
  "resident",
  "uffd_register",
  "uffd_unregister",
  "uffd_move",
  "uffd_copy",
  "uffd_zeropage",
  "ksmd",
  "measure",
];

function parseProt(s: string): number | null {
  if (s === "none" || s === "-") return 0;
  if (!/^[rwx]+$/.test(s) || new Set(s).size !== s.length) return null;
  return (s.includes("r") ? 1 : 0) | (s.includes("w") ? 2 : 0) | (s.includes("x") ? 4 : 0);
}

/**
 * Parses every scenario of a text (a file may hold several, each starting with `scenario NAME`).
 * Throws a {@link ScenarioError} naming the line of the first problem.
 *
 * @example Usage
 * ```ts
 * import { parseScenarios } from "./scenario.ts";
 * const [s] = parseScenarios("scenario one\nspawn P0\nmap P0 0 4 rw private\nwrite P0 0 4\n");
 * if (s.steps.length !== 4) throw new Error("3 steps + the implicit exit");
 * ```
 */
export function parseScenarios(text: string, origin = "<text>"): Scenario[] {
  const out: Scenario[] = [];
  let cur: Scenario | null = null;
  let alive = new Set<string>();
  let known = new Set<string>();
  const finish = (): void => {
    if (!cur) return;
    if (cur.steps.length === 0) throw new ScenarioError(origin, 0, `scenario ${cur.name} is empty`);
    cur.written = cur.steps.length;
    // Implicit teardown: the processes still alive exit, the newest first; then, if the
    // scenario used KSM, one ksmd scan frees what exited mms left (their rmap items and the
    // anon_vmas these pin), so that the scenario ends with nothing left.
    for (const p of [...cur.procs].reverse()) {
      if (alive.has(p)) {
        cur.steps.push({
          op: "exit",
          proc: p,
          line: 0,
          text: `exit ${p} (teardown)`,
          expect: "OK",
        });
      }
    }
    if (cur.steps.some((s) => s.op === "madvise" && s.advice === "mergeable")) {
      cur.steps.push({
        op: "ksmd",
        scans: 1,
        proc: "",
        line: 0,
        text: "ksmd 1 (teardown)",
        expect: "OK",
      });
    }
    out.push(cur);
  };
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const ln = i + 1;
    const raw = lines[i];
    const line = raw.replace(/#.*$/, "").trim();
    if (line === "") continue;
    const fail = (msg: string): never => {
      throw new ScenarioError(origin, ln, msg);
    };
    const words = line.split(/\s+/);
    const head = words[0];
    if (head === "scenario") {
      finish();
      if (words.length !== 2 || !/^[A-Za-z0-9_.+-]+$/.test(words[1])) {
        fail("expected: scenario NAME (letters, digits, _ . + -)");
      }
      if (out.some((s) => s.name === words[1])) fail(`duplicate scenario ${words[1]}`);
      cur = {
        name: words[1],
        source: "",
        notes: [],
        known: "",
        files: new Map(),
        procs: [],
        steps: [],
        written: 0,
        origin,
      };
      alive = new Set();
      known = new Set();
      continue;
    }
    if (!cur) return fail(`"${head}" before the first "scenario NAME" line`);
    const sc: Scenario = cur;
    const rest = raw.replace(/#.*$/, "").trim().slice(head.length).trim();
    if (head === "source") {
      sc.source = sc.source ? `${sc.source}; ${rest}` : rest;
      continue;
    }
    if (head === "note") {
      sc.notes.push(rest);
      continue;
    }
    if (head === "known") {
      if (rest === "") fail("expected: known <why the model and the kernel differ here>");
      sc.known = sc.known ? `${sc.known}; ${rest}` : rest;
      continue;
    }
    if (head === "file") {
      if (words.length !== 3 || !/^F([0-9]|1[0-5])$/.test(words[1])) {
        fail("expected: file F<0-15> PAGES");
      }
      const n = Number(words[2]);
      if (!Number.isInteger(n) || n < 1 || n > MAX_OFFSET) fail(`bad file size ${words[2]}`);
      if (sc.files.has(words[1])) fail(`file ${words[1]} declared twice`);
      sc.files.set(words[1], n);
      continue;
    }
    if (!OPS.includes(head)) {
      fail(
        `unknown step "${head}"; valid: scenario, source, note, known, file, ${OPS.join(", ")}`,
      );
    }
    // Options (key=value or flags) come after the positional words.
    let expect = "OK";
    const pos: string[] = [];
    const opts = new Map<string, string>();
    for (const w of words.slice(1)) {
      const m = /^([a-z]+)=(.*)$/.exec(w);
      if (m) {
        if (opts.has(m[1])) fail(`option ${m[1]} given twice`);
        opts.set(m[1], m[2]);
      } else if (
        [
          "private",
          "shared",
          "fixed",
          "stack",
          "noreserve",
          "populate",
          "locked",
          "dontunmap",
          "onfault",
          "holes",
        ].includes(w) &&
        head !== "measure"
      ) {
        if (opts.has(w)) fail(`flag ${w} given twice`);
        opts.set(w, "");
      } else pos.push(w);
    }
    if (opts.has("expect")) {
      expect = opts.get("expect")!;
      if (
        !(expect in ERRNO) && !(head === "pmadvise" && ADVISED.test(expect)) &&
        !(head === "resident" && RESIDENT.test(expect))
      ) {
        fail(
          `bad expect=${expect}; valid: ${Object.keys(ERRNO).join(", ")}${
            head === "pmadvise"
              ? ", ADVISED:<pages>"
              : head === "resident"
              ? ", RESIDENT:<pages>"
              : ""
          }`,
        );
      }
      opts.delete("expect");
    }
    const allowOpts = (...names: string[]): void => {
      for (const k of opts.keys()) {
        if (!names.includes(k)) {
          fail(`option ${k} not valid for ${head}; valid: ${[...names, "expect"].join(", ")}`);
        }
      }
    };
    const nPos = (n: number, usage: string): void => {
      if (pos.length !== n) fail(`expected: ${usage}`);
    };
    const proc = (name: string, mustLive = true): string => {
      if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) fail(`bad process name "${name}"`);
      if (mustLive && !alive.has(name)) {
        fail(`process ${name} is not alive here${known.has(name) ? " (it exited)" : ""}`);
      }
      return name;
    };
    const num = (s: string, what: string, min = 0): number => {
      const n = Number(s);
      if (!/^[0-9]+$/.test(s) || !Number.isInteger(n) || n < min || n > MAX_OFFSET) {
        fail(`bad ${what} "${s}" (an integer in [${min}, ${MAX_OFFSET}])`);
      }
      return n;
    };
    const addr = (s: string): Addr => {
      if (s.startsWith("h")) return { kind: "heap", page: num(s.slice(1), "heap offset") };
      return { kind: "arena", page: num(s, "page offset") };
    };
    const prot = (s: string): number => {
      const p = parseProt(s);
      if (p === null) fail(`bad protection "${s}" (letters r, w, x, or none)`);
      return p!;
    };
    const base = { line: ln, text: line, expect };
    let step: Step;
    switch (head) {
      case "spawn": {
        nPos(1, "spawn PROC");
        allowOpts();
        const p = proc(pos[0], false);
        if (known.has(p)) fail(`process name ${p} already used`);
        step = { ...base, op: "spawn", proc: p };
        break;
      }
      case "fork": {
        nPos(2, "fork PARENT CHILD");
        allowOpts();
        const p = proc(pos[0]);
        const c = proc(pos[1], false);
        if (known.has(c)) fail(`process name ${c} already used`);
        step = { ...base, op: "fork", proc: p, child: c };
        break;
      }
      case "exit":
      case "execve":
        nPos(1, `${head} PROC`);
        allowOpts();
        step = { ...base, op: head, proc: proc(pos[0]) };
        break;
      case "map": {
        nPos(
          4,
          "map PROC ADDR PAGES PROT private|shared [file=F:PGOFF] [fixed] [stack] [noreserve] " +
            "[populate] [locked]",
        );
        allowOpts(
          "private",
          "shared",
          "file",
          "fixed",
          "stack",
          "noreserve",
          "populate",
          "locked",
        );
        if (opts.has("private") === opts.has("shared")) {
          fail("map needs exactly one of private, shared");
        }
        let file: { name: string; pgoff: number } | null = null;
        if (opts.has("file")) {
          const m = /^(F[0-9]+):([0-9]+)$/.exec(opts.get("file")!);
          if (!m) fail("expected file=F<i>:<pgoff>");
          if (!sc.files.has(m![1])) fail(`file ${m![1]} not declared (file ${m![1]} PAGES)`);
          file = { name: m![1], pgoff: num(m![2], "file page offset") };
        }
        const a = addr(pos[1]);
        if (a.kind === "heap") fail("map in the heap is not supported (use brk)");
        step = {
          ...base,
          op: "map",
          proc: proc(pos[0]),
          addr: a,
          pages: num(pos[2], "page count", 1),
          prot: prot(pos[3]),
          shared: opts.has("shared"),
          file,
          fixed: opts.has("fixed"),
          stack: opts.has("stack"),
          noreserve: opts.has("noreserve"),
          populate: opts.has("populate"),
          locked: opts.has("locked"),
        };
        break;
      }
      case "munmap":
        nPos(3, "munmap PROC ADDR PAGES");
        allowOpts();
        step = {
          ...base,
          op: "munmap",
          proc: proc(pos[0]),
          addr: addr(pos[1]),
          pages: num(pos[2], "page count", 1),
        };
        break;
      case "mprotect":
        nPos(4, "mprotect PROC ADDR PAGES PROT");
        allowOpts();
        step = {
          ...base,
          op: "mprotect",
          proc: proc(pos[0]),
          addr: addr(pos[1]),
          pages: num(pos[2], "page count", 1),
          prot: prot(pos[3]),
        };
        break;
      case "madvise": {
        nPos(4, `madvise PROC ADDR PAGES ${ADVICE.join("|")}`);
        allowOpts();
        if (!(ADVICE as readonly string[]).includes(pos[3])) {
          fail(`bad advice "${pos[3]}"; valid: ${ADVICE.join(", ")}`);
        }
        step = {
          ...base,
          op: "madvise",
          proc: proc(pos[0]),
          addr: addr(pos[1]),
          pages: num(pos[2], "page count", 1),
          advice: pos[3] as Advice,
        };
        break;
      }
      case "pmadvise": {
        const usage = `pmadvise PROC TARGET ADVICE PAGE:PAGES... (1 to ${MAX_IOV} ranges)`;
        if (pos.length < 4 || pos.length > 3 + MAX_IOV) fail(`expected: ${usage}`);
        allowOpts();
        if (!(ADVICE as readonly string[]).includes(pos[2])) {
          fail(`bad advice "${pos[2]}"; valid: ${ADVICE.join(", ")}`);
        }
        const ranges = pos.slice(3).map((w) => {
          const m = /^([0-9]+):([0-9]+)$/.exec(w);
          if (!m) fail(`bad range "${w}" (arena PAGE:PAGES)`);
          return { page: num(m![1], "page offset"), pages: num(m![2], "page count") };
        });
        step = {
          ...base,
          op: "pmadvise",
          proc: proc(pos[0]),
          target: proc(pos[1]),
          advice: pos[2] as Advice,
          ranges,
        };
        break;
      }
      case "mlockall": {
        // MCL_CURRENT 1, MCL_FUTURE 2, MCL_ONFAULT 4 (`onfault`, a flag word as for mlock).
        const words = ["current", "future"];
        if (pos.length < 1) fail("expected: mlockall PROC [current] [future] [onfault]");
        allowOpts("onfault");
        let flags = opts.has("onfault") ? 4 : 0;
        for (const w of pos.slice(1)) {
          const i = words.indexOf(w);
          if (i < 0) fail(`bad mlockall flag "${w}"; valid: current, future, onfault`);
          flags |= 1 << i;
        }
        if (flags === 0) fail("mlockall needs current, future or onfault");
        step = { ...base, op: "mlockall", proc: proc(pos[0]), flags };
        break;
      }
      case "munlockall":
        nPos(1, "munlockall PROC");
        allowOpts();
        step = { ...base, op: "mlockall", proc: proc(pos[0]), flags: 0 };
        break;
      case "mlock":
      case "munlock":
        nPos(3, head === "mlock" ? "mlock PROC ADDR PAGES [onfault]" : "munlock PROC ADDR PAGES");
        if (head === "mlock") allowOpts("onfault");
        else allowOpts();
        step = {
          ...base,
          op: "mlock",
          proc: proc(pos[0]),
          addr: addr(pos[1]),
          pages: num(pos[2], "page count", 1),
          mode: head === "munlock" ? "unlock" : opts.has("onfault") ? "onfault" : "lock",
        };
        break;
      case "mremap": {
        nPos(4, "mremap PROC ADDR OLD_PAGES NEW_PAGES [to=ADDR] [dontunmap]");
        allowOpts("to", "dontunmap");
        const a = addr(pos[1]);
        const to = opts.has("to") ? addr(opts.get("to")!) : null;
        if (opts.has("dontunmap") && !to) fail("dontunmap needs to=ADDR");
        if (to && to.kind !== a.kind) fail("mremap cannot move between the arena and the heap");
        step = {
          ...base,
          op: "mremap",
          proc: proc(pos[0]),
          addr: a,
          oldPages: num(pos[2], "page count", 1),
          newPages: num(pos[3], "page count", 1),
          to,
          dontunmap: opts.has("dontunmap"),
        };
        break;
      }
      case "brk":
        nPos(2, "brk PROC PAGES");
        allowOpts();
        step = { ...base, op: "brk", proc: proc(pos[0]), pages: num(pos[1], "heap pages") };
        break;
      case "write":
      case "read":
        nPos(3, head === "write" ? "write PROC ADDR PAGES [value=V]" : "read PROC ADDR PAGES");
        if (head === "write") allowOpts("value");
        else allowOpts();
        step = {
          ...base,
          op: "touch",
          proc: proc(pos[0]),
          addr: addr(pos[1]),
          pages: num(pos[2], "page count", 1),
          write: head === "write",
          value: opts.has("value") ? num(opts.get("value")!, "content id") : null,
        };
        break;
      case "resident":
        nPos(3, "resident PROC ADDR PAGES [expect=RESIDENT:<pages>]");
        allowOpts();
        if (/\bexpect=OK\b/.test(line)) fail("resident's outcome is RESIDENT:<pages>, never OK");
        step = {
          ...base,
          // Without expect= the count is the host's to say (it may depend on the host's swap):
          // "" expects nothing, and only the host and the model are compared.
          expect: expect === "OK" ? "" : expect,
          op: "resident",
          proc: proc(pos[0]),
          addr: addr(pos[1]),
          pages: num(pos[2], "page count", 1),
        };
        if (step.pages > MAX_RESIDENT_PAGES) {
          fail(`resident: at most ${MAX_RESIDENT_PAGES} pages, got ${step.pages}`);
        }
        break;
      case "uffd_register":
      case "uffd_unregister": {
        nPos(3, `${head} PROC ADDR PAGES`);
        allowOpts();
        const a = addr(pos[1]);
        if (a.kind !== "arena") fail(`${head} takes an arena address`);
        step = {
          ...base,
          op: "uffd",
          proc: proc(pos[0]),
          addr: a,
          pages: num(pos[2], "page count", 1),
          unregister: head === "uffd_unregister",
        };
        break;
      }
      case "uffd_move": {
        nPos(4, "uffd_move PROC DST SRC PAGES [holes]");
        allowOpts("holes");
        const a = addr(pos[1]), src = addr(pos[2]);
        if (a.kind !== "arena" || src.kind !== "arena") fail("uffd_move takes arena addresses");
        step = {
          ...base,
          op: "uffd_move",
          proc: proc(pos[0]),
          addr: a,
          src,
          pages: num(pos[3], "page count", 1),
          holes: opts.has("holes"),
        };
        break;
      }
      case "uffd_copy":
      case "uffd_zeropage": {
        nPos(3, `${head} PROC DST PAGES`);
        allowOpts();
        const a = addr(pos[1]);
        if (a.kind !== "arena") fail(`${head} takes an arena address`);
        step = {
          ...base,
          op: "uffd_fill",
          proc: proc(pos[0]),
          addr: a,
          pages: num(pos[2], "page count", 1),
          zero: head === "uffd_zeropage",
        };
        break;
      }
      case "ksmd": {
        nPos(1, `ksmd SCANS (full scans, 1 to ${MAX_KSMD_SCANS})`);
        allowOpts();
        const n = Number(pos[0]);
        if (!/^[0-9]+$/.test(pos[0]) || n < 1 || n > MAX_KSMD_SCANS) {
          fail(`bad scan count "${pos[0]}" (an integer in [1, ${MAX_KSMD_SCANS}])`);
        }
        step = { ...base, op: "ksmd", scans: n, proc: "" };
        break;
      }
      default: {
        nPos(1, "measure LABEL");
        allowOpts();
        if (!/^[A-Za-z0-9_.+-]+$/.test(pos[0])) fail(`bad label "${pos[0]}"`);
        if (sc.steps.some((s) => s.op === "measure" && s.label === pos[0])) {
          fail(`duplicate measure label ${pos[0]}`);
        }
        step = { ...base, op: "measure", label: pos[0], proc: "" };
      }
    }
    if (
      step.op !== "measure" && expect !== "OK" &&
      ["spawn", "fork", "exit", "execve", "ksmd"].includes(step.op)
    ) {
      fail(`${step.op} cannot expect a failure`);
    }
    // Liveness bookkeeping.
    if (step.op === "spawn") {
      alive.add(step.proc);
      known.add(step.proc);
      sc.procs.push(step.proc);
    } else if (step.op === "fork") {
      alive.add(step.child);
      known.add(step.child);
      sc.procs.push(step.child);
    } else if (step.op === "exit") alive.delete(step.proc);
    if (sc.procs.length > MAX_PROCS) fail(`more than ${MAX_PROCS} processes`);
    if (sc.files.size > MAX_FILES) fail(`more than ${MAX_FILES} files`);
    sc.steps.push(step);
  }
  finish();
  return out;
}

const OPCODE: Record<Step["op"], number> = {
  spawn: 1,
  fork: 2,
  exit: 3,
  execve: 4,
  map: 5,
  munmap: 6,
  mprotect: 7,
  madvise: 8,
  mremap: 9,
  brk: 10,
  touch: 11,
  measure: 12,
  ksmd: 13,
  mlock: 14,
  pmadvise: 15,
  mlockall: 16,
  resident: 17,
  uffd: 18,
  uffd_move: 19,
  uffd_fill: 20,
};

/** madvise advice values (uapi). */
export const ADVICE_VALUE: Readonly<Record<Advice, number>> = {
  dontneed: 4,
  dontneed_locked: 24,
  dontfork: 10,
  dofork: 11,
  wipeonfork: 18,
  keeponfork: 19,
  mergeable: 12,
  unmergeable: 13,
  free: 8,
  hugepage: 14,
  nohugepage: 15,
  dontdump: 16,
  dodump: 17,
  cold: 20,
  pageout: 21,
  willneed: 3,
  normal: 0,
  random: 1,
  sequential: 2,
  guard_install: 102,
  guard_remove: 103,
  populate_read: 22,
  populate_write: 23,
};

/** `mremap` flags (uapi). */
const MREMAP_MAYMOVE = 1, MREMAP_FIXED = 2, MREMAP_DONTUNMAP = 4;

/**
 * Lowers a scenario to the numeric program `runner.c` reads (see its header comment) for a
 * number of arena copies.
 *
 * @example Usage
 * ```ts
 * import { lower, parseScenarios } from "./scenario.ts";
 * const [s] = parseScenarios("scenario one\nspawn P0\n");
 * if (!lower(s, 4).startsWith("K 4 ")) throw new Error();
 * ```
 */
export function lower(s: Scenario, copies: number): string {
  const out = [`K ${copies} ${ARENA.basePage} ${ARENA.stridePages}`];
  for (const [name, pages] of s.files) out.push(`F ${name.slice(1)} ${pages}`);
  out.push(`N ${s.procs.length}`);
  const pi = (p: string): number => s.procs.indexOf(p);
  const ak = (a: Addr): number => (a.kind === "heap" ? 1 : 0);
  for (const st of s.steps) {
    let a: number[] = [];
    switch (st.op) {
      case "spawn":
      case "exit":
      case "execve":
      case "measure":
        break;
      case "ksmd":
        a = [st.scans];
        break;
      case "fork":
        a = [pi(st.child)];
        break;
      case "map":
        a = [
          ak(st.addr),
          st.addr.page,
          st.pages,
          st.prot,
          st.shared ? 1 : 0,
          st.file ? Number(st.file.name.slice(1)) + st.file.pgoff * 256 : -1,
          (st.fixed ? 1 : 0) | (st.stack ? 2 : 0) | (st.noreserve ? 4 : 0) | (st.populate ? 8 : 0) |
          (st.locked ? 16 : 0),
        ];
        break;
      case "munmap":
        a = [ak(st.addr), st.addr.page, st.pages];
        break;
      case "mprotect":
        a = [ak(st.addr), st.addr.page, st.pages, st.prot];
        break;
      case "madvise":
        a = [ak(st.addr), st.addr.page, st.pages, ADVICE_VALUE[st.advice]];
        break;
      case "mlockall":
        a = [0, st.flags];
        break;
      case "pmadvise":
        a = [
          0,
          pi(st.target),
          ADVICE_VALUE[st.advice],
          ...st.ranges.map((r) => r.page * 2 ** 20 + r.pages),
        ];
        while (a.length < 7) a.push(-1);
        break;
      case "mlock":
        a = [
          ak(st.addr),
          st.addr.page,
          st.pages,
          st.mode === "lock" ? 0 : st.mode === "onfault" ? 1 : 2,
        ];
        break;
      case "mremap":
        a = [
          ak(st.addr),
          st.addr.page,
          st.oldPages,
          st.newPages,
          mremapFlags(st),
          st.to ? st.to.page : 0,
        ];
        break;
      case "brk":
        a = [1, st.pages];
        break;
      case "touch":
        a = [ak(st.addr), st.addr.page, st.pages, st.write ? 1 : 0, st.value ?? -1];
        break;
      case "resident":
        a = [ak(st.addr), st.addr.page, st.pages];
        break;
      case "uffd":
        a = [ak(st.addr), st.addr.page, st.pages, st.unregister ? 1 : 0];
        break;
      case "uffd_move":
        a = [ak(st.addr), st.addr.page, st.pages, st.src.page, st.holes ? 2 : 0];
        break;
      case "uffd_fill":
        a = [ak(st.addr), st.addr.page, st.pages, st.zero ? 1 : 0];
        break;
    }
    while (a.length < 7) a.push(0);
    out.push(`O ${OPCODE[st.op]} ${st.proc === "" ? 0 : pi(st.proc)} ${a.join(" ")}`);
  }
  return out.join("\n") + "\n";
}

/** The mremap flags of a step. */
export function mremapFlags(st: { to: Addr | null; dontunmap: boolean }): number {
  return (st.to ? MREMAP_MAYMOVE | MREMAP_FIXED : 0) | (st.dontunmap ? MREMAP_DONTUNMAP : 0);
}

/** Formats a protection as the language writes it. */
export function protText(prot: number): string {
  if (prot === 0) return "none";
  return (prot & 1 ? "r" : "") + (prot & 2 ? "w" : "") + (prot & 4 ? "x" : "");
}
