/**
 * Executes run specs: one at a time in this thread, or in parallel in Web Workers
 * (`worker.ts`). Either way each run is `runOne` of the same options, so results are
 * byte-identical whatever the number of jobs, and they come back in run-list order.
 *
 * @module
 */

import { runOne, type RunProgress } from "../reports/recorder.ts";
import type { RunResult } from "../reports/results.ts";
import type { RunSpec } from "./plan.ts";
import { registerTrace, traceNames } from "../workloads/trace_replay.ts";

/** A message from a worker: the result of one run, or why it failed. */
export type WorkerReply =
  | { ok: true; index: number; result: RunResult }
  | { ok: "progress"; index: number; progress: RunProgress }
  | { ok: false; index: number; message: string };

/** A run that failed: names the run and the reason. */
export class RunFailedError extends Error {
  /** Creates the error. */
  constructor(id: string, reason: string) {
    super(`Run ${id} failed: ${reason.replace(/\s*\n\s*/g, " ")}`);
    this.name = "RunFailedError";
  }
}

/**
 * Runs one spec: `runOne` of its options, with the run id of the spec.
 *
 * @example Usage
 * ```ts ignore
 * import { executeSpec } from "./execute.ts";
 * const r = executeSpec({ index: 0, id: "anon_vma/fork-storm", options: {
 *   scheme: "anon_vma", workload: "fork-storm" } });
 * ```
 */
export function executeSpec(
  spec: RunSpec,
  onProgress?: (p: RunProgress) => void,
): RunResult {
  // Traces from --trace live in this thread's registry; a worker registers them itself.
  for (const t of spec.traces ?? []) {
    if (!traceNames().includes(t.name)) registerTrace(t.name, t.strace, t.perf);
  }
  const result = runOne(spec.options, { onProgress });
  return result.id === spec.id ? result : { ...result, id: spec.id };
}

/** Callbacks for progress. */
export interface ExecuteHooks {
  /** A run starts. */
  started?(spec: RunSpec): void;
  /** A run finished. */
  finished?(spec: RunSpec): void;
  /** A run's simulated time and steps so far (about twice a second during long runs). */
  progress?(spec: RunSpec, p: RunProgress): void;
}

/**
 * Runs every spec, `jobs` at a time, and returns the results in the order of `specs`. With
 * `jobs === 1` the runs happen in this thread; otherwise in `min(jobs, specs.length)` module
 * workers. The first failure stops everything and rejects with a {@link RunFailedError}.
 *
 * @example Usage
 * ```ts ignore
 * import { executeAll } from "./execute.ts";
 * declare const specs: import("./plan.ts").RunSpec[];
 * const results = await executeAll(specs, 2);
 * ```
 */
export async function executeAll(
  specs: readonly RunSpec[],
  jobs: number,
  hooks: ExecuteHooks = {},
): Promise<RunResult[]> {
  if (jobs <= 1 || specs.length <= 1) {
    const out: RunResult[] = [];
    for (const spec of specs) {
      hooks.started?.(spec);
      // Let the progress line reach the terminal before a long synchronous run.
      await new Promise((resolve) => setTimeout(resolve, 0));
      try {
        out.push(executeSpec(spec, hooks.progress && ((p) => hooks.progress!(spec, p))));
      } catch (e) {
        throw new RunFailedError(spec.id, e instanceof Error ? e.message : String(e));
      }
      hooks.finished?.(spec);
    }
    return out;
  }
  return await executeInWorkers(specs, Math.min(jobs, specs.length), hooks);
}

function executeInWorkers(
  specs: readonly RunSpec[],
  jobs: number,
  hooks: ExecuteHooks,
): Promise<RunResult[]> {
  const results: (RunResult | undefined)[] = new Array(specs.length);
  const url = new URL("./worker.ts", import.meta.url).href;
  const workers: Worker[] = [];
  let next = 0;
  let done = 0;
  let settled = false;
  return new Promise<RunResult[]>((resolve, reject) => {
    const stop = (): void => {
      settled = true;
      for (const w of workers) w.terminate();
    };
    const fail = (error: Error): void => {
      if (settled) return;
      stop();
      reject(error);
    };
    const feed = (w: Worker): void => {
      if (next >= specs.length) return;
      const position = next++;
      const spec = specs[position];
      hooks.started?.(spec);
      w.postMessage({ position, spec });
    };
    for (let i = 0; i < jobs; i++) {
      const w = new Worker(url, { type: "module" });
      workers.push(w);
      w.onmessage = (e: MessageEvent<WorkerReply & { position: number }>): void => {
        if (settled) return;
        const reply = e.data;
        const spec = specs[reply.position];
        if (reply.ok === "progress") {
          hooks.progress?.(spec, reply.progress);
          return;
        }
        if (!reply.ok) {
          fail(new RunFailedError(spec.id, reply.message));
          return;
        }
        results[reply.position] = reply.result;
        done++;
        hooks.finished?.(spec);
        if (done === specs.length) {
          stop();
          resolve(results as RunResult[]);
          return;
        }
        feed(w);
      };
      w.onerror = (e: ErrorEvent): void => {
        e.preventDefault();
        fail(new Error(`A worker failed: ${e.message}`));
      };
      w.onmessageerror = (): void => fail(new Error("A worker sent a message that cannot be read"));
    }
    for (const w of workers) feed(w);
  });
}
