/**
 * Runs a script of this repository as a user would (`deno run --allow-all SCRIPT ARGS`, no
 * stdin) for the tests of the command-line tools: its exit code, standard output and trimmed
 * standard error.
 *
 * @module
 */

/** What a run of a tool gave. */
export interface ToolRun {
  code: number;
  out: string;
  err: string;
}

/** Runs `script` (a path) with `args` in a fresh Deno process. */
export async function runTool(script: string, args: string[]): Promise<ToolRun> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", script, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout), err: dec.decode(r.stderr).trim() };
}

/**
 * Runs `script` once per case and checks that each refuses its arguments as the house rule says:
 * exit 2, nothing on standard output, one line on standard error starting with the case's text.
 */
export async function assertRefusals(script: string, cases: [string[], string][]): Promise<void> {
  for (const [args, want] of cases) {
    const r = await runTool(script, args);
    const got = [r.code, r.out, r.err.split("\n").length];
    if (got[0] !== 2 || got[1] !== "" || got[2] !== 1 || !r.err.startsWith(want)) {
      throw new Error(
        `${args.join(" ")}: exit ${r.code}, stdout ${JSON.stringify(r.out)}, stderr ` +
          `${JSON.stringify(r.err)}; want exit 2, no stdout, one line starting ${want}`,
      );
    }
  }
}
