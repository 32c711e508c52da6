// The live judge (a real worker thread) over synthetic run directories written second by second: at every point its
// verdicts are the post-mortem's over the same seconds, with known answers (docs/ANALYSIS.md, Live verdicts).
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { analyzeRun } from '../analysis/analyze.ts';
import { MIB } from '../analysis/leak.ts';
import type { RunRecord } from '../analysis/types.ts';
import { syntheticManifest, syntheticRecord } from '../report/testing/synthetic-run.ts';
import { upgradeManifest, type RunManifest } from '../store/run-record.ts';
import type { VerdictValues } from '../telemetry/otel.ts';
import { analyzeOptionsFromManifest } from './analyze-run.ts';
import { LIVE_DUTY_FACTOR, LiveJudge, verdictValues } from './live-verdicts.ts';

const root = mkdtempSync(join(tmpdir(), 'loadscope-live-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let judge: LiveJudge | undefined;
afterEach(async () => {
  await judge?.stop();
  judge = undefined;
});

const lines = (xs: readonly unknown[]): string => xs.map((x) => `${JSON.stringify(x)}\n`).join('');

/** A run directory as the writer leaves it mid-run: manifest without an end, the first `n` seconds written. */
function startRun(name: string, kind: 'steps' | 'soak', rec: RunRecord, n: number): { dir: string; manifest: RunManifest } {
  const dir = join(root, name);
  mkdirSync(dir);
  const manifest = upgradeManifest(syntheticManifest({ complete: false, kind }));
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  writeFileSync(join(dir, 'events.ndjson'), lines(rec.events));
  writeFileSync(join(dir, 'series.ndjson'), lines(rec.series.slice(0, n)));
  writeFileSync(join(dir, 'histograms.ndjson'), lines(rec.histograms.slice(0, n)));
  return { dir, manifest };
}

function appendSeconds(dir: string, rec: RunRecord, from: number, to: number): void {
  appendFileSync(join(dir, 'series.ndjson'), lines(rec.series.slice(from, to)));
  appendFileSync(join(dir, 'histograms.ndjson'), lines(rec.histograms.slice(from, to)));
}

/** The post-mortem of the first `n` seconds, as metric values (partial: the run has no end yet). */
function postMortem(rec: RunRecord, n: number, manifest: RunManifest): VerdictValues {
  const part = { startMs: rec.startMs, series: rec.series.slice(0, n), histograms: rec.histograms.slice(0, n), events: rec.events };
  return verdictValues(analyzeRun(part, analyzeOptionsFromManifest(manifest, true)), true);
}

/** Resolves with the first judgement that satisfies `ok`. */
function nextVerdicts(dir: string, ok: (v: VerdictValues) => boolean, timeoutMs = 60_000): { judge: LiveJudge; verdicts: Promise<VerdictValues> } {
  let resolve!: (v: VerdictValues) => void;
  let reject!: (e: Error) => void;
  const verdicts = new Promise<VerdictValues>((res, rej) => ((resolve = res), (reject = rej)));
  const timer = setTimeout(() => reject(new Error(`no matching live verdicts within ${timeoutMs} ms`)), timeoutMs);
  let want = ok;
  const j = LiveJudge.start(
    dir,
    (v) => {
      if (!want(v)) return;
      want = () => false;
      clearTimeout(timer);
      resolve(v);
    },
    { minIntervalMs: 20 },
  );
  return { judge: j, verdicts };
}

describe('LiveJudge (the post-mortem over the run so far, in a worker)', () => {
  it('follows a stress ladder: all SLOs pass and no break over the first 3 steps; the break at 50 users once it is written', async () => {
    const rec = syntheticRecord({ kind: 'steps', secondsPerStep: 40 });
    const { dir, manifest } = startRun('steps', 'steps', rec, 120);
    const first = nextVerdicts(dir, () => true);
    judge = first.judge;
    const early = await first.verdicts;
    expect(early).toEqual(postMortem(rec, 120, manifest));
    expect(early.partial).toBe(true);
    expect(early.slo.map((s) => s.status)).toEqual(['pass', 'pass']);
    expect(early.breakingPointUsers).toBeNull();
    await judge.stop();

    appendSeconds(dir, rec, 120, rec.series.length);
    const later = nextVerdicts(dir, (v) => v.breakingPointUsers !== null);
    judge = later.judge;
    const late = await later.verdicts;
    expect(late).toEqual(postMortem(rec, rec.series.length, manifest));
    expect(late.breakingPointUsers).toBe(50); // the fixture's latency crosses the 50 ms p95 SLO at 50 users
  });

  it("judges a leaking soak's memory as the post-mortem does (slope and the anonymous-memory cross-check)", async () => {
    const rec = syntheticRecord({ kind: 'soak' });
    const { dir, manifest } = startRun('soak', 'soak', rec, rec.series.length);
    const { judge: j, verdicts } = nextVerdicts(dir, () => true);
    judge = j;
    const v = await verdicts;
    expect(v).toEqual(postMortem(rec, rec.series.length, manifest));
    const app = v.leaks.find((l) => l.service === 'app');
    // 0.5 MiB/s of working set and anonymous memory alike: a leak, not page cache
    expect(app?.verdict).toBe('FAIL');
    const full = analyzeRun(rec, analyzeOptionsFromManifest(manifest, true)).leaks.find((l) => l.service === 'app')!;
    expect(full.ci95![0]! <= 1800 * MIB && 1800 * MIB <= full.ci95![1]!).toBe(true);
    expect(app?.slopeBytesPerHour).toBe(full.slopeBytesPerHour);
  });

  it('waits LIVE_DUTY_FACTOR times the last judgement before the next one (bounded share of a core)', async () => {
    const rec = syntheticRecord({ kind: 'steps', secondsPerStep: 5 });
    const { dir } = startRun('duty', 'steps', rec, rec.series.length);
    const times: number[] = [];
    const durationsMs: number[] = [];
    const j = LiveJudge.start(
      dir,
      () => {
        times.push(performance.now());
        durationsMs.push(j.lastDurationMs);
      },
      { minIntervalMs: 1 },
    );
    judge = j;
    while (times.length < 3) await new Promise((r) => setTimeout(r, 20));
    // between two results: the wait after the first (LIVE_DUTY_FACTOR × its duration) plus the second judgement;
    // 1 ms for the timer's millisecond granularity
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(LIVE_DUTY_FACTOR * durationsMs[1]! - 1);
    expect(j.judged).toBeGreaterThanOrEqual(3);
  });
});
