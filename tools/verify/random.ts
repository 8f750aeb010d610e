/**
 * Random verify scenarios (`verify --random N`): short sequences of system calls on a small arena
 * window, written in the scenario language, for the host kernel and the model to run side by
 * side. Hand-written scenarios test what their authors thought of; random ones reach the
 * combinations nobody wrote down (a shrink across a hole, a move over a gap onto a mapping, a
 * MAP_FIXED over part of a guarded VMA). Their first runs, on 2026-12-03, found four model bugs,
 * each now a named scenario of the suite (tools/verify/scenarios/more_paths.scn, guard.scn).
 *
 * The steps are drawn without regard to whether they succeed: a call the kernel refuses is
 * compared like any other (its errno). What is drawn, and how often (out of 100 draws): map 20
 * (private anonymous, shared anonymous, or a private mapping of a 64-page file; MAP_FIXED in a
 * third), write 18, read 5, fork 9 (at most 4 processes alive, 7 in all), exit 4, munmap 6,
 * mprotect 8, mremap 10 (in place, or to a fixed address, DONTUNMAP when the lengths agree),
 * madvise 13 (the advices in {@link RANDOM_ADVICE}), mlock 3, munlock 4; after a step, a `measure`
 * one time in four. Addresses lie in the first {@link RANDOM_WINDOW} pages of the arena, lengths
 * are 1 to 8 pages.
 *
 * This module is browser compatible and has no dependencies beyond the project's own.
 *
 * @module
 */

import { Random } from "../../core/lib/random.ts";

/** The madvise advices random scenarios draw from (stable on any host: no swap, KSM or uffd). */
export const RANDOM_ADVICE: readonly string[] = [
  "dontneed",
  "free",
  "wipeonfork",
  "keeponfork",
  "dontfork",
  "dofork",
  "dontdump",
  "dodump",
  "normal",
  "random",
  "sequential",
  "cold",
  "hugepage",
  "nohugepage",
  "populate_write",
  "populate_read",
  "guard_install",
  "guard_remove",
  "willneed",
];

/** Pages of the arena the random steps address (sizes and moves reach a little beyond). */
export const RANDOM_WINDOW = 40;

const PROTS = ["r", "rw", "rw", "rw", "none", "rwx", "rx"] as const;

/**
 * `count` random scenarios from `seed`, as scenario-language text: the same seed gives the same
 * text. Scenario `i` is named `random-<seed>-<i>`.
 *
 * @example Usage
 * ```ts
 * import { randomScenarios } from "./random.ts";
 * const text = randomScenarios(1, 2);
 * text.startsWith("scenario random-1-0\n"); // true
 * ```
 */
export function randomScenarios(seed: number, count: number): string {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const r = new Random(seed).fork(`scenario:${i}`);
    out.push(...oneScenario(r, `random-${seed}-${i}`), "");
  }
  return out.join("\n");
}

/** The lines of one random scenario. */
function oneScenario(r: Random, name: string): string[] {
  const lines = [
    `scenario ${name}`,
    "source random (tools/verify/random.ts)",
    "file F0 64",
    "spawn P0",
  ];
  const alive = ["P0"];
  let named = 1;
  let measures = 0;
  const steps = r.int(10, 28);
  for (let j = 0; j < steps && alive.length > 0; j++) {
    const p = r.pick(alive);
    const a = r.int(0, RANDOM_WINDOW);
    const n = r.int(1, 8);
    const d = r.int(0, 99);
    if (d < 20) {
      const kind = r.chance(0.85) ? "private" : "shared";
      const file = kind === "private" && r.chance(0.15) ? ` file=F0:${r.int(0, 40)}` : "";
      const fixed = r.chance(0.3) ? " fixed" : "";
      lines.push(`map ${p} ${a} ${n} ${r.pick(PROTS)} ${kind}${file}${fixed}`);
    } else if (d < 38) lines.push(`write ${p} ${a} ${n}`);
    else if (d < 43) lines.push(`read ${p} ${a} ${n}`);
    else if (d < 52) {
      if (alive.length < 4 && named < 7) {
        const c = `P${named++}`;
        lines.push(`fork ${p} ${c}`);
        alive.push(c);
      } else lines.push(`read ${p} ${a} ${n}`);
    } else if (d < 56) {
      if (alive.length > 1) {
        lines.push(`exit ${p}`);
        alive.splice(alive.indexOf(p), 1);
      } else lines.push(`write ${p} ${a} ${n}`);
    } else if (d < 62) lines.push(`munmap ${p} ${a} ${n}`);
    else if (d < 70) lines.push(`mprotect ${p} ${a} ${n} ${r.pick(PROTS)}`);
    else if (d < 80) {
      const m = r.int(1, 10);
      if (r.chance(0.4)) lines.push(`mremap ${p} ${a} ${n} ${m}`);
      else {
        const dontunmap = m === n && r.chance(0.3) ? " dontunmap" : "";
        lines.push(`mremap ${p} ${a} ${n} ${m} to=${r.int(0, RANDOM_WINDOW + 20)}${dontunmap}`);
      }
    } else if (d < 93) lines.push(`madvise ${p} ${a} ${n} ${r.pick(RANDOM_ADVICE)}`);
    else if (d < 96) lines.push(`mlock ${p} ${a} ${n}`);
    else lines.push(`munlock ${p} ${a} ${n}`);
    if (r.chance(0.25)) lines.push(`measure m${measures++}`);
  }
  lines.push("measure end");
  return lines;
}
