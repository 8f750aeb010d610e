// rmapbench verify (tools/verify): the scenario language, the model driver, the noise filter and
// export, and, where the host can be measured (root, /sys/kernel/slab, cc), the live comparison
// of the model with this machine's kernel. A scenario that cannot be measured cleanly (another
// process disturbed every run) is an ignored step with its reason; a difference fails, unless the
// scenario documents it with a `known` line (then the step is ignored with that reason, and a
// known difference that no longer shows fails, so stale notes are noticed).

import assert from "node:assert/strict";
import { assertEquals, assertThrows } from "./assert.ts";
import { lower, parseScenarios, ScenarioError } from "../tools/verify/scenario.ts";
import { runModel } from "../tools/verify/model.ts";
import {
  cleanupRunner,
  hostKernelParams,
  hostRequirements,
  stepFigure,
} from "../tools/verify/host.ts";
import { loadSuite, modelFigures, verifySuite } from "../tools/verify/verify.ts";
import { exportWorkload } from "../tools/verify/export.ts";
import { registerTrace } from "../workloads/trace_replay.ts";

const suite = await loadSuite();

Deno.test("verify: the suite has at least 40 scenarios with a source each", () => {
  assert(suite.length >= 40, `only ${suite.length} scenarios`);
  for (const s of suite) assert(s.source !== "", `${s.name} has no source line`);
});

Deno.test("verify: lowering is exact (the program runner.c reads)", () => {
  const [s] = parseScenarios(
    [
      "scenario t",
      "file F3 8",
      "spawn A",
      "map A 10 4 rw private file=F3:2 fixed",
      "mremap A 10 4 4 to=h0",
    ].join("\n").replace("to=h0", "to=20 dontunmap"),
  );
  assertEquals(
    lower(s, 3),
    [
      `K 3 ${2 ** 32} ${2 ** 18}`,
      "F 3 8",
      "N 1",
      "O 1 0 0 0 0 0 0 0 0",
      `O 5 0 0 10 4 3 0 ${3 + 2 * 256} 1`,
      "O 9 0 0 10 4 4 7 20 0",
      "O 3 0 0 0 0 0 0 0 0",
      "",
    ].join("\n"),
  );
});

Deno.test("verify: KSM steps lower exactly; a scenario that used KSM ends with a scan", () => {
  const [s] = parseScenarios(
    [
      "scenario k",
      "spawn A",
      "map A 10 2 rw private",
      "madvise A 10 2 mergeable",
      "write A 10 1 value=7",
      "write A 11 1",
      "ksmd 2",
    ].join("\n"),
  );
  assertEquals(s.steps.slice(-2).map((st) => st.text), ["exit A (teardown)", "ksmd 1 (teardown)"]);
  assertEquals(
    lower(s, 1).split("\n").slice(2),
    [
      "O 1 0 0 0 0 0 0 0 0",
      "O 5 0 0 10 2 3 0 -1 0",
      "O 8 0 0 10 2 12 0 0 0", // MADV_MERGEABLE
      "O 11 0 0 10 1 1 7 0 0", // a write of content id 7
      "O 11 0 0 11 1 1 -1 0 0", // unique content
      "O 13 0 2 0 0 0 0 0 0", // two full scans
      "O 3 0 0 0 0 0 0 0 0",
      "O 13 0 1 0 0 0 0 0 0",
      "",
    ],
  );
  // process_madvise: the target's slot, the advice, each range as page * 2^20 + pages, -1 after.
  const [pm] = parseScenarios(
    "scenario pm\nspawn A\nfork A B\npmadvise A B pageout 10:2 0:0 expect=ADVISED:2",
  );
  assertEquals(
    lower(pm, 1).split("\n")[4],
    `O 15 0 0 1 21 ${10 * 2 ** 20 + 2} 0 -1 -1`,
  );
  assertEquals(pm.steps[2].expect, "ADVISED:2");
  // Without MADV_MERGEABLE nothing is registered: no teardown scan.
  const [t] = parseScenarios("scenario t\nspawn A\nmap A 10 1 rw private\nksmd 1");
  assertEquals(t.steps.at(-1)!.text, "exit A (teardown)");
});

Deno.test("verify: scenario errors name the line and the valid choices", () => {
  const bad: [string, RegExp][] = [
    ["spawn P0", /before the first "scenario NAME"/],
    ["scenario a\nspawn P0\nfrobnicate P0", /:3: unknown step "frobnicate"; valid: .*mremap/],
    ["scenario a\nmap P0 0 1 rw private", /process P0 is not alive/],
    ["scenario a\nspawn P0\nexit P0\nwrite P0 0 1", /P0 is not alive here \(it exited\)/],
    ["scenario a\nspawn P0\nmap P0 0 1 rq private", /bad protection "rq"/],
    ["scenario a\nspawn P0\nmadvise P0 0 1 collapse", /bad advice "collapse"; valid: dontneed/],
    ["scenario a\nspawn P0\nmremap P0 0 1 1 dontunmap", /dontunmap needs to=ADDR/],
    ["scenario a\nspawn P0\nwrite P0 0 1 expect=EXDEV", /bad expect=EXDEV; valid: OK/],
    ["scenario a\nspawn P0\nmap P0 0 1 rw private file=F0:0", /file F0 not declared/],
    ["scenario a\nspawn P0\nksmd 0", /bad scan count "0" \(an integer in \[1, 16\]\)/],
    ["scenario a\nspawn P0\nksmd 1 expect=EINVAL", /ksmd cannot expect a failure/],
    ["scenario a\nspawn P0\nread P0 0 1 value=3", /option value not valid for read/],
    ["scenario a\nspawn P0\nwrite P0 0 1 value=x", /bad content id "x"/],
    [
      "scenario a\nspawn P0\npmadvise P0 P0 cold 0:1 1:1 2:1 3:1 4:1",
      /expected: pmadvise PROC TARGET ADVICE PAGE:PAGES\.\.\. \(1 to 4 ranges\)/,
    ],
    ["scenario a\nspawn P0\npmadvise P0 P0 cold 5", /bad range "5" \(arena PAGE:PAGES\)/],
    ["scenario a\nspawn P0\npmadvise P0 P1 cold 0:1", /process P1 is not alive/],
    ["scenario a\nspawn P0\nmadvise P0 0 1 cold expect=ADVISED:1", /bad expect=ADVISED:1/],
    ["scenario a\nspawn P0\nmlockall P0 now", /bad mlockall flag "now"; valid: current, future/],
    ["scenario a\nspawn P0\nmlockall P0", /mlockall needs current, future or onfault/],
  ];
  for (const [text, re] of bad) {
    const e = assertThrows(() => parseScenarios(text, "x.scn"), ScenarioError);
    assert(re.test(e.message), `${JSON.stringify(text)}: ${e.message}`);
  }
});

Deno.test("verify: every scenario runs on the model and meets its expected outcomes", () => {
  for (const s of suite) {
    const m = runModel(s, 2);
    s.steps.forEach((st, j) => {
      // A `resident` step without expect= leaves its count to the host (see scenario.ts).
      if (st.expect !== "") assertEquals(m.outcomes[j], st.expect, `${s.name}: ${st.text}`);
    });
    // Every process exited at the end: nothing is left.
    assertEquals([m.anonVma.at(-1), m.anonVmaChain.at(-1)], [0, 0], s.name);
  }
});

Deno.test("verify: model per-copy figures and layouts of pinned cases (measured on Linux 6.18)", () => {
  const at = (name: string, label: string): { av: number; avc: number; layout: string[] } => {
    const s = suite.find((x) => x.name === name)!;
    const f = modelFigures(s);
    const j = s.steps.findIndex((st) => st.op === "measure" && st.label === label);
    const layout = [...f.one.layouts.get(j)!].map((l) =>
      `${l.proc} ${l.copy < 0 ? "h" : ""}${l.start}-${l.end} ${l.perms} ${l.pgoff} ${l.kind}`
    );
    return { av: f.anonVma[j + 1], avc: f.anonVmaChain[j + 1], layout };
  };
  // §12.5 E3: 1 + N anon_vmas and 1 + 2N AVCs per faulted region.
  assertEquals(at("breadth-fork-2", "forked").av, 3);
  assertEquals(at("breadth-fork-2", "forked").avc, 5);
  // §12.5 E4: a daemonising chain stays at three anon_vmas and three AVCs per region.
  assertEquals([at("chain-exit-6", "gen6").av, at("chain-exit-6", "gen6").avc], [3, 3]);
  // merge.c mprotect_unfaulted_left expects one VMA (a merge newer kernels make); Linux 6.18
  // keeps the unfaulted RO VMA and the faulted one apart, and so does the model.
  assertEquals(at("merge-mprotect-unfaulted-left", "merged").layout, [
    "P0 1-6 r--p 0 anon",
    "P0 6-11 r--p 0 anon",
  ]);
  // A private file mapping keeps its file page offsets across a split.
  assertEquals(at("file-private-pgoff-merge", "discontiguous").layout, [
    "P0 10-18 rw-p 0 F1",
    "P0 20-24 rw-p 10 F1",
    "P0 24-28 rw-p 20 F1",
  ]);
  // KSM (host-checked, tools/verify/scenarios/ksm.scn): merged pages' rmap items pin the
  // anon_vma past the munmap until ksmd's next scan; one scan merges nothing.
  // k: the copies the per-copy figure is taken over (2k less k, as verify's line through K, 2K
  // and 3K copies): pages zero-filled by the kernel merge across copies, linearly from two on.
  const ksm = (name: string, steps: number[], k = 1): number[] => {
    const f = modelFigures(suite.find((x) => x.name === name)!, "anon_vma", {}, k);
    return steps.map((j) => f.anonVma[j + 1]);
  };
  // Steps: 5 the ksmd step(s), 6 munmap, 7 ksmd 1.
  assertEquals(ksm("ksm-one-scan-merges-nothing", [5, 6]), [1, 0]);
  assertEquals(ksm("ksm-two-scans-merge-and-pin", [5, 6, 7]), [1, 1, 0]);
  // A page given the KSM page's content is merged two scans later, not one (checksum first).
  assertEquals(ksm("ksm-join-stable-after-two-scans", [10]), [1]);
  assertEquals(ksm("ksm-join-stable-pins", [10, 11]), [2, 1]);
  // MADV_UNMERGEABLE breaks the pages but leaves their items (and pins) to ksmd's next scan.
  assertEquals(ksm("ksm-unmergeable-keeps-items-until-scan", [6, 7]), [1, 0]);
  assertEquals(ksm("ksm-unmergeable-then-scan", [6, 7]), [1, 0]);
  // Zero-filled pages merge across the arena's copies; a fork child's mappings join the KSM
  // page in the same scan and pin its anon_vma past its exit (steps 5 ksmd 2, 6 exit, 7 ksmd 1).
  assertEquals(ksm("ksm-fork-zero-pages-unlocked", [5, 6, 7], 4), [2, 2, 1]);
  // In a VM_LOCKED VMA, the merge leaves a reference in ksmd's mlock batch on the page it
  // unmapped, and the child's dirty mapping of it fails write_protect_page: no pin after the
  // exit (steps 4 ksmd, 5 exit, 6 ksmd 1); the next full scan drains the batch first.
  assertEquals(ksm("ksm-mlock-batch-ref", [4, 5, 6], 4), [2, 1, 1]);
  assertEquals(ksm("ksm-mlock-batch-drained-next-scan", [4, 5, 6], 4), [2, 2, 1]);
  // A clean, read-only, shared mapping is not checked (steps 7 ksmd, 8 exit, 9 ksmd 1).
  assertEquals(ksm("ksm-mlock-batch-clean-pte", [7, 8, 9], 4), [2, 2, 1]);
  // THPs: ksmd splits one before merging its pages (steps 5 ksmd 3, 6 munmap, 7 ksmd 1); the
  // split maps the pages that still hold zeroes to the zero page, so a THP one write faulted in
  // leaves nothing to merge (steps 6 ksmd 3, 7 munmap).
  assertEquals(ksm("ksm-thp-split-and-merged", [5, 6, 7], 4), [1, 1, 0]);
  assertEquals(ksm("ksm-thp-half-written", [5, 6, 7], 4), [1, 1, 0]);
  assertEquals(ksm("ksm-thp-pages-not-merged", [6, 7], 4), [1, 0]);
  // brk: the heap is one VMA from start_brk.
  assertEquals(at("brk-grow-shrink", "regrown").layout, ["P0 h0-8 rw-p 0 anon"]);
  // smaps' Anonymous: and AnonHugePages: per VMA (host-checked, thp.scn): a write to the huge
  // zero page maps a whole THP unless its PMD was split; fork copies the PMD.
  const pages = (name: string, label: string): string[] => {
    const s = suite.find((x) => x.name === name)!;
    const j = s.steps.findIndex((st) => st.op === "measure" && st.label === label);
    return modelFigures(s).one.layouts.get(j)!.map((l) =>
      `${l.proc} ${l.start}-${l.end} ${l.anon} ${l.anonHuge}`
    );
  };
  assertEquals(pages("thp-zero-page-write-maps-thp", "zero"), ["P0 0-1024 0 0"]);
  assertEquals(pages("thp-zero-page-write-maps-thp", "written"), ["P0 0-1024 512 512"]);
  assertEquals(pages("thp-zero-page-split-by-vma-boundary", "m0"), ["P0 0-1024 1 0"]);
  assertEquals(pages("thp-zero-page-split-by-zap", "m0"), ["P0 0-1024 1 0"]);
  assertEquals(pages("thp-zero-page-fork-copies-pmd", "child-wrote"), [
    "P0 0-1024 0 0",
    "P1 0-1024 512 512",
  ]);
  assertEquals(pages("thp-zero-page-mremap", "m0"), ["P0 1536-2048 512 512", "P0 3073-3585 1 0"]);
  assertEquals(pages("thp-zero-page-mlock", "m0"), ["P0 0-1024 1024 1024"]);
  // A THP shared by fork, then copied from in the child: the child's PMD is split.
  assertEquals(pages("thp-write-fault-fork-cow", "m0"), ["P0 0-1024 509 0", "P1 0-1024 512 0"]);
});

Deno.test("verify: the khugepaged probe runs on the model, which collapses nothing", async () => {
  // Catches: a probe that no longer parses or runs (tools/verify/probes is not in the suite), or
  // a model that starts collapsing (then the probe's known line must go).
  const text = await Deno.readTextFile(
    new URL("../tools/verify/probes/khugepaged.scn", import.meta.url),
  );
  const [s] = parseScenarios(text, "khugepaged.scn");
  assert(s.known !== undefined && s.known !== "");
  const f = modelFigures(s);
  const j = s.steps.findIndex((st) => st.op === "measure");
  assertEquals(f.one.layouts.get(j)!.map((l) => [l.anon, l.anonHuge]), [[512, 0]]);
});

Deno.test("verify: the noise filter keeps only changes that grow linearly with the copies", () => {
  // Clean: 3 per copy, intercept 11 (the runner's own VMAs copied by fork); K = 4.
  assertEquals(stepFigure(4, [[23, 23], [35, 35], [47]]), 3);
  // Four runs on the line are not enough.
  assertEquals(stepFigure(4, [[23, 23], [35], [47]]), null);
  // One clean run per size is not enough (three points always fit some line with noise).
  assertEquals(stepFigure(4, [[23], [35], [47]]), null);
  // Noise in some runs: the clean line still wins.
  assertEquals(stepFigure(4, [[23, 30, 23], [35, 36, 35], [47, 52]]), 3);
  // Not divisible by K: rejected.
  assertEquals(stepFigure(4, [[23, 23], [34, 34], [45, 45]]), null);
  // Two different lines with equal support: ambiguous, rejected.
  assertEquals(stepFigure(4, [[0, 0, 1, 1], [4, 5, 4, 5], [8, 9]]), null);
  // Negative figures (exit, munmap) are measured too.
  assertEquals(stepFigure(2, [[-12, -12], [-14, -14], [-16]]), -1);
});

Deno.test("verify: exported workloads parse and replay on the model", () => {
  const extra: Record<string, Record<string, number | boolean>> = {
    "android-launch+c": { appCompaction: true, launches: 2 },
    "android-launch+u": { gcUffdMove: true, launches: 2, gcCycles: 2 },
    "android-launch+y": { gcUffdCopy: true, launches: 2, gcCycles: 2 },
  };
  const all = ["fork-storm", "server-prefork", "android-launch", ...Object.keys(extra)];
  for (const w of all) {
    const id = w.replace(/\+.$/, "");
    const text = exportWorkload({ workload: id, params: extra[w] ?? {} });
    // App compaction's process_madvise calls are exported (its stack range left out).
    if (w.endsWith("+c")) assert(/^pmadvise P\d+ P\d+ pageout /m.test(text), text);
    // gcUffdMove's registrations and moves are exported (verified exact on Linux 6.18).
    if (w.endsWith("+u")) {
      assert(/^uffd_register P\d+ \d+ 16$/m.test(text), text);
      assert(/^uffd_move P\d+ \d+ \d+ 1$/m.test(text), text);
      assert(/^uffd_unregister P\d+ \d+ 16$/m.test(text), text);
    }
    // gcUffdCopy's registrations and fills are exported (verified exact on Linux 6.18).
    if (w.endsWith("+y")) {
      assert(/^uffd_register P\d+ \d+ 16$/m.test(text), text);
      assert(/^uffd_copy P\d+ \d+ \d+$/m.test(text), text);
      assert(/^uffd_unregister P\d+ \d+ 16$/m.test(text), text);
    }
    assertEquals(
      exportWorkload({ workload: id, params: extra[w] ?? {} }),
      text,
      `${w}: export is deterministic`,
    );
    const [s] = parseScenarios(text, w);
    assert(s.steps.length > 5, w);
    const m = runModel(s, 1);
    s.steps.forEach((st, j) => assertEquals(m.outcomes[j], st.expect, `${w}: ${st.text}`));
  }
});

Deno.test("verify: export writes locks, process_madvise and mmap flags, and counts what it leaves out", () => {
  // A trace with the mlock family, MAP_POPULATE/MAP_LOCKED, flag advice, mlockall and munlockall
  // and process_madvise on a forked child: every call is written. Catches:
  // calls dropped silently, or written so that the exported scenario's outcomes differ from the
  // workload's.
  registerTrace(
    "export_locks",
    [
      "7 mmap(NULL, 32768, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_POPULATE, -1, 0) = 0x7f0000000000",
      "7 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_LOCKED, -1, 0) = 0x7f0000100000",
      "7 mlock(0x7f0000001000, 8192) = 0",
      "7 mlock2(0x7f0000004000, 4096, MLOCK_ONFAULT) = 0",
      "7 munlock(0x7f0000001000, 4096) = 0",
      "7 madvise(0x7f0000006000, 8192, MADV_DONTDUMP) = 0",
      "7 mlockall(MCL_CURRENT) = 0",
      "7 munlockall() = 0",
      "7 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f0000fff000) = 8",
      "7 pidfd_open(8, 0) = 3",
      "7 process_madvise(3, [{iov_base=0x7f0000000000, iov_len=8192}, {iov_base=0x7f0000200000, iov_len=4096}], 2, MADV_COLD, 0) = 8192",
      "8 exit_group(0) = ?",
      "7 exit_group(0) = ?",
    ].join("\n"),
  );
  const text = exportWorkload({
    workload: "trace-replay",
    params: { trace: "export_locks", copies: 1, repeat: 1 },
  });
  const lines = text.split("\n");
  assertEquals(
    lines.filter((l) => /^(map|mlock |munlock |madvise|pmadvise)/.test(l)),
    [
      "map P0 64 8 rw private fixed populate",
      "map P0 136 2 rw private fixed locked",
      "mlock P0 65 2",
      "mlock P0 68 1 onfault",
      "munlock P0 65 1",
      "madvise P0 70 2 dontdump",
      "pmadvise P0 P1 cold 64:2 202:1 expect=ADVISED:2",
    ],
  );
  assertEquals(lines.filter((l) => /^m?(un)?lockall/.test(l)), [
    "mlockall P0 current",
    "munlockall P0",
  ]);
  assert(!text.includes("# Left out"), text);
  const [s] = parseScenarios(text, "export_locks");
  const m = runModel(s, 1);
  s.steps.forEach((st, j) => assertEquals(m.outcomes[j], st.expect, st.text));
});

/** The THP sysfs of a host with the defaults (madvise, the huge zero page on). */
const THP = { enabled: "always [madvise] never\n", useZeroPage: "1\n" };

Deno.test("verify: the model follows the host's zero-page configuration", async () => {
  const swaps = "Filename\tType\tSize\tUsed\tPriority\n/dev/zram0 partition 65532 0 100\n";
  const none = await hostKernelParams("console=ttyS0 quiet", swaps, "N\n", THP);
  assertEquals(none, { params: {}, notes: [] });
  const pvm = await hostKernelParams("quiet pvm_no_zero_page=1 tsc=unstable", swaps, "N", THP);
  assertEquals(pvm.params, { zeroPage: false });
  assertEquals(pvm.notes.length, 1);
  const noSwap = await hostKernelParams(
    "quiet",
    "Filename\tType\tSize\tUsed\tPriority\n",
    undefined,
    THP,
  );
  assertEquals(noSwap.params, { swapSpace: false });
  assertEquals(noSwap.notes, [
    "host kernel has no swap (/proc/swaps lists none): the model runs with kernel.swapSpace=false",
  ]);
  // A swap file (asynchronous writeback) unless zswap stores the pages; zram, of a higher
  // priority here, is synchronous and used first.
  const file = "Filename\tType\tSize\tUsed\tPriority\n/swapfile file 65532 0 -2\n" +
    "/dev/zram0 partition 65532 0 100\n";
  assertEquals(await hostKernelParams("quiet", file, "N\n", THP), { params: {}, notes: [] });
  const onlyFile = "Filename\tType\tSize\tUsed\tPriority\n/swapfile file 65532 0 -2\n";
  assertEquals(await hostKernelParams("quiet", onlyFile, "N\n", THP), {
    params: { swapSyncIo: false },
    notes: [
      "host kernel swaps to /swapfile without synchronous I/O (zswap off): " +
      "the model runs with kernel.swapSyncIo=false",
    ],
  });
  assertEquals(await hostKernelParams("quiet", onlyFile, "Y\n"), { params: {}, notes: [] });
  // The THP sysfs mode and huge zero page: the defaults need nothing, others are passed on.
  const always = { enabled: "[always] madvise never\n", useZeroPage: "0\n" };
  assertEquals((await hostKernelParams("quiet", file, "N\n", always)).params, {
    thpEnabled: "always",
    thpUseZeroPage: false,
  });
  const noThp = await hostKernelParams("quiet", file, "N\n", { enabled: "", useZeroPage: "" });
  assertEquals(noThp.params, { thp: false });
  assertEquals(noThp.notes, [
    "host kernel has no THP (no THP sysfs mode): the model runs with kernel.thp=false",
  ]);
  // A read of untouched memory: the zero page (no anon_vma), or a folio and an anon_vma.
  const [s] = parseScenarios("scenario z\nspawn P0\nmap P0 0 2 rw private\nread P0 0 2\n");
  assertEquals(runModel(s, 1).anonVma[3], 0); // after the read step
  assertEquals(runModel(s, 1, "anon_vma", { zeroPage: false }).anonVma[3], 1);
});

Deno.test("verify: the model follows the host's swap; resident counts what mincore counts", () => {
  // Bug caught: reclaim without swap space that still swaps out (the host keeps the pages), or a
  // resident count that ignores swap entries.
  const text = "scenario p\nspawn P0\nmap P0 0 8 rw private\nwrite P0 0 8\n" +
    "madvise P0 0 8 pageout\nresident P0 0 8\nresident P0 0 9 expect=ENOMEM\n";
  const [s] = parseScenarios(text);
  assertEquals(s.steps[4].expect, "");
  assertEquals(runModel(s, 2).outcomes.slice(3, 6), ["OK", "RESIDENT:0", "ENOMEM"]);
  assertEquals(runModel(s, 2, "anon_vma", { swapSpace: false }).outcomes.slice(3, 6), [
    "OK",
    "RESIDENT:8",
    "ENOMEM",
  ]);
  const bad = "scenario b\nspawn P0\nmap P0 0 1 rw private\nresident P0 0 1 expect=OK\n";
  assertThrows(() => parseScenarios(bad), ScenarioError, "never OK");
});

const req = await hostRequirements();

Deno.test({
  name: `verify: the host kernel agrees with the model${
    req.ok ? "" : ` (skipped: missing ${req.missing.join("; ")})`
  }`,
  ignore: !req.ok,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    try {
      // 8 rounds bound the time on a busy machine (a scenario needing more is skipped).
      const { params } = await hostKernelParams();
      const verdicts = await verifySuite(suite, { maxRounds: 8, kernelParams: params });
      for (const v of verdicts) {
        const s = suite.find((x) => x.name === v.name)!;
        if (v.status === "host-unstable") {
          await t.step({
            name: `${v.name}: host unstable (${v.summary})`,
            ignore: true,
            fn(): void {},
          });
        } else if (v.status === "differ" && s.known) {
          await t.step({
            name: `${v.name}: known difference (${s.known})`,
            ignore: true,
            fn(): void {},
          });
        } else {
          await t.step(`${v.name}`, () => {
            assert(
              !(v.status === "exact" && s.known),
              `${v.name} is exact now: remove its "known" line (${s.known})`,
            );
            assertEquals(v.details, [], `${v.name}: the host kernel and the model differ`);
          });
        }
      }
    } finally {
      await cleanupRunner();
    }
  },
});

Deno.test("verify: bad command lines are one-line errors with exit 2", async () => {
  const { verifyCli } = await import("../tools/verify/cli.ts");
  const cases: [string[], RegExp][] = [
    [["verify", "--copies", "0"], /--copies must be an integer in \[1, 64\]/],
    [["verify", "--scheme", "nope"], /unknown scheme "nope"; valid: anon_vma/],
    [["verify", "--only", "nope"], /no scenario named nope; valid: /],
    [["verify", "--frob"], /unknown option "--frob" for verify; valid: --scheme/],
    [["verify", "--random", "0"], /--random must be an integer in \[1, 10000\]/],
    [["verify", "--random", "2", "--file", "x.scn"], /--random and --file exclude each other/],
    [["verify", "--seed", "3"], /--seed needs --random N/],
    [["export"], /export needs --workload; valid: fork-storm/],
    [["export", "--workload", "fork-storm", "--param", "pages=0"], /pages must be/],
    // A single-valued option or a parameter given twice (the last one used to win silently).
    [
      ["verify", "--copies", "2", "--copies", "3"],
      /^error: option --copies of verify is given more than once \("2", "3"\); give it once\n$/,
    ],
    [["verify", "--label", "a", "--label", "b"], /--label of verify is given more than once/],
    [["verify", "--only", "a", "--only", "b"], /--only of verify is given more than once/],
    [["verify", "--rounds", "2", "--rounds", "2"], /--rounds of verify is given more than once/],
    [["verify", "--scheme", "anon_vma", "--scheme", "cow_context"], /--scheme of verify is given/],
    [
      ["export", "--workload", "fork-storm", "--seed", "1", "--seed", "2"],
      /--seed of export is given more than once \("1", "2"\)/,
    ],
    [["export", "--workload", "fork-storm", "--workload", "reflink-share"], /--workload of export/],
    [
      ["export", "--workload", "fork-storm", "--out", "a", "--out", "b"],
      /--out of export is given/,
    ],
    [
      ["export", "--workload", "fork-storm", "--param", "pages=2", "--param", "pages=3"],
      /parameter pages is given more than once/,
    ],
  ];
  for (const [argv, re] of cases) {
    let out = "", err = "";
    const code = await verifyCli(argv, { out: (t) => out += t, err: (t) => err += t });
    assertEquals(code, 2, argv.join(" "));
    assertEquals(out, "");
    assert(re.test(err) && err.split("\n").length === 2, `${argv.join(" ")}: ${err}`);
  }
});

Deno.test("verify: the summary line and exit codes", async () => {
  const { summaryLine, exitCode } = await import("../tools/verify/verify.ts");
  const v = (status: "exact" | "differ" | "host-unstable") => ({
    name: status,
    status,
    summary: "",
    details: [],
  });
  const all = [v("exact"), v("differ"), v("host-unstable"), v("exact")];
  assertEquals(summaryLine(all), "verify: 4 scenarios, 2 exact, 1 differ, 1 host-unstable");
  assertEquals(exitCode(all), 1);
  assertEquals(exitCode([v("exact"), v("host-unstable")]), 3);
  assertEquals(exitCode([v("exact")]), 0);
});
