/**
 * rmapbench: a simulator of the Linux kernel's anonymous reverse mapping (`anon_vma`) and of
 * replacement designs ("schemes"), seeded workload generators that drive it through a
 * syscall-level API, a timed machine (CPUs, locks, RCU, a cost model), a recorder that turns a
 * run into a versioned Results document, and pure renderers of that document (CSV, HTML,
 * markdown, Bencher Metric Format, github-action-benchmark JSON, comparisons).
 *
 * Importing this module needs no permissions and has no side effects: everything it pulls in is
 * plain TypeScript (plus the pinned `npm:csv-stringify` used by the CSV renderers), so it also
 * works when imported from a URL. The command-line interface, which is the only place that does
 * I/O, lives in `cli.ts`.
 *
 * @example Simulate a fork and count anon_vma objects
 * ```ts
 * import {
 *   AnonVmaScheme,
 *   Kernel,
 *   MAP_ANONYMOUS,
 *   MAP_PRIVATE,
 *   PAGE_SIZE,
 *   PROT_READ,
 *   PROT_WRITE,
 * } from "./mod.ts";
 *
 * const kernel = new Kernel({ scheme: new AnonVmaScheme() });
 * const parent = kernel.spawn();
 * const addr = kernel.mmap(
 *   parent,
 *   0,
 *   4 * PAGE_SIZE,
 *   PROT_READ | PROT_WRITE,
 *   MAP_PRIVATE | MAP_ANONYMOUS,
 * );
 * kernel.touch(parent, addr, "write");
 * kernel.fork(parent);
 * // The child gets its own anon_vma, chained to the parent's.
 * if (kernel.slab.live("anon_vma") !== 2) throw new Error("unexpected");
 * ```
 *
 * @example Run a scheme on a workload and render the results
 * ```ts ignore
 * import { runOne, SCHEMA_VERSION, summaryMarkdown, type Results } from "./mod.ts";
 *
 * const run = runOne({ scheme: "anon_vma", workload: "fork-storm", seed: 1 });
 * const results: Results = {
 *   schemaVersion: SCHEMA_VERSION,
 *   tool: { name: "rmapbench", version: "0.1.0" },
 *   suite: {
 *     command: "example",
 *     seed: 1,
 *     schemes: ["anon_vma"],
 *     workloads: ["fork-storm"],
 *     costProfile: "default",
 *   },
 *   environment: {
 *     generatedAt: new Date().toISOString(),
 *     deno: "",
 *     v8: "",
 *     os: "",
 *     arch: "",
 *     cpus: 1,
 *   },
 *   runs: [run],
 * };
 * console.log(summaryMarkdown(results));
 * ```
 *
 * @module
 */

// Kernel core: system calls, constants, types and parameters.
export * from "./core/kernel/kernel.ts";
export * from "./core/kernel/types.ts";
export * from "./core/kernel/params.ts";
export {
  UFFD_FEATURE_MOVE,
  UFFD_FEATURE_SIGBUS,
  UFFDIO_COPY_MODE_DONTWAKE,
  UFFDIO_COPY_MODE_WP,
  UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES,
  UFFDIO_MOVE_MODE_DONTWAKE,
  UFFDIO_REGISTER_MODE_MINOR,
  UFFDIO_REGISTER_MODE_MISSING,
  UFFDIO_REGISTER_MODE_WP,
  UFFDIO_ZEROPAGE_MODE_DONTWAKE,
  Userfaultfd,
} from "./core/kernel/userfaultfd.ts";
export * from "./core/slab.ts";
export * from "./core/oracle.ts";

// Data structures the kernel types expose (VMA tree, page tables, interval trees) and the PRNG.
export * from "./core/lib/gap_tree.ts";
export * from "./core/lib/range_btree.ts";
export * from "./core/lib/sorted_map.ts";
export * from "./core/lib/interval_tree.ts";
export * from "./core/lib/random.ts";
export type { DistributionSummary } from "./core/lib/stats.ts";

// Rmap schemes: the interface, the classes and the registry.
export * from "./core/rmap/scheme.ts";
export * from "./core/rmap/anon_vma.ts";
export * from "./core/rmap/anon_vma_2026.ts";
export * from "./core/rmap/anon_vma_per_av_lock.ts";
export * from "./core/rmap/anon_vma_lazy.ts";
export * from "./core/rmap/cow_context.ts";
export * from "./core/rmap/registry.ts";

// The timed machine: cost model, locks, scheduler, metrics.
export * from "./core/machine/mod.ts";

// Workloads: the interface and the registry.
export * from "./workloads/workload.ts";
export * from "./workloads/registry.ts";

// Recorder and reports: runOne, the Results document and its renderers.
export * from "./runner/recorder.ts";
export * from "./reports/mod.ts";
