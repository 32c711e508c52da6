import { describe, expect, it } from 'vitest';
import { HistogramIndex } from './histograms.ts';
import { evaluateSlo, type SloResult, type SloSpec } from './slo.ts';
import { buildRecord, constant, type SecondSpec } from './testing/build-record.ts';
import type { WindowS } from './types.ts';

/** 60 s: api 20 req/s at 100 ms (1 of them a timeout), health 10 req/s at 5 ms; a 'rare' endpoint with 10 requests in all. */
const specs: SecondSpec[] = Array.from({ length: 60 }, (_, i) => ({
  phase: 'hold',
  users: 10,
  latenciesMs: { api: constant(20, 100), health: constant(10, 5), ...(i < 10 ? { rare: [50] } : {}) },
  errors: { api: { timeout: 1 } },
}));
const rec = buildRecord(specs);
const hist = new HistogramIndex(rec.histograms);
const ALL: WindowS[] = [{ fromS: 1, toS: 60 }];

interface Case {
  name: string;
  spec: SloSpec | undefined;
  windows: WindowS[];
  expected: Partial<SloResult>[];
}

// requests: 30/s; p95 over all = 100 ms (api is 2/3 of them); errors 1/30
const cases: Case[] = [
  { name: 'no SLO → no rows', spec: undefined, windows: ALL, expected: [] },
  { name: 'p95 under the limit passes', spec: { p95Ms: 150 }, windows: ALL, expected: [{ name: 'p95 <= 150', status: 'pass', unit: 'ms' }] },
  { name: 'p95 over the limit fails', spec: { p95Ms: 50 }, windows: ALL, expected: [{ name: 'p95 <= 50', status: 'fail' }] },
  { name: 'p50 from the merged histogram (health + api)', spec: { p50Ms: 50 }, windows: ALL, expected: [{ status: 'fail' }] },
  {
    name: 'error ratio 1/30 over 1 % fails',
    spec: { errorRatio: 0.01 },
    windows: ALL,
    expected: [{ name: 'errorRatio <= 0.01', status: 'fail', unit: 'ratio' }],
  },
  { name: 'error ratio 1/30 under 5 % passes', spec: { errorRatio: 0.05 }, windows: ALL, expected: [{ status: 'pass' }] },
  { name: 'goodput 29 rps meets 25', spec: { minThroughputRps: 25 }, windows: ALL, expected: [{ name: 'goodputRps >= 25', status: 'pass', unit: 'rps' }] },
  { name: 'errors do not count as throughput: 29 < 30', spec: { minThroughputRps: 30 }, windows: ALL, expected: [{ status: 'fail' }] },
  {
    name: 'no window → no-data, never pass',
    spec: { p95Ms: 150, errorRatio: 0.05, minThroughputRps: 1 },
    windows: [],
    expected: [{ status: 'no-data' }, { status: 'no-data' }, { status: 'no-data' }],
  },
  {
    name: 'per-endpoint limits',
    spec: { endpoints: { health: { p99Ms: 10 }, api: { p99Ms: 10 } } },
    windows: ALL,
    expected: [
      { name: 'health.p99 <= 10', status: 'pass' },
      { name: 'api.p99 <= 10', status: 'fail' },
    ],
  },
  {
    name: 'fewer than 20 requests → percentile no-data',
    spec: { endpoints: { rare: { p95Ms: 100 } } },
    windows: ALL,
    expected: [{ name: 'rare.p95 <= 100', status: 'no-data', observed: null }],
  },
  { name: 'unknown endpoint → no-data', spec: { endpoints: { missing: { p95Ms: 100 } } }, windows: ALL, expected: [{ status: 'no-data' }] },
  { name: 'a non-finite limit is ignored', spec: { p95Ms: Number.NaN }, windows: ALL, expected: [] },
];

describe('evaluateSlo (table)', () => {
  it.each(cases)('$name', ({ spec, windows, expected }) => {
    const got = evaluateSlo(spec, rec.series, hist, windows);
    expect(got).toHaveLength(expected.length);
    expected.forEach((e, i) => expect(got[i]).toMatchObject(e));
  });

  it('observed values are the merged figures', () => {
    const [p95, err, x] = evaluateSlo({ p95Ms: 150, errorRatio: 0.05, minThroughputRps: 1 }, rec.series, hist, ALL);
    expect(p95!.observed).toBeCloseTo(100, 0);
    expect(err!.observed).toBeCloseTo(60 / (60 * 30 + 10), 4);
    expect(x!.observed).toBeCloseTo((60 * 30 + 10 - 60) / 60, 4);
  });
});
