/**
 * The report page's style sheet.
 *
 * @module
 */

/** CSS of the report page. */
export const REPORT_STYLE: string = `
:root { color-scheme: light; --fg: #1d2430; --muted: #5b6575; --line: #d9dee6; --bg: #fff; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg);
  background: var(--bg); margin: 0; }
header, main, footer { max-width: 1400px; margin: 0 auto; padding: 0 20px; }
h1 { font-size: 1.5rem; margin: 20px 0 4px; }
h2 { font-size: 1.25rem; margin: 0 0 8px; }
h3 { font-size: 1rem; margin: 18px 0 6px; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 0.92em; }
.muted { color: var(--muted); }
#report-error { background: #fde8e8; color: #8a1111; border: 1px solid #e5a0a0; padding: 8px 12px;
  white-space: pre-wrap; margin: 12px 0; }
.controls { position: sticky; top: 0; z-index: 2; background: #f6f8fb; border-bottom: 1px solid var(--line);
  padding: 8px 20px; display: flex; flex-wrap: wrap; gap: 16px; align-items: center; }
.controls nav a { margin-right: 10px; }
section.workload { border-top: 2px solid var(--line); padding: 16px 0; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(440px, 1fr)); gap: 16px; }
figure { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 8px; }
figcaption { font-weight: 600; margin-bottom: 4px; }
.chart { position: relative; height: 300px; width: 100%; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; margin: 4px 0 12px; font-size: 13px; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
th, td { border: 1px solid var(--line); padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f1f4f8; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tbody tr:nth-child(even) { background: #fafbfd; }
pre.notes { background: #f6f8fb; padding: 8px; overflow-x: auto; }
p.sweep-note { background: #fff8e1; border: 1px solid #f0d78c; padding: 6px 10px; }
.verdict-note, .zero-note { color: var(--muted); }
p.zero-note { border: 1px dashed var(--line); border-radius: 6px; padding: 12px; margin: 0; }
.verdict span.better { color: #1e6b34; font-weight: 600; }
.verdict span.worse { color: #9b1c1c; font-weight: 600; }
.verdict span.baseline { color: var(--muted); }
details.params summary { cursor: pointer; }
.verdict-grid { grid-template-columns: 1fr; }
.verdict-grid .chart { height: 340px; }
`;
