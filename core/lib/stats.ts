/**
 * Sample distributions with exact nearest-rank quantiles.
 *
 * @module
 */

/**
 * Summary of a {@linkcode Distribution}; every field is 0 when it is empty.
 *
 * @example
 * ```ts
 * import { Distribution, type DistributionSummary } from "./stats.ts";
 * const s: DistributionSummary = new Distribution().summary();
 * ```
 */
export interface DistributionSummary {
  /** Number of samples. */
  count: number;
  /** Arithmetic mean. */
  mean: number;
  /** Median (nearest rank). */
  p50: number;
  /** 90th percentile (nearest rank). */
  p90: number;
  /** 99th percentile (nearest rank). */
  p99: number;
  /** Largest sample. */
  max: number;
  /** Smallest sample. */
  min: number;
  /** Sum of the samples. */
  sum: number;
}

/**
 * One histogram bucket: samples `v` with `lo <= v < hi` (the last bucket
 * also includes `hi`).
 *
 * @example
 * ```ts
 * import type { HistogramBucket } from "./stats.ts";
 * const b: HistogramBucket = { lo: 0, hi: 1, count: 3 };
 * ```
 */
export interface HistogramBucket {
  /** Inclusive lower bound. */
  lo: number;
  /** Exclusive upper bound (inclusive for the last bucket). */
  hi: number;
  /** Samples in the bucket. */
  count: number;
}

/**
 * Options for {@linkcode Distribution.histogram}.
 *
 * @example
 * ```ts
 * import type { HistogramOptions } from "./stats.ts";
 * const o: HistogramOptions = { scale: "log" };
 * ```
 */
export interface HistogramOptions {
  /**
   * `"linear"` (default): equal-width buckets over `[min, max]`.
   * `"log"`: bucket bounds `10 ** (log10(min) + (log10(max) - log10(min)) * i / buckets)`
   * (so decades land on exact powers of ten); requires every sample to be positive.
   * `"integer"`: for integer samples (counts): at most `buckets` buckets of equal whole width
   * `w`, each covering the integers `lo..hi` with both ends included (`hi = lo + w - 1`).
   */
  scale?: "linear" | "log" | "integer";
}

/** Longest chunk of stored samples (256 KiB of 32-bit samples). */
const CHUNK_MAX = 1 << 16;

/**
 * Records numeric samples and reports count, sum, mean, extremes,
 * nearest-rank quantiles and histograms.
 *
 * @example
 * ```ts
 * import { Distribution } from "./stats.ts";
 * const d = new Distribution();
 * for (let i = 1; i <= 10; i++) d.add(i);
 * d.p50; // 5
 * d.p90; // 9
 * d.quantile(0.95); // 10
 * ```
 */
export class Distribution {
  /**
   * The samples other than +0, in arrival order until sorted, are stored in chunks: the full
   * ones in `#chunks`, then `#samples[0..fill)`. A new chunk doubles the length of the last one
   * up to {@link CHUNK_MAX}, so no sample is copied while samples arrive; the chunks are joined
   * into one array when the samples are needed in order. 32-bit unsigned integers while every
   * stored sample is one (most samples are whole nanoseconds or counts), else doubles.
   */
  #samples: Uint32Array | Float64Array;
  /** Samples in `#samples`. */
  #fill = 0;
  /** The full chunks before `#samples`, in arrival order. */
  #chunks: (Uint32Array | Float64Array)[] = [];
  /** Whether the stored samples are doubles. */
  #wide = false;
  /** Samples stored (in `#chunks` and `#samples`). */
  #n = 0;
  /** The last stored sample (-Infinity when none): whether the next keeps them sorted. */
  #last = -Infinity;
  /** Samples equal to +0, counted but not stored (most lock waits are 0). */
  #zeros = 0;
  #sum = 0;
  #min = Infinity;
  #max = -Infinity;
  /** Whether the stored samples are currently sorted. */
  #sorted = true;

  /**
   * Create an empty distribution with room for `capacity` samples before
   * the buffer grows.
   *
   * @example
   * ```ts
   * import { Distribution } from "./stats.ts";
   * new Distribution(1024).count; // 0
   * ```
   */
  constructor(capacity = 64) {
    this.#samples = new Uint32Array(Math.max(1, capacity | 0));
  }

  /**
   * Record a sample. Throws a `RangeError` if it is not a finite number.
   *
   * @example
   * ```ts
   * import { Distribution } from "./stats.ts";
   * const d = new Distribution();
   * d.add(3);
   * d.count; // 1
   * ```
   */
  add(value: number): void {
    if (value === 0 && 1 / value > 0) {
      // +0 first (most lock waits): counted, not stored, and the sum is left alone (it is never
      // -0, the one sum that adding +0 would change).
      this.#zeros++;
      if (0 < this.#min) this.#min = 0;
      if (0 > this.#max) this.#max = 0;
      return;
    }
    if (!Number.isFinite(value)) throw new RangeError(`Sample must be a finite number: ${value}`);
    this.#sum += value;
    if (value < this.#min) this.#min = value;
    if (value > this.#max) this.#max = value;
    // -0 reaches here (it is not +0) and needs a double too.
    if (
      this.#fill === this.#samples.length ||
      (!this.#wide && (value >>> 0 !== value || value === 0))
    ) {
      this.#grow(value);
    }
    if (value < this.#last) this.#sorted = false;
    this.#samples[this.#fill++] = value;
    this.#last = value;
    this.#n++;
  }

  /** Makes room for one more sample, able to hold `value` exactly. */
  #grow(value: number): void {
    if (!this.#wide && (value >>> 0 !== value || value === 0)) {
      // Every stored sample becomes a double (once).
      this.#wide = true;
      this.#chunks = this.#chunks.map((c) => Float64Array.from(c));
      this.#samples = Float64Array.from(this.#samples);
    }
    const a = this.#samples;
    if (this.#fill < a.length) return;
    this.#chunks.push(a);
    const len = Math.min(Math.max(a.length * 2, 1), CHUNK_MAX);
    this.#samples = this.#wide ? new Float64Array(len) : new Uint32Array(len);
    this.#fill = 0;
  }

  /** Joins the chunks: afterwards every stored sample is in `#samples[0..n)`. */
  #join(): void {
    const chunks = this.#chunks;
    if (chunks.length === 0) return;
    const n = this.#n;
    const all = this.#wide ? new Float64Array(n) : new Uint32Array(n);
    let at = 0;
    for (const c of chunks) {
      all.set(c, at);
      at += c.length;
    }
    all.set(this.#samples.subarray(0, this.#fill), at);
    this.#chunks = [];
    this.#samples = all;
    this.#fill = n;
  }

  /**
   * Number of samples.
   *
   * @example
   * ```ts
   * import { Distribution } from "./stats.ts";
   * new Distribution().count; // 0
   * ```
   */
  get count(): number {
    return this.#n + this.#zeros;
  }

  /**
   * Sum of the samples.
   *
   * @example
   * ```ts
   * import { Distribution } from "./stats.ts";
   * const d = new Distribution();
   * d.add(2);
   * d.add(3);
   * d.sum; // 5
   * ```
   */
  get sum(): number {
    return this.#sum;
  }

  /**
   * Arithmetic mean (0 when empty).
   *
   * @example
   * ```ts
   * import { Distribution } from "./stats.ts";
   * const d = new Distribution();
   * d.add(2);
   * d.add(4);
   * d.mean; // 3
   * ```
   */
  get mean(): number {
    const n = this.#n + this.#zeros;
    return n === 0 ? 0 : this.#sum / n;
  }

  /**
   * Smallest sample (0 when empty).
   *
   * @example
   * ```ts
   * import { Distribution } from "./stats.ts";
   * const d = new Distribution();
   * d.add(2);
   * d.min; // 2
   * ```
   */
  get min(): number {
    return this.#n + this.#zeros === 0 ? 0 : this.#min;
  }

  /**
   * Largest sample (0 when empty).
   *
   * @example
   * ```ts
   * import { Distribution } from "./stats.ts";
   * const d = new Distribution();
   * d.add(2);
   * d.max; // 2
   * ```
   */
  get max(): number {
    return this.#n + this.#zeros === 0 ? 0 : this.#max;
  }

  /**
   * Nearest-rank quantile: the smallest sample `v` such that at least
   * `q * count` samples are `<= v`; `quantile(0)` is the minimum. Returns 0
   * when empty. Throws a `RangeError` unless `0 <= q <= 1`. The sort is
   * cached until the next sample arrives.
   *
   * @example
   * ```ts
   * import { Distribution } from "./stats.ts";
   * const d = new Distribution();
   * [5, 1, 3].forEach((v) => d.add(v));
   * d.quantile(0.5); // 3
   * ```
   */
  quantile(q: number): number {
    if (!(q >= 0 && q <= 1)) throw new RangeError(`Quantile must be in [0, 1]: ${q}`);
    const n = this.#n + this.#zeros;
    if (n === 0) return 0;
    this.#sort();
    let k = q * n;
    // Absorb floating-point error such as 0.07 * 100 = 7.000000000000001 (rank 7, not 8).
    const r = Math.round(k);
    if (Math.abs(k - r) <= 1e-9 * Math.max(1, k)) k = r;
    const rank = Math.max(1, Math.ceil(k));
    return this.#at(Math.min(rank, n) - 1);
  }

  /**
   * The sample at index `i` of all samples in ascending order (the stored ones must be sorted):
   * the stored samples below +0 (negatives and -0, which sorts first), the zeros, the rest.
   */
  #at(i: number): number {
    const a = this.#samples;
    const below = this.#zeros === 0 || !this.#wide ? 0 : this.#below();
    if (i < below) return a[i];
    if (i < below + this.#zeros) return 0;
    return a[i - this.#zeros];
  }

  /** Number of stored samples below +0 (the stored samples must be sorted). */
  #below(): number {
    const a = this.#samples;
    let lo = 0, hi = this.#n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (a[mid] > 0) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  #sort(): void {
    this.#join();
    if (this.#sorted) return;
    this.#samples.subarray(0, this.#n).sort();
    this.#sorted = true;
    this.#last = this.#samples[this.#n - 1];
  }

  /** All samples in ascending order, zeros included, as doubles. */
  #all(): Float64Array {
    this.#sort();
    const n = this.#n + this.#zeros;
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = this.#at(i);
    return out;
  }

  /**
   * Median (nearest rank).
   *
   * @example
   * ```ts
   * import { Distribution } from "./stats.ts";
   * const d = new Distribution();
   * d.add(1);
   * d.p50; // 1
   * ```
   */
  get p50(): number {
    return this.quantile(0.5);
  }

  /**
   * 90th percentile (nearest rank).
   *
   * @example
   * ```ts
   * import { Distribution } from "./stats.ts";
   * const d = new Distribution();
   * d.add(1);
   * d.p90; // 1
   * ```
   */
  get p90(): number {
    return this.quantile(0.9);
  }

  /**
   * 99th percentile (nearest rank).
   *
   * @example
   * ```ts
   * import { Distribution } from "./stats.ts";
   * const d = new Distribution();
   * d.add(1);
   * d.p99; // 1
   * ```
   */
  get p99(): number {
    return this.quantile(0.99);
  }

  /**
   * All summary statistics at once (all 0 when empty).
   *
   * @example
   * ```ts
   * import { Distribution } from "./stats.ts";
   * new Distribution().summary().count; // 0
   * ```
   */
  summary(): DistributionSummary {
    return {
      count: this.count,
      mean: this.mean,
      p50: this.p50,
      p90: this.p90,
      p99: this.p99,
      max: this.max,
      min: this.min,
      sum: this.sum,
    };
  }

  /**
   * Deterministic histogram with `buckets` buckets spanning `[min, max]`
   * (see {@linkcode HistogramOptions}). Returns `[]` when empty; when all
   * samples are equal every bucket has `lo = hi = min` and the first holds
   * all samples.
   *
   * @example
   * ```ts
   * import { Distribution } from "./stats.ts";
   * const d = new Distribution();
   * [0, 1, 2, 3].forEach((v) => d.add(v));
   * d.histogram(2).map((b) => b.count); // [2, 2]
   * ```
   */
  histogram(buckets: number, options: HistogramOptions = {}): HistogramBucket[] {
    if (!Number.isInteger(buckets) || buckets < 1) {
      throw new RangeError(`Bucket count must be a positive integer: ${buckets}`);
    }
    const n = this.#n + this.#zeros;
    if (n === 0) return [];
    const min = this.#min;
    const max = this.#max;
    if (options.scale === "integer") return this.#integerHistogram(buckets);
    const log = options.scale === "log";
    if (log && !(min > 0)) throw new RangeError("Log-scale histogram requires positive samples");
    const out: HistogramBucket[] = [];
    const bound = (i: number): number => {
      if (i === 0) return min;
      if (i === buckets) return max;
      if (!log) return min + ((max - min) * i) / buckets;
      const a = Math.log10(min);
      return Math.pow(10, a + ((Math.log10(max) - a) * i) / buckets);
    };
    for (let i = 0; i < buckets; i++) out.push({ lo: bound(i), hi: bound(i + 1), count: 0 });
    if (min === max) {
      out[0].count = n;
      return out;
    }
    // Samples in ascending order: sweep buckets once.
    const all = this.#all();
    let b = 0;
    for (let i = 0; i < n; i++) {
      const v = all[i];
      while (b < buckets - 1 && v >= out[b].hi) b++;
      out[b].count++;
    }
    return out;
  }

  #integerHistogram(buckets: number): HistogramBucket[] {
    const min = Math.floor(this.#min);
    const max = Math.floor(this.#max);
    const w = Math.max(1, Math.ceil((max - min + 1) / buckets));
    const nb = Math.ceil((max - min + 1) / w);
    const out: HistogramBucket[] = [];
    for (let i = 0; i < nb; i++) out.push({ lo: min + i * w, hi: min + (i + 1) * w - 1, count: 0 });
    this.#join();
    const a = this.#samples;
    for (let i = 0; i < this.#n; i++) {
      out[Math.floor((Math.floor(a[i]) - min) / w)].count++;
    }
    if (this.#zeros > 0) out[Math.floor((0 - min) / w)].count += this.#zeros;
    return out;
  }

  /**
   * Add every sample of `other` to this distribution; returns `this`.
   *
   * @example
   * ```ts
   * import { Distribution } from "./stats.ts";
   * const a = new Distribution();
   * const b = new Distribution();
   * a.add(1);
   * b.add(2);
   * a.merge(b).count; // 2
   * ```
   */
  merge(other: Distribution): this {
    other.#join();
    const n = other.#n;
    const src = other.#samples;
    // The zeros first (they are only counted, so the order changes nothing), in a method of
    // their own: the loop below, compiled during a first long merge, then ends in a return.
    this.#addZeros(other.#zeros);
    for (let i = 0; i < n; i++) this.add(src[i]);
    return this;
  }

  /** Adds `k` samples of +0. */
  #addZeros(k: number): void {
    for (let i = k; i > 0; i--) this.add(0);
  }
}
