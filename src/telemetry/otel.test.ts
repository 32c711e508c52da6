// Real exporter on a free loopback port, scraped with fetch.
import { afterEach, describe, expect, it } from 'vitest';
import type { SampleSnapshot } from '../samplers/types.ts';
import { Telemetry } from './otel.ts';
import { freePort } from '../common/testing/free-port.ts';

const snapshot: SampleSnapshot = {
  tMs: 1_000,
  containers: {
    app: {
      service: 'app',
      containerId: 'c1',
      readMs: 1000,
      ageMs: 0,
      cgroup: 'v1',
      cpuCores: 0.75,
      cpuLimitUtilization: 0.5,
      cpuLimitCores: 1.5,
      cpuUserSeconds: 3.7,
      cpuSystemSeconds: 2.05,
      throttlingPeriods: 1010,
      throttledPeriods: 103,
      throttledSeconds: 2.56,
      throttledRatio: 0.3,
      memoryUsageBytes: 268435456,
      memoryWorkingSetBytes: 201326592,
      memoryRssBytes: 150994944,
      memoryLimitBytes: 536870912,
      memoryAvailableBytes: 335544320,
      networkRxBytes: null,
      networkTxBytes: null,
      blockReadBytes: 11534336,
      blockWriteBytes: 23068672,
      pids: 23,
      restarts: 1,
      oomKills: 0,
    },
  },
  postgres: {
    canReadAllStats: true,
    maxConnections: 100,
    connectionsByState: { active: 3, idle: 2, 'idle in transaction': 1 },
    connectionsByApp: { archiveorigin: { active: 3, idle: 2, 'idle in transaction': 1 } },
    waitingByType: { Lock: 1 },
    locksByMode: { AccessExclusiveLock: { granted: 1, waiting: 1 } },
    ungrantedLocks: 1,
    blockedSessions: 1,
    oldestXactAgeSeconds: 12.5,
    idleInTransaction: 1,
    oldestIdleInTransactionSeconds: 12,
    totals: { commits: 1234, rollbacks: 5, deadlocks: 0, blksHit: 99999, blksRead: 100, tempBytes: 0 },
    perSecond: null,
  },
  host: { cpuUtilization: 0.25, cpuCount: 4, memoryUsedBytes: 4e9, memoryTotalBytes: 8e9, refreshDurationMs: 12 },
  generator: { cpuCores: 0.2, memoryRssBytes: 123456789 },
  sampler: { lagMs: 3, skippedTicks: 2, timings: { postgres: { durationMs: 4, ok: true } } },
};

let telemetry: Telemetry | undefined;
afterEach(async () => {
  await telemetry?.shutdown({ lingerMs: 0 });
  telemetry = undefined;
});

function valueOf(text: string, series: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${series}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('Telemetry (real PrometheusExporter)', () => {
  it('serves the sampled cache and synchronous instruments on 127.0.0.1', async () => {
    const port = await freePort();
    telemetry = await Telemetry.start({ runId: 'r1', scenario: 'normal', port });
    expect(telemetry.url).toBe(`http://127.0.0.1:${port}/metrics`);
    telemetry.setPhase('ramp');
    telemetry.setPhase('steady');
    telemetry.setActiveUsers(40);
    telemetry.updateSnapshot(snapshot);
    telemetry.recordRequests('GET /items', '2xx', 10);
    telemetry.recordRequests('GET /items', '5xx', 2);
    telemetry.recordLatency('GET /items', 0.004, 3);
    telemetry.recordLatency('GET /items', 0.2);
    telemetry.recordError('timeout');
    const res = await fetch(telemetry.url!);
    expect(res.status).toBe(200);
    const text = await res.text();
    const run = { run_id: 'r1', scenario: 'normal' };
    expect(valueOf(text, 'container_cpu_usage', { ...run, service: 'app' })).toBe(0.75);
    expect(valueOf(text, 'container_cpu_time_total', { service: 'app', cpu_mode: 'user' })).toBe(3.7);
    expect(valueOf(text, 'container_memory_working_set', { service: 'app' })).toBe(201326592);
    expect(valueOf(text, 'container_disk_io_total', { service: 'app', disk_io_direction: 'write' })).toBe(23068672);
    expect(valueOf(text, 'loadscope_container_cpu_throttled_time_total', { service: 'app' })).toBe(2.56);
    expect(valueOf(text, 'loadscope_container_restarts_total', { service: 'app' })).toBe(1);
    expect(text).not.toContain('container_network_io_total{'); // host networking: no value, no series
    expect(valueOf(text, 'loadscope_postgresql_connections', { state: 'idle in transaction', application_name: 'archiveorigin' })).toBe(1);
    expect(valueOf(text, 'loadscope_postgresql_waiting', { wait_event_type: 'Lock' })).toBe(1);
    expect(valueOf(text, 'postgresql_commits_total', run)).toBe(1234);
    expect(valueOf(text, 'postgresql_backends', run)).toBe(6);
    expect(valueOf(text, 'loadscope_postgresql_up', run)).toBe(1);
    expect(valueOf(text, 'loadscope_phase', { phase: 'steady' })).toBe(1);
    expect(valueOf(text, 'loadscope_phase', { phase: 'ramp' })).toBe(0);
    expect(valueOf(text, 'loadscope_users_active', run)).toBe(40);
    expect(valueOf(text, 'loadscope_requests_total', { ...run, phase: 'steady', endpoint: 'GET /items', status_class: '5xx' })).toBe(2);
    expect(valueOf(text, 'loadscope_errors_total', { kind: 'timeout' })).toBe(1);
    expect(valueOf(text, 'http_client_request_duration_bucket', { endpoint: 'GET /items', le: '0.005' })).toBe(3);
    expect(valueOf(text, 'http_client_request_duration_bucket', { endpoint: 'GET /items', le: '0.25' })).toBe(4);
    expect(valueOf(text, 'http_client_request_duration_count', { endpoint: 'GET /items' })).toBe(4);
    expect(valueOf(text, 'loadscope_sampler_duration', { sampler: 'postgres' })).toBe(0.004);
    expect(valueOf(text, 'loadscope_sampler_skipped_ticks_total', run)).toBe(2);
    expect(text).not.toContain('otel_scope_name'); // withoutScopeInfo
    expect(text).toContain('target_info{');
  });

  it('exports the verdicts by status (1 pass, 0 fail, -1 no data), partial until the final ones, NaN once withdrawn', async () => {
    const port = await freePort();
    telemetry = await Telemetry.start({ runId: 'r1', scenario: 's', port });
    const scrape = async (): Promise<string> => (await fetch(telemetry!.url!)).text();
    const before = await scrape();
    expect(valueOf(before, 'loadscope_verdicts_partial', { run_id: 'r1' })).toBe(1);
    expect(before).not.toContain('loadscope_slo_status{'); // nothing judged yet: no verdict series
    expect(before).not.toContain('loadscope_breaking_point_users{');
    telemetry.setVerdicts({
      partial: true,
      slo: [
        { name: 'p95 <= 500', status: 'pass' },
        { name: 'errorRatio <= 0.01', status: 'fail' },
        { name: 'goodputRps >= 40', status: 'no-data' },
      ],
      leaks: [
        { service: 'app', slopeBytesPerHour: 3 * 2 ** 20, verdict: 'WARN' },
        { service: 'postgres', slopeBytesPerHour: null, verdict: 'INCONCLUSIVE' },
      ],
      breakingPointUsers: 120,
    });
    const live = await scrape();
    expect(valueOf(live, 'loadscope_verdicts_partial', {})).toBe(1);
    expect(
      [
        ['p95 <= 500', 1],
        ['errorRatio <= 0.01', 0],
        ['goodputRps >= 40', -1],
      ].map(([slo]) => valueOf(live, 'loadscope_slo_status', { slo: String(slo) })),
    ).toEqual([1, 0, -1]);
    expect(valueOf(live, 'loadscope_leak_slope', { service: 'app' })).toBe(3 * 2 ** 20);
    expect(live).not.toContain('loadscope_leak_slope{run_id="r1",scenario="s",service="postgres"}'); // no fit yet: absent
    expect(valueOf(live, 'loadscope_leak_status', { service: 'app' })).toBe(0.5);
    expect(valueOf(live, 'loadscope_leak_status', { service: 'postgres' })).toBe(-1);
    expect(valueOf(live, 'loadscope_breaking_point_users', {})).toBe(120);
    // the final (post-mortem) verdicts: the fail became a pass, the breaking point was withdrawn, one SLO is gone
    telemetry.setVerdicts({
      partial: false,
      slo: [
        { name: 'p95 <= 500', status: 'pass' },
        { name: 'errorRatio <= 0.01', status: 'pass' },
      ],
      leaks: [],
      breakingPointUsers: null,
    });
    const final = await scrape();
    expect(valueOf(final, 'loadscope_verdicts_partial', {})).toBe(0);
    expect(valueOf(final, 'loadscope_slo_status', { slo: 'errorRatio <= 0.01' })).toBe(1);
    // the SDK would keep the last value of a series no longer observed; ours reads NaN instead of a stale verdict
    expect(valueOf(final, 'loadscope_slo_status', { slo: 'goodputRps >= 40' })).toBeNaN();
    expect(valueOf(final, 'loadscope_breaking_point_users', {})).toBeNaN();
    expect(valueOf(final, 'loadscope_leak_slope', { service: 'app' })).toBeNaN();
  });

  it('collectSeries (remote write) gives exactly the series and values of /metrics, every one with run_id', async () => {
    const port = await freePort();
    telemetry = await Telemetry.start({ runId: 'r1', scenario: 'normal', port, collect: true });
    telemetry.setPhase('steady');
    telemetry.setActiveUsers(40);
    telemetry.updateSnapshot(snapshot);
    telemetry.setRemoteWriteFailures(2);
    telemetry.recordRequests('GET /items', '2xx', 10);
    telemetry.recordLatency('GET /items', 0.004, 3);
    telemetry.recordLatency('GET /items', 0.2);
    telemetry.recordError('timeout');
    const t0 = Date.now();
    const pushed = await telemetry.collectSeries();
    const text = await (await fetch(telemetry.url!)).text();
    const key = (name: string, labels: Record<string, string>) =>
      `${name}{${Object.keys(labels)
        .sort()
        .map((k) => `${k}=${JSON.stringify(labels[k])}`)
        .join(',')}}`;
    const scraped = new Map<string, number>();
    for (const line of text.split('\n')) {
      const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!m || m[1] === 'target_info') continue;
      const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, l[2]!]));
      scraped.set(key(m[1]!, labels), Number(m[3] === '+Inf' ? Infinity : m[3]));
    }
    const ours = new Map(
      pushed
        .filter((s) => s.labels.__name__ !== 'target_info')
        .map((s) => {
          const { __name__, ...labels } = s.labels;
          return [key(__name__!, labels), s.samples[0]!.value];
        }),
    );
    expect(scraped.size).toBeGreaterThan(40);
    expect(ours).toEqual(scraped);
    expect(ours.get(key('loadscope_remote_write_failures_total', { run_id: 'r1', scenario: 'normal' }))).toBe(2);
    for (const s of pushed) {
      expect(s.labels.run_id, s.labels.__name__).toBe('r1');
      expect(s.samples[0]!.timestampMs).toBeGreaterThanOrEqual(t0 - 1000);
      expect(s.samples[0]!.timestampMs).toBeLessThanOrEqual(Date.now());
    }
    expect(pushed.find((s) => s.labels.__name__ === 'target_info')?.labels).toMatchObject({ service_name: 'loadscope', loadscope_run_id: 'r1' });
  });

  it('collect without serve: no listening socket, series still collected', async () => {
    const port = await freePort();
    telemetry = await Telemetry.start({ runId: 'r2', scenario: 's', port, serve: false, collect: true });
    expect(telemetry.url).toBeUndefined();
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
    telemetry.setActiveUsers(3);
    expect((await telemetry.collectSeries()).find((s) => s.labels.__name__ === 'loadscope_users_active')?.samples[0]?.value).toBe(3);
  });

  it('refuses a port in use instead of carrying on', async () => {
    const port = await freePort();
    telemetry = await Telemetry.start({ runId: 'r1', scenario: 's', port });
    await expect(Telemetry.start({ runId: 'r2', scenario: 's', port })).rejects.toThrow(/EADDRINUSE/);
  });

  it('keeps the endpoint up for the linger time on shutdown', async () => {
    const port = await freePort();
    const t = await Telemetry.start({ runId: 'r1', scenario: 's', port });
    const stopping = t.shutdown({ lingerMs: 300 });
    await new Promise((r) => setTimeout(r, 100));
    expect((await fetch(t.url!)).status).toBe(200);
    await stopping;
    await expect(fetch(t.url!)).rejects.toThrow();
  });
});
