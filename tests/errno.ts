// The outcome of a system call the tests make through the Kernel facade, as the errno name a C
// program would see, or "ok".

import { SyscallError } from "../core/kernel/types.ts";

/** The errno of the SyscallError `fn` throws, or "ok"; any other error is rethrown. */
export function errnoOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof SyscallError) return e.errno;
    throw e;
  }
  return "ok";
}
