import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, TargetNotAllowedError } from '../common/errors.ts';
import { parseDurationMs, parsePercentRatio } from './duration.ts';
import { configJsonSchemaText, JSON_SCHEMA_PATH } from './json-schema.ts';
import { DEFAULT_CONFIG_PATH, loadConfigFile, parseConfigObject } from './load.ts';
import { DEFAULT_REMOTE_WRITE_INTERVAL_MS } from './schema.ts';
import { allowTarget, remoteWriteProblem, targetProblem } from './target.ts';

const flow = { tasks: [{ name: 'health', path: '/health' }] };
const base = { flow, scenarios: { s: { shape: { kind: 'ramp', users: 1, duration: '1s' } } } };

function issuesOf(raw: unknown, opts = {}): { path: string; message: string }[] {
  try {
    parseConfigObject(raw, 'test', opts);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).issues];
  }
  throw new Error('expected a ConfigError');
}
const paths = (raw: unknown, opts = {}): string[] => issuesOf(raw, opts).map((i) => i.path);
const SPIKE = { kind: 'spike', baseUsers: 1, spikeUsers: 2, spikeFor: '5s', every: '30s', duration: '2m' };

describe('durations and percentages', () => {
  it.each([
    ['500ms', 500],
    ['1s', 1000],
    ['0.5s', 500],
    ['1m30s', 90_000],
    ['8h', 28_800_000],
    [250, 250],
    ['250', 250],
  ])('%s → %d ms', (input, ms) => expect(parseDurationMs(input)).toBe(ms));
  it.each(['', '1x', 's', '-1s', '1 s'])('rejects %j', (input) => expect(parseDurationMs(input)).toBeUndefined());
  it('percent strings become ratios', () => {
    expect(parsePercentRatio('1%')).toBe(0.01);
    expect(parsePercentRatio('2.5%')).toBe(0.025);
    expect(parsePercentRatio(0.02)).toBe(0.02);
    expect(parsePercentRatio('200%')).toBeUndefined();
  });
});

describe('reference config', () => {
  it('parses with ms fields, ratios and defaults', () => {
    const cfg = loadConfigFile(DEFAULT_CONFIG_PATH);
    expect(Object.keys(cfg.scenarios)).toEqual(['normal', 'peak', 'stress', 'soak', 'spike']);
    expect(cfg.scenarios.normal).toMatchObject({
      shape: { kind: 'ramp', users: 100, rampUpMs: 60_000, durationMs: 300_000 },
      thinkTime: { minMs: 1000, maxMs: 3000 },
      slo: { p95Ms: 500, errorRatio: 0.01, minThroughputRps: 100 },
    });
    expect(cfg.scenarios.peak?.slo).toMatchObject({ p95Ms: 1000, errorRatio: 0.02, minThroughputRps: 500 });
    expect(cfg.scenarios.soak?.shape).toEqual({ kind: 'ramp', users: 200, rampUpMs: 600_000, durationMs: 28_800_000 });
    expect(cfg.scenarios.stress).toMatchObject({
      stopOnBreak: true,
      thinkTime: { minMs: 0, maxMs: 0 },
      shape: { users: [100, 200, 500, 1000, 2000], holdMs: 300_000 },
    });
    expect(cfg.scenarios.stress?.slo).toMatchObject({ p95Ms: 1000, errorRatio: 0.02 });
    expect(cfg.flow.tasks.map((t) => [t.name, t.weight])).toEqual([
      ['lock_proof', 3],
      ['health', 1],
      ['ledger', 2],
    ]);
    expect(cfg.requestTimeoutMs).toBe(10_000);
  });

  it('docs/config.schema.json is generated from the schema (run writeConfigJsonSchema() after changing it)', () => {
    expect(readFileSync(JSON_SCHEMA_PATH, 'utf8')).toBe(configJsonSchemaText());
  });
});

describe('schema errors carry paths', () => {
  it.each([
    ['unknown shape kind', { ...base, scenarios: { s: { shape: { kind: 'wave', users: 1 } } } }, 'scenarios.s.shape.kind'],
    ['negative users', { ...base, scenarios: { s: { shape: { kind: 'ramp', users: -5, duration: '1s' } } } }, 'scenarios.s.shape.users'],
    ['think-time min > max', { ...base, scenarios: { s: { ...base.scenarios.s, thinkTime: { min: '3s', max: '1s' } } } }, 'scenarios.s.thinkTime'],
    [
      'ramp longer than duration',
      { ...base, scenarios: { s: { shape: { kind: 'ramp', users: 1, rampUp: '2m', duration: '1m' } } } },
      'scenarios.s.shape.rampUp',
    ],
    ['spike base too short for a steady part', { ...base, scenarios: { s: { shape: { ...SPIKE, baseFor: '9s' } } } }, 'scenarios.s.shape.baseFor'],
    ['spike base as long as the run', { ...base, scenarios: { s: { shape: { ...SPIKE, baseFor: '2m' } } } }, 'scenarios.s.shape.baseFor'],
    [
      'undefined {{var}} in a task',
      { ...base, flow: { tasks: [{ name: 'x', path: '/x', headers: { Authorization: 'Bearer {{token}}' } }] } },
      'flow.tasks.0.headers.Authorization',
    ],
    ['bad builtin arguments', { ...base, flow: { tasks: [{ name: 'x', path: '/x', json: { a: { b: '{{randomInt 1}}' } } }] } }, 'flow.tasks.0.json.a.b'],
    ['all weights zero', { ...base, flow: { tasks: [{ name: 'x', path: '/x', weight: 0 }] } }, 'flow.tasks'],
    ['unknown key', { ...base, flux: 1 }, 'flux'],
    ['non-loopback target', { ...base, target: 'http://example.invalid:8000' }, 'target'],
    ['target with a path', { ...base, target: 'http://127.0.0.1:8000/api' }, 'target'],
    ['ftp target', { ...base, target: 'ftp://127.0.0.1/' }, 'target'],
  ])('%s', (_name, raw, path) => expect(paths(raw)).toContain(path));

  it('a spike base of 10 s (the shortest segment with a steady part) is accepted and kept in ms', () => {
    const cfg = parseConfigObject({ ...base, scenarios: { s: { shape: { ...SPIKE, baseFor: '10s' } } } }, 't');
    expect(cfg.scenarios.s!.shape).toMatchObject({ kind: 'spike', baseForMs: 10_000, everyMs: 30_000 });
  });

  it('a variable captured by an earlier onStart step is fine, a later one is not', () => {
    const ok = {
      ...base,
      flow: { onStart: [{ name: 'e', method: 'POST', path: '/e', capture: { token: 'enrollment_token' } }], tasks: [{ name: 'x', path: '/x/{{token}}' }] },
    };
    expect(() => parseConfigObject(ok, 't')).not.toThrow();
    const bad = {
      ...base,
      flow: {
        onStart: [
          { name: 'a', path: '/a/{{token}}' },
          { name: 'e', path: '/e', capture: { token: 't' } },
        ],
        tasks: [{ name: 'x', path: '/x' }],
      },
    };
    expect(paths(bad)).toEqual(['flow.onStart.0.path']);
  });

  it('reports every problem at once, schema and cross-field together', () => {
    const raw = {
      target: 'ftp://example.invalid/x',
      flow: { tasks: [{ name: 'x', path: '/x', headers: { Authorization: 'Bearer {{nope}}' } }] },
      scenarios: {
        a: { shape: { kind: 'wave' } },
        b: { shape: { kind: 'ramp', users: -1, duration: '1m' }, thinkTime: { min: '3s', max: '1s' } },
      },
    };
    expect(paths(raw, { scenario: 'missing' }).sort()).toEqual(
      ['--scenario', 'flow.tasks.0.headers.Authorization', 'scenarios.a.shape.kind', 'scenarios.b.shape.users', 'scenarios.b.thinkTime', 'target'].sort(),
    );
  });

  it('--target is checked instead of target and named as the flag', () => {
    expect(paths(base, { targetOverride: 'http://example.invalid:8000' })).toEqual(['--target']);
    const cfg = parseConfigObject(base, 't', { targetOverride: 'http://[::1]:9000' });
    expect(cfg.target).toBe('http://[::1]:9000');
  });
});

describe("remote-write URL allowlist (the target's host rule; a path is expected)", () => {
  it.each(['http://127.0.0.1:9090/api/v1/write', 'https://[::1]:9443/api/v1/write?tenant=a', 'http://localhost:9090/receive'])('%s is allowed', (u) =>
    expect(remoteWriteProblem(u, [])).toBeUndefined(),
  );
  it.each([
    'http://prom.example.invalid:9090/api/v1/write',
    'http://10.0.0.1:9090/api/v1/write',
    'ftp://127.0.0.1/api/v1/write',
    'http://u:p@127.0.0.1:9090/api/v1/write',
    'not a url',
  ])('%s is refused', (u) => expect(remoteWriteProblem(u, [])).toBeTypeOf('string'));
  it('allowTargets admits a host; the config key is checked with its path', () => {
    expect(remoteWriteProblem('http://prom.example.invalid:9090/api/v1/write', ['prom.example.invalid'])).toBeUndefined();
    expect(paths({ ...base, remoteWrite: { url: 'http://prom.example.invalid:9090/api/v1/write' } })).toEqual(['remoteWrite.url']);
    expect(parseConfigObject({ ...base, remoteWrite: { url: 'http://127.0.0.1:9090/api/v1/write' } }, 't').remoteWrite).toEqual({
      url: 'http://127.0.0.1:9090/api/v1/write',
      intervalMs: DEFAULT_REMOTE_WRITE_INTERVAL_MS,
    });
  });
});

describe('target allowlist', () => {
  it.each(['http://127.0.0.1:8000', 'http://127.5.6.7/', 'http://localhost:1', 'https://[::1]:8443/', 'http://LOCALHOST'])('%s is loopback', (t) =>
    expect(targetProblem(t, [])).toBeUndefined(),
  );
  it.each([
    'http://example.invalid:8000',
    'http://10.0.0.1/',
    'http://127.0.0.1.example.invalid/',
    'http://[::2]/',
    'ftp://127.0.0.1/',
    'http://127.0.0.1/x',
    'http://u:p@127.0.0.1/',
  ])('%s is refused', (t) => expect(targetProblem(t, [])).toBeTypeOf('string'));
  it('allowTargets admits a host, or host:port', () => {
    expect(targetProblem('http://load.example.invalid:8000', ['load.example.invalid'])).toBeUndefined();
    expect(targetProblem('http://load.example.invalid:8000', ['load.example.invalid:8000'])).toBeUndefined();
    expect(targetProblem('http://load.example.invalid:9000', ['load.example.invalid:8000'])).toBeTypeOf('string');
  });
  it('allowTarget throws TargetNotAllowedError with its code', () => {
    expect(() => allowTarget('http://example.invalid/', [], 'driver')).toThrow(TargetNotAllowedError);
    try {
      allowTarget('http://example.invalid/', [], 'driver');
    } catch (err) {
      expect((err as TargetNotAllowedError).code).toBe('TARGET_NOT_ALLOWED');
    }
  });
});
