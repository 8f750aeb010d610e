// ksmd as a kernel thread of the simulated machine (runner/ksmd.ts): with the 6.18 defaults
// (sleep_millisecs 20, pages_to_scan 100) two pages written with equal content merge on the
// second full scan, which is the second wake (40 ms in): a wake ends where its full scan ends,
// however few pages that scan had (mm/ksm.c `ksm_do_scan`; core/kernel/ksm.ts). The walk of the
// KSM folio is oracle-checked.

import { assertEquals } from "./assert.ts";
import { Kernel } from "../core/kernel/kernel.ts";
import { Machine } from "../core/machine/machine.ts";
import { AnonVmaScheme } from "../core/rmap/anon_vma.ts";
import { ksmdScript } from "../runner/ksmd.ts";
import type { Step, TaskScript } from "../workloads/workload.ts";
import {
  MADV_MERGEABLE,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  type Mm,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
} from "../core/kernel/types.ts";

const X = 0x7f0000000000;

Deno.test("ksmd kernel thread: equal pages merge on its second wake (40 ms), one scan a wake", () => {
  const machine = new Machine({ cpus: 2 });
  const k = new Kernel({ scheme: new AnonVmaScheme(), exec: machine.exec });
  let alive = 1;
  let mm: Mm | null = null;
  const merged: number[] = []; // time of each check at which pages 0 and 1 share a folio
  const user = (function* (): TaskScript {
    yield { op: "execve", run: () => void (mm = k.spawn()) };
    yield {
      op: "mmap",
      run: () =>
        void k.mmap(
          mm!,
          X,
          2 * PAGE_SIZE,
          PROT_READ | PROT_WRITE,
          MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
        ),
    };
    yield { op: "madvise", run: () => k.madvise(mm!, X, 2 * PAGE_SIZE, MADV_MERGEABLE) };
    yield { op: "fault", run: () => k.touch(mm!, X, "write", 42) };
    yield { op: "fault", run: () => k.touch(mm!, X + PAGE_SIZE, "write", 42) };
    for (let i = 0; i < 5; i++) {
      yield { sleep: 10_000_000 };
      if (k.pte(mm!, X)!.folio === k.pte(mm!, X + PAGE_SIZE)!.folio) merged.push(i);
    }
    yield { op: "walk_migrate", run: () => k.migrateFolio(k.pte(mm!, X)!.folio!) };
  })();
  const spec = (id: number, name: string, kind: "user" | "kthread", s: TaskScript) => ({
    id,
    name,
    kind,
    next: (): Step | null => {
      const r = s.next();
      if (r.done) {
        if (kind === "user") alive--;
        return null;
      }
      return r.value;
    },
  });
  machine.addTask(spec(1, "user", "user", user));
  machine.addTask(spec(2, "ksmd", "kthread", ksmdScript(k, () => alive > 0)));
  machine.run();
  // Checks at ~10, 20, 30, 40, 50 ms (each a little after, behind the user's own steps). ksmd's
  // first wake (20 ms) scans the two pages once and stops at the scan's end: checksums only.
  // The second (40 ms, after the fourth check) merges them. The user task ends before the
  // third wake (60 ms), so ksmd stops.
  assertEquals(merged, [4]);
  assertEquals(k.counters.ksm_pages_scanned, 4); // wakes at 20 and 40 ms, two pages each
  assertEquals(k.counters.ksm_pages_merged, 1);
  assertEquals(k.slab.live("ksm_stable_node"), 1);
  assertEquals(k.oracle.walksChecked >= 2, true);
});
