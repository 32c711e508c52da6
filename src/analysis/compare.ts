// Run-to-run comparison per endpoint: merged-histogram percentile deltas over the steady windows, goodput
// delta, and a Mann–Whitney U test on the per-second p95s (each second's own histogram) for significance.
import type { Analysis } from './analyze.ts';
import { ALL_ENDPOINTS, HistogramIndex } from './histograms.ts';
import { mannWhitney } from './stats.ts';
import type { RunRecord, WindowS } from './types.ts';
import { aggregate, loadSegments, steadyWindows } from './windows.ts';

export interface ComparedRun {
  record: RunRecord;
  analysis?: Analysis;
  /** Defaults to every steady window of the run. */
  windows?: readonly WindowS[];
}

export interface EndpointDelta {
  endpoint: string;
  base: { p50Ms: number; p95Ms: number; p99Ms: number; goodputRps: number } | null;
  run: { p50Ms: number; p95Ms: number; p99Ms: number; goodputRps: number } | null;
  /** (run − base) / base. */
  p95Change: number | null;
  p99Change: number | null;
  goodputChange: number | null;
  /** Mann–Whitney two-sided p on per-second p95s; null with < 5 seconds on either side. */
  p: number | null;
  change: 'regressed' | 'improved' | 'unchanged' | 'no-data';
}

export interface Comparison {
  endpoints: EndpointDelta[];
  verdictChange: { base: Analysis['verdict']; run: Analysis['verdict'] } | null;
  sloChanges: { name: string; base: string; run: string }[];
}

export interface CompareOptions {
  alpha?: number;
  /** Smallest relative p95 change worth reporting. Default 0.05. */
  minEffect?: number;
}

function side(r: ComparedRun, endpoint: string) {
  const series = [...r.record.series].sort((a, b) => a.elapsedS - b.elapsedS);
  const hist = new HistogramIndex(r.record.histograms);
  const ws = r.windows ?? steadyWindows(loadSegments(series));
  const lat = ws.length ? hist.stats(endpoint, ws) : null;
  const agg = ws.length ? aggregate(series, ws, endpoint === ALL_ENDPOINTS ? undefined : endpoint) : null;
  const perSecond: number[] = [];
  for (const w of ws)
    for (let s = w.fromS; s <= w.toS; s++) {
      const l = hist.stats(endpoint, { fromS: s, toS: s });
      if (l) perSecond.push(l.p95Ms);
    }
  return {
    stats: lat && agg ? { p50Ms: lat.p50Ms, p95Ms: lat.p95Ms, p99Ms: lat.p99Ms, goodputRps: agg.goodputRps } : null,
    perSecond,
    endpoints: hist.endpoints(),
  };
}

const rel = (a: number | undefined, b: number | undefined): number | null => (a !== undefined && b !== undefined && a > 0 ? (b - a) / a : null);

export function compareRuns(base: ComparedRun, run: ComparedRun, o: CompareOptions = {}): Comparison {
  const alpha = o.alpha ?? 0.01;
  const minEffect = o.minEffect ?? 0.05;
  const names = new Set<string>([ALL_ENDPOINTS]);
  for (const r of [base, run]) for (const l of r.record.histograms) for (const n of Object.keys(l.endpoints)) names.add(n);
  const endpoints = [...names].sort().map((endpoint): EndpointDelta => {
    const a = side(base, endpoint);
    const b = side(run, endpoint);
    const enough = a.perSecond.length >= 5 && b.perSecond.length >= 5;
    const p = enough ? mannWhitney(a.perSecond, b.perSecond).p : null;
    const p95Change = rel(a.stats?.p95Ms, b.stats?.p95Ms);
    let change: EndpointDelta['change'] = 'no-data';
    if (a.stats && b.stats && p !== null && p95Change !== null)
      change = p < alpha && Math.abs(p95Change) >= minEffect ? (p95Change > 0 ? 'regressed' : 'improved') : 'unchanged';
    return {
      endpoint,
      base: a.stats,
      run: b.stats,
      p95Change,
      p99Change: rel(a.stats?.p99Ms, b.stats?.p99Ms),
      goodputChange: rel(a.stats?.goodputRps, b.stats?.goodputRps),
      p,
      change,
    };
  });
  const sloChanges: Comparison['sloChanges'] = [];
  if (base.analysis && run.analysis) {
    for (const s of run.analysis.slo) {
      const before = base.analysis.slo.find((x) => x.name === s.name);
      if (before && before.status !== s.status) sloChanges.push({ name: s.name, base: before.status, run: s.status });
    }
  }
  return {
    endpoints,
    verdictChange:
      base.analysis && run.analysis && base.analysis.verdict !== run.analysis.verdict ? { base: base.analysis.verdict, run: run.analysis.verdict } : null,
    sloChanges,
  };
}
