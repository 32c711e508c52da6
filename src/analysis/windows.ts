// Load segments (one per contiguous phase) and their steady parts, plus per-window request aggregates.
// Steady part of a segment = after max(30 s, 20 % of the segment) and after active users reached the
// segment's level (ANALYSIS-METHODS §0.3). Ramp and end phases have no steady part.
import { ERROR_KINDS, errorsOf, type ErrorKind, type SeriesPoint, type WindowS } from './types.ts';

export type SegmentKind = 'ramp' | 'hold' | 'step' | 'base' | 'spike' | 'rate' | 'recovery' | 'end' | 'other';

export interface LoadSegment {
  phase: string;
  kind: SegmentKind;
  /** Level of the segment: the largest active-user count seen (closed model) or in-flight cap (open). */
  users: number;
  startS: number;
  endS: number;
  steady: WindowS | null;
}

export interface TransientOptions {
  minTransientS?: number;
  transientFraction?: number;
}

export function segmentKind(phase: string): SegmentKind {
  if (phase === 'hold') return 'hold';
  if (phase === 'base') return 'base';
  if (phase === 'end') return 'end';
  if (phase === 'recovery') return 'recovery';
  if (phase === 'constant-rate') return 'rate';
  if (phase.startsWith('ramp')) return 'ramp';
  if (/^step-\d+/.test(phase)) return 'step';
  if (/^spike-\d+/.test(phase)) return 'spike';
  return 'other';
}

export function loadSegments(series: readonly SeriesPoint[], o: TransientOptions = {}): LoadSegment[] {
  const minCut = o.minTransientS ?? 30;
  const frac = o.transientFraction ?? 0.2;
  const out: LoadSegment[] = [];
  let i = 0;
  while (i < series.length) {
    const phase = series[i]!.phase;
    let j = i;
    while (j + 1 < series.length && series[j + 1]!.phase === phase) j++;
    const pts = series.slice(i, j + 1);
    const startS = pts[0]!.elapsedS;
    const endS = pts[pts.length - 1]!.elapsedS;
    const users = Math.max(...pts.map((p) => (Number.isFinite(p.activeUsers) ? p.activeUsers : 0)));
    const kind = segmentKind(phase);
    let steady: WindowS | null = null;
    if (kind !== 'ramp' && kind !== 'end' && users > 0) {
      const lengthS = endS - startS + 1;
      const reached = pts.find((p) => p.activeUsers >= users)?.elapsedS ?? endS;
      const fromS = Math.max(startS + Math.max(minCut, frac * lengthS), reached);
      if (fromS <= endS) steady = { fromS, toS: endS };
    }
    out.push({ phase, kind, users, startS, endS, steady });
    i = j + 1;
  }
  return out;
}

export interface WindowAggregate {
  seconds: number;
  count: number;
  errors: number;
  errorsByKind: Record<ErrorKind | 'unknown', number>;
  throughputRps: number;
  goodputRps: number;
  errorRatio: number;
  meanUsers: number;
}

export const inWindow = (s: number, w: WindowS | readonly WindowS[]): boolean =>
  (Array.isArray(w) ? (w as readonly WindowS[]) : [w as WindowS]).some((x) => s >= x.fromS && s <= x.toS);

/** First index with elapsedS ≥ s in a series sorted by elapsedS. */
export function lowerBound(series: readonly { elapsedS: number }[], s: number): number {
  let lo = 0;
  let hi = series.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (series[mid]!.elapsedS < s) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Request totals (series must be sorted by elapsedS) for one endpoint (or all with undefined) over the points inside the window(s). */
export function aggregate(series: readonly SeriesPoint[], w: WindowS | readonly WindowS[], endpoint?: string): WindowAggregate {
  const byKind: Record<ErrorKind | 'unknown', number> = { '4xx': 0, '5xx': 0, timeout: 0, connection: 0, other: 0, unknown: 0 };
  let seconds = 0;
  let count = 0;
  let errors = 0;
  let users = 0;
  const ws = Array.isArray(w) ? (w as readonly WindowS[]) : [w as WindowS];
  const picked = new Set<number>();
  for (const win of ws) for (let i = lowerBound(series, win.fromS); i < series.length && series[i]!.elapsedS <= win.toS; i++) picked.add(i);
  for (const i of [...picked].sort((a, b) => a - b)) {
    const p = series[i]!;
    seconds++;
    users += p.activeUsers;
    const e = endpoint === undefined ? p.total : p.endpoints[endpoint];
    if (!e) continue;
    count += Number.isFinite(e.count) ? e.count : 0;
    errors += errorsOf(e);
    for (const [k, v] of Object.entries(e.errors)) {
      const key = (ERROR_KINDS as readonly string[]).includes(k) ? (k as ErrorKind) : 'unknown';
      byKind[key] += Number.isFinite(v) ? v : 0;
    }
  }
  return {
    seconds,
    count,
    errors,
    errorsByKind: byKind,
    throughputRps: seconds ? count / seconds : NaN,
    goodputRps: seconds ? (count - errors) / seconds : NaN,
    errorRatio: count ? errors / count : NaN,
    meanUsers: seconds ? users / seconds : NaN,
  };
}

/** Splits a window into consecutive sub-windows of `sizeS` seconds (the last partial one is dropped). */
export function subWindows(w: WindowS, sizeS: number): WindowS[] {
  const out: WindowS[] = [];
  for (let from = w.fromS; from + sizeS - 1 <= w.toS; from += sizeS) out.push({ fromS: from, toS: from + sizeS - 1 });
  return out;
}

export const steadyWindows = (segs: readonly LoadSegment[], kinds?: readonly SegmentKind[]): WindowS[] =>
  segs.filter((s) => s.steady && (!kinds || kinds.includes(s.kind))).map((s) => s.steady!);
