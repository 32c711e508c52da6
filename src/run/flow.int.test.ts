// The user flow against the real reference stack: every user enrolls once, the weighted task mix holds,
// think time paces each user, and nothing is left behind.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfigObject, parseConfigText } from '../config/load.ts';
import { readSeries } from '../store/read-series.ts';
import { freePort, leftovers, realRuntime } from '../stack/testing/runtime.ts';
import { dockerStackProvider } from './docker-stack.ts';
import { runScenario } from './run-scenario.ts';

const root = join(import.meta.dirname, '..', '..');

describe('flow on the real stack', () => {
  it('enrolls each user once, keeps the 3:1:2 mix, and paces users by think time', async () => {
    const appPort = await freePort();
    const pgPort = await freePort();
    const env = { LOADSCOPE_APP_PORT: String(appPort), LOADSCOPE_PG_PORT: String(pgPort) };
    const reference = parseConfigText(readFileSync(join(root, 'compose', 'loadscope.yaml'), 'utf8'), 'loadscope.yaml', { env });
    // A quiet host serves ~6,000 task requests in the 32 s; a busy one (the pool's neighbours) half of that.
    const users = 30;
    const thinkMinS = 0.1;
    const thinkMaxS = 0.2;
    const flowcheck = parseConfigObject(
      {
        flow: { tasks: [{ name: 'x', path: '/' }] },
        scenarios: { flowcheck: { shape: { kind: 'ramp', users, rampUp: '2s', duration: '32s' }, thinkTime: { min: `${thinkMinS}s`, max: `${thinkMaxS}s` } } },
      },
      'flow.int.test',
    ).scenarios;
    const cfg = { ...reference, stack: { compose: join(root, 'compose', 'stack.yml') }, scenarios: flowcheck };
    const runtime = await realRuntime();
    const result = await runScenario({
      scenario: 'flowcheck',
      config: cfg,
      outDir: mkdtempSync(join(tmpdir(), 'loadscope-flow-')),
      metrics: null,
      stack: dockerStackProvider({ env, dockerHost: process.env.DOCKER_HOST, dockerdLogPath: '/var/log/loadscope/dockerd.log', isRoot: true }),
    });
    expect(await leftovers(runtime, result.runId)).toEqual([]);
    expect(result.stoppedBy).toBe('completed');

    const by = new Map(result.summary.endpoints.map((e) => [e.name, e]));
    // every user enrolled exactly once; captured tokens were used (no 401s anywhere). A /health 503 under
    // a contended CPU is the app's honest answer (1 s DB deadline), so only a small error ratio is tolerated.
    expect(by.get('enroll')?.count).toBe(users);
    expect(by.get('enroll')?.failures).toBe(0);
    const series = readSeries(result.runDir);
    const clientErrors = series.reduce((n, l) => n + (l.total.errors['4xx'] ?? 0), 0);
    expect(clientErrors).toBe(0);
    expect(result.summary.total.errorRatio).toBeLessThan(0.01);

    const tasks = ['lock_proof', 'health', 'ledger'] as const;
    const weights = { lock_proof: 3, health: 1, ledger: 2 };
    const taskTotal = tasks.reduce((n, t) => n + (by.get(t)?.count ?? 0), 0);
    // each request draws its task at random by weight, so a task's count is binomial: its share must lie within 3σ
    // of its weight at the count observed. From 1,500 requests on that band is ±17 % for health (1/6) and tighter
    // for the others — a mix that ignored the weights (1/3 each) would sit +100 % / −33 % away.
    expect(taskTotal).toBeGreaterThan(1500);
    for (const t of tasks) {
      const share = (by.get(t)?.count ?? 0) / taskTotal;
      const expected = weights[t] / 6;
      const band = 3 * Math.sqrt((1 - expected) / (expected * taskTotal));
      const text = `${t} share ${share.toFixed(3)} vs ${expected.toFixed(3)} (±${(band * 100).toFixed(1)} % at ${taskTotal} requests)`;
      expect(Math.abs(share - expected) / expected, text).toBeLessThan(band);
    }

    // closed model: each user sends one request per (think + response) time
    const meanLatencyS = tasks.reduce((n, t) => n + (by.get(t)?.count ?? 0) * (by.get(t)?.meanMs ?? 0), 0) / taskTotal / 1000;
    const expectedPerUserRps = 1 / ((thinkMinS + thinkMaxS) / 2 + meanLatencyS);
    const hold = series.filter((l) => l.phase === 'hold' && l.activeUsers === users);
    const steady = hold.slice(1, -1);
    expect(steady.length).toBeGreaterThan(15);
    const perUserRps = steady.reduce((n, l) => n + l.total.count, 0) / steady.length / users;
    expect(
      Math.abs(perUserRps - expectedPerUserRps) / expectedPerUserRps,
      `per-user ${perUserRps.toFixed(2)} vs ${expectedPerUserRps.toFixed(2)} req/s`,
    ).toBeLessThan(0.15);

    // the samplers saw the app and its pool while the load ran
    const sampled = steady.filter((l) => (l as unknown as { containers?: { app?: { cpuCores: number } } }).containers?.app);
    expect(sampled.length).toBe(steady.length);
  });
});
