// Post-mortem analysis on real runs of the reference stack with its fault knobs (issue "Post-mortem analysis engine
// and reports"). Three short custom scenarios run at the same time, each on its own isolated stack (own ports,
// own containers), so the whole file takes about the leak run (~6.5 minutes with bring-up):
//   leak   — LEAK_BYTES_PER_REQUEST soak, constant users for 6 min (≈ 4.5 min steady) → leak FAIL on app with the
//            slope ≈ bytes × req/s, never FAIL on postgres (its working set grows with cached table pages);
//   pool   — POOL_MAX=2 + SLOW_QUERY_MS stepped stress with stopOnBreak → the app DB pool is the top bottleneck,
//            with evidence and a pool recommendation, and the breaking point comes from the stop;
//   normal — no knobs, light load → no FAIL verdict.
// Every load loop is bounded by its scenario; the stacks are torn down by runScenario and checked at the end.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Analysis } from '../analysis/analyze.ts';
import type { ContainerRuntime } from '../stack/runtime/port.ts';
import { readSeries, type SeriesLine } from '../store/read-series.ts';
import { realRuntime } from '../stack/testing/runtime.ts';
import { REFERENCE_APP_NAME } from '../config/defaults.ts';
import { runScenario, type RunScenarioResult } from './run-scenario.ts';
import { isolatedStack, readEvents, testConfig, testStackProvider, cleanUpRuns, analysisOfRun } from './testing/stack-fixture.ts';

const LEAK_BYTES = 64 * 1024;
const SLOW_QUERY_MS = 100;
// The pool run's SLO, between the p95 its steps give (docs/ANALYSIS.md, Capacity): zero think keeps all N users in the
// system, the 2 connections bound throughput (X ≈ 55 req/s here), so p95 ≈ 1.5·N/X — measured 105–110 ms at 1 user,
// 130–222 ms at 4, 600–1,020 ms at 30 once the step's 3-s ramp ended (516 in its last ramp second). 800 ms sat inside
// that spread: one CI's 30 users stayed under it in 2 seconds of every 3 and the stop rule never fired. 400 ms is
// ×1.8 above the 4-user worst and ×1.5 under the 30-user steady best.
const POOL_SLO_P95_MS = 400;

interface Case {
  name: 'leak' | 'pool' | 'normal';
  env: Record<string, string>;
  appMemLimit?: string;
  scenario: Record<string, unknown>;
}

const CASES: Case[] = [
  {
    name: 'leak',
    env: { LEAK_BYTES_PER_REQUEST: String(LEAK_BYTES) },
    // ~35 req/s × 64 KiB ≈ 8 GiB/h: about 0.8 GiB over the run, well inside the limit. 6 min: the detector's warm-up
    // cut may take half the steady floors plus one window (docs/ANALYSIS.md, Leak; a straight leak has no real
    // breakpoint): measured, a 5-min run kept 106 s fitted and 6-min runs 84–113 s, against the method's 82 s
    appMemLimit: '2g',
    scenario: {
      shape: { kind: 'ramp', users: 12, rampUp: '10s', duration: '6m' },
      thinkTime: { min: '200ms', max: '400ms' },
      slo: { p95: '1s', errorRate: '1%' },
    },
  },
  {
    name: 'pool',
    env: { POOL_MAX: '2', SLOW_QUERY_MS: String(SLOW_QUERY_MS) },
    // No think time: 1 user never queues for the 2 connections; 4 keep ~2 requests waiting for one (pool exhausted,
    // p95 still inside the SLO); 30 break the p95 SLO within seconds (POOL_SLO_P95_MS) and the stop rule ends the run.
    // no recovery hold: this run is about the break and its bottleneck (recovery has its own test, recovery.int)
    scenario: {
      shape: { kind: 'steps', users: [1, 4, 30], rampUp: '3s', hold: '35s', recovery: 0 },
      thinkTime: 0,
      slo: { p95: `${POOL_SLO_P95_MS}ms`, errorRate: '1%' },
      stopOnBreak: true,
    },
  },
  {
    name: 'normal',
    env: {},
    scenario: {
      shape: { kind: 'ramp', users: 10, rampUp: '10s', duration: '80s' },
      thinkTime: { min: '300ms', max: '700ms' },
      slo: { p95: '1s', errorRate: '1%' },
    },
  },
];

let runtime: ContainerRuntime;
const results = new Map<Case['name'], RunScenarioResult>();
const seriesOf = new Map<Case['name'], SeriesLine[]>();
const wallS = new Map<Case['name'], number>();
const analysisOf = (name: Case['name']): Analysis => analysisOfRun(results, name);

beforeAll(async () => {
  runtime = await realRuntime();
  await Promise.all(
    CASES.map(async (c) => {
      const t0 = Date.now();
      const stack = await isolatedStack(`loadscope-pm-${c.name}`, { env: c.env, ...(c.appMemLimit ? { appMemLimit: c.appMemLimit } : {}) });
      const { config } = testConfig(stack, { scenarios: { [c.name]: c.scenario } });
      const r = await runScenario({ scenario: c.name, config, env: stack.env, stack: testStackProvider(stack), outDir: stack.dir, metrics: null });
      results.set(c.name, r);
      seriesOf.set(c.name, readSeries(r.runDir));
      wallS.set(c.name, (Date.now() - t0) / 1000);
    }),
  );
  // measured numbers, for the report
  console.log(poolTrace());
  for (const c of CASES) {
    const a = results.get(c.name)?.analysis;
    console.log(
      `[postmortem] ${c.name}: ${wallS.get(c.name)?.toFixed(0)} s wall, verdict ${a?.verdict}; leaks ${JSON.stringify(a?.leaks.map((l) => [l.service, l.verdict, l.slopeBytesPerHour]))}; bottlenecks ${JSON.stringify(a?.bottlenecks.map((b) => [b.rank, b.resource, b.role]))}; breaking point ${JSON.stringify(a?.capacity.breakingPoint && { users: a.capacity.breakingPoint.users, rps: a.capacity.breakingPoint.throughputRps, reason: a.capacity.breakingPoint.reason })}`,
    );
  }
}, 600_000);

afterAll(() => cleanUpRuns(runtime, results.values()));

/**
 * The pool run second by second: users, completions, p95 (display value), the app's connections busy / open in
 * Postgres, host CPU. Printed after the runs and put in the failure message: CI keeps only its output's tail.
 */
function poolTrace(): string {
  const trace = (seriesOf.get('pool') ?? []).map((p) => {
    const states = p.postgres?.connectionsByApp[REFERENCE_APP_NAME] ?? {};
    const open = Object.values(states).reduce((a, b) => a + b, 0);
    const host = p.host?.cpuUtilization;
    return `${Math.round(p.elapsedS)}:${p.activeUsers}/${p.total.count}/${Math.round(p.total.p95Ms)}/${p.postgres ? `${open - (states.idle ?? 0)}of${open}` : '-'}/${host == null ? '-' : Math.round(host * 100)}`;
  });
  return `[postmortem] pool, second:users/requests/p95 ms/app connections busy of open/host CPU %: ${trace.join(' ')}`;
}

describe('leak soak (LEAK_BYTES_PER_REQUEST)', () => {
  it('FAILs the app with a slope within 30 % of bytes × req/s; never FAILs postgres', () => {
    const a = analysisOf('leak');
    const series = seriesOf.get('leak')!;
    expect(results.get('leak')!.stoppedBy).toBe('completed');
    const app = a.leaks.find((l) => l.service === 'app')!;
    const pg = a.leaks.find((l) => l.service === 'postgres')!;
    // req/s over the same window the slope was fitted on (steady hold after the detector's warm-up cut)
    const fitted = app.fittedS!;
    const win = series.filter((p) => p.elapsedS >= fitted.fromS && p.elapsedS <= fitted.toS);
    const rps = win.reduce((n, p) => n + p.total.count, 0) / win.length;
    const expected = LEAK_BYTES * rps * 3600;
    console.log(
      `[postmortem] leak: app ${app.verdict} slope ${((app.slopeBytesPerHour ?? NaN) / 2 ** 20).toFixed(0)} MiB/h vs expected ${(expected / 2 ** 20).toFixed(0)} MiB/h (${rps.toFixed(1)} req/s over ${(fitted.toS - fitted.fromS).toFixed(0)} s); postgres ${pg.verdict} ${pg.kind}: ${pg.reason}`,
    );
    expect(app.verdict, app.reason).toBe('FAIL');
    expect(app.kind).toBe('FAIL_LEAK');
    // the method's own floor (docs/ANALYSIS.md, Steady state and Leak): MSER keeps at least half of the 350-s hold
    // (D ≥ 175 s); a short soak has 19 floor windows of D / 19, the warm-up break lies at floor 9 at the latest and is
    // cut one window after it — so at least 9 windows, 9 D / 19 ≈ 82.9 s, are fitted (measured: 84–113 s)
    const steadyMinS = (6 * 60 - 10) / 2;
    expect(fitted.toS - fitted.fromS, 'seconds fitted').toBeGreaterThanOrEqual(Math.floor((9 * steadyMinS) / 19));
    expect(Math.abs(app.slopeBytesPerHour! - expected) / expected).toBeLessThanOrEqual(0.3);
    expect(a.verdict).toBe('fail');
    expect(a.recommendations.map((r) => r.id)).toContain('leak:app');
    // Postgres caches the pages of its growing tables: at most cache growth, never a leak
    expect(['PASS', 'INCONCLUSIVE', 'WARN_CACHE_GROWTH'], pg.reason).toContain(pg.kind);
  });
});

describe('pool exhaustion (POOL_MAX=2, SLOW_QUERY_MS)', () => {
  it('ranks the app DB pool first, with evidence, and recommends from it', () => {
    const a = analysisOf('pool');
    expect(a.validity.valid, JSON.stringify(a.validity.problems)).toBe(true);
    const top = a.bottlenecks[0];
    expect(top, `no bottleneck found\n${poolTrace()}`).toBeDefined();
    expect(top!.rank).toBe(1);
    expect(top!.resource, `${JSON.stringify(a.bottlenecks)}\n${poolTrace()}`).toBe('db-pool:archiveorigin');
    expect(top!.evidence.detail).toMatch(/DB connection pool \(archiveorigin\) exhausted: all 2 \(pool max\) connections busy/);
    // evidence with times and values: saturated before (or at most 10 s after) the SLO breach. (Coverage of the
    // breach is not asserted: when the break is an error burst in the last 3 s, requests fail fast and the queue
    // empties, so those seconds may not show the pool exhausted.)
    expect(top!.evidence.onsetS).toBeGreaterThan(0);
    expect(top!.evidence.breachOnsetS).not.toBeNull();
    expect(top!.evidence.leadS!).toBeGreaterThanOrEqual(-10);
    expect(top!.evidence.coverage).not.toBeNull();
    expect(top!.evidence.peak).toBeGreaterThan(1);
    const rec = a.recommendations.find((r) => r.id === 'pool:archiveorigin');
    expect(rec, JSON.stringify(a.recommendations)).toBeDefined();
    expect(rec!.text).toMatch(/pool max|per-request DB time/);
    expect(rec!.basedOn).toContain('db-pool:archiveorigin');
  });

  it('reports the breaking point from the stop-on-break rule (users, throughput, reason)', () => {
    const r = results.get('pool')!;
    const a = analysisOf('pool');
    expect(r.stoppedBy).toBe('break');
    const brk = readEvents(r.runDir).find((e) => e.kind === 'break')!;
    expect(brk).toBeDefined();
    const bp = a.capacity.breakingPoint;
    expect(bp, 'breaking point').not.toBeNull();
    expect(bp!.phase).toBe(brk.phase);
    expect(bp!.users).toBeGreaterThan(bp!.lastPassUsers ?? 1);
    expect(bp!.users).toBeLessThanOrEqual(30);
    expect(bp!.throughputRps).toBeGreaterThan(0);
    // The step that broke is named either way: by the stop rule when the break came before the step had a steady
    // part, else by the step rule on that steady part (MSER-5 leaves one after ~10 s at the level), same step.
    if (bp!.detectedBy === 'stop-rule') expect(bp!.reason).toContain(String(brk.reason));
    else expect(bp).toMatchObject({ detectedBy: 'step-rule', reason: expect.stringMatching(new RegExp(`p95 > ${POOL_SLO_P95_MS} ms|error ratio`)) });
    expect(bp!.failureMode?.latency.exceeded).toBe(true);
    expect(a.recommendations.map((x) => x.id)).toContain('capacity');
  });
});

describe('no knobs', () => {
  it('gives no FAIL verdict', () => {
    const a = analysisOf('normal');
    expect(results.get('normal')!.stoppedBy).toBe('completed');
    expect(a.validity.valid, JSON.stringify(a.validity.problems)).toBe(true);
    expect(['pass', 'inconclusive']).toContain(a.verdict);
    expect(a.leaks.filter((l) => l.verdict === 'FAIL')).toEqual([]);
    expect(a.slo.filter((s) => s.status === 'fail')).toEqual([]);
    expect(a.bottlenecks.filter((b) => b.role === 'PRIMARY')).toEqual([]);
  });
});
