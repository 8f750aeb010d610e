/**
 * CSV renderers of a Results document (RFC 4180 quoting by `csv-stringify`).
 *
 * - {@link summaryCsv}: one row per run (scheme × workload), wide.
 * - {@link timeseriesCsv}: slab bytes over simulated time, long format.
 * - {@link walksCsv}: one row per run and walk kind.
 * - {@link walkHistogramCsv}: one row per run, walk kind and histogram bucket.
 * - {@link locksCsv}: one row per run and lock class.
 *
 * Columns for caches, walk kinds, lock classes and op kinds are the union over all runs (caches,
 * walk kinds and ops in the simulator's order, then others alphabetically); a run without a
 * figure has an empty cell. Numbers are written as JavaScript prints them, booleans as
 * `true`/`false`. Times are simulated nanoseconds.
 *
 * @module
 */

import { stringify } from "npm:csv-stringify@6.9.0/sync";
import {
  LATENCY_OPS,
  orderedKeys,
  RESULT_SLAB_CACHES,
  type Results,
  type RunResult,
  type Summary,
  WALK_KINDS,
} from "./results.ts";

type Cell = string | number | boolean | undefined;

function toCsv(header: string[], rows: Cell[][]): string {
  return stringify([header, ...rows], {
    cast: { boolean: (v: boolean): string => (v ? "true" : "false") },
  });
}

function union(runs: readonly RunResult[], pick: (r: RunResult) => object): Set<string> {
  const set = new Set<string>();
  for (const r of runs) for (const k of Object.keys(pick(r))) set.add(k);
  return set;
}

/** Workload parameters as `key=value` pairs joined by `;`, keys sorted. */
function paramsText(params: Record<string, number | string | boolean>): string {
  return orderedKeys(Object.keys(params)).map((k) => `${k}=${params[k]}`).join(";");
}

/**
 * One row per run (the figures of its repeat 0, whose seed is `seed`; `results.json` holds every
 * repeat and the aggregates): identity, live and peak objects and bytes per cache, the bytes of
 * the scheme's own caches (`rmap_bytes.final`, `rmap_bytes.peak`), walk visits
 * (mean/p50/p99/max) and useless visits per walk kind, lock hold and wait p50/p99/max plus
 * acquisitions and trylock failures per lock class, op latency p50/p99 per op, oracle figures.
 *
 * Column names: `live_objects.<cache>`, `live_bytes.<cache>`, `peak_objects.<cache>`,
 * `peak_bytes.<cache>`, `walk.<kind>.visits_p99`, `lock.<class>.wait_p99_ns`,
 * `latency.<op>.p50_ns`, …
 *
 * @example Usage
 * ```ts
 * import { summaryCsv } from "./csv.ts";
 * import type { Results } from "./results.ts";
 * declare const results: Results;
 * const csv = summaryCsv(results);
 * console.log(csv.split("\n")[0]);
 * ```
 */
export function summaryCsv(results: Results): string {
  const runs = results.runs;
  const caches = orderedKeys(
    union(runs, (r) => ({ ...r.slab.final.objects, ...r.slab.peak.objects })),
    RESULT_SLAB_CACHES,
  );
  const kinds = orderedKeys(union(runs, (r) => r.walks), WALK_KINDS);
  const classes = orderedKeys(union(runs, (r) => r.locks));
  const ops = orderedKeys(union(runs, (r) => r.latency), LATENCY_OPS);

  const header = [
    "run",
    "scheme",
    "scheme_title",
    "workload",
    "params",
    "seed",
    "simulated_ns",
    "ops",
    "cpu_utilisation",
  ];
  for (const c of caches) header.push(`live_objects.${c}`);
  for (const c of caches) header.push(`live_bytes.${c}`);
  header.push("live_bytes.total");
  for (const c of caches) header.push(`peak_objects.${c}`);
  for (const c of caches) header.push(`peak_bytes.${c}`);
  header.push("peak_bytes.total", "rmap_bytes.final", "rmap_bytes.peak");
  for (const k of kinds) {
    for (const f of ["count", "visits_mean", "visits_p50", "visits_p99", "visits_max"]) {
      header.push(`walk.${k}.${f}`);
    }
    header.push(`walk.${k}.useless_mean`, `walk.${k}.useless_total`, `walk.${k}.contended`);
  }
  for (const l of classes) {
    header.push(`lock.${l}.read_acquisitions`, `lock.${l}.write_acquisitions`);
    for (const f of ["hold_p50_ns", "hold_p99_ns", "hold_max_ns"]) header.push(`lock.${l}.${f}`);
    for (const f of ["wait_p50_ns", "wait_p99_ns", "wait_max_ns"]) header.push(`lock.${l}.${f}`);
    header.push(`lock.${l}.trylock_failures`);
  }
  header.push("trylock_failures.total");
  for (const op of ops) header.push(`latency.${op}.p50_ns`, `latency.${op}.p99_ns`);
  header.push("oracle.walks_checked", "oracle.mismatches", "oracle.leak_free");

  const rows = runs.map((r): Cell[] => {
    const row: Cell[] = [
      r.id,
      r.scheme.id,
      r.scheme.title,
      r.workload.id,
      paramsText(r.workload.params),
      r.seed,
      r.simulatedNs,
      r.ops,
      r.cpuUtilisation,
    ];
    const s = r.slab;
    for (const c of caches) row.push(s.final.objects[c]);
    for (const c of caches) row.push(s.final.bytes[c]);
    row.push(s.final.totalBytes);
    for (const c of caches) row.push(s.peak.objects[c]);
    for (const c of caches) row.push(s.peak.bytes[c]);
    row.push(s.peak.totalBytes, r.rmapBytes.final, r.rmapBytes.peak);
    for (const k of kinds) {
      const w = r.walks[k];
      row.push(
        w?.count,
        w?.visits.mean,
        w?.visits.p50,
        w?.visits.p99,
        w?.visits.max,
        w?.useless.mean,
        w?.useless.sum,
        w?.contended,
      );
    }
    let trylocks = 0;
    for (const l of classes) {
      const x = r.locks[l];
      trylocks += x?.trylockFailures ?? 0;
      row.push(
        x?.readAcquisitions,
        x?.writeAcquisitions,
        x?.hold.p50,
        x?.hold.p99,
        x?.hold.max,
        x?.wait.p50,
        x?.wait.p99,
        x?.wait.max,
        x?.trylockFailures,
      );
    }
    row.push(trylocks);
    for (const op of ops) row.push(r.latency[op]?.p50, r.latency[op]?.p99);
    row.push(r.oracle.walksChecked, r.oracle.mismatches, r.oracle.leakFree);
    return row;
  });
  return toCsv(header, rows);
}

/**
 * Slab bytes over simulated time in long format: `run, scheme, workload, t_ns, cache, bytes`,
 * one row per run, point and cache (caches in the simulator's order).
 *
 * @example Usage
 * ```ts
 * import { timeseriesCsv } from "./csv.ts";
 * import type { Results } from "./results.ts";
 * declare const results: Results;
 * console.log(timeseriesCsv(results));
 * ```
 */
export function timeseriesCsv(results: Results): string {
  const rows: Cell[][] = [];
  for (const r of results.runs) {
    const caches = orderedKeys(Object.keys(r.timeseries.bytes), RESULT_SLAB_CACHES);
    r.timeseries.t.forEach((t, i) => {
      for (const c of caches) {
        rows.push([r.id, r.scheme.id, r.workload.id, t, c, r.timeseries.bytes[c][i]]);
      }
    });
  }
  return toCsv(["run", "scheme", "workload", "t_ns", "cache", "bytes"], rows);
}

const SUMMARY_COLUMNS = ["mean", "p50", "p90", "p99", "max", "min", "sum"] as const;

function summaryCells(s: Summary): Cell[] {
  return SUMMARY_COLUMNS.map((f) => s[f]);
}

/**
 * Histogram buckets as one cell: `lo-hi:count` joined by spaces (`lo:count` when `lo == hi`).
 *
 * @example Usage
 * ```ts
 * import { histogramText } from "./csv.ts";
 * const t = histogramText([{ lo: 1, hi: 1, count: 3 }, { lo: 2, hi: 3, count: 4 }]);
 * if (t !== "1:3 2-3:4") throw new Error("unexpected");
 * ```
 */
export function histogramText(
  buckets: readonly { lo: number; hi: number; count: number }[],
): string {
  return buckets.map((b) => `${b.lo === b.hi ? b.lo : `${b.lo}-${b.hi}`}:${b.count}`).join(" ");
}

/**
 * One row per run and walk kind: count, contended, the visits distribution, hits, useless visits
 * and structures touched (mean, p50, p90, p99, max, min, sum each) and the visits histogram
 * (see {@link histogramText}).
 *
 * @example Usage
 * ```ts
 * import { walksCsv } from "./csv.ts";
 * import type { Results } from "./results.ts";
 * declare const results: Results;
 * console.log(walksCsv(results));
 * ```
 */
export function walksCsv(results: Results): string {
  const header = ["run", "scheme", "workload", "kind", "count", "contended"];
  for (const d of ["visits", "hits", "useless", "structures"]) {
    for (const f of SUMMARY_COLUMNS) header.push(`${d}_${f}`);
  }
  header.push("histogram");
  const rows: Cell[][] = [];
  for (const r of results.runs) {
    for (const k of orderedKeys(Object.keys(r.walks), WALK_KINDS)) {
      const w = r.walks[k];
      rows.push([
        r.id,
        r.scheme.id,
        r.workload.id,
        k,
        w.count,
        w.contended,
        ...summaryCells(w.visits),
        ...summaryCells(w.hits),
        ...summaryCells(w.useless),
        ...summaryCells(w.structures),
        histogramText(w.histogram),
      ]);
    }
  }
  return toCsv(header, rows);
}

/**
 * The visits histograms in long format: `run, scheme, workload, kind, lo, hi, count`.
 *
 * @example Usage
 * ```ts
 * import { walkHistogramCsv } from "./csv.ts";
 * import type { Results } from "./results.ts";
 * declare const results: Results;
 * console.log(walkHistogramCsv(results));
 * ```
 */
export function walkHistogramCsv(results: Results): string {
  const rows: Cell[][] = [];
  for (const r of results.runs) {
    for (const k of orderedKeys(Object.keys(r.walks), WALK_KINDS)) {
      for (const b of r.walks[k].histogram) {
        rows.push([r.id, r.scheme.id, r.workload.id, k, b.lo, b.hi, b.count]);
      }
    }
  }
  return toCsv(["run", "scheme", "workload", "kind", "lo", "hi", "count"], rows);
}

/**
 * One row per run and lock class: acquisitions, trylock failures, hold and wait distributions in
 * ns (count, mean, p50, p90, p99, max, min, sum) and the work done under the lock as
 * `kind=units` pairs joined by `;`.
 *
 * @example Usage
 * ```ts
 * import { locksCsv } from "./csv.ts";
 * import type { Results } from "./results.ts";
 * declare const results: Results;
 * console.log(locksCsv(results));
 * ```
 */
export function locksCsv(results: Results): string {
  const header = [
    "run",
    "scheme",
    "workload",
    "class",
    "read_acquisitions",
    "write_acquisitions",
    "trylock_failures",
  ];
  for (const d of ["hold", "wait", "read_hold", "write_hold", "read_wait", "write_wait"]) {
    header.push(`${d}_count`);
    for (const f of SUMMARY_COLUMNS) header.push(`${d}_${f}_ns`);
  }
  header.push("work_under_lock");
  const rows: Cell[][] = [];
  for (const r of results.runs) {
    for (const l of orderedKeys(Object.keys(r.locks))) {
      const x = r.locks[l];
      rows.push([
        r.id,
        r.scheme.id,
        r.workload.id,
        l,
        x.readAcquisitions,
        x.writeAcquisitions,
        x.trylockFailures,
        x.hold.count,
        ...summaryCells(x.hold),
        x.wait.count,
        ...summaryCells(x.wait),
        x.readHold?.count ?? "",
        ...(x.readHold ? summaryCells(x.readHold) : SUMMARY_COLUMNS.map(() => "")),
        x.writeHold?.count ?? "",
        ...(x.writeHold ? summaryCells(x.writeHold) : SUMMARY_COLUMNS.map(() => "")),
        x.readWait?.count ?? "",
        ...(x.readWait ? summaryCells(x.readWait) : SUMMARY_COLUMNS.map(() => "")),
        x.writeWait?.count ?? "",
        ...(x.writeWait ? summaryCells(x.writeWait) : SUMMARY_COLUMNS.map(() => "")),
        orderedKeys(Object.keys(x.workUnderLock)).map((k) => `${k}=${x.workUnderLock[k]}`).join(
          ";",
        ),
      ]);
    }
  }
  return toCsv(header, rows);
}
