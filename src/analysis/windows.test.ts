import { describe, expect, it } from 'vitest';
import { mserTruncation } from './mser.ts';
import { normal, seededRng } from './stats.ts';
import type { SeriesPoint } from './types.ts';
import { loadSegments, MIN_LEVEL_S } from './windows.ts';

const point = (elapsedS: number, phase: string, users: number, count: number): SeriesPoint => ({
  tMs: 1_700_000_000_000 + elapsedS * 1000,
  elapsedS,
  phase,
  activeUsers: users,
  endpoints: {},
  total: { count, errors: {}, bytes: 0, p50Ms: 0, p95Ms: 0, p99Ms: 0, maxMs: 0 },
  generator: { cpuCores: 0.1 },
});

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('MSER-5 truncation on a known warm-up', () => {
  // y_t = c + A·e^{−t/τ} + N(0, σ²). MSER-5 estimates the MSE of the truncated mean (variance + bias²), so the bias its
  // cut leaves in the steady mean is at most about one standard error σ/√(n−d); 2 SE allows for the 5-s batch grid.
  it.each([
    { a: 100, sigma: 5, tau: 4, n: 60 },
    { a: 50, sigma: 5, tau: 3, n: 20 },
    { a: 200, sigma: 10, tau: 6, n: 120 },
  ])('exponential warm-up A=$a σ=$sigma τ=$tau n=$n: residual bias ≤ 2 SE and cut ≤ n/2 in ≥ 95 of 100 seeds', ({ a, sigma, tau, n }) => {
    let ok = 0;
    for (let seed = 0; seed < 100; seed++) {
      const rng = seededRng(seed);
      const bias = Array.from({ length: n }, (_, t) => a * Math.exp(-t / tau));
      const cut = mserTruncation(bias.map((b) => 200 + b + sigma * normal(rng)))!;
      const left = bias.slice(cut);
      if (cut <= n / 2 && mean(left) <= (2 * sigma) / Math.sqrt(left.length)) ok++;
    }
    expect(ok).toBeGreaterThanOrEqual(95);
  });

  // The shift (50) is ~50 batch standard errors: leaving one shifted batch in always costs more than it saves, so the
  // cut is never below 15 s. Above it MSER may trade a batch of pure noise for a smaller spread (its known upward
  // scatter), bounded by the half-way cap; the exact answer must still be the most common one.
  it('a level shift of known length (15 s at +50 %, 2 % noise): cut in [15, 30] s in every seed, at 15 s in most', () => {
    const cuts: number[] = [];
    for (let seed = 0; seed < 100; seed++) {
      const rng = seededRng(seed);
      cuts.push(mserTruncation(Array.from({ length: 60 }, (_, t) => (t < 15 ? 150 : 100) * (1 + 0.02 * normal(rng))))!);
    }
    expect(Math.min(...cuts)).toBe(15);
    expect(Math.max(...cuts)).toBeLessThanOrEqual(30);
    expect(cuts.filter((c) => c === 15).length).toBeGreaterThan(50);
  });

  it('a flat series is not cut, and too few batches give no answer', () => {
    expect(mserTruncation(Array.from({ length: 40 }, () => 100))).toBe(0);
    expect(mserTruncation([1, 2, 3, 4, 5, 6, 7, 8, 9])).toBeUndefined();
  });

  it('never cuts past half the batches, even on a series that never settles', () => {
    const cut = mserTruncation(Array.from({ length: 60 }, (_, t) => 1000 - 10 * t))!;
    expect(cut).toBeLessThanOrEqual(30);
  });
});

describe('loadSegments: steady parts from the data', () => {
  it('a 5-s ramp + 20-s hold ladder step at 1 Hz leaves a judged window after the users are reached', () => {
    const series: SeriesPoint[] = [];
    for (let s = 1; s <= 25; s++) series.push(point(s, 'step-1:100', Math.min(100, s * 20), s <= 5 ? s * 18 : 90));
    const [seg] = loadSegments(series);
    expect(seg!.steady).not.toBeNull();
    expect(seg!.steady!.fromS).toBeGreaterThanOrEqual(5); // 100 users from the 5th second on
    expect(seg!.steady!.fromS).toBeLessThanOrEqual(1 + 12); // at most half the 25-s segment in
    expect(seg!.steady!.toS).toBe(25);
  });

  it('the stop second (0 users) and the drain are never inside the steady window', () => {
    const series: SeriesPoint[] = [];
    for (let s = 1; s <= 60; s++) series.push(point(s, 'hold', 100, 50));
    series.push(point(60.4, 'hold', 0, 95)); // the stop line: in-flight requests finished after the deadline
    const [seg] = loadSegments(series);
    expect(seg!.steady).toEqual({ fromS: 1, toS: 60 });
  });

  it('a segment too short at its level says how many seconds it needed', () => {
    const series: SeriesPoint[] = [];
    for (let s = 1; s <= 12; s++) series.push(point(s, 'step-2:200', s <= 4 ? 150 : 200, 100));
    const [seg] = loadSegments(series);
    expect(seg!.steady).toBeNull();
    expect(seg!.steadyNote).toBe(`needs ≥ ${MIN_LEVEL_S} s at 200 users for a steady part (had 8 s)`);
  });

  it('a latency-only warm-up of 20 s (flat throughput) is cut', () => {
    const rng = seededRng(7);
    const series: SeriesPoint[] = [];
    const latency = new Map<number, number>();
    for (let s = 1; s <= 90; s++) {
      series.push(point(s, 'hold', 50, Math.round(100 + 3 * normal(rng))));
      latency.set(s, (s <= 20 ? 400 : 40) * (1 + 0.05 * normal(rng)));
    }
    const seg = loadSegments(series, { latencyMsAt: (s) => latency.get(s) ?? null })[0]!;
    expect(seg.steady!.fromS).toBeGreaterThanOrEqual(21); // never leaves the slow seconds in
    expect(seg.steady!.fromS).toBeLessThanOrEqual(1 + 45); // at most half the 90-s segment in
    expect(seg.transientS).toBe(seg.steady!.fromS - 1);
  });

  it('ramp and end phases have no steady part', () => {
    const series = [point(1, 'ramp', 10, 5), ...Array.from({ length: 20 }, (_, i) => point(2 + i, 'ramp', 10 + i, 5)), point(22, 'end', 0, 0)];
    expect(loadSegments(series).map((s) => s.steady)).toEqual([null, null]);
  });
});
