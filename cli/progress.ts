/**
 * Progress output on stderr. On a terminal (and when `CI` is not set) one line rewritten with
 * `\r`: a bar, runs done/total, the current run, elapsed time and an ETA. Otherwise one plain
 * line per finished run.
 *
 * @module
 */

/** Where and how progress is written. */
export interface ProgressOptions {
  /** Rewrite one line (terminal) or print plain lines. */
  interactive: boolean;
  /** Writes text to stderr. */
  write: (text: string) => void;
  /** Milliseconds clock (default `performance.now`). */
  now?: () => number;
  /** Terminal width for the rewritten line (default 100). */
  columns?: number;
}

/**
 * Formats seconds as `m:ss` (or `h:mm:ss`).
 *
 * @example Usage
 * ```ts
 * import { formatDuration } from "./progress.ts";
 * if (formatDuration(75) !== "1:15") throw new Error("unexpected");
 * ```
 */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/**
 * Progress of a list of runs.
 *
 * @example Usage
 * ```ts
 * import { Progress } from "./progress.ts";
 * const lines: string[] = [];
 * const p = new Progress(2, { interactive: false, write: (t) => lines.push(t) });
 * p.started("a");
 * p.finished("a");
 * p.end();
 * if (!lines[0].startsWith("[1/2] a")) throw new Error("unexpected");
 * ```
 */
export class Progress {
  readonly #total: number;
  readonly #opts: ProgressOptions;
  readonly #now: () => number;
  readonly #start: number;
  readonly #startedAt = new Map<string, number>();
  #done = 0;
  #current = "";
  #drawn = false;
  /** Simulated progress of running runs, shown after the current run's id. */
  readonly #within = new Map<string, string>();

  /** Creates the progress display for `total` runs. */
  constructor(total: number, opts: ProgressOptions) {
    this.#total = total;
    this.#opts = opts;
    this.#now = opts.now ?? (() => performance.now());
    this.#start = this.#now();
  }

  /** Seconds since the progress was created. */
  get elapsedSeconds(): number {
    return (this.#now() - this.#start) / 1000;
  }

  /** A run started. */
  started(id: string): void {
    this.#startedAt.set(id, this.#now());
    this.#current = id;
    if (this.#opts.interactive) this.#draw();
  }

  /**
   * Progress within a run: simulated time (ns) and task steps so far. Shown on the rewritten
   * line; plain output prints nothing (it stays one line per finished run).
   */
  within(id: string, simulatedNs: number, steps: number): void {
    this.#within.set(id, `sim ${(simulatedNs / 1e6).toFixed(1)} ms, ${steps} steps`);
    this.#current = id;
    if (this.#opts.interactive) this.#draw();
  }

  /** A run finished. */
  finished(id: string): void {
    this.#done++;
    this.#within.delete(id);
    const t0 = this.#startedAt.get(id) ?? this.#now();
    this.#startedAt.delete(id);
    if (this.#opts.interactive) {
      this.#draw();
    } else {
      const secs = ((this.#now() - t0) / 1000).toFixed(2);
      this.#opts.write(`[${this.#done}/${this.#total}] ${id} (${secs} s)\n`);
    }
  }

  #draw(): void {
    const elapsed = this.elapsedSeconds;
    const eta = this.#done > 0 ? (elapsed / this.#done) * (this.#total - this.#done) : NaN;
    const width = 20;
    const filled = this.#total === 0 ? width : Math.round((this.#done / this.#total) * width);
    const bar = "#".repeat(filled) + "-".repeat(width - filled);
    let line = `[${bar}] ${this.#done}/${this.#total} ${formatDuration(elapsed)} elapsed, ETA ${
      Number.isFinite(eta) ? formatDuration(eta) : "?"
    }  ${this.#current}${
      this.#within.has(this.#current) ? ` (${this.#within.get(this.#current)})` : ""
    }`;
    const columns = this.#opts.columns ?? 100;
    if (line.length > columns - 1) line = line.slice(0, columns - 2) + "…";
    this.#opts.write(`\r\x1b[2K${line}`);
    this.#drawn = true;
  }

  /** Ends the display (finishes the rewritten line). */
  end(): void {
    if (this.#opts.interactive && this.#drawn) this.#opts.write("\n");
  }
}
