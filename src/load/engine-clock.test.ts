// The engine's record of time and of the stop, against targets whose capacity is set by the test.
import { describe, expect, it } from 'vitest';
import { runLoad } from './engine.ts';
import { planShape } from './shapes/registry.ts';
import { startCapacityServer } from './testing/capacity-server.ts';
import { flow, see, type Seen } from './testing/engine-seen.ts';
import { allowTarget } from '../config/target.ts';

describe('engine clock: one line per second, whatever the users loops do', () => {
  const DURATION_MS = 6_000;
  it('an overloaded worker (its loop busy for 2.5 s) leaves no second missing; each line is written before the next second', async () => {
    const server = await startCapacityServer(4, 10);
    try {
      const seen: Seen[] = [];
      await runLoad({
        flow,
        target: allowTarget(server.url, [], 'test'),
        timeline: planShape({ kind: 'ramp', users: 16, rampUpMs: 0, durationMs: DURATION_MS }),
        thinkMinMs: 0,
        thinkMaxMs: 0,
        requestTimeoutMs: 5_000,
        workers: 1,
        stallWorkers: { atMs: 1_500, forMs: 2_500 },
        onSecond: (s) => seen.push(see(s)),
      });
      const whole = seen.filter((s) => !s.final);
      // no second missing: 1..N in order. The last tick falls on the stop instant itself, and on a real clock either
      // timer may fire first, so N is 5 or 6 here; which one wins is asserted exactly on fake time
      // (engine-coordinator.test.ts: the stop's own second is the final line).
      const lastWhole = whole.length;
      expect(lastWhole).toBeGreaterThanOrEqual(DURATION_MS / 1000 - 1);
      expect(lastWhole).toBeLessThanOrEqual(DURATION_MS / 1000);
      expect(whole.map((s) => s.elapsedS)).toEqual(Array.from({ length: lastWhole }, (_, i) => i + 1));
      // on time: written before the next second begins, even while the worker could not answer
      for (const s of whole) expect(s.lagMs).toBeLessThan(1_000);
      // the stalled worker answered nothing during its stall: those seconds are empty, not missing
      expect(whole.some((s) => s.count === 0)).toBe(true);
      // and what it did afterwards is recorded in the seconds after
      expect(whole[4]!.count).toBeGreaterThan(0);
      expect(seen.at(-1)?.final).toBe(true);
    } finally {
      await server.close();
    }
  });
});

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
