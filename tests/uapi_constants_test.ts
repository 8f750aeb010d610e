// The syscall constants of the model are the host's uAPI values: core/kernel/types.ts (what
// scripts pass to Kernel.mmap and the others), and the name tables of the strace parser and the
// trace replay (what a recorded trace's flag names become). A C program compiled with the host gcc
// prints each constant from <sys/mman.h>, <linux/mman.h>, <linux/uio.h> and <sched.h>; a wrong
// value (a typo, or another architecture's) would make the model run other calls than the
// program made. The RELOCATE_ANON flags are proposals not in any released header and are left out.
// Skipped when gcc is missing (the suite says so).

import { assertEquals } from "./assert.ts";
import * as T from "../core/kernel/types.ts";
import { FLAG_VALUES } from "../workloads/strace_parser.ts";
import { MADVICE } from "../workloads/trace_replay.ts";

const NAMES = [
  "PROT_NONE",
  "PROT_READ",
  "PROT_WRITE",
  "PROT_EXEC",
  "MAP_SHARED",
  "MAP_PRIVATE",
  "MAP_SHARED_VALIDATE",
  "MAP_FIXED",
  "MAP_ANONYMOUS",
  "MAP_GROWSDOWN",
  "MAP_STACK",
  "MAP_NORESERVE",
  "MAP_POPULATE",
  "MAP_NONBLOCK",
  "MAP_FIXED_NOREPLACE",
  "MAP_LOCKED",
  "MLOCK_ONFAULT",
  "MCL_CURRENT",
  "MCL_FUTURE",
  "MCL_ONFAULT",
  "MREMAP_MAYMOVE",
  "MREMAP_FIXED",
  "MREMAP_DONTUNMAP",
  "MADV_NORMAL",
  "MADV_RANDOM",
  "MADV_SEQUENTIAL",
  "MADV_WILLNEED",
  "MADV_DONTNEED",
  "MADV_DONTNEED_LOCKED",
  "MADV_DONTFORK",
  "MADV_DOFORK",
  "MADV_WIPEONFORK",
  "MADV_KEEPONFORK",
  "MADV_MERGEABLE",
  "MADV_UNMERGEABLE",
  "MADV_FREE",
  "MADV_HUGEPAGE",
  "MADV_NOHUGEPAGE",
  "MADV_DONTDUMP",
  "MADV_DODUMP",
  "MADV_COLD",
  "MADV_PAGEOUT",
  "MADV_POPULATE_READ",
  "MADV_POPULATE_WRITE",
  "UIO_MAXIOV",
  "CLONE_VM",
  "CLONE_FS",
  "CLONE_FILES",
  "CLONE_SIGHAND",
  "CLONE_VFORK",
  "CLONE_THREAD",
];

function hasGcc(): boolean {
  try {
    return new Deno.Command("gcc", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

/** Each name's value as the host's headers define it. */
function hostValues(): Record<string, number> {
  const dir = Deno.makeTempDirSync({ prefix: "rmapbench-uapi-" });
  try {
    const src = [
      "#define _GNU_SOURCE",
      "#include <stdio.h>",
      "#include <sched.h>",
      "#include <sys/mman.h>",
      "#include <linux/mman.h>",
      "#include <linux/uio.h>",
      "int main(void) {",
      ...NAMES.map((n) => `  printf("%s %lu\\n", "${n}", (unsigned long)(${n}));`),
      ...NEWER_THAN_HEADERS.map((n) =>
        `#ifdef ${n}\n  printf("%s %lu\\n", "${n}", (unsigned long)(${n}));\n#endif`
      ),
      "  return 0;",
      "}",
    ].join("\n");
    Deno.writeTextFileSync(`${dir}/u.c`, src);
    const cc = new Deno.Command("gcc", { args: ["-o", `${dir}/u`, `${dir}/u.c`], stderr: "piped" })
      .outputSync();
    if (!cc.success) throw new Error(new TextDecoder().decode(cc.stderr));
    const out = new TextDecoder().decode(new Deno.Command(`${dir}/u`).outputSync().stdout);
    return Object.fromEntries(
      out.trim().split("\n").map((l) => l.split(" ")).map(([n, v]) => [n, Number(v)]),
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

/**
 * Names newer than this host's headers (Debian 12's, from Linux 6.1): the guard advice came in
 * 6.13. Compared when the headers define them; the running kernel's meaning of the values is
 * checked by verify (tools/verify/scenarios/guard.scn: 102 and 103 install and remove guards).
 */
const NEWER_THAN_HEADERS = ["MADV_GUARD_INSTALL", "MADV_GUARD_REMOVE"];

const gcc = hasGcc();

Deno.test({
  name: "uAPI: the model's and the trace tables' syscall constants are the host headers' values",
  ignore: !gcc,
  fn(): void {
    const host = hostValues();
    const newer = NEWER_THAN_HEADERS.filter((n) => n in host);
    assertEquals(Object.keys(host), [...NAMES, ...newer]);
    const model = T as unknown as Record<string, number>;
    const inTypes = [...NAMES, ...newer].filter((n) => n in model);
    assertEquals(Object.fromEntries(inTypes.map((n) => [n, model[n]])), pick(host, inTypes));
    const inParser = Object.keys(FLAG_VALUES);
    assertEquals({ ...FLAG_VALUES }, pick(host, inParser));
    const madvice = Object.keys(MADVICE).filter((n) => n in host);
    assertEquals(pick(MADVICE, madvice), pick(host, madvice));
    // Only the newer names may be missing from the headers.
    assertEquals(
      Object.keys(MADVICE).filter((n) => !(n in host) && !NEWER_THAN_HEADERS.includes(n)),
      [],
    );
    // Every name checked is in one of the three tables.
    const covered = new Set([...inTypes, ...inParser, ...Object.keys(MADVICE)]);
    assertEquals(NAMES.filter((n) => !covered.has(n)), []);
  },
});

function pick(o: Record<string, number>, keys: string[]): Record<string, number> {
  return Object.fromEntries(keys.map((k) => [k, o[k]]));
}
