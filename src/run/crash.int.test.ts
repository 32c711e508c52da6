// Crash safety on the real stack: kill -9 of `loadscope run` leaves a readable series up to the kill and orphans that
// `loadscope down` removes; an OOM-killed app is recorded within 2 s and the run still ends on time; a Postgres
// restart mid-run is a recorded sampler gap, not the end of the run.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readSeries, type SeriesLine } from '../store/read-series.ts';
import type { ContainerRuntime } from '../stack/runtime/port.ts';
import { freePort, realRuntime } from '../stack/testing/runtime.ts';
import { runScenario, type RunScenarioResult } from './run-scenario.ts';
import {
  CLI,
  dockerState,
  isolatedStack,
  managedContainers,
  readEvents,
  REPO_ROOT,
  removeTempDirs,
  sleep,
  testConfig,
  testStackProvider,
  waitFor,
  writeConfigFile,
  type DockerState,
  type RunEvent,
} from './testing/stack-fixture.ts';

let runtime: ContainerRuntime;
/** Run ids started by this file: whatever a failed test left behind is removed at the end. */
const runIds = new Set<string>();

beforeAll(async () => {
  runtime = await realRuntime();
});

afterAll(async () => {
  removeTempDirs();
  for (const id of runIds) {
    for (const c of await runtime.list({ 'loadscope.managed': 'true', 'loadscope.run': id })) await runtime.remove(c.id).catch(() => undefined);
  }
});

function serviceContainerId(runDir: string, service: string): string | undefined {
  const up = readEvents(runDir).find((e) => e.kind === 'stack-up') as (RunEvent & { containers: { service: string; containerId: string }[] }) | undefined;
  return up?.containers.find((c) => c.service === service)?.containerId;
}

/** Series lines are one per second: line k (1-based, all but a final partial one) at elapsedS in [k, k+1). */
function expectContinuous(lines: SeriesLine[], opts: { lastIsFinal: boolean }): void {
  const regular = opts.lastIsFinal ? lines.slice(0, -1) : lines;
  regular.forEach((l, i) => expect(Math.floor(l.elapsedS), `series line ${i + 1}`).toBe(i + 1));
  for (let i = 1; i < lines.length; i++) expect(lines[i]!.tMs - lines[i - 1]!.tMs, `tMs step before line ${i + 1}`).toBeLessThan(1900);
}

describe('kill -9 of loadscope run (real stack, CLI child process)', () => {
  let child: ChildProcess | undefined;

  afterEach(() => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  it('keeps every second up to the kill readable, and `loadscope down` removes the orphans', async () => {
    const stack = await isolatedStack('loadscope-crash-kill');
    // the reference `normal` scenario, only pointed at the isolated stack
    const { raw } = testConfig(stack, {
      scenarios: {
        normal: {
          shape: { kind: 'ramp', users: 100, rampUp: '1m', duration: '5m' },
          thinkTime: { min: '1s', max: '3s' },
          slo: { p95: '500ms', errorRate: '1%', minThroughput: 100 },
        },
      },
    });
    const configPath = writeConfigFile(stack, raw);
    const out = join(stack.dir, 'results');
    let stderr = '';
    child = spawn(process.execPath, [CLI, 'run', 'normal', '-c', configPath, '--time-scale', '0.1', '--out', out, '--metrics-port', String(await freePort())], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...stack.env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<void>((resolve) => child!.once('exit', () => resolve()));

    const latest = join(out, 'latest');
    const runId = await waitFor('the run directory', () => (existsSync(latest) ? basename(realpathSync(latest)) : undefined), 30_000);
    runIds.add(runId);
    const seriesFile = join(out, runId, 'series.ndjson');
    const lineCount = (): number =>
      existsSync(seriesFile)
        ? readFileSync(seriesFile, 'utf8')
            .split('\n')
            .filter((l) => l.trim()).length
        : 0;
    await waitFor(
      '8 series lines',
      () => (child!.exitCode !== null ? Promise.reject(new Error(`loadscope exited early:\n${stderr}`)) : lineCount() >= 8 ? true : undefined),
      90_000,
      100,
    );

    const killAtMs = Date.now();
    child.kill('SIGKILL');
    await exited;
    expect(child.signalCode).toBe('SIGKILL');

    const lines = readSeries(join(out, runId));
    expect(lines.length).toBeGreaterThanOrEqual(8);
    expectContinuous(lines, { lastIsFinal: false });
    const last = lines.at(-1)!;
    expect(killAtMs - last.tMs, 'last line vs kill time').toBeLessThanOrEqual(2000);
    expect(killAtMs - last.tMs).toBeGreaterThanOrEqual(0);
    expect(last.containers).toBeTruthy();
    expect(last.postgres).toBeTruthy();
    // no manifest update after the kill: it still says the run never ended
    expect(JSON.parse(readFileSync(join(out, runId, 'manifest.json'), 'utf8'))).toMatchObject({ runId, endedAt: null });

    // the stack outlived its orchestrator
    expect((await managedContainers(runtime, runId)).length).toBe(2);
    const down = spawn(process.execPath, [CLI, 'down', '--run-id', runId], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let downOut = '';
    down.stdout.on('data', (b: Buffer) => (downOut += b.toString()));
    down.stderr.on('data', (b: Buffer) => (downOut += b.toString()));
    const code = await new Promise<number | null>((resolve) => down.once('exit', (c) => resolve(c)));
    expect(code, downOut).toBe(0);
    expect(downOut).toMatch(/removed .*app/);
    expect(await managedContainers(runtime, runId)).toEqual([]);
  }, 120_000);
});

describe('OOM kill of the app mid-run (real stack, 96m memory limit, 1 MiB leaked per request)', () => {
  it('records the OOM within 2 s and still ends the run on time, with nothing left', async () => {
    const stack = await isolatedStack('loadscope-crash-oom', { appMemLimit: '96m', env: { LEAK_BYTES_PER_REQUEST: String(1024 * 1024) } });
    const plannedMs = 12_000;
    const { config } = testConfig(stack, {
      scenarios: { oom: { shape: { kind: 'ramp', users: 4, duration: `${plannedMs}ms` }, thinkTime: { min: '200ms', max: '400ms' } } },
    });

    let runDir: string | undefined;
    let appId: string | undefined;
    let appState: DockerState | undefined;
    let oomSeenAtMs: number | undefined;
    let loadStartMs: number | undefined;
    let done = false;
    const startedMs = Date.now();
    const run = runScenario({
      scenario: 'oom',
      config,
      stack: testStackProvider(stack),
      outDir: stack.dir,
      metrics: null,
      onWriter: (w) => {
        runDir = w.runDir;
        runIds.add(w.runId);
      },
    }).finally(() => {
      done = true;
    });
    // Watch events.ndjson (when the OOM line lands) and the app container (when the engine says it finished).
    const watcher = (async () => {
      while (!done) {
        if (runDir) {
          const events = readEvents(runDir);
          loadStartMs ??= events.find((e) => e.kind === 'target-ready')?.tMs;
          if (oomSeenAtMs === undefined && events.some(isOom)) oomSeenAtMs = Date.now();
          appId ??= serviceContainerId(runDir, 'app');
          if (appId && appState === undefined) {
            const s = await dockerState(appId);
            if (s && s.status === 'exited') appState = s;
          }
        }
        await sleep(100);
      }
    })();
    const settled = await run.then(
      (r) => ({ ok: true as const, r }),
      (err: unknown) => ({ ok: false as const, err }),
    );
    const endedMs = Date.now();
    await watcher;

    // An OOM of the system under test is a finding, not a loadscope failure: the run completes and records it.
    expect(settled.ok, settled.ok ? '' : String(settled.err)).toBe(true);
    const result = (settled as { r: RunScenarioResult }).r;
    expect(result.stoppedBy).toBe('completed');
    expect(loadStartMs).toBeDefined();
    expect(endedMs - loadStartMs!, 'load start → run returned (planned + grace + teardown)').toBeLessThan(plannedMs + 20_000);
    expect(endedMs - startedMs).toBeLessThan(90_000);

    expect(appState, 'app container exited during the run').toBeDefined();
    expect(appState!.oomKilled).toBe(true);
    const events = readEvents(result.runDir);
    const oom = events.find(isOom);
    expect(oom, JSON.stringify(events.filter((e) => e.kind.startsWith('stack-container')))).toBeDefined();
    expect(oom!.service).toBe('app');
    // engine event time vs State.FinishedAt, and when the line was actually in the file
    expect(Math.abs(oom!.tMs - appState!.finishedAtMs), 'event time vs FinishedAt').toBeLessThanOrEqual(2000);
    expect(oomSeenAtMs).toBeDefined();
    expect(oomSeenAtMs! - appState!.finishedAtMs, 'written to events.ndjson after FinishedAt').toBeLessThanOrEqual(2000);
    expect(events.some((e) => e.kind === 'stack-container-died' && e.service === 'app' && e.oomKilled === true)).toBe(true);

    // it happened mid-run: load before it succeeded, after it failed to connect
    const lines = readSeries(result.runDir);
    const before = lines.filter((l) => l.tMs < appState!.finishedAtMs - 1000);
    const after = lines.filter((l) => l.tMs > appState!.finishedAtMs + 1500);
    expect(before.length).toBeGreaterThanOrEqual(1);
    expect(after.length).toBeGreaterThanOrEqual(2);
    expect(before.reduce((n, l) => n + l.total.count, 0)).toBeGreaterThan(0);
    for (const l of after) expect(l.total.count === 0 || (l.total.errors.connection ?? 0) > 0, `second ${l.elapsedS}`).toBe(true);
    // the kill is counted on the app's container series (loadscope.container.oom_kills)
    expect((lines.at(-1)!.containers as Record<string, { oomKills: number }>).app!.oomKills).toBe(1);
    expect(await managedContainers(runtime, result.runId)).toEqual([]);
  }, 120_000);
});

function isOom(e: RunEvent): boolean {
  return e.kind === 'stack-container-oom' || (e.kind === 'stack-container-died' && e.oomKilled === true);
}

describe('Postgres restart mid-run (real stack)', () => {
  it('records the sampler gap with postgres: null lines, then data again, and completes the run', async () => {
    const stack = await isolatedStack('loadscope-crash-pg');
    const plannedMs = 22_000;
    const { config } = testConfig(stack, {
      scenarios: { pgrestart: { shape: { kind: 'ramp', users: 5, duration: `${plannedMs}ms` }, thinkTime: { min: '300ms', max: '600ms' } } },
    });
    let runDir: string | undefined;
    let restart: Promise<{ stoppedMs: number; startedMs: number }> | undefined;
    const result = await runScenario({
      scenario: 'pgrestart',
      config,
      stack: testStackProvider(stack),
      outDir: stack.dir,
      metrics: null,
      onWriter: (w) => {
        runDir = w.runDir;
        runIds.add(w.runId);
      },
      onSecond: (s) => {
        if (restart || s.elapsedS < 5 || !runDir) return;
        const id = serviceContainerId(runDir, 'postgres');
        if (!id) throw new Error('no postgres container in the stack-up event');
        // `docker restart` through the runtime port: stop (SIGTERM, fast shutdown), then start again. The 3 s pause
        // makes the outage span several 1 Hz ticks (a bare restart takes ~1 s and could fall between two).
        restart = (async () => {
          await runtime.stop(id, 10);
          const stoppedMs = Date.now();
          await sleep(3000);
          await runtime.start(id);
          return { stoppedMs, startedMs: Date.now() };
        })();
      },
    });
    expect(restart).toBeDefined();
    const { stoppedMs, startedMs } = await restart!;

    expect(result.stoppedBy).toBe('completed');
    const events = readEvents(result.runDir);
    const down = events.filter((e) => e.kind === 'sampler-postgres_unavailable');
    const up = events.filter((e) => e.kind === 'sampler-postgres_recovered');
    expect(down, 'one unavailable event per outage').toHaveLength(1);
    expect(up).toHaveLength(1);
    expect(up[0]!.tMs).toBeGreaterThan(down[0]!.tMs);
    expect(down[0]!.tMs).toBeLessThanOrEqual(stoppedMs + 2000);
    expect(up[0]!.tMs).toBeGreaterThanOrEqual(startedMs);
    expect(up[0]!.gapSeconds as number).toBeGreaterThanOrEqual(3);

    const lines = readSeries(result.runDir);
    expectContinuous(lines, { lastIsFinal: true });
    const firstNull = lines.findIndex((l) => l.postgres === null);
    expect(firstNull, 'a series line with postgres: null').toBeGreaterThan(0);
    expect(lines.filter((l) => l.postgres === null).length, 'null lines for a ≥ 3 s outage').toBeGreaterThanOrEqual(2);
    const gap = lines.filter((l) => l.tMs > down[0]!.tMs + 1000 && l.tMs < up[0]!.tMs);
    expect(gap.length).toBeGreaterThanOrEqual(1);
    for (const l of gap) expect(l.postgres, `second ${l.elapsedS} inside the gap`).toBeNull();
    for (const l of lines.slice(1).filter((x) => x.tMs < stoppedMs - 1500)) expect(l.postgres, `second ${l.elapsedS} before the restart`).toBeTruthy();
    const afterGap = lines.filter((l) => l.tMs > up[0]!.tMs + 1500);
    expect(afterGap.length).toBeGreaterThanOrEqual(3);
    for (const l of afterGap) expect(l.postgres, `second ${l.elapsedS} after recovery`).toBeTruthy();
    expect(lines.at(-1)!.elapsedS).toBeGreaterThanOrEqual(plannedMs / 1000 - 1);
    expect(await managedContainers(runtime, result.runId)).toEqual([]);
  }, 120_000);
});
