// Latency histograms in µs (1 µs .. 60 s, 3 significant digits), shipped between threads compressed-base64.
import * as hdr from 'hdr-histogram-js';

export const LATENCY_LOWEST_US = 1;
export const LATENCY_HIGHEST_US = 60_000_000;
export const LATENCY_SIG_DIGITS = 3;

export type LatencyHistogram = hdr.Histogram;

export function createLatencyHistogram(): LatencyHistogram {
  // pure JS, fixed range: the wasm build needs explicit destroy() and gains little at these rates
  return hdr.build({
    lowestDiscernibleValue: LATENCY_LOWEST_US,
    highestTrackableValue: LATENCY_HIGHEST_US,
    numberOfSignificantValueDigits: LATENCY_SIG_DIGITS,
    bitBucketSize: 32,
    autoResize: false,
    useWebAssembly: false,
  });
}

export function recordLatencyUs(h: LatencyHistogram, latencyUs: number): void {
  h.recordValue(Math.min(LATENCY_HIGHEST_US, Math.max(LATENCY_LOWEST_US, Math.round(latencyUs))));
}

/** Each distinct recorded value (µs) with its count. Our histograms are pure JS (createLatencyHistogram, decodeHistogram): their iterator is there. */
export function forEachRecordedValue(h: LatencyHistogram, fn: (valueUs: number, count: number) => void): void {
  if (h.totalCount === 0) return;
  if (!(h instanceof hdr.JsHistogram)) throw new Error('forEachRecordedValue needs a pure-JS histogram (createLatencyHistogram)');
  const it = h.recordedValuesIterator;
  it.reset();
  while (it.hasNext()) {
    const v = it.next();
    fn(v.valueIteratedTo, v.countAtValueIteratedTo);
  }
}

export const encodeHistogram = (h: LatencyHistogram): string => hdr.encodeIntoCompressedBase64(h);

export function decodeHistogram(b64: string): LatencyHistogram {
  return hdr.decodeFromCompressedBase64(b64, 32, false);
}

export interface LatencySummaryMs {
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

export function summaryMs(h: LatencyHistogram): LatencySummaryMs {
  if (h.totalCount === 0) return { p50Ms: 0, p95Ms: 0, p99Ms: 0, maxMs: 0 };
  return { p50Ms: pctMs(h, 50), p95Ms: pctMs(h, 95), p99Ms: pctMs(h, 99), maxMs: round3(h.maxValue / 1000) };
}

export const pctMs = (h: LatencyHistogram, p: number): number => (h.totalCount === 0 ? 0 : round3(h.getValueAtPercentile(p) / 1000));
export const round3 = (n: number): number => Math.round(n * 1000) / 1000;
