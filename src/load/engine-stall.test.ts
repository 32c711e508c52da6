// The engine's clock with real worker threads: a worker whose loop is stalled does not stop the main thread writing
// one line per second. Its bounds hold beside a neighbour file, so it runs with the other unit files (vitest.config.ts):
// each line may wait FLUSH_WAIT_MS (500 ms) for the stalled worker and must still be written within 1 s of its tick,
// the last whole second is 5 or 6 either way, and the stall's seconds are empty by construction. The exact instants
// are asserted on fake time in engine-coordinator.test.ts.
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
