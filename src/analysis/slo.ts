// Scenario SLOs over the steady window: percentiles from merged histograms, error ratio, throughput.
// Missing data is reported as 'no-data', never as a pass (docs/ANALYSIS.md, SLOs).
import { ALL_ENDPOINTS, type HistogramIndex } from './histograms.ts';
import type { SeriesPoint, Status, WindowS } from './types.ts';
import { aggregate } from './windows.ts';

export interface SloLimits {
  p50Ms?: number;
  p95Ms?: number;
  p99Ms?: number;
  /** 0..1 */
  errorRatio?: number;
  minThroughputRps?: number;
}

export interface SloSpec extends SloLimits {
  /** Optional per-endpoint limits (endpoint name → limits). */
  endpoints?: Readonly<Record<string, SloLimits>>;
}

export interface SloResult {
  name: string;
  limit: number;
  observed: number | null;
  unit: 'ms' | 'ratio' | 'rps';
  status: Status;
}

/** Requests needed in the window before a percentile is judged. */
export const MIN_REQUESTS_FOR_PERCENTILE = 20;

function evaluate(
  label: string,
  limits: SloLimits,
  series: readonly SeriesPoint[],
  hist: HistogramIndex,
  windows: readonly WindowS[],
  endpoint?: string,
): SloResult[] {
  const out: SloResult[] = [];
  const agg = windows.length ? aggregate(series, windows, endpoint) : undefined;
  const lat = windows.length ? hist.stats(endpoint ?? ALL_ENDPOINTS, windows) : null;
  const enough = lat !== null && lat.count >= MIN_REQUESTS_FOR_PERCENTILE;
  const upper = (name: string, limit: number | undefined, observed: number | null | undefined, unit: SloResult['unit']): void => {
    if (limit === undefined || !Number.isFinite(limit)) return;
    const ok = observed !== null && observed !== undefined && Number.isFinite(observed);
    out.push({
      name: `${label}${name} <= ${limit}`,
      limit,
      observed: ok ? observed : null,
      unit,
      status: !ok ? 'no-data' : observed <= limit ? 'pass' : 'fail',
    });
  };
  upper('p50', limits.p50Ms, enough ? lat.p50Ms : null, 'ms');
  upper('p95', limits.p95Ms, enough ? lat.p95Ms : null, 'ms');
  upper('p99', limits.p99Ms, enough ? lat.p99Ms : null, 'ms');
  upper('errorRatio', limits.errorRatio, agg && agg.count > 0 ? agg.errorRatio : null, 'ratio');
  if (limits.minThroughputRps !== undefined && Number.isFinite(limits.minThroughputRps)) {
    const x = agg && agg.seconds > 0 ? agg.goodputRps : null;
    const ok = x !== null && Number.isFinite(x);
    out.push({
      name: `${label}goodputRps >= ${limits.minThroughputRps}`,
      limit: limits.minThroughputRps,
      observed: ok ? x : null,
      unit: 'rps',
      status: !ok ? 'no-data' : x >= limits.minThroughputRps ? 'pass' : 'fail',
    });
  }
  return out;
}

/**
 * Evaluates the SLOs over `windows` (the steady parts). Throughput is goodput (successful responses/s):
 * errors do not count as served load (docs/ANALYSIS.md, SLOs).
 */
export function evaluateSlo(spec: SloSpec | undefined, series: readonly SeriesPoint[], hist: HistogramIndex, windows: readonly WindowS[]): SloResult[] {
  if (!spec) return [];
  const out = evaluate('', spec, series, hist, windows);
  for (const [name, limits] of Object.entries(spec.endpoints ?? {})) out.push(...evaluate(`${name}.`, limits, series, hist, windows, name));
  return out;
}
