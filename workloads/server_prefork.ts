/**
 * The `server-prefork` workload: forking servers (reference §11.2), in three modes.
 *
 * - **postgres**: the postmaster has a private anonymous heap and a shared memory segment
 *   (`MAP_SHARED|MAP_ANONYMOUS`: shmem, file rmap, not anon rmap) for shared_buffers. It forks one
 *   backend per connection without exec, so every backend's private VMAs link to the
 *   postmaster's anon_vmas; a backend runs queries (work_mem allocations, shared-buffer accesses,
 *   copy-on-write writes to the inherited heap) and exits when its client disconnects; new
 *   connections keep arriving until `connections` backends have run, at most `backends` at a time.
 * - **apache**: the prefork MPM: the parent forks `startServers` children, then once per
 *   maintenance interval forks children while fewer than `minSpareServers` are idle and retires
 *   one idle child while more than `maxSpareServers` are idle, up to `maxRequestWorkers`; a child
 *   exits after `maxConnectionsPerChild` requests (recycling → fork/exit churn). Load alternates
 *   between busy and quiet phases so that the spare-server logic forks and retires children.
 * - **redis**: a dataset in anonymous memory (jemalloc-style extents); the parent keeps writing
 *   while `BGSAVE` forks a child that reads every page and exits; the parent's writes during a
 *   save copy-on-write into the parent's own anon_vma (reference §11.2, §5.2).
 *
 * Sizes are scaled down from the real defaults (named in each parameter's source) so that a
 * default run takes about a second.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import {
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MAP_SHARED,
  type Mm,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
} from "../core/kernel/types.ts";
import type { Kernel } from "../core/kernel/kernel.ts";
import type { Random } from "../core/lib/random.ts";
import {
  paramsOf,
  type ParamSpec,
  type Step,
  type TaskScript,
  type Workload,
  type WorkloadEnv,
} from "./workload.ts";

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const SHARED_ANON = MAP_SHARED | MAP_ANONYMOUS;

function spec<N extends string>(
  name: N,
  def: number,
  min: number,
  max: number,
  unit: string,
  description: string,
  source: string,
): ParamSpec & { readonly name: N; readonly kind: "int" } {
  return { name, kind: "int", default: def, min, max, unit, description, source };
}

/** Parameters of server-prefork (those of other modes are ignored). */
export const SERVER_PREFORK_PARAMS = [
  {
    name: "mode",
    kind: "enum",
    default: "postgres",
    choices: ["postgres", "apache", "redis"],
    unit: "mode",
    description: "Which server to model.",
    source: "reference §11.2",
  },
  spec(
    "heapPages",
    256,
    1,
    1 << 20,
    "pages",
    "Private anonymous heap of the parent (postgres, apache), written before forking.",
    "assumption: scaled down",
  ),
  spec(
    "backends",
    20,
    1,
    4096,
    "processes",
    "(postgres) Backends alive at once (max_connections scaled from 100).",
    "reference §11.2 (max_connections = 100), scaled: assumption",
  ),
  spec(
    "connections",
    40,
    1,
    1e6,
    "connections",
    "(postgres) Client connections over the run (each one backend: fork, queries, exit).",
    "assumption",
  ),
  spec(
    "queries",
    12,
    1,
    1e6,
    "queries",
    "(postgres) Mean queries per connection (exponentially distributed).",
    "assumption",
  ),
  spec(
    "sharedBuffersPages",
    512,
    1,
    1 << 22,
    "pages",
    "(postgres) shared_buffers in MAP_SHARED|MAP_ANONYMOUS memory (128 MB default, scaled down).",
    "assumption: scaled down from the 128 MB default",
  ),
  spec(
    "workMemPages",
    16,
    1,
    1 << 20,
    "pages",
    "(postgres) work_mem allocation per query (mmap, written, munmap).",
    "assumption: scaled down from the 4 MB default",
  ),
  spec(
    "startServers",
    5,
    1,
    4096,
    "processes",
    "(apache) Children forked at start (StartServers).",
    "reference §11.2 (StartServers 5) [U]",
  ),
  spec(
    "minSpareServers",
    5,
    0,
    4096,
    "processes",
    "(apache) Fork while fewer children are idle (MinSpareServers).",
    "reference §11.2 (MinSpareServers 5) [U]",
  ),
  spec(
    "maxSpareServers",
    10,
    1,
    4096,
    "processes",
    "(apache) Retire an idle child while more are idle (MaxSpareServers).",
    "reference §11.2 (MaxSpareServers 10) [U]",
  ),
  spec(
    "maxRequestWorkers",
    24,
    1,
    4096,
    "processes",
    "(apache) Largest number of children (MaxRequestWorkers 256, scaled down).",
    "reference §11.2 (MaxRequestWorkers 256), scaled: assumption",
  ),
  spec(
    "maxConnectionsPerChild",
    30,
    0,
    1e9,
    "requests",
    "(apache) A child exits after this many requests (0 = never; Apache's default is 0).",
    "reference §11.2 (default 0 = never); 30 is an assumption to show recycling",
  ),
  spec(
    "requests",
    1000,
    1,
    1e9,
    "requests",
    "(apache) Requests served over the run.",
    "assumption",
  ),
  spec(
    "datasetPages",
    2048,
    1,
    1 << 22,
    "pages",
    "(redis) Dataset size in anonymous memory.",
    "assumption: scaled down",
  ),
  spec(
    "bgsaves",
    6,
    1,
    1e6,
    "snapshots",
    "(redis) BGSAVE snapshots (fork, child reads everything and exits).",
    "reference §11.2",
  ),
  spec(
    "writesPerSave",
    1500,
    1,
    1e9,
    "writes",
    "(redis) Page writes by the parent between two BGSAVEs (part of them during the save).",
    "assumption",
  ),
] as const satisfies readonly ParamSpec[];

interface ServerStats {
  counts: Record<string, number>;
}

const STATS = new WeakMap<WorkloadEnv, ServerStats>();

function bump(s: ServerStats, k: string, n = 1): void {
  s.counts[k] = (s.counts[k] ?? 0) + n;
}

function writePages(k: Kernel, mm: Mm, addrs: readonly number[]): Step {
  return { op: "fault", run: () => addrs.forEach((a) => k.touch(mm, a, "write")) };
}

function readPages(k: Kernel, mm: Mm, addrs: readonly number[]): Step {
  return { op: "fault", run: () => addrs.forEach((a) => k.touch(mm, a, "read")) };
}

function range(base: number, pages: number): number[] {
  return Array.from({ length: pages }, (_, i) => base + i * PAGE_SIZE);
}

function randomPages(rng: Random, base: number, pages: number, n: number): number[] {
  return Array.from({ length: n }, () => base + rng.int(0, pages - 1) * PAGE_SIZE);
}

// -------------------------------------------------------------------------------------------------
// postgres

function* postmaster(env: WorkloadEnv, rng: Random, stats: ServerStats): TaskScript {
  const k = env.kernel;
  const p = paramsOf(SERVER_PREFORK_PARAMS, env.params);
  const heapPages = p.heapPages;
  const sbPages = p.sharedBuffersPages;
  const workMem = p.workMemPages;
  let pm!: Mm;
  let heap = 0, shm = 0;
  yield { op: "execve", run: () => pm = k.spawn() };
  yield { op: "mmap", run: () => heap = k.mmap(pm, 0, heapPages * PAGE_SIZE, RW, ANON) };
  yield writePages(k, pm, range(heap, heapPages));
  yield { op: "mmap", run: () => shm = k.mmap(pm, 0, sbPages * PAGE_SIZE, RW, SHARED_ANON) };
  yield writePages(k, pm, range(shm, sbPages));
  env.mark("postmaster-ready");
  let live = 0, started = 0, peakMarked = false;
  const total = p.connections;
  const max = p.backends;
  while (started < total) {
    if (live >= max) {
      yield { sleep: 20_000 };
      continue;
    }
    let child!: Mm;
    yield { op: "fork", run: () => child = k.fork(pm) };
    started++;
    live++;
    bump(stats, "backends_forked");
    if (!peakMarked && live === max) {
      peakMarked = true;
      env.mark("all-backends-connected");
    }
    const c = child;
    const brng = rng.fork(`backend:${started}`);
    const queries = Math.max(1, Math.round(brng.exponential(p.queries)));
    env.addTask(
      `backend-${started}`,
      "user",
      (function* (): TaskScript {
        // Backend start-up: local memory and a few writes to inherited heap pages (catalog caches).
        let local = 0;
        yield { op: "mmap", run: () => local = k.mmap(c, 0, 32 * PAGE_SIZE, RW, ANON) };
        yield writePages(k, c, range(local, 32));
        yield writePages(k, c, randomPages(brng, heap, heapPages, 8));
        for (let q = 0; q < queries; q++) {
          let wm = 0;
          yield { op: "mmap", run: () => wm = k.mmap(c, 0, workMem * PAGE_SIZE, RW, ANON) };
          yield writePages(k, c, range(wm, workMem));
          yield readPages(k, c, randomPages(brng, shm, sbPages, 8));
          yield writePages(k, c, randomPages(brng, shm, sbPages, 2));
          yield writePages(k, c, randomPages(brng, heap, heapPages, 2));
          yield { sleep: Math.round(brng.exponential(50_000)) };
          yield { op: "munmap", run: () => k.munmap(c, wm, workMem * PAGE_SIZE) };
          bump(stats, "queries");
        }
        yield { op: "exit", run: () => k.exit(c) };
        live--;
      })(),
    );
    yield { sleep: Math.round(rng.exponential(10_000)) };
  }
}

// -------------------------------------------------------------------------------------------------
// apache

interface ApacheChild {
  id: number;
  idle: boolean;
  quit: boolean;
}

function* apacheParent(env: WorkloadEnv, rng: Random, stats: ServerStats): TaskScript {
  const k = env.kernel;
  const p = paramsOf(SERVER_PREFORK_PARAMS, env.params);
  const heapPages = p.heapPages;
  const minSpare = p.minSpareServers;
  const maxSpare = p.maxSpareServers;
  const maxWorkers = p.maxRequestWorkers;
  const perChild = p.maxConnectionsPerChild;
  const requests = p.requests;
  let parent!: Mm;
  let heap = 0, board = 0;
  yield { op: "execve", run: () => parent = k.spawn() };
  yield { op: "mmap", run: () => heap = k.mmap(parent, 0, heapPages * PAGE_SIZE, RW, ANON) };
  yield writePages(k, parent, range(heap, heapPages));
  // The scoreboard: shared anonymous memory.
  yield { op: "mmap", run: () => board = k.mmap(parent, 0, 4 * PAGE_SIZE, RW, SHARED_ANON) };
  yield writePages(k, parent, range(board, 4));
  const children = new Set<ApacheChild>();
  // Requests a child has taken: the load generator sends `requests` in all, so a child that finds
  // them all taken stops (each taken one is served and counted in stats.requests).
  let accepted = 0, nextId = 0;
  const phaseNs = 2_000_000;
  const busy = (): boolean => Math.floor(env.now() / phaseNs) % 2 === 0;

  function* spawnChild(): Generator<Step, void, void> {
    let c!: Mm;
    yield { op: "fork", run: () => c = k.fork(parent) };
    bump(stats, "children_forked");
    const me: ApacheChild = { id: nextId++, idle: true, quit: false };
    children.add(me);
    const crng = rng.fork(`child:${me.id}`);
    env.addTask(
      `httpd-${me.id}`,
      "user",
      (function* (): TaskScript {
        let handled = 0;
        for (;;) {
          // Idle: wait for a connection (short waits in busy phases, long in quiet ones).
          me.idle = true;
          yield { sleep: Math.round(crng.exponential(busy() ? 40_000 : 400_000)) };
          if (me.quit || accepted >= requests) break;
          accepted++;
          me.idle = false;
          let pool = 0;
          yield { op: "mmap", run: () => pool = k.mmap(c, 0, 8 * PAGE_SIZE, RW, ANON) };
          yield writePages(k, c, range(pool, 8));
          yield readPages(k, c, randomPages(crng, heap, heapPages, 8));
          if (crng.chance(0.3)) yield writePages(k, c, randomPages(crng, heap, heapPages, 1));
          yield writePages(k, c, [board + (me.id % 4) * PAGE_SIZE]);
          yield { sleep: Math.round(crng.exponential(100_000)) };
          yield { op: "munmap", run: () => k.munmap(c, pool, 8 * PAGE_SIZE) };
          handled++;
          bump(stats, "requests");
          if (perChild > 0 && handled >= perChild) {
            bump(stats, "children_recycled");
            break;
          }
        }
        children.delete(me);
        yield { op: "exit", run: () => k.exit(c) };
      })(),
    );
  }

  for (let i = 0; i < p.startServers; i++) yield* spawnChild();
  env.mark("start-servers");
  let spawnRate = 1;
  while (accepted < requests) {
    yield { sleep: 200_000 }; // perform_idle_server_maintenance (once a second in Apache, scaled)
    // The last requests may have been taken during the sleep: no spare server is wanted then.
    if (accepted >= requests) break;
    let idle = 0;
    for (const c of children) if (c.idle && !c.quit) idle++;
    if (idle > maxSpare) {
      const victim = [...children].find((c) => c.idle && !c.quit);
      if (victim) {
        victim.quit = true;
        bump(stats, "children_retired");
      }
      spawnRate = 1;
    } else if (idle < minSpare) {
      // Apache doubles the spawn rate (up to 32) while below MinSpareServers.
      const n = Math.min(spawnRate, minSpare - idle, maxWorkers - children.size);
      for (let i = 0; i < n; i++) yield* spawnChild();
      if (spawnRate < 32) spawnRate *= 2;
    } else spawnRate = 1;
  }
  // Shutdown: children finish their requests and exit on their own; the parent stays.
}

// -------------------------------------------------------------------------------------------------
// redis

function* redisServer(env: WorkloadEnv, rng: Random, stats: ServerStats): TaskScript {
  const k = env.kernel;
  const p = paramsOf(SERVER_PREFORK_PARAMS, env.params);
  const pages = p.datasetPages;
  const extent = 256;
  let srv!: Mm;
  yield { op: "execve", run: () => srv = k.spawn() };
  const extents: { addr: number; pages: number }[] = [];
  for (let left = pages; left > 0; left -= extent) {
    const n = Math.min(extent, left);
    let a = 0;
    yield { op: "mmap", run: () => a = k.mmap(srv, 0, n * PAGE_SIZE, RW, ANON) };
    yield writePages(k, srv, range(a, n));
    extents.push({ addr: a, pages: n });
  }
  env.mark("dataset-loaded");
  const randomDatasetPages = (n: number): number[] =>
    Array.from({ length: n }, () => {
      const e = rng.pick(extents);
      return e.addr + rng.int(0, e.pages - 1) * PAGE_SIZE;
    });
  let saving = false;
  const perSave = p.writesPerSave;
  for (let save = 0; save < p.bgsaves; save++) {
    // BGSAVE: fork a child that serialises the dataset (reads every page) and exits.
    let child!: Mm;
    yield { op: "fork", run: () => child = k.fork(srv) };
    bump(stats, "bgsaves");
    saving = true;
    const c = child;
    env.addTask(
      `redis-bgsave-${save}`,
      "user",
      (function* (): TaskScript {
        for (const e of extents) {
          yield readPages(k, c, range(e.addr, e.pages));
          yield { sleep: 50_000 }; // compress and write the RDB file
        }
        yield { op: "exit", run: () => k.exit(c) };
        saving = false;
      })(),
    );
    // The parent keeps serving writes; those during the save copy-on-write.
    for (let w = 0; w < perSave || saving; w += 16) {
      const during = saving;
      yield writePages(k, srv, randomDatasetPages(16));
      if (during) bump(stats, "writes_during_save", 16);
      yield { sleep: 5_000 };
    }
  }
}

/**
 * The server-prefork workload.
 *
 * @example Usage
 * ```ts ignore
 * import { runOne } from "../runner/recorder.ts";
 * const r = runOne({ scheme: "anon_vma", workload: "server-prefork", params: { mode: "redis" } });
 * console.log(r.counters.faults_cow_copy);
 * ```
 */
export const SERVER_PREFORK: Workload = {
  id: "server-prefork",
  title: "Forking servers (PostgreSQL, Apache prefork, Redis BGSAVE)",
  description:
    "Servers that fork without exec (reference §11.2): a PostgreSQL postmaster forking one backend " +
    "per connection, Apache's prefork MPM keeping spare children between MinSpareServers and " +
    "MaxSpareServers and recycling them after MaxConnectionsPerChild requests, and Redis forking a " +
    "BGSAVE child that reads the whole dataset while the parent's writes copy-on-write.",
  params: SERVER_PREFORK_PARAMS,
  setup(env: WorkloadEnv): void {
    const p = paramsOf(SERVER_PREFORK_PARAMS, env.params);
    if (p.minSpareServers > p.maxSpareServers) {
      throw new RangeError(
        `server-prefork parameter minSpareServers (${p.minSpareServers}) must not exceed maxSpareServers (${p.maxSpareServers})`,
      );
    }
    const stats: ServerStats = { counts: {} };
    STATS.set(env, stats);
    const rng = env.rng.fork(`server-prefork:${p.mode}`);
    const script = p.mode === "apache"
      ? apacheParent(env, rng, stats)
      : p.mode === "redis"
      ? redisServer(env, rng, stats)
      : postmaster(env, rng, stats);
    env.addTask(p.mode, "user", script);
  },
  finish(env: WorkloadEnv): void {
    const stats = STATS.get(env);
    if (!stats) return;
    const c = env.kernel.counters;
    const rows: (string | number)[][] = Object.entries(stats.counts)
      .sort((a, b) => a[0] < b[0] ? -1 : 1)
      .map(([n, v]) => [n, v]);
    for (const n of ["forks", "exits", "faults_cow_copy", "faults_wp_reuse_move"]) {
      rows.push([n, c[n] ?? 0]);
    }
    env.table({ title: `server-prefork (${env.params.mode})`, columns: ["figure", "value"], rows });
  },
};
