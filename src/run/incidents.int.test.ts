// A calm run of the reference stack has no tail episode with an invented cause (issue 13 item 4; docs/ANALYSIS.md,
// Incidents): no fault, 20 users thinking 0.3–0.7 s for 120 s on its own isolated stack (the fault runs are
// incidents-faults.int.test.ts). Judged when the machine had headroom (host CPU median < 80 %, the orchestrator's loop
// never blocked > 100 ms): on a saturated shared machine a "calm" run has real multi-second stalls (measured: p99 3.3 s
// against 96 ms at load average 15). It runs without heavy neighbours (integration-quiet, vitest.config.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contendedSecond } from '../analysis/host-contention.ts';
import { NO_CORRELATED_SIGNAL, type Incident } from '../analysis/incidents.ts';
import type { ContainerRuntime } from '../stack/runtime/port.ts';
import { readRunRecord } from '../store/run-record.ts';
import { realRuntime } from '../stack/testing/runtime.ts';
import { IncidentRuns } from './testing/incidents-fixture.ts';
import { cleanUpRuns } from './testing/stack-fixture.ts';

let runtime: ContainerRuntime;
const runs = new IncidentRuns<'calm'>();

beforeAll(async () => {
  runtime = await realRuntime();
  await runs.run({ name: 'calm', env: {} });
  console.log(runs.episodesLine('calm'));
}, 600_000);

afterAll(() => cleanUpRuns(runtime, runs.results.values()));

describe('tail episodes on the reference stack: a calm run', () => {
  it('a calm run has no explained tail incident when the machine had headroom (its stalls are reported, causes not invented)', () => {
    const series = runs.series.get('calm')!;
    const lagMs = Math.max(...series.map((p) => Number((p.sampler as { lagMs?: number } | undefined)?.lagMs ?? 0)));
    const hostCpu = series
      .map((p) => Number((p.host as { cpuUtilization?: number } | undefined)?.cpuUtilization))
      .filter(Number.isFinite)
      .sort((a, b) => a - b);
    const hostMedian = hostCpu[Math.floor(hostCpu.length / 2)] ?? NaN;
    const quiet = lagMs <= 100 && hostMedian < 0.8;
    console.log(
      `[incidents] calm: host CPU median ${(hostMedian * 100).toFixed(0)} %, largest sampling-tick lag ${lagMs.toFixed(0)} ms → ${quiet ? 'quiet: judged' : 'busy machine: not judged'}`,
    );
    // Measured: on a quiet machine 1 of 2 calm runs had no episode at all, the other one unexplained ~0.4-s stall
    // (docs/ANALYSIS.md "Incidents"); what must never happen is a cause named where nothing moved. A calm run injects
    // no fault, so no database-side cause; the app's own CPU limit can really bite (fresh-clone CI: a 278-ms p99
    // second with the app CFS-throttled in 20 % of its periods, baseline 0 %) — then the samples must show it.
    // and an episode during which work outside the run took the host (docs/ANALYSIS.md, Recovery: host contention —
    // another process's CPU or I/O; seen with a CPU-bound neighbour: host-cpu 99 % named, truly) is not judged either
    const { manifest, record } = readRunRecord(runs.results.get('calm')!.runDir);
    const contended = (i: Incident): boolean =>
      record.series.some(
        (p) => p.elapsedS >= i.atS - 1 && p.elapsedS <= (i.endS ?? i.atS) + 1 && contendedSecond(p, { hostCores: manifest.generatorCores ?? 0 }) === true,
      );
    if (quiet)
      for (const i of runs.tails('calm')) {
        if (i.cause === NO_CORRELATED_SIGNAL) continue;
        if (contended(i)) {
          console.log(`[incidents] calm: ${i.cause} named at ${i.atS} s, with outside work on the host: not judged`);
          continue;
        }
        const svc = /^cpu-throttled:(.+)$/.exec(i.cause ?? '')?.[1];
        expect(svc, `calm run: only a throttled container may be named, got ${i.message}`).toBeDefined();
        const during = series.filter((p) => p.elapsedS >= i.atS - 1 && p.elapsedS <= (i.endS ?? i.atS) + 1);
        const throttled = Math.max(
          ...during.map((p) => Number((p.containers as Record<string, { throttledRatio?: number | null }> | undefined)?.[svc!]?.throttledRatio ?? 0)),
        );
        console.log(`[incidents] calm: ${i.cause} named at ${i.atS} s; throttled ratio in the episode ${(throttled * 100).toFixed(0)} %`);
        expect(throttled).toBeGreaterThanOrEqual(0.1);
      }
    // either way every episode is a real jump: its peak p99 is above the threshold it was held to
    for (const i of runs.tails('calm')) expect(i.peakP99Ms!).toBeGreaterThan(i.thresholdP99Ms!);
  });
});
