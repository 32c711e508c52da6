// analyzeRun: the one entry point. Validity first (an invalid run gets no SUT verdict), then SLOs, capacity,
// leaks, recovery (spikes and ladders), bottlenecks and recommendations. Pure: record + options in, Analysis out.
import { isFresh } from './freshness.ts';
import { attributeBottlenecks, type Bottleneck } from './bottleneck.ts';
import { analyzeCapacity, containerEventKind, type BreakingPoint, type CapacityResult } from './capacity.ts';
import { ALL_ENDPOINTS, HistogramIndex } from './histograms.ts';
import { DEFAULT_MAX_ERROR_RATIO, STOP_RULE_SECONDS } from './stop-rule.ts';
import { checkFeasibility, type FeasibilityFinding, type FeasibilityInput } from './feasibility.ts';
import { detectLeak, type LeakKind, type LeakOptions, type LeakVerdict } from './leak.ts';
import { recommend, type Recommendation } from './recommend.ts';
import { findIncidents, tailIncidents, type Incident } from './incidents.ts';
import { analyzeRecoveries, type RecoveryOptions, type RecoveryResult } from './recovery.ts';
import { findTailEpisodes } from './tail-episodes.ts';
import { evaluateSlo, type SloResult, type SloSpec } from './slo.ts';
import type { RunRecord, WindowS } from './types.ts';
import type { UslOptions, UslResult } from './usl.ts';
import { checkValidity, type Validity } from './validity.ts';
import { aggregate, loadSegments, steadyWindows, type LoadSegment } from './windows.ts';

export type ShapeKind = 'ramp' | 'steps' | 'spike' | 'constant-rate';

export interface AnalyzeOptions {
  /** The scenario as configured (config/schema Scenario maps 1:1: shape.kind, thinkTime min/max mean, slo). */
  scenario: {
    name: string;
    shape: ShapeKind;
    /** Mean think time between a user's requests, ms. */
    thinkTimeMeanMs: number;
    /** Think time range (uniform), ms; sets the sampling noise allowed in the Little's-law check. */
    thinkTimeMinMs?: number;
    thinkTimeMaxMs?: number;
    slo?: SloSpec;
    /** Open model: offered rate per phase name (e.g. { 'constant-rate': 200 }). */
    offeredRpsByPhase?: Readonly<Record<string, number>>;
    /** Planned users per phase that holds a level (the manifest's phaseLevels), e.g. { 'step-3:40': 40 }. */
    phaseLevels?: Readonly<Record<string, number>>;
    /** What the shape can produce (feasibility.ts), judged against the SLOs; absent: not judged. */
    feasibility?: FeasibilityInput;
  };
  /** Cores available to the load generator (for the saturation check). */
  generatorCores: number;
  /** Run ended early / was killed. */
  incomplete: boolean;
  /** application_name of the SUT's DB pool. Default REFERENCE_APP_NAME (config/defaults.ts). */
  appName?: string;
  poolMax?: number;
  leak?: LeakOptions;
  recovery?: RecoveryOptions;
  usl?: UslOptions;
}

export interface LeakReport {
  service: string;
  verdict: LeakVerdict;
  kind: LeakKind;
  slopeBytesPerHour: number | null;
  /** Non-finite bounds (too few floors for the CI) are null, so the analysis stays JSON-safe. */
  ci95: [number | null, number | null] | null;
  timeToLimitHours: number | null;
  reason: string;
  /** Elapsed seconds the slope was fitted over (the steady window after the detector's warm-up cut); null without a fit. */
  fittedS?: WindowS | null;
  /** INCONCLUSIVE: steady time that would decide at the configured threshold (leak.ts steadyToDecide); null: none would. */
  steadyNeededS?: number | null;
}

export interface Analysis {
  scenario: string;
  verdict: 'pass' | 'fail' | 'invalid' | 'inconclusive';
  verdictReasons: string[];
  incomplete: boolean;
  validity: Validity;
  slo: SloResult[];
  capacity: {
    maxThroughputRps: number | null;
    breakingPoint: (Pick<BreakingPoint, 'users' | 'throughputRps' | 'reason'> & Partial<BreakingPoint>) | null;
    knee: CapacityResult['knee'];
    usl: UslResult | null;
    notes: string[];
  };
  leaks: LeakReport[];
  /** Recovery after each spike and after a ladder (its recovery phase), one measure for both (recovery.ts). */
  recovery: RecoveryReport[];
  bottlenecks: { resource: string; evidence: Bottleneck['evidence']; rank: number; role: Bottleneck['role'] }[];
  recommendations: Recommendation[];
  /** What failed in the system under test, in time order (OOM, crash, Postgres outage, 5xx/timeout windows). */
  incidents: Incident[];
  /** SLOs the scenario's shape cannot produce whatever the server does (the same check `run` makes before it starts). */
  feasibility: FeasibilityFinding[];
}

export type RecoveryReport = Pick<
  RecoveryResult,
  | 'kind'
  | 'startS'
  | 'endS'
  | 'observedS'
  | 'recoveryS'
  | 'holdS'
  | 'baselineP95Ms'
  | 'bandP95Ms'
  | 'peakP95Ms'
  | 'overshoot'
  | 'settledP95Ms'
  | 'verdict'
  | 'note'
>;

const recoveryReport = (r: RecoveryResult): RecoveryReport => ({
  kind: r.kind,
  startS: r.startS,
  endS: r.endS,
  observedS: r.observedS,
  recoveryS: r.recoveryS,
  holdS: r.holdS,
  baselineP95Ms: r.baselineP95Ms,
  bandP95Ms: r.bandP95Ms,
  peakP95Ms: r.peakP95Ms,
  overshoot: r.overshoot,
  ...(r.settledP95Ms != null ? { settledP95Ms: r.settledP95Ms } : {}),
  verdict: r.verdict,
  note: r.note,
});

const overloadName = (r: RecoveryResult): string => (r.kind === 'spike' ? `spike at ${r.startS} s` : 'ladder');

const fin = (x: number | null): number | null => (x !== null && Number.isFinite(x) ? x : null);

function leakReports(record: RunRecord, segs: readonly LoadSegment[], o: AnalyzeOptions): LeakReport[] {
  // constant-load steady segments only: memory under changing load is not a leak signal
  const constant = segs.filter((s) => s.steady && (s.kind === 'hold' || s.kind === 'rate' || (o.scenario.shape === 'spike' ? false : s.kind === 'other')));
  const w = constant.sort((a, b) => b.steady!.toS - b.steady!.fromS - (a.steady!.toS - a.steady!.fromS))[0]?.steady;
  const services = new Set<string>();
  for (const p of record.series) for (const s of Object.keys(p.containers ?? {})) services.add(s);
  const t0Ms = record.startMs;
  return [...services].sort().map((service) => {
    const pts = w ? record.series.filter((p) => p.elapsedS >= w.fromS && p.elapsedS <= w.toS && isFresh(p.containers?.[service])) : [];
    const cs = pts.map((p) => p.containers![service]!);
    const all = record.series.map((p) => p.containers?.[service]).filter((c) => c !== undefined);
    const oomDelta = all.length ? Math.max(0, all[all.length - 1]!.oomKills - all[0]!.oomKills) : 0;
    const oomEvents = record.events.filter(
      (e) =>
        e.service === service &&
        (containerEventKind(e.kind) === 'container-oom' || (containerEventKind(e.kind) === 'container-died' && e.oomKilled === true)) &&
        (e.tMs - t0Ms) / 1000 >= 0,
    ).length;
    const r = detectLeak(
      {
        tS: pts.map((p) => p.elapsedS),
        bytes: cs.map((c) => c.memoryWorkingSetBytes),
        anonBytes: cs.map((c) => c.memoryRssBytes ?? null),
        limitBytes: cs.find((c) => c.memoryLimitBytes)?.memoryLimitBytes ?? null,
      },
      { ...o.leak, oomEvents: Math.max(oomDelta, oomEvents) },
    );
    return {
      service,
      verdict: r.verdict,
      kind: r.kind,
      slopeBytesPerHour: r.slopeBytesPerHour,
      ci95: r.ci95 ? [fin(r.ci95[0]), fin(r.ci95[1])] : null,
      timeToLimitHours: r.timeToLimitHours,
      reason: w ? r.reason : 'no constant-load steady window',
      fittedS: w && r.warmupCutS !== null && pts.length ? { fromS: pts[0]!.elapsedS + r.warmupCutS, toS: pts[pts.length - 1]!.elapsedS } : null,
      ...(r.verdict === 'INCONCLUSIVE' && w ? { steadyNeededS: r.steadyNeededS ?? null } : {}),
    };
  });
}

function steadyMax(series: RunRecord['series'], segs: readonly LoadSegment[]): number | null {
  const xs = segs
    .filter((s) => s.steady)
    .map((s) => aggregate(series, s.steady!).goodputRps)
    .filter(Number.isFinite);
  return xs.length ? Math.max(...xs) : null;
}

/** Bottleneck attribution of a valid run; `record.series` sorted by time. */
function bottlenecksOf(record: RunRecord, hist: HistogramIndex, o: AnalyzeOptions): Bottleneck[] {
  // The stop rule fires after STOP_RULE_SECONDS consecutive seconds over the limit: those seconds are a breach.
  const stopEv = record.events.filter((e) => e.kind === 'break').sort((a, b) => a.tMs - b.tMs)[0];
  const stopAtS = stopEv ? (stopEv.tMs - record.startMs) / 1000 : undefined;
  return attributeBottlenecks(record.series, hist, {
    sloP95Ms: o.scenario.slo?.p95Ms,
    sloErrorRatio: o.scenario.slo?.errorRatio,
    appName: o.appName,
    poolMax: o.poolMax,
    hostCores: o.generatorCores,
    ...(stopAtS !== undefined ? { stopRuleBreach: { fromS: stopAtS - STOP_RULE_SECONDS, toS: stopAtS } } : {}),
  });
}

export function analyzeRun(record: RunRecord, o: AnalyzeOptions): Analysis {
  const series = [...record.series].filter((p) => Number.isFinite(p.elapsedS)).sort((a, b) => a.elapsedS - b.elapsedS);
  const rec: RunRecord = { ...record, series };
  const hist = new HistogramIndex(record.histograms);
  hist.decodeAll();
  // each second's own histogram p95 is the latency indicator of the MSER-5 warm-up cut (docs/ANALYSIS.md)
  const segs = loadSegments(series, { latencyMsAt: (s) => hist.stats(ALL_ENDPOINTS, { fromS: s, toS: s })?.p95Ms ?? null });
  const model = o.scenario.shape === 'constant-rate' ? 'open' : 'closed';
  const validity = checkValidity(series, hist, segs, {
    generatorCores: o.generatorCores,
    model,
    thinkTimeMeanMs: o.scenario.thinkTimeMeanMs,
    thinkTimeMinMs: o.scenario.thinkTimeMinMs,
    thinkTimeMaxMs: o.scenario.thinkTimeMaxMs,
  });
  const slo0 = o.scenario.slo;

  const cap = analyzeCapacity(series, hist, segs, record.events, {
    model,
    rule: { p95Ms: slo0?.p95Ms, errorRatio: slo0?.errorRatio ?? DEFAULT_MAX_ERROR_RATIO },
    startMs: record.startMs,
    offeredRpsByPhase: o.scenario.offeredRpsByPhase,
    ...(o.scenario.phaseLevels ? { phaseLevels: o.scenario.phaseLevels } : {}),
    usl: o.usl,
    ...(o.appName !== undefined ? { appName: o.appName } : {}),
    ...(o.poolMax !== undefined ? { poolMax: o.poolMax } : {}),
    hostCores: o.generatorCores,
  });
  const sloWindows = sloWindowsFor(o.scenario.shape, cap, segs);
  const slo = evaluateSlo(slo0, series, hist, sloWindows);
  const leaks = leakReports(rec, segs, o);
  const recovery = analyzeRecoveries(series, hist, segs, { hostCores: o.generatorCores, ...o.recovery });
  const t0Ms = record.startMs;
  const bns = validity.valid ? bottlenecksOf(rec, hist, o) : [];
  const mixAgg = Object.fromEntries(hist.endpoints().map((n) => [n, aggregate(series, sloWindows, n).count]));
  const mixTotal = Object.values(mixAgg).reduce((a, b) => a + b, 0);
  const recommendations = recommend({
    validity,
    bottlenecks: bns,
    leaks,
    recovery,
    capacity: o.scenario.shape === 'steps' || o.scenario.shape === 'constant-rate' ? cap : null,
    endpointMix: mixTotal ? Object.fromEntries(Object.entries(mixAgg).map(([n, c]) => [n, c / mixTotal])) : {},
    incomplete: o.incomplete,
  });

  const feasibility = o.scenario.feasibility ? checkFeasibility(o.scenario.feasibility) : [];
  const { verdict, reasons } = judge({ validity, slo, leaks, recovery, segs, feasibility, incomplete: o.incomplete });
  const bp = cap.breakingPoint;
  return {
    scenario: o.scenario.name,
    verdict,
    verdictReasons: reasons,
    incomplete: o.incomplete,
    validity,
    slo,
    capacity: {
      maxThroughputRps: cap.steps.length ? cap.maxThroughputRps : steadyMax(series, segs),
      breakingPoint: bp,
      knee: cap.knee,
      usl: cap.usl,
      notes: [`knee: ${cap.kneeNote}`, `usl: ${cap.uslNote}`, ...cap.stepNotes],
    },
    leaks,
    recovery: recovery.map(recoveryReport),
    bottlenecks: bns.map((b) => ({ resource: b.resource, evidence: b.evidence, rank: b.rank, role: b.role })),
    recommendations,
    incidents: [
      ...findIncidents(record.events, series, record.startMs),
      ...tailIncidents(findTailEpisodes(series, hist, steadyWindows(segs), { appName: o.appName, poolMax: o.poolMax }), t0Ms),
    ].sort((a, b) => a.tMs - b.tMs),
    feasibility,
  };
}

/** An SLO's observed value for people: "49.6 req/s", "612 ms", "2.35 %". */
function observedText(s: SloResult): string {
  if (s.observed === null) return 'no data';
  if (s.unit === 'ratio') return `${+(s.observed * 100).toFixed(2)} %`;
  const digits = Math.abs(s.observed) >= 100 ? 0 : 1;
  return `${+s.observed.toFixed(digits)} ${s.unit === 'ms' ? 'ms' : 'req/s'}`;
}

/** A failed throughput SLO that the shape could never meet says so: the fix is in the scenario, not the server. */
function infeasibleNote(sloName: string, findings: readonly FeasibilityFinding[]): string {
  const f = /goodputRps/.test(sloName) ? findings.find((x) => x.objective === 'minThroughputRps') : undefined;
  return f ? ` (infeasible by design: ${f.message})` : '';
}

/** The verdict and its reasons (docs/ANALYSIS.md "Verdict"): invalid before anything else; then any failed judge; then missing evidence. */
function judge(j: {
  validity: Analysis['validity'];
  slo: Analysis['slo'];
  leaks: Analysis['leaks'];
  recovery: ReturnType<typeof analyzeRecoveries>;
  segs: ReturnType<typeof loadSegments>;
  feasibility: ReturnType<typeof checkFeasibility>;
  incomplete: boolean;
}): { verdict: Analysis['verdict']; reasons: string[] } {
  const { validity, slo, leaks, recovery, segs, feasibility } = j;
  const reasons: string[] = [];
  if (!validity.valid) return { verdict: 'invalid', reasons: validity.problems.map((p) => p.message) };
  for (const s of slo) if (s.status === 'fail') reasons.push(`SLO ${s.name}: observed ${observedText(s)}${infeasibleNote(s.name, feasibility)}`);
  for (const l of leaks) if (l.verdict === 'FAIL') reasons.push(`leak ${l.service}: ${l.reason}`);
  for (const r of recovery) if (r.verdict === 'metastable' || r.verdict === 'not-recovered') reasons.push(`recovery after the ${overloadName(r)}: ${r.note}`);
  if (reasons.length) return { verdict: 'fail', reasons };
  if (j.incomplete) reasons.push('run ended early');
  // a no-data SLO names the segments too short for a steady part, with the seconds they needed
  const short = segs.filter((s) => s.steadyNote).map((s) => `${s.phase} ${s.steadyNote}`);
  for (const s of slo) if (s.status === 'no-data') reasons.push(`SLO ${s.name}: no data${short.length ? ` (${short.join('; ')})` : ''}`);
  for (const r of recovery) if (r.verdict === 'no-data') reasons.push(`recovery after the ${overloadName(r)}: ${r.note}`);
  // inconclusive only where base load was seen but too briefly; a run that ends with the overload observed nothing
  for (const r of recovery) if (r.verdict === 'inconclusive' && r.observedS > 0) reasons.push(`recovery after the ${overloadName(r)} inconclusive: ${r.note}`);
  return { verdict: reasons.length ? 'inconclusive' : 'pass', reasons };
}

/** SLO window: steps → the steps below the breaking point (the sustainable range); spikes → base phases; otherwise every steady window. */
function sloWindowsFor(shape: AnalyzeOptions['scenario']['shape'], cap: ReturnType<typeof analyzeCapacity>, segs: ReturnType<typeof loadSegments>): WindowS[] {
  if (shape === 'spike') return steadyWindows(segs, ['base']);
  if (shape !== 'steps') return steadyWindows(segs);
  const bi = cap.breakingPoint ? cap.steps.findIndex((s) => s.phase === cap.breakingPoint!.phase) : -1;
  const within = bi > 0 ? cap.steps.slice(0, bi) : bi === 0 ? cap.steps.slice(0, 1) : cap.steps;
  return within.map((s) => s.window);
}
