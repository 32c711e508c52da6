import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';

// Six projects, run one after the other (sequence.groupOrder):
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
// - integration: Docker-backed (*.int.test.ts) and fault (*.fault.test.ts) files, three at a time. Each brings up its
//   own stacks on free loopback ports under its own Compose project names, so files can run side by side. They prove
//   behaviour (events, exit codes, leftovers, verdicts whose margins hold on a busy host), or capacities set by sleeps
//   and limits, not by CPU. Most of their time is waiting on real time: three at a time kept the host 70 % busy (30 %
//   idle on average, both cores busy in 286 of 604 s) and every known answer in its margin (leak slope 8,375 against
//   8,335 MiB/h, the pool's break at 30 users, the incident faults' causes); the group took 605 s against ~750 s two at
//   a time. The longest files start first (LONGEST_FIRST): a fresh clone has no timing cache, and by file size the
//   2.5-min capacity ladder started last and ran on alone. Three at a time, `loadscope down` met a neighbour run's
//   orphan reaper removing the same container (the runtime now waits for that removal, stack.int).
// - integration-noisy: files that load the host heavily on purpose and whose assertions hold whatever it does to them,
//   three at a time after the pool: docs-examples (the README's `run stress`, a zero-think ladder to 500 users, and its
//   other runs at once; it asserts exit codes and JSON keys) and presets (any verdict accepted; five presets three at
//   a time, maxConcurrency). In the pool they were the noise of whatever started beside them: the capacity ladder read maxima of 22.8 req/s and none against its 100 beside
//   docs-examples; the postmortem pool run (POOL_MAX=2) found no bottleneck at all on the project's CI — rerun beside
//   docs-examples and sut.fault, its host CPU read 100 % for the whole run, 7 of its 80 seconds completed nothing and
//   the Little's-law check called both it and the no-knob run invalid. Ordering the pool around them was timing, not
//   a rule. incidents-faults and sut.fault are not of them: beside them incidents-faults' orchestrator loop stalled
//   2.4 s and the lock's episode came 7 s after the lock, and sut.fault's hung-app run returned 43.8 s after its load
//   began (its hard deadline: planned 10 s + 25 s); they stay in the pool.
// - integration-quiet: two files whose proofs need a machine without CPU-heavy neighbours and which are light
//   themselves, two at a time: the calm incidents run (it must show no tail episode — on a saturated host calm runs
//   had real stalls, docs/ANALYSIS.md Incidents; 20 users thinking, host CPU median 8 % alone) and the capacity
//   ladder (its in-process target's 100 req/s against a breaking point at 200 users; its process used 13 s of CPU in
//   150 s). Side by side: calm host CPU median 10 %, sampling lag 2 ms, judged with no episode; ladders 99.9 and 99.7
//   req/s, breaking point 200, knee 120 — as alone, in 152 s instead of 276. In the pool the ladder read 97–98 req/s
//   in most CIs but 16.9 and 25 beside incidents-faults, 52 on a slower afternoon beside postmortem and signals, each
//   with a clean validity (in attach mode outside work cannot be told from the target).
// - integration-alone: files whose proof needs the machine to themselves, one at a time after the others:
//   soak-endurance, whose RSS bound (≤ 5 MB over 28,800 ticks) read 5.75 MB beside a neighbour file and 2.6–3.1 MB alone: with both cores busy, V8's concurrent sweeping lags and
//   freed pages are still resident when RSS is read. And the two fleet capacity runs (fleet.int, fleet-docker.int), whose
//   merged throughput must be the target's 200 req/s ±10 %: three workers need the cores — beside docs-examples and an
//   image build the docker run's seconds read 129–193 req/s (175.6 mean), alone 200 in every second; their lost-worker cases,
//   which assert events and leftovers, are fleet-lost.int, in the pool. And recovery,
//   whose known answers are latency against a band drawn from a quiet base: beside another file, seconds of 36–285 ms
//   after the knob's 30 s (outside work 0.1–0.8 cores, no more than the base had, so not attributable to the host)
//   broke every hold that fitted and a fresh-clone CI read "not-recovered" (2 of 5 CI runs in the pool failed so).
const INTEGRATION = ['src/**/*.int.test.ts', 'src/**/*.fault.test.ts'];
const NOISY = ['src/cli/docs-examples.int.test.ts', 'src/run/presets.int.test.ts'];
const REALTIME = ['src/load/engine.test.ts', 'src/load/engine-clock.test.ts'];
const QUIET = [
  'src/run/incidents.int.test.ts', // the calm run; the fault runs are incidents-faults.int.test.ts, in the pool
  'src/run/capacity-ladder.int.test.ts',
];
const ALONE = [
  'src/run/recovery.int.test.ts',
  'src/store/soak-endurance.fault.test.ts',
  'src/run/fleet.int.test.ts',
  'src/run/fleet-docker.int.test.ts',
  'src/run/fleet-external.int.test.ts',
];
/** Integration files of minutes, started first so that they end with the others (the noisy group: docs-examples first). */
const LONGEST_FIRST = [
  'src/cli/docs-examples.int.test.ts',
  'src/run/postmortem.int.test.ts',
  'src/run/sut.fault.test.ts',
  'src/run/signals.fault.test.ts',
  'src/run/crash.int.test.ts',
  'src/run/incidents-faults.int.test.ts',
  'src/run/safety.fault.test.ts',
];

/** Vitest's order (groups, then timing cache or size), with the known long files moved to the front of their project. */
class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification): number => {
      const i = LONGEST_FIRST.findIndex((name) => f.moduleId.endsWith(name));
      return i < 0 ? LONGEST_FIRST.length : i;
    };
    const order = new Map(sorted.map((f, i) => [f, i]));
    return sorted.sort((a, b) => {
      const group = a.project.config.sequence.groupOrder - b.project.config.sequence.groupOrder;
      if (group !== 0 || a.project.name !== b.project.name) return order.get(a)! - order.get(b)!;
      return rank(a) - rank(b) || order.get(a)! - order.get(b)!;
    });
  }
}

const UNIT_TIMEOUTS = { testTimeout: 60_000, hookTimeout: 60_000 };
const DOCKER_TIMEOUTS = { testTimeout: 120_000, hookTimeout: 180_000 };

export default defineConfig({
  test: {
    restoreMocks: true,
    unstubEnvs: true,
    reporters: ['default'],
    sequence: { sequencer: LongestFirst },
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
        test: {
          name: 'integration',
          include: INTEGRATION,
          exclude: [...NOISY, ...QUIET, ...ALONE],
          maxWorkers: 3,
          ...DOCKER_TIMEOUTS,
          sequence: { groupOrder: 2 },
        },
      },
      {
        extends: true,
        test: { name: 'integration-noisy', include: NOISY, maxWorkers: 3, maxConcurrency: 3, ...DOCKER_TIMEOUTS, sequence: { groupOrder: 3 } },
      },
      {
        extends: true,
        test: { name: 'integration-quiet', include: QUIET, maxWorkers: 2, ...DOCKER_TIMEOUTS, sequence: { groupOrder: 4 } },
      },
      {
        extends: true,
        test: { name: 'integration-alone', include: ALONE, maxWorkers: 1, ...DOCKER_TIMEOUTS, sequence: { groupOrder: 5 } },
      },
    ],
  },
});
