// A synthetic soak run directory of any length (default 8 h at 1 Hz, the soak preset's length): series lines
// with container, Postgres, host and sampler sections of the size a real run writes, one histogram line per
// second, a manifest. For the read-back bench only: nothing here is a measurement of a system.
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { normal, seededRng } from '../../analysis/stats.ts';
import { createLatencyHistogram, encodeStoredHistogram, recordLatencyUs, summaryMs } from '../../load/histogram.ts';
import { FORMAT_VERSION, type RunManifest } from '../../store/run-format.ts';

export interface LongRunOptions {
  seconds?: number;
  users?: number;
  rampS?: number;
  seed?: number;
}

const MIB = 1024 * 1024;
const ENDPOINTS = ['archive_item', 'health', 'ledger', 'lock_proof'] as const;
/** Distinct encoded histograms per endpoint, reused at random: encoding 28,800 × 4 fresh ones would dominate the bench. */
const HIST_VARIANTS = 48;
const T0_MS = 1_800_000_000_000;

const zeroErrors = (): Record<string, number> => ({ '4xx': 0, '5xx': 0, timeout: 0, connection: 0, other: 0 });

function container(i: number, baseMiB: number, rng: () => number): Record<string, unknown> {
  return {
    service: 'x',
    containerId: '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
    readMs: T0_MS + i * 1000,
    ageMs: 150 + Math.round(rng() * 100),
    cgroup: 'v2',
    cpuCores: 0.3 + 0.1 * rng(),
    cpuLimitUtilization: 0.2 + 0.05 * rng(),
    cpuLimitCores: 2,
    cpuUserSeconds: i * 0.2,
    cpuSystemSeconds: i * 0.05,
    throttlingPeriods: i * 10,
    throttledPeriods: 0,
    throttledSeconds: 0,
    throttledRatio: 0,
    memoryUsageBytes: Math.round((baseMiB + 20 + 4 * rng()) * MIB),
    memoryWorkingSetBytes: Math.round((baseMiB + 4 * rng()) * MIB),
    memoryRssBytes: Math.round((baseMiB - 40 + 4 * rng()) * MIB),
    memoryLimitBytes: 1024 * MIB,
    memoryAvailableBytes: null,
    networkRxBytes: i * 40_960,
    networkTxBytes: i * 81_920,
    blockReadBytes: 0,
    blockWriteBytes: i * 512,
    pids: 12,
    restarts: 0,
    oomKills: 0,
  };
}

function postgres(i: number, rng: () => number): Record<string, unknown> {
  const active = Math.round(4 + 3 * rng());
  return {
    canReadAllStats: true,
    maxConnections: 100,
    connectionsByState: { active: active + 1, idle: 20 - active, 'idle in transaction': 0 },
    connectionsByApp: { archiveorigin: { active, idle: 20 - active }, loadscope: { active: 1 } },
    waitingByType: { Lock: 0, LWLock: 0 },
    locksByMode: { AccessShareLock: { granted: 12, waiting: 0 }, RowExclusiveLock: { granted: 3, waiting: 0 } },
    ungrantedLocks: 0,
    blockedSessions: 0,
    oldestXactAgeSeconds: 0.4,
    idleInTransaction: 0,
    oldestIdleInTransactionSeconds: 0,
    autovacuumWorkers: 0,
    totals: { commits: i * 50, rollbacks: 0, deadlocks: 0, blksHit: i * 900, blksRead: i, tempBytes: 0 },
    perSecond: {
      commits: 50,
      rollbacks: 0,
      deadlocks: 0,
      blksHit: 900,
      blksRead: 1,
      tempBytes: 0,
      checkpointsTimed: 0,
      checkpointsReq: 0,
      buffersCheckpoint: 0,
      buffersBackend: 0,
      checkpointWriteMs: 0,
      checkpointSyncMs: 0,
    },
  };
}

type Variant = { b64: string; count: number; summary: ReturnType<typeof summaryMs> };

/** Per endpoint: HIST_VARIANTS seconds of ~lognormal latencies around its own median. */
function histogramVariants(rng: () => number): Map<string, Variant[]> {
  const variants = new Map<string, Variant[]>();
  ENDPOINTS.forEach((name, k) => {
    const list: Variant[] = [];
    for (let v = 0; v < HIST_VARIANTS; v++) {
      const h = createLatencyHistogram();
      const count = 45 + Math.round(8 * rng());
      for (let j = 0; j < count; j++) recordLatencyUs(h, (5 + 10 * k) * 1000 * Math.exp(0.3 * normal(rng)));
      list.push({ b64: encodeStoredHistogram(h), count, summary: summaryMs(h) });
    }
    variants.set(name, list);
  });
  return variants;
}

/** events.ndjson, manifest.json and summary.json of the synthetic run. */
function writeRunFiles(dir: string, seconds: number, users: number, rampS: number): void {
  const events = [
    { t: new Date(T0_MS).toISOString(), tMs: T0_MS, kind: 'phase', phase: 'ramp-up', atMs: 0 },
    { t: new Date(T0_MS + rampS * 1000).toISOString(), tMs: T0_MS + rampS * 1000, kind: 'phase', phase: 'hold', from: 'ramp-up', atMs: rampS * 1000 },
    { t: new Date(T0_MS + seconds * 1000).toISOString(), tMs: T0_MS + seconds * 1000, kind: 'stop', reason: 'completed', activeUsers: users },
  ];
  writeFileSync(join(dir, 'events.ndjson'), events.map((e) => `${JSON.stringify(e)}\n`).join(''));
  const scenarioConfig = {
    shape: { kind: 'ramp', users, rampUpMs: rampS * 1000, durationMs: seconds * 1000 },
    thinkTime: { minMs: 500, maxMs: 1500 },
    slo: { p95Ms: 200, errorRatio: 0.01 },
    stopOnBreak: false,
  };
  const manifest: RunManifest = {
    formatVersion: FORMAT_VERSION,
    runId: 'long-run-bench',
    scenario: 'soak',
    shape: `ramp to ${users} users over ${rampS}s, run ${seconds}s`,
    timeScale: 1,
    plannedDurationMs: seconds * 1000,
    mode: 'attach',
    target: 'http://127.0.0.1:8000',
    host: 'bench',
    generatorCores: 2,
    versions: { node: process.version, loadscope: 'bench' },
    startedAt: new Date(T0_MS).toISOString(),
    endedAt: new Date(T0_MS + seconds * 1000).toISOString(),
    stoppedBy: 'completed',
    startMs: T0_MS,
    scenarioConfig,
    config: { scenarios: { soak: scenarioConfig } },
  };
  writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(join(dir, 'summary.json'), `${JSON.stringify({ durationS: seconds }, null, 2)}\n`);
}

/** Writes the run directory `dir` (created); returns its byte size of series.ndjson. */
export function writeLongRun(dir: string, o: LongRunOptions = {}): { seconds: number; seriesBytes: number } {
  const seconds = o.seconds ?? 28_800;
  const users = o.users ?? 200;
  const rampS = o.rampS ?? 600;
  const rng = seededRng(o.seed ?? 11);
  mkdirSync(dir, { recursive: true });
  const variants = histogramVariants(rng);
  const fds = { series: openSync(join(dir, 'series.ndjson'), 'w'), hist: openSync(join(dir, 'histograms.ndjson'), 'w') };
  let seriesBytes = 0;
  const CHUNK = 500;
  let series: string[] = [];
  let hists: string[] = [];
  for (let s = 1; s <= seconds; s++) {
    const tMs = T0_MS + s * 1000;
    const active = s <= rampS ? Math.max(1, Math.round((s / rampS) * users)) : users;
    const scale = active / users;
    const endpoints: Record<string, unknown> = {};
    const histLine: Record<string, string> = {};
    const total = { count: 0, errors: zeroErrors(), bytes: 0, p50Ms: 0, p95Ms: 0, p99Ms: 0, maxMs: 0 };
    for (const name of ENDPOINTS) {
      if (rng() > scale + 0.05) continue;
      const v = variants.get(name)![Math.floor(rng() * HIST_VARIANTS)]!;
      endpoints[name] = { count: v.count, errors: zeroErrors(), bytes: v.count * 240, ...v.summary };
      histLine[name] = v.b64;
      total.count += v.count;
      total.bytes += v.count * 240;
      total.p95Ms = Math.max(total.p95Ms, v.summary.p95Ms);
    }
    const line = {
      t: new Date(tMs).toISOString(),
      tMs,
      elapsedS: s,
      phase: s <= rampS ? 'ramp-up' : 'hold',
      activeUsers: active,
      endpoints,
      total,
      generator: { cpuCores: 0.2 + 0.05 * rng(), droppedLate: 0 },
      containers: { app: container(s, 300, rng), postgres: container(s, 120, rng) },
      postgres: postgres(s, rng),
      host: { cpuUtilization: 0.4 + 0.1 * rng(), cpuCount: 2, iowaitRatio: 0, memoryUsedBytes: 3e9, memoryTotalBytes: 8e9, refreshDurationMs: 0.2 },
      sampler: {
        lagMs: rng(),
        skippedTicks: 0,
        timings: { containers: { durationMs: rng(), ok: true }, postgres: { durationMs: 2 * rng(), ok: true }, host: { durationMs: rng(), ok: true } },
      },
    };
    series.push(JSON.stringify(line));
    hists.push(JSON.stringify({ tMs, elapsedS: s, unit: 'us', endpoints: histLine }));
    if (series.length === CHUNK || s === seconds) {
      const text = `${series.join('\n')}\n`;
      seriesBytes += Buffer.byteLength(text);
      writeSync(fds.series, text);
      writeSync(fds.hist, `${hists.join('\n')}\n`);
      series = [];
      hists = [];
    }
  }
  closeSync(fds.series);
  closeSync(fds.hist);
  writeRunFiles(dir, seconds, users, rampS);
  return { seconds, seriesBytes };
}
