/**
 * Does moving the anon_vma_chain allocations out of the root lock (the 2026 clean-up, reference
 * §10.1) shorten anon_vma root-lock hold and wait? Runs the 6.18 model (`anon_vma`) and the 2026
 * model (`anon_vma-2026`) on the same seeds of a fork/exit-heavy workload, with the recorder's
 * reclaim daemon running, under three allocator models: fast path only, the SLUB slow-path
 * model (`core/slab_slow_path.ts`), and the slow-path model with direct reclaim every
 * `--reclaim-every` new slab pages. For each figure it prints the mean of the per-seed ratios
 * 2026 / 6.18 (paired by seed) and a 95 % Student-t interval of that mean.
 *
 * Usage:
 *   deno run --allow-read tools/root_lock_study.ts [--seeds 10] [--workload fork-storm]
 *     [--profile host-x86-6.18] [--reclaim-every 4]
 *
 * @module
 */

import { runOne } from "../runner/recorder.ts";
import type { RunResult } from "../reports/results.ts";
import type { SlabSlowPathParams } from "../core/slab_slow_path.ts";

/** Two-sided 95 % Student-t quantiles t(0.975, df) for df = 1..30 (standard tables). */
const T975 = [
  12.706,
  4.303,
  3.182,
  2.776,
  2.571,
  2.447,
  2.365,
  2.306,
  2.262,
  2.228,
  2.201,
  2.179,
  2.16,
  2.145,
  2.131,
  2.12,
  2.11,
  2.101,
  2.093,
  2.086,
  2.08,
  2.074,
  2.069,
  2.064,
  2.06,
  2.056,
  2.052,
  2.048,
  2.045,
  2.042,
];

/** Mean and 95 % t interval of `xs` (at least two values). */
export function meanInterval(xs: readonly number[]): { mean: number; lo: number; hi: number } {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  const t = n - 1 <= 30 ? T975[n - 2] : 1.96;
  const h = t * sd / Math.sqrt(n);
  return { mean, lo: mean - h, hi: mean + h };
}

interface Figures {
  writeHoldMean: number;
  writeHoldP99: number;
  waitMean: number;
  waitSum: number;
  writes: number;
}

function figures(r: RunResult): Figures {
  const l = r.locks["anon_vma.root"];
  return {
    writeHoldMean: l.writeHold!.mean,
    writeHoldP99: l.writeHold!.p99,
    waitMean: l.wait.mean,
    waitSum: l.wait.sum,
    writes: l.writeAcquisitions,
  };
}

function arg(name: string, def: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < Deno.args.length ? Deno.args[i + 1] : def;
}

if (import.meta.main) {
  const seeds = Number(arg("seeds", "10"));
  const workload = arg("workload", "fork-storm");
  const profile = arg("profile", "host-x86-6.18");
  const every = Number(arg("reclaim-every", "4"));
  if (!Number.isInteger(seeds) || seeds < 2 || seeds > 1000) {
    console.error("--seeds must be an integer in [2, 1000]");
    Deno.exit(2);
  }
  if (!Number.isInteger(every) || every < 1) {
    console.error("--reclaim-every must be a positive integer");
    Deno.exit(2);
  }
  const configs: [string, Partial<SlabSlowPathParams> | undefined][] = [
    ["fast path only", undefined],
    ["slow paths", {}],
    [`slow paths + direct reclaim every ${every} new slabs`, { reclaimEveryNewSlabs: every }],
  ];
  const keys: (keyof Figures)[] = ["writeHoldMean", "writeHoldP99", "waitMean", "waitSum"];
  console.log(
    `# Root lock, anon_vma-2026 / anon_vma, ${workload}, profile ${profile}, seeds 1..${seeds}\n`,
  );
  console.log(
    "| allocator | figure | 6.18 mean | 2026 mean | ratio 2026/6.18 (mean of paired) | 95 % CI |",
  );
  console.log("|---|---|---:|---:|---:|---|");
  for (const [label, slow] of configs) {
    const a: Figures[] = [];
    const b: Figures[] = [];
    for (let seed = 1; seed <= seeds; seed++) {
      const common = { workload, seed, costProfile: profile, slabSlowPath: slow };
      a.push(figures(runOne({ scheme: "anon_vma", ...common })));
      b.push(figures(runOne({ scheme: "anon_vma-2026", ...common })));
    }
    for (const k of keys) {
      const ratios = a.map((x, i) => b[i][k] / x[k]);
      const ci = meanInterval(ratios);
      const ma = a.reduce((s, x) => s + x[k], 0) / seeds;
      const mb = b.reduce((s, x) => s + x[k], 0) / seeds;
      console.log(
        `| ${label} | ${k} (ns) | ${ma.toFixed(1)} | ${mb.toFixed(1)} | ${ci.mean.toFixed(4)} | ` +
          `[${ci.lo.toFixed(4)}, ${ci.hi.toFixed(4)}] |`,
      );
    }
    const wa = a.reduce((s, x) => s + x.writes, 0) / seeds;
    const wb = b.reduce((s, x) => s + x.writes, 0) / seeds;
    console.log(
      `| ${label} | write acquisitions | ${wa.toFixed(1)} | ${wb.toFixed(1)} | ` +
        `${(wb / wa).toFixed(4)} | (counts) |`,
    );
  }
}
