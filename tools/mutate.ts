/**
 * Mutation testing of rmapbench: applies each mutant of the catalogue (`tools/mutants.ts`) to a
 * scratch copy of the working tree, runs the tests there, and reports which mutants the suite
 * killed (with the test that failed) and which survived. Exits non-zero when the score (killed /
 * valid mutants) is below the threshold, or when a mutant is stale (its search string no longer
 * occurs exactly once) or invalid (the mutated code does not type-check).
 *
 * Usage:
 *   deno task mutate [--only id,id] [--threshold 95] [--full] [--json FILE] [--list]
 *
 * - Mutants run one at a time (the machine is shared); each first runs its mapped test subset
 *   (fast), and a mutant that survives it runs the whole suite, so every "survived" comes from a
 *   full run and every "killed" names a real test of the suite. `--full` skips the subsets.
 * - Before the mutants, the unmutated scratch copy must pass the whole suite (a baseline that
 *   fails would make every mutant look killed).
 * - The live host calibration test is filtered out (it measures the host kernel, which other
 *   processes disturb, and says nothing about the code).
 *
 * @module
 */

import { type Mutant, MUTANTS } from "./mutants.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const FULL_TIMEOUT_MS = 20 * 60_000;
const SUBSET_TIMEOUT_MS = 6 * 60_000;
/**
 * A `--filter` regex matching every test name except those starting with `prefix`. Deno's filter
 * regexes have no look-ahead, so it spells out "differs at character i" for each i.
 */
export function exceptPrefix(prefix: string): string {
  const esc = (c: string): string => (/[\\^$.|?*+()[\]{}-]/.test(c) ? `\\${c}` : c);
  const alts = [...prefix].map((c, i) =>
    [...prefix.slice(0, i)].map(esc).join("") + `[^${esc(c)}]`
  );
  return `/^(${alts.join("|")})/`;
}

/** Every test but the live host calibration (it measures the host kernel, not the code). */
const SKIP_HOST = exceptPrefix("calibration: live");

/** Outcome of one mutant. */
export interface MutantResult {
  /** Mutant id. */
  id: string;
  /** killed, survived, stale (search string not found once) or invalid (type error). */
  status: "killed" | "survived" | "stale" | "invalid";
  /** The failing test (killed), or why stale/invalid. */
  detail: string;
  /** Which run decided: the mapped subset or the full suite. */
  by: "subset" | "full" | "";
  /** Wall time in seconds. */
  seconds: number;
}

/** Result of one `deno test` run. */
interface TestRun {
  ok: boolean;
  output: string;
  timedOut: boolean;
}

/** Counts occurrences of `needle` in `hay`. */
export function occurrences(hay: string, needle: string): number {
  if (needle.length === 0) return 0;
  let n = 0;
  for (let i = hay.indexOf(needle); i >= 0; i = hay.indexOf(needle, i + needle.length)) n++;
  return n;
}

/** Why `m` cannot be applied to `text`, or null when its search string occurs exactly once. */
export function staleReason(m: Mutant, text: string | null): string | null {
  if (text === null) return `file ${m.file} does not exist`;
  const n = occurrences(text, m.search);
  if (n === 0) return `search string not found in ${m.file}`;
  if (n > 1) return `search string occurs ${n} times in ${m.file}`;
  return null;
}

/**
 * The failing test named in `deno test` output: the first `name => file:line:col` line of the
 * ERRORS section, else the first `... FAILED` line, else the first error line.
 */
export function killerOf(output: string): string {
  const lines = output.split("\n");
  const errors = lines.findIndex((l) => l.trim() === "ERRORS");
  if (errors >= 0) {
    for (const l of lines.slice(errors + 1)) {
      const m = /^(.+) => (\S+:\d+:\d+)\s*$/.exec(l.trim());
      if (m) return `${m[1]} (${m[2].replace(/^\.\//, "")})`;
    }
  }
  const failed = lines.find((l) => /\.\.\. FAILED/.test(l));
  if (failed) return failed.replace(/\s*\.\.\. FAILED.*$/, "").trim();
  const err = lines.find((l) => /^error:/.test(l.trim()));
  return err ? err.trim().slice(0, 200) : "exit status non-zero";
}

/**
 * Test files left out of every run here: the mutation tool's own tests, whose catalogue check
 * (each search string occurs once in the source) fails by design in a mutated copy, so that it
 * would "kill" every mutant that reaches the full suite whatever the model's tests say.
 */
export const NOT_RUN_ON_MUTANTS = ["tests/mutate_tool_test.ts"];

/** The `deno test` arguments of a run over `files` (the configured suite when empty). */
export function testArgs(files: string[]): string[] {
  const ignore = NOT_RUN_ON_MUTANTS.map((f) => `--ignore=${f}`);
  return ["test", "--allow-all", `--filter=${SKIP_HOST}`, ...ignore, "--fail-fast", ...files];
}

async function runTests(dir: string, files: string[], timeoutMs: number): Promise<TestRun> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: testArgs(files),
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
      signal: ac.signal,
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    return { ok: out.success, output: text, timedOut: ac.signal.aborted };
  } finally {
    clearTimeout(timer);
  }
}

function isTypeError(output: string): boolean {
  return /error: TS\d+|\bTS\d{4} \[ERROR\]/.test(output);
}

async function trackedFiles(): Promise<string[]> {
  const out = await new Deno.Command("git", {
    args: ["ls-files", "-co", "--exclude-standard", "-z"],
    cwd: ROOT,
    stdout: "piped",
  }).output();
  if (!out.success) throw new Error("git ls-files failed: the tool runs inside the repository");
  return new TextDecoder().decode(out.stdout).split("\0").filter((f) => f.length > 0);
}

async function cloneTree(dest: string): Promise<void> {
  for (const f of await trackedFiles()) {
    const src = `${ROOT}/${f}`;
    try {
      const st = await Deno.lstat(src);
      if (!st.isFile) continue;
    } catch {
      continue; // deleted in the working tree
    }
    const to = `${dest}/${f}`;
    await Deno.mkdir(to.slice(0, to.lastIndexOf("/")), { recursive: true });
    await Deno.copyFile(src, to);
  }
}

async function readOrNull(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return null;
  }
}

async function runMutant(dir: string, m: Mutant, full: boolean): Promise<MutantResult> {
  const t0 = performance.now();
  const path = `${dir}/${m.file}`;
  const original = await readOrNull(path);
  const stale = staleReason(m, original);
  const secs = (): number => Math.round((performance.now() - t0) / 100) / 10;
  if (stale !== null) return { id: m.id, status: "stale", detail: stale, by: "", seconds: 0 };
  await Deno.writeTextFile(path, original!.replace(m.search, () => m.replace));
  try {
    const verdict = (run: TestRun, by: "subset" | "full"): MutantResult | null => {
      if (run.ok) return null;
      if (isTypeError(run.output)) {
        return { id: m.id, status: "invalid", detail: killerOf(run.output), by, seconds: secs() };
      }
      const detail = run.timedOut ? "timeout (the mutant hangs a test)" : killerOf(run.output);
      return { id: m.id, status: "killed", detail, by, seconds: secs() };
    };
    const subset: string[] = [];
    for (const t of m.tests ?? []) if ((await readOrNull(`${dir}/${t}`)) !== null) subset.push(t);
    if (!full && subset.length > 0) {
      const r = verdict(await runTests(dir, subset, SUBSET_TIMEOUT_MS), "subset");
      if (r) return r;
    }
    const r = verdict(await runTests(dir, [], FULL_TIMEOUT_MS), "full");
    return r ?? { id: m.id, status: "survived", detail: "", by: "full", seconds: secs() };
  } finally {
    await Deno.writeTextFile(path, original!);
  }
}

interface Options {
  only: Set<string> | null;
  threshold: number;
  full: boolean;
  json: string | null;
  list: boolean;
  baseline: boolean;
}

function parseArgs(args: string[]): Options {
  const o: Options = {
    only: null,
    threshold: 95,
    full: false,
    json: null,
    list: false,
    baseline: true,
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = (): string => {
      const v = args[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--only") o.only = new Set(value().split(",").map((s) => s.trim()));
    else if (a === "--threshold") {
      const v = Number(value());
      if (!Number.isFinite(v) || v < 0 || v > 100) {
        throw new Error(`--threshold must be a percentage in [0, 100], got ${args[i]}`);
      }
      o.threshold = v;
    } else if (a === "--full") o.full = true;
    else if (a === "--no-baseline") o.baseline = false;
    else if (a === "--json") o.json = value();
    else if (a === "--list") o.list = true;
    else {
      throw new Error(
        `unknown option ${a}; valid: --only, --threshold, --full, --no-baseline, --json, --list`,
      );
    }
  }
  if (o.only) {
    const ids = new Set(MUTANTS.map((m) => m.id));
    const bad = [...o.only].filter((id) => !ids.has(id));
    if (bad.length) throw new Error(`unknown mutant ${bad.join(", ")}; see --list`);
  }
  return o;
}

/** Runs the catalogue; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  let o: Options;
  try {
    o = parseArgs(args);
  } catch (e) {
    console.error(`mutate: ${(e as Error).message}`);
    return 2;
  }
  const ids = new Set<string>();
  for (const m of MUTANTS) {
    if (ids.has(m.id)) throw new Error(`duplicate mutant id ${m.id}`);
    ids.add(m.id);
  }
  const chosen = MUTANTS.filter((m) => !o.only || o.only.has(m.id));
  if (o.list) {
    for (const m of chosen) {
      const stale = staleReason(m, await readOrNull(`${ROOT}/${m.file}`));
      console.log(`${m.id.padEnd(28)} ${m.file.padEnd(30)} ${stale ? "STALE " : ""}${m.story}`);
    }
    return 0;
  }
  const dir = await Deno.makeTempDir({ prefix: "rmapbench-mutate-" });
  const results: MutantResult[] = [];
  // An interrupted run leaves no scratch copy behind.
  const onSignal = (): void => {
    try {
      Deno.removeSync(dir, { recursive: true });
    } finally {
      Deno.exit(130);
    }
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    await cloneTree(dir);
    console.log(`mutate: ${chosen.length} mutants, scratch copy ${dir}`);
    if (o.baseline) {
      const base = await runTests(dir, [], FULL_TIMEOUT_MS);
      if (!base.ok) {
        console.error(`mutate: the unmutated suite fails (${killerOf(base.output)}); fix it first`);
        return 2;
      }
      console.log("mutate: baseline suite passes");
    }
    for (const m of chosen) {
      const r = await runMutant(dir, m, o.full);
      results.push(r);
      const how = r.by ? ` [${r.by}, ${r.seconds}s]` : "";
      console.log(`${r.status.toUpperCase().padEnd(8)} ${m.id}${how}: ${r.detail || m.story}`);
    }
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    await Deno.remove(dir, { recursive: true });
  }
  const killed = results.filter((r) => r.status === "killed").length;
  const survived = results.filter((r) => r.status === "survived");
  const broken = results.filter((r) => r.status === "stale" || r.status === "invalid");
  const valid = killed + survived.length;
  const score = valid === 0 ? 0 : (100 * killed) / valid;
  console.log(
    `\nmutation score ${
      score.toFixed(1)
    } % (${killed} killed of ${valid}; threshold ${o.threshold} %)`,
  );
  for (const s of survived) {
    console.log(`  survived: ${s.id}: ${MUTANTS.find((m) => m.id === s.id)!.story}`);
  }
  for (const b of broken) console.log(`  ${b.status}: ${b.id}: ${b.detail}`);
  if (o.json) {
    await Deno.writeTextFile(
      o.json,
      JSON.stringify({ score, threshold: o.threshold, results }, null, 2) + "\n",
    );
  }
  return score >= o.threshold && broken.length === 0 ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
