/**
 * Random verify scenarios (`verify --random N`): short sequences of system calls on a small arena
 * window, written in the scenario language, for the host kernel and the model to run side by
 * side. Hand-written scenarios test what their authors thought of; random ones reach the
 * combinations nobody wrote down (a shrink across a hole, a move over a gap onto a mapping, a
 * MAP_FIXED over part of a guarded VMA, a populate of an unfaulted userfaultfd range). Their first
 * runs, on 2026-12-03, found eight model bugs, each now a named scenario of the suite
 * (tools/verify/scenarios/more_paths.scn, guard.scn, uffd.scn, ksm.scn).
 *
 * The steps are drawn without regard to whether they succeed: a call the kernel refuses is
 * compared like any other (its errno). Each scenario has one of four flavours:
 * - `vma` (two fifths of them): maps of private anonymous, shared anonymous (shmem) and private
 *   file memory, with MAP_FIXED and the map options; writes and reads (in the arena and, after a
 *   brk, in the heap), forks (at most 4 processes alive, 7 in all), exits, execve, brk, munmap,
 *   mprotect, mremap (in place, or to a fixed address, DONTUNMAP when the lengths agree), madvise
 *   (the advices of {@link RANDOM_ADVICE}), process_madvise, mlock, munlock, mlockall, munlockall
 *   and mincore;
 * - `uffd`: the same on private anonymous memory only (the host's files are memfds, shmem, which
 *   the model's userfaultfd does not cover), with userfaultfd register, unregister, move, copy and
 *   zeropage steps;
 * - `ksm`: the same on private anonymous memory, with MADV_MERGEABLE and MADV_UNMERGEABLE, writes
 *   of shared content (`value=`) and ksmd scans;
 * - `thp`: private anonymous memory in the first {@link THP_WINDOW} pages (three 2 MiB page
 *   tables), at 2 MiB boundaries half the time, with MADV_HUGEPAGE and the calls that decide
 *   whether a 2 MiB has a page table (zaps, munmap, mremap, fork), the residency of each
 *   touched 2 MiB (a THP or the huge zero page makes it 512), KSM steps (MADV_MERGEABLE, writes
 *   of equal data over a THP's pages, ksmd scans: ksmd splits a THP before it merges its pages),
 *   and userfaultfd register and move steps (UFFDIO_MOVE of an aligned 2 MiB moves a PMD whole).
 * One vma or uffd scenario in three is wide ({@link WIDE_WINDOW}). After a step, a `measure` one
 * time in four. Addresses lie in the first {@link RANDOM_WINDOW}
 * pages of the arena (or of the heap), lengths are 1 to 8 pages.
 *
 * This module is browser compatible and has no dependencies beyond the project's own.
 *
 * @module
 */

import { Random } from "../../core/lib/random.ts";

/**
 * The madvise advices every random scenario draws from (MADV_MERGEABLE and MADV_UNMERGEABLE are
 * the `ksm` flavour's own; MADV_PAGEOUT answers alike with and without swap).
 */
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
  "pageout",
  "dontneed_locked",
];

/** Pages of the arena the random steps address (sizes and moves reach a little beyond). */
export const RANDOM_WINDOW = 40;

/**
 * Pages of the arena a wide scenario addresses: one vma or uffd scenario in three, 16 to 40 calls
 * of which half take 9 to 48 pages (wide scenarios found the CoW fault past a file's end).
 */
export const WIDE_WINDOW = 160;

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
  return randomScenarioTexts(seed, count).map((t) => t + "\n").join("\n");
}

/**
 * The scenarios of {@link randomScenarios} one by one: scenario `i`'s text (no trailing newline)
 * at index `i`.
 *
 * @example Usage
 * ```ts
 * import { randomScenarioTexts } from "./random.ts";
 * randomScenarioTexts(1, 2)[1].startsWith("scenario random-1-1\n"); // true
 * ```
 */
export function randomScenarioTexts(seed: number, count: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const r = new Random(seed).fork(`scenario:${i}`);
    out.push(oneScenario(r, `random-${seed}-${i}`).join("\n"));
  }
  return out;
}

/** The flavours of {@link randomScenarios}: two fifths `vma`, a fifth each of the others. */
const FLAVOURS = ["vma", "vma", "uffd", "ksm", "thp"] as const;

/** Pages of the arena the `thp` flavour addresses: three 2 MiB page tables. */
export const THP_WINDOW = 1536;

/** The lines of one random scenario. */
function oneScenario(r: Random, name: string): string[] {
  const flavour = r.pick(FLAVOURS);
  if (flavour === "thp") return thpScenario(r, name);
  const anonOnly = flavour !== "vma";
  // One vma or uffd scenario in three is wide: a longer run of larger calls on a larger window.
  const wide = flavour !== "ksm" && r.chance(1 / 3);
  const window = wide ? WIDE_WINDOW : RANDOM_WINDOW;
  const lines = [
    `scenario ${name}`,
    `source random (tools/verify/random.ts), ${flavour}${wide ? ", wide" : ""}`,
  ];
  if (!anonOnly) lines.push("file F0 64");
  lines.push("spawn P0");
  const alive = ["P0"];
  let named = 1;
  let measures = 0;
  let ksm = false;
  const steps = wide ? r.int(16, 40) : r.int(10, 28);
  for (let j = 0; j < steps && alive.length > 0; j++) {
    const p = r.pick(alive);
    // A heap address (after a brk) one time in ten, where a step takes one.
    const at = (page: number): string => r.chance(0.1) ? `h${page}` : `${page}`;
    const a = r.int(0, window);
    const n = wide && r.chance(0.5) ? r.int(9, 48) : r.int(1, 8);
    if (flavour === "uffd" && r.chance(0.15)) {
      const d = r.int(0, 9);
      if (d < 4) lines.push(`uffd_register ${p} ${a} ${n}`);
      else if (d < 5) lines.push(`uffd_unregister ${p} ${a} ${n}`);
      else if (d < 7) {
        const holes = r.chance(0.4) ? " holes" : "";
        lines.push(`uffd_move ${p} ${a} ${r.int(0, window)} ${n}${holes}`);
      } else lines.push(`${r.chance(0.5) ? "uffd_copy" : "uffd_zeropage"} ${p} ${a} ${n}`);
      continue;
    }
    if (flavour === "ksm" && r.chance(0.2)) {
      const d = r.int(0, 9);
      if (d < 3) {
        lines.push(`madvise ${p} ${a} ${n} ${r.chance(0.85) ? "mergeable" : "unmergeable"}`);
        ksm = true;
      } else if (d < 7 || !ksm) lines.push(`write ${p} ${a} ${n} value=${r.int(1, 3)}`);
      else lines.push(`ksmd ${r.int(1, 3)}`);
      continue;
    }
    const d = r.int(0, 99);
    if (d < 18) {
      const kind = anonOnly || r.chance(0.85) ? "private" : "shared";
      const file = !anonOnly && kind === "private" && r.chance(0.15)
        ? ` file=F0:${r.int(0, 40)}`
        : "";
      const fixed = r.chance(0.3) ? " fixed" : "";
      const opt = r.pick(MAP_OPTIONS);
      lines.push(`map ${p} ${a} ${n} ${r.pick(PROTS)} ${kind}${file}${fixed}${opt}`);
    } else if (d < 33) lines.push(`write ${p} ${at(a)} ${n}`);
    else if (d < 37) lines.push(`read ${p} ${at(a)} ${n}`);
    else if (d < 45) {
      if (alive.length < 4 && named < 7) {
        const c = `P${named++}`;
        lines.push(`fork ${p} ${c}`);
        alive.push(c);
      } else lines.push(`read ${p} ${a} ${n}`);
    } else if (d < 48) {
      if (alive.length > 1) {
        lines.push(`exit ${p}`);
        alive.splice(alive.indexOf(p), 1);
      } else lines.push(`write ${p} ${a} ${n}`);
    } else if (d < 49) lines.push(`execve ${p}`);
    else if (d < 52) lines.push(`brk ${p} ${r.int(0, 12)}`);
    else if (d < 57) lines.push(`munmap ${p} ${at(a)} ${n}`);
    else if (d < 64) lines.push(`mprotect ${p} ${at(a)} ${n} ${r.pick(PROTS)}`);
    else if (d < 73) {
      const m = r.int(1, 10);
      if (r.chance(0.4)) lines.push(`mremap ${p} ${a} ${n} ${m}`);
      else {
        const dontunmap = m === n && r.chance(0.3) ? " dontunmap" : "";
        lines.push(`mremap ${p} ${a} ${n} ${m} to=${r.int(0, window + 20)}${dontunmap}`);
      }
    } else if (d < 85) lines.push(`madvise ${p} ${at(a)} ${n} ${r.pick(RANDOM_ADVICE)}`);
    else if (d < 87) {
      if (alive.length > 1) {
        const q = r.pick(alive);
        const iov = `${a}:${n} ${r.int(0, window)}:${r.int(0, 4)}`;
        lines.push(`pmadvise ${p} ${q} ${r.pick(REMOTE_ADVICE)} ${iov}`);
      } else lines.push(`write ${p} ${a} ${n}`);
    } else if (d < 90) lines.push(`mlock ${p} ${at(a)} ${n}${r.chance(0.3) ? " onfault" : ""}`);
    else if (d < 93) lines.push(`munlock ${p} ${at(a)} ${n}`);
    else if (d < 95) {
      lines.push(r.chance(0.6) ? `mlockall ${p} ${r.pick(MLOCKALL)}` : `munlockall ${p}`);
    } else lines.push(`resident ${p} ${a} ${n}`);
    if (r.chance(0.25)) lines.push(`measure m${measures++}`);
  }
  lines.push("measure end");
  return lines;
}

/** The map options drawn besides none (MAP_STACK, MAP_NORESERVE, MAP_POPULATE, MAP_LOCKED). */
const MAP_OPTIONS = ["", "", "", " stack", " noreserve", " populate", " locked"] as const;

/** The advices process_madvise takes from another process. */
const REMOTE_ADVICE = ["cold", "pageout", "willneed", "guard_install"] as const;

/** mlockall's flag sets. */
const MLOCKALL = ["current", "future", "current future", "current onfault", "future onfault"];

/** Advices of the `thp` flavour (MADV_HUGEPAGE the most often). */
const THP_ADVICE = [
  "hugepage",
  "hugepage",
  "hugepage",
  "nohugepage",
  "dontneed",
  "dontneed",
  "populate_read",
  "populate_write",
  "free",
  "cold",
  "pageout",
  "dontfork",
  "wipeonfork",
] as const;

/**
 * The lines of one `thp` scenario: private anonymous memory in the first {@link THP_WINDOW} pages,
 * at 2 MiB boundaries half the time and in lengths that reach whole 2 MiB ranges, with
 * MADV_HUGEPAGE and the calls that decide page-table lifetime (zaps, munmap, mremap, fork).
 */
function thpScenario(r: Random, name: string): string[] {
  // An address: a 2 MiB boundary half the time, else any page of the window.
  const addr = (): number => r.chance(0.5) ? 512 * r.int(0, 2) : r.int(0, THP_WINDOW - 1);
  // A length: a small one, or one about 2 MiB or more.
  const len = (): number => r.pick([1, 3, 8, 100, 511, 512, 512, 513, 1024]);
  const lines = [`scenario ${name}`, "source random (tools/verify/random.ts), thp", "spawn P0"];
  // Most start with memory to fault: a mapping at the window's start, often partly MADV_HUGEPAGE.
  if (r.chance(0.8)) {
    const first = r.pick([1, 512, 1024, 1536]);
    lines.push(`map P0 ${first === 1 ? r.int(1, 20) : 0} ${first === 1 ? 1024 : first} rw private`);
    if (r.chance(0.8)) {
      lines.push(`madvise P0 ${r.pick([0, 0, 512, 5])} ${r.pick([512, 1024, 1536])} hugepage`);
    }
  }
  const alive = ["P0"];
  let named = 1;
  let measures = 0;
  const steps = r.int(8, 22);
  for (let j = 0; j < steps && alive.length > 0; j++) {
    const p = r.pick(alive);
    const a = addr(), n = len();
    const d = r.int(0, 99);
    if (d < 10) {
      const fixed = r.chance(0.3) ? " fixed" : "";
      lines.push(`map ${p} ${a} ${n} ${r.pick(["rw", "rw", "rw", "r"])} private${fixed}`);
    } else if (d < 28) lines.push(`madvise ${p} ${a} ${n} ${r.pick(THP_ADVICE)}`);
    else if (d < 52) {
      lines.push(`${r.chance(0.7) ? "write" : "read"} ${p} ${a} ${r.int(1, 3)}`);
      // Whether that took a THP: the residency of its 2 MiB.
      if (r.chance(0.4)) lines.push(`resident ${p} ${a - (a % 512)} 512`);
    } else if (d < 60) {
      if (alive.length < 3 && named < 5) {
        const c = `P${named++}`;
        lines.push(`fork ${p} ${c}`);
        alive.push(c);
      } else lines.push(`write ${p} ${a} 1`);
    } else if (d < 63) {
      if (alive.length > 1) {
        lines.push(`exit ${p}`);
        alive.splice(alive.indexOf(p), 1);
      } else lines.push(`read ${p} ${a} 1`);
    } else if (d < 69) lines.push(`munmap ${p} ${a} ${n}`);
    else if (d < 75) lines.push(`mprotect ${p} ${a} ${n} ${r.pick(["r", "rw", "none"])}`);
    else if (d < 84) {
      const to = r.chance(0.6) ? 512 * r.int(0, 3) : r.int(0, THP_WINDOW);
      const m = r.chance(0.7) ? n : len();
      if (r.chance(0.3)) lines.push(`mremap ${p} ${a} ${n} ${m}`);
      else {
        const dontunmap = m === n && r.chance(0.4) ? " dontunmap" : "";
        lines.push(`mremap ${p} ${a} ${n} ${m} to=${to}${dontunmap}`);
      }
    } else if (d < 88) lines.push(`mlock ${p} ${a} ${n}${r.chance(0.5) ? " onfault" : ""}`);
    else if (d < 91) {
      lines.push(`madvise ${p} ${a} ${n} ${r.chance(0.85) ? "mergeable" : "unmergeable"}`);
    } else if (d < 94) {
      // Equal data over a THP's pages, or a few of them: what ksmd merges after splitting it.
      lines.push(`write ${p} ${a} ${r.pick([1, 8, 100, 512])} value=${r.int(1, 2)}`);
    } else if (d < 97) lines.push(`ksmd ${r.int(1, 3)}`);
    else if (d < 98) lines.push(`resident ${p} ${a} ${n}`);
    else if (r.chance(0.4)) lines.push(`uffd_register ${p} ${a} ${n}`);
    else {
      // UFFDIO_MOVE, often of whole 2 MiB ranges: a PMD moves as one where it can.
      const to = r.chance(0.6) ? 512 * r.int(0, 3) : r.int(0, THP_WINDOW);
      lines.push(`uffd_move ${p} ${to} ${a} ${n}${r.chance(0.3) ? " holes" : ""}`);
    }
    if (r.chance(0.25)) lines.push(`measure m${measures++}`);
  }
  lines.push("measure end");
  return lines;
}
