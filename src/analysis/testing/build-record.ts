// Test helper (pure): builds a RunRecord second by second, with real encoded histograms.
import * as hdr from 'hdr-histogram-js';
import type { ContainerPoint, EndpointSecond, HistogramLine, HostPoint, PostgresPoint, RunEvent, RunRecord, SeriesPoint } from '../types.ts';

export interface SecondSpec {
  phase: string;
  users: number;
  /** endpoint → latencies (ms) of the requests completed this second. */
  latenciesMs: Readonly<Record<string, readonly number[]>>;
  /** endpoint → error counts by kind (subset of the requests above). */
  errors?: Readonly<Record<string, Readonly<Record<string, number>>>>;
  cpuCores?: number | null;
  droppedLate?: number;
  containers?: Record<string, ContainerPoint>;
  postgres?: PostgresPoint | null;
  host?: HostPoint | null;
}

export const T0_MS = 1_700_000_000_000;

export function encodeMs(values: readonly number[]): string {
  const h = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
    bitBucketSize: 32,
    autoResize: false,
    useWebAssembly: false,
  });
  for (const v of values) h.recordValue(Math.min(60_000_000, Math.max(1, Math.round(v * 1000))));
  return hdr.encodeIntoCompressedBase64(h);
}

const zero = (): Record<string, number> => ({ '4xx': 0, '5xx': 0, timeout: 0, connection: 0, other: 0 });

export function buildRecord(seconds: readonly SecondSpec[], events: RunEvent[] = []): RunRecord {
  const series: SeriesPoint[] = [];
  const histograms: HistogramLine[] = [];
  seconds.forEach((s, i) => {
    const elapsedS = i + 1;
    const tMs = T0_MS + elapsedS * 1000;
    const endpoints: Record<string, EndpointSecond> = {};
    const hists: Record<string, string> = {};
    const total: EndpointSecond = { count: 0, errors: zero(), bytes: 0, p50Ms: 0, p95Ms: 0, p99Ms: 0, maxMs: 0 };
    for (const [name, lat] of Object.entries(s.latenciesMs)) {
      if (!lat.length) continue;
      const errors = { ...zero(), ...(s.errors?.[name] ?? {}) };
      endpoints[name] = { count: lat.length, errors, bytes: 100 * lat.length, p50Ms: 0, p95Ms: 0, p99Ms: 0, maxMs: 0 };
      hists[name] = encodeMs(lat);
      total.count += lat.length;
      for (const [k, v] of Object.entries(errors)) (total.errors as Record<string, number>)[k] = (total.errors[k] ?? 0) + v;
    }
    const p: SeriesPoint = {
      tMs,
      elapsedS,
      phase: s.phase,
      activeUsers: s.users,
      endpoints,
      total,
      generator: { cpuCores: s.cpuCores ?? 0.2, droppedLate: s.droppedLate ?? 0 },
    };
    if (s.containers) p.containers = s.containers;
    if (s.postgres !== undefined) p.postgres = s.postgres;
    if (s.host !== undefined) p.host = s.host;
    series.push(p);
    histograms.push({ tMs, elapsedS, unit: 'us', endpoints: hists });
  });
  return { startMs: T0_MS, series, histograms, events };
}

/** n latencies equal to `ms` (deterministic). */
export const constant = (n: number, ms: number): number[] => Array.from({ length: n }, () => ms);
