// Evidence for one tail episode (docs/ANALYSIS.md "Incidents"): every sampled signal is compared between the
// episode (±1 s: samples are not aligned to the load clock) and the baseline seconds. A signal clears the bar when
// its move beats both its minimum meaningful effect and 3 robust σ of its own baseline noise; its score is the move
// in units of that bar. Causes are ranked by score, except that a signal another clearing signal explains (a full
// pool explained by lock waits, I/O waits by a checkpoint) goes after it. Pure.
import { isFresh } from './freshness.ts';
import { REFERENCE_APP_NAME } from '../config/defaults.ts';
import { MAD_TO_SD, mad, median } from './stats.ts';
import type { SeriesPoint, WindowS } from './types.ts';

export type EvidenceKind =
  | 'locks'
  | 'db-wait'
  | 'db-cpu'
  | 'checkpoint'
  | 'backend-writes'
  | 'autovacuum'
  | 'pool'
  | 'db-connections'
  | 'cpu-throttled'
  | 'cpu-drop'
  | 'cpu-high'
  | 'host-cpu'
  | 'host-iowait'
  | 'generator-cpu'
  | 'generator-lag';

export interface EvidenceLine {
  /** e.g. 'locks', 'db-wait:Timeout', 'cpu-drop:postgres'. */
  signal: string;
  kind: EvidenceKind;
  /** Peak (or trough, for drops) over the episode, and the baseline median. */
  episodeValue: number;
  baselineValue: number;
  /** The move in units of the bar (≥ 1 clears it). */
  score: number;
  message: string;
}

/** Robust σ multiple a move must beat (on top of the signal's own minimum effect). */
export const EVIDENCE_K = 3;

interface Signal {
  signal: string;
  kind: EvidenceKind;
  /** 'up': the episode's peak counts; 'down': its trough. */
  dir: 'up' | 'down';
  values: number[];
  /** Smallest move that could matter to a request's latency, in the signal's unit. */
  minEffect: number;
  say: (episode: number, baseline: number) => string;
}

const f0 = (x: number): string => x.toFixed(0);
const f2 = (x: number): string => x.toFixed(2);
const pct = (x: number): string => `${(x * 100).toFixed(0)} %`;

type PgSample = NonNullable<SeriesPoint['postgres']>;
type PgSamples = readonly (PgSample | null)[];

/** One value per point; NaN where the point has none (not sampled, or not a finite number). */
function valuesOf(series: readonly SeriesPoint[], f: (i: number) => number | null | undefined): number[] {
  return series.map((_, i) => {
    const v = f(i);
    return typeof v === 'number' && Number.isFinite(v) ? v : NaN;
  });
}

/** Every sampled signal, in a fixed order (Postgres, containers, host, generator): ranking keeps it for equal scores. */
function signalsOf(series: readonly SeriesPoint[], o: { appName?: string; poolMax?: number }): Signal[] {
  return [...postgresSignals(series, o), ...containerSignals(series), ...hostSignals(series), ...generatorSignals(series)];
}

/** Postgres signals, only when the run sampled Postgres at all. */
function postgresSignals(series: readonly SeriesPoint[], o: { appName?: string; poolMax?: number }): Signal[] {
  const pg = series.map((p) => p.postgres ?? null);
  if (!pg.some(Boolean)) return [];
  return [...postgresWaitSignals(series, pg), ...postgresWriteSignals(series, pg), ...postgresConnectionSignals(series, pg, o)];
}

/** Sessions waiting on locks, on each other wait type, and running on CPU. */
function postgresWaitSignals(series: readonly SeriesPoint[], pg: PgSamples): Signal[] {
  const out: Signal[] = [];
  out.push({
    signal: 'locks',
    kind: 'locks',
    dir: 'up',
    minEffect: 2,
    values: valuesOf(series, (i) => (pg[i] ? Math.max(pg[i]!.waitingByType.Lock ?? 0, pg[i]!.blockedSessions, pg[i]!.ungrantedLocks) : null)),
    say: (e, b) => `sessions waiting on locks: ${f0(e)} (baseline ${f0(b)})`,
  });
  const types = new Set<string>();
  for (const x of pg) for (const t of Object.keys(x?.waitingByType ?? {})) if (t !== 'Lock') types.add(t);
  for (const t of [...types].sort()) {
    out.push({
      signal: `db-wait:${t}`,
      kind: 'db-wait',
      dir: 'up',
      minEffect: 2,
      values: valuesOf(series, (i) => (pg[i] ? (pg[i]!.waitingByType[t] ?? 0) : null)),
      say: (e, b) => `Postgres sessions waiting on ${t}: ${f0(e)} (baseline ${f0(b)})`,
    });
  }
  // active and not waiting: running (on CPU) in Postgres
  out.push({
    signal: 'db-cpu',
    kind: 'db-cpu',
    dir: 'up',
    minEffect: 2,
    values: valuesOf(series, (i) =>
      pg[i] ? Math.max(0, (pg[i]!.connectionsByState.active ?? 0) - Object.values(pg[i]!.waitingByType).reduce((a, b) => a + b, 0)) : null,
    ),
    say: (e, b) => `Postgres sessions running (active, not waiting): ${f0(e)} (baseline ${f0(b)})`,
  });
  return out;
}

/** Checkpoint and backend buffer writes (when the sampler has their rates), and autovacuum workers. */
function postgresWriteSignals(series: readonly SeriesPoint[], pg: PgSamples): Signal[] {
  const out: Signal[] = [];
  const rate = (k: 'buffersCheckpoint' | 'buffersBackend') => valuesOf(series, (i) => pg[i]?.perSecond?.[k]);
  const ckpt = rate('buffersCheckpoint');
  if (ckpt.some(Number.isFinite)) {
    // a checkpoint's buffers are reported as it writes (spread) or when it finishes (immediate)
    out.push({
      signal: 'checkpoint',
      kind: 'checkpoint',
      dir: 'up',
      minEffect: 128,
      values: ckpt,
      say: (e, b) => `checkpoint writing ${f0(e)} buffers/s (8 KiB each; baseline ${f0(b)})`,
    });
    out.push({
      signal: 'backend-writes',
      kind: 'backend-writes',
      dir: 'up',
      minEffect: 128,
      values: rate('buffersBackend'),
      say: (e, b) => `backends writing dirty buffers themselves: ${f0(e)}/s (baseline ${f0(b)})`,
    });
  }
  out.push({
    signal: 'autovacuum',
    kind: 'autovacuum',
    dir: 'up',
    minEffect: 1,
    values: valuesOf(series, (i) => pg[i]?.autovacuumWorkers),
    say: (e, b) => `autovacuum workers running: ${f0(e)} (baseline ${f0(b)})`,
  });
  return out;
}

/** The app's DB pool (its connections as Postgres sees them) and all client connections. */
function postgresConnectionSignals(series: readonly SeriesPoint[], pg: PgSamples, o: { appName?: string; poolMax?: number }): Signal[] {
  const app = o.appName ?? REFERENCE_APP_NAME;
  const appStates = pg.map((x) => x?.connectionsByApp[app]);
  return [
    {
      signal: 'pool',
      kind: 'pool',
      dir: 'up',
      minEffect: 0.25,
      values: valuesOf(series, (i) => {
        const s = appStates[i];
        if (!s) return null;
        const total = Object.values(s).reduce((a, b) => a + b, 0);
        const max = series[i]!.pool?.max ?? o.poolMax ?? total;
        return max > 0 ? (total - (s.idle ?? 0)) / max : null;
      }),
      say: (e, b) => `app DB pool busy: ${pct(e)} of ${o.poolMax !== undefined ? `its ${o.poolMax} connections` : 'its open connections'} (baseline ${pct(b)})`,
    },
    {
      signal: 'db-connections',
      kind: 'db-connections',
      dir: 'up',
      minEffect: 5,
      values: valuesOf(series, (i) => (pg[i] ? Object.values(pg[i]!.connectionsByState).reduce((a, b) => a + b, 0) : null)),
      say: (e, b) => `Postgres client connections: ${f0(e)} (baseline ${f0(b)})`,
    },
  ];
}

/** Per service: CFS throttling, CPU falling (waiting) and CPU rising (working); stale container samples count as none. */
function containerSignals(series: readonly SeriesPoint[]): Signal[] {
  const out: Signal[] = [];
  const services = new Set<string>();
  for (const p of series) for (const s of Object.keys(p.containers ?? {})) services.add(s);
  for (const svc of [...services].sort()) {
    const c = series.map((p) => {
      const x = p.containers?.[svc];
      return x && isFresh(x) ? x : undefined;
    });
    out.push({
      signal: `cpu-throttled:${svc}`,
      kind: 'cpu-throttled',
      dir: 'up',
      minEffect: 0.1,
      values: valuesOf(series, (i) => c[i]?.throttledRatio),
      say: (e, b) => `${svc} CFS-throttled in ${pct(e)} of periods (baseline ${pct(b)})`,
    });
    out.push({
      signal: `cpu-drop:${svc}`,
      kind: 'cpu-drop',
      dir: 'down',
      minEffect: 0.1,
      values: valuesOf(series, (i) => c[i]?.cpuCores),
      say: (e, b) => `${svc} CPU fell to ${f2(e)} cores (baseline ${f2(b)}): it was waiting, not working`,
    });
    out.push({
      signal: `cpu-high:${svc}`,
      kind: 'cpu-high',
      dir: 'up',
      minEffect: 0.25,
      values: valuesOf(series, (i) => c[i]?.cpuCores),
      say: (e, b) => `${svc} CPU rose to ${f2(e)} cores (baseline ${f2(b)})`,
    });
  }
  return out;
}

/** Host CPU and the share of it waiting on I/O. */
function hostSignals(series: readonly SeriesPoint[]): Signal[] {
  return [
    {
      signal: 'host-cpu',
      kind: 'host-cpu',
      dir: 'up',
      minEffect: 0.15,
      values: valuesOf(series, (i) => series[i]!.host?.cpuUtilization),
      say: (e, b) => `host CPU ${pct(e)} (baseline ${pct(b)})`,
    },
    {
      signal: 'host-iowait',
      kind: 'host-iowait',
      dir: 'up',
      minEffect: 0.05,
      values: valuesOf(series, (i) => series[i]!.host?.iowaitRatio),
      say: (e, b) => `host CPU waiting on I/O ${pct(e)} (baseline ${pct(b)})`,
    },
  ];
}

/** The load generator's own CPU and event-loop lag: a busy client measures its own delay as the target's. */
function generatorSignals(series: readonly SeriesPoint[]): Signal[] {
  return [
    {
      signal: 'generator-cpu',
      kind: 'generator-cpu',
      dir: 'up',
      minEffect: 0.25,
      values: valuesOf(series, (i) => series[i]!.generator.cpuCores),
      say: (e, b) => `load generator CPU ${f2(e)} cores (baseline ${f2(b)}): the client may have measured its own delay`,
    },
    {
      signal: 'generator-lag',
      kind: 'generator-lag',
      dir: 'up',
      minEffect: 100,
      values: valuesOf(series, (i) => series[i]!.sampler?.lagMs),
      say: (e, b) => `the orchestrator's event loop was blocked ${f0(e)} ms (baseline ${f0(b)}): the client may have measured its own delay`,
    },
  ];
}

/** kind → kinds it can explain (ranked after it when both clear the bar). */
const EXPLAINS: Partial<Record<EvidenceKind, readonly EvidenceKind[]>> = {
  locks: ['pool', 'db-connections', 'cpu-drop'],
  'db-wait': ['pool', 'db-connections', 'cpu-drop'],
  'db-cpu': ['pool', 'db-connections', 'cpu-high'],
  checkpoint: ['db-wait', 'backend-writes', 'host-iowait', 'pool', 'db-connections', 'cpu-drop', 'cpu-high'],
  'backend-writes': ['db-wait', 'host-iowait', 'pool', 'cpu-drop'],
  'host-iowait': ['db-wait', 'pool', 'cpu-drop'],
  autovacuum: ['db-wait', 'backend-writes', 'host-iowait', 'pool', 'cpu-high'],
  'cpu-throttled': ['cpu-drop', 'pool', 'db-cpu'],
  'generator-cpu': ['host-cpu'],
  'generator-lag': ['host-cpu', 'generator-cpu'],
  'cpu-high': ['host-cpu', 'pool', 'db-cpu'],
  pool: ['db-connections'],
};

/** Storage-side causes explain only the Postgres waits storage makes: I/O, the buffer and WAL locks behind it. A
 * `pg_sleep` or a statement timeout (Timeout), a client (Client) or another process (IPC) is not theirs: a slow-query
 * burst on a host with some I/O wait was named `host-iowait` before its 9.5-score `db-wait:Timeout`. */
const STORAGE_CAUSES: ReadonlySet<EvidenceKind> = new Set(['checkpoint', 'backend-writes', 'host-iowait', 'autovacuum']);
const STORAGE_WAITS: ReadonlySet<string> = new Set(['IO', 'LWLock', 'BufferPin']);

/** Whether line m, clearing the bar, explains line l (kinds never explain themselves). */
function explains(m: EvidenceLine, l: EvidenceLine): boolean {
  if (m.kind === l.kind || !EXPLAINS[m.kind]?.includes(l.kind)) return false;
  return !(l.kind === 'db-wait' && STORAGE_CAUSES.has(m.kind) && !STORAGE_WAITS.has(l.signal.slice('db-wait:'.length)));
}

/** Rank by score; a line moves after every clearing line that explains it (and that it does not explain back). */
export function rankEvidence(lines: readonly EvidenceLine[]): EvidenceLine[] {
  const left = [...lines].sort((a, b) => b.score - a.score);
  const out: EvidenceLine[] = [];
  while (left.length) {
    const i = left.findIndex((l) => !left.some((m) => m !== l && explains(m, l) && !explains(l, m)));
    out.push(left.splice(i >= 0 ? i : 0, 1)[0]!);
  }
  return out;
}

/** Lines that cleared the bar, most likely cause first; empty when none did ("no correlated signal"). */
export function episodeEvidence(
  series: readonly SeriesPoint[],
  episode: WindowS,
  baselineS: readonly number[],
  o: { appName?: string; poolMax?: number } = {},
): EvidenceLine[] {
  const base = new Set(baselineS);
  const lines: EvidenceLine[] = [];
  for (const s of signalsOf(series, o)) {
    const b: number[] = [];
    const e: number[] = [];
    series.forEach((p, i) => {
      const v = s.values[i]!;
      if (!Number.isFinite(v)) return;
      if (p.elapsedS >= episode.fromS - 1 && p.elapsedS <= episode.toS + 1) e.push(v);
      else if (base.has(p.elapsedS)) b.push(v);
    });
    if (b.length < 5 || !e.length) continue;
    const m = median(b);
    const ev = s.dir === 'up' ? Math.max(...e) : Math.min(...e);
    const move = s.dir === 'up' ? ev - m : m - ev;
    const bar = Math.max(s.minEffect, EVIDENCE_K * MAD_TO_SD * mad(b));
    const score = move / bar;
    if (score >= 1)
      lines.push({ signal: s.signal, kind: s.kind, episodeValue: ev, baselineValue: m, score: Math.round(score * 100) / 100, message: s.say(ev, m) });
  }
  return rankEvidence(lines);
}
