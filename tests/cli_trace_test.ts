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

Deno.test("cli --trace accepts a recorded trace file (gzip); truncated or malformed ones are one-line errors", async () => {
  const { TRACE_LIBRARY } = await import("../workloads/traces/library.ts");
  const { base64Bytes } = await import("../workloads/trace_file.ts");
  const bytes = base64Bytes(TRACE_LIBRARY.find((t) => t.name === "python_fork_pool")!.gzipBase64);
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/pool.trace.gz`, bytes);
    const r = await cli(
      "run",
      "--workload",
      "trace-replay",
      "--scheme",
      "anon_vma",
      "--trace",
      `${dir}/pool.trace.gz`,
      "--out",
      `${dir}/out`,
    );
    assert.equal(r.code, 0, r.stderr);
    const results = JSON.parse(await Deno.readTextFile(`${dir}/out/results.json`));
    const run = results.runs[0];
    assert.equal(run.workload.params.trace, "pool");
    assert.equal(run.counters.forks, 4);
    const tree = run.extraTables.find((t: { title: string }) =>
      t.title === "Trace replay: process tree"
    );
    assert.equal(tree.rows.length, 5);
    // Truncated gzip: one line naming the file and the problem; nothing written.
    await Deno.writeFile(`${dir}/cut.trace.gz`, bytes.subarray(0, bytes.length - 100));
    const cut = await cli(
      "run",
      "--workload",
      "trace-replay",
      "--trace",
      `${dir}/cut.trace.gz`,
      "--out",
      `${dir}/o2`,
    );
    assert.equal(cut.code, 2);
    const err = cut.stderr.trim().split("\n");
    assert.equal(err.length, 1, cut.stderr);
    assert.match(err[0], /cut\.trace\.gz.*Gzip data is truncated/);
    // A malformed header inside valid gzip.
    const text = "rmapbench-trace 1\nkernel 6.18\n=== strace\n";
    const gz = new Uint8Array(
      await new Response(
        new Blob([text]).stream().pipeThrough(new CompressionStream("gzip")),
      ).arrayBuffer(),
    );
    await Deno.writeFile(`${dir}/hdr.trace.gz`, gz);
    const hdr = await cli(
      "run",
      "--workload",
      "trace-replay",
      "--trace",
      `${dir}/hdr.trace.gz`,
      "--out",
      `${dir}/o3`,
    );
    assert.equal(hdr.code, 2);
    assert.equal(hdr.stderr.trim().split("\n").length, 1, hdr.stderr);
    assert.match(
      hdr.stderr,
      /hdr\.trace\.gz.*Trace file line 2: malformed header line "kernel 6\.18"/,
    );
    assert.deepEqual(
      [...Deno.readDirSync(dir)].map((e) => e.name).sort(),
      ["cut.trace.gz", "hdr.trace.gz", "out", "pool.trace.gz"],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
