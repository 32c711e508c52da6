import { describe, expect, it } from 'vitest';
import type { Scenario } from '../config/schema.ts';
import type { EndpointSecond, SecondSample } from '../load/engine.ts';
import { createLatencyHistogram, recordLatencyUs } from '../load/histogram.ts';
import { STOP_RULE_MIN_REQUESTS as MIN_RULE_REQUESTS } from '../analysis/stop-rule.ts';
import { defaultBreakRule } from './break-rule.ts';

const second = (elapsedS: number, n: number, latencyMs: number): SecondSample => {
  const hist = createLatencyHistogram();
  for (let i = 0; i < n; i++) recordLatencyUs(hist, latencyMs * 1000);
  const e = {
    name: 'api',
    method: 'GET',
    count: n,
    errors: { '4xx': 0, '5xx': 0, timeout: 0, connection: 0, other: 0 },
    bytes: 0,
    hist,
  } as unknown as EndpointSecond;
  return {
    startMs: 0,
    tMs: elapsedS * 1000,
    elapsedS,
    phase: 'step-1:100',
    activeUsers: 100,
    endpoints: new Map([['api', e]]),
    failures: {},
    droppedLate: 0,
    cpuCores: 0.1,
    final: false,
  };
};

describe('defaultBreakRule', () => {
  const sc = { slo: { p95Ms: 1000, errorRatio: 0.02 } } as unknown as Scenario;

  it(`seconds with fewer than ${MIN_RULE_REQUESTS} requests (an enroll burst) are not judged`, () => {
    const rule = defaultBreakRule(sc);
    expect([rule(second(1, 6, 1500)), rule(second(2, 2, 2400)), rule(second(3, 10, 2400))]).toEqual([undefined, undefined, undefined]);
  });

  it('three judged seconds over the p95 limit break, across an unjudged one', () => {
    const rule = defaultBreakRule(sc);
    expect(rule(second(1, 300, 1500))).toBeUndefined();
    expect(rule(second(2, 5, 1500))).toBeUndefined();
    expect(rule(second(3, 300, 1500))).toBeUndefined();
    expect(rule(second(4, 300, 1500))).toMatch(/^p95 1500\.\d ms > 1000 ms for 3 s at 100 users \(step-1:100\)$/);
  });

  it('a judged second under the limits resets the count', () => {
    const rule = defaultBreakRule(sc);
    for (const [s, ms] of [
      [1, 1500],
      [2, 1500],
      [3, 100],
      [4, 1500],
      [5, 1500],
    ] as const)
      expect(rule(second(s, 300, ms))).toBeUndefined();
  });
});

describe('one default error limit (analysis/stop-rule.ts)', () => {
  it('without an SLO error limit the stop rule and the step rule share DEFAULT_MAX_ERROR_RATIO (1 %)', async () => {
    const { DEFAULT_MAX_ERROR_RATIO } = await import('../analysis/stop-rule.ts');
    expect(DEFAULT_MAX_ERROR_RATIO).toBe(0.01);
    const rule = defaultBreakRule({ slo: { p95Ms: 1000 } } as unknown as Scenario);
    const failing = (s: number): SecondSample => {
      const x = second(s, 300, 10);
      (x.endpoints.get('api')!.errors as Record<string, number>)['5xx'] = 6; // 2 % > 1 %
      return x;
    };
    expect([rule(failing(1)), rule(failing(2))]).toEqual([undefined, undefined]);
    expect(rule(failing(3))).toMatch(/^error ratio 0\.020 > 0\.01 for 3 s/);
  });
});
