/**
 * `deno task verify:under-load`: the documented check that the host-verification tests cannot
 * fail because the machine is busy. It compiles a small fork storm (C, with the system `cc`, into
 * a temporary directory), starts it in the background, runs
 * `deno test --allow-all tests/verify_test.ts tests/calibrate_test.ts` while it runs, stops the
 * storm (its own process group, nothing else) and exits with the test's status.
 *
 * The storm: `--workers W` processes (default 2) each loop forever: fork a child that maps
 * `--regions R` (default 16) private anonymous 4-page regions, writes them, forks a grandchild
 * that writes them too (CoW), and exits; then sleep `--pause-us U` microseconds (default 500).
 * The storm stops itself after 900 s whatever happens to this script. Every iteration allocates and frees anon_vma and anon_vma_chain objects, which is exactly the
 * global slab noise verify must detect (and skip), never report as a model difference.
 *
 * Usage: `deno run --allow-all tools/verify/under_load.ts [--workers W] [--regions R]
 * [--pause-us U] [--all] [-- extra deno test args]`; `--all` runs the whole test suite
 * (`deno test --allow-all`, what `deno task test` runs) instead of the two host tests.
 *
 * @module
 */

import { compilerCommand } from "./host.ts";

const STORM_C = `
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
static void stop(int s) { (void)s; kill(0, SIGKILL); }
static void touch(int regions) {
  for (int i = 0; i < regions; i++) {
    char *p = mmap(0, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) _exit(1);
    for (int j = 0; j < 4; j++) p[j * 4096] = 1;
  }
}
int main(int argc, char **argv) {
  int workers = atoi(argv[1]), regions = atoi(argv[2]), pause_us = atoi(argv[3]);
  setpgid(0, 0);
  signal(SIGTERM, stop);
  signal(SIGALRM, stop);
  alarm((unsigned)atoi(argv[4])); /* never outlive the check, even if it is killed */
  pid_t leader = getpid();
  for (int w = 0; w < workers; w++) {
    if (fork() == 0) {
      signal(SIGTERM, SIG_DFL);
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != leader) _exit(0);
      for (;;) {
        pid_t c = fork();
        if (c == 0) {
          touch(regions);
          pid_t g = fork();
          if (g == 0) { touch(regions); _exit(0); }
          if (g > 0) waitpid(g, 0, 0);
          _exit(0);
        }
        if (c > 0) waitpid(c, 0, 0);
        if (pause_us) usleep(pause_us);
      }
    }
  }
  for (;;) pause();
}
`;

function flag(args: string[], name: string, dflt: number): number {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const v = Number(args[i + 1]);
  if (!Number.isInteger(v) || v < 0 || v > 1_000_000) {
    console.error(`error: ${name} needs an integer in [0, 1000000]`);
    Deno.exit(2);
  }
  return v;
}

async function main(): Promise<number> {
  const dd = Deno.args.indexOf("--");
  const own = dd < 0 ? Deno.args : Deno.args.slice(0, dd);
  const extra = dd < 0 ? [] : Deno.args.slice(dd + 1);
  const workers = flag(own, "--workers", 2);
  const regions = flag(own, "--regions", 16);
  const pause = flag(own, "--pause-us", 500);
  const all = own.includes("--all");
  const files = all ? [] : ["tests/verify_test.ts", "tests/calibrate_test.ts"];
  const dir = await Deno.makeTempDir({ prefix: "rmapbench-storm-" });
  let storm: Deno.ChildProcess | null = null;
  try {
    await Deno.writeTextFile(`${dir}/storm.c`, STORM_C);
    const cc = await new Deno.Command(compilerCommand(), {
      args: ["-O2", "-o", `${dir}/storm`, `${dir}/storm.c`],
    }).output();
    if (!cc.success) {
      console.error(`under_load: ${compilerCommand()} failed on the storm program`);
      return 3;
    }
    storm = new Deno.Command(`${dir}/storm`, {
      args: [String(workers), String(regions), String(pause), "900"],
      stdout: "null",
      stderr: "null",
    }).spawn();
    console.error(
      `under_load: fork storm running (pid ${storm.pid}: ${workers} workers, ${regions} regions, ` +
        `${pause} us pause); running ${all ? "the whole test suite" : "the verify tests"}`,
    );
    const test = await new Deno.Command(Deno.execPath(), {
      args: ["test", "--allow-all", ...files, ...extra],
      cwd: new URL("../../", import.meta.url),
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    console.error(
      `under_load: the tests ${test.success ? "passed" : "FAILED"} with the fork storm running`,
    );
    return test.success ? 0 : 1;
  } finally {
    if (storm) {
      try {
        storm.kill("SIGTERM"); // the storm kills its own process group
      } catch {
        // already gone
      }
      await storm.status;
    }
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) Deno.exit(await main());
