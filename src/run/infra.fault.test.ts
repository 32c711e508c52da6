// Infrastructure faults through the CLI binary: each gives a clear message, exit 3, and leaves nothing running
// (no container of the run, no process, no listening port, no mount).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import type { ContainerRuntime } from '../stack/runtime/port.ts';
import { freePort, realRuntime } from '../stack/testing/runtime.ts';
import { CLI, isolatedStack, managedContainers, REPO_ROOT, removeTempDirs, testConfig, writeConfigFile, type IsolatedStack } from './testing/stack-fixture.ts';

let runtime: ContainerRuntime;
const mounts: string[] = [];
/** A tmpfs mounted at dir (created), unmounted after the file. */
function tmpfsAt(dir: string, options: string): string {
  mkdirSync(dir);
  execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]);
  mounts.push(dir);
  return dir;
}
const runIdsOf = (out: string): string[] => (existsSync(out) ? readdirSync(out).filter((f) => f !== 'latest' && !f.startsWith('.')) : []);

beforeAll(async () => {
  runtime = await realRuntime();
});

afterAll(async () => {
  for (const m of mounts) execFileSync('umount', ['-l', m]);
  removeTempDirs();
});

function runCli(args: string[], env: Record<string, string | undefined>, timeoutMs = 150_000): Promise<{ code: number | null; stderr: string; ms: number }> {
  const started = Date.now();
  const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, ms: Date.now() - started });
    }),
  );
}

async function setup(
  prefix: string,
  scenario = { shape: { kind: 'ramp', users: 2, duration: '3s' }, thinkTime: { min: '200ms', max: '400ms' } },
): Promise<{ stack: IsolatedStack; configPath: string; out: string; raw: Record<string, unknown> }> {
  const stack = await isolatedStack(prefix);
  const { raw } = testConfig(stack, { scenarios: { infra: scenario } });
  return { stack, configPath: writeConfigFile(stack, raw), out: join(stack.dir, 'results'), raw };
}

async function expectNothingLeft(out: string): Promise<void> {
  for (const id of runIdsOf(out)) expect(await managedContainers(runtime, id), `containers of ${id}`).toEqual([]);
}

function listen(port: number): Promise<Server> {
  const srv = createServer((s) => s.destroy());
  return new Promise((resolve, reject) => srv.once('error', reject).listen(port, '127.0.0.1', () => resolve(srv)));
}
const close = (s: Server): Promise<void> => new Promise((r) => s.close(() => r()));

describe('infrastructure faults → clear message, exit 3, nothing left running', () => {
  it('engine not reachable (DOCKER_HOST set): no attempt to start an engine of its own', async () => {
    const { stack, configPath, out } = await setup('loadscope-infra-engine');
    const r = await runCli(['run', 'infra', '-c', configPath, '--out', out, '--no-metrics'], { ...stack.env, DOCKER_HOST: 'unix:///nonexistent.sock' });
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/ENGINE_UNAVAILABLE.*DOCKER_HOST=unix:\/\/\/nonexistent\.sock does not answer/);
    expect(r.stderr).not.toMatch(/starting dockerd|apt-get/);
    expect(r.ms, 'fails fast instead of waiting for an engine to come up').toBeLessThan(20_000);
    await expectNothingLeft(out);
  });

  it('image missing (Compose copy referencing loadscope/none:missing)', async () => {
    const { stack, configPath, out } = await setup('loadscope-infra-image');
    const compose = parseYaml(readFileSync(stack.composePath, 'utf8')) as { services: Record<string, Record<string, unknown>> };
    compose.services.app!.image = 'loadscope/none:missing';
    writeFileSync(stack.composePath, toYaml(compose));
    const r = await runCli(['run', 'infra', '-c', configPath, '--out', out, '--no-metrics'], stack.env);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/image loadscope\/none:missing not found/);
    await expectNothingLeft(out);
  });

  for (const which of ['app', 'postgres', 'metrics'] as const) {
    it(`port already taken: ${which}`, async () => {
      const { stack, configPath, out } = await setup(`loadscope-infra-port-${which}`);
      const metricsPort = await freePort();
      const taken = which === 'app' ? stack.appPort : which === 'postgres' ? stack.pgPort : metricsPort;
      const blocker = await listen(taken);
      try {
        const r = await runCli(['run', 'infra', '-c', configPath, '--out', out, '--metrics-port', String(metricsPort)], stack.env);
        expect(r.code, r.stderr).toBe(3);
        expect(r.stderr).toMatch(new RegExp(`PORT_IN_USE.*port ${taken} on 127\\.0\\.0\\.1 is already in use`));
        if (which === 'metrics') expect(runIdsOf(out), 'refused before the run directory').toEqual([]);
        await expectNothingLeft(out);
      } finally {
        await close(blocker);
      }
    });
  }

  it('results folder not writable (a path under a regular file)', async () => {
    const { stack, configPath } = await setup('loadscope-infra-unwritable');
    const file = join(stack.dir, 'a-file');
    writeFileSync(file, 'x');
    const r = await runCli(['run', 'infra', '-c', configPath, '--out', join(file, 'results'), '--no-metrics'], stack.env);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/RUN_DIR_UNWRITABLE.*cannot write run directory/);
  });

  it('results folder on a read-only mount', async () => {
    const { stack, configPath } = await setup('loadscope-infra-ro');
    const ro = tmpfsAt(join(stack.dir, 'ro'), 'size=1m,ro');
    const r = await runCli(['run', 'infra', '-c', configPath, '--out', ro, '--no-metrics'], stack.env);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/RUN_DIR_UNWRITABLE.*cannot write run directory/);
  });

  it('disk full while writing (64 KiB tmpfs): exit 3, clear message, stack torn down', async () => {
    const { stack, configPath } = await setup('loadscope-infra-full', {
      shape: { kind: 'ramp', users: 5, duration: '20s' },
      thinkTime: { min: '20ms', max: '50ms' },
    });
    const small = tmpfsAt(join(stack.dir, 'small'), 'size=64k');
    const r = await runCli(['run', 'infra', '-c', configPath, '--out', small, '--no-metrics'], stack.env);
    expect(r.code, r.stderr).toBe(3);
    expect(
      r.stderr,
      r.stderr
        .split('\n')
        .filter((l) => !/^ *[0-9]+s /.test(l))
        .join('\n'),
    ).toMatch(/(RUN_DIR_UNWRITABLE|cannot write).*(no space left on device|ENOSPC)/i);
    expect(r.ms, 'stops at the failure, not at the planned end').toBeLessThan(90_000);
    await expectNothingLeft(small);
  });
});
