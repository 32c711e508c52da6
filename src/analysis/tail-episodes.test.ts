import { describe, expect, it } from 'vitest';
import { analyzeRun, type AnalyzeOptions } from './analyze.ts';
import { container } from './testing/fixtures.ts';
import { HistogramIndex } from './histograms.ts';
import { NO_CORRELATED_SIGNAL } from './incidents.ts';
import { normal, seededRng, type Rng } from './stats.ts';
import { rankEvidence, type EvidenceLine } from './tail-evidence.ts';
import { binomialTail, findTailEpisodes, thresholdK } from './tail-episodes.ts';
import { buildRecord, type SecondSpec } from './testing/build-record.ts';
import type { PostgresPoint, RunRecord, SeriesPoint } from './types.ts';
import { loadSegments, steadyWindows } from './windows.ts';

/** What one second of the synthetic run looks like beyond its calm noise. */
interface Fault {
  /** Share of the second's requests that take `slowMs`. */
  slowShare?: number;
  slowMs?: number;
  lockWaits?: number;
  ioWaits?: number;
  buffersCheckpoint?: number;
  iowait?: number;
  pgCpu?: number;
  busy?: number;
  errors5xx?: number;
}

const HOLD_S = 150;

/**
 * A calm closed run at ~40 req/s: log-normal latencies (median `medianMs`, σ = 0.6, so per-second p99 jumps around),
 * Poisson-ish counts, noisy container/host/generator CPU, Postgres with an odd lock or I/O wait now and then.
 */
function run(
  seed: number,
  faults: Record<number, Fault> = {},
  medianMs = 5,
  steps?: { phase: (s: number) => string; medianMs: (s: number) => number },
): RunRecord {
  const rng: Rng = seededRng(seed);
  const specs: SecondSpec[] = [];
  for (let s = 1; s <= HOLD_S; s++) {
    const f = faults[s] ?? {};
    const n = Math.max(20, Math.round(40 + 6 * normal(rng)));
    const med = steps ? steps.medianMs(s) : medianMs;
    const lat = Array.from({ length: n }, () => (rng() < (f.slowShare ?? 0) ? (f.slowMs ?? 1500) * (1 + 0.2 * rng()) : med * Math.exp(0.6 * normal(rng))));
    const busy = f.busy ?? Math.min(20, Math.max(0, Math.round(3 + 1.5 * normal(rng))));
    const waiting: Record<string, number> = {};
    const lock = f.lockWaits ?? (rng() < 0.05 ? 1 : 0);
    if (lock) waiting.Lock = lock;
    const io = f.ioWaits ?? (rng() < 0.05 ? 1 : 0);
    if (io) waiting.IO = io;
    const pg: PostgresPoint = {
      maxConnections: 100,
      connectionsByState: { active: busy, idle: 20 - busy },
      connectionsByApp: { archiveorigin: { active: busy, idle: 20 - busy } },
      waitingByType: waiting,
      ungrantedLocks: lock,
      blockedSessions: lock,
      idleInTransaction: 0,
      oldestIdleInTransactionSeconds: 0,
      perSecond: {
        buffersCheckpoint: f.buffersCheckpoint ?? (rng() < 0.03 ? Math.round(30 * rng()) : 0),
        buffersBackend: 0,
        checkpointsTimed: 0,
        checkpointsReq: f.buffersCheckpoint ? 1 : 0,
      },
    };
    specs.push({
      phase: steps ? steps.phase(s) : 'hold',
      users: 100,
      latenciesMs: { lock_proof: lat.slice(0, n >> 1), ledger: lat.slice(n >> 1) },
      errors: f.errors5xx ? { lock_proof: { '5xx': f.errors5xx } } : undefined,
      cpuCores: 0.2 + 0.03 * normal(rng),
      containers: {
        app: container({ cpuCores: 0.5 + 0.05 * normal(rng), throttledRatio: 0 }),
        postgres: container({ cpuCores: f.pgCpu ?? 0.4 + 0.05 * normal(rng), throttledRatio: 0 }),
      },
      postgres: pg,
    });
  }
  const rec = buildRecord(specs);
  // host section (not part of buildRecord's spec)
  const series = rec.series.map((p, i) => ({
    ...p,
    host: { cpuUtilization: 0.5 + 0.04 * normal(rng), iowaitRatio: faults[i + 1]?.iowait ?? 0.01 },
  })) as SeriesPoint[];
  return { ...rec, series };
}

const episodes = (r: RunRecord) => findTailEpisodes(r.series, new HistogramIndex(r.histograms), steadyWindows(loadSegments(r.series)), { poolMax: 20 });
const stall = (extra: Fault): Record<number, Fault> => Object.fromEntries([90, 91, 92].map((s) => [s, { slowShare: 0.3, slowMs: 1500, ...extra }]));

describe('tail episodes (known answers)', () => {
  it('k comes from Bonferroni over the baseline seconds: ≈ 3.6 for 300 s, never below 3', () => {
    expect(thresholdK(300)).toBeCloseTo(3.59, 1);
    expect(thresholdK(5)).toBe(3);
  });

  it('binomial tail: exact for small n (P(X ≥ 2; 40, 1 %) = 1 − 0.99^40 − 40·0.01·0.99^39), normal for large', () => {
    expect(binomialTail(2, 40, 0.01)).toBeCloseTo(1 - 0.99 ** 40 - 40 * 0.01 * 0.99 ** 39, 12);
    expect(binomialTail(0, 40, 0.01)).toBe(1);
    // 100 000 requests in a second: mean 1000, sd ≈ 31.5; 1100 is ≈ 3.2 sd above
    expect(binomialTail(1100, 100_000, 0.01)).toBeGreaterThan(3e-4);
    expect(binomialTail(1100, 100_000, 0.01)).toBeLessThan(1e-3);
  });

  it('a 3-s p99 stall with a lock-wait spike is one incident, locks ranked first', () => {
    const eps = episodes(run(1, stall({ lockWaits: 8, busy: 20, pgCpu: 0.02 })));
    expect(eps).toHaveLength(1);
    const e = eps[0]!;
    expect(e.kind).toBe('latency-tail');
    expect([e.fromS, e.toS]).toEqual([90, 92]);
    expect(e.peakP99Ms!).toBeGreaterThan(1400);
    expect(e.baselineP99Ms!).toBeLessThan(50);
    expect(e.evidence[0]!.signal).toBe('locks');
    // the full pool and Postgres's idle CPU are there too, after the locks that explain them
    expect(e.evidence.map((l) => l.signal)).toEqual(expect.arrayContaining(['pool', 'cpu-drop:postgres']));
  });

  it('a checkpoint burst is ranked first over the I/O waits and iowait it explains', () => {
    const eps = episodes(run(2, stall({ slowMs: 400, buffersCheckpoint: 6000, ioWaits: 5, iowait: 0.3 })));
    expect(eps).toHaveLength(1);
    expect(eps[0]!.evidence.map((l) => l.signal).slice(0, 1)).toEqual(['checkpoint']);
    expect(eps[0]!.evidence.map((l) => l.signal)).toEqual(expect.arrayContaining(['db-wait:IO', 'host-iowait']));
  });

  it('a stall with nothing else recorded says "no correlated signal"', () => {
    const r = run(3, stall({}));
    const eps = episodes(r);
    expect(eps).toHaveLength(1);
    expect(eps[0]!.evidence).toEqual([]);
    const a = analyzeRun(r, opts);
    const tails = a.incidents.filter((i) => i.kind === 'latency-tail');
    expect(tails).toHaveLength(1);
    expect(tails[0]!.cause).toBe(NO_CORRELATED_SIGNAL);
    expect(tails[0]!.message).toContain(NO_CORRELATED_SIGNAL);
    expect(a.verdictReasons.join(' ')).not.toContain('latency tail'); // an episode is evidence, not a verdict
  });

  it('a burst of 5xx without a latency jump is an error burst', () => {
    const eps = episodes(run(4, { 100: { errors5xx: 6 } }));
    expect(eps.map((e) => [e.kind, e.fromS, e.toS, e.errors])).toEqual([['error-burst', 100, 100, 6]]);
  });

  it('a 3 → 6 ms wobble is not an incident (the minimum effect)', () => {
    const faults = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [80 + i, { slowShare: 1, slowMs: 6 }]));
    expect(episodes(run(5, faults, 3))).toEqual([]);
  });

  it('each steady window has its own baseline: a step from 5 to 60 ms is not a tail', () => {
    const r = run(6, {}, 5, { phase: (s) => (s <= 75 ? 'step-1:50' : 'step-2:100'), medianMs: (s) => (s <= 75 ? 5 : 60) });
    expect(steadyWindows(loadSegments(r.series))).toHaveLength(2);
    expect(episodes(r)).toEqual([]);
  });

  it('calm noisy runs: at most 5 % of 100 seeds show any episode', () => {
    let withEpisode = 0;
    for (let seed = 100; seed < 200; seed++) if (episodes(run(seed)).length) withEpisode++;
    expect(withEpisode).toBeLessThanOrEqual(5);
  });

  it('ranking: a line another clearing line explains goes after it, whatever its score', () => {
    expect(rankEvidence([line('pool', 'pool', 9), line('locks', 'locks', 2), line('host-cpu', 'host-cpu', 3)]).map((l) => l.signal)).toEqual([
      'host-cpu',
      'locks',
      'pool',
    ]);
  });

  it('storage explains only the waits storage makes: I/O and buffer/WAL locks, not a pg_sleep (Timeout) or a client', () => {
    // the fresh-clone CI case: a slow-query burst (pg_sleep) on a host with some I/O wait
    const burst = [line('host-iowait', 'host-iowait', 1.47), line('db-wait:Timeout', 'db-wait', 9.5), line('pool', 'pool', 4)];
    // (the pool, which both explain, goes after both)
    expect(rankEvidence(burst).map((l) => l.signal)).toEqual(['db-wait:Timeout', 'host-iowait', 'pool']);
    for (const storage of [line('checkpoint', 'checkpoint', 1.2), line('backend-writes', 'backend-writes', 1.2), line('autovacuum', 'autovacuum', 1.2)])
      expect(rankEvidence([storage, line('db-wait:Client', 'db-wait', 5)])[0]!.signal).toBe('db-wait:Client');
    // the waits they do make still go after them, whatever their score
    for (const wait of ['IO', 'LWLock', 'BufferPin'])
      expect(rankEvidence([line(`db-wait:${wait}`, 'db-wait', 9), line('host-iowait', 'host-iowait', 1.1)])[0]!.signal).toBe('host-iowait');
  });
});

/** An evidence line for the ranking tests: only its signal, kind and score matter there. */
function line(signal: string, kind: EvidenceLine['kind'], score: number): EvidenceLine {
  return { signal, kind, score, episodeValue: 0, baselineValue: 0, message: '' };
}

const opts: AnalyzeOptions = { scenario: { name: 't', shape: 'ramp', thinkTimeMeanMs: 2000 }, generatorCores: 2, incomplete: false, poolMax: 20 };
