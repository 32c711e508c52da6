// Latency histograms in µs (1 µs .. 60 s, 3 significant digits), shipped between threads compressed-base64 and
// stored in a run directory (run format 3) in HdrHistogram's uncompressed V2 encoding, base64.
import * as hdr from 'hdr-histogram-js';
import { Buffer } from 'node:buffer';

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

/** HdrHistogram's V2 encoding cookie (uncompressed) with the word-size byte of its LEB128-64b9B ZigZag counts. */
const V2_COOKIE = 0x1c849303 | 0x10;
const HEADER_BYTES = 40;
/** Grown to the largest histogram encoded (9 bytes at most per bucket): one buffer for the writer's whole run. */
let scratch = Buffer.alloc(4096);

/**
 * The histogram in HdrHistogram's V2 encoding, uncompressed, base64: how run format 3 stores a second's histogram
 * in histograms.ndjson (store/run-format.ts). The bytes are the ones hdr-histogram-js deflates in
 * encodeIntoCompressedBase64 (header, then each bucket's count up to the highest recorded value as ZigZag LEB128,
 * a run of empty buckets as one negative count). At ~150 bytes a second, deflate saved ~6 % of the file and cost
 * every read one zlib call per payload (docs/ANALYSIS.md, "Reading a run back").
 */
export function encodeStoredHistogram(h: LatencyHistogram): string {
  if (!(h instanceof hdr.JsHistogram)) throw new Error('encodeStoredHistogram needs a pure-JS histogram (createLatencyHistogram)');
  const limit = h.countsArrayIndex(h.maxValue) + 1;
  if (scratch.length < HEADER_BYTES + 9 * limit) scratch = Buffer.alloc(HEADER_BYTES + 9 * limit);
  const b = scratch;
  let at = HEADER_BYTES;
  const put = (count: number): void => {
    let v = count >= 0 ? count * 2 : -count * 2 - 1;
    while (v >= 0x80) {
      b[at++] = v % 0x80 | 0x80;
      v = Math.floor(v / 0x80);
    }
    b[at++] = v;
  };
  for (let i = 0; i < limit; ) {
    const count = h.getCountAtIndex(i++);
    if (count !== 0) {
      put(count);
      continue;
    }
    let zeros = 1;
    while (i < limit && h.getCountAtIndex(i) === 0) {
      zeros++;
      i++;
    }
    put(zeros > 1 ? -zeros : 0);
  }
  b.writeInt32BE(V2_COOKIE, 0);
  b.writeInt32BE(at - HEADER_BYTES, 4);
  b.writeInt32BE(1, 8); // normalizing index offset, as hdr-histogram-js writes it
  b.writeInt32BE(h.numberOfSignificantValueDigits, 12);
  writeInt64(b, h.lowestDiscernibleValue, 16);
  writeInt64(b, h.highestTrackableValue, 24);
  writeInt64(b, 1, 32); // integer-to-double conversion ratio
  return b.toString('base64', 0, at);
}

function writeInt64(b: Buffer, v: number, at: number): void {
  b.writeUInt32BE(Math.floor(v / 2 ** 32), at);
  b.writeUInt32BE(v >>> 0, at + 4);
}

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
