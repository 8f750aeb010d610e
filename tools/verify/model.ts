/**
 * The model side of `rmapbench verify`: runs a parsed scenario on the simulated kernel through the
 * public API of `mod.ts` (`Kernel`, `createScheme`, the uAPI constants) with a number of arena
 * copies, and returns what the host runner returns: the outcome of every step, the live
 * anon_vma and anon_vma_chain objects after every step, and at every `measure` step the arena
 * and heap layout of every live process as `/proc/<pid>/smaps` would show it (each VMA's bounds,
 * permissions, offset, kind and anonymous pages).
 *
 * This module is browser compatible: it imports only repository modules.
 *
 * @module
 */

import type { KernelParams } from "../../core/kernel/params.ts";
import {
  createScheme,
  Kernel,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_LOCKED,
  MAP_NORESERVE,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  MAP_STACK,
  MLOCK_ONFAULT,
  type Mm,
  PAGE_SIZE,
  PMD_SIZE,
  type SimFile,
  SyscallError,
  UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES,
  type Userfaultfd,
  VM_EXEC,
  VM_MAYSHARE,
  VM_READ,
  VM_WRITE,
} from "../../mod.ts";
import { type Addr, ADVICE_VALUE, ARENA, mremapFlags, type Scenario } from "./scenario.ts";

/** One VMA as `/proc/<pid>/smaps` shows it, relative to its arena copy or to `start_brk`. */
export interface LayoutLine {
  /** Process name. */
  proc: string;
  /** Arena copy (0..K-1), or -1 for the heap. */
  copy: number;
  /** First page (from the copy's base or from start_brk). */
  start: number;
  /** End page (exclusive). */
  end: number;
  /** `rwxp` string. */
  perms: string;
  /** File page offset for file and shmem mappings; 0 for anonymous ones (maps shows 0). */
  pgoff: number;
  /** `anon`, `shmem`, `F<i>` or `other`. */
  kind: string;
  /**
   * Pages of anonymous folios the VMA's page tables map (`/proc/<pid>/smaps` "Anonymous:",
   * counted by `smaps_pte_entry` and `smaps_pmd_entry` of fs/proc/task_mmu.c: KSM pages and a
   * private file mapping's CoW copies count, the zero page and page-cache pages do not).
   */
  anon: number;
  /**
   * Of those, the pages mapped by PMD entries (smaps' "AnonHugePages:": a THP mapped whole by
   * one PMD; not the huge zero page, nor a THP whose PMD was split).
   */
  anonHuge: number;
}

/** What one execution of a scenario produced (host or model). */
export interface Execution {
  /** Copies of the arena. */
  copies: number;
  /** Errno name of each step (`OK` on success). */
  outcomes: string[];
  /** Live anon_vma objects after each step (index -1 = before the first step, at [0]). */
  anonVma: number[];
  /** Live anon_vma_chain objects, same indexing as `anonVma`. */
  anonVmaChain: number[];
  /** Whether each count was read stably (always true in the model). */
  stable: boolean[];
  /** Layout at each measure step: step index -> lines. */
  layouts: Map<number, LayoutLine[]>;
}

const HEAP_SPAN_PAGES = 2 ** 18;
/** Content ids per `value=V` (one per arena copy): copy c of value V writes `V * this + c`. */
const KSM_COPY_IDS = 2 ** 12;
/** ksmd's `pages_to_scan` in a `ksmd` step (runner.c sets the host's to this). */
const KSMD_PAGES_TO_SCAN = 1_000_000;

function perms(flags: number): string {
  return (flags & VM_READ ? "r" : "-") + (flags & VM_WRITE ? "w" : "-") +
    (flags & VM_EXEC ? "x" : "-") + (flags & VM_MAYSHARE ? "s" : "p");
}

/**
 * Runs a scenario on the model with `copies` arena copies.
 *
 * @param scheme rmap scheme id (`anon_vma` is the classic kernel)
 * @param kernelParams kernel parameters matching the host (e.g. `zeroPage: false`)
 * @example Usage
 * ```ts
 * import { parseScenarios } from "./scenario.ts";
 * import { runModel } from "./model.ts";
 * const [s] = parseScenarios("scenario a\nspawn P0\nmap P0 0 2 rw private\nwrite P0 0 2\n");
 * const e = runModel(s, 2);
 * if (e.anonVma[3] !== 2) throw new Error("one anon_vma per copy");
 * ```
 */
export function runModel(
  s: Scenario,
  copies: number,
  scheme = "anon_vma",
  kernelParams: Partial<KernelParams> = {},
): Execution {
  const k = new Kernel({
    scheme: createScheme(scheme),
    params: { ...kernelParams, debugChecks: true },
  });
  const files = new Map<string, SimFile>();
  for (const [name, pages] of s.files) files.set(name, k.createFile(`rmapbench-${name}`, pages));
  const mms = new Map<string, Mm>();
  const order: string[] = [];
  const exec: Execution = {
    copies,
    outcomes: [],
    anonVma: [],
    anonVmaChain: [],
    stable: [],
    layouts: new Map(),
  };
  const count = (): void => {
    exec.anonVma.push(k.slab.live("anon_vma"));
    exec.anonVmaChain.push(k.slab.live("anon_vma_chain"));
    exec.stable.push(true);
  };
  count();
  const P = PAGE_SIZE;
  const arenaBase = (c: number): number => (ARENA.basePage + c * ARENA.stridePages) * P;
  const at = (mm: Mm, a: Addr, c: number): number =>
    a.kind === "heap" ? mm.startBrk + a.page * P : arenaBase(c) + a.page * P;
  // smaps' "Anonymous:": present entries of anonymous folios (`vm_normal_page` is null for the
  // zero page; a swap entry or a guard marker maps nothing).
  const anonPages = (mm: Mm, start: number, end: number): number => {
    let n = 0;
    for (let vpn = start / P; vpn < end / P; vpn++) {
      const pte = mm.pages.get(vpn);
      if (pte !== undefined && pte.kind === "present" && pte.folio.anon) n++;
    }
    return n;
  };
  // smaps' "AnonHugePages:": 512 pages per PMD entry of a THP in the VMA (`Mm.hugePmds`).
  const anonHugePages = (mm: Mm, start: number, end: number): number => {
    let n = 0;
    for (const [t, kind] of mm.hugePmds ?? []) {
      const a = t * PMD_SIZE;
      if (kind === "thp" && a >= start && a + PMD_SIZE <= end) n += PMD_SIZE / P;
    }
    return n;
  };
  const layout = (): LayoutLine[] => {
    const lines: LayoutLine[] = [];
    for (const name of order) {
      const mm = mms.get(name);
      if (!mm || !mm.alive) continue;
      for (const v of mm.vmas) {
        const kind = v.file === null
          ? "anon"
          : v.file.shmem
          ? "shmem"
          : v.file.name.replace(/^rmapbench-/, "");
        const pgoff = v.file === null ? 0 : v.pgoff;
        const a0 = arenaBase(0), a1 = arenaBase(copies);
        if (v.start >= a0 && v.end <= a1) {
          const c = Math.floor((v.start - a0) / (ARENA.stridePages * P));
          const cb = arenaBase(c);
          lines.push({
            proc: name,
            copy: c,
            start: (v.start - cb) / P,
            end: (v.end - cb) / P,
            perms: perms(v.flags),
            pgoff,
            kind,
            anon: anonPages(mm, v.start, v.end),
            anonHuge: anonHugePages(mm, v.start, v.end),
          });
        } else if (v.start >= mm.startBrk && v.end <= mm.startBrk + HEAP_SPAN_PAGES * P) {
          lines.push({
            proc: name,
            copy: -1,
            start: (v.start - mm.startBrk) / P,
            end: (v.end - mm.startBrk) / P,
            perms: perms(v.flags),
            pgoff,
            kind,
            anon: anonPages(mm, v.start, v.end),
            anonHuge: anonHugePages(mm, v.start, v.end),
          });
        }
      }
    }
    return lines;
  };
  // Each process's userfaultfd, opened at its first uffd step, as runner.c opens it.
  const uffds = new Map<Mm, Userfaultfd>();
  const uffdOf = (mm: Mm): Userfaultfd => {
    let u = uffds.get(mm);
    if (!u) uffds.set(mm, u = k.userfaultfd(mm));
    return u;
  };
  s.steps.forEach((st, i) => {
    let outcome = "OK";
    try {
      const mm = st.proc === "" ? null : mms.get(st.proc)!;
      // Like runner.c: every copy is tried; the first copy's error is the step's outcome.
      const perCopy = (fn: (c: number) => void): void => {
        const n = "addr" in st && st.addr.kind === "heap" ? 1 : copies;
        let first: unknown = null;
        for (let c = 0; c < n; c++) {
          try {
            fn(c);
          } catch (e) {
            first ??= e;
          }
        }
        if (first) throw first;
      };
      switch (st.op) {
        case "spawn":
          mms.set(st.proc, k.spawn());
          order.push(st.proc);
          break;
        case "fork":
          mms.set(st.child, k.fork(mm!));
          order.push(st.child);
          break;
        case "exit":
          k.exit(mm!);
          mms.delete(st.proc);
          break;
        case "execve":
          mms.set(st.proc, k.execve(mm!));
          break;
        case "map": {
          const flags = (st.shared ? MAP_SHARED : MAP_PRIVATE) |
            (st.fixed ? MAP_FIXED : MAP_FIXED_NOREPLACE) | (st.file ? 0 : MAP_ANONYMOUS) |
            (st.stack ? MAP_STACK : 0) | (st.noreserve ? MAP_NORESERVE : 0) |
            (st.populate ? MAP_POPULATE : 0) | (st.locked ? MAP_LOCKED : 0);
          const file = st.file ? files.get(st.file.name)! : null;
          perCopy((c) =>
            k.mmap(
              mm!,
              at(mm!, st.addr, c),
              st.pages * P,
              st.prot,
              flags,
              file,
              (st.file?.pgoff ?? 0) * P,
            )
          );
          break;
        }
        case "munmap":
          perCopy((c) => k.munmap(mm!, at(mm!, st.addr, c), st.pages * P));
          break;
        case "mprotect":
          perCopy((c) => k.mprotect(mm!, at(mm!, st.addr, c), st.pages * P, st.prot));
          break;
        case "madvise":
          perCopy((c) =>
            k.madvise(mm!, at(mm!, st.addr, c), st.pages * P, ADVICE_VALUE[st.advice])
          );
          break;
        case "mlockall":
          if (st.flags) k.mlockall(mm!, st.flags);
          else k.munlockall(mm!);
          break;
        case "pmadvise": {
          // Like runner.c: one call per copy; the first copy's result is the outcome.
          const target = mms.get(st.target)!;
          let first: string | null = null;
          perCopy((c) => {
            const iov = st.ranges.map((r) => ({
              base: at(target, { kind: "arena", page: r.page }, c),
              len: r.pages * P,
            }));
            const total = st.ranges.reduce((n, r) => n + r.pages * P, 0);
            const got = k.processMadvise(mm!, target, iov, ADVICE_VALUE[st.advice]);
            first ??= got === total ? "OK" : `ADVISED:${got / P}`;
          });
          outcome = first ?? "OK";
          break;
        }
        case "mlock":
          perCopy((c) => {
            const a = at(mm!, st.addr, c);
            if (st.mode === "unlock") k.munlock(mm!, a, st.pages * P);
            else if (st.mode === "onfault") k.mlock2(mm!, a, st.pages * P, MLOCK_ONFAULT);
            else k.mlock(mm!, a, st.pages * P);
          });
          break;
        case "mremap":
          perCopy((c) =>
            k.mremap(
              mm!,
              at(mm!, st.addr, c),
              st.oldPages * P,
              st.newPages * P,
              mremapFlags(st),
              st.to ? at(mm!, st.to, c) : 0,
            )
          );
          break;
        case "brk": {
          const want = mm!.startBrk + st.pages * P;
          if (k.brk(mm!, want) !== want) outcome = "ENOMEM";
          break;
        }
        case "touch":
          perCopy((c) => {
            const a = at(mm!, st.addr, c);
            // A content id per copy, as runner.c writes it: pages merge within a copy only.
            const value = st.value === null ? undefined : st.value * KSM_COPY_IDS + c;
            for (let p = 0; p < st.pages; p++) {
              if (st.write) k.touch(mm!, a + p * P, "write", value);
              else k.touch(mm!, a + p * P, "read");
            }
          });
          break;
        case "resident": {
          // Like runner.c: mincore per copy; the first copy's count is the outcome.
          let first: string | null = null;
          perCopy((c) => {
            const vec = k.mincore(mm!, at(mm!, st.addr, c), st.pages * P);
            first ??= `RESIDENT:${vec.reduce((n, b) => n + b, 0)}`;
          });
          outcome = first ?? "OK";
          break;
        }
        case "uffd":
          perCopy((c) => {
            const a = at(mm!, st.addr, c), u = uffdOf(mm!);
            if (st.unregister) u.unregister(a, st.pages * P);
            else u.register(a, st.pages * P);
          });
          break;
        case "uffd_move":
          perCopy((c) =>
            uffdOf(mm!).move(
              at(mm!, st.addr, c),
              at(mm!, st.src, c),
              st.pages * P,
              st.holes ? UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES : 0,
            )
          );
          break;
        case "uffd_fill":
          perCopy((c) => {
            const a = at(mm!, st.addr, c), u = uffdOf(mm!);
            if (st.zero) u.zeropage(a, st.pages * P);
            else u.copy(a, st.pages * P);
          });
          break;
        case "ksmd":
          // One wake per full scan: with more pages to scan than there are, a wake ends where its
          // full scan ends (as runner.c sets pages_to_scan on the host).
          for (let n = 0; n < st.scans; n++) k.ksmdScan(KSMD_PAGES_TO_SCAN);
          break;
        case "measure":
          exec.layouts.set(i, layout());
          break;
      }
    } catch (e) {
      if (!(e instanceof SyscallError)) throw e;
      outcome = e.errno;
    }
    exec.outcomes.push(outcome);
    if (st.op !== "measure") count();
    else {
      exec.anonVma.push(exec.anonVma[exec.anonVma.length - 1]);
      exec.anonVmaChain.push(exec.anonVmaChain[exec.anonVmaChain.length - 1]);
      exec.stable.push(true);
    }
  });
  return exec;
}
