// Shared by the two incident files on the reference stack (docs/ANALYSIS.md, Incidents): the fault runs
// (incidents-faults.int.test.ts, in the integration pool) and the calm run (incidents.int.test.ts, alone). Each run is
// 20 users thinking 0.3–0.7 s (~40 req/s) for 120 s on its own isolated stack (own ports, own containers).
import { join } from 'node:path';
import type { Analysis } from '../../analysis/analyze.ts';
import type { Incident } from '../../analysis/incidents.ts';
import { createPgQueryClient, type PgQueryClient } from '../../samplers/pg-client.ts';
import { readNdjson, readSeries, type SeriesLine } from '../../store/read-series.ts';
import { parsePostgresDsn } from '../dsn.ts';
import { runScenario, type RunScenarioResult } from '../run-scenario.ts';
import { isolatedStack, sleep, testConfig, testStackProvider, waitFor, type IsolatedStack } from './stack-fixture.ts';

export const INCIDENT_SCENARIO = {
  shape: { kind: 'ramp', users: 20, rampUp: '5s', duration: '120s' },
  thinkTime: { min: '300ms', max: '700ms' },
  slo: { p95: '2s', errorRate: '5%' },
};

export interface IncidentCase<N extends string> {
  name: N;
  env: Record<string, string>;
  /** the test's own part while the run goes on (a lock, a checkpoint); resolves when done */
  act?: (stack: IsolatedStack) => Promise<void>;
}

/** The runs of one file: results, series and the tail episodes of each. */
export class IncidentRuns<N extends string> {
  readonly results = new Map<N, RunScenarioResult>();
  readonly series = new Map<N, SeriesLine[]>();

  /** One case on its own stack; APP_IMAGE_UNDER_TEST picks an app image that has the knobs when the shared one is older. */
  async run(c: IncidentCase<N>): Promise<void> {
    const appImage = process.env.APP_IMAGE_UNDER_TEST;
    const stack = await isolatedStack(`loadscope-inc-${c.name}`, { env: c.env, ...(appImage ? { appImage } : {}) });
    const { config } = testConfig(stack, { scenarios: { [c.name]: INCIDENT_SCENARIO } });
    const run = runScenario({ scenario: c.name, config, env: stack.env, stack: testStackProvider(stack), outDir: stack.dir, metrics: null });
    const [r] = await Promise.all([run, c.act ? c.act(stack) : Promise.resolve()]);
    this.results.set(c.name, r);
    this.series.set(c.name, readSeries(r.runDir));
  }

  analysis(name: N): Analysis {
    const a = this.results.get(name)?.analysis;
    if (!a) throw new Error(`${name}: no analysis`);
    return a;
  }

  tails(name: N): Incident[] {
    return this.analysis(name).incidents.filter((i) => i.kind === 'latency-tail' || i.kind === 'error-burst');
  }

  /** The fault's episode: of those overlapping [fromS, toS], the one with the highest p99 (client stalls nearby are smaller). */
  overlapping(name: N, fromS: number, toS: number): Incident | undefined {
    return this.tails(name)
      .filter((i) => (i.endS ?? i.atS) >= fromS && i.atS <= toS)
      .sort((a, b) => (b.peakP99Ms ?? 0) - (a.peakP99Ms ?? 0))[0];
  }

  /** The measured episodes of a case, printed after the runs (CI keeps the output's tail). */
  episodesLine(name: N, actedAtS?: number): string {
    const a = this.results.get(name)?.analysis;
    const episodes = a
      ? this.tails(name).map((i) => ({
          at: i.atS,
          end: i.endS,
          kind: i.kind,
          p99: i.peakP99Ms,
          base: i.baselineP99Ms,
          thr: i.thresholdP99Ms,
          evidence: i.evidence?.map((e) => `${e.signal} ${e.score}: ${e.message}`),
        }))
      : [];
    return `[incidents] ${name}: verdict ${a?.verdict}, acted at ${actedAtS ?? '-'} s; ${JSON.stringify(episodes)}`;
  }
}

/** The run's newest elapsed second, from its series file (the run directory is outDir/latest). */
export function elapsedNow(stack: IsolatedStack): number | undefined {
  const lines = readNdjson<{ elapsedS: number }>(join(stack.dir, 'latest', 'series.ndjson'));
  return lines.length ? lines[lines.length - 1]!.elapsedS : undefined;
}

export const untilElapsed = (stack: IsolatedStack, s: number): Promise<number> =>
  waitFor(
    `elapsed ${s} s`,
    () => {
      const e = elapsedNow(stack);
      return e !== undefined && e >= s ? e : undefined;
    },
    400_000,
    100,
  );

/** The test's own database session (the project's pg adapter), as the stack's superuser. */
export const dbSession = (stack: IsolatedStack): PgQueryClient =>
  createPgQueryClient(parsePostgresDsn(`postgres://loadscope:loadscope@127.0.0.1:${stack.pgPort}/archiveorigin`), {
    applicationName: 'incidents-test',
    max: 1,
    statementTimeoutMs: 0,
    idleTimeoutMs: 0,
  });

/** Opens the session's one connection early (retrying: connecting has a 2-s timeout and the machine may be busy); it then stays open. */
export async function warm(db: PgQueryClient): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await db.query('SELECT 1');
      return;
    } catch (err) {
      if (i >= 10) throw err;
      await sleep(500);
    }
  }
}
