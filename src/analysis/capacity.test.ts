import { describe, expect, it } from 'vitest';
import { analyzeCapacity } from './capacity.ts';
import { steppedRun } from './fixtures.test-helpers.ts';
import { HistogramIndex } from './histograms.ts';
import { buildRecord, constant } from './testing.ts';
import { loadSegments } from './windows.ts';

const capacityOf = (rec: ReturnType<typeof steppedRun>) =>
  analyzeCapacity(rec.series, new HistogramIndex(rec.histograms), loadSegments(rec.series), rec.events, { model: 'closed', rule: { p95Ms: 50, errorRatio: 0.01 }, usl: { resamples: 50 } });

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

  it('≥ 6 levels → knee and USL attempted; < 6 → explicit notes', () => {
    const c = capacityOf(steppedRun());
    expect(c.kneeNote).not.toMatch(/needs/);
    const rec = buildRecord(Array.from({ length: 120 }, (_, i) => ({ phase: `step-${i < 60 ? 1 : 2}:${i < 60 ? 1 : 2}`, users: i < 60 ? 1 : 2, latenciesMs: { api: constant(10, 10) } })));
    const small = capacityOf(rec);
    expect(small.knee).toBeNull();
    expect(small.usl).toBeNull();
    expect(small.uslNote).toMatch(/needs ≥ 6/);
    expect(small.breakingPoint).toBeNull();
  });

  it('container OOM at the break is part of the failure mode', () => {
    const rec = steppedRun();
    const at = rec.series.find((p) => p.phase === 'step-5:50')!.tMs + 5000;
    const c = analyzeCapacity(rec.series, new HistogramIndex(rec.histograms), loadSegments(rec.series), [{ tMs: at, kind: 'container-died', service: 'app', oomKilled: true }], { model: 'closed', rule: { p95Ms: 50 } });
    expect(c.breakingPoint!.failureMode.containerEvents).toEqual([expect.objectContaining({ service: 'app', oomKilled: true })]);
  });

  it('empty run → no steps, nulls', () => {
    const c = analyzeCapacity([], new HistogramIndex([]), [], [], { model: 'closed', rule: {} });
    expect(c).toMatchObject({ steps: [], maxThroughputRps: null, breakingPoint: null, knee: null, usl: null });
  });
});
