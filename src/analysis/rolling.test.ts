import { describe, expect, it } from 'vitest';
import { ALL_ENDPOINTS, HistogramIndex } from './histograms.ts';
import { rollingMeans, rollingStats } from './rolling.ts';
import { normal, seededRng } from './stats.ts';
import { buildRecord, encodeMs } from './testing/build-record.ts';
import type { HistogramLine, SeriesPoint, WindowS } from './types.ts';
import { aggregate, rollingTotals } from './windows.ts';

/** 300 s of lines: log-normal latencies with a slow stretch, gaps (no line), empty seconds and a second written twice. */
function lines(seed: number, scaleMs = 1): HistogramLine[] {
  const rng = seededRng(seed);
  const out: HistogramLine[] = [];
  for (let s = 1; s <= 300; s++) {
    if (s % 37 === 0) continue;
    const endpoints: Record<string, string> = {};
    for (const name of ['a', 'b', 'c']) {
      const n = s % 53 === 0 ? 0 : Math.floor(30 * rng());
      const slow = s > 120 && s < 140 ? 20 : 1;
      endpoints[name] = encodeMs(Array.from({ length: n }, () => scaleMs * slow * Math.exp(2 + 0.7 * normal(rng))));
    }
    out.push({ tMs: s * 1000, elapsedS: s, unit: 'us', endpoints });
    if (s === 200) out.push({ tMs: s * 1000, elapsedS: s, unit: 'us', endpoints: { a: encodeMs([5, 6, 7]) } });
  }
  return out;
}

const trailing = (widthS: number): WindowS[] => Array.from({ length: 310 }, (_, i) => ({ fromS: i - widthS + 1, toS: i }));

describe('rolling window statistics: the same numbers as merging each window in full', () => {
  it.each([
    ['trailing 10-s windows', trailing(10)],
    ['trailing 5-s windows', trailing(5)],
    ['one-second windows', trailing(1)],
    [
      'windows out of order, disjoint and empty',
      [
        { fromS: 250, toS: 290 },
        { fromS: 3, toS: 40 },
        { fromS: 35, toS: 36 },
        { fromS: 400, toS: 500 },
        { fromS: 1, toS: 300 },
        { fromS: 37, toS: 37 },
      ],
    ],
  ])('%s', (_name, windows) => {
    const idx = new HistogramIndex(lines(3));
    idx.decodeAll();
    const rolled = rollingStats(idx.rollingSource(), windows, (s) => s);
    const full = windows.map((w) => idx.stats(ALL_ENDPOINTS, w));
    expect(rolled).toEqual(full);
    expect(rolled.filter((s) => s === null).length).toBeGreaterThan(0);
    // rollingMeans: the count and mean of the same windows, to the bit
    expect(rollingMeans(idx.rollingSource(), windows)).toEqual(full.map((s) => s && { count: s.count, meanMs: s.meanMs }));
  });

  it('sums past 2^53 (minute-long latencies) are merged in full instead, still equal', () => {
    const idx = new HistogramIndex(lines(5, 4000));
    const windows = trailing(10);
    const full = windows.map((w) => idx.stats(ALL_ENDPOINTS, w));
    expect(rollingStats(idx.rollingSource(), windows, (s) => s)).toEqual(full);
    expect(rollingMeans(idx.rollingSource(), windows)).toEqual(full.map((s) => s && { count: s.count, meanMs: s.meanMs }));
  });

  it('rollingMeans: a non-integer count (not one any writer makes) takes rollingStats, same numbers', () => {
    const idx = new HistogramIndex(lines(9));
    const src = idx.rollingSource();
    const halved = {
      ...src,
      histogramAt: (i: number) => {
        const h = src.histogramAt(i);
        return h && i === 40 ? { ...h, counts: Float64Array.from(h.counts, (c, j) => (j === 0 ? c + 0.5 : c)) } : h;
      },
    };
    const windows = trailing(5);
    expect(rollingMeans(halved, windows)).toEqual(rollingStats(halved, windows, (s) => s && { count: s.count, meanMs: s.meanMs }));
    expect(rollingMeans(halved, windows).some((m) => m !== null && !Number.isInteger(m.count))).toBe(true);
  });
});

describe('rollingTotals: aggregate() counts per window from prefix sums', () => {
  const record = buildRecord(
    Array.from({ length: 120 }, (_, i) => ({
      phase: 'hold',
      users: 10,
      latenciesMs: { a: Array.from({ length: (i * 7) % 13 }, () => 5) },
      errors: i % 9 === 0 ? { a: { '5xx': 1, timeout: i % 2 } } : undefined,
    })),
  );
  const windows = [...trailing(10), { fromS: 50, toS: 20 }, { fromS: 500, toS: 600 }];
  const expected = (series: readonly SeriesPoint[]): { seconds: number; count: number; errors: number }[] =>
    windows.map((w) => aggregate(series, w)).map((a) => ({ seconds: a.seconds, count: a.count, errors: a.errors }));

  it('integer counts', () => {
    expect(rollingTotals(record.series, windows)).toEqual(expected(record.series));
  });

  it('a non-integer count (not a count any writer makes) falls back to aggregate: same numbers', () => {
    const series = record.series.map((p, i) => (i === 30 ? { ...p, total: { ...p.total, count: 2.5 } } : p));
    expect(rollingTotals(series, windows).map((t) => ({ seconds: t.seconds, count: t.count, errors: t.errors }))).toEqual(expected(series));
  });
});
