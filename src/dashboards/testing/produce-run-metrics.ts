// Data source for the dashboards acceptance test: the REAL exporter (Telemetry from src/telemetry/otel.ts) fed
// with a real HostSampler (host + generator CPU) and synthetic container/Postgres snapshots shaped exactly like
// SampleSnapshot, through three phases.
//
// TODO(lead): replace the body with the real time-scaled run once run-scenario.ts has samplers+telemetry wired:
//   `loadscope run normal --time-scale <k>` with telemetry on `port`, against the real stack; return its
//   runId/scenario and the wall-clock window. The verdict shim below goes away once Telemetry exports
//   loadscope.slo.status / loadscope.leak.slope / loadscope.breaking_point.users itself.
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { HostSampler } from '../../samplers/host.ts';
import type { ContainerSample, PostgresSample, SampleSnapshot } from '../../samplers/types.ts';
import { Telemetry } from '../../telemetry/otel.ts';
import { METRICS } from '../../telemetry/metric-names.ts';

export interface ProducedRun {
  runId: string;
  scenario: string;
  startS: number;
  endS: number;
}

const PHASES = [
  { name: 'ramp', seconds: 10, users: (i: number) => 2 + i, p95: 0.04 },
  { name: 'steady', seconds: 10, users: () => 12, p95: 0.05 },
  { name: 'spike', seconds: 10, users: () => 40, p95: 0.6 },
] as const;
const MiB = 2 ** 20;

function container(service: string, t: number, cores: number, limitCores: number, wsBytes: number, limitBytes: number): ContainerSample {
  return {
    service, containerId: `${service}-id`, readMs: Date.now(), ageMs: 100, cgroup: 'v2',
    cpuCores: cores, cpuLimitUtilization: cores / limitCores, cpuLimitCores: limitCores,
    cpuUserSeconds: t * cores * 0.8, cpuSystemSeconds: t * cores * 0.2,
    throttlingPeriods: t * 10, throttledPeriods: Math.floor(t * 10 * Math.max(0, cores / limitCores - 0.7)), throttledSeconds: t * 0.01, throttledRatio: null,
    memoryUsageBytes: wsBytes + 20 * MiB, memoryWorkingSetBytes: wsBytes, memoryRssBytes: wsBytes - 10 * MiB,
    memoryLimitBytes: limitBytes, memoryAvailableBytes: limitBytes - wsBytes,
    networkRxBytes: null, networkTxBytes: null, blockReadBytes: t * 4096, blockWriteBytes: t * 8192,
    pids: 12, restarts: 0, oomKills: 0,
  };
}

function postgres(t: number, users: number): PostgresSample {
  const active = Math.min(20, Math.ceil(users / 2));
  return {
    canReadAllStats: true, maxConnections: 100,
    connectionsByState: { active, idle: 20 - Math.min(20, active) + 2, 'idle in transaction': 1 },
    connectionsByApp: { app: { active, idle: 20 - active }, psql: { idle: 2, 'idle in transaction': 1 } },
    waitingByType: { Lock: users > 30 ? 3 : 0, LWLock: 1, Client: 2 },
    locksByMode: { AccessShareLock: { granted: active * 2, waiting: 0 }, RowExclusiveLock: { granted: active, waiting: users > 30 ? 2 : 0 } },
    ungrantedLocks: users > 30 ? 2 : 0, blockedSessions: users > 30 ? 2 : 0,
    oldestXactAgeSeconds: (t % 7) + 0.5, idleInTransaction: 1, oldestIdleInTransactionSeconds: t % 5,
    totals: { commits: t * 150, rollbacks: t * 2, deadlocks: Math.floor(t / 20), blksHit: t * 10_000, blksRead: t * 50, tempBytes: t * 1024 },
    perSecond: null,
  };
}

/** A second exporter for the three verdict gauges (the shim the TODO above removes). */
async function startVerdictShim(port: number, runId: string, scenario: string, state: { sloFail: boolean; breakingUsers: number | null }) {
  const exporter = new PrometheusExporter({ host: '127.0.0.1', port, preventServerStart: true, withoutScopeInfo: true, withoutTargetInfo: true });
  await exporter.startServer();
  const provider = new MeterProvider({ readers: [exporter] });
  const meter = provider.getMeter('loadscope-verdict-shim');
  const base = { run_id: runId, scenario };
  meter.createObservableGauge(METRICS.sloStatus.name).addCallback((r) => {
    r.observe(state.sloFail ? 0 : 1, { ...base, slo: 'p95_latency' });
    r.observe(1, { ...base, slo: 'error_rate' });
  });
  meter.createObservableGauge(METRICS.leakSlope.name).addCallback((r) => {
    r.observe(60 * MiB, { ...base, service: 'app' });
    r.observe(0, { ...base, service: 'db' });
  });
  meter.createObservableGauge(METRICS.breakingPoint.name).addCallback((r) => {
    if (state.breakingUsers !== null) r.observe(state.breakingUsers, base);
  });
  return () => provider.shutdown();
}

export async function produceRunMetrics(port: number, verdictPort: number): Promise<ProducedRun> {
  const runId = `dash-int-${Date.now()}`;
  const scenario = 'normal';
  const telemetry = await Telemetry.start({ runId, scenario, port, scrapeIntervalMs: 1000 });
  const verdict = { sloFail: false, breakingUsers: null as number | null };
  const stopShim = await startVerdictShim(verdictPort, runId, scenario, verdict);
  const host = new HostSampler();
  await host.refresh();
  const startS = Date.now() / 1000;
  let t = 0;
  try {
    for (const phase of PHASES) {
      telemetry.setPhase(phase.name);
      for (let i = 0; i < phase.seconds; i++, t++) {
        const users = phase.users(i);
        telemetry.setActiveUsers(users);
        const appCores = Math.min(0.95, 0.05 * users);
        const { host: h, generator } = host.sample();
        const snapshot: SampleSnapshot = {
          tMs: Date.now(),
          containers: {
            app: container('app', t, appCores, 1, 200 * MiB + t * 2 * MiB, 1024 * MiB),
            db: container('db', t, appCores / 2, 1, 300 * MiB, 512 * MiB),
          },
          postgres: postgres(t, users),
          host: h,
          generator,
          sampler: { lagMs: 3, skippedTicks: 0, timings: { containers: { durationMs: 4, ok: true }, postgres: { durationMs: 6, ok: true } } },
        };
        telemetry.updateSnapshot(snapshot);
        for (const endpoint of ['/api/items', '/api/checkout']) {
          telemetry.recordRequests(endpoint, '2xx', users * 5);
          telemetry.recordLatency(endpoint, phase.p95 / 3, users * 4);
          telemetry.recordLatency(endpoint, phase.p95, users);
        }
        if (phase.name === 'spike') {
          telemetry.recordRequests('/api/checkout', '5xx', users);
          telemetry.recordError('timeout', users);
          verdict.sloFail = true;
        }
        if (phase.name === 'spike' && i === 2) verdict.breakingUsers = users;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  } finally {
    // Linger two scrapes so the final values land before the endpoints close.
    await Promise.all([telemetry.shutdown({ lingerMs: 2500 }), new Promise((r) => setTimeout(r, 2500)).then(stopShim)]);
  }
  return { runId, scenario, startS, endS: Date.now() / 1000 };
}
