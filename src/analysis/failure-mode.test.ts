import { describe, expect, it } from 'vitest';
import { analyzeRun } from './analyze.ts';
import { AnalysisSchema } from './contract.ts';
import { failureSignals, SAMPLER_LAG_S } from './failure-mode.ts';
import { container } from './testing/fixtures.ts';
import { HistogramIndex } from './histograms.ts';
import { normal, seededRng } from './stats.ts';
import { buildRecord, constant, type SecondSpec } from './testing/build-record.ts';
import type { PostgresPoint, RunRecord } from './types.ts';

const pg = (busy: number, idle: number): PostgresPoint => ({
  maxConnections: 100,
  connectionsByState: { active: busy, idle },
  connectionsByApp: { archiveorigin: { active: busy, idle } },
  waitingByType: {},
  ungrantedLocks: 0,
  blockedSessions: 0,
  idleInTransaction: 0,
  oldestIdleInTransactionSeconds: 0,
});

/** 60 s at 50 users; `at(s)` decides each second's latency, errors, app CPU and pool state (s = 1..60). */
function run(at: (s: number) => { latMs?: number; errors?: Record<string, number>; cpu?: number; busy?: number }): RunRecord {
  const specs: SecondSpec[] = Array.from({ length: 60 }, (_, i) => {
    const x = at(i + 1);
    return {
      phase: 'step-1:50',
      users: 50,
      latenciesMs: { api: constant(100, x.latMs ?? 20) },
      errors: { api: x.errors ?? {} },
      containers: { app: container({ cpuLimitUtilization: x.cpu ?? 0.4, cpuCores: (x.cpu ?? 0.4) * 2, cpuLimitCores: 2 }) },
      postgres: pg(x.busy ?? 4, 10 - (x.busy ?? 4)),
    };
  });
  return buildRecord(specs);
}

/** The signals over the whole 60 s; `hostCores` as the manifest gives them (absent in runs that did not record them). */
const signals = (rec: RunRecord, hostCores?: number) =>
  failureSignals(
    rec.series,
    new HistogramIndex(rec.histograms),
    rec.events,
    { fromS: 1, toS: 60 },
    { startMs: rec.startMs, p95Ms: 500, errorRatio: 0.02, poolMax: 10, ...(hostCores ? { hostCores } : {}) },
  );

/** The same 60 s on a 2-core host: `host(s)` its CPU utilisation, the generator at 0.3 cores; `attach` drops the containers. */
function hostRun(at: (s: number) => { latMs?: number; busy?: number; host: number }, attach = false): RunRecord {
  const rec = run((t) => ({ latMs: at(t).latMs, busy: at(t).busy }));
  rec.series.forEach((p, i) => {
    p.host = { cpuUtilization: at(i + 1).host, iowaitRatio: 0 };
    p.generator = { ...p.generator, cpuCores: 0.3 };
    if (attach) delete p.containers;
  });
  return rec;
}
const hostSignals = (rec: RunRecord) => signals(rec, 2);

describe('failure mode: what went first, with its evidence', () => {
  it('the host CPU full before latency breaches names the host, and who used it (stack mode: the rest is outside work)', () => {
    // app 0.8 cores (0.4 of its 2-core limit), generator 0.3: a host at 97 % of 2 cores has 0.84 cores outside both
    const s = hostSignals(hostRun((t) => ({ host: t >= 30 ? 0.97 : 0.5, latMs: t >= 32 ? 900 : 20 })));
    expect(s.map((x) => x.kind)).toEqual(['host-cpu', 'latency']);
    expect(s[0]).toMatchObject({ atS: 30, service: null });
    expect(s[0]!.evidence).toBe(
      "host CPU 97 % of 2 cores at t=30 s: the stack's containers 0.80, the load generator 0.30, work outside both 0.84 — other work on the host took a share: rerun on a quiet machine",
    );
    // without the host's cores (an old manifest) there is no host signal: latency alone, as before
    const rec = hostRun((t) => ({ host: t >= 30 ? 0.97 : 0.5, latMs: t >= 32 ? 900 : 20 }));
    expect(signals(rec).map((x) => x.kind)).toEqual(['latency']);
  });

  it('attach mode: the host full names the generator and the rest, not told apart; a host below 90 % is no signal', () => {
    const s = hostSignals(hostRun((t) => ({ host: t >= 30 ? 0.95 : 0.5, latMs: t >= 30 ? 900 : 20 }), true));
    expect(s[0]!.kind).toBe('host-cpu');
    expect(s[0]!.evidence).toBe(
      "host CPU 95 % of 2 cores at t=30 s: the load generator 0.30, the rest 1.60 (the system under test and any other work: not told apart without the stack's containers)",
    );
    const calm = hostSignals(hostRun((t) => ({ host: 0.85, latMs: t >= 30 ? 900 : 20 }), true));
    expect(calm.map((x) => x.kind)).toEqual(['latency']);
  });

  it('a resource of the system itself that counts as first names the failure before a host that was full earlier', () => {
    const s = hostSignals(hostRun((t) => ({ host: t >= 20 ? 0.95 : 0.5, busy: t >= 30 ? 10 : 4, latMs: t >= 32 ? 900 : 20 })));
    expect(s.map((x) => x.kind)).toEqual(['db-pool', 'host-cpu', 'latency']);
    // the pool saturating long after the breach does not: the host came first, then the symptom
    const late = hostSignals(hostRun((t) => ({ host: t >= 20 ? 0.95 : 0.5, busy: t >= 50 ? 10 : 4, latMs: t >= 32 ? 900 : 20 })));
    expect(late.map((x) => x.kind)).toEqual(['host-cpu', 'latency', 'db-pool']);
  });

  it('the DB pool at its maximum before latency breaches names the pool', () => {
    const s = signals(run((t) => ({ busy: t >= 30 ? 10 : 4, latMs: t >= 34 ? 900 : 20 })));
    expect(s[0]).toMatchObject({ kind: 'db-pool', service: 'archiveorigin', atS: 30 });
    expect(s[0]!.evidence).toBe('archiveorigin DB pool: 10 busy connections of 10 (pool max) at t=30 s');
    expect(s.map((x) => x.kind)).toEqual(['db-pool', 'latency']);
    expect(s[1]!.atS).toBe(34);
  });

  it(`app CPU at its limit sampled up to ${SAMPLER_LAG_S} s after the latency breach is still named first`, () => {
    const s = signals(run((t) => ({ cpu: t >= 33 ? 0.97 : 0.4, latMs: t >= 30 ? 900 : 20 })));
    expect(s[0]).toMatchObject({ kind: 'cpu', service: 'app', atS: 33 });
    expect(s[0]!.evidence).toMatch(/^app CPU 1\.94 cores \(97 % of a 2-core limit/);
  });

  it('an app with no CPU limit whose busiest thread is at a full core is CPU-bound: named first, with the thread', () => {
    const rec = run((t) => ({ latMs: t >= 31 ? 900 : 20 }));
    rec.series.forEach((p, i) => {
      const app = p.containers!.app!;
      p.containers = { app: { ...app, cpuCores: 0.97, cpuLimitCores: null, cpuLimitUtilization: null, busiestThreadCores: i + 1 >= 30 ? 0.95 : 0.5 } };
    });
    const s = signals(rec);
    expect(s.map((x) => x.kind)).toEqual(['cpu', 'latency']);
    expect(s[0]).toMatchObject({ service: 'app', atS: 30 });
    expect(s[0]!.evidence).toBe('app CPU 0.97 cores (no limit, throttled 0 %, its busiest thread on a core 95 % of the time) at t=30 s');
  });

  it('a resource saturating long after the breach is not the cause: the symptom is first', () => {
    const s = signals(run((t) => ({ cpu: t >= 50 ? 0.97 : 0.4, latMs: t >= 30 ? 900 : 20 })));
    expect(s.map((x) => x.kind)).toEqual(['latency', 'cpu']);
  });

  it('error kinds in order of onset: connection errors before timeouts before 5xx', () => {
    const s = signals(
      run((t) => ({ errors: { ...(t >= 20 ? { connection: 10 } : {}), ...(t >= 25 ? { timeout: 5 } : {}), ...(t >= 40 ? { '5xx': 5 } : {}) } })),
    );
    expect(s.map((x) => [x.kind, x.atS])).toEqual([
      ['connection-errors', 20],
      ['timeouts', 25],
      ['5xx', 40],
    ]);
    expect(s[0]!.evidence).toBe('connection errors: 10 of 100 requests (10 %) at t=20 s, above the 2 % limit');
  });

  it('one bad second is not an onset; latency alone is named as queueing', () => {
    const s = signals(run((t) => ({ errors: t === 10 ? { '5xx': 50 } : { '5xx': 0 }, latMs: t >= 45 ? 700 : 20 })));
    expect(s).toHaveLength(1);
    expect(s[0]).toMatchObject({ kind: 'latency', atS: 45 });
  });

  it('an OOM kill inside the window comes first', () => {
    const base = run((t) => ({ latMs: t >= 30 ? 900 : 20 }));
    const rec: RunRecord = { ...base, events: [{ tMs: base.series[27]!.tMs, kind: 'stack-container-oom', service: 'app' }] };
    expect(signals(rec)[0]).toMatchObject({ kind: 'oom', service: 'app', atS: 28 });
  });
});

/**
 * A fixed-capacity server (20 slots × 100 ms = 200 req/s) under a closed ladder with 1 s think time: below
 * N = 220 users X = N / 1.1 s and R = 100 ms; above it X = 200 req/s and R = N/200 − 1 s (Little's law).
 * Each step ramps for 5 s and holds 20 s at 1 Hz; the final line is the stop second (0 users).
 */
function ladder(levels: readonly number[], seed = 1): RunRecord {
  const rng = seededRng(seed);
  const specs: SecondSpec[] = [];
  let prev = 0;
  levels.forEach((n, k) => {
    for (let s = 0; s < 25; s++) {
      const users = s < 5 ? Math.round(prev + ((n - prev) * (s + 1)) / 5) : n;
      const rMs = Math.max(100, (users / 200 - 1) * 1000);
      const x = Math.round(users / ((rMs + 1000) / 1000));
      specs.push({
        phase: `step-${k + 1}:${n}`,
        users,
        latenciesMs: { api: Array.from({ length: x }, () => rMs * Math.exp(0.1 * normal(rng))) },
        cpuCores: 0.2,
      });
    }
    prev = n;
  });
  specs.push({ phase: `step-${levels.length}:${prev}`, users: 0, latenciesMs: { api: constant(150, 1000) } });
  return buildRecord(specs);
}

/** The ladder analysed as a stress run (SLO p95 500 ms, 2 % errors) on 2 cores; its analysis valid and in the schema. */
function analyzeLadder(rec: RunRecord) {
  const a = analyzeRun(rec, {
    scenario: { name: 'stress', shape: 'steps', thinkTimeMeanMs: 1000, slo: { p95Ms: 500, errorRatio: 0.02 } },
    generatorCores: 2,
    incomplete: false,
    usl: { resamples: 100 },
  });
  expect(AnalysisSchema.safeParse(JSON.parse(JSON.stringify(a))).success).toBe(true);
  expect(a.validity.valid).toBe(true);
  return a;
}

describe('breaking point on a short-step ladder (5-s ramp + 20-s hold)', () => {
  it.each([
    { levels: [40, 80, 120, 160, 240, 400], breakAt: 400 },
    { levels: [60, 120, 180, 260, 400], breakAt: 400 },
  ])('$levels.length levels: max sustainable ≈ 200 req/s, breaking point at $breakAt users, knee and USL reported', ({ levels, breakAt }) => {
    const a = analyzeLadder(ladder(levels));
    expect(a.capacity.maxThroughputRps!).toBeGreaterThan(180);
    expect(a.capacity.maxThroughputRps!).toBeLessThan(220);
    expect(a.capacity.breakingPoint).toMatchObject({ users: breakAt, detectedBy: 'step-rule' });
    expect(a.capacity.breakingPoint!.failureMode!.first!.kind).toBe('latency');
    // queueing with no sampled resource: the plateau is the evidence (≈ 200 req/s at the last passing step and at the break)
    expect(a.capacity.breakingPoint!.failureMode!.summary).toMatch(
      new RegExp(`goodput (19\\d|20\\d) → (19\\d|20\\d) req/s while users went ${levels[levels.length - 2]} → ${breakAt}$`),
    );
    expect(a.capacity.knee).not.toBeNull();
    expect(a.capacity.usl).not.toBeNull();
    expect(a.slo.find((s) => s.name.startsWith('p95'))?.status).toBe('pass');
    if (levels.length < 6) expect(a.capacity.notes.join(' ')).toMatch(/fewer than 6: low confidence/);
  });

  it('the same ladder on a host full from the last passing step on (attach mode): the host is named, the run stays valid', () => {
    const rec = ladder([40, 80, 120, 160, 240, 400]);
    // the 240-user step starts at 101 s: the host (2 cores) at 96 % from there, 40 % before
    for (const p of rec.series) p.host = { cpuUtilization: p.elapsedS >= 101 ? 0.96 : 0.4, iowaitRatio: 0 };
    const a = analyzeLadder(rec);
    expect(a.capacity.breakingPoint).toMatchObject({ users: 400 });
    const fm = a.capacity.breakingPoint!.failureMode!;
    expect(fm.signals.map((x) => x.kind)).toEqual(['host-cpu', 'latency']);
    expect(fm.summary).toMatch(/^host CPU saturated — host CPU 96 % of 2 cores at t=\d+ s: the load generator 0\.20, the rest 1\.72 \(the system under test/);
  });
});
