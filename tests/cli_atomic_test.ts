/**
 * Atomic output (cli/atomic.ts): a write that fails part-way leaves the output directory exactly
 * as it was (no clobbered, partial or temporary file, and no directory the call created), and one
 * that succeeds replaces every file whole.
 *
 * @module
 */

import assert from "node:assert/strict";
import { writeFilesAtomically } from "../cli/atomic.ts";
import { CliError } from "../cli/errors.ts";

function listing(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

/** Two files, the second of which cannot be written (its subdirectory does not exist). */
const FAILING = new Map([["a.txt", "new a\n"], ["missing/b.txt", "new b\n"]]);

Deno.test("atomic write: a failure after the first file leaves the directory as it was", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rmapbench-atomic-" });
  try {
    Deno.writeTextFileSync(`${dir}/a.txt`, "old a\n");
    await assert.rejects(
      () => writeFilesAtomically(dir, FAILING),
      (e: unknown) =>
        e instanceof CliError && e.message.startsWith(`Cannot write to --out "${dir}": `),
    );
    // Not clobbered: the first file was written to a temporary file, never in place.
    assert.equal(Deno.readTextFileSync(`${dir}/a.txt`), "old a\n");
    // No temporary file left behind.
    assert.deepEqual(listing(dir), ["a.txt"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("atomic write: a directory the failed call created is removed again", async () => {
  const parent = await Deno.makeTempDir({ prefix: "rmapbench-atomic-" });
  try {
    await assert.rejects(() => writeFilesAtomically(`${parent}/out`, FAILING), CliError);
    assert.deepEqual(listing(parent), []);
  } finally {
    await Deno.remove(parent, { recursive: true });
  }
});

Deno.test("atomic write: success replaces every file whole and leaves nothing else", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rmapbench-atomic-" });
  try {
    Deno.writeTextFileSync(`${dir}/a.txt`, "old a, longer than the new text\n");
    await writeFilesAtomically(dir, new Map([["a.txt", "new a\n"], ["b.txt", "new b\n"]]));
    assert.deepEqual(listing(dir), ["a.txt", "b.txt"]);
    assert.equal(Deno.readTextFileSync(`${dir}/a.txt`), "new a\n");
    assert.equal(Deno.readTextFileSync(`${dir}/b.txt`), "new b\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
