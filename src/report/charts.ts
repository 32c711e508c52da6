// Chart data for report.html, computed here (pure) so the page script only draws. Long runs are bucketed
// to at most MAX_POINTS per series: latency and errors keep the bucket max, the rest the mean.
import { REFERENCE_APP_NAME } from '../config/defaults.ts';
import type { AnalysisContract } from '../analysis/contract.ts';
import type { RunRecord, SeriesPoint } from '../analysis/types.ts';
import { ERROR_KINDS } from '../analysis/types.ts';

export const MAX_POINTS = 2400;
const MIB = 1024 * 1024;

export interface ChartLine {
  label: string;
  color: string;
  values: (number | null)[];
  /** 'y2' puts the line on the right-hand axis. */
  scale?: 'y' | 'y2';
  dash?: number[];
  fill?: boolean;
}
export interface Marker {
  atS: number;
  label: string;
  color: string;
}
export interface ChartSpec {
  id: string;
  title: string;
  yLabel: string;
  y2Label?: string;
  xS: number[];
  lines: ChartLine[];
  markers: Marker[];
  /** Shown instead of the chart when there is nothing to draw. */
  empty?: string;
}

const PALETTE = ['#3274d9', '#e0752d', '#37872d', '#8f3bb8', '#c4162a', '#0a8f8f', '#b8860b', '#5f6b7a'];
const ERROR_COLORS: Record<string, string> = { '4xx': '#e0b400', '5xx': '#c4162a', timeout: '#8f3bb8', connection: '#e0752d', other: '#5f6b7a' };
const STATE_COLORS: Record<string, string> = {
  active: '#c4162a',
  idle: '#37872d',
  'idle in transaction': '#e0b400',
  'idle in transaction (aborted)': '#8f3bb8',
};

const r3 = (x: number | null | undefined): number | null => (x === null || x === undefined || !Number.isFinite(x) ? null : Math.round(x * 1000) / 1000);
const errorsOf = (e: Readonly<Record<string, number>>, kind: string): number => (Number.isFinite(e[kind]) ? e[kind]! : 0);

/** Downsamples [x, ...lines] together; `agg[i]` says how line i folds a bucket. */
function bucket(xS: number[], lines: (number | null)[][], agg: ('max' | 'mean')[]): { xS: number[]; lines: (number | null)[][] } {
  const n = xS.length;
  if (n <= MAX_POINTS) return { xS, lines };
  const k = Math.ceil(n / MAX_POINTS);
  const outX: number[] = [];
  const outL: (number | null)[][] = lines.map(() => []);
  for (let i = 0; i < n; i += k) {
    outX.push(xS[i]!);
    lines.forEach((l, j) => outL[j]!.push(fold(l, i, Math.min(n, i + k), agg[j]!)));
  }
  return { xS: outX, lines: outL };
}

/** The non-null values of l[from, to) folded by their max or their mean (summed left to right), rounded; null when none. */
function fold(l: readonly (number | null)[], from: number, to: number, agg: 'max' | 'mean'): number | null {
  let seen = 0;
  let max = -Infinity;
  let sum = 0;
  for (let i = from; i < to; i++) {
    const v = l[i];
    if (v === null || v === undefined) continue;
    seen++;
    max = Math.max(max, v);
    sum += v;
  }
  if (!seen) return null;
  return r3(agg === 'max' ? max : sum / seen);
}

function spec(
  id: string,
  title: string,
  yLabel: string,
  series: readonly SeriesPoint[],
  lines: (Omit<ChartLine, 'values'> & { get: (p: SeriesPoint) => number | null | undefined; agg?: 'max' | 'mean' })[],
  markers: Marker[],
  extra: Partial<ChartSpec> = {},
): ChartSpec {
  const raw = lines.map((l) => series.map((p) => r3(l.get(p))));
  const b = bucket(
    series.map((p) => p.elapsedS),
    raw,
    lines.map((l) => l.agg ?? 'mean'),
  );
  return {
    id,
    title,
    yLabel,
    xS: b.xS,
    lines: lines.map(({ get: _get, agg: _agg, ...l }, i) => ({ ...l, values: b.lines[i]! })),
    markers,
    ...extra,
  };
}

/** Breaking point, spike start, recovery (after spikes and ladders) and the first SLO breach onset, as vertical markers. */
export function markersOf(a: AnalysisContract, series: readonly SeriesPoint[]): Marker[] {
  const out: Marker[] = [];
  const bp = a.capacity.breakingPoint;
  if (bp) {
    const phase = typeof bp.phase === 'string' ? bp.phase : undefined;
    const at = series.find((p) => (phase !== undefined && p.phase === phase) || (phase === undefined && p.activeUsers >= bp.users));
    if (at) out.push({ atS: at.elapsedS, label: `breaking point ${bp.users} users`, color: '#c4162a' });
  }
  a.recovery.forEach((r, i) => {
    const name = r.kind === 'spike' ? `spike ${i + 1}` : 'ladder';
    if (r.kind === 'spike') out.push({ atS: r.startS, label: name, color: '#8f3bb8' });
    else out.push({ atS: r.endS, label: 'recovery phase', color: '#8f3bb8' });
    // recovery is counted from the end of the overload
    if (r.recoveryS !== null) out.push({ atS: r.endS + r.recoveryS, label: `recovered (${name})`, color: '#37872d' });
  });
  const breach = a.bottlenecks.map((b) => b.evidence.breachOnsetS).find((x) => x !== null);
  if (breach !== undefined && breach !== null) out.push({ atS: breach, label: 'SLO breach', color: '#e0752d' });
  return out;
}

function services(series: readonly SeriesPoint[]): string[] {
  const s = new Set<string>();
  for (const p of series) for (const name of Object.keys(p.containers ?? {})) s.add(name);
  return [...s].sort();
}

const freshContainer = (p: SeriesPoint, svc: string) => {
  const c = p.containers?.[svc];
  return c && (c.ageMs ?? 0) <= 2000 ? c : undefined;
};

/** Intercept for the analysis slope by least squares over the samples (slope fixed), so the trend overlays the data. */
function trendLine(series: readonly SeriesPoint[], svc: string, slopeBytesPerHour: number): (p: SeriesPoint) => number | null {
  const pts = series
    .map((p) => ({ t: p.elapsedS, y: freshContainer(p, svc)?.memoryWorkingSetBytes }))
    .filter((q): q is { t: number; y: number } => q.y !== undefined);
  if (!pts.length) return () => null;
  const perS = slopeBytesPerHour / 3600;
  const b = pts.reduce((s, q) => s + (q.y - perS * q.t), 0) / pts.length;
  return (p) => (b + perS * p.elapsedS) / MIB;
}

/** Charts in report order: load, latency, errors, CPU, memory, pool. */
export function buildCharts(a: AnalysisContract, record: RunRecord, appName = REFERENCE_APP_NAME): ChartSpec[] {
  const series = [...record.series].sort((x, y) => x.elapsedS - y.elapsedS);
  const markers = markersOf(a, series);
  return [...trafficCharts(series, markers), ...containerCharts(a, series, markers), poolChart(series, markers, appName)];
}

/** Load/throughput, latency percentiles and errors by kind. */
function trafficCharts(series: readonly SeriesPoint[], markers: Marker[]): ChartSpec[] {
  const charts: ChartSpec[] = [];
  const ok = (p: SeriesPoint): number => p.total.count - ERROR_KINDS.reduce((n, k) => n + errorsOf(p.total.errors, k), 0);
  charts.push(
    spec(
      'load',
      'Load and throughput',
      'users',
      series,
      [
        { label: 'active users', color: '#5f6b7a', get: (p) => p.activeUsers, fill: true },
        { label: 'requests/s', color: '#3274d9', get: (p) => p.total.count, scale: 'y2' },
        { label: 'goodput/s', color: '#37872d', get: ok, scale: 'y2', dash: [4, 3] },
      ],
      markers,
      { y2Label: 'req/s' },
    ),
  );
  charts.push(
    spec(
      'latency',
      'Latency percentiles (all endpoints, per second)',
      'ms',
      series,
      [
        { label: 'p50', color: '#37872d', get: (p) => (p.total.count ? p.total.p50Ms : null), agg: 'max' },
        { label: 'p95', color: '#e0752d', get: (p) => (p.total.count ? p.total.p95Ms : null), agg: 'max' },
        { label: 'p99', color: '#c4162a', get: (p) => (p.total.count ? p.total.p99Ms : null), agg: 'max' },
      ],
      markers,
    ),
  );
  charts.push(
    spec(
      'errors',
      'Errors by kind',
      'errors/s',
      series,
      ERROR_KINDS.map((k) => ({ label: k, color: ERROR_COLORS[k]!, get: (p: SeriesPoint) => errorsOf(p.total.errors, k), agg: 'max' as const })),
      markers,
    ),
  );
  return charts;
}

/** CPU and memory per container; both say so when the run has no container samples. */
function containerCharts(a: AnalysisContract, series: readonly SeriesPoint[], markers: Marker[]): ChartSpec[] {
  const charts: ChartSpec[] = [];
  const svcs = services(series);
  const noContainers = svcs.length ? undefined : 'No container samples in this run.';
  charts.push(
    spec(
      'cpu',
      'CPU per container',
      'cores',
      series,
      [
        ...svcs.map((s, i) => ({ label: s, color: PALETTE[i % PALETTE.length]!, get: (p: SeriesPoint) => freshContainer(p, s)?.cpuCores })),
        { label: 'load generator', color: '#5f6b7a', dash: [2, 3], get: (p: SeriesPoint) => p.generator.cpuCores },
      ],
      markers,
      noContainers ? { empty: noContainers } : {},
    ),
  );
  charts.push(
    spec(
      'memory',
      'Working set per container (dashed: leak trend; dotted: anonymous memory)',
      'MiB',
      series,
      memoryLines(a, series, svcs),
      markers,
      noContainers ? { empty: noContainers } : {},
    ),
  );
  return charts;
}

/** Per service: working set, anonymous memory when sampled, and the leak trend when the analysis has a slope. */
function memoryLines(a: AnalysisContract, series: readonly SeriesPoint[], svcs: readonly string[]): Parameters<typeof spec>[4] {
  const memLines: Parameters<typeof spec>[4] = [];
  svcs.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    memLines.push({
      label: s,
      color,
      get: (p) => {
        const c = freshContainer(p, s);
        return c ? c.memoryWorkingSetBytes / MIB : null;
      },
    });
    // anonymous memory beside the working set: a gap that widens is page cache / shared memory, not the heap
    if (series.some((p) => typeof freshContainer(p, s)?.memoryRssBytes === 'number')) {
      memLines.push({
        label: `${s} anon`,
        color,
        dash: [1, 3],
        get: (p) => {
          const rss = freshContainer(p, s)?.memoryRssBytes;
          return typeof rss === 'number' ? rss / MIB : null;
        },
      });
    }
    const slope = a.leaks.find((l) => l.service === s)?.slopeBytesPerHour;
    if (slope !== undefined && slope !== null && Number.isFinite(slope))
      memLines.push({ label: `${s} trend`, color, dash: [6, 4], get: trendLine(series, s, slope) });
  });
  return memLines;
}

/** Postgres connections by state, of the app when its connections are tagged with appName, else of the whole server. */
function poolChart(series: readonly SeriesPoint[], markers: Marker[], appName: string): ChartSpec {
  const pgPoints = series.filter((p) => p.postgres);
  const byApp = pgPoints.some((p) => p.postgres!.connectionsByApp[appName]);
  const states = new Set<string>();
  for (const p of pgPoints)
    for (const st of Object.keys(byApp ? (p.postgres!.connectionsByApp[appName] ?? {}) : p.postgres!.connectionsByState)) states.add(st);
  const pick = (p: SeriesPoint): Readonly<Record<string, number>> | undefined =>
    p.postgres ? (byApp ? (p.postgres.connectionsByApp[appName] ?? {}) : p.postgres.connectionsByState) : undefined;
  return spec(
    'pool',
    byApp ? `Postgres connections of ${appName} by state` : 'Postgres connections by state',
    'connections',
    series,
    [...states].sort().map((st, i) => ({
      label: st,
      color: STATE_COLORS[st] ?? PALETTE[(i + 3) % PALETTE.length]!,
      get: (p: SeriesPoint) => {
        const m = pick(p);
        return m ? (m[st] ?? 0) : null;
      },
    })),
    markers,
    pgPoints.length ? {} : { empty: 'No Postgres samples in this run.' },
  );
}
