// tools/record.ts (`deno task record`) on this machine: records /bin/true into a gzip trace file
// that the trace-replay loader reads. Skipped where strace is not installed.

import assert from "node:assert/strict";
import { decodeTraceBytes, parseTraceFile } from "../workloads/trace_file.ts";

const RECORD = new URL("../tools/record.ts", import.meta.url).pathname;

function hasStrace(): boolean {
  try {
    return new Deno.Command("strace", { args: ["-V"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

async function record(...args: string[]): Promise<{ code: number; stderr: string }> {
  const o = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", RECORD, ...args],
    stdout: "null",
    stderr: "piped",
  }).output();
  return { code: o.code, stderr: new TextDecoder().decode(o.stderr) };
}

Deno.test({
  name: "record: /bin/true into a gzip trace file with header, exec layout and strace log",
  ignore: !hasStrace(),
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const r = await record("--out", `${dir}/t.trace.gz`, "--", "/bin/true");
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /^record: .*t\.trace\.gz: \d+ strace lines, 1 tasks/);
      const f = parseTraceFile(decodeTraceBytes(await Deno.readFile(`${dir}/t.trace.gz`)));
      assert.equal(f.header.kernel, Deno.osRelease());
      assert.equal(f.header.command, "/bin/true");
      assert.equal(f.header.recorder, "rmapbench-record 1");
      assert.match(f.header.perf!, /^page-faults samples|^none: /);
      // The env wrapper's lines are gone: the log starts with the exec of the command.
      assert.match(f.strace.split("\n")[0], /^\d+ \d+\.\d+ execve\("\/bin\/true"/);
      assert.match(f.strace, /exit_group\(0\)/);
      // A snapshot may be missed on a very busy machine; one that was taken has the stack.
      for (const l of f.layouts) assert.ok(l.entries.some((e) => e.path === "[stack]"));
      assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["t.trace.gz"]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("record: bad usage is one line and exit code 2", async () => {
  const none = await record();
  assert.equal(none.code, 2);
  assert.equal(none.stderr.trim().split("\n").length, 1);
  assert.match(none.stderr, /^record: no command; usage: deno task record -- CMD ARGS/);
  const bad = await record("--frobnicate", "--", "/bin/true");
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^record: unknown option "--frobnicate"; valid: --out FILE/);
  const missing = await record("--", "no-such-program-here");
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^record: command not found: no-such-program-here/);
});
