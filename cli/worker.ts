/**
 * The Web Worker of `--jobs N`: receives `{ position, spec }`, runs the spec with `runOne` and
 * posts back `{ position, ok: true, index, result }` or `{ position, ok: false, index, message }`.
 *
 * Started by `execute.ts` as
 * `new Worker(new URL("./worker.ts", import.meta.url).href, { type: "module" })`.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { executeSpec } from "./execute.ts";
import type { RunSpec } from "./plan.ts";

self.onmessage = (e: MessageEvent<{ position: number; spec: RunSpec }>): void => {
  const { position, spec } = e.data;
  try {
    const result = executeSpec(
      spec,
      (progress) => self.postMessage({ position, ok: "progress", index: spec.index, progress }),
    );
    self.postMessage({ position, ok: true, index: spec.index, result });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    self.postMessage({ position, ok: false, index: spec.index, message });
  }
};
