// Endurance of the tool itself: 28,800 one-second ticks (an 8 h soak, compressed by a fake clock) of the sampling
// scheduler feeding the run writer — series, histograms, history CSV and events appended each tick, with container and
// Postgres sections of realistic size and several endpoints — with the process's RSS, open file descriptors and
// active handles/timers sampled after a warm-up: RSS grows ≤ 5 MB, fds and timers do not grow.
//
// Cost: the writer's per-endpoint work is histogram scans (11 Locust percentiles + summary + encode for the second and
// the running total). Measured ≈ 3.5 ms per endpoint-second on 2 busy cores, so 3 endpoints every tick took > 7 min.
// Here each tick carries ONE endpoint histogram (count 20, realistic per-second latencies), rotating over four
// endpoints, so the run-level state (one total histogram per endpoint + the aggregate) is the same as a real run's.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { EndpointSecond, SecondSample } from '../load/engine.ts';
import { createLatencyHistogram } from '../load/histogram.ts';
import { zeroErrors } from '../load/recorder.ts';
import { SamplingScheduler, type SchedulerClock } from '../samplers/scheduler.ts';
import type { ContainerSample, PostgresSample, SampleSnapshot } from '../samplers/types.ts';
import { RunWriter } from './run-writer.ts';

const TICKS = 28_800;
const WARMUP = 1_000;
const dir = mkdtempSync(join(tmpdir(), 'loadscope-soak-endurance-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const fdCount = (): number => readdirSync('/proc/self/fd').length;
const resources = (): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) out[r] = (out[r] ?? 0) + 1;
  return out;
};

/** Virtual time: setTimeout only records the callback; the test fires it after moving `now` to its due time. */
class FakeClock implements SchedulerClock {
  nowMs = 1_700_000_000_000;
  pending: { fn: () => void; at: number } | undefined;
  now = (): number => this.nowMs;
  setTimeout = (fn: () => void, ms: number): unknown => (this.pending = { fn, at: this.nowMs + ms });
  clearTimeout = (): void => void (this.pending = undefined);
  /** Advances to the armed timer and runs it (and the tick's microtasks). */
  async fire(): Promise<void> {
    const p = this.pending;
    if (!p) throw new Error('scheduler has no timer armed');
    this.pending = undefined;
    this.nowMs = Math.max(this.nowMs, p.at);
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
      const n = names[i % names.length]!;
      hist.reset();
      for (let j = 0; j < 20; j++) hist.recordValue(1000 + ((i * 31 + j * 17) % 50_000));
      const errors = zeroErrors();
      if (i % 97 === 0) errors['5xx'] = 1;
      endpoints.set(n, { method: n === 'lock_proof' ? 'POST' : 'GET', count: 20, errors, bytes: 4096, hist } as unknown as EndpointSecond);
      return { tMs: clock.nowMs, elapsedS: i, phase: 'hold', activeUsers: 200, endpoints, failures: i % 97 === 0 ? { 'GET\thealth\tHTTP 500': 1 } : {}, droppedLate: 0, cpuCores: 0.2, final: false };
    };
    const step = async (): Promise<void> => {
      await clock.fire();
      writer.writeSecond(sample(tick));
      if (tick % 600 === 0) writer.event('users', { activeUsers: 200 });
      tick += 1;
    };
    const measure = (): { rss: number; fds: number; res: Record<string, number> } => {
      global.gc?.();
      return { rss: process.memoryUsage().rss, fds: fdCount(), res: resources() };
    };

    scheduler.start();
    // warm-up: JIT, histogram pools, the totals of all endpoints and the writer's other fixed-size state
    while (tick < WARMUP) await step();
    await new Promise((r) => setTimeout(r, 50));
    const before = measure();
    const rssSamples: number[] = [];
    while (tick < TICKS) {
      await step();
      if (tick % 2_000 === 0) rssSamples.push(process.memoryUsage().rss);
    }
    await new Promise((r) => setTimeout(r, 50));
    const after = measure();
    await scheduler.stop();
    writer.finish();
    const seriesBytes = statSync(join(writer.runDir, 'series.ndjson')).size;
    const growthMb = (after.rss - before.rss) / 1e6;
    console.log(
      `soak endurance: ${TICKS} ticks in ${((performance.now() - startedAt) / 1000).toFixed(1)} s, ${samples} scheduler samples, RSS ${(before.rss / 1e6).toFixed(1)} → ${(after.rss / 1e6).toFixed(1)} MB (${growthMb.toFixed(2)} MB; samples ${rssSamples.map((r) => (r / 1e6).toFixed(0)).join(' ')}), fds ${before.fds} → ${after.fds}, resources ${JSON.stringify(before.res)} → ${JSON.stringify(after.res)}, series ${(seriesBytes / 1e6).toFixed(1)} MB (${Math.round(seriesBytes / TICKS)} B/line)`,
    );
    expect(samples, 'one scheduler sample per tick').toBe(TICKS);
    expect(seriesBytes / TICKS, 'realistic series line size').toBeGreaterThan(1500);
    expect(growthMb).toBeLessThanOrEqual(5);
    expect(after.fds).toBeLessThanOrEqual(before.fds);
    expect(after.res.Timeout ?? 0).toBeLessThanOrEqual(before.res.Timeout ?? 0);
    expect(after.res.FSReqCallback ?? 0).toBeLessThanOrEqual(before.res.FSReqCallback ?? 0);
    expect(Object.values(after.res).reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(Object.values(before.res).reduce((a, b) => a + b, 0));
    // finish() closed the four append handles
    expect(fdCount()).toBeLessThanOrEqual(before.fds - 4);
  }, 90_000);
});
