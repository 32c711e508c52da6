import { describe, expect, it } from 'vitest';
import { analyzeRun, type AnalyzeOptions } from './analyze.ts';
import { compareRuns } from './compare.ts';
import { AnalysisSchema } from './contract.ts';
import { container, steppedRun } from './testing/fixtures.ts';
import { buildRecord, constant, type SecondSpec } from './testing/build-record.ts';
import type { RunEvent } from './types.ts';

const opts = (over: Partial<AnalyzeOptions['scenario']> = {}, incomplete = false): AnalyzeOptions => ({
  scenario: { name: 'stress', shape: 'steps', thinkTimeMeanMs: 0, slo: { p95Ms: 50, errorRatio: 0.01 }, ...over },
  generatorCores: 4,
  incomplete,
  usl: { resamples: 50 },
});

function soak(latMs: number, n = 900): SecondSpec[] {
  return Array.from({ length: n }, (_, i) => ({
    phase: i < 30 ? 'ramp-up' : 'hold',
    users: 10,
    latenciesMs: { api: constant(50, latMs), health: constant(10, 2) },
    containers: { app: container({ memoryWorkingSetBytes: 300e6 + (i % 20) * 1e6 }) },
    postgres: {
      maxConnections: 100,
      connectionsByState: { active: 5, idle: 5 },
      connectionsByApp: { archiveorigin: { active: 5, idle: 5 } },
      waitingByType: {},
      ungrantedLocks: 0,
      blockedSessions: 0,
      idleInTransaction: 0,
      oldestIdleInTransactionSeconds: 0,
    },
  }));
}

describe('analyzeRun', () => {
  it('a full stepped analysis validates against the contract', () => {
    const a = analyzeRun(steppedRun(), opts());
    expect(AnalysisSchema.safeParse(JSON.parse(JSON.stringify(a))).success).toBe(true);
    expect(a.validity.valid).toBe(true);
    expect(a.capacity.breakingPoint).toMatchObject({ users: 50 });
    expect(a.slo.every((s) => s.status === 'pass')).toBe(true);
    expect(a.verdict).toBe('pass');
    expect(a.recommendations.map((r) => r.id)).toContain('capacity');
  });

  it('saturated generator → invalid, no bottleneck attribution', () => {
    const a = analyzeRun(steppedRun(1, { genCpu: 3.9 }), opts());
    expect(a.verdict).toBe('invalid');
    expect(a.bottlenecks).toEqual([]);
    expect(a.recommendations[0]?.id).toBe('generator-saturated');
  });

  it('soak: SLO pass, a 15-min run leaks nothing detectable; contract holds', () => {
    const rec = buildRecord(soak(20));
    const a = analyzeRun(rec, {
      ...opts({ name: 'soak', shape: 'ramp', thinkTimeMeanMs: 150, slo: { p95Ms: 100, errorRatio: 0.01, minThroughputRps: 10 } }),
      generatorCores: 4,
    });
    expect(AnalysisSchema.safeParse(JSON.parse(JSON.stringify(a))).success).toBe(true);
    expect(a.slo.map((s) => s.status)).toEqual(['pass', 'pass', 'pass']);
    expect(a.leaks).toHaveLength(1);
    expect(a.leaks[0]!.verdict).not.toBe('FAIL');
    expect(a.verdict).toBe('pass');
  });

  it('a throughput SLO the shape cannot produce fails with the bound and is listed under feasibility', () => {
    // 10 users × 60 req/s observed; objective 1,000 req/s; as configured (10 users, 150 ms think) ≤ 66.7 req/s
    const slo = { p95Ms: 100, minThroughputRps: 1000 };
    const a = analyzeRun(
      buildRecord(soak(20, 300)),
      opts({ shape: 'ramp', thinkTimeMeanMs: 150, slo, feasibility: { model: 'closed', users: 10, thinkTimeMeanMs: 150, slo } }),
    );
    expect(AnalysisSchema.safeParse(JSON.parse(JSON.stringify(a))).success).toBe(true);
    expect(a.verdict).toBe('fail');
    expect(a.feasibility.map((f) => [f.objective, Math.round(f.boundRps * 10) / 10])).toEqual([['minThroughputRps', 66.7]]);
    expect(a.verdictReasons.find((r) => r.includes('goodputRps'))).toContain('infeasible by design');
    // numbers in reasons are for people: rounded, with their unit
    expect(a.verdictReasons.find((r) => r.includes('goodputRps'))).toMatch(/^SLO goodputRps >= 1000: observed \d+(\.\d)? req\/s \(/);
    // without the input (an older manifest) nothing is judged and the reason stays plain
    expect(analyzeRun(buildRecord(soak(20, 300)), opts({ shape: 'ramp', thinkTimeMeanMs: 150, slo })).feasibility).toEqual([]);
  });

  it('incomplete runs are inconclusive unless they already fail', () => {
    const rec = buildRecord(soak(20, 300));
    expect(analyzeRun(rec, opts({ shape: 'ramp', thinkTimeMeanMs: 150, slo: { p95Ms: 100 } }, true)).verdict).toBe('inconclusive');
    expect(analyzeRun(rec, opts({ shape: 'ramp', thinkTimeMeanMs: 150, slo: { p95Ms: 5 } }, true)).verdict).toBe('fail');
  });

  it('missing SLO data is no-data and inconclusive, never pass', () => {
    const rec = buildRecord(soak(20, 300));
    const a = analyzeRun(rec, opts({ shape: 'ramp', thinkTimeMeanMs: 150, slo: { p95Ms: 100, endpoints: { missing: { p95Ms: 10 } } } }));
    expect(a.slo.find((s) => s.name.startsWith('missing'))?.status).toBe('no-data');
    expect(a.verdict).toBe('inconclusive');
  });

  it('the observed real run: POOL_MAX=1, stopped on break 8 s into step 2 → breaking point, pool bottleneck and advice', () => {
    // step 1: 3 users, 60 req/s at 50 ms (in flight 3 ≈ Little), one connection busy now and then
    // step 2: 40 users, the single connection always active, 50 req/s at 760 ms (≈ 38 requests in flight, queued)
    const pgPoint = (app: Record<string, number>) => ({
      maxConnections: 100,
      connectionsByState: app,
      connectionsByApp: { archiveorigin: app },
      waitingByType: {},
      ungrantedLocks: 0,
      blockedSessions: 0,
      idleInTransaction: 0,
      oldestIdleInTransactionSeconds: 0,
    });
    const specs: SecondSpec[] = [
      ...Array.from({ length: 60 }, (_, i) => ({
        phase: 'step-1:3',
        users: 3,
        latenciesMs: { api: constant(60, 50) },
        containers: { app: container() },
        postgres: pgPoint(i % 3 ? { idle: 1 } : { active: 1 }),
      })),
      ...Array.from({ length: 9 }, () => ({
        phase: 'step-2:40',
        users: 40,
        latenciesMs: { api: constant(50, 760) },
        containers: { app: container() },
        postgres: pgPoint({ active: 1 }),
      })),
    ];
    const events: RunEvent[] = [];
    const rec = buildRecord(specs, events);
    const t = (s: number): number => rec.series[0]!.tMs + (s - 1) * 1000;
    events.push({ tMs: t(69), kind: 'break', reason: 'p95 760 ms > 300 ms for 3 s at 40 users (step-2:40)', phase: 'step-2:40' });
    const a = analyzeRun(rec, opts({ slo: { p95Ms: 300 } }));
    expect(AnalysisSchema.safeParse(JSON.parse(JSON.stringify(a))).success).toBe(true);
    expect(a.capacity.breakingPoint).toMatchObject({ users: 40, phase: 'step-2:40', lastPassUsers: 3 });
    expect(a.capacity.breakingPoint!.reason).toContain('p95 760 ms > 300 ms');
    expect(a.capacity.breakingPoint!.throughputRps).toBeCloseTo(50, 0);
    expect(a.bottlenecks[0]).toMatchObject({ resource: 'db-pool:archiveorigin', rank: 1 });
    expect(a.recommendations.map((r) => r.id)).toEqual(expect.arrayContaining(['pool:archiveorigin', 'capacity']));
    // the SLOs are judged on the sustainable step only
    expect(a.slo.every((s) => s.status === 'pass')).toBe(true);
  });

  it('an OOM kill recorded by the stack (stack-container-oom) fails the leak check of that service', () => {
    const events: RunEvent[] = [];
    const rec = buildRecord(soak(20, 300), events);
    events.push({ tMs: rec.series[100]!.tMs, kind: 'stack-container-oom', service: 'app' });
    const a = analyzeRun(rec, opts({ shape: 'ramp', thinkTimeMeanMs: 150, slo: { p95Ms: 100 } }));
    expect(a.leaks.find((l) => l.service === 'app')).toMatchObject({ verdict: 'FAIL', kind: 'FAIL_OOM' });
  });

  it('empty record → invalid', () => {
    expect(analyzeRun({ startMs: 0, series: [], histograms: [], events: [] }, opts()).verdict).toBe('invalid');
  });
});

describe('compareRuns', () => {
  it('flags a p95 regression as significant and an identical run as unchanged', () => {
    const base = buildRecord(soak(20, 300));
    const slower = buildRecord(soak(30, 300));
    const c = compareRuns({ record: base }, { record: slower });
    const api = c.endpoints.find((e) => e.endpoint === 'api')!;
    expect(api.change).toBe('regressed');
    expect(api.p95Change).toBeCloseTo(0.5, 1);
    expect(c.endpoints.find((e) => e.endpoint === 'health')!.change).toBe('unchanged');
    const same = compareRuns({ record: base }, { record: base });
    expect(same.endpoints.every((e) => e.change === 'unchanged')).toBe(true);
  });

  it('reports verdict and SLO status changes', () => {
    const base = buildRecord(soak(20, 300));
    const o = opts({ shape: 'ramp', thinkTimeMeanMs: 150, slo: { p95Ms: 25 } });
    const a = analyzeRun(base, o);
    const slow = buildRecord(soak(30, 300));
    const b = analyzeRun(slow, o);
    const c = compareRuns({ record: base, analysis: a }, { record: slow, analysis: b });
    expect(c.verdictChange).toEqual({ base: 'pass', run: 'fail' });
    expect(c.sloChanges).toEqual([{ name: 'p95 <= 25', base: 'pass', run: 'fail' }]);
  });

  it('empty runs → no-data', () => {
    const c = compareRuns(
      { record: { startMs: 0, series: [], histograms: [], events: [] } },
      { record: { startMs: 0, series: [], histograms: [], events: [] } },
    );
    expect(c.endpoints).toEqual([expect.objectContaining({ endpoint: '*', change: 'no-data' })]);
  });
});
