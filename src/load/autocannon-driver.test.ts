import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfigObject } from '../config/load.ts';
import { createZeroThinkDriver } from './autocannon-driver.ts';
import { runLoad } from './engine.ts';
import { compileFlow } from './flow-runner.ts';
import { Recorder, type RecorderFlush } from './recorder.ts';
import { planShape } from './shapes/registry.ts';
import { startFakeArchive, type FakeArchive } from './testing/fake-archive.ts';
import type { UserDeps } from './user-context.ts';
import { allowTarget } from '../config/target.ts';

const flowOf = (onStart: unknown[], tasks: unknown[]) =>
  parseConfigObject({ flow: { onStart, tasks }, scenarios: { s: { shape: { kind: 'ramp', users: 1, duration: '1s' } } } }, 'test').flow;

const enroll = (deviceId: string, retries = 3) => ({
  name: 'enroll',
  method: 'POST',
  path: '/device/enroll',
  json: { device_id: deviceId, device_token: 't' },
  capture: { token: 'enrollment_token' },
  retries,
});
const archiveFlow = flowOf(
  [enroll('device-{{userId}}')],
  [
    {
      name: 'lock_proof',
      weight: 3,
      method: 'POST',
      path: '/lock-proof',
      headers: { Authorization: 'Bearer {{token}}' },
      json: { capture_id: 'c-{{randomInt 1 100000}}' },
    },
    { name: 'health', weight: 1, path: '/health' },
    { name: 'ledger', weight: 2, path: '/ledger/entries', headers: { Authorization: 'Bearer {{token}}' } },
  ],
);

function driverDeps(target: string, flow = archiveFlow, requestTimeoutMs = 5_000) {
  const recorder = new Recorder();
  const events: { kind: string; detail: Record<string, unknown> }[] = [];
  const deps: UserDeps = {
    flow: compileFlow(flow),
    target: new URL(target),
    recorder,
    requestTimeoutMs,
    thinkMinMs: 0,
    thinkMaxMs: 0,
    deadlineEpochMs: Date.now() + 20_000,
    onEvent: (kind, detail) => events.push({ kind, detail }),
    seed: 1,
    threadIndex: 0,
  };
  return { deps, recorder, events };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const total = (f: RecorderFlush, name: string): number => f.endpoints[name]?.count ?? 0;

let fake: FakeArchive | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

describe('zero-think users: one autocannon instance per cohort, one connection per user', () => {
  it('each connection enrolls once and keeps its own token across request-list loops; every response is recorded under its endpoint', async () => {
    fake = await startFakeArchive();
    const users = 12;
    const recorded = new Map<string, number>();
    const cancelled = new Map<string, number>();
    await runLoad({
      flow: archiveFlow,
      target: allowTarget(fake.url, [], 'test'),
      timeline: planShape({ kind: 'ramp', users, rampUpMs: 0, durationMs: 2_500 }),
      thinkMinMs: 0,
      thinkMaxMs: 0,
      requestTimeoutMs: 5_000,
      workers: 1,
      onSecond: (s) => {
        for (const [name, e] of s.endpoints) {
          recorded.set(name, (recorded.get(name) ?? 0) + e.count);
          cancelled.set(name, (cancelled.get(name) ?? 0) + (e.cancelled ?? 0));
        }
      },
    });
    expect(fake.enrolls).toBe(users);
    expect(fake.unauthorized).toBe(0);
    expect(fake.byToken.size).toBe(users);
    expect(fake.connections).toBe(users);
    // the stop cancels what is in flight (at most one request per user): the server saw every recorded
    // request, plus at most the cancelled ones
    expect([...cancelled.values()].reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(users);
    for (const [name, path] of [
      ['enroll', '/device/enroll'],
      ['lock_proof', '/lock-proof'],
      ['health', '/health'],
      ['ledger', '/ledger/entries'],
    ] as const) {
      const rec = recorded.get(name) ?? 0;
      expect(fake.counts[path] ?? 0).toBeGreaterThanOrEqual(rec);
      expect(fake.counts[path] ?? 0).toBeLessThanOrEqual(rec + (cancelled.get(name) ?? 0));
    }
    const tasks = (fake.counts['/lock-proof'] ?? 0) + (fake.counts['/health'] ?? 0) + (fake.counts['/ledger/entries'] ?? 0);
    // a correctness test, not a speed one: the bound only says the loop ran (it also runs on busy CI boxes)
    expect(tasks).toBeGreaterThan(200);
    expect((fake.counts['/lock-proof'] ?? 0) / tasks).toBeGreaterThan(0.45);
    expect((fake.counts['/lock-proof'] ?? 0) / tasks).toBeLessThan(0.55);
  });

  it('stopping some users of a cohort closes just their connections; the rest keep going', async () => {
    fake = await startFakeArchive();
    const { deps, recorder } = driverDeps(fake.url);
    const users = createZeroThinkDriver(deps).startCohort([1, 2, 3, 4, 5]);
    await sleep(500);
    const t0 = Date.now();
    await Promise.all(users.slice(3).map((u) => u.stop()));
    expect(Date.now() - t0).toBeLessThan(1_000);
    recorder.flush();
    const tokensBefore = new Map(fake.byToken);
    await sleep(500);
    const after = recorder.flush();
    expect(total(after, 'lock_proof') + total(after, 'ledger')).toBeGreaterThan(10);
    const grew = [...fake.byToken].filter(([tok, n]) => n > (tokensBefore.get(tok) ?? 0)).length;
    expect(grew).toBe(3);
    expect(fake.enrolls).toBe(5);
    await Promise.all(users.map((u) => u.stop()));
  });

  it('a failing onStart step is retried with back-off, counted as errors, and no task runs without it', async () => {
    fake = await startFakeArchive();
    // the fake answers 422 to device ids that do not start with "device-"
    const { deps, recorder, events } = driverDeps(fake.url, flowOf([enroll('bad-{{userId}}', 1)], [{ name: 'health', path: '/health' }]));
    const users = createZeroThinkDriver(deps).startCohort([1, 2]);
    await sleep(1_500);
    await Promise.all(users.map((u) => u.stop()));
    const f = recorder.flush();
    // per user: try, retry after 100 ms, give up, pause 1 s, try again → 3 tries in 1.5 s
    expect(f.endpoints.enroll?.errors['4xx']).toBeGreaterThanOrEqual(4);
    expect(f.endpoints.enroll?.errors['4xx']).toBeLessThanOrEqual(8);
    expect(f.endpoints.health).toBeUndefined();
    expect(events.filter((e) => e.kind === 'onstart-failed').length).toBeGreaterThanOrEqual(2);
  });

  it('connection refused and request timeouts are counted by kind, and the loop neither spins nor hangs', async () => {
    const silent = http.createServer(() => {}); // accepts, never answers
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    try {
      const refused = driverDeps(`http://127.0.0.1:${closedPort}`, flowOf([], [{ name: 'h', path: '/' }]));
      const hung = driverDeps(`http://127.0.0.1:${(silent.address() as AddressInfo).port}`, flowOf([], [{ name: 'h', path: '/' }]), 1_000);
      const a = createZeroThinkDriver(refused.deps).startCohort([1, 2]);
      const b = createZeroThinkDriver(hung.deps).startCohort([3]);
      await sleep(1_600);
      const t0 = Date.now();
      await Promise.all([...a, ...b].map((u) => u.stop()));
      expect(Date.now() - t0).toBeLessThan(1_500);
      const r = refused.recorder.flush().endpoints.h;
      // 2 users, ≥ 10 ms pause after each failure
      expect(r?.errors.connection).toBeGreaterThan(5);
      expect(r?.errors.connection).toBeLessThan(2 * 170);
      // the first request timed out at 1 s; the second was in flight at stop and timed out at 2 s
      expect(hung.recorder.flush().endpoints.h?.errors.timeout).toBe(2);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });

  it('status, bytes and latency of every response are recorded exactly; a capture reads a chunked body', async () => {
    // raw server, so every byte on the wire is known: a chunked token for /enroll, a 503 after 30 ms for /slow
    const DELAY_MS = 30;
    const SLOW = 'HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy';
    let issued = 0;
    const seenTokens: string[] = [];
    const server = net.createServer((sock) => {
      let buf = '';
      sock.on('data', (d) => {
        buf += d.toString();
        for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
          const head = buf.slice(0, end);
          buf = buf.slice(end + 4);
          if (head.startsWith('GET /enroll')) {
            const body = JSON.stringify({ enrollment_token: `tok-${++issued}` });
            const half = body.length >> 1;
            const chunk = (s: string): string => `${s.length.toString(16)}\r\n${s}\r\n`;
            sock.write(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${chunk(body.slice(0, half))}${chunk(body.slice(half))}0\r\n\r\n`);
          } else {
            seenTokens.push(/authorization: Bearer (\S+)/i.exec(head)?.[1] ?? '');
            setTimeout(() => sock.writable && sock.write(SLOW), DELAY_MS);
          }
        }
      });
      sock.on('error', () => {});
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const flow = flowOf(
        [{ name: 'enroll', path: '/enroll', capture: { token: 'enrollment_token' } }],
        [{ name: 'slow', path: '/slow', headers: { Authorization: 'Bearer {{token}}' } }],
      );
      const { deps } = driverDeps(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, flow);
      const recorder = new Recorder(true);
      const users = createZeroThinkDriver({ ...deps, recorder }).startCohort([1, 2, 3]);
      await sleep(600);
      await Promise.all(users.map((u) => u.stop()));
      const f = recorder.flush();
      const slow = f.endpoints.slow;
      expect(issued).toBe(3);
      expect(f.endpoints.enroll?.count).toBe(3);
      expect(f.endpoints.enroll?.errors).toEqual({ '4xx': 0, '5xx': 0, timeout: 0, connection: 0, other: 0 });
      expect(seenTokens.length).toBeGreaterThan(3);
      expect(seenTokens.every((t) => /^tok-[123]$/.test(t))).toBe(true);
      expect(slow?.count).toBeGreaterThan(3);
      expect(slow?.errors['5xx']).toBe(slow?.count);
      expect(slow?.bytes).toBe((slow?.count ?? 0) * SLOW.length);
      expect(f.failures['GET\tslow\tHTTP 503']).toBe(slow?.count);
      const us = f.rawUs?.slow ?? [];
      expect(us.length).toBe(slow?.count);
      // a known lower bound (the server's own delay, less a timer's 1 ms granularity), no upper one
      expect(Math.min(...us)).toBeGreaterThanOrEqual((DELAY_MS - 1) * 1000);
    } finally {
      server.close();
    }
  });
});
