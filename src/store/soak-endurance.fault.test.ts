// Endurance of the tool itself: 28,800 one-second ticks (an 8 h soak, compressed by a fake clock) of the sampling
// scheduler feeding the run writer — series, histograms, history CSV and events appended each tick, with container and
// Postgres sections of realistic size and several endpoints — with the process's RSS, open file descriptors and
// active handles/timers sampled after a warm-up: RSS grows ≤ 5 MB, fds and timers do not grow.
//
// Cost (measured, 2 cores at load ≈ 8, under vitest): a tick whose run totals hold data costs 7–11 ms, almost all of
// it hdr-histogram-js passes over the fixed-size counts arrays (Aggregated history row: percentiles + mean + min/max
// of the running total; add/reset/encode; Locust percentiles of the second) — even a tick without an endpoint pays
// for the Aggregated total. A tick before any request costs 0.4 ms. 28,800 × 7+ ms is > 3 min, so the soak runs in two
// phases that together make 28,800 ticks: LINES_ONLY ticks of scheduler + full series lines (container, Postgres
// and host sections, ≈ 2.4 kB/line) + history/histogram lines + events with no requests yet, then HIST_TICKS ticks
// that each add ONE endpoint histogram (count 20, realistic latencies) rotating over four endpoints, so the run-level
// state (one total histogram per endpoint + the aggregate) is a real run's. hdr histograms are fixed-size
// (autoResize off): their work per tick cannot grow memory; the RSS of the histogram phase is asserted on its own too.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { EndpointSecond, SecondSample } from '../load/engine.ts';
import { createLatencyHistogram } from '../load/histogram.ts';
import { zeroErrors } from '../load/recorder.ts';
import type { Clock, Timer } from '../common/clock.ts';
import { SamplingScheduler } from '../samplers/scheduler.ts';
import type { ContainerSample, PostgresSample, SampleSnapshot } from '../samplers/types.ts';
import { RunWriter } from './run-writer.ts';

const TICKS = 28_800;
const WARMUP = 1_000;
const HIST_TICKS = 2_000;
const LINES_ONLY = TICKS - HIST_TICKS;
const dir = mkdtempSync(join(tmpdir(), 'loadscope-soak-endurance-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// a full GC before each RSS reading, so garbage not yet collected does not count as growth
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const fdCount = (): number => readdirSync('/proc/self/fd').length;
const resources = (): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) out[r] = (out[r] ?? 0) + 1;
  return out;
};

/** Virtual time: setTimeout only records the callback; the test fires it after moving `now` to its due time. */
class FakeClock implements Clock {
  t = 1_700_000_000_000;
  pending: { fn: () => void; at: number } | undefined;
  nowMs = (): number => this.t;
  monotonicMs = (): number => this.t;
  setTimer = (ms: number, fn: () => void): Timer => {
    const entry = (this.pending = { fn, at: this.t + Math.max(0, ms) });
    return { cancel: () => void (this.pending === entry && (this.pending = undefined)) };
  };
  sleep = (): Promise<void> => Promise.reject(new Error('the scheduler does not sleep'));
  /** Advances to the armed timer and runs it (and the tick's microtasks). */
  async fire(): Promise<void> {
    const p = this.pending;
    if (!p) throw new Error('scheduler has no timer armed');
    this.pending = undefined;
    this.t = Math.max(this.t, p.at);
    p.fn();
    await Promise.resolve();
    await Promise.resolve();
  }
}

const container = (service: string, i: number): ContainerSample => ({
  service,
  containerId: `${service}-0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab`,
  readMs: 1_700_000_000_000 + i * 1000,
  ageMs: 12,
  cgroup: 'v2',
  cpuCores: 0.3 + (i % 10) / 100,
  cpuLimitUtilization: null,
  cpuLimitCores: null,
  cpuUserSeconds: i * 0.2,
  cpuSystemSeconds: i * 0.05,
  throttlingPeriods: 0,
  throttledPeriods: 0,
  throttledSeconds: 0,
  throttledRatio: null,
  memoryUsageBytes: 1.2e8 + (i % 1000),
  memoryWorkingSetBytes: 1e8 + (i % 1000),
  memoryRssBytes: 9e7,
  memoryLimitBytes: null,
  memoryAvailableBytes: null,
  networkRxBytes: i * 4096,
  networkTxBytes: i * 8192,
  blockReadBytes: 0,
  blockWriteBytes: i * 512,
  pids: 12,
  restarts: 0,
  oomKills: 0,
});

const postgres = (i: number): PostgresSample =>
  ({
    canReadAllStats: true,
    maxConnections: 100,
    connectionsByState: { active: i % 7, idle: 5, 'idle in transaction': i % 2 },
    connectionsByApp: { archiveorigin: { active: i % 7, idle: 5 }, loadscope: { active: 1 } },
    waitingByType: { Lock: i % 3, LWLock: 0 },
    locksByMode: { AccessShareLock: { granted: 12, waiting: 0 }, RowExclusiveLock: { granted: 3, waiting: i % 2 } },
    ungrantedLocks: i % 2,
    blockedSessions: i % 2,
    oldestXactAgeSeconds: 0.4,
    idleInTransaction: i % 2,
    oldestIdleInTransactionSeconds: 0.1,
    totals: { commits: i * 50, rollbacks: 0, deadlocks: 0, blksHit: i * 900, blksRead: i, tempBytes: 0 },
    perSecond: { commits: 50, rollbacks: 0, deadlocks: 0, blksHit: 900, blksRead: 1, tempBytes: 0 },
  }) as unknown as PostgresSample;

describe('soak endurance of the sampling scheduler + run writer (28,800 ticks)', () => {
  it('RSS grows ≤ 5 MB; file handles and timers stay flat', async () => {
    const startedAt = performance.now();
    const clock = new FakeClock();
    let latest: SampleSnapshot | undefined;
    let tick = 0;
    let samples = 0;
    const scheduler = new SamplingScheduler({
      intervalMs: 1000,
      clock,
      containers: { sample: () => ({ app: container('app', tick), postgres: container('postgres', tick) }) },
      postgres: { sample: () => Promise.resolve(postgres(tick)) },
      host: {
        sample: () => ({
          host: { cpuUtilization: 0.4, cpuCount: 2, memoryUsedBytes: 3e9, memoryTotalBytes: 8e9, refreshDurationMs: 0.2 },
          generator: { cpuCores: 0.2, memoryRssBytes: process.memoryUsage.rss() },
        }),
      },
      onSample: (s) => {
        latest = s;
        samples += 1;
      },
    });
    const writer = new RunWriter(dir, 'soak-endurance', 'soak');
    writer.addSection('containers', () => latest?.containers);
    writer.addSection('postgres', () => latest?.postgres ?? undefined);
    writer.addSection('host', () => latest?.host);
    const names = ['lock_proof', 'health', 'ledger', 'archive_item'];
    const hist = createLatencyHistogram();
    const sample = (i: number): SecondSample => {
      const endpoints = new Map<string, EndpointSecond>();
      if (i < LINES_ONLY)
        return {
          startMs: clock.t - i * 1000,
          tMs: clock.t,
          elapsedS: i,
          phase: 'hold',
          activeUsers: 200,
          endpoints,
          failures: {},
          droppedLate: 0,
          cpuCores: 0.2,
          final: false,
        };
      const n = names[i % names.length]!;
      hist.reset();
      for (let j = 0; j < 20; j++) hist.recordValue(1000 + ((i * 31 + j * 17) % 50_000));
      const errors = zeroErrors();
      if (i % 97 === 0) errors['5xx'] = 1;
      endpoints.set(n, { method: n === 'lock_proof' ? 'POST' : 'GET', count: 20, errors, bytes: 4096, hist } as unknown as EndpointSecond);
      return {
        startMs: clock.t - i * 1000,
        tMs: clock.t,
        elapsedS: i,
        phase: 'hold',
        activeUsers: 200,
        endpoints,
        failures: i % 97 === 0 ? { 'GET\thealth\tHTTP 500': 1 } : {},
        droppedLate: 0,
        cpuCores: 0.2,
        final: false,
      };
    };
    const step = async (): Promise<void> => {
      await clock.fire();
      writer.writeSecond(sample(tick));
      if (tick % 600 === 0) writer.event('users', { activeUsers: 200 });
      tick += 1;
      // let real timers (vitest's timeout) run now and then
      if (tick % 1_000 === 0) await new Promise((r) => setImmediate(r));
    };
    const measure = (): { rss: number; fds: number; res: Record<string, number> } => {
      gc();
      return { rss: process.memoryUsage().rss, fds: fdCount(), res: resources() };
    };

    scheduler.start();
    // warm-up: JIT, histogram pools, the totals of all endpoints and the writer's other fixed-size state
    while (tick < WARMUP) await step();
    await new Promise((r) => setTimeout(r, 50));
    const before = measure();
    const rssSamples: number[] = [];
    while (tick < LINES_ONLY) {
      await step();
      if (tick % 2_000 === 0) rssSamples.push(process.memoryUsage().rss);
    }
    const linesOnlyS = (performance.now() - startedAt) / 1000;
    gc();
    const linesAfter = process.memoryUsage().rss;
    // histogram phase: its first 200 ticks are its warm-up (a real run's first seconds): they allocate the
    // per-endpoint total histograms (fixed-size, ≈ 3 MB for five), then RSS is taken again
    while (tick < LINES_ONLY + 200) await step();
    gc();
    const histBefore = process.memoryUsage().rss;
    while (tick < TICKS) {
      await step();
      if (tick % 500 === 0) rssSamples.push(process.memoryUsage().rss);
    }
    await new Promise((r) => setTimeout(r, 50));
    const after = measure();
    await scheduler.stop();
    writer.finish();
    writer.close();
    const seriesBytes = statSync(join(writer.runDir, 'series.ndjson')).size;
    const linesGrowthMb = (linesAfter - before.rss) / 1e6;
    const histGrowthMb = (after.rss - histBefore) / 1e6;
    // growth after warm-up, summed over both phases (the totals' one-time allocation is warm-up, not growth)
    const growthMb = linesGrowthMb + histGrowthMb;
    console.log(
      `soak endurance: ${TICKS} ticks in ${((performance.now() - startedAt) / 1000).toFixed(1)} s (${LINES_ONLY} lines-only in ${linesOnlyS.toFixed(1)} s), RSS growth after warm-up ${growthMb.toFixed(2)} MB (lines ${linesGrowthMb.toFixed(2)} + histograms ${histGrowthMb.toFixed(2)}), ${samples} scheduler samples, RSS ${(before.rss / 1e6).toFixed(1)} → ${(after.rss / 1e6).toFixed(1)} MB (samples ${rssSamples.map((r) => (r / 1e6).toFixed(0)).join(' ')}), fds ${before.fds} → ${after.fds}, resources ${JSON.stringify(before.res)} → ${JSON.stringify(after.res)}, series ${(seriesBytes / 1e6).toFixed(1)} MB (${Math.round(seriesBytes / TICKS)} B/line)`,
    );
    expect(samples, 'one scheduler sample per tick').toBe(TICKS);
    expect(seriesBytes / TICKS, 'realistic series line size').toBeGreaterThan(1200);
    expect(growthMb).toBeLessThanOrEqual(5);
    const stats = readFileSync(join(writer.runDir, 'soak_stats.csv'), 'utf8');
    for (const n of names) expect(stats, `totals of ${n}`).toContain(`,${n},`);
    expect(after.fds).toBeLessThanOrEqual(before.fds);
    expect(after.res.Timeout ?? 0).toBeLessThanOrEqual(before.res.Timeout ?? 0);
    expect(after.res.FSReqCallback ?? 0).toBeLessThanOrEqual(before.res.FSReqCallback ?? 0);
    expect(Object.values(after.res).reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(Object.values(before.res).reduce((a, b) => a + b, 0));
    // finish() + close() closed the four append handles
    expect(fdCount()).toBeLessThanOrEqual(before.fds - 4);
  }, 90_000);
});
