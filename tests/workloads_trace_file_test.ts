// The recorded trace format (workloads/trace_file.ts), its gzip reader (workloads/gzip.ts), the
// exec layouts and fidelity classes of the replay, and the library of real traces.

import assert from "node:assert/strict";
import { runOne } from "../runner/recorder.ts";
import type { RunResult } from "../reports/results.ts";
import { crc32, gunzip, GzipError } from "../workloads/gzip.ts";
import {
  base64Bytes,
  decodeTraceBytes,
  formatTraceFile,
  parseTraceFile,
  sanitizePaths,
} from "../workloads/trace_file.ts";
import { parseStrace, TraceParseError } from "../workloads/strace_parser.ts";
import { registerTrace, shippedTraces, traceNames } from "../workloads/trace_replay.ts";
import { TRACE_LIBRARY } from "../workloads/traces/library.ts";

const QUIET = { reclaimIntervalNs: 0, migrateIntervalNs: 0 };

function replay(params: Record<string, number | string | boolean>, scheme = "anon_vma"): RunResult {
  return runOne({ scheme, workload: "trace-replay", params, seed: 1, machine: QUIET });
}

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const s = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(s).arrayBuffer());
}

function tableRows(r: RunResult, title: string): (string | number)[][] {
  const t = (r.extraTables ?? []).find((x) => x.title === title);
  assert.ok(t, `no table "${title}"`);
  return t.rows;
}

Deno.test("gunzip inflates what CompressionStream wrote (stored, fixed and dynamic blocks)", async () => {
  assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
  let seed = 7;
  const rand = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
  for (const n of [0, 1, 255, 70_000, 300_000]) {
    const data = new Uint8Array(n);
    // Text-like runs with random bytes mixed in: every block type and long matches occur.
    for (let i = 0; i < n; i++) data[i] = i % 5 === 0 ? rand() : 97 + ((i * 7) % 13);
    const out = gunzip(await gzip(data));
    assert.equal(out.length, n);
    assert.ok(out.every((b, i) => b === data[i]));
  }
  // Two members back to back are one stream (gzip -c a b).
  const ab = [
    ...await gzip(new TextEncoder().encode("a\n")),
    ...await gzip(new TextEncoder().encode("b\n")),
  ];
  assert.equal(new TextDecoder().decode(gunzip(new Uint8Array(ab))), "a\nb\n");
});

Deno.test("gunzip: truncated, corrupt and non-gzip data are one-line errors", async () => {
  const z = await gzip(new TextEncoder().encode("x".repeat(5000) + "y".repeat(3000)));
  for (const cut of [3, 12, z.length - 9, z.length - 1]) {
    assert.throws(() => gunzip(z.subarray(0, cut)), (e: unknown) => {
      assert.ok(e instanceof GzipError);
      assert.match(e.message, /^Gzip data is truncated/);
      return true;
    });
  }
  const bad = z.slice();
  bad[bad.length - 6] ^= 0xff; // the CRC-32
  assert.throws(() => gunzip(bad), /CRC-32 mismatch/);
  assert.throws(
    () => gunzip(new TextEncoder().encode("plain text")),
    /^GzipError: Not gzip|Not gzip/,
  );
  // Text that is not gzip is read as a plain strace log.
  assert.equal(decodeTraceBytes(new TextEncoder().encode("1 exit(0) = ?\n")), "1 exit(0) = ?\n");
});

const HEADER = {
  kernel: "6.18.44",
  machine: "x86_64",
  command: "/home/ann/app --out=/home/ann/data/x",
  date: "2026-11-30T20:00:00Z",
  recorder: "rmapbench-record 1",
};

Deno.test("trace file: written and read back, paths outside system directories sanitised", () => {
  const names = new Map<string, string>();
  assert.equal(
    sanitizePaths('execve("/home/ann/app", ["app", "/tmp/x/y"], 0x7ffe /* 3 vars */) = 0', names),
    'execve("/sanitized/1/app", ["app", "/sanitized/2/y"], 0x7ffe /* 3 vars */) = 0',
  );
  assert.equal(
    sanitizePaths("/usr/lib/libc.so.6 /etc/ld.so.cache", names),
    "/usr/lib/libc.so.6 /etc/ld.so.cache",
  );
  const text = formatTraceFile({
    header: HEADER,
    layouts: [{
      pid: 9,
      time: 10.0005,
      maps: "55d000000000-55d000001000 r--p 00000000 fe:00 77   /home/ann/app\n" +
        "7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0          [stack]\n" +
        "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0  [vsyscall]\n",
    }],
    strace: '9 10.000000 execve("/home/ann/app", ["app"], 0x7ffe /* 1 var */) = 0\n',
    perf: "9 10.5 55d000000010\n",
  });
  assert.ok(!text.includes("/home/ann"), text);
  const f = parseTraceFile(text);
  assert.equal(f.header.command, "/sanitized/1/app --out=/sanitized/2/x");
  assert.equal(f.header.kernel, "6.18.44");
  assert.deepEqual(f.layouts[0].entries.map((e) => [e.start, e.end, e.prot, e.shared, e.path]), [
    [0x55d000000000, 0x55d000001000, 1, false, "/sanitized/1/app"],
    [0x7ffc00000000, 0x7ffc00021000, 3, false, "[stack]"],
    [0xffffffffff600000, 0xffffffffff601000, 4, false, "[vsyscall]"],
  ]);
  assert.equal(f.layouts[0].time, 10.0005);
  assert.equal(f.strace, '9 10.000000 execve("/sanitized/1/app", ["app"], 0x7ffe /* 1 var */) = 0');
  assert.deepEqual(f.faults.map((x) => [x.tid, x.time, x.addr]), [[9, 10.5, 0x55d000000010]]);
});

Deno.test("trace file: malformed input is a one-line error naming the file line", () => {
  const good = formatTraceFile({
    header: HEADER,
    layouts: [],
    strace: "1 1.0 exit_group(0) = ?\n",
    perf: "",
  });
  const lines = good.split("\n");
  const cases: [string, RegExp][] = [
    ["not a trace\n", /^Trace file line 1: expected "rmapbench-trace 1"/],
    [
      good.replace("kernel: ", "kernel "),
      /^Trace file line 2: malformed header line "kernel 6\.18\.44"/,
    ],
    [good.replace(/^machine: .*\n/m, ""), /^Trace file line 6: the header has no "machine:" line/],
    [
      good.replace("=== strace", "=== strace\n=== weird"),
      /^Trace file line 8: unknown section "=== weird"/,
    ],
    [
      good.replace("=== perf", "=== perf\n12 zz 7f00"),
      /^Trace file line 10: malformed page-fault line/,
    ],
    [
      good.replace("=== strace", "=== maps 1 1.0\nnot-a-map"),
      /^Trace file line 8: malformed maps line/,
    ],
    [good.split("=== strace")[0], /^Trace file line 7: no "=== strace" section/],
    [
      good.replace("=== perf", "=== maps 1 2.0\n=== perf"),
      /^Trace file line 9: a maps section after the strace section/,
    ],
  ];
  // A page-fault record keeps its own line of the file (for the replay's messages).
  const withFault = parseTraceFile(good.replace("=== perf", "=== perf\n12 1.5 7f00"));
  assert.deepEqual(withFault.faults, [{ line: 10, pid: 12, tid: 12, time: 1.5, addr: 0x7f00 }]);
  for (const [text, re] of cases) {
    assert.throws(() => parseTraceFile(text), (e: unknown) => {
      assert.ok(e instanceof TraceParseError, String(e));
      assert.match(e.message, re);
      assert.ok(!e.message.includes("\n"));
      return true;
    });
  }
  // A bad strace line inside a trace file names the line of the file, not of the strace text.
  lines.splice(8, 0, "1 1.0 this is not strace");
  assert.throws(
    () => registerTrace("bad_file", lines.join("\n")),
    /Trace file line 9: cannot parse "this is not strace"$/,
  );
  // A trace file carries its own faults.
  assert.throws(
    () => registerTrace("two", good, "x 1/1 1.0: page-faults: 10"),
    /without a perf file/,
  );
});

Deno.test("replay: exec layouts, execveat, clone3 and the fidelity classes on a tiny trace file", () => {
  // pid 50 execs /usr/bin/app (layout recorded), applies RELRO to its image (possible only with
  // the layout), clone3s a thread and a child, which execveat's a program with no snapshot and
  // mprotects its image (layout missing); a MADV_COLLAPSE (not implemented), a failed mmap
  // (failed on the host) and an unfinished mmap (never returned) complete the classes.
  const text = formatTraceFile({
    header: HEADER,
    layouts: [{
      pid: 50,
      time: 1.05,
      maps: "555500000000-555500002000 r--p 00000000 fe:00 1 /usr/bin/app\n" +
        "555500002000-555500004000 rw-p 00002000 fe:00 1 /usr/bin/app\n" +
        "7fff00000000-7fff00021000 rw-p 00000000 00:00 0 [stack]\n" +
        "7fff00100000-7fff00102000 r-xp 00000000 00:00 0 [vdso]\n",
    }],
    strace: [
      '50 1.000000 execve("/usr/bin/app", ["app"], 0x7ffe /* 1 var */) = 0',
      "50 1.100000 mprotect(0x555500002000, 4096, PROT_READ) = 0",
      "50 1.200000 mmap(NULL, 65536, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_32BIT, -1, 0) = 0x7f0000000000",
      "50 1.210000 madvise(0x7f0000000000, 65536, MADV_COLLAPSE) = 0",
      "50 1.220000 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = -1 ENOMEM (Cannot allocate memory)",
      "50 1.300000 clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD, stack=0x1, stack_size=0x1000}, 88) = 51",
      "50 1.400000 clone3({flags=SIGCHLD, exit_signal=SIGCHLD}, 88) = 52",
      "51 1.410000 exit(0) = ?",
      "51 1.420000 +++ exited with 0 +++",
      '52 1.500000 execveat(AT_FDCWD, "/usr/bin/tool", ["tool"], 0x7ffe /* 1 var */, 0) = 0',
      "52 1.600000 mprotect(0x555600003000, 4096, PROT_READ) = 0",
      "52 1.700000 kill(50, SIGUSR1) = 0",
      "52 1.800000 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0 <unfinished ...>",
      "50 1.900000 wait4(52, NULL, 0, NULL) = 52",
      "50 2.000000 exit_group(0) = ?",
    ].join("\n"),
    perf: "50 1.25 7f0000000000\n50 1.26 7f0000001000\n50 1.27 555500002100\n",
  });
  registerTrace("tiny_file", text);
  const r = replay({ trace: "tiny_file", copies: 1, repeat: 1 });
  assert.equal(r.counters.forks, 1);
  assert.equal(r.counters.faults_anon_new, 2); // the two writes in the anonymous mapping
  const rows = tableRows(r, "Trace replay: fidelity");
  assert.deepEqual(rows.map((x) => [x[0], x[1]]), [
    ["exec-time layout missing", 1],
    ["failed on the host too (skipped)", 1],
    ["not implemented by the model (skipped)", 1],
    ["never returned in the trace (skipped)", 1],
    ["acts on a process the trace does not follow (skipped)", 0],
    ["genuine model difference", 0],
  ]);
  assert.match(
    String(rows[0][2]),
    /^line 11, pid 52: mprotect\(0x555600003000, 4096, PROT_READ\) -> mprotect failed with ENOMEM/,
  );
  assert.equal(rows[5][2], "-");
  assert.deepEqual(tableRows(r, "Trace replay: process tree"), [
    [50, "-", "root", 1, "app", "1/1"],
    [52, 50, "clone3", 0, "tool", "0/1"],
  ]);
  const notes = r.notes!.join("\n");
  assert.match(notes, /Calls without a memory effect \(recognised, skipped\): kill 1, wait4 1/);
  assert.match(notes, /Unknown syscalls \(counted and skipped\): none/);
  assert.match(notes, /replayed without their effect: MAP_32BIT 1/);
  assert.match(
    notes,
    /Recorded on Linux 6\.18\.44 x86_64, 2026-11-30T20:00:00Z, by rmapbench-record 1: \/sanitized\/1\/app/,
  );
  // The exec'd image and stack of pid 50 came from the layout (vdso left out).
  assert.match(notes, /layout_mappings 3, layout_special_mappings_left_out 1/);
});

Deno.test("replay without fault data says so in one note instead of printing silent zeros", () => {
  registerTrace(
    "no_faults",
    "7 mmap(NULL, 16384, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000\n7 exit_group(0) = ?\n",
  );
  const r = replay({ trace: "no_faults", copies: 1, repeat: 1 });
  assert.equal(r.slab.allocs.anon_vma, 0);
  const lines = r.notes!.filter((n) => n.startsWith("No page-fault data"));
  assert.equal(lines.length, 1);
  assert.match(lines[0], /deno task record.*touch=first-page or touch=all-writable/);
  const off = replay({ trace: "fork_demo", copies: 1, repeat: 1, faults: "none" });
  assert.ok(off.notes!.some((n) => n.startsWith("Page faults are off (faults=none, touch=none)")));
  const touched = replay({ trace: "no_faults", copies: 1, repeat: 1, touch: "first-page" });
  assert.ok(!touched.notes!.some((n) => /^No page-fault data|^Page faults are off/.test(n)));
});

Deno.test("library: four real traces, registered by name, small, with layouts for their execs", () => {
  assert.deepEqual(TRACE_LIBRARY.map((t) => t.name), [
    "python_fork_pool",
    "make_j2",
    "redis_bgsave",
    "chromium_headless",
  ]);
  for (const t of TRACE_LIBRARY) assert.ok(traceNames().includes(t.name), t.name);
  const total = shippedTraces().reduce((s, t) => s + t.bytes, 0);
  assert.ok(total < 3_000_000, `shipped traces take ${total} bytes`);
  for (const t of TRACE_LIBRARY) {
    const f = parseTraceFile(decodeTraceBytes(base64Bytes(t.gzipBase64)));
    assert.match(f.header.kernel, /^6\.18\./, t.name);
    assert.ok(f.faults.length > 1000, `${t.name} has page faults`);
    assert.ok(f.layouts.length > 0, `${t.name} has exec layouts`);
    assert.ok(
      !/\/tmp\/|\/root\/|\/home\//.test(f.strace + f.header.command),
      `${t.name} is sanitised`,
    );
  }
});

Deno.test("python_fork_pool under anon_vma: exact figures, process tree, no divergence", () => {
  // Pool(4) with the fork start method: the root python3 starts 3 threads (the pool's handler
  // threads) and forks 4 workers with clone(SIGCHLD); 5 mm exits. The recorded layout of the one
  // exec (python3, ld.so, stack) is mapped, so no call fails for want of it.
  const r = replay({ trace: "python_fork_pool" });
  assert.equal(r.counters.forks, 4);
  assert.equal(r.counters.exits, 5);
  assert.equal(r.counters.faults_anon_new, 1763);
  assert.equal(r.counters.faults_cow_copy, 1957);
  // 37 and 161: the handler threads' stacks (MAP_STACK: VM_NOHUGEPAGE with THP) merge with no
  // neighbour, and two of them take no neighbour's anon_vma (anon_vma_compatible compares flags).
  assert.equal(r.counters.merges, 37);
  assert.equal(r.slab.allocs.anon_vma, 161);
  assert.equal(r.slab.allocs.anon_vma_chain, 326);
  assert.equal(r.oracle.mismatches, 0);
  assert.ok(r.oracle.leakFree);
  assert.deepEqual(tableRows(r, "Trace replay: process tree"), [
    [28142, "-", "root", 3, "python3", "1/1"],
    [28147, 28142, "clone", 0, "-", "-"],
    [28150, 28142, "clone", 0, "-", "-"],
    [28154, 28142, "clone", 0, "-", "-"],
    [28157, 28142, "clone", 0, "-", "-"],
  ]);
  assert.deepEqual(tableRows(r, "Trace replay: fidelity").map((x) => x[1]), [0, 0, 0, 0, 0, 0]);
  const notes = r.notes!.join("\n");
  assert.match(notes, /Replays: 1 \(copies x repeat\)/);
  assert.match(notes, /without a memory effect \(recognised, skipped\): kill 1, wait4 31/);
  assert.match(notes, /Unknown syscalls \(counted and skipped\): none/);
  assert.match(notes, /execs_with_layout 1, /);
});

Deno.test("every shipped real trace replays with no genuine model difference and no unknown syscall", () => {
  for (const t of TRACE_LIBRARY) {
    const r = replay({ trace: t.name });
    assert.equal(r.oracle.mismatches, 0, t.name);
    const fidelity = tableRows(r, "Trace replay: fidelity");
    assert.equal(fidelity[5][0], "genuine model difference");
    assert.equal(fidelity[5][1], 0, `${t.name}: ${fidelity[5][2]}`);
    assert.equal(fidelity[0][1], 0, `${t.name} misses an exec layout: ${fidelity[0][2]}`);
    assert.deepEqual(tableRows(r, "Trace replay: unknown syscalls"), [], t.name);
  }
});

Deno.test("python_fork_pool under every scheme: oracle clean, no divergence", () => {
  for (const s of ["anon_vma-2026", "anon_vma-per-av-lock", "anon_vma_lazy", "cow_context"]) {
    const r = replay({ trace: "python_fork_pool" }, s);
    assert.equal(r.oracle.mismatches, 0, s);
    assert.ok(r.oracle.leakFree, s);
    assert.deepEqual(
      tableRows(r, "Trace replay: fidelity").map((x) => x[1]),
      [0, 0, 0, 0, 0, 0],
      s,
    );
  }
});

Deno.test("strace parser and replay: a thread's execve superseding its leader", () => {
  const text = [
    "10 1.0 clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD}, 88) = 11",
    "10 1.1 futex(0x1, FUTEX_WAIT, 0, NULL <unfinished ...>",
    '11 1.2 execve("/bin/true", ["true"], 0x7ffe /* 1 var */ <unfinished ...>',
    "10 1.3 +++ superseded by execve in pid 11 +++",
    "10 1.4 <... execve resumed>) = 0",
    "10 1.5 exit_group(0) = ?",
    "10 1.6 +++ exited with 0 +++",
  ].join("\n");
  const p = parseStrace(text);
  assert.deepEqual(
    p.events.map((e) => e.type === "call" ? `${e.pid}:${e.name}=${e.ret}` : `${e.pid}:exit`),
    ["10:clone3=11", "10:futex=null", "10:execve=0", "11:exit", "10:exit_group=null", "10:exit"],
  );
  registerTrace("superseded", text);
  const r = replay({ trace: "superseded", copies: 1, repeat: 1 });
  // The thread's exec gives the process a new mm; the old one goes with the thread (2 mm exits).
  assert.equal(r.counters.exits, 2);
  assert.deepEqual(tableRows(r, "Trace replay: process tree"), [[
    10,
    "-",
    "root",
    1,
    "true",
    "0/1",
  ]]);
});

Deno.test("replay: a failure in a process with a recorded layout is a genuine model difference", () => {
  // The layout-missing class is only for processes without a snapshot (module doc of
  // trace_replay.ts): with the layout of pid 50 mapped, an mprotect that succeeded on the host
  // on a range the replay never mapped is a genuine difference, not blamed on the layout.
  const text = formatTraceFile({
    header: HEADER,
    layouts: [{
      pid: 50,
      time: 1.05,
      maps: "555500000000-555500002000 r--p 00000000 fe:00 1 /usr/bin/app\n" +
        "7fff00000000-7fff00021000 rw-p 00000000 00:00 0 [stack]\n",
    }],
    strace: [
      '50 1.000000 execve("/usr/bin/app", ["app"], 0x7ffe /* 1 var */) = 0',
      "50 1.100000 mprotect(0x555600000000, 4096, PROT_READ) = 0",
      "50 2.000000 exit_group(0) = ?",
    ].join("\n"),
    perf: "",
  });
  registerTrace("layout_genuine", text);
  const r = replay({ trace: "layout_genuine", copies: 1, repeat: 1 });
  const rows = tableRows(r, "Trace replay: fidelity");
  assert.deepEqual(rows.map((x) => [x[0], x[1]]), [
    ["exec-time layout missing", 0],
    ["failed on the host too (skipped)", 0],
    ["not implemented by the model (skipped)", 0],
    ["never returned in the trace (skipped)", 0],
    ["acts on a process the trace does not follow (skipped)", 0],
    ["genuine model difference", 1],
  ]);
  assert.match(
    String(rows[5][2]),
    /^line 2, pid 50: mprotect\(0x555600000000, 4096, PROT_READ\) -> mprotect failed with ENOMEM/,
  );
});

/** A gzip member around `deflate` (RFC 1952): header with `flags` and `fields`, then the trailer. */
function member(
  deflate: number[],
  trailer: { crc: number; size: number },
  flags = 0,
  fields: number[] = [],
): Uint8Array {
  const le32 = (x: number): number[] => [x & 0xff, (x >>> 8) & 0xff, (x >>> 16) & 0xff, x >>> 24];
  return new Uint8Array([
    0x1f,
    0x8b,
    8,
    flags,
    0,
    0,
    0,
    0,
    0,
    255,
    ...fields,
    ...deflate,
    ...le32(trailer.crc),
    ...le32(trailer.size),
  ]);
}

/** One final stored block of `data` (RFC 1951 section 3.2.4), NLEN `nlen` (LEN's complement). */
function stored(data: number[], nlen = data.length ^ 0xffff): number[] {
  return [1, data.length & 0xff, data.length >> 8, nlen & 0xff, nlen >> 8, ...data];
}

const ABC = [97, 98, 99];
const ABC_TRAILER = { crc: crc32(new Uint8Array(ABC)), size: 3 };

Deno.test("gunzip: stored blocks and header fields as gzip(1) writes them", () => {
  const text = (b: Uint8Array): string => new TextDecoder().decode(gunzip(b));
  assert.equal(text(member(stored(ABC), ABC_TRAILER)), "abc");
  // `gzip FILE` stores the name (FNAME, flag 8, NUL-terminated, RFC 1952 section 2.3.1);
  // FEXTRA (4, 2-byte length), FCOMMENT (16) and FHCRC (2, a 2-byte CRC) are skipped likewise.
  const name = [...new TextEncoder().encode("trace.txt"), 0];
  assert.equal(text(member(stored(ABC), ABC_TRAILER, 8, name)), "abc");
  const all = [2, 0, 0xaa, 0xbb, ...name, 0x63, 0, 0x12, 0x34];
  assert.equal(text(member(stored(ABC), ABC_TRAILER, 4 | 8 | 16 | 2, all)), "abc");
});

Deno.test("gunzip: corruption the CRC-32 cannot see is still refused (NLEN, ISIZE, distance)", () => {
  const refused = (b: Uint8Array, message: string): void => {
    assert.throws(() => gunzip(b), (e: unknown) => {
      assert.ok(e instanceof GzipError, String(e));
      assert.equal(e.message, message);
      return true;
    });
  };
  // A stored block's NLEN must be the one's complement of LEN (RFC 1951 section 3.2.4), even
  // when the data and CRC-32 are right.
  refused(member(stored(ABC, 0xfffd), ABC_TRAILER), "Gzip data is corrupt (a stored block)");
  // ISIZE is the input size mod 2^32 (RFC 1952 section 2.3.1): a wrong one is refused.
  refused(
    member(stored(ABC), { crc: ABC_TRAILER.crc, size: 4 }),
    "Gzip data is corrupt (length mismatch)",
  );
  // A fixed-Huffman block (RFC 1951 section 3.2.6): literal "a", then <length 3, distance 1>
  // = "aaaa"; the same match with no literal before it points before the output's start. Bits
  // are packed from the least significant end, Huffman codes most significant bit first.
  const fixedBlock = (literalA: boolean): number[] => {
    const bytes: number[] = [];
    let acc = 0, nbits = 0;
    const put = (v: number, n: number): void => {
      for (let i = 0; i < n; i++) {
        acc |= ((v >> i) & 1) << nbits;
        if (++nbits === 8) {
          bytes.push(acc);
          acc = 0;
          nbits = 0;
        }
      }
    };
    const code = (c: number, n: number): void => {
      for (let i = n - 1; i >= 0; i--) put((c >> i) & 1, 1);
    };
    put(1, 1); // BFINAL
    put(1, 2); // BTYPE = 01, fixed codes
    if (literalA) code(0x30 + 97, 8); // literals 0-143: 8-bit codes from 00110000
    code(257 - 256, 7); // length code 257 (length 3): 7-bit codes from 0000000
    code(0, 5); // distance code 0 (distance 1)
    code(0, 7); // end of block (256)
    if (nbits > 0) bytes.push(acc);
    return bytes;
  };
  const aaaa = new TextEncoder().encode("aaaa");
  assert.equal(
    new TextDecoder().decode(gunzip(member(fixedBlock(true), { crc: crc32(aaaa), size: 4 }))),
    "aaaa",
  );
  // The trailer is that of what a reader without the check would produce (three zero bytes).
  const zeros = new Uint8Array(3);
  refused(
    member(fixedBlock(false), { crc: crc32(zeros), size: 3 }),
    "Gzip data is corrupt (a distance too far back)",
  );
});
