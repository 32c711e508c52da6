// A short run on the real stack with /metrics on a free loopback port: every documented metric is scraped with its
// Prometheus name and sane values (or listed below as legitimately absent, with the reason), every series carries
// run_id/scenario (and service on container series), and series.ndjson has one line per second with container
// and Postgres data. The verdict metrics are the analysis's: partial during the run, and the last scrape equals
// analysis.json (docs/ANALYSIS.md, Live verdicts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSeries, type SeriesLine } from '../store/read-series.ts';
import type { Analysis } from '../analysis/analyze.ts';
import { ALL_METRICS, LEAK_STATUS_VALUE, METRICS, promSeriesNames, SLO_STATUS_VALUE, type MetricDef, type MetricKey } from '../telemetry/metric-names.ts';
import type { ContainerRuntime } from '../stack/runtime/port.ts';
import { freePort, realRuntime } from '../stack/testing/runtime.ts';
import { runScenario, type RunScenarioResult } from './run-scenario.ts';
import {
  isolatedStack,
  managedContainers,
  readEvents,
  removeTempDirs,
  scrape,
  sleep,
  testConfig,
  testStackProvider,
  type PromSample,
} from './testing/stack-fixture.ts';

/** Documented metrics this run cannot produce, and why. Everything else must be scraped. */
const EXPECTED_ABSENT: Partial<Record<MetricKey, string>> = {
  containerNetworkIo: 'both services use network_mode host: the stats object has no "networks" section',
};
/** Only exported while the condition holds: checked for labels if present, not required. */
const CONDITIONAL: Partial<Record<MetricKey, string>> = {
  pgWaiting: 'only while an active session waits on an event at sample time',
  leakSlope: 'only once the leak detector fitted a slope: needs minutes of constant load, this run has 20 s',
  breakingPoint: 'only once the capacity analysis finds a breaking point (this ramp stays below the SLO limits it judges)',
  remoteWriteFailures: 'only while remote write is on (src/run/remote-write.int.test.ts)',
};

const SCENARIO = 'observe';
const PLANNED_MS = 20_000;

describe('observability of a run on the real stack', () => {
  let runtime: ContainerRuntime;
  let result: RunScenarioResult;
  let series: SeriesLine[];
  const scrapes: PromSample[][] = [];
  const all = (): PromSample[] => scrapes.flat();
  const byName = (name: string): PromSample[] => all().filter((s) => s.name === name);

  beforeAll(async () => {
    runtime = await realRuntime();
    const stack = await isolatedStack('loadscope-observe');
    const { config } = testConfig(stack, {
      // 40 users with short think times keep the app busy enough for its CPU to show; a 404 task feeds the error counter.
      // SLOs with known outcomes: the 404 task fails the error ratio, p95 stays far below 5 s
      scenarios: {
        [SCENARIO]: {
          shape: { kind: 'ramp', users: 40, rampUp: '3s', duration: `${PLANNED_MS}ms` },
          thinkTime: { min: '50ms', max: '200ms' },
          slo: { p95: '5s', errorRate: '1%' },
        },
      },
      extraTasks: [{ name: 'missing', weight: 1, method: 'GET', path: '/no-such-page' }],
    });
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/metrics`;
    let done = false;
    const run = runScenario({
      scenario: SCENARIO,
      config,
      stack: testStackProvider(stack),
      outDir: stack.dir,
      metrics: { host: '127.0.0.1', port, scrapeIntervalMs: 1000 },
    }).finally(() => {
      done = true;
    });
    // Scrape every second while the run (and the endpoint's 2 s linger after the final verdicts) lasts; before the
    // stack is up nothing listens.
    const scraper = (async () => {
      while (!done) {
        const got = await scrape(url).catch(() => undefined);
        if (got) scrapes.push(got);
        await sleep(got ? 1000 : 500);
      }
    })();
    result = await run;
    await scraper;
    series = readSeries(result.runDir);
  }, 150_000);

  afterAll(async () => {
    removeTempDirs();
    if (runtime && result) expect(await managedContainers(runtime, result.runId)).toEqual([]);
  });

  it('completes the run and was scraped several times', () => {
    expect(result.stoppedBy).toBe('completed');
    expect(scrapes.length).toBeGreaterThanOrEqual(4);
  });

  it('exports every documented metric under its Prometheus name, or lists why it is absent', () => {
    const names = new Set(all().map((s) => s.name));
    const missing: string[] = [];
    const unexpected: string[] = [];
    for (const [key, def] of Object.entries(METRICS) as [MetricKey, MetricDef][]) {
      const present = promSeriesNames(def).every((n) => names.has(n));
      if (EXPECTED_ABSENT[key] !== undefined) {
        if (promSeriesNames(def).some((n) => names.has(n))) unexpected.push(`${key} (${promSeriesNames(def).join(', ')})`);
      } else if (!present && CONDITIONAL[key] === undefined) {
        missing.push(`${key} (${promSeriesNames(def).join(', ')})`);
      }
    }
    expect(missing, 'documented metrics never scraped').toEqual([]);
    expect(unexpected, 'metrics listed as absent but exported (update EXPECTED_ABSENT)').toEqual([]);
  });

  it('puts run_id and scenario on every series, and service on container series', () => {
    const ours = all().filter((s) => s.name !== 'target_info');
    expect(ours.length).toBeGreaterThan(0);
    for (const s of ours) {
      expect(s.labels, s.name).toMatchObject({ run_id: result.runId, scenario: SCENARIO });
    }
    const containerMetrics = ALL_METRICS.filter((d) => d.attributes.includes('service'));
    for (const def of containerMetrics) {
      for (const name of promSeriesNames(def)) {
        for (const s of byName(name)) expect(['app', 'postgres'], `${name} service label`).toContain(s.labels.service);
      }
    }
    // both containers are on the container series
    expect(new Set(byName('container_memory_working_set').map((s) => s.labels.service))).toEqual(new Set(['app', 'postgres']));
  });

  it('reports sane values under load', () => {
    const max = (name: string, filter: (s: PromSample) => boolean = () => true): number =>
      Math.max(
        -Infinity,
        ...byName(name)
          .filter(filter)
          .map((s) => s.value),
      );
    const svc = (service: string) => (s: PromSample) => s.labels.service === service;

    expect(max('container_cpu_usage', svc('app')), 'app CPU cores under load').toBeGreaterThan(0.01);
    expect(max('container_memory_working_set', svc('app'))).toBeGreaterThan(10 * 1024 * 1024);
    expect(max('container_memory_working_set', svc('postgres'))).toBeGreaterThan(1024 * 1024);
    expect(max('loadscope_container_memory_limit', svc('app'))).toBe(512 * 1024 * 1024);
    expect(max('loadscope_container_cpu_limit_utilization', svc('app'))).toBeGreaterThan(0);
    expect(max('container_cpu_time_total', (s) => s.labels.service === 'app' && s.labels.cpu_mode === 'user')).toBeGreaterThan(0);

    // the app's pool (POOL_MIN=5) is visible by application_name; backends count it too
    const perScrapeApp = scrapes.map((sc) =>
      sc.filter((s) => s.name === 'loadscope_postgresql_connections' && s.labels.application_name === 'archiveorigin').reduce((a, s) => a + s.value, 0),
    );
    expect(Math.max(...perScrapeApp), 'archiveorigin connections').toBeGreaterThanOrEqual(5);
    expect(max('postgresql_backends')).toBeGreaterThanOrEqual(5);
    expect(max('postgresql_connection_max')).toBe(100);
    expect(max('postgresql_commits_total')).toBeGreaterThan(0);
    expect(max('loadscope_postgresql_up')).toBe(1);

    expect(max('loadscope_requests_total', (s) => s.labels.status_class === '2xx')).toBeGreaterThan(100);
    expect(max('loadscope_errors_total', (s) => s.labels.kind === '4xx')).toBeGreaterThan(0);
    expect(max('http_client_request_duration_count')).toBeGreaterThan(100);
    expect(max('loadscope_users_active')).toBeGreaterThan(0);
    expect(max('loadscope_phase')).toBe(1);
    expect(max('loadscope_host_cpu_usage')).toBeGreaterThan(0);
    expect(max('loadscope_host_memory_usage')).toBeGreaterThan(0);
    expect(max('loadscope_generator_cpu_usage')).toBeGreaterThan(0);
    expect(max('loadscope_generator_memory_rss')).toBeGreaterThan(10 * 1024 * 1024);
    expect(max('loadscope_sampler_lag')).toBeLessThan(1);
    expect(new Set(byName('loadscope_sampler_duration').map((s) => s.labels.sampler))).toEqual(new Set(['containers', 'host', 'postgres']));
  });

  it('exports the live verdicts as partial, and ends with exactly the verdicts of analysis.json, marked final', () => {
    const analysis = JSON.parse(readFileSync(join(result.runDir, 'analysis.json'), 'utf8')) as Analysis;
    // known outcomes, so the comparison below is not all-pass: the 404 task fails the error ratio
    expect(Object.fromEntries(analysis.slo.map((s) => [s.name, s.status]))).toEqual({ 'p95 <= 5000': 'pass', 'errorRatio <= 0.01': 'fail' });
    const value = (sc: PromSample[], name: string, labels: Record<string, string> = {}): number | undefined =>
      sc.find((s) => s.name === name && s.labels.scenario === SCENARIO && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    // during the run: judged so far, marked partial
    const live = scrapes.filter((sc) => value(sc, 'loadscope_verdicts_partial') === 1 && sc.some((s) => s.name === 'loadscope_slo_status'));
    expect(live.length, 'scrapes with partial verdicts').toBeGreaterThan(0);
    const last = scrapes[scrapes.length - 1]!;
    expect(value(last, 'loadscope_verdicts_partial')).toBe(0);
    // every SLO series of the last scrape is an SLO of analysis.json with its status, and every SLO has one
    const sloSeries = last.filter((s) => s.name === 'loadscope_slo_status');
    expect(Object.fromEntries(sloSeries.map((s) => [s.labels.slo, s.value]))).toEqual(
      Object.fromEntries(analysis.slo.map((s) => [s.name, SLO_STATUS_VALUE[s.status]])),
    );
    for (const l of analysis.leaks) {
      expect(value(last, 'loadscope_leak_status', { service: l.service }), `leak status ${l.service}`).toBe(LEAK_STATUS_VALUE[l.verdict]);
      const slope = value(last, 'loadscope_leak_slope', { service: l.service });
      if (l.slopeBytesPerHour === null) expect(slope === undefined || Number.isNaN(slope), `no slope for ${l.service}`).toBe(true);
      else expect(slope).toBe(l.slopeBytesPerHour);
    }
    const bp = value(last, 'loadscope_breaking_point_users');
    if (analysis.capacity.breakingPoint) expect(bp).toBe(analysis.capacity.breakingPoint.users);
    else expect(bp === undefined || Number.isNaN(bp)).toBe(true);
  });

  it('writes one series line per second with container and Postgres data', () => {
    expect(series.length).toBeGreaterThanOrEqual(PLANNED_MS / 1000 - 1);
    // line k (1-based) is written k s after the load started (plus at most the 0.8 s flush wait); the last one is the final partial second
    series.slice(0, -1).forEach((l, i) => expect(Math.floor(l.elapsedS), `line ${i + 1}`).toBe(i + 1));
    for (let i = 1; i < series.length; i++) expect(series[i]!.elapsedS - series[i - 1]!.elapsedS).toBeLessThanOrEqual(1.9);
    // the first second may predate the first stats sample; from then on, every line carries both
    for (const l of series.slice(1)) {
      const containers = l.containers as Record<string, { memoryWorkingSetBytes: number; ageMs: number }> | undefined;
      expect(Object.keys(containers ?? {}).sort(), `containers at ${l.elapsedS}s`).toEqual(['app', 'postgres']);
      expect(containers!.app!.memoryWorkingSetBytes).toBeGreaterThan(0);
      expect(containers!.app!.ageMs).toBeLessThan(3000);
      const pg = l.postgres as { connectionsByApp: Record<string, Record<string, number>> } | null | undefined;
      expect(pg, `postgres at ${l.elapsedS}s`).toBeTruthy();
      expect(Object.values(pg!.connectionsByApp.archiveorigin ?? {}).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(5);
      expect(l.host).toBeTruthy();
      expect(l.sampler).toBeTruthy();
    }
    expect(readEvents(result.runDir).filter((e) => e.kind === 'sampler-postgres_unavailable')).toEqual([]);
  });
});
