/**
 * Helpers of the timed machine's tests: a task's actions as a fixed script, an operation, and a
 * trace as compact rows.
 *
 * @module
 */

import type { OpKind, TaskAction, TraceEntry } from "../core/machine/mod.ts";

/** A `next` function returning `actions` in order, then null. */
export function script(actions: TaskAction[]): () => TaskAction {
  let i = 0;
  return () => (i < actions.length ? actions[i++] : null);
}

/** An operation of `kind` that runs `run`. */
export function op(kind: OpKind, run: () => void): TaskAction {
  return { op: kind, run };
}

/** Trace as compact tuples `[t, cpu, task, event]`. */
export function rows(
  trace: readonly TraceEntry[],
): [number, number | null, number | null, string][] {
  return trace.map((e) => [e.t, e.cpu, e.task, e.event]);
}
