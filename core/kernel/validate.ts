/**
 * Argument validation of the public {@link Kernel} system calls, run before a call changes any
 * state, so that a refused call leaves the kernel exactly as it was.
 *
 * Two kinds of refusal:
 * - What Linux itself refuses becomes the Linux errno as a {@link SyscallError} (for example
 *   `munmap` of a range beyond `TASK_SIZE` is EINVAL, as in `do_vmi_munmap`: "if
 *   ((offset_in_page(start)) || start > TASK_SIZE || len > TASK_SIZE-start) return -EINVAL").
 * - What cannot even be expressed to Linux (a NaN or fractional address, an access kind outside
 *   the type, a process object of another simulated kernel, a missing scheme) is a programming
 *   error of the caller: a {@link TypeError} naming the argument and the valid choices.
 *
 * A syscall by a process that has exited cannot happen on Linux; the closest Linux answer is that
 * of a syscall naming a pid that no longer exists (`process_madvise`, `process_mrelease`,
 * `pidfd_open`): ESRCH. Every syscall on an exited process fails that same way here.
 *
 * Scheme hooks called here: none.
 *
 * Pure functions, no dependencies beyond the kernel types; browser compatible.
 *
 * @module
 */

import { type Errno, type Folio, type Mm, PAGE_SIZE, SyscallError, UIO_MAXIOV } from "./types.ts";
import { UFFD_FEATURE_MOVE, UFFD_FEATURE_SIGBUS } from "./userfaultfd.ts";

/** The access kinds `touch` accepts. */
const ACCESS_KINDS: readonly string[] = ["read", "write"];

function describe(v: unknown): string {
  if (typeof v === "number") return String(v); // NaN stays NaN, not null
  if (typeof v === "string") return JSON.stringify(v);
  if (v === null || v === undefined) return String(v);
  return typeof v;
}

/** Throws a {@link TypeError} unless `v` is an integer number (programming error). */
export function requireInteger(sys: string, name: string, v: unknown): asserts v is number {
  if (typeof v !== "number" || !Number.isInteger(v)) {
    throw new TypeError(`${sys}: ${name} must be an integer number, got ${describe(v)}`);
  }
}

/**
 * Checks that `mm` is a live process of this kernel: a non-object is a TypeError, an exited
 * process is ESRCH, and a process object of another `Kernel` instance is a TypeError.
 */
export function validateMm(mms: ReadonlyMap<number, Mm>, mm: unknown, sys: string): void {
  if (typeof mm !== "object" || mm === null || !("alive" in mm) || !("id" in mm)) {
    throw new TypeError(
      `${sys}: expected a process (Mm) from spawn/fork/execve, got ${describe(mm)}`,
    );
  }
  const m = mm as Mm;
  if (!m.alive) throw new SyscallError("ESRCH", sys, `process ${m.id} has exited`);
  if (mms.get(m.id) !== m) {
    throw new TypeError(`${sys}: process ${m.id} belongs to another Kernel instance`);
  }
}

/** `new Kernel(opts)`: a scheme object is required. */
export function validateKernelOptions(opts: unknown): void {
  if (typeof opts !== "object" || opts === null) {
    throw new TypeError("new Kernel(opts): opts must be an object with a scheme");
  }
  const s = (opts as { scheme?: unknown }).scheme;
  if (
    typeof s !== "object" || s === null || typeof (s as { attach?: unknown }).attach !== "function"
  ) {
    throw new TypeError(
      "new Kernel(opts): a scheme is required, e.g. { scheme: new AnonVmaScheme() } or " +
        "{ scheme: createScheme(id) } with an id from schemeIds()",
    );
  }
}

/** `mmap`: numeric arguments must be integers (the range rules are the syscall's own). */
export function validateMmap(
  mms: ReadonlyMap<number, Mm>,
  mm: unknown,
  addr: unknown,
  len: unknown,
  prot: unknown,
  flags: unknown,
  offset: unknown,
): void {
  validateMm(mms, mm, "mmap");
  requireInteger("mmap", "addr", addr);
  requireInteger("mmap", "len", len);
  requireInteger("mmap", "prot", prot);
  requireInteger("mmap", "flags", flags);
  requireInteger("mmap", "offset", offset);
}

/**
 * `munmap` (`do_vmi_munmap`): EINVAL for an unaligned or out-of-range start, a length that runs
 * past `TASK_SIZE`, or a zero length.
 */
export function validateMunmap(
  mms: ReadonlyMap<number, Mm>,
  taskSize: number,
  mm: unknown,
  addr: unknown,
  len: unknown,
): void {
  const sys = "munmap";
  validateMm(mms, mm, sys);
  requireInteger(sys, "addr", addr);
  requireInteger(sys, "len", len);
  if (addr % PAGE_SIZE !== 0) fail("EINVAL", sys, `addr ${addr} is not page aligned`);
  // Unsigned arithmetic in Linux: a negative start is a huge one, beyond TASK_SIZE.
  if (addr < 0 || addr > taskSize) {
    fail("EINVAL", sys, `addr ${addr} is outside [0, TASK_SIZE=${taskSize}]`);
  }
  if (len < 0 || len > taskSize - addr) {
    fail("EINVAL", sys, `len ${len} runs past TASK_SIZE=${taskSize}`);
  }
  if (len === 0) fail("EINVAL", sys, "len is 0");
}

/** `mprotect`/`madvise`: integer arguments (the syscall applies Linux's range rules). */
export function validateRangeOp(
  mms: ReadonlyMap<number, Mm>,
  sys: "mprotect" | "madvise" | "mlock" | "mlock2" | "munlock" | "mincore",
  mm: unknown,
  addr: unknown,
  len: unknown,
  arg: unknown,
): void {
  validateMm(mms, mm, sys);
  requireInteger(sys, "addr", addr);
  requireInteger(sys, "len", len);
  requireInteger(sys, sys === "mprotect" ? "prot" : sys === "madvise" ? "advice" : "flags", arg);
}

/**
 * `process_madvise`: a live caller, an array of `{ base, len }` ranges with integer fields, and
 * integer advice and flags (else TypeError); then, in the syscall's order, EINVAL for flags other
 * than 0 and for more than `UIO_MAXIOV` ranges (`import_iovec`), and ESRCH for a target that has
 * exited (`pidfd_get_task`/`mm_access`).
 */
export function validateProcessMadvise(
  mms: ReadonlyMap<number, Mm>,
  caller: unknown,
  target: unknown,
  iov: unknown,
  advice: unknown,
  flags: unknown,
): void {
  const sys = "process_madvise";
  validateMm(mms, caller, sys);
  if (!Array.isArray(iov)) {
    throw new TypeError(`${sys}: iov must be an array of { base, len }, got ${describe(iov)}`);
  }
  for (const r of iov) {
    if (typeof r !== "object" || r === null) {
      throw new TypeError(`${sys}: iov entries must be { base, len }, got ${describe(r)}`);
    }
    requireInteger(sys, "iov base", (r as { base?: unknown }).base);
    requireInteger(sys, "iov len", (r as { len?: unknown }).len);
  }
  requireInteger(sys, "advice", advice);
  requireInteger(sys, "flags", flags);
  if (flags !== 0) fail("EINVAL", sys, `flags ${flags} (must be 0)`);
  if (iov.length > UIO_MAXIOV) fail("EINVAL", sys, `${iov.length} ranges (at most ${UIO_MAXIOV})`);
  validateMm(mms, target, sys);
}

/** `brk`: a live process and an integer break (any integer: Linux returns the old break). */
export function validateBrk(mms: ReadonlyMap<number, Mm>, mm: unknown, newBrk: unknown): void {
  validateMm(mms, mm, "brk");
  requireInteger("brk", "brk", newBrk);
}

/** `touch`: a live process, an integer address and an access kind of {@link ACCESS_KINDS}. */
export function validateTouch(
  mms: ReadonlyMap<number, Mm>,
  mm: unknown,
  addr: unknown,
  access: unknown,
  value?: unknown,
): void {
  validateMm(mms, mm, "touch");
  requireInteger("touch", "addr", addr);
  if (value !== undefined) requireInteger("touch", "value", value);
  if (typeof access !== "string" || !ACCESS_KINDS.includes(access)) {
    throw new TypeError(
      `touch: access must be one of ${ACCESS_KINDS.join(", ")}, got ${describe(access)}`,
    );
  }
}

/** `mremap`: integer arguments (the syscall applies Linux's flag and range rules). */
export function validateMremap(
  mms: ReadonlyMap<number, Mm>,
  mm: unknown,
  oldAddr: unknown,
  oldLen: unknown,
  newLen: unknown,
  flags: unknown,
  newAddr: unknown,
): void {
  const sys = "mremap";
  validateMm(mms, mm, sys);
  requireInteger(sys, "old_addr", oldAddr);
  requireInteger(sys, "old_len", oldLen);
  requireInteger(sys, "new_len", newLen);
  requireInteger(sys, "flags", flags);
  requireInteger(sys, "new_addr", newAddr);
}

/** Folio operations (pin, reclaim, migrate): the folio must be live (not freed). */
export function validateFolio(op: string, folio: unknown): void {
  if (typeof folio !== "object" || folio === null || !("freed" in folio)) {
    throw new TypeError(`${op}: expected a folio, got ${describe(folio)}`);
  }
  const f = folio as Folio;
  if (f.freed) throw new TypeError(`${op}: folio ${f.id} has been freed`);
}

/** `setPinned`: a live folio and a boolean. */
export function validatePin(folio: unknown, pinned: unknown): void {
  validateFolio("setPinned", folio);
  if (typeof pinned !== "boolean") {
    throw new TypeError(`setPinned: pinned must be true or false, got ${describe(pinned)}`);
  }
}

function fail(errno: Errno, sys: string, detail: string): never {
  throw new SyscallError(errno, sys, detail);
}

/** The kernel's own invariants of one mm: VMAs ordered, not empty, and `map_count` right. */
export function mmProblems(mm: Mm): string[] {
  const problems: string[] = [];
  let n = 0, prevEnd = -1;
  for (const v of mm.vmas) {
    n++;
    if (v.start >= v.end) problems.push(`vma ${v.id} empty`);
    if (v.start < prevEnd) problems.push(`vma ${v.id} overlaps`);
    prevEnd = v.end;
  }
  if (n !== mm.mapCount) problems.push(`mm ${mm.id} map_count ${mm.mapCount} != ${n}`);
  return problems;
}

/**
 * `userfaultfd`: a live mm and integer features (TypeError otherwise); the model implements
 * `UFFD_FEATURE_MOVE` and needs `UFFD_FEATURE_SIGBUS` (no handler thread answers a missing fault),
 * and one open context per mm (RangeError for either: not modelled, not a Linux error).
 */
export function validateUserfaultfd(
  mms: ReadonlyMap<number, Mm>,
  mm: unknown,
  features: unknown,
  hasOne: boolean,
): void {
  const sys = "userfaultfd";
  validateMm(mms, mm, sys);
  requireInteger(sys, "features", features);
  const f = features as number;
  if (
    f < 0 || (f & ~(UFFD_FEATURE_MOVE | UFFD_FEATURE_SIGBUS)) !== 0 || !(f & UFFD_FEATURE_SIGBUS)
  ) {
    throw new RangeError(
      `userfaultfd: features ${f}: the model implements UFFD_FEATURE_MOVE and needs ` +
        "UFFD_FEATURE_SIGBUS; others are not modelled",
    );
  }
  if (hasOne) throw new RangeError("userfaultfd: one open context per mm is modelled");
}
