import * as hdr from 'hdr-histogram-js';
import { describe, expect, it } from 'vitest';
import { ALL_ENDPOINTS, HistogramIndex, compactStats, decodeCompact, decodeHistogram, latencyStats, mergeCompact, mergeHistograms } from './histograms.ts';
import { encodeStoredHistogram } from '../load/histogram.ts';
import { normal, seededRng } from './stats.ts';
import { encodeMs } from './testing/build-record.ts';
import type { HistogramLine } from './types.ts';

const build = (): hdr.Histogram =>
  hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
    bitBucketSize: 32,
    autoResize: false,
    useWebAssembly: false,
  });

describe('histograms: merged = union (E2)', () => {
  it('60 s × 4 generators of log-normal latencies: merged p50/p95/p99/max equal the single histogram', () => {
    const rng = seededRng(42);
    const all = build();
    const lines: HistogramLine[] = [];
    for (let s = 1; s <= 60; s++) {
      const endpoints: Record<string, string> = {};
      for (let g = 0; g < 4; g++) {
        const v = Array.from({ length: 50 + g * 30 }, () => Math.exp(3 + 0.8 * normal(rng)));
        for (const x of v) all.recordValue(Math.round(x * 1000));
        endpoints[`gen${g}`] = encodeMs(v);
      }
      lines.push({ tMs: s * 1000, elapsedS: s, unit: 'us', endpoints });
    }
    const idx = new HistogramIndex(lines);
    const merged = idx.stats(ALL_ENDPOINTS, { fromS: 1, toS: 60 })!;
    expect(merged.count).toBe(all.totalCount);
    expect(merged.p50Ms).toBe(all.getValueAtPercentile(50) / 1000);
    expect(merged.p95Ms).toBe(all.getValueAtPercentile(95) / 1000);
    expect(merged.p99Ms).toBe(all.getValueAtPercentile(99) / 1000);
    expect(Math.abs(merged.maxMs - all.maxValue / 1000) / (all.maxValue / 1000)).toBeLessThan(0.001);
    // the hdr add() path agrees too
    const viaAdd = mergeHistograms(lines.flatMap((l) => Object.values(l.endpoints).map((b) => decodeHistogram(b)!)));
    expect(latencyStats(viaAdd)!.p99Ms).toBe(merged.p99Ms);
  });

  it('E3: merging a fast and a slow-tailed worker gives the true p99, not the mean of p99s', () => {
    const rng = seededRng(7);
    const a = Array.from({ length: 100_000 }, () => 20 + 20 * rng());
    const b = Array.from({ length: 5_500 }, (_, i) => (i < 550 ? 400 + 200 * rng() : 20 + 20 * rng()));
    const idx = new HistogramIndex([{ tMs: 1000, elapsedS: 1, unit: 'us', endpoints: { a: encodeMs(a), b: encodeMs(b) } }]);
    const pa = idx.stats('a', { fromS: 1, toS: 1 })!.p99Ms;
    const pb = idx.stats('b', { fromS: 1, toS: 1 })!.p99Ms;
    const merged = idx.stats(ALL_ENDPOINTS, { fromS: 1, toS: 1 })!.p99Ms;
    const union = [...a, ...b].sort((x, y) => x - y)[Math.ceil(0.99 * 105_500) - 1]!;
    expect(Math.abs(merged / union - 1)).toBeLessThan(0.01);
    expect(Math.abs(merged - (pa + pb) / 2)).toBeGreaterThan(50);
  });

  it.each([
    ['empty window', [] as HistogramLine[]],
    ['corrupt payload', [{ tMs: 1, elapsedS: 1, unit: 'us' as const, endpoints: { x: 'not-base64!' } }]],
    ['endpoint with no requests', [{ tMs: 1, elapsedS: 1, unit: 'us' as const, endpoints: { x: encodeMs([]) } }]],
  ])('%s → null (no-data), never 0', (_n, lines) => {
    const idx = new HistogramIndex(lines);
    expect(idx.stats(ALL_ENDPOINTS, { fromS: 0, toS: 10 })).toBeNull();
  });

  it("a second's and a window's statistics, computed once, are the parts' merge on every ask; a caller changing its copy changes nothing", () => {
    const rng = seededRng(3);
    const lines: HistogramLine[] = [1, 2, 3].map((s) => ({
      tMs: s * 1000,
      elapsedS: s,
      unit: 'us',
      endpoints: Object.fromEntries(['a', 'b'].map((n, g) => [n, encodeMs(Array.from({ length: 40 + 10 * g + s }, () => Math.exp(2 + 0.5 * normal(rng))))])),
    }));
    // a second line at second 3: that second is the two lines merged
    lines.push({ tMs: 3500, elapsedS: 3, unit: 'us', endpoints: { a: encodeMs(Array.from({ length: 30 }, () => 500 + rng())) } });
    // the reference: every payload of the seconds decoded on its own and merged in one go
    const truth = (from: number, to: number) =>
      compactStats(lines.filter((l) => l.elapsedS >= from && l.elapsedS <= to).flatMap((l) => Object.values(l.endpoints).map((b) => decodeCompact(b)!)));
    const idx = new HistogramIndex(lines);
    for (const s of [1, 3]) {
      const first = idx.stats(ALL_ENDPOINTS, { fromS: s, toS: s })!;
      expect(first).toEqual(truth(s, s));
      first.p99Ms = -1;
      expect(idx.stats(ALL_ENDPOINTS, { fromS: s, toS: s })).toEqual(truth(s, s));
    }
    const windows = [
      { fromS: 1, toS: 2 },
      { fromS: 2, toS: 3 },
    ];
    const w = idx.stats(ALL_ENDPOINTS, windows)!;
    expect(w).toEqual(truth(1, 3));
    w.count = 0;
    expect(idx.stats(ALL_ENDPOINTS, windows)).toEqual(truth(1, 3));
    expect(idx.stats(ALL_ENDPOINTS, { fromS: 1, toS: 3 })).toEqual(truth(1, 3));
    expect(truth(1, 3)!.count).toBe(3 * 40 + 3 * 50 + 2 * (1 + 2 + 3) + 30);
  });

  it("mergeCompact adds the parts' counts per bucket, in index order, sparse (a few parts) or dense (many)", () => {
    const rng = seededRng(11);
    const payload = (n: number, spread: number): number[] => Array.from({ length: n }, () => Math.exp(1 + spread * rng()));
    for (const [parts, n, spread] of [
      [4, 50, 6],
      [3, 2000, 3],
      [400, 40, 5],
    ] as const) {
      const hs = Array.from({ length: parts }, () => decodeCompact(encodeMs(payload(n, spread)))!);
      const want = new Map<number, number>();
      for (const h of hs) h.idx.forEach((k, j) => want.set(k, (want.get(k) ?? 0) + h.counts[j]!));
      const got = mergeCompact(hs)!;
      const order = [...want.keys()].sort((a, b) => a - b);
      expect([...got.idx]).toEqual(order);
      expect([...got.counts]).toEqual(order.map((k) => want.get(k)));
      // a second merge starts from clear scratch and bitmap
      expect([...mergeCompact(hs.slice(0, 1))!.counts]).toEqual([...hs[0]!.counts]);
    }
  });

  it('counts corrupt payloads', () => {
    const idx = new HistogramIndex([{ tMs: 1, elapsedS: 1, unit: 'us', endpoints: { x: '@@@' } }]);
    idx.decodeAll();
    expect(idx.corrupt).toBe(1);
  });
});

describe('decodeCompact: the stored payload read straight into its non-zero buckets', () => {
  it('percentiles of small counts use the library’s rank rule (⌈p · n⌉), where rounding would pick a lower bucket', () => {
    const rng = seededRng(8);
    let differs = 0;
    for (const n of [1, 2, 3, 19, 20, 21, 50, 92, 99, 101, 150]) {
      const v = Array.from({ length: n }, () => Math.exp(1 + 3 * rng()));
      const ref = new hdr.Int32Histogram(1, 60_000_000, 3);
      for (const x of v) ref.recordValue(Math.round(x * 1000));
      const stats = compactStats([decodeCompact(encodeMs(v))!])!;
      expect([stats.p50Ms, stats.p95Ms, stats.p99Ms], `n = ${n}`).toEqual([50, 95, 99].map((p) => ref.getValueAtPercentile(p) / 1000));
      // e.g. n = 92: p99's rank is ⌈91.08⌉ = 92, round(91.08) = 91
      if ([95, 99].some((p) => Math.ceil((p / 100) * n - 1e-9) !== Math.round((p / 100) * n))) differs++;
    }
    expect(differs).toBeGreaterThanOrEqual(3);
  });

  it('has the buckets and counts of hdr-histogram-js holding the same values, wide ranges and zero runs included', () => {
    const rng = seededRng(3);
    for (let round = 0; round < 40; round++) {
      const v = Array.from({ length: 1 + Math.floor(rng() * 3000) }, () => Math.exp(-2 + 12 * rng()));
      const ref = new hdr.Int32Histogram(1, 60_000_000, 3);
      for (const x of v) ref.recordValue(Math.min(60_000_000, Math.max(1, Math.round(x * 1000))));
      const compact = decodeCompact(encodeMs(v))!;
      let total = 0;
      for (let j = 0; j < compact.idx.length; j++) {
        const i = compact.idx[j]!;
        expect(compact.counts[j], `count at index ${i}`).toBe(ref.getCountAtIndex(i));
        expect(compact.layout.hi[i]).toBe(ref.highestEquivalentValue(ref.valueFromIndex(i)));
        total += compact.counts[j]!;
      }
      expect(total).toBe(ref.totalCount);
      // the rank rule of compactStats is the library's: its percentiles are the reference's, small counts included
      const stats = compactStats([compact])!;
      expect([stats.p50Ms, stats.p95Ms, stats.p99Ms]).toEqual([50, 95, 99].map((p) => ref.getValueAtPercentile(p) / 1000));
      // run format 3 stores the same encoding uncompressed: the same buckets, and the same hdr histogram
      const stored = encodeStoredHistogram(ref);
      const plain = decodeCompact(stored)!;
      expect([...plain.idx]).toEqual([...compact.idx]);
      expect([...plain.counts]).toEqual([...compact.counts]);
      const back = decodeHistogram(stored)!;
      expect([back.totalCount, back.getValueAtPercentile(99)]).toEqual([ref.totalCount, ref.getValueAtPercentile(99)]);
    }
  });

  it('corrupt or foreign payloads are undefined, not an exception', () => {
    const ref = new hdr.Int32Histogram(1, 60_000_000, 3);
    for (const us of [900, 5_000, 5_000, 70_000]) ref.recordValue(us);
    const stored = Buffer.from(encodeStoredHistogram(ref), 'base64');
    // an uncompressed (format 3) payload cut short, and one that is only its header
    const cut = [stored.subarray(0, stored.length - 2), stored.subarray(0, 20)].map((b) => b.toString('base64'));
    for (const bad of ['', '@@@', 'not-base64!', Buffer.from('hello world, not a histogram').toString('base64'), ...cut])
      expect(decodeCompact(bad)).toBeUndefined();
  });
});
