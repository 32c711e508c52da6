import { describe, expect, it } from 'vitest';
import type { Analysis } from '../analysis/analyze.ts';
import { formatSummary } from './format-summary.ts';
import type { RunScenarioResult } from './run-scenario.ts';

const endpoint = { name: 'total', method: '', count: 100, failures: 0, errorRatio: 0, rps: 10, p50Ms: 20, p95Ms: 900, p99Ms: 950, maxMs: 990, bytes: 0 };
const base = {
  runId: 'r1',
  runDir: '/runs/r1',
  summary: { durationS: 10, endpoints: [], total: endpoint, droppedLate: 0, maxCpuCores: 0.5 },
  stoppedBy: 'completed',
  plannedDurationMs: 10_000,
} as unknown as RunScenarioResult;

describe('formatSummary', () => {
  it('prints the SLO verdicts of the analysis (steady windows)', () => {
    const analysis = {
      verdict: 'pass',
      verdictReasons: [],
      incomplete: false,
      leaks: [],
      bottlenecks: [],
      capacity: { breakingPoint: null },
      slo: [
        { name: 'p95Ms <= 800', limit: 800, observed: 412.5, unit: 'ms', status: 'pass' },
        { name: 'errorRatio <= 0.01', limit: 0.01, observed: null, unit: 'ratio', status: 'no-data' },
      ],
    } as unknown as Analysis;
    const text = formatSummary({ ...base, analysis });
    expect(text).toContain('SLO (steady windows):\n  PASS p95Ms <= 800: observed 412.5 ms\n  NO-DATA errorRatio <= 0.01: observed no data');
    expect(text).toContain('verdict: PASS');
  });

  it('has no SLO verdict of its own when the run was not analysed (one judge)', () => {
    const text = formatSummary(base);
    expect(text).not.toContain('SLO');
    expect(text).toContain('verdict: not analysed');
  });
});
