// The orchestrator itself is stopped (real stack, CLI child process): kill -9 during ramp, hold and teardown leaves
// orphans that `loadscope down --run-id` or the next run's reaper remove, a series cut at most at the last second,
// and a partial run that `loadscope analyze` reports as incomplete. SIGTERM / SIGINT stop the load within 2 s, tear
// the stack down, write the report and exit 130.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readSeries } from '../store/read-series.ts';
import type { ContainerRuntime } from '../stack/runtime/port.ts';
import { freePort, realRuntime } from '../stack/testing/runtime.ts';
import { CLI, isolatedStack, managedContainers, readEvents, REPO_ROOT, removeTempDirs, testConfig, waitFor, writeConfigFile } from './testing/stack-fixture.ts';

let runtime: ContainerRuntime;
const runIds = new Set<string>();
const children: ChildProcess[] = [];
/** Figures for docs/RELIABILITY.md, printed at the end. */
const figures: Record<string, number> = {};
let heldOrphan: string | undefined;

beforeAll(async () => {
  runtime = await realRuntime();
});
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
afterAll(async () => {
  removeTempDirs();
  for (const id of runIds)
    for (const c of await runtime.list({ 'loadscope.managed': 'true', 'loadscope.run': id })) await runtime.remove(c.id).catch(() => undefined);
  console.log(`orchestrator stop figures: ${JSON.stringify(figures)}`);
});

interface Started {
  child: ChildProcess;
  runId: string;
  runDir: string;
  exited: Promise<number | null>;
  stderr: () => string;
  lines: () => number;
}

async function startRun(prefix: string, shape: Record<string, unknown>): Promise<Started> {
  const stack = await isolatedStack(prefix);
  const { raw } = testConfig(stack, { scenarios: { sig: { shape, thinkTime: { min: '200ms', max: '500ms' } } } });
  const configPath = writeConfigFile(stack, raw);
  const out = join(stack.dir, 'results');
  const child = spawn(process.execPath, [CLI, 'run', 'sig', '-c', configPath, '--out', out, '--metrics-port', String(await freePort())], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...stack.env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const latest = join(out, 'latest');
  const runId = await waitFor('the run directory', () => (existsSync(latest) ? basename(realpathSync(latest)) : undefined), 30_000);
  runIds.add(runId);
  const runDir = join(out, runId);
  const seriesFile = join(runDir, 'series.ndjson');
  const lines = (): number =>
    existsSync(seriesFile)
      ? readFileSync(seriesFile, 'utf8')
          .split('\n')
          .filter((l) => l.trim()).length
      : 0;
  return { child, runId, runDir, exited, stderr: () => stderr, lines };
}

const waitLines = (r: Started, n: number): Promise<true> =>
  waitFor(
    `${n} series lines`,
    () => (r.child.exitCode !== null ? Promise.reject(new Error(`exited early:\n${r.stderr()}`)) : r.lines() >= n ? true : undefined),
    90_000,
    50,
  );

function cli(args: string[]): Promise<{ code: number | null; out: string }> {
  const p = spawn(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (b: Buffer) => (out += b.toString()));
  p.stderr.on('data', (b: Buffer) => (out += b.toString()));
  return new Promise((resolve) => p.once('exit', (code) => resolve({ code, out })));
}

/** kill -9, then: at most the last second lost, and `loadscope analyze` marks the partial run incomplete. */
/**
 * Kills the run, checks its record and analysis; returns how many of its containers were left the moment it died.
 * Counted at once: any neighbour file's stack start reaps orphans of dead runs (a pool CI saw 0 left two seconds later,
 * after `analyze`).
 */
async function killAndCheck(r: Started, label: string, checkSeries: boolean, expectIncomplete = true): Promise<number> {
  const killAt = Date.now();
  r.child.kill('SIGKILL');
  await r.exited;
  const left = (await managedContainers(runtime, r.runId)).length;
  if (checkSeries) {
    const last = readSeries(r.runDir).at(-1)!;
    figures[`${label}: ms between last series line and kill`] = killAt - last.tMs;
    expect(killAt - last.tMs, 'series loses at most the last second').toBeLessThanOrEqual(2000);
  }
  const a = await cli(['analyze', r.runDir]);
  expect([0, 1], a.out).toContain(a.code);
  expect(JSON.parse(readFileSync(join(r.runDir, 'analysis.json'), 'utf8')).incomplete).toBe(expectIncomplete);
  if (expectIncomplete) expect(readFileSync(join(r.runDir, 'report.md'), 'utf8')).toMatch(/INCOMPLETE RUN/);
  return left;
}

async function downRun(runId: string): Promise<void> {
  const d = await cli(['down', '--run-id', runId]);
  expect(d.code, d.out).toBe(0);
  expect(await managedContainers(runtime, runId)).toEqual([]);
}

describe('kill -9 of `loadscope run`', () => {
  it('during ramp-up: `loadscope down --run-id` removes the orphans; analyze → incomplete', async () => {
    const r = await startRun('loadscope-kill-ramp', { kind: 'ramp', users: 40, rampUp: '60s', duration: '90s' });
    await waitLines(r, 3);
    expect(readSeries(r.runDir).at(-1)!.phase).toBe('ramp-up');
    expect(await killAndCheck(r, 'ramp', true)).toBe(2);
    await downRun(r.runId);
  });

  it("during hold: left for the next run's reaper (checked by the SIGTERM case); analyze → incomplete", async () => {
    const r = await startRun('loadscope-kill-hold', { kind: 'ramp', users: 5, duration: '90s' });
    await waitLines(r, 4);
    expect(readSeries(r.runDir).at(-1)!.phase).toBe('hold');
    expect(await killAndCheck(r, 'hold', true)).toBe(2);
    heldOrphan = r.runId;
  });

  it('during teardown: `loadscope down --run-id` removes what is left; analyze writes the missing report', async () => {
    const r = await startRun('loadscope-kill-teardown', { kind: 'ramp', users: 3, duration: '4s' });
    // summary.json is written right before the observer stops and the stack goes down
    await waitFor('the end of the load (summary.json)', () => (existsSync(join(r.runDir, 'summary.json')) ? true : undefined), 90_000, 10);
    expect((await managedContainers(runtime, r.runId)).length, 'killed before teardown removed everything').toBeGreaterThan(0);
    // the load had completed and its record was closed (summary, endedAt) before teardown: the record is complete,
    // only report.md was never written — `analyze` writes it, not marked incomplete
    expect(existsSync(join(r.runDir, 'report.md'))).toBe(false);
    await killAndCheck(r, 'teardown', false, false);
    await downRun(r.runId);
  });
});

describe('SIGTERM / SIGINT of `loadscope run`', () => {
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    it(`${sig}: load stops within 2 s, teardown completes, report written, exit 130`, async () => {
      const r = await startRun(`loadscope-${sig.toLowerCase()}`, { kind: 'ramp', users: 10, duration: '90s' });
      await waitLines(r, 4);
      if (sig === 'SIGTERM' && heldOrphan) {
        // nobody ran `down` for the run killed during hold: a later run's stack start (the teardown case's, or this
        // one's) reaped its orphans
        expect(await managedContainers(runtime, heldOrphan)).toEqual([]);
      }
      const signalAt = Date.now();
      r.child.kill(sig);
      const code = await r.exited;
      const exitAt = Date.now();
      expect(code, r.stderr()).toBe(130);
      const stop = readEvents(r.runDir).find((e) => e.kind === 'stop');
      expect(stop, 'stop event').toBeDefined();
      const lastLine = readSeries(r.runDir).at(-1)!;
      figures[`${sig}: ms signal → stop event`] = stop!.tMs - signalAt;
      figures[`${sig}: ms signal → last series line`] = lastLine.tMs - signalAt;
      figures[`${sig}: ms signal → exit`] = exitAt - signalAt;
      expect(stop!.tMs - signalAt).toBeLessThanOrEqual(2000);
      expect(lastLine.tMs - signalAt).toBeLessThanOrEqual(2000);
      // events.ndjson stays open through teardown: its end is recorded, after the stop, with no warning
      const events = readEvents(r.runDir);
      const done = events.find((e) => e.kind === 'stack-teardown-done');
      expect(done, `stack-teardown-done event in ${events.map((e) => e.kind).join(', ')}`).toBeDefined();
      expect(done!.tMs).toBeGreaterThanOrEqual(stop!.tMs);
      expect(done!.message, 'teardown problems').toBeUndefined();
      expect(await managedContainers(runtime, r.runId)).toEqual([]);
      expect(existsSync(join(r.runDir, 'report.md'))).toBe(true);
      expect(JSON.parse(readFileSync(join(r.runDir, 'manifest.json'), 'utf8')).stoppedBy).toBe('signal');
    });
  }
});
