// The leak detector on memory recorded from real soaks of the reference stack (testdata/leak-real-runs.json: the
// steady part of 7.5-min runs with LEAK_BYTES_PER_REQUEST=65536, several runs, each with its own app sawtooth).
// The app must FAIL with the slope of bytes × req/s; Postgres, whose working set grows as it caches the pages of a
// growing ledger table while its own memory stays flat, must never FAIL.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectLeak, MIB } from './leak.ts';

interface RealRun {
  run: string;
  limitBytes: { app: number; postgres: number };
  tS: number[];
  requests: number[];
  app: { workingSetKiB: number[]; rssKiB: number[] };
  postgres: { workingSetKiB: number[]; rssKiB: number[] };
}
const fixture = JSON.parse(readFileSync(join(import.meta.dirname, 'testdata', 'leak-real-runs.json'), 'utf8')) as {
  leakBytesPerRequest: number;
  runs: RealRun[];
};
const bytes = (kib: readonly number[]): number[] => kib.map((k) => k * 1024);

describe('leak detector on real soaks of the reference stack', () => {
  it('has several runs recorded', () => expect(fixture.runs.length).toBeGreaterThanOrEqual(5));

  it.each(fixture.runs.map((r) => [r.run, r] as const))('%s: app FAIL_LEAK, slope within 15 %% of bytes × req/s; postgres never FAIL', (_, run) => {
    const app = detectLeak({ tS: run.tS, bytes: bytes(run.app.workingSetKiB), anonBytes: bytes(run.app.rssKiB), limitBytes: run.limitBytes.app });
    expect(app.kind, app.reason).toBe('FAIL_LEAK');
    const fromS = run.tS[0]! + app.warmupCutS!;
    const reqs = run.requests.filter((_, i) => run.tS[i]! >= fromS);
    const expected = (fixture.leakBytesPerRequest * reqs.reduce((a, b) => a + b, 0) * 3600) / reqs.length;
    expect(
      Math.abs(app.slopeBytesPerHour! - expected) / expected,
      `${(app.slopeBytesPerHour! / MIB).toFixed(0)} vs ${(expected / MIB).toFixed(0)} MiB/h`,
    ).toBeLessThan(0.15);
    const pg = detectLeak({ tS: run.tS, bytes: bytes(run.postgres.workingSetKiB), anonBytes: bytes(run.postgres.rssKiB), limitBytes: run.limitBytes.postgres });
    expect(['PASS', 'INCONCLUSIVE', 'WARN_CACHE_GROWTH'], pg.reason).toContain(pg.kind);
  });
});

describe('Postgres working-set growth on a real soak', () => {
  it('one recorded run grows enough for a working-set-only test to call a leak; anonymous memory shows it is cache', () => {
    const run = fixture.runs.find((r) => r.run.endsWith('leak-889a'))!;
    const ws = { tS: run.tS, bytes: bytes(run.postgres.workingSetKiB), limitBytes: run.limitBytes.postgres };
    expect(detectLeak(ws).kind).toBe('FAIL_LEAK');
    const r = detectLeak({ ...ws, anonBytes: bytes(run.postgres.rssKiB) });
    expect(r.kind, r.reason).toBe('WARN_CACHE_GROWTH');
    expect(Math.abs(r.anonSlopeBytesPerHour!)).toBeLessThan(Math.abs(r.slopeBytesPerHour!) / 5);
  });
});
