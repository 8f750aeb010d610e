// Kernel parameters (core/kernel/params.ts): the defaults a run uses when nothing is overridden,
// read through the behaviour they drive, and the validation of overrides, whose ranges are
// inclusive at both ends ([min, max] in the error line and in `list`).

import { assertEquals, assertThrows } from "./assert.ts";
import {
  AnonVmaScheme,
  DEFAULT_KERNEL_PARAMS,
  Kernel,
  KERNEL_PARAM_RANGES,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
  resolveKernelParams,
  SyscallError,
} from "../mod.ts";

const P = PAGE_SIZE;
const RW = PROT_READ | PROT_WRITE;
const FIXED = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;

Deno.test("params: the defaults are Linux's (x86_64, 4-level paging, Debian sysctls)", () => {
  const p = resolveKernelParams();
  // DEFAULT_MAX_MAP_COUNT = USHRT_MAX - 5 (include/linux/mm.h); TASK_SIZE_MAX = (1 << 47) -
  // PAGE_SIZE (arch/x86/include/asm/page_64_types.h); vm.mmap_min_addr 65536; 128 KiB stack
  // plus a guard page; ksmd pages_to_scan 100 and sleep_millisecs 20 (mm/ksm.c).
  assertEquals(
    [p.maxMapCount, p.taskSize, p.mmapMinAddr, p.stackPages, p.ksmPagesToScan],
    [65530, 0x7ffffffff000, 65536, 33, 100],
  );
  assertEquals(p, { ...DEFAULT_KERNEL_PARAMS });
});

Deno.test("params: default TASK_SIZE and stack: execve's stack is 33 pages ending at 0x7ffffffff000", () => {
  const k = new Kernel({ scheme: new AnonVmaScheme() });
  const mm = k.execve(k.spawn());
  const v = [...mm.vmas][0];
  assertEquals([v.start, v.end, mm.mapCount], [0x7ffffffff000 - 33 * P, 0x7ffffffff000, 1]);
});

Deno.test("params: default vm.mmap_min_addr: MAP_FIXED below 65536 is EPERM, at 65536 maps", () => {
  const k = new Kernel({ scheme: new AnonVmaScheme() });
  const mm = k.spawn();
  for (const addr of [0x1000, 0xf000]) {
    let errno = "ok";
    try {
      k.mmap(mm, addr, P, RW, FIXED);
    } catch (e) {
      errno = e instanceof SyscallError ? e.errno : String(e);
    }
    assertEquals(errno, "EPERM", `${addr}`);
  }
  assertEquals(k.mmap(mm, 0x10000, P, RW, FIXED), 0x10000);
});

Deno.test("params: each range is inclusive at both ends", () => {
  // Every integer parameter accepts its min and its max (relocateFailAfter -1 = never,
  // anonFolioOrder 9 = the PMD order) ...
  for (const [k, r] of Object.entries(KERNEL_PARAM_RANGES)) {
    if (r.kind !== "int") continue;
    for (const v of [r.min!, r.max!]) {
      assertEquals((resolveKernelParams({ [k]: v }) as unknown as Record<string, number>)[k], v);
    }
  }
  // ... and refuses one past either, and a fraction, with one line naming the range.
  const refused: [Record<string, unknown>, string][] = [
    [{ maxMapCount: 0 }, "Kernel parameter maxMapCount must be an integer in [1, 2147483647]"],
    [{ maxMapCount: 10.5 }, "Kernel parameter maxMapCount must be an integer in [1, 2147483647]"],
    [{ anonFolioOrder: 10 }, "Kernel parameter anonFolioOrder must be an integer in [0, 9]"],
    [{ relocateFailAfter: -2 }, "Kernel parameter relocateFailAfter must be an integer in [-1,"],
    [
      { mapleEntriesPerNode: 17 },
      "Kernel parameter mapleEntriesPerNode must be an integer in [2, 16]",
    ],
    [{ zeroPage: 1 }, "Kernel parameter zeroPage must be true or false"],
  ];
  for (const [over, msg] of refused) {
    assertThrows(() => resolveKernelParams(over), RangeError, msg);
  }
});

Deno.test("params: an override left undefined keeps the default", () => {
  const p = resolveKernelParams({ maxMapCount: undefined, zeroPage: undefined, stackPages: 8 });
  assertEquals([p.maxMapCount, p.zeroPage, p.stackPages], [65530, true, 8]);
});
