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
//            recovery within ±20 % of 30 s. SLOW_AFTER_LOAD_ARM_S=15: the start's enrolment burst passes the knob's
//            rate too, and without the arming the app was slow for the run's first 30 s, which left a 45-s base with a
//            steady part of slow seconds (fresh-clone CI: band from a 1008-ms baseline, "recovered" at 0 s) and cost
//            this case a whole 75-s period of base; armed, it runs the plain case's 45 s.
//   ladder — steps 50 → 300 users then a 45-s recovery phase at 50 users, SLOW_AFTER_LOAD_S=15 → the recovery phase
//            is measured from its start, within ±20 % of 15 s.
// The knob counts a second as "high load" from SLOW_AFTER_LOAD_RPS requests: 160 and 120 sit well between the base's rate
// (~1 request per user and second with 0.5–1.5 s think time) and the overload's. The measure also holds the system's
// own recovery (a backlog to drain, ~1 s at 300 users, which the reference app serves without queueing) and the
// knob's whole-second rate count (up to 1 s): small beside ±20 % of 30 s and 15 s. The knob's delay is 1 s, far above
// the band even when the shared 2-core host is busy (its base p95 then reaches ~100 ms and the band ~300 ms).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Analysis, RecoveryReport } from '../analysis/analyze.ts';
import type { ContainerRuntime } from '../stack/runtime/port.ts';
import { outsideCores } from '../analysis/host-contention.ts';
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
/** the knob counts from 15 s after load began: the enrolment burst is over, the spike at 45 s is far ahead */
const ARM_S = '15';
const CASES: Case[] = [
  { name: 'plain', env: {}, scenario: SPIKE },
  {
    name: 'slow',
    env: { SLOW_AFTER_LOAD_S: String(SPIKE_SLOW_S), SLOW_AFTER_LOAD_RPS: '160', SLOW_AFTER_LOAD_DELAY_MS: '1000', SLOW_AFTER_LOAD_ARM_S: ARM_S },
    scenario: SPIKE,
  },
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
  for (const c of CASES) console.log(detail(c.name));
}, 900_000);

/**
 * The measured numbers of a case: its recovery report and, from the overload's end on, each second's completions, p95
 * (display value) and cores of outside work on the host. Printed after the runs, and put in the failure messages
 * too: CI keeps only its output's tail.
 */
function detail(name: Case['name']): string {
  const r = results.get(name);
  const rec = r?.analysis?.recovery[0];
  let trace: string[] = [];
  if (r && rec) {
    const { manifest, record } = readRunRecord(r.runDir);
    trace = record.series
      .filter((p) => p.elapsedS >= rec.endS - 2 && p.elapsedS <= rec.endS + 60)
      .map(
        (p) => `${Math.round(p.elapsedS)}:${p.total.count}/${Math.round(p.total.p95Ms)}/${(outsideCores(p, manifest.generatorCores ?? 0) ?? NaN).toFixed(1)}`,
      );
  }
  return `[recovery] ${name}: verdict ${r?.analysis?.verdict}; ${JSON.stringify(r?.analysis?.recovery)}\n  second:requests/p95 ms/outside cores: ${trace.join(' ')}`;
}

afterAll(() => cleanUpRuns(runtime, results.values()));

/**
 * Whether the analysis named outside work on the host for this recovery (docs/ANALYSIS.md, Recovery: host
 * contention); when it did, the samples must show it after the overload: host CPU beyond the stack's containers and
 * the generator, or I/O wait, at the analysis' thresholds. The verdict is then recovered (its time partly the host's)
 * or inconclusive — never a shift or a failure.
 */
function hostNamed(name: Case['name'], r: RecoveryReport): boolean {
  if (!/contended for the host/.test(r.note)) return false;
  expect(['recovered', 'inconclusive'], detail(name)).toContain(r.verdict);
  const { manifest, record } = readRunRecord(results.get(name)!.runDir);
  const after = record.series.filter((p) => p.elapsedS >= r.endS);
  const outside = Math.max(...after.map((p) => outsideCores(p, manifest.generatorCores ?? 0) ?? 0));
  const iowait = Math.max(...after.map((p) => p.host?.iowaitRatio ?? 0));
  console.log(`[recovery] ${name}: host named; outside cores max ${outside.toFixed(2)}, I/O wait max ${iowait.toFixed(2)}`);
  expect(outside >= 0.25 * (manifest.generatorCores ?? 0) || iowait >= 0.2).toBe(true);
  return true;
}

describe('recovery on the reference stack', () => {
  it('plain spike: recovered, well before the knob case would (or outside work on the host is named and was there), and the run does not FAIL', () => {
    const a = analysisOf('plain');
    expect(a.recovery).toHaveLength(1);
    const [r] = a.recovery;
    expect(r!.observedS).toBeGreaterThanOrEqual(58);
    expect(a.verdict).not.toBe('fail');
    if (hostNamed('plain', r!)) return;
    expect(r!.verdict, detail('plain')).toBe('recovered');
    expect(r!.recoveryS!, detail('plain')).toBeLessThan(SPIKE_SLOW_S * (1 - TOLERANCE));
  });

  // the knob keeps every request 1 s slower, far above any band: with the host named the recovery can only be later
  it(`SLOW_AFTER_LOAD_S=${SPIKE_SLOW_S}: the spike's recovery time is within ±20 % of it (never before it when the host is named)`, () => {
    const [r] = analysisOf('slow').recovery;
    if (hostNamed('slow', r!)) {
      if (r!.recoveryS !== null) expect(r!.recoveryS).toBeGreaterThanOrEqual(SPIKE_SLOW_S * (1 - TOLERANCE));
      return;
    }
    expect(r!.verdict, detail('slow')).toBe('recovered');
    expect(Math.abs(r!.recoveryS! / SPIKE_SLOW_S - 1), detail('slow')).toBeLessThanOrEqual(TOLERANCE);
  });

  it(`ladder with SLOW_AFTER_LOAD_S=${LADDER_SLOW_S}: the recovery phase runs at the first step's users and gives the recovery within ±20 % (never before it when the host is named)`, () => {
    const a = analysisOf('ladder');
    const [r] = a.recovery;
    expect(r!.kind).toBe('ladder');
    expect(r!.observedS).toBeGreaterThanOrEqual(43);
    if (hostNamed('ladder', r!)) {
      if (r!.recoveryS !== null) expect(r!.recoveryS).toBeGreaterThanOrEqual(LADDER_SLOW_S * (1 - TOLERANCE));
      return;
    }
    expect(r!.verdict, detail('ladder')).toBe('recovered');
    expect(Math.abs(r!.recoveryS! / LADDER_SLOW_S - 1), detail('ladder')).toBeLessThanOrEqual(TOLERANCE);
  });
});
