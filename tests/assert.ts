// Small assertion helpers over node:assert/strict (the Deno std assert module lives on JSR,
// which this project cannot reach).

import assert from "node:assert/strict";

/** Deep strict equality. */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  assert.deepStrictEqual(actual, expected, message);
}

/** Asserts that `fn` throws an instance of `cls` whose message includes `includes`. */
export function assertThrows(
  fn: () => unknown,
  cls: abstract new (...args: never[]) => Error,
  includes = "",
): Error {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  if (!(caught instanceof cls)) {
    throw new assert.AssertionError({ message: `expected ${cls.name}, got ${String(caught)}` });
  }
  if (!caught.message.includes(includes)) {
    throw new assert.AssertionError({
      message: `error message "${caught.message}" does not include "${includes}"`,
    });
  }
  return caught;
}
