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
