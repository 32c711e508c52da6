// Tail episodes (docs/ANALYSIS.md "Incidents"): seconds whose p99 (from that second's merged histograms) or
// error count jumps well above the steady baseline, merged into episodes, each explained by the signals recorded
// at that moment (tail-evidence.ts). Pure: series + histograms in, episodes out.
import { ALL_ENDPOINTS, type HistogramIndex } from './histograms.ts';
import { MAD_TO_SD, mad, median, normCdf, normInv } from './stats.ts';
import { episodeEvidence, type EvidenceLine } from './tail-evidence.ts';
import { errorsOf, type SeriesPoint, type WindowS } from './types.ts';

export interface TailEpisodeOptions {
  /** Family-wise false-alarm probability per run (Bonferroni over the baseline seconds). Default 0.05. */
  alpha?: number;
  /** Smallest p99 rise over the baseline median that counts, ms (so a 3 → 6 ms wobble is not an incident). Default 50. */
  minEffectMs?: number;
  /** Smallest error-ratio rise over the baseline that counts. Default 0.01. */
  minErrorRatio?: number;
  /** application_name of the app's DB pool and its configured size (pool evidence). */
  appName?: string;
  poolMax?: number;
}

export interface TailEpisode {
  kind: 'latency-tail' | 'error-burst';
  /** First and last flagged second (series elapsedS, inclusive). */
  fromS: number;
  toS: number;
  peakP99Ms: number | null;
  baselineP99Ms: number | null;
  /** Threshold the per-second p99 had to exceed. */
  thresholdP99Ms: number | null;
  errors: number;
  requests: number;
  baselineErrorRatio: number;
  /** Endpoint with the highest merged p99 over the episode. */
  worstEndpoint: { name: string; p99Ms: number } | null;
  /** Signals that cleared the bar, most likely cause first; empty: no correlated signal. */
  evidence: EvidenceLine[];
}

export const MIN_EFFECT_MS = 50;
export const MIN_ERROR_RATIO = 0.01;
/** MAD → σ for normal data. */
/** Seconds either side of an episode kept out of its baseline (the onset and the drain). */
const GUARD_S = 3;

/**
 * k for median + k·σ: the one-sided normal quantile at alpha / n, so that over n calm baseline seconds the chance
 * of any false episode is about alpha (Bonferroni). n = 300 gives k ≈ 3.6. Never below 3.
 */
export function thresholdK(nSeconds: number, alpha = 0.05): number {
  return Math.max(3, normInv(1 - alpha / Math.max(1, nSeconds)));
}

/** P(X ≥ x) for X ~ Poisson(λ). */
function poissonTail(x: number, lambda: number): number {
  if (x <= 0) return 1;
  // large means: normal approximation with continuity correction (exp(-λ) underflows past ~745)
  if (lambda > 50) return 1 - normCdf((x - 0.5 - lambda) / Math.sqrt(lambda));
  let term = Math.exp(-lambda);
  let cdf = term;
  for (let i = 1; i < x; i++) {
    term *= lambda / i;
    cdf += term;
  }
  return Math.max(0, 1 - cdf);
}

/** P(X ≥ x) for X ~ Binomial(n, p). */
export function binomialTail(x: number, n: number, p: number): number {
  if (x <= 0) return 1;
  if (x > n) return 0;
  const mu = n * p;
  if (mu > 50) return 1 - normCdf((x - 0.5 - mu) / Math.sqrt(mu * (1 - p)));
  let term = (1 - p) ** n;
  let cdf = term;
  for (let i = 1; i < x; i++) {
    term *= ((n - i + 1) / i) * (p / (1 - p));
    cdf += term;
  }
  return Math.max(0, 1 - cdf);
}

/** By definition 1 % of calm requests are slower than the baseline's merged p99. */
const P99_SHARE = 0.01;

const inWindows = (s: number, ws: readonly WindowS[]): boolean => ws.some((w) => s >= w.fromS && s <= w.toS);

/** Each steady window is judged against its own baseline (a step at 80 users is not a tail of the step at 10). */
export function findTailEpisodes(series: readonly SeriesPoint[], hist: HistogramIndex, steady: readonly WindowS[], o: TailEpisodeOptions = {}): TailEpisode[] {
  return steady.flatMap((w) => episodesIn(series, hist, w, o)).sort((a, b) => a.fromS - b.fromS);
}

function episodesIn(series: readonly SeriesPoint[], hist: HistogramIndex, steady: WindowS, o: TailEpisodeOptions): TailEpisode[] {
  const pts = series.filter((p) => inWindows(p.elapsedS, [steady]));
  if (pts.length < 10) return [];
  const p99 = pts.map((p) => (p.total.count > 0 ? (hist.stats(ALL_ENDPOINTS, { fromS: p.elapsedS, toS: p.elapsedS })?.p99Ms ?? NaN) : NaN));
  const errs = pts.map((p) => errorsOf(p.total));
  const alpha = o.alpha ?? 0.05;
  const flag = (base: number[]): { lat: boolean[]; err: boolean[]; m: number; thr: number; errRate: number } => {
    const vals = base.map((i) => p99[i]!).filter(Number.isFinite);
    const m = median(vals);
    const k = thresholdK(vals.length, alpha);
    const thr = Math.max(m + k * MAD_TO_SD * mad(vals), m + (o.minEffectMs ?? MIN_EFFECT_MS), 2 * m);
    // errors per second are counts: Poisson tail at the same per-second alpha, with half an error of prior
    let nErr = 0;
    let nReq = 0;
    for (const i of base) {
      nErr += errs[i]!;
      nReq += pts[i]!.total.count;
    }
    const errRate = nReq > 0 ? nErr / nReq : 0;
    const lambdaPerReq = (nErr + 0.5) / Math.max(1, nReq);
    // A per-second p99 of ~40 requests is nearly their max: one slow request moves it. The second must also hold
    // more requests slower than the baseline's merged p99 than chance allows (binomial tail at the per-second alpha).
    const t =
      hist.stats(
        ALL_ENDPOINTS,
        base.map((i) => ({ fromS: pts[i]!.elapsedS, toS: pts[i]!.elapsedS })),
      )?.p99Ms ?? NaN;
    const lat = p99.map((v, i) => {
      if (!(Number.isFinite(v) && v > thr && Number.isFinite(t))) return false;
      const s = pts[i]!.elapsedS;
      return binomialTail(hist.countAbove(ALL_ENDPOINTS, { fromS: s, toS: s }, t), pts[i]!.total.count, P99_SHARE) < alpha / base.length;
    });
    const err = pts.map((p, i) => {
      const e = errs[i]!;
      return (
        e > 0 &&
        e / Math.max(1, p.total.count) >= errRate + (o.minErrorRatio ?? MIN_ERROR_RATIO) &&
        poissonTail(e, lambdaPerReq * p.total.count) < alpha / base.length
      );
    });
    return { lat, err, m, thr, errRate };
  };
  // two passes: the first baseline holds every second; the second leaves out the flagged ones and their guard
  let f = flag(pts.map((_, i) => i));
  const guarded = (fl: typeof f): number[] =>
    pts
      .map((_, i) => i)
      .filter((i) => {
        for (let j = Math.max(0, i - GUARD_S); j <= Math.min(pts.length - 1, i + GUARD_S); j++) if (fl.lat[j] || fl.err[j]) return false;
        return true;
      });
  const base1 = guarded(f);
  if (base1.length >= 10) f = flag(base1);
  const base = guarded(f);
  const baselineS = base.map((i) => pts[i]!.elapsedS);

  const out: TailEpisode[] = [];
  let open: { from: number; to: number } | undefined;
  const close = (): void => {
    if (!open) return;
    out.push(describe(pts, open.from, open.to, f, hist, series, baselineS, o));
    open = undefined;
  };
  for (let i = 0; i < pts.length; i++) {
    const hit = f.lat[i] || f.err[i];
    // a second with nothing completed (everything hanging) or one calm second between two hits continues an episode
    const quiet = pts[i]!.total.count === 0;
    if (hit) {
      if (open && pts[i]!.elapsedS - pts[open.to]!.elapsedS <= 2) open.to = i;
      else {
        close();
        open = { from: i, to: i };
      }
    } else if (open && !quiet && pts[i]!.elapsedS - pts[open.to]!.elapsedS > 2) close();
  }
  close();
  return out;
}

function describe(
  pts: readonly SeriesPoint[],
  from: number,
  to: number,
  f: { lat: boolean[]; m: number; thr: number; errRate: number },
  hist: HistogramIndex,
  series: readonly SeriesPoint[],
  baselineS: readonly number[],
  o: TailEpisodeOptions,
): TailEpisode {
  const w = { fromS: pts[from]!.elapsedS, toS: pts[to]!.elapsedS };
  let peak: number | null = null;
  let errors = 0;
  let requests = 0;
  let latency = false;
  for (let i = from; i <= to; i++) {
    const s = hist.stats(ALL_ENDPOINTS, { fromS: pts[i]!.elapsedS, toS: pts[i]!.elapsedS });
    if (s) peak = Math.max(peak ?? 0, s.p99Ms);
    errors += errorsOf(pts[i]!.total);
    requests += pts[i]!.total.count;
    latency ||= f.lat[i]!;
  }
  let worst: TailEpisode['worstEndpoint'] = null;
  for (const name of hist.endpoints()) {
    const s = hist.stats(name, w);
    if (s && (!worst || s.p99Ms > worst.p99Ms)) worst = { name, p99Ms: s.p99Ms };
  }
  return {
    kind: latency ? 'latency-tail' : 'error-burst',
    fromS: w.fromS,
    toS: w.toS,
    peakP99Ms: peak,
    baselineP99Ms: Number.isFinite(f.m) ? f.m : null,
    thresholdP99Ms: Number.isFinite(f.thr) ? f.thr : null,
    errors,
    requests,
    baselineErrorRatio: f.errRate,
    worstEndpoint: worst,
    evidence: episodeEvidence(series, w, baselineS, { appName: o.appName, poolMax: o.poolMax }),
  };
}
