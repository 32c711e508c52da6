// Recovery after an overload, one measure for spikes and ladders (docs/ANALYSIS.md "Recovery"): the time from the
// end of the overload (a spike's end; a ladder's end or break = start of its recovery phase) until rolling p95 AND
// error ratio are back inside the band of the steady base and stay there for a hold. The band is median + 3·σ̂
// (σ̂ = 1.4826·MAD) of the rolling-window p95s over the steady part of the base only, never narrower than
// median·(1 + X) or median + 10 ms. Judged on what was observed: too short a window is inconclusive, never "not recovered".
import { ALL_ENDPOINTS, type HistogramIndex } from './histograms.ts';
import { contentionJudge } from './host-contention.ts';
import { MAD_TO_SD, mad, median, shareDiffLower } from './stats.ts';
import type { SeriesPoint, WindowS } from './types.ts';
import { aggregate, type LoadSegment } from './windows.ts';

export type RecoveryVerdict = 'recovered' | 'shifted' | 'slow-recovery' | 'not-recovered' | 'metastable' | 'inconclusive' | 'no-data';

export interface RecoveryOptions {
  /** Relative latency floor of the band X: never narrower than median·(1 + X). Default 0.1. */
  band?: number;
  /** Absolute latency floor of the band: never narrower than median + this. Default 10 ms. */
  minBandMs?: number;
  /** Width of the band in robust standard deviations (1.4826·MAD). Default 3. */
  madK?: number;
  /** Absolute error-ratio band above the base's. Default 0.005. */
  errorBand?: number;
  /** Hold the band must be kept, at most. Default 30 s. */
  holdS?: number;
  /** The hold is cut to this share of the seconds observed after the overload (so it fits the shape). Default 1/3. */
  holdFraction?: number;
  /** Shortest hold. Default 3 s. */
  minHoldS?: number;
  /** Requests a rolling window should hold (the window widens up to maxRollingS to reach it). Default 200. */
  minWindowCount?: number;
  minRollingS?: number;
  maxRollingS?: number;
  /** "Not recovered" needs at least this many seconds of base load observed after the overload. Default 60. */
  judgeAfterS?: number;
  /** Recoveries up to this many seconds are "recovered", longer ones "slow-recovery". Default 180. */
  fastS?: number;
  /** Goodput below this share of the base's counts as a deficit (metastable check). Default 0.9. */
  goodputDeficit?: number;
  /**
   * A system that settles after the overload, but at a level above the base's band, is 'shifted' (its data or state
   * changed, e.g. a table grew during the ladder) when that level is at most this much above the base median;
   * further up it is 'not-recovered'. Default 0.5.
   */
  maxShift?: number;
  /**
   * Cores of the host the stack and the generator ran on: when given, windows that left the band while work outside
   * the SUT and the generator contended for the host (host-contention.ts) are told apart (docs/ANALYSIS.md, Recovery).
   */
  hostCores?: number;
}

export interface RecoveryResult {
  kind: 'spike' | 'ladder';
  /** First second of the overload. */
  startS: number;
  /** First second after the overload (recovery is counted from here). */
  endS: number;
  /** Seconds of base load observed after the overload. */
  observedS: number;
  /** Seconds from endS until the band was regained (and then held); null when not regained. */
  recoveryS: number | null;
  holdS: number;
  rollingS: number;
  baseWindow: WindowS | null;
  baselineP95Ms: number | null;
  bandP95Ms: number | null;
  baselineErrorRatio: number | null;
  bandErrorRatio: number | null;
  peakP95Ms: number | null;
  timeToPeakS: number | null;
  /** (peak p95 − baseline p95) / baseline p95. */
  overshoot: number | null;
  /** 'shifted': the level the system settled at (median rolling p95 over the second half of the observation). */
  settledP95Ms?: number | null;
  errorOvershootPp: number | null;
  verdict: RecoveryVerdict;
  note: string;
}

interface Episode {
  kind: 'spike' | 'ladder';
  startS: number;
  endS: number;
  obsEndS: number;
  base: WindowS | null;
}

/** Spikes: base = steady part of the base before the first spike; observed = the base seconds right after it.
 * Ladders: base = steady part of the first step; overload = the later steps; observed = the recovery phase. */
export function recoveryEpisodes(segments: readonly LoadSegment[]): Episode[] {
  const out: Episode[] = [];
  const firstSpike = segments.findIndex((s) => s.kind === 'spike');
  const spikeBase = firstSpike > 0 ? (segments.slice(0, firstSpike).find((s) => s.kind === 'base' && s.steady)?.steady ?? null) : null;
  segments.forEach((seg, i) => {
    if (seg.kind !== 'spike') return;
    let j = i + 1;
    while (j < segments.length && segments[j]!.kind === 'base') j++;
    // the overload ends where the next segment starts (the recorder's seconds may sit off the whole second)
    out.push({
      kind: 'spike',
      startS: seg.startS,
      endS: segments[i + 1]?.startS ?? seg.endS + 1,
      obsEndS: j > i + 1 ? segments[j - 1]!.endS : seg.endS,
      base: spikeBase,
    });
  });
  const rec = segments.find((s) => s.kind === 'recovery');
  const first = segments.find((s) => s.kind === 'step');
  if (rec && first) out.push({ kind: 'ladder', startS: Math.min(first.endS + 1, rec.startS), endS: rec.startS, obsEndS: rec.endS, base: first.steady });
  return out;
}

export function analyzeRecoveries(
  series: readonly SeriesPoint[],
  hist: HistogramIndex,
  segments: readonly LoadSegment[],
  o: RecoveryOptions = {},
): RecoveryResult[] {
  return recoveryEpisodes(segments).map((e) => judgeEpisode(series, hist, e, o));
}

/** Seconds, rounded for people: 12 s, 4.5 s, 2 min 5 s. */
export function secondsText(s: number): string {
  if (!Number.isFinite(s)) return '—';
  if (Math.abs(s) >= 120) {
    const r = Math.round(s);
    return r % 60 ? `${Math.floor(r / 60)} min ${r % 60} s` : `${r / 60} min`;
  }
  return `${Math.abs(s) >= 10 || Number.isInteger(s) ? Math.round(s) : Math.round(s * 10) / 10} s`;
}

const msText = (ms: number): string => `${ms >= 100 ? Math.round(ms) : Math.round(ms * 10) / 10} ms`;
const pctText = (r: number): string => `${Math.round(r * 1000) / 10} %`;

/** The `sizeS` seconds from t; ±0.5 s because the recorder's seconds may sit a little off the whole second (90.1, 91.3). */
const rollWindow = (t: number, sizeS: number): WindowS => ({ fromS: t - 0.5, toS: t + sizeS - 0.501 });

interface Roll {
  p95: number | null;
  count: number;
  errors: number;
}

/** The result before anything is measured: verdict 'no-data', every measure null. */
function emptyResult(e: Episode, observedS: number): RecoveryResult {
  return {
    kind: e.kind,
    startS: e.startS,
    endS: e.endS,
    observedS,
    recoveryS: null,
    holdS: 0,
    rollingS: 0,
    baseWindow: e.base,
    baselineP95Ms: null,
    bandP95Ms: null,
    baselineErrorRatio: null,
    bandErrorRatio: null,
    peakP95Ms: null,
    timeToPeakS: null,
    overshoot: null,
    errorOvershootPp: null,
    verdict: 'no-data',
    note: '',
  };
}

/** Highest rolling p95 (first window at that level) and highest error ratio over the overload and what follows. */
function peakOf(e: Episode, roll: (t: number) => Roll, rollingS: number): { peak: number; peakAt: number; peakErr: number } {
  let peak = -Infinity;
  let peakAt = e.startS;
  let peakErr = 0;
  for (let t = e.startS; t + rollingS - 1 <= e.obsEndS; t++) {
    const r = roll(t);
    if (r.p95 !== null && r.p95 > peak) [peak, peakAt] = [r.p95, t];
    if (r.count > 0) peakErr = Math.max(peakErr, r.errors / r.count);
  }
  return { peak, peakAt, peakErr };
}

/** One episode judged against the band of its steady base (docs/ANALYSIS.md "Recovery"). */
function judgeEpisode(series: readonly SeriesPoint[], hist: HistogramIndex, e: Episode, o: RecoveryOptions): RecoveryResult {
  const observedS = Math.max(0, Math.round(e.obsEndS - e.endS) + 1);
  const empty = emptyResult(e, observedS);
  const baseName = e.kind === 'spike' ? 'the base before the first spike' : 'the first step';
  if (!e.base) return { ...empty, note: `${baseName} has no steady part to draw the band from` };
  const baseAgg = aggregate(series, e.base);
  if (!(baseAgg.count > 0)) return { ...empty, note: `no requests in the steady part of ${baseName}` };
  const rollingS = Math.min(o.maxRollingS ?? 10, Math.max(o.minRollingS ?? 3, Math.ceil((o.minWindowCount ?? 200) / baseAgg.throughputRps)));
  const roll = (t: number): Roll => {
    const w = rollWindow(t, rollingS);
    const a = aggregate(series, w);
    return { p95: hist.stats(ALL_ENDPOINTS, w)?.p95Ms ?? null, count: a.count, errors: a.errors };
  };
  // band: rolling windows (step 1 s) that lie wholly inside the steady base
  const baseRolls: Roll[] = [];
  for (let t = e.base.fromS; t + rollingS - 1 <= e.base.toS; t++) baseRolls.push(roll(t));
  const baseP95s = baseRolls.map((r) => r.p95).filter((p): p is number => p !== null);
  if (baseP95s.length < 5)
    return { ...empty, rollingS, note: `steady part of ${baseName} too short for a band (${baseP95s.length} windows of ${rollingS} s, needs 5)` };
  const m = median(baseP95s);
  // floors: 10 % and 10 ms — a few milliseconds over a very quiet base is scheduling jitter, not a degradation
  const bandP95 = bandAround(m, baseP95s, { band: o.band ?? 0.1, minBandMs: o.minBandMs ?? 10, madK: o.madK ?? 3 });
  const baseErr = baseAgg.errorRatio;
  const bandErr = baseErr + (o.errorBand ?? 0.005);
  const holdS = Math.min(o.holdS ?? 30, Math.max(o.minHoldS ?? 3, Math.floor(observedS * (o.holdFraction ?? 1 / 3))));

  const { peak, peakAt, peakErr } = peakOf(e, roll, rollingS);
  // a window is inside the band when its p95 is (an empty window is not evidence of health) and its errors are
  const inside = (r: Roll): boolean => r.p95 !== null && r.p95 <= bandP95 && r.errors <= Math.ceil(r.count * bandErr);
  // "stays there" asks no more than the base itself did: on a noisy host the steady base also leaves the band now
  // and then, and both the base and the hold are small samples. Windows overlap (rollingS of them share a second), so
  // N windows are N / rollingS independent looks; the hold fails only when its in-band share is below the base's
  // beyond what both samples can tell (docs/ANALYSIS.md, Recovery: one stray second passes after a quiet base)
  const baseShare = baseRolls.filter(inside).length / baseRolls.length;
  // recovered at t when the window starting at t is inside the band and the windows starting in [t, t + hold − rollingS]
  // are, as far as that comparison tells, as often inside as the base's
  const lastStart = e.obsEndS - rollingS + 1;
  const ok: boolean[] = [];
  for (let t = e.endS; t <= lastStart; t++) ok.push(inside(roll(t)));
  const span = Math.max(1, holdS - rollingS + 1);
  const kept = (share: number): boolean => holdKept(baseShare, baseRolls.length, share, span, rollingS);
  let recoveryS: number | null = null;
  let heldShare = 1;
  for (let k = 0; k + span <= ok.length && recoveryS === null; k++) {
    const share = ok.slice(k, k + span).filter(Boolean).length / span;
    if (ok[k] && kept(share)) [recoveryS, heldShare] = [k, share];
  }
  const metastableS = metastableRun(series, e, baseAgg.goodputRps, bandErr, rollingS, o);
  const settled =
    recoveryS === null ? settledLevel(e, roll, { rollingS, holdS, bandErr, minBandMs: o.minBandMs ?? 10, band: o.band ?? 0.1, madK: o.madK ?? 3 }) : null;
  // a level inside the base's band is no shift: the system is back at its level, its windows only leave the band
  const shift = settled && m > 0 && settled.levelMs > bandP95 && settled.levelMs <= m * (1 + (o.maxShift ?? 0.5)) ? settled : null;
  // the windows that kept the system out of the band: before the recovery when it came; when it did not, those that
  // broke every hold — from its first window back inside on (the knob-slow seconds before it are the system's own)
  const firstIn = ok.indexOf(true);
  const [fromK, toK] = recoveryS !== null ? [0, recoveryS] : [Math.max(0, firstIn), ok.length];
  const hostBusy = o.hostCores ? hostBusyAfter(series, e, ok, fromK, toK, baseRolls.length, rollingS, o.hostCores) : null;
  const { verdict, note } = verdictOf(
    e,
    {
      recoveryS,
      observedS,
      holdS,
      baseShare,
      heldShare,
      metastableS,
      bandText: `p95 ≤ ${msText(bandP95)}, errors ≤ ${pctText(bandErr)}`,
      shift,
      baseP95Ms: m,
      hostBusy,
    },
    o,
  );
  return {
    ...empty,
    recoveryS,
    holdS,
    rollingS,
    baselineP95Ms: m,
    bandP95Ms: bandP95,
    baselineErrorRatio: baseErr,
    bandErrorRatio: bandErr,
    peakP95Ms: Number.isFinite(peak) ? peak : null,
    timeToPeakS: Number.isFinite(peak) ? peakAt - e.startS : null,
    overshoot: Number.isFinite(peak) && m > 0 ? Math.max(0, (peak - m) / m) : null,
    errorOvershootPp: Math.max(0, (peakErr - baseErr) * 100),
    ...(verdict === 'shifted' && shift ? { recoveryS: shift.settledS, settledP95Ms: shift.levelMs } : {}),
    verdict,
    note,
  };
}

/**
 * Whether a hold whose windows were inside the band `heldShare` of the time stays as close to the base (inside
 * `baseShare` of its windows) as both samples can tell: windows of `rollingS` seconds overlap, so `n` of them are
 * n / rollingS independent looks; the hold is broken when the lower one-sided 95 % bound of the difference (Newcombe's
 * hybrid score interval) is above 0 (docs/ANALYSIS.md, Recovery).
 */
export function holdKept(baseShare: number, baseWindows: number, heldShare: number, holdWindows: number, rollingS: number): boolean {
  return !(shareDiffLower(baseShare, baseWindows / rollingS, heldShare, holdWindows / rollingS) > 0);
}

/** The latency band around a level m: never narrower than m·(1 + band), m + minBandMs, or madK robust SDs of `values`. */
function bandAround(m: number, values: readonly number[], p: { band: number; minBandMs: number; madK: number }): number {
  return Math.max(m * (1 + p.band), m + p.minBandMs, m + p.madK * MAD_TO_SD * mad(values));
}

/**
 * Where the system settled after the overload when it did not come back inside the base's band: the level is the
 * median rolling p95 over the second half of the observation, its band drawn like the base's; settled at the first
 * window from which every window of the hold is inside that band (errors inside the base's error band). Null when
 * the observation is too short to tell, or the system never settles (still falling, or oscillating).
 */
function settledLevel(
  e: Episode,
  roll: (t: number) => Roll,
  p: { rollingS: number; holdS: number; bandErr: number; minBandMs: number; band: number; madK: number },
): { levelMs: number; bandMs: number; settledS: number } | null {
  const lastStart = e.obsEndS - p.rollingS + 1;
  const rolls: Roll[] = [];
  for (let t = e.endS; t <= lastStart; t++) rolls.push(roll(t));
  const late = rolls
    .slice(Math.floor(rolls.length / 2))
    .map((r) => r.p95)
    .filter((x): x is number => x !== null);
  if (late.length < 5) return null;
  const levelMs = median(late);
  const bandMs = bandAround(levelMs, late, p);
  const inside = (r: Roll): boolean => r.p95 !== null && r.p95 <= bandMs && r.errors <= Math.ceil(r.count * p.bandErr);
  const span = Math.max(1, p.holdS - p.rollingS + 1);
  for (let k = 0; k + span <= rolls.length; k++) if (rolls.slice(k, k + span).every(inside)) return { levelMs, bandMs, settledS: k };
  return null;
}

/** Windows after the overload that left the band, how many of them the host spent on outside work, and the base's share. */
interface HostBusy {
  outOfBand: number;
  contended: number;
  baseContendedShare: number;
}

/**
 * When the band was not regained: the share of the windows outside it that had outside work contending for the host
 * (host-contention.ts), against the base's share of such windows. Null when it cannot be told (attach mode) or the
 * host was no busier than during the base — then the verdict stands on the latency alone.
 */
function hostBusyAfter(
  series: readonly SeriesPoint[],
  e: Episode,
  ok: readonly boolean[],
  fromK: number,
  toK: number,
  baseWindows: number,
  rollingS: number,
  hostCores: number,
): HostBusy | null {
  const judge = contentionJudge(series, { hostCores });
  const out: (boolean | null)[] = [];
  for (let k = fromK; k < toK; k++) if (!ok[k]) out.push(judge(rollWindow(e.endS + k, rollingS)));
  if (out.length === 0 || out.every((c) => c === null)) return null;
  const contended = out.filter((c) => c === true).length;
  const base = Array.from({ length: baseWindows }, (_, k) => judge(rollWindow(e.base!.fromS + k, rollingS)));
  const baseKnown = base.filter((c) => c !== null);
  const baseContendedShare = baseKnown.length ? baseKnown.filter(Boolean).length / baseKnown.length : 0;
  // most of what broke the band came with outside work, more often than the base had it
  const busy = contended >= out.length / 2 && contended / out.length > baseContendedShare;
  return busy ? { outOfBand: out.length, contended, baseContendedShare } : null;
}

const hostText = (b: HostBusy): string =>
  `in ${b.contended} of the ${b.outOfBand} windows outside the band work outside the system under test and the load generator contended for the host (the base: ${Math.round(b.baseContendedShare * 100)} % of its windows)`;

interface Judged {
  hostBusy: HostBusy | null;
  recoveryS: number | null;
  observedS: number;
  holdS: number;
  baseShare: number;
  /** share of the hold's windows inside the band */
  heldShare: number;
  metastableS: number;
  bandText: string;
  shift: { levelMs: number; settledS: number } | null;
  baseP95Ms: number;
}

/** The verdict and its note, judged on what was observed (docs/ANALYSIS.md, Recovery). */
function verdictOf(e: Episode, j: Judged, o: RecoveryOptions): { verdict: RecoveryVerdict; note: string } {
  const sustainS = Math.max(3 * (e.endS - e.startS), 120);
  const after = e.kind === 'spike' ? 'the spike' : 'the ladder';
  const judgeAfterS = o.judgeAfterS ?? 60;
  if (j.metastableS > sustainS)
    return {
      verdict: 'metastable',
      note: `goodput/errors stayed off the base for ${secondsText(j.metastableS)} after the load dropped (> ${secondsText(sustainS)})`,
    };
  if (j.recoveryS !== null) {
    const pct = (x: number): string => `${Math.round(x * 100)} %`;
    const share = j.heldShare < 1 ? ` (${pct(j.heldShare)} of its windows inside; the base: ${pct(j.baseShare)})` : '';
    const host = j.hostBusy ? `; ${hostText(j.hostBusy)} before it: the time may be partly the host's, not the system's` : '';
    const note = `back within the band (${j.bandText}) ${secondsText(j.recoveryS)} after ${after}, held ${secondsText(j.holdS)}${share}${host}`;
    return { verdict: j.recoveryS <= (o.fastS ?? 180) ? 'recovered' : 'slow-recovery', note };
  }
  if (j.hostBusy) {
    return {
      verdict: 'inconclusive',
      note: `not back within the band (${j.bandText}) for ${secondsText(j.holdS)} after ${after}, but ${hostText(j.hostBusy)}: the band cannot tell the system's recovery from the host's load — judge it on a run with the host to itself`,
    };
  }
  if (j.shift) {
    const pct = Math.round((j.shift.levelMs / j.baseP95Ms - 1) * 100);
    return {
      verdict: 'shifted',
      note: `settled ${secondsText(j.shift.settledS)} after ${after} at p95 ${msText(j.shift.levelMs)}, ${pct} % above the base's ${msText(j.baseP95Ms)} (band ${j.bandText}): the overload is over, but the system runs slower than before it — a lasting change (e.g. grown tables), not a failure to recover`,
    };
  }
  if (j.observedS >= judgeAfterS)
    return {
      verdict: 'not-recovered',
      note: `not back within the band (${j.bandText}) for ${secondsText(j.holdS)} in ${secondsText(j.observedS)} of base load after ${after}`,
    };
  const seen = j.observedS === 0 ? `the run ended with ${after}` : `only ${secondsText(j.observedS)} of base load observed after ${after}`;
  return {
    verdict: 'inconclusive',
    note: `${seen}, not back within the band (${j.bandText}) for ${secondsText(j.holdS)}; "not recovered" needs ≥ ${secondsText(judgeAfterS)}`,
  };
}

/** Longest run of seconds after the overload with goodput below the base's share or errors above the band. */
function metastableRun(series: readonly SeriesPoint[], e: Episode, baseGoodput: number, bandErr: number, rollingS: number, o: RecoveryOptions): number {
  let cur = 0;
  let longest = 0;
  for (let t = e.endS; t + rollingS - 1 <= e.obsEndS; t++) {
    const a = aggregate(series, rollWindow(t, rollingS));
    const bad = a.goodputRps < (o.goodputDeficit ?? 0.9) * baseGoodput || a.errorRatio > bandErr;
    cur = bad ? cur + 1 : 0;
    longest = Math.max(longest, cur);
  }
  return longest;
}
