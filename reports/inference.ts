/**
 * Statistics over the repeats of a run: per-metric aggregates with a 95 % confidence interval,
 * the ratio of two schemes' means with its interval (paired repeats), and the two-sample tests
 * `compare` uses. Everything is a closed-form function of the values: no resampling, no random
 * numbers, so the same repeats always give the same intervals, byte for byte.
 *
 * Methods, and why:
 *
 * - **Mean of one metric**: Student t-interval, `mean ± t(0.975, n-1) · sd / √n`, intersected
 *   with the metric's support when it has one (a count's interval does not reach below 0). With
 *   the few repeats a suite can afford (5 by default) a percentile bootstrap is too narrow (it
 *   behaves like a normal interval with the biased sd, about 0.6× the width of the t-interval at
 *   n = 5) and so claims differences that are not there; the t-interval is the standard
 *   small-sample choice and needs no seed.
 * - **Ratio of two schemes' means** (a verdict, `scheme / baseline`): Fieller's interval for the
 *   ratio of the means of *paired* repeats (repeat k of both schemes used the same seed), which
 *   accounts for the covariance between the pairs. It is exact under normality of the means,
 *   handles zeros in the numerator (a log-ratio interval cannot), and is unbounded, honestly, when
 *   the baseline mean itself is not distinguishable from 0.
 * - **compare** (same scheme, two documents): Welch's unequal-variance t-test when the seeds
 *   differ, a paired t-test on the differences when both sides used the same seeds; the p-values
 *   of all statistical comparisons of one `compare` are adjusted together with Benjamini–Hochberg
 *   (false discovery rate 5 %), since a suite compares thousands of metrics at once.
 *
 * The t distribution is computed from the regularised incomplete beta function (continued
 * fraction, Lentz's method) with a Lanczos log-gamma; quantiles by bisection of the CDF.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import type { Aggregate } from "./results.ts";

/** Confidence level of every interval rmapbench prints. */
export const CONFIDENCE = 0.95;

const LANCZOS = [
  676.5203681218851,
  -1259.1392167224028,
  771.32342877765313,
  -176.61502916214059,
  12.507343278686905,
  -0.13857109526572012,
  9.9843695780195716e-6,
  1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0 (Lanczos approximation, g = 7). */
function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = 0.99999999999980993;
  const t = z + 7.5;
  for (let i = 0; i < 8; i++) a += LANCZOS[i] / (z + i + 1);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the incomplete beta function (modified Lentz). */
function betaFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

/** Regularised incomplete beta function I_x(a, b). */
function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lbt = logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) +
    b * Math.log(1 - x);
  const bt = Math.exp(lbt);
  return x < (a + 1) / (a + b + 2)
    ? (bt * betaFraction(a, b, x)) / a
    : 1 - (bt * betaFraction(b, a, 1 - x)) / b;
}

/**
 * The CDF of Student's t distribution with `df` degrees of freedom at `t`.
 *
 * @example Usage
 * ```ts
 * import { studentTCdf } from "./inference.ts";
 * if (Math.abs(studentTCdf(0, 4) - 0.5) > 1e-12) throw new Error("unexpected");
 * ```
 */
export function studentTCdf(t: number, df: number): number {
  if (!(df > 0)) throw new RangeError(`Degrees of freedom must be positive, got ${df}`);
  if (t === Infinity) return 1;
  if (t === -Infinity) return 0;
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/**
 * The `p` quantile of Student's t distribution with `df` degrees of freedom (bisection of the
 * CDF to 1e-12).
 *
 * @example Usage
 * ```ts
 * import { studentTQuantile } from "./inference.ts";
 * if (Math.abs(studentTQuantile(0.975, 4) - 2.7764451) > 1e-6) throw new Error("unexpected");
 * ```
 */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`Quantile must be in (0, 1), got ${p}`);
  if (p === 0.5) return 0;
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  let lo = 0;
  let hi = 1;
  while (studentTCdf(hi, df) < p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * Math.max(1, hi); i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

function meanOf(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return xs.length ? s / xs.length : 0;
}

/** Sample variance (n - 1 denominator); 0 for fewer than 2 values. */
function varianceOf(xs: readonly number[], m = meanOf(xs)): number {
  if (xs.length < 2) return 0;
  let s = 0;
  for (const x of xs) s += (x - m) * (x - m);
  return s / (xs.length - 1);
}

/** Covariance of paired values (n - 1 denominator). */
function covarianceOf(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = meanOf(xs);
  const my = meanOf(ys);
  let s = 0;
  for (let i = 0; i < n; i++) s += (xs[i] - mx) * (ys[i] - my);
  return s / (n - 1);
}

function allEqual(xs: readonly number[]): boolean {
  return xs.every((x) => x === xs[0]);
}

/** Rounds away floating-point noise so aggregates serialise identically everywhere. */
function tidy(x: number): number {
  return x === 0 ? 0 : Number(x.toPrecision(12));
}

/** The values a metric can take: `[lower, upper]`, either side open when absent. */
export interface Support {
  /** Smallest possible value (0 for a count, bytes or a time). */
  lower?: number;
  /** Largest possible value (100 for a percentage). */
  upper?: number;
}

/**
 * Statistics of one metric over repeats: n, mean, sd, min, max, the 95 % t-interval of the mean
 * (absent for one value) and whether every value is the same (`exact`, interval `[v, v]`).
 *
 * With `support`, the metric's possible values, the interval is intersected with it: the
 * t-interval of a count that is 0 in most repeats reaches below 0, where its mean cannot be. The
 * intersection keeps the interval's coverage (it holds the true mean whenever the t-interval
 * does, since the true mean lies within the support). A value outside the support is refused.
 *
 * @example Usage
 * ```ts
 * import { aggregate } from "./inference.ts";
 * const a = aggregate([10, 12, 11, 13, 9]);
 * if (a.mean !== 11 || !(a.ci![0] < 11 && a.ci![1] > 11)) throw new Error("unexpected");
 * if (!aggregate([4, 4, 4]).exact) throw new Error("unexpected");
 * // Lock waits of 0, 0, 0, 0 and 50 ns: the t-interval [-17.8, 37.8] becomes [0, 37.8].
 * if (aggregate([0, 0, 0, 0, 50], { lower: 0 }).ci![0] !== 0) throw new Error("unexpected");
 * ```
 */
export function aggregate(values: readonly number[], support: Support = {}): Aggregate {
  const n = values.length;
  if (n === 0) throw new RangeError("Cannot aggregate zero repeats");
  const lower = support.lower ?? -Infinity, upper = support.upper ?? Infinity;
  if (support.lower !== undefined || support.upper !== undefined) {
    if (!(lower <= upper)) throw new RangeError(`Empty support [${lower}, ${upper}]`);
    for (const v of values) {
      if (!(v >= lower && v <= upper)) {
        throw new RangeError(`Value ${v} lies outside the metric's support [${lower}, ${upper}]`);
      }
    }
  }
  const m = meanOf(values);
  // One value says nothing about the spread: exact needs at least two equal repeats.
  const exact = n >= 2 && allEqual(values);
  const sd = exact ? 0 : Math.sqrt(varianceOf(values, m));
  const out: Aggregate = {
    n,
    mean: exact || n === 1 ? values[0] : tidy(m),
    sd: tidy(sd),
    min: Math.min(...values),
    max: Math.max(...values),
    exact,
  };
  if (n >= 2) {
    if (exact) {
      out.ci = [values[0], values[0]];
    } else {
      const half = studentTQuantile(0.5 + CONFIDENCE / 2, n - 1) * sd / Math.sqrt(n);
      out.ci = [tidy(Math.max(lower, m - half)), tidy(Math.min(upper, m + half))];
    }
  }
  return out;
}

/** The ratio of two means with its confidence interval. */
export interface RatioEstimate {
  /** `mean(x) / mean(y)`; Infinity when only the baseline mean is 0; 1 when both are 0. */
  ratio: number;
  /**
   * 95 % interval `[low, high]` (Fieller, paired); `high` may be Infinity. Null when there is one
   * repeat, or when the baseline mean cannot be told from 0 (the ratio is not estimable).
   */
  ci: [number, number] | null;
  /** Both sides were exact (two or more repeats, all equal) and equal to each other. */
  equal: boolean;
  /** Both sides were exact (two or more repeats without spread), so the ratio is exact too. */
  exact: boolean;
  /** The interval excludes 1 (or both sides are exact and differ). */
  significant: boolean;
  /** Pairs (repeats). */
  n: number;
}

/**
 * Ratio of the mean of `x` (a scheme's repeats) to the mean of `y` (the baseline scheme's repeats
 * with the same seeds, in the same order), with Fieller's 95 % interval for paired samples: the
 * set of ρ for which `mean(x) - ρ·mean(y)` is not significantly different from 0 by a paired t
 * test, i.e. the solutions of `(x̄ - ρȳ)² ≤ t²·(s_xx - 2ρ s_xy + ρ² s_yy)/n`.
 *
 * @example Usage
 * ```ts
 * import { pairedRatio } from "./inference.ts";
 * const r = pairedRatio([5, 6, 5, 7, 6], [10, 12, 10, 13, 12]);
 * if (!(r.ci![0] < r.ratio && r.ratio < r.ci![1] && r.significant)) throw new Error("unexpected");
 * ```
 */
export function pairedRatio(x: readonly number[], y: readonly number[]): RatioEstimate {
  if (x.length !== y.length || x.length === 0) {
    throw new RangeError(`Paired samples need equal, non-zero lengths (${x.length}, ${y.length})`);
  }
  const n = x.length;
  const mx = meanOf(x);
  const my = meanOf(y);
  const exact = n >= 2 && allEqual(x) && allEqual(y);
  const equal = exact && x[0] === y[0];
  const ratio = my === 0 ? (mx === 0 ? 1 : Infinity) : mx / my;
  if (exact) {
    const ci: [number, number] | null = my === 0 ? null : [tidy(ratio), tidy(ratio)];
    return { ratio: tidy(ratio), ci, equal, exact, significant: !equal, n };
  }
  if (n < 2) return { ratio: tidy(ratio), ci: null, equal, exact, significant: false, n };
  const t = studentTQuantile(0.5 + CONFIDENCE / 2, n - 1);
  const k = (t * t) / n;
  const sxx = varianceOf(x, mx);
  const syy = varianceOf(y, my);
  const sxy = covarianceOf(x, y);
  const a = my * my - k * syy;
  const b = -2 * (mx * my - k * sxy);
  const c = mx * mx - k * sxx;
  const disc = b * b - 4 * a * c;
  if (!(a > 0) || disc < 0) {
    // The baseline mean is not distinguishable from 0: no bounded interval.
    return { ratio: tidy(ratio), ci: null, equal, exact, significant: false, n };
  }
  const root = Math.sqrt(disc);
  // A ratio of non-negative figures (all of rmapbench's) is non-negative: clip the interval at 0.
  const nonNegative = x.every((v) => v >= 0) && y.every((v) => v >= 0);
  const lo = tidy(Math.max(nonNegative ? 0 : -Infinity, (-b - root) / (2 * a)));
  const hi = tidy((-b + root) / (2 * a));
  return {
    ratio: tidy(ratio),
    ci: [lo, hi],
    equal,
    exact,
    significant: lo > 1 || hi < 1,
    n,
  };
}

/**
 * Two-sided p-value of the difference of means of two independent samples (Welch's t-test with
 * Welch–Satterthwaite degrees of freedom). 1 when both samples are exact and equal; 0 when both
 * are exact and differ; NaN when either sample has fewer than 2 values.
 *
 * @example Usage
 * ```ts
 * import { welchP } from "./inference.ts";
 * if (!(welchP([1, 2, 3, 2, 1], [9, 10, 11, 10, 9]) < 0.001)) throw new Error("unexpected");
 * ```
 */
export function welchP(x: readonly number[], y: readonly number[]): number {
  if (x.length < 2 || y.length < 2) return NaN;
  const mx = meanOf(x);
  const my = meanOf(y);
  const vx = varianceOf(x, mx) / x.length;
  const vy = varianceOf(y, my) / y.length;
  const se2 = vx + vy;
  if (se2 === 0) return mx === my ? 1 : 0;
  const t = (mx - my) / Math.sqrt(se2);
  const df = (se2 * se2) /
    ((vx * vx) / (x.length - 1) + (vy * vy) / (y.length - 1));
  return 2 * studentTCdf(-Math.abs(t), df);
}

/**
 * Two-sided p-value of a paired t-test (mean of `x[i] - y[i]` against 0). 1 when every
 * difference is 0; 0 when every difference is the same non-zero value; NaN for fewer than 2
 * pairs.
 *
 * @example Usage
 * ```ts
 * import { pairedP } from "./inference.ts";
 * if (pairedP([1, 2, 3], [1, 2, 3]) !== 1) throw new Error("unexpected");
 * ```
 */
export function pairedP(x: readonly number[], y: readonly number[]): number {
  if (x.length !== y.length) throw new RangeError("Paired samples need equal lengths");
  if (x.length < 2) return NaN;
  const d = x.map((v, i) => v - y[i]);
  const m = meanOf(d);
  const v = varianceOf(d, m);
  if (v === 0) return m === 0 ? 1 : 0;
  const t = m / Math.sqrt(v / d.length);
  return 2 * studentTCdf(-Math.abs(t), d.length - 1);
}

/**
 * Benjamini–Hochberg: which of `pValues` are discoveries at false discovery rate `q` (NaN
 * p-values are never discoveries and do not count as tests).
 *
 * @example Usage
 * ```ts
 * import { benjaminiHochberg } from "./inference.ts";
 * const d = benjaminiHochberg([0.001, 0.04, 0.5], 0.05);
 * if (d.join() !== "true,false,false") throw new Error(d.join());
 * ```
 */
export function benjaminiHochberg(pValues: readonly number[], q: number): boolean[] {
  const idx = pValues.map((p, i) => [p, i] as const).filter(([p]) => !Number.isNaN(p));
  idx.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const m = idx.length;
  let cut = -1;
  for (let k = 0; k < m; k++) if (idx[k][0] <= ((k + 1) / m) * q) cut = k;
  const out = pValues.map(() => false);
  for (let k = 0; k <= cut; k++) out[idx[k][1]] = true;
  return out;
}
