import { describe, expect, it } from 'vitest';
import { steppedRun } from './testing/fixtures.ts';
import { HistogramIndex } from './histograms.ts';
import { buildRecord, constant } from './testing/build-record.ts';
import type { RunRecord } from './types.ts';
import { checkValidity } from './validity.ts';
import { loadSegments } from './windows.ts';

const check = (rec: RunRecord, cores = 4, think = 0) =>
  checkValidity(rec.series, new HistogramIndex(rec.histograms), loadSegments(rec.series), { generatorCores: cores, model: 'closed', thinkTimeMeanMs: think });

describe('validity', () => {
  it('a consistent stepped run is valid', () => {
    expect(check(steppedRun())).toEqual({ valid: true, problems: [] });
  });

  it('D3: generator at 95 % of its cores → generator-cpu-saturated', () => {
    const v = check(steppedRun(1, { genCpu: 3.8 }));
    expect(v.valid).toBe(false);
    expect(v.problems.map((p) => p.code)).toContain('generator-cpu-saturated');
  });

  it("fleet run: one worker at ≥ 90 % of its host's cores → worker-cpu-saturated naming it; the others below → valid", () => {
    const withWorkers = (hotCpu: number): RunRecord => {
      const rec = steppedRun();
      return { ...rec, series: rec.series.map((p) => ({ ...p, workers: { '0': { cpuCores: 0.3, hostCores: 2 }, '1': { cpuCores: hotCpu, hostCores: 2 } } })) };
    };
    expect(check(withWorkers(1.7))).toEqual({ valid: true, problems: [] });
    const v = check(withWorkers(1.85));
    expect(v.valid).toBe(false);
    expect(v.problems).toEqual([expect.objectContaining({ code: 'worker-cpu-saturated', observed: 1, limit: 0.1 })]);
    expect(v.problems[0]!.message).toMatch(/^load worker 1 at ≥ 90 % of its host's 2 cores/);
  });

  it('dropped (late) constant-rate requests → requests-dropped', () => {
    const rec = buildRecord(
      Array.from({ length: 60 }, (_, i) => ({ phase: 'constant-rate', users: 10, latenciesMs: { api: constant(100, 10) }, droppedLate: i === 30 ? 5 : 0 })),
    );
    const v = checkValidity(rec.series, new HistogramIndex(rec.histograms), loadSegments(rec.series), { generatorCores: 4, model: 'open', thinkTimeMeanMs: 0 });
    expect(v.problems).toEqual([expect.objectContaining({ code: 'requests-dropped', atS: 31 })]);
  });

  it("B7: generator cap (throughput clipped while users rise) → Little's law flagged", () => {
    // 50 users, 100 ms latency, 0 think → should be 500 rps, only 200 recorded
    const rec = buildRecord(Array.from({ length: 120 }, () => ({ phase: 'hold', users: 50, latenciesMs: { api: constant(200, 100) } })));
    const v = check(rec);
    expect(v.problems.map((p) => p.code)).toEqual(['littles-law']);
  });

  it('think time is part of the Little check: 10 users, 100 ms + 900 ms think → 10 rps is consistent', () => {
    const rec = buildRecord(Array.from({ length: 600 }, () => ({ phase: 'hold', users: 10, latenciesMs: { api: constant(10, 100) } })));
    expect(check(rec, 4, 900).valid).toBe(true);
  });

  it("the stop second (0 users, the in-flight requests finishing) is not averaged into the hold's Little check", () => {
    // 90 users, 100 ms + 900 ms think → 90 rps; the stop line books 400 completions with 0 users active (averaged in,
    // the last 10 s of a 40-s hold would read 82 users against X·(R+Z) = 118: 44 % off)
    const secs = Array.from({ length: 40 }, () => ({ phase: 'hold', users: 90, latenciesMs: { api: constant(90, 100) } }));
    const rec = buildRecord([...secs, { phase: 'hold', users: 0, latenciesMs: { api: constant(400, 100) } }]);
    expect(check(rec, 4, 900)).toEqual({ valid: true, problems: [] });
    expect(loadSegments(rec.series)[0]!.steady!.toS).toBe(40);
  });

  it.each([
    ['empty', buildRecord([])],
    ['no requests', buildRecord(Array.from({ length: 10 }, () => ({ phase: 'hold', users: 1, latenciesMs: {} })))],
  ])('%s → invalid with no-data', (_n, rec) => {
    expect(check(rec).problems[0]?.code).toBe('no-data');
  });
});
