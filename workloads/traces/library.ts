/**
 * The library of real traces shipped with the trace-replay workload: programs from Debian
 * packages recorded on Linux 6.18 with `deno task record` (tools/record.ts; re-record with
 * tools/record_library.sh). Each is a gzip trace file embedded as base64 (workloads/trace_file.ts)
 * and decoded on first use.
 *
 * @module
 */

import { CHROMIUM_HEADLESS_TRACE } from "./chromium_headless.ts";
import { PYTHON_FORK_POOL_TRACE } from "./python_fork_pool.ts";
import { REDIS_BGSAVE_TRACE } from "./redis_bgsave.ts";
import { MAKE_J2_TRACE } from "./make_j2.ts";

/** One shipped trace. */
export interface LibraryTrace {
  /** Name used with `--param trace=<name>`. */
  readonly name: string;
  /** One line on what the program does. */
  readonly description: string;
  /** The gzip trace file, base64. */
  readonly gzipBase64: string;
}

/**
 * The shipped real traces, smallest first.
 *
 * @example Usage
 * ```ts
 * import { TRACE_LIBRARY } from "./library.ts";
 * if (!TRACE_LIBRARY.some((t) => t.name === "chromium_headless")) throw new Error();
 * ```
 */
export const TRACE_LIBRARY: readonly LibraryTrace[] = [
  {
    name: "python_fork_pool",
    description:
      "Python 3.11 multiprocessing Pool(4) with the fork start method mapping 32 tasks that each build a list and write a 64 KiB bytearray",
    gzipBase64: PYTHON_FORK_POOL_TRACE,
  },
  {
    name: "make_j2",
    description:
      "GNU make -j2 building a 5-file C project with cc (sh, cc, cc1, as, collect2 and ld exec'd per object)",
    gzipBase64: MAKE_J2_TRACE,
  },
  {
    name: "redis_bgsave",
    description:
      "Redis 7.0 on loopback under redis-benchmark SET/LPUSH writes with two BGSAVEs (each forks a child that writes the RDB while the parent keeps writing)",
    gzipBase64: REDIS_BGSAVE_TRACE,
  },
  {
    name: "chromium_headless",
    description:
      "Chromium 156 headless (--no-sandbox) dumping the DOM of a local file:// page with three iframes; its zygote forks the renderer and utility processes",
    gzipBase64: CHROMIUM_HEADLESS_TRACE,
  },
];
