import { describe, expect, it } from 'vitest';
import type { Clock } from '../../common/clock.ts';
import { freePort } from '../../common/testing/free-port.ts';
import { CoordinatorClient } from './worker-client.ts';
import { WORKER_START_ALLOWANCE_MS } from './port.ts';

/** Fake time: a sleep moves the clock at once (the connections are real, to a closed loopback port). */
function fakeClock(): Clock & { sleptMs: number } {
  let nowMs = 0;
  const c = {
    sleptMs: 0,
    nowMs: () => nowMs,
    monotonicMs: () => nowMs,
    setTimer: () => ({ cancel: () => {} }),
    sleep: (ms: number) => {
      nowMs += ms;
      c.sleptMs += ms;
      return Promise.resolve();
    },
  };
  return c;
}

describe('a worker’s first contact', () => {
  it('retries an unreachable coordinator for the allowance it was given, then gives up (never longer than one back-off step over)', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    for (const allowanceMs of [1_500, 7_000]) {
      const clock = fakeClock();
      await expect(new CoordinatorClient(url, 0, 't', clock).assignment(allowanceMs)).rejects.toThrow(/unreachable/);
      expect(clock.sleptMs).toBeGreaterThanOrEqual(allowanceMs);
      // back-off is 500 ms × attempt, capped at 2 s: the last sleep ends at most 2 s past the allowance
      expect(clock.sleptMs).toBeLessThan(allowanceMs + 2_000);
    }
  });

  it('without one, it retries for WORKER_START_ALLOWANCE_MS (a static manifest’s pod may start before its coordinator)', async () => {
    const clock = fakeClock();
    await expect(new CoordinatorClient(`http://127.0.0.1:${await freePort()}`, 0, 't', clock).assignment()).rejects.toThrow(/unreachable/);
    expect(clock.sleptMs).toBeGreaterThanOrEqual(WORKER_START_ALLOWANCE_MS);
    expect(clock.sleptMs).toBeLessThan(WORKER_START_ALLOWANCE_MS + 2_000);
  });
});
