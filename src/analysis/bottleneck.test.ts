import { describe, expect, it } from 'vitest';
import { attributeBottlenecks, type BottleneckOptions } from './bottleneck.ts';
import { container } from './testing/fixtures.ts';
import { HistogramIndex } from './histograms.ts';
import { normal, seededRng } from './stats.ts';
import { buildRecord, type SecondSpec } from './testing/build-record.ts';
import type { ContainerPoint, PostgresPoint } from './types.ts';

const pg = (app: Record<string, number>, o: Partial<PostgresPoint> = {}): PostgresPoint => ({
  maxConnections: 100,
  connectionsByState: app,
  connectionsByApp: { archiveorigin: app },
  waitingByType: {},
  ungrantedLocks: 0,
  blockedSessions: 0,
  idleInTransaction: 0,
  oldestIdleInTransactionSeconds: 0,
  ...o,
});

interface Phase {
  seconds: number;
  users: number;
  rps: number;
  latMs: number;
  app: Record<string, number>;
  pgExtra?: Partial<PostgresPoint>;
  appContainer?: Partial<ContainerPoint>;
  /** The host's CPU utilisation (0..1) this phase; absent = not sampled. */
  hostCpu?: number;
  /** Postgres samples lost: of every `lostPgEvery` seconds, all but the first (a sampler round over its budget). */
  lostPgEvery?: number;
}

/** A closed run: per phase the request rate, latency (5 % log-normal noise), the app's connections and container. */
function run(phases: Phase[], seed = 3): ReturnType<typeof buildRecord> {
  const rng = seededRng(seed);
  const specs: SecondSpec[] = [];
  phases.forEach((ph, k) => {
    for (let s = 0; s < ph.seconds; s++) {
      specs.push({
        phase: `step-${k + 1}:${ph.users}`,
        users: ph.users,
        latenciesMs: { api: Array.from({ length: ph.rps }, () => ph.latMs * Math.exp(0.05 * normal(rng))) },
        containers: { app: container({ cpuLimitUtilization: 0.3, ...ph.appContainer }) },
        postgres: ph.lostPgEvery && s % ph.lostPgEvery !== 0 ? null : pg(ph.app, ph.pgExtra),
        ...(ph.hostCpu !== undefined ? { host: { cpuUtilization: ph.hostCpu } } : {}),
      });
    }
  });
  return buildRecord(specs);
}

const base: Phase = { seconds: 60, users: 2, rps: 40, latMs: 50, app: { active: 1, idle: 1 } };

interface Case {
  name: string;
  phases: Phase[];
  opts: BottleneckOptions;
  /** Expected top resource, or null for none at all. */
  top: string | null;
  absent?: string[];
}

/** A base with an idle pool, then 20 users at 500 ms with the app container's busiest thread as given. */
function threadCase(name: string, before: Partial<ContainerPoint>, after: Partial<ContainerPoint>, top: string | null, absent?: string[]): Case {
  return {
    name,
    phases: [
      { ...base, app: { active: 1, idle: 9 }, appContainer: before },
      { seconds: 60, users: 20, rps: 40, latMs: 500, app: { active: 2, idle: 8 }, appContainer: after },
    ],
    opts: { sloP95Ms: 200 },
    top,
    ...(absent ? { absent } : {}),
  };
}

const cases: Case[] = [
  {
    // the real-run failure: asyncpg queues inside the app, so Postgres shows no waiters and no pool max
    name: 'pool of 2 all active, requests queued in the app (Little: 20 in flight), max unknown → db pool first',
    phases: [base, { seconds: 60, users: 20, rps: 40, latMs: 500, app: { active: 2 } }],
    opts: { sloP95Ms: 200 },
    top: 'db-pool:archiveorigin',
    absent: ['cpu:app'],
  },
  {
    name: 'pool max known from the stack (2): busy connections at max with requests queued → db pool first',
    phases: [base, { seconds: 60, users: 20, rps: 40, latMs: 500, app: { active: 1, 'idle in transaction': 1 } }],
    opts: { sloP95Ms: 200, poolMax: 2 },
    top: 'db-pool:archiveorigin',
  },
  {
    name: 'idle app connections left while latency rises → not the pool',
    phases: [base, { seconds: 60, users: 20, rps: 40, latMs: 500, app: { active: 2, idle: 8 } }],
    opts: { sloP95Ms: 200 },
    top: null,
    absent: ['db-pool:archiveorigin'],
  },
  {
    name: 'the pool still grows (asyncpg opens connections on demand) → not exhausted',
    phases: [base, { seconds: 60, users: 20, rps: 40, latMs: 60, app: { active: 2 } }],
    opts: { sloP95Ms: 200 },
    top: null,
  },
  {
    name: 'CPU throttling drives latency, pool has idle connections → cpu:app first (D2)',
    phases: [
      { ...base, app: { active: 1, idle: 9 } },
      { seconds: 60, users: 20, rps: 40, latMs: 500, app: { active: 2, idle: 8 }, appContainer: { cpuLimitUtilization: 0.6, throttledRatio: 0.4 } },
    ],
    opts: { sloP95Ms: 200 },
    top: 'cpu:app',
    absent: ['db-pool:archiveorigin'],
  },
  // the reference app under a zero-think ladder: one uvicorn process, ~0.9 core on a 2-core host, pool idle
  threadCase(
    'no CPU limit, the busiest thread at a full core while latency rises, pool idle → thread:app first',
    { busiestThreadCores: 0.4 },
    {
      cpuLimitUtilization: null,
      cpuLimitCores: null,
      cpuCores: 0.97,
      busiestThreadCores: 0.95,
    },
    'thread:app',
    ['cpu:app', 'db-pool:archiveorigin'],
  ),
  // the real run's shape: on a busy 2-core host the thread gets 0.85 of a core and waits for one the rest
  threadCase(
    'the busiest thread on a core 85 %, runnable 98 % of the time → thread:app first',
    { busiestThreadCores: 0.3, busiestThreadRunnable: 0.35 },
    {
      busiestThreadCores: 0.85,
      busiestThreadRunnable: 0.98,
    },
    'thread:app',
  ),
  threadCase('a busy thread below a full core (0.7) is not a saturated one → nothing', { busiestThreadCores: 0.4 }, { busiestThreadCores: 0.7 }, null, [
    'thread:app',
  ]),
  // a full host: the thread is runnable all the time but waits for a core most of it — the host's doing, not its own
  threadCase(
    'the busiest thread runnable 97 % but on a core 40 % → not thread-bound',
    { busiestThreadCores: 0.3, busiestThreadRunnable: 0.35 },
    {
      busiestThreadCores: 0.4,
      busiestThreadRunnable: 0.97,
    },
    null,
    ['thread:app'],
  ),
  {
    name: 'sessions waiting on locks → postgres:locks listed',
    phases: [base, { seconds: 60, users: 20, rps: 40, latMs: 500, app: { active: 3, idle: 7 }, pgExtra: { waitingByType: { Lock: 3 }, blockedSessions: 3 } }],
    opts: { sloP95Ms: 200 },
    top: 'postgres:locks',
  },
  {
    // a starved host loses sampler rounds: 2 of every 3 Postgres samples missing is not a calm pool
    name: 'pool of 2 at max with requests queued, 2 of every 3 Postgres samples lost → db pool first',
    phases: [base, { seconds: 60, users: 20, rps: 40, latMs: 500, app: { active: 2 }, lostPgEvery: 3 }],
    opts: { sloP95Ms: 200, poolMax: 2 },
    top: 'db-pool:archiveorigin',
  },
  {
    // 2 cores, 100 % busy: app 0.5 + generator 0.2 cores, so 1.3 cores went to work outside the stack and generator
    name: 'host CPU saturated by outside work while latency rises, pool idle → host:cpu first',
    phases: [
      { ...base, app: { active: 1, idle: 9 }, hostCpu: 0.4 },
      { seconds: 60, users: 20, rps: 40, latMs: 500, app: { active: 2, idle: 8 }, hostCpu: 1 },
    ],
    opts: { sloP95Ms: 200, hostCores: 2 },
    top: 'host:cpu',
    absent: ['db-pool:archiveorigin', 'cpu:app'],
  },
  {
    name: 'the same run without the host cores (attach mode): the host is not guessed at',
    phases: [
      { ...base, app: { active: 1, idle: 9 }, hostCpu: 0.4 },
      { seconds: 60, users: 20, rps: 40, latMs: 500, app: { active: 2, idle: 8 }, hostCpu: 1 },
    ],
    opts: { sloP95Ms: 200 },
    top: null,
  },
  {
    // 100 % of 2 cores, all of it the app (1.8) and the generator (0.2): the host is busy with the system itself
    name: 'host CPU saturated by the stack itself → not host contention',
    phases: [
      { ...base, app: { active: 1, idle: 9 }, hostCpu: 0.4 },
      { seconds: 60, users: 20, rps: 40, latMs: 500, app: { active: 2, idle: 8 }, hostCpu: 1, appContainer: { cpuCores: 1.8 } },
    ],
    opts: { sloP95Ms: 200, hostCores: 2 },
    top: null,
    absent: ['host:cpu'],
  },
  {
    name: 'healthy run: nothing saturated',
    phases: [base, { ...base, users: 4, rps: 80 }],
    opts: { sloP95Ms: 200 },
    top: null,
  },
];

describe('attributeBottlenecks (table)', () => {
  it.each(cases)('$name', ({ phases, opts, top, absent }) => {
    const rec = run(phases);
    const found = attributeBottlenecks(rec.series, new HistogramIndex(rec.histograms), opts);
    if (top === null) {
      if (!absent) expect(found.map((b) => b.resource)).toEqual([]);
    } else {
      expect(found[0]?.resource, JSON.stringify(found.map((b) => [b.resource, b.role]))).toBe(top);
      expect(found[0]!.rank).toBe(1);
      expect(['PRIMARY', 'CONTRIBUTING']).toContain(found[0]!.role);
      // evidence carries times and values
      expect(found[0]!.evidence.onsetS).toBeGreaterThan(60);
      expect(found[0]!.evidence.breachOnsetS).toBeGreaterThan(55);
      expect(found[0]!.evidence.detail).toMatch(/from t=/);
    }
    for (const r of absent ?? []) expect(found.map((b) => b.resource)).not.toContain(r);
  });

  it('the pool evidence names the pool and the queued requests', () => {
    const rec = run(cases[0]!.phases);
    const b = attributeBottlenecks(rec.series, new HistogramIndex(rec.histograms), { sloP95Ms: 200 })[0]!;
    expect(b.kind).toBe('pool');
    expect(b.evidence.detail).toMatch(/DB connection pool \(archiveorigin\) exhausted/);
    expect(b.evidence.peak).toBeGreaterThan(10); // ≈ 18 requests waiting for one of 2 connections
    expect(b.evidence.coverage).toBeGreaterThanOrEqual(0.8);
  });

  it('the lost samples count neither way: the pool covers every sampled breach second', () => {
    const rec = run(cases.find((c) => c.phases[1]?.lostPgEvery)!.phases);
    const b = attributeBottlenecks(rec.series, new HistogramIndex(rec.histograms), { sloP95Ms: 200, poolMax: 2 })[0]!;
    expect(b.resource).toBe('db-pool:archiveorigin');
    expect(b.evidence.coverage).toBe(1);
    // the onset needs 3 saturated seconds among the trailing 10 (a third of them sampled), not 5
    expect(b.evidence.onsetS).toBeLessThanOrEqual(61 + 9);
  });

  it('host contention: the evidence names the cores taken outside the stack and the generator', () => {
    const rec = run(cases.find((c) => c.top === 'host:cpu')!.phases);
    const b = attributeBottlenecks(rec.series, new HistogramIndex(rec.histograms), { sloP95Ms: 200, hostCores: 2 })[0]!;
    expect(b).toMatchObject({ kind: 'host', service: null });
    expect(b.evidence.detail).toMatch(/outside the system under test and the load generator \(up to 1\.3 of 2 cores\)/);
    expect(b.evidence.coverage).toBeGreaterThanOrEqual(0.8);
  });

  it('a neighbour busy from the first second is listed after the exhausted pool, not before it', () => {
    const rec = run([
      { ...base, hostCpu: 1 },
      { seconds: 60, users: 20, rps: 40, latMs: 500, app: { active: 2 }, hostCpu: 1 },
    ]);
    const found = attributeBottlenecks(rec.series, new HistogramIndex(rec.histograms), { sloP95Ms: 200, poolMax: 2, hostCores: 2 });
    expect(found.map((b) => b.resource)).toEqual(['db-pool:archiveorigin', 'host:cpu']);
    // the host saturated first (t ≈ 5 s against the pool's ≈ 65 s): the lead alone would have put it first
    expect(found[1]!.evidence.leadS!).toBeGreaterThan(found[0]!.evidence.leadS!);
  });

  it('fewer than 3 seconds → nothing', () => {
    const rec = run([{ ...base, seconds: 2 }]);
    expect(attributeBottlenecks(rec.series, new HistogramIndex(rec.histograms), {})).toEqual([]);
  });
});
