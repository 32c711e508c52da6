// Safety and secrets: the metrics endpoint listens on loopback unless told otherwise (and honours --metrics-host),
// passwords given through the environment never reach a file loadscope writes nor its own stdout/stderr, and the
// Compose reader never hands a value to a shell ($(…) and backticks stay literal text).
// Container logs (<run>/logs/) are the system under test's own output and are out of scope (docs/RELIABILITY.md).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCompose } from '../stack/compose/load.ts';
import type { ContainerRuntime } from '../stack/runtime/port.ts';
import { freePort, realRuntime } from '../stack/testing/runtime.ts';
import { CLI, isolatedStack, managedContainers, readEvents, REPO_ROOT, removeTempDirs, testConfig, waitFor, writeConfigFile } from './testing/stack-fixture.ts';

const PG_SECRET = 'S3cr3t-xyz';
const MONITOR_SECRET = 'M0n1t0r-xyz';
const rand = randomBytes(4).toString('hex');
const marker = `/tmp/loadscope-pwned-${rand}`;
const tmp = mkdtempSync(join(tmpdir(), 'loadscope-safety-'));
let runtime: ContainerRuntime | undefined;
const runIds = new Set<string>();

beforeAll(async () => {
  runtime = await realRuntime();
});
afterAll(async () => {
  for (const id of runIds)
    for (const c of (await runtime?.list({ 'loadscope.managed': 'true', 'loadscope.run': id })) ?? []) await runtime!.remove(c.id).catch(() => undefined);
  removeTempDirs();
  rmSync(tmp, { recursive: true, force: true });
  rmSync(marker, { force: true });
});

/** Local addresses (hex, /proc/net/tcp format) in LISTEN state on `port`. */
function listeners(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const out: string[] = [];
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(f)) continue;
    for (const line of readFileSync(f, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      const [addr, p] = (cols[1] ?? '').split(':');
      if (p === hexPort && cols[3] === '0A') out.push(addr!);
    }
  }
  return out;
}

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  runDir: string | undefined;
  /** listening addresses of the metrics port, seen while the run was going */
  metricsListen: string[];
}

/** `loadscope run` as a child process; polls the metrics port's listening address while it runs. */
async function runCli(args: string[], env: Record<string, string>, out: string, metricsPort: number): Promise<CliRun> {
  const child = spawn(process.execPath, [CLI, 'run', ...args, '--out', out, '--metrics-port', String(metricsPort), '--json'], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let done = false;
  void exited.then(() => (done = true));
  const seen = new Set<string>();
  const hardStop = setTimeout(() => child.kill('SIGKILL'), 150_000);
  while (!done) {
    for (const a of listeners(metricsPort)) seen.add(a);
    await new Promise((r) => setTimeout(r, 100));
  }
  clearTimeout(hardStop);
  const code = await exited;
  const dirs = existsSync(out) ? readdirSync(out).filter((d) => d !== 'latest' && !d.startsWith('.')) : [];
  return { code, stdout, stderr, runDir: dirs[0] !== undefined ? join(out, dirs[0]) : undefined, metricsListen: [...seen] };
}

/** Every file under dir (recursive), except the `logs/` folder at its top. */
function filesOf(dir: string, root = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return relative(root, p) === 'logs' ? [] : filesOf(p, root);
    return [p];
  });
}

describe('the metrics endpoint', () => {
  let server: Server;
  let targetPort: number;
  beforeAll(async () => {
    server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}'));
    targetPort = await freePort();
    await new Promise<void>((resolve) => server.listen(targetPort, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const attachRun = async (extra: string[]): Promise<CliRun> => {
    const dir = mkdtempSync(join(tmp, 'metrics-'));
    const config = join(dir, 'loadscope.yaml');
    writeFileSync(
      config,
      JSON.stringify({
        target: `http://127.0.0.1:${targetPort}`,
        flow: { tasks: [{ name: 'health', method: 'GET', path: '/health' }] },
        scenarios: { m: { shape: { kind: 'ramp', users: 2, duration: '3s' }, thinkTime: { min: '100ms', max: '200ms' } } },
      }),
    );
    const port = await freePort();
    const r = await runCli(['m', '-c', config, '--target', `http://127.0.0.1:${targetPort}`, ...extra], {}, join(dir, 'results'), port);
    expect([0, 1], r.stderr).toContain(r.code);
    return r;
  };

  it('binds 127.0.0.1 by default (/proc/net/tcp local address 0100007F)', async () => {
    const r = await attachRun([]);
    expect(r.metricsListen).toEqual(['0100007F']);
  }, 60_000);

  it('--metrics-host is honoured (127.0.0.2 → 0200007F)', async () => {
    const r = await attachRun(['--metrics-host', '127.0.0.2']);
    expect(r.metricsListen).toEqual(['0200007F']);
  }, 60_000);
});

describe('passwords are redacted (real stack)', () => {
  it('LOADSCOPE_PG_PASSWORD / LOADSCOPE_MONITOR_PASSWORD appear in no file loadscope wrote, nor its stdout/stderr', async () => {
    const stack = await isolatedStack('loadscope-secrets', { env: { LOADSCOPE_PG_PASSWORD: PG_SECRET, LOADSCOPE_MONITOR_PASSWORD: MONITOR_SECRET } });
    const { raw } = testConfig(stack, { scenarios: { sec: { shape: { kind: 'ramp', users: 3, duration: '4s' }, thinkTime: { min: '200ms', max: '400ms' } } } });
    // the config's DSN takes the password from the environment, like compose/loadscope.yaml
    (raw.sample as Record<string, unknown>).postgres = `postgres://loadscope_monitor:\${LOADSCOPE_MONITOR_PASSWORD}@127.0.0.1:${stack.pgPort}/archiveorigin`;
    const config = writeConfigFile(stack, raw);
    const r = await runCli(['sec', '-c', config], stack.env, join(stack.dir, 'results'), await freePort());
    expect([0, 1], r.stderr).toContain(r.code);
    expect(r.runDir).toBeDefined();
    const runDir = r.runDir!;
    runIds.add(basename(runDir));
    // the monitor password was really used: Postgres was sampled with it
    const series = readFileSync(join(runDir, 'series.ndjson'), 'utf8');
    expect(series).toMatch(/"postgres":\{/);
    expect(readEvents(runDir).some((e) => e.kind === 'stack-up')).toBe(true);
    const files = filesOf(runDir);
    for (const want of [
      'manifest.json',
      'series.ndjson',
      'events.ndjson',
      'histograms.ndjson',
      'analysis.json',
      'summary.json',
      'sec_stats.csv',
      'sec_stats_history.csv',
      'sec_failures.csv',
    ]) {
      expect(
        files.map((f) => relative(runDir, f)),
        want,
      ).toContain(want);
    }
    expect(files.some((f) => /report\.(md|html)$/.test(f))).toBe(true);
    const leaks: string[] = [];
    for (const f of files) {
      const text = readFileSync(f, 'latin1');
      for (const s of [PG_SECRET, MONITOR_SECRET]) if (text.includes(s)) leaks.push(`${relative(runDir, f)} contains ${s}`);
    }
    for (const [name, text] of [
      ['stdout', r.stdout],
      ['stderr', r.stderr],
    ] as const)
      for (const s of [PG_SECRET, MONITOR_SECRET]) if (text.includes(s)) leaks.push(`${name} contains ${s}`);
    console.log(`secrets scan: ${files.length} files (${files.map((f) => relative(runDir, f)).join(', ')}) + stdout/stderr; leaks: ${leaks.length}`);
    expect(leaks).toEqual([]);
    // the manifest still shows where the DSN pointed, with the password masked
    expect(readFileSync(join(runDir, 'manifest.json'), 'utf8')).toContain('loadscope_monitor:***@127.0.0.1');
    expect(await managedContainers(runtime!, basename(runDir))).toEqual([]);
  }, 180_000);
});

describe('the Compose reader never runs a shell', () => {
  const compose = (env: string, command: string): string =>
    [
      'services:',
      '  app:',
      '    image: loadscope/none:test',
      '    environment:',
      `      PWN: "${env}"`,
      `      VIA_VAR: "\${HOSTILE}"`,
      `    command: '${command}'`,
      '',
    ].join('\n');

  it('$(…) and backticks stay literal; a raw $( is refused like Compose does; the marker file never appears', () => {
    const sub = `$$(touch ${marker})`;
    const tick = `\`touch ${marker}\``;
    const project = parseCompose(compose(`${sub} ${tick}`, `sh -c "echo $$(touch ${marker}) ${tick}"`), 'hostile.yml', {
      HOSTILE: `$(touch ${marker}) ${tick}`,
    });
    const app = project.services.find((s) => s.name === 'app')!;
    expect(app.environment.PWN).toBe(`$(touch ${marker}) \`touch ${marker}\``);
    // a value coming from the environment is not expanded again
    expect(app.environment.VIA_VAR).toBe(`$(touch ${marker}) \`touch ${marker}\``);
    expect(app.command).toEqual(['sh', '-c', `echo $(touch ${marker}) \`touch ${marker}\``]);
    // `$(` without `$$` is not an interpolation: an error, never an evaluation
    expect(() => parseCompose(compose(`$(touch ${marker})`, 'true'), 'hostile.yml', {})).toThrow(
      /services\.app\.environment\.PWN: invalid interpolation format/,
    );
    expect(existsSync(marker)).toBe(false);
  });

  it('no file appears on the host after a poll (nothing ran asynchronously either)', async () => {
    await waitFor('a quiet moment', () => true, 1000);
    await new Promise((r) => setTimeout(r, 300));
    expect(existsSync(marker)).toBe(false);
  });
});
