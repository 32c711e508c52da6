import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AnalysisSchema } from '../analysis/contract.ts';
import { main } from '../cli/main.ts';
import { syntheticManifest, syntheticRunFiles, type SyntheticRunOptions } from '../report/testing/synthetic-run.ts';
import { readRunRecord, upgradeManifest } from '../store/run-record.ts';
import { analyzeOptionsFromManifest, analyzeRunDir } from './analyze-run.ts';

let root: string;
const dirs: Record<string, string> = {};

function writeRun(name: string, o: SyntheticRunOptions & { killed?: boolean }): string {
  const dir = join(root, name);
  mkdirSync(dir);
  for (const [f, text] of Object.entries(syntheticRunFiles(o))) writeFileSync(join(dir, f), text);
  return dir;
}

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  const code = await main(args);
  vi.restoreAllMocks();
  return { code, out, err };
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'loadscope-analyze-'));
  dirs.stress = writeRun('stress', { kind: 'steps' });
  dirs.soak = writeRun('soak', { kind: 'soak' });
  dirs.killed = writeRun('killed', { kind: 'steps', killed: true });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('analyzeOptionsFromManifest', () => {
  it('derives shape, think time, SLOs and generator cores from the resolved config', () => {
    const o = analyzeOptionsFromManifest(upgradeManifest(syntheticManifest({ complete: true })), false);
    const { feasibility, ...scenario } = o.scenario;
    expect(scenario).toEqual({
      name: 'stress',
      shape: 'steps',
      thinkTimeMeanMs: 1000,
      thinkTimeMinMs: 500,
      thinkTimeMaxMs: 1500,
      slo: { p95Ms: 50, errorRatio: 0.01 },
    });
    // the feasibility input is the scenario's own: users of the top step, mean think, SLO limits
    expect(feasibility).toMatchObject({ model: 'closed', thinkTimeMeanMs: 1000, slo: { p95Ms: 50 } });
    expect(o.generatorCores).toBe(8);
    const rate = analyzeOptionsFromManifest(
      { formatVersion: 2, scenario: 'cr', scenarioConfig: { shape: { kind: 'constant-rate', rateRps: 200 }, thinkTime: { minMs: 0, maxMs: 0 } } },
      true,
      { generatorCores: 2 },
    );
    expect(rate.scenario.offeredRpsByPhase).toEqual({ 'constant-rate': 200 });
    expect(rate.generatorCores).toBe(2);
    expect(rate.incomplete).toBe(true);
  });
});

describe('analyzeRunDir', () => {
  it('writes analysis.json (contract-valid), report.html, report.md and junit.xml into the run dir', () => {
    const r = analyzeRunDir(dirs.stress!, { generatedAt: new Date('2024-01-01T00:00:00Z') });
    expect(r.analysis.verdict).toBe('pass');
    expect(r.analysis.incomplete).toBe(false);
    expect(r.analysis.capacity.breakingPoint?.users).toBe(50);
    expect(AnalysisSchema.safeParse(JSON.parse(readFileSync(join(dirs.stress!, 'analysis.json'), 'utf8'))).success).toBe(true);
    const html = readFileSync(r.files.html!, 'utf8');
    expect(html).toContain('uPlot v'); // the library is inlined
    expect(html).not.toMatch(/https?:\/\/(?!127\.0\.0\.1:8000)/);
    expect(readFileSync(r.files.markdown!, 'utf8')).toContain('## Capacity');
    expect(readFileSync(r.files.junit!, 'utf8')).toContain('<testsuites');
  });

  it('fails a leaking soak run', () => {
    const r = analyzeRunDir(dirs.soak!, { write: false });
    expect(r.analysis.verdict).toBe('fail');
    expect(r.analysis.leaks.find((l) => l.service === 'app')?.verdict).toBe('FAIL');
    expect(r.files).toEqual({});
  });

  it('reads a killed run (torn last line, no summary, no endedAt) and marks the report incomplete', () => {
    const run = readRunRecord(dirs.killed!);
    expect(run.incomplete).toBe(true);
    expect(run.incompleteReasons).toEqual(
      expect.arrayContaining(['the last second was cut off mid-write (torn line)', 'summary.json is missing', 'the manifest has no end time']),
    );
    expect(run.record.series).toHaveLength(479); // the torn 480th second is dropped
    const r = analyzeRunDir(dirs.killed!);
    expect(r.analysis.incomplete).toBe(true);
    expect(r.analysis.verdict).toBe('inconclusive');
    expect(readFileSync(r.files.html!, 'utf8')).toContain('INCOMPLETE RUN');
    expect(readFileSync(r.files.markdown!, 'utf8')).toContain('INCOMPLETE RUN');
    expect(readFileSync(r.files.junit!, 'utf8')).toContain('name="incomplete" value="true"');
  });

  it('drops sampler error sections instead of treating them as containers', () => {
    const dir = writeRun('sampler-error', { kind: 'steps', secondsPerStep: 5 });
    const lines = readFileSync(join(dir, 'series.ndjson'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    lines[0]!.containers = { error: 'docker stats stalled' };
    lines[0]!.postgres = { error: 'connection refused' };
    writeFileSync(join(dir, 'series.ndjson'), lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
    const run = readRunRecord(dir);
    expect(run.record.series[0]!.containers).toBeUndefined();
    expect(run.record.series[0]!.postgres).toBeNull();
    expect(Object.keys(run.record.series[1]!.containers!)).toEqual(['app', 'postgres']);
  });
});

describe('loadscope analyze / compare exit codes', () => {
  it('pass → 0, fail → 1, inconclusive → 0 (1 with --strict), bad path → 2', async () => {
    expect((await cli(['analyze', dirs.stress!])).code).toBe(0);
    const fail = await cli(['analyze', dirs.soak!]);
    expect(fail.code).toBe(1);
    expect(fail.out).toContain('verdict: FAIL');
    const inc = await cli(['analyze', dirs.killed!]);
    expect(inc.code).toBe(0);
    expect(inc.err).toContain('verdict inconclusive');
    expect((await cli(['analyze', dirs.killed!, '--strict'])).code).toBe(1);
    const bad = await cli(['analyze', join(root, 'does-not-exist')]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('not a directory');
    expect((await cli(['analyze', root])).code).toBe(2); // a directory, but not a run
  });

  it('--json prints the analysis; --help shows examples', async () => {
    const r = await cli(['analyze', dirs.stress!, '--json']);
    expect(JSON.parse(r.out).verdict).toBe('pass');
    const help = await cli(['analyze', '--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('Examples:');
    expect((await cli(['compare', '--help'])).out).toContain('loadscope compare');
  });

  it('compare prints a delta table, exits 1 when the verdict got worse, --json parses, bad path → 2', async () => {
    const same = await cli(['compare', dirs.stress!, dirs.stress!]);
    expect(same.code).toBe(0);
    expect(same.out).toMatch(/lock_proof .* UNCHANGED/);
    expect(same.out).toContain('verdict: unchanged');
    const worse = await cli(['compare', dirs.stress!, dirs.soak!, '--json']);
    expect(worse.code).toBe(1);
    expect(JSON.parse(worse.out).verdictChange).toEqual({ base: 'pass', run: 'fail' });
    expect((await cli(['compare', dirs.stress!, join(root, 'nope')])).code).toBe(2);
    expect((await cli(['compare', dirs.stress!, dirs.stress!, '--alpha', 'x'])).code).toBe(2);
  });
});
