/**
 * `deno task bench:ab`: whether a change made the whole-phone run (part (b) of `bench:scale`)
 * faster, on a machine whose speed moves between runs. One run's CPU time on a shared virtual
 * machine moves by 10–30 % within minutes, more than most changes; two trees measured one after
 * the other would show that drift as a difference. So the runs are paired: for each pair, one
 * `android-launch` run of the base tree and one of the head tree, back to back in fresh
 * subprocesses, the order alternating from pair to pair (base first, then head first), so that a
 * drift during the measurement falls on both sides alike. The result is the ratio of the mean CPU
 * time of head to base with Fieller's 95 % interval for paired samples (`reports/inference.ts`,
 * the same interval the suite's verdicts use), and "no significant difference" when it contains 1.
 *
 * The base tree is a temporary `git worktree` of `--base REV` of this repository, removed
 * afterwards; the head is this checkout's working tree (uncommitted changes included) or
 * `--head REV`. Each run imports `runner/recorder.ts` of its tree, whose `runOne` has had the
 * same signature since the first release, and measures `process.cpuUsage()` (user + system, all
 * threads: V8 collects garbage and compiles on helper threads) around one run, as `bench:scale`
 * does; the peak RSS is the process's VmHWM. Both trees must do the same work: the tool says so
 * when their operation counts differ.
 *
 * Usage: `deno task bench:ab --base REV [--head REV] [--scheme ID[,ID]] [--scale X]
 * [--pairs N]` (defaults: every scheme, scale 1, 3 pairs).
 *
 * @module
 */

import process from "node:process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { schemeIds } from "../core/rmap/registry.ts";
import { CONFIDENCE, pairedRatio } from "../reports/inference.ts";
import { jsonChild } from "./json_child.ts";

/** Old-space limit of each run's subprocess, MiB (as `bench:scale`'s children). */
const CHILD_HEAP_MIB = 16384;

/** One run, as the child prints it. */
interface AbRun {
  cpuMs: number;
  wallMs: number;
  hwmKiB: number;
  ops: number;
}

/** Options of a comparison. */
export interface AbOptions {
  base: string;
  head: string | null;
  schemes: string[];
  scale: number;
  pairs: number;
}

/**
 * Parses the command line; a string is the one-line error (naming the valid choices).
 *
 * @example Usage
 * ```ts
 * import { parseAbArgs } from "./bench_ab.ts";
 * const o = parseAbArgs(["--base", "HEAD~1", "--scheme", "anon_vma", "--pairs", "5"]);
 * if (typeof o === "string" || o.pairs !== 5 || o.scale !== 1) throw new Error();
 * ```
 */
export function parseAbArgs(args: readonly string[]): AbOptions | string {
  const o: AbOptions = { base: "", head: null, schemes: schemeIds(), scale: 1, pairs: 3 };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const v = args[i + 1];
    if (!["--base", "--head", "--scheme", "--scale", "--pairs"].includes(a)) {
      return `unknown option "${a}" (--base, --head, --scheme, --scale, --pairs)`;
    }
    if (v === undefined || v.startsWith("--")) return `${a} needs a value`;
    i++;
    if (a === "--base") o.base = v;
    else if (a === "--head") o.head = v;
    else if (a === "--scheme") o.schemes = v.split(",");
    else if (a === "--scale") o.scale = Number(v);
    else o.pairs = Number(v);
  }
  if (o.base === "") return "--base REV is required (a commit, branch or tag of this repository)";
  for (const s of o.schemes) {
    if (!schemeIds().includes(s)) return `unknown scheme "${s}" (${schemeIds().join(", ")})`;
  }
  if (!(o.scale > 0 && o.scale <= 1)) return `--scale must be a number in (0, 1], got ${o.scale}`;
  if (!Number.isInteger(o.pairs) || o.pairs < 1 || o.pairs > 20) {
    return `--pairs must be an integer in [1, 20], got ${o.pairs}`;
  }
  return o;
}

const fmt = (x: number, d = 1): string => x.toFixed(d);

/**
 * The comparison of paired CPU times, head against base: the ratio of the means, its 95 %
 * interval (Fieller's, {@link pairedRatio}) and the verdict, which names a direction only when
 * the whole interval lies on one side of 1.
 *
 * @example Usage
 * ```ts
 * import { abVerdict } from "./bench_ab.ts";
 * abVerdict([10.1, 9.8, 10.0], [10.0, 10.2, 9.9]); // "0.99 [0.92, 1.07] no significant difference"
 * ```
 */
export function abVerdict(head: readonly number[], base: readonly number[]): string {
  const r = pairedRatio(head, base);
  const verdict = r.ci === null
    ? (head.length < 2 ? "one pair: no interval" : "no interval")
    : r.significant
    ? (r.ratio < 1 ? "head faster" : "head slower")
    : "no significant difference";
  const interval = r.ci === null ? "" : ` [${fmt(r.ci[0], 2)}, ${fmt(r.ci[1], 2)}]`;
  return `${fmt(r.ratio, 2)}${interval} ${verdict}`;
}

/** The child: one `android-launch` run of the tree at `root`, printed as JSON. */
async function child(root: string, scheme: string, scale: number): Promise<void> {
  const { runOne } = await import(pathToFileURL(`${root}/runner/recorder.ts`).href);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = runOne({ scheme, workload: "android-launch", params: { scale }, seed: 1 });
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const m = Deno.readTextFileSync("/proc/self/status").match(/VmHWM:\s+(\d+) kB/);
  const out: AbRun = {
    cpuMs: (c.user + c.system) / 1000,
    wallMs,
    hwmKiB: m ? Number(m[1]) : NaN,
    ops: r.ops,
  };
  console.log(JSON.stringify(out));
}

function runChild(root: string, scheme: string, scale: number): Promise<AbRun> {
  return jsonChild(
    import.meta.filename!,
    ["--child", root, scheme, String(scale)],
    [`--max-old-space-size=${CHILD_HEAP_MIB}`],
    `run of ${scheme} in ${root}`,
  );
}

async function git(root: string, args: string[]): Promise<{ ok: boolean; out: string }> {
  try {
    const r = await new Deno.Command("git", { args: ["-C", root, ...args], stdin: "null" })
      .output();
    const out = new TextDecoder().decode(r.success ? r.stdout : r.stderr).trim();
    return { ok: r.success, out };
  } catch (e) {
    return { ok: false, out: (e as Error).message };
  }
}

/**
 * A detached worktree of `rev` in a new temporary directory and the commit's short name, or the
 * one-line error.
 */
async function worktree(
  root: string,
  rev: string,
): Promise<{ dir: string; name: string } | { error: string }> {
  const sha = await git(root, ["rev-parse", "--verify", "--quiet", `${rev}^{commit}`]);
  if (!sha.ok) return { error: `"${rev}" is not a commit of ${root}` };
  const dir = await Deno.makeTempDir({ prefix: "bench_ab_" });
  const r = await git(root, ["worktree", "add", "--detach", "--quiet", dir, sha.out]);
  if (!r.ok) {
    await Deno.remove(dir, { recursive: true });
    return { error: `git worktree add of ${rev} failed: ${r.out.split("\n")[0]}` };
  }
  return { dir, name: sha.out.slice(0, 12) };
}

async function main(args: string[]): Promise<number> {
  if (args[0] === "--child") {
    await child(args[1], args[2], Number(args[3]));
    return 0;
  }
  const o = parseAbArgs(args);
  if (typeof o === "string") {
    console.error(`error: ${o}`);
    return 2;
  }
  const root = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");
  const made: string[] = [];
  try {
    const bw = await worktree(root, o.base);
    if ("error" in bw) {
      console.error(`error: ${bw.error}`);
      return 2;
    }
    made.push(bw.dir);
    const base = bw.dir, baseName = bw.name;
    let head = root, headName = "working tree";
    if (o.head !== null) {
      const h = await worktree(root, o.head);
      if ("error" in h) {
        console.error(`error: ${h.error}`);
        return 2;
      }
      made.push(h.dir);
      head = h.dir;
      headName = h.name;
    }
    console.log(
      `android-launch --param scale=${o.scale}, seed 1: CPU s per run (user + system, all ` +
        `threads), ${o.pairs} pair${o.pairs > 1 ? "s" : ""} per scheme, each a run of base ` +
        `(${baseName}) and of head (${headName}) back to back, the order alternating`,
    );
    console.log(
      `    ${"scheme".padEnd(22)} ${"base".padEnd(6 * o.pairs)} ${"head".padEnd(6 * o.pairs)} ` +
        `head/base [${Math.round(CONFIDENCE * 100)} % CI]   peak RSS MiB base/head`,
    );
    for (const s of o.schemes) {
      const b: AbRun[] = [], h: AbRun[] = [];
      for (let i = 0; i < o.pairs; i++) {
        if (i % 2 === 0) {
          b.push(await runChild(base, s, o.scale));
          h.push(await runChild(head, s, o.scale));
        } else {
          h.push(await runChild(head, s, o.scale));
          b.push(await runChild(base, s, o.scale));
        }
      }
      const cb = b.map((r) => r.cpuMs / 1000), ch = h.map((r) => r.cpuMs / 1000);
      const rss = (rs: AbRun[]) => fmt(Math.max(...rs.map((x) => x.hwmKiB)) / 1024, 0);
      const ops = new Set([...b, ...h].map((x) => x.ops));
      console.log(
        `    ${s.padEnd(22)} ${cb.map((x) => fmt(x).padStart(5)).join(" ").padEnd(6 * o.pairs)} ${
          ch.map((x) => fmt(x).padStart(5)).join(" ").padEnd(6 * o.pairs)
        } ${abVerdict(ch, cb)}   ${rss(b)}/${rss(h)}${
          ops.size === 1 ? "" : `   (operations differ: ${[...ops].join("/")}; not the same work)`
        }`,
      );
    }
    return 0;
  } finally {
    for (const dir of made) {
      const r = await git(root, ["worktree", "remove", "--force", dir]);
      if (!r.ok) await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
