import { inflateSync } from 'node:zlib';
import * as hdr from 'hdr-histogram-js';
import type {} from 'hdr-histogram-js/dist/JsHistogram.encoding.js';
import { describe, expect, it } from 'vitest';
import { normal, seededRng } from '../analysis/stats.ts';
import { createLatencyHistogram, encodeHistogram, encodeStoredHistogram, LATENCY_HIGHEST_US, recordLatencyUs } from './histogram.ts';

/** The V2 bytes hdr-histogram-js compresses: its compressed-base64 encoding, inflated. */
function libraryV2Bytes(h: hdr.Histogram): Buffer {
  const raw = Buffer.from(encodeHistogram(h), 'base64');
  return inflateSync(raw.subarray(8, 8 + raw.readInt32BE(4)));
}

describe('encodeStoredHistogram (run format 3 histogram payload)', () => {
  it("writes exactly hdr-histogram-js's V2 encoding, uncompressed, for empty, one-value, typical and wide histograms", () => {
    const rng = seededRng(7);
    const cases: number[][] = [[], [1], [LATENCY_HIGHEST_US], [5_000, 5_000, 5_001, 120_000]];
    for (let k = 0; k < 40; k++) {
      const n = 1 + Math.floor(rng() * 400);
      const medianUs = 200 * Math.exp(4 * rng());
      cases.push(Array.from({ length: n }, () => medianUs * Math.exp((0.2 + rng()) * normal(rng))));
    }
    // one bucket holding 100,000 requests: a multi-byte count
    cases.push(Array.from({ length: 100_000 }, () => 7_000));
    for (const values of cases) {
      const h = createLatencyHistogram();
      for (const v of values) recordLatencyUs(h, v);
      const stored = Buffer.from(encodeStoredHistogram(h), 'base64');
      expect(stored.equals(libraryV2Bytes(h)), `${values.length} values`).toBe(true);
      // and reads back as the same histogram (a decoded histogram knows values to its buckets' resolution)
      const back = hdr.JsHistogram.decode(stored, 32);
      const figures = (x: hdr.Histogram): number[] => [x.totalCount, ...[50, 95, 99, 100].map((p) => x.getValueAtPercentile(p))];
      expect(figures(back)).toEqual(figures(h));
    }
  });
});
