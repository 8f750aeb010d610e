/**
 * `deno task golden`: the guard of refactors that must not move a figure. Runs the default suite
 * (`cli.ts bench`, in a subprocess, into a temporary folder) and compares its `results.json` with
 * a stored golden copy, ignoring the `environment` block (timestamps and host data). Everything
 * else must be identical, key order included; the first differing JSON paths are printed.
 *
 * Usage:
 * - `deno task golden [PATH]`: compare with the golden copy at PATH (default
 *   `golden/results.json`, a git-ignored folder). Exit 0 when identical, 1 when not.
 * - `deno task golden -- --write [PATH]`: make the golden copy from the code checked out now (run
 *   it on a known-good commit, e.g. `git stash; deno task golden -- --write; git stash pop`).
 * - `--limit N`: print at most N differing paths (default 20).
 * - `--command "ARGS"`: the `cli.ts` command to run instead of `bench` (space-separated; the tool
 *   adds `--out`), e.g. `--command "run --workload android-launch --param scale=0.2 --repeat 1"`
 *   for a golden copy of a larger run than the default suite. A comparison without it runs the
 *   command the golden copy records (`suite.command`), so that like is compared with like.
 *
 * Bad arguments or a missing golden copy: one line on stderr and exit 2.
 *
 * @module
 */

/** One difference between two JSON documents. */
export interface JsonDifference {
  /** Where, as a JSONPath-like string (`$.runs[3].metrics.walks`). */
  path: string;
  /** What differs, in a few words. */
  detail: string;
}

function kind(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

function brief(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? s.slice(0, 57) + "..." : s;
}

function childPath(path: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/**
 * Compares two parsed JSON values and returns up to `limit` differences in document order.
 * Object key order counts (results.json must stay byte-identical); `ignore` names top-level keys
 * to skip.
 *
 * @example Usage
 * ```ts
 * import { jsonDifferences } from "./golden.ts";
 * const d = jsonDifferences({ a: [1, 2] }, { a: [1, 3] });
 * if (d[0].path !== "$.a[1]") throw new Error();
 * ```
 */
export function jsonDifferences(
  actual: unknown,
  expected: unknown,
  limit = 20,
  ignore: readonly string[] = [],
): JsonDifference[] {
  const out: JsonDifference[] = [];
  const walk = (a: unknown, e: unknown, path: string, top: boolean): void => {
    if (out.length >= limit) return;
    const ka = kind(a), ke = kind(e);
    if (ka !== ke) {
      out.push({ path, detail: `${ka} ${brief(a)} instead of ${ke} ${brief(e)}` });
      return;
    }
    if (ka === "array") {
      const aa = a as unknown[], ea = e as unknown[];
      const n = Math.min(aa.length, ea.length);
      for (let i = 0; i < n && out.length < limit; i++) walk(aa[i], ea[i], `${path}[${i}]`, false);
      if (aa.length !== ea.length && out.length < limit) {
        out.push({ path, detail: `length ${aa.length} instead of ${ea.length}` });
      }
      return;
    }
    if (ka === "object") {
      const ao = a as Record<string, unknown>, eo = e as Record<string, unknown>;
      const skip = top ? ignore : [];
      const ak = Object.keys(ao).filter((k) => !skip.includes(k));
      const ek = Object.keys(eo).filter((k) => !skip.includes(k));
      const before = out.length;
      for (const k of ek) {
        if (out.length >= limit) return;
        if (!(k in ao)) out.push({ path: childPath(path, k), detail: "missing" });
        else walk(ao[k], eo[k], childPath(path, k), false);
      }
      for (const k of ak) {
        if (out.length >= limit) return;
        if (!(k in eo)) {
          out.push({ path: childPath(path, k), detail: `unexpected ${brief(ao[k])}` });
        }
      }
      // Same keys in another order: reported only when nothing else differs in this object.
      if (out.length === before && out.length < limit && ak.join("\u0000") !== ek.join("\u0000")) {
        out.push({ path, detail: `key order ${ak.join(",")} instead of ${ek.join(",")}` });
      }
      return;
    }
    if (!Object.is(a, e)) out.push({ path, detail: `${brief(a)} instead of ${brief(e)}` });
  };
  walk(actual, expected, "$", true);
  return out;
}

/** Parsed command line of the tool. */
interface GoldenArgs {
  path: string;
  write: boolean;
  limit: number;
  /** The cli.ts command and its options (default `bench`). */
  command: string[];
  /** Whether `--command` gave it. */
  commandGiven: boolean;
}

/**
 * The `cli.ts` arguments that reproduce the suite a results document records in `suite.command`
 * (`"rmapbench run --seed 1 --workload android-launch ..."`), or null when it records none that can
 * be split back into arguments (no command, or quotes in it).
 *
 * @example Usage
 * ```ts
 * import { goldenCommand } from "./golden.ts";
 * const c = goldenCommand({ suite: { command: "rmapbench bench --seed 1 --repeat 5" } });
 * if (c?.join(" ") !== "bench --seed 1 --repeat 5") throw new Error("unexpected");
 * ```
 */
export function goldenCommand(doc: unknown): string[] | null {
  const c = (doc as { suite?: { command?: unknown } } | null)?.suite?.command;
  if (typeof c !== "string" || /["'\\]/.test(c)) return null;
  const words = c.trim().split(/\s+/);
  if (words[0] !== "rmapbench" || words.length < 2 || words[1].startsWith("-")) return null;
  if (words.includes("--out")) return null;
  return words.slice(1);
}

class UsageError extends Error {}

function parseArgs(args: readonly string[]): GoldenArgs {
  const out: GoldenArgs = {
    path: "golden/results.json",
    write: false,
    limit: 20,
    command: ["bench"],
    commandGiven: false,
  };
  let paths = 0;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--") continue;
    if (a === "--write") out.write = true;
    else if (a === "--limit") {
      const v = Number(args[++i]);
      if (!Number.isInteger(v) || v < 1) {
        throw new UsageError(`--limit needs a positive integer, got "${args[i] ?? ""}"`);
      }
      out.limit = v;
    } else if (a === "--command") {
      const v = (args[++i] ?? "").trim().split(/\s+/).filter((x) => x !== "");
      if (v.length === 0 || v[0].startsWith("-") || v.includes("--out")) {
        throw new UsageError(
          `--command needs a cli.ts command without --out, e.g. "run --workload fork-storm", got "${
            args[i] ?? ""
          }"`,
        );
      }
      out.command = v;
      out.commandGiven = true;
    } else if (a.startsWith("-")) {
      throw new UsageError(
        `Unknown option "${a}"; valid: --write, --limit N, --command "ARGS", a golden path`,
      );
    } else {
      if (++paths > 1) throw new UsageError(`One golden path only, got a second: "${a}"`);
      out.path = a;
    }
  }
  return out;
}

/** Runs `cli.ts COMMAND --out DIR` in a subprocess and returns the text of its results.json. */
async function runSuite(dir: string, command: readonly string[]): Promise<string> {
  const cli = new URL("../cli.ts", import.meta.url);
  const cmd = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-sys",
      "--v8-flags=--max-old-space-size=8192",
      cli.pathname,
      ...command,
      "--out",
      dir,
    ],
    stdout: "null",
    stderr: "piped",
  });
  const r = await cmd.output();
  if (!r.success) {
    const err = new TextDecoder().decode(r.stderr).trim().split("\n").slice(-3).join(" | ");
    throw new Error(`The suite failed (exit ${r.code}): ${err}`);
  }
  return await Deno.readTextFile(`${dir}/results.json`);
}

async function main(args: readonly string[]): Promise<number> {
  let opts: GoldenArgs;
  try {
    opts = parseArgs(args);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(e.message);
      return 2;
    }
    throw e;
  }
  let golden: string | null = null;
  if (!opts.write) {
    try {
      golden = await Deno.readTextFile(opts.path);
    } catch {
      console.error(
        `No golden copy at "${opts.path}"; make one on a known-good commit with ` +
          "`deno task golden -- --write [PATH]`",
      );
      return 2;
    }
  }
  // Parsed once, before the suite runs: for its recorded command and for the comparison.
  let goldenDoc: unknown = null;
  if (golden !== null) {
    try {
      goldenDoc = JSON.parse(golden);
    } catch {
      console.error(`The golden copy at "${opts.path}" is not JSON`);
      return 2;
    }
  }
  if (golden !== null && !opts.commandGiven) {
    const recorded = goldenCommand(goldenDoc);
    if (recorded !== null) {
      opts.command = recorded;
      console.log(`Running the golden copy's command: ${recorded.join(" ")}`);
    }
  }
  const tmp = await Deno.makeTempDir({ prefix: "rmapbench_golden_" });
  try {
    const t0 = performance.now();
    const text = await runSuite(tmp, opts.command);
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    if (opts.write) {
      const dir = opts.path.includes("/") ? opts.path.slice(0, opts.path.lastIndexOf("/")) : ".";
      await Deno.mkdir(dir, { recursive: true });
      const part = `${opts.path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
      await Deno.writeTextFile(part, text);
      await Deno.rename(part, opts.path);
      console.log(`Wrote the golden copy ${opts.path} (suite ran in ${secs} s)`);
      return 0;
    }
    const diffs = jsonDifferences(
      JSON.parse(text),
      goldenDoc,
      opts.limit,
      ["environment"],
    );
    if (diffs.length === 0) {
      console.log(`Identical to ${opts.path} apart from environment (suite ran in ${secs} s)`);
      return 0;
    }
    console.log(`Differs from ${opts.path} (first ${diffs.length} differences):`);
    for (const d of diffs) console.log(`  ${d.path}: ${d.detail}`);
    return 1;
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
