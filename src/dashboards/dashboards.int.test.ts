// Acceptance test: every panel and annotation query of every generated dashboard returns data from a real
// Prometheus 2.42 that scraped a real time-scaled run on the reference stack (with the committed recording and
// alert rules loaded).
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARDS } from './generate.ts';
import { dashboardQueries, type FoundQuery } from './queries.ts';
import { deriveConfig, freePort, PROMETHEUS_BIN, queryRange, startPrometheus, substitute, type TestPrometheus } from './testing/prometheus.ts';
import { produceRunMetrics, type ProducedRun } from './testing/produce-run-metrics.ts';
import { METRICS, promSeriesNames } from '../telemetry/metric-names.ts';

/**
 * Series this run cannot have, and why; a query on them must still evaluate. The live leak slope is the leak
 * detector's own (docs/ANALYSIS.md, Live verdicts), which judges only constant-load windows of ≥ 2 min: a ladder has none.
 */
const NO_DATA_IN_A_LADDER = promSeriesNames(METRICS.leakSlope);

describe('dashboards against a real Prometheus', () => {
  let prom: TestPrometheus | undefined;
  let run: ProducedRun;

  beforeAll(async () => {
    // Fail loudly, never skip: without the binary this acceptance test proves nothing.
    if (!existsSync(PROMETHEUS_BIN)) throw new Error(`${PROMETHEUS_BIN} is missing: install Debian's prometheus package`);
    const port = await freePort();
    prom = await startPrometheus(deriveConfig([`127.0.0.1:${port}`]));
    run = await produceRunMetrics(port, mkdtempSync(join(tmpdir(), 'loadscope-dash-run-')));
  }, 240_000);

  afterAll(async () => {
    await prom?.stop();
  });

  it('every panel and annotation query returns at least one series with a value', async () => {
    const p = prom;
    if (!p) throw new Error('prometheus did not start');
    const queries: FoundQuery[] = Object.values(DASHBOARDS).flatMap((build) => dashboardQueries(build()));
    expect(queries.length).toBeGreaterThan(40);
    const empty: string[] = [];
    await Promise.all(
      queries.map(async (q) => {
        const expr = substitute(q.expr, run);
        const res = await queryRange(p.url, expr, Math.floor(run.startS), Math.ceil(run.endS), 1);
        if (res.status !== 'success') return void empty.push(`${q.dashboard} ${q.where}: ERROR ${res.error} in ${expr}`);
        const withValue = (res.data?.result ?? []).filter((s) => s.values.some(([, v]) => v !== 'NaN'));
        if (withValue.length === 0 && !NO_DATA_IN_A_LADDER.some((n) => expr.includes(n))) empty.push(`${q.dashboard} ${q.where}: no data for ${expr}`);
      }),
    );
    expect(empty, `queries without data (prometheus log:\n${p.log().slice(-2000)})`).toEqual([]);
  });

  it('the alert rules loaded from collectors/rules evaluate without errors', async () => {
    const p = prom;
    if (!p) throw new Error('prometheus did not start');
    const res = (await (await fetch(`${p.url}/api/v1/rules`)).json()) as {
      data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] };
    };
    const rules = res.data.groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.name)).toEqual(
      expect.arrayContaining(['LoadscopeLeakSuspected', 'LoadscopeSLOBreached', 'LoadscopeGeneratorSaturated', 'LoadscopePoolExhausted']),
    );
    expect(rules.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`)).toEqual([]);
  });
});
