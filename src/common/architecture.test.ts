// The architecture is checked, not just described: eslint.config.js refuses these; each case lints a snippet as
// if it lived at the given path, with the project's own config.
import { ESLint } from 'eslint';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const eslint = new ESLint({ cwd: root });

async function ruleIds(code: string, filePath: string): Promise<string[]> {
  const [r] = await eslint.lintText(code, { filePath: `${root}/${filePath}` });
  return (r?.messages ?? []).map((m) => m.ruleId ?? m.message);
}

describe('architecture rules (eslint.config.js)', () => {
  it.each([
    ["import { metrics } from '@opentelemetry/api';", 'src/run/new-module.ts'],
    ["import { MeterProvider } from '@opentelemetry/sdk-metrics';", 'src/samplers/new-module.ts'],
    ["import si from 'systeminformation';", 'src/run/new-module.ts'],
    ["import Docker from 'dockerode';", 'src/run/new-module.ts'],
    ["import pg from 'pg';", 'src/analysis/new-module.ts'],
    ["import autocannon from 'autocannon';", 'src/run/new-module.ts'],
    ["import prom from 'prometheus-remote-write/prom.js';", 'src/telemetry/new-module.ts'],
    ["import snappy from 'snappyjs';", 'src/run/new-module.ts'],
    ["import protobuf from 'protobufjs';", 'src/telemetry/otel.ts'],
    ["import type { V1Job } from '@kubernetes/client-node';", 'src/load/fleet/kubernetes-manifests.ts'],
  ])('refuses %s in %s (outside its adapter)', async (code, path) => {
    expect(await ruleIds(code, path)).toContain('no-restricted-imports');
  });

  it.each([
    ["import { metrics } from '@opentelemetry/api';", 'src/telemetry/otel.ts'],
    ["import si from 'systeminformation';", 'src/samplers/host.ts'],
    ["import prom from 'prometheus-remote-write/prom.js';\nimport snappy from 'snappyjs';", 'src/telemetry/remote-write-codec.ts'],
    ["import * as k8s from '@kubernetes/client-node';", 'src/load/fleet/kubernetes-client.ts'],
  ])('allows %s in its adapter %s', async (code, path) => {
    expect(await ruleIds(code, path)).not.toContain('no-restricted-imports');
  });

  it.each([
    ['export const t = Date.now();', 'no-restricted-syntax'],
    ['export const t = new Date();', 'no-restricted-syntax'],
    ['export const cwd = process.cwd();', 'no-restricted-globals'],
    ['export const t = performance.now();', 'no-restricted-globals'],
    ["import { readFileSync } from 'node:fs';\nexport const f = readFileSync;", 'no-restricted-imports'],
    ["import { cpus } from 'node:os';\nexport const c = cpus;", 'no-restricted-imports'],
    ["import { RunWriter } from '../store/run-writer.ts';\nexport const w = RunWriter;", 'no-restricted-imports'],
  ])('analysis/ and report/ are pure: %s → %s', async (code, rule) => {
    expect(await ruleIds(code, 'src/analysis/new-module.ts')).toContain(rule);
    expect(await ruleIds(code, 'src/report/new-module.ts')).toContain(rule);
  });

  it('the run format (store/run-format.ts, pure data) is the one store module analysis/ and report/ may read', async () => {
    const code = "import type { SeriesLine } from '../store/run-format.ts';\nexport const n = (l: SeriesLine): number => l.elapsedS;\n";
    expect(await ruleIds(code, 'src/analysis/new-module.ts')).toEqual([]);
    expect(await ruleIds(code, 'src/report/new-module.ts')).toEqual([]);
    expect(await ruleIds("import { readRunRecord } from '../store/run-record.ts';\nexport const r = readRunRecord;\n", 'src/analysis/new-module.ts')).toContain(
      'no-restricted-imports',
    );
  });

  it('a pure computation with a given time (Date.parse) passes in analysis/', async () => {
    expect(await ruleIds('export const s = (iso: string): number => Date.parse(iso) / 1000;\n', 'src/analysis/new-module.ts')).toEqual([]);
  });
});
