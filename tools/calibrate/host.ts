/**
 * Real-kernel side of rmapbench calibration.
 *
 * Compiles `runner.c` (next to this file) once with the host gcc into a temp
 * dir, runs one scenario, and at each `READY <label>` point of the runner
 * shrinks and reads the live object counts of the `anon_vma`,
 * `anon_vma_chain` and `vm_area_struct` slab caches (SLUB sysfs), together
 * with the per-process VMA counts (`/proc/<pid>/maps` lines) the runner
 * reports. Needs root, `--allow-read --allow-write --allow-run` (or
 * `--allow-all`).
 *
 * `anon_vma_chain` is an alias of a merged 64-byte cache shared with other
 * objects (`fs_cache`, `eventpoll_pwq`, ...), so only deltas are meaningful
 * and per-region figures should come from {@link measureHostSlope}.
 *
 * @module
 */

/** Slab caches read at every measurement point. */
export const SLAB_CACHES = {
  anonVma: "anon_vma",
  anonVmaChain: "anon_vma_chain",
  vmAreaStruct: "vm_area_struct",
} as const;

/** Name of a measured quantity. */
export type CacheKey = keyof typeof SLAB_CACHES;

const SLAB_DIR = "/sys/kernel/slab";
const CACHE_KEYS: CacheKey[] = ["anonVma", "anonVmaChain", "vmAreaStruct"];

/** Live object counts of the three slab caches at one moment. */
export interface SlabCounts {
  anonVma: number;
  anonVmaChain: number;
  vmAreaStruct: number;
}

/** One live scenario process at a READY point, as reported by the runner. */
export interface ProcVmas {
  /** `runner0`, `child<i>` or `gen<k>`. */
  role: string;
  pid: number;
  /** Number of lines of `/proc/<pid>/maps` (includes `[vsyscall]`). */
  vmas: number;
}

/** Everything recorded at one READY point of a host scenario run. */
export interface HostMeasurement {
  label: string;
  /** Settled counts (mode of the stable reads, see `samples`). */
  counts: SlabCounts;
  /** Every settled read taken for each cache (several for the shared AVC cache). */
  samples: Record<CacheKey, number[]>;
  /** True if every settled read of every cache agreed. */
  stable: boolean;
  procs: ProcVmas[];
  /** Sum of `procs[].vmas`. */
  totalVmas: number;
  /**
   * VMA count (`/proc/self/maps` lines) of the measuring Deno process. If it
   * changes during a run, Deno itself created VMAs (and probably anon_vmas):
   * such runs are discarded by {@link measureHostDeltas}.
   */
  selfVmas: number;
}

/** Options of {@link runHostScenario}. */
export interface RunOptions {
  /** Settled reads of the shared `anon_vma_chain` cache per READY (default 3). */
  avcReads?: number;
  /** Max shrink+read attempts per settled read (default 8). */
  maxTries?: number;
}

/** Options of {@link measureHostDeltas} and {@link measureHostSlope}. */
export interface DeltaOptions extends RunOptions {
  /** Clean runs wanted (default 3). */
  repeats?: number;
  /** READY label used as zero (default `base`). */
  baseLabel?: string;
  /** Runs made and ignored first, so Deno's own first-use allocations settle (default 1). */
  warmup?: number;
  /** Give up looking for clean runs after this many (default 4 × repeats). */
  maxRuns?: number;
}

/** Deltas of one READY point relative to the scenario's baseline READY. */
export interface HostDelta {
  label: string;
  anonVma: number;
  anonVmaChain: number;
  vmAreaStruct: number;
  /** Change of the total `/proc/<pid>/maps` line count over all live scenario processes. */
  totalVmas: number;
  /**
   * Scenario-owned VMAs: Σ over live processes of (vmas − runner's vmas at the
   * baseline). Forked processes inherit the runner's base VMAs, so this counts
   * only the scenario's regions in every process.
   */
  regionVmas: number;
  /** VMA count of each live process at this point (runner first). */
  procVmas: number[];
}

/** Result of {@link measureHostDeltas}: per-label modal deltas over repeats. */
export interface HostDeltas {
  scenario: string;
  params: number[];
  baseLabel: string;
  repeats: number;
  /** Modal deltas per label, in READY order. */
  deltas: HostDelta[];
  /** For each label, how many repeats produced exactly the modal anon_vma/AVC/regionVmas deltas. */
  agreement: Record<string, number>;
  /** Every kept run's raw deltas (for reporting). */
  runs: HostDelta[][];
  /** Runs thrown away because the measuring Deno process changed its own VMA count mid-run. */
  discarded: number;
  /** True if `repeats` clean runs were obtained (else the modal deltas include noisy runs). */
  clean: boolean;
}

/** Per-region slope between two V values (`(d(v2) − d(v1)) / (v2 − v1)`) per label. */
export interface HostSlope {
  label: string;
  anonVma: number;
  anonVmaChain: number;
  vmAreaStruct: number;
  regionVmas: number;
  /** True if the anon_vma, AVC and regionVmas slopes are all integers. */
  exact: boolean;
}

/** Result of {@link measureHostSlope}. */
export interface HostSlopes {
  scenario: string;
  v1: number;
  v2: number;
  low: HostDeltas;
  high: HostDeltas;
  slopes: HostSlope[];
  /** Intercept per label: delta at V=0 extrapolated (runner base VMAs etc.). */
  intercepts: HostSlope[];
}

function errMsg(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0];
}

// Sync file ops on purpose: they run on the main thread, whereas async ones may
// make Deno spawn blocking-pool threads (new stack VMAs and anon_vmas = noise).
function readObjects(cache: string): number {
  const text = Deno.readTextFileSync(`${SLAB_DIR}/${cache}/objects`);
  const n = Number.parseInt(text.trim().split(/\s+/)[0], 10);
  if (!Number.isFinite(n)) throw new Error(`cannot parse ${SLAB_DIR}/${cache}/objects: ${text}`);
  return n;
}

function shrink(cache: string): void {
  Deno.writeTextFileSync(`${SLAB_DIR}/${cache}/shrink`, "1");
}

/** Shrink+read until two consecutive reads agree (bounded); returns the last read. */
function settledRead(cache: string, maxTries: number): { value: number; ok: boolean } {
  shrink(cache);
  let prev = readObjects(cache);
  for (let i = 1; i < maxTries; i++) {
    shrink(cache);
    const cur = readObjects(cache);
    if (cur === prev) return { value: cur, ok: true };
    prev = cur;
  }
  return { value: prev, ok: false };
}

function countSelfVmas(): number {
  const text = Deno.readTextFileSync("/proc/self/maps");
  let n = 0;
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) n++;
  return n;
}

function mode(xs: number[]): number {
  const freq = new Map<number, number>();
  let best = xs[0];
  let bestN = 0;
  for (const x of xs) {
    const n = (freq.get(x) ?? 0) + 1;
    freq.set(x, n);
    if (n > bestN || (n === bestN && x < best)) {
      best = x;
      bestN = n;
    }
  }
  return best;
}

function measureSlabs(
  opts: Required<RunOptions>,
): { counts: SlabCounts; samples: Record<CacheKey, number[]>; stable: boolean } {
  const samples: Record<CacheKey, number[]> = { anonVma: [], anonVmaChain: [], vmAreaStruct: [] };
  let stable = true;
  for (const key of CACHE_KEYS) {
    const reads = key === "anonVmaChain" ? opts.avcReads : 1;
    for (let i = 0; i < reads; i++) {
      const r = settledRead(SLAB_CACHES[key], opts.maxTries);
      samples[key].push(r.value);
      if (!r.ok) stable = false;
    }
    if (new Set(samples[key]).size > 1) stable = false;
  }
  return {
    counts: {
      anonVma: mode(samples.anonVma),
      anonVmaChain: mode(samples.anonVmaChain),
      vmAreaStruct: mode(samples.vmAreaStruct),
    },
    samples,
    stable,
  };
}

/**
 * Checks whether host calibration can run here: SLUB sysfs counters of the
 * three caches readable, `anon_vma` shrinkable (needs root), gcc present.
 */
export async function hostAvailable(): Promise<{ ok: boolean; reason: string }> {
  if (Deno.build.os !== "linux") return { ok: false, reason: `not Linux (${Deno.build.os})` };
  try {
    for (const cache of Object.values(SLAB_CACHES)) readObjects(cache);
  } catch (e) {
    return { ok: false, reason: `slab counters not readable: ${errMsg(e)}` };
  }
  try {
    shrink(SLAB_CACHES.anonVma);
  } catch (e) {
    return { ok: false, reason: `cannot shrink ${SLAB_DIR}/anon_vma (root needed): ${errMsg(e)}` };
  }
  try {
    const out = await new Deno.Command("gcc", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    })
      .output();
    if (!out.success) return { ok: false, reason: "gcc --version failed" };
  } catch (e) {
    return { ok: false, reason: `gcc not available: ${errMsg(e)}` };
  }
  return { ok: true, reason: "slab counters readable and shrinkable, gcc present" };
}

let runnerBinary: Promise<{ dir: string; bin: string }> | undefined;

async function compileRunner(): Promise<{ dir: string; bin: string }> {
  const src = decodeURIComponent(new URL("./runner.c", import.meta.url).pathname);
  const dir = await Deno.makeTempDir({ prefix: "rmapbench-runner-" });
  const bin = `${dir}/runner`;
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("gcc", {
      args: ["-O2", "-o", bin, src],
      stdout: "piped",
      stderr: "piped",
    })
      .output();
  } catch (e) {
    throw new Error(`cannot run gcc: ${errMsg(e)}`);
  }
  if (!out.success) {
    const msg = new TextDecoder().decode(out.stderr).trim().split("\n").find((l) =>
      l.includes("error")
    ) ??
      "unknown error";
    throw new Error(`gcc failed on ${src}: ${msg}`);
  }
  return { dir, bin };
}

/** Compiles runner.c once per process (cached) and returns the binary path. */
export async function runnerPath(): Promise<string> {
  runnerBinary ??= compileRunner();
  try {
    return (await runnerBinary).bin;
  } catch (e) {
    runnerBinary = undefined;
    throw e;
  }
}

/** Removes the temp dir holding the compiled runner (if any). */
export async function cleanupHost(): Promise<void> {
  if (!runnerBinary) return;
  const p = runnerBinary;
  runnerBinary = undefined;
  try {
    await Deno.remove((await p).dir, { recursive: true });
  } catch {
    // compile failed or already removed: nothing to clean
  }
}

function parseReady(line: string): { label: string; procs: ProcVmas[] } {
  const [, label, ...rest] = line.split(" ");
  const procs = rest.filter((t) => t.length > 0).map((tok): ProcVmas => {
    const m = /^([a-z]+\d+):(\d+):(\d+)$/.exec(tok);
    if (!m) throw new Error(`runner: bad READY token '${tok}'`);
    return { role: m[1], pid: Number(m[2]), vmas: Number(m[3]) };
  });
  return { label, procs };
}

/**
 * Runs one runner scenario on the host kernel and measures at each READY point.
 *
 * @param name scenario name understood by runner.c (`breadth`, `chain`, `chain-exit`,
 *   `mprotect`, `mremap-faulted`, ...)
 * @param params integer parameters in runner.c order (e.g. `[V, N]` for breadth)
 * @returns one measurement per READY label, in order
 */
export async function runHostScenario(
  name: string,
  params: number[],
  options: RunOptions = {},
): Promise<HostMeasurement[]> {
  const opts: Required<RunOptions> = {
    avcReads: options.avcReads ?? 3,
    maxTries: options.maxTries ?? 8,
  };
  const bin = await runnerPath();
  const child = new Deno.Command(bin, {
    args: [name, ...params.map((p) => String(Math.trunc(p)))],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderrText = new Response(child.stderr).text();
  const writer = child.stdin.getWriter();
  const enc = new TextEncoder();
  const results: HostMeasurement[] = [];
  let done = false;
  let failure: string | undefined;
  const lines = child.stdout.pipeThrough(new TextDecoderStream());
  let buf = "";
  try {
    // Warm up the measuring path so its own first-use allocations precede the baseline.
    measureSlabs(opts);
    outer: for await (const chunk of lines) {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith("READY ")) {
          const { label, procs } = parseReady(line);
          const self = countSelfVmas();
          const m = measureSlabs(opts);
          results.push({
            label,
            ...m,
            procs,
            totalVmas: procs.reduce((s, p) => s + p.vmas, 0),
            selfVmas: self,
          });
          await writer.write(enc.encode("go\n"));
        } else if (line === "DONE") {
          done = true;
          break outer;
        } else if (line.startsWith("ERROR ")) {
          failure = line.slice(6);
          break outer;
        } else if (line.length > 0) {
          failure = `unexpected output: ${line}`;
          break outer;
        }
      }
    }
  } catch (e) {
    failure ??= errMsg(e);
  } finally {
    try {
      await writer.close();
    } catch {
      // runner already gone
    }
  }
  if (!done && !failure) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already exited
    }
  }
  const status = await child.status;
  const err = (await stderrText).trim();
  if (failure || !done || !status.success) {
    const why = failure ?? (err.split("\n")[0] || `exit code ${status.code} before DONE`);
    throw new Error(`host scenario ${name} ${params.join(" ")}: ${why}`);
  }
  return results;
}

function deltasOf(ms: HostMeasurement[], baseLabel: string): HostDelta[] {
  const base = ms.find((m) => m.label === baseLabel);
  if (!base) throw new Error(`no READY '${baseLabel}' in scenario output`);
  const baseRunner = base.procs.find((p) => p.role === "runner0")?.vmas ?? base.totalVmas;
  return ms.map((m) => ({
    label: m.label,
    anonVma: m.counts.anonVma - base.counts.anonVma,
    anonVmaChain: m.counts.anonVmaChain - base.counts.anonVmaChain,
    vmAreaStruct: m.counts.vmAreaStruct - base.counts.vmAreaStruct,
    totalVmas: m.totalVmas - base.totalVmas,
    regionVmas: m.procs.reduce((s, p) => s + p.vmas - baseRunner, 0),
    procVmas: m.procs.map((p) => p.vmas),
  }));
}

/**
 * Runs a scenario until `repeats` clean runs (the measuring Deno process kept
 * its own VMA count constant for the whole run) were obtained, after
 * `warmup` ignored runs, and returns per READY label the modal deltas
 * relative to the `baseLabel` READY of the same run (the mode removes the
 * remaining occasional noise of unrelated system activity).
 */
export async function measureHostDeltas(
  name: string,
  params: number[],
  options: DeltaOptions = {},
): Promise<HostDeltas> {
  const repeats = options.repeats ?? 3;
  const baseLabel = options.baseLabel ?? "base";
  const maxRuns = options.maxRuns ?? 4 * repeats;
  for (let i = 0; i < (options.warmup ?? 1); i++) await runHostScenario(name, params, options);
  const clean: HostDelta[][] = [];
  const noisy: HostDelta[][] = [];
  for (let i = 0; i < maxRuns && clean.length < repeats; i++) {
    const ms = await runHostScenario(name, params, options);
    (ms.every((m) => m.selfVmas === ms[0].selfVmas) ? clean : noisy).push(deltasOf(ms, baseLabel));
  }
  const runs = clean.length >= repeats ? clean : [...clean, ...noisy];
  if (runs.length === 0) throw new Error(`host scenario ${name}: no runs (repeats=${repeats})`);
  const labels = runs[0].map((d) => d.label);
  for (const r of runs) {
    if (r.map((d) => d.label).join() !== labels.join()) {
      throw new Error(`host scenario ${name}: READY labels differ between runs`);
    }
  }
  const agreement: Record<string, number> = {};
  const deltas = labels.map((label, i): HostDelta => {
    const col = runs.map((r) => r[i]);
    const d: HostDelta = {
      label,
      anonVma: mode(col.map((c) => c.anonVma)),
      anonVmaChain: mode(col.map((c) => c.anonVmaChain)),
      vmAreaStruct: mode(col.map((c) => c.vmAreaStruct)),
      totalVmas: mode(col.map((c) => c.totalVmas)),
      regionVmas: mode(col.map((c) => c.regionVmas)),
      procVmas: col[0].procVmas,
    };
    agreement[label] = col.filter((c) =>
      c.anonVma === d.anonVma && c.anonVmaChain === d.anonVmaChain && c.regionVmas === d.regionVmas
    ).length;
    return d;
  });
  return {
    scenario: name,
    params,
    baseLabel,
    repeats,
    deltas,
    agreement,
    runs,
    discarded: clean.length >= repeats ? noisy.length : 0,
    clean: clean.length >= repeats,
  };
}

/**
 * Per-region slope from two V values: runs `paramsFor(v1)` and `paramsFor(v2)`
 * (each `repeats` times, modal deltas) and divides the difference by
 * `v2 − v1`. This cancels everything that does not scale with V, notably the
 * runner's own faulted VMAs (libc data, heap, stack) that fork also copies,
 * and other objects of the shared 64-byte cache (one `fs_struct` per fork).
 */
export async function measureHostSlope(
  name: string,
  paramsFor: (v: number) => number[],
  v1: number,
  v2: number,
  options: DeltaOptions = {},
): Promise<HostSlopes> {
  if (v1 === v2) throw new Error("measureHostSlope: v1 must differ from v2");
  const low = await measureHostDeltas(name, paramsFor(v1), options);
  const high = await measureHostDeltas(name, paramsFor(v2), options);
  const dv = v2 - v1;
  const slopes: HostSlope[] = [];
  const intercepts: HostSlope[] = [];
  low.deltas.forEach((a, i) => {
    const b = high.deltas[i];
    if (!b || b.label !== a.label) {
      throw new Error(`measureHostSlope: label mismatch at ${a.label}`);
    }
    const s = {
      anonVma: (b.anonVma - a.anonVma) / dv,
      anonVmaChain: (b.anonVmaChain - a.anonVmaChain) / dv,
      vmAreaStruct: (b.vmAreaStruct - a.vmAreaStruct) / dv,
      regionVmas: (b.regionVmas - a.regionVmas) / dv,
    };
    const exact = Number.isInteger(s.anonVma) && Number.isInteger(s.anonVmaChain) &&
      Number.isInteger(s.regionVmas);
    slopes.push({ label: a.label, ...s, exact });
    const c = {
      anonVma: a.anonVma - s.anonVma * v1,
      anonVmaChain: a.anonVmaChain - s.anonVmaChain * v1,
      vmAreaStruct: a.vmAreaStruct - s.vmAreaStruct * v1,
      regionVmas: a.regionVmas - s.regionVmas * v1,
    };
    intercepts.push({
      label: a.label,
      ...c,
      exact: Number.isInteger(c.anonVma) && Number.isInteger(c.anonVmaChain) &&
        Number.isInteger(c.regionVmas),
    });
  });
  return { scenario: name, v1, v2, low, high, slopes, intercepts };
}

function formatDeltas(r: HostDeltas): string[] {
  const out = [
    `# ${r.scenario} ${r.params.join(" ")}: ${r.runs.length} runs kept (clean=${r.clean}, ` +
    `discarded=${r.discarded}); deltas vs '${r.baseLabel}'; runs = av/avc/vma/regionVmas`,
  ];
  r.deltas.forEach((d, i) => {
    const per = r.runs.map((run) =>
      `${run[i].anonVma}/${run[i].anonVmaChain}/${run[i].vmAreaStruct}/${run[i].regionVmas}`
    );
    out.push(
      `${d.label}\tanon_vma=${d.anonVma}\tavc=${d.anonVmaChain}\tvm_area_struct=${d.vmAreaStruct}` +
        `\tregionVmas=${d.regionVmas}\tprocVmas=${d.procVmas.join(",")}` +
        `\tagree=${r.agreement[d.label]}/${r.runs.length}\truns=${per.join(" ")}`,
    );
  });
  return out;
}

if (import.meta.main) {
  // Usage: deno run --allow-all tools/calibrate/host.ts <scenario> [params...]
  //   [--repeats=N] [--raw] [--slope=<paramIndex>:<v1>,<v2>]
  const usage = "usage: host.ts <scenario> [params...] [--repeats=N] [--raw] [--slope=I:V1,V2]";
  const flag = (n: string): string | undefined =>
    Deno.args.find((a) => a.startsWith(`--${n}=`))?.slice(n.length + 3);
  const args = Deno.args.filter((a) => !a.startsWith("--"));
  try {
    const avail = await hostAvailable();
    if (!avail.ok) throw new Error(avail.reason);
    if (args.length === 0) throw new Error(usage);
    const [name, ...ps] = args;
    const params = ps.map(Number);
    if (params.some((p) => !Number.isInteger(p))) {
      throw new Error(`bad integer parameter: ${usage}`);
    }
    const repeats = Number(flag("repeats") ?? "3");
    const slope = flag("slope");
    if (Deno.args.includes("--raw")) {
      for (const m of await runHostScenario(name, params)) {
        console.log(
          `${m.label}\tav=${m.samples.anonVma.join("/")}\tavc=${m.samples.anonVmaChain.join("/")}` +
            `\tvma=${m.samples.vmAreaStruct.join("/")}\tstable=${m.stable}` +
            `\tprocs=${m.procs.map((p) => p.vmas).join(",")}\tself=${m.selfVmas}`,
        );
      }
    } else if (slope) {
      const m = /^(\d+):(\d+),(\d+)$/.exec(slope);
      if (!m) throw new Error(usage);
      const [idx, v1, v2] = [Number(m[1]), Number(m[2]), Number(m[3])];
      const paramsFor = (v: number): number[] => params.map((p, i) => (i === idx ? v : p));
      const r = await measureHostSlope(name, paramsFor, v1, v2, { repeats });
      for (const line of [...formatDeltas(r.low), ...formatDeltas(r.high)]) console.log(line);
      console.log(
        `# slope per unit of param ${idx} (${v1} -> ${v2}) and intercept at param ${idx} = 0`,
      );
      r.slopes.forEach((sl, i) => {
        const c = r.intercepts[i];
        console.log(
          `${sl.label}\tslope av=${sl.anonVma} avc=${sl.anonVmaChain} vma=${sl.vmAreaStruct} ` +
            `regionVmas=${sl.regionVmas} exact=${sl.exact}\tintercept av=${c.anonVma} ` +
            `avc=${c.anonVmaChain} vma=${c.vmAreaStruct}`,
        );
      });
    } else {
      for (const line of formatDeltas(await measureHostDeltas(name, params, { repeats }))) {
        console.log(line);
      }
    }
  } catch (e) {
    console.error(`host.ts: ${errMsg(e)}`);
    Deno.exitCode = 1;
  } finally {
    await cleanupHost();
  }
}
