/**
 * The calibration scenarios of `runner.c`, replayed step for step on the simulated kernel with
 * the classic anon_vma scheme (same addresses, same order of operations, same measurement
 * points). Each scenario returns the live anon_vma, anon_vma_chain and scenario-VMA counts at
 * every READY label of the C runner, so `calibrate.ts` can put model and kernel side by side.
 *
 * The simulated runner process has no base VMAs of its own (no libc, stack, heap), so the model's
 * figures correspond to the host's per-region slopes and to its deltas for scenarios without fork.
 *
 * @module
 */

import { Kernel } from "../../core/kernel/kernel.ts";
import { createScheme } from "../../core/rmap/registry.ts";
import {
  MAP_ANONYMOUS,
  MAP_FIXED_NOREPLACE,
  MAP_PRIVATE,
  type Mm,
  MREMAP_DONTUNMAP,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  PAGE_SIZE,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
} from "../../core/kernel/types.ts";

/** Counts at one READY point. */
export interface ModelPoint {
  /** READY label (as printed by runner.c). */
  label: string;
  /** Live anon_vma objects. */
  anonVma: number;
  /** Live anon_vma_chain objects. */
  anonVmaChain: number;
  /** VMAs of the scenario's regions over every live process. */
  regionVmas: number;
}

const BASE = 0x100000000000;
const P = PAGE_SIZE;
const RW = PROT_READ | PROT_WRITE;

class Sim {
  readonly k: Kernel;
  readonly points: ModelPoint[] = [];
  readonly live = new Set<Mm>();
  constructor(scheme: string) {
    this.k = new Kernel({ scheme: createScheme(scheme), params: { debugChecks: true } });
  }
  spawn(): Mm {
    const mm = this.k.spawn();
    this.live.add(mm);
    return mm;
  }
  fork(mm: Mm): Mm {
    const c = this.k.fork(mm);
    this.live.add(c);
    return c;
  }
  exit(mm: Mm): void {
    this.k.exit(mm);
    this.live.delete(mm);
  }
  ready(label: string): void {
    let vmas = 0;
    for (const mm of this.live) vmas += mm.mapCount;
    this.points.push({
      label,
      anonVma: this.k.slab.live("anon_vma"),
      anonVmaChain: this.k.slab.live("anon_vma_chain"),
      regionVmas: vmas,
    });
  }
  mapAt(mm: Mm, addr: number, pages: number): void {
    this.k.mmap(mm, addr, pages * P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE);
  }
  fault(mm: Mm, addr: number, pages: number): void {
    for (let i = 0; i < pages; i++) this.k.touch(mm, addr + i * P, "write");
  }
}

const regionAddr = (i: number, pages: number): number => BASE + i * (pages + 1) * P;

function breadth(sim: Sim, v: number, n: number, pages: number, kind: string): void {
  const runner = sim.spawn();
  sim.ready("base");
  for (let i = 0; i < v; i++) {
    sim.mapAt(runner, regionAddr(i, pages), pages);
    if (kind !== "breadth-unfaulted") sim.fault(runner, regionAddr(i, pages), pages);
  }
  sim.ready("mapped");
  const kids: Mm[] = [];
  for (let c = 0; c < n; c++) {
    const child = sim.fork(runner);
    if (kind === "breadth-cow") {
      for (let i = 0; i < v; i++) sim.fault(child, regionAddr(i, pages), pages);
    }
    kids.push(child);
  }
  sim.ready("forked");
  for (const c of kids) sim.exit(c);
  sim.ready("reaped");
  for (let i = 0; i < v; i++) sim.k.munmap(runner, regionAddr(i, pages), pages * P);
  sim.ready("unmapped");
}

function chain(sim: Sim, d: number, v: number, pages: number, exitAfterFork: boolean): void {
  const runner = sim.spawn();
  sim.ready("base");
  let gen = sim.fork(runner);
  for (let i = 0; i < v; i++) {
    sim.mapAt(gen, regionAddr(i, pages), pages);
    sim.fault(gen, regionAddr(i, pages), pages);
  }
  sim.ready("gen0");
  const all = [gen];
  for (let k = 1; k <= d; k++) {
    const next = sim.fork(gen);
    if (exitAfterFork) sim.exit(gen);
    gen = next;
    all.push(gen);
    sim.ready(`gen${k}`);
  }
  for (const mm of all) if (sim.live.has(mm)) sim.exit(mm);
  sim.ready("reaped");
}

function mprotect(sim: Sim, v: number, pages: number, faultFirst: boolean): void {
  const mm = sim.spawn();
  sim.ready("base");
  for (let i = 0; i < v; i++) {
    sim.mapAt(mm, regionAddr(i, pages), pages);
    if (faultFirst) sim.fault(mm, regionAddr(i, pages), pages);
  }
  sim.ready("mapped");
  for (let i = 0; i < v; i++) {
    sim.k.mprotect(
      mm,
      regionAddr(i, pages) + 40 * P,
      20 * P,
      faultFirst ? PROT_READ : RW | PROT_EXEC,
    );
  }
  sim.ready("split");
  if (!faultFirst) {
    for (let i = 0; i < v; i++) sim.fault(mm, regionAddr(i, pages), 40);
    sim.ready("faulted-low");
    for (let i = 0; i < v; i++) sim.fault(mm, regionAddr(i, pages) + 40 * P, 20);
    sim.ready("faulted-mid");
    for (let i = 0; i < v; i++) sim.fault(mm, regionAddr(i, pages) + 60 * P, pages - 60);
    sim.ready("faulted-high");
  }
  for (let i = 0; i < v; i++) sim.k.mprotect(mm, regionAddr(i, pages) + 40 * P, 20 * P, RW);
  sim.ready("restored");
  for (let i = 0; i < v; i++) sim.k.munmap(mm, regionAddr(i, pages), pages * P);
  sim.ready("unmapped");
}

function mremap(sim: Sim, pages: number, faultFirst: boolean): void {
  const x = BASE, y = BASE + 0x10000000;
  const mm = sim.spawn();
  sim.ready("base");
  sim.mapAt(mm, x, pages);
  if (faultFirst) sim.fault(mm, x, pages);
  sim.ready("r1");
  sim.k.mremap(mm, x, pages * P, pages * P, MREMAP_MAYMOVE | MREMAP_FIXED, y);
  sim.ready("moved");
  sim.mapAt(mm, y + pages * P, pages);
  sim.ready("r2-mapped");
  sim.fault(mm, y + pages * P, pages);
  sim.ready("r2-faulted");
  sim.fault(mm, y, pages);
  sim.ready("r1-faulted");
  sim.k.munmap(mm, y, 2 * pages * P);
  sim.ready("unmapped");
}

function dontunmap(sim: Sim, pages: number): void {
  const t = BASE, f = BASE + 0x10000000;
  const mm = sim.spawn();
  sim.ready("base");
  sim.mapAt(mm, t, pages);
  sim.fault(mm, t, pages);
  sim.ready("mapped");
  sim.k.mremap(mm, t, pages * P, pages * P, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, f);
  sim.ready("moved");
  sim.fault(mm, t, pages);
  sim.ready("refaulted");
  sim.k.munmap(mm, t, pages * P);
  sim.k.munmap(mm, f, pages * P);
  sim.ready("unmapped");
}

/**
 * Runs one runner.c scenario on the model and returns the counts at each READY label.
 *
 * @example Usage
 * ```ts
 * import { runModelScenario } from "./model.ts";
 * const pts = runModelScenario("breadth", [2, 3]);
 * const forked = pts.find((p) => p.label === "forked")!;
 * if (forked.anonVma !== 2 * (1 + 3)) throw new Error();
 * ```
 */
export function runModelScenario(
  name: string,
  params: number[],
  scheme = "anon_vma",
): ModelPoint[] {
  const sim = new Sim(scheme);
  const p = (i: number, dflt?: number): number => {
    const v = params[i] ?? dflt;
    if (v === undefined) throw new RangeError(`Model scenario ${name}: missing parameter ${i}`);
    return v;
  };
  switch (name) {
    case "breadth":
    case "breadth-cow":
    case "breadth-unfaulted":
      breadth(sim, p(0), p(1), p(2, 4), name);
      break;
    case "chain":
    case "chain-exit":
      chain(sim, p(0), p(1), p(2, 4), name === "chain-exit");
      break;
    case "mprotect":
    case "mprotect-unfaulted":
      mprotect(sim, p(0, 1), p(1, 100), name === "mprotect");
      break;
    case "mremap-faulted":
    case "mremap-unfaulted":
      mremap(sim, p(0, 10), name === "mremap-faulted");
      break;
    case "dontunmap":
      dontunmap(sim, p(0, 10));
      break;
    default:
      throw new RangeError(
        `Unknown calibration scenario "${name}"; valid: breadth, breadth-cow, breadth-unfaulted, ` +
          "chain, chain-exit, mprotect, mprotect-unfaulted, mremap-faulted, mremap-unfaulted, " +
          "dontunmap",
      );
  }
  for (const mm of [...sim.live]) sim.exit(mm);
  const left = Object.entries(sim.k.slab.snapshot().objects).filter(([, n]) => n !== 0);
  if (left.length) throw new Error(`Model scenario ${name} leaked ${JSON.stringify(left)}`);
  return sim.points;
}
