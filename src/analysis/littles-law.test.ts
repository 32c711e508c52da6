import { describe, expect, it } from 'vitest';
import { littleCheck, LITTLE_SYSTEMATIC_TOLERANCE } from './littles-law.ts';
import { seededRng } from './stats.ts';

/**
 * A closed system simulated exactly: N users, each cycling response R (uniform [rLo, rHi] ms) + think Z (uniform
 * [zLo, zHi] ms), started at a random phase of its first cycle (so the window sees a stationary process). Returns
 * the completions counted in a window of T seconds, with the per-request response times.
 */
function simulate(seed: number, users: number, windowS: number, [rLo, rHi]: [number, number], [zLo, zHi]: [number, number]) {
  const rng = seededRng(seed);
  const u = (a: number, b: number): number => a + (b - a) * rng();
  const endMs = windowS * 1000;
  let count = 0;
  let sumR = 0;
  let sumR2 = 0;
  for (let i = 0; i < users; i++) {
    // equilibrium start: the first completion falls at a uniform point of a first cycle
    let t = -u(0, (rLo + rHi) / 2 + (zLo + zHi) / 2);
    while (t < endMs) {
      const r = u(rLo, rHi);
      t += r;
      if (t >= 0 && t < endMs) {
        count++;
        sumR += r;
        sumR2 += r * r;
      }
      t += u(zLo, zHi);
    }
  }
  const mean = sumR / count;
  return { count, meanMs: mean, varMs2: Math.max(0, sumR2 / count - mean * mean) };
}

describe("Little's law check: tolerance from the window's own sampling noise", () => {
  const CASES: [string, number, number][] = [
    // the demo's hold after the transient cut: 100 users thinking 1–3 s, a 10-s and a 30-s window
    ['100 users, 10 s', 100, 10],
    ['100 users, 30 s', 100, 30],
    // a short step of a small ladder: 20 users, 10 s (≈ 100 requests)
    ['20 users, 10 s', 20, 10],
  ];
  it.each(CASES)('a consistent system (%s) is judged consistent in ≥ 99 of 100 windows', (_name, users, windowS) => {
    let flagged = 0;
    let fixedFlagged = 0;
    for (let seed = 0; seed < 100; seed++) {
      const s = simulate(seed + 1, users, windowS, [5, 30], [1000, 3000]);
      const c = littleCheck({
        users,
        count: s.count,
        seconds: windowS,
        meanResponseMs: s.meanMs,
        responseVarianceMs2: s.varMs2,
        thinkMinMs: 1000,
        thinkMaxMs: 3000,
      });
      if (c.deviation > c.tolerance) flagged++;
      if (c.deviation > LITTLE_SYSTEMATIC_TOLERANCE) fixedFlagged++;
    }
    console.info(_name, { flagged, fixedTenPercentFlagged: fixedFlagged });
    expect(flagged).toBeLessThanOrEqual(1);
  });

  it('a client that runs only 70 % of the users it reports (queueing on its side) is still flagged on a 30-s window', () => {
    let flagged = 0;
    for (let seed = 0; seed < 100; seed++) {
      const s = simulate(seed + 1, 70, 30, [5, 30], [1000, 3000]);
      const c = littleCheck({
        users: 100,
        count: s.count,
        seconds: 30,
        meanResponseMs: s.meanMs,
        responseVarianceMs2: s.varMs2,
        thinkMinMs: 1000,
        thinkMaxMs: 3000,
      });
      if (c.deviation > c.tolerance) flagged++;
    }
    expect(flagged).toBeGreaterThanOrEqual(95);
  });

  it('the tolerance shrinks towards the systematic part as the window grows', () => {
    const at = (seconds: number): number =>
      littleCheck({ users: 100, count: 50 * seconds, seconds, meanResponseMs: 20, responseVarianceMs2: 50, thinkMinMs: 1000, thinkMaxMs: 3000 }).tolerance;
    expect(at(10)).toBeGreaterThan(at(60));
    expect(at(3600)).toBeCloseTo(LITTLE_SYSTEMATIC_TOLERANCE, 2);
  });
});
