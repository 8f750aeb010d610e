/**
 * Atomic output: every file is first written to a temporary file in the target directory, then
 * all are renamed into place. If any write fails, the temporary files are removed and no target
 * file is touched.
 *
 * @module
 */

import { CliError } from "./errors.ts";

function describe(e: unknown): string {
  if (e instanceof Deno.errors.NotFound) return "no such file or directory";
  if (e instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (e instanceof Deno.errors.NotADirectory) return "not a directory";
  return e instanceof Error ? e.message.replace(/\s*\n\s*/g, " ") : String(e);
}

function dirname(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  const i = trimmed.lastIndexOf("/");
  if (i < 0) return ".";
  return i === 0 ? "/" : trimmed.slice(0, i);
}

/**
 * Checks, without leaving anything behind, that files can be written into `dir`: if it exists
 * it must be a directory in which a file can be created; otherwise its nearest existing ancestor
 * must be a directory in which a directory can be created. Throws a {@link CliError}.
 *
 * @example Usage
 * ```ts ignore
 * import { checkWritableDir } from "./atomic.ts";
 * checkWritableDir("out");
 * ```
 */
export function checkWritableDir(dir: string): void {
  let path = dir;
  let exists = true;
  for (;;) {
    let info: Deno.FileInfo | null = null;
    try {
      info = Deno.statSync(path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) {
        throw new CliError(`Cannot write to --out "${dir}": ${describe(e)}`);
      }
    }
    if (info) {
      if (!info.isDirectory) {
        throw new CliError(
          `Cannot write to --out "${dir}": ${path === dir ? "it" : `"${path}"`} is not a directory`,
        );
      }
      break;
    }
    exists = false;
    const parent = dirname(path);
    if (parent === path) break;
    path = parent;
  }
  try {
    if (exists) {
      const probe = Deno.makeTempFileSync({ dir: path, prefix: ".rmapbench-probe-" });
      Deno.removeSync(probe);
    } else {
      const probe = Deno.makeTempDirSync({ dir: path, prefix: ".rmapbench-probe-" });
      Deno.removeSync(probe);
    }
  } catch (e) {
    throw new CliError(`Cannot write to --out "${dir}": ${describe(e)}`);
  }
}

/**
 * Writes every file of `files` (name → text) into `dir` atomically: creates `dir` if needed,
 * writes each text to a temporary file in `dir`, then renames them all into place. On a failure
 * before the renames, removes the temporary files (and `dir` if this call created it) and throws
 * a {@link CliError}.
 *
 * @example Usage
 * ```ts ignore
 * import { writeFilesAtomically } from "./atomic.ts";
 * await writeFilesAtomically("out", new Map([["a.txt", "hello\n"]]));
 * ```
 */
export async function writeFilesAtomically(
  dir: string,
  files: ReadonlyMap<string, string>,
): Promise<void> {
  let created: string | null = null;
  try {
    Deno.statSync(dir);
  } catch {
    created = dir;
  }
  const temps: [string, string][] = [];
  try {
    await Deno.mkdir(dir, { recursive: true });
    for (const [name, text] of files) {
      const base = dir.replace(/\/+$/, "") || "/";
      const tmp = `${base}/.${name}.${crypto.randomUUID().slice(0, 8)}.tmp`;
      temps.push([tmp, `${base}/${name}`]);
      await Deno.writeTextFile(tmp, text, { createNew: true, mode: 0o644 });
    }
  } catch (e) {
    for (const [tmp] of temps) await Deno.remove(tmp).catch(() => {});
    if (created !== null) await Deno.remove(created).catch(() => {});
    throw new CliError(`Cannot write to --out "${dir}": ${describe(e)}`);
  }
  for (const [tmp, target] of temps) await Deno.rename(tmp, target);
}
