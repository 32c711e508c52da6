// The coordinator's HTTP contract: token on every request (401), schema on every body (400), routes by index.
import { afterEach, describe, expect, it } from 'vitest';
import { newRunToken, startCoordinator, type Coordinator } from './coordinator.ts';
import { assignmentPath, secondsPath, startPath, type Assignment, type WorkerSecond } from './protocol.ts';

const token = newRunToken();
const assignment: Assignment = {
  runId: 'r1',
  index: 0,
  count: 2,
  flow: { tasks: [] } as unknown as Assignment['flow'],
  timeline: { steps: [{ atMs: 0, users: 1, phase: 'hold' }], durationMs: 1000 },
  thinkMinMs: 0,
  thinkMaxMs: 0,
  requestTimeoutMs: 1000,
  seed: 7,
  target: 'http://127.0.0.1:1',
  allowTargets: [],
};
const second: WorkerSecond = {
  elapsedS: 1,
  final: false,
  phase: 'hold',
  activeUsers: 1,
  cpuCores: 0.2,
  hostCores: 2,
  host: 'h',
  startedAtMs: 1,
  data: { endpoints: {}, failures: {}, droppedLate: 0 },
  events: [],
};

let coord: Coordinator | undefined;
const received: [number, WorkerSecond][] = [];
afterEach(async () => {
  await coord?.close();
  received.length = 0;
});

async function start(host?: string): Promise<Coordinator> {
  coord = await startCoordinator({
    ...(host !== undefined && { host }),
    token,
    count: 2,
    handlers: {
      assignment: (i) => Promise.resolve({ ...assignment, index: i }),
      start: (i) => Promise.resolve(i === 0 ? { barrierEpochMs: 1, deadlineEpochMs: 2 } : undefined),
      second: (i, s) => {
        received.push([i, s]);
        return { stop: true };
      },
    },
  });
  return coord;
}

const call = (c: Coordinator, path: string, init: RequestInit = {}, bearer: string | null = token): Promise<Response> =>
  fetch(`${c.url}${path}`, { ...init, headers: { ...(bearer !== null && { authorization: `Bearer ${bearer}` }), 'content-type': 'application/json' } });

describe('coordinator HTTP', () => {
  it('binds loopback and serves each index its assignment', async () => {
    const c = await start();
    expect(new URL(c.url).hostname).toBe('127.0.0.1');
    const r = await call(c, assignmentPath(1));
    expect(r.status).toBe(200);
    expect(((await r.json()) as Assignment).index).toBe(1);
    expect((await call(c, assignmentPath(2))).status).toBe(404);
    expect(await (await call(c, startPath(0))).json()).toEqual({ barrierEpochMs: 1, deadlineEpochMs: 2 });
    expect((await call(c, startPath(1))).status).toBe(410);
  });

  it('listens where --coordinator-host says and tells its workers that address (127.0.0.2: another loopback address)', async () => {
    const c = await start('127.0.0.2');
    expect(new URL(c.url).hostname).toBe('127.0.0.2');
    expect((await call(c, assignmentPath(0))).status).toBe(200);
  });

  it('refuses a missing, wrong or empty token with 401 and hands nothing out', async () => {
    const c = await start();
    for (const bearer of [null, 'wrong', '', token.slice(0, -1)]) {
      const r = await call(c, assignmentPath(0), {}, bearer);
      expect(r.status).toBe(401);
      expect(JSON.stringify(await r.json())).not.toContain('r1');
    }
    expect((await call(c, secondsPath(0), { method: 'POST', body: JSON.stringify(second) }, 'wrong')).status).toBe(401);
    expect(received).toEqual([]);
  });

  it('answers 400 to a body that is not JSON or not a second, and passes a valid one with its reply', async () => {
    const c = await start();
    const bad = [
      'not json',
      JSON.stringify({ ...second, elapsedS: -1 }),
      JSON.stringify({ ...second, data: { endpoints: { x: { method: 'GET' } }, failures: {}, droppedLate: 0 } }),
    ];
    for (const body of bad) expect((await call(c, secondsPath(0), { method: 'POST', body })).status).toBe(400);
    expect(received).toEqual([]);
    const ok = await call(c, secondsPath(1), { method: 'POST', body: JSON.stringify(second) });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ stop: true });
    expect(received.map(([i, s]) => [i, s.elapsedS])).toEqual([[1, 1]]);
  });
});
