import assert from "node:assert/strict";
import { runOne } from "../runner/recorder.ts";
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
  // 11: the thread's stack (MAP_STACK: VM_NOHUGEPAGE with THP) merges with no neighbour.
  assert.equal(r.counters.merges, 11);
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

/** The rows of the table of `r` titled `title`. */
function tableRows(r: RunResult, title: string): (string | number)[][] {
  const t = (r.extraTables ?? []).find((x) => x.title === title);
  assert.ok(t, `no table "${title}"`);
  return t.rows;
}

/** Asserts that `fn` throws a TraceParseError whose message is exactly `message`. */
function throwsExactly(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof TraceParseError, String(e));
    assert.equal(e.message, message);
    return true;
  });
}

/** The note of `r` that starts with `prefix` (exactly one). */
function note(r: RunResult, prefix: string): string {
  const n = r.notes!.filter((x) => x.startsWith(prefix));
  assert.equal(n.length, 1, `notes starting with "${prefix}": ${n.length}`);
  return n[0];
}

Deno.test("strace parser: an errno with digits (E2BIG) marks the call failed; the replay skips it", () => {
  // errno names may hold digits (E2BIG, uapi/asm-generic/errno-base.h): `= -1 E2BIG (...)` is a
  // failed call, not a success with ret -1; a failed execve leaves the process's mm alone.
  const text =
    '7 execve("/usr/bin/x", ["x", "a"], 0x7ffe /* 1 var */) = -1 E2BIG (Argument list too long)\n' +
    "7 exit_group(1) = ?\n";
  const [ex] = calls(text);
  assert.equal(ex.ret, -1);
  assert.equal(ex.errno, "E2BIG");
  registerTrace("e2big", text);
  const r = replay({ trace: "e2big", copies: 1, repeat: 1 });
  assert.equal(
    note(r, "Calls that failed in the trace"),
    "Calls that failed in the trace (skipped): execve 1",
  );
  assert.equal(note(r, "Replayed calls"), "Replayed calls: exit_group 1");
  assert.deepEqual(tableRows(r, "Trace replay: process tree"), [[7, "-", "root", 0, "-", "-"]]);
});

Deno.test("strace parser: a task's unfinished and resumed lines must pair up (one-line errors)", () => {
  // strace -f leaves at most one call per task unfinished: a second one, or a resumed line of
  // another call, means a corrupt or interleaved log; it is refused with its line, not joined.
  const mmap = "1 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0 <unfinished ...>";
  throwsExactly(
    () => parseStrace(`${mmap}\n1 munmap(0x10000, 4096 <unfinished ...>\n`),
    "Trace line 2: task 1 starts munmap while mmap is unfinished",
  );
  throwsExactly(
    () => parseStrace(`${mmap}\n2 getpid() = 2\n1 <... munmap resumed>) = 0\n`),
    'Trace line 3: "<... munmap resumed>" but task 1 left mmap unfinished',
  );
});

Deno.test("strace parser: the [pid  N] prefix, -t/-tt times and a core-dumping kill", () => {
  // strace -f writing to a terminal prefixes lines with `[pid %5u]` (the pid padded to 5 columns,
  // strace's printleader); -t/-tt print the time of day; a task killed with a core dump ends with
  // `+++ killed by SIGSEGV (core dumped) +++` (an exit with no status).
  const p = parseStrace([
    "[pid  4242] 12:00:01.500000 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000",
    "[pid 14255] 12:00:02 exit_group(0) = ?",
    "[pid  4242] 12:00:03.250000 +++ killed by SIGSEGV (core dumped) +++",
  ].join("\n"));
  assert.deepEqual(p.events.map((e) => [e.type, e.line, e.pid, e.time]), [
    ["call", 1, 4242, 43201.5],
    ["call", 2, 14255, 43202],
    ["exit", 3, 4242, 43203.25],
  ]);
  assert.equal((p.events[0] as TraceCall).ret, 0x7f0000000000);
  assert.deepEqual(p.events[2], { type: "exit", line: 3, pid: 4242, time: 43203.25, status: null });
});

/** Replays `text` once under anon_vma with synthetic touches of each mapping's first page. */
function replayText(name: string, text: string, touch = "first-page"): RunResult {
  registerTrace(name, text);
  return replay({ trace: name, copies: 1, repeat: 1, touch });
}

Deno.test("trace-replay: MAP_SHARED_VALIDATE is a shared mapping, MAP_PRIVATE a CoW one", () => {
  // MAP_SHARED_VALIDATE (0x03) is MAP_SHARED with flag checking (uapi mman-common.h): a write to
  // it dirties the file's page (faults_file), while a write to a MAP_PRIVATE file mapping copies
  // the page into an anon folio (faults_cow_file, one anon_vma).
  const r = replayText(
    "shared_validate",
    [
      '7 openat(AT_FDCWD, "/dev/shm/x", O_RDWR) = 3',
      "7 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_SHARED_VALIDATE, 3, 0) = 0x7f0000000000",
      "7 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE, 3, 0x2000) = 0x7f0000100000",
      "7 exit_group(0) = ?",
    ].join("\n"),
  );
  assert.equal(r.counters.faults_file, 1);
  assert.equal(r.counters.faults_cow_file, 1);
  assert.equal(r.slab.allocs.anon_vma, 1);
});

Deno.test("trace-replay: madvise(MADV_DONTFORK) keeps the VMA out of the fork child", () => {
  // MADV_DONTFORK = 10 (uapi mman-common.h) sets VM_DONTCOPY: dup_mmap skips the VMA, so the
  // child gets no anon_vma or chain for it; only the parent's anon_vma and its one chain exist.
  const r = replayText(
    "dontfork",
    [
      "7 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000",
      "7 madvise(0x7f0000000000, 8192, MADV_DONTFORK) = 0",
      "7 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f) = 8",
      "8 exit_group(0) = ?",
      "8 +++ exited with 0 +++",
      "7 exit_group(0) = ?",
    ].join("\n"),
  );
  assert.equal(r.counters.forks, 1);
  assert.equal(r.counters.faults_anon_new, 1);
  assert.equal(r.slab.allocs.anon_vma, 1);
  assert.equal(r.slab.allocs.anon_vma_chain, 1);
});

Deno.test("trace-replay: mremap(MREMAP_DONTUNMAP) leaves the old range mapped", () => {
  // With MREMAP_DONTUNMAP the source VMA stays (emptied) after the move (mm/mremap.c), so the
  // trace's later mprotect of the old range succeeds in the replay too: no divergence.
  const r = replayText(
    "dontunmap",
    [
      "7 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000",
      "7 mremap(0x7f0000000000, 8192, 8192, MREMAP_MAYMOVE|MREMAP_DONTUNMAP) = 0x7f0000100000",
      "7 mprotect(0x7f0000000000, 8192, PROT_READ) = 0",
      "7 exit_group(0) = ?",
    ].join("\n"),
  );
  assert.equal(r.counters.mremap_moves, 1);
  assert.equal(
    note(r, "Replayed calls"),
    "Replayed calls: exit_group 1, mmap 1, mprotect 1, mremap 1",
  );
  assert.equal(
    note(r, "Calls that diverged"),
    "Calls that diverged (succeeded in the trace, failed in the replay): none",
  );
});

Deno.test("trace-replay: brk to unaligned breaks maps and unmaps whole pages", () => {
  // The break itself may be unaligned, the heap VMA ends at PAGE_ALIGN(brk) (mm/mmap.c brk):
  // 0x800 maps page 0; 0x2800 maps pages 1-2 (merged with page 0); 0x1000 unmaps pages 1-2
  // (a split of the heap VMA). Each grow is touched once: 2 anon pages.
  const r = replayText(
    "brk_unaligned",
    [
      "7 brk(NULL) = 0x555500000000",
      "7 brk(0x555500000800) = 0x555500000800",
      "7 brk(0x555500002800) = 0x555500002800",
      "7 brk(0x555500001000) = 0x555500001000",
      "7 exit_group(0) = ?",
    ].join("\n"),
  );
  assert.equal(note(r, "Replayed calls"), "Replayed calls: brk 4, exit_group 1");
  assert.equal(
    note(r, "Calls that diverged"),
    "Calls that diverged (succeeded in the trace, failed in the replay): none",
  );
  assert.equal(r.counters.merges, 1);
  assert.equal(r.counters.splits, 1);
  assert.equal(r.counters.faults_anon_new, 2);
});

Deno.test("trace-replay: a vfork child shares its parent's mm until it execs (no fork)", () => {
  // vfork is clone(CLONE_VM|CLONE_VFORK) (kernel/fork.c): no dup_mmap; the child's execve gives
  // it a mm of its own; 2 mm exits (the child's new mm, the parent's).
  const r = replayText(
    "vfork_exec",
    [
      "7 vfork() = 8",
      '8 execve("/bin/true", ["true"], 0x7ffe /* 1 var */) = 0',
      "8 exit_group(0) = ?",
      "8 +++ exited with 0 +++",
      "7 wait4(8, NULL, 0, NULL) = 8",
      "7 exit_group(0) = ?",
    ].join("\n"),
    "none",
  );
  assert.equal(r.counters.forks ?? 0, 0);
  assert.equal(r.counters.exits, 2);
  assert.equal(
    note(r, "Other: "),
    "Other: execs_without_layout 1, processes_started_mid_trace 1, vfork_children 1",
  );
  assert.deepEqual(tableRows(r, "Trace replay: process tree"), [
    [7, "-", "root", 0, "-", "-"],
    [8, 7, "vfork", 0, "true", "0/1"],
  ]);
});

Deno.test("trace-replay: a killed thread-group leader takes its threads (and the mm) with it", () => {
  // A CLONE_THREAD thread belongs to its leader's group; strace prints `+++ killed by SIGKILL +++`
  // for the leader once the group is gone, so the thread leaves with it and the mm is torn down
  // there, not left to the end of the trace.
  const r = replayText(
    "killed_group",
    [
      "10 clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM, stack=0x7f, stack_size=0x9000}, 88) = 11",
      "11 futex(0x7f00, FUTEX_WAIT, 0, NULL <unfinished ...>",
      "10 +++ killed by SIGKILL +++",
      "20 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000",
      "20 exit_group(0) = ?",
    ].join("\n"),
    "none",
  );
  assert.equal(r.counters.exits, 2);
  assert.equal(note(r, "Other: "), "Other: processes_started_mid_trace 2, threads 1");
  assert.deepEqual(tableRows(r, "Trace replay: process tree"), [
    [10, "-", "root", 1, "-", "-"],
    [20, "-", "seen mid-trace", 0, "-", "-"],
  ]);
});
