/**
 * Seeded deterministic pseudo-random numbers.
 *
 * Algorithm: xoshiro128** 1.1 (Blackman & Vigna) on four 32-bit words, in
 * plain 32-bit integer arithmetic (`Math.imul`, shifts). Seeding: the seed is
 * reduced to two 32-bit words (numbers: low and high halves of the integer;
 * strings: two FNV-1a 32-bit hashes of the UTF-16 code units with different
 * offset bases), which are then expanded into the four state words with
 * splitmix32.
 *
 * @module
 */

const TWO_32 = 4294967296;
const TWO_53 = 9007199254740992;

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** splitmix32 finaliser (the murmur3-style mixer used by splitmix32). */
function mix32(z: number): number {
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  return (z ^ (z >>> 15)) >>> 0;
}

/** FNV-1a over UTF-16 code units with the given offset basis. */
function fnv1a(s: string, basis: number): number {
  let h = basis | 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function seedWords(seed: number | string): [number, number] {
  if (typeof seed === "string") {
    return [fnv1a(seed, 0x811c9dc5), fnv1a(seed, 0x050c5d1f)];
  }
  if (!Number.isSafeInteger(seed)) {
    throw new RangeError(`Seed must be a safe integer or a string: ${seed}`);
  }
  const lo = seed >>> 0;
  const hi = Math.floor(seed / TWO_32) >>> 0;
  return [lo, hi];
}

/**
 * A seeded xoshiro128** generator.
 *
 * @example
 * ```ts
 * import { Random } from "./random.ts";
 * const r = new Random(42);
 * const die = r.int(1, 6);
 * const child = r.fork("workload");
 * ```
 */
export class Random {
  #s0 = 0;
  #s1 = 0;
  #s2 = 0;
  #s3 = 0;
  /** The two seed words this generator was created from (used by fork). */
  #k0: number;
  #k1: number;

  /**
   * Create a generator from an integer (safe-integer range, may be
   * negative) or a string seed.
   *
   * @example
   * ```ts
   * import { Random } from "./random.ts";
   * new Random("experiment-1").nextU32();
   * ```
   */
  constructor(seed: number | string) {
    const [a, b] = seedWords(seed);
    this.#k0 = a;
    this.#k1 = b;
    this.#init(a, b);
  }

  #init(a: number, b: number): void {
    // splitmix32 stream seeded from both words.
    let x = (a ^ Math.imul(b ^ 0x6a09e667, 0x9e3779b9)) | 0;
    x = (x + 0x9e3779b9) | 0;
    this.#s0 = mix32(x) | 0;
    x = (x + 0x9e3779b9) | 0;
    this.#s1 = (mix32(x) ^ b) | 0;
    x = (x + 0x9e3779b9) | 0;
    this.#s2 = mix32(x) | 0;
    x = (x + 0x9e3779b9) | 0;
    this.#s3 = mix32(x) | 0;
    if ((this.#s0 | this.#s1 | this.#s2 | this.#s3) === 0) this.#s0 = 1;
  }

  /**
   * A generator with the exact xoshiro128** state words given (for testing
   * against reference vectors). The words must not all be zero.
   *
   * @example
   * ```ts
   * import { Random } from "./random.ts";
   * Random.fromState(1, 2, 3, 4).nextU32(); // 11520
   * ```
   */
  static fromState(s0: number, s1: number, s2: number, s3: number): Random {
    if (((s0 | s1 | s2 | s3) >>> 0) === 0) throw new RangeError("State must not be all zero");
    const r = new Random(0);
    r.#k0 = s0 >>> 0;
    r.#k1 = s1 >>> 0;
    r.#s0 = s0 | 0;
    r.#s1 = s1 | 0;
    r.#s2 = s2 | 0;
    r.#s3 = s3 | 0;
    return r;
  }

  /**
   * Next uniformly distributed unsigned 32-bit integer.
   *
   * @example
   * ```ts
   * import { Random } from "./random.ts";
   * const x = new Random(1).nextU32(); // 0 <= x < 2 ** 32
   * ```
   */
  nextU32(): number {
    const s1 = this.#s1;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    this.#s2 ^= this.#s0;
    this.#s3 ^= s1;
    this.#s1 = s1 ^ this.#s2;
    this.#s0 ^= this.#s3;
    this.#s2 ^= t;
    this.#s3 = rotl(this.#s3, 11);
    return result;
  }

  /**
   * Uniform float in `[0, 1)` with 53 random bits (consumes two outputs).
   *
   * @example
   * ```ts
   * import { Random } from "./random.ts";
   * const f = new Random(1).float(); // 0 <= f < 1
   * ```
   */
  float(): number {
    const a = this.nextU32() >>> 5;
    const b = this.nextU32() >>> 6;
    return (a * 67108864 + b) / TWO_53;
  }

  /**
   * Uniform integer in `[lo, hi]` (inclusive), unbiased (rejection
   * sampling). Bounds must be safe integers with `hi - lo < 2 ** 53`.
   *
   * @example
   * ```ts
   * import { Random } from "./random.ts";
   * const d = new Random(1).int(1, 6); // 1..6
   * ```
   */
  int(lo: number, hi: number): number {
    if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || lo > hi) {
      throw new RangeError(`Invalid integer range [${lo}, ${hi}]`);
    }
    const range = hi - lo + 1;
    if (range <= TWO_32) {
      const limit = TWO_32 - (TWO_32 % range);
      for (;;) {
        const x = this.nextU32();
        if (x < limit) return lo + (x % range);
      }
    }
    if (range > TWO_53) throw new RangeError(`Integer range too large: [${lo}, ${hi}]`);
    const limit = TWO_53 - (TWO_53 % range);
    for (;;) {
      const x = (this.nextU32() >>> 11) * TWO_32 + this.nextU32();
      if (x < limit) return lo + (x % range);
    }
  }

  /**
   * `true` with probability `p` (`p <= 0` never, `p >= 1` always).
   *
   * @example
   * ```ts
   * import { Random } from "./random.ts";
   * new Random(1).chance(1); // true
   * ```
   */
  chance(p: number): boolean {
    if (p >= 1) return true;
    if (!(p > 0)) return false;
    return this.float() < p;
  }

  /**
   * A uniformly chosen element. Throws a `RangeError` on an empty array.
   *
   * @example
   * ```ts
   * import { Random } from "./random.ts";
   * new Random(1).pick(["a", "b", "c"]);
   * ```
   */
  pick<T>(arr: readonly T[]): T {
    if (arr.length === 0) throw new RangeError("Cannot pick from an empty array");
    return arr[this.int(0, arr.length - 1)];
  }

  /**
   * Shuffle `arr` in place (Fisher-Yates) and return it.
   *
   * @example
   * ```ts
   * import { Random } from "./random.ts";
   * new Random(1).shuffle([1, 2, 3]).length; // 3
   * ```
   */
  shuffle<T>(arr: T[]): T[] {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      const t = arr[i];
      arr[i] = arr[j];
      arr[j] = t;
    }
    return arr;
  }

  /**
   * An independent generator derived from THIS generator's seed and
   * `label`. It does not advance (or depend on) this generator's current
   * state: `new Random(s).fork("x")` always yields the same stream, however
   * many numbers were drawn from the parent. Forks nest (`fork("a").fork("b")`).
   *
   * @example
   * ```ts
   * import { Random } from "./random.ts";
   * const r = new Random(42);
   * r.fork("a").nextU32() === new Random(42).fork("a").nextU32(); // true
   * ```
   */
  fork(label: string): Random {
    const r = new Random(0);
    const a = mix32((fnv1a(label, this.#k0 ^ 0x811c9dc5) + Math.imul(this.#k1, 0x85ebca6b)) | 0);
    const b = mix32((fnv1a(label, this.#k1 ^ 0x050c5d1f) ^ Math.imul(this.#k0, 0xc2b2ae35)) | 0);
    r.#k0 = a;
    r.#k1 = b;
    r.#init(a, b);
    return r;
  }

  /**
   * Exponentially distributed sample with the given mean.
   *
   * @example
   * ```ts
   * import { Random } from "./random.ts";
   * const x = new Random(1).exponential(10); // x >= 0
   * ```
   */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.float());
  }
}
