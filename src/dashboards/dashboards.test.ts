import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { describe, expect, it } from 'vitest';
import { ALL_METRICS, promSeriesNames } from '../telemetry/metric-names.ts';
import { DASHBOARDS, DEFAULT_DASHBOARDS_DIR, REPO_ROOT, generatedFiles } from './generate.ts';
import { dashboardQueries, metricNamesIn, variableQueries } from './queries.ts';
import { RULES } from './recording-rules.ts';

const built = Object.entries(DASHBOARDS).map(([file, build]) => ({ file, dash: build() }));
const exported = new Set(ALL_METRICS.flatMap(promSeriesNames));
const recorded = new Set<string>(Object.values(RULES).map((r) => r.record));

describe('generated files', () => {
  it('committed dashboards and recording rules equal the generated ones (run `loadscope dashboards` on drift)', () => {
    const drift: string[] = [];
    for (const [path, content] of generatedFiles()) {
      if (!existsSync(path) || readFileSync(path, 'utf8') !== content) drift.push(path);
    }
    expect(drift).toEqual([]);
  });

  it.each(built)('$file is a plain v1 dashboard model with the SDK schemaVersion', ({ file }) => {
    const json = JSON.parse(readFileSync(join(DEFAULT_DASHBOARDS_DIR, file), 'utf8')) as Record<string, unknown>;
    expect(json.schemaVersion).toBe(new DashboardBuilder('probe').build().schemaVersion);
    expect(json.schemaVersion).toBe(42);
    expect(json).not.toHaveProperty('apiVersion');
    expect(json).not.toHaveProperty('kind');
    expect(json).not.toHaveProperty('id');
    expect(json.uid).toMatch(/^loadscope-/);
    expect(Array.isArray(json.panels)).toBe(true);
    expect(Array.isArray((json.templating as { list: unknown[] }).list)).toBe(true);
    expect(Array.isArray((json.annotations as { list: unknown[] }).list)).toBe(true);
    const vars = (json.templating as { list: { name: string }[] }).list.map((v) => v.name);
    expect(vars).toEqual(expect.arrayContaining(['datasource', 'run_id', 'scenario']));
  });

  it('uids are unique and stable', () => {
    expect(built.map((b) => b.dash.uid)).toEqual(['loadscope-live-run', 'loadscope-soak', 'loadscope-postgres-pool']);
  });

  it('live run and soak have a service variable; correlation panels put the second query on the right axis', () => {
    for (const b of built.filter((x) => x.file !== 'postgres-pool.json')) expect(b.dash.templating?.list?.map((v) => v.name)).toContain('service');
    const live = built.find((b) => b.file === 'live-run.json')?.dash;
    const corr = (live?.panels ?? []).filter((p) => p.title === 'p95 latency vs app CPU' || p.title === 'Requests/s vs active pool connections');
    expect(corr).toHaveLength(2);
    for (const p of corr) {
      const props =
        (p as { fieldConfig?: { overrides?: { matcher: { id: string }; properties: { id: string; value: unknown }[] }[] } }).fieldConfig?.overrides ?? [];
      expect(props.some((o) => o.matcher.id === 'byFrameRefID' && o.properties.some((x) => x.id === 'custom.axisPlacement' && x.value === 'right'))).toBe(true);
    }
  });
});

describe('metric names', () => {
  it('extracts names from PromQL', () => {
    expect(metricNamesIn('histogram_quantile(0.95, sum by (le) (rate(a_bucket{x=~"$y",le!="1"}[$__rate_interval])))')).toEqual(['a_bucket']);
    expect(metricNamesIn('(a{x="1"} == 1) unless (a{x="1"} offset 5s) or on() vector(0)')).toEqual(['a']);
    expect(metricNamesIn('increase(b[1h] @ start() offset -1h) / c:d:e')).toEqual(['b', 'c:d:e']);
    expect(metricNamesIn('label_values(m{run_id=~"$run_id"}, scenario)')).toEqual(['m']);
  });

  it('every query of every dashboard uses only metrics from metric-names.ts or generated recording rules', () => {
    const unknown: string[] = [];
    for (const { dash } of built) {
      for (const q of [...dashboardQueries(dash), ...variableQueries(dash)]) {
        const names = metricNamesIn(q.expr);
        if (names.length === 0) unknown.push(`${q.dashboard} ${q.where}: no metric in ${q.expr}`);
        for (const n of names) if (!exported.has(n) && !recorded.has(n)) unknown.push(`${q.dashboard} ${q.where}: ${n}`);
      }
    }
    expect(unknown).toEqual([]);
  });

  it('recording and alert rules reference only exported metrics and recorded series', () => {
    const unknown: string[] = [];
    for (const file of ['recording.yml', 'alerts.yml']) {
      const doc = parse(readFileSync(join(REPO_ROOT, 'collectors', 'rules', file), 'utf8')) as {
        groups: { rules: { expr: string; alert?: string; record?: string }[] }[];
      };
      for (const r of doc.groups.flatMap((g) => g.rules)) {
        for (const n of metricNamesIn(r.expr)) if (!exported.has(n) && !recorded.has(n)) unknown.push(`${file} ${r.alert ?? r.record}: ${n}`);
      }
    }
    expect(unknown).toEqual([]);
  });

  it('dashboards code holds no metric name literals', () => {
    const literal: string[] = [];
    for (const file of ['live-run.ts', 'soak.ts', 'postgres-pool.ts', 'panels.ts', 'promql.ts', 'recording-rules.ts']) {
      const src = readFileSync(join(REPO_ROOT, 'src', 'dashboards', file), 'utf8');
      for (const n of exported) if (src.includes(n)) literal.push(`${file}: ${n}`);
    }
    expect(literal).toEqual([]);
  });
});
