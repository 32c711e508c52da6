// Stepped stress tests: per-step SLO predicates confirmed over two consecutive evaluation windows and by the next
// step, max sustainable throughput, Kneedle knee and USL fit, and the failure mode at the break.
// docs/ANALYSIS.md "Capacity / breaking point / failure mode".
import { DEFAULT_MAX_ERROR_RATIO } from './stop-rule.ts';
import { describeFailure, failureSignals, type FailureSignal } from './failure-mode.ts';
import { ALL_ENDPOINTS, type HistogramIndex } from './histograms.ts';
import { kneedle } from './kneedle.ts';
import { MIN_REQUESTS_FOR_PERCENTILE } from './slo.ts';
import { mean, sd } from './stats.ts';
import type { ErrorKind, RunEvent, SeriesPoint, WindowS } from './types.ts';
import { analyzeUsl, USL_MIN_LEVELS, type UslOptions, type UslResult } from './usl.ts';
import { aggregate, subWindows, type LoadSegment } from './windows.ts';

export interface StepRule {
  p95Ms?: number;
  /** Default DEFAULT_MAX_ERROR_RATIO (stop-rule.ts). */
  errorRatio?: number;
  /** Open model: achieved/offered below this fails. Default 0.95. */
  minAchievedRatio?: number;
  /** Evaluation window, s. Default 10; shorter (down to MIN_EVAL_WINDOW_S) when a steady part is under 2 windows. */
  windowS?: number;
  /** Consecutive failing windows that make a step fail. Default 2. */
  consecutiveWindows?: number;
  /** Windows with fewer requests are not judged on latency. Default 20. */
  minWindowRequests?: number;
}

export interface StepStats {
  phase: string;
  users: number;
  window: WindowS;
  throughputRps: number;
  goodputRps: number;
  errorRatio: number;
  p95Ms: number | null;
  p99Ms: number | null;
  meanLatencyMs: number | null;
  offeredRps: number | null;
  errorsByKind: Record<ErrorKind | 'unknown', number>;
  /** Longest run of consecutive failing evaluation windows. */
  failingWindowsInARow: number;
  violated: boolean;
  reasons: string[];
}

export interface FailureMode {
  latency: { p95Ms: number | null; limitMs: number | null; exceeded: boolean };
  errorsByKind: Record<ErrorKind | 'unknown', number>;
  errorRatio: number;
  retrograde: boolean;
  containerEvents: { tS: number; service: string; kind: string; oomKilled: boolean }[];
  /** What went first (failure-mode.ts), null when no signal was seen. */
  first: FailureSignal | null;
  /** Every signal seen from the last passing step on, in the order that names the first. */
  signals: FailureSignal[];
  /** People's line: the failure mode and its evidence. */
  summary: string;
}

export interface BreakingPoint {
  users: number;
  throughputRps: number;
  reason: string;
  phase: string;
  /** 'step-rule': a step's steady part violated the predicates (docs/ANALYSIS.md, Capacity); 'stop-rule': the run's stop-on-break rule fired. */
  detectedBy: 'step-rule' | 'stop-rule';
  /** Elapsed second the stop rule fired (stop-rule only). */
  atS?: number;
  /** Capacity ∈ [lastPassUsers, users): the step size is the resolution. */
  lastPassUsers: number | null;
  confirmedByNextStep: boolean;
  failureMode: FailureMode;
}

export interface CapacityResult {
  steps: StepStats[];
  maxThroughputRps: number | null;
  breakingPoint: BreakingPoint | null;
  knee: { users: number; throughputRps: number; label: 'efficiency knee' } | null;
  kneeNote: string;
  usl: UslResult | null;
  uslNote: string;
  /** Steps without a steady part, each with the seconds it needed. */
  stepNotes: string[];
}

export interface CapacityOptions {
  /** Epoch ms of elapsedS 0 (RunRecord.startMs): places the events on the series' axis. */
  startMs: number;
  /** The planned users of each phase that holds a level (manifest phaseLevels); else a step's level is its most active users. */
  phaseLevels?: Readonly<Record<string, number>>;
  rule: StepRule;
  model: 'closed' | 'open';
  /** Offered rate per step phase (open model), rps. */
  offeredRpsByPhase?: Readonly<Record<string, number>>;
  usl?: UslOptions;
  /** Distinct load levels Kneedle and the USL fit need. Default MIN_LEVELS (4: three parameters plus one residual). */
  minLevels?: number;
  /** For the failure mode's DB-pool signal. */
  appName?: string;
  poolMax?: number;
  /** Cores of the generator's host, for the failure mode's host-CPU signal. */
  hostCores?: number;
}

/** Load levels for a knee or a USL fit: the seed ladder has 5; 4 leave the 3-parameter USL one residual degree of freedom. */
export const MIN_LEVELS = USL_MIN_LEVELS;
/** Levels from which a USL fit is as well constrained as the method's reference fits (codahale/usl refuses fewer). */
export const WELL_CONSTRAINED_LEVELS = 6;
/** Shortest evaluation window, s: below it a window holds too few requests to judge a p95 at human loads. */
export const MIN_EVAL_WINDOW_S = 3;

/** Evaluation window for a steady part of `lengthS`: the rule's (10 s) if two fit, else half the part, ≥ MIN_EVAL_WINDOW_S. */
export const evalWindowS = (lengthS: number, rule: StepRule): number => {
  const want = rule.windowS ?? 10;
  const k = rule.consecutiveWindows ?? 2;
  return Math.max(MIN_EVAL_WINDOW_S, Math.min(want, Math.floor(lengthS / k)));
};

export function stepStats(
  series: readonly SeriesPoint[],
  hist: HistogramIndex,
  seg: LoadSegment & { steady: WindowS },
  o: CapacityOptions,
  prev?: StepStats,
  prevCv?: number,
): StepStats {
  const w = seg.steady;
  const agg = aggregate(series, w);
  const lat = hist.stats(ALL_ENDPOINTS, w);
  const maxErr = o.rule.errorRatio ?? DEFAULT_MAX_ERROR_RATIO;
  const reasons: string[] = [];
  let run = 0;
  let bestRun = 0;
  const badWhy = new Set<string>();
  for (const sub of subWindows(w, evalWindowS(w.toS - w.fromS + 1, o.rule))) {
    const a = aggregate(series, sub);
    const l = hist.stats(ALL_ENDPOINTS, sub);
    const slow = o.rule.p95Ms !== undefined && l !== null && l.count >= (o.rule.minWindowRequests ?? MIN_REQUESTS_FOR_PERCENTILE) && l.p95Ms > o.rule.p95Ms;
    const errs = a.count > 0 && a.errorRatio > maxErr;
    if (slow || errs) {
      run++;
      if (run >= (o.rule.consecutiveWindows ?? 2)) {
        if (slow) badWhy.add(`p95 > ${o.rule.p95Ms} ms`);
        if (errs) badWhy.add(`error ratio > ${(maxErr * 100).toFixed(1)} %`);
      }
    } else run = 0;
    bestRun = Math.max(bestRun, run);
  }
  reasons.push(...badWhy);
  const offered = o.offeredRpsByPhase?.[seg.phase] ?? null;
  if (o.model === 'open' && offered !== null && offered > 0 && agg.goodputRps / offered < (o.rule.minAchievedRatio ?? 0.95)) {
    reasons.push(`achieved ${agg.goodputRps.toFixed(1)} of ${offered} rps offered`);
  }
  if (o.model === 'closed' && prev && prevCv !== undefined && agg.goodputRps < prev.goodputRps * (1 - 2 * prevCv)) {
    reasons.push(`retrograde throughput ${agg.goodputRps.toFixed(1)} < ${prev.goodputRps.toFixed(1)} rps`);
  }
  return {
    phase: seg.phase,
    users: seg.users,
    window: w,
    throughputRps: agg.throughputRps,
    goodputRps: agg.goodputRps,
    errorRatio: agg.errorRatio,
    p95Ms: lat?.p95Ms ?? null,
    p99Ms: lat?.p99Ms ?? null,
    meanLatencyMs: lat?.meanMs ?? null,
    offeredRps: offered,
    errorsByKind: agg.errorsByKind,
    failingWindowsInARow: bestRun,
    violated: reasons.length > 0,
    reasons,
  };
}

function perSecondCv(series: readonly SeriesPoint[], w: WindowS): number {
  const xs = series.filter((p) => p.elapsedS >= w.fromS && p.elapsedS <= w.toS).map((p) => p.total.count);
  const m = mean(xs);
  return xs.length > 1 && m > 0 ? sd(xs) / m : 0;
}

/** Container death / OOM events, as the stack records them (`stack-container-died`) or unprefixed. */
export const containerEventKind = (kind: string): 'container-died' | 'container-oom' | null => {
  const k = kind.startsWith('stack-') ? kind.slice('stack-'.length) : kind;
  return k === 'container-died' || k === 'container-oom' ? k : null;
};

/** Failure mode of a breaking step; `w` runs from the last passing step's window to the end of the breaking one. */
export function failureMode(
  series: readonly SeriesPoint[],
  hist: HistogramIndex,
  step: StepStats,
  o: CapacityOptions,
  events: readonly RunEvent[],
  t0Ms: number,
  w: WindowS,
  lastPass?: StepStats | null,
): FailureMode {
  const rule = o.rule;
  const fromS = w.fromS;
  const signals = failureSignals(series, hist, events, w, {
    startMs: t0Ms,
    p95Ms: rule.p95Ms,
    errorRatio: rule.errorRatio ?? DEFAULT_MAX_ERROR_RATIO,
    appName: o.appName,
    poolMax: o.poolMax,
    hostCores: o.hostCores,
  });
  const containerEvents = events
    .filter((e) => containerEventKind(e.kind) !== null && (e.tMs - t0Ms) / 1000 >= fromS)
    .map((e) => ({
      tS: (e.tMs - t0Ms) / 1000,
      service: String(e.service ?? ''),
      kind: containerEventKind(e.kind)!,
      oomKilled: containerEventKind(e.kind) === 'container-oom' || e.oomKilled === true,
    }));
  return {
    latency: { p95Ms: step.p95Ms, limitMs: rule.p95Ms ?? null, exceeded: rule.p95Ms !== undefined && step.p95Ms !== null && step.p95Ms > rule.p95Ms },
    errorsByKind: step.errorsByKind,
    errorRatio: step.errorRatio,
    retrograde: step.reasons.some((r) => r.startsWith('retrograde')),
    containerEvents,
    first: signals[0] ?? null,
    signals,
    summary: describeFailure(signals[0] ?? null) + plateau(step, lastPass),
  };
}

/** Queueing named without a sampled resource: how goodput moved against users says whether a limit was hit. */
function plateau(step: StepStats, lastPass: StepStats | null | undefined): string {
  if (!lastPass || !Number.isFinite(step.goodputRps) || !Number.isFinite(lastPass.goodputRps)) return '';
  return `; goodput ${lastPass.goodputRps.toFixed(0)} → ${step.goodputRps.toFixed(0)} req/s while users went ${lastPass.users} → ${step.users}`;
}

/** The breaking point from the first `break` event of the stop-on-break rule; null without one. */
export function breakFromStopRule(
  series: readonly SeriesPoint[],
  hist: HistogramIndex,
  segments: readonly LoadSegment[],
  events: readonly RunEvent[],
  steps: readonly StepStats[],
  o: CapacityOptions,
  t0Ms: number,
): BreakingPoint | null {
  const ev = events.filter((e) => e.kind === 'break').sort((a, b) => a.tMs - b.tMs)[0];
  if (!ev || !series.length) return null;
  const atS = (ev.tMs - t0Ms) / 1000;
  const named = typeof ev.phase === 'string' ? segments.filter((s) => s.phase === ev.phase) : [];
  const seg =
    named.find((s) => atS >= s.startS - 1 && atS <= s.endS + 1) ??
    named[named.length - 1] ??
    segments.find((s) => atS >= s.startS && atS <= s.endS + 1) ??
    segments.filter((s) => s.startS <= atS).pop();
  if (!seg) return null;
  const pts = series.filter((p) => p.elapsedS >= seg.startS && p.elapsedS <= Math.min(seg.endS, atS + 1));
  const level = o.phaseLevels?.[seg.phase] ?? (pts.length ? Math.max(...pts.map((p) => p.activeUsers)) : seg.users);
  const reached = pts.find((p) => p.activeUsers >= level);
  // stopped while still ramping to the level: the users actually active at the stop are the breaking point
  const upToStop = pts.filter((p) => p.elapsedS <= atS + 0.5 && p.activeUsers > 0);
  const atStop = upToStop.length ? Math.max(...upToStop.map((p) => p.activeUsers)) : undefined;
  const users = reached || atStop === undefined ? level : atStop;
  // throughput over the last 10 s before the stop (within the phase); latency and errors over the 3 s the stop
  // rule fired on (3 consecutive seconds over a limit, so their merged p95 / error ratio is over it too)
  const toS = Math.min(seg.endS, Math.max(atS, seg.startS));
  const fromS = Math.max(seg.startS, toS - 9);
  const window: WindowS = { fromS, toS };
  const rate = aggregate(series, window);
  const ruleWindow: WindowS = { fromS: atS - 2.5, toS: atS + 0.5 };
  const agg = aggregate(series, ruleWindow);
  const lat = hist.stats(ALL_ENDPOINTS, ruleWindow);
  const reason = String(ev.reason ?? 'stop-on-break rule fired');
  const stat: StepStats = {
    phase: seg.phase,
    users,
    window,
    throughputRps: rate.throughputRps,
    goodputRps: rate.goodputRps,
    errorRatio: agg.count ? agg.errorRatio : 0,
    p95Ms: lat?.p95Ms ?? null,
    p99Ms: lat?.p99Ms ?? null,
    meanLatencyMs: lat?.meanMs ?? null,
    offeredRps: o.offeredRpsByPhase?.[seg.phase] ?? null,
    errorsByKind: agg.errorsByKind,
    failingWindowsInARow: 0,
    violated: true,
    reasons: [reason],
  };
  const before = steps.filter((s) => s.phase !== seg.phase && s.window.toS <= seg.startS);
  const lastPass = before[before.length - 1];
  const fm = failureMode(series, hist, stat, o, events, t0Ms, { fromS: lastPass?.window.fromS ?? seg.startS, toS: atS + 0.5 }, lastPass);
  const details = [
    lat ? `p95 ${lat.p95Ms.toFixed(0)} ms${o.rule.p95Ms !== undefined ? ` (limit ${o.rule.p95Ms} ms)` : ''}` : null,
    agg.count ? `error ratio ${(100 * stat.errorRatio).toFixed(1)} %` : null,
    ...fm.containerEvents.map((e) => `${e.service} ${e.oomKilled ? 'OOM-killed' : 'died'} at ${e.tS.toFixed(0)} s`),
  ].filter((x): x is string => x !== null);
  return {
    users,
    throughputRps: Number.isFinite(rate.goodputRps) ? rate.goodputRps : 0,
    reason: `run stopped on break: ${reason}${details.length ? ` (last 3 s: ${details.join(', ')}; goodput ${Number.isFinite(rate.goodputRps) ? rate.goodputRps.toFixed(1) : 'n/a'} rps over the last ${(toS - fromS + 1).toFixed(0)} s)` : ''}`,
    phase: seg.phase,
    detectedBy: 'stop-rule',
    atS,
    lastPassUsers: lastPass && !lastPass.violated ? lastPass.users : null,
    confirmedByNextStep: false,
    failureMode: fm,
  };
}

/** Capacity of a stepped run; `segments` are the load segments in time order (only 'step'/'rate' kinds are used). */
export function analyzeCapacity(
  series: readonly SeriesPoint[],
  hist: HistogramIndex,
  segments: readonly LoadSegment[],
  events: readonly RunEvent[],
  o: CapacityOptions,
): CapacityResult {
  const stepSegs = segments.filter((s): s is LoadSegment & { steady: WindowS } => (s.kind === 'step' || s.kind === 'rate') && s.steady !== null);
  const steps: StepStats[] = [];
  for (let i = 0; i < stepSegs.length; i++) {
    const prevSeg = stepSegs[i - 1];
    steps.push(stepStats(series, hist, stepSegs[i]!, o, steps[i - 1], prevSeg ? perSecondCv(series, prevSeg.steady) : undefined));
  }
  const t0Ms = o.startMs;
  let breakingPoint: BreakingPoint | null = null;
  let breakIdx = steps.length;
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i]!;
    const next = steps[i + 1];
    if (!s.violated || (next && !next.violated)) continue; // monotone confirmation by the next step
    breakIdx = i;
    const seg = stepSegs[i]!;
    const lastPass = i > 0 ? steps[i - 1]! : null;
    breakingPoint = {
      users: s.users,
      throughputRps: s.goodputRps,
      reason: s.reasons.join('; '),
      phase: s.phase,
      lastPassUsers: lastPass && !lastPass.violated ? lastPass.users : null,
      confirmedByNextStep: next !== undefined,
      detectedBy: 'step-rule',
      failureMode: failureMode(series, hist, s, o, events, t0Ms, { fromS: lastPass?.window.fromS ?? seg.startS, toS: s.window.toS }, lastPass),
    };
    break;
  }
  // The run stopped on its break rule before a step had a steady part to judge (or before the next step could
  // confirm): the stop itself is the breaking point. The step's level (or the users active at the stop), its goodput
  // over the last 10 s and the failure mode over the 3 s the rule fired on.
  if (!breakingPoint) {
    const fromStop = breakFromStopRule(series, hist, segments, events, steps, o, t0Ms);
    if (fromStop) {
      breakingPoint = fromStop;
      breakIdx = steps.findIndex((s) => s.phase === fromStop.phase);
      if (breakIdx < 0) breakIdx = steps.length;
    }
  }
  const sustained = steps.slice(0, breakIdx).filter((s) => !s.violated);
  const maxThroughputRps = sustained.length ? Math.max(...sustained.map((s) => s.goodputRps)) : null;

  const minLevels = o.minLevels ?? MIN_LEVELS;
  const levels = new Set(steps.map((s) => s.users)).size;
  const few =
    levels < WELL_CONSTRAINED_LEVELS ? ` from ${levels} levels (fewer than ${WELL_CONSTRAINED_LEVELS}: low confidence, one step is the resolution)` : '';
  let knee: CapacityResult['knee'] = null;
  let kneeNote = `needs ≥ ${minLevels} steps with a steady part (have ${levels})`;
  if (levels >= minLevels) {
    const xs = o.model === 'open' ? steps.map((s) => s.offeredRps ?? s.users) : steps.map((s) => s.users);
    const k = kneedle(
      xs,
      steps.map((s) => s.goodputRps),
    );
    kneeNote = (k ? 'onset of diminishing returns (not the capacity)' : 'no knee: throughput still scales linearly over the measured range') + few;
    if (k) knee = { users: steps[k.index]!.users, throughputRps: k.y, label: 'efficiency knee' };
  }
  let usl: UslResult | null = null;
  let uslNote = `needs ≥ ${minLevels} load levels with a steady part (have ${levels})`;
  if (o.model === 'open') uslNote = 'USL needs concurrency as the independent variable (closed model)';
  else if (levels >= minLevels) {
    usl =
      analyzeUsl(
        steps.map((s) => ({ users: s.users, throughputRps: s.goodputRps })),
        { ...o.usl, minLevels },
      ) ?? null;
    uslNote = usl ? usl.note : 'fit failed';
    // 3 parameters: n levels leave n − 3 residual degrees of freedom; the bootstrap resamples only those residuals
    if (usl && levels < WELL_CONSTRAINED_LEVELS)
      uslNote += `; fitted to ${levels} levels (${levels - 3} residual degree${levels - 3 === 1 ? '' : 's'} of freedom): the CIs are wide and may still understate the uncertainty`;
    if (usl && knee && steps.filter((s) => s.users > knee!.users).length < 2) {
      uslNote += '; fewer than 2 levels past the knee: the fit is weakly constrained';
    }
  }
  const stepNotes = segments.filter((s) => (s.kind === 'step' || s.kind === 'rate') && !s.steady && s.steadyNote).map((s) => `${s.phase}: ${s.steadyNote}`);
  return { steps, maxThroughputRps, breakingPoint, knee, kneeNote, usl, uslNote, stepNotes };
}
