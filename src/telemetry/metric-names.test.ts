import { describe, expect, it } from 'vitest';
import { ALL_METRICS, LATENCY_BUCKETS_S, METRICS, promLabel, promName, promSeriesNames, promType, type MetricDef } from './metric-names.ts';

describe('promName (OTel-JS Prometheus exporter rules)', () => {
  it.each<[Pick<MetricDef, 'name' | 'kind'>, string[]]>([
    [{ name: 'container.cpu.time', kind: 'observableCounter' }, ['container_cpu_time_total']],
    [{ name: 'container.cpu.usage', kind: 'observableGauge' }, ['container_cpu_usage']],
    [{ name: 'container.memory.working_set', kind: 'observableUpDownCounter' }, ['container_memory_working_set']],
    [{ name: 'container.network.io', kind: 'observableCounter' }, ['container_network_io_total']],
    [{ name: 'postgresql.commits', kind: 'observableCounter' }, ['postgresql_commits_total']],
    [{ name: 'loadscope.requests', kind: 'counter' }, ['loadscope_requests_total']],
    [{ name: 'already_total', kind: 'counter' }, ['already_total']],
    [{ name: 'a-b..c', kind: 'observableGauge' }, ['a_b_c']],
    [
      { name: 'http.client.request.duration', kind: 'histogram' },
      ['http_client_request_duration_bucket', 'http_client_request_duration_sum', 'http_client_request_duration_count'],
    ],
  ])('%o → %o', (def, series) => {
    expect(promSeriesNames(def)).toEqual(series);
  });

  it('never appends a unit, maps types and labels', () => {
    expect(promName(METRICS.containerMemoryUsage)).toBe('container_memory_usage');
    expect(promType(METRICS.containerMemoryUsage)).toBe('gauge');
    expect(promType(METRICS.pgCommits)).toBe('counter');
    expect(promType(METRICS.requestDuration)).toBe('histogram');
    expect(promLabel('network.io.direction')).toBe('network_io_direction');
  });
});

describe('metric definitions', () => {
  it('are unique, carry run_id and scenario, container ones carry service', () => {
    const names = ALL_METRICS.map((d) => d.name);
    expect(new Set(names).size).toBe(names.length);
    expect(new Set(ALL_METRICS.map(promName)).size).toBe(names.length);
    for (const d of ALL_METRICS) {
      expect(d.attributes).toEqual(expect.arrayContaining(['run_id', 'scenario']));
      if (d.name.startsWith('container.') || d.name.startsWith('loadscope.container.')) expect(d.attributes).toContain('service');
    }
  });
  it('latency histogram is in seconds with buckets from 1 ms to 30 s', () => {
    expect(METRICS.requestDuration.unit).toBe('s');
    expect(LATENCY_BUCKETS_S[0]).toBe(0.001);
    expect(LATENCY_BUCKETS_S.at(-1)).toBe(30);
    expect([...LATENCY_BUCKETS_S].sort((a, b) => a - b)).toEqual([...LATENCY_BUCKETS_S]);
  });
});
