/**
 * A short GitHub-flavoured markdown summary of a Results document, for PR comments and
 * `$GITHUB_STEP_SUMMARY`.
 *
 * @module
 */

import { HEADLINE_FIGURES } from "./metrics.ts";
import { runCorrectness } from "./repeats.ts";
import { type Results, runLabel, type RunResult } from "./results.ts";
import { columnValue, formatColumnValue, TABLE_COLUMNS } from "./table.ts";
import { baselineSchemeOf, DEFAULT_VERDICT_BASELINE, schemeOutcomes, verdicts } from "./verdict.ts";

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

/** The header of {@link summaryMarkdown}'s per-workload figure tables (the console table's). */
export const SUMMARY_MARKDOWN_COLUMNS: readonly string[] = [
  "scheme",
  ...TABLE_COLUMNS.map((c) => c.label),
];

/** One figure row of a run (cells already escaped): the console table's columns, means. */
function figureRow(r: RunResult): string[] {
  return [
    inlineCode(runLabel(r)),
    ...TABLE_COLUMNS.map((c) => formatColumnValue(columnValue(r, c), c)),
  ];
}

/** The verdict tables and the cross-workload summary. */
function verdictLines(results: Results): string[] {
  const all = verdicts(results);
  const base = baselineSchemeOf(results);
  if (base === null) {
    return [
      "",
      `No verdicts: the baseline scheme ${
        inlineCode(results.suite.baselineScheme ?? DEFAULT_VERDICT_BASELINE)
      } did not run.`,
    ];
  }
  const repeats = all[0]?.repeats ?? 1;
  const lines: string[] = [
    "",
    `### Verdicts: each scheme against ${inlineCode(base)}`,
    "",
    (repeats > 1
      ? `Each cell is the ratio of the scheme's mean to ${inlineCode(base)}'s over ${repeats} ` +
        `paired repeats (same seeds), with its 95 % confidence interval (Fieller): `
      : `Each cell is the ratio of the scheme's figure to ${inlineCode(base)}'s from one run ` +
        `each, with no interval (\`--repeat N\` gives one): `) +
    `below 1 the scheme is smaller (better); \`=\` both exact and equal; ` +
    `n.s. no significant difference (the interval contains 1); (exact) no spread on either ` +
    `side; (no interval) the baseline varies too much between repeats to bound the ratio. ` +
    `The ${inlineCode(base)} row shows its means. Lock figures are of the locks each scheme ` +
    `owns.`,
  ];
  for (const v of all) {
    lines.push("", `#### ${inlineCode(v.workload + v.point)}`, "");
    lines.push(
      ...table(
        ["scheme", ...HEADLINE_FIGURES.map((f) => escapeMarkdown(f.label))],
        v.rows.map((row) => [
          inlineCode(row.run.scheme.id),
          // Cell texts are numbers, brackets and fixed words (formatRatio), nothing from input.
          ...row.cells.map((c) => c.text.replace(/\|/g, "\\|")),
        ]),
      ),
    );
  }
  const outcomes = schemeOutcomes(all);
  if (outcomes.length > 0) {
    lines.push("", "### Across workloads", "");
    const list = (m: Map<string, string[]>): string =>
      [...m.entries()].map(([label, where]) =>
        `${escapeMarkdown(label)} (${where.map(inlineCode).join(", ")})`
      ).join("; ");
    for (const o of outcomes) {
      const parts: string[] = [];
      if (o.better.size) parts.push(`**smaller** on ${list(o.better)}`);
      if (o.worse.size) parts.push(`**larger** on ${list(o.worse)}`);
      parts.push(
        o.better.size + o.worse.size === 0
          ? `no significant difference in any of ${o.total} figures with an interval`
          : `no significant difference in the other ${o.same} of ${o.total}`,
      );
      lines.push(`- ${inlineCode(o.scheme)}: ${parts.join("; ")}.`);
    }
  }
  return lines;
}

/**
 * A short summary. It starts with the verdict tables: per workload (and parameter point), one
 * row per scheme, one column per headline figure, each the ratio to the baseline scheme with its
 * 95 % interval; then a cross-workload summary (where each scheme is significantly smaller or
 * larger, and where nothing is significant); then, per workload, every figure of the console
 * table (means over the repeats). Oracle mismatches or leaks are called out at the top.
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
  const repeat = s.repeat ?? 1;
  lines.push(`## rmapbench summary`);
  lines.push("");
  lines.push(
    `${escapeMarkdown(results.tool.name)} ${
      escapeMarkdown(results.tool.version)
    } · seed ${s.seed}` +
      (repeat > 1 ? ` · ${repeat} repeats (seeds ${(s.repeatSeeds ?? []).join(", ")})` : "") +
      ` · cost profile ${inlineCode(s.costProfile)} · ${results.runs.length} runs`,
  );
  // Over every repeat (a run's own oracle block is repeat 0's).
  const checked = results.runs.map((r) => ({ r, c: runCorrectness(r) }));
  const bad = checked.filter(({ c }) => c.mismatches > 0 || !c.leakFree);
  if (bad.length > 0) {
    lines.push("");
    for (const { r, c } of bad) {
      lines.push(
        `> **Correctness:** ${inlineCode(r.id)}: ${c.mismatches} oracle mismatches` +
          (c.leakFree ? "" : ", slab objects leaked"),
      );
    }
  }
  lines.push(...verdictLines(results));
  lines.push(
    "",
    `### Figures${repeat > 1 ? ` (means over ${repeat} repeats)` : ""}`,
    "",
    "Live objects at the end of the workload, its RCU-deferred frees done; rmap KiB are the caches " +
      "the scheme owns; walks over every kind; lock figures of the locks the scheme owns.",
  );
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
    runs.sort((a, b) => order(a) - order(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    lines.push("");
    lines.push(`#### ${inlineCode(w)}`);
    lines.push("");
    lines.push(...table([...SUMMARY_MARKDOWN_COLUMNS], runs.map(figureRow)));
  }
  return lines.join("\n") + "\n";
}
