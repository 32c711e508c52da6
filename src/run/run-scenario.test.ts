import { appendFileSync, existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../cli/main.ts';
import { parseConfigObject } from '../config/load.ts';
import { freePort } from '../common/testing/free-port.ts';
import { startFakeArchive, type FakeArchive } from '../load/testing/fake-archive.ts';
import { readNdjson, readSeries } from '../store/read-series.ts';
import { redactSecrets } from '../store/redact.ts';
import { runScenario } from './run-scenario.ts';

// each run its own results directory (removed at the end): the runs of this file go side by side
// (describe.concurrent), and each checks that `latest` names its own run
const outs: string[] = [];
const newOut = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'loadscope-run-'));
  outs.push(dir);
  return dir;
};
// no /metrics endpoint: these cases are about the run directory and the timing, and the default port 9464 may be
// held by another run on the same host (the exporter cannot take port 0: it reads 0 as "use 9464")
const metrics = null;
let fake: FakeArchive;
/** the Postgres sampler's DSN: a port nobody listens on, below the ephemeral range (no neighbour's listen(0) lands there) */
let closedPgPort: number;
beforeAll(async () => {
  fake = await startFakeArchive();
  closedPgPort = await freePort();
});
afterAll(() => {
  for (const dir of outs) rmSync(dir, { recursive: true, force: true });
  return fake.close();
});

const config = (scenarios: Record<string, unknown>) =>
  parseConfigObject(
    {
      sample: { postgres: `postgres://mon:hunter2@127.0.0.1:${closedPgPort}/db` },
      flow: {
        onStart: [{ name: 'enroll', method: 'POST', path: '/device/enroll', json: { device_id: 'device-{{userId}}' }, capture: { token: 'enrollment_token' } }],
        tasks: [
          { name: 'health', path: '/health' },
          { name: 'ledger', path: '/ledger/entries', headers: { Authorization: 'Bearer {{token}}' } },
        ],
      },
      scenarios,
    },
    'test',
  );

async function timedRun(name: string, shape: Record<string, unknown>) {
  const cfg = config({ [name]: { shape, thinkTime: { min: '50ms', max: '100ms' } } });
  const out = newOut();
  const r = await runScenario({ scenario: name, config: cfg, target: fake.url, timeScale: 0.01, outDir: out, workers: 1, metrics });
  const events = readNdjson<{ kind: string; tMs: number; phase?: string }>(join(r.runDir, 'events.ndjson'));
  const firstPhase = events.find((e) => e.kind === 'phase')!;
  const stop = events.find((e) => e.kind === 'stop')!;
  const elapsedMs = stop.tMs - firstPhase.tMs;
  expect(r.stoppedBy).toBe('completed');
  expect(elapsedMs).toBeGreaterThan(r.plannedDurationMs * 0.95);
  expect(elapsedMs).toBeLessThan(r.plannedDurationMs * 1.05);
  return { r, out, seen: new Set(readSeries(r.runDir).map((l) => `${l.phase}=${l.activeUsers}`)) };
}

// The runs wait on think time and timers, not on the CPU (6 users, 50–100 ms think): they run side by side, and each is
// still timed on its own events against its own plan.
describe.concurrent('time-scaled runs end on time with the planned user counts in series.ndjson', () => {
  it('ramp', async () => {
    const { seen, r, out } = await timedRun('ramp', { kind: 'ramp', users: 6, rampUp: '100s', duration: '300s' });
    expect(seen.has('hold=6')).toBe(true);
    expect(r.summary.total.count).toBeGreaterThan(100);
    expect(readlinkSync(join(out, 'latest'))).toBe(r.runId);
  });
  it('steps', async () => {
    // no recovery hold: this proof is about the steps (at ×0.01 a recovery would be scaled too, its first step holding
    // 1.4 s, under the steady part a band needs: src/load/shapes/steps.ts)
    const { seen } = await timedRun('steps', { kind: 'steps', users: [2, 4, 6], rampUp: '10s', hold: '140s', recovery: 0 });
    for (const s of ['step-1:2=2', 'step-2:4=4', 'step-3:6=6']) expect(seen).toContain(s);
  });
  it('spike', async () => {
    const { seen } = await timedRun('spike', { kind: 'spike', baseUsers: 2, spikeUsers: 6, spikeFor: '150s', every: '250s', duration: '500s' });
    expect(seen).toContain('base=2');
    expect(seen).toContain('spike-1=6');
  });
});

describe('run directory', () => {
  it('writes Locust CSVs, a redacted manifest and extension sections', async () => {
    const cfg = config({ quick: { shape: { kind: 'ramp', users: 2, duration: '2s' }, thinkTime: '50ms' } });
    const r = await runScenario({
      scenario: 'quick',
      config: cfg,
      target: fake.url,
      outDir: newOut(),
      workers: 1,
      metrics,
      onWriter: (w) => w.addSection('postgres', ({ elapsedS }) => ({ connections: 3, elapsedS })),
    });
    const stats = readFileSync(join(r.runDir, 'quick_stats.csv'), 'utf8').split('\n');
    expect(stats[0]).toBe(
      'Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,Cancelled Count',
    );
    expect(stats.some((l) => l.startsWith(',Aggregated,'))).toBe(true);
    expect(readFileSync(join(r.runDir, 'quick_stats_history.csv'), 'utf8')).toMatch(
      /^Timestamp,User Count,Type,Name,Requests\/s,.*Total Average Content Size\n/,
    );
    expect(readFileSync(join(r.runDir, 'quick_failures.csv'), 'utf8')).toBe('Method,Name,Error,Occurrences\n');
    const manifest = readFileSync(join(r.runDir, 'manifest.json'), 'utf8');
    expect(manifest).not.toContain('hunter2');
    expect(JSON.parse(manifest)).toMatchObject({ runId: r.runId, scenario: 'quick', timeScale: 1, versions: { autocannon: '9.0.0' }, stoppedBy: 'completed' });
    const series = readSeries(r.runDir);
    expect(series.length).toBeGreaterThanOrEqual(2);
    expect(series[0]).toMatchObject({ postgres: { connections: 3 }, generator: { cpuCores: expect.any(Number) }, total: { p95Ms: expect.any(Number) } });
    expect(Object.keys(series[0]!.endpoints).sort()).toEqual(expect.arrayContaining(['health', 'ledger']));

    // a kill -9 mid-write leaves a partial last line: readers skip it
    appendFileSync(join(r.runDir, 'series.ndjson'), '{"t":"2026-');
    expect(readSeries(r.runDir)).toHaveLength(series.length);
  });

  it('redacts DSN passwords and secret-named keys', () => {
    expect(redactSecrets({ dsn: 'postgres://u:pw@h/db', nested: { apiToken: 'x', password: 'p', keep: 'k' } })).toEqual({
      dsn: 'postgres://u:***@h/db',
      nested: { apiToken: '***', password: '***', keep: 'k' },
    });
  });
});

describe('CLI refuses bad input before any connection (exit 2)', () => {
  it('non-loopback --target, bad config: no connection, no run directory', async () => {
    let connections = 0;
    const server = http.createServer((_q, s) => s.end());
    server.on('connection', () => connections++);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const dir = mkdtempSync(join(tmpdir(), 'loadscope-cli-'));
    const cfgPath = join(dir, 'bad.yaml');
    writeFileSync(
      cfgPath,
      `target: http://127.0.0.1:${port}/api\nflow: { tasks: [{ name: h, path: "/health/{{who}}" }] }\nscenarios: { s: { shape: { kind: ramp, users: 1, duration: 1s } } }\n`,
    );
    const resultsDir = join(dir, 'results');
    try {
      expect(await main(['run', 's', '-c', cfgPath, '--out', resultsDir])).toBe(2);
      writeFileSync(
        cfgPath,
        `target: http://127.0.0.1:${port}\nflow: { tasks: [{ name: h, path: /health }] }\nscenarios: { s: { shape: { kind: ramp, users: 1, duration: 1s } } }\n`,
      );
      expect(await main(['run', 's', '-c', cfgPath, '--out', resultsDir, '--target', 'http://example.invalid:8000'])).toBe(2);
      expect(await main(['run', 'nope', '-c', cfgPath, '--out', resultsDir])).toBe(2);
      expect(connections).toBe(0);
      expect(existsSync(resultsDir)).toBe(false);
    } finally {
      server.close();
    }
  });
});
