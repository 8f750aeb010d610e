/**
 * Command line of `rmapbench verify` and `rmapbench export` (dispatched from `cli.ts`, or run
 * directly: `deno run --allow-all tools/verify/cli.ts verify ...`).
 *
 * - `verify [--scheme ID] [--label NAME] [--only NAME[,NAME]] [--file PATH]... [--random N
 *   [--seed S]] [--copies K] [--rounds R]`: one line per scenario, then exactly
 *   `verify: N scenarios, E exact, D differ, U host-unstable`. Exit 0 when every scenario is
 *   exact, 1 when any differs, 3 when only host-unstable ones remain or the host cannot be
 *   measured (no root, no /sys/kernel/slab, no C compiler: the message says which), 2 on bad input.
 *   With `--random`, the text of every scenario that differs follows, ready to save with `--file`.
 * - `export --workload W [--param k=v]... [--seed N] [--out FILE]`: a small instance of the
 *   workload as a scenario file (stdout without `--out`).
 *
 * @module
 */

import { parseScenarios, type Scenario } from "./scenario.ts";
import { randomScenarioTexts } from "./random.ts";
import { cleanupRunner, hostKernelParams, hostRequirements } from "./host.ts";
import {
  exitCode,
  formatVerdict,
  loadSuite,
  summaryLine,
  type VerifyOptions,
  verifySuite,
} from "./verify.ts";
import { exportWorkload } from "./export.ts";
import { schemeIds } from "../../core/rmap/registry.ts";
import { workloadIds } from "../../workloads/registry.ts";

/** Where the commands write (same shape as cli.ts's CliIo). */
export interface VerifyIo {
  /** Writes to stdout. */
  out(text: string): void;
  /** Writes to stderr. */
  err(text: string): void;
}

/** Help of the two commands. */
export const VERIFY_HELP = `Usage: cli.ts verify [options]
Runs the verify scenarios on this machine's kernel and on the model, and compares the outcome of
every system call, the per-copy anon_vma / anon_vma_chain objects after every step and the
/proc/<pid>/maps layout at every measure step. Needs root, /sys/kernel/slab and a C compiler (cc, or $CC).
  --scheme ID        model scheme to compare (default anon_vma = the classic kernel); for a
                     kernel that runs that design. Valid: ${schemeIds().join(", ")}
  --label NAME       name of the host kernel in the output (default: uname -r)
  --only NAMES       comma-separated scenario names
  --file PATH        scenario file instead of the built-in suite (repeatable)
  --random N         N random scenarios instead of the suite (1..10000; tools/verify/random.ts);
                     the text of each that differs is printed after the summary
  --seed S           seed of --random (default 1, 0..4294967295)
  --copies K         arena copies of the smallest size (K, 2K, 3K are run; default 4, 1..64)
  --rounds R         rounds of three runs before a scenario is host-unstable (default 16, 1..100)
Exit: 0 all exact, 1 a difference, 3 only host-unstable (or the host cannot be measured), 2 bad input.

Usage: cli.ts export --workload W [--param name=value]... [--seed N] [--out FILE]
Writes a small instance of a workload as a scenario file (see tools/verify/README.md).
Valid workloads: ${workloadIds().join(", ")}`;

class UsageError extends Error {}

function takeValue(args: string[], i: number, flag: string): string {
  const v = args[i + 1];
  if (v === undefined || v.startsWith("--")) throw new UsageError(`option ${flag} needs a value`);
  return v;
}

/**
 * Records that `flag` of `command` is given, with `value`; a second time is a usage error (the
 * last value would silently win). Repeatable options (`--file`, `--param`) do not come here.
 */
function once(seen: Map<string, string>, command: string, flag: string, value: string): string {
  const before = seen.get(flag);
  if (before !== undefined) {
    throw new UsageError(
      `option ${flag} of ${command} is given more than once ("${before}", "${value}"); give it once`,
    );
  }
  seen.set(flag, value);
  return value;
}

function intIn(s: string, flag: string, min: number, max: number): number {
  const n = Number(s);
  if (!/^[0-9]+$/.test(s) || n < min || n > max) {
    throw new UsageError(`option ${flag} must be an integer in [${min}, ${max}], got "${s}"`);
  }
  return n;
}

async function kernelRelease(): Promise<string> {
  try {
    return (await Deno.readTextFile("/proc/sys/kernel/osrelease")).trim();
  } catch {
    return "kernel";
  }
}

async function verifyCommand(args: string[], io: VerifyIo): Promise<number> {
  const opts: VerifyOptions = {};
  let only: string[] | null = null;
  const files: string[] = [];
  let random = 0;
  let seed: number | null = null;
  const seen = new Map<string, string>();
  const value = (i: number, a: string) => once(seen, "verify", a, takeValue(args, i, a));
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    switch (a) {
      case "--scheme": {
        const v = value(i++, a);
        if (!schemeIds().includes(v)) {
          throw new UsageError(`unknown scheme "${v}"; valid: ${schemeIds().join(", ")}`);
        }
        opts.scheme = v;
        break;
      }
      case "--label":
        opts.label = value(i++, a);
        break;
      case "--only":
        only = value(i++, a).split(",").filter((x) => x !== "");
        break;
      case "--file":
        files.push(takeValue(args, i++, a));
        break;
      case "--random":
        random = intIn(value(i++, a), a, 1, 10000);
        break;
      case "--seed":
        seed = intIn(value(i++, a), a, 0, 2 ** 32 - 1);
        break;
      case "--copies":
        opts.copies = intIn(value(i++, a), a, 1, 64);
        break;
      case "--rounds":
        opts.maxRounds = intIn(value(i++, a), a, 1, 100);
        break;
      case "--help":
      case "-h":
        io.out(VERIFY_HELP + "\n");
        return 0;
      default:
        throw new UsageError(
          `unknown option "${a}" for verify; valid: --scheme, --label, --only, --file, --random, --seed, --copies, --rounds`,
        );
    }
  }
  if (random > 0 && files.length) throw new UsageError("--random and --file exclude each other");
  if (seed !== null && random === 0) throw new UsageError("--seed needs --random N");
  let suite: Scenario[];
  // The random scenarios' text by name, printed for each that differs.
  const randomText = new Map<string, string>();
  if (random > 0) {
    suite = [];
    for (const text of randomScenarioTexts(seed ?? 1, random)) {
      const [s] = parseScenarios(text, "--random");
      randomText.set(s.name, text);
      suite.push(s);
    }
  } else if (files.length) {
    suite = [];
    for (const f of files) {
      let text: string;
      try {
        text = await Deno.readTextFile(f);
      } catch (e) {
        throw new UsageError(`cannot read ${f}: ${(e as Error).message.split("\n")[0]}`);
      }
      suite.push(...parseScenarios(text, f));
    }
  } else suite = await loadSuite();
  if (only) {
    const unknown = only.filter((n) => !suite.some((s) => s.name === n));
    if (unknown.length) {
      throw new UsageError(
        `no scenario named ${unknown.join(", ")}; valid: ${suite.map((s) => s.name).join(", ")}`,
      );
    }
    suite = suite.filter((s) => only!.includes(s.name));
  }
  const req = await hostRequirements();
  if (!req.ok) {
    io.err(`verify: cannot measure this host kernel; missing: ${req.missing.join("; ")}\n`);
    return 3;
  }
  opts.label ??= await kernelRelease();
  const host = await hostKernelParams();
  opts.kernelParams = { ...host.params, ...opts.kernelParams };
  for (const note of host.notes) io.out(`${note}\n`);
  const t0 = performance.now();
  const k = opts.copies ?? 4;
  io.out(
    `model ${opts.scheme ?? "anon_vma"} against kernel ${opts.label}: ${suite.length} scenarios, ` +
      `${k}/${2 * k}/${3 * k} arena copies\n`,
  );

  const width = Math.max(...suite.map((s) => s.name.length), 8);
  try {
    const vs = await verifySuite(suite, opts, (v) => io.out(formatVerdict(v, width) + "\n"));
    io.out(summaryLine(vs) + "\n");
    if (random > 0) {
      for (const v of vs.filter((x) => x.status === "differ")) {
        io.out(`\n${randomText.get(v.name)!}\n`);
      }
    }
    io.err(`verify: ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    return exitCode(vs);
  } finally {
    await cleanupRunner();
  }
}

async function exportCommand(args: string[], io: VerifyIo): Promise<number> {
  let workload: string | null = null;
  let out: string | null = null;
  let seed = 1;
  const params: Record<string, string> = {};
  const seen = new Map<string, string>();
  const value = (i: number, a: string) => once(seen, "export", a, takeValue(args, i, a));
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    switch (a) {
      case "--workload":
        workload = value(i++, a);
        break;
      case "--param": {
        const v = takeValue(args, i++, a);
        const m = /^([A-Za-z][A-Za-z0-9]*)=(.+)$/.exec(v);
        if (!m) throw new UsageError(`--param needs name=value, got "${v}"`);
        if (m[1] in params) throw new UsageError(`parameter ${m[1]} is given more than once`);
        params[m[1]] = m[2];
        break;
      }
      case "--seed":
        seed = intIn(value(i++, a), a, 0, 2 ** 31 - 1);
        break;
      case "--out":
        out = value(i++, a);
        break;
      case "--help":
      case "-h":
        io.out(VERIFY_HELP + "\n");
        return 0;
      default:
        throw new UsageError(
          `unknown option "${a}" for export; valid: --workload, --param, --seed, --out`,
        );
    }
  }
  if (!workload) {
    throw new UsageError(`export needs --workload; valid: ${workloadIds().join(", ")}`);
  }
  if (!workloadIds().includes(workload)) {
    throw new UsageError(`unknown workload "${workload}"; valid: ${workloadIds().join(", ")}`);
  }
  let text: string;
  try {
    text = exportWorkload({ workload, params, seed });
    parseScenarios(text, "export"); // the output must parse
  } catch (e) {
    throw new UsageError((e as Error).message.split("\n")[0]);
  }
  if (out) {
    const tmp = `${out}.tmp-${Deno.pid}`;
    await Deno.writeTextFile(tmp, text);
    await Deno.rename(tmp, out);
    io.err(`export: wrote ${out} (${text.split("\n").length - 1} lines)\n`);
  } else io.out(text);
  return 0;
}

/**
 * Runs `verify ...` or `export ...` (argv starts with the command name) and returns the exit code.
 */
export async function verifyCli(argv: readonly string[], io: VerifyIo): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    if (cmd === "verify") return await verifyCommand(rest, io);
    if (cmd === "export") return await exportCommand(rest, io);
    throw new UsageError(`unknown command "${cmd}"; valid: verify, export`);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`error: ${e.message}\n`);
      return 2;
    }
    if (e instanceof Error && e.name === "ScenarioError") {
      io.err(`error: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

function writeAll(file: typeof Deno.stdout | typeof Deno.stderr, text: string): void {
  const bytes = new TextEncoder().encode(text);
  let off = 0;
  while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
}

if (import.meta.main) {
  Deno.exit(
    await verifyCli(Deno.args, {
      out: (t) => writeAll(Deno.stdout, t),
      err: (t) => writeAll(Deno.stderr, t),
    }),
  );
}
