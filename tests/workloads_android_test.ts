import assert from "node:assert/strict";
import { runOne } from "../runner/recorder.ts";
import { SCHEMES } from "../core/rmap/registry.ts";
import { resolveParams } from "../workloads/workload.ts";
import {
  ANDROID_CALIBRATION_TOLERANCE,
  ANDROID_LAUNCH,
  androidCalibration,
} from "../workloads/android_launch.ts";
import type { RunResult } from "../reports/results.ts";

const QUIET = { reclaimIntervalNs: 0, migrateIntervalNs: 0 };

/**
 * A tiny phone at scale 1: one native daemon, zygote with 10 regions, system_server, one launch
 * of one process; no unmaps, no mprotect splits, no runtime forks, one GC cycle (at start-up).
 */
const TINY = {
  scale: 1,
  launches: 1,
  processesPerLaunch: 1,
  bootAppProcesses: 0,
  nativeDaemons: 1,
  nativeVmas: 4,
  nativeFaultedFraction: 0.5,
  zygoteVmas: 10,
  zygoteFaultedFraction: 0.5,
  zygoteHeapRegions: 1,
  appVmas: 6,
  appFaultedFraction: 0.5,
  appThreads: 1,
  appUnmapFraction: 0,
  appMprotectSplits: 0,
  appCowFraction: 0.5,
  gcCycles: 1,
  appForkShare: 0,
  heapPages: 4,
  regionPages: 2,
  writePages: 1,
};

/** One anon_vma run of the tiny phone with `extra` parameters on top (seed 1, no daemons). */
function tinyRun(extra: Record<string, number | boolean>): RunResult {
  return runOne({
    scheme: "anon_vma",
    workload: "android-launch",
    params: { ...TINY, ...extra },
    seed: 1,
    machine: QUIET,
  });
}

/** Simulated objects of one moment in the calibration table, by cache. */
function markOf(r: RunResult, moment: string): Record<string, number> {
  const t = r.extraTables?.[0];
  assert.ok(t, "calibration table");
  const out: Record<string, number> = {};
  for (const row of t.rows) if (row[0] === moment) out[row[1] as string] = Number(row[4]);
  return out;
}

Deno.test("android-launch: exact objects of a tiny phone (anon_vma)", () => {
  // Native daemon (spawn + execve): 4 regions, half written; its stack is one of the written:
  //   VMAs 4 (stack, 1 written region, 2 clean file mappings), anon_vma 2, AVC 2.
  // zygote64 (spawn + execve): 10 regions, round(10 × 0.5) = 5 written = stack + 1 heap space +
  //   3 image regions, and 5 clean file mappings: VMAs 10, anon_vma 5, AVC 5.
  // Each zygote child (system_server, then the launched app), fork without exec (§4):
  //   inherited: 10 VMAs; the 5 faulted ones get 1 leaf anon_vma + 2 AVCs each → 5 / 10;
  //   own image: 6 regions incl. the 2 ART heap regions, round(6 × 0.5) = 3 written incl. both
  //     heap regions → 1 written (1 anon_vma, 1 AVC) + 3 clean file mappings;
  //   1 thread stack: mmap + mprotect of the guard page before any fault → 2 VMAs, the stack's
  //     first write allocates 1 anon_vma + 1 AVC (the guard neighbour has none to reuse);
  //   ART heap: moving space + from-space reservation (2 VMAs). The start-up compaction
  //     mremap(MAYMOVE|FIXED|DONTUNMAP)s the moving space onto the from-space (the new VMA keeps
  //     the heap's anon_vma and AVC; the source is unlinked, §12.5 E6) and re-faults the moving
  //     space (a new anon_vma + AVC): 2 anon_vmas, 2 AVCs.
  //   per child: VMAs 10 + 4 + 2 + 2 = 18, anon_vma 5 + 1 + 1 + 2 = 9, AVC 10 + 1 + 1 + 2 = 14.
  // After boot (native + zygote + system_server): VMAs 4 + 10 + 18 = 32, anon_vma 2 + 5 + 9 = 16,
  //   AVC 2 + 5 + 14 = 21. After 1 launch: + 18 / 9 / 14 → 50 / 25 / 35.
  const r = runOne({
    scheme: "anon_vma",
    workload: "android-launch",
    params: TINY,
    seed: 1,
    machine: QUIET,
  });
  assert.deepEqual(markOf(r, "after boot"), {
    vm_area_struct: 32,
    anon_vma_chain: 21,
    anon_vma: 16,
  });
  assert.deepEqual(markOf(r, "after 1 launches"), {
    vm_area_struct: 50,
    anon_vma_chain: 35,
    anon_vma: 25,
  });
  assert.equal(r.slab.final.objects.vm_area_struct, 50);
  assert.equal(r.slab.final.objects.anon_vma, 25);
  assert.equal(r.slab.final.objects.anon_vma_chain, 35);
  assert.equal(r.slab.final.objects.mm_struct, 4);
  assert.equal(r.counters.forks, 2);
  assert.equal(r.latency.mremap.count, 2);
  assert.deepEqual(r.walks, {});
});

Deno.test("android-launch: anon folios of the tiny phone; a GC cycle releases the from-space", () => {
  // TINY without a GC cycle (writePages 1): native daemon stack + 1 written region = 2 folios;
  // zygote stack + heap space (4 pages, written completely) + 3 written image regions = 8;
  // each of the 2 zygote children CoWs round(0.5 × (3 + 4)) = 4 inherited written pages (the
  // stack is not one of zygote's listed regions), writes 1 own region, 1 thread stack page and
  // its 4-page moving space: 10 → 2 + 8 + 2 × 10 = 30.
  // One cycle (§9.3): mremap(DONTUNMAP) moves the 4 moving-space folios to the from-space, the
  // live round(4 × 0.5) = 2 pages are re-faulted, and MADV_DONTNEED frees the from-space's 4:
  // 2 × (4 − 2) fewer = 26.
  const folios = (extra: Record<string, number>): number =>
    tinyRun(extra).counters.anon_folios_final;
  assert.equal(folios({ gcCycles: 0 }), 30);
  assert.equal(folios({ gcCycles: 1 }), 26);
  // writePages is "at most regionPages": 5 on 2-page regions writes 2 pages of each, as
  // writePages 2 does: the native region, zygote's 3 regions and each child's own region one
  // page more, and one more CoW page per child (round(0.5 × (6 + 4)) = 5): 26 + 1 + 3 +
  // 2 × (1 + 1) = 34.
  assert.equal(folios({ writePages: 2 }), 34);
  assert.equal(folios({ writePages: 5 }), 34);
});

Deno.test("android-launch gcUffdMove: a GC cycle moves the live pages with UFFDIO_MOVE", () => {
  // TINY with one GC cycle in each of its 2 zygote children: the live round(4 × 0.5) = 2 pages
  // are written in the from-space and moved back into the registered moving space, one
  // UFFDIO_MOVE (one batch) each: 2 × 2 = 4 moves, no failure. The same 26 folios stay as when
  // they are re-faulted (copied): 2 moved folios live on instead of 2 new ones.
  const r = tinyRun({ gcCycles: 1, gcUffdMove: true });
  assert.equal(r.counters.uffd_move_pages, 4);
  assert.equal(r.counters.uffd_move_batches, 4);
  assert.equal(r.counters.uffd_move_failed, undefined);
  assert.equal(r.counters.anon_folios_final, 26);
  // Copying re-faults the 2 live pages of each child; moving writes pages already present.
  const copied = tinyRun({ gcCycles: 1 });
  assert.equal(
    copied.counters.faults_anon_new - r.counters.faults_anon_new,
    4,
  );
  assert.equal(
    tinyRun({ gcCycles: 0, gcUffdMove: true }).counters.uffd_move_pages,
    undefined,
  );
  // Every app forks at runtime before a later cycle: the pages it shared with its child are not
  // PageAnonExclusive, but the GC's write in the from-space (CoW) makes each exclusive again, so
  // all 2 × 3 × 2 = 12 moves succeed.
  const forked = tinyRun({ gcCycles: 3, appForkShare: 1, gcUffdMove: true });
  assert.equal(forked.counters.uffd_move_pages, 12);
  assert.equal(forked.counters.uffd_move_failed, undefined);
});

Deno.test("android-launch gcUffdCopy: a GC cycle as Android 16's ART, with UFFDIO_COPY", () => {
  // TINY with one GC cycle in each of its 2 zygote children: after the DONTUNMAP move, one page
  // of the emptied 4-page moving space is written (a new anon_vma: the move unlinked the old
  // one), the space is registered and emptied, and the live round(4 × 0.5) = 2 pages are filled
  // by one UFFDIO_COPY: 2 × 2 = 4 copied pages, and the same 26 folios as when the live pages are
  // re-faulted. Faults: 1 pre-touch instead of 2 re-faults per child.
  const r = tinyRun({ gcCycles: 1, gcUffdCopy: true });
  assert.equal(r.counters.uffd_copy_pages, 4);
  assert.equal(r.counters.anon_folios_final, 26);
  const refault = tinyRun({ gcCycles: 1 });
  assert.equal(refault.counters.faults_anon_new - r.counters.faults_anon_new, 2);
  // The same VMAs, anon_vmas and AVCs at the end: registering the whole space splits nothing.
  assert.deepEqual(r.slab.final.objects, refault.slab.final.objects);
  assert.equal(r.latency.userfaultfd.count, 2 * 3); // register, copy, unregister
  assert.throws(
    () => tinyRun({ gcCycles: 1, gcUffdCopy: true, gcUffdMove: true }),
    /gcUffdMove and gcUffdCopy are two ways of compacting: set one/,
  );
});

Deno.test("android-launch: unmaps, splits, runtime forks and the low-memory killer", () => {
  // TINY with a zygote of 12 regions, round(12 × 0.5834) = 7 written (stack, 1 heap space and 5
  // image regions) and 5 clean: VMAs 12, anon_vma 7, AVC 7. Each app process
  //   unmaps 20 % of the inherited image regions: 1 of the 5 written (−1 VMA, −1 anon_vma,
  //     −2 AVCs) and 1 of the 5 clean (−1 VMA) → inherited 10 VMAs, 6 anon_vmas, 12 AVCs;
  //   write-protects the first page of 1 inherited written region: one split, +1 VMA and +2 AVCs
  //     (the new VMA clones the 2-entry chain, §3.5);
  //   own regions, stack and heap as in the tiny phone: +8 VMAs, +4 anon_vmas, +4 AVCs;
  //   → VMAs 19, anon_vma 10, AVC 18; and forks a child at runtime that writes a few pages and
  //   exits (41 % on phones; 100 % here), which leaves nothing behind.
  // 3 launches with at most 2 cached apps: the third launch kills the first launched app.
  //   after boot: native 4/2/2 + zygote 12/7/7 + system_server 19/10/18 → 35 VMAs, 19, 27;
  //   final: native + zygote + system_server + launches 2 and 3
  //     VMAs 4 + 12 + 3 × 19 = 73, anon_vma 2 + 7 + 3 × 10 = 39, AVC 2 + 7 + 3 × 18 = 63.
  const r = runOne({
    scheme: "anon_vma",
    workload: "android-launch",
    params: {
      ...TINY,
      zygoteVmas: 12,
      zygoteFaultedFraction: 0.5834,
      appUnmapFraction: 0.2,
      appMprotectSplits: 1,
      launches: 3,
      maxCachedApps: 2,
      appForkShare: 1,
    },
    seed: 1,
    machine: QUIET,
  });
  assert.deepEqual(markOf(r, "after boot"), {
    vm_area_struct: 35,
    anon_vma_chain: 27,
    anon_vma: 19,
  });
  assert.equal(r.slab.final.objects.vm_area_struct, 73);
  assert.equal(r.slab.final.objects.anon_vma, 39);
  assert.equal(r.slab.final.objects.anon_vma_chain, 63);
  // native, zygote, system_server and 2 launched apps; runtime children and the killed app exited.
  assert.equal(r.slab.final.objects.mm_struct, 5);
  // 1 + 3 zygote forks, then one runtime fork per app that lived long enough to fork.
  assert.ok(r.counters.forks > 4);
});

Deno.test("android-launch calibration: within 10 % of the published composition (anon_vma)", () => {
  // Published (§10.3 / §11.1, unpatched 8 GB phone, active KB ÷ x86_64 slot size, §1.6):
  //   after boot 624 k VMAs, 302 k AVCs, 201 k anon_vmas → 3.10 VMAs and 1.50 AVCs per anon_vma;
  //   after 24 launches 1.05 M, 504 k, 328 k → 3.20 and 1.54; per launch 17.7 k, 8.4 k, 5.3 k →
  //   3.36 and 1.59. The default parameters must reproduce every ratio (and the anon_vma count
  //   divided by the scale) within 10 %.
  const r = runOne({ scheme: "anon_vma", workload: "android-launch", seed: 1 });
  const t = r.extraTables?.[0];
  assert.ok(t);
  assert.equal(t.rows.length, 9);
  assert.deepEqual(t.columns, [
    "moment",
    "object",
    "published KB",
    "published objects (derived)",
    "simulated objects",
    "simulated/scale",
    "ratio to anon_vma (published)",
    "ratio to anon_vma (simulated)",
    "deviation %",
    "within 10 %?",
  ]);
  for (const row of t.rows) {
    assert.ok(Math.abs(Number(row[8])) <= ANDROID_CALIBRATION_TOLERANCE * 100, row.join(" | "));
    assert.equal(row[9], "yes", row.join(" | "));
  }
  // The published ratios, derived from the KB figures.
  const ratio = (moment: string, object: string): number =>
    Number(t.rows.find((x) => x[0] === moment && x[1] === object)![6]);
  assert.equal(ratio("after boot", "vm_area_struct"), 3.104);
  assert.equal(ratio("after boot", "anon_vma_chain"), 1.501);
  assert.equal(ratio("after 24 launches", "vm_area_struct"), 3.204);
  assert.equal(ratio("after 24 launches", "anon_vma_chain"), 1.537);
  assert.equal(ratio("growth per launch", "vm_area_struct"), 3.364);
  assert.equal(ratio("growth per launch", "anon_vma_chain"), 1.594);
  assert.ok((r.notes ?? []).some((n) => n.includes("slot size")));
});

Deno.test("androidCalibration derives the published objects from the KB figures", () => {
  const rows = androidCalibration(
    new Map([
      ["after-boot", { vm_area_struct: 624187, anon_vma_chain: 301853, anon_vma: 201121 }],
      ["after-24-launches", { vm_area_struct: 1049989, anon_vma_chain: 503634, anon_vma: 327680 }],
    ]),
    1,
    24,
  );
  assert.equal(rows.length, 9);
  // 117035 KB × 1024 / 192 B = 624186.7 VMAs; 20426.4 KB × 1024 / 104 B = 201121.5 anon_vmas.
  assert.equal(Math.round(rows[0].publishedObjects), 624187);
  assert.equal(Math.round(rows[2].publishedObjects), 201121);
  for (const row of rows) assert.ok(Math.abs(row.deviation) < 1e-4, row.moment + row.object);
});

Deno.test("android-launch runs under every scheme with the daemons (oracle-checked, leak-free)", () => {
  for (const s of SCHEMES) {
    const r = runOne({
      scheme: s.info.id,
      workload: "android-launch",
      params: {
        scale: 0.005,
        bootAppProcesses: 4,
        nativeDaemons: 3,
        launches: 4,
        processesPerLaunch: 2,
        maxCachedApps: 3,
        appForkShare: 0.5,
        appMprotectSplits: 200,
        gcCycles: 2,
        gcIntervalNs: 200_000,
        launchIntervalNs: 200_000,
        forkChildLifetimeNs: 100_000,
        appCompaction: true,
      },
      seed: 5,
      machine: { reclaimIntervalNs: 20_000, migrateIntervalNs: 50_000 },
    });
    assert.equal(r.oracle.mismatches, 0);
    assert.ok(r.oracle.leakFree);
    assert.ok(r.oracle.walksChecked > 0, s.info.id);
    assert.ok((r.latency.mremap?.count ?? 0) > 0, s.info.id);
    // Compaction's try_to_unmap walks, oracle-checked like the daemons' (and swap-ins after).
    assert.ok((r.walks.unmap?.count ?? 0) > 0, s.info.id);
  }
});

Deno.test("android-launch parameters are validated with their ranges", () => {
  assert.throws(
    () => resolveParams(ANDROID_LAUNCH, { scale: 2 }),
    /android-launch parameter scale must be a number in \[0\.001, 1\], got 2/,
  );
  assert.throws(
    () => resolveParams(ANDROID_LAUNCH, { launches: 2.5 }),
    /parameter launches must be an integer in \[0, 1000\]/,
  );
  assert.throws(
    () => runOne({ scheme: "anon_vma", workload: "android-launch", params: { appForkShare: 1.2 } }),
    /parameter appForkShare must be a number in \[0, 1\]/,
  );
  for (const p of ANDROID_LAUNCH.params) {
    assert.ok(p.description.length > 0 && p.source.length > 0, p.name);
    assert.ok(/§|assumption|calibrated|AOSP /.test(p.source), p.name);
  }
});

Deno.test("android-launch: webview_zygote, the USAP pool and zygote32 on a tiny phone (anon_vma)", () => {
  const objs = (v: number, avc: number, av: number): Record<string, number> => ({
    vm_area_struct: v,
    anon_vma_chain: avc,
    anon_vma: av,
  });
  // webview_zygote (WebViewZygote.startChildZygote): forked from zygote64 after system_server,
  // it inherits zygote's 10 VMAs (5 faulted: 5 anon_vmas, 10 AVCs) and maps 4 regions of its
  // own, round(4 × 0.3) = 1 written (1 anon_vma, 1 AVC): 14 / 6 / 11. The launch starts one
  // renderer (share 1) forked from webview_zygote: 14 inherited VMAs, 6 faulted (5 with chains
  // of 2 → 3 AVCs each, 1 with a chain of 1 → 2) = 6 anon_vmas, 17 AVCs; then the app process's
  // own 8 VMAs, 4 anon_vmas, 4 AVCs: 22 / 10 / 21.
  const w = tinyRun({ webviewZygote: true, webviewVmas: 4, webviewRendererShare: 1 });
  assert.deepEqual(markOf(w, "after boot"), objs(32 + 14, 21 + 11, 16 + 6));
  assert.deepEqual(markOf(w, "after 1 launches"), objs(46 + 18 + 22, 32 + 14 + 21, 22 + 9 + 10));
  assert.equal(w.slab.final.objects.mm_struct, 4 + 2);
  // USAP pool (max 3, refill below 1): after system_server zygote64 forks 3 idle USAPs
  // (10 VMAs, 5 anon_vmas, 10 AVCs each, no specialisation). The launch takes one (2 left, no
  // refill) and specialises it: + 8 / 4 / 4.
  const u = tinyRun({ usapPool: true });
  assert.deepEqual(markOf(u, "after boot"), objs(32 + 30, 21 + 30, 16 + 15));
  assert.deepEqual(markOf(u, "after 1 launches"), objs(62 + 8, 51 + 4, 31 + 4));
  assert.equal(u.slab.final.objects.mm_struct, 4 + 2);
  assert.equal(u.counters.forks, 1 + 3);
  // The pool is refilled once it holds fewer USAPs than usapPoolRefillThreshold
  // (ZygoteConfig): with 2 left, threshold 2 does not refill, threshold 3 forks one more idle
  // USAP (+10 VMAs, +10 AVCs, +5 anon_vmas, one more mm).
  const u2 = tinyRun({ usapPool: true, usapPoolRefillThreshold: 2 });
  assert.equal(u2.counters.forks, 1 + 3);
  assert.equal(u2.slab.final.objects.mm_struct, 4 + 2);
  const u3 = tinyRun({ usapPool: true, usapPoolRefillThreshold: 3 });
  assert.equal(u3.counters.forks, 1 + 3 + 1);
  assert.equal(u3.slab.final.objects.mm_struct, 4 + 3);
  assert.deepEqual(markOf(u3, "after 1 launches"), objs(70 + 10, 55 + 10, 35 + 5));
  // zygote32 (init.zygote64_32.rc, --enable-lazy-preload): at boot only its stack is written
  // (1 / 1 / 1). The launched app is 32-bit (share 1): zygote32 preloads 6 regions first — the
  // stack and 2 more written (2 / 2 new), 3 clean — then forks it: 6 inherited VMAs, 3 faulted
  // (3 anon_vmas, 6 AVCs) + its own 8 / 4 / 4.
  const z = tinyRun({ zygote32: true, zygote32Vmas: 6, app32Share: 1 });
  assert.deepEqual(markOf(z, "after boot"), objs(33, 22, 17));
  assert.deepEqual(markOf(z, "after 1 launches"), objs(33 + 5 + 14, 22 + 2 + 10, 17 + 2 + 7));
  assert.equal(z.slab.final.objects.mm_struct, 5);
});

Deno.test("android-launch appCompaction: a backgrounded app's private anonymous memory is paged out", () => {
  // TINY with two launches: when app 2 starts, app 1 goes to the background and the compaction
  // thread pages out its private VMAs without a file (CachedAppOptimizer, getAnonPageAdvice).
  // With no GC cycle app 1 owns 10 exclusive folios (4 CoW copies of zygote's written pages, its
  // own region, its thread stack, its 4-page moving space); 2 of them sit in written private
  // file mappings (its own region, the first written one of its image, and 1 CoW copy of
  // zygote's file-backed written page; inode != 0: not compacted), so 8 are reclaimed, each by one
  // try_to_unmap walk with one visit (its own anon_vma). One GC cycle leaves 2 of the moving
  // space's 4 pages live: 6. One launch: no app goes to the background, nothing is compacted.
  // Catches: compaction of file VMAs or shared folios, or of the foreground app.
  const run = (extra: Record<string, number | boolean>) => {
    const r = tinyRun({ launches: 2, ...extra });
    return [
      r.counters.folios_reclaimed ?? 0,
      r.walks.unmap?.count ?? 0,
      r.walks.unmap?.visits.sum ?? 0,
    ];
  };
  assert.deepEqual(run({ appCompaction: true, gcCycles: 0 }), [8, 8, 8]);
  assert.deepEqual(run({ appCompaction: true }), [6, 6, 6]);
  assert.deepEqual(run({ appCompaction: false }), [0, 0, 0]);
  assert.deepEqual(run({ appCompaction: true, launches: 1 }), [0, 0, 0]);
});

Deno.test("android-launch: scale multiplies every per-process count (other zygotes too)", () => {
  const objs = (r: RunResult): number[] => {
    const o = r.slab.final.objects;
    return [o.vm_area_struct, o.anon_vma_chain, o.anon_vma, o.mm_struct];
  };
  // Halving scale and doubling every per-process count (native daemon, zygote64, zygote32,
  // webview_zygote, an app's regions, thread stacks, mprotect splits) simulates the same phone.
  const half = {
    scale: 0.5,
    nativeVmas: 8,
    zygoteVmas: 20,
    appVmas: 12,
    appThreads: 2,
    appMprotectSplits: 2,
    zygote32Vmas: 12,
    webviewVmas: 8,
  };
  const full = { appMprotectSplits: 1, zygote32Vmas: 6, webviewVmas: 4 };
  // webview_zygote with one renderer, as in the test above (86 VMAs, 67 AVCs, 41 anon_vmas), and
  // one mprotect split in each of the 3 app processes: +1 VMA and +2 AVCs each.
  const webview = { webviewZygote: true, webviewRendererShare: 1 };
  assert.deepEqual(objs(tinyRun({ ...full, ...webview })), [86 + 3, 67 + 6, 41, 6]);
  assert.deepEqual(objs(tinyRun({ ...half, ...webview })), [86 + 3, 67 + 6, 41, 6]);
  // zygote32 with a 32-bit launch, as above (52 / 34 / 26), and 2 splits (system_server, app).
  const z32 = { zygote32: true, app32Share: 1 };
  assert.deepEqual(objs(tinyRun({ ...full, ...z32 })), [52 + 2, 34 + 4, 26, 5]);
  assert.deepEqual(objs(tinyRun({ ...half, ...z32 })), [52 + 2, 34 + 4, 26, 5]);
});

Deno.test("android-launch: fractional per-process counts are dithered, not rounded", () => {
  // The tiny phone at scale 0.5 with doubled counts, but 2 native daemons of 3 × 0.5 = 1.5 VMAs
  // and 1 × 0.5 = 0.5 thread stacks per app process. Dithered (totals stay proportional):
  //   daemons: 2 and 1 VMAs (each written share dither(0.75) = 1, the stack): 3 VMAs, 2 anon_vmas,
  //     2 AVCs instead of the single tiny daemon's 4 / 2 / 2;
  //   stacks: system_server (app index 0) 1, the launched app 0: the app lacks the stack's
  //     2 VMAs, 1 anon_vma and 1 AVC.
  // VMAs 3 + 10 + 18 + 16 = 47, AVC 2 + 5 + 14 + 13 = 34, anon_vma 2 + 5 + 9 + 8 = 24.
  // Rounding per process would give 2 daemons of 2 VMAs and 2 stacks.
  const r = tinyRun({
    scale: 0.5,
    nativeDaemons: 2,
    nativeVmas: 3,
    zygoteVmas: 20,
    appVmas: 12,
    appThreads: 1,
  });
  const o = r.slab.final.objects;
  assert.deepEqual([o.vm_area_struct, o.anon_vma_chain, o.anon_vma, o.mm_struct], [47, 34, 24, 5]);
});

Deno.test("android-launch: the low-memory killer kills the oldest app, all its processes", () => {
  // 4 launches, at most 2 cached: launch 3 kills launch 1, launch 4 kills launch 2 (killed apps
  // no longer count): native, zygote, system_server and launches 3 and 4 remain; after boot
  // 32 / 21 / 16 plus 2 apps of 18 / 14 / 9 → 68 VMAs, 49 AVCs, 34 anon_vmas.
  const r = tinyRun({ launches: 4, maxCachedApps: 2 });
  const o = r.slab.final.objects;
  assert.deepEqual([o.vm_area_struct, o.anon_vma_chain, o.anon_vma, o.mm_struct], [68, 49, 34, 5]);
  // Launches of 2 processes (main + service, both forked from zygote): launch 3 kills both of
  // launch 1's → 32 + 2 × 36 = 104 VMAs, 21 + 2 × 28 = 77 AVCs, 16 + 2 × 18 = 52 anon_vmas.
  const two = tinyRun({ launches: 3, maxCachedApps: 2, processesPerLaunch: 2 });
  const t = two.slab.final.objects;
  assert.deepEqual(
    [t.vm_area_struct, t.anon_vma_chain, t.anon_vma, t.mm_struct],
    [104, 77, 52, 3 + 4],
  );
  // Which app dies shows in compaction: app 1 is compacted when app 2 starts (8 folios, as in
  // the appCompaction test), app 2 when app 3 starts (9: its CoW copies all fall in anonymous
  // regions); killing app 2 (the newest) at launch 3 instead would leave it uncompacted.
  const c = tinyRun({ launches: 3, maxCachedApps: 2, appCompaction: true, gcCycles: 0 });
  assert.equal(c.counters.folios_reclaimed, 8 + 9);
  assert.equal(
    tinyRun({ launches: 2, appCompaction: true, gcCycles: 0 }).counters.folios_reclaimed,
    8,
  );
});

Deno.test("android-launch: apps fork from zygote; only main processes fork at runtime", () => {
  // One launch of 2 processes, each forked from zygote64 (not the service from the main
  // process): 2 × 18 VMAs, 2 × 14 AVCs (chains of 2, not 3), 2 × 9 anon_vmas after boot's.
  const two = tinyRun({ processesPerLaunch: 2 });
  assert.deepEqual(markOf(two, "after 1 launches"), {
    vm_area_struct: 32 + 36,
    anon_vma_chain: 21 + 28,
    anon_vma: 16 + 18,
  });
  // appForkShare 1: system_server and the launch's main process fork once each at runtime, the
  // service process does not: 3 + 2 forks. CoW copies: 3 processes × round(0.5 × 7) = 12, and
  // each child writes its parent's 1 written own page (a CoW copy): 14.
  const f = tinyRun({ processesPerLaunch: 2, appForkShare: 1 });
  assert.equal(f.counters.forks, 3 + 2);
  assert.equal(f.counters.faults_cow_copy, 12 + 2);
  // USAP pool: only the main process takes a USAP (2 left, no refill); the service process is
  // forked: 1 + 3 + 1 forks; native, zygote, system_server, 2 idle USAPs, main and service.
  const u = tinyRun({ usapPool: true, processesPerLaunch: 2 });
  assert.equal(u.counters.forks, 1 + 3 + 1);
  assert.equal(u.slab.final.objects.mm_struct, 7);
});

Deno.test("android-launch: each app process draws its own choices, reproducibly, by seed", () => {
  // 9 apps (system_server + 8 launches, none killed), each main process forking at runtime
  // with probability 0.5, drawn from its own seeded stream: seed 1 → 6 runtime forks, seed 2
  // → 3 (one stream shared by all apps would make all 9 fork or none).
  const forks = (seed: number): number =>
    runOne({
      scheme: "anon_vma",
      workload: "android-launch",
      params: { ...TINY, appForkShare: 0.5, launches: 8, maxCachedApps: 10 },
      seed,
      machine: QUIET,
    }).counters.forks;
  assert.equal(forks(1), 9 + 6);
  assert.equal(forks(2), 9 + 3);
  assert.equal(forks(1), 9 + 6);
});

Deno.test("android-launch: zygote32 preloads once; renderers inherit zygote64's regions", () => {
  // Two 32-bit launches: zygote32 preloads its 6 regions at the first request only (a second
  // preload would collide with the first, MAP_FIXED_NOREPLACE); the second app adds
  // 14 / 10 / 7 to the 52 / 34 / 26 of one launch (test above).
  const z = tinyRun({ zygote32: true, zygote32Vmas: 6, app32Share: 1, launches: 2 });
  const o = z.slab.final.objects;
  assert.deepEqual(
    [o.vm_area_struct, o.anon_vma_chain, o.anon_vma, o.mm_struct],
    [52 + 14, 34 + 10, 26 + 7, 6],
  );
  assert.equal(z.counters.forks, 3);
  // A WebView renderer inherits zygote64's regions through webview_zygote and CoWs a share of
  // all written ones: 3 image pages + 4 heap pages + webview_zygote's 1 written page →
  // round(0.5 × 8) = 4 copies, as system_server and the app: 12.
  const w = tinyRun({ webviewZygote: true, webviewVmas: 4, webviewRendererShare: 1 });
  assert.equal(w.counters.faults_cow_copy, 3 * 4);
});

Deno.test("android-launch: a third of the written image regions are private file mappings", () => {
  // Written file-backed regions fault by CoW from the page cache (faults_cow_file); the 1st,
  // 4th, 7th ... written region of each image is one. Tiny phone: the native daemon's 1 written
  // region, zygote's first of 3, each zygote child's 1 own region: 1 + 1 + 2 = 4. zygote with
  // 16 regions (8 written: stack, heap space, 6 image regions): 2 of the 6 → 5.
  assert.equal(tinyRun({}).counters.faults_cow_file, 4);
  assert.equal(tinyRun({ zygoteVmas: 16 }).counters.faults_cow_file, 5);
});
