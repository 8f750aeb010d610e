import assert from "node:assert/strict";
import { runOne } from "../reports/recorder.ts";
import type { RunResult } from "../reports/results.ts";
import { SCHEMES } from "../core/rmap/registry.ts";
import {
  parseFlags,
  parseNumber,
  parsePerfFaults,
  parseStrace,
  splitArgs,
  type TraceCall,
  TraceParseError,
} from "../workloads/strace_parser.ts";
import { registerTrace, traceNames } from "../workloads/trace_replay.ts";
import { FORK_DEMO_PERF, FORK_DEMO_STRACE } from "../workloads/traces/fork_demo.ts";

const QUIET = { reclaimIntervalNs: 0, migrateIntervalNs: 0 };

function replay(params: Record<string, number | string | boolean>, scheme = "anon_vma"): RunResult {
  return runOne({ scheme, workload: "trace-replay", params, seed: 1, machine: QUIET });
}

function calls(text: string): TraceCall[] {
  return parseStrace(text).events.filter((e): e is TraceCall => e.type === "call");
}

Deno.test("strace parser: each syscall form", () => {
  const t = calls([
    "100 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f331ecf0000",
    "100 munmap(0x7f331ece6000, 38759)     = 0",
    "100 mprotect(0x7f331ecd3000, 16384, PROT_READ) = 0",
    "100 mremap(0x7f331eadd000, 16384, 65536, MREMAP_MAYMOVE) = 0x7f331eacd000",
    "100 brk(0x55df50787000)               = 0x55df50787000",
    "100 madvise(0x7f331eafd000, 16384, MADV_DONTNEED) = 0",
    "100 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f) = 101",
    "100 clone3({flags=CLONE_VM|CLONE_VFORK, exit_signal=SIGCHLD, stack=0x7f, stack_size=0x9000}, 88) = 102",
    '100 execve("/bin/true", ["true"], 0x7ffe75886ed8 /* 35 vars */) = 0',
    "100 mmap(NULL, 70368744177664, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = -1 ENOMEM (Cannot allocate memory)",
    "100 1795322128.656815 exit_group(0)                     = ?",
  ].join("\n"));
  assert.deepEqual(t.map((c) => c.name), [
    "mmap",
    "munmap",
    "mprotect",
    "mremap",
    "brk",
    "madvise",
    "clone",
    "clone3",
    "execve",
    "mmap",
    "exit_group",
  ]);
  assert.deepEqual(t[0].args, [
    "NULL",
    "8192",
    "PROT_READ|PROT_WRITE",
    "MAP_PRIVATE|MAP_ANONYMOUS",
    "-1",
    "0",
  ]);
  assert.equal(t[0].ret, 0x7f331ecf0000);
  assert.equal(t[3].ret, 0x7f331eacd000);
  assert.equal(t[6].ret, 101);
  assert.equal(t[7].args.length, 2);
  assert.equal(t[8].args.length, 3);
  assert.equal(t[9].errno, "ENOMEM");
  assert.equal(t[10].ret, null);
  assert.equal(t[10].time, 1795322128.656815);
  assert.equal(parseNumber("NULL"), 0);
  assert.equal(parseNumber("0x26000"), 0x26000);
  assert.equal(parseNumber("0644"), 0o644);
  assert.deepEqual(parseFlags("CLONE_VM|CLONE_VFORK|SIGCHLD"), {
    value: 0x4100,
    unknown: ["SIGCHLD"],
  });
  assert.deepEqual(splitArgs('"a,b", {x=1, y=[2, 3]}, 4'), ['"a,b"', "{x=1, y=[2, 3]}", "4"]);
});

Deno.test("strace parser: unfinished and resumed calls are joined where they started", () => {
  const p = parseStrace([
    "1 clone3({flags=CLONE_VM|CLONE_VFORK, exit_signal=SIGCHLD}, 88 <unfinished ...>",
    '2 execve("/bin/true", ["true"], 0x7ffe /* 3 vars */ <unfinished ...>',
    "1 <... clone3 resumed>)             = 2",
    "1 wait4(2,  <unfinished ...>",
    "2 <... execve resumed>)             = 0",
    "2 +++ exited with 0 +++",
    "1 <... wait4 resumed>NULL, 0, NULL) = 2",
    "1 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED} ---",
  ].join("\n"));
  const names = p.events.map((e) =>
    e.type === "call" ? `${e.pid}:${e.name}=${e.ret}` : `${e.pid}:exit`
  );
  assert.deepEqual(names, ["1:clone3=2", "2:execve=0", "1:wait4=2", "2:exit"]);
  const w = p.events[2] as TraceCall;
  assert.deepEqual(w.args, ["2", "NULL", "0", "NULL"]);
  assert.equal(w.line, 4);
  assert.equal(p.signalLines, 1);
  assert.equal(p.neverResumed, 0);
});

Deno.test("strace parser: a malformed line is an error naming its line number", () => {
  const text = "1 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x10000\n" +
    "1 this is not strace\n";
  assert.throws(() => parseStrace(text), (e: unknown) => {
    assert.ok(e instanceof TraceParseError);
    assert.equal(e.line, 2);
    assert.match(e.message, /^Trace line 2: /);
    return true;
  });
  assert.throws(
    () => parseStrace("\n\n5 <... mmap resumed>) = 0\n"),
    /^SyntaxError: Trace line 3: |Trace line 3: /,
  );
  assert.throws(() => registerTrace("bad", "oops"), /Trace line 1: /);
  assert.throws(() => parsePerfFaults("garbage here"), /Perf line 1: /);
});

Deno.test("perf parser: page-fault samples with and without tid", () => {
  const f = parsePerfFaults([
    "       fork_demo 14255/14256 1795322109.969094: page-faults:     5597dbe03088",
    "  prog 12 [002] 100.000001:          1 page-faults:u:  7f0000001000  ffffffff sym (dso)",
    "  prog 12 [002] 100.000002:          1 cycles:  7f0000001000",
  ].join("\n"));
  assert.equal(f.length, 2);
  assert.deepEqual([f[0].pid, f[0].tid, f[0].addr], [14255, 14256, 0x5597dbe03088]);
  assert.deepEqual([f[1].pid, f[1].tid, f[1].time], [12, 12, 100.000001]);
});

Deno.test("shipped trace: small, parseable, recorded from a forking program", () => {
  assert.ok(FORK_DEMO_STRACE.length < 200_000);
  assert.ok(FORK_DEMO_PERF.length < 200_000);
  const p = parseStrace(FORK_DEMO_STRACE);
  const names = new Set(p.events.flatMap((e) => e.type === "call" ? [e.name] : []));
  for (
    const n of [
      "execve",
      "mmap",
      "munmap",
      "mprotect",
      "mremap",
      "brk",
      "madvise",
      "clone",
      "clone3",
      "exit_group",
    ]
  ) {
    assert.ok(names.has(n), n);
  }
  assert.ok(parsePerfFaults(FORK_DEMO_PERF).length > 0);
  assert.equal(traceNames()[0], "fork_demo");
});

Deno.test("trace-replay: fork_demo under anon_vma, exact figures", () => {
  // Without faults the replay creates no anon memory: no anon_vma at all. fork_demo forks 3
  // children (clone without CLONE_VM), starts 1 thread (clone3 CLONE_VM|CLONE_THREAD: an alias)
  // and 1 posix_spawn child (clone3 CLONE_VM|CLONE_VFORK: an alias until its execve, which gives
  // it a mm of its own); 5 mm exits: the parent, 3 children (one after its exec), the vfork child.
  const r = replay({ copies: 1, repeat: 1, faults: "none" });
  assert.equal(r.counters.forks, 3);
  assert.equal(r.counters.exits, 5);
  assert.equal(r.counters.faults_anon_new ?? 0, 0);
  assert.equal(r.slab.allocs.anon_vma, 0);
  assert.equal(r.counters.mremap_moves, 1); // the traced realloc-style grow that moved
  assert.equal(r.counters.merges, 13);
  const notes = r.notes!.join("\n");
  // wait4 has no memory effect: recognised, not an unknown syscall.
  assert.match(notes, /without a memory effect \(recognised, skipped\): wait4 4/);
  assert.match(notes, /Unknown syscalls \(counted and skipped\): none/);
  // The failing mmap (ENOMEM in the trace) is skipped.
  assert.match(notes, /failed in the trace \(skipped\): mmap 1/);
  // RELRO mprotects of the kernel-mapped program image and ld.so (2 per exec'd image × 3): this
  // plain strace log has no exec layouts, so they are classed "exec-time layout missing".
  assert.match(notes, /diverged .*: mprotect 6/);
  assert.match(
    notes,
    /Fidelity, exec-time layout missing: 6 \(e\.g\. line 16, pid 14398: mprotect/,
  );
  assert.match(notes, /Fidelity, failed on the host too \(skipped\): 1 \(e\.g\. line 30/);
  assert.match(notes, /Fidelity, genuine model difference: 0$/m);
  // With the perf samples: real faults, copy-on-write in the fork children.
  const f = replay({ copies: 1, repeat: 1 });
  assert.equal(f.counters.faults_anon_new, 120);
  assert.equal(f.counters.faults_cow_copy, 36);
  assert.equal(f.counters.forks, 3);
  assert.ok(f.slab.allocs.anon_vma > 0);
});

Deno.test("trace-replay: touch modes and an unknown syscall", () => {
  registerTrace(
    "tiny",
    [
      "7 mmap(NULL, 16384, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000",
      "7 frobnicate(1, 2) = 0",
      "7 clone(child_stack=NULL, flags=SIGCHLD) = 8",
      "8 exit_group(0) = ?",
      "8 +++ exited with 0 +++",
      "7 exit_group(0) = ?",
    ].join("\n"),
  );
  const none = replay({ trace: "tiny", copies: 1, repeat: 1, touch: "none" });
  assert.equal(none.counters.faults_anon_new ?? 0, 0);
  const first = replay({ trace: "tiny", copies: 1, repeat: 1, touch: "first-page" });
  assert.equal(first.counters.faults_anon_new, 1);
  const all = replay({
    trace: "tiny",
    copies: 1,
    repeat: 1,
    touch: "all-writable",
    touchFraction: 1,
  });
  assert.equal(all.counters.faults_anon_new, 4);
  assert.equal(all.counters.forks, 1);
  assert.equal(all.counters.exits, 2);
  assert.match(all.notes!.join("\n"), /Unknown syscalls \(counted and skipped\): frobnicate 1/);
});

Deno.test("trace-replay: the shipped trace under every scheme, with and without relocation", () => {
  for (const s of SCHEMES) {
    for (const relocate of [false, true]) {
      const r = replay({ copies: 2, repeat: 2, relocate, touch: "all-writable" }, s.info.id);
      assert.equal(r.oracle.mismatches, 0);
      assert.ok(r.oracle.leakFree);
    }
  }
});

Deno.test("trace-replay: parameter validation", () => {
  assert.throws(() => replay({ trace: "missing" }), /one of fork_demo/);
  assert.throws(() => replay({ touch: "everything" }), /one of none, first-page, all-writable/);
  assert.throws(() => replay({ touchFraction: 1.5 }), /touchFraction/);
  assert.throws(() => registerTrace("bad name", ""), /Trace name/);
});
