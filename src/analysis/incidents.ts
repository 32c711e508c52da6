// Incidents: what went wrong with the system under test (or its sampling) during the run, each with its time —
// container OOM kills and crashes, Postgres outages, and windows of HTTP 5xx, timeouts or refused connections.
// Pure: events + series in, a sorted list out. The report names the first one as the failure mode.
import type { RunEvent, SeriesPoint } from './types.ts';

export type IncidentKind = 'oom-killed' | 'crashed' | 'stopped' | 'restarted' | 'postgres-unavailable' | 'http-5xx' | 'timeouts' | 'connection-refused' | 'run-error';

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
}

/** A second counts towards a window when this share of its requests failed that way (and at least one did). */
const WINDOW_MIN_RATIO = 0.5;

const strip = (k: string): string => k.replace(/^stack-/, '');

export function findIncidents(events: readonly RunEvent[], series: readonly SeriesPoint[]): Incident[] {
  const t0Ms = series.length ? series[0]!.tMs - series[0]!.elapsedS * 1000 : (events[0]?.tMs ?? 0);
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
    } else if (kind === 'run-error') {
      out.push({ kind: 'run-error', service: '*', tMs: e.tMs, atS: atS(e.tMs), message: `run error at ${atS(e.tMs)} s: ${String(e.message ?? '')}` });
    }
  }
  out.push(...errorWindows(series, '5xx', 'http-5xx', 'HTTP 5xx responses'), ...errorWindows(series, 'timeout', 'timeouts', 'requests timing out'), ...errorWindows(series, 'connection', 'connection-refused', 'connections refused/reset'));
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

const ROOT_CAUSES: ReadonlySet<IncidentKind> = new Set(['oom-killed', 'crashed', 'stopped', 'restarted', 'postgres-unavailable']);

/** The failure mode to name: the first root cause (a container or Postgres going away), else the first symptom. */
export function failureMode(incidents: readonly Incident[]): Incident | undefined {
  return incidents.find((i) => ROOT_CAUSES.has(i.kind)) ?? incidents[0];
}
