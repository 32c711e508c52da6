// `--engine external` (docs/DISTRIBUTED.md, "Workers started by someone else"): the coordinator starts nothing,
// listens on the port and with the token it was given, and takes over real workers (run/fleet-worker.ts, in this
// process) that were started by the test — even before it listened. Bounded: workers that do not come within the
// start allowance end the run with a clear error; one of two missing makes it a partial run naming the missing one.
import { describe, expect, it } from 'vitest';
import { LoadscopeError } from '../common/errors.ts';
import { allowTarget } from '../config/target.ts';
import { parseConfigObject } from '../config/load.ts';
import type { LoadOptions, SecondSample } from '../load/engine.ts';
import { ExternalEngine } from '../load/fleet/external-engine.ts';
import { runFleetLoad } from '../load/fleet/fleet-load.ts';
import { WORKER_COORDINATOR_ENV, WORKER_INDEX_ENV, WORKER_TOKEN_ENV } from '../load/fleet/port.ts';
import { planShape } from '../load/shapes/registry.ts';
import { startCapacityServer } from '../load/testing/capacity-server.ts';
import { runWorker, type WorkerOutcome } from './fleet-worker.ts';
import { freePort, portIsFree } from '../common/testing/free-port.ts';

const flow = parseConfigObject(
  { flow: { tasks: [{ name: 'work', path: '/work' }] }, scenarios: { s: { shape: { kind: 'ramp', users: 1, duration: '1s' } } } },
  'test',
).flow;
const TOKEN = 'given-token-0123456789';
type CapacityServer = Awaited<ReturnType<typeof startCapacityServer>>;

/** Each case has its own target (the cases run side by side: they wait on real time, not the CPU). */
async function withTarget(durationMs: number, seconds: SecondSample[], test: (o: LoadOptions, server: CapacityServer) => Promise<void>): Promise<void> {
  const server = await startCapacityServer(10, 10);
  try {
    await test(options(server, durationMs, seconds), server);
  } finally {
    await server.close();
  }
}

function options(server: CapacityServer, durationMs: number, seconds: SecondSample[]): LoadOptions {
  return {
    flow,
    target: allowTarget(server.url, [], 'test'),
    timeline: planShape({ kind: 'ramp', users: 4, rampUpMs: 0, durationMs }),
    thinkMinMs: 50,
    thinkMaxMs: 50,
    requestTimeoutMs: 2_000,
    workers: 1,
    onSecond: (s) => seconds.push(s),
  };
}

const worker = (port: number, index: number, token = TOKEN): Promise<WorkerOutcome> =>
  runWorker({ [WORKER_COORDINATOR_ENV]: `http://127.0.0.1:${port}`, [WORKER_INDEX_ENV]: String(index), [WORKER_TOKEN_ENV]: token }, () => {});

describe.concurrent('external engine', () => {
  it('starts nothing; workers started before it are taken over on the given port and token; one merged run', async () => {
    const port = await freePort();
    const seconds: SecondSample[] = [];
    await withTarget(3_000, seconds, async (o, server) => {
      // the workers first: a pod may start before its coordinator's (they retry their first contact)
      const workers = [worker(port, 0), worker(port, 1)];
      await new Promise((r) => setTimeout(r, 1_500));
      const result = await runFleetLoad(o, { runId: 'given-run', engine: new ExternalEngine(), count: 2, allowTargets: [], port, token: TOKEN });
      const outcomes = await Promise.all(workers);
      expect(result.stoppedBy).toBe('completed');
      expect(result.fleet.engine).toBe('external');
      expect(result.fleet.members.map((m) => [m.index, m.name])).toEqual([
        [0, 'external-0'],
        [1, 'external-1'],
      ]);
      expect(result.fleet.lost).toEqual([]);
      expect(outcomes.map((w) => [w.index, w.stoppedBy, w.delivered])).toEqual([
        [0, 'completed', true],
        [1, 'completed', true],
      ]);
      // 4 users split 2 + 2, both workers' requests merged: every request counted was served; the server served at
      // most those cut off at the plan's end on top
      expect(seconds.filter((s) => !s.final).map((s) => s.activeUsers)).toContain(4);
      const counted = seconds.reduce((n, s) => n + (s.endpoints.get('work')?.count ?? 0), 0);
      const cancelled = seconds.reduce((n, s) => n + (s.cancelled ?? 0), 0);
      expect(counted).toBeGreaterThan(0);
      expect(server.served()).toBeGreaterThanOrEqual(counted);
      expect(server.served()).toBeLessThanOrEqual(counted + cancelled);
    });
  }, 60_000);

  it('no worker within the start allowance: a clear error (exit 3), nothing loaded, the port is free again', async () => {
    const port = await freePort();
    await withTarget(3_000, [], async (o, server) => {
      const t0 = Date.now();
      const run = runFleetLoad(o, { runId: 'r', engine: new ExternalEngine({ startAllowanceMs: 1_000 }), count: 2, allowTargets: [], port, token: TOKEN });
      await expect(run).rejects.toThrow(new LoadscopeError('LOAD_FAILED', 'no worker started: did not ask for its assignment within 1 s'));
      expect(Date.now() - t0).toBeLessThan(5_000);
      expect(server.served()).toBe(0);
      expect(await portIsFree(port), 'nothing left listening').toBe(true);
    });
  }, 30_000);

  it('one of two workers does not come: the run ends as partial naming it; the one that came sends no load', async () => {
    const port = await freePort();
    await withTarget(3_000, [], async (o, server) => {
      const engine = new ExternalEngine({ startAllowanceMs: 2_000 });
      const run = runFleetLoad(o, { runId: 'r', engine, count: 2, allowTargets: [], port, token: TOKEN });
      const came = worker(port, 0);
      const result = await run;
      expect(result.stoppedBy).toBe('worker-lost');
      expect(result.fleet.lost).toEqual([{ index: 1, name: 'external-1', reason: 'did not ask for its assignment within 2 s' }]);
      expect(await came).toMatchObject({ index: 0, turnedAway: true });
      expect(server.served()).toBe(0);
    });
  }, 30_000);

  it('a worker with another token is refused (401) and never loads', async () => {
    const port = await freePort();
    await withTarget(3_000, [], async (o, server) => {
      const run = runFleetLoad(o, { runId: 'r', engine: new ExternalEngine({ startAllowanceMs: 1_500 }), count: 1, allowTargets: [], port, token: TOKEN });
      await new Promise((r) => setTimeout(r, 300));
      await expect(worker(port, 0, 'not-the-token')).rejects.toThrow(/HTTP 401/);
      await expect(run).rejects.toThrow(/no worker started/);
      expect(server.served()).toBe(0);
    });
  }, 30_000);
});
