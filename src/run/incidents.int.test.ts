// Tail episodes on real runs of the reference stack (issue 13 item 4): a fault at a known second must come out as
// a latency-tail incident with the right cause ranked first, and a calm run must have none. Three fault runs at the
// same time, then the calm one alone, each on its own isolated stack (own ports, own containers), 20 users thinking
// 0.3–0.7 s (~40 req/s):
//   burst      — SLOW_QUERY_BURST_* : 3 s from 65 s, every request first sleeps 1 s in Postgres → 'db-wait:Timeout'
//   lock       — the test holds an EXCLUSIVE lock on devices for 2 s from 75 s (lock_proof's FOR UPDATE waits) → 'locks'
//   checkpoint — the test dirties ~100 MB of a table at 85 s and forces a CHECKPOINT at 105 s: the sampler must see
//                the buffers it wrote; whether that makes a tail on this machine is measured, not assumed
//   calm       — no fault → no tail incident with a named cause, judged when the machine had headroom (host CPU
//                median < 80 %, the orchestrator's loop never blocked > 100 ms). On a saturated shared machine a
//                "calm" run has real multi-second stalls (measured: p99 3.3 s against 96 ms at load average 15).
// APP_IMAGE_UNDER_TEST picks an app image that has the SLOW_QUERY_BURST_* knob when the shared one is older.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Analysis } from '../analysis/analyze.ts';
import { contendedSecond } from '../analysis/host-contention.ts';
import { NO_CORRELATED_SIGNAL, type Incident } from '../analysis/incidents.ts';
import { createPgQueryClient, type PgQueryClient } from '../samplers/pg-client.ts';
import type { ContainerRuntime } from '../stack/runtime/port.ts';
import { readNdjson, readSeries, type SeriesLine } from '../store/read-series.ts';
import { readRunRecord } from '../store/run-record.ts';
import { realRuntime } from '../stack/testing/runtime.ts';
import { parsePostgresDsn } from './dsn.ts';
import { runScenario, type RunScenarioResult } from './run-scenario.ts';
import { isolatedStack, sleep, testConfig, testStackProvider, waitFor, type IsolatedStack, cleanUpRuns } from './testing/stack-fixture.ts';

type Name = 'burst' | 'lock' | 'checkpoint' | 'calm';
// The three fault runs share this process and the machine: their faults are 10 s apart so that one run's fault (or
// the checkpoint run's heavy UPDATE) does not stall the orchestrator at the moment another run is judged. Every fault
// acts after the middle of the hold (5–120 s, so after 62.5 s): episodes are judged inside the steady window, whose warm-up cut (MSER-5) may
// reach half the segment, and an early outlier is exactly what it cuts (docs/ANALYSIS.md, Incidents).
const BURST_AT_S = 65;
const LOCK_AT_S = 75;
const DIRTY_AT_S = 85;
const CHECKPOINT_AT_S = 105;
const SCENARIO = {
  shape: { kind: 'ramp', users: 20, rampUp: '5s', duration: '120s' },
  thinkTime: { min: '300ms', max: '700ms' },
  slo: { p95: '2s', errorRate: '5%' },
};

/** Causes on the measuring side: on a shared 2-core machine the orchestrator itself stalls now and then. */
const CLIENT_SIDE = ['generator-lag', 'generator-cpu', 'host-cpu'];

const CASES: { name: Name; env: Record<string, string> }[] = [
  { name: 'burst', env: { SLOW_QUERY_BURST_AT_S: String(BURST_AT_S), SLOW_QUERY_BURST_FOR_S: '3', SLOW_QUERY_BURST_MS: '1000' } },
  { name: 'lock', env: {} },
  { name: 'checkpoint', env: {} },
  { name: 'calm', env: {} },
];

let runtime: ContainerRuntime;
const results = new Map<Name, RunScenarioResult>();
const seriesOf = new Map<Name, SeriesLine[]>();
/** Elapsed second at which the test actually did its part (lock taken, checkpoint issued). */
const actedAtS = new Map<Name, number>();

const analysisOf = (name: Name): Analysis => {
  const a = results.get(name)?.analysis;
  if (!a) throw new Error(`${name}: no analysis`);
  return a;
};
const tails = (name: Name): Incident[] => analysisOf(name).incidents.filter((i) => i.kind === 'latency-tail' || i.kind === 'error-burst');
/** The fault's episode: of those overlapping [fromS, toS], the one with the highest p99 (client stalls nearby are smaller). */
const overlapping = (name: Name, fromS: number, toS: number): Incident | undefined =>
  tails(name)
    .filter((i) => (i.endS ?? i.atS) >= fromS && i.atS <= toS)
    .sort((a, b) => (b.peakP99Ms ?? 0) - (a.peakP99Ms ?? 0))[0];

/** The run's newest elapsed second, from its series file (the run directory is outDir/latest). */
function elapsedNow(stack: IsolatedStack): number | undefined {
  const lines = readNdjson<{ elapsedS: number }>(join(stack.dir, 'latest', 'series.ndjson'));
  return lines.length ? lines[lines.length - 1]!.elapsedS : undefined;
}

const untilElapsed = (stack: IsolatedStack, s: number): Promise<number> =>
  waitFor(
    `elapsed ${s} s`,
    () => {
      const e = elapsedNow(stack);
      return e !== undefined && e >= s ? e : undefined;
    },
    400_000,
    100,
  );

/** The test's own database session (the project's pg adapter), as the stack's superuser. */
const dbSession = (stack: IsolatedStack): PgQueryClient =>
  createPgQueryClient(parsePostgresDsn(`postgres://loadscope:loadscope@127.0.0.1:${stack.pgPort}/archiveorigin`), {
    applicationName: 'incidents-test',
    max: 1,
    statementTimeoutMs: 0,
    idleTimeoutMs: 0,
  });

/** Opens the session's one connection early (retrying: connecting has a 2-s timeout and the machine may be busy); it then stays open. */
async function warm(db: PgQueryClient): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await db.query('SELECT 1');
      return;
    } catch (err) {
      if (i >= 10) throw err;
      await sleep(500);
    }
  }
}

async function actLock(stack: IsolatedStack): Promise<void> {
  const db = dbSession(stack);
  try {
    await untilElapsed(stack, 5);
    await warm(db);
    await untilElapsed(stack, LOCK_AT_S);
    await db.query('BEGIN');
    await db.query('LOCK TABLE devices IN EXCLUSIVE MODE'); // lock_proof's SELECT … FOR UPDATE waits; reads do not
    actedAtS.set('lock', elapsedNow(stack)!);
    await sleep(2000);
    await db.query('COMMIT');
  } finally {
    await db.end();
  }
}

async function actCheckpoint(stack: IsolatedStack): Promise<void> {
  const db = dbSession(stack);
  try {
    await untilElapsed(stack, 5);
    await warm(db);
    // ~200 k rows × ~550 B ≈ 110 MB, made clean before the steady window starts
    await db.query('CREATE TABLE ballast AS SELECT g AS id, repeat(md5(g::text), 16) AS pad FROM generate_series(1, 200000) g');
    await db.query('CHECKPOINT');
    await untilElapsed(stack, DIRTY_AT_S);
    await db.query('UPDATE ballast SET pad = reverse(pad)'); // dirties it all again (shared_buffers permitting)
    await untilElapsed(stack, CHECKPOINT_AT_S);
    actedAtS.set('checkpoint', elapsedNow(stack)!);
    await db.query('CHECKPOINT');
  } finally {
    await db.end();
  }
}

beforeAll(async () => {
  runtime = await realRuntime();
  const appImage = process.env.APP_IMAGE_UNDER_TEST;
  const one = async (c: (typeof CASES)[number]): Promise<void> => {
    const stack = await isolatedStack(`loadscope-inc-${c.name}`, { env: c.env, ...(appImage ? { appImage } : {}) });
    const { config } = testConfig(stack, { scenarios: { [c.name]: SCENARIO } });
    const run = runScenario({ scenario: c.name, config, env: stack.env, stack: testStackProvider(stack), outDir: stack.dir, metrics: null });
    const act = c.name === 'lock' ? actLock(stack) : c.name === 'checkpoint' ? actCheckpoint(stack) : Promise.resolve();
    const [r] = await Promise.all([run, act]);
    results.set(c.name, r);
    seriesOf.set(c.name, readSeries(r.runDir));
  };
  // The fault runs share this process and the machine's 2 cores: their stalls (and other work on the machine) show
  // in every run at the same second. The calm run therefore runs on its own, after them.
  await Promise.all(CASES.filter((c) => c.name !== 'calm').map(one));
  await one(CASES.find((c) => c.name === 'calm')!);
  for (const c of CASES) {
    const a = results.get(c.name)?.analysis;
    console.log(
      `[incidents] ${c.name}: verdict ${a?.verdict}, acted at ${actedAtS.get(c.name) ?? '-'} s; ${JSON.stringify(tails(c.name).map((i) => ({ at: i.atS, end: i.endS, kind: i.kind, p99: i.peakP99Ms, base: i.baselineP99Ms, thr: i.thresholdP99Ms, evidence: i.evidence?.map((e) => `${e.signal} ${e.score}: ${e.message}`) })))}`,
    );
  }
}, 600_000);

afterAll(() => cleanUpRuns(runtime, results.values()));

describe('tail episodes on the reference stack', () => {
  it('a slow-query burst is a latency-tail incident caused by queries waiting in Postgres (pg_sleep: Timeout)', () => {
    expect(results.get('burst')!.stoppedBy).toBe('completed');
    const i = overlapping('burst', BURST_AT_S - 2, BURST_AT_S + 6);
    expect(i, JSON.stringify(tails('burst'))).toBeDefined();
    expect(i!.kind).toBe('latency-tail');
    expect(i!.peakP99Ms!).toBeGreaterThan(900);
    expect(i!.cause, JSON.stringify(i!.evidence)).toBe('db-wait:Timeout');
  });

  it('a held table lock is a latency-tail incident with locks ranked first', () => {
    const at = actedAtS.get('lock')!;
    const i = overlapping('lock', at - 1, at + 4);
    expect(i, JSON.stringify(tails('lock'))).toBeDefined();
    expect(i!.cause, JSON.stringify(i!.evidence)).toBe('locks');
  });

  it('a forced checkpoint is sampled (buffers written), and an episode at that moment names it (or the client) first', () => {
    const at = actedAtS.get('checkpoint')!;
    const written = (p: SeriesLine): number =>
      Number((p.postgres as { perSecond?: { buffersCheckpoint?: number } } | undefined)?.perSecond?.buffersCheckpoint ?? 0);
    const ck = seriesOf.get('checkpoint')!.filter((p) => p.elapsedS >= at - 1 && p.elapsedS <= at + 8 && written(p) > 1000);
    console.log(`[incidents] checkpoint at ${at} s: ${ck.map((p) => `${p.elapsedS.toFixed(0)} s ${written(p).toFixed(0)} buffers/s`).join(', ')}`);
    expect(ck.length).toBeGreaterThan(0);
    const i = overlapping('checkpoint', ck[0]!.elapsedS - 2, ck[ck.length - 1]!.elapsedS + 2);
    if (i) expect(['checkpoint', ...CLIENT_SIDE]).toContain(i.cause);
  });

  it('a calm run has no explained tail incident when the machine had headroom (its stalls are reported, causes not invented)', () => {
    const series = seriesOf.get('calm')!;
    const lagMs = Math.max(...series.map((p) => Number((p.sampler as { lagMs?: number } | undefined)?.lagMs ?? 0)));
    const hostCpu = series
      .map((p) => Number((p.host as { cpuUtilization?: number } | undefined)?.cpuUtilization))
      .filter(Number.isFinite)
      .sort((a, b) => a - b);
    const hostMedian = hostCpu[Math.floor(hostCpu.length / 2)] ?? NaN;
    const quiet = lagMs <= 100 && hostMedian < 0.8;
    console.log(
      `[incidents] calm: host CPU median ${(hostMedian * 100).toFixed(0)} %, largest sampling-tick lag ${lagMs.toFixed(0)} ms → ${quiet ? 'quiet: judged' : 'busy machine: not judged'}`,
    );
    // Measured: on a quiet machine 1 of 2 calm runs had no episode at all, the other one unexplained ~0.4-s stall
    // (docs/ANALYSIS.md "Incidents"); what must never happen is a cause named where nothing moved. A calm run injects
    // no fault, so no database-side cause; the app's own CPU limit can really bite (fresh-clone CI: a 278-ms p99
    // second with the app CFS-throttled in 20 % of its periods, baseline 0 %) — then the samples must show it.
    // and an episode during which work outside the run took the host (docs/ANALYSIS.md, Recovery: host contention —
    // another process's CPU or I/O; seen with a CPU-bound neighbour: host-cpu 99 % named, truly) is not judged either
    const { manifest, record } = readRunRecord(results.get('calm')!.runDir);
    const contended = (i: Incident): boolean =>
      record.series.some(
        (p) => p.elapsedS >= i.atS - 1 && p.elapsedS <= (i.endS ?? i.atS) + 1 && contendedSecond(p, { hostCores: manifest.generatorCores ?? 0 }) === true,
      );
    if (quiet)
      for (const i of tails('calm')) {
        if (i.cause === NO_CORRELATED_SIGNAL) continue;
        if (contended(i)) {
          console.log(`[incidents] calm: ${i.cause} named at ${i.atS} s, with outside work on the host: not judged`);
          continue;
        }
        const svc = /^cpu-throttled:(.+)$/.exec(i.cause ?? '')?.[1];
        expect(svc, `calm run: only a throttled container may be named, got ${i.message}`).toBeDefined();
        const during = series.filter((p) => p.elapsedS >= i.atS - 1 && p.elapsedS <= (i.endS ?? i.atS) + 1);
        const throttled = Math.max(
          ...during.map((p) => Number((p.containers as Record<string, { throttledRatio?: number | null }> | undefined)?.[svc!]?.throttledRatio ?? 0)),
        );
        console.log(`[incidents] calm: ${i.cause} named at ${i.atS} s; throttled ratio in the episode ${(throttled * 100).toFixed(0)} %`);
        expect(throttled).toBeGreaterThanOrEqual(0.1);
      }
    // either way every episode is a real jump: its peak p99 is above the threshold it was held to
    for (const i of tails('calm')) expect(i.peakP99Ms!).toBeGreaterThan(i.thresholdP99Ms!);
  });
});
