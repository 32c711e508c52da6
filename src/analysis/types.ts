// Input of the analysis layer: a serialisable mirror of one run directory (series.ndjson, histograms.ndjson,
// events.ndjson). The line types are declared once, as zod schemas in store/run-format.ts (pure data, the one
// store module analysis may import); they are re-exported here under the names the analysis uses.

export type ErrorKind = '4xx' | '5xx' | 'timeout' | 'connection' | 'other';
export const ERROR_KINDS: readonly ErrorKind[] = ['4xx', '5xx', 'timeout', 'connection', 'other'];

export type {
  ContainerPoint,
  EndpointSecond,
  HistogramLine,
  HostPoint,
  PostgresPoint,
  PostgresRates,
  RunEvent,
  SeriesLine as SeriesPoint,
} from '../store/run-format.ts';
import type { EndpointSecond, HistogramLine, RunEvent, SeriesLine } from '../store/run-format.ts';

export interface RunRecord {
  /** Epoch ms at which the load started (elapsedS 0): event times are placed on the series' axis with it. */
  startMs: number;
  series: readonly SeriesLine[];
  histograms: readonly HistogramLine[];
  events: readonly RunEvent[];
}

/** Closed time interval in elapsed seconds (series `elapsedS`), [fromS, toS]. */
export interface WindowS {
  fromS: number;
  toS: number;
}

export type Status = 'pass' | 'fail' | 'no-data';

export function errorsOf(e: EndpointSecond | undefined): number {
  if (!e) return 0;
  // a for-in walk in the keys' order, as Object.values would add them, without an array per second
  let n = 0;
  for (const k in e.errors) {
    const v = e.errors[k]!;
    n += Number.isFinite(v) ? v : 0;
  }
  return n;
}
