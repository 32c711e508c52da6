// Small numeric kit shared by the detectors: seeded PRNG, robust statistics, normal distribution,
// Mann–Kendall with the Hamed–Rao correction, Theil–Sen with Sen's CI, Mann–Whitney U, lagged CCF.
// All functions are pure; NaN inputs are filtered by the callers (`finite`).

import type { Rng } from '../common/random.ts';

export { seededRng, type Rng } from '../common/random.ts';

export function normal(rng: Rng): number {
  const u = Math.max(rng(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

export const finite = (xs: readonly number[]): number[] => xs.filter((x) => Number.isFinite(x));
export const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
export const mean = (xs: readonly number[]): number => (xs.length ? sum(xs) / xs.length : NaN);

export function sd(xs: readonly number[]): number {
  if (xs.length < 2) return NaN;
  const m = mean(xs);
  return Math.sqrt(sum(xs.map((x) => (x - m) ** 2)) / (xs.length - 1));
}

/**
 * The values sorted ascending: as a Float64Array (a numeric sort with no comparator call per comparison: the leak and
 * tail-episode baselines sort 28,800 seconds of an 8-hour run), or with the comparator when a NaN is present, whose
 * place only the comparator's order defines.
 */
function ascending(xs: readonly number[]): ArrayLike<number> {
  const s = Float64Array.from(xs);
  for (let i = 0; i < s.length; i++) if (Number.isNaN(s[i])) return [...xs].sort((a, b) => a - b);
  return s.sort();
}

/** Linear-interpolated quantile (type 7) of unsorted data; NaN when empty. */
export function quantile(xs: readonly number[], q: number): number {
  if (!xs.length) return NaN;
  const s = ascending(xs);
  const h = (s.length - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(h);
  const hi = Math.ceil(h);
  return s[lo]! + (h - lo) * (s[hi]! - s[lo]!);
}

export const median = (xs: readonly number[]): number => quantile(xs, 0.5);

/** Median absolute deviation (unscaled). */
/** MAD × this estimates the standard deviation of normal data. */
export const MAD_TO_SD = 1.4826;

export function mad(xs: readonly number[]): number {
  const m = median(xs);
  return median(xs.map((x) => Math.abs(x - m)));
}

/** Standard normal CDF (Abramowitz–Stegun 7.1.26 via erf, |error| < 1.5e-7). */
export function normCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/** Inverse standard normal CDF (Acklam's rational approximation, relative error < 1.2e-9). */
export function normInv(p: number): number {
  if (!(p > 0 && p < 1)) return p === 0 ? -Infinity : p === 1 ? Infinity : NaN;
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const pl = 0.02425;
  if (p < pl) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  if (p > 1 - pl) return -normInv(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
  );
}

export interface OlsFit {
  slope: number;
  intercept: number;
  sse: number;
  /** Classical (iid) standard error of the slope. */
  slopeSe: number;
}

export function ols(x: readonly number[], y: readonly number[]): OlsFit {
  const n = Math.min(x.length, y.length);
  if (n < 2) return { slope: NaN, intercept: NaN, sse: NaN, slopeSe: NaN };
  const mx = mean(x.slice(0, n));
  const my = mean(y.slice(0, n));
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (x[i]! - mx) ** 2;
    sxy += (x[i]! - mx) * (y[i]! - my);
  }
  const slope = sxx > 0 ? sxy / sxx : 0;
  const intercept = my - slope * mx;
  let sse = 0;
  for (let i = 0; i < n; i++) sse += (y[i]! - intercept - slope * x[i]!) ** 2;
  const slopeSe = n > 2 && sxx > 0 ? Math.sqrt(sse / (n - 2) / sxx) : NaN;
  return { slope, intercept, sse, slopeSe };
}

/** Pairwise slopes (f_j − f_i)/(t_j − t_i), i < j, sorted ascending. */
export function pairwiseSlopes(t: readonly number[], y: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < y.length; i++) for (let j = i + 1; j < y.length; j++) if (t[j] !== t[i]) out.push((y[j]! - y[i]!) / (t[j]! - t[i]!));
  return out.sort((a, b) => a - b);
}

function ranks(xs: readonly number[]): number[] {
  const idx = xs.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const r = new Array<number>(xs.length);
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && idx[j + 1]![0] === idx[i]![0]) j++;
    for (let k = i; k <= j; k++) r[idx[k]![1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return r;
}

export interface TrendTest {
  n: number;
  s: number;
  varS: number;
  /** Var(S) after the Hamed–Rao correction (never smaller than varS). */
  varSCorrected: number;
  z: number;
  p: number;
  /** Theil–Sen slope, per unit of t. */
  slope: number;
  ci95: [number, number];
}

/**
 * Mann–Kendall trend test with the Hamed–Rao (1998) variance correction and the Theil–Sen slope with
 * Sen's confidence interval from the corrected variance (docs/ANALYSIS.md, Leak, step 3).
 * Only significant rank autocorrelations (|ρ_k| > z_{0.975}/√n) enter the correction.
 */
export function mannKendallHamedRao(t: readonly number[], y: readonly number[], alpha = 0.05): TrendTest {
  const n = Math.min(t.length, y.length);
  const nanResult: TrendTest = { n, s: 0, varS: NaN, varSCorrected: NaN, z: NaN, p: NaN, slope: NaN, ci95: [NaN, NaN] };
  if (n < 3) return nanResult;
  let s = 0;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) s += Math.sign(y[j]! - y[i]!);
  const ties = new Map<number, number>();
  for (const v of y.slice(0, n)) ties.set(v, (ties.get(v) ?? 0) + 1);
  let tieTerm = 0;
  for (const tp of ties.values()) tieTerm += tp * (tp - 1) * (2 * tp + 5);
  const varS = (n * (n - 1) * (2 * n + 5) - tieTerm) / 18;
  const slopes = pairwiseSlopes(t.slice(0, n), y.slice(0, n));
  const slope = median(slopes);
  // Hamed–Rao: ranks of the Sen-detrended series, significant lags only
  const r = ranks(y.slice(0, n).map((v, i) => v - slope * t[i]!));
  const rm = mean(r);
  const denom = sum(r.map((v) => (v - rm) ** 2));
  const bound = normInv(0.975) / Math.sqrt(n);
  let acc = 0;
  for (let k = 1; k < n - 2; k++) {
    let num = 0;
    for (let i = 0; i + k < n; i++) num += (r[i]! - rm) * (r[i + k]! - rm);
    const rho = denom > 0 ? num / denom : 0;
    if (Math.abs(rho) > bound) acc += (n - k) * (n - k - 1) * (n - k - 2) * rho;
  }
  const ratio = 1 + (2 / (n * (n - 1) * (n - 2))) * acc;
  const varSCorrected = varS * Math.max(ratio, 1);
  const z = varSCorrected > 0 ? (s - Math.sign(s)) / Math.sqrt(varSCorrected) : 0;
  const p = 2 * (1 - normCdf(Math.abs(z)));
  const nPrime = slopes.length;
  const c = normInv(1 - alpha / 2) * Math.sqrt(varSCorrected);
  const lo = Math.floor((nPrime - c) / 2);
  const hi = Math.ceil((nPrime + c) / 2);
  const at = (k: number): number => slopes[Math.min(nPrime - 1, Math.max(0, k - 1))] ?? NaN;
  const ci95: [number, number] = [lo < 1 ? -Infinity : at(lo), hi > nPrime ? Infinity : at(hi)];
  return { n, s, varS, varSCorrected, z, p, slope, ci95 };
}

export interface MannWhitney {
  u: number;
  z: number;
  p: number;
  /** Probability that a value of b exceeds one of a (common-language effect size). */
  probBGreater: number;
}

/** Two-sided Mann–Whitney U with normal approximation and tie correction. */
export function mannWhitney(a: readonly number[], b: readonly number[]): MannWhitney {
  const n1 = a.length;
  const n2 = b.length;
  if (!n1 || !n2) return { u: NaN, z: NaN, p: NaN, probBGreater: NaN };
  const all = [...a, ...b];
  const r = ranks(all);
  const r2 = sum(r.slice(n1));
  const u2 = r2 - (n2 * (n2 + 1)) / 2;
  const n = n1 + n2;
  const counts = new Map<number, number>();
  for (const v of all) counts.set(v, (counts.get(v) ?? 0) + 1);
  let tie = 0;
  for (const c of counts.values()) tie += c ** 3 - c;
  const sigma = Math.sqrt(((n1 * n2) / 12) * (n + 1 - tie / (n * (n - 1))));
  const mu = (n1 * n2) / 2;
  const z = sigma > 0 ? (u2 - mu - Math.sign(u2 - mu) * 0.5) / sigma : 0;
  return { u: u2, z, p: sigma > 0 ? 2 * (1 - normCdf(Math.abs(z))) : 1, probBGreater: u2 / (n1 * n2) };
}

/** Lower bound of a proportion's Wilson score interval: `share` observed in `n` (possibly fractional) independent
 * samples, at `alpha` one-sided. 0 when n ≤ 0. */
export function wilsonLower(share: number, n: number, alpha = 0.05): number {
  return n > 0 ? wilson(share, n, alpha).lower : 0;
}

/** Upper bound of the same interval. 1 when n ≤ 0. */
export function wilsonUpper(share: number, n: number, alpha = 0.05): number {
  return n > 0 ? wilson(share, n, alpha).upper : 1;
}

function wilson(share: number, n: number, alpha: number): { lower: number; upper: number } {
  const z = normInv(1 - alpha);
  const z2n = (z * z) / n;
  const centre = share + z2n / 2;
  const spread = z * Math.sqrt((share * (1 - share)) / n + z2n / (4 * n));
  return { lower: Math.max(0, (centre - spread) / (1 + z2n)), upper: Math.min(1, (centre + spread) / (1 + z2n)) };
}

/**
 * Lower bound of share1 − share2 (two independent proportions, over n1 and n2 possibly fractional samples) by
 * Newcombe's hybrid score interval, at `alpha` one-sided: above 0 when the first share is larger beyond what both
 * samples can tell. Each side's uncertainty is its own Wilson interval (docs/ANALYSIS.md, Recovery).
 */
export function shareDiffLower(share1: number, n1: number, share2: number, n2: number, alpha = 0.05): number {
  const below1 = share1 - wilsonLower(share1, n1, alpha);
  const above2 = wilsonUpper(share2, n2, alpha) - share2;
  return share1 - share2 - Math.sqrt(below1 ** 2 + above2 ** 2);
}

export const diff = (xs: readonly number[]): number[] => xs.slice(1).map((x, i) => x - xs[i]!);

/** r_xy(k) = Σ (x_t − x̄)(y_{t+k} − ȳ) / (n s_x s_y); positive k means x leads y. */
export function crossCorrelation(x: readonly number[], y: readonly number[], k: number): number {
  const n = Math.min(x.length, y.length);
  if (n < 3) return NaN;
  const mx = mean(x.slice(0, n));
  const my = mean(y.slice(0, n));
  const sx = Math.sqrt(sum(x.slice(0, n).map((v) => (v - mx) ** 2)) / n);
  const sy = Math.sqrt(sum(y.slice(0, n).map((v) => (v - my) ** 2)) / n);
  if (!(sx > 0 && sy > 0)) return NaN;
  let acc = 0;
  for (let t = Math.max(0, -k); t < n && t + k < n; t++) acc += (x[t]! - mx) * (y[t + k]! - my);
  return acc / (n * sx * sy);
}
