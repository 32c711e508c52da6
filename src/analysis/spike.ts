// Spike recovery (ANALYSIS-METHODS §3): baseline from the merged histogram before the spike, tolerance band
// U = b(1+X) + 3·MAD/√k, recovery = first time after the spike ends from which every rolling 10-s window for
// H seconds is within the band for p95 AND error ratio; overshoot; metastable flag when goodput or errors
// stay off baseline long after the load is back.
import { ALL_ENDPOINTS, type HistogramIndex } from './histograms.ts';
import { mad } from './stats.ts';
import type { SeriesPoint } from './types.ts';
import { aggregate, subWindows, type LoadSegment } from './windows.ts';

export type SpikeVerdict = 'recovered' | 'slow-recovery' | 'not-recovered' | 'metastable' | 'no-data';

export interface SpikeResult {
  startS: number;
  endS: number;
  /** Seconds from the end of the spike to recovery; null when it did not recover. */
  recoveryS: number | null;
  /** (peak p95 − baseline p95) / baseline p95; null without data. */
  overshoot: number | null;
  errorOvershootPp: number | null;
  baselineP95Ms: number | null;
  bandP95Ms: number | null;
  peakP95Ms: number | null;
  timeToPeakS: number | null;
  verdict: SpikeVerdict;
  note: string;
}

export interface SpikeOptions {
  /** Relative latency band X. Default 0.1. */
  band?: number;
  /** Absolute error-ratio band above baseline. Default 0.005. */
  errorBand?: number;
  holdS?: number;
  rollingS?: number;
  baselineS?: number;
  baselineGapS?: number;
  /** Recoveries up to this many seconds are "fast". Default 180 (Grafana buckets: fast < 30 s, slow < 3 min). */
  fastS?: number;
  /** Goodput below this share of baseline counts as a deficit. Default 0.9. */
  goodputDeficit?: number;
}

export function analyzeSpikes(series: readonly SeriesPoint[], hist: HistogramIndex, segments: readonly LoadSegment[], o: SpikeOptions = {}): SpikeResult[] {
  const out: SpikeResult[] = [];
  const rollingS = o.rollingS ?? 10;
  const holdS = o.holdS ?? 30;
  const lastS = series.length ? series[series.length - 1]!.elapsedS : 0;
  segments.forEach((seg, i) => {
    if (seg.kind !== 'spike') return;
    const startS = seg.startS;
    const endS = seg.endS + 1;
    const spikeLen = endS - startS;
    const nextSpike = segments.slice(i + 1).find((s) => s.kind === 'spike');
    const obsEnd = Math.min(nextSpike ? nextSpike.startS - 1 : lastS, lastS);
    const baseWin = { fromS: Math.max(0, startS - (o.baselineS ?? 300)), toS: startS - (o.baselineGapS ?? 30) };
    const empty: SpikeResult = { startS, endS, recoveryS: null, overshoot: null, errorOvershootPp: null, baselineP95Ms: null, bandP95Ms: null, peakP95Ms: null, timeToPeakS: null, verdict: 'no-data', note: '' };
    const base = baseWin.toS > baseWin.fromS ? hist.stats(ALL_ENDPOINTS, baseWin) : null;
    const baseAgg = aggregate(series, baseWin);
    if (!base || !(baseAgg.count > 0)) return out.push({ ...empty, note: 'no baseline before the spike' });
    const tenS = subWindows(baseWin, rollingS).map((w) => hist.stats(ALL_ENDPOINTS, w)?.p95Ms).filter((v): v is number => v !== undefined);
    const k = Math.max(1, tenS.length);
    const band = base.p95Ms * (1 + (o.band ?? 0.1)) + (tenS.length > 1 ? (3 * mad(tenS)) / Math.sqrt(k) : 0);
    const errBand = baseAgg.errorRatio + (o.errorBand ?? 0.005);
    const roll = (t: number): { p95: number | null; err: number } => {
      const w = { fromS: t - rollingS + 1, toS: t };
      const l = hist.stats(ALL_ENDPOINTS, w);
      const a = aggregate(series, w);
      return { p95: l?.p95Ms ?? null, err: a.count > 0 ? a.errorRatio : 0 };
    };
    let peak = -Infinity;
    let peakAt = startS;
    let peakErr = 0;
    const ok: boolean[] = [];
    for (let t = startS; t <= obsEnd; t++) {
      const r = roll(t);
      if (r.p95 !== null && r.p95 > peak) [peak, peakAt] = [r.p95, t];
      peakErr = Math.max(peakErr, r.err);
      if (t >= endS) ok.push((r.p95 === null || r.p95 <= band) && r.err <= errBand);
    }
    let recoveryS: number | null = null;
    for (let j = 0; j + holdS <= ok.length; j++) {
      if (ok.slice(j, j + holdS + 1).every(Boolean) && j + holdS < ok.length) {
        recoveryS = j;
        break;
      }
    }
    // metastable: after the load is back, goodput below baseline or errors above band for > max(3 × spike, 120 s)
    const sustainS = Math.max(3 * spikeLen, 120);
    let deficitRun = 0;
    let longest = 0;
    for (let t = endS + rollingS; t <= obsEnd; t++) {
      const a = aggregate(series, { fromS: t - rollingS + 1, toS: t });
      const bad = a.goodputRps < (o.goodputDeficit ?? 0.9) * baseAgg.goodputRps || a.errorRatio > errBand;
      deficitRun = bad ? deficitRun + 1 : 0;
      longest = Math.max(longest, deficitRun);
    }
    const observedS = obsEnd - endS + 1;
    const metastable = longest > sustainS;
    let verdict: SpikeVerdict;
    let note: string;
    if (metastable) [verdict, note] = ['metastable', `goodput/errors stayed off baseline for ${longest} s after the load dropped (> ${sustainS} s)`];
    else if (recoveryS === null) [verdict, note] = ['not-recovered', `not back within the band (p95 ≤ ${band.toFixed(1)} ms, errors ≤ ${(errBand * 100).toFixed(2)} %) in ${observedS} s observed${observedS < Math.max(300, 10 * spikeLen) ? ' (observation shorter than max(5 min, 10 × spike))' : ''}`];
    else if (recoveryS <= (o.fastS ?? 180)) [verdict, note] = ['recovered', `back within the band ${recoveryS} s after the spike`];
    else [verdict, note] = ['slow-recovery', `back within the band only after ${recoveryS} s`];
    out.push({
      startS,
      endS,
      recoveryS,
      overshoot: Number.isFinite(peak) ? Math.max(0, (peak - base.p95Ms) / base.p95Ms) : null,
      errorOvershootPp: Math.max(0, (peakErr - baseAgg.errorRatio) * 100),
      baselineP95Ms: base.p95Ms,
      bandP95Ms: band,
      peakP95Ms: Number.isFinite(peak) ? peak : null,
      timeToPeakS: Number.isFinite(peak) ? peakAt - startS : null,
      verdict,
      note,
    });
  });
  return out;
}
