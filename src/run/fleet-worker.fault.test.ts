// A worker on its own (#15 Acceptance): it stops at its deadline when its coordinator is gone, and it checks the
// target against the allowlist in its own process before any connection. The coordinator here is the real HTTP
// side (load/fleet/coordinator.ts) with handlers written by the test; the target a loopback capacity server.
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfigObject } from '../config/load.ts';
import { newRunToken, startCoordinator, type Coordinator } from '../load/fleet/coordinator.ts';
import { workerEnv } from '../load/fleet/port.ts';
import type { Assignment, WorkerSecond } from '../load/fleet/protocol.ts';
import { startCapacityServer } from '../load/testing/capacity-server.ts';
import { runWorker } from './fleet-worker.ts';
import { CLI, REPO_ROOT } from './testing/stack-fixture.ts';

const flow = parseConfigObject(
  { flow: { tasks: [{ name: 'work', path: '/work' }] }, scenarios: { s: { shape: { kind: 'ramp', users: 1, duration: '1s' } } } },
  'test',
).flow;
/** a 60-s plan: only the deadline can end it within the test */
const assignmentFor = (target: string): Assignment => ({
  runId: 'r',
  index: 0,
  count: 1,
  flow,
  timeline: {
    steps: [
      { atMs: 0, users: 2, phase: 'hold' },
      { atMs: 60_000, users: 0, phase: 'end' },
    ],
    durationMs: 60_000,
  },
  thinkMinMs: 100,
  thinkMaxMs: 100,
  requestTimeoutMs: 2_000,
  seed: 7,
  threads: 1,
  target,
  allowTargets: [],
});
const DEADLINE_AFTER_BARRIER_MS = 3_000;
/** after the deadline: the engine's stop reply bound (2 s, engine.ts STOP_REPLY_BOUND_MS) and the final second's
 * 3 refused attempts with 250 + 500 ms back-off (worker-client.ts); 1 s more for a busy host */
const STOP_BOUND_MS = 2_000 + 750 + 1_000;

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function coordinatorWith(
  a: Assignment,
  onSecond: (s: WorkerSecond) => void,
  startAt: { barrierMs?: number; started: boolean },
): Promise<{ coord: Coordinator; env: NodeJS.ProcessEnv }> {
  const token = newRunToken();
  const coord = await startCoordinator({
    token,
    count: 1,
    handlers: {
      assignment: () => Promise.resolve(a),
      start: () => {
        startAt.started = true;
        startAt.barrierMs = Date.now() + 200;
        return Promise.resolve({ barrierEpochMs: startAt.barrierMs, deadlineEpochMs: startAt.barrierMs + DEADLINE_AFTER_BARRIER_MS });
      },
      second: (_i, s) => {
        onSecond(s);
        return {};
      },
    },
  });
  closers.push(() => coord.close());
  return { coord, env: workerEnv({ runId: 'r', count: 1, coordinatorUrl: coord.url, token, deadlineEpochMs: 0 }, 0) };
}

describe('loadscope worker', () => {
  it('stops by itself at its deadline once its coordinator is gone', async () => {
    const server = await startCapacityServer(10, 10);
    closers.push(() => server.close());
    const seconds: WorkerSecond[] = [];
    const startAt = { started: false } as { barrierMs?: number; started: boolean };
    let closed = false;
    const { coord, env } = await coordinatorWith(
      assignmentFor(server.url),
      (s) => {
        seconds.push(s);
        // the coordinator dies after the first second it received
        if (!closed) {
          closed = true;
          setTimeout(() => void coord.close(), 0);
        }
      },
      startAt,
    );
    const out = await runWorker(env, () => {});
    const endedMs = Date.now();
    const deadlineMs = startAt.barrierMs! + DEADLINE_AFTER_BARRIER_MS;
    console.log(JSON.stringify({ stoppedAfterDeadlineMs: endedMs - deadlineMs, served: server.served() }));
    expect(out).toEqual({ index: 0, stoppedBy: 'deadline', delivered: false });
    expect(seconds.length).toBeGreaterThanOrEqual(1);
    expect(endedMs).toBeGreaterThanOrEqual(deadlineMs);
    expect(endedMs - deadlineMs).toBeLessThanOrEqual(STOP_BOUND_MS);
    // it kept its load until the deadline: 2 users at 1 / (100 ms think + 10 ms service) ≈ 9 req/s each for 3 s ≈ 54,
    // more than 2 s worth — not one second's
    expect(server.served()).toBeGreaterThan(2 * 9 * 2);
  }, 30_000);

  it('refuses a non-loopback target from its assignment before any connection: nothing started, nothing sent', async () => {
    const seconds: WorkerSecond[] = [];
    const startAt = { started: false };
    const { env } = await coordinatorWith(assignmentFor('http://10.1.2.3:8080'), (s) => seconds.push(s), startAt);
    await expect(runWorker(env, () => {})).rejects.toMatchObject({ code: 'TARGET_NOT_ALLOWED' });
    expect(startAt.started).toBe(false);
    expect(seconds).toEqual([]);
  });

  it('as a process: exit 2 for a refused target and for a missing coordinator environment', async () => {
    const startAt = { started: false };
    const { env } = await coordinatorWith(assignmentFor('http://10.1.2.3:8080'), () => {}, startAt);
    const run = (e: NodeJS.ProcessEnv): Promise<{ code: number | null; err: string }> =>
      new Promise((resolve) => {
        const p = spawn(process.execPath, [CLI, 'worker'], { cwd: REPO_ROOT, env: e, stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        p.stderr.on('data', (b: Buffer) => (err += b.toString()));
        p.once('exit', (code) => resolve({ code, err }));
      });
    const { LOADSCOPE_COORDINATOR_URL: _u, LOADSCOPE_WORKER_TOKEN: _t, LOADSCOPE_WORKER_INDEX: _i, ...bare } = process.env;
    const [refused, missing] = await Promise.all([run({ ...bare, ...env }), run(bare)]);
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/TARGET_NOT_ALLOWED.*10\.1\.2\.3/);
    expect(startAt.started).toBe(false);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/LOADSCOPE_COORDINATOR_URL, LOADSCOPE_WORKER_TOKEN, LOADSCOPE_WORKER_INDEX/);
  }, 30_000);
});
