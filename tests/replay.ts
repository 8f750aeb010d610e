// Shared by the trace-replay tests: one replay of a small strace text, and its statistics notes.

import { runOne } from "../runner/recorder.ts";
import type { RunResult } from "../reports/results.ts";
import { registerTrace } from "../workloads/trace_replay.ts";

/** Runs the trace-replay workload on `text` once under anon_vma (no page touches, no daemons). */
export function replayText(name: string, text: string): RunResult {
  registerTrace(name, text);
  return runOne({
    scheme: "anon_vma",
    workload: "trace-replay",
    params: { trace: name, copies: 1, repeat: 1, touch: "none" },
    seed: 1,
    machine: { reclaimIntervalNs: 0, migrateIntervalNs: 0 },
  });
}

/** The notes of `r` from "Replayed calls" on: the replay's statistics and fidelity classes. */
export function statNotes(r: RunResult): string[] {
  const n = r.notes!;
  return n.slice(n.findIndex((l) => l.startsWith("Replayed calls")));
}
