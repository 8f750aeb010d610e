/**
 * The scheme comparison table printed by the CLI: for each workload, one row per run with live
 * objects per cache, rmap and slab bytes, walk visits, useless visits, and the work and times of
 * the lock classes the scheme owns. Plain fixed-width text for a terminal; a pure function of the
 * Results. Figures are means over the repeats of each run ({@link TABLE_COLUMNS} names them; the
 * HTML report and `summary.md` show the same columns).
 *
 * This module is browser compatible and has no dependencies outside the repository.
 *
 * @module
 */

import { metricAggregate } from "./repeats.ts";
import { type Results, runLabel, type RunResult } from "./results.ts";

/** One column of the comparison table: a metric of `runMetrics` and how to show it. */
export interface TableColumn {
  /** Header. */
  label: string;
  /** Metric name. */
  metric: string;
  /** Divide the value by this before printing (1024 for KiB). */
  scale: number;
  /** Decimals for non-integers. */
  digits: number;
  /** What it shows. */
  description: string;
}

/** The columns of the comparison table after the run label, in order. */
export const TABLE_COLUMNS: readonly TableColumn[] = [
  col("VMAs", "slab.final.objects.vm_area_struct", 1, 1, "Live VMAs at the end."),
  col("anon_vma", "slab.final.objects.anon_vma", 1, 1, "Live anon_vma objects at the end."),
  col("AVC", "slab.final.objects.anon_vma_chain", 1, 1, "Live anon_vma_chain objects."),
  col("cow_ctx", "slab.final.objects.cow_context", 1, 1, "Live CoW contexts at the end."),
  col("rmap KiB", "rmapBytes.final", 1024, 1, "Bytes of the caches the scheme owns, at the end."),
  col("rmap peak KiB", "rmapBytes.peak", 1024, 1, "Peak over time of the scheme's own caches."),
  col("slab KiB", "slab.final.totalBytes", 1024, 1, "Every slab cache at the end."),
  col("peak slab KiB", "slab.peak.totalBytes", 1024, 1, "Peak over time of every slab cache."),
  col("visits mean", "walks.all.visits.mean", 1, 1, "Mean candidate VMAs per rmap walk."),
  col("p99", "walks.all.visits.p99", 1, 1, "Largest per-kind p99 of visits per walk."),
  col("max", "walks.all.visits.max", 1, 1, "Largest visits of one walk."),
  col("useless %", "walks.all.uselessPercent", 1, 1, "Visits that found nothing, % of all."),
  col("own lock acq", "locks.owned.acquisitions", 1, 1, "Acquisitions of the scheme's locks."),
  col("work under lock", "locks.owned.workUnderLock", 1, 1, "Work units under its locks."),
  col("hold p99 ns", "locks.owned.hold.p99", 1, 1, "Largest hold p99 of its locks."),
  col("wait p99 ns", "locks.owned.wait.p99", 1, 1, "Largest wait p99 of its locks."),
  col("trylock fail", "locks.all.trylockFailures", 1, 1, "Failed trylocks, every lock class."),
];

function col(
  label: string,
  metric: string,
  scale: number,
  digits: number,
  description: string,
): TableColumn {
  return { label, metric, scale, digits, description };
}

/**
 * The value of a table column for a run: the mean over its repeats, scaled; 0 when the run has no
 * such figure.
 *
 * @example Usage
 * ```ts
 * import { columnValue, TABLE_COLUMNS } from "./table.ts";
 * import type { RunResult } from "./results.ts";
 * declare const run: RunResult;
 * console.log(columnValue(run, TABLE_COLUMNS[4]));
 * ```
 */
export function columnValue(run: RunResult, column: TableColumn): number {
  return (metricAggregate(run, column.metric)?.mean ?? 0) / column.scale;
}

/**
 * Formats a column value: integers as they are, others with the column's decimals.
 *
 * @example Usage
 * ```ts
 * import { formatColumnValue, TABLE_COLUMNS } from "./table.ts";
 * if (formatColumnValue(2048 / 1024, TABLE_COLUMNS[4]) !== "2.0") throw new Error("unexpected");
 * ```
 */
export function formatColumnValue(value: number, column: TableColumn): string {
  if (column.scale !== 1) return value.toFixed(column.digits);
  return Number.isInteger(value) ? String(value) : value.toFixed(column.digits);
}

const HEADER = ["scheme", ...TABLE_COLUMNS.map((c) => c.label)];

/**
 * Renders the comparison: one block per workload, one row per run. "rmap KiB" counts the
 * objects of the caches the scheme owns (`scheme.ownedCaches`: anon_vma and anon_vma_chain, or
 * CoW contexts and remap arrays); "slab KiB" adds VMAs, maple nodes and mm_structs; the peaks
 * are the largest totals seen during the run (workloads that end by exiting their processes show
 * their cost there). With repeats every figure is the mean over them.
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
  const repeat = results.suite.repeat ?? 1;
  const blocks: string[] = [];
  for (const [workload, runs] of byWorkload) {
    const rows = runs.map((r) => [
      runLabel(r),
      ...TABLE_COLUMNS.map((c) => formatColumnValue(columnValue(r, c), c)),
    ]);
    const widths = HEADER.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
    const fmt = (cells: string[]): string =>
      cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
    blocks.push(
      [
        `${workload} (live objects at the end of the workload, its RCU-deferred frees done; walks ` +
        `over every kind; locks the scheme owns${
          repeat > 1 ? `; means over ${repeat} repeats` : ""
        })`,
        fmt(HEADER),
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

function num(n: number, digits = 1): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(digits);
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
