/**
 * Seeds of repeated runs.
 *
 * Repeat 0 of a run uses the suite seed itself (so `--repeat 1` reproduces a single run of that
 * seed). Repeat k >= 1 uses the k-th output of SplitMix64 seeded with the suite seed (Steele,
 * Lea and Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014; the generator of
 * `java.util.SplittableRandom`), shifted right by 32 bits: a 32-bit seed. The same suite seed
 * always gives the same repeat seeds, and every scheme and parameter point uses the same list
 * (repeats are paired).
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

const GOLDEN_GAMMA = 0x9e3779b97f4a7c15n;
const MASK64 = (1n << 64n) - 1n;

function mix64(z: bigint): bigint {
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return z ^ (z >> 31n);
}

/**
 * The seed of repeat `k` (0-based) of a suite seeded with `seed`: `seed` for k = 0, otherwise the
 * top 32 bits of the k-th SplitMix64 output from state `seed` (mod 2^64).
 *
 * @example Usage
 * ```ts
 * import { repeatSeed } from "./seeds.ts";
 * if (repeatSeed(7, 0) !== 7) throw new Error("repeat 0 keeps the seed");
 * if (repeatSeed(7, 1) === repeatSeed(8, 1)) throw new Error("unexpected");
 * ```
 */
export function repeatSeed(seed: number, k: number): number {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`Seed must be a safe integer: ${seed}`);
  if (!Number.isInteger(k) || k < 0) throw new RangeError(`Repeat must be >= 0: ${k}`);
  if (k === 0) return seed;
  const state = (BigInt.asUintN(64, BigInt(seed)) + BigInt(k) * GOLDEN_GAMMA) & MASK64;
  return Number(mix64(state) >> 32n);
}

/**
 * The seeds of `repeat` repeats of a suite seeded with `seed` (see {@link repeatSeed}).
 *
 * @example Usage
 * ```ts
 * import { repeatSeeds } from "./seeds.ts";
 * if (repeatSeeds(1, 3).length !== 3) throw new Error("unexpected");
 * ```
 */
export function repeatSeeds(seed: number, repeat: number): number[] {
  return Array.from({ length: repeat }, (_, k) => repeatSeed(seed, k));
}
