/**
 * The scheme comparison table printed by the CLI: for each workload, one row per scheme with live
 * objects and bytes per cache, walk visits (mean, p99, max), useless visits, and the work done
 * under the rmap locks. Plain fixed-width text for a terminal; a pure function of the Results.
 *
 * This module is browser compatible and has no dependencies outside the repository.
 *
 * @module
 */

import { type Results, runLabel, type RunResult } from "./results.ts";

/** Lock classes that belong to an rmap scheme (not mmap_lock or page-table locks). */
const RMAP_LOCK_PREFIXES = ["anon_vma", "cow_context"];

function isRmapLock(cls: string): boolean {
  return RMAP_LOCK_PREFIXES.some((p) => cls === p || cls.startsWith(`${p}.`));
}

function kib(bytes: number): string {
  return (bytes / 1024).toFixed(1);
}

function num(n: number, digits = 1): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(digits);
}

/** Walk visits over every walk kind, weighted by walk count. */
function walkFigures(r: RunResult): { mean: number; p99: number; max: number; useless: number } {
  let count = 0, sum = 0, p99 = 0, max = 0, useless = 0;
  for (const w of Object.values(r.walks)) {
    count += w.visits.count;
    sum += w.visits.sum;
    useless += w.useless.sum;
    if (w.visits.p99 > p99) p99 = w.visits.p99;
    if (w.visits.max > max) max = w.visits.max;
  }
  return { mean: count ? sum / count : 0, p99, max, useless: sum ? (100 * useless) / sum : 0 };
}

/** Acquisitions, work units under the lock, and worst hold/wait p99 over the rmap lock classes. */
function lockFigures(
  r: RunResult,
): {
  acquisitions: number;
  work: number;
  holdP99: number;
  waitP99: number;
  trylockFailures: number;
} {
  let acquisitions = 0, work = 0, holdP99 = 0, waitP99 = 0, trylockFailures = 0;
  for (const [cls, l] of Object.entries(r.locks)) {
    if (!isRmapLock(cls)) continue;
    acquisitions += l.readAcquisitions + l.writeAcquisitions;
    for (const v of Object.values(l.workUnderLock)) work += v;
    holdP99 = Math.max(holdP99, l.hold.p99);
    waitP99 = Math.max(waitP99, l.wait.p99);
    trylockFailures += l.trylockFailures;
  }
  return { acquisitions, work, holdP99, waitP99, trylockFailures };
}

const COLUMNS = [
  "scheme",
  "VMAs",
  "anon_vma",
  "AVC",
  "cow_ctx",
  "rmap KiB",
  "slab KiB",
  "peak slab KiB",
  "visits mean",
  "p99",
  "max",
  "useless %",
  "rmap lock acq",
  "work under lock",
  "hold p99 ns",
  "wait p99 ns",
  "trylock fail",
];

/**
 * Renders the comparison: one block per workload, one row per scheme. "rmap KiB" counts the
 * objects that exist only for the reverse mapping (anon_vma, anon_vma_chain, CoW contexts and
 * remap arrays); "slab KiB" adds VMAs, maple nodes and mm_structs; "peak slab KiB" is the largest
 * total seen during the run (workloads that end by exiting their processes show their cost here).
 *
 * @example Usage
 * ```ts ignore
 * import { comparisonTable } from "./table.ts";
 * console.log(comparisonTable(results));
 * ```
 */
export function comparisonTable(results: Results): string {
  const byWorkload = new Map<string, RunResult[]>();
  for (const r of results.runs) {
    const list = byWorkload.get(r.workload.id) ?? [];
    list.push(r);
    byWorkload.set(r.workload.id, list);
  }
  const blocks: string[] = [];
  for (const [workload, runs] of byWorkload) {
    const rows = runs.map((r) => {
      const o = r.slab.final.objects;
      const b = r.slab.final.bytes;
      const rmapBytes = (b.anon_vma ?? 0) + (b.anon_vma_chain ?? 0) + (b.cow_context ?? 0) +
        (b.cow_remap_array ?? 0) + (b.cow_remap_entry ?? 0);
      const w = walkFigures(r);
      const l = lockFigures(r);
      return [
        runLabel(r),
        String(o.vm_area_struct ?? 0),
        String(o.anon_vma ?? 0),
        String(o.anon_vma_chain ?? 0),
        String(o.cow_context ?? 0),
        kib(rmapBytes),
        kib(r.slab.final.totalBytes),
        kib(r.slab.peak.totalBytes),
        num(w.mean),
        num(w.p99),
        num(w.max),
        num(w.useless),
        String(l.acquisitions),
        String(l.work),
        num(l.holdP99),
        num(l.waitP99),
        String(l.trylockFailures),
      ];
    });
    const widths = COLUMNS.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
    const fmt = (cells: string[]): string =>
      cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
    blocks.push(
      [
        `${workload} (live objects at the end of the workload; walks over every kind)`,
        fmt(COLUMNS),
        fmt(widths.map((n) => "-".repeat(n))),
        ...rows.map(fmt),
      ].join("\n"),
    );
    for (const r of runs) {
      for (const t of r.extraTables ?? []) blocks.push(textTable(`${t.title} — ${runLabel(r)}`, t));
    }
  }
  return blocks.join("\n\n") + "\n";
}

/** A workload's own table (e.g. the Android calibration) as fixed-width text. */
function textTable(
  title: string,
  t: { columns: string[]; rows: (string | number)[][] },
): string {
  const cells = t.rows.map((row) => row.map((c) => (typeof c === "number" ? num(c, 3) : c)));
  const widths = t.columns.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i].length)));
  const fmt = (row: string[]): string =>
    row.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  return [title, fmt(t.columns), fmt(widths.map((n) => "-".repeat(n))), ...cells.map(fmt)].join(
    "\n",
  );
}
