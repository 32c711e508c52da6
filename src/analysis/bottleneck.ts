// Bottleneck attribution (docs/ANALYSIS.md, Bottlenecks): USE saturation predicates per resource per second, the SLO
// breach onset from merged rolling p95 / error ratio, coverage of the breach, precedence (resource saturates
// before or ≤ 10 s after the onset) and lagged CCF after first differencing (resource must lead).
// Results are evidence ("coincides with and leads"), never proof of cause.
import { isFresh } from './freshness.ts';
import { threadDemand, threadSaturated } from './thread-demand.ts';
import { MIN_OUTSIDE_SHARE, outsideCores } from './host-contention.ts';
import { REFERENCE_APP_NAME } from '../config/defaults.ts';
import { DEFAULT_MAX_ERROR_RATIO } from './stop-rule.ts';
import type { HistogramIndex } from './histograms.ts';
import { rollingMeans, rollingStats } from './rolling.ts';
import { crossCorrelation, diff } from './stats.ts';
import type { SeriesPoint, WindowS } from './types.ts';
import { rollingTotals } from './windows.ts';

export type BottleneckRole = 'PRIMARY' | 'CONTRIBUTING' | 'SATURATED';

export interface BottleneckEvidence {
  /** First second the saturation predicate held (≥ 5 of the trailing 10 s). */
  onsetS: number;
  breachOnsetS: number | null;
  /** breachOnset − onset: positive = the resource saturated first. */
  leadS: number | null;
  /** Share of breach seconds with the predicate true. */
  coverage: number | null;
  /** Lag (s) of the strongest resource-leads correlation with p95, after differencing. */
  lagS: number | null;
  r: number | null;
  significant: boolean;
  peak: number;
  detail: string;
}

export interface Bottleneck {
  resource: string;
  kind: 'cpu' | 'thread' | 'memory' | 'pool' | 'locks' | 'idle-in-transaction' | 'connections' | 'host';
  service: string | null;
  role: BottleneckRole;
  rank: number;
  evidence: BottleneckEvidence;
}

export interface BottleneckOptions {
  sloP95Ms?: number;
  /** Default DEFAULT_MAX_ERROR_RATIO (stop-rule.ts). */
  sloErrorRatio?: number;
  /** application_name of the system under test's pool. Default 'archiveorigin'. */
  appName?: string;
  /** Configured pool size of the app, when known. */
  poolMax?: number;
  /**
   * The seconds the run's own stop-on-break rule saw over the limit (per-second histograms). They count as breach
   * seconds too: the trailing 10-s windows used here can smooth a 3-s breach at the very end of a run away.
   */
  stopRuleBreach?: { fromS: number; toS: number };
  cpuUtil?: number;
  throttledRatio?: number;
  memoryRatio?: number;
  /**
   * Cores of the host the stack and the generator run on (the manifest's generatorCores): with it, work outside both
   * that saturates the host is a resource too (host-contention.ts). Unknown in attach mode, where nothing is said.
   */
  hostCores?: number;
  /** Outside work at or above this share of the host's cores, with the host's CPU saturated. Default MIN_OUTSIDE_SHARE. */
  minOutsideShare?: number;
}

interface Signal {
  resource: string;
  kind: Bottleneck['kind'];
  service: string | null;
  /** Per-second saturation predicate (false when not sampled) and metric (NaN when not sampled). */
  sat: boolean[];
  /** Whether the second was sampled: a lost sample is neither saturated nor calm. */
  known: boolean[];
  metric: number[];
  describe: (peak: number) => string;
}

function signals(series: readonly SeriesPoint[], o: BottleneckOptions, options: { inFlight?: readonly number[] } = {}): Signal[] {
  const out = containerSignals(series, o);
  if (series.some((p) => p.postgres)) out.push(...postgresSignals(series, o, options.inFlight ?? []));
  const host = hostSignal(series, o);
  if (host) out.push(host);
  return out;
}

/** CPU and memory saturation per container, services in name order. */
function containerSignals(series: readonly SeriesPoint[], o: BottleneckOptions): Signal[] {
  const out: Signal[] = [];
  const services = new Set<string>();
  for (const p of series) for (const s of Object.keys(p.containers ?? {})) services.add(s);
  for (const svc of [...services].sort()) {
    const c = series.map((p) => p.containers?.[svc]);
    const fresh = (x: (typeof c)[number]): boolean => isFresh(x);
    const util = c.map((x) => (fresh(x) ? (x!.cpuLimitUtilization ?? NaN) : NaN));
    const thr = c.map((x) => (fresh(x) ? (x!.throttledRatio ?? NaN) : NaN));
    out.push({
      resource: `cpu:${svc}`,
      kind: 'cpu',
      service: svc,
      sat: util.map((u, i) => u >= (o.cpuUtil ?? 0.9) || thr[i]! >= (o.throttledRatio ?? 0.25)),
      known: util.map((u, i) => Number.isFinite(u) || Number.isFinite(thr[i]!)),
      metric: util.map((u, i) => Math.max(Number.isFinite(u) ? u : 0, Number.isFinite(thr[i]!) ? thr[i]! : 0)),
      describe: (peak) => `CPU at ${(peak * 100).toFixed(0)} % of its limit or CFS-throttled`,
    });
    // one thread wanting a core all the time: a single-threaded runtime (a GIL, an event loop) is at its limit, limit
    // or none (thread-demand.ts)
    const demand = c.map((x) => (fresh(x) ? threadDemand(x) : NaN));
    if (demand.some(Number.isFinite))
      out.push({
        resource: `thread:${svc}`,
        kind: 'thread',
        service: svc,
        sat: c.map((x) => fresh(x) && threadSaturated(x)),
        known: demand.map(Number.isFinite),
        metric: demand,
        describe: (peak) =>
          `busiest thread runnable (on a core or waiting for one) up to ${(peak * 100).toFixed(0)} % of the time: one thread (a GIL, an event loop) is its limit`,
      });
    const mem = c.map((x) => (fresh(x) && x!.memoryLimitBytes ? x!.memoryWorkingSetBytes / x!.memoryLimitBytes : NaN));
    out.push({
      resource: `memory:${svc}`,
      kind: 'memory',
      service: svc,
      sat: mem.map((m) => m >= (o.memoryRatio ?? 0.9)),
      known: mem.map(Number.isFinite),
      metric: mem,
      describe: (peak) => `working set at ${(peak * 100).toFixed(0)} % of the memory limit`,
    });
  }
  return out;
}

/** The app's DB pool, lock waits, connections idle in transaction and max_connections, from the Postgres samples. */
function postgresSignals(series: readonly SeriesPoint[], o: BottleneckOptions, inFlight: readonly number[]): Signal[] {
  const out: Signal[] = [];
  const app = o.appName ?? REFERENCE_APP_NAME;
  const pg = series.map((p) => p.postgres ?? null);
  const known = pg.map((x) => x !== null);
  const appStates = pg.map((x) => x?.connectionsByApp[app] ?? {});
  const appTotal = appStates.map((s) => Object.values(s).reduce((a, b) => a + b, 0));
  // busy = held by a request: every state but idle (active, idle in transaction, fastpath…)
  const busy = appStates.map((s, i) => appTotal[i]! - (s.idle ?? 0));
  const lockWaits = pg.map((x) => (x ? Math.max(x.waitingByType.Lock ?? 0, x.blockedSessions, x.ungrantedLocks > 0 ? 1 : 0) : NaN));
  const pending = series.map((p) => p.pool?.pending ?? NaN);
  // Requests queued for a connection inside the app are invisible to Postgres. Little's law gives the requests in
  // flight (L = X·R̄ over a 5-s merged window); those beyond the busy connections are waiting for one.
  const queued = busy.map((b, i) => (Number.isFinite(pending[i]!) ? pending[i]! : Math.max(0, (inFlight[i] ?? 0) - b)));
  // Connections are sampled once a second: a busy pool shows a connection idle now and then (between two
  // statements), so exhaustion is judged on the busy share over the trailing 5 samples.
  const share = (i: number, of: (j: number) => number): number => {
    let sum = 0;
    let n = 0;
    for (let j = Math.max(0, i - 4); j <= i; j++) {
      if (!pg[j]) continue;
      const d = of(j);
      if (d > 0) {
        sum += busy[j]! / d;
        n++;
      }
    }
    return n ? sum / n : 0;
  };
  const poolSat = busy.map((b, i) => {
    if (!pg[i] || appTotal[i] === 0) return false;
    const max = series[i]!.pool?.max ?? o.poolMax;
    const waiting = queued[i]! >= 1 || lockWaits[i]! > 0;
    if (!waiting) return false;
    if (max !== undefined) return b >= max || share(i, () => max) >= 0.75;
    // max unknown: (nearly) no idle connection left and the pool is not growing (over 10 s) while requests queue
    const grown = Math.max(...appTotal.slice(Math.max(0, i - 10), i));
    return appTotal[i]! <= grown && share(i, (j) => appTotal[j]!) >= 0.75 && queued[i]! >= Math.max(1, 0.5 * appTotal[i]!);
  });
  out.push({
    resource: `db-pool:${app}`,
    kind: 'pool',
    service: app,
    sat: poolSat,
    known,
    metric: queued.map((w, i) => w + busy[i]! / Math.max(1, appTotal[i]!)),
    describe: (peak) =>
      `app DB connection pool (${app}) exhausted: all ${o.poolMax !== undefined ? `${o.poolMax} (pool max)` : `${Math.max(...appTotal)}`} connections busy with requests queued for one (peak ≈ ${Math.max(0, peak - 1).toFixed(0)} waiting)`,
  });
  out.push({
    resource: 'postgres:locks',
    kind: 'locks',
    service: 'postgres',
    sat: lockWaits.map((w) => w > 0),
    known,
    metric: lockWaits,
    describe: (peak) => `sessions waiting on locks (peak ${peak.toFixed(0)})`,
  });
  // "many" connections held idle in a transaction: at least 2 and a fifth of the app's (one of a 2-connection
  // pool between two statements is the pool at work, not the app holding connections)
  const iit = appStates.map((s) => s['idle in transaction'] ?? 0);
  out.push({
    resource: `idle-in-transaction:${app}`,
    kind: 'idle-in-transaction',
    service: app,
    sat: iit.map((v, i) => v >= 2 && v >= 0.2 * Math.max(1, appTotal[i]!)),
    known,
    metric: iit,
    describe: (peak) => `${peak.toFixed(0)} ${app} connections idle in transaction (the app holds connections)`,
  });
  const conn = pg.map((x) => (x ? Object.values(x.connectionsByState).reduce((a, b) => a + b, 0) / Math.max(1, x.maxConnections) : NaN));
  out.push({
    resource: 'postgres:connections',
    kind: 'connections',
    service: 'postgres',
    sat: conn.map((v) => v >= 0.9),
    known,
    metric: conn,
    describe: (peak) => `${(peak * 100).toFixed(0)} % of max_connections in use`,
  });
  return out;
}

/**
 * The host's CPU saturated while work outside the stack's containers and the generator took a share of it: the
 * latency may be the host's, not the system's (host-contention.ts). Only where all three were sampled (stack mode).
 */
function hostSignal(series: readonly SeriesPoint[], o: BottleneckOptions): Signal | null {
  const cores = o.hostCores;
  if (cores === undefined || !(cores > 0)) return null;
  const outside = series.map((p) => outsideCores(p, cores));
  if (outside.every((x) => x === null)) return null;
  const minOutside = (o.minOutsideShare ?? MIN_OUTSIDE_SHARE) * cores;
  return {
    resource: 'host:cpu',
    kind: 'host',
    service: null,
    sat: series.map((p, i) => outside[i] !== null && (p.host?.cpuUtilization ?? 0) >= (o.cpuUtil ?? 0.9) && outside[i]! >= minOutside),
    known: outside.map((x) => x !== null),
    metric: outside.map((x) => (x === null ? NaN : x / cores)),
    describe: (peak) =>
      `host CPU saturated with work outside the system under test and the load generator (up to ${(peak * cores).toFixed(1)} of ${cores} cores): the latency may be the host's, not the system's`,
  };
}

/** Trailing windows of `widthS` seconds ending at each second of the series. */
const trailing = (series: readonly SeriesPoint[], widthS: number): WindowS[] => series.map((p) => ({ fromS: p.elapsedS - (widthS - 1), toS: p.elapsedS }));

/** Per-second rolling 10-s merged p95 (ms) and error ratio (sliding windows: rolling.ts, rollingTotals). */
function red(series: readonly SeriesPoint[], hist: HistogramIndex): { p95: number[]; err: number[] } {
  const windows = trailing(series, 10);
  const p95 = rollingStats(hist.rollingSource(), windows, (s) => s?.p95Ms ?? NaN);
  const err = rollingTotals(series, windows).map((a) => (a.count > 0 ? a.errors / a.count : 0));
  return { p95, err };
}

/**
 * The first second whose trailing 10 s had the predicate in 5 of them; where samples were lost (a sampler round over
 * its budget on a starved host), in half of the sampled ones and at least 3 (docs/ANALYSIS.md, Bottlenecks).
 */
const sustainedOnset = (sat: readonly boolean[], known: readonly boolean[]): number => {
  for (let i = 0; i < sat.length; i++) {
    let n = 0;
    let k = 0;
    for (let j = Math.max(0, i - 9); j <= i; j++) {
      if (sat[j]) n++;
      if (known[j]) k++;
    }
    if (n >= Math.max(3, Math.min(5, Math.ceil(k / 2)))) return i;
  }
  return -1;
};

export function attributeBottlenecks(series: readonly SeriesPoint[], hist: HistogramIndex, o: BottleneckOptions = {}): Bottleneck[] {
  if (series.length < 3) return [];
  const { p95, err } = red(series, hist);
  const stop = o.stopRuleBreach;
  const breach = series.map(
    (p, i) =>
      (o.sloP95Ms !== undefined && p95[i]! > o.sloP95Ms) ||
      err[i]! > (o.sloErrorRatio ?? DEFAULT_MAX_ERROR_RATIO) ||
      (stop !== undefined && p.elapsedS >= stop.fromS && p.elapsedS <= stop.toS),
  );
  const breachIdx = breach.findIndex((b, i) => b && breach[i + 1] === true);
  const breachOnsetS = breachIdx >= 0 ? series[breachIdx]!.elapsedS : null;
  const breachSeconds = breach.map((b, i) => (b ? i : -1)).filter((i) => i >= 0);
  const y = diff(p95.map((v) => (Number.isFinite(v) ? v : 0)));
  const found: Bottleneck[] = [];
  // requests in flight per second (Little's law over a trailing 5-s merged window)
  const inFlightWindows = trailing(series, 5);
  const inFlightTotals = rollingTotals(series, inFlightWindows);
  // only the windows' mean latency: prefix sums, not a second pass of rolling percentiles (rolling.ts)
  const inFlight = rollingMeans(hist.rollingSource(), inFlightWindows).map((l, i) => {
    const a = inFlightTotals[i]!;
    return l && a.seconds > 0 ? (a.count / a.seconds) * (l.meanMs / 1000) : 0;
  });
  for (const s of signals(series, o, { inFlight })) {
    const onset = sustainedOnset(s.sat, s.known);
    if (onset < 0) continue;
    const onsetS = series[onset]!.elapsedS;
    const x = diff(s.metric.map((v) => (Number.isFinite(v) ? v : 0)));
    let best = { k: 0, r: 0 };
    for (let k = 0; k <= 60 && k < x.length - 2; k++) {
      const r = crossCorrelation(x, y, k);
      if (Number.isFinite(r) && r > best.r) best = { k, r };
    }
    const significant = best.r > 3 / Math.sqrt(Math.max(1, x.length - best.k));
    // share of the sampled breach seconds
    const sampledBreach = breachSeconds.filter((i) => s.known[i]);
    const coverage = sampledBreach.length ? sampledBreach.filter((i) => s.sat[i]).length / sampledBreach.length : null;
    const leadS = breachOnsetS !== null ? breachOnsetS - onsetS : null;
    const precedes = leadS !== null && leadS >= -10;
    const role: BottleneckRole = breachOnsetS === null ? 'SATURATED' : (coverage ?? 0) >= 0.8 && precedes && significant ? 'PRIMARY' : 'CONTRIBUTING';
    const peak = Math.max(...s.metric.filter(Number.isFinite));
    found.push({
      resource: s.resource,
      kind: s.kind,
      service: s.service,
      role,
      rank: 0,
      evidence: {
        onsetS,
        breachOnsetS,
        leadS,
        coverage,
        lagS: significant ? best.k : null,
        r: Number.isFinite(best.r) ? best.r : null,
        significant,
        peak,
        detail: `${s.describe(peak)} from t=${onsetS} s${leadS !== null ? ` (${leadS >= 0 ? `${leadS} s before` : `${-leadS} s after`} the SLO breach at t=${breachOnsetS} s)` : ''}${significant ? `; leads p95 by ${best.k} s (r=${best.r.toFixed(2)} after differencing)` : ''}`,
      },
    });
  }
  const order: Record<BottleneckRole, number> = { PRIMARY: 0, CONTRIBUTING: 1, SATURATED: 2 };
  // Outside work on the host qualifies the figures rather than naming a part of the system to fix: it comes after the
  // system's own resources of the same role (a neighbour busy from the first second would otherwise lead them all).
  const outside = (b: Bottleneck): number => (b.kind === 'host' ? 1 : 0);
  found.sort(
    (a, b) =>
      order[a.role] - order[b.role] ||
      outside(a) - outside(b) ||
      (b.evidence.leadS ?? -Infinity) - (a.evidence.leadS ?? -Infinity) ||
      (b.evidence.r ?? 0) - (a.evidence.r ?? 0),
  );
  // at most one PRIMARY: the earliest-leading qualifies, later ones are contributing (D4: pool after locks)
  found.forEach((f, i) => {
    if (i > 0 && f.role === 'PRIMARY') f.role = 'CONTRIBUTING';
    f.rank = i + 1;
  });
  return found;
}
