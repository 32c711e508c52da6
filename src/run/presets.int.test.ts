// Every preset of compose/loadscope.yaml, time-scaled, against its own copy of the reference stack (free loopback
// ports, no /metrics endpoint): each run ends with its verdicts (analysis present, analysis.json and report.html in the
// run directory), the stress ladder either reports a breaking point or says that none was reached, and no container
// is left behind. The presets themselves are checked against the plan's numbers first (no Docker needed for that).
//
// Short runs: the analysis trims ≥ 30 s of warm-up per phase, so most presets come out INCONCLUSIVE here; that is
// a verdict too. What each preset got is printed at the end.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadConfigFile } from '../config/load.ts';
import type { ContainerRuntime } from '../stack/runtime/port.ts';
import { realRuntime } from '../stack/testing/runtime.ts';
import { formatSummary } from './format-summary.ts';
import { runScenario, type RunScenarioResult } from './run-scenario.ts';
import { REPO_ROOT, isolatedStack, managedContainers, removeTempDirs, testConfig, testStackProvider } from './testing/stack-fixture.ts';

const REFERENCE = join(REPO_ROOT, 'compose', 'loadscope.yaml');
const presets = (parseYaml(readFileSync(REFERENCE, 'utf8')) as { scenarios: Record<string, unknown> }).scenarios;

/** Time scale per preset: the whole file stays within a few minutes on 2 cores. */
const TIME_SCALE: Record<string, number> = {
  normal: 0.05, //   5 min   → 15 s
  peak: 0.03, //    10 min   → 18 s
  stress: 0.01, //  30 min   → 18 s at most (stopOnBreak may end it sooner), then 60 s of recovery (never scaled below)
  soak: 0.0012, //   8 h     → 34.6 s
  spike: 0.03, //   10 min   → 18 s, spikes of 3.6 s every 5.4 s
};

const s = (n: number): number => n * 1000;
const m = (n: number): number => n * 60_000;

describe('the reference presets match LOAD-TESTING-PLAN.md', () => {
  const cfg = loadConfigFile(REFERENCE);
  const sc = cfg.scenarios;

  it('has exactly the five scenarios, each with a time scale here', () => {
    expect(Object.keys(sc).sort()).toEqual(['normal', 'peak', 'soak', 'spike', 'stress']);
    expect(Object.keys(TIME_SCALE).sort()).toEqual(Object.keys(sc).sort());
  });

  it('normal: 100 users, 1 min ramp, 5 min, think 1–3 s; p95 < 500 ms, errors < 1 %, > 100 req/s', () => {
    expect(sc.normal!.shape).toEqual({ kind: 'ramp', users: 100, rampUpMs: m(1), durationMs: m(5) });
    expect(sc.normal!.thinkTime).toEqual({ minMs: s(1), maxMs: s(3) });
    expect(sc.normal!.slo).toEqual({ p95Ms: 500, p99Ms: undefined, errorRatio: 0.01, minThroughputRps: 100 });
  });

  it('peak: 500 users, 2 min ramp, 10 min, think 0.5–1 s; p95 < 1 s, errors < 2 %, > 500 req/s', () => {
    expect(sc.peak!.shape).toEqual({ kind: 'ramp', users: 500, rampUpMs: m(2), durationMs: m(10) });
    expect(sc.peak!.thinkTime).toEqual({ minMs: 500, maxMs: s(1) });
    expect(sc.peak!.slo).toEqual({ p95Ms: 1000, p99Ms: undefined, errorRatio: 0.02, minThroughputRps: 500 });
  });

  it('stress: 100, 200, 500, 1000, 2000 users, 1 min ramp and 5 min per level, minimal think, stop on break at the peak limits (p95 < 1 s, errors < 2 %)', () => {
    expect(sc.stress!.shape).toEqual({ kind: 'steps', users: [100, 200, 500, 1000, 2000], rampUpMs: m(1), holdMs: m(5), recoveryMs: m(1) });
    expect(sc.stress!.thinkTime).toEqual({ minMs: 0, maxMs: 0 });
    expect(sc.stress!.stopOnBreak).toBe(true);
    expect(sc.stress!.slo).toEqual({ p95Ms: 1000, p99Ms: undefined, errorRatio: 0.02, minThroughputRps: undefined });
  });

  it('soak: 200 users, 10 min ramp, 8 h, think 1–3 s', () => {
    expect(sc.soak!.shape).toEqual({ kind: 'ramp', users: 200, rampUpMs: m(10), durationMs: 8 * 3_600_000 });
    expect(sc.soak!.thinkTime).toEqual({ minMs: s(1), maxMs: s(3) });
  });

  it('spike: base 100, 500 for 2 min every 3 min, 10 min, think 0.5–1.5 s', () => {
    expect(sc.spike!.shape).toEqual({ kind: 'spike', baseUsers: 100, spikeUsers: 500, spikeForMs: m(2), everyMs: m(3), durationMs: m(10) });
    expect(sc.spike!.thinkTime).toEqual({ minMs: 500, maxMs: 1500 });
  });
});

// The presets run at the same time (maxConcurrency of the integration-noisy project, vitest.config.ts), each on its
// own stack: what is proven is that each ends with its verdicts, whatever they are, not what they are.
describe.concurrent('every preset runs time-scaled on the reference stack and ends with its verdicts', () => {
  let runtime: ContainerRuntime;
  const observed: { preset: string; verdict: string; stoppedBy: string; seconds: number; requests: number; note: string }[] = [];

  beforeAll(async () => {
    runtime = await realRuntime();
  });

  afterAll(() => {
    removeTempDirs();
    // the verdict each preset got, for the record (short runs are mostly INCONCLUSIVE: warm-up trimming)
    console.log(
      `preset verdicts:\n${observed.map((o) => `  ${o.preset.padEnd(7)} ${o.verdict.padEnd(12)} ${o.stoppedBy.padEnd(9)} ${o.seconds.toFixed(1)} s, ${o.requests} requests${o.note ? `; ${o.note}` : ''}`).join('\n')}`,
    );
  });

  for (const preset of Object.keys(TIME_SCALE)) {
    it(
      preset,
      async () => {
        const stack = await isolatedStack(`loadscope-preset-${preset}`);
        const { config } = testConfig(stack, { scenarios: { [preset]: presets[preset] } });
        let result: RunScenarioResult | undefined;
        try {
          result = await runScenario({
            scenario: preset,
            config,
            stack: testStackProvider(stack),
            outDir: stack.dir,
            metrics: null,
            timeScale: TIME_SCALE[preset],
          });
        } finally {
          if (result) expect(await managedContainers(runtime, result.runId)).toEqual([]);
        }
        const a = result.analysis;
        expect(a, 'analysis present').toBeDefined();
        expect(['pass', 'fail', 'invalid', 'inconclusive']).toContain(a!.verdict);
        expect(['completed', 'break']).toContain(result.stoppedBy);
        expect(existsSync(join(result.runDir, 'analysis.json'))).toBe(true);
        expect(result.reportPath).toBe(join(result.runDir, 'report.html'));
        expect(existsSync(result.reportPath!)).toBe(true);
        // a run without a single request cannot judge anything: it must say so (seen with the 2000-user zero-think ladder on a saturated 2-core host)
        if (result.summary.total.count === 0) expect(a!.verdict).toBe('invalid');
        const summaryText = formatSummary(result);
        expect(summaryText).toContain(`verdict: ${a!.verdict.toUpperCase()}`);
        let note = '';
        if (preset === 'stress') {
          // the stress test is for finding the breaking point: it is either reported or stated as not reached
          const html = readFileSync(result.reportPath!, 'utf8');
          const junit = readFileSync(join(result.runDir, 'junit.xml'), 'utf8');
          const bp = a!.capacity.breakingPoint;
          if (bp) {
            expect(bp.users).toBeGreaterThan(0);
            expect(summaryText).toContain(`breaking point: ${bp.users} users`);
            expect(junit).toContain(`breaking point at`);
            note = `breaking point ${bp.users} users at ${bp.throughputRps.toFixed(0)} req/s (${bp.reason})`;
          } else {
            expect(result.stoppedBy).toBe('completed');
            expect(html).toContain('none reached');
            expect(junit).toContain('none reached');
            note = 'no breaking point: the report says "none reached"';
          }
        }
        if (a!.verdictReasons.length) note = [note, `why: ${a!.verdictReasons.join('; ')}`].filter(Boolean).join('; ');
        observed.push({
          preset,
          verdict: a!.verdict.toUpperCase(),
          stoppedBy: result.stoppedBy,
          seconds: result.summary.durationS,
          requests: result.summary.total.count,
          note,
        });
      },
      180_000,
    );
  }
});
