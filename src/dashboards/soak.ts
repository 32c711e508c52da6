// "Soak / leak hunter": is memory growing, how fast, when does it hit the limit, and has latency drifted since
// the start? Hour-long fits come from recording rules (collectors/rules/recording.yml) so a 12 h range stays cheap.
import { RowBuilder, type Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import * as units from '@grafana/grafana-foundation-sdk/units';
import { METRICS as M } from '../telemetry/metric-names.ts';
import { runAnnotations } from './live-run.ts';
import { baseDashboard, buildDashboard, stat, timeseries } from './panels.ts';
import { latencyQuantile, sel, selRule, sumBy } from './promql.ts';
import { RULES } from './recording-rules.ts';

export const SOAK_UID = 'loadscope-soak';

/** Projections beyond this read as "not in sight" instead of an absurd number of years. */
const HORIZON_S = 7 * 24 * 3600;
/** Growth below 1 KiB/h counts as flat (the projection is clamped to the horizon). */
const FLAT_BYTES_PER_S = 1024 / 3600;

const ws = sumBy(['service'], sel(M.containerMemoryWorkingSet), 'max');
const limit = sumBy(['service'], sel(M.containerMemoryLimit), 'max');
const deriv = sumBy(['service'], selRule(RULES.wsDeriv1h), 'max');
/** p95 over the first hour of the dashboard range: set the range to start at the run's start. */
const p95FirstHour = `histogram_quantile(0.95, ${sumBy(['le'], `increase(${sel(M.requestDuration, {}, 'bucket')}[1h] @ start() offset -1h)`)})`;
const p95Now = `histogram_quantile(0.95, ${sumBy(['le'], selRule(RULES.latencyBucketRate1m))})`;

export function soakDashboard(): Dashboard {
  const b = baseDashboard(
    SOAK_UID,
    'loadscope / Soak and leak hunter',
    'Long runs: working-set trends, growth per hour, time to the memory limit, latency drift.',
    {
      service: true,
      from: 'now-6h',
      refresh: '1m',
    },
  );
  for (const a of runAnnotations()) b.annotation(a);
  memoryRow(b);
  latencyRow(b);
  return buildDashboard(b);
}

/** The builder the rows add panels to. */
type Builder = ReturnType<typeof baseDashboard>;

function memoryRow(b: Builder): void {
  b.withRow(new RowBuilder('Memory trend'))
    .withPanel(
      timeseries({
        title: 'Working set with 1 h linear fit',
        description: 'Raw working set per service and the least-squares line over the last hour; a fit that keeps climbing under flat load is a leak.',
        unit: units.BytesIEC,
        span: 24,
        queries: [
          { expr: ws, legend: '{{service}}' },
          { expr: sumBy(['service'], selRule(RULES.wsTrend1h), 'max'), legend: '{{service}} fit (1h)' },
          { expr: limit, legend: '{{service}} limit' },
        ],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Growth per hour',
        description: "Slope of the working set (deriv over 1 h, × 3600) per service; right axis: the leak detector's own fitted slope.",
        unit: units.BytesIEC,
        queries: [
          { expr: `3600 * ${deriv}`, legend: '{{service}} (Prometheus fit)' },
          { expr: sumBy(['service'], sel(M.leakSlope), 'max'), legend: '{{service}} (leak detector)', right: units.BytesIEC },
        ],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Projected time to memory limit',
        description: `(limit − working set) / growth rate; clamped at ${HORIZON_S / 86400} days, which means "not growing".`,
        unit: units.Seconds,
        min: 0,
        queries: [{ expr: `clamp_max((${limit} - ${ws}) / clamp_min(${deriv}, ${FLAT_BYTES_PER_S.toFixed(6)}), ${HORIZON_S})`, legend: '{{service}}' }],
      }),
    )
    .withPanel(
      stat({
        title: 'Time to limit (now)',
        description: 'Shortest projected time to a memory limit across services.',
        unit: 'dtdurations',
        span: 8,
        steps: [
          { value: 0, color: 'red' },
          { value: 3600, color: 'orange' },
          { value: 86400, color: 'green' },
        ],
        queries: [{ expr: `min(clamp_max((${limit} - ${ws}) / clamp_min(${deriv}, ${FLAT_BYTES_PER_S.toFixed(6)}), ${HORIZON_S}))`, legend: 'time to limit' }],
      }),
    )
    .withPanel(
      stat({
        title: 'Restarts and OOM kills',
        description: "Anything above 0 ends a soak's credibility: state was lost.",
        unit: 'none',
        span: 8,
        steps: [{ value: 1, color: 'red' }],
        queries: [
          { expr: sumBy([], sel(M.containerRestarts), 'max'), legend: 'restarts' },
          { expr: sumBy([], sel(M.containerOomKills), 'max'), legend: 'OOM kills' },
        ],
      }),
    )
    .withPanel(
      stat({
        title: 'Memory used of limit',
        description: 'Highest working set / limit across services.',
        unit: units.PercentUnit,
        span: 8,
        steps: [
          { value: 0.8, color: 'orange' },
          { value: 0.95, color: 'red' },
        ],
        queries: [{ expr: `max(${ws} / ${limit})`, legend: 'of limit' }],
      }),
    );
}

function latencyRow(b: Builder): void {
  b.withRow(new RowBuilder('Latency drift'))
    .withPanel(
      timeseries({
        title: 'p95: first hour vs now',
        description: 'Flat line = p95 over the first hour of the range (@ start()); the other = p95 over the last minute. Set the range to start at the run.',
        unit: units.Seconds,
        queries: [
          { expr: p95Now, legend: 'p95 (1m)' },
          { expr: p95FirstHour, legend: 'p95 first hour' },
        ],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Drift ratio',
        description: 'p95 now / p95 of the first hour; above 1.2 latency has degraded over the soak.',
        unit: 'none',
        thresholdLine: { value: 1.2, color: 'orange' },
        queries: [{ expr: `${p95Now} / ${p95FirstHour}`, legend: 'drift' }],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Throughput and CPU over the soak',
        description: 'Req/s (1m) with per-service CPU on the right: constant load should mean constant CPU.',
        unit: units.RequestsPerSecond,
        span: 24,
        queries: [
          { expr: sumBy([], selRule(RULES.requestsRate1m)), legend: 'req/s' },
          { expr: sumBy(['service'], `rate(${sel(M.containerCpuTime)}[5m])`), legend: '{{service}} cores', right: 'none' },
        ],
      }),
    )
    .withPanel(
      timeseries({
        title: 'p95 by endpoint (5m)',
        description: 'Which endpoint drifts.',
        unit: units.Seconds,
        span: 24,
        queries: [{ expr: latencyQuantile(0.95, ['endpoint'], '5m'), legend: '{{endpoint}}' }],
      }),
    );
}
