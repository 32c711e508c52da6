import { defineConfig } from 'vitest/config';

// Four projects, run one after the other (sequence.groupOrder):
// - unit: no Docker, no stack; loopback fakes at most. Files run in parallel, three at a time on 2 cores (in-test CPU
//   is about 44 s of the files' ~100 s summed wall time: the rest is waiting on real time, which a third file uses),
//   and share each worker's module cache (isolate: false halves the import time; no unit file keeps global state:
//   restoreMocks and unstubEnvs undo spies and env). A unit test that needs more than a minute is not one. Files
//   whose cases wait on real time rather than the CPU (engine runs with think time, fleets, CLI processes) run those
//   cases side by side (describe.concurrent), each with its own server, port and results directory.
// - unit-realtime: unit files that measure the engine against the wall clock (each second's completions under the
//   target's capacity, a capacity of 400 req/s): one at a time after the others, so a neighbour file does not eat
//   their tolerance. Their coordinator is asserted exactly on fake time (engine-coordinator.test.ts); what stays here
//   is real threads and sockets against real time. Two wall-clock tests whose margins hold beside neighbours are unit:
//   the stalled-worker clock (engine-stall.test.ts: a line within 1 s of its tick, 535 ms at worst beside two
//   neighbour files on a host at load 8) and think-time pacing ±15 % (engine-flow.test.ts: 0.95–0.99 of the expected
//   rate beside two or three CPU-heavy neighbour files, 1.00 alone).
// - integration: Docker-backed (*.int.test.ts) and fault (*.fault.test.ts) files. Each brings up its own stacks on
//   free loopback ports under its own Compose project names, so two files can run side by side. They prove behaviour
//   (events, exit codes, leftovers, verdicts whose margins hold on a busy host), or capacities set by sleeps and
//   limits, not by CPU.
// - integration-alone: files whose proof needs the machine to themselves, one at a time after the others: incidents
//   (a calm run must show no tail episode — on a saturated host calm runs had real stalls, docs/ANALYSIS.md
//   Incidents) and presets (the stress preset saturates both cores with a zero-think ladder, which would be a
//   neighbour's noise). presets.int runs its five presets three at a time (maxConcurrency): any verdict is accepted
//   there, so they may be each other's noise. And soak-endurance, whose RSS bound (≤ 5 MB over 28,800 ticks) read
//   5.75 MB beside a neighbour file and 2.6–3.1 MB alone: with both cores busy, V8's concurrent sweeping lags and
//   freed pages are still resident when RSS is read. And the two fleet capacity runs (fleet.int, fleet-docker.int), whose
//   merged throughput must be the target's 200 req/s ±10 %: three workers need the cores — beside docs-examples and an
//   image build the docker run's seconds read 129–193 req/s (175.6 mean), alone 200 in every second. And recovery,
//   whose known answers are latency against a band drawn from a quiet base: beside another file, seconds of 36–285 ms
//   after the knob's 30 s (outside work 0.1–0.8 cores, no more than the base had, so not attributable to the host)
//   broke every hold that fitted and a fresh-clone CI read "not-recovered" (2 of 5 CI runs in the pool failed so).
const INTEGRATION = ['src/**/*.int.test.ts', 'src/**/*.fault.test.ts'];
const REALTIME = ['src/load/engine.test.ts', 'src/load/engine-clock.test.ts'];
const ALONE = [
  'src/run/incidents.int.test.ts',
  'src/run/recovery.int.test.ts',
  'src/run/presets.int.test.ts',
  'src/store/soak-endurance.fault.test.ts',
  'src/run/fleet.int.test.ts',
  'src/run/fleet-docker.int.test.ts',
  'src/run/fleet-external.int.test.ts',
];
const UNIT_TIMEOUTS = { testTimeout: 60_000, hookTimeout: 60_000 };
const DOCKER_TIMEOUTS = { testTimeout: 120_000, hookTimeout: 180_000 };

export default defineConfig({
  test: {
    restoreMocks: true,
    unstubEnvs: true,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts'],
          exclude: [...INTEGRATION, ...REALTIME],
          maxWorkers: 3,
          isolate: false,
          ...UNIT_TIMEOUTS,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: { name: 'unit-realtime', include: REALTIME, maxWorkers: 1, ...UNIT_TIMEOUTS, sequence: { groupOrder: 1 } },
      },
      {
        extends: true,
        test: { name: 'integration', include: INTEGRATION, exclude: ALONE, maxWorkers: 2, ...DOCKER_TIMEOUTS, sequence: { groupOrder: 2 } },
      },
      {
        extends: true,
        test: { name: 'integration-alone', include: ALONE, maxWorkers: 1, maxConcurrency: 3, ...DOCKER_TIMEOUTS, sequence: { groupOrder: 3 } },
      },
    ],
  },
});
