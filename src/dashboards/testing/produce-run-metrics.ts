// Data source for the dashboards acceptance test: a real time-scaled run on the reference stack, with the
// exporter on `port`. The scenario is built so that every panel has something true to show: a two-step
// ladder where a one-connection pool with a slow ledger query breaks the second step (breaking point +
// pool waits) and an SLO that fails (annotation). The live leak slope needs minutes of constant load: none here.
import type { RemoteWriteConfig } from '../../config/schema.ts';
import { runScenario } from '../../run/run-scenario.ts';
import { isolatedStack, testConfig, testStackProvider } from '../../run/testing/stack-fixture.ts';

export interface ProducedRun {
  runId: string;
  scenario: string;
  startS: number;
  endS: number;
  runDir: string;
}

const SCENARIO = 'dashboards';

/** `port` null: no /metrics endpoint (e.g. the metrics only reach Prometheus by `remoteWrite`). */
export async function produceRunMetrics(port: number | null, outDir: string, o: { remoteWrite?: RemoteWriteConfig } = {}): Promise<ProducedRun> {
  const stack = await isolatedStack('loadscope-dash', { env: { POOL_MIN: '1', POOL_MAX: '1', SLOW_QUERY_MS: '150' } });
  const { config } = testConfig(stack, {
    scenarios: {
      [SCENARIO]: {
        shape: { kind: 'steps', users: [3, 40], rampUp: '1s', hold: '35s', recovery: 0 },
        thinkTime: { min: '50ms', max: '150ms' },
        // 3 users on one pooled connection with a 150 ms query stay under ~0.5 s (at most 3 queue); 40 users queue
        // for seconds: the ladder breaks on step 2.
        // The 404 task (1 in 7) keeps the error panels honest without tripping the 30 % error rule.
        slo: { p95: '1500ms', errorRate: '30%', minThroughput: 100000 },
        stopOnBreak: true,
      },
    },
    extraTasks: [{ name: 'missing', weight: 1, method: 'GET', path: '/no-such-endpoint' }],
  });
  const startS = Date.now() / 1000;
  const result = await runScenario({
    scenario: SCENARIO,
    config: o.remoteWrite ? { ...config, remoteWrite: o.remoteWrite } : config,
    outDir,
    stack: testStackProvider(stack),
    metrics: port === null ? null : { host: '127.0.0.1', port, scrapeIntervalMs: 1000 },
  });
  return { runId: result.runId, scenario: SCENARIO, startS, endS: Date.now() / 1000, runDir: result.runDir };
}
