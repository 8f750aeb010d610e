/**
 * The operation bracket of the kernel facade's system calls: the outer call of a nesting opens one
 * operation on the {@link Exec} (what the timed machine replays as one syscall) and closes it; a
 * call that throws closes it too, without hiding its error.
 *
 * No kernel counterpart (Linux has no "operation"; a syscall's entry and exit are the nearest).
 *
 * Scheme hooks called here: none (`check`, through the facade's invariant callback).
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import type { Exec, OpKind } from "../machine/exec.ts";
import { type Mm, SyscallError } from "./types.ts";

/**
 * The open operation of one kernel, if any.
 *
 * @example Usage
 * ```ts ignore
 * const outer = ops.begin("fork", mm);
 * try {
 *   return dupMm(k, mm);
 * } catch (e) {
 *   throw ops.failed(outer, e);
 * } finally {
 *   ops.end(outer);
 * }
 * ```
 */
export class OpScope {
  #depth = 0;
  /** Set by {@link OpScope.failed} when it closed the operation: the `finally`'s end skips. */
  #aborted = false;

  /**
   * A scope over `exec`; `check` runs after each operation that ended without a model error
   * (the kernel's invariants, when its debug checks are on).
   */
  constructor(private readonly exec: Exec, private readonly check: () => void) {}

  /** Opens an operation unless one is open: true when this call is the outer one. */
  begin(kind: OpKind, mm: Mm | null): boolean {
    if (this.#depth > 0) return false;
    this.#depth++;
    this.exec.beginOp(kind, mm?.id ?? 0);
    return true;
  }

  /** Closes the operation when `outer` (unless {@link OpScope.failed} closed it). */
  end(outer: boolean): void {
    if (!outer) return;
    if (this.#aborted) {
      this.#aborted = false;
      return;
    }
    this.exec.endOp();
    this.#depth--;
    this.check();
  }

  /**
   * Closes the operation of a call that threw `e` and returns the error to throw. A failing call
   * that left locks held is a bug of its own, reported with `e` as its cause when `e` is a system
   * call's error; any other `e` (a model bug) is the first fault and is thrown as it is, not
   * hidden behind the lock report it causes.
   */
  failed(outer: boolean, e: unknown): unknown {
    if (!outer) return e;
    this.#aborted = true;
    this.#depth--;
    try {
      this.exec.endOp();
    } catch (inner) {
      return e instanceof SyscallError ? new Error((inner as Error).message, { cause: e }) : e;
    }
    if (e instanceof SyscallError) this.check();
    return e;
  }
}
