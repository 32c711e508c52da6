// Known-answer proof of the capacity verdicts (docs/ANALYSIS.md "Capacity / breaking point / failure mode"): the real
// engine, through runScenario attached with a target, against a loopback server of fixed capacity (10 slots × 100 ms
// = 100 req/s, low enough that the shared 2-core machine is not the limit). Closed ladder, 5-s ramp + 20-s hold per
// step, think 1 s, SLO p95 500 ms. Below N = 110 users X = N / 1.1 s; above it X = 100 req/s and R = N/100 − 1 s, so
// 200 users wait ≈ 1 s (> 500 ms) and 120 users ≈ 0.2 s (< 500 ms, at the capacity). No Docker: nothing to sample.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnalysisSchema } from '../analysis/contract.ts';
import { parseConfigObject } from '../config/load.ts';
import { startCapacityServer } from '../load/testing/capacity-server.ts';
import { runScenario } from './run-scenario.ts';

const SLOTS = 10;
const SERVICE_MS = 100;
const CAPACITY_RPS = (SLOTS * 1000) / SERVICE_MS;

const LADDERS = [
  [20, 40, 60, 80, 120, 200],
  [30, 60, 90, 120, 200],
] as const;

const out = mkdtempSync(join(tmpdir(), 'loadscope-ladder-'));
type LadderResult = { r: Awaited<ReturnType<typeof runScenario>>; a: ReturnType<typeof AnalysisSchema.parse>; md: string };
const results = new Map<string, LadderResult>();
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** One ladder against its own capacity server (the two ladders run at once: each server's capacity is its own). */
async function ladder(users: readonly number[]): Promise<LadderResult> {
  const server = await startCapacityServer(SLOTS, SERVICE_MS);
  try {
    const config = parseConfigObject(
      {
        flow: { tasks: [{ name: 'work', path: '/work' }] },
        // no recovery hold: this proof is about the ladder's capacity verdicts (recovery has its own, recovery.int)
        scenarios: {
          ladder: { shape: { kind: 'steps', users, rampUp: '5s', hold: '20s', recovery: 0 }, thinkTime: '1s', slo: { p95: '500ms', errorRate: '2%' } },
        },
      },
      'test',
    );
    const r = await runScenario({ scenario: 'ladder', config, target: server.url, outDir: join(out, users.join('-')), workers: 1, metrics: null });
    const a = AnalysisSchema.parse(JSON.parse(readFileSync(join(r.runDir, 'analysis.json'), 'utf8')));
    return { r, a, md: readFileSync(join(r.runDir, 'report.md'), 'utf8') };
  } finally {
    await server.close();
  }
}

beforeAll(async () => {
  await Promise.all(LADDERS.map(async (levels) => results.set(levels.join(','), await ladder(levels))));
}, 300_000);

describe.each(LADDERS.map((levels) => ({ levels })))('fixed-capacity target, ladder $levels', ({ levels }) => {
  it(`max sustainable within ±10 % of ${CAPACITY_RPS} req/s, breaking point at the first step over the SLO, knee and USL reported`, async () => {
    const { r, a, md } = results.get(levels.join(','))!;
    expect(r.stoppedBy).toBe('completed');
    expect(a.validity.problems).toEqual([]);
    const cap = a.capacity;
    expect(cap.maxThroughputRps!).toBeGreaterThanOrEqual(0.9 * CAPACITY_RPS);
    expect(cap.maxThroughputRps!).toBeLessThanOrEqual(1.1 * CAPACITY_RPS);
    // the first step whose p95 exceeds 500 ms is the last one (200 users: R ≈ 1 s)
    expect(cap.breakingPoint).toMatchObject({ users: 200, detectedBy: 'step-rule', lastPassUsers: levels[levels.length - 2] });
    expect(cap.breakingPoint!.reason).toMatch(/p95 > 500 ms/);
    expect(cap.breakingPoint!.failureMode!.first!.kind).toBe('latency');
    expect(cap.knee).not.toBeNull();
    expect(cap.usl).not.toBeNull();
    expect(a.slo.map((s) => s.status)).toEqual(['pass', 'pass']);
    expect(md).toMatch(/Failure mode.*latency/);
    console.log(
      JSON.stringify({
        levels,
        max: cap.maxThroughputRps,
        bp: cap.breakingPoint?.users,
        fm: cap.breakingPoint?.failureMode?.summary,
        knee: cap.knee,
        usl: cap.usl && { sigma: cap.usl.sigma, kappa: cap.usl.kappa, note: cap.usl.note },
        notes: cap.notes,
      }),
    );
  }, 10_000);
});
