import { describe, expect, it } from 'vitest';
import type { Scenario } from '../config/schema.ts';
import type { RunSummary } from '../store/run-writer.ts';
import { LiveVerdictTracker } from './live-verdicts.ts';

const scenario = { shape: { kind: 'ramp' }, thinkTime: { minMs: 0, maxMs: 0 }, stopOnBreak: false, slo: { p95Ms: 500, errorRatio: 0.01 } } as unknown as Scenario;
const summary = (p95Ms: number, errorRatio: number): RunSummary =>
  ({ durationS: 60, endpoints: [], droppedLate: 0, maxCpuCores: 0, total: { name: 'Aggregated', method: '', count: 100, failures: 0, errorRatio, rps: 10, meanMs: 1, p50Ms: 1, p95Ms, p99Ms: 1, maxMs: 1 } }) as unknown as RunSummary;

describe('LiveVerdictTracker', () => {
  it('reports SLO status from the summary so far', () => {
    const t = new LiveVerdictTracker(scenario);
    expect(t.verdicts(summary(100, 0)).slo.map((s) => s.pass)).toEqual([true, true]);
    expect(t.verdicts(summary(900, 0.5)).slo.map((s) => s.pass)).toEqual([false, false]);
  });

  it('fits the working-set slope in bytes/hour, robust to one outlier, with bounded history over 8 hours', () => {
    const t = new LiveVerdictTracker(scenario);
    const perHour = 20 * 1024 * 1024;
    for (let s = 0; s < 8 * 3600; s++) t.noteWorkingSet('app', s, 100e6 + (perHour * s) / 3600 + (s === 5000 ? 400e6 : 0));
    const slope = t.verdicts(summary(1, 0)).leakSlopeBytesPerHour.app ?? 0;
    expect(Math.abs(slope - perHour) / perHour).toBeLessThan(0.01);
    // internal history stays bounded: the thinned series never exceeds its cap
    const points = (t as unknown as { points: Map<string, { tS: number[] }> }).points.get('app')?.tS.length ?? 0;
    expect(points).toBeLessThan(240);
  });

  it('gives no slope before half a minute of data, and keeps the first breaking point', () => {
    const t = new LiveVerdictTracker(scenario);
    for (let s = 0; s < 20; s++) t.noteWorkingSet('app', s, 1e6 * s);
    t.noteBreak(500);
    t.noteBreak(1000);
    const v = t.verdicts(summary(1, 0));
    expect(v.leakSlopeBytesPerHour).toEqual({});
    expect(v.breakingPointUsers).toBe(500);
  });
});
