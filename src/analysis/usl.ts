// Universal Scalability Law: X(N) = λN / (1 + σ(N−1) + κN(N−1)), fitted by bounded Levenberg–Marquardt
// (0 ≤ σ < 1, κ ≥ 0, λ > 0) with a seeded residual bootstrap for CIs (docs/ANALYSIS.md).
import { quantile, seededRng, type Rng } from './stats.ts';

export interface UslParams {
  sigma: number;
  kappa: number;
  lambda: number;
}

export interface UslPoint {
  users: number;
  throughputRps: number;
}

export const uslThroughput = (p: UslParams, n: number): number => (p.lambda * n) / (1 + p.sigma * (n - 1) + p.kappa * n * (n - 1));

/** Continuous peak concurrency √((1−σ)/κ); Infinity when κ = 0 (Amdahl: no peak). */
export const uslPeakUsers = (p: UslParams): number => (p.kappa > 0 ? Math.sqrt((1 - p.sigma) / p.kappa) : Infinity);

function sse(p: UslParams, pts: readonly UslPoint[]): number {
  let s = 0;
  for (const q of pts) s += (q.throughputRps - uslThroughput(p, q.users)) ** 2;
  return s;
}

const clampP = (v: number[]): UslParams => ({ sigma: Math.min(1 - 1e-9, Math.max(0, v[0]!)), kappa: Math.max(0, v[1]!), lambda: Math.max(1e-12, v[2]!) });

/**
 * Solves the 3×3 system held augmented in `m` (row-major, 4 columns: A | b) in place, by Gauss–Jordan with partial
 * pivoting, into `out`; false when a pivot vanishes. Preallocated buffers: the fit calls this some 10⁵ times per analysis.
 */
function solve3(m: Float64Array, out: Float64Array): boolean {
  for (let c = 0; c < 3; c++) {
    let piv = c;
    for (let r = c + 1; r < 3; r++) if (Math.abs(m[r * 4 + c]!) > Math.abs(m[piv * 4 + c]!)) piv = r;
    if (Math.abs(m[piv * 4 + c]!) < 1e-300) return false;
    if (piv !== c) {
      for (let k = 0; k < 4; k++) {
        const t = m[c * 4 + k]!;
        m[c * 4 + k] = m[piv * 4 + k]!;
        m[piv * 4 + k] = t;
      }
    }
    for (let r = 0; r < 3; r++) {
      if (r === c) continue;
      const f = m[r * 4 + c]! / m[c * 4 + c]!;
      for (let k = c; k < 4; k++) m[r * 4 + k]! -= f * m[c * 4 + k]!;
    }
  }
  for (let i = 0; i < 3; i++) out[i] = m[i * 4 + 3]! / m[i * 4 + i]!;
  return true;
}

/** Bounded Levenberg–Marquardt from one start. */
function lm(pts: readonly UslPoint[], start: UslParams): UslParams {
  let p = start;
  let cur = sse(p, pts);
  let mu = 1e-3;
  // JᵀJ (row-major 3×3), Jᵀr, the gradient row, the damped system and its step: reused across iterations
  const jtj = new Float64Array(9);
  const jtr = new Float64Array(3);
  const g = new Float64Array(3);
  const a = new Float64Array(12);
  const step = new Float64Array(3);
  for (let it = 0; it < 500; it++) {
    jtj.fill(0);
    jtr.fill(0);
    for (const q of pts) {
      const n = q.users;
      const d = 1 + p.sigma * (n - 1) + p.kappa * n * (n - 1);
      const x = (p.lambda * n) / d;
      g[0] = (-p.lambda * n * (n - 1)) / (d * d);
      g[1] = (-p.lambda * n * n * (n - 1)) / (d * d);
      g[2] = n / d;
      const r = q.throughputRps - x;
      for (let i = 0; i < 3; i++) {
        jtr[i]! += g[i]! * r;
        for (let k = 0; k < 3; k++) jtj[i * 3 + k]! += g[i]! * g[k]!;
      }
    }
    let improved = false;
    for (let tries = 0; tries < 30; tries++) {
      for (let i = 0; i < 3; i++) {
        for (let k = 0; k < 3; k++) a[i * 4 + k] = i === k ? jtj[i * 3 + k]! * (1 + mu) + 1e-300 : jtj[i * 3 + k]!;
        a[i * 4 + 3] = jtr[i]!;
      }
      if (!solve3(a, step)) {
        mu *= 10;
        continue;
      }
      const next = clampP([p.sigma + step[0]!, p.kappa + step[1]!, p.lambda + step[2]!]);
      const s = sse(next, pts);
      if (s < cur) {
        const rel = (cur - s) / Math.max(cur, 1e-300);
        p = next;
        cur = s;
        mu = Math.max(mu / 10, 1e-12);
        improved = true;
        if (rel < 1e-14) return p;
        break;
      }
      mu *= 10;
    }
    if (!improved) break;
  }
  return p;
}

/** Gunther's linearised quadratic N/C − 1 = κx² + (σ+κ)x (x = N−1), fitted through the origin: initial values only. */
function quadraticStart(pts: readonly UslPoint[]): UslParams | undefined {
  const one = [...pts].sort((a, b) => a.users - b.users)[0];
  if (!one || !(one.throughputRps > 0)) return undefined;
  const x1 = one.throughputRps / one.users;
  let s22 = 0,
    s12 = 0,
    s11 = 0,
    sy2 = 0,
    sy1 = 0;
  for (const q of pts) {
    const x = q.users - 1;
    const y = q.users / (q.throughputRps / x1) - 1;
    s22 += x ** 4;
    s12 += x ** 3;
    s11 += x ** 2;
    sy2 += y * x * x;
    sy1 += y * x;
  }
  const det = s22 * s11 - s12 * s12;
  if (!(Math.abs(det) > 0)) return undefined;
  const a = (sy2 * s11 - sy1 * s12) / det;
  const b = (s22 * sy1 - s12 * sy2) / det;
  return clampP([b - a, a, x1]);
}

/** Distinct load levels a fit needs by default: 3 parameters plus one residual degree of freedom (docs/ANALYSIS.md). */
export const USL_MIN_LEVELS = 4;

/** Least-squares USL fit; undefined with fewer than `minLevels` distinct levels. */
export function fitUsl(points: readonly UslPoint[], minLevels = USL_MIN_LEVELS): UslParams | undefined {
  const pts = points.filter((q) => Number.isFinite(q.users) && q.users > 0 && Number.isFinite(q.throughputRps) && q.throughputRps >= 0);
  if (new Set(pts.map((q) => q.users)).size < minLevels) return undefined;
  const lambda0 = Math.max(...pts.map((q) => q.throughputRps / q.users));
  const starts: UslParams[] = [
    { sigma: 0.1, kappa: 0.01, lambda: lambda0 },
    { sigma: 0.01, kappa: 1e-5, lambda: lambda0 },
  ];
  const quad = quadraticStart(pts);
  if (quad) starts.push(quad);
  let best: UslParams | undefined;
  let bestSse = Infinity;
  for (const s of starts) {
    const p = lm(pts, s);
    const e = sse(p, pts);
    if (e < bestSse) [best, bestSse] = [p, e];
  }
  return best;
}

export interface UslResult extends UslParams {
  /** 'contention' when σ > κ (serialisation, locks, pool queues), else 'coherency' (crosstalk). */
  constrainedBy: 'contention' | 'coherency';
  r2: number;
  /** ⌊N*⌋ and X(⌊N*⌋) — null when the peak is beyond the measured range (no made-up number). */
  peak: { users: number; throughputRps: number } | null;
  peakBeyondMeasuredRange: boolean;
  /** Human-readable statement about the peak. */
  note: string;
  ci95: {
    sigma: [number, number];
    kappa: [number, number];
    lambda: [number, number];
    peakUsers: [number, number];
  } | null;
  bootstrapResamples: number;
}

export interface UslOptions {
  /** Residual bootstrap resamples; 0 disables the CI. Default 500. */
  resamples?: number;
  seed?: number;
  /** Peak beyond range when N̂* > factor × max measured N. Default 1.5. */
  extrapolationFactor?: number;
  minLevels?: number;
}

/** Fit + bootstrap + extrapolation guard. Undefined below `minLevels` (default USL_MIN_LEVELS) levels. */
export function analyzeUsl(points: readonly UslPoint[], o: UslOptions = {}): UslResult | undefined {
  const fit = fitUsl(points, o.minLevels ?? USL_MIN_LEVELS);
  if (!fit) return undefined;
  const pts = points.filter((q) => Number.isFinite(q.users) && q.users > 0 && Number.isFinite(q.throughputRps));
  const maxN = Math.max(...pts.map((q) => q.users));
  const meanX = pts.reduce((a, q) => a + q.throughputRps, 0) / pts.length;
  const sst = pts.reduce((a, q) => a + (q.throughputRps - meanX) ** 2, 0);
  const r2 = sst > 0 ? 1 - sse(fit, pts) / sst : NaN;

  const resamples = o.resamples ?? 500;
  let ci95: UslResult['ci95'] = null;
  if (resamples > 0) {
    const rng: Rng = seededRng(o.seed ?? 1);
    const rel = pts.map((q) => q.throughputRps / uslThroughput(fit, q.users) - 1);
    const draws: UslParams[] = [];
    for (let b = 0; b < resamples; b++) {
      const boot = pts.map((q) => ({ users: q.users, throughputRps: uslThroughput(fit, q.users) * (1 + rel[Math.floor(rng() * rel.length)]!) }));
      draws.push(lm(boot, fit));
    }
    const ci = (f: (p: UslParams) => number): [number, number] => {
      const v = draws.map(f).map((x) => (Number.isFinite(x) ? x : Number.MAX_VALUE));
      return [quantile(v, 0.025), quantile(v, 0.975)];
    };
    ci95 = { sigma: ci((p) => p.sigma), kappa: ci((p) => p.kappa), lambda: ci((p) => p.lambda), peakUsers: ci(uslPeakUsers) };
  }
  const nStar = uslPeakUsers(fit);
  const factor = o.extrapolationFactor ?? 1.5;
  const kappaCiHasZero = ci95 !== null && ci95.kappa[0] <= 1e-12;
  const beyond = !Number.isFinite(nStar) || nStar > factor * maxN || kappaCiHasZero;
  const peakN = Math.floor(nStar);
  return {
    ...fit,
    constrainedBy: fit.sigma > fit.kappa ? 'contention' : 'coherency',
    r2,
    peak: beyond ? null : { users: peakN, throughputRps: uslThroughput(fit, peakN) },
    peakBeyondMeasuredRange: beyond,
    note: beyond
      ? `peak beyond measured range; N* ≥ ${maxN} users (extrapolated${kappaCiHasZero ? ', κ CI includes 0' : ''})`
      : `USL peak at ${peakN} users, ${uslThroughput(fit, peakN).toFixed(1)} rps`,
    ci95,
    bootstrapResamples: ci95 ? resamples : 0,
  };
}
