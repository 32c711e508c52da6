// Preflight: one checked RunPlan, or every input problem at once (ConfigError, exit 2) before anything starts.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../common/errors.ts';
import { preflight, type RunRequest } from './plan.ts';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

const CONFIG = (extra: string): string =>
  `target: http://127.0.0.1:8000\nflow: { tasks: [{ name: h, path: /health }] }\nscenarios: { s: { shape: { kind: ramp, users: 2, duration: 10s } } }\n${extra}`;

function write(config: string, compose?: string): string {
  dir = mkdtempSync(join(tmpdir(), 'loadscope-plan-'));
  if (compose !== undefined) writeFileSync(join(dir, 'stack.yml'), compose);
  const path = join(dir, 'loadscope.yaml');
  writeFileSync(path, config);
  return path;
}

const request = (configPath: string, over: Partial<RunRequest> = {}): RunRequest => ({
  scenario: 's',
  configPath,
  env: {},
  metrics: null,
  hasStackProvider: true,
  ...over,
});

async function problems(r: RunRequest): Promise<string[]> {
  try {
    await preflight(r);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => i.path);
    throw err;
  }
  return [];
}

describe('preflight', () => {
  it('turns an attach-mode config into a plan: the allowed target, the parsed DSN, the scaled timeline', async () => {
    const path = write(CONFIG('sample: { postgres: "postgres://mon:secret@[::1]:5433/app", intervalMs: 500 }\n'));
    const plan = await preflight(request(path, { timeScale: 0.5, target: 'http://127.0.0.1:9000' }));
    expect(plan.mode).toBe('attach');
    expect(plan.target.origin).toBe('http://127.0.0.1:9000');
    expect(plan.postgres).toEqual({ host: '::1', port: 5433, user: 'mon', password: 'secret', database: 'app' });
    expect(plan.sampleIntervalMs).toBe(500);
    expect(plan.timeline.durationMs).toBe(5_000);
    expect(plan.servedPorts).toEqual([]);
  });

  const SEEDED = (seed: number): string =>
    `target: http://127.0.0.1:8000\nflow: { tasks: [{ name: h, path: /health }] }\nscenarios: { s: { seed: ${seed}, shape: { kind: ramp, users: 2, duration: 10s } } }\n`;

  it("the run's seed is the scenario's when it sets one", async () => {
    expect((await preflight(request(write(SEEDED(4294967295)), { target: 'http://127.0.0.1:9000' }))).seed).toBe(4294967295);
  });

  it("without one, each run's plan gets a fresh 32-bit seed", async () => {
    const path = write(CONFIG(''));
    const seeds = await Promise.all([1, 2, 3].map(async () => (await preflight(request(path, { target: 'http://127.0.0.1:9000' }))).seed));
    for (const s of seeds) expect(Number.isInteger(s) && s >= 0 && s <= 4294967295).toBe(true);
    expect(new Set(seeds).size).toBe(3);
  });

  it('an out-of-range seed is refused where it is', async () => {
    expect(await problems(request(write(SEEDED(-1)), { target: 'http://127.0.0.1:9000' }))).toEqual(['scenarios.s.seed']);
  });

  it('stack mode: finds the Compose file beside the config, lists its services and the loopback ports the stack serves', async () => {
    const path = write(
      CONFIG('stack: { compose: stack.yml }\nsample: { containers: [app], postgres: "postgres://m@127.0.0.1:5439/db" }\n'),
      'services:\n  app:\n    image: nginx\n    network_mode: host\n',
    );
    const plan = await preflight(request(path));
    expect(plan.mode).toBe('stack');
    expect(plan.composePath).toBe(join(dir!, 'stack.yml'));
    expect(plan.services).toEqual(['app']);
    expect(plan.servedPorts.map((p) => `${p.host}:${p.port}`)).toEqual(['127.0.0.1:8000', '127.0.0.1:5439']);
  });

  it('reports every problem at once: flags, config, DSN, Compose services', async () => {
    const path = write(
      CONFIG('stack: { compose: stack.yml }\nsample: { containers: [app, nosuch], postgres: "postgres://u@db.invalid:5432/db" }\n'),
      'services:\n  app:\n    image: nginx\n    network_mode: host\n',
    );
    const paths = await problems(request(path, { timeScale: 0, metrics: { host: '127.0.0.1', port: 70_000, scrapeIntervalMs: 1000 } }));
    expect(paths.sort()).toEqual(['--metrics-port', '--time-scale', 'sample.containers.1', 'sample.postgres'].sort());
  });

  it('a config that does not parse still reports the flags too', async () => {
    const path = write('target: [oops\n');
    const paths = await problems(request(path, { timeScale: -1 }));
    expect(paths).toContain('--time-scale');
    expect(paths.length).toBeGreaterThan(1);
  });

  it('refuses a non-loopback --target (exit 2 through ConfigError) and an unknown scenario', async () => {
    const path = write(CONFIG(''));
    expect(await problems(request(path, { target: 'http://example.invalid:8000' }))).toContain('--target');
    expect((await problems(request(path, { scenario: 'nope' }))).length).toBeGreaterThan(0);
  });
});
