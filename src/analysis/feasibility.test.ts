import { describe, expect, it } from 'vitest';
import { checkFeasibility, feasibilityInput } from './feasibility.ts';

describe('checkFeasibility (closed model: X ≤ N / mean think)', () => {
  it("the plan's normal scenario: 100 users thinking 1–3 s cannot reach > 100 req/s (≤ 50 req/s)", () => {
    const f = checkFeasibility(
      feasibilityInput({ shape: { kind: 'ramp', users: 100 }, thinkTime: { minMs: 1000, maxMs: 3000 }, slo: { minThroughputRps: 100 } }),
    );
    expect(f).toHaveLength(1);
    expect(f[0]!.boundRps).toBe(50);
    expect(f[0]!.message).toContain('≤ 50 req/s');
    // smallest change: 201 users (200 would give exactly 100, which any response time makes unreachable) or think < 1 s
    expect(f[0]!.fix).toContain('≥ 201');
    expect(f[0]!.fix).toContain('under 1 s');
  });

  it('a reachable objective (peak: 500 users, 0.75 s think → ≤ 667 req/s ≥ 500) has no finding', () => {
    expect(
      checkFeasibility(feasibilityInput({ shape: { kind: 'ramp', users: 500 }, thinkTime: { minMs: 500, maxMs: 1000 }, slo: { minThroughputRps: 500 } })),
    ).toEqual([]);
  });

  it('the bound itself is out of reach: N / Z exactly equal to the objective is infeasible', () => {
    const f = checkFeasibility({ model: 'closed', users: 50, thinkTimeMeanMs: 1000, slo: { minThroughputRps: 50 } });
    expect(f.map((x) => x.objective)).toEqual(['minThroughputRps']);
  });

  it('spike SLOs are judged at the base level, ladders at the top step', () => {
    expect(feasibilityInput({ shape: { kind: 'spike', baseUsers: 100 }, thinkTime: { minMs: 500, maxMs: 1500 } }).users).toBe(100);
    expect(feasibilityInput({ shape: { kind: 'steps', users: [10, 40, 20] } }).users).toBe(40);
  });

  it('says nothing without a throughput objective or without think time (the bound then depends on the server)', () => {
    expect(checkFeasibility({ model: 'closed', users: 10, thinkTimeMeanMs: 1000, slo: { p95Ms: 500 } })).toEqual([]);
    expect(checkFeasibility({ model: 'closed', users: 10, thinkTimeMeanMs: 0, slo: { minThroughputRps: 1e6 } })).toEqual([]);
  });
});

describe('checkFeasibility (open model)', () => {
  it('an objective above the offered rate, and too few slots for the p95 objective, are both named', () => {
    const f = checkFeasibility(
      feasibilityInput({ shape: { kind: 'constant-rate', rateRps: 200, maxInFlight: 50 }, slo: { p95Ms: 500, minThroughputRps: 250 } }),
    );
    expect(f.map((x) => x.objective)).toEqual(['minThroughputRps', 'maxInFlight']);
    // 50 in flight at 0.5 s each carry 100 req/s < 200 offered; 200 × 0.5 = 100 slots needed
    expect(f[1]!.boundRps).toBe(100);
    expect(f[1]!.fix).toBe('set maxInFlight ≥ 100');
  });

  it('enough slots at the SLO latency: no finding', () => {
    expect(checkFeasibility({ model: 'open', rateRps: 200, maxInFlight: 100, slo: { p95Ms: 500, minThroughputRps: 200 } })).toEqual([]);
  });
});

describe('the reference presets (compose/loadscope.yaml)', () => {
  it("normal is infeasible by the plan's own numbers (≤ 50 req/s for > 100 req/s); peak, stress, soak and spike are not", async () => {
    const { loadConfigFile } = await import('../config/load.ts');
    const cfg = loadConfigFile(new URL('../../compose/loadscope.yaml', import.meta.url).pathname, { env: {} });
    const findings = Object.fromEntries(Object.entries(cfg.scenarios).map(([name, sc]) => [name, checkFeasibility(feasibilityInput(sc))]));
    expect(findings.normal!.map((f) => f.boundRps)).toEqual([50]);
    expect(findings.normal![0]!.message).toContain('≤ 50 req/s');
    for (const name of ['peak', 'stress', 'soak', 'spike']) expect(findings[name], name).toEqual([]);
  });
});
