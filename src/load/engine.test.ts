// The engine's throughput against a target of known capacity (8 slots × 20 ms): a measurement that needs the cores, so
// this file runs alone (unit-realtime, vitest.config.ts). The flow and think-time test is engine-flow.test.ts.
import { describe, expect, it } from 'vitest';
import { runLoad } from './engine.ts';
import { planShape } from './shapes/registry.ts';
import { startCapacityServer } from './testing/capacity-server.ts';
import { allowTarget } from '../config/target.ts';

describe('load engine against a target of known capacity', () => {
  it('measures a known capacity: 8 slots × 20 ms ≈ 400 req/s at saturation (±10 %)', async () => {
    const server = await startCapacityServer(8, 20);
    try {
      const counts: number[] = [];
      await runLoad({
        flow: { onStart: [], tasks: [{ name: 'work', method: 'GET', path: '/', headers: {}, capture: {}, weight: 1 }] },
        target: allowTarget(server.url, [], 'test'),
        timeline: planShape({ kind: 'ramp', users: 32, rampUpMs: 0, durationMs: 5_000 }),
        thinkMinMs: 0,
        thinkMaxMs: 0,
        requestTimeoutMs: 5_000,
        workers: 1,
        onSecond: (s) => counts.push(s.endpoints.get('work')?.count ?? 0),
      });
      // drop the first (warm-up) and the last (partial) second
      const steady = counts.slice(1, -1);
      const rps = steady.reduce((a, b) => a + b, 0) / steady.length;
      expect(rps).toBeGreaterThan(400 * 0.9);
      expect(rps).toBeLessThan(400 * 1.1);
    } finally {
      await server.close();
    }
  });
});
