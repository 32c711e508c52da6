import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../cli/main.ts';
import { ExitCode, exitCodeFor } from '../cli/exit-codes.ts';
import { ALL_ENDPOINTS, HistogramIndex } from '../analysis/histograms.ts';
import { createLatencyHistogram, recordLatencyUs } from '../load/histogram.ts';
import { zeroErrors } from '../load/recorder.ts';
import type { EndpointSecond, SecondSample } from '../load/engine.ts';
import { FORMAT_VERSION, runManifestSchema, seriesLineSchema } from './run-format.ts';
import { readRunRecord, RunFormatError } from './run-record.ts';
import { RunWriter } from './run-writer.ts';

const V1_RUN = fileURLToPath(new URL('./testdata/run-v1-steps/', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'loadscope-run-record-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const START_MS = 1_800_000_000_000;

function second(elapsedS: number, phase: string, users: number): SecondSample {
  const hist = createLatencyHistogram();
  for (let i = 0; i < 10; i++) recordLatencyUs(hist, 5_000 + i * 100);
  const e: EndpointSecond = { method: 'GET', count: 10, errors: zeroErrors(), bytes: 100, hist };
  return {
    startMs: START_MS,
    tMs: START_MS + elapsedS * 1000,
    elapsedS,
    phase,
    activeUsers: users,
    endpoints: new Map([['health', e]]),
    failures: {},
    droppedLate: 0,
    cpuCores: 0.1,
    final: false,
  };
}

/** A run written by RunWriter in the current format: three seconds of a two-step ladder. */
function writeRun(name: string): string {
  const w = new RunWriter(root, name, 'steps');
  w.writeManifest({
    runId: name,
    scenario: 'steps',
    scenarioConfig: { shape: { kind: 'steps' } },
    phaseLevels: [{ phase: 'step-1:2', users: 2 }],
    poolMax: 5,
    endedAt: null,
  });
  for (const [s, phase, users] of [
    [1, 'step-1:2', 2],
    [2, 'step-1:2', 2],
    [3, 'step-2:4', 4],
  ] as const)
    w.writeSecond(second(s, phase, users));
  w.writeManifest({
    runId: name,
    scenario: 'steps',
    scenarioConfig: { shape: { kind: 'steps' } },
    phaseLevels: [{ phase: 'step-1:2', users: 2 }],
    poolMax: 5,
    endedAt: new Date(START_MS + 3000).toISOString(),
    stoppedBy: 'completed',
  });
  w.close();
  return w.runDir;
}

describe('run format (store/run-format.ts)', () => {
  it('the writer records formatVersion and the load start; every line it writes matches its schema', () => {
    const dir = writeRun('v2');
    const manifest = runManifestSchema.parse(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')));
    expect(manifest).toMatchObject({ formatVersion: FORMAT_VERSION, startMs: START_MS, poolMax: 5 });
    const lines = readFileSync(join(dir, 'series.ndjson'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(3);
    for (const l of lines) expect(seriesLineSchema.safeParse(JSON.parse(l)).success).toBe(true);
    const run = readRunRecord(dir);
    expect(run.record.startMs).toBe(START_MS);
    expect(run.manifest.phaseLevels).toEqual([{ phase: 'step-1:2', users: 2 }]);
    expect(run.incomplete).toBe(false);
    // format 3: each histogram payload is HdrHistogram's V2 encoding uncompressed (its cookie), read back in full
    const payload = Buffer.from(run.record.histograms[0]!.endpoints.health!, 'base64');
    expect(payload.readInt32BE(0) & ~0xf0).toBe(0x1c849303);
    expect(new HistogramIndex(run.record.histograms).stats(ALL_ENDPOINTS, { fromS: 1, toS: 3 })).toMatchObject({ count: 30, p50Ms: 5.403, maxMs: 5.903 });
  });

  it('a torn last line is dropped and marks the run incomplete', () => {
    const dir = writeRun('torn');
    appendFileSync(join(dir, 'series.ndjson'), '{"t":"2027-01-15T08:00:04.000Z","tMs":18000000040');
    const run = readRunRecord(dir);
    expect(run.record.series.map((p) => p.elapsedS)).toEqual([1, 2, 3]);
    expect(run.incompleteReasons).toContain('the last second was cut off mid-write (torn line)');
  });

  it('reads a version 1 run (no formatVersion): start time, pool size and step levels come from the old encoding', () => {
    const run = readRunRecord(V1_RUN);
    expect(run.manifest.formatVersion).toBeUndefined();
    const first = run.record.series[0]!;
    expect(run.record.startMs).toBe(first.tMs - first.elapsedS * 1000);
    expect(run.manifest.phaseLevels).toEqual([
      { phase: 'step-1:2', users: 2 },
      { phase: 'step-2:4', users: 4 },
      { phase: 'step-3:6', users: 6 },
      { phase: 'step-4:8', users: 8 },
    ]);
    expect(run.manifest.scenarioConfig?.shape?.kind).toBe('steps');
  });

  it('refuses a newer format version: RUN_FORMAT_UNSUPPORTED, exit 2, naming the found and the supported versions', async () => {
    const dir = join(root, 'v99');
    cpSync(V1_RUN, dir, { recursive: true });
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...m, formatVersion: 99 }));
    let err: unknown;
    try {
      readRunRecord(dir);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RunFormatError);
    expect((err as Error).message).toMatch(/run format version 99 is not supported; this loadscope reads versions 1, 2, 3 \(current 3\)/);
    expect(exitCodeFor(err)).toBe(ExitCode.Usage);

    const stderr: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((s) => (stderr.push(String(s)), true));
    try {
      expect(await main(['analyze', dir])).toBe(2);
    } finally {
      spy.mockRestore();
    }
    expect(stderr.join('')).toContain('[RUN_FORMAT_UNSUPPORTED]');
    expect(stderr.join('')).toContain('version 99');
  });
});
