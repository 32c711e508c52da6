// Incidents: what went wrong with the system under test (or its sampling, or a fleet's load worker) during the run, each with its time —
// container OOM kills and crashes, Postgres outages, and windows of HTTP 5xx, timeouts or refused connections.
// Tail episodes (tail-episodes.ts) join them as 'latency-tail' / 'error-burst', each with its ranked evidence.
// Pure: events + series in, a sorted list out. The report names the first failure as the failure mode.
import type { EvidenceLine } from './tail-evidence.ts';
import type { TailEpisode } from './tail-episodes.ts';
import type { RunEvent, SeriesPoint } from './types.ts';

export type IncidentKind =
  | 'oom-killed'
  | 'crashed'
  | 'stopped'
  | 'restarted'
  | 'postgres-unavailable'
  | 'http-5xx'
  | 'timeouts'
  | 'connection-refused'
  | 'run-error'
  | 'latency-tail'
  | 'error-burst'
  | 'worker-lost';

/** Shown when no sampled signal cleared the bar during a tail episode. */
export const NO_CORRELATED_SIGNAL = 'no correlated signal';

export interface Incident {
  kind: IncidentKind;
  /** Service the incident belongs to ('*' for the system as a whole). */
  service: string;
  /** Epoch ms of the first sign, and seconds since the start of the load. */
  tMs: number;
  atS: number;
  /** Epoch ms / seconds when it ended (windows and outages that recovered). */
  endTMs?: number;
  endS?: number;
  message: string;
  /** Tail episodes: peak per-second p99, the steady baseline (median per-second p99) and the threshold, ms. */
  peakP99Ms?: number | null;
  baselineP99Ms?: number | null;
  thresholdP99Ms?: number | null;
  /** Tail episodes: failed / completed requests in the episode. */
  errors?: number;
  requests?: number;
  /** Tail episodes: the most likely cause (first evidence line's signal) or NO_CORRELATED_SIGNAL. */
  cause?: string;
  evidence?: EvidenceLine[];
}

/** A second counts towards a window when this share of its requests failed that way (and at least one did). */
const WINDOW_MIN_RATIO = 0.5;

const strip = (k: string): string => k.replace(/^stack-/, '');

/** `startMs`: epoch ms of elapsedS 0 (RunRecord.startMs). */
export function findIncidents(events: readonly RunEvent[], series: readonly SeriesPoint[], startMs: number): Incident[] {
  const t0Ms = startMs;
  const atS = (tMs: number): number => Math.round((tMs - t0Ms) / 100) / 10;
  const out: Incident[] = [];
  const teardownMs = events.find((e) => strip(e.kind) === 'teardown-started')?.tMs ?? Number.POSITIVE_INFINITY;
  const oomServices = new Set<string>();
  for (const e of events) {
    const kind = strip(e.kind);
    const service = typeof e.service === 'string' ? e.service : '*';
    if (e.tMs >= teardownMs) continue;
    if (kind === 'container-oom' || (kind === 'container-died' && e.oomKilled === true)) {
      if (oomServices.has(service)) continue;
      oomServices.add(service);
      out.push({ kind: 'oom-killed', service, tMs: e.tMs, atS: atS(e.tMs), message: `${service} was OOM-killed (out of memory) at ${atS(e.tMs)} s` });
    } else if (kind === 'container-died') {
      const code = typeof e.exitCode === 'number' ? e.exitCode : undefined;
      // 0 (or SIGTERM's 143) from outside: stopped; anything else: the process crashed
      const stopped = code === 0 || code === 143;
      out.push({
        kind: stopped ? 'stopped' : 'crashed',
        service,
        tMs: e.tMs,
        atS: atS(e.tMs),
        message: `${service} ${stopped ? 'stopped' : 'crashed'} (exit code ${code ?? 'unknown'}) at ${atS(e.tMs)} s`,
      });
    } else if (kind === 'container-restarted') {
      out.push({ kind: 'restarted', service, tMs: e.tMs, atS: atS(e.tMs), message: `${service} restarted at ${atS(e.tMs)} s` });
    } else if (kind === 'sampler-postgres_unavailable') {
      const rec = events.find((r) => strip(r.kind) === 'sampler-postgres_recovered' && r.tMs > e.tMs);
      out.push({
        kind: 'postgres-unavailable',
        service: 'postgres',
        tMs: e.tMs,
        atS: atS(e.tMs),
        ...(rec ? { endTMs: rec.tMs, endS: atS(rec.tMs) } : {}),
        message: `Postgres unavailable from ${atS(e.tMs)} s${rec ? ` to ${atS(rec.tMs)} s` : ' (not recovered)'}`,
      });
    } else if (kind === 'worker-lost') {
      // a fleet run's load worker (docs/DISTRIBUTED.md): the load, not the system under test, failed here
      const name = typeof e.name === 'string' ? e.name : String(e.worker);
      out.push({
        kind: 'worker-lost',
        service: `load worker ${String(e.worker)}`,
        tMs: e.tMs,
        atS: atS(e.tMs),
        message: `load worker ${name} lost at ${atS(e.tMs)} s: ${String(e.reason ?? 'unknown')}; the run is partial`,
      });
    } else if (kind === 'run-error') {
      out.push({ kind: 'run-error', service: '*', tMs: e.tMs, atS: atS(e.tMs), message: `run error at ${atS(e.tMs)} s: ${String(e.message ?? '')}` });
    }
  }
  out.push(
    ...errorWindows(series, '5xx', 'http-5xx', 'HTTP 5xx responses'),
    ...errorWindows(series, 'timeout', 'timeouts', 'requests timing out'),
    ...errorWindows(series, 'connection', 'connection-refused', 'connections refused/reset'),
  );
  return out.sort((a, b) => a.tMs - b.tMs);
}

function errorWindows(series: readonly SeriesPoint[], key: string, kind: IncidentKind, what: string): Incident[] {
  const out: Incident[] = [];
  let open: { first: SeriesPoint; last: SeriesPoint; n: number } | undefined;
  const close = (): void => {
    if (!open) return;
    const fromS = Math.max(0, open.first.elapsedS - 1);
    out.push({
      kind,
      service: '*',
      tMs: open.first.tMs - 1000,
      atS: Math.round(fromS * 10) / 10,
      endTMs: open.last.tMs,
      endS: Math.round(open.last.elapsedS * 10) / 10,
      message: `${what} from ${fromS.toFixed(0)} s to ${open.last.elapsedS.toFixed(0)} s (${open.n} failed requests)`,
    });
    open = undefined;
  };
  for (const p of series) {
    const n = Number(p.total.errors[key] ?? 0);
    // a second with no completed request at all (everything hanging) continues a timeout window
    const hit = n > 0 && n >= WINDOW_MIN_RATIO * Math.max(1, p.total.count);
    if (hit) {
      if (open) {
        open.last = p;
        open.n += n;
      } else open = { first: p, last: p, n };
    } else if (!(open && p.total.count === 0)) close();
  }
  close();
  return out;
}

/** Tail episodes as incidents; t0Ms is the epoch ms of elapsed second 0. */
export function tailIncidents(episodes: readonly TailEpisode[], t0Ms: number): Incident[] {
  return episodes.map((e) => {
    const fromS = Math.max(0, e.fromS - 1);
    const cause = e.evidence[0]?.signal ?? NO_CORRELATED_SIGNAL;
    const p99 = e.peakP99Ms !== null ? `p99 ${e.peakP99Ms.toFixed(0)} ms vs ${e.baselineP99Ms?.toFixed(0) ?? '?'} ms baseline` : 'no latency';
    const errs = e.errors > 0 ? `, ${e.errors} of ${e.requests} requests failed` : '';
    const worst = e.worstEndpoint && e.kind === 'latency-tail' ? `, worst ${e.worstEndpoint.name} (p99 ${e.worstEndpoint.p99Ms.toFixed(0)} ms)` : '';
    return {
      kind: e.kind,
      service: '*',
      tMs: t0Ms + fromS * 1000,
      atS: fromS,
      endTMs: t0Ms + e.toS * 1000,
      endS: e.toS,
      message: `${e.kind === 'latency-tail' ? 'latency tail' : 'error burst'} from ${fromS} s to ${e.toS} s: ${p99}${errs}${worst}; likely cause: ${e.evidence[0]?.message ?? NO_CORRELATED_SIGNAL}`,
      peakP99Ms: e.peakP99Ms,
      baselineP99Ms: e.baselineP99Ms,
      thresholdP99Ms: e.thresholdP99Ms,
      errors: e.errors,
      requests: e.requests,
      cause,
      evidence: e.evidence,
    };
  });
}

/** Symptoms of a run that still stood: never named as its failure mode. */
const EPISODES: ReadonlySet<IncidentKind> = new Set(['latency-tail', 'error-burst']);

const ROOT_CAUSES: ReadonlySet<IncidentKind> = new Set(['oom-killed', 'crashed', 'stopped', 'restarted', 'postgres-unavailable']);

/** The failure mode to name: the first root cause (a container or Postgres going away), else the first symptom. */
export function failureMode(incidents: readonly Incident[]): Incident | undefined {
  return incidents.find((i) => ROOT_CAUSES.has(i.kind)) ?? incidents.find((i) => !EPISODES.has(i.kind));
}
