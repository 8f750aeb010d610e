// The trace replay of mlock, mlock2, munlock, mlockall, munlockall and mmap(MAP_LOCKED)
// (Linux 6.18 mm/mlock.c, the model's core/kernel/mlock.ts): the calls of a small strace text
// are replayed with the kernel's mlock family, none is skipped as not implemented, MAP_LOCKED
// reaches mmap, and the VMAs split and merge back as the locks come and go.

import { assertEquals } from "./assert.ts";
import { replayText, statNotes } from "./replay.ts";
import { Kernel } from "../core/kernel/kernel.ts";
import { AnonVmaScheme } from "../core/rmap/anon_vma.ts";
import { Random } from "../core/lib/random.ts";
import { PAGE_SIZE, VM_LOCKED, VM_LOCKONFAULT } from "../core/kernel/types.ts";
import { parseFlags, parseStrace, type TraceCall } from "../workloads/strace_parser.ts";
import { registerTrace, TRACE_REPLAY } from "../workloads/trace_replay.ts";
import type { TaskScript, WorkloadEnv } from "../workloads/workload.ts";

const X = 0x7f0000000000;

/**
 * One process: 4 pages of private anonymous read-write memory at X, the middle two locked and
 * unlocked, the first locked on fault, then mlockall, a MAP_LOCKED mapping at X + 1 MiB, and
 * munlockall.
 */
const TRACE = [
  "7 mmap(NULL, 16384, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000",
  "7 mlock(0x7f0000001000, 8192) = 0",
  "7 munlock(0x7f0000001000, 8192) = 0",
  "7 mlock2(0x7f0000000000, 4096, MLOCK_ONFAULT) = 0",
  "7 mlockall(MCL_CURRENT|MCL_FUTURE) = 0",
  "7 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_LOCKED, -1, 0) = 0x7f0000100000",
  "7 munlockall() = 0",
  "7 exit_group(0) = ?",
].join("\n");

/** The replay's notes and, after each replayed step, the VMAs in [X, X + 2 MiB) of every mm. */
function drive(name: string, text: string): { notes: string[]; layouts: [string, string][] } {
  registerTrace(name, text);
  const kernel = new Kernel({ scheme: new AnonVmaScheme(), params: { debugChecks: true } });
  const scripts: TaskScript[] = [];
  const notes: string[] = [];
  const env: WorkloadEnv = {
    kernel,
    rng: new Random(1),
    params: {
      trace: name,
      copies: 1,
      repeat: 1,
      faults: "none",
      touch: "none",
      touchFraction: 0.5,
      relocate: false,
      gapNs: 0,
    },
    addTask: (_n, _k, s) => void scripts.push(s),
    now: () => 0,
    note: (l) => void notes.push(l),
    table: () => {},
    mark: () => {},
  };
  TRACE_REPLAY.setup(env);
  const layouts: [string, string][] = [];
  for (const s of scripts) {
    for (const step of s) {
      if (!("run" in step)) continue;
      step.run();
      const vmas: string[] = [];
      for (const mm of kernel.mms.values()) {
        for (const v of mm.vmas) {
          if (v.end <= X || v.start >= X + 0x200000) continue;
          const lock = v.flags & VM_LOCKONFAULT ? " onfault" : v.flags & VM_LOCKED ? " locked" : "";
          vmas.push(`${(v.start - X) / PAGE_SIZE}-${(v.end - X) / PAGE_SIZE}${lock}`);
        }
      }
      layouts.push([step.op, vmas.join(", ")]);
    }
  }
  TRACE_REPLAY.finish!(env, new Map());
  return { notes, layouts };
}

Deno.test("strace parser: the mlock family's arguments and flag names (uapi values)", () => {
  const calls = parseStrace(TRACE).events as TraceCall[];
  assertEquals(calls.map((c) => [c.name, c.args, c.ret]), [
    ["mmap", ["NULL", "16384", "PROT_READ|PROT_WRITE", "MAP_PRIVATE|MAP_ANONYMOUS", "-1", "0"], X],
    ["mlock", ["0x7f0000001000", "8192"], 0],
    ["munlock", ["0x7f0000001000", "8192"], 0],
    ["mlock2", ["0x7f0000000000", "4096", "MLOCK_ONFAULT"], 0],
    ["mlockall", ["MCL_CURRENT|MCL_FUTURE"], 0],
    [
      "mmap",
      ["NULL", "8192", "PROT_READ|PROT_WRITE", "MAP_PRIVATE|MAP_ANONYMOUS|MAP_LOCKED", "-1", "0"],
      X + 0x100000,
    ],
    ["munlockall", [], 0],
    ["exit_group", ["0"], null],
  ]);
  assertEquals(parseFlags("MLOCK_ONFAULT"), { value: 1, unknown: [] });
  assertEquals(parseFlags("0"), { value: 0, unknown: [] });
  assertEquals(parseFlags("MCL_CURRENT|MCL_FUTURE"), { value: 3, unknown: [] });
  assertEquals(parseFlags("MCL_CURRENT|MCL_ONFAULT"), { value: 5, unknown: [] });
  assertEquals(parseFlags("MAP_PRIVATE|MAP_ANONYMOUS|MAP_LOCKED"), { value: 0x2022, unknown: [] });
  // A name the table does not have still contributes nothing and is listed.
  assertEquals(parseFlags("MCL_FUTURE|MCL_BOGUS"), { value: 2, unknown: ["MCL_BOGUS"] });
});

Deno.test("trace-replay: mlock, mlock2, munlock, mlockall, munlockall and MAP_LOCKED replay", () => {
  // Every call is replayed (none "not implemented", MAP_LOCKED not an ignored flag). The locks
  // populate as Linux does: mlock of pages 1-2 faults 2 pages in, mlock2(MLOCK_ONFAULT) none,
  // mlockall(MCL_CURRENT) the 2 left (pages 0 and 3), the MAP_LOCKED mapping its 2: 6 anon
  // faults, with no touch and no perf sample. Splits: 2 (mlock of the middle) + 1 (mlock2 of
  // page 0); merges: munlock's and mlockall's (page 0 with pages 1-3).
  const r = replayText("mlock_family", TRACE);
  assertEquals(statNotes(r), [
    "Replayed calls: exit_group 1, mlock 1, mlock2 1, mlockall 1, mmap 2, munlock 1, munlockall 1",
    "Calls without a memory effect (recognised, skipped): none",
    "Unknown syscalls (counted and skipped): none",
    "Calls that failed in the trace (skipped): none",
    "Calls that diverged (succeeded in the trace, failed in the replay): none",
    "Fidelity, exec-time layout missing: 0",
    "Fidelity, failed on the host too (skipped): 0",
    "Fidelity, not implemented by the model (skipped): 0",
    "Fidelity, never returned in the trace (skipped): 0",
    "Fidelity, acts on a process the trace does not follow (skipped): 0",
    "Fidelity, genuine model difference: 0",
    "mmap flags and keys replayed without their effect: none",
    "Other: processes_started_mid_trace 1",
  ]);
  assertEquals(r.counters.faults_anon_new, 6);
  assertEquals(r.counters.splits, 3);
  assertEquals(r.counters.merges, 2);
  assertEquals(r.slab.allocs.anon_vma, 2);
});

Deno.test("trace-replay: the VMAs split under mlock and merge back under munlock", () => {
  // Pages from X after each replayed step: mlock of the middle makes 3 VMAs, munlock merges
  // them back into 1; mlock2(MLOCK_ONFAULT) sets VM_LOCKED|VM_LOCKONFAULT on page 0 only;
  // mlockall(MCL_CURRENT) locks all 4 (page 0's VM_LOCKONFAULT cleared: one VMA again);
  // MCL_FUTURE locks the next mapping as MAP_LOCKED does; munlockall unlocks both.
  const { layouts } = drive("mlock_layouts", TRACE);
  assertEquals(layouts, [
    ["execve", ""],
    ["mmap", "0-4"],
    ["mlock", "0-1, 1-3 locked, 3-4"],
    ["mlock", "0-4"],
    ["mlock", "0-1 onfault, 1-4"],
    ["mlock", "0-4 locked"],
    ["mmap", "0-4 locked, 256-258 locked"],
    ["mlock", "0-4, 256-258"],
    ["exit", ""],
  ]);
});

Deno.test("trace-replay: lock calls that failed, diverged or never returned; mbind, MAP_32BIT", () => {
  // A lock call that failed on the host is skipped ("failed on the host too"); one that
  // succeeded there but fails in the model is divergent: "exec-time layout missing" on a range
  // the replay never mapped (an unaligned start is accepted and rounded, as mlock does),
  // "genuine" on a mapped one (mlock of PROT_NONE memory is ENOMEM in the model). One never
  // resumed is "never returned". mbind stays not implemented and MAP_32BIT an ignored flag.
  const text = [
    "7 mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000",
    "7 mlock(0x7f0000200000, 4096) = -1 ENOMEM (Cannot allocate memory)",
    "7 mlock(0x7f3a5c000123, 4096) = 0",
    "7 mlock2(0x7f0000000000, 4096, 0) = 0",
    "7 mbind(0x7f0000000000, 4096, MPOL_BIND, [0x1], 2, 0) = 0",
    "7 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_32BIT, -1, 0) = 0x40000000",
    "7 mlockall(MCL_CURRENT <unfinished ...>",
  ].join("\n");
  const r = replayText("mlock_divergent", text);
  assertEquals(statNotes(r), [
    "Replayed calls: mmap 2",
    "Calls without a memory effect (recognised, skipped): none",
    "Unknown syscalls (counted and skipped): none",
    "Calls that failed in the trace (skipped): mlock 1",
    "Calls that diverged (succeeded in the trace, failed in the replay): mlock 1, mlock2 1",
    "Fidelity, exec-time layout missing: 1 (e.g. line 3, pid 7: mlock(0x7f3a5c000123, 4096) -> " +
    "mlock failed with ENOMEM: start is not mapped)",
    "Fidelity, failed on the host too (skipped): 1 (e.g. line 2, pid 7: mlock(0x7f0000200000, 4096) " +
    "-> ENOMEM)",
    "Fidelity, not implemented by the model (skipped): 1 (e.g. line 5, pid 7: " +
    "mbind(0x7f0000000000, 4096, MPOL_BIND, [0x1], 2, 0))",
    "Fidelity, never returned in the trace (skipped): 1 (e.g. line 7, pid 7: mlockall(MCL_CURRENT))",
    "Fidelity, acts on a process the trace does not follow (skipped): 0",
    "Fidelity, genuine model difference: 1 (e.g. line 4, pid 7: mlock2(0x7f0000000000, 4096, 0) -> " +
    "mlock2 failed with ENOMEM: cannot fault in 0x7f0000000000)",
    "mmap flags and keys replayed without their effect: MAP_32BIT 1",
    "Other: exited_at_end_of_trace 1, processes_started_mid_trace 1",
  ]);
});
