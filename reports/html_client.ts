/**
 * The report page's script, written as type-checked, linted TypeScript and shipped as the text
 * of these functions ({@link CLIENT_SCRIPT}, from `Function.prototype.toString`, which gives the
 * transpiled JavaScript). The functions are self-contained: they use only each other (they are
 * inlined side by side into one classic `<script>`), their parameters and browser globals, which
 * they reach through {@link ClientWindow} so the module needs no DOM type library.
 *
 * The script reads the JSON in `<script id="rmapbench-data">` ({@link PageData}), draws every
 * chart of `data.charts` with chart.js, and then sets `data-ready="true"` and
 * `data-charts="<charts drawn>"` on `<body>`; verdict charts draw 95 % error bars and set
 * `data-error-bars="<bars drawn>"` on their canvas. Any error is shown in a visible banner and put
 * in `data-error`.
 *
 * @module
 */

import type { ChartSpec, PageData, WorkloadView } from "./html_views.ts";

/** The few DOM features the script uses. */
interface ClientElement {
  hidden: boolean;
  textContent: string | null;
  value: string;
  dataset: Record<string, string | undefined>;
  addEventListener(type: string, listener: () => void): void;
}

/** The browser globals the script uses. */
export interface ClientWindow {
  /** The page. */
  document: {
    body: ClientElement;
    getElementById(id: string): ClientElement | null;
  };
  /** Window events. */
  addEventListener(
    type: string,
    listener: (e: { message?: string; error?: unknown }) => void,
  ): void;
}

/** A chart.js chart, as far as the script uses it. */
interface ChartInstance {
  data: unknown;
  options: unknown;
  update(): void;
}

/** The chart.js constructor. */
type ChartConstructor = new (canvas: unknown, config: unknown) => ChartInstance;

/** A chart.js config as built here (data and options are plain objects). */
interface ChartConfig {
  type: string;
  data: Record<string, unknown>;
  options: Record<string, unknown> & { scales: Record<string, Record<string, unknown>> };
  plugins?: unknown[];
}

/** What the error-bar plugin reads from a chart. */
interface ErrorBarChart {
  ctx: {
    save(): void;
    restore(): void;
    beginPath(): void;
    moveTo(x: number, y: number): void;
    lineTo(x: number, y: number): void;
    stroke(): void;
    strokeStyle: string;
    lineWidth: number;
  };
  canvas: { dataset: Record<string, string | undefined> };
  data: { datasets: { ci?: (number[] | null)[]; hidden?: boolean }[] };
  scales: { y: { getPixelForValue(v: number): number; min: number; max: number } };
  getDatasetMeta(i: number): { hidden: boolean | null; data: { x: number; width?: number }[] };
  isDatasetVisible(i: number): boolean;
}

/** Shows an error in the banner and records the first in `data-error`. */
export function rmapbenchFail(message: string): void {
  const doc = (globalThis as unknown as ClientWindow).document;
  const box = doc.getElementById("report-error");
  if (box) {
    box.hidden = false;
    box.textContent = (box.textContent ? box.textContent + "\n" : "") + message;
  }
  if (!doc.body.dataset.error) doc.body.dataset.error = message;
}

/** Reports uncaught script errors in the banner. */
export function rmapbenchInstall(): void {
  (globalThis as unknown as ClientWindow).addEventListener("error", (e) => {
    rmapbenchFail("Script error: " + (e.message || String(e.error)));
  });
}

/** Draws every chart of the page with chart.js. */
export function rmapbenchDraw(Chart: ChartConstructor): void {
  const doc = (globalThis as unknown as ClientWindow).document;
  const body = doc.body;
  const dataEl = doc.getElementById("rmapbench-data");
  if (!dataEl || !dataEl.textContent) throw new Error("The page has no data");
  const data = JSON.parse(dataEl.textContent) as PageData;
  const select = (id: string): ClientElement => {
    const el = doc.getElementById(id);
    if (!el) throw new Error("Control " + id + " is missing");
    return el;
  };
  const statSelect = select("stat-select");
  const kindSelect = select("kind-select");
  const seriesSelect = select("series-select");
  const kib = (b: number): number => b / 1024;
  const options = (
    yTitle: string,
    stacked: boolean,
    xTitle?: string,
    xLinear?: boolean,
  ): ChartConfig["options"] => {
    const x: Record<string, unknown> = {
      stacked,
      title: { display: !!xTitle, text: xTitle || "" },
    };
    if (xLinear) x.type = "linear";
    return {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: "nearest", intersect: false },
      plugins: { legend: { position: "bottom" } },
      scales: {
        x,
        y: { stacked, beginAtZero: true, title: { display: true, text: yTitle } },
      },
    };
  };
  type Pick = (r: WorkloadView["runs"][number], label: string) => number | undefined;
  type Dataset = { label: string; data: (number | null)[] } & Record<string, unknown>;
  const perRun = (w: WorkloadView, labels: string[], pick: Pick): Dataset[] =>
    w.runs.map((r, i) => ({
      label: r.label,
      backgroundColor: w.colors[i],
      borderColor: w.colors[i],
      data: labels.map((l) => {
        const v = pick(r, l);
        return v === undefined ? null : v;
      }),
    }));
  // A bar chart of one statistic; when every value is 0 at that statistic, its title says so.
  const statChart = (yTitle: string, labels: string[], datasets: Dataset[]): ChartConfig => {
    const opts = options(yTitle, false);
    if (datasets.every((d) => d.data.every((v) => !v))) {
      (opts.plugins as Record<string, unknown>).title = {
        display: true,
        text: "All values are 0 at " + statSelect.value,
      };
    }
    return { type: "bar", options: opts, data: { labels, datasets } };
  };
  const scalingAxes: Record<string, [string, number]> = {
    slabPeak: ["peak slab KiB", 1024],
    rmapFinal: ["rmap KiB at the end", 1024],
    rmapPeak: ["rmap KiB peak", 1024],
    walkP99: ["visits per walk (p99)", 1],
    useless: ["useless visits %", 1],
    lockWait: ["wait ns (p99)", 1],
    lockHold: ["hold ns (p99)", 1],
  };
  const scaling = (w: WorkloadView, metric: string): ChartConfig => {
    const sw = w.sweep;
    if (!sw) throw new Error("Workload " + w.id + " has no sweep data");
    const axis = scalingAxes[metric];
    if (!axis) throw new Error("Unknown scaling metric " + metric);
    const opts = options(axis[0], false, sw.param + (sw.log ? " (log scale)" : ""), true);
    const x = opts.scales.x;
    x.type = sw.log ? "logarithmic" : "linear";
    x.bounds = "data";
    x.ticks = { callback: (v: unknown) => String(Number(v)) };
    if (sw.xs.length <= 24) {
      x.afterBuildTicks = (scale: { ticks: unknown[] }) => {
        scale.ticks = sw.xs.map((v) => ({ value: v }));
      };
    }
    return {
      type: "line",
      options: opts,
      data: {
        datasets: sw.lines.map((l) => ({
          label: l.scheme,
          borderColor: l.color,
          backgroundColor: l.color,
          pointRadius: 3,
          borderWidth: 2,
          clip: 8,
          data: l.points.filter((p) => p[metric] !== null).map((p) => ({
            x: p.x,
            y: (p[metric] as number) / axis[1],
          })),
        })),
      },
    };
  };
  const statOf = (rec: Record<string, Record<string, number>>, key: string): number | undefined => {
    const s = rec[key];
    return s === undefined ? undefined : s[statSelect.value];
  };
  // Error bars of verdict charts: a vertical line with caps from ci[0] to ci[1] at each bar.
  const errorBars = {
    id: "rmapbenchErrorBars",
    afterDatasetsDraw(chart: ErrorBarChart): void {
      const y = chart.scales.y;
      const ctx = chart.ctx;
      let n = 0;
      ctx.save();
      ctx.strokeStyle = "#1d2430";
      ctx.lineWidth = 1.5;
      chart.data.datasets.forEach((ds, i) => {
        if (!chart.isDatasetVisible(i) || !ds.ci) return;
        const meta = chart.getDatasetMeta(i);
        ds.ci.forEach((ci, j) => {
          const el = meta.data[j];
          if (!ci || !el) return;
          const lo = y.getPixelForValue(Math.max(ci[0], y.min));
          const hi = y.getPixelForValue(Math.min(ci[1], y.max));
          const cap = Math.min(8, (el.width || 12) / 3);
          ctx.beginPath();
          ctx.moveTo(el.x, lo);
          ctx.lineTo(el.x, hi);
          ctx.moveTo(el.x - cap, lo);
          ctx.lineTo(el.x + cap, lo);
          ctx.moveTo(el.x - cap, hi);
          ctx.lineTo(el.x + cap, hi);
          ctx.stroke();
          n++;
        });
      });
      ctx.restore();
      chart.canvas.dataset.errorBars = String(n);
    },
  };
  const verdict = (w: WorkloadView, index: number): ChartConfig => {
    const v = w.verdicts[index];
    if (!v) throw new Error("Workload " + w.id + " has no verdict " + index);
    const opts = options("ratio to " + v.baseline + " (log scale)", false);
    const yAxis = opts.scales.y;
    yAxis.type = "logarithmic";
    yAxis.beginAtZero = false;
    yAxis.min = v.axisMin;
    yAxis.max = v.axisMax;
    yAxis.ticks = {
      callback: (value: unknown) => {
        const n = Number(value);
        const lead = Number(n.toExponential(0).split("e")[0]);
        return lead === 1 || lead === 2 || lead === 5 ? String(Number(n.toPrecision(2))) : "";
      },
    };
    const clamp = (r: number): number => Math.min(v.axisMax, Math.max(v.axisMin, r));
    return {
      type: "bar",
      options: opts,
      plugins: [errorBars],
      data: {
        labels: v.figures,
        datasets: v.schemes.map((s, i) => ({
          label: s,
          backgroundColor: v.colors[i],
          borderColor: v.colors[i],
          data: v.ratios[i].map((r) => (r === null ? null : [1, clamp(r)])),
          ci: v.cis[i],
        })),
      },
    };
  };
  const build = (spec: ChartSpec): ChartConfig => {
    const w = data.workloads[spec.workload];
    const labels = w.runs.map((r) => r.label);
    switch (spec.figure) {
      case "verdict":
        return verdict(w, spec.verdict ?? 0);
      case "slab-final":
      case "slab-peak": {
        const which = spec.figure === "slab-final" ? "final" : "peak";
        const caches = spec.labels ?? [];
        return {
          type: "bar",
          options: options("KiB", true),
          data: {
            labels,
            datasets: caches.map((c) => ({
              label: c,
              backgroundColor: data.cacheColors[c] || "#999",
              data: w.runs.map((r) => kib(r[which][c] || 0)),
            })),
          },
        };
      }
      case "slab-time": {
        const cache = seriesSelect.value;
        return {
          type: "line",
          options: options("KiB (" + cache + ")", false, "simulated ms", true),
          data: {
            datasets: w.runs.map((r, i) => ({
              label: r.label,
              borderColor: w.colors[i],
              backgroundColor: w.colors[i],
              pointRadius: 0,
              borderWidth: 1.5,
              data: r.t.map((t, j) => {
                let y = 0;
                if (cache === "total") {
                  for (const c of Object.keys(r.series)) y += r.series[c][j];
                } else if (r.series[cache]) {
                  y = r.series[cache][j];
                }
                return { x: t / 1e6, y: kib(y) };
              }),
            })),
          },
        };
      }
      case "walks":
        return statChart(
          "visits per walk (" + statSelect.value + ")",
          w.walkKinds,
          perRun(w, w.walkKinds, (r, k) => statOf(r.walks, k)),
        );
      case "histogram": {
        const h = w.histograms[kindSelect.value] || { labels: [], counts: [] };
        const opts = options(
          "walks (log scale)",
          false,
          "visits per walk (" + kindSelect.value + ")",
        );
        opts.scales.y.type = "logarithmic";
        opts.scales.y.beginAtZero = false;
        opts.scales.y.min = 0.8;
        return {
          type: "bar",
          options: opts,
          data: {
            labels: h.labels,
            datasets: w.runs.map((r, i) => ({
              label: r.label,
              backgroundColor: w.colors[i],
              data: (h.counts[i] || []).map((c) => (c > 0 ? c : null)),
            })),
          },
        };
      }
      case "hold":
      case "wait": {
        const fig = spec.figure;
        const classes = spec.labels ?? [];
        return statChart(
          fig + " ns (" + statSelect.value + ")",
          classes,
          perRun(w, classes, (r, l) => statOf(r[fig], l)),
        );
      }
      case "latency":
        return statChart(
          "ns (" + statSelect.value + ")",
          w.ops,
          perRun(w, w.ops, (r, o) => statOf(r.latency, o)),
        );
      case "scaling":
        return scaling(w, spec.metric ?? "");
    }
    throw new Error("Unknown figure " + String(spec.figure));
  };
  const charts: { spec: ChartSpec; chart: ChartInstance }[] = [];
  let drawn = 0;
  data.charts.forEach((spec) => {
    try {
      const canvas = doc.getElementById(spec.id);
      if (!canvas) throw new Error("Canvas " + spec.id + " is missing");
      charts.push({ spec, chart: new Chart(canvas, build(spec)) });
      drawn++;
    } catch (e) {
      rmapbenchFail("Chart " + spec.id + ": " + (e instanceof Error ? e.message : String(e)));
    }
  });
  const refresh = (figures: string[]): void => {
    charts.forEach((c) => {
      if (figures.indexOf(c.spec.figure) < 0) return;
      try {
        const config = build(c.spec);
        c.chart.data = config.data;
        c.chart.options = config.options;
        c.chart.update();
      } catch (e) {
        rmapbenchFail("Chart " + c.spec.id + ": " + (e instanceof Error ? e.message : String(e)));
      }
    });
  };
  statSelect.addEventListener("change", () => refresh(["walks", "hold", "wait", "latency"]));
  kindSelect.addEventListener("change", () => refresh(["histogram"]));
  seriesSelect.addEventListener("change", () => refresh(["slab-time"]));
  body.dataset.charts = String(drawn);
  body.dataset.ready = "true";
}

/** Entry point: draws the page with the loaded chart.js, or reports why it cannot. */
export function rmapbenchStart(Chart: unknown): void {
  const body = (globalThis as unknown as ClientWindow).document.body;
  try {
    if (typeof Chart !== "function") throw new Error("chart.js did not load");
    rmapbenchDraw(Chart as ChartConstructor);
  } catch (e) {
    rmapbenchFail("Report failed: " + (e instanceof Error ? e.message : String(e)));
    body.dataset.charts = body.dataset.charts || "0";
    body.dataset.ready = "true";
  }
}

/**
 * The script inlined into the page: the functions above as JavaScript, then the error handler
 * installation. The loader calls `rmapbenchStart(Chart)` once chart.js is there.
 */
export const CLIENT_SCRIPT: string =
  [rmapbenchFail, rmapbenchInstall, rmapbenchDraw, rmapbenchStart]
    .map((f) => f.toString())
    .join("\n") + "\nrmapbenchInstall();\n";
