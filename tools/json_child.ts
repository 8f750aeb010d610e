/**
 * The benchmark tools' subprocess: `deno run --allow-all` of a script with V8 flags, whose last
 * line of standard output is one JSON value. Each measurement runs in its own process, so heaps,
 * peak RSS and JIT state do not mix.
 *
 * @module
 */

/**
 * Runs `script` with `args` under `--v8-flags=<v8Flags>` and returns the JSON value of the last
 * line it printed; throws, naming `what` and the last lines of standard error, when it fails.
 * A non-empty `prefix` is a command that runs Deno (e.g. `["taskset", "-c", "1"]`: pinned).
 *
 * @example Usage
 * ```ts ignore
 * const r = await jsonChild<{ cpuMs: number }>(import.meta.filename!, ["--child"], ["--expose-gc"], "child");
 * ```
 */
export async function jsonChild<T>(
  script: string,
  args: string[],
  v8Flags: string[],
  what: string,
  prefix: readonly string[] = [],
): Promise<T> {
  const deno = [Deno.execPath(), "run", "--allow-all", `--v8-flags=${v8Flags.join(",")}`];
  const out = await runArgv([...prefix, ...deno, script, ...args]);
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-3).join(" | ");
    throw new Error(`${what} failed: ${err}`);
  }
  return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").pop() ?? "");
}

/** Runs the command `argv` (program, then its arguments) without stdin; output and error piped. */
export function runArgv(argv: readonly string[]): Promise<Deno.CommandOutput> {
  return new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
}
