/**
 * ksmd as a kernel thread of the simulated machine (`ksm_scan_thread`, mm/ksm.c): sleeps
 * `sleep_millisecs` (kernel parameter `ksmSleepMillisecs`, default 20), then scans
 * `pages_to_scan` pages (`ksmPagesToScan`, default 100) with {@link Kernel.ksmdScan}, while user
 * tasks are alive. The recorder starts it only when a run asks (`RunOptions.ksmd`), so runs
 * without KSM are unchanged. Its wakes are operations of their own kind, `ksm_scan`, so that their
 * latency is not mixed into that of the madvise system calls. One deviation, named: Linux's
 * ksmd idles while no mm is registered and the first `__ksm_enter` wakes it, so its first scan
 * comes at once; here the first wake comes one sleep after the run starts.
 *
 * @module
 */

import type { Kernel } from "../core/kernel/kernel.ts";
import type { TaskScript } from "../workloads/workload.ts";

/**
 * The ksmd task script: sleep, scan, until `alive()` is false. A sleep of 0 ms is taken as 1 µs
 * so that simulated time passes between wakes.
 *
 * @example Usage
 * ```ts ignore
 * addTask("ksmd", "kthread", ksmdScript(kernel, () => userTasksAlive > 0));
 * ```
 */
export function ksmdScript(kernel: Kernel, alive: () => boolean): TaskScript {
  const sleepNs = Math.max(1_000, kernel.params.ksmSleepMillisecs * 1_000_000);
  return (function* (): TaskScript {
    while (alive()) {
      yield { sleep: sleepNs };
      if (!alive()) break;
      yield { op: "ksm_scan", run: () => void kernel.ksmdScan() };
    }
  })();
}
