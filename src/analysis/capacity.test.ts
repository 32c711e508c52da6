import { describe, expect, it } from 'vitest';
import { analyzeCapacity } from './capacity.ts';
import { steppedRun } from './testing/fixtures.ts';
import { HistogramIndex } from './histograms.ts';
import { buildRecord, constant } from './testing/build-record.ts';
import { loadSegments } from './windows.ts';

const capacityOf = (rec: ReturnType<typeof steppedRun>) =>
  analyzeCapacity(rec.series, new HistogramIndex(rec.histograms), loadSegments(rec.series), rec.events, {
    startMs: rec.startMs,
    model: 'closed',
    rule: { p95Ms: 50, errorRatio: 0.01 },
    usl: { resamples: 50 },
  });

describe('capacity: SLO-predicate breaking point (B6)', () => {
  it('max sustainable = last passing step, breaking point = first failing step, confirmed by the next', () => {
    const c = capacityOf(steppedRun());
    expect(c.breakingPoint).toMatchObject({ users: 50, lastPassUsers: 40, confirmedByNextStep: true });
    expect(c.breakingPoint!.reason).toMatch(/p95 > 50 ms/);
    expect(c.maxThroughputRps).toBeGreaterThan(950);
    expect(c.maxThroughputRps).toBeLessThan(1050);
  });

  it('a single injected 8-s latency spike at a passing step does not change the verdict', () => {
    const a = capacityOf(steppedRun(1));
    const b = capacityOf(steppedRun(1, { spikeAtStep: 3 }));
    expect(b.breakingPoint?.users).toBe(a.breakingPoint?.users);
  });

  it('≥ 4 levels → knee and USL attempted; fewer → explicit notes with the count needed', () => {
    const c = capacityOf(steppedRun());
    expect(c.kneeNote).not.toMatch(/needs/);
    const rec = buildRecord(
      Array.from({ length: 120 }, (_, i) => ({
        phase: `step-${i < 60 ? 1 : 2}:${i < 60 ? 1 : 2}`,
        users: i < 60 ? 1 : 2,
        latenciesMs: { api: constant(10, 10) },
      })),
    );
    const small = capacityOf(rec);
    expect(small.knee).toBeNull();
    expect(small.usl).toBeNull();
    expect(small.uslNote).toMatch(/needs ≥ 4 load levels with a steady part \(have 2\)/);
    expect(small.breakingPoint).toBeNull();
  });

  it('container OOM at the break is part of the failure mode', () => {
    const rec = steppedRun();
    const at = rec.series.find((p) => p.phase === 'step-5:50')!.tMs + 5000;
    const c = analyzeCapacity(
      rec.series,
      new HistogramIndex(rec.histograms),
      loadSegments(rec.series),
      [{ tMs: at, kind: 'container-died', service: 'app', oomKilled: true }],
      { startMs: rec.startMs, model: 'closed', rule: { p95Ms: 50 } },
    );
    expect(c.breakingPoint!.failureMode.containerEvents).toEqual([expect.objectContaining({ service: 'app', oomKilled: true })]);
  });

  it('empty run → no steps, nulls', () => {
    const c = analyzeCapacity([], new HistogramIndex([]), [], [], { startMs: 0, model: 'closed', rule: {} });
    expect(c).toMatchObject({ steps: [], maxThroughputRps: null, breakingPoint: null, knee: null, usl: null });
  });

  it('run stopped on break before the step had a steady part → breaking point from the stop (users, goodput, reason, deaths)', () => {
    // 60 s at 3 users (passing), then 8 s at 40 users with p95 760 ms: the stop rule fired; no steady window
    const specs = [
      ...Array.from({ length: 60 }, () => ({ phase: 'step-1:3', users: 3, latenciesMs: { api: constant(30, 20) } })),
      ...Array.from({ length: 8 }, (_, i) => ({
        phase: 'step-2:40',
        users: i < 2 ? 20 : 40,
        latenciesMs: { api: constant(50, 760) },
        errors: { api: { '5xx': 5 } },
      })),
    ];
    const rec = buildRecord(specs);
    const t = (s: number): number => rec.series[0]!.tMs + (s - 1) * 1000;
    const events = [
      { tMs: t(66), kind: 'stack-container-died', service: 'app', exitCode: 137, oomKilled: false },
      { tMs: t(68), kind: 'break', reason: 'p95 760.0 ms > 300 ms for 3 s at 40 users (step-2:40)', phase: 'step-2:40' },
    ];
    const c = analyzeCapacity(rec.series, new HistogramIndex(rec.histograms), loadSegments(rec.series), events, {
      startMs: rec.startMs,
      model: 'closed',
      rule: { p95Ms: 300 },
    });
    expect(c.steps.map((s) => s.phase)).toEqual(['step-1:3']);
    expect(c.breakingPoint).toMatchObject({ users: 40, phase: 'step-2:40', detectedBy: 'stop-rule', lastPassUsers: 3, confirmedByNextStep: false });
    expect(c.breakingPoint!.throughputRps).toBeCloseTo(45, 0);
    expect(c.breakingPoint!.reason).toContain('p95 760.0 ms > 300 ms for 3 s at 40 users');
    expect(c.breakingPoint!.failureMode.latency.exceeded).toBe(true);
    expect(c.breakingPoint!.failureMode.errorRatio).toBeCloseTo(0.1, 5);
    expect(c.breakingPoint!.failureMode.containerEvents).toEqual([expect.objectContaining({ service: 'app', kind: 'container-died', oomKilled: false })]);
    expect(c.maxThroughputRps).toBeCloseTo(30, 0);
  });

  it('stopped while still ramping to the step → the users active at the stop', () => {
    const specs = [
      ...Array.from({ length: 60 }, () => ({ phase: 'step-1:3', users: 3, latenciesMs: { api: constant(30, 20) } })),
      ...Array.from({ length: 5 }, (_, i) => ({ phase: 'step-2:40', users: 5 + 2 * i, latenciesMs: { api: constant(20, 900) } })),
    ];
    const rec = buildRecord(specs);
    const events = [{ tMs: rec.series[0]!.tMs + 64_000, kind: 'break', reason: 'p95 900 ms > 300 ms for 3 s at 13 users (step-2:40)', phase: 'step-2:40' }];
    const c = analyzeCapacity(rec.series, new HistogramIndex(rec.histograms), loadSegments(rec.series), events, {
      startMs: rec.startMs,
      model: 'closed',
      rule: { p95Ms: 300 },
    });
    expect(c.breakingPoint).toMatchObject({ users: 13, detectedBy: 'stop-rule' });
  });
});
