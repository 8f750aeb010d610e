/**
 * The scheme registry: a new scheme is one new file plus one entry here.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import type { RmapScheme, SchemeInfo } from "./scheme.ts";
import { ANON_VMA_INFO, AnonVmaScheme } from "./anon_vma.ts";
import { ANON_VMA_2026_INFO, AnonVma2026Scheme } from "./anon_vma_2026.ts";
import { ANON_VMA_PER_AV_LOCK_INFO, AnonVmaPerAvLockScheme } from "./anon_vma_per_av_lock.ts";
import { ANON_VMA_LAZY_INFO, AnonVmaLazyScheme } from "./anon_vma_lazy.ts";
import { COW_CONTEXT_INFO, CowContextScheme } from "./cow_context.ts";

/** A registered scheme: its metadata and a factory for a fresh instance. */
export interface SchemeEntry {
  /** Metadata. */
  readonly info: SchemeInfo;
  /** Creates a fresh scheme instance (one per kernel). */
  readonly create: () => RmapScheme;
}

/** Every scheme, in presentation order. */
export const SCHEMES: readonly SchemeEntry[] = [
  { info: ANON_VMA_INFO, create: () => new AnonVmaScheme() },
  { info: ANON_VMA_2026_INFO, create: () => new AnonVma2026Scheme() },
  { info: ANON_VMA_PER_AV_LOCK_INFO, create: () => new AnonVmaPerAvLockScheme() },
  { info: ANON_VMA_LAZY_INFO, create: () => new AnonVmaLazyScheme() },
  { info: COW_CONTEXT_INFO, create: () => new CowContextScheme() },
];

/** Scheme ids. */
export function schemeIds(): string[] {
  return SCHEMES.map((s) => s.info.id);
}

/**
 * Creates a scheme by id; an unknown id is a one-line error listing the valid ones.
 *
 * @example Usage
 * ```ts
 * import { createScheme } from "./registry.ts";
 * if (createScheme("anon_vma").info.id !== "anon_vma") throw new Error();
 * ```
 */
export function createScheme(id: string): RmapScheme {
  const e = SCHEMES.find((s) => s.info.id === id);
  if (!e) throw new RangeError(`Unknown scheme "${id}"; valid: ${schemeIds().join(", ")}`);
  return e.create();
}
