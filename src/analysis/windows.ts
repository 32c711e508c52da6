// Load segments (one per contiguous phase) and their steady parts, plus per-window request aggregates.
// Steady part of a segment: from the MSER-5 truncation point of per-second throughput and latency (the later of
// the two), never before the segment's users are reached, at most half the segment in; the stop second and the
// drain (0 active users) are never inside it. Ramp and end phases have no steady part. docs/ANALYSIS.md "Steady state".
import { MSER_BATCH, mserTruncation } from './mser.ts';
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
  /** Seconds from the segment's start to its steady part (ramp-to-level + MSER-5 warm-up); null without one. */
  transientS?: number | null;
  /** Why a load segment has no steady part (too short: with the seconds it needed). */
  steadyNote?: string;
}

export interface SteadyOptions {
  /** Per-second latency indicator (ms) for the MSER-5 cut, e.g. each second's own histogram p95; null = no requests. */
  latencyMsAt?: (elapsedS: number) => number | null;
}

/** Seconds at the segment's level a steady part needs: two MSER batches (one may be cut as warm-up). */
export const MIN_LEVEL_S = 2 * MSER_BATCH;

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

/** Steady window of one segment's points (see the file comment), or a note saying why there is none. */
export function steadyPart(
  pts: readonly SeriesPoint[],
  users: number,
  o: SteadyOptions = {},
): { steady: WindowS | null; transientS: number | null; note?: string } {
  const startS = pts[0]!.elapsedS;
  const endS = pts[pts.length - 1]!.elapsedS;
  const reachedIdx = pts.findIndex((p) => p.activeUsers >= users);
  let lastIdx = pts.length - 1;
  while (lastIdx >= 0 && !(pts[lastIdx]!.activeUsers > 0)) lastIdx--; // stop second and drain
  const level = reachedIdx >= 0 && lastIdx >= reachedIdx ? pts.slice(reachedIdx, lastIdx + 1) : [];
  if (level.length < MIN_LEVEL_S) {
    return { steady: null, transientS: null, note: `needs ≥ ${MIN_LEVEL_S} s at ${users} users for a steady part (had ${level.length} s)` };
  }
  const cuts = [mserTruncation(level.map((p) => (Number.isFinite(p.total.count) ? p.total.count : null)))];
  if (o.latencyMsAt) cuts.push(mserTruncation(level.map((p) => o.latencyMsAt!(p.elapsedS))));
  const cut = Math.max(0, ...cuts.filter((c): c is number => c !== undefined));
  const reachedS = level[0]!.elapsedS;
  const capS = Math.max(reachedS, startS + Math.floor((endS - startS + 1) / 2));
  const fromS = Math.min(level[Math.min(cut, level.length - 1)]!.elapsedS, capS);
  const from = level.find((p) => p.elapsedS >= fromS)!;
  return { steady: { fromS: from.elapsedS, toS: level[level.length - 1]!.elapsedS }, transientS: from.elapsedS - startS };
}

export function loadSegments(series: readonly SeriesPoint[], o: SteadyOptions = {}): LoadSegment[] {
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
    const seg: LoadSegment = { phase, kind, users, startS, endS, steady: null, transientS: null };
    if (kind !== 'ramp' && kind !== 'end' && users > 0) {
      const sp = steadyPart(pts, users, o);
      seg.steady = sp.steady;
      seg.transientS = sp.transientS;
      if (sp.note) seg.steadyNote = sp.note;
    }
    out.push(seg);
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

/** First index with elapsedS > s in a series sorted by elapsedS. */
export function upperBound(series: readonly { elapsedS: number }[], s: number): number {
  let lo = 0;
  let hi = series.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (series[mid]!.elapsedS <= s) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Indices of the points inside the window(s), ascending, each once (one window: a range, no set or sort). */
function pointsIn(series: readonly SeriesPoint[], ws: readonly WindowS[]): number[] {
  if (ws.length === 1) {
    const out: number[] = [];
    for (let i = lowerBound(series, ws[0]!.fromS); i < series.length && series[i]!.elapsedS <= ws[0]!.toS; i++) out.push(i);
    return out;
  }
  const picked = new Set<number>();
  for (const win of ws) for (let i = lowerBound(series, win.fromS); i < series.length && series[i]!.elapsedS <= win.toS; i++) picked.add(i);
  return [...picked].sort((a, b) => a - b);
}

const KNOWN_KINDS: ReadonlySet<string> = new Set(ERROR_KINDS);

/** Request totals (series must be sorted by elapsedS) for one endpoint (or all with undefined) over the points inside the window(s). */
export function aggregate(series: readonly SeriesPoint[], w: WindowS | readonly WindowS[], endpoint?: string): WindowAggregate {
  const byKind: Record<ErrorKind | 'unknown', number> = { '4xx': 0, '5xx': 0, timeout: 0, connection: 0, other: 0, unknown: 0 };
  let seconds = 0;
  let count = 0;
  let errors = 0;
  let users = 0;
  const ws = Array.isArray(w) ? (w as readonly WindowS[]) : [w as WindowS];
  for (const i of pointsIn(series, ws)) {
    const p = series[i]!;
    seconds++;
    users += p.activeUsers;
    const e = endpoint === undefined ? p.total : p.endpoints[endpoint];
    if (!e) continue;
    count += Number.isFinite(e.count) ? e.count : 0;
    errors += errorsOf(e);
    for (const k in e.errors) {
      const v = e.errors[k]!;
      byKind[KNOWN_KINDS.has(k) ? (k as ErrorKind) : 'unknown'] += Number.isFinite(v) ? v : 0;
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

/** Per-second request totals of the series, as `aggregate` counts them (a non-finite count is 0). */
const secondCount = (p: SeriesPoint): number => (Number.isFinite(p.total.count) ? p.total.count : 0);

/**
 * `aggregate(series, w)` (all endpoints) for each window in turn, as seconds, count and errors only: from prefix
 * sums, O(log n) a window instead of O(window seconds × error kinds). Integer sums are exact in any order; a series with a non-integer
 * or too large a value falls back to `aggregate` (the same numbers either way).
 */
export function rollingTotals(series: readonly SeriesPoint[], windows: readonly WindowS[]): { seconds: number; count: number; errors: number }[] {
  const count = new Float64Array(series.length + 1);
  const errors = new Float64Array(series.length + 1);
  let exact = true;
  series.forEach((p, i) => {
    const c = secondCount(p);
    const e = errorsOf(p.total);
    if (!Number.isInteger(c) || !Number.isInteger(e)) exact = false;
    count[i + 1] = count[i]! + c;
    errors[i + 1] = errors[i]! + e;
  });
  if (!exact || count[series.length]! > Number.MAX_SAFE_INTEGER || errors[series.length]! > Number.MAX_SAFE_INTEGER) {
    return windows.map((w) => aggregate(series, w));
  }
  return windows.map((w) => {
    const a = lowerBound(series, w.fromS);
    const b = Math.max(a, upperBound(series, w.toS));
    return { seconds: b - a, count: count[b]! - count[a]!, errors: errors[b]! - errors[a]! };
  });
}

/** Splits a window into consecutive sub-windows of `sizeS` seconds (the last partial one is dropped). */
export function subWindows(w: WindowS, sizeS: number): WindowS[] {
  const out: WindowS[] = [];
  for (let from = w.fromS; from + sizeS - 1 <= w.toS; from += sizeS) out.push({ fromS: from, toS: from + sizeS - 1 });
  return out;
}

export const steadyWindows = (segs: readonly LoadSegment[], kinds?: readonly SegmentKind[]): WindowS[] =>
  segs.filter((s) => s.steady && (!kinds || kinds.includes(s.kind))).map((s) => s.steady!);
