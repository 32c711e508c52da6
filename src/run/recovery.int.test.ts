// Recovery on real runs of the reference stack (issue 12 item 6; docs/ANALYSIS.md "Recovery"). Three short runs, one
// after the other (latency is what is measured: three stacks at once on 2 cores would be the noise), each on its own
// isolated stack:
//   plain  — 45 s of base, one spike (100 → 300 users for 15 s), then 60 s of base; no knob → recovered, well before
//            the knob's 30 s — unless work outside the stack took the host after the spike: a fresh clone's CI builds
//            the worker image beside this file (1–1.7 cores outside, up to 45 % I/O wait on 2 cores; p95 seconds of
//            150–950 ms a quiet base never had). The analysis then has to say so (docs/ANALYSIS.md, Recovery: host
//            contention), and this test checks that outside work was really there. The base before the spike only draws the band (docs/ANALYSIS.md, Recovery): 45 s, like the
//            ladder's first level here, keeps a steady part of ≥ 22 s (MSER cuts at most half a segment), 20 3-s
//            rolling windows for its median, MAD and in-band share; the 60 s after the spike, on which the hold and
//            the verdicts are measured, are as before. (30 s was tried: its quiet 15-s sample gave a 52-ms band that
//            ordinary host noise after the spike then broke — not-recovered on a shared host.)
//   slow   — SLOW_AFTER_LOAD_S=30: the app keeps every request 1 s slower for 30 s after the spike's rate drops →
//            recovery within ±20 % of 30 s. Its base before the spike stays a whole period (75 s): the start's
//            enrolment burst passes the knob's rate too, so the app is slow for the run's first 30 s, and 45 s of base
//            left a steady part of slow seconds (fresh-clone CI: band from a 1008-ms baseline, "recovered" at 0 s).
//   ladder — steps 50 → 300 users then a 45-s recovery phase at 50 users, SLOW_AFTER_LOAD_S=15 → the recovery phase
//            is measured from its start, within ±20 % of 15 s.
// The knob counts a second as "high load" from SLOW_AFTER_LOAD_RPS requests: 160 and 120 sit well between the base's rate
// (~1 request per user and second with 0.5–1.5 s think time) and the overload's. The measure also holds the system's
// own recovery (a backlog to drain, ~1 s at 300 users, which the reference app serves without queueing) and the
// knob's whole-second rate count (up to 1 s): small beside ±20 % of 30 s and 15 s. The knob's delay is 1 s, far above
// the band even when the shared 2-core host is busy (its base p95 then reaches ~100 ms and the band ~300 ms).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Analysis } from '../analysis/analyze.ts';
import type { ContainerRuntime } from '../stack/runtime/port.ts';
import { outsideCores } from '../analysis/host-contention.ts';
import { readSeries } from '../store/read-series.ts';
import { readRunRecord } from '../store/run-record.ts';
import { realRuntime } from '../stack/testing/runtime.ts';
import { runScenario, type RunScenarioResult } from './run-scenario.ts';
import { isolatedStack, testConfig, testStackProvider, cleanUpRuns, analysisOfRun } from './testing/stack-fixture.ts';

const SPIKE_SLOW_S = 30;
const LADDER_SLOW_S = 15;
const TOLERANCE = 0.2;

interface Case {
  name: 'plain' | 'slow' | 'ladder';
  env: Record<string, string>;
  scenario: Record<string, unknown>;
}

const THINK = { min: '500ms', max: '1500ms' };
// one spike at 45 s (baseFor), then 60 s of base up to the run's end, where the next spike would start (hold = ⅓ of
// it = 20 s, so up to 40 s of recovery is observable)
const SPIKE = { shape: { kind: 'spike', baseUsers: 100, spikeUsers: 300, spikeFor: '15s', every: '75s', baseFor: '45s', duration: '120s' }, thinkTime: THINK };
/** the slow case: spike at 75 s, after the knob's 30 s of start-up slowness have long passed; 60 s observed after it */
const SPIKE_WHOLE_BASE = { ...SPIKE, shape: { kind: 'spike', baseUsers: 100, spikeUsers: 300, spikeFor: '15s', every: '75s', duration: '150s' } };
const CASES: Case[] = [
  { name: 'plain', env: {}, scenario: SPIKE },
  { name: 'slow', env: { SLOW_AFTER_LOAD_S: String(SPIKE_SLOW_S), SLOW_AFTER_LOAD_RPS: '160', SLOW_AFTER_LOAD_DELAY_MS: '1000' }, scenario: SPIKE_WHOLE_BASE },
  {
    name: 'ladder',
    env: { SLOW_AFTER_LOAD_S: String(LADDER_SLOW_S), SLOW_AFTER_LOAD_RPS: '120', SLOW_AFTER_LOAD_DELAY_MS: '1000' },
    // step 1 holds 45 s so it has a steady part to draw the band from
    scenario: { shape: { kind: 'steps', users: [50, 300], rampUp: '2s', hold: '45s', recovery: '45s' }, thinkTime: THINK },
  },
];

let runtime: ContainerRuntime;
const results = new Map<Case['name'], RunScenarioResult>();
const analysisOf = (name: Case['name']): Analysis => analysisOfRun(results, name);

beforeAll(async () => {
  runtime = await realRuntime();
  for (const c of CASES) {
    const stack = await isolatedStack(`loadscope-rec-${c.name}`, { env: c.env });
    const { config } = testConfig(stack, { scenarios: { [c.name]: c.scenario } });
    results.set(c.name, await runScenario({ scenario: c.name, config, env: stack.env, stack: testStackProvider(stack), outDir: stack.dir, metrics: null }));
  }
  // measured numbers, for the report, with the per-second p95 (display values) from the overload's end on
  for (const c of CASES) {
    const r = results.get(c.name);
    const rec = r?.analysis?.recovery[0];
    const trace =
      r && rec
        ? readSeries(r.runDir)
            .filter((p) => p.elapsedS >= rec.endS - 2 && p.elapsedS <= rec.endS + 60)
            .map((p) => `${Math.round(p.elapsedS)}:${Math.round(p.total.p95Ms)}`)
        : [];
    console.log(`[recovery] ${c.name}: verdict ${r?.analysis?.verdict}; ${JSON.stringify(r?.analysis?.recovery)}\n  p95 by second: ${trace.join(' ')}`);
  }
}, 900_000);

afterAll(() => cleanUpRuns(runtime, results.values()));

describe('recovery on the reference stack', () => {
  it('plain spike: recovered, well before the knob case would (or outside work on the host is named and was there), and the run does not FAIL', () => {
    const a = analysisOf('plain');
    expect(a.recovery).toHaveLength(1);
    const [r] = a.recovery;
    expect(r!.observedS).toBeGreaterThanOrEqual(58);
    expect(a.verdict).not.toBe('fail');
    if (!/contended for the host/.test(r!.note)) {
      expect(r!.verdict).toBe('recovered');
      expect(r!.recoveryS!).toBeLessThan(SPIKE_SLOW_S * (1 - TOLERANCE));
      return;
    }
    // the host was named: recovered (its time partly the host's) or inconclusive, never a shift or a failure — and
    // the samples show outside work (host CPU beyond the stack's containers and the generator) after the spike
    expect(['recovered', 'inconclusive']).toContain(r!.verdict);
    const { manifest, record } = readRunRecord(results.get('plain')!.runDir);
    const outside = record.series.filter((p) => p.elapsedS >= r!.endS).map((p) => outsideCores(p, manifest.generatorCores ?? 0) ?? 0);
    const iowait = record.series.filter((p) => p.elapsedS >= r!.endS).map((p) => p.host?.iowaitRatio ?? 0);
    console.log(`[recovery] plain: host named; outside cores max ${Math.max(...outside).toFixed(2)}, I/O wait max ${Math.max(...iowait).toFixed(2)}`);
    expect(Math.max(...outside) >= 0.25 * (manifest.generatorCores ?? 0) || Math.max(...iowait) >= 0.2).toBe(true);
  });

  it(`SLOW_AFTER_LOAD_S=${SPIKE_SLOW_S}: the spike's recovery time is within ±20 % of it`, () => {
    const [r] = analysisOf('slow').recovery;
    expect(r!.verdict).toBe('recovered');
    expect(Math.abs(r!.recoveryS! / SPIKE_SLOW_S - 1)).toBeLessThanOrEqual(TOLERANCE);
  });

  it(`ladder with SLOW_AFTER_LOAD_S=${LADDER_SLOW_S}: the recovery phase runs at the first step's users and gives the recovery within ±20 %`, () => {
    const a = analysisOf('ladder');
    const [r] = a.recovery;
    expect(r!.kind).toBe('ladder');
    expect(r!.observedS).toBeGreaterThanOrEqual(43);
    expect(r!.verdict).toBe('recovered');
    expect(Math.abs(r!.recoveryS! / LADDER_SLOW_S - 1)).toBeLessThanOrEqual(TOLERANCE);
  });
});
