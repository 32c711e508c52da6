// Acceptance test for remote write (issue 15, item 4): a real time-scaled run on the reference stack pushes its
// metrics to a real Prometheus 2.42 started with --web.enable-remote-write-receiver, which scrapes nothing (the
// run serves no /metrics): every metric the run exports arrives under its /metrics name with the run's run_id,
// and every panel and annotation query of every generated dashboard returns data from those series (with the
// committed recording and alert rules loaded, as in dashboards.int.test.ts).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_REMOTE_WRITE_INTERVAL_MS } from '../config/schema.ts';
import { DASHBOARDS } from '../dashboards/generate.ts';
import { dashboardQueries } from '../dashboards/queries.ts';
import { deriveConfig, PROMETHEUS_BIN, queryRange, startPrometheus, substitute, type TestPrometheus } from '../dashboards/testing/prometheus.ts';
import { produceRunMetrics, type ProducedRun } from '../dashboards/testing/produce-run-metrics.ts';
import { ALL_METRICS, METRICS, promSeriesNames, type MetricKey } from '../telemetry/metric-names.ts';
import type { RemoteWriteStats } from '../telemetry/remote-write.ts';
import { readSeries } from '../store/read-series.ts';
import { readEvents, removeTempDirs } from './testing/stack-fixture.ts';

/** Metrics this run cannot produce, and why; every other one must arrive. */
const EXPECTED_ABSENT: Partial<Record<MetricKey, string>> = {
  containerNetworkIo: 'both services use network_mode host: the stats object has no "networks" section',
  pgWaiting: 'only while an active session waits on an event at sample time',
  leakSlope: 'the leak detector judges only constant-load windows of ≥ 2 min (docs/ANALYSIS.md, Live verdicts): this run is a short ladder',
};

/** Dashboard queries on a metric this run cannot have must evaluate, but may be empty. */
const NO_DATA_HERE = (Object.keys(EXPECTED_ABSENT) as MetricKey[]).flatMap((k) => promSeriesNames(METRICS[k]));

const INTERVAL_S = DEFAULT_REMOTE_WRITE_INTERVAL_MS / 1000;

describe('remote write into a real Prometheus 2.42', () => {
  let prom: TestPrometheus | undefined;
  let run: ProducedRun;
  const outDir = mkdtempSync(join(tmpdir(), 'loadscope-rw-run-'));

  beforeAll(async () => {
    // Fail loudly, never skip: without the binary this acceptance test proves nothing.
    if (!existsSync(PROMETHEUS_BIN)) throw new Error(`${PROMETHEUS_BIN} is missing: install Debian's prometheus package`);
    prom = await startPrometheus(deriveConfig([]), ['--web.enable-remote-write-receiver']);
    // the default interval: what a user gets with --remote-write alone
    run = await produceRunMetrics(null, outDir, { remoteWrite: { url: `${prom.url}/api/v1/write`, intervalMs: DEFAULT_REMOTE_WRITE_INTERVAL_MS } });
  }, 300_000);

  afterAll(async () => {
    await prom?.stop();
    rmSync(outDir, { recursive: true, force: true });
    removeTempDirs(); // the isolated stack's Compose copy
  });

  it('pushed every interval and at the end, without a failure', () => {
    const events = readEvents(run.runDir);
    const start = events.find((e) => e.kind === 'remote-write-start');
    const done = events.find((e) => e.kind === 'remote-write-done') as unknown as ({ tMs: number } & RemoteWriteStats) | undefined;
    expect(events.filter((e) => e.kind === 'remote-write-failed')).toEqual([]);
    if (!start || !done) throw new Error('no remote-write-start/-done events');
    // a tick every interval from start to stop, each a push (or skipped while one was still under way), plus the final push
    const spanMs = done.tMs - start.tMs;
    const ticks = Math.floor(spanMs / DEFAULT_REMOTE_WRITE_INTERVAL_MS);
    expect(done.pushes + done.skippedTicks).toBeGreaterThanOrEqual(ticks); // timers run late, never early: at most one tick lost at the end
    expect(done.pushes + done.skippedTicks).toBeLessThanOrEqual(ticks + 1);
    expect(done.failures).toBe(0);
    console.log(
      `remote write: ${done.pushes} pushes, ${done.samplesSent} samples (${Math.round(done.samplesSent / done.pushes)} per push) over ${(spanMs / 1000).toFixed(1)} s`,
    );
  });

  it('every exported metric arrived under its /metrics name, and every series carries the run_id', async () => {
    const p = prom!;
    const params = new URLSearchParams({ 'match[]': '{__name__!=""}', start: String(Math.floor(run.startS)), end: String(Math.ceil(run.endS) + 60) });
    const res = (await (await fetch(`${p.url}/api/v1/series?${params}`)).json()) as { data: Record<string, string>[] };
    // recording-rule outputs (name:with:colons) and ALERTS are Prometheus's own; everything else came by remote write
    const pushed = res.data.filter((l) => !l.__name__!.includes(':') && !l.__name__!.startsWith('ALERTS'));
    expect(pushed.length).toBeGreaterThan(100);
    expect(pushed.filter((l) => l.run_id !== run.runId).map((l) => l.__name__)).toEqual([]);
    expect(pushed.filter((l) => l.scenario !== run.scenario).map((l) => l.__name__)).toEqual([]);
    const names = new Set(pushed.map((l) => l.__name__ ?? ''));
    const missing: string[] = [];
    for (const [key, def] of Object.entries(METRICS) as [MetricKey, (typeof ALL_METRICS)[number]][]) {
      if (EXPECTED_ABSENT[key] !== undefined) continue;
      for (const n of promSeriesNames(def)) if (!names.has(n)) missing.push(n);
    }
    expect(missing).toEqual([]);
    expect(names.has('target_info')).toBe(true);
    const known = new Set([...ALL_METRICS.flatMap(promSeriesNames), 'target_info']);
    expect(
      [...names].filter((n) => !known.has(n)),
      'names /metrics does not have',
    ).toEqual([]);
  });

  it('the final push carries the final counts: requests in Prometheus = requests in series.ndjson', async () => {
    const p = prom!;
    const lines = readSeries(run.runDir);
    const completed = lines.reduce((n, l) => n + l.total.count, 0);
    // requests_total counts answered requests by status class; timeouts/connection/other errors are only in errors_total
    const sel = `run_id="${run.runId}"`;
    const expr = `sum(loadscope_requests_total{${sel}}) + (sum(loadscope_errors_total{${sel},kind=~"timeout|connection|other"}) or vector(0))`;
    const res = (await (await fetch(`${p.url}/api/v1/query?${new URLSearchParams({ query: expr, time: String(run.endS) })}`)).json()) as {
      data: { result: { value: [number, string] }[] };
    };
    expect(completed).toBeGreaterThan(100);
    expect(Number(res.data.result[0]?.value[1])).toBe(completed);
  });

  it('every panel and annotation query of every dashboard returns data from the remotely written series', async () => {
    const p = prom!;
    const queries = Object.values(DASHBOARDS).flatMap((build) => dashboardQueries(build()));
    expect(queries.length).toBeGreaterThan(40);
    const empty: string[] = [];
    await Promise.all(
      queries.map(async (q) => {
        // samples are INTERVAL_S apart: Grafana's $__rate_interval for such a data source is 4 × INTERVAL_S
        const expr = substitute(q.expr, run, INTERVAL_S);
        const res = await queryRange(p.url, expr, Math.floor(run.startS), Math.ceil(run.endS), 1);
        if (res.status !== 'success') return void empty.push(`${q.dashboard} ${q.where}: ERROR ${res.error} in ${expr}`);
        const withValue = (res.data?.result ?? []).filter((s) => s.values.some(([, v]) => v !== 'NaN'));
        if (withValue.length === 0 && !NO_DATA_HERE.some((n) => expr.includes(n))) empty.push(`${q.dashboard} ${q.where}: no data for ${expr}`);
      }),
    );
    expect(empty, `queries without data (prometheus log:\n${p.log().slice(-2000)})`).toEqual([]);
  });
});
