// `--trace FILE[,PERF_FILE]`: a user's strace -f log replayed by the trace-replay workload, also
// inside --jobs workers; a malformed line is a one-line error naming the file and the line, with
// exit code 2 and nothing written.

import assert from "node:assert/strict";

const CLI = new URL("../cli.ts", import.meta.url).pathname;
const TRACE = new URL("../workloads/traces/fork_demo.strace", import.meta.url).pathname;
const PERF = new URL("../workloads/traces/fork_demo.perf", import.meta.url).pathname;

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "--allow-env", "--allow-sys", CLI, ...args],
    env: { CI: "1", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("cli --trace replays a user's trace, in workers too", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.copyFile(TRACE, `${dir}/my-app.strace`);
    const r = await cli(
      "run",
      "--workload",
      "trace-replay",
      "--scheme",
      "anon_vma,cow_context",
      "--trace",
      `${dir}/my-app.strace,${PERF}`,
      "--jobs",
      "2",
      "--out",
      `${dir}/out`,
    );
    assert.equal(r.code, 0, r.stderr);
    const results = JSON.parse(await Deno.readTextFile(`${dir}/out/results.json`));
    assert.deepEqual(
      results.runs.map((x: { workload: { params: { trace: string } } }) => x.workload.params.trace),
      ["my-app", "my-app"],
    );
    assert.ok(results.suite.command.includes("--trace"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli --trace with a malformed line: one line naming file and line, nothing written", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const lines = (await Deno.readTextFile(TRACE)).split("\n");
    lines.splice(3, 0, "14398 1795322128.657 this is not a system call");
    await Deno.writeTextFile(`${dir}/bad.strace`, lines.join("\n"));
    const r = await cli(
      "run",
      "--workload",
      "trace-replay",
      "--trace",
      `${dir}/bad.strace`,
      "--out",
      `${dir}/out`,
    );
    assert.equal(r.code, 2);
    const err = r.stderr.trim().split("\n");
    assert.equal(err.length, 1, r.stderr);
    assert.ok(err[0].includes("bad.strace") && err[0].includes("Trace line 4"), err[0]);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["bad.strace"]);
    const missing = await cli("run", "--workload", "trace-replay", "--trace", `${dir}/nope.strace`);
    assert.equal(missing.code, 2);
    assert.ok(missing.stderr.includes("no such file"), missing.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
