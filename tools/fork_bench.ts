/**
 * `deno task bench:fork`: the fork benchmark of the foundation issue. A process with V faulted
 * one-page VMAs (default 2,000, one unmapped page between them so they cannot merge) forks N
 * times (default 100); each child exits at once. Prints, for each scheme:
 * - the simulated fork latency and fork rate (simulated time, default cost profile),
 * - the simulator's own wall time for the N forks (how the data structures scale),
 * and, when the host can compile and run `tools/calibrate/runner.c`, the real kernel's time for
 * the same forks (only the parent's fork() call is timed, as in the simulation).
 *
 * It prints no ratio of the simulator's own speed to the real kernel's: one unpinned run of each
 * side moved such a ratio between 0.78x and 1.17x from one invocation to the next (the kernel's
 * fork() calls are slower and noisier unpinned, as each child exits on the other CPU). That
 * comparison is `deno task bench:scale --part a`, pinned, in repeated pairs, with an interval;
 * the last line says so.
 *
 * Usage: `deno task bench:fork [--vmas V] [--forks N] [--scheme ID[,ID]]`
 *
 * @module
 */

import { Kernel } from "../core/kernel/kernel.ts";
import { Machine } from "../core/machine/machine.ts";
import { costProfile } from "../core/machine/cost_model.ts";
import { createScheme, schemeIds } from "../core/rmap/registry.ts";
import {
  MAP_ANONYMOUS,
  MAP_FIXED_NOREPLACE,
  MAP_PRIVATE,
  type Mm,
  PAGE_SIZE,
} from "../core/kernel/types.ts";
import { hostAvailable, runnerPath } from "./calibrate/host.ts";
import type { TaskScript } from "../workloads/workload.ts";

const BASE = 0x100000000000;

/** Figures of one simulated fork benchmark. */
export interface SimForkResult {
  /** Scheme id. */
  scheme: string;
  /** Mean simulated fork latency, ns. */
  forkNs: number;
  /** Simulated forks per simulated second. */
  forksPerSecond: number;
  /** Wall time of the simulator for the N forks (and exits), ms. */
  wallMs: number;
}

/** Runs the simulated benchmark. */
export function simulateForks(
  scheme: string,
  vmas: number,
  forks: number,
  profile = "default",
): SimForkResult {
  const machine = new Machine({ cpus: 2, costs: costProfile(profile) });
  const k = new Kernel({ scheme: createScheme(scheme), exec: machine.exec });
  let parent!: Mm;
  const setup = (): void => {
    parent = k.spawn();
    for (let i = 0; i < vmas; i++) {
      const a = BASE + i * 2 * PAGE_SIZE;
      k.mmap(parent, a, PAGE_SIZE, 3, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE);
      k.touch(parent, a, "write");
    }
  };
  let wall = 0;
  machine.addTask({
    id: 1,
    name: "forkbench",
    kind: "user",
    next: (() => {
      const script = (function* (): TaskScript {
        yield { op: "mmap", run: setup };
        const t0 = performance.now();
        for (let i = 0; i < forks; i++) {
          let child!: Mm;
          yield { op: "fork", run: () => child = k.fork(parent) };
          yield { op: "exit", run: () => k.exit(child) };
        }
        wall = performance.now() - t0;
        yield { op: "exit", run: () => k.exit(parent) };
      })();
      return () => {
        const r = script.next();
        return r.done ? null : r.value;
      };
    })(),
  });
  machine.run();
  const m = machine.metrics();
  const fork = m.ops.fork.latencyNs;
  return { scheme, forkNs: fork.mean, forksPerSecond: 1e9 / fork.mean, wallMs: wall };
}

/** Runs the real kernel's fork benchmark through runner.c; null when unavailable. */
export async function hostForks(
  vmas: number,
  forks: number,
): Promise<{ totalNs: number; minNs: number } | null> {
  const avail = await hostAvailable();
  if (!avail.ok) return null;
  const out = await new Deno.Command(await runnerPath(), {
    args: ["forkbench", String(vmas), String(forks), "1"],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const m = text.match(/RESULT forks=\d+ total_ns=(\d+) min_ns=(\d+)/);
  if (!out.success || !m) return null;
  return { totalNs: Number(m[1]), minNs: Number(m[2]) };
}

async function main(args: string[]): Promise<number> {
  let vmas = 2000, forks = 100;
  let schemes = schemeIds();
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--vmas") vmas = Number(args[++i]);
    else if (a === "--forks") forks = Number(args[++i]);
    else if (a === "--scheme") schemes = (args[++i] ?? "").split(",");
    else {
      console.error(`error: unknown option "${a}"; valid: --vmas V, --forks N, --scheme IDS`);
      return 2;
    }
  }
  if (!Number.isInteger(vmas) || vmas < 1 || vmas > 60000) {
    console.error("error: --vmas must be an integer in [1, 60000]");
    return 2;
  }
  if (!Number.isInteger(forks) || forks < 1 || forks > 100000) {
    console.error("error: --forks must be an integer in [1, 100000]");
    return 2;
  }
  for (const s of schemes) {
    if (!schemeIds().includes(s)) {
      console.error(`error: unknown scheme "${s}"; valid: ${schemeIds().join(", ")}`);
      return 2;
    }
  }
  console.log(`fork of a process with ${vmas} faulted VMAs, ${forks} times`);
  const host = await hostForks(vmas, forks);
  if (host) {
    console.log(
      `real kernel (${Deno.osRelease()}): ${
        (host.totalNs / 1e6).toFixed(1)
      } ms for ${forks} forks, ` +
        `${(host.totalNs / forks / 1e3).toFixed(0)} µs per fork (min ${
          (host.minNs / 1e3).toFixed(0)
        } µs)`,
    );
  } else console.log("real kernel: not measured (needs gcc and a Linux host)");
  for (const s of schemes) {
    const r = simulateForks(s, vmas, forks);
    const h = simulateForks(s, vmas, forks, "host-x86-6.18");
    console.log(
      `${s.padEnd(22)} simulated ${(r.forkNs / 1e3).toFixed(0).padStart(5)} µs per fork ` +
        `(default profile, ${r.forksPerSecond.toFixed(0)} forks/s), ` +
        `${(h.forkNs / 1e3).toFixed(0).padStart(5)} µs (host-x86-6.18 profile); simulator wall ` +
        `${r.wallMs.toFixed(0)} ms for ${forks} forks + exits`,
    );
  }
  console.log(
    "the simulator's own speed against the real kernel's (a fork storm, both pinned to one CPU, " +
      "in repeated pairs, with an interval): deno task bench:scale --part a",
  );
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
