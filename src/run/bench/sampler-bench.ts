// Sampling overhead and memory:
//  1. CPU of this process with the samplers running at 1 Hz (3 containers — the reference stack's two plus an idle
//     `sleep` container — + Postgres + host) versus the same process idle, as % of one core (goal ≤ 3 %).
//  2. The scheduler over a compressed 8 h run (28,800 ticks on a fake clock, fake container/Postgres sources, the real
//     Postgres sampler logic and host sampler): RSS and heap before/after (goal: growth ≤ 5 MB).
import { randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DEFAULT_HEALTH_TIMEOUT_MS } from '../../config/defaults.ts';
import type { ContainerTarget } from '../../samplers/containers.ts';
import type { ContainerRuntime } from '../../stack/runtime/port.ts';
import { ContainerSampler } from '../../samplers/containers.ts';
import { HostSampler } from '../../samplers/host.ts';
import type { PgQueryClient } from '../../samplers/pg-client.ts';
import { PostgresSampler } from '../../samplers/postgres.ts';
import type { Clock } from '../../common/clock.ts';
import { SamplingScheduler } from '../../samplers/scheduler.ts';
import type { ContainerSample, SampleSnapshot } from '../../samplers/types.ts';
import { loadComposeFile } from '../../stack/compose/load.ts';
import { LABEL_RUN, managedLabels } from '../../stack/labels.ts';
import { downByLabel, startStack } from '../../stack/stack.ts';
import { realRuntime } from '../../stack/testing/runtime.ts';
import { parsePostgresDsn } from '../dsn.ts';
import { isolatedStack, removeTempDirs } from '../testing/stack-fixture.ts';

const IDLE_IMAGE = 'loadscope/archiveorigin:dev';

export interface OverheadResult {
  durationS: number;
  containers: number;
  idleCorePct: number;
  samplingCorePct: number;
  overheadCorePct: number;
  ticks: number;
  skippedTicks: number;
  meanTimingsMs: Record<string, number>;
}

export interface SoakMemoryResult {
  ticks: number;
  wallMs: number;
  before: { rssMB: number; heapMB: number };
  after: { rssMB: number; heapMB: number };
  rssGrowthMB: number;
  heapGrowthMB: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const mb = (bytes: number): number => +(bytes / 2 ** 20).toFixed(2);

/** Process CPU (user+system) over wall time during fn, in % of one core. */
async function cpuPct(fn: () => Promise<void>): Promise<number> {
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  await fn();
  const cpu = process.cpuUsage(cpu0);
  return ((cpu.user + cpu.system) / 1000 / (performance.now() - wall0)) * 100;
}

/** CPU of the real samplers at 1 Hz over `durationS`, after their streams and connections are open. */
async function measureSampling(
  runtime: ContainerRuntime,
  targets: ContainerTarget[],
  pgPort: number,
  durationS: number,
): Promise<{ samplingCorePct: number; ticks: number; skippedTicks: number; meanTimingsMs: Record<string, number> }> {
  const containers = new ContainerSampler({ runtime, targets });
  const postgres = new PostgresSampler({ connection: parsePostgresDsn(`postgres://loadscope_monitor:loadscope_monitor@127.0.0.1:${pgPort}/archiveorigin`) });
  let ticks = 0;
  const timingSums: Record<string, { sum: number; n: number }> = {};
  let latest: SampleSnapshot | undefined;
  const scheduler = new SamplingScheduler({
    intervalMs: 1000,
    containers,
    postgres,
    host: new HostSampler(),
    onSample: (s) => {
      latest = s;
      ticks += 1;
      for (const [name, t] of Object.entries(s.sampler.timings)) {
        const acc = (timingSums[name] ??= { sum: 0, n: 0 });
        acc.sum += t.durationMs;
        acc.n += 1;
      }
    },
  });
  containers.start();
  scheduler.start();
  let samplingCorePct: number;
  try {
    await sleep(3000); // stats streams open, first Postgres connection made
    ticks = 0;
    samplingCorePct = await cpuPct(() => sleep(durationS * 1000));
  } finally {
    await scheduler.stop();
    await Promise.allSettled([containers.stop(), postgres.stop()]);
  }
  if (!latest || Object.keys(latest.containers).length !== targets.length || !latest.postgres) {
    throw new Error(
      `samplers did not deliver every source (containers: ${Object.keys(latest?.containers ?? {}).join(', ') || 'none'}, postgres: ${latest?.postgres ? 'yes' : 'no'})`,
    );
  }
  const meanTimingsMs = Object.fromEntries(Object.entries(timingSums).map(([k, v]) => [k, +(v.sum / v.n).toFixed(3)]));
  return { samplingCorePct, ticks, skippedTicks: scheduler.skippedTicks, meanTimingsMs };
}

export async function samplerOverheadBench(opts: { durationS?: number; log?: (l: string) => void } = {}): Promise<OverheadResult> {
  const durationS = opts.durationS ?? 20;
  const log = opts.log ?? (() => {});
  const runtime = await realRuntime();
  const iso = await isolatedStack('loadscope-sampler-bench');
  const runId = `sampler-bench-${randomBytes(3).toString('hex')}`;
  const project = loadComposeFile(iso.composePath, { ...process.env, ...iso.env });
  const stack = await startStack({ runtime, project, runId, healthTimeoutMs: DEFAULT_HEALTH_TIMEOUT_MS });
  let idleId: string | undefined;
  // Ctrl-C or a `timeout` around the bench: remove this run's containers (the idle one included), then die of the signal.
  const onSignal = (signal: NodeJS.Signals): void => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    void downByLabel(runtime, { [LABEL_RUN]: runId })
      .catch(() => undefined)
      .finally(() => {
        removeTempDirs();
        process.kill(process.pid, signal);
      });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    // A third, idle container (bounded: sleep ends on its own even if this process dies).
    idleId = await runtime.create({
      name: `loadscope-${project.name}-idle`,
      image: IDLE_IMAGE,
      entrypoint: ['sleep', '300'],
      env: {},
      labels: managedLabels(runId, 'idle', project.name),
      networkMode: 'host',
      binds: [],
    });
    await runtime.start(idleId);
    const targets = [...stack.services.map((s) => ({ service: s.name, containerId: s.containerId })), { service: 'idle', containerId: idleId }];
    log(`stack ${runId} up; sampling ${targets.map((t) => t.service).join(', ')} + Postgres + host at 1 Hz, ${durationS} s per phase`);
    await sleep(2000);

    const idleCorePct = await cpuPct(() => sleep(durationS * 1000));
    log(`idle:     ${idleCorePct.toFixed(2)} % of one core`);

    const { samplingCorePct, ticks, skippedTicks, meanTimingsMs } = await measureSampling(runtime, targets, iso.pgPort, durationS);
    log(`sampling: ${samplingCorePct.toFixed(2)} % of one core (${ticks} ticks, ${skippedTicks} skipped)`);
    return {
      durationS,
      containers: targets.length,
      idleCorePct: +idleCorePct.toFixed(2),
      samplingCorePct: +samplingCorePct.toFixed(2),
      overheadCorePct: +(samplingCorePct - idleCorePct).toFixed(2),
      ticks,
      skippedTicks,
      meanTimingsMs,
    };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (idleId) await runtime.remove(idleId).catch((e: unknown) => log(`could not remove the idle container: ${(e as Error).message}`));
    await stack.down();
    removeTempDirs();
  }
}

function exposeGc(): () => void {
  setFlagsFromString('--expose_gc');
  return runInNewContext('gc') as () => void;
}

/** A clock whose timers fire on the next turn of the event loop, advancing virtual time by the delay. */
function fastClock(): Clock {
  let now = Date.now();
  const later = (ms: number, fn: () => void): NodeJS.Immediate =>
    setImmediate(() => {
      now += Math.max(0, ms);
      fn();
    });
  return {
    nowMs: () => now,
    monotonicMs: () => now,
    setTimer: (ms, fn) => {
      const h = later(ms, fn);
      return { cancel: () => clearImmediate(h) };
    },
    sleep: (ms) => new Promise((resolve) => later(ms, resolve)),
  };
}

function fakeContainer(service: string, tick: number, tMs: number): ContainerSample {
  return {
    service,
    containerId: `${service}-0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab`,
    readMs: tMs,
    ageMs: 0,
    cgroup: 'v1',
    cpuCores: 0.25 + (tick % 7) / 100,
    cpuLimitUtilization: 0.25,
    cpuLimitCores: 1,
    cpuUserSeconds: tick * 0.2,
    cpuSystemSeconds: tick * 0.05,
    throttlingPeriods: tick * 10,
    throttledPeriods: tick,
    throttledSeconds: tick * 0.001,
    throttledRatio: 0.1,
    memoryUsageBytes: 200e6 + tick,
    memoryWorkingSetBytes: 150e6 + tick,
    memoryRssBytes: 120e6 + tick,
    memoryLimitBytes: 512 * 2 ** 20,
    memoryAvailableBytes: 512 * 2 ** 20 - (150e6 + tick),
    networkRxBytes: null,
    networkTxBytes: null,
    blockReadBytes: tick * 4096,
    blockWriteBytes: tick * 8192,
    pids: 12,
    restarts: 0,
    oomKills: 0,
  };
}

/** A Postgres that answers the sampler's two queries with plausible, growing counters. */
function fakePgClient(): PgQueryClient {
  let n = 0;
  return {
    query: async <T extends Record<string, unknown>>(sql: string): Promise<T[]> => {
      // rows are named by the caller, as the real client's (samplers/pg-client.ts: result.rows as T[])
      const rows: Record<string, unknown>[] = [];
      if (sql.includes('pg_has_role')) {
        rows.push({ role: 'loadscope_monitor', monitor: true, read_all_stats: true });
        return rows as T[];
      }
      n += 1;
      rows.push({
        by_state_app: [
          { state: 'idle', app: 'archiveorigin', n: 15 },
          { state: 'active', app: 'archiveorigin', n: 5 },
        ],
        waiting: [{ type: 'LWLock', n: n % 3 }],
        locks: [
          { mode: 'AccessShareLock', granted: 7, waiting: 0 },
          { mode: 'RowExclusiveLock', granted: 3, waiting: n % 2 },
        ],
        blocked: 0,
        oldest_xact_s: 0.02,
        idle_in_xact: 1,
        oldest_idle_in_xact_s: 0.01,
        max_connections: 100,
        commits: n * 300,
        rollbacks: n,
        deadlocks: 0,
        blks_hit: n * 10_000,
        blks_read: n * 10,
        temp_bytes: 0,
      });
      return rows as T[];
    },
    end: async () => {},
  };
}

export async function samplerSoakMemoryBench(opts: { ticks?: number; log?: (l: string) => void } = {}): Promise<SoakMemoryResult> {
  const target = opts.ticks ?? 28_800;
  const warmup = 4_000; // RSS settles (young generation, allocator arenas) within the first few thousand ticks
  const log = opts.log ?? (() => {});
  const gc = exposeGc();
  const clock = fastClock();
  let ticks = 0;
  let latest: SampleSnapshot | undefined;
  let serializedBytes = 0;
  let finished: (() => void) | undefined;
  const done = new Promise<void>((resolve) => (finished = resolve));
  const services = ['app', 'postgres', 'idle'];
  const postgres = new PostgresSampler({ client: fakePgClient(), now: clock.nowMs });
  const scheduler = new SamplingScheduler({
    intervalMs: 1000,
    clock,
    containers: { sample: () => Object.fromEntries(services.map((s) => [s, fakeContainer(s, ticks, clock.nowMs())])) },
    postgres,
    host: new HostSampler(),
    // what RunObserver does with a snapshot: keep the newest one, and the series line serialises it
    onSample: (s) => {
      latest = s;
      serializedBytes += JSON.stringify(s).length;
      ticks += 1;
      if (ticks === warmup) markBefore();
      if (ticks === warmup + target) finished?.();
    },
  });
  let before = { rssMB: 0, heapMB: 0 };
  function markBefore(): void {
    gc();
    const m = process.memoryUsage();
    before = { rssMB: mb(m.rss), heapMB: mb(m.heapUsed) };
  }
  const t0 = performance.now();
  scheduler.start();
  await done;
  const wallMs = performance.now() - t0;
  await scheduler.stop();
  await postgres.stop();
  gc();
  await sleep(100);
  gc();
  const m = process.memoryUsage();
  const after = { rssMB: mb(m.rss), heapMB: mb(m.heapUsed) };
  if (!latest?.postgres || scheduler.skippedTicks !== 0)
    throw new Error(`compressed run went wrong: postgres ${latest?.postgres ? 'ok' : 'missing'}, ${scheduler.skippedTicks} skipped`);
  log(`${target} ticks (+${warmup} warm-up) in ${(wallMs / 1000).toFixed(1)} s, ${mb(serializedBytes)} MB of snapshots serialised`);
  return {
    ticks: target,
    wallMs: Math.round(wallMs),
    before,
    after,
    rssGrowthMB: +(after.rssMB - before.rssMB).toFixed(2),
    heapGrowthMB: +(after.heapMB - before.heapMB).toFixed(2),
  };
}
