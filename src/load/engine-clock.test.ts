// The engine's record of the stop against a target whose capacity is set by the test: no second may exceed that
// capacity. A neighbour that delays the engine's tick stretches a second beyond its 1 s, and the bound with it, so
// this file runs alone (unit-realtime, vitest.config.ts). The clock under a stalled worker is engine-stall.test.ts.
import { describe, expect, it } from 'vitest';
import { runLoad } from './engine.ts';
import { planShape } from './shapes/registry.ts';
import { startCapacityServer } from './testing/capacity-server.ts';
import { flow, see, type Seen } from './testing/engine-seen.ts';
import { allowTarget } from '../config/target.ts';

describe('the stop: requests in flight are cancelled, never completions', () => {
  // 4 slots × 20 ms = 200 req/s. The server finishes requests in batches of `slots`, so a window of d seconds
  // holds at most capacity × d + slots completions; 10 % on top for the second boundaries' jitter.
  const slots = 4;
  const serviceMs = 20;
  const capacityRps = (slots * 1000) / serviceMs;
  const bound = (durationS: number): number => 1.1 * (capacityRps * durationS + slots);

  for (const [label, thinkMs, users] of [
    ['zero-think users (autocannon)', 0, [2, 8, 16]],
    ['think-time users (node:http)', 20, [4, 16, 40]],
  ] as const) {
    it(`${label}: no second exceeds the capacity by more than 10 %, the last partial one included; cancelled stay out of counts and latencies`, async () => {
      const server = await startCapacityServer(slots, serviceMs);
      try {
        const seen: Seen[] = [];
        const res = await runLoad({
          flow,
          target: allowTarget(server.url, [], 'test'),
          timeline: planShape({ kind: 'steps', users: [...users], rampUpMs: 300, holdMs: 1_200, recoveryMs: 0 }),
          thinkMinMs: thinkMs,
          thinkMaxMs: thinkMs,
          requestTimeoutMs: 5_000,
          workers: 1,
          onSecond: (s) => seen.push(see(s)),
        });
        expect(res.stoppedBy).toBe('completed');
        const last = seen.at(-1)!;
        expect(last.final).toBe(true);
        let prevS = 0;
        for (const s of seen) {
          const durationS = s.elapsedS - prevS;
          prevS = s.elapsedS;
          expect(s.count, `second ending at ${s.elapsedS} s`).toBeLessThanOrEqual(bound(durationS));
          // a cancelled request never has a latency
          expect(s.histCount).toBe(s.count);
        }
        // the last step saturates the target: requests were queued there at the stop
        expect(last.cancelled).toBeGreaterThan(0);
        expect(last.cancelled).toBeLessThanOrEqual(users.at(-1)!);
        expect(seen.slice(0, -1).every((s) => s.cancelled === 0)).toBe(true);
        // every recorded completion was served by the target
        expect(seen.reduce((n, s) => n + s.count, 0)).toBeLessThanOrEqual(server.served());
      } finally {
        await server.close();
      }
    });
  }
});
