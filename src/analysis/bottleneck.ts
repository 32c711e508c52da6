// Bottleneck attribution (ANALYSIS-METHODS §4): USE saturation predicates per resource per second, the SLO
// breach onset from merged rolling p95 / error ratio, coverage of the breach, precedence (resource saturates
// before or ≤ 10 s after the onset) and lagged CCF after first differencing (resource must lead).
// Results are evidence ("coincides with and leads"), never proof of cause.
import { ALL_ENDPOINTS, type HistogramIndex } from './histograms.ts';
import { crossCorrelation, diff } from './stats.ts';
import type { SeriesPoint } from './types.ts';
import { aggregate } from './windows.ts';

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
  kind: 'cpu' | 'memory' | 'pool' | 'locks' | 'idle-in-transaction' | 'connections';
  service: string | null;
  role: BottleneckRole;
  rank: number;
  evidence: BottleneckEvidence;
}

export interface BottleneckOptions {
  sloP95Ms?: number;
  /** Default 0.01. */
  sloErrorRatio?: number;
  /** application_name of the system under test's pool. Default 'archiveorigin'. */
  appName?: string;
  /** Configured pool size of the app, when known. */
  poolMax?: number;
  cpuUtil?: number;
  throttledRatio?: number;
  memoryRatio?: number;
}

interface Signal {
  resource: string;
  kind: Bottleneck['kind'];
  service: string | null;
  /** Per-second saturation predicate and metric (NaN when not sampled). */
  sat: boolean[];
  metric: number[];
  describe: (peak: number) => string;
}

function signals(series: readonly SeriesPoint[], o: BottleneckOptions): Signal[] {
  const out: Signal[] = [];
  const services = new Set<string>();
  for (const p of series) for (const s of Object.keys(p.containers ?? {})) services.add(s);
  for (const svc of [...services].sort()) {
    const c = series.map((p) => p.containers?.[svc]);
    const fresh = (x: (typeof c)[number]): boolean => x !== undefined && (x.ageMs ?? 0) <= 2000;
    const util = c.map((x) => (fresh(x) ? (x!.cpuLimitUtilization ?? NaN) : NaN));
    const thr = c.map((x) => (fresh(x) ? (x!.throttledRatio ?? NaN) : NaN));
    out.push({
      resource: `cpu:${svc}`,
      kind: 'cpu',
      service: svc,
      sat: util.map((u, i) => u >= (o.cpuUtil ?? 0.9) || thr[i]! >= (o.throttledRatio ?? 0.25)),
      metric: util.map((u, i) => Math.max(Number.isFinite(u) ? u : 0, Number.isFinite(thr[i]!) ? thr[i]! : 0)),
      describe: (peak) => `CPU at ${(peak * 100).toFixed(0)} % of its limit or CFS-throttled`,
    });
    const mem = c.map((x) => (fresh(x) && x!.memoryLimitBytes ? x!.memoryWorkingSetBytes / x!.memoryLimitBytes : NaN));
    out.push({ resource: `memory:${svc}`, kind: 'memory', service: svc, sat: mem.map((m) => m >= (o.memoryRatio ?? 0.9)), metric: mem, describe: (peak) => `working set at ${(peak * 100).toFixed(0)} % of the memory limit` });
  }
  if (series.some((p) => p.postgres)) {
    const app = o.appName ?? 'archiveorigin';
    const pg = series.map((p) => p.postgres ?? null);
    const appStates = pg.map((x) => x?.connectionsByApp[app] ?? {});
    const active = appStates.map((s) => s.active ?? 0);
    const appTotal = appStates.map((s) => Object.values(s).reduce((a, b) => a + b, 0));
    const lockWaits = pg.map((x) => (x ? Math.max(x.waitingByType.Lock ?? 0, x.blockedSessions, x.ungrantedLocks > 0 ? 1 : 0) : NaN));
    const pending = series.map((p) => p.pool?.pending ?? NaN);
    const waiters = pending.map((v, i) => (Number.isFinite(v) ? v : lockWaits[i]!));
    const poolSat = active.map((a, i) => {
      if (!pg[i] || a === 0 || !(waiters[i]! > 0)) return false;
      const max = series[i]!.pool?.max ?? o.poolMax;
      if (max !== undefined) return a >= max;
      const before = active[Math.max(0, i - 10)]!;
      return a === appTotal[i] && a <= before; // no idle connection left and not growing while others wait
    });
    out.push({ resource: `pool:${app}`, kind: 'pool', service: app, sat: poolSat, metric: waiters.map((w, i) => (Number.isFinite(w) ? w : 0) + active[i]! / Math.max(1, appTotal[i]!)), describe: (peak) => `pool exhausted: all ${app} connections active with waiters (peak waiters ${peak.toFixed(0)})` });
    out.push({ resource: 'postgres:locks', kind: 'locks', service: 'postgres', sat: lockWaits.map((w) => w > 0), metric: lockWaits, describe: (peak) => `sessions waiting on locks (peak ${peak.toFixed(0)})` });
    const iit = appStates.map((s) => s['idle in transaction'] ?? 0);
    out.push({ resource: `idle-in-transaction:${app}`, kind: 'idle-in-transaction', service: app, sat: iit.map((v, i) => v > 0 && v >= 0.2 * Math.max(1, appTotal[i]!)), metric: iit, describe: (peak) => `${peak.toFixed(0)} ${app} connections idle in transaction (the app holds connections)` });
    const conn = pg.map((x) => (x ? Object.values(x.connectionsByState).reduce((a, b) => a + b, 0) / Math.max(1, x.maxConnections) : NaN));
    out.push({ resource: 'postgres:connections', kind: 'connections', service: 'postgres', sat: conn.map((v) => v >= 0.9), metric: conn, describe: (peak) => `${(peak * 100).toFixed(0)} % of max_connections in use` });
  }
  return out;
}

/** Per-second rolling 10-s merged p95 (ms) and error ratio. */
function red(series: readonly SeriesPoint[], hist: HistogramIndex): { p95: number[]; err: number[] } {
  const p95 = series.map((p) => hist.stats(ALL_ENDPOINTS, { fromS: p.elapsedS - 9, toS: p.elapsedS })?.p95Ms ?? NaN);
  const err = series.map((p) => {
    const a = aggregate(series, { fromS: p.elapsedS - 9, toS: p.elapsedS });
    return a.count > 0 ? a.errorRatio : 0;
  });
  return { p95, err };
}

const sustainedOnset = (sat: readonly boolean[]): number => {
  for (let i = 0; i < sat.length; i++) {
    let n = 0;
    for (let j = Math.max(0, i - 9); j <= i; j++) if (sat[j]) n++;
    if (n >= 5) return i;
  }
  return -1;
};

export function attributeBottlenecks(series: readonly SeriesPoint[], hist: HistogramIndex, o: BottleneckOptions = {}): Bottleneck[] {
  if (series.length < 3) return [];
  const { p95, err } = red(series, hist);
  const breach = series.map((_, i) => (o.sloP95Ms !== undefined && p95[i]! > o.sloP95Ms) || err[i]! > (o.sloErrorRatio ?? 0.01));
  const breachIdx = breach.findIndex((b, i) => b && breach[i + 1] === true);
  const breachOnsetS = breachIdx >= 0 ? series[breachIdx]!.elapsedS : null;
  const breachSeconds = breach.map((b, i) => (b ? i : -1)).filter((i) => i >= 0);
  const y = diff(p95.map((v) => (Number.isFinite(v) ? v : 0)));
  const found: Bottleneck[] = [];
  for (const s of signals(series, o)) {
    const onset = sustainedOnset(s.sat);
    if (onset < 0) continue;
    const onsetS = series[onset]!.elapsedS;
    const x = diff(s.metric.map((v) => (Number.isFinite(v) ? v : 0)));
    let best = { k: 0, r: 0 };
    for (let k = 0; k <= 60 && k < x.length - 2; k++) {
      const r = crossCorrelation(x, y, k);
      if (Number.isFinite(r) && r > best.r) best = { k, r };
    }
    const significant = best.r > 3 / Math.sqrt(Math.max(1, x.length - best.k));
    const coverage = breachSeconds.length ? breachSeconds.filter((i) => s.sat[i]).length / breachSeconds.length : null;
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
  found.sort((a, b) => order[a.role] - order[b.role] || (b.evidence.leadS ?? -Infinity) - (a.evidence.leadS ?? -Infinity) || (b.evidence.r ?? 0) - (a.evidence.r ?? 0));
  // at most one PRIMARY: the earliest-leading qualifies, later ones are contributing (D4: pool after locks)
  found.forEach((f, i) => {
    if (i > 0 && f.role === 'PRIMARY') f.role = 'CONTRIBUTING';
    f.rank = i + 1;
  });
  return found;
}
