import { EventEmitter } from 'node:events';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { LoadscopeError, StackStartError } from '../common/errors.ts';
import { parseCompose } from './compose/parse.ts';
import type { ComposeProject } from './compose/types.ts';
import { FakeContainerRuntime, type FakeContainerScript } from './testing/fake-runtime.ts';
import { LABEL_MANAGED, LABEL_RUN } from './labels.ts';
import { downByLabel, installSignalTeardown, startStack, type SignalTarget, type StackEvent, type StackOptions } from './stack.ts';
import type { Clock } from '../common/clock.ts';

const PG = 'loadscope-shop-postgres-run-1';
const APP = 'loadscope-shop-app-run-1';

const STACK_YML = `
name: shop
services:
  app:
    image: loadscope/app:dev
    command: node server.js --port 8080
    environment: { DATABASE_URL: "postgres://localhost:5433/app" }
    labels: { tier: web }
    depends_on: { postgres: { condition: service_healthy } }
    mem_limit: 256m
    cpus: 0.5
  postgres:
    image: postgres:16
    healthcheck: { test: ["CMD", "pg_isready"], interval: 1s, retries: 3 }
    mem_limit: 1g
    cpus: 2
`;

function project(text = STACK_YML): ComposeProject {
  return parseCompose(text, '/proj/compose/stack.yml', {});
}

function fakeClock(): Clock {
  let t = 0;
  // time moves only by the code's own sleeps (nothing here waits on a timer)
  return { nowMs: () => t, monotonicMs: () => t, setTimer: () => ({ cancel() {} }), sleep: async (ms) => void (t += ms) };
}

function setup(options: { images?: string[]; scripts?: Record<string, FakeContainerScript>; text?: string } = {}) {
  const fake = new FakeContainerRuntime({ images: options.images ?? ['loadscope/app:dev', 'postgres:16'] });
  for (const [name, script] of Object.entries(options.scripts ?? {})) fake.script(name, script);
  const events: StackEvent[] = [];
  const opts: StackOptions = {
    runtime: fake,
    project: project(options.text),
    runId: 'run-1',
    healthTimeoutMs: 120_000,
    clock: fakeClock(),
    onEvent: (e) => events.push(e),
  };
  return { fake, events, opts };
}

async function startFailure(opts: StackOptions): Promise<StackStartError> {
  const err = await startStack(opts).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StackStartError);
  return err as StackStartError;
}

describe('startStack', () => {
  it('creates dependencies first, on the host network, with our labels, and waits for health', async () => {
    const { fake, events, opts } = setup();
    const stack = await startStack(opts);
    expect(fake.calls).toEqual([`create ${PG}`, `start ${PG}`, `create ${APP}`, `start ${APP}`]);
    const specs = [...fake.containers.values()].map((c) => c.spec);
    const app = specs.find((s) => s.name === APP);
    expect(app).toMatchObject({
      image: 'loadscope/app:dev',
      cmd: ['node', 'server.js', '--port', '8080'],
      env: { DATABASE_URL: 'postgres://localhost:5433/app' },
      networkMode: 'host',
      memoryBytes: 256 * 1024 ** 2,
      nanoCpus: 500_000_000,
      labels: { tier: 'web', 'loadscope.managed': 'true', 'loadscope.run': 'run-1', 'loadscope.service': 'app', 'loadscope.project': 'shop' },
    });
    expect(specs.find((s) => s.name === PG)?.healthcheck).toEqual({
      test: ['CMD', 'pg_isready'],
      intervalMs: 1000,
      timeoutMs: 30_000,
      retries: 3,
      startPeriodMs: 0,
    });
    expect(stack.runId).toBe('run-1');
    expect(stack.services).toEqual([
      { name: 'postgres', containerId: expect.any(String), containerName: PG, memoryLimitBytes: 1024 ** 3, cpuLimitCores: 2 },
      { name: 'app', containerId: expect.any(String), containerName: APP, memoryLimitBytes: 256 * 1024 ** 2, cpuLimitCores: 0.5 },
    ]);
    expect(events.map((e) => `${e.kind} ${e.service}`)).toEqual(['service-started postgres', 'service-healthy postgres', 'service-started app']);
    expect(stack.events).toEqual(events);
    await stack.down();
  });

  it('fails on an unhealthy service with its log tail, leaving no containers behind', async () => {
    const logs = Array.from({ length: 40 }, (_, i) => `line ${i}`);
    const { fake, opts } = setup({ scripts: { [PG]: { health: ['starting', 'starting', 'unhealthy'], logs } } });
    const err = await startFailure(opts);
    expect(err.service).toBe('postgres');
    expect(err.message).toMatch(/^service postgres: unhealthy after 3 retries/);
    expect(err.logTail).toEqual(logs.slice(-30));
    expect(fake.containers.size).toBe(0);
    expect(fake.calls).not.toContain(`create ${APP}`);
  });

  it('fails fast when a service exits before becoming healthy', async () => {
    const { fake, opts } = setup({ scripts: { [PG]: { health: ['starting'], exitOnInspect: 2, exitCode: 1, logs: ['FATAL: bad config'] } } });
    const err = await startFailure(opts);
    expect(err.message).toContain('service postgres: exited with code 1 before becoming healthy');
    expect(err.logTail).toEqual(['FATAL: bad config']);
    expect(fake.containers.size).toBe(0);
  });

  it('tears down earlier services when a later one fails, in reverse order', async () => {
    const { fake, opts, events } = setup({ scripts: { [APP]: { exitOnInspect: 1, exitCode: 2, logs: ['boom'] } } });
    const err = await startFailure(opts);
    expect(err.service).toBe('app');
    expect(err.message).toContain('exited with code 2 before becoming running');
    expect(fake.containers.size).toBe(0);
    expect(fake.calls.filter((c) => c.startsWith('remove'))).toEqual([`remove ${APP}`, `remove ${PG}`]);
    // The app really died (reported); postgres was stopped by the teardown (not reported).
    expect(events.filter((e) => e.kind === 'container-died').map((e) => [e.service, e.exitCode])).toEqual([['app', 2]]);
  });

  it('reports the deadline', async () => {
    const { fake, opts } = setup({ scripts: { [PG]: { health: ['starting'] } } });
    const err = await startFailure({ ...opts, healthTimeoutMs: 120_000 });
    expect(err.message).toContain('not healthy within 120000 ms');
    expect(fake.containers.size).toBe(0);
  });

  it('keeps the start failure when teardown fails too', async () => {
    const { fake, opts } = setup({ scripts: { [APP]: { failStart: 'port 8080 in use' } } });
    const remove = vi.spyOn(fake, 'remove').mockRejectedValueOnce(new Error('engine hiccup'));
    const warnings: string[] = [];
    const err = await startFailure({ ...opts, onWarning: (m) => warnings.push(m) });
    expect(err.message).toContain('service app: could not start container loadscope-shop-app-run-1: port 8080 in use');
    expect(remove).toHaveBeenCalledTimes(2);
    expect(warnings.join('\n')).toContain('engine hiccup');
  });

  it('checks images before creating anything', async () => {
    const { fake, opts } = setup({ images: ['postgres:16'] });
    const err = await startFailure(opts);
    expect(err.service).toBe('app');
    expect(err.message).toContain('image loadscope/app:dev not found — run npm run bootstrap');
    expect(fake.calls).toEqual([]);
  });

  it('removes a managed orphan with the same name first, but refuses to touch a foreign container', async () => {
    const orphan = setup();
    orphan.fake.addContainer({ name: PG, labels: { [LABEL_MANAGED]: 'true', [LABEL_RUN]: 'crashed-run' } });
    const stack = await startStack(orphan.opts);
    expect(orphan.fake.calls[0]).toBe(`remove ${PG}`);
    expect(orphan.fake.containers.size).toBe(2);
    await stack.down();

    const foreign = setup();
    foreign.fake.addContainer({ name: APP, labels: {} });
    const err = await startFailure(foreign.opts);
    expect(err.service).toBe('app');
    expect(err.message).toContain('not created by loadscope');
    expect(foreign.fake.calls).toEqual([]);
    expect(foreign.fake.containers.size).toBe(1);
  });

  it('runs a service_completed_successfully job to completion before its dependent', async () => {
    const text = `name: shop
services:
  migrate: { image: postgres:16 }
  app: { image: loadscope/app:dev, depends_on: { migrate: { condition: service_completed_successfully } } }
`;
    const ok = setup({ text, scripts: { 'loadscope-shop-migrate-run-1': { exitOnInspect: 2, exitCode: 0 } } });
    const stack = await startStack(ok.opts);
    expect(ok.fake.calls).toEqual(['create loadscope-shop-migrate-run-1', 'start loadscope-shop-migrate-run-1', `create ${APP}`, `start ${APP}`]);
    await stack.down();
    expect(ok.events.filter((e) => e.kind === 'container-died')).toEqual([]);

    const bad = setup({ text, scripts: { 'loadscope-shop-migrate-run-1': { exitOnInspect: 1, exitCode: 3, logs: ['relation exists'] } } });
    const err = await startFailure(bad.opts);
    expect(err.service).toBe('migrate');
    expect(err.message).toContain('exited with code 3');
    expect(err.logTail).toEqual(['relation exists']);
    expect(bad.fake.containers.size).toBe(0);
  });
});

describe('running stack', () => {
  it('reports a container death with its exit code, and an OOM kill once, however often the engine repeats it', async () => {
    const { fake, events, opts } = setup();
    const stack = await startStack(opts);
    const app = stack.services.find((s) => s.name === 'app');
    fake.kill(app?.containerId ?? '', 1);
    await vi.waitFor(() => expect(events.map((e) => e.kind)).toContain('container-died'));
    expect(events.find((e) => e.kind === 'container-died')).toMatchObject({ service: 'app', exitCode: 1, oomKilled: false, message: 'exited with code 1' });

    fake.kill(PG, 137, { oom: true, oomEvents: 10 });
    await vi.waitFor(() => expect(events.filter((e) => e.kind === 'container-died')).toHaveLength(2));
    expect(events.filter((e) => e.kind === 'container-oom')).toEqual([expect.objectContaining({ service: 'postgres' })]);
    expect(events.filter((e) => e.kind === 'container-died')[1]).toMatchObject({ service: 'postgres', exitCode: 137, oomKilled: true });
    await stack.down();
  });

  it('down stops and removes in reverse order, once, without reporting deaths', async () => {
    const { fake, events, opts } = setup();
    const stack = await startStack(opts);
    const first = stack.down();
    expect(stack.down()).toBe(first);
    await first;
    await stack.down();
    await stack[Symbol.asyncDispose]();
    expect(fake.calls.slice(4)).toEqual([`stop ${APP}`, `remove ${APP}`, `stop ${PG}`, `remove ${PG}`]);
    expect(fake.containers.size).toBe(0);
    expect(events.map((e) => e.kind).slice(-2)).toEqual(['teardown-started', 'teardown-done']);
    expect(events.filter((e) => e.kind === 'container-died')).toEqual([]);
  });

  it('down tries every container and throws the first failure', async () => {
    const { fake, events, opts } = setup();
    const stack = await startStack(opts);
    vi.spyOn(fake, 'remove').mockImplementationOnce(() => Promise.reject(new Error('device busy')));
    await expect(stack.down()).rejects.toThrow(
      new LoadscopeError('STACK_TEARDOWN_FAILED', 'service app: could not remove container loadscope-shop-app-run-1: device busy'),
    );
    expect(fake.calls).toContain(`stop ${PG}`);
    expect([...fake.containers.values()].map((c) => c.spec.name)).toEqual([APP]);
    expect(events.at(-1)).toMatchObject({ kind: 'teardown-done', message: expect.stringContaining('device busy') });
  });

  it('follows container logs into <runDir>/logs/<service>.log', async () => {
    const runDir = await mkdtemp(path.join(tmpdir(), 'loadscope-run-'));
    const { opts } = setup({ scripts: { [PG]: { logs: ['ready to accept connections', { stream: 'stderr', line: 'WARNING: x' }] } } });
    const stack = await startStack({ ...opts, runDir });
    await stack.down();
    expect(await readFile(path.join(runDir, 'logs', 'postgres.log'), 'utf8')).toBe('ready to accept connections\n[stderr] WARNING: x\n');
    expect(await readFile(path.join(runDir, 'logs', 'app.log'), 'utf8')).toBe('');
  });
});

describe('downByLabel', () => {
  it('removes only managed containers matching the labels', async () => {
    const fake = new FakeContainerRuntime();
    fake.addContainer({ name: 'a', labels: { [LABEL_MANAGED]: 'true', [LABEL_RUN]: 'r1' } });
    fake.addContainer({ name: 'b', labels: { [LABEL_MANAGED]: 'true', [LABEL_RUN]: 'r2' } }, 'exited');
    fake.addContainer({ name: 'mine', labels: { [LABEL_RUN]: 'r1' } });
    expect(await downByLabel(fake, { [LABEL_RUN]: 'r1' })).toEqual(['a']);
    expect(await downByLabel(fake)).toEqual(['b']);
    expect([...fake.containers.values()].map((c) => c.spec.name)).toEqual(['mine']);
  });
});

describe('installSignalTeardown', () => {
  function target(): SignalTarget & EventEmitter & { killed: string[] } {
    const emitter = new EventEmitter() as EventEmitter & SignalTarget & { killed: string[] };
    emitter.pid = 4242;
    emitter.killed = [];
    emitter.kill = (_pid: number, signal: NodeJS.Signals) => emitter.killed.push(signal);
    return emitter;
  }

  it('runs down once and hands the signal to the caller', async () => {
    const t = target();
    const down = vi.fn(() => Promise.resolve());
    const seen: string[] = [];
    const uninstall = installSignalTeardown({ down }, { target: t, onSignal: (s) => seen.push(s) });
    t.emit('SIGTERM', 'SIGTERM');
    expect(down).toHaveBeenCalledTimes(1);
    expect(seen).toEqual(['SIGTERM']);
    t.emit('SIGINT', 'SIGINT');
    expect(down).toHaveBeenCalledTimes(1);
    expect(t.killed).toEqual(['SIGINT']);
    expect(t.listenerCount('SIGINT')).toBe(0);
    uninstall();
  });

  it('re-raises after teardown when no handler is given, and uninstalls cleanly', async () => {
    const t = target();
    installSignalTeardown({ down: () => Promise.reject(new Error('x')) }, { target: t });
    t.emit('SIGINT', 'SIGINT');
    await vi.waitFor(() => expect(t.killed).toEqual(['SIGINT']));
    const other = target();
    installSignalTeardown({ down: () => Promise.resolve() }, { target: other })();
    expect(other.listenerCount('SIGINT') + other.listenerCount('SIGTERM')).toBe(0);
  });
});
