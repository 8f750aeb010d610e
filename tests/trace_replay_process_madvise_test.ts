// The trace replay of process_madvise (Linux 6.18 mm/madvise.c; the model's vectorMadvise): a
// pidfd_open line names the process behind the pidfd, the call is replayed on that process's mm
// with the trace's vector, and the bytes the model advises must be the bytes the host returned.
// The iovec text is strace's, as a C probe's calls printed it on this host
// (`[{iov_base=0x7f8d58897000, iov_len=8192}, ...]`, cut short with `...` at -s elements).

import { assertEquals } from "./assert.ts";
import { replayText, statNotes } from "./replay.ts";
import { parseIovec } from "../workloads/trace_replay.ts";

const iov = (...r: [number, number][]) =>
  `[${
    r.map(([b, l]) => `{iov_base=0x${(0x7f0000000000 + b).toString(16)}, iov_len=${l}}`).join(", ")
  }]`;

/**
 * Process 7 maps 16 pages at X, forks 8 and opens a pidfd for it; then process_madvise calls on
 * 8 (each line's comment is how the replay must class it).
 */
const TRACE = [
  "7 mmap(NULL, 65536, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000",
  "7 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f0000fff000) = 8",
  "7 pidfd_open(8, 0) = 3",
  '7 openat(AT_FDCWD, "/lib/libc.so.6", O_RDONLY|O_CLOEXEC) = 5',
  // replayed: 8192 advised, as on the host
  `7 process_madvise(3, ${iov([0, 8192])}, 1, MADV_PAGEOUT, 0) = 8192`,
  // replayed: the second range is unmapped (ENOMEM), so only the first counts: 4096
  `7 process_madvise(3, ${iov([0, 4096], [0x100000, 4096])}, 2, MADV_COLD, 0) = 4096`,
  // genuine: the model advises 4096 bytes, the line says 8192
  `7 process_madvise(3, ${iov([0, 4096])}, 1, MADV_COLD, 0) = 8192`,
  // outside the trace: fd 5 is a file, not a pidfd; pid 99 (strace's decoding) is not traced
  `7 process_madvise(5, ${iov([0, 4096])}, 1, MADV_COLD, 0) = 4096`,
  `7 process_madvise(3<pid:99>, ${iov([0, 4096])}, 1, MADV_COLD, 0) = 4096`,
  // not implemented: a vector strace cut short; an advice the model does not have. WILLNEED
  // (read-ahead: the model checks the range only) is replayed.
  `7 process_madvise(3, [{iov_base=0x7f0000000000, iov_len=4096}, ...], 40, MADV_COLD, 0) = 163840`,
  `7 process_madvise(3, ${iov([0, 4096])}, 1, MADV_COLLAPSE, 0) = 4096`,
  `7 process_madvise(3, ${iov([0, 4096])}, 1, MADV_WILLNEED, 0) = 4096`,
  // failed on the host too
  `7 process_madvise(3, ${iov([0, 4096])}, 1, MADV_DONTNEED, 0) = -1 EINVAL (Invalid argument)`,
  // replayed on the caller itself (strace's <pid:7> decoding): any advice
  `7 process_madvise(4<pid:7>, ${iov([0, 4096])}, 1, MADV_DONTNEED, 0) = 4096`,
  // replayed: 7 unmaps pages 12-15 of its own copy; 8 keeps them, so this is 8's page
  "7 munmap(0x7f000000c000, 16384) = 0",
  `7 process_madvise(3, ${iov([0xc000, 4096])}, 1, MADV_COLD, 0) = 4096`,
  "8 exit_group(0) = ?",
  "7 close(3) = 0",
  "7 exit_group(0) = ?",
].join("\n");

Deno.test("parseIovec: strace's iovec arrays, empty, NULL bases, and vectors cut short", () => {
  // Catches: a truncated vector replayed as if whole, or a length read as the base.
  assertEquals(parseIovec(iov([0, 8192], [0x1000, 5000])), [
    { base: 0x7f0000000000, len: 8192 },
    { base: 0x7f0000001000, len: 5000 },
  ]);
  assertEquals(parseIovec("[]"), []);
  assertEquals(parseIovec("[{iov_base=NULL, iov_len=0}]"), [{ base: 0, len: 0 }]);
  assertEquals(parseIovec("[{iov_base=0x1000, iov_len=4096}, ...]"), null);
  assertEquals(parseIovec("0x7ffd1234"), null);
  assertEquals(parseIovec("[garbage]"), null);
});

Deno.test("trace-replay: process_madvise on the pidfd's process, its bytes checked", () => {
  // Catches: process_madvise skipped as not implemented, the call made on the caller's own mm
  // (the PAGEOUT and COLD lines would still pass, the DONTNEED on 8 would not be refused), a
  // byte count that is not compared with the trace's, or a pidfd of an untraced process
  // replayed on some other process.
  const stats = statNotes(replayText("pmadvise", TRACE));
  const line = (l: number, call: string) => `line ${l}, pid 7: process_madvise(${call})`;
  assertEquals(stats.slice(0, 11), [
    "Replayed calls: clone 1, close 1, exit_group 2, mmap 1, munmap 1, openat 1, pidfd_open 1, process_madvise 5",
    "Calls without a memory effect (recognised, skipped): none",
    "Unknown syscalls (counted and skipped): none",
    "Calls that failed in the trace (skipped): process_madvise 1",
    "Calls that diverged (succeeded in the trace, failed in the replay): process_madvise 1",
    "Fidelity, exec-time layout missing: 0",
    `Fidelity, failed on the host too (skipped): 1 (e.g. ${
      line(13, `3, ${iov([0, 4096])}, 1, MADV_DONTNEED, 0`)
    } -> EINVAL)`,
    `Fidelity, not implemented by the model (skipped): 2 (e.g. ${
      line(10, "3, [{iov_base=0x7f0000000000, iov_len=4096}, ...], 40, MADV_COLD, 0")
    } -> a vector strace cut short (record with -s 1024))`,
    "Fidelity, never returned in the trace (skipped): 0",
    `Fidelity, acts on a process the trace does not follow (skipped): 2 (e.g. ${
      line(8, `5, ${iov([0, 4096])}, 1, MADV_COLD, 0`)
    } -> not a pidfd)`,
    `Fidelity, genuine model difference: 1 (e.g. ${
      line(7, `3, ${iov([0, 4096])}, 1, MADV_COLD, 0`)
    } -> 4096 bytes advised, the host 8192)`,
  ]);
});
