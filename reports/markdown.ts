/**
 * A short GitHub-flavoured markdown summary of a Results document, for PR comments and
 * `$GITHUB_STEP_SUMMARY`.
 *
 * @module
 */

import {
  totalTrylockFailures,
  uselessPercent,
  worstLockWaitP99,
  worstWalkVisitsP99,
} from "./metrics.ts";
import { type Results, runLabel, type RunResult } from "./results.ts";

/**
 * Escapes text for a GFM table cell: backslash-escapes markdown punctuation, `|` included, and
 * turns newlines into spaces; `<` and `>` become HTML entities so no markup gets through.
 *
 * @example Usage
 * ```ts
 * import { escapeMarkdown } from "./markdown.ts";
 * if (escapeMarkdown("a|b") !== "a\\|b") throw new Error("unexpected");
 * ```
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/[\r\n]+/g, " ")
    .replace(/[\\`*_{}[\]()#+!|~]/g, (c) => `\\${c}`)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;");
}

/**
 * Wraps an identifier in inline code for a GFM table cell (backticks become `'`, `|` is escaped,
 * newlines become spaces).
 *
 * @example Usage
 * ```ts
 * import { inlineCode } from "./markdown.ts";
 * if (inlineCode("a|b") !== "`a\\|b`") throw new Error("unexpected");
 * ```
 */
export function inlineCode(text: string): string {
  return `\`${text.replace(/[\r\n]+/g, " ").replace(/`/g, "'").replace(/\|/g, "\\|")}\``;
}

/**
 * Formats a number for markdown: integers with no decimals, others with `digits` decimals.
 *
 * @example Usage
 * ```ts
 * import { formatNumber } from "./markdown.ts";
 * if (formatNumber(1.25, 1) !== "1.3" || formatNumber(7) !== "7") throw new Error("unexpected");
 * ```
 */
export function formatNumber(value: number, digits = 1): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(digits);
}

/** Renders one GFM table. */
function table(header: string[], rows: string[][]): string[] {
  const lines = [
    `| ${header.join(" | ")} |`,
    `|${header.map((_, i) => (i === 0 ? " --- " : " ---: ")).join("|")}|`,
  ];
  for (const r of rows) lines.push(`| ${r.join(" | ")} |`);
  return lines;
}

/** The header of {@link summaryMarkdown}'s per-workload tables. */
export const SUMMARY_MARKDOWN_COLUMNS: readonly string[] = [
  "scheme",
  "slab KiB",
  "peak slab KiB",
  "anon_vma",
  "AVC",
  "walk visits p99",
  "useless %",
  "lock wait p99 (ns)",
  "trylock failures",
];

/** One summary row of a run (cells already escaped). */
function summaryRow(r: RunResult): string[] {
  const wait = worstLockWaitP99(r);
  return [
    inlineCode(runLabel(r)),
    (r.slab.final.totalBytes / 1024).toFixed(1),
    (r.slab.peak.totalBytes / 1024).toFixed(1),
    String(r.slab.final.objects.anon_vma ?? 0),
    String(r.slab.final.objects.anon_vma_chain ?? 0),
    formatNumber(worstWalkVisitsP99(r)),
    uselessPercent(r).toFixed(1),
    wait.lockClass === null ? "–" : `${formatNumber(wait.p99, 0)} (${inlineCode(wait.lockClass)})`,
    String(totalTrylockFailures(r)),
  ];
}

/**
 * A short summary: one GFM table per workload with a row per scheme. Columns: final slab KiB,
 * peak slab KiB, live anon_vma and anon_vma_chain (AVC) objects at the end, the worst walk-visits
 * p99 over the walk kinds, useless visits as a percentage of all visits, the worst lock-wait p99
 * over the lock classes (class in parentheses, so each scheme's root lock shows), and failed
 * trylocks. Oracle mismatches or leaks are called out at the top.
 *
 * @example Usage
 * ```ts
 * import { summaryMarkdown } from "./markdown.ts";
 * import type { Results } from "./results.ts";
 * declare const results: Results;
 * console.log(summaryMarkdown(results));
 * ```
 */
export function summaryMarkdown(results: Results): string {
  const lines: string[] = [];
  const s = results.suite;
  lines.push(`## rmapbench summary`);
  lines.push("");
  lines.push(
    `${escapeMarkdown(results.tool.name)} ${
      escapeMarkdown(results.tool.version)
    } · seed ${s.seed}` +
      ` · cost profile ${inlineCode(s.costProfile)} · ${results.runs.length} runs`,
  );
  const bad = results.runs.filter((r) => r.oracle.mismatches > 0 || !r.oracle.leakFree);
  if (bad.length > 0) {
    lines.push("");
    for (const r of bad) {
      lines.push(
        `> **Correctness:** ${inlineCode(r.id)}: ${r.oracle.mismatches} oracle mismatches` +
          (r.oracle.leakFree ? "" : ", slab objects leaked"),
      );
    }
  }
  const workloads: string[] = [...s.workloads];
  for (const r of results.runs) {
    if (!workloads.includes(r.workload.id)) workloads.push(r.workload.id);
  }
  for (const w of workloads) {
    const runs = results.runs.filter((r) => r.workload.id === w);
    if (runs.length === 0) continue;
    const order = (r: RunResult): number => {
      const i = s.schemes.indexOf(r.scheme.id);
      return i < 0 ? s.schemes.length : i;
    };
    runs.sort((a, b) => order(a) - order(b) || (a.scheme.id < b.scheme.id ? -1 : 1));
    lines.push("");
    lines.push(`### ${inlineCode(w)}`);
    lines.push("");
    lines.push(...table([...SUMMARY_MARKDOWN_COLUMNS], runs.map(summaryRow)));
  }
  return lines.join("\n") + "\n";
}
