// Property: for random samples split at random over workers and seconds, the merged second equals the second of
// all samples in one process — histogram bucket for bucket, counts, errors, bytes and failures summed.
import { describe, expect, it } from 'vitest';
import { createLatencyHistogram, encodeHistogram, recordLatencyUs } from '../histogram.ts';
import { Recorder } from '../recorder.ts';
import { seededRng } from '../../analysis/stats.ts';
import { FleetMerger } from './merge.ts';
import { shareOf, shareTimeline, type WorkerSecond } from './protocol.ts';

/** seeded, so a failing trial can be replayed from its seed */
const rng = seededRng;

const ENDPOINTS = ['home', 'search', 'buy'];
const START_MS = 1_000_000;

function report(rec: Recorder, elapsedS: number, final: boolean): WorkerSecond {
  return { elapsedS, final, phase: 'hold', activeUsers: 1, cpuCores: 0.1, hostCores: 2, host: 'h', startedAtMs: START_MS, data: rec.flush(), events: [] };
}

describe('FleetMerger', () => {
  it('merged per-second histograms equal the histogram of all samples, for random splits (200 trials)', () => {
    for (let trial = 0; trial < 200; trial++) {
      const r = rng(trial + 1);
      const workers = 1 + Math.floor(r() * 5);
      const seconds = 1 + Math.floor(r() * 4);
      const merger = new FleetMerger(workers, START_MS);
      const expected = new Map<number, Map<string, { hist: ReturnType<typeof createLatencyHistogram>; count: number; errors5xx: number; bytes: number }>>();
      for (let k = 1; k <= seconds + 1; k++) {
        const final = k === seconds + 1;
        const byEndpoint = new Map<string, { hist: ReturnType<typeof createLatencyHistogram>; count: number; errors5xx: number; bytes: number }>();
        expected.set(k, byEndpoint);
        const recs = Array.from({ length: workers }, () => new Recorder());
        const n = Math.floor(r() * 400);
        for (let i = 0; i < n; i++) {
          const name = ENDPOINTS[Math.floor(r() * ENDPOINTS.length)]!;
          // log-uniform 1 µs .. 10 s: every magnitude the histogram covers
          const us = Math.exp(r() * Math.log(10_000_000));
          const status = r() < 0.05 ? 503 : 200;
          const bytes = Math.floor(r() * 1000);
          recs[Math.floor(r() * workers)]!.response(name, 'GET', us, status >= 500 ? '5xx' : undefined, bytes, status);
          let e = byEndpoint.get(name);
          if (!e) byEndpoint.set(name, (e = { hist: createLatencyHistogram(), count: 0, errors5xx: 0, bytes: 0 }));
          recordLatencyUs(e.hist, us);
          e.count++;
          e.bytes += bytes;
          if (status >= 500) e.errors5xx++;
        }
        // workers report in random order
        const order = recs.map((_, i) => i).sort(() => r() - 0.5);
        for (const i of order) merger.add(i, report(recs[i]!, final ? seconds + r() * 0.9 : k, final));
      }
      const merged = [...merger.ready(START_MS, 0), ...merger.drain()];
      expect(merged.map((m) => m.sample.final)).toEqual([...Array<boolean>(seconds).fill(false), true]);
      merged.forEach((m, i) => {
        const want = expected.get(i + 1)!;
        expect(
          [...m.sample.endpoints.entries()]
            .filter(([, e]) => e.count > 0)
            .map(([name]) => name)
            .sort(),
        ).toEqual([...want.keys()].sort());
        for (const [name, w] of want) {
          const got = m.sample.endpoints.get(name)!;
          expect(encodeHistogram(got.hist), `trial ${trial} second ${i + 1} ${name}`).toBe(encodeHistogram(w.hist));
          expect(got.hist.totalCount).toBe(w.count);
          expect([got.count, got.errors['5xx'], got.bytes]).toEqual([w.count, w.errors5xx, w.bytes]);
        }
        const failures = Object.values(m.sample.failures).reduce((a, b) => a + b, 0);
        expect(failures).toBe([...want.values()].reduce((a, e) => a + e.errors5xx, 0));
        expect(m.sample.cpuCores).toBeCloseTo(0.1 * workers, 6);
      });
    }
  });

  it('waits for every live worker, or for the wait window; a late second lands in the next one', () => {
    const m = new FleetMerger(2, START_MS);
    const a = new Recorder();
    a.response('home', 'GET', 1000, undefined, 10, 200);
    m.add(0, report(a, 1, false));
    expect(m.ready(START_MS + 1000, 500)).toEqual([]);
    const [first] = m.ready(START_MS + 1500, 500);
    expect(first!.sample.endpoints.get('home')!.count).toBe(1);
    expect(Object.keys(first!.workers)).toEqual(['0']);
    const b = new Recorder();
    b.response('home', 'GET', 2000, undefined, 10, 200);
    m.add(1, report(b, 1, false));
    a.response('home', 'GET', 3000, undefined, 10, 200);
    m.add(0, report(a, 2, false));
    m.add(1, report(new Recorder(), 2, false));
    const [second] = m.ready(START_MS + 2000, 500);
    expect(second!.sample.endpoints.get('home')!.count).toBe(2);
    expect(second!.sample.elapsedS).toBe(2);
    m.markGone(1);
    expect(m.allDone).toBe(false);
    m.add(0, report(new Recorder(), 2.4, true));
    expect(m.allDone).toBe(true);
    expect(m.drain().map((s) => [s.sample.elapsedS, s.sample.final])).toEqual([[2.4, true]]);
  });
});

describe('shareTimeline', () => {
  it('splits users with the remainder to the lowest indices, and the rate evenly; shares sum to the plan', () => {
    expect([0, 1, 2].map((i) => shareOf(10, 3, i))).toEqual([4, 3, 3]);
    const tl = {
      steps: [
        { atMs: 0, users: 7, phase: 'hold' },
        { atMs: 1000, users: 0, phase: 'end' },
      ],
      durationMs: 1000,
      recovery: { users: 5, durationMs: 100 },
    };
    const parts = [0, 1, 2].map((i) => shareTimeline(tl, 3, i));
    expect(parts.map((p) => p.steps[0]!.users)).toEqual([3, 2, 2]);
    expect(parts.map((p) => p.recovery!.users)).toEqual([2, 2, 1]);
    const open = shareTimeline({ ...tl, open: { rateRps: 90, maxInFlight: 10 } }, 3, 2);
    expect(open.open).toEqual({ rateRps: 30, maxInFlight: 3 });
  });
});
